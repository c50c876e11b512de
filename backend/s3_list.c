/* SPDX-License-Identifier: MIT */
/*
 * s3_list.c - reads a ListObjectsV2 body without an XML library.
 *
 * S3 answers with plain elements holding text, so one pass is enough: the
 * scanner keeps the stack of open element names and the text of the
 * element open last (entities and CDATA decoded, comments dropped), and
 * gives the text of each leaf to the field its place names.  A tag left
 * open or closed by another name, an unknown entity, another root element
 * (an <Error> document) or a field that does not parse make the body
 * unusable: -EIO.  The decoded text is never longer than the body, so one
 * buffer of the body's size holds it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/s3_list.h"

#define MAX_DEPTH	16

struct item {
	char *key;
	int dir;		/* a CommonPrefixes entry */
	int has_size;
	struct store_meta meta;
};

struct parser {
	const char *p, *end;
	struct {
		const char *name;
		size_t len;
	} open[MAX_DEPTH];
	int depth;
	int leaf;		/* the element open last has no child so far */
	int root_done;
	char *text;		/* its text so far, decoded */
	size_t ntext;
	struct item *items;
	size_t nitems, cap;
	int in_item;		/* items[nitems - 1] is open */
	int url_encoded, truncated;
	char *token;
};

/* Whether the element name (maybe with a namespace prefix) is want. */
static int named(const char *name, size_t len, const char *want)
{
	const char *colon = memchr(name, ':', len);
	size_t wl = strlen(want);

	if (colon) {
		len -= (size_t)(colon + 1 - name);
		name = colon + 1;
	}
	return len == wl && memcmp(name, want, len) == 0;
}

