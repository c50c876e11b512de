/* SPDX-License-Identifier: MIT */
/*
 * config.c - builds the shim's configuration from the environment:
 * defaults, then the CLOUDSHIM_CONFIG file, then the CLOUDSHIM_MOUNTS list,
 * then single CLOUDSHIM_* variables, then the checks that span settings.
 *
 * Values are judged in config_value.c and the file in config_json.c; this
 * file reads the variables and the file and keeps each step all-or-nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/config_int.h"

#define CONFIG_FILE_MAX (1u << 20)
#define SPACES " \t\r\n"

void config_init(struct shim_conf *c)
{
	memset(c, 0, sizeof(*c));
	engine_conf_defaults(&c->engine);
	c->engine.readahead_max = CFG_READAHEAD_UNSET;
}

void config_free(struct shim_conf *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nmounts; i++)
		cfg_mount_free(&c->mounts[i]);
	free(c->mounts);
	free(c->engine.staging_dir);
	free(c->engine.recovery_dir);
	memset(c, 0, sizeof(*c));
}

static void drop_mounts_after(struct shim_conf *c, size_t keep)
{
	while (c->nmounts > keep)
		cfg_mount_free(&c->mounts[--c->nmounts]);
}

/* text[0..len) without surrounding blanks, as a new string. */
static char *trimmed(const char *text, size_t len)
{
	while (len && *text && strchr(SPACES, *text)) {
		text++;
		len--;
	}
	while (len && text[len - 1] && strchr(SPACES, text[len - 1]))
		len--;
	return strndup(text, len);
}

/* One "PATH=URL"; n > 0 numbers it in messages as an entry of a list. */
static int parse_entry(struct shim_conf *c, const char *text, size_t len,
		       size_t n, const struct cfg_src *s)
{
	struct mount_conf m = { 0 };
	char field[CFG_QUOTE_MAX + 32], q[CFG_QUOTE_MAX];
	char *entry = trimmed(text, len), *eq, *path = NULL;
	int rc;

	if (!entry)
		return -ENOMEM;
	if (n)
		snprintf(field, sizeof(field), "entry %zu %s", n, cfg_quote(entry, q));
	else
		snprintf(field, sizeof(field), "%s", cfg_quote(entry, q));
	eq = strchr(entry, '=');
	if (!*entry)
		rc = cfg_fail(s, field, "is empty; separate entries with one"
			      " ';' and put none at the start or end");
	else if (!eq)
		rc = cfg_fail(s, field, "missing \"=URL\"; write"
			      " /path=s3://bucket/prefix");
	else if (!(path = trimmed(entry, (size_t)(eq - entry))))
		rc = -ENOMEM;
	else if (!(rc = cfg_mount_path(s, field, path, &m.path)))
		rc = cfg_store_url(s, field, eq + 1 + strspn(eq + 1, SPACES),
				   &m.store.url);
	if (!rc)
		rc = cfg_mount_add(c, &m, s, field);
	cfg_mount_free(&m);
	free(path);
	free(entry);
	return rc;
}

int config_parse_mounts(struct shim_conf *c, const char *spec,
			char *err, size_t errlen)
{
	struct cfg_src s = { "CLOUDSHIM_MOUNTS", err, errlen };
	size_t before = c->nmounts, n = 0, len;
	int rc;

	if (!spec[strspn(spec, SPACES)])
		return 0;		/* an empty list */
	for (;;) {
		len = strcspn(spec, ";");
		rc = parse_entry(c, spec, len, ++n, &s);
		if (rc || !spec[len])
			break;
		spec += len + 1;
	}
	if (rc)
		drop_mounts_after(c, before);
	return rc;
}

int config_parse_mount_option(struct shim_conf *c, const char *spec,
			      char *err, size_t errlen)
{
	struct cfg_src s = { "--mount", err, errlen };
	char q[CFG_QUOTE_MAX];

	if (strchr(spec, ';'))
		return cfg_fail(&s, cfg_quote(spec, q), "holds a ';'; give each"
				" mount its own --mount PATH=URL");
	if (!spec[strspn(spec, SPACES)])
		return cfg_fail(&s, cfg_quote(spec, q), "is empty; write"
				" --mount /path=s3://bucket/prefix");
	return parse_entry(c, spec, strlen(spec), 0, &s);
}

