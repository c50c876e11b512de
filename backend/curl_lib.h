/* SPDX-License-Identifier: MIT */
/*
 * curl_lib.h - libcurl, opened by the first request and called through a
 * table.
 *
 * libcurl brings some thirty libraries with it (HTTP/2, IDN, SSH, LDAP,
 * Kerberos, GnuTLS for RTMP...).  Linked to the shim, every program started
 * under it loaded them all before main, whether it used a mount or not:
 * /bin/true took 15.4 ms of CPU instead of 1.8 on the test VM, and a shell
 * script pays that for each command it runs.  Only a program that makes a
 * request now pays for it, once.
 */
#ifndef CLOUDSHIM_CURL_LIB_H
#define CLOUDSHIM_CURL_LIB_H

#include <curl/curl.h>

/* the libcurl functions used, without their curl_ prefix */
#define CURL_LIB_FUNCS(X) \
	X(global_init) X(share_init) X(share_setopt) \
	X(easy_init) X(easy_cleanup) X(easy_setopt) X(easy_getinfo) X(easy_perform) \
	X(easy_strerror) X(slist_append) X(slist_free_all) X(getdate)

struct curl_lib {
#define X(name) __typeof__(curl_##name) *name;
	CURL_LIB_FUNCS(X)
#undef X
};

/* curl.easy_perform(h) and so on, once curl_lib_load has returned 0 */
extern struct curl_lib curl;

/*
 * Opens libcurl and runs curl_global_init, once per process.  0, or -EIO
 * when that failed (said once on stderr).
 */
int curl_lib_load(void);

#endif
