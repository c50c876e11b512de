/* SPDX-License-Identifier: MIT */
/*
 * mounted.h - for the check tools that write under a mounted directory
 * (dir, through the shim) and look at the store's own copy (store, a
 * file:// mount's directory, read without the shim's help).  Included by
 * one program each, which sets dir and store from its arguments.
 */
#ifndef CLOUDSHIM_TESTS_MOUNTED_H
#define CLOUDSHIM_TESTS_MOUNTED_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *dir, *store;

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
