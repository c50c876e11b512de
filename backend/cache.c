/* SPDX-License-Identifier: MIT */
/*
 * cache.c - pages, the bytes they hold, and the memory bound.
 *
 * DESIGN
 * One mutex guards the page table (uthash), the LRU list and the counters;
 * no memcpy of page data ever happens under it.
 *
 * A page holds one contiguous range of its bytes, [lo, hi): all of them
 * after a sequential fetch, a few 4 KiB blocks after a small random read.
 * At most one run fills a page at a time, over [fill_lo, fill_hi), a range
 * that touches [lo, hi) so that the two still make one range when it is
 * done.  The filler writes only bytes no reader may look at yet, and
 * readers copy only [lo, hi) as it was under the lock, so the two never
 * touch the same bytes.  A page is
 *
 *   new      in the table, no bytes yet, filling; never evicted.
 *   holding  some bytes; on the LRU list; evictable when nobody pins it
 *            (a run extending it pins it).
 *   gone     its first fill failed; out of the table; freed by its last
 *            waiter.
 *
 * Readers pin pages for the copy and while they wait for one.  A reader
 * waiting for a page marks it and sleeps on `ready`, broadcast when a
 * marked page's fill ends: with sixteen runs filling pages ahead, a
 * broadcast for every page woke a sequential reader some fifteen
 * thousand times a GiB for pages it did not want yet.  Claims waiting
 * for memory sleep on `freed`, broadcast when memory is released or a
 * page becomes evictable, and only when someone is waiting.
 *
 * A page's bytes live in 4 KiB block buffers, one per block held or being
 * filled, so a page holding one block costs one block of memory, not a
 * whole page: random small reads keep sixteen times as much in the same
 * bound, and grow the process by what they read.  The blocks of a page
 * need not be adjacent in memory; copies go block by block.  A claim
 * counts its blocks against the bound; their buffers come when the first
 * bytes for the page arrive.
 *
 * The bound counts block buffers and a fixed charge for each page's
 * record.  A claim that would pass it first evicts the least recently
 * used pages nobody pins; with nothing evictable a reader waits,
 * read-ahead gives up.  Block buffers come from slab.c, and the slabs they
 * are carved from exceed the bound by at most one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "backend/cache.h"
#include "backend/slab.h"

struct page_key {
	uint64_t id;
	uint64_t index;
};

#define BLOCKS	(CACHE_PAGE_SIZE / CACHE_BLOCK_SIZE)

struct page {
	struct page_key key;
	UT_hash_handle hh;
	struct page *lru_prev, *lru_next;	/* pages holding bytes only */
	uint32_t len;		/* bytes of the object this page covers */
	uint32_t lo, hi;	/* the bytes there: [lo, hi) */
	uint32_t fill_lo, fill_hi;	/* what the filling run brings */
	uint32_t filled;	/* bytes it brought so far, from fill_lo */
	unsigned char filling;
	unsigned char gone;
	unsigned char spent;	/* read through by a scan: evicted first */
	unsigned char trial;	/* on trial: TRIAL_UNREAD, TRIAL_AHEAD, TRIAL_READ; or 0 */
	unsigned char waited;	/* a reader sleeps until its fill ends */
	unsigned char unread;	/* read ahead, not read yet: on the unread list */
	int16_t err;		/* why the last fill failed (-errno), for its waiters */
	int pins;
	uint32_t arrived;	/* on the unread list: evicted_blocks when it came */
	char *block[BLOCKS];	/* buffers of the blocks held or being filled */
};

/* malloc's own header and a share of the hash table's buckets fit too */
_Static_assert(sizeof(struct page) + 64 <= CACHE_PAGE_RECORD, "CACHE_PAGE_RECORD too small");

/*
 * A page of a run on trial (cache_run_set_trial) is unread until its
 * reader copies it, then read once and spent, so that random reads
 * recycle each other's memory before the cache grows for them.  A second
 * read of the page keeps it as an ordinary page; so does a ghost (below).
 * A page fetched ahead of a reader (TRIAL_AHEAD) is read once when a read
 * reaches its end: a sequential reader of small pieces copies one page
 * many times, and only what comes after is a second read.
 */
enum { TRIAL_UNREAD = 1, TRIAL_AHEAD, TRIAL_READ };

