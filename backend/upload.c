/* SPDX-License-Identifier: MIT */
/*
 * upload.c - the upload workers and the list of uploads in flight.
 *
 * DESIGN
 * An upload is a small state machine run by pool tasks: a single PUT, or
 * BEGIN, then one task per part (in parallel, each with a reference), and
 * whichever part finishes last completes or aborts the upload.  Parts
 * after a failure are skipped.  finish() runs exactly once per upload: it
 * publishes the new metadata (read your own writes) or keeps the bytes
 * for recovery, then wakes every waiter.  One mutex guards the list, the
 * counters and each upload's part bookkeeping.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/clock.h"
#include "backend/journal.h"
#include "backend/log.h"
#include "backend/engine.h"
#include "backend/pool.h"
#include "backend/upload.h"

#define PART_MIN	((off_t)STORE_PART_MIN)
#define PART_MAX	((off_t)STORE_PUT_MAX)
#define PARTS_MAX	STORE_PARTS_MAX
#define PARTS_PER_STEP	1000			/* part size doubles after each */

struct upload {
	atomic_int refs;
	struct store *st;
	char *key, *path, *staged, *journal;
	int fd, hold_fd;
	int exclusive, snapshot;
	off_t size;
	struct timespec mtime;
	char *upload_id;
	int nparts, parts_left;
	char (*etags)[STORE_ETAG_MAX];
	int rc;				/* the first failure */
	int deferred;			/* waits for an earlier upload of its key */
	int done;
	struct store_meta meta;
	struct upload *prev, *next;	/* in flight, oldest first */
};

