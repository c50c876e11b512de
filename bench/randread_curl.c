/* SPDX-License-Identifier: MIT */
/*
 * randread_curl.c - the baseline of randread.c: the same reads, each one
 * ranged GET with libcurl; every thread keeps its own handle, so its
 * connection stays alive from one read to the next.
 *
 *   randread_curl URL SIZE BLOCK THREADS COUNT SEED [WARM_MB]
 *   -> ops=N bytes=N secs=S iops=X check=HEX
 */
#define _POSIX_C_SOURCE 200809L

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#include "randseq.h"

struct job {
	const char *url;
	const uint64_t *off;
	long warm, count;
	int threads, index;
	size_t block;
	pthread_barrier_t *warmed, *start;
	uint64_t check;
	int failed;
};

/* Where one response body goes; more than was asked for aborts the transfer. */
struct sink {
	unsigned char *buf;
	size_t len, cap;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (len > s->cap - s->len)
		return 0;
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return len;
}

/* GET block i into s->buf; 0 when a 206 brought exactly one block. */
static int get_block(CURL *h, const struct job *j, long i, struct sink *s)
{
	char range[64];
	long code = 0;
	CURLcode rc;

	snprintf(range, sizeof(range), "%llu-%llu",
		 (unsigned long long)j->off[i],
		 (unsigned long long)(j->off[i] + j->block - 1));
	curl_easy_setopt(h, CURLOPT_RANGE, range);
	s->len = 0;
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 206 || s->len != j->block) {
		fprintf(stderr, "randread_curl: range %s: %s, HTTP %ld, %zu bytes\n",
			range, curl_easy_strerror(rc), code, s->len);
		return -1;
	}
	return 0;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	struct sink s = { malloc(j->block), 0, j->block };
	CURL *h = curl_easy_init();

	j->failed = !s.buf || !h;
	if (h) {
		curl_easy_setopt(h, CURLOPT_URL, j->url);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	}
	for (long i = j->index; !j->failed && i < j->warm; i += j->threads)
		j->failed = get_block(h, j, i, &s) != 0;
	pthread_barrier_wait(j->warmed);
	pthread_barrier_wait(j->start);
	for (long i = j->warm + j->index; !j->failed && i < j->warm + j->count; i += j->threads) {
		if (get_block(h, j, i, &s)) {
			j->failed = 1;
			break;
		}
		j->check += randseq_check(s.buf, j->block);
	}
	if (h)
		curl_easy_cleanup(h);
	free(s.buf);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: randread_curl URL SIZE BLOCK THREADS COUNT SEED [WARM_MB]\n");
		return 2;
	}
	uint64_t size = randseq_arg(argv[2], "SIZE");
	uint64_t block = randseq_arg(argv[3], "BLOCK");
	int threads = (int)randseq_arg(argv[4], "THREADS");
	long count = (long)randseq_arg(argv[5], "COUNT");
	uint64_t seed = randseq_arg(argv[6], "SEED");
	long warm = argc == 8 ? randseq_warm_reads(randseq_arg(argv[7], "WARM_MB"), block) : 0;

	if (block > size || threads > 256) {
		fprintf(stderr, "randread_curl: BLOCK %llu or THREADS %d too large\n",
			(unsigned long long)block, threads);
		return 2;
	}
	uint64_t *off = randseq_offsets(size, block, warm, count, seed);
	struct job jobs[256];
	pthread_t tid[256];
	pthread_barrier_t warmed, start;

	if (!off || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "randread_curl: cannot initialise\n");
		return 1;
	}
	pthread_barrier_init(&warmed, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct job){ .url = argv[1], .off = off, .warm = warm, .count = count,
					.threads = threads, .index = t, .block = block,
					.warmed = &warmed, .start = &start };
		if (pthread_create(&tid[t], NULL, worker, &jobs[t]) != 0) {
			fprintf(stderr, "randread_curl: cannot start thread %d\n", t);
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

	free(off);
	curl_global_cleanup();
	if (failed)
		return 1;
	printf("ops=%ld bytes=%llu secs=%.6f iops=%.1f check=%016llx\n", count,
	       (unsigned long long)count * block, secs, (double)count / secs,
	       (unsigned long long)check);
	return 0;
}
