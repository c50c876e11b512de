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
 *   -EEXIST  an exclusive put found the key taken (412 to If-None-Match)
 *   -EINVAL  a request S3 would refuse: a bad part number or size, a part
 *            too small, parts out of order or not matching their ETags
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
#define STORE_CAP_WRITE		(1u << 2)	/* put, multipart, delete, copy;
						   without it they give -EROFS */

/*
 * A request body: len bytes of descriptor fd from offset off, read with
 * pread(2).  It is never copied into memory whole, and it is read again
 * from the start when a request is retried, so it must not change until
 * the call returns.
 */
struct store_body {
	int fd;
	off_t off;
	off_t len;
};

/* S3's limits, kept by every store so that file:// behaves like S3 does. */
#define STORE_PUT_MAX		(5LL << 30)	/* one put, one part, one copy */
#define STORE_PART_MIN		(5LL << 20)	/* every part but the last */
#define STORE_PARTS_MAX		10000

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
 * store_stat of a file, and its first len bytes into sink (from offset 0)
 * in the same request where the store can: an open that reads what it
 * opens makes one request, not two.  Where it cannot, a store_stat alone:
 * the caller reads the bytes later.
 */
int store_stat_read(struct store *st, const char *key, struct store_meta *meta, size_t len,
		    store_sink_fn sink, void *arg);

/*
 * Lists directory key ("" is the store's root) to fn, page by page: -ENOTSUP
 * without STORE_CAP_LIST.  A store with real directories fails with -ENOENT
 * or -ENOTDIR; with STORE_CAP_PREFIX_DIRS, a key with nothing below it gives
 * pages with found 0.
 */
int store_list(struct store *st, const char *key, store_page_fn fn, void *arg);

/* Delivers [off, off+len) of key to sink, or fewer bytes at end of object. */
int store_read(struct store *st, const struct store_read *rd);

/*
 * Writes.  Each needs STORE_CAP_WRITE and a mount that is not read-only,
 * else -EROFS.  meta, where an output, may be NULL; it receives what a
 * store_stat would answer for the new object: its size, its ETag as HEAD
 * gives it (quotes included) and its mtime (the time of the call when the
 * store's answer has none).
 */

/*
 * Puts body at key, replacing what was there; with exclusive only if
 * nothing was (If-None-Match: *), else -EEXIST (a server that ignores the
 * header, as s3rver does, replaces it all the same).  The store checks the
 * bytes against a Content-MD5 made here, so a body corrupted on the way
 * is refused, never stored.  A key ending in '/' with an empty body is a
 * directory marker (file://: a directory, made with its parents).  More
 * than STORE_PUT_MAX bytes: -EFBIG (use multipart).
 */
int store_put(struct store *st, const char *key, const struct store_body *body,
	      int exclusive, struct store_meta *meta);

/*
 * Multipart upload: begin gives a malloc'd upload id; parts are numbered
 * from 1 to STORE_PARTS_MAX, may go in any order or in parallel, and a
 * part sent again replaces the earlier one; each gets an ETag to hand to
 * complete, which joins parts 1..nparts in order into the object at key.
 * Parts but the last must have STORE_PART_MIN bytes, none more than
 * STORE_PUT_MAX: -EINVAL (complete checks the minimum, part the rest).  An
 * upload id that is unknown or aborted gives -ENOENT (but radosgw answers
 * a complete of one with 500s: -EIO once retries run out).  An upload
 * never completed must be aborted, or its parts stay in the store (and
 * are billed, on AWS).
 */
int store_mpu_begin(struct store *st, const char *key, char **upload_id);
int store_mpu_part(struct store *st, const char *key, const char *upload_id, int part,
		   const struct store_body *body, char etag[STORE_ETAG_MAX]);
int store_mpu_complete(struct store *st, const char *key, const char *upload_id,
		       char (*const etags)[STORE_ETAG_MAX], int nparts,
		       struct store_meta *meta);
int store_mpu_abort(struct store *st, const char *key, const char *upload_id);

/*
 * Deletes key; a key ending in '/' deletes a directory marker (file://: an
 * empty directory, else -ENOTEMPTY).  Deleting a key that is not there
 * succeeds, as on S3, where DELETE cannot tell.
 */
int store_delete(struct store *st, const char *key);

/*
 * Copies from to to inside the store (S3: CopyObject, or for a source
 * over STORE_PUT_MAX, a multipart upload of part copies pinned to the
 * source's ETag), replacing what was at to.  Copying a key to itself
 * changes nothing and gives its metadata.
 */
int store_copy(struct store *st, const char *from, const char *to, struct store_meta *meta);

const char *store_url(const struct store *st);

/*
 * The least time the store has taken to answer a request, from the request
 * sent to its first byte, in microseconds: a server on this machine answers
 * within a millisecond, one across a network takes several.  LONG_MAX
 * before the first answer, and for stores that are not servers.
 */
long store_answer_us(const struct store *st);

#endif
