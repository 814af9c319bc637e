// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds rebalancing: chunks move from the fullest data server to
 * the emptiest ones (a server just added, one back in service) until
 * every server in service is within rebalance_margin percentage points
 * of the cluster's mean use (used / capacity, as heartbeats report it).
 *
 * A move is a re-replication followed by a drain: the chunk's primary
 * copies it to the new server (CHUNK_SYNC, delta-aware, so a clone goes
 * as a clone of its base plus its own extents), the set with the new
 * server is committed, and then a set without the old one; the old
 * server's copy goes to the collector.  The chunk never has fewer copies
 * than before.  The old server is told the last epoch before that commit
 * (chunk_swap() tells leavers), so a client with the layout it left is
 * refused there and asks again rather than read a copy the writes no
 * longer reach.
 *
 * Sharing between clones and bases is kept: within a pass the target of
 * a chunk is chosen by rendezvous hashing on its index in its file among
 * the servers under the mean, as the recovery chooses, so a base's chunk
 * and its clones' chunks of the same index (which the MDS placed
 * together) go to the same server and the base crosses once.  A base on
 * the old server stays there while a clone of it does (the data server
 * holds it for them), so the space comes free once the whole family has
 * moved.
 *
 * Rebalancing runs only when the recovery has nothing to do (no chunk
 * degraded), paced by recovery_bandwidth like it, and waits between
 * passes while the old server's moved copies still wait for the
 * collector: its reported use lags until they are freed, and a pass that
 * believed it would move too much.
 */
#include <errno.h>
#include <string.h>
#include "mds.h"

#define RB_SCAN		4096	/* chunk records looked at per pass */
#define RB_FAMILY	64	/* chunks of one index moved at once */
#define RB_GROUPS	4	/* indexes moved per pass */
#define RB_PPM		1000000ull

struct rb_server {
	u32 id;
	u64 cap, used;
};

struct rb_move {
	u32 vol;
	u64 ino, idx;
	u8 want, mode;
	struct vdifs_chunk c;
};

/* used/cap in millionths */
static u64 rb_ppm(u64 used, u64 cap)
{
	return cap ? (used >= cap ? RB_PPM : used * RB_PPM / cap) : RB_PPM;
}

/* the servers in service, up, with a capacity; their count */
static unsigned int rb_servers(struct mds *m, struct rb_server *out)
{
	long long now = net_now_ms();
	unsigned int n = 0;
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_DS; i++) {
		const struct mds_ds *d = &m->ds[i];

		if (!d->used || !d->last_seen_ms ||
		    now - d->last_seen_ms > (long long)m->cfg.lease_ms ||
		    le32_to_cpu(d->rec.admin) != VDIFS_DS_IN ||
		    !le64_to_cpu(d->rec.capacity))
			continue;
		out[n].id = le32_to_cpu(d->rec.ds_id);
		out[n].cap = le64_to_cpu(d->rec.capacity);
		out[n].used = le64_to_cpu(d->rec.used);
		n++;
	}
	pthread_mutex_unlock(&m->lock);
	return n;
}

static bool rb_in_set(const struct vdifs_chunk *c, u32 id)
{
	unsigned int i;

	for (i = 0; i < c->nrep; i++)
		if (le32_to_cpu(c->ds[i]) == id)
			return true;
	return false;
}

/* a set every server of which is up and in service: movable */
static bool rb_healthy(struct mds *m, const struct vdifs_chunk *c)
{
	unsigned int i;

	for (i = 0; i < c->nrep; i++)
		if (member_ds_failed(m, le32_to_cpu(c->ds[i])) ||
		    member_ds_out(m, le32_to_cpu(c->ds[i])))
			return false;
	return true;
}

/* the record at key/val, if it is a chunk with a copy on src to move */
static bool rb_candidate(const MDB_val *key, const MDB_val *val, u32 src,
			 struct rb_move *mv)
{
	if (key->mv_size != 20 || val->mv_size != sizeof(mv->c))
		return false;
	/* LMDB values are not aligned */
	memcpy(&mv->c, val->mv_data, sizeof(mv->c));
	if (!mv->c.chunk_id || !mv->c.nrep ||
	    mv->c.nrep >= VDIFS_MAX_REPLICAS || !rb_in_set(&mv->c, src))
		return false;
	mv->vol = get_be32(key->mv_data);
	mv->ino = get_be64((u8 *)key->mv_data + 4);
	mv->idx = get_be64((u8 *)key->mv_data + 12);
	return true;
}

