/* SPDX-License-Identifier: MIT */
/*
 * store.h - what the engine asks of an object store, whatever its kind.
 *
 * A struct store is one mounted location (s3://bucket/prefix, https://host/dir,
 * file:///dir).  Keys passed in are relative to that location and never start
 * with '/'; "" names the location itself.  Every call returns 0 or -errno:
 *
 *   -ENOENT  no such object            -EACCES  the store refused (401/403)
 *   -ESTALE  the object changed under the pinned version (412, size change)
 *   -EIO     retries exhausted or the store answered something unusable
 *   -EROFS   the store or mount cannot be written
 *
 * and never touches errno.  Only the POSIX face (shim/) sets errno.
 */
#ifndef CLOUDSHIM_STORE_H
#define CLOUDSHIM_STORE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "backend/conf.h"

#define STORE_ETAG_MAX 128

enum store_kind {
	STORE_NONE = 0,		/* nothing at this key */
	STORE_FILE,
	STORE_DIR,
};

struct store_meta {
	enum store_kind kind;
	off_t size;
	struct timespec mtime;		/* zero when the store gave none */
	char etag[STORE_ETAG_MAX];	/* "" when the store gave none */
};

/*
 * Receives the bytes of a ranged read in order, each run tagged with its
 * absolute offset in the object.  Returns 0 to go on or -errno to abort.
 */
typedef int (*store_sink_fn)(void *arg, off_t off, const char *data, size_t len);

struct store_read {
	const char *key;
	const struct store_meta *pin;	/* the version opened; NULL: any */
	off_t off;
	size_t len;
	store_sink_fn sink;
	void *arg;
};

/* One entry of a listing: name is one component, never "" and without '/'. */
struct store_entry {
	const char *name;
	struct store_meta meta;		/* STORE_FILE or STORE_DIR */
};

/*
 * One page of a listing, in the store's order: not sorted, and a name may
 * come twice (a file "a" beside a directory "a/", or a directory repeated
 * on the next page).  Everything in it lives only during the callback.
 */
struct store_page {
	const struct store_entry *entries;
	size_t count;
	int found;		/* the directory exists (a marker, keys below it) */
	int more;		/* further pages follow */
};

#define STORE_LIST_STOP 1

/*
 * Receives the pages of a listing in order.  Returns 0 for the next page,
 * STORE_LIST_STOP to end the listing there (store_list then returns 0), or
 * -errno to abort it with.
 */
typedef int (*store_page_fn)(void *arg, const struct store_page *page);

#define STORE_CAP_LIST		(1u << 0)	/* store_list works */
#define STORE_CAP_PREFIX_DIRS	(1u << 1)	/* directories are key prefixes:
						   store_stat sees files only,
						   a listing finds directories */

struct store;

int store_open(const struct store_conf *sc, const struct engine_conf *ec,
	       struct store **out, char *err, size_t errlen);
void store_close(struct store *st);

unsigned store_caps(const struct store *st);

/*
 * What is at key: a file with its metadata, a directory, or -ENOENT.  With
 * STORE_CAP_PREFIX_DIRS only the mount's root is ever a directory here.
 */
int store_stat(struct store *st, const char *key, struct store_meta *meta);

/*
 * Lists directory key ("" is the store's root) to fn, page by page: -ENOTSUP
 * without STORE_CAP_LIST.  A store with real directories fails with -ENOENT
 * or -ENOTDIR; with STORE_CAP_PREFIX_DIRS, a key with nothing below it gives
 * pages with found 0.
 */
int store_list(struct store *st, const char *key, store_page_fn fn, void *arg);

/* Delivers [off, off+len) of key to sink, or fewer bytes at end of object. */
int store_read(struct store *st, const struct store_read *rd);

const char *store_url(const struct store *st);

#endif
