/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - unit tests of shim/config*.c: CLOUDSHIM_MOUNTS lists,
 * CLOUDSHIM_CONFIG documents and CLOUDSHIM_* variables give the right
 * structs, and every bad input gives one message naming its field.
 *
 * Prints one line per failed check and ends with "N passed, M failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/config.h"

static int passed, failed;
static char err[512];

#define CHECK(cond) check((cond), #cond, __LINE__)

static void check(int ok, const char *what, int line)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL line %d: %s (err: %s)\n", line, what, err);
}

static int has(const char *needle)
{
	return strstr(err, needle) != NULL;
}

static const char *const vars[] = {
	"CLOUDSHIM_CONFIG", "CLOUDSHIM_MOUNTS", "CLOUDSHIM_CACHE_MB",
	"CLOUDSHIM_PART_SIZE_MB", "CLOUDSHIM_CONNECTIONS",
	"CLOUDSHIM_READAHEAD_MB", "CLOUDSHIM_METADATA_TTL_MS",
	"CLOUDSHIM_REQUEST_TIMEOUT_MS", "CLOUDSHIM_LOG_LEVEL",
	"CLOUDSHIM_ENDPOINT", "CLOUDSHIM_REGION", "CLOUDSHIM_ADDRESSING",
	"CLOUDSHIM_READ_ONLY", "CLOUDSHIM_CREDENTIALS", "CLOUDSHIM_CHECKSUM",
};

static void clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

/* A spec must fail with a message holding a and b (b may be NULL). */
static void spec_bad(const char *spec, const char *a, const char *b, int line)
{
	struct shim_conf c;
	int rc;

	config_init(&c);
	err[0] = '\0';
	rc = config_parse_mounts(&c, spec, err, sizeof(err));
	check(rc == -EINVAL, spec, line);
	check(has("CLOUDSHIM_MOUNTS: ") && has(a) && (!b || has(b)), a, line);
	check(c.nmounts == 0, "no mount kept after an error", line);
	config_free(&c);
}

/* One --mount of the wrapper: errors name the option and its text, never a list's entry. */
static void test_mount_option(void)
{
	struct shim_conf c;

	config_init(&c);
	CHECK(config_parse_mount_option(&c, " /d = s3://bkt/p ", err, sizeof(err)) == 0);
	CHECK(c.nmounts == 1 && strcmp(c.mounts[0].path, "/d") == 0);
	err[0] = '\0';
	CHECK(config_parse_mount_option(&c, "/x=s4://b", err, sizeof(err)) == -EINVAL);
	CHECK(strncmp(err, "--mount: \"/x=s4://b\": unknown scheme \"s4\"", 40) == 0);
	CHECK(!has("entry") && !has("CLOUDSHIM_MOUNTS"));
	CHECK(config_parse_mount_option(&c, "/y", err, sizeof(err)) == -EINVAL);
	CHECK(has("--mount: \"/y\": missing \"=URL\""));
	CHECK(config_parse_mount_option(&c, "/y=s3://bkt;/z=s3://bkt", err, sizeof(err)) == -EINVAL);
	CHECK(has("--mount: ") && has("';'") && has("its own --mount"));
	CHECK(config_parse_mount_option(&c, " ", err, sizeof(err)) == -EINVAL);
	CHECK(has("--mount: ") && has("is empty") && !has("';'"));
	CHECK(config_parse_mount_option(&c, "/d/=s3://bkt2", err, sizeof(err)) == -EINVAL);
	CHECK(has("--mount: \"/d/=s3://bkt2\"") && has("mounted twice"));
	CHECK(c.nmounts == 1);
	config_free(&c);
}

static void json_bad(const char *json, const char *a, const char *b, int line)
{
	struct shim_conf c;
	int rc;

	config_init(&c);
	err[0] = '\0';
	rc = config_parse_json(&c, json, "test.json", err, sizeof(err));
	check(rc == -EINVAL, json, line);
	check(has("test.json: ") && has(a) && (!b || has(b)), a, line);
	check(c.nmounts == 0, "no mount kept after an error", line);
	config_free(&c);
}

/* config_load with one variable set must fail naming it. */
static void env_bad(const char *var, const char *value, const char *a,
		    int line)
{
	struct shim_conf c;
	int rc;

	clear_env();
	setenv("CLOUDSHIM_MOUNTS", "/data=s3://bucket/p", 1);
	setenv(var, value, 1);
	err[0] = '\0';
	rc = config_load(&c, err, sizeof(err));
	check(rc == -EINVAL, var, line);
	check(!strncmp(err, var, strlen(var)) && has(a), a, line);
	check(c.nmounts == 0 && !c.mounts, "load leaves an empty conf", line);
	config_free(&c);
	clear_env();
}

