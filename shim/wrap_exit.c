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

EXPORT void _exit(int status)
{
	if (mounts_active() && !guard_busy())
		staged_quit();
	((exit_fn)REAL(_exit))(status);
}

EXPORT void _Exit(int status)
{
	if (mounts_active() && !guard_busy())
		staged_quit();
	((exit_fn)REAL(_Exit))(status);
}