/* Whole file into a NUL-terminated buffer; 0 or -errno (message written). */
static int read_file(const char *path, char **out, const struct cfg_src *s)
{
	char ebuf[128], *buf;
	struct stat st;
	size_t got = 0;
	ssize_t r;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		cfg_fail(s, NULL, "cannot open: %s; point CLOUDSHIM_CONFIG at a"
			 " readable JSON file",
			 strerror_r(-rc, ebuf, sizeof(ebuf)));
		return rc;
	}
	if (fstat(fd, &st))
		st.st_mode = 0;
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
		rc = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		cfg_fail(s, NULL, "not a regular file of at most 1 MiB; point"
			 " CLOUDSHIM_CONFIG at a JSON file");
		close(fd);
		return rc;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (!buf)
		rc = -ENOMEM;
	else if (got < (size_t)st.st_size)
		rc = cfg_fail(s, NULL, "read only %zu of %lld bytes; is the"
			      " file being rewritten?", got,
			      (long long)st.st_size);
	else if (memchr(buf, '\0', got))
		rc = cfg_fail(s, NULL, "has a NUL byte; it must be JSON text");
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[got] = '\0';
	*out = buf;
	return 0;
}

static int load_file(struct shim_conf *c, const char *path,
		     char *err, size_t errlen)
{
	char origin[300], shown[256], *text = NULL;
	struct cfg_src s = { origin, err, errlen };
	size_t i;
	int rc;

	for (i = 0; path[i] && i < sizeof(shown) - 1; i++)
		shown[i] = (unsigned char)path[i] < 0x20 ? '?' : path[i];
	shown[i] = '\0';
	snprintf(origin, sizeof(origin), "CLOUDSHIM_CONFIG %s", shown);
	if (!*path)
		return cfg_fail(&s, NULL, "is empty; unset it or give the path"
				" of a JSON file");
	rc = read_file(path, &text, &s);
	if (!rc)
		rc = config_parse_json(c, text, origin, err, errlen);
	free(text);
	return rc;
}

/* A non-empty string of decimal digits, nothing else. */
static int env_integer(const struct cfg_num *n, const char *v,
		       long long *out, const struct cfg_src *s)
{
	size_t i, digits = strspn(v, "0123456789");
	char q[CFG_QUOTE_MAX];
	long long x = 0;

	if (!digits || v[digits])
		return cfg_fail(s, NULL, "%s is not a whole number; use an"
				" integer from %lld to %lld", cfg_quote(v, q),
				n->min, n->max);
	v += strspn(v, "0");	/* leading zeros */
	if (strlen(v) > 15)
		return cfg_fail(s, NULL, "%s is out of range; use an integer"
				" from %lld to %lld", cfg_quote(v, q),
				n->min, n->max);
	for (i = 0; v[i]; i++)
		x = x * 10 + (v[i] - '0');
	*out = x;
	return 0;
}

static int env_engine(struct engine_conf *ec, char *err, size_t errlen)
{
	struct cfg_src s = { NULL, err, errlen };
	long long x = 0;
	const char *v;
	int i, rc;

	for (i = 0; i < CFG_NUM_COUNT; i++) {
		s.name = cfg_nums[i].env;
		v = getenv(s.name);
		if (!v)
			continue;
		rc = env_integer(&cfg_nums[i], v, &x, &s);
		if (!rc)
			rc = cfg_num_set(ec, (enum cfg_num_id)i, x, &s, NULL);
		if (rc)
			return rc;
	}
	s.name = "CLOUDSHIM_LOG_LEVEL";
	if ((v = getenv(s.name)) && (rc = cfg_log_level(&s, NULL, v, &ec->log_level)))
		return rc;
	s.name = "CLOUDSHIM_STAGING_DIR";
	if ((v = getenv(s.name)) && (rc = cfg_dir_path(&s, NULL, v, &ec->staging_dir)))
		return rc;
	s.name = "CLOUDSHIM_RECOVERY_DIR";
	if ((v = getenv(s.name)) && (rc = cfg_dir_path(&s, NULL, v, &ec->recovery_dir)))
		return rc;
	s.name = "CLOUDSHIM_SYNC_CLOSE";
	v = getenv(s.name);
	return v ? cfg_bool(&s, NULL, v, &ec->sync_close) : 0;
}

/* One per-mount default into d; bit says which. */
static int env_store_one(struct mount_conf *d, unsigned bit, const char *v,
			 const struct cfg_src *s)
{
	struct store_conf *st = &d->store;
	char q[CFG_QUOTE_MAX];

	switch (bit) {
	case MOUNT_SET_ENDPOINT:
		return cfg_endpoint(s, NULL, v, &st->endpoint);
	case MOUNT_SET_REGION:
		return cfg_region(s, NULL, v, &st->region);
	case MOUNT_SET_ADDRESSING:
		return cfg_addressing(s, NULL, v, &st->addressing);
	case MOUNT_SET_CREDENTIALS:
		return cfg_credentials(s, NULL, v, &st->cred_source,
				       &st->profile);
	case MOUNT_SET_CHECKSUM:
		return cfg_checksum(s, NULL, v, &st->checksum);
	default:
		if (strcmp(v, "0") && strcmp(v, "1"))
			return cfg_fail(s, NULL, "%s is not 0 or 1; use 1 for"
					" read-only mounts, 0 for read-write",
					cfg_quote(v, q));
		st->read_only = *v == '1';
		return 0;
	}
}

