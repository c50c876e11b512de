/* SPDX-License-Identifier: MIT */
/*
 * test_cache.c - the memory bound, LRU eviction, the page life cycle, and
 * pages that hold only some of their blocks.  The last part runs a waiter
 * on a second thread: `make test` runs this under ThreadSanitizer too.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "backend/cache.h"
#include "backend/slab.h"
#include "tests/unit/check.h"

#define PG CACHE_PAGE_SIZE
#define BLK ((off_t)CACHE_BLOCK_SIZE)
#define COST (PG + CACHE_PAGE_RECORD)	/* what a full page counts against the bound */
#define SLAB ((size_t)2 << 20)		/* what slab.c maps at a time */

/* On trial, kept when fetched again soon whatever the cost (cache_run_set_trial). */
static void on_trial(struct cache_run *run)
{
	cache_run_set_trial(run, 0);
}

/* On trial where keeping costs as much as fetching again. */
static void on_dear_trial(struct cache_run *run)
{
	cache_run_set_trial(run, 1000);
}

/* On trial where keeping costs far more than pages ever come back. */
static void on_prohibitive_trial(struct cache_run *run)
{
	cache_run_set_trial(run, 1000000);
}

/* Read ahead of a reader, on trial. */
static void ahead_on_trial(struct cache_run *run)
{
	cache_run_set_ahead(run);
	cache_run_set_trial(run, 0);
}

/*
 * Claims, fills with the byte value (off/PG + seed), and ends a run, marked
 * by mark (cache_run_set_ahead, on_trial) when not NULL.
 */
static ssize_t fill_run(uint64_t id, off_t off, size_t len, off_t size, int seed,
			void (*mark)(struct cache_run *))
{
	struct cache_run *run;
	ssize_t n = cache_claim(id, off, len, PG, size, CLAIM_NOW, &run);
	static char buf[PG];

	if (n <= 0)
		return n;
	if (mark)
		mark(run);
	for (off_t o = cache_run_start(run); o < cache_run_end(run); o += PG) {
		size_t k = cache_run_end(run) - o < (off_t)PG ? (size_t)(cache_run_end(run) - o) : PG;

		memset(buf, (int)(o / PG) + seed, k);
		if (cache_run_fill(run, o, buf, k) != 0)
			return -1;
	}
	cache_run_finish(run, 0);
	return n;
}

/* Pages fetched for a reader: plain LRU. */
static ssize_t load(uint64_t id, off_t off, size_t len, off_t size, int seed)
{
	return fill_run(id, off, len, size, seed, NULL);
}

/* Pages fetched ahead of a reader: unread until a read reaches them. */
static ssize_t load_ahead(uint64_t id, off_t off, size_t len, off_t size, int seed)
{
	return fill_run(id, off, len, size, seed, cache_run_set_ahead);
}

/* Read-ahead's claim at off finds its page held: nothing to fetch. */
static int ahead_finds_held(uint64_t id, off_t off, off_t size)
{
	struct cache_run *run;

	return cache_claim(id, off, PG, PG, size, CLAIM_AHEAD, &run) == 0 && !run;
}

/* The byte an object of the partial-page tests holds at off. */
static char pat(off_t off)
{
	return (char)(off / 1000 * 7 + 1);
}

/* Fills [from, to) of a claimed run with pat(), in pieces of 3000 bytes. */
static int fill_pat_range(struct cache_run *run, off_t from, off_t to)
{
	char buf[3000];

	if (!run)
		return -1;
	for (off_t o = from; o < to; o += sizeof(buf)) {
		size_t k = to - o < (off_t)sizeof(buf) ? (size_t)(to - o) : sizeof(buf);

		for (size_t i = 0; i < k; i++)
			buf[i] = pat(o + (off_t)i);
		if (cache_run_fill(run, o, buf, k) != 0)
			return -1;
	}
	return 0;
}

/* Fills a whole claimed run with pat(). */
static int fill_pat(struct cache_run *run)
{
	return run ? fill_pat_range(run, cache_run_start(run), cache_run_end(run)) : -1;
}

/* 1 when buf holds pat() for [off, off+len). */
static int is_pat(const char *buf, off_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pat(off + (off_t)i))
			return 0;
	return 1;
}

/*
 * Read-ahead's bytes (written past the CPU caches) read back as sent, in
 * pieces of every length around the 16 and 64 bytes the copy works in,
 * from a source at odd addresses, into blocks at odd offsets.
 */
static char byte_at(off_t off)
{
	return (char)(off * 131 + off / 251);	/* no two neighbours alike */
}

