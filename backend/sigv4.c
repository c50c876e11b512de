/* SPDX-License-Identifier: MIT */
/*
 * sigv4.c - AWS Signature Version 4 signing, as a pipeline of small steps.
 *
 * canonical_uri(), canonical_query() and the canonical header helpers
 * append to a growable string (struct sbuf) that carries a sticky error,
 * so builders append freely and the result is checked once.  Hashing and
 * HMAC come from libcrypto (crypto_lib.h, opened by the first of them).
 * Nothing else here logs, reads the clock or keeps state between calls.
 */
#include "backend/sigv4.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/crypto_lib.h"

#define SCOPE_TERMINATOR	"aws4_request"
#define SHA256_LEN		32

/* ---- growable string with a sticky error ------------------------------ */

struct sbuf {
	char *buf;
	size_t len, cap;
	int err;		/* 0, or -ENOMEM once any append failed */
};

static void sb_add(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->err)
		return;
	if (n > SIZE_MAX / 4 - sb->len) {
		sb->err = -ENOMEM;
		return;
	}
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 64;
		char *p;

		while (cap < sb->len + n + 1)
			cap *= 2;
		p = realloc(sb->buf, cap);
		if (!p) {
			sb->err = -ENOMEM;
			return;
		}
		sb->buf = p;
		sb->cap = cap;
	}
	if (n)
		memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

static void sb_puts(struct sbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

static void sb_putc(struct sbuf *sb, char c)
{
	sb_add(sb, &c, 1);
}

static void sb_free(struct sbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

/* Hand the string to the caller, or free it and return the error. */
static int sb_finish(struct sbuf *sb, char **out)
{
	int err;

	sb_add(sb, "", 0);	/* an empty result is still a string */
	err = sb->err ? sb->err : out ? 0 : -EINVAL;
	if (err) {
		sb_free(sb);
		return err;
	}
	*out = sb->buf;
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	return 0;
}

/* ---- percent-encoding --------------------------------------------------- */

#define ENC_KEEP_SLASH	0x1u	/* a literal '/' is a separator: keep it */
#define ENC_DECODE	0x2u	/* input is wire form: decode %XX first */

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == '~';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Append s[0..n) in RFC 3986 form.  With ENC_DECODE a valid %XX is decoded
 * before being re-encoded, so the result does not depend on how the sender
 * chose to escape ("%7e" and "~" sign alike).  A decoded '/' stays %2F: it
 * was data, not a separator.  A stray '%' is data too and becomes %25.
 */
static void sb_encode(struct sbuf *sb, const char *s, size_t n, unsigned how)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int literal = 1;

		if ((how & ENC_DECODE) && c == '%' && i + 2 < n &&
		    hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
			c = (unsigned char)(hex_value(s[i + 1]) << 4 |
					    hex_value(s[i + 2]));
			i += 2;
			literal = 0;
		}
		if (is_unreserved(c) ||
		    (c == '/' && literal && (how & ENC_KEEP_SLASH))) {
			sb_putc(sb, (char)c);
		} else {
			char pct[3] = { '%', hex[c >> 4], hex[c & 0xf] };

			sb_add(sb, pct, sizeof pct);
		}
	}
}

/* ---- canonical URI ------------------------------------------------------ */

/*
 * Generic services sign the path with "." and ".." resolved (RFC 3986
 * section 5.2.4) and empty segments dropped.  A trailing '/' survives, as
 * does the one implied by a final "." or "..".  S3 never does this.
 */
static void normalize_path(struct sbuf *sb, const char *path)
{
	const char *last = strrchr(path, '/');
	int trailing = last && (!strcmp(last, "/") || !strcmp(last, "/.") ||
				!strcmp(last, "/.."));

	for (const char *seg = path; *seg;) {
		size_t n = strcspn(seg, "/");

		if (n == 2 && !memcmp(seg, "..", 2)) {
			while (sb->len > 0 && sb->buf[--sb->len] != '/')
				;
			if (sb->buf)
				sb->buf[sb->len] = '\0';
		} else if (n > 0 && !(n == 1 && seg[0] == '.')) {
			sb_putc(sb, '/');
			sb_add(sb, seg, n);
		}
		seg += n;
		if (*seg == '/')
			seg++;
	}
	if (sb->len == 0 || trailing)
		sb_putc(sb, '/');
}

