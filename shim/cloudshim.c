/* SPDX-License-Identifier: MIT */
/*
 * cloudshim.c - the wrapper command.
 *
 *   cloudshim run [--mount PATH=URL]... [--config FILE] -- COMMAND [ARG]...
 *   cloudshim check [--mount PATH=URL]... [--config FILE]
 *   cloudshim sync  [--mount PATH=URL]... [--config FILE]
 *
 * run checks the configuration first (so a mistake is reported before the
 * program starts, not as a program that sees no mounts), then executes
 * COMMAND with LD_PRELOAD naming libcloudshim.so beside this executable
 * and the mounts passed on in CLOUDSHIM_MOUNTS / CLOUDSHIM_CONFIG.  sync
 * uploads again what failed to upload (the recovery directory's journal),
 * with the mounts configured as when it was written.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/engine.h"
#include "backend/recover.h"
#include "backend/upload.h"
#include "shim/config.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: cloudshim run [--mount PATH=URL]... [--config FILE] -- COMMAND [ARG]...\n"
		   "       cloudshim check [--mount PATH=URL]... [--config FILE]\n"
		   "       cloudshim sync [--mount PATH=URL]... [--config FILE]\n");
}

/*
 * Checks one PATH=URL and appends it to CLOUDSHIM_MOUNTS: checked here, a
 * mistake is reported as the --mount the user wrote, not as an entry of
 * a list the user never set.  0, 2 for a bad one (said), 1 without memory.
 */
static int add_mount(const char *spec)
{
	const char *cur = getenv("CLOUDSHIM_MOUNTS");
	struct shim_conf one;
	char *all = NULL, err[512];
	int rc;

	config_init(&one);
	rc = config_parse_mount_option(&one, spec, err, sizeof(err));
	config_free(&one);
	if (rc == -ENOMEM)
		return 1;
	if (rc) {
		fprintf(stderr, "cloudshim: %s\n", err);
		return 2;
	}
	if (cur && *cur)
		rc = asprintf(&all, "%s;%s", cur, spec);
	else
		rc = asprintf(&all, "%s", spec);
	if (rc < 0)
		return -1;
	rc = setenv("CLOUDSHIM_MOUNTS", all, 1);
	free(all);
	return rc ? 1 : 0;
}

/* Prepends the library to LD_PRELOAD (keeping what was there). */
static int set_preload(void)
{
	char self[PATH_MAX], *lib = NULL, *all = NULL;
	const char *cur = getenv("LD_PRELOAD");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int rc;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	if (asprintf(&lib, "%s/libcloudshim.so", dirname(self)) < 0)
		return -1;
	if (access(lib, R_OK) != 0) {
		fprintf(stderr, "cloudshim: %s: %s\n", lib, strerror(errno));
		free(lib);
		return -1;
	}
	if (cur && *cur && !strstr(cur, lib))
		rc = asprintf(&all, "%s:%s", lib, cur);
	else
		rc = asprintf(&all, "%s", lib);
	free(lib);
	if (rc < 0)
		return -1;
	rc = setenv("LD_PRELOAD", all, 1);
	free(all);
	return rc;
}

/*
 * Sends the recovery directory's entries, then the files programs killed
 * before sending them left in the staging directory; 0 when nothing is
 * left failing.
 */
static int sync_recovery(struct shim_conf *conf)
{
	struct store **stores = calloc(conf->nmounts + 1, sizeof(*stores));
	struct recover_result r, o;
	const char *dir, *staging;
	size_t n = 0;
	char err[512];

	if (!stores)
		return 1;
	engine_configure(&conf->engine);
	for (size_t m = 0; m < conf->nmounts; m++) {
		if (store_open(&conf->mounts[m].store, &conf->engine, &stores[n], err,
			       sizeof(err)) == 0)
			n++;
		else
			fprintf(stderr, "cloudshim: mount %s: %s\n", conf->mounts[m].path, err);
	}
	dir = upload_recovery_dir();
	r = recover_dir(dir, stores, n, stdout);
	printf("cloudshim sync: %d sent, %d failed, %d skipped (%s)\n", r.sent, r.failed,
	       r.skipped, dir);
	/* then what killed programs left staged */
	staging = engine_staging_dir(&conf->engine);
	o = recover_orphans(staging, stores, n, stdout);
	if (o.sent + o.failed + o.skipped)
		printf("cloudshim sync: %d sent, %d failed, %d skipped of the files killed programs"
		       " left staged (%s)\n", o.sent, o.failed, o.skipped, staging);
	r.failed += o.failed;
	r.skipped += o.skipped;
	for (size_t i = 0; i < n; i++)
		store_close(stores[i]);
	free(stores);
	return r.failed || r.skipped ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct shim_conf conf;
	char err[512];
	int i, run, sync, rc;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	run = strcmp(argv[1], "run") == 0;
	sync = strcmp(argv[1], "sync") == 0;
	if (!run && !sync && strcmp(argv[1], "check") != 0) {
		usage(strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--mount") == 0 && i + 1 < argc) {
			if ((rc = add_mount(argv[++i])) != 0)
				return rc;
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			if (setenv("CLOUDSHIM_CONFIG", argv[++i], 1) != 0)
				return 1;
		} else {
			fprintf(stderr, "cloudshim: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (config_load(&conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "cloudshim: %s\n", err);
		return 2;
	}
	if (sync) {
		rc = sync_recovery(&conf);
		config_free(&conf);
		return rc;
	}
	if (!run) {
		for (size_t m = 0; m < conf.nmounts; m++)
			printf("%s -> %s\n", conf.mounts[m].path, conf.mounts[m].store.url);
		config_free(&conf);
		return 0;
	}
	config_free(&conf);
	if (i + 1 >= argc) {
		fprintf(stderr, "cloudshim: no command after --\n");
		usage(stderr);
		return 2;
	}
	if (set_preload() != 0)
		return 1;
	execvp(argv[i + 1], argv + i + 1);
	fprintf(stderr, "cloudshim: %s: %s\n", argv[i + 1], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
