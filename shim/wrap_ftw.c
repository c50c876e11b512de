/* SPDX-License-Identifier: MIT */
/*
 * wrap_ftw.c - nftw and ftw (and their 64 forms) on mounted paths.
 *
 * glibc walks a tree through its internal opendir, readdir and stat,
 * which no wrapper sees, so on a mounted path its walk finds nothing.  A
 * walk that starts under a mount is done here instead, through the
 * exported calls (ours), with glibc's rules: the start path without its
 * trailing slashes, "." and ".." skipped, entries in readdir order,
 * FTW_DEPTH, FTW_PHYS, FTW_MOUNT, FTW_CHDIR and FTW_ACTIONRETVAL, and an
 * entry stat cannot see reported FTW_NS.  A store has no links, so
 * FTW_SL and FTW_SLN never occur.  nopenfd does not matter: one
 * directory stream is open per level, as in glibc when it is large
 * enough.  Walks that start elsewhere are glibc's.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/wrap.h"

/* x86-64 and arm64: one layout, so the 64 forms share the walk */
_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64 differs from stat");

typedef int (*nftw_fn)(const char *, const struct stat *, int, struct FTW *);
typedef int (*ftw_fn)(const char *, const struct stat *, int);

struct walk {
	nftw_fn fn;		/* nftw's callback */
	ftw_fn old;		/* or ftw's, which gets no struct FTW */
	int flags;
	dev_t dev;		/* the start's, for FTW_MOUNT */
	char path[PATH_MAX];
};

/* ftw knows only FTW_F, FTW_D, FTW_DNR and FTW_NS. */
static int call(struct walk *w, const struct stat *st, int type, int base, int level)
{
	struct FTW ftw = { .base = base, .level = level };

	if (w->old)
		return w->old(w->path, st, type == FTW_DP ? FTW_D : type);
	return w->fn(w->path, st, type, &ftw);
}

static int walk_entry(struct walk *w, size_t len, int base, int level);

/*
 * The directory w->path (len bytes; its name at base) and what is below
 * it.  With FTW_CHDIR the walk is in the directory that holds it, goes
 * in to read it, and comes back out, unless it is the start.  Returns the
 * callback's last answer, or -1 with errno.
 */
static int walk_dir(struct walk *w, size_t len, int base, int level, const struct stat *st)
{
	int chdir_ = (w->flags & FTW_CHDIR) != 0, retval = (w->flags & FTW_ACTIONRETVAL) != 0;
	DIR *d = opendir(w->path);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return errno == EACCES ? call(w, st, FTW_DNR, base, level) : -1;
	if (!(w->flags & FTW_DEPTH) && (rc = call(w, st, FTW_D, base, level)) != 0) {
		closedir(d);
		return rc;
	}
	/* by its name: the walk is in the directory holding it */
	if (chdir_ && chdir(w->path + base) != 0) {
		closedir(d);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (len + 1 + n >= sizeof(w->path)) {
			errno = ENAMETOOLONG;
			rc = -1;
			break;
		}
		w->path[len] = '/';
		memcpy(w->path + len + 1, e->d_name, n + 1);
		if ((rc = walk_entry(w, len + 1 + n, (int)(len + 1), level + 1)) != 0)
			break;
	}
	closedir(d);
	w->path[len] = '\0';
	if (retval && rc == FTW_SKIP_SIBLINGS)
		rc = 0;
	if (rc == 0 && (w->flags & FTW_DEPTH))
		rc = call(w, st, FTW_DP, base, level);	/* from inside it, as glibc */
	if (chdir_ && level > 0 && (rc == 0 || (retval && rc != -1 && rc != FTW_STOP)) &&
	    chdir("..") != 0)
		rc = -1;
	return rc;
}