static void canonical_uri(struct sbuf *out, const char *path, unsigned flags)
{
	struct sbuf norm = { 0 }, once = { 0 };

	if (flags & SIGV4_NORMALIZE_PATH) {
		normalize_path(&norm, path);
		path = norm.err ? "" : norm.buf;
	}
	sb_encode(&once, path, strlen(path), ENC_DECODE | ENC_KEEP_SLASH);
	/* Generic services encode the (already encoded) path once more. */
	if (flags & SIGV4_DOUBLE_ENCODE)
		sb_encode(out, once.buf, once.len, ENC_KEEP_SLASH);
	else
		sb_add(out, once.buf, once.len);
	if (!out->err)
		out->err = norm.err ? norm.err : once.err;
	sb_free(&norm);
	sb_free(&once);
}

/* ---- canonical query ---------------------------------------------------- */

struct qparam {
	char *s;		/* "name=value", both canonically encoded */
	size_t nlen;		/* length of the name part */
};

/* By name, then by value; byte order, as AWS sorts the encoded forms. */
static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
	int c = memcmp(x->s, y->s, n);

	if (c)
		return c;
	if (x->nlen != y->nlen)
		return x->nlen < y->nlen ? -1 : 1;
	return strcmp(x->s + x->nlen, y->s + y->nlen);
}

/* One "name[=value]" piece of the wire query, re-encoded. */
static int qparam_make(struct qparam *qp, const char *p, size_t len)
{
	const char *eq = memchr(p, '=', len);
	struct sbuf sb = { 0 };

	qp->nlen = 0;
	sb_encode(&sb, p, eq ? (size_t)(eq - p) : len, ENC_DECODE);
	qp->nlen = sb.len;
	sb_putc(&sb, '=');	/* a name without '=' gets an empty value */
	if (eq)
		sb_encode(&sb, eq + 1, len - (size_t)(eq - p) - 1, ENC_DECODE);
	qp->s = sb.buf;
	return sb.err;
}

static void canonical_query(struct sbuf *out, const char *q)
{
	size_t cap = 1, n = 0;
	struct qparam *v;
	int err = 0;

	for (const char *p = q; *p; p++)
		cap += *p == '&';
	v = calloc(cap, sizeof *v);
	if (!v) {
		out->err = out->err ? out->err : -ENOMEM;
		return;
	}
	for (const char *p = q; !err && *p; p += *p == '&') {
		size_t len = strcspn(p, "&");

		if (len > 0)	/* "a=1&&b=2": empty pieces are not parameters */
			err = qparam_make(&v[n++], p, len);
		p += len;
	}
	if (!err)
		qsort(v, n, sizeof *v, qparam_cmp);
	for (size_t i = 0; i < n; i++) {
		if (!err) {
			if (i > 0)
				sb_putc(out, '&');
			sb_puts(out, v[i].s);
		}
		free(v[i].s);
	}
	free(v);
	if (err && !out->err)
		out->err = err;
}

/* ---- canonical headers -------------------------------------------------- */

struct chdr {
	char *name;		/* lower case */
	char *value;		/* trimmed, inner whitespace runs folded */
	size_t order;		/* position in the request */
};

static int is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Append s trimmed, with every inner run of whitespace as one space. */
static void sb_folded(struct sbuf *sb, const char *s)
{
	int space = 0;

	while (is_lws(*s))
		s++;
	for (; *s; s++) {
		if (is_lws(*s)) {
			space = 1;
			continue;
		}
		if (space)
			sb_putc(sb, ' ');
		space = 0;
		sb_putc(sb, *s);
	}
}

