/* SPDX-License-Identifier: MIT */
/*
 * wrap_path.c - path calls that only ask about a mounted path: readlink
 * and realpath.
 *
 * A store has no symbolic links, so these answer as a file system without
 * them would: readlink gives EINVAL and realpath the normalised path, for
 * paths that exist; ENOENT for those that do not.
 */
#include <stdlib.h>
#include <string.h>

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
	KERNEL_OR_SHIM_AS(ssize_t, -1, AT_FDCWD, path, 0,
			  readlink_at(AT_FDCWD, path, out, len, &handled_, local_),
			  REAL(readlink)(path, out, len));
}

EXPORT ssize_t readlinkat(int dirfd, const char *path, char *out, size_t len)
{
	KERNEL_OR_SHIM_AS(ssize_t, -1, dirfd, path, 0,
			  readlink_at(dirfd, path, out, len, &handled_, local_),
			  REAL(readlinkat)(dirfd, path, out, len));
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
