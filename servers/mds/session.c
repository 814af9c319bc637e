// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds client sessions: opened by a mount, renewed by its
 * heartbeats, closed at umount or expired by the reaper after
 * session_expiry_s unheard (their kept replies go with them, replay.c).
 *
 * The records are persistent (LMDB) so that a restarted MDS knows the
 * sessions whose replies it kept; liveness is volatile: a session is up
 * while its last heartbeat is younger than the lease, and after an MDS
 * restart every session gets one lease of grace to come back.  The table
 * (m->sess) is under m->lock, which is never held across an LMDB write
 * transaction's begin.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mds.h"

bool session_up(struct mds *m, const struct mds_sess *s, long long now)
{
	return s->used && now - s->last_seen_ms <= (long long)m->cfg.lease_ms;
}

static struct mds_sess *sess_find(struct mds *m, u64 id)
{
	size_t i;

	for (i = 0; i < MDS_MAX_SESSIONS; i++)
		if (m->sess[i].used &&
		    le64_to_cpu(m->sess[i].rec.session) == id)
			return &m->sess[i];
	return NULL;
}

int session_load(struct mds *m)
{
	long long now = net_now_ms();
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_txn *t;
	size_t ns = 0;
	int rc;

	rc = mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t);
	if (rc)
		return db_err(rc);
	rc = mdb_cursor_open(t, m->db.sessions, &cur);
	if (rc)
		goto out_txn;
	while (!mdb_cursor_get(cur, &k, &v, MDB_NEXT) && ns < MDS_MAX_SESSIONS) {
		if (v.mv_size != sizeof(struct mds_session_rec))
			continue;
		memcpy(&m->sess[ns].rec, v.mv_data, v.mv_size);
		m->sess[ns].used = true;
		m->sess[ns].last_seen_ms = now;
		ns++;
	}
	mdb_cursor_close(cur);
	log_info("loaded %zu sessions", ns);
out_txn:
	mdb_txn_abort(t);
	return db_err(rc);
}

bool session_vol_busy(struct mds *m, u32 vol)
{
	long long now = net_now_ms();
	bool busy = false;
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_SESSIONS && !busy; i++)
		busy = session_up(m, &m->sess[i], now) &&
		       le32_to_cpu(m->sess[i].rec.vol) == vol;
	pthread_mutex_unlock(&m->lock);
	return busy;
}