/* Duplicate names stay in request order: they are joined in that order. */
static int chdr_cmp(const void *a, const void *b)
{
	const struct chdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void chdrs_free(struct chdr *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static int chdrs_make(const struct sigv4_header *hdrs, size_t n,
		      struct chdr **out)
{
	struct chdr *h;

	if (n && !hdrs)
		return -EINVAL;
	h = calloc(n ? n : 1, sizeof *h);
	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct sbuf name = { 0 }, value = { 0 };
		int err = -EINVAL;

		if (hdrs[i].name && hdrs[i].value) {
			sb_folded(&name, hdrs[i].name);
			sb_add(&value, "", 0);	/* an empty value is valid */
			sb_folded(&value, hdrs[i].value);
			err = name.err ? name.err : value.err;
			if (!err && name.len == 0)
				err = -EINVAL;
		}
		h[i] = (struct chdr){ name.buf, value.buf, i };
		if (err) {
			chdrs_free(h, i + 1);
			return err;
		}
		for (char *c = h[i].name; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	}
	qsort(h, n, sizeof *h, chdr_cmp);
	*out = h;
	return 0;
}

/* "name:v1,v2\n" per distinct name. */
static void put_canonical_headers(struct sbuf *sb, const struct chdr *h,
				  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && !strcmp(h[i].name, h[i - 1].name)) {
			sb_putc(sb, ',');
		} else {
			if (i > 0)
				sb_putc(sb, '\n');
			sb_puts(sb, h[i].name);
			sb_putc(sb, ':');
		}
		sb_puts(sb, h[i].value);
	}
	if (n)
		sb_putc(sb, '\n');
}

static void put_signed_headers(struct sbuf *sb, const struct chdr *h,
			       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && !strcmp(h[i].name, h[i - 1].name))
			continue;
		if (i > 0)
			sb_putc(sb, ';');
		sb_puts(sb, h[i].name);
	}
}

/* ---- input checks ------------------------------------------------------- */

static int check_request(const struct sigv4_request *req)
{
	if (!req || !req->method || !*req->method || !req->path ||
	    req->path[0] != '/' || !req->payload_hash || !*req->payload_hash ||
	    (req->nheaders && !req->headers) || (req->flags & ~SIGV4_GENERIC))
		return -EINVAL;
	return 0;
}

/* A scope part ends up between '/' and in a header: keep it plain. */
static int scope_part_ok(const char *s)
{
	return s && *s && s[strcspn(s, "/ \t\r\n")] == '\0';
}

static int check_scope(const struct sigv4_scope *sc)
{
	static const char form[] = "dddddddd" "T" "dddddd" "Z";
	const char *d;

	if (!sc || !(d = sc->amz_date) || strlen(d) != sizeof form - 1 ||
	    !scope_part_ok(sc->region) || !scope_part_ok(sc->service))
		return -EINVAL;
	for (size_t i = 0; i < sizeof form - 1; i++)
		if (form[i] == 'd' ? d[i] < '0' || d[i] > '9' : d[i] != form[i])
			return -EINVAL;
	return 0;
}

static int check_cred(const struct sigv4_credentials *cred)
{
	if (!cred || !scope_part_ok(cred->access_key_id) ||
	    !cred->secret_access_key)
		return -EINVAL;
	return 0;
}

/* Is there a header `name` (and, if value is set, with that value)? */
static int has_header(const struct sigv4_request *req, const char *name,
		      const char *value)
{
	for (size_t i = 0; i < req->nheaders; i++) {
		const char *v = req->headers[i].value;
		size_t n;

		if (!req->headers[i].name || !v ||
		    strcasecmp(req->headers[i].name, name))
			continue;
		if (!value)
			return 1;
		while (is_lws(*v))
			v++;
		n = strlen(value);
		if (!strncmp(v, value, n)) {
			for (v += n; is_lws(*v); v++)
				;
			if (!*v)
				return 1;
		}
	}
	return 0;
}

