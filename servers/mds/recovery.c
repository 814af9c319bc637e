// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds recovery: the replica sets of chunks, taking failed data
 * servers out of them (LAYOUT_DEGRADE, and the recovery thread), and
 * copying degraded chunks to other servers until each has as many copies
 * as its file wants.
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
 * than the volume's min_replicas is not changed, and the I/O fails.  A
 * primary that comes out is replaced by the next replica, which holds
 * every acknowledged mutation: in sync mode a mutation is acknowledged
 * only once every replica of the set has it, and a replica that missed
 * one is out of the set first.
 *
 * Re-replication (the recovery thread) walks the chunk records a few at
 * a time.  A chunk with a failed server in its set is degraded as above;
 * one with fewer servers in service than its file's replica count gets a
 * new one (a server out of service, DS_ADMIN, leaves the set only once
 * the others hold enough copies):
 * the primary copies the chunk there (CHUNK_SYNC, delta-aware: a clone
 * goes as a clone of its base plus its own extents) and takes the new
 * epoch, then the new set is committed.  The new server is chosen by
 * rendezvous hashing on the chunk's index in its file, so that the
 * chunks of clones that share a base go to the same server and the base
 * crosses the network once.  Copies are paced to recovery_bandwidth.
 * A server that left the set down or stale keeps its copy for
 * down_out_s (the collector's keep_until): while it is down the chunk
 * waits for it, and once it is back it is the new server, whose copy its
 * primary catches up by what changed (rr_returning).
 *
 * Data servers are asked before, never inside, a write transaction, which
 * then checks that the set is still the one asked about.  If the commit
 * after a copy is lost, the primary is ahead of the record; the next
 * degrade of the chunk sees it (CHUNK_STAT's epoch) and moves the record's
 * epoch up to it.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
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

/* is server ds (as the set stores it) in set c? */
static bool set_has(const struct vdifs_chunk *c, __le32 ds)
{
	unsigned int i;

	for (i = 0; i < c->nrep; i++)
		if (c->ds[i] == ds)
			return true;
	return false;
}

/*
 * A set that loses a server: the servers that stay learn its new epoch
 * before it is committed, so that a forward from the old set (a primary
 * taken out, back from a partition with a write it applied alone) is
 * refused by its epoch; judged by version, the replicas would wait for
 * the write it skipped and mark every copy stale.  Best effort: one that
 * does not hear it now hears it with the first request of the new set.
 * (A commit lost after this: the next degrade moves the record up to
 * their epoch.)
 *
 * The servers that leave learn it too, and that is not best effort: a
 * leaver that is alive would otherwise go on serving reads to clients
 * holding the old layout, from a copy the new set's writes no longer
 * reach.  So a leaver is told, or it is down: unheard for a lease, by
 * which time it has stopped serving reads on its own (its read lease,
 * servers/ds/lease.c, ends before the MDS could find it down).  A live
 * leaver that cannot be told: -EINPROGRESS, nothing committed; the
 * caller tries again later (a writer waits: slow, not failed).
 * May sleep, up to a STAT's timeout per server.
 */
static int swap_notify(struct mds *m, const struct vdifs_chunk *was,
		       const struct vdifs_chunk *now)
{
	u64 id = le64_to_cpu(now->chunk_id), e = le64_to_cpu(now->version);
	struct vdifs_chunk_stat st;
	unsigned int i;
	int ret;

	for (i = 0; i < now->nrep; i++)
		dsrpc_chunk_stat_epoch(m, le32_to_cpu(now->ds[i]), id, e, &st);
	for (i = 0; i < was->nrep; i++) {
		u32 ds = le32_to_cpu(was->ds[i]);

		if (set_has(now, was->ds[i]) || member_ds_failed(m, ds))
			continue;
		ret = dsrpc_chunk_stat_epoch(m, ds, id, e, &st);
		/* ENOENT: it has no copy to serve */
		if (ret && ret != -ENOENT) {
			log_warn("chunk %016llx: data server %u leaves its set but could not be told (%s); not yet",
				 (unsigned long long)id, ds, strerror(-ret));
			return -EINPROGRESS;
		}
	}
	return 0;
}

/*
 * Replace the record of (vol, ino, idx), if it is still was, with now;
 * -EAGAIN if it changed meanwhile (now then holds it as it is).  The
 * copies on servers of was that now leaves out go to the collector: a
 * server out of a set drops its copy when it is back (keep: not before
 * down_out_s, so that it may be caught up instead); a server now adds
 * has nothing of the chunk to drop any more.
 */
int chunk_swap(struct mds *m, u32 vol, u64 ino, u64 idx,
	       const struct vdifs_chunk *was, struct vdifs_chunk *now,
	       bool keep)
{
	struct vdifs_chunk gone = { .chunk_id = was->chunk_id };
	unsigned int i, j;
	struct vdifs_chunk cur;
	u8 k[MDS_KEY_BUF];
	MDB_txn *t;
	int ret;

	for (i = 0; i < was->nrep; i++)
		if (!set_has(now, was->ds[i]))
			break;
	if (i < was->nrep) {
		ret = swap_notify(m, was, now);
		if (ret)
			return ret;
	}
	ret = db_err(mdb_txn_begin(m->db.env, NULL, 0, &t));
	if (ret)
		return ret;
	ret = chunk_get_at(m, t, vol, ino, idx, &cur);
	if (!ret && memcmp(&cur, was, sizeof(cur))) {
		*now = cur;
		ret = -EAGAIN;
	}
	if (!ret)
		ret = db_put(t, m->db.chunks, k, key_u64(k, vol, ino, idx),
			     now, sizeof(*now), 0);
	for (i = 0; i < was->nrep && !ret; i++)
		if (!set_has(now, was->ds[i]))
			gone.ds[gone.nrep++] = was->ds[i];
	if (!ret && gone.nrep)
		ret = gc_record(m, t, &gone, keep);
	for (j = 0; j < now->nrep && !ret; j++)
		if (!set_has(was, now->ds[j]))
			ret = gc_cancel(m, t, le64_to_cpu(was->chunk_id),
					le32_to_cpu(now->ds[j]));
	if (ret) {
		mdb_txn_abort(t);
		return ret;
	}
	return db_err(mdb_txn_commit(t));
}

/*
 * Judge every server of c's set; returns how many come out.  *epoch gets
 * the newest epoch a server of the set has seen, *have the newest
 * version of the chunk a server that stays has.  May sleep for the STAT
 * calls (up to their timeout each).
 */
static unsigned int degrade_judge(struct mds *m, const struct vdifs_chunk *c,
				  u8 *why, u64 *epoch, u64 *have)
{
	u64 version[VDIFS_MAX_REPLICAS] = { 0 };
	struct vdifs_chunk_stat st;
	bool missing[VDIFS_MAX_REPLICAS] = { false };
	bool someone_has = false;
	unsigned int i, out = 0;
	u64 id = le64_to_cpu(c->chunk_id);

	*epoch = 0;
	*have = 0;
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
			if (le64_to_cpu(st.epoch) > *epoch)
				*epoch = le64_to_cpu(st.epoch);
			version[i] = le64_to_cpu(st.version);
		}
		/* unreachable from here but heartbeating: slow, not failed */
	}
	for (i = 0; i < c->nrep; i++) {
		if (someone_has && missing[i])
			why[i] = DG_MISSING;
		if (why[i] != DG_KEEP)
			out++;
		else if (version[i] > *have)
			*have = version[i];
	}
	return out;
}

