/* SPDX-License-Identifier: MIT */
/*
 * test_stream.c - the part layout, and streams (files sent while they are
 * written) against a file:// store: parts go out before the file is
 * sealed, once its writer's burst is over or it ran the hold (an eighth
 * of the staging file system at most) past; a
 * write into a part sent sends it again; a staging file system
 * short of space gets parts dropped from the staged file with the writer
 * held back, so 120 MiB pass through a 40 MiB tmpfs, while a roomy one
 * (512 MiB) keeps every byte (both mounted here: the test runs as root,
 * as `make test` does); a write into a dropped part
 * gives ENOSPC; truncation; a stream that shrinks back to one PUT; a
 * failed stream kept with its parts, and `cloudshim sync` resuming a
 * multipart upload from a kept entry; the parts dropped recorded in the
 * staging entry, and sync completing the file of a writer killed with
 * parts dropped; a writer that runs short of space while the store is
 * still beginning the multipart upload waits for it.
 * Run under ThreadSanitizer too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/engine.h"
#include "backend/journal.h"
#include "backend/partplan.h"
#include "backend/recover.h"
#include "backend/store_int.h"
#include "backend/upload.h"
#include "backend/upload_int.h"
#include "tests/unit/check.h"
#include "tests/unit/pattern.h"

#define MiB ((off_t)1 << 20)
#define BASE (5 * MiB)		/* the smallest part S3 takes */

static char root[64], staging[128], small[128], recovery[128], url[128];

/* key in the store holds size bytes: seed's pattern, but patch at patch_off. */
static int stored_right(const char *key, off_t size, unsigned seed, off_t patch_off,
			const char *patch)
{
	return pattern_stored(root, key, size, seed, patch_off, patch);
}

/* A new staged file in dir with its journal entry; its descriptor. */
static int stage(const char *dir, const char *name, const char *key, char *data, char *journal)
{
	struct journal_entry e = { .path = (char *)key, .url = url, .key = (char *)key, .size = -1 };

	snprintf(data, 256, "%s/%s", dir, name);
	snprintf(journal, 256, "%s/%s.json", dir, name);
	if (journal_write(journal, &e) != 0)
		abort();
	return open(data, O_RDWR | O_CREAT | O_TRUNC, 0600);
}

/* A stream of the staged file fd; drops are recorded through journal_fd (-1: not). */
static struct upload *stream_with(struct store *st, const char *key, int fd, const char *data,
				  const char *journal, int journal_fd)
{
	struct upload_req req = { .st = st, .key = key, .path = key, .fd = dup(fd),
				  .staged = data, .journal = journal, .hold_fd = -1,
				  .journal_fd = journal_fd };

	return upload_stream(&req);
}

static struct upload *stream_of(struct store *st, const char *key, int fd, const char *data,
				const char *journal)
{
	return stream_with(st, key, fd, data, journal, -1);
}

/*
 * The parts journal records as dropped (in the order they were dropped,
 * not always by number) are exactly the parts of the staged file fd that
 * are holes, and there is at least one.
 */
static int drops_recorded(const char *journal, int fd)
{
	static char listed[1024];
	struct journal_entry e;
	struct stat sb;
	int ok, holes = 0;

	if (journal_read(journal, &e) != 0 || fstat(fd, &sb) != 0)
		return 0;
	memset(listed, 0, sizeof(listed));
	ok = e.upload_id && e.part_base == BASE;
	for (int k = 0; ok && k < e.nparts; k++) {
		const struct journal_part *p = &e.parts[k];

		ok = p->n >= 1 && p->n < (int)sizeof(listed) && !listed[p->n] &&
		     p->len == partplan_size(BASE, p->n) && p->etag[0];
		if (ok)
			listed[p->n] = 1;
	}
	for (int n = 1; ok && partplan_start(BASE, n) < sb.st_size; n++) {
		off_t start = partplan_start(BASE, n), end = start + partplan_size(BASE, n);
		off_t data = lseek(fd, start, SEEK_DATA);
		int hole = end <= sb.st_size && (data < 0 || data >= end);

		holes += hole;
		ok = hole == listed[n];
	}
	ok = ok && holes > 0 && holes == e.nparts;
	if (!ok)
		printf("# %s: %d parts recorded, %d holes\n", journal, e.nparts, holes);
	journal_free(&e);
	return ok;
}

