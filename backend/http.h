/* SPDX-License-Identifier: MIT */
/*
 * http.h - executes one REST request against a store, retries included.
 *
 * Drivers that speak HTTP (s3, http; later azure, gcs) describe a request
 * and give a prepare callback that adds their authentication headers before
 * every attempt (a signature carries the time, so it is made anew each try).
 * This layer owns everything else: the pool of keep-alive connections,
 * Range and If-Match, header parsing, retry with exponential backoff and
 * jitter honouring Retry-After, resuming a truncated body, sending a
 * request body again on each attempt, and the deadline.
 */
#ifndef CLOUDSHIM_HTTP_H
#define CLOUDSHIM_HTTP_H

#include <curl/curl.h>

#include "backend/store_int.h"

struct http_resp;

/* A request header to send as it is; a signing prepare signs it too. */
struct http_field {
	const char *name;
	const char *value;
};

#define HTTP_FIELDS_MAX	4

struct http_req {
	const char *method;		/* "GET", "HEAD", "PUT", "POST", "DELETE" */
	const char *url;		/* fully encoded */
	off_t off;			/* with len > 0: ask for this byte range */
	size_t len;
	const struct store_meta *pin;	/* version to insist on, or NULL */
	store_sink_fn sink;		/* body of a 2xx answer; NULL: keep it */
	void *arg;
	int follow_redirects;
	/*
	 * The body of a PUT or POST, from a descriptor or from memory (data);
	 * neither: an empty one.  Each attempt sends it from its start.
	 */
	const struct store_body *body;
	const char *data;
	size_t data_len;
	const char *body_sha256;	/* the body's SHA-256 in hex, when the
					   caller has it for a signer */
	const struct http_field *fields;	/* at most HTTP_FIELDS_MAX */
	size_t nfields;
	/*
	 * For answers that can fail after their status line went out (S3's
	 * CompleteMultipartUpload and CopyObject: 200, then an <Error> body):
	 * 1 when a 2xx answer is a failure worth retrying, else 0.
	 */
	int (*retry_2xx)(const struct http_resp *resp);
	long extra_ms;			/* added to the deadline: the server's
					   own work on a large copy or join */
};

struct http_resp {
	long status;
	off_t length;			/* Content-Length, -1 if absent */
	off_t total;			/* object size from Content-Range, -1 if absent */
	int range_ignored;		/* a Range was asked for and a 200 came back */
	char etag[STORE_ETAG_MAX];
	char last_modified[40];		/* as sent; http_resp_mtime parses it */
	char *body;			/* kept body (errors, listings); free() it */
	size_t body_len;
};

/*
 * Adds the driver's headers for one attempt.  Returns 0 or -errno; on
 * success *headers is appended to (the caller frees the list).
 */
typedef int (*http_prepare_fn)(struct store *st, const struct http_req *req,
			       struct curl_slist **headers);

/*
 * Runs req until a final answer: returns 0 with resp filled for any HTTP
 * status that is not worth retrying (the caller maps it with
 * http_status_errno), -EIO when the deadline passed while retrying, -ESTALE
 * when the pinned version changed, or the -errno a sink or the reading of
 * the body gave.  The deadline is the request timeout, plus a second per
 * MiB of body (it bounds a stall, not the size of an upload), plus
 * extra_ms.
 */
int http_execute(struct store *st, const struct http_req *req, http_prepare_fn prepare,
		 struct http_resp *resp);
void http_resp_free(struct http_resp *resp);

/*
 * The Last-Modified time, or zero when there is none: parsed on demand, as
 * only a stat wants it and the date parser cost a small range read 1% of
 * its CPU.
 */
struct timespec http_resp_mtime(const struct http_resp *resp);

/* 404 -> -ENOENT, 401/403 -> -EACCES, 412 -> -ESTALE, 2xx -> 0, else -EIO */
int http_status_errno(long status);

/*
 * What a HEAD (or, for servers without HEAD, a one-byte GET) says of the
 * object at url: meta->kind STORE_FILE with size, ETag and mtime, or -errno.
 * *status gets the HTTP status, for drivers that look further on a 404.
 */
int http_stat(struct store *st, const char *url, http_prepare_fn prepare,
	      struct store_meta *meta, long *status);

/*
 * http_stat and the object's first len bytes (fewer if it is smaller) in
 * one GET, into sink from offset 0.  A 416 (an empty object has no first
 * byte) is followed by http_stat itself.
 */
int http_stat_read(struct store *st, const char *url, http_prepare_fn prepare,
		   struct store_meta *meta, size_t len, store_sink_fn sink, void *arg,
		   long *status);

/* A ranged GET of url into rd->sink, pinned to rd->pin. */
int http_read(struct store *st, const char *url, http_prepare_fn prepare,
	      const struct store_read *rd);

/* fork: see cache.h.  The child forgets connections the parent still uses. */
void http_fork_lock(void);
void http_fork_unlock(void);
void http_after_fork_child(void);

/* RFC 3986 percent-encoding of s; '/' kept when keep_slash.  malloc'd. */
char *http_uri_encode(const char *s, int keep_slash);

#endif
