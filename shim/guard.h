/* SPDX-License-Identifier: MIT */
/*
 * guard.h - keeps the shim's own file access out of the shim.
 *
 * While a thread runs shim or engine code, the calls libcurl, OpenSSL and
 * the engine make (certificate files, resolver files, file:// stores) must
 * go straight to the C library.  A thread-local depth counter says so;
 * engine worker threads hold it for their whole life.  initial-exec TLS:
 * no allocation on first access, so it is safe inside any wrapper.
 */
#ifndef CLOUDSHIM_GUARD_H
#define CLOUDSHIM_GUARD_H

extern __thread int shim_guard_depth __attribute__((tls_model("initial-exec")));
extern __thread int shim_worker __attribute__((tls_model("initial-exec")));

static inline int guard_busy(void)
{
	return shim_guard_depth > 0;
}

static inline void guard_enter(void)
{
	shim_guard_depth++;
}

static inline void guard_leave(void)
{
	shim_guard_depth--;
}

/*
 * The calling thread is one of the engine's workers: it has no descriptor
 * of the program's, so every number it uses is its own (see fdtab_has).
 */
static inline int guard_in_worker(void)
{
	return shim_worker;
}

#endif
