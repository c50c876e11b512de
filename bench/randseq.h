/* SPDX-License-Identifier: MIT */
/*
 * randseq.h - what randread.c and randread_curl.c share so that both read the
 * same bytes: the seeded offsets, the checksum of a block, argument parsing.
 *
 * Offsets are multiples of the block size drawn with splitmix64 from one seed.
 * Thread t of T takes reads t, t+T, t+2T, ... of the one sequence.  Warm-up
 * reads (WARM_MB, optional) come first, untimed and not in the checksum: a
 * run that starts with its cache full measures reads that recycle memory. The
 * checksum adds one 64-bit word every 4 KiB plus the block's last word; sums
 * do not depend on the order in which threads finish.
 */
#ifndef BENCH_RANDSEQ_H
#define BENCH_RANDSEQ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t randseq_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * The offsets of a run, block-aligned in [0, size - block]: WARM reads
 * before the clock starts, drawn from their own sequence, then COUNT from
 * seed (the same whatever WARM is, so checksums compare); NULL if out of
 * memory.
 */
static inline uint64_t *randseq_offsets(uint64_t size, uint64_t block, long warm,
					long count, uint64_t seed)
{
	uint64_t *off = malloc((size_t)(warm + count) * sizeof(*off));
	uint64_t slots = size / block, warm_seed = ~seed;

	for (long i = 0; off && i < warm; i++)
		off[i] = (randseq_next(&warm_seed) % slots) * block;
	for (long i = 0; off && i < count; i++)
		off[warm + i] = (randseq_next(&seed) % slots) * block;
	return off;
}

/* Reads of block bytes that make up warm_mb MiB, rounded up. */
static inline long randseq_warm_reads(uint64_t warm_mb, uint64_t block)
{
	return (long)(((warm_mb << 20) + block - 1) / block);
}

static inline uint64_t randseq_check(const unsigned char *buf, size_t len)
{
	uint64_t sum = 0, w;

	for (size_t at = 0; at + sizeof(w) <= len; at += 4096) {
		memcpy(&w, buf + at, sizeof(w));
		sum += w;
	}
	if (len >= sizeof(w)) {
		memcpy(&w, buf + len - sizeof(w), sizeof(w));
		sum += w;
	}
	return sum;
}

/* A positive decimal number, or exit with a message naming the argument. */
static inline uint64_t randseq_arg(const char *s, const char *name)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v == 0) {
		fprintf(stderr, "bad %s: '%s' (want a positive number)\n", name, s);
		exit(2);
	}
	return v;
}

#endif
