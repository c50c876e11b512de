/* SPDX-License-Identifier: MIT */
/*
 * walkcheck.c - nftw and ftw on a mounted tree give what glibc's give on
 * the same tree on the local disk: the same entries with the same types,
 * levels, bases and sizes (in readdir order, which differs, so compared
 * sorted), parents before or after their children as FTW_DEPTH says, and
 * the same answers to FTW_ACTIONRETVAL, FTW_CHDIR, a callback's non-zero
 * return and a missing start.  Run through the shim.
 *
 *   walkcheck MOUNTED_TREE LOCAL_TREE
 *
 * LOCAL_TREE is the same tree (the store directory of a file:// mount)
 * and must hold a directory "skip" with entries, and at least 3 entries.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

#define MAX_SEEN 256
#define LINE 512

/* What the callbacks saw, as lines "PATH TYPE LEVEL SIZE", PATH below the start. */
static char seen[MAX_SEEN][LINE];
static int nseen, stop_after, cwd_wrong, base_wrong;
static size_t root_len;
static const char *skip_name;

static void note(const char *path, const struct stat *st, int type, int level)
{
	if (nseen < MAX_SEEN)
		snprintf(seen[nseen++], sizeof(seen[0]), "%.400s %d %d %lld", path + root_len, type, level,
			 type == FTW_F ? (long long)st->st_size : 0LL);
}

static int on_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	note(path, st, type, f->level);
	if (strchr(path + f->base, '/') || (f->base > 0 && path[f->base - 1] != '/' && f->level))
		base_wrong++;
	return 0;
}

/* FTW_CHDIR: the current directory holds the entry (is it, for FTW_DP). */
static int on_entry_cwd(const char *path, const struct stat *st, int type, struct FTW *f)
{
	char cwd[PATH_MAX], want[PATH_MAX];

	snprintf(want, sizeof(want), "%.*s", type == FTW_DP ? (int)strlen(path) :
			   f->base > 1 ? f->base - 1 : 1, path);
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, want) != 0)
		cwd_wrong++;
	return on_entry(path, st, type, f);
}

static int on_entry_retval(const char *path, const struct stat *st, int type, struct FTW *f)
{
	on_entry(path, st, type, f);
	if (stop_after && nseen >= stop_after)
		return FTW_STOP;
	return type == FTW_D && strcmp(path + f->base, skip_name) == 0 ? FTW_SKIP_SUBTREE
									 : FTW_CONTINUE;
}

static int on_entry_seven(const char *path, const struct stat *st, int type, struct FTW *f)
{
	on_entry(path, st, type, f);
	return type == FTW_F ? 7 : 0;
}

