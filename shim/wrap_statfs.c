/* SPDX-License-Identifier: MIT */
/*
 * wrap_statfs.c - statfs and statvfs (and their f and 64 forms) on
 * mounted paths: a store has no capacity to report, so the answer is a
 * file system of its own (f_type "CSHM") that is large, empty and, for a
 * read-only mount, read-only.  df and programs checking free space then
 * proceed as they would on a big disk.  pathconf and fpathconf give the
 * same file system's limits.
 */
#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include "shim/mutate.h"
#include "shim/wrap.h"

_Static_assert(sizeof(struct statfs) == sizeof(struct statfs64), "statfs64 layout");
_Static_assert(sizeof(struct statvfs) == sizeof(struct statvfs64), "statvfs64 layout");

#define FS_MAGIC 0x4d485343	/* "CSHM" */
#define FS_BLOCK (1 << 20)
#define FS_BLOCKS (1ULL << 32)	/* 4 PiB of blocks, all free */
#define FS_NAME_MAX 1024	/* S3's longest key */

static void fill_statvfs(const struct mount *m, struct statvfs *v)
{
	memset(v, 0, sizeof(*v));
	v->f_bsize = v->f_frsize = FS_BLOCK;
	v->f_blocks = v->f_bfree = v->f_bavail = FS_BLOCKS;
	v->f_files = v->f_ffree = v->f_favail = FS_BLOCKS;
	v->f_fsid = m->dev;
	v->f_namemax = FS_NAME_MAX;
	v->f_flag = ST_NOSUID | ST_NODEV | (mount_writable(m) ? 0 : ST_RDONLY);
}

static void fill_statfs(const struct mount *m, struct statfs *f)
{
	struct statvfs v;

	fill_statvfs(m, &v);
	memset(f, 0, sizeof(*f));
	f->f_type = FS_MAGIC;
	f->f_bsize = f->f_frsize = (long)v.f_bsize;
	f->f_blocks = v.f_blocks;
	f->f_bfree = v.f_bfree;
	f->f_bavail = v.f_bavail;
	f->f_files = v.f_files;
	f->f_ffree = v.f_ffree;
	f->f_namelen = (long)v.f_namemax;
	f->f_flags = (long)v.f_flag;
}

/*
 * The mount of a path, if it exists there (statfs of a missing path:
 * ENOENT); buf as route leaves it, for kernel_path.
 */
static const struct mount *path_mount(const char *path, int *rc, char *buf)
{
	const char *key;
	struct mount *m = route_following(AT_FDCWD, path, buf, &key);

	if (m) {
		guard_enter();
		*rc = mutate_exists(m, key);
		guard_leave();
	}
	return m;
}

static const struct mount *fd_mount(int fd)
{
	struct vfile *vf = vfile_get(fd);
	const struct mount *m = vf ? vf->mnt : NULL;

	if (vf) {
		guard_enter();
		vfile_put(vf);
		guard_leave();
	}
	return m;
}

#define BY_PATH(path, buf, fill, otherwise) \
	do { \
		char local_[PATH_MAX]; \
		int rc_ = 0; \
		const struct mount *m_ = path_mount(path, &rc_, local_); \
		if (!m_) { \
			path = kernel_path(path, local_); \
			return otherwise; \
		} \
		if (rc_) \
			return (int)fail(rc_); \
		fill(m_, (void *)(buf)); \
		return 0; \
	} while (0)

#define BY_FD(fd, buf, fill, otherwise) \
	do { \
		const struct mount *m_ = fd_mount(fd); \
		if (!m_) \
			return otherwise; \
		fill(m_, (void *)(buf)); \
		return 0; \
	} while (0)

EXPORT int statfs(const char *p, struct statfs *b)
{
	BY_PATH(p, b, fill_statfs, REAL(statfs)(p, b));
}

EXPORT int statfs64(const char *p, struct statfs64 *b)
{
	BY_PATH(p, b, fill_statfs, REAL(statfs64)(p, b));
}

EXPORT int fstatfs(int fd, struct statfs *b)
{
	BY_FD(fd, b, fill_statfs, REAL(fstatfs)(fd, b));
}

EXPORT int fstatfs64(int fd, struct statfs64 *b)
{
	BY_FD(fd, b, fill_statfs, REAL(fstatfs64)(fd, b));
}

EXPORT int statvfs(const char *p, struct statvfs *b)
{
	BY_PATH(p, b, fill_statvfs, REAL(statvfs)(p, b));
}

EXPORT int statvfs64(const char *p, struct statvfs64 *b)
{
	BY_PATH(p, b, fill_statvfs, REAL(statvfs64)(p, b));
}

EXPORT int fstatvfs(int fd, struct statvfs *b)
{
	BY_FD(fd, b, fill_statvfs, REAL(fstatvfs)(fd, b));
}

EXPORT int fstatvfs64(int fd, struct statvfs64 *b)
{
	BY_FD(fd, b, fill_statvfs, REAL(fstatvfs64)(fd, b));
}

/*
 * pathconf of something on a mount: the limits that are the file
 * system's are the store's; the rest (PATH_MAX, PIPE_BUF, ...) are the C
 * library's, the same for every file system, asked of "/".
 */
static long mount_pathconf(int name)
{
	switch (name) {
	case _PC_NAME_MAX:	return FS_NAME_MAX;
	case _PC_FILESIZEBITS:	return 64;
	case _PC_2_SYMLINKS:	return 0;	/* a store has no symbolic links */
	default:		return REAL(pathconf)("/", name);
	}
}

EXPORT long pathconf(const char *p, int name)
{
	char local[PATH_MAX];
	int rc = 0;
	const struct mount *m = path_mount(p, &rc, local);

	if (!m)
		return REAL(pathconf)(kernel_path(p, local), name);
	return rc ? fail(rc) : mount_pathconf(name);
}

EXPORT long fpathconf(int fd, int name)
{
	return fd_mount(fd) ? mount_pathconf(name) : REAL(fpathconf)(fd, name);
}
