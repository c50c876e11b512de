/* SPDX-License-Identifier: MIT */
/*
 * engine.h - what the POSIX face uses to read objects.
 *
 * An obj is one opened version of one object: its metadata, its pages in
 * the block cache and the fetches in flight for it.  Every descriptor open
 * on the same version shares one obj.  Calls return 0 (or a byte count)
 * or -errno, and never touch errno.
 */
#ifndef CLOUDSHIM_ENGINE_H
#define CLOUDSHIM_ENGINE_H

#include <sys/types.h>

#include "backend/conf.h"
#include "backend/prefetch.h"
#include "backend/store.h"

struct obj;

/* Applies the engine settings; call before any other engine function. */
void engine_configure(const struct engine_conf *ec);

/* Runs first on every engine thread (the shim marks them not intercepted). */
void engine_set_thread_hook(void (*hook)(void));

/*
 * pthread_atfork handlers: every engine lock is held across fork, so the
 * child starts from consistent state, then has no threads, no connections
 * and no fetches in flight; what it reads it fetches itself.
 */
void engine_fork_prepare(void);
void engine_fork_parent(void);
void engine_fork_child(void);

/*
 * stat through the metadata cache: at most one store request per TTL for
 * a file (what open asks).  obj_stat_path answers the same for a stat of
 * a path, which names a directory as often as not (ls, find, du, tar are
 * given directories): a directory costs one listing, whose first page
 * then serves the readdir and the stats of its entries that follow, and
 * a file costs that listing and a HEAD.
 */
int obj_stat(struct store *st, const char *key, struct store_meta *meta);
int obj_stat_path(struct store *st, const char *key, struct store_meta *meta);

/*
 * 1 when key is a directory, 0 when it is a file or nothing, or -errno:
 * one listing at most (what a create that truncates needs to know).
 */
int obj_is_dir(struct store *st, const char *key);

/*
 * key changed in the store by our own hand: meta is what it is now, or
 * NULL when it is gone.  Listings taken before no longer answer for it;
 * when it exists, its parents are directories from now on.
 */
void obj_changed(const struct store *st, const char *key, const struct store_meta *meta);

/*
 * Another process (a child that ended, whose uploads are done) may have
 * changed any key: what stat and listings answered before is asked
 * again.  Async-signal-safe.
 */
void obj_others_changed(void);

/*
 * The first bytes of a file, fetched with its metadata by obj_stat_open:
 * data is malloc'd (NULL and len 0 when there are none).
 */
struct obj_head {
	char *data;
	size_t len;
};

/*
 * obj_stat for an open that will read key: where no fresh answer is
 * cached, one request brings the metadata and, from stores that can send
 * both at once, the first OBJ_HEAD_BYTES of the file into head.  A
 * program that opens a small file by name and reads it makes one request
 * instead of two (a HEAD and a GET).
 */
#define OBJ_HEAD_BYTES	((size_t)256 << 10)
int obj_stat_open(struct store *st, const char *key, struct store_meta *meta,
		  struct obj_head *head);
void obj_head_free(struct obj_head *head);

/*
 * Opens the version of a file that meta (from obj_stat) describes; head
 * (may be NULL) is that version's first bytes, from obj_stat_open, which
 * go into the cache.
 */
int obj_open(struct store *st, const char *key, const struct store_meta *meta,
	     const struct obj_head *head, struct obj **out);
const struct store_meta *obj_meta(const struct obj *o);

/*
 * A read of [off, off+len) is about to happen: feeds pf, the open file's
 * read-ahead state, and starts the read-ahead it advises.  The caller
 * serialises calls on one pf; obj_read itself needs no lock.
 */
void obj_advise(struct obj *o, struct prefetch *pf, off_t off, size_t len);

/*
 * Reads [off, off+len) into buf through the cache.  Returns bytes read (0
 * at end of object) or -errno; -ESTALE once the object changed, for every
 * later read too.
 */
ssize_t obj_read(struct obj *o, void *buf, size_t len, off_t off);

void obj_close(struct obj *o);

#endif
