// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs data path: the netfs read and write requests.
 *
 * netfs cuts reads and writes into subrequests that never cross a chunk
 * (prepare_read / prepare_write set the limit).  issue_read/issue_write
 * build the subrequest's CHUNK_READ/CHUNK_WRITE and submit it to the
 * chunk's data server, then return: the data goes straight between the
 * subrequest's pages and the socket, and the reply's done() callback, in
 * the connection's receive thread, terminates the subrequest.  A full
 * window of requests on the connection makes the issuer wait, which is
 * the back-pressure on writeback.
 *
 * Only what must wait for something else goes through a work item on
 * vdifs_io_wq, so that the receive thread never waits for another
 * request: a layout the cache does not have (an MDS call), a layout
 * that turned out stale (refetched, and a write retried on the fresh
 * one, its chunk forked if still frozen), a server of the chunk's set
 * that failed (the MDS takes it out of the set, promoting a replica if
 * it was the primary, and the I/O goes on with the new set), a read
 * failing over to the next replica.
 *
 * Slow is not failed: while the MDS still hears from every server of
 * the set, the I/O is tried again after a pause, for as long as it takes
 * (an NFS hard mount), with a "not responding" / "OK" kernel message.
 */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/mempool.h>
#include <linux/netfs.h>
#include "internal.h"

static struct workqueue_struct *vdifs_io_wq;

/* a netfs subrequest with our state; netfs allocates it from our pool */
struct vdifs_subreq {
	struct netfs_io_subrequest sr;	/* first: netfs knows only this */
	loff_t isize;			/* read: i_size when it was issued */
	struct vdifs_io io;
};

static struct kmem_cache *vdifs_subreq_cachep;
static mempool_t vdifs_subreq_pool;

static void vdifs_read_step(struct vdifs_io *io, bool may_wait);
static void vdifs_write_step(struct vdifs_io *io, bool may_wait);

void vdifs_io_work(struct work_struct *work)
{
	struct vdifs_io *io = container_of(to_delayed_work(work),
					   struct vdifs_io, work);

	if (io->write)
		vdifs_write_step(io, true);
	else
		vdifs_read_step(io, true);
}

void vdifs_io_init(struct vdifs_io *io, struct inode *inode,
			  loff_t pos, size_t len, struct iov_iter *iter,
			  bool write,
			  void (*complete)(struct vdifs_io *io, int error))
{
	io->inode = inode;
	io->pos = pos;
	io->len = len;
	io->iter = iter;
	io->write = write;
	io->refused = false;
	io->have_layout = false;
	io->degrade = false;
	io->waited = false;
	io->plain = false;
	io->corrupt = false;
	io->tries = 0;
	/*
	 * Reads of a set kept in sync spread over its copies by MiB of the
	 * file: a large read draws on every server of the set at once, and
	 * a range goes back to the server that read it last (its cache).
	 * Async copies may lag the primary: it alone is read.  A copy taken
	 * out of the set is never read: the MDS tells it before the commit,
	 * or it is cut off from the MDS and its read lease has run out
	 * (servers/ds/lease.c).
	 */
	io->first = !write && VDIFS_I(inode)->params.repl_mode ==
		    VDIFS_REPL_SYNC ? (unsigned int)(pos / VDIFS_IO_MAX) : 0;
	io->replica = 0;
	io->error = -EIO;
	io->frozen = 0;
	io->start = jiffies;
	io->complete = complete;
}

static void vdifs_io_complete(struct vdifs_io *io, int ret);

/* read: the data server of this try (io->replica < io->chunk.nrep) */
static u32 vdifs_read_ds(const struct vdifs_io *io)
{
	return le32_to_cpu(io->chunk.ds[(io->first + io->replica) %
					io->chunk.nrep]);
}

/*
 * A soft mount gives up on I/O that has waited timeo for its servers
 * (EIO, as NFS's soft); a hard one waits on.
 */
