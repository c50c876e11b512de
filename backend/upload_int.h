/* SPDX-License-Identifier: MIT */
/*
 * upload_int.h - what upload.c (the state machine, the list of uploads in
 * flight) and upload_stream.c (files sent while written) share.  One
 * mutex, upload_lock, guards all of it.
 */
#ifndef CLOUDSHIM_UPLOAD_INT_H
#define CLOUDSHIM_UPLOAD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "backend/store.h"
#include "backend/upload.h"

enum part_state {
	PART_UNSENT,		/* to send (again) */
	PART_SENDING,
	PART_IN,		/* the store has it: etag */
	PART_DROPPED,		/* the store has it, and the staged bytes are gone */
};

struct part {
	char etag[STORE_ETAG_MAX];
	off_t len;			/* what was sent (PART_IN, PART_DROPPED) */
	unsigned char state;
	unsigned char again;		/* written after it went: sent at the end */
};

enum step {
	STEP_IDLE,			/* nothing asked of the store yet */
	STEP_PUT,			/* the PUT in flight */
	STEP_BEGIN,			/* the multipart upload being begun */
	STEP_PARTS,			/* begun: parts go out */
	STEP_COMPLETE,			/* the COMPLETE in flight */
	STEP_OVER,
};

struct upload {
	atomic_int refs;
	struct store *st;
	char *key, *path, *staged, *journal;
	int fd, hold_fd;
	int journal_fd;			/* stream: its entry, open, where drops are recorded (-1: none) */
	int exclusive, snapshot;
	off_t base;			/* part layout (backend/partplan.h) */
	off_t size;			/* final once sealed */
	struct timespec mtime;
	enum step step;
	int sealed, listed, deferred, cancelled, multipart;
	int abort_counted;		/* cancelled: counted in aborting */
	char *upload_id;
	struct part *parts;		/* grown as needed; parts past cap are unsent */
	int cap, nparts;		/* nparts: the object's, once sealed */
	int scan, drop_scan;		/* no part below is to send, or to drop */
	int sending;			/* part tasks in flight */
	int dropped;			/* parts dropped from the staged file */
	off_t bytes_in;			/* in the store: parts in or dropped */
	int no_punch;			/* the staging file system cannot punch holes */
	int recorded;			/* stream: its entry lists the parts dropped */
	int unrecorded;			/* stream: recording a drop failed (said once) */
	off_t settled;			/* stream: written in one run from 0 */
	off_t released;			/* stream: settled parts below may go */
	off_t paced;			/* stream: settled at the pacer's last look */
	off_t hold;			/* stream: what a burst may hold, for its staging space */
	off_t checked;			/* stream: settled when the space was last looked at */
	int rc;				/* the first failure */
	int done;
	struct store_meta meta;
	struct upload *prev, *next;	/* in the list of streams, or of uploads in flight */
};

struct part_job {
	struct upload *u;
	int n;
	off_t off, len;
};

extern pthread_mutex_t upload_lock;
extern pthread_cond_t upload_changed;	/* a part, a step or an upload ended */
extern struct upload *upload_streams;	/* open streams */

/* A new upload of req with one reference, or NULL (req->fd closed). */
struct upload *upload_new(const struct upload_req *req);
void upload_free(struct upload *u);

/* Does whatever u can do next (never under the lock). */
void upload_kick(struct upload *u);

/* Queues fn(arg) for an upload worker: 0, or -errno when none can take it. */
int upload_run_later(void (*fn)(void *), void *arg);

/* After fork, in the child: no pacer runs (upload_stream.c). */
void upload_stream_after_fork_child(void);

/*
 * Tests: the pacer looks every tick_ms, a writer faster than rate bytes
 * a second is in a burst, which holds hold bytes at most (0: defaults).
 */
void upload_stream_pace(long tick_ms, off_t rate, off_t hold);

/*
 * u's multipart upload and the parts the store holds (with dropped_only,
 * those dropped from staging; none at all: no upload) into e, replacing
 * what e had; with upload_lock held, unless u is over.  0 or -ENOMEM.
 */
int upload_record_parts(const struct upload *u, struct journal_entry *e, int dropped_only);

/* The rest with upload_lock held. */

/* Room for parts 1..n: 0 or -ENOMEM. */
int upload_ensure_parts(struct upload *u, int n);

/* Takes u off the list from first (and last, if it keeps one). */
void upload_unlink_from(struct upload **first, struct upload **last, struct upload *u);

/* Seals u with its final size and puts it in the list of uploads in flight. */
void upload_enlist_locked(struct upload *u, off_t size, struct timespec mtime);

/* Gives stream u up unless it has holes; 1 when it is (upload_stream_share). */
int upload_cancel_locked(struct upload *u);

/*
 * Waits for upload_changed as a thread blocked on the uploads: from its
 * first call on, they run at the caller's priority (pool_rush).  That
 * first call only arranges it, dropping the lock meanwhile (the pool's
 * lock comes first at fork), and returns at once: the caller looks again.
 * *rushing, 0 before the first call, says whether it was made; after the
 * last wait, with the lock released, upload_rush_end(*rushing).
 */
void upload_wait_changed(int *rushing);
void upload_rush_end(int rushing);

#endif
