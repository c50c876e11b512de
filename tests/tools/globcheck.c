/* SPDX-License-Identifier: MIT */
/*
 * globcheck.c - glob(3) of patterns under a mount matches what glibc's
 * glob finds in the same tree on the local disk: for each pattern and
 * flag, the same result and the same names (the prefix aside), in the
 * same order.  Also from a mounted current directory, a pattern that
 * climbs out of the mount, and GLOB_APPEND.  Run through the shim.
 *
 *   globcheck MOUNTED_TREE LOCAL_TREE
 *
 * LOCAL_TREE is the same tree (the store directory of a file:// mount):
 * tests/integration/test_calls.sh makes it.
 */
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

/* The names of one glob, each without its first cut bytes, joined by " "; its result. */
static int names(const char *pattern, int flags, size_t cut, char *out, size_t n)
{
	glob_t g = { 0 };
	int rc = glob(pattern, flags, NULL, &g);
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < g.gl_pathc && used < n; i++) {
		const char *p = g.gl_pathv[g.gl_offs + i];

		used += (size_t)snprintf(out + used, n - used, "%s ",
					 strlen(p) >= cut ? p + cut : p);
	}
	globfree(&g);
	return rc;
}

static void same(const char *mnt, const char *loc, const char *rel, int flags)
{
	char pa[PATH_MAX], pb[PATH_MAX], a[8192], b[8192], name[256], why[16600];
	int ra, rb;

	snprintf(pa, sizeof(pa), "%s/%s", mnt, rel);
	snprintf(pb, sizeof(pb), "%s/%s", loc, rel);
	ra = names(pa, flags, strlen(mnt), a, sizeof(a));
	rb = names(pb, flags, strlen(loc), b, sizeof(b));
	snprintf(name, sizeof(name), "glob %s, flags 0x%x", rel, flags);
	snprintf(why, sizeof(why), "mounted %d [%s], local %d [%s]", ra, a, rb, b);
	report(name, ra == rb && strcmp(a, b) == 0 && (ra == GLOB_NOMATCH || a[0]), why);
}

int main(int argc, char **argv)
{
	static const struct { const char *rel; int flags; } cases[] = {
		{ "*", 0 },
		{ "*", GLOB_MARK },
		{ "*", GLOB_PERIOD },
		{ "*.txt", 0 },
		{ "*/*", 0 },
		{ "*/*/*.txt", GLOB_MARK },
		{ "s[ku]*", 0 },
		{ "{a.txt,sub/*}", GLOB_BRACE },
		{ "sub/", GLOB_MARK },
		{ "nomatch*", 0 },
		{ "nomatch*", GLOB_NOCHECK },
		{ "*", GLOB_ONLYDIR },
		{ "sub/deep/c.txt", 0 },
		{ "sub/*/c.txt", GLOB_ERR },
	};
	char a[8192], b[8192], why[16600], pattern[PATH_MAX + 16];
	const char *mnt, *loc;
	glob_t g = { 0 };
	size_t cut;
	int ra, rb;

	if (argc != 3) {
		fprintf(stderr, "usage: globcheck MOUNTED_TREE LOCAL_TREE\n");
		return 2;
	}
	mnt = argv[1];
	loc = argv[2];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		same(mnt, loc, cases[i].rel, cases[i].flags);

	/* relative, from inside each tree */
	if (chdir(mnt) == 0 && (ra = names("*/*", GLOB_MARK, 0, a, sizeof(a))) >= 0 &&
	    chdir(loc) == 0) {
		rb = names("*/*", GLOB_MARK, 0, b, sizeof(b));
		snprintf(why, sizeof(why), "mounted %d [%s], local %d [%s]", ra, a, rb, b);
		report("glob */* from the current directory", ra == rb && strcmp(a, b) == 0 && a[0],
		       why);
	} else {
		report("glob */* from the current directory", 0, "chdir failed");
	}
	if (chdir("/"))
		return 2;

	/* out of the mount: MOUNTED_TREE/../..LOCAL_TREE/x finds LOCAL_TREE's names */
	snprintf(pattern, sizeof(pattern), "%s", mnt);
	for (const char *c = mnt; *c; c++)
		if (*c == '/')
			strcat(pattern, "/..");
	cut = strlen(pattern);
	strcat(strcat(pattern, loc), "/*/*");
	ra = names(pattern, 0, cut, a, sizeof(a));
	snprintf(pattern, sizeof(pattern), "%s/*/*", loc);
	rb = names(pattern, 0, 0, b, sizeof(b));
	snprintf(why, sizeof(why), "climbing %d [%s], local %d [%s]", ra, a, rb, b);
	report("glob of a pattern that climbs out of the mount", ra == 0 && rb == 0 &&
	       strcmp(a, b) == 0 && a[0], why);

	/* GLOB_APPEND: a mounted match joins a local one */
	snprintf(pattern, sizeof(pattern), "%s/a.txt", loc);
	ra = glob(pattern, 0, NULL, &g);
	snprintf(pattern, sizeof(pattern), "%s/a.txt", mnt);
	rb = glob(pattern, GLOB_APPEND, NULL, &g);
	snprintf(why, sizeof(why), "%d, %d, %zu names", ra, rb, g.gl_pathc);
	report("GLOB_APPEND of a mounted match to a local one", ra == 0 && rb == 0 &&
	       g.gl_pathc == 2 && strcmp(g.gl_pathv[1], pattern) == 0, why);
	globfree(&g);
	return report_done();
}