struct cache_run {
	int ahead;		/* read-ahead: written past the CPU caches */
	int trial;		/* its new pages are on trial */
	long keep_cost;		/* keeping a page ÷ fetching it, thousandths */
	uint64_t id;
	uint64_t first;		/* page index of pages[0] */
	size_t npages;
	size_t done;		/* pages completed; they fill strictly in order */
	off_t start, end;
	struct page *pages[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;	/* a waited page's fill ended */
static pthread_cond_t freed = PTHREAD_COND_INITIALIZER;	/* memory may be there now */
static struct page *table;
static struct page *lru_head, *lru_tail;
static struct page *spent_head;	/* spent pages run from here to the tail */
static struct page *unread_head, *unread_tail;	/* read ahead, not read yet: newest first */
static size_t limit = 256UL << 20, used, peak;
static unsigned long evictions;
static int waiters;		/* claims sleeping on freed */
static uint64_t next_id = 1;

/*
 * Pages evicted while on trial leave a ghost: a hash of their key and the
 * blocks they held, in a table of one slot per hash, so that a newer
 * ghost may replace an older one.  A fetch of some of those blocks while
 * the ghost remains wants them a second time: its page is kept as an
 * ordinary one, and the cache grows for a program that comes back to
 * what it read, later than its trial lasted.  Other blocks of the same
 * page are no such sign (random reads share pages by chance).
 *
 * A ghost lasts while the cache evicts up to its bound after it: a page
 * wanted again only later would have left an LRU cache of that bound
 * before it was, so keeping it would buy memory for nothing.
 */
#define GHOSTS		((size_t)1 << 14)
#define GHOST_BLOCKS	((uint64_t)1 << 10)	/* low bits: first block << 5 | end block */
struct ghost {
	uint64_t key;		/* ghost_hash | the blocks held */
	uint64_t evicted;	/* evicted_blocks when it was left */
};
static struct ghost ghosts[GHOSTS];
static uint64_t evicted_blocks;	/* blocks of the pages evicted so far */
static long comeback;		/* new pages on trial a ghost found, thousandths */

void cache_set_limit(size_t bytes)
{
	size_t least = 4 * (CACHE_PAGE_SIZE + CACHE_PAGE_RECORD);

	pthread_mutex_lock(&lock);
	limit = bytes < least ? least : bytes;
	slab_set_budget(limit);
	pthread_mutex_unlock(&lock);
}

uint64_t cache_new_id(void)
{
	uint64_t id;

	pthread_mutex_lock(&lock);
	id = next_id++;
	pthread_mutex_unlock(&lock);
	return id;
}

/* Takes p off its list: the LRU list, or the unread pages'. */
static void lru_unlink(struct page *p)
{
	struct page **head = p->unread ? &unread_head : &lru_head;
	struct page **tail = p->unread ? &unread_tail : &lru_tail;

	if (p == spent_head)
		spent_head = p->lru_next;
	if (p->lru_prev)
		p->lru_prev->lru_next = p->lru_next;
	else
		*head = p->lru_next;
	if (p->lru_next)
		p->lru_next->lru_prev = p->lru_prev;
	else
		*tail = p->lru_prev;
	p->lru_prev = p->lru_next = NULL;
}

/* Puts p at the head of the list from *head to *tail. */
static void push_head(struct page **head, struct page **tail, struct page *p)
{
	p->lru_prev = NULL;
	p->lru_next = *head;
	if (*head)
		(*head)->lru_prev = p;
	*head = p;
	if (!*tail)
		*tail = p;
}

static void lru_push_head(struct page *p)
{
	push_head(&lru_head, &lru_tail, p);
}

/*
 * Spent pages gather at the tail, after every page still in use, the one
 * spent longest ago last: a reader that looks back looks at what it has
 * just read.
 */
static void lru_push_spent(struct page *p)
{
	struct page *next = spent_head;

	p->lru_next = next;
	p->lru_prev = next ? next->lru_prev : lru_tail;
	if (p->lru_prev)
		p->lru_prev->lru_next = p;
	else
		lru_head = p;
	if (next)
		next->lru_prev = p;
	else
		lru_tail = p;
	spent_head = p;
	p->spent = 1;
}

/*
 * Pages read ahead wait on a list of their own until a read reaches them,
 * oldest at its tail, so that a claim looking for memory need not pass
 * over them (make_room_locked).
 */
static void unread_push(struct page *p)
{
	p->unread = 1;
	p->arrived = (uint32_t)evicted_blocks;
	push_head(&unread_head, &unread_tail, p);
}

/* A page read ahead is read at last: it joins the LRU list, most recently used. */
static void unread_end(struct page *p)
{
	lru_unlink(p);
	p->unread = 0;
	lru_push_head(p);
}

/* p off its list (the LRU's or the unread pages') and among the spent. */
static void spend_locked(struct page *p)
{
	lru_unlink(p);		/* before unread is cleared: it names p's list */
	p->unread = 0;
	lru_push_spent(p);
}

static void lru_touch(struct page *p)
{
	if (p->unread)
		unread_end(p);
	if (p->trial == TRIAL_UNREAD || p->trial == TRIAL_AHEAD) {
		p->trial = TRIAL_READ;
		lru_unlink(p);
		lru_push_spent(p);
		return;
	}
	if (p->spent || p != lru_head) {
		lru_unlink(p);
		lru_push_head(p);
	}
	p->spent = 0;
	p->trial = 0;
}

static void wake_locked(void)
{
	if (waiters)
		pthread_cond_broadcast(&freed);
}

/* p's fill ended, in bytes or in failure: wakes the readers waiting for it. */
static void fill_ended_locked(struct page *p)
{
	if (p->waited) {
		p->waited = 0;
		pthread_cond_broadcast(&ready);
	}
}

static size_t first_block(uint32_t in)
{
	return in / CACHE_BLOCK_SIZE;
}

static size_t end_block(uint32_t in)
{
	return (in + CACHE_BLOCK_SIZE - 1) / CACHE_BLOCK_SIZE;
}

/* A hash of k with the low bits free for the blocks (a ghost's end block is never 0). */
static uint64_t ghost_hash(const struct page_key *k)
{
	uint64_t h = k->id * 0x9e3779b97f4a7c15ULL ^ k->index;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return h & ~(GHOST_BLOCKS - 1);
}

static struct ghost *ghost_slot(uint64_t h)
{
	return &ghosts[(h / GHOST_BLOCKS) & (GHOSTS - 1)];
}

/* The ghost of page k that held blocks of [lo, hi), or NULL. */
static struct ghost *ghost_of(const struct page_key *k, uint32_t lo, uint32_t hi)
{
	uint64_t h = ghost_hash(k);
	struct ghost *g = ghost_slot(h);
	uint64_t first = (g->key & (GHOST_BLOCKS - 1)) >> 5, end = g->key & 31;

	if ((g->key & ~(GHOST_BLOCKS - 1)) != h || first >= end_block(hi) || end <= first_block(lo))
		return NULL;
	return g;
}

/* Left within the last cache's worth of evictions. */
static int ghost_young(const struct ghost *g)
{
	return evicted_blocks - g->evicted <= limit / CACHE_BLOCK_SIZE;
}

static void ghost_leave(const struct page_key *k, uint32_t lo, uint32_t hi)
{
	uint64_t h = ghost_hash(k);
	struct ghost *g = ghost_slot(h);

	g->key = h | first_block(lo) << 5 | end_block(hi);
	g->evicted = evicted_blocks;
}

/* Whether a young ghost of page k held some of the blocks of [lo, hi); it is gone then. */
static int ghost_take(const struct page_key *k, uint32_t lo, uint32_t hi)
{
	struct ghost *g = ghost_of(k, lo, hi);

	if (!g)
		return 0;
	g->key = 0;
	return ghost_young(g);
}

/* Gives back the buffers of p's blocks [b, e). */
static void drop_blocks_locked(struct page *p, size_t b, size_t e)
{
	for (; b < e; b++) {
		if (p->block[b]) {
			slab_buffer_put(p->block[b]);
			p->block[b] = NULL;
			used -= CACHE_BLOCK_SIZE;
		}
	}
}

static void free_page_locked(struct page *p)
{
	drop_blocks_locked(p, 0, BLOCKS);
	free(p);
	used -= CACHE_PAGE_RECORD;
	wake_locked();
}

static struct page *find_locked(uint64_t id, uint64_t index)
{
	struct page_key k = { id, index };
	struct page *p;

	HASH_FIND(hh, table, &k, sizeof(k), p);
	return p;
}

static void evict_locked(struct page *p)
{
	evicted_blocks += end_block(p->hi) - first_block(p->lo);
	if (p->trial)
		ghost_leave(&p->key, p->lo, p->hi);
	lru_unlink(p);
	HASH_DEL(table, p);
	evictions++;
	free_page_locked(p);
}

/*
 * Whether u, read ahead and not read, waited while the cache evicted four
 * times its bound: its reader stopped or went elsewhere.  At one bound,
 * 64 files read in turn a MiB at a time (bench/openmany.c) from the shaped
 * nginx lost windows their reader was coming back to: 1.04 times their
 * bytes fetched and 6.0 s, against 1.00 and 5.2 s at four.
 */
static int abandoned(const struct page *u)
{
	return (uint32_t)evicted_blocks - u->arrived >= 4 * (limit / CACHE_BLOCK_SIZE);
}

/* The page read ahead last that nobody pins, or NULL. */
static struct page *newest_unread_locked(void)
{
	struct page *u;

	for (u = unread_head; u && u->pins > 0; u = u->lru_next)
		;
	return u;
}

/*
 * Evicts pages nobody pins until bytes more fit: 0, or -1.  In order:
 * spent pages; pages read ahead that no read reached for long (abandoned);
 * the least recently used of the pages read; and only for a reader's own
 * claim, with nothing else left, the newest page read ahead and not read
 * yet.  Taking pages in one LRU order, read or not, a reader's claim
 * evicted other files' read-ahead: their readers missed those pages, and
 * their claims evicted a third's.  8 threads reading 16 MiB files in 8 KiB
 * pieces from the shaped nginx through a 64 MiB cache (read-ahead 32 MiB)
 * made 974-1,345 requests in 14-22 s; in this order, about 300 in 1.5 s.
 * Read-ahead (CLAIM_AHEAD) falls short rather than take pages read ahead
 * and not read: 64 files read in turn fetched 1.62 times their bytes when
 * their windows took each other's.  The newest unread page is the one its
 * reader reaches last; the oldest, the one a reader of many files in turn
 * needs next: 64 files read a MiB at a time from the shaped nginx through
 * a 64 MiB cache fetched 1.9 times their bytes in 21 s, each read missing
 * what the one before evicted, and 1.01 times in 4.5 s taking the newest.
 */
static int make_room_locked(size_t bytes, enum cache_claim_mode mode)
{
	while (used + bytes > limit) {
		struct page *p, *u;

		for (p = lru_tail; p && p->pins > 0; p = p->lru_prev)
			;
		for (u = unread_tail; u && u->pins > 0; u = u->lru_prev)
			;
		if (u && !(p && p->spent) && (abandoned(u) || (!p && mode != CLAIM_AHEAD)))
			p = abandoned(u) ? u : newest_unread_locked();
		if (!p)
			return -1;
		evict_locked(p);
	}
	return 0;
}

/*
 * Spent pages give their buffers before blocks come from memory the cache
 * never used: fresh memory costs a fault a page, on some virtual machines
 * a trap to the host as well (slab.c), more than a request's time.
 */
static void reuse_spent_locked(size_t blocks)
{
	while (lru_tail && lru_tail->spent && lru_tail->pins == 0 && slab_spare() < blocks)
		evict_locked(lru_tail);
}

/*
 * Room within the bound for the blocks of [from, to): 0, or -1 when
 * nothing can be evicted.  Their buffers come when their bytes do
 * (buffers_locked).
 */
static int count_blocks_locked(uint32_t from, uint32_t to, enum cache_claim_mode mode)
{
	size_t bytes = (end_block(to) - first_block(from)) * CACHE_BLOCK_SIZE;

	if (make_room_locked(bytes, mode) != 0)
		return -1;
	used += bytes;
	if (used > peak)
		peak = used;
	return 0;
}

/*
 * Buffers for the blocks p is being filled over, as its first bytes
 * arrive: 0, or -ENOMEM.  Not at the claim: read-ahead claims a window of
 * up to readahead_mb at once, and its parts arrive side by side over
 * their whole fetch, so memory taken at the claim is memory taken before
 * the reader has spent the pages that could give it.
 */
static int buffers_locked(struct page *p)
{
	size_t b = first_block(p->fill_lo), e = end_block(p->fill_hi);

	reuse_spent_locked(e - b);
	for (size_t i = b; i < e; i++)
		if (!p->block[i] && !(p->block[i] = slab_buffer_get()))
			return -ENOMEM;
	return 0;
}

/* Ends a fill that failed: gives back the blocks of [fill_lo, fill_hi), bound and buffers. */
static void unfill_locked(struct page *p)
{
	for (size_t b = first_block(p->fill_lo); b < end_block(p->fill_hi); b++) {
		if (p->block[b]) {
			slab_buffer_put(p->block[b]);
			p->block[b] = NULL;
		}
		used -= CACHE_BLOCK_SIZE;
	}
}

/* A page record with buffers for [from, to), not yet in the table; NULL without memory. */
static struct page *new_page_locked(uint32_t from, uint32_t to, enum cache_claim_mode mode)
{
	struct page *p;

	if (make_room_locked(CACHE_PAGE_RECORD, mode) != 0 || !(p = calloc(1, sizeof(*p))))
		return NULL;
	used += CACHE_PAGE_RECORD;
	if (count_blocks_locked(from, to, mode) != 0) {
		free(p);
		used -= CACHE_PAGE_RECORD;
		return NULL;
	}
	return p;
}

/* Copies len bytes of p from in to buf, block by block. */
static void page_read(const struct page *p, size_t in, char *buf, size_t len)
{
	while (len > 0) {
		size_t at = in & (CACHE_BLOCK_SIZE - 1);
		size_t k = CACHE_BLOCK_SIZE - at < len ? CACHE_BLOCK_SIZE - at : len;

		memcpy(buf, p->block[in / CACHE_BLOCK_SIZE] + at, k);
		in += k;
		buf += k;
		len -= k;
	}
}

/*
 * memcpy with non-temporal stores, where the CPU has them (every x86-64):
 * the destination's lines are neither read first nor kept in the caches.
 * Read-ahead writes far ahead of its reader (windows of megabytes), so a
 * cached copy only evicts what is in use, and reading each cold line
 * before writing it halves the speed: filling cold 4 KiB blocks here ran
 * at 8.6 GB/s with memcpy, 18 GB/s with these stores (`cat` of 1 GiB from
 * nginx: 0.40 -> 0.35 s of user CPU, the same wall time).  The bytes a
 * reader waits for are copied as usual: it reads them at once, from the
 * cache.  Ordered before the page is published by cache_run_fill.
 */
static void copy_around_caches(char *dst, const char *src, size_t len)
{
#ifdef __SSE2__
	size_t head = (16 - ((uintptr_t)dst & 15)) & 15;

	if (head > len)
		head = len;
	memcpy(dst, src, head);
	dst += head;
	src += head;
	len -= head;
	for (; len >= 64; len -= 64, dst += 64, src += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)src);
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(src + 32));
		__m128i d = _mm_loadu_si128((const __m128i *)(const void *)(src + 48));

