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
 *
 * Writes: every body goes with a digest the store checks, so it refuses
 * one that changed on the way (s3rver checks none; AWS and radosgw do):
 * either a signed Content-MD5 with x-amz-content-sha256 UNSIGNED-PAYLOAD,
 * or the body's SHA-256 signed in x-amz-content-sha256 and no MD5
 * (body_checksum_pick).  Either way the data is read once to hash and
 * once to send; SHA-256 hashes 2.3 times faster than MD5 on a CPU with
 * SHA instructions, and slower on one without.
 * CompleteMultipartUpload and CopyObject can fail after their 200 went
 * out: an <Error> body is a failure, sent again when it says InternalError
 * or SlowDown.  A put, a part, a copy and a complete are all safe to send
 * twice, so they are retried like reads; a begin sent twice leaves an
 * upload nobody completes, which a bucket's lifecycle rule cleans up.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/aws_config.h"
#include "backend/body.h"
#include "backend/curl_lib.h"
#include "backend/http.h"
#include "backend/log.h"
#include "backend/partplan.h"
#include "backend/pool.h"
#include "backend/s3_list.h"
#include "backend/s3_xml.h"
#include "backend/sigv4.h"

struct s3_priv {
	struct aws_settings aws;
	char *origin;		/* "https://bucket.s3.eu-west-1.amazonaws.com" */
	char *host;		/* authority of origin, for the Host header */
	char *bucket_path;	/* "/bucket" path-style, "" virtual-hosted */
	char *bucket;		/* for x-amz-copy-source */
	char *prefix;		/* key prefix inside the bucket, no '/' at ends */
	atomic_int warned_denied;
};

static int parse_url(struct store *st, struct s3_priv *sp, char *err, size_t errlen)
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
	sp->bucket = strndup(b, blen);
	sp->prefix = strndup(p, plen);
	return sp->bucket && sp->prefix ? 0 : -ENOMEM;
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

static void s3_fini(struct store *st)
{
	struct s3_priv *sp = st->priv;

	aws_settings_free(&sp->aws);
	free(sp->origin);
	free(sp->host);
	free(sp->bucket_path);
	free(sp->bucket);
	free(sp->prefix);
}

static int s3_init(struct store *st, char *err, size_t errlen)
{
	struct s3_priv *sp = st->priv;
	int rc;

	rc = parse_url(st, sp, err, errlen);
	if (rc == 0)
		rc = aws_settings_resolve(&st->conf, &sp->aws, err, errlen);
	if (rc == 0)
		rc = build_origin(st, sp, sp->bucket);
	if (rc)
		s3_fini(st);	/* store_open does not, after a failed init */
	return rc;
}

/* Appends "name: value"; on failure the list is left as it was. */
static int append(struct curl_slist **l, const char *name, const char *value)
{
	struct curl_slist *nl;
	char *line;

	if (asprintf(&line, "%s: %s", name, value) < 0)
		return -ENOMEM;
	nl = curl.slist_append(*l, line);
	free(line);
	if (!nl)
		return -ENOMEM;
	*l = nl;
	return 0;
}

/*
 * x-amz-content-sha256.  A body from a descriptor is sent unhashed unless
 * the mount checks bodies by SHA-256 (body_check): its Content-MD5,
 * signed, lets the store refuse a body that differs, and hashing it again
 * would be a third pass over the data.  A small body in memory (XML) is
 * hashed.
 */
static int payload_hash(const struct http_req *req, char out[SIGV4_HEX_SIZE])
{
	if (req->body_sha256) {
		snprintf(out, SIGV4_HEX_SIZE, "%s", req->body_sha256);
		return 0;
	}
	if (req->body) {
		snprintf(out, SIGV4_HEX_SIZE, "%s", SIGV4_UNSIGNED_PAYLOAD);
		return 0;
	}
	if (!req->data) {
		snprintf(out, SIGV4_HEX_SIZE, "%s", SIGV4_EMPTY_SHA256);
		return 0;
	}
	return sigv4_sha256_hex(req->data, req->data_len, out);
}

