/* SPDX-License-Identifier: MIT */
/*
 * dir.c - directory snapshots: listing, sorting, and what they tell stat.
 *
 * DESIGN
 * A listing comes from store_list page by page into one array, which is
 * sorted by name and has repeated names merged: a directory wins over a
 * file of the same name (S3 may hold both "a" and "a/..."), and a prefix
 * repeated on a later page counts once.  A complete listing is kept in
 * dircache.c and told to the metacache entry by entry, so that the stat
 * and open of every entry cost no request within the TTL.
 *
 * dir_open asks the store for nothing when a fresh snapshot exists, nor
 * when the metacache already knows key is a file or missing.  When the
 * listing finds nothing under key (only on stores whose directories are
 * key prefixes; others fail the listing), one stat tells -ENOTDIR from
 * -ENOENT.
 *
 * Every listing that reaches its end also tells the metacache whether the
 * directory had subdirectories.  One that had none answers, for the TTL,
 * that no key directly below it is a directory: a program creating many
 * files in one directory asks for two listings (object.c), not one a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/clock.h"
#include "backend/dircache.h"
#include "backend/metacache.h"

struct builder {
	struct dir_entry *v;
	size_t n, cap;
	int found;		/* some page showed the directory exists */
	int complete;		/* the last page came */
	int probe;		/* stop once found */
	int one_page;		/* stop after the first page */
};

static int collect(void *arg, const struct store_page *pg)
{
	struct builder *b = arg;

	for (size_t i = 0; i < pg->count; i++) {
		if (b->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 64;
			struct dir_entry *v = realloc(b->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			b->v = v;
			b->cap = cap;
		}
		b->v[b->n].meta = pg->entries[i].meta;
		if (!(b->v[b->n].name = strdup(pg->entries[i].name)))
			return -ENOMEM;
		b->n++;
	}
	b->found |= pg->found;
	b->complete = !pg->more;
	return (b->probe && b->found) || b->one_page ? STORE_LIST_STOP : 0;
}

static int has_subdirs(const struct builder *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].meta.kind == STORE_DIR)
			return 1;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct dir_entry *)a)->name, ((const struct dir_entry *)b)->name);
}

/* Sorts and merges the builder's entries into a snapshot; b gives them up. */
static struct dirlist *finish(struct builder *b, long listed_ms, unsigned epoch)
{
	struct dirlist *dl = calloc(1, sizeof(*dl));
	size_t out = 0;

	if (!dl)
		return NULL;
	if (b->n)
		qsort(b->v, b->n, sizeof(*b->v), by_name);
	for (size_t i = 0; i < b->n; i++) {
		if (out && strcmp(b->v[out - 1].name, b->v[i].name) == 0) {
			if (b->v[i].meta.kind == STORE_DIR)
				b->v[out - 1].meta = b->v[i].meta;
			free((char *)b->v[i].name);
			continue;
		}
		b->v[out++] = b->v[i];
	}
	dl->entries = b->v;
	dl->count = out;
	dl->listed_ms = listed_ms;
	dl->epoch = epoch;
	dl->refs = 1;
	b->v = NULL;
	b->n = b->cap = 0;
	return dl;
}

/* What the snapshot says of key and of every entry, into the metacache. */
static void publish(struct store *st, const char *key, const struct dirlist *dl)
{
	struct store_meta dir = { .kind = STORE_DIR };

	if (metacache_ttl() <= 0)
		return;
	if (*key)
		metacache_put_answer(st, key, 0, &dir, dl->epoch);
	for (size_t i = 0; i < dl->count; i++) {
		char *full = NULL;

		if (asprintf(&full, "%s%s%s", key, *key ? "/" : "", dl->entries[i].name) < 0)
			return;
		metacache_put_answer(st, full, 0, &dl->entries[i].meta, dl->epoch);
		free(full);
	}
}

enum list_mode { LIST_WHOLE, LIST_PROBE, LIST_ONE_PAGE };

/*
 * Lists key: whole, up to the first page that shows it exists (probe), or
 * its first page only.  *out gets the snapshot, with a reference for the
 * caller, when the listing was complete and key exists; *found whether it
 * does.
 */
static int list_dir(struct store *st, const char *key, enum list_mode mode, int *found,
		    struct dirlist **out)
{
	struct builder b = { .probe = mode == LIST_PROBE, .one_page = mode == LIST_ONE_PAGE };
	long listed_ms = clock_ms();
	unsigned epoch = metacache_epoch();
	int rc = store_list(st, key, collect, &b);

	*out = NULL;
	*found = b.found || !*key;	/* the mount's root always exists */
	if (rc == 0 && (b.complete || mode == LIST_ONE_PAGE))
		metacache_put_subdirs(st, key, listed_ms, !b.complete || has_subdirs(&b));
	if (rc == 0 && b.complete && *found) {
		*out = finish(&b, listed_ms, epoch);
		if (*out) {
			dircache_put(st, key, *out);
			publish(st, key, *out);
		} else {
			rc = -ENOMEM;
		}
	}
	for (size_t i = 0; i < b.n; i++)
		free((char *)b.v[i].name);
	free(b.v);
	return rc;
}

int dir_open(struct store *st, const char *key, struct dirlist **out)
{
	struct store_meta meta;
	unsigned asked;
	int rc, found;

	*out = NULL;
	if (!(store_caps(st) & STORE_CAP_LIST))
		return -ENOTSUP;
	if ((*out = dircache_get(st, key)) != NULL)
		return 0;
	if (*key && (metacache_get(st, key, &rc, &meta) || dircache_stat(st, key, &rc, &meta)) &&
	    (rc || meta.kind == STORE_FILE))
		return rc ? rc : -ENOTDIR;
	rc = list_dir(st, key, LIST_WHOLE, &found, out);
	if (rc || found)
		return rc;
	/* nothing below key, on a store where stat sees only files */
	asked = metacache_epoch();
	rc = store_stat(st, key, &meta);
	metacache_put_answer(st, key, rc, &meta, asked);
	return rc == 0 ? -ENOTDIR : rc;
}

size_t dirlist_count(const struct dirlist *dl)
{
	return dl->count;
}

const struct dir_entry *dirlist_entry(const struct dirlist *dl, size_t i)
{
	return i < dl->count ? &dl->entries[i] : NULL;
}

void dir_close(struct dirlist *dl)
{
	if (dl)
		dircache_release(dl);
}

int dir_probe(struct store *st, const char *key, struct store_meta *meta)
{
	struct dirlist *dl;
	int found, rc = list_dir(st, key, LIST_PROBE, &found, &dl);

	dir_close(dl);		/* the cache holds its own reference */
	if (rc)
		return rc;
	if (!found)
		return -ENOENT;
	memset(meta, 0, sizeof(*meta));
	meta->kind = STORE_DIR;
	return 0;
}

int dir_survey(struct store *st, const char *key)
{
	struct dirlist *dl;
	int found, rc = list_dir(st, key, LIST_ONE_PAGE, &found, &dl);

	dir_close(dl);
	return rc;
}
