// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs direct I/O (O_DIRECT: QEMU's cache=none) without netfs.
 *
 * A direct read or write is cut at chunk boundaries (and VDIFS_IO_MAX)
 * into pieces (struct vdifs_io, addr.c) that go to their data servers at
 * once; a piece's reply completes it in the connection's receive thread,
 * and the last piece completes the caller: an aio's ki_complete() from
 * there, a synchronous caller woken.  That is what fs/ceph and fs/nfs do
 * with their own direct paths.  netfs's unbuffered path builds a request,
 * a rolling buffer and subrequests for the same, and hands every write's
 * completion to a work item (its write collector): for the 4 KiB writes
 * of a desktop's disk, a thread switch and a request's bookkeeping more
 * per write.  Buffered I/O stays netfs's; the two keep out of each
 * other's way through netfs's own direct-I/O locking, as netfs's
 * unbuffered path does, and in-flight direct I/O is counted for
 * inode_dio_wait() (truncate, remap).
 *
 * What is unusual goes to netfs still: IOCB_NOWAIT, and a write starting
 * past the end of the file (netfs clears stale page-cache data between).
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/netfs.h>
#include "internal.h"

/*
 * One direct read or write.  pending counts its pieces in flight and
 * one more while they are being issued; whoever drops the last finishes
 * it.  lock protects error and err_pos, which the pieces' completions
 * (receive threads, work items) set concurrently.
 */
struct vdifs_dio {
	struct kiocb *iocb;		/* NULL: a synchronous caller waits */
	struct inode *inode;
	loff_t pos;
	size_t len;
	bool write;
	struct iov_iter iter;		/* the data: pinned pages, or kernel's */
	struct bio_vec *bv;		/* the pinned pages of a user buffer */
	unsigned int nbv;
	bool unpin;
	atomic_t pending;
	spinlock_t lock;
	int error;			/* the failure at err_pos */
	loff_t err_pos;			/* the first byte of a failed piece */
	struct completion done;		/* a synchronous caller's */
	ssize_t result;
};

struct vdifs_dio_piece {
	struct vdifs_dio *dio;
	struct iov_iter iter;		/* its part of dio->iter */
	struct vdifs_io io;
};

static struct kmem_cache *vdifs_dio_piece_cachep;

/* bytes done from the start (all, or up to the first failed piece) */
static ssize_t vdifs_dio_result(struct vdifs_dio *dio)
{
	size_t done = dio->err_pos - dio->pos;

	if (!dio->error)
		return dio->len;
	return done ? done : dio->error;
}

static void vdifs_dio_finish(struct vdifs_dio *dio)
{
	struct kiocb *iocb = dio->iocb;
	ssize_t ret = vdifs_dio_result(dio);
	unsigned int i;

	if (dio->unpin) {
		/* a read's pages were written to: dirty them (as bios do) */
		for (i = 0; i < dio->nbv; i++)
			unpin_user_pages_dirty_lock(&dio->bv[i].bv_page, 1,
						    !dio->write);
	}
	kvfree(dio->bv);
	inode_dio_end(dio->inode);
	if (!iocb) {
		dio->result = ret;
		complete(&dio->done);	/* dio is the waiter's again */
		return;
	}
	if (ret > 0)
		iocb->ki_pos += ret;
	kfree(dio);
	iocb->ki_complete(iocb, ret);
}

static void vdifs_dio_put(struct vdifs_dio *dio)
{
	if (atomic_dec_and_test(&dio->pending))
		vdifs_dio_finish(dio);
}

/* a piece's end: in a receive thread or the I/O work item; may sleep */
static void vdifs_dio_piece_done(struct vdifs_io *io, int ret)
{
	struct vdifs_dio_piece *p = container_of(io, struct vdifs_dio_piece,
						 io);
	struct vdifs_dio *dio = p->dio;

	if (ret) {
		spin_lock(&dio->lock);
		if (io->pos < dio->err_pos) {
			dio->err_pos = io->pos;
			dio->error = ret;
		}
		spin_unlock(&dio->lock);
	}
	kmem_cache_free(vdifs_dio_piece_cachep, p);
	vdifs_dio_put(dio);
}

