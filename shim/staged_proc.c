/* SPDX-License-Identifier: MIT */
/*
 * staged_proc.c - written files across fork, exec and spawn.
 *
 * Who uploads a staged file is settled by holds (shim/stage.h): every
 * process holding it keeps a lock on its journal entry, and the last to
 * let go uploads.  A forked child holds again what it inherits; a new
 * program finds what it inherits in CLOUDSHIM_STAGED and adopts it.
 *
 * A stream (a file being sent while written) needs its writer alone, so
 * sharing the file gives the stream up: the file is then staged whole,
 * as any other.  When the stream had already dropped parts from staging,
 * it cannot be given up; the other process gets the descriptor detached
 * instead (writing it fails with EBADF), and this one keeps sending.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/journal.h"
#include "backend/upload.h"
#include "shim/staged_int.h"
#include "shim/wrap.h"

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

/* 1 when the process sharing s must keep its hands off it; vf's lock held. */
static int hands_off(const struct staged *s)
{
	return s->detached || (s->stream && upload_stream_holes(s->stream));
}

/*
 * Another program will hold vf's file: its stream is given up (unless it
 * has holes).  replacing: this image goes, so a stream with holes is
 * sent now, and the file is left to the new program detached.
 */
static void share(struct vfile *vf, int replacing)
{
	struct staged *s;
	struct upload *u;

	pthread_mutex_lock(&vf->lock);
	s = vf->stg;
	if (s && s->stream && !upload_stream_holes(s->stream))
		upload_stream_share(s->stream);
	else if (s && s->stream && replacing && stage_release(s)) {
		upload_seal(s->stream, s->lock_fd, 0, &u);
		upload_put(u);
		REAL(close)(s->own_fd);
		s->stream = NULL;
		s->own_fd = s->lock_fd = -1;
		s->detached = 1;
	}
	pthread_mutex_unlock(&vf->lock);
}

/* Runs fn on each written vfile, with the staged files it is called for. */
static void each_written(void (*fn)(struct vfile *vf, int high, int replacing), int replacing)
{
	int high = fdtab_high();

	for (int fd = 0; fd <= high; fd++) {
		struct vfile *vf = fdtab_has(fd) ? vfile_get(fd) : NULL;

		if (vf && vf->stg)
			fn(vf, high, replacing);
		vfile_put(vf);
	}
}

/*
 * The files an exec let go (a reference each): should it fail, the
 * program goes on writing them.  Under staged_files_lock.
 */
static struct vfile **let_go;
static size_t nlet_go, let_go_cap;

static void remember_let_go(struct vfile *vf)
{
	pthread_mutex_lock(&staged_files_lock);
	if (nlet_go == let_go_cap) {
		size_t cap = let_go_cap ? let_go_cap * 2 : 8;
		struct vfile **grown = realloc(let_go, cap * sizeof(*grown));

		if (grown) {
			let_go = grown;
			let_go_cap = cap;
		}
	}
	if (nlet_go < let_go_cap) {
		atomic_fetch_add(&vf->refs, 1);
		let_go[nlet_go++] = vf;
	}
	pthread_mutex_unlock(&staged_files_lock);
}

static void before_new_program(struct vfile *vf, int high, int replacing)
{
	struct staged *s;

	if (survives_exec(vf, high)) {
		share(vf, replacing);
	} else if (replacing && (s = staged_take(vf))) {
		staged_let_go(vf, s);	/* no descriptor outlives this image */
		remember_let_go(vf);
	}
}

void staged_before_exec(void)
{
	if (!staged_ready)
		return;
	each_written(before_new_program, 1);
	upload_drain();
}

void staged_after_failed_exec(void)
{
	struct vfile **list;
	size_t n;

	pthread_mutex_lock(&staged_files_lock);
	list = let_go;
	n = nlet_go;
	let_go = NULL;
	nlet_go = let_go_cap = 0;
	pthread_mutex_unlock(&staged_files_lock);
	guard_enter();	/* the shim's own reads: of write-only descriptors too */
	for (size_t i = 0; i < n; i++) {
		staged_restage(list[i]);
		vfile_put(list[i]);
	}
	guard_leave();
	free(list);
}

void staged_before_spawn(void)
{
	if (staged_ready)
		each_written(before_new_program, 0);
}

void staged_fork_lock(void)
{
	pthread_mutex_lock(&staged_files_lock);
}

void staged_fork_unlock(void)
{
	pthread_mutex_unlock(&staged_files_lock);
}

void staged_fork_child(void)
{
	/* held around requests: a thread of the parent may have held it, none is here */
	pthread_mutex_init(&shared_sync_lock, NULL);
	staged_claims_fork_child();
	for (struct written *w = staged_files; w; w = w->next) {
		struct staged *s = w->vf->stg;

		vfile_reset_locks(w->vf);	/* not only those with a descriptor */

		if (s->stream) {
			/* the fork gave it up (upload_fork_lock), unless it had holes */
			int holes = upload_stream_holes(s->stream);

			upload_stream_forget(s->stream);
			s->stream = NULL;
			if (holes) {
				s->detached = 1;	/* the parent's alone */
				continue;
			}
		}
		if (!s->detached)
			stage_rehold(s);
	}
}

