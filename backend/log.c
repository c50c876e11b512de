/* SPDX-License-Identifier: MIT */
/*
 * log.c - formats a whole line first and writes it with one write(2), so
 * lines from several threads or processes never interleave.
 *
 * Lines go to the standard error the process started with, through a
 * descriptor of our own (log_set_fd): many programs close stderr on their
 * way out (GNU coreutils do), just before the shim reports how their
 * uploads went, and a later open may even have reused descriptor 2.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "backend/log.h"

static atomic_int log_level = LOG_WARN;
static atomic_int log_fd = STDERR_FILENO;

void log_set_fd(int fd)
{
	atomic_store(&log_fd, fd);
}

void log_set_level(enum log_level level)
{
	atomic_store(&log_level, level);
}

int log_enabled(enum log_level level)
{
	return (int)level <= atomic_load(&log_level);
}

/* "cloudshim: " and prefix (may be ""), then the message, as one line. */
static void emit(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "cloudshim: %s", prefix);

	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* stderr may be closed or a pipe that went away: nothing to do then */
	if (write(atomic_load(&log_fd), line, (size_t)n) < 0)
		return;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error: ", "warning: ", "info: ", "debug: " };
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	emit(names[level], fmt, ap);
	va_end(ap);
}

void log_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}
