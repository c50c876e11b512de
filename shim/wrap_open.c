/* SPDX-License-Identifier: MIT */
/*
 * wrap_open.c - open, creat and close, with their 64-bit and fortified
 * forms, for paths under a mount.
 *
 * Opening costs at most one metadata request (none while the metadata
 * cache has the answer).  The descriptor returned is a fresh memfd, placed
 * where the kernel puts any new descriptor, with close-on-exec as asked.
 * Writing gives a staged file instead (shim/staged.c).
 */
#include <stdarg.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/mman.h>

#include "backend/engine.h"
#include "shim/staged.h"
#include "shim/wrap.h"

#define WRITE_FLAGS(flags) \
	(((flags) & O_ACCMODE) != O_RDONLY || ((flags) & O_TRUNC) || \
	 ((flags) & O_TMPFILE) == O_TMPFILE)

static int writable(const struct mount *m)
{
	return !m->read_only && (store_caps(m->st) & STORE_CAP_WRITE);
}

/*
 * What key is now: unsent writes first (read your own writes), then the
 * store.  1 in *staged when the answer is a staged file, named in data
 * (for reading: bytes wanted), else "".
 */
static int current(struct mount *m, const char *key, int reading, struct store_meta *meta,
		   char *data, int *staged, struct obj_head *head)
{
	int rc = reading ? staged_readable(m, key, meta, data)
			 : staged_lookup(m, key, meta, data, PATH_MAX);

	if (rc < 0)
		return rc;	/* -EBUSY: being written here, and not all staged */
	*staged = rc > 0;
	if (*staged)
		rc = 0;
	else
		rc = head ? obj_stat_open(m->st, key, meta, head) : obj_stat(m->st, key, meta);
	if (rc == -ENOENT && staged_is_dir(m, key)) {
		memset(meta, 0, sizeof(*meta));
		meta->kind = STORE_DIR;	/* made by writes below it, not yet sent */
		rc = 0;
	}
	return rc;
}

/*
 * Open for writing: a new or truncated file, or one with unsent writes,
 * or one opened write-only, is staged now; an existing object opened
 * O_RDWR is read through the cache until its first write stages it
 * (shim/staged.c).  Write-only opens are never lazy: a shell's stdout
 * redirected with >> is written by glibc's stdio through internal calls
 * we do not see, and must land in the staged file itself.
 */
/*
 * A create that truncates (the "w" of fopen, `>` in a shell): what is at
 * key does not matter unless it is a directory, which a listing of its
 * directory tells for every file a program then creates there.
 */
static int create_truncated(struct mount *m, const char *key, int flags)
{
	struct store_meta meta;
	char data[PATH_MAX];
	int rc = 0;

	if (!staged_lookup(m, key, &meta, data, PATH_MAX))
		rc = staged_is_dir(m, key) ? 1 : obj_is_dir(m->st, key);
	if (rc)
		return rc < 0 ? rc : -EISDIR;
	if (!writable(m) || (flags & O_TMPFILE) == O_TMPFILE)
		return -EROFS;
	return staged_open(m, key, flags, 0);
}

