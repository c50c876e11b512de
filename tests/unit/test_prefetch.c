/* SPDX-License-Identifier: MIT */
/* test_prefetch.c - the read-ahead state machine, driven read by read. */
#include <string.h>

#include "backend/prefetch.h"
#include "tests/unit/check.h"

#define MiB ((size_t)1 << 20)
#define SIZE ((off_t)1 << 30)
#define MAX (64 * MiB)

int main(void)
{
	struct prefetch pf;
	struct prefetch_range r;
	size_t last = 0;
	off_t off = 0;
	int grew = 0, capped = 0;

	/* a first read elsewhere asks for nothing ahead: it may be a lone random read */
	memset(&pf, 0, sizeof(pf));
	r = prefetch_advise(&pf, 5 * (off_t)MiB, 128 << 10, SIZE, MAX);
	CHECK(r.len == 0);
	/* the second in sequence starts at the initial window, right after it */
	r = prefetch_advise(&pf, 5 * (off_t)MiB + (128 << 10), 128 << 10, SIZE, MAX);
	CHECK(r.len == PREFETCH_INITIAL);
	CHECK(r.off == 5 * (off_t)MiB + (256 << 10));

	/* a first read from the start asks for four reads' worth after it */
	memset(&pf, 0, sizeof(pf));
	r = prefetch_advise(&pf, 0, 128 << 10, SIZE, MAX);
	CHECK(r.off == 128 << 10 && r.len == 512 << 10);
	/* the second starts the window after that, asking no byte twice */
	r = prefetch_advise(&pf, 128 << 10, 128 << 10, SIZE, MAX);
	CHECK(r.off == 640 << 10 && r.off + (off_t)r.len == (256 << 10) + (off_t)PREFETCH_INITIAL);
	/* a large first read: at most PREFETCH_INITIAL; a small one (a header) little */
	memset(&pf, 0, sizeof(pf));
	r = prefetch_advise(&pf, 0, 8 * MiB, SIZE, MAX);
	CHECK(r.off == 8 * (off_t)MiB && r.len == PREFETCH_INITIAL);
	memset(&pf, 0, sizeof(pf));
	r = prefetch_advise(&pf, 0, 100, SIZE, MAX);
	CHECK(r.off == 100 && r.len == 400);
	/* and none past the end, or with read-ahead off */
	memset(&pf, 0, sizeof(pf));
	r = prefetch_advise(&pf, 0, 4096, 10000, MAX);
	CHECK(r.off == 4096 && r.off + (off_t)r.len == 10000);
	memset(&pf, 0, sizeof(pf));
	CHECK(prefetch_advise(&pf, 0, 4096, SIZE, 0).len == 0);

	/* a long sequential run: windows double up to the maximum, no overlap */
	memset(&pf, 0, sizeof(pf));
	off_t ahead = 0;
	for (int i = 0; i < 4000; i++, off += 128 << 10) {
		r = prefetch_advise(&pf, off, 128 << 10, SIZE, MAX);
		if (!r.len)
			continue;
		CHECK(r.off >= ahead);		/* never asks twice for a byte */
		CHECK(r.off >= off);
		CHECK(r.off + (off_t)r.len - (off + (128 << 10)) <= (off_t)MAX);
		ahead = r.off + (off_t)r.len;
		if (pf.window > last && last)
			grew++;
		if (pf.window == MAX)
			capped = 1;
		last = pf.window;
	}
	CHECK(grew >= 5);
	CHECK(capped);
	CHECK(pf.window == MAX);

	/* random reads: nothing ahead, ever (a first read at 0 is a start, above) */
	memset(&pf, 0, sizeof(pf));
	size_t total = 0;
	for (int i = 1; i <= 1000; i++) {
		off_t at = (off_t)((i * 7919L) % 1000) * (1 << 20);

		r = prefetch_advise(&pf, at, 4096, SIZE, MAX);
		total += r.len;
	}
	CHECK(total == 0);

	/* a seek ends the sequence; a new one starts small again */
	memset(&pf, 0, sizeof(pf));
	for (off = 0; off < 64 * (off_t)MiB; off += 1 << 20)
		prefetch_advise(&pf, off, 1 << 20, SIZE, MAX);
	CHECK(pf.window > PREFETCH_INITIAL);
	r = prefetch_advise(&pf, 512 * (off_t)MiB, 1 << 20, SIZE, MAX);
	CHECK(r.len == 0 && pf.window == 0);
	r = prefetch_advise(&pf, 513 * (off_t)MiB, 1 << 20, SIZE, MAX);
	CHECK(r.len == 4 * MiB);	/* four reads' worth beats the 1 MiB minimum */

	/* never past the end of the object */
	memset(&pf, 0, sizeof(pf));
	prefetch_advise(&pf, 0, 4096, 10000, MAX);
	r = prefetch_advise(&pf, 4096, 4096, 10000, MAX);
	CHECK(r.off + (off_t)r.len <= 10000);

	/* max 0 turns read-ahead off */
	memset(&pf, 0, sizeof(pf));
	prefetch_advise(&pf, 0, 4096, SIZE, 0);
	r = prefetch_advise(&pf, 4096, 4096, SIZE, 0);
	CHECK(r.len == 0);

	/* a short forward skip into the read-ahead stays sequential */
	memset(&pf, 0, sizeof(pf));
	prefetch_advise(&pf, 0, 4096, SIZE, MAX);
	prefetch_advise(&pf, 4096, 4096, SIZE, MAX);
	prefetch_advise(&pf, 8192 + 65536, 4096, SIZE, MAX);
	CHECK(pf.streak == 3);

	/* the cache refused part of it: the next trigger asks again from there */
	memset(&pf, 0, sizeof(pf));
	prefetch_advise(&pf, MiB, 4096, SIZE, MAX);
	r = prefetch_advise(&pf, MiB + 4096, 4096, SIZE, MAX);
	prefetch_fell_short(&pf, r.off);
	r = prefetch_advise(&pf, MiB + 8192, 4096, SIZE, MAX);
	CHECK(r.len > 0 && r.off == (off_t)MiB + 12288);

	/* no room for a top-up: the window halves, then grows back a little a top-up */
	memset(&pf, 0, sizeof(pf));
	for (off = 0; pf.window < MAX; off += 1 << 20)
		prefetch_advise(&pf, off, 1 << 20, SIZE, MAX);
	prefetch_fell_short(&pf, pf.ahead_end - (off_t)MiB);
	CHECK(pf.window == MAX / 2);
	last = pf.window;
	grew = 0;
	for (int i = 0; i < 4000 && pf.window < MAX; i++, off += 1 << 20) {
		r = prefetch_advise(&pf, off, 1 << 20, SIZE, MAX);
		if (!r.len)
			continue;
		CHECK(pf.window <= last + PREFETCH_INITIAL);
		grew += pf.window > last;
		last = pf.window;
	}
	CHECK(pf.window == MAX && grew >= 8 && pf.fits == 0);	/* doubling again from here */
	for (int i = 0; i < 20; i++)
		prefetch_fell_short(&pf, pf.ahead_end);
	CHECK(pf.window == PREFETCH_INITIAL);

	/* a backward reader (tac): the second read starts a window below it */
	memset(&pf, 0, sizeof(pf));
	CHECK(prefetch_advise(&pf, 100 * (off_t)MiB, 8192, SIZE, MAX).len == 0);
	r = prefetch_advise(&pf, 100 * (off_t)MiB - 8192, 8192, SIZE, MAX);
	CHECK(r.len == PREFETCH_INITIAL && r.off + (off_t)r.len == 100 * (off_t)MiB - 8192);
	/* refused by the cache: the next top-up asks again right below the reader */
	prefetch_fell_short(&pf, r.off + 4096);
	r = prefetch_advise(&pf, 100 * (off_t)MiB - 16384, 8192, SIZE, MAX);
	CHECK(r.len > 0 && r.off + (off_t)r.len == 100 * (off_t)MiB - 16384);
	/* a read elsewhere ends it */
	r = prefetch_advise(&pf, 300 * (off_t)MiB, 8192, SIZE, MAX);
	CHECK(r.len == 0 && pf.window == 0 && pf.dir == 0);

	/* the whole object backward: every byte below the second read asked once, in time */
	memset(&pf, 0, sizeof(pf));
	off_t low = SIZE;
	size_t asked = 0;
	int late = 0;
	for (off = SIZE - 8192; off >= 0; off -= 8192) {
		if (off < SIZE - 16384 && off < low)
			late++;		/* a read below everything asked: not read ahead */
		r = prefetch_advise(&pf, off, 8192, SIZE, MAX);
		if (!r.len)
			continue;
		CHECK(r.off + (off_t)r.len <= off && r.off + (off_t)r.len <= low);
		CHECK(off - r.off <= (off_t)MAX);
		low = r.off;
		asked += r.len;
	}
	CHECK(late == 0);
	CHECK(low == 0 && asked == (size_t)SIZE - 16384);
	CHECK(pf.window == MAX);
	return check_summary();
}
