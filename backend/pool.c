/* SPDX-License-Identifier: MIT */
/*
 * pool.c - worker threads and their two queues.
 *
 * DESIGN
 * One mutex and one condition variable per pool guard two singly linked
 * FIFO queues.  Workers are detached, block every signal (a program's
 * handlers must run on the program's threads, not ours), and live as long
 * as the process.  A pool grows to its configured size as soon as work
 * arrives: a connection per worker is what makes transfers parallel.
 *
 * A pool of low priority that somebody waits for (pool_rush) hands its
 * queue to its second set of workers, at the waiter's priority; its own
 * workers take nothing new until nobody waits.  The two sets together
 * run at most max_threads tasks, so the store sees no more connections.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "backend/pool.h"
#include "backend/log.h"

struct pool_task {
	pool_task_fn fn;
	void *arg;
	struct pool_task *next;
};

#define POOL_TOGETHER_MAX 16	/* threads of one pool_run_together */

static void (*thread_hook)(void);

void pool_configure(struct pool *p, int threads)
{
	pthread_mutex_lock(&p->lock);
	p->max_threads = threads > 0 ? threads : 1;
	pthread_mutex_unlock(&p->lock);
}

void pool_set_thread_hook(void (*hook)(void))
{
	thread_hook = hook;
}

static struct pool_task *pop_locked(struct pool_queue *q)
{
	struct pool_task *t = q->head;

	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
	}
	return t;
}

/* Whether a worker of the waiters' set (rush) or the pool's own may take a task. */
static int may_take_locked(const struct pool *p, int rush)
{
	if (!p->rushing || !p->nrush)
		return !rush;
	return rush && p->busy < p->max_threads;
}

static struct pool_task *take_locked(struct pool *p, int rush)
{
	struct pool_task *t;

	if (!may_take_locked(p, rush))
		return NULL;
	if (!(t = pop_locked(&p->urgent)))
		t = pop_locked(&p->later);
	return t;
}

static void work(struct pool *p, int rush)
{
	char name[16];

	snprintf(name, sizeof(name), rush ? "cs-%s-now" : "cs-%s", p->name);
	pthread_setname_np(pthread_self(), name);
	/* nice is a thread's own on Linux: this lowers this worker only */
	if (!rush && p->nice > 0 && setpriority(PRIO_PROCESS, (id_t)gettid(), p->nice) != 0)
		log_warn("cannot lower the priority of %s workers: %s", p->name, strerror(errno));
	if (thread_hook)
		thread_hook();
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct pool_task *t;

		while (!(t = take_locked(p, rush)))
			pthread_cond_wait(rush ? &p->rush_work : &p->work, &p->lock);
		p->busy++;
		pthread_mutex_unlock(&p->lock);
		t->fn(t->arg);
		free(t);
		pthread_mutex_lock(&p->lock);
		p->busy--;
		if (p->rushing)
			pthread_cond_signal(&p->rush_work);	/* room for one more */
	}
}

static void *worker(void *arg)
{
	work(arg, 0);
	return NULL;
}

static void *rush_worker(void *arg)
{
	work(arg, 1);
	return NULL;
}

/*
 * Starts workers of one set up to the configured count: *count of them
 * run, each starting at the calling thread's priority.  Returns *count.
 */
static int grow_locked(struct pool *p, int *count, void *(*fn)(void *))
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;

	if (*count >= p->max_threads)
		return *count;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* inherited by workers */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	while (*count < p->max_threads) {
		int rc = pthread_create(&tid, &attr, fn, p);

		if (rc) {
			log_warn("cannot start %s worker: %s", p->name, rc == EAGAIN ?
				 "thread limit reached" : "pthread_create failed");
			break;
		}
		(*count)++;
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return *count;
}

struct together {
	pool_task_fn fn;
	void *arg;
};

static void *run_together(void *arg)
{
	const struct together *t = arg;

	pthread_setname_np(pthread_self(), "cs-together");
	if (thread_hook)
		thread_hook();
	t->fn(t->arg);
	return NULL;
}

void pool_run_together(int n, pool_task_fn fn, void *arg)
{
	struct together t = { fn, arg };
	pthread_t tid[POOL_TOGETHER_MAX];
	sigset_t all, old;
	pthread_attr_t attr;
	int started = 0;

	if (n > POOL_TOGETHER_MAX)
		n = POOL_TOGETHER_MAX;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* inherited by the threads */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	while (started < n - 1 && pthread_create(&tid[started], &attr, run_together, &t) == 0)
		started++;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	fn(arg);
	while (started > 0)
		pthread_join(tid[--started], NULL);
}

int pool_submit(struct pool *p, pool_task_fn fn, void *arg, int urgent)
{
	struct pool_task *t = malloc(sizeof(*t));
	struct pool_queue *q = urgent ? &p->urgent : &p->later;

	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (grow_locked(p, &p->nthreads, worker) == 0) {
		pthread_mutex_unlock(&p->lock);
		free(t);
		return -EAGAIN;
	}
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
	pthread_cond_signal(p->rushing && p->nrush ? &p->rush_work : &p->work);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void pool_rush(struct pool *p, int on)
{
	if (p->nice <= 0)
		return;
	pthread_mutex_lock(&p->lock);
	p->rushing += on ? 1 : -1;
	if (on)
		grow_locked(p, &p->nrush, rush_worker);
	/* the queue changes hands */
	pthread_cond_broadcast(p->rushing ? &p->rush_work : &p->work);
	pthread_mutex_unlock(&p->lock);
}

void pool_fork_lock(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
}

void pool_fork_unlock(struct pool *p)
{
	pthread_mutex_unlock(&p->lock);
}

void pool_after_fork_child(struct pool *p)
{
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->rush_work, NULL);
	p->urgent.head = p->urgent.tail = NULL;
	p->later.head = p->later.tail = NULL;
	p->nthreads = p->nrush = p->busy = p->rushing = 0;
}
