/* SPDX-License-Identifier: MIT */
/*
 * slab.c - memory for the cache's page buffers.
 *
 * DESIGN
 * Buffers are carved from 2 MiB-aligned slabs.  Buffers for whole pages
 * come from slabs the kernel may back with huge pages: a sequential reader
 * then takes one page fault per 2 MiB, not sixteen per page.  Buffers for
 * a few blocks come from ordinary slabs, where the kernel provides (and
 * zeroes) only the 4 KiB pages touched: a huge page there would make every
 * small read pay for 64 KiB of fresh memory.
 *
 * Fresh memory costs the first thread that touches it, and on virtual
 * machines it can cost more than the request that fills it: on this
 * project's test machines a never-touched 2 MiB huge page is zeroed at
 * about 2 GB/s, so a random 64 KiB read into fresh memory paid 30 us
 * beside a 100 us request.  So while the cache grows, one helper thread
 * ("cs-slab") keeps a small reserve of whole-page slabs already touched,
 * and a reader takes those.  It stops when the slabs mapped reach the
 * budget (the cache bound): from there buffers are recycled, and the
 * reserve never takes memory beyond what the cache may use.
 *
 * The lock nests inside the cache's and is never held by the helper while
 * it touches memory.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "backend/cache.h"
#include "backend/pool.h"
#include "backend/slab.h"

#define SLAB_SIZE	((size_t)2 << 20)
#define RESERVE_SLABS	2

struct slab_cursor {
	char *next;		/* the rest of the newest slab */
	size_t left;
	int huge;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slab_cursor whole_pages = { .huge = 1 }, some_blocks = { .huge = 0 };
static void *free_buffers;		/* a list through each buffer's first word */
static char *reserve[RESERVE_SLABS];	/* touched huge slabs, ready to carve */
static int nreserve, preparing;
static int helper_failed;		/* no more slabs: stop asking */
static size_t mapped, budget = 256UL << 20;
static struct pool helper = POOL_INIT("slab", 1, 0);

/* A 2 MiB-aligned slab; NULL when there is no memory. */
static char *map_slab(int huge)
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
	/* hints: fine if refused, and against "always" in the system setting */
	madvise((void *)at, SLAB_SIZE, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return (char *)at;
}

static void top_up_locked(void);

/* The helper's task: one more slab in the reserve, then the next if short. */
static void prepare_slab(void *arg)
{
	char *s = map_slab(1);

	(void)arg;
	/* every 4 KiB: one fault if the kernel gave a huge page, all if not */
	for (size_t i = 0; s && i < SLAB_SIZE; i += 4096)
		((volatile char *)s)[i] = 0;
	pthread_mutex_lock(&lock);
	preparing = 0;
	if (s) {
		reserve[nreserve++] = s;
		top_up_locked();
	} else {
		mapped -= SLAB_SIZE;
		helper_failed = 1;
	}
	pthread_mutex_unlock(&lock);
}

/* Asks the helper for a slab when the reserve is short and the budget allows. */
static void top_up_locked(void)
{
	if (preparing || helper_failed || nreserve >= RESERVE_SLABS ||
	    mapped + SLAB_SIZE > budget)
		return;
	preparing = 1;
	mapped += SLAB_SIZE;	/* counted now, so the budget holds meanwhile */
	if (pool_submit(&helper, prepare_slab, NULL, 0) != 0) {
		preparing = 0;
		mapped -= SLAB_SIZE;
		helper_failed = 1;
	}
}

char *slab_buffer_get(int whole)
{
	struct slab_cursor *c = whole ? &whole_pages : &some_blocks;
	char *b;

	pthread_mutex_lock(&lock);
	if ((b = free_buffers)) {
		free_buffers = *(void **)b;
		goto out;
	}
	if (c->left < CACHE_PAGE_SIZE) {
		char *s = c->huge && nreserve ? reserve[--nreserve] : NULL;

		if (!s) {
			if (!(s = map_slab(c->huge)))
				goto out;
			mapped += SLAB_SIZE;
		}
		c->next = s;
		c->left = SLAB_SIZE;
		if (c->huge)
			top_up_locked();
	}
	b = c->next;
	c->next += CACHE_PAGE_SIZE;
	c->left -= CACHE_PAGE_SIZE;
out:
	pthread_mutex_unlock(&lock);
	return b;
}

void slab_buffer_put(char *buffer)
{
	pthread_mutex_lock(&lock);
	*(void **)buffer = free_buffers;
	free_buffers = buffer;
	pthread_mutex_unlock(&lock);
}

void slab_set_budget(size_t bytes)
{
	pthread_mutex_lock(&lock);
	budget = bytes;
	pthread_mutex_unlock(&lock);
}

void slab_get_stats(struct slab_stats *st)
{
	pthread_mutex_lock(&lock);
	st->mapped = mapped;
	st->reserved = (size_t)nreserve;
	pthread_mutex_unlock(&lock);
}

/* in the order they nest: top_up_locked submits under the lock */
void slab_fork_lock(void)
{
	pthread_mutex_lock(&lock);
	pool_fork_lock(&helper);
}

void slab_fork_unlock(void)
{
	pool_fork_unlock(&helper);
	pthread_mutex_unlock(&lock);
}

void slab_after_fork_child(void)
{
	pool_after_fork_child(&helper);
	if (preparing) {	/* the parent's helper had it; the child's never will */
		preparing = 0;
		mapped -= SLAB_SIZE;
	}
}
