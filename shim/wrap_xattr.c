/* SPDX-License-Identifier: MIT */
/*
 * wrap_xattr.c - extended attributes of mounted paths and descriptors.
 *
 * A store keeps no extended attributes of ours (nor ACLs, which the
 * kernel keeps as the system.posix_acl_* attributes): a mounted file or
 * directory has none, and setting one fails with ENOTSUP, as on a file
 * system without them.  That is the answer copying tools expect: `cp -a`
 * and `cp -p` then fall back to chmod (which succeeds without effect),
 * where ENOENT from the kernel, which cannot see the path, made them fail.
 * (ls -l asks for ACLs and SELinux labels on every entry.)  A missing path
 * is ENOENT; a change on a read-only mount is EROFS.
 */
#include <sys/xattr.h>

#include "shim/mutate.h"
#include "shim/wrap.h"

enum xop { XOP_GET, XOP_LIST, XOP_SET, XOP_REMOVE };

/* What op gives on an attribute of something that exists on mount m. */
static int answer(const struct mount *m, enum xop op)
{
	if ((op == XOP_SET || op == XOP_REMOVE) && !mount_writable(m))
		return -EROFS;
	switch (op) {
	case XOP_LIST:	return 0;		/* an empty list */
	case XOP_SET:	return -ENOTSUP;
	default:	return -ENODATA;	/* no such attribute */
	}
}

/* op on path when it is mounted: *handled, then the size or -errno. */
static long on_path(const char *path, int follow, enum xop op, int *handled, char *buf)
{
	const char *key;
	struct mount *m = route_as(AT_FDCWD, path, follow, buf, &key);
	int rc;

	*handled = m != NULL;
	if (!m)
		return 0;
	guard_enter();
	rc = path_wants_dir(path) ? mutate_must_be_dir(m, key) : mutate_exists(m, key);
	guard_leave();
	return rc ? rc : answer(m, op);
}

static long on_fd(int fd, enum xop op, int *handled)
{
	struct vfile *vf = vfile_get(fd);
	long rc;

	*handled = vf != NULL;
	if (!vf)
		return 0;
	rc = answer(vf->mnt, op);
	guard_enter();
	vfile_put(vf);
	guard_leave();
	return rc;
}

/* kernel is the call on path (see KERNEL_OR_SHIM), which no xattr call creates */
#define XATTR_PATH(path, follow, op, type, kernel) \
	KERNEL_OR_SHIM_AS(type, (type)-1, AT_FDCWD, path, 0, \
			  (type)ret_or_fail(on_path(path, follow, op, &handled_, local_)), kernel)

#define XATTR_FD(fd, op, type, kernel) \
	do { \
		int handled_; \
		long rc_ = on_fd(fd, op, &handled_); \
		return handled_ ? (type)ret_or_fail(rc_) : (kernel); \
	} while (0)

EXPORT ssize_t getxattr(const char *p, const char *n, void *v, size_t s)
{
	XATTR_PATH(p, 1, XOP_GET, ssize_t, REAL(getxattr)(p, n, v, s));
}

EXPORT ssize_t lgetxattr(const char *p, const char *n, void *v, size_t s)
{
	XATTR_PATH(p, 0, XOP_GET, ssize_t, REAL(lgetxattr)(p, n, v, s));
}

EXPORT ssize_t fgetxattr(int fd, const char *n, void *v, size_t s)
{
	XATTR_FD(fd, XOP_GET, ssize_t, REAL(fgetxattr)(fd, n, v, s));
}

EXPORT ssize_t listxattr(const char *p, char *l, size_t s)
{
	XATTR_PATH(p, 1, XOP_LIST, ssize_t, REAL(listxattr)(p, l, s));
}

EXPORT ssize_t llistxattr(const char *p, char *l, size_t s)
{
	XATTR_PATH(p, 0, XOP_LIST, ssize_t, REAL(llistxattr)(p, l, s));
}

EXPORT ssize_t flistxattr(int fd, char *l, size_t s)
{
	XATTR_FD(fd, XOP_LIST, ssize_t, REAL(flistxattr)(fd, l, s));
}

EXPORT int setxattr(const char *p, const char *n, const void *v, size_t s, int f)
{
	XATTR_PATH(p, 1, XOP_SET, int, REAL(setxattr)(p, n, v, s, f));
}

EXPORT int lsetxattr(const char *p, const char *n, const void *v, size_t s, int f)
{
	XATTR_PATH(p, 0, XOP_SET, int, REAL(lsetxattr)(p, n, v, s, f));
}

EXPORT int fsetxattr(int fd, const char *n, const void *v, size_t s, int f)
{
	XATTR_FD(fd, XOP_SET, int, REAL(fsetxattr)(fd, n, v, s, f));
}

EXPORT int removexattr(const char *p, const char *n)
{
	XATTR_PATH(p, 1, XOP_REMOVE, int, REAL(removexattr)(p, n));
}

EXPORT int lremovexattr(const char *p, const char *n)
{
	XATTR_PATH(p, 0, XOP_REMOVE, int, REAL(lremovexattr)(p, n));
}

EXPORT int fremovexattr(int fd, const char *n)
{
	XATTR_FD(fd, XOP_REMOVE, int, REAL(fremovexattr)(fd, n));
}
