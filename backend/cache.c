/* SPDX-License-Identifier: MIT */
/*
 * cache.c - pages, their states and the memory bound.
 *
 * DESIGN
 * One mutex guards the page table (uthash), the LRU list and the counters;
 * no memcpy of page data ever happens under it.  A page is in one of three
 * states:
 *
 *   PENDING  claimed by a run; being filled; never evicted.
 *   READY    all its bytes are there; on the LRU list; evictable unpinned.
 *   FAILED   its fetch failed; out of the table; freed by its last waiter.
 *
 * Readers pin READY pages for the copy and pin PENDING pages while they wait
 * on the one condition variable, which is broadcast whenever a page leaves
 * PENDING or memory is released, and only when someone is waiting.
 *
 * The bound counts page buffers allocated.  Under the bound a claim
 * allocates; at the bound it takes over the least recently used ready
 * page, buffer and all; with nothing evictable a reader waits, read-ahead
 * gives up.
 *
 * Page buffers are carved from 2 MiB slabs that the kernel may back with
 * huge pages: a cache filling up then takes one page fault per 2 MiB, not
 * one per 4 KiB (sixteen per page, each zeroed and charged on its own,
 * which cost random reads a third of their speed).  A buffer no page
 * holds goes on a free list; the memory itself is never given back,
 * and never exceeds the bound by more than one slab.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <uthash.h>

#include "backend/cache.h"

enum page_state { PAGE_PENDING, PAGE_READY, PAGE_FAILED };

struct page_key {
	uint64_t id;
	uint64_t index;
};

struct page {
	struct page_key key;
	UT_hash_handle hh;
	struct page *lru_prev, *lru_next;	/* READY pages only */
	char *data;
	uint32_t len;		/* bytes this page holds when ready */
	uint32_t filled;
	enum page_state state;
	int err;
	int pins;
};