/* Appends n bytes of text to the string *out (*len used of *cap); 0, or -1 without memory. */
static int append(char **out, size_t *len, size_t *cap, const char *text, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t want = *cap ? *cap * 2 : 256;
		char *grown;

		while (want < *len + n + 1)
			want *= 2;
		if (!(grown = realloc(*out, want)))
			return -1;
		*out = grown;
		*cap = want;
	}
	memcpy(*out + *len, text, n);
	*len += n;
	(*out)[*len] = '\0';
	return 0;
}

/*
 * One pass, growing as it goes: other threads may open and close written
 * files meanwhile (a sizing pass before the writing one overflowed then).
 */
char *staged_env_entry(void)
{
	size_t len = 0, cap = 0;
	char *out = NULL;
	int high = fdtab_high();

	for (int fd = 0; fd <= high; fd++) {
		struct vfile *vf = fdtab_has(fd) ? vfile_get(fd) : NULL;
		int fl = vf && vf->stg ? REAL(fcntl)(fd, F_GETFD) : -1, n = 0;
		char entry[PATH_MAX + 64];

		/* "fd:mount:ha:staged-path;" for each one a new program inherits;
		   h is 'd' for one it may not write, else 's'; a is 'w' for one
		   opened write-only, else 'b' (the kernel's F_GETFL says O_RDWR:
		   the staged file is open for reading underneath) */
		if (fl >= 0 && !(fl & FD_CLOEXEC)) {
			pthread_mutex_lock(&vf->lock);
			if (vf->stg)
				n = snprintf(entry, sizeof(entry), "%d:%d:%c%c:%s;", fd,
					     mount_index(vf->mnt), hands_off(vf->stg) ? 'd' : 's',
					     vfile_write_only(vf) ? 'w' : 'b', vf->stg->data);
			pthread_mutex_unlock(&vf->lock);
		}
		vfile_put(vf);
		if (n <= 0 || (size_t)n >= sizeof(entry))
			continue;
		if ((!out && append(&out, &len, &cap, STAGED_ENV "=", sizeof(STAGED_ENV "=") - 1)) ||
		    append(&out, &len, &cap, entry, (size_t)n)) {
			free(out);
			return NULL;
		}
	}
	return out;
}

/* One "fd:mount:ha:path" the parent passed: the descriptor is ours again. */
static void adopt_one(int fd, int index, int detached, int write_only, const char *data)
{
	struct mount *m = mount_at(index);
	struct journal_entry e;
	struct staged *s = calloc(1, sizeof(*s));
	struct vfile *vf = NULL;
	int fl = REAL(fcntl)(fd, F_GETFL);

	if (!s || !m || fl < 0 || stage_adopt(fd, data, !detached, s) != 0) {
		free(s);
		return;
	}
	fl = (fl & O_APPEND) | (write_only ? O_WRONLY : (fl & O_ACCMODE));
	s->detached = detached;
	/*
	 * Read through the descriptor that holds the entry's lock: closing any
	 * other descriptor of the entry would drop this process's (POSIX) lock,
	 * and the next program to let go would think itself the last.  Read by
	 * name, `sh -c '/bin/echo a; /bin/echo b' > /data/f` uploaded "a" when
	 * the first echo exited, and the second's line was lost.  One unlinked
	 * while open has no name: written on, never sent, as a local file.
	 */
	if ((s->lock_fd >= 0 ? journal_read_fd(s->lock_fd, &e) : journal_read(s->journal, &e)) == 0) {
		if (!e.unlinked) {
			vf = vfile_new(VFILE_STAGED, m, e.key, fl & (O_ACCMODE | O_APPEND));
		} else if (!detached && stage_alone(s)) {
			REAL(unlink)(s->data);	/* nobody else will */
			REAL(unlink)(s->journal);
		}
		journal_free(&e);
	}
	if (!vf) {
		if (s->lock_fd >= 0)
			REAL(close)(s->lock_fd);
		REAL(close)(s->own_fd);
		free(s);
		return;
	}
	/*
	 * A lone writer here may stream it from now on (`cat > /data/f` in a
	 * shell: the shell's stream went at the exec).  Its mode is the one the
	 * parent passed: the kernel says O_RDWR of every staged file, so this
	 * never ran before.  fstat, not lseek: own_fd shares the program's offset.
	 */
	if (!detached && (fl & O_ACCMODE) == O_WRONLY && stage_alone(s)) {
		struct stat sb;
		char path[PATH_MAX];

		vfile_path(vf, path);
		s->stream = staged_stream(m, vf->key, path, s);
		if (s->stream && REAL(fstat)(s->own_fd, &sb) == 0 && sb.st_size > 0)
			upload_stream_wrote(s->stream, 0, sb.st_size);	/* the parent's bytes */
	}
	vf->stg = s;
	staged_remember(vf);
	vfile_put(fdtab_set(fd, vf));
	vfile_put(vf);
}

