/* SPDX-License-Identifier: MIT */
/*
 * wrap_rw.c - read, pread, readv, preadv (and their 64-bit, v2 and
 * fortified forms), lseek, and the write family, on mounted descriptors.
 *
 * read(2) and friends hold the vfile's lock for the whole call, as the
 * kernel holds f_pos_lock: two threads reading one shared descriptor get
 * disjoint pieces.  pread(2) touches no offset and holds nothing while it
 * waits for the network, so threads preading one descriptor run in
 * parallel; only the read-ahead bookkeeping is serialised.
 */
#include <limits.h>

#include "backend/engine.h"
#include "shim/staged.h"
#include "shim/wrap.h"

extern void __chk_fail(void) __attribute__((noreturn));

static ssize_t check_readable(const struct vfile *vf)
{
	if (vf->flags & O_PATH)
		return -EBADF;	/* a descriptor for the path alone, as the kernel's */
	if (vf->kind == VFILE_DIR)
		return -EISDIR;
	if ((vf->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	return 0;
}

ssize_t vfile_read_at(struct vfile *vf, void *buf, size_t len, off_t off)
{
	ssize_t rc = check_readable(vf);

	if (rc)
		return rc;
	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&vf->ppf_lock);
	obj_advise(vf->obj, &vf->ppf, off, len);
	pthread_mutex_unlock(&vf->ppf_lock);
	return obj_read(vf->obj, buf, len, off);
}

/*
 * A file's offset is kept where a real file keeps it: in the placeholder's
 * open file description.  So descriptors share it across dup, fork and
 * exec alike (`(head -c 100; cat) < /data/f` in a shell), at the cost of
 * two lseek(2) calls per read.  The caller holds vf->lock.
 */
static off_t pos_get(int fd)
{
	off_t pos = REAL(lseek)(fd, 0, SEEK_CUR);

	return pos < 0 ? -errno : pos;
}

static void pos_set(int fd, off_t pos)
{
	REAL(lseek)(fd, pos, SEEK_SET);
}

ssize_t vfile_read(struct vfile *vf, int fd, void *buf, size_t len)
{
	ssize_t rc = check_readable(vf);
	off_t pos;

	if (rc)
		return rc;
	pthread_mutex_lock(&vf->lock);
	pos = pos_get(fd);
	if (pos < 0) {
		rc = pos;
	} else {
		obj_advise(vf->obj, &vf->pf, pos, len);
		rc = obj_read(vf->obj, buf, len, pos);
		if (rc > 0)
			pos_set(fd, pos + rc);
	}
	pthread_mutex_unlock(&vf->lock);
	return rc;
}

static size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t total = 0;

	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	return total;
}

