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
 *
 * A file opened write-only gets an upload stream at open, and every
 * change the program makes through a call we see is reported to it
 * (staged_change_begin/end), under the vfile's lock so the offsets are
 * right.  Write-only means no read and no mapping can see the holes the
 * stream punches where it dropped parts.
 *
 * A second open for writing of a file this process is writing already
 * (`cmd >>log 2>>log` in a shell) shares its staged file, as two opens of
 * a local file share its inode: each has its own offset and flags, the
 * writes of both land in one file, and the last close of either uploads
 * it once.  A staged copy each would have lost one open's writes to the
 * other's upload.  Sharing gives up the stream, as a fork does.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/engine.h"
#include "backend/log.h"
#include "backend/upload.h"
#include "shim/staged_int.h"
#include "shim/term.h"
#include "shim/wrap.h"

#define COPY_CHUNK ((size_t)1 << 20)

pthread_mutex_t staged_files_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t shared_sync_lock = PTHREAD_MUTEX_INITIALIZER;
struct written *staged_files;
int staged_ready;
static int sync_close;

void staged_setup(const char *staging_dir, int strict)
{
	char why[384];
	int rc = stage_setup(staging_dir, why, sizeof(why));

	sync_close = strict;
	if (rc)
		log_error("staging directory %s %s; until then writes to mounted paths fail"
			  " with EROFS", staging_dir, why);
	staged_ready = rc == 0;
	if (staged_ready)
		term_setup();
}

void staged_remember(struct vfile *vf)
{
	struct written *w = malloc(sizeof(*w));

	term_watch();		/* a signal that ends the program waits for it */
	if (!w)
		return;		/* only read-your-own-writes before close is lost */
	w->vf = vf;
	pthread_mutex_lock(&staged_files_lock);
	w->next = staged_files;
	staged_files = w;
	pthread_mutex_unlock(&staged_files_lock);
}

void staged_forget(struct vfile *vf)
{
	pthread_mutex_lock(&staged_files_lock);
	for (struct written **p = &staged_files; *p; p = &(*p)->next) {
		if ((*p)->vf == vf) {
			struct written *w = *p;

			*p = w->next;
			free(w);
			break;
		}
	}
	pthread_mutex_unlock(&staged_files_lock);
}

struct staged *staged_take(struct vfile *vf)
{
	struct staged *s;

	pthread_mutex_lock(&vf->lock);
	s = vf->stg;
	vf->stg = NULL;		/* a later close sends nothing again */
	pthread_mutex_unlock(&vf->lock);
	if (s)
		staged_forget(vf);
	return s;
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
	int src, rc = staged_readable(m, key, &meta, data);

