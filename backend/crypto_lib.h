/* SPDX-License-Identifier: MIT */
/*
 * crypto_lib.h - libcrypto, opened by the first digest or signature and
 * called through a table.
 *
 * Linked to the shim, libcrypto was mapped and relocated before main in
 * every program started under it, mount or no mount: about 130 page
 * faults and 3 ms of CPU a process on the test VM (/bin/true, getrusage
 * over 300 starts: 1.7 ms of CPU with no library, 4.9 ms with an empty
 * one linked to libcrypto), which a shell script pays for each command.
 * Only a process that hashes or signs now pays, once.  OpenSSL's exit
 * handler, which would tear it down under the uploads that run at exit,
 * is kept out by shim/wrap_atexit.c whoever initialises it first.
 */
#ifndef CLOUDSHIM_CRYPTO_LIB_H
#define CLOUDSHIM_CRYPTO_LIB_H

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* the libcrypto the shim uses (Debian: libssl3), libcurl's too */
#define CRYPTO_SONAME	"libcrypto.so.3"

/* the libcrypto functions used */
#define CRYPTO_LIB_FUNCS(X) \
	X(OPENSSL_init_crypto) X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) \
	X(EVP_DigestInit_ex) X(EVP_DigestUpdate) X(EVP_DigestFinal_ex) X(EVP_Digest) \
	X(EVP_md5) X(EVP_sha256) X(HMAC) X(EVP_EncodeBlock)

struct crypto_lib {
#define X(name) __typeof__(name) *name;
	CRYPTO_LIB_FUNCS(X)
#undef X
};

/* crypto.HMAC(...) and so on, once crypto_lib_load has returned 0 */
extern struct crypto_lib crypto;

/*
 * Opens libcrypto and initialises it without an exit handler, once per
 * process.  0, or -EIO when that failed (said once on stderr).
 */
int crypto_lib_load(void);

#endif
