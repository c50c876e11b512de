/* SPDX-License-Identifier: MIT */
/*
 * journal.h - the record of staged files not yet in the store.
 *
 * Every staged file has a journal entry beside it, a small JSON file:
 * the program's path, the store URL and key; the parts of its multipart
 * upload whose bytes were dropped from staging, recorded before they
 * go, so that the file of a program killed meanwhile can still be
 * completed; and once an upload failed, the size, MD5 and error (with
 * the parts the store already holds).  A failed upload moves both into
 * the recovery directory; `cloudshim sync` reads the entries there and
 * uploads again.  Entries hold no secret: credentials come from the
 * configuration.
 */
#ifndef CLOUDSHIM_JOURNAL_H
#define CLOUDSHIM_JOURNAL_H

#include <stddef.h>
#include <sys/types.h>

/* A part of a multipart upload that the store holds. */
struct journal_part {
	int n;			/* from 1 */
	off_t len;
	char *etag;
};

struct journal_entry {
	char *path;		/* as the program named it: "/data/out.bin" */
	char *url;		/* the mount's store URL: "s3://bucket/prefix" */
	char *key;		/* the object key below url */
	off_t size;		/* -1 until an upload failed */
	char md5[33];		/* hex; "" until an upload failed */
	char *error;		/* NULL until an upload failed */
	int unlinked;		/* its name went while it was open: it has no key */
	/*
	 * A file some of whose bytes were dropped from staging, and exist
	 * only in the parts of its multipart upload: the upload, its part
	 * layout (backend/partplan.h) and the parts the store holds (in a
	 * staging entry, those dropped; in a kept one, all it has).  The
	 * file has holes where dropped parts' bytes were.
	 */
	char *upload_id;	/* NULL: every byte is in the kept file */
	off_t part_base;
	struct journal_part *parts;
	int nparts;
};

/* Writes e to file (mode 0600, replaced atomically).  0 or -errno. */
int journal_write(const char *file, const struct journal_entry *e);

/*
 * Writes e over the entry open as fd, in place (its locks stay): what a
 * rename of the file while it is open makes it.  0 or -errno.
 */
int journal_rewrite(int fd, const struct journal_entry *e);

/*
 * Adds jp to the parts of the entry open as fd, which journal_rewrite
 * wrote with an upload: one small write in place, its lock kept.  0 or
 * -errno (-EINVAL: the entry has no parts list to add to).
 */
int journal_append_part(int fd, const struct journal_part *jp);

/* Reads file into e (free with journal_free).  0, -ENOENT or -EINVAL. */
int journal_read(const char *file, struct journal_entry *e);

/*
 * The same from the entry open as fd, which stays open: closing any
 * descriptor of the entry would drop this process's lock on it.
 */
int journal_read_fd(int fd, struct journal_entry *e);
void journal_free(struct journal_entry *e);

/* Forgets e's multipart upload and parts (upload_id NULL). */
void journal_clear_parts(struct journal_entry *e);

/*
 * Moves a failed upload's staged bytes (data) and its entry (file) into
 * dir, created 0700 if needed, recording size, MD5 and error.  On return
 * *kept_data names the data file kept (malloc'd).  Holes stay holes.
 * 0 or -errno.
 */
int journal_keep(const char *dir, const char *data, const char *file, struct journal_entry *e,
		 const char *error, char **kept_data);

/* The MD5 of fd's bytes as 32 hex digits.  0 or -errno. */
int journal_md5(int fd, char hex[33]);

/*
 * The lock on the first byte of an entry, fd, says who holds its staged
 * file: each process that does read-locks it; the last to let go, or
 * `cloudshim sync`, takes it for writing.  journal_lock sets type
 * (F_RDLCK, F_WRLCK, F_UNLCK) without waiting: 0 or -errno.
 * journal_held_elsewhere: 1 when another process holds a lock there, 0
 * when none does, or -errno.
 */
int journal_lock(int fd, short type);
int journal_held_elsewhere(int fd);

#endif
