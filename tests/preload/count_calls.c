/* SPDX-License-Identifier: MIT */
/*
 * count_calls.c - test-only preload, first in LD_PRELOAD: counts the calls
 * of malloc, calloc, realloc, free and pthread_mutex_lock made by anyone
 * (the shim included), for tests/tools/mmapfast.c to see that the shim's
 * mmap takes no lock and allocates nothing outside its mounts.
 */
#define _GNU_SOURCE

#define _GNU_SOURCE

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void __libc_free(void *);

atomic_long count_allocs, count_locks;

void *malloc(size_t n)
{
	atomic_fetch_add_explicit(&count_allocs, 1, memory_order_relaxed);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	atomic_fetch_add_explicit(&count_allocs, 1, memory_order_relaxed);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	atomic_fetch_add_explicit(&count_allocs, 1, memory_order_relaxed);
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p)
		atomic_fetch_add_explicit(&count_allocs, 1, memory_order_relaxed);
	__libc_free(p);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	static int (*real)(pthread_mutex_t *);

	atomic_fetch_add_explicit(&count_locks, 1, memory_order_relaxed);
	if (!real)
		real = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
	return real(m);
}
