/* SPDX-License-Identifier: MIT */
/*
 * climbcheck.c - paths that enter a mount only by climbing with ".." from
 * outside it (/etc/../data/x).  open, fopen, stat and access give such a
 * path to the kernel first when no mount's path is on the local disk, and
 * to the shim only if the kernel fails (shim/mount.h, mount_local_first):
 * the object must still be reached, a local path's errno must be the
 * kernel's, and where a local symbolic link takes the path elsewhere the
 * kernel's answer stands.  A path that climbs out of a mount reaches the
 * local disk by text, as the kernel cannot walk through the mount.  With a mount's path on the local disk ("present")
 * paths resolve by text, and the local file there must never answer.
 * Run through the shim.
 *
 *   climbcheck absent|present MOUNT OBJECT_COPY SCRATCH
 *
 * MOUNT is the mount's path, holding obj.bin, whose bytes OBJECT_COPY has.
 * SCRATCH is an empty local directory.  With "present", MOUNT/obj.bin is
 * also a local file with other bytes.  Prints "ok NAME" or "FAIL NAME why"
 * for each check, then a count line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "report.h"

static char *object;
static size_t object_len;

/* All of a file's bytes (malloc'd), or NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n == cap && !(buf = realloc(buf, cap = cap * 2 + 65536)))
			break;
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	*len = n;
	return buf;
}

/* open and read path: its bytes must be want (len bytes). */
static void check_open(const char *name, const char *path, const char *want, size_t len)
{
	char why[256], *buf = malloc(len + 1);
	int fd = open(path, O_RDONLY);
	ssize_t n = -1, got;

	snprintf(why, sizeof(why), "open %s: fd %d (errno %d)", path, fd, errno);
	if (fd >= 0 && buf) {
		for (n = 0; (size_t)n <= len && (got = read(fd, buf + n, len + 1 - (size_t)n)) > 0;)
			n += got;
		snprintf(why, sizeof(why), "%s: read %zd bytes, wanted %zu", path, n, len);
	}
	report(name, n == (ssize_t)len && memcmp(buf, want, len) == 0, why);
	if (fd >= 0)
		close(fd);
	free(buf);
}

/* stat, lstat, statx, access and fopen of path: a file of size len. */
static void check_lookups(const char *name, const char *path, size_t len)
{
	char label[128], why[256];
	struct stat st, lst;
	struct statx stx;
	FILE *f;

	snprintf(label, sizeof(label), "%s: stat, lstat, statx", name);
	snprintf(why, sizeof(why), "%s: sizes %lld, %lld, %llu; wanted %zu", path,
		 stat(path, &st) ? -1LL : (long long)st.st_size,
		 lstat(path, &lst) ? -1LL : (long long)lst.st_size,
		 statx(AT_FDCWD, path, 0, STATX_SIZE, &stx) ? ~0ULL : (unsigned long long)stx.stx_size,
		 len);
	report(label, stat(path, &st) == 0 && (size_t)st.st_size == len && lstat(path, &lst) == 0 &&
		      (size_t)lst.st_size == len &&
		      statx(AT_FDCWD, path, 0, STATX_SIZE, &stx) == 0 && stx.stx_size == len,
	       why);
	snprintf(label, sizeof(label), "%s: access, fopen", name);
	f = fopen(path, "r");
	snprintf(why, sizeof(why), "%s: access %d, fopen %s (errno %d)", path,
		 access(path, R_OK), f ? "ok" : "failed", errno);
	report(label, access(path, R_OK) == 0 && f && fseek(f, 0, SEEK_END) == 0 &&
		      (size_t)ftell(f) == len, why);
	if (f)
		fclose(f);
}

/* stat of path is the directory dir. */
static void check_same_dir(const char *name, const char *path, const char *dir)
{
	struct stat a, b;
	char why[256];
	int ra = stat(path, &a), rb = stat(dir, &b);

	snprintf(why, sizeof(why), "stat %.100s: %d (errno %d), of %.100s: %d", path, ra, errno, dir,
		 rb);
	report(name, ra == 0 && rb == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino, why);
}

