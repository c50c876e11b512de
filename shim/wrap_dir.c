/* SPDX-License-Identifier: MIT */
/*
 * wrap_dir.c - directory streams on mounted directories: opendir,
 * fdopendir, readdir (and _r, 64), telldir, seekdir, rewinddir, dirfd,
 * closedir, scandir, scandirat, and getdents64.
 *
 * glibc's own DIR reads through an internal getdents that no preload can
 * see, so a mounted directory gets a DIR of ours.  It starts with the
 * descriptor, as glibc's does, and is remembered in a registry so every
 * stream call can tell ours from the C library's; while no directory is
 * open on a mount the registry costs one atomic load.  The position is
 * the vfile's offset, an index into its listing (0 is ".", 1 is ".."), so
 * a DIR and getdents64 on the same descriptor agree as they do natively.
 */
#include <dirent.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "backend/log.h"
#include "shim/wrap.h"

_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "dirent64 layout");

struct shim_dir {
	int fd;			/* first, where glibc's DIR keeps it */
	struct vfile *vf;	/* a reference of the stream's own */
	struct dirent64 ent;	/* what readdir returns */
	void *self;		/* the registry's key: this DIR's address */
	UT_hash_handle hh;
};

static pthread_mutex_t dirs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_dir *dirs;
static atomic_int ndirs;

void dirs_fork_lock(void)
{
	pthread_mutex_lock(&dirs_lock);
}

void dirs_fork_unlock(void)
{
	pthread_mutex_unlock(&dirs_lock);
}

static struct shim_dir *shim_dir_of(DIR *d)
{
	struct shim_dir *sd;

	if (!d || atomic_load_explicit(&ndirs, memory_order_relaxed) == 0)
		return NULL;
	pthread_mutex_lock(&dirs_lock);
	HASH_FIND_PTR(dirs, &d, sd);
	pthread_mutex_unlock(&dirs_lock);
	return sd;
}

/* Entry idx of vf as a dirent: 1, 0 past the end, or -errno. */
static int entry_at(struct vfile *vf, off_t idx, struct dirent64 *ent)
{
	char key[PATH_MAX];
	const char *name;
	size_t len = 0;
	unsigned char type = DT_DIR;
	size_t count = vf->dl ? dirlist_count(vf->dl) : 0;

	if (idx == 0 || idx == 1) {
		name = idx == 0 ? "." : "..";
		snprintf(key, sizeof(key), "%s", vf->key);
		if (idx == 1 && strrchr(key, '/'))
			*strrchr(key, '/') = '\0';
		else if (idx == 1)
			key[0] = '\0';
	} else if ((size_t)idx - 2 < count) {
		const struct dir_entry *e = dirlist_entry(vf->dl, (size_t)idx - 2);

		name = e->name;
		type = e->meta.kind == STORE_DIR ? DT_DIR : DT_REG;
		snprintf(key, sizeof(key), "%s%s%s", vf->key, vf->key[0] ? "/" : "", name);
	} else if ((size_t)idx - 2 - count < vf->nextra) {
		/* a name unsent writes make appear; "name/" is a directory */
		name = vf->extra[(size_t)idx - 2 - count];
		len = strcspn(name, "/");
		type = name[len] ? DT_DIR : DT_REG;
		snprintf(key, sizeof(key), "%s%s%.*s", vf->key, vf->key[0] ? "/" : "", (int)len, name);
	} else {
		return 0;
	}
	if (!len)
		len = strlen(name);
	if (len >= sizeof(ent->d_name))
		return -ENAMETOOLONG;
	ent->d_ino = vfile_ino(key);
	ent->d_off = idx + 1;
	ent->d_type = type;
	ent->d_reclen = (unsigned short)((offsetof(struct dirent64, d_name) + len + 8) & ~7ul);
	memcpy(ent->d_name, name, len);
	ent->d_name[len] = '\0';
	return 1;
}

/*
 * The next entry of vf into ent: 1, 0 at the end, or -errno.  A name too
 * long for a dirent (a store allows 1,024 bytes, d_name 255) is skipped
 * with a warning rather than cut, which would name another object.
 */
static int next_entry(struct vfile *vf, struct dirent64 *ent)
{
	int rc;

	if (vf->flags & O_PATH)
		return -EBADF;
	pthread_mutex_lock(&vf->lock);
	rc = vfile_list_locked(vf);
	while (rc == 0) {
		rc = entry_at(vf, vf->pos, ent);
		if (rc == -ENAMETOOLONG) {
			log_warn("%s: an entry's name is longer than 255 bytes; skipped", vf->key);
			vf->pos++;
			rc = 0;
			continue;
		}
		if (rc == 1)
			vf->pos++;
		break;
	}
	pthread_mutex_unlock(&vf->lock);
	return rc;
}

