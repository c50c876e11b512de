/* SPDX-License-Identifier: MIT */
/*
 * wrap_modify.c - calls that change a mounted path or descriptor: mkdir,
 * rmdir, unlink, remove, rename, link, symlink, mknod, chmod, chown,
 * truncate, utime and their *at and f* forms, and fallocate.
 *
 * On a writable mount the namespace calls act on the store
 * (shim/mutate.c).  A store keeps no modes, owners or times of ours, so
 * chmod, chown and utime succeed without effect on what exists; it has no
 * links or device files (EPERM).  On a read-only mount every one of them
 * fails with EROFS (EBADF for a descriptor open read-only) rather than
 * reaching the local disk under the mount point, or the placeholder
 * memfd, and succeeding there unnoticed.  A rename or link between a
 * mount and elsewhere is EXDEV, as between two file systems: mv then
 * copies and unlinks.
 */
#include <stdarg.h>
#include <sys/stat.h>
#include <utime.h>

#include "shim/mutate.h"
#include "shim/wrap.h"

/*
 * OP_TOUCH is chmod, chown or utime of what a path reaches: through the
 * link of a mounted descriptor, the object (never the placeholder behind
 * the descriptor); OP_TOUCH_LINK is the same of a link itself.
 */
enum op { OP_MKDIR, OP_RMDIR, OP_UNLINK, OP_TOUCH, OP_TOUCH_LINK, OP_NOLINK };

/*
 * unlink or a touch of "x/", which names a directory: never of a file
 * (ENOTDIR, as the kernel's lookup), and unlink of a directory is EISDIR.
 */
static int on_dir_path(struct mount *m, const char *key, enum op op)
{
	int rc = mutate_must_be_dir(m, key);

	return rc ? rc : op == OP_UNLINK ? -EISDIR : 0;
}

/*
 * The op on (dirfd, path) when it is mounted: *handled, and 0 or -errno.
 * buf (PATH_MAX bytes) as route leaves it, for kernel_path.
 */
static int on_path(int dirfd, const char *path, enum op op, int *handled, char *buf)
{
	const char *key;
	struct mount *m = route_as(dirfd, path, op == OP_TOUCH, buf, &key);
	int rc;

	*handled = m != NULL;
	if (!m)
		return 0;
	if (!mount_writable(m))
		return -EROFS;
	guard_enter();
	switch (op) {
	case OP_MKDIR:	rc = mutate_mkdir(m, key); break;
	case OP_RMDIR:	rc = mutate_rmdir(m, key); break;
	case OP_UNLINK:	rc = path_wants_dir(path) ? on_dir_path(m, key, op) :
				     mutate_unlink(m, key); break;
	case OP_TOUCH:
	case OP_TOUCH_LINK:
		rc = path_wants_dir(path) ? on_dir_path(m, key, op) : mutate_exists(m, key);
		break;
	default:	/* a link or device file: the store can hold none, but a name is taken */
		rc = mutate_exists(m, key);
		rc = rc == 0 ? -EEXIST : rc == -ENOENT ? -EPERM : rc;
		break;
	}
	guard_leave();
	return rc;
}

/*
 * otherwise is the kernel's call on path (see KERNEL_OR_SHIM): a path no
 * mount can hold reaches the kernel without the shim's search for "..".
 */
#define ON_PATH(dirfd, path, op, otherwise) \
	KERNEL_OR_SHIM(dirfd, path, (op) == OP_MKDIR || (op) == OP_NOLINK, \
		       (int)ret_or_fail(on_path(dirfd, path, op, &handled_, local_)), otherwise)

/* Descriptor calls that change nothing a store keeps: *handled, 0 or -errno. */
static int on_fd(int fd, int *handled)
{
	struct vfile *vf = vfile_get(fd);
	int rc;

	*handled = vf != NULL;
	if (!vf)
		return 0;
	rc = mount_writable(vf->mnt) ? 0 : -EROFS;
	guard_enter();
	vfile_put(vf);
	guard_leave();
	return rc;
}

