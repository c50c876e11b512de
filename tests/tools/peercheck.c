/* SPDX-License-Identifier: MIT */
/*
 * peercheck.c - what another running process wrote is seen here, as on a
 * local disk, before its upload lands: a new program (this one, run with
 * --child) writes, renames and unlinks files on command, and answers on
 * a pipe when done; this program then looks at them.  Files the child
 * holds open are in no store yet: only the staging directory, shared by
 * both processes, has them.  Run through the shim on a file:// mount.
 *
 *   peercheck MOUNTED_DIR STORE_DIR
 *
 * Prints "ok NAME" or "FAIL NAME why" for each check, then a count line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mounted.h"
#include "report.h"

/* The child: "write NAME TEXT" (and close), "open NAME TEXT" (kept open), "rename A B", "unlink NAME". */
static int child(void)
{
	char line[512], op[16], a[200], b[200];
	int open_fds[16], n = 0;

	while (fgets(line, sizeof(line), stdin)) {
		int fd, ok = 0;

		a[0] = b[0] = '\0';
		if (sscanf(line, "%15s %199s %199s", op, a, b) < 2)
			break;
		if (!strcmp(op, "write") || !strcmp(op, "open")) {
			fd = open_at(a, O_WRONLY | O_CREAT | O_TRUNC);
			ok = fd >= 0 && put(fd, b);
			if (fd >= 0 && !strcmp(op, "write"))
				ok = close(fd) == 0 && ok;
			else if (fd >= 0 && n < 16)
				open_fds[n++] = fd;
		} else if (!strcmp(op, "rename")) {
			ok = rename(at(a), at(b)) == 0;
		} else if (!strcmp(op, "unlink")) {
			ok = unlink(at(a)) == 0;
		}
		printf("%s\n", ok ? "done" : "failed");
		fflush(stdout);
	}
	for (int i = 0; i < n; i++)
		close(open_fds[i]);
	return 0;
}

static FILE *to_child, *from_child;

/* Has the child do cmd; 1 when it says it did. */
static int tell(const char *cmd)
{
	char answer[32] = "";

	fprintf(to_child, "%s\n", cmd);
	fflush(to_child);
	return fgets(answer, sizeof(answer), from_child) && !strcmp(answer, "done\n");
}

int main(int argc, char **argv)
{
	char self[4096], why[300];
	int status = -1, good;
	pid_t pid;

	if (argc == 3 && strcmp(argv[1], "--child") == 0) {
		dir = argv[2];
		return child();
	}
	if (argc != 3) {
		fprintf(stderr, "usage: peercheck MOUNTED_DIR STORE_DIR\n");
		return 2;
	}
	dir = argv[1];
	store = argv[2];
	if (self_exe(self, sizeof(self)) != 0)
		return 2;
	if ((pid = spawn_child(self, &to_child, &from_child)) < 0 || !to_child || !from_child)
		return 2;

	good = missing("a") && tell("write a first");
	report("a file another process closed is seen (asked for before)",
	       good && holds("a", "first", why, sizeof(why)) && listed("a"), why);
	good = tell("write a second!");
	report("and so is that process's next version of it",
	       good && holds("a", "second!", why, sizeof(why)), why);
	good = missing("b.tmp") && tell("open b.tmp data");
	report("a file another process holds open is seen, though in no store yet",
	       good && holds("b.tmp", "data", why, sizeof(why)) && listed("b.tmp"), why);
	good = tell("rename b.tmp b");
	report("renamed there while open: seen under its new name only",
	       good && holds("b", "data", why, sizeof(why)) && missing("b.tmp") && !listed("b.tmp"),
	       why);
	good = tell("open c gone") && holds("c", "gone", why, sizeof(why));
	good = good && tell("unlink c");
	report("unlinked there while open: gone here", good && missing("c") && !listed("c"),
	       good ? "c is still seen" : why);
	fclose(to_child);	/* the child closes what it holds, and exits */
	waitpid(pid, &status, 0);
	report("once it exited, the store has what it wrote, under the new name",
	       status == 0 && landed("b", "data", 4, why, sizeof(why)) &&
	       landed("a", "second!", 7, why, sizeof(why)), why);
	return report_done();
}
