/* SPDX-License-Identifier: MIT */
/*
 * object.c - opened object versions and the read path through the cache.
 *
 * DESIGN
 * Objects live in one table keyed by store, key, ETag and size, so two
 * opens of the same version share pages and two versions never do.  An
 * object counts its references: opens plus fetch tasks in flight.  At zero
 * it moves to an idle list of recent objects, so that reopening a file
 * finds its pages still cached; the oldest idle objects are freed beyond
 * OBJ_IDLE_MAX (their pages then age out of the cache on their own).
 *
 * A read copies what the cache has, waits for pages being fetched, and
 * fetches what nobody has: the first part in the reading thread itself
 * (no hand-off on the latency path), further parts of a large read in
 * parallel on the worker pool.  Read-ahead parts go to the pool too.
 * A fetch that finds the object changed marks it stale for good.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "backend/cache.h"
#include "backend/clock.h"
#include "backend/dircache.h"
#include "backend/engine.h"
#include "backend/http.h"
#include "backend/log.h"
#include "backend/metacache.h"
#include "backend/sharedgen.h"
#include "backend/pool.h"
#include "backend/slab.h"
#include "backend/upload.h"

#define OBJ_IDLE_MAX	256
#define MIN_PART	((size_t)1 << 20)
#define TRIAL_COST	25	/* keeping ÷ fetching, thousandths, that puts reads on trial */
#define NEAR_WINDOW	((size_t)32 << 20)	/* read-ahead from a server nearby */
#define NEAR_ANSWER_US	1000			/* a server nearby answers this fast */
#define NEAR_STREAMS	4			/* parallel reads from a server nearby */

struct obj {
	char *hkey;
	UT_hash_handle hh;
	struct store *st;
	char *key;
	struct store_meta meta;
	uint64_t id;			/* its pages' id in the cache */
	int refs;			/* under lock */
	atomic_int stale;
	atomic_llong ahead_end;		/* read ahead so far: bytes below it came back */
	struct obj *idle_prev, *idle_next;
};

