/* SPDX-License-Identifier: MIT */
/*
 * mount.c - set-up of the mounts and the path test every path-taking
 * wrapper runs.
 *
 * The test is the hot path for every program's file access outside the
 * mounts, so it rejects most paths on their first component alone: a path
 * is looked at closely only if that component is one a mount path has, if
 * it may climb with "..", or if the current directory is inside a mount or
 * above one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend/engine.h"
#include "backend/log.h"
#include "shim/config.h"
#include "shim/exec_env.h"
#include "shim/guard.h"
#include "shim/mount.h"
#include "shim/path.h"
#include "shim/real.h"
#include "shim/stage.h"
#include "shim/stage_peers.h"
#include "shim/staged.h"
#include "shim/vfile.h"
#include "shim/wrap.h"

#define MAX_COMPONENTS 64

static struct shim_conf conf;
static struct mount *mounts;
static size_t nmounts;
static atomic_int active;

/* every component of every mount path, for the quick rejection */
static struct {
	const char *s;
	size_t len;
} comps[MAX_COMPONENTS];
static size_t ncomps;
static unsigned char first_bytes[256];	/* the first bytes of comps, '/' and '.' */
/* no mount's path is on the local disk: see mount_local_first */
static atomic_int local_first;

static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;
static char cwd[PATH_MAX] = "/";
static atomic_int cwd_virtual;		/* cwd is a mounted directory */
static atomic_int cwd_near_mount;	/* cwd inside a mount, or above one */

int mounts_active(void)
{
	return atomic_load_explicit(&active, memory_order_acquire);
}

static void guard_worker_thread(void)
{
	guard_enter();	/* for the thread's whole life */
	shim_worker = 1;
}

static void add_components(const char *path)
{
	/* paths that start so are looked at closely whatever the mounts */
	first_bytes['/'] = first_bytes['.'] = 1;
	for (const char *p = path; *p;) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len && ncomps < MAX_COMPONENTS) {
			comps[ncomps].s = p;
			comps[ncomps++].len = len;
			first_bytes[(unsigned char)p[0]] = 1;
		}
		p += len;
	}
}

static void setup_mount(struct mount *m, const struct mount_conf *mc, size_t index)
{
	char err[512];
	int rc;

	m->path = mc->path;
	m->len = strlen(mc->path);
	m->read_only = mc->store.read_only;
	m->dev = makedev(0xc5, (unsigned)index + 1);
	rc = store_open(&mc->store, &conf.engine, &m->st, err, sizeof(err));
	if (rc) {
		m->st = NULL;
		log_error("mount %s: %s; its paths fail with EIO", mc->path, err);
	}
	add_components(mc->path);
}

/*
 * A parent whose current directory was a mounted one passes it on in
 * CLOUDSHIM_CWD (see wrap_exec.c); its kernel directory was then "/".
 * The variable is consumed, so it never outlives the directory.
 */
static void inherit_cwd(void)
{
	const char *v = getenv(CWD_ENV);
	char buf[PATH_MAX];
	const char *key;

	if (v && strcmp(cwd, "/") == 0 && v[0] == '/' && mount_resolve(AT_FDCWD, v, 1, buf, &key))
		mount_set_cwd(buf);
	if (v)
		unsetenv(CWD_ENV);
}

/*
 * Whether something, or maybe something, is at path on the local disk: an
 * answer other than "no such file".
 */
