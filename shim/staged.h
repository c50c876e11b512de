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

/* The last reference of a written vfile is gone: upload it. */
int staged_close(struct vfile *vf);

/* fsync(2) and fdatasync(2): 0 once the bytes as they are now are durable. */
int staged_sync(struct vfile *vf);

/* 1 with meta (and the staged file in data) when key has unsent writes. */
int staged_lookup(const struct mount *m, const char *key, struct store_meta *meta, char *data,
		  size_t n);

/*
 * Names directly below directory key that unsent writes make appear and
 * listing dl (NULL: none) does not have: a malloc'd array of malloc'd
 * names, *n of them; a directory's ends in '/'.
 */
char **staged_names(const struct mount *m, const char *key, const struct dirlist *dl,
		    size_t *n);

/* 1 when unsent writes below key make it a directory. */
int staged_is_dir(const struct mount *m, const char *key);

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

/* In a forked child: hold the inherited staged files again. */
void staged_fork_child(void);

/* exec: "CLOUDSHIM_STAGED=..." naming inherited staged descriptors, or NULL. */
char *staged_env_entry(void);

/* At set-up: adopt the staged descriptors a parent passed across exec. */
void staged_adopt(void);

#define STAGED_ENV "CLOUDSHIM_STAGED"

#endif
