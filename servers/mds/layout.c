// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds chunk layouts: a file's chunk geometry and the replica sets
 * of its chunks.  A chunk is allocated (placed on data servers) when a
 * client first asks for it to write, not at create or truncate, so that
 * a sparse file costs nothing and reading a hole needs no data server.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "mds.h"

static int op_layout_set(struct mds *m, struct mds_conn *c, MDB_txn *t,
			 const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_layout_set_req *q = b->fixed;
	struct vdifs_layout_params p = q->params;
	u32 vol = le32_to_cpu(q->vol);
	struct mds_inode in;
	int ret;

	ret = ns_check_params(&p, true);
	if (ret)
		return ret;
	ret = inode_get(m, t, vol, le64_to_cpu(q->ino), &in);
	if (ret)
		return ret;
	if (le32_to_cpu(in.attr.flags) &
	    (VDIFS_ATTR_SNAPSHOT | VDIFS_ATTR_SNAPDIR))
		return -EROFS;
	if (S_ISREG(in_mode(&in))) {
		/* chunk geometry is fixed once data may exist */
		if (le64_to_cpu(in.nchunks))
			return -EBUSY;
	} else if (!S_ISDIR(in_mode(&in))) {
		return -EINVAL;
	}
	params_inherit(&p, &in.attr.params, true);
	if (le32_to_cpu(p.extent_size) > le32_to_cpu(p.chunk_size))
		return -EINVAL;
	in.attr.params = p;
	touch(&in, false);
	ret = inode_put(m, t, vol, &in);
	return ret ? ret : reply_attr(r, &in);
}

/* only an allocating LAYOUT_GET changes anything */
static bool layout_get_writes(const struct wire_body *b)
{
	const struct vdifs_layout_get_req *q = b->fixed;

	return le32_to_cpu(q->flags) & VDIFS_LAYOUT_ALLOC;
}

static int op_layout_get(struct mds *m, struct mds_conn *c, MDB_txn *t,
			 const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_layout_get_req *q = b->fixed;
	struct vdifs_layout_rep *lr = (struct vdifs_layout_rep *)r->fixed;
	u32 vol = le32_to_cpu(q->vol), flags = le32_to_cpu(q->flags);
	u32 count = le32_to_cpu(q->count), i;
	u64 ino = le64_to_cpu(q->ino), first = le64_to_cpu(q->first), cs;
	bool alloc = flags & VDIFS_LAYOUT_ALLOC, changed = false;
	struct mds_vol v = { 0 };
	struct mds_inode in;
	int ret, rights;
	bool writable;

	if (flags & ~VDIFS_LAYOUT_ALLOC)
		return -EINVAL;
	if (!count || count > VDIFS_LAYOUT_MAX)
		return -EINVAL;
	ret = inode_get(m, t, vol, ino, &in);
	if (ret)
		return ret;
	if (S_ISDIR(in_mode(&in)))
		return -EISDIR;
	if (!S_ISREG(in_mode(&in)))
		return -EINVAL;
	if (alloc && (le32_to_cpu(in.attr.flags) & VDIFS_ATTR_SNAPSHOT))
		return -EROFS;
	cs = le32_to_cpu(in.attr.params.chunk_size);
	/* the last byte of the range must be a valid file offset */
	if (first > (u64)INT64_MAX / cs || first + count > (u64)INT64_MAX / cs)
		return -EFBIG;
	rights = access_rights(m, t, c, vol);
	if (rights < 0)
		return rights;
	writable = !(le32_to_cpu(in.attr.flags) & VDIFS_ATTR_SNAPSHOT);
	/* the chunks, then their capabilities, in the same order */
	ret = reply_tail_reserve(r, count * (u32)(sizeof(struct vdifs_chunk) +
				 sizeof(struct vdifs_chunk_cap)));
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		struct vdifs_chunk ch = { 0 };
		u8 k[MDS_KEY_BUF];
		size_t kl = key_u64(k, vol, ino, first + i);
		u32 ds[VDIFS_MAX_REPLICAS];
		unsigned int j, n;
		u64 id;

		ret = db_get(t, m->db.chunks, k, kl, &ch, sizeof(ch));
		if (ret == -ENOENT && alloc) {
			if (!v.vol) {
				ret = vol_get(m, t, vol, &v);
				if (ret)
					return ret;
			}
			n = in.attr.params.replicas;
			ret = member_place(m, t, n, vol_min_replicas(&v) < n ?
					   vol_min_replicas(&v) : n, ds);
			if (ret < 0)
				return ret;
			n = (unsigned int)ret;
			ret = mds_chunk_id(m, t, &id);
			if (ret)
				return ret;
			memset(&ch, 0, sizeof(ch));
			ch.chunk_id = cpu_to_le64(id);
			ch.version = cpu_to_le64(1);
			ch.nrep = (u8)n;
			for (j = 0; j < n; j++)
				ch.ds[j] = cpu_to_le32(ds[j]);
			ret = db_put(t, m->db.chunks, k, kl, &ch, sizeof(ch), 0);
			if (ret)
				return ret;
			in.nchunks = cpu_to_le64(le64_to_cpu(in.nchunks) + 1);
			changed = true;
		} else if (ret == -ENOENT) {
			memset(&ch, 0, sizeof(ch));	/* a hole */
		} else if (ret < 0) {
			return ret;
		}
		memcpy(r->tail + r->tlen, &ch, sizeof(ch));
		r->tlen += sizeof(ch);
	}
	for (i = 0; i < count; i++) {
		struct vdifs_chunk ch;
		struct vdifs_chunk_cap cap;

		memcpy(&ch, r->tail + i * sizeof(ch), sizeof(ch));
		access_cap(m, c, &ch, rights, writable, &cap);
		memcpy(r->tail + r->tlen, &cap, sizeof(cap));
		r->tlen += sizeof(cap);
	}
	if (changed) {
		/* new chunks: other clients' cached layouts are stale now */
		touch(&in, false);
		ret = inode_put(m, t, vol, &in);
		if (ret)
			return ret;
	}
	memset(lr, 0, sizeof(*lr));
	lr->first = cpu_to_le64(first);
	lr->count = cpu_to_le32(count);
	lr->chunk_size = cpu_to_le32((u32)cs);
	r->flen = sizeof(*lr);
	return 0;
}

const struct mds_op layout_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_LAYOUT_SET] = { op_layout_set, MDS_TXN_WRITE },
	/* a write transaction when it may allocate; see op_layout_get */
	[VDIFS_OP_LAYOUT_GET] = { op_layout_get, MDS_TXN_WRITE,
				  layout_get_writes },
};