/* The per-mount defaults from CLOUDSHIM_ENDPOINT etc., into d. */
static int env_store(struct mount_conf *d, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		unsigned bit;
	} vars[] = {
		{ "CLOUDSHIM_ENDPOINT", MOUNT_SET_ENDPOINT },
		{ "CLOUDSHIM_REGION", MOUNT_SET_REGION },
		{ "CLOUDSHIM_ADDRESSING", MOUNT_SET_ADDRESSING },
		{ "CLOUDSHIM_READ_ONLY", MOUNT_SET_READ_ONLY },
		{ "CLOUDSHIM_CREDENTIALS", MOUNT_SET_CREDENTIALS },
		{ "CLOUDSHIM_CHECKSUM", MOUNT_SET_CHECKSUM },
	};
	struct cfg_src s = { NULL, err, errlen };
	const char *v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		s.name = vars[i].name;
		v = getenv(s.name);
		if (!v)
			continue;
		rc = env_store_one(d, vars[i].bit, v, &s);
		if (rc)
			return rc;
		d->set |= vars[i].bit;
	}
	return 0;
}

static int copy_str(char **to, const char *from)
{
	free(*to);
	*to = from ? strdup(from) : NULL;
	return !from || *to ? 0 : -ENOMEM;
}

/* Gives m the defaults in d that m did not set and that apply to it. */
static int apply_defaults(struct mount_conf *m, const struct mount_conf *d)
{
	unsigned take = d->set & ~m->set & cfg_url_fields(m->store.url);
	struct store_conf *st = &m->store;
	int rc = 0;

	if (take & MOUNT_SET_ENDPOINT)
		rc = copy_str(&st->endpoint, d->store.endpoint);
	if (!rc && (take & MOUNT_SET_REGION))
		rc = copy_str(&st->region, d->store.region);
	if (take & MOUNT_SET_ADDRESSING)
		st->addressing = d->store.addressing;
	if (take & MOUNT_SET_READ_ONLY)
		st->read_only = d->store.read_only;
	if (take & MOUNT_SET_CHECKSUM)
		st->checksum = d->store.checksum;
	if (!rc && (take & MOUNT_SET_CREDENTIALS)) {
		st->cred_source = d->store.cred_source;
		rc = copy_str(&st->profile, d->store.profile);
	}
	return rc;
}

int config_apply_env(struct shim_conf *c, char *err, size_t errlen)
{
	struct engine_conf ec = c->engine;
	struct mount_conf d = { 0 };
	size_t i;
	int rc;

	rc = env_engine(&ec, err, errlen);
	if (!rc)
		rc = env_store(&d, err, errlen);
	for (i = 0; !rc && i < c->nmounts; i++)
		rc = apply_defaults(&c->mounts[i], &d);
	/* of the two values of a directory setting, free the one not kept */
	if (ec.staging_dir != c->engine.staging_dir)
		free(rc ? ec.staging_dir : c->engine.staging_dir);
	if (ec.recovery_dir != c->engine.recovery_dir)
		free(rc ? ec.recovery_dir : c->engine.recovery_dir);
	if (!rc)
		c->engine = ec;
	cfg_mount_free(&d);
	return rc;
}

int config_check(struct shim_conf *c, char *err, size_t errlen)
{
	struct cfg_src s = { "cloudshim configuration", err, errlen };
	size_t ra, cache = c->engine.cache_bytes >> 20;

	/* a smaller cache alone is a complete setting: read-ahead follows it */
	if (c->engine.readahead_max == CFG_READAHEAD_UNSET) {
		c->engine.readahead_max = ENGINE_DEFAULT_READAHEAD_MAX;
		if (c->engine.readahead_max > c->engine.cache_bytes / 2)
			c->engine.readahead_max = c->engine.cache_bytes / 2;
	}
	ra = c->engine.readahead_max >> 20;
	if (c->engine.readahead_max > c->engine.cache_bytes / 2)
		return cfg_fail(&s, NULL, "readahead_mb %zu is more than half"
				" of cache_mb %zu; set readahead_mb"
				" (CLOUDSHIM_READAHEAD_MB) to at most %zu or"
				" cache_mb (CLOUDSHIM_CACHE_MB) to at least %zu",
				ra, cache, cache / 2, ra * 2);
	return 0;
}

int config_load(struct shim_conf *out, char *err, size_t errlen)
{
	const char *v;
	int rc = 0;

	config_init(out);
	if ((v = getenv("CLOUDSHIM_CONFIG")))
		rc = load_file(out, v, err, errlen);
	if (!rc && (v = getenv("CLOUDSHIM_MOUNTS")))
		rc = config_parse_mounts(out, v, err, errlen);
	if (!rc)
		rc = config_apply_env(out, err, errlen);
	if (!rc)
		rc = config_check(out, err, errlen);
	if (rc)
		config_free(out);
	return rc;
}
