/* SPDX-License-Identifier: MIT */
/*
 * wrap_glob.c - glob and glob64 of patterns under a mount.
 *
 * glibc's glob lists directories through its internal opendir and
 * readdir, which no wrapper sees.  But it takes a caller's own directory
 * and stat functions with GLOB_ALTDIRFUNC, so a pattern under a mount (or
 * one that climbs out of it) is handed to it with ours: the pattern
 * syntax, the order and every other flag stay glibc's.  A caller that
 * passes GLOB_ALTDIRFUNC itself keeps its own functions.
 */
#include <glob.h>

#include "shim/wrap.h"

/* glob wants a closedir that returns nothing. */
static void close_dir(void *d)
{
	closedir(d);
}

/* Whether glob needs our functions for pattern (a caller's own stay). */
static int pattern_ours(const char *pattern, int flags)
{
	return !(flags & GLOB_ALTDIRFUNC) && needs_our_calls(pattern);
}

/* g (a glob_t or glob64_t) lists and stats through our calls. */
#define OUR_DIR_CALLS(g, readdir_fn, lstat_fn, stat_fn) \
	do { \
		(g)->gl_closedir = close_dir; \
		(g)->gl_readdir = (void *)(readdir_fn); \
		(g)->gl_opendir = (void *)opendir; \
		(g)->gl_lstat = (void *)(lstat_fn); \
		(g)->gl_stat = (void *)(stat_fn); \
	} while (0)

EXPORT int glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g)
{
	if (!pattern_ours(pattern, flags))
		return REAL(glob)(pattern, flags, errfunc, g);
	OUR_DIR_CALLS(g, readdir, lstat, stat);
	return REAL(glob)(pattern, flags | GLOB_ALTDIRFUNC, errfunc, g);
}

EXPORT int glob64(const char *pattern, int flags, int (*errfunc)(const char *, int),
		  glob64_t *g)
{
	if (!pattern_ours(pattern, flags))
		return REAL(glob64)(pattern, flags, errfunc, g);
	OUR_DIR_CALLS(g, readdir64, lstat64, stat64);
	return REAL(glob64)(pattern, flags | GLOB_ALTDIRFUNC, errfunc, g);
}
