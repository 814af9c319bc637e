// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-ds resync: the primary of a chunk makes the servers the MDS adds
 * to its replica set hold a whole copy (CHUNK_SYNC).
 *
 * The copy is delta-aware.  A clone is made on the new server as a clone
 * of its base there (its base first, recursively, when the server has
 * none: a base is frozen, so it copies without a lock), plus the extents
 * that are its own (block by block where it shares an extent with its
 * base in part), plus punches for the extents its base has and it has
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
 * A server that has a copy already, behind ours (it was out of the set
 * for a while: down, stalled, or its copy went stale), is caught up
 * instead: it is sent the extents written here since its version (map
 * entries carry the version that wrote them) and those whose block
 * checksums there differ from ours (its copy may have gone another way
 * at its last versions, when a primary failed after forwarding), and
 * punches for the extents it has and we have not.  So a server back
 * after a short absence costs what changed meanwhile, not a whole copy.
 *
 * Transfers are forwarded requests with the RESYNC flag: the target
 * applies them whatever the version order, and marks its copy STALE
 * until the last one (a WRITE of len 0) gives it the version and epoch
 * the copy ends at; a copy cut short is caught up the next time.
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
	/* a PUNCH has a length and no data */
	return repl_peer_call(ds, peer, op, &q, data, data ? len : 0, NULL);
}

/* reads extents of r into its buffer, to send them */
struct ext_reader {
	struct vdifs_chunk_req rq;
	struct ds_op_ctx x;
};

static int ext_reader_init(struct ext_reader *rd, struct ds *ds,
			   const struct ds_chunk_rec *r)
{
	u32 es = le32_to_cpu(r->extent_size);

	memset(rd, 0, sizeof(*rd));
	rd->rq.chunk_id = r->id;
	rd->rq.len = cpu_to_le32(es);
	rd->rq.flags = cpu_to_le32(VDIFS_CHUNK_RESYNC);
	rd->x.ds = ds;
	rd->x.q = &rd->rq;
	rd->x.len = es;
	rd->x.out = malloc(es);
	return rd->x.out ? 0 : -ENOMEM;
}

/* extent e of r onto peer: as data if data, else as a punch */
static int send_extent(struct ds *ds, u32 peer,
		       const struct vdifs_chunk_req *tmpl,
		       const struct ds_chunk_rec *r, struct ext_reader *rd,
		       u32 e, bool data, u64 *bytes)
{
	u32 es = le32_to_cpu(r->extent_size);
	int ret;

	if (!data)
		return send_op(ds, peer, VDIFS_OP_CHUNK_PUNCH, tmpl,
			       le64_to_cpu(r->id), 0, r, e * es, es, NULL, 0);
	rd->rq.offset = cpu_to_le32(e * es);
	ret = store_read(&rd->x);
	if (ret)
		return ret;
	*bytes += es;
	return send_op(ds, peer, VDIFS_OP_CHUNK_WRITE, tmpl,
		       le64_to_cpu(r->id), 0, r, e * es, es, rd->x.out, 0);
}

/*
 * Own extent e of a clone r onto peer, where the clone was just made as
 * a clone of its base: the blocks it still shares with the base's extent
 * are there already, so only runs of the others go (the peer's first
 * write into the inherited extent leaves the rest in the base's file, as
 * here).
 */
static int send_own_extent(struct ds *ds, u32 peer,
			   const struct vdifs_chunk_req *tmpl,
			   const struct ds_chunk_rec *r, struct ext_reader *rd,
			   u32 e, u64 *bytes)
{
	u32 es = le32_to_cpu(r->extent_size), nb = es / DS_BLOCK, i, j;
	bool shared[DS_EXT_BLOCKS];
	int ret;

	ret = store_ext_shared(ds, r, e, shared);
	if (ret <= 0 || !r->base_id)
		return send_extent(ds, peer, tmpl, r, rd, e, true, bytes);
	rd->rq.offset = cpu_to_le32(e * es);
	ret = store_read(&rd->x);
	for (i = 0; !ret && i < nb; i = j) {
		for (; i < nb && shared[i]; i++)
			;
		for (j = i; j < nb && !shared[j]; j++)
			;
		if (i == j)
			break;
		*bytes += (j - i) * DS_BLOCK;
		ret = send_op(ds, peer, VDIFS_OP_CHUNK_WRITE, tmpl,
			      le64_to_cpu(r->id), 0, r, e * es + i * DS_BLOCK,
			      (j - i) * DS_BLOCK, rd->x.out + i * DS_BLOCK, 0);
	}
	return ret;
}

