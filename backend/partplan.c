/* SPDX-License-Identifier: MIT */
/*
 * partplan.c - the part layout of multipart uploads (see partplan.h).
 */
#include <errno.h>

#include "backend/partplan.h"
#include "backend/store.h"

off_t partplan_size(off_t base, int n)
{
	off_t size = base;

	for (int step = (n - 1) / PARTPLAN_STEP; step > 0 && size < STORE_PUT_MAX; step--)
		size *= 2;
	return size < STORE_PUT_MAX ? size : STORE_PUT_MAX;
}

off_t partplan_start(off_t base, int n)
{
	off_t start = 0;
	int done = 0;

	/* whole steps of PARTPLAN_STEP parts of one size, then the rest */
	while (n - 1 - done >= PARTPLAN_STEP) {
		start += PARTPLAN_STEP * partplan_size(base, done + 1);
		done += PARTPLAN_STEP;
	}
	return start + (off_t)(n - 1 - done) * partplan_size(base, done + 1);
}

off_t partplan_len(off_t base, int n, off_t size)
{
	off_t start = partplan_start(base, n), len = partplan_size(base, n);

	return size - start < len ? size - start : len;
}

int partplan_index(off_t base, off_t off)
{
	off_t start = 0;
	int done = 0;

	for (;;) {
		off_t size = partplan_size(base, done + 1), step = PARTPLAN_STEP * size;

		if (off < start + step || done + PARTPLAN_STEP >= STORE_PARTS_MAX)
			return done + 1 + (int)((off - start) / size);
		start += step;
		done += PARTPLAN_STEP;
	}
}

int partplan_count(off_t base, off_t size)
{
	int n;

	if (size <= 0)
		return 0;
	n = partplan_index(base, size - 1);
	return n > STORE_PARTS_MAX ? -EFBIG : n;
}
