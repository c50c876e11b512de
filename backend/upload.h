/* SPDX-License-Identifier: MIT */
/*
 * upload.h - staged files on their way to the store.
 *
 * The POSIX face stages every write in a real file.  When the last
 * descriptor of one closes, the file is handed over here and close
 * returns at once; upload workers send it: one PUT below two parts'
 * worth, else a multipart upload whose parts go out in parallel, with a
 * part size that grows so that 10,000 parts reach past 5 TiB.
 *
 * Nothing is dropped: an upload that fails after the store's retries
 * moves its bytes into the recovery directory with a journal entry
 * (backend/journal.h), says so on stderr with the path, and reports the
 * failure to whoever waits for it.
 */
#ifndef CLOUDSHIM_UPLOAD_H
#define CLOUDSHIM_UPLOAD_H

#include <stddef.h>

#include "backend/store.h"

struct upload;

struct upload_req {
	struct store *st;
	const char *key;
	const char *path;	/* the program's name for it, for messages */
	int fd;			/* the staged bytes: the upload owns and closes it */
	const char *staged;	/* the staged file's own path, removed when durable */
	const char *journal;	/* its journal entry, removed when durable */
	int hold_fd;		/* closed when the upload ends (-1: none) */
	int exclusive;		/* create only: -EEXIST if the key exists */
	int snapshot;		/* fsync: the staged file stays, and is not kept on failure */
};

void upload_configure(const struct engine_conf *ec);

/* Where failed uploads are kept (recovery_dir, or its default). */
const char *upload_recovery_dir(void);

/*
 * Queues the staged file; returns at once with a reference for the caller.
 * req->fd passes to the upload, even on failure.
 */
int upload_start(const struct upload_req *req, struct upload **out);

/* Blocks until the upload is durable (0) or has failed (-errno). */
int upload_wait(struct upload *u);
void upload_put(struct upload *u);

/*
 * Read your own writes: 1 with what key will be once its newest pending
 * upload lands (its size, and the staged file's path in staged), or 0.
 */
int upload_pending(const struct store *st, const char *key, struct store_meta *meta,
		   char *staged, size_t n);

/* Calls fn with the key of every upload of st in flight. */
void upload_each(const struct store *st, void (*fn)(void *arg, const char *key), void *arg);

/* Waits until no upload of key is in flight (before it is deleted or renamed). */
void upload_settle(const struct store *st, const char *key);

/*
 * Waits for every upload of this process, printing progress on stderr
 * when that takes more than a second.  Returns how many failed.
 */
int upload_drain(void);

/* fork: the child keeps none of the parent's uploads (the parent sends them). */
void upload_fork_lock(void);
void upload_fork_unlock(void);
void upload_after_fork_child(void);

#endif
