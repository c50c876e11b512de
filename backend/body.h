/* SPDX-License-Identifier: MIT */
/*
 * body.h - reading a request body (struct store_body, store.h) and the
 * digests (Content-MD5, or the signed SHA-256) that let a store refuse a
 * body corrupted on the way.
 */
#ifndef CLOUDSHIM_BODY_H
#define CLOUDSHIM_BODY_H

#include <sys/types.h>

#include "backend/store.h"

#define BODY_MD5_SIZE	25	/* base64 of 16 bytes, and NUL */
#define BODY_SHA256_SIZE	32	/* the digest's bytes */

/*
 * Up to n bytes of the body from pos (0 is its first byte) into buf: the
 * count, 0 at its end, -EIO when the descriptor ends before the body does,
 * or the -errno of pread.
 */
ssize_t body_read(const struct store_body *b, off_t pos, void *buf, size_t n);

/* The Content-MD5 header value of the body, read once with pread. */
int body_md5(const struct store_body *b, char out[BODY_MD5_SIZE]);

/* The SHA-256 of the body, the same way. */
int body_sha256(const struct store_body *b, unsigned char out[BODY_SHA256_SIZE]);

/* The Content-MD5 of len bytes in memory. */
int mem_md5(const void *data, size_t len, char out[BODY_MD5_SIZE]);

/* 1 when this CPU has SHA-256 instructions (x86 SHA, Arm SHA2). */
int body_sha256_in_hardware(void);

/*
 * The digest a body goes with under the checksum setting: STORE_SUM_MD5
 * or STORE_SUM_SHA256.  A SHA-256 must be signed to mean anything, so an
 * unsigned request always gets MD5; "auto" takes SHA-256 where the CPU
 * computes it faster than MD5, which is where it has the instructions.
 */
enum store_checksum body_checksum_pick(enum store_checksum setting, int signed_request);

#endif
