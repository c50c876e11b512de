/* SPDX-License-Identifier: MIT */
/*
 * sharedgen.c - the shared change counter: one 64-bit word in a mapped
 * file, moved with atomic adds that other processes see at once.
 *
 * A bump adds to our own count, then to the shared one; a check that
 * falls between the two sees the counts differ and reports a change that
 * was ours.  That costs requests, never a stale answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/sharedgen.h"

#define COUNTER_BYTES 64	/* a cache line of its own */

static _Atomic uint64_t *shared;	/* [0] store changes, [1] staging entries made */
static _Atomic uint64_t own, seen_shared, seen_own;

int sharedgen_attach(const char *file)
{
	int fd = open(file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat sb;
	void *p;

	if (fd < 0)
		return -errno;
	/* a file shorter than the counter would fault on access: grow it first */
	if (fstat(fd, &sb) != 0 || (sb.st_size < COUNTER_BYTES && ftruncate(fd, COUNTER_BYTES) != 0)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	p = mmap(NULL, COUNTER_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	shared = p;
	atomic_store(&seen_shared, atomic_load(shared));
	atomic_store(&seen_own, atomic_load(&own));
	return 0;
}

void sharedgen_bump(void)
{
	atomic_fetch_add(&own, 1);
	if (shared)
		atomic_fetch_add(shared, 1);
}

int sharedgen_others_changed(void)
{
	uint64_t s, o;

	if (!shared)
		return 0;
	s = atomic_load(shared);
	o = atomic_load(&own);
	if (s - atomic_load(&seen_shared) == o - atomic_load(&seen_own))
		return 0;
	atomic_store(&seen_shared, s);
	atomic_store(&seen_own, o);
	return 1;
}

void sharedgen_entries_bump(void)
{
	if (shared)
		atomic_fetch_add(&shared[1], 1);
}

int sharedgen_entries(uint64_t *count)
{
	if (!shared)
		return -1;
	*count = atomic_load(&shared[1]);
	return 0;
}
