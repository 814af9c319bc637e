// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds: acknowledged async writes that were lost, reported.
 *
 * In async mode a primary acknowledges a mutation once it is in its own
 * store and its replication log, and drains the log to the replicas
 * after.  Should the MDS take that primary out of a chunk's set (it is
 * down) while the log still holds mutations of the chunk, the replica
 * that takes over lacks them: they are lost with the primary's copy.
 * That must never be silent.  Each data server's heartbeat says what its
 * log holds (vdifs_ds_heartbeat_req: a count, and up to VDIFS_BEHIND_MAX
 * chunks with the newest version logged of each); the MDS keeps the last
 * one per server in LMDB ("behind"), so that it outlives both the server
 * and an MDS restart, and when a degrade takes a primary out of a set it
 * looks there: a listed version newer than every copy left has was lost
 * (certain; a mutation that was on its way and arrived is not); a chunk
 * of an async file whose primary had more behind than it listed may have
 * lost writes (not certain).  Either is kept in "lost" and listed by
 * STATUS until the file goes.
 *
 * What stays unreported: a mutation acknowledged within one heartbeat
 * interval before the primary died, before any heartbeat listed it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "be.h"
#include "mds.h"

/* "behind" values: this, then n struct vdifs_behind */
struct mds_behind_rec {
	__le64 count;
	__le32 flags;		/* VDIFS_BEHIND_ALL */
	__le32 n;
};

/*
 * DS_HEARTBEAT's list, kept when it changed since the last one (the
 * same list heartbeat after heartbeat is one read, no write).
 */
int lost_heartbeat(struct mds *m, u32 ds, const struct wire_body *b)
{
	const struct vdifs_ds_heartbeat_req *q = b->fixed;
	u32 n = b->tail_len[0] / sizeof(struct vdifs_behind);
	struct mds_behind_rec rec = {
		.count = q->nbehind,
		.flags = cpu_to_le32(le16_to_cpu(q->flags)),
		.n = cpu_to_le32(n),
	};
	size_t tl = b->tail_len[0], len = sizeof(rec) + tl;
	MDB_txn *t;
	MDB_val k, v;
	u8 key[4];
	u8 *val;
	int ret;

	put_be32(key, ds);
	k.mv_data = key;
	k.mv_size = sizeof(key);
	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	ret = mdb_get(t, m->db.behind, &k, &v);
	if (ret == MDB_NOTFOUND)
		ret = q->nbehind ? 1 : 0;
	else if (!ret)
		ret = v.mv_size != len || memcmp(v.mv_data, &rec, sizeof(rec)) ||
		      memcmp((u8 *)v.mv_data + sizeof(rec), b->tail[0], tl) ?
		      1 : 0;
	else
		ret = db_err(ret);
	mdb_txn_abort(t);
	if (ret <= 0)
		return ret;

	val = malloc(len);
	if (!val)
		return -ENOMEM;
	memcpy(val, &rec, sizeof(rec));
	if (tl)
		memcpy(val + sizeof(rec), b->tail[0], tl);
	ret = db_err(mdb_txn_begin(m->db.env, NULL, 0, &t));
	if (!ret) {
		ret = q->nbehind ?
		      db_put(t, m->db.behind, key, sizeof(key), val, len, 0) :
		      db_del(t, m->db.behind, key, sizeof(key));
		if (ret == -ENOENT)
			ret = 0;
		if (ret)
			mdb_txn_abort(t);
		else
			ret = db_err(mdb_txn_commit(t));
	}
	free(val);
	return ret;
}

/*
 * Did ds have mutations of chunk id newer than version have?  1: it
 * listed a newer one; 2: its list was incomplete; 0: no.
 */