/* Writes [off, off+len) of seed's pattern in 1 MiB writes, as a writer would. */
static int write_pattern(struct upload *u, int fd, unsigned seed, off_t off, off_t len)
{
	static unsigned char buf[1 << 20];

	for (off_t done = 0; done < len; done += (off_t)sizeof(buf)) {
		size_t n = len - done < (off_t)sizeof(buf) ? (size_t)(len - done) : sizeof(buf);

		pattern_fill(buf, n, seed, off + done);
		if (upload_stream_check(u, off + done, (off_t)n) != 0 ||
		    pwrite(fd, buf, n, off + done) != (ssize_t)n)
			return -1;
		upload_stream_wrote(u, off + done, (off_t)n);
	}
	return 0;
}

/* Part files of the store's multipart uploads in flight. */
static int parts_in_store(void)
{
	char dir[256];
	DIR *d, *sub;
	struct dirent *de, *pe;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/.cloudshim-mpu", root);
	if (!(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		char path[512];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!(sub = opendir(path)))
			continue;
		while ((pe = readdir(sub)))
			n += strspn(pe->d_name, "0123456789") == strlen(pe->d_name);	/* "00001" */
		closedir(sub);
	}
	closedir(d);
	return n;
}

static int wait_parts(int want)
{
	int n;

	for (int i = 0; i < 1000 && parts_in_store() < want; i++)
		usleep(10000);
	n = parts_in_store();
	if (n != want)
		printf("# %d parts in the store, want %d\n", n, want);
	return n;
}

static int seal_and_wait(struct upload *u)
{
	struct upload *sealed;
	int rc;

	upload_seal(u, -1, 0, &sealed);
	if (!sealed)
		return -999;
	rc = upload_wait(sealed);
	upload_put(sealed);
	return rc;
}

static void test_partplan(void)
{
	off_t base = 8 * MiB;

	CHECK(partplan_size(base, 1) == base && partplan_size(base, 1000) == base);
	CHECK(partplan_size(base, 1001) == 2 * base && partplan_size(base, 9001) == 512 * base);
	CHECK(partplan_start(base, 1) == 0 && partplan_start(base, 2) == base);
	CHECK(partplan_start(base, 1001) == 1000 * base);
	CHECK(partplan_start(base, 2001) == 1000 * base + 2000 * base);
	for (int n = 1; n <= 10000; n += 333) {
		off_t start = partplan_start(base, n);

		CHECK(partplan_index(base, start) == n);
		CHECK(partplan_index(base, start + partplan_size(base, n) - 1) == n);
	}
	CHECK(partplan_len(base, 1, 3 * base) == base && partplan_len(base, 3, 3 * base) == base);
	CHECK(partplan_len(base, 2, base + 7) == 7 && partplan_len(base, 1001, 1000 * base + 5) == 5);
	CHECK(partplan_count(base, 0) == 0 && partplan_count(base, 1) == 1);
	CHECK(partplan_count(base, base) == 1 && partplan_count(base, base + 1) == 2);
	/* S3's largest object, 5 TiB, in at most 10,000 parts; no part over 5 GiB */
	CHECK(partplan_count(base, (off_t)5 << 40) > 0 && partplan_count(base, (off_t)5 << 40) <= 10000);
	CHECK(partplan_size(base, 10000) <= STORE_PUT_MAX);
	CHECK(partplan_count(base, (off_t)9 << 40) == -EFBIG);
	CHECK(partplan_count(512 * MiB, (off_t)5 << 40) > 0);
	CHECK(partplan_size(512 * MiB, 10000) == STORE_PUT_MAX);
}

