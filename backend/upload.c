/* SPDX-License-Identifier: MIT */
/*
 * upload.c - upload workers, their state machine, the list in flight.
 *
 * DESIGN
 * An upload is a small state machine driven by upload_kick(): one PUT, or a
 * multipart upload: BEGIN, one pool task per part (in parallel), and
 * COMPLETE once every part is in.  upload_kick() decides under the lock
 * what is to be done next (next_step) and does it outside it; each event
 * (begun, a part in, sealed, bytes settled, an earlier upload of the key
 * landed) kicks again.  Store calls are never made under the lock.
 *
 * Streams (upload_stream.c) use the same machine: a stream picks only
 * parts its writer has gone past and its pacer released, until it is
 * sealed.
 *
 * Uploads of one key land in the order they were sealed: a later one is
 * deferred (its PUT, or its COMPLETE) until the earlier one finishes.
 * Deferring, not waiting, keeps every worker free for the earlier one.
 *
 * finish() runs exactly once per listed upload: it publishes the new
 * metadata (read your own writes) or keeps the bytes for recovery, with
 * the multipart upload's parts when some bytes exist only there, then
 * wakes every waiter.  One mutex guards the lists, the counters and the
 * part bookkeeping of every upload.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/clock.h"
#include "backend/engine.h"
#include "backend/log.h"
#include "backend/metacache.h"
#include "backend/partplan.h"
#include "backend/pool.h"
#include "backend/upload_int.h"

pthread_mutex_t upload_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t upload_changed = PTHREAD_COND_INITIALIZER;
struct upload *upload_streams;
static struct upload *head, *tail;	/* in flight, oldest first */
static int inflight, aborting;		/* aborting: cancelled streams' parts */
static int failures;
/*
 * Uploads take only the CPU the program leaves idle: a program writing at
 * memory speed is not slowed by sending what it wrote (MD5, copies, TLS).
 * When it waits for an upload (fsync, exit, a full staging space) the
 * uploads are what it is blocked on: from then they run at its priority
 * (upload_wait_changed), not behind every other program on the machine.
 */
static struct pool upload_pool = POOL_INIT("upload", 8, POOL_NICE_BACKGROUND);

/*
 * Uploads that a process of ours had in flight when this one began (its
 * parent at fork, or the program before an exec): views of their staged
 * files, for read your own writes.  That process unlinks a staged file
 * once its upload lands, and from then on the store has the bytes.
 */
struct view {
	struct store *st;
	char *key, *staged, *journal;
	struct store_meta meta;
	struct view *next;
};
#define VIEW_WAIT_MS	(300 * 1000)	/* the longest a delete waits for one to land */
static struct view *views;	/* under upload_lock */
static off_t part_base = (off_t)8 << 20;
static char *recovery_dir;

void upload_configure(const struct engine_conf *ec)
{
	part_base = (off_t)ec->part_size > STORE_PART_MIN ? (off_t)ec->part_size : STORE_PART_MIN;
	pool_configure(&upload_pool, ec->connections);
	free(recovery_dir);
	if (ec->recovery_dir)
		recovery_dir = strdup(ec->recovery_dir);
	else if (asprintf(&recovery_dir, "/var/tmp/cloudshim-%u/recovery", (unsigned)getuid()) < 0)
		recovery_dir = NULL;
}

const char *upload_recovery_dir(void)
{
	return recovery_dir;
}

/* ---- life and death ------------------------------------------------------ */

void upload_free(struct upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	if (u->hold_fd >= 0)
		close(u->hold_fd);
	free(u->key);
	free(u->path);
	free(u->staged);
	free(u->journal);
	free(u->upload_id);
	free(u->parts);
	free(u);
}

void upload_put(struct upload *u)
{
	if (u && atomic_fetch_sub(&u->refs, 1) == 1)
		upload_free(u);
}

/* A new upload of req with one reference, or NULL (req->fd closed). */
struct upload *upload_new(const struct upload_req *req)
{
	struct upload *u = calloc(1, sizeof(*u));

