/* SPDX-License-Identifier: MIT */
/*
 * wrap_copy.c - sendfile, copy_file_range and splice from a mounted file.
 *
 * The kernel cannot copy from a placeholder, so these are served by
 * reading through the cache and writing to the destination: the same
 * bytes and offsets the kernel would produce.  A mounted destination not
 * yet written is refused with EXDEV (copy_file_range) or EINVAL (the
 * others), on which cp, shutil and friends fall back to write, which
 * stages it.  Staged files are real files: the kernel copies those.
 *
 * Into a pipe, the kernel moves what fits and returns: a program that
 * splices 1 MiB into a pipe it reads itself next gets 64 KiB, not a wait
 * for a reader that never comes; with SPLICE_F_NONBLOCK, a full pipe is
 * EAGAIN.  Whatever the destination, the input offset moves by what was
 * written, not by what was read.  A destination the kernel would refuse
 * (splice into a file, copy_file_range into a pipe...) is refused with
 * its errno, before anything is read.
 */
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "shim/wrap.h"

#define COPY_CHUNK ((size_t)1 << 20)

enum copy_call { COPY_SENDFILE, COPY_FILE_RANGE, COPY_SPLICE };

static ssize_t write_all(int fd, const char *buf, size_t n, off64_t *out_off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = out_off ? REAL(pwrite64)(fd, buf + done, n - done, *out_off)
				    : REAL(write)(fd, buf + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return done ? (ssize_t)done : -errno;
		done += (size_t)w;
		if (out_off)
			*out_off += w;
	}
	return (ssize_t)done;
}

/*
 * What pipe fd takes now without waiting for its reader: all of it when
 * it is empty; else one page, which a pipe with a free slot takes at once
 * (its free bytes are unknown: the kernel fills it by pages).  0 when
 * nonblock and no slot is free.  count itself when fd is not a pipe.
 */
static size_t pipe_room(int fd, size_t count, int nonblock)
{
	int err = errno, cap = REAL(fcntl)(fd, F_GETPIPE_SZ), queued = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	size_t room;

	errno = err;	/* not a pipe is no failure of the caller's */
	if (cap <= 0)
		return count;
	if (ioctl(fd, FIONREAD, &queued) != 0)
		queued = 1;
	if (queued && nonblock && poll(&pfd, 1, 0) != 1)
		return 0;
	room = queued ? (size_t)sysconf(_SC_PAGESIZE) : (size_t)cap;
	return count < room ? count : room;
}

/*
 * What the kernel says of out_fd as call's destination, where it refuses
 * it: -errno, or 0.  splice moves only into a pipe, and not at an offset;
 * copy_file_range only into a regular file, not one opened to append;
 * sendfile not into a file opened to append either.
 */
static int refused(enum copy_call call, int out_fd, const off64_t *out_off, unsigned flags)
{
	int fl = REAL(fcntl)(out_fd, F_GETFL);
	struct stat st;

	if (call == COPY_FILE_RANGE && flags)
		return -EINVAL;
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY || REAL(fstat)(out_fd, &st) != 0)
		return -EBADF;
	switch (call) {
	case COPY_SPLICE:
		if (!S_ISFIFO(st.st_mode))
			return -EINVAL;
		return out_off ? -ESPIPE : 0;
	case COPY_FILE_RANGE:
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		return fl & O_APPEND ? -EBADF : 0;
	default:
		return fl & O_APPEND ? -EINVAL : 0;
	}
}

/* Bytes read from the input but not written: they are to be read again. */
static void unread(int in_fd, off64_t *in_off, ssize_t n)
{
	if (in_off)
		*in_off -= n;
	else
		REAL(lseek64)(in_fd, -(off64_t)n, SEEK_CUR);
}

/*
 * Copies up to count bytes from vf to out_fd: at *in_off (which moves) or
 * at vf's offset (which moves) when in_off is NULL.
 */