/*
 * The set c of (vol, ino, idx) failed an I/O: take its failed servers
 * out.  0: *c is the current record (changed or not); -EAGAIN: nothing
 * to take out (or nothing would be left); -EIO: below min copies.
 */
static int degrade_chunk(struct mds *m, u32 vol, u64 ino, u64 idx,
			 const struct mds_vol *v, struct vdifs_chunk *c)
{
	struct vdifs_chunk was = *c, now;
	u8 why[VDIFS_MAX_REPLICAS];
	unsigned int i, n, out, min;
	u64 epoch, have;
	int ret;

	out = degrade_judge(m, c, why, &epoch, &have);
	if (!out && epoch > le64_to_cpu(c->version)) {
		/* a copy's commit was lost: the record catches up */
		now = *c;
		now.version = cpu_to_le64(epoch);
		ret = chunk_swap(m, vol, ino, idx, &was, &now, false);
		*c = now;
		return ret == -EAGAIN ? 0 : ret;
	}
	/* none left: wait for one to come back, nothing else could serve */
	if (!out || out == c->nrep)
		return -EAGAIN;
	min = vol_min_replicas(v);
	if (c->nrep - out < min) {
		log_err("vol %u inode %llu chunk %llu: %u of %u copies left, the volume wants %u: writes fail",
			vol, (unsigned long long)ino, (unsigned long long)idx,
			c->nrep - out, c->nrep, min);
		return -EIO;
	}
	now = *c;
	for (i = 0, n = 0; i < c->nrep; i++)
		if (why[i] == DG_KEEP)
			now.ds[n++] = c->ds[i];
	for (i = n; i < VDIFS_MAX_REPLICAS; i++)
		now.ds[i] = 0;
	now.nrep = n;
	now.version = cpu_to_le64(le64_to_cpu(c->version) + 1);
	/* down or stale: kept, to be caught up should it return in time */
	ret = chunk_swap(m, vol, ino, idx, &was, &now, true);
	if (ret == -EINPROGRESS)	/* a leaver not told yet: wait */
		return -EAGAIN;
	*c = now;
	if (ret == -EAGAIN)	/* changed while we asked: answer it */
		return 0;
	if (ret)
		return ret;
	/* an async primary's log may have held what only it had */
	if (why[0] == DG_DOWN)
		lost_note(m, vol, ino, idx, le64_to_cpu(was.chunk_id),
			  le32_to_cpu(was.ds[0]), have);
	for (i = 0; i < was.nrep; i++)
		if (why[i] != DG_KEEP)
			log_warn("vol %u inode %llu chunk %llu (%016llx): data server %u out of its set (%s), epoch %llu",
				 vol, (unsigned long long)ino,
				 (unsigned long long)idx,
				 (unsigned long long)le64_to_cpu(was.chunk_id),
				 le32_to_cpu(was.ds[i]), dg_why[why[i]],
				 (unsigned long long)le64_to_cpu(now.version));
	return 0;
}