static void ahead_bytes(void)
{
	static const size_t piece[] = { 1, 15, 17, 63, 64, 65, 100, 4095, 4097, 12345 };
	static char src[3 * PG + 64], got[3 * PG];
	off_t size = 10 * (off_t)PG, o;
	uint64_t id = cache_new_id();
	struct cache_run *run;
	size_t i = 0;

	CHECK(cache_claim(id, PG + 3 * BLK + 5, 3 * PG, BLK, size, CLAIM_NOW, &run) > 0);
	if (!run)
		return;
	cache_run_set_ahead(run);
	for (o = cache_run_start(run); o < cache_run_end(run); i++) {
		size_t k = piece[i % (sizeof(piece) / sizeof(piece[0]))];
		char *from = src + 1 + i % 31;

		if ((off_t)k > cache_run_end(run) - o)
			k = (size_t)(cache_run_end(run) - o);
		for (size_t j = 0; j < k; j++)
			from[j] = byte_at(o + (off_t)j);
		if (cache_run_fill(run, o, from, k) != 0)
			break;
		o += (off_t)k;
	}
	CHECK(o == cache_run_end(run));
	o = cache_run_start(run);
	cache_run_finish(run, 0);
	CHECK(cache_copy(id, o, got, sizeof(got)) == sizeof(got));
	for (i = 0; i < sizeof(got) && got[i] == byte_at(o + (off_t)i); i++)
		;
	CHECK(i == sizeof(got));
}

struct waiter {
	uint64_t id;
	off_t off;
	int rc;
};

static void *wait_for(void *arg)
{
	struct waiter *w = arg;

	w->rc = cache_wait(w->id, w->off);
	return NULL;
}

/*
 * A page holding one block costs one block and its record, so the bound
 * holds that many of them; a failed extension gives its blocks back.
 * Runs with the cache empty and the limit at 8 full pages.
 */
static void small_pages(void)
{
	const size_t one = BLK + CACHE_PAGE_RECORD;
	const size_t n = 8 * COST / one;	/* 119, against 8 full pages */
	off_t size = 1000 * (off_t)PG;
	uint64_t id = cache_new_id();
	struct cache_stats st, before;
	struct cache_run *run;
	static char buf[PG];

	cache_get_stats(&before);
	CHECK(before.bytes_used == 0);
	for (size_t i = 0; i < n; i++) {
		CHECK(cache_claim(id, (off_t)i * PG + 3 * BLK + 9, 100, BLK, size, CLAIM_NOW, &run) == BLK);
		CHECK(fill_pat(run) == 0);
		cache_run_finish(run, 0);
	}
	cache_get_stats(&st);
	CHECK(st.bytes_used == n * one);
	CHECK(st.evictions == before.evictions);
	for (size_t i = 0; i < n; i++) {
		off_t at = (off_t)i * PG + 3 * BLK;

		CHECK(cache_copy(id, at, buf, PG) == (size_t)BLK && is_pat(buf, at, BLK));
	}

	/* one more takes over the oldest page's memory, and only its */
	CHECK(cache_claim(id, (off_t)n * PG, 10, BLK, size, CLAIM_NOW, &run) == BLK);
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	cache_get_stats(&st);
	CHECK(st.evictions == before.evictions + 1);
	CHECK(st.bytes_used == n * one);
	CHECK(cache_copy(id, 3 * BLK, buf, BLK) == 0);
	CHECK(cache_copy(id, PG + 3 * BLK, buf, BLK) == (size_t)BLK);

	/* an extension that fails keeps the page's block and frees its own */
	cache_get_stats(&before);
	CHECK(cache_claim(id, 5 * PG + 6 * BLK, 10, BLK, size, CLAIM_NOW, &run) == 3 * BLK);
	cache_get_stats(&st);
	CHECK(st.evictions == before.evictions + 3);	/* 3 blocks' room takes 3 small pages */
	CHECK(st.bytes_used == n * one - 3 * one + 3 * BLK);
	cache_run_finish(run, -EIO);
	cache_get_stats(&st);
	CHECK(st.bytes_used == n * one - 3 * one);
	CHECK(cache_copy(id, 5 * PG, buf, PG) == 0);
	CHECK(cache_copy(id, 5 * PG + 3 * BLK, buf, PG) == (size_t)BLK &&
	      is_pat(buf, 5 * PG + 3 * BLK, BLK));
}