		_mm_stream_si128((__m128i *)(void *)dst, a);
		_mm_stream_si128((__m128i *)(void *)(dst + 16), b);
		_mm_stream_si128((__m128i *)(void *)(dst + 32), c);
		_mm_stream_si128((__m128i *)(void *)(dst + 48), d);
	}
#endif
	memcpy(dst, src, len);
}

/* Copies len bytes from data into p at in, block by block. */
static void page_write(struct page *p, size_t in, const char *data, size_t len, int ahead)
{
	while (len > 0) {
		size_t at = in & (CACHE_BLOCK_SIZE - 1);
		size_t k = CACHE_BLOCK_SIZE - at < len ? CACHE_BLOCK_SIZE - at : len;
		char *to = p->block[in / CACHE_BLOCK_SIZE] + at;

		if (ahead)
			copy_around_caches(to, data, k);
		else
			memcpy(to, data, k);
		in += k;
		data += k;
		len -= k;
	}
}

static int holds(const struct page *p, size_t in)
{
	return in >= p->lo && in < p->hi;
}

size_t cache_copy(uint64_t id, off_t off, void *buf, size_t len)
{
	enum { BATCH = 32 };
	struct page *got[BATCH];
	size_t part[BATCH];	/* what to copy from each: [lo, hi) only grows */
	size_t n = 0, copied = 0;

	pthread_mutex_lock(&lock);
	for (off_t pos = off; n < BATCH && copied < len; n++) {
		struct page *p = find_locked(id, (uint64_t)pos >> CACHE_PAGE_SHIFT);
		size_t in = (size_t)pos & (CACHE_PAGE_SIZE - 1);

		if (!p || !holds(p, in))
			break;
		p->pins++;
		if (p->unread)
			unread_end(p);
		got[n] = p;
		part[n] = p->hi - in < len - copied ? p->hi - in : len - copied;
		if (p->trial != TRIAL_AHEAD || in + part[n] == p->hi)
			lru_touch(p);	/* not a piece of a page read ahead, short of its end */
		copied += part[n];
		pos += (off_t)part[n];
	}
	pthread_mutex_unlock(&lock);

	copied = 0;
	for (size_t i = 0; i < n; i++) {
		size_t in = (size_t)(off + (off_t)copied) & (CACHE_PAGE_SIZE - 1);

		page_read(got[i], in, (char *)buf + copied, part[i]);
		copied += part[i];
	}

	if (n) {
		pthread_mutex_lock(&lock);
		for (size_t i = 0; i < n; i++)
			got[i]->pins--;
		wake_locked();
		pthread_mutex_unlock(&lock);
	}
	return copied;
}

