/* SPDX-License-Identifier: MIT */
/*
 * store_s3.c - Amazon S3 and S3-compatible stores (s3://bucket/prefix).
 *
 * Settings follow the AWS tools (backend/aws_config.c).  A custom endpoint
 * means path-style URLs (http://host:port/bucket/key) unless the mount asks
 * for virtual hosts; AWS itself gets virtual-hosted URLs.  Every request is
 * signed with SigV4 (backend/sigv4.c) over the Host we send ourselves, so
 * the signed Host and the sent Host cannot differ; anonymous mounts send
 * no signature at all.  Bucket-level requests are sent as "/bucket?..."
 * without a trailing slash, which every S3 server here verifies alike.
 *
 * Directories are key prefixes: stat is one HEAD and sees files only, and
 * the engine finds directories by listing (ListObjectsV2 with delimiter
 * '/', pages of 1000, keys url-encoded so that any byte survives the XML).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/aws_config.h"
#include "backend/http.h"
#include "backend/log.h"
#include "backend/s3_list.h"
#include "backend/sigv4.h"

struct s3_priv {
	struct aws_settings aws;
	char *origin;		/* "https://bucket.s3.eu-west-1.amazonaws.com" */
	char *host;		/* authority of origin, for the Host header */
	char *bucket_path;	/* "/bucket" path-style, "" virtual-hosted */
	char *prefix;		/* key prefix inside the bucket, no '/' at ends */
	atomic_int warned_denied;
};

static int parse_url(struct store *st, struct s3_priv *sp, char **bucket,
		     char *err, size_t errlen)
{
	const char *b = st->conf.url + strlen("s3://");
	const char *slash = strchr(b, '/');
	size_t blen = slash ? (size_t)(slash - b) : strlen(b);
	const char *p = slash ? slash + 1 : "";
	size_t plen = strlen(p);

	if (blen == 0) {
		snprintf(err, errlen, "%s: no bucket; write s3://bucket/prefix", st->conf.url);
		return -EINVAL;
	}
	while (plen && p[plen - 1] == '/')
		plen--;
	*bucket = strndup(b, blen);
	sp->prefix = strndup(p, plen);
	return *bucket && sp->prefix ? 0 : -ENOMEM;
}

static int build_origin(struct store *st, struct s3_priv *sp, const char *bucket)
{
	const char *ep = sp->aws.endpoint;
	int virt = st->conf.addressing == STORE_ADDR_VIRTUAL ||
		   (st->conf.addressing == STORE_ADDR_AUTO && !ep && !strchr(bucket, '.'));
	char *origin = NULL;
	const char *scheme_end, *auth;
	int n;

	if (!ep)
		n = virt ? asprintf(&origin, "https://%s.s3.%s.amazonaws.com", bucket, sp->aws.region)
			 : asprintf(&origin, "https://s3.%s.amazonaws.com", sp->aws.region);
	else if (virt) {
		scheme_end = strstr(ep, "://");
		n = asprintf(&origin, "%.*s%s.%s", (int)(scheme_end + 3 - ep), ep, bucket,
			     scheme_end + 3);
	} else
		n = asprintf(&origin, "%s", ep);
	if (n < 0)
		return -ENOMEM;
	n = (int)strlen(origin);
	while (n > 0 && origin[n - 1] == '/')
		origin[--n] = '\0';
	sp->origin = origin;
	auth = strstr(origin, "://") + 3;
	sp->host = strndup(auth, strcspn(auth, "/"));
	if (virt)
		sp->bucket_path = strdup("");
	else if (asprintf(&sp->bucket_path, "/%s", bucket) < 0)
		sp->bucket_path = NULL;
	return sp->host && sp->bucket_path ? 0 : -ENOMEM;
}

static int s3_init(struct store *st, char *err, size_t errlen)
{
	struct s3_priv *sp = st->priv;
	char *bucket = NULL;
	int rc;

	rc = parse_url(st, sp, &bucket, err, errlen);
	if (rc == 0)
		rc = aws_settings_resolve(&st->conf, &sp->aws, err, errlen);
	if (rc == 0)
		rc = build_origin(st, sp, bucket);
	free(bucket);
	return rc;
}

