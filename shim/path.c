/* SPDX-License-Identifier: MIT */
/*
 * path.c - normalisation by components: each is appended, "." dropped,
 * ".." removes the last one (never above "/").
 */
#include <errno.h>
#include <string.h>

#include "shim/path.h"

/* Appends the components of p to out (length *n); 0 or -ENAMETOOLONG. */
static int append(char *out, size_t *n, size_t outsize, const char *p)
{
	while (*p) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (*n > 0 && out[*n - 1] != '/')
				(*n)--;
			if (*n > 0)
				(*n)--;
		} else {
			if (*n + 1 + len + 1 > outsize)
				return -ENAMETOOLONG;
			out[(*n)++] = '/';
			memcpy(out + *n, p, len);
			*n += len;
		}
		p += len;
	}
	return 0;
}

int path_normalize(const char *base, const char *path, char *out, size_t outsize)
{
	size_t n = 0;
	int rc = 0;

	if (outsize < 2)
		return -ENAMETOOLONG;
	if (path[0] != '/')
		rc = append(out, &n, outsize, base);
	if (rc == 0)
		rc = append(out, &n, outsize, path);
	if (rc)
		return rc;
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return 0;
}

const char *path_under(const char *norm, const char *prefix, size_t prefix_len)
{
	if (strncmp(norm, prefix, prefix_len) != 0)
		return NULL;
	if (norm[prefix_len] == '\0')
		return norm + prefix_len;
	if (norm[prefix_len] == '/')
		return norm + prefix_len + 1;
	return NULL;
}

int path_wants_dir(const char *path)
{
	size_t n = strlen(path);

	if (n > 0 && path[n - 1] == '.' && (n == 1 || path[n - 2] == '/'))
		n--;	/* "x/." wants a directory as "x/" does */
	return n > 0 && path[n - 1] == '/';
}
