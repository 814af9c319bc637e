// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark (not a test): re-replication after a data server is lost.
 *
 * bench-rereplicate MDS CHUNKS CHUNK_KIB CLONES OWN_KIB PORT:PID...
 *
 * On a cluster of data servers (PORT:PID for each, on 127.0.0.1), a volume with 2 copies of every chunk gets a golden
 * file of CHUNKS chunks of random data and CLONES clones of it, each of
 * which writes OWN_KIB of its own into every chunk.  Then the data server
 * that holds the most of those chunks is killed, and the MDS puts every
 * chunk back to 2 copies.  Reported: the time from the kill until no chunk
 * is degraded (the lease included), the bytes the copies moved, and the
 * bytes a full copy of every lost chunk would have moved.
 */
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench.h"

static void ref_of(struct vdc_chunk_ref *r, const struct vdifs_chunk *c,
		   u32 cs)
{
	unsigned int k;

	memset(r, 0, sizeof(*r));
	r->chunk_id = le64_to_cpu(c->chunk_id);
	r->epoch = le64_to_cpu(c->version);
	r->chunk_size = cs;
	r->extent_size = 64 << 10;
	r->nrep = c->nrep;
	r->repl_mode = VDIFS_REPL_SYNC;
	for (k = 0; k < c->nrep; k++)
		r->ds[k] = le32_to_cpu(c->ds[k]);
}

static void write_chunk(const struct bench_ds_addrs *a, const struct vdifs_chunk *c,
			u32 cs, u32 off, const u8 *buf, u32 len)
{
	struct vdc_chunk_ref r;
	struct vdc_conn *d;
	u32 done;
	int ret;

	ref_of(&r, c, cs);
	d = bench_ds_conn(a, r.ds[0]);
	for (done = 0; done < len; done += VDIFS_IO_MAX) {
		u32 n = len - done < VDIFS_IO_MAX ? len - done : VDIFS_IO_MAX;

		ret = vdc_chunk_write(d, &r, off + done, buf + done, n, NULL);
		if (ret)
			bench_die("chunk write", ret);
	}
	vdc_close(d);
}

static int do_clone(struct vdc_conn *cli, u32 vol, u64 src, u64 dir,
		    const char *name, u64 *ino)
{
	struct vdifs_clone_req q = {
		.vol = cpu_to_le32(vol),
		.name_len = cpu_to_le16((u16)strlen(name)),
		.ino = cpu_to_le64(src),
		.parent = cpu_to_le64(dir),
	};
	struct vdc_msg m;
	int ret;

	ret = vdc_call(cli, VDIFS_OP_CLONE, &q, sizeof(q), name, strlen(name),
		       NULL, 0, &m);
	if (ret)
		return ret;
	*ino = le64_to_cpu(((const struct vdifs_attr_rep *)
			    m.body.fixed)->attr.ino);
	vdc_msg_free(&m);
	return 0;
}

