// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-ds replication: the primary of a chunk forwards each mutation to
 * the other servers of its replica set.
 *
 * sync:  the primary applies the mutation, forwards it to every replica
 *        and acknowledges the client only when all have applied it.
 * async: the primary applies the mutation and, in the same LMDB commit,
 *        appends it to a per-replica log; it acknowledges at once, and a
 *        drain thread replays the log to each replica in order, deleting
 *        an entry only once the replica has applied it.  The log is on
 *        disk, so it survives restarts of the primary and outages of the
 *        replica.
 *
 * Forwarded mutations carry the version they produce; replicas apply a
 * version only on top of the one before it (store.c), so replaying an
 * entry twice is harmless and a replica that missed one is detected.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "be.h"
#include "ds.h"

struct ds_rlog_rec {
	__le16 op;
	__le16 pad0;
	__le32 len;		/* data bytes after the request */
	struct vdifs_chunk_req q;
};



/* ---- peers ---- */

/* refresh the peer table from the MDS: ids and addresses */
static int peers_status_ds(const struct vdifs_ds_status *d, void *arg)
{
	struct ds *ds = arg;
	u32 id = le32_to_cpu(d->ds_id);
	unsigned int i;

	for (i = 0; i < ds->npeers; i++)
		if (ds->peers[i].id == id)
			break;
	if (i == ds->npeers) {
		if (ds->npeers == DS_MAX_PEERS)
			return 0;
		ds->npeers++;
		memset(&ds->peers[i], 0, sizeof(ds->peers[i]));
		ds->peers[i].id = id;
		ds->peers[i].pipe_fd = -1;
		pthread_mutex_init(&ds->peers[i].lock, NULL);
		pthread_mutex_init(&ds->peers[i].send_lock, NULL);
		pthread_mutex_init(&ds->peers[i].pipe_lock, NULL);
	}
	vdc_addr_format(&d->addr, ds->peers[i].addr, sizeof(ds->peers[i].addr));
	return 0;
}

int mds_call_status(struct ds *ds)
{
	struct vdc_opts o = {
		.role = VDIFS_ROLE_DS, .key = ds->cfg.key,
		.key_len = ds->cfg.key_len, .insecure = ds->cfg.insecure,
		.timeout_ms = 10000,
	};
	struct vdc_status_cbs cbs = { .ds = peers_status_ds };
	struct vdc_conn *c;
	int ret;

	ret = vdc_connect(ds->cfg.mds, &o, &c);
	if (ret)
		return ret;
	pthread_mutex_lock(&ds->peers_lock);
	ret = vdc_status(c, &cbs, ds, NULL);
	pthread_mutex_unlock(&ds->peers_lock);
	vdc_close(c);
	return ret < 0 ? ret : 0;
}

static struct ds_peer *peer_find(struct ds *ds, u32 id)
{
	struct ds_peer *p = NULL;
	unsigned int i;
	int pass;

	for (pass = 0; pass < 2 && !p; pass++) {
		if (pass && mds_call_status(ds))
			break;
		pthread_mutex_lock(&ds->peers_lock);
		for (i = 0; i < ds->npeers; i++)
			if (ds->peers[i].id == id && ds->peers[i].addr[0])
				p = &ds->peers[i];
		pthread_mutex_unlock(&ds->peers_lock);
	}
	return p;
}

static bool conn_broken(int ret)
{
	return ret == -ECONNRESET || ret == -EPIPE || ret == -ETIMEDOUT ||
	       ret == -EBADMSG || ret == -EPROTO || ret == -ENOTCONN;
}

/* how we talk to peers: a lease and a second to answer (see ds.h) */
static struct vdc_opts peer_opts(const struct ds *ds)
{
	struct vdc_opts o = {
		.role = VDIFS_ROLE_DS, .key = ds->cfg.key,
		.key_len = ds->cfg.key_len, .insecure = ds->cfg.insecure,
		.timeout_ms = (int)(ds->lease_ms ? ds->lease_ms : 5000) + 1000,
	};

	return o;
}

