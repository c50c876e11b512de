/* SPDX-License-Identifier: MIT */
/*
 * mutate.c - unlink, rename, mkdir, rmdir and truncate on a store.
 *
 * A store has keys, not directories: a directory is a prefix with keys
 * below it, or a zero-byte "dir/" marker object.  mkdir makes a marker;
 * rmdir removes it if nothing else is below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/dir.h"
#include "backend/upload.h"
#include "shim/mutate.h"
#include "shim/staged.h"
#include "shim/wrap.h"

int mount_writable(const struct mount *m)
{
	return m->st && !m->read_only && (store_caps(m->st) & STORE_CAP_WRITE);
}

/* What key is, once no upload of it is in flight. */
static int settled_stat(struct mount *m, const char *key, struct store_meta *meta)
{
	upload_settle(m->st, key);
	return obj_stat(m->st, key, meta);
}

int mutate_exists(struct mount *m, const char *key)
{
	struct store_meta meta;

	if (!m->st)
		return -EIO;
	return staged_lookup(m, key, &meta, NULL, 0) ? 0 : obj_stat(m->st, key, &meta);
}

int mutate_must_be_dir(struct mount *m, const char *key)
{
	struct store_meta meta;
	int rc = staged_stat(m, key, &meta);

	return rc ? rc : meta.kind == STORE_DIR ? 0 : -ENOTDIR;
}

/*
 * A file this process has open for writing may not be in the store yet:
 * its name is in the open file, which unlink and rename then change too
 * (staged_name_change), as on a local disk.
 */
int mutate_unlink(struct mount *m, const char *key)
{
	struct store_meta meta;
	int open_here = staged_name_busy(m, key, 0), rc;

	if (open_here < 0)
		return open_here;
	rc = settled_stat(m, key, &meta);
	if (rc == -ENOENT && open_here) {
		rc = 0;		/* only the open file has it */
	} else {
		if (rc == -ENOENT && staged_is_dir(m, key))
			return -EISDIR;
		if (rc)
			return rc;
		if (meta.kind == STORE_DIR)
			return -EISDIR;
		rc = store_delete(m->st, key);
		if (rc == 0)
			obj_changed(m->st, key, NULL);
	}
	if (rc == 0 && open_here)
		staged_name_change(m, key, NULL, 0);
	return rc;
}

static char *marker(const char *key)
{
	char *k = NULL;

	return asprintf(&k, "%s/", key) < 0 ? NULL : k;
}

int mutate_mkdir(struct mount *m, const char *key)
{
	struct store_body empty = { -1, 0, 0 };
	struct store_meta meta;
	char *k;
	int rc = settled_stat(m, key, &meta);

	if (rc == 0)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;
	if (!(k = marker(key)))
		return -ENOMEM;
	rc = store_put(m->st, k, &empty, 0, NULL);
	free(k);
	if (rc == 0) {
		memset(&meta, 0, sizeof(meta));
		meta.kind = STORE_DIR;
		obj_changed(m->st, key, &meta);
	}
	return rc;
}

/* 0 when directory key has nothing below it, in the store or written here. */
static int empty_dir(struct mount *m, const char *key)
{
	struct dirlist *dl;
	size_t n;
	int rc;

	if (staged_is_dir(m, key))
		return -ENOTEMPTY;	/* files written below it, not yet sent */
	if ((rc = dir_open(m->st, key, &dl)) != 0)
		return rc;
	n = dirlist_count(dl);
	dir_close(dl);
	return n ? -ENOTEMPTY : 0;
}

int mutate_rmdir(struct mount *m, const char *key)
{
	char *k;
	int rc;

	if (!key[0])
		return -EBUSY;		/* the mount itself */
	rc = empty_dir(m, key);
	if (rc == -ENOENT && mutate_exists(m, key) == 0)
		return -ENOTDIR;	/* a file */
	if (rc)
		return rc;
	if (!(k = marker(key)))
		return -ENOMEM;
	rc = store_delete(m->st, k);
	free(k);
	if (rc == 0)
		obj_changed(m->st, key, NULL);
	return rc;
}

static int rename_file(struct mount *m, const char *from, const char *to)
{
	struct store_meta meta;
	int rc;

	upload_settle(m->st, to);
	rc = store_copy(m->st, from, to, &meta);
	if (rc == 0)
		rc = store_delete(m->st, from);
	if (rc == 0) {
		obj_changed(m->st, to, &meta);
		obj_changed(m->st, from, NULL);
	}
	return rc;
}

