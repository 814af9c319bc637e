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

/*
 * The layout of chunk index, from the cache or else the MDS (with the
 * next chunks, to save round trips); alloc: have the MDS allocate it if
 * the file has none there.  May sleep for an MDS call.
 */
int vdifs_chunk_lookup(struct inode *inode, u64 index, bool alloc,
		       struct vdifs_chunk *out)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_inode *vi = VDIFS_I(inode);
	struct vdifs_layout_get_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
	};
	struct vdifs_chunk *c;
	struct vdifs_req *req;
	const void *rec;
	const u8 *name;
	struct wire_rec_iter it;
	u64 i;
	u16 nl;
	int ret;

	mutex_lock(&vi->layout_lock);
	c = xa_load(&vi->chunks, index);
	if (c && (c->chunk_id || !alloc)) {
		*out = *c;
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
	wire_rec_iter_init(&it, &req->rbody, 0, VDIFS_OP_LAYOUT_GET);
	for (i = index; wire_rec_next(&it, &rec, &name, &nl) > 0; i++) {
		struct vdifs_chunk *n = kmemdup(rec, sizeof(*n), GFP_NOFS);

		if (!n) {
			ret = -ENOMEM;
			break;
		}
		/* the codec checked every record (wire_check_chunk) */
		c = xa_store(&vi->chunks, i, n, GFP_NOFS);
		if (xa_is_err(c)) {
			kfree(n);
			ret = xa_err(c);
			break;
		}
		kfree(c);
		if (i == index)
			*out = *n;
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
			struct vdifs_chunk *out)
{
	struct vdifs_inode *vi = VDIFS_I(inode);
	struct vdifs_chunk *c;
	bool found = false;

	if (!mutex_trylock(&vi->layout_lock))
		return false;
	c = xa_load(&vi->chunks, index);
	if (c && (c->chunk_id || !alloc)) {
		*out = *c;
		found = true;
	}
	mutex_unlock(&vi->layout_lock);
	return found;
}

int vdifs_chunk_degrade(struct inode *inode, u64 index,
			struct vdifs_chunk *c)
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
	struct vdifs_chunk *n, *old;
	struct vdifs_req *req;
	int ret;

	ret = vdifs_call(sbi->mds, VDIFS_OP_LAYOUT_DEGRADE, &q, sizeof(q),
			 NULL, 0, NULL, 0, &req);
	if (ret)
		return ret;
	n = kmemdup(req->rbody.fixed, sizeof(*n), GFP_NOFS);
	vdifs_req_put(req);
	if (!n)
		return -ENOMEM;
	*c = *n;
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
	struct vdifs_chunk *c;
	unsigned long idx;

	mutex_lock(&vi->layout_lock);
	xa_for_each(&vi->chunks, idx, c) {
		xa_erase(&vi->chunks, idx);
		kfree(c);
	}
	mutex_unlock(&vi->layout_lock);
}