/* Every lookup of path fails with want, as the kernel's would. */
static void check_errno(const char *name, const char *path, int want)
{
	int got[5];
	struct stat st;
	FILE *f;
	char why[256];

	errno = 0;
	got[0] = open(path, O_RDONLY) < 0 ? errno : 0;
	got[1] = stat(path, &st) ? errno : 0;
	got[2] = lstat(path, &st) ? errno : 0;
	got[3] = access(path, F_OK) ? errno : 0;
	f = fopen(path, "r");
	got[4] = f ? 0 : errno;
	if (f)
		fclose(f);
	snprintf(why, sizeof(why), "%s: open %d, stat %d, lstat %d, access %d, fopen %d; wanted %d",
		 path, got[0], got[1], got[2], got[3], got[4], want);
	report(name, got[0] == want && got[1] == want && got[2] == want && got[3] == want &&
		     got[4] == want, why);
}

/* The local path's type is want (S_IFDIR, S_IFREG, S_IFLNK), or missing when want is 0. */
static int is(const char *path, mode_t want)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (st.st_mode & S_IFMT) == want : errno == ENOENT && !want;
}

static int put(const char *path, const char *bytes);

/* "LABEL: CALL", good; the errno the check left and path when it fails. */
static void report_call(const char *label, const char *call, int good, const char *path)
{
	char name[256], why[512];

	snprintf(name, sizeof(name), "%s: %s", label, call);
	snprintf(why, sizeof(why), "%.400s: errno %d", path, errno);
	report(name, good, why);
}

/*
 * The calls that change or look at a path without asking the kernel
 * first, on paths that climb out of the mount ("via", absolute or
 * relative) to the local directory "dir": each must act on dir, as it
 * would with no mount at all.
 */
static void check_out_calls(const char *label, const char *via, const char *dir)
{
	char a[4096], b[4096], la[4096], lb[4096], got[64];
	struct timespec times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct dirent **list = NULL;
	struct statfs sa, sb;
	struct stat st;
	ssize_t len;
	DIR *d;
	int n;

#define AT(buf, base, name) snprintf(buf, sizeof(buf), "%s/%s", base, name)
	AT(a, via, "d");
	AT(la, dir, "d");
	AT(b, via, "e");
	AT(lb, dir, "e");
	report_call(label, "mkdir", mkdir(a, 0700) == 0 && is(la, S_IFDIR), a);
	d = opendir(a);
	report_call(label, "opendir", d != NULL, a);
	if (d)
		closedir(d);
	n = scandir(a, &list, NULL, NULL);
	report_call(label, "scandir", n == 2, a);
	while (n > 0)
		free(list[--n]);
	free(list);
	report_call(label, "rename", rename(a, b) == 0 && is(lb, S_IFDIR) && is(la, 0), a);
	report_call(label, "rmdir", rmdir(b) == 0 && is(lb, 0), b);

	AT(a, via, "f");
	AT(la, dir, "f");
	put(la, "0123456789");
	report_call(label, "truncate", truncate(a, 4) == 0 && stat(la, &st) == 0 &&
					 st.st_size == 4, a);
	report_call(label, "chmod", chmod(a, 0604) == 0 && stat(la, &st) == 0 &&
				      (st.st_mode & 07777) == 0604, a);
	report_call(label, "utimensat", utimensat(AT_FDCWD, a, times, 0) == 0 &&
					  stat(la, &st) == 0 && st.st_mtime == 1000000000, a);
	report_call(label, "statfs", statfs(a, &sa) == 0 && statfs(la, &sb) == 0 &&
				       sa.f_type == sb.f_type &&
				       memcmp(&sa.f_fsid, &sb.f_fsid, sizeof(sa.f_fsid)) == 0, a);
	report_call(label, "realpath", realpath(a, b) && realpath(la, lb) && strcmp(b, lb) == 0,
		    a);
	report_call(label, "syscall(SYS_newfstatat)",
		    syscall(SYS_newfstatat, AT_FDCWD, a, &st, 0) == 0 && st.st_size == 4, a);
	AT(b, via, "g");
	AT(lb, dir, "g");
	report_call(label, "link", link(a, b) == 0 && stat(lb, &st) == 0 && st.st_nlink == 2, b);
	report_call(label, "unlink", unlink(b) == 0 && is(lb, 0), b);
	AT(b, via, "s");
	AT(lb, dir, "s");
	report_call(label, "symlink", symlink("f", b) == 0 && is(lb, S_IFLNK), b);
	len = readlink(b, got, sizeof(got));
	report_call(label, "readlink", len == 1 && got[0] == 'f', b);
	report_call(label, "unlinkat", unlinkat(AT_FDCWD, b, 0) == 0 && is(lb, 0), b);
	report_call(label, "unlink", unlink(a) == 0 && is(la, 0), a);
#undef AT
}

