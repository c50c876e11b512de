/* SPDX-License-Identifier: MIT */
/*
 * wrap_open.c - open, creat and close, with their 64-bit and fortified
 * forms, for paths under a mount.
 *
 * Opening costs at most one metadata request (none while the metadata
 * cache has the answer).  The descriptor returned is a fresh memfd, placed
 * where the kernel puts any new descriptor, with close-on-exec as asked.
 * Writes come with the write path; until then they fail with EROFS.
 */
#include <stdarg.h>
#include <linux/close_range.h>
#include <sys/mman.h>

#include "backend/engine.h"
#include "shim/wrap.h"

static int refuse_write(struct mount *m, const char *key, int flags)
{
	struct store_meta meta;
	int rc = obj_stat(m->st, key, &meta);

	if (rc == 0 && (flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if (rc == 0 && meta.kind == STORE_DIR)
		return -EISDIR;
	return rc == 0 || rc == -ENOENT ? -EROFS : rc;
}

int shim_open(struct mount *m, const char *key, int flags)
{
	enum vfile_kind kind = VFILE_REG;
	struct store_meta meta;
	struct vfile *vf;
	int fd, rc;

	if (!m->st)
		return -EIO;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) ||
	    (flags & O_TMPFILE) == O_TMPFILE)
		return refuse_write(m, key, flags);
	rc = obj_stat(m->st, key, &meta);
	if (rc == -ENOENT && (flags & O_CREAT))
		return -EROFS;
	if (rc)
		return rc;
	if ((flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if (meta.kind == STORE_DIR)
		kind = VFILE_DIR;
	else if (flags & O_DIRECTORY)
		return -ENOTDIR;

	vf = vfile_new(kind, m, key, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC));
	if (!vf)
		return -ENOMEM;
	vf->meta = meta;
	if (kind == VFILE_REG) {
		rc = obj_open(m->st, key, &meta, &vf->obj);
		if (rc) {
			vfile_put(vf);
			return rc;
		}
	}
	fd = memfd_create("cloudshim", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (fd < 0 || !fdtab_fits(fd)) {
		rc = fd < 0 ? -errno : -EMFILE;
		if (fd >= 0)
			REAL(close)(fd);
		vfile_put(vf);
		return rc;
	}
	vfile_put(fdtab_set(fd, vf));	/* nothing was there: the fd was closed */
	vfile_put(vf);			/* the table holds it now */
	return fd;
}

static int open_at(int dirfd, const char *path, int flags, mode_t mode, int *handled)
{
	char buf[PATH_MAX];
	const char *key;
	struct mount *m = route(dirfd, path, buf, &key);
	int rc;

	*handled = m != NULL;
	if (!m)
		return 0;
	guard_enter();
	rc = shim_open(m, key, flags);
	guard_leave();
	return (int)ret_or_fail(rc);
}

#define MODE_ARG(flags, mode) \
	do { \
		if (OPEN_NEEDS_MODE(flags)) { \
			va_list ap; \
			va_start(ap, flags); \
			mode = (mode_t)va_arg(ap, int); \
			va_end(ap); \
		} \
	} while (0)

EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	int handled, fd;

	MODE_ARG(flags, mode);
	fd = open_at(AT_FDCWD, path, flags, mode, &handled);
	return handled ? fd : REAL(open)(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	int handled, fd;

	MODE_ARG(flags, mode);
	fd = open_at(AT_FDCWD, path, flags, mode, &handled);
	return handled ? fd : REAL(open64)(path, flags, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	int handled, fd;

	MODE_ARG(flags, mode);
	fd = open_at(dirfd, path, flags, mode, &handled);
	return handled ? fd : REAL(openat)(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	int handled, fd;

	MODE_ARG(flags, mode);
	fd = open_at(dirfd, path, flags, mode, &handled);
	return handled ? fd : REAL(openat64)(dirfd, path, flags, mode);
}

/* _FORTIFY_SOURCE forms: no mode argument, O_CREAT is refused at compile time. */
EXPORT int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
	return open64(path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return openat64(dirfd, path, flags);
}

EXPORT int creat(const char *path, mode_t mode)
{
	return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

EXPORT int creat64(const char *path, mode_t mode)
{
	return open64(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

static void release(int fd)
{
	struct vfile *vf = fdtab_clear(fd);

	if (vf) {
		guard_enter();
		vfile_put(vf);
		guard_leave();
	}
}

EXPORT int close(int fd)
{
	/* out of the table first: the number may be reused the moment it closes */
	release(fd);
	return REAL(close)(fd);
}

static void release_range(unsigned first, unsigned last)
{
	unsigned high = (unsigned)fdtab_high();

	for (unsigned fd = first; fd <= last && fd <= high; fd++)
		release((int)fd);
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	int rc = REAL(close_range)(first, last, flags);

	if (rc == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
		release_range(first, last);
	return rc;
}

EXPORT void closefrom(int lowfd)
{
	REAL(closefrom)(lowfd);
	if (lowfd >= 0)
		release_range((unsigned)lowfd, ~0u);
}
