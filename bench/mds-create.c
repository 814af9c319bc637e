// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark (not a test): metadata mutations per second against one MDS
 * from THREADS connections at once, each creating FILES files in a
 * directory of its own, then removing them.  With group commit N
 * concurrent creates share one sync: the rate should grow with THREADS
 * on a disk whose sync costs.
 *
 *   bench-mds-create MDS_ADDR [THREADS] [FILES]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "bench.h"

static const struct vdc_opts bench_client_opts = {
	.role = VDIFS_ROLE_CLIENT, .timeout_ms = 60000, .insecure = true,
};

/* a cluster started with --insecure (the bench scripts do) */

struct worker {
	pthread_t th;
	const char *addr;
	struct vdc_vol *v;
	int idx, files, err;
	double t_create, t_unlink;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct vdc_conn *c;
	struct vdc_attr d;
	char name[32];
	double t0;
	int i;

	w->err = vdc_connect(w->addr, &bench_client_opts, &c);
	if (w->err)
		return NULL;
	snprintf(name, sizeof(name), "d%d.%ld", w->idx, (long)time(NULL));
	w->err = vdc_create(c, w->v->vol, w->v->root_ino, name, S_IFDIR | 0755,
			    0, 0, 0, true, NULL, &d);
	t0 = now();
	for (i = 0; i < w->files && !w->err; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		w->err = vdc_create(c, w->v->vol, d.ino, name, S_IFREG | 0644,
				    0, 0, 0, true, NULL, NULL);
	}
	w->t_create = now() - t0;
	t0 = now();
	for (i = 0; i < w->files && !w->err; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		w->err = vdc_unlink(c, w->v->vol, d.ino, name);
	}
	w->t_unlink = now() - t0;
	vdc_close(c);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 2 ? atoi(argv[2]) : 4;
	int files = argc > 3 ? atoi(argv[3]) : 200;
	struct worker w[64];
	struct vdc_conn *c;
	struct vdc_vol v;
	double tc = 0, tu = 0;
	int i, ret;

	if (argc < 2 || threads < 1 || threads > 64 || files < 1) {
		fprintf(stderr, "usage: bench-mds-create MDS_ADDR [THREADS] [FILES]\n");
		return 2;
	}
	ret = vdc_connect(argv[1], &bench_client_opts, &c);
	if (!ret)
		ret = vdc_vol_open(c, "vdifs", &v);
	if (ret) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	vdc_close(c);
	for (i = 0; i < threads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].addr = argv[1];
		w[i].v = &v;
		w[i].idx = i;
		w[i].files = files;
		pthread_create(&w[i].th, NULL, run, &w[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		if (w[i].err) {
			fprintf(stderr, "worker %d: %s\n", i,
				strerror(-w[i].err));
			return 1;
		}
		tc = w[i].t_create > tc ? w[i].t_create : tc;
		tu = w[i].t_unlink > tu ? w[i].t_unlink : tu;
	}
	printf("%d threads: %.0f creates/s, %.0f unlinks/s\n", threads,
	       threads * files / tc, threads * files / tu);
	return 0;
}
