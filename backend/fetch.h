/* SPDX-License-Identifier: MIT */
/*
 * fetch.h - the pool of worker threads that run range fetches.
 *
 * Tasks are plain functions.  Urgent tasks (the parts of a read somebody
 * is waiting for) go before read-ahead tasks; each queue is FIFO, so
 * read-ahead parts go out in file order.  Threads start on first use and
 * again in a forked child, which inherits none.
 */
#ifndef CLOUDSHIM_FETCH_H
#define CLOUDSHIM_FETCH_H

typedef void (*fetch_task_fn)(void *arg);

void fetch_configure(int threads);

/* Runs at the start of every worker (the shim marks it never intercepted). */
void fetch_set_thread_hook(void (*hook)(void));

/* 0, or -errno when no worker could be started (the caller runs it then). */
int fetch_submit(fetch_task_fn fn, void *arg, int urgent);

/* fork: see cache.h.  The child has no workers and forgets the queue. */
void fetch_fork_lock(void);
void fetch_fork_unlock(void);
void fetch_after_fork_child(void);

#endif