/* the own extents of r as data, the extents it dropped as punches */
static int push_delta(struct ds *ds, u32 peer,
		      const struct vdifs_chunk_req *tmpl,
		      const struct ds_chunk_rec *r, u64 *bytes)
{
	u32 n = 0, e;
	struct ext_reader rd;
	u8 *own = NULL, *drop = NULL;
	int ret;

	ret = store_delta(ds, r, &own, &drop, &n);
	if (ret)
		return ret;
	ret = ext_reader_init(&rd, ds, r);
	if (ret)
		goto out_free;
	for (e = 0; e < n && !ret; e++) {
		if (own[e / 8] & (1 << (e % 8)))
			ret = send_own_extent(ds, peer, tmpl, r, &rd, e,
					      bytes);
		else if (drop[e / 8] & (1 << (e % 8)))
			ret = send_extent(ds, peer, tmpl, r, &rd, e, false,
					  bytes);
	}
	free(rd.x.out);
out_free:
	free(own);
	free(drop);
	return ret;
}

/* past this many versions behind, stamps could wrap: every extent goes */
#define CATCH_UP_STAMPS_MAX	(1ull << 30)

/*
 * Peer's copy of r, at version since (behind ours, or gone another way
 * at its last versions, or cut short: STALE), made whole by what
 * differs: the extents written here after since, and those whose block
 * checksums there are not ours (CHUNK_SUMS), as data; those it has and
 * we have not, as punches.  A span of the chunk at a time.
 */
static int catch_up(struct ds *ds, u32 peer,
		    const struct vdifs_chunk_req *tmpl,
		    const struct ds_chunk_rec *r, u64 since, u64 *bytes)
{
	u32 cs = le32_to_cpu(r->chunk_size), es = le32_to_cpu(r->extent_size);
	u32 span = cs < VDIFS_SUMS_SPAN ? cs : VDIFS_SUMS_SPAN, off, i;
	bool all = le64_to_cpu(r->version) - since >= CATCH_UP_STAMPS_MAX;
	u8 send[VDIFS_SUMS_MAP_MAX], punch[VDIFS_SUMS_MAP_MAX];
	struct ext_reader rd;
	int ret;

	ret = ext_reader_init(&rd, ds, r);
	if (ret)
		return ret;
	for (off = 0; off < cs && !ret; off += span) {
		u32 len = cs - off < span ? cs - off : span;
		u32 first = off / es, n = (len + es - 1) / es;
		const struct vdifs_chunk_sums_rep *sr;
		struct vdifs_chunk_req q = { 0 };
		struct vdc_msg m;

		q.chunk_id = r->id;
		q.offset = cpu_to_le32(off);
		q.len = cpu_to_le32(len);
		q.flags = cpu_to_le32(VDIFS_CHUNK_RESYNC);
		ret = repl_peer_call(ds, peer, VDIFS_OP_CHUNK_SUMS, &q, NULL,
				     0, &m);
		if (ret == -EOPNOTSUPP)
			ret = -EEXIST;	/* a server of before CHUNK_SUMS */
		if (ret)
			break;
		sr = m.body.fixed;
		memset(send, 0, sizeof(send));
		memset(punch, 0, sizeof(punch));
		if (le32_to_cpu(sr->extent_size) != es ||
		    m.body.tail_len[0] != (n + 7) / 8)
			ret = -EPROTO;
		else
			ret = store_changed(ds, r, since, all, first, n,
					    m.body.tail[0],
					    (const __le32 *)m.body.tail[1],
					    m.body.tail_len[1] / 4, send,
					    punch);
		vdc_msg_free(&m);
		for (i = 0; i < n && !ret; i++) {
			if (send[i / 8] & (1 << (i % 8)))
				ret = send_extent(ds, peer, tmpl, r, &rd,
						  first + i, true, bytes);
			else if (punch[i / 8] & (1 << (i % 8)))
				ret = send_extent(ds, peer, tmpl, r, &rd,
						  first + i, false, bytes);
		}
	}
	free(rd.x.out);
	return ret;
}

enum { PEER_IN_SYNC, PEER_NONE, PEER_ADOPT, PEER_BEHIND };

/*
 * peer's copy of chunk r: PEER_IN_SYNC, PEER_NONE (to send whole),
 * PEER_ADOPT (a base its clones hold there), PEER_BEHIND (to catch up
 * from *since), or -errno (-EEXIST: a copy that cannot be caught up: of
 * another geometry or base, frozen, or ahead of ours)
 */
