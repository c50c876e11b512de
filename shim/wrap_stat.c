/* SPDX-License-Identifier: MIT */
/*
 * wrap_stat.c - the stat family in both glibc ABIs (stat, lstat, fstat,
 * fstatat, statx and their 64 forms since glibc 2.33; __xstat, __lxstat,
 * __fxstat, __fxstatat and their 64 forms before), access and faccessat.
 *
 * Object stores have no links, so lstat is stat.  On x86_64 struct stat64
 * and struct stat are one layout, which lets one function fill both.
 */
#include <string.h>
#include <sys/sysmacros.h>

#include "backend/engine.h"
#include "shim/staged.h"
#include "shim/wrap.h"

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64 layout");

static int stat_key(struct mount *m, const char *key, struct stat *sb)
{
	struct store_meta meta;
	int rc;

	guard_enter();
	rc = staged_stat(m, key, &meta);	/* a program sees what it wrote */
	guard_leave();
	if (rc == 0)
		vfile_fill_stat(m, key, &meta, sb);
	return rc;
}

static int stat_vfile(int fd, struct stat *sb, int *handled)
{
	struct vfile *vf = vfile_get(fd);

	struct store_meta meta;

	*handled = vf != NULL;
	if (!vf)
		return 0;
	meta = vf->meta;
	if (vf->kind == VFILE_STAGED && REAL(fstat)(fd, sb) == 0) {
		meta.kind = STORE_FILE;
		meta.size = sb->st_size;
		meta.mtime = sb->st_mtim;
	}
	vfile_fill_stat(vf->mnt, vf->key, &meta, sb);
	guard_enter();
	vfile_put(vf);
	guard_leave();
	return 0;
}

/*
 * stat of (dirfd, path) when it is mounted: *handled says whether it was
 * (buf: see KERNEL_OR_SHIM).  An empty path with AT_EMPTY_PATH means dirfd
 * itself.
 */
static int stat_at(int dirfd, const char *path, struct stat *sb, int flags, int *handled,
		   char *buf)
{
	const char *key;
	struct mount *m;
	int rc;

	if (path && path[0] == '\0' && (flags & AT_EMPTY_PATH)) {
		buf[0] = '\0';
		return stat_vfile(dirfd, sb, handled);
	}
	m = route_as(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), buf, &key);
	*handled = m != NULL;
	if (!m)
		return 0;
	rc = stat_key(m, key, sb);
	if (rc == 0 && !S_ISDIR(sb->st_mode) && path_wants_dir(path))
		rc = -ENOTDIR;	/* "file/" */
	return (int)ret_or_fail(rc);
}

#define STAT_AT(dirfd, path, sb, flags, otherwise) \
	KERNEL_OR_SHIM(dirfd, path, 0, \
		       stat_at(dirfd, path, (struct stat *)(sb), flags, &handled_, local_), otherwise)

/*
 * fstat of a descriptor in the table, out of line so that the wrappers
 * save nothing on their way to the kernel (see read in wrap_rw.c).  One
 * closed meanwhile is the kernel's to answer: every fstat form fills the
 * same struct stat on this ABI.
 */
static __attribute__((noinline)) int fstat_mounted(int fd, struct stat *sb)
{
	int handled, rc = stat_vfile(fd, sb, &handled);

	return handled ? rc : REAL(fstat)(fd, sb);
}

#define STAT_FD(fd, sb, otherwise) \
	return fdtab_has(fd) ? fstat_mounted(fd, (struct stat *)(sb)) : (otherwise)

EXPORT int stat(const char *path, struct stat *sb)
{
	STAT_AT(AT_FDCWD, path, sb, 0, REAL(stat)(path, sb));
}

EXPORT int stat64(const char *path, struct stat64 *sb)
{
	STAT_AT(AT_FDCWD, path, sb, 0, REAL(stat64)(path, sb));
}

EXPORT int lstat(const char *path, struct stat *sb)
{
	STAT_AT(AT_FDCWD, path, sb, AT_SYMLINK_NOFOLLOW, REAL(lstat)(path, sb));
}

EXPORT int lstat64(const char *path, struct stat64 *sb)
{
	STAT_AT(AT_FDCWD, path, sb, AT_SYMLINK_NOFOLLOW, REAL(lstat64)(path, sb));
}

EXPORT int fstat(int fd, struct stat *sb)
{
	STAT_FD(fd, sb, REAL(fstat)(fd, sb));
}

EXPORT int fstat64(int fd, struct stat64 *sb)
{
	STAT_FD(fd, sb, REAL(fstat64)(fd, sb));
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *sb, int flags)
{
	STAT_AT(dirfd, path, sb, flags, REAL(fstatat)(dirfd, path, sb, flags));
}

EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *sb, int flags)
{
	STAT_AT(dirfd, path, sb, flags, REAL(fstatat64)(dirfd, path, sb, flags));
}

EXPORT int __xstat(int ver, const char *path, struct stat *sb)
{
	STAT_AT(AT_FDCWD, path, sb, 0, REAL(__xstat)(ver, path, sb));
}

EXPORT int __xstat64(int ver, const char *path, struct stat64 *sb)
{
	STAT_AT(AT_FDCWD, path, sb, 0, REAL(__xstat64)(ver, path, sb));
}

EXPORT int __lxstat(int ver, const char *path, struct stat *sb)
{
	STAT_AT(AT_FDCWD, path, sb, AT_SYMLINK_NOFOLLOW, REAL(__lxstat)(ver, path, sb));
}

EXPORT int __lxstat64(int ver, const char *path, struct stat64 *sb)
{
	STAT_AT(AT_FDCWD, path, sb, AT_SYMLINK_NOFOLLOW, REAL(__lxstat64)(ver, path, sb));
}

EXPORT int __fxstat(int ver, int fd, struct stat *sb)
{
	STAT_FD(fd, sb, REAL(__fxstat)(ver, fd, sb));
}

EXPORT int __fxstat64(int ver, int fd, struct stat64 *sb)
{
	STAT_FD(fd, sb, REAL(__fxstat64)(ver, fd, sb));
}

EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *sb, int flags)
{
	STAT_AT(dirfd, path, sb, flags, REAL(__fxstatat)(ver, dirfd, path, sb, flags));
}

EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *sb, int flags)
{
	STAT_AT(dirfd, path, sb, flags, REAL(__fxstatat64)(ver, dirfd, path, sb, flags));
}

static struct statx_timestamp to_stx_time(struct timespec ts)
{
	struct statx_timestamp t = { .tv_sec = ts.tv_sec, .tv_nsec = (__u32)ts.tv_nsec };

	return t;
}

static void fill_statx(const struct stat *sb, struct statx *stx)
{
	memset(stx, 0, sizeof(*stx));
	stx->stx_mask = STATX_BASIC_STATS;
	stx->stx_blksize = (__u32)sb->st_blksize;
	stx->stx_nlink = (__u32)sb->st_nlink;
	stx->stx_uid = sb->st_uid;
	stx->stx_gid = sb->st_gid;
	stx->stx_mode = (__u16)sb->st_mode;
	stx->stx_ino = sb->st_ino;
	stx->stx_size = (__u64)sb->st_size;
	stx->stx_blocks = (__u64)sb->st_blocks;
	stx->stx_atime = to_stx_time(sb->st_atim);
	stx->stx_mtime = to_stx_time(sb->st_mtim);
	stx->stx_ctime = to_stx_time(sb->st_ctim);
	stx->stx_dev_major = major(sb->st_dev);
	stx->stx_dev_minor = minor(sb->st_dev);
}

int shim_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx,
	       int *handled, char *buf)
{
	struct stat sb;
	int rc = stat_at(dirfd, path, &sb, flags, handled, buf);

	if (*handled && rc == 0)
		fill_statx(&sb, stx);
	return rc;
}

EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	KERNEL_OR_SHIM(dirfd, path, 0, shim_statx(dirfd, path, flags, mask, stx, &handled_, local_),
		       REAL(statx)(dirfd, path, flags, mask, stx));
}

static int access_at(int dirfd, const char *path, int mode, int *handled, char *buf)
{
	struct stat sb;
	int rc = stat_at(dirfd, path, &sb, 0, handled, buf);

	if (!*handled || rc != 0)
		return rc;
	if ((mode & W_OK) && !(sb.st_mode & S_IWUSR))
		return (int)fail(-EROFS);
	if ((mode & X_OK) && !S_ISDIR(sb.st_mode))
		return (int)fail(-EACCES);
	return 0;
}

EXPORT int access(const char *path, int mode)
{
	KERNEL_OR_SHIM(AT_FDCWD, path, 0, access_at(AT_FDCWD, path, mode, &handled_, local_),
		       REAL(access)(path, mode));
}

/* glibc's eaccess answers through an internal fstatat: wrapped itself. */
EXPORT int euidaccess(const char *path, int mode)
{
	KERNEL_OR_SHIM(AT_FDCWD, path, 0, access_at(AT_FDCWD, path, mode, &handled_, local_),
		       REAL(euidaccess)(path, mode));
}

EXPORT int eaccess(const char *path, int mode)
{
	return euidaccess(path, mode);
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	KERNEL_OR_SHIM(dirfd, path, 0, access_at(dirfd, path, mode, &handled_, local_),
		       REAL(faccessat)(dirfd, path, mode, flags));
}