/* the pipes' deadlines are unsigned milliseconds */
static u64 mono_ms(void)
{
	return (u64)net_now_ms();
}

/* true while a peer that timed out is left alone */
static bool peer_muted(const struct ds_peer *p)
{
	u64 until = __atomic_load_n(&p->mute_until, __ATOMIC_RELAXED);

	return until && mono_ms() < until;
}

/*
 * A timeout mutes the peer for a lease: by then the MDS has either heard
 * it (slow, asked again) or taken it out of its sets.
 */
static void peer_note(struct ds *ds, struct ds_peer *p, int ret)
{
	if (ret == -ETIMEDOUT)
		__atomic_store_n(&p->mute_until,
				 mono_ms() + (ds->lease_ms ? ds->lease_ms : 5000),
				 __ATOMIC_RELAXED);
	else if (!ret)
		__atomic_store_n(&p->mute_until, 0, __ATOMIC_RELAXED);
}

/*
 * Connect to p; refused, its address may be old (a server back on
 * another port): the MDS's table again, at most once a second per peer,
 * and one more try if the address changed.
 */
static int peer_connect(struct ds *ds, struct ds_peer *p,
			const struct vdc_opts *o, struct vdc_conn **out)
{
	char was[sizeof(p->addr)], now[sizeof(p->addr)];
	u64 t = mono_ms(), last;
	int ret;

	pthread_mutex_lock(&ds->peers_lock);
	memcpy(was, p->addr, sizeof(was));
	pthread_mutex_unlock(&ds->peers_lock);
	ret = vdc_connect(was, o, out);
	if (ret != -ECONNREFUSED)
		return ret;
	last = __atomic_load_n(&p->addr_checked, __ATOMIC_RELAXED);
	if (last && t - last < 1000)
		return ret;
	__atomic_store_n(&p->addr_checked, t, __ATOMIC_RELAXED);
	if (mds_call_status(ds))
		return ret;
	pthread_mutex_lock(&ds->peers_lock);
	memcpy(now, p->addr, sizeof(now));
	pthread_mutex_unlock(&ds->peers_lock);
	if (!strcmp(was, now))
		return ret;
	log_info("data server %u: now at %s", p->id, now);
	return vdc_connect(now, o, out);
}

static int peer_call(struct ds *ds, struct ds_peer *p, u16 op,
		     const struct vdifs_chunk_req *q, const u8 *data, u32 len,
		     struct vdc_msg *rep)
{
	struct vdc_opts o = peer_opts(ds);
	int ret = -ENOTCONN, tries;

