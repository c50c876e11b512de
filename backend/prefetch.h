/* SPDX-License-Identifier: MIT */
/*
 * prefetch.h - the read-ahead decision for one open file.
 *
 * A pure state machine, apart from any I/O so that tests can drive it:
 * it sees each read's offset and length and answers which range to fetch
 * ahead.  A first read that begins the file fetches the next four reads'
 * worth (at most PREFETCH_INITIAL).  Read-ahead proper starts at the
 * second read in sequence, with a window of PREFETCH_INITIAL (or four
 * reads, if more); each time the reader has used an eighth of the window,
 * the window doubles (up to the configured maximum) and is topped up.
 * Where the cache had no room for a top-up, the window halves, and grows
 * again by PREFETCH_INITIAL a top-up.  A reader going backward, each read
 * ending where the last began, is read ahead the same way, below it.  A
 * read elsewhere (a seek) turns it off until a new sequence begins, so
 * random reads fetch only what they ask for.
 */
#ifndef CLOUDSHIM_PREFETCH_H
#define CLOUDSHIM_PREFETCH_H

#include <stddef.h>
#include <sys/types.h>

#define PREFETCH_INITIAL	((size_t)1 << 20)

struct prefetch {
	off_t next;		/* where a forward reader reads next */
	off_t ahead_end;	/* end of what has been fetched ahead */
	off_t prev;		/* where the last read began: a backward reader's next end */
	off_t behind_start;	/* start of what has been fetched behind */
	size_t window;		/* 0: not reading ahead */
	size_t fits;		/* 0, or how wide a window the cache had room for */
	unsigned streak;	/* reads in sequence so far */
	int dir;		/* 1 forward, -1 backward, 0 not known yet */
};

struct prefetch_range {
	off_t off;
	size_t len;		/* 0: nothing to fetch ahead */
};

/*
 * A read of [off, off+len) of an object of size bytes happened; returns the
 * range to fetch ahead, at most max bytes beyond the read (or before it).
 */
struct prefetch_range prefetch_advise(struct prefetch *pf, off_t off, size_t len,
				      off_t size, size_t max);

/*
 * Read-ahead reached only up to end: the cache had no room for more.  The
 * next top-up asks again from there (backward: for all below the reader),
 * and the window halves.
 */
void prefetch_fell_short(struct prefetch *pf, off_t end);

#endif
