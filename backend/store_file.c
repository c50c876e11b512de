/* SPDX-License-Identifier: MIT */
/*
 * store_file.c - a local directory treated as an object store (file:///dir).
 *
 * It serves the demo and the fastest tests.  A version is identified by
 * inode, size and modification time; a read whose file no longer matches
 * the pinned version fails with -ESTALE, as a remote store would.  A
 * listing is one page: the whole directory, read with readdir.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/store_int.h"

struct file_priv {
	char *root;	/* absolute directory, no trailing '/' */
};

static int file_init(struct store *st, char *err, size_t errlen)
{
	struct file_priv *fp = st->priv;
	const char *path = st->conf.url + strlen("file://");
	struct stat sb;

	if (path[0] != '/') {
		snprintf(err, errlen, "%s: a file:// URL needs an absolute path, "
			 "as in file:///srv/objects", st->conf.url);
		return -EINVAL;
	}
	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: %s is not a directory", st->conf.url, path);
		return -ENOENT;
	}
	fp->root = store_join_key(path, "");
	return fp->root ? 0 : -ENOMEM;
}

static void file_fini(struct store *st)
{
	struct file_priv *fp = st->priv;

	free(fp->root);
}

static void meta_from_stat(const struct stat *sb, struct store_meta *m)
{
	m->kind = S_ISDIR(sb->st_mode) ? STORE_DIR : STORE_FILE;
	m->size = S_ISDIR(sb->st_mode) ? 0 : sb->st_size;
	m->mtime = sb->st_mtim;
	snprintf(m->etag, sizeof(m->etag), "%" PRIx64 "-%" PRIx64 "-%" PRIx64 ".%lx",
		 (uint64_t)sb->st_ino, (uint64_t)sb->st_size,
		 (uint64_t)sb->st_mtim.tv_sec, (unsigned long)sb->st_mtim.tv_nsec);
}

static int file_stat(struct store *st, const char *key, struct store_meta *m)
{
	struct file_priv *fp = st->priv;
	char *path = store_join_key(fp->root, key);
	struct stat sb;
	int rc;

	if (!path)
		return -ENOMEM;
	rc = stat(path, &sb) == 0 ? 0 : -errno;
	free(path);
	if (rc)
		return rc == -ENOTDIR ? -ENOENT : rc;
	if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
		return -ENOENT;
	meta_from_stat(&sb, m);
	return 0;
}

static int file_read(struct store *st, const struct store_read *rd)
{
	struct file_priv *fp = st->priv;
	char *path = store_join_key(fp->root, rd->key);
	const size_t bufsize = 256 << 10;
	char *buf = NULL;
	struct store_meta now;
	struct stat sb;
	off_t off = rd->off, end = rd->off + (off_t)rd->len;
	int fd, rc = 0;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return errno == ENOENT && rd->pin ? -ESTALE : -errno;
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
		goto out;
	}
	meta_from_stat(&sb, &now);
	if (rd->pin && strcmp(now.etag, rd->pin->etag) != 0) {
		rc = -ESTALE;
		goto out;
	}
	buf = malloc(bufsize);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (off < end && rc == 0) {
		size_t want = (size_t)(end - off) < bufsize ? (size_t)(end - off) : bufsize;
		ssize_t n = pread(fd, buf, want, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -EIO;
			break;
		}
		if (n == 0)
			break;
		rc = rd->sink(rd->arg, off, buf, (size_t)n);
		off += n;
	}
out:
	free(buf);
	close(fd);
	return rc;
}

/* One page: every regular file and directory in it, as file_stat sees them. */
static int file_list(struct store *st, const char *key, store_page_fn fn, void *arg)
{
	struct file_priv *fp = st->priv;
	char *path = store_join_key(fp->root, key);
	struct store_entry *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (!path)
		return -ENOMEM;
	d = opendir(path);
	free(path);
	if (!d)
		return -errno;
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* gone since readdir, a dangling link, a socket: not an object */
		if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0 ||
		    (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		memset(&v[n].meta, 0, sizeof(v[n].meta));
		meta_from_stat(&sb, &v[n].meta);
		if (!(v[n].name = strdup(de->d_name)))
			rc = -ENOMEM;
		else
			n++;
	}
	if (rc == 0 && errno)
		rc = -EIO;
	closedir(d);
	if (rc == 0) {
		struct store_page page = { .entries = v, .count = n, .found = 1 };

		rc = fn(arg, &page);
		if (rc == STORE_LIST_STOP)
			rc = 0;
	}
	for (size_t i = 0; i < n; i++)
		free((char *)v[i].name);
	free(v);
	return rc;
}

const struct store_driver store_file_driver = {
	.name = "file",
	.caps = STORE_CAP_LIST,
	.priv_size = sizeof(struct file_priv),
	.init = file_init,
	.fini = file_fini,
	.stat = file_stat,
	.read = file_read,
	.list = file_list,
};
