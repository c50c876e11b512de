/* SPDX-License-Identifier: MIT */
/*
 * curl_lib.c - opens libcurl at first use (see curl_lib.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include "backend/crypto_lib.h"
#include "backend/curl_lib.h"
#include "backend/log.h"

/* the soname of libcurl built against OpenSSL (Debian: libcurl4) */
#define CURL_SONAME	"libcurl.so.4"

struct curl_lib curl;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_rc = -EIO;

static void load(void)
{
	struct curl_lib c;
	void *lib;

	/*
	 * libcurl's OpenSSL would register its exit handler, which tears
	 * OpenSSL down before the uploads that run at exit: initialised
	 * first, without one (shim/wrap_atexit.c drops it in any case).
	 */
	if (crypto_lib_load())
		return;
	lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		log_error("cannot load %s (%s): no request can be made", CURL_SONAME, dlerror());
		return;
	}
#define X(name) \
	if (!(c.name = (__typeof__(c.name))dlsym(lib, "curl_" #name))) { \
		log_error("%s has no curl_%s: no request can be made", CURL_SONAME, #name); \
		return; \
	}
	CURL_LIB_FUNCS(X)
#undef X
	if (c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("curl_global_init failed: no request can be made");
		return;
	}
	curl = c;
	load_rc = 0;
}

int curl_lib_load(void)
{
	pthread_once(&once, load);
	return load_rc;
}