static int op_session_open(struct mds *m, struct mds_conn *c, MDB_txn *t,
			   const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_session_open_req *q = b->fixed;
	struct vdifs_session_rep *rep = (void *)r->fixed;
	struct mds_session_rec rec = { 0 };
	struct mds_sess *s = NULL;
	u32 vol = le32_to_cpu(q->vol);
	u64 id;
	u8 k[8];
	size_t i;
	int ret;

	if (vol) {
		put_be32(k, vol);
		ret = db_get(t, m->db.vols, k, 4, NULL, 0);
		if (ret < 0)
			return ret;
	}
	ret = db_counter_next(t, &m->db, "next_session", &id);
	if (ret)
		return ret;
	rec.session = cpu_to_le64(id);
	rec.vol = q->vol;
	rec.name_len = cpu_to_le16((u16)b->tail_len[0]);
	memcpy(rec.name, b->tail[0], b->tail_len[0]);
	put_be64(k, id);
	ret = db_put(t, m->db.sessions, k, 8, &rec, sizeof(rec), 0);
	if (ret)
		return ret;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_SESSIONS; i++) {
		if (!m->sess[i].used) {
			s = &m->sess[i];
			s->used = true;
			s->rec = rec;
			s->last_seen_ms = net_now_ms();
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (!s)
		return -EUSERS;
	/* this connection's mutations are the session's from now on */
	__atomic_store_n(&c->session, id, __ATOMIC_RELEASE);
	memset(rep, 0, sizeof(*rep));
	rep->session = cpu_to_le64(id);
	rep->heartbeat_ms = cpu_to_le32(m->cfg.heartbeat_ms);
	rep->lease_ms = cpu_to_le32(m->cfg.lease_ms);
	r->flen = sizeof(*rep);
	return 0;
}

static int op_session_heartbeat(struct mds *m, struct mds_conn *c,
				MDB_txn *t, const struct wire_body *b,
				struct mds_reply *r)
{
	const struct vdifs_session_req *q = b->fixed;
	struct mds_sess *s;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	s = sess_find(m, le64_to_cpu(q->session));
	if (s)
		s->last_seen_ms = net_now_ms();
	else
		ret = -ENOENT;
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int op_session_close(struct mds *m, struct mds_conn *c, MDB_txn *t,
			    const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_session_req *q = b->fixed;
	u64 id = le64_to_cpu(q->session);
	struct mds_sess *s;
	u8 k[8];
	int ret;

	put_be64(k, id);
	ret = db_del(t, m->db.sessions, k, 8);
	if (!ret)
		ret = replay_forget(m, t, id);
	if (ret)
		return ret;
	pthread_mutex_lock(&m->lock);
	s = sess_find(m, id);
	if (s)
		s->used = false;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/*
 * SESSION_BIND: a connection made again by a client with a session says
 * which, before it resends what was in flight (replay.c).  -ENOENT: the
 * session is gone (closed, or never was).
 */
static int op_session_bind(struct mds *m, struct mds_conn *c, MDB_txn *t,
			   const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_session_req *q = b->fixed;
	u64 id = le64_to_cpu(q->session);
	struct mds_sess *s;
	u8 k[8];
	int ret;

	if (!id)
		return -EINVAL;
	put_be64(k, id);
	ret = db_get(t, m->db.sessions, k, 8, NULL, 0);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&m->lock);
	s = sess_find(m, id);
	if (s)
		s->last_seen_ms = net_now_ms();
	pthread_mutex_unlock(&m->lock);
	__atomic_store_n(&c->session, id, __ATOMIC_RELEASE);
	return 0;
}

/* ---- session expiry ---- */

#define REAP_BATCH	64

/*
 * Sessions unheard for session_expiry_s go, with their kept replies: a
 * client that comes back later finds its session gone (SESSION_BIND:
 * -ENOENT) and opens a new one.
 */
static void reap_sessions(struct mds *m)
{
	struct mds_session_rec gone[REAP_BATCH];
	long long now = net_now_ms();
	unsigned int n = 0, i;
	MDB_txn *t;
	int ret;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_SESSIONS && n < REAP_BATCH; i++) {
		struct mds_sess *s = &m->sess[i];

		if (!s->used || now - s->last_seen_ms <=
		    (long long)m->cfg.session_expiry_s * 1000)
			continue;
		gone[n++] = s->rec;
		s->used = false;
	}
	pthread_mutex_unlock(&m->lock);
	if (!n)
		return;
	ret = db_err(mdb_txn_begin(m->db.env, NULL, 0, &t));
	for (i = 0; i < n && !ret; i++) {
		u8 k[8];

		put_be64(k, le64_to_cpu(gone[i].session));
		ret = db_del(t, m->db.sessions, k, 8);
		if (ret == -ENOENT)
			ret = 0;
		if (!ret)
			ret = replay_forget(m, t, le64_to_cpu(gone[i].session));
	}
	if (!ret)
		ret = db_err(mdb_txn_commit(t));
	else
		mdb_txn_abort(t);
	for (i = 0; i < n; i++)
		log_info("session %016llx (%.*s) %s: unheard for %u s",
			 (unsigned long long)le64_to_cpu(gone[i].session),
			 (int)le16_to_cpu(gone[i].name_len), gone[i].name,
			 ret ? "not expired, will retry" : "expired",
			 m->cfg.session_expiry_s);
	if (ret) {
		/* back in the table: tried again next time */
		pthread_mutex_lock(&m->lock);
		for (i = 0; i < n; i++) {
			struct mds_sess *s;
			size_t k;

			for (k = 0; k < MDS_MAX_SESSIONS; k++) {
				s = &m->sess[k];
				if (!s->used) {
					s->used = true;
					s->rec = gone[i];
					s->last_seen_ms = 0;
					break;
				}
			}
		}
		pthread_mutex_unlock(&m->lock);
	}
}

static void *reaper(void *arg)
{
	struct mds *m = arg;

	for (;;) {
		usleep(m->cfg.lease_ms * 1000);
		reap_sessions(m);
	}
	return NULL;
}

int session_start(struct mds *m)
{
	pthread_t th;

	if (pthread_create(&th, NULL, reaper, m))
		return -EAGAIN;
	pthread_detach(th);
	return 0;
}

const struct mds_op session_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_SESSION_OPEN] = { op_session_open, MDS_TXN_WRITE },
	[VDIFS_OP_SESSION_HEARTBEAT] = { op_session_heartbeat, MDS_TXN_NONE },
	[VDIFS_OP_SESSION_CLOSE] = { op_session_close, MDS_TXN_WRITE },
	[VDIFS_OP_SESSION_BIND] = { op_session_bind, MDS_TXN_READ },
};
