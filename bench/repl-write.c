// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark (not a test): what synchronous replication costs a writer.
 *
 * bench-repl-write MDS THREADS SECS BS_KIB [DEPTH]
 *
 * Two volumes, 1 and 3 copies of every 4 MiB chunk, on the cluster's data
 * servers; THREADS chunks, each written in BS_KIB pieces in turn (at its
 * primary, as the kernel does) for SECS, with DEPTH writes in flight on
 * it (default 1; a guest's fio at iodepth 4 keeps about 4 on one chunk).
 * Printed: MiB/s and writes/s for each, and the ratio 3 copies / 1 (the
 * performance issue asks for 0.7 or better).  Where fdatasync costs (a
 * disk, not a tmpfs) the ratio shows whether a primary's own write
 * overlaps its replicas'; with DEPTH > 1, whether a chunk's writes
 * overlap each other's forwards.  DEPTH writers per chunk, each on its
 * own connection; with REPL_WRITE_PIPELINE=1 one connection per chunk
 * with DEPTH writes in flight on it, as the kernel sends them.
 */
#include <pthread.h>
#include <sys/stat.h>
#include "bench.h"

#define CS	(4u << 20)

struct writer {
	pthread_t th;
	const struct bench_ds_addrs *a;
	struct vdifs_chunk c;
	u32 bs;
	u32 off, stride;	/* where it starts, and its step */
	unsigned int depth;	/* in flight on its connection */
	double until;
	u64 writes;
	int ret;
};

/* w->depth writes in flight on d, a new one sent as each is answered */
static int writer_pipelined(struct writer *w, struct vdc_conn *d,
			    const struct vdc_chunk_ref *r, u8 *buf)
{
	unsigned int inflight = 0;
	u64 id = 1ull << 40;	/* apart from the ids vdc_call uses */
	u32 off = w->off;
	int ret;

	for (;;) {
		while (inflight < w->depth && bench_now_s() < w->until) {
			struct vdifs_chunk_req q;

			vdc_chunk_req_init(&q, r);
			q.offset = cpu_to_le32(off);
			q.len = cpu_to_le32(w->bs);
			buf[0]++;
			ret = msg_write(vdc_fd(d), VDIFS_OP_CHUNK_WRITE, 0, id++,
					0, &q, sizeof(q), buf, w->bs, NULL, 0);
			if (ret)
				return ret;
			inflight++;
			off = (off + w->stride) % CS;
		}
		if (!inflight)
			return 0;
		ret = bench_reply(d);
		if (ret)
			return ret;
		inflight--;
		w->writes++;
	}
}

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	struct vdc_chunk_ref r = { 0 };
	struct vdc_conn *d;
	u32 off = w->off, k;
	u8 *buf = malloc(w->bs);

	if (!buf) {
		w->ret = -ENOMEM;
		return NULL;
	}
	memset(buf, 0x5a, w->bs);
	r.chunk_id = le64_to_cpu(w->c.chunk_id);
	r.epoch = le64_to_cpu(w->c.version);
	r.chunk_size = CS;
	r.extent_size = 64 << 10;
	r.nrep = w->c.nrep;
	r.repl_mode = VDIFS_REPL_SYNC;
	for (k = 0; k < w->c.nrep; k++)
		r.ds[k] = le32_to_cpu(w->c.ds[k]);
	d = bench_ds_conn(w->a, r.ds[0]);
	if (w->depth > 1) {
		w->ret = writer_pipelined(w, d, &r, buf);
		vdc_close(d);
		free(buf);
		return NULL;
	}
	while (bench_now_s() < w->until) {
		buf[0]++;
		w->ret = vdc_chunk_write(d, &r, off, buf, w->bs, NULL);
		if (w->ret)
			break;
		w->writes++;
		off = (off + w->stride) % CS;
	}
	vdc_close(d);
	free(buf);
	return NULL;
}

