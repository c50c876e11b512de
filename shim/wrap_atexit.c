/* SPDX-License-Identifier: MIT */
/*
 * wrap_atexit.c - keeps OpenSSL's exit handler out.
 *
 * At exit a process uploads what it wrote (staged_exit, registered first
 * so that it runs last), on threads that need libcrypto for Content-MD5,
 * SigV4 and TLS.  OpenSSL registers OPENSSL_cleanup with atexit the first
 * time it is initialised without OPENSSL_INIT_NO_ATEXIT, which the shim
 * never does but a program may, before the shim first needs libcrypto
 * (Python's hashlib and ssl): registered after the shim's handler, it
 * would run before it and free what the uploads still use.
 * atexit in a shared library is __cxa_atexit with that library's
 * __dso_handle, so the registration is recognised here and dropped:
 * OpenSSL stays up until the process ends, which no program can tell.
 * This is what lets libcrypto load at first use (backend/crypto_lib.h).
 *
 * ThreadSanitizer's runtime calls __cxa_atexit while it sets itself up,
 * before instrumented code may run: this file is built without that
 * instrumentation (Makefile), and finds the next __cxa_atexit itself
 * rather than through REAL, whose code is instrumented.
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "backend/crypto_lib.h"
#include "shim/wrap.h"

#define KNOWN_MAX 64	/* libraries remembered; beyond, each call looks again */

typedef void (*exit_handler_fn)(void *);
typedef int (*cxa_atexit_fn)(exit_handler_fn, void *, void *);

static cxa_atexit_fn next_cxa_atexit;

/* each library that registered a handler, and whether it is libcrypto */
static struct {
	const void *dso;
	int crypto;
} known[KNOWN_MAX];
static int nknown;
static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;

struct lookup {
	uintptr_t addr;
	const char *name;	/* the library addr lies in */
};

static int find_library(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct lookup *l = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && l->addr - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz) {
			l->name = info->dlpi_name;
			return 1;
		}
	}
	return 0;
}

/*
 * Whether dso (a library's __dso_handle) is libcrypto's.  By the loaded
 * objects' address ranges, not dladdr or dlopen: no symbol table search
 * for the C++ libraries that register many destructors, and no loader
 * lock taken inside OpenSSL's initialisation, which a constructor of a
 * library being loaded may be waiting for.
 */
static int is_libcrypto(const void *dso)
{
	struct lookup l = { (uintptr_t)dso, NULL };
	const char *base;

	if (!dl_iterate_phdr(find_library, &l) || !l.name)
		return 0;
	base = strrchr(l.name, '/');
	return strcmp(base ? base + 1 : l.name, CRYPTO_SONAME) == 0;
}

/* The handler is libcrypto's: OPENSSL_cleanup, the one it registers (one atexit call site). */
static int from_libcrypto(const void *dso)
{
	int i, is_crypto;

	pthread_mutex_lock(&known_lock);
	for (i = 0; i < nknown && known[i].dso != dso; i++)
		;
	if (i < nknown) {
		is_crypto = known[i].crypto;
	} else {
		is_crypto = is_libcrypto(dso);
		if (nknown < KNOWN_MAX)
			known[nknown++] = (__typeof__(known[0])){ dso, is_crypto };
	}
	pthread_mutex_unlock(&known_lock);
	return is_crypto;
}

EXPORT int __cxa_atexit(exit_handler_fn fn, void *arg, void *dso)
{
	cxa_atexit_fn next = __atomic_load_n(&next_cxa_atexit, __ATOMIC_ACQUIRE);

	if (dso && from_libcrypto(dso))
		return 0;	/* registered, as far as OpenSSL can tell */
	if (!next) {
		next = (cxa_atexit_fn)dlsym(RTLD_NEXT, "__cxa_atexit");
		if (!next)
			return -1;
		__atomic_store_n(&next_cxa_atexit, next, __ATOMIC_RELEASE);
	}
	return next(fn, arg, dso);
}
