/* SPDX-License-Identifier: MIT */
/*
 * aws_ini.c - a small reader for the AWS tools' INI files; see aws_ini.h.
 *
 * Every lookup scans the text afresh: the files are small, and keeping no
 * parsed copy means fewer places hold the keys.  Lines are bounded by
 * length, never by a terminating NUL, so stray NUL bytes, very long lines
 * and a missing final newline need no special case.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/aws_ini.h"

#define AWS_INI_MAX (4u << 20)

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **p, size_t *len)
{
	while (*len && is_blank(**p))
		(*p)++, (*len)--;
	while (*len && is_blank((*p)[*len - 1]))
		(*len)--;
}

static int same(const char *a, size_t alen, const char *b)
{
	return b && strlen(b) == alen && !memcmp(a, b, alen);
}

/* Does the header between '[' and ']' name the wanted section? */
static int header_is(const char *h, size_t len, const struct aws_ini_want *w)
{
	size_t kl = strlen(w->kind);

	trim(&h, &len);
	if (!kl)
		return same(h, len, w->name);
	if (!strcmp(w->kind, "profile") && same(h, len, "default"))
		return same("default", 7, w->name);
	if (len <= kl || memcmp(h, w->kind, kl) || !is_blank(h[kl]))
		return 0;
	h += kl, len -= kl;
	trim(&h, &len);
	return same(h, len, w->name);
}

/* Value part of a line: blanks and a " #" or " ;" comment cut off. */
static void value_part(const char **v, size_t *len)
{
	size_t i;

	for (i = 1; i < *len; i++)
		if (((*v)[i] == '#' || (*v)[i] == ';') && is_blank((*v)[i - 1])) {
			*len = i;
			break;
		}
	trim(v, len);
}

/* First '=' or ':' in l[0..len), or NULL. */
static const char *delimiter(const char *l, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (l[i] == '=' || l[i] == ':')
			return l + i;
	return NULL;
}

struct ini_scan {
	int in;			/* inside the wanted section */
	int found;		/* the section was seen */
	const char *sub;	/* current sub-section key, or NULL */
	size_t sublen;
	const char *hit;	/* last matching value */
	size_t hitlen;
};

static void scan_line(struct ini_scan *st, const char *l, size_t len,
		      const struct aws_ini_want *w)
{
	int indented = len && is_blank(*l);
	const char *eq, *v;
	size_t klen, vlen;

	trim(&l, &len);
	if (!len || *l == '#' || *l == ';')
		return;
	if (*l == '[') {
		eq = memchr(l, ']', len);
		st->in = eq && header_is(l + 1, (size_t)(eq - l - 1), w);
		st->found |= st->in;
		st->sub = NULL;
		return;
	}
	eq = delimiter(l, len);
	if (!st->in || !eq)
		return;
	klen = (size_t)(eq - l);
	v = eq + 1, vlen = len - klen - 1;
	trim(&l, &klen);
	value_part(&v, &vlen);
	if (indented && st->sub) {
		if (w->sub && same(st->sub, st->sublen, w->sub) &&
		    same(l, klen, w->key))
			st->hit = v, st->hitlen = vlen;
		return;
	}
	st->sub = vlen ? NULL : l, st->sublen = klen;
	if (!w->sub && same(l, klen, w->key))
		st->hit = v, st->hitlen = vlen;
}

int aws_ini_get(const char *text, size_t len, const struct aws_ini_want *w,
		char **out)
{
	const char *p = text, *end = text + len, *nl;
	struct ini_scan st = { 0 };

	for (; p && p < end; p = nl ? nl + 1 : NULL) {
		nl = memchr(p, '\n', (size_t)(end - p));
		scan_line(&st, p, (size_t)((nl ? nl : end) - p), w);
	}
	if (!w->key)
		return st.found;
	if (!st.hit || !st.hitlen)
		return 0;
	*out = strndup(st.hit, st.hitlen);
	return *out ? 1 : -ENOMEM;
}

void aws_ini_release(char *text, size_t len)
{
	if (text)
		explicit_bzero(text, len);
	free(text);
}

/* Reads fd to the end into *buf; 0 or -errno. */
static int read_all(int fd, char **buf, size_t *len)
{
	size_t cap = 0;
	char *grown;
	ssize_t r;

	for (;;) {
		if (*len == cap) {
			if (cap >= AWS_INI_MAX)
				return -EFBIG;
			cap = cap ? cap * 2 : 4096;
			grown = malloc(cap + 1);
			if (!grown)
				return -ENOMEM;
			if (*buf)
				memcpy(grown, *buf, *len);
			aws_ini_release(*buf, *len);
			*buf = grown;
		}
		r = read(fd, *buf + *len, cap - *len);
		if (r == 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			*len += (size_t)r;
	}
}

int aws_ini_read(const char *path, char **out, size_t *outlen)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, rc;

	*out = NULL;
	*outlen = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	rc = read_all(fd, &buf, &len);
	close(fd);
	if (rc) {
		aws_ini_release(buf, len);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}
