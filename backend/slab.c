/* SPDX-License-Identifier: MIT */
/*
 * slab.c - memory for the cache's block buffers.
 *
 * DESIGN
 * Buffers are carved from 2 MiB slabs.  A buffer put back is the next one
 * handed out; memory is never given back to the system.
 *
 * The slabs ask for small pages (MADV_NOHUGEPAGE).  A huge page saves
 * page faults, but the kernel must find 2 MiB free and contiguous for it,
 * compacting memory when it cannot, and on virtual machines it tends to
 * be memory the host never backed.  On this project's test VM, random
 * reads through the shim with huge pages asked for ran at 1601-2293 IOPS
 * (64 KiB, 1 thread) and 2165-4107 (256 KiB), with small pages at
 * 2958-7204 and 5101-6884, on less CPU; sequential reads and the peak
 * RSS did not change.
 *
 * Fresh memory costs the first thread that touches it, and on virtual
 * machines it can cost more than the request that fills it: perf put
 * 30-57 % of the shim's samples in clear_page_erms during random reads,
 * and one fault per page is a trap each (MADV_POPULATE_WRITE makes a
 * slab's 512 pages in one call: 2000 random 64 KiB reads took 1,326 page
 * faults instead of 32,560).  So while the cache grows, one helper thread
 * ("cs-slab") keeps a reserve of slabs already touched, and readers carve
 * their buffers from those.  The helper stops when the slabs mapped reach
 * the budget (the cache bound): from there buffers are recycled, and the
 * reserve never takes memory beyond what the cache may use.
 *
 * The helper starts only when the cache takes its second slab.  Random
 * reads that bypass the cache (object.c) keep it within its first slab
 * for good, and a reserve made for them was 4 MiB of faults for nothing:
 * the reader's CPU for 2000 random 256 KiB preads from nginx by 4 threads
 * went from 242 to 224 ms (medians of 9; curl 188 ms), 64 KiB 143 to 131.
 * The reader that maps the first slab populates it whole but touches and
 * times only a few of its blocks: what fresh memory costs is known at
 * once, and a program that reads a little does not pay for 2 MiB.
 *
 * The helper runs at nice 19.  Its work is never what anybody waits for
 * (a reader short of a touched slab maps one and populates it itself), and
 * at the default priority it kept the CPU from the reader and the server
 * answering it: populating a slab takes a millisecond or more here, many
 * requests' time.  Random preads from nginx, medians of 7-9 alternating
 * runs: 64 KiB 1 thread 0.53 -> 0.69 x curl's IOPS, 4 threads 0.51 ->
 * 0.78, 256 KiB 1 thread 1.04 -> 1.13.
 *
 * The lock nests inside the cache's and is never held by the helper while
 * it touches memory.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "backend/cache.h"
#include "backend/clock.h"
#include "backend/pool.h"
#include "backend/slab.h"

#define SLAB_SIZE	((size_t)2 << 20)
#define SLAB_BLOCKS	(SLAB_SIZE / CACHE_BLOCK_SIZE)
#define RESERVE_SLABS	2
#define FIRST_TOUCH	32	/* blocks of the first slab timed for fresh_ns */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *next;			/* the rest of the newest slab */
static size_t left;
static void *free_buffers;		/* a list through each buffer's first word */
static size_t nfree;
static char *reserve[RESERVE_SLABS];	/* touched slabs, ready to carve */
static int nreserve, preparing;
static int helper_failed;		/* no more slabs: stop asking */
static size_t mapped, budget = 256UL << 20;
static struct pool helper = POOL_INIT("slab", 1, POOL_NICE_BACKGROUND);
static atomic_long fresh_ns;		/* what fresh memory cost a block, as last timed */

/*
 * Costs are the timing thread's own CPU time: the helper's wall time at
 * nice 19 counts the time others ran (over 300 us a block at times on the
 * test VM, against 6.5-9.5 us of its CPU).
 */
static long cpu_ns(void)
{
	return clock_ns_on(CLOCK_THREAD_CPUTIME_ID);
}