void cache_spend(uint64_t id, off_t off, size_t len)
{
	uint64_t first = (uint64_t)off >> CACHE_PAGE_SHIFT;
	uint64_t end = ((uint64_t)off + len) >> CACHE_PAGE_SHIFT;	/* pages ending in range */

	pthread_mutex_lock(&lock);
	for (uint64_t i = first; i < end; i++) {
		struct page *p = find_locked(id, i);

		if (p && !p->filling && !p->spent && p->lo == 0 && p->hi == p->len)
			spend_locked(p);
	}
	pthread_mutex_unlock(&lock);
}

void cache_spend_unread(uint64_t id)
{
	struct page *p, *prev;

	pthread_mutex_lock(&lock);
	for (p = unread_tail; p; p = prev) {
		prev = p->lru_prev;
		if (p->key.id == id && !p->filling)
			spend_locked(p);
	}
	pthread_mutex_unlock(&lock);
}

int cache_has(uint64_t id, off_t off)
{
	uint32_t in = (uint32_t)((size_t)off & (CACHE_PAGE_SIZE - 1));
	struct page *p;
	int has;

	pthread_mutex_lock(&lock);
	p = find_locked(id, (uint64_t)off >> CACHE_PAGE_SHIFT);
	has = p && (holds(p, in) || (p->filling && in >= p->fill_lo && in < p->fill_hi));
	pthread_mutex_unlock(&lock);
	return has;
}