/* An entry below the start: what stat says it is, reported or walked. */
static int walk_entry(struct walk *w, size_t len, int base, int level)
{
	const char *name = (w->flags & FTW_CHDIR) ? w->path + base : w->path;
	struct stat st;
	int rc;

	if (((w->flags & FTW_PHYS) ? lstat(name, &st) : stat(name, &st)) != 0) {
		if (errno != EACCES && errno != ENOENT)
			return -1;
		memset(&st, 0, sizeof(st));
		rc = call(w, &st, FTW_NS, base, level);
	} else if ((w->flags & FTW_MOUNT) && st.st_dev != w->dev) {
		return 0;
	} else if (S_ISDIR(st.st_mode)) {
		rc = walk_dir(w, len, base, level, &st);
	} else {
		rc = call(w, &st, FTW_F, base, level);
	}
	return (w->flags & FTW_ACTIONRETVAL) && rc == FTW_SKIP_SUBTREE ? 0 : rc;
}

/*
 * The walk from path, a mounted one.  As glibc's: the start's trailing
 * slashes go; with FTW_CHDIR the walk begins in the directory holding the
 * start, and the current directory is put back at the end.
 */
static int walk(const char *path, nftw_fn fn, ftw_fn old, int flags)
{
	struct walk *w = malloc(sizeof(*w));
	char *cwd = NULL;
	size_t len = strlen(path);
	struct stat st;
	int rc, base;

	if (!w)
		return -1;
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= sizeof(w->path)) {
		free(w);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(w->path, path, len);
	w->path[len] = '\0';
	w->fn = fn;
	w->old = old;
	w->flags = flags;
	for (base = (int)len; base > 0 && w->path[base - 1] != '/'; base--)
		;
	rc = (flags & FTW_PHYS) ? lstat(w->path, &st) : stat(w->path, &st);
	if (rc == 0 && (flags & FTW_CHDIR) && !(cwd = getcwd(NULL, 0)))
		rc = -1;
	if (rc == 0 && cwd && base > 0) {
		int cut = base > 1 ? base - 1 : 1;	/* "/" for "/data", "/a" for "/a/b" */
		char was = w->path[cut];

		w->path[cut] = '\0';
		rc = chdir(w->path);
		w->path[cut] = was;
	}
	if (rc == 0) {
		w->dev = st.st_dev;
		rc = S_ISDIR(st.st_mode) ? walk_dir(w, len, base, 0, &st)
					 : call(w, &st, FTW_F, base, 0);
		if ((flags & FTW_ACTIONRETVAL) && (rc == FTW_SKIP_SUBTREE || rc == FTW_SKIP_SIBLINGS))
			rc = 0;
	}
	if (cwd) {
		int err = errno;

		if (chdir(cwd) != 0 && rc == 0)
			rc = -1;
		else
			errno = err;
		free(cwd);
	}
	free(w);
	return rc;
}

/*
 * Whether a walk from path is ours: it starts under a mount.  If not, buf
 * is as route leaves it, for kernel_path.
 */
static int mounted(const char *path, char *buf)
{
	const char *key;

	buf[0] = '\0';
	return path && route_following(AT_FDCWD, path, buf, &key) != NULL;
}

EXPORT int nftw(const char *path, nftw_fn fn, int nopenfd, int flags)
{
	char buf[PATH_MAX];

	if (!mounted(path, buf))
		return REAL(nftw)(kernel_path(path, buf), fn, nopenfd, flags);
	return walk(path, fn, NULL, flags);
}

EXPORT int nftw64(const char *path,
		  int (*fn)(const char *, const struct stat64 *, int, struct FTW *),
		  int nopenfd, int flags)
{
	char buf[PATH_MAX];

	if (!mounted(path, buf))
		return REAL(nftw64)(kernel_path(path, buf), fn, nopenfd, flags);
	return walk(path, (nftw_fn)fn, NULL, flags);
}

EXPORT int ftw(const char *path, ftw_fn fn, int nopenfd)
{
	char buf[PATH_MAX];

	if (!mounted(path, buf))
		return REAL(ftw)(kernel_path(path, buf), fn, nopenfd);
	return walk(path, NULL, fn, 0);
}

EXPORT int ftw64(const char *path, int (*fn)(const char *, const struct stat64 *, int),
		 int nopenfd)
{
	char buf[PATH_MAX];

	if (!mounted(path, buf))
		return REAL(ftw64)(kernel_path(path, buf), fn, nopenfd);
	return walk(path, NULL, (ftw_fn)fn, 0);
}
