/* SPDX-License-Identifier: MIT */
/*
 * upload_stream.c - streams: uploads opened while their file is written.
 *
 * DESIGN
 * A stream is not in the list of uploads in flight yet.  Its writer
 * reports each change (upload_stream_wrote, _truncated) with its own
 * lock held, so no two reports race.  The bytes written in one run from
 * the start are settled; once the file outgrows one PUT the multipart
 * upload begins, and every part wholly settled and released goes out
 * (upload.c picks them).  A change inside a part sent marks it to go
 * again at the end.
 *
 * A burst is not slowed by its own upload.  Sending a part costs CPU
 * (checksum, copies, TLS, and on a small machine the server itself) that
 * a program writing at memory speed would otherwise have: a 1 GiB write
 * to s3rver on 2 cores reached close at half its tmpfs speed.  So parts
 * are released only when the writer slows below BURST_RATE, pauses,
 * runs ahead of them by an eighth of the staging file system (HOLD_MAX at
 * most), runs short of space, or seals the file.
 * The pacer, one upload task while any stream holds a part, looks every
 * PACE_TICK_MS at how far each writer got; a burst's parts then go as
 * soon as it ends, a slow writer's within a tick of being written.
 * When the staging file system is short of space, the writer drops the
 * parts the store holds (holes punched in the staged file; only the
 * writer punches, so no write can land in a part while it goes), each
 * recorded in the file's journal entry first, and with none to drop,
 * waits for a part in flight.  upload_seal ends the
 * stream; sharing the file with another process gives it up
 * (upload_stream_share), unless something was dropped already.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "backend/log.h"
#include "backend/partplan.h"
#include "backend/upload_int.h"

#define DROP_CHECK_STEP	((off_t)1 << 20)	/* look at the staging space this often */
#define SPACE_RESERVE_MAX (4ULL << 30)	/* short of space below this much free */
#define PACE_TICK_MS	100
#define BURST_RATE	((off_t)128 << 20)	/* bytes a second: a writer this fast is in a burst */
#define HOLD_MAX	((off_t)1 << 30)	/* the most a burst holds back */
#define HOLD_SHARE	8			/* ... or this part of the staging space */
#define PACE_KICKS	64			/* streams released per look, at most */

static int pacer_on;			/* the pacer is queued or running */
static pthread_cond_t pace_wake = PTHREAD_COND_INITIALIZER;
static long pace_tick_ms = PACE_TICK_MS;
static off_t pace_rate = BURST_RATE;
static off_t pace_hold = HOLD_MAX;

struct upload *upload_stream(const struct upload_req *req)
{
	struct upload *u = upload_new(req);
	struct statvfs v;

	if (!u)
		return NULL;
	u->hold_fd = -1;
	u->journal_fd = req->journal_fd;
	u->snapshot = 0;
	u->hold = fstatvfs(u->fd, &v) == 0 ? (off_t)(v.f_blocks * v.f_frsize / HOLD_SHARE) : 0;
	pthread_mutex_lock(&upload_lock);
	u->next = upload_streams;
	if (upload_streams)
		upload_streams->prev = u;
	upload_streams = u;
	pthread_mutex_unlock(&upload_lock);
	return u;
}

int upload_stream_check(struct upload *u, off_t off, off_t len)
{
	int first = partplan_index(u->base, off), rc = 0;
	int last = len ? partplan_index(u->base, off + len - 1) : first;

	pthread_mutex_lock(&upload_lock);
	for (int n = first; n <= last && n <= u->cap && !rc; n++) {
		/* a cut at a part's start leaves it whole: gone, not changed */
		if (!len && off == partplan_start(u->base, n))
			break;
		rc = u->parts[n - 1].state == PART_DROPPED ? -ENOSPC : 0;
	}
	pthread_mutex_unlock(&upload_lock);
	return rc;
}

/* Parts n (from first) that were sent are to be sent again; the caller holds the lock. */
static void resend(struct upload *u, int first, int last)
{
	for (int n = first; n <= last && n <= u->cap; n++) {
		struct part *p = &u->parts[n - 1];

		if (p->state == PART_SENDING || p->state == PART_IN)
			p->again = 1;
		if (p->state == PART_IN) {
			p->state = PART_UNSENT;
			u->bytes_in -= p->len;
		}
		if (p->state == PART_UNSENT && n < u->scan)
			u->scan = n;
	}
}

