/* SPDX-License-Identifier: MIT */
/*
 * test_pool.c - a pool of low priority, and what changes while somebody
 * waits for it (pool_rush): its tasks run at the waiter's priority, on the
 * second set of workers, never more of them at once than the pool's size.
 * `make test` runs this under ThreadSanitizer too.
 */
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "backend/pool.h"
#include "tests/unit/check.h"

static struct pool low = POOL_INIT("tlow", 2, POOL_NICE_BACKGROUND);

/* A task that notes its thread's nice value, then runs until released. */
struct probe {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int started, released, done;
	int nice;
};

static void probe_task(void *arg)
{
	struct probe *p = arg;
	int nice = getpriority(PRIO_PROCESS, (id_t)gettid());

	pthread_mutex_lock(&p->lock);
	p->nice = nice;
	p->started = 1;
	pthread_cond_broadcast(&p->changed);
	while (!p->released)
		pthread_cond_wait(&p->changed, &p->lock);
	p->done = 1;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
}

static void probe_init(struct probe *p)
{
	*p = (struct probe){ .nice = -100 };
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
}

/* Waits up to ms for *flag; returns it. */
static int wait_for(struct probe *p, const int *flag, long ms)
{
	struct timespec until;
	int v;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&p->lock);
	while (!*flag && pthread_cond_timedwait(&p->changed, &p->lock, &until) == 0)
		;
	v = *flag;
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void release(struct probe *p)
{
	pthread_mutex_lock(&p->lock);
	p->released = 1;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	wait_for(p, &p->done, 10000);
}

/* Submits a probe; 1 when it started within 10 s. */
static int run_probe(struct probe *p, int release_it)
{
	probe_init(p);
	if (pool_submit(&low, probe_task, p, 0) != 0)
		return 0;
	if (!wait_for(p, &p->started, 10000))
		return 0;
	if (release_it)
		release(p);
	return 1;
}

int main(void)
{
	int own = getpriority(PRIO_PROCESS, (id_t)gettid());
	struct probe a, b, c, d, e, f;

	/* nobody waits: the pool's own workers, at the lowest priority */
	CHECK(run_probe(&a, 1) && a.nice == 19);

	/* somebody waits: the waiter's priority */
	pool_rush(&low, 1);
	CHECK(run_probe(&b, 1) && b.nice == own);
	pool_rush(&low, 0);
	CHECK(run_probe(&c, 1) && c.nice == 19);

	/*
	 * Both workers busy, one task queued: the wait starts, but the queued
	 * task waits for room, then runs at the waiter's priority beside the
	 * low one still running.
	 */
	CHECK(run_probe(&d, 0) && d.nice == 19);
	CHECK(run_probe(&e, 0) && e.nice == 19);
	probe_init(&f);
	CHECK(pool_submit(&low, probe_task, &f, 0) == 0);
	pool_rush(&low, 1);
	CHECK(!wait_for(&f, &f.started, 100));	/* two run: the pool's size */
	release(&d);
	CHECK(wait_for(&f, &f.started, 10000) && f.nice == own);
	release(&e);
	release(&f);
	pool_rush(&low, 0);

	/* the waiter itself kept its priority */
	CHECK(getpriority(PRIO_PROCESS, (id_t)gettid()) == own);
	return check_summary();
}