/* Small reads claim their blocks only; a page then grows to one range. */
static void partial_pages(void)
{
	static char buf[2 * PG];
	off_t size = 10 * (off_t)PG + 5000;
	uint64_t id = cache_new_id();
	struct cache_run *run, *other;
	pthread_t t;
	struct waiter w = { .id = id };

	/* 100 bytes in the middle of page 2 claim their one block */
	CHECK(cache_claim(id, 2 * PG + 5000, 100, BLK, size, CLAIM_WAIT, &run) == BLK);
	CHECK(cache_run_start(run) == 2 * PG + BLK && cache_run_end(run) == 2 * PG + 2 * BLK);
	CHECK(cache_claim(id, 2 * PG + 5000, 100, BLK, size, CLAIM_WAIT, &other) == 0);	/* being filled */
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	CHECK(cache_copy(id, 2 * PG + 5000, buf, 100) == 100 && is_pat(buf, 2 * PG + 5000, 100));
	/* a copy stops where the held bytes end; the next one is nobody's */
	CHECK(cache_copy(id, 2 * PG + BLK, buf, 3 * BLK) == (size_t)BLK);
	CHECK(cache_copy(id, 2 * PG, buf, 10) == 0);
	CHECK(cache_wait(id, 2 * PG + 2 * BLK) == 1);
	CHECK(cache_wait(id, 2 * PG + BLK + 7) == 0);

	/* past the held range: the claim starts at its end, gap and all */
	CHECK(cache_claim(id, 2 * PG + 5 * BLK + 1, 10, BLK, size, CLAIM_WAIT, &run) == 4 * BLK);
	CHECK(cache_run_start(run) == 2 * PG + 2 * BLK && cache_run_end(run) == 2 * PG + 6 * BLK);
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	/* below it: the claim ends where the held range begins */
	CHECK(cache_claim(id, 2 * PG + 10, PG, BLK, size, CLAIM_WAIT, &run) == BLK);
	CHECK(cache_run_start(run) == 2 * PG && cache_run_end(run) == 2 * PG + BLK);
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	CHECK(cache_copy(id, 2 * PG, buf, PG) == 6 * (size_t)BLK && is_pat(buf, 2 * PG, 6 * BLK));

	/* filled to the page's end, a run goes on into the pages after it */
	CHECK(cache_claim(id, 2 * PG + 8 * BLK, PG, BLK, size, CLAIM_WAIT, &run) == PG + 2 * BLK);
	CHECK(cache_run_end(run) == 3 * PG + 8 * BLK);
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	/* ... but not into one that holds bytes already */
	CHECK(cache_claim(id, 4 * PG + 2 * BLK, 10, BLK, size, CLAIM_WAIT, &run) == BLK);
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	CHECK(cache_claim(id, 3 * PG + 8 * BLK, 2 * PG, BLK, size, CLAIM_WAIT, &run) == PG - 8 * BLK);
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	CHECK(cache_copy(id, 2 * PG, buf, 2 * PG) == 2 * PG && is_pat(buf, 2 * PG, 2 * PG));
	CHECK(cache_copy(id, 4 * PG, buf, PG) == 0);

	/* the object's short tail: widened to the block, clipped to the size */
	CHECK(cache_claim(id, size - 10, 100, BLK, size, CLAIM_WAIT, &run) == 5000 - BLK);
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	CHECK(cache_copy(id, size - 10, buf, 100) == 10 && is_pat(buf, size - 10, 10));

	/* a waiter for bytes an extension brings gets them when it lands */
	CHECK(cache_claim(id, 5 * PG + 3 * BLK, 10, BLK, size, CLAIM_WAIT, &run) == BLK);
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	CHECK(cache_claim(id, 5 * PG + 5 * BLK, 10, BLK, size, CLAIM_WAIT, &run) == 2 * BLK);
	w.off = 5 * PG + 5 * BLK;
	w.rc = 99;
	if (pthread_create(&t, NULL, wait_for, &w) != 0)
		return;
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	pthread_join(t, NULL);
	CHECK(w.rc == 0);

	/* a failed extension keeps what the page held; its waiter gets the error */
	CHECK(cache_claim(id, 5 * PG + 9 * BLK, 10, BLK, size, CLAIM_WAIT, &run) == 4 * BLK);
	w.off = 5 * PG + 9 * BLK;
	w.rc = 99;
	if (pthread_create(&t, NULL, wait_for, &w) != 0)
		return;
	usleep(20000);		/* likely waiting by now; either way is checked */
	cache_run_finish(run, -ESTALE);
	pthread_join(t, NULL);
	CHECK(w.rc == -ESTALE || w.rc == 1);	/* 1: it came after the failure */
	CHECK(cache_copy(id, 5 * PG + 3 * BLK, buf, PG) == 3 * (size_t)BLK &&
	      is_pat(buf, 5 * PG + 3 * BLK, 3 * BLK));
	CHECK(cache_wait(id, 5 * PG + 9 * BLK) == 1);	/* anyone may fetch it again */
}

/*
 * Readers wait for the page they want, not for any page: each of them
 * wakes when its own page lands, however the run's pages and the waiters
 * interleave, and two readers of one page both wake.
 */
static void waiters_per_page(void)
{
	off_t size = 10 * (off_t)PG;
	uint64_t id = cache_new_id();
	struct waiter w[3] = { { id, PG + 5, 99 }, { id, 3 * PG, 99 }, { id, 4 * PG - 1, 99 } };
	pthread_t t[3];
	struct cache_run *run;
	static char buf[4 * PG];
	int started = 0;

	CHECK(cache_claim(id, 0, 4 * PG, PG, size, CLAIM_NOW, &run) == 4 * (ssize_t)PG);
	if (!run)
		return;
	for (; started < 3; started++)
		if (pthread_create(&t[started], NULL, wait_for, &w[started]) != 0)
			break;
	usleep(20000);		/* likely waiting by now; either way must work */
	CHECK(fill_pat_range(run, 0, 2 * PG) == 0);
	if (started > 0) {
		pthread_join(t[0], NULL);
		CHECK(w[0].rc == 0);
	}
	CHECK(fill_pat_range(run, 2 * PG, 4 * PG) == 0);
	cache_run_finish(run, 0);
	for (int i = 1; i < started; i++) {
		pthread_join(t[i], NULL);
		CHECK(w[i].rc == 0);
	}
	CHECK(started == 3);
	CHECK(cache_copy(id, 0, buf, sizeof(buf)) == sizeof(buf) && is_pat(buf, 0, sizeof(buf)));
}

/*
 * The bytes of slabs mapped, once the slab helper has filled its reserve
 * (two slabs; at most 2 s), or while the cache holds its first slab only,
 * which the helper does not add to: from then on the count moves only
 * when a slab is taken, not when the helper, finishing one, asks for the
 * next.
 */
