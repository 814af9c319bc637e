// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs regular files: open/close consistency, read/write through netfs
 * (buffered, O_DIRECT, mmap), fsync, fallocate, SEEK_DATA/SEEK_HOLE.
 */
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/netfs.h>
#include "internal.h"

static int vdifs_file_open(struct inode *inode, struct file *file)
{
	int ret;

	/* snapshots are read-only, whatever their mode says */
	if ((file->f_mode & FMODE_WRITE) &&
	    (VDIFS_I(inode)->flags & VDIFS_ATTR_SNAPSHOT))
		return -EROFS;
	/* close-to-open: see what others wrote and closed before */
	ret = vdifs_revalidate(inode, true);
	if (!ret)
		atomic_inc(&VDIFS_I(inode)->opens);
	return ret;
}

static int vdifs_file_release(struct inode *inode, struct file *file)
{
	if (atomic_dec_and_test(&VDIFS_I(inode)->opens))
		vdifs_silly_release(inode);
	return 0;
}

/* close: our writes become visible to the next opener anywhere */
static int vdifs_file_flush(struct file *file, fl_owner_t id)
{
	struct inode *inode = file_inode(file);
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return 0;
	ret = filemap_write_and_wait(inode->i_mapping);
	if (!ret)
		ret = vdifs_sync_size(inode);
	return ret;
}

static ssize_t vdifs_file_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	if (iocb->ki_flags & IOCB_DIRECT)
		return vdifs_direct_read(iocb, to);
	return netfs_file_read_iter(iocb, to);
}

static ssize_t vdifs_file_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	int ret;

	/* appending after another client: its size first */
	if (iocb->ki_flags & IOCB_APPEND) {
		ret = vdifs_revalidate(inode, true);
		if (ret)
			return ret;
	}
	if (iocb->ki_flags & IOCB_DIRECT)
		return vdifs_direct_write(iocb, from);
	return netfs_file_write_iter(iocb, from);
}

static int vdifs_fsync(struct file *file, loff_t start, loff_t end,
		       int datasync)
{
	struct inode *inode = file_inode(file);
	int ret;

	/*
	 * Data servers acknowledge a write only once it is stable on every
	 * replica its mode requires, so once writeback is done the data is
	 * durable; what remains is the size on the MDS (durable on reply).
	 * fdatasync() (and every O_DSYNC write) needs it only when the MDS
	 * has a smaller one: the new mtime and change counter follow with
	 * the inode's writeback.  An image rewritten in place then syncs
	 * with the data servers alone, and on while the MDS is away.
	 */
	ret = file_write_and_wait_range(file, start, end);
	if (ret)
		return ret;
	if (datasync && !vdifs_size_ahead(inode))
		return 0;
	return vdifs_sync_size(inode);
}

static vm_fault_t vdifs_page_mkwrite(struct vm_fault *vmf)
{
	return netfs_page_mkwrite(vmf, NULL);
}

static const struct vm_operations_struct vdifs_vm_ops = {
	.fault		= filemap_fault,
	.map_pages	= filemap_map_pages,
	.page_mkwrite	= vdifs_page_mkwrite,
};

static int vdifs_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	int ret = generic_file_mmap(file, vma);

	if (!ret)
		vma->vm_ops = &vdifs_vm_ops;
	return ret;
}

static int vdifs_set_size(struct inode *inode, loff_t size)
{
	struct iattr attr = { .ia_valid = ATTR_SIZE, .ia_size = size };
	struct dentry *dentry = d_find_any_alias(inode);
	int ret;

	if (!dentry)
		return -ENOENT;
	ret = inode->i_op->setattr(&nop_mnt_idmap, dentry, &attr);
	dput(dentry);
	return ret;
}

static long vdifs_fallocate(struct file *file, int mode, loff_t offset,
			    loff_t len)
{
	struct inode *inode = file_inode(file);
	u64 cs = le32_to_cpu(VDIFS_I(inode)->params.chunk_size);
	loff_t end = offset + len, size;
	int ret;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		     FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (!cs)
		return -EIO;
	inode_lock(inode);
	inode_dio_wait(inode);
	ret = file_modified(file);
	if (ret)
		goto out_unlock;
	size = i_size_read(inode);
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		loff_t pend = (mode & FALLOC_FL_PUNCH_HOLE) ? min(end, size) :
			      end;

		ret = filemap_write_and_wait_range(inode->i_mapping, offset,
						   end - 1);
		if (ret)
			goto out_unlock;
		truncate_pagecache_range(inode, offset, end - 1);
		if (pend > offset)
			ret = vdifs_punch_range(inode, offset, pend);
	} else {
		/* allocate: give the range its chunks now */
		u64 i;

		for (i = offset / cs; !ret && i <= (end - 1) / cs; i++) {
			struct vdifs_chunk c;

			ret = vdifs_chunk_lookup(inode, i, true, &c, NULL);
			/* the MDS waits for its data servers (a restart) */
			while (ret == -EAGAIN) {
				if (msleep_interruptible(1000) &&
				    fatal_signal_pending(current)) {
					ret = -EINTR;
					break;
				}
				ret = vdifs_chunk_lookup(inode, i, true, &c,
							 NULL);
			}
		}
	}
	if (!ret && !(mode & FALLOC_FL_KEEP_SIZE) && end > size)
		ret = vdifs_set_size(inode, end);
	if (!ret)
		inode_set_mtime_to_ts(inode, inode_set_ctime_current(inode));
