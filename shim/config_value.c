/* SPDX-License-Identifier: MIT */
/*
 * config_value.c - checks and converts single configuration values: mount
 * paths, store URLs, endpoints, regions, enums and integer settings, and
 * adds a mount to the list without duplicates or nesting.
 *
 * Used for both the JSON file and the environment, so one value is judged
 * the same way whatever its source; only the message prefix differs.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim/config_int.h"

#define SCHEMES_HINT "use s3://, az://, gs://, http://, https:// or file://"

const struct cfg_num cfg_nums[CFG_NUM_COUNT] = {
	[CFG_CACHE_MB] = { "cache_mb", "CLOUDSHIM_CACHE_MB", 16, 1048576 },
	[CFG_PART_SIZE_MB] = { "part_size_mb", "CLOUDSHIM_PART_SIZE_MB",
			       1, 5120 },
	[CFG_CONNECTIONS] = { "connections", "CLOUDSHIM_CONNECTIONS", 1, 256 },
	[CFG_READAHEAD_MB] = { "readahead_mb", "CLOUDSHIM_READAHEAD_MB",
			       0, 65536 },
	[CFG_METADATA_TTL_MS] = { "metadata_ttl_ms",
				  "CLOUDSHIM_METADATA_TTL_MS", 0, 86400000 },
	[CFG_REQUEST_TIMEOUT_MS] = { "request_timeout_ms",
				     "CLOUDSHIM_REQUEST_TIMEOUT_MS",
				     100, 3600000 },
};

int cfg_fail(const struct cfg_src *s, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!s->err || !s->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->err, s->errlen, "%s: %s%s%s", s->name,
		 field ? field : "", field ? ": " : "", msg);
	return -EINVAL;
}

const char *cfg_quote(const char *s, char buf[CFG_QUOTE_MAX])
{
	size_t i, n = 0, keep = CFG_QUOTE_MAX - 6;

	buf[n++] = '"';
	for (i = 0; s[i] && i < keep; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (s[i]) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

int cfg_num_set(struct engine_conf *ec, enum cfg_num_id id, long long v,
		const struct cfg_src *s, const char *field)
{
	const struct cfg_num *n = &cfg_nums[id];
	size_t mb;

	if (v < n->min || v > n->max)
		return cfg_fail(s, field, "%lld is out of range; use an integer"
				" from %lld to %lld", v, n->min, n->max);
	if (v > (long long)(SIZE_MAX >> 20))
		return cfg_fail(s, field, "%lld MiB does not fit in memory on"
				" this machine", v);
	mb = (size_t)v << 20;
	switch (id) {
	case CFG_CACHE_MB:		ec->cache_bytes = mb; break;
	case CFG_PART_SIZE_MB:		ec->part_size = mb; break;
	case CFG_CONNECTIONS:		ec->connections = (int)v; break;
	case CFG_READAHEAD_MB:		ec->readahead_max = mb; break;
	case CFG_METADATA_TTL_MS:	ec->metadata_ttl_ms = (long)v; break;
	case CFG_REQUEST_TIMEOUT_MS:	ec->request_timeout_ms = (long)v; break;
	default:			return -EINVAL;
	}
	return 0;
}

/* Index of v in names[], or -1. */
static int pick(const char *v, const char *const *names, int count)
{
	int i;

	for (i = 0; i < count; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

int cfg_dir_path(const struct cfg_src *s, const char *field, const char *v, char **out)
{
	char q[CFG_QUOTE_MAX];
	char *copy;

	if (v[0] != '/' || strlen(v) >= 2048)
		return cfg_fail(s, field, "%s is not an absolute path; write a"
				" directory such as /dev/shm/cloudshim", cfg_quote(v, q));
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20)
			return cfg_fail(s, field, "%s has a control character;"
					" choose a plain directory path", cfg_quote(v, q));
	if (!(copy = strdup(v)))
		return -ENOMEM;
	*out = copy;
	return 0;
}

int cfg_bool(const struct cfg_src *s, const char *field, const char *v, int *out)
{
	char q[CFG_QUOTE_MAX];

	if (!strcmp(v, "1") || !strcmp(v, "true"))
		*out = 1;
	else if (!strcmp(v, "0") || !strcmp(v, "false"))
		*out = 0;
	else
		return cfg_fail(s, field, "%s is not a boolean; use 1, 0, true"
				" or false", cfg_quote(v, q));
	return 0;
}

int cfg_log_level(const struct cfg_src *s, const char *field,
		  const char *v, enum log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char q[CFG_QUOTE_MAX];
	int i = pick(v, names, 4);

	if (i < 0)
		return cfg_fail(s, field, "unknown log level %s; use error, warn,"
				" info or debug", cfg_quote(v, q));
	*out = (enum log_level)i;
	return 0;
}

int cfg_addressing(const struct cfg_src *s, const char *field,
		   const char *v, enum store_addressing *out)
{
	static const char *const names[] = { "auto", "path", "virtual" };
	char q[CFG_QUOTE_MAX];
	int i = pick(v, names, 3);

	if (i < 0)
		return cfg_fail(s, field, "unknown addressing %s; use path,"
				" virtual or auto", cfg_quote(v, q));
	*out = (enum store_addressing)i;	/* same order as the enum */
	return 0;
}

int cfg_checksum(const struct cfg_src *s, const char *field,
		 const char *v, enum store_checksum *out)
{
	static const char *const names[] = { "auto", "md5", "sha256" };
	char q[CFG_QUOTE_MAX];
	int i = pick(v, names, 3);

	if (i < 0)
		return cfg_fail(s, field, "unknown checksum %s; use auto (the default),"
				" md5 (Content-MD5, checked by nearly every S3 store) or"
				" sha256 (signed payload hash: AWS, Ceph, MinIO)",
				cfg_quote(v, q));
	*out = (enum store_checksum)i;	/* same order as the enum */
	return 0;
}

static int has_ctl(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 1;
	return 0;
}

int cfg_credentials(const struct cfg_src *s, const char *field,
		    const char *v, enum store_cred_source *src, char **profile)
{
	static const char *const names[] = { "auto", "env", "profile",
					     "anonymous" };
	char q[CFG_QUOTE_MAX];
	const char *name;
	int i = pick(v, names, 4);

	*profile = NULL;
	if (i >= 0) {
		*src = (enum store_cred_source)i;	/* enum order */
		return 0;
	}
	if (strncmp(v, "profile:", 8))
		return cfg_fail(s, field, "unknown credentials %s; use auto, env,"
				" anonymous, profile or profile:NAME",
				cfg_quote(v, q));
	name = v + 8;
	if (!*name || strlen(name) > 128 || has_ctl(name) ||
	    strpbrk(name, " \t[]"))
		return cfg_fail(s, field, "bad profile name in %s; write"
				" profile:NAME with 1 to 128 characters, no"
				" spaces or brackets", cfg_quote(v, q));
	*profile = strdup(name);
	if (!*profile)
		return -ENOMEM;
	*src = STORE_CRED_PROFILE;
	return 0;
}

int cfg_region(const struct cfg_src *s, const char *field,
	       const char *v, char **out)
{
	size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
	char q[CFG_QUOTE_MAX];

	if (!*v || v[n] || n > 64)
		return cfg_fail(s, field, "region %s is not valid; use a region"
				" name such as us-east-1 (letters, digits, '-',"
				" '_')", cfg_quote(v, q));
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

int cfg_mount_path(const struct cfg_src *s, const char *field,
		   const char *v, char **out)
{
	size_t len = strlen(v), n = 0, c;
	char q[CFG_QUOTE_MAX], *p;

	if (!len)
		return cfg_fail(s, field, "mount path is empty; use an absolute"
				" path such as /data");
	if (v[0] != '/')
		return cfg_fail(s, field, "mount path %s is not absolute; start"
				" it with '/', e.g. /data", cfg_quote(v, q));
	if (len >= PATH_MAX)
		return cfg_fail(s, field, "mount path is longer than %d bytes",
				PATH_MAX - 1);
	p = malloc(len + 1);
	if (!p)
		return -ENOMEM;
	while (*v) {
		v += strspn(v, "/");
		c = strcspn(v, "/");
		if ((c == 1 && v[0] == '.') || (c == 2 && !strncmp(v, "..", 2))) {
			free(p);
			return cfg_fail(s, field, "mount path has a '.' or '..'"
					" component; write it without them, e.g."
					" /data/set");
		}
		if (c) {
			p[n++] = '/';
			memcpy(p + n, v, c);
			n += c;
		}
		v += c;
	}
	p[n] = '\0';
	if (!n) {
		free(p);
		return cfg_fail(s, field, "\"/\" cannot be a mount path; mount a"
				" directory such as /data");
	}
	*out = p;
	return 0;
}

/* NULL when "host[:port]" at the start of a is usable, else why not. */
static const char *check_host(const char *a)
{
	size_t n = strcspn(a, "/?#");
	const char *colon, *end = a + n;
	long port = 0;

	if (memchr(a, '@', n))
		return "user names or passwords in the URL are not supported";
	if (*a == '[') {
		colon = memchr(a, ']', n);
		if (!colon || colon == a + 1)
			return "the IPv6 host has no closing ']'";
		colon++;
	} else {
		colon = a + strcspn(a, ":/?#");
		if (colon == a)
			return "the URL has no host";
	}
	if (colon == end)
		return NULL;
	if (*colon != ':' || colon + 1 == end)
		return "the port is missing or malformed";
	for (colon++; colon < end; colon++) {
		if (!isdigit((unsigned char)*colon) || port > 65535)
			return "the port is not a number from 1 to 65535";
		port = port * 10 + (*colon - '0');
	}
	return port >= 1 && port <= 65535 ? NULL :
		"the port is not a number from 1 to 65535";
}

/* strdup of url without trailing '/', keeping one byte after "://". */
static int dup_trimmed(const char *url, size_t keep, char **out)
{
	size_t len = strlen(url);

	while (len > keep + 1 && url[len - 1] == '/')
		len--;
	*out = strndup(url, len);
	return *out ? 0 : -ENOMEM;
}

static int s3_bucket_ok(const char *b, size_t n)
{
	if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) ||
	    !isalnum((unsigned char)b[n - 1]))
		return 0;
	return strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") >= n;
}

