/* SPDX-License-Identifier: MIT */
/* test_cache.c - the memory bound, LRU eviction, and the page life cycle. */
#include <errno.h>
#include <string.h>

#include "backend/cache.h"
#include "tests/unit/check.h"

#define PG CACHE_PAGE_SIZE

/* Claims, fills with the byte value (off/PG + seed), and ends a run. */
static ssize_t load(uint64_t id, off_t off, size_t len, off_t size, int seed)
{
	struct cache_run *run;
	ssize_t n = cache_claim(id, off, len, size, 0, &run);
	static char buf[PG];

	if (n <= 0)
		return n;
	for (off_t o = cache_run_start(run); o < cache_run_end(run); o += PG) {
		size_t k = cache_run_end(run) - o < (off_t)PG ? (size_t)(cache_run_end(run) - o) : PG;

		memset(buf, (int)(o / PG) + seed, k);
		if (cache_run_fill(run, o, buf, k) != 0)
			return -1;
	}
	cache_run_finish(run, 0);
	return n;
}

int main(void)
{
	struct cache_stats st;
	struct cache_run *run;
	char buf[3 * PG];
	uint64_t a, b;
	off_t size = 100 * (off_t)PG + 123;

	cache_set_limit(8 * PG);
	a = cache_new_id();
	b = cache_new_id();
	CHECK(a != b);

	/* a claim stops at the bound when read-ahead cannot wait */
	CHECK(load(a, 0, 20 * PG, size, 0) == 8 * (ssize_t)PG);
	cache_get_stats(&st);
	CHECK(st.bytes_used == 8 * PG);
	CHECK(cache_copy(a, PG + 10, buf, 2 * PG) == 2 * PG);
	CHECK(buf[0] == 1 && buf[PG - 10] == 2 && buf[2 * PG - 1] == 3);
	/* present pages are not claimed again */
	CHECK(cache_claim(a, 0, PG, size, 0, &run) == 0);
	CHECK(cache_wait(a, 0) == 0);
	CHECK(cache_wait(a, 50 * PG) == 1);

	/* at the bound, new pages take over the least recently used ones */
	cache_copy(a, 0, buf, PG);		/* page 0 is now the most recent */
	CHECK(load(b, 0, 4 * PG, size, 50) == 4 * (ssize_t)PG);
	cache_get_stats(&st);
	CHECK(st.bytes_used == 8 * PG);
	CHECK(st.peak_used <= 8 * PG);
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
	CHECK(cache_claim(b, 40 * PG, 2 * PG, size, 0, &run) == 2 * (ssize_t)PG);
	memset(buf, 7, PG);
	CHECK(cache_run_fill(run, 40 * PG, buf, PG) == 0);
	cache_run_finish(run, -ESTALE);
	CHECK(cache_copy(b, 40 * PG, buf, PG) == PG);	/* the filled page stays */
	CHECK(cache_wait(b, 41 * PG) == 1);		/* the other is gone */
	cache_get_stats(&st);
	CHECK(st.bytes_used <= 8 * PG);

	/* bytes out of order or outside the run are refused */
	CHECK(cache_claim(b, 60 * PG, PG, size, 0, &run) == (ssize_t)PG);
	CHECK(cache_run_fill(run, 60 * PG + 5, buf, 10) == -EIO);
	CHECK(cache_run_fill(run, 61 * PG, buf, 10) == -EIO);
	cache_run_finish(run, 0);
	CHECK(cache_wait(b, 60 * PG) == 1);

	/* with every page held by pending runs, read-ahead gets -ENOBUFS */
	struct cache_run *r1, *r2;
	uint64_t c = cache_new_id();
	ssize_t got = cache_claim(c, 0, 50 * PG, size, 0, &r1);
	CHECK(got == 8 * (ssize_t)PG);	/* every ready page taken over */
	if (got <= 0)
		return check_summary();
	cache_get_stats(&st);
	CHECK(st.bytes_used == 8 * PG);
	CHECK(cache_claim(c, 60 * PG, PG, size, 0, &r2) == -ENOBUFS);
	cache_run_finish(r1, -EIO);
	cache_get_stats(&st);
	CHECK(st.bytes_used == 0);
	CHECK(cache_claim(c, 60 * PG, PG, size, 0, &r2) == (ssize_t)PG);
	if (r2)
		cache_run_finish(r2, -EIO);
	return check_summary();
}