/* Header signing without these gives a request AWS is sure to reject. */
static int check_header_signing(const struct sigv4_request *req,
				const struct sigv4_scope *sc,
				const struct sigv4_credentials *cred)
{
	if (!has_header(req, "host", NULL) ||
	    !has_header(req, "x-amz-date", sc->amz_date) ||
	    (cred->session_token &&
	     !has_header(req, "x-amz-security-token", cred->session_token)))
		return -EINVAL;
	return 0;
}

/* ---- hashing ------------------------------------------------------------ */

void sigv4_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int hmac_sha256(const void *key, size_t klen, const void *msg,
		       size_t mlen, unsigned char out[SHA256_LEN])
{
	unsigned int n = 0;

	if (klen > INT_MAX)
		return -EINVAL;
	if (crypto_lib_load() ||
	    !crypto.HMAC(crypto.EVP_sha256(), key, (int)klen, msg, mlen, out, &n) ||
	    n != SHA256_LEN)
		return -EIO;
	return 0;
}

int sigv4_sha256_hex(const void *buf, size_t len, char out[SIGV4_HEX_SIZE])
{
	unsigned char md[SHA256_LEN];
	unsigned int n = 0;

	if ((!buf && len) || !out)
		return -EINVAL;
	if (crypto_lib_load() ||
	    crypto.EVP_Digest(buf ? buf : "", len, md, &n, crypto.EVP_sha256(), NULL) != 1 ||
	    n != SHA256_LEN)
		return -EIO;
	sigv4_hex(md, SHA256_LEN, out);
	return 0;
}

/* ---- the steps ---------------------------------------------------------- */

int sigv4_amz_date(time_t t, char out[SIGV4_AMZ_DATE_SIZE])
{
	struct tm tm;

	if (!out)
		return -EINVAL;
	/* "%Y" is four digits only for these years. */
	if (!gmtime_r(&t, &tm) || tm.tm_year < 1000 - 1900 ||
	    tm.tm_year > 9999 - 1900)
		return -EOVERFLOW;
	if (strftime(out, SIGV4_AMZ_DATE_SIZE, "%Y%m%dT%H%M%SZ", &tm) !=
	    SIGV4_AMZ_DATE_SIZE - 1)
		return -EOVERFLOW;
	return 0;
}

int sigv4_uri_encode(const char *s, size_t len, int keep_slash, char **out)
{
	struct sbuf sb = { 0 };

	if (!s && len)
		return -EINVAL;
	sb_encode(&sb, s, len, keep_slash ? ENC_KEEP_SLASH : 0);
	return sb_finish(&sb, out);
}

int sigv4_signed_headers(const struct sigv4_header *headers, size_t n,
			 char **out)
{
	struct sbuf sb = { 0 };
	struct chdr *h;
	int err = chdrs_make(headers, n, &h);

	if (err)
		return err;
	put_signed_headers(&sb, h, n);
	chdrs_free(h, n);
	return sb_finish(&sb, out);
}

/* Canonical request into creq, and the signed header list if asked. */
static int build_canonical(const struct sigv4_request *req,
			   struct sbuf *creq, struct sbuf *signed_headers)
{
	struct chdr *h;
	int err = check_request(req);

	if (!err)
		err = chdrs_make(req->headers, req->nheaders, &h);
	if (err)
		return err;
	sb_puts(creq, req->method);
	sb_putc(creq, '\n');
	canonical_uri(creq, req->path, req->flags);
	sb_putc(creq, '\n');
	canonical_query(creq, req->query ? req->query : "");
	sb_putc(creq, '\n');
	put_canonical_headers(creq, h, req->nheaders);
	sb_putc(creq, '\n');
	put_signed_headers(creq, h, req->nheaders);
	sb_putc(creq, '\n');
	sb_puts(creq, req->payload_hash);
	if (signed_headers)
		put_signed_headers(signed_headers, h, req->nheaders);
	chdrs_free(h, req->nheaders);
	if (creq->err)
		return creq->err;
	return signed_headers ? signed_headers->err : 0;
}

int sigv4_canonical_request(const struct sigv4_request *req, char **out)
{
	struct sbuf sb = { 0 };
	int err = build_canonical(req, &sb, NULL);

	if (err) {
		sb_free(&sb);
		return err;
	}
	return sb_finish(&sb, out);
}

