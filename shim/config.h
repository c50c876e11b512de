/* SPDX-License-Identifier: MIT */
/*
 * config.h - the shim's configuration: which path prefixes are served from
 * which stores, and the engine-wide settings.
 *
 * Sources, later overriding earlier: built-in defaults, the JSON file named
 * by CLOUDSHIM_CONFIG, the list in CLOUDSHIM_MOUNTS (added to the file's
 * mounts), then single CLOUDSHIM_* variables.  Every function returns 0 or a
 * negative errno; on failure it writes one line into err naming the source,
 * the field and the values allowed, and leaves the conf as it found it.
 */
#ifndef CLOUDSHIM_SHIM_CONFIG_H
#define CLOUDSHIM_SHIM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "backend/conf.h"

/* Bits of mount_conf.set: store fields the mount's own source gave. */
#define MOUNT_SET_ENDPOINT	(1u << 0)
#define MOUNT_SET_REGION	(1u << 1)
#define MOUNT_SET_ADDRESSING	(1u << 2)
#define MOUNT_SET_READ_ONLY	(1u << 3)
#define MOUNT_SET_CREDENTIALS	(1u << 4)
#define MOUNT_SET_CHECKSUM	(1u << 5)

struct mount_conf {
	char *path;		/* absolute; no trailing '/', '.', '..', '//' */
	struct store_conf store;
	unsigned set;		/* MOUNT_SET_*; others take CLOUDSHIM_* */
};

/* engine.readahead_max that no file or variable set (no size is this large) */
#define CFG_READAHEAD_UNSET SIZE_MAX

struct shim_conf {
	struct mount_conf *mounts;
	size_t nmounts;
	struct engine_conf engine;
};

/*
 * Empty mount list, engine_conf_defaults(), except read-ahead: unset
 * (CFG_READAHEAD_UNSET) until config_check() settles it against the cache.
 */
void config_init(struct shim_conf *c);

/*
 * Everything from the environment, in order, then config_check().  Starts
 * from config_init(); on failure *out is left empty (config_free'd).
 */
int config_load(struct shim_conf *out, char *err, size_t errlen);

/* "/data=s3://bucket/prefix;/web=https://host/dir": adds the mounts. */
int config_parse_mounts(struct shim_conf *c, const char *spec,
			char *err, size_t errlen);

/*
 * One "PATH=URL" of the wrapper's --mount option, checked and added: its
 * messages name --mount and the option's text, not the CLOUDSHIM_MOUNTS
 * list the wrapper passes it on in.
 */
int config_parse_mount_option(struct shim_conf *c, const char *spec,
			      char *err, size_t errlen);

/*
 * A CLOUDSHIM_CONFIG document: adds its mounts, sets its global settings.
 * origin names it in messages ("CLOUDSHIM_CONFIG /etc/cloudshim.json").
 */
int config_parse_json(struct shim_conf *c, const char *json_text,
		      const char *origin, char *err, size_t errlen);

/*
 * CLOUDSHIM_CACHE_MB...CLOUDSHIM_LOG_LEVEL, then the per-mount defaults for
 * mounts that did not set them: CLOUDSHIM_READ_ONLY for every mount,
 * CLOUDSHIM_ENDPOINT and CLOUDSHIM_CREDENTIALS for s3/az/gs mounts,
 * CLOUDSHIM_REGION and CLOUDSHIM_ADDRESSING for s3 mounts only.
 */
int config_apply_env(struct shim_conf *c, char *err, size_t errlen);

/*
 * Settles and checks what spans settings: read-ahead is at most half the
 * cache.  Read-ahead nobody set becomes the default, or half the cache
 * where that is less; one that was set and is too large is an error.
 */
int config_check(struct shim_conf *c, char *err, size_t errlen);

void config_free(struct shim_conf *c);

#endif