static bool vdifs_io_give_up(struct vdifs_io *io)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(io->inode->i_sb);

	if (!vdifs_soft_expired(sbi, io->start))
		return false;
	pr_warn_ratelimited("vdifs: inode %lu: data servers not responding for %u s: giving up (soft)\n",
			    io->inode->i_ino, sbi->opts.timeo_ms / 1000);
	vdifs_io_complete(io, -EIO);
	return true;
}

/* go on in the work item, where waiting is allowed */
static void vdifs_io_defer(struct vdifs_io *io)
{
	queue_delayed_work(vdifs_io_wq, &io->work, 0);
}

/*
 * Every server of the set is alive as far as the MDS knows (or the MDS
 * itself did not answer), or (alloc) the MDS has no data servers to
 * place a new chunk on yet: try again in a while, as long as it takes.
 */
static void vdifs_io_pause(struct vdifs_io *io, bool alloc)
{
	if (vdifs_io_give_up(io))
		return;
	if (!io->waited && alloc)
		pr_warn_ratelimited("vdifs: inode %lu: no data servers to place a chunk on yet, still trying\n",
				    io->inode->i_ino);
	else if (!io->waited)
		pr_warn_ratelimited("vdifs: inode %lu: data server %u not responding, still trying\n",
				    io->inode->i_ino,
				    le32_to_cpu(io->chunk.ds[0]));
	io->waited = true;
	if (alloc) {
		memset(&io->chunk, 0, sizeof(io->chunk));
		memset(&io->cap, 0, sizeof(io->cap));
	}
	queue_delayed_work(vdifs_io_wq, &io->work, HZ);
}

/* a server was slow, and the I/O went through after all */
static void vdifs_io_resumed(struct vdifs_io *io)
{
	if (io->waited)
		pr_info_ratelimited("vdifs: inode %lu: data server %u OK\n",
				    io->inode->i_ino,
				    le32_to_cpu(io->chunk.ds[0]));
}

/* start io from the task that issues it */
void vdifs_io_start(struct vdifs_io *io)
{
	/* a netfs retry from a done(): the receive thread must not wait */
	if (vdifs_in_receive_thread())
		vdifs_io_defer(io);
	else if (io->write)
		vdifs_write_step(io, false);
	else
		vdifs_read_step(io, false);
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
	/* may sleep: fine anywhere a done() runs, never in atomic context */
	mark_inode_dirty(inode);
}

static void vdifs_io_complete(struct vdifs_io *io, int ret)
{
	if (!ret)
		vdifs_io_resumed(io);
	if (io->write) {
		if (ret && ret != -ENOSPC && ret != -EDQUOT && ret != -EFBIG) {
			pr_err_ratelimited("vdifs: inode %lu: write at %lld failed (%d)\n",
					   io->inode->i_ino, io->pos, ret);
			ret = -EIO;
		}
		if (!ret) {
			iov_iter_advance(io->iter, io->len);
			vdifs_wrote_to(io->inode, io->pos + io->len);
		}
	}
	io->complete(io, ret);
}

/* ---- reads ---- */

/*
 * The reply to a read.  Done: complete.  Anything that needs another
 * try (the next replica, a fresh layout) goes to the work item.
 */
