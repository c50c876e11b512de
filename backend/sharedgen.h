/* SPDX-License-Identifier: MIT */
/*
 * sharedgen.h - a count of store changes shared by the processes of one
 * machine that stage into the same directory.
 *
 * Each process adds one for every change it makes (an upload landed, a
 * delete, a rename, a directory made) to a counter in a small file mapped
 * shared, and counts its own.  When the counter moved by more than this
 * process moved it, another process changed the store: what this process
 * cached of it (metacache.h, dircache.h) is asked again.  So a parent sees
 * the file its still-running child just renamed into place, without
 * waiting out the metadata TTL.  Processes of other machines, or of
 * another staging directory, are seen after the TTL only.
 */
#ifndef CLOUDSHIM_SHAREDGEN_H
#define CLOUDSHIM_SHAREDGEN_H

#include <stdint.h>

/* Maps the counter in file (made 0600 if missing).  0 or -errno. */
int sharedgen_attach(const char *file);

/* This process changed the store. */
void sharedgen_bump(void);

/* 1 when another process changed the store since the last call that said so. */
int sharedgen_others_changed(void);

/*
 * A second count in the same mapping: staging entries made or renamed by
 * any process here (shim/stage.c), so that a look at them needs no stat
 * of the directory while it is unchanged.  sharedgen_entries: 0 with
 * *count, or -1 when nothing is mapped.
 */
void sharedgen_entries_bump(void);
int sharedgen_entries(uint64_t *count);

#endif
