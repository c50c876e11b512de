/* SPDX-License-Identifier: MIT */
/*
 * http.c - the request executor under every REST driver.
 *
 * DESIGN
 * Connections: a free list of CURL easy handles.  Each handle keeps its own
 * keep-alive connection, so a handle taken from the list usually comes with
 * a warm connection; DNS answers and TLS sessions are shared between all of
 * them through one CURLSH.  Any thread may take a handle: fetcher workers and
 * callers doing a demand read alike.  Sockets are moved to high descriptor
 * numbers, close-on-exec, out of the way of the program's own descriptors.
 *
 * Retries: connection errors, timeouts, truncated bodies and the statuses
 * 429, 500, 502, 503 and 504 are retried with exponential backoff and full
 * jitter (a random delay up to 100 ms << attempt, at most 5 s), or after the
 * Retry-After the store asked for, until the request deadline passes; then
 * -EIO.  A TLS certificate that fails verification is -EIO at once: asking
 * again meets the same certificate and the same trusted CAs.  A ranged GET
 * that broke off resumes where the sink stopped, with If-Match pinning the
 * version so the pieces cannot come from two versions.
 * A request body is read through a callback with pread, so every attempt
 * (and every rewind libcurl asks for) sends it again from its start.
 *
 * Fork: the child must never touch the parent's connections (the bytes
 * would interleave on shared sockets), so it drops the free list without
 * cleanup and closes the sockets itself.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend/body.h"
#include "backend/clock.h"
#include "backend/curl_lib.h"
#include "backend/http.h"
#include "backend/log.h"

#define POOL_MAX	64
#define BODY_KEEP_MAX	(4u << 20)	/* listings and error documents */
#define BACKOFF_BASE_MS	100
#define BACKOFF_CAP_MS	5000
#define BODY_MS_PER_MIB	1000	/* deadline added per MiB of request body */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t share_lock = PTHREAD_MUTEX_INITIALIZER;
static CURL *pool[POOL_MAX];	/* idle handles, the last put back on top */
static int pool_len;
static __thread CURL *put_last;	/* compared, never used: it may be gone */
static CURLSH *share;
/* the same variables the AWS CLI and curl honour, most specific first */
static const char *const ca_vars[] = { "AWS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE" };
static const char *ca_bundle;
static const char *ca_var;	/* the one of ca_vars that named ca_bundle */
static int fd_floor;

/* Per-transfer state seen by the header and body callbacks. */
struct xfer {
	struct store *st;
	CURL *h;
	const struct http_req *req;
	struct http_resp *resp;
	off_t pos;		/* object offset of the next body byte; -1 unknown */
	off_t next;		/* next offset the sink is owed */
	off_t end;		/* end of the wanted range */
	off_t sent;		/* request body bytes given to libcurl */
	int sink_err;
	int satisfied;
	int checked;		/* version checked against the pin */
	int reported;		/* a failure already said on stderr */
	int head_done;		/* the head of the answer is in */
	int body_seen;		/* and some of its body, or an ACK went out */
	long retry_after_ms;
	char curl_err[CURL_ERROR_SIZE];	/* libcurl's detail of a failure */
};

static void share_lock_fn(CURL *h, curl_lock_data d, curl_lock_access a, void *u)
{
	pthread_mutex_lock(&share_lock);
}

static void share_unlock_fn(CURL *h, curl_lock_data d, void *u)
{
	pthread_mutex_unlock(&share_lock);
}

static void curl_setup_once(void)
{
	struct rlimit rl;

	share = curl.share_init();
	curl.share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock_fn);
	curl.share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock_fn);
	curl.share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl.share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	for (size_t i = 0; i < sizeof(ca_vars) / sizeof(ca_vars[0]) && !ca_bundle; i++) {
		ca_bundle = getenv(ca_vars[i]);
		if (ca_bundle && !*ca_bundle)
			ca_bundle = NULL;
		ca_var = ca_vars[i];
	}
	/* our sockets live in the top half of the descriptor space */
	fd_floor = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 256)
		fd_floor = (int)(rl.rlim_cur > 65536 ? 32768 : rl.rlim_cur / 2);
}

