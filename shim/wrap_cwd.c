/* SPDX-License-Identifier: MIT */
/*
 * wrap_cwd.c - chdir and fchdir, so relative paths are tested against the
 * right directory without a getcwd(2) per call.
 */
#include "shim/wrap.h"

EXPORT int chdir(const char *path)
{
	int rc = REAL(chdir)(path);

	if (rc == 0)
		mount_cwd_changed();
	return rc;
}

EXPORT int fchdir(int fd)
{
	int rc = REAL(fchdir)(fd);

	if (rc == 0)
		mount_cwd_changed();
	return rc;
}
