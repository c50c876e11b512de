/* SPDX-License-Identifier: MIT */
/*
 * path.h - lexical path arithmetic, with no system calls.
 *
 * Object stores have no symbolic links, so under a mount a path means what
 * it says: ".", ".." and repeated slashes are resolved by text alone.  A
 * path that climbs out of a mount through ".." is a local path.
 */
#ifndef CLOUDSHIM_PATH_H
#define CLOUDSHIM_PATH_H

#include <stddef.h>

/*
 * Writes the absolute, normalised form of path into out (relative paths
 * are taken against base, itself absolute).  Returns 0, or -ENAMETOOLONG
 * when it does not fit.
 */
int path_normalize(const char *base, const char *path, char *out, size_t outsize);

/*
 * When the normalised path norm is prefix or lies below it, returns the
 * rest ("" or "a/b", no leading '/'); otherwise NULL.
 */
const char *path_under(const char *norm, const char *prefix, size_t prefix_len);

/*
 * 1 when path can only name a directory: it ends in "/" or "/."; the
 * kernel gives ENOTDIR for a file there, but normalising drops them.
 */
int path_wants_dir(const char *path);

#endif
