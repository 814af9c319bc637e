// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds calls to data servers: chunk operations the MDS makes itself
 * (clones for snapshots, deletes for the collector).
 *
 * Two connections per data server, each with its own lock, so that a
 * slow or stalled server delays only the calls made to it: the table of
 * links is locked only to find a link, never across a call.  A
 * connection's lock is held for a whole call (it carries one request at
 * a time).  One carries single calls, the other batches of clones
 * (CHUNK_CLONE_MANY), so that a small file's snapshot does not wait
 * behind a big one's batches.  Calls may sleep, up to the 30 s timeout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "mds.h"

struct ds_chan {
	pthread_mutex_t lock;		/* serialises calls on conn */
	struct vdc_conn *conn;		/* under lock */
};

struct ds_link {
	u32 id;				/* 0: free slot */
	struct ds_chan one;		/* single calls */
	struct ds_chan bulk;		/* batches */
};

/* links_lock guards the id of every slot; slots are never freed */
static pthread_mutex_t links_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ds_link links[MDS_MAX_DS];

static struct ds_link *link_get(u32 id)
{
	struct ds_link *l = NULL;
	size_t i;

	pthread_mutex_lock(&links_lock);
	for (i = 0; i < MDS_MAX_DS; i++) {
		if (links[i].id == id) {
			l = &links[i];
			break;
		}
		if (!links[i].id) {
			l = &links[i];
			l->id = id;
			pthread_mutex_init(&l->one.lock, NULL);
			pthread_mutex_init(&l->bulk.lock, NULL);
			break;
		}
	}
	pthread_mutex_unlock(&links_lock);
	return l;
}

