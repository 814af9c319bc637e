// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds membership: data servers (client sessions are session.c's),
 * and the cluster's status.
 *
 * Registrations are persistent (LMDB) so that a restarted MDS knows its
 * data servers; liveness is volatile: a server is up while its last
 * heartbeat is younger than the lease.  After an MDS restart every data
 * server is down until it registers or heartbeats again.
 *
 * Placement (member_place): the replicas of a new chunk go to distinct
 * up data servers; with fewer up than the volume's replica count, to as
 * many as are up if that is at least its min_replicas (the chunk starts
 * degraded, as if the others had failed); in the first lease after an
 * MDS restart, while data servers known from before have not reported
 * yet, the writer is told to wait (-EAGAIN) instead.  Each is drawn at random with a weight equal to its
 * free space divided by (1 + chunk replicas already placed on it since it
 * last reported), so that chunks spread over servers, fuller servers get
 * fewer, and a burst of allocations between two heartbeats does not pile
 * onto the server that looked emptiest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include "mds.h"

static bool ds_up(struct mds *m, const struct mds_ds *d, long long now)
{
	return d->used && d->last_seen_ms &&
	       now - d->last_seen_ms <= (long long)m->cfg.lease_ms;
}

bool member_ds_up(struct mds *m, u32 id)
{
	long long now = net_now_ms();
	bool up = false;
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_DS; i++) {
		if (m->ds[i].used && le32_to_cpu(m->ds[i].rec.ds_id) == id) {
			up = ds_up(m, &m->ds[i], now);
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return up;
}

bool member_ds_out(struct mds *m, u32 id)
{
	bool out = false;
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_DS; i++) {
		if (m->ds[i].used && le32_to_cpu(m->ds[i].rec.ds_id) == id) {
			out = le32_to_cpu(m->ds[i].rec.admin) == VDIFS_DS_OUT;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return out;
}

bool member_ds_failed(struct mds *m, u32 id)
{
	long long now = net_now_ms(), since;
	bool failed = true;
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_DS; i++) {
		if (!m->ds[i].used || le32_to_cpu(m->ds[i].rec.ds_id) != id)
			continue;
		since = m->ds[i].last_seen_ms ? m->ds[i].last_seen_ms :
						 m->start_ms;
		failed = now - since > (long long)m->cfg.lease_ms;
		break;
	}
	pthread_mutex_unlock(&m->lock);
	return failed;
}

u64 member_ds_use_ppm(struct mds *m, u32 id)
{
	u64 ppm = 0, cap, used;
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_DS; i++) {
		if (!m->ds[i].used || le32_to_cpu(m->ds[i].rec.ds_id) != id)
			continue;
		cap = le64_to_cpu(m->ds[i].rec.capacity);
		used = le64_to_cpu(m->ds[i].rec.used);
		ppm = !cap || used >= cap ? 1000000 : used * 1000000 / cap;
		break;
	}
	pthread_mutex_unlock(&m->lock);
	return ppm;
}

static struct mds_ds *ds_find(struct mds *m, u32 id)
{
	size_t i;

	for (i = 0; i < MDS_MAX_DS; i++)
		if (m->ds[i].used && le32_to_cpu(m->ds[i].rec.ds_id) == id)
			return &m->ds[i];
	return NULL;
}

int member_load(struct mds *m)
{
	MDB_txn *t;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t nds = 0;
	int rc;

	rc = mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t);
	if (rc)
		return db_err(rc);
	rc = mdb_cursor_open(t, m->db.dservers, &cur);
	if (rc)
		goto out_txn;
	while (!mdb_cursor_get(cur, &k, &v, MDB_NEXT) && nds < MDS_MAX_DS) {
		if (v.mv_size != sizeof(struct mds_ds_rec))
			continue;
		memcpy(&m->ds[nds].rec, v.mv_data, v.mv_size);
		m->ds[nds].used = true;
		m->ds[nds].last_seen_ms = 0;
		nds++;
	}
	mdb_cursor_close(cur);
	log_info("loaded %zu data servers", nds);
