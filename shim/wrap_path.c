/* SPDX-License-Identifier: MIT */
/*
 * wrap_path.c - path calls that only ask about a mounted path: readlink,
 * realpath, and the extended attribute getters.
 *
 * A store has no symbolic links and no extended attributes, so these
 * answer as a file system without them would: readlink gives EINVAL,
 * realpath gives the normalised path, getxattr ENODATA and listxattr an
 * empty list, for paths that exist; ENOENT for those that do not.  (ls -l
 * asks for ACLs and SELinux labels on every entry.)
 */
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "shim/mutate.h"
#include "shim/wrap.h"

extern void __chk_fail(void) __attribute__((noreturn));

/* 0 when key exists in m (written and unsent counts), else -errno. */
static int exists(struct mount *m, const char *key)
{
	int rc;

	guard_enter();
	rc = mutate_exists(m, key);
	guard_leave();
	return rc;
}

/*
 * A mounted path is no link: EINVAL.  The link the kernel keeps for a
 * mounted descriptor (/proc/self/fd/N) reads as the mounted path, as it
 * would for a local file, not as the placeholder memfd it points to.
 * buf (PATH_MAX bytes): as route leaves it, for kernel_path.
 */
static ssize_t readlink_at(int dirfd, const char *path, char *out, size_t len, int *handled,
			   char *buf)
{
	const char *key;
	struct mount *m;
	size_t n;
	int rc;

	if (!guard_busy() && mount_fd_link(path, buf)) {	/* the link is absolute */
		*handled = 1;
		n = strlen(buf);
		memcpy(out, buf, n < len ? n : len);
		return (ssize_t)(n < len ? n : len);
	}
	m = route(dirfd, path, buf, &key);
	*handled = m != NULL;
	if (!m)
		return 0;
	rc = exists(m, key);
	return fail(rc ? rc : -EINVAL);
}

EXPORT ssize_t readlink(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];
	int handled;
	ssize_t rc = readlink_at(AT_FDCWD, path, out, len, &handled, buf);

	return handled ? rc : REAL(readlink)(kernel_path(path, buf), out, len);
}

EXPORT ssize_t readlinkat(int dirfd, const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];
	int handled;
	ssize_t rc = readlink_at(dirfd, path, out, len, &handled, buf);

	return handled ? rc : REAL(readlinkat)(dirfd, kernel_path(path, buf), out, len);
}

EXPORT ssize_t __readlink_chk(const char *path, char *out, size_t len, size_t outlen)
{
	if (len > outlen)
		__chk_fail();
	return readlink(path, out, len);
}

EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *out, size_t len,
				size_t outlen)
{
	if (len > outlen)
		__chk_fail();
	return readlinkat(dirfd, path, out, len);
}

EXPORT char *realpath(const char *path, char *resolved)
{
	char buf[PATH_MAX];
	const char *key;
	struct mount *m = route_following(AT_FDCWD, path, buf, &key);
	int rc;

	if (!m)
		return REAL(realpath)(kernel_path(path, buf), resolved);
	rc = exists(m, key);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	return resolved ? strcpy(resolved, buf) : strdup(buf);
}

EXPORT char *__realpath_chk(const char *path, char *resolved, size_t len)
{
	if (len < PATH_MAX)
		__chk_fail();
	return realpath(path, resolved);
}

EXPORT char *canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}

/*
 * getxattr and listxattr of a mounted path: ENODATA, or no names (buf: see
 * KERNEL_OR_SHIM).
 */
static ssize_t xattr_at(const char *path, int list, int *handled, char *buf)
{
	const char *key;
	struct mount *m = route(AT_FDCWD, path, buf, &key);
	int rc;

	*handled = m != NULL;
	if (!m)
		return 0;
	rc = exists(m, key);
	return rc ? fail(rc) : list ? 0 : fail(-ENODATA);
}

static ssize_t xattr_fd(int fd, int list, int *handled)
{
	struct vfile *vf = vfile_get(fd);

	*handled = vf != NULL;
	if (!vf)
		return 0;
	guard_enter();
	vfile_put(vf);
	guard_leave();
	return list ? 0 : fail(-ENODATA);
}

#define XATTR(probe, otherwise) \
	do { \
		int handled_; \
		ssize_t rc_ = (probe); \
		return handled_ ? rc_ : (otherwise); \
	} while (0)

/* XATTR of path: one that climbs out of a mount reaches the kernel by text. */
#define XATTR_PATH(list, otherwise) \
	do { \
		char local_[PATH_MAX]; \
		int handled_; \
		ssize_t rc_ = xattr_at(path, list, &handled_, local_); \
		if (handled_) \
			return rc_; \
		path = kernel_path(path, local_); \
		return (otherwise); \
	} while (0)

EXPORT ssize_t getxattr(const char *path, const char *name, void *value, size_t size)
{
	XATTR_PATH(0, REAL(getxattr)(path, name, value, size));
}

EXPORT ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	XATTR_PATH(0, REAL(lgetxattr)(path, name, value, size));
}

EXPORT ssize_t fgetxattr(int fd, const char *name, void *value, size_t size)
{
	XATTR(xattr_fd(fd, 0, &handled_), REAL(fgetxattr)(fd, name, value, size));
}

EXPORT ssize_t listxattr(const char *path, char *list, size_t size)
{
	XATTR_PATH(1, REAL(listxattr)(path, list, size));
}

EXPORT ssize_t llistxattr(const char *path, char *list, size_t size)
{
	XATTR_PATH(1, REAL(llistxattr)(path, list, size));
}

EXPORT ssize_t flistxattr(int fd, char *list, size_t size)
{
	XATTR(xattr_fd(fd, 1, &handled_), REAL(flistxattr)(fd, list, size));
}
