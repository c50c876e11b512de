/* SPDX-License-Identifier: MIT */
/*
 * wrap_syscall.c - syscall(2), for the file calls programs make through it
 * directly: getdents64, statx, and the common ones (openat, read, pread64,
 * readv, lseek, fstat, newfstatat, close) when they name a mounted path or
 * descriptor, which then take the same way as the C library's functions.
 * Every other call goes to the kernel as it came, without the C library.
 */
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "shim/rawsys.h"
#include "shim/wrap.h"

static int mounted_path(int dirfd, const char *path)
{
	char buf[PATH_MAX];
	const char *key;

	return route(dirfd, path, buf, &key) != NULL;
}

EXPORT long syscall(long n, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);

	if (!guard_busy() && fdtab_has((int)a[0])) {
		switch (n) {
		case SYS_read:
			return read((int)a[0], (void *)a[1], (size_t)a[2]);
		case SYS_pread64:
			return pread64((int)a[0], (void *)a[1], (size_t)a[2], a[3]);
		case SYS_readv:
			return readv((int)a[0], (const struct iovec *)a[1], (int)a[2]);
		case SYS_lseek:
			return lseek64((int)a[0], a[1], (int)a[2]);
		case SYS_fstat:
			return fstat((int)a[0], (struct stat *)a[1]);
		case SYS_close:
			return close((int)a[0]);
		}
	}
	if (n == SYS_openat && mounted_path((int)a[0], (const char *)a[1]))
		return openat((int)a[0], (const char *)a[1], (int)a[2], (mode_t)a[3]);
	if (n == SYS_newfstatat && mounted_path((int)a[0], (const char *)a[1]))
		return fstatat((int)a[0], (const char *)a[1], (struct stat *)a[2], (int)a[3]);
	if (n == SYS_getdents64) {
		struct vfile *vf = vfile_get((int)a[0]);
		ssize_t rc;

		if (vf) {
			guard_enter();
			rc = vf->kind == VFILE_DIR ? vfile_getdents(vf, (void *)a[1], (size_t)a[2])
						   : -ENOTDIR;
			vfile_put(vf);
			guard_leave();
			return ret_or_fail(rc);
		}
	} else if (n == SYS_statx) {
		int handled, rc = shim_statx((int)a[0], (const char *)a[1], (int)a[2],
					     (unsigned)a[3], (struct statx *)a[4], &handled);

		if (handled)
			return rc;
	}
	return raw_syscall_errno(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
