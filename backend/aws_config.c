/* SPDX-License-Identifier: MIT */
/*
 * aws_config.c - resolves one S3 mount's region, endpoint and keys from the
 * store settings, AWS_* variables and the shared AWS files (see the rules
 * in aws_config.h).
 *
 * Each source is one small step, tried in the documented order; the files
 * are read once per call through aws_ini.c, and every buffer that held a
 * key is wiped before it is freed.  Messages name profiles, files and
 * variables, never a key's value.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/aws_config.h"
#include "backend/aws_ini.h"

#define SHOWN_MAX 64

struct aws_files {
	char *cred_path, *conf_path;	/* NULL: no HOME and no variable */
	char *cred, *conf;		/* NULL: file absent */
	size_t cred_len, conf_len;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A user-given name for a message: control bytes as '?', shortened. */
static const char *shown(const char *s, char buf[SHOWN_MAX])
{
	size_t i;

	for (i = 0; s[i] && i < SHOWN_MAX - 4; i++)
		buf[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* getenv, with "" taken as unset as the AWS tools do. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int read_one(const char *path, const char *var, char **out,
		    size_t *len, char *err, size_t errlen)
{
	char ebuf[128];
	int rc;

	if (!path)
		return 0;
	rc = aws_ini_read(path, out, len);
	if (rc == -ENOMEM || !rc)
		return rc;
	fail(err, errlen, "cannot read %s: %s; fix the file or point %s at"
	     " another one", path, strerror_r(-rc, ebuf, sizeof(ebuf)), var);
	return rc;
}

static char *default_path(const char *var, const char *name)
{
	const char *v = env(var), *home = env("HOME");
	char *p = NULL;

	if (v)
		return strdup(v);
	if (home && asprintf(&p, "%s/.aws/%s", home, name) < 0)
		return NULL;
	return p;
}

static void files_free(struct aws_files *f)
{
	aws_ini_release(f->cred, f->cred_len);
	aws_ini_release(f->conf, f->conf_len);
	free(f->cred_path);
	free(f->conf_path);
	memset(f, 0, sizeof(*f));
}

static int files_load(struct aws_files *f, char *err, size_t errlen)
{
	int rc;

	f->cred_path = default_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	f->conf_path = default_path("AWS_CONFIG_FILE", "config");
	if ((env("AWS_SHARED_CREDENTIALS_FILE") && !f->cred_path) ||
	    (env("AWS_CONFIG_FILE") && !f->conf_path))
		return -ENOMEM;
	rc = read_one(f->cred_path, "AWS_SHARED_CREDENTIALS_FILE", &f->cred,
		      &f->cred_len, err, errlen);
	if (!rc)
		rc = read_one(f->conf_path, "AWS_CONFIG_FILE", &f->conf,
			      &f->conf_len, err, errlen);
	return rc;
}

/* Looks key up in the profile of the config file (sub-section sub). */
static int conf_get(const struct aws_files *f, const char *profile,
		    const char *sub, const char *key, char **out)
{
	struct aws_ini_want w = { "profile", profile, sub, key };

	return f->conf ? aws_ini_get(f->conf, f->conf_len, &w, out) : 0;
}

static int take(char **to, const char *from)
{
	*to = strdup(from);
	return *to ? 0 : -ENOMEM;
}

static int resolve_region(const struct store_conf *sc, const char *profile,
			  const struct aws_files *f, struct aws_settings *out)
{
	const char *v = sc->region ? sc->region : env("AWS_REGION");
	int rc;

	if (!v)
		v = env("AWS_DEFAULT_REGION");
	if (v)
		return take(&out->region, v);
	rc = conf_get(f, profile, NULL, "region", &out->region);
	return rc < 0 ? rc : rc ? 0 : take(&out->region, "us-east-1");
}

/* Keeps an http(s)://host URL without trailing '/'; else an error. */
static int set_endpoint(char **to, char *v, const char *from,
			char *err, size_t errlen)
{
	size_t n = strlen(v), skip = !strncmp(v, "https://", 8) ? 8 :
		   !strncmp(v, "http://", 7) ? 7 : 0;
	char q[SHOWN_MAX];

	if (!skip || !v[skip] || strchr("/?#:", v[skip])) {
		fail(err, errlen, "%s: endpoint \"%s\" is not an http:// or"
		     " https:// URL with a host; write e.g."
		     " http://127.0.0.1:9000", from, shown(v, q));
		free(v);
		return -EINVAL;
	}
	while (n > skip + 1 && v[n - 1] == '/')
		v[--n] = '\0';
	*to = v;
	return 0;
}

/* The profile's s3 endpoint_url: nested "s3 =", then [services NAME]. */
static int conf_s3_endpoint(const struct aws_files *f, const char *profile,
			    char **out)
{
	struct aws_ini_want w = { "services", NULL, "s3", "endpoint_url" };
	char *svc = NULL;
	int rc;

	rc = conf_get(f, profile, "s3", "endpoint_url", out);
	if (rc || (rc = conf_get(f, profile, NULL, "services", &svc)) <= 0)
		return rc;
	w.name = svc;
	rc = aws_ini_get(f->conf, f->conf_len, &w, out);
	free(svc);
	return rc;
}

static int resolve_endpoint(const struct store_conf *sc, const char *profile,
			    const struct aws_files *f, struct aws_settings *out,
			    char *err, size_t errlen)
{
	static const char *const vars[] = { "AWS_ENDPOINT_URL_S3",
					    "AWS_ENDPOINT_URL" };
	const char *ign = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	char from[SHOWN_MAX + 300], q[SHOWN_MAX], *v = NULL;
	int i, rc;

	if (sc->endpoint)
		return take(&out->endpoint, sc->endpoint);
	if (ign && !strcasecmp(ign, "true"))
		return 0;
	for (i = 0; i < 2; i++) {
		if (!env(vars[i]))
			continue;
		if (!(v = strdup(env(vars[i]))))
			return -ENOMEM;
		return set_endpoint(&out->endpoint, v, vars[i], err, errlen);
	}
	rc = conf_s3_endpoint(f, profile, &v);
	if (!rc)
		rc = conf_get(f, profile, NULL, "endpoint_url", &v);
	if (rc <= 0)
		return rc;
	snprintf(from, sizeof(from), "%.256s, profile \"%s\"", f->conf_path,
		 shown(profile, q));
	return set_endpoint(&out->endpoint, v, from, err, errlen);
}

/* Keys of one profile in one file: 1 found, 0 none, -EINVAL only one. */
static int keys_in(const char *text, size_t len, const char *kind,
		   const char *profile, const char *path,
		   struct aws_settings *out, char *err, size_t errlen)
{
	struct aws_ini_want w = { kind, profile, NULL, "aws_access_key_id" };
	char q[SHOWN_MAX];
	int a, s, t = 0;

	if (!text)
		return 0;
	a = aws_ini_get(text, len, &w, &out->access_key);
	w.key = "aws_secret_access_key";
	s = a < 0 ? 0 : aws_ini_get(text, len, &w, &out->secret_key);
	w.key = "aws_session_token";
	if (a == 1 && s == 1)
		t = aws_ini_get(text, len, &w, &out->session_token);
	if (a < 0 || s < 0 || t < 0)
		return -ENOMEM;
	if (a == s)
		return a;
	return fail(err, errlen, "AWS profile \"%s\" in %s has %s but not %s;"
		    " add the missing key", shown(profile, q), path,
		    a ? "aws_access_key_id" : "aws_secret_access_key",
		    a ? "aws_secret_access_key" : "aws_access_key_id");
}

/*
 * A key naming a credential source we cannot use, or NULL.  The AWS tools
 * try roles, web identity and SSO before the files' keys (early), and
 * credential_process after the credentials file's keys.
 */
static const char *unsupported(const struct aws_files *f, const char *profile,
			       int early)
{
	static const char *const keys[] = { "role_arn",
		"web_identity_token_file", "sso_session", "sso_start_url",
		"credential_process" };
	struct aws_ini_want c = { "", profile, NULL, NULL };
	size_t i = early ? 0 : 4, last = early ? 4 : 5;
	char *v;

	for (; i < last; i++) {
		c.key = keys[i];
		v = NULL;
		if ((f->cred && aws_ini_get(f->cred, f->cred_len, &c, &v) > 0) ||
		    conf_get(f, profile, NULL, keys[i], &v) > 0) {
			free(v);
			return keys[i];
		}
	}
	return NULL;
}

/*
 * Keys of the profile: 1 found, 0 none (allowed unless required), or an
 * error.  A profile named explicitly must exist.
 */
static int from_profile(const struct aws_files *f, const char *profile,
			int required, int named, struct aws_settings *out,
			char *err, size_t errlen)
{
	struct aws_ini_want c = { "", profile, NULL, NULL };
	struct aws_ini_want p = { "profile", profile, NULL, NULL };
	const char *cp = f->cred_path ? f->cred_path : "(no credentials file:"
		" HOME is not set)", *pp = f->conf_path ? f->conf_path : "(none)";
	const char *bad;
	char q[SHOWN_MAX];
	int rc, exists;

	shown(profile, q);
	bad = unsupported(f, profile, 1);
	rc = bad ? 0 : keys_in(f->cred, f->cred_len, "", profile, cp, out,
			       err, errlen);
	if (!rc && !bad && !(bad = unsupported(f, profile, 0)))
		rc = keys_in(f->conf, f->conf_len, "profile", profile, pp, out,
			     err, errlen);
	if (rc)
		return rc;
	exists = (f->cred && aws_ini_get(f->cred, f->cred_len, &c, NULL) > 0) ||
		 (f->conf && aws_ini_get(f->conf, f->conf_len, &p, NULL) > 0);
	if (bad)
		return fail(err, errlen, "AWS profile \"%s\" uses %s, which"
			    " cloudshim does not support; give the profile"
			    " aws_access_key_id and aws_secret_access_key, or"
			    " export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
			    q, bad);
	if (!exists && (required || named))
		return fail(err, errlen, "AWS profile \"%s\" not found in %s or"
			    " %s; add [%s] with aws_access_key_id and"
			    " aws_secret_access_key to the credentials file,"
			    " or name an existing profile (AWS_PROFILE,"
			    " credentials \"profile:NAME\")",
			    q, cp, pp, q);
	if (required)
		return fail(err, errlen, "AWS profile \"%s\" has no"
			    " aws_access_key_id and aws_secret_access_key in %s"
			    " or %s; add them, or use credentials \"env\" or"
			    " \"anonymous\"", q, cp, pp);
	return 0;
}

static int from_env(struct aws_settings *out, int required,
		    char *err, size_t errlen)
{
	const char *ak = env("AWS_ACCESS_KEY_ID");
	const char *sk = env("AWS_SECRET_ACCESS_KEY");
	const char *tok = env("AWS_SESSION_TOKEN");

	if (!ak && !sk && !required)
		return 0;
	if (!ak || !sk)
		return fail(err, errlen, "%s is set but %s is not; export both"
			    " (or neither, to use the AWS profile files)",
			    ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			    ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	if (take(&out->access_key, ak) || take(&out->secret_key, sk) ||
	    (tok && take(&out->session_token, tok)))
		return -ENOMEM;
	return 1;
}

static int resolve_keys(const struct store_conf *sc, const char *profile,
			int named, const struct aws_files *f,
			struct aws_settings *out, char *err, size_t errlen)
{
	int rc;

	switch (sc->cred_source) {
	case STORE_CRED_ANONYMOUS:
		rc = 0;
		break;
	case STORE_CRED_ENV:
		if (!env("AWS_ACCESS_KEY_ID") && !env("AWS_SECRET_ACCESS_KEY"))
			return fail(err, errlen, "credentials \"env\" needs"
				    " AWS_ACCESS_KEY_ID and"
				    " AWS_SECRET_ACCESS_KEY; export both,"
				    " or use credentials \"auto\"");
		rc = from_env(out, 1, err, errlen);
		break;
	case STORE_CRED_PROFILE:
		rc = from_profile(f, profile, 1, named, out, err, errlen);
		break;
	default:
		rc = from_env(out, 0, err, errlen);
		if (!rc)
			rc = from_profile(f, profile, 0, named, out, err,
					  errlen);
		break;
	}
	if (rc < 0)
		return rc;
	out->anonymous = !rc;
	return 0;
}

/* Prefixes the message with the store it is about. */
static void name_store(const struct store_conf *sc, const char *msg,
		       char *err, size_t errlen)
{
	char q[SHOWN_MAX];

	if (err && errlen)
		snprintf(err, errlen, "%s: %s",
			 sc->url ? shown(sc->url, q) : "S3 store", msg);
}

int aws_settings_resolve(const struct store_conf *sc, struct aws_settings *out,
			 char *err, size_t errlen)
{
	struct aws_files f = { 0 };
	const char *profile = sc->profile ? sc->profile : env("AWS_PROFILE");
	int named = profile != NULL, rc;
	char msg[768] = "";

	memset(out, 0, sizeof(*out));
	if (!profile)
		profile = "default";
	rc = files_load(&f, msg, sizeof(msg));
	if (!rc)
		rc = resolve_region(sc, profile, &f, out);
	if (!rc)
		rc = resolve_endpoint(sc, profile, &f, out, msg, sizeof(msg));
	if (!rc)
		rc = resolve_keys(sc, profile, named, &f, out, msg, sizeof(msg));
	if (rc == -ENOMEM)
		fail(msg, sizeof(msg), "out of memory reading the AWS settings");
	files_free(&f);
	if (rc) {
		name_store(sc, msg, err, errlen);
		aws_settings_free(out);
	}
	return rc;
}

static void wipe(char **s)
{
	if (*s)
		explicit_bzero(*s, strlen(*s));
	free(*s);
	*s = NULL;
}

void aws_settings_free(struct aws_settings *s)
{
	if (!s)
		return;
	wipe(&s->access_key);
	wipe(&s->secret_key);
	wipe(&s->session_token);
	free(s->region);
	free(s->endpoint);
	memset(s, 0, sizeof(*s));
}
