/* SPDX-License-Identifier: MIT */
/*
 * store_http.c - read-only objects behind plain http:// and https:// URLs.
 *
 * HEAD gives size, ETag and mtime; servers without HEAD are asked for one
 * byte instead.  Reads are Range GETs pinned with If-Match when the server
 * gave an ETag, and by the size in Content-Range always.  There is no
 * listing in plain HTTP, so the only directory is the mount itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/http.h"

struct http_priv {
	char *base;	/* "https://host/dir", no trailing '/' */
};

static int plain_prepare(struct store *st, const struct http_req *req,
			 struct curl_slist **headers)
{
	return 0;
}

static int hs_init(struct store *st, char *err, size_t errlen)
{
	struct http_priv *hp = st->priv;
	const char *host = strstr(st->conf.url, "://") + 3;

	if (*host == '\0' || *host == '/') {
		snprintf(err, errlen, "%s: the URL names no host; write "
			 "https://host/dir", st->conf.url);
		return -EINVAL;
	}
	hp->base = store_join_key(st->conf.url, "");
	return hp->base ? 0 : -ENOMEM;
}

static void hs_fini(struct store *st)
{
	struct http_priv *hp = st->priv;

	free(hp->base);
}

static char *object_url(const struct http_priv *hp, const char *key)
{
	char *enc = http_uri_encode(key, 1), *url;

	if (!enc)
		return NULL;
	url = store_join_key(hp->base, enc);
	free(enc);
	return url;
}

static int hs_stat(struct store *st, const char *key, struct store_meta *m)
{
	struct http_priv *hp = st->priv;
	long status;
	char *url;
	int rc;

	if (*key == '\0') {
		m->kind = STORE_DIR;
		return 0;
	}
	url = object_url(hp, key);
	if (!url)
		return -ENOMEM;
	rc = http_stat(st, url, plain_prepare, m, &status);
	free(url);
	return rc;
}

static int hs_stat_read(struct store *st, const char *key, struct store_meta *m, size_t len,
			store_sink_fn sink, void *arg)
{
	struct http_priv *hp = st->priv;
	char *url = object_url(hp, key);
	long status;
	int rc;

	if (!url)
		return -ENOMEM;
	rc = http_stat_read(st, url, plain_prepare, m, len, sink, arg, &status);
	free(url);
	return rc;
}

static int hs_read(struct store *st, const struct store_read *rd)
{
	struct http_priv *hp = st->priv;
	char *url = object_url(hp, rd->key);
	int rc;

	if (!url)
		return -ENOMEM;
	rc = http_read(st, url, plain_prepare, rd);
	free(url);
	return rc;
}

const struct store_driver store_http_driver = {
	.name = "http",
	.caps = 0,
	.priv_size = sizeof(struct http_priv),
	.init = hs_init,
	.fini = hs_fini,
	.stat = hs_stat,
	.read = hs_read,
	.stat_read = hs_stat_read,
};