static size_t mapped_settled(void)
{
	struct slab_stats ss;

	for (int i = 0; i < 2000; i++) {
		slab_get_stats(&ss);
		if (ss.reserved >= 2 || ss.mapped <= SLAB)
			break;
		usleep(1000);
	}
	return ss.mapped;
}

/*
 * Evicts every page earlier tests left (their spent pages and ghosts
 * would count in the next), then sets the bound to limit.
 */
static void empty_cache(size_t limit)
{
	cache_set_limit(0);	/* its least: room for the four pages below */
	CHECK(load(cache_new_id(), 0, 4 * PG, 4 * (off_t)PG, 0) == 4 * (ssize_t)PG);
	cache_set_limit(limit);
}

/* Loads other's pages ahead of a reader until the slabs have no spare buffer. */
static off_t use_spare(uint64_t other, off_t k, off_t size)
{
	while (slab_spare() >= PG / CACHE_BLOCK_SIZE && k < 500)
		CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	return k;
}

/*
 * Pages a scan has read (spent) give their memory before the cache takes
 * memory it never used, the one spent longest ago first; a spent page
 * read again is kept.
 */
static void spent_pages(void)
{
	static char buf[PG];
	off_t size = 1000 * (off_t)PG;
	uint64_t id = cache_new_id(), other = cache_new_id();
	struct cache_stats st;
	struct slab_stats ss;
	unsigned long ev;
	size_t mapped;
	off_t k;

	cache_set_limit(4096 * COST);	/* far from the bound: only spending evicts */
	CHECK(load(id, 0, 4 * PG, size, 0) == 4 * (ssize_t)PG);
	cache_spend(id, 0, 4 * PG - 1);		/* page 3 does not end in it */
	cache_spend(id, 3 * PG, PG);
	cache_spend(id, PG + 5, 10);		/* no page ends here: nothing */
	k = use_spare(other, 0, size);	/* what the slabs hold spare goes first */
	cache_get_stats(&st);
	ev = st.evictions;
	for (int i = 0; i < 4; i++)
		CHECK(cache_wait(id, i * PG) == 0);
	mapped = mapped_settled();

	/* then the spent pages, in the order they were spent */
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 0) == 1 && cache_wait(id, PG) == 0);
	CHECK(cache_copy(id, PG, buf, PG) == PG && buf[0] == 1);	/* read again: kept */
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 2 * PG) == 1 && cache_wait(id, 3 * PG) == 0);
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 3 * PG) == 1 && cache_wait(id, PG) == 0);
	cache_get_stats(&st);
	CHECK(st.evictions == ev + 3);
	slab_get_stats(&ss);
	CHECK(ss.mapped == mapped);
	/* none left: new memory, and nothing else is evicted */
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	cache_get_stats(&st);
	CHECK(st.evictions == ev + 3 && cache_wait(id, PG) == 0);
	/* the reused buffers hold their new pages' bytes */
	for (off_t i = 0; i < k; i++)
		CHECK(cache_copy(other, i * PG, buf, PG) == PG && buf[0] == (char)(i + 10) &&
		      buf[PG - 1] == (char)(i + 10));
}

/*
 * Pages on trial are spent once read: their memory goes to the next fetch
 * before memory the cache never used.  A page read twice stays, and so
 * does one not read yet, or one fetched again while the ghost of its
 * eviction remains.  Pages of a run not on trial stay too.
 */
static void pages_on_trial(void)
{
	static char buf[PG];
	off_t size = 1000 * (off_t)PG, k;
	uint64_t id = cache_new_id(), other = cache_new_id();
	struct cache_run *run;
	struct cache_stats st;
	struct slab_stats ss;
	unsigned long ev;
	size_t mapped;

	cache_set_limit(4096 * COST);	/* far from the bound: only trials evict */
	for (int i = 0; i < 4; i++)
		CHECK(fill_run(id, i * PG, PG, size, 0, on_trial) == (ssize_t)PG);
	CHECK(fill_run(id, 4 * PG, PG, size, 0, NULL) == (ssize_t)PG);
	CHECK(cache_copy(id, 4 * PG, buf, PG) == PG && buf[0] == 4);
	CHECK(cache_copy(id, 0, buf, PG) == PG && buf[0] == 0);
	CHECK(cache_copy(id, PG, buf, PG) == PG && cache_copy(id, PG, buf, PG) == PG);
	CHECK(cache_copy(id, 3 * PG, buf, PG) == PG && buf[0] == 3);
	k = use_spare(other, 0, size);
	cache_get_stats(&st);
	ev = st.evictions;
	mapped = mapped_settled();

	/* the pages read once go, the first read first */
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 0) == 1 && cache_wait(id, 3 * PG) == 0);
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 3 * PG) == 1);
	slab_get_stats(&ss);
	CHECK(ss.mapped == mapped);
	/* then new memory: the page read twice, the one not read yet, the one not on trial stay */
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, PG) == 0 && cache_wait(id, 2 * PG) == 0 && cache_wait(id, 4 * PG) == 0);
	cache_get_stats(&st);
	CHECK(st.evictions == ev + 2);

	/* page 0 again, while its ghost remains: an ordinary page from the start */
	CHECK(fill_run(id, 0, PG, size, 20, on_trial) == (ssize_t)PG);
	CHECK(cache_copy(id, 0, buf, PG) == PG && buf[0] == 20);
	CHECK(cache_copy(id, 2 * PG, buf, PG) == PG && buf[0] == 2);	/* its first read */
	k = use_spare(other, k, size);
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 2 * PG) == 1 && cache_wait(id, 0) == 0);
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 0) == 0 && cache_wait(id, PG) == 0);
	cache_get_stats(&st);
	CHECK(st.evictions == ev + 3);

	/* other blocks of a page whose ghost remains are on trial all the same */
	CHECK(cache_claim(id, 5 * PG, BLK, BLK, size, CLAIM_NOW, &run) == BLK);
	if (run)
		cache_run_set_trial(run, 0);
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	CHECK(cache_copy(id, 5 * PG, buf, BLK) == BLK);
	k = use_spare(other, k, size);
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 5 * PG) == 1);
	CHECK(cache_claim(id, 5 * PG + 8 * BLK, BLK, BLK, size, CLAIM_NOW, &run) == BLK);
	if (run)
		cache_run_set_trial(run, 0);
	CHECK(fill_pat(run) == 0);
	cache_run_finish(run, 0);
	CHECK(cache_copy(id, 5 * PG + 8 * BLK, buf, BLK) == BLK);
	k = use_spare(other, k, size);
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 5 * PG + 8 * BLK) == 1);
}