static void vdifs_read_done(struct vdifs_req *req)
{
	struct vdifs_io *io = req->priv;
	int ret = req->status;

	/* a reply of another length than asked did not land in the pages */
	if (!ret && !req->rdest_filled)
		ret = -EPROTO;
	switch (ret) {
	case 0:
		iov_iter_advance(io->iter, io->len);
		vdifs_io_complete(io, 0);
		return;
	case -ENOENT:
		/*
		 * Allocated but not yet written reads as zeroes; but first
		 * make sure the layout itself is not stale.
		 */
		if (io->tries) {
			iov_iter_zero(io->len, io->iter);
			vdifs_io_complete(io, 0);
			return;
		}
		io->error = -ENXIO;	/* look again, as if stale */
		io->replica = io->chunk.nrep;
		break;
	case -EBADMSG:
		/*
		 * A block that did not match its own sum: rewritten while
		 * the server sent it, or bad on its disk.  Asked again the
		 * usual way, the server checks its copy itself (-EUCLEAN).
		 */
		if (!io->plain) {
			io->plain = true;
			break;
		}
		io->error = ret;
		io->replica++;
		break;
	case -EUCLEAN:
		pr_err_ratelimited("vdifs: inode %lu chunk %llu: data corrupt on data server %u\n",
				   io->inode->i_ino, (u64)io->pos /
				   le32_to_cpu(VDIFS_I(io->inode)->params.chunk_size),
				   vdifs_read_ds(io));
		/* the MDS has the copies checked and the bad one replaced */
		io->corrupt = true;
		io->error = -EIO;
		/* another copy of the set may be whole (sync: all equal) */
		if (VDIFS_I(io->inode)->params.repl_mode != VDIFS_REPL_SYNC)
			io->replica = io->chunk.nrep;
		else
			io->replica++;
		break;
	default:
		io->error = ret;
		if (vdifs_server_failed(ret))
			io->degrade = true;
		else
			io->replica++;
		break;
	}
	vdifs_io_defer(io);
}

/*
 * Move a read on: its layout, then its primary.  When a server fails,
 * the MDS is asked: a new set starts again at its primary; the same set
 * (all alive: the MDS has just said it is current, so every copy in it
 * is in sync) goes on to the next replica in sync mode, where replicas
 * hold what the primary acknowledged, and pauses once all were tried.
 * A layout that looked stale is fetched again.  may_wait: in the work
 * item, where the MDS may be asked; else (the issuer) only what needs no
 * more than room in the connection's window, the rest is deferred.
 */
static void vdifs_read_step(struct vdifs_io *io, bool may_wait)
{
	struct inode *inode = io->inode;
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	u64 cs = le32_to_cpu(VDIFS_I(inode)->params.chunk_size);
	u64 index = io->pos / cs;
	int ret;

	for (;;) {
		struct vdifs_conn *conn;
		struct vdifs_req *req;
		u32 ds;

		if (io->corrupt && io->have_layout) {
			if (!may_wait)
				goto defer;
			io->corrupt = false;
			vdifs_chunk_corrupt(inode, index, &io->chunk);
		}
		if (io->degrade && io->have_layout) {
			if (!may_wait)
				goto defer;
			io->degrade = false;
			ret = vdifs_chunk_degrade(inode, index, &io->chunk,
						  &io->cap);
			if (!ret) {
				io->replica = 0;
			} else if (ret == -EAGAIN &&
				   VDIFS_I(inode)->params.repl_mode ==
				   VDIFS_REPL_SYNC &&
				   io->replica + 1 < io->chunk.nrep) {
				io->replica++;
			} else if (ret == -EAGAIN || vdifs_server_failed(ret)) {
				io->replica = 0;
				vdifs_io_pause(io, false);
				return;
			} else if (ret == -ENOENT) {
				/* the chunk left the file: look again */
				vdifs_chunk_forget(inode, index);
				io->tries++;
				io->have_layout = false;
			} else {
				goto complete;
			}
		}
		if (!io->have_layout) {
			if (io->tries == VDIFS_IO_TRIES) {
				ret = io->error;
				goto complete;
			}
			if (may_wait) {
				ret = vdifs_chunk_lookup(inode, index, false,
							 &io->chunk, &io->cap);
				if (ret)
					goto complete;
			} else if (!vdifs_chunk_cached(inode, index, false,
						       &io->chunk, &io->cap)) {
				goto defer;
			}
			if (!io->chunk.chunk_id) {
				iov_iter_zero(io->len, io->iter);
				ret = 0;
				goto complete;
			}
			io->have_layout = true;
			io->replica = 0;
		}
		if (io->replica >= io->chunk.nrep) {
			/* no replica would: a fresh layout may help */
			if (!vdifs_layout_stale(io->error)) {
				ret = io->error;
				goto complete;
			}
			if (!may_wait)
				goto defer;
			vdifs_chunk_forget(inode, index);
			io->tries++;
			io->have_layout = false;
			continue;
		}
		ds = vdifs_read_ds(io);
		conn = may_wait ? vdifs_ds_conn(sbi, ds) :
				  vdifs_ds_conn_find(sbi, ds);
		if (!conn)
			goto defer;
		if (IS_ERR(conn)) {
			io->error = PTR_ERR(conn);
			io->degrade = true;
			continue;
		}
		req = vdifs_chunk_read_req(inode, &io->chunk, &io->cap,
					   io->pos % cs, io->len, io->iter,
					   !io->plain &&
					   (conn->features &
					    VDIFS_FEAT_READ_SUMS));
		if (IS_ERR(req)) {
			vdifs_conn_put(conn);
			ret = PTR_ERR(req);
			goto complete;
		}
		req->done = vdifs_read_done;
		req->priv = io;
		ret = vdifs_req_submit(conn, req);
		vdifs_conn_put(conn);
		vdifs_req_put(req);
		if (!ret)
			return;	/* done() goes on; io may be gone already */
		io->error = ret;
		io->degrade = true;
	}

complete:
	vdifs_io_complete(io, ret);
	return;
defer:
	vdifs_io_defer(io);
}

