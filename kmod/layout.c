// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs chunk layouts: which chunk, on which data servers, holds each
 * chunk-sized piece of a file, fetched from the MDS in batches and cached
 * per inode (vi->chunks under vi->layout_lock, which is held across the
 * MDS call that fills it, so that one fetch serves every waiter).
 *
 * A layout goes stale when the chunk becomes a snapshot's (frozen) or
 * moves; the data servers then refuse it (-EROFS, -ENXIO) and the I/O
 * forgets the cached layout and tries with a fresh one.  When a server of
 * the chunk's set fails, or refuses the set's epoch as old (-ESTALE), the
 * MDS is asked (LAYOUT_DEGRADE): it answers the current set, taking the
 * failed servers out of it, and that replaces the cached one.
 */
#include <linux/fs.h>
#include <linux/slab.h>
#include "internal.h"

#define VDIFS_LAYOUT_BATCH	16	/* chunks fetched per LAYOUT_GET */
/* a capability this close to its expiry is fetched again first */
#define VDIFS_CAP_RENEW_S	60

/* one cached chunk of a file's layout (vi->chunks), with its capability */
struct vdifs_layout_ent {
	struct vdifs_chunk chunk;
	struct vdifs_chunk_cap cap;
};

/* usable as it is: allocated if asked, its capability not about to expire */
static bool vdifs_ent_fresh(const struct vdifs_layout_ent *e, bool alloc)
{
	u64 expiry = le64_to_cpu(e->cap.expiry);

	if (alloc && !e->chunk.chunk_id)
		return false;
	/* 0: a hole, or a cluster without a key, whose servers check none */
	return !expiry ||
	       expiry > (u64)ktime_get_real_seconds() + VDIFS_CAP_RENEW_S;
}

static void vdifs_ent_out(const struct vdifs_layout_ent *e,
			  struct vdifs_chunk *out, struct vdifs_chunk_cap *cap)
{
	*out = e->chunk;
	if (cap)
		*cap = e->cap;
}

/*
 * The layout of chunk index, from the cache or else the MDS (with the
 * next chunks, to save round trips); alloc: have the MDS allocate it if
 * the file has none there.  May sleep for an MDS call.
 */
int vdifs_chunk_lookup(struct inode *inode, u64 index, bool alloc,
		       struct vdifs_chunk *out, struct vdifs_chunk_cap *cap)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_inode *vi = VDIFS_I(inode);
	struct vdifs_layout_get_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
	};
	struct vdifs_layout_ent *e;
	struct vdifs_req *req;
	const void *rec, *crec;
	const u8 *name;
	struct wire_rec_iter it, cit;
	u64 i;
	u16 nl;
	int ret;

	mutex_lock(&vi->layout_lock);
	e = xa_load(&vi->chunks, index);
	if (e && vdifs_ent_fresh(e, alloc)) {
		vdifs_ent_out(e, out, cap);
		mutex_unlock(&vi->layout_lock);
		return 0;
	}
	q.first = cpu_to_le64(index);
	q.count = cpu_to_le32(alloc ? 1 : VDIFS_LAYOUT_BATCH);
	q.flags = cpu_to_le32(alloc ? VDIFS_LAYOUT_ALLOC : 0);
	ret = vdifs_call(sbi->mds, VDIFS_OP_LAYOUT_GET, &q, sizeof(q), NULL, 0,
			 NULL, 0, &req);
	if (ret)
		goto out_unlock;
	/* the chunks, then as many capabilities (the codec counted both) */
	wire_rec_iter_init(&it, &req->rbody, 0, VDIFS_OP_LAYOUT_GET);
	wire_rec_iter_init(&cit, &req->rbody, 1, VDIFS_OP_LAYOUT_GET);
	for (i = index; wire_rec_next(&it, &rec, &name, &nl) > 0 &&
	     wire_rec_next(&cit, &crec, &name, &nl) > 0; i++) {
		struct vdifs_layout_ent *n = kmalloc(sizeof(*n), GFP_NOFS);

		if (!n) {
			ret = -ENOMEM;
			break;
		}
		/* the codec checked every record (wire_check_chunk) */
		memcpy(&n->chunk, rec, sizeof(n->chunk));
		memcpy(&n->cap, crec, sizeof(n->cap));
		e = xa_store(&vi->chunks, i, n, GFP_NOFS);
		if (xa_is_err(e)) {
			kfree(n);
			ret = xa_err(e);
			break;
		}
		kfree(e);
		if (i == index)
			vdifs_ent_out(n, out, cap);
	}
	vdifs_req_put(req);
	if (!ret && i == index)
		ret = -EPROTO;
out_unlock:
	mutex_unlock(&vi->layout_lock);
	return ret;
}

/*
 * The cached layout of chunk index, without waiting for anything: false
 * when it is not cached (or, for alloc, not allocated yet), or when the
 * cache is busy being filled: the caller then asks where it may sleep.
 */