#define SPEC_BAD(s, a, b) spec_bad(s, a, b, __LINE__)
#define JSON_BAD(j, a, b) json_bad(j, a, b, __LINE__)
#define ENV_BAD(v, x, a) env_bad(v, x, a, __LINE__)

static void test_spec_good(void)
{
	struct shim_conf c;

	config_init(&c);
	CHECK(config_parse_mounts(&c, "/data=s3://bucket/prefix;"
		"/web=https://host/dir;/local=file:///srv/objects",
		err, sizeof(err)) == 0);
	CHECK(c.nmounts == 3);
	if (c.nmounts == 3) {
		CHECK(!strcmp(c.mounts[0].path, "/data"));
		CHECK(!strcmp(c.mounts[0].store.url, "s3://bucket/prefix"));
		CHECK(!strcmp(c.mounts[1].path, "/web"));
		CHECK(!strcmp(c.mounts[1].store.url, "https://host/dir"));
		CHECK(!strcmp(c.mounts[2].store.url, "file:///srv/objects"));
		CHECK(c.mounts[0].set == 0 && !c.mounts[0].store.endpoint);
	}
	CHECK(config_parse_mounts(&c, " //x//y/ = s3://my.bucket-1/p/ ; "
		"/a=gs://b ;/ab=az://cont/x;/r=file:///;/h=http://[::1]:8080/",
		err, sizeof(err)) == 0);
	CHECK(c.nmounts == 8);
	if (c.nmounts == 8) {
		CHECK(!strcmp(c.mounts[3].path, "/x/y"));
		CHECK(!strcmp(c.mounts[3].store.url, "s3://my.bucket-1/p"));
		CHECK(!strcmp(c.mounts[4].store.url, "gs://b"));
		CHECK(!strcmp(c.mounts[6].store.url, "file:///"));
		CHECK(!strcmp(c.mounts[7].store.url, "http://[::1]:8080"));
	}
	CHECK(config_parse_mounts(&c, "", err, sizeof(err)) == 0);
	CHECK(config_parse_mounts(&c, "  \t", err, sizeof(err)) == 0);
	CHECK(c.nmounts == 8);
	config_free(&c);
	CHECK(c.nmounts == 0 && !c.mounts);
	config_free(&c);		/* twice is harmless */
}

static void test_spec_bad(void)
{
	static const char hint[] = "use s3://, az://, gs://, http://, https://"
				   " or file://";
	char big[200];

	SPEC_BAD("/a=s3://bkt;/data", "entry 2 \"/data\": missing \"=URL\";"
		 " write /path=s3://bucket/prefix", NULL);
	SPEC_BAD("/a=s3://bkt;;/b=s3://bkt", "entry 2", "is empty");
	SPEC_BAD(";/a=s3://bkt", "entry 1", "is empty");
	SPEC_BAD("/a=s3://bkt;", "entry 2", "is empty");
	SPEC_BAD("data=s3://bkt", "entry 1", "not absolute");
	SPEC_BAD("=s3://bkt", "entry 1", "mount path is empty");
	SPEC_BAD("/=s3://bkt", "entry 1", "\"/\" cannot be a mount path");
	SPEC_BAD("///=s3://bkt", "entry 1", "cannot be a mount path");
	SPEC_BAD("/a/../b=s3://bkt", "entry 1", "'..'");
	SPEC_BAD("/a/./b=s3://bkt", "entry 1", "'.'");
	SPEC_BAD("/..=s3://bkt", "entry 1", "'..'");
	SPEC_BAD("/a=s3://bkt;/a/=s3://bkt2", "entry 2", "mounted twice");
	SPEC_BAD("/a=s3://bkt;/a/b=s3://bkt2", "entry 2", "nested");
	SPEC_BAD("/a/b=s3://bkt;/a=s3://bkt2", "entry 2", "nested");
	SPEC_BAD("/a=s4://x", "unknown scheme \"s4\"", hint);
	SPEC_BAD("/a=S3://bkt", "unknown scheme \"S3\"", hint);
	SPEC_BAD("/a=verylongscheme://x", "unknown scheme", hint);
	SPEC_BAD("/a=bucket/prefix", "no scheme", hint);
	SPEC_BAD("/a=/x://y", "no scheme", NULL);
	SPEC_BAD("/a=", "entry 1", "URL is empty");
	SPEC_BAD("/a=s3://", "needs a bucket", "s3://bucket/prefix");
	SPEC_BAD("/a=s3:///x", "needs a bucket", NULL);
	SPEC_BAD("/a=s3://ab", "bucket \"ab\" is not valid", "3 to 63");
	SPEC_BAD("/a=s3://MyBucket", "bucket \"MyBucket\"", NULL);
	SPEC_BAD("/a=s3://-abc/x", "bucket \"-abc\"", NULL);
	SPEC_BAD("/a=s3://abc_d", "bucket", NULL);
	memset(big, 'a', sizeof(big));
	memcpy(big, "/a=s3://", 8);
	big[8 + 64] = '\0';
	SPEC_BAD(big, "bucket", "3 to 63");
	SPEC_BAD("/a=gs://", "gs:// needs a bucket", NULL);
	SPEC_BAD("/a=az:///x", "az:// needs a container", NULL);
	SPEC_BAD("/a=file://srv/x", "absolute path", "file:///srv/objects");
	SPEC_BAD("/a=https://", "no host", NULL);
	SPEC_BAD("/a=https:///dir", "no host", NULL);
	SPEC_BAD("/a=http://:80/x", "no host", NULL);
	SPEC_BAD("/a=http://host:99999/", "port", NULL);
	SPEC_BAD("/a=http://host:0/", "port", NULL);
	SPEC_BAD("/a=http://host:/", "port", NULL);
	SPEC_BAD("/a=http://host:8x/", "port", NULL);
	SPEC_BAD("/a=http://u:p@host/", "passwords", NULL);
	SPEC_BAD("/a=http://[::1/", "IPv6", NULL);
	SPEC_BAD("/a=s3://bkt/x\001y", "control character", NULL);
}

