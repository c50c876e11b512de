/* SPDX-License-Identifier: MIT */
/*
 * sigv4.h - AWS Signature Version 4 (AWS4-HMAC-SHA256) request signing.
 *
 * Pure functions over caller-owned inputs: no global state, no clock (the
 * time comes in as an "amz_date"), no logging.  Each step of the algorithm
 * is exposed so tests can check it on its own:
 *
 *   canonical request -> string to sign -> signature (with the signing key)
 *
 * and two conveniences run the whole pipeline: sigv4_authorization() for
 * the Authorization header, sigv4_presign() for a presigned URL's query.
 *
 * Conventions: functions return 0 or a negative errno (-EINVAL for bad
 * input, -ENOMEM, -EIO when libcrypto fails) and never touch errno.  A
 * "char **out" result is a NUL-terminated heap string the caller frees with
 * free(); on error *out is left untouched.  Fixed-size results go into
 * caller buffers whose size is given by the SIGV4_*_SIZE constants.
 *
 * Secrets: the secret key and the signing key are wiped from every buffer
 * this module allocates before it is freed.  Treat the signing key buffer
 * you pass in the same way (explicit_bzero).
 */
#ifndef CLOUDSHIM_SIGV4_H
#define CLOUDSHIM_SIGV4_H

#include <stddef.h>
#include <time.h>

#define SIGV4_ALGORITHM		"AWS4-HMAC-SHA256"
/* Payload hash for a body that is not hashed (S3 streaming, presigned URLs). */
#define SIGV4_UNSIGNED_PAYLOAD	"UNSIGNED-PAYLOAD"
/* sigv4_sha256_hex("", 0): the payload hash of an empty body. */
#define SIGV4_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define SIGV4_HEX_SIZE		65	/* 64 hex digits + NUL */
#define SIGV4_KEY_SIZE		32	/* raw HMAC-SHA256 signing key */
#define SIGV4_AMZ_DATE_SIZE	17	/* "YYYYMMDDTHHMMSSZ" + NUL */
#define SIGV4_MAX_EXPIRES	604800	/* 7 days: S3's limit for presigning */

/*
 * Canonical URI rules (sigv4_request.flags).  0 is the S3 rule, which is
 * what production uses: the path is taken as sent, encoded once, never
 * normalized ("a//b/../c" is a valid key).  Other AWS services normalize
 * the path and then percent-encode the already-encoded path a second time.
 */
#define SIGV4_NORMALIZE_PATH	0x1u	/* drop "." and "..", merge "//" */
#define SIGV4_DOUBLE_ENCODE	0x2u	/* encode the wire path again */
#define SIGV4_S3		0x0u
#define SIGV4_GENERIC		(SIGV4_NORMALIZE_PATH | SIGV4_DOUBLE_ENCODE)

/* One request header: any case, value untrimmed; names may repeat. */
struct sigv4_header {
	const char *name;
	const char *value;
};

/*
 * The request to sign.  Every header given is signed.  path and query are
 * in their wire form (percent-encoded, query without the '?'); the signer
 * re-encodes them canonically, so "%7e" and "~" sign alike and a raw byte
 * that should have been escaped is escaped.
 */
struct sigv4_request {
	const char *method;		/* "GET" */
	const char *path;		/* "/bucket/my%20key"; must start with '/' */
	const char *query;		/* "list-type=2&prefix=a"; NULL or "" if none */
	const struct sigv4_header *headers;
	size_t nheaders;
	const char *payload_hash;	/* 64 hex digits or SIGV4_UNSIGNED_PAYLOAD */
	unsigned flags;			/* SIGV4_S3 or SIGV4_* bits above */
};

/* Time and credential scope: "<date>/<region>/<service>/aws4_request". */
struct sigv4_scope {
	const char *amz_date;		/* "20150830T123600Z" (UTC) */
	const char *region;		/* "us-east-1" */
	const char *service;		/* "s3" */
};

