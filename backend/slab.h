/* SPDX-License-Identifier: MIT */
/*
 * slab.h - memory for the cache's block buffers.
 *
 * Buffers of CACHE_BLOCK_SIZE are carved from 2 MiB slabs and never given
 * back to the system; a buffer put back is the next one handed out.  While
 * the cache grows past its first slab, a helper thread makes the next slab
 * ready (mapped and zeroed by the kernel) before a reader needs it.  The
 * cache calls these under its own lock; the helper never takes that lock.
 */
#ifndef CLOUDSHIM_SLAB_H
#define CLOUDSHIM_SLAB_H

#include <stddef.h>

/* A buffer for a block, NULL when there is no memory. */
char *slab_buffer_get(void);
void slab_buffer_put(char *buffer);

/* Buffers to hand out before new memory is touched: put back, or left in the slab in use. */
size_t slab_spare(void);

/*
 * What a block of memory never used cost to make ready (zeroing, the first
 * write), in nanoseconds of CPU time, as last timed: by the helper for
 * each slab it prepares, or by the reader that maps the first slab itself;
 * 0 before either.  6.5-9.5 us on the test VM, where the first touch of a
 * page traps to the host.
 */
long slab_fresh_ns(void);

/* Slabs are made ready ahead of need only while all of them fit in bytes. */
void slab_set_budget(size_t bytes);

struct slab_stats {
	size_t mapped;		/* bytes of slabs: buffers, free ones and the reserve */
	size_t reserved;	/* slabs in the reserve, touched and unused */
};

void slab_get_stats(struct slab_stats *st);

void slab_fork_lock(void);
void slab_fork_unlock(void);
void slab_after_fork_child(void);

#endif