/*
 * The calls that change a path, on paths that climb into the mount from
 * "/etc": each must act on the store, never on the local disk (where the
 * kernel would make the mount's own directory).
 */
static void check_in_calls(const char *label, const char *mnt)
{
	char path[4096], obj[4096], got[64];

	/* the kernel could make it: the mount's path is not on the disk, its parent is */
	snprintf(path, sizeof(path), "/etc/..%s", mnt);
	errno = 0;
	report_call(label, "mkdir of the mount itself: EEXIST",
		    mkdir(path, 0755) == -1 && errno == EEXIST, path);
	errno = 0;
	report_call(label, "open O_CREAT of the mount itself: EISDIR",
		    open(path, O_WRONLY | O_CREAT, 0644) == -1 && errno == EISDIR, path);
	errno = 0;
	report_call(label, "creat of the mount itself: EISDIR",
		    creat(path, 0644) == -1 && errno == EISDIR, path);
	errno = 0;
	report_call(label, "fopen \"w\" of the mount itself: EISDIR",
		    !fopen(path, "w") && errno == EISDIR, path);
	errno = 0;
	report_call(label, "symlink at the mount itself: EEXIST",
		    symlink("/etc", path) == -1 && errno == EEXIST, path);
	errno = 0;
	report_call(label, "mkfifo at the mount itself: EEXIST",
		    mkfifo(path, 0644) == -1 && errno == EEXIST, path);
	snprintf(path, sizeof(path), "/etc/..%s/climbed", mnt);
	snprintf(obj, sizeof(obj), "%s/climbed", mnt);
	report_call(label, "mkdir", mkdir(path, 0755) == 0 && is(obj, S_IFDIR), path);
	report_call(label, "rmdir", rmdir(path) == 0 && is(obj, 0), path);
	snprintf(path, sizeof(path), "/etc/..%s/climbed.txt", mnt);
	snprintf(obj, sizeof(obj), "%s/climbed.txt", mnt);
	report_call(label, "chmod", put(obj, "x\n") == 0 && chmod(path, 0644) == 0, path);
	errno = 0;
	report_call(label, "lgetxattr: ENODATA, as the shim says of a mounted file",
		    lgetxattr(path, "user.cloudshim", NULL, 0) == -1 && errno == ENODATA, path);
	errno = 0;
	report_call(label, "readlink: EINVAL, a mounted file is no link",
		    readlink(path, got, sizeof(got)) == -1 && errno == EINVAL, path);
	report_call(label, "unlink", unlink(path) == 0 && is(obj, 0), path);
}

/* "../" n times. */
static char *ups(int n)
{
	static char buf[1024];

	buf[0] = '\0';
	while (n-- > 0 && strlen(buf) + 4 < sizeof(buf))
		strcat(buf, "../");
	return buf;
}

