// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-ds: configuration, MDS registration and heartbeat, listener,
 * connections, the worker pool and request dispatch.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include "ds.h"
#include "cfg.h"
#include "msg.h"
#include "srv.h"

static volatile sig_atomic_t ds_stop;
static u64 ds_epoch;

/* ---- crash injection (tests) ---- */

void ds_crash_point(const char *point)
{
	srv_crash_point("VDIFS_DS_CRASH_AT", point);
}

/* ---- connections and workers ---- */

/*
 * A connection is shared by its reader thread and the workers running
 * its requests; refs counts them, the last one closes it.  wlock
 * serialises whole replies on the socket.
 */
/* a connection's read buffer: a 4 KiB write and the next ones behind it */
#define DS_CONN_RBUF	(16u << 10)
/* a reader's deferred writes (struct ds_deferred) committed at once, at most */
#define DS_BATCH_MAX	16u

struct ds_job;

struct ds_conn {
	struct ds *ds;
	int fd;
	struct sockaddr_storage addr;	/* the peer's, for srv_release() */
	char peer[64];
	struct srv_auth auth;
	long long pr_checked_ms;	/* reader's: principal last checked */
	struct ds_cap_cache caps;	/* reader's */
	struct net_rbuf rb;		/* reader's */
	struct ds_job *batch[DS_BATCH_MAX];	/* reader's: deferred */
	unsigned int nbatch;
	pthread_mutex_t wlock;
	int refs;			/* under ds_conn_lock */
	int jobs;			/* under ds_conn_lock: in the pool */
};

/* ds_conn_lock guards refs and jobs; ds_conn_cond: a job is done */
static pthread_mutex_t ds_conn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ds_conn_cond = PTHREAD_COND_INITIALIZER;

static void conn_put(struct ds_conn *c)
{
	int last;

	pthread_mutex_lock(&ds_conn_lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&ds_conn_lock);
	if (last) {
		close(c->fd);
		srv_release(&c->ds->cfg.limits, &c->addr);
		net_rbuf_free(&c->rb);
		free(c);
	}
}

struct ds_job {
	struct ds_conn *conn;
	struct vdc_msg msg;
	struct wire_body body;
	struct ds_job *next;
	/* a deferred write's (job_defer()) */
	struct ds_op_ctx x;
	struct ds_deferred *def;
	bool nowait;		/* run_job(): a READ, by the reader */
};

/*
 * Two work queues.  Clients' requests go to one pool; another server's
 * forwarded mutations to the other, whose jobs never wait on the
 * network: a primary waits for its forwards with workers of its own
 * busy, and two servers forwarding to each other through one full pool
 * each would wait on each other.  Forwards of different chunks run in
 * parallel; a primary sends a chunk's next ones before this one's reply,
 * and they wait here for their turn (wait_version() in store.c).
 */
struct ds_pool {
	pthread_mutex_t lock;		/* head, tail */
	pthread_cond_t cond;		/* a job was queued */
	struct ds_job *head, *tail;
};

static struct ds_pool client_pool = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL
};
static struct ds_pool peer_pool = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL
};

