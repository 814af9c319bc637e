// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs data path: chunk layouts and the netfs read/write requests.
 *
 * netfs cuts reads and writes into subrequests that never cross a chunk
 * (prepare_read / prepare_write set the limit), and each subrequest goes
 * to the chunk's data server from a workqueue, so that subrequests for
 * different chunks run in parallel and each may sleep for its layout.
 * A write that finds its cached layout stale (the chunk became a
 * snapshot's, or moved) drops the layout and retries with a fresh one.
 */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/netfs.h>
#include "internal.h"

#define VDIFS_LAYOUT_BATCH	16	/* chunks fetched per LAYOUT_GET */
#define VDIFS_IO_TRIES		4

struct workqueue_struct *vdifs_io_wq;

/* ---- layouts ---- */

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
		if (n->nrep > VDIFS_MAX_REPLICAS ||
		    (n->chunk_id && !n->nrep)) {
			kfree(n);
			ret = -EPROTO;
			break;
		}
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

static void vdifs_chunk_forget(struct inode *inode, u64 index)
{
	struct vdifs_inode *vi = VDIFS_I(inode);

	mutex_lock(&vi->layout_lock);
	kfree(xa_erase(&vi->chunks, index));
	mutex_unlock(&vi->layout_lock);
}

static void vdifs_chunk_req(struct inode *inode, const struct vdifs_chunk *c,
			    struct vdifs_chunk_req *q, u32 off, u32 len)
{
	struct vdifs_inode *vi = VDIFS_I(inode);
	unsigned int i;

	memset(q, 0, sizeof(*q));
	q->chunk_id = c->chunk_id;
	q->offset = cpu_to_le32(off);
	q->len = cpu_to_le32(len);
	q->chunk_size = vi->params.chunk_size;
	q->extent_size = vi->params.extent_size;
	q->nrep = c->nrep;
	q->repl_mode = vi->params.repl_mode;
	for (i = 0; i < VDIFS_MAX_REPLICAS; i++)
		q->ds[i] = c->ds[i];
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
static void vdifs_chunk_refused(struct inode *inode, u64 index,
				const struct vdifs_chunk *c, int err,
				u64 *frozen)
{
	if (err == -EROFS) {
		if (*frozen == le64_to_cpu(c->chunk_id))
			vdifs_layout_fork(inode, index, c);
		*frozen = le64_to_cpu(c->chunk_id);
	}
	vdifs_chunk_forget(inode, index);
}

/* layout errors that a fresh layout cures */
static bool vdifs_layout_stale(int err)
{
	return err == -EROFS || err == -ENXIO || err == -ESTALE;
}

/* ---- reads ---- */

struct vdifs_io {
	struct work_struct work;
	struct netfs_io_subrequest *subreq;
};

/*
 * Read [pos, pos+len) of one chunk into iter: from the primary, else from
 * the replicas in turn (a replica holds the same versions).
 */
static int vdifs_read_chunk(struct inode *inode, loff_t pos, size_t len,
			    struct iov_iter *iter)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	u64 cs = le32_to_cpu(VDIFS_I(inode)->params.chunk_size);
	u64 index = pos / cs;
	int tries, ret = -EIO;

	for (tries = 0; tries < VDIFS_IO_TRIES; tries++) {
		struct vdifs_chunk c;
		struct vdifs_chunk_req q;
		struct vdifs_req *req;
		unsigned int r;

		ret = vdifs_chunk_lookup(inode, index, false, &c);
		if (ret)
			return ret;
		if (!c.chunk_id) {
			iov_iter_zero(len, iter);
			return 0;
		}
		vdifs_chunk_req(inode, &c, &q, pos % cs, len);
		for (r = 0; r < c.nrep; r++) {
			struct vdifs_conn *conn;

			conn = vdifs_ds_conn(sbi, le32_to_cpu(c.ds[r]));
			if (IS_ERR(conn)) {
				ret = PTR_ERR(conn);
				continue;
			}
			req = vdifs_req_new(VDIFS_OP_CHUNK_READ, &q, sizeof(q),
					    NULL, 0, NULL, 0);
			if (IS_ERR(req))
				return PTR_ERR(req);
			ret = vdifs_req_wait(conn, req);
			if (!ret) {
				if (req->rbody.tail_len[0] != len)
					ret = -EPROTO;
				else if (copy_to_iter(req->rbody.tail[0], len,
						      iter) != len)
					ret = -EFAULT;
			}
			vdifs_req_put(req);
			/*
			 * Allocated but not yet written reads as zeroes; but
			 * first make sure the layout itself is not stale.
			 */
			if (ret == -ENOENT && tries) {
				iov_iter_zero(len, iter);
				return 0;
			}
			if (ret == -ENOENT) {
				ret = -ESTALE;
				break;
			}
			if (!ret || ret == -EUCLEAN || ret == -EFAULT)
				break;
		}
		if (ret == -EUCLEAN) {
			pr_err_ratelimited("vdifs: inode %lu chunk %llu: data corrupt on the server\n",
					   inode->i_ino, index);
			return -EIO;
		}
		if (!vdifs_layout_stale(ret))
			break;
		vdifs_chunk_forget(inode, index);
	}
	return ret;
}

static void vdifs_read_worker(struct work_struct *work)
{
	struct vdifs_io *io = container_of(work, struct vdifs_io, work);
	struct netfs_io_subrequest *subreq = io->subreq;
	struct netfs_io_request *rreq = subreq->rreq;
	struct inode *inode = rreq->inode;
	loff_t pos = subreq->start + subreq->transferred;
	size_t len = subreq->len - subreq->transferred;
	loff_t isize = i_size_read(inode);
	int ret = 0;

	kfree(io);
	/* nothing past EOF: a direct read must come back short */
	if (pos >= isize)
		len = 0;
	else if (pos + len > isize)
		len = isize - pos;
	if (len)
		ret = vdifs_read_chunk(inode, pos, len, &subreq->io_iter);
	if (!ret) {
		subreq->transferred += len;
		if (rreq->origin != NETFS_DIO_READ)
			__set_bit(NETFS_SREQ_CLEAR_TAIL, &subreq->flags);
		if (pos + len >= isize)
			__set_bit(NETFS_SREQ_HIT_EOF, &subreq->flags);
	}
	subreq->error = ret;
	netfs_read_subreq_terminated(subreq);
}

static int vdifs_prepare_read(struct netfs_io_subrequest *subreq)
{
	struct netfs_io_request *rreq = subreq->rreq;
	u64 cs = le32_to_cpu(VDIFS_I(rreq->inode)->params.chunk_size);

	if (!cs)
		return -EIO;
	rreq->io_streams[0].sreq_max_len =
		min_t(u64, VDIFS_IO_MAX, cs - subreq->start % cs);
	return 0;
}

static void vdifs_issue_read(struct netfs_io_subrequest *subreq)
{
	struct vdifs_io *io = kmalloc(sizeof(*io), GFP_NOFS);

	if (!io) {
		subreq->error = -ENOMEM;
		netfs_read_subreq_terminated(subreq);
		return;
	}
	io->subreq = subreq;
	INIT_WORK(&io->work, vdifs_read_worker);
	queue_work(vdifs_io_wq, &io->work);
}

/* ---- writes ---- */

static int vdifs_write_chunk(struct inode *inode, loff_t pos, size_t len,
			     struct iov_iter *iter)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	u64 cs = le32_to_cpu(VDIFS_I(inode)->params.chunk_size);
	u64 index = pos / cs;
	u64 frozen = 0;
	void *data;
	int tries, ret = -EIO;

	/* one copy out of the pages: stable, and retried as is */
	data = kvmalloc(len, GFP_NOFS);
	if (!data)
		return -ENOMEM;
	if (copy_from_iter(data, len, iter) != len) {
		kvfree(data);
		return -EFAULT;
	}
	for (tries = 0; tries < VDIFS_IO_TRIES; tries++) {
		struct vdifs_chunk c;
		struct vdifs_chunk_req q;
		struct vdifs_conn *conn;
		struct vdifs_req *req;

		ret = vdifs_chunk_lookup(inode, index, true, &c);
		if (ret)
			break;
		vdifs_chunk_req(inode, &c, &q, pos % cs, len);
		conn = vdifs_ds_conn(sbi, le32_to_cpu(c.ds[0]));
		if (IS_ERR(conn)) {
			ret = PTR_ERR(conn);
			break;
		}
		req = vdifs_req_new(VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), data,
				    len, NULL, 0);
		if (IS_ERR(req)) {
			ret = PTR_ERR(req);
			break;
		}
		ret = vdifs_req_wait(conn, req);
		vdifs_req_put(req);
		if (!vdifs_layout_stale(ret))
			break;
		vdifs_chunk_refused(inode, index, &c, ret, &frozen);
	}
	kvfree(data);
	if (ret == -ENOSPC || ret == -EDQUOT || ret == -EFBIG)
		return ret;
	if (ret)
		pr_err_ratelimited("vdifs: inode %lu: write at %lld failed (%d)\n",
				   inode->i_ino, pos, ret);
	return ret ? -EIO : 0;
}