static DIR *dir_new(int fd, struct vfile *vf)
{
	struct shim_dir *sd = calloc(1, sizeof(*sd));
	int rc;

	if (!sd) {
		vfile_put(vf);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&vf->lock);
	rc = vfile_list_locked(vf);
	pthread_mutex_unlock(&vf->lock);
	if (rc) {
		vfile_put(vf);
		free(sd);
		errno = -rc;
		return NULL;
	}
	sd->fd = fd;
	sd->vf = vf;
	sd->self = sd;
	pthread_mutex_lock(&dirs_lock);
	HASH_ADD_PTR(dirs, self, sd);
	atomic_fetch_add(&ndirs, 1);
	pthread_mutex_unlock(&dirs_lock);
	return (DIR *)sd;
}

/* A stream over the mounted descriptor fd, which it then owns. */
static DIR *dir_from_fd(int fd, struct vfile *vf)
{
	DIR *d;

	if (vf->kind != VFILE_DIR) {
		vfile_put(vf);
		errno = ENOTDIR;
		return NULL;
	}
	guard_enter();
	d = dir_new(fd, vf);
	guard_leave();
	return d;
}

EXPORT DIR *opendir(const char *path)
{
	char buf[PATH_MAX];
	const char *key;
	struct mount *m = route_following(AT_FDCWD, path, buf, &key);
	struct vfile *vf;
	DIR *d;
	int fd;

	if (!m)
		return REAL(opendir)(kernel_path(path, buf));
	guard_enter();
	fd = shim_open(m, key, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	guard_leave();
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	vf = vfile_get(fd);
	d = dir_from_fd(fd, vf);
	if (!d) {
		int err = errno;

		close(fd);
		errno = err;
	}
	return d;
}

EXPORT DIR *fdopendir(int fd)
{
	struct vfile *vf = vfile_get(fd);

	return vf ? dir_from_fd(fd, vf) : REAL(fdopendir)(fd);
}

EXPORT int closedir(DIR *d)
{
	struct shim_dir *sd = shim_dir_of(d);
	int fd;

	if (!sd)
		return REAL(closedir)(d);
	pthread_mutex_lock(&dirs_lock);
	HASH_DEL(dirs, sd);
	atomic_fetch_sub(&ndirs, 1);
	pthread_mutex_unlock(&dirs_lock);
	fd = sd->fd;
	guard_enter();
	vfile_put(sd->vf);
	guard_leave();
	free(sd);
	return close(fd);
}

EXPORT struct dirent64 *readdir64(DIR *d)
{
	struct shim_dir *sd = shim_dir_of(d);
	int saved = errno, rc;

	if (!sd)
		return REAL(readdir64)(d);
	guard_enter();
	rc = next_entry(sd->vf, &sd->ent);
	guard_leave();
	errno = rc < 0 ? -rc : saved;	/* at the end, errno is left alone */
	return rc == 1 ? &sd->ent : NULL;
}

EXPORT struct dirent *readdir(DIR *d)
{
	return shim_dir_of(d) ? (struct dirent *)readdir64(d) : REAL(readdir)(d);
}

static int entry_r(struct shim_dir *sd, struct dirent64 *entry, struct dirent64 **result)
{
	int rc;

	guard_enter();
	rc = next_entry(sd->vf, entry);
	guard_leave();
	*result = rc == 1 ? entry : NULL;
	return rc < 0 ? -rc : 0;
}

EXPORT int readdir64_r(DIR *d, struct dirent64 *entry, struct dirent64 **result)
{
	struct shim_dir *sd = shim_dir_of(d);

	return sd ? entry_r(sd, entry, result) : REAL(readdir64_r)(d, entry, result);
}

EXPORT int readdir_r(DIR *d, struct dirent *entry, struct dirent **result)
{
	struct shim_dir *sd = shim_dir_of(d);

	if (!sd)
		return REAL(readdir_r)(d, entry, result);
	return entry_r(sd, (struct dirent64 *)entry, (struct dirent64 **)result);
}

EXPORT long telldir(DIR *d)
{
	struct shim_dir *sd = shim_dir_of(d);
	long pos;

	if (!sd)
		return REAL(telldir)(d);
	pthread_mutex_lock(&sd->vf->lock);
	pos = (long)sd->vf->pos;
	pthread_mutex_unlock(&sd->vf->lock);
	return pos;
}

EXPORT void seekdir(DIR *d, long pos)
{
	struct shim_dir *sd = shim_dir_of(d);

	if (!sd) {
		REAL(seekdir)(d, pos);
		return;
	}
	pthread_mutex_lock(&sd->vf->lock);
	sd->vf->pos = pos < 0 ? 0 : pos;
	pthread_mutex_unlock(&sd->vf->lock);
}

/* Back to the start, and to a listing no older than the metadata TTL. */
EXPORT void rewinddir(DIR *d)
{
	struct shim_dir *sd = shim_dir_of(d);
	struct dirlist *old;

	if (!sd) {
		REAL(rewinddir)(d);
		return;
	}
	pthread_mutex_lock(&sd->vf->lock);
	sd->vf->pos = 0;
	old = sd->vf->dl;
	sd->vf->dl = NULL;
	vfile_drop_extra(sd->vf);
	pthread_mutex_unlock(&sd->vf->lock);
	if (old) {
		guard_enter();
		dir_close(old);
		guard_leave();
	}
}

EXPORT int dirfd(DIR *d)
{
	struct shim_dir *sd = shim_dir_of(d);

	return sd ? sd->fd : REAL(dirfd)(d);
}

typedef int (*scan_filter_fn)(const struct dirent64 *);
typedef int (*scan_compar_fn)(const struct dirent64 **, const struct dirent64 **);

/* scandir over one of our streams, which it closes. */
static int scan(DIR *d, struct dirent64 ***out, scan_filter_fn filter, scan_compar_fn compar)
{
	struct dirent64 **list = NULL, *e;
	size_t n = 0, cap = 0;
	int err = 0;

	errno = 0;
	while ((e = readdir64(d))) {
		struct dirent64 *copy, **grown;

		if (filter && !filter(e))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				err = ENOMEM;
				break;
			}
			list = grown;
		}
		copy = malloc(e->d_reclen);
		if (!copy) {
			err = ENOMEM;
			break;
		}
		memcpy(copy, e, e->d_reclen);
		list[n++] = copy;
	}
	if (!err)
		err = errno;
	closedir(d);
	if (err || n > INT_MAX) {
		while (n)
			free(list[--n]);
		free(list);
		errno = err ? err : EOVERFLOW;
		return -1;
	}
	if (compar && n > 1)
		qsort(list, n, sizeof(*list), (int (*)(const void *, const void *))compar);
	*out = list;
	return (int)n;
}