#define ON_FD(fd, otherwise) \
	do { \
		int handled_, rc_ = on_fd(fd, &handled_); \
		return handled_ ? (int)ret_or_fail(rc_) : (otherwise); \
	} while (0)

/* Two paths: both on one mount -> the rename; one mounted -> EXDEV. */
static int on_pair(int d1, const char *p1, int d2, const char *p2, int is_link, int *handled,
		   char *b1, char *b2)
{
	const char *k1, *k2;
	struct mount *m1 = route(d1, p1, b1, &k1), *m2 = route(d2, p2, b2, &k2);
	int rc;

	*handled = m1 || m2;
	if (!*handled)
		return 0;
	if (m1 != m2)
		return -EXDEV;
	if (!mount_writable(m1))
		return -EROFS;
	if (is_link)
		return -EPERM;
	guard_enter();
	/* "a/" or "b/": a directory's rename, never a file's */
	rc = path_wants_dir(p1) || path_wants_dir(p2) ? mutate_must_be_dir(m1, k1) : 0;
	if (rc == 0)
		rc = mutate_rename(m1, k1, k2);
	guard_leave();
	return rc;
}

#define ON_PAIR(d1, p1, d2, p2, is_link, otherwise) \
	do { \
		char local1_[PATH_MAX], local2_[PATH_MAX]; \
		int handled_, rc_ = on_pair(d1, p1, d2, p2, is_link, &handled_, local1_, local2_); \
		if (handled_) \
			return (int)ret_or_fail(rc_); \
		p1 = kernel_path(p1, local1_); \
		p2 = kernel_path(p2, local2_); \
		return (otherwise); \
	} while (0)

/* truncate(2) follows links: through a mounted descriptor's, it changes the object. */
static int truncate_path(const char *path, off_t len, int *handled, char *buf)
{
	const char *key;
	struct mount *m = route_following(AT_FDCWD, path, buf, &key);
	int rc;

	*handled = m != NULL;
	if (!m)
		return 0;
	if (!mount_writable(m))
		return -EROFS;
	if (len < 0)
		return -EINVAL;
	guard_enter();
	if (path_wants_dir(path)) {	/* "x/": ENOTDIR for a file, EISDIR for a directory */
		rc = mutate_must_be_dir(m, key);
		rc = rc ? rc : -EISDIR;
	} else {
		rc = mutate_truncate(m, key, len);
	}
	guard_leave();
	return rc;
}

EXPORT int mkdir(const char *p, mode_t m)
{
	ON_PATH(AT_FDCWD, p, OP_MKDIR, REAL(mkdir)(p, m));
}

EXPORT int mkdirat(int d, const char *p, mode_t m)
{
	ON_PATH(d, p, OP_MKDIR, REAL(mkdirat)(d, p, m));
}

EXPORT int rmdir(const char *p)
{
	ON_PATH(AT_FDCWD, p, OP_RMDIR, REAL(rmdir)(p));
}

EXPORT int unlink(const char *p)
{
	ON_PATH(AT_FDCWD, p, OP_UNLINK, REAL(unlink)(p));
}

EXPORT int unlinkat(int d, const char *p, int f)
{
	ON_PATH(d, p, (f & AT_REMOVEDIR) ? OP_RMDIR : OP_UNLINK, REAL(unlinkat)(d, p, f));
}

/*
 * glibc's remove calls its own unlink, then rmdir for a directory: calls
 * a preload cannot see, so a mounted path would reach the kernel.  The
 * same steps, through the wrappers.
 */
EXPORT int remove(const char *p)
{
	if (unlink(p) == 0)
		return 0;
	return errno == EISDIR ? rmdir(p) : -1;
}

EXPORT int rename(const char *a, const char *b)
{
	ON_PAIR(AT_FDCWD, a, AT_FDCWD, b, 0, REAL(rename)(a, b));
}

EXPORT int renameat(int da, const char *a, int db, const char *b)
{
	ON_PAIR(da, a, db, b, 0, REAL(renameat)(da, a, db, b));
}

