/* SPDX-License-Identifier: MIT */
/*
 * stage_peers.c - what other processes on this machine have staged.
 *
 * A program that closed a file has not necessarily uploaded it yet, and
 * may go on running: a worker of a pool, or a child that names its output
 * on a pipe before it exits.  Every process stages into the same
 * directory, a journal entry beside each staged file naming its store and
 * key, read-locked by every process that holds it (stage.c).  So stat,
 * open for reading and listings here find another live process's staged
 * file and read it, as they would a file on a local disk, until its
 * upload lands and the entry goes; then the count of changes shared by
 * the processes here (backend/sharedgen.h) has this one ask the store.
 *
 * The directory is read again only when the count of entries made (or
 * renamed) that the processes here share moved (backend/sharedgen.h);
 * without that mapping, other processes' entries are not looked at.  An
 * entry's ctime is kept at a coarse tick, so one changed within the last
 * RECENT_NS is read again at every reading.  An entry that no process
 * holds (its program was killed) is not trusted.
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>

#include "backend/journal.h"
#include "backend/sharedgen.h"
#include "shim/stage.h"
#include "shim/stage_peers.h"
#include "shim/wrap.h"

#define RECENT_NS (50 * 1000000LL)

struct peer {
	char *name;		/* the entry's name in the staging directory */
	UT_hash_handle hh;
	ino_t ino;
	struct timespec ctime;
	off_t size;
	char *url, *key;	/* NULL when unreadable, or unlinked while open */
	int seen;
};

static pthread_mutex_t peers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct peer *peers;	/* by name */
static uint64_t entries_seen = UINT64_MAX;	/* the shared count at the last look */

static int recent(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (now.tv_sec - t->tv_sec) * 1000000000LL + (now.tv_nsec - t->tv_nsec) < RECENT_NS;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static int later(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/*
 * Whether staged file a (modified at ta, its entry named na) is a newer
 * version than b.  File times move at the kernel's coarse tick, so two
 * versions one process wrote within a few milliseconds can bear the same
 * time: then the one whose entry it made later is (its names count up,
 * "w-PID-COUNT-...").
 */
static int newer(const struct timespec *ta, const char *na, const struct timespec *tb,
		 const char *nb)
{
	unsigned ca, cb;
	int pa, pb;

	if (later(ta, tb) || later(tb, ta))
		return later(ta, tb);
	return sscanf(na, "w-%d-%u-", &pa, &ca) == 2 && sscanf(nb, "w-%d-%u-", &pb, &cb) == 2 &&
	       pa == pb && ca > cb;
}

/* An entry's name; *ours when this process made it ("w-PID-..."). */
static int entry_name(const char *name, int *ours)
{
	size_t n = strlen(name);
	char own[32];
	int k = snprintf(own, sizeof(own), "w-%d-", (int)getpid());

	*ours = strncmp(name, own, (size_t)k) == 0;
	return n > 7 && (name[0] == 'w' || name[0] == 'x') && name[1] == '-' &&
	       strcmp(name + n - 5, ".json") == 0;
}

static void forget_entry(struct peer *p)
{
	free(p->url);
	free(p->key);
	p->url = p->key = NULL;
}

static void read_entry(struct peer *p, const struct stat *sb)
{
	char file[PATH_MAX];
	struct journal_entry e;

	forget_entry(p);
	p->ino = sb->st_ino;
	p->ctime = sb->st_ctim;
	p->size = sb->st_size;
	snprintf(file, sizeof(file), "%s/%s", stage_dir_path(), p->name);
	if (journal_read(file, &e) != 0)
		return;
	if (!e.unlinked && e.url && e.key) {
		p->url = e.url;
		p->key = e.key;
		e.url = e.key = NULL;
	}
	journal_free(&e);
}

static struct peer *entry_named(const char *name)
{
	struct peer *p;

	HASH_FIND_STR(peers, name, p);
	if (p)
		return p;
	if (!(p = calloc(1, sizeof(*p))) || !(p->name = strdup(name))) {
		free(p);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, peers, p->name, strlen(p->name), p);
	return p;
}

/* Inodes of entries held here, made elsewhere, that a reading of the directory found. */
struct ours {
	ino_t *v;
	size_t n, cap;
};

static void add_ours(struct ours *o, ino_t ino)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 64;
		ino_t *grown = realloc(o->v, cap * sizeof(*o->v));

		if (!grown)
			return;
		o->v = grown;
		o->cap = cap;
	}
	o->v[o->n++] = ino;
}