/* MiB/s of THREADS writers on a fresh file of a volume with n copies */
static double run(struct vdc_conn *cli, struct vdc_conn *tool,
		  const struct bench_ds_addrs *a, u8 copies, unsigned int nchunks,
		  unsigned int depth, int secs, u32 bs, double *wps)
{
	struct vdc_params p = { .replicas = copies, .chunk_size = CS,
				.extent_size = 64 << 10,
				.repl_mode = VDIFS_REPL_SYNC };
	bool pipe = getenv("REPL_WRITE_PIPELINE") &&
		    atoi(getenv("REPL_WRITE_PIPELINE"));
	unsigned int per = pipe ? 1 : depth, nthreads = nchunks * per;
	struct writer *w = calloc(nthreads, sizeof(*w));
	char name[32];
	struct vdc_attr f;
	struct vdc_vol v;
	u64 writes = 0;
	double t0, t;
	unsigned int i;
	int ret;

	if (!w)
		bench_die("memory", -ENOMEM);
	snprintf(name, sizeof(name), "rw%u-%ld", copies, (long)time(NULL));
	ret = vdc_vol_create(tool, name, &p, &v);
	if (!ret)
		ret = vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0,
				 0, 0, true, NULL, &f);
	if (ret)
		bench_die("volume and file", ret);
	t0 = bench_now_s();
	for (i = 0; i < nthreads; i++) {
		if (i % per)
			w[i].c = w[i - 1].c;
		else
			ret = vdc_layout_get(cli, v.vol, f.ino, i / per, 1,
					     VDIFS_LAYOUT_ALLOC, &w[i].c, 1,
					     NULL);
		if (ret != 1)
			bench_die("layout", ret < 0 ? ret : -EPROTO);
		w[i].a = a;
		w[i].bs = bs;
		w[i].off = (i % per) * bs;
		w[i].stride = per * bs;
		w[i].depth = pipe ? depth : 1;
		w[i].until = t0 + secs;
	}
	t0 = bench_now_s();
	for (i = 0; i < nthreads; i++) {
		w[i].until = t0 + secs;
		pthread_create(&w[i].th, NULL, writer_run, &w[i]);
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(w[i].th, NULL);
		if (w[i].ret)
			bench_die("write", w[i].ret);
		writes += w[i].writes;
	}
	t = bench_now_s() - t0;
	free(w);
	*wps = writes / t;
	return writes * (double)bs / t / (1 << 20);
}

int main(int argc, char **argv)
{
	struct bench_ds_addrs a = { .n = 0 };
	struct vdc_conn *cli, *tool;
	unsigned int nchunks, depth = 1;
	double m1, m3, w1, w3;
	int secs;
	u32 bs;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: bench-repl-write MDS THREADS SECS BS_KIB [DEPTH]\n");
		return 2;
	}
	nchunks = (unsigned int)atoi(argv[2]);
	if (argc == 6)
		depth = (unsigned int)atoi(argv[5]);
	secs = atoi(argv[3]);
	bs = (u32)atoi(argv[4]) << 10;
	if (!nchunks || !depth || nchunks * depth > 64 || secs < 1 || !bs ||
	    bs > VDIFS_IO_MAX || CS % ((u64)bs * depth))
		return 2;
	bench_mds_connect(argv[1], &cli, &tool, &a);
	if (a.n < 3)
		bench_die("3 data servers wanted", -EINVAL);
	m1 = run(cli, tool, &a, 1, nchunks, depth, secs, bs, &w1);
	m3 = run(cli, tool, &a, 3, nchunks, depth, secs, bs, &w3);
	printf("%u chunks written %u KiB at a time, %u in flight each, %d s:\n",
	       nchunks, bs >> 10, depth, secs);
	printf("  1 copy    %9.1f MiB/s %9.0f writes/s\n", m1, w1);
	printf("  3 copies  %9.1f MiB/s %9.0f writes/s\n", m3, w3);
	printf("  3 copies / 1: %.2f\n", m3 / m1);
	vdc_close(cli);
	vdc_close(tool);
	return 0;
}
