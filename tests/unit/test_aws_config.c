/* SPDX-License-Identifier: MIT */
/*
 * test_aws_config.c - unit tests of backend/aws_config.c and aws_ini.c:
 * every precedence rule for region, endpoint, profile and keys, the INI
 * dialect of the AWS files, and that no message ever shows a secret.
 *
 * Works in a mkdtemp directory used as HOME.  Prints one line per failed
 * check and ends with "N passed, M failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/aws_config.h"

#define SECRET "sEkReT/abc+123"	/* never to appear in a message */
#define TOKEN "tOkEn-FwoGZXIvYXdzE"

static int passed, failed;
static char err[1024];
static char home[64], cred_path[128], conf_path[128];
static struct aws_settings st;

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

static int is(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(text, 1, len, f) != len) {
		perror(path);
		exit(2);
	}
	fclose(f);
}

static void files(const char *cred, const char *conf)
{
	unlink(cred_path);
	unlink(conf_path);
	if (cred)
		write_file(cred_path, cred, strlen(cred));
	if (conf)
		write_file(conf_path, conf, strlen(conf));
}

static void reset(void)
{
	static const char *const vars[] = { "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_PROFILE",
		"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" };
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("HOME", home, 1);
	files(NULL, NULL);
}

/* Resolves for a store of the given source; checks the message is clean. */
static int resolve(enum store_cred_source src, const char *profile,
		   const char *region, const char *endpoint)
{
	struct store_conf sc = { 0 };
	int rc;

	sc.url = (char *)"s3://bucket/p";
	sc.cred_source = src;
	sc.profile = (char *)profile;
	sc.region = (char *)region;
	sc.endpoint = (char *)endpoint;
	aws_settings_free(&st);
	err[0] = '\0';
	rc = aws_settings_resolve(&sc, &st, err, sizeof(err));
	CHECK(!has(SECRET) && !has("sEkReT") && !has(TOKEN));
	if (rc)
		CHECK(!st.region && !st.access_key && !st.secret_key && err[0]);
	return rc;
}

static void test_defaults(void)
{
	reset();
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == 0);
	CHECK(is(st.region, "us-east-1") && !st.endpoint && st.anonymous);
	CHECK(!st.access_key && !st.secret_key && !st.session_token);
	unsetenv("HOME");
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == 0 && st.anonymous);
	CHECK(resolve(STORE_CRED_PROFILE, NULL, NULL, NULL) == -EINVAL);
	CHECK(has("\"default\" not found") && has("HOME is not set"));
	setenv("HOME", home, 1);
}

static void test_region(void)
{
	reset();
	files(NULL, "[default]\nregion = eu-central-1\n"
		    "[profile dev]\nregion=ap-south-1\n");
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(is(st.region, "eu-central-1"));
	setenv("AWS_PROFILE", "dev", 1);
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(is(st.region, "ap-south-1"));
	CHECK(resolve(STORE_CRED_ANONYMOUS, "default", NULL, NULL) == 0);
	CHECK(is(st.region, "eu-central-1"));		/* store profile wins */
	setenv("AWS_DEFAULT_REGION", "ca-central-1", 1);
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(is(st.region, "ca-central-1"));
	setenv("AWS_REGION", "sa-east-1", 1);
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(is(st.region, "sa-east-1"));
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, "me-south-1", NULL) == 0);
	CHECK(is(st.region, "me-south-1"));
	setenv("AWS_REGION", "", 1);			/* empty is unset */
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(is(st.region, "ca-central-1"));
}

