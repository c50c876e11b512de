/* SPDX-License-Identifier: MIT */
/*
 * staged.h - writing to mounted paths: staged files from open to upload.
 *
 * open for writing gives the program a descriptor of a staged file
 * (shim/stage.h); its I/O is then the kernel's own.  The last close, in
 * the last process holding it, hands the file to the uploader
 * (backend/upload.h) and returns at once, or waits when sync_close is
 * set.  fsync waits until the file as it is now is durable.  At exit,
 * written files still open are uploaded and the process waits for every
 * upload.  Until an upload lands, stat and open of its path see the
 * staged bytes (read your own writes).
 *
 * A file opened write-only is streamed while it is written: its writes
 * are reported to its upload stream, which sends the parts the writer has
 * passed, and drops them from staging when space runs short.  That holds
 * while this process is the only one holding the file: a fork, exec or
 * spawn that shares it gives the stream up (the file is then uploaded
 * whole at the last close), unless parts were dropped already, and then
 * the other process may not write it (EBADF).
 */
#ifndef CLOUDSHIM_STAGED_H
#define CLOUDSHIM_STAGED_H

#include <stddef.h>

#include "backend/store.h"
#include "shim/mount.h"

struct vfile;
struct dirlist;

/* Settings, once at set-up: the staging directory and strict close. */
void staged_setup(const char *staging_dir, int sync_close);

/*
 * open(2) of key under m for writing, staged now: the descriptor, or
 * -errno.  copy: start from key's current bytes (else empty).
 */
int staged_open(struct mount *m, const char *key, int flags, int copy);

/* The first write to a file opened for update: stage it now. */
int staged_promote(struct vfile *vf);

/*
 * A change of a staged file's bytes, told to its stream around the call
 * that makes it: begin (0, or -errno to fail the call with) before it,
 * end (with the call's result) after it, on the same thread.
 */
enum staged_op {
	STAGED_WRITE,		/* len bytes at off; off -1: at the descriptor's offset */
	STAGED_TRUNCATE,	/* to off */
	STAGED_RANGE,		/* [off, off+len) changed in place (fallocate) */
	STAGED_SHIFT,		/* everything from off moved (fallocate) */
};

struct staged_change {
	enum staged_op op;
	off_t off, len;
	int tracked;		/* private: begin holds the vfile's lock */
};

int staged_change_begin(struct vfile *vf, int fd, struct staged_change *c);
void staged_change_end(struct vfile *vf, int fd, struct staged_change *c, ssize_t result);

/* A shared writable mapping of the staged file: its writes go unseen. */
void staged_mapped(struct vfile *vf);

/* The last reference of a written vfile is gone: upload it. */
int staged_close(struct vfile *vf);

/* fsync(2) and fdatasync(2): 0 once the bytes as they are now are durable. */
int staged_sync(struct vfile *vf);

/*
 * 1 with meta when key has unsent writes, and the staged file in data, or
 * "" when it no longer holds every byte (parts were dropped).
 */
int staged_lookup(const struct mount *m, const char *key, struct store_meta *meta, char *data,
		  size_t n);

/*
 * For reading key: 1 with meta and data (of PATH_MAX) when unsent writes
 * can be read from a staged file; 0 when the store is to be read (after
 * waiting for an upload whose staged file lost bytes); -EBUSY while a
 * file that lost bytes is still being written here.
 */
int staged_readable(const struct mount *m, const char *key, struct store_meta *meta,
		    char *data);

/*
 * Names directly below directory key that unsent writes make appear and
 * listing dl (NULL: none) does not have: a malloc'd array of malloc'd
 * names, *n of them; a directory's ends in '/'.  early (nearly names):
 * what this said before dl was listed; those unsent no more are added
 * when the store has them now (they landed while it listed).
 */
char **staged_names(const struct mount *m, const char *key, const struct dirlist *dl,
		    char *const *early, size_t nearly, size_t *n);

/*
 * unlink and rename of key while this process has it open for writing,
 * as on a local disk: staged_name_busy says whether an open file here
 * writes key (1), none does (0), or one cannot change its name (-EBUSY:
 * it is streamed and dropped parts from staging); staged_name_change then
 * gives those open files the name to, or none (NULL: unlinked, so their
 * close sends nothing).  With below, key is a directory and the files
 * meant are those anywhere under it (renamed to the same place under to).
 * The caller moves or deletes the store's objects.
 */
int staged_name_busy(struct mount *m, const char *key, int below);
void staged_name_change(struct mount *m, const char *key, const char *to, int below);

/* 1 when unsent writes below key make it a directory. */
int staged_is_dir(const struct mount *m, const char *key);

/*
 * What key is now, as stat sees it: unsent writes first, then the store,
 * then a directory that files written below it make.  0 with meta, or
 * -errno.
 */
int staged_stat(const struct mount *m, const char *key, struct store_meta *meta);

/*
 * At exit (an on_exit handler): flush stdio, upload what is still open,
 * wait for every upload; a process that failed an upload and would exit
 * with status 0 exits with 1 instead.
 */
void staged_exit(int status, void *unused);
/* The same for _exit, which flushes nothing: returns how many failed. */
int staged_quit(void);

/*
 * Before this process image is replaced: upload the written files no
 * descriptor of which survives the exec, and wait for every upload (the
 * workers go with the image).  Those that survive are adopted by the new
 * image (staged_adopt).
 */
void staged_before_exec(void);
/*
 * The exec did not happen (it returned): the files staged_before_exec let
 * go are staged again from their descriptors' bytes, so what the program
 * writes to them from now on is uploaded too.
 */
void staged_after_failed_exec(void);

/* Before a new program starts beside this one (spawn): it will share them. */
void staged_before_spawn(void);

/*
 * fork: the written-files list's lock is held around it (lock before
 * fork, unlock after in both); in the child, with the lock still held,
 * staged_fork_child holds the inherited staged files again.
 */
void staged_fork_lock(void);
void staged_fork_unlock(void);
void staged_fork_child(void);

/* exec: "CLOUDSHIM_STAGED=..." naming inherited staged descriptors, or NULL. */
char *staged_env_entry(void);

/* At set-up: adopt the staged descriptors a parent passed across exec. */
void staged_adopt(void);

/*
 * exec and spawn: "CLOUDSHIM_PENDING=..." naming the uploads in flight
 * (this process's, and those it views: backend/upload.h), so that the new
 * program reads what they will put in the store; or NULL.  Up to
 * PENDING_MAX bytes: uploads beyond are read from the store.
 */
char *pending_env_entry(void);

/* At set-up: view the uploads in flight a parent passed across exec. */
void pending_adopt(void);

#define STAGED_ENV "CLOUDSHIM_STAGED"
#define PENDING_ENV "CLOUDSHIM_PENDING"
#define PENDING_MAX (64 << 10)

#endif