/* Parts leave while the file is written (its writer paused); a part written again goes again. */
static void test_stream_sends_early(struct store *st)
{
	char data[256], journal[256];
	int fd = stage(staging, "s-early", "early.bin", data, journal);
	struct upload *u = stream_of(st, "early.bin", fd, data, journal);

	CHECK(u != NULL);
	CHECK(write_pattern(u, fd, 1, 0, 8 * BASE) == 0);
	/* 8 whole parts settled, the burst over: all sent before the file is complete */
	CHECK(wait_parts(8) == 8);
	CHECK(upload_stream_holes(u) == 0);	/* plenty of space: nothing dropped */
	/* a header patched at the start, as zip writers do */
	CHECK(upload_stream_check(u, 1000, 5) == 0);
	CHECK(pwrite(fd, "PATCH", 5, 1000) == 5);
	upload_stream_wrote(u, 1000, 5);
	CHECK(write_pattern(u, fd, 1, 8 * BASE, 3 * MiB) == 0);
	close(fd);
	CHECK(seal_and_wait(u) == 0);
	CHECK(stored_right("early.bin", 8 * BASE + 3 * MiB, 1, 1000, "PATCH"));
	CHECK(access(data, F_OK) != 0 && access(journal, F_OK) != 0);
	CHECK(parts_in_store() == 0);
}

/*
 * A writer in a burst keeps its parts (at 1 byte a second every writer is
 * in one) but those it ran the hold past; once the burst is over (the
 * default rate: the writer paused) the rest go before the file is sealed.
 */
static void test_stream_burst_held(struct store *st)
{
	char data[256], journal[256];
	int fd = stage(staging, "s-burst", "burst.bin", data, journal);
	struct upload *u = stream_of(st, "burst.bin", fd, data, journal);

	CHECK(u != NULL);
	upload_stream_pace(10, 1, 3 * BASE);
	CHECK(write_pattern(u, fd, 12, 0, 8 * BASE) == 0);
	CHECK(wait_parts(5) == 5);		/* 8 settled, 3 held */
	usleep(300000);				/* 30 looks of the pacer */
	CHECK(parts_in_store() == 5);
	upload_stream_pace(10, 0, 0);
	CHECK(wait_parts(8) == 8);
	upload_stream_pace(0, 0, 0);
	CHECK(write_pattern(u, fd, 12, 8 * BASE, MiB) == 0);
	close(fd);
	CHECK(seal_and_wait(u) == 0);
	CHECK(stored_right("burst.bin", 8 * BASE + MiB, 12, 0, NULL));
}

/* On the 40 MiB staging file system a burst holds an eighth of it: one part. */
static void test_stream_hold_share(struct store *st)
{
	char data[256], journal[256];
	int fd = stage(small, "s-share", "share.bin", data, journal);
	struct upload *u = stream_of(st, "share.bin", fd, data, journal);

	CHECK(u != NULL);
	upload_stream_pace(10, 1, 0);
	CHECK(write_pattern(u, fd, 13, 0, 4 * BASE) == 0);
	CHECK(wait_parts(3) == 3);		/* 4 settled, 1 held */
	usleep(300000);
	CHECK(parts_in_store() == 3);
	upload_stream_pace(0, 0, 0);
	close(fd);
	CHECK(seal_and_wait(u) == 0);
	CHECK(stored_right("share.bin", 4 * BASE, 13, 0, NULL));
}

