// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark (not a test): read cost of a clone chain on a data server.
 * Builds a chain of N copy-on-write clones of one chunk, each writing a few
 * extents of its own, then reads the whole chunk at depth 1 and at depth N.
 * With flat extent maps the two should cost the same: prints both rates
 * and their ratio.
 *
 *   bench-chain-read DS_ADDR DS_ID [DEPTH]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

static const struct vdc_opts bench_client_opts = {
	.role = VDIFS_ROLE_CLIENT, .timeout_ms = 60000, .insecure = true,
};

/* a cluster started with --insecure (the bench scripts do) */

#define CS	(16u << 20)
#define ES	(64u << 10)
#define IO	(1u << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double read_rate(struct vdc_conn *c, const struct vdc_chunk_ref *r,
			u8 *buf, int rounds)
{
	double t0 = now();
	int i;
	u32 off;

	for (i = 0; i < rounds; i++)
		for (off = 0; off < CS; off += IO)
			if (vdc_chunk_read(c, r, off, buf, IO, NULL) != (int)IO) {
				fprintf(stderr, "read failed\n");
				exit(1);
			}
	return (double)CS * rounds / (now() - t0) / (1 << 20);
}

int main(int argc, char **argv)
{
	struct vdc_chunk_ref r = { .chunk_size = CS, .extent_size = ES,
				   .nrep = 1 };
	int depth = argc > 3 ? atoi(argv[3]) : 32, d, ret;
	struct vdc_conn *c;
	u64 base = 0x7e570000ull + ((u64)time(NULL) << 8);
	double r1, rn;
	u8 *buf;
	u32 off;

	if (argc < 3) {
		fprintf(stderr, "usage: bench-chain-read DS_ADDR DS_ID [DEPTH]\n");
		return 2;
	}
	r.ds[0] = (u32)atoi(argv[2]);
	ret = vdc_connect(argv[1], &bench_client_opts, &c);
	if (ret) {
		fprintf(stderr, "connect %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	buf = malloc(IO);
	memset(buf, 0x5a, IO);
	r.chunk_id = base;
	for (off = 0; off < CS; off += IO)
		if (vdc_chunk_write(c, &r, off, buf, IO, NULL))
			return 1;
	for (d = 1; d < depth; d++) {
		struct vdc_chunk_ref n = r;

		n.chunk_id = base + d;
		if (vdc_chunk_clone(c, &n, r.chunk_id))
			return 1;
		/* each level owns a few extents of its own */
		for (off = (d * 7u % 16) * ES; off < CS; off += 16 * ES)
			if (vdc_chunk_write(c, &n, off, buf, ES, NULL))
				return 1;
		r = n;
	}
	{
		struct vdc_chunk_ref b = r;

		b.chunk_id = base;
		read_rate(c, &b, buf, 1);	/* warm the page cache */
		r1 = read_rate(c, &b, buf, 4);
		read_rate(c, &r, buf, 1);
		rn = read_rate(c, &r, buf, 4);
	}
	printf("chain read: depth 1 %.0f MiB/s, depth %d %.0f MiB/s, ratio %.2f\n",
	       r1, depth, rn, rn / r1);
	vdc_close(c);
	free(buf);
	return 0;
}
