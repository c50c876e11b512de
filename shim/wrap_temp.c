/* SPDX-License-Identifier: MIT */
/*
 * wrap_temp.c - mkstemp and its kin, and mkdtemp, with a template under a
 * mount.  The C library makes these through its internal open and mkdir,
 * which no wrapper sees, so `sed -i` and git failed with ENOENT there
 * (and with a template that climbs out of a mount).  Here the name is
 * drawn and the file made through open (O_EXCL) or mkdir, as the C
 * library would: a new name while the drawn one exists.
 */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "shim/wrap.h"

#define TEMP_TRIES	100	/* names drawn before giving up with EEXIST */
#define TEMP_XS		6	/* the "XXXXXX" a template must have */

/* The X's before the last suffixlen bytes of template, or NULL. */
static char *template_xs(char *template, int suffixlen)
{
	size_t n = strlen(template);
	char *x;

	if (suffixlen < 0 || n < TEMP_XS + (size_t)suffixlen)
		return NULL;
	x = template + n - (size_t)suffixlen - TEMP_XS;
	return memcmp(x, "XXXXXX", TEMP_XS) == 0 ? x : NULL;
}

static void draw_name(char *x)
{
	static const char letters[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char r[TEMP_XS];
	struct timespec ts;

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		for (int i = 0; i < TEMP_XS; i++)
			r[i] = (unsigned char)(ts.tv_nsec >> (i * 5));
	}
	for (int i = 0; i < TEMP_XS; i++)
		x[i] = letters[r[i] % (sizeof(letters) - 1)];
}

/*
 * Makes a file (dir 0) or directory from template: make is open or mkdir
 * of the drawn name, through the wrappers.  -1 with errno on failure.
 */
static int make_temp(char *template, int suffixlen, int flags, int dir)
{
	char *x = template_xs(template, suffixlen);

	if (!x) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < TEMP_TRIES; i++) {
		int rc;

		draw_name(x);
		rc = dir ? mkdir(template, 0700)
			 : open(template, O_RDWR | O_CREAT | O_EXCL | (flags & ~O_ACCMODE), 0600);
		if (rc >= 0 || errno != EEXIST)
			return rc;
	}
	return -1;	/* errno is EEXIST */
}

EXPORT int mkstemp(char *template)
{
	return needs_our_calls(template) ? make_temp(template, 0, 0, 0)
					 : REAL(mkstemp)(template);
}

EXPORT int mkstemp64(char *template)
{
	return needs_our_calls(template) ? make_temp(template, 0, 0, 0)
					 : REAL(mkstemp64)(template);
}

EXPORT int mkostemp(char *template, int flags)
{
	return needs_our_calls(template) ? make_temp(template, 0, flags, 0)
					 : REAL(mkostemp)(template, flags);
}

EXPORT int mkostemp64(char *template, int flags)
{
	return needs_our_calls(template) ? make_temp(template, 0, flags, 0)
					 : REAL(mkostemp64)(template, flags);
}

EXPORT int mkstemps(char *template, int suffixlen)
{
	return needs_our_calls(template) ? make_temp(template, suffixlen, 0, 0)
					 : REAL(mkstemps)(template, suffixlen);
}

EXPORT int mkstemps64(char *template, int suffixlen)
{
	return needs_our_calls(template) ? make_temp(template, suffixlen, 0, 0)
					 : REAL(mkstemps64)(template, suffixlen);
}

EXPORT int mkostemps(char *template, int suffixlen, int flags)
{
	return needs_our_calls(template) ? make_temp(template, suffixlen, flags, 0)
					 : REAL(mkostemps)(template, suffixlen, flags);
}

EXPORT int mkostemps64(char *template, int suffixlen, int flags)
{
	return needs_our_calls(template) ? make_temp(template, suffixlen, flags, 0)
					 : REAL(mkostemps64)(template, suffixlen, flags);
}

EXPORT char *mkdtemp(char *template)
{
	if (!needs_our_calls(template))
		return REAL(mkdtemp)(template);
	return make_temp(template, 0, 0, 1) == 0 ? template : NULL;
}
