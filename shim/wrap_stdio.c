/* SPDX-License-Identifier: MIT */
/*
 * wrap_stdio.c - FILE streams on mounted files: fopen, fopen64, fdopen,
 * fileno and fileno_unlocked.
 *
 * glibc's stdio reads through internal calls no preload can see, so a
 * stream on a mounted file is a fopencookie stream whose functions call
 * our own read, write, lseek and close (so fclose of a written file starts
 * its upload).  Such a stream has no descriptor of its
 * own as far as glibc knows (fileno -1), so fileno is wrapped to give the
 * mounted descriptor back: libstdc++'s ifstream and many programs need it.
 *
 * freopen cannot swap a cookie in under an existing FILE (stdin, most
 * often), so it reopens the stream on the placeholder memfd, filled with
 * the object's bytes, and glibc reads that natively; for reading only.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "shim/wrap.h"

#define STREAM_BUFFER ((size_t)256 << 10)

struct stream {
	FILE *fp;
	int fd;
	UT_hash_handle hh;
};

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stream *streams;
static atomic_int nstreams;

void streams_fork_lock(void)
{
	pthread_mutex_lock(&streams_lock);
}

void streams_fork_unlock(void)
{
	pthread_mutex_unlock(&streams_lock);
}

static ssize_t cookie_read(void *c, char *buf, size_t n)
{
	return read(((struct stream *)c)->fd, buf, n);
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
	ssize_t w = write(((struct stream *)c)->fd, buf, n);

	return w < 0 ? 0 : w;	/* fopencookie: 0 is the error */
}

static int cookie_seek(void *c, off64_t *off, int whence)
{
	off64_t pos = lseek64(((struct stream *)c)->fd, *off, whence);

	if (pos < 0)
		return -1;
	*off = pos;
	return 0;
}

/* Called by fclose before it frees the FILE: the entry goes with it. */
static int cookie_close(void *c)
{
	struct stream *s = c;
	int fd = s->fd;

	pthread_mutex_lock(&streams_lock);
	HASH_DEL(streams, s);
	atomic_fetch_sub(&nstreams, 1);
	pthread_mutex_unlock(&streams_lock);
	free(s);
	return close(fd);
}

static int stream_fd(FILE *fp)
{
	struct stream *s;
	int fd = -1;

	if (atomic_load_explicit(&nstreams, memory_order_relaxed) == 0)
		return -1;
	pthread_mutex_lock(&streams_lock);
	HASH_FIND_PTR(streams, &fp, s);
	if (s)
		fd = s->fd;
	pthread_mutex_unlock(&streams_lock);
	return fd;
}

/* A read stream over the mounted descriptor fd, which it owns. */
static FILE *stream_open(int fd, const char *mode)
{
	cookie_io_functions_t io = {
		.read = cookie_read,
		.write = cookie_write,
		.seek = cookie_seek,
		.close = cookie_close,
	};
	struct stream *s = malloc(sizeof(*s));
	FILE *fp = s ? fopencookie(s, mode, io) : NULL;

	if (!fp) {
		free(s);
		return NULL;
	}
	setvbuf(fp, NULL, _IOFBF, STREAM_BUFFER);
	s->fp = fp;
	s->fd = fd;
	pthread_mutex_lock(&streams_lock);
	HASH_ADD_PTR(streams, fp, s);
	atomic_fetch_add(&nstreams, 1);
	pthread_mutex_unlock(&streams_lock);
	return fp;
}

/* fopen's mode string as open(2) flags; -1 when it is not one. */
static int mode_flags(const char *mode)
{
	int flags;

	switch (mode[0]) {
	case 'r': flags = O_RDONLY; break;
	case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
	case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
	default: return -1;
	}
	for (const char *p = mode + 1; *p && *p != ','; p++) {
		if (*p == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*p == 'x')
			flags |= O_EXCL;
		else if (*p == 'e')
			flags |= O_CLOEXEC;
	}
	return flags;
}