/* Through a staging file system a third of the file's size. */
static void test_stream_short_of_space(struct store *st)
{
	char data[256], journal[256];
	int fd = stage(small, "s-big", "big.bin", data, journal), ok = 1;
	int jfd = open(journal, O_RDWR);
	struct upload *u = stream_with(st, "big.bin", fd, data, journal, jfd);
	struct statvfs v;
	static unsigned char buf[1 << 20];
	off_t off;

	upload_stream_pace(10, 1, 0);	/* every writer is in a burst: space must release it */
	for (off = 0; off < 120 * MiB && ok; off += MiB) {
		pattern_fill(buf, sizeof(buf), 2, off);
		ok = upload_stream_check(u, off, MiB) == 0 && pwrite(fd, buf, MiB, off) == MiB;
		upload_stream_wrote(u, off, MiB);
	}
	upload_stream_pace(0, 0, 0);
	CHECK(ok);		/* no ENOSPC: the writer was held back instead */
	CHECK(upload_stream_holes(u) == 1);
	CHECK(statvfs(small, &v) == 0 && v.f_bavail > 0);
	/* what was dropped cannot be changed, nor cut inside; the tail can */
	CHECK(upload_stream_check(u, 10, 5) == -ENOSPC);
	CHECK(upload_stream_check(u, BASE + 7, 0) == -ENOSPC);
	CHECK(upload_stream_check(u, 120 * MiB - 10, 5) == 0);
	/* each part dropped was recorded in the entry before its bytes went */
	CHECK(drops_recorded(journal, fd));
	close(fd);
	CHECK(seal_and_wait(u) == 0);
	close(jfd);
	CHECK(stored_right("big.bin", 120 * MiB, 2, 0, NULL));
	CHECK(access(data, F_OK) != 0);
}

/*
 * fsync of a stream that dropped parts (a seal as a snapshot) completes
 * its upload, and the file stays staged: its entry forgets the parts, so
 * that sync never tries to resume an upload that is over.
 */
static void test_stream_synced_forgets_drops(struct store *st)
{
	char data[256], journal[256];
	int fd = stage(small, "s-synced", "synced.bin", data, journal);
	int jfd = open(journal, O_RDWR);
	struct upload *u = stream_with(st, "synced.bin", fd, data, journal, jfd), *sealed;
	struct journal_entry e;

	upload_stream_pace(10, 1, 0);
	CHECK(write_pattern(u, fd, 15, 0, 60 * MiB) == 0);
	upload_stream_pace(0, 0, 0);
	CHECK(drops_recorded(journal, fd));
	upload_seal(u, -1, 1, &sealed);
	CHECK(sealed && upload_wait(sealed) == 0);
	upload_put(sealed);
	CHECK(stored_right("synced.bin", 60 * MiB, 15, 0, NULL));
	CHECK(access(data, F_OK) == 0);		/* a snapshot: still staged */
	CHECK(journal_read(journal, &e) == 0 && !e.upload_id && e.nparts == 0);
	CHECK(e.path && strcmp(e.path, "synced.bin") == 0);
	journal_free(&e);
	close(jfd);
	close(fd);
	unlink(data);
	unlink(journal);
}

/*
 * A store slow to begin a multipart upload: its begin returns only once
 * the small staging file system is full, or two seconds after it ran
 * short of space.  A writer not held back meanwhile fills it: ENOSPC.
 */
static const struct store_driver *file_driver;

static int slow_mpu_begin(struct store *st, const char *key, char **upload_id)
{
	struct statvfs v;
	int short_ms = 0;

	for (int i = 0; i < 30000 && short_ms < 2000; i++) {
		if (statvfs(small, &v) != 0 || v.f_bavail == 0)
			break;
		short_ms += v.f_bavail < v.f_blocks / 4;
		usleep(1000);
	}
	return file_driver->mpu_begin(st, key, upload_id);
}

static void test_stream_slow_begin(struct store *st)
{
	struct store_driver slow;
	char data[256], journal[256];
	int fd = stage(small, "s-slow", "slow.bin", data, journal);
	struct upload *u;

	file_driver = st->drv;
	slow = *file_driver;
	slow.mpu_begin = slow_mpu_begin;
	st->drv = &slow;
	u = stream_of(st, "slow.bin", fd, data, journal);
	CHECK(write_pattern(u, fd, 9, 0, 80 * MiB) == 0);	/* held back, no ENOSPC */
	close(fd);
	CHECK(seal_and_wait(u) == 0);
	st->drv = file_driver;
	CHECK(stored_right("slow.bin", 80 * MiB, 9, 0, NULL));
}