	if (rc < 0)
		return rc;
	if (rc > 0) {
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

static struct staged *stage_new(struct mount *m, const char *key, int flags, int *fd,
				char *path)
{
	struct staged *s = calloc(1, sizeof(*s));

	snprintf(path, PATH_MAX, "%s%s%s", m->path, key[0] ? "/" : "", key);
	*fd = s ? stage_create(m, key, path, (flags & O_CREAT) && (flags & O_EXCL), flags, s)
		: -ENOMEM;
	if (*fd < 0) {
		free(s);
		return NULL;
	}
	return s;
}

struct upload *staged_stream(struct mount *m, const char *key, const char *path,
			     struct staged *s)
{
	struct upload_req req = {
		.st = m->st, .key = key, .path = path, .fd = fd_private_dup(s->own_fd),
		.staged = s->data, .journal = s->journal, .hold_fd = -1, .journal_fd = s->lock_fd,
	};

	/* without a stream the file is only staged whole, as any other */
	return req.fd >= 0 ? upload_stream(&req) : NULL;
}

/* Under the vfile's lock: a stream given up (the file was shared) goes; s is staged whole. */
static void drop_given_up_stream(struct staged *s)
{
	if (s->stream && upload_stream_cancelled(s->stream)) {
		upload_put(s->stream);
		s->stream = NULL;
	}
}

/*
 * Under the vfile's lock, before a second writer or a new name: s's
 * stream is given up (the file is then staged whole).  0 when it could
 * not be: it already dropped parts from staging, or another process
 * streams the file.
 */
static int stream_given_up(struct staged *s)
{
	if (s->stream)
		upload_stream_share(s->stream);
	drop_given_up_stream(s);
	return !(s->stream || s->holes || s->detached);
}

/* With vf's lock held: one more open here writes its staged file, as join_writer says. */
static struct staged *share_here(struct vfile *vf, int flags, int *fd)
{
	struct staged *s = vf->stg;
	char path[PATH_MAX];

	if (!stream_given_up(s)) {
		vfile_path(vf, path);
		log_error("%s: cannot be opened for writing again while %s", path, s->detached ?
			  "another process sends it part by part" :
			  "parts of it are dropped from staging once sent (the staging space is short)");
		*fd = -EBUSY;
		return NULL;
	}
	if ((flags & O_CREAT) && (flags & O_EXCL)) {
		*fd = -EEXIST;
		return NULL;
	}
	*fd = REAL(open)(s->data, O_RDWR | O_NOFOLLOW | (flags & (O_TRUNC | O_CLOEXEC)));
	if (*fd < 0) {
		*fd = -errno;
		return NULL;
	}
	atomic_fetch_add(&s->sharers, 1);
	return s;
}

/*
 * A key whose first open for writing here is being staged: a second open
 * of it waits for the first to be listed, then joins it.  Without the
 * wait, two threads opening one path at once would each stage a copy (the
 * one closed last would win) and both would pass O_EXCL.
 */
struct claim {
	struct mount *m;
	const char *key;
	struct claim *next;
};
static struct claim *claims;	/* under staged_files_lock */
static pthread_cond_t claims_done = PTHREAD_COND_INITIALIZER;

static int claimed_locked(const struct mount *m, const char *key)
{
	for (struct claim *c = claims; c; c = c->next)
		if (c->m == m && strcmp(c->key, key) == 0)
			return 1;
	return 0;
}

/* The claim is over: the file is listed (staged_remember), or was not made. */
static void unclaim(struct claim *mine)
{
	pthread_mutex_lock(&staged_files_lock);
	for (struct claim **p = &claims; *p; p = &(*p)->next) {
		if (*p == mine) {
			*p = mine->next;
			break;
		}
	}
	pthread_cond_broadcast(&claims_done);
	pthread_mutex_unlock(&staged_files_lock);
}

void staged_claims_fork_child(void)
{
	claims = NULL;		/* their threads are not in this process */
	pthread_cond_init(&claims_done, NULL);
}

/*
 * The staged file of another open that writes key in this process, now
 * shared with one more: *fd is a new descriptor of it (O_RDWR; O_TRUNC
 * and O_CLOEXEC from flags), *exclusive says how that one was created.
 * NULL with *fd -errno on failure, or with *fd 0 when no open here writes
 * key: then mine claims the key until unclaim.
 */
static struct staged *join_writer(struct mount *m, const char *key, int flags, int *fd,
				  int *exclusive, struct claim *mine)
{
	struct staged *s = NULL;

	*fd = 0;
	/* lock order: the list, then a vfile */
	pthread_mutex_lock(&staged_files_lock);
	for (;;) {
		for (struct written *w = staged_files; w && !s && *fd == 0; w = w->next) {
			struct vfile *vf = w->vf;

			if (vf->mnt != m || strcmp(vf->key, key) != 0)
				continue;
			pthread_mutex_lock(&vf->lock);
			if (vf->stg && (s = share_here(vf, flags, fd)) != NULL)
				*exclusive = vf->exclusive;
			pthread_mutex_unlock(&vf->lock);
		}
		if (s || *fd < 0 || !claimed_locked(m, key))
			break;
		pthread_cond_wait(&claims_done, &staged_files_lock);
	}
	if (!s && *fd == 0) {
		*mine = (struct claim){ .m = m, .key = key, .next = claims };
		claims = mine;
	}
	pthread_mutex_unlock(&staged_files_lock);
	return s;
}

/* One open here is done with s: 1 when another open here still writes it. */
static int still_shared(struct staged *s)
{
	int n = atomic_load(&s->sharers);

	while (n > 0 && !atomic_compare_exchange_weak(&s->sharers, &n, n - 1))
		;
	return n > 0;
}

/*
 * An exclusive create holds the key's claim (stage_create): now it looks
 * again.  The caller looked before, and meanwhile another thread here may
 * have created the file, uploaded it and let its claim go: the cache has
 * its upload then (obj_changed comes before the claim is let go).
 */
static int created_meanwhile(struct mount *m, const char *key)
{
	struct store_meta meta;
	int rc = obj_stat(m->st, key, &meta);

	return rc == 0 ? -EEXIST : rc == -ENOENT ? 0 : rc;
}

/* staged_open once join_writer has answered: s and fd are the file joined, if any. */
static int open_staged(struct mount *m, const char *key, int flags, int copy, struct staged *s,
		       int fd, int exclusive)
{
	char path[PATH_MAX];
	struct vfile *vf;
	int rc, joined = s != NULL;

	if (!joined && (s = stage_new(m, key, flags, &fd, path)) == NULL)
		return fd;
	if (joined)
		rc = 0;
	else if ((flags & O_CREAT) && (flags & O_EXCL))
		rc = created_meanwhile(m, key);
	else
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
		if (!joined) {
			stage_discard(s);
			free(s);
		} else {
			still_shared(s);
		}
		if (vf)
			vfile_put(vf);
		return vf ? -EMFILE : -ENOMEM;
	}
	if (!joined && (flags & O_ACCMODE) == O_WRONLY &&
	    (s->stream = staged_stream(m, key, path, s)) && copy && (flags & O_APPEND)) {
		struct stat sb;

		/* appending never touches what was copied in: it can go at once */
		if (REAL(fstat)(fd, &sb) == 0 && sb.st_size > 0)
			upload_stream_wrote(s->stream, 0, sb.st_size);
	}
	vf->stg = s;
	vf->exclusive = exclusive;
	staged_remember(vf);
	vfile_put(fdtab_set(fd, vf));
	vfile_put(vf);
	return fd;
}

int staged_open(struct mount *m, const char *key, int flags, int copy)
{
	struct claim mine;
	struct staged *s;
	int fd, exclusive = (flags & O_CREAT) && (flags & O_EXCL);

	if (!staged_ready)
		return -EROFS;
	/* joined: exclusive is how the file was created, by the open joined */
	if ((s = join_writer(m, key, flags, &fd, &exclusive, &mine)) == NULL && fd < 0)
		return fd;
	fd = open_staged(m, key, flags, copy, s, fd, exclusive);
	if (!s)
		unclaim(&mine);
	return fd;
}

/* A descriptor of vf, or -1; vf's lock held. */
static int fd_of(struct vfile *vf)
{
	for (int fd = 0; fd <= fdtab_high(); fd++) {
		struct vfile *other = fdtab_has(fd) ? vfile_get(fd) : NULL;

		vfile_put(other);
		if (other == vf)
			return fd;
	}
	return -1;
}

/*
 * The staged file sfd goes under every descriptor of vf, in place of what
 * they held: each keeps its number and close-on-exec, all one offset (the
 * one they shared).  vf's lock held.
 */
static int put_under_fds(struct vfile *vf, int sfd)
{
	int rc = 0;

	if (vf->flags & O_APPEND)
		REAL(fcntl)(sfd, F_SETFL, O_APPEND);
	for (int fd = 0; rc == 0 && fd <= fdtab_high(); fd++) {
		struct vfile *other = fdtab_has(fd) ? vfile_get(fd) : NULL;

		if (other == vf) {
			int fl = REAL(fcntl)(fd, F_GETFD);
			off_t pos = REAL(lseek)(fd, 0, SEEK_CUR);

			if (pos < 0 || REAL(lseek)(sfd, pos, SEEK_SET) < 0 ||
			    REAL(dup3)(sfd, fd, fl >= 0 && (fl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
				rc = -errno;
		}
		vfile_put(other);
	}
	return rc;
}

/* staged_promote once join_writer has answered: s and sfd are the file joined, if any. */
static int promote_to(struct vfile *vf, struct staged *s, int sfd, int exclusive)
{
	char path[PATH_MAX];
	int rc = 0, joined = s != NULL;

	pthread_mutex_lock(&vf->lock);
	if (vf->kind == VFILE_STAGED) {		/* another thread's write staged it meanwhile */
		pthread_mutex_unlock(&vf->lock);
		if (joined) {
			REAL(close)(sfd);
			still_shared(s);
		}
		return 0;
	}
	if (!joined && (s = stage_new(vf->mnt, vf->key, 0, &sfd, path)) == NULL) {
		pthread_mutex_unlock(&vf->lock);
		return sfd;
	}
	rc = joined ? 0 : copy_current(vf->mnt, vf->key, sfd);
	if (rc == 0)
		rc = put_under_fds(vf, sfd);
	REAL(close)(sfd);
	if (rc && joined) {
		still_shared(s);
	} else if (rc) {
		stage_discard(s);
		free(s);
	} else {
		vf->stg = s;
		vf->kind = VFILE_STAGED;
		vf->exclusive = exclusive;
	}
	pthread_mutex_unlock(&vf->lock);
	if (rc == 0)
		staged_remember(vf);
	return rc;
}

int staged_promote(struct vfile *vf)
{
	struct claim mine;
	struct staged *s;
	int sfd, rc, staged, exclusive = 0;

	pthread_mutex_lock(&vf->lock);
	staged = vf->kind == VFILE_STAGED;
	pthread_mutex_unlock(&vf->lock);
	if (staged || !staged_ready)
		return staged_ready ? 0 : -EROFS;
	/* not under vf's lock: the list's comes before a vfile's */
	if ((s = join_writer(vf->mnt, vf->key, 0, &sfd, &exclusive, &mine)) == NULL && sfd < 0)
		return sfd;
	rc = promote_to(vf, s, sfd, exclusive);
	if (!s)
		unclaim(&mine);
	return rc;
}

int staged_restage(struct vfile *vf)
{
	char path[PATH_MAX];
	struct staged *s = NULL;
	int src, sfd = -1, rc = 0;

	pthread_mutex_lock(&vf->lock);
	if (!vf->stg && vf->kind == VFILE_STAGED && (src = fd_of(vf)) >= 0) {
		s = stage_new(vf->mnt, vf->key, 0, &sfd, path);
		rc = s ? copy_fd(src, sfd) : sfd;
		if (rc == 0)
			rc = put_under_fds(vf, sfd);
		if (sfd >= 0)
			REAL(close)(sfd);
		if (rc == 0) {
			vf->stg = s;
		} else if (s) {
			stage_discard(s);
			free(s);
		}
	}
	pthread_mutex_unlock(&vf->lock);
	if (rc) {
		vfile_path(vf, path);
		log_error("%s: cannot be staged again after the failed exec (%s); what is written "
			  "to it from now on is not uploaded", path, strerror(-rc));
	} else if (s) {
		staged_remember(vf);
	}
	return rc;
}

/* ---- unlink and rename of a path open for writing here ------------------ */

/*
 * How much of vf's key names key: its length when vf is key itself, or
 * (below) a file anywhere under directory key; else 0.
 */
static size_t names(const struct vfile *vf, const char *key, int below)
{
	size_t n = strlen(key);

	if (strncmp(vf->key, key, n) != 0)
		return 0;
	if (below)
		return vf->key[n] == '/' ? n : 0;
	return vf->key[n] == '\0' ? n : 0;
}

int staged_name_busy(struct mount *m, const char *key, int below)
{
	int rc = 0;

	pthread_mutex_lock(&staged_files_lock);
	for (struct written *w = staged_files; w && rc >= 0; w = w->next) {
		struct vfile *vf = w->vf;

		if (vf->mnt != m || !names(vf, key, below))
			continue;
		pthread_mutex_lock(&vf->lock);
		if (vf->stg)	/* a stream under the old name cannot take the new one */
			rc = stream_given_up(vf->stg) ? 1 : -EBUSY;
		pthread_mutex_unlock(&vf->lock);
	}
	pthread_mutex_unlock(&staged_files_lock);
	return rc;
}

/* vf's new key: to in place of the n bytes of its key that named the old one. */
static int rename_one(struct vfile *vf, size_t n, const char *to)
{
	char *key = NULL;
	int rc;

	if (asprintf(&key, "%s%s", to, vf->key + n) < 0)
		return -ENOMEM;
	rc = vfile_rename(vf, key);
	free(key);
	return rc;
}

void staged_name_change(struct mount *m, const char *key, const char *to, int below)
{
	char path[PATH_MAX];

	pthread_mutex_lock(&staged_files_lock);
	for (struct written **p = &staged_files; *p;) {
		struct written *w = *p;
		struct vfile *vf = w->vf;
		size_t n = vf->mnt == m ? names(vf, key, below) : 0;
		int gone = 0;

		if (!n) {
			p = &w->next;
			continue;
		}
		pthread_mutex_lock(&vf->lock);
		if (vf->stg && stream_given_up(vf->stg)) {
			if (!to) {
				vf->stg->unlinked = 1;	/* out of the list: no name finds it */
				gone = 1;
			} else if (rename_one(vf, n, to) != 0) {
				log_error("%s/%s: out of memory; its close sends it under its old name",
					  m->path, vf->key);
			} else {
				vf->stg->renamed = 1;
			}
			vfile_path(vf, path);
			stage_renamed(m, vf->stg, gone ? NULL : vf->key, path);
		}
		pthread_mutex_unlock(&vf->lock);
		if (gone) {
			*p = w->next;
			free(w);
		} else {
			p = &w->next;
		}
	}
	pthread_mutex_unlock(&staged_files_lock);
}

/* ---- changes of a streamed file ------------------------------------------ */

/*
 * What a change may touch, for the stream's check: [*off, *off + *len),
 * where len 0 means only the part that off cuts inside.  0 when it
 * touches nothing at all.
 */
static int change_span(const struct staged_change *c, off_t at, off_t *off, off_t *len)
{
	*off = c->op == STAGED_WRITE ? at : c->off;
	switch (c->op) {
	case STAGED_WRITE:
	case STAGED_RANGE:
		*len = c->len;
		return c->len > 0 && *off >= 0;
	case STAGED_TRUNCATE:
		*len = 0;
		return *off >= 0;
	case STAGED_SHIFT:
		*len = INT64_MAX - c->off;	/* everything from off */
		return *off >= 0;
	}
	return 0;
}

int staged_change_begin(struct vfile *vf, int fd, struct staged_change *c)
{
	char path[PATH_MAX];
	struct staged *s;
	off_t at = c->off, off, len;
	int rc;

	c->tracked = 0;
	pthread_mutex_lock(&vf->lock);
	s = vf->stg;
	if (s)
		drop_given_up_stream(s);
	if (!s || (!s->stream && !s->holes && !s->detached)) {
		pthread_mutex_unlock(&vf->lock);
		return 0;
	}
	if (s->detached || s->holes) {
		rc = s->detached ? -EBADF : -ENOSPC;
		pthread_mutex_unlock(&vf->lock);
		vfile_path(vf, path);
		log_error("%s: cannot be written here: %s", path, rc == -EBADF ?
			  "another process holds it while sending it part by part" :
			  "parts of it were dropped from staging once sent");
		return rc;
	}
	if (c->op == STAGED_WRITE && at < 0)
		at = REAL(lseek)(fd, 0, SEEK_CUR);
	rc = change_span(c, at, &off, &len) ? upload_stream_check(s->stream, off, len) : 0;
	/* an append lands at the end, past every part dropped */
	if (rc && c->op == STAGED_WRITE && c->off < 0 && (REAL(fcntl)(fd, F_GETFL) & O_APPEND))
		rc = 0;
	if (rc) {
		pthread_mutex_unlock(&vf->lock);
		vfile_path(vf, path);
		log_error("%s: a change at offset %lld lands in a part already sent and dropped"
			  " from staging to make room (the staging space is short); the file"
			  " cannot take it", path, (long long)off);
		return rc;
	}
	c->tracked = 1;		/* the lock is held until staged_change_end */
	return 0;
}

void staged_change_end(struct vfile *vf, int fd, struct staged_change *c, ssize_t result)
{
	struct upload *u;
	off_t at;

	if (!c->tracked)
		return;
	u = vf->stg->stream;
	switch (c->op) {
	case STAGED_WRITE:
		if (result <= 0)
			break;
		/* where the write went, appending or not: it ended at the new offset */
		at = c->off >= 0 ? c->off : REAL(lseek)(fd, 0, SEEK_CUR) - result;
		if (at >= 0)
			upload_stream_wrote(u, at, result);
		break;
	case STAGED_RANGE:
		if (result == 0)
			upload_stream_wrote(u, c->off, c->len);
		break;
	case STAGED_TRUNCATE:
	case STAGED_SHIFT:
		if (result == 0)
			upload_stream_truncated(u, c->off);
		break;
	}
	pthread_mutex_unlock(&vf->lock);
}

void staged_mapped(struct vfile *vf)
{
	pthread_mutex_lock(&vf->lock);
	if (vf->stg)
		vf->stg->mapped = 1;
	pthread_mutex_unlock(&vf->lock);
}

/* ---- uploads -------------------------------------------------------------- */

/* Uploads s, staged for vf: fd is the upload's; snapshot leaves s in place. */
static int start_upload(struct vfile *vf, struct staged *s, int fd, int hold_fd, int snapshot,
			struct upload **u)
{
	char path[PATH_MAX];
	/*
	 * O_EXCL made the file under its first name, which it keeps until a
	 * send lands: one that did (fsync), or a rename, which replaces what
	 * the new name held (mkstemp, write, rename over the old file, close),
	 * leaves nothing to create exclusively.
	 */
	struct upload_req req = {
		.st = vf->mnt->st, .key = vf->key, .path = path, .fd = fd,
		.staged = s->data, .journal = s->journal, .hold_fd = hold_fd,
		.exclusive = vf->exclusive && !s->synced && !s->renamed, .snapshot = snapshot,
	};

	vfile_path(vf, path);
	return upload_start(&req, u);
}

/* The file is as fsync left it (see stamp_for_sync): sending it again would send the same bytes. */
static int unchanged_since_sync(const struct staged *s)
{
	struct stat sb;

	return s->synced && !s->mapped && REAL(fstat)(s->own_fd, &sb) == 0 &&
	       sb.st_size == s->synced_size && sb.st_mtim.tv_sec == s->synced_mtime.tv_sec &&
	       sb.st_mtim.tv_nsec == s->synced_mtime.tv_nsec;
}

/* The last holder's upload of s: -errno only when it could not start. */
static int send_last(struct vfile *vf, struct staged *s, struct upload **u)
{
	char path[PATH_MAX];
	int rc;

	*u = NULL;
	if (s->stream) {
		upload_seal(s->stream, s->lock_fd, 0, u);
		s->stream = NULL;
		REAL(close)(s->own_fd);
		return *u ? 0 : -EIO;
	}
	if (unchanged_since_sync(s) || s->holes) {
		vfile_path(vf, path);
		if (!unchanged_since_sync(s) && !s->kept)
			log_error("%s: changed after fsync by a call the shim does not see, with"
				  " parts already dropped from staging; only what fsync sent is"
				  " in the store", path);
		REAL(unlink)(s->data);
		REAL(unlink)(s->journal);
		REAL(close)(s->own_fd);
		REAL(close)(s->lock_fd);
		return 0;
	}
	rc = start_upload(vf, s, s->own_fd, s->lock_fd, 0, u);
	if (rc)
		log_error("%s: cannot start its upload (%s); the bytes stay in %s",
			  vf->key, strerror(-rc), s->data);
	return rc;
}

int staged_let_go(struct vfile *vf, struct staged *s)
{
	struct upload *u;
	int rc = 0;

	if (still_shared(s))
		return 0;	/* the last open here sends it */
	if (s->unlinked) {
		/* its name went while it was open: like a local file, it goes */
		if (stage_release(s)) {
			REAL(unlink)(s->data);
			REAL(unlink)(s->journal);
		}
		REAL(close)(s->own_fd);
		if (s->lock_fd >= 0)
			REAL(close)(s->lock_fd);
	} else if (s->detached) {
		/* the parent sends it; nothing here was ever written */
		REAL(close)(s->own_fd);
		REAL(close)(s->lock_fd);
	} else if (!stage_release(s)) {
		REAL(close)(s->own_fd);	/* another process closes it last */
		if (s->stream)
			upload_put(s->stream);	/* given up when it was shared */
	} else if ((rc = send_last(vf, s, &u)) == 0 && u) {
		if (sync_close)
			rc = upload_wait(u);
		upload_put(u);
	}
	free(s);
	return rc;
}

int staged_close(struct vfile *vf)
{
	struct staged *s = vf->stg;

	staged_forget(vf);
	vf->stg = NULL;
	return staged_let_go(vf, s);
}

/*
 * Stamps the staged file, before fsync reads it, with a time no write
 * gives it: its mtime less a nanosecond; *sb then carries the stamp.
 * unchanged_since_sync compares against this stamp, never against the
 * time the last write set: a kernel with coarse timestamps (Linux before
 * 6.13, Debian 12's 6.1 among them) gives every write in one clock tick,
 * 4 ms there, the same mtime, so a write of the same size just after
 * fsync would leave the file looking as fsync sent it, and neither the
 * next fsync nor close would send it.  A write after the stamp, by any
 * process or call, sets the clock's time, later than the stamp; one
 * between fstat and the stamp is in the bytes read after it.  -errno when
 * the file cannot be stamped: then the sync must not count.
 */
static int stamp_for_sync(const struct staged *s, struct stat *sb)
{
	struct timespec t[2] = { { .tv_nsec = UTIME_OMIT }, sb->st_mtim };

	if (t[1].tv_nsec > 0) {
		t[1].tv_nsec--;
	} else {
		t[1].tv_sec--;
		t[1].tv_nsec = 999999999;
	}
	if (REAL(futimens)(s->own_fd, t) != 0)
		return -errno;
	sb->st_mtim = t[1];
	return 0;
}

/* The staged file's size and stamp, as fsync made them durable. */
static void mark_synced(struct staged *s, const struct stat *sb)
{
	s->synced = 1;
	s->synced_size = sb->st_size;
	s->synced_mtime = sb->st_mtim;
}

/* fsync of a streamed file: its stream completes now, and the file goes on unstreamed. */
static int sync_stream(struct staged *s)
{
	struct upload *u = s->stream, *sealed;
	int holes = upload_stream_holes(u), rc;

	s->stream = NULL;
	upload_seal(u, -1, 1, &sealed);
	rc = sealed ? upload_wait(sealed) : -EIO;
	upload_put(sealed);
	s->holes = holes;	/* no write can be taken now: it would be lost */
	s->kept = rc && holes;	/* in the recovery directory, with its parts */
	return rc;
}

/* fsync of a file staged whole: an upload of what it holds now; it stays staged. */
static int sync_snapshot(struct vfile *vf, struct staged *s)
{
	struct upload *u;
	int fd = fd_private_dup(s->own_fd), rc;

	if (fd < 0)
		return fd;
	rc = start_upload(vf, s, fd, -1, 1, &u);
	if (rc == 0) {
		rc = upload_wait(u);
		upload_put(u);
	}
	return rc;
}

/* fsync's upload of s (sb: as it is now), streamed or whole; durable as stamped once sent. */
static int sync_send(struct vfile *vf, struct staged *s, struct stat *sb)
{
	int stamped = stamp_for_sync(s, sb) == 0;
	int rc = s->stream ? sync_stream(s) : sync_snapshot(vf, s);

	if (rc == 0 && stamped)
		mark_synced(s, sb);
	return rc;
}

int staged_sync(struct vfile *vf)
{
	struct staged *s;
	struct stat sb;
	int rc, shared;

	pthread_mutex_lock(&vf->lock);	/* no change is told to a stream meanwhile */
	s = vf->stg;
	if (!s || s->detached || s->unlinked) {
		pthread_mutex_unlock(&vf->lock);
		return s && !s->unlinked ? -EBADF : 0;	/* unlinked: no name to make durable */
	}
	/*
	 * Another open here may sync the same file under its own lock: one at
	 * a time, and what a mapping of either open did is not known here.
	 */
	if ((shared = atomic_load(&s->sharers) > 0))
		pthread_mutex_lock(&shared_sync_lock);
	drop_given_up_stream(s);
	if (REAL(fstat)(s->own_fd, &sb) != 0)
		rc = -errno;
	else if (!s->stream && !shared && unchanged_since_sync(s))
		rc = 0;
	else if (!s->stream && s->holes)
		rc = -EIO;	/* changed unseen: see send_last */
	else
		rc = sync_send(vf, s, &sb);
	if (shared)
		pthread_mutex_unlock(&shared_sync_lock);
	pthread_mutex_unlock(&vf->lock);
	return rc;
}

int staged_quit(void)
{
	int high = fdtab_high(), failed;

	if (!staged_ready)
		return 0;
	guard_enter();
	for (int fd = 0; fd <= high; fd++) {
		struct vfile *vf = fdtab_has(fd) ? vfile_get(fd) : NULL;
		struct staged *s = vf ? staged_take(vf) : NULL;

		if (s)
			staged_let_go(vf, s);
		vfile_put(vf);
	}
	failed = upload_drain();
	guard_leave();
	if (failed)
		log_say("%d upload%s failed; the bytes are in the recovery directory, and"
			" `cloudshim sync` sends them", failed,
			failed == 1 ? "" : "s");
	return failed;
}

void staged_exit(int status, void *unused)
{
	(void)unused;
	fflush(NULL);	/* stdio flushes only after exit handlers: too late for us */
	/* registered first, so run last: nothing is left to run but _exit */
	if (staged_quit() && status == 0)
		REAL(_exit)(EXIT_FAILURE);
}