static void s3_fini(struct store *st)
{
	struct s3_priv *sp = st->priv;

	aws_settings_free(&sp->aws);
	free(sp->origin);
	free(sp->host);
	free(sp->bucket_path);
	free(sp->prefix);
}

static int s3_prepare(struct store *st, const struct http_req *req,
		      struct curl_slist **headers)
{
	struct s3_priv *sp = st->priv;
	char date[SIGV4_AMZ_DATE_SIZE], *auth = NULL, *path, line[512];
	const char *rest = req->url + strlen(sp->origin), *query = strchr(rest, '?');
	struct sigv4_header hv[4] = {
		{ "host", sp->host },
		{ "x-amz-date", date },
		{ "x-amz-content-sha256", SIGV4_EMPTY_SHA256 },
		{ "x-amz-security-token", sp->aws.session_token },
	};
	size_t nh = sp->aws.session_token ? 4 : 3;
	int rc;

	snprintf(line, sizeof(line), "Host: %s", sp->host);
	*headers = curl_slist_append(*headers, line);
	if (sp->aws.anonymous)
		return *headers ? 0 : -ENOMEM;
	rc = sigv4_amz_date(time(NULL), date);
	if (rc)
		return rc;
	path = query ? strndup(rest, (size_t)(query - rest)) : strdup(rest);
	if (!path)
		return -ENOMEM;
	struct sigv4_request sr = {
		.method = req->method,
		.path = *path ? path : "/",
		.query = query ? query + 1 : NULL,
		.headers = hv,
		.nheaders = nh,
		.payload_hash = SIGV4_EMPTY_SHA256,
		.flags = SIGV4_S3,
	};
	struct sigv4_scope sc = { .amz_date = date, .region = sp->aws.region, .service = "s3" };
	struct sigv4_credentials cred = {
		.access_key_id = sp->aws.access_key,
		.secret_access_key = sp->aws.secret_key,
		.session_token = sp->aws.session_token,
	};
	rc = sigv4_authorization(&sr, &sc, &cred, &auth);
	free(path);
	if (rc)
		return rc;
	for (size_t i = 1; i < nh && *headers; i++) {
		snprintf(line, sizeof(line), "%s: %s", hv[i].name, hv[i].value);
		*headers = curl_slist_append(*headers, line);
	}
	if (*headers) {
		char *h = NULL;

		if (asprintf(&h, "Authorization: %s", auth) >= 0) {
			*headers = curl_slist_append(*headers, h);
			free(h);
		}
	}
	free(auth);
	return *headers ? 0 : -ENOMEM;
}

/* "origin/bucket/prefix/key", every key byte percent-encoded but '/'. */
static char *object_url(const struct s3_priv *sp, const char *key)
{
	char *full = store_join_key(sp->prefix, key), *enc, *url = NULL;

	if (!full)
		return NULL;
	enc = http_uri_encode(full, 1);
	free(full);
	if (enc && asprintf(&url, "%s%s/%s", sp->origin, sp->bucket_path, enc) < 0)
		url = NULL;
	free(enc);
	return url;
}

/* The S3 error code in an error document, for messages: "<Code>X</Code>". */
static void error_code(const struct http_resp *r, char *buf, size_t n)
{
	const char *b = r->body ? strstr(r->body, "<Code>") : NULL;
	const char *e = b ? strstr(b, "</Code>") : NULL;

	if (b && e)
		snprintf(buf, n, "%.*s", (int)(e - b - 6), b + 6);
	else
		snprintf(buf, n, "HTTP %ld", r->status);
}

static void report_denied(struct store *st, const struct http_resp *r)
{
	struct s3_priv *sp = st->priv;
	char code[64];

	if (atomic_exchange(&sp->warned_denied, 1))
		return;
	error_code(r, code, sizeof(code));
	log_error("%s: access denied (%s); check the credentials and region", st->conf.url,
		  code);
}

