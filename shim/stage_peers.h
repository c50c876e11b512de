/* SPDX-License-Identifier: MIT */
/*
 * stage_peers.h - files other processes on this machine staged and have
 * not uploaded yet: seen here as they would be on a local disk.
 */
#ifndef CLOUDSHIM_STAGE_PEERS_H
#define CLOUDSHIM_STAGE_PEERS_H

#include <stddef.h>

#include "backend/store.h"
#include "shim/mount.h"

/*
 * 1 with meta when another live process has key of m staged (the newest,
 * when several do), data (n bytes, may be NULL) naming its staged bytes,
 * or "" when streaming may have dropped some of them; else 0.
 */
int peers_lookup(const struct mount *m, const char *key, struct store_meta *meta, char *data,
		 size_t n);

/* Calls fn with the key of every file of m another live process has staged. */
void peers_each(const struct mount *m, void (*fn)(void *arg, const char *key), void *arg);

/* Taken around fork (shim/mount.c), with the staged entries' lock after it. */
void peers_fork_lock(void);
void peers_fork_unlock(void);

#endif
