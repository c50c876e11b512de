/* SPDX-License-Identifier: MIT */
/*
 * localcalls.c - the shim's cost outside its mounts: open, fstat, read and
 * close one local file ITERATIONS times; prints nanoseconds per iteration,
 * of the wall clock and of the process's own CPU time (which excludes the
 * time other processes sharing its CPU ran).
 *
 *   localcalls PATH ITERATIONS
 *   -> iterations=N secs=S ns_per_iter=X cpu_ns_per_iter=C
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char *end, buf[4096];
	long iters = argc == 3 ? strtol(argv[2], &end, 10) : 0;
	struct stat st;

	if (argc != 3 || *end || iters < 1) {
		fprintf(stderr, "usage: localcalls PATH ITERATIONS\n");
		return 2;
	}
	double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);

	for (long i = 0; i < iters; i++) {
		int fd = open(argv[1], O_RDONLY);

		if (fd < 0 || fstat(fd, &st) != 0 || read(fd, buf, sizeof(buf)) <= 0) {
			fprintf(stderr, "localcalls: %s: %s\n", argv[1],
				errno ? strerror(errno) : "empty file");
			return 1;
		}
		close(fd);
	}
	double secs = now(CLOCK_MONOTONIC) - t0, cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;

	printf("iterations=%ld secs=%.6f ns_per_iter=%.1f cpu_ns_per_iter=%.1f\n", iters, secs,
	       secs * 1e9 / (double)iters, cpu * 1e9 / (double)iters);
	return 0;
}
