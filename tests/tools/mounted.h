/* SPDX-License-Identifier: MIT */
/*
 * mounted.h - for the check tools that write under a mounted directory
 * (dir, through the shim) and look at the store's own copy (store, a
 * file:// mount's directory, read without the shim's help).  Included by
 * one program each, which sets dir and store from its arguments.
 */
#ifndef CLOUDSHIM_TESTS_MOUNTED_H
#define CLOUDSHIM_TESTS_MOUNTED_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir, *store;

/* dir/name; two at a time stay valid. */
static inline char *at(const char *name)
{
	static char path[2][4096];
	static int i;

	i ^= 1;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	return path[i];
}

/* dir/name is missing, as this program sees it now. */
static inline int missing(const char *name)
{
	struct stat sb;

	return stat(at(name), &sb) != 0 && errno == ENOENT;
}

/* A listing of dir shows name. */
static inline int listed(const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	while (d && (e = readdir(d)) != NULL)
		found |= strcmp(e->d_name, name) == 0;
	if (d)
		closedir(d);
	return found;
}

/* dir/name holds text, as this program sees it now; why says what it saw. */
static inline int holds(const char *name, const char *text, char *why, size_t n)
{
	char got[64] = "";
	struct stat sb;
	ssize_t k = -1;
	int fd, rc = stat(at(name), &sb);

	if (rc == 0 && (fd = open(at(name), O_RDONLY)) >= 0) {
		k = read(fd, got, sizeof(got) - 1);
		close(fd);
	}
	snprintf(why, n, "%s: stat gave %d (errno %d), size %lld, read %zd bytes \"%s\"", name,
		 rc, rc ? errno : 0, rc ? -1LL : (long long)sb.st_size, k, k > 0 ? got : "");
	return rc == 0 && sb.st_size == (off_t)strlen(text) && k == (ssize_t)strlen(text) &&
	       memcmp(got, text, strlen(text)) == 0;
}

/* This program's own path, to run it again as a child: 0, or -1. */
static inline int self_exe(char *buf, size_t n)
{
	ssize_t k = readlink("/proc/self/exe", buf, n - 1);

	if (k <= 0)
		return -1;
	buf[k] = '\0';
	return 0;
}

extern char **environ;

/*
 * This program again (self), as "self --child dir", its stdin fed from
 * *to and its stdout read from *from: its pid, or -1.
 */
static inline pid_t spawn_child(const char *self, FILE **to, FILE **from)
{
	char *args[] = { (char *)self, "--child", (char *)dir, NULL };
	posix_spawn_file_actions_t fa;
	int in[2], out[2];
	pid_t pid = -1;

	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	if (posix_spawn(&pid, self, &fa, NULL, args, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	*to = fdopen(in[1], "w");
	*from = fdopen(out[0], "r");
	return pid;
}

static inline int open_at(const char *name, int flags)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, flags, 0644);
}

static inline int put(int fd, const char *s)
{
	return write(fd, s, strlen(s)) == (ssize_t)strlen(s);
}

/* The store's copy of name holds exactly len bytes of want (at most 255). */
static inline int landed(const char *name, const char *want, size_t len, char *why, size_t n)
{
	char path[4096], got[256];
	ssize_t k = -1;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", store, name);
	if ((fd = open(path, O_RDONLY)) >= 0) {
		k = read(fd, got, sizeof(got));
		close(fd);
	}
	snprintf(why, n, "the store's %s: %zd bytes (\"%.*s\"), wanted %zu", name, k,
		 k > 0 ? (int)k : 0, got, len);
	return k == (ssize_t)len && memcmp(got, want, len) == 0;
}

#endif
