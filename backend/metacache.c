/* SPDX-License-Identifier: MIT */
/*
 * metacache.c - a hash table of stat answers under one mutex, and one of
 * what listings told of directories' subdirectories.
 *
 * Entries are keyed by store and key.  The tables are bounded: when either
 * reaches METACACHE_MAX entries both are emptied, which costs one request
 * per key again and never a wrong answer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "backend/clock.h"
#include "backend/metacache.h"
#include "backend/sharedgen.h"

#define METACACHE_MAX 100000

struct entry {
	char *hkey;
	UT_hash_handle hh;
	unsigned gen;		/* the generation it was asked in */
	long expires_ms;
	int rc;
	struct store_meta meta;
};

struct note {
	char *hkey;
	UT_hash_handle hh;
	unsigned gen;
	long listed_ms;		/* when the listing began */
	int subdirs;		/* it showed some, or may have (pages unread) */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *table;
static struct note *notes;
static long ttl_ms = 5000;
static atomic_uint epoch;
static atomic_uint generation;	/* what is older is not trusted: see metacache_forget_all */

void metacache_set_ttl(long ms)
{
	ttl_ms = ms;
}

long metacache_ttl(void)
{
	return ttl_ms;
}

/* Another process on this machine changed the store: nothing known is trusted. */
static void check_others(void)
{
	if (sharedgen_others_changed())
		metacache_forget_all();
}

unsigned metacache_epoch(void)
{
	check_others();
	return atomic_load(&epoch);
}

static char *make_key(const struct store *st, const char *key)
{
	char *k = NULL;

	return asprintf(&k, "%p/%s", (const void *)st, key) < 0 ? NULL : k;
}

static void drop_locked(struct entry *e)
{
	HASH_DEL(table, e);
	free(e->hkey);
	free(e);
}

static void drop_note_locked(struct note *n)
{
	HASH_DEL(notes, n);
	free(n->hkey);
	free(n);
}

static void empty_locked(void)
{
	struct entry *e, *etmp;
	struct note *n, *ntmp;

	HASH_ITER(hh, table, e, etmp)
		drop_locked(e);
	HASH_ITER(hh, notes, n, ntmp)
		drop_note_locked(n);
}

int metacache_get(const struct store *st, const char *key, int *rc,
		  struct store_meta *meta)
{
	char *k = make_key(st, key);
	struct entry *e;
	int hit = 0;

	if (!k || ttl_ms <= 0) {
		free(k);
		return 0;
	}
	check_others();
	pthread_mutex_lock(&lock);
	HASH_FIND_STR(table, k, e);
	if (e && e->gen == atomic_load(&generation) && e->expires_ms > clock_ms()) {
		*rc = e->rc;
		*meta = e->meta;
		hit = 1;
	} else if (e) {
		drop_locked(e);
	}
	pthread_mutex_unlock(&lock);
	free(k);
	return hit;
}

/* Keeps an answer; when from_store, only if the epoch is still asked. */
static void put(const struct store *st, const char *key, int rc, const struct store_meta *meta,
		int from_store, unsigned asked)
{
	unsigned gen = atomic_load(&generation);	/* before the epoch is checked */
	struct entry *e, *old;

	if (ttl_ms <= 0 || (rc != 0 && rc != -ENOENT))
		return;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->hkey = make_key(st, key))) {
		free(e);
		return;
	}
	e->gen = gen;
	e->rc = rc;
	if (meta)
		e->meta = *meta;
	e->expires_ms = clock_ms() + ttl_ms;
	pthread_mutex_lock(&lock);
	/* under the lock: a change noted after this check drops e itself */
	if (from_store && atomic_load(&epoch) != asked) {
		pthread_mutex_unlock(&lock);
		free(e->hkey);
		free(e);
		return;
	}
	HASH_FIND_STR(table, e->hkey, old);
	if (old)
		drop_locked(old);
	if (HASH_COUNT(table) >= METACACHE_MAX)
		empty_locked();
	HASH_ADD_KEYPTR(hh, table, e->hkey, strlen(e->hkey), e);
	pthread_mutex_unlock(&lock);
}

void metacache_put(const struct store *st, const char *key, int rc,
		   const struct store_meta *meta)
{
	put(st, key, rc, meta, 0, 0);
}

void metacache_put_answer(const struct store *st, const char *key, int rc,
			  const struct store_meta *meta, unsigned asked)
{
	put(st, key, rc, meta, 1, asked);
}

void metacache_forget(const struct store *st, const char *key)
{
	char *k = make_key(st, key);
	struct entry *e;

	atomic_fetch_add(&epoch, 1);
	if (!k)
		return;
	pthread_mutex_lock(&lock);
	HASH_FIND_STR(table, k, e);
	if (e)
		drop_locked(e);
	pthread_mutex_unlock(&lock);
	free(k);
}

void metacache_forget_all(void)
{
	atomic_fetch_add(&generation, 1);
	atomic_fetch_add(&epoch, 1);	/* answers on their way, and listings */
}

void metacache_put_subdirs(const struct store *st, const char *key, long listed_ms, int some)
{
	unsigned gen = atomic_load(&generation);
	char *k;
	struct note *n;

	if (ttl_ms <= 0 || !(k = make_key(st, key)))
		return;
	pthread_mutex_lock(&lock);
	HASH_FIND_STR(notes, k, n);
	if (n && n->gen != gen) {
		drop_note_locked(n);
		n = NULL;
	}
	if (!n && (n = calloc(1, sizeof(*n))) != NULL) {
		if (HASH_COUNT(notes) >= METACACHE_MAX)
			empty_locked();
		n->hkey = k;
		k = NULL;
		n->gen = gen;
		n->listed_ms = listed_ms;
		HASH_ADD_KEYPTR(hh, notes, n->hkey, strlen(n->hkey), n);
	}
	if (n && n->listed_ms <= listed_ms) {	/* else what we know is newer */
		n->listed_ms = listed_ms;
		n->subdirs = some;
	}
	pthread_mutex_unlock(&lock);
	free(k);
}

int metacache_subdirs(const struct store *st, const char *key)
{
	char *k = make_key(st, key);
	struct note *n;
	int some = -1;

	if (!k || ttl_ms <= 0) {
		free(k);
		return -1;
	}
	check_others();
	pthread_mutex_lock(&lock);
	HASH_FIND_STR(notes, k, n);
	if (n && n->gen == atomic_load(&generation) && clock_ms() - n->listed_ms < ttl_ms)
		some = n->subdirs;
	else if (n)
		drop_note_locked(n);
	pthread_mutex_unlock(&lock);
	free(k);
	return some;
}

void metacache_fork_lock(void)
{
	pthread_mutex_lock(&lock);
}

void metacache_fork_unlock(void)
{
	pthread_mutex_unlock(&lock);
}