/* note a size reached by a completed write; the MDS hears of it later */
static void vdifs_wrote_to(struct inode *inode, loff_t end)
{
	struct vdifs_inode *vi = VDIFS_I(inode);

	spin_lock(&vi->size_lock);
	if (end > i_size_read(inode))
		i_size_write(inode, end);
	/* size or not, the MDS must hear that the data changed */
	vi->size_dirty = true;
	vi->size_gen++;
	spin_unlock(&vi->size_lock);
	mark_inode_dirty(inode);
}

static void vdifs_write_worker(struct work_struct *work)
{
	struct vdifs_io *io = container_of(work, struct vdifs_io, work);
	struct netfs_io_subrequest *subreq = io->subreq;
	struct inode *inode = subreq->rreq->inode;
	int ret;

	kfree(io);
	ret = vdifs_write_chunk(inode, subreq->start, subreq->len,
				&subreq->io_iter);
	if (!ret)
		vdifs_wrote_to(inode, subreq->start + subreq->len);
	netfs_write_subrequest_terminated(subreq, ret ? ret : subreq->len,
					  false);
}

static void vdifs_begin_writeback(struct netfs_io_request *wreq)
{
	wreq->io_streams[0].avail = true;
}

static void vdifs_prepare_write(struct netfs_io_subrequest *subreq)
{
	struct netfs_io_request *wreq = subreq->rreq;
	struct netfs_io_stream *stream = &wreq->io_streams[subreq->stream_nr];
	u64 cs = le32_to_cpu(VDIFS_I(wreq->inode)->params.chunk_size);

	stream->sreq_max_len = min_t(u64, VDIFS_IO_MAX,
				     cs - subreq->start % cs);
}

