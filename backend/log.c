/* SPDX-License-Identifier: MIT */
/*
 * log.c - formats a whole line first and writes it with one write(2), so
 * lines from several threads or processes never interleave.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "backend/log.h"

static atomic_int log_level = LOG_WARN;

void log_set_level(enum log_level level)
{
	atomic_store(&log_level, level);
}

int log_enabled(enum log_level level)
{
	return (int)level <= atomic_load(&log_level);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	n = snprintf(line, sizeof(line), "cloudshim: %s: ", names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* stderr may be closed or a pipe that went away: nothing to do then */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