/* Components in an absolute path: 2 for /tmp/x. */
static int depth(const char *path)
{
	int n = 0;

	for (const char *p = path; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			n++;
	return n;
}

static int put(const char *path, const char *bytes)
{
	FILE *f = fopen(path, "w");

	return f && fputs(bytes, f) >= 0 && fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	char path[8192], target[2048], local[2048];
	const char *mnt, *scratch;
	int present, d;

	if (argc != 5 || (strcmp(argv[1], "absent") && strcmp(argv[1], "present"))) {
		fprintf(stderr, "usage: climbcheck absent|present MOUNT OBJECT_COPY SCRATCH\n");
		return 2;
	}
	present = strcmp(argv[1], "present") == 0;
	mnt = argv[2];
	scratch = argv[4];
	if (!(object = slurp(argv[3], &object_len))) {
		perror(argv[3]);
		return 2;
	}

	/* from "/etc", which is no mount's: the kernel finds nothing, or (present) the local file */
	snprintf(path, sizeof(path), "/etc/..%s/obj.bin", mnt);
	check_open("climbing in from /etc: open reads the object", path, object, object_len);
	check_lookups("climbing in from /etc", path, object_len);
	snprintf(path, sizeof(path), "/etc/..%s/nope", mnt);
	check_errno("climbing in to a missing object: ENOENT", path, ENOENT);
	check_in_calls("climbing in from /etc", mnt);

	/* through a local file: the kernel says ENOTDIR, the text reaches the mount */
	snprintf(local, sizeof(local), "%s/file", scratch);
	if (put(local, "local\n")) {
		perror(local);
		return 2;
	}
	d = depth(local);
	snprintf(path, sizeof(path), "%s/%s%s/obj.bin", local, ups(d), mnt + 1);
	check_open("climbing in through a local file: open reads the object", path, object,
		   object_len);

	/* relative to a local current directory */
	if (chdir("/etc") == 0) {
		snprintf(path, sizeof(path), "..%s/obj.bin", mnt);
		check_open("relative, climbing in from /etc: open reads the object", path, object,
			   object_len);
		check_lookups("relative, climbing in from /etc", path, object_len);
		if (chdir("/")) {
			perror("chdir /");
			return 2;
		}
	}

	/* local paths that fail keep the kernel's errno */
	snprintf(path, sizeof(path), "%s/missing/x", scratch);
	check_errno("local missing path: ENOENT", path, ENOENT);
	snprintf(path, sizeof(path), "%s/x", local);
	check_errno("local path through a file: ENOTDIR", path, ENOTDIR);
	check_open("local file still opens", local, "local\n", 6);

	/*
	 * Out of the mount: MOUNT/.. is MOUNT's local parent, which the kernel
	 * cannot reach through MOUNT, a directory that is not on the disk.
	 */
	snprintf(path, sizeof(path), "%s/..", mnt);
	snprintf(target, sizeof(target), "%.*s", (int)(strrchr(mnt, '/') - mnt), mnt);
	check_same_dir("out of the mount: stat of MOUNT/.. is its parent", path,
		       target[0] ? target : "/");
	errno = 0;
	report("out of the mount: lgetxattr of MOUNT/.. is not ENOENT",
	       lgetxattr(path, "user.cloudshim", NULL, 0) >= 0 || errno != ENOENT,
	       strerror(errno));
	snprintf(path, sizeof(path), "%s/%s%s", mnt, ups(depth(mnt)), local + 1);
	check_open("out of the mount: open of MOUNT/../<local file>", path, "local\n", 6);
	snprintf(path, sizeof(path), "%s/%s%s", mnt, ups(depth(mnt)), scratch + 1);
	check_out_calls("out of the mount", path, scratch);
	if (chdir(mnt) == 0) {
		/* "../x" when scratch is beside the mount, which "/" cannot fake */
		size_t up = strlen(target);

		if (strncmp(scratch, target, up) == 0 && scratch[up] == '/')
			snprintf(path, sizeof(path), "..%s", scratch + up);
		else
			snprintf(path, sizeof(path), "%s%s", ups(depth(mnt)), scratch + 1);
		check_out_calls("out of the mount, from inside it", path, scratch);
		snprintf(path, sizeof(path), "%s%s", ups(depth(mnt)), local + 1);
		check_open("out of the mount, from inside it: open of ../<local file>", path,
			   "local\n", 6);
		report("out of the mount, from inside it: chdir(\"..\") goes to the parent",
		       chdir("..") == 0 && getcwd(path, sizeof(path)) &&
			       strcmp(path, target[0] ? target : "/") == 0,
		       path);
		if (chdir("/")) {
			perror("chdir /");
			return 2;
		}
	} else {
		report("chdir into the mount", 0, strerror(errno));
	}

	/*
	 * A local symbolic link the path climbs out of: by text the path is
	 * MOUNT/obj.bin; the kernel goes up from the link's target instead, to
	 * SCRATCH/MOUNT/obj.bin, a local file.  Absent: the kernel answers
	 * first, as it would with no shim.  Present: the text decides.
	 */
	d = depth(scratch) + 1;
	snprintf(target, sizeof(target), "%s/real", scratch);
	if (mkdir(target, 0755)) {
		perror(target);
		return 2;
	}
	for (int i = 1; i < d; i++) {
		strcat(target, "/x");
		if (mkdir(target, 0755)) {
			perror(target);
			return 2;
		}
	}
	snprintf(path, sizeof(path), "%s/ln", scratch);
	if (symlink(target, path)) {
		perror(path);
		return 2;
	}
	snprintf(local, sizeof(local), "%s%s", scratch, mnt);
	for (char *s = local + strlen(scratch) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(local, 0755);
		*s = '/';
	}
	mkdir(local, 0755);
	strcat(local, "/obj.bin");
	if (put(local, "physical\n")) {
		perror(local);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/ln/%s%s/obj.bin", scratch, ups(d), mnt + 1);
	if (present) {
		check_open("through a local link, mount path on disk: the text decides", path,
			   object, object_len);
	} else {
		check_open("through a local link: the kernel's answer stands", path, "physical\n",
			   9);
		check_lookups("through a local link: the kernel's answer stands", path, 9);
	}
	return report_done();
}
