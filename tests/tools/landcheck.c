/* SPDX-License-Identifier: MIT */
/*
 * landcheck.c - a file whose upload lands while a directory is listed is
 * in the listing.  Another process (this program, run with --child, its
 * store reached straight) holds a file written in the directory; this one
 * reaches the store through a relay that answers DELAY_MS late
 * (bench/shapeproxy.c), so its listing is made by the store before the
 * child closes the file, and comes back after the upload landed and the
 * child's staged entry went: the file is then in neither unless the shim
 * looks at what was staged before it listed.  Run through the shim on an
 * S3 mount, with the staging directory shared.  MOUNTED_DIR must be below
 * the mount's root (its parent is listed first).
 *
 *   landcheck MOUNTED_DIR DIRECT_ENDPOINT DELAY_MS
 *
 * MOUNTED_DIR must hold old.txt already.  Prints "ok NAME" or "FAIL NAME
 * why" for each check, then a count line.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mounted.h"
#include "report.h"

/* The child: writes landed.txt, says "ready", and closes it MS after "close MS". */
static int child(void)
{
	char line[64];
	long ms = 0;
	int fd = open_at("landed.txt", O_WRONLY | O_CREAT | O_TRUNC);

	if (fd < 0 || !put(fd, "landed"))
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin) || sscanf(line, "close %ld", &ms) != 1)
		return 1;
	nanosleep(&(struct timespec){ ms / 1000, ms % 1000 * 1000000L }, NULL);
	return close(fd) != 0;		/* exit waits for the upload */
}

/* Lists the directory MOUNTED_DIR is in, to the end. */
static void list_parent(void)
{
	char parent[4096];
	char *slash;
	DIR *d;

	snprintf(parent, sizeof(parent), "%s", dir);
	if (!(slash = strrchr(parent, '/')) || slash == parent)
		return;
	*slash = '\0';
	if ((d = opendir(parent))) {
		while (readdir(d))
			;
		closedir(d);
	}
}

int main(int argc, char **argv)
{
	char self[4096], why[300], answer[32] = "", *own_endpoint;
	int status = -1, saw_landed = 0, saw_old = 0;
	FILE *to = NULL, *from = NULL;
	struct dirent *e;
	long delay;
	DIR *d;
	pid_t pid;

	if (argc == 3 && strcmp(argv[1], "--child") == 0) {
		dir = argv[2];
		return child();
	}
	if (argc != 4 || (delay = atol(argv[3])) < 300) {
		fprintf(stderr, "usage: landcheck MOUNTED_DIR DIRECT_ENDPOINT DELAY_MS (>= 300)\n");
		return 2;
	}
	dir = argv[1];
	if (self_exe(self, sizeof(self)) != 0 || !(own_endpoint = getenv("CLOUDSHIM_ENDPOINT")) ||
	    !(own_endpoint = strdup(own_endpoint)))
		return 2;
	setenv("CLOUDSHIM_ENDPOINT", argv[2], 1);	/* the child's store: straight */
	pid = spawn_child(self, &to, &from);
	setenv("CLOUDSHIM_ENDPOINT", own_endpoint, 1);
	if (pid < 0 || !to || !from)
		return 2;
	if (!fgets(answer, sizeof(answer), from) || strcmp(answer, "ready\n") != 0)
		return 2;

	/*
	 * The parent's listing says MOUNTED_DIR is a directory: its stat asks
	 * nothing, and opendir lists it, which is what the child races.
	 */
	list_parent();
	fprintf(to, "close %ld\n", delay / 4);
	fflush(to);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		saw_landed |= strcmp(e->d_name, "landed.txt") == 0;
		saw_old |= strcmp(e->d_name, "old.txt") == 0;
	}
	if (d)
		closedir(d);
	fclose(to);
	waitpid(pid, &status, 0);
	snprintf(why, sizeof(why), "child exit status %d", status);
	report("the writer closed its file and exited cleanly", status == 0, why);
	report("the store's own entry is listed", saw_old, "old.txt missing");
	report("a file whose upload landed while the directory was listed is in the listing",
	       saw_landed, "landed.txt missing");
	report("and it holds what was written", holds("landed.txt", "landed", why, sizeof(why)), why);
	fclose(from);
	free(own_endpoint);
	return report_done();
}