static const char full_json[] =
	"{\"mounts\": [{\"path\": \"/data/\", \"url\": \"s3://bucket/prefix/\","
	" \"endpoint\": \"http://127.0.0.1:9000/\", \"region\": \"eu-west-1\","
	" \"addressing\": \"path\", \"read_only\": true,"
	" \"credentials\": \"profile:dev\"},"
	" {\"path\": \"/web\", \"url\": \"https://example.com/d\","
	" \"read_only\": false}],"
	" \"cache_mb\": 512, \"part_size_mb\": 16, \"connections\": 32,"
	" \"readahead_mb\": 64, \"metadata_ttl_ms\": 0,"
	" \"request_timeout_ms\": 1e4, \"log_level\": \"debug\"}";

static void test_json_good(void)
{
	struct shim_conf c;
	struct mount_conf *m;

	config_init(&c);
	CHECK(c.engine.cache_bytes == ENGINE_DEFAULT_CACHE_BYTES);
	CHECK(c.engine.log_level == LOG_WARN);
	CHECK(config_parse_json(&c, full_json, "t", err, sizeof(err)) == 0);
	CHECK(c.engine.cache_bytes == 512UL << 20);
	CHECK(c.engine.part_size == 16UL << 20);
	CHECK(c.engine.connections == 32);
	CHECK(c.engine.readahead_max == 64UL << 20);
	CHECK(c.engine.metadata_ttl_ms == 0);
	CHECK(c.engine.request_timeout_ms == 10000);
	CHECK(c.engine.log_level == LOG_DEBUG);
	CHECK(c.nmounts == 2);
	if (c.nmounts == 2) {
		m = &c.mounts[0];
		CHECK(!strcmp(m->path, "/data"));
		CHECK(!strcmp(m->store.url, "s3://bucket/prefix"));
		CHECK(!strcmp(m->store.endpoint, "http://127.0.0.1:9000"));
		CHECK(!strcmp(m->store.region, "eu-west-1"));
		CHECK(m->store.addressing == STORE_ADDR_PATH);
		CHECK(m->store.read_only == 1);
		CHECK(m->store.cred_source == STORE_CRED_PROFILE);
		CHECK(m->store.profile && !strcmp(m->store.profile, "dev"));
		CHECK(m->set == (MOUNT_SET_ENDPOINT | MOUNT_SET_REGION |
				 MOUNT_SET_ADDRESSING | MOUNT_SET_READ_ONLY |
				 MOUNT_SET_CREDENTIALS));
		m = &c.mounts[1];
		CHECK(m->set == MOUNT_SET_READ_ONLY && !m->store.read_only);
	}
	CHECK(config_check(&c, err, sizeof(err)) == 0);
	config_free(&c);

	config_init(&c);
	CHECK(config_parse_json(&c, "{\"cache_mb\": 16, \"readahead_mb\": 8,"
		" \"part_size_mb\": 5120, \"connections\": 256,"
		" \"metadata_ttl_ms\": 86400000, \"request_timeout_ms\": 100,"
		" \"mounts\": [{\"path\":\"/v\",\"url\":\"s3://abc\","
		"\"addressing\":\"virtual\",\"credentials\":\"anonymous\"}]}",
		NULL, err, sizeof(err)) == 0);
	CHECK(c.engine.cache_bytes == 16UL << 20);
	CHECK(config_check(&c, err, sizeof(err)) == 0);
	CHECK(c.nmounts == 1 && c.mounts[0].store.addressing ==
	      STORE_ADDR_VIRTUAL &&
	      c.mounts[0].store.cred_source == STORE_CRED_ANONYMOUS);
	CHECK(c.mounts[0].store.checksum == STORE_SUM_AUTO);	/* the default */
	CHECK(config_parse_json(&c, "{\"mounts\": [{\"path\":\"/k\","
		"\"url\":\"s3://abc\",\"checksum\":\"sha256\"}]}",
		NULL, err, sizeof(err)) == 0);
	CHECK(c.nmounts == 2 && c.mounts[1].store.checksum == STORE_SUM_SHA256);
	CHECK(config_parse_json(&c, "{\"mounts\": [{\"path\":\"/m\","
		"\"url\":\"s3://abc\",\"checksum\":\"md5\"}]}",
		NULL, err, sizeof(err)) == 0);
	CHECK(c.nmounts == 3 && c.mounts[2].store.checksum == STORE_SUM_MD5);
	CHECK(config_parse_json(&c, "{}", NULL, err, sizeof(err)) == 0);
	CHECK(config_parse_json(&c, "{\"mounts\": []}", NULL, err,
				sizeof(err)) == 0);
	config_free(&c);
}

