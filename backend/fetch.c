/* SPDX-License-Identifier: MIT */
/*
 * fetch.c - worker threads and their two queues.
 *
 * DESIGN
 * One mutex and one condition variable guard two singly linked FIFO
 * queues.  Workers are detached, block every signal (a program's handlers
 * must run on the program's threads, not ours), and live as long as the
 * process.  The pool grows to the configured size as soon as work arrives:
 * a connection per worker is what makes reads parallel.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "backend/fetch.h"
#include "backend/log.h"

struct task {
	fetch_task_fn fn;
	void *arg;
	struct task *next;
};

struct queue {
	struct task *head, *tail;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static struct queue urgent_q, ahead_q;
static int nthreads, max_threads = 16;
static void (*thread_hook)(void);

void fetch_configure(int threads)
{
	pthread_mutex_lock(&lock);
	max_threads = threads > 0 ? threads : 1;
	pthread_mutex_unlock(&lock);
}

void fetch_set_thread_hook(void (*hook)(void))
{
	thread_hook = hook;
}

static struct task *pop_locked(struct queue *q)
{
	struct task *t = q->head;

	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
	}
	return t;
}

static void *worker(void *unused)
{
	if (thread_hook)
		thread_hook();
	for (;;) {
		struct task *t;

		pthread_mutex_lock(&lock);
		while (!(t = pop_locked(&urgent_q)) && !(t = pop_locked(&ahead_q)))
			pthread_cond_wait(&work, &lock);
		pthread_mutex_unlock(&lock);
		t->fn(t->arg);
		free(t);
	}
	return NULL;
}

/* Starts workers up to the configured count; returns how many run. */
static int grow_locked(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;

	if (nthreads >= max_threads)
		return nthreads;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* inherited by workers */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	while (nthreads < max_threads) {
		int rc = pthread_create(&tid, &attr, worker, NULL);

		if (rc) {
			log_warn("cannot start fetch worker: %s", rc == EAGAIN ?
				 "thread limit reached" : "pthread_create failed");
			break;
		}
		nthreads++;
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return nthreads;
}

int fetch_submit(fetch_task_fn fn, void *arg, int urgent)
{
	struct task *t = malloc(sizeof(*t));
	struct queue *q = urgent ? &urgent_q : &ahead_q;

	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&lock);
	if (grow_locked() == 0) {
		pthread_mutex_unlock(&lock);
		free(t);
		return -EAGAIN;
	}
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&lock);
	return 0;
}

void fetch_fork_lock(void)
{
	pthread_mutex_lock(&lock);
}

void fetch_fork_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

void fetch_after_fork_child(void)
{
	pthread_cond_init(&work, NULL);
	/* queued tasks point at pages the cache drops in the child: leak them */
	urgent_q.head = urgent_q.tail = NULL;
	ahead_q.head = ahead_q.tail = NULL;
	nthreads = 0;
}
