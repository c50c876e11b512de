/* SPDX-License-Identifier: MIT */
/*
 * staged.c - written files, from open for writing to their upload.
 *
 * A new or truncated file is staged at open.  An existing object opened
 * for update (O_RDWR, O_WRONLY or O_APPEND without O_TRUNC) starts as a
 * plain read-through file and is staged by its first write: sqlite3 opens
 * its database O_RDWR to read it, and must not download 64 MiB for that,
 * nor upload it again unchanged.  Staging then copies the object in and
 * puts the staged file under every descriptor of it with dup3, so the
 * numbers the program holds stay the same.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/dir.h"
#include "backend/journal.h"
#include "backend/log.h"
#include "backend/upload.h"
#include "shim/stage.h"
#include "shim/staged.h"
#include "shim/wrap.h"

#define COPY_CHUNK ((size_t)1 << 20)

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct written {
	struct vfile *vf;
	struct written *next;
} *open_files;
static int sync_close;
static int ready;

void staged_setup(const char *staging_dir, int strict)
{
	int rc = stage_setup(staging_dir);

	sync_close = strict;
	if (rc)
		log_error("staging directory %s: %s; writes to mounted paths fail with EROFS",
			  staging_dir ? staging_dir : "/dev/shm/cloudshim-UID", strerror(-rc));
	ready = rc == 0;
}

static void remember(struct vfile *vf)
{
	struct written *w = malloc(sizeof(*w));

	if (!w)
		return;		/* only read-your-own-writes before close is lost */
	w->vf = vf;
	pthread_mutex_lock(&open_lock);
	w->next = open_files;
	open_files = w;
	pthread_mutex_unlock(&open_lock);
}

static void forget(struct vfile *vf)
{
	pthread_mutex_lock(&open_lock);
	for (struct written **p = &open_files; *p; p = &(*p)->next) {
		if ((*p)->vf == vf) {
			struct written *w = *p;

			*p = w->next;
			free(w);
			break;
		}
	}
	pthread_mutex_unlock(&open_lock);
}

struct below {
	const char *key;
	size_t len;
	int found;
};

static void has_below(void *arg, const char *k)
{
	struct below *b = arg;

	b->found |= strncmp(k, b->key, b->len) == 0 && k[b->len] == '/';
}

int staged_is_dir(const struct mount *m, const char *key)
{
	struct below b = { key, strlen(key), 0 };

	pthread_mutex_lock(&open_lock);
	for (struct written *w = open_files; w; w = w->next)
		if (w->vf->mnt == m)
			has_below(&b, w->vf->key);
	pthread_mutex_unlock(&open_lock);
	if (!b.found && m->st)
		upload_each(m->st, has_below, &b);
	return b.found;
}

int staged_lookup(const struct mount *m, const char *key, struct store_meta *meta, char *data,
		  size_t n)
{
	struct stat sb;
	int found = 0;

	pthread_mutex_lock(&open_lock);
	for (struct written *w = open_files; w && !found; w = w->next) {
		struct vfile *vf = w->vf;

		if (vf->mnt != m || strcmp(vf->key, key) != 0 || fstat(vf->stg->own_fd, &sb) != 0)
			continue;
		memset(meta, 0, sizeof(*meta));
		meta->kind = STORE_FILE;
		meta->size = sb.st_size;
		meta->mtime = sb.st_mtim;
		snprintf(data, n, "%s", vf->stg->data);
		found = 1;
	}
	pthread_mutex_unlock(&open_lock);
	return found || (m->st && upload_pending(m->st, key, meta, data, n));
}

/* Copies src (a descriptor of the bytes key has now) into the staged fd. */
static int copy_fd(int src, int dst)
{
	char *buf = malloc(COPY_CHUNK);
	off_t off = 0;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	while ((n = pread(src, buf, COPY_CHUNK, off)) > 0) {
		for (ssize_t w = 0; w < n;) {
			ssize_t k = REAL(pwrite)(dst, buf + w, (size_t)(n - w), off + w);

			if (k < 0) {
				free(buf);
				return -errno;
			}
			w += k;
		}
		off += n;
	}
	free(buf);
	return n < 0 ? -errno : 0;
}

