/* SPDX-License-Identifier: MIT */
/*
 * forward.c - the least an LD_PRELOAD library can do: wrap the four calls
 * of bench/localcalls and pass each straight to the C library through a
 * pointer.  Row 5 of bench/run.sh preloads it beside the shim: what it
 * costs is what interposing itself costs on the machine, the floor under
 * any preloaded wrapper.
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

static int (*real_open)(const char *, int, ...);
static int (*real_fstat)(int, struct stat *);
static ssize_t (*real_read)(int, void *, size_t);
static int (*real_close)(int);

__attribute__((constructor)) static void resolve(void)
{
	real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	real_fstat = (int (*)(int, struct stat *))dlsym(RTLD_NEXT, "fstat");
	real_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return real_open(path, flags, mode);
}

int fstat(int fd, struct stat *st)
{
	return real_fstat(fd, st);
}

ssize_t read(int fd, void *buf, size_t len)
{
	return real_read(fd, buf, len);
}

int close(int fd)
{
	return real_close(fd);
}