EXPORT int renameat2(int da, const char *a, int db, const char *b, unsigned f)
{
	/* RENAME_NOREPLACE and RENAME_EXCHANGE need an atomicity stores lack */
	if (f) {
		char buf[PATH_MAX];
		const char *key;

		if (route(da, a, buf, &key) || route(db, b, buf, &key))
			return (int)fail(-EINVAL);
	}
	ON_PAIR(da, a, db, b, 0, REAL(renameat2)(da, a, db, b, f));
}

EXPORT int link(const char *a, const char *b)
{
	ON_PAIR(AT_FDCWD, a, AT_FDCWD, b, 1, REAL(link)(a, b));
}

EXPORT int linkat(int da, const char *a, int db, const char *b, int f)
{
	ON_PAIR(da, a, db, b, 1, REAL(linkat)(da, a, db, b, f));
}

EXPORT int symlink(const char *target, const char *p)
{
	ON_PATH(AT_FDCWD, p, OP_NOLINK, REAL(symlink)(target, p));
}

EXPORT int symlinkat(const char *target, int d, const char *p)
{
	ON_PATH(d, p, OP_NOLINK, REAL(symlinkat)(target, d, p));
}

EXPORT int mknod(const char *p, mode_t m, dev_t dev)
{
	ON_PATH(AT_FDCWD, p, OP_NOLINK, REAL(mknod)(p, m, dev));
}

EXPORT int mknodat(int d, const char *p, mode_t m, dev_t dev)
{
	ON_PATH(d, p, OP_NOLINK, REAL(mknodat)(d, p, m, dev));
}

/* glibc's mkfifo calls its own mknodat: wrapped as itself */
EXPORT int mkfifo(const char *p, mode_t m)
{
	ON_PATH(AT_FDCWD, p, OP_NOLINK, REAL(mkfifo)(p, m));
}

EXPORT int mkfifoat(int d, const char *p, mode_t m)
{
	ON_PATH(d, p, OP_NOLINK, REAL(mkfifoat)(d, p, m));
}

EXPORT int chmod(const char *p, mode_t m)
{
	ON_PATH(AT_FDCWD, p, OP_TOUCH, REAL(chmod)(p, m));
}

EXPORT int fchmodat(int d, const char *p, mode_t m, int f)
{
	ON_PATH(d, p, (f & AT_SYMLINK_NOFOLLOW) ? OP_TOUCH_LINK : OP_TOUCH,
		REAL(fchmodat)(d, p, m, f));
}

EXPORT int fchmod(int fd, mode_t m)
{
	ON_FD(fd, REAL(fchmod)(fd, m));
}

EXPORT int chown(const char *p, uid_t u, gid_t g)
{
	ON_PATH(AT_FDCWD, p, OP_TOUCH, REAL(chown)(p, u, g));
}

EXPORT int lchown(const char *p, uid_t u, gid_t g)
{
	ON_PATH(AT_FDCWD, p, OP_TOUCH_LINK, REAL(lchown)(p, u, g));
}

EXPORT int fchownat(int d, const char *p, uid_t u, gid_t g, int f)
{
	ON_PATH(d, p, (f & AT_SYMLINK_NOFOLLOW) ? OP_TOUCH_LINK : OP_TOUCH,
		REAL(fchownat)(d, p, u, g, f));
}

EXPORT int fchown(int fd, uid_t u, gid_t g)
{
	ON_FD(fd, REAL(fchown)(fd, u, g));
}

/*
 * The descriptor path is the link of, when it was opened for writing:
 * truncate through the link is then ftruncate of it, as on a local disk
 * (the file it writes, staged first if need be, its stream told); else -1.
 */
static int writable_link_fd(const char *path)
{
	int fd = mount_fd_link_fd(path);
	struct vfile *vf = fd >= 0 ? vfile_get(fd) : NULL;
	int writable;

	if (!vf)
		return -1;
	writable = vf->kind != VFILE_DIR && (vf->flags & O_ACCMODE) != O_RDONLY;
	guard_enter();
	vfile_put(vf);
	guard_leave();
	return writable ? fd : -1;
}