/* Scatter read: at off, or at (and moving) the offset when off is -1. */
static ssize_t vfile_readv(struct vfile *vf, int fd, const struct iovec *iov, int cnt, off_t off)
{
	ssize_t rc = check_readable(vf), done = 0;
	int at_pos = off == -1;

	if (rc)
		return rc;
	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	if (!at_pos && off < 0)
		return -EINVAL;
	pthread_mutex_lock(&vf->lock);
	if (at_pos && (off = pos_get(fd)) < 0) {
		pthread_mutex_unlock(&vf->lock);
		return off;
	}
	obj_advise(vf->obj, at_pos ? &vf->pf : &vf->ppf, off, iov_total(iov, cnt));
	for (int i = 0; i < cnt; i++) {
		ssize_t n = obj_read(vf->obj, iov[i].iov_base, iov[i].iov_len, off + done);

		if (n < 0) {
			rc = done ? 0 : n;
			break;
		}
		done += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	if (at_pos && done > 0)
		pos_set(fd, off + done);
	pthread_mutex_unlock(&vf->lock);
	return rc < 0 ? rc : done;
}

/*
 * Runs a vfile operation with the guard held and errno set on failure.  A
 * staged file is a real file: the C library does it (otherwise), but one
 * opened write-only is open for reading underneath (the shim reads it to
 * send it), so the program's call that reads (reads) gets EBADF here, as
 * the kernel would give it; the shim's own calls (guard held) are left be.
 */
#define ON_VFILE(fd, reads, expr, otherwise) \
	do { \
		struct vfile *vf = vfile_get(fd); \
		ssize_t rc_; \
		if (!vf) \
			return otherwise; \
		if (vf->kind == VFILE_STAGED) { \
			rc_ = (reads) && vfile_write_only(vf) && !guard_busy() ? -EBADF : 0; \
			guard_enter(); \
			vfile_put(vf); \
			guard_leave(); \
			return rc_ ? ret_or_fail(rc_) : otherwise; \
		} \
		guard_enter(); \
		rc_ = (expr); \
		vfile_put(vf); \
		guard_leave(); \
		return ret_or_fail(rc_); \
	} while (0)

/*
 * An exported call on a descriptor: the kernel's at once for a local one;
 * a mounted one goes through NAME_mounted, out of line, so that the local
 * path is a table test and a jump, with no registers saved.
 */
#define FD_WRAP(reads, ret, name, params, args, expr) \
	static __attribute__((noinline)) ret name##_mounted params \
	{ \
		ON_VFILE(fd, reads, expr, REAL(name) args); \
	} \
	EXPORT ret name params \
	{ \
		return fdtab_has(fd) ? name##_mounted args : REAL(name) args; \
	}
#define FD_READ(ret, name, params, args, expr)	FD_WRAP(1, ret, name, params, args, expr)
#define FD_CALL(ret, name, params, args, expr)	FD_WRAP(0, ret, name, params, args, expr)

FD_READ(ssize_t, read, (int fd, void *buf, size_t len), (fd, buf, len),
	vfile_read(vf, fd, buf, len))

EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return read(fd, buf, len);
}

FD_READ(ssize_t, pread, (int fd, void *buf, size_t len, off_t off), (fd, buf, len, off),
	vfile_read_at(vf, buf, len, off))

FD_READ(ssize_t, pread64, (int fd, void *buf, size_t len, off64_t off), (fd, buf, len, off),
	vfile_read_at(vf, buf, len, off))

EXPORT ssize_t __pread_chk(int fd, void *buf, size_t len, off_t off, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return pread(fd, buf, len, off);
}

EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t len, off64_t off, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return pread64(fd, buf, len, off);
}

FD_READ(ssize_t, readv, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt),
	vfile_readv(vf, fd, iov, cnt, -1))

FD_READ(ssize_t, preadv, (int fd, const struct iovec *iov, int cnt, off_t off),
	(fd, iov, cnt, off), off == -1 ? -EINVAL : vfile_readv(vf, fd, iov, cnt, off))

FD_READ(ssize_t, preadv64, (int fd, const struct iovec *iov, int cnt, off64_t off),
	(fd, iov, cnt, off), off == -1 ? -EINVAL : vfile_readv(vf, fd, iov, cnt, off))

/* preadv2: an offset of -1 means the current offset, as for readv. */
FD_READ(ssize_t, preadv2, (int fd, const struct iovec *iov, int cnt, off_t off, int flags),
	(fd, iov, cnt, off, flags), vfile_readv(vf, fd, iov, cnt, off))

FD_READ(ssize_t, preadv64v2, (int fd, const struct iovec *iov, int cnt, off64_t off, int flags),
	(fd, iov, cnt, off, flags), vfile_readv(vf, fd, iov, cnt, off))

/* A directory's offset is its vfile's: an index into its listing. */
static off_t vfile_seek(struct vfile *vf, int fd, off_t off, int whence)
{
	off_t size = vf->kind == VFILE_REG ? vf->meta.size : 0, pos;
	int dir = vf->kind == VFILE_DIR;
	off_t cur;

	pthread_mutex_lock(&vf->lock);
	cur = dir ? vf->pos : pos_get(fd);
	switch (whence) {
	case SEEK_SET:
		pos = off;
		break;
	case SEEK_CUR:
		pos = cur + off;
		break;
	case SEEK_END:
		pos = size + off;
		break;
	case SEEK_DATA:
		pos = off < size ? off : -ENXIO;
		break;
	case SEEK_HOLE:
		pos = off < size ? size : -ENXIO;
		break;
	default:
		pos = -EINVAL;
	}
	if (cur < 0)
		pos = cur;
	else if (pos < 0 && pos != -ENXIO)
		pos = -EINVAL;
	if (pos >= 0 && dir)
		vf->pos = pos;
	else if (pos >= 0)
		pos_set(fd, pos);
	pthread_mutex_unlock(&vf->lock);
	return pos;
}

