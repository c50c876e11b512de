/* SPDX-License-Identifier: MIT */
/*
 * wrap_syscall.c - syscall(2), for the file calls programs make through it
 * directly.  A call that names a mounted path or descriptor takes the same
 * way as the C library's function would (getdents64 and statx included);
 * one that would reach the placeholder behind a mounted descriptor and
 * cannot be served fails with ENOTSUP, never with the placeholder's bytes.
 * Every other call goes to the kernel as it came, without the C library.
 */
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "shim/rawsys.h"
#include "shim/wrap.h"

static int mounted_fd(long fd)
{
	return fd >= 0 && fd <= INT32_MAX && fdtab_has((int)fd);
}

/* openat2 as openat when it asks nothing openat cannot do. */
static long openat2_mounted(int dirfd, const char *path, const struct open_how *how, size_t size)
{
	if (size < sizeof(*how) || how->resolve)
		return fail(-ENOTSUP);
	return openat(dirfd, path, (int)how->flags, (mode_t)how->mode);
}

/* A call whose descriptor is its first argument, fd mounted: 1 with *rc when handled. */
static int by_fd(long n, const long *a, long *rc)
{
	int fd = (int)a[0];

	switch (n) {
	case SYS_read:
		*rc = read(fd, (void *)a[1], (size_t)a[2]);
		return 1;
	case SYS_pread64:
		*rc = pread64(fd, (void *)a[1], (size_t)a[2], a[3]);
		return 1;
	case SYS_readv:
		*rc = readv(fd, (const struct iovec *)a[1], (int)a[2]);
		return 1;
	case SYS_preadv:	/* the offset's high half (a[4]) is 0 on 64-bit */
		*rc = preadv64(fd, (const struct iovec *)a[1], (int)a[2], a[3]);
		return 1;
	case SYS_preadv2:
		*rc = preadv64v2(fd, (const struct iovec *)a[1], (int)a[2], a[3], (int)a[5]);
		return 1;
	case SYS_write:
		*rc = write(fd, (const void *)a[1], (size_t)a[2]);
		return 1;
	case SYS_pwrite64:
		*rc = pwrite64(fd, (const void *)a[1], (size_t)a[2], a[3]);
		return 1;
	case SYS_writev:
		*rc = writev(fd, (const struct iovec *)a[1], (int)a[2]);
		return 1;
	case SYS_pwritev:
		*rc = pwritev64(fd, (const struct iovec *)a[1], (int)a[2], a[3]);
		return 1;
	case SYS_pwritev2:
		*rc = pwritev64v2(fd, (const struct iovec *)a[1], (int)a[2], a[3], (int)a[5]);
		return 1;
	case SYS_lseek:
		*rc = lseek64(fd, a[1], (int)a[2]);
		return 1;
	case SYS_fstat:
		*rc = fstat(fd, (struct stat *)a[1]);
		return 1;
	case SYS_ftruncate:
		*rc = ftruncate64(fd, a[1]);
		return 1;
	case SYS_fallocate:
		*rc = fallocate64(fd, (int)a[1], a[2], a[3]);
		return 1;
	case SYS_fsync:
		*rc = fsync(fd);
		return 1;
	case SYS_fdatasync:
		*rc = fdatasync(fd);
		return 1;
	case SYS_close:
		*rc = close(fd);
		return 1;
	case SYS_dup:
		*rc = dup(fd);
		return 1;
	case SYS_fcntl:
		*rc = fcntl(fd, (int)a[1], a[2]);
		return 1;
	case SYS_splice:
	case SYS_copy_file_range:
	case SYS_sendfile:
	case SYS_dup2:
	case SYS_dup3:
	case SYS_mmap:
		return 0;	/* below: their descriptors are elsewhere too */
	case SYS_getdents:	/* the old record layout: nobody should need it */
	case SYS_readahead:
	case SYS_sync_file_range:
		*rc = fail(-ENOTSUP);
		return 1;
	}
	return 0;
}