static int open_is(const struct parser *ps, int i, const char *want)
{
	return named(ps->open[i].name, ps->open[i].len, want);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int dec_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

static int hex_value(char c)
{
	if (dec_value(c) >= 0)
		return dec_value(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(struct parser *ps, unsigned long cp)
{
	char *o = ps->text + ps->ntext;

	if (cp < 0x80) {
		o[0] = (char)cp;
		ps->ntext += 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		ps->ntext += 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		ps->ntext += 3;
	} else {
		o[0] = (char)(0xf0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		ps->ntext += 4;
	}
}

/* "&amp;", "&#38;" or "&#x26;" at ps->p: appends the character. */
static int entity(struct parser *ps)
{
	static const struct {
		const char *name;
		char c;
	} named_refs[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	};
	const char *s = ps->p + 1, *semi;
	size_t n;

	for (semi = s; semi < ps->end && semi - s < 12 && *semi != ';'; semi++)
		;
	if (semi >= ps->end || *semi != ';')
		return -EIO;
	n = (size_t)(semi - s);
	ps->p = semi + 1;
	if (n >= 2 && s[0] == '#') {
		int hex = s[1] == 'x';
		unsigned long cp = 0;
		size_t i = hex ? 2 : 1;

		if (i == n)
			return -EIO;
		for (; i < n; i++) {
			int d = hex ? hex_value(s[i]) : dec_value(s[i]);

			if (d < 0)
				return -EIO;
			cp = cp * (hex ? 16 : 10) + (unsigned long)d;
		}
		/* NUL cannot be in a C string; surrogates are not characters */
		if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -EIO;
		put_utf8(ps, cp);
		return 0;
	}
	for (size_t i = 0; i < sizeof(named_refs) / sizeof(named_refs[0]); i++) {
		if (strlen(named_refs[i].name) == n && memcmp(s, named_refs[i].name, n) == 0) {
			ps->text[ps->ntext++] = named_refs[i].c;
			return 0;
		}
	}
	return -EIO;
}

/* Character data up to the next '<'. */
static int text_run(struct parser *ps)
{
	while (ps->p < ps->end && *ps->p != '<') {
		if (ps->depth == 0 && !is_space(*ps->p))
			return -EIO;	/* text outside the root element */
		if (*ps->p == '&') {
			int rc = entity(ps);

			if (rc)
				return rc;
			continue;
		}
		if (*ps->p == '\0')
			return -EIO;
		ps->text[ps->ntext++] = *ps->p++;
	}
	return 0;
}

/* Moves past the next occurrence of s; -EIO if there is none. */
static int skip_past(struct parser *ps, const char *s)
{
	size_t n = strlen(s);

	for (const char *q = ps->p; q + n <= ps->end; q++) {
		if (memcmp(q, s, n) == 0) {
			ps->p = q + n;
			return 0;
		}
	}
	return -EIO;
}

static int starts(const struct parser *ps, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

static int cdata(struct parser *ps)
{
	const char *start = ps->p + strlen("<![CDATA[");
	size_t n;

	ps->p = start;
	if (skip_past(ps, "]]>"))
		return -EIO;
	n = (size_t)(ps->p - 3 - start);
	if (ps->depth == 0 || memchr(start, '\0', n))
		return -EIO;
	memcpy(ps->text + ps->ntext, start, n);
	ps->ntext += n;
	return 0;
}

int s3_time_parse(const char *s, struct timespec *ts)
{
	int f[6] = { 0 }, widths[6] = { 4, 2, 2, 2, 2, 2 };
	const char seps[6] = { '-', '-', 'T', ':', ':', '\0' };
	long nsec = 0, scale = 100000000L, offset = 0;
	struct tm tm = { 0 };
	time_t t;

	for (int i = 0; i < 6; i++) {
		for (int k = 0; k < widths[i]; k++, s++) {
			if (dec_value(*s) < 0)
				return -EIO;
			f[i] = f[i] * 10 + dec_value(*s);
		}
		if (seps[i] && *s++ != seps[i])
			return -EIO;
	}
	if (*s == '.') {
		for (s++; dec_value(*s) >= 0; s++, scale /= 10)
			nsec += dec_value(*s) * scale;
	}
	if ((*s == '+' || *s == '-') && strlen(s) == 6 && s[3] == ':') {
		int h = dec_value(s[1]) * 10 + dec_value(s[2]);
		int m = dec_value(s[4]) * 10 + dec_value(s[5]);

		if (dec_value(s[1]) < 0 || dec_value(s[2]) < 0 || dec_value(s[4]) < 0 ||
		    dec_value(s[5]) < 0)
			return -EIO;
		offset = (*s == '+' ? 1 : -1) * (h * 3600L + m * 60L);
	} else if (strcmp(s, "Z") != 0) {
		return -EIO;
	}
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 ||
	    f[5] > 60)
		return -EIO;
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	t = timegm(&tm);
	ts->tv_sec = t - offset;
	ts->tv_nsec = nsec;
	return 0;
}

static int parse_size(const char *s, off_t *out)
{
	long long v = 0;

	if (!*s)
		return -EIO;
	for (; *s; s++) {
		if (dec_value(*s) < 0 || v > (0x7fffffffffffffffLL - 9) / 10)
			return -EIO;
		v = v * 10 + dec_value(*s);
	}
	*out = (off_t)v;
	return 0;
}

static int set_string(char **dst, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

/* The text of a leaf element, given to its field. */
static int leaf_text(struct parser *ps)
{
	const char *t = ps->text;
	int d = ps->depth;
	struct item *it = ps->in_item ? &ps->items[ps->nitems - 1] : NULL;

	if (d == 2 && open_is(ps, 1, "IsTruncated")) {
		if (strcmp(t, "true") != 0 && strcmp(t, "false") != 0)
			return -EIO;
		ps->truncated = t[0] == 't';
	} else if (d == 2 && open_is(ps, 1, "NextContinuationToken")) {
		return set_string(&ps->token, t);
	} else if (d == 2 && open_is(ps, 1, "EncodingType")) {
		ps->url_encoded = strcmp(t, "url") == 0;
	} else if (d == 3 && it && !it->dir) {
		if (open_is(ps, 2, "Key"))
			return set_string(&it->key, t);
		if (open_is(ps, 2, "Size")) {
			it->has_size = 1;
			return parse_size(t, &it->meta.size);
		}
		if (open_is(ps, 2, "LastModified"))
			return s3_time_parse(t, &it->meta.mtime);
		/* cut as http.c cuts the ETag header, so the two compare equal */
		if (open_is(ps, 2, "ETag"))
			snprintf(it->meta.etag, sizeof(it->meta.etag), "%s", t);
	} else if (d == 3 && it && open_is(ps, 2, "Prefix")) {
		return set_string(&it->key, t);
	}
	return 0;
}

static int begin_item(struct parser *ps, int dir)
{
	if (ps->nitems == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 64;
		struct item *v = realloc(ps->items, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ps->items = v;
		ps->cap = cap;
	}
	memset(&ps->items[ps->nitems++], 0, sizeof(struct item));
	ps->items[ps->nitems - 1].dir = dir;
	ps->in_item = 1;
	return 0;
}

static int end_element(struct parser *ps)
{
	int rc = 0;

	ps->text[ps->ntext] = '\0';
	if (ps->leaf)
		rc = leaf_text(ps);
	if (rc == 0 && ps->depth == 2 && ps->in_item) {
		const struct item *it = &ps->items[ps->nitems - 1];

		ps->in_item = 0;
		if (!it->key || (!it->dir && !it->has_size))
			rc = -EIO;
	}
	ps->depth--;
	ps->leaf = 0;
	if (ps->depth == 0)
		ps->root_done = 1;
	return rc;
}

static int start_tag(struct parser *ps)
{
	const char *name = ++ps->p;
	char quote = 0;
	int empty = 0;
	size_t len;

	while (ps->p < ps->end && !is_space(*ps->p) && *ps->p != '/' && *ps->p != '>')
		ps->p++;
	len = (size_t)(ps->p - name);
	for (; ps->p < ps->end; ps->p++) {	/* attributes: skipped */
		if (quote) {
			quote = *ps->p == quote ? 0 : quote;
		} else if (*ps->p == '"' || *ps->p == '\'') {
			quote = *ps->p;
		} else if (*ps->p == '>') {
			empty = ps->p[-1] == '/';
			break;
		}
	}
	if (ps->p >= ps->end || len == 0 || ps->root_done || ps->depth == MAX_DEPTH)
		return -EIO;
	ps->p++;
	if (ps->depth == 0 && !named(name, len, "ListBucketResult"))
		return -EIO;
	ps->open[ps->depth].name = name;
	ps->open[ps->depth].len = len;
	ps->depth++;
	ps->leaf = 1;
	ps->ntext = 0;
	if (ps->depth == 2 && (named(name, len, "Contents") ||
			       named(name, len, "CommonPrefixes"))) {
		int rc = begin_item(ps, named(name, len, "CommonPrefixes"));

		if (rc)
			return rc;
	}
	return empty ? end_element(ps) : 0;
}

static int end_tag(struct parser *ps)
{
	const char *name = ps->p + 2, *gt = memchr(name, '>', (size_t)(ps->end - name));
	size_t len;

	if (!gt || ps->depth == 0)
		return -EIO;
	len = (size_t)(gt - name);
	while (len && is_space(name[len - 1]))
		len--;
	if (len != ps->open[ps->depth - 1].len ||
	    memcmp(name, ps->open[ps->depth - 1].name, len) != 0)
		return -EIO;
	ps->p = gt + 1;
	return end_element(ps);
}

static int scan(struct parser *ps)
{
	int rc = 0;

	while (rc == 0 && ps->p < ps->end) {
		if (*ps->p != '<')
			rc = text_run(ps);
		else if (starts(ps, "<!--"))
			rc = skip_past(ps, "-->");
		else if (starts(ps, "<![CDATA["))
			rc = cdata(ps);
		else if (starts(ps, "<?"))
			rc = skip_past(ps, "?>");
		else if (starts(ps, "</"))
			rc = end_tag(ps);
		else if (starts(ps, "<!"))
			rc = -EIO;	/* a DOCTYPE could define entities: not S3 */
		else
			rc = start_tag(ps);
	}
	if (rc == 0 && (!ps->root_done || ps->depth != 0))
		rc = -EIO;
	if (rc == 0 && ps->truncated && !ps->token)
		rc = -EIO;	/* more pages, but no way to ask for them */
	return rc;
}

/*
 * Undoes encoding-type=url in place.  AWS writes a space as '+' (and '+'
 * as %2B), radosgw writes %20: '+' is a space either way.
 */
static int url_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%') {
			int hi = hex_value(s[1]), lo = hi < 0 ? -1 : hex_value(s[2]);

			if (lo < 0 || (hi == 0 && lo == 0))
				return -EIO;
			*o++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*o++ = *s == '+' ? ' ' : *s;
		}
	}
	*o = '\0';
	return 0;
}

/* Turns the parsed items into entries named relative to prefix. */
static int make_entries(struct parser *ps, const char *prefix, struct s3_list_page *pg)
{
	size_t plen = strlen(prefix);

	pg->entries = calloc(ps->nitems ? ps->nitems : 1, sizeof(*pg->entries));
	if (!pg->entries)
		return -ENOMEM;
	for (size_t i = 0; i < ps->nitems; i++) {
		struct item *it = &ps->items[i];
		struct store_entry *e = &pg->entries[pg->count];
		char *name;
		size_t n;

		if (ps->url_encoded && url_decode(it->key))
			return -EIO;
		if (strncmp(it->key, prefix, plen) != 0)
			continue;
		pg->found = 1;
		name = it->key + plen;
		n = strlen(name);
		if (it->dir && n && name[n - 1] == '/')
			name[--n] = '\0';
		if (n == 0 || memchr(name, '/', n))
			continue;	/* the marker "dir/" itself, or "dir//x" */
		e->name = name;
		e->meta = it->meta;
		e->meta.kind = it->dir ? STORE_DIR : STORE_FILE;
		pg->count++;
	}
	return 0;
}

static void free_items(struct parser *ps)
{
	for (size_t i = 0; i < ps->nitems; i++)
		free(ps->items[i].key);
	free(ps->items);
}

int s3_list_parse(const char *xml, size_t len, const char *prefix,
		  struct s3_list_page *pg)
{
	struct parser ps = { .p = xml, .end = xml + len };
	int rc;

	memset(pg, 0, sizeof(*pg));
	ps.text = malloc(len + 1);
	if (!ps.text)
		return -ENOMEM;
	rc = scan(&ps);
	if (rc == 0)
		rc = make_entries(&ps, prefix, pg);
	free(ps.text);
	if (rc == 0)
		pg->keys = malloc((ps.nitems ? ps.nitems : 1) * sizeof(char *));
	if (rc == 0 && !pg->keys)
		rc = -ENOMEM;
	if (rc) {
		free(pg->entries);
		free(ps.token);
		free_items(&ps);
		memset(pg, 0, sizeof(*pg));
		return rc;
	}
	for (size_t i = 0; i < ps.nitems; i++)
		pg->keys[i] = ps.items[i].key;
	pg->nkeys = ps.nitems;
	free(ps.items);
	pg->truncated = ps.truncated;
	pg->next_token = ps.token;
	return 0;
}

void s3_list_page_free(struct s3_list_page *pg)
{
	for (size_t i = 0; i < pg->nkeys; i++)
		free(pg->keys[i]);
	free(pg->keys);
	free(pg->entries);
	free(pg->next_token);
	memset(pg, 0, sizeof(*pg));
}