static void test_endpoint(void)
{
	reset();
	files(NULL, "[default]\nendpoint_url = http://top:1/\n");
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(is(st.endpoint, "http://top:1"));
	files(NULL, "[services local]\ns3 =\n  endpoint_url = http://svc:2\n"
		    "[default]\nendpoint_url = http://top:1/\n"
		    "services = local\n");
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(is(st.endpoint, "http://svc:2"));
	files(NULL, "[default]\nendpoint_url = http://top:1/\n"
		    "s3 =\n  addressing_style = path\n"
		    "  endpoint_url = http://nested:3\nregion = x-1\n");
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(is(st.endpoint, "http://nested:3") && is(st.region, "x-1"));
	setenv("AWS_ENDPOINT_URL", "https://all.example", 1);
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(is(st.endpoint, "https://all.example"));
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000/", 1);
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(is(st.endpoint, "http://127.0.0.1:9000"));
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, "http://mine:4") == 0);
	CHECK(is(st.endpoint, "http://mine:4"));
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(!st.endpoint);
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, "http://mine:4") == 0);
	CHECK(is(st.endpoint, "http://mine:4"));
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	setenv("AWS_ENDPOINT_URL_S3", "minio:9000", 1);
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == -EINVAL);
	CHECK(has("AWS_ENDPOINT_URL_S3") && has("http://"));
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_ENDPOINT_URL");
	files(NULL, "[default]\nendpoint_url = ftp://x\n");
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == -EINVAL);
	CHECK(has(conf_path) && has("profile \"default\"") && has("ftp://x"));
}

static const char cred_file[] =
	"[default]\naws_access_key_id = AKIADEFAULT\n"
	"aws_secret_access_key = " SECRET "d\n"
	"[dev]\naws_access_key_id=AKIADEV\naws_secret_access_key=" SECRET "v\n"
	"aws_session_token=" TOKEN "v\n";