static int op_layout_degrade(struct mds *m, struct mds_conn *conn,
			     MDB_txn *unused, const struct wire_body *b,
			     struct mds_reply *r)
{
	const struct vdifs_layout_degrade_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	u64 ino = le64_to_cpu(q->ino), idx = le64_to_cpu(q->index);
	struct vdifs_chunk c;
	struct vdifs_chunk_cap cap;
	struct mds_vol v;
	MDB_txn *t;
	int ret, rights = VDIFS_ACCESS_NONE;

	if (q->pad || !q->chunk_id)
		return -EINVAL;
	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	ret = vol_get(m, t, vol, &v);
	if (!ret)
		ret = chunk_get_at(m, t, vol, ino, idx, &c);
	if (!ret) {
		rights = access_rights(m, t, conn, vol);
		if (rights < 0)
			ret = rights;
	}
	mdb_txn_abort(t);
	if (ret)
		return ret;
	/* changed since: the caller goes on with it */
	if (c.chunk_id == q->chunk_id && c.version == q->epoch &&
	    c.nrep && c.nrep <= VDIFS_MAX_REPLICAS) {
		ret = degrade_chunk(m, vol, ino, idx, &v, &c);
		if (ret)
			return ret;
	}
	memcpy(r->fixed, &c, sizeof(c));
	r->flen = sizeof(c);
	/* a snapshot's chunks are frozen: the data servers refuse writes */
	access_cap(m, conn, &c, rights, true, &cap);
	ret = reply_tail_reserve(r, sizeof(cap));
	if (ret)
		return ret;
	memcpy(r->tail, &cap, sizeof(cap));
	r->tlen = sizeof(cap);
	return 0;
}

const struct mds_op recovery_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_LAYOUT_DEGRADE] = { op_layout_degrade, MDS_TXN_NONE },
};

/* ---- re-replication ---- */

#define RR_BATCH	64	/* records looked at per pass */

struct rr_item {
	u32 vol;
	u64 ino, idx;
	u8 want;		/* the file's replica count */
	u8 mode;		/* VDIFS_REPL_* */
	struct vdifs_chunk c;
};