/*
 * u is the handle's record of the socket it opened last, which is where its
 * responses arrive (libcurl tells a transfer's socket only once it is over).
 */
static curl_socket_t open_socket(void *u, curlsocktype purpose, struct curl_sockaddr *a)
{
	curl_socket_t *last = u;
	int s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	int hi;

	if (s >= 0 && fd_floor > 0 && (hi = fcntl(s, F_DUPFD_CLOEXEC, fd_floor)) >= 0) {
		close(s);
		s = hi;
	}
	*last = s;
	return s;
}

static int close_socket(void *u, curl_socket_t s)
{
	curl_socket_t *last = u;

	if (*last == s)
		*last = CURL_SOCKET_BAD;
	return close(s);
}

/*
 * The handle this thread put back last if it is idle, else the one put
 * back last by anyone.  A thread's own handle has its receive buffer in
 * this CPU's caches and its connection's packets arriving here: random
 * preads from nginx by 4 threads on 2 CPUs, medians of 21 alternating
 * runs, rose from 0.89 to 0.96 x curl's IOPS (64 KiB) and 0.78 to 0.86
 * (256 KiB), on less CPU, against taking whichever was put back last.
 */
static CURL *take_locked(void)
{
	int i = pool_len - 1;
	CURL *h;

	if (i < 0)
		return NULL;
	while (i > 0 && pool[i] != put_last)
		i--;
	if (pool[i] != put_last)
		i = pool_len - 1;
	h = pool[i];
	memmove(&pool[i], &pool[i + 1], (size_t)(pool_len - 1 - i) * sizeof(pool[0]));
	pool_len--;
	return h;
}

static CURL *handle_get(void)
{
	curl_socket_t *last;
	CURL *h = NULL;

	pthread_once(&curl_once, curl_setup_once);
	pthread_mutex_lock(&pool_lock);
	h = take_locked();
	pthread_mutex_unlock(&pool_lock);
	if (h)
		return h;
	last = malloc(sizeof(*last));
	h = last ? curl.easy_init() : NULL;
	if (!h) {
		free(last);
		return NULL;
	}
	*last = CURL_SOCKET_BAD;
	curl.easy_setopt(h, CURLOPT_PRIVATE, last);
	curl.easy_setopt(h, CURLOPT_OPENSOCKETDATA, last);
	curl.easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
	curl.easy_setopt(h, CURLOPT_CLOSESOCKETDATA, last);
	curl.easy_setopt(h, CURLOPT_SHARE, share);
	curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl.easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	/*
	 * Each handle keeps its receive buffer for life, outside cache_mb:
	 * 256 KiB reads as fast as 512 KiB did (1.8 GB/s on loopback) and
	 * keeps 4 MiB less resident with 16 connections.
	 */
	curl.easy_setopt(h, CURLOPT_BUFFERSIZE, 256L << 10);
	curl.easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl.easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	if (ca_bundle)
		curl.easy_setopt(h, CURLOPT_CAINFO, ca_bundle);
	return h;
}

static void handle_put(CURL *h)
{
	pthread_mutex_lock(&pool_lock);
	if (pool_len < POOL_MAX) {
		pool[pool_len++] = h;
		put_last = h;
		h = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	if (h) {
		curl_socket_t *last = NULL;

		curl.easy_getinfo(h, CURLINFO_PRIVATE, (char **)&last);
		curl.easy_cleanup(h);
		free(last);
	}
}

void http_fork_lock(void)
{
	pthread_mutex_lock(&pool_lock);
	pthread_mutex_lock(&share_lock);
}

void http_fork_unlock(void)
{
	pthread_mutex_unlock(&share_lock);
	pthread_mutex_unlock(&pool_lock);
}

void http_after_fork_child(void)
{
	curl_socket_t s;

	/*
	 * The handles' connections belong to the parent too.  Close our copies
	 * of their sockets without a word on the wire, and leak the handles:
	 * cleaning them up could send TLS close_notify on the parent's session.
	 */
	for (int i = 0; i < pool_len; i++)
		if (curl.easy_getinfo(pool[i], CURLINFO_ACTIVESOCKET, &s) == CURLE_OK &&
		    s != CURL_SOCKET_BAD)
			close(s);
	pool_len = 0;
}

static unsigned long jitter(unsigned long bound)
{
	static __thread unsigned long state;

	if (!state)
		state = (unsigned long)clock_ms() ^ (unsigned long)pthread_self() ^ 0x9e3779b97f4a7c15UL;
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return bound ? state % bound : 0;
}

static int is_transient_status(long status)
{
	return status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

int http_status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 404: case 410:
		return -ENOENT;
	case 401: case 403:
		return -EACCES;
	case 412:
		return -ESTALE;
	default:
		return -EIO;
	}
}

