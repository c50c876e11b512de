/* SPDX-License-Identifier: MIT */
/*
 * dir.h - directory listings as the POSIX face reads them.
 *
 * A dirlist is an immutable snapshot of one directory: its entries sorted
 * by name (bytewise), each with what the listing said of it.  Snapshots
 * are shared and reference counted, and a fresh one (younger than the
 * metadata TTL) is reused, so opendir, readdir and rewinddir cost one
 * listing per TTL.  Listing a directory also answers the stat of every
 * entry in it (obj_stat asks no store for those within the TTL).
 * Calls return 0 or -errno and never touch errno.
 */
#ifndef CLOUDSHIM_DIR_H
#define CLOUDSHIM_DIR_H

#include <stddef.h>

#include "backend/store.h"

struct dir_entry {
	const char *name;		/* one component: no '/', never "" */
	struct store_meta meta;		/* kind STORE_FILE or STORE_DIR */
};

struct dirlist;

/*
 * The listing of directory key ("" is the mount's root): -ENOENT when
 * nothing is there, -ENOTDIR when key is a file, -ENOTSUP when the store
 * cannot list (plain HTTP).
 */
int dir_open(struct store *st, const char *key, struct dirlist **out);
size_t dirlist_count(const struct dirlist *dl);
const struct dir_entry *dirlist_entry(const struct dirlist *dl, size_t i);
void dir_close(struct dirlist *dl);

#endif
