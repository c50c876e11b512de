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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/journal.h"
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

/* One entry: 1 sent, 0 failed, -1 skipped. */
static int recover_one(const char *file, const char *data, struct store *const *stores, size_t n,
		       FILE *out)
{
	struct journal_entry e;
	struct store *st;
	struct upload *u;
	char md5[33] = "";
	int fd, hold, rc = journal_read(file, &e);

	if (rc) {
		fprintf(out, "skipped %s: unreadable entry (%s)\n", file, strerror(-rc));
		return -1;
	}
	st = store_for(e.url, stores, n);
	hold = st ? lock_entry(file) : -EINVAL;
	fd = hold >= 0 ? open(data, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0 && e.md5[0] && (journal_md5(fd, md5) != 0 || strcmp(md5, e.md5) != 0)) {
		fprintf(out, "skipped %s: its bytes in %s changed since the upload failed\n",
			e.path, data);
		rc = -1;
	} else if (!st) {
		fprintf(out, "skipped %s: no mount for %s; configure it as when it was written\n",
			e.path, e.url);
		rc = -1;
	} else if (hold < 0) {
		fprintf(out, "skipped %s: %s\n", e.path, hold == -EBUSY ?
			"another process is sending it" : strerror(-hold));
		rc = -1;
	} else if (fd < 0) {
		fprintf(out, "skipped %s: %s: %s\n", e.path, data, strerror(errno));
		rc = -1;
	} else {
		struct upload_req req = { .st = st, .key = e.key, .path = e.path, .fd = fd,
					  .staged = data, .journal = file, .hold_fd = hold };

		fd = hold = -1;		/* the upload's now */
		rc = e.upload_id ? upload_resume(&req, &e, &u) : upload_start(&req, &u);
		if (rc == 0) {
			rc = upload_wait(u);
			upload_put(u);
		}
		if (rc == 0)
			fprintf(out, "sent %s (%lld bytes) to %s\n", e.path, (long long)e.size, e.url);
		else if (e.upload_id && rc == -ENOENT)
			fprintf(out, "failed %s: the store no longer has the parts it was sent"
				" before (its multipart upload was aborted or expired); still kept\n",
				e.path);
		else
			fprintf(out, "failed %s: %s; still kept\n", e.path, strerror(-rc));
		rc = rc == 0;
	}
	if (fd >= 0)
		close(fd);
	if (hold >= 0)
		close(hold);
	journal_free(&e);
	return rc;
}

struct recover_result recover_dir(const char *dir, struct store *const *stores, size_t n,
				  FILE *out)
{
	struct recover_result r = { 0, 0, 0 };
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return r;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char file[PATH_MAX], data[PATH_MAX];
		int rc;

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, de->d_name);
		snprintf(data, sizeof(data), "%s/%.*s", dir, (int)(len - 5), de->d_name);
		rc = recover_one(file, data, stores, n, out);
		if (rc > 0)
			r.sent++;
		else if (rc == 0)
			r.failed++;
		else
			r.skipped++;
	}
	closedir(d);
	return r;
}
