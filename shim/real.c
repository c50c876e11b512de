/* SPDX-License-Identifier: MIT */
/*
 * real.c - lazy, re-entry-safe resolution of the C library's functions.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>

#include "shim/guard.h"
#include "shim/rawsys.h"
#include "shim/real.h"

__thread int shim_guard_depth __attribute__((tls_model("initial-exec")));
__thread int shim_worker __attribute__((tls_model("initial-exec")));
static __thread int resolving __attribute__((tls_model("initial-exec")));

static long missing(void)
{
	errno = ENOSYS;
	return -1;
}

/* Used only while dlsym itself is running on this thread. */
static int raw_open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	return (int)raw_syscall_errno(SYS_openat, AT_FDCWD, (long)path, flags, mode, 0, 0);
}

static ssize_t raw_read(int fd, void *buf, size_t n)
{
	return raw_syscall_errno(SYS_read, fd, (long)buf, (long)n, 0, 0, 0);
}

static ssize_t raw_write(int fd, const void *buf, size_t n)
{
	return raw_syscall_errno(SYS_write, fd, (long)buf, (long)n, 0, 0, 0);
}

static int raw_close(int fd)
{
	return (int)raw_syscall_errno(SYS_close, fd, 0, 0, 0, 0, 0);
}

static int raw_fstat(int fd, struct stat *sb)
{
	return (int)raw_syscall_errno(SYS_fstat, fd, (long)sb, 0, 0, 0, 0);
}

static const struct {
	const char *name;
	void *fn;
} raw_fallbacks[] = {
	{ "open", (void *)raw_open },
	{ "open64", (void *)raw_open },
	{ "read", (void *)raw_read },
	{ "write", (void *)raw_write },
	{ "close", (void *)raw_close },
	{ "fstat", (void *)raw_fstat },
	{ "fstat64", (void *)raw_fstat },
};

static void *fallback_for(const char *name)
{
	for (size_t i = 0; i < sizeof(raw_fallbacks) / sizeof(raw_fallbacks[0]); i++)
		if (strcmp(raw_fallbacks[i].name, name) == 0)
			return raw_fallbacks[i].fn;
	return (void *)missing;
}

/* Returns the function and whether it may be kept for good. */
static void *resolve(const char *name, int *keep)
{
	void *f;

	*keep = !resolving;
	if (resolving)
		return fallback_for(name);
	resolving = 1;
	f = dlsym(RTLD_NEXT, name);
	resolving = 0;
	return f ? f : (void *)missing;
}

#define X(ret, name, args) \
	real_##name##_fn real_##name##_ptr; \
	real_##name##_fn real_##name##_resolve(void) \
	{ \
		int keep; \
		real_##name##_fn f = (real_##name##_fn)resolve(#name, &keep); \
		if (keep) \
			__atomic_store_n(&real_##name##_ptr, f, __ATOMIC_RELEASE); \
		return f; \
	}
REAL_FUNCS(X)
#undef X
