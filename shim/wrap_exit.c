/* SPDX-License-Identifier: MIT */
/*
 * wrap_exit.c - _exit and _Exit, which skip atexit handlers: a process
 * leaving through them (multiprocessing workers use os._exit) still
 * uploads what it wrote and waits for it, as exit does (shim/staged.c).
 */
#include <stdlib.h>

#include "shim/staged.h"
#include "shim/wrap.h"

typedef void (*exit_fn)(int) __attribute__((noreturn));

/* A failed upload turns a status of 0 into 1, as at exit (shim/staged.c). */
static int settle(int status)
{
	if (mounts_active() && !guard_busy() && staged_quit() && status == 0)
		return EXIT_FAILURE;
	return status;
}

EXPORT void _exit(int status)
{
	((exit_fn)REAL(_exit))(settle(status));
}

EXPORT void _Exit(int status)
{
	((exit_fn)REAL(_Exit))(settle(status));
}
