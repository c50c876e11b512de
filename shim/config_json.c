/* SPDX-License-Identifier: MIT */
/*
 * config_json.c - reads a CLOUDSHIM_CONFIG document with cJSON.
 *
 * The document is one object: "mounts" (an array of mount objects) and the
 * engine settings.  Unknown keys, repeated keys, wrong types and fractions
 * are errors, so a typo never passes silently.  On error the conf is put
 * back as it was: added mounts are dropped and the engine restored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "shim/config_int.h"

#define TOP_KEYS "mounts, cache_mb, part_size_mb, connections, readahead_mb," \
		 " metadata_ttl_ms, request_timeout_ms, log_level, staging_dir," \
		 " recovery_dir, sync_close"
#define MOUNT_KEYS "path, url, endpoint, region, addressing, read_only," \
		   " credentials, checksum"

enum mkey { MK_PATH, MK_URL, MK_ENDPOINT, MK_REGION, MK_ADDRESSING,
	    MK_READ_ONLY, MK_CREDENTIALS, MK_CHECKSUM, MK_COUNT };

static const char *const mount_keys[MK_COUNT] = {
	"path", "url", "endpoint", "region", "addressing", "read_only",
	"credentials", "checksum",
};

/* MOUNT_SET_* bit of each key, 0 for path and url. */
static const unsigned mount_bits[MK_COUNT] = {
	0, 0, MOUNT_SET_ENDPOINT, MOUNT_SET_REGION, MOUNT_SET_ADDRESSING,
	MOUNT_SET_READ_ONLY, MOUNT_SET_CREDENTIALS, MOUNT_SET_CHECKSUM,
};

static const char *type_name(const cJSON *it)
{
	if (cJSON_IsString(it))
		return "a string";
	if (cJSON_IsNumber(it))
		return "a number";
	if (cJSON_IsBool(it))
		return "true/false";
	if (cJSON_IsNull(it))
		return "null";
	if (cJSON_IsArray(it))
		return "an array";
	return "an object";
}

static int want(const struct cfg_src *s, const char *field, const cJSON *it,
		int ok, const char *expected)
{
	if (ok)
		return 0;
	return cfg_fail(s, field, "expected %s, got %s", expected,
			type_name(it));
}

/* Index of key in keys[] or -1; a repeated key is an error. */
static int key_index(const struct cfg_src *s, const char *where,
		     const char *key, const char *const *keys, int count,
		     unsigned *seen, const char *known)
{
	char q[CFG_QUOTE_MAX];
	int i;

	for (i = 0; i < count; i++) {
		if (strcmp(key, keys[i]))
			continue;
		if (*seen & (1u << i))
			return cfg_fail(s, where, "key \"%s\" appears twice;"
					" keep one", keys[i]);
		*seen |= 1u << i;
		return i;
	}
	return cfg_fail(s, where, "unknown key %s; known keys: %s",
			cfg_quote(key, q), known);
}

static int mount_string(struct mount_conf *m, enum mkey k, const char *v,
			const struct cfg_src *s, const char *field)
{
	switch (k) {
	case MK_PATH:
		return cfg_mount_path(s, field, v, &m->path);
	case MK_URL:
		return cfg_store_url(s, field, v, &m->store.url);
	case MK_ENDPOINT:
		return cfg_endpoint(s, field, v, &m->store.endpoint);
	case MK_REGION:
		return cfg_region(s, field, v, &m->store.region);
	case MK_ADDRESSING:
		return cfg_addressing(s, field, v, &m->store.addressing);
	case MK_CREDENTIALS:
		return cfg_credentials(s, field, v, &m->store.cred_source,
				       &m->store.profile);
	case MK_CHECKSUM:
		return cfg_checksum(s, field, v, &m->store.checksum);
	default:
		return -EINVAL;
	}
}

static int mount_field(struct mount_conf *m, const cJSON *it, int k,
		       const struct cfg_src *s, const char *field)
{
	int rc;

	if (k == MK_READ_ONLY) {
		rc = want(s, field, it, cJSON_IsBool(it), "true or false");
		if (!rc)
			m->store.read_only = cJSON_IsTrue(it);
	} else {
		rc = want(s, field, it, cJSON_IsString(it), "a string");
		if (!rc)
			rc = mount_string(m, (enum mkey)k, it->valuestring, s,
					  field);
	}
	if (!rc)
		m->set |= mount_bits[k];
	return rc;
}

/* Both path and url given; the other keys make sense for this store. */
static int mount_complete(const struct mount_conf *m, const char *where,
			  const struct cfg_src *s)
{
	unsigned extra;
	int k;

	if (!m->path)
		return cfg_fail(s, where, "missing \"path\"; add \"path\":"
				" \"/data\"");
	if (!m->store.url)
		return cfg_fail(s, where, "missing \"url\"; add \"url\":"
				" \"s3://bucket/prefix\"");
	extra = m->set & ~cfg_url_fields(m->store.url);
	for (k = 0; k < MK_COUNT; k++)
		if (extra & mount_bits[k])
			return cfg_fail(s, where, "\"%s\" does not apply to"
					" %.*s:// mounts; remove it",
					mount_keys[k],
					(int)strcspn(m->store.url, ":"),
					m->store.url);
	return 0;
}

