/* SPDX-License-Identifier: MIT */
/*
 * wrap_cwd.c - the current directory: chdir, fchdir, getcwd and
 * get_current_dir_name, inside mounts too.
 *
 * The kernel cannot enter a directory that exists only in a store, so a
 * mounted current directory is the shim's own: relative paths resolve
 * against it, getcwd reports it, and the kernel's current directory is
 * "/" meanwhile.  A local chdir ends it.  Knowing the directory here also
 * spares relative-path tests a getcwd(2) per call.
 */
#include <stdlib.h>
#include <string.h>

#include "shim/wrap.h"

extern void __chk_fail(void) __attribute__((noreturn));

/* Enters the mounted directory path (normalised) if it is one. */
static int enter(struct mount *m, const char *key, const char *path)
{
	struct store_meta meta;
	int rc;

	if (!m->st)
		return -EIO;
	guard_enter();
	rc = obj_stat(m->st, key, &meta);
	guard_leave();
	if (rc)
		return rc;
	if (meta.kind != STORE_DIR)
		return -ENOTDIR;
	if (REAL(chdir)("/") != 0)
		return -errno;
	mount_set_cwd(path);
	return 0;
}

EXPORT int chdir(const char *path)
{
	char buf[PATH_MAX];
	const char *key;
	struct mount *m = route_following(AT_FDCWD, path, buf, &key);
	int rc;

	if (m)
		return (int)ret_or_fail(enter(m, key, buf));
	rc = REAL(chdir)(buf[0] ? buf : path);	/* buf: out of a mount by ".." */
	if (rc == 0)
		mount_cwd_changed();
	return rc;
}

EXPORT int fchdir(int fd)
{
	struct vfile *vf = vfile_get(fd);
	char buf[PATH_MAX];
	int rc;

	if (vf) {
		vfile_path(vf, buf);
		rc = vf->kind == VFILE_DIR ? enter(vf->mnt, vf->key, buf) : -ENOTDIR;
		guard_enter();
		vfile_put(vf);
		guard_leave();
		return (int)ret_or_fail(rc);
	}
	rc = REAL(fchdir)(fd);
	if (rc == 0)
		mount_cwd_changed();
	return rc;
}

/* getcwd(3) for a mounted current directory, allocating as glibc does. */
static char *virtual_getcwd(const char *dir, char *buf, size_t size)
{
	size_t need = strlen(dir) + 1;

	if (buf && size == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (size && size < need) {
		errno = ERANGE;
		return NULL;
	}
	if (!buf && !(buf = malloc(size ? size : need)))
		return NULL;
	memcpy(buf, dir, need);
	return buf;
}

EXPORT char *getcwd(char *buf, size_t size)
{
	char dir[PATH_MAX];

	if (guard_busy() || !mount_virtual_cwd(dir, sizeof(dir)))
		return REAL(getcwd)(buf, size);
	return virtual_getcwd(dir, buf, size);
}

EXPORT char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	if (size > buflen)
		__chk_fail();
	return getcwd(buf, size);
}

EXPORT char *get_current_dir_name(void)
{
	char dir[PATH_MAX];

	if (guard_busy() || !mount_virtual_cwd(dir, sizeof(dir)))
		return REAL(get_current_dir_name)();
	return strdup(dir);
}