static int on_local_disk(const char *path)
{
	struct stat sb;

	return REAL(lstat)(path, &sb) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

/*
 * fork while other threads work: a lock one of them held at that moment
 * would stay locked in the child for good.  So the locks are taken before
 * fork and let go after, in both processes: the written-files list first
 * (it is held around the engine's locks), then the short ones that are
 * held around nothing, then the engine's, then what other processes
 * staged (stage_peers.c, held around journal reads).  A vfile's locks are held
 * around requests, too long to wait for: the child makes them anew.
 */
static void fork_prepare(void)
{
	staged_fork_lock();
	pthread_mutex_lock(&cwd_lock);
	vfile_fork_lock();
	dirs_fork_lock();
	spawn_actions_fork_lock();
	streams_fork_lock();
	engine_fork_prepare();
	peers_fork_lock();	/* last: held around the staged-entries lock only */
}

static void unlock_after_fork(void)
{
	streams_fork_unlock();
	spawn_actions_fork_unlock();
	dirs_fork_unlock();
	vfile_fork_unlock();
	pthread_mutex_unlock(&cwd_lock);
}

static void fork_parent(void)
{
	peers_fork_unlock();	/* first: the engine's handlers take its locks again */
	engine_fork_parent();
	unlock_after_fork();
	staged_fork_unlock();
}

static void fork_child(void)
{
	peers_fork_unlock();
	engine_fork_child();
	unlock_after_fork();
	vfile_fork_child();
	staged_fork_child();
	staged_fork_unlock();
}

static void init_once(void)
{
	char err[512];
	int log_fd, first;

	guard_enter();
	/* our lines go where stderr was at start, even once the program closed it */
	if ((log_fd = fd_private_dup(STDERR_FILENO)) >= 0)
		log_set_fd(log_fd);
	if (config_load(&conf, err, sizeof(err)) != 0) {
		log_error("%s; no path is mounted", err);
		guard_leave();
		return;
	}
	exec_env_capture();
	engine_configure(&conf.engine);
	engine_set_thread_hook(guard_worker_thread);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	mounts = calloc(conf.nmounts ? conf.nmounts : 1, sizeof(*mounts));
	if (mounts) {
		for (size_t i = 0; i < conf.nmounts; i++)
			setup_mount(&mounts[i], &conf.mounts[i], i);
		nmounts = conf.nmounts;
	}
	staged_setup(engine_staging_dir(&conf.engine), conf.engine.sync_close);
	on_exit(staged_exit, NULL);
	first = nmounts > 0;
	for (size_t i = 0; i < nmounts; i++)
		first = first && !on_local_disk(mounts[i].path);
	guard_leave();
	mount_cwd_changed();
	atomic_store_explicit(&active, nmounts > 0, memory_order_release);
	atomic_store(&local_first, first);	/* after active: it implies it */
	inherit_cwd();
	staged_adopt();
	pending_adopt();
}

void shim_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, init_once);
}

__attribute__((constructor)) static void shim_constructor(void)
{
	shim_init();
}

int mount_index(const struct mount *m)
{
	return (int)(m - mounts);
}

struct mount *mount_at(int index)
{
	return index >= 0 && (size_t)index < nmounts ? &mounts[index] : NULL;
}