struct part {
	struct upload *u;
	int n;				/* from 1 */
	off_t off, len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct upload *head, *tail;
static int inflight;
static off_t bytes_inflight;
static int failures;
static struct pool upload_pool = POOL_INIT("upload", 8);
static off_t part_base = (off_t)8 << 20;
static char *recovery_dir;

void upload_configure(const struct engine_conf *ec)
{
	/*
	 * Uploads run at exit, after atexit handlers registered later than
	 * ours: OpenSSL's own would have torn it down by then (Content-MD5,
	 * SigV4 and TLS need it), so it must register none.
	 */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	part_base = (off_t)ec->part_size > PART_MIN ? (off_t)ec->part_size : PART_MIN;
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

/* Size of part n (from 1): the base, doubled every PARTS_PER_STEP parts. */
static off_t part_size(int n)
{
	off_t size = part_base;

	for (int step = (n - 1) / PARTS_PER_STEP; step > 0 && size < PART_MAX; step--)
		size *= 2;
	return size < PART_MAX ? size : PART_MAX;
}

/* How many parts size bytes take, or -EFBIG past 10,000. */
static int count_parts(off_t size)
{
	off_t done = 0;
	int n = 0;

	while (done < size) {
		if (++n > PARTS_MAX)
			return -EFBIG;
		done += part_size(n);
	}
	return n;
}

static void upload_free(struct upload *u)
{
	free(u->key);
	free(u->path);
	free(u->staged);
	free(u->journal);
	free(u->upload_id);
	free(u->etags);
	free(u);
}

void upload_put(struct upload *u)
{
	if (u && atomic_fetch_sub(&u->refs, 1) == 1)
		upload_free(u);
}

/* The failed upload's bytes go to the recovery directory, loudly. */
static void keep_for_recovery(struct upload *u)
{
	struct journal_entry e = { 0 };
	char *kept = NULL;
	int rc = journal_read(u->journal, &e);

	if (rc == 0)
		rc = recovery_dir ? journal_keep(recovery_dir, u->staged, u->journal, &e, strerror(-u->rc), &kept)
				  : -ENOMEM;
	if (rc == 0)
		log_error("%s: upload to %s failed (%s); its %lld bytes are kept in %s;"
			  " `cloudshim sync` uploads them again", u->path, store_url(u->st),
			  strerror(-u->rc), (long long)u->size, kept);
	else
		log_error("%s: upload to %s failed (%s), and keeping it in the recovery"
			  " directory failed too (%s); its bytes stay in %s", u->path,
			  store_url(u->st), strerror(-u->rc), strerror(-rc), u->staged);
	journal_free(&e);
	free(kept);
}

static void start_tasks(struct upload *u);

/* The oldest upload of key in flight; the caller holds the lock. */
static struct upload *first_of_key(const struct store *st, const char *key)
{
	for (struct upload *o = head; o; o = o->next)
		if (o->st == st && strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

/*
 * Uploads of one key land in the order they were started: a later one is
 * deferred until the earlier one finishes (a file closed, reopened with >>
 * and closed again must end as the second version).  Deferring, not
 * waiting, keeps every worker free for the earlier one's parts.
 */
static void finish(struct upload *u, int rc)
{
	struct upload *next;

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
		}
	} else if (u->snapshot) {
		log_warn("%s: could not be made durable (%s); it stays staged", u->path,
			 strerror(-rc));
	} else {
		keep_for_recovery(u);
	}
	close(u->fd);
	if (u->hold_fd >= 0)
		close(u->hold_fd);
	pthread_mutex_lock(&lock);
	u->done = 1;
	if (rc)
		failures++;
	if (u->prev)
		u->prev->next = u->next;
	else
		head = u->next;
	if (u->next)
		u->next->prev = u->prev;
	else
		tail = u->prev;
	inflight--;
	bytes_inflight -= u->size;
	next = first_of_key(u->st, u->key);
	if (next && next->deferred)
		next->deferred = 0;
	else
		next = NULL;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	upload_put(u);		/* the list's reference */
	if (next)
		start_tasks(next);
}

static void run(pool_task_fn fn, void *arg)
{
	if (pool_submit(&upload_pool, fn, arg, 0) != 0)
		fn(arg);	/* no worker could start: do it here */
}

static void task_put(void *arg)
{
	struct upload *u = arg;
	struct store_body body = { u->fd, 0, u->size };

	finish(u, store_put(u->st, u->key, &body, u->exclusive, &u->meta));
}

/* A part (or the begin task's own hold) is done; the last one completes. */
static void part_done(struct upload *u, int rc)
{
	int failed, left;

	pthread_mutex_lock(&lock);
	if (rc && !u->rc)
		u->rc = rc;
	failed = u->rc;
	left = --u->parts_left;
	pthread_mutex_unlock(&lock);
	if (left > 0)
		return;
	rc = failed ? failed : store_mpu_complete(u->st, u->key, u->upload_id, u->etags,
						  u->nparts, &u->meta);
	if (rc)
		store_mpu_abort(u->st, u->key, u->upload_id);
	finish(u, rc);
}

static void task_part(void *arg)
{
	struct part *p = arg;
	struct upload *u = p->u;
	struct store_body body = { u->fd, p->off, p->len };
	int rc = 0, failed;

	pthread_mutex_lock(&lock);
	failed = u->rc;
	pthread_mutex_unlock(&lock);
	if (!failed)
		rc = store_mpu_part(u->st, u->key, u->upload_id, p->n, &body, u->etags[p->n - 1]);
	free(p);
	part_done(u, rc);
	upload_put(u);		/* the part's own reference */
}

static void task_begin(void *arg)
{
	struct upload *u = arg;
	off_t off = 0;
	int rc;

	u->etags = calloc((size_t)u->nparts, sizeof(*u->etags));
	rc = u->etags ? store_mpu_begin(u->st, u->key, &u->upload_id) : -ENOMEM;
	if (rc) {
		finish(u, rc);
		return;
	}
	u->parts_left = 1;	/* this task's hold: no part completes before all are queued */
	for (int n = 1; n <= u->nparts && rc == 0; n++) {
		struct part *p = malloc(sizeof(*p));
		off_t len = part_size(n) < u->size - off ? part_size(n) : u->size - off;

		if (!p) {
			rc = -ENOMEM;
			break;
		}
		*p = (struct part){ u, n, off, len };
		atomic_fetch_add(&u->refs, 1);
		pthread_mutex_lock(&lock);
		u->parts_left++;
		pthread_mutex_unlock(&lock);
		run(task_part, p);
		off += len;
	}
	part_done(u, rc);
}

int upload_start(const struct upload_req *req, struct upload **out)
{
	struct upload *u = calloc(1, sizeof(*u));
	struct stat sb;

	if (!u)
		return -ENOMEM;
	atomic_init(&u->refs, 2);	/* the caller's and the list's */
	u->st = req->st;
	u->exclusive = req->exclusive;
	u->fd = req->fd;
	u->hold_fd = req->hold_fd;
	u->snapshot = req->snapshot;
	u->key = strdup(req->key);
	u->path = strdup(req->path);
	u->staged = strdup(req->staged);
	u->journal = strdup(req->journal);
	if (fstat(u->fd, &sb) != 0 || !u->key || !u->path || !u->staged || !u->journal) {
		int rc = !u->key || !u->path || !u->staged || !u->journal ? -ENOMEM : -errno;

		close(u->fd);
		if (u->hold_fd >= 0)
			close(u->hold_fd);
		upload_free(u);
		return rc;
	}
	u->size = sb.st_size;
	u->mtime = sb.st_mtim;
	u->nparts = u->size > 2 * part_base ? count_parts(u->size) : 0;
	if (u->nparts < 0) {
		close(u->fd);
		if (u->hold_fd >= 0)
			close(u->hold_fd);
		upload_free(u);
		return -EFBIG;
	}
	pthread_mutex_lock(&lock);
	u->deferred = first_of_key(u->st, u->key) != NULL;
	u->prev = tail;
	if (tail)
		tail->next = u;
	else
		head = u;
	tail = u;
	inflight++;
	bytes_inflight += u->size;
	pthread_mutex_unlock(&lock);
	*out = u;
	if (!u->deferred)
		start_tasks(u);
	return 0;
}

static void start_tasks(struct upload *u)
{
	run(u->nparts ? task_begin : task_put, u);
}

int upload_wait(struct upload *u)
{
	int rc;

	pthread_mutex_lock(&lock);
	while (!u->done)
		pthread_cond_wait(&changed, &lock);
	rc = u->rc;
	pthread_mutex_unlock(&lock);
	return rc;
}

int upload_pending(const struct store *st, const char *key, struct store_meta *meta,
		   char *staged, size_t n)
{
	int found = 0;

	pthread_mutex_lock(&lock);
	for (struct upload *u = tail; u && !found; u = u->prev) {
		if (u->st != st || strcmp(u->key, key) != 0)
			continue;
		memset(meta, 0, sizeof(*meta));
		meta->kind = STORE_FILE;
		meta->size = u->size;
		meta->mtime = u->mtime;
		snprintf(staged, n, "%s", u->staged);
		found = 1;
	}
	pthread_mutex_unlock(&lock);
	return found;
}

void upload_each(const struct store *st, void (*fn)(void *arg, const char *key), void *arg)
{
	pthread_mutex_lock(&lock);
	for (struct upload *u = head; u; u = u->next)
		if (u->st == st)
			fn(arg, u->key);
	pthread_mutex_unlock(&lock);
}

void upload_settle(const struct store *st, const char *key)
{
	int busy = 1;

	pthread_mutex_lock(&lock);
	while (busy) {
		busy = 0;
		for (struct upload *u = head; u && !busy; u = u->next)
			busy = u->st == st && strcmp(u->key, key) == 0;
		if (busy)
			pthread_cond_wait(&changed, &lock);
	}
	pthread_mutex_unlock(&lock);
}

int upload_drain(void)
{
	long start = clock_ms(), said = 0;
	int failed;

	pthread_mutex_lock(&lock);
	while (inflight > 0) {
		struct timespec until;
		long now = clock_ms();

		if (now - start >= 1000 && now - said >= 1000) {
			fprintf(stderr, "cloudshim: waiting for %d upload%s (%.1f MiB) to finish\n",
				inflight, inflight == 1 ? "" : "s", (double)bytes_inflight / (1 << 20));
			said = now;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&changed, &lock, &until);
	}
	failed = failures;
	pthread_mutex_unlock(&lock);
	return failed;
}

void upload_fork_lock(void)
{
	pool_fork_lock(&upload_pool);
	pthread_mutex_lock(&lock);
}

void upload_fork_unlock(void)
{
	pthread_mutex_unlock(&lock);
	pool_fork_unlock(&upload_pool);
}

void upload_after_fork_child(void)
{
	/* the parent sends what it queued; the child's copies are left alone */
	head = tail = NULL;
	inflight = 0;
	bytes_inflight = 0;
	failures = 0;
	pthread_cond_init(&changed, NULL);
	pool_after_fork_child(&upload_pool);
}