/* Value of "Name: value\r\n" when line starts with name, trimmed; or NULL. */
static const char *header_value(const char *line, size_t n, const char *name,
				char *buf, size_t bufsize)
{
	size_t nl = strlen(name), vlen;
	const char *v, *end = line + n;

	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	for (v = line + nl + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	vlen = (size_t)(end - v);
	if (vlen >= bufsize)
		vlen = bufsize - 1;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	return buf;
}

static void reset_resp(struct xfer *x)
{
	struct http_resp *r = x->resp;

	free(r->body);
	memset(r, 0, sizeof(*r));
	r->length = -1;
	r->total = -1;
	x->pos = -1;
	x->retry_after_ms = 0;
	x->head_done = 0;
	x->body_seen = 0;
}

/*
 * A server that writes a response's head and its short body apart, with
 * Nagle on (radosgw's beast does), holds the body back until the head is
 * acknowledged, and Linux delays that ACK up to 40 ms on a connection it
 * sees as request-response: every listing and every small read would wait
 * for the timer.  So when libcurl has read a whole head and no body and is
 * about to wait (it reports progress then), the head is acknowledged at
 * once.  Not on every answer: the ACK is a packet of its own, which cost
 * each 4 KiB read from nginx (whose body comes with the head) 20 us of
 * system time, as much as sending the request.
 */
static int on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = p;
	curl_socket_t *last = NULL;
	int one = 1;

	if (!x->head_done || x->body_seen || x->resp->length == 0)
		return 0;
	x->body_seen = 1;	/* one ACK per answer is enough */
	if (curl.easy_getinfo(x->h, CURLINFO_PRIVATE, (char **)&last) == CURLE_OK && last &&
	    *last != CURL_SOCKET_BAD)
		setsockopt(*last, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	return 0;
}

/*
 * "bytes FIRST-LAST/TOTAL": 0 with the first byte's offset and the total,
 * or -1 (an unknown total, "*", included).  Not sscanf: it showed in the
 * profile of small random reads, once per response.
 */
static int parse_content_range(const char *v, long long *first, long long *total)
{
	char *end;
	long long last;

	if (strncmp(v, "bytes ", 6) != 0 || !isdigit((unsigned char)v[6]))
		return -1;
	*first = strtoll(v + 6, &end, 10);
	if (*end != '-' || !isdigit((unsigned char)end[1]))
		return -1;
	last = strtoll(end + 1, &end, 10);
	if (*end != '/' || !isdigit((unsigned char)end[1]))
		return -1;
	*total = strtoll(end + 1, &end, 10);
	if (*end == '\0' && *total == 0 && *first == 0 && last == 0)
		return 0;	/* s3rver's answer for an empty object */
	return *end == '\0' && *first <= last && last < *total ? 0 : -1;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *p)
{
	struct xfer *x = p;
	struct http_resp *r = x->resp;
	size_t n = size * nitems;
	char v[STORE_ETAG_MAX + 64];
	long long first, total;

	if (n <= 2 && (n == 0 || line[0] == '\r' || line[0] == '\n')) {
		x->head_done = 1;
		if (r->status == 206 && r->total == 0 && x->req->sink) {
			/*
			 * An empty object's ranged GET, as s3rver answers it:
			 * "bytes 0-0/0" and a Content-Length of 1 it never
			 * sends.  There is nothing to wait for.
			 */
			x->satisfied = 1;
			return 0;
		}
	} else if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new response (after a redirect or 100-continue) starts over */
		const char *sp = memchr(line, ' ', n);

		reset_resp(x);
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
	} else if (header_value(line, n, "etag", r->etag, sizeof(r->etag))) {
		/* stored as sent, quotes included: If-Match wants it so */
	} else if (header_value(line, n, "content-length", v, sizeof(v))) {
		r->length = strtoll(v, NULL, 10);
	} else if (header_value(line, n, "content-range", v, sizeof(v))) {
		if (parse_content_range(v, &first, &total) == 0) {
			x->pos = first;
			r->total = total;
		}
	} else if (header_value(line, n, "last-modified", r->last_modified,
				sizeof(r->last_modified))) {
		/* parsed when asked for */
	} else if (header_value(line, n, "retry-after", v, sizeof(v))) {
		char *end;
		long secs = strtol(v, &end, 10);

		if (end != v && *end == '\0' && secs >= 0)
			x->retry_after_ms = secs * 1000;
		else if (curl.getdate(v, NULL) > time(NULL))
			x->retry_after_ms = (curl.getdate(v, NULL) - time(NULL)) * 1000L;
	}
	return n;
}

