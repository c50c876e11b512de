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

static void *worker(void *arg)
{
	struct pool *p = arg;
	char name[16];

	snprintf(name, sizeof(name), "cs-%s", p->name);
	pthread_setname_np(pthread_self(), name);
	/* nice is a thread's own on Linux: this lowers this worker only */
	if (p->nice > 0 && setpriority(PRIO_PROCESS, (id_t)gettid(), p->nice) != 0)
		log_warn("cannot lower the priority of %s workers: %s", p->name, strerror(errno));
	if (thread_hook)
		thread_hook();
	for (;;) {
		struct pool_task *t;

		pthread_mutex_lock(&p->lock);
		while (!(t = pop_locked(&p->urgent)) && !(t = pop_locked(&p->later)))
			pthread_cond_wait(&p->work, &p->lock);
		pthread_mutex_unlock(&p->lock);
		t->fn(t->arg);
		free(t);
	}
	return NULL;
}

/* Starts workers up to the configured count; returns how many run. */
static int grow_locked(struct pool *p)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;

	if (p->nthreads >= p->max_threads)
		return p->nthreads;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* inherited by workers */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	while (p->nthreads < p->max_threads) {
		int rc = pthread_create(&tid, &attr, worker, p);

		if (rc) {
			log_warn("cannot start %s worker: %s", p->name, rc == EAGAIN ?
				 "thread limit reached" : "pthread_create failed");
			break;
		}
		p->nthreads++;
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return p->nthreads;
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
	if (grow_locked(p) == 0) {
		pthread_mutex_unlock(&p->lock);
		free(t);
		return -EAGAIN;
	}
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return 0;
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
	p->urgent.head = p->urgent.tail = NULL;
	p->later.head = p->later.tail = NULL;
	p->nthreads = 0;
}
