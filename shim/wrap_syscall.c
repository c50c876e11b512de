/* SPDX-License-Identifier: MIT */
/*
 * wrap_syscall.c - syscall(2), for the few calls programs make through it
 * directly on files: getdents64 and statx.  Every other number goes to
 * the kernel as it came, without touching the C library.
 */
#include <stdarg.h>
#include <sys/syscall.h>

#include "shim/rawsys.h"
#include "shim/wrap.h"

EXPORT long syscall(long n, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);

	if (n == SYS_getdents64) {
		struct vfile *vf = vfile_get((int)a[0]);
		ssize_t rc;

		if (vf) {
			guard_enter();
			rc = vf->kind == VFILE_DIR ? vfile_getdents(vf, (void *)a[1], (size_t)a[2])
						   : -ENOTDIR;
			vfile_put(vf);
			guard_leave();
			return ret_or_fail(rc);
		}
	} else if (n == SYS_statx) {
		int handled, rc = shim_statx((int)a[0], (const char *)a[1], (int)a[2],
					     (unsigned)a[3], (struct statx *)a[4], &handled);

		if (handled)
			return rc;
	}
	return raw_syscall_errno(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