int cache_wait(uint64_t id, off_t off)
{
	size_t in = (size_t)off & (CACHE_PAGE_SIZE - 1);
	struct page *p;
	int rc, waited = 0;

	pthread_mutex_lock(&lock);
	p = find_locked(id, (uint64_t)off >> CACHE_PAGE_SHIFT);
	if (!p) {
		pthread_mutex_unlock(&lock);
		return 1;
	}
	p->pins++;
	while (!p->gone && !holds(p, in) && p->filling) {
		p->waited = 1;
		pthread_cond_wait(&ready, &lock);
		waited = 1;
	}
	if (holds(p, in))
		rc = 0;
	else if (p->gone || (waited && p->err))
		rc = p->err;
	else
		rc = 1;		/* the bytes are nobody's to fetch but the caller's */
	if (--p->pins == 0 && p->gone)
		free_page_locked(p);
	pthread_mutex_unlock(&lock);
	return rc;
}

/*
 * The part of page i a run over [start, end) fills, or 0 when the page
 * cannot join it: being filled already, holding off (at its first page),
 * or present at all past the first.  A present page is extended from the
 * edge of what it holds, so that it holds one range afterwards.
 */
static int fill_range_locked(struct page *p, uint64_t i, off_t off, off_t start, off_t end,
			     int first, uint32_t len, uint32_t *lo, uint32_t *hi)
{
	off_t base = (off_t)(i << CACHE_PAGE_SHIFT);
	uint32_t from = start > base ? (uint32_t)(start - base) : 0;
	uint32_t to = end - base < (off_t)len ? (uint32_t)(end - base) : len;
	uint32_t in = (uint32_t)(off - base);

	if (!p) {
		*lo = from;
		*hi = to;
		return 1;
	}
	if (!first || p->filling || holds(p, in))
		return 0;
	if (in < p->lo) {
		*lo = from;
		*hi = p->lo;
	} else {
		*lo = p->hi;
		*hi = to;	/* past off, so past hi */
	}
	return 1;
}

