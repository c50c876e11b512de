/* SPDX-License-Identifier: MIT */
/*
 * stage.h - staged files: where writes to mounted paths land.
 *
 * A write opens a real file in the staging directory (default
 * /dev/shm/cloudshim-UID, 0700; files 0600, created O_EXCL|O_NOFOLLOW),
 * so every write path of every program works natively at memory speed.
 * Beside each staged file is its journal entry (backend/journal.h), which
 * also says who still holds the file: each process holding it keeps a
 * POSIX read lock on the entry.  Such locks are per process and are not
 * inherited by fork, so the process that closes last, and only it, can
 * take the write lock, and uploads.  Names carry no path or secret.
 */
#ifndef CLOUDSHIM_STAGE_H
#define CLOUDSHIM_STAGE_H

#include <limits.h>
#include <stdatomic.h>

#include "shim/mount.h"

struct upload;

struct staged {
	char data[PATH_MAX];		/* the staged bytes */
	char journal[PATH_MAX];		/* its journal entry */
	int lock_fd;			/* the entry, read-locked while we hold it */
	int own_fd;			/* our descriptor of the data, for the upload */
	struct upload *stream;		/* sent while written (backend/upload.h) */
	int holes;			/* parts were dropped: not every byte is here */
	int detached;			/* another process streams it: hands off */
	int kept;			/* its failed fsync left it for `cloudshim sync` */
	int mapped;			/* mapped shared and writable: writes unseen */
	int synced;			/* fsync made it durable as synced_* say */
	int unlinked;			/* its name went: nothing is sent at close */
	int renamed;			/* took another name here, replacing what was there */
	off_t synced_size;
	struct timespec synced_mtime;
	atomic_int sharers;		/* other opens in this process writing it */
};

/* Sets up the staging directory dir.  0, or -errno with why it cannot be used in why. */
int stage_setup(const char *dir, char *why, size_t n);

/*
 * A new staged file for key under m, which path names: the program's
 * descriptor (flags: O_CLOEXEC honoured) and *s.  exclusive: fails with
 * -EEXIST while another process on this machine creates the same key.
 */
int stage_create(struct mount *m, const char *key, const char *path, int exclusive,
		 int flags, struct staged *s);

/*
 * This process lets go of s: 1 when no other process holds it.  The
 * caller then uploads it, and lock_fd, now write-locked, goes with the
 * upload so that `cloudshim sync` leaves the entry alone meanwhile.
 */
int stage_release(struct staged *s);

/* Forgets s entirely: the bytes are not wanted (a failed open). */
void stage_discard(struct staged *s);

/* 1 when path is a name in the staging directory itself. */
int stage_names(const char *path);

/*
 * After exec: take hold of the staged file data that fd (inherited) is,
 * with its entry (hold_it 0: only a descriptor of it, holding nothing).
 * 0 or -errno (fd is not that file, or it is gone).
 */
int stage_adopt(int fd, const char *data, int hold_it, struct staged *s);

/* 1 when no other process holds s. */
int stage_alone(const struct staged *s);

/* In a forked child: take this process's hold again. */
void stage_rehold(struct staged *s);

/*
 * s, open for writing, was renamed to key (program path path) or, with
 * key NULL, unlinked: its entry says so, for an exec'd program adopting
 * it, `cloudshim sync`, and other processes looking (stage_peers.c).  An
 * O_EXCL create's file leaves the name that claimed its old key.
 */
void stage_renamed(const struct mount *m, struct staged *s, const char *key, const char *path);
/* The staging directory ("" when writes are off). */
const char *stage_dir_path(void);
/*
 * Entries this process holds or held, by inode (stage_peers.c never opens
 * them: closing any descriptor of one would let go of our lock).  Prune
 * drops those of the first `first` that exists() says are gone; those
 * counted later may be newer than what the caller looked at.
 */
int stage_held_here(ino_t ino);
size_t stage_held_count(void);
void stage_held_prune(size_t first, int (*exists)(void *arg, ino_t ino), void *arg);
void stage_held_lock(int on);	/* around fork */
/* A descriptor of fd for the shim's own use: high, close-on-exec. */
int fd_private_dup(int fd);

#endif
