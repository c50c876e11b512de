/* SPDX-License-Identifier: MIT */
/*
 * sharecheck.c - two opens for writing of one mounted path in one process
 * share its bytes, as two opens of a local file share its inode.  Run
 * through the shim on a file:// mount whose store directory is STORE: an
 * fsync of either open makes the file as both left it durable there.
 *
 *   sharecheck MOUNTED_DIR STORE_DIR
 *
 * Prints "ok NAME" or "FAIL NAME why" for each check, then a count line.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mounted.h"
#include "report.h"

/* A shell's `cmd >>log 2>>log`: two O_APPEND opens taking turns. */
static void appends(void)
{
	const char *want = "out 0\nerr 1\nout 2\nerr 3\n";
	int fds[2], good = 1;
	char why[256];

	for (int i = 0; i < 2; i++)
		fds[i] = open_at("log.txt", O_WRONLY | O_CREAT | O_APPEND);
	for (int i = 0; i < 4; i++) {
		char line[16];

		snprintf(line, sizeof(line), "%s %d\n", i % 2 ? "err" : "out", i);
		good &= fds[i % 2] >= 0 && put(fds[i % 2], line);
	}
	good &= fds[1] >= 0 && fsync(fds[1]) == 0;
	report("O_APPEND twice: the lines of both, in order",
	       good && landed("log.txt", want, strlen(want), why, sizeof(why)), why);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The second open truncates the file under the first one's offset. */
static void truncating(void)
{
	int a = open_at("trunc.bin", O_WRONLY | O_CREAT | O_TRUNC), b = -1, good;
	char why[256];

	good = a >= 0 && put(a, "0123456789") &&
	       (b = open_at("trunc.bin", O_WRONLY | O_TRUNC)) >= 0 && put(b, "ab") &&
	       put(a, "XY") && fsync(a) == 0;
	report("O_TRUNC by the second: the first writes on at its offset",
	       good && landed("trunc.bin", "ab\0\0\0\0\0\0\0\0XY", 12, why, sizeof(why)), why);
	if (b >= 0)
		close(b);
	if (a >= 0)
		close(a);
}

/* An open for update staged by its first write joins the file being written. */
static void update(void)
{
	int a = open_at("upd.bin", O_WRONLY | O_CREAT | O_TRUNC), b = -1, good;
	char why[256];

	good = a >= 0 && put(a, "0123456789") && (b = open_at("upd.bin", O_RDWR)) >= 0 &&
	       pwrite(b, "XY", 2, 2) == 2 && close(b) == 0 && put(a, "ab") && fsync(a) == 0;
	report("O_RDWR open, written and closed first: its bytes stay",
	       good && landed("upd.bin", "01XY456789ab", 12, why, sizeof(why)), why);
	if (a >= 0)
		close(a);
}

struct syncer {
	int fd;
	const char *text;
	int rc;
};

static void *write_sync(void *arg)
{
	struct syncer *s = arg;

	s->rc = put(s->fd, s->text) && fsync(s->fd) == 0 ? 0 : -1;
	return NULL;
}

/* Both opens fsync at once, from two threads. */
static void syncs(void)
{
	struct syncer s[2] = {
		{ open_at("sync.txt", O_WRONLY | O_CREAT | O_APPEND), "one\n", -1 },
		{ open_at("sync.txt", O_WRONLY | O_APPEND), "two\n", -1 },
	};
	pthread_t t[2];
	char why[256];
	int good = s[0].fd >= 0 && s[1].fd >= 0;

	for (int i = 0; good && i < 2; i++)
		good = pthread_create(&t[i], NULL, write_sync, &s[i]) == 0;
	for (int i = 0; good && i < 2; i++)
		pthread_join(t[i], NULL);
	snprintf(why, sizeof(why), "fsync: %d and %d", s[0].rc, s[1].rc);
	report("two threads fsync the two opens: both succeed",
	       good && s[0].rc == 0 && s[1].rc == 0, why);
	report("two threads fsync the two opens: the store has both lines",
	       good && (landed("sync.txt", "one\ntwo\n", 8, why, sizeof(why)) ||
			landed("sync.txt", "two\none\n", 8, why, sizeof(why))), why);
	for (int i = 0; i < 2; i++)
		if (s[i].fd >= 0)
			close(s[i].fd);
}

int main(int argc, char **argv)
{
	char why[64];
	int a, b;

	if (argc != 3) {
		fprintf(stderr, "usage: sharecheck MOUNTED_DIR STORE_DIR\n");
		return 2;
	}
	dir = argv[1];
	store = argv[2];
	appends();
	truncating();
	update();
	syncs();

	a = open_at("excl.bin", O_WRONLY | O_CREAT);
	b = open_at("excl.bin", O_WRONLY | O_CREAT | O_EXCL);
	snprintf(why, sizeof(why), "open gave %d, errno %d", b, errno);
	report("O_EXCL of a file open for writing here: EEXIST", a >= 0 && b < 0 && errno == EEXIST,
	       why);
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	return report_done();
}