static int behind_has(MDB_txn *t, struct mds *m, u32 ds, u64 id, u64 have)
{
	struct mds_behind_rec rec;
	MDB_val k, v;
	u8 key[4];
	u32 i, n;

	put_be32(key, ds);
	k.mv_data = key;
	k.mv_size = sizeof(key);
	if (mdb_get(t, m->db.behind, &k, &v) || v.mv_size < sizeof(rec))
		return 0;
	memcpy(&rec, v.mv_data, sizeof(rec));
	n = le32_to_cpu(rec.n);
	if (v.mv_size != sizeof(rec) + (size_t)n * sizeof(struct vdifs_behind))
		return 0;
	for (i = 0; i < n; i++) {
		struct vdifs_behind e;

		memcpy(&e, (const u8 *)v.mv_data + sizeof(rec) + i * sizeof(e),
		       sizeof(e));
		if (le64_to_cpu(e.chunk_id) == id)
			return le64_to_cpu(e.version) > have;
	}
	return le32_to_cpu(rec.flags) & VDIFS_BEHIND_ALL ? 0 : 2;
}

/*
 * A degrade took primary out of the set of (vol, ino, idx), chunk id,
 * leaving copies of version have at best: what it alone had is lost.
 * Best effort after the set changed: an error here is logged, the set
 * change stands.
 */
void lost_note(struct mds *m, u32 vol, u64 ino, u64 idx, u64 id, u32 primary,
	       u64 have)
{
	struct vdifs_lost_status ls = { 0 };
	struct mds_inode in;
	u8 k[MDS_KEY_BUF];
	size_t kl;
	MDB_txn *t;
	int has, ret;

	ret = db_err(mdb_txn_begin(m->db.env, NULL, 0, &t));
	if (ret)
		goto out_log;
	has = behind_has(t, m, primary, id, have);
	/* an incomplete list: only the chunks of async files may have */
	if (has == 2 && (inode_get(m, t, vol, ino, &in) ||
			 in.attr.params.repl_mode != VDIFS_REPL_ASYNC))
		has = 0;
	if (!has) {
		mdb_txn_abort(t);
		return;
	}
	ls.chunk_id = cpu_to_le64(id);
	ls.ino = cpu_to_le64(ino);
	ls.index = cpu_to_le64(idx);
	ls.vol = cpu_to_le32(vol);
	ls.ds_id = cpu_to_le32(primary);
	ls.when = cpu_to_le64((u64)time(NULL));
	ls.flags = cpu_to_le32(has == 1 ? VDIFS_LOST_CERTAIN : 0);
	kl = key_u64(k, vol, ino, idx);
	ret = db_put(t, m->db.lost, k, kl, &ls, sizeof(ls), 0);
	if (ret) {
		mdb_txn_abort(t);
		goto out_log;
	}
	ret = db_err(mdb_txn_commit(t));
	if (ret)
		goto out_log;
	log_err("vol %u inode %llu chunk %llu (%016llx): acknowledged async writes %s with data server %u",
		vol, (unsigned long long)ino, (unsigned long long)idx,
		(unsigned long long)id, has == 1 ? "lost" : "may be lost",
		primary);
	return;
out_log:
	log_err("vol %u inode %llu chunk %llu: cannot record lost async writes: %s",
		vol, (unsigned long long)ino, (unsigned long long)idx,
		strerror(-ret));
}

/* the file (vol, ino) is gone: so are its reports */
int lost_forget(struct mds *m, MDB_txn *t, u32 vol, u64 ino)
{
	u8 k[MDS_KEY_BUF];
	size_t kl = key_ino(k, vol, ino);

	return db_del_prefix(t, m->db.lost, k, kl, NULL, NULL);
}

/* STATUS: the reports, as records into r's tail; *n counts them */
int lost_status(struct mds *m, struct mds_reply *r, u32 *n)
{
	MDB_cursor *cur;
	MDB_txn *t;
	MDB_val k, v;
	int ret;

	*n = 0;
	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	ret = db_err(mdb_cursor_open(t, m->db.lost, &cur));
	if (ret)
		goto out_txn;
	while (!mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		int len;

		if (v.mv_size != sizeof(struct vdifs_lost_status))
			continue;
		len = wire_rec_put(r->tail + r->tlen, r->tcap - r->tlen,
				   v.mv_data, (u32)v.mv_size, NULL, 0);
		if (len < 0)
			break;	/* the rest does not fit: the oldest go */
		r->tlen += (u32)len;
		(*n)++;
	}
	mdb_cursor_close(cur);
out_txn:
	mdb_txn_abort(t);
	return ret;
}