static int keep_body(struct http_resp *r, const char *data, size_t n)
{
	char *nb;

	if (r->body_len + n > BODY_KEEP_MAX)
		return 0;	/* enough to report on; the rest is not needed */
	nb = realloc(r->body, r->body_len + n + 1);
	if (!nb)
		return -ENOMEM;
	r->body = nb;
	memcpy(nb + r->body_len, data, n);
	r->body_len += n;
	nb[r->body_len] = '\0';
	return 0;
}

/* The version check: a 2xx answer for a pinned read must be that version. */
static int check_version(struct xfer *x)
{
	const struct store_meta *pin = x->req->pin;
	const struct http_resp *r = x->resp;

	x->checked = 1;
	if (!pin)
		return 0;
	if (pin->etag[0] && r->etag[0] && strcmp(pin->etag, r->etag) != 0)
		return -ESTALE;
	if (r->total >= 0 && r->total != pin->size)
		return -ESTALE;
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nitems, void *p)
{
	struct xfer *x = p;
	struct http_resp *r = x->resp;
	size_t n = size * nitems, skip, give;

	x->body_seen = 1;
	if (r->status < 200 || r->status >= 300 || !x->req->sink) {
		x->sink_err = keep_body(r, data, n);
		return x->sink_err ? 0 : n;
	}
	if (!x->checked && (x->sink_err = check_version(x)) != 0)
		return 0;
	if (x->pos < 0) {
		/* 200 to a ranged request: the server ignored Range */
		r->range_ignored = x->req->len > 0;
		x->pos = 0;
	}
	if (x->pos > x->next) {
		x->sink_err = -EIO;	/* the server skipped bytes we need */
		return 0;
	}
	skip = (size_t)(x->next - x->pos) < n ? (size_t)(x->next - x->pos) : n;
	give = n - skip;
	if ((off_t)give > x->end - x->next)
		give = (size_t)(x->end - x->next);
	if (give > 0) {
		x->sink_err = x->req->sink(x->req->arg, x->next, data + skip, give);
		if (x->sink_err)
			return 0;
		x->next += (off_t)give;
	}
	x->pos += (off_t)n;
	if (x->next >= x->end) {
		x->satisfied = 1;
		return skip + give == n ? n : 0;	/* stop a body that runs on */
	}
	return n;
}

static off_t body_len(const struct http_req *req)
{
	return req->body ? req->body->len : (off_t)req->data_len;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *p)
{
	struct xfer *x = p;
	const struct http_req *req = x->req;
	size_t n = size * nitems;
	ssize_t got;

	if ((off_t)n > body_len(req) - x->sent)
		n = (size_t)(body_len(req) - x->sent);
	if (n == 0)
		return 0;
	if (req->body) {
		got = body_read(req->body, x->sent, buf, n);
		if (got < 0) {
			x->sink_err = (int)got;
			return CURL_READFUNC_ABORT;
		}
	} else {
		memcpy(buf, req->data + x->sent, n);
		got = (ssize_t)n;
	}
	x->sent += got;
	return (size_t)got;
}