static int s3_stat(struct store *st, const char *key, struct store_meta *m)
{
	struct s3_priv *sp = st->priv;
	long status = 0;
	char *url;
	int rc;

	if (*key == '\0') {
		m->kind = STORE_DIR;
		return 0;
	}
	url = object_url(sp, key);
	if (!url)
		return -ENOMEM;
	rc = http_stat(st, url, s3_prepare, m, &status);
	free(url);
	if (rc == -EACCES) {
		struct http_resp r = { .status = status };

		report_denied(st, &r);
	}
	return rc;
}

static int s3_read(struct store *st, const struct store_read *rd)
{
	struct s3_priv *sp = st->priv;
	char *url = object_url(sp, rd->key);
	int rc;

	if (!url)
		return -ENOMEM;
	rc = http_read(st, url, s3_prepare, rd);
	free(url);
	return rc;
}

/* One ListObjectsV2 page of the directory prefix ("a/b/", or "" for the root). */
static int list_page(struct store *st, const char *prefix, const char *token,
		     struct s3_list_page *pg)
{
	struct s3_priv *sp = st->priv;
	char *enc_prefix = http_uri_encode(prefix, 0);
	char *enc_token = token ? http_uri_encode(token, 0) : NULL, *url = NULL;
	struct http_resp resp = { 0 };
	int rc = -ENOMEM;

	if (enc_prefix && (!token || enc_token) &&
	    asprintf(&url, "%s%s?list-type=2&delimiter=%%2F&encoding-type=url&max-keys=1000"
		     "&prefix=%s%s%s", sp->origin, sp->bucket_path, enc_prefix,
		     token ? "&continuation-token=" : "", token ? enc_token : "") >= 0) {
		struct http_req req = { .method = "GET", .url = url };

		rc = http_execute(st, &req, s3_prepare, &resp);
		if (rc == 0)
			rc = http_status_errno(resp.status);
		if (rc == -EACCES)
			report_denied(st, &resp);
		if (rc == 0)
			rc = s3_list_parse(resp.body ? resp.body : "", resp.body_len, prefix, pg);
		if (rc == -EIO && resp.status == 200)
			log_warn("%s: the listing of \"%s\" is not a ListObjectsV2 answer",
				 st->conf.url, prefix);
	}
	http_resp_free(&resp);
	free(enc_prefix);
	free(enc_token);
	free(url);
	return rc;
}

static int s3_list(struct store *st, const char *key, store_page_fn fn, void *arg)
{
	struct s3_priv *sp = st->priv;
	char *dir = store_join_key(sp->prefix, key), *prefix = NULL, *token = NULL;
	struct s3_list_page pg;
	int rc, more;

	if (dir && asprintf(&prefix, "%s%s", dir, *dir ? "/" : "") < 0)
		prefix = NULL;
	free(dir);
	if (!prefix)
		return -ENOMEM;
	do {
		rc = list_page(st, prefix, token, &pg);
		if (rc)
			break;
		/* HEAD gives whole seconds: stat answers must not depend on the source */
		for (size_t i = 0; i < pg.count; i++)
			pg.entries[i].meta.mtime.tv_nsec = 0;
		more = pg.truncated;
		if (more && token && strcmp(token, pg.next_token) == 0)
			rc = -EIO;	/* the same page again: the listing would never end */
		free(token);
		token = pg.next_token;
		pg.next_token = NULL;
		if (rc == 0) {
			struct store_page page = {
				.entries = pg.entries, .count = pg.count,
				.found = pg.found, .more = more,
			};

			rc = fn(arg, &page);
		}
		s3_list_page_free(&pg);
	} while (rc == 0 && more);
	free(token);
	free(prefix);
	return rc == STORE_LIST_STOP ? 0 : rc;
}

const struct store_driver store_s3_driver = {
	.name = "s3",
	.caps = STORE_CAP_LIST | STORE_CAP_PREFIX_DIRS,
	.priv_size = sizeof(struct s3_priv),
	.init = s3_init,
	.fini = s3_fini,
	.stat = s3_stat,
	.read = s3_read,
	.list = s3_list,
};