void mount_cwd_changed(void)
{
	char buf[PATH_MAX];
	int near = 0;

	if (nmounts == 0)
		return;
	if (!REAL(getcwd)(buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "/");
	for (size_t i = 0; i < nmounts; i++) {
		size_t n = strlen(buf);

		/* inside: /data/x under /data; above: / or /mnt above /mnt/data */
		if (path_under(buf, mounts[i].path, mounts[i].len) ||
		    (n == 1) || (n < mounts[i].len && path_under(mounts[i].path, buf, n)))
			near = 1;
	}
	pthread_mutex_lock(&cwd_lock);
	memcpy(cwd, buf, strlen(buf) + 1);
	atomic_store(&cwd_virtual, 0);
	pthread_mutex_unlock(&cwd_lock);
	atomic_store(&cwd_near_mount, near);
}

void mount_set_cwd(const char *path)
{
	pthread_mutex_lock(&cwd_lock);
	snprintf(cwd, sizeof(cwd), "%s", path);
	atomic_store(&cwd_virtual, 1);
	pthread_mutex_unlock(&cwd_lock);
	atomic_store(&cwd_near_mount, 1);
}

int mount_virtual_cwd(char *out, size_t n)
{
	int virt;

	if (!atomic_load_explicit(&cwd_virtual, memory_order_relaxed))
		return 0;	/* getcwd outside mounts: no lock */
	pthread_mutex_lock(&cwd_lock);
	virt = atomic_load(&cwd_virtual);
	if (virt)
		snprintf(out, n, "%s", cwd);
	pthread_mutex_unlock(&cwd_lock);
	return virt;
}

/* The first component of absolute path p is one of a mount path's components. */
static int first_component_matches(const char *p)
{
	while (*p == '/')
		p++;
	if (p[0] == '.' && (p[1] == '/' || p[1] == '\0' || (p[1] == '.' && (p[2] == '/' || !p[2]))))
		return 1;	/* "." or ".." may lead anywhere */
	if (!first_bytes[(unsigned char)p[0]])
		return 0;	/* most paths: no mount's component starts so */
	for (size_t i = 0; i < ncomps; i++) {
		const char *c = comps[i].s, *q = p;
		size_t n = comps[i].len;

		/* by hand: most paths differ at their first byte */
		while (n && *q == *c) {
			q++;
			c++;
			n--;
		}
		if (!n && (*q == '/' || *q == '\0'))
			return 1;
	}
	return 0;
}

/* The first ".." component of path at or after from, or NULL. */
static const char *next_climb(const char *path, const char *from)
{
	for (const char *d = strstr(from, ".."); d; d = strstr(d + 1, ".."))
		if ((d == path || d[-1] == '/') && (d[2] == '/' || !d[2]))
			return d;
	return NULL;
}

int mount_path_climbs(const char *path)
{
	return next_climb(path, path) != NULL;
}

/* Whether any descriptor is mounted now: if not, no link can be one's. */
static inline int fd_links_possible(void)
{
	return atomic_load_explicit(&fdtab_used, memory_order_relaxed) > 0;
}

/* s after prefix, if s starts with it; else NULL. */
static inline const char *after(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return NULL;
	return s;
}

/* The number at s ("N" or "N/..."), or -1; *end just after it. */
static int fd_number(const char *s, const char **end)
{
	int n = 0;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9' && n < INT_MAX / 10)
		n = n * 10 + (*s++ - '0');
	if (*s && *s != '/')
		return -1;
	*end = s;
	return n;
}

/*
 * The descriptor whose link path goes through (/proc/self/fd/N, the same
 * under /proc/thread-self and /proc/PID of this process, /dev/fd/N,
 * /dev/stdin, /dev/stdout, /dev/stderr), with *rest what follows the
 * link; or -1.
 */
static int fd_link(const char *path, const char **rest)
{
	const char *p, *q;
	int n;

	if ((p = after(path, "/dev/"))) {
		if ((q = after(p, "fd/")))
			return fd_number(q, rest);
		if (!(p = after(p, "std")))
			return -1;
		n = after(p, "in") ? 0 : after(p, "out") ? 1 : after(p, "err") ? 2 : -1;
		p += n == 0 ? 2 : 3;
		if (n < 0 || (*p && *p != '/'))
			return -1;
		*rest = p;
		return n;
	}
	if (!(p = after(path, "/proc/")))
		return -1;
	if ((q = after(p, "self/")) || (q = after(p, "thread-self/"))) {
		p = q;
	} else {
		n = fd_number(p, &p);	/* a process id: this one's only */
		if (n < 0 || n != getpid() || !*p++)
			return -1;
	}
	return (p = after(p, "fd/")) ? fd_number(p, rest) : -1;
}

/*
 * What a path through a mounted descriptor's link names, in out (PATH_MAX
 * bytes), with in *whole whether path is the link itself.  The kernel
 * would follow the link to the descriptor's placeholder memfd, whose
 * bytes are not the object's.  1 if so, else 0.
 */
static int through_fd_link(const char *path, char *out, int *whole)
{
	const char *rest;
	int fd, n;
	struct vfile *vf;

	fd = fd_link(path, &rest);
	if (fd < 0 || !(vf = vfile_get(fd)))
		return 0;
	n = snprintf(out, PATH_MAX, "%s/%s%s", vf->mnt->path, vf->key, rest);
	*whole = !*rest;
	guard_enter();
	vfile_put(vf);
	guard_leave();
	return n > 0 && n < PATH_MAX;
}

/* Whether path may be a descriptor's link at all: the cheap tests first. */
static int may_be_fd_link(const char *path)
{
	return mounts_active() && path && fd_links_possible();
}

int mount_fd_link(const char *path, char *out)
{
	int whole;

	return may_be_fd_link(path) && through_fd_link(path, out, &whole) && whole;
}

int mount_fd_link_fd(const char *path)
{
	const char *rest;
	int fd;

	if (!may_be_fd_link(path) || (fd = fd_link(path, &rest)) < 0 || *rest || !fdtab_has(fd))
		return -1;
	return fd;
}

int mount_local_first(int dirfd, const char *path, int creates)
{
	const char *rest;

	if (!atomic_load_explicit(&local_first, memory_order_relaxed) || !path)
		return 0;
	if (creates && mount_path_climbs(path))
		return 0;
	if (path[0] != '/')
		return dirfd == AT_FDCWD && !atomic_load_explicit(&cwd_near_mount, memory_order_relaxed);
	/* most paths: a first byte no mount component has, nor '/' or '.' */
	if (first_bytes[(unsigned char)path[1]] && first_component_matches(path))
		return 0;
	return !(fd_links_possible() && fd_link(path, &rest) >= 0);
}

/* The directory dirfd names, for a path relative to it. */
static int dirfd_path(int dirfd, char *out, size_t n)
{
	char link[64];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	guard_enter();
	len = readlink(link, out, n - 1);
	guard_leave();
	if (len <= 0 || out[0] != '/')
		return -1;
	out[len] = '\0';
	return 0;
}

/* The mount the normalised path norm is under, with *key; or NULL. */
static struct mount *mount_of(const char *norm, const char **key)
{
	for (size_t i = 0; i < nmounts; i++) {
		const char *rest = path_under(norm, mounts[i].path, mounts[i].len);

		if (rest) {
			*key = rest;
			return &mounts[i];
		}
	}
	return NULL;
}

/*
 * Whether path, taken against base, climbs out of a mount with "..".  The
 * kernel cannot walk such a path (a mount's directories are not on the
 * local disk), so it must be given the path resolved by text.
 */
static int climbs_out(const char *base, const char *path)
{
	char prefix[PATH_MAX], norm[PATH_MAX];
	const char *key;

	for (const char *d = next_climb(path, path); d; d = next_climb(path, d + 2)) {
		size_t len = (size_t)(d - path);

		if (len >= sizeof(prefix))
			break;
		memcpy(prefix, path, len);
		prefix[len] = '\0';
		if (path_normalize(base, prefix, norm, sizeof(norm)) == 0 && mount_of(norm, &key))
			return 1;
	}
	return 0;
}

struct mount *mount_resolve(int dirfd, const char *path, int follow, char *buf, const char **key)
{
	char base[PATH_MAX];
	const char *from = "/", *text = path;
	struct mount *m;
	int rc;

	buf[0] = '\0';
	if (!mounts_active() || !path)
		return NULL;
	if (path[0] == '/') {
		int whole;

		if (first_component_matches(path) || mount_path_climbs(path))
			;	/* the path itself */
		else if (fd_links_possible() && through_fd_link(path, base, &whole) &&
			 (follow || !whole))
			text = base;
		else
			return NULL;
	} else if (dirfd == AT_FDCWD) {
		if (!atomic_load(&cwd_near_mount) && !mount_path_climbs(path))
			return NULL;
		pthread_mutex_lock(&cwd_lock);
		memcpy(base, cwd, strlen(cwd) + 1);
		pthread_mutex_unlock(&cwd_lock);
		from = base;
	} else if (vfile_dir_path(dirfd, base)) {
		from = base;
	} else {
		if (!first_component_matches(path) && !strstr(path, ".."))
			return NULL;
		if (dirfd_path(dirfd, base, sizeof(base)) != 0)
			return NULL;
		from = base;
	}
	rc = path_normalize(from, text, buf, PATH_MAX);
	if (rc == 0 && (m = mount_of(buf, key)))
		return m;
	if (rc || !climbs_out(from, text))
		buf[0] = '\0';
	return NULL;
}