static void test_json_bad(void)
{
	struct shim_conf c;
	char deep[4100];

	JSON_BAD("", "empty", NULL);
	JSON_BAD("{\"mounts\": [", "invalid JSON", "line 1");
	JSON_BAD("{\n\"cache_mb\": 64,\n\"x\" 1}", "invalid JSON", "line 3");
	JSON_BAD("{} {}", "invalid JSON", NULL);
	JSON_BAD("[]", "top level", "an array");
	JSON_BAD("\"x\"", "top level", NULL);
	JSON_BAD("{\"cache_size\": 64}", "unknown key \"cache_size\"",
		 "known keys: mounts, cache_mb");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"urll\": \"s3://abc\"}]}",
		 "mounts[0]: unknown key \"urll\"", "known keys: path, url");
	JSON_BAD("{\"cache_mb\": 64, \"cache_mb\": 64}", "cache_mb",
		 "appears twice");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"path\": \"/b\","
		 " \"url\": \"s3://abc\"}]}", "mounts[0]", "appears twice");
	JSON_BAD("{\"cache_mb\": \"256\"}", "cache_mb: expected an integer",
		 "got a string");
	JSON_BAD("{\"cache_mb\": null}", "cache_mb", "got null");
	JSON_BAD("{\"mounts\": {}}", "mounts: expected an array", NULL);
	JSON_BAD("{\"mounts\": [1]}", "mounts[0]: expected an object", NULL);
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\","
		 " \"read_only\": \"yes\"}]}", "mounts[0].read_only",
		 "true or false");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": 5}]}",
		 "mounts[0].url: expected a string", NULL);
	JSON_BAD("{\"mounts\": [{\"path\": [], \"url\": \"s3://abc\"}]}",
		 "mounts[0].path", "an array");
	JSON_BAD("{\"log_level\": 3}", "log_level", "a string");
	JSON_BAD("{\"log_level\": \"verbose\"}", "log_level",
		 "error, warn, info or debug");
	JSON_BAD("{\"cache_mb\": 8}", "cache_mb: 8 is out of range",
		 "16 to 1048576");
	JSON_BAD("{\"cache_mb\": 1048577}", "cache_mb", "out of range");
	JSON_BAD("{\"cache_mb\": 1e300}", "cache_mb", "out of range");
	JSON_BAD("{\"cache_mb\": 16.5}", "cache_mb", "whole number");
	JSON_BAD("{\"part_size_mb\": 0}", "part_size_mb", "1 to 5120");
	JSON_BAD("{\"part_size_mb\": 5121}", "part_size_mb", NULL);
	JSON_BAD("{\"connections\": 0}", "connections", "1 to 256");
	JSON_BAD("{\"connections\": 257}", "connections", NULL);
	JSON_BAD("{\"readahead_mb\": -1}", "readahead_mb", "0 to 65536");
	JSON_BAD("{\"readahead_mb\": 65537}", "readahead_mb", NULL);
	JSON_BAD("{\"metadata_ttl_ms\": 86400001}", "metadata_ttl_ms", NULL);
	JSON_BAD("{\"request_timeout_ms\": 99}", "request_timeout_ms",
		 "100 to 3600000");
	JSON_BAD("{\"request_timeout_ms\": 3600001}", "request_timeout_ms",
		 NULL);
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\"}]}", "mounts[0]: missing"
		 " \"url\"", NULL);
	JSON_BAD("{\"mounts\": [{\"url\": \"s3://abc\"}]}", "mounts[0]:"
		 " missing \"path\"", NULL);
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\"},"
		 " {\"path\": \"/b\", \"url\": \"s4://x\"}]}",
		 "test.json: mounts[1].url: unknown scheme \"s4\"; use s3://,"
		 " az://, gs://, http://, https:// or file://", NULL);
	JSON_BAD("{\"mounts\": [{\"path\": \"rel\", \"url\": \"s3://abc\"}]}",
		 "mounts[0].path", "not absolute");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\"},"
		 " {\"path\": \"/a/\", \"url\": \"s3://abd\"}]}",
		 "mounts[1].path", "mounted twice");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\"},"
		 " {\"path\": \"/a/b\", \"url\": \"s3://abd\"}]}",
		 "mounts[1].path", "nested");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\","
		 " \"endpoint\": \"ftp://x\"}]}", "mounts[0].endpoint",
		 "http://");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\","
		 " \"endpoint\": \"http://\"}]}", "mounts[0].endpoint", "host");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"https://h\","
		 " \"endpoint\": \"http://x\"}]}", "\"endpoint\" does not apply",
		 "https:// mounts");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"gs://b\","
		 " \"region\": \"us-east-1\"}]}", "\"region\" does not apply",
		 NULL);
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\","
		 " \"region\": \"us east\"}]}", "mounts[0].region", "us-east-1");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\","
		 " \"addressing\": \"virt\"}]}", "mounts[0].addressing",
		 "path, virtual or auto");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\","
		 " \"checksum\": \"crc32c\"}]}", "mounts[0].checksum",
		 "use auto (the default), md5 (Content-MD5");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"https://h\","
		 " \"checksum\": \"md5\"}]}", "\"checksum\" does not apply",
		 "https:// mounts");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\","
		 " \"credentials\": \"keys\"}]}", "mounts[0].credentials",
		 "profile:NAME");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\","
		 " \"credentials\": \"profile:\"}]}", "mounts[0].credentials",
		 "profile name");
	JSON_BAD("{\"mounts\": [{\"path\": \"/a\", \"url\": \"s3://abc\","
		 " \"credentials\": \"profile:a b\"}]}", "credentials", NULL);

	/* a failed document leaves the conf as it was */
	config_init(&c);
	CHECK(config_parse_mounts(&c, "/x=s3://abc", err, sizeof(err)) == 0);
	CHECK(config_parse_json(&c, "{\"cache_mb\": 64, \"mounts\": [{\"path\":"
		" \"/y\", \"url\": \"s3://abc\"}], \"bogus\": 1}", "t", err,
		sizeof(err)) == -EINVAL);
	CHECK(c.nmounts == 1 && c.engine.cache_bytes ==
	      ENGINE_DEFAULT_CACHE_BYTES);
	CHECK(config_parse_mounts(&c, "/y=s3://abc;/x/z=s3://abc", err,
				  sizeof(err)) == -EINVAL);
	CHECK(c.nmounts == 1);
	config_free(&c);

	/* readahead larger than half the cache names both */
	config_init(&c);
	CHECK(config_parse_json(&c, "{\"cache_mb\": 64, \"readahead_mb\": 40}",
				"t", err, sizeof(err)) == 0);
	CHECK(config_check(&c, err, sizeof(err)) == -EINVAL);
	CHECK(has("readahead_mb 40") && has("cache_mb 64") && has("at most 32"));
	config_free(&c);
	/* a file that sets only a small cache: read-ahead is half of it */
	config_init(&c);
	CHECK(config_parse_json(&c, "{\"cache_mb\": 20}", "t", err, sizeof(err)) == 0);
	CHECK(config_check(&c, err, sizeof(err)) == 0);
	CHECK(c.engine.readahead_max == 10UL << 20);
	config_free(&c);

	/* nesting deeper than cJSON allows, and an absurd key */
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	JSON_BAD(deep, "invalid JSON", NULL);
	memset(deep, 'k', sizeof(deep) - 1);
	memcpy(deep, "{\"", 2);
	memcpy(deep + sizeof(deep) - 8, "\": 1}", 6);
	JSON_BAD(deep, "unknown key \"kkkk", "...\"");
	CHECK(strlen(err) < sizeof(err));
	JSON_BAD("{\"a\\u0001b\": 1}", "unknown key \"a?b\"", NULL);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

