/* SPDX-License-Identifier: MIT */
/*
 * execcheck.c - an exec that fails leaves the program as it was: files it
 * is writing on a mount go on being written and uploaded.  Before an exec
 * the shim uploads the files no descriptor of which survives it; when the
 * exec returns, what the program writes after must land too.  Run through
 * the shim on a file:// mount whose store directory is STORE.
 *
 *   execcheck MOUNTED_DIR STORE_DIR
 *
 * Prints "ok NAME" or "FAIL NAME why" for each check, then a count line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mounted.h"
#include "report.h"

extern char **environ;

/* exec is one of the calls below; each fails (no such program). */
static int failed_exec(const char *how)
{
	char *args[] = { "cloudshim-no-such-program", NULL };

	errno = 0;
	if (strcmp(how, "execve") == 0)
		execve("/nonexistent/cloudshim-no-such-program", args, environ);
	else if (strcmp(how, "execvp") == 0)
		execvp("cloudshim-no-such-program", args);
	else
		execv("/nonexistent/cloudshim-no-such-program", args);
	return errno == ENOENT;
}

/*
 * A file written, an exec that fails, more written through the same
 * descriptor and through a new open for appending; then closed.
 */
static void write_around(const char *how, int cloexec)
{
	const char *want = "before\nafter\nappended\n";
	char name[64], label[128], why[512];
	int fd, more = -1, good;

	snprintf(name, sizeof(name), "%s-%s.txt", how, cloexec ? "cloexec" : "inherited");
	snprintf(label, sizeof(label), "%s fails with a file written (%s): later writes land",
		 how, cloexec ? "close-on-exec" : "inherited");
	fd = open_at(name, O_WRONLY | O_CREAT | O_TRUNC | (cloexec ? O_CLOEXEC : 0));
	good = fd >= 0 && put(fd, "before\n") && failed_exec(how) && put(fd, "after\n") &&
	       (more = open_at(name, O_WRONLY | O_APPEND)) >= 0 && put(more, "appended\n");
	if (more >= 0 && close(more) != 0)
		good = 0;
	if (fd >= 0 && close(fd) != 0)
		good = 0;
	snprintf(why, sizeof(why), "a call failed (errno %d)", errno);
	/* the last close's upload: an fsync of a fresh open makes it durable */
	if (good && (fd = open_at(name, O_WRONLY | O_APPEND)) >= 0) {
		good = fsync(fd) == 0;
		close(fd);
	}
	report(label, good && landed(name, want, strlen(want), why, sizeof(why)), why);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: execcheck MOUNTED_DIR STORE_DIR\n");
		return 2;
	}
	dir = argv[1];
	store = argv[2];
	write_around("execve", 1);
	write_around("execve", 0);
	write_around("execvp", 1);
	write_around("execv", 0);
	return report_done();
}
