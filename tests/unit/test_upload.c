/* SPDX-License-Identifier: MIT */
/*
 * test_upload.c - the uploader against a file:// store: small files as one
 * put, a 26 MiB file as a multipart upload in parallel parts, eight
 * uploads at once (run under ThreadSanitizer by `make test`), read your
 * own writes while one is in flight, and a failed upload: its bytes and
 * journal entry kept in the recovery directory, then sent again by
 * recover_dir as `cloudshim sync` does, byte for byte.  Upload workers
 * run at the lowest CPU priority.  Views of another process's uploads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/engine.h"
#include "backend/journal.h"
#include "backend/recover.h"
#include "backend/upload.h"
#include "tests/unit/check.h"
#include "tests/unit/pattern.h"

static char root[64], staging[128], recovery[128], url[128];

/* A staged file of size bytes with its journal entry, as shim/stage.c makes them. */
static int stage(const char *name, const char *key, off_t size, unsigned seed, char *data,
		 char *journal)
{
	static unsigned char buf[1 << 16];
	struct journal_entry e = { .path = (char *)key, .url = url, .key = (char *)key, .size = -1 };
	int fd;

	snprintf(data, 256, "%s/%s", staging, name);
	snprintf(journal, 256, "%s/%s.json", staging, name);
	fd = open(data, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (off_t off = 0; off < size; off += (off_t)sizeof(buf)) {
		size_t n = size - off < (off_t)sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

		pattern_fill(buf, n, seed, off);
		if (write(fd, buf, n) != (ssize_t)n)
			abort();
	}
	if (journal_write(journal, &e) != 0)
		abort();
	return fd;
}

/* The object key in the store holds exactly the bytes staged with seed. */
static int stored_right(const char *key, off_t size, unsigned seed)
{
	return pattern_stored(root, key, size, seed, 0, NULL);
}

static struct upload *start(struct store *st, const char *key, int fd, const char *data,
			    const char *journal)
{
	struct upload_req req = { .st = st, .key = key, .path = key, .fd = fd, .staged = data,
				  .journal = journal, .hold_fd = -1 };
	struct upload *u = NULL;

	CHECK(upload_start(&req, &u) == 0);
	return u;
}

static void test_puts(struct store *st)
{
	char data[8][256], journal[8][256], key[8][32];
	struct upload *u[8];
	struct store_meta meta;
	char staged[256];

	for (int i = 0; i < 8; i++) {
		off_t size = i == 7 ? (off_t)26 << 20 : 100000 + i;
		int fd;

		snprintf(key[i], sizeof(key[i]), "dir/f%d.bin", i);
		fd = stage(key[i] + 4, key[i], size, (unsigned)i, data[i], journal[i]);
		u[i] = start(st, key[i], fd, data[i], journal[i]);
	}
	/* in flight or done: either way stat sees the new size */
	CHECK(upload_pending(st, key[7], &meta, staged, sizeof(staged)) == 0 ||
	      (meta.size == (off_t)26 << 20 && strcmp(staged, data[7]) == 0));
	for (int i = 0; i < 8; i++) {
		CHECK(upload_wait(u[i]) == 0);
		upload_put(u[i]);
		CHECK(stored_right(key[i], i == 7 ? (off_t)26 << 20 : 100000 + i, (unsigned)i));
		CHECK(access(data[i], F_OK) != 0);	/* durable: staged copy gone */
		CHECK(access(journal[i], F_OK) != 0);
	}
	CHECK(upload_pending(st, key[0], &meta, staged, sizeof(staged)) == 0);
	CHECK(obj_stat(st, key[7], &meta) == 0 && meta.size == (off_t)26 << 20);
	CHECK(upload_drain() == 0);
}

static void count_pending(void *arg, struct store *st, const char *key,
			  const struct store_meta *meta, const char *staged, const char *journal)
{
	if (strcmp(key, "view/a.bin") == 0 && meta->size == 5000)
		(*(int *)arg)++;
}

static atomic_int settled;

static void *settle_thread(void *arg)
{
	struct store *st = arg;

	upload_settle(st, "view/a.bin");
	atomic_store(&settled, 1);
	return NULL;
}

/*
 * Views: another process's upload in flight.  Read your own writes shows
 * its staged file while it exists; a delete waits while that process
 * holds the journal entry (a lock, held here by a child), and not once
 * the staged file is gone.
 */
static void test_views(struct store *st)
{
	struct store_meta meta = { .kind = STORE_FILE, .size = 5000 }, got;
	char data[256], journal[256], staged[256], go = 0;
	int fd = stage("view-a", "view/a.bin", 5000, 7, data, journal), n = 0, ready[2], release[2];
	pthread_t t;
	pid_t child;

	close(fd);
	CHECK(upload_pending(st, "view/a.bin", &got, staged, sizeof(staged)) == 0);
	upload_view_add(st, "view/a.bin", &meta, data, journal);
	CHECK(upload_pending(st, "view/a.bin", &got, staged, sizeof(staged)) == 1);
	CHECK(got.size == 5000 && strcmp(staged, data) == 0);
	upload_each_pending(count_pending, &n);
	CHECK(n == 1);
	upload_settle(st, "view/a.bin");	/* nobody holds the entry: at once */

	/* a child holds the entry as an uploading process does */
	CHECK(pipe(ready) == 0 && pipe(release) == 0);
	child = fork();
	if (child == 0) {
		struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_len = 1 };
		int jfd = open(journal, O_RDWR);

		if (jfd < 0 || fcntl(jfd, F_SETLK, &fl) != 0 || write(ready[1], "r", 1) != 1 ||
		    read(release[0], &go, 1) != 1)
			_exit(1);
		_exit(0);
	}
	CHECK(child > 0 && read(ready[0], &go, 1) == 1);
	CHECK(pthread_create(&t, NULL, settle_thread, st) == 0);
	nanosleep(&(struct timespec){ 0, 200 * 1000000L }, NULL);
	CHECK(!atomic_load(&settled));	/* it cannot return before the file goes */
	/* its upload lands: the staged file goes, then the entry is let go */
	CHECK(unlink(data) == 0);
	CHECK(write(release[1], "g", 1) == 1);
	CHECK(pthread_join(t, NULL) == 0 && atomic_load(&settled));
	CHECK(waitpid(child, NULL, 0) == child);
	CHECK(upload_pending(st, "view/a.bin", &got, staged, sizeof(staged)) == 0);
	n = 0;
	upload_each_pending(count_pending, &n);
	CHECK(n == 0);
	unlink(journal);
	close(ready[0]);
	close(ready[1]);
	close(release[0]);
	close(release[1]);
}

