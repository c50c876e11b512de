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

struct store;

int store_open(const struct store_conf *sc, const struct engine_conf *ec,
	       struct store **out, char *err, size_t errlen);
void store_close(struct store *st);

/* What is at key: a file with its metadata, a directory, or -ENOENT. */
int store_stat(struct store *st, const char *key, struct store_meta *meta);

/* Delivers [off, off+len) of key to sink, or fewer bytes at end of object. */
int store_read(struct store *st, const struct store_read *rd);

const char *store_url(const struct store *st);

#endif