/*
 * Parts sent while the program writes go out at the lowest priority; once
 * it waits for the upload, those still to send go out at the waiting
 * thread's.  Parts at the lowest priority are held at a gate that opens
 * once the waiter's workers exist, that is once the wait has begun: so
 * the wait begins with parts queued.  Runs first: no earlier wait in this
 * process has started those workers.
 */
static atomic_int sent_low, sent_own, gate_open;
static int own_nice;

static int noted_mpu_part(struct store *st, const char *key, const char *upload_id, int part,
			  const struct store_body *body, char etag[STORE_ETAG_MAX])
{
	int nice = getpriority(PRIO_PROCESS, (id_t)gettid());

	if (nice == own_nice)
		atomic_fetch_add(&sent_own, 1);
	else if (nice == 19)
		atomic_fetch_add(&sent_low, 1);
	while (nice == 19 && !atomic_load(&gate_open))
		usleep(1000);
	return file_driver->mpu_part(st, key, upload_id, part, body, etag);
}

/* Whether a thread of this process is named name. */
static int thread_named(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int found = 0;

	while (d && !found && (e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if (e->d_name[0] == '.' || !(f = fopen(path, "r")))
			continue;
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
		found = strcmp(comm, name) == 0;
	}
	if (d)
		closedir(d);
	return found;
}

/* Opens the gate once the waiter's workers exist (10 s at most: no hang). */
static void *open_gate(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10000 && !thread_named("cs-upload-now"); i++)
		usleep(1000);
	atomic_store(&gate_open, 1);
	return NULL;
}

static void test_stream_waiter_priority(struct store *st)
{
	struct store_driver noted;
	char data[256], journal[256];
	int fd = stage(staging, "s-prio", "prio.bin", data, journal);
	struct upload *u;
	pthread_t gate;

	own_nice = getpriority(PRIO_PROCESS, (id_t)gettid());
	CHECK(own_nice != 19);
	CHECK(!thread_named("cs-upload-now"));
	if (pthread_create(&gate, NULL, open_gate, NULL) != 0)
		return;
	file_driver = st->drv;
	noted = *file_driver;
	noted.mpu_part = noted_mpu_part;
	st->drv = &noted;
	u = stream_of(st, "prio.bin", fd, data, journal);
	CHECK(write_pattern(u, fd, 11, 0, 12 * BASE) == 0);
	/* the writer pauses: its burst is over, parts go at the lowest priority */
	for (int i = 0; i < 10000 && !atomic_load(&sent_low); i++)
		usleep(1000);
	close(fd);
	CHECK(seal_and_wait(u) == 0);
	pthread_join(gate, NULL);
	st->drv = file_driver;
	CHECK(atomic_load(&sent_low) >= 1);	/* while it wrote */
	CHECK(atomic_load(&sent_own) >= 1);	/* while it waited */
	CHECK(atomic_load(&sent_low) + atomic_load(&sent_own) == 12);
	CHECK(stored_right("prio.bin", 12 * BASE, 11, 0, NULL));
}

/* Cut short after parts went, then written on: the object is the file. */
static void test_stream_truncate(struct store *st)
{
	char data[256], journal[256];
	int fd = stage(staging, "s-cut", "cut.bin", data, journal);
	struct upload *u = stream_of(st, "cut.bin", fd, data, journal);

	CHECK(write_pattern(u, fd, 3, 0, 6 * BASE) == 0);
	CHECK(wait_parts(6) == 6);
	CHECK(upload_stream_check(u, 2 * BASE + 100, 0) == 0);
	CHECK(ftruncate(fd, 2 * BASE + 100) == 0);
	upload_stream_truncated(u, 2 * BASE + 100);
	CHECK(write_pattern(u, fd, 3, 2 * BASE + 100, 2 * BASE) == 0);
	close(fd);
	CHECK(seal_and_wait(u) == 0);
	CHECK(stored_right("cut.bin", 4 * BASE + 100, 3, 0, NULL));
}