static void vdifs_subreq_read_complete(struct vdifs_io *io, int ret)
{
	struct vdifs_subreq *vs = container_of(io, struct vdifs_subreq, io);
	struct netfs_io_subrequest *subreq = &vs->sr;

	if (!ret) {
		subreq->transferred += io->len;
		if (subreq->rreq->origin != NETFS_DIO_READ)
			set_bit(NETFS_SREQ_CLEAR_TAIL, &subreq->flags);
		if (io->pos + io->len >= vs->isize)
			set_bit(NETFS_SREQ_HIT_EOF, &subreq->flags);
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

/*
 * netfs's issue_read, in the reading task (or a netfs retry): sends the
 * read and returns.  May sleep, for room in the connection's window.
 */
static void vdifs_issue_read(struct netfs_io_subrequest *subreq)
{
	struct vdifs_subreq *vs = container_of(subreq, struct vdifs_subreq, sr);
	struct inode *inode = subreq->rreq->inode;
	loff_t pos = subreq->start + subreq->transferred;
	size_t len = subreq->len - subreq->transferred;
	loff_t isize = i_size_read(inode);

	/* nothing past EOF: a direct read must come back short */
	if (pos >= isize)
		len = 0;
	else if (pos + len > isize)
		len = isize - pos;
	vs->isize = isize;
	vdifs_io_init(&vs->io, inode, pos, len, &subreq->io_iter, false,
		      vdifs_subreq_read_complete);
	INIT_DELAYED_WORK(&vs->io.work, vdifs_io_work);
	if (!len) {
		vdifs_subreq_read_complete(&vs->io, 0);
		return;
	}
	vdifs_io_start(&vs->io);
}

/* ---- writes ---- */

/*
 * The reply to a write: a stale layout or a failed server is taken care
 * of from the work item, and the write tried again.
 */
static void vdifs_write_done(struct vdifs_req *req)
{
	struct vdifs_io *io = req->priv;
	int ret = req->status;

	if (vdifs_server_failed(ret)) {
		io->degrade = true;
	} else if (vdifs_layout_stale(ret)) {
		io->refused = true;
	} else {
		vdifs_io_complete(io, ret);
		return;
	}
	io->error = ret;
	vdifs_io_defer(io);
}

/*
 * Move a write on: to the chunk's primary, which forwards it to the
 * replicas.  A chunk refusing the layout (frozen by a snapshot, moved)
 * has it refetched, forked by the MDS if still frozen, and tried again.
 * A failed server (the primary, or a replica the primary could not
 * reach) is the MDS's to take out of the set; the write is then sent
 * again, whole, to the new set's primary (the same bytes at the same
 * place: doing it twice is doing it once).  may_wait as for reads.
 */
static void vdifs_write_step(struct vdifs_io *io, bool may_wait)
{
	struct inode *inode = io->inode;
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	u64 cs = le32_to_cpu(VDIFS_I(inode)->params.chunk_size);
	u64 index = io->pos / cs;
	struct vdifs_conn *conn;
	struct vdifs_req *req;
	int ret;

	if (io->degrade) {
		if (!may_wait)
			goto defer;
		io->degrade = false;
		ret = vdifs_chunk_degrade(inode, index, &io->chunk, &io->cap);
		if (ret == -EAGAIN || vdifs_server_failed(ret)) {
			vdifs_io_pause(io, false);
			return;
		}
		if (ret == -ENOENT) {
			/* the chunk left the file: look again */
			io->refused = true;
		} else if (ret) {
			goto complete;
		}
	}
	if (io->refused) {
		if (!may_wait)
			goto defer;
		vdifs_chunk_refused(inode, index, &io->chunk, io->error,
				    &io->frozen);
		io->refused = false;
		io->tries++;
	}
	if (io->tries == VDIFS_IO_TRIES) {
		ret = io->error;
		goto complete;
	}
	if (may_wait) {
		ret = vdifs_chunk_lookup(inode, index, true, &io->chunk,
					 &io->cap);
		if (ret == -EAGAIN) {
			/* no servers to place it on yet (an MDS restart) */
			vdifs_io_pause(io, true);
			return;
		}
		if (ret)
			goto complete;
	} else if (!vdifs_chunk_cached(inode, index, true, &io->chunk,
				       &io->cap)) {
		goto defer;
	}
	conn = may_wait ? vdifs_ds_conn(sbi, le32_to_cpu(io->chunk.ds[0])) :
			  vdifs_ds_conn_find(sbi, le32_to_cpu(io->chunk.ds[0]));
	if (!conn)
		goto defer;
	if (IS_ERR(conn)) {
		ret = PTR_ERR(conn);
		if (!vdifs_server_failed(ret))
			goto complete;
		io->error = ret;
		io->degrade = true;
		goto defer;
	}
	req = vdifs_chunk_write_req(inode, &io->chunk, &io->cap, io->pos % cs,
				    io->len, io->iter);
	if (IS_ERR(req)) {
		vdifs_conn_put(conn);
		ret = PTR_ERR(req);
		goto complete;
	}
	req->done = vdifs_write_done;
	req->priv = io;
	ret = vdifs_req_submit(conn, req);
	vdifs_conn_put(conn);
	vdifs_req_put(req);
	if (!ret)
		return;		/* done() goes on; io may be gone already */
	if (vdifs_server_failed(ret)) {
		io->error = ret;
		io->degrade = true;
		goto defer;
	}

complete:
	vdifs_io_complete(io, ret);
	return;
defer:
	vdifs_io_defer(io);
}

static void vdifs_subreq_write_complete(struct vdifs_io *io, int ret)
{
	struct vdifs_subreq *vs = container_of(io, struct vdifs_subreq, io);

	/* a process context, never the softirq netfs's was_async means */
	netfs_write_subrequest_terminated(&vs->sr, ret ? ret : io->len, false);
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

/*
 * netfs's issue_write, in writeback or a direct writer: sends the write
 * and returns.  May sleep, for room in the connection's window: the
 * back-pressure that keeps writeback to what the server can finish.
 */
static void vdifs_issue_write(struct netfs_io_subrequest *subreq)
{
	struct vdifs_subreq *vs = container_of(subreq, struct vdifs_subreq, sr);

	vdifs_io_init(&vs->io, subreq->rreq->inode,
		      subreq->start + subreq->transferred,
		      subreq->len - subreq->transferred, &subreq->io_iter, true,
		      vdifs_subreq_write_complete);
	INIT_DELAYED_WORK(&vs->io.work, vdifs_io_work);
	vdifs_io_start(&vs->io);
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
	.subrequest_pool	= &vdifs_subreq_pool,
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

struct vdifs_sync_io {
	struct vdifs_io io;
	struct completion done;
	int ret;
};

static void vdifs_sync_io_complete(struct vdifs_io *io, int ret)
{
	struct vdifs_sync_io *s = container_of(io, struct vdifs_sync_io, io);

	s->ret = ret;
	complete(&s->done);	/* s is gone once the waiter wakes */
}

/* one piece of I/O that crosses no chunk, the way netfs's go, waited for */
static int vdifs_io_sync(struct inode *inode, loff_t pos, size_t len,
			 struct iov_iter *iter, bool write)
{
	struct vdifs_sync_io s;

	vdifs_io_init(&s.io, inode, pos, len, iter, write,
		      vdifs_sync_io_complete);
	INIT_DELAYED_WORK_ONSTACK(&s.io.work, vdifs_io_work);
	init_completion(&s.done);
	vdifs_io_start(&s.io);
	wait_for_completion(&s.done);
	destroy_delayed_work_on_stack(&s.io.work);
	return s.ret;
}

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
		ret = vdifs_io_sync(sin, spos, n, &it, false);
		if (ret)
			break;
		iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, n);
		ret = vdifs_io_sync(din, dpos, n, &it, true);
		if (ret)
			break;
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
			struct vdifs_chunk_cap cap;
			struct vdifs_chunk_req q;

			ret = vdifs_chunk_lookup(inode, index, false, &c, &cap);
			if (ret || !c.chunk_id)
				break;
			vdifs_chunk_req(inode, &c, &cap, &q, off, len);
			ret = vdifs_chunk_call(inode, index, &c, &cap,
					       VDIFS_OP_CHUNK_PUNCH, &q, NULL);
			/* never written, or gone: nothing to do */
			if (ret == -ENOENT)
				ret = 0;
			if (!vdifs_layout_stale(ret))
				break;
			vdifs_chunk_refused(inode, index, &c, ret, &frozen);
		}
		pos += len;
	}
	return ret;
}