/*
 * A page read ahead on trial is read once when a read reaches its end: a
 * sequential reader's pieces before that neither spend it nor keep it,
 * and a read after that keeps it.  So does read-ahead that finds it held
 * (cache_claim, CLAIM_AHEAD): a reader is coming back to it.
 */
static void ahead_pages_on_trial(void)
{
	static char buf[PG];
	off_t size = 1000 * (off_t)PG, k;
	uint64_t id = cache_new_id(), other = cache_new_id();
	struct cache_stats st;
	unsigned long ev;

	empty_cache(4096 * COST);	/* far from the bound: only trials evict */
	CHECK(fill_run(id, 0, 4 * PG, size, 0, ahead_on_trial) == 4 * (ssize_t)PG);
	for (off_t in = 0; in < (off_t)PG; in += PG / 4) {	/* page 0 in pieces */
		CHECK(cache_copy(id, in, buf, PG / 4) == PG / 4 && buf[0] == 0);
		CHECK(cache_copy(id, 2 * PG + in, buf, PG / 4) == PG / 4);	/* and page 2 */
	}
	for (off_t in = 0; in < 3 * (off_t)(PG / 4); in += PG / 4)	/* page 1 short of its end */
		CHECK(cache_copy(id, PG + in, buf, PG / 4) == PG / 4 && buf[0] == 1);
	CHECK(cache_copy(id, 2 * PG + 5, buf, 10) == 10);	/* page 2 read again */
	CHECK(cache_copy(id, 3 * PG, buf, PG) == PG && buf[0] == 3);
	CHECK(ahead_finds_held(id, 3 * PG + 5, size));	/* page 3 read, then ahead of a reader again */
	k = use_spare(other, 0, size);
	cache_get_stats(&st);
	ev = st.evictions;

	/* page 0 goes first; pages 1 (a piece still unread), 2 (read again) and 3 stay */
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 0) == 1 && cache_wait(id, PG) == 0 && cache_wait(id, 2 * PG) == 0);
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, PG) == 0 && cache_wait(id, 2 * PG) == 0 && cache_wait(id, 3 * PG) == 0);
	cache_get_stats(&st);
	CHECK(st.evictions == ev + 1);
}

/*
 * An object nobody has open: its pages read ahead and not read are spent
 * (cache_spend_unread), so read-ahead for another takes them, first the
 * one that came first; until then they are still there for a reopen.
 */
static void closed_unread_spent(void)
{
	off_t size = 1000 * (off_t)PG;
	uint64_t a = cache_new_id(), b = cache_new_id();
	struct cache_run *run;
	int left = 0;

	empty_cache(4 * COST);
	CHECK(load_ahead(a, 0, 4 * PG, size, 0) == 4 * (ssize_t)PG);	/* the bound, all unread */
	CHECK(cache_claim(b, 0, PG, PG, size, CLAIM_AHEAD, &run) == -ENOBUFS);
	cache_spend_unread(b);			/* another object's: nothing changes */
	CHECK(cache_claim(b, 0, PG, PG, size, CLAIM_AHEAD, &run) == -ENOBUFS);
	cache_spend_unread(a);
	for (int i = 0; i < 4; i++)
		CHECK(cache_wait(a, i * (off_t)PG) == 0);
	CHECK(load_ahead(b, 0, PG, size, 0) == (ssize_t)PG);
	for (int i = 0; i < 4; i++)
		left += cache_wait(a, i * (off_t)PG) == 0;
	CHECK(left == 3 && cache_wait(a, 0) == 1);
}