void staged_adopt(void)
{
	const char *v = getenv(STAGED_ENV);
	char *list, *save = NULL;

	if (!v || !staged_ready || !(list = strdup(v)))
		return;
	unsetenv(STAGED_ENV);
	guard_enter();
	for (char *item = strtok_r(list, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char *rest = NULL;
		long fd = strtol(item, &rest, 10), index;

		if (*rest != ':')
			continue;
		index = strtol(rest + 1, &rest, 10);
		if (rest[0] == ':' && (rest[1] == 's' || rest[1] == 'd') &&
		    (rest[2] == 'w' || rest[2] == 'b') && rest[3] == ':' && fd >= 0 && fd < INT_MAX)
			adopt_one((int)fd, (int)index, rest[1] == 'd', rest[2] == 'w', rest + 4);
	}
	guard_leave();
	free(list);
}

/* ---- uploads in flight, for a new program to read ------------------------ */

struct pending_out {
	char *buf;
	size_t len, cap;
};

/*
 * One "index:size:sec:nsec:staged-length:journal-length:key-length:" and
 * then the three strings, back to back.
 */
static void pending_one(void *arg, struct store *st, const char *key,
			const struct store_meta *meta, const char *staged, const char *journal)
{
	struct pending_out *o = arg;
	char head[128];
	int index = -1, n;
	struct mount *m;

	for (int i = 0; (m = mount_at(i)) != NULL; i++)
		if (m->st == st)
			index = i;
	n = snprintf(head, sizeof(head), "%d:%lld:%lld:%ld:%zu:%zu:%zu:", index,
		     (long long)meta->size, (long long)meta->mtime.tv_sec,
		     (long)meta->mtime.tv_nsec, strlen(staged), strlen(journal), strlen(key));
	if (index < 0 || n <= 0 ||
	    o->len + (size_t)n + strlen(staged) + strlen(journal) + strlen(key) >= o->cap)
		return;	/* beyond PENDING_MAX: that program reads the store */
	o->len += (size_t)sprintf(o->buf + o->len, "%s%s%s%s", head, staged, journal, key);
}

char *pending_env_entry(void)
{
	struct pending_out o = { .cap = PENDING_MAX };

	if (!staged_ready || !(o.buf = malloc(o.cap)))
		return NULL;
	o.len = (size_t)sprintf(o.buf, PENDING_ENV "=");
	upload_each_pending(pending_one, &o);
	if (o.len == sizeof(PENDING_ENV "=") - 1) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}

/* The number before the next ':' at *p, moving past it; -1 if none. */
static long long next_number(const char **p)
{
	char *end;
	long long v = strtoll(*p, &end, 10);

	if (end == *p || *end != ':')
		return -1;
	*p = end + 1;
	return v;
}

/* The next length-prefixed string at *p into out (PATH_MAX); 0, or -1. */
static int next_string(const char **p, long long len, char *out)
{
	if (len < 0 || len >= PATH_MAX || strnlen(*p, (size_t)len) < (size_t)len)
		return -1;
	memcpy(out, *p, (size_t)len);
	out[len] = '\0';
	*p += len;
	return 0;
}

void pending_adopt(void)
{
	const char *v = getenv(PENDING_ENV), *p;
	char *list;

	if (!v || !staged_ready || !(list = strdup(v)))
		return;
	unsetenv(PENDING_ENV);
	for (p = list; *p;) {
		long long index = next_number(&p), size = next_number(&p), sec = next_number(&p),
			  nsec = next_number(&p), slen = next_number(&p), jlen = next_number(&p),
			  klen = next_number(&p);
		struct store_meta meta = { .kind = STORE_FILE, .size = size };
		char staged[PATH_MAX], journal[PATH_MAX], key[PATH_MAX];
		struct mount *m = index >= 0 && index < INT_MAX ? mount_at((int)index) : NULL;

		if (next_string(&p, slen, staged) || next_string(&p, jlen, journal) ||
		    next_string(&p, klen, key))
			break;	/* not ours, or cut short */
		meta.mtime.tv_sec = (time_t)sec;
		meta.mtime.tv_nsec = (long)nsec;
		/* only a staged file and its entry, as one of ours names them */
		if (m && m->st && size >= 0 && sec >= 0 && nsec >= 0 && nsec < 1000000000 &&
		    stage_names(staged) && stage_names(journal))
			upload_view_add(m->st, key, &meta, staged, journal);
	}
	free(list);
}