struct part {
	struct obj *o;
	struct cache_run *run;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool fetch_pool = POOL_INIT("fetch", ENGINE_DEFAULT_CONNECTIONS, 0);
static struct obj *table;
/*
 * How many objects of table each key has ("%p/%s" of store and key): a key
 * with none was not opened lately, so its bytes are not cached.
 */
struct known {
	char *name;
	int count;
	UT_hash_handle hh;
};
static struct known *known;
static struct obj *idle_head, *idle_tail;
static int idle_count;
/* the directory of the last create that asked about its own name (under lock) */
static const struct store *asked_st;
static char *asked_dir;
static long asked_ms;
/* keeping a read's bytes ÷ fetching them, thousandths, averaged over fetches */
static atomic_long keep_cost;
static struct engine_conf conf = {
	.cache_bytes = ENGINE_DEFAULT_CACHE_BYTES,
	.part_size = ENGINE_DEFAULT_PART_SIZE,
	.connections = ENGINE_DEFAULT_CONNECTIONS,
	.readahead_max = ENGINE_DEFAULT_READAHEAD_MAX,
};

void engine_configure(const struct engine_conf *ec)
{
	conf = *ec;
	log_set_level(ec->log_level);
	cache_set_limit(ec->cache_bytes);
	pool_configure(&fetch_pool, ec->connections);
	upload_configure(ec);
	metacache_set_ttl(ec->metadata_ttl_ms);
}

void engine_set_thread_hook(void (*hook)(void))
{
	pool_set_thread_hook(hook);
}

void engine_fork_prepare(void)
{
	/* the order locks nest in: an object's lock is held around cache ids */
	pthread_mutex_lock(&lock);
	upload_fork_lock();
	cache_fork_lock();
	metacache_fork_lock();
	dircache_fork_lock();
	pool_fork_lock(&fetch_pool);
	http_fork_lock();
}

static void fork_unlock(void)
{
	http_fork_unlock();
	pool_fork_unlock(&fetch_pool);
	dircache_fork_unlock();
	metacache_fork_unlock();
	cache_fork_unlock();
	upload_fork_unlock();
	pthread_mutex_unlock(&lock);
}

void engine_fork_parent(void)
{
	fork_unlock();
	upload_after_fork_parent();
}

void engine_fork_child(void)
{
	fork_unlock();
	pool_after_fork_child(&fetch_pool);
	upload_after_fork_child();
	cache_after_fork_child();
	http_after_fork_child();
}

/*
 * Whether a create asked about a name in dir within the TTL; remembers
 * dir as the one asked now.  One directory is enough for a program
 * writing its files one directory at a time.
 */
static int asked_before(const struct store *st, const char *dir)
{
	long now = clock_ms();
	int again;

	pthread_mutex_lock(&lock);
	again = asked_st == st && asked_dir && strcmp(asked_dir, dir) == 0 &&
		now - asked_ms < metacache_ttl();
	if (!again) {
		free(asked_dir);
		asked_dir = strdup(dir);
		asked_st = st;
	}
	asked_ms = now;
	pthread_mutex_unlock(&lock);
	return again;
}

/*
 * Whether key's directory had no subdirectory when last listed within the
 * TTL, so that key is none: what we made below it since is noted by
 * obj_changed.  With survey (a create), the second create in a directory
 * not listed lately lists its first page to tell, for this one and every
 * later one; the first asks only about its own name, which costs less
 * than a page of a large directory.
 */
static int among_no_subdirs(struct store *st, const char *key, int survey)
{
	const char *slash = strrchr(key, '/');
	char *parent = strndup(key, slash ? (size_t)(slash - key) : 0);
	int some;

	if (!parent)
		return 0;
	some = metacache_subdirs(st, parent);
	if (some < 0 && survey && asked_before(st, parent) && dir_survey(st, parent) == 0)
		some = metacache_subdirs(st, parent);
	free(parent);
	return some == 0;
}

struct direct {
	char *buf;
	off_t start;
	size_t len, got;	/* bytes in buf from start, in order */
};

/* A store_sink_fn into a reader's own buffer. */
static int direct_fill(void *arg, off_t off, const char *data, size_t len)
{
	struct direct *d = arg;

	if (off != d->start + (off_t)d->got || len > d->len - d->got)
		return -EIO;	/* the store sent bytes we did not ask for */
	memcpy(d->buf + d->got, data, len);
	d->got += len;
	return 0;
}

/*
 * A store_sink_fn into an obj_head, whose buffer is taken when the first
 * bytes come (a store that sends none, file://, takes none).
 */
static int head_fill(void *arg, off_t off, const char *data, size_t len)
{
	struct obj_head *h = arg;
	struct direct d;
	int rc;

	if (!h->data && !(h->data = malloc(OBJ_HEAD_BYTES)))
		return -ENOMEM;
	d = (struct direct){ h->data, 0, OBJ_HEAD_BYTES, h->len };
	rc = direct_fill(&d, off, data, len);
	h->len = d.got;
	return rc;
}

/* store_stat, with the file's first bytes into head (which owns them on success). */
static int stat_head(struct store *st, const char *key, struct store_meta *meta,
		     struct obj_head *head)
{
	int rc;

	rc = store_stat_read(st, key, meta, OBJ_HEAD_BYTES, head_fill, head);
	if (rc || meta->kind != STORE_FILE ||
	    head->len != ((off_t)OBJ_HEAD_BYTES < meta->size ? OBJ_HEAD_BYTES : (size_t)meta->size))
		obj_head_free(head);	/* none, or not what the metadata says */
	return rc;
}

void obj_head_free(struct obj_head *head)
{
	free(head->data);
	head->data = NULL;
	head->len = 0;
}

static char *known_name(const struct store *st, const char *key)
{
	char *name = NULL;

	return asprintf(&name, "%p/%s", (const void *)st, key) < 0 ? NULL : name;
}

/* One more (by 1) or one less (by -1) object of o's key in table; under lock. */
static void known_count_locked(const struct obj *o, int by)
{
	char *name = known_name(o->st, o->key);
	struct known *k;

	if (!name)
		return;		/* uncounted: the key's next open sends a HEAD */
	HASH_FIND_STR(known, name, k);
	if (!k && by > 0 && (k = calloc(1, sizeof(*k))) != NULL) {
		k->name = name;
		name = NULL;
		HASH_ADD_KEYPTR(hh, known, k->name, strlen(k->name), k);
	}
	if (k && (k->count += by) <= 0) {
		HASH_DEL(known, k);
		free(k->name);
		free(k);
	}
	free(name);
}

/* Whether an object of key is open, or was among the last ones closed. */
static int opened_lately(const struct store *st, const char *key)
{
	char *name = known_name(st, key);
	struct known *k = NULL;

	if (!name)
		return 1;
	pthread_mutex_lock(&lock);
	HASH_FIND_STR(known, name, k);
	pthread_mutex_unlock(&lock);
	free(name);
	return k != NULL;
}

/*
 * On a store whose directories are key prefixes, a file and a directory
 * take different requests (HEAD, a listing); dir_first asks the listing
 * first.  Either way the answer is cached, a missing path included.  With
 * head (an open that will read), a file not opened lately is asked for
 * with its first bytes (stat_head); one opened lately gets the HEAD, as
 * the cache may hold its bytes.
 */
static int lookup(struct store *st, const char *key, int dir_first, struct store_meta *meta,
		  struct obj_head *head)
{
	int prefix_dirs = (store_caps(st) & STORE_CAP_PREFIX_DIRS) != 0, rc;
	unsigned asked;

