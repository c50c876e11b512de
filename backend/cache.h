/* SPDX-License-Identifier: MIT */
/*
 * cache.h - the process-wide block cache of object bytes.
 *
 * Objects are cut into 64 KiB pages keyed by (object id, page index); an
 * object id names one version of one object, so every descriptor open on
 * that version shares its pages.  Memory is bounded hard by the configured
 * size; ready pages nobody is copying are evicted least recently used first.
 *
 * A page is claimed (pending) by whoever will fetch it, filled through
 * cache_run_fill as bytes arrive from the network, and becomes ready the
 * moment its last byte lands, so a reader waits for its own page, not for
 * the whole request.  A failed fetch drops its pages and tells the waiters.
 */
#ifndef CLOUDSHIM_CACHE_H
#define CLOUDSHIM_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CACHE_PAGE_SHIFT	16
#define CACHE_PAGE_SIZE		((size_t)1 << CACHE_PAGE_SHIFT)

struct cache_run;	/* consecutive pages claimed by one fetch */

struct cache_stats {
	size_t bytes_used;	/* page memory held now */
	size_t bytes_limit;
	size_t peak_used;
	unsigned long evictions;
};

void cache_set_limit(size_t bytes);
uint64_t cache_new_id(void);

/*
 * Copies the ready bytes of [off, off+len) of object id into buf, stopping
 * at the first page that is not ready.  Returns the number of bytes copied.
 */
size_t cache_copy(uint64_t id, off_t off, void *buf, size_t len);

/*
 * For the page holding off: 0 when it is ready, 1 when nobody holds or
 * fetches it, or -errno when the fetch that was filling it failed.  Waits
 * while it is being fetched.
 */
int cache_wait(uint64_t id, off_t off);

/*
 * Claims the missing pages of [off, off+len) from off's page on, stopping
 * at the first page already present; size is the object's size.  When the
 * memory bound leaves no page free, waits for one if may_wait (a reader
 * needs it) or gives up (read-ahead).  Returns the bytes claimed (from
 * off's page start) with *run set, 0 when off's page is already present,
 * -ENOBUFS when read-ahead found no memory, or -errno.
 */
ssize_t cache_claim(uint64_t id, off_t off, size_t len, off_t size, int may_wait,
		    struct cache_run **run);

/* Where a claimed run starts and ends in the object. */
off_t cache_run_start(const struct cache_run *run);
off_t cache_run_end(const struct cache_run *run);

/* A store_sink_fn: bytes for the run, in order. */
int cache_run_fill(void *run, off_t off, const char *data, size_t len);

/*
 * Ends a run: pages not filled are dropped and their waiters get err (or
 * -EIO when err is 0 but the store sent too few bytes).  Frees the run.
 */
void cache_run_finish(struct cache_run *run, int err);

void cache_get_stats(struct cache_stats *st);

/*
 * fork: lock before, unlock after in both processes, then in the child
 * drop the pages the parent's threads were filling.
 */
void cache_fork_lock(void);
void cache_fork_unlock(void);
void cache_after_fork_child(void);

#endif