static ssize_t copy_out(struct vfile *vf, int in_fd, off64_t *in_off, int out_fd,
			off64_t *out_off, size_t count)
{
	size_t chunk = count < COPY_CHUNK ? count : COPY_CHUNK, done = 0;
	char *buf = malloc(chunk ? chunk : 1);
	ssize_t rc = 0;

	if (!buf)
		return -ENOMEM;
	while (done < count) {
		size_t want = count - done < chunk ? count - done : chunk;
		ssize_t n;

		if (in_off)
			n = vfile_read_at(vf, buf, want, *in_off);
		else
			n = vfile_read(vf, in_fd, buf, want);
		if (n <= 0) {
			rc = n;
			break;
		}
		if (in_off)
			*in_off += n;
		rc = write_all(out_fd, buf, (size_t)n, out_off);
		if (rc < n)
			unread(in_fd, in_off, n - (rc > 0 ? rc : 0));
		if (rc < 0)
			break;
		done += (size_t)rc;
		if (rc < n)
			break;
	}
	free(buf);
	return done ? (ssize_t)done : rc;
}

/*
 * Shared by all four: in mounted -> copy_out; out mounted -> refused.
 * flags: copy_file_range's or splice's.
 */
static ssize_t copy_from(enum copy_call call, int in_fd, off64_t *in_off, int out_fd,
			 off64_t *out_off, size_t count, unsigned flags, int *handled)
{
	struct vfile *in = vfile_get(in_fd), *out = vfile_get(out_fd);
	ssize_t rc = 0;

	guard_enter();
	/* a staged file is a real one: the kernel copies it (see ON_VFILE for EBADF) */
	if (in && in->kind == VFILE_STAGED && vfile_write_only(in)) {
		rc = -EBADF;
	} else if (in && in->kind == VFILE_STAGED) {
		vfile_put(in);
		in = NULL;
	}
	if (out && out->kind == VFILE_STAGED) {
		vfile_put(out);
		out = NULL;
	}
	*handled = in || out;
	if (rc) {
		;	/* a write-only source */
	} else if (out) {
		rc = call == COPY_FILE_RANGE ? -EXDEV : -EINVAL;
	} else if (in && count && !(rc = refused(call, out_fd, out_off, flags))) {
		size_t room = pipe_room(out_fd, count,
					call == COPY_SPLICE && (flags & SPLICE_F_NONBLOCK));

		rc = room ? copy_out(in, in_fd, in_off, out_fd, out_off, room) : -EAGAIN;
	}
	vfile_put(in);
	vfile_put(out);
	guard_leave();
	return *handled ? ret_or_fail(rc) : 0;
}

EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *off, size_t count)
{
	int handled;
	off64_t o = off ? *off : 0;
	ssize_t rc = copy_from(COPY_SENDFILE, in_fd, off ? &o : NULL, out_fd, NULL, count, 0,
			       &handled);

	if (!handled)
		return REAL(sendfile)(out_fd, in_fd, off, count);
	if (off && rc >= 0)
		*off = o;
	return rc;
}

EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *off, size_t count)
{
	int handled;
	ssize_t rc = copy_from(COPY_SENDFILE, in_fd, off, out_fd, NULL, count, 0, &handled);

	return handled ? rc : REAL(sendfile64)(out_fd, in_fd, off, count);
}

EXPORT ssize_t copy_file_range(int in_fd, off64_t *in_off, int out_fd, off64_t *out_off,
			       size_t len, unsigned flags)
{
	int handled;
	ssize_t rc = copy_from(COPY_FILE_RANGE, in_fd, in_off, out_fd, out_off, len, flags,
			       &handled);

	return handled ? rc : REAL(copy_file_range)(in_fd, in_off, out_fd, out_off, len, flags);
}

EXPORT ssize_t splice(int in_fd, off64_t *in_off, int out_fd, off64_t *out_off,
		      size_t len, unsigned flags)
{
	int handled;
	ssize_t rc = copy_from(COPY_SPLICE, in_fd, in_off, out_fd, out_off, len, flags,
			       &handled);

	return handled ? rc : REAL(splice)(in_fd, in_off, out_fd, out_off, len, flags);
}