	memset(meta, 0, sizeof(*meta));
	if (*key == '\0') {
		meta->kind = STORE_DIR;		/* the mount itself */
		return 0;
	}
	if (metacache_get(st, key, &rc, meta) || dircache_stat(st, key, &rc, meta))
		return rc;
	asked = metacache_epoch();
	rc = dir_first && prefix_dirs ? dir_probe(st, key, meta) :
	     head && !opened_lately(st, key) ? stat_head(st, key, meta, head) :
	     store_stat(st, key, meta);
	if (rc == -ENOENT && prefix_dirs && (dir_first || !among_no_subdirs(st, key, 0)))
		rc = dir_first ? store_stat(st, key, meta) : dir_probe(st, key, meta);
	metacache_put_answer(st, key, rc, meta, asked);
	return rc;
}

int obj_stat(struct store *st, const char *key, struct store_meta *meta)
{
	return lookup(st, key, 0, meta, NULL);
}

int obj_stat_open(struct store *st, const char *key, struct store_meta *meta,
		  struct obj_head *head)
{
	head->data = NULL;
	head->len = 0;
	return lookup(st, key, 0, meta, head);
}

int obj_stat_path(struct store *st, const char *key, struct store_meta *meta)
{
	return lookup(st, key, 1, meta, NULL);
}

/* What a cached stat answer says of being a directory: 1, 0 or -errno. */
static int is_dir_answer(int rc, const struct store_meta *meta)
{
	return rc == 0 ? meta->kind == STORE_DIR : rc == -ENOENT ? 0 : rc;
}

int obj_is_dir(struct store *st, const char *key)
{
	struct store_meta meta;
	unsigned asked;
	int rc;

	if (*key == '\0')
		return 1;
	if (metacache_get(st, key, &rc, &meta) || dircache_stat(st, key, &rc, &meta))
		return is_dir_answer(rc, &meta);
	if (!(store_caps(st) & STORE_CAP_PREFIX_DIRS))
		return lookup(st, key, 0, &meta, NULL) == 0 && meta.kind == STORE_DIR;
	if (among_no_subdirs(st, key, 1))
		return 0;
	if (dircache_stat(st, key, &rc, &meta))	/* the survey listed it all */
		return is_dir_answer(rc, &meta);
	/* a file or nothing: not known which, so nothing is cached about key */
	asked = metacache_epoch();
	rc = dir_probe(st, key, &meta);
	if (rc == 0)
		metacache_put_answer(st, key, 0, &meta, asked);
	return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

void obj_changed(const struct store *st, const char *key, const struct store_meta *meta)
{
	const struct store_meta dir = { .kind = STORE_DIR };
	char *up = strdup(key), *slash;
	long now = clock_ms();
	int gained = meta && meta->kind == STORE_DIR;	/* the parent gains a subdirectory */

	sharedgen_bump();	/* other processes here ask again (sharedgen.h) */
	metacache_forget(st, key);
	metacache_put(st, key, meta ? 0 : -ENOENT, meta);
	/* what exists makes its parents exist, though they were missing before */
	while (meta && up) {
		int top = (slash = strrchr(up, '/')) == NULL;

		*(top ? up : slash) = '\0';	/* the parent; "" is the mount's root */
		if (!top)
			metacache_put(st, up, 0, &dir);
		if (gained)
			metacache_put_subdirs(st, up, now, 1);
		if (top)
			break;
		gained = 1;	/* every one further up gains a subdirectory */
	}
	free(up);
}

void obj_others_changed(void)
{
	metacache_forget_all();
}

static void idle_unlink_locked(struct obj *o)
{
	if (o->idle_prev)
		o->idle_prev->idle_next = o->idle_next;
	else
		idle_head = o->idle_next;
	if (o->idle_next)
		o->idle_next->idle_prev = o->idle_prev;
	else
		idle_tail = o->idle_prev;
	o->idle_prev = o->idle_next = NULL;
	idle_count--;
}

static void free_obj(struct obj *o)
{
	free(o->hkey);
	free(o->key);
	free(o);
}

static struct obj *new_obj(struct store *st, const char *key, const struct store_meta *m,
			   char *hkey)
{
	struct obj *o = calloc(1, sizeof(*o));

	if (!o || !(o->key = strdup(key))) {
		free(o);
		return NULL;
	}
	o->hkey = hkey;
	o->st = st;
	o->meta = *m;
	o->id = cache_new_id();
	return o;
}

static void maybe_on_trial(struct cache_run *run);

/*
 * Puts the first bytes of o, fetched with the metadata it was opened with,
 * in the cache, as a read's bytes are (on trial where keeping costs).
 */
static void keep_head(struct obj *o, const struct obj_head *head)
{
	off_t pos = 0, end = (off_t)head->len;

	while (pos < end) {
		struct cache_run *run;
		ssize_t got = cache_claim(o->id, pos, (size_t)(end - pos), CACHE_BLOCK_SIZE,
					  o->meta.size, CLAIM_NOW, &run);
		off_t from;

		if (got < 0)
			return;		/* no room: reads fetch them again */
		if (got == 0) {		/* held already (another open) */
			pos = (pos | (off_t)(CACHE_BLOCK_SIZE - 1)) + 1;
			continue;
		}
		from = cache_run_start(run);
		pos = cache_run_end(run);
		if (pos > end) {	/* widened past what came: cannot happen, see stat_head */
			cache_run_finish(run, -EIO);
			return;
		}
		maybe_on_trial(run);
		cache_run_finish(run, cache_run_fill(run, from, head->data + from,
						     (size_t)(pos - from)));
	}
}

int obj_open(struct store *st, const char *key, const struct store_meta *meta,
	     const struct obj_head *head, struct obj **out)
{
	struct obj *o;
	char *hkey = NULL;

	if (meta->kind != STORE_FILE)
		return -EISDIR;
	if (asprintf(&hkey, "%p/%s\n%s\n%lld", (void *)st, key, meta->etag,
		     (long long)meta->size) < 0)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	HASH_FIND_STR(table, hkey, o);
	if (o && atomic_load(&o->stale)) {
		HASH_DEL(table, o);	/* keep it for its holders, out of reach */
		known_count_locked(o, -1);
		o = NULL;
	}
	if (o) {
		free(hkey);
		if (o->refs++ == 0)
			idle_unlink_locked(o);
	} else if ((o = new_obj(st, key, meta, hkey)) != NULL) {
		o->refs = 1;
		HASH_ADD_KEYPTR(hh, table, o->hkey, strlen(o->hkey), o);
		known_count_locked(o, 1);
	} else {
		free(hkey);
	}
	pthread_mutex_unlock(&lock);
	if (o && head && head->len)
		keep_head(o, head);
	*out = o;
	return o ? 0 : -ENOMEM;
}

const struct store_meta *obj_meta(const struct obj *o)
{
	return &o->meta;
}

static void obj_ref(struct obj *o)
{
	pthread_mutex_lock(&lock);
	o->refs++;
	pthread_mutex_unlock(&lock);
}

/*
 * The last reference goes (descriptors, and read-ahead parts in flight,
 * each hold one): what was read ahead and not read will not be soon.
 * Left protected as unread, it made read-ahead of the files opened after
 * fall short: reading the first 8 MiB of each of 64 files of 16 MiB in
 * turn from the shaped nginx took 16.8 s and 2,637 requests.  (A reopen
 * racing this only finds those pages unprotected.)  An object never read
 * ahead has no such pages: its close does not look for them.
 */
void obj_close(struct obj *o)
{
	struct obj *victim = NULL, *found;
	uint64_t id = o->id;
	int was_read_ahead = atomic_load(&o->ahead_end) > 0;

	pthread_mutex_lock(&lock);
	if (--o->refs > 0) {
		pthread_mutex_unlock(&lock);
		return;
	}
	HASH_FIND_STR(table, o->hkey, found);
	if (found != o) {
		victim = o;	/* stale and already out of the table */
	} else {
		o->idle_next = idle_head;
		if (idle_head)
			idle_head->idle_prev = o;
		idle_head = o;
		if (!idle_tail)
			idle_tail = o;
		if (++idle_count > OBJ_IDLE_MAX) {
			victim = idle_tail;
			idle_unlink_locked(victim);
			HASH_DEL(table, victim);
			known_count_locked(victim, -1);
		}
	}
	pthread_mutex_unlock(&lock);
	if (was_read_ahead)
		cache_spend_unread(id);
	if (victim)
		free_obj(victim);
}

/* Reads [off, off + len) of the version o opened into sink; a change marks o stale. */
static int read_store(struct obj *o, off_t off, size_t len, store_sink_fn sink, void *arg)
{
	struct store_read rd = {
		.key = o->key, .pin = &o->meta, .off = off, .len = len, .sink = sink, .arg = arg,
	};
	int rc = atomic_load(&o->stale) ? -ESTALE : store_read(o->st, &rd);

	if (rc == -ESTALE && !atomic_exchange(&o->stale, 1)) {
		metacache_forget(o->st, o->key);
		log_warn("%s/%s changed while open; reads of it now fail with ESTALE",
			 store_url(o->st), o->key);
	}
	return rc;
}

/*
 * What keeping the bytes of a read costs against fetching them again, as
 * fetches go: memory never used costs slab_fresh_ns a block, the fetch
 * what it took.  Across a network a fetch takes milliseconds and keeping
 * costs next to nothing; from a server on the same machine, on a virtual
 * machine where fresh memory traps to the host, keeping 64 KiB cost about
 * as much as fetching it again.
 */
static void note_fetch(off_t off, size_t len, long ns)
{
	off_t b = (off_t)CACHE_BLOCK_SIZE;	/* the cache keeps whole blocks */
	long blocks = (long)((off + (off_t)len + b - 1) / b - off / b);
	long ratio = ns > 0 ? blocks * slab_fresh_ns() * 1000 / ns : 0;
	long avg = atomic_load(&keep_cost);

	atomic_store(&keep_cost, avg + (ratio - avg) / 8);
}

/*
 * A read's bytes, and bytes read ahead for the first time (first_scan), go
 * on trial (cache_run_set_trial) when keeping them costs at least a
 * fortieth of fetching them again.  Random reads seldom come back, and
 * on trial they recycle memory instead of growing the process;
 * a program that does read its data again pays one more fetch of it, once
 * its ghosts show that it comes back (cache.c).  Where keeping costs less
 * (across a network), bytes are kept, as everything was before: there a
 * fetch is dearer than any memory.
 */
static void maybe_on_trial(struct cache_run *run)
{
	long k = atomic_load(&keep_cost);

	if (k >= TRIAL_COST)
		cache_run_set_trial(run, k);
}

/* Fetches one claimed run from the store into the cache and ends it; timed for keep_cost. */
static int fetch_run(struct obj *o, struct cache_run *run)
{
	off_t from = cache_run_start(run);
	size_t len = (size_t)(cache_run_end(run) - from);
	long start = clock_ns();
	int rc = read_store(o, from, len, cache_run_fill, run);

	if (rc == 0)
		note_fetch(from, len, clock_ns() - start);
	cache_run_finish(run, rc);
	return rc;
}

static void run_part(void *arg)
{
	struct part *p = arg;

	fetch_run(p->o, p->run);
	obj_close(p->o);
	free(p);
}

/* Hands a run to the pool; runs it here if the pool cannot take it. */
static void submit_part(struct obj *o, struct cache_run *run, int urgent)
{
	struct part *p = malloc(sizeof(*p));

	if (p) {
		p->o = o;
		p->run = run;
		obj_ref(o);
		if (pool_submit(&fetch_pool, run_part, p, urgent) == 0)
			return;
		obj_close(o);
		free(p);
	}
	fetch_run(o, run);
}

static int near(const struct obj *o)
{
	return store_answer_us(o->st) < NEAR_ANSWER_US;
}

/*
 * Size of the parallel pieces of a fetch of len bytes from o's store.
 * Parallel streams hide the time a store takes to answer and its rate per
 * connection; a server nearby has neither to hide, and each stream costs
 * wakeups and copies on the reader's cores.  From nginx on loopback here,
 * cat of 1 GiB took 0.65-0.69 s over 16 streams, 0.56-0.64 s over 4 (one
 * curl stream 0.52-0.61 s).
 */
static size_t part_size_for(const struct obj *o, size_t len)
{
	int streams = conf.connections > 0 ? conf.connections : 1;
	size_t part;

	if (near(o) && streams > NEAR_STREAMS)
		streams = NEAR_STREAMS;
	part = len / (size_t)streams;
	if (part < MIN_PART)
		part = MIN_PART;
	return part < conf.part_size ? part : conf.part_size;
}

/*
 * Whether [from, to) of o lies past all read ahead in it so far, which now
 * reaches to.  Such bytes go on trial where keeping costs (a scan that is
 * never read again, cat or a training epoch over a dataset larger than
 * the cache, recycles its memory); read-ahead below that point is mostly
 * a program that reads the object again, and gets a cache.
 */
static int first_scan(struct obj *o, off_t from, off_t to)
{
	long long end = atomic_load(&o->ahead_end);

	while (end < to && !atomic_compare_exchange_weak(&o->ahead_end, &end, to))
		;
	return from >= end;
}

static void read_ahead(struct obj *o, struct prefetch *pf, struct prefetch_range r)
{
	/* sized by the whole window: top-ups are small, their parts need not be */
	size_t part = part_size_for(o, pf->window);
	off_t pos = r.off, end = r.off + (off_t)r.len;

	while (pos < end) {
		struct cache_run *run;
		size_t want = (size_t)(end - pos) < part ? (size_t)(end - pos) : part;
		ssize_t got = cache_claim(o->id, pos, want, CACHE_PAGE_SIZE, o->meta.size,
					  CLAIM_AHEAD, &run);

		if (got < 0) {
			prefetch_fell_short(pf, pos);
			return;
		}
		if (got == 0) {	/* already there, and kept for the reader: the next page */
			pos = (pos | (off_t)(CACHE_PAGE_SIZE - 1)) + 1;
			continue;
		}
		pos = cache_run_end(run);
		cache_run_set_ahead(run);
		if (first_scan(o, cache_run_start(run), pos))
			maybe_on_trial(run);
		submit_part(o, run, 0);
	}
}

/*
 * A read whose bytes would go on trial, none of them cached, fetches them
 * into its own buffer instead (cache_pass): they would be copied twice
 * and their memory recycled at once.  Not reads over MIN_PART, which the
 * cache fetches in parallel parts.  Returns the bytes read, or -errno; 0
 * when the read should go through the cache.
 */
static ssize_t read_past_cache(struct obj *o, char *buf, off_t pos, size_t len)
{
	struct direct d = { buf, pos, len, 0 };
	long k = atomic_load(&keep_cost), start;
	int rc;

	if (k < TRIAL_COST || len > MIN_PART || !cache_pass(o->id, pos, len, k))
		return 0;
	start = clock_ns();
	rc = read_store(o, pos, len, direct_fill, &d);
	if (rc == 0)
		note_fetch(pos, len, clock_ns() - start);
	return d.got ? (ssize_t)d.got : rc ? rc : -EIO;
}

/*
 * Whether a read missing pos is a sequential reader at a hole in what was
 * read ahead for it (evicted before it came): bytes below the furthest read
 * ahead, right after bytes the cache has.  A random read after a scan
 * seldom lands right after bytes still cached: without that test, 4 KiB
 * reads of a 48 MiB object scanned through a 16 MiB cache fetched 64 KiB
 * each.
 */
static int at_hole(const struct obj *o, off_t pos)
{
	return pos > 0 && pos < atomic_load(&o->ahead_end) && cache_has(o->id, pos - 1);
}

/*
 * Fetches the missing bytes from pos on, up to want bytes: the first part
 * here, the others in parallel.  Only the blocks the read needs: what lies
 * beyond is read-ahead's to fetch, if the reader is sequential.  But a
 * hole in read-ahead (at_hole) comes back a page at a time, as read-ahead
 * brought it: read by read, 8 KiB reads made 8 requests a page (8 threads
 * reading 16 MiB files through a 64 MiB cache from the shaped nginx: 320
 * requests, 1.3 s; a page at a time, 210 and 0.55 s).  Returns 0 when the
 * caller should look at the cache again, or -errno.
 */
static int fetch_missing(struct obj *o, off_t pos, size_t want)
{
	size_t align = at_hole(o, pos) ? CACHE_PAGE_SIZE : CACHE_BLOCK_SIZE;
	size_t cap = conf.cache_bytes / 4, part;
	struct cache_run *mine = NULL, *run;
	off_t end;

	if (want > cap)
		want = cap;
	part = part_size_for(o, want);
	end = pos + (off_t)want;
	while (pos < end) {
		size_t n = (size_t)(end - pos) < part ? (size_t)(end - pos) : part;
		ssize_t got = cache_claim(o->id, pos, n, align, o->meta.size,
					  mine ? CLAIM_NOW : CLAIM_WAIT, &run);

		if (got <= 0) {
			if (!mine)
				return got < 0 ? (int)got : 0;
			break;
		}
		pos = cache_run_end(run);
		maybe_on_trial(run);
		if (!mine)
			mine = run;
		else
			submit_part(o, run, 1);
	}
	return fetch_run(o, mine);
}

/*
 * The widest read-ahead for o.  A window wider than NEAR_WINDOW only hides
 * the time a store takes to answer.  A server that answers within a
 * millisecond (on this machine, or next to it) is kept busy by 32 MiB in
 * flight at any rate a program reads: more takes memory for nothing, and
 * memory never used before costs (on a virtual machine, a trap to the host
 * for each page).  From nginx on loopback here, cat of 1 GiB took
 * 0.78-0.89 s through 128 MiB of read-ahead and peaked at 155 MiB;
 * through 32 MiB, 0.73-0.75 s and 57 MiB.
 */
static size_t window_cap(const struct obj *o)
{
	if (conf.readahead_max > NEAR_WINDOW && near(o))
		return NEAR_WINDOW;
	return conf.readahead_max;
}

void obj_advise(struct obj *o, struct prefetch *pf, off_t off, size_t len)
{
	struct prefetch_range r;

	if (off < 0 || off >= o->meta.size || len == 0 || atomic_load(&o->stale))
		return;
	/*
	 * A forward scan of an object the cache cannot hold leaves behind it
	 * what it read: by the time it comes back, LRU would have evicted it.
	 */
	if (pf->window && pf->dir > 0 && off >= pf->next && o->meta.size > (off_t)conf.cache_bytes)
		cache_spend(o->id, pf->prev, (size_t)(pf->next - pf->prev));
	r = prefetch_advise(pf, off, len, o->meta.size, window_cap(o));
	if (r.len)
		read_ahead(o, pf, r);
}

ssize_t obj_read(struct obj *o, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	if (atomic_load(&o->stale))
		return -ESTALE;
	if (off < 0)
		return -EINVAL;
	if (off >= o->meta.size || len == 0)
		return 0;
	if ((off_t)len > o->meta.size - off)
		len = (size_t)(o->meta.size - off);
	while (done < len) {
		off_t pos = off + (off_t)done;
		ssize_t n;
		int rc;

		done += cache_copy(o->id, pos, (char *)buf + done, len - done);
		if (done == len)
			break;
		pos = off + (off_t)done;
		rc = cache_wait(o->id, pos);
		if (rc == 1 && (n = read_past_cache(o, (char *)buf + done, pos, len - done)) != 0) {
			if (n < 0)
				return done ? (ssize_t)done : n;
			done += (size_t)n;
			continue;
		}
		if (rc == 1)
			rc = fetch_missing(o, pos, len - done);
		if (rc < 0)
			return done ? (ssize_t)done : rc;
	}
	return (ssize_t)done;
}