static int on_old(const char *path, const struct stat *st, int type)
{
	note(path, st, type, 0);
	return 0;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The sorted lines of one walk, and its result, into out (malloc'd). */
struct walk {
	int rc, err, n;
	char (*lines)[LINE];
	char order[32];		/* "parent first" or "children first" */
};

static int line_index(const char *rel)
{
	for (int i = 0; i < nseen; i++) {
		size_t n = strlen(rel);

		if (strncmp(seen[i], rel, n) == 0 && seen[i][n] == ' ')
			return i;
	}
	return -1;
}

/* The order of parent and child: "parent first", "children first" or "mixed". */
static const char *order(void)
{
	int before = 0, after = 0;

	for (int i = 0; i < nseen; i++) {
		char rel[LINE], *sp, *slash;
		int p;

		memcpy(rel, seen[i], sizeof(rel));
		if ((sp = strchr(rel, ' ')))
			*sp = '\0';
		if (!(slash = strrchr(rel, '/')))
			continue;
		*slash = '\0';
		if ((p = line_index(rel)) < 0)
			continue;
		if (p < i)
			before++;
		else
			after++;
	}
	return after == 0 ? "parent first" : before == 0 ? "children first" : "mixed";
}

static struct walk run(const char *root, int (*fn)(const char *, const struct stat *, int,
						 struct FTW *), int flags)
{
	struct walk w;

	nseen = 0;
	root_len = strlen(root);
	while (root_len > 1 && root[root_len - 1] == '/')
		root_len--;
	errno = 0;
	w.rc = fn ? nftw(root, fn, 8, flags) : ftw(root, on_old, 8);
	w.err = errno;
	w.n = nseen;
	snprintf(w.order, sizeof(w.order), "%s", order());
	w.lines = malloc(sizeof(seen));
	memcpy(w.lines, seen, sizeof(seen));
	qsort(w.lines, (size_t)nseen, sizeof(seen[0]), by_text);
	return w;
}

/* The two walks agree: result, count, the sorted lines, and the order. */
static void same(const char *name, const char *mounted, const char *local,
		 int (*fn)(const char *, const struct stat *, int, struct FTW *), int flags)
{
	struct walk a = run(mounted, fn, flags), b = run(local, fn, flags);
	char why[2 * LINE + 128];
	int diff = -1;

	for (int i = 0; i < a.n && i < b.n && diff < 0; i++)
		if (strcmp(a.lines[i], b.lines[i]))
			diff = i;
	snprintf(why, sizeof(why), "rc %d/%d, %d/%d entries, %s/%s; first difference: %.500s | %.500s",
		 a.rc, b.rc, a.n, b.n, a.order, b.order, diff >= 0 ? a.lines[diff] : "-",
		 diff >= 0 ? b.lines[diff] : "-");
	report(name, a.rc == b.rc && a.n == b.n && a.n > 0 && diff < 0 &&
		     strcmp(a.order, b.order) == 0, why);
	free(a.lines);
	free(b.lines);
}

int main(int argc, char **argv)
{
	char cwd[PATH_MAX], after[PATH_MAX], path[PATH_MAX + 8], why[PATH_MAX + 128];
	const char *mnt, *loc;
	struct walk w;

	if (argc != 3) {
		fprintf(stderr, "usage: walkcheck MOUNTED_TREE LOCAL_TREE\n");
		return 2;
	}
	mnt = argv[1];
	loc = argv[2];
	skip_name = "skip";

	same("nftw: the same entries, parents first", mnt, loc, on_entry, 0);
	same("nftw FTW_PHYS", mnt, loc, on_entry, FTW_PHYS);
	same("nftw FTW_DEPTH: FTW_DP, children first", mnt, loc, on_entry, FTW_DEPTH | FTW_PHYS);
	same("nftw FTW_MOUNT", mnt, loc, on_entry, FTW_MOUNT);
	same("ftw", mnt, loc, NULL, 0);
	same("nftw FTW_ACTIONRETVAL: FTW_SKIP_SUBTREE", mnt, loc, on_entry_retval, FTW_ACTIONRETVAL);
	snprintf(path, sizeof(path), "%s/", mnt);
	same("nftw of the start with a trailing slash", path, loc, on_entry, 0);
	report("struct FTW base names each entry", base_wrong == 0, "a base was off");

	w = run(mnt, on_entry_retval, FTW_ACTIONRETVAL);
	snprintf(why, sizeof(why), "%d entries", w.n);
	report("FTW_SKIP_SUBTREE: nothing below skip",
	       w.n > 0 && !strstr(w.lines[0], "/skip/") && !strstr(w.lines[w.n - 1], "/skip/"),
	       why);
	for (int i = 0; i < w.n; i++)
		if (strstr(w.lines[i], "/skip/"))
			report("FTW_SKIP_SUBTREE: an entry below skip", 0, w.lines[i]);
	free(w.lines);

	stop_after = 3;
	w = run(mnt, on_entry_retval, FTW_ACTIONRETVAL);
	snprintf(why, sizeof(why), "rc %d after %d entries", w.rc, w.n);
	report("FTW_STOP: nftw returns it at once", w.rc == FTW_STOP && w.n == 3, why);
	free(w.lines);
	stop_after = 0;

	w = run(mnt, on_entry_seven, 0);
	snprintf(why, sizeof(why), "rc %d", w.rc);
	report("a callback's non-zero answer ends the walk and is returned", w.rc == 7, why);
	free(w.lines);

	if (!getcwd(cwd, sizeof(cwd)))
		return 2;
	same("nftw FTW_CHDIR", mnt, loc, on_entry_cwd, FTW_CHDIR);
	w = run(mnt, on_entry_cwd, FTW_CHDIR | FTW_DEPTH);
	free(w.lines);
	snprintf(why, sizeof(why), "%d of %d callbacks in another directory", cwd_wrong, w.n);
	report("FTW_CHDIR: each callback runs in the entry's directory", w.n > 0 && cwd_wrong == 0,
	       why);
	report("FTW_CHDIR: the current directory is put back",
	       getcwd(after, sizeof(after)) && strcmp(after, cwd) == 0, after);

	snprintf(path, sizeof(path), "%s/nope", mnt);
	w = run(path, on_entry, 0);
	snprintf(why, sizeof(why), "rc %d, errno %d, %d entries", w.rc, w.err, w.n);
	report("a missing start: -1, ENOENT", w.rc == -1 && w.err == ENOENT && w.n == 0, why);
	free(w.lines);
	return report_done();
}