/*
 * Read-ahead found p held: a reader is to read it soon, so if it was spent
 * (read through, on trial or by a scan) it becomes an ordinary page again
 * instead of the next to be evicted.  Under the claim's lock: a moment
 * later, a fill taking buffers (reuse_spent_locked) may have evicted it,
 * and the reader fetched it itself, past the cache, 8 KiB at a time.  Of
 * 40 runs of three passes over 48 MiB from nginx in 8 KiB reads, 6 then
 * fetched a page in the third pass; none since.
 */
static void keep_ahead_locked(struct page *p)
{
	if (p->spent) {
		p->trial = 0;	/* kept outright, not read once more on trial */
		lru_touch(p);
	}
}

ssize_t cache_claim(uint64_t id, off_t off, size_t len, size_t align, off_t size,
		    enum cache_claim_mode mode, struct cache_run **out)
{
	off_t start = off & ~(off_t)(align - 1), end;
	uint64_t first = (uint64_t)off >> CACHE_PAGE_SHIFT, last;
	struct cache_run *run;
	size_t n = 0;
	int full = 0;		/* stopped for want of memory, not at a present page */

	*out = NULL;
	if (off >= size || len == 0)
		return 0;
	end = off + (off_t)len < size ? off + (off_t)len : size;
	end = (end + (off_t)align - 1) & ~(off_t)(align - 1);
	if (end > size)
		end = size;
	last = (uint64_t)(end - 1) >> CACHE_PAGE_SHIFT;
	run = malloc(sizeof(*run) + (last - first + 1) * sizeof(run->pages[0]));
	if (!run)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	for (uint64_t i = first; i <= last; i++) {
		off_t base = (off_t)(i << CACHE_PAGE_SHIFT);
		uint32_t plen = size - base < (off_t)CACHE_PAGE_SIZE ? (uint32_t)(size - base)
								      : (uint32_t)CACHE_PAGE_SIZE;
		struct page *p = find_locked(id, i);
		uint32_t lo, hi;

		if (!fill_range_locked(p, i, off, start, end, n == 0, plen, &lo, &hi)) {
			if (n == 0 && mode == CLAIM_AHEAD && !p->filling) {
				keep_ahead_locked(p);
				/* past what it holds: a reader's own fetch left it partial */
				if (p->hi < plen && base + (off_t)p->hi < end) {
					off = start = base + (off_t)p->hi;
					i--;
					continue;
				}
			}
			break;
		}
		if (p) {
			p->pins++;	/* the run's: not evicted while extended */
			if (count_blocks_locked(lo, hi, mode) != 0) {
				p->pins--;
				p = NULL;
			}
		} else if ((p = new_page_locked(lo, hi, mode))) {
			p->key.id = id;
			p->key.index = i;
			p->len = plen;
			HASH_ADD(hh, table, key, sizeof(p->key), p);
		}
		if (!p && n == 0 && mode == CLAIM_WAIT) {
			waiters++;
			pthread_cond_wait(&freed, &lock);
			waiters--;
			i--;	/* look again: someone may have claimed it meanwhile */
			continue;
		}
		if (!p) {
			full = 1;
			break;
		}
		p->filling = 1;
		p->err = 0;
		p->fill_lo = lo;
		p->fill_hi = hi;
		p->filled = 0;
		run->pages[n++] = p;
		if (hi < plen)
			break;	/* a run's bytes are contiguous */
	}
	pthread_mutex_unlock(&lock);
	if (n == 0) {
		free(run);
		return full ? -ENOBUFS : 0;
	}
	run->id = id;
	run->ahead = 0;
	run->trial = 0;
	run->keep_cost = 0;
	run->first = first;
	run->npages = n;
	run->done = 0;
	run->start = (off_t)(first << CACHE_PAGE_SHIFT) + run->pages[0]->fill_lo;
	run->end = (off_t)((first + n - 1) << CACHE_PAGE_SHIFT) + run->pages[n - 1]->fill_hi;
	*out = run;
	return run->end - run->start;
}

