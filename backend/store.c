/* SPDX-License-Identifier: MIT */
/*
 * store.c - picks the driver for a URL scheme and dispatches to it.
 *
 * The scheme table is apart from the drivers so that a configuration error
 * can tell "known scheme, not built in yet" from "unknown scheme".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/store_int.h"

static const struct {
	const char *scheme;
	const struct store_driver *drv;	/* NULL: known, not built in */
} schemes[] = {
	{ "s3", &store_s3_driver },
	{ "https", &store_http_driver },
	{ "http", &store_http_driver },
	{ "file", &store_file_driver },
	{ "az", NULL },
	{ "gs", NULL },
};

static int find_driver(const char *url, const struct store_driver **drv,
		       char *err, size_t errlen)
{
	const char *sep = strstr(url, "://");
	size_t n = sep ? (size_t)(sep - url) : 0;

	for (size_t i = 0; sep && i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strlen(schemes[i].scheme) != n || strncmp(url, schemes[i].scheme, n))
			continue;
		if (!schemes[i].drv) {
			snprintf(err, errlen, "%s: the %s:// store is not built into "
				 "this version; use s3://, http(s):// or file://",
				 url, schemes[i].scheme);
			return -ENOTSUP;
		}
		*drv = schemes[i].drv;
		return 0;
	}
	snprintf(err, errlen, "%s: unknown URL scheme; use s3://, http(s):// or file://",
		 url);
	return -EINVAL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int store_open(const struct store_conf *sc, const struct engine_conf *ec,
	       struct store **out, char *err, size_t errlen)
{
	const struct store_driver *drv;
	struct store *st;
	int rc;

	rc = find_driver(sc->url, &drv, err, errlen);
	if (rc)
		return rc;
	st = calloc(1, sizeof(*st) + drv->priv_size);
	if (!st)
		return -ENOMEM;
	st->drv = drv;
	st->ec = ec;
	atomic_init(&st->answer_us, LONG_MAX);
	st->priv = drv->priv_size ? (void *)(st + 1) : NULL;
	st->conf = *sc;
	st->conf.url = dup_or_null(sc->url);
	st->conf.endpoint = dup_or_null(sc->endpoint);
	st->conf.region = dup_or_null(sc->region);
	st->conf.profile = dup_or_null(sc->profile);
	if ((sc->endpoint && !st->conf.endpoint) || (sc->region && !st->conf.region) ||
	    (sc->profile && !st->conf.profile) || !st->conf.url) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = drv->init(st, err, errlen);
	if (rc)
		goto fail;
	*out = st;
	return 0;
fail:
	store_conf_free(&st->conf);
	free(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	st->drv->fini(st);
	store_conf_free(&st->conf);
	free(st);
}

unsigned store_caps(const struct store *st)
{
	return st->drv->caps;
}

int store_stat(struct store *st, const char *key, struct store_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	return st->drv->stat(st, key, meta);
}

int store_stat_read(struct store *st, const char *key, struct store_meta *meta, size_t len,
		    store_sink_fn sink, void *arg)
{
	memset(meta, 0, sizeof(*meta));
	if (!st->drv->stat_read || *key == '\0')
		return st->drv->stat(st, key, meta);
	return st->drv->stat_read(st, key, meta, len, sink, arg);
}

int store_list(struct store *st, const char *key, store_page_fn fn, void *arg)
{
	if (!(st->drv->caps & STORE_CAP_LIST))
		return -ENOTSUP;
	return st->drv->list(st, key, fn, arg);
}

int store_read(struct store *st, const struct store_read *rd)
{
	if (rd->len == 0)
		return 0;
	return st->drv->read(st, rd);
}

/* -EROFS unless st may be written; -EINVAL for the root or an empty key. */
static int check_write(const struct store *st, const char *key)
{
	if (st->conf.read_only || !(st->drv->caps & STORE_CAP_WRITE))
		return -EROFS;
	return *key ? 0 : -EINVAL;
}

static int check_body(const struct store_body *body)
{
	if (body->off < 0 || body->len < 0)
		return -EINVAL;
	return body->len > STORE_PUT_MAX ? -EFBIG : 0;
}

/* The meta a driver fills: the caller's, zeroed, or none. */
static struct store_meta *meta_out(struct store_meta *meta)
{
	if (meta)
		memset(meta, 0, sizeof(*meta));
	return meta;
}

int store_put(struct store *st, const char *key, const struct store_body *body,
	      int exclusive, struct store_meta *meta)
{
	size_t n = strlen(key);
	int rc = check_write(st, key);

	if (rc == 0)
		rc = check_body(body);
	if (rc == 0 && key[n - 1] == '/' && body->len > 0)
		rc = -EINVAL;	/* a directory marker holds nothing */
	return rc ? rc : st->drv->put(st, key, body, exclusive, meta_out(meta));
}

int store_mpu_begin(struct store *st, const char *key, char **upload_id)
{
	int rc = check_write(st, key);

	*upload_id = NULL;
	return rc ? rc : st->drv->mpu_begin(st, key, upload_id);
}

int store_mpu_part(struct store *st, const char *key, const char *upload_id, int part,
		   const struct store_body *body, char etag[STORE_ETAG_MAX])
{
	int rc = check_write(st, key);

	etag[0] = '\0';
	if (rc == 0 && (part < 1 || part > STORE_PARTS_MAX || check_body(body)))
		rc = -EINVAL;
	return rc ? rc : st->drv->mpu_part(st, key, upload_id, part, body, etag);
}

int store_mpu_complete(struct store *st, const char *key, const char *upload_id,
		       char (*const etags)[STORE_ETAG_MAX], int nparts,
		       struct store_meta *meta)
{
	int rc = check_write(st, key);

	if (rc == 0 && (nparts < 1 || nparts > STORE_PARTS_MAX))
		rc = -EINVAL;
	return rc ? rc : st->drv->mpu_complete(st, key, upload_id, etags, nparts,
					       meta_out(meta));
}

int store_mpu_abort(struct store *st, const char *key, const char *upload_id)
{
	int rc = check_write(st, key);

	return rc ? rc : st->drv->mpu_abort(st, key, upload_id);
}

int store_delete(struct store *st, const char *key)
{
	int rc = check_write(st, key);

	return rc ? rc : st->drv->del(st, key);
}

int store_copy(struct store *st, const char *from, const char *to, struct store_meta *meta)
{
	struct store_meta self, *m = meta ? meta : &self;
	int rc = check_write(st, to);

	if (rc == 0 && !*from)
		rc = -EINVAL;
	if (rc)
		return rc;
	if (strcmp(from, to) != 0)
		return st->drv->copy(st, from, to, meta_out(meta));
	/* S3 refuses a copy onto itself; as rename(2) would, change nothing */
	rc = store_stat(st, from, m);
	return rc == 0 && m->kind != STORE_FILE ? -EISDIR : rc;
}

const char *store_url(const struct store *st)
{
	return st->conf.url;
}

long store_answer_us(const struct store *st)
{
	return atomic_load(&st->answer_us);
}

void store_note_answer(struct store *st, long us)
{
	long least = atomic_load(&st->answer_us);

	while (us < least && !atomic_compare_exchange_weak(&st->answer_us, &least, us))
		;
}

char *store_join_key(const char *prefix, const char *key)
{
	size_t np = strlen(prefix), nk = strlen(key);
	char *s;

	while (np && prefix[np - 1] == '/')
		np--;
	s = malloc(np + nk + 2);
	if (!s)
		return NULL;
	memcpy(s, prefix, np);
	if (np && nk)
		s[np++] = '/';
	memcpy(s + np, key, nk + 1);
	return s;
}
