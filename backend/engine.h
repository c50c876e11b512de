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

/* stat through the metadata cache: at most one store request per TTL. */
int obj_stat(struct store *st, const char *key, struct store_meta *meta);

/* Opens the current version of a file; -EISDIR for a directory. */
int obj_open(struct store *st, const char *key, struct obj **out);
const struct store_meta *obj_meta(const struct obj *o);

/*
 * Reads [off, off+len) into buf through the cache; pf is the open file's
 * read-ahead state (NULL: none).  Returns bytes read (0 at end of object)
 * or -errno; -ESTALE once the object changed, for every later read too.
 */
ssize_t obj_read(struct obj *o, struct prefetch *pf, void *buf, size_t len, off_t off);

void obj_close(struct obj *o);

#endif
