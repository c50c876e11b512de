/* SPDX-License-Identifier: MIT */
/*
 * wrap_modify.c - calls that would change a mounted path or descriptor:
 * mkdir, rmdir, unlink, rename, link, symlink, mknod, chmod, chown,
 * truncate, utime and their *at and f* forms, and fallocate.
 *
 * Until the write path lands, every one of them fails with EROFS on a
 * mounted path (EBADF for a descriptor, which is open read-only), rather
 * than reaching the local disk under the mount point, or the placeholder
 * memfd, and succeeding there unnoticed.  A rename or link between a
 * mount and a local path is EXDEV, as between two file systems.
 */
#include <stdarg.h>
#include <sys/stat.h>
#include <utime.h>

#include "shim/wrap.h"

/* -EROFS when (dirfd, path) is mounted, else 0. */
static int mounted(int dirfd, const char *path)
{
	char buf[PATH_MAX];
	const char *key;

	return route(dirfd, path, buf, &key) ? -EROFS : 0;
}

static int mounted_fd(int fd)
{
	struct vfile *vf = vfile_get(fd);

	if (!vf)
		return 0;
	guard_enter();
	vfile_put(vf);
	guard_leave();
	return -EBADF;
}

/* Two paths: EROFS when both are mounted, EXDEV when one is. */
static int mounted_pair(int d1, const char *p1, int d2, const char *p2)
{
	int a = mounted(d1, p1), b = mounted(d2, p2);

	return a && b ? -EROFS : a || b ? -EXDEV : 0;
}

#define REFUSE(probe, otherwise) \
	do { \
		int rc_ = (probe); \
		return rc_ ? (int)fail(rc_) : (otherwise); \
	} while (0)

EXPORT int mkdir(const char *p, mode_t m)
{
	REFUSE(mounted(AT_FDCWD, p), REAL(mkdir)(p, m));
}

EXPORT int mkdirat(int d, const char *p, mode_t m)
{
	REFUSE(mounted(d, p), REAL(mkdirat)(d, p, m));
}

EXPORT int rmdir(const char *p)
{
	REFUSE(mounted(AT_FDCWD, p), REAL(rmdir)(p));
}

EXPORT int unlink(const char *p)
{
	REFUSE(mounted(AT_FDCWD, p), REAL(unlink)(p));
}

EXPORT int unlinkat(int d, const char *p, int f)
{
	REFUSE(mounted(d, p), REAL(unlinkat)(d, p, f));
}

EXPORT int rename(const char *a, const char *b)
{
	REFUSE(mounted_pair(AT_FDCWD, a, AT_FDCWD, b), REAL(rename)(a, b));
}

EXPORT int renameat(int da, const char *a, int db, const char *b)
{
	REFUSE(mounted_pair(da, a, db, b), REAL(renameat)(da, a, db, b));
}

EXPORT int renameat2(int da, const char *a, int db, const char *b, unsigned f)
{
	REFUSE(mounted_pair(da, a, db, b), REAL(renameat2)(da, a, db, b, f));
}

EXPORT int link(const char *a, const char *b)
{
	REFUSE(mounted_pair(AT_FDCWD, a, AT_FDCWD, b), REAL(link)(a, b));
}

EXPORT int linkat(int da, const char *a, int db, const char *b, int f)
{
	REFUSE(mounted_pair(da, a, db, b), REAL(linkat)(da, a, db, b, f));
}

EXPORT int symlink(const char *target, const char *p)
{
	REFUSE(mounted(AT_FDCWD, p), REAL(symlink)(target, p));
}

EXPORT int symlinkat(const char *target, int d, const char *p)
{
	REFUSE(mounted(d, p), REAL(symlinkat)(target, d, p));
}

EXPORT int mknod(const char *p, mode_t m, dev_t dev)
{
	REFUSE(mounted(AT_FDCWD, p), REAL(mknod)(p, m, dev));
}

EXPORT int mknodat(int d, const char *p, mode_t m, dev_t dev)
{
	REFUSE(mounted(d, p), REAL(mknodat)(d, p, m, dev));
}

EXPORT int chmod(const char *p, mode_t m)
{
	REFUSE(mounted(AT_FDCWD, p), REAL(chmod)(p, m));
}

EXPORT int fchmodat(int d, const char *p, mode_t m, int f)
{
	REFUSE(mounted(d, p), REAL(fchmodat)(d, p, m, f));
}

EXPORT int fchmod(int fd, mode_t m)
{
	REFUSE(mounted_fd(fd), REAL(fchmod)(fd, m));
}

EXPORT int chown(const char *p, uid_t u, gid_t g)
{
	REFUSE(mounted(AT_FDCWD, p), REAL(chown)(p, u, g));
}

EXPORT int lchown(const char *p, uid_t u, gid_t g)
{
	REFUSE(mounted(AT_FDCWD, p), REAL(lchown)(p, u, g));
}

EXPORT int fchownat(int d, const char *p, uid_t u, gid_t g, int f)
{
	REFUSE(mounted(d, p), REAL(fchownat)(d, p, u, g, f));
}

EXPORT int fchown(int fd, uid_t u, gid_t g)
{
	REFUSE(mounted_fd(fd), REAL(fchown)(fd, u, g));
}

EXPORT int truncate(const char *p, off_t len)
{
	REFUSE(mounted(AT_FDCWD, p), REAL(truncate)(p, len));
}

EXPORT int truncate64(const char *p, off64_t len)
{
	REFUSE(mounted(AT_FDCWD, p), REAL(truncate64)(p, len));
}

EXPORT int ftruncate(int fd, off_t len)
{
	REFUSE(mounted_fd(fd), REAL(ftruncate)(fd, len));
}

EXPORT int ftruncate64(int fd, off64_t len)
{
	REFUSE(mounted_fd(fd), REAL(ftruncate64)(fd, len));
}

EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
	REFUSE(mounted_fd(fd), REAL(fallocate)(fd, mode, off, len));
}

EXPORT int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	REFUSE(mounted_fd(fd), REAL(fallocate64)(fd, mode, off, len));
}

/* posix_fallocate returns the error number instead of setting errno. */
EXPORT int posix_fallocate(int fd, off_t off, off_t len)
{
	int rc = mounted_fd(fd);

	return rc ? -rc : REAL(posix_fallocate)(fd, off, len);
}

EXPORT int posix_fallocate64(int fd, off64_t off, off64_t len)
{
	int rc = mounted_fd(fd);

	return rc ? -rc : REAL(posix_fallocate64)(fd, off, len);
}

EXPORT int utime(const char *p, const struct utimbuf *t)
{
	REFUSE(mounted(AT_FDCWD, p), REAL(utime)(p, t));
}

EXPORT int utimes(const char *p, const struct timeval t[2])
{
	REFUSE(mounted(AT_FDCWD, p), REAL(utimes)(p, t));
}

EXPORT int utimensat(int d, const char *p, const struct timespec t[2], int f)
{
	REFUSE(mounted(d, p), REAL(utimensat)(d, p, t, f));
}

EXPORT int futimens(int fd, const struct timespec t[2])
{
	REFUSE(mounted_fd(fd), REAL(futimens)(fd, t));
}