/*
 * A write's pieces are at most this long: a data server checks a piece's
 * sums as it reads it and writes it once it has all of it, so a 1 MiB
 * piece has it do one after the other; 256 KiB pieces in flight together
 * let it read the next while a worker writes the one before (a lone
 * writer, dd or a guest with one write outstanding, gets the overlap).
 */
#define VDIFS_DIO_WRITE_PIECE	(256u << 10)

/*
 * Issue dio's pieces, then wait for them (a synchronous caller) or leave
 * them to complete the iocb.  Pieces whose allocation fails fail alone,
 * as a piece whose server fails would.
 */
static ssize_t vdifs_dio_run(struct vdifs_dio *dio)
{
	struct inode *inode = dio->inode;
	u64 cs = le32_to_cpu(VDIFS_I(inode)->params.chunk_size);
	u32 most = dio->write ? VDIFS_DIO_WRITE_PIECE : VDIFS_IO_MAX;
	struct iov_iter it = dio->iter;
	loff_t pos = dio->pos;
	size_t left = dio->len;
	ssize_t ret;

	atomic_set(&dio->pending, 1);
	while (left) {
		size_t n = min_t(u64, left, min_t(u64, most, cs - pos % cs));
		struct vdifs_dio_piece *p;

		p = kmem_cache_alloc(vdifs_dio_piece_cachep, GFP_NOFS);
		if (!p) {
			spin_lock(&dio->lock);
			if (pos < dio->err_pos) {
				dio->err_pos = pos;
				dio->error = -ENOMEM;
			}
			spin_unlock(&dio->lock);
			break;
		}
		p->dio = dio;
		p->iter = it;
		iov_iter_truncate(&p->iter, n);
		iov_iter_advance(&it, n);
		vdifs_io_init(&p->io, inode, pos, n, &p->iter, dio->write,
			      vdifs_dio_piece_done);
		INIT_DELAYED_WORK(&p->io.work, vdifs_io_work);
		atomic_inc(&dio->pending);
		vdifs_io_start(&p->io);
		pos += n;
		left -= n;
	}
	if (dio->iocb) {
		vdifs_dio_put(dio);
		return -EIOCBQUEUED;
	}
	vdifs_dio_put(dio);
	wait_for_completion(&dio->done);
	ret = dio->result;
	kfree(dio);
	return ret;
}

/*
 * Take the caller's buffer for as long as the pieces need it: a user
 * buffer's pages pinned (an aio's iterator is gone once we return), a
 * kernel iterator as it is (its pages are the caller's until it is
 * completed, as netfs assumes too).  The iterator moves past what was
 * taken; returns the bytes taken or -errno.
 */
static ssize_t vdifs_dio_take(struct vdifs_dio *dio, struct iov_iter *iter,
			      size_t len)
{
	ssize_t n;

	if (user_backed_iter(iter)) {
		n = netfs_extract_user_iter(iter, len, &dio->iter, 0);
		if (n < 0)
			return n;
		dio->bv = (struct bio_vec *)dio->iter.bvec;
		dio->nbv = n;
		dio->unpin = iov_iter_extract_will_pin(iter);
		return iov_iter_count(&dio->iter);
	}
	dio->iter = *iter;
	iov_iter_truncate(&dio->iter, len);
	iov_iter_advance(iter, len);
	return len;
}

static struct vdifs_dio *vdifs_dio_alloc(struct kiocb *iocb, size_t len,
					 bool write)
{
	struct vdifs_dio *dio = kzalloc(sizeof(*dio), GFP_NOFS);
	bool wait = is_sync_kiocb(iocb);

	if (!dio)
		return NULL;
	/*
	 * An O_DSYNC write is waited for whatever the caller when it ends
	 * past the size the MDS has, so that the size it reaches is there
	 * before it completes (vdifs_direct_write()); one inside it is
	 * durable once its data servers answer, and completes from there.
	 * O_SYNC wants the new mtime there too: always waited for.
	 */
	if (write && iocb_is_dsync(iocb) &&
	    ((iocb->ki_flags & IOCB_SYNC) ||
	     !vdifs_size_covers(file_inode(iocb->ki_filp),
				iocb->ki_pos + len)))
		wait = true;
	dio->iocb = wait ? NULL : iocb;
	dio->inode = file_inode(iocb->ki_filp);
	dio->pos = iocb->ki_pos;
	dio->write = write;
	dio->err_pos = LLONG_MAX;
	spin_lock_init(&dio->lock);
	init_completion(&dio->done);
	return dio;
}