struct sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;	/* NULL for long-term keys */
};

/* Format t (UTC) as "YYYYMMDDTHHMMSSZ".  -EOVERFLOW outside years 1000-9999. */
int sigv4_amz_date(time_t t, char out[SIGV4_AMZ_DATE_SIZE]);

/* in[0..n) as lower-case hex into out (2n digits and a NUL). */
void sigv4_hex(const unsigned char *in, size_t n, char *out);

/* Lower-case hex SHA-256 of buf[0..len): the x-amz-content-sha256 value. */
int sigv4_sha256_hex(const void *buf, size_t len, char out[SIGV4_HEX_SIZE]);

/*
 * Percent-encode raw bytes the SigV4 way: A-Z a-z 0-9 - _ . ~ kept, every
 * other byte as %XX (upper case); '/' kept too when keep_slash is set.
 * This is how an S3 object key should be put on the wire.
 */
int sigv4_uri_encode(const char *s, size_t len, int keep_slash, char **out);

/* "host;x-amz-date;...": the sorted, de-duplicated, lower-case names. */
int sigv4_signed_headers(const struct sigv4_header *headers, size_t n,
			 char **out);

/* Step 1: the canonical request, exactly the bytes that get hashed. */
int sigv4_canonical_request(const struct sigv4_request *req, char **out);

/* "20150830/us-east-1/service/aws4_request" */
int sigv4_credential_scope(const struct sigv4_scope *sc, char **out);

/* Step 2: "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(creq)>". */
int sigv4_string_to_sign(const struct sigv4_scope *sc, const char *creq,
			 char **out);

/* Step 3: HMAC chain over "AWS4"+secret, date, region, service. */
int sigv4_signing_key(const char *secret_access_key,
		      const struct sigv4_scope *sc,
		      unsigned char key[SIGV4_KEY_SIZE]);

/* Step 4: hex HMAC-SHA256(key, string to sign). */
int sigv4_signature(const unsigned char key[SIGV4_KEY_SIZE], const char *sts,
		    char out[SIGV4_HEX_SIZE]);

/*
 * Header signing: the full Authorization header value,
 * "AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=..., Signature=...".
 * The caller puts the headers on the request and lists them in req: "host"
 * and "x-amz-date" (equal to sc->amz_date) are required; S3 also wants
 * "x-amz-content-sha256" (= payload_hash).  If cred->session_token is set,
 * an "x-amz-security-token" header with that value must be among them, so
 * the token is signed; to add a token after signing, pass it as NULL here.
 * Missing or mismatched required headers give -EINVAL.
 */
int sigv4_authorization(const struct sigv4_request *req,
			const struct sigv4_scope *sc,
			const struct sigv4_credentials *cred, char **out);

/*
 * Query signing, step 0: the X-Amz-Algorithm, -Credential, -Date, -Expires,
 * -SignedHeaders (from req->headers) and, with a session token,
 * -Security-Token parameters, encoded and joined with '&'.  Appended to the
 * request's own query they form the query that gets canonicalized.
 * expires is in seconds, 1..SIGV4_MAX_EXPIRES.
 */
int sigv4_presign_params(const struct sigv4_request *req,
			 const struct sigv4_scope *sc,
			 const struct sigv4_credentials *cred,
			 unsigned expires, char **out);

/*
 * Query signing: the query string to send (no '?'): req->query as given,
 * the sigv4_presign_params() parameters, then X-Amz-Signature.  req->headers
 * lists the headers the URL's user must send ("host" at least); for S3 use
 * payload_hash = SIGV4_UNSIGNED_PAYLOAD.
 */
int sigv4_presign(const struct sigv4_request *req,
		  const struct sigv4_scope *sc,
		  const struct sigv4_credentials *cred, unsigned expires,
		  char **out);

#endif /* CLOUDSHIM_SIGV4_H */
