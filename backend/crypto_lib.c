/* SPDX-License-Identifier: MIT */
/*
 * crypto_lib.c - opens libcrypto at first use (see crypto_lib.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include "backend/crypto_lib.h"
#include "backend/log.h"

struct crypto_lib crypto;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_rc = -EIO;

static void load(void)
{
	struct crypto_lib c;
	void *lib = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		log_error("cannot load %s (%s): no request can be signed, no upload checked",
			  CRYPTO_SONAME, dlerror());
		return;
	}
#define X(name) \
	if (!(c.name = (__typeof__(c.name))dlsym(lib, #name))) { \
		log_error("%s has no %s: no request can be signed, no upload checked", \
			  CRYPTO_SONAME, #name); \
		return; \
	}
	CRYPTO_LIB_FUNCS(X)
#undef X
	/* uploads run at exit, after any handler OpenSSL would register */
	if (!c.OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL)) {
		log_error("OPENSSL_init_crypto failed: no request can be signed, no upload checked");
		return;
	}
	crypto = c;
	load_rc = 0;
}

int crypto_lib_load(void)
{
	pthread_once(&once, load);
	return load_rc;
}
