// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds recovery: the replica sets of chunks, and taking failed data
 * servers out of them (LAYOUT_DEGRADE).
 *
 * The MDS owns every chunk's replica set; the set's epoch (the chunk
 * record's version) grows with every change, every chunk request carries
 * it and a data server refuses one older than the newest it has seen.
 * A server comes out of a set when
 *
 *   - the MDS has not heard its heartbeat within the lease (it is down;
 *     after an MDS restart, one lease from the start: a live server has
 *     heartbeated by then), or
 *   - it says its copy missed a mutation (STALE), or it has no copy while
 *     another server of the set has one.
 *
 * Anything else is slow, not failed: the writer is told -EAGAIN and tries
 * again, as an NFS hard mount would; so is a set whose every server is
 * out (the chunk waits for one to come back).  A set left with fewer
 * than the volume's min_replicas is not changed, and the I/O fails.  A primary that comes out is
 * replaced by the next replica, which holds every acknowledged mutation:
 * in sync mode a mutation is acknowledged only once every replica of the
 * set has it, and a replica that missed one is out of the set first.
 *
 * The servers are asked (CHUNK_STAT) before, never inside, the write
 * transaction that changes the set, which then checks that the set is
 * still the one asked about.
 */
#include <errno.h>
#include <string.h>
#include "mds.h"

/* what became of each server of a set */
enum { DG_KEEP, DG_DOWN, DG_STALE, DG_MISSING };

static const char *const dg_why[] = {
	[DG_DOWN] = "down", [DG_STALE] = "stale", [DG_MISSING] = "missing",
};

static int chunk_get_at(struct mds *m, MDB_txn *t, u32 vol, u64 ino,
			u64 idx, struct vdifs_chunk *c)
{
	u8 k[MDS_KEY_BUF];
	int ret = db_get(t, m->db.chunks, k, key_u64(k, vol, ino, idx), c,
			 sizeof(*c));

	return ret < 0 ? ret : 0;
}

/*
 * Judge every server of c's set; returns how many come out.  May sleep
 * for the STAT calls (up to their timeout each).
 */
static unsigned int degrade_judge(struct mds *m, const struct vdifs_chunk *c,
				  u8 *why)
{
	struct vdifs_chunk_stat st;
	bool missing[VDIFS_MAX_REPLICAS] = { false };
	bool someone_has = false;
	unsigned int i, out = 0;
	u64 id = le64_to_cpu(c->chunk_id);

	for (i = 0; i < c->nrep; i++) {
		u32 ds = le32_to_cpu(c->ds[i]);
		int ret;

		why[i] = DG_KEEP;
		if (member_ds_failed(m, ds)) {
			why[i] = DG_DOWN;
			continue;
		}
		ret = dsrpc_chunk_stat(m, ds, id, &st);
		if (ret == -ENOENT) {
			missing[i] = true;
		} else if (!ret) {
			someone_has = true;
			if (le32_to_cpu(st.flags) & VDIFS_CHUNK_STALE)
				why[i] = DG_STALE;
		}
		/* unreachable from here but heartbeating: slow, not failed */
	}
	for (i = 0; i < c->nrep; i++) {
		if (someone_has && missing[i])
			why[i] = DG_MISSING;
		if (why[i] != DG_KEEP)
			out++;
	}
	return out;
}

static int op_layout_degrade(struct mds *m, struct mds_conn *conn,
			     MDB_txn *unused, const struct wire_body *b,
			     struct mds_reply *r)
{
	const struct vdifs_layout_degrade_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	u64 ino = le64_to_cpu(q->ino), idx = le64_to_cpu(q->index);
	struct vdifs_chunk c, now;
	u8 why[VDIFS_MAX_REPLICAS], k[MDS_KEY_BUF];
	unsigned int i, n, out, min;
	struct mds_vol v;
	MDB_txn *t;
	int ret;

	if (q->pad || !q->chunk_id)
		return -EINVAL;
	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	ret = vol_get(m, t, vol, &v);
	if (!ret)
		ret = chunk_get_at(m, t, vol, ino, idx, &c);
	mdb_txn_abort(t);
	if (ret)
		return ret;
	if (c.chunk_id != q->chunk_id || c.version != q->epoch ||
	    !c.nrep || c.nrep > VDIFS_MAX_REPLICAS)
		goto reply;	/* changed since: the caller goes on with it */

	out = degrade_judge(m, &c, why);
	if (!out)
		return -EAGAIN;
	/* none left: wait for one to come back, nothing else could serve */
	if (out == c.nrep)
		return -EAGAIN;
	min = vol_min_replicas(&v);
	if (c.nrep - out < min) {
		log_err("vol %u inode %llu chunk %llu: %u of %u copies left, the volume wants %u: writes fail",
			vol, (unsigned long long)ino, (unsigned long long)idx,
			c.nrep - out, c.nrep, min);
		return -EIO;
	}

	ret = db_err(mdb_txn_begin(m->db.env, NULL, 0, &t));
	if (ret)
		return ret;
	ret = chunk_get_at(m, t, vol, ino, idx, &now);
	if (ret || memcmp(&now, &c, sizeof(c))) {
		/* changed while we asked the servers: answer it as it is */
		mdb_txn_abort(t);
		if (ret)
			return ret;
		c = now;
		goto reply;
	}
	for (i = 0, n = 0; i < c.nrep; i++) {
		if (why[i] == DG_KEEP) {
			now.ds[n++] = c.ds[i];
			continue;
		}
		log_warn("vol %u inode %llu chunk %llu (%016llx): data server %u out of its set (%s), epoch %llu",
			 vol, (unsigned long long)ino, (unsigned long long)idx,
			 (unsigned long long)le64_to_cpu(c.chunk_id),
			 le32_to_cpu(c.ds[i]), dg_why[why[i]],
			 (unsigned long long)le64_to_cpu(c.version) + 1);
	}
	for (i = n; i < VDIFS_MAX_REPLICAS; i++)
		now.ds[i] = 0;
	now.nrep = n;
	now.version = cpu_to_le64(le64_to_cpu(c.version) + 1);
	ret = db_put(t, m->db.chunks, k, key_u64(k, vol, ino, idx), &now,
		     sizeof(now), 0);
	if (!ret)
		ret = db_err(mdb_txn_commit(t));
	else
		mdb_txn_abort(t);
	if (ret)
		return ret;
	c = now;
reply:
	memcpy(r->fixed, &c, sizeof(c));
	r->flen = sizeof(c);
	return 0;
}

const struct mds_op recovery_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_LAYOUT_DEGRADE] = { op_layout_degrade, MDS_TXN_NONE },
};
