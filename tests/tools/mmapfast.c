/* SPDX-License-Identifier: MIT */
/*
 * mmapfast.c - mmap outside the mounts takes no lock and allocates nothing
 * (allocators map memory while they set up, and a wrapper that locks or
 * allocates there deadlocks them), while a mounted descriptor is open.
 * Run with tests/preload/count_calls.so first in LD_PRELOAD, the shim next.
 *
 *   mmapfast MOUNTED_FILE LOCAL_FILE
 */

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long *allocs = dlsym(RTLD_DEFAULT, "count_allocs");
	long *locks = dlsym(RTLD_DEFAULT, "count_locks");
	int mounted = argc == 3 ? open(argv[1], O_RDONLY) : -1;
	int local = argc == 3 ? open(argv[2], O_RDONLY) : -1;
	long a0, l0, a1, l1, bad = 0;

	if (!allocs || !locks || mounted < 0 || local < 0) {
		fprintf(stderr, "mmapfast: run with count_calls.so preloaded, on a mounted and a local file\n");
		return 2;
	}
	a0 = __atomic_load_n(allocs, __ATOMIC_SEQ_CST);
	l0 = __atomic_load_n(locks, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 10000; i++) {
		void *anon = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *file = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, local, 0);

		bad += anon == MAP_FAILED || file == MAP_FAILED;
		if (anon != MAP_FAILED)
			munmap(anon, 1 << 16);
		if (file != MAP_FAILED)
			munmap(file, 4096);
	}
	a1 = __atomic_load_n(allocs, __ATOMIC_SEQ_CST);
	l1 = __atomic_load_n(locks, __ATOMIC_SEQ_CST);
	printf("%s 20,000 anonymous and local mmaps: all mapped\n", bad ? "FAIL" : "ok");
	printf("%s ... with no allocation (%ld)\n", a1 == a0 ? "ok" : "FAIL", a1 - a0);
	printf("%s ... and no mutex taken (%ld)\n", l1 == l0 ? "ok" : "FAIL", l1 - l0);
	/* the counters do see the shim: a mounted file's mapping locks its table */
	void *mm = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, mounted, 0);
	int seen = mm != MAP_FAILED && __atomic_load_n(locks, __ATOMIC_SEQ_CST) > l1;

	printf("%s a mounted file's mapping is counted (the test can see the shim)\n",
	       seen ? "ok" : "FAIL");
	printf("%d passed, %d failed\n", !bad + (a1 == a0) + (l1 == l0) + seen,
	       !!bad + (a1 != a0) + (l1 != l0) + !seen);
	close(mounted);
	close(local);
	return bad || a1 != a0 || l1 != l0 || !seen;
}