/* libcurl rewinds the body to send it again (a redirect, an auth retry). */
static int on_seek(void *p, curl_off_t offset, int origin)
{
	struct xfer *x = p;

	if (origin != SEEK_SET || offset < 0 || offset > body_len(x->req))
		return CURL_SEEKFUNC_CANTSEEK;
	x->sent = (off_t)offset;
	return CURL_SEEKFUNC_OK;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends a header line of any length; on failure frees the list. */
static struct curl_slist *add_header(struct curl_slist *l, const char *fmt, ...)
{
	struct curl_slist *nl = NULL;
	char *line;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n >= 0) {
		nl = curl.slist_append(l, line);
		free(line);
	}
	if (!nl)
		curl.slist_free_all(l);
	return nl;
}

static int build_headers(struct store *st, const struct xfer *x, http_prepare_fn prepare,
			 struct curl_slist **out)
{
	const struct http_req *req = x->req;
	struct curl_slist *h = NULL;
	int rc = prepare(st, req, &h);

	if (rc) {
		curl.slist_free_all(h);
		return rc;
	}
	if (req->len > 0 && !(h = add_header(h, "Range: bytes=%lld-%lld",
					      (long long)x->next, (long long)x->end - 1)))
		return -ENOMEM;
	if (req->pin && req->pin->etag[0] &&
	    !(h = add_header(h, "If-Match: %s", req->pin->etag)))
		return -ENOMEM;
	for (size_t i = 0; i < req->nfields; i++)
		if (!(h = add_header(h, "%s: %s", req->fields[i].name, req->fields[i].value)))
			return -ENOMEM;
	*out = h;
	return 0;
}

/* Method and body: PUT and POST always send one, if only an empty one. */
static void set_method(CURL *h, struct xfer *x)
{
	const struct http_req *req = x->req;
	int head = strcmp(req->method, "HEAD") == 0;

	if (req->body || req->data || strcmp(req->method, "PUT") == 0 ||
	    strcmp(req->method, "POST") == 0) {
		x->sent = 0;
		curl.easy_setopt(h, CURLOPT_NOBODY, 0L);
		curl.easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl.easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl.easy_setopt(h, CURLOPT_READDATA, x);
		curl.easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl.easy_setopt(h, CURLOPT_SEEKDATA, x);
		curl.easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_len(req));
	} else {
		/* in this order: UPLOAD 0 would turn a HEAD back into a GET */
		curl.easy_setopt(h, CURLOPT_UPLOAD, 0L);
		curl.easy_setopt(h, CURLOPT_NOBODY, head ? 1L : 0L);
	}
	if (strcmp(req->method, "GET") != 0 && !head)
		curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	else
		curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
}

/* The URL without its query string, which may carry a token. */
static void loggable_url(const char *url, char *buf, size_t n)
{
	size_t len = strcspn(url, "?");

	snprintf(buf, n, "%.*s", (int)len, url);
}

/* Failures of TLS verification: the same answer however often asked. */
static int is_tls_trust_error(CURLcode cc)
{
	return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE;
}

static void report_tls_trust(const struct http_req *req, const char *why)
{
	char url[256];

	loggable_url(req->url, url, sizeof(url));
	log_error("%s %s: TLS certificate not trusted (%s); trusted CAs come from %s%s%s; "
		  "name the store's CA in AWS_CA_BUNDLE, CURL_CA_BUNDLE or SSL_CERT_FILE",
		  req->method, url, why, ca_bundle ? ca_bundle : "the system's default",
		  ca_bundle ? ", set by " : "", ca_bundle ? ca_var : "");
}

/* How long the server took to answer: from the request sent to the first byte back. */
static void note_answer(CURL *h, struct store *st)
{
	curl_off_t sent, first;

	if (curl.easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &sent) == CURLE_OK &&
	    curl.easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &first) == CURLE_OK &&
	    first >= sent)
		store_note_answer(st, (long)(first - sent));
}

