/* SPDX-License-Identifier: MIT */
/*
 * aws_config.h - settles the region, endpoint and credentials of one S3
 * mount the way the AWS tools do: the mount's own settings, then AWS_*
 * variables, then the shared credentials and config files.
 *
 * Region:   store region, AWS_REGION, AWS_DEFAULT_REGION, the profile's
 *           region in the config file, else "us-east-1".
 * Endpoint: store endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the
 *           profile's s3 endpoint_url (nested "s3 =" or its [services]
 *           section), the profile's endpoint_url, else NULL.  Variables and
 *           files are skipped if AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true.
 * Profile:  store profile, AWS_PROFILE, else "default".
 * Files:    AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials, [name])
 *           and AWS_CONFIG_FILE (default ~/.aws/config, [profile name] and
 *           [default]).  Keys come from the first file whose profile has
 *           both aws_access_key_id and aws_secret_access_key.
 * Messages never hold a secret key or session token.
 */
#ifndef CLOUDSHIM_AWS_CONFIG_H
#define CLOUDSHIM_AWS_CONFIG_H

#include <stddef.h>

#include "backend/conf.h"

struct aws_settings {
	char *access_key;	/* NULL when anonymous */
	char *secret_key;
	char *session_token;	/* NULL: none */
	char *region;		/* never NULL after a successful resolve */
	char *endpoint;		/* "http://host:port", no trailing '/'; NULL:
				   AWS's own endpoint for the region */
	int anonymous;		/* 1: send unsigned requests */
};

/*
 * Fills *out for the store sc (its cred_source picks the credentials).
 * Returns 0, -EINVAL (bad or missing settings) or -errno (a file that exists
 * but cannot be read); on failure *out is empty and err says what to fix.
 */
int aws_settings_resolve(const struct store_conf *sc, struct aws_settings *out,
			 char *err, size_t errlen);

/* Wipes the secrets, frees the strings, leaves *s zeroed. */
void aws_settings_free(struct aws_settings *s);

#endif
