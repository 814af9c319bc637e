// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark (not a test): the data server's cost per request, on the host.
 *
 * A base chunk is written whole, cloned (as a desktop's image is), and
 * then THREADS connections drive each pattern at the clone for SECS
 * seconds: 4 KiB writes each into an extent a fresh clone still shares
 * with its base (a clone's first writes: copy-on-write, every one), 4 KiB
 * random writes (first mostly copy-on-write ones, then into extents the
 * clone already owns), 4 KiB random reads, 1 MiB sequential writes and
 * reads.  For each it prints requests/s, MiB/s and the data
 * server's CPU microseconds per request (from /proc/PID/stat), and the
 * same pattern's rate with pread/pwrite on a local file beside it, the
 * storage cost underneath, as a ratio.  The guest benchmark (bench/vdi.sh)
 * is the one that compares with NFS; this one isolates the server.
 *
 *   bench-ds-io DS_ADDR DS_ID DS_PID LOCAL_DIR [THREADS] [SECS]
 *   (DS_IO_ONLY=WORD runs the patterns whose name holds WORD;
 *   DS_IO_DEPTH=N keeps N requests in flight on each connection, as the
 *   kernel client does with its one connection per server, where a
 *   thread per connection waiting for each reply keeps one)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

static const struct vdc_opts bench_client_opts = {
	.role = VDIFS_ROLE_CLIENT, .timeout_ms = 60000, .insecure = true,
};

/* a cluster started with --insecure (the bench scripts do) */

#define CS	(64u << 20)
#define ES	(64u << 10)

struct pattern {
	const char *name;
	u32 io;			/* bytes per request */
	bool write;
	bool random;
	bool first;		/* each into an extent of a fresh clone */
};

#define NFRESH	8		/* fresh clones for the first writes */

static const struct pattern patterns[] = {
	{ "write 4k (first)", 4096, true, true, true },
	{ "randwrite 4k (cow)", 4096, true, true, false },
	{ "randwrite 4k (own)", 4096, true, true, false },
	{ "randread 4k", 4096, false, true, false },
	{ "seqwrite 1M", 1 << 20, true, false, false },
	{ "seqread 1M", 1 << 20, false, false, false },
};

struct worker {
	pthread_t th;
	const char *addr;
	const struct vdc_chunk_ref *ref;	/* NFRESH of them for first */
	const struct pattern *p;
	int fd;			/* local file, or -1 for the data server */
	double until;
	unsigned int seed;
	u32 next;		/* sequential: next offset; first: next extent */
	u32 step;		/* first: extents between this worker's */
	unsigned int depth;	/* requests in flight on the connection */
	unsigned long ops;
	int err;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_secs(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p || !(p = strrchr(buf, ')')))
		return 0;
	/* fields 14 and 15 (utime, stime); p is at field 2's end */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/* the next request's chunk and offset, false when the pattern is done */
static bool next_io(struct worker *w, const struct vdc_chunk_ref **rp,
		    u32 *offp)
{
	const struct vdc_chunk_ref *r = w->ref;
	u32 off;

	if (w->p->first) {
		/* extent next of all NFRESH clones' extents */
		if (w->next >= NFRESH * (CS / ES))
			return false;
		if (r)	/* the local file stands for them all */
			r += w->next / (CS / ES);
		off = w->next % (CS / ES) * ES +
		      (u32)(rand_r(&w->seed) % (ES / w->p->io)) * w->p->io;
		w->next += w->step;
	} else if (w->p->random) {
		off = (u32)(rand_r(&w->seed) % (CS / w->p->io)) * w->p->io;
	} else {
		off = w->next;
		w->next = (w->next + w->p->io) % CS;
	}
	*rp = r;
	*offp = off;
	return true;
}

/* send one request without waiting for its reply */
static int send_io(struct vdc_conn *c, struct worker *w, u64 id,
		   const u8 *buf)
{
	const struct vdc_chunk_ref *r;
	struct vdifs_chunk_req q;
	u32 off;

	if (!next_io(w, &r, &off))
		return 1;
	vdc_chunk_req_init(&q, r);
	q.offset = cpu_to_le32(off);
	q.len = cpu_to_le32(w->p->io);
	return msg_write(vdc_fd(c), w->p->write ? VDIFS_OP_CHUNK_WRITE :
			 VDIFS_OP_CHUNK_READ, 0, id, 0, &q, sizeof(q),
			 w->p->write ? buf : NULL, w->p->write ? w->p->io : 0,
			 NULL, 0);
}

/* w->depth requests in flight on c, a new one sent as each is answered */
static int run_pipelined(struct worker *w, struct vdc_conn *c, const u8 *buf)
{
	unsigned int inflight = 0;
	u64 id = 1ull << 40;	/* apart from the ids vdc_call uses */
	bool more = true;
	int ret;

	while (inflight || more) {
		while (more && inflight < w->depth && now() < w->until) {
			ret = send_io(c, w, id++, buf);
			if (ret < 0)
				return ret;
			if (ret)
				break;
			inflight++;
		}
		if (now() >= w->until)
			more = false;
		if (!inflight)
			break;
		ret = bench_reply(c);
		if (ret)
			return ret;
		inflight--;
		w->ops++;
	}
	return 0;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct vdc_conn *c = NULL;
	u8 *buf = malloc(w->p->io);
	int ret;

	if (!buf) {
		w->err = -ENOMEM;
		return NULL;
	}
	memset(buf, 0x3c ^ w->seed, w->p->io);
	if (w->fd < 0) {
		ret = vdc_connect(w->addr, &bench_client_opts, &c);
		if (ret) {
			w->err = ret;
			free(buf);
			return NULL;
		}
	}
	if (c && w->depth > 1) {
		w->err = run_pipelined(w, c, buf);
		vdc_close(c);
		free(buf);
		return NULL;
	}
	while (now() < w->until) {
		const struct vdc_chunk_ref *r;
		u32 off;

		if (!next_io(w, &r, &off))
			break;
		if (w->fd >= 0)
			ret = w->p->write ?
			      (pwrite(w->fd, buf, w->p->io, off) < 0 ||
			       fdatasync(w->fd) ? -errno : 0) :
			      (pread(w->fd, buf, w->p->io, off) < 0 ? -errno : 0);
		else if (w->p->write)
			ret = vdc_chunk_write(c, r, off, buf, w->p->io, NULL);
		else
			ret = vdc_chunk_read(c, r, off, buf, w->p->io,
					     NULL) == (int)w->p->io ? 0 : -EIO;
		if (ret) {
			w->err = ret;
			break;
		}
		w->ops++;
	}
	if (c)
		vdc_close(c);
	free(buf);
	return NULL;
}

/* returns requests per second; *cpu_us: server CPU per request */
static double drive(const char *addr, const struct vdc_chunk_ref *r,
		    const struct pattern *p, int fd, int threads, int secs,
		    int pid, double *cpu_us)
{
	struct worker w[64];
	unsigned long ops = 0;
	double t0, t1, c0;
	int i;

	c0 = pid ? cpu_secs(pid) : 0;
	t0 = now();
	for (i = 0; i < threads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].addr = addr;
		w[i].ref = r;
		w[i].p = p;
		w[i].fd = fd;
		w[i].until = t0 + secs;
		w[i].seed = 17 + i;
		w[i].next = p->first ? (u32)i :
			    (u32)((u64)CS / threads * i) & ~(p->io - 1);
		w[i].step = (u32)threads;
		w[i].depth = getenv("DS_IO_DEPTH") ?
			     (unsigned int)atoi(getenv("DS_IO_DEPTH")) : 1;
		pthread_create(&w[i].th, NULL, run, &w[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		if (w[i].err) {
			fprintf(stderr, "%s: %s\n", p->name,
				strerror(-w[i].err));
			exit(1);
		}
		ops += w[i].ops;
	}
	t1 = now();
	if (cpu_us)
		*cpu_us = ops ? (cpu_secs(pid) - c0) * 1e6 / ops : 0;
	return ops / (t1 - t0);
}

int main(int argc, char **argv)
{
	struct vdc_chunk_ref base = { .chunk_size = CS, .extent_size = ES,
				      .nrep = 1 }, clone, fresh[NFRESH];
	int threads = argc > 5 ? atoi(argv[5]) : 4;
	int secs = argc > 6 ? atoi(argv[6]) : 5;
	char path[4096];
	struct vdc_conn *c;
	unsigned int i;
	int pid, fd, ret;
	u8 *buf;
	u32 off;

	if (argc < 5 || threads < 1 || threads > 64 || secs < 1) {
		fprintf(stderr,
			"usage: bench-ds-io DS_ADDR DS_ID DS_PID LOCAL_DIR [THREADS] [SECS]\n");
		return 2;
	}
	base.ds[0] = (u32)atoi(argv[2]);
	pid = atoi(argv[3]);
	ret = vdc_connect(argv[1], &bench_client_opts, &c);
	if (ret) {
		fprintf(stderr, "connect %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	buf = malloc(1 << 20);
	memset(buf, 0xa5, 1 << 20);
	base.chunk_id = 0xbe0c0000ull + ((u64)time(NULL) << 16);
	for (off = 0; off < CS; off += 1 << 20)
		if (vdc_chunk_write(c, &base, off, buf, 1 << 20, NULL))
			return 1;
	clone = base;
	clone.chunk_id = base.chunk_id + 1;
	if (vdc_chunk_clone(c, &clone, base.chunk_id))
		return 1;
	for (i = 0; i < NFRESH; i++) {
		fresh[i] = base;
		fresh[i].chunk_id = base.chunk_id + 2 + i;
		if (vdc_chunk_clone(c, &fresh[i], base.chunk_id))
			return 1;
	}
	vdc_close(c);

	snprintf(path, sizeof(path), "%s/bench-ds-io.%d", argv[4], getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, CS)) {
		perror(path);
		return 1;
	}
	for (off = 0; off < CS; off += 1 << 20)
		if (pwrite(fd, buf, 1 << 20, off) < 0)
			return 1;
	printf("%-20s %10s %9s %12s %12s %7s\n", "pattern", "req/s", "MiB/s",
	       "ds cpu us/req", "local req/s", "ratio");
	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		const struct pattern *p = &patterns[i];
		const char *only = getenv("DS_IO_ONLY");
		double cpu, rate, local;

		/* DS_IO_ONLY=randread: one pattern, e.g. to profile it */
		if (only && !strstr(p->name, only))
			continue;
		rate = drive(argv[1], p->first ? fresh : &clone, p, -1,
			     threads, secs, pid, &cpu);
		local = drive(argv[1], NULL, p, fd, threads, secs, 0, NULL);
		printf("%-20s %10.0f %9.1f %12.1f %12.0f %7.3f\n", p->name,
		       rate, rate * p->io / (1 << 20), cpu, local,
		       rate / local);
	}
	close(fd);
	unlink(path);
	free(buf);
	return 0;
}
