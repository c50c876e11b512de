/* SPDX-License-Identifier: MIT */
/*
 * body.c - request bodies are read with pread, never whole into memory,
 * so a retry reads them again from the descriptor and many requests can
 * read one staged file at once.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include "backend/body.h"
#include "backend/crypto_lib.h"

#define CHUNK	(256u << 10)

ssize_t body_read(const struct store_body *b, off_t pos, void *buf, size_t n)
{
	ssize_t got;

	if (pos >= b->len || n == 0)
		return 0;
	if ((off_t)n > b->len - pos)
		n = (size_t)(b->len - pos);
	do
		got = pread(b->fd, buf, n, b->off + pos);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	return got ? got : -EIO;	/* the file is shorter than the body */
}

static void to_base64(const unsigned char *md, char out[BODY_MD5_SIZE])
{
	crypto.EVP_EncodeBlock((unsigned char *)out, md, 16);
}

/* The digest md of the body into out (*outlen bytes), read once with pread. */
static int body_digest(const struct store_body *b, const EVP_MD *md, unsigned char *out,
		       unsigned *outlen)
{
	EVP_MD_CTX *ctx = crypto.EVP_MD_CTX_new();
	char *buf = malloc(CHUNK);
	off_t pos = 0;
	int rc = 0;

	if (!ctx || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	if (!crypto.EVP_DigestInit_ex(ctx, md, NULL)) {
		rc = -EIO;
		goto out;
	}
	while (pos < b->len) {
		ssize_t n = body_read(b, pos, buf, CHUNK);

		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		if (!crypto.EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			rc = -EIO;
			goto out;
		}
		pos += n;
	}
	if (!crypto.EVP_DigestFinal_ex(ctx, out, outlen))
		rc = -EIO;
out:
	free(buf);
	crypto.EVP_MD_CTX_free(ctx);
	return rc;
}

int body_md5(const struct store_body *b, char out[BODY_MD5_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	int rc = crypto_lib_load();

	if (rc == 0)
		rc = body_digest(b, crypto.EVP_md5(), md, NULL);
	if (rc == 0)
		to_base64(md, out);
	return rc;
}

int body_sha256(const struct store_body *b, unsigned char out[BODY_SHA256_SIZE])
{
	int rc = crypto_lib_load();

	return rc ? rc : body_digest(b, crypto.EVP_sha256(), out, NULL);
}

int mem_md5(const void *data, size_t len, char out[BODY_MD5_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];

	if (crypto_lib_load() || !crypto.EVP_Digest(data, len, md, NULL, crypto.EVP_md5(), NULL))
		return -EIO;
	to_base64(md, out);
	return 0;
}

static int sha256_instructions(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;

	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
#elif defined(__aarch64__)
	return (getauxval(AT_HWCAP) & HWCAP_SHA2) != 0;
#else
	return 0;
#endif
}

int body_sha256_in_hardware(void)
{
	static atomic_int known = -1;	/* cpuid leaves a virtual machine: ask once */
	int has = atomic_load_explicit(&known, memory_order_relaxed);

	if (has < 0) {
		has = sha256_instructions();
		atomic_store_explicit(&known, has, memory_order_relaxed);
	}
	return has;
}

enum store_checksum body_checksum_pick(enum store_checksum setting, int signed_request)
{
	if (!signed_request || setting == STORE_SUM_MD5)
		return STORE_SUM_MD5;
	if (setting == STORE_SUM_SHA256 || body_sha256_in_hardware())
		return STORE_SUM_SHA256;
	return STORE_SUM_MD5;
}
