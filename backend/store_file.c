/* SPDX-License-Identifier: MIT */
/*
 * store_file.c - a local directory treated as an object store (file:///dir).
 *
 * It serves the demo and the fastest tests.  A version is identified by
 * inode, size and modification time; a read whose file no longer matches
 * the pinned version fails with -ESTALE, as a remote store would.  A
 * listing is one page: the whole directory, read with readdir.
 *
 * Writes behave as S3's do from the caller's side.  A put writes a
 * temporary file beside its key, syncs it and renames it over the key, so
 * a reader sees the old bytes or the new, never a mix; an exclusive put
 * links it to the key instead, which fails if the key exists.  A multipart
 * upload is a directory under MPU_DIR holding its key and one file per
 * part, joined into a temporary file at complete.  Names starting with
 * TEMP_PREFIX are this driver's own: never seen as objects, never written
 * (-EINVAL).
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

#include "backend/body.h"
#include "backend/store_int.h"

#define TEMP_PREFIX	".cloudshim-"
#define MPU_DIR		TEMP_PREFIX "mpu"	/* under the root */

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

/* Whether a component of key is a name of ours. */
static int is_ours(const char *key)
{
	for (const char *c = key;; c++) {
		if (strncmp(c, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0)
			return 1;
		c = strchr(c, '/');
		if (!c)
			return 0;
	}
}

static int file_stat(struct store *st, const char *key, struct store_meta *m)
{
	struct file_priv *fp = st->priv;
	char *path;
	struct stat sb;
	int rc;

	if (is_ours(key))
		return -ENOENT;
	path = store_join_key(fp->root, key);
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

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    is_ours(de->d_name))
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

/* ---- writes ------------------------------------------------------------ */

/* The directories above path, made where missing (path itself is not). */
static int make_parents(const struct file_priv *fp, char *path)
{
	for (char *c = path + strlen(fp->root) + 1; (c = strchr(c, '/')) != NULL; c++) {
		int rc;

		*c = '\0';
		rc = mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -errno;
		*c = '/';
		if (rc)
			return rc;
	}
	return 0;
}

static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static int copy_body(int fd, const struct store_body *b, char *buf, size_t bufsize)
{
	int rc = 0;

	for (off_t pos = 0; rc == 0 && pos < b->len;) {
		ssize_t n = body_read(b, pos, buf, bufsize);

		if (n < 0)
			return (int)n;
		rc = write_all(fd, buf, (size_t)n);
		pos += n;
	}
	return rc;
}

/*
 * A new file beside path holding the bodies one after the other, on disk
 * before any name points at it: its name in *tmp, its metadata in m.
 */
static int write_temp(const char *path, const struct store_body *b, int n, char **tmp,
		      struct store_meta *m)
{
	const char *slash = strrchr(path, '/');
	const size_t bufsize = 256 << 10;
	char *buf = malloc(bufsize);
	struct stat sb;
	int fd = -1, rc = -ENOMEM;

	if (!buf || asprintf(tmp, "%.*s/" TEMP_PREFIX "tmp-XXXXXX", (int)(slash - path),
			     path) < 0) {
		*tmp = NULL;
		goto out;
	}
	fd = mkostemp(*tmp, O_CLOEXEC);
	rc = fd < 0 ? -errno : 0;
	if (rc == 0)
		rc = fchmod(fd, 0644) == 0 ? 0 : -errno;	/* mkostemp gives 0600 */
	for (int i = 0; rc == 0 && i < n; i++)
		rc = copy_body(fd, &b[i], buf, bufsize);
	if (rc == 0)
		rc = fsync(fd) == 0 && fstat(fd, &sb) == 0 ? 0 : -errno;
	if (rc == 0)
		meta_from_stat(&sb, m);
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc && fd >= 0)
		unlink(*tmp);
out:
	if (rc) {
		free(*tmp);
		*tmp = NULL;
	}
	free(buf);
	return rc;
}

