/* SPDX-License-Identifier: MIT */
/*
 * staged_int.h - what the files of the write path share (staged.c, the
 * view of unsent writes in staged_view.c, processes in staged_proc.c).
 */
#ifndef CLOUDSHIM_STAGED_INT_H
#define CLOUDSHIM_STAGED_INT_H

#include <pthread.h>

#include "shim/stage.h"
#include "shim/staged.h"
#include "shim/vfile.h"

/* The written files this process holds open: read your own writes. */
struct written {
	struct vfile *vf;
	struct written *next;
};

extern pthread_mutex_t staged_files_lock;
/* fsync of a staged file two opens here share (staged.c) */
extern pthread_mutex_t shared_sync_lock;
extern struct written *staged_files;
extern int staged_ready;

void staged_remember(struct vfile *vf);
/* In a forked child: no open of the parent's is half made here (staged.c). */
void staged_claims_fork_child(void);
void staged_forget(struct vfile *vf);

/* A stream for s, staged for key under m, which path names; or NULL. */
struct upload *staged_stream(struct mount *m, const char *key, const char *path,
			     struct staged *s);

/* vf, written and let go, staged anew from its descriptors (staged_after_failed_exec). */
int staged_restage(struct vfile *vf);

/* This process is done with s: the last process to be so uploads it. */
int staged_let_go(struct vfile *vf, struct staged *s);

/* Takes s off vf (under its lock): NULL when it had none. */
struct staged *staged_take(struct vfile *vf);

#endif
