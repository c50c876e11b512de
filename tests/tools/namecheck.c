/* SPDX-License-Identifier: MIT */
/*
 * namecheck.c - unlink and rename of a mounted path while this program
 * has it open for writing, as on a local disk: after unlink the open
 * file still reads and writes but has no name, and its close uploads
 * nothing; after rename its bytes, those written after too, land under
 * the new name only.  Before its first fsync such a file is in no store
 * yet: the calls must not say ENOENT.  And remove(3), mkfifo(3) and
 * lutimes(3), whose calls of unlink, mknodat and utimensat inside glibc a
 * preload does not see.  Run through the shim on a
 * file:// mount whose store directory is STORE.
 *
 *   namecheck MOUNTED_DIR STORE_DIR
 *
 * Prints "ok NAME" or "FAIL NAME why" for each check, then a count line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "mounted.h"
#include "report.h"

/* The store has no object called name. */
static int not_stored(const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", store, name);
	return access(path, F_OK) != 0 && errno == ENOENT;
}

static void unlinked(int synced)
{
	const char *name = synced ? "gone-synced.tmp" : "gone.tmp";
	char label[128], why[160], buf[32] = "";
	struct stat st;
	int fd = open_at(name, O_RDWR | O_CREAT | O_TRUNC), good, gone;

	good = fd >= 0 && put(fd, "hello") && (!synced || fsync(fd) == 0) &&
	       unlink(at(name)) == 0;
	gone = good && stat(at(name), &st) != 0 && errno == ENOENT;
	good = good && put(fd, " world") && pread(fd, buf, sizeof(buf) - 1, 0) == 11 &&
	       strcmp(buf, "hello world") == 0;
	if (fd >= 0 && close(fd) != 0)
		good = 0;
	snprintf(why, sizeof(why), "calls %s (errno %d), stat after unlink %s, read back \"%s\"",
		 good ? "worked" : "failed", errno, gone ? "ENOENT" : "found it", buf);
	snprintf(label, sizeof(label), "unlink of a file open for writing%s: it reads and writes on",
		 synced ? ", after fsync" : "");
	report(label, good && gone, why);
	snprintf(label, sizeof(label), "unlink of a file open for writing%s: not in the store after close",
		 synced ? ", after fsync" : "");
	report(label, not_stored(name) && stat(at(name), &st) != 0, "the store has it");
}

/*
 * write, maybe fsync, rename (onto an existing object when over), write
 * more, append through a new open of the new name, close: the new name
 * holds all of it, the old one nothing.
 */
static void renamed(const char *from, const char *to, int synced, int over)
{
	const char *want = "part1-part2-part3";
	char label[160], why[512];
	struct stat st;
	int fd, more = -1, good, old_gone;

	if (over && (fd = open_at(to, O_WRONLY | O_CREAT | O_TRUNC)) >= 0) {
		put(fd, "an older object");
		close(fd);
	}
	fd = open_at(from, O_WRONLY | O_CREAT | O_TRUNC);
	good = fd >= 0 && put(fd, "part1-") && (!synced || fsync(fd) == 0) &&
	       rename(at(from), at(to)) == 0;
	old_gone = good && stat(at(from), &st) != 0 && errno == ENOENT;
	good = good && put(fd, "part2-") && stat(at(to), &st) == 0 && st.st_size == 12 &&
	       (more = open_at(to, O_WRONLY | O_APPEND)) >= 0 && put(more, "part3");
	if (more >= 0 && close(more) != 0)
		good = 0;
	if (fd >= 0 && close(fd) != 0)
		good = 0;
	/* the last close's upload: an fsync of a fresh open makes it durable */
	if (good && (fd = open_at(to, O_WRONLY | O_APPEND)) >= 0) {
		good = fsync(fd) == 0;
		close(fd);
	}
	snprintf(label, sizeof(label), "rename of a file open for writing%s%s: the new name has every byte",
		 synced ? ", after fsync" : "", over ? ", over an object" : "");
	snprintf(why, sizeof(why), "calls %s (errno %d), old name %s after rename", good ? "worked" :
		 "failed", errno, old_gone ? "gone" : "still there");
	if (good && old_gone)
		good = landed(to, want, strlen(want), why, sizeof(why));
	report(label, good && old_gone, why);
	snprintf(label, sizeof(label), "rename of a file open for writing%s%s: the old name is not stored",
		 synced ? ", after fsync" : "", over ? ", over an object" : "");
	/* stat through the shim sees an upload still on its way, too */
	report(label, not_stored(from) && stat(at(from), &st) != 0,
	       "the store, or an upload on its way, still has the old name");
}