/* Signs req: every header given is signed, req->fields included. */
static int s3_prepare(struct store *st, const struct http_req *req,
		      struct curl_slist **headers)
{
	struct s3_priv *sp = st->priv;
	char date[SIGV4_AMZ_DATE_SIZE], payload[SIGV4_HEX_SIZE], *auth = NULL, *path;
	const char *rest = req->url + strlen(sp->origin), *query = strchr(rest, '?');
	struct sigv4_header hv[4 + HTTP_FIELDS_MAX] = {
		{ "host", sp->host },
		{ "x-amz-date", date },
		{ "x-amz-content-sha256", payload },
		{ "x-amz-security-token", sp->aws.session_token },
	};
	size_t own = sp->aws.session_token ? 4 : 3, nh = own;	/* own: added here */
	int rc;

	rc = append(headers, "Host", sp->host);
	if (rc || sp->aws.anonymous)
		return rc;
	if (req->nfields > HTTP_FIELDS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < req->nfields; i++)
		hv[nh++] = (struct sigv4_header){ req->fields[i].name, req->fields[i].value };
	rc = sigv4_amz_date(time(NULL), date);
	if (rc == 0)
		rc = payload_hash(req, payload);
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
		.payload_hash = payload,
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
	for (size_t i = 1; rc == 0 && i < own; i++)
		rc = append(headers, hv[i].name, hv[i].value);
	if (rc == 0)
		rc = append(headers, "Authorization", auth);
	free(auth);
	return rc;
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

/* The S3 error code of an error document, for messages and decisions. */
static void error_code(const struct http_resp *r, char *buf, size_t n)
{
	if (!r->body || s3_xml_text(r->body, r->body_len, "Code", buf, n) != 0)
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

/* rc of a stat answered with status: a refusal is reported as report_denied says. */
static int stat_denied(struct store *st, int rc, long status)
{
	if (rc == -EACCES) {
		struct http_resp r = { .status = status };

		report_denied(st, &r);
	}
	return rc;
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
	return stat_denied(st, rc, status);
}

static int s3_stat_read(struct store *st, const char *key, struct store_meta *m, size_t len,
			store_sink_fn sink, void *arg)
{
	struct s3_priv *sp = st->priv;
	long status = 0;
	char *url = object_url(sp, key);
	int rc;

	if (!url)
		return -ENOMEM;
	rc = http_stat_read(st, url, s3_prepare, m, len, sink, arg, &status);
	free(url);
	return stat_denied(st, rc, status);
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

/* ---- writes ------------------------------------------------------------ */

/* The object's URL with a query string (encoded already). */
static char *object_url_query(const struct s3_priv *sp, const char *key, const char *query)
{
	char *base = object_url(sp, key), *url = NULL;

	if (base && asprintf(&url, "%s?%s", base, query) < 0)
		url = NULL;
	free(base);
	return url;
}

/* "?partNumber=N&uploadId=ID" and the like: "uploadId=ID" after prefix. */
static char *upload_url(const struct s3_priv *sp, const char *key, const char *prefix,
			const char *upload_id)
{
	char *id = http_uri_encode(upload_id, 0), *query = NULL, *url = NULL;

	if (id && asprintf(&query, "%suploadId=%s", prefix, id) >= 0)
		url = object_url_query(sp, key, query);
	else
		query = NULL;
	free(id);
	free(query);
	return url;
}

static int is_error_doc(const struct http_resp *r)
{
	char root[16];

	return r->body && s3_xml_root(r->body, r->body_len, root, sizeof(root)) == 0 &&
	       strcmp(root, "Error") == 0;
}

/* A 200 whose body is an <Error> the store says to try again. */
static int retry_2xx(const struct http_resp *r)
{
	char code[64];

	if (!is_error_doc(r))
		return 0;
	error_code(r, code, sizeof(code));
	return strcmp(code, "InternalError") == 0 || strcmp(code, "SlowDown") == 0;
}

/*
 * The errno of a write's final answer, a 200 with an <Error> body
 * included.  What S3 refuses as a bad request of the caller's is -EINVAL
 * (store.h); other refusals are logged with their code.
 */
static int write_errno(struct store *st, const char *what, const char *key,
		       const struct http_resp *r)
{
	static const char *const invalid[] = {
		"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "InvalidArgument",
	};
	char code[64];
	int rc = http_status_errno(r->status);

	if (rc == 0 && !is_error_doc(r))
		return 0;
	error_code(r, code, sizeof(code));
	if (rc == 0)
		rc = -EIO;
	for (size_t i = 0; rc == -EIO && i < sizeof(invalid) / sizeof(invalid[0]); i++)
		if (strcmp(code, invalid[i]) == 0)
			rc = -EINVAL;
	if (rc == -EIO && strcmp(code, "EntityTooLarge") == 0)
		rc = -EFBIG;
	if (rc == -EACCES)
		report_denied(st, r);
	else if (rc != -ENOENT && rc != -ESTALE)
		log_warn("%s: %s of \"%s\" refused: %s", st->conf.url, what, key, code);
	return rc;
}

/* Runs req and gives the errno of its answer; resp is the caller's to free. */
static int run(struct store *st, const struct http_req *req, const char *what,
	       const char *key, struct http_resp *resp)
{
	int rc = http_execute(st, req, s3_prepare, resp);

	return rc ? rc : write_errno(st, what, key, resp);
}

/* Whole seconds, as HEAD and listings give mtimes. */
static struct timespec now(void)
{
	struct timespec ts = { time(NULL), 0 };

	return ts;
}

/*
 * What lets the store refuse a body other than the one we read: its
 * Content-MD5 as the next field of req, or its SHA-256, signed, as
 * body_checksum_pick says.
 */
struct body_check {
	char md5[BODY_MD5_SIZE];
	char sha256[SIGV4_HEX_SIZE];
};

static int body_check(const struct store *st, const struct store_body *body,
		      struct http_req *req, struct http_field *fields, struct body_check *bc)
{
	const struct s3_priv *sp = st->priv;
	int rc;

	if (body_checksum_pick(st->conf.checksum, !sp->aws.anonymous) == STORE_SUM_SHA256) {
		unsigned char md[BODY_SHA256_SIZE];

		rc = body_sha256(body, md);
		if (rc == 0) {
			sigv4_hex(md, sizeof(md), bc->sha256);
			req->body_sha256 = bc->sha256;
		}
		return rc;
	}
	rc = body_md5(body, bc->md5);
	fields[req->nfields++] = (struct http_field){ "Content-MD5", bc->md5 };
	return rc;
}

static int s3_put(struct store *st, const char *key, const struct store_body *body,
		  int exclusive, struct store_meta *meta)
{
	struct s3_priv *sp = st->priv;
	struct body_check bc;
	struct http_field fields[2];
	struct http_req req = { .method = "PUT", .body = body, .fields = fields };
	struct http_resp resp = { 0 };
	char *url;
	int rc = body_check(st, body, &req, fields, &bc);

	if (rc)
		return rc;
	if (exclusive)
		fields[req.nfields++] = (struct http_field){ "If-None-Match", "*" };
	url = object_url(sp, key);
	if (!url)
		return -ENOMEM;
	req.url = url;
	rc = run(st, &req, "PUT", key, &resp);
	if (rc == -ESTALE && exclusive)
		rc = -EEXIST;	/* 412: If-None-Match found the key taken */
	if (rc == 0 && meta) {
		meta->kind = key[strlen(key) - 1] == '/' ? STORE_DIR : STORE_FILE;
		meta->size = body->len;
		meta->mtime = http_resp_mtime(&resp);
		if (!meta->mtime.tv_sec)
			meta->mtime = now();
		snprintf(meta->etag, sizeof(meta->etag), "%s", resp.etag);
	}
	http_resp_free(&resp);
	free(url);
	return rc;
}

static int s3_mpu_begin(struct store *st, const char *key, char **upload_id)
{
	struct s3_priv *sp = st->priv;
	char *url = object_url_query(sp, key, "uploads"), id[1024];
	struct http_req req = { .method = "POST", .url = url };
	struct http_resp resp = { 0 };
	int rc;

	if (!url)
		return -ENOMEM;
	rc = run(st, &req, "multipart upload", key, &resp);
	if (rc == 0 && s3_xml_text(resp.body ? resp.body : "", resp.body_len, "UploadId",
				   id, sizeof(id)) != 0) {
		log_warn("%s: no UploadId in the answer to a multipart upload of \"%s\"",
			 st->conf.url, key);
		rc = -EIO;
	}
	if (rc == 0 && !(*upload_id = strdup(id)))
		rc = -ENOMEM;
	http_resp_free(&resp);
	free(url);
	return rc;
}

static int s3_mpu_part(struct store *st, const char *key, const char *upload_id, int part,
		       const struct store_body *body, char etag[STORE_ETAG_MAX])
{
	struct s3_priv *sp = st->priv;
	struct body_check bc;
	struct http_field field;
	char prefix[32], *url;
	struct http_req req = { .method = "PUT", .body = body, .fields = &field };
	struct http_resp resp = { 0 };
	int rc = body_check(st, body, &req, &field, &bc);

	if (rc)
		return rc;
	snprintf(prefix, sizeof(prefix), "partNumber=%d&", part);
	url = upload_url(sp, key, prefix, upload_id);
	if (!url)
		return -ENOMEM;
	req.url = url;
	rc = run(st, &req, "part upload", key, &resp);
	if (rc == 0 && !resp.etag[0])
		rc = -EIO;	/* complete could not name this part */
	if (rc == 0)
		snprintf(etag, STORE_ETAG_MAX, "%s", resp.etag);
	http_resp_free(&resp);
	free(url);
	return rc;
}

/* <CompleteMultipartUpload> naming the parts 1..n by their ETags. */
static char *complete_xml(char (*const etags)[STORE_ETAG_MAX], int n, size_t *len)
{
	char *xml = NULL;
	FILE *f = open_memstream(&xml, len);

	if (!f)
		return NULL;
	fputs("<CompleteMultipartUpload>", f);
	for (int i = 0; i < n; i++) {
		fprintf(f, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
		for (const char *c = etags[i]; *c; c++) {
			if (*c == '&')
				fputs("&amp;", f);
			else if (*c == '<')
				fputs("&lt;", f);
			else
				fputc(*c, f);
		}
		fputs("</ETag></Part>", f);
	}
	fputs("</CompleteMultipartUpload>", f);
	if (fclose(f) != 0) {
		free(xml);
		return NULL;
	}
	return xml;
}

static int s3_mpu_complete(struct store *st, const char *key, const char *upload_id,
			   char (*const etags)[STORE_ETAG_MAX], int nparts,
			   struct store_meta *meta)
{
	struct s3_priv *sp = st->priv;
	char md5[BODY_MD5_SIZE], *url = upload_url(sp, key, "", upload_id);
	struct http_field field = { "Content-MD5", md5 };
	/* S3 joins parts as they are: a second per part is ample */
	struct http_req req = {
		.method = "POST", .url = url, .fields = &field, .nfields = 1,
		.retry_2xx = retry_2xx, .extra_ms = nparts * 1000L,
	};
	struct http_resp resp = { 0 };
	int rc = -ENOMEM;

	req.data = complete_xml(etags, nparts, &req.data_len);
	if (url && req.data)
		rc = mem_md5(req.data, req.data_len, md5);
	if (rc == 0)
		rc = run(st, &req, "multipart upload", key, &resp);
	/* the answer lacks the size, and radosgw's the ETag: ask as stat does */
	if (rc == 0 && meta)
		rc = s3_stat(st, key, meta);
	http_resp_free(&resp);
	free((char *)req.data);
	free(url);
	return rc;
}

static int s3_mpu_abort(struct store *st, const char *key, const char *upload_id)
{
	struct s3_priv *sp = st->priv;
	char *url = upload_url(sp, key, "", upload_id);
	struct http_req req = { .method = "DELETE", .url = url };
	struct http_resp resp = { 0 };
	int rc;

	if (!url)
		return -ENOMEM;
	rc = run(st, &req, "abort of a multipart upload", key, &resp);
	http_resp_free(&resp);
	free(url);
	return rc;
}

static int s3_delete(struct store *st, const char *key)
{
	struct s3_priv *sp = st->priv;
	char *url = object_url(sp, key), code[64];
	struct http_req req = { .method = "DELETE", .url = url };
	struct http_resp resp = { 0 };
	int rc;

	if (!url)
		return -ENOMEM;
	rc = run(st, &req, "DELETE", key, &resp);
	if (rc == -ENOENT) {
		/* S3 answers 204 for a missing key; some servers 404 NoSuchKey */
		error_code(&resp, code, sizeof(code));
		if (strcmp(code, "NoSuchKey") == 0 || !resp.body_len)
			rc = 0;
	}
	http_resp_free(&resp);
	free(url);
	return rc;
}

/* x-amz-copy-source: "/bucket/prefix/key", URL-encoded. */
static char *copy_source(const struct s3_priv *sp, const char *key)
{
	char *full = store_join_key(sp->prefix, key), *enc, *src = NULL;

	if (!full)
		return NULL;
	enc = http_uri_encode(full, 1);
	free(full);
	if (enc && asprintf(&src, "/%s/%s", sp->bucket, enc) < 0)
		src = NULL;
	free(enc);
	return src;
}

/*
 * A copy over copy_max goes part by part (UploadPartCopy), laid out by
 * partplan from copy_base: 512 MiB parts, doubling every 1,000, take the
 * largest object S3 keeps (5 TiB) in fewer than 10,000 parts, none over
 * the 5 GiB a part copy takes.  Tests lower both.
 */
static off_t copy_max = STORE_PUT_MAX;
static off_t copy_base = (off_t)512 << 20;

void store_s3_copy_limits(off_t max, off_t base)
{
	copy_max = max > 0 ? max : STORE_PUT_MAX;
	copy_base = base > 0 ? base : (off_t)512 << 20;
}

/* The ETag of a copy's answer (CopyObjectResult, CopyPartResult), quoted as HEAD has it. */
static int copied_etag(const struct http_resp *resp, char etag[STORE_ETAG_MAX])
{
	char t[STORE_ETAG_MAX - 2];

	if (s3_xml_text(resp->body ? resp->body : "", resp->body_len, "ETag", t, sizeof(t)) != 0)
		return -EIO;
	/* radosgw leaves out the quotes */
	snprintf(etag, STORE_ETAG_MAX, t[0] == '"' ? "%s" : "\"%s\"", t);
	return 0;
}

/* Part n of upload id of to: bytes [off, off+len) of src (copy_source), as m saw it. */
static int copy_part(struct store *st, const char *src, const struct store_meta *m,
		     const char *to, const char *id, int n, off_t off, off_t len,
		     char etag[STORE_ETAG_MAX])
{
	struct s3_priv *sp = st->priv;
	char prefix[32], range[64], *url;
	struct http_field fields[3] = {
		{ "x-amz-copy-source", src },
		{ "x-amz-copy-source-range", range },
		/* the version stat saw, or the part fails: never two versions mixed */
		{ "x-amz-copy-source-if-match", m->etag },
	};
	struct http_req req = { .method = "PUT", .fields = fields, .nfields = m->etag[0] ? 3 : 2,
				.retry_2xx = retry_2xx, .extra_ms = (long)(len >> 20) * 1000L };
	struct http_resp resp = { 0 };
	int rc = -ENOMEM;

	snprintf(prefix, sizeof(prefix), "partNumber=%d&", n);
	snprintf(range, sizeof(range), "bytes=%lld-%lld", (long long)off, (long long)(off + len - 1));
	url = upload_url(sp, to, prefix, id);
	if (url) {
		req.url = url;
		rc = run(st, &req, "part copy", to, &resp);
	}
	if (rc == 0)
		rc = copied_etag(&resp, etag);
	http_resp_free(&resp);
	free(url);
	return rc;
}

#define COPY_STREAMS	4	/* part copies in flight at once */

/* The part copies of one copy_parts, taken in turn by the threads that send them. */
struct part_copies {
	struct store *st;
	const char *src, *to, *id;
	const struct store_meta *m;
	char (*etags)[STORE_ETAG_MAX];
	int n;
	atomic_int next;	/* the next part to send, from 1 */
	atomic_int rc;		/* the first failure: no part is sent after it */
};

static void send_part_copies(void *arg)
{
	struct part_copies *pc = arg;
	int i;

	while (atomic_load(&pc->rc) == 0 && (i = atomic_fetch_add(&pc->next, 1)) <= pc->n) {
		int rc = copy_part(pc->st, pc->src, pc->m, pc->to, pc->id, i,
				   partplan_start(copy_base, i),
				   partplan_len(copy_base, i, pc->m->size), pc->etags[i - 1]);
		int none = 0;

		if (rc)
			atomic_compare_exchange_strong(&pc->rc, &none, rc);
	}
}

/*
 * A copy of from (m) too large for CopyObject: one multipart upload of to,
 * COPY_STREAMS part copies at a time.  The store does the copying; each
 * part takes it seconds (512 MiB), while this side only waits, so parts
 * one after another made a 6 GiB rename take twelve of those waits.
 */
static int copy_parts(struct store *st, const char *from, const struct store_meta *m,
		      const char *to, struct store_meta *meta)
{
	int n = partplan_count(copy_base, m->size), rc;
	char (*etags)[STORE_ETAG_MAX], *id = NULL, *src;

	if (n < 0)
		return n;
	etags = calloc((size_t)n, sizeof(*etags));
	src = copy_source(st->priv, from);
	rc = etags && src ? s3_mpu_begin(st, to, &id) : -ENOMEM;
	if (rc == 0) {
		struct part_copies pc = { .st = st, .src = src, .to = to, .id = id, .m = m,
					  .etags = etags, .n = n, .next = 1 };

		pool_run_together(n < COPY_STREAMS ? n : COPY_STREAMS, send_part_copies, &pc);
		rc = atomic_load(&pc.rc);
	}
	if (rc == 0)
		rc = s3_mpu_complete(st, to, id, etags, n, meta);
	if (rc && id)
		s3_mpu_abort(st, to, id);
	free(id);
	free(src);
	free(etags);
	return rc;
}

static int s3_copy(struct store *st, const char *from, const char *to, struct store_meta *meta)
{
	struct s3_priv *sp = st->priv;
	char *url = NULL, *src = NULL, t[STORE_ETAG_MAX - 2];
	struct http_field field = { "x-amz-copy-source", NULL };
	struct http_req req = { .method = "PUT", .fields = &field, .nfields = 1,
				.retry_2xx = retry_2xx };
	struct http_resp resp = { 0 };
	struct store_meta m;
	int rc;

	/* the size first: CopyObject takes 5 GiB at most, and time by size */
	rc = s3_stat(st, from, &m);
	if (rc == 0 && m.size > copy_max)
		return copy_parts(st, from, &m, to, meta);
	if (rc)
		return rc;
	url = object_url(sp, to);
	src = copy_source(sp, from);
	rc = -ENOMEM;
	if (url && src) {
		req.url = url;
		field.value = src;
		req.extra_ms = (long)(m.size >> 20) * 1000L;
		rc = run(st, &req, "copy", to, &resp);
	}
	if (rc == 0 && meta) {
		const char *b = resp.body ? resp.body : "";

		meta->kind = STORE_FILE;
		meta->size = m.size;
		meta->mtime = now();
		if (s3_xml_text(b, resp.body_len, "LastModified", t, sizeof(t)) == 0 &&
		    s3_time_parse(t, &meta->mtime) == 0)
			meta->mtime.tv_nsec = 0;
		if (copied_etag(&resp, meta->etag) != 0)
			rc = s3_stat(st, to, meta);
	}
	http_resp_free(&resp);
	free(url);
	free(src);
	return rc;
}

const struct store_driver store_s3_driver = {
	.name = "s3",
	.caps = STORE_CAP_LIST | STORE_CAP_PREFIX_DIRS | STORE_CAP_WRITE,
	.priv_size = sizeof(struct s3_priv),
	.init = s3_init,
	.fini = s3_fini,
	.stat = s3_stat,
	.read = s3_read,
	.stat_read = s3_stat_read,
	.list = s3_list,
	.put = s3_put,
	.mpu_begin = s3_mpu_begin,
	.mpu_part = s3_mpu_part,
	.mpu_complete = s3_mpu_complete,
	.mpu_abort = s3_mpu_abort,
	.del = s3_delete,
	.copy = s3_copy,
};
