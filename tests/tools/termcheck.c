/* SPDX-License-Identifier: MIT */
/*
 * termcheck.c - a program ended by a signal still sends what it wrote: a
 * child (this program, run with --child) writes a large file and closes
 * it, leaves a small one open, says so on a pipe and waits; this program
 * then sends it SIGTERM or SIGHUP.  The child must die of that signal
 * (its parent sees the status it expects), with both files in the store.
 * A child with a SIGTERM handler of its own keeps it, and SIGINT stays at
 * its default (Python installs its KeyboardInterrupt handler only then).
 * Run through the shim on a file:// mount.
 *
 *   termcheck MOUNTED_DIR STORE_DIR
 *
 * Prints "ok NAME" or "FAIL NAME why" for each check, then a count line.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mounted.h"
#include "report.h"

#define BIG (16 << 20)

extern char **environ;

static void own_handler(int sig)
{
	(void)sig;
	exit(3);	/* exit waits for the uploads */
}

/* The child: writes NAME.big (closed) and NAME.open (left open), says "ready", waits. */
static int child(const char *name, int own)
{
	char path[256];
	char *buf = malloc(1 << 20);
	int fd, ok = buf != NULL;

	if (own)
		signal(SIGTERM, own_handler);
	snprintf(path, sizeof(path), "%s.big", name);
	fd = open_at(path, O_WRONLY | O_CREAT | O_TRUNC);
	for (int i = 0; ok && i < BIG >> 20; i++) {
		memset(buf, 'a' + i, 1 << 20);
		ok = write(fd, buf, 1 << 20) == 1 << 20;
	}
	ok = fd >= 0 && close(fd) == 0 && ok;
	snprintf(path, sizeof(path), "%s.open", name);
	fd = open_at(path, O_WRONLY | O_CREAT | O_TRUNC);
	ok = ok && fd >= 0 && put(fd, "still open");
	if (write(1, ok ? "ready\n" : "error\n", 6) != 6)
		return 1;
	for (;;)
		pause();
}

/* The store's NAME.big has BIG bytes, the ith MiB all 'a' + i. */
static int big_landed(const char *name, char *why, size_t n)
{
	char path[4096], *buf = malloc(1 << 20);
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s.big", store, name);
	fd = open(path, O_RDONLY);
	ok = fd >= 0 && buf;
	for (int i = 0; ok && i < BIG >> 20; i++) {
		ok = read(fd, buf, 1 << 20) == 1 << 20;
		for (int k = 0; ok && k < 1 << 20; k++)
			ok = buf[k] == 'a' + i;
	}
	ok = ok && read(fd, buf, 1) == 0;
	if (fd >= 0)
		close(fd);
	free(buf);
	snprintf(why, n, "the store's %s.big is %s", name, ok ? "whole" : "missing or wrong");
	return ok;
}

/* Runs a child writing name, signals it, and checks how it ended and what landed. */
static void run(const char *name, int sig, int own, const char *what)
{
	char self[4096], why[300] = "", answer[8] = "", open_name[64];
	char *args[] = { self, "--child", (char *)dir, (char *)name, own ? "own" : "default", NULL };
	posix_spawn_file_actions_t fa;
	int out[2], status = -1, good;
	pid_t pid = -1;

	if (self_exe(self, sizeof(self)) != 0 || pipe(out) != 0)
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	if (posix_spawn(&pid, self, &fa, NULL, args, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	good = pid > 0 && read(out[0], answer, 6) == 6 && !strcmp(answer, "ready\n");
	close(out[0]);
	if (pid > 0) {
		kill(pid, sig);
		waitpid(pid, &status, 0);
	}
	good = good && (own ? WIFEXITED(status) && WEXITSTATUS(status) == 3 :
			      WIFSIGNALED(status) && WTERMSIG(status) == sig);
	snprintf(why, sizeof(why), "the child ended with status %#x", status);
	snprintf(open_name, sizeof(open_name), "%s.open", name);
	good = good && big_landed(name, why, sizeof(why)) &&
	       landed(open_name, "still open", 10, why, sizeof(why));
	report(what, good, why);
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc == 5 && strcmp(argv[1], "--child") == 0) {
		dir = argv[2];
		return child(argv[3], strcmp(argv[4], "own") == 0);
	}
	if (argc != 3) {
		fprintf(stderr, "usage: termcheck MOUNTED_DIR STORE_DIR\n");
		return 2;
	}
	dir = argv[1];
	store = argv[2];
	run("term", SIGTERM, 0, "SIGTERM: the child dies of it after sending what it wrote");
	run("hup", SIGHUP, 0, "SIGHUP: the same");
	run("own", SIGTERM, 1, "a SIGTERM handler of the program's own is kept");
	sigaction(SIGINT, NULL, &sa);
	report("SIGINT is left at its default", sa.sa_handler == SIG_DFL,
	       "the shim set a handler for it");
	return report_done();
}