static int found_ours(void *arg, ino_t ino)
{
	const struct ours *o = arg;

	for (size_t i = 0; i < o->n; i++)
		if (o->v[i] == ino)
			return 1;
	return 0;
}

/* Reads the directory again when it changed; peers_lock held. */
static void refresh_locked(void)
{
	const char *dir = stage_dir_path();
	struct ours ours = { NULL, 0, 0 };
	struct peer *p, *tmp;
	struct dirent *de;
	struct stat sb;
	uint64_t count;
	size_t held_before;
	int mine;
	DIR *d;

	if (!dir[0] || sharedgen_entries(&count) != 0 || count == entries_seen)
		return;
	entries_seen = count;
	held_before = stage_held_count();	/* each of those has its entry in the directory */
	if (!(d = REAL(opendir)(dir)))
		return;
	HASH_ITER(hh, peers, p, tmp)
		p->seen = 0;
	while ((de = REAL(readdir)(d)) != NULL) {
		if (!entry_name(de->d_name, &mine) || mine ||
		    REAL(fstatat)(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (stage_held_here(sb.st_ino)) {
			add_ours(&ours, sb.st_ino);
			continue;
		}
		if (!(p = entry_named(de->d_name)))
			continue;
		if (p->ino != sb.st_ino || !same_time(&p->ctime, &sb.st_ctim) ||
		    p->size != sb.st_size || recent(&sb.st_ctim))
			read_entry(p, &sb);
		p->seen = 1;
	}
	REAL(closedir)(d);
	HASH_ITER(hh, peers, p, tmp) {
		if (p->seen)
			continue;
		HASH_DEL(peers, p);
		forget_entry(p);
		free(p->name);
		free(p);
	}
	stage_held_prune(held_before, found_ours, &ours);
	free(ours.v);
}

/* 1 when some process holds entry p (its program is alive). */
static int held(const struct peer *p)
{
	char file[PATH_MAX];
	int fd, rc;

	snprintf(file, sizeof(file), "%s/%s", stage_dir_path(), p->name);
	if ((fd = REAL(open)(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	rc = journal_held_elsewhere(fd);	/* never ours: stage_held_here */
	REAL(close)(fd);
	return rc == 1;
}

static int matches(const struct peer *p, const char *url)
{
	return p->key && strcmp(p->url, url) == 0;
}

int peers_lookup(const struct mount *m, const char *key, struct store_meta *meta, char *data,
		 size_t n)
{
	const char *url = m->st ? store_url(m->st) : NULL;
	struct timespec newest = { 0, 0 };
	const char *newest_name = "";
	struct peer *p;
	int found = 0;

	if (!url)
		return 0;
	pthread_mutex_lock(&peers_lock);
	refresh_locked();
	for (p = peers; p; p = p->hh.next) {
		char file[PATH_MAX];
		struct stat sb;
		size_t len = strlen(p->name) - 5;	/* the staged bytes: the name less ".json" */

		if (!matches(p, url) || strcmp(p->key, key) != 0)
			continue;
		snprintf(file, sizeof(file), "%s/%.*s", stage_dir_path(), (int)len, p->name);
		/* gone: its upload landed, and the shared count of changes says so */
		if (REAL(stat)(file, &sb) != 0 || !held(p) ||
		    (found && !newer(&sb.st_mtim, p->name, &newest, newest_name)))
			continue;
		memset(meta, 0, sizeof(*meta));
		meta->kind = STORE_FILE;
		meta->size = sb.st_size;
		meta->mtime = sb.st_mtim;
		newest = sb.st_mtim;
		newest_name = p->name;
		/* fewer blocks than bytes: streaming may have dropped parts of it */
		if (data)
			snprintf(data, n, "%s", (off_t)sb.st_blocks * 512 < sb.st_size ? "" : file);
		found = 1;
	}
	pthread_mutex_unlock(&peers_lock);
	return found;
}

void peers_each(const struct mount *m, void (*fn)(void *arg, const char *key), void *arg)
{
	const char *url = m->st ? store_url(m->st) : NULL;

	if (!url)
		return;
	pthread_mutex_lock(&peers_lock);
	refresh_locked();
	for (struct peer *p = peers; p; p = p->hh.next)
		if (matches(p, url) && held(p))
			fn(arg, p->key);
	pthread_mutex_unlock(&peers_lock);
}

void peers_fork_lock(void)
{
	pthread_mutex_lock(&peers_lock);
	stage_held_lock(1);
}

void peers_fork_unlock(void)
{
	stage_held_lock(0);
	pthread_mutex_unlock(&peers_lock);
}