/*
 * Read-ahead (CLAIM_AHEAD) at the bound spares pages read ahead and not
 * read yet, and falls short instead; once read they go as usual.  A
 * reader's claim takes pages read before pages read ahead, and those only
 * when nothing else is left, the newest first: the furthest from its
 * reader.  Pages read ahead that
 * waited while the cache evicted four times its bound go first, for
 * either.
 */
static void ahead_spares_unread(void)
{
	static char buf[PG];
	off_t size = 1000 * (off_t)PG;
	uint64_t a = cache_new_id(), b = cache_new_id();
	struct cache_run *run;
	off_t k;

	empty_cache(4 * COST);
	CHECK(load_ahead(a, 0, 4 * PG, size, 0) == 4 * (ssize_t)PG);	/* the bound, all unread */
	CHECK(cache_claim(b, 0, PG, PG, size, CLAIM_AHEAD, &run) == -ENOBUFS);
	CHECK(cache_copy(a, PG, buf, PG) == PG && buf[0] == 1);
	CHECK(load_ahead(b, 0, PG, size, 0) == (ssize_t)PG);
	CHECK(cache_wait(a, PG) == 1);		/* the page read made room */
	CHECK(cache_wait(a, 0) == 0 && cache_wait(a, 2 * PG) == 0 && cache_wait(a, 3 * PG) == 0);

	/* a reader's claims: the page read goes first, then the newest unread */
	CHECK(cache_copy(b, 0, buf, PG) == PG);
	CHECK(load(b, PG, PG, size, 0) == (ssize_t)PG);
	CHECK(cache_wait(b, 0) == 1 && cache_wait(a, 0) == 0);
	CHECK(load(b, 2 * PG, 2 * PG, size, 0) == 2 * (ssize_t)PG);
	CHECK(cache_wait(b, PG) == 1 && cache_wait(a, 3 * PG) == 1);
	CHECK(cache_wait(a, 0) == 0 && cache_wait(a, 2 * PG) == 0);

	/* a page read ahead waits while the cache evicts up to its bound, then goes first */
	empty_cache(4 * COST);
	CHECK(load_ahead(a, 50 * PG, PG, size, 0) == (ssize_t)PG);
	for (k = 0; k < 40 && cache_wait(a, 50 * PG) == 0; k++)
		CHECK(load(b, (60 + k) * PG, PG, size, 0) == (ssize_t)PG);
	CHECK(k == 4 * 4 + 1);	/* sixteen pages evicted after it came: four times the bound */
	for (off_t j = 1; j <= 3; j++)
		CHECK(cache_wait(b, (60 + k - j) * PG) == 0);
}

/*
 * Read-ahead over a page a reader's own fetch left partial claims the rest
 * of it: skipped, its reader fetched it a read at a time.
 */
static void ahead_completes_pages(void)
{
	static char buf[PG];
	off_t size = 1000 * (off_t)PG;
	uint64_t id = cache_new_id();
	struct cache_run *run;

	empty_cache(16 * COST);
	CHECK(cache_claim(id, BLK, 2 * BLK, BLK, size, CLAIM_NOW, &run) == 2 * BLK);
	CHECK(fill_pat(run) == 0);
	if (run)
		cache_run_finish(run, 0);
	/* before what the page holds, up to it; then after it, to the end of the run */
	CHECK(cache_claim(id, 0, 2 * PG, PG, size, CLAIM_AHEAD, &run) == BLK);
	CHECK(fill_pat(run) == 0);
	if (run)
		cache_run_finish(run, 0);
	CHECK(cache_claim(id, BLK, 2 * PG - BLK, PG, size, CLAIM_AHEAD, &run) ==
	      2 * (ssize_t)PG - 3 * BLK);
	CHECK(run && cache_run_start(run) == 3 * BLK && cache_run_end(run) == 2 * (off_t)PG);
	CHECK(fill_pat(run) == 0);
	if (run)
		cache_run_finish(run, 0);
	CHECK(cache_copy(id, 0, buf, PG) == PG && is_pat(buf, 0, PG));
	/* held to the end of the range asked: nothing */
	CHECK(cache_claim(id, 0, 2 * PG, PG, size, CLAIM_AHEAD, &run) == 0 && !run);
}

/* Evicts the page of id at off, on trial and read, by loading other's pages from *k on. */
static void evict_read(uint64_t id, off_t off, uint64_t other, off_t *k, off_t size)
{
	while (cache_wait(id, off) == 0 && *k < 500)
		CHECK(load(other, PG * (*k)++, PG, size, 10) == (ssize_t)PG);
}

/*
 * A ghost keeps a page fetched again only while the cache has evicted at
 * most its bound since: later, an LRU cache would not have had the page
 * either.  Here the bound is 16 pages and their records.
 */
