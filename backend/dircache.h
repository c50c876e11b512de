/* SPDX-License-Identifier: MIT */
/*
 * dircache.h - the engine's side of directory listings.
 *
 * dir.c lists directories into snapshots; dircache.c keeps the complete
 * ones by store and key, for the metadata TTL from the moment the listing
 * started, and as long as no metacache_forget came after that moment.
 * Within those bounds a snapshot also answers stat for the names in its
 * directory, and for the names missing from it (-ENOENT).
 */
#ifndef CLOUDSHIM_DIRCACHE_H
#define CLOUDSHIM_DIRCACHE_H

#include "backend/dir.h"

/* Beyond either bound the least recently used snapshots are dropped. */
#define DIRCACHE_MAX_DIRS	128
#define DIRCACHE_MAX_ENTRIES	100000	/* over all snapshots kept */

struct dirlist {
	struct dir_entry *entries;	/* sorted, names unique, each malloc'd */
	size_t count;
	long listed_ms;			/* clock_ms() when the listing started */
	unsigned epoch;			/* metacache_epoch() then */
	int refs;			/* under the dircache lock */
};

/* A fresh snapshot of directory key, with a reference for the caller. */
struct dirlist *dircache_get(const struct store *st, const char *key);

/* Keeps dl, a complete listing of key, with a reference of its own. */
void dircache_put(const struct store *st, const char *key, struct dirlist *dl);

/* Drops a reference; the last one frees dl. */
void dircache_release(struct dirlist *dl);

/*
 * 1 with *rc and *meta filled when a fresh snapshot of key's parent
 * answers for key (0 and its entry, or -ENOENT); else 0.
 */
int dircache_stat(const struct store *st, const char *key, int *rc,
		  struct store_meta *meta);

/*
 * For obj_stat on a STORE_CAP_PREFIX_DIRS store, once store_stat said
 * -ENOENT: whether anything lies below key, from the first page of its
 * listing (in dir.c).  A first page that is the whole listing is kept as
 * the snapshot, so the opendir that usually follows costs nothing.
 */
int dir_probe(struct store *st, const char *key, struct store_meta *meta);

/*
 * Lists the first page of directory key, for what it tells the metacache
 * (metacache_subdirs) and, when it is the whole listing, the dircache.
 */
int dir_survey(struct store *st, const char *key);

void dircache_fork_lock(void);
void dircache_fork_unlock(void);

#endif
