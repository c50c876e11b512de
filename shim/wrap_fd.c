/* SPDX-License-Identifier: MIT */
/*
 * wrap_fd.c - dup, dup2, dup3 and fcntl on mounted descriptors.
 *
 * The kernel duplicates the placeholder (so numbering and close-on-exec
 * are its own); the table then points the new number at the same vfile,
 * which is how duplicates share one offset.  A duplicate made onto a
 * number that held another vfile releases that one, as close would.
 */
#include <stdarg.h>

#include "shim/wrap.h"

/* After the kernel made newfd a copy of oldfd: mirror it in the table. */
static int mirror(int newfd, struct vfile *vf)
{
	struct vfile *old;

	if (newfd < 0)
		return newfd;
	old = vf ? fdtab_set(newfd, vf) : fdtab_clear(newfd);
	if (old || vf) {
		guard_enter();
		vfile_put(old);
		vfile_put(vf);
		guard_leave();
	}
	return newfd;
}

EXPORT int dup(int fd)
{
	struct vfile *vf = vfile_get(fd);

	return vf ? mirror(REAL(dup)(fd), vf) : REAL(dup)(fd);
}

EXPORT int dup2(int fd, int newfd)
{
	struct vfile *vf = vfile_get(fd);
	int rc = REAL(dup2)(fd, newfd);

	if (rc < 0 || fd == newfd) {
		guard_enter();
		vfile_put(vf);
		guard_leave();
		return rc;
	}
	return mirror(rc, vf);
}

EXPORT int dup3(int fd, int newfd, int flags)
{
	struct vfile *vf = vfile_get(fd);
	int rc = REAL(dup3)(fd, newfd, flags);

	if (rc < 0) {
		guard_enter();
		vfile_put(vf);
		guard_leave();
		return rc;
	}
	return mirror(rc, vf);
}

/* Flags F_SETFL may change, as the kernel allows. */
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

static int vfile_fcntl(struct vfile *vf, int fd, int cmd, unsigned long arg,
		       real_fcntl_fn real)
{
	int rc;

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		atomic_fetch_add(&vf->refs, 1);		/* mirror() drops one */
		return mirror(real(fd, cmd, arg), vf);
	case F_GETFL:
		return (vf->flags & ~O_CLOEXEC) | O_LARGEFILE;
	case F_SETFL:
		rc = real(fd, cmd, arg);
		if (rc == 0)
			vf->flags = (vf->flags & ~SETFL_MASK) | ((int)arg & SETFL_MASK);
		return rc;
	default:
		return real(fd, cmd, arg);
	}
}

static int fcntl_common(int fd, int cmd, unsigned long arg, real_fcntl_fn real)
{
	struct vfile *vf = vfile_get(fd);
	int rc;

	if (!vf)
		return real(fd, cmd, arg);
	rc = vfile_fcntl(vf, fd, cmd, arg, real);
	guard_enter();
	vfile_put(vf);
	guard_leave();
	return rc;
}

/* The third argument is an int or a pointer; both travel in one register. */
EXPORT int fcntl(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, REAL(fcntl));
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, (real_fcntl_fn)REAL(fcntl64));
}