static int open_for_write(struct mount *m, const char *key, int flags, int *later)
{
	struct store_meta meta;
	char data[PATH_MAX];
	int staged, rc;

	*later = 0;
	if ((flags & O_CREAT) && (flags & O_TRUNC) && !(flags & O_EXCL))
		return create_truncated(m, key, flags);
	rc = current(m, key, !(flags & O_TRUNC), &meta, data, &staged, NULL);
	if (rc && rc != -ENOENT)
		return rc;
	if (rc == 0 && (flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if (rc == 0 && meta.kind == STORE_DIR)
		return -EISDIR;
	if (!writable(m) || (flags & O_TMPFILE) == O_TMPFILE)
		return rc == 0 || rc == -ENOENT ? -EROFS : rc;
	if (rc == -ENOENT && !(flags & O_CREAT))
		return -ENOENT;
	if (rc == 0 && !(flags & O_TRUNC) && !staged && (flags & O_ACCMODE) == O_RDWR) {
		*later = 1;
		return 0;
	}
	return staged_open(m, key, flags, rc == 0 && !(flags & O_TRUNC));
}

/* A descriptor of the staged bytes of key, for reading only. */
static int open_staged_copy(struct mount *m, const char *key, const struct store_meta *meta,
			    const char *data, int flags)
{
	int fd = REAL(open)(data, O_RDONLY | (flags & O_CLOEXEC));
	struct vfile *vf;

	if (fd < 0)
		return -errno;	/* its upload just landed: ask the store */
	vf = vfile_new(VFILE_STAGED, m, key, flags & ~(O_CREAT | O_NOCTTY | O_CLOEXEC));
	if (!vf || !fdtab_fits(fd)) {
		REAL(close)(fd);
		vfile_put(vf);
		return vf ? -EMFILE : -ENOMEM;
	}
	vf->meta = *meta;
	vfile_put(fdtab_set(fd, vf));
	vfile_put(vf);
	return fd;
}

/*
 * An open that reads what the store holds (or what is staged here); head,
 * when not NULL, takes the file's first bytes if its metadata must be
 * asked for, and the open puts them in the cache.
 */
static int open_read(struct mount *m, const char *key, int flags, struct obj_head *head)
{
	enum vfile_kind kind = VFILE_REG;
	struct store_meta meta;
	char data[PATH_MAX];
	struct vfile *vf;
	int fd, rc, staged;

	rc = current(m, key, 1, &meta, data, &staged, head);
	if (rc == 0 && staged) {
		rc = open_staged_copy(m, key, &meta, data, flags);
		if (rc != -ENOENT)
			return rc;
		/*
		 * Its upload landed meanwhile.  Ask again: another process's
		 * upload is then forgotten, with what we knew of key before it;
		 * ours, still listed, is what the store holds now.
		 */
		rc = current(m, key, 1, &meta, data, &staged, NULL);
		if (rc == 0 && staged) {
			rc = open_staged_copy(m, key, &meta, data, flags);
			if (rc != -ENOENT)
				return rc;
			rc = obj_stat(m->st, key, &meta);
		}
	}
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
		rc = obj_open(m->st, key, &meta, head, &vf->obj);
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

int shim_open(struct mount *m, const char *key, int flags)
{
	struct obj_head head = { NULL, 0 };
	int rc, later = 0;

	if (!m->st)
		return -EIO;
	if (WRITE_FLAGS(flags)) {
		rc = open_for_write(m, key, flags, &later);
		if (!later)
			return rc;
	}
	rc = open_read(m, key, flags, later ? NULL : &head);
	obj_head_free(&head);
	return rc;
}

/*
 * An open for writing of "x/", which must be a directory: the kernel's
 * EISDIR for any create there, and to write a directory; ENOTDIR when x
 * is a file.
 */
static int open_dir_for_write(struct mount *m, const char *key, int flags)
{
	struct store_meta meta;
	char data[PATH_MAX];
	int staged, rc;

	if (flags & O_CREAT)
		return -EISDIR;
	rc = current(m, key, 1, &meta, data, &staged, NULL);
	if (rc)
		return rc;
	return meta.kind == STORE_DIR ? -EISDIR : -ENOTDIR;
}

int shim_open_path(struct mount *m, const char *key, const char *path, int flags)
{
	if (!path_wants_dir(path))
		return shim_open(m, key, flags);
	if (!m->st)
		return -EIO;
	if (WRITE_FLAGS(flags) || (flags & O_CREAT))
		return open_dir_for_write(m, key, flags);
	return shim_open(m, key, flags | O_DIRECTORY);
}

/* open of (dirfd, path) if it is mounted: see KERNEL_OR_SHIM, buf too. */
static int open_at(int dirfd, const char *path, int flags, int *handled, char *buf)
{
	const char *key;
	struct mount *m = route_as(dirfd, path, !(flags & O_NOFOLLOW), buf, &key);
	int rc;

	*handled = m != NULL;
	if (!m)
		return 0;
	guard_enter();
	rc = shim_open_path(m, key, path, flags);
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

	MODE_ARG(flags, mode);
	KERNEL_OR_SHIM(AT_FDCWD, path, flags & O_CREAT,
		       open_at(AT_FDCWD, path, flags, &handled_, local_),
		       REAL(open)(path, flags, mode));
}

EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	KERNEL_OR_SHIM(AT_FDCWD, path, flags & O_CREAT,
		       open_at(AT_FDCWD, path, flags, &handled_, local_),
		       REAL(open64)(path, flags, mode));
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	KERNEL_OR_SHIM(dirfd, path, flags & O_CREAT,
		       open_at(dirfd, path, flags, &handled_, local_),
		       REAL(openat)(dirfd, path, flags, mode));
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	KERNEL_OR_SHIM(dirfd, path, flags & O_CREAT,
		       open_at(dirfd, path, flags, &handled_, local_),
		       REAL(openat64)(dirfd, path, flags, mode));
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

/* 0, or what the last release of a written file reported (sync_close). */
static int release(int fd)
{
	struct vfile *vf = fdtab_clear(fd);
	int rc = 0;

	if (vf) {
		guard_enter();
		rc = vfile_release(vf);
		guard_leave();
	}
	return rc;
}

/* close of a mounted descriptor: out of line, so close() itself saves nothing */
static __attribute__((noinline)) int close_mounted(int fd)
{
	/* out of the table first: the number may be reused the moment it closes */
	int rc = release(fd), real = REAL(close)(fd);

	return rc ? (int)fail(rc) : real;
}

EXPORT int close(int fd)
{
	return fdtab_has(fd) ? close_mounted(fd) : REAL(close)(fd);
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