/* One attempt: 0 done, 1 retry, or -errno. */
static int attempt(CURL *h, struct xfer *x, http_prepare_fn prepare, long remaining,
		   char *why, size_t whylen)
{
	const struct http_req *req = x->req;
	struct curl_slist *headers = NULL;
	CURLcode cc;
	int rc;

	rc = build_headers(x->st, x, prepare, &headers);
	if (rc)
		return rc;
	reset_resp(x);
	x->checked = 0;
	x->sink_err = 0;
	x->satisfied = 0;
	curl.easy_setopt(h, CURLOPT_URL, req->url);
	curl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	set_method(h, x);
	curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, req->follow_redirects ? 1L : 0L);
	curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl.easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl.easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl.easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, remaining);
	curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, remaining < 10000 ? remaining : 10000L);
	x->curl_err[0] = '\0';
	curl.easy_setopt(h, CURLOPT_ERRORBUFFER, x->curl_err);
	cc = curl.easy_perform(h);
	curl.slist_free_all(headers);
	curl.easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl.easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);

	if (x->sink_err)
		return x->sink_err;
	if (cc == CURLE_WRITE_ERROR && x->satisfied)
		cc = CURLE_OK;
	if (cc != CURLE_OK && is_tls_trust_error(cc)) {
		report_tls_trust(req, x->curl_err[0] ? x->curl_err : curl.easy_strerror(cc));
		x->reported = 1;
		return -EIO;
	}
	if (cc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl.easy_strerror(cc));
		return 1;
	}
	note_answer(h, x->st);
	if (is_transient_status(x->resp->status)) {
		snprintf(why, whylen, "HTTP %ld", x->resp->status);
		return 1;
	}
	if (req->retry_2xx && x->resp->status >= 200 && x->resp->status < 300 &&
	    req->retry_2xx(x->resp)) {
		snprintf(why, whylen, "HTTP %ld with an error to retry in its body",
			 x->resp->status);
		return 1;
	}
	if (x->resp->status >= 200 && x->resp->status < 300 && req->sink && req->len > 0 &&
	    x->next < x->end && !(x->resp->total >= 0 && x->next >= x->resp->total) &&
	    !(x->resp->status == 200 && x->resp->length == 0) &&	/* empty, Range ignored */
	    !(x->resp->range_ignored && x->pos >= 0 && x->resp->length >= 0 &&
	      x->pos >= x->resp->length)) {
		snprintf(why, whylen, "body ended early at byte %lld", (long long)x->next);
		return 1;	/* truncated: resume from x->next */
	}
	return 0;
}

int http_execute(struct store *st, const struct http_req *req, http_prepare_fn prepare,
		 struct http_resp *resp)
{
	long budget = st->ec->request_timeout_ms + req->extra_ms +
		      (long)(body_len(req) >> 20) * BODY_MS_PER_MIB;
	long deadline = clock_ms() + budget;
	struct xfer x = { .st = st, .req = req, .resp = resp };
	char why[128] = "", url[256];
	int rc, exhausted = 0;
	CURL *h;