/* The current bytes of key into the staged fd: unsent writes, or the object. */
static int copy_current(struct mount *m, const char *key, int dst)
{
	struct store_meta meta;
	char data[PATH_MAX];
	int src, rc;

	if (staged_lookup(m, key, &meta, data, sizeof(data))) {
		src = REAL(open)(data, O_RDONLY | O_CLOEXEC);
		if (src >= 0) {
			rc = copy_fd(src, dst);
			REAL(close)(src);
			return rc;
		}
	}
	src = shim_open(m, key, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return src;
	rc = copy_fd(src, dst);
	close(src);
	return rc;
}

static struct staged *stage_new(struct mount *m, const char *key, int flags, int *fd)
{
	struct staged *s = calloc(1, sizeof(*s));
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s%s", m->path, key[0] ? "/" : "", key);
	*fd = s ? stage_create(m, key, path, (flags & O_CREAT) && (flags & O_EXCL), flags, s)
		: -ENOMEM;
	if (*fd < 0) {
		free(s);
		return NULL;
	}
	return s;
}

int staged_open(struct mount *m, const char *key, int flags, int copy)
{
	struct staged *s;
	struct vfile *vf;
	int fd, rc;

	if (!ready)
		return -EROFS;
	s = stage_new(m, key, flags, &fd);
	if (!s)
		return fd;
	rc = copy ? copy_current(m, key, fd) : 0;
	if (rc) {
		REAL(close)(fd);
		stage_discard(s);
		free(s);
		return rc;
	}
	if (flags & O_APPEND)
		REAL(fcntl)(fd, F_SETFL, O_APPEND);
	vf = vfile_new(VFILE_STAGED, m, key, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC |
						  O_CLOEXEC));
	if (!vf || !fdtab_fits(fd)) {
		REAL(close)(fd);
		stage_discard(s);
		free(s);
		if (vf)
			vfile_put(vf);
		return vf ? -EMFILE : -ENOMEM;
	}
	vf->stg = s;
	vf->exclusive = (flags & O_CREAT) && (flags & O_EXCL);
	remember(vf);
	vfile_put(fdtab_set(fd, vf));
	vfile_put(vf);
	return fd;
}

