/* SPDX-License-Identifier: MIT */
/*
 * childcheck.c - what a child process changed is seen once it is reaped.
 * This program first asks about a path (so the shim caches the answer:
 * missing, present, a listing), then a child (this program run again)
 * writes or removes it and exits, then this program reaps the child
 * through waitpid, wait, waitid, system or pclose and asks again: the
 * answer must be the child's.  Run through the shim on a mount.
 *
 *   childcheck MOUNTED_DIR STORE_DIR
 *   childcheck --write PATH TEXT | --remove PATH      (the children)
 *
 * Prints "ok NAME" or "FAIL NAME why" for each check, then a count line.
 */
#include <dirent.h>
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

extern char **environ;
static char self[4096];

/* The child's part: 0 when done. */
static int child(int argc, char **argv)
{
	int fd;

	if (argc == 4 && strcmp(argv[1], "--write") == 0) {
		fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		return fd < 0 || !put(fd, argv[3]) || close(fd) != 0;
	}
	return !(argc == 3 && strcmp(argv[1], "--remove") == 0 && unlink(argv[2]) == 0);
}

static pid_t start(const char *how, const char *path, const char *text)
{
	char *args[] = { self, (char *)how, (char *)path, (char *)text, NULL };
	pid_t pid = -1;

	return posix_spawn(&pid, self, NULL, NULL, args, environ) == 0 ? pid : -1;
}

static void by_waitpid(void)
{
	char why[160];
	int status = -1, asked = missing("a");
	pid_t pid = start("--write", at("a"), "from a child");

	if (pid > 0)
		waitpid(pid, &status, 0);
	report("waitpid: a file a child wrote is seen", asked && status == 0 &&
	       holds("a", "from a child", why, sizeof(why)), why);
}

static void by_wait(void)
{
	int status = -1, before = listed("b");
	pid_t pid = start("--write", at("b"), "b");

	if (pid > 0)
		wait(&status);
	report("wait: a listing shows a file a child wrote", !before && status == 0 && listed("b"),
	       before ? "b was listed before" : "the listing lacks b");
}

static void by_waitid(void)
{
	char why[160];
	siginfo_t info = { 0 };
	int present = holds("a", "from a child", why, sizeof(why));
	pid_t pid = start("--remove", at("a"), NULL);

	if (pid > 0)
		waitid(P_PID, (id_t)pid, &info, WEXITED);
	report("waitid: a file a child removed is gone", present && info.si_status == 0 &&
	       missing("a"), present ? "stat still finds it" : why);
}

static void by_system(void)
{
	char cmd[8400], why[160];
	int asked = missing("c"), status;

	snprintf(cmd, sizeof(cmd), "'%s' --write '%s' system", self, at("c"));
	status = system(cmd);
	report("system: a file its command wrote is seen", asked && status == 0 &&
	       holds("c", "system", why, sizeof(why)), why);
}

static void by_pclose(void)
{
	char cmd[8400], why[160];
	int asked = missing("d"), status = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' --write '%s' popen", self, at("d"));
	if ((p = popen(cmd, "r")) != NULL)
		status = pclose(p);
	report("pclose: a file its command wrote is seen", asked && status == 0 &&
	       holds("d", "popen", why, sizeof(why)), why);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strncmp(argv[1], "--", 2) == 0)
		return child(argc, argv);
	if (argc != 3) {
		fprintf(stderr, "usage: childcheck MOUNTED_DIR STORE_DIR\n");
		return 2;
	}
	dir = argv[1];
	store = argv[2];
	if (self_exe(self, sizeof(self)) != 0)
		return 2;
	by_waitpid();
	by_wait();
	by_waitid();
	by_system();
	by_pclose();
	return report_done();
}
