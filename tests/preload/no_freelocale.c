/* SPDX-License-Identifier: MIT */
/*
 * no_freelocale.c - test-only preload for the AddressSanitizer pass.
 *
 * With the ASan runtime preloaded into an uninstrumented program, the
 * destructor of libp11-kit (pulled in by libcurl through GnuTLS) blocks for
 * ever in freelocale on glibc's locale lock at exit; an empty ASan library
 * linked with libcurl hangs the same way, so it is not the shim's doing.
 * Freeing a locale at exit is pointless anyway: this makes it a no-op.
 */
#include <locale.h>

void freelocale(locale_t loc)
{
	(void)loc;
}
