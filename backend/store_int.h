/* SPDX-License-Identifier: MIT */
/*
 * store_int.h - for drivers and store.c only.
 *
 * A driver is one constant struct store_driver.  Required operations are
 * never NULL, list only with STORE_CAP_LIST (store.h); store.c allocates
 * priv_size bytes of private state per store.
 */
#ifndef CLOUDSHIM_STORE_INT_H
#define CLOUDSHIM_STORE_INT_H

#include "backend/store.h"

struct store_driver {
	const char *name;
	unsigned caps;
	size_t priv_size;
	/* parse conf->url and settings; err says what is wrong and how to fix */
	int (*init)(struct store *st, char *err, size_t errlen);
	void (*fini)(struct store *st);
	int (*stat)(struct store *st, const char *key, struct store_meta *meta);
	int (*read)(struct store *st, const struct store_read *rd);
	/* with STORE_CAP_LIST; see store_list */
	int (*list)(struct store *st, const char *key, store_page_fn fn, void *arg);
};

struct store {
	const struct store_driver *drv;
	struct store_conf conf;		/* owned copy */
	const struct engine_conf *ec;
	void *priv;
};

extern const struct store_driver store_file_driver;
extern const struct store_driver store_http_driver;
extern const struct store_driver store_s3_driver;

/* Joins prefix and key with exactly one '/' between them, into a new string. */
char *store_join_key(const char *prefix, const char *key);

#endif