out_unlock:
	inode_unlock(inode);
	return ret;
}

/*
 * SEEK_DATA / SEEK_HOLE: holes are chunks never allocated and extents the
 * data server's map shows empty; dirty pages are written back first so
 * the servers' maps are the whole truth.
 */
static loff_t vdifs_seek_data_hole(struct file *file, loff_t offset,
				   int whence)
{
	struct inode *inode = file_inode(file);
	u64 cs = le32_to_cpu(VDIFS_I(inode)->params.chunk_size);
	bool want_data = whence == SEEK_DATA, retried = false;
	loff_t size, pos;
	int ret;

	ret = filemap_write_and_wait(inode->i_mapping);
	if (!ret)
		ret = vdifs_sync_size(inode);
	if (!ret)
		ret = vdifs_revalidate(inode, true);
	if (ret)
		return ret;
	/* holes are answered from the layout: take the MDS's current one */
	vdifs_layout_drop(VDIFS_I(inode));
	size = i_size_read(inode);
	if (offset < 0 || offset >= size)
		return -ENXIO;
	pos = offset;
	while (pos < size) {
		struct vdifs_chunk c;
		struct vdifs_chunk_cap cap;
		struct vdifs_chunk_req q = { 0 };
		const struct vdifs_chunk_map_rep *mr;
		struct vdifs_req *req;
		u64 index = pos / cs, es, e, ne;
		loff_t cstart = index * cs;

		ret = vdifs_chunk_lookup(inode, index, false, &c, &cap);
		if (ret)
			return ret;
		if (!c.chunk_id) {
			if (!want_data)
				return pos;
			pos = cstart + cs;
			continue;
		}
		ret = vdifs_chunk_call(inode, index, &c, &cap,
				       VDIFS_OP_CHUNK_MAP, &q, &req);
		if (ret == -ENOENT && !retried) {
			/* a stale layout, or a chunk never written: ask again */
			vdifs_layout_drop(VDIFS_I(inode));
			retried = true;
			continue;
		}
		retried = false;
		if (ret == -ENOENT) {	/* allocated, never written */
			if (!want_data)
				return pos;
			pos = cstart + cs;
			continue;
		}
		if (ret)
			return ret;
		mr = req->rbody.fixed;
		es = le32_to_cpu(mr->extent_size);
		ne = (u64)req->rbody.tail_len[0] * 8;
		if (!es) {
			vdifs_req_put(req);
			return -EPROTO;
		}
		for (e = (pos - cstart) / es; e < cs / es; e++) {
			bool has = e < ne &&
				   (req->rbody.tail[0][e / 8] & (1 << (e % 8)));

			if (has == want_data) {
				loff_t at = max_t(loff_t, pos, cstart + e * es);

				vdifs_req_put(req);
				return min(at, size);
			}
		}
		vdifs_req_put(req);
		pos = cstart + cs;
	}
	return want_data ? -ENXIO : size;
}

static loff_t vdifs_file_llseek(struct file *file, loff_t offset, int whence)
{
	struct inode *inode = file_inode(file);
	loff_t ret;

	switch (whence) {
	case SEEK_DATA:
	case SEEK_HOLE:
		inode_lock_shared(inode);
		ret = vdifs_seek_data_hole(file, offset, whence);
		inode_unlock_shared(inode);
		if (ret < 0)
			return ret;
		return vfs_setpos(file, ret, inode->i_sb->s_maxbytes);
	case SEEK_END:
		ret = vdifs_revalidate(inode, false);
		if (ret)
			return ret;
		fallthrough;
	default:
		return generic_file_llseek(file, offset, whence);
	}
}

const struct file_operations vdifs_file_fops = {
	.open		= vdifs_file_open,
	.release	= vdifs_file_release,
	.flush		= vdifs_file_flush,
	.llseek		= vdifs_file_llseek,
	.read_iter	= vdifs_file_read_iter,
	.write_iter	= vdifs_file_write_iter,
	.mmap		= vdifs_file_mmap,
	.fsync		= vdifs_fsync,
	.fallocate	= vdifs_fallocate,
	.splice_read	= filemap_splice_read,
	.splice_write	= iter_file_splice_write,
	.unlocked_ioctl	= vdifs_ioctl,
#ifdef CONFIG_COMPAT
	.compat_ioctl	= vdifs_compat_ioctl,
#endif
	.remap_file_range = vdifs_remap_file_range,
	.fop_flags	= FOP_DIO_PARALLEL_WRITE,
};