bool vdifs_chunk_cached(struct inode *inode, u64 index, bool alloc,
			struct vdifs_chunk *out, struct vdifs_chunk_cap *cap)
{
	struct vdifs_inode *vi = VDIFS_I(inode);
	struct vdifs_layout_ent *e;
	bool found = false;

	if (!mutex_trylock(&vi->layout_lock))
		return false;
	e = xa_load(&vi->chunks, index);
	if (e && vdifs_ent_fresh(e, alloc)) {
		vdifs_ent_out(e, out, cap);
		found = true;
	}
	mutex_unlock(&vi->layout_lock);
	return found;
}

int vdifs_chunk_degrade(struct inode *inode, u64 index,
			struct vdifs_chunk *c, struct vdifs_chunk_cap *cap)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_inode *vi = VDIFS_I(inode);
	struct vdifs_layout_degrade_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
		.index = cpu_to_le64(index),
		.chunk_id = c->chunk_id,
		.epoch = c->version,
	};
	struct vdifs_layout_ent *n, *old;
	struct vdifs_req *req;
	int ret;

	ret = vdifs_call(sbi->mds, VDIFS_OP_LAYOUT_DEGRADE, &q, sizeof(q),
			 NULL, 0, NULL, 0, &req);
	if (ret)
		return ret;
	n = kmalloc(sizeof(*n), GFP_NOFS);
	if (n) {
		/* the codec checked the chunk, and the capability's size */
		memcpy(&n->chunk, req->rbody.fixed, sizeof(n->chunk));
		memcpy(&n->cap, req->rbody.tail[0], sizeof(n->cap));
	}
	vdifs_req_put(req);
	if (!n)
		return -ENOMEM;
	vdifs_ent_out(n, c, cap);
	mutex_lock(&vi->layout_lock);
	old = xa_store(&vi->chunks, index, n, GFP_NOFS);
	if (xa_is_err(old)) {
		kfree(n);
		ret = xa_err(old);
	} else {
		kfree(old);
	}
	mutex_unlock(&vi->layout_lock);
	return ret;
}

/*
 * A copy of chunk c at index had a block that failed its checksum: the
 * MDS checks every copy and replaces the bad ones (read-triggered
 * repair).  Best effort: a periodic scrub finds it too.  May sleep.
 */
void vdifs_chunk_corrupt(struct inode *inode, u64 index,
			 const struct vdifs_chunk *c)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_layout_degrade_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
		.index = cpu_to_le64(index),
		.chunk_id = c->chunk_id,
		.epoch = c->version,
	};
	int ret;

	ret = vdifs_call(sbi->mds, VDIFS_OP_LAYOUT_CORRUPT, &q, sizeof(q),
			 NULL, 0, NULL, 0, NULL);
	if (ret)
		pr_warn_ratelimited("vdifs: inode %lu chunk %llu: could not report its bad copy (%d)\n",
				    inode->i_ino, index, ret);
}

/* forget the cached layout of one chunk */
void vdifs_chunk_forget(struct inode *inode, u64 index)
{
	struct vdifs_inode *vi = VDIFS_I(inode);

	mutex_lock(&vi->layout_lock);
	kfree(xa_erase(&vi->chunks, index));
	mutex_unlock(&vi->layout_lock);
}

/*
 * A chunk a fresh layout names and its data server still refuses as
 * frozen: only a snapshot or clone that failed half way leaves a live
 * file's chunk so; the MDS gives the file a clone of it to go on in.
 */
static void vdifs_layout_fork(struct inode *inode, u64 index,
			      const struct vdifs_chunk *c)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_layout_fork_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
		.index = cpu_to_le64(index),
		.chunk_id = c->chunk_id,
	};
	int ret;

	ret = vdifs_call(sbi->mds, VDIFS_OP_LAYOUT_FORK, &q, sizeof(q), NULL,
			 0, NULL, 0, NULL);
	if (ret)
		pr_warn_ratelimited("vdifs: inode %lu chunk %llu: frozen, and the MDS could not fork it (%d)\n",
				    inode->i_ino, index, ret);
}

/*
 * After a layout error on chunk c of index: forget the cached layout, and
 * when the fresh one had named the same chunk, refused as frozen again,
 * have it forked.  *frozen carries the refused chunk id between tries.
 */
void vdifs_chunk_refused(struct inode *inode, u64 index,
			 const struct vdifs_chunk *c, int err, u64 *frozen)
{
	/* -EKEYEXPIRED: a capability past its time, however clocks differ */
	if (err == -EROFS) {
		if (*frozen == le64_to_cpu(c->chunk_id))
			vdifs_layout_fork(inode, index, c);
		*frozen = le64_to_cpu(c->chunk_id);
	}
	vdifs_chunk_forget(inode, index);
}

/* forget every cached layout of the file */
void vdifs_layout_drop(struct vdifs_inode *vi)
{
	struct vdifs_layout_ent *e;
	unsigned long idx;

	mutex_lock(&vi->layout_lock);
	xa_for_each(&vi->chunks, idx, e) {
		xa_erase(&vi->chunks, idx);
		kfree(e);
	}
	mutex_unlock(&vi->layout_lock);
}