/* The nice value of each of this process's threads named NAME; -1 at the end. */
static int thread_nices(const char *name, int *nices, int max)
{
	char path[300], comm[32], stat[512];
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	while (d && (e = readdir(d)) && n < max) {
		FILE *f;
		char *close_paren;
		int nice = 0;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		comm[strcspn(comm, "\n")] = 0;
		if (strcmp(comm, name) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		/* after "(comm) ": state and 15 more fields, then priority and nice */
		if (fgets(stat, sizeof(stat), f) && (close_paren = strrchr(stat, ')')) &&
		    sscanf(close_paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u"
			   " %*u %*u %*d %*d %*d %d", &nice) == 1)
			nices[n++] = nice;
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* Upload workers run at the lowest priority, and only they do. */
static void test_background_priority(void)
{
	int nices[64], n = thread_nices("cs-upload", nices, 64), low = 0;

	CHECK(n == 4);		/* ec.connections */
	for (int i = 0; i < n; i++)
		low += nices[i] == 19;
	CHECK(low == n);
	CHECK(getpriority(PRIO_PROCESS, 0) == 0);	/* the main thread */
}

static void test_failure_and_recovery(struct store *st)
{
	char data[256], journal[256], kept[256], sub[128];
	struct journal_entry e;
	struct recover_result r;
	struct upload *u;
	int fd;

	/* the key's directory is a file: the store cannot put it there */
	snprintf(sub, sizeof(sub), "%s/blocked", root);
	fd = open(sub, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	close(fd);
	fd = stage("w-fail", "blocked/x.bin", 300000, 7, data, journal);
	u = start(st, "blocked/x.bin", fd, data, journal);
	CHECK(upload_wait(u) != 0);
	upload_put(u);
	CHECK(upload_drain() == 1);
	snprintf(kept, sizeof(kept), "%s/w-fail", recovery);
	CHECK(access(kept, F_OK) == 0);
	CHECK(access(data, F_OK) != 0);
	snprintf(kept, sizeof(kept), "%s/w-fail.json", recovery);
	CHECK(journal_read(kept, &e) == 0);
	CHECK(e.size == 300000 && strlen(e.md5) == 32 && e.error && strcmp(e.key, "blocked/x.bin") == 0);
	journal_free(&e);

	/* a store for another URL: skipped, kept */
	r = recover_dir(recovery, NULL, 0, stdout);
	CHECK(r.sent == 0 && r.skipped == 1);
	CHECK(access(kept, F_OK) == 0);

	/* the way clear again: sent, byte for byte, and the entry gone */
	unlink(sub);
	r = recover_dir(recovery, &st, 1, stdout);
	CHECK(r.sent == 1 && r.failed == 0 && r.skipped == 0);
	CHECK(stored_right("blocked/x.bin", 300000, 7));
	CHECK(access(kept, F_OK) != 0);
}

int main(void)
{
	struct store_conf sc = { 0 };
	struct engine_conf ec;
	struct store *st;
	char err[256], cmd[512];

	snprintf(root, sizeof(root), "/tmp/cloudshim-upload-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	snprintf(staging, sizeof(staging), "%s-staging", root);
	snprintf(recovery, sizeof(recovery), "%s-recovery", root);
	mkdir(staging, 0700);
	engine_conf_defaults(&ec);
	ec.recovery_dir = recovery;
	ec.connections = 4;
	engine_configure(&ec);
	snprintf(url, sizeof(url), "file://%s", root);
	sc.url = url;
	if (store_open(&sc, &ec, &st, err, sizeof(err)) != 0) {
		printf("FAIL store_open: %s\n", err);
		return 1;
	}
	CHECK(strcmp(upload_recovery_dir(), recovery) == 0);
	test_puts(st);
	test_background_priority();
	test_views(st);
	test_failure_and_recovery(st);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s'", root, staging, recovery);
	if (system(cmd) != 0)
		printf("could not remove %s\n", root);
	return check_summary();
}