/* The calls that move data between two descriptors, or map one. */
static int by_fds(long n, const long *a, long *rc)
{
	switch (n) {
	case SYS_splice:
		if (!mounted_fd(a[0]) && !mounted_fd(a[2]))
			return 0;
		*rc = splice((int)a[0], (off64_t *)a[1], (int)a[2], (off64_t *)a[3], (size_t)a[4],
			     (unsigned)a[5]);
		return 1;
	case SYS_copy_file_range:
		if (!mounted_fd(a[0]) && !mounted_fd(a[2]))
			return 0;
		*rc = copy_file_range((int)a[0], (off64_t *)a[1], (int)a[2], (off64_t *)a[3],
				      (size_t)a[4], (unsigned)a[5]);
		return 1;
	case SYS_sendfile:
		if (!mounted_fd(a[0]) && !mounted_fd(a[1]))
			return 0;
		*rc = sendfile64((int)a[0], (int)a[1], (off64_t *)a[2], (size_t)a[3]);
		return 1;
	case SYS_dup2:
	case SYS_dup3:
		if (!mounted_fd(a[0]) && !mounted_fd(a[1]))
			return 0;
		*rc = n == SYS_dup2 ? dup2((int)a[0], (int)a[1]) : dup3((int)a[0], (int)a[1], (int)a[2]);
		return 1;
	case SYS_mmap:
		if (!mounted_fd(a[4]) || (a[3] & MAP_ANONYMOUS))
			return 0;
		*rc = (long)mmap((void *)a[0], (size_t)a[1], (int)a[2], (int)a[3], (int)a[4], a[5]);
		return 1;
	}
	return 0;
}

/*
 * The calls that name a path: 1 with *rc when it is a mounted one.  A path
 * that climbs out of a mount is replaced in a by its text resolved in
 * local (PATH_MAX bytes), for the kernel.
 */
static int by_path(long n, long *a, long *rc, char *local)
{
	int at = n == SYS_openat || n == SYS_newfstatat || n == SYS_faccessat ||
		 n == SYS_faccessat2 || n == SYS_openat2;
	int dirfd = at ? (int)a[0] : AT_FDCWD;
	const char *path = (const char *)a[at ? 1 : 0], *key;

	switch (n) {
	case SYS_open:
	case SYS_stat:
	case SYS_lstat:
	case SYS_access:
	case SYS_openat:
	case SYS_openat2:
	case SYS_newfstatat:
	case SYS_faccessat:
	case SYS_faccessat2:
		break;
	default:
		return 0;
	}
	if (!path)
		return 0;
	if (!route_following(dirfd, path, local, &key)) {
		a[at ? 1 : 0] = (long)kernel_path(path, local);
		return 0;
	}
	switch (n) {
	case SYS_open:
		*rc = open(path, (int)a[1], (mode_t)a[2]);
		break;
	case SYS_stat:
		*rc = stat(path, (struct stat *)a[1]);
		break;
	case SYS_lstat:
		*rc = lstat(path, (struct stat *)a[1]);
		break;
	case SYS_access:
		*rc = access(path, (int)a[1]);
		break;
	case SYS_openat:
		*rc = openat(dirfd, path, (int)a[2], (mode_t)a[3]);
		break;
	case SYS_openat2:
		*rc = openat2_mounted(dirfd, path, (const struct open_how *)a[2], (size_t)a[3]);
		break;
	case SYS_newfstatat:
		*rc = fstatat(dirfd, path, (struct stat *)a[2], (int)a[3]);
		break;
	default:	/* faccessat, faccessat2 */
		*rc = faccessat(dirfd, path, (int)a[2], n == SYS_faccessat2 ? (int)a[3] : 0);
		break;
	}
	return 1;
}

EXPORT long syscall(long n, ...)
{
	char local[PATH_MAX];
	long a[6], rc;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);

	if (guard_busy() || !mounts_active())
		return raw_syscall_errno(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	if ((mounted_fd(a[0]) && by_fd(n, a, &rc)) || by_fds(n, a, &rc) ||
	    by_path(n, a, &rc, local))
		return rc;
	if (n == SYS_getdents64) {
		struct vfile *vf = vfile_get((int)a[0]);

		if (vf) {
			guard_enter();
			rc = vf->kind == VFILE_DIR ? vfile_getdents(vf, (void *)a[1], (size_t)a[2])
						   : -ENOTDIR;
			vfile_put(vf);
			guard_leave();
			return ret_or_fail(rc);
		}
	} else if (n == SYS_statx) {
		int handled, r = shim_statx((int)a[0], (const char *)a[1], (int)a[2],
					    (unsigned)a[3], (struct statx *)a[4], &handled, local);

		if (handled)
			return r;
		a[1] = (long)kernel_path((const char *)a[1], local);
	}
	return raw_syscall_errno(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