static void vdifs_issue_write(struct netfs_io_subrequest *subreq)
{
	struct vdifs_io *io = kmalloc(sizeof(*io), GFP_NOFS);

	if (!io) {
		netfs_write_subrequest_terminated(subreq, -ENOMEM, false);
		return;
	}
	io->subreq = subreq;
	INIT_WORK(&io->work, vdifs_write_worker);
	queue_work(vdifs_io_wq, &io->work);
}

/*
 * Called by netfs as writes grow the file, sometimes under inode->i_lock:
 * no sleeping, no mark_inode_dirty() here; the write completion marks the
 * inode dirty once the data is on the servers.
 */
static void vdifs_update_i_size(struct inode *inode, loff_t size)
{
	struct vdifs_inode *vi = VDIFS_I(inode);

	spin_lock(&vi->size_lock);
	if (size > i_size_read(inode))
		i_size_write(inode, size);
	vi->size_dirty = true;
	vi->size_gen++;
	spin_unlock(&vi->size_lock);
}

static int vdifs_init_request(struct netfs_io_request *rreq,
			      struct file *file)
{
	return 0;
}

const struct netfs_request_ops vdifs_netfs_ops = {
	.init_request		= vdifs_init_request,
	.prepare_read		= vdifs_prepare_read,
	.issue_read		= vdifs_issue_read,
	.update_i_size		= vdifs_update_i_size,
	.begin_writeback	= vdifs_begin_writeback,
	.prepare_write		= vdifs_prepare_write,
	.issue_write		= vdifs_issue_write,
};