/* Begun as multipart, ended below two parts: one PUT, the parts aborted. */
static void test_stream_shrinks(struct store *st)
{
	char data[256], journal[256];
	int fd = stage(staging, "s-shrink", "shrink.bin", data, journal);
	struct upload *u = stream_of(st, "shrink.bin", fd, data, journal);

	CHECK(write_pattern(u, fd, 4, 0, 4 * BASE) == 0);
	CHECK(wait_parts(4) == 4);
	CHECK(ftruncate(fd, 3 * MiB) == 0);
	upload_stream_truncated(u, 3 * MiB);
	close(fd);
	CHECK(seal_and_wait(u) == 0);
	CHECK(stored_right("shrink.bin", 3 * MiB, 4, 0, NULL));
	CHECK(upload_drain() == 0);		/* waits for the abort too */
	CHECK(parts_in_store() == 0);
}

/*
 * The store loses the multipart upload after parts were dropped: the
 * failure is kept with the parts it had, and sync says what it cannot do.
 */
static void test_stream_failure_kept(struct store *st)
{
	char data[256], journal[256], cmd[512], kept[256];
	int fd = stage(small, "s-lost", "lost.bin", data, journal);
	struct upload *u = stream_of(st, "lost.bin", fd, data, journal);
	struct journal_entry e;
	struct recover_result r;
	struct stat sb;

	CHECK(write_pattern(u, fd, 5, 0, 40 * MiB) == 0);
	CHECK(upload_stream_holes(u) == 1);
	/* parts in flight may still be writing into it: until it is gone */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/.cloudshim-mpu'/* 2>/dev/null", root);
	for (int i = 0; i < 50 && system(cmd) != 0; i++)
		usleep(20000);
	CHECK(parts_in_store() == 0);
	CHECK(write_pattern(u, fd, 5, 40 * MiB, 10 * MiB) == 0);
	close(fd);
	CHECK(seal_and_wait(u) != 0);
	snprintf(kept, sizeof(kept), "%s/s-lost.json", recovery);
	CHECK(journal_read(kept, &e) == 0);
	CHECK(e.upload_id && e.part_base == BASE && e.nparts > 0 && e.size == 50 * MiB);
	journal_free(&e);
	snprintf(kept, sizeof(kept), "%s/s-lost", recovery);
	/* kept sparse: the dropped parts' holes were not filled in */
	CHECK(stat(kept, &sb) == 0 && sb.st_size == 50 * MiB && sb.st_blocks * 512 < 50 * MiB);
	r = recover_dir(recovery, &st, 1, stdout);
	CHECK(r.failed == 1 && r.sent == 0);
	CHECK(access(kept, F_OK) == 0);		/* still kept */
	unlink(kept);
	strcat(kept, ".json");
	unlink(kept);
	upload_drain();
}

/*
 * A program killed while its file streamed through the small staging
 * file system, parts of it dropped already: a child that kills itself.
 * Started first, while this process has no thread, so that the child may
 * start its own (ThreadSanitizer); its pid, once it is dead.
 */
static pid_t killed_writer(struct store *st)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		char name[64], data[256], journal[256];
		int fd, jfd;
		struct upload *u;

		snprintf(name, sizeof(name), "w-%d-killed", (int)getpid());
		fd = stage(small, name, "killed.bin", data, journal);
		jfd = open(journal, O_RDWR);
		u = stream_with(st, "killed.bin", fd, data, journal, jfd);
		upload_stream_pace(10, 1, 0);	/* a burst: space must release it */
		if (!u || write_pattern(u, fd, 14, 0, 60 * MiB) != 0 || !upload_stream_holes(u))
			_exit(1);
		raise(SIGKILL);
		_exit(2);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	return pid;
}

