/* SPDX-License-Identifier: MIT */
/*
 * prefetch.c - sequential detection and the doubling read-ahead window,
 * forward and backward.
 */
#include "backend/prefetch.h"

/*
 * The window for this top-up: the first, or twice the last, up to max, and
 * up to what the cache had room for, which grows a little each time (the
 * room may be back).
 */
static void grow(struct prefetch *pf, size_t len, size_t max)
{
	if (pf->window == 0)
		pf->window = len * 4 > PREFETCH_INITIAL ? len * 4 : PREFETCH_INITIAL;
	else
		pf->window *= 2;
	if (pf->fits) {
		pf->fits += PREFETCH_INITIAL;
		if (pf->window > pf->fits)
			pf->window = pf->fits;
		if (pf->fits >= max)
			pf->fits = 0;
	}
	if (pf->window > max)
		pf->window = max;
}

/*
 * Refill as soon as an eighth of the window has been read, so that every
 * connection stays busy; waiting for half of it left connections idle on
 * stores with a long time to first byte.
 */
static int still_ahead(const struct prefetch *pf, off_t left)
{
	return pf->window && left > (off_t)(pf->window - pf->window / 8);
}

/* A reader going forward, at [off, end): the window after end. */
static struct prefetch_range forward(struct prefetch *pf, off_t end, size_t len, off_t size,
				     size_t max)
{
	struct prefetch_range r = { 0, 0 };
	off_t target;

	if (max == 0 || end >= size)
		return r;
	if (pf->ahead_end < end)
		pf->ahead_end = end;
	if (still_ahead(pf, pf->ahead_end - end))
		return r;
	grow(pf, len, max);
	target = end + (off_t)pf->window;
	if (target > size)
		target = size;
	if (target <= pf->ahead_end)
		return r;
	r.off = pf->ahead_end;
	r.len = (size_t)(target - pf->ahead_end);
	pf->ahead_end = target;
	return r;
}

/* A reader going backward (tac, a log read from its end), at off: the window below it. */
static struct prefetch_range backward(struct prefetch *pf, off_t off, size_t len, size_t max)
{
	struct prefetch_range r = { 0, 0 };
	off_t target;

	if (max == 0 || off == 0)
		return r;
	if (pf->behind_start > off)
		pf->behind_start = off;
	if (still_ahead(pf, off - pf->behind_start))
		return r;
	grow(pf, len, max);
	target = off > (off_t)pf->window ? off - (off_t)pf->window : 0;
	if (target >= pf->behind_start)
		return r;
	r.off = target;
	r.len = (size_t)(pf->behind_start - target);
	pf->behind_start = target;
	return r;
}

/*
 * The first read of a file, from its start: most often the first of a
 * scan (cat, cp, a loader reading files through in chunks), so the next
 * four reads' worth (at most PREFETCH_INITIAL) is fetched at once.
 * Waiting for a second read cost a program reading 64 files in turn,
 * 1 MiB from each, a round trip on the second read of every file (64 x
 * 20 ms from the shaped nginx).  A small first read (a header, a magic
 * number) asks for little, mostly bytes the open fetched already.  The
 * sequence starts here as any other does (prefetch_advise); the window
 * proper opens at the second read.
 */
static struct prefetch_range from_start(struct prefetch *pf, size_t len, off_t size, size_t max)
{
	struct prefetch_range r = { 0, 0 };
	size_t more = len < PREFETCH_INITIAL / 4 ? len * 4 : PREFETCH_INITIAL;
	off_t end = (off_t)len, target;

	if (more > max)
		more = max;
	target = end + (off_t)more < size ? end + (off_t)more : size;
	if (target > end) {
		r.off = end;
		r.len = (size_t)(target - end);
		pf->ahead_end = target;
	}
	return r;
}

struct prefetch_range prefetch_advise(struct prefetch *pf, off_t off, size_t len,
				      off_t size, size_t max)
{
	struct prefetch_range none = { 0, 0 };
	off_t end = off + (off_t)len;
	int first = pf->streak == 0 && off == 0, ahead, behind;

	/* a short skip into what was fetched ahead (or behind) stays in sequence */
	ahead = pf->streak > 0 && pf->dir >= 0 &&
		(off == pf->next || (off > pf->next && off < pf->ahead_end));
	behind = !ahead && pf->streak > 0 && pf->dir <= 0 &&
		 (end == pf->prev || (end < pf->prev && end > pf->behind_start));

	pf->streak = ahead || behind ? pf->streak + 1 : 1;
	pf->next = end;
	pf->prev = off;
	if (ahead) {
		pf->dir = 1;
		return forward(pf, end, len, size, max);
	}
	if (behind) {
		pf->dir = -1;
		return backward(pf, off, len, max);
	}
	pf->window = 0;
	pf->dir = 0;
	pf->ahead_end = end;
	pf->behind_start = off;
	return first ? from_start(pf, len, size, max) : none;
}

/*
 * Several readers' windows together wider than the cache left each top-up
 * room for a page or two, a request each: 8 threads reading 16 MiB files
 * in 8 KiB pieces from the shaped nginx through a 64 MiB cache (read-ahead
 * 32 MiB) made 13,846 requests in 38 s.  Halved, the windows fit: 974 to
 * 1,345 requests, 14-22 s (the rest was cache.c's eviction order).
 */
void prefetch_fell_short(struct prefetch *pf, off_t end)
{
	pf->window = pf->window / 2 > PREFETCH_INITIAL ? pf->window / 2 : PREFETCH_INITIAL;
	pf->fits = pf->window;
	if (pf->dir < 0)
		pf->behind_start = pf->prev;	/* the next top-up asks again below the reader */
	else if (end < pf->ahead_end)
		pf->ahead_end = end;
}
