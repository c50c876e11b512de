/* SPDX-License-Identifier: MIT */
/*
 * linkcheck.c - truncate, chmod and utime through the link the kernel
 * keeps for a mounted descriptor (/proc/self/fd/N) act on the object, as
 * they would on a local file, never on the placeholder memfd behind a
 * descriptor opened for reading; through a descriptor being written, on
 * its staged file.  Run through the shim.
 *
 *   linkcheck rw|ro MOUNTED_DIR
 *
 * MOUNTED_DIR holds f.bin and h.bin, 10 bytes each.  rw: the mount is
 * writable; f.bin and h.bin are left 4 bytes long, and g.bin (24 MiB
 * written, so parts went out while it was) 3 bytes: the caller checks the
 * store after the program's exit.  ro: the mount is read-only, every such
 * call fails with EROFS and f.bin keeps its 10 bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "report.h"

static char why[512];
static char big[1 << 20];

/* The call's result and errno, as "rc N errno E". */
static const char *said(int rc)
{
	snprintf(why, sizeof(why), "rc %d errno %d", rc, rc ? errno : 0);
	return why;
}

int main(int argc, char **argv)
{
	char path[4096], link[64];
	struct stat st;
	int rw, fd, rc;

	if (argc != 3 || (strcmp(argv[1], "rw") && strcmp(argv[1], "ro"))) {
		fprintf(stderr, "usage: linkcheck rw|ro MOUNTED_DIR\n");
		return 2;
	}
	rw = strcmp(argv[1], "rw") == 0;
	snprintf(path, sizeof(path), "%s/f.bin", argv[2]);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 2;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);

	rc = truncate(link, 4);
	if (rw)
		report("truncate through a read descriptor's link: the object",
		       rc == 0 && stat(path, &st) == 0 && st.st_size == 4, said(rc));
	else
		report("truncate through a read descriptor's link, read-only mount: EROFS",
		       rc == -1 && errno == EROFS && stat(path, &st) == 0 && st.st_size == 10,
		       said(rc));
	rc = chmod(link, 0600);
	report(rw ? "chmod through the link: no effect, no error" :
		    "chmod through the link, read-only mount: EROFS",
	       rw ? rc == 0 : rc == -1 && errno == EROFS, said(rc));
	rc = utime(link, NULL);
	report(rw ? "utime through the link: no effect, no error" :
		    "utime through the link, read-only mount: EROFS",
	       rw ? rc == 0 : rc == -1 && errno == EROFS, said(rc));
	close(fd);
	if (!rw)
		return report_done();

	/* opened for update, not written yet: truncate through it is ftruncate of it */
	snprintf(path, sizeof(path), "%s/h.bin", argv[2]);
	fd = open(path, O_RDWR);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	rc = truncate(link, 4);
	report("truncate through an update descriptor's link: its own file",
	       rc == 0 && pread(fd, big, 100, 0) == 4 && fstat(fd, &st) == 0 && st.st_size == 4,
	       said(rc));
	close(fd);

	/*
	 * A file written sequentially: its first parts go out while it is
	 * written, so a truncate the stream did not see would leave them in
	 * the object.
	 */
	snprintf(path, sizeof(path), "%s/g.bin", argv[2]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	memset(big, 'g', sizeof(big));
	for (int i = 0; fd >= 0 && i < 24; i++)
		if (write(fd, big, sizeof(big)) != (ssize_t)sizeof(big))
			return 2;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	rc = truncate(link, 3);
	report("truncate through a written descriptor's link: its staged file",
	       rc == 0 && fstat(fd, &st) == 0 && st.st_size == 3, said(rc));
	close(fd);
	return report_done();
}
