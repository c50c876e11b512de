/* SPDX-License-Identifier: MIT */
/*
 * wrap_wait.c - the wait family and pclose: a child process has ended.
 *
 * A child that ended has made its writes durable (the shim in it waited
 * for its uploads at exit), but this process may still trust answers from
 * before: a stat that found nothing, a listing without the child's files.
 * A child that stages where this process does says so through the count
 * of changes they share (backend/sharedgen.h); one that stages elsewhere
 * does not.  So reaping a child (or seeing it stop) has every cached stat
 * and listing asked again, and a shell's `[ -f /data/out ]` after `cmd >
 * /data/out` is true.  That is two atomic increments, safe in a SIGCHLD
 * handler, where shells and servers reap.
 */
#include "shim/wrap.h"

void reaped_child(void)
{
	if (mounts_active())
		obj_others_changed();
}

EXPORT pid_t wait(int *status)
{
	pid_t pid = REAL(wait)(status);

	if (pid > 0)
		reaped_child();
	return pid;
}

EXPORT pid_t waitpid(pid_t which, int *status, int options)
{
	pid_t pid = REAL(waitpid)(which, status, options);

	if (pid > 0)
		reaped_child();
	return pid;
}

EXPORT pid_t wait3(int *status, int options, struct rusage *usage)
{
	pid_t pid = REAL(wait3)(status, options, usage);

	if (pid > 0)
		reaped_child();
	return pid;
}

EXPORT pid_t wait4(pid_t which, int *status, int options, struct rusage *usage)
{
	pid_t pid = REAL(wait4)(which, status, options, usage);

	if (pid > 0)
		reaped_child();
	return pid;
}

EXPORT int waitid(idtype_t type, id_t id, siginfo_t *info, int options)
{
	int rc = REAL(waitid)(type, id, info, options);

	if (rc == 0 && info && info->si_pid)	/* WNOHANG with none ready leaves it 0 */
		reaped_child();
	return rc;
}

EXPORT int pclose(FILE *stream)
{
	int status = REAL(pclose)(stream);

	reaped_child();
	return status;
}