out_txn:
	mdb_txn_abort(t);
	return db_err(rc);
}

u64 member_free_bytes(struct mds *m, u64 *total)
{
	long long now = net_now_ms();
	u64 free = 0, tot = 0;
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_DS; i++) {
		const struct mds_ds *d = &m->ds[i];
		u64 cap = le64_to_cpu(d->rec.capacity);
		u64 used = le64_to_cpu(d->rec.used);

		if (!ds_up(m, d, now))
			continue;
		tot += cap;
		free += used < cap ? cap - used : 0;
	}
	pthread_mutex_unlock(&m->lock);
	*total = tot;
	return free;
}

static u64 rand64(void)
{
	u64 r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (u64)random() << 32 | (u64)random();
	return r;
}

int member_place(struct mds *m, MDB_txn *t, unsigned int n, unsigned int min,
		 u32 *out)
{
	long long now = net_now_ms();
	u64 weight[MDS_MAX_DS], sum = 0;
	unsigned int unheard = 0;
	struct mds_ds *pick[VDIFS_MAX_REPLICAS];
	struct mds_ds_rec recs[VDIFS_MAX_REPLICAS];
	unsigned int j;
	size_t i;
	int ret = 0;

	if (n < 1 || n > VDIFS_MAX_REPLICAS || min < 1 || min > n)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_DS; i++) {
		const struct mds_ds *d = &m->ds[i];
		u64 cap = le64_to_cpu(d->rec.capacity);
		u64 used = le64_to_cpu(d->rec.used);

		weight[i] = 0;
		if (!d->used || le32_to_cpu(d->rec.admin) == VDIFS_DS_OUT)
			continue;
		/* known from before a restart, not heard since: not yet */
		if (!d->last_seen_ms &&
		    now - m->start_ms <= (long long)m->cfg.lease_ms)
			unheard++;
		if (!ds_up(m, d, now) || used >= cap)
			continue;
		/* MiB of free space, at least 1, over pending placements */
		weight[i] = (((cap - used) >> 20) + 1) / (1 + d->pending);
		if (!weight[i])
			weight[i] = 1;
		sum += weight[i];
	}
	for (j = 0; j < n; j++) {
		u64 x;

		if (!sum) {
			/*
			 * Fewer up than wanted.  In the first lease after a
			 * restart, while servers known from before may still
			 * report, the writer waits (-EAGAIN) rather than have
			 * a chunk start degraded; then the chunk starts
			 * degraded, if at least min_replicas are up.
			 */
			if (unheard)
				ret = -EAGAIN;
			else if (j < min)
				ret = -ENOSPC;
			n = j;
			break;
		}
		x = rand64() % sum;
		for (i = 0; i < MDS_MAX_DS; i++) {
			if (x < weight[i])
				break;
			x -= weight[i];
		}
		pick[j] = &m->ds[i];
		out[j] = le32_to_cpu(m->ds[i].rec.ds_id);
		sum -= weight[i];
		weight[i] = 0;	/* distinct servers for one chunk */
	}
	for (j = 0; j < n && !ret; j++) {
		pick[j]->rec.chunks =
			cpu_to_le64(le64_to_cpu(pick[j]->rec.chunks) + 1);
		pick[j]->pending++;
		recs[j] = pick[j]->rec;
	}
	pthread_mutex_unlock(&m->lock);
	for (j = 0; j < n && !ret; j++) {
		u8 k[4];

		put_be32(k, out[j]);
		ret = db_put(t, m->db.dservers, k, 4, &recs[j],
			     sizeof(recs[j]), 0);
	}
	return ret ? ret : (int)n;
}