static int ds_addr(struct mds *m, u32 id, char *buf, size_t cap)
{
	size_t i;
	int ret = -EHOSTUNREACH;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_DS; i++) {
		if (m->ds[i].used && le32_to_cpu(m->ds[i].rec.ds_id) == id) {
			vdc_addr_format(&m->ds[i].rec.addr, buf, cap);
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/*
 * One call to data server id on its link, with tail (len bytes) after q,
 * on the connection for batches if bulk; *out (may be NULL) the reply
 */
static int link_call(struct mds *m, u32 id, u16 op,
		     const struct vdifs_chunk_req *q, const void *tail,
		     u32 len, bool bulk, struct vdc_msg *out)
{
	struct vdc_opts o = {
		.role = VDIFS_ROLE_DS, .key = m->cfg.key,
		.key_len = m->cfg.key_len, .insecure = m->cfg.insecure,
		.timeout_ms = 30000,
	};
	struct ds_link *l = link_get(id);
	struct ds_chan *ch;
	char addr[80];
	int ret = -ENOSPC, tries;

	if (!l)
		return ret;
	ch = bulk ? &l->bulk : &l->one;
	pthread_mutex_lock(&ch->lock);
	for (tries = 0; tries < 2; tries++) {
		if (!ch->conn) {
			ret = ds_addr(m, l->id, addr, sizeof(addr));
			if (!ret)
				ret = vdc_connect(addr, &o, &ch->conn);
			if (ret) {
				ch->conn = NULL;
				break;
			}
		}
		ret = vdc_call(ch->conn, op, q, sizeof(*q), tail, len, NULL, 0,
			       out);
		if (ret == -ECONNRESET || ret == -EPIPE || ret == -ETIMEDOUT ||
		    ret == -EBADMSG || ret == -EPROTO) {
			vdc_close(ch->conn);
			ch->conn = NULL;
			continue;
		}
		break;
	}
	pthread_mutex_unlock(&ch->lock);
	return ret;
}

int dsrpc_chunk_call(struct mds *m, u16 op, const struct vdifs_chunk *c,
		     u64 chunk_id, u64 base_id, u32 chunk_size,
		     u32 extent_size, u8 repl_mode)
{
	struct vdifs_chunk_req q = { 0 };
	unsigned int i;

	q.chunk_id = cpu_to_le64(chunk_id);
	q.base_id = cpu_to_le64(base_id);
	q.chunk_size = cpu_to_le32(chunk_size);
	q.extent_size = cpu_to_le32(extent_size);
	q.nrep = c->nrep;
	q.repl_mode = repl_mode;
	for (i = 0; i < VDIFS_MAX_REPLICAS; i++)
		q.ds[i] = c->ds[i];
	if (op == VDIFS_OP_CHUNK_CLONE)
		q.flags = cpu_to_le32(VDIFS_CHUNK_NEWBASE);
	return link_call(m, le32_to_cpu(c->ds[0]), op, &q, NULL, 0, false,
			 NULL);
}

/*
 * CHUNK_CLONE_MANY of v[0..n) on ds_id; -EOPNOTSUPP from a server
 * without it (nothing done).  rets[i] each clone's answer.
 */
static int clones_call(struct mds *m, u32 ds_id, const struct dsrpc_clone *v,
		       u32 n, const struct vdifs_layout_params *lp, int *rets)
{
	struct vdifs_clone_ent *e = calloc(n, sizeof(*e));
	struct vdifs_chunk_req q = { 0 };
	const struct vdifs_clone_many_rep *rep;
	struct vdc_msg msg;
	u32 i;
	int ret;

	if (!e)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		e[i].chunk_id = cpu_to_le64(v[i].chunk_id);
		e[i].base_id = v[i].base->chunk_id;
		e[i].nrep = v[i].base->nrep;
		memcpy(e[i].ds, v[i].base->ds, sizeof(e[i].ds));
	}
	q.chunk_id = e[0].chunk_id;
	q.len = cpu_to_le32(n * (u32)sizeof(*e));
	q.chunk_size = lp->chunk_size;
	q.extent_size = lp->extent_size;
	q.repl_mode = lp->repl_mode;
	ret = link_call(m, ds_id, VDIFS_OP_CHUNK_CLONE_MANY, &q, e,
			n * (u32)sizeof(*e), true, &msg);
	free(e);
	if (ret)
		return ret;
	rep = msg.body.fixed;
	if (le32_to_cpu(rep->count) != n) {
		vdc_msg_free(&msg);
		return -EPROTO;
	}
	for (i = 0; i < n; i++) {
		__le32 st;

		memcpy(&st, msg.body.tail[0] + (size_t)i * 4, sizeof(st));
		rets[i] = (int)le32_to_cpu(st);
	}
	vdc_msg_free(&msg);
	return 0;
}

/*
 * Clones per CHUNK_CLONE_MANY: the server makes them one after another,
 * each with its commit, then its replicas theirs; a batch bounded so
 * stays well inside the call's 30 s on a disk that syncs slowly
 */
#define DSRPC_CLONES_PER_MSG	128u

void dsrpc_chunk_clones(struct mds *m, u32 ds_id, const struct dsrpc_clone *v,
			u32 n, const struct vdifs_layout_params *lp, int *rets)
{
	u32 i = 0, j, k;
	int ret;

	_Static_assert(DSRPC_CLONES_PER_MSG <= VDIFS_CLONE_MANY_MAX,
		       "a batch the servers take");
	while (n > 1 && i < n) {
		k = n - i < DSRPC_CLONES_PER_MSG ? n - i : DSRPC_CLONES_PER_MSG;
		ret = clones_call(m, ds_id, &v[i], k, lp, &rets[i]);
		if (ret == -EOPNOTSUPP)
			break;		/* a server without it */
		for (j = 0; ret && j < k; j++)
			rets[i + j] = ret;
		i += k;
	}
	/* one at a time: a single clone, or a server without the batch */
	for (; i < n; i++)
		rets[i] = dsrpc_chunk_call(m, VDIFS_OP_CHUNK_CLONE, v[i].base,
					   v[i].chunk_id,
					   le64_to_cpu(v[i].base->chunk_id),
					   le32_to_cpu(lp->chunk_size),
					   le32_to_cpu(lp->extent_size),
					   lp->repl_mode);
}

int dsrpc_chunk_sync(struct mds *m, const struct vdifs_chunk *c, u8 mode,
		     u64 *bytes)
{
	/* its own connection: a copy may take long, the link is shared */
	struct vdc_opts o = {
		.role = VDIFS_ROLE_DS, .key = m->cfg.key,
		.key_len = m->cfg.key_len, .insecure = m->cfg.insecure,
		.timeout_ms = 600000,
	};
	struct vdifs_chunk_req q = { 0 };
	const struct vdifs_chunk_sync_rep *rep;
	struct vdc_conn *conn;
	struct vdc_msg msg;
	char addr[80];
	int ret;

	q.chunk_id = c->chunk_id;
	q.epoch = c->version;
	q.nrep = c->nrep;
	q.repl_mode = mode;
	memcpy(q.ds, c->ds, sizeof(q.ds));
	ret = ds_addr(m, le32_to_cpu(c->ds[0]), addr, sizeof(addr));
	if (!ret)
		ret = vdc_connect(addr, &o, &conn);
	if (ret)
		return ret;
	ret = vdc_call(conn, VDIFS_OP_CHUNK_SYNC, &q, sizeof(q), NULL, 0, NULL,
		       0, &msg);
	vdc_close(conn);
	if (ret)
		return ret;
	rep = msg.body.fixed;
	*bytes = le64_to_cpu(rep->bytes);
	vdc_msg_free(&msg);
	return 0;
}

int dsrpc_chunk_scrub(struct mds *m, u32 ds_id, u64 chunk_id,
		      struct vdifs_chunk_scrub_rep *out)
{
	struct vdifs_chunk_req q = { .chunk_id = cpu_to_le64(chunk_id) };
	struct vdc_msg msg;
	int ret;

	ret = link_call(m, ds_id, VDIFS_OP_CHUNK_SCRUB, &q, NULL, 0, false,
			&msg);
	if (ret)
		return ret;
	memcpy(out, msg.body.fixed, sizeof(*out));
	vdc_msg_free(&msg);
	return 0;
}

/*
 * Asked when a set failed an I/O (recovery.c): on a connection of its
 * own, not the server's link (a long call to a stalled server may hold
 * it), answered within a second or -ETIMEDOUT: a writer waits on this
 * answer, in one of the MDS's few workers.
 */
/*
 * Servers that did not answer a STAT lately: not asked again for a
 * lease (every writer of their chunks asks about them at once, and each
 * wait would hold one of the MDS's workers).  Slot by id; stat_lock.
 */
static pthread_mutex_t stat_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	u32 id;
	long long until_ms;
} stat_mute[MDS_MAX_DS];

