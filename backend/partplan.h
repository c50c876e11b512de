/* SPDX-License-Identifier: MIT */
/*
 * partplan.h - where the parts of a multipart upload begin and end.
 *
 * Parts are base bytes each (at least STORE_PART_MIN), doubling after
 * every PARTPLAN_STEP parts, so 10,000 parts of an 8 MiB base reach past
 * 5 TiB.  The layout depends on the base only, never on the object's
 * size: a file still being written can send its first parts before its
 * size is known, and they stay where they are whatever it grows to.
 */
#ifndef CLOUDSHIM_PARTPLAN_H
#define CLOUDSHIM_PARTPLAN_H

#include <sys/types.h>

#define PARTPLAN_STEP 1000

/* The size of part n (from 1). */
off_t partplan_size(off_t base, int n);

/* The bytes of part n in an object of size bytes: a whole part, or its tail. */
off_t partplan_len(off_t base, int n, off_t size);

/* The offset where part n (from 1) starts. */
off_t partplan_start(off_t base, int n);

/* The part that holds byte off (from 1), or past the limit of 10,000. */
int partplan_index(off_t base, off_t off);

/* How many parts size bytes take (0 for none), or -EFBIG past 10,000. */
int partplan_count(off_t base, off_t size);

#endif
