/* SPDX-License-Identifier: MIT */
/*
 * writebench.c - the writer of bench/write.sh: the same bytes, the same
 * calls, whether the destination is tmpfs or a mounted path.
 *
 *   writebench seq SRC DST BS_KB      writes SRC's bytes to DST in BS_KB writes
 *   writebench many SRC DIR N SIZE_KB writes N files DIR/fNNNNN of SIZE_KB each,
 *                                     file i taking SRC's bytes from i * SIZE_KB
 *
 * SRC is mapped and read into memory before the clock starts, so only the
 * writing is timed.  Prints "t0_epoch=... open_s=... write_s=...
 * close_s=..." (when the first open was called, as a Unix time, and
 * seconds from then to that open returning (seq only), to the last write
 * returning and to the last close returning).  What happens
 * after close (the shim's uploads at exit) is the caller's to time: from
 * t0_epoch to the moment the process has exited.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "writebench: %s %s: %m\n", what, arg);
	exit(1);
}

static double epoch(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const unsigned char *load(const char *src, size_t *len)
{
	struct stat sb;
	int fd = open(src, O_RDONLY);
	unsigned char *p;
	volatile unsigned char sum = 0;

	if (fd < 0 || fstat(fd, &sb) != 0)
		die("open", src);
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap", src);
	close(fd);
	for (off_t i = 0; i < sb.st_size; i += 4096)
		sum += p[i];	/* every page in memory before the clock starts */
	*len = (size_t)sb.st_size;
	return p;
}

static void write_all(int fd, const unsigned char *p, size_t n, size_t bs, const char *dst)
{
	while (n > 0) {
		size_t k = n < bs ? n : bs;
		ssize_t w = write(fd, p, k);

		if (w <= 0)
			die("write", dst);
		p += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	const unsigned char *src;
	size_t len;
	double t0, t_open = 0, t_write, t_close, e0;

	if (argc == 5 && strcmp(argv[1], "seq") == 0) {
		size_t bs = (size_t)atol(argv[4]) << 10;
		int fd;

		src = load(argv[2], &len);
		e0 = epoch();
		t0 = now();
		fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die("open", argv[3]);
		t_open = now();
		write_all(fd, src, len, bs ? bs : 1 << 20, argv[3]);
		t_write = now();
		if (close(fd) != 0)
			die("close", argv[3]);
		t_close = now();
	} else if (argc == 6 && strcmp(argv[1], "many") == 0) {
		long n = atol(argv[4]);
		size_t size = (size_t)atol(argv[5]) << 10;
		char path[4096];

		src = load(argv[2], &len);
		if (size == 0 || (size_t)n * size > len) {
			fprintf(stderr, "writebench: %s holds %zu bytes, fewer than %ld x %zu\n",
				argv[2], len, n, size);
			return 1;
		}
		e0 = epoch();
		t0 = now();
		for (long i = 0; i < n; i++) {
			int fd;

			snprintf(path, sizeof(path), "%s/f%05ld", argv[3], i);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0)
				die("open", path);
			write_all(fd, src + (size_t)i * size, size, size, path);
			if (close(fd) != 0)
				die("close", path);
		}
		t_open = t0;
		t_write = t_close = now();
	} else {
		fprintf(stderr, "usage: writebench seq SRC DST BS_KB | many SRC DIR N SIZE_KB\n");
		return 2;
	}
	printf("t0_epoch=%.6f open_s=%.6f write_s=%.6f close_s=%.6f\n", e0, t_open - t0,
	       t_write - t0, t_close - t0);
	fflush(stdout);
	return 0;
}
