/* SPDX-License-Identifier: MIT */
/*
 * stage.c - the staging directory, staged files and who holds them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "backend/crypto_lib.h"
#include "backend/journal.h"
#include "backend/log.h"
#include "backend/sharedgen.h"
#include "backend/store.h"
#include "shim/stage.h"
#include "shim/wrap.h"

#define DIR_MAX (PATH_MAX / 2)	/* room left for the names made inside */
#define NAME_MAX_ (DIR_MAX + 64)

static char stage_dir[DIR_MAX];
static atomic_uint counter;

/*
 * The entries this process holds, or held, by inode, where their names do
 * not say so ("w-PID-" with our pid): claims, those adopted after exec,
 * and a forked child's from its parent.  Their locks would go at the
 * close of any descriptor of them (POSIX locks are per process), so a
 * look at what others staged (stage_peers.c) must never open one.
 */
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static ino_t *held;
static size_t nheld, held_cap;

static void hold_entry(int lock_fd)
{
	struct stat sb;

	if (lock_fd < 0 || REAL(fstat)(lock_fd, &sb) != 0)
		return;
	pthread_mutex_lock(&held_lock);
	if (nheld == held_cap) {
		size_t cap = held_cap ? 2 * held_cap : 64;
		ino_t *grown = realloc(held, cap * sizeof(*held));

		if (grown) {
			held = grown;
			held_cap = cap;
		}
	}
	if (nheld < held_cap)
		held[nheld++] = sb.st_ino;
	pthread_mutex_unlock(&held_lock);
}

int stage_held_here(ino_t ino)
{
	int found = 0;

	pthread_mutex_lock(&held_lock);
	for (size_t i = 0; i < nheld && !found; i++)
		found = held[i] == ino;
	pthread_mutex_unlock(&held_lock);
	return found;
}

size_t stage_held_count(void)
{
	size_t n;

	pthread_mutex_lock(&held_lock);
	n = nheld;
	pthread_mutex_unlock(&held_lock);
	return n;
}

void stage_held_prune(size_t first, int (*exists)(void *arg, ino_t ino), void *arg)
{
	size_t kept = 0;

	pthread_mutex_lock(&held_lock);
	for (size_t i = 0; i < nheld; i++)
		if (i >= first || exists(arg, held[i]))
			held[kept++] = held[i];
	nheld = kept;
	pthread_mutex_unlock(&held_lock);
}

void stage_held_lock(int on)
{
	if (on)
		pthread_mutex_lock(&held_lock);
	else
		pthread_mutex_unlock(&held_lock);
}

const char *stage_dir_path(void)
{
	return stage_dir;
}

int fd_private_dup(int fd)
{
	static int floor_fd = -1;
	struct rlimit rl;

	if (floor_fd < 0)
		floor_fd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 256 ?
			   (int)(rl.rlim_cur > 65536 ? 32768 : rl.rlim_cur / 2) - 256 : 3;
	fd = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, floor_fd);
	return fd < 0 ? -errno : fd;
}

int stage_setup(const char *dir, char *why, size_t n)
{
	static const char fix[] = "set staging_dir (CLOUDSHIM_STAGING_DIR) to a directory"
				  " of your own";
	char counter_file[NAME_MAX_];
	struct stat sb;

	if (strlen(dir) >= sizeof(stage_dir)) {
		snprintf(why, n, "is a path too long; %s with a shorter path", fix);
		return -ENAMETOOLONG;
	}
	snprintf(stage_dir, sizeof(stage_dir), "%s", dir);
	if ((REAL(mkdir)(stage_dir, 0700) != 0 && errno != EEXIST) ||
	    REAL(lstat)(stage_dir, &sb) != 0) {
		int err = errno;

		snprintf(why, n, "cannot be made (%s); %s", strerror(err), fix);
		return -err;
	}
	/* never a directory someone else made for us, nor a link to one */
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(why, n, "is not a directory (a link is not followed); %s", fix);
		return -EPERM;
	}
	if (sb.st_uid != getuid()) {
		snprintf(why, n, "belongs to uid %u, not to this user (%u); %s",
			 (unsigned)sb.st_uid, (unsigned)getuid(), fix);
		return -EPERM;
	}
	if (sb.st_mode & 077) {
		snprintf(why, n, "is open to others (mode %04o), who could read or replace"
			 " staged files; chmod 700 it, or %s", (unsigned)(sb.st_mode & 07777), fix);
		return -EPERM;
	}
	snprintf(counter_file, sizeof(counter_file), "%s/changes", stage_dir);
	if (sharedgen_attach(counter_file) != 0)
		log_warn("%s: cannot map it; other processes' changes are seen after the metadata TTL",
			 counter_file);
	return 0;
}