/*
 * Less than a quarter of the staging file system is free (or 4 GiB, on a
 * large one): what a small /dev/shm, or a container's, runs into first.
 */
static int short_of_space(int fd)
{
	struct statvfs v;
	unsigned long long reserve;

	if (fstatvfs(fd, &v) != 0 || !v.f_frsize)
		return 0;
	reserve = v.f_blocks / 4;
	if (reserve > SPACE_RESERVE_MAX / v.f_frsize)
		reserve = SPACE_RESERVE_MAX / v.f_frsize;
	return v.f_bavail < reserve;
}

/* ---- the pacer --------------------------------------------------------------- */

/* Whether u holds a part wholly settled but not released; under the lock. */
static int holds(const struct upload *u)
{
	return partplan_index(u->base, u->settled) > partplan_index(u->base, u->released);
}

/* Kicks u and lets go of the reference taken for it; not under the lock. */
static void kick_task(void *arg)
{
	upload_kick(arg);
	upload_put(arg);
}

/*
 * Releases the parts of streams whose writer settled less than burst
 * bytes since the last look: it slowed or paused.  Under the lock; the
 * streams to kick, with a reference each, in go.  *held: some still hold.
 */
static int look_locked(struct upload **go, int *held)
{
	off_t burst = pace_rate / 1000 * pace_tick_ms;
	int n = 0;

	*held = 0;
	for (struct upload *u = upload_streams; u; u = u->next) {
		if (u->settled - u->paced < burst && holds(u) && n < PACE_KICKS) {
			u->released = u->settled;
			atomic_fetch_add(&u->refs, 1);
			go[n++] = u;
		}
		u->paced = u->settled;
		*held |= holds(u);
	}
	return n;
}

static void pace(void *arg)
{
	struct upload *go[PACE_KICKS];
	int n, held;

	(void)arg;
	do {
		struct timespec at;

		pthread_mutex_lock(&upload_lock);
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_nsec += pace_tick_ms % 1000 * 1000000L;
		at.tv_sec += pace_tick_ms / 1000 + at.tv_nsec / 1000000000L;
		at.tv_nsec %= 1000000000L;
		/* upload_stream_pace wakes it early; a look early is harmless */
		pthread_cond_clockwait(&pace_wake, &upload_lock, CLOCK_MONOTONIC, &at);
		n = look_locked(go, &held);
		pacer_on = held;
		pthread_mutex_unlock(&upload_lock);
		for (int i = 0; i < n; i++)
			kick_task(go[i]);
	} while (held);
}

/*
 * u's writer got to u->settled: what it leaves more than the hold behind
 * goes, and the pacer looks after the rest.  The caller holds the lock;
 * 1 when the caller is to start the pacer (start_pacer).
 */
static int hold_locked(struct upload *u)
{
	off_t hold = u->hold < pace_hold ? u->hold : pace_hold;

	if (u->settled - u->released > hold)
		u->released = u->settled - hold;
	if (pacer_on || !holds(u))
		return 0;
	pacer_on = 1;
	return 1;
}

static void start_pacer(struct upload *u)
{
	if (upload_run_later(pace, NULL) == 0)
		return;
	pthread_mutex_lock(&upload_lock);	/* no worker: nothing is held */
	pacer_on = 0;
	u->released = u->settled;
	pthread_mutex_unlock(&upload_lock);
}

void upload_stream_pace(long tick_ms, off_t rate, off_t hold)
{
	pthread_mutex_lock(&upload_lock);
	pace_tick_ms = tick_ms > 0 ? tick_ms : PACE_TICK_MS;
	pace_rate = rate > 0 ? rate : BURST_RATE;
	pace_hold = hold > 0 ? hold : HOLD_MAX;
	pthread_cond_broadcast(&pace_wake);
	pthread_mutex_unlock(&upload_lock);
}

void upload_stream_after_fork_child(void)
{
	pacer_on = 0;		/* the parent's */
	pthread_cond_init(&pace_wake, NULL);
}

/* ---- space -------------------------------------------------------------------- */

