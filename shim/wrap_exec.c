/* SPDX-License-Identifier: MIT */
/*
 * wrap_exec.c - the exec family, posix_spawn, system, popen and vfork.
 *
 * Each puts the shim's variables back into the new program's environment
 * and fills the mounted descriptors it inherits (shim/exec_env.c).  glibc
 * implements execl*, execvp and system on internal calls a preload cannot
 * see, so each public entry point is wrapped by itself.
 *
 * vfork becomes fork: a vfork child shares the parent's memory while it
 * runs our exec wrapper, which must allocate and may fetch; fork makes
 * that safe and is what POSIX allows vfork to be.
 */
#include <spawn.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "shim/exec_env.h"
#include "shim/staged.h"
#include "shim/wrap.h"

extern char **environ;

/*
 * The environment to pass on, with the inherited descriptors filled.
 * replacing: this process image is about to go (exec, not spawn).
 */
static char **prepare_env(char *const envp[], int replacing)
{
	char **env;

	if (!mounts_active() || guard_busy())
		return (char **)envp;
	if (replacing)
		staged_before_exec();
	else
		staged_before_spawn();
	exec_fill_inherited();
	env = exec_env_build(envp);
	return env ? env : (char **)envp;
}

/*
 * Runs call with env standing for the environment built from envp.  An
 * exec that returns failed: the files let go for it are staged again.
 */
#define WITH_ENV(envp, replacing, call) \
	do { \
		char **env = prepare_env(envp, replacing); \
		int rc_ = (call), err_ = errno; \
		if (env != (char **)(envp)) \
			free(env); \
		if (replacing) \
			staged_after_failed_exec(); \
		errno = err_; \
		return rc_; \
	} while (0)

/*
 * The path an exec or spawn of (dirfd, path) gives the kernel, or NULL
 * with errno set for a mounted one: EACCES, as a mounted file has no
 * execute bit (a store keeps none), or stat's errno (ENOENT).  The
 * kernel, which cannot see it, would say ENOENT, or run a local file at
 * the mount's path instead.  A path that climbs out of a mount goes
 * resolved by text.
 */
static const char *exec_path(int dirfd, const char *path, char *buf)
{
	struct stat st;
	const char *key;

	if (!path)
		return path;
	if (!route_following(dirfd, path, buf, &key))
		return kernel_path(path, buf);
	if (fstatat(dirfd, path, &st, 0) == 0)
		errno = EACCES;		/* else stat's errno: ENOENT for a missing one */
	return NULL;
}

/* execvp's and posix_spawnp's file: a path when it has a '/', else a name to search. */
static const char *exec_file(const char *file, char *buf)
{
	return file && strchr(file, '/') ? exec_path(AT_FDCWD, file, buf) : file;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	char buf[PATH_MAX];

	if (!(path = exec_path(AT_FDCWD, path, buf)))
		return -1;
	WITH_ENV(envp, 1, REAL(execve)(path, argv, env));
}

EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	char buf[PATH_MAX];

	if (!(file = exec_file(file, buf)))
		return -1;
	WITH_ENV(envp, 1, REAL(execvpe)(file, argv, env));
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	WITH_ENV(envp, 1, REAL(fexecve)(fd, argv, env));
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		    int flags)
{
	char buf[PATH_MAX];

	if (!(path = exec_path(dirfd, path, buf)))
		return -1;
	WITH_ENV(envp, 1, REAL(execveat)(dirfd, path, argv, env, flags));
}

/* The variadic arguments of execl* up to the NULL, as an argv on the stack. */
#define COLLECT_ARGS(arg, argv, after) \
	size_t n_ = 1; \
	va_list ap_; \
	va_start(ap_, arg); \
	while (va_arg(ap_, char *)) \
		n_++; \
	va_end(ap_); \
	char *argv[n_ + 1]; \
	argv[0] = (char *)(arg); \
	va_start(ap_, arg); \
	for (size_t i_ = 1; i_ <= n_; i_++) \
		argv[i_] = va_arg(ap_, char *); \
	after; \
	va_end(ap_)