/* A fresh name: pid, a counter and random bits, nothing from the path. */
static void fresh_name(char *out, size_t n)
{
	unsigned char r[8] = { 0 };

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r[0] = (unsigned char)clock();
	snprintf(out, n, "%s/w-%d-%u-%02x%02x%02x%02x%02x%02x%02x%02x", stage_dir, (int)getpid(),
		 atomic_fetch_add(&counter, 1), r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

/* For an exclusive create: one name per (store, key), whoever asks. */
static void claim_name(const struct mount *m, const char *key, char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	char hex[17] = "";
	EVP_MD_CTX *ctx = crypto_lib_load() ? NULL : crypto.EVP_MD_CTX_new();

	if (ctx && crypto.EVP_DigestInit_ex(ctx, crypto.EVP_sha256(), NULL)) {
		crypto.EVP_DigestUpdate(ctx, store_url(m->st), strlen(store_url(m->st)) + 1);
		crypto.EVP_DigestUpdate(ctx, key, strlen(key));
		crypto.EVP_DigestFinal_ex(ctx, md, &len);
	}
	if (ctx)
		crypto.EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < 8 && i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(out, n, "%s/x-%s", stage_dir, hex);
}

int stage_create(struct mount *m, const char *key, const char *path, int exclusive,
		 int flags, struct staged *s)
{
	struct journal_entry e = { .path = (char *)path, .url = (char *)store_url(m->st),
				   .key = (char *)key, .size = -1 };
	char base[NAME_MAX_];
	int fd, rc;

	if (!stage_dir[0])
		return -EROFS;
	s->lock_fd = s->own_fd = -1;
	if (exclusive)
		claim_name(m, key, base, sizeof(base));
	else
		fresh_name(base, sizeof(base));
	snprintf(s->data, sizeof(s->data), "%s", base);
	snprintf(s->journal, sizeof(s->journal), "%s.json", base);
	/* the entry first, created exclusively: it is also the claim */
	s->lock_fd = REAL(open)(s->journal, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				0600);
	if (s->lock_fd < 0)
		return errno == EEXIST && exclusive ? -EEXIST : -errno;
	rc = journal_write(s->journal, &e);
	if (rc == 0) {
		/* journal_write replaced the file: lock the entry as it is now */
		REAL(close)(s->lock_fd);
		s->lock_fd = REAL(open)(s->journal, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		rc = s->lock_fd < 0 ? -errno : journal_lock(s->lock_fd, F_RDLCK);
		if (exclusive)
			hold_entry(s->lock_fd);	/* a fresh name says whose it is; a claim's does not */
		sharedgen_entries_bump();	/* the entry is whole and held: others may look */
	}
	fd = rc ? -1 : REAL(open)(s->data, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
				  (flags & O_CLOEXEC), 0600);
	if (rc == 0 && fd < 0)
		rc = -errno;
	if (rc == 0 && (s->own_fd = fd_private_dup(fd)) < 0)
		rc = s->own_fd;
	if (rc) {
		if (fd >= 0)
			REAL(close)(fd);
		stage_discard(s);
		return rc;
	}
	return fd;
}

int stage_release(struct staged *s)
{
	int last;

	journal_lock(s->lock_fd, F_UNLCK);
	last = journal_lock(s->lock_fd, F_WRLCK) == 0;
	if (!last) {
		REAL(close)(s->lock_fd);
		s->lock_fd = -1;
	}
	return last;
}

void stage_discard(struct staged *s)
{
	REAL(unlink)(s->data);
	REAL(unlink)(s->journal);
	if (s->lock_fd >= 0)
		REAL(close)(s->lock_fd);
	if (s->own_fd >= 0)
		REAL(close)(s->own_fd);
	s->lock_fd = s->own_fd = -1;
}

int stage_alone(const struct staged *s)
{
	return journal_held_elsewhere(s->lock_fd) == 0;
}

int stage_names(const char *path)
{
	size_t n = strlen(stage_dir);

	return strncmp(path, stage_dir, n) == 0 && path[n] == '/' && path[n + 1] &&
	       !strchr(path + n + 1, '/');
}

int stage_adopt(int fd, const char *data, int hold_it, struct staged *s)
{
	struct stat a, b;

	s->lock_fd = s->own_fd = -1;
	if (strncmp(data, stage_dir, strlen(stage_dir)) != 0 ||
	    snprintf(s->data, sizeof(s->data), "%s", data) >= (int)sizeof(s->data))
		return -EINVAL;
	snprintf(s->journal, sizeof(s->journal), "%s.json", data);
	if (REAL(fstat)(fd, &a) != 0 || REAL(stat)(data, &b) != 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return -EINVAL;
	if (!hold_it)
		return (s->own_fd = fd_private_dup(fd)) < 0 ? -EINVAL : 0;
	s->lock_fd = REAL(open)(s->journal, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	hold_entry(s->lock_fd);
	if (s->lock_fd < 0 || journal_lock(s->lock_fd, F_RDLCK) != 0 ||
	    (s->own_fd = fd_private_dup(fd)) < 0) {
		if (s->lock_fd >= 0)
			REAL(close)(s->lock_fd);
		return -EINVAL;
	}
	return 0;
}

void stage_rehold(struct staged *s)
{
	if (s->lock_fd >= 0) {
		journal_lock(s->lock_fd, F_RDLCK);
		hold_entry(s->lock_fd);		/* its name says it is the parent's */
	}
}

/*
 * An exclusive create's file is named for its key (claim_name), which keeps
 * other O_EXCL creates of that key out while it is staged.  Once it has
 * another name, or none, that key is free again: the bytes and the entry
 * move to a fresh name (descriptors and the entry's lock go with the
 * files).  Left there, `open(x, O_CREAT|O_EXCL)` failed with EEXIST after
 * x was renamed away or unlinked while still open.
 */
static void free_claim(struct staged *s, const char *path)
{
	const char *name = strrchr(s->data, '/');
	char base[NAME_MAX_], data[PATH_MAX], journal[PATH_MAX];

	if (!name || strncmp(name + 1, "x-", 2) != 0)
		return;
	fresh_name(base, sizeof(base));
	snprintf(data, sizeof(data), "%s", base);
	snprintf(journal, sizeof(journal), "%s.json", base);
	if (REAL(rename)(s->data, data) != 0) {
		log_warn("%s: its staged file keeps its old name (%s)", path, strerror(errno));
		return;
	}
	if (REAL(rename)(s->journal, journal) != 0) {
		log_warn("%s: its staged file keeps its old name (%s)", path, strerror(errno));
		REAL(rename)(data, s->data);
		return;
	}
	memcpy(s->data, data, sizeof(data));
	memcpy(s->journal, journal, sizeof(journal));
}

void stage_renamed(const struct mount *m, struct staged *s, const char *key, const char *path)
{
	struct journal_entry e = { .path = (char *)path, .url = (char *)store_url(m->st),
				   .key = (char *)(key ? key : ""), .size = -1, .unlinked = !key };
	int rc;

	free_claim(s, path);
	rc = s->lock_fd < 0 ? 0 : journal_rewrite(s->lock_fd, &e);

	if (rc)
		log_warn("%s: its staging entry keeps the old name (%s)", path, strerror(-rc));
	sharedgen_entries_bump();	/* other processes read the entries again (stage_peers.c) */
}
