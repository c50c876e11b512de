/* SPDX-License-Identifier: MIT */
/*
 * openmany.c - memory with many files open: opens DIR/00.bin ... DIR/NN.bin
 * (COUNT files) at once, reads them round-robin, 1 MiB from each in turn,
 * until every one is at its end, and prints its own peak RSS.
 *
 *   openmany DIR COUNT
 *   -> files=N bytes=N secs=S maxrss_kib=N
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1024 * 1024)
#define MAX_FILES 1000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static int fd[MAX_FILES];
	char *end, path[4096];
	long count = argc == 3 ? strtol(argv[2], &end, 10) : 0;

	if (argc != 3 || *end || count < 1 || count > MAX_FILES) {
		fprintf(stderr, "usage: openmany DIR COUNT (1..%d)\n", MAX_FILES);
		return 2;
	}
	double t0 = now();

	for (long i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%02ld.bin", argv[1], i);
		fd[i] = open(path, O_RDONLY);
		if (fd[i] < 0) {
			fprintf(stderr, "openmany: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	char *buf = malloc(CHUNK);
	unsigned long long total = 0;
	long open_left = count;

	if (!buf)
		return 1;
	while (open_left > 0) {
		for (long i = 0; i < count; i++) {
			if (fd[i] < 0)
				continue;
			ssize_t n = read(fd[i], buf, CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				fprintf(stderr, "openmany: read %02ld.bin: %s\n", i,
					strerror(errno));
				return 1;
			}
			total += (unsigned long long)n;
			if (n == 0) {
				close(fd[i]);
				fd[i] = -1;
				open_left--;
			}
		}
	}
	double secs = now() - t0;
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	free(buf);
	printf("files=%ld bytes=%llu secs=%.6f maxrss_kib=%ld\n", count, total,
	       secs, ru.ru_maxrss);
	return 0;
}
