/* SPDX-License-Identifier: MIT */
/*
 * journal.c - journal entries as small JSON files, and keeping failed
 * uploads in the recovery directory.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/crypto_lib.h"
#include "backend/journal.h"

#define JOURNAL_MAX (4 << 20)	/* 10,000 parts fit */
#define COPY_BUF (1 << 16)

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static char *string_of(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(it) ? strdup(it->valuestring) : NULL;
}

/* One part as JSON: [n, len, etag]; NULL when out of memory. */
static cJSON *part_json(const struct journal_part *jp)
{
	cJSON *p = cJSON_CreateArray();

	if (!p || !cJSON_AddItemToArray(p, cJSON_CreateNumber(jp->n)) ||
	    !cJSON_AddItemToArray(p, cJSON_CreateNumber((double)jp->len)) ||
	    !cJSON_AddItemToArray(p, cJSON_CreateString(jp->etag)) ||
	    cJSON_GetArraySize(p) != 3) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

/*
 * "upload_id", "part_base" and, last in the entry (journal_append_part
 * counts on it), "parts": [[n, len, etag], ...].
 */
static int add_parts(cJSON *o, const struct journal_entry *e)
{
	cJSON *parts;

	if (!cJSON_AddStringToObject(o, "upload_id", e->upload_id) ||
	    !cJSON_AddNumberToObject(o, "part_base", (double)e->part_base) ||
	    !(parts = cJSON_AddArrayToObject(o, "parts")))
		return -ENOMEM;
	for (int i = 0; i < e->nparts; i++) {
		cJSON *p = part_json(&e->parts[i]);

		if (!p || !cJSON_AddItemToArray(parts, p)) {
			cJSON_Delete(p);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The parts of an entry that has them; -EINVAL when they are malformed. */
static int read_parts(const cJSON *o, struct journal_entry *e)
{
	const cJSON *parts = cJSON_GetObjectItemCaseSensitive(o, "parts");
	const cJSON *base = cJSON_GetObjectItemCaseSensitive(o, "part_base"), *p;
	int n = cJSON_GetArraySize(parts);

	if (!(e->upload_id = string_of(o, "upload_id")))
		return 0;
	if (!cJSON_IsArray(parts) || !cJSON_IsNumber(base) || base->valuedouble <= 0)
		return -EINVAL;
	e->part_base = (off_t)base->valuedouble;
	e->parts = calloc((size_t)n + 1, sizeof(*e->parts));
	if (!e->parts)
		return -ENOMEM;
	cJSON_ArrayForEach(p, parts) {
		const cJSON *num = cJSON_GetArrayItem(p, 0), *len = cJSON_GetArrayItem(p, 1);
		const cJSON *etag = cJSON_GetArrayItem(p, 2);

		if (!cJSON_IsNumber(num) || !cJSON_IsNumber(len) || !cJSON_IsString(etag))
			return -EINVAL;
		e->parts[e->nparts] = (struct journal_part){
			(int)num->valuedouble, (off_t)len->valuedouble, strdup(etag->valuestring) };
		if (!e->parts[e->nparts++].etag)
			return -ENOMEM;
	}
	return 0;
}

/* e as one line of JSON (malloc'd), or NULL when out of memory. */
static char *journal_text(const struct journal_entry *e)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "path", e->path);
	cJSON_AddStringToObject(o, "url", e->url);
	cJSON_AddStringToObject(o, "key", e->key);
	if (e->size >= 0)
		cJSON_AddNumberToObject(o, "size", (double)e->size);
	if (e->md5[0])
		cJSON_AddStringToObject(o, "md5", e->md5);
	if (e->error)
		cJSON_AddStringToObject(o, "error", e->error);
	if (e->unlinked)
		cJSON_AddTrueToObject(o, "unlinked");
	if (e->upload_id && add_parts(o, e) != 0) {
		cJSON_Delete(o);
		return NULL;
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

int journal_write(const char *file, const struct journal_entry *e)
{
	char tmp[PATH_MAX], *text = journal_text(e);
	int fd, rc;

	if (!text)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	rc = fd < 0 ? -errno : write_all(fd, text, strlen(text));
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, file) != 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	free(text);
	return rc;
}

int journal_rewrite(int fd, const struct journal_entry *e)
{
	char *text = journal_text(e);
	struct stat sb;
	size_t len;
	int rc;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	rc = fstat(fd, &sb) != 0 ? -errno : 0;
	/* spaces over a longer old text: JSON ignores them, and no truncate cuts a reader short */
	if (rc == 0 && (off_t)len < sb.st_size) {
		char *padded = realloc(text, (size_t)sb.st_size + 1);

		if (!padded) {
			free(text);
			return -ENOMEM;
		}
		text = padded;
		memset(text + len, ' ', (size_t)sb.st_size - len);
		len = (size_t)sb.st_size;
	}
	if (rc == 0 && pwrite(fd, text, len, 0) != (ssize_t)len)
		rc = errno ? -errno : -EIO;
	free(text);
	return rc;
}

/*
 * The entry's text ends "...]]}" or "...[]}" (parts last, then the
 * spaces journal_rewrite may leave): the new part goes in before the
 * final "]}".  One small write however many parts the entry has.
 */
int journal_append_part(int fd, const struct journal_part *jp)
{
	char tail[64], *item = NULL, *text = NULL;
	cJSON *p = part_json(jp);
	struct stat sb;
	ssize_t n = -1;
	off_t at = 0;
	int rc = -EINVAL;

	if (p && fstat(fd, &sb) == 0) {
		at = sb.st_size > (off_t)sizeof(tail) ? sb.st_size - (off_t)sizeof(tail) : 0;
		n = pread(fd, tail, (size_t)(sb.st_size - at), at);
	}
	while (n > 0 && tail[n - 1] == ' ')
		n--;
	if (n >= 3 && tail[n - 2] == ']' && tail[n - 1] == '}' &&
	    (tail[n - 3] == ']' || tail[n - 3] == '[')) {
		item = cJSON_PrintUnformatted(p);
		rc = -ENOMEM;
	}
	if (item && asprintf(&text, "%s%s]}", tail[n - 3] == ']' ? "," : "", item) >= 0) {
		size_t len = strlen(text);

		at += n - 2;
		rc = pwrite(fd, text, len, at) == (ssize_t)len ? 0 : errno ? -errno : -EIO;
	}
	free(text);
	free(item);
	cJSON_Delete(p);
	return rc;
}

/*
 * Buffers here are on the heap: these run on upload workers, whose stacks
 * are small.
 */
int journal_read_fd(int fd, struct journal_entry *e)
{
	char *buf = malloc(JOURNAL_MAX + 1);
	ssize_t n = buf ? pread(fd, buf, JOURNAL_MAX, 0) : -1;
	cJSON *o = NULL, *it;

	memset(e, 0, sizeof(*e));
	e->size = -1;
	if (n >= 0) {
		buf[n] = '\0';
		o = cJSON_Parse(buf);
	}
	free(buf);
	if (!o)
		return -EINVAL;
	e->path = string_of(o, "path");
	e->url = string_of(o, "url");
	e->key = string_of(o, "key");
	e->error = string_of(o, "error");
	e->unlinked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "unlinked"));
	it = cJSON_GetObjectItemCaseSensitive(o, "size");
	if (cJSON_IsNumber(it))
		e->size = (off_t)it->valuedouble;
	it = cJSON_GetObjectItemCaseSensitive(o, "md5");
	if (cJSON_IsString(it) && strlen(it->valuestring) == 32)
		memcpy(e->md5, it->valuestring, 33);
	n = read_parts(o, e);
	cJSON_Delete(o);
	if (n != 0 || !e->path || !e->url || !e->key) {
		journal_free(e);
		return -EINVAL;
	}
	return 0;
}

int journal_read(const char *file, struct journal_entry *e)
{
	int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0) {
		rc = -errno;
		memset(e, 0, sizeof(*e));
		e->size = -1;
		return rc;
	}
	rc = journal_read_fd(fd, e);
	close(fd);
	return rc;
}

