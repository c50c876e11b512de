/* SPDX-License-Identifier: MIT */
/*
 * attrcheck.c - extended attributes and pathconf of mounted paths, which
 * the kernel cannot see: a store keeps no attributes, so a file or
 * directory there has none and setting one is ENOTSUP (what makes cp -a
 * fall back to chmod); pathconf gives the store's limits; a missing path
 * is ENOENT for all of them.  Run through the shim.
 *
 *   attrcheck rw|ro MOUNTED_DIR      (ro: the mount is read-only)
 *
 * MOUNTED_DIR must hold a file named "file".  Prints "ok NAME" or "FAIL
 * NAME why" for each check, then a count line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "report.h"

static char why[160];

/* rc is -1 with errno want. */
static void fails(const char *name, long rc, int want)
{
	snprintf(why, sizeof(why), "gave %ld, errno %d (%s); wanted errno %d", rc, errno,
		 strerror(errno), want);
	report(name, rc == -1 && errno == want, why);
	errno = 0;
}

static void gives(const char *name, long rc, long want)
{
	snprintf(why, sizeof(why), "gave %ld, errno %d (%s); wanted %ld", rc, errno,
		 strerror(errno), want);
	report(name, rc == want, why);
	errno = 0;
}

int main(int argc, char **argv)
{
	char file[4096], missing[4096], list[64];
	int ro, fd;

	if (argc != 3 || (strcmp(argv[1], "rw") && strcmp(argv[1], "ro"))) {
		fprintf(stderr, "usage: attrcheck rw|ro MOUNTED_DIR\n");
		return 2;
	}
	ro = strcmp(argv[1], "ro") == 0;
	snprintf(file, sizeof(file), "%s/file", argv[2]);
	snprintf(missing, sizeof(missing), "%s/no-such-file", argv[2]);

	fails("getxattr of a mounted file: ENODATA", getxattr(file, "user.x", list, sizeof(list)),
	      ENODATA);
	fails("lgetxattr system.posix_acl_access of the directory: ENODATA",
	      lgetxattr(argv[2], "system.posix_acl_access", NULL, 0), ENODATA);
	gives("listxattr of a mounted file: an empty list", listxattr(file, list, sizeof(list)), 0);
	gives("llistxattr of the directory: an empty list", llistxattr(argv[2], NULL, 0), 0);
	fails("setxattr of a mounted file", setxattr(file, "user.x", "1", 1, 0),
	      ro ? EROFS : ENOTSUP);
	fails("lsetxattr system.posix_acl_access of the directory",
	      lsetxattr(argv[2], "system.posix_acl_access", "\2\0\0\0", 4, 0), ro ? EROFS : ENOTSUP);
	fails("removexattr of a mounted file", removexattr(file, "user.x"), ro ? EROFS : ENODATA);
	fails("getxattr of a missing path: ENOENT", getxattr(missing, "user.x", NULL, 0), ENOENT);
	fails("listxattr of a missing path: ENOENT", listxattr(missing, NULL, 0), ENOENT);
	fails("setxattr of a missing path: ENOENT", setxattr(missing, "user.x", "1", 1, 0), ENOENT);

	gives("pathconf NAME_MAX of the directory: the store's 1024",
	      pathconf(argv[2], _PC_NAME_MAX), 1024);
	gives("pathconf PATH_MAX of a file: the C library's", pathconf(file, _PC_PATH_MAX),
	      pathconf("/", _PC_PATH_MAX));
	fails("pathconf of a missing path: ENOENT", pathconf(missing, _PC_NAME_MAX), ENOENT);

	if ((fd = open(file, O_RDONLY)) < 0) {
		report("open of the file", 0, strerror(errno));
		return report_done();
	}
	fails("fgetxattr of a mounted descriptor: ENODATA", fgetxattr(fd, "user.x", NULL, 0),
	      ENODATA);
	gives("flistxattr of a mounted descriptor: an empty list", flistxattr(fd, NULL, 0), 0);
	fails("fsetxattr of a mounted descriptor", fsetxattr(fd, "user.x", "1", 1, 0),
	      ro ? EROFS : ENOTSUP);
	gives("fpathconf NAME_MAX of a mounted descriptor: 1024", fpathconf(fd, _PC_NAME_MAX), 1024);
	close(fd);
	return report_done();
}
