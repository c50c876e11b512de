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
 * for a reader that never comes.  Whatever the destination, the input
 * offset moves by what was written, not by what was read.
 */
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "shim/wrap.h"

#define COPY_CHUNK ((size_t)1 << 20)

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
 * it is empty; else one page, which a pipe not yet full takes at once (its
 * free bytes are unknown: the kernel fills it by pages).  count itself
 * when fd is not a pipe.
 */
static size_t pipe_room(int fd, size_t count)
{
	int err = errno, cap = REAL(fcntl)(fd, F_GETPIPE_SZ), queued = 0;
	size_t room;

	errno = err;	/* not a pipe is no failure of the caller's */
	if (cap <= 0)
		return count;
	if (ioctl(fd, FIONREAD, &queued) != 0)
		queued = 1;
	room = queued ? (size_t)sysconf(_SC_PAGESIZE) : (size_t)cap;
	return count < room ? count : room;
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

/* Shared by all four: in mounted -> copy_out; out mounted -> refused. */
static ssize_t copy_from(int in_fd, off64_t *in_off, int out_fd, off64_t *out_off,
			 size_t count, int out_mounted_errno, int *handled)
{
	struct vfile *in = vfile_get(in_fd), *out = vfile_get(out_fd);
	ssize_t rc = 0;

	guard_enter();
	/* a staged file is a real one: the kernel copies it */
	if (in && in->kind == VFILE_STAGED) {
		vfile_put(in);
		in = NULL;
	}
	if (out && out->kind == VFILE_STAGED) {
		vfile_put(out);
		out = NULL;
	}
	*handled = in || out;
	if (out)
		rc = -out_mounted_errno;
	else if (in)
		rc = copy_out(in, in_fd, in_off, out_fd, out_off, pipe_room(out_fd, count));
	vfile_put(in);
	vfile_put(out);
	guard_leave();
	return *handled ? ret_or_fail(rc) : 0;
}

EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *off, size_t count)
{
	int handled;
	off64_t o = off ? *off : 0;
	ssize_t rc = copy_from(in_fd, off ? &o : NULL, out_fd, NULL, count, EINVAL, &handled);

	if (!handled)
		return REAL(sendfile)(out_fd, in_fd, off, count);
	if (off && rc >= 0)
		*off = o;
	return rc;
}

EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *off, size_t count)
{
	int handled;
	ssize_t rc = copy_from(in_fd, off, out_fd, NULL, count, EINVAL, &handled);

	return handled ? rc : REAL(sendfile64)(out_fd, in_fd, off, count);
}

EXPORT ssize_t copy_file_range(int in_fd, off64_t *in_off, int out_fd, off64_t *out_off,
			       size_t len, unsigned flags)
{
	int handled;
	ssize_t rc = copy_from(in_fd, in_off, out_fd, out_off, len, EXDEV, &handled);

	return handled ? rc : REAL(copy_file_range)(in_fd, in_off, out_fd, out_off, len, flags);
}

EXPORT ssize_t splice(int in_fd, off64_t *in_off, int out_fd, off64_t *out_off,
		      size_t len, unsigned flags)
{
	int handled;
	ssize_t rc = copy_from(in_fd, in_off, out_fd, out_off, len, EINVAL, &handled);

	return handled ? rc : REAL(splice)(in_fd, in_off, out_fd, out_off, len, flags);
}