void cache_run_set_ahead(struct cache_run *run)
{
	run->ahead = 1;
}

void cache_run_set_trial(struct cache_run *run, long keep_cost)
{
	run->trial = 1;
	run->keep_cost = keep_cost;
}

off_t cache_run_start(const struct cache_run *run)
{
	return run->start;
}

off_t cache_run_end(const struct cache_run *run)
{
	return run->end;
}

/* comeback once a new page on trial was found by a ghost, or not */
static long comeback_after(int found)
{
	return comeback + ((found ? 1000 : 0) - comeback) / 32;
}

/* Whether pages that come back with likelihood c (thousandths) pay for keeping at k. */
static int pays(long c, long k)
{
	return c * (1000 + k) >= 1000 * k;
}

/*
 * Whether a new page of a run on trial is kept as an ordinary page: a
 * ghost found it, and pages come back often enough to pay for their
 * memory.  The share of new pages on trial that ghosts find, averaged
 * over the last few dozen, is how likely a page read is to be read again
 * within a cache's worth of evictions, q; kept, it is read q + q^2 + ...
 * = q / (1 - q) more times, each a fetch saved.  Keeping it costs k
 * fetches, so it pays when q >= k / (1 + k).  Random reads over an object
 * four times the cache come back one time in four and do not pay where
 * keeping 256 KiB costs more than a third of its fetch; a program that
 * reads its data again and again does.
 */
static int kept_again_locked(const struct page *p, long k)
{
	int found = ghost_take(&p->key, p->lo, p->hi);

	comeback = comeback_after(found);
	return found && pays(comeback, k);
}

/* The bytes of page i that [off, off + len) covers: [*lo, *hi). */
static void span_in_page(off_t off, size_t len, uint64_t i, uint32_t *lo, uint32_t *hi)
{
	off_t base = (off_t)(i << CACHE_PAGE_SHIFT), end = off + (off_t)len;

	*lo = off > base ? (uint32_t)(off - base) : 0;
	*hi = end - base < (off_t)CACHE_PAGE_SIZE ? (uint32_t)(end - base) : (uint32_t)CACHE_PAGE_SIZE;
}

int cache_pass(uint64_t id, off_t off, size_t len, long keep_cost)
{
	uint64_t first = (uint64_t)off >> CACHE_PAGE_SHIFT;
	uint64_t last = (uint64_t)(off + (off_t)len - 1) >> CACHE_PAGE_SHIFT;
	int pass = len > 0, found_kept;
	uint32_t lo, hi;

	pthread_mutex_lock(&lock);
	found_kept = pays(comeback_after(1), keep_cost);	/* a page its ghost finds */
	for (uint64_t i = first; pass && i <= last; i++) {
		struct page_key k = { id, i };
		struct page *p = find_locked(id, i);
		struct ghost *g;

		span_in_page(off, len, i, &lo, &hi);
		g = ghost_of(&k, lo, hi);
		pass = !(p && p->lo < hi && lo < p->hi) &&
		       !(p && p->filling && p->fill_lo < hi && lo < p->fill_hi) &&
		       !(found_kept && g && ghost_young(g));
	}
	for (uint64_t i = first; pass && i <= last; i++) {
		struct page_key k = { id, i };

		span_in_page(off, len, i, &lo, &hi);
		/* as a page on trial, read once and evicted, would have */
		comeback = comeback_after(ghost_take(&k, lo, hi));
		evicted_blocks += end_block(hi) - first_block(lo);
		ghost_leave(&k, lo, hi);
	}
	pthread_mutex_unlock(&lock);
	return pass;
}