const struct address_space_operations vdifs_aops = {
	.read_folio		= netfs_read_folio,
	.readahead		= netfs_readahead,
	.dirty_folio		= netfs_dirty_folio,
	.release_folio		= netfs_release_folio,
	.invalidate_folio	= netfs_invalidate_folio,
	.direct_IO		= noop_direct_IO,
	.writepages		= netfs_writepages,
	.migrate_folio		= filemap_migrate_folio,
};

/* ---- server-side data, bypassing the page cache ---- */

/*
 * Copy [spos, spos+len) of sin to dpos in din through the data servers,
 * in pieces that cross no chunk of either file: what FICLONERANGE does
 * with the parts of a range that cannot be shared as whole chunks.  The
 * caller holds both inodes' i_rwsem, has written back both and drops
 * din's pages over the range; the size grows as with any write.
 */
int vdifs_copy_direct(struct inode *sin, loff_t spos, struct inode *din,
		      loff_t dpos, size_t len)
{
	u64 scs = le32_to_cpu(VDIFS_I(sin)->params.chunk_size);
	u64 dcs = le32_to_cpu(VDIFS_I(din)->params.chunk_size);
	size_t max = min_t(size_t, len, VDIFS_IO_MAX);
	void *buf;
	int ret = 0;

	if (!scs || !dcs)
		return -EIO;
	if (!len)
		return 0;
	buf = kvmalloc(max, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	while (len && !ret) {
		size_t n = min_t(u64, max, min(scs - spos % scs,
					       dcs - dpos % dcs));
		struct kvec kv = { .iov_base = buf, .iov_len = n };
		struct iov_iter it;

		n = min(n, len);
		kv.iov_len = n;
		iov_iter_kvec(&it, ITER_DEST, &kv, 1, n);
		ret = vdifs_read_chunk(sin, spos, n, &it);
		if (ret)
			break;
		iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, n);
		ret = vdifs_write_chunk(din, dpos, n, &it);
		if (ret)
			break;
		vdifs_wrote_to(din, dpos + n);
		spos += n;
		dpos += n;
		len -= n;
	}
	kvfree(buf);
	return ret;
}

/* ---- holes ---- */

/* make [start, end) read as zeroes on the data servers */
int vdifs_punch_range(struct inode *inode, loff_t start, loff_t end)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	u64 cs = le32_to_cpu(VDIFS_I(inode)->params.chunk_size);
	loff_t pos = start;
	int ret = 0;

	while (pos < end && !ret) {
		u64 index = pos / cs;
		u32 off = pos % cs;
		u32 len = min_t(u64, cs - off, end - pos);
		u64 frozen = 0;
		int tries;

		for (tries = 0; tries < VDIFS_IO_TRIES; tries++) {
			struct vdifs_chunk c;
			struct vdifs_chunk_req q;
			struct vdifs_conn *conn;

			ret = vdifs_chunk_lookup(inode, index, false, &c);
			if (ret || !c.chunk_id)
				break;
			vdifs_chunk_req(inode, &c, &q, off, len);
			conn = vdifs_ds_conn(sbi, le32_to_cpu(c.ds[0]));
			if (IS_ERR(conn)) {
				ret = PTR_ERR(conn);
				break;
			}
			ret = vdifs_call(conn, VDIFS_OP_CHUNK_PUNCH, &q,
					 sizeof(q), NULL, 0, NULL, 0, NULL);
			if (ret == -ENOENT)	/* never written: nothing to do */
				ret = 0;
			if (!vdifs_layout_stale(ret))
				break;
			vdifs_chunk_refused(inode, index, &c, ret, &frozen);
		}
		pos += len;
	}
	return ret;
}
