/* SPDX-License-Identifier: MIT */
/*
 * metacache.h - what stat said of each key, trusted for metadata_ttl_ms.
 *
 * Positive answers (file or directory) and negative ones (no such key) are
 * both kept, so a program that probes for a missing file many times costs
 * one request per TTL.  Errors other than ENOENT are never kept.
 */
#ifndef CLOUDSHIM_METACACHE_H
#define CLOUDSHIM_METACACHE_H

#include "backend/store.h"

void metacache_set_ttl(long ms);
long metacache_ttl(void);

/* 1 with *rc and *meta filled when a fresh answer is known, else 0. */
int metacache_get(const struct store *st, const char *key, int *rc,
		  struct store_meta *meta);
/* What we made key be ourselves (an upload, a delete): kept. */
void metacache_put(const struct store *st, const char *key, int rc,
		   const struct store_meta *meta);
/*
 * The store's answer about key to a request sent at metacache_epoch()
 * asked: dropped when a change of ours was noted meanwhile, as the answer
 * may predate it (a HEAD racing our PUT can see the object half made).
 */
void metacache_put_answer(const struct store *st, const char *key, int rc,
			  const struct store_meta *meta, unsigned asked);
/*
 * Drops what is known of key (it changed under an open file), and ends the
 * trust in every directory listing taken before: those are stamped with
 * metacache_epoch() and compare it again before they answer for a key.
 */
void metacache_forget(const struct store *st, const char *key);
unsigned metacache_epoch(void);
/*
 * Trusts nothing known before: every answer, listing and subdirectory
 * note, and the answers still on their way, are asked again.  Lock-free
 * (two atomic increments), so a signal handler may call it.
 */
void metacache_forget_all(void);

/*
 * Whether directory key has subdirectories: what a listing that began at
 * listed_ms showed (some: 1 when it showed one, or had more pages than
 * were read), or what we made below it then.  A note older than the one
 * kept changes nothing.
 */
void metacache_put_subdirs(const struct store *st, const char *key, long listed_ms, int some);
/* 0: key had no subdirectory within the TTL; 1: it had or may have; -1: not known. */
int metacache_subdirs(const struct store *st, const char *key);

void metacache_fork_lock(void);
void metacache_fork_unlock(void);

#endif