int main(int argc, char **argv)
{
	struct vdc_params p = { .replicas = 2, .repl_mode = VDIFS_REPL_SYNC };
	struct vdifs_status_rep st, st0;
	struct bench_ds_addrs a = { .n = 0 };
	struct vdc_conn *cli, *tool;
	struct vdifs_chunk *ch;
	struct vdc_attr gold;
	struct vdc_vol v;
	u64 *ino, lost = 0, per[64] = { 0 };
	u32 nchunks, cs, nclones, own, i, k, victim = 0;
	unsigned int npids;
	pid_t pid = 0;
	double t0, t1 = 0;
	u8 *buf;
	int ret, waited;

	if (argc < 7) {
		fprintf(stderr, "usage: bench-rereplicate MDS CHUNKS CHUNK_KIB CLONES OWN_KIB PORT:PID...\n");
		return 2;
	}
	nchunks = (u32)atoi(argv[2]);
	cs = (u32)atoi(argv[3]) << 10;
	nclones = (u32)atoi(argv[4]);
	own = (u32)atoi(argv[5]) << 10;
	npids = (unsigned int)(argc - 6);
	if (!nchunks || !cs || own > cs)
		return 2;
	p.chunk_size = cs;
	p.extent_size = 64 << 10;
	bench_mds_connect(argv[1], &cli, &tool, &a);
	ret = vdc_vol_create(tool, "rrbench", &p, &v);
	if (!ret)
		ret = vdc_create(cli, v.vol, v.root_ino, "gold", S_IFREG | 0644,
				 0, 0, 0, true, NULL, &gold);
	if (ret)
		bench_die("volume and golden file", ret);
	ch = calloc((size_t)nchunks * (nclones + 1), sizeof(*ch));
	ino = calloc(nclones + 1, sizeof(*ino));
	buf = malloc(cs);
	if (!ch || !ino || !buf)
		bench_die("memory", -ENOMEM);
	for (i = 0; i < cs; i++)
		buf[i] = (u8)(rand() | 1);
	ino[0] = gold.ino;
	for (i = 0; i < nchunks; i++) {
		ret = vdc_layout_get(cli, v.vol, gold.ino, i, 1,
				     VDIFS_LAYOUT_ALLOC, &ch[i], 1, NULL);
		if (ret != 1)
			bench_die("layout", ret < 0 ? ret : -EPROTO);
		buf[0] = (u8)i;
		write_chunk(&a, &ch[i], cs, 0, buf, cs);
	}
	for (k = 1; k <= nclones; k++) {
		char name[16];

		snprintf(name, sizeof(name), "clone%u", k);
		ret = do_clone(cli, v.vol, gold.ino, v.root_ino, name, &ino[k]);
		if (ret)
			bench_die("clone", ret);
		for (i = 0; i < nchunks; i++) {
			struct vdifs_chunk *c = &ch[(size_t)k * nchunks + i];

			ret = vdc_layout_get(cli, v.vol, ino[k], i, 1, 0, c, 1,
					     NULL);
			if (ret != 1)
				bench_die("clone layout", ret < 0 ? ret : -EPROTO);
			if (own)
				write_chunk(&a, c, cs, (k * own) % (cs - own + 1),
					    buf, own);
		}
	}
	/* the server with the most chunk copies goes */
	for (i = 0; i < nchunks * (nclones + 1); i++)
		for (k = 0; k < ch[i].nrep; k++)
			for (ret = 0; ret < (int)a.n; ret++)
				if (a.id[ret] == le32_to_cpu(ch[i].ds[k]))
					per[ret]++;
	for (i = 1; i < a.n; i++)
		if (per[i] > per[victim])
			victim = i;
	lost = per[victim];
	for (i = 0; i < npids; i++) {
		const char *c = strrchr(a.addr[victim], ':');

		if (c && !strncmp(argv[6 + i], c + 1, strcspn(argv[6 + i], ":")) &&
		    strcspn(argv[6 + i], ":") == strlen(c + 1))
			pid = atoi(strchr(argv[6 + i], ':') + 1);
	}
	if (!pid)
		bench_die("no pid for the data server to kill", -EINVAL);
	ret = vdc_status(tool, NULL, NULL, &st0);
	if (ret < 0)
		bench_die("status", ret);
	printf("golden file: %u chunks of %u KiB; %u clones writing %u KiB each into every chunk; 2 copies each\n",
	       nchunks, cs >> 10, nclones, own >> 10);
	printf("killing data server %u, which held %llu of the chunk copies\n",
	       a.id[victim], (unsigned long long)lost);
	fflush(stdout);
	t0 = bench_now_s();
	kill(pid, SIGKILL);
	for (waited = 0; waited < 600 * 10; waited++) {
		usleep(100 * 1000);
		ret = vdc_status(tool, NULL, NULL, &st);
		if (ret < 0)
			continue;
		if (le64_to_cpu(st.copied) - le64_to_cpu(st0.copied) >= lost &&
		    !st.degraded) {
			t1 = bench_now_s();
			break;
		}
	}
	if (!t1) {
		printf("not back to 2 copies in 10 minutes\n");
		return 1;
	}
	{
		u64 moved = le64_to_cpu(st.copied_bytes) -
			    le64_to_cpu(st0.copied_bytes);
		u64 full = lost * (u64)cs;

		printf("back to 2 copies of every chunk %.1f s after the kill (the lease included)\n",
		       t1 - t0);
		printf("copies: %llu chunks, %.1f MiB moved; a full copy of each: %.1f MiB (%.1fx more)\n",
		       (unsigned long long)(le64_to_cpu(st.copied) -
					    le64_to_cpu(st0.copied)),
		       moved / 1048576.0, full / 1048576.0,
		       moved ? (double)full / moved : 0.0);
	}
	vdc_close(cli);
	vdc_close(tool);
	return 0;
}