static void job_queue(struct ds_pool *pool, struct ds_job *j)
{
	pthread_mutex_lock(&pool->lock);
	j->next = NULL;
	if (pool->tail)
		pool->tail->next = j;
	else
		pool->head = j;
	pool->tail = j;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

static int reply(struct ds_conn *c, const struct wire_hdr *h, int status,
		 const void *fixed, u32 flen, const void *tail, u32 tlen)
{
	int ret;

	pthread_mutex_lock(&c->wlock);
	ret = msg_write(c->fd, h->opcode, VDIFS_MSG_REPLY, h->req_id, status,
			status ? NULL : fixed, status ? 0 : flen,
			status ? NULL : tail, status ? 0 : tlen, NULL, 0);
	pthread_mutex_unlock(&c->wlock);
	/*
	 * Half a reply may be out (a peer that stopped reading past the
	 * send timeout): the stream is lost, the reader sees the end.
	 */
	if (ret)
		shutdown(c->fd, SHUT_RDWR);
	return ret;
}

/* the answer to a chunk request whose reply is its version alone */
static int reply_io(struct ds_conn *c, const struct wire_hdr *h, int status,
		    u64 version)
{
	struct vdifs_chunk_io_rep io = { .version = cpu_to_le64(version) };

	/* replies without a fixed part (FLUSH, DELETE) carry no body */
	return reply(c, h, status, &io, wire_fixed_len(h->opcode, true) > 0 ?
		     sizeof(io) : 0, NULL, 0);
}

/*
 * A read the reader checks block by block is sent from the chunk files
 * without passing through this process (no copy, no checksum here);
 * anything else, and resync copies (another server checks those itself
 * as it writes them), is read into memory and checked as usual.  So are
 * small reads: for a few blocks a copy costs less than the descriptors
 * and the plan that sending from the files takes.
 */
#define DS_FILES_READ_MIN	(64u << 10)

static bool read_from_files(const struct ds_op_ctx *x, u32 flags)
{
	return (flags & VDIFS_CHUNK_SUMS) && !(flags & VDIFS_CHUNK_RESYNC) &&
	       x->len >= DS_FILES_READ_MIN && !(x->len % VDIFS_SUM_BLOCK) &&
	       !(le32_to_cpu(x->q->offset) % VDIFS_SUM_BLOCK);
}

/*
 * An error before anything was sent is answered as usual; a failure to
 * send breaks the connection (the message may be half out).
 */
static void reply_from_files(struct ds_conn *c, const struct wire_hdr *h,
			    struct ds_op_ctx *x)
{
	struct vdifs_chunk_io_rep io = { 0 };
	struct ds_rplan p;
	int ret;

	ret = store_read_plan(x, &p);
	if (ret) {
		reply(c, h, ret, NULL, 0, NULL, 0);
		return;
	}
	io.version = cpu_to_le64(x->version);
	io.len = cpu_to_le32(x->len);
	io.nsums = cpu_to_le32(p.nsums);
	pthread_mutex_lock(&c->wlock);
	ret = msg_write_segs(c->fd, h->opcode, VDIFS_MSG_REPLY, h->req_id,
			     &io, sizeof(io), p.sums,
			     wire_sums_bytes(p.nsums), p.seg, p.nseg, x->len);
	pthread_mutex_unlock(&c->wlock);
	store_rplan_free(&p);
	if (ret)
		shutdown(c->fd, SHUT_RDWR);
}

static bool is_mutation(u16 op)
{
	return op == VDIFS_OP_CHUNK_WRITE || op == VDIFS_OP_CHUNK_PUNCH ||
	       op == VDIFS_OP_CHUNK_CLONE || op == VDIFS_OP_CHUNK_DELETE;
}

/* x's data's block checksums, into x->own_sums (freed by the caller) */
static int block_sums(struct ds_op_ctx *x)
{
	u32 i, n = x->len / VDIFS_SUM_BLOCK;

	x->own_sums = calloc(1, wire_sums_bytes(n));
	if (!x->own_sums)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		x->own_sums[i] = cpu_to_le32(wire_csum(x->data +
						       (size_t)i * VDIFS_SUM_BLOCK,
						       VDIFS_SUM_BLOCK));
	x->sums = x->own_sums;
	return 0;
}

/* a mutation from a client at the chunk's primary: its set, its peers */
int ds_primary_check(struct ds *ds, struct ds_op_ctx *x)
{
	const struct vdifs_chunk_req *q = x->q;
	unsigned int i;

	if (q->nrep < 1 || q->nrep > VDIFS_MAX_REPLICAS ||
	    q->repl_mode > VDIFS_REPL_ASYNC)
		return -EINVAL;
	if (le32_to_cpu(q->ds[0]) != ds->id)
		return -ENXIO;		/* not the primary of this chunk */
	for (i = 1; i < q->nrep; i++)
		if (!q->ds[i] || le32_to_cpu(q->ds[i]) == ds->id)
			return -EINVAL;
	for (i = 1; i < q->nrep; i++) {
		if (q->repl_mode == VDIFS_REPL_ASYNC)
			x->log_peers[x->nlog++] = le32_to_cpu(q->ds[i]);
		else
			x->fwd_peers[x->nfwd++] = le32_to_cpu(q->ds[i]);
	}
	if (x->op == VDIFS_OP_CHUNK_WRITE)
		store_note_write_size(x->len);
	return 0;
}

/* what a primary forwards of x: its blocks' sums, its digest */
static int primary_prepare(struct ds_op_ctx *x)
{
	const struct vdifs_chunk_req *q = x->q;
	int ret;

	/*
	 * Whole blocks forwarded go with their checksums: summed once here,
	 * they cover the data on the wire (no body checksum of it per
	 * replica), and every copy stores them as they are.
	 */
	if (x->nfwd && x->op == VDIFS_OP_CHUNK_WRITE && !x->sums &&
	    x->len && !(x->len % VDIFS_SUM_BLOCK) &&
	    !(le32_to_cpu(q->offset) % VDIFS_SUM_BLOCK)) {
		ret = block_sums(x);
		if (ret)
			return ret;
	}
	if (x->nfwd && (x->op == VDIFS_OP_CHUNK_WRITE ||
			x->op == VDIFS_OP_CHUNK_PUNCH))
		x->digest = x->sums ?
			    store_digest_sums(le32_to_cpu(q->offset), x->len,
					      x->sums) :
			    store_digest(x->op, le32_to_cpu(q->offset),
					 x->len, x->data);
	return 0;
}

/*
 * Not acknowledged unless every replica the mode asks for has it.  A
 * replica that failed is the MDS's to take out of the set: the writer
 * hears -EREMOTEIO (or -ESTALE: a replica's copy missed a write, or
 * refused our set as old) and asks it (LAYOUT_DEGRADE).
 */
int ds_primary_result(const struct ds_op_ctx *x, int ret)
{
	if (!ret && x->fwd_err)
		ret = x->fwd_err == -ESTALE || x->fwd_err == -ENOSPC ?
		      x->fwd_err : -EREMOTEIO;
	return ret;
}

int ds_do_primary(struct ds *ds, struct ds_op_ctx *x)
{
	int ret;

	ret = ds_primary_check(ds, x);
	if (!ret)
		ret = primary_prepare(x);
	if (ret)
		return ret;
	ret = store_mutate(x);
	/* not acknowledged before the MDS could report it lost */
	if (!ret && x->nlog)
		repl_report_wait(ds, le64_to_cpu(x->q->chunk_id));
	return ds_primary_result(x, ret);
}

/* CHUNK_CLONE_MANY: run and answered here unless it fails whole */
static int clone_many(struct ds_job *j, const struct vdifs_chunk_req *q,
		      bool fwd)
{
	u32 n = j->body.tail_len[0] / sizeof(struct vdifs_clone_ent), i;
	struct vdifs_clone_many_rep cr = {
		.count = cpu_to_le32(n), .nbytes = cpu_to_le32(n * 4),
	};
	int *rets = calloc(n, sizeof(*rets));
	__le32 *st = calloc(n, sizeof(*st));
	int ret = -ENOMEM;

	if (rets && st)
		ret = ds_clone_many(j->conn->ds, q, j->body.tail[0], n, fwd,
				    rets);
	for (i = 0; !ret && i < n; i++)
		st[i] = cpu_to_le32((u32)rets[i]);
	if (!ret)
		reply(j->conn, &j->msg.hdr, 0, &cr, sizeof(cr), st, n * 4);
	free(rets);
	free(st);
	return ret;
}

/*
 * Run and answer j; with j->nowait, a READ that would wait for a device
 * returns -EWOULDBLOCK unanswered (the caller queues it to the pool).
 */
static int run_job(struct ds *ds, struct ds_job *j)
{
	const struct wire_hdr *h = &j->msg.hdr;
	const struct vdifs_chunk_req *q = j->body.fixed;
	struct ds_op_ctx x = { .ds = ds, .q = q, .op = h->opcode };
	struct vdifs_chunk_io_rep io = { 0 };
	struct vdifs_chunk_map_rep mr = { 0 };
	u32 flags;
	int ret;

	/* a data server serves chunk operations only */
	if (j->body.fixed_len != sizeof(*q)) {
		ret = -EOPNOTSUPP;
		reply(j->conn, h, ret, NULL, 0, NULL, 0);
		return 0;
	}
	flags = le32_to_cpu(q->flags);
	if (flags & ~VDIFS_CHUNK_FLAGS) {
		ret = -EINVAL;
		goto out_reply;
	}
	/*
	 * Only a primary forwards: a client that sets FWD would write a
	 * replica behind its primary's back.  CHUNK_SYNC (copies) and
	 * CHUNK_SCRUB are the MDS's.  All of them are the servers' role,
	 * which proves the server key when clients have a key of their own.
	 */
	if (((flags & (VDIFS_CHUNK_FWD | VDIFS_CHUNK_RESYNC |
		       VDIFS_CHUNK_EPOCH)) ||
	     h->opcode == VDIFS_OP_CHUNK_SYNC ||
	     h->opcode == VDIFS_OP_CHUNK_SUMS ||
	     h->opcode == VDIFS_OP_CHUNK_SCRUB) &&
	    j->conn->auth.role != VDIFS_ROLE_DS) {
		ret = -EPERM;
		goto out_reply;
	}
	if (h->opcode != VDIFS_OP_CHUNK_FLUSH && h->opcode !=
	    VDIFS_OP_CHUNK_STAT && !q->chunk_id) {
		ret = -EINVAL;
		goto out_reply;
	}
	x.len = le32_to_cpu(q->len);
	/* WRITE: its block checksums (if any), then its data */
	x.data = j->body.tail[1];
	if (q->nsums)
		x.sums = (const __le32 *)j->body.tail[0];
	/* a client's read, past our read lease: its set confirmed first */
	if ((h->opcode == VDIFS_OP_CHUNK_READ ||
	     h->opcode == VDIFS_OP_CHUNK_MAP) &&
	    j->conn->auth.role != VDIFS_ROLE_DS) {
		ret = lease_read_check(ds, q, j->nowait);
		if (ret == -EWOULDBLOCK)
			return ret;
		if (ret)
			goto out_reply;
	}
	switch (h->opcode) {
	case VDIFS_OP_CHUNK_READ:
		if (x.len > VDIFS_IO_MAX) {
			ret = -EINVAL;
			break;
		}
		if (read_from_files(&x, flags)) {
			/* sent from the files, which sendfile() waits for */
			if (j->nowait && !ds->st.reads_never_wait)
				return -EWOULDBLOCK;
			reply_from_files(j->conn, h, &x);
			return 0;
		}
		x.nowait = j->nowait;
		x.out = malloc(x.len + 1);
		ret = x.out ? store_read(&x) : -ENOMEM;
		if (ret == -EWOULDBLOCK && x.nowait) {
			free(x.out);
			return ret;
		}
		if (!ret) {
			io.version = cpu_to_le64(x.version);
			io.len = cpu_to_le32(x.len);
			ret = reply(j->conn, h, 0, &io, sizeof(io), x.out,
				    x.len);
			free(x.out);
			return 0;
		}
		free(x.out);
		break;
	case VDIFS_OP_CHUNK_MAP:
		ret = store_map(&x);
		if (!ret) {
			mr.version = cpu_to_le64(x.version);
			mr.extent_size = cpu_to_le32(x.extent_size);
			mr.nbytes = cpu_to_le32(x.map_len);
			reply(j->conn, h, 0, &mr, sizeof(mr), x.map, x.map_len);
			free(x.map);
			return 0;
		}
		break;
	case VDIFS_OP_CHUNK_SUMS: {
		struct vdifs_chunk_sums_rep sm = { 0 };

		ret = store_sums(&x);
		if (!ret) {
			sm.version = cpu_to_le64(x.version);
			sm.extent_size = cpu_to_le32(x.extent_size);
			sm.nbytes = cpu_to_le32(x.map_len);
			sm.sums_len = cpu_to_le32(x.sums_len);
			pthread_mutex_lock(&j->conn->wlock);
			ret = msg_write(j->conn->fd, h->opcode, VDIFS_MSG_REPLY,
					h->req_id, 0, &sm, sizeof(sm), x.map,
					x.map_len, x.sums_out, x.sums_len);
			pthread_mutex_unlock(&j->conn->wlock);
			if (ret)
				shutdown(j->conn->fd, SHUT_RDWR);
			free(x.map);
			free(x.sums_out);
			return 0;
		}
		break;
	}
	case VDIFS_OP_CHUNK_SCRUB: {
		struct vdifs_chunk_scrub_rep sr = { 0 };
		u64 version = 0;
		u32 ext = 0, bad = 0;

		ret = store_scrub(ds, le64_to_cpu(q->chunk_id), &version,
				  &ext, &bad);
		if (!ret) {
			sr.version = cpu_to_le64(version);
			sr.extents = cpu_to_le32(ext);
			sr.bad = cpu_to_le32(bad);
			reply(j->conn, h, 0, &sr, sizeof(sr), NULL, 0);
			return 0;
		}
		break;
	}
	case VDIFS_OP_CHUNK_SYNC: {
		struct vdifs_chunk_sync_rep sr = { 0 };

		ret = resync_chunk(ds, &x);
		if (!ret) {
			sr.version = cpu_to_le64(x.version);
			sr.bytes = cpu_to_le64(x.sync_bytes);
			reply(j->conn, h, 0, &sr, sizeof(sr), NULL, 0);
			return 0;
		}
		break;
	}
	case VDIFS_OP_CHUNK_STAT:
		ret = 0;
		if (flags & VDIFS_CHUNK_EPOCH)
			ret = store_note_epoch(ds, le64_to_cpu(q->chunk_id),
					       le64_to_cpu(q->epoch));
		if (!ret)
			ret = store_stat(&x);
		if (!ret) {
			reply(j->conn, h, 0, &x.stat, sizeof(x.stat), NULL, 0);
			return 0;
		}
		break;
	case VDIFS_OP_CHUNK_FLUSH:
		/*
		 * Every acknowledged mutation is already stable (data
		 * fdatasync'd before its map commit), so a flush only has to
		 * say whether the chunk is here.
		 */
		ret = q->chunk_id ? store_exists(ds, le64_to_cpu(q->chunk_id)) :
				    0;
		break;
	case VDIFS_OP_CHUNK_CLONE_MANY:
		ret = clone_many(j, q, flags & VDIFS_CHUNK_FWD);
		if (!ret)
			return 0;
		break;
	default:
		if (!is_mutation(h->opcode)) {
			ret = -EOPNOTSUPP;
			break;
		}
		if (h->opcode == VDIFS_OP_CHUNK_WRITE &&
		    x.len != j->body.tail_len[1]) {
			ret = -EBADMSG;
			break;
		}
		if (h->opcode != VDIFS_OP_CHUNK_WRITE) {
			x.data = NULL;
			x.sums = NULL;
		}
		ret = (flags & VDIFS_CHUNK_FWD) ? store_mutate(&x) :
						  ds_do_primary(ds, &x);
		free(x.own_sums);
		break;
	}
out_reply:
	reply_io(j->conn, h, ret, x.version);
	return 0;
}

static void *worker(void *arg)
{
	struct ds_pool *pool = arg;

	for (;;) {
		struct ds_job *j;

		pthread_mutex_lock(&pool->lock);
		while (!pool->head)
			pthread_cond_wait(&pool->cond, &pool->lock);
		j = pool->head;
		pool->head = j->next;
		if (!pool->head)
			pool->tail = NULL;
		pthread_mutex_unlock(&pool->lock);
		run_job(j->conn->ds, j);
		vdc_msg_free(&j->msg);
		pthread_mutex_lock(&ds_conn_lock);
		j->conn->jobs--;
		pthread_cond_broadcast(&ds_conn_cond);
		pthread_mutex_unlock(&ds_conn_lock);
		conn_put(j->conn);
		free(j);
	}
	return NULL;
}


/*
 * A primary's forwarded mutation: the peer pool's (see struct ds_pool),
 * never the clients'.
 */
static bool peer_forward(const struct wire_hdr *h, const struct wire_body *b)
{
	if (b->fixed_len != sizeof(struct vdifs_chunk_req) ||
	    h->opcode == VDIFS_OP_CHUNK_READ || h->opcode == VDIFS_OP_CHUNK_STAT)
		return false;
	return le32_to_cpu(((const struct vdifs_chunk_req *)b->fixed)->flags) &
	       VDIFS_CHUNK_FWD;
}

/*
 * What runs in the reader, in order and outside both pools: the STAT a
 * primary copying a chunk asks first (it holds its lock on us meanwhile,
 * which its own writers forwarding to us then wait for: behind a full
 * pool, that wait could close a circle).
 */
static bool peer_inline(const struct wire_hdr *h, const struct wire_body *b)
{
	if (b->fixed_len != sizeof(struct vdifs_chunk_req) ||
	    h->opcode != VDIFS_OP_CHUNK_STAT)
		return false;
	return le32_to_cpu(((const struct vdifs_chunk_req *)b->fixed)->flags) &
	       VDIFS_CHUNK_RESYNC;
}

static void job_free(struct ds_job *j)
{
	free(j->x.own_sums);
	vdc_msg_free(&j->msg);
	free(j);
}

/*
 * Commit the reader's deferred writes and answer them, the replies in one
 * send.  The reader calls it before it could wait for anything: its
 * socket, a worker, another write (which might wait for these).
 */
static void batch_end(struct ds_conn *c)
{
	const size_t one = sizeof(struct vdifs_msg_hdr) +
			   sizeof(struct vdifs_chunk_io_rep);
	struct ds_deferred *v[DS_BATCH_MAX];
	int rets[DS_BATCH_MAX];
	u8 buf[DS_BATCH_MAX * (sizeof(struct vdifs_msg_hdr) +
			       sizeof(struct vdifs_chunk_io_rep))];
	size_t len = 0;
	unsigned int i;
	int ret = 0;

	if (!c->nbatch)
		return;
	for (i = 0; i < c->nbatch; i++)
		v[i] = c->batch[i]->def;
	store_defer_end(c->ds, v, c->nbatch, rets);
	for (i = 0; i < c->nbatch; i++) {
		struct ds_job *j = c->batch[i];
		const struct wire_hdr *h = &j->msg.hdr;
		struct vdifs_chunk_io_rep io = { 0 };
		u32 flen = wire_fixed_len(h->opcode, true) > 0 ? sizeof(io) : 0;
		int n;

		io.version = cpu_to_le64(j->x.version);
		rets[i] = ds_primary_result(&j->x, rets[i]);
		n = wire_msg_encode(buf + len, one, h->opcode, VDIFS_MSG_REPLY,
				    h->req_id, rets[i], rets[i] ? NULL : &io,
				    rets[i] ? 0 : flen, NULL, 0, NULL, 0);
		if (n < 0)
			ret = n;
		else
			len += (size_t)n;
		job_free(j);
	}
	c->nbatch = 0;
	if (!ret) {
		pthread_mutex_lock(&c->wlock);
		ret = net_write_full(c->fd, buf, len);
		pthread_mutex_unlock(&c->wlock);
	}
	if (ret)
		shutdown(c->fd, SHUT_RDWR);
}

/*
 * A client's WRITE or PUNCH (forwarded to its sync copies from here), or
 * one a primary forwards to us: run here up to its commit (store_defer_begin()), which
 * batch_end() makes for it and the ones read behind it, when the socket
 * holds no whole request more (so a lone write is committed at once, by
 * the same calls as before).  A worker would cost two thread switches
 * per request; in a guest without hardware virtualisation those took
 * half of a 4 KiB write's CPU.  Returns false, with j untouched, for
 * anything else (run_job() checks and answers it).
 */
static bool job_defer(struct ds_conn *c, struct ds_job *j)
{
	const struct wire_hdr *h = &j->msg.hdr;
	const struct vdifs_chunk_req *q = j->body.fixed;
	struct ds_op_ctx *x = &j->x;
	u32 flags;
	bool fwd;
	int ret;

	/*
	 * Not a large write: the next one's body is better read while a
	 * worker writes this one (on a guest's two CPUs, 1 MiB writes went
	 * at 0.8 of the pool's pace run one after another here); and a
	 * batch gathers only what its reader holds whole (DS_CONN_RBUF).
	 */
	if ((h->opcode != VDIFS_OP_CHUNK_WRITE &&
	     h->opcode != VDIFS_OP_CHUNK_PUNCH) ||
	    j->body.fixed_len != sizeof(*q) || !q->chunk_id ||
	    h->body_len > DS_CONN_RBUF)
		return false;
	flags = le32_to_cpu(q->flags);
	fwd = flags & VDIFS_CHUNK_FWD;
	/* not async copies: their acknowledgement waits for a heartbeat */
	if ((flags & (~VDIFS_CHUNK_FLAGS | VDIFS_CHUNK_RESYNC |
		      VDIFS_CHUNK_EPOCH)) ||
	    (fwd ? c->auth.role != VDIFS_ROLE_DS :
		   q->nrep > 1 && q->repl_mode == VDIFS_REPL_ASYNC))
		return false;
	if (h->opcode == VDIFS_OP_CHUNK_WRITE &&
	    le32_to_cpu(q->len) != j->body.tail_len[1])
		return false;
	memset(x, 0, sizeof(*x));
	x->ds = c->ds;
	x->q = q;
	x->op = h->opcode;
	x->len = le32_to_cpu(q->len);
	if (h->opcode == VDIFS_OP_CHUNK_WRITE) {
		x->data = j->body.tail[1];
		if (q->nsums)
			x->sums = (const __le32 *)j->body.tail[0];
	}
	ret = fwd ? 0 : ds_primary_check(c->ds, x);
	if (!ret && !fwd)
		ret = primary_prepare(x);
	if (!ret) {
		ret = store_defer_begin(x, c, &j->def);
		if (ret == -EWOULDBLOCK && c->nbatch) {
			/* maybe its extents are those of ours in flight */
			batch_end(c);
			ret = store_defer_begin(x, c, &j->def);
		}
	}
	if (!ret) {
		c->batch[c->nbatch++] = j;
		return true;
	}
	batch_end(c);
	if (ret == -EWOULDBLOCK)
		ret = store_mutate(x);
	reply_io(c, h, ds_primary_result(x, ret), x->version);
	job_free(j);
	return true;
}

/* a READ the reader may try without waiting for a device (run_job()) */
static bool may_read_inline(struct ds *ds, const struct wire_hdr *h)
{
	return h->opcode == VDIFS_OP_CHUNK_READ &&
	       !__atomic_load_n(&ds->st.nowait_unknown, __ATOMIC_RELAXED);
}

/* wait until c has room for one more job in the pool, and take it */
static void conn_wait_room(struct ds_conn *c)
{
	pthread_mutex_lock(&ds_conn_lock);
	while (c->jobs >= DS_CONN_JOBS)
		pthread_cond_wait(&ds_conn_cond, &ds_conn_lock);
	c->jobs++;
	pthread_mutex_unlock(&ds_conn_lock);
}

static void *conn_reader(void *arg)
{
	struct ds_conn *c = arg;
	struct ds *ds = c->ds;
	int ret;

	for (;;) {
		struct ds_job *j = calloc(1, sizeof(*j));
		const struct wire_hdr *h;
		u8 fixed[sizeof(struct vdifs_hello_rep)];
		u32 flen = 0;
		bool idle;

		if (!j)
			break;
		/* never wait on the socket with deferred writes */
		if (c->nbatch && (c->nbatch == DS_BATCH_MAX ||
				  !net_rbuf_ready(c->fd, &c->rb)))
			batch_end(c);
		ret = msg_read_buffered(c->fd, &c->rb, &j->msg,
				   c->auth.authed ? -1 : SRV_HANDSHAKE_MS,
				   c->auth.authed ? VDIFS_BODY_MAX :
						    SRV_HANDSHAKE_BODY_MAX);
		if (ret) {
			if (ret != -ECONNRESET)
				log_warn("%s: closing: %s", c->peer,
					 strerror(-ret));
			free(j);
			break;
		}
		h = &j->msg.hdr;
		if (h->flags & VDIFS_MSG_REPLY) {
			log_warn("%s: closing: unsolicited reply", c->peer);
			vdc_msg_free(&j->msg);
			free(j);
			break;
		}
		ret = wire_body_decode(h->opcode, false, 0, j->msg.buf,
				       h->body_len, &j->body);
		if (!ret && h->opcode == VDIFS_OP_HELLO) {
			ret = srv_hello(&c->auth, &ds->keys, ds_epoch,
					&j->body, (void *)fixed);
			flen = sizeof(struct vdifs_hello_rep);
		} else if (!ret && h->opcode == VDIFS_OP_AUTH) {
			ret = srv_auth(&c->auth, &ds->keys, &j->body,
				       (void *)fixed);
			flen = sizeof(struct vdifs_auth_rep);
			c->pr_checked_ms = net_now_ms();
		} else if (!ret) {
			ret = srv_gate(&c->auth);
			if (!ret)
				ret = ds_principal_stands(ds, &c->auth,
							  &c->pr_checked_ms);
			if (!ret)
				ret = ds_cap_check(ds, &c->auth, &c->caps,
						   h->opcode, &j->body);
			if (!ret) {
				j->conn = c;
				if (!peer_inline(h, &j->body) &&
				    job_defer(c, j))
					continue;
				batch_end(c);
				/* the request is the job's now */
				pthread_mutex_lock(&ds_conn_lock);
				c->refs++;
				pthread_mutex_unlock(&ds_conn_lock);
				/*
				 * Nothing else waiting on the socket: run it
				 * here, saving two thread switches (most of a
				 * small request's cost); with more behind it,
				 * a pool runs it while we read on, unless it
				 * is a read of data in memory (nowait: no
				 * device to wait for).  What the pools must
				 * not take, here too.
				 */
				idle = peer_inline(h, &j->body) ||
				       net_rbuf_idle(c->fd, &c->rb);
				if (idle || may_read_inline(ds, h)) {
					j->nowait = !idle;
					if (run_job(ds, j) != -EWOULDBLOCK) {
						vdc_msg_free(&j->msg);
						conn_put(c);
						free(j);
						continue;
					}
					j->nowait = false;
				}
				conn_wait_room(c);
				job_queue(peer_forward(h, &j->body) ?
					  &peer_pool : &client_pool, j);
				continue;
			}
		}
		if (ret)
			log_debug("%s: %s -> %s", c->peer,
				  wire_op_name(h->opcode), strerror(-ret));
		batch_end(c);
		reply(c, h, ret, fixed, flen, NULL, 0);
		if (srv_fatal(h->opcode, ret)) {
			vdc_msg_free(&j->msg);
			free(j);
			break;
		}
		vdc_msg_free(&j->msg);
		free(j);
	}
	batch_end(c);
	shutdown(c->fd, SHUT_RD);
	conn_put(c);
	return NULL;
}

/* ---- the MDS: registration and heartbeats ---- */

static void ds_space(struct ds *ds, u64 *capacity, u64 *used)
{
	struct statvfs sv;

	*used = store_used_bytes(&ds->st);
	*capacity = ds->cfg.capacity;
	if (!*capacity && !fstatvfs(ds->st.dirfd, &sv))
		*capacity = (u64)sv.f_blocks * sv.f_frsize;
}

static int mds_register(struct ds *ds, struct vdc_conn **out)
{
	struct vdc_opts o = {
		.role = VDIFS_ROLE_DS, .key = ds->cfg.key,
		.key_len = ds->cfg.key_len, .insecure = ds->cfg.insecure,
		.timeout_ms = 10000,
	};
	struct vdifs_ds_register_rep rep;
	struct vdc_conn *c;
	u64 cap, used;
	long long sent;
	int ret;

	ret = vdc_connect(ds->cfg.mds, &o, &c);
	if (ret)
		return ret;
	ds_space(ds, &cap, &used);
	sent = net_now_ms();
	ret = vdc_ds_register(c, ds->id, ds->cfg.advertise, cap, used, &rep);
	if (ret) {
		vdc_close(c);
		return ret;
	}
	if (!ds->id || ds->id != le32_to_cpu(rep.ds_id)) {
		ds->id = le32_to_cpu(rep.ds_id);
		ret = store_set_ds_id(&ds->st, ds->id);
		if (ret) {
			vdc_close(c);
			return ret;
		}
	}
	ds->heartbeat_ms = le32_to_cpu(rep.heartbeat_ms);
	if (ds->heartbeat_ms < 10)
		ds->heartbeat_ms = 1000;
	ds->lease_ms = le32_to_cpu(rep.lease_ms);
	if (ds->lease_ms < ds->heartbeat_ms)
		ds->lease_ms = 5000;
	lease_renewed(ds, sent);
	*out = c;
	return 0;
}

static void *heartbeat_thread(void *arg)
{
	struct ds *ds = arg;
	struct vdc_conn *c = NULL;
	struct vdifs_behind *recs = malloc(VDIFS_BEHIND_MAX * sizeof(*recs));

	if (!recs)
		return NULL;
	for (;;) {
		struct vdc_behind b;
		u64 cap, used, gen;
		long long sent;
		int ret;

		/* a heartbeat period, or sooner for an async writer */
		gen = repl_report_due(ds, net_now_ms() + ds->heartbeat_ms);
		if (!c && mds_register(ds, &c)) {
			c = NULL;
			repl_reported(ds, NULL, gen, false);
			continue;
		}
		ds_space(ds, &cap, &used);
		/*
		 * What only we have yet: should we be taken out of those
		 * chunks' sets, the MDS reports their writes lost.
		 */
		ret = repl_behind(ds, &b, recs);
		sent = net_now_ms();
		if (!ret)
			ret = vdc_ds_heartbeat(c, ds->id, cap, used,
					       b.count ? &b : NULL);
		if (!ret)
			lease_renewed(ds, sent);
		repl_reported(ds, !ret && b.count ? &b : NULL, gen, !ret);
		if (ret) {
			log_warn("heartbeat to %s failed: %s; registering again",
				 ds->cfg.mds, strerror(-ret));
			vdc_close(c);
			c = NULL;
		}
	}
	return NULL;
}

/* ---- configuration ---- */

static int cfg_load(struct ds_config *cfg, int argc, char **argv)
{
	int ret;
	const struct cfg_item items[] = {
		{ .key = "mds", .flag = "mds", .type = CFG_STR, .dst = cfg->mds,
		  .cap = sizeof(cfg->mds),
		  .help = "metadata server ADDR:PORT (default " DS_DEFAULT_MDS ")" },
		{ .key = "listen", .flag = "listen", .type = CFG_STR,
		  .dst = cfg->listen, .cap = sizeof(cfg->listen),
		  .help = "ADDR:PORT to serve (default " DS_DEFAULT_LISTEN ")" },
		{ .key = "advertise", .flag = "advertise", .type = CFG_STR,
		  .dst = cfg->advertise, .cap = sizeof(cfg->advertise),
		  .help = "ADDR:PORT others reach us at (default: listen)" },
		{ .key = "data", .flag = "data", .type = CFG_STR,
		  .dst = cfg->data, .cap = sizeof(cfg->data),
		  .help = "chunk store directory (default ./" DS_DEFAULT_DATA ")" },
		{ .key = "capacity", .flag = "capacity", .type = CFG_SIZE,
		  .dst = &cfg->capacity, .min = 1 << 20, .max = 1ull << 60,
		  .help = "bytes offered, e.g. 100G (default: the disk)" },
		CFG_SERVER_KEY_ITEMS(cfg),
		CFG_SERVER_LIMIT_ITEMS(&cfg->limits),
		{ .flag = "port-file", .type = CFG_STR, .dst = cfg->port_file,
		  .cap = sizeof(cfg->port_file),
		  .help = "write the bound port here once registered" },
		{ .key = "log_level", .type = CFG_LEVEL, .dst = &cfg->log_level },
		{ .flag = "verbose", .short_opt = 'v', .type = CFG_FLAG,
		  .dst = &cfg->log_level, .max = LOG_DEBUG_L,
		  .help = "debug logging" },
		{ 0 }
	};

	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->listen, DS_DEFAULT_LISTEN);
	srv_limits_init(&cfg->limits);
	strcpy(cfg->mds, DS_DEFAULT_MDS);
	strcpy(cfg->data, DS_DEFAULT_DATA);
	cfg->log_level = LOG_INFO_L;
	ret = cfg_parse("vdifs-ds",
			"A vdifs data server: chunk data with extent-granular\n"
			"copy-on-write clones, replicated to its peers; it registers\n"
			"with the metadata server and heartbeats.",
			items, argc, argv);
	if (ret)
		return ret;
	return cfg_check_keys(cfg->key_len, cfg->insecure,
			      cfg->client_key_len);
}