/*
 * The index of the next chunk with a copy on src, from *cursor on (back
 * to the start, a 0-length cursor, at the end of the table): 1 and *idx,
 * 0 when none was found, or -errno.
 */
static int rb_next(struct mds *m, u32 src, struct rb_cursor *rc, u64 *idx)
{
	unsigned int seen = 0;
	struct chunk_scan s;
	struct rb_move mv;
	int ret, found = 0;

	ret = chunk_scan_begin(m, &s, rc->key, rc->len);
	if (ret)
		return ret;
	for (; !s.rc && seen < RB_SCAN; chunk_scan_next(&s)) {
		seen++;
		if (s.key.mv_size > sizeof(rc->key))
			continue;
		memcpy(rc->key, s.key.mv_data, s.key.mv_size);
		rc->len = s.key.mv_size;
		if (rb_candidate(&s.key, &s.val, src, &mv)) {
			*idx = mv.idx;
			found = 1;
			break;
		}
	}
	if (s.rc == MDB_NOTFOUND)
		rc->len = 0;
	chunk_scan_end(&s);
	return found;
}

/*
 * Every chunk of index idx with a copy on src, in any file (at most
 * RB_FAMILY): a base and its clones, which share extents, move together
 * or the old server frees nothing (its base stays held by the clones
 * left) and the new one holds the base twice over.  A full scan of the
 * chunk records: the MDS does not record which chunk is whose base.
 * Their count, or -errno.
 */
static int rb_family(struct mds *m, u32 src, u64 idx, struct rb_move *out)
{
	const struct mds_inode *in;
	unsigned int n = 0;
	struct chunk_scan s;
	int ret;

	ret = chunk_scan_begin(m, &s, NULL, 0);
	if (ret)
		return ret;
	for (; !s.rc && n < RB_FAMILY; chunk_scan_next(&s)) {
		struct rb_move *mv = &out[n];

		if (!rb_candidate(&s.key, &s.val, src, mv) || mv->idx != idx)
			continue;
		in = chunk_scan_file(m, &s, mv->vol, mv->ino);
		mv->want = in->attr.params.replicas;
		mv->mode = in->attr.params.repl_mode;
		n++;
	}
	chunk_scan_end(&s);
	return (int)n;
}

/*
 * Of targets[0..n) not in mv's set and without a copy of it waiting for
 * the collector, the one that scores highest for its index; 0 if none.
 */
static u32 rb_target(struct mds *m, const struct rb_move *mv,
		     const u32 *targets, unsigned int n)
{
	u32 doomed[VDIFS_MAX_REPLICAS], keep, best = 0;
	u64 score, best_score = 0;
	unsigned int i, k;
	int nd;

	nd = gc_pending_of(m, le64_to_cpu(mv->c.chunk_id), doomed,
			   VDIFS_MAX_REPLICAS, &keep);
	for (i = 0; i < n; i++) {
		bool no = rb_in_set(&mv->c, targets[i]);

		for (k = 0; nd > 0 && k < (unsigned int)nd; k++)
			no |= doomed[k] == targets[i];
		if (no)
			continue;
		score = recovery_score(mv->idx, targets[i]);
		if (!best || score > best_score) {
			best = targets[i];
			best_score = score;
		}
	}
	return best;
}

/* t's copy of chunk id, made for a move that did not commit: to be freed */
static void rb_forget(struct mds *m, __le64 id, u32 t)
{
	struct vdifs_chunk c = { .chunk_id = id, .nrep = 1 };
	MDB_txn *txn;

	c.ds[0] = cpu_to_le32(t);
	if (mdb_txn_begin(m->db.env, NULL, 0, &txn))
		return;
	if (gc_record(m, txn, &c, false) || mdb_txn_commit(txn))
		mdb_txn_abort(txn);
}