/* Gives tmp the name path: over what is there, or (exclusive) only if free. */
static int publish(char *tmp, const char *path, int exclusive)
{
	int rc;

	if (exclusive) {
		rc = link(tmp, path) == 0 ? 0 : -errno;
		unlink(tmp);
	} else {
		rc = rename(tmp, path) == 0 ? 0 : -errno;
		if (rc)
			unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* Writes the bodies to key's file, with its parents made. */
static int put_bodies(struct store *st, const char *key, const struct store_body *b, int n,
		      int exclusive, struct store_meta *meta)
{
	struct file_priv *fp = st->priv;
	char *path = store_join_key(fp->root, key), *tmp;
	struct store_meta m;
	int rc;

	if (!path)
		return -ENOMEM;
	rc = make_parents(fp, path);
	if (rc == 0)
		rc = write_temp(path, b, n, &tmp, &m);
	if (rc == 0)
		rc = publish(tmp, path, exclusive);
	if (rc == 0 && meta)
		*meta = m;
	free(path);
	return rc;
}

/* A directory marker: the directory, with its parents. */
static int put_dir(struct store *st, const char *key, int exclusive, struct store_meta *meta)
{
	struct file_priv *fp = st->priv;
	char *path = store_join_key(fp->root, key);
	struct stat sb;
	int rc;

	if (!path)
		return -ENOMEM;
	path[strlen(path) - 1] = '\0';
	rc = make_parents(fp, path);
	if (rc == 0 && mkdir(path, 0755) != 0)
		rc = errno == EEXIST && !exclusive ? 0 : -errno;
	if (rc == 0)
		rc = stat(path, &sb) == 0 ? 0 : -errno;
	if (rc == 0 && !S_ISDIR(sb.st_mode))
		rc = -EEXIST;	/* a file of that name */
	if (rc == 0 && meta)
		meta_from_stat(&sb, meta);
	free(path);
	return rc;
}

static int file_put(struct store *st, const char *key, const struct store_body *body,
		    int exclusive, struct store_meta *meta)
{
	if (is_ours(key))
		return -EINVAL;
	if (key[strlen(key) - 1] == '/')
		return put_dir(st, key, exclusive, meta);
	return put_bodies(st, key, body, 1, exclusive, meta);
}

/* Removes an upload's directory and what is in it. */
static void remove_upload(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

/*
 * The directory of an upload of key: "root/MPU_DIR/id".  -ENOENT when
 * there is no such upload, or it is of another key.
 */
static int upload_dir(struct store *st, const char *key, const char *upload_id, char **dir)
{
	struct file_priv *fp = st->priv;
	char *path = NULL, saved[4096];
	ssize_t n;
	int fd, rc;

	*dir = NULL;
	if (!*upload_id || strchr(upload_id, '/') || upload_id[0] == '.')
		return -ENOENT;
	if (asprintf(dir, "%s/" MPU_DIR "/%s", fp->root, upload_id) < 0) {
		*dir = NULL;
		return -ENOMEM;
	}
	if (asprintf(&path, "%s/key", *dir) < 0) {
		free(*dir);
		*dir = NULL;
		return -ENOMEM;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0) {
		rc = errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	} else {
		n = read(fd, saved, sizeof(saved));
		close(fd);
		rc = n == (ssize_t)strlen(key) && memcmp(saved, key, (size_t)n) == 0 ? 0 : -ENOENT;
	}
	if (rc) {
		free(*dir);
		*dir = NULL;
	}
	return rc;
}

static int file_mpu_begin(struct store *st, const char *key, char **upload_id)
{
	struct file_priv *fp = st->priv;
	char *dir = NULL, *path = NULL;
	int fd, rc;

	if (is_ours(key) || key[strlen(key) - 1] == '/')
		return -EINVAL;
	if (asprintf(&dir, "%s/" MPU_DIR "/XXXXXX", fp->root) < 0)
		return -ENOMEM;
	rc = make_parents(fp, dir);
	if (rc == 0 && !mkdtemp(dir))
		rc = -errno;
	if (rc)
		goto out;
	if (asprintf(&path, "%s/key", dir) < 0) {
		path = NULL;
		rc = -ENOMEM;
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		rc = fd < 0 ? -errno : write_all(fd, key, strlen(key));
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0 && !(*upload_id = strdup(strrchr(dir, '/') + 1)))
		rc = -ENOMEM;
	if (rc)
		remove_upload(dir);
out:
	free(path);
	free(dir);
	return rc;
}

static char *part_path(const char *dir, int part)
{
	char *path;

	return asprintf(&path, "%s/%05d", dir, part) < 0 ? NULL : path;
}

static int file_mpu_part(struct store *st, const char *key, const char *upload_id, int part,
			 const struct store_body *body, char etag[STORE_ETAG_MAX])
{
	char *dir, *path, *tmp;
	struct store_meta m;
	int rc = upload_dir(st, key, upload_id, &dir);

	if (rc)
		return rc;
	path = part_path(dir, part);
	rc = path ? write_temp(path, body, 1, &tmp, &m) : -ENOMEM;
	/* a part sent again replaces the earlier one, as on S3 */
	if (rc == 0)
		rc = publish(tmp, path, 0);
	if (rc == 0)
		snprintf(etag, STORE_ETAG_MAX, "%s", m.etag);
	free(path);
	free(dir);
	return rc;
}

/* Opens the parts 1..n as bodies, each the version its ETag names. */
static int open_parts(const char *dir, char (*const etags)[STORE_ETAG_MAX], int n,
		      struct store_body *b)
{
	for (int i = 0; i < n; i++) {
		char *path = part_path(dir, i + 1);
		struct store_meta m;
		struct stat sb;

		b[i].fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		free(path);
		if (b[i].fd < 0 || fstat(b[i].fd, &sb) != 0)
			return -EINVAL;		/* S3: InvalidPart */
		meta_from_stat(&sb, &m);
		b[i].off = 0;
		b[i].len = sb.st_size;
		if (strcmp(m.etag, etags[i]) != 0 || (i < n - 1 && sb.st_size < STORE_PART_MIN))
			return -EINVAL;		/* InvalidPart, EntityTooSmall */
	}
	return 0;
}

static int file_mpu_complete(struct store *st, const char *key, const char *upload_id,
			     char (*const etags)[STORE_ETAG_MAX], int nparts,
			     struct store_meta *meta)
{
	struct store_body *b;
	char *dir;
	int rc = upload_dir(st, key, upload_id, &dir);

	if (rc)
		return rc;
	b = malloc((size_t)nparts * sizeof(*b));
	if (!b) {
		free(dir);
		return -ENOMEM;
	}
	for (int i = 0; i < nparts; i++)
		b[i].fd = -1;
	rc = open_parts(dir, etags, nparts, b);
	if (rc == 0)
		rc = put_bodies(st, key, b, nparts, 0, meta);
	for (int i = 0; i < nparts; i++)
		if (b[i].fd >= 0)
			close(b[i].fd);
	if (rc == 0)
		remove_upload(dir);
	free(b);
	free(dir);
	return rc;
}

static int file_mpu_abort(struct store *st, const char *key, const char *upload_id)
{
	char *dir;
	int rc = upload_dir(st, key, upload_id, &dir);

	if (rc == 0)
		remove_upload(dir);
	free(dir);
	return rc;
}

static int file_delete(struct store *st, const char *key)
{
	struct file_priv *fp = st->priv;
	char *path;
	int rc;

	if (is_ours(key))
		return -EINVAL;
	path = store_join_key(fp->root, key);
	if (!path)
		return -ENOMEM;
	if (key[strlen(key) - 1] == '/')
		rc = rmdir(path) == 0 ? 0 : -errno;
	else
		rc = unlink(path) == 0 ? 0 : -errno;
	free(path);
	/* as on S3, deleting what is not there succeeds */
	return rc == -ENOENT || rc == -ENOTDIR ? 0 : rc;
}

static int file_copy(struct store *st, const char *from, const char *to,
		     struct store_meta *meta)
{
	struct file_priv *fp = st->priv;
	char *path;
	struct store_body b = { .off = 0 };
	struct stat sb;
	int rc;

	if (is_ours(from) || is_ours(to) || to[strlen(to) - 1] == '/')
		return -EINVAL;
	path = store_join_key(fp->root, from);
	if (!path)
		return -ENOMEM;
	b.fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (b.fd < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	rc = fstat(b.fd, &sb) == 0 ? 0 : -errno;
	if (rc == 0 && !S_ISREG(sb.st_mode))
		rc = S_ISDIR(sb.st_mode) ? -EISDIR : -ENOENT;
	b.len = sb.st_size;
	if (rc == 0)
		rc = put_bodies(st, to, &b, 1, 0, meta);
	close(b.fd);
	return rc;
}

const struct store_driver store_file_driver = {
	.name = "file",
	.caps = STORE_CAP_LIST | STORE_CAP_WRITE,
	.priv_size = sizeof(struct file_priv),
	.init = file_init,
	.fini = file_fini,
	.stat = file_stat,
	.read = file_read,
	.list = file_list,
	.put = file_put,
	.mpu_begin = file_mpu_begin,
	.mpu_part = file_mpu_part,
	.mpu_complete = file_mpu_complete,
	.mpu_abort = file_mpu_abort,
	.del = file_delete,
	.copy = file_copy,
};
