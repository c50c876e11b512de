/* SPDX-License-Identifier: MIT */
/*
 * config_int.h - helpers shared by config.c, config_json.c and
 * config_value.c; not for use outside the configuration loader.
 *
 * Each value parser takes the source (for the message), the field name
 * (NULL when the source is itself a variable such as CLOUDSHIM_CACHE_MB)
 * and the text, and returns 0 or -EINVAL with the message written.
 */
#ifndef CLOUDSHIM_SHIM_CONFIG_INT_H
#define CLOUDSHIM_SHIM_CONFIG_INT_H

#include <stddef.h>

#include "shim/config.h"

#define CFG_QUOTE_MAX 80	/* room for one quoted, shortened value */

struct cfg_src {
	const char *name;	/* "CLOUDSHIM_MOUNTS", "CLOUDSHIM_CONFIG /x" */
	char *err;
	size_t errlen;
};

/* Writes "name: field: message" and returns -EINVAL. */
int cfg_fail(const struct cfg_src *s, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* s in double quotes, control bytes as '?', cut to fit CFG_QUOTE_MAX. */
const char *cfg_quote(const char *s, char buf[CFG_QUOTE_MAX]);

/* The engine's integer settings, in JSON key order. */
enum cfg_num_id {
	CFG_CACHE_MB = 0,
	CFG_PART_SIZE_MB,
	CFG_CONNECTIONS,
	CFG_READAHEAD_MB,
	CFG_METADATA_TTL_MS,
	CFG_REQUEST_TIMEOUT_MS,
	CFG_NUM_COUNT
};

struct cfg_num {
	const char *key;	/* JSON key */
	const char *env;	/* environment variable */
	long long min, max;
};

extern const struct cfg_num cfg_nums[CFG_NUM_COUNT];

/* Range-checks v and stores it (in bytes where the key says _mb). */
int cfg_num_set(struct engine_conf *ec, enum cfg_num_id id, long long v,
		const struct cfg_src *s, const char *field);

int cfg_log_level(const struct cfg_src *s, const char *field,
		  const char *v, enum log_level *out);
/*
 * An absolute directory path, copied into *out.  What *out held is the
 * caller's to free (config_apply_env keeps the old one until it succeeds).
 */
int cfg_dir_path(const struct cfg_src *s, const char *field, const char *v, char **out);
/* "1", "true", "0" or "false". */
int cfg_bool(const struct cfg_src *s, const char *field, const char *v, int *out);
int cfg_mount_path(const struct cfg_src *s, const char *field,
		   const char *v, char **out);
int cfg_store_url(const struct cfg_src *s, const char *field,
		  const char *v, char **out);
int cfg_endpoint(const struct cfg_src *s, const char *field,
		 const char *v, char **out);
int cfg_region(const struct cfg_src *s, const char *field,
	       const char *v, char **out);
int cfg_addressing(const struct cfg_src *s, const char *field,
		   const char *v, enum store_addressing *out);
int cfg_checksum(const struct cfg_src *s, const char *field,
		 const char *v, enum store_checksum *out);
int cfg_credentials(const struct cfg_src *s, const char *field,
		    const char *v, enum store_cred_source *src, char **profile);

/* Which MOUNT_SET_* fields make sense for the store behind url. */
unsigned cfg_url_fields(const char *url);

/*
 * Appends *m (path and store.url set) unless its path repeats or nests with
 * a mount already in c.  On success *m's strings move into c and *m is
 * zeroed; on failure they stay with the caller.
 */
int cfg_mount_add(struct shim_conf *c, struct mount_conf *m,
		  const struct cfg_src *s, const char *field);

void cfg_mount_free(struct mount_conf *m);

#endif
