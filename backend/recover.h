/* SPDX-License-Identifier: MIT */
/*
 * recover.h - sending the failed uploads kept in a recovery directory
 * again: what `cloudshim sync` does.
 */
#ifndef CLOUDSHIM_RECOVER_H
#define CLOUDSHIM_RECOVER_H

#include <stddef.h>
#include <stdio.h>

#include "backend/store.h"

struct recover_result {
	int sent;		/* now durable; their entries are gone */
	int failed;		/* still kept, with the new error recorded */
	int skipped;		/* no store for their URL, changed bytes, or busy */
};

/*
 * Uploads every entry of dir whose URL is one of stores[0..n), one line
 * per entry on out.  Entries another process is sending are left alone.
 */
struct recover_result recover_dir(const char *dir, struct store *const *stores, size_t n,
				  FILE *out);

/*
 * The same for the entries of staging directory dir that no process holds
 * (and whose maker is gone, or that are over ten seconds old): files whose
 * program was killed before it sent them.  Entries of running programs
 * are left alone, unmentioned.
 */
struct recover_result recover_orphans(const char *dir, struct store *const *stores, size_t n,
				      FILE *out);

#endif
