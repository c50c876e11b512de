/* SPDX-License-Identifier: MIT */
/*
 * vfile.c - the descriptor table and vfile lifetimes.
 *
 * The table is one array of atomic pointers, indexed by descriptor, mapped
 * lazily (untouched pages cost nothing), so the check every fd-taking
 * wrapper makes for a descriptor outside the mounts is one load.  Taking a
 * reference goes through a mutex, which only mounted descriptors reach.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim/guard.h"
#include "shim/mutate.h"
#include "shim/staged.h"
#include "shim/vfile.h"

_Atomic(struct vfile *) *_Atomic fdtab_slots;
static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;
static atomic_int high;		/* highest descriptor ever given a vfile */
atomic_int fdtab_used;		/* descriptors mounted now */

static void tab_init(void)
{
	void *p = mmap(NULL, FDTAB_SLOTS * sizeof(*fdtab_slots), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	fdtab_slots = p == MAP_FAILED ? NULL : p;
}

int fdtab_fits(int fd)
{
	pthread_once(&tab_once, tab_init);
	return fdtab_slots && fd >= 0 && (unsigned)fd < FDTAB_SLOTS;
}

struct vfile *vfile_get_mounted(int fd)
{
	struct vfile *vf;

	pthread_mutex_lock(&tab_lock);
	vf = atomic_load(&fdtab_slots[fd]);
	if (vf)
		atomic_fetch_add(&vf->refs, 1);
	pthread_mutex_unlock(&tab_lock);
	return vf;
}

int vfile_release(struct vfile *vf)
{
	int rc = 0;

	if (!vf || atomic_fetch_sub(&vf->refs, 1) != 1)
		return 0;
	if (vf->stg)
		rc = staged_close(vf);
	if (vf->obj)
		obj_close(vf->obj);
	if (vf->dl)
		dir_close(vf->dl);
	vfile_drop_extra(vf);
	pthread_mutex_destroy(&vf->lock);
	pthread_mutex_destroy(&vf->ppf_lock);
	pthread_mutex_destroy(&vf->fill_lock);
	free(vf->filled);
	free(vf->key);
	while (vf->nold_keys)
		free(vf->old_keys[--vf->nold_keys]);
	free(vf->old_keys);
	free(vf);
	return rc;
}

void vfile_put(struct vfile *vf)
{
	vfile_release(vf);
}

struct vfile *fdtab_set(int fd, struct vfile *vf)
{
	struct vfile *old;

	if (!fdtab_fits(fd))
		return NULL;
	atomic_fetch_add(&vf->refs, 1);
	pthread_mutex_lock(&tab_lock);
	old = atomic_exchange(&fdtab_slots[fd], vf);
	if (!old)
		atomic_fetch_add(&fdtab_used, 1);
	if (fd > atomic_load(&high))
		atomic_store(&high, fd);
	pthread_mutex_unlock(&tab_lock);
	return old;
}

int fdtab_high(void)
{
	return atomic_load(&high);
}

struct vfile *fdtab_clear(int fd)
{
	struct vfile *old;

	if (!fdtab_slots || fd < 0 || (unsigned)fd >= FDTAB_SLOTS ||
	    !atomic_load_explicit(&fdtab_slots[fd], memory_order_relaxed))
		return NULL;
	pthread_mutex_lock(&tab_lock);
	old = atomic_exchange(&fdtab_slots[fd], NULL);
	if (old)
		atomic_fetch_sub(&fdtab_used, 1);
	pthread_mutex_unlock(&tab_lock);
	return old;
}

void vfile_reset_locks(struct vfile *vf)
{
	pthread_mutex_init(&vf->lock, NULL);
	pthread_mutex_init(&vf->ppf_lock, NULL);
	pthread_mutex_init(&vf->fill_lock, NULL);
}

void vfile_fork_lock(void)
{
	pthread_mutex_lock(&tab_lock);
}

void vfile_fork_unlock(void)
{
	pthread_mutex_unlock(&tab_lock);
}

/*
 * A vfile's locks are held around reads from the store, too long for
 * fork to wait for them: in the child, where the threads that held them
 * are gone, they start unlocked.  What they guard is the position and
 * read-ahead of a descriptor, or a change the parent's thread was making.
 */
void vfile_fork_child(void)
{
	for (int fd = 0; fdtab_slots && fd <= fdtab_high(); fd++) {
		struct vfile *vf = atomic_load(&fdtab_slots[fd]);

		if (vf)
			vfile_reset_locks(vf);
	}
}

int vfile_rename(struct vfile *vf, const char *key)
{
	char *copy = strdup(key), **grown;

	if (!copy)
		return -ENOMEM;
	grown = realloc(vf->old_keys, (vf->nold_keys + 1) * sizeof(*grown));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	vf->old_keys = grown;
	vf->old_keys[vf->nold_keys++] = atomic_exchange(&vf->key, copy);
	return 0;
}

struct vfile *vfile_new(enum vfile_kind kind, struct mount *mnt, const char *key, int flags)
{
	struct vfile *vf = calloc(1, sizeof(*vf));

	if (!vf || !(vf->key = strdup(key))) {
		free(vf);
		return NULL;
	}
	atomic_init(&vf->refs, 1);
	vf->kind = kind;
	vf->mnt = mnt;
	vf->flags = flags;
	vfile_reset_locks(vf);
	return vf;
}

void vfile_drop_extra(struct vfile *vf)
{
	while (vf->nextra)
		free(vf->extra[--vf->nextra]);
	free(vf->extra);
	vf->extra = NULL;
}

int vfile_list_locked(struct vfile *vf)
{
	size_t nearly = 0;
	char **early;
	int rc;

	if (vf->kind != VFILE_DIR)
		return -ENOTDIR;
	if (vf->dl || vf->extra)
		return 0;
	/* what is unsent now may land while the store lists: looked at on both sides */
	early = staged_names(vf->mnt, vf->key, NULL, NULL, 0, &nearly);
	rc = vf->mnt->st ? dir_open(vf->mnt->st, vf->key, &vf->dl) : -EIO;
	if (rc == -ENOENT && (nearly || staged_is_dir(vf->mnt, vf->key)))
		rc = 0;		/* only unsent writes below it so far: no listing */
	if (rc == 0)
		vf->extra = staged_names(vf->mnt, vf->key, vf->dl, early, nearly, &vf->nextra);
	while (nearly)
		free(early[--nearly]);
	free(early);
	return rc;
}

void vfile_path(const struct vfile *vf, char *buf)
{
	snprintf(buf, PATH_MAX, "%s%s%s", vf->mnt->path, vf->key[0] ? "/" : "", vf->key);
}

int vfile_dir_path(int fd, char *buf)
{
	struct vfile *vf = vfile_get(fd);
	int dir;

	if (!vf)
		return 0;
	dir = vf->kind == VFILE_DIR;
	vfile_path(vf, buf);
	guard_enter();
	vfile_put(vf);
	guard_leave();
	return dir;
}

/* FNV-1a: stable inode numbers, distinct per key. */
ino_t vfile_ino(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return (ino_t)(h ? h : 1);
}

void vfile_fill_stat(const struct mount *mnt, const char *key,
		     const struct store_meta *meta, struct stat *sb)
{
	mode_t w = mount_writable(mnt) ? 0200 : 0;

	memset(sb, 0, sizeof(*sb));
	sb->st_dev = mnt->dev;
	sb->st_ino = vfile_ino(key);
	sb->st_uid = getuid();
	sb->st_gid = getgid();
	sb->st_blksize = 1 << 20;	/* programs size their buffers by this */
	if (meta->kind == STORE_DIR) {
		sb->st_mode = S_IFDIR | 0555 | w;
		sb->st_nlink = 2;
		sb->st_size = 4096;
	} else {
		sb->st_mode = S_IFREG | 0444 | w;
		sb->st_nlink = 1;
		sb->st_size = meta->size;
		sb->st_blocks = (meta->size + 511) / 512;
	}
	sb->st_mtim = meta->mtime;
	sb->st_atim = meta->mtime;
	sb->st_ctim = meta->mtime;
}