static int op_ds_register(struct mds *m, struct mds_conn *c, MDB_txn *t,
			  const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_ds_register_req *q = b->fixed;
	struct vdifs_ds_register_rep *rep = (void *)r->fixed;
	u32 id = le32_to_cpu(q->ds_id);
	struct mds_ds *d;
	struct mds_ds_rec rec;
	u64 next;
	u8 k[4];
	size_t i;
	int ret;

	if (q->addr.family != VDIFS_AF_INET && q->addr.family != VDIFS_AF_INET6)
		return -EINVAL;
	if (!q->addr.port)
		return -EINVAL;
	if (!id) {
		ret = db_counter_next(t, &m->db, "next_ds", &next);
		if (ret)
			return ret;
		if (next > 0xffffffffull)
			return -ENOSPC;
		id = (u32)next;
	} else {
		/* keep the counter past ids that servers bring with them */
		ret = db_get(t, m->db.meta, "next_ds", 7, &next, sizeof(next));
		if (ret == -ENOENT || (ret >= 0 && next < id)) {
			next = id;
			ret = db_put(t, m->db.meta, "next_ds", 7, &next,
				     sizeof(next), 0);
		}
		if (ret < 0)
			return ret;
	}
	pthread_mutex_lock(&m->lock);
	d = ds_find(m, id);
	for (i = 0; !d && i < MDS_MAX_DS; i++) {
		if (!m->ds[i].used) {
			d = &m->ds[i];
			memset(d, 0, sizeof(*d));
			d->used = true;
		}
	}
	if (d) {
		d->rec.ds_id = cpu_to_le32(id);
		d->rec.addr = q->addr;
		d->rec.capacity = q->capacity;
		d->rec.used = q->used;
		d->last_seen_ms = net_now_ms();
		rec = d->rec;
	}
	pthread_mutex_unlock(&m->lock);
	if (!d)
		return -ENOSPC;
	put_be32(k, id);
	ret = db_put(t, m->db.dservers, k, 4, &rec, sizeof(rec), 0);
	if (ret)
		return ret;
	{
		char a[80];

		vdc_addr_format(&q->addr, a, sizeof(a));
		log_info("data server %u registered at %s", id, a);
	}
	memset(rep, 0, sizeof(*rep));
	rep->ds_id = cpu_to_le32(id);
	rep->heartbeat_ms = cpu_to_le32(m->cfg.heartbeat_ms);
	rep->lease_ms = cpu_to_le32(m->cfg.lease_ms);
	r->flen = sizeof(*rep);
	return 0;
}

/* DS_ADMIN: a data server out of service or back (vdifs-tool ds out/in) */
static int op_ds_admin(struct mds *m, struct mds_conn *c, MDB_txn *t,
		       const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_ds_admin_req *q = b->fixed;
	u32 id = le32_to_cpu(q->ds_id), admin = le32_to_cpu(q->admin);
	struct mds_ds_rec rec;
	struct mds_ds *d;
	u8 k[4];

	if (admin != VDIFS_DS_IN && admin != VDIFS_DS_OUT)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	d = ds_find(m, id);
	if (d) {
		d->rec.admin = cpu_to_le32(admin);
		rec = d->rec;
	}
	pthread_mutex_unlock(&m->lock);
	if (!d)
		return -ENOENT;
	log_info("data server %u %s", id, admin == VDIFS_DS_OUT ?
		 "out of service: its chunks move to others" :
		 "back in service");
	put_be32(k, id);
	return db_put(t, m->db.dservers, k, 4, &rec, sizeof(rec), 0);
}

static int op_ds_heartbeat(struct mds *m, struct mds_conn *c, MDB_txn *t,
			   const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_ds_heartbeat_req *q = b->fixed;
	struct mds_ds *d;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	d = ds_find(m, le32_to_cpu(q->ds_id));
	if (d) {
		d->rec.capacity = q->capacity;
		d->rec.used = q->used;
		d->last_seen_ms = net_now_ms();
		d->pending = 0;	/* used now counts what was placed */
	} else {
		ret = -ENOENT;
	}
	pthread_mutex_unlock(&m->lock);
	return ret ? ret : lost_heartbeat(m, le32_to_cpu(q->ds_id), b);
}