/* truncate of path p: ftruncate_fn of its descriptor, the store's, or otherwise (the kernel's) */
#define TRUNCATE(p, len, ftruncate_fn, otherwise) \
	do { \
		char local_[PATH_MAX]; \
		int fd_ = writable_link_fd(p), handled_, rc_; \
		if (fd_ >= 0) \
			return ftruncate_fn(fd_, len); \
		rc_ = truncate_path(p, len, &handled_, local_); \
		if (handled_) \
			return (int)ret_or_fail(rc_); \
		p = kernel_path(p, local_); \
		return (otherwise); \
	} while (0)

EXPORT int truncate(const char *p, off_t len)
{
	TRUNCATE(p, len, ftruncate, REAL(truncate)(p, len));
}

EXPORT int truncate64(const char *p, off64_t len)
{
	TRUNCATE(p, len, ftruncate64, REAL(truncate64)(p, len));
}

/*
 * These change the bytes: a file opened for update is staged first, and
 * a streamed file's stream is told (fallocate that moves bytes or writes
 * zeros changes them; one that only reserves room does not).
 */
static enum staged_op fallocate_op(int mode)
{
	return mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) ? STAGED_SHIFT
									  : STAGED_RANGE;
}

/* The bytes fallocate(mode) changes: none when it only reserves room. */
static off_t fallocate_len(int mode, off_t len)
{
	return mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_COLLAPSE_RANGE |
		       FALLOC_FL_INSERT_RANGE) ? len : 0;
}

EXPORT int ftruncate(int fd, off_t len)
{
	ON_CHANGE(fd, STAGED_TRUNCATE, len, 0, REAL(ftruncate)(fd, len));
}

EXPORT int ftruncate64(int fd, off64_t len)
{
	ON_CHANGE(fd, STAGED_TRUNCATE, len, 0, REAL(ftruncate64)(fd, len));
}

EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
	ON_CHANGE(fd, fallocate_op(mode), off, fallocate_len(mode, len),
	       REAL(fallocate)(fd, mode, off, len));
}

EXPORT int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	ON_CHANGE(fd, fallocate_op(mode), off, fallocate_len(mode, len),
	       REAL(fallocate64)(fd, mode, off, len));
}

/* posix_fallocate only reserves room, and returns the error number instead of setting errno. */
EXPORT int posix_fallocate(int fd, off_t off, off_t len)
{
	struct staged_change c = { .op = STAGED_RANGE, .off = off, .len = 0 };
	struct vfile *vf;

	if (shim_change_begin(fd, &c, &vf))
		return errno;
	return (int)shim_change_end(fd, &c, vf, REAL(posix_fallocate)(fd, off, len));
}

EXPORT int posix_fallocate64(int fd, off64_t off, off64_t len)
{
	struct staged_change c = { .op = STAGED_RANGE, .off = off, .len = 0 };
	struct vfile *vf;

	if (shim_change_begin(fd, &c, &vf))
		return errno;
	return (int)shim_change_end(fd, &c, vf, REAL(posix_fallocate64)(fd, off, len));
}

EXPORT int utime(const char *p, const struct utimbuf *t)
{
	ON_PATH(AT_FDCWD, p, OP_TOUCH, REAL(utime)(p, t));
}

EXPORT int utimes(const char *p, const struct timeval t[2])
{
	ON_PATH(AT_FDCWD, p, OP_TOUCH, REAL(utimes)(p, t));
}

EXPORT int lutimes(const char *p, const struct timeval t[2])
{
	ON_PATH(AT_FDCWD, p, OP_TOUCH_LINK, REAL(lutimes)(p, t));
}

EXPORT int utimensat(int d, const char *p, const struct timespec t[2], int f)
{
	ON_PATH(d, p, (f & AT_SYMLINK_NOFOLLOW) ? OP_TOUCH_LINK : OP_TOUCH,
		REAL(utimensat)(d, p, t, f));
}

EXPORT int futimens(int fd, const struct timespec t[2])
{
	ON_FD(fd, REAL(futimens)(fd, t));
}
