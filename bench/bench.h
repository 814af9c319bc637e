/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the benchmark programs share: how they connect (keyless: the bench
 * scripts start their clusters --insecure), a clock, dying with a
 * message, and the data servers' addresses from the MDS's status.
 */
#ifndef _VDIFS_BENCH_H
#define _VDIFS_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "vdifs_client.h"
#include "msg.h"

static inline struct vdc_opts bench_opts(u32 role)
{
	struct vdc_opts o = { .role = role, .timeout_ms = 60000,
			      .insecure = true };

	return o;
}

static inline double bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noreturn))
static inline void bench_die(const char *what, int ret)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
		strerror(-ret));
	exit(1);
}

/* the data servers the MDS knows, by id */
/* one reply off c, on which requests are pipelined: 0 or its error */
static inline int bench_reply(struct vdc_conn *c)
{
	struct vdc_msg m;
	int ret = msg_read(vdc_fd(c), &m, 60000);

	if (ret)
		return ret;
	ret = m.hdr.status;
	vdc_msg_free(&m);
	return ret;
}

struct bench_ds_addrs {
	u32 id[64];
	char addr[64][80];
	unsigned int n;
};

static inline int bench_ds_cb(const struct vdifs_ds_status *d, void *arg)
{
	struct bench_ds_addrs *a = arg;

	if (a->n < 64) {
		a->id[a->n] = le32_to_cpu(d->ds_id);
		vdc_addr_format(&d->addr, a->addr[a->n], sizeof(a->addr[0]));
		a->n++;
	}
	return 0;
}

/* a client connection to data server id, or die */
static inline struct vdc_conn *bench_ds_conn(const struct bench_ds_addrs *a,
					     u32 id)
{
	struct vdc_opts o = bench_opts(VDIFS_ROLE_CLIENT);
	struct vdc_conn *c;
	unsigned int i;
	int ret;

	for (i = 0; i < a->n; i++) {
		if (a->id[i] != id)
			continue;
		ret = vdc_connect(a->addr[i], &o, &c);
		if (ret)
			bench_die("connect to a data server", ret);
		return c;
	}
	bench_die("no such data server", -ENOENT);
}

/* a client and a tool connection to the MDS and its data servers, or die */
static inline void bench_mds_connect(const char *mds, struct vdc_conn **cli,
				     struct vdc_conn **tool,
				     struct bench_ds_addrs *a)
{
	struct vdc_opts o = bench_opts(VDIFS_ROLE_CLIENT);
	struct vdc_opts ot = bench_opts(VDIFS_ROLE_TOOL);
	struct vdc_status_cbs cbs = { .ds = bench_ds_cb };
	int ret;

	ret = vdc_connect(mds, &o, cli);
	if (!ret)
		ret = vdc_connect(mds, &ot, tool);
	if (ret)
		bench_die("connect to the MDS", ret);
	a->n = 0;
	ret = vdc_status(*tool, &cbs, a, NULL);
	if (ret < 0)
		bench_die("status", ret);
}

#endif