void journal_clear_parts(struct journal_entry *e)
{
	free(e->upload_id);
	for (int i = 0; i < e->nparts; i++)
		free(e->parts[i].etag);
	free(e->parts);
	e->upload_id = NULL;
	e->parts = NULL;
	e->nparts = 0;
}

void journal_free(struct journal_entry *e)
{
	free(e->path);
	free(e->url);
	free(e->key);
	free(e->error);
	journal_clear_parts(e);
	memset(e, 0, sizeof(*e));
}

int journal_md5(int fd, char hex[33])
{
	EVP_MD_CTX *ctx;
	unsigned char *buf, md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	off_t off = 0;
	ssize_t n;

	if (crypto_lib_load())
		return -EIO;
	ctx = crypto.EVP_MD_CTX_new();
	buf = malloc(COPY_BUF);
	if (!ctx || !buf || !crypto.EVP_DigestInit_ex(ctx, crypto.EVP_md5(), NULL)) {
		crypto.EVP_MD_CTX_free(ctx);
		free(buf);
		return -ENOMEM;
	}
	while ((n = pread(fd, buf, COPY_BUF, off)) > 0) {
		crypto.EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n;
	}
	crypto.EVP_DigestFinal_ex(ctx, md, &len);
	crypto.EVP_MD_CTX_free(ctx);
	free(buf);
	if (n < 0)
		return -errno;
	for (unsigned i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* mkdir -p, each new level 0700. */
static int make_dirs(const char *dir)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0700) != 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Copies [off, off+len) of in to out, at the same offset. */
static int copy_range(int in, int out, char *buf, off_t off, off_t len)
{
	while (len > 0) {
		ssize_t n = pread(in, buf, len < COPY_BUF ? (size_t)len : COPY_BUF, off);

		if (n <= 0)
			return n < 0 ? -errno : 0;
		for (ssize_t w = 0; w < n;) {
			ssize_t k = pwrite(out, buf + w, (size_t)(n - w), off + w);

			if (k < 0)
				return -errno;
			w += k;
		}
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Copies data to dst (0600), for a recovery directory on another disk.
 * Only the data is copied: the holes of parts dropped from staging stay
 * holes, and the copy takes no more room than the original.
 */
static int copy_file(const char *data, const char *dst)
{
	int in = open(data, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	char *buf = malloc(COPY_BUF);
	off_t size = in >= 0 ? lseek(in, 0, SEEK_END) : -1, off = 0;

	if (in < 0 || !buf || size < 0)
		rc = in < 0 || size < 0 ? -errno : -ENOMEM;
	else if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		rc = -errno;
	while (rc == 0 && off < size) {
		off_t data_at = lseek(in, off, SEEK_DATA), hole_at;

		if (data_at < 0)
			break;		/* ENXIO: only a hole is left */
		hole_at = lseek(in, data_at, SEEK_HOLE);
		if (hole_at < 0)
			hole_at = size;
		rc = copy_range(in, out, buf, data_at, hole_at - data_at);
		off = hole_at;
	}
	if (rc == 0 && ftruncate(out, size) != 0)
		rc = -errno;
	free(buf);
	if (out >= 0 && close(out) != 0 && rc == 0)
		rc = -errno;
	if (in >= 0)
		close(in);
	if (rc == 0)
		rc = unlink(data) == 0 ? 0 : -errno;
	else if (out >= 0)
		unlink(dst);
	return rc;
}

int journal_keep(const char *dir, const char *data, const char *file, struct journal_entry *e,
		 const char *error, char **kept_data)
{
	const char *base = strrchr(data, '/') ? strrchr(data, '/') + 1 : data;
	char dst[PATH_MAX], entry[PATH_MAX];
	int fd, rc = make_dirs(dir);

	if (rc)
		return rc;
	snprintf(dst, sizeof(dst), "%s/%s", dir, base);
	snprintf(entry, sizeof(entry), "%s/%s.json", dir, base);
	fd = open(data, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e->size = lseek(fd, 0, SEEK_END);
	rc = journal_md5(fd, e->md5);
	close(fd);
	free(e->error);
	e->error = strdup(error);
	if (rc == 0)
		rc = journal_write(entry, e);	/* first: the bytes are never unrecorded */
	if (rc == 0 && rename(data, dst) != 0)
		rc = errno == EXDEV ? copy_file(data, dst) : -errno;
	if (rc) {
		unlink(entry);
		return rc;
	}
	if (strcmp(file, entry) != 0)
		unlink(file);
	*kept_data = strdup(dst);
	return 0;
}

/* The byte the holders of an entry lock. */
static struct flock entry_byte(short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

	return fl;
}

int journal_lock(int fd, short type)
{
	struct flock fl = entry_byte(type);

	return fcntl(fd, F_SETLK, &fl) == 0 ? 0 : -errno;
}

int journal_held_elsewhere(int fd)
{
	struct flock fl = entry_byte(F_WRLCK);

	/* our own locks never conflict: any lock reported is another's */
	if (fcntl(fd, F_GETLK, &fl) != 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}
