/* SPDX-License-Identifier: MIT */
/*
 * staged_view.c - read your own writes: what unsent writes make a path
 * look like, to stat, open and directory listings in this process.
 *
 * Unsent writes are the written files this process holds open, then the
 * uploads in flight, then what other processes staged (stage_peers.c).
 * A streamed file that dropped parts from staging cannot be read from
 * there: while it is open here, opening it to read gives EBUSY; once
 * closed, a reader waits for its upload to land (another process's is
 * read from the store).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/dir.h"
#include "backend/engine.h"
#include "backend/upload.h"
#include "shim/stage_peers.h"
#include "shim/staged_int.h"
#include "shim/wrap.h"

/* The staged file of an open written file, or "" when it lost bytes. */
static const char *whole_data(const struct staged *s)
{
	int holes = s->holes || s->detached || (s->stream && upload_stream_holes(s->stream));

	return holes ? "" : s->data;
}

/* 1 with meta (and data) when a written file open here is key. */
static int lookup_open(const struct mount *m, const char *key, struct store_meta *meta,
		       char *data, size_t n)
{
	struct stat sb;
	int found = 0;

	/* lock order: the list, then a vfile (whose stream may change) */
	pthread_mutex_lock(&staged_files_lock);
	for (struct written *w = staged_files; w && !found; w = w->next) {
		struct vfile *vf = w->vf;

		if (vf->mnt != m || strcmp(vf->key, key) != 0)
			continue;
		pthread_mutex_lock(&vf->lock);
		if (vf->stg && REAL(fstat)(vf->stg->own_fd, &sb) == 0) {
			memset(meta, 0, sizeof(*meta));
			meta->kind = STORE_FILE;
			meta->size = sb.st_size;
			meta->mtime = sb.st_mtim;
			snprintf(data, n, "%s", whole_data(vf->stg));
			found = 1;
		}
		pthread_mutex_unlock(&vf->lock);
	}
	pthread_mutex_unlock(&staged_files_lock);
	return found;
}

int staged_lookup(const struct mount *m, const char *key, struct store_meta *meta, char *data,
		  size_t n)
{
	return lookup_open(m, key, meta, data, n) ||
	       (m->st && upload_pending(m->st, key, meta, data, n));
}

int staged_readable(const struct mount *m, const char *key, struct store_meta *meta,
		    char *data)
{
	if (lookup_open(m, key, meta, data, PATH_MAX))
		return data[0] ? 1 : -EBUSY;
	if (!m->st)
		return 0;
	if (!upload_pending(m->st, key, meta, data, PATH_MAX))
		return peers_lookup(m, key, meta, data, PATH_MAX) && data[0];
	if (data[0])
		return 1;
	upload_settle(m->st, key);	/* its last parts are on their way */
	return 0;
}

struct below {
	const char *key;
	size_t len;
	int found;
};

static void has_below(void *arg, const char *k)
{
	struct below *b = arg;

	b->found |= strncmp(k, b->key, b->len) == 0 && k[b->len] == '/';
}

int staged_is_dir(const struct mount *m, const char *key)
{
	struct below b = { key, strlen(key), 0 };

	pthread_mutex_lock(&staged_files_lock);
	for (struct written *w = staged_files; w; w = w->next)
		if (w->vf->mnt == m)
			has_below(&b, w->vf->key);
	pthread_mutex_unlock(&staged_files_lock);
	if (!b.found && m->st)
		upload_each(m->st, has_below, &b);
	if (!b.found)
		peers_each(m, has_below, &b);
	return b.found;
}

int staged_stat(const struct mount *m, const char *key, struct store_meta *meta)
{
	int rc;

	if (!m->st)
		return -EIO;
	rc = staged_lookup(m, key, meta, NULL, 0) || peers_lookup(m, key, meta, NULL, 0) ? 0 :
	     obj_stat_path(m->st, key, meta);
	if (rc == -ENOENT && staged_is_dir(m, key)) {
		memset(meta, 0, sizeof(*meta));
		meta->kind = STORE_DIR;
		rc = 0;
	}
	return rc;
}

struct names {
	const char *dir;		/* "" or "a/b" */
	const struct dirlist *dl;	/* NULL: the store has no such directory */
	char **v;			/* a directory's name ends in '/' */
	size_t n;
};

static int listed(const struct dirlist *dl, const char *name, size_t len)
{
	for (size_t i = 0; dl && i < dirlist_count(dl); i++) {
		const char *have = dirlist_entry(dl, i)->name;

		if (strlen(have) == len && strncmp(have, name, len) == 0)
			return 1;
	}
	return 0;
}

/* Whether name (len bytes, then maybe a '/') is among ns's names already. */
static int named(const struct names *ns, const char *name, size_t len)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strncmp(ns->v[i], name, len) == 0 && strspn(ns->v[i] + len, "/") == strlen(ns->v[i] + len))
			return 1;
	return 0;
}

/* Adds name: "name" for a file, "name/" for a directory (len: without the '/'). */
static void push_name(struct names *ns, const char *name, size_t len)
{
	char **grown = realloc(ns->v, (ns->n + 1) * sizeof(*ns->v));

	if (!grown)
		return;
	ns->v = grown;
	if ((ns->v[ns->n] = strndup(name, len + (name[len] == '/'))))
		ns->n++;
}

/* Adds what key makes appear directly below dir, if it is new: a file, or a directory. */
static void add_name(void *arg, const char *key)
{
	struct names *ns = arg;
	size_t dl = strlen(ns->dir), len;
	const char *name = key + dl + (dl ? 1 : 0);

	if (dl && (strncmp(key, ns->dir, dl) != 0 || key[dl] != '/'))
		return;
	len = strcspn(name, "/");
	if (len && !listed(ns->dl, name, len) && !named(ns, name, len))
		push_name(ns, name, len);
}

/*
 * A name staged before the store listed and no longer: it may have landed
 * while the store listed (and be in neither), or been removed; the store
 * says which.  Rare: it takes an upload landing within one LIST.
 */
static void add_landed(const struct mount *m, struct names *ns, const char *name)
{
	size_t len = strcspn(name, "/");
	char key[PATH_MAX];
	struct store_meta meta;

	if (!len || listed(ns->dl, name, len) || named(ns, name, len) || !m->st)
		return;
	if (snprintf(key, sizeof(key), "%s%s%.*s", ns->dir, ns->dir[0] ? "/" : "",
		     (int)len, name) >= (int)sizeof(key))
		return;
	if (obj_stat_path(m->st, key, &meta) == 0)
		push_name(ns, name, len);
}

char **staged_names(const struct mount *m, const char *key, const struct dirlist *dl,
		    char *const *early, size_t nearly, size_t *n)
{
	struct names ns = { key, dl, NULL, 0 };

	pthread_mutex_lock(&staged_files_lock);
	for (struct written *w = staged_files; w; w = w->next)
		if (w->vf->mnt == m)
			add_name(&ns, w->vf->key);
	pthread_mutex_unlock(&staged_files_lock);
	if (m->st)
		upload_each(m->st, add_name, &ns);
	peers_each(m, add_name, &ns);
	for (size_t i = 0; i < nearly; i++)
		add_landed(m, &ns, early[i]);
	*n = ns.n;
	return ns.v;
}