/* ---- set-up ---- */

int __init vdifs_data_init(void)
{
	int ret;

	vdifs_subreq_cachep = kmem_cache_create("vdifs_subreq",
						sizeof(struct vdifs_subreq),
						0, SLAB_ACCOUNT, NULL);
	if (!vdifs_subreq_cachep)
		return -ENOMEM;
	/* writeback cannot fail to get a subrequest: netfs waits on this */
	ret = mempool_init_slab_pool(&vdifs_subreq_pool, 32,
				     vdifs_subreq_cachep);
	if (ret)
		goto out_cache;
	/* slow paths run here: they may wait for layouts and servers */
	vdifs_io_wq = alloc_workqueue("vdifs_io", WQ_UNBOUND | WQ_MEM_RECLAIM,
				      0);
	if (!vdifs_io_wq) {
		ret = -ENOMEM;
		goto out_pool;
	}
	ret = vdifs_direct_init();
	if (ret)
		goto out_wq;
	return 0;

out_wq:
	destroy_workqueue(vdifs_io_wq);
out_pool:
	mempool_exit(&vdifs_subreq_pool);
out_cache:
	kmem_cache_destroy(vdifs_subreq_cachep);
	return ret;
}

void vdifs_data_exit(void)
{
	vdifs_direct_exit();
	destroy_workqueue(vdifs_io_wq);
	mempool_exit(&vdifs_subreq_pool);
	kmem_cache_destroy(vdifs_subreq_cachep);
}