static void test_load(const char *dir)
{
	char path[512];
	struct shim_conf c;
	struct mount_conf *m;
	int rc;

	snprintf(path, sizeof(path), "%s/c.json", dir);
	write_file(path, "{\"mounts\": [{\"path\": \"/data\", \"url\":"
		   " \"s3://bucket/p\", \"region\": \"eu-west-1\","
		   " \"read_only\": false},"
		   " {\"path\": \"/g\", \"url\": \"gs://gb\"}],"
		   " \"cache_mb\": 1024, \"connections\": 4}\n");
	clear_env();
	setenv("CLOUDSHIM_CONFIG", path, 1);
	setenv("CLOUDSHIM_MOUNTS", "/web=https://host/dir;/s=s3://other", 1);
	setenv("CLOUDSHIM_CONNECTIONS", "8", 1);
	setenv("CLOUDSHIM_READAHEAD_MB", "0200", 1);
	setenv("CLOUDSHIM_LOG_LEVEL", "info", 1);
	setenv("CLOUDSHIM_REGION", "us-west-2", 1);
	setenv("CLOUDSHIM_READ_ONLY", "1", 1);
	setenv("CLOUDSHIM_ENDPOINT", "https://minio.local:9000/", 1);
	setenv("CLOUDSHIM_ADDRESSING", "path", 1);
	setenv("CLOUDSHIM_CREDENTIALS", "profile:ci", 1);
	setenv("CLOUDSHIM_CHECKSUM", "sha256", 1);
	rc = config_load(&c, err, sizeof(err));
	CHECK(rc == 0);
	CHECK(c.engine.cache_bytes == 1024UL << 20);	/* file */
	CHECK(c.engine.connections == 8);		/* variable wins */
	CHECK(c.engine.readahead_max == 200UL << 20);
	CHECK(c.engine.log_level == LOG_INFO);
	CHECK(c.engine.part_size == ENGINE_DEFAULT_PART_SIZE);
	CHECK(c.nmounts == 4);
	if (c.nmounts == 4) {
		m = &c.mounts[0];			/* set its own */
		CHECK(!strcmp(m->path, "/data"));
		CHECK(!strcmp(m->store.region, "eu-west-1"));
		CHECK(m->store.read_only == 0);
		CHECK(!strcmp(m->store.endpoint, "https://minio.local:9000"));
		CHECK(m->store.cred_source == STORE_CRED_PROFILE &&
		      !strcmp(m->store.profile, "ci"));
		m = &c.mounts[1];			/* gs: no region */
		CHECK(!m->store.region && m->store.read_only == 1);
		CHECK(m->store.endpoint != NULL);
		CHECK(m->store.addressing == STORE_ADDR_AUTO);
		m = &c.mounts[2];			/* https: read_only */
		CHECK(!strcmp(m->path, "/web") && m->store.read_only == 1);
		CHECK(!m->store.endpoint && !m->store.region &&
		      m->store.cred_source == STORE_CRED_AUTO);
		m = &c.mounts[3];
		CHECK(!strcmp(m->store.region, "us-west-2"));
		CHECK(m->store.addressing == STORE_ADDR_PATH);
		CHECK(m->store.checksum == STORE_SUM_SHA256);	/* the variable's */
		CHECK(c.mounts[1].store.checksum == STORE_SUM_AUTO);	/* gs: not its field */
	}
	config_free(&c);

	/* the same path in the file and the list */
	clear_env();
	setenv("CLOUDSHIM_CONFIG", path, 1);
	setenv("CLOUDSHIM_MOUNTS", "/data/=s3://other", 1);
	CHECK(config_load(&c, err, sizeof(err)) == -EINVAL);
	CHECK(has("CLOUDSHIM_MOUNTS: entry 1") && has("mounted twice"));
	setenv("CLOUDSHIM_MOUNTS", "/g/sub=s3://other", 1);
	CHECK(config_load(&c, err, sizeof(err)) == -EINVAL);
	CHECK(has("nested"));

	/* the file itself */
	setenv("CLOUDSHIM_MOUNTS", "", 1);
	write_file(path, "{\"mounts\": [{\"path\": \"/d\", \"url\": \"s4://x\"}]}");
	CHECK(config_load(&c, err, sizeof(err)) == -EINVAL);
	CHECK(has("CLOUDSHIM_CONFIG ") && has("c.json: mounts[0].url: unknown"
					       " scheme \"s4\""));
	write_file(path, "");
	CHECK(config_load(&c, err, sizeof(err)) == -EINVAL && has("empty"));
	setenv("CLOUDSHIM_CONFIG", "/nonexistent/cloudshim.json", 1);
	CHECK(config_load(&c, err, sizeof(err)) == -ENOENT);
	CHECK(has("CLOUDSHIM_CONFIG /nonexistent/cloudshim.json: cannot open"));
	setenv("CLOUDSHIM_CONFIG", dir, 1);
	CHECK(config_load(&c, err, sizeof(err)) == -EINVAL);
	CHECK(has("regular file"));
	setenv("CLOUDSHIM_CONFIG", "", 1);
	CHECK(config_load(&c, err, sizeof(err)) == -EINVAL);
	CHECK(has("CLOUDSHIM_CONFIG") && has("is empty"));
	CHECK(c.nmounts == 0 && !c.mounts);
	unlink(path);

	/* the list through config_load, the cross check after variables */
	clear_env();
	setenv("CLOUDSHIM_MOUNTS", "/a=s3://abc;/b", 1);
	CHECK(config_load(&c, err, sizeof(err)) == -EINVAL);
	CHECK(has("CLOUDSHIM_MOUNTS: entry 2 \"/b\": missing \"=URL\""));
	clear_env();
	/* a smaller cache alone: read-ahead that nobody set follows it */
	setenv("CLOUDSHIM_CACHE_MB", "64", 1);
	CHECK(config_load(&c, err, sizeof(err)) == 0);
	CHECK(c.engine.cache_bytes == 64UL << 20 && c.engine.readahead_max == 32UL << 20);
	config_free(&c);
	/* read-ahead that was set is kept as set, and checked */
	setenv("CLOUDSHIM_READAHEAD_MB", "128", 1);
	CHECK(config_load(&c, err, sizeof(err)) == -EINVAL);
	CHECK(has("readahead_mb 128") && has("cache_mb 64") &&
	      has("CLOUDSHIM_READAHEAD_MB") && has("CLOUDSHIM_CACHE_MB"));
	setenv("CLOUDSHIM_READAHEAD_MB", "0", 1);
	CHECK(config_load(&c, err, sizeof(err)) == 0);
	CHECK(c.engine.readahead_max == 0);
	config_free(&c);
	clear_env();
	CHECK(config_load(&c, err, sizeof(err)) == 0);	/* nothing set: the default */
	CHECK(c.engine.readahead_max == ENGINE_DEFAULT_READAHEAD_MAX);
	config_free(&c);
	clear_env();
	CHECK(config_load(&c, err, sizeof(err)) == 0);	/* nothing set */
	CHECK(c.nmounts == 0 && c.engine.connections == 16);
	config_free(&c);
}

