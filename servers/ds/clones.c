// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-ds CHUNK_CLONE_MANY: the clones of a snapshot in one message.
 *
 * A snapshot or clone of a file makes a CHUNK_CLONE of each of its
 * chunks.  One by one, each costs a message to its primary and back and
 * a forward to each replica and back: a server spends more on those (the
 * sends and receives, the hand-offs between threads) than on the clone,
 * a few records in a transaction.  So the MDS sends a primary its clones
 * at once; the primary makes each on its own copy (store_mutate(), as a
 * CHUNK_CLONE that forwards nothing), then sends each replica in one
 * message those it holds copies of, and answers with a status per clone:
 * what CHUNK_CLONE would have answered (a replica that failed a clone
 * makes it -EREMOTEIO, or that replica's -ESTALE or -ENOSPC, for the MDS
 * to act on as before).  Clones of async sets go one by one, as before
 * (their forwards go through the replication log).
 *
 * A CHUNK_CLONE holds its chunks' locks across its forward; here the
 * replicas get theirs after.  Nothing can reach a new clone before the
 * MDS commits the op that made it, after this answers, and its base is
 * frozen at the primary, which alone forwards writes to the replicas.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ds.h"

/* entry i of the request's tail, as the CHUNK_CLONE it stands for */
static void clone_req(const struct vdifs_chunk_req *q, const u8 *tail,
		      u32 i, struct vdifs_chunk_req *out)
{
	struct vdifs_clone_ent e;

	memcpy(&e, tail + (size_t)i * sizeof(e), sizeof(e));
	memset(out, 0, sizeof(*out));
	out->chunk_id = e.chunk_id;
	out->base_id = e.base_id;
	out->version = e.version;
	out->chunk_size = q->chunk_size;
	out->extent_size = q->extent_size;
	out->flags = q->flags | cpu_to_le32(VDIFS_CHUNK_NEWBASE);
	out->nrep = e.nrep;
	out->repl_mode = q->repl_mode;
	memcpy(out->ds, e.ds, sizeof(out->ds));
}

/* what the MDS hears of a clone that replica peer failed with err */
static int replica_failed(u32 peer, const struct vdifs_clone_ent *e, int err)
{
	struct ds_op_ctx x = { .fwd_err = err };

	log_err("chunk %016llx: replica %u failed CHUNK_CLONE: %s",
		(unsigned long long)le64_to_cpu(e->chunk_id), peer,
		strerror(-err));
	return ds_primary_result(&x, 0);
}

/*
 * The clones made here (rets[i] 0) that peer holds a copy of, in one
 * message; a failure of the whole message is each one's.
 */
static void clones_forward(struct ds *ds, u32 peer,
			   const struct vdifs_chunk_req *q, const u8 *tail,
			   u32 n, const struct ds_op_ctx *x, int *rets)
{
	struct vdifs_clone_ent *v = calloc(n, sizeof(*v));
	u32 *which = calloc(n, sizeof(*which));
	struct vdifs_chunk_req fq = *q;
	struct vdc_msg rep;
	u32 i, k, m = 0;
	int ret;

	if (!v || !which) {
		/* nothing sent: each clone this peer holds fails */
		for (i = 0; i < n; i++)
			for (k = 0; !rets[i] && k < x[i].nfwd; k++)
				if (x[i].fwd_peers[k] == peer)
					rets[i] = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		bool theirs = false;

		for (k = 0; k < x[i].nfwd; k++)
			theirs |= x[i].fwd_peers[k] == peer;
		if (rets[i] || !theirs)
			continue;
		memcpy(&v[m], tail + (size_t)i * sizeof(v[m]), sizeof(v[m]));
		v[m].version = cpu_to_le64(x[i].version);
		which[m++] = i;
	}
	if (!m)
		goto out_free;
	fq.flags = q->flags | cpu_to_le32(VDIFS_CHUNK_FWD);
	fq.chunk_id = v[0].chunk_id;
	fq.len = cpu_to_le32(m * (u32)sizeof(*v));
	ret = repl_peer_call(ds, peer, VDIFS_OP_CHUNK_CLONE_MANY, &fq,
			     (const u8 *)v, m * (u32)sizeof(*v), &rep);
	if (!ret && le32_to_cpu(((const struct vdifs_clone_many_rep *)
				 rep.body.fixed)->count) != m) {
		vdc_msg_free(&rep);
		ret = -EPROTO;
	}
	if (ret)
		goto out_fail;
	for (k = 0; k < m; k++) {
		__le32 s;

		memcpy(&s, rep.body.tail[0] + (size_t)k * 4, sizeof(s));
		if (s)
			rets[which[k]] = replica_failed(peer, &v[k],
							(int)le32_to_cpu(s));
	}
	vdc_msg_free(&rep);
	goto out_free;

out_fail:
	for (k = 0; k < m; k++)
		rets[which[k]] = replica_failed(peer, &v[k], ret);
out_free:
	free(v);
	free(which);
}

int ds_clone_many(struct ds *ds, const struct vdifs_chunk_req *q,
		  const u8 *tail, u32 n, bool fwd, int *rets)
{
	struct ds_op_ctx *x = calloc(n, sizeof(*x));
	struct vdifs_chunk_req *cq = calloc(n, sizeof(*cq));
	u32 *peers = calloc((size_t)n * VDIFS_MAX_REPLICAS, sizeof(*peers));
	u32 npeers = 0, i, k, p;
	int ret = 0;

	if (!x || !cq || !peers) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		clone_req(q, tail, i, &cq[i]);
		x[i] = (struct ds_op_ctx){ .ds = ds, .q = &cq[i],
					   .op = VDIFS_OP_CHUNK_CLONE };
		if (fwd) {
			rets[i] = store_mutate(&x[i]);
			continue;
		}
		rets[i] = ds_primary_check(ds, &x[i]);
		if (rets[i])
			continue;
		if (x[i].nlog) {
			/* through the replication log, as ever */
			x[i].nlog = 0;
			x[i].nfwd = 0;
			rets[i] = ds_do_primary(ds, &x[i]);
			x[i].nfwd = 0;
			continue;
		}
		/* ours now, the replicas' together below */
		k = x[i].nfwd;
		x[i].nfwd = 0;
		rets[i] = store_mutate(&x[i]);
		x[i].nfwd = k;
		for (k = 0; k < x[i].nfwd; k++) {
			for (p = 0; p < npeers && peers[p] != x[i].fwd_peers[k];
			     p++)
				;
			if (p == npeers)
				peers[npeers++] = x[i].fwd_peers[k];
		}
	}
	for (p = 0; p < npeers; p++)
		clones_forward(ds, peers[p], q, tail, n, x, rets);
out_free:
	free(x);
	free(cq);
	free(peers);
	return ret;
}