/* Checks what follows "scheme://"; 0 or -EINVAL with the message. */
static int check_rest(const struct cfg_src *s, const char *field,
		      const char *scheme, const char *rest)
{
	size_t n = strcspn(rest, "/");
	const char *why;

	if (!strcmp(scheme, "s3")) {
		if (!n)
			return cfg_fail(s, field, "s3:// needs a bucket; write"
					" s3://bucket/prefix");
		if (!s3_bucket_ok(rest, n))
			return cfg_fail(s, field, "bucket \"%.*s\" is not valid;"
					" S3 bucket names are 3 to 63 characters"
					" of a-z, 0-9, '.' and '-', starting and"
					" ending with a letter or digit",
					n > 63 ? 63 : (int)n, rest);
	} else if (!strcmp(scheme, "az") || !strcmp(scheme, "gs")) {
		if (!n)
			return cfg_fail(s, field, "%s:// needs a %s; write"
					" %s://%s/prefix", scheme,
					*scheme == 'a' ? "container" : "bucket",
					scheme,
					*scheme == 'a' ? "container" : "bucket");
	} else if (!strcmp(scheme, "file")) {
		if (*rest != '/')
			return cfg_fail(s, field, "file:// must be followed by"
					" an absolute path; write"
					" file:///srv/objects");
	} else if ((why = check_host(rest))) {
		return cfg_fail(s, field, "%s; write %s://host[:port]/dir",
				why, scheme);
	}
	return 0;
}

