/* SPDX-License-Identifier: MIT */
/*
 * term.c - termination signals.
 *
 * SIGTERM's default action ends a process at once, with its uploads still
 * on their way: multiprocessing.Pool ends its workers so when its `with`
 * block closes, and their closed files stayed in staging, never sent.
 * So where a program leaves SIGTERM or SIGHUP at their default, the shim
 * catches them.  Not SIGINT: Python raises KeyboardInterrupt only where
 * it finds SIGINT at its default when it starts (and Jupyter interrupts a
 * cell so); a program ended by Ctrl-C leaves its files for `cloudshim
 * sync`.  The handler only wakes a thread of ours (a
 * semaphore post is safe in a handler); that thread sends what the
 * program wrote, as exit does (staged_quit: files still open, then every
 * upload, with progress on stderr), and then dies of the signal itself,
 * so the parent sees the status it expects.  A second signal, or one in a
 * process that wrote nothing, ends it at once.  A program that sets its
 * own handler replaces ours, and then leaves through exit or _exit, which
 * wait for the uploads anyway.  The program's threads run on while the
 * uploads go (its blocked calls restart), as they would during exit.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "shim/staged.h"
#include "shim/term.h"
#include "shim/wrap.h"

static const int caught[] = { SIGTERM, SIGHUP };

static sem_t wake;
static atomic_int signo;		/* the signal being handled, 0 if none */
static atomic_int watcher_pid;		/* the process whose thread waits on wake */

/* Ends the process with sig's default action. */
static void die_of(int sig)
{
	struct sigaction dfl;
	sigset_t one;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
}

static void on_signal(int sig)
{
	int saved = errno, expected = 0;

	if (atomic_load(&watcher_pid) != getpid() ||
	    !atomic_compare_exchange_strong(&signo, &expected, sig))
		die_of(sig);	/* nothing written here, or asked twice */
	else
		sem_post(&wake);
	errno = saved;
}

static void *watch(void *arg)
{
	int sig;

	(void)arg;
	guard_enter();		/* for the thread's whole life: our own calls are not intercepted */
	while (sem_wait(&wake) != 0)
		;
	sig = atomic_load(&signo);
	staged_quit();		/* says so on stderr if that takes more than a second */
	die_of(sig);
	return NULL;
}

void term_watch(void)
{
	int me = getpid(), was = atomic_load(&watcher_pid);
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int started;

	/* mine, or being started by another thread here (-me); a forked child starts its own */
	if (was == me || was == -me || !atomic_compare_exchange_strong(&watcher_pid, &was, -me))
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* the thread takes no signal itself */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	started = pthread_create(&tid, &attr, watch, NULL) == 0;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	atomic_store(&watcher_pid, started ? me : 0);
}

void term_setup(void)
{
	struct sigaction sa, old;

	if (sem_init(&wake, 0, 0) != 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		if (sigaction(caught[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
		    !(old.sa_flags & SA_SIGINFO))
			sigaction(caught[i], &sa, NULL);
}