static ssize_t vdifs_dio_go(struct kiocb *iocb, struct iov_iter *iter,
			    size_t len, bool write)
{
	struct vdifs_dio *dio = vdifs_dio_alloc(iocb, len, write);
	ssize_t ret;

	if (!dio)
		return -ENOMEM;
	ret = vdifs_dio_take(dio, iter, len);
	if (ret <= 0) {
		kfree(dio);
		return ret;
	}
	dio->len = ret;
	inode_dio_begin(dio->inode);
	ret = vdifs_dio_run(dio);
	if (ret > 0)		/* waited for (an aio's is -EIOCBQUEUED) */
		iocb->ki_pos += ret;
	return ret;
}

ssize_t vdifs_direct_read(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	size_t len = iov_iter_count(to);
	loff_t isize;
	ssize_t ret;

	if (!len)
		return 0;	/* no atime */
	if (iocb->ki_flags & IOCB_NOWAIT)
		return netfs_unbuffered_read_iter(iocb, to);
	ret = netfs_start_io_direct(inode);
	if (ret)
		return ret;
	ret = kiocb_write_and_wait(iocb, len);
	if (ret < 0)
		goto out;
	file_accessed(iocb->ki_filp);
	/* nothing past EOF: a direct read comes back short */
	isize = i_size_read(inode);
	ret = 0;
	if (iocb->ki_pos >= isize)
		goto out;
	ret = vdifs_dio_go(iocb, to, min_t(u64, len, isize - iocb->ki_pos),
			   false);
out:
	netfs_end_io_direct(inode);
	return ret;
}

ssize_t vdifs_direct_write(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct netfs_inode *ictx = netfs_inode(inode);
	loff_t pos, end;
	ssize_t ret;

	if (!iov_iter_count(from))
		return 0;
	if (iocb->ki_flags & IOCB_NOWAIT)
		goto netfs;
	ret = netfs_start_io_direct(inode);
	if (ret)
		return ret;
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto out;
	ret = file_remove_privs(file);
	if (ret < 0)
		goto out;
	ret = file_update_time(file);
	if (ret < 0)
		goto out;
	/* the checks may have moved ki_pos (O_APPEND) and cut the length */
	pos = iocb->ki_pos;
	end = pos + iov_iter_count(from);
	if (pos > i_size_read(inode)) {
		/* checked again there: idempotent */
		netfs_end_io_direct(inode);
		goto netfs;
	}
	/* buffered data of the range first, then out of the cache */
	ret = filemap_write_and_wait_range(inode->i_mapping, pos, end - 1);
	if (ret < 0)
		goto out;
	ret = filemap_invalidate_inode(inode, true, pos, end - 1);
	if (ret < 0)
		goto out;
	/* netfs reads past zero_point as zeroes without asking: not now */
	if (end > ictx->zero_point)
		ictx->zero_point = end;
	ret = vdifs_dio_go(iocb, from, end - pos, true);
out:
	netfs_end_io_direct(inode);
sync:
	/* data servers answered once it was stable: the size to the MDS */
	if (ret > 0)
		ret = generic_write_sync(iocb, ret);
	return ret;

netfs:
	/*
	 * netfs's path does not sync an O_DSYNC write's size either, and
	 * completes an aio without us: one that must be synced is waited
	 * for, as a synchronous call of its own, and answered at once.
	 */
	if (iocb_is_dsync(iocb) && !is_sync_kiocb(iocb)) {
		struct kiocb wait;

		init_sync_kiocb(&wait, file);
		wait.ki_pos = iocb->ki_pos;
		wait.ki_flags = iocb->ki_flags;
		ret = netfs_unbuffered_write_iter(&wait, from);
		iocb->ki_pos = wait.ki_pos;
	} else {
		ret = netfs_unbuffered_write_iter(iocb, from);
	}
	goto sync;
}

int __init vdifs_direct_init(void)
{
	vdifs_dio_piece_cachep = KMEM_CACHE(vdifs_dio_piece, SLAB_ACCOUNT);
	return vdifs_dio_piece_cachep ? 0 : -ENOMEM;
}

void vdifs_direct_exit(void)
{
	kmem_cache_destroy(vdifs_dio_piece_cachep);
}