FD_CALL(off_t, lseek, (int fd, off_t off, int whence), (fd, off, whence),
	vfile_seek(vf, fd, off, whence))

FD_CALL(off64_t, lseek64, (int fd, off64_t off, int whence), (fd, off, whence),
	vfile_seek(vf, fd, off, whence))

/*
 * A write to a file opened for update stages it first (then the write is
 * the kernel's); to one opened read-only it fails as the kernel's would
 * (ftruncate with EINVAL, the others with EBADF).
 */
static ssize_t before_write(struct vfile *vf, enum staged_op op)
{
	if (vf->kind == VFILE_DIR)
		return -EISDIR;
	if ((vf->flags & O_ACCMODE) == O_RDONLY)
		return op == STAGED_TRUNCATE ? -EINVAL : -EBADF;
	return staged_promote(vf);
}

int shim_change_begin(int fd, struct staged_change *c, struct vfile **out)
{
	struct vfile *vf = vfile_get(fd);
	ssize_t rc = 0;

	*out = vf;
	if (!vf)
		return 0;
	guard_enter();
	if (vf->kind != VFILE_STAGED)
		rc = before_write(vf, c->op);
	if (rc == 0)
		rc = staged_change_begin(vf, fd, c);
	if (rc) {
		vfile_put(vf);
		*out = NULL;
	}
	guard_leave();
	return rc ? (int)fail(rc) : 0;
}

long shim_change_end(int fd, struct staged_change *c, struct vfile *vf, long result)
{
	int err = errno;

	if (!vf)
		return result;
	guard_enter();
	staged_change_end(vf, fd, c, result);
	vfile_put(vf);
	guard_leave();
	errno = err;
	return result;
}

#define ON_WRITE(fd, off, len, call) ON_CHANGE(fd, STAGED_WRITE, off, (off_t)(len), call)

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	ON_WRITE(fd, -1, len, REAL(write)(fd, buf, len));
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ON_WRITE(fd, off, len, REAL(pwrite)(fd, buf, len, off));
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	ON_WRITE(fd, off, len, REAL(pwrite64)(fd, buf, len, off));
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	ON_WRITE(fd, -1, iov_total(iov, cnt), REAL(writev)(fd, iov, cnt));
}

EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ON_WRITE(fd, off, iov_total(iov, cnt), REAL(pwritev)(fd, iov, cnt, off));
}

EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	ON_WRITE(fd, off, iov_total(iov, cnt), REAL(pwritev64)(fd, iov, cnt, off));
}

/* pwritev2: an offset of -1 means the current offset, as for writev. */
EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	ON_WRITE(fd, off < 0 ? -1 : off, iov_total(iov, cnt),
		 REAL(pwritev2)(fd, iov, cnt, off, flags));
}

EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	ON_WRITE(fd, off < 0 ? -1 : off, iov_total(iov, cnt),
		 REAL(pwritev64v2)(fd, iov, cnt, off, flags));
}

static int sync_fd(int fd, int (*real)(int))
{
	struct vfile *vf = vfile_get(fd);
	int rc = 0;

	if (!vf)
		return real(fd);
	guard_enter();
	if (vf->kind == VFILE_STAGED)
		rc = staged_sync(vf);
	vfile_put(vf);
	guard_leave();
	return (int)ret_or_fail(rc);
}

/* fsync: the file as it is now is durable in the store, or EIO. */
EXPORT int fsync(int fd)
{
	return sync_fd(fd, REAL(fsync));
}

EXPORT int fdatasync(int fd)
{
	return sync_fd(fd, REAL(fdatasync));
}
