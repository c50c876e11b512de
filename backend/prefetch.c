/* SPDX-License-Identifier: MIT */
/*
 * prefetch.c - sequential detection and the doubling read-ahead window.
 */
#include "backend/prefetch.h"

struct prefetch_range prefetch_advise(struct prefetch *pf, off_t off, size_t len,
				      off_t size, size_t max)
{
	struct prefetch_range r = { 0, 0 };
	off_t end = off + (off_t)len, target;
	/* a short skip forward into what was fetched ahead stays in sequence */
	int in_sequence = pf->streak > 0 &&
			  (off == pf->next || (off > pf->next && off < pf->ahead_end));

	pf->streak = in_sequence ? pf->streak + 1 : 1;
	pf->next = end;
	if (!in_sequence) {
		pf->window = 0;
		pf->ahead_end = end;
		return r;
	}
	if (max == 0 || end >= size)
		return r;
	if (pf->ahead_end < end)
		pf->ahead_end = end;
	/*
	 * Refill as soon as an eighth of the window has been read, so that
	 * every connection stays busy; waiting for half of it left connections
	 * idle on stores with a long time to first byte.
	 */
	if (pf->window && pf->ahead_end - end > (off_t)(pf->window - pf->window / 8))
		return r;
	if (pf->window == 0)
		pf->window = len * 4 > PREFETCH_INITIAL ? len * 4 : PREFETCH_INITIAL;
	else
		pf->window *= 2;
	if (pf->window > max)
		pf->window = max;
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

void prefetch_fell_short(struct prefetch *pf, off_t end)
{
	if (end < pf->ahead_end)
		pf->ahead_end = end;
}
