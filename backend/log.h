/* SPDX-License-Identifier: MIT */
/*
 * log.h - one line per event on stderr, prefixed "cloudshim: ".
 *
 * Messages name paths, keys and HTTP statuses; they never carry secrets.
 * The level comes from engine_conf.log_level (default: errors and warnings).
 */
#ifndef CLOUDSHIM_LOG_H
#define CLOUDSHIM_LOG_H

#include "backend/conf.h"

void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A line said whatever the level (progress, a summary at exit). */
void log_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Where lines go from now on (default: descriptor 2). */
void log_set_fd(int fd);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  do { if (log_enabled(LOG_INFO)) log_msg(LOG_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
