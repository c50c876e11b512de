/* SPDX-License-Identifier: MIT */
/*
 * store_int.h - for drivers and store.c only.
 *
 * A driver is one constant struct store_driver.  Required operations are
 * never NULL, list only with STORE_CAP_LIST and the writes only with
 * STORE_CAP_WRITE (store.h); store.c allocates priv_size bytes of private
 * state per store.  store.c checks arguments against store.h's limits and
 * the read-only setting before a write reaches a driver.
 */
#ifndef CLOUDSHIM_STORE_INT_H
#define CLOUDSHIM_STORE_INT_H

#include <stdatomic.h>

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
	/* optional: see store_stat_read (never for the root) */
	int (*stat_read)(struct store *st, const char *key, struct store_meta *meta, size_t len,
			 store_sink_fn sink, void *arg);
	/* with STORE_CAP_LIST; see store_list */
	int (*list)(struct store *st, const char *key, store_page_fn fn, void *arg);
	/* with STORE_CAP_WRITE; see store.h.  meta is zeroed, or NULL when the
	   caller wants none (a driver may then save a request) */
	int (*put)(struct store *st, const char *key, const struct store_body *body,
		   int exclusive, struct store_meta *meta);
	int (*mpu_begin)(struct store *st, const char *key, char **upload_id);
	int (*mpu_part)(struct store *st, const char *key, const char *upload_id, int part,
			const struct store_body *body, char etag[STORE_ETAG_MAX]);
	int (*mpu_complete)(struct store *st, const char *key, const char *upload_id,
			    char (*const etags)[STORE_ETAG_MAX], int nparts,
			    struct store_meta *meta);
	int (*mpu_abort)(struct store *st, const char *key, const char *upload_id);
	int (*del)(struct store *st, const char *key);
	int (*copy)(struct store *st, const char *from, const char *to,
		    struct store_meta *meta);
};

struct store {
	const struct store_driver *drv;
	struct store_conf conf;		/* owned copy */
	const struct engine_conf *ec;
	atomic_long answer_us;		/* store_answer_us */
	void *priv;
};

/* A request to the store was answered us microseconds after it was sent. */
void store_note_answer(struct store *st, long us);

extern const struct store_driver store_file_driver;
extern const struct store_driver store_http_driver;
extern const struct store_driver store_s3_driver;

/*
 * Tests: S3 copies over max bytes go part by part, the parts laid out
 * from base (backend/partplan.h); 0: the defaults (5 GiB, 512 MiB).
 */
void store_s3_copy_limits(off_t max, off_t base);

/* Joins prefix and key with exactly one '/' between them, into a new string. */
char *store_join_key(const char *prefix, const char *key);

#endif