static void test_env_keys(void)
{
	reset();
	files(cred_file, NULL);
	CHECK(resolve(STORE_CRED_ENV, NULL, NULL, NULL) == -EINVAL);
	CHECK(has("AWS_ACCESS_KEY_ID") && has("AWS_SECRET_ACCESS_KEY"));
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	CHECK(resolve(STORE_CRED_ENV, NULL, NULL, NULL) == -EINVAL);
	CHECK(has("AWS_SECRET_ACCESS_KEY is not"));
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == -EINVAL);
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_SECRET_ACCESS_KEY", SECRET "e", 1);
	CHECK(resolve(STORE_CRED_ENV, NULL, NULL, NULL) == -EINVAL);
	CHECK(has("AWS_ACCESS_KEY_ID is not"));
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	CHECK(resolve(STORE_CRED_ENV, NULL, NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIAENV") && is(st.secret_key, SECRET "e"));
	CHECK(!st.session_token && !st.anonymous);
	setenv("AWS_SESSION_TOKEN", TOKEN "e", 1);
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIAENV") && is(st.session_token, TOKEN "e"));
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	CHECK(st.anonymous && !st.access_key && !st.secret_key);
	CHECK(resolve(STORE_CRED_PROFILE, NULL, NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIADEFAULT") && !st.session_token);
}

static void test_profile_keys(void)
{
	reset();
	files(cred_file, "[default]\naws_access_key_id = AKIACONF\n"
		"aws_secret_access_key = " SECRET "c\n"
		"[profile conf]\naws_access_key_id = AKIACONF2\n"
		"aws_secret_access_key = " SECRET "c2\n"
		"[profile empty]\nregion = us-west-1\n"
		"[profile role]\nrole_arn = arn:aws:iam::1:role/x\n"
		"source_profile = default\n"
		"[profile half]\naws_access_key_id = AKIAHALF\n");
	CHECK(resolve(STORE_CRED_PROFILE, NULL, NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIADEFAULT"));	/* credentials wins */
	CHECK(is(st.secret_key, SECRET "d") && !st.anonymous);
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIADEFAULT"));
	CHECK(resolve(STORE_CRED_PROFILE, "dev", NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIADEV") && is(st.session_token, TOKEN "v"));
	setenv("AWS_PROFILE", "dev", 1);
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIADEV"));
	CHECK(resolve(STORE_CRED_AUTO, "conf", NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIACONF2"));		/* from config */
	CHECK(is(st.secret_key, SECRET "c2") && !st.session_token);

	CHECK(resolve(STORE_CRED_PROFILE, "nope", NULL, NULL) == -EINVAL);
	CHECK(has("\"nope\" not found") && has(cred_path) && has(conf_path));
	CHECK(resolve(STORE_CRED_AUTO, "nope", NULL, NULL) == -EINVAL);
	CHECK(has("\"nope\" not found"));
	setenv("AWS_PROFILE", "nope", 1);
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == -EINVAL);
	CHECK(has("\"nope\""));
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == 0);
	unsetenv("AWS_PROFILE");
	CHECK(resolve(STORE_CRED_PROFILE, "empty", NULL, NULL) == -EINVAL);
	CHECK(has("\"empty\" has no aws_access_key_id") && has(conf_path));
	CHECK(resolve(STORE_CRED_AUTO, "empty", NULL, NULL) == 0);
	CHECK(st.anonymous && is(st.region, "us-west-1"));
	CHECK(resolve(STORE_CRED_AUTO, "role", NULL, NULL) == -EINVAL);
	CHECK(has("\"role\" uses role_arn"));
	CHECK(resolve(STORE_CRED_PROFILE, "half", NULL, NULL) == -EINVAL);
	CHECK(has("\"half\"") && has("not aws_secret_access_key"));

	files("[default]\naws_secret_access_key = " SECRET "\n", NULL);
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == -EINVAL);
	CHECK(has(cred_path) && has("not aws_access_key_id"));
	files(NULL, NULL);		/* no files: default gives anonymous */
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == 0 && st.anonymous);
	CHECK(resolve(STORE_CRED_PROFILE, NULL, NULL, NULL) == -EINVAL);
}

static void test_file_vars(void)
{
	char other[160], big_path[160];
	char *big;

	reset();
	snprintf(other, sizeof(other), "%s/other", home);
	write_file(other, "[ci]\naws_access_key_id = AKIAOTHER\n"
		   "aws_secret_access_key = " SECRET "o\n",
		   strlen("[ci]\naws_access_key_id = AKIAOTHER\n"
			  "aws_secret_access_key = " SECRET "o\n"));
	files(cred_file, NULL);
	setenv("AWS_SHARED_CREDENTIALS_FILE", other, 1);
	CHECK(resolve(STORE_CRED_PROFILE, "ci", NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIAOTHER"));
	CHECK(resolve(STORE_CRED_PROFILE, "dev", NULL, NULL) == -EINVAL);
	CHECK(has(other));
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	write_file(other, "[profile ci]\nregion = eu-north-1\n", 32);
	setenv("AWS_CONFIG_FILE", other, 1);
	CHECK(resolve(STORE_CRED_ANONYMOUS, "ci", NULL, NULL) == 0);
	CHECK(is(st.region, "eu-north-1"));
	setenv("AWS_CONFIG_FILE", home, 1);		/* a directory */
	CHECK(resolve(STORE_CRED_ANONYMOUS, NULL, NULL, NULL) == -EISDIR);
	CHECK(has("AWS_CONFIG_FILE") && has(home));
	setenv("AWS_CONFIG_FILE", "/dev/null", 1);
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIADEFAULT"));
	unsetenv("AWS_CONFIG_FILE");
	unlink(other);

	snprintf(big_path, sizeof(big_path), "%s/big", home);
	big = malloc(5u << 20);
	if (!big)
		exit(2);
	memset(big, '#', 5u << 20);
	write_file(big_path, big, 5u << 20);
	free(big);
	setenv("AWS_SHARED_CREDENTIALS_FILE", big_path, 1);
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == -EFBIG);
	CHECK(has(big_path) && has("AWS_SHARED_CREDENTIALS_FILE"));
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unlink(big_path);
}

static void test_ini_dialect(void)
{
	static const char crlf[] =
		"; a comment\r\n# another\r\n\r\n"
		"stray = before any section\r\n"
		"[ default ]\r\n"
		"  aws_access_key_id   =   AKIACRLF   \r\n"
		"\taws_secret_access_key:" SECRET "x ; inline comment\r\n"
		"aws_session_token = " TOKEN "x   # another\r\n"
		"line without delimiter\r\n"
		"[broken header\r\n"
		"[profile   tabs\t]\r\nregion=t-1";		/* no final EOL */
	static const char nul[] = "[default]\naws_access_key_id = AKIA\0NUL\n"
				  "aws_secret_access_key = " SECRET "\n";
	char *longline;
	size_t n = 200000;

	reset();
	files(crlf, crlf);
	CHECK(resolve(STORE_CRED_PROFILE, NULL, NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIACRLF") && is(st.secret_key, SECRET "x"));
	CHECK(is(st.session_token, TOKEN "x"));
	CHECK(resolve(STORE_CRED_ANONYMOUS, "tabs", NULL, NULL) == 0);
	CHECK(is(st.region, "t-1"));

	files(NULL, NULL);
	write_file(cred_path, nul, sizeof(nul) - 1);
	CHECK(resolve(STORE_CRED_PROFILE, NULL, NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIA"));		/* cut at the NUL */

	longline = malloc(n + 200);
	if (!longline)
		exit(2);
	memset(longline, 'x', n);
	strcpy(longline + n, "\n[default]\naws_access_key_id = AKIALONG\n"
	       "aws_secret_access_key = " SECRET "\n[");
	write_file(cred_path, longline, strlen(longline));
	CHECK(resolve(STORE_CRED_PROFILE, NULL, NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIALONG"));
	longline[0] = '[';
	longline[1] = '=';
	write_file(cred_path, longline, n);		/* one huge header */
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == 0 && st.anonymous);
	free(longline);

	/* nested keys are not the profile's own; a new header ends a block */
	files("[default]\nnested =\n  aws_access_key_id = AKIANESTED\n"
	      "  aws_secret_access_key = " SECRET "\n"
	      "[other]\naws_access_key_id = AKIAOTHER\n", NULL);
	CHECK(resolve(STORE_CRED_AUTO, NULL, NULL, NULL) == 0 && st.anonymous);
	files("[default]\naws_access_key_id = AKIAOLD\n"
	      "aws_access_key_id = AKIANEW\n"
	      "aws_secret_access_key = " SECRET "\n"
	      "aws_session_token =\n", "[profile default]\nregion = pd-1\n");
	CHECK(resolve(STORE_CRED_PROFILE, NULL, NULL, NULL) == 0);
	CHECK(is(st.access_key, "AKIANEW") && !st.session_token);
	CHECK(is(st.region, "pd-1"));
	files("[profiledev]\naws_access_key_id = A\n", "[profiledev]\n"
	      "region = bad\n[dev]\nregion = bad2\n");
	CHECK(resolve(STORE_CRED_ANONYMOUS, "dev", NULL, NULL) == 0);
	CHECK(is(st.region, "us-east-1"));
}

/* Random bytes in both files: no crash, no leak, no secret shown. */
static void test_fuzz(void)
{
	static const char alphabet[] = "[]=:#; \t\r\n\nprofiledaws_cesktny"
				       "_idregionpoint_url3s" SECRET;
	static const enum store_cred_source srcs[] = { STORE_CRED_AUTO,
		STORE_CRED_PROFILE, STORE_CRED_ENV, STORE_CRED_ANONYMOUS };
	char buf[400];
	unsigned seed = 4242;
	int i, rc, bad = 0;
	size_t j, len;

	reset();
	for (i = 0; i < 3000; i++) {
		len = (size_t)i % sizeof(buf);
		if (i % 2)
			memcpy(buf, cred_file, len < sizeof(cred_file) ?
			       len : sizeof(cred_file));
		for (j = 0; j < len; j++) {
			seed = seed * 1103515245u + 12345u;
			if (!(i % 2) || (seed >> 24) < 40)
				buf[j] = alphabet[(seed >> 16) %
						  (sizeof(alphabet) - 1)];
		}
		write_file(i % 3 ? cred_path : conf_path, buf, len);
		rc = resolve(srcs[i % 4], i % 5 ? NULL : "dev", NULL, NULL);
		if (rc && rc != -EINVAL)
			bad++;
	}
	CHECK(bad == 0);
	aws_settings_free(&st);
	aws_settings_free(&st);				/* twice is harmless */
	aws_settings_free(NULL);
}

int main(void)
{
	char aws[96];

	snprintf(home, sizeof(home), "/tmp/test_aws_config.XXXXXX");
	if (!mkdtemp(home)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(aws, sizeof(aws), "%s/.aws", home);
	snprintf(cred_path, sizeof(cred_path), "%s/credentials", aws);
	snprintf(conf_path, sizeof(conf_path), "%s/config", aws);
	if (mkdir(aws, 0700)) {
		perror(aws);
		return 2;
	}
	test_defaults();
	test_region();
	test_endpoint();
	test_env_keys();
	test_profile_keys();
	test_file_vars();
	test_ini_dialect();
	test_fuzz();
	reset();
	rmdir(aws);
	rmdir(home);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
