/* SPDX-License-Identifier: MIT */
/*
 * upload.h - staged files on their way to the store.
 *
 * The POSIX face stages every write in a real file.  When the last
 * descriptor of one closes, the file is handed over here and close
 * returns at once; upload workers send it: one PUT below two parts'
 * worth, else a multipart upload whose parts go out in parallel, laid out
 * by backend/partplan.h.
 *
 * A file written by one sequential writer need not wait for its close: a
 * stream (upload_stream) sends each part as soon as the writer has gone
 * past it, and when the staging file system runs short of space, drops
 * the parts the store holds from the staged file, so that a file larger
 * than the staging space gets through.  A write into a part already sent
 * sends it again at the end; into a part dropped, it cannot be honoured:
 * -ENOSPC, as the staging space would have said without the stream.
 *
 * Nothing is dropped silently: an upload that fails after the store's
 * retries moves its bytes into the recovery directory with a journal
 * entry (backend/journal.h), with the multipart upload's parts when some
 * of the bytes exist only there, says so on stderr with the path, and
 * reports the failure to whoever waits for it.
 */
#ifndef CLOUDSHIM_UPLOAD_H
#define CLOUDSHIM_UPLOAD_H

#include <stddef.h>

#include "backend/journal.h"
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
	int journal_fd;		/* a stream's: below */
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

/*
 * `cloudshim sync` of an entry whose multipart upload had parts in the
 * store already (e->upload_id): sends the others and completes it.
 */
int upload_resume(const struct upload_req *req, const struct journal_entry *e,
		  struct upload **out);

/* Blocks until the upload is durable (0) or has failed (-errno). */
int upload_wait(struct upload *u);
void upload_put(struct upload *u);

/*
 * Streams.  upload_stream opens one for a staged file being written
 * (req->fd passes to it; hold_fd and snapshot are ignored).  The writer
 * calls the others, one at a time, for every change of the file's bytes.
 * req->journal_fd is its journal entry, open for reading and writing
 * until the stream is sealed, or for a seal by fsync (snapshot) until its
 * upload ended (the caller's to close; -1: none): before a part's bytes
 * are dropped from staging, the entry records the part, so that
 * `cloudshim sync` can complete the file if its program is killed; once
 * fsync completed the upload, the entry forgets them again.
 */
struct upload *upload_stream(const struct upload_req *req);

/* Before changing [off, off+len): 0, or -ENOSPC when it lies in a part dropped. */
int upload_stream_check(struct upload *u, off_t off, off_t len);

/*
 * [off, off+len) was written.  Sends the parts it completes, and when the
 * staging space runs short, drops parts the store holds, waiting for one
 * in flight if none is in yet (back pressure on the writer).
 */
void upload_stream_wrote(struct upload *u, off_t off, off_t len);

/* The file was truncated to size (after upload_stream_check(u, size, 0)). */
void upload_stream_truncated(struct upload *u, off_t size);

/* 1 when parts were dropped: the staged file no longer holds every byte. */
int upload_stream_holes(struct upload *u);

/*
 * 1 when the stream was given up (another process came to share its file
 * while nothing was dropped): the staged file is whole, and is uploaded
 * as any other; the stream's parts are aborted in the background (and
 * upload_drain waits for that).
 */
int upload_stream_cancelled(struct upload *u);

/*
 * Another program will hold the stream's file (exec, spawn): it is given
 * up unless it has holes, as a fork does (upload_fork_lock).
 */
void upload_stream_share(struct upload *u);

/*
 * The file is complete (last close; snapshot: fsync): its size is final,
 * the remaining parts go out and the upload completes.  The stream's own
 * reference is gone, and *out has one for the caller, as upload_start
 * gives (NULL when the upload could not even start: said on stderr).
 * hold_fd as for upload_start.  A stream given up, or shrunk back to one
 * PUT's worth, is uploaded whole instead.
 */
void upload_seal(struct upload *u, int hold_fd, int snapshot, struct upload **out);

/*
 * Read your own writes: 1 with what key will be once its newest pending
 * upload lands (its size, and the staged file's path in staged, or ""
 * when the staged file no longer holds every byte), or 0.
 */
int upload_pending(const struct store *st, const char *key, struct store_meta *meta,
		   char *staged, size_t n);

/* Calls fn with the key of every upload of st in flight (views too). */
void upload_each(const struct store *st, void (*fn)(void *arg, const char *key), void *arg);

/*
 * Views: uploads another process of ours has in flight, whose staged
 * files read your own writes shows until they land (the uploader then
 * unlinks them), and whose journal entry its process holds meanwhile.
 * A forked child views its parent's uploads of whole files;
 * upload_view_add is how a new program takes those of the one before
 * it, which upload_each_pending lists with this process's own.
 */
typedef void upload_pending_fn(void *arg, struct store *st, const char *key,
			       const struct store_meta *meta, const char *staged,
			       const char *journal);

void upload_view_add(struct store *st, const char *key, const struct store_meta *meta,
		     const char *staged, const char *journal);
void upload_each_pending(upload_pending_fn *fn, void *arg);

/*
 * Waits until no upload of key is in flight (before it is deleted or
 * renamed): this process's, and those it views while their process is
 * still sending them (polled, up to 5 minutes).
 */
void upload_settle(const struct store *st, const char *key);

/*
 * Waits for every upload of this process, printing progress on stderr
 * when that takes more than a second.  Returns how many failed.
 */
int upload_drain(void);

/*
 * fork: every open stream is shared with the child from now on: one with
 * nothing dropped is given up (both processes then hold a whole staged
 * file); one with holes stays the parent's alone, and upload_stream_holes
 * tells the child to keep its hands off it.  The child keeps none of the
 * parent's uploads (the parent sends them).
 */
void upload_fork_lock(void);
void upload_fork_unlock(void);
void upload_after_fork_parent(void);
void upload_after_fork_child(void);

/* The child's copy of a parent's stream: forgotten, the parent sends it. */
void upload_stream_forget(struct upload *u);

#endif