static int peer_state(struct ds *ds, u32 peer, const struct ds_chunk_rec *r,
		      u64 *since)
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
		return PEER_NONE;
	if (ret)
		return ret;
	st = m.body.fixed;
	fl = le32_to_cpu(st->flags);
	*since = le64_to_cpu(st->version);
	if (st->version == r->version && !(fl & VDIFS_CHUNK_STALE))
		ret = fl & VDIFS_CHUNK_HELD ? PEER_ADOPT : PEER_IN_SYNC;
	else if ((fl & (VDIFS_CHUNK_HELD | VDIFS_CHUNK_FROZEN)) ||
		 st->base_id != r->base_id ||
		 st->chunk_size != r->chunk_size ||
		 st->extent_size != r->extent_size ||
		 *since > le64_to_cpu(r->version))
		ret = -EEXIST;
	else
		ret = PEER_BEHIND;
	vdc_msg_free(&m);
	return ret;
}

/* whole: its version, frozen if ours is */
static int send_whole(struct ds *ds, u32 peer,
		      const struct vdifs_chunk_req *tmpl,
		      const struct ds_chunk_rec *r)
{
	return send_op(ds, peer, VDIFS_OP_CHUNK_WRITE, tmpl,
		       le64_to_cpu(r->id), 0, r, 0, 0, NULL,
		       le32_to_cpu(r->flags) & VDIFS_CHUNK_FROZEN ?
		       VDIFS_CHUNK_NEWBASE : 0);
}

/*
 * Chunk r onto peer, which has none: as a clone of its base (the base
 * sent first when the peer lacks it, caught up when its copy there is
 * behind) or created empty, then its delta.  A base sent for a clone is
 * held by the clone alone there once it is made.
 */
static int push_chunk(struct ds *ds, u32 peer,
		      const struct vdifs_chunk_req *tmpl,
		      const struct ds_chunk_rec *r, unsigned int depth,
		      u64 *bytes)
{
	u64 id = le64_to_cpu(r->id), base = le64_to_cpu(r->base_id), since;
	struct vdifs_chunk_req btmpl;
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
	/*
	 * The base there first, as ours: a copy of it that missed writes
	 * (its server out of the base's set for a while, kept to be caught
	 * up) would give the clone stale extents.  Its transfers carry no
	 * epoch: the base's set is not the clone's.
	 */
	btmpl = *tmpl;
	btmpl.epoch = 0;
	ret = store_rec(ds, base, &br);
	if (!ret)
		ret = peer_state(ds, peer, &br, &since);
	if (ret == PEER_NONE) {
		ret = push_chunk(ds, peer, &btmpl, &br, depth + 1, bytes);
		sent_base = !ret;
	} else if (ret == PEER_BEHIND) {
		ret = catch_up(ds, peer, &btmpl, &br, since, bytes);
		if (!ret)
			ret = send_whole(ds, peer, &btmpl, &br);
	} else if (ret == PEER_IN_SYNC || ret == PEER_ADOPT) {
		ret = 0;
	}
	if (!ret)
		ret = send_op(ds, peer, VDIFS_OP_CHUNK_CLONE, tmpl, id, base, r,
			      0, 0, NULL, 0);
	if (!ret && sent_base) {
		/* the clone holds it now; nothing else does there */
		ret = send_op(ds, peer, VDIFS_OP_CHUNK_DELETE, &btmpl, base, 0,
			      &br, 0, 0, NULL, 0);
	}
delta:
	if (ret)
		return ret;
	ret = push_delta(ds, peer, tmpl, r, bytes);
	if (ret)
		return ret;
	return send_whole(ds, peer, tmpl, r);
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
	chunk_quiesce(c);
	ret = store_rec(ds, id, &r);
	if (!ret && (le32_to_cpu(r.flags) & (DS_DELETED | VDIFS_CHUNK_STALE)))
		ret = -ESTALE;
	if (!ret && le64_to_cpu(r.epoch) > epoch)
		ret = -ESTALE;	/* the set has moved past this one */
	for (i = 1; i < q->nrep && !ret; i++) {
		u32 peer = le32_to_cpu(q->ds[i]);

		u64 since;

		ret = peer_state(ds, peer, &r, &since);
		if (ret == PEER_NONE) {
			ret = push_chunk(ds, peer, &tmpl, &r, 0, &x->sync_bytes);
		} else if (ret == PEER_BEHIND) {
			ret = catch_up(ds, peer, &tmpl, &r, since,
				       &x->sync_bytes);
			if (!ret)
				ret = send_whole(ds, peer, &tmpl, &r);
			if (!ret)
				log_info("chunk %016llx: data server %u caught up from version %llu to %llu",
					 (unsigned long long)id, peer,
					 (unsigned long long)since,
					 (unsigned long long)le64_to_cpu(r.version));
		} else if (ret == PEER_ADOPT) {	/* a len-0 RESYNC write */
			ret = send_op(ds, peer, VDIFS_OP_CHUNK_WRITE, &tmpl, id,
				      0, &r, 0, 0, NULL, 0);
		}
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