static void test_env_bad(void)
{
	ENV_BAD("CLOUDSHIM_CACHE_MB", "12abc", "not a whole number");
	ENV_BAD("CLOUDSHIM_CACHE_MB", "", "not a whole number");
	ENV_BAD("CLOUDSHIM_CACHE_MB", "-1", "\"-1\" is not a whole number");
	ENV_BAD("CLOUDSHIM_CACHE_MB", " 64", "not a whole number");
	ENV_BAD("CLOUDSHIM_CACHE_MB", "+64", "not a whole number");
	ENV_BAD("CLOUDSHIM_CACHE_MB", "0x40", "not a whole number");
	ENV_BAD("CLOUDSHIM_CACHE_MB", "8", "8 is out of range");
	ENV_BAD("CLOUDSHIM_CACHE_MB", "99999999999999999999999", "out of range");
	ENV_BAD("CLOUDSHIM_PART_SIZE_MB", "0", "1 to 5120");
	ENV_BAD("CLOUDSHIM_CONNECTIONS", "257", "1 to 256");
	ENV_BAD("CLOUDSHIM_READAHEAD_MB", "1.5", "whole number");
	ENV_BAD("CLOUDSHIM_METADATA_TTL_MS", "86400001", "out of range");
	ENV_BAD("CLOUDSHIM_REQUEST_TIMEOUT_MS", "5", "100 to 3600000");
	ENV_BAD("CLOUDSHIM_LOG_LEVEL", "loud", "error, warn, info or debug");
	ENV_BAD("CLOUDSHIM_LOG_LEVEL", "", "unknown log level");
	ENV_BAD("CLOUDSHIM_READ_ONLY", "yes", "not 0 or 1");
	ENV_BAD("CLOUDSHIM_READ_ONLY", "", "not 0 or 1");
	ENV_BAD("CLOUDSHIM_ENDPOINT", "localhost:9000", "http://");
	ENV_BAD("CLOUDSHIM_ENDPOINT", "", "endpoint");
	ENV_BAD("CLOUDSHIM_REGION", "", "us-east-1");
	ENV_BAD("CLOUDSHIM_REGION", "us/east", "region");
	ENV_BAD("CLOUDSHIM_ADDRESSING", "pathy", "path, virtual or auto");
	ENV_BAD("CLOUDSHIM_CHECKSUM", "SHA-256", "or sha256");
	ENV_BAD("CLOUDSHIM_CREDENTIALS", "profile:", "profile name");
	ENV_BAD("CLOUDSHIM_CREDENTIALS", "root", "auto, env");
	ENV_BAD("CLOUDSHIM_MOUNTS", "/x=s3://bkt;;", "entry 2");
}

