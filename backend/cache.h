/* SPDX-License-Identifier: MIT */
/*
 * cache.h - the process-wide block cache of object bytes.
 *
 * Objects are cut into 64 KiB pages keyed by (object id, page index); an
 * object id names one version of one object, so every descriptor open on
 * that version shares its pages.  Memory is bounded hard by the configured
 * size, which counts each page's 4 KiB blocks and its record; pages nobody
 * is copying are evicted least recently used first.  Pages that will
 * likely not be read again go before the rest, and before the cache takes
 * memory it has never used: those a scan has passed (cache_spend), and
 * those of a run on trial that have been read once (cache_run_set_trial).
 *
 * A page holds one contiguous range of its bytes: all of them after a
 * sequential fetch, a few 4 KiB blocks after a small random read (so that
 * such a read fetches and touches little more than it asks for).  A run
 * claims the missing bytes of a range, fills them through cache_run_fill
 * as they arrive from the network, and each page's share becomes readable
 * the moment its last byte lands, so a reader waits for its own page, not
 * for the whole request.  A failed fetch tells the waiters.
 */
#ifndef CLOUDSHIM_CACHE_H
#define CLOUDSHIM_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CACHE_PAGE_SHIFT	16
#define CACHE_PAGE_SIZE		((size_t)1 << CACHE_PAGE_SHIFT)
#define CACHE_BLOCK_SIZE	((size_t)4096)	/* the least a page holds, and its unit of memory */
#define CACHE_PAGE_RECORD	((size_t)320)	/* what the bound charges a page besides its blocks */

struct cache_run;	/* consecutive pages claimed by one fetch */

struct cache_stats {
	size_t bytes_used;	/* blocks and page records held now */
	size_t bytes_limit;
	size_t peak_used;
	unsigned long evictions;
};

void cache_set_limit(size_t bytes);
uint64_t cache_new_id(void);

/*
 * Copies the bytes of [off, off+len) of object id that the cache holds into
 * buf, stopping at the first missing one.  Returns the number copied.
 */
size_t cache_copy(uint64_t id, off_t off, void *buf, size_t len);

/*
 * A streaming reader is done with [off, off+len) of object id: the pages
 * wholly held whose end lies there are "spent".  Spent pages are evicted
 * first, and before the cache takes memory it never used: a scan of an
 * object larger than the cache cannot stay in it, so the pages it has read
 * are the cheapest memory for what it reads next.  A spent page read
 * again is an ordinary one once more.
 */
void cache_spend(uint64_t id, off_t off, size_t len);

/*
 * Nothing has id open any more: its pages read ahead and not read lose
 * the protection of the unread (read-ahead spares them) and become spent,
 * evicted first, though a reopen still finds them.
 */
void cache_spend_unread(uint64_t id);

/* Whether the cache holds the byte of id at off, or is fetching it; never waits. */
int cache_has(uint64_t id, off_t off);

/*
 * For the byte at off: 0 when the cache holds it, 1 when nobody holds or
 * fetches it, or -errno when the fetch that was bringing it failed.  Waits
 * while a fetch is filling its page.
 */
int cache_wait(uint64_t id, off_t off);

/* What a claim does at the memory bound, past the pages nobody pins. */
enum cache_claim_mode {
	CLAIM_NOW,	/* evicts the least recently used, or gives up */
	CLAIM_WAIT,	/* the same, or waits for a page (a reader needs it) */
	CLAIM_AHEAD,	/* read-ahead: spares pages read ahead and not read yet */
};

/*
 * Claims the missing bytes of [off, off+len), widened to multiples of align
 * (a power of two from CACHE_BLOCK_SIZE to CACHE_PAGE_SIZE) and clipped to size, the
 * object's size: from off's block on, stopping where the cache holds bytes
 * already or another run is filling.  At the memory bound, room is made
 * as mode says.  Returns the bytes claimed with *run set, 0 when off is
 * held or being fetched already, -ENOBUFS when no memory was found
 * without waiting, or -errno.  Read-ahead (CLAIM_AHEAD) that finds off's
 * page held keeps it for the reader to come (spent, it becomes an
 * ordinary page again) and claims the rest of the page, if the page holds
 * only part of [off, off+len).
 */
ssize_t cache_claim(uint64_t id, off_t off, size_t len, size_t align, off_t size,
		    enum cache_claim_mode mode, struct cache_run **run);

/*
 * The run's bytes will not be read soon (read-ahead): they are written
 * past the CPU's caches where it can, not over data in use there.
 */
void cache_run_set_ahead(struct cache_run *run);

/*
 * The run's pages are on trial: once read they are evicted first, and
 * their memory reused before the cache takes memory it has never used,
 * unless read again.  For reads whose bytes cost less to fetch again than
 * to keep: keeping costs keep_cost thousandths of a fetch.  A page
 * fetched again soon after such an eviction is kept when pages come back
 * often enough, of late, to pay for their memory.
 */
void cache_run_set_trial(struct cache_run *run, long keep_cost);

/*
 * Whether a read may bring [off, off+len) of object id straight into its
 * own buffer, past the cache, where it would fetch those bytes on trial
 * (keeping them costing keep_cost thousandths of a fetch): none of them
 * held or being fetched, and no page of them found again by a ghost that
 * would keep it.  Then its pages count as read on trial and evicted: they
 * leave ghosts.  0: the read goes through the cache.
 */
int cache_pass(uint64_t id, off_t off, size_t len, long keep_cost);

/* Where a claimed run starts and ends in the object. */
off_t cache_run_start(const struct cache_run *run);
off_t cache_run_end(const struct cache_run *run);

/* A store_sink_fn: bytes for the run, in order. */
int cache_run_fill(void *run, off_t off, const char *data, size_t len);

/*
 * Ends a run: bytes not filled are dropped and their waiters get err (or
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
