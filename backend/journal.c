/* SPDX-License-Identifier: MIT */
/*
 * journal.c - journal entries as small JSON files, and keeping failed
 * uploads in the recovery directory.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/journal.h"

#define JOURNAL_MAX (64 << 10)
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

int journal_write(const char *file, const struct journal_entry *e)
{
	cJSON *o = cJSON_CreateObject();
	char tmp[PATH_MAX], *text;
	int fd, rc;

	if (!o)
		return -ENOMEM;
	cJSON_AddStringToObject(o, "path", e->path);
	cJSON_AddStringToObject(o, "url", e->url);
	cJSON_AddStringToObject(o, "key", e->key);
	if (e->size >= 0)
		cJSON_AddNumberToObject(o, "size", (double)e->size);
	if (e->md5[0])
		cJSON_AddStringToObject(o, "md5", e->md5);
	if (e->error)
		cJSON_AddStringToObject(o, "error", e->error);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
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

static char *string_of(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(it) ? strdup(it->valuestring) : NULL;
}

/*
 * Buffers here are on the heap: these run on upload workers, whose stacks
 * are small.
 */
int journal_read(const char *file, struct journal_entry *e)
{
	char *buf = malloc(JOURNAL_MAX + 1);
	int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = -1;
	cJSON *o = NULL, *it;

	memset(e, 0, sizeof(*e));
	e->size = -1;
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	if (buf)
		n = read(fd, buf, JOURNAL_MAX);
	close(fd);
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
	it = cJSON_GetObjectItemCaseSensitive(o, "size");
	if (cJSON_IsNumber(it))
		e->size = (off_t)it->valuedouble;
	it = cJSON_GetObjectItemCaseSensitive(o, "md5");
	if (cJSON_IsString(it) && strlen(it->valuestring) == 32)
		memcpy(e->md5, it->valuestring, 33);
	cJSON_Delete(o);
	if (!e->path || !e->url || !e->key) {
		journal_free(e);
		return -EINVAL;
	}
	return 0;
}

void journal_free(struct journal_entry *e)
{
	free(e->path);
	free(e->url);
	free(e->key);
	free(e->error);
	memset(e, 0, sizeof(*e));
}

int journal_md5(int fd, char hex[33])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(COPY_BUF), md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	off_t off = 0;
	ssize_t n;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL)) {
		EVP_MD_CTX_free(ctx);
		free(buf);
		return -ENOMEM;
	}
	while ((n = pread(fd, buf, COPY_BUF, off)) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n;
	}
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
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

/* Copies data to dst (0600), for a recovery directory on another disk. */
static int copy_file(const char *data, const char *dst)
{
	int in = open(data, O_RDONLY | O_CLOEXEC), out, rc = 0;
	char *buf = malloc(COPY_BUF);
	ssize_t n;

	if (in < 0 || !buf) {
		rc = in < 0 ? -errno : -ENOMEM;
		if (in >= 0)
			close(in);
		free(buf);
		return rc;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		close(in);
		free(buf);
		return rc;
	}
	while (rc == 0 && (n = read(in, buf, COPY_BUF)) != 0)
		rc = n < 0 ? -errno : write_all(out, buf, (size_t)n);
	free(buf);
	if (close(out) != 0 && rc == 0)
		rc = -errno;
	close(in);
	if (rc == 0)
		rc = unlink(data) == 0 ? 0 : -errno;
	else
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