static FILE *fopen_mounted(struct mount *m, const char *key, const char *path,
			   const char *mode)
{
	int flags = mode_flags(mode), fd;
	FILE *fp;

	if (flags < 0) {
		errno = EINVAL;
		return NULL;
	}
	guard_enter();
	fd = shim_open_path(m, key, path, flags);
	guard_leave();
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	fp = stream_open(fd, mode);	/* its first write stages an existing file */
	if (!fp) {
		close(fd);
		errno = ENOMEM;
	}
	return fp;
}

/*
 * The mounted stream for path, or NULL with *handled 0 for a local path
 * (buf: see KERNEL_OR_SHIM).
 */
static FILE *fopen_at(const char *path, const char *mode, int *handled, char *buf)
{
	const char *key;
	struct mount *m = route_following(AT_FDCWD, path, buf, &key);

	*handled = m != NULL;
	return m ? fopen_mounted(m, key, path, mode) : NULL;
}

/* fopen by real, or by the shim (wrap.h). */
static FILE *fopen_either(const char *path, const char *mode, real_fopen_fn real)
{
	KERNEL_OR_SHIM_AS(FILE *, NULL, AT_FDCWD, path, mode[0] != 'r',
			  fopen_at(path, mode, &handled_, local_),
			  real(path, mode));
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	return fopen_either(path, mode, REAL(fopen));
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return fopen_either(path, mode, (real_fopen_fn)REAL(fopen64));
}

static FILE *freopen_mounted(struct mount *m, const char *key, const char *path,
			     const char *mode, FILE *fp, real_freopen_fn real)
{
	int flags = mode_flags(mode), fd, rc;
	char proc[64];
	struct vfile *vf;
	FILE *out;

	if (flags < 0 || (flags & O_ACCMODE) != O_RDONLY) {
		errno = flags < 0 ? EINVAL : ENOTSUP;	/* see the README */
		return NULL;
	}
	guard_enter();
	fd = shim_open_path(m, key, path, flags | O_CLOEXEC);
	vf = fd >= 0 ? vfile_get(fd) : NULL;
	rc = fd < 0 ? fd : vf->kind == VFILE_REG ? vfile_fill(vf, fd, 0, vf->meta.size) : -EISDIR;
	vfile_put(vf);
	guard_leave();
	if (rc) {
		if (fd >= 0)
			close(fd);
		errno = -rc;
		return NULL;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	out = real(proc, mode, fp);
	rc = errno;
	close(fd);
	errno = rc;
	return out;
}

static FILE *freopen_at(const char *path, const char *mode, FILE *fp, real_freopen_fn real)
{
	char buf[PATH_MAX];
	const char *key;
	struct mount *m;

	if (!path)	/* the stream's own file again, in another mode */
		return real(path, mode, fp);
	m = route_following(AT_FDCWD, path, buf, &key);
	return m ? freopen_mounted(m, key, path, mode, fp, real)
		 : real(kernel_path(path, buf), mode, fp);
}

EXPORT FILE *freopen(const char *path, const char *mode, FILE *fp)
{
	return freopen_at(path, mode, fp, REAL(freopen));
}

EXPORT FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
	return freopen_at(path, mode, fp, (real_freopen_fn)REAL(freopen64));
}

EXPORT FILE *fdopen(int fd, const char *mode)
{
	struct vfile *vf = vfile_get(fd);

	if (vf) {
		int flags = mode_flags(mode), staged = vf->kind == VFILE_STAGED,
		    access = vf->flags & O_ACCMODE;

		guard_enter();
		vfile_put(vf);
		guard_leave();
		if (flags < 0) {
			errno = EINVAL;
			return NULL;
		}
		if (!staged && (flags & O_ACCMODE) != O_RDONLY && access == O_RDONLY) {
			errno = EINVAL;	/* as glibc: the mode asks more than the descriptor has */
			return NULL;
		}
		return stream_open(fd, mode);
	}
	return REAL(fdopen)(fd, mode);
}

EXPORT int fileno(FILE *fp)
{
	int fd = stream_fd(fp);

	return fd >= 0 ? fd : REAL(fileno)(fp);
}

EXPORT int fileno_unlocked(FILE *fp)
{
	int fd = stream_fd(fp);

	return fd >= 0 ? fd : REAL(fileno_unlocked)(fp);
}
