/* SPDX-License-Identifier: MIT */
/*
 * dircache.c - fresh directory snapshots, by store and key, under one mutex.
 *
 * A slot holds one reference to its snapshot; callers of dircache_get hold
 * theirs, so a snapshot dropped from the table (expired, replaced by a
 * newer listing, or evicted) lives on until its last dir_close.  Slots are
 * kept in use order, and the least recently used go first when the table
 * holds more than DIRCACHE_MAX_DIRS snapshots or DIRCACHE_MAX_ENTRIES
 * entries; a listing larger than that is never kept.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "backend/clock.h"
#include "backend/dircache.h"
#include "backend/metacache.h"

struct slot {
	char *hkey;
	UT_hash_handle hh;
	struct dirlist *dl;
	struct slot *prev, *next;	/* most recently used first */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *table;
static struct slot *head, *tail;
static size_t total_entries;

static char *make_key(const struct store *st, const char *key)
{
	char *k = NULL;

	return asprintf(&k, "%p/%s", (const void *)st, key) < 0 ? NULL : k;
}

static void release_locked(struct dirlist *dl)
{
	if (--dl->refs > 0)
		return;
	for (size_t i = 0; i < dl->count; i++)
		free((char *)dl->entries[i].name);
	free(dl->entries);
	free(dl);
}

static void unlink_locked(struct slot *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		tail = s->prev;
	s->prev = s->next = NULL;
}

static void push_front_locked(struct slot *s)
{
	s->next = head;
	if (head)
		head->prev = s;
	head = s;
	if (!tail)
		tail = s;
}

static void drop_locked(struct slot *s)
{
	unlink_locked(s);
	HASH_DEL(table, s);
	total_entries -= s->dl->count;
	release_locked(s->dl);
	free(s->hkey);
	free(s);
}

/* The fresh slot of (st, key), made the most recent; stale ones go. */
static struct slot *find_locked(const struct store *st, const char *key)
{
	char *k = make_key(st, key);
	long ttl = metacache_ttl();
	struct slot *s;

	if (!k)
		return NULL;
	HASH_FIND_STR(table, k, s);
	free(k);
	if (s && (clock_ms() - s->dl->listed_ms >= ttl ||
		  s->dl->epoch != metacache_epoch())) {
		drop_locked(s);
		s = NULL;
	}
	if (s) {
		unlink_locked(s);
		push_front_locked(s);
	}
	return s;
}

struct dirlist *dircache_get(const struct store *st, const char *key)
{
	struct dirlist *dl = NULL;
	struct slot *s;

	pthread_mutex_lock(&lock);
	s = find_locked(st, key);
	if (s) {
		dl = s->dl;
		dl->refs++;
	}
	pthread_mutex_unlock(&lock);
	return dl;
}

void dircache_put(const struct store *st, const char *key, struct dirlist *dl)
{
	struct slot *s, *old;

	if (metacache_ttl() <= 0 || dl->count > DIRCACHE_MAX_ENTRIES)
		return;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->hkey = make_key(st, key))) {
		free(s);
		return;
	}
	s->dl = dl;
	pthread_mutex_lock(&lock);
	dl->refs++;
	HASH_FIND_STR(table, s->hkey, old);
	if (old)
		drop_locked(old);
	HASH_ADD_KEYPTR(hh, table, s->hkey, strlen(s->hkey), s);
	push_front_locked(s);
	total_entries += dl->count;
	while (HASH_COUNT(table) > DIRCACHE_MAX_DIRS || total_entries > DIRCACHE_MAX_ENTRIES)
		drop_locked(tail);
	pthread_mutex_unlock(&lock);
}

void dircache_release(struct dirlist *dl)
{
	pthread_mutex_lock(&lock);
	release_locked(dl);
	pthread_mutex_unlock(&lock);
}

static int by_name(const void *name, const void *entry)
{
	return strcmp(name, ((const struct dir_entry *)entry)->name);
}

int dircache_stat(const struct store *st, const char *key, int *rc,
		  struct store_meta *meta)
{
	const char *slash = strrchr(key, '/'), *name = slash ? slash + 1 : key;
	char *parent = strndup(key, slash ? (size_t)(slash - key) : 0);
	const struct dir_entry *e;
	struct slot *s;
	int hit = 0;

	if (!parent)
		return 0;
	pthread_mutex_lock(&lock);
	s = find_locked(st, parent);
	if (s) {
		/* an empty listing may have no array at all */
		e = s->dl->count ? bsearch(name, s->dl->entries, s->dl->count, sizeof(*e),
					   by_name) : NULL;
		*rc = e ? 0 : -ENOENT;
		if (e)
			*meta = e->meta;
		hit = 1;
	}
	pthread_mutex_unlock(&lock);
	free(parent);
	return hit;
}

void dircache_fork_lock(void)
{
	pthread_mutex_lock(&lock);
}

void dircache_fork_unlock(void)
{
	pthread_mutex_unlock(&lock);
}