/*
 * Records in u's journal entry the parts it dropped from staging, before
 * the bytes of the latest, part n, go: a program killed afterwards leaves
 * what `cloudshim sync` needs to complete its file (recover.c).  Part n
 * is added to the list the entry has (one small write); the first drop,
 * n 0 (the list changed otherwise), or a failure before writes the list
 * whole.  Not under the lock.  Failing costs only that: sync sends again
 * the parts whose bytes are still staged, and reports a file with holes
 * no part recorded explains.
 */
static void record_drops(struct upload *u, int n)
{
	struct journal_part jp = { n, 0, NULL };
	struct journal_entry e;
	int rc = -EINVAL;

	if (u->journal_fd < 0)
		return;
	if (n > 0 && u->recorded) {
		pthread_mutex_lock(&upload_lock);
		jp.len = u->parts[n - 1].len;
		jp.etag = strdup(u->parts[n - 1].etag);
		pthread_mutex_unlock(&upload_lock);
		rc = jp.etag ? journal_append_part(u->journal_fd, &jp) : -ENOMEM;
		free(jp.etag);
	}
	if (rc != 0) {
		rc = journal_read_fd(u->journal_fd, &e);
		if (rc == 0) {
			pthread_mutex_lock(&upload_lock);
			rc = upload_record_parts(u, &e, 1);
			pthread_mutex_unlock(&upload_lock);
		}
		if (rc == 0)
			rc = journal_rewrite(u->journal_fd, &e);
		journal_free(&e);
	}
	if (rc && !u->unrecorded)
		log_warn("%s: its staging entry cannot record the parts dropped from staging"
			 " (%s); if the program is killed, `cloudshim sync` cannot complete it",
			 u->path, strerror(-rc));
	u->unrecorded |= rc != 0;
	u->recorded = rc == 0;
}

/*
 * The staging file system is short of space: drop the parts the store
 * holds, and with none to drop, release what the pacer held and wait
 * for one in flight, or for the multipart upload to be begun (until then
 * no part can go).
 */