int cfg_store_url(const struct cfg_src *s, const char *field,
		  const char *v, char **out)
{
	static const char *const schemes[] = { "s3", "az", "gs", "http",
					       "https", "file" };
	const char *sep = strstr(v, "://");
	char q[CFG_QUOTE_MAX], scheme[8];
	size_t n = sep ? (size_t)(sep - v) : 0;
	int rc;

	if (!*v)
		return cfg_fail(s, field, "URL is empty; write a URL such as"
				" s3://bucket/prefix");
	if (has_ctl(v))
		return cfg_fail(s, field, "URL has a control character");
	if (!n || strcspn(v, "/:?#") < n)
		return cfg_fail(s, field, "%s has no scheme; " SCHEMES_HINT,
				cfg_quote(v, q));
	if (n >= sizeof(scheme))
		return cfg_fail(s, field, "unknown scheme \"%.*s\"; "
				SCHEMES_HINT, n > 16 ? 16 : (int)n, v);
	memcpy(scheme, v, n);
	scheme[n] = '\0';
	if (pick(scheme, schemes, 6) < 0)
		return cfg_fail(s, field, "unknown scheme %s; " SCHEMES_HINT,
				cfg_quote(scheme, q));
	rc = check_rest(s, field, scheme, sep + 3);
	return rc ? rc : dup_trimmed(v, n + 3, out);
}

