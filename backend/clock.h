/* SPDX-License-Identifier: MIT */
/* clock.h - monotonic milliseconds, for deadlines and expiry times, and nanoseconds, for costs. */
#ifndef CLOUDSHIM_CLOCK_H
#define CLOUDSHIM_CLOCK_H

#include <time.h>

static inline long clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Nanoseconds on clock c: CLOCK_THREAD_CPUTIME_ID for a thread's own CPU time. */
static inline long clock_ns_on(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static inline long clock_ns(void)
{
	return clock_ns_on(CLOCK_MONOTONIC);
}

#endif
