/* SPDX-License-Identifier: MIT */
/*
 * report.h - what the small check tools print: "ok NAME" or "FAIL NAME
 * why" for each check (tests/integration/lib.sh counts them), then a
 * count line.  Included by one program each.
 */
#ifndef CLOUDSHIM_TESTS_REPORT_H
#define CLOUDSHIM_TESTS_REPORT_H

#include <stdio.h>

static int passed, failed;

static void report(const char *name, int good, const char *why)
{
	printf("%s %s%s%s\n", good ? "ok" : "FAIL", name, good ? "" : " ", good ? "" : why);
	if (good)
		passed++;
	else
		failed++;
}

/* The count line; the exit status of the program. */
static int report_done(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}

#endif