u64 recovery_score(u64 idx, u32 id)
{
	/* splitmix64's finaliser */
	u64 x = idx * 0x9e3779b97f4a7c15ull ^ id;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

int chunk_scan_begin(struct mds *m, struct chunk_scan *s, const u8 *after,
		     size_t alen)
{
	int ret;

	memset(s, 0, sizeof(*s));
	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &s->t));
	if (ret)
		return ret;
	ret = db_err(mdb_cursor_open(s->t, m->db.chunks, &s->cur));
	if (ret) {
		mdb_txn_abort(s->t);
		return ret;
	}
	s->key.mv_size = alen;
	s->key.mv_data = (void *)after;
	s->rc = alen ? mdb_cursor_get(s->cur, &s->key, &s->val,
				      MDB_SET_RANGE) :
		       mdb_cursor_get(s->cur, &s->key, &s->val, MDB_FIRST);
	/* resume after the last one looked at */
	if (!s->rc && alen && s->key.mv_size == alen &&
	    !memcmp(s->key.mv_data, after, alen))
		chunk_scan_next(s);
	return 0;
}

void chunk_scan_next(struct chunk_scan *s)
{
	s->rc = mdb_cursor_get(s->cur, &s->key, &s->val, MDB_NEXT);
}

const struct mds_inode *chunk_scan_file(struct mds *m, struct chunk_scan *s,
					u32 vol, u64 ino)
{
	if (!s->have || s->vol != vol || s->ino != ino) {
		s->have = true;
		s->vol = vol;
		s->ino = ino;
		if (inode_get(m, s->t, vol, ino, &s->in))
			memset(&s->in, 0, sizeof(s->in));
	}
	return &s->in;
}

void chunk_scan_end(struct chunk_scan *s)
{
	mdb_cursor_close(s->cur);
	mdb_txn_abort(s->t);
}

/*
 * The next RR_BATCH chunk records from *cursor on (a be key, 0-length:
 * the start) that want attention: a server of the set failed, or fewer
 * copies than wanted, or more.  Advances the cursor, back to the start at the end.
 */
static int rr_scan(struct mds *m, u8 *cursor, size_t *clen,
		   struct rr_item *out, unsigned int *n, u64 *degraded)
{
	const struct mds_inode *in;
	unsigned int seen = 0;
	struct chunk_scan s;
	int ret;

	*n = 0;
	ret = chunk_scan_begin(m, &s, cursor, *clen);
	if (ret)
		return ret;
	for (; !s.rc && seen < RR_BATCH * 16 && *n < RR_BATCH;
	     chunk_scan_next(&s)) {
		struct vdifs_chunk cv, *c = &cv;
		struct rr_item *it = &out[*n];
		bool failed = false;
		unsigned int i;

		seen++;
		if (s.key.mv_size != 20 || s.val.mv_size != sizeof(cv))
			continue;
		/* LMDB values are not aligned */
		memcpy(&cv, s.val.mv_data, sizeof(cv));
		memcpy(cursor, s.key.mv_data, s.key.mv_size);
		*clen = s.key.mv_size;
		if (!c->chunk_id || !c->nrep || c->nrep > VDIFS_MAX_REPLICAS)
			continue;
		it->vol = get_be32(s.key.mv_data);
		it->ino = get_be64((u8 *)s.key.mv_data + 4);
		it->idx = get_be64((u8 *)s.key.mv_data + 12);
		in = chunk_scan_file(m, &s, it->vol, it->ino);
		it->want = in->attr.params.replicas;
		it->mode = in->attr.params.repl_mode;
		for (i = 0; i < c->nrep; i++)
			failed |= member_ds_failed(m, le32_to_cpu(c->ds[i])) ||
				  member_ds_out(m, le32_to_cpu(c->ds[i]));
		if (!failed && c->nrep == it->want)
			continue;
		/* too many copies is to mend, not to count as degraded */
		if (failed || c->nrep < it->want)
			(*degraded)++;
		it->c = *c;
		(*n)++;
	}
	if (s.rc == MDB_NOTFOUND)
		*clen = 0;	/* wrapped: from the start next time */
	chunk_scan_end(&s);
	return 0;
}

/*
 * An up server with room, not in c's set nor in skip[], the one that
 * scores highest for the chunk's index; 0 if none.
 */
