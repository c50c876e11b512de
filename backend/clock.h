/* SPDX-License-Identifier: MIT */
/* clock.h - monotonic milliseconds, for deadlines and expiry times. */
#ifndef CLOUDSHIM_CLOCK_H
#define CLOUDSHIM_CLOCK_H

#include <time.h>

static inline long clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

#endif