static void old_ghosts(void)
{
	static char buf[PG];
	off_t size = 1000 * (off_t)PG, k = 0;
	uint64_t id = cache_new_id(), other = cache_new_id();

	empty_cache(16 * COST);

	/* fetched again after 15 more pages were evicted: kept */
	CHECK(fill_run(id, 0, PG, size, 0, on_trial) == (ssize_t)PG);
	CHECK(cache_copy(id, 0, buf, PG) == PG);
	evict_read(id, 0, other, &k, size);
	for (int i = 0; i < 15; i++)
		CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(fill_run(id, 0, PG, size, 0, on_trial) == (ssize_t)PG);
	CHECK(cache_copy(id, 0, buf, PG) == PG);
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 0) == 0);

	/* after 16 more: on trial again, and evicted first once read */
	CHECK(fill_run(id, PG, PG, size, 0, on_trial) == (ssize_t)PG);
	CHECK(cache_copy(id, PG, buf, PG) == PG);
	evict_read(id, PG, other, &k, size);
	for (int i = 0; i < 16; i++)
		CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(fill_run(id, PG, PG, size, 1, on_trial) == (ssize_t)PG);
	CHECK(cache_copy(id, PG, buf, PG) == PG && buf[0] == 2);
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, PG) == 1);
}

/*
 * Where keeping costs as much as a fetch, a page fetched again soon is
 * kept only when at least half the pages fetched on trial of late were
 * (q / (1 - q) >= 1).  Each fill of a new page on trial counts.
 */
static void comebacks(void)
{
	static char buf[PG];
	off_t size = 1000 * (off_t)PG, k = 0;
	uint64_t id = cache_new_id(), other = cache_new_id(), once = cache_new_id();

	empty_cache(16 * COST);

	/* 64 pages never seen before: nothing comes back */
	for (int i = 0; i < 64; i++)
		CHECK(fill_run(once, i * PG, PG, size, 0, on_trial) == (ssize_t)PG);
	CHECK(fill_run(id, 0, PG, size, 0, on_dear_trial) == (ssize_t)PG);
	CHECK(cache_copy(id, 0, buf, PG) == PG);
	evict_read(id, 0, other, &k, size);
	CHECK(fill_run(id, 0, PG, size, 0, on_dear_trial) == (ssize_t)PG);	/* its ghost found it */
	CHECK(cache_copy(id, 0, buf, PG) == PG);
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, 0) == 1);		/* on trial all the same */

	/* one page read, evicted and fetched again 40 times: pages come back */
	for (int i = 0; i < 40; i++) {
		CHECK(fill_run(id, PG, PG, size, 0, on_prohibitive_trial) == (ssize_t)PG);
		CHECK(cache_copy(id, PG, buf, PG) == PG);
		evict_read(id, PG, other, &k, size);
	}
	CHECK(fill_run(id, PG, PG, size, 0, on_dear_trial) == (ssize_t)PG);
	CHECK(cache_copy(id, PG, buf, PG) == PG);
	CHECK(load(other, PG * k++, PG, size, 10) == (ssize_t)PG);
	CHECK(cache_wait(id, PG) == 0);		/* kept */
}

/*
 * A run takes its buffers when its bytes arrive, not when it is claimed:
 * pages a reader spends meanwhile give theirs first, before memory the
 * cache never used.
 */
static void buffers_on_arrival(void)
{
	static char buf[PG];
	off_t size = 1000 * (off_t)PG;
	uint64_t id = cache_new_id(), other = cache_new_id(), ahead = cache_new_id();
	struct cache_run *run;
	struct slab_stats ss;
	size_t mapped, spare;

	empty_cache(4096 * COST);
	CHECK(load(id, 0, 4 * PG, size, 0) == 4 * (ssize_t)PG);
	CHECK(cache_copy(id, 0, buf, PG) == PG);
	use_spare(other, 0, size);
	mapped = mapped_settled();
	spare = slab_spare();

	CHECK(cache_claim(ahead, 0, 4 * PG, PG, size, CLAIM_NOW, &run) == 4 * (ssize_t)PG);
	CHECK(slab_spare() == spare);		/* no buffer yet */
	cache_spend(id, 0, 4 * PG);		/* the reader is done with id */
	CHECK(fill_pat(run) == 0);
	if (run)
		cache_run_finish(run, 0);
	slab_get_stats(&ss);
	CHECK(ss.mapped == mapped);		/* no new memory: id's pages gave theirs */
	CHECK(cache_wait(id, 0) == 1 && cache_wait(id, 3 * PG) == 1);
	CHECK(cache_copy(ahead, 3 * PG + 7, buf, 10) == 10 && buf[0] == pat(3 * PG + 7));
}

/*
 * A read of bytes nobody holds may pass the cache where they would be on
 * trial: its pages then leave ghosts, and one that would keep a page sends
 * the next read of it through the cache.  Bytes held or being fetched are
 * read from the cache; other blocks of their pages may pass.
 */
static void passing_reads(void)
{
	off_t size = 1000 * (off_t)PG;
	uint64_t id = cache_new_id();
	struct cache_run *run;

	cache_set_limit(4096 * COST);
	CHECK(cache_pass(id, 0, 3 * BLK, 1000000) == 1);
	CHECK(cache_wait(id, 0) == 1);			/* nothing cached */
	CHECK(cache_pass(id, BLK, BLK, 0) == 0);	/* its ghost would keep it */
	CHECK(cache_pass(id, BLK, BLK, 1000000) == 1);	/* not where keeping is this dear */
	CHECK(cache_pass(id, PG, 10, 0) == 1);		/* page 1 left no ghost */

	CHECK(cache_claim(id, 4 * PG, BLK, BLK, size, CLAIM_NOW, &run) == BLK);
	CHECK(cache_pass(id, 4 * PG, 10, 1000000) == 0);	/* being fetched */
	CHECK(fill_pat(run) == 0);
	if (run)
		cache_run_finish(run, 0);
	CHECK(cache_pass(id, 4 * PG + 10, 2 * BLK, 1000000) == 0);	/* held */
	CHECK(cache_pass(id, 4 * PG + BLK, BLK, 1000000) == 1);	/* not held: passes */
	CHECK(cache_pass(id, 3 * PG + 5, 2 * PG, 1000000) == 0);	/* held in the middle */
}

