/* SPDX-License-Identifier: MIT */
/*
 * vfile.h - open files on mounted paths, and the descriptor table.
 *
 * A vfile is what POSIX calls an open file description: one offset, one
 * set of status flags, shared by every descriptor duplicated from it (dup,
 * dup2, fcntl F_DUPFD, fork).  Each descriptor the program holds is a
 * real kernel descriptor of a placeholder memfd, so numbering, close-on-
 * exec and poll are the kernel's own; the table maps its number to the
 * vfile.  Entries are reference counted: the table holds one reference per
 * descriptor and every call in progress holds one, so a close racing with
 * a read never frees what the read uses.
 */
#ifndef CLOUDSHIM_VFILE_H
#define CLOUDSHIM_VFILE_H

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "backend/dir.h"
#include "backend/engine.h"
#include "shim/guard.h"
#include "shim/mount.h"

enum vfile_kind {
	VFILE_REG,		/* read through the cache; fd is a placeholder */
	VFILE_DIR,
	VFILE_STAGED,		/* fd is the staged file itself: I/O is native */
};

struct staged;

struct vfile {
	atomic_int refs;
	enum vfile_kind kind;
	int flags;			/* open(2) flags that F_GETFL reports */
	struct mount *mnt;
	char *_Atomic key;		/* changed only by vfile_rename */
	char **old_keys;		/* what it was before: freed with it (readers take no lock) */
	size_t nold_keys;
	struct obj *obj;		/* VFILE_REG */
	struct store_meta meta;
	pthread_mutex_t lock;		/* pos, read-ahead of read(2), dl */
	off_t pos;			/* VFILE_DIR: index of the next entry (a file's
					   offset is its descriptor's, see wrap_rw.c) */
	struct dirlist *dl;		/* VFILE_DIR: listed on first read */
	char **extra;			/* VFILE_DIR: names written, not yet listed */
	size_t nextra;
	void *dirstream;		/* VFILE_DIR: the DIR* opendir made */
	struct prefetch pf;
	pthread_mutex_t ppf_lock;	/* read-ahead of pread(2) */
	struct prefetch ppf;
	struct staged *stg;		/* VFILE_STAGED, written: uploaded at last close */
	int exclusive;			/* VFILE_STAGED: created with O_EXCL */
	pthread_mutex_t fill_lock;	/* what the placeholder holds: */
	unsigned char *filled;		/* one bit per FILL_CHUNK of the object */
};

#define FILL_CHUNK ((off_t)256 << 10)

#define FDTAB_SLOTS (1u << 20)

/* The table: NULL until a descriptor is first mounted (see vfile.c). */
extern _Atomic(struct vfile *) *_Atomic fdtab_slots;
/* How many descriptors are mounted now. */
extern atomic_int fdtab_used;

/*
 * fd is mounted right now (a hint: no reference is taken).  Inline: it is
 * the whole cost of every descriptor call outside the mounts.
 *
 * Never in an engine worker: its numbers are its own.  A program can close
 * a mounted descriptor where no wrapper sees it (glibc's fclose of stdout
 * at exit closes fd 1 inside the C library), and a worker's next open then
 * gets that number while the table still holds it: a file:// store's part
 * written there went through the write wrapper as the program's write, and
 * its fstat answered with the staged file's size and times.
 */
static inline int fdtab_has(int fd)
{
	_Atomic(struct vfile *) *slots = atomic_load_explicit(&fdtab_slots, memory_order_acquire);

	return slots && (unsigned)fd < FDTAB_SLOTS &&
	       atomic_load_explicit(&slots[fd], memory_order_relaxed) != NULL &&
	       !guard_in_worker();
}

struct vfile *vfile_get_mounted(int fd);

/* The vfile behind fd with a reference taken, or NULL for other fds. */
static inline struct vfile *vfile_get(int fd)
{
	return fdtab_has(fd) ? vfile_get_mounted(fd) : NULL;
}
void vfile_put(struct vfile *vf);

/*
 * vf was opened write-only.  A staged file's descriptor is open for reading
 * underneath whatever the program asked: the calls that read check this.
 */
static inline int vfile_write_only(const struct vfile *vf)
{
	return (vf->flags & O_ACCMODE) == O_WRONLY;
}

/* vfile_put that reports what the last release did (a strict close). */
int vfile_release(struct vfile *vf);

/* Makes fd refer to vf (taking a reference); returns what fd held before. */
struct vfile *fdtab_set(int fd, struct vfile *vf);
/* Forgets fd; returns what it held (the table's reference passes over). */
struct vfile *fdtab_clear(int fd);
/* The table can hold fd (descriptors beyond it cannot be mounted). */
int fdtab_fits(int fd);
/* The highest descriptor ever mounted: scans of the table stop there. */
int fdtab_high(void);

/* fork: the table's lock around it; in the child, every mounted fd's vfile unlocked. */
void vfile_fork_lock(void);
void vfile_fork_unlock(void);
void vfile_fork_child(void);
/* Its locks as new: in a forked child, where no thread holds them. */
void vfile_reset_locks(struct vfile *vf);

/* vf is key from now on (a rename of its path); vf's lock held.  0 or -ENOMEM. */
int vfile_rename(struct vfile *vf, const char *key);

/* A new vfile with one reference, for kind at mnt/key. */
struct vfile *vfile_new(enum vfile_kind kind, struct mount *mnt, const char *key,
			int flags);

/*
 * Makes the placeholder memfd fd (a descriptor of vf) hold the object's
 * real bytes over [off, off+len), for mmap and for programs that inherit
 * the descriptor across exec.  Returns 0 or -errno.
 */
int vfile_fill(struct vfile *vf, int fd, off_t off, off_t len);

/*
 * The directory vf, listed if it was not yet, with the names written
 * below it whose uploads are not in the listing; the caller holds vf->lock.
 */
int vfile_list_locked(struct vfile *vf);
void vfile_drop_extra(struct vfile *vf);

/* The mounted path of vf (mount path, '/', key) into buf of PATH_MAX. */
void vfile_path(const struct vfile *vf, char *buf);

/*
 * 1 with the path of fd in buf when fd is a mounted directory, else 0 (a
 * mounted file then reaches the kernel as a placeholder: ENOTDIR).
 */
int vfile_dir_path(int fd, char *buf);

/* The inode number stat reports for key. */
ino_t vfile_ino(const char *key);

/* The stat of a mounted object as programs see it. */
void vfile_fill_stat(const struct mount *mnt, const char *key,
		     const struct store_meta *meta, struct stat *sb);

#endif
