/* SPDX-License-Identifier: MIT */
/*
 * recover.c - `cloudshim sync`: each journal entry in the recovery
 * directory is checked against its bytes (the MD5 recorded when the
 * upload failed) and handed to the uploader again, holding the entry's
 * write lock so that two syncs never send one file twice.  A success
 * removes the entry; a failure keeps it, with the new error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/journal.h"
#include "backend/partplan.h"
#include "backend/recover.h"
#include "backend/upload.h"

static struct store *store_for(const char *url, struct store *const *stores, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(store_url(stores[i]), url) == 0)
			return stores[i];
	return NULL;
}

static int lock_entry(const char *file)
{
	int fd = open(file, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 && journal_lock(fd, F_WRLCK) != 0) {
		close(fd);
		return -EBUSY;
	}
	return fd < 0 ? -errno : fd;
}

#define ORPHAN_MIN_AGE 10		/* seconds: a younger entry may be one being made */

enum outcome { SENT, FAILED, SKIPPED, LEFT };	/* LEFT: a live program's, not counted */

static int by_number(const void *a, const void *b)
{
	const struct journal_part *x = a, *y = b;

	return (x->n > y->n) - (x->n < y->n);
}

static off_t part_end(const struct journal_entry *e, const struct journal_part *p)
{
	return partplan_start(e->part_base, p->n) + p->len;
}

/* Whether [from, to) of fd is all hole. */
static int all_hole(int fd, off_t from, off_t to)
{
	off_t data = lseek(fd, from, SEEK_DATA);

	return data < 0 ? errno == ENXIO : data >= to;
}

/*
 * The parts a killed program's entry records as dropped from staging
 * are trusted where the staged file has a hole: a part whose bytes are
 * still there (the program was killed before they went, or wrote there
 * again after a cut) is sent again from them.  Keeps those in e, in
 * order; returns whether they explain every hole of fd (size bytes).
 */
static int trust_recorded(struct journal_entry *e, int fd, off_t size)
{
	off_t off = 0;
	int kept = 0, i = 0;

	if (!e->upload_id || e->part_base <= 0)
		return 0;
	qsort(e->parts, (size_t)e->nparts, sizeof(*e->parts), by_number);
	for (int k = 0; k < e->nparts; k++) {
		struct journal_part *p = &e->parts[k];
		int gone = p->n >= 1 && p->len > 0 && part_end(e, p) <= size &&
			   all_hole(fd, partplan_start(e->part_base, p->n), part_end(e, p));

		if (!gone || (kept && e->parts[kept - 1].n == p->n)) {
			free(p->etag);
			continue;
		}
		e->parts[kept++] = *p;
	}
	e->nparts = kept;
	while (off < size) {
		off_t hole = lseek(fd, off, SEEK_HOLE), data;

		if (hole < 0 || hole >= size)
			return hole >= 0;
		data = lseek(fd, hole, SEEK_DATA);
		if (data < 0)
			data = size;	/* ENXIO: a hole to the end */
		for (off = hole; off < data; off = part_end(e, &e->parts[i])) {
			while (i < e->nparts && part_end(e, &e->parts[i]) <= off)
				i++;
			if (i == e->nparts || partplan_start(e->part_base, e->parts[i].n) > off)
				return 0;
		}
	}
	return 1;
}

/*
 * An entry in the staging directory that no process holds: its program
 * was killed (SIGKILL, the OOM killer) before it sent the file.  Its
 * bytes go up as they were, as a local disk keeps what a killed program
 * wrote, with the parts its entry records as dropped from staging where
 * their bytes are gone (trust_recorded; they are in the store, and
 * upload_resume completes the multipart upload), unless it has holes no
 * recorded part explains, or the file was unlinked while open (then it
 * goes).  0: send it.
 */
static int orphan_check(struct journal_entry *e, const char *file, const char *data,
			int fd, FILE *out, enum outcome *why)
{
	struct stat sb;
	int explained;

	if (fstat(fd, &sb) != 0) {
		*why = LEFT;
		return -1;
	}
	if (e->unlinked) {
		unlink(data);
		unlink(file);
		fprintf(out, "removed %s: unlinked while open when its program ended\n", data);
		*why = LEFT;
		return -1;
	}
	explained = trust_recorded(e, fd, sb.st_size);
	if (!explained && (off_t)sb.st_blocks * 512 < sb.st_size) {
		fprintf(out, "skipped %s: its program ended while it was streamed, and parts "
			"dropped from staging may be missing; the rest stays in %s\n", e->path, data);
		*why = SKIPPED;
		return -1;
	}
	if (!e->nparts)		/* every byte is staged: a plain upload */
		journal_clear_parts(e);
	return 0;
}