	memset(resp, 0, sizeof(*resp));
	x.next = req->off;
	x.end = req->off + (off_t)req->len;
	if (curl_lib_load())
		return -EIO;
	h = handle_get();
	x.h = h;
	if (!h)
		return -ENOMEM;
	for (unsigned n = 0;; n++) {
		long remaining = deadline - clock_ms(), delay;

		if (remaining <= 0) {
			rc = -EIO;
			exhausted = 1;
			break;
		}
		rc = attempt(h, &x, prepare, remaining, why, sizeof(why));
		if (rc <= 0)
			break;
		delay = (long)jitter((unsigned long)(n < 6 ? BACKOFF_BASE_MS << n : BACKOFF_CAP_MS));
		if (x.retry_after_ms > delay)
			delay = x.retry_after_ms;
		if (clock_ms() + delay >= deadline) {
			rc = -EIO;
			exhausted = 1;
			break;
		}
		log_debug("%s: %s, retrying in %ld ms", req->method, why, delay);
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	handle_put(h);
	if (rc == -EIO && !x.reported) {
		loggable_url(req->url, url, sizeof(url));
		if (exhausted)
			log_warn("%s %s: gave up after %ld ms: %s", req->method, url, budget,
				 why[0] ? why : "deadline passed");
		else
			log_warn("%s %s: an answer that cannot be used%s%s", req->method, url,
				 why[0] ? ": " : "", why);
	}
	if (rc == 0 && resp->status >= 200 && resp->status < 300 && !x.checked && req->pin)
		rc = check_version(&x);
	if (resp->range_ignored) {
		static atomic_int warned;

		if (!atomic_exchange(&warned, 1)) {
			loggable_url(req->url, url, sizeof(url));
			log_warn("%s ignores Range requests: every read downloads the "
				 "object from its start", url);
		}
	}
	return rc;
}

static int discard(void *arg, off_t off, const char *data, size_t len)
{
	return 0;
}

static void meta_from_resp(const struct http_resp *r, struct store_meta *m)
{
	m->kind = STORE_FILE;
	m->size = r->total >= 0 ? r->total : r->length;
	m->mtime = http_resp_mtime(r);
	snprintf(m->etag, sizeof(m->etag), "%s", r->etag);
}

/* What a stat's answer says: the errno of its status, or meta filled in; frees resp. */
static int stat_answer(int rc, struct http_resp *resp, struct store_meta *meta, long *status)
{
	*status = resp->status;
	if (rc == 0)
		rc = http_status_errno(resp->status);
	if (rc == 0 && resp->total < 0 && resp->length < 0)
		rc = -EIO;	/* neither Content-Range nor Content-Length: no size */
	if (rc == 0)
		meta_from_resp(resp, meta);
	http_resp_free(resp);
	return rc;
}

int http_stat(struct store *st, const char *url, http_prepare_fn prepare,
	      struct store_meta *meta, long *status)
{
	struct http_req req = { .method = "HEAD", .url = url };
	struct http_resp resp;
	int rc;

	rc = http_execute(st, &req, prepare, &resp);
	if (rc == 0 && (resp.status == 405 || resp.status == 501)) {
		/* no HEAD here: the first byte's Content-Range gives the size */
		http_resp_free(&resp);
		req.method = "GET";
		req.len = 1;
		req.sink = discard;
		rc = http_execute(st, &req, prepare, &resp);
	}
	return stat_answer(rc, &resp, meta, status);
}

int http_stat_read(struct store *st, const char *url, http_prepare_fn prepare,
		   struct store_meta *meta, size_t len, store_sink_fn sink, void *arg,
		   long *status)
{
	struct http_req req = {
		.method = "GET", .url = url, .len = len, .sink = sink, .arg = arg,
	};
	struct http_resp resp;
	int rc = http_execute(st, &req, prepare, &resp);

	if (rc == 0 && resp.status == 416) {
		/* no first byte: an empty object (or one emptied); HEAD says the rest */
		http_resp_free(&resp);
		return http_stat(st, url, prepare, meta, status);
	}
	return stat_answer(rc, &resp, meta, status);	/* a 200 (Range ignored): Content-Length */
}

int http_read(struct store *st, const char *url, http_prepare_fn prepare,
	      const struct store_read *rd)
{
	struct http_req req = {
		.method = "GET", .url = url, .off = rd->off, .len = rd->len,
		.pin = rd->pin, .sink = rd->sink, .arg = rd->arg,
	};
	struct http_resp resp;
	int rc;

	rc = http_execute(st, &req, prepare, &resp);
	if (rc == 0 && resp.status == 416)
		rc = 0;		/* asked at or past the end: no bytes */
	else if (rc == 0)
		rc = http_status_errno(resp.status);
	http_resp_free(&resp);
	return rc;
}

struct timespec http_resp_mtime(const struct http_resp *resp)
{
	time_t t = resp->last_modified[0] ? curl.getdate(resp->last_modified, NULL) : 0;

	return (struct timespec){ .tv_sec = t > 0 ? t : 0 };
}

void http_resp_free(struct http_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

char *http_uri_encode(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
		    *p == '~' || (keep_slash && *p == '/')) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}