/*
 * The stream for a scandir of (dirfd, path): ours, or NULL and *handled 0
 * (buf: as route leaves it, for kernel_path).
 */
static DIR *scan_open(int dirfd, const char *path, int *handled, char *buf)
{
	const char *key;
	struct mount *m = route_following(dirfd, path, buf, &key);
	int fd;

	*handled = m != NULL;
	if (!m)
		return NULL;
	guard_enter();
	fd = shim_open(m, key, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	guard_leave();
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	return fdopendir(fd);
}

#define SCAN(dirfd, path, list, filter, compar, otherwise) \
	do { \
		char local_[PATH_MAX]; \
		int handled_; \
		DIR *d_ = scan_open(dirfd, path, &handled_, local_); \
		if (!handled_) { \
			path = kernel_path(path, local_); \
			return otherwise; \
		} \
		return d_ ? scan(d_, (struct dirent64 ***)(list), (scan_filter_fn)(filter), \
				 (scan_compar_fn)(compar)) : -1; \
	} while (0)

EXPORT int scandir(const char *path, struct dirent ***list,
		   int (*filter)(const struct dirent *),
		   int (*compar)(const struct dirent **, const struct dirent **))
{
	SCAN(AT_FDCWD, path, list, filter, compar, REAL(scandir)(path, list, filter, compar));
}

EXPORT int scandir64(const char *path, struct dirent64 ***list,
		     int (*filter)(const struct dirent64 *),
		     int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	SCAN(AT_FDCWD, path, list, filter, compar, REAL(scandir64)(path, list, filter, compar));
}

EXPORT int scandirat(int dirfd, const char *path, struct dirent ***list,
		     int (*filter)(const struct dirent *),
		     int (*compar)(const struct dirent **, const struct dirent **))
{
	SCAN(dirfd, path, list, filter, compar,
	     REAL(scandirat)(dirfd, path, list, filter, compar));
}

EXPORT int scandirat64(int dirfd, const char *path, struct dirent64 ***list,
		       int (*filter)(const struct dirent64 *),
		       int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	SCAN(dirfd, path, list, filter, compar,
	     REAL(scandirat64)(dirfd, path, list, filter, compar));
}

/* As getdents64(2): whole records from the offset; EINVAL if none fits. */
ssize_t vfile_getdents(struct vfile *vf, void *buf, size_t len)
{
	struct dirent64 ent;
	size_t used = 0;
	int rc;

	pthread_mutex_lock(&vf->lock);
	rc = vfile_list_locked(vf);
	while (rc == 0) {
		rc = entry_at(vf, vf->pos, &ent);
		if (rc == -ENAMETOOLONG) {
			vf->pos++;
			rc = 0;
			continue;
		}
		if (rc <= 0)
			break;
		if (used + ent.d_reclen > len) {
			rc = used ? 0 : -EINVAL;
			break;
		}
		memcpy((char *)buf + used, &ent, ent.d_reclen);
		used += ent.d_reclen;
		vf->pos++;
		rc = 0;
	}
	pthread_mutex_unlock(&vf->lock);
	return rc < 0 ? rc : (ssize_t)used;
}

EXPORT ssize_t getdents64(int fd, void *buf, size_t len)
{
	struct vfile *vf = vfile_get(fd);
	ssize_t rc;

	if (!vf)
		return REAL(getdents64)(fd, buf, len);
	guard_enter();
	rc = vf->kind == VFILE_DIR ? vfile_getdents(vf, buf, len) : -ENOTDIR;
	vfile_put(vf);
	guard_leave();
	return ret_or_fail(rc);
}
