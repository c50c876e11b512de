/* SPDX-License-Identifier: MIT */
/*
 * test_slab.c - the cache's block buffers: the reserve of touched slabs the
 * helper thread prepares ahead of need, the budget that stops it,
 * recycling, and a forked child.  `make test` runs this under ThreadSanitizer too,
 * without the fork, which that runtime refuses once a thread has run.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/cache.h"
#include "backend/slab.h"
#include "tests/unit/check.h"

#define SLAB		((size_t)2 << 20)
#define BLK		CACHE_BLOCK_SIZE
#define PER_SLAB	((int)(SLAB / BLK))

/* Waits up to 10 s for the reserve to hold want slabs. */
static int reserve_reaches(size_t want)
{
	struct slab_stats st;

	for (int i = 0; i < 10000; i++) {
		slab_get_stats(&st);
		if (st.reserved == want)
			return 1;
		usleep(1000);
	}
	return 0;
}

static size_t mapped(void)
{
	struct slab_stats st;

	slab_get_stats(&st);
	return st.mapped;
}

/* Whether every 4 KiB page of [b, b + len) is in memory. */
static int resident(const char *b, size_t len)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char vec[SLAB / 4096];

	if (ps != 4096 || mincore((void *)b, len, vec) != 0)
		return -1;
	for (size_t i = 0; i < len / 4096; i++)
		if (!(vec[i] & 1))
			return 0;
	return 1;
}

/* The nice value of this process's thread named name, or -100 if none is. */
static int nice_of_thread(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int nice = -100;

	while (d && nice == -100 && (e = readdir(d)) != NULL) {
		char path[64], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%.20s/comm", e->d_name);
		if (e->d_name[0] == '.' || !(f = fopen(path, "r")))
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, name) == 0) {
			errno = 0;
			nice = getpriority(PRIO_PROCESS, (id_t)atoi(e->d_name));
			if (errno)
				nice = -100;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return nice;
}

/* Takes n buffers, writes each through; the last one taken. */
static char *take(int n)
{
	char *b = NULL;

	for (int i = 0; i < n; i++) {
		if (!(b = slab_buffer_get()))
			return NULL;
		memset(b, i, BLK);
	}
	return b;
}

static size_t reserved(void)
{
	struct slab_stats st;

	slab_get_stats(&st);
	return st.reserved;
}

static void test_reserve_and_budget(void)
{
	char *first, *b;

	slab_set_budget(5 * SLAB);
	first = slab_buffer_get();
	CHECK(first != NULL);
	if (!first)
		return;
	/* the first slab was mapped and populated whole by the reader, and timed */
	CHECK(((uintptr_t)first & (SLAB - 1)) == 0 && resident(first, SLAB) == 1);
	CHECK(slab_fresh_ns() > 0);
	/* and nothing more: a cache that has not outgrown one slab may never grow */
	usleep(50000);
	CHECK(reserved() == 0 && mapped() == SLAB);

	/* the rest of it, then a second slab, mapped here: now the helper adds two */
	CHECK(take(PER_SLAB - 1) == first + (PER_SLAB - 1) * BLK);
	b = slab_buffer_get();
	CHECK(b != NULL && ((uintptr_t)b & (SLAB - 1)) == 0);
	/* populated whole by the thread that mapped it, in one call, not page by page */
	CHECK(b && resident(b, SLAB) == 1);
	CHECK(reserve_reaches(2));
	CHECK(mapped() == 4 * SLAB);
	/* and leaves the CPU to the program and its server (see slab.c) */
	CHECK(nice_of_thread("cs-slab") == 19);

	/* the rest of the second, then a buffer from the reserve, already in memory */
	CHECK(b && take(PER_SLAB - 1) == b + (PER_SLAB - 1) * BLK);
	b = slab_buffer_get();
	CHECK(b != NULL && ((uintptr_t)b & (SLAB - 1)) == 0);
	CHECK(b && resident(b, BLK) == 1);

	/* one slab short of the budget: the helper fills the reserve again */
	CHECK(reserve_reaches(2));
	CHECK(mapped() == 5 * SLAB);

	/* at the budget it prepares nothing more, however short the reserve */
	CHECK(take(2 * PER_SLAB - 1) != NULL);
	usleep(50000);
	CHECK(reserve_reaches(1));
	CHECK(mapped() == 5 * SLAB);
}

/* Buffers put back are the next ones out, last in first out; none maps memory. */
static void test_recycling(void)
{
	char *b1 = slab_buffer_get(), *b2 = slab_buffer_get();
	size_t before = mapped();

	CHECK(b1 != NULL && b2 != NULL && b1 != b2);
	if (!b1 || !b2)
		return;
	slab_buffer_put(b1);
	slab_buffer_put(b2);
	CHECK(slab_buffer_get() == b2);
	CHECK(slab_buffer_get() == b1);
	CHECK(mapped() == before);
}

#if !defined(__SANITIZE_THREAD__)
/* A child has no helper of its parent's: it starts its own when needed. */
static void test_fork(void)
{
	pid_t pid;
	int status;

	slab_fork_lock();
	pid = fork();
	if (pid == 0) {
		slab_fork_unlock();
		slab_after_fork_child();
		slab_set_budget(64 * SLAB);
		/*
		 * The parent left 5 slabs mapped, none in reserve, all but 2 buffers in
		 * the newest.  3 slabs' worth more needs 3 new slabs, from the
		 * reserve or mapped on the spot; the child's helper then fills the
		 * reserve: 5 + 3 + 2, each slab counted once.
		 */
		if (!take(3 * PER_SLAB) || !reserve_reaches(2))
			_exit(1);
		_exit(mapped() == 10 * SLAB ? 0 : 2);
	}
	slab_fork_unlock();
	CHECK(pid > 0);
	if (pid > 0) {
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}
#endif

int main(void)
{
	test_reserve_and_budget();
	test_recycling();
#if !defined(__SANITIZE_THREAD__)
	test_fork();
#endif
	return check_summary();
}
