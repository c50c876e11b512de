/* SPDX-License-Identifier: MIT */
/*
 * mount.h - the configured mounts, and which of them a path falls under.
 *
 * Set up once, by the library's constructor (or by the first wrapper that
 * runs before it).  A mount whose store could not be set up stays in the
 * table with no store, so its paths fail with EIO and never fall through
 * to the local disk unnoticed.
 */
#ifndef CLOUDSHIM_MOUNT_H
#define CLOUDSHIM_MOUNT_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct store;

struct mount {
	char *path;		/* normalised, no trailing '/' */
	size_t len;
	struct store *st;	/* NULL: the store failed to set up */
	int read_only;
	dev_t dev;		/* st_dev reported for its files */
};

/* 1 when any mount is configured (after init). */
int mounts_active(void);

/* Runs the one-time set-up if it has not run yet. */
void shim_init(void);

/*
 * The mount that (dirfd, path) falls under, with *key set to the object
 * key within it (inside buf, PATH_MAX bytes), or NULL for a local path.
 * A path through a mounted descriptor's link (/proc/self/fd/N/...) is
 * under the mount of what it stands for; the link itself only if follow,
 * as for calls that follow links (open, stat), else it is a local link
 * (lstat, unlink).  For a local path that climbs out of a mount with ".."
 * (/data/../etc), which the kernel cannot walk, buf holds the path
 * resolved by text for the kernel; else buf is "".
 */
struct mount *mount_resolve(int dirfd, const char *path, int follow, char *buf,
			    const char **key);

/*
 * 1 when (dirfd, path) could fall under a mount only by climbing out of
 * where it starts with "..", and no mount's path was on the local disk
 * when the mounts were set up.  The kernel then finds nothing at a path
 * mount_resolve would put under a mount, unless a local symbolic link
 * takes the path elsewhere, where the kernel is right to go.  So a call
 * may go to the kernel first and ask mount_resolve only if the kernel
 * fails and the path climbs: local paths skip the search for "..", and
 * their failures (ENOENT along a search path) skip the shim altogether.
 * Not so for a call that creates (creates != 0) on a path that climbs:
 * the kernel would succeed and create, on the local disk, what
 * mount_resolve puts under a mount (/etc/../MOUNT makes a local MOUNT).
 */
int mount_local_first(int dirfd, const char *path, int creates);

/* path has a ".." component: a path that climbs may end anywhere. */
int mount_path_climbs(const char *path);

/*
 * 1 when path is the link the kernel keeps for a mounted descriptor
 * (/proc/self/fd/N, /dev/fd/N, /dev/stdin...), with the mounted path it
 * stands for in out (PATH_MAX bytes); else 0.
 */
int mount_fd_link(const char *path, char *out);

/* The descriptor N when path is such a link of a mounted one, else -1. */
int mount_fd_link_fd(const char *path);

/* Mounts by position in the configuration, for state passed across exec. */
int mount_index(const struct mount *m);
struct mount *mount_at(int index);

/* The current directory changed to a local one (chdir, fchdir). */
void mount_cwd_changed(void);

/*
 * The current directory is now the mounted directory path (normalised);
 * the kernel's is "/" meanwhile.  Relative paths resolve against it.
 */
void mount_set_cwd(const char *path);

/* 1 with the mounted current directory in out, or 0 when it is local. */
int mount_virtual_cwd(char *out, size_t n);

/* What a new program is told its mounted current directory is. */
#define CWD_ENV "CLOUDSHIM_CWD"

#endif
