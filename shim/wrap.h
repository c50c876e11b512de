/* SPDX-License-Identifier: MIT */
/*
 * wrap.h - what every wrapper file shares.
 *
 * A wrapper is a few lines: is this a mounted path or descriptor?  If not,
 * straight to REAL(); if so, the shim's logic with the guard held, and
 * errno set on the way out, only on failure.
 */
#ifndef CLOUDSHIM_WRAP_H
#define CLOUDSHIM_WRAP_H

#include <alloca.h>
#include <errno.h>
#include <sys/stat.h>

#include "shim/guard.h"
#include "shim/mount.h"
#include "shim/path.h"
#include "shim/real.h"
#include "shim/staged.h"
#include "shim/vfile.h"

#define EXPORT __attribute__((visibility("default")))

/* open(2) reads a mode argument only for these flags (glibc's rule). */
#define OPEN_NEEDS_MODE(flags) \
	(((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE)

/* A -errno result as a C library call returns it. */
static inline long fail(long rc)
{
	errno = (int)-rc;
	return -1;
}

static inline long ret_or_fail(long rc)
{
	return rc < 0 ? fail(rc) : rc;
}

/*
 * The mount (dirfd, path) is under, unless the shim itself is calling
 * (see mount_resolve): route_as with follow for calls that follow links.
 */
static inline struct mount *route_as(int dirfd, const char *path, int follow, char *buf,
				     const char **key)
{
	if (guard_busy()) {
		buf[0] = '\0';
		return NULL;
	}
	return mount_resolve(dirfd, path, follow, buf, key);
}

/*
 * What the kernel gets for a path route found local: the path resolved by
 * text when it climbs out of a mount (buf), which the kernel cannot walk
 * through the mount, else the path as written.
 */
static inline const char *kernel_path(const char *path, const char *buf)
{
	return buf[0] ? buf : path;
}

/*
 * 1 when path is mounted or climbs out of a mount with "..": a C library
 * function that would reach it through its own internal calls (mkstemp,
 * glob) must be done through ours, which can walk it.
 */
static inline int needs_our_calls(const char *path)
{
	char buf[PATH_MAX];
	const char *key;

	return path && (route_as(AT_FDCWD, path, 1, buf, &key) != NULL || buf[0]);
}

static inline struct mount *route(int dirfd, const char *path, char *buf, const char **key)
{
	return route_as(dirfd, path, 0, buf, key);
}

static inline struct mount *route_following(int dirfd, const char *path, char *buf,
					    const char **key)
{
	return route_as(dirfd, path, 1, buf, key);
}

/*
 * The body of a wrapper of a call on (dirfd, path) that returns a type,
 * failure when it fails; creates says whether the kernel's call may
 * create the path.  When the kernel may take the path first
 * (mount_local_first) the kernel's call runs, and the shim's only if it
 * fails on a path that climbs (no other can reach a mount from there) and
 * the shim is not the caller (guard); else the shim's if the
 * path is mounted, the kernel's if not.  shim is an expression that sets
 * handled_ to whether the path was mounted and fills local_ as
 * mount_resolve fills its buffer: a path that climbs out of a mount
 * reaches the kernel as local_, resolved by text.
 *
 * local_ is alloca'd on the way to the shim, not declared: a PATH_MAX
 * array in the frame put every call outside the mounts 4 KiB deeper in
 * the stack, a page the C library's call then touches after each system
 * call has emptied the TLB (page-table isolation).  That was 0.5 % of an
 * open/fstat/read/close loop here, a quarter of what the shim costs it.
 */
#define KERNEL_OR_SHIM_AS(type, failure, dirfd, path, creates, shim, kernel) \
	do { \
		char *local_; \
		type rc_; \
		int handled_, errno_ = 0; \
		if (mount_local_first(dirfd, path, creates)) { \
			if ((rc_ = (kernel)) != (failure) || guard_busy() || \
			    !mount_path_climbs(path)) \
				return rc_; \
			errno_ = errno; \
		} \
		local_ = alloca(PATH_MAX); \
		rc_ = (shim); \
		if (handled_) \
			return rc_; \
		if (errno_ && !local_[0]) { \
			errno = errno_; \
			return failure; \
		} \
		path = kernel_path(path, local_); \
		return (kernel); \
	} while (0)

/* The same for the calls that return an int, -1 when they fail. */
#define KERNEL_OR_SHIM(dirfd, path, creates, shim, kernel) \
	KERNEL_OR_SHIM_AS(int, -1, dirfd, path, creates, shim, kernel)

/*
 * The registries of directory streams (wrap_dir.c), spawn file actions
 * (wrap_exec.c) and stdio streams (wrap_stdio.c): their locks, taken
 * around fork so that a child never inherits one locked (mount.c).
 */
void dirs_fork_lock(void);
void dirs_fork_unlock(void);
void spawn_actions_fork_lock(void);
void spawn_actions_fork_unlock(void);
void streams_fork_lock(void);
void streams_fork_unlock(void);

/* A child process ended (wrap_wait.c): what its writes changed is asked again. */
void reaped_child(void);

/* Defined in wrap_open.c and wrap_rw.c, used across the wrappers. */
int shim_open(struct mount *m, const char *key, int flags);
/* shim_open of key as the program wrote its path: "x/" must be a directory. */
int shim_open_path(struct mount *m, const char *key, const char *path, int flags);
ssize_t vfile_read_at(struct vfile *vf, void *buf, size_t len, off_t off);
ssize_t vfile_read(struct vfile *vf, int fd, void *buf, size_t len);
/*
 * A call about to change fd's bytes (wrap_rw.c): 0, or -1 with errno set
 * when it may not.  A mounted fd is staged first, and the change is told
 * to its stream (shim/staged.h) by shim_change_end, which returns result
 * with errno as the call left it.  *vf is for shim_change_end.
 */
int shim_change_begin(int fd, struct staged_change *c, struct vfile **vf);
long shim_change_end(int fd, struct staged_change *c, struct vfile *vf, long result);

/* Returns call, a change of fd's bytes, made between the two above. */
#define ON_CHANGE(fd, op_, off_, len_, call) \
	do { \
		if (!fdtab_has(fd)) \
			return call;	/* a local descriptor: nothing to tell */ \
		struct staged_change c_ = { .op = (op_), .off = (off_), .len = (len_) }; \
		struct vfile *vf_; \
		if (shim_change_begin(fd, &c_, &vf_)) \
			return -1; \
		return shim_change_end(fd, &c_, vf_, call); \
	} while (0)
/* Defined in wrap_stat.c: statx of (dirfd, path) if it is mounted. */
int shim_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx,
	       int *handled, char *buf);
/* Defined in wrap_dir.c: getdents64(2) on a mounted directory. */
ssize_t vfile_getdents(struct vfile *vf, void *buf, size_t len);

#endif
