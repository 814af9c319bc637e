// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

static const char *log_prog = "vdifs";
static int log_level = LOG_INFO_L;

void log_init(const char *prog, int level)
{
	log_prog = prog;
	log_level = level;
}

void log_msg(int level, const char *fmt, ...)
{
	static const char * const names[] = { "error", "warning", "info",
					       "debug" };
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s.%03ld %s[%d]: %s: ", ts, now.tv_nsec / 1000000,
		log_prog, (int)getpid(), names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}