/*
 * What the killed writer left: `cloudshim sync` completes the file from
 * the parts its entry recorded and the bytes staged.
 */
static void test_stream_killed(struct store *st, pid_t pid)
{
	char data[256], journal[256];
	struct recover_result r;
	struct journal_entry e;
	int fd;

	snprintf(data, sizeof(data), "%s/w-%d-killed", small, (int)pid);
	snprintf(journal, sizeof(journal), "%s/w-%d-killed.json", small, (int)pid);
	fd = open(data, O_RDONLY);
	CHECK(fd >= 0 && drops_recorded(journal, fd));
	close(fd);
	CHECK(journal_read(journal, &e) == 0 && !e.error && e.size == -1);
	journal_free(&e);
	r = recover_orphans(small, &st, 1, stdout);
	CHECK(r.sent == 1 && r.failed == 0 && r.skipped == 0);
	CHECK(stored_right("killed.bin", 60 * MiB, 14, 0, NULL));
	CHECK(access(data, F_OK) != 0 && access(journal, F_OK) != 0);
	CHECK(upload_drain() == 0);
	CHECK(parts_in_store() == 0);
}

/*
 * A killed program's entry that records two parts dropped, only the
 * first of them a hole: the second's bytes are still staged (killed
 * between the record and the drop, or written again after a cut), and
 * the store's copy of it is stale.  Sync sends it again from staging.
 */
static void test_orphan_part_still_staged(struct store *st)
{
	static unsigned char buf[1 << 20];
	char data[256], journal[256], *id = NULL, etag[2][STORE_ETAG_MAX];
	struct journal_part parts[2];
	struct journal_entry e = { .path = "staged.bin", .url = url, .key = "staged.bin", .size = -1 };
	struct recover_result r;
	struct store_body body;
	int fd, zero;
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	CHECK(pid > 0 && waitpid(pid, NULL, 0) == pid);	/* a pid nobody has */
	snprintf(data, sizeof(data), "%s/w-%d-staged", small, (int)pid);
	snprintf(journal, sizeof(journal), "%s/w-%d-staged.json", small, (int)pid);
	fd = open(data, O_RDWR | O_CREAT | O_TRUNC, 0600);
	zero = open("/dev/zero", O_RDONLY);
	for (off_t off = 0; off < 3 * BASE; off += MiB) {
		pattern_fill(buf, sizeof(buf), 8, off);
		CHECK(pwrite(fd, buf, MiB, off) == MiB);
	}
	CHECK(store_mpu_begin(st, "staged.bin", &id) == 0);
	body = (struct store_body){ fd, 0, BASE };
	CHECK(store_mpu_part(st, "staged.bin", id, 1, &body, etag[0]) == 0);
	body = (struct store_body){ zero, 0, BASE };	/* not what is staged */
	CHECK(store_mpu_part(st, "staged.bin", id, 2, &body, etag[1]) == 0);
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, BASE) == 0);
	close(zero);
	close(fd);
	parts[0] = (struct journal_part){ 2, BASE, etag[1] };	/* in the order dropped */
	parts[1] = (struct journal_part){ 1, BASE, etag[0] };
	e.upload_id = id;
	e.part_base = BASE;
	e.parts = parts;
	e.nparts = 2;
	CHECK(journal_write(journal, &e) == 0);
	free(id);
	r = recover_orphans(small, &st, 1, stdout);
	CHECK(r.sent == 1 && r.failed == 0 && r.skipped == 0);
	CHECK(stored_right("staged.bin", 3 * BASE, 8, 0, NULL));
	CHECK(access(data, F_OK) != 0 && access(journal, F_OK) != 0);
}

