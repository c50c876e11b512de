/* SPDX-License-Identifier: MIT */
/*
 * mutate.h - changing the namespace of a writable mount: unlink, rename,
 * mkdir, rmdir, truncate.  Each waits for uploads of the keys it touches
 * first, so a rename right after close moves the new bytes, not the old.
 * Calls return 0 or -errno.
 */
#ifndef CLOUDSHIM_MUTATE_H
#define CLOUDSHIM_MUTATE_H

#include <sys/types.h>

#include "shim/mount.h"

int mount_writable(const struct mount *m);

int mutate_unlink(struct mount *m, const char *key);
int mutate_rmdir(struct mount *m, const char *key);
int mutate_mkdir(struct mount *m, const char *key);
/* Files: copy then delete.  Directories: each object below, not atomically. */
int mutate_rename(struct mount *m, const char *from, const char *to);
int mutate_truncate(struct mount *m, const char *key, off_t len);
/* chmod, chown, utime and friends: 0 when key exists (stores keep no modes). */
int mutate_exists(struct mount *m, const char *key);
/*
 * For a path written "x/" (path_wants_dir): 0 when key is a directory,
 * -ENOTDIR when it is a file, -ENOENT when neither, as the kernel's path
 * lookup answers before any call acts on it.
 */
int mutate_must_be_dir(struct mount *m, const char *key);

#endif