/* A page's fill is complete: its bytes join what it holds. */
static void page_filled(struct page *p, const struct cache_run *run)
{
	pthread_mutex_lock(&lock);
	if (p->lo == p->hi) {
		p->lo = p->fill_lo;
		p->hi = p->fill_hi;
		if (run->trial && !kept_again_locked(p, run->keep_cost))
			p->trial = run->ahead ? TRIAL_AHEAD : TRIAL_UNREAD;
		if (run->ahead)
			unread_push(p);
		else
			lru_push_head(p);
	} else {
		int was_on_trial = p->trial != 0;

		p->lo = p->fill_lo < p->lo ? p->fill_lo : p->lo;
		p->hi = p->fill_hi > p->hi ? p->fill_hi : p->hi;
		p->pins--;
		p->trial = 0;
		lru_touch(p);		/* to the head, spent no more */
		if (was_on_trial)
			p->trial = run->ahead ? TRIAL_AHEAD : TRIAL_UNREAD;	/* its new blocks in turn */
	}
	p->filling = 0;
	fill_ended_locked(p);
	wake_locked();
	pthread_mutex_unlock(&lock);
}

int cache_run_fill(void *arg, off_t off, const char *data, size_t len)
{
	struct cache_run *run = arg;

	while (len > 0) {
		uint64_t i = ((uint64_t)off >> CACHE_PAGE_SHIFT) - run->first;
		struct page *p;
		size_t in = (size_t)off & (CACHE_PAGE_SIZE - 1), k;

		if (off < run->start || i != run->done || i >= run->npages)
			return -EIO;	/* the store sent bytes we did not ask for */
		p = run->pages[i];
		if (in != p->fill_lo + p->filled)
			return -EIO;
		k = p->fill_hi - in < len ? p->fill_hi - in : len;
		if (p->filled == 0) {
			int rc;

			pthread_mutex_lock(&lock);
			rc = buffers_locked(p);
			pthread_mutex_unlock(&lock);
			if (rc != 0)
				return rc;
		}
		page_write(p, in, data, k, run->ahead);
		p->filled += (uint32_t)k;
		if (p->fill_lo + p->filled == p->fill_hi) {
#ifdef __SSE2__
			if (run->ahead)
				_mm_sfence();	/* the streamed bytes, before readers see them */
#endif
			run->done++;
			page_filled(p, run);	/* from now on it may be evicted and reused */
		}
		off += (off_t)k;
		data += k;
		len -= k;
	}
	return 0;
}

void cache_run_finish(struct cache_run *run, int err)
{
	pthread_mutex_lock(&lock);
	for (size_t i = run->done; i < run->npages; i++) {
		struct page *p = run->pages[i];

		p->filling = 0;
		p->err = (int16_t)(err ? err : -EIO);
		fill_ended_locked(p);
		unfill_locked(p);
		if (p->lo < p->hi) {
			p->pins--;	/* it keeps what it held */
			continue;
		}
		HASH_DEL(table, p);
		p->gone = 1;
		if (p->pins == 0)
			free_page_locked(p);
	}
	wake_locked();
	pthread_mutex_unlock(&lock);
	free(run);
}

void cache_get_stats(struct cache_stats *st)
{
	pthread_mutex_lock(&lock);
	st->bytes_used = used;
	st->bytes_limit = limit;
	st->peak_used = peak;
	st->evictions = evictions;
	pthread_mutex_unlock(&lock);
}

void cache_fork_lock(void)
{
	pthread_mutex_lock(&lock);
	slab_fork_lock();
}

void cache_fork_unlock(void)
{
	slab_fork_unlock();
	pthread_mutex_unlock(&lock);
}

void cache_after_fork_child(void)
{
	struct page *p, *tmp;

	pthread_cond_init(&ready, NULL);
	pthread_cond_init(&freed, NULL);
	waiters = 0;
	slab_after_fork_child();
	HASH_ITER(hh, table, p, tmp) {
		p->pins = 0;	/* the pinning and waiting threads do not exist here */
		p->waited = 0;
		if (!p->filling)
			continue;
		/* its filler was a thread of the parent's; no one fills it here */
		p->filling = 0;
		unfill_locked(p);
		if (p->lo < p->hi)
			continue;
		HASH_DEL(table, p);
		free_page_locked(p);
	}
}