EXPORT int execl(const char *path, const char *arg, ...)
{
	COLLECT_ARGS(arg, argv, (void)0);
	return execve(path, argv, environ);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	COLLECT_ARGS(arg, argv, (void)0);
	return execvpe(file, argv, environ);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;

	COLLECT_ARGS(arg, argv, envp = va_arg(ap_, char *const *));
	return execve(path, argv, envp);
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	char buf[PATH_MAX];

	if (!(path = exec_path(AT_FDCWD, path, buf)))
		return errno;
	WITH_ENV(envp, 0, REAL(posix_spawn)(pid, path, fa, attr, argv, env));
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	char buf[PATH_MAX];

	if (!(file = exec_file(file, buf)))
		return errno;
	WITH_ENV(envp, 0, REAL(posix_spawnp)(pid, file, fa, attr, argv, env));
}

/* The child gets this descriptor as it is now: fill it now. */
EXPORT int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
	if (!guard_busy())
		exec_fill_fd(fd);
	return REAL(posix_spawn_file_actions_adddup2)(fa, fd, newfd);
}

/*
 * A file action opening a mounted path: glibc's child opens it with an
 * internal call, so the parent opens it now, fills it, and the action
 * becomes a dup2 of that descriptor, which lives as long as the actions
 * (closed by posix_spawn_file_actions_destroy).  Reading only: a file
 * written by the child must be closed by the child.
 */
struct held {
	const posix_spawn_file_actions_t *fa;
	int fd;
	struct held *next;
};

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static struct held *held;

void spawn_actions_fork_lock(void)
{
	pthread_mutex_lock(&held_lock);
}

void spawn_actions_fork_unlock(void)
{
	pthread_mutex_unlock(&held_lock);
}

EXPORT int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int newfd,
					    const char *path, int flags, mode_t mode)
{
	char buf[PATH_MAX];
	const char *key;
	struct mount *m = route_following(AT_FDCWD, path, buf, &key);
	struct held *h;
	int fd, rc;

	if (!m)
		return REAL(posix_spawn_file_actions_addopen)(fa, newfd, kernel_path(path, buf),
							      flags, mode);
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))
		return ENOTSUP;
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return errno;
	exec_fill_fd(fd);
	h = malloc(sizeof(*h));
	rc = h ? posix_spawn_file_actions_adddup2(fa, fd, newfd) : ENOMEM;
	if (rc) {
		free(h);
		close(fd);
		return rc;
	}
	*h = (struct held){ fa, fd, NULL };
	pthread_mutex_lock(&held_lock);
	h->next = held;
	held = h;
	pthread_mutex_unlock(&held_lock);
	return 0;
}

EXPORT int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa)
{
	struct held **p = &held, *gone = NULL;

	pthread_mutex_lock(&held_lock);
	while (*p) {
		if ((*p)->fa == fa) {
			struct held *h = *p;

			*p = h->next;
			h->next = gone;
			gone = h;
		} else {
			p = &(*p)->next;
		}
	}
	pthread_mutex_unlock(&held_lock);
	while (gone) {
		struct held *h = gone;

		gone = h->next;
		close(h->fd);
		free(h);
	}
	return REAL(posix_spawn_file_actions_destroy)(fa);
}

static void prepare_environ(void)
{
	if (!mounts_active() || guard_busy())
		return;
	staged_before_spawn();
	exec_fill_inherited();
	exec_env_fix_environ();
}

EXPORT int system(const char *cmd)
{
	int status;

	prepare_environ();
	status = REAL(system)(cmd);
	reaped_child();		/* glibc waits for it inside, unseen */
	return status;
}

EXPORT FILE *popen(const char *cmd, const char *mode)
{
	prepare_environ();
	return REAL(popen)(cmd, mode);
}

EXPORT pid_t vfork(void)
{
	return fork();
}