static int op_status(struct mds *m, struct mds_conn *c, MDB_txn *t,
		     const struct wire_body *b, struct mds_reply *r)
{
	struct vdifs_status_rep *sr = (void *)r->fixed;
	u64 degraded, waiting, copied, copied_bytes, sc[3];
	u32 scp;
	bool scr;
	long long now = net_now_ms();
	u32 nds = 0, nsess = 0, nlost;
	size_t i;
	int ret, n;

	ret = reply_tail_reserve(r, VDIFS_BODY_MAX - sizeof(*sr));
	if (ret)
		return ret;
	pthread_mutex_lock(&m->lock);
	degraded = m->rr_degraded;
	waiting = m->rr_waiting;
	copied = m->rr_copied;
	copied_bytes = m->rr_copied_bytes;
	sc[0] = m->scrub_checked;
	sc[1] = m->scrub_bad;
	sc[2] = m->scrub_replaced;
	scp = m->scrub_passes;
	scr = m->scrub_running;
	for (i = 0; i < MDS_MAX_DS; i++) {
		const struct mds_ds *d = &m->ds[i];
		struct vdifs_ds_status st = { 0 };

		if (!d->used)
			continue;
		st.ds_id = d->rec.ds_id;
		st.state = ds_up(m, d, now) ? VDIFS_STATE_UP : VDIFS_STATE_DOWN;
		st.admin = (u8)le32_to_cpu(d->rec.admin);
		st.addr = d->rec.addr;
		st.capacity = d->rec.capacity;
		st.used = d->rec.used;
		st.chunks = d->rec.chunks;
		st.last_seen_ms = cpu_to_le64(d->last_seen_ms ?
					      (u64)(now - d->last_seen_ms) :
					      UINT64_MAX);
		n = wire_rec_put(r->tail + r->tlen, r->tcap - r->tlen, &st,
				 sizeof(st), NULL, 0);
		if (n < 0)
			break;
		r->tlen += (u32)n;
		nds++;
	}
	for (i = 0; i < MDS_MAX_SESSIONS; i++) {
		const struct mds_sess *s = &m->sess[i];
		struct vdifs_session_status st = { 0 };

		if (!s->used)
			continue;
		st.session = s->rec.session;
		st.vol = s->rec.vol;
		st.state = session_up(m, s, now) ? VDIFS_STATE_UP :
						VDIFS_STATE_DOWN;
		st.name_len = s->rec.name_len;
		st.last_seen_ms = cpu_to_le64((u64)(now - s->last_seen_ms));
		n = wire_rec_put(r->tail + r->tlen, r->tcap - r->tlen, &st,
				 sizeof(st), s->rec.name,
				 le16_to_cpu(s->rec.name_len));
		if (n < 0)
			break;
		r->tlen += (u32)n;
		nsess++;
	}
	pthread_mutex_unlock(&m->lock);
	memset(sr, 0, sizeof(*sr));
	ret = lost_status(m, r, &nlost);
	if (ret)
		return ret;
	sr->nlost = cpu_to_le32(nlost);
	sr->degraded = cpu_to_le64(degraded);
	sr->waiting = cpu_to_le32((u32)(waiting < 0xffffffffu ? waiting :
					0xffffffffu));
	sr->copied = cpu_to_le64(copied);
	sr->copied_bytes = cpu_to_le64(copied_bytes);
	sr->scrub_checked = cpu_to_le64(sc[0]);
	sr->scrub_bad = cpu_to_le64(sc[1]);
	sr->scrub_replaced = cpu_to_le64(sc[2]);
	sr->scrub_passes = cpu_to_le32(scp);
	sr->scrub_running = cpu_to_le32(scr);
	sr->nds = cpu_to_le32(nds);
	sr->nsess = cpu_to_le32(nsess);
	sr->server_epoch = cpu_to_le64(m->epoch);
	r->flen = sizeof(*sr);
	return 0;
}

const struct mds_op member_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_DS_REGISTER] = { op_ds_register, MDS_TXN_WRITE },
	[VDIFS_OP_DS_HEARTBEAT] = { op_ds_heartbeat, MDS_TXN_NONE },
	[VDIFS_OP_DS_ADMIN] = { op_ds_admin, MDS_TXN_WRITE },
	[VDIFS_OP_STATUS] = { op_status, MDS_TXN_NONE },
};