/*
 * A stored file renamed onto a path this program has open for writing:
 * as on a local disk, the open file loses its name, so its close (after
 * more writes) must not put its bytes back over the renamed object.
 */
static void renamed_over_open(void)
{
	const char *want = "the renamed bytes";
	char why[256];
	int fd, victim = open_at("busy", O_WRONLY | O_CREAT | O_TRUNC), good;

	good = victim >= 0 && put(victim, "written while open");
	if ((fd = open_at("incoming", O_WRONLY | O_CREAT | O_TRUNC)) >= 0) {
		good = put(fd, want) && fsync(fd) == 0 && good;
		close(fd);
	}
	good = good && rename(at("incoming"), at("busy")) == 0 && put(victim, ", and after");
	if (victim >= 0 && close(victim) != 0)
		good = 0;
	/* an fsync of a fresh open waits for what is on its way */
	if (good && (fd = open_at("busy", O_WRONLY | O_APPEND)) >= 0) {
		good = fsync(fd) == 0;
		close(fd);
	}
	snprintf(why, sizeof(why), "calls %s (errno %d)", good ? "worked" : "failed", errno);
	if (good)
		good = landed("busy", want, strlen(want), why, sizeof(why));
	report("rename onto a file open for writing: that file's close does not undo it", good, why);
}

/*
 * A directory renamed while a file below it is open for writing (never
 * sent yet): the file lands under the new directory, with what was
 * written after the rename; nothing under the old one.
 */
/*
 * Writes "before " to file (below directory from), renames from to to,
 * writes "after", closes, and syncs the file under its new name (moved);
 * 1 when the store then has those 12 bytes there.
 */
static int carried(const char *file, const char *from, const char *to, const char *moved,
		   char *why, size_t n)
{
	int fd = open_at(file, O_WRONLY | O_CREAT | O_TRUNC);
	int good = fd >= 0 && put(fd, "before ") && rename(at(from), at(to)) == 0 &&
		   put(fd, "after");

	if (fd >= 0 && close(fd) != 0)
		good = 0;
	if (good && (fd = open_at(moved, O_WRONLY | O_APPEND)) >= 0) {
		good = fsync(fd) == 0;
		close(fd);
	}
	snprintf(why, n, "calls %s (errno %d)", good ? "worked" : "failed", errno);
	return good && landed(moved, "before after", 12, why, n);
}

static void renamed_dir_with_open_file(void)
{
	char why[256];
	struct stat st;
	int good;

	mkdir(at("olddir"), 0755);
	good = carried("olddir/log", "olddir", "newdir", "newdir/log", why, sizeof(why));
	report("rename of a directory carries a file open below it", good, why);
	good = not_stored("olddir/log") && stat(at("olddir/log"), &st) != 0 && errno == ENOENT;
	report("rename of a directory: nothing stored under the old one", good,
	       "the store, or an upload on its way, has olddir/log");
}