static void test_small_buffers(void)
{
	struct shim_conf c;
	char tiny[8];

	config_init(&c);
	CHECK(config_parse_mounts(&c, "/a=s4://x", tiny, sizeof(tiny)) ==
	      -EINVAL);
	CHECK(strlen(tiny) == sizeof(tiny) - 1);
	CHECK(config_parse_mounts(&c, "/a=s4://x", NULL, 0) == -EINVAL);
	CHECK(config_parse_json(&c, "{", NULL, NULL, 0) == -EINVAL);
	CHECK(config_check(&c, NULL, 0) == 0);
	config_free(&c);
}

/* Random and mutated input: only 0 or -EINVAL, a terminated message. */
static void test_fuzz(void)
{
	static const char alphabet[] = "/=;:s3azgfilehtp.-[]{}\",:0123456789"
				       " \t\\ntrue";
	static const char *const seeds[] = { full_json,
		"/data=s3://bucket/prefix;/web=https://host:80/dir;"
		"/local=file:///srv/objects" };
	struct shim_conf c;
	char buf[600];
	unsigned seed = 12345;
	int i, j, len, bad = 0;

	for (i = 0; i < 20000; i++) {
		const char *base = seeds[i & 1];

		len = (int)strlen(base);
		len = len < (int)sizeof(buf) - 1 ? len : (int)sizeof(buf) - 1;
		memcpy(buf, base, (size_t)len);
		for (j = 0; j < 1 + i % 6; j++) {
			seed = seed * 1103515245u + 12345u;
			if (i % 3 == 0)
				len = (int)(seed >> 8) % (len + 1);
			else
				buf[(seed >> 8) % (unsigned)(len ? len : 1)] =
					alphabet[(seed >> 20) %
						 (sizeof(alphabet) - 1)];
		}
		buf[len] = '\0';
		config_init(&c);
		err[0] = '\0';
		j = i & 1 ? config_parse_mounts(&c, buf, err, sizeof(err)) :
			    config_parse_json(&c, buf, "f", err, sizeof(err));
		if (j == 0 && config_check(&c, err, sizeof(err)) != 0)
			j = 0;
		if ((j != 0 && j != -EINVAL) || (j && !err[0]) ||
		    strlen(err) >= sizeof(err))
			bad++;
		config_free(&c);
	}
	CHECK(bad == 0);
}

int main(void)
{
	char dir[] = "/tmp/test_config.XXXXXX";

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	clear_env();
	test_spec_good();
	test_spec_bad();
	test_mount_option();
	test_json_good();
	test_json_bad();
	test_load(dir);
	test_env_bad();
	test_small_buffers();
	test_fuzz();
	rmdir(dir);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