static int parse_mount(struct shim_conf *c, const cJSON *obj, size_t idx,
		       const struct cfg_src *s)
{
	struct mount_conf m = { 0 };
	char where[48], field[64];
	const cJSON *it;
	unsigned seen = 0;
	int rc = 0, k;

	snprintf(where, sizeof(where), "mounts[%zu]", idx);
	rc = want(s, where, obj, cJSON_IsObject(obj), "an object");
	if (rc)
		return rc;
	for (it = obj->child; !rc && it; it = it->next) {
		k = key_index(s, where, it->string ? it->string : "",
			      mount_keys, MK_COUNT,
			      &seen, MOUNT_KEYS);
		if (k < 0) {
			rc = k;
			break;
		}
		snprintf(field, sizeof(field), "%s.%s", where, mount_keys[k]);
		rc = mount_field(&m, it, k, s, field);
	}
	if (!rc)
		rc = mount_complete(&m, where, s);
	if (!rc) {
		snprintf(field, sizeof(field), "%s.path", where);
		rc = cfg_mount_add(c, &m, s, field);
	}
	cfg_mount_free(&m);
	return rc;
}

static int parse_mounts(struct shim_conf *c, const cJSON *arr,
			const struct cfg_src *s)
{
	const cJSON *it;
	size_t i = 0;
	int rc;

	rc = want(s, "mounts", arr, cJSON_IsArray(arr), "an array of objects");
	if (rc)
		return rc;
	for (it = arr->child; !rc && it; it = it->next)
		rc = parse_mount(c, it, i++, s);
	return rc;
}

static int parse_number(struct engine_conf *ec, enum cfg_num_id id,
			const cJSON *it, const struct cfg_src *s)
{
	const struct cfg_num *n = &cfg_nums[id];
	double d = it->valuedouble;
	int rc;

	rc = want(s, n->key, it, cJSON_IsNumber(it), "an integer");
	if (rc)
		return rc;
	if (!(d >= (double)n->min && d <= (double)n->max))
		return cfg_fail(s, n->key, "%g is out of range; use an integer"
				" from %lld to %lld", d, n->min, n->max);
	if (d != (double)(long long)d)
		return cfg_fail(s, n->key, "%g is not a whole number; use an"
				" integer from %lld to %lld", d, n->min, n->max);
	return cfg_num_set(ec, id, (long long)d, s, n->key);
}

static int parse_top(struct shim_conf *c, const cJSON *root,
		     const struct cfg_src *s)
{
	static const char *const keys[CFG_NUM_COUNT + 5] = {
		"cache_mb", "part_size_mb", "connections", "readahead_mb",
		"metadata_ttl_ms", "request_timeout_ms", "mounts", "log_level",
		"staging_dir", "recovery_dir", "sync_close",
	};
	const cJSON *it;
	unsigned seen = 0;
	int rc, k;

	if (!cJSON_IsObject(root))
		return cfg_fail(s, NULL, "the top level must be a JSON object"
				" like {\"mounts\": [...]}, got %s",
				type_name(root));
	for (it = root->child; it; it = it->next) {
		k = key_index(s, NULL, it->string ? it->string : "", keys,
			      CFG_NUM_COUNT + 5, &seen, TOP_KEYS);
		if (k < 0)
			return k;
		if (k < CFG_NUM_COUNT)
			rc = parse_number(&c->engine, (enum cfg_num_id)k, it, s);
		else if (k == CFG_NUM_COUNT)
			rc = parse_mounts(c, it, s);
		else if (k == CFG_NUM_COUNT + 4) {
			rc = want(s, keys[k], it, cJSON_IsBool(it), "true or false");
			c->engine.sync_close = cJSON_IsTrue(it);
		} else if (!(rc = want(s, keys[k], it, cJSON_IsString(it), "a string")))
			rc = k == CFG_NUM_COUNT + 1 ?
			     cfg_log_level(s, keys[k], it->valuestring, &c->engine.log_level) :
			     cfg_dir_path(s, keys[k], it->valuestring, k == CFG_NUM_COUNT + 2 ?
					  &c->engine.staging_dir : &c->engine.recovery_dir);
		if (rc)
			return rc;
	}
	return 0;
}

/* "invalid JSON at line L, column C" for the byte at end. */
static int syntax_error(const char *text, const char *end,
			const struct cfg_src *s)
{
	size_t line = 1, col = 1;
	const char *p;

	if (!end || end < text)
		end = text;
	for (p = text; p < end && *p; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return cfg_fail(s, NULL, "invalid JSON at line %zu, column %zu; check"
			" for a missing comma, quote or brace", line, col);
}

int config_parse_json(struct shim_conf *c, const char *json_text,
		      const char *origin, char *err, size_t errlen)
{
	struct cfg_src s = { origin ? origin : "JSON", err, errlen };
	struct engine_conf saved = c->engine;
	size_t before = c->nmounts;
	const char *end = NULL;
	cJSON *root;
	int rc;

	if (!json_text[strspn(json_text, " \t\r\n")])
		return cfg_fail(&s, NULL, "the document is empty; write a JSON"
				" object like {\"mounts\": [...]}");
	root = cJSON_ParseWithOpts(json_text, &end, 1);
	if (!root)
		return syntax_error(json_text, end, &s);
	rc = parse_top(c, root, &s);
	cJSON_Delete(root);
	if (rc) {
		while (c->nmounts > before)
			cfg_mount_free(&c->mounts[--c->nmounts]);
		c->engine = saved;
	}
	return rc;
}