/* rename(2) onto a directory that is not empty: ENOTEMPTY, nothing moved. */
static void renamed_onto_full_dir(void)
{
	char why[128];
	int fd, rc;

	mkdir(at("src"), 0755);
	mkdir(at("full"), 0755);
	if ((fd = open_at("src/a", O_WRONLY | O_CREAT | O_TRUNC)) >= 0)
		close(fd);
	if ((fd = open_at("full/b", O_WRONLY | O_CREAT | O_TRUNC)) >= 0)
		close(fd);
	errno = 0;
	rc = rename(at("src"), at("full"));
	snprintf(why, sizeof(why), "rename gave %d, errno %d", rc, errno);
	report("rename of a directory onto one not empty: ENOTEMPTY", rc == -1 && errno == ENOTEMPTY,
	       why);
	report("rename of a directory onto one not empty: nothing moved",
	       not_stored("full/a") && access(at("src/a"), F_OK) == 0, "src/a moved");
}

/*
 * A directory that only files open for writing make (opened below a
 * name never made, as a store allows): it can be renamed, and it is not
 * empty to a directory renamed onto it.
 */
static void renamed_unsent_dir(void)
{
	char why[128];
	int busy, good, rc;

	good = carried("unsent/sub/log", "unsent", "sent", "sent/sub/log", why, sizeof(why));
	report("rename of a directory only open files make carries them", good, why);
	busy = open_at("filling/x", O_WRONLY | O_CREAT | O_TRUNC);
	mkdir(at("idle"), 0755);
	errno = 0;
	rc = rename(at("idle"), at("filling"));
	snprintf(why, sizeof(why), "rename gave %d, errno %d", rc, errno);
	report("rename onto a directory only open files make: ENOTEMPTY", rc == -1 && errno == ENOTEMPTY,
	       why);
	if (busy >= 0)
		close(busy);
}

/* Calls glibc makes of others a preload does not see: what those others give. */
static void indirect(void)
{
	struct timeval tv[2] = { { 1, 0 }, { 1, 0 } };
	char why[96];
	int fd = open_at("touched", O_WRONLY | O_CREAT | O_TRUNC), rc;

	if (fd >= 0)
		close(fd);
	rc = lutimes(at("touched"), tv);
	snprintf(why, sizeof(why), "lutimes gave %d, errno %d", rc, errno);
	report("lutimes of a mounted file succeeds without effect, as utimes", rc == 0, why);
	errno = 0;
	rc = mkfifo(at("fifo"), 0644);
	snprintf(why, sizeof(why), "mkfifo gave %d, errno %d", rc, errno);
	report("mkfifo on a mount: EPERM, as mknod (a store has no FIFOs)", rc == -1 && errno == EPERM,
	       why);
}

/* remove(3) of a file, then of the empty directory it was in. */
static void removed(void)
{
	char why[128];
	struct stat st;
	int fd, file, directory;

	mkdir(at("rmdir"), 0755);
	if ((fd = open_at("rmdir/file", O_WRONLY | O_CREAT | O_TRUNC)) >= 0) {
		put(fd, "x");
		fsync(fd);
		close(fd);
	}
	file = remove(at("rmdir/file")) == 0 && not_stored("rmdir/file");
	snprintf(why, sizeof(why), "remove gave errno %d; the store %s it", errno,
		 not_stored("rmdir/file") ? "lacks" : "has");
	report("remove of a mounted file deletes it", file, why);
	directory = remove(at("rmdir")) == 0 && stat(at("rmdir"), &st) != 0 && errno == ENOENT;
	snprintf(why, sizeof(why), "remove or the stat after it: errno %d", errno);
	report("remove of an empty mounted directory removes it", directory, why);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: namecheck MOUNTED_DIR STORE_DIR\n");
		return 2;
	}
	dir = argv[1];
	store = argv[2];
	unlinked(0);
	unlinked(1);
	renamed("ckpt.tmp", "ckpt", 0, 0);
	renamed("synced.tmp", "synced", 1, 0);
	renamed("over.tmp", "over", 1, 1);
	renamed_over_open();
	renamed_dir_with_open_file();
	renamed_onto_full_dir();
	renamed_unsent_dir();
	removed();
	indirect();
	return report_done();
}