static void relieve(struct upload *u)
{
	int rushing = 0;

	pthread_mutex_lock(&upload_lock);
	while (!u->no_punch && !u->rc && !u->cancelled && short_of_space(u->fd)) {
		int n = u->drop_scan;

		if (u->released < u->settled) {
			u->released = u->settled;
			pthread_mutex_unlock(&upload_lock);
			upload_kick(u);
			pthread_mutex_lock(&upload_lock);
			continue;
		}

		if (u->step == STEP_BEGIN) {
			upload_wait_changed(&rushing);
			continue;
		}
		if (u->step != STEP_PARTS)
			break;

		while (n <= u->cap && u->parts[n - 1].state != PART_IN)
			n++;
		u->drop_scan = n;
		if (n <= u->cap) {
			off_t off = partplan_start(u->base, n), len = u->parts[n - 1].len;
			int rc;

			u->parts[n - 1].state = PART_DROPPED;
			u->dropped++;
			pthread_mutex_unlock(&upload_lock);
			record_drops(u, n);
			rc = fallocate(u->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
			pthread_mutex_lock(&upload_lock);
			if (rc != 0) {
				log_warn("%s: the staging file system cannot punch holes (%s);"
					 " the whole file stays staged", u->path, strerror(errno));
				u->parts[n - 1].state = PART_IN;
				u->dropped--;
				u->no_punch = 1;
				/* its bytes stay, and may change: not the store's part any more */
				pthread_mutex_unlock(&upload_lock);
				record_drops(u, 0);
				pthread_mutex_lock(&upload_lock);
			}
			continue;
		}
		if (!u->sending)
			break;
		upload_wait_changed(&rushing);
	}
	pthread_mutex_unlock(&upload_lock);
	upload_rush_end(rushing);
}

void upload_stream_wrote(struct upload *u, off_t off, off_t len)
{
	int look, pacer;

	if (len <= 0)
		return;
	pthread_mutex_lock(&upload_lock);
	resend(u, partplan_index(u->base, off), partplan_index(u->base, off + len - 1));
	if (off <= u->settled && off + len > u->settled)
		u->settled = off + len;
	pacer = hold_locked(u);
	look = u->settled - u->checked >= DROP_CHECK_STEP &&
	       (u->step == STEP_BEGIN || u->step == STEP_PARTS);
	if (look)
		u->checked = u->settled;
	pthread_mutex_unlock(&upload_lock);
	if (pacer)
		start_pacer(u);
	upload_kick(u);
	if (look)
		relieve(u);
}

void upload_stream_truncated(struct upload *u, off_t size)
{
	int cut = partplan_index(u->base, size), dropped;

	pthread_mutex_lock(&upload_lock);
	dropped = u->dropped;
	if (size > partplan_start(u->base, cut))
		resend(u, cut, cut);		/* cut short inside: send again */
	else
		cut--;
	for (int n = cut + 1; n <= u->cap; n++) {
		struct part *p = &u->parts[n - 1];

		/* wholly past the end: what comes there later is new */
		if (p->state == PART_DROPPED)
			u->dropped--;
		if (p->state == PART_DROPPED || p->state == PART_IN)
			u->bytes_in -= p->len;
		if (p->state == PART_SENDING)
			p->again = 1;
		else
			*p = (struct part){ .state = PART_UNSENT };
		if (n < u->scan)
			u->scan = n;
	}
	if (u->settled > size)
		u->settled = u->checked = size;
	if (u->released > size)
		u->released = size;
	if (u->paced > size)
		u->paced = size;
	dropped -= u->dropped;
	pthread_mutex_unlock(&upload_lock);
	if (dropped)		/* what comes past the cut is new: not those parts */
		record_drops(u, 0);
}

int upload_stream_holes(struct upload *u)
{
	int holes;

	pthread_mutex_lock(&upload_lock);
	holes = u->dropped > 0;
	pthread_mutex_unlock(&upload_lock);
	return holes;
}

int upload_stream_cancelled(struct upload *u)
{
	int cancelled;

	pthread_mutex_lock(&upload_lock);
	cancelled = u->cancelled;
	pthread_mutex_unlock(&upload_lock);
	return cancelled;
}

void upload_stream_share(struct upload *u)
{
	int kicked;

	pthread_mutex_lock(&upload_lock);
	kicked = upload_cancel_locked(u);
	pthread_mutex_unlock(&upload_lock);
	if (kicked)
		upload_kick(u);
}

/* An upload of u's whole staged file, as it is now, in place of u. */
static void replace(struct upload *u, int hold_fd, int snapshot, struct upload **out)
{
	int fd = fcntl(u->fd, F_DUPFD_CLOEXEC, u->fd);	/* as high as the shim keeps its own */
	struct upload_req req = {
		.st = u->st, .key = u->key, .path = u->path, .fd = fd, .staged = u->staged,
		.journal = u->journal, .hold_fd = hold_fd, .exclusive = u->exclusive,
		.snapshot = snapshot,
	};

	*out = NULL;
	if (fd < 0 || upload_start(&req, out) != 0) {
		log_error("%s: cannot start its upload (%s); the bytes stay in %s", u->path,
			  strerror(fd < 0 ? errno : ENOMEM), u->staged);
		if (fd < 0 && hold_fd >= 0)
			close(hold_fd);
	}
}

void upload_seal(struct upload *u, int hold_fd, int snapshot, struct upload **out)
{
	struct stat sb;
	int whole, rc = fstat(u->fd, &sb) == 0 ? 0 : -errno;

	pthread_mutex_lock(&upload_lock);
	/* one PUT does for what shrank back below two parts, or was given up */
	whole = u->cancelled || (!rc && !u->dropped && sb.st_size <= 2 * u->base);
	if (whole) {
		upload_cancel_locked(u);
		pthread_mutex_unlock(&upload_lock);
		upload_kick(u);
		replace(u, hold_fd, snapshot, out);
		upload_put(u);		/* the stream's reference */
		return;
	}
	upload_unlink_from(&upload_streams, NULL, u);
	if (rc && !u->rc)
		u->rc = rc;
	u->hold_fd = hold_fd;
	u->snapshot = snapshot;
	u->multipart = 1;
	upload_enlist_locked(u, rc ? 0 : sb.st_size, sb.st_mtim);
	atomic_fetch_add(&u->refs, 1);
	pthread_mutex_unlock(&upload_lock);
	*out = u;		/* the stream's reference */
	/* a burst's parts are all still to send: queued by a worker, not the closer */
	if (upload_run_later(kick_task, u) != 0)
		kick_task(u);
}

void upload_stream_forget(struct upload *u)
{
	/* the child's copy: the parent's tasks and locks are not ours */
	u->hold_fd = -1;
	upload_free(u);
}