/* sync of an entry whose first parts are in the store already: resumed. */
static void test_resume(struct store *st)
{
	static unsigned char buf[1 << 20];
	struct journal_part parts[2];
	char data[256], journal[256], *id = NULL, etag[2][STORE_ETAG_MAX];
	struct journal_entry e = { .path = "resumed.bin", .url = url, .key = "resumed.bin", .size = -1 };
	struct recover_result r;
	int fd;

	snprintf(data, sizeof(data), "%s/w-resume", recovery);
	snprintf(journal, sizeof(journal), "%s/w-resume.json", recovery);
	fd = open(data, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (off_t off = 0; off < 3 * BASE; off += MiB) {
		pattern_fill(buf, sizeof(buf), 6, off);
		CHECK(pwrite(fd, buf, MiB, off) == MiB);
	}
	CHECK(store_mpu_begin(st, "resumed.bin", &id) == 0);
	for (int n = 1; n <= 2; n++) {
		struct store_body body = { fd, (n - 1) * BASE, BASE };

		CHECK(store_mpu_part(st, "resumed.bin", id, n, &body, etag[n - 1]) == 0);
		parts[n - 1] = (struct journal_part){ n, BASE, etag[n - 1] };
	}
	/* what a kept stream looks like: its first two parts are holes */
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2 * BASE) == 0);
	close(fd);
	e.upload_id = id;
	e.part_base = BASE;
	e.parts = parts;
	e.nparts = 2;
	fd = open(data, O_RDONLY);
	e.size = 3 * BASE;
	CHECK(journal_md5(fd, e.md5) == 0);
	close(fd);
	CHECK(journal_write(journal, &e) == 0);
	free(id);
	r = recover_dir(recovery, &st, 1, stdout);
	CHECK(r.sent == 1 && r.failed == 0);
	CHECK(stored_right("resumed.bin", 3 * BASE, 6, 0, NULL));
	CHECK(access(data, F_OK) != 0 && access(journal, F_OK) != 0);
}

int main(void)
{
	struct store_conf sc = { 0 };
	struct engine_conf ec;
	struct store *st;
	char err[256], cmd[1024];
	pid_t killed;

	test_partplan();
	snprintf(root, sizeof(root), "/tmp/cloudshim-stream-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	snprintf(staging, sizeof(staging), "%s-staging", root);
	snprintf(small, sizeof(small), "%s-small", root);
	snprintf(recovery, sizeof(recovery), "%s-recovery", root);
	mkdir(staging, 0700);
	mkdir(small, 0700);
	if (mount("tmpfs", staging, "tmpfs", 0, "size=512m,mode=0700") != 0 ||
	    mount("tmpfs", small, "tmpfs", 0, "size=40m,mode=0700") != 0) {
		printf("FAIL mount tmpfs on %s: %s (run as root)\n", small, strerror(errno));
		return 1;
	}
	engine_conf_defaults(&ec);
	ec.recovery_dir = recovery;
	ec.part_size = BASE;
	ec.connections = 4;
	ec.request_timeout_ms = 3000;
	engine_configure(&ec);
	snprintf(url, sizeof(url), "file://%s", root);
	sc.url = url;
	if (store_open(&sc, &ec, &st, err, sizeof(err)) != 0) {
		printf("FAIL store_open: %s\n", err);
		return 1;
	}
	killed = killed_writer(st);
	test_stream_waiter_priority(st);
	test_stream_killed(st, killed);
	test_stream_sends_early(st);
	test_stream_burst_held(st);
	test_stream_hold_share(st);
	test_stream_short_of_space(st);
	test_stream_synced_forgets_drops(st);
	test_stream_slow_begin(st);
	test_stream_truncate(st);
	test_stream_shrinks(st);
	test_stream_failure_kept(st);
	test_resume(st);
	test_orphan_part_still_staged(st);
	CHECK(upload_drain() >= 1);	/* the lost stream's failure counts */
	store_close(st);
	umount(small);
	umount(staging);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s' '%s'", root, staging, small, recovery);
	if (system(cmd) != 0)
		printf("could not remove %s\n", root);
	return check_summary();
}