static void put_scope(struct sbuf *sb, const struct sigv4_scope *sc)
{
	sb_add(sb, sc->amz_date, 8);
	sb_putc(sb, '/');
	sb_puts(sb, sc->region);
	sb_putc(sb, '/');
	sb_puts(sb, sc->service);
	sb_puts(sb, "/" SCOPE_TERMINATOR);
}

int sigv4_credential_scope(const struct sigv4_scope *sc, char **out)
{
	struct sbuf sb = { 0 };
	int err = check_scope(sc);

	if (err)
		return err;
	put_scope(&sb, sc);
	return sb_finish(&sb, out);
}

int sigv4_string_to_sign(const struct sigv4_scope *sc, const char *creq,
			 char **out)
{
	struct sbuf sb = { 0 };
	char hash[SIGV4_HEX_SIZE];
	int err = creq ? check_scope(sc) : -EINVAL;

	if (!err)
		err = sigv4_sha256_hex(creq, strlen(creq), hash);
	if (err)
		return err;
	sb_puts(&sb, SIGV4_ALGORITHM "\n");
	sb_puts(&sb, sc->amz_date);
	sb_putc(&sb, '\n');
	put_scope(&sb, sc);
	sb_putc(&sb, '\n');
	sb_puts(&sb, hash);
	return sb_finish(&sb, out);
}

int sigv4_signing_key(const char *secret_access_key,
		      const struct sigv4_scope *sc,
		      unsigned char key[SIGV4_KEY_SIZE])
{
	unsigned char a[SHA256_LEN], b[SHA256_LEN];
	const char *part[3];
	size_t slen;
	char *k0;
	int err = secret_access_key && key ? check_scope(sc) : -EINVAL;

	if (err)
		return err;
	/* kDate = HMAC("AWS4" + secret, yyyymmdd), built off the realloc path
	 * so that no stray copy of the secret is left in freed memory. */
	slen = strlen(secret_access_key);
	k0 = malloc(slen + 5);
	if (!k0)
		return -ENOMEM;
	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, secret_access_key, slen + 1);
	err = hmac_sha256(k0, slen + 4, sc->amz_date, 8, a);
	explicit_bzero(k0, slen + 4);
	free(k0);

	/* kRegion, kService, kSigning: each keyed by the one before. */
	part[0] = sc->region;
	part[1] = sc->service;
	part[2] = SCOPE_TERMINATOR;
	for (size_t i = 0; !err && i < 3; i++) {
		err = hmac_sha256(a, sizeof a, part[i], strlen(part[i]), b);
		memcpy(a, b, sizeof a);
	}
	if (!err)
		memcpy(key, a, SIGV4_KEY_SIZE);
	explicit_bzero(a, sizeof a);
	explicit_bzero(b, sizeof b);
	return err;
}

int sigv4_signature(const unsigned char key[SIGV4_KEY_SIZE], const char *sts,
		    char out[SIGV4_HEX_SIZE])
{
	unsigned char mac[SHA256_LEN];
	int err = key && sts && out ? 0 : -EINVAL;

	if (!err)
		err = hmac_sha256(key, SIGV4_KEY_SIZE, sts, strlen(sts), mac);
	if (!err)
		sigv4_hex(mac, sizeof mac, out);
	return err;
}

/* Steps 2 to 4 over a finished canonical request. */
static int sign_canonical(const char *creq, const struct sigv4_scope *sc,
			  const char *secret, char sig[SIGV4_HEX_SIZE])
{
	unsigned char key[SIGV4_KEY_SIZE];
	char *sts = NULL;
	int err = sigv4_string_to_sign(sc, creq, &sts);

	if (!err)
		err = sigv4_signing_key(secret, sc, key);
	if (!err)
		err = sigv4_signature(key, sts, sig);
	explicit_bzero(key, sizeof key);
	free(sts);
	return err;
}

