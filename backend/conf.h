/* SPDX-License-Identifier: MIT */
/*
 * conf.h - the settings the engine and its drivers run with.
 *
 * These are plain data.  shim/config.c fills them from CLOUDSHIM_MOUNTS,
 * CLOUDSHIM_CONFIG and CLOUDSHIM_* variables; the engine only reads them.
 * Every string is heap-allocated and owned by the struct that holds it.
 */
#ifndef CLOUDSHIM_CONF_H
#define CLOUDSHIM_CONF_H

#include <stddef.h>

enum store_addressing {
	STORE_ADDR_AUTO = 0,	/* path-style with a custom endpoint, else virtual */
	STORE_ADDR_PATH,
	STORE_ADDR_VIRTUAL,
};

enum store_cred_source {
	STORE_CRED_AUTO = 0,	/* environment, then profile files, else unsigned */
	STORE_CRED_ENV,		/* AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY only */
	STORE_CRED_PROFILE,	/* ~/.aws/credentials and ~/.aws/config */
	STORE_CRED_ANONYMOUS,	/* unsigned requests (public buckets) */
};

/* What an upload carries for the store to check its body against. */
enum store_checksum {
	STORE_SUM_AUTO = 0,	/* SHA-256 when signed and the CPU hashes it, else MD5 */
	STORE_SUM_MD5,		/* Content-MD5: checked by nearly every S3-compatible store */
	STORE_SUM_SHA256,	/* the signed x-amz-content-sha256: AWS, Ceph, MinIO */
};

/* One mounted store.  url is the full store URL, e.g. "s3://bucket/prefix". */
struct store_conf {
	char *url;
	char *endpoint;		/* "http://127.0.0.1:9000"; NULL: store default */
	char *region;		/* NULL: AWS_REGION, profile, then us-east-1 */
	enum store_addressing addressing;
	enum store_checksum checksum;
	int read_only;
	enum store_cred_source cred_source;
	char *profile;		/* NULL: AWS_PROFILE, then "default" */
};

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

/* Engine-wide settings; see the README's configuration reference. */
struct engine_conf {
	size_t cache_bytes;	/* hard bound of the block cache */
	size_t part_size;	/* size of one parallel range request */
	int connections;	/* fetcher pool size */
	size_t readahead_max;	/* largest read-ahead window per open file */
	long metadata_ttl_ms;	/* how long a HEAD result is trusted */
	long request_timeout_ms; /* deadline for one request, retries included */
	enum log_level log_level;
	char *staging_dir;	/* where writes are staged; NULL: /dev/shm/cloudshim-UID */
	char *recovery_dir;	/* failed uploads; NULL: /var/tmp/cloudshim-UID/recovery */
	int sync_close;		/* close waits until durable and reports failure */
};

#define ENGINE_DEFAULT_CACHE_BYTES	(256UL << 20)
#define ENGINE_DEFAULT_PART_SIZE	(8UL << 20)
#define ENGINE_DEFAULT_CONNECTIONS	16
#define ENGINE_DEFAULT_READAHEAD_MAX	(128UL << 20)
#define ENGINE_DEFAULT_METADATA_TTL_MS	5000L
#define ENGINE_DEFAULT_REQUEST_TIMEOUT_MS 30000L

void engine_conf_defaults(struct engine_conf *ec);

/* Where writes are staged: staging_dir, or /dev/shm/cloudshim-UID. */
const char *engine_staging_dir(const struct engine_conf *ec);

void store_conf_free(struct store_conf *sc);

#endif
