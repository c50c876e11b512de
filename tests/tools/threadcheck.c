/* SPDX-License-Identifier: MIT */
/*
 * threadcheck.c - many threads of one program on one mount at once: their
 * own files, one descriptor shared, one path opened by several, opens and
 * closes racing reads, stdio and directory streams, fork, posix_spawn and
 * system() while threads write.  Run through the shim on a file:// mount whose store directory
 * is STORE; what the threads made durable (fsync) is compared with the
 * store's files byte for byte.  Built with -fsanitize=thread too,
 * so that ThreadSanitizer watches the shim's locks from a program's threads.
 *
 *   threadcheck MOUNTED_DIR STORE_DIR
 *
 * Prints "ok NAME" or "FAIL NAME why" for each check, then a count line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mounted.h"
#include "report.h"

#define WRITERS		8
#define READERS		4
#define FILE_BYTES	((size_t)1 << 20)	/* writer i's file: this + i * 4097 */

static pthread_barrier_t all_in;

/* The byte at off of file number n: differs per file and per offset. */
static unsigned char pattern(unsigned n, size_t off)
{
	return (unsigned char)((off * 2654435761u >> 13) ^ (n * 41u) ^ (off >> 9));
}

static size_t writer_bytes(unsigned n)
{
	return FILE_BYTES + n * 4097;
}

static void path_of(char *out, size_t size, const char *base, const char *name)
{
	snprintf(out, size, "%s/%s", base, name);
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The store's copy of name is exactly file n's pattern over len bytes. */
static int stored_as_pattern(const char *name, unsigned n, size_t len, char *why, size_t size)
{
	char path[4096];
	unsigned char *buf = malloc(len + 1);
	ssize_t got = -1;
	size_t bad = len;
	int fd;

	path_of(path, sizeof(path), store, name);
	if (buf && (fd = open(path, O_RDONLY)) >= 0) {
		got = pread(fd, buf, len + 1, 0);
		close(fd);
	}
	if (got == (ssize_t)len)
		for (bad = 0; bad < len && buf[bad] == pattern(n, bad); bad++)
			;
	free(buf);
	snprintf(why, size, "the store's %s: %zd bytes (wanted %zu), first wrong byte at %zu",
		 name, got, len, bad);
	return got == (ssize_t)len && bad == len;
}

/* Each writer makes its own file in pieces of changing size, then fsyncs. */
static void *write_own(void *arg)
{
	unsigned n = (unsigned)(uintptr_t)arg;
	size_t len = writer_bytes(n), off = 0, piece = 1000 + n * 777;
	unsigned char *buf = malloc(len);
	char name[32];
	int fd, rc = -1;

	snprintf(name, sizeof(name), "own%u.bin", n);
	pthread_barrier_wait(&all_in);
	if (buf && (fd = open_at(name, O_WRONLY | O_CREAT | O_TRUNC)) >= 0) {
		for (size_t i = 0; i < len; i++)
			buf[i] = pattern(n, i);
		rc = 0;
		while (rc == 0 && off < len) {
			size_t k = len - off < piece ? len - off : piece;

			rc = write_all(fd, buf + off, k);
			off += k;
			piece = piece * 3 % 65521 + 1;
		}
		if (rc == 0)
			rc = fsync(fd);
		if (close(fd) != 0)
			rc = -1;
	}
	free(buf);
	return (void *)(intptr_t)rc;
}

static int run_threads(int count, void *(*fn)(void *), void *(*arg_of)(int))
{
	pthread_t t[WRITERS];
	int started = 0, bad = 0;

	pthread_barrier_init(&all_in, NULL, (unsigned)count);
	for (; started < count; started++)
		if (pthread_create(&t[started], NULL, fn, arg_of(started)) != 0)
			break;
	if (started < count) {	/* the barrier would never open: a hard failure */
		fprintf(stderr, "threadcheck: pthread_create failed\n");
		exit(1);
	}
	for (int i = 0; i < started; i++) {
		void *rc;

		pthread_join(t[i], &rc);
		bad += rc != NULL;
	}
	pthread_barrier_destroy(&all_in);
	return bad;
}

static void *number(int i)
{
	return (void *)(uintptr_t)i;
}

static void own_files(void)
{
	int bad = run_threads(WRITERS, write_own, number), good = bad == 0;
	char why[256];

	snprintf(why, sizeof(why), "%d of %d writers failed", bad, WRITERS);
	report("8 threads write, fsync and close a file each: no call fails", good, why);
	for (unsigned n = 0; good && n < WRITERS; n++) {
		char name[32];

		snprintf(name, sizeof(name), "own%u.bin", n);
		good = stored_as_pattern(name, n, writer_bytes(n), why, sizeof(why));
	}
	report("8 threads write, fsync and close a file each: the store has each", good, why);
}

/* One descriptor, four threads, each writing its quarter with pwrite. */
static int shared_fd = -1;

static void *pwrite_quarter(void *arg)
{
	unsigned q = (unsigned)(uintptr_t)arg;
	size_t quarter = FILE_BYTES / READERS, base = q * quarter;
	unsigned char buf[65536];

	pthread_barrier_wait(&all_in);
	for (size_t off = 0; off < quarter; off += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = pattern(99, base + off + i);
		if (pwrite(shared_fd, buf, sizeof(buf), (off_t)(base + off)) != (ssize_t)sizeof(buf))
			return (void *)1;
	}
	return NULL;
}

static void one_descriptor(void)
{
	char why[256];
	int good;

	shared_fd = open_at("quarters.bin", O_RDWR | O_CREAT | O_TRUNC);
	good = shared_fd >= 0 && run_threads(READERS, pwrite_quarter, number) == 0 &&
	       fsync(shared_fd) == 0;
	if (shared_fd >= 0 && close(shared_fd) != 0)
		good = 0;
	snprintf(why, sizeof(why), "a pwrite, the fsync or the close failed (errno %d)", errno);
	report("4 threads pwrite their quarters of one descriptor: the store has all",
	       good && stored_as_pattern("quarters.bin", 99, FILE_BYTES, why, sizeof(why)), why);
}

/* Readers of one descriptor at odd offsets; and opens, dups and closes. */
static void *pread_random(void *arg)
{
	unsigned n = (unsigned)(uintptr_t)arg, seed = 12345 + n;
	unsigned char buf[20000];

	pthread_barrier_wait(&all_in);
	for (int i = 0; i < 300; i++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf)) + 1;
		size_t off = (size_t)rand_r(&seed) % writer_bytes(0);
		ssize_t got = pread(shared_fd, buf, len, (off_t)off);
		size_t want = writer_bytes(0) - off < len ? writer_bytes(0) - off : len;

		if (got != (ssize_t)want)
			return (void *)1;
		for (size_t k = 0; k < want; k++)
			if (buf[k] != pattern(0, off + k))
				return (void *)1;
	}
	return NULL;
}

