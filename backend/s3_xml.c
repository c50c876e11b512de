/* SPDX-License-Identifier: MIT */
/*
 * s3_xml.c - S3's answers to writes are flat documents of a few leaves,
 * each name once, so a search for the element and a decoder for its
 * text are enough; there is no need to build the tree.
 */
#include <errno.h>
#include <string.h>

#include "backend/s3_xml.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *find(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	for (; p + n <= end; p++)
		if (memcmp(p, s, n) == 0)
			return p;
	return NULL;
}

int s3_xml_root(const char *xml, size_t len, char *out, size_t n)
{
	const char *p = xml, *end = xml + len, *name, *colon;

	for (;;) {
		const char *close;

		while (p < end && is_space(*p))
			p++;
		if (p + 4 <= end && memcmp(p, "<!--", 4) == 0)
			close = "-->";
		else if (p + 2 <= end && memcmp(p, "<?", 2) == 0)
			close = "?>";
		else
			break;
		p = find(p, end, close);
		if (!p)
			return -EIO;
		p += strlen(close);
	}
	if (p >= end || *p != '<')
		return -EIO;
	name = ++p;
	while (p < end && !is_space(*p) && *p != '>' && *p != '/')
		p++;
	colon = memchr(name, ':', (size_t)(p - name));
	if (colon)
		name = colon + 1;
	if (p == name || (size_t)(p - name) >= n)
		return -EIO;
	memcpy(out, name, (size_t)(p - name));
	out[p - name] = '\0';
	return 0;
}

static int digit(char c, int base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One reference after '&' (at *pp, moved past its ';'): its character. */
static int entity(const char **pp, const char *end, char *c)
{
	static const struct {
		const char *name;
		char c;
	} refs[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
	};
	const char *p = *pp, *digits;
	unsigned long v = 0;
	int base = 10;

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		size_t k = strlen(refs[i].name);

		if ((size_t)(end - p) >= k && memcmp(p, refs[i].name, k) == 0) {
			*pp = p + k;
			*c = refs[i].c;
			return 0;
		}
	}
	if (p >= end || *p++ != '#')
		return -EIO;
	if (p < end && *p == 'x') {
		base = 16;
		p++;
	}
	for (digits = p; p < end && *p != ';'; p++) {
		int d = digit(*p, base);

		if (d < 0 || p - digits > 6)
			return -EIO;
		v = v * (unsigned long)base + (unsigned long)d;
	}
	/* only ASCII is wanted in the fields read here (ids, ETags, codes) */
	if (p >= end || p == digits || v == 0 || v >= 0x80)
		return -EIO;
	*pp = p + 1;
	*c = (char)v;
	return 0;
}

int s3_xml_text(const char *xml, size_t len, const char *name, char *out, size_t n)
{
	const char *p = xml, *end = xml + len, *close;
	size_t nl = strlen(name), o = 0;

	for (;; p++) {
		p = find(p, end, "<");
		if (!p)
			return -ENOENT;
		if ((size_t)(end - p) > nl + 1 && memcmp(p + 1, name, nl) == 0 &&
		    (p[nl + 1] == '>' || p[nl + 1] == '/' || is_space(p[nl + 1])))
			break;
	}
	p = memchr(p, '>', (size_t)(end - p));
	if (!p || n == 0)
		return -EIO;
	if (p[-1] == '/') {	/* <Name/> */
		out[0] = '\0';
		return 0;
	}
	p++;
	close = memchr(p, '<', (size_t)(end - p));
	if (!close || (size_t)(end - close) < nl + 3 || close[1] != '/' ||
	    memcmp(close + 2, name, nl) != 0 || close[nl + 2] != '>')
		return -EIO;	/* not a leaf, or cut short */
	while (p < close) {
		char c = *p++;

		if (c == '&' && entity(&p, close, &c))
			return -EIO;
		if (o + 1 >= n)
			return -EIO;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}
