/* SPDX-License-Identifier: MIT */
/* check.h - the smallest test harness: CHECK, and a closing count line. */
#ifndef CLOUDSHIM_CHECK_H
#define CLOUDSHIM_CHECK_H

#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond) \
	do { \
		if (cond) { \
			check_passed++; \
		} else { \
			check_failed++; \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

static inline int check_summary(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed || !check_passed;
}

#endif
