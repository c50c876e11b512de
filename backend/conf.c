/* SPDX-License-Identifier: MIT */
/*
 * conf.c - defaults and cleanup for the plain settings structs of conf.h.
 *
 * Parsing lives in shim/config.c; this file only knows what an unset
 * engine looks like and how to release a store's strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/conf.h"

void engine_conf_defaults(struct engine_conf *ec)
{
	memset(ec, 0, sizeof(*ec));
	ec->cache_bytes = ENGINE_DEFAULT_CACHE_BYTES;
	ec->part_size = ENGINE_DEFAULT_PART_SIZE;
	ec->connections = ENGINE_DEFAULT_CONNECTIONS;
	ec->readahead_max = ENGINE_DEFAULT_READAHEAD_MAX;
	ec->metadata_ttl_ms = ENGINE_DEFAULT_METADATA_TTL_MS;
	ec->request_timeout_ms = ENGINE_DEFAULT_REQUEST_TIMEOUT_MS;
	ec->log_level = LOG_WARN;
}

const char *engine_staging_dir(const struct engine_conf *ec)
{
	static char fallback[64];

	if (ec->staging_dir)
		return ec->staging_dir;
	snprintf(fallback, sizeof(fallback), "/dev/shm/cloudshim-%u", (unsigned)getuid());
	return fallback;
}

/* Frees the strings and leaves a zeroed struct, so a second call is safe. */
void store_conf_free(struct store_conf *sc)
{
	if (!sc)
		return;
	free(sc->url);
	free(sc->endpoint);
	free(sc->region);
	free(sc->profile);
	memset(sc, 0, sizeof(*sc));
}