	if (!u) {
		close(req->fd);
		if (req->hold_fd >= 0)
			close(req->hold_fd);
		return NULL;
	}
	atomic_init(&u->refs, 1);
	u->st = req->st;
	u->exclusive = req->exclusive;
	u->fd = req->fd;
	u->hold_fd = req->hold_fd;
	u->journal_fd = -1;
	u->snapshot = req->snapshot;
	u->base = part_base;
	u->scan = u->drop_scan = 1;
	u->key = strdup(req->key);
	u->path = strdup(req->path);
	u->staged = strdup(req->staged);
	u->journal = strdup(req->journal);
	if (!u->key || !u->path || !u->staged || !u->journal) {
		upload_free(u);
		return NULL;
	}
	return u;
}

/* Room for parts 1..n; the caller holds the lock.  0 or -ENOMEM. */
int upload_ensure_parts(struct upload *u, int n)
{
	struct part *grown;
	int cap = u->cap ? u->cap : 64;

	if (n <= u->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	grown = realloc(u->parts, (size_t)cap * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	memset(grown + u->cap, 0, (size_t)(cap - u->cap) * sizeof(*grown));
	u->parts = grown;
	u->cap = cap;
	return 0;
}

/* The size part n has in the object: a whole part, or the tail of a sealed file. */
static off_t part_want(const struct upload *u, int n)
{
	return u->sealed ? partplan_len(u->base, n, u->size) : partplan_size(u->base, n);
}

/* ---- the end of an upload ------------------------------------------------ */

int upload_record_parts(const struct upload *u, struct journal_entry *e, int dropped_only)
{
	journal_clear_parts(e);		/* a resumed entry had some: these replace them */
	if (dropped_only && !u->dropped)
		return 0;
	e->parts = calloc((size_t)(u->cap ? u->cap : 1), sizeof(*e->parts));
	if (!e->parts || !(e->upload_id = strdup(u->upload_id)))
		return -ENOMEM;
	e->part_base = u->base;
	for (int n = 1; n <= u->cap && (dropped_only || n <= u->nparts); n++) {
		const struct part *p = &u->parts[n - 1];

		if (p->state != PART_DROPPED && (dropped_only || p->state != PART_IN))
			continue;
		e->parts[e->nparts] = (struct journal_part){ n, p->len, strdup(p->etag) };
		if (!e->parts[e->nparts++].etag)
			return -ENOMEM;
	}
	return 0;
}

/*
 * fsync completed the multipart upload of a stream that dropped parts,
 * and the file stays staged: the parts its entry recorded (upload_stream.c)
 * belong to an upload that is over, which `cloudshim sync` must not try
 * to resume should the program be killed now.  The entry forgets them;
 * its holes then say the file cannot be sent again whole.  The stream's
 * writer waits for this upload, so its descriptor of the entry is open.
 */
static void forget_dropped(struct upload *u)
{
	struct journal_entry e;

	if (journal_read_fd(u->journal_fd, &e) != 0)
		return;
	journal_clear_parts(&e);
	if (journal_rewrite(u->journal_fd, &e) != 0)
		log_warn("%s: its staging entry still names the upload fsync completed", u->path);
	journal_free(&e);
}

/* The failed upload's bytes go to the recovery directory, loudly. */
static void keep_for_recovery(struct upload *u)
{
	struct journal_entry e = { 0 };
	char *kept = NULL;
	/* through the locked descriptor: closing another would drop the lock */
	int rc = u->hold_fd >= 0 ? journal_read_fd(u->hold_fd, &e) : journal_read(u->journal, &e);

	if (rc == 0 && u->dropped)
		rc = upload_record_parts(u, &e, 0);
	if (rc == 0)
		rc = recovery_dir ? journal_keep(recovery_dir, u->staged, u->journal, &e, strerror(-u->rc), &kept)
				  : -ENOMEM;
	if (rc == 0)
		log_error("%s: upload to %s failed (%s); its %lld bytes are kept in %s%s;"
			  " `cloudshim sync` uploads them again", u->path, store_url(u->st),
			  strerror(-u->rc), (long long)u->size, kept,
			  u->dropped ? " and in the parts the store holds" : "");
	else
		log_error("%s: upload to %s failed (%s), and keeping it in the recovery"
			  " directory failed too (%s); its bytes stay in %s", u->path,
			  store_url(u->st), strerror(-u->rc), strerror(-rc), u->staged);
	journal_free(&e);
	free(kept);
}

void upload_kick(struct upload *u);

/* The oldest upload of key in flight; the caller holds the lock. */
static struct upload *first_of_key(const struct store *st, const char *key)
{
	for (struct upload *o = head; o; o = o->next)
		if (o->st == st && strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

void upload_unlink_from(struct upload **first, struct upload **last, struct upload *u)
{
	if (u->prev)
		u->prev->next = u->next;
	else
		*first = u->next;
	if (u->next)
		u->next->prev = u->prev;
	else if (last)
		*last = u->prev;
	u->prev = u->next = NULL;
}

/* A listed upload is over: publish or keep, then wake its waiters. */
static void finish(struct upload *u, int rc)
{
	struct upload *next;

	if (rc && u->upload_id && !u->dropped)
		store_mpu_abort(u->st, u->key, u->upload_id);	/* every byte is staged */
	if (rc == 0 && !u->meta.mtime.tv_sec)
		u->meta.mtime = u->mtime;
	u->rc = rc;
	if (rc == 0) {
		u->meta.kind = STORE_FILE;
		u->meta.size = u->size;
		obj_changed(u->st, u->key, &u->meta);
		if (!u->snapshot) {
			unlink(u->staged);
			unlink(u->journal);
		} else if (u->dropped && u->journal_fd >= 0) {
			forget_dropped(u);
		}
	} else if (u->snapshot && !u->dropped) {
		log_warn("%s: could not be made durable (%s); it stays staged", u->path,
			 strerror(-rc));
	} else {
		keep_for_recovery(u);
	}
	close(u->fd);
	u->fd = -1;
	if (u->hold_fd >= 0)
		close(u->hold_fd);
	u->hold_fd = -1;
	pthread_mutex_lock(&upload_lock);
	u->done = 1;
	if (rc)
		failures++;
	upload_unlink_from(&head, &tail, u);
	inflight--;
	next = first_of_key(u->st, u->key);
	if (next && next->deferred)
		next->deferred = 0;
	else
		next = NULL;
	pthread_cond_broadcast(&upload_changed);
	pthread_mutex_unlock(&upload_lock);
	upload_put(u);		/* the list's reference */
	if (next)
		upload_kick(next);
}

/* ---- the tasks ------------------------------------------------------------ */

static void run(pool_task_fn fn, void *arg)
{
	if (pool_submit(&upload_pool, fn, arg, 0) != 0)
		fn(arg);	/* no worker could start: do it here */
}

int upload_run_later(void (*fn)(void *), void *arg)
{
	return pool_submit(&upload_pool, fn, arg, 0);
}

static void task_put(void *arg)
{
	struct upload *u = arg;
	struct store_body body = { u->fd, 0, u->size };

	finish(u, store_put(u->st, u->key, &body, u->exclusive, &u->meta));
	upload_put(u);
}

static void task_begin(void *arg)
{
	struct upload *u = arg;
	char *id = NULL;
	int rc = store_mpu_begin(u->st, u->key, &id);

	pthread_mutex_lock(&upload_lock);
	if (rc == 0) {
		u->upload_id = id;
		u->step = STEP_PARTS;
	} else {
		if (!u->rc)
			u->rc = rc;
		u->step = STEP_IDLE;	/* with rc: finished when sealed */
	}
	pthread_cond_broadcast(&upload_changed);
	pthread_mutex_unlock(&upload_lock);
	upload_kick(u);
	upload_put(u);
}

static void task_part(void *arg)
{
	struct part_job *j = arg;
	struct upload *u = j->u;
	struct store_body body = { u->fd, j->off, j->len };
	char etag[STORE_ETAG_MAX] = "";
	int rc = store_mpu_part(u->st, u->key, u->upload_id, j->n, &body, etag);
	struct part *p;

	pthread_mutex_lock(&upload_lock);
	p = &u->parts[j->n - 1];
	u->sending--;
	if (p->again) {
		/* changed while on its way (cut short, even): goes again, whatever happened */
		p->state = PART_UNSENT;
	} else if (rc) {
		p->state = PART_UNSENT;
		if (!u->rc)
			u->rc = rc;
	} else {
		p->state = PART_IN;
		p->len = j->len;
		u->bytes_in += j->len;
		memcpy(p->etag, etag, sizeof(etag));
		if (j->n < u->drop_scan)
			u->drop_scan = j->n;
	}
	if (p->state == PART_UNSENT && j->n < u->scan)
		u->scan = j->n;
	pthread_cond_broadcast(&upload_changed);
	pthread_mutex_unlock(&upload_lock);
	free(j);
	upload_kick(u);
	upload_put(u);
}

static void task_complete(void *arg)
{
	struct upload *u = arg;
	char (*etags)[STORE_ETAG_MAX] = calloc((size_t)u->nparts, sizeof(*etags));
	int rc = etags ? 0 : -ENOMEM;

	/* nothing changes parts 1..nparts now: every one is in */
	for (int n = 1; etags && n <= u->nparts; n++)
		memcpy(etags[n - 1], u->parts[n - 1].etag, STORE_ETAG_MAX);
	if (rc == 0)
		rc = store_mpu_complete(u->st, u->key, u->upload_id, etags, u->nparts, &u->meta);
	free(etags);
	finish(u, rc);
	upload_put(u);
}

/* A cancelled stream is over; the caller holds the lock. */
static void aborted(struct upload *u)
{
	u->step = STEP_OVER;
	if (u->abort_counted) {
		u->abort_counted = 0;
		aborting--;
		pthread_cond_broadcast(&upload_changed);
	}
}

/* A cancelled stream's parts are not wanted: the whole file goes another way. */
static void task_abort(void *arg)
{
	struct upload *u = arg;

	store_mpu_abort(u->st, u->key, u->upload_id);
	pthread_mutex_lock(&upload_lock);
	aborted(u);
	pthread_mutex_unlock(&upload_lock);
	upload_put(u);
}

/* ---- the state machine ---------------------------------------------------- */

/*
 * The next part to send: a sealed upload sends every part of the object
 * the store lacks (or holds with the wrong length); a stream only parts
 * wholly settled, sent never before.  0 when there is none.  The caller
 * holds the lock; the part is then marked as sent, its job made in *j.
 */
static int pick(struct upload *u, struct part_job *j)
{
	int last = u->sealed ? u->nparts : partplan_index(u->base, u->released) - 1;

	if (upload_ensure_parts(u, last) != 0) {
		u->rc = -ENOMEM;
		return 0;
	}
	for (int n = u->scan; n <= last; n++) {
		struct part *p = &u->parts[n - 1];
		off_t want = part_want(u, n);

		if (u->sealed && p->state == PART_IN && p->len != want)
			p->state = PART_UNSENT;		/* the file was cut short in it */
		if (u->sealed && p->state == PART_DROPPED && p->len != want) {
			log_error("%s: part %d changed after its bytes were dropped from staging",
				  u->path, n);
			u->rc = -EIO;
			return 0;
		}
		if (p->state != PART_UNSENT || (!u->sealed && p->again)) {
			if (n == u->scan)
				u->scan = n + 1;	/* sealing looks again from 1 */
			continue;
		}
		p->state = PART_SENDING;
		p->again = 0;
		u->sending++;
		*j = (struct part_job){ u, n, partplan_start(u->base, n), want };
		return n;
	}
	return 0;
}

enum act { ACT_NONE, ACT_PUT, ACT_BEGIN, ACT_PART, ACT_COMPLETE, ACT_FINISH, ACT_ABORT };

/* What u does next; the caller holds the lock.  Marks it as under way. */
static enum act next_step(struct upload *u, struct part_job *j)
{
	switch (u->step) {
	case STEP_IDLE:
		if (u->cancelled) {
			aborted(u);	/* nothing was begun, or begin failed */
			return ACT_NONE;
		}
		if (u->rc)
			return u->sealed ? (u->step = STEP_OVER, ACT_FINISH) : ACT_NONE;
		if (!u->sealed ? u->settled <= 2 * u->base : u->deferred)
			return ACT_NONE;
		u->step = !u->sealed || u->multipart ? STEP_BEGIN : STEP_PUT;
		return u->step == STEP_BEGIN ? ACT_BEGIN : ACT_PUT;
	case STEP_PARTS:
		if (u->cancelled || u->rc) {
			if (u->sending || !(u->cancelled || u->sealed))
				return ACT_NONE;
			u->step = u->cancelled ? STEP_COMPLETE : STEP_OVER;	/* COMPLETE: aborting */
			return u->cancelled ? ACT_ABORT : ACT_FINISH;
		}
		if (pick(u, j))
			return ACT_PART;
		if (u->rc)
			return next_step(u, j);
		if (!u->sealed || u->deferred || u->sending)
			return ACT_NONE;
		u->step = STEP_COMPLETE;
		return ACT_COMPLETE;
	default:
		return ACT_NONE;	/* a task is at it, or it is over */
	}
}

/* Does whatever u can do next, outside the lock; each task holds a reference. */
void upload_kick(struct upload *u)
{
	for (;;) {
		struct part_job j, *job;
		enum act act;

		pthread_mutex_lock(&upload_lock);
		act = next_step(u, &j);
		if (act != ACT_NONE && act != ACT_FINISH)
			atomic_fetch_add(&u->refs, 1);
		pthread_mutex_unlock(&upload_lock);
		switch (act) {
		case ACT_NONE:
			return;
		case ACT_PUT:
			run(task_put, u);
			return;
		case ACT_BEGIN:
			run(task_begin, u);
			return;
		case ACT_COMPLETE:
			run(task_complete, u);
			return;
		case ACT_ABORT:
			run(task_abort, u);
			return;
		case ACT_FINISH:
			finish(u, u->rc);
			return;
		case ACT_PART:
			job = malloc(sizeof(*job));
			if (job) {
				*job = j;
				run(task_part, job);
				break;
			}
			pthread_mutex_lock(&upload_lock);
			u->parts[j.n - 1].state = PART_UNSENT;
			u->sending--;
			u->rc = -ENOMEM;
			pthread_mutex_unlock(&upload_lock);
			upload_put(u);
			break;
		}
	}
}

/* ---- starting ------------------------------------------------------------- */

/*
 * Seals u: its size is final (size, mtime of its staged file, read by
 * the caller) and it enters the list of uploads in flight, with the
 * list's own reference.  The caller holds the lock.
 */
void upload_enlist_locked(struct upload *u, off_t size, struct timespec mtime)
{
	int n = partplan_count(u->base, size);

	u->size = size;
	u->mtime = mtime;
	u->nparts = n > 0 ? n : 0;
	if (n < 0 && !u->rc)
		u->rc = n;
	u->sealed = 1;
	u->scan = 1;
	u->listed = 1;
	atomic_fetch_add(&u->refs, 1);
	u->deferred = first_of_key(u->st, u->key) != NULL;
	u->prev = tail;
	u->next = NULL;
	if (tail)
		tail->next = u;
	else
		head = u;
	tail = u;
	inflight++;
}

int upload_start(const struct upload_req *req, struct upload **out)
{
	struct upload *u = upload_new(req);
	struct stat sb;

	if (!u)
		return -ENOMEM;
	if (fstat(u->fd, &sb) != 0) {
		int rc = -errno;

		upload_free(u);
		return rc;
	}
	pthread_mutex_lock(&upload_lock);
	u->multipart = sb.st_size > 2 * u->base;
	upload_enlist_locked(u, sb.st_size, sb.st_mtim);
	pthread_mutex_unlock(&upload_lock);
	*out = u;
	upload_kick(u);
	return 0;
}

int upload_resume(const struct upload_req *req, const struct journal_entry *e,
		  struct upload **out)
{
	struct upload *u = upload_new(req);
	struct stat sb;
	int n = -EINVAL, rc;

	if (!u)
		return -ENOMEM;
	u->base = e->part_base;
	rc = fstat(u->fd, &sb) != 0 ? -errno : u->base < STORE_PART_MIN ? -EINVAL : 0;
	if (rc == 0)
		n = partplan_count(u->base, sb.st_size);
	if (rc == 0 && n < 0)
		rc = n;
	if (rc == 0)
		rc = (u->upload_id = strdup(e->upload_id)) ? upload_ensure_parts(u, n) : -ENOMEM;
	for (int i = 0; rc == 0 && i < e->nparts; i++) {
		const struct journal_part *jp = &e->parts[i];

		if (jp->n < 1 || jp->n > n || strlen(jp->etag) >= STORE_ETAG_MAX) {
			rc = -EINVAL;
			break;
		}
		/* its bytes may be a hole in the kept file: never sent again */
		u->parts[jp->n - 1].state = PART_DROPPED;
		u->parts[jp->n - 1].len = jp->len;
		snprintf(u->parts[jp->n - 1].etag, STORE_ETAG_MAX, "%s", jp->etag);
		u->dropped++;
	}
	if (rc) {
		upload_free(u);
		return rc;
	}
	u->multipart = 1;
	u->step = STEP_PARTS;
	pthread_mutex_lock(&upload_lock);
	upload_enlist_locked(u, sb.st_size, sb.st_mtim);
	pthread_mutex_unlock(&upload_lock);
	*out = u;
	upload_kick(u);
	return 0;
}

void upload_wait_changed(int *rushing)
{
	if (*rushing) {
		pthread_cond_wait(&upload_changed, &upload_lock);
		return;
	}
	pthread_mutex_unlock(&upload_lock);
	pool_rush(&upload_pool, 1);
	pthread_mutex_lock(&upload_lock);
	*rushing = 1;
}

void upload_rush_end(int rushing)
{
	if (rushing)
		pool_rush(&upload_pool, 0);
}

int upload_wait(struct upload *u)
{
	int rc, rushing = 0;

	pthread_mutex_lock(&upload_lock);
	while (!u->done)
		upload_wait_changed(&rushing);
	rc = u->rc;
	pthread_mutex_unlock(&upload_lock);
	upload_rush_end(rushing);
	return rc;
}

/* ---- what is in flight ---------------------------------------------------- */

static void view_free(struct view *v)
{
	free(v->key);
	free(v->staged);
	free(v->journal);
	free(v);
}

/* Adds a view; upload_lock held, or the only thread. */
static void view_add(struct store *st, const char *key, const struct store_meta *meta,
		     const char *staged, const char *journal)
{
	struct view *v = calloc(1, sizeof(*v)), **tailp = &views;

	if (!v)
		return;
	v->key = strdup(key);
	v->staged = strdup(staged);
	v->journal = strdup(journal);
	if (!v->key || !v->staged || !v->journal) {
		view_free(v);
		return;
	}
	v->st = st;
	v->meta = *meta;
	while (*tailp)	/* oldest first, as uploads land */
		tailp = &(*tailp)->next;
	*tailp = v;
}

/* view_add as an upload_pending_fn */
static void view_of(void *arg, struct store *st, const char *key, const struct store_meta *meta,
		    const char *staged, const char *journal)
{
	(void)arg;
	view_add(st, key, meta, staged, journal);
}

void upload_view_add(struct store *st, const char *key, const struct store_meta *meta,
		     const char *staged, const char *journal)
{
	pthread_mutex_lock(&upload_lock);
	view_add(st, key, meta, staged, journal);
	pthread_mutex_unlock(&upload_lock);
}

/*
 * Whether the view's upload is still going on: its process holds a lock
 * on the journal entry until the upload ends.  (A process killed with
 * its upload unsent holds none: its staged file waits for cloudshim sync.)
 */
static int view_alive(const struct view *v)
{
	int fd = open(v->journal, O_RDWR | O_CLOEXEC | O_NOFOLLOW), alive;

	alive = fd >= 0 && journal_held_elsewhere(fd) == 1;
	if (fd >= 0)
		close(fd);
	return alive;
}

/* The newest view of key whose staged file is still there; the others go. */
static struct view *view_find_locked(const struct store *st, const char *key)
{
	struct view *found = NULL;

	for (struct view **vp = &views, *v; (v = *vp) != NULL;) {
		if (v->st != st || strcmp(v->key, key) != 0) {
			vp = &v->next;
		} else if (access(v->staged, F_OK) == 0) {
			found = v;
			vp = &v->next;
		} else {
			/*
			 * Landed (or kept for recovery): the store has the say, and
			 * what this process knew of key (a forked child inherits
			 * its parent's answers from before the upload) is old.
			 */
			metacache_forget(v->st, v->key);
			*vp = v->next;
			view_free(v);
		}
	}
	return found;
}

/*
 * fn for each upload in flight whose staged file holds it whole and goes
 * when it lands (not a snapshot's); upload_lock held, or the only thread.
 */
static void each_whole(upload_pending_fn *fn, void *arg)
{
	struct store_meta meta = { .kind = STORE_FILE };

	for (struct upload *u = head; u; u = u->next) {
		if (u->dropped || u->snapshot)
			continue;
		meta.size = u->size;
		meta.mtime = u->mtime;
		fn(arg, u->st, u->key, &meta, u->staged, u->journal);
	}
}

void upload_each_pending(upload_pending_fn *fn, void *arg)
{
	pthread_mutex_lock(&upload_lock);
	each_whole(fn, arg);
	for (struct view *v = views; v; v = v->next)
		if (access(v->staged, F_OK) == 0)
			fn(arg, v->st, v->key, &v->meta, v->staged, v->journal);
	pthread_mutex_unlock(&upload_lock);
}

int upload_pending(const struct store *st, const char *key, struct store_meta *meta,
		   char *staged, size_t n)
{
	int found = 0;

	pthread_mutex_lock(&upload_lock);
	for (struct upload *u = tail; u && !found; u = u->prev) {
		if (u->st != st || strcmp(u->key, key) != 0)
			continue;
		memset(meta, 0, sizeof(*meta));
		meta->kind = STORE_FILE;
		meta->size = u->size;
		meta->mtime = u->mtime;
		snprintf(staged, n, "%s", u->dropped ? "" : u->staged);
		found = 1;
	}
	if (!found && views) {
		struct view *v = view_find_locked(st, key);

		if (v) {
			*meta = v->meta;
			snprintf(staged, n, "%s", v->staged);
			found = 1;
		}
	}
	pthread_mutex_unlock(&upload_lock);
	return found;
}

void upload_each(const struct store *st, void (*fn)(void *arg, const char *key), void *arg)
{
	pthread_mutex_lock(&upload_lock);
	for (struct upload *u = head; u; u = u->next)
		if (u->st == st)
			fn(arg, u->key);
	for (struct view *v = views; v; v = v->next)
		if (v->st == st && access(v->staged, F_OK) == 0)
			fn(arg, v->key);
	pthread_mutex_unlock(&upload_lock);
}

void upload_settle(const struct store *st, const char *key)
{
	const struct timespec tick = { 0, 5 * 1000000L };
	long start = clock_ms();
	struct view *v;
	int rushing = 0;

	pthread_mutex_lock(&upload_lock);
	while (first_of_key(st, key))
		upload_wait_changed(&rushing);
	/* another process's upload of key: polled, as it tells us nothing */
	while ((v = view_find_locked(st, key)) && view_alive(v)) {
		if (clock_ms() - start > VIEW_WAIT_MS) {
			log_warn("%s/%s: gave up waiting for another process's upload of it",
				 store_url(st), key);
			break;
		}
		pthread_mutex_unlock(&upload_lock);
		nanosleep(&tick, NULL);
		pthread_mutex_lock(&upload_lock);
	}
	pthread_mutex_unlock(&upload_lock);
	upload_rush_end(rushing);
}

int upload_drain(void)
{
	long start = clock_ms(), said = 0;
	int failed, rushing = 0;

	pthread_mutex_lock(&upload_lock);
	while (inflight > 0 || aborting > 0) {
		struct timespec until;
		long now = clock_ms();

		if (!rushing) {
			upload_wait_changed(&rushing);
			continue;
		}

		if (inflight && now - start >= 1000 && now - said >= 1000) {
			off_t left = 0;

			for (struct upload *u = head; u; u = u->next)
				left += u->size > u->bytes_in ? u->size - u->bytes_in : 0;
			if (left)
				log_say("waiting for %d upload%s (%.1f MiB still to send) to finish",
					inflight, inflight == 1 ? "" : "s", (double)left / (1 << 20));
			else
				log_say("waiting for the store to complete %d upload%s",
					inflight, inflight == 1 ? "" : "s");
			said = now;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&upload_changed, &upload_lock, &until);
	}
	failed = failures;
	pthread_mutex_unlock(&upload_lock);
	upload_rush_end(rushing);
	return failed;
}

/*
 * Gives u up unless it has holes: its parts are aborted once none is in
 * flight, and whoever kicks it next starts that.  The caller holds the
 * lock.  1 when it is given up.
 */
int upload_cancel_locked(struct upload *u)
{
	if (u->cancelled || u->dropped || u->sealed)
		return u->cancelled;
	u->cancelled = 1;
	upload_unlink_from(&upload_streams, NULL, u);
	if (u->step == STEP_BEGIN || u->step == STEP_PARTS) {
		u->abort_counted = 1;	/* upload_drain waits for the abort */
		aborting++;
	}
	return 1;
}

/* ---- fork ----------------------------------------------------------------- */

#define FORK_KICKS 256

static struct upload *fork_kicks[FORK_KICKS];	/* streams a fork gave up */
static int nfork_kicks;

void upload_fork_lock(void)
{
	struct upload *u, *next;

	pool_fork_lock(&upload_pool);
	pthread_mutex_lock(&upload_lock);
	/* the child holds every staged file too from now on */
	nfork_kicks = 0;
	for (u = upload_streams; u; u = next) {
		next = u->next;
		if (upload_cancel_locked(u) && nfork_kicks < FORK_KICKS) {
			atomic_fetch_add(&u->refs, 1);
			fork_kicks[nfork_kicks++] = u;
		}
	}
}

void upload_fork_unlock(void)
{
	pthread_mutex_unlock(&upload_lock);
	pool_fork_unlock(&upload_pool);
}

void upload_after_fork_parent(void)
{
	/* the streams given up let their parts go (a kick past the limit waits for their owner) */
	for (int i = 0; i < nfork_kicks; i++) {
		upload_kick(fork_kicks[i]);
		upload_put(fork_kicks[i]);
	}
	nfork_kicks = 0;
}

void upload_after_fork_child(void)
{
	/* the parent sends what it queued; the child sees it until it lands */
	each_whole(view_of, NULL);
	head = tail = NULL;
	upload_streams = NULL;
	nfork_kicks = 0;
	inflight = aborting = 0;
	failures = 0;
	upload_stream_after_fork_child();
	pthread_cond_init(&upload_changed, NULL);
	pool_after_fork_child(&upload_pool);
}
