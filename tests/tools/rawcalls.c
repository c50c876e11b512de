/* SPDX-License-Identifier: MIT */
/*
 * rawcalls.c - syscall(2) on mounted paths and descriptors, as programs
 * that bypass the C library make them: the bytes must be the local copy's,
 * and a call that cannot be served must fail, never read the placeholder
 * behind a mounted descriptor.  Run through the shim.
 *
 *   rawcalls MOUNTED_FILE LOCAL_COPY
 *
 * Prints "ok NAME" or "FAIL NAME why" for each check, then a count line.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "report.h"

static unsigned char *local;
static size_t local_len;

/* buf holds the local copy's bytes [off, off+n). */
static int same(const void *buf, off_t off, size_t n)
{
	return off >= 0 && (size_t)off + n <= local_len && memcmp(buf, local + off, n) == 0;
}

static void check_bytes(const char *name, long got, const void *buf, off_t off, size_t want)
{
	char why[128];

	snprintf(why, sizeof(why), "returned %ld (errno %d), wanted %zu bytes of the file", got,
		 got < 0 ? errno : 0, want);
	report(name, got == (long)want && same(buf, off, want), why);
}

static void check_errno(const char *name, long got, int want)
{
	char why[128];

	snprintf(why, sizeof(why), "returned %ld, errno %d (%s); wanted errno %d", got,
		 errno, strerror(errno), want);
	report(name, got == -1 && errno == want, why);
}

/* Drains n bytes from a pipe into buf. */
static long drain(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);

		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return (long)got;
}

int main(int argc, char **argv)
{
	char buf[8192], *m;
	struct iovec iov[2] = { { buf, 100 }, { buf + 100, 200 } };
	struct open_how how = { .flags = O_RDONLY };
	struct stat sb;
	loff_t off;
	off_t soff;
	int fd, lfd, p[2];
	long rc;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: rawcalls MOUNTED_FILE LOCAL_COPY\n");
		return 2;
	}
	f = fopen(argv[2], "rb");
	local = malloc(1 << 20);
	local_len = f && local ? fread(local, 1, 1 << 20, f) : 0;
	if (!f || local_len < 20000) {
		fprintf(stderr, "rawcalls: %s: want a local copy of at least 20000 bytes\n", argv[2]);
		return 2;
	}
	fclose(f);

	fd = (int)syscall(SYS_open, argv[1], O_RDONLY, 0);
	report("SYS_open of a mounted path", fd >= 0, strerror(errno));
	if (fd < 0)
		return 1;
	rc = syscall(SYS_read, fd, buf, 1000L);
	check_bytes("SYS_read", rc, buf, 0, 1000);
	rc = syscall(SYS_pread64, fd, buf, 500L, 3000L);
	check_bytes("SYS_pread64", rc, buf, 3000, 500);
	rc = syscall(SYS_preadv, fd, iov, 2, 5000L, 0L);
	check_bytes("SYS_preadv", rc, buf, 5000, 300);
	rc = syscall(SYS_preadv2, fd, iov, 2, 7000L, 0L, 0);
	check_bytes("SYS_preadv2", rc, buf, 7000, 300);
	rc = syscall(SYS_lseek, fd, 9000L, SEEK_SET);
	report("SYS_lseek", rc == 9000, "wrong offset");
	rc = syscall(SYS_readv, fd, iov, 2);
	check_bytes("SYS_readv at the descriptor's offset", rc, buf, 9000, 300);
	rc = syscall(SYS_fstat, fd, &sb);
	report("SYS_fstat: the object's size", rc == 0 && (size_t)sb.st_size >= local_len,
	       "wrong size");
	rc = syscall(SYS_stat, argv[1], &sb);
	report("SYS_stat of a mounted path", rc == 0 && S_ISREG(sb.st_mode), "not a file");
	rc = syscall(SYS_access, argv[1], R_OK);
	report("SYS_access of a mounted path", rc == 0, strerror(errno));

	if (pipe(p) == 0) {
		off = 11000;
		rc = syscall(SYS_splice, fd, &off, p[1], NULL, 400L, 0);
		memset(buf, 0, 400);
		check_bytes("SYS_splice from a mounted file", rc == 400 ? drain(p[0], buf, 400) : rc,
			    buf, 11000, 400);
		soff = 12000;
		rc = syscall(SYS_sendfile, p[1], fd, &soff, 300L);
		check_bytes("SYS_sendfile from a mounted file",
			    rc == 300 ? drain(p[0], buf, 300) : rc, buf, 12000, 300);
		close(p[0]);
		close(p[1]);
	}
	lfd = open("/dev/shm", O_TMPFILE | O_RDWR, 0600);
	if (lfd >= 0) {
		off = 13000;
		rc = syscall(SYS_copy_file_range, fd, &off, lfd, NULL, 600L, 0);
		memset(buf, 0, 600);
		check_bytes("SYS_copy_file_range from a mounted file",
			    rc == 600 ? (long)pread(lfd, buf, 600, 0) : rc, buf, 13000, 600);
		close(lfd);
	}
	m = (char *)syscall(SYS_mmap, NULL, 8192L, PROT_READ, MAP_PRIVATE, fd, 0L);
	report("SYS_mmap of a mounted file: the file's bytes",
	       m != MAP_FAILED && same(m, 0, 8192), "failed or wrong bytes");
	if (m != MAP_FAILED)
		munmap(m, 8192);
	check_errno("SYS_readahead: ENOTSUP, not the placeholder's", syscall(SYS_readahead, fd, 0L,
									    4096L), ENOTSUP);
	check_errno("SYS_write to a file opened read-only: EBADF", syscall(SYS_write, fd, "x", 1L),
		    EBADF);
	rc = syscall(SYS_openat2, AT_FDCWD, argv[1], &how, sizeof(how));
	report("SYS_openat2 of a mounted path", rc >= 0 && pread((int)rc, buf, 100, 0) == 100 &&
	       same(buf, 0, 100), "failed or wrong bytes");
	if (rc >= 0)
		close((int)rc);
	how.resolve = RESOLVE_NO_SYMLINKS;
	check_errno("SYS_openat2 with resolve flags: ENOTSUP",
		    syscall(SYS_openat2, AT_FDCWD, argv[1], &how, sizeof(how)), ENOTSUP);
	rc = syscall(SYS_close, fd);
	report("SYS_close", rc == 0, strerror(errno));
	return report_done();
}