static void *open_dup_close(void *arg)
{
	unsigned char buf[4096];
	struct stat st;

	(void)arg;
	pthread_barrier_wait(&all_in);
	for (int i = 0; i < 100; i++) {
		int fd = open_at("own1.bin", O_RDONLY), dup_fd = fd >= 0 ? dup(fd) : -1;
		int good = dup_fd >= 0 && read(fd, buf, 100) == 100 &&
			   read(dup_fd, buf + 100, 100) == 100 &&	/* the offset is shared */
			   fstat(dup_fd, &st) == 0 && (size_t)st.st_size == writer_bytes(1);

		for (int k = 0; good && k < 200; k++)
			good = buf[k] == pattern(1, (size_t)k);
		if (fd >= 0)
			close(fd);
		if (dup_fd >= 0 && close(dup_fd) != 0)
			good = 0;
		if (!good)
			return (void *)1;
	}
	return NULL;
}

static void *read_or_churn(void *arg)
{
	return (uintptr_t)arg % 2 ? open_dup_close(arg) : pread_random(arg);
}

static void readers(void)
{
	char why[128];
	int bad = -1;

	if ((shared_fd = open_at("own0.bin", O_RDONLY)) >= 0) {
		bad = run_threads(READERS, read_or_churn, number);
		close(shared_fd);
	}
	snprintf(why, sizeof(why), "%d of %d threads saw wrong bytes or failed calls", bad,
		 READERS);
	report("2 threads pread one descriptor while 2 open, dup and close: right bytes",
	       bad == 0, why);
}

/* Two threads open one path for appending, as two loggers of one program. */
static char round_name[32];	/* the path of this round of a race */

static void *append_lines(void *arg)
{
	unsigned n = (unsigned)(uintptr_t)arg;
	int fd = open_at(round_name, O_WRONLY | O_CREAT | O_APPEND), good = fd >= 0;
	char line[32];

	pthread_barrier_wait(&all_in);
	for (int i = 0; good && i < 200; i++) {
		snprintf(line, sizeof(line), "t%u %03d\n", n, i);
		good = write(fd, line, strlen(line)) == (ssize_t)strlen(line);
	}
	pthread_barrier_wait(&all_in);	/* both done: either fsync covers all */
	good = good && fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		good = 0;
	return good ? NULL : (void *)1;
}

/* The store's log has each thread's 200 lines, each thread's in order. */
static int log_complete(char *why, size_t size)
{
	char path[4096], line[64];
	int next[2] = { 0, 0 }, other = 0;
	FILE *f;

	path_of(path, sizeof(path), store, round_name);
	if (!(f = fopen(path, "r"))) {
		snprintf(why, size, "the store has no %s (errno %d)", round_name, errno);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned t;
		int i;

		if (sscanf(line, "t%u %d", &t, &i) == 2 && t < 2 && i == next[t])
			next[t]++;
		else
			other++;
	}
	fclose(f);
	snprintf(why, size, "%s: lines in order: %d and %d of 200; %d others", round_name, next[0],
		 next[1], other);
	return next[0] == 200 && next[1] == 200 && other == 0;
}