struct cache_run {
	uint64_t id;
	uint64_t first;		/* page index of pages[0] */
	size_t npages;
	size_t done;		/* pages completed; they fill strictly in order */
	off_t start, end;
	struct page *pages[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct page *table;
static struct page *lru_head, *lru_tail;
static size_t limit = 256UL << 20, used, peak;
static unsigned long evictions;
static int waiters;
static uint64_t next_id = 1;

#define SLAB_SIZE ((size_t)2 << 20)

static char *slab_next;			/* the rest of the newest slab */
static size_t slab_left;
static void *free_buffers;		/* a list through each buffer's first word */

/* A 2 MiB-aligned slab, huge pages welcome; NULL when there is no memory. */
static char *new_slab(void)
{
	char *m = mmap(NULL, 2 * SLAB_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	uintptr_t at, end;

	if (m == MAP_FAILED)
		return NULL;
	at = ((uintptr_t)m + SLAB_SIZE - 1) & ~(uintptr_t)(SLAB_SIZE - 1);
	end = at + SLAB_SIZE;
	if (at > (uintptr_t)m)
		munmap(m, at - (uintptr_t)m);
	munmap((void *)end, (uintptr_t)m + 2 * SLAB_SIZE - end);
	madvise((void *)at, SLAB_SIZE, MADV_HUGEPAGE);	/* a hint: fine if refused */
	return (char *)at;
}

static char *buffer_get_locked(void)
{
	char *b = free_buffers;

	if (b) {
		free_buffers = *(void **)b;
		return b;
	}
	if (slab_left < CACHE_PAGE_SIZE) {
		if (!(slab_next = new_slab()))
			return NULL;
		slab_left = SLAB_SIZE;
	}
	b = slab_next;
	slab_next += CACHE_PAGE_SIZE;
	slab_left -= CACHE_PAGE_SIZE;
	return b;
}

static void buffer_put_locked(char *b)
{
	*(void **)b = free_buffers;
	free_buffers = b;
}

void cache_set_limit(size_t bytes)
{
	pthread_mutex_lock(&lock);
	limit = bytes < 4 * CACHE_PAGE_SIZE ? 4 * CACHE_PAGE_SIZE : bytes;
	pthread_mutex_unlock(&lock);
}

uint64_t cache_new_id(void)
{
	uint64_t id;

	pthread_mutex_lock(&lock);
	id = next_id++;
	pthread_mutex_unlock(&lock);
	return id;
}

static void lru_unlink(struct page *p)
{
	if (p->lru_prev)
		p->lru_prev->lru_next = p->lru_next;
	else
		lru_head = p->lru_next;
	if (p->lru_next)
		p->lru_next->lru_prev = p->lru_prev;
	else
		lru_tail = p->lru_prev;
	p->lru_prev = p->lru_next = NULL;
}

static void lru_push_head(struct page *p)
{
	p->lru_prev = NULL;
	p->lru_next = lru_head;
	if (lru_head)
		lru_head->lru_prev = p;
	lru_head = p;
	if (!lru_tail)
		lru_tail = p;
}

static void wake_locked(void)
{
	if (waiters)
		pthread_cond_broadcast(&changed);
}

static void free_page_locked(struct page *p)
{
	buffer_put_locked(p->data);
	free(p);
	used -= CACHE_PAGE_SIZE;
	wake_locked();
}

static struct page *find_locked(uint64_t id, uint64_t index)
{
	struct page_key k = { id, index };
	struct page *p;

	HASH_FIND(hh, table, &k, sizeof(k), p);
	return p;
}

/* A page buffer within the bound: new, or the LRU victim's; NULL if none. */
static struct page *take_page_locked(void)
{
	struct page *p;

	if (used + CACHE_PAGE_SIZE <= limit) {
		p = calloc(1, sizeof(*p));
		if (p && !(p->data = buffer_get_locked())) {
			free(p);
			p = NULL;
		}
		if (p) {
			used += CACHE_PAGE_SIZE;
			if (used > peak)
				peak = used;
		}
		return p;
	}
	for (p = lru_tail; p && p->pins > 0; p = p->lru_prev)
		;
	if (!p)
		return NULL;
	lru_unlink(p);
	HASH_DEL(table, p);
	evictions++;
	char *data = p->data;
	memset(p, 0, sizeof(*p));
	p->data = data;
	return p;
}

size_t cache_copy(uint64_t id, off_t off, void *buf, size_t len)
{
	enum { BATCH = 32 };
	struct page *got[BATCH];
	size_t n = 0, copied = 0;

	pthread_mutex_lock(&lock);
	for (off_t pos = off; n < BATCH && copied < len; n++) {
		struct page *p = find_locked(id, (uint64_t)pos >> CACHE_PAGE_SHIFT);
		size_t in = (size_t)pos & (CACHE_PAGE_SIZE - 1), k;

		if (!p || p->state != PAGE_READY || in >= p->len)
			break;
		p->pins++;
		if (p != lru_head) {
			lru_unlink(p);
			lru_push_head(p);
		}
		got[n] = p;
		k = p->len - in < len - copied ? p->len - in : len - copied;
		copied += k;
		pos += (off_t)k;
	}
	pthread_mutex_unlock(&lock);

	copied = 0;
	for (size_t i = 0; i < n; i++) {
		size_t in = (size_t)(off + (off_t)copied) & (CACHE_PAGE_SIZE - 1);
		size_t k = got[i]->len - in < len - copied ? got[i]->len - in : len - copied;

		memcpy((char *)buf + copied, got[i]->data + in, k);
		copied += k;
	}

	if (n) {
		pthread_mutex_lock(&lock);
		for (size_t i = 0; i < n; i++)
			got[i]->pins--;
		wake_locked();
		pthread_mutex_unlock(&lock);
	}
	return copied;
}

int cache_wait(uint64_t id, off_t off)
{
	struct page *p;
	int rc;

	pthread_mutex_lock(&lock);
	p = find_locked(id, (uint64_t)off >> CACHE_PAGE_SHIFT);
	if (!p) {
		pthread_mutex_unlock(&lock);
		return 1;
	}
	p->pins++;
	waiters++;
	while (p->state == PAGE_PENDING)
		pthread_cond_wait(&changed, &lock);
	waiters--;
	rc = p->state == PAGE_FAILED ? p->err : 0;
	if (--p->pins == 0 && p->state == PAGE_FAILED)
		free_page_locked(p);
	pthread_mutex_unlock(&lock);
	return rc;
}

ssize_t cache_claim(uint64_t id, off_t off, size_t len, off_t size, int may_wait,
		    struct cache_run **out)
{
	uint64_t first = (uint64_t)off >> CACHE_PAGE_SHIFT, last;
	off_t end = off + (off_t)len < size ? off + (off_t)len : size;
	struct cache_run *run;
	size_t n = 0;
	int full = 0;		/* stopped for want of memory, not at a present page */

	*out = NULL;
	if (off >= size || len == 0)
		return 0;
	last = (uint64_t)(end - 1) >> CACHE_PAGE_SHIFT;
	run = malloc(sizeof(*run) + (last - first + 1) * sizeof(run->pages[0]));
	if (!run)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	for (uint64_t i = first; i <= last; i++) {
		struct page *p;

		if (find_locked(id, i))
			break;
		p = take_page_locked();
		if (!p && n == 0 && may_wait) {
			waiters++;
			pthread_cond_wait(&changed, &lock);
			waiters--;
			i--;	/* look again: someone may have claimed it meanwhile */
			continue;
		}
		if (!p) {
			full = 1;
			break;
		}
		p->key.id = id;
		p->key.index = i;
		p->state = PAGE_PENDING;
		p->len = (uint32_t)(size - (off_t)(i << CACHE_PAGE_SHIFT) < (off_t)CACHE_PAGE_SIZE
				    ? size - (off_t)(i << CACHE_PAGE_SHIFT) : (off_t)CACHE_PAGE_SIZE);
		HASH_ADD(hh, table, key, sizeof(p->key), p);
		run->pages[n++] = p;
	}
	pthread_mutex_unlock(&lock);
	if (n == 0) {
		free(run);
		return full ? -ENOBUFS : 0;
	}
	run->id = id;
	run->first = first;
	run->npages = n;
	run->done = 0;
	run->start = (off_t)(first << CACHE_PAGE_SHIFT);
	run->end = run->start + (off_t)((n - 1) << CACHE_PAGE_SHIFT) + run->pages[n - 1]->len;
	*out = run;
	return run->end - run->start;
}

off_t cache_run_start(const struct cache_run *run)
{
	return run->start;
}

off_t cache_run_end(const struct cache_run *run)
{
	return run->end;
}

int cache_run_fill(void *arg, off_t off, const char *data, size_t len)
{
	struct cache_run *run = arg;

	while (len > 0) {
		uint64_t i = ((uint64_t)off >> CACHE_PAGE_SHIFT) - run->first;
		struct page *p;
		size_t in = (size_t)off & (CACHE_PAGE_SIZE - 1), k;

		if (off < run->start || i != run->done || i >= run->npages)
			return -EIO;	/* the store sent bytes we did not ask for */
		p = run->pages[i];
		if (in != p->filled)
			return -EIO;
		k = p->len - in < len ? p->len - in : len;
		memcpy(p->data + in, data, k);
		p->filled += (uint32_t)k;
		if (p->filled == p->len) {
			pthread_mutex_lock(&lock);
			p->state = PAGE_READY;
			lru_push_head(p);
			wake_locked();
			pthread_mutex_unlock(&lock);
			run->done++;	/* from now on it may be evicted and reused */
		}
		off += (off_t)k;
		data += k;
		len -= k;
	}
	return 0;
}

void cache_run_finish(struct cache_run *run, int err)
{
	pthread_mutex_lock(&lock);
	for (size_t i = run->done; i < run->npages; i++) {
		struct page *p = run->pages[i];

		HASH_DEL(table, p);
		p->state = PAGE_FAILED;
		p->err = err ? err : -EIO;
		if (p->pins == 0)
			free_page_locked(p);
	}
	wake_locked();
	pthread_mutex_unlock(&lock);
	free(run);
}

void cache_get_stats(struct cache_stats *st)
{
	pthread_mutex_lock(&lock);
	st->bytes_used = used;
	st->bytes_limit = limit;
	st->peak_used = peak;
	st->evictions = evictions;
	pthread_mutex_unlock(&lock);
}

void cache_fork_lock(void)
{
	pthread_mutex_lock(&lock);
}

void cache_fork_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

void cache_after_fork_child(void)
{
	struct page *p, *tmp;

	pthread_cond_init(&changed, NULL);
	waiters = 0;
	HASH_ITER(hh, table, p, tmp) {
		p->pins = 0;	/* the pinning threads do not exist here */
		if (p->state != PAGE_PENDING)
			continue;
		/* its filler was a thread of the parent's; no one fills it here */
		HASH_DEL(table, p);
		buffer_put_locked(p->data);
		free(p);
		used -= CACHE_PAGE_SIZE;
	}
}