/*
 * Whether staging entry name (file) may be left by a killed program: its
 * maker ("w-PID-...") is gone, or it is old enough that no program is
 * still between making it and locking it.  The lock says the rest.
 */
static int may_be_orphan(const char *name, const char *file)
{
	struct stat sb;
	int pid;

	if (sscanf(name, "w-%d-", &pid) == 1 && pid > 0 && kill(pid, 0) != 0 && errno == ESRCH)
		return 1;
	return stat(file, &sb) == 0 && time(NULL) - sb.st_ctime >= ORPHAN_MIN_AGE;
}

static enum outcome recover_one(const char *file, const char *data, struct store *const *stores,
				size_t n, int orphan, FILE *out)
{
	struct journal_entry e;
	struct store *st;
	struct upload *u;
	char md5[33] = "";
	enum outcome rc;
	int fd, hold, err = journal_read(file, &e);
	off_t size;

	if (err) {
		if (!orphan)
			fprintf(out, "skipped %s: unreadable entry (%s)\n", file, strerror(-err));
		return orphan ? LEFT : SKIPPED;		/* one being made is unreadable too */
	}
	st = store_for(e.url, stores, n);
	hold = lock_entry(file);
	fd = hold >= 0 ? open(data, O_RDONLY | O_CLOEXEC) : -1;
	size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	if (orphan && hold == -EBUSY) {
		rc = LEFT;	/* its program is alive and sends it */
	} else if (orphan && fd >= 0 && orphan_check(&e, file, data, fd, out, &rc) != 0) {
		/* rc says */
	} else if (fd >= 0 && e.md5[0] && (journal_md5(fd, md5) != 0 || strcmp(md5, e.md5) != 0)) {
		fprintf(out, "skipped %s: its bytes in %s changed since the upload failed\n",
			e.path, data);
		rc = SKIPPED;
	} else if (!st) {
		fprintf(out, "skipped %s: no mount for %s; configure it as when it was written\n",
			e.path, e.url);
		rc = SKIPPED;
	} else if (hold < 0) {
		fprintf(out, "skipped %s: %s\n", e.path, hold == -EBUSY ?
			"another process is sending it" : strerror(-hold));
		rc = SKIPPED;
	} else if (fd < 0) {
		fprintf(out, "skipped %s: %s: %s\n", e.path, data, strerror(errno));
		rc = SKIPPED;
	} else {
		struct upload_req req = { .st = st, .key = e.key, .path = e.path, .fd = fd,
					  .staged = data, .journal = file, .hold_fd = hold };

		fd = hold = -1;		/* the upload's now */
		err = e.upload_id ? upload_resume(&req, &e, &u) : upload_start(&req, &u);
		if (err == 0) {
			err = upload_wait(u);
			upload_put(u);
		}
		if (err == 0)
			fprintf(out, "sent %s (%lld bytes) to %s%s\n", e.path, (long long)size, e.url,
				orphan ? ", left staged when its program was killed" : "");
		else if (e.upload_id && err == -ENOENT)
			fprintf(out, "failed %s: the store no longer has the parts it was sent"
				" before (its multipart upload was aborted or expired); still kept\n",
				e.path);
		else
			fprintf(out, "failed %s: %s; %s\n", e.path, strerror(-err),
				orphan ? "now in the recovery directory" : "still kept");
		rc = err == 0 ? SENT : FAILED;
	}
	if (fd >= 0)
		close(fd);
	if (hold >= 0)
		close(hold);
	journal_free(&e);
	return rc;
}

static struct recover_result each_entry(const char *dir, struct store *const *stores, size_t n,
					int orphans, FILE *out)
{
	struct recover_result r = { 0, 0, 0 };
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return r;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char file[PATH_MAX], data[PATH_MAX];

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, de->d_name);
		snprintf(data, sizeof(data), "%s/%.*s", dir, (int)(len - 5), de->d_name);
		if (orphans && !may_be_orphan(de->d_name, file))
			continue;
		switch (recover_one(file, data, stores, n, orphans, out)) {
		case SENT:	r.sent++; break;
		case FAILED:	r.failed++; break;
		case SKIPPED:	r.skipped++; break;
		case LEFT:	break;
		}
	}
	closedir(d);
	return r;
}

struct recover_result recover_dir(const char *dir, struct store *const *stores, size_t n,
				  FILE *out)
{
	return each_entry(dir, stores, n, 0, out);
}

struct recover_result recover_orphans(const char *dir, struct store *const *stores, size_t n,
				      FILE *out)
{
	return each_entry(dir, stores, n, 1, out);
}