static void on_signal(int sig)
{
	ds_stop = 1;
}


int main(int argc, char **argv)
{
	static struct ds ds;
	struct sigaction sa = { .sa_handler = on_signal };
	struct vdc_conn *mc = NULL;
	pthread_attr_t attr;
	pthread_t th;
	int lfd, port, ret, i;

	ret = cfg_load(&ds.cfg, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;
	log_init("vdifs-ds", ds.cfg.log_level);
	srv_keys_init(&ds.keys, ds.cfg.key, ds.cfg.key_len, ds.cfg.client_key,
		      ds.cfg.client_key_len, NULL, 0);
	if (ds.cfg.key_len)
		vdc_cap_key(ds.cfg.key, ds.cfg.key_len, ds.cap_key);
	ds.keys.principal = ds_principal_lookup;
	ds.keys.principal_arg = &ds;
	pthread_mutex_init(&ds.pr_lock, NULL);
	pthread_mutex_init(&ds.pr_ask_lock, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	pthread_mutex_init(&ds.cache_lock, NULL);
	pthread_mutex_init(&ds.peers_lock, NULL);
	pthread_mutex_init(&ds.hb_lock, NULL);
	pthread_cond_init(&ds.hb_kick, NULL);
	pthread_cond_init(&ds.hb_done, NULL);
	pthread_mutex_init(&ds.grp_lock, NULL);
	pthread_cond_init(&ds.grp_cond, NULL);
	ds.grp_tail = &ds.grp_head;
	pthread_mutex_init(&ds.rlog_lock, NULL);
	pthread_cond_init(&ds.rlog_cond, NULL);
	if (getrandom(&ds_epoch, sizeof(ds_epoch), 0) != sizeof(ds_epoch))
		ds_epoch = (u64)time(NULL);

	{
		/* chunk files and connections: as many descriptors as allowed */
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	ret = store_open(&ds.st, ds.cfg.data);
	if (ret) {
		log_err("cannot open the store in %s: %s", ds.cfg.data,
			strerror(-ret));
		return 1;
	}
	ret = store_get_ds_id(&ds.st, &ds.id);
	if (ret)
		return 1;
	lfd = net_listen(ds.cfg.listen, &port);
	if (lfd < 0) {
		log_err("cannot listen on %s: %s", ds.cfg.listen,
			strerror(-lfd));
		return 1;
	}
	if (!ds.cfg.advertise[0]) {
		/* the port we really got, on the address we listen on */
		char host[280];
		char *colon;

		snprintf(host, sizeof(host), "%s", ds.cfg.listen);
		colon = strrchr(host, ':');
		if (colon)
			*colon = '\0';
		snprintf(ds.cfg.advertise, sizeof(ds.cfg.advertise), "%s:%d",
			 host, port);
	}

	/*
	 * A new server serves once the MDS knows it (it has no id before,
	 * and peers find it through the MDS).  One that has served before
	 * serves at once, the MDS or not: clients that hold layouts go on
	 * with it (the epochs they present say whether it is still in a
	 * chunk's set), and the heartbeat thread registers it when the MDS
	 * answers.
	 */
	ds.heartbeat_ms = 1000;
	ds.lease_ms = 5000;
	for (i = 0; !ds_stop; i++) {
		ret = mds_register(&ds, &mc);
		if (!ret) {
			vdc_close(mc);
			break;
		}
		if (ds.id) {
			log_warn("cannot register with %s: %s; serving as data server %u meanwhile",
				 ds.cfg.mds, strerror(-ret), ds.id);
			break;
		}
		if (i % 10 == 0)
			log_warn("cannot register with %s: %s; retrying",
				 ds.cfg.mds, strerror(-ret));
		usleep(500 * 1000);
	}
	if (ds_stop)
		return 0;
	log_info("data server %u serving %s (advertised %s), store %s", ds.id,
		 ds.cfg.listen, ds.cfg.advertise, ds.cfg.data);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 512 << 10);
	for (i = 0; i < DS_WORKERS; i++)
		pthread_create(&th, &attr, worker, &client_pool);
	for (i = 0; i < DS_PEER_WORKERS; i++)
		pthread_create(&th, &attr, worker, &peer_pool);
	pthread_create(&th, &attr, heartbeat_thread, &ds);
	repl_start(&ds);
	if (ds.cfg.port_file[0]) {
		ret = net_write_port_file(ds.cfg.port_file, port);
		if (ret) {
			log_err("cannot write %s: %s", ds.cfg.port_file,
				strerror(-ret));
			return 1;
		}
	}

	while (!ds_stop) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		struct sockaddr_storage ss;
		struct vdifs_addr wa;
		struct ds_conn *c;
		int fd;

		if (poll(&pfd, 1, 500) <= 0)
			continue;
		fd = srv_accept(&ds.cfg.limits, lfd, &ss);
		if (fd < 0)
			continue;
		c = calloc(1, sizeof(*c));
		if (!c)
			goto drop;
		c->ds = &ds;
		c->fd = fd;
		c->addr = ss;
		c->refs = 1;
		if (net_rbuf_init(&c->rb, DS_CONN_RBUF)) {
			free(c);
			goto drop;
		}
		pthread_mutex_init(&c->wlock, NULL);
		vdc_addr_to_wire(&ss, &wa);
		vdc_addr_format(&wa, c->peer, sizeof(c->peer));
		if (!pthread_create(&th, &attr, conn_reader, c))
			continue;
		net_rbuf_free(&c->rb);
		free(c);
drop:
		close(fd);
		srv_release(&ds.cfg.limits, &ss);
	}
	log_info("stopping");
	close(lfd);
	return 0;
}
