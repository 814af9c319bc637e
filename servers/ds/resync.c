// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-ds resync: the primary of a chunk makes the servers the MDS adds
 * to its replica set hold a whole copy (CHUNK_SYNC).
 *
 * The copy is delta-aware.  A clone is made on the new server as a clone
 * of its base there (its base first, recursively, when the server has
 * none: a base is frozen, so it copies without a lock), plus the extents
 * that are its own, plus punches for the extents its base has and it has
 * not.  So the bytes sent for a clone are its own, and a base crosses
 * the network once for all its clones that go to the same server (the
 * MDS sends the chunks that share a base to the same server).  A base
 * made only for a clone is left held by its clone alone, as its file's
 * servers would hold it after the file let it go; it is adopted if the
 * MDS later adds the server to the base's own set.
 *
 * The chunk's mutex is held throughout, so its writers wait (they are
 * slow, not failed) and the copy is the chunk as of one version.  Before
 * the mutex goes, the chunk takes the new set's epoch: a writer with the
 * set the new server is not in is refused and asks the MDS, which by
 * then (or a moment later) answers the new set.
 *
 * Transfers are forwarded requests with the RESYNC flag: the target
 * applies them whatever the version order, and they carry the version
 * and epoch the copy ends at.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ds.h"

static int send_op(struct ds *ds, u32 peer, u16 op,
		   const struct vdifs_chunk_req *tmpl, u64 id, u64 base,
		   const struct ds_chunk_rec *r, u32 off, u32 len,
		   const u8 *data, u32 flags)
{
	struct vdifs_chunk_req q = *tmpl;

	q.chunk_id = cpu_to_le64(id);
	q.base_id = cpu_to_le64(base);
	q.version = r->version;
	q.offset = cpu_to_le32(off);
	q.len = cpu_to_le32(len);
	q.chunk_size = r->chunk_size;
	q.extent_size = r->extent_size;
	q.flags = cpu_to_le32(VDIFS_CHUNK_FWD | VDIFS_CHUNK_RESYNC | flags);
	return repl_peer_call(ds, peer, op, &q, data, len, NULL);
}

/* the own extents of r as data, the extents it dropped as punches */
static int push_delta(struct ds *ds, u32 peer,
		      const struct vdifs_chunk_req *tmpl,
		      const struct ds_chunk_rec *r, u64 *bytes)
{
	u32 es = le32_to_cpu(r->extent_size), n = 0, e;
	struct vdifs_chunk_req rq = { 0 };
	struct ds_op_ctx x = { .ds = ds, .q = &rq, .len = es };
	u8 *own = NULL, *drop = NULL;
	int ret;

	ret = store_delta(ds, r, &own, &drop, &n);
	if (ret)
		return ret;
	x.out = malloc(es);
	if (!x.out) {
		ret = -ENOMEM;
		goto out_free;
	}
	rq.chunk_id = r->id;
	rq.len = cpu_to_le32(es);
	rq.flags = cpu_to_le32(VDIFS_CHUNK_RESYNC);
	for (e = 0; e < n && !ret; e++) {
		if (own[e / 8] & (1 << (e % 8))) {
			rq.offset = cpu_to_le32(e * es);
			ret = store_read(&x);
			if (!ret)
				ret = send_op(ds, peer, VDIFS_OP_CHUNK_WRITE,
					      tmpl, le64_to_cpu(r->id), 0, r,
					      e * es, es, x.out, 0);
			*bytes += es;
		} else if (drop[e / 8] & (1 << (e % 8))) {
			ret = send_op(ds, peer, VDIFS_OP_CHUNK_PUNCH, tmpl,
				      le64_to_cpu(r->id), 0, r, e * es, es,
				      NULL, 0);
		}
	}
	free(x.out);
out_free:
	free(own);
	free(drop);
	return ret;
}

/*
 * Chunk r onto peer, which has none: as a clone of its base (the base
 * sent first when the peer lacks it) or created empty, then its delta.
 * A base sent for a clone keeps its creation reference; the caller drops
 * it once the clone holds the base.
 */
