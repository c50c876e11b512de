/* SPDX-License-Identifier: MIT */
/*
 * randread.c - random preads of one file (through the shim when preloaded):
 * THREADS threads share one fd and read COUNT blocks at the offsets of
 * randseq.h; prints the IOPS and a checksum of the bytes read.
 *
 *   randread PATH SIZE BLOCK THREADS COUNT SEED [WARM_MB]
 *   -> ops=N bytes=N secs=S iops=X check=HEX
 *
 * SIZE must be the file's size (checked with fstat). The clock runs from the
 * moment all threads are ready (and have read their share of WARM_MB) to
 * the last read; open() is not timed.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "randseq.h"

struct job {
	int fd;
	const uint64_t *off;
	long warm, count;
	int threads, index;
	size_t block;
	pthread_barrier_t *warmed, *start;
	uint64_t check;
	int failed;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read all of block i into buf, looping over short reads. */
static int read_block(const struct job *j, long i, unsigned char *buf)
{
	size_t got = 0;

	while (got < j->block) {
		ssize_t n = pread(j->fd, buf + got, j->block - got,
				  (off_t)(j->off[i] + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "randread: pread at %llu: %s\n",
				(unsigned long long)(j->off[i] + got),
				n < 0 ? strerror(errno) : "unexpected end of file");
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	unsigned char *buf = malloc(j->block);

	j->failed = !buf;
	for (long i = j->index; !j->failed && i < j->warm; i += j->threads)
		j->failed = read_block(j, i, buf) != 0;
	pthread_barrier_wait(j->warmed);
	pthread_barrier_wait(j->start);
	for (long i = j->warm + j->index; !j->failed && i < j->warm + j->count; i += j->threads) {
		if (read_block(j, i, buf)) {
			j->failed = 1;
			break;
		}
		j->check += randseq_check(buf, j->block);
	}
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: randread PATH SIZE BLOCK THREADS COUNT SEED [WARM_MB]\n");
		return 2;
	}
	uint64_t size = randseq_arg(argv[2], "SIZE");
	uint64_t block = randseq_arg(argv[3], "BLOCK");
	int threads = (int)randseq_arg(argv[4], "THREADS");
	long count = (long)randseq_arg(argv[5], "COUNT");
	uint64_t seed = randseq_arg(argv[6], "SEED");
	long warm = argc == 8 ? randseq_warm_reads(randseq_arg(argv[7], "WARM_MB"), block) : 0;
	struct stat st;
	int fd = open(argv[1], O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "randread: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if ((uint64_t)st.st_size != size || block > size || threads > 256) {
		fprintf(stderr, "randread: %s is %lld bytes; SIZE %llu BLOCK %llu"
			" THREADS %d do not fit\n", argv[1], (long long)st.st_size,
			(unsigned long long)size, (unsigned long long)block, threads);
		return 1;
	}
	uint64_t *off = randseq_offsets(size, block, warm, count, seed);
	struct job jobs[256];
	pthread_t tid[256];
	pthread_barrier_t warmed, start;

	if (!off) {
		fprintf(stderr, "randread: out of memory\n");
		return 1;
	}
	pthread_barrier_init(&warmed, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct job){ .fd = fd, .off = off, .warm = warm, .count = count,
					.threads = threads, .index = t, .block = block,
					.warmed = &warmed, .start = &start };
		if (pthread_create(&tid[t], NULL, worker, &jobs[t]) != 0) {
			fprintf(stderr, "randread: cannot start thread %d\n", t);
			return 1;
		}
	}
	pthread_barrier_wait(&warmed);
	/* Before the barrier: a thread may finish before main runs again. */
	double t0 = now();
	pthread_barrier_wait(&start);
	uint64_t check = 0;
	int failed = 0;

	for (int t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		check += jobs[t].check;
		failed |= jobs[t].failed;
	}
	double secs = now() - t0;

	close(fd);
	free(off);
	if (failed)
		return 1;
	printf("ops=%ld bytes=%llu secs=%.6f iops=%.1f check=%016llx\n", count,
	       (unsigned long long)count * block, secs, (double)count / secs,
	       (unsigned long long)check);
	return 0;
}