int staged_promote(struct vfile *vf)
{
	struct staged *s;
	int sfd, rc = 0;

	pthread_mutex_lock(&vf->lock);
	if (vf->kind == VFILE_STAGED || !ready) {
		pthread_mutex_unlock(&vf->lock);
		return ready ? 0 : -EROFS;
	}
	s = stage_new(vf->mnt, vf->key, 0, &sfd);
	if (!s) {
		pthread_mutex_unlock(&vf->lock);
		return sfd;
	}
	rc = copy_current(vf->mnt, vf->key, sfd);
	if (rc == 0 && (vf->flags & O_APPEND))
		REAL(fcntl)(sfd, F_SETFL, O_APPEND);
	/* every descriptor of this vfile now refers to the staged file */
	for (int fd = 0; rc == 0 && fd <= fdtab_high(); fd++) {
		struct vfile *other = fdtab_has(fd) ? vfile_get(fd) : NULL;

		if (other == vf) {
			int fl = REAL(fcntl)(fd, F_GETFD);
			off_t pos = REAL(lseek)(fd, 0, SEEK_CUR);	/* shared by all of them */

			if (pos < 0 || REAL(lseek)(sfd, pos, SEEK_SET) < 0 ||
			    REAL(dup3)(sfd, fd, fl >= 0 && (fl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
				rc = -errno;
		}
		if (other)
			vfile_put(other);
	}
	REAL(close)(sfd);
	if (rc) {
		stage_discard(s);
		free(s);
	} else {
		vf->stg = s;
		vf->kind = VFILE_STAGED;
	}
	pthread_mutex_unlock(&vf->lock);
	if (rc == 0)
		remember(vf);
	return rc;
}

/* Uploads s, staged for vf: fd is the upload's; snapshot leaves s in place. */
static int start_upload(struct vfile *vf, struct staged *s, int fd, int hold_fd, int snapshot,
			struct upload **u)
{
	char path[PATH_MAX];
	struct upload_req req = {
		.st = vf->mnt->st, .key = vf->key, .path = path, .fd = fd,
		.staged = s->data, .journal = s->journal, .hold_fd = hold_fd,
		.exclusive = vf->exclusive, .snapshot = snapshot,
	};

	vfile_path(vf, path);
	return upload_start(&req, u);
}

/* This process is done with s: the last process to be so uploads it. */
static int let_go(struct vfile *vf, struct staged *s)
{
	struct upload *u;
	int rc = 0;

	if (!stage_release(s)) {
		REAL(close)(s->own_fd);	/* another process closes it last */
	} else {
		rc = start_upload(vf, s, s->own_fd, s->lock_fd, 0, &u);
		if (rc) {
			log_error("%s: cannot start its upload (%s); the bytes stay in %s",
				  vf->key, strerror(-rc), s->data);
		} else {
			if (sync_close)
				rc = upload_wait(u);
			upload_put(u);
		}
	}
	free(s);
	return rc;
}

int staged_close(struct vfile *vf)
{
	struct staged *s = vf->stg;

	forget(vf);
	vf->stg = NULL;
	return let_go(vf, s);
}

int staged_sync(struct vfile *vf)
{
	struct upload *u;
	int fd, rc;

	if (!vf->stg)
		return 0;	/* opened for update, nothing written yet */
	fd = fd_private_dup(vf->stg->own_fd);
	if (fd < 0)
		return fd;
	/* a snapshot: the staged file and its entry stay, the close sends it again */
	rc = start_upload(vf, vf->stg, fd, -1, 1, &u);
	if (rc)
		return rc;
	rc = upload_wait(u);
	upload_put(u);
	return rc;
}

int staged_quit(void)
{
	int high = fdtab_high(), failed;

	if (!ready)
		return 0;
	guard_enter();
	for (int fd = 0; fd <= high; fd++) {
		struct vfile *vf = fdtab_has(fd) ? vfile_get(fd) : NULL;
		struct staged *s = NULL;

		if (!vf)
			continue;
		pthread_mutex_lock(&vf->lock);
		if (vf->stg) {
			forget(vf);
			s = vf->stg;
			vf->stg = NULL;		/* a later close sends nothing again */
		}
		pthread_mutex_unlock(&vf->lock);
		if (s)
			let_go(vf, s);
		vfile_put(vf);
	}
	failed = upload_drain();
	guard_leave();
	if (failed)
		fprintf(stderr, "cloudshim: %d upload%s failed; the bytes are in the recovery"
			" directory, and `cloudshim sync` sends them\n", failed,
			failed == 1 ? "" : "s");
	return failed;
}

struct names {
	const char *dir;		/* "" or "a/b" */
	const struct dirlist *dl;	/* NULL: the store has no such directory */
	char **v;			/* a directory's name ends in '/' */
	size_t n;
};

static int listed(const struct dirlist *dl, const char *name, size_t len)
{
	for (size_t i = 0; dl && i < dirlist_count(dl); i++) {
		const char *have = dirlist_entry(dl, i)->name;

		if (strlen(have) == len && strncmp(have, name, len) == 0)
			return 1;
	}
	return 0;
}

/* Adds what key makes appear directly below dir, if it is new: a file, or a directory. */
static void add_name(void *arg, const char *key)
{
	struct names *ns = arg;
	size_t dl = strlen(ns->dir), len;
	const char *name = key + dl + (dl ? 1 : 0);
	char **grown;

	if (dl && (strncmp(key, ns->dir, dl) != 0 || key[dl] != '/'))
		return;
	len = strcspn(name, "/");
	if (!len || listed(ns->dl, name, len))
		return;
	for (size_t i = 0; i < ns->n; i++)
		if (strncmp(ns->v[i], name, len) == 0 && strspn(ns->v[i] + len, "/") == strlen(ns->v[i] + len))
			return;
	grown = realloc(ns->v, (ns->n + 1) * sizeof(*ns->v));
	if (!grown)
		return;
	ns->v = grown;
	/* "name" for a file, "name/" for a directory the key is below */
	if ((ns->v[ns->n] = strndup(name, len + (name[len] == '/'))))
		ns->n++;
}

char **staged_names(const struct mount *m, const char *key, const struct dirlist *dl,
		    size_t *n)
{
	struct names ns = { key, dl, NULL, 0 };

	pthread_mutex_lock(&open_lock);
	for (struct written *w = open_files; w; w = w->next)
		if (w->vf->mnt == m)
			add_name(&ns, w->vf->key);
	pthread_mutex_unlock(&open_lock);
	if (m->st)
		upload_each(m->st, add_name, &ns);
	*n = ns.n;
	return ns.v;
}

/* 1 when some descriptor of vf stays open across exec. */
static int survives_exec(struct vfile *vf, int high)
{
	for (int fd = 0; fd <= high; fd++) {
		struct vfile *o = fdtab_has(fd) ? vfile_get(fd) : NULL;
		int fl = o == vf ? REAL(fcntl)(fd, F_GETFD) : -1;

		vfile_put(o);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			return 1;
	}
	return 0;
}

void staged_before_exec(void)
{
	int high = fdtab_high();

	if (!ready)
		return;
	for (int fd = 0; fd <= high; fd++) {
		struct vfile *vf = fdtab_has(fd) ? vfile_get(fd) : NULL;
		struct staged *s = NULL;

		if (vf && vf->stg && !survives_exec(vf, high)) {
			pthread_mutex_lock(&vf->lock);
			forget(vf);
			s = vf->stg;
			vf->stg = NULL;
			pthread_mutex_unlock(&vf->lock);
		}
		if (s)
			let_go(vf, s);
		vfile_put(vf);
	}
	upload_drain();
}

void staged_exit(int status, void *unused)
{
	(void)unused;
	fflush(NULL);	/* stdio flushes only after exit handlers: too late for us */
	/* registered first, so run last: nothing is left to run but _exit */
	if (staged_quit() && status == 0)
		REAL(_exit)(EXIT_FAILURE);
}

void staged_fork_child(void)
{
	pthread_mutex_lock(&open_lock);
	for (struct written *w = open_files; w; w = w->next)
		stage_rehold(w->vf->stg);
	pthread_mutex_unlock(&open_lock);
}

char *staged_env_entry(void)
{
	size_t len = sizeof(STAGED_ENV "=");
	char *out = NULL, *p = NULL;
	int high = fdtab_high();

	for (int pass = 0; pass < 2; pass++) {
		for (int fd = 0; fd <= high; fd++) {
			struct vfile *vf = fdtab_has(fd) ? vfile_get(fd) : NULL;
			int fl = vf && vf->stg ? REAL(fcntl)(fd, F_GETFD) : -1;

			/* "fd:mount:staged-path;" for each one a new program inherits */
			if (fl >= 0 && !(fl & FD_CLOEXEC)) {
				if (pass == 0)
					len += strlen(vf->stg->data) + 32;
				else
					p += sprintf(p, "%d:%d:%s;", fd, mount_index(vf->mnt),
						     vf->stg->data);
			}
			vfile_put(vf);
		}
		if (pass == 0) {
			if (len == sizeof(STAGED_ENV "=") || !(out = malloc(len)))
				return NULL;
			p = out + sprintf(out, STAGED_ENV "=");
		}
	}
	return out;
}

/* One "fd:mount:path" the parent passed: the descriptor is ours again. */
static void adopt_one(int fd, int index, const char *data)
{
	struct mount *m = mount_at(index);
	struct journal_entry e;
	struct staged *s = calloc(1, sizeof(*s));
	struct vfile *vf = NULL;
	int fl = REAL(fcntl)(fd, F_GETFL);

	if (!s || !m || fl < 0 || stage_adopt(fd, data, s) != 0) {
		free(s);
		return;
	}
	if (journal_read(s->journal, &e) == 0) {
		vf = vfile_new(VFILE_STAGED, m, e.key, fl & (O_ACCMODE | O_APPEND));
		journal_free(&e);
	}
	if (!vf) {
		REAL(close)(s->lock_fd);
		REAL(close)(s->own_fd);
		free(s);
		return;
	}
	vf->stg = s;
	remember(vf);
	vfile_put(fdtab_set(fd, vf));
	vfile_put(vf);
}

void staged_adopt(void)
{
	const char *v = getenv(STAGED_ENV);
	char *list, *save = NULL;

	if (!v || !ready || !(list = strdup(v)))
		return;
	unsetenv(STAGED_ENV);
	guard_enter();
	for (char *item = strtok_r(list, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char *path = NULL;
		long fd = strtol(item, &path, 10), index;

		if (*path != ':')
			continue;
		index = strtol(path + 1, &path, 10);
		if (*path == ':' && fd >= 0 && fd < INT_MAX)
			adopt_one((int)fd, (int)index, path + 1);
	}
	guard_leave();
	free(list);
}
