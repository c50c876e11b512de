/* SPDX-License-Identifier: MIT */
/*
 * tempcheck.c - mkstemp and its kin, and mkdtemp, in a mounted directory,
 * which the C library would make through calls no wrapper sees.  Run
 * through the shim on a file:// mount whose store directory is STORE: each
 * file written must land there with its bytes.
 *
 *   tempcheck MOUNTED_DIR STORE_DIR
 *
 * Prints "ok NAME" or "FAIL NAME why" for each check, then a count line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

/* The store's copy of mounted path (under dir) holds bytes, once uploaded. */
static int landed(const char *dir, const char *store, const char *path, const char *bytes)
{
	char copy[4096], got[64] = "";
	FILE *f;

	snprintf(copy, sizeof(copy), "%s%s", store, path + strlen(dir));
	if (!(f = fopen(copy, "r")))
		return 0;
	if (!fgets(got, sizeof(got), f))
		got[0] = '\0';
	fclose(f);
	return strcmp(got, bytes) == 0;
}

/* Writes bytes to fd and closes it; then waits (fsync) for the upload. */
static int write_close(int fd, const char *bytes)
{
	int good = write(fd, bytes, strlen(bytes)) == (ssize_t)strlen(bytes) && fsync(fd) == 0;

	return close(fd) == 0 && good;
}

int main(int argc, char **argv)
{
	char t[4096], u[4096], why[4200];
	const char *dir, *store;
	struct stat st;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: tempcheck MOUNTED_DIR STORE_DIR\n");
		return 2;
	}
	dir = argv[1];
	store = argv[2];

	snprintf(t, sizeof(t), "%s/stempXXXXXX", dir);
	fd = mkstemp(t);
	snprintf(why, sizeof(why), "mkstemp gave %d (%s), name %s", fd, strerror(errno), t);
	report("mkstemp makes a file there", fd >= 0 && strncmp(t, dir, strlen(dir)) == 0 &&
						 !strstr(t, "XXXXXX"), why);
	report("mkstemp: its bytes reach the store",
	       fd >= 0 && write_close(fd, "mkstemp\n") && landed(dir, store, t, "mkstemp\n"), t);

	snprintf(t, sizeof(t), "%s/ostempXXXXXX.txt", dir);
	fd = mkostemps(t, 4, O_CLOEXEC | O_APPEND);
	snprintf(why, sizeof(why), "mkostemps gave %d (%s), name %s", fd, strerror(errno), t);
	report("mkostemps keeps the suffix, takes O_CLOEXEC",
	       fd >= 0 && strcmp(t + strlen(t) - 4, ".txt") == 0 &&
		       (fcntl(fd, F_GETFD) & FD_CLOEXEC) && (fcntl(fd, F_GETFL) & O_APPEND), why);
	report("mkostemps: its bytes reach the store",
	       fd >= 0 && write_close(fd, "mkostemps\n") && landed(dir, store, t, "mkostemps\n"), t);

	/* two draws never give one name */
	snprintf(t, sizeof(t), "%s/twiceXXXXXX", dir);
	snprintf(u, sizeof(u), "%s/twiceXXXXXX", dir);
	fd = mkstemp(t);
	report("two mkstemp: two names", fd >= 0 && close(fd) == 0 && (fd = mkstemp(u)) >= 0 &&
					       close(fd) == 0 && strcmp(t, u) != 0, u);

	snprintf(t, sizeof(t), "%s/dtempXXXXXX", dir);
	snprintf(why, sizeof(why), "mkdtemp: %s", mkdtemp(t) ? t : strerror(errno));
	report("mkdtemp makes a directory there", stat(t, &st) == 0 && S_ISDIR(st.st_mode) &&
							!strstr(t, "XXXXXX"), why);
	snprintf(u, sizeof(u), "%s/inside", t);
	fd = open(u, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	report("a file in the new directory reaches the store",
	       fd >= 0 && write_close(fd, "inside\n") && landed(dir, store, u, "inside\n"), u);

	/* a template that climbs out of the mount names a local file, as the kernel cannot walk it */
	snprintf(t, sizeof(t), "%s", dir);
	for (const char *c = dir; *c; c++)
		if (*c == '/')
			strcat(t, "/..");
	strcat(strcat(t, store), "/climbXXXXXX");
	fd = mkstemp(t);
	snprintf(u, sizeof(u), "%s%s", store, strrchr(t, '/'));
	snprintf(why, sizeof(why), "mkstemp gave %d (%s), name %s", fd, strerror(errno), t);
	report("mkstemp of a template climbing out of the mount: the local file",
	       fd >= 0 && close(fd) == 0 && !strstr(t, "XXXXXX") && stat(u, &st) == 0 &&
		       S_ISREG(st.st_mode), why);
	strcpy(strrchr(t, '/'), "/climbdXXXXXX");
	snprintf(why, sizeof(why), "mkdtemp: %s", mkdtemp(t) ? t : strerror(errno));
	snprintf(u, sizeof(u), "%s%s", store, strrchr(t, '/'));
	report("mkdtemp climbing out of the mount: the local directory",
	       !strstr(t, "XXXXXX") && stat(u, &st) == 0 && S_ISDIR(st.st_mode), why);

	snprintf(t, sizeof(t), "%s/badXXXX", dir);
	errno = 0;
	report("a template without six X's: EINVAL", mkstemp(t) == -1 && errno == EINVAL,
	       strerror(errno));
	return report_done();
}
