/* SPDX-License-Identifier: MIT */
/*
 * test_engine.c - the engine under concurrency: many threads reading one
 * object through a cache much smaller than the object, sequentially with
 * read-ahead and at random, every byte checked; then a change under an
 * open object gives ESTALE.  Run under ThreadSanitizer by `make test`.
 *
 * With NGINX_URL set (http://127.0.0.1:PORT, serving NGINX_ROOT), the same
 * runs go through the HTTP driver as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/engine.h"
#include "tests/unit/check.h"

#define SIZE ((off_t)24 << 20)
#define THREADS 6

static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned char expected(off_t off)
{
	return (unsigned char)((off * 2654435761u) >> 13);
}

static void write_object(const char *path)
{
	static unsigned char buf[1 << 20];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	for (off_t off = 0; off < SIZE; off += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = expected(off + (off_t)i);
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			abort();
	}
	close(fd);
}

static int verify(const unsigned char *buf, off_t off, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] != expected(off + i))
			return 0;
	return 1;
}

struct reader {
	struct obj *o;
	int sequential;
	unsigned seed;
	int bad;
};

static void *reader(void *arg)
{
	struct reader *r = arg;
	struct prefetch pf = { 0 };
	unsigned char *buf = malloc(300 << 10);

	if (r->sequential) {
		for (off_t off = 0; off < SIZE;) {
			ssize_t n;

			obj_advise(r->o, &pf, off, 128 << 10);
			n = obj_read(r->o, buf, 128 << 10, off);
			if (n <= 0 || !verify(buf, off, n)) {
				r->bad++;
				break;
			}
			off += n;
		}
	} else {
		for (int i = 0; i < 300; i++) {
			size_t len = 1 + rand_r(&r->seed) % (300 << 10);
			off_t off = (off_t)(rand_r(&r->seed) % (unsigned)SIZE);
			ssize_t want = off + (off_t)len > SIZE ? SIZE - off : (ssize_t)len;
			ssize_t n = obj_read(r->o, buf, len, off);

			if (n != want || !verify(buf, off, n))
				r->bad++;
		}
	}
	free(buf);
	return NULL;
}

static void run_readers(struct store *st, const char *key)
{
	struct store_meta meta;
	struct reader rs[THREADS];
	pthread_t tid[THREADS];
	struct obj *o;
	int bad = 0;

	CHECK(obj_stat(st, key, &meta) == 0);
	CHECK(meta.kind == STORE_FILE && meta.size == SIZE);
	CHECK(obj_open(st, key, &meta, NULL, &o) == 0);
	for (int i = 0; i < THREADS; i++) {
		rs[i] = (struct reader){ .o = o, .sequential = i < 2, .seed = 7u * (unsigned)i + 1 };
		pthread_create(&tid[i], NULL, reader, &rs[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		bad += rs[i].bad;
	}
	pthread_mutex_lock(&check_lock);
	CHECK(bad == 0);
	pthread_mutex_unlock(&check_lock);
	obj_close(o);
}

/*
 * An object of its own, that no reader above cached: the read after the
 * change must go to the store (a page the readers left in the cache
 * would answer from the version opened, rightly).
 */
static void check_stale(struct store *st, const char *key, const char *path)
{
	struct store_meta meta;
	unsigned char buf[4096];
	struct obj *o;
	int fd;

	CHECK(obj_stat(st, key, &meta) == 0);
	CHECK(obj_open(st, key, &meta, NULL, &o) == 0);
	CHECK(obj_read(o, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	/* rewrite it elsewhere and rename over: a new version */
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(write(fd, "changed", 7) == 7);
	close(fd);
	CHECK(rename(tmp, path) == 0);
	CHECK(obj_read(o, buf, sizeof(buf), SIZE / 2) == -ESTALE);
	CHECK(obj_read(o, buf, sizeof(buf), 0) == -ESTALE);	/* sticky */
	obj_close(o);
}

static struct store *open_store(const char *url, struct engine_conf *ec)
{
	struct store_conf sc = { .url = (char *)url };
	struct store *st = NULL;
	char err[256];

	if (store_open(&sc, ec, &st, err, sizeof(err)) != 0)
		printf("store_open %s: %s\n", url, err);
	return st;
}

int main(void)
{
	char dir[] = "/tmp/cloudshim-engine-XXXXXX", path[512], stale[512], url[600];
	struct engine_conf ec;
	struct store *st;
	const char *nginx = getenv("NGINX_URL"), *root = getenv("NGINX_ROOT");

	engine_conf_defaults(&ec);
	ec.cache_bytes = 4 << 20;	/* a sixth of the object: eviction all along */
	ec.readahead_max = 2 << 20;
	ec.part_size = 1 << 20;
	ec.connections = 4;
	ec.metadata_ttl_ms = 0;
	engine_configure(&ec);

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/obj", dir);
	write_object(path);
	snprintf(stale, sizeof(stale), "%s/stale", dir);
	write_object(stale);
	snprintf(url, sizeof(url), "file://%s", dir);
	st = open_store(url, &ec);
	CHECK(st != NULL);
	if (st) {
		run_readers(st, "obj");
		check_stale(st, "stale", stale);
		store_close(st);
	}
	unlink(path);
	unlink(stale);
	rmdir(dir);

	if (nginx && root) {
		snprintf(path, sizeof(path), "%s/engine-obj", root);
		write_object(path);
		snprintf(stale, sizeof(stale), "%s/engine-stale", root);
		write_object(stale);
		st = open_store(nginx, &ec);
		CHECK(st != NULL);
		if (st) {
			run_readers(st, "engine-obj");
			check_stale(st, "engine-stale", stale);
			store_close(st);
		}
		unlink(path);
		unlink(stale);
	}
	return check_summary();
}