/* move mv's copy from src to t; bytes sent, or -errno */
static s64 rb_move(struct mds *m, struct rb_move *mv, u32 src, u32 t)
{
	struct vdifs_chunk wide = mv->c, now;
	unsigned int i;
	u64 bytes = 0;
	int ret;

	wide.ds[wide.nrep++] = cpu_to_le32(t);
	wide.version = cpu_to_le64(le64_to_cpu(mv->c.version) + 1);
	ret = dsrpc_chunk_sync(m, &wide, mv->mode, &bytes);
	if (!ret)
		ret = chunk_swap(m, mv->vol, mv->ino, mv->idx, &mv->c, &wide,
				 false);
	if (ret) {
		/* a copy cut short, or one the set does not name */
		rb_forget(m, mv->c.chunk_id, t);
		return ret;
	}
	/* stopped here, the set keeps a copy too many: rr_trim() mends it */
	srv_crash_point("VDIFS_MDS_CRASH_AT", "move_widened");
	now = wide;
	now.nrep = 0;
	memset(now.ds, 0, sizeof(now.ds));
	for (i = 0; i < wide.nrep; i++)
		if (le32_to_cpu(wide.ds[i]) != src)
			now.ds[now.nrep++] = wide.ds[i];
	now.version = cpu_to_le64(le64_to_cpu(wide.version) + 1);
	ret = chunk_swap(m, mv->vol, mv->ino, mv->idx, &wide, &now, false);
	if (ret)
		return ret;
	recovery_count(m, bytes);
	log_info("vol %u inode %llu chunk %llu (%016llx): moved from data server %u to %u (%llu bytes), epoch %llu",
		 mv->vol, (unsigned long long)mv->ino,
		 (unsigned long long)mv->idx,
		 (unsigned long long)le64_to_cpu(mv->c.chunk_id), src, t,
		 (unsigned long long)bytes,
		 (unsigned long long)le64_to_cpu(now.version));
	return (s64)bytes;
}

s64 rebalance_pass(struct mds *m, struct rb_cursor *rc)
{
	struct rb_server sv[MDS_MAX_DS];
	struct rb_move mv[RB_FAMILY];
	u32 targets[MDS_MAX_DS], src;
	u64 margin = (u64)m->cfg.rebalance_margin * (RB_PPM / 100);
	u64 sum_used = 0, sum_cap = 0, mean, f, fmax = 0, fmin = RB_PPM;
	u64 moved = 0, excess, level, keep;
	unsigned int n, i, g, nt = 0, smax = 0;
	int nm, ret = 0;
	u64 idx = 0;

	if (!margin)
		return 0;
	n = rb_servers(m, sv);
	if (n < 2)
		return 0;
	for (i = 0; i < n; i++) {
		sum_used += sv[i].used;
		sum_cap += sv[i].cap;
		f = rb_ppm(sv[i].used, sv[i].cap);
		if (f > fmax) {
			fmax = f;
			smax = i;
		}
		fmin = f < fmin ? f : fmin;
	}
	mean = rb_ppm(sum_used, sum_cap);
	if (fmax - fmin <= margin)
		return 0;	/* even enough */
	src = sv[smax].id;
	for (i = 0; i < n; i++)
		if (rb_ppm(sv[i].used, sv[i].cap) < mean)
			targets[nt++] = sv[i].id;
	/* moved copies not freed yet: its use is not what it will be */
	if (!nt || gc_due_on(m, src))
		return 0;
	/*
	 * Down to the mean plus half the margin, no further; to the mean
	 * when the emptiest alone is far off (the rest are near it).
	 */
	level = fmax > mean + margin / 2 ? mean + margin / 2 : mean;
	keep = (u64)((double)level * sv[smax].cap / RB_PPM);
	if (sv[smax].used <= keep)
		return 0;	/* rounding */
	excess = sv[smax].used - keep;
	for (g = 0; g < RB_GROUPS && moved < excess; g++) {
		ret = rb_next(m, src, rc, &idx);
		if (ret <= 0)
			break;
		nm = rb_family(m, src, idx, mv);
		if (nm < 0) {
			ret = nm;
			break;
		}
		for (i = 0; i < (unsigned int)nm; i++) {
			u32 t;
			s64 b;

			if (!rb_healthy(m, &mv[i].c))
				continue;
			t = rb_target(m, &mv[i], targets, nt);
			if (!t)
				continue;
			b = rb_move(m, &mv[i], src, t);
			if (b < 0) {
				if (b != -EAGAIN)
					log_warn("chunk %016llx: moving it from data server %u to %u failed: %s",
						 (unsigned long long)
						 le64_to_cpu(mv[i].c.chunk_id),
						 src, t, strerror((int)-b));
				continue;
			}
			moved += (u64)b;
			recovery_pause(m, (u64)b);
		}
	}
	return ret < 0 ? ret : (s64)moved;
}