	pthread_mutex_lock(&p->lock);
	for (tries = 0; tries < 2; tries++) {
		if (peer_muted(p)) {
			ret = -ETIMEDOUT;
			break;
		}
		if (!p->conn) {
			ret = peer_connect(ds, p, &o, &p->conn);
			peer_note(ds, p, ret);
			if (ret) {
				p->conn = NULL;
				continue;
			}
		}
		ret = vdc_call(p->conn, op, q, sizeof(*q), data, len, NULL, 0,
			       rep);
		peer_note(ds, p, ret);
		/*
		 * A broken connection is retried once on a fresh one; a
		 * peer that did not answer in time is not asked again here.
		 */
		if (conn_broken(ret)) {
			vdc_close(p->conn);
			p->conn = NULL;
			if (ret != -ETIMEDOUT)
				continue;
		}
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int repl_peer_call(struct ds *ds, u32 peer, u16 op,
		   const struct vdifs_chunk_req *q, const u8 *data, u32 len,
		   struct vdc_msg *rep)
{
	struct ds_peer *p = peer_find(ds, peer);

	return p ? peer_call(ds, p, op, q, data, len, rep) : -EHOSTUNREACH;
}

/* ---- the pipe: sync forwards, many in flight ---- */

/* pipe_lock held: every wait still due ends with err */
static void pipe_fail_waits(struct ds_peer *p, int err)
{
	struct repl_wait *w;

	for (w = p->waits; w; w = w->next) {
		w->status = err;
		w->done = true;
		pthread_cond_signal(&w->cond);
	}
	p->waits = NULL;
}

/* pipe_lock held: w off the list of waits, if it is on it */
static void pipe_unlink(struct ds_peer *p, struct repl_wait *w)
{
	struct repl_wait **pp;

	for (pp = &p->waits; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

/* pipe_lock held: the pipe is broken, every wait on it fails with err */
static void pipe_break(struct ds_peer *p, int err)
{
	if (p->pipe_fd >= 0)
		shutdown(p->pipe_fd, SHUT_RDWR);
	p->pipe_dead = true;
	pipe_fail_waits(p, err);
}

/* send_lock held: a broken pipe nobody reads any more, closed */
static void pipe_reap(struct ds_peer *p)
{
	bool gone;

	if (!p->pipe)
		return;
	pthread_mutex_lock(&p->pipe_lock);
	gone = p->pipe_dead && !p->pipe_reading;
	if (gone)
		p->pipe_fd = -1;
	pthread_mutex_unlock(&p->pipe_lock);
	if (!gone)
		return;
	vdc_close(p->pipe);
	p->pipe = NULL;
}

/* replies read ahead on a pipe: 64 bytes each */
#define DS_PIPE_RBUF	(8u << 10)

/* send_lock held */
static int pipe_open(struct ds *ds, struct ds_peer *p)
{
	struct vdc_opts o = peer_opts(ds);
	int ret;

	pipe_reap(p);
	if (p->pipe)
		return 0;
	if (!p->pipe_rb.buf && net_rbuf_init(&p->pipe_rb, DS_PIPE_RBUF))
		return -ENOMEM;
	ret = peer_connect(ds, p, &o, &p->pipe);
	peer_note(ds, p, ret);
	if (ret) {
		p->pipe = NULL;
		return ret;
	}
	pthread_mutex_lock(&p->pipe_lock);
	p->pipe_fd = vdc_fd(p->pipe);
	p->pipe_answered_ms = mono_ms();
	p->pipe_dead = false;
	/* nobody reads a pipe not yet open: what the old one left goes */
	p->pipe_rb.head = p->pipe_rb.tail = 0;
	pthread_mutex_unlock(&p->pipe_lock);
	return 0;
}

/*
 * Send one forward on p's pipe, w to be completed by its reply.  The
 * wait is linked before the send (another waiter may read the reply
 * before we return).
 */
static int pipe_send(struct ds *ds, struct ds_peer *p, struct repl_fwd *f,
		     struct repl_wait *w, bool more)
{
	int ret;

	pthread_mutex_lock(&p->send_lock);
	/* after the lock: the sender before us may have waited it out */
	ret = peer_muted(p) ? -ETIMEDOUT : pipe_open(ds, p);
	if (ret)
		goto out_unlock;
	w->id = ++p->pipe_next_id;
	w->done = false;
	w->waiting = false;
	w->status = 0;
	pthread_cond_init(&w->cond, NULL);
	pthread_mutex_lock(&p->pipe_lock);
	w->next = p->waits;
	p->waits = w;
	pthread_mutex_unlock(&p->pipe_lock);
	if (f->sums)
		ret = msg_write_sums(vdc_fd(p->pipe), f->op, w->id, &f->fq,
				     sizeof(f->fq), f->sums,
				     wire_sums_bytes(le16_to_cpu(f->fq.nsums)),
				     f->data, f->len, more);
	else
		ret = msg_write(vdc_fd(p->pipe), f->op, 0, w->id, 0, &f->fq,
				sizeof(f->fq), NULL, 0, f->data, f->len);
	/* held back until repl_forward_push() or a send without it */
	__atomic_store_n(&p->pipe_held, !ret && more && f->sums,
			 __ATOMIC_RELAXED);
	if (ret) {
		pthread_mutex_lock(&p->pipe_lock);
		pipe_unlink(p, w);
		/* a reader, if any, meets the shut socket and breaks it */
		if (p->pipe_reading)
			shutdown(p->pipe_fd, SHUT_RDWR);
		else
			pipe_break(p, -ECONNRESET);
		pthread_mutex_unlock(&p->pipe_lock);
	}
out_unlock:
	pthread_mutex_unlock(&p->send_lock);
	return ret;
}

static void abs_deadline(struct timespec *ts, u64 deadline_ms)
{
	u64 now = mono_ms(), left = deadline_ms > now ? deadline_ms - now : 0;

	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += left / 1000;
	ts->tv_nsec += (long)(left % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * pipe_lock held, and dropped while we read: one reply off the pipe,
 * to whichever wait it names.  An error breaks the pipe; a timeout is
 * ours (the peer did not answer us in time), and breaks it too: what
 * else waits on it would wait as long.
 */
static void pipe_read_one(struct ds_peer *p, u64 deadline_ms)
{
	u64 now = mono_ms();
	int tmo = deadline_ms > now ? (int)(deadline_ms - now) : 0;
	int fd = p->pipe_fd, ret;
	struct repl_wait *w;
	struct vdc_msg m;

	p->pipe_reading = true;
	pthread_mutex_unlock(&p->pipe_lock);
	ret = tmo ? msg_read_buffered(fd, &p->pipe_rb, &m, tmo,
				      VDIFS_BODY_MAX) : -ETIMEDOUT;
	if (!ret && !(m.hdr.flags & VDIFS_MSG_REPLY)) {
		vdc_msg_free(&m);
		ret = -EPROTO;
	}
	pthread_mutex_lock(&p->pipe_lock);
	p->pipe_reading = false;
	if (ret) {
		pipe_break(p, ret);
		return;
	}
	p->pipe_answered_ms = mono_ms();
	for (w = p->waits; w && w->id != m.hdr.req_id; w = w->next)
		;
	if (w) {	/* none: it timed out, and went */
		w->status = m.hdr.status;
		w->done = true;
		pipe_unlink(p, w);
		pthread_cond_signal(&w->cond);
	}
	vdc_msg_free(&m);
}

/*
 * Wait for w's reply until deadline, reading the pipe ourselves while
 * nobody else does.  A peer that has not answered by then is muted and
 * its pipe broken: what else waits on it fails now rather than each at
 * its own deadline.  A writer waits for its peers one after another, so
 * the deadline is at least PIPE_GRACE_MS from now: a reply that came
 * while it waited for the peer before is still read, not timed out.
 *
 * Slow is not failed: a peer answering others' forwards on the pipe is
 * alive, only busy (a chunk's pipelined writes are applied there one
 * after another, each with its syncs), so the deadline moves on with
 * its answers, up to PIPE_BUSY_TIMES its first length: a reply is late
 * only after a whole timeout in which the peer answered nothing.
 */
#define PIPE_GRACE_MS	1000u
#define PIPE_BUSY_TIMES	4u

/* pipe_lock held: w's deadline as the peer's answers have moved it */
static u64 pipe_deadline(const struct ds_peer *p, u64 deadline_ms,
			 u64 timeout_ms, u64 last_ms)
{
	u64 busy = p->pipe_answered_ms + timeout_ms;

	if (busy > last_ms)
		busy = last_ms;
	return busy > deadline_ms ? busy : deadline_ms;
}

/* pipe_lock held: the first writer waiting, if any, reads the pipe now */
static void pipe_hand_over(struct ds_peer *p)
{
	struct repl_wait *o;

	for (o = p->waits; o; o = o->next) {
		if (o->waiting && !o->done) {
			pthread_cond_signal(&o->cond);
			return;
		}
	}
}

static int pipe_wait(struct ds *ds, struct ds_peer *p, struct repl_wait *w,
		     u64 deadline_ms)
{
	u64 timeout_ms = (u64)peer_opts(ds).timeout_ms;
	u64 last_ms = deadline_ms + (PIPE_BUSY_TIMES - 1) * timeout_ms;
	struct timespec ts;
	int ret;

	if (deadline_ms < mono_ms() + PIPE_GRACE_MS)
		deadline_ms = mono_ms() + PIPE_GRACE_MS;
	pthread_mutex_lock(&p->pipe_lock);
	w->waiting = true;
	while (!w->done) {
		deadline_ms = pipe_deadline(p, deadline_ms, timeout_ms,
					    last_ms);
		if (!p->pipe_reading && !p->pipe_dead) {
			pipe_read_one(p, deadline_ms);
			continue;
		}
		abs_deadline(&ts, deadline_ms);
		if (pthread_cond_timedwait(&w->cond, &p->pipe_lock,
					   &ts) == ETIMEDOUT && !w->done &&
		    pipe_deadline(p, deadline_ms, timeout_ms, last_ms) <=
		    mono_ms()) {
			pipe_unlink(p, w);
			w->status = -ETIMEDOUT;
			w->done = true;
			/* the reader meets the shut socket and breaks it */
			if (p->pipe_fd >= 0)
				shutdown(p->pipe_fd, SHUT_RDWR);
		}
	}
	ret = w->status;
	w->waiting = false;
	/* ours came: the reading is the next waiter's, if nobody reads */
	if (!p->pipe_reading)
		pipe_hand_over(p);
	pthread_mutex_unlock(&p->pipe_lock);
	pthread_cond_destroy(&w->cond);
	peer_note(ds, p, ret);
	return ret;
}

/*
 * Sync replication: the mutation goes to every replica at once (sent to
 * each, then each reply awaited), so three replicas cost one round trip
 * more than one, not two; and the primary writes its own copy in
 * between.  A pipe that breaks is retried once on the peer's other
 * connection, alone: the caller still holds the chunk's mutex, so its
 * versions stay in order.
 */
void repl_forward_begin(struct ds *ds, struct repl_fwd *f, const u32 *peers,
			unsigned int n, u16 op, const struct vdifs_chunk_req *q,
			const u8 *data, u32 len, const __le32 *sums, bool more)
{
	unsigned int i;

	f->peers = peers;
	f->n = n;
	f->op = op;
	f->fq = *q;
	f->fq.flags = cpu_to_le32(le32_to_cpu(q->flags) | VDIFS_CHUNK_FWD);
	f->data = op == VDIFS_OP_CHUNK_WRITE ? data : NULL;
	f->len = op == VDIFS_OP_CHUNK_WRITE ? len : 0;
	f->sums = op == VDIFS_OP_CHUNK_WRITE && len ? sums : NULL;
	f->fq.nsums = cpu_to_le16(f->sums ? len / VDIFS_SUM_BLOCK : 0);
	f->deadline_ms = mono_ms() + peer_opts(ds).timeout_ms;
	for (i = 0; i < n; i++) {
		f->sent[i] = false;
		f->p[i] = peer_find(ds, peers[i]);
		if (!f->p[i]) {
			log_warn("replica %u: no address known", peers[i]);
			f->err[i] = -EHOSTUNREACH;
			continue;
		}
		f->err[i] = pipe_send(ds, f->p[i], f, &f->w[i], more);
		f->sent[i] = !f->err[i];
	}
}

/*
 * Send what repl_forward_begin(more) held back on f's pipes.  A pipe
 * whose push fails is shut: its waits fail, as a failed send's would.
 */
void repl_forward_push(struct repl_fwd *f)
{
	unsigned int i;

	for (i = 0; i < f->n; i++) {
		struct ds_peer *p = f->p[i];

		if (!f->sent[i] || !__atomic_load_n(&p->pipe_held,
						    __ATOMIC_RELAXED))
			continue;
		pthread_mutex_lock(&p->send_lock);
		if (p->pipe_held && p->pipe && net_push(vdc_fd(p->pipe)))
			shutdown(vdc_fd(p->pipe), SHUT_RDWR);
		__atomic_store_n(&p->pipe_held, false, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&p->send_lock);
	}
}

void repl_forward_end(struct ds *ds, struct repl_fwd *f, int *err)
{
	unsigned int i;

	for (i = 0; i < f->n; i++) {
		struct ds_peer *p = f->p[i];
		int ret = f->err[i];

		if (f->sent[i])
			ret = pipe_wait(ds, p, &f->w[i], f->deadline_ms);
		if (p && conn_broken(ret) && ret != -ETIMEDOUT) {
			/* alone, as a plain request: summed whole */
			struct vdifs_chunk_req rq = f->fq;

			rq.nsums = 0;
			ret = peer_call(ds, p, f->op, &rq, f->data, f->len,
					NULL);
		}
		err[i] = ret;
	}
}

/* ---- the async log ---- */

int repl_log_append(struct ds *ds, MDB_txn *t, u32 peer, u16 op,
		    const struct vdifs_chunk_req *q, const u8 *data, u32 len)
{
	MDB_val k = { 7, "rlogseq" }, v;
	struct ds_rlog_rec *rec;
	u64 seq = 0;
	u8 key[12];
	u32 dl = op == VDIFS_OP_CHUNK_WRITE ? len : 0;
	int rc;

	rc = mdb_get(t, ds->st.meta, &k, &v);
	if (!rc && v.mv_size == 8)
		memcpy(&seq, v.mv_data, 8);
	else if (rc && rc != MDB_NOTFOUND)
		return -EIO;
	seq++;
	v.mv_size = 8;
	v.mv_data = &seq;
	rc = mdb_put(t, ds->st.meta, &k, &v, 0);
	if (rc)
		return rc == MDB_MAP_FULL ? -ENOSPC : -EIO;

	rec = malloc(sizeof(*rec) + dl);
	if (!rec)
		return -ENOMEM;
	memset(rec, 0, sizeof(*rec));
	rec->op = cpu_to_le16(op);
	rec->len = cpu_to_le32(dl);
	rec->q = *q;
	rec->q.flags = cpu_to_le32(le32_to_cpu(q->flags) | VDIFS_CHUNK_FWD);
	rec->q.nsums = 0;	/* replayed as a plain request (peer_call) */
	if (dl)
		memcpy(rec + 1, data, dl);
	put_be32(key, peer);
	put_be32(key + 4, (u32)(seq >> 32));
	put_be32(key + 8, (u32)seq);
	k.mv_size = 12;
	k.mv_data = key;
	v.mv_size = sizeof(*rec) + dl;
	v.mv_data = rec;
	rc = mdb_put(t, ds->st.rlog, &k, &v, 0);
	free(rec);
	if (rc)
		return rc == MDB_MAP_FULL ? -ENOSPC : -EIO;
	return 0;
}

/*
 * What the log holds, for the MDS (heartbeats): the count of mutations
 * and the distinct chunks they are of with the newest version of each,
 * up to VDIFS_BEHIND_MAX chunks, found in at most RLOG_SCAN_MAX entries
 * (a replica down for long has a long log; the MDS then knows only that
 * the list is incomplete).
 */
#define RLOG_SCAN_MAX	65536u
#define BEHIND_SLOTS	(2 * VDIFS_BEHIND_MAX)	/* a power of two */

int repl_behind(struct ds *ds, struct vdc_behind *b, struct vdifs_behind *recs)
{
	/* open addressing: slot -> 1 + index into recs, 0 empty */
	u16 slots[BEHIND_SLOTS] = { 0 };
	MDB_cursor *cur;
	MDB_stat st;
	MDB_txn *t;
	MDB_val k, v;
	u64 scanned = 0;
	bool full = false;
	int rc;

	memset(b, 0, sizeof(*b));
	b->recs = recs;
	rc = mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t);
	if (rc)
		return -EIO;
	rc = mdb_stat(t, ds->st.rlog, &st);
	if (rc || !st.ms_entries)
		goto out_txn;
	b->count = st.ms_entries;
	rc = mdb_cursor_open(t, ds->st.rlog, &cur);
	if (rc)
		goto out_txn;
	while (scanned < RLOG_SCAN_MAX &&
	       !mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ds_rlog_rec r;
		u64 id, slot;

		scanned++;
		if (v.mv_size < sizeof(r))
			continue;
		memcpy(&r, v.mv_data, sizeof(r));
		id = le64_to_cpu(r.q.chunk_id);
		for (slot = (id * 0x9e3779b97f4a7c15ull) >> 53;
		     slots[slot] &&
		     le64_to_cpu(recs[slots[slot] - 1].chunk_id) != id;
		     slot = (slot + 1) & (BEHIND_SLOTS - 1))
			;
		if (slots[slot]) {
			struct vdifs_behind *e = &recs[slots[slot] - 1];

			if (le64_to_cpu(r.q.version) > le64_to_cpu(e->version))
				e->version = r.q.version;
			continue;
		}
		if (b->n == VDIFS_BEHIND_MAX) {
			full = true;
			break;
		}
		recs[b->n].chunk_id = r.q.chunk_id;
		recs[b->n].version = r.q.version;
		slots[slot] = (u16)++b->n;
	}
	mdb_cursor_close(cur);
	b->all = !full && scanned == b->count;
out_txn:
	mdb_txn_abort(t);
	return rc ? -EIO : 0;
}

/* ---- what the MDS has heard of the log ---- */

u64 repl_report_due(struct ds *ds, u64 due_ms)
{
	struct timespec ts;
	u64 gen;

	abs_deadline(&ts, due_ms);
	pthread_mutex_lock(&ds->hb_lock);
	while (ds->hb_asked == ds->hb_sent &&
	       pthread_cond_timedwait(&ds->hb_kick, &ds->hb_lock,
				      &ts) != ETIMEDOUT)
		;
	gen = ds->hb_sent = ds->hb_asked;
	pthread_mutex_unlock(&ds->hb_lock);
	return gen;
}

void repl_reported(struct ds *ds, const struct vdc_behind *b, u64 gen,
		   bool ok)
{
	u32 i, n = b ? b->n : 0;

	pthread_mutex_lock(&ds->hb_lock);
	if (ok) {
		for (i = 0; i < n; i++)
			ds->hb_reported[i] = le64_to_cpu(b->recs[i].chunk_id);
		qsort(ds->hb_reported, n, sizeof(u64), ds_cmp_u64);
		ds->hb_nreported = n;
		ds->hb_all = !b || b->all;
		if (gen > ds->hb_acked)
			ds->hb_acked = gen;
		ds->hb_warned = false;
	}
	ds->hb_mds_ok = ok;
	pthread_cond_broadcast(&ds->hb_done);
	pthread_mutex_unlock(&ds->hb_lock);
}

/*
 * An async write is on our stable storage and in our log; its replicas
 * get it later.  Should we die for good before they do, the MDS can
 * report the write lost only if it knows the chunk was in our log: so
 * the writer waits (a heartbeat's round trip, shared by all writers
 * waiting) until a heartbeat that started after its commit has been
 * taken, unless the MDS knows the chunk is in the log already, or the
 * last heartbeat listed not all of it (the MDS then takes every async
 * chunk of ours as maybe lost), or the MDS does not answer (a write is
 * not held up by an MDS away; the log says so).
 */
void repl_report_wait(struct ds *ds, u64 id)
{
	struct timespec ts;
	u64 gen;

	pthread_mutex_lock(&ds->hb_lock);
	if (!ds->hb_all ||
	    bsearch(&id, ds->hb_reported, ds->hb_nreported, sizeof(u64),
		    ds_cmp_u64))
		goto out_unlock;
	if (!ds->hb_mds_ok) {
		if (!ds->hb_warned)
			log_warn("async writes are acknowledged unreported while the MDS does not answer");
		ds->hb_warned = true;
		goto out_unlock;
	}
	gen = ++ds->hb_asked;
	pthread_cond_signal(&ds->hb_kick);
	abs_deadline(&ts, mono_ms() + (ds->lease_ms ? ds->lease_ms : 5000));
	while (ds->hb_acked < gen && ds->hb_mds_ok)
		if (pthread_cond_timedwait(&ds->hb_done, &ds->hb_lock,
					   &ts) == ETIMEDOUT)
			break;
out_unlock:
	pthread_mutex_unlock(&ds->hb_lock);
}

void repl_kick(struct ds *ds)
{
	pthread_mutex_lock(&ds->rlog_lock);
	ds->rlog_kick = true;
	pthread_cond_signal(&ds->rlog_cond);
	pthread_mutex_unlock(&ds->rlog_lock);
}

/*
 * Take the oldest entry for a peer other than those in skip[]; returns 1
 * with a malloc'd copy, 0 when none is left.
 */
static int rlog_oldest(struct ds *ds, const u32 *skip, unsigned int nskip,
		       u8 key[12], struct ds_rlog_rec **out, size_t *size)
{
	MDB_txn *t;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, found = 0;

	if (mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t))
		return -EIO;
	if (mdb_cursor_open(t, ds->st.rlog, &cur)) {
		mdb_txn_abort(t);
		return -EIO;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		u32 peer;
		unsigned int i;

		if (k.mv_size != 12)
			continue;
		peer = get_be32(k.mv_data);
		for (i = 0; i < nskip; i++)
			if (skip[i] == peer)
				break;
		if (i < nskip)
			continue;
		*out = malloc(v.mv_size);
		if (*out) {
			memcpy(*out, v.mv_data, v.mv_size);
			memcpy(key, k.mv_data, 12);
			*size = v.mv_size;
			found = 1;
		}
		break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(t);
	return found;
}

static void rlog_delete(struct ds *ds, const u8 key[12])
{
	MDB_txn *t;
	MDB_val k = { 12, (void *)key };

	if (mdb_txn_begin(ds->st.env, NULL, 0, &t))
		return;
	if (mdb_del(t, ds->st.rlog, &k, NULL))
		mdb_txn_abort(t);
	else
		mdb_txn_commit(t);
}

/* one pass over the log: replay in order, per peer, until one fails */
static bool rlog_drain(struct ds *ds)
{
	u32 failed[DS_MAX_PEERS];
	unsigned int nfailed = 0;
	bool busy = false;

	for (;;) {
		struct ds_rlog_rec *rec;
		struct ds_peer *p;
		size_t size;
		u8 key[12];
		u32 peer;
		int ret;

		ret = rlog_oldest(ds, failed, nfailed, key, &rec, &size);
		if (ret <= 0)
			break;
		busy = true;
		peer = get_be32(key);
		/*
		 * An entry of another size is of another format (the request
		 * grew with protocol versions): it cannot be replayed, and
		 * must not be read past its end.  The replica that misses
		 * it is found out by its version gap and copied again.
		 */
		if (size < sizeof(*rec) ||
		    size != sizeof(*rec) + le32_to_cpu(rec->len)) {
			log_err("replica %u: dropping a log entry of %zu bytes, not of this format",
				peer, size);
			free(rec);
			rlog_delete(ds, key);
			continue;
		}
		p = peer_find(ds, peer);
		ret = p ? peer_call(ds, p, le16_to_cpu(rec->op), &rec->q,
				    (const u8 *)(rec + 1),
				    le32_to_cpu(rec->len), NULL) : -EHOSTUNREACH;
		free(rec);
		if (!ret || ret == -EEXIST || ret == -ENOENT) {
			/* applied, or nothing left to apply it to */
			rlog_delete(ds, key);
			continue;
		}
		if (ret == -ESTALE)
			log_err("replica %u is stale; its log waits for recovery",
				peer);
		else
			log_debug("replica %u unreachable (%s), will retry",
				  peer, strerror(-ret));
		if (nfailed < DS_MAX_PEERS)
			failed[nfailed++] = peer;
	}
	return busy && nfailed;
}

static void *rlog_thread(void *arg)
{
	struct ds *ds = arg;

	for (;;) {
		struct timespec ts;
		bool retry = rlog_drain(ds);

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += retry ? 1 : 2;
		pthread_mutex_lock(&ds->rlog_lock);
		if (!ds->rlog_kick)
			pthread_cond_timedwait(&ds->rlog_cond, &ds->rlog_lock,
					       &ts);
		ds->rlog_kick = false;
		pthread_mutex_unlock(&ds->rlog_lock);
	}
	return NULL;
}

int repl_start(struct ds *ds)
{
	pthread_t th;

	if (pthread_create(&th, NULL, rlog_thread, ds))
		return -EAGAIN;
	pthread_detach(th);
	return 0;
}