/* Races are lost now and then: each is run for several rounds. */
#define ROUNDS 4

static void appenders(void)
{
	char why[128] = "";
	int bad = 0, complete = 1;

	for (int r = 0; r < ROUNDS && complete; r++) {
		snprintf(round_name, sizeof(round_name), "shared%d.log", r);
		bad += run_threads(2, append_lines, number);
		complete = log_complete(why, sizeof(why));
	}
	report("2 threads append to one path: the store has all 400 lines", complete, why);
	snprintf(why, sizeof(why), "%d threads failed a call", bad);
	report("2 threads append to one path through their own opens: no call fails", bad == 0,
	       why);
}

/* O_EXCL from eight threads at once: one creates the file, the rest EEXIST. */
static int excl_won, excl_exist, excl_other;
static pthread_mutex_t excl_lock = PTHREAD_MUTEX_INITIALIZER;

static void *create_excl(void *arg)
{
	int fd, err;

	(void)arg;
	pthread_barrier_wait(&all_in);
	fd = open_at(round_name, O_WRONLY | O_CREAT | O_EXCL);
	err = errno;
	pthread_mutex_lock(&excl_lock);
	if (fd >= 0)
		excl_won++;
	else if (err == EEXIST)
		excl_exist++;
	else
		excl_other++;
	pthread_mutex_unlock(&excl_lock);
	if (fd >= 0 && (write(fd, "won", 3) != 3 || fsync(fd) != 0 || close(fd) != 0))
		return (void *)1;
	return NULL;
}

static void exclusive(void)
{
	char why[128] = "";
	int good = 1;

	for (int r = 0; r < ROUNDS && good; r++) {
		int bad;

		excl_won = excl_exist = excl_other = 0;
		snprintf(round_name, sizeof(round_name), "excl%d.bin", r);
		bad = run_threads(WRITERS, create_excl, number);
		snprintf(why, sizeof(why), "%s: %d created, %d EEXIST, %d other errors, %d writes failed",
			 round_name, excl_won, excl_exist, excl_other, bad);
		good = excl_won == 1 && excl_exist == WRITERS - 1 && excl_other == 0 && bad == 0;
	}
	report("8 threads O_EXCL one new path: exactly one creates it", good, why);
}

/* stdio from four threads: each writes a file by lines, then reads it back. */
static void *stdio_lines(void *arg)
{
	unsigned n = (unsigned)(uintptr_t)arg;
	char path[4096], name[32], line[64], want[64];
	FILE *f;
	int i = 0, good;

	snprintf(name, sizeof(name), "lines%u.txt", n);
	path_of(path, sizeof(path), dir, name);
	pthread_barrier_wait(&all_in);
	if (!(f = fopen(path, "w")))
		return (void *)1;
	for (int k = 0; k < 1000; k++)
		fprintf(f, "thread %u line %d\n", n, k);
	good = fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0 || !good || !(f = fopen(path, "r")))
		return (void *)1;
	while (fgets(line, sizeof(line), f)) {
		snprintf(want, sizeof(want), "thread %u line %d\n", n, i++);
		if (strcmp(line, want) != 0)
			break;
	}
	fclose(f);
	return i == 1000 ? NULL : (void *)1;
}

/* Directory streams from four threads at once: every one lists own0-7. */
static void *list_dir(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&all_in);
	for (int round = 0; round < 50; round++) {
		DIR *d = opendir(dir);
		struct dirent *e;
		int own = 0;

		if (!d)
			return (void *)1;
		while ((e = readdir(d)))
			own += strncmp(e->d_name, "own", 3) == 0;
		if (closedir(d) != 0 || own != WRITERS)
			return (void *)1;
	}
	return NULL;
}

static void streams_and_listings(void)
{
	char why[96];
	int bad = run_threads(READERS, stdio_lines, number);

	snprintf(why, sizeof(why), "%d of %d threads failed", bad, READERS);
	report("4 threads write and read back a file each with stdio", bad == 0, why);
	bad = run_threads(READERS, list_dir, number);
	snprintf(why, sizeof(why), "%d of %d threads failed or missed a file", bad, READERS);
	report("4 threads list the mounted directory 50 times each", bad == 0, why);
}

/*
 * New processes while other threads write: a forked child must not
 * inherit a lock some writer held at that moment (it would hang), and a
 * program started by posix_spawn or system() gets the list of written
 * files the parent passes on while those threads open and close theirs.
 * What each child writes must land.
 */