static char *join(const char *dir, const char *name)
{
	char *k = NULL;

	return asprintf(&k, "%s/%s", dir, name) < 0 ? NULL : k;
}

/* Every object below from, moved below to; then from's marker. */
/* unsent: from may be a directory only through files open below it, none in the store */
static int rename_dir(struct mount *m, const char *from, const char *to, int unsent)
{
	struct store_body empty = { -1, 0, 0 };
	struct dirlist *dl;
	char *mk;
	int rc = dir_open(m->st, from, &dl);

	if (rc == -ENOENT && unsent)
		rc = 0;
	for (size_t i = 0; rc == 0 && dl && i < dirlist_count(dl); i++) {
		const struct dir_entry *e = dirlist_entry(dl, i);
		char *a = join(from, e->name), *b = join(to, e->name);

		rc = !a || !b ? -ENOMEM : e->meta.kind == STORE_DIR ? rename_dir(m, a, b, 0)
								     : rename_file(m, a, b);
		free(a);
		free(b);
	}
	if (dl)
		dir_close(dl);
	if (rc || !(mk = marker(to)))
		return rc ? rc : -ENOMEM;
	rc = store_put(m->st, mk, &empty, 0, NULL);	/* to stays a directory if empty */
	free(mk);
	if (rc == 0 && (mk = marker(from))) {
		rc = store_delete(m->st, mk);
		free(mk);
	}
	obj_changed(m->st, from, NULL);
	obj_changed(m->st, to, &(struct store_meta){ .kind = STORE_DIR });
	return rc;
}

/*
 * Files open for writing here move with their names, as on a local disk:
 * from's (or, for a directory, those below it) take the new name, and one
 * open at to loses its name, so its close cannot put back what the rename
 * replaced.
 */
int mutate_rename(struct mount *m, const char *from, const char *to)
{
	struct store_meta meta, dst;
	size_t n = strlen(from);
	int open_here = staged_name_busy(m, from, 0), rc, drc, stored;

	if (open_here < 0)
		return open_here;
	rc = settled_stat(m, from, &meta);
	stored = rc == 0;
	if (rc == -ENOENT && (open_here || staged_is_dir(m, from))) {
		memset(&meta, 0, sizeof(meta));	/* only the open file has it, or those below */
		meta.kind = open_here ? STORE_FILE : STORE_DIR;
		rc = 0;
	}
	if (rc)
		return rc;
	if (strcmp(from, to) == 0)
		return 0;
	if (!from[0] || !to[0])
		return -EBUSY;
	if (strncmp(to, from, n) == 0 && to[n] == '/')
		return -EINVAL;		/* into itself */
	drc = settled_stat(m, to, &dst);
	if (drc == -ENOENT && staged_is_dir(m, to))
		return meta.kind == STORE_DIR ? -ENOTEMPTY : -EISDIR;	/* unsent files below to */
	if (drc == 0 && dst.kind == STORE_DIR && meta.kind != STORE_DIR)
		return -EISDIR;
	if (drc == 0 && dst.kind != STORE_DIR && meta.kind == STORE_DIR)
		return -ENOTDIR;
	if (meta.kind != STORE_DIR) {
		if ((rc = staged_name_busy(m, to, 0)) < 0)
			return rc;
		rc = stored ? rename_file(m, from, to) : 0;
		if (rc == 0) {
			staged_name_change(m, to, NULL, 0);
			staged_name_change(m, from, to, 0);
		}
		return rc;
	}
	if (drc == 0 && (rc = empty_dir(m, to)) != 0)
		return rc;
	if ((rc = staged_name_busy(m, from, 1)) < 0)
		return rc;
	upload_drain();		/* what was written below from is in the store first */
	rc = rename_dir(m, from, to, !stored);
	if (rc == 0)
		staged_name_change(m, from, to, 1);
	return rc;
}

int mutate_truncate(struct mount *m, const char *key, off_t len)
{
	int fd = shim_open(m, key, O_WRONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return fd;
	rc = ftruncate(fd, len) == 0 ? 0 : -errno;	/* the wrapper: it stages and tells */
	close(fd);
	return rc;
}