static u32 rr_target(struct mds *m, const struct vdifs_chunk *c, u64 idx,
		     const u32 *skip, unsigned int nskip)
{
	long long now = net_now_ms();
	u64 best_score = 0;
	u32 best = 0;
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MDS_MAX_DS; i++) {
		const struct mds_ds *d = &m->ds[i];
		u32 id = le32_to_cpu(d->rec.ds_id);
		unsigned int k;
		bool no = false;
		u64 score;

		if (!d->used || !d->last_seen_ms ||
		    now - d->last_seen_ms > (long long)m->cfg.lease_ms ||
		    le64_to_cpu(d->rec.used) >= le64_to_cpu(d->rec.capacity) ||
		    le32_to_cpu(d->rec.admin) == VDIFS_DS_OUT)
			continue;
		for (k = 0; k < c->nrep; k++)
			no |= le32_to_cpu(c->ds[k]) == id;
		for (k = 0; k < nskip; k++)
			no |= skip[k] == id;
		if (no)
			continue;
		score = recovery_score(idx, id);
		if (!best || score > best_score) {
			best = id;
			best_score = score;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return best;
}

/*
 * A catch-up must finish well before the collector may take the copy:
 * it is chosen only with this long left, and the keeping extended by
 * RR_CATCH_UP_S before it starts.
 */
#define RR_KEEP_MARGIN_S	10
#define RR_CATCH_UP_S		600

/*
 * Whom to give chunk it.c's next copy to, of the servers whose copies of
 * it wait for the collector (doomed[0..n), kept until keep_until): one
 * that is back (its copy is caught up: what changed since it left), or
 * 0 to copy it elsewhere; -EAGAIN: wait, one that is down may be back
 * within down_out_s.  Those doomed are never targets otherwise: a copy
 * about to be freed must not pass for a good one.
 */
static s64 rr_returning(struct mds *m, const u32 *doomed, unsigned int n,
			u32 keep_until)
{
	u32 now = (u32)time(NULL);
	bool wait = false;
	unsigned int i;

	if (keep_until <= now + RR_KEEP_MARGIN_S)
		return 0;
	for (i = 0; i < n; i++) {
		if (member_ds_out(m, doomed[i]))
			continue;
		if (!member_ds_failed(m, doomed[i]) &&
		    member_ds_up(m, doomed[i]))
			return doomed[i];
		wait = true;
	}
	return wait ? -EAGAIN : 0;
}

/* copy it.c's chunk to one more server; returns bytes sent or -errno */
static s64 rr_copy(struct mds *m, struct rr_item *it)
{
	struct vdifs_chunk now = it->c;
	u32 skip[4 + VDIFS_MAX_REPLICAS], t = 0, keep_until;
	unsigned int nskip, tries = 0;
	u64 bytes = 0;
	s64 back;
	int ret = -ENOSPC, n;

	n = gc_pending_of(m, le64_to_cpu(it->c.chunk_id), skip,
			  VDIFS_MAX_REPLICAS, &keep_until);
	nskip = n > 0 ? (unsigned int)n : 0;
	back = rr_returning(m, skip, nskip, keep_until);
	if (back == -EAGAIN)
		return -EAGAIN;	/* degraded, for a while: not copied yet */
	if (back > 0 && !gc_keep(m, le64_to_cpu(it->c.chunk_id),
				 (u32)time(NULL) + RR_CATCH_UP_S)) {
		now = it->c;
		now.ds[now.nrep++] = cpu_to_le32((u32)back);
		now.version = cpu_to_le64(le64_to_cpu(it->c.version) + 1);
		ret = dsrpc_chunk_sync(m, &now, it->mode, &bytes);
		if (!ret) {
			t = (u32)back;
		} else {
			/*
			 * Not again (a server out of space would fail every
			 * time, each try keeping its copy longer): the chunk
			 * is copied whole elsewhere, the copy freed.
			 */
			log_warn("chunk %016llx: catching data server %u up failed: %s",
				 (unsigned long long)le64_to_cpu(it->c.chunk_id),
				 (u32)back, strerror(-ret));
			gc_keep(m, le64_to_cpu(it->c.chunk_id), 0);
		}
		/* a copy that cannot be caught up: whole, elsewhere */
		if (ret && ret != -EEXIST && ret != -EHOSTUNREACH &&
		    ret != -ECONNREFUSED && ret != -ETIMEDOUT)
			return ret;
	}
	while (!t && tries++ < 4) {
		t = rr_target(m, &it->c, it->idx, skip, nskip);
		if (!t)
			break;
		now = it->c;
		now.ds[now.nrep++] = cpu_to_le32(t);
		now.version = cpu_to_le64(le64_to_cpu(it->c.version) + 1);
		ret = dsrpc_chunk_sync(m, &now, it->mode, &bytes);
		if (!ret)
			break;
		log_warn("chunk %016llx: copy to data server %u failed: %s",
			 (unsigned long long)le64_to_cpu(it->c.chunk_id), t,
			 strerror(-ret));
		if (ret != -EEXIST && ret != -EHOSTUNREACH &&
		    ret != -ECONNREFUSED && ret != -ETIMEDOUT)
			return ret;	/* the primary's trouble, not t's */
		skip[nskip++] = t;
		t = 0;
	}
	if (ret)
		return ret;
	ret = chunk_swap(m, it->vol, it->ino, it->idx, &it->c, &now, false);
	if (ret)
		return ret == -EAGAIN ? 0 : ret;
	recovery_count(m, bytes);
	log_info("vol %u inode %llu chunk %llu (%016llx): %s data server %u (%llu bytes), epoch %llu, %u of %u copies",
		 it->vol, (unsigned long long)it->ino,
		 (unsigned long long)it->idx,
		 (unsigned long long)le64_to_cpu(it->c.chunk_id),
		 back > 0 && t == (u32)back ? "caught up" : "copied to", t,
		 (unsigned long long)bytes,
		 (unsigned long long)le64_to_cpu(now.version), now.nrep,
		 it->want);
	return (s64)bytes;
}

/*
 * it's set down to the n servers first in now's, committed at the next
 * epoch; the others' copies go to the collector
 */
static int rr_shrink(struct mds *m, struct rr_item *it,
		     struct vdifs_chunk *now, unsigned int n)
{
	unsigned int i;

	for (i = n; i < VDIFS_MAX_REPLICAS; i++)
		now->ds[i] = 0;
	now->nrep = (u8)n;
	now->version = cpu_to_le64(le64_to_cpu(it->c.version) + 1);
	return chunk_swap(m, it->vol, it->ino, it->idx, &it->c, now, false);
}

/*
 * Servers out of service leave it.c's set once the others hold as many
 * copies as the file wants (copies are made first, one per pass, while
 * the leaving ones still serve).  0 when none is left in the set.
 */
static int rr_drain(struct mds *m, struct rr_item *it)
{
	struct vdifs_chunk now = it->c;
	unsigned int i, n = 0, out = 0;
	int ret;

	for (i = 0; i < it->c.nrep; i++) {
		if (member_ds_out(m, le32_to_cpu(it->c.ds[i])))
			out++;
		else
			now.ds[n++] = it->c.ds[i];
	}
	if (!out)
		return 0;
	if (n < it->want || !n)
		return -EAGAIN;		/* copies first */
	/* copied elsewhere already: theirs go */
	ret = rr_shrink(m, it, &now, n);
	if (ret)
		return ret;
	log_info("vol %u inode %llu chunk %llu (%016llx): off %u server(s) out of service, epoch %llu",
		 it->vol, (unsigned long long)it->ino,
		 (unsigned long long)it->idx,
		 (unsigned long long)le64_to_cpu(it->c.chunk_id), out,
		 (unsigned long long)le64_to_cpu(now.version));
	it->c = now;
	return 0;
}

/*
 * A set of healthy servers with more copies than its file wants: what a
 * move leaves when it stops between its two commits (rebalance.c: the
 * MDS died, or the server leaving could not be told).  The copy on the
 * fullest server goes, as the move would have dropped it (the leaving
 * server was the fullest), the primary's last on a tie: the set keeps
 * its primary where it can.
 */
static int rr_trim(struct mds *m, struct rr_item *it)
{
	struct vdifs_chunk now = it->c;
	unsigned int i, n = 0, drop = 0;
	u64 use, most = 0;
	int ret;

	if (!it->want || it->c.nrep <= it->want)
		return 0;
	for (i = 0; i < it->c.nrep; i++) {
		use = member_ds_use_ppm(m, le32_to_cpu(it->c.ds[i]));
		if (use > most || (use == most && drop == 0)) {
			most = use;
			drop = i;
		}
	}
	for (i = 0; i < it->c.nrep; i++)
		if (i != drop)
			now.ds[n++] = it->c.ds[i];
	ret = rr_shrink(m, it, &now, n);
	if (ret)
		return ret;
	log_info("vol %u inode %llu chunk %llu (%016llx): %u copies, the file wants %u: data server %u's goes, epoch %llu",
		 it->vol, (unsigned long long)it->ino,
		 (unsigned long long)it->idx,
		 (unsigned long long)le64_to_cpu(it->c.chunk_id), it->c.nrep,
		 it->want, le32_to_cpu(it->c.ds[drop]),
		 (unsigned long long)le64_to_cpu(now.version));
	it->c = now;
	return 0;
}

void recovery_count(struct mds *m, u64 bytes)
{
	pthread_mutex_lock(&m->lock);
	m->rr_copied++;
	m->rr_copied_bytes += bytes;
	pthread_mutex_unlock(&m->lock);
}

void recovery_pause(struct mds *m, u64 bytes)
{
	u64 bw = m->cfg.recovery_bandwidth;
	struct timespec ts;
	u64 ns;

	if (!bw || !bytes)
		return;
	ns = bytes * 1000000000ull / bw;
	ts.tv_sec = (time_t)(ns / 1000000000ull);
	ts.tv_nsec = (long)(ns % 1000000000ull);
	nanosleep(&ts, NULL);
}

static void *rr_thread(void *arg)
{
	struct mds *m = arg;
	static struct rr_item items[RR_BATCH];
	u8 cursor[MDS_KEY_BUF];
	size_t clen = 0;
	u64 degraded = 0, waiting = 0;
	struct rb_cursor rbc = { .len = 0 };
	bool quiet;

	for (;;) {
		unsigned int n = 0, i;
		bool busy = false;

		if (rr_scan(m, cursor, &clen, items, &n, &degraded))
			n = 0;
		if (!clen) {
			/* a full pass: what it found is the count */
			pthread_mutex_lock(&m->lock);
			m->rr_degraded = degraded;
			pthread_mutex_unlock(&m->lock);
			degraded = 0;
		}
		for (i = 0; i < n; i++) {
			struct rr_item *it = &items[i];
			struct mds_vol v;
			MDB_txn *t;
			s64 bytes;
			int ret;

			ret = db_err(mdb_txn_begin(m->db.env, NULL,
						   MDB_RDONLY, &t));
			if (ret)
				break;
			ret = vol_get(m, t, it->vol, &v);
			mdb_txn_abort(t);
			if (ret)
				continue;
			/* failed servers out first, as a failed I/O would */
			ret = degrade_chunk(m, it->vol, it->ino, it->idx, &v,
					    &it->c);
			if (ret && ret != -EAGAIN)
				continue;
			if (member_ds_failed(m, le32_to_cpu(it->c.ds[0])))
				continue;
			/* off servers out of service once copied elsewhere */
			if (rr_drain(m, it) != -EAGAIN &&
			    it->c.nrep >= it->want) {
				/* a copy too many, one at a time */
				if (rr_trim(m, it) == 0 &&
				    it->c.nrep > it->want)
					busy = true;
				continue;
			}
			if (it->c.nrep >= VDIFS_MAX_REPLICAS)
				continue;
			bytes = rr_copy(m, it);
			waiting += bytes == -EAGAIN;
			busy |= bytes >= 0;
			if (bytes > 0)
				recovery_pause(m, (u64)bytes);
		}
		if (!clen) {
			pthread_mutex_lock(&m->lock);
			m->rr_waiting = waiting;
			quiet = !m->rr_degraded;
			pthread_mutex_unlock(&m->lock);
			waiting = 0;
			/* nothing to restore: even out the servers' use */
			if (quiet && !busy && rebalance_pass(m, &rbc) > 0)
				busy = true;
		}
		/* a pass that found nothing to do waits a while */
		if (!busy && !clen)
			sleep(m->cfg.recovery_interval_ms / 1000 ?
			      m->cfg.recovery_interval_ms / 1000 : 1);
		else if (!busy)
			usleep(100 * 1000);
	}
	return NULL;
}

int recovery_start(struct mds *m)
{
	pthread_t th;

	if (pthread_create(&th, NULL, rr_thread, m))
		return -EAGAIN;
	pthread_detach(th);
	return 0;
}