#define CHILDREN 20
static atomic_int stop_writing;

static void *keep_writing(void *arg)
{
	unsigned n = (unsigned)(uintptr_t)arg;
	unsigned char buf[65536];
	char name[32];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(n, i);
	snprintf(name, sizeof(name), "busy%u.bin", n);
	for (int i = 0; !atomic_load(&stop_writing); i++) {
		int fd = open_at(name, O_WRONLY | O_CREAT | O_TRUNC);

		if (fd < 0 || write_all(fd, buf, sizeof(buf)) != 0 || (i % 4 == 0 && fsync(fd) != 0))
			return (void *)1;
		close(fd);
	}
	return NULL;
}

static void child_file(const char *how, int r, char *name, char *text)
{
	snprintf(name, 32, "%s%d.txt", how, r);
	snprintf(text, 32, "%s %d\n", how, r);
}

/* The forked child: reads a file, writes its own, makes it durable; 0 if all went well. */
static int forked_child(int r)
{
	unsigned char buf[100];
	char name[32], text[32];
	int fd, good;

	alarm(10);	/* a hang is a failure, not a stuck test */
	fd = open_at("own1.bin", O_RDONLY);
	good = fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf);
	for (size_t k = 0; good && k < sizeof(buf); k++)
		good = buf[k] == pattern(1, k);
	if (fd >= 0)
		close(fd);
	child_file("fork", r, name, text);
	fd = open_at(name, O_WRONLY | O_CREAT | O_TRUNC);
	good = good && fd >= 0 && write_all(fd, (const unsigned char *)text, strlen(text)) == 0 &&
	       fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		good = 0;
	return good ? 0 : 1;
}

/* Child r the way how says; 1 when it exited 0. */
static int run_child(const char *how, int r)
{
	char name[32], text[32], cmd[4200];
	char *args[] = { "sh", "-c", cmd, NULL };
	extern char **environ;
	int status = -1;
	pid_t pid = -1;

	child_file(how, r, name, text);
	/* the shell's echo ends its line: text without it */
	snprintf(cmd, sizeof(cmd), "echo %s %d > '%s/%s'", how, r, dir, name);
	if (strcmp(how, "fork") == 0) {
		if ((pid = fork()) == 0)
			_exit(forked_child(r));
	} else if (strcmp(how, "spawn") == 0) {
		if (posix_spawn(&pid, "/bin/sh", NULL, NULL, args, environ) != 0)
			return 0;
	} else {
		status = system(cmd);
		return WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static void children(const char *how)
{
	pthread_t t[2];
	int exited = 0, landed = 0, started = 0, bad = 0;
	char why[160], label[96];

	atomic_store(&stop_writing, 0);
	for (; started < 2; started++)
		if (pthread_create(&t[started], NULL, keep_writing, (void *)(uintptr_t)(started + 10)))
			break;
	for (int r = 0; r < CHILDREN && exited == r; r++)	/* up to the first failure */
		exited += run_child(how, r);
	atomic_store(&stop_writing, 1);
	for (int i = 0; i < started; i++) {
		void *rc;

		pthread_join(t[i], &rc);
		bad += rc != NULL;
	}
	for (int r = 0; r < CHILDREN; r++) {
		char name[32], text[32], path[4096], got[32] = "";
		int fd;

		child_file(how, r, name, text);
		path_of(path, sizeof(path), store, name);
		if ((fd = open(path, O_RDONLY)) >= 0) {
			ssize_t k = read(fd, got, sizeof(got) - 1);

			got[k > 0 ? k : 0] = '\0';
			close(fd);
		}
		landed += strcmp(got, text) == 0;
	}
	snprintf(why, sizeof(why), "%d of %d children exited 0, %d of their files landed; "
		 "%d of %d writer threads failed", exited, CHILDREN, landed, bad, started);
	snprintf(label, sizeof(label), "%s 20 children while 2 threads write: they finish, "
		 "their files land", how);
	report(label, started == 2 && exited == CHILDREN && landed == CHILDREN && bad == 0, why);
}

int main(int argc, char **argv)
{
	int no_fork = argc == 4 && strcmp(argv[3], "--no-fork") == 0;

	if (argc != 3 && !no_fork) {
		fprintf(stderr, "usage: threadcheck MOUNTED_DIR STORE_DIR [--no-fork]\n");
		return 2;
	}
	dir = argv[1];
	store = argv[2];
	own_files();
	one_descriptor();
	readers();
	appenders();
	exclusive();
	streams_and_listings();
	/*
	 * --no-fork: under gcc 12's AddressSanitizer a forked child hangs when
	 * another thread was inside the sanitizer's malloc at the fork (its
	 * allocator takes no lock around fork; newer LLVM runtimes do).
	 */
	if (!no_fork)
		children("fork");
	children("spawn");
	children("system");
	return report_done();
}
