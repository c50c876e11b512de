/* SPDX-License-Identifier: MIT */
/*
 * pool.h - pools of worker threads running plain tasks.
 *
 * The engine has three: fetches (range reads) and uploads, so that a large
 * upload never stands between a reader and the bytes it waits for, and a
 * one-thread pool that touches cache memory ahead of need (slab.c).
 * Urgent tasks (what somebody waits for) go before the others; each queue
 * is FIFO, so read-ahead parts go out in file order.  Threads start on
 * first use, and again in a forked child, which inherits none.  They are
 * named "cs-NAME" (what top -H and /proc show).
 *
 * A pool of low priority (uploads) has a second set of workers, "cs-NAME-now",
 * for the time somebody waits for its work: see pool_rush.
 */
#ifndef CLOUDSHIM_POOL_H
#define CLOUDSHIM_POOL_H

#include <pthread.h>

typedef void (*pool_task_fn)(void *arg);

struct pool_task;

struct pool_queue {
	struct pool_task *head, *tail;
};

struct pool {
	const char *name;
	pthread_mutex_t lock;
	pthread_cond_t work;		/* for the workers at the pool's own priority */
	pthread_cond_t rush_work;	/* for those at a waiter's */
	struct pool_queue urgent, later;
	int nthreads, max_threads;
	int nice;		/* workers' CPU priority, when above 0 */
	int rushing;		/* threads waiting for the pool's work */
	int nrush;		/* workers started at a waiter's priority */
	int busy;		/* tasks running */
};

#define POOL_INIT(name_, threads_, nice_) { \
	.name = (name_), .lock = PTHREAD_MUTEX_INITIALIZER, \
	.work = PTHREAD_COND_INITIALIZER, .rush_work = PTHREAD_COND_INITIALIZER, \
	.max_threads = (threads_), .nice = (nice_) }

/* The lowest CPU priority: work that only takes what the program leaves idle. */
#define POOL_NICE_BACKGROUND 19

void pool_configure(struct pool *p, int threads);

/* Runs at the start of every worker of every pool (the shim marks them). */
void pool_set_thread_hook(void (*hook)(void));

/* 0, or -errno when no worker could be started (the caller runs it then). */
int pool_submit(struct pool *p, pool_task_fn fn, void *arg, int urgent);

/*
 * The calling thread starts (on) or stops waiting for the pool's work.
 * While anyone waits, a pool of low priority runs its tasks on workers at
 * the priority of the first waiter, which starts them (a thread cannot
 * raise its own priority back, so the waiter's own threads must do it):
 * a program blocked on its uploads gets them at its own priority, not
 * what the machine's other programs leave idle.  Tasks running already
 * finish where they are; at most max_threads run at once.  A no-op for
 * other pools.  Not to be called under a lock the pool's tasks take.
 */
void pool_rush(struct pool *p, int on);

/*
 * Runs fn(arg) on n threads at once, the caller's one of them, and returns
 * when every run has returned: for work a caller waits for that takes its
 * pieces from a queue of its own (fn must do all that is left, alone if
 * no other thread could start).  The threads are started for the call,
 * block every signal, and are gone when it returns.
 */
void pool_run_together(int n, pool_task_fn fn, void *arg);

/*
 * fork: the lock is held across it; the child has no workers and forgets
 * the queue (its tasks point at state the child drops: they leak).
 */
void pool_fork_lock(struct pool *p);
void pool_fork_unlock(struct pool *p);
void pool_after_fork_child(struct pool *p);

#endif