static int push_chunk(struct ds *ds, u32 peer,
		      const struct vdifs_chunk_req *tmpl,
		      const struct ds_chunk_rec *r, unsigned int depth,
		      u64 *bytes)
{
	u64 id = le64_to_cpu(r->id), base = le64_to_cpu(r->base_id);
	struct ds_chunk_rec br;
	bool sent_base = false;
	int ret;

	if (depth > 100000)
		return -ELOOP;
	if (!base) {
		ret = send_op(ds, peer, VDIFS_OP_CHUNK_WRITE, tmpl, id, 0, r,
			      0, 0, NULL, 0);
		goto delta;
	}
	ret = send_op(ds, peer, VDIFS_OP_CHUNK_CLONE, tmpl, id, base, r, 0, 0,
		      NULL, 0);
	if (ret == -ENOENT) {
		ret = store_rec(ds, base, &br);
		if (!ret)
			ret = push_chunk(ds, peer, tmpl, &br, depth + 1, bytes);
		if (!ret)
			ret = send_op(ds, peer, VDIFS_OP_CHUNK_CLONE, tmpl, id,
				      base, r, 0, 0, NULL, 0);
		sent_base = !ret;
	}
	if (sent_base) {
		/* the clone holds it now; nothing else does there */
		ret = send_op(ds, peer, VDIFS_OP_CHUNK_DELETE, tmpl, base, 0,
			      &br, 0, 0, NULL, 0);
	}
delta:
	if (ret)
		return ret;
	ret = push_delta(ds, peer, tmpl, r, bytes);
	if (ret)
		return ret;
	/* whole: its version, frozen if ours is */
	return send_op(ds, peer, VDIFS_OP_CHUNK_WRITE, tmpl, id, 0, r, 0, 0,
		       NULL, le32_to_cpu(r->flags) & VDIFS_CHUNK_FROZEN ?
		       VDIFS_CHUNK_NEWBASE : 0);
}

/* peer's copy of chunk r: 0 in sync, 1 to send, 2 to adopt, or -errno */
static int peer_state(struct ds *ds, u32 peer, const struct ds_chunk_rec *r)
{
	struct vdifs_chunk_req q = { 0 };
	const struct vdifs_chunk_stat *st;
	struct vdc_msg m;
	u32 fl;
	int ret;

	q.chunk_id = r->id;
	q.flags = cpu_to_le32(VDIFS_CHUNK_RESYNC);
	ret = repl_peer_call(ds, peer, VDIFS_OP_CHUNK_STAT, &q, NULL, 0, &m);
	if (ret == -ENOENT)
		return 1;
	if (ret)
		return ret;
	st = m.body.fixed;
	fl = le32_to_cpu(st->flags);
	if (st->version != r->version || (fl & VDIFS_CHUNK_STALE))
		ret = -EEXIST;	/* a copy out of sync: not copied over */
	else if (fl & VDIFS_CHUNK_HELD)
		ret = 2;	/* a base its clones hold there */
	vdc_msg_free(&m);
	return ret;
}

int resync_chunk(struct ds *ds, struct ds_op_ctx *x)
{
	const struct vdifs_chunk_req *q = x->q;
	u64 id = le64_to_cpu(q->chunk_id), epoch = le64_to_cpu(q->epoch);
	struct vdifs_chunk_req tmpl = { 0 };
	struct ds_chunk_rec r;
	struct ds_chunk *c;
	unsigned int i;
	int ret;

	if (q->nrep < 2 || q->nrep > VDIFS_MAX_REPLICAS || !epoch)
		return -EINVAL;
	if (le32_to_cpu(q->ds[0]) != ds->id)
		return -ENXIO;
	for (i = 1; i < q->nrep; i++)
		if (!q->ds[i] || le32_to_cpu(q->ds[i]) == ds->id)
			return -EINVAL;
	/* the transfers carry the new set */
	tmpl.epoch = q->epoch;
	tmpl.nrep = q->nrep;
	tmpl.repl_mode = q->repl_mode;
	memcpy(tmpl.ds, q->ds, sizeof(tmpl.ds));

	c = chunk_get(ds, id);
	if (!c)
		return -ENOMEM;
	pthread_mutex_lock(&c->mutex);
	ret = store_rec(ds, id, &r);
	if (!ret && (le32_to_cpu(r.flags) & (DS_DELETED | VDIFS_CHUNK_STALE)))
		ret = -ESTALE;
	if (!ret && le64_to_cpu(r.epoch) > epoch)
		ret = -ESTALE;	/* the set has moved past this one */
	for (i = 1; i < q->nrep && !ret; i++) {
		u32 peer = le32_to_cpu(q->ds[i]);

		ret = peer_state(ds, peer, &r);
		if (ret == 1)
			ret = push_chunk(ds, peer, &tmpl, &r, 0, &x->sync_bytes);
		else if (ret == 2)	/* adopt: a len-0 RESYNC write */
			ret = send_op(ds, peer, VDIFS_OP_CHUNK_WRITE, &tmpl, id,
				      0, &r, 0, 0, NULL, 0);
		if (ret)
			log_err("chunk %016llx: copy to data server %u: %s",
				(unsigned long long)id, peer, strerror(-ret));
	}
	if (!ret)
		ret = store_set_epoch(ds, id, epoch);
	x->version = le64_to_cpu(r.version);
	pthread_mutex_unlock(&c->mutex);
	chunk_put(ds, c);
	return ret;
}
