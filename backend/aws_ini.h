/* SPDX-License-Identifier: MIT */
/*
 * aws_ini.h - reads the INI files of the AWS tools (~/.aws/credentials and
 * ~/.aws/config) for aws_config.c.
 *
 * The dialect: "[name]" or "[kind name]" headers, "key = value" or
 * "key: value" lines, '#' and ';' comment lines, " #" or " ;" comments after
 * a value, blanks anywhere, CRLF or LF, and indented lines under a key with
 * no value forming a sub-section ("s3 =\n  endpoint_url = ...").
 */
#ifndef CLOUDSHIM_AWS_INI_H
#define CLOUDSHIM_AWS_INI_H

#include <stddef.h>

/* What to look up: section [name] (kind "") or [kind name], then key. */
struct aws_ini_want {
	const char *kind;	/* "", "profile" (also matches [default]), ... */
	const char *name;
	const char *sub;	/* sub-section key, or NULL for top-level keys */
	const char *key;	/* NULL: only ask whether the section exists */
};

/*
 * Searches text[0..len).  Returns 1 when found (for a key: with a non-empty
 * value, returned as a new string in *out; the last occurrence wins), 0
 * when not, -ENOMEM.
 */
int aws_ini_get(const char *text, size_t len, const struct aws_ini_want *w,
		char **out);

/*
 * Reads the file at path whole (at most 4 MiB) into a NUL-terminated
 * buffer.  A missing file gives 0 with *out NULL; other failures -errno.
 */
int aws_ini_read(const char *path, char **out, size_t *outlen);

/* Wipes and frees a buffer from aws_ini_read(). */
void aws_ini_release(char *text, size_t len);

#endif