int main(void)
{
	struct cache_stats st;
	struct cache_run *run;
	char buf[3 * PG];
	uint64_t a, b;
	off_t size = 100 * (off_t)PG + 123;

	cache_set_limit(8 * COST);
	a = cache_new_id();
	b = cache_new_id();
	CHECK(a != b);

	/* a claim stops at the bound when read-ahead cannot wait */
	CHECK(load(a, 0, 20 * PG, size, 0) == 8 * (ssize_t)PG);
	cache_get_stats(&st);
	CHECK(st.bytes_used == 8 * COST);
	CHECK(cache_copy(a, PG + 10, buf, 2 * PG) == 2 * PG);
	CHECK(buf[0] == 1 && buf[PG - 10] == 2 && buf[2 * PG - 1] == 3);
	/* present pages are not claimed again */
	CHECK(cache_claim(a, 0, PG, PG, size, CLAIM_NOW, &run) == 0);
	CHECK(cache_wait(a, 0) == 0);
	CHECK(cache_wait(a, 50 * PG) == 1);

	/* at the bound, new pages take over the least recently used ones */
	cache_copy(a, 0, buf, PG);		/* page 0 is now the most recent */
	CHECK(load(b, 0, 4 * PG, size, 50) == 4 * (ssize_t)PG);
	cache_get_stats(&st);
	CHECK(st.bytes_used == 8 * COST);
	CHECK(st.peak_used <= 8 * COST);
	CHECK(st.evictions == 4);
	CHECK(cache_copy(a, 0, buf, PG) == PG);		/* kept: recently used */
	CHECK(cache_copy(a, 2 * PG, buf, PG) == PG);	/* kept: read above */
	CHECK(cache_copy(a, 4 * PG, buf, PG) == 0);	/* evicted: oldest */
	CHECK(cache_copy(a, 7 * PG, buf, PG) == 0);
	CHECK(cache_copy(b, 3 * PG, buf, PG) == PG && buf[0] == 53);

	/* the short last page holds exactly the object's tail */
	CHECK(load(a, 100 * PG, PG, size, 0) == 123);
	CHECK(cache_copy(a, 100 * PG, buf, 3 * PG) == 123);

	/* a failed run drops its pages and its waiters would see the error */
	CHECK(cache_claim(b, 40 * PG, 2 * PG, PG, size, CLAIM_NOW, &run) == 2 * (ssize_t)PG);
	memset(buf, 7, PG);
	CHECK(cache_run_fill(run, 40 * PG, buf, PG) == 0);
	cache_run_finish(run, -ESTALE);
	CHECK(cache_copy(b, 40 * PG, buf, PG) == PG);	/* the filled page stays */
	CHECK(cache_wait(b, 41 * PG) == 1);		/* the other is gone */
	cache_get_stats(&st);
	CHECK(st.bytes_used <= 8 * COST);

	/* bytes out of order or outside the run are refused */
	CHECK(cache_claim(b, 60 * PG, PG, PG, size, CLAIM_NOW, &run) == (ssize_t)PG);
	CHECK(cache_run_fill(run, 60 * PG + 5, buf, 10) == -EIO);
	CHECK(cache_run_fill(run, 61 * PG, buf, 10) == -EIO);
	cache_run_finish(run, 0);
	CHECK(cache_wait(b, 60 * PG) == 1);

	/* with every page held by pending runs, read-ahead gets -ENOBUFS */
	struct cache_run *r1, *r2;
	uint64_t c = cache_new_id();
	ssize_t got = cache_claim(c, 0, 50 * PG, PG, size, CLAIM_NOW, &r1);
	CHECK(got == 8 * (ssize_t)PG);	/* every ready page taken over */
	if (got <= 0)
		return check_summary();
	cache_get_stats(&st);
	CHECK(st.bytes_used == 8 * COST);
	CHECK(cache_claim(c, 60 * PG, PG, PG, size, CLAIM_NOW, &r2) == -ENOBUFS);
	cache_run_finish(r1, -EIO);
	cache_get_stats(&st);
	CHECK(st.bytes_used == 0);
	CHECK(cache_claim(c, 60 * PG, PG, PG, size, CLAIM_NOW, &r2) == (ssize_t)PG);
	if (r2)
		cache_run_finish(r2, -EIO);

	small_pages();
	cache_set_limit(64 * PG);
	waiters_per_page();
	partial_pages();
	ahead_bytes();
	/* the next two count on every spent page being theirs */
	empty_cache(0);
	spent_pages();
	pages_on_trial();
	ahead_pages_on_trial();
	ahead_spares_unread();
	closed_unread_spent();
	ahead_completes_pages();
	old_ghosts();
	comebacks();
	buffers_on_arrival();
	passing_reads();
	return check_summary();
}