int sigv4_authorization(const struct sigv4_request *req,
			const struct sigv4_scope *sc,
			const struct sigv4_credentials *cred, char **out)
{
	struct sbuf creq = { 0 }, sh = { 0 }, auth = { 0 };
	char sig[SIGV4_HEX_SIZE];
	int err = check_cred(cred);

	if (!err)
		err = check_request(req);
	if (!err)
		err = check_scope(sc);
	if (!err)
		err = check_header_signing(req, sc, cred);
	if (!err)
		err = build_canonical(req, &creq, &sh);
	if (!err)
		err = sign_canonical(creq.buf, sc, cred->secret_access_key, sig);
	if (!err) {
		sb_puts(&auth, SIGV4_ALGORITHM " Credential=");
		sb_puts(&auth, cred->access_key_id);
		sb_putc(&auth, '/');
		put_scope(&auth, sc);
		sb_puts(&auth, ", SignedHeaders=");
		sb_add(&auth, sh.buf, sh.len);
		sb_puts(&auth, ", Signature=");
		sb_puts(&auth, sig);
		err = sb_finish(&auth, out);
	}
	sb_free(&creq);
	sb_free(&sh);
	return err;
}

int sigv4_presign_params(const struct sigv4_request *req,
			 const struct sigv4_scope *sc,
			 const struct sigv4_credentials *cred,
			 unsigned expires, char **out)
{
	struct sbuf p = { 0 }, cr = { 0 };
	char *sh = NULL, num[16];
	int err = check_cred(cred);

	if (!err)
		err = req ? check_scope(sc) : -EINVAL;
	if (!err && (expires < 1 || expires > SIGV4_MAX_EXPIRES))
		err = -EINVAL;
	if (!err)
		err = sigv4_signed_headers(req->headers, req->nheaders, &sh);
	if (err)
		return err;
	sb_puts(&cr, cred->access_key_id);
	sb_putc(&cr, '/');
	put_scope(&cr, sc);
	snprintf(num, sizeof num, "%u", expires);

	sb_puts(&p, "X-Amz-Algorithm=" SIGV4_ALGORITHM "&X-Amz-Credential=");
	sb_encode(&p, cr.buf, cr.len, 0);
	sb_puts(&p, "&X-Amz-Date=");
	sb_puts(&p, sc->amz_date);
	sb_puts(&p, "&X-Amz-Expires=");
	sb_puts(&p, num);
	sb_puts(&p, "&X-Amz-SignedHeaders=");
	sb_encode(&p, sh, strlen(sh), 0);
	if (cred->session_token) {
		sb_puts(&p, "&X-Amz-Security-Token=");
		sb_encode(&p, cred->session_token,
			  strlen(cred->session_token), 0);
	}
	if (cr.err && !p.err)
		p.err = cr.err;
	sb_free(&cr);
	free(sh);
	return sb_finish(&p, out);
}

int sigv4_presign(const struct sigv4_request *req,
		  const struct sigv4_scope *sc,
		  const struct sigv4_credentials *cred, unsigned expires,
		  char **out)
{
	struct sbuf q = { 0 }, creq = { 0 };
	struct sigv4_request signed_req;
	char sig[SIGV4_HEX_SIZE], *params = NULL;
	int err = sigv4_presign_params(req, sc, cred, expires, &params);

	if (err)
		return err;
	/* The URL's own parameters plus ours; canonicalizing sorts them. */
	if (req->query && *req->query) {
		sb_puts(&q, req->query);
		sb_putc(&q, '&');
	}
	sb_puts(&q, params);
	free(params);
	err = q.err;
	if (!err) {
		signed_req = *req;
		signed_req.query = q.buf;
		err = build_canonical(&signed_req, &creq, NULL);
	}
	if (!err)
		err = sign_canonical(creq.buf, sc, cred->secret_access_key, sig);
	sb_free(&creq);
	if (err) {
		sb_free(&q);
		return err;
	}
	sb_puts(&q, "&X-Amz-Signature=");
	sb_puts(&q, sig);
	return sb_finish(&q, out);
}
