/* SPDX-License-Identifier: MIT */
/*
 * exec_env.c - the environment and descriptors a new program inherits.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/log.h"
#include "shim/exec_env.h"
#include "shim/staged.h"
#include "shim/wrap.h"

extern char **environ;

/* Larger objects are not copied into a descriptor a new program inherits. */
#define FILL_MAX ((off_t)4 << 30)

static char **kept;		/* "NAME=value" the process started with */
static size_t nkept;
static const char *self_path;	/* this library, as the loader found it */

/* What this process tells a new program of itself, made afresh at each exec. */
static int is_per_exec(const char *entry)
{
	return strncmp(entry, CWD_ENV "=", sizeof(CWD_ENV)) == 0 ||
	       strncmp(entry, STAGED_ENV "=", sizeof(STAGED_ENV)) == 0 ||
	       strncmp(entry, PENDING_ENV "=", sizeof(PENDING_ENV)) == 0;
}

static int is_kept_name(const char *entry)
{
	return (strncmp(entry, "CLOUDSHIM_", 10) == 0 && !is_per_exec(entry)) ||
	       strncmp(entry, "AWS_", 4) == 0 || strncmp(entry, "LD_PRELOAD=", 11) == 0;
}

void exec_env_capture(void)
{
	Dl_info info;
	size_t n = 0;

	if (dladdr((void *)exec_env_capture, &info) && info.dli_fname)
		self_path = strdup(info.dli_fname);
	for (char **e = environ; e && *e; e++)
		n += is_kept_name(*e);
	kept = calloc(n + 1, sizeof(*kept));
	if (!kept)
		return;
	for (char **e = environ; e && *e; e++)
		if (is_kept_name(*e) && (kept[nkept] = strdup(*e)))
			nkept++;
}

static size_t name_len(const char *entry)
{
	return strcspn(entry, "=");
}

static const char *find(char *const envp[], const char *entry)
{
	size_t len = name_len(entry);

	for (char *const *e = envp; e && *e; e++)
		if (strncmp(*e, entry, len) == 0 && (*e)[len] == '=')
			return *e;
	return NULL;
}

/* LD_PRELOAD for the new program, or NULL when envp's is right as it is. */
static char *preload_entry(char *const envp[])
{
	const char *cur = find(envp, "LD_PRELOAD="), *mine = NULL;
	char *out = NULL;

	for (size_t i = 0; i < nkept; i++)
		if (strncmp(kept[i], "LD_PRELOAD=", 11) == 0)
			mine = kept[i];
	if (!self_path || (cur && strstr(cur, self_path)))
		return NULL;
	if (!cur)
		return mine && strstr(mine, self_path) ? strdup(mine) : NULL;
	return asprintf(&out, "%s %s", cur, self_path) < 0 ? NULL : out;
}

static char *cwd_entry(void)
{
	char dir[PATH_MAX], *out = NULL;

	if (!mount_virtual_cwd(dir, sizeof(dir)))
		return NULL;
	return asprintf(&out, CWD_ENV "=%s", dir) < 0 ? NULL : out;
}

/*
 * One block: the pointer array, then copies of the two entries made here,
 * so a single free() releases everything.
 */
char **exec_env_build(char *const envp[])
{
	char *add[] = { preload_entry(envp), cwd_entry(), staged_env_entry(), pending_env_entry() };
	const size_t nadd = sizeof(add) / sizeof(add[0]);
	char **out, *tail;
	size_t n = 0, extra = 0, i = 0;

	for (char *const *e = envp; e && *e; e++)
		n++;
	for (size_t a = 0; a < nadd; a++)
		extra += add[a] ? strlen(add[a]) + 1 : 0;
	out = malloc((n + nkept + nadd + 1) * sizeof(*out) + extra);
	if (!out) {
		for (size_t a = 0; a < nadd; a++)
			free(add[a]);
		return NULL;
	}
	tail = (char *)(out + n + nkept + nadd + 1);
	for (char *const *e = envp; e && *e; e++) {
		if (is_per_exec(*e) || (add[0] && strncmp(*e, "LD_PRELOAD=", 11) == 0))
			continue;
		out[i++] = *e;
	}
	for (size_t k = 0; k < nkept; k++)
		if (!find(envp, kept[k]) && strncmp(kept[k], "LD_PRELOAD=", 11) != 0)
			out[i++] = kept[k];
	for (char **a = add; a < add + nadd; a++) {
		if (!*a)
			continue;
		out[i++] = strcpy(tail, *a);
		tail += strlen(*a) + 1;
		free(*a);
	}
	out[i] = NULL;
	return out;
}

/* Sets NAME from entry "NAME=value", or unsets it when entry is NULL. */
static void set_entry(const char *name, const char *entry)
{
	if (entry)
		setenv(name, entry + strlen(name) + 1, 1);
	else
		unsetenv(name);
}

void exec_env_fix_environ(void)
{
	char *preload = preload_entry(environ), *cwd = cwd_entry(), *staged = staged_env_entry();
	char *pending = pending_env_entry();

	for (size_t k = 0; k < nkept; k++) {
		size_t len = name_len(kept[k]);
		char name[256];

		if (len >= sizeof(name) || find(environ, kept[k]) ||
		    strncmp(kept[k], "LD_PRELOAD=", 11) == 0)
			continue;
		memcpy(name, kept[k], len);
		name[len] = '\0';
		setenv(name, kept[k] + len + 1, 1);
	}
	if (preload)
		setenv("LD_PRELOAD", preload + 11, 1);
	set_entry(CWD_ENV, cwd);
	set_entry(STAGED_ENV, staged);
	set_entry(PENDING_ENV, pending);
	free(preload);
	free(cwd);
	free(staged);
	free(pending);
}

void exec_fill_fd(int fd)
{
	struct vfile *vf = vfile_get(fd);
	char path[PATH_MAX];
	int rc = 0;

	if (!vf)
		return;
	guard_enter();
	if (vf->kind == VFILE_REG && vf->meta.size > FILL_MAX) {
		vfile_path(vf, path);
		log_warn("%s: larger than %lld bytes, so a new program inheriting descriptor %d "
			 "reads it as empty", path, (long long)FILL_MAX, fd);
	} else if (vf->kind == VFILE_REG) {
		rc = vfile_fill(vf, fd, 0, vf->meta.size);	/* the offset is the fd's own */
		if (rc) {
			vfile_path(vf, path);
			log_warn("%s: could not be copied for a new program inheriting descriptor %d: %s",
				 path, fd, strerror(-rc));
		}
	}
	vfile_put(vf);
	guard_leave();
}

void exec_fill_inherited(void)
{
	int high = fdtab_high();

	for (int fd = 0; fd <= high; fd++) {
		int flags;

		if (!fdtab_has(fd))
			continue;
		flags = REAL(fcntl)(fd, F_GETFD);
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			exec_fill_fd(fd);
	}
}
