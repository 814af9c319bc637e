// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection for tests: a server that kills itself at a named point
 * (after a commit, before the replies; between data and metadata), the
 * way a power cut or a crash would stop it there.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "srv.h"

void srv_crash_point(const char *env_name, const char *point)
{
	static char want[32];
	static long n = -1, seen;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	const char *env;

	pthread_mutex_lock(&lock);
	if (n < 0) {
		env = getenv(env_name);
		n = 0;
		if (env && strchr(env, ':')) {
			snprintf(want, sizeof(want), "%.*s",
				 (int)(strchr(env, ':') - env), env);
			n = strtol(strchr(env, ':') + 1, NULL, 10);
		}
	}
	if (n > 0 && !strcmp(point, want) && ++seen == n) {
		log_warn("crash point %s reached: killing myself", point);
		kill(getpid(), SIGKILL);
	}
	pthread_mutex_unlock(&lock);
}