/* A slab of small pages; NULL when there is no memory. */
static char *map_slab(void)
{
	char *m = mmap(NULL, SLAB_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	madvise(m, SLAB_SIZE, MADV_NOHUGEPAGE);	/* where THP is "always" too; a hint */
	return m;
}

static void top_up_locked(void);

/*
 * The kernel's half of making slab s ready, in one call instead of a
 * fault a page, where the kernel has it (Linux 5.14; before, the faults
 * come later).  A taker that finds no slab in the reserve (the helper, at
 * nice 19, falls behind read-ahead that fills a growing cache at hundreds
 * of MB/s) does this much under the locks (512 pages at 0.65 us here), and
 * leaves the host's half, its first-touch trap, to the writes that
 * follow, outside them.  On the test VM a fault cost 11.8 us a page, this
 * call 0.65 us and the write after it 5.9; cat of a 256 MiB object from
 * s3rver, which the cache keeps whole, went from 0.96-1.02 s to
 * 0.75-0.85 s.
 */
static void populate(char *s)
{
	madvise(s, SLAB_SIZE, MADV_POPULATE_WRITE);
}

/*
 * Makes slab s ready, so that readers fault none of its pages, and notes
 * what fresh memory costs a block: the kernel's half for the whole slab,
 * in one call where the kernel can (Linux 5.14), then a write to each of
 * its first `touch` blocks.  The writes are not redundant: under shadow
 * paging the host maps a page only when the guest's program first touches
 * it, whatever the guest kernel did, and that trap cost 5.7 us a page on
 * the test VM after MADV_POPULATE_WRITE, 30 ns on the second pass.
 */
static void make_ready(char *s, size_t touch)
{
	long start = cpu_ns(), populated;

	populate(s);
	populated = cpu_ns();
	for (size_t i = 0; i < touch; i++)
		((volatile char *)s)[i * CACHE_BLOCK_SIZE] = 0;
	atomic_store(&fresh_ns, (populated - start) / (long)SLAB_BLOCKS +
				(cpu_ns() - populated) / (long)touch);
}

/* The helper's task: one more slab in the reserve, then the next if short. */
static void prepare_slab(void *arg)
{
	char *s = map_slab();

	(void)arg;
	if (s)
		make_ready(s, SLAB_BLOCKS);
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

char *slab_buffer_get(void)
{
	char *b;

	pthread_mutex_lock(&lock);
	if ((b = free_buffers)) {
		free_buffers = *(void **)b;
		nfree--;
		goto out;
	}
	if (left < CACHE_BLOCK_SIZE) {
		char *s;

		if (nreserve) {
			s = reserve[--nreserve];
		} else if ((s = map_slab())) {
			mapped += SLAB_SIZE;
			/*
			 * The first slab: what fresh memory costs is timed here,
			 * on FIRST_TOUCH blocks, with the locks held.  Not on all
			 * 512: that took 3.1-3.5 ms of the first read on the test
			 * VM (3 % of 2000 random 4 KiB reads by 4 threads), and a
			 * program that reads a little paid it all.  The other
			 * pages' traps come with their first use.
			 */
			if (atomic_load(&fresh_ns) == 0)
				make_ready(s, FIRST_TOUCH);
			else
				populate(s);
		} else {
			goto out;
		}
		next = s;
		left = SLAB_SIZE;
		/* a cache that has not outgrown its first slab may never grow */
		if (mapped > SLAB_SIZE)
			top_up_locked();
	}
	b = next;
	next += CACHE_BLOCK_SIZE;
	left -= CACHE_BLOCK_SIZE;
out:
	pthread_mutex_unlock(&lock);
	return b;
}

void slab_buffer_put(char *buffer)
{
	pthread_mutex_lock(&lock);
	*(void **)buffer = free_buffers;
	free_buffers = buffer;
	nfree++;
	pthread_mutex_unlock(&lock);
}

long slab_fresh_ns(void)
{
	return atomic_load(&fresh_ns);
}

size_t slab_spare(void)
{
	size_t n;

	pthread_mutex_lock(&lock);
	n = nfree + left / CACHE_BLOCK_SIZE;
	pthread_mutex_unlock(&lock);
	return n;
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