int cfg_endpoint(const struct cfg_src *s, const char *field,
		 const char *v, char **out)
{
	const char *rest = NULL, *why;
	char q[CFG_QUOTE_MAX];

	if (!strncmp(v, "http://", 7))
		rest = v + 7;
	else if (!strncmp(v, "https://", 8))
		rest = v + 8;
	if (!rest || has_ctl(v))
		return cfg_fail(s, field, "endpoint %s is not an http:// or"
				" https:// URL; write e.g. http://127.0.0.1:9000",
				cfg_quote(v, q));
	why = check_host(rest);
	if (why)
		return cfg_fail(s, field, "endpoint %s: %s; write e.g."
				" http://127.0.0.1:9000", cfg_quote(v, q), why);
	return dup_trimmed(v, (size_t)(rest - v), out);
}

unsigned cfg_url_fields(const char *url)
{
	if (!strncmp(url, "s3://", 5))
		return ~0u;
	if (!strncmp(url, "az://", 5) || !strncmp(url, "gs://", 5))
		return MOUNT_SET_ENDPOINT | MOUNT_SET_CREDENTIALS |
		       MOUNT_SET_READ_ONLY;
	return MOUNT_SET_READ_ONLY;
}

/* 1 when mount path a contains b (or is b). */
static int contains(const char *a, const char *b)
{
	size_t n = strlen(a);

	return !strncmp(a, b, n) && (b[n] == '/' || b[n] == '\0');
}

int cfg_mount_add(struct shim_conf *c, struct mount_conf *m,
		  const struct cfg_src *s, const char *field)
{
	char q1[CFG_QUOTE_MAX], q2[CFG_QUOTE_MAX];
	struct mount_conf *grown;
	size_t i;

	for (i = 0; i < c->nmounts; i++) {
		const char *old = c->mounts[i].path;

		if (!strcmp(old, m->path))
			return cfg_fail(s, field, "%s is mounted twice; give"
					" each mount its own path",
					cfg_quote(m->path, q1));
		if (contains(old, m->path) || contains(m->path, old))
			return cfg_fail(s, field, "%s and %s are nested; mounts"
					" cannot contain one another",
					cfg_quote(m->path, q1),
					cfg_quote(old, q2));
	}
	grown = realloc(c->mounts, (c->nmounts + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->mounts = grown;
	c->mounts[c->nmounts++] = *m;
	memset(m, 0, sizeof(*m));
	return 0;
}

void cfg_mount_free(struct mount_conf *m)
{
	free(m->path);
	store_conf_free(&m->store);
	memset(m, 0, sizeof(*m));
}
