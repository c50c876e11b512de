/* SPDX-License-Identifier: MIT */
/*
 * s3_list.h - one page of an S3 ListObjectsV2 answer, as directory entries.
 *
 * Pure: no I/O, no clock, no logging, so tests feed it bodies directly.
 * The listing is asked with delimiter "/" and a prefix ending in '/' (or
 * empty, for the bucket's root), so each Contents/Key is a file in that
 * directory and each CommonPrefixes/Prefix a subdirectory.
 */
#ifndef CLOUDSHIM_S3_LIST_H
#define CLOUDSHIM_S3_LIST_H

#include <stddef.h>
#include <time.h>

#include "backend/store.h"

struct s3_list_page {
	struct store_entry *entries;	/* in the order of the body */
	size_t count;
	int found;		/* the body named some key at or below prefix */
	int truncated;		/* IsTruncated: more pages follow */
	char *next_token;	/* NextContinuationToken, or NULL */
	char **keys;		/* owned key strings the names point into */
	size_t nkeys;
};

/*
 * Parses the body xml[0..len) of a listing of prefix into pg.  Keys are
 * XML-decoded, then percent-decoded when the body says <EncodingType>url
 * </EncodingType>.  Names are the keys less prefix (and a directory's
 * trailing '/'); the key equal to prefix itself (a directory marker) and
 * keys that leave an empty name or one with '/' are skipped, though they
 * still count for found.  Returns 0, -EIO for a body that is not a
 * well-formed listing, or -ENOMEM; on error pg holds nothing to free.
 */
int s3_list_parse(const char *xml, size_t len, const char *prefix,
		  struct s3_list_page *pg);
void s3_list_page_free(struct s3_list_page *pg);

/*
 * S3's times, "2024-05-01T12:34:56.789Z" (or an offset "+02:00" instead
 * of Z), as in a listing's LastModified: 0 or -EIO.
 */
int s3_time_parse(const char *s, struct timespec *ts);

#endif