static bool stat_muted(u32 id)
{
	bool muted;

	pthread_mutex_lock(&stat_lock);
	muted = stat_mute[id % MDS_MAX_DS].id == id &&
		net_now_ms() < stat_mute[id % MDS_MAX_DS].until_ms;
	pthread_mutex_unlock(&stat_lock);
	return muted;
}

static void stat_mute_for(u32 id, long long ms)
{
	pthread_mutex_lock(&stat_lock);
	stat_mute[id % MDS_MAX_DS].id = id;
	stat_mute[id % MDS_MAX_DS].until_ms = net_now_ms() + ms;
	pthread_mutex_unlock(&stat_lock);
}

int dsrpc_chunk_stat(struct mds *m, u32 ds_id, u64 chunk_id,
		     struct vdifs_chunk_stat *out)
{
	return dsrpc_chunk_stat_epoch(m, ds_id, chunk_id, 0, out);
}

int dsrpc_chunk_stat_epoch(struct mds *m, u32 ds_id, u64 chunk_id,
			   u64 epoch, struct vdifs_chunk_stat *out)
{
	struct vdc_opts o = {
		.role = VDIFS_ROLE_DS, .key = m->cfg.key,
		.key_len = m->cfg.key_len, .insecure = m->cfg.insecure,
		/* a healthy server answers a STAT at once */
		.timeout_ms = m->cfg.lease_ms < 1000 ? (int)m->cfg.lease_ms :
						       1000,
	};
	struct vdifs_chunk_req q = {
		.chunk_id = cpu_to_le64(chunk_id),
		.epoch = cpu_to_le64(epoch),
		.flags = cpu_to_le32(epoch ? VDIFS_CHUNK_EPOCH : 0),
	};
	struct vdc_conn *conn;
	struct vdc_msg msg;
	char addr[80];
	int ret;

	if (stat_muted(ds_id))
		return -ETIMEDOUT;
	ret = ds_addr(m, ds_id, addr, sizeof(addr));
	if (!ret)
		ret = vdc_connect(addr, &o, &conn);
	if (!ret) {
		ret = vdc_call(conn, VDIFS_OP_CHUNK_STAT, &q, sizeof(q), NULL,
			       0, NULL, 0, &msg);
		vdc_close(conn);
	}
	if (ret == -ETIMEDOUT || ret == -ECONNREFUSED ||
	    ret == -ECONNRESET || ret == -EHOSTUNREACH)
		stat_mute_for(ds_id, m->cfg.lease_ms);
	if (ret)
		return ret;
	memcpy(out, msg.body.fixed, sizeof(*out));
	vdc_msg_free(&msg);
	return 0;
}

int dsrpc_chunk_delete_one(struct mds *m, u32 ds_id, u64 chunk_id)
{
	struct vdifs_chunk c = {
		.chunk_id = cpu_to_le64(chunk_id),
		.nrep = 1,
	};

	c.ds[0] = cpu_to_le32(ds_id);
	return dsrpc_chunk_call(m, VDIFS_OP_CHUNK_DELETE, &c, chunk_id, 0, 0,
				0, VDIFS_REPL_SYNC);
}
