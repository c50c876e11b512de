/* SPDX-License-Identifier: MIT */
/*
 * store.c - picks the driver for a URL scheme and dispatches to it.
 *
 * The scheme table is apart from the drivers so that a configuration error
 * can tell "known scheme, not built in yet" from "unknown scheme".
 */
#include <errno.h>
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

const char *store_url(const struct store *st)
{
	return st->conf.url;
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
