// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs ioctls: snapshots, clones, space accounting, layout parameters,
 * and FICLONE (cp --reflink) as a whole-file clone.
 *
 * Before a snapshot or clone the source's dirty pages are written back,
 * so the snapshot holds every write acknowledged to an application before
 * the ioctl, including those still in this client's page cache.  After
 * one, the cached chunk layout is dropped: the file now continues in new
 * chunks (another client's stale layout is refused by the data servers
 * and refreshed, see addr.c).
 */
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/compat.h>
#include <linux/fs_struct.h>
#include "internal.h"

static int vdifs_ioc_name(const char *name, size_t *len)
{
	size_t n = strnlen(name, VDIFS_IOC_NAME_MAX);

	if (n == VDIFS_IOC_NAME_MAX)
		return -ENAMETOOLONG;
	*len = n;
	return wire_check_name((const u8 *)name, n);
}

static bool vdifs_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/* write back and tell the MDS the size: the server must see it all */
static int vdifs_flush_all(struct inode *inode)
{
	int ret = filemap_write_and_wait(inode->i_mapping);

	if (!ret)
		ret = vdifs_sync_size(inode);
	return ret;
}

/*
 * The file's content was replaced (revert, FICLONE onto it) with its pages
 * dropped, under i_rwsem and after a flush: the server's size is the size,
 * whatever this client had.
 */
static void vdifs_apply_replaced(struct inode *inode, struct vdifs_req *req)
{
	const struct vdifs_attr_rep *rep = req->rbody.fixed;
	struct vdifs_inode *vi = VDIFS_I(inode);

	spin_lock(&vi->size_lock);
	vi->size_dirty = false;
	vi->size_gen++;
	vi->change = 0;
	spin_unlock(&vi->size_lock);
	vdifs_apply_attr(inode, &rep->attr);
}

/*
 * Deleting a file's snapshot or reverting the file changes it: the
 * caller needs the file open for writing, and write permission.
 */
static int vdifs_ioc_may_change(struct file *file, struct inode *inode)
{
	int ret = inode_permission(file_mnt_idmap(file), inode, MAY_WRITE);

	if (!ret && !(file->f_mode & FMODE_WRITE))
		ret = -EBADF;
	return ret;
}

static long vdifs_ioc_snap(struct file *file, unsigned int cmd,
			   void __user *arg)
{
	struct inode *inode = file_inode(file);
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_snap_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
	};
	struct vdifs_ioc_snap *a;
	struct vdifs_req *req = NULL;
	size_t nl;
	u64 before;
	u16 op;
	long ret;

	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	a = memdup_user(arg, sizeof(*a));
	if (IS_ERR(a))
		return PTR_ERR(a);
	ret = vdifs_ioc_name(a->name, &nl);
	if (ret)
		goto out_free;
	if (!vdifs_zero(a->reserved, sizeof(a->reserved))) {
		ret = -EINVAL;
		goto out_free;
	}
	switch (cmd) {
	case VDIFS_IOC_SNAP_CREATE:
		/* the snapshot area is the owner's: read it, own it */
		op = VDIFS_OP_SNAP_CREATE;
		ret = inode_permission(file_mnt_idmap(file), inode, MAY_READ);
		if (!ret && !inode_owner_or_capable(file_mnt_idmap(file),
						    inode))
			ret = -EPERM;
		break;
	case VDIFS_IOC_SNAP_DELETE:
		op = VDIFS_OP_SNAP_DELETE;
		ret = vdifs_ioc_may_change(file, inode);
		break;
	default:
		op = VDIFS_OP_SNAP_REVERT;
		ret = vdifs_ioc_may_change(file, inode);
		break;
	}
	if (ret)
		goto out_free;
	ret = mnt_want_write_file(file);
	if (ret)
		goto out_free;
	inode_lock(inode);
	inode_dio_wait(inode);
	ret = vdifs_flush_all(inode);
	if (ret)
		goto out_unlock;
	before = vdifs_change_seen(inode);
	q.name_len = cpu_to_le16(nl);
	ret = vdifs_call(sbi->mds, op, &q, sizeof(q), a->name, nl, NULL, 0,
			 op == VDIFS_OP_SNAP_DELETE ? NULL : &req);
	if (ret)
		goto out_unlock;
	vdifs_layout_drop(VDIFS_I(inode));
	if (op == VDIFS_OP_SNAP_CREATE) {
		const struct vdifs_attr_rep *rep = req->rbody.fixed;

		a->ino = le64_to_cpu(rep->attr.ino);
		if (copy_to_user(arg, a, sizeof(*a)))
			ret = -EFAULT;
		/* the snapshot is made: a failed refresh only costs the cache */
		vdifs_revalidate_own(inode, before);
	} else if (op == VDIFS_OP_SNAP_REVERT) {
		/* the content changed under the cache: drop it whole */
		truncate_pagecache(inode, 0);
		vdifs_apply_replaced(inode, req);
	}
	vdifs_req_put(req);
out_unlock:
	inode_unlock(inode);
	mnt_drop_write_file(file);
out_free:
	kfree(a);
	return ret;
}

static long vdifs_ioc_snap_list(struct file *file, void __user *arg)
{
	struct inode *inode = file_inode(file);
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_snap_list_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
		.max_bytes = cpu_to_le32(32768),
	};
	struct vdifs_ioc_snap_list a;
	struct vdifs_ioc_snap_ent __user *out;
	struct vdifs_ioc_snap_ent *e;
	u32 filled = 0;
	long ret;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if (!vdifs_zero(a.reserved, sizeof(a.reserved)) || a.count > 1024)
		return -EINVAL;
	ret = inode_permission(file_mnt_idmap(file), inode, MAY_READ);
	if (ret)
		return ret;
	out = u64_to_user_ptr(a.entries);
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	a.eof = 0;
	while (filled < a.count && !a.eof) {
		const struct vdifs_list_rep *lr;
		struct wire_rec_iter it;
		struct vdifs_req *req;
		const void *rec;
		const u8 *name;
		u16 nl;

		q.cookie = cpu_to_le64(a.cookie);
		ret = vdifs_call(sbi->mds, VDIFS_OP_SNAP_LIST, &q, sizeof(q),
				 NULL, 0, NULL, 0, &req);
		if (ret)
			goto out_free;
		lr = req->rbody.fixed;
		a.eof = le32_to_cpu(lr->eof) || !le32_to_cpu(lr->count);
		wire_rec_iter_init(&it, &req->rbody, 0, VDIFS_OP_SNAP_LIST);
		while (filled < a.count &&
		       wire_rec_next(&it, &rec, &name, &nl) > 0) {
			const struct vdifs_snap_ent *s = rec;

			memset(e, 0, sizeof(*e));
			e->ino = le64_to_cpu(s->ino);
			e->size = le64_to_cpu(s->size);
			e->ctime_ns = (s64)le64_to_cpu(s->ctime_ns);
			e->cookie = le64_to_cpu(s->cookie);
			memcpy(e->name, name, min_t(u16, nl,
						    VDIFS_IOC_NAME_MAX - 1));
			if (copy_to_user(&out[filled], e, sizeof(*e))) {
				vdifs_req_put(req);
				ret = -EFAULT;
				goto out_free;
			}
			a.cookie = e->cookie;
			filled++;
		}
		/* stopped early for room: more may follow */
		if (filled == a.count && it.left)
			a.eof = 0;
		vdifs_req_put(req);
	}
	a.count = filled;
	ret = copy_to_user(arg, &a, sizeof(a)) ? -EFAULT : 0;
out_free:
	kfree(e);
	return ret;
}

static long vdifs_ioc_clone(struct file *file, void __user *arg)
{
	struct inode *inode = file_inode(file);
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_clone_req q = { 0 };
	struct vdifs_ioc_clone *a;
	struct inode *dir;
	struct fd dfd;
	struct path dpath;
	struct dentry *d;
	struct qstr qn;
	size_t nl;
	u64 before;
	long ret;

	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	a = memdup_user(arg, sizeof(*a));
	if (IS_ERR(a))
		return PTR_ERR(a);
	ret = vdifs_ioc_name(a->name, &nl);
	if (!ret && (a->flags || !vdifs_zero(a->reserved, sizeof(a->reserved))))
		ret = -EINVAL;
	if (ret)
		goto out_free;
	if (a->dst_dirfd == AT_FDCWD) {
		get_fs_pwd(current->fs, &dpath);
	} else {
		dfd = fdget(a->dst_dirfd);
		if (!fd_file(dfd)) {
			ret = -EBADF;
			goto out_free;
		}
		dpath = fd_file(dfd)->f_path;
		path_get(&dpath);
		fdput(dfd);
	}
	dir = d_inode(dpath.dentry);
	if (!S_ISDIR(dir->i_mode)) {
		ret = -ENOTDIR;
		goto out_path;
	}
	if (dir->i_sb != inode->i_sb) {
		ret = -EXDEV;
		goto out_path;
	}
	/* read the source, write the target directory */
	ret = inode_permission(file_mnt_idmap(file), inode, MAY_READ);
	if (!ret)
		ret = inode_permission(mnt_idmap(dpath.mnt), dir,
				       MAY_WRITE | MAY_EXEC);
	if (ret)
		goto out_path;
	ret = mnt_want_write(dpath.mnt);
	if (ret)
		goto out_path;
	inode_lock(inode);
	ret = vdifs_flush_all(inode);
	before = vdifs_change_seen(inode);
	if (!ret) {
		q.vol = cpu_to_le32(sbi->vol);
		q.ino = cpu_to_le64(inode->i_ino);
		q.parent = cpu_to_le64(dir->i_ino);
		q.name_len = cpu_to_le16(nl);
		q.uid = cpu_to_le32(from_kuid(&init_user_ns, current_fsuid()));
		q.gid = cpu_to_le32(from_kgid(&init_user_ns, current_fsgid()));
		ret = vdifs_call(sbi->mds, VDIFS_OP_CLONE, &q, sizeof(q),
				 a->name, nl, NULL, 0, NULL);
	}
	if (!ret) {
		vdifs_layout_drop(VDIFS_I(inode));
		vdifs_revalidate_own(inode, before);
	}
	inode_unlock(inode);
	if (!ret) {
		/* a cached "no such name" in the target is wrong now */
		qn = (struct qstr)QSTR_INIT(a->name, nl);
		d = d_hash_and_lookup(dpath.dentry, &qn);
		if (!IS_ERR_OR_NULL(d)) {
			d_invalidate(d);
			dput(d);
		}
		VDIFS_I(dir)->attr_time = 0;
	}
	mnt_drop_write(dpath.mnt);
out_path:
	path_put(&dpath);
out_free:
	kfree(a);
	return ret;
}

static long vdifs_ioc_space(struct file *file, void __user *arg)
{
	struct inode *inode = file_inode(file);
	u64 cs = le32_to_cpu(VDIFS_I(inode)->params.chunk_size);
	struct vdifs_ioc_space s = { 0 };
	u64 i, nchunks;
	long ret;

	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	ret = inode_permission(file_mnt_idmap(file), inode, MAY_READ);
	if (!ret)
		ret = vdifs_flush_all(inode);
	if (!ret)
		ret = vdifs_revalidate(inode, true);
	if (ret)
		return ret;
	if (!cs)
		return -EIO;
	s.logical = i_size_read(inode);
	nchunks = DIV_ROUND_UP(s.logical, cs);
	for (i = 0; i < nchunks; i++) {
		struct vdifs_chunk c;
		struct vdifs_chunk_cap cap;
		struct vdifs_chunk_req q = { 0 };
		const struct vdifs_chunk_stat *st;
		struct vdifs_req *req;
		u64 es;

		if (fatal_signal_pending(current))
			return -EINTR;
		ret = vdifs_chunk_lookup(inode, i, false, &c, &cap);
		if (ret)
			return ret;
		if (!c.chunk_id)
			continue;
		s.chunks++;
		ret = vdifs_chunk_call(inode, i, &c, &cap, VDIFS_OP_CHUNK_STAT,
				       &q, &req);
		if (ret == -ENOENT)	/* allocated, never written */
			continue;
		if (ret)
			return ret;
		st = req->rbody.fixed;
		es = le32_to_cpu(st->extent_size);
		s.allocated += es * le32_to_cpu(st->map_extents);
		s.unique += es * le32_to_cpu(st->excl_extents);
		vdifs_req_put(req);
	}
	s.shared = s.allocated - s.unique;
	return copy_to_user(arg, &s, sizeof(s)) ? -EFAULT : 0;
}

static long vdifs_ioc_layout(struct file *file, unsigned int cmd,
			     void __user *arg)
{
	struct inode *inode = file_inode(file);
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_layout_set_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
	};
	struct vdifs_ioc_layout l;
	struct vdifs_req *req;
	long ret;

	if (cmd == VDIFS_IOC_GETLAYOUT) {
		ret = vdifs_revalidate(inode, true);
		if (ret)
			return ret;
		memset(&l, 0, sizeof(l));
		l.chunk_size = le32_to_cpu(VDIFS_I(inode)->params.chunk_size);
		l.extent_size = le32_to_cpu(VDIFS_I(inode)->params.extent_size);
		l.replicas = VDIFS_I(inode)->params.replicas;
		l.repl_mode = VDIFS_I(inode)->params.repl_mode;
		return copy_to_user(arg, &l, sizeof(l)) ? -EFAULT : 0;
	}
	if (copy_from_user(&l, arg, sizeof(l)))
		return -EFAULT;
	if (l.pad || !vdifs_zero(l.reserved, sizeof(l.reserved)))
		return -EINVAL;
	if (!inode_owner_or_capable(file_mnt_idmap(file), inode))
		return -EPERM;
	q.params.chunk_size = cpu_to_le32(l.chunk_size);
	q.params.extent_size = cpu_to_le32(l.extent_size);
	q.params.replicas = l.replicas;
	q.params.repl_mode = l.repl_mode == 0xff ?
			     VDIFS_I(inode)->params.repl_mode : l.repl_mode;
	ret = mnt_want_write_file(file);
	if (ret)
		return ret;
	/* against writers allocating the file's first chunk meanwhile */
	inode_lock(inode);
	ret = vdifs_call(sbi->mds, VDIFS_OP_LAYOUT_SET, &q, sizeof(q), NULL, 0,
			 NULL, 0, &req);
	if (!ret) {
		vdifs_apply_attr(inode, &((const struct vdifs_attr_rep *)
					  req->rbody.fixed)->attr);
		vdifs_req_put(req);
	}
	inode_unlock(inode);
	mnt_drop_write_file(file);
	return ret;
}

long vdifs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *p = (void __user *)arg;

	switch (cmd) {
	case VDIFS_IOC_SNAP_CREATE:
	case VDIFS_IOC_SNAP_DELETE:
	case VDIFS_IOC_SNAP_REVERT:
		return vdifs_ioc_snap(file, cmd, p);
	case VDIFS_IOC_SNAP_LIST:
		return vdifs_ioc_snap_list(file, p);
	case VDIFS_IOC_CLONE:
		return vdifs_ioc_clone(file, p);
	case VDIFS_IOC_SPACE:
		return vdifs_ioc_space(file, p);
	case VDIFS_IOC_SETLAYOUT:
	case VDIFS_IOC_GETLAYOUT:
		return vdifs_ioc_layout(file, cmd, p);
	}
	return -ENOTTY;
}

/* on directories: the layout their new children inherit */
long vdifs_dir_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (cmd != VDIFS_IOC_SETLAYOUT && cmd != VDIFS_IOC_GETLAYOUT)
		return -ENOTTY;
	return vdifs_ioc_layout(file, cmd, (void __user *)arg);
}

#ifdef CONFIG_COMPAT
/* every argument struct has the same layout for 32-bit callers */
long vdifs_compat_ioctl(struct file *file, unsigned int cmd,
			unsigned long arg)
{
	if (S_ISDIR(file_inode(file)->i_mode))
		return vdifs_dir_ioctl(file, cmd,
				       (unsigned long)compat_ptr(arg));
	return vdifs_ioctl(file, cmd, (unsigned long)compat_ptr(arg));
}
#endif

/*
 * FICLONERANGE of a part: whole chunks are shared (the MDS makes the
 * target's chunks clones of the source's, CLONE_RANGE); the pieces before
 * the first and after the last whole chunk are copied through the data
 * servers, less than a chunk at each end.  Sharing needs the range at the
 * same offset within a chunk in both files, with the same chunk size, so
 * anything else is EINVAL (cp falls back to copying).  Offsets and length
 * are page aligned, except a length that ends at the source's EOF.  A
 * partial last chunk that ends the source and reaches past the target's
 * end is shared too.
 */
static loff_t vdifs_clone_range(struct inode *sin, loff_t pos_in,
				struct inode *din, loff_t pos_out, loff_t len,
				u64 before)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(sin->i_sb);
	u64 cs = le32_to_cpu(VDIFS_I(sin)->params.chunk_size);
	struct vdifs_clone_range_req q = { 0 };
	loff_t ssize = i_size_read(sin), head, mid, tail;
	struct vdifs_req *req;
	int ret;

	if (!cs || cs != le32_to_cpu(VDIFS_I(din)->params.chunk_size) ||
	    pos_in % cs != pos_out % cs || !PAGE_ALIGNED(pos_in) ||
	    !PAGE_ALIGNED(pos_out) ||
	    (!PAGE_ALIGNED(len) && pos_in + len != ssize))
		return -EINVAL;
	head = min_t(loff_t, len, (cs - pos_in % cs) % cs);
	mid = round_down(len - head, cs);
	tail = len - head - mid;
	/* a tail ending both files can be shared as a whole chunk */
	if (tail && pos_in + len == ssize &&
	    pos_out + len >= i_size_read(din)) {
		mid += tail;
		tail = 0;
	}
	ret = vdifs_flush_all(din);
	if (ret)
		return ret;
	truncate_inode_pages_range(din->i_mapping,
				   round_down(pos_out, PAGE_SIZE),
				   round_up(pos_out + len, PAGE_SIZE) - 1);
	if (mid) {
		q.vol = cpu_to_le32(sbi->vol);
		q.ino = cpu_to_le64(sin->i_ino);
		q.dst = cpu_to_le64(din->i_ino);
		q.src_off = cpu_to_le64(pos_in + head);
		q.dst_off = cpu_to_le64(pos_out + head);
		q.len = cpu_to_le64(mid);
		ret = vdifs_call(sbi->mds, VDIFS_OP_CLONE_RANGE, &q, sizeof(q),
				 NULL, 0, NULL, 0, &req);
		if (ret)
			return ret;
		vdifs_layout_drop(VDIFS_I(din));
		vdifs_layout_drop(VDIFS_I(sin));
		vdifs_apply_replaced(din, req);
		vdifs_req_put(req);
		vdifs_revalidate_own(sin, before);
	}
	ret = vdifs_copy_direct(sin, pos_in, din, pos_out, head);
	if (!ret)
		ret = vdifs_copy_direct(sin, pos_in + head + mid, din,
					pos_out + head + mid, tail);
	if (!ret)
		ret = vdifs_sync_size(din);
	return ret ? ret : len;
}

/*
 * FICLONE, and FICLONERANGE over whole files: the target becomes a clone
 * of the source.  Other ranges: vdifs_clone_range().
 */
loff_t vdifs_remap_file_range(struct file *src, loff_t pos_in,
			      struct file *dst, loff_t pos_out, loff_t len,
			      unsigned int remap_flags)
{
	struct inode *sin = file_inode(src), *din = file_inode(dst);
	struct vdifs_sb_info *sbi = VDIFS_SB(sin->i_sb);
	struct vdifs_clone_req q = { 0 };
	struct vdifs_req *req;
	loff_t size, plen = len;
	bool whole;
	u64 before;
	int ret;

	if (remap_flags & REMAP_FILE_DEDUP)
		return -EOPNOTSUPP;
	if (remap_flags & ~REMAP_FILE_ADVISORY)
		return -EINVAL;
	if (sin == din)
		return -EINVAL;
	lock_two_nondirectories(sin, din);
	ret = vdifs_flush_all(sin);
	if (!ret)
		ret = vdifs_revalidate(sin, true);
	if (ret)
		goto out_unlock;
	size = i_size_read(sin);
	if (pos_in > size || (len && len > size - pos_in)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	whole = !pos_in && !pos_out && (!len || len == size);
	/*
	 * What every file system that remaps checks: swap files and
	 * immutable targets refused, block alignment, limits, direct I/O
	 * drained, dirty pages written; and the target's setuid bits and
	 * times as a write would leave them (file_modified()).
	 */
	ret = generic_remap_file_range_prep(src, pos_in, dst, pos_out, &plen,
					    remap_flags);
	if (ret)
		goto out_unlock;
	before = vdifs_change_seen(sin);
	if (!whole) {
		len = plen;
		if (!len) {
			size = 0;
			goto out_unlock;
		}
		size = vdifs_clone_range(sin, pos_in, din, pos_out, len,
					 before);
		if (size < 0)
			ret = size;
		goto out_unlock;
	}
	ret = filemap_write_and_wait(din->i_mapping);
	if (ret)
		goto out_unlock;
	q.vol = cpu_to_le32(sbi->vol);
	q.ino = cpu_to_le64(sin->i_ino);
	q.dst = cpu_to_le64(din->i_ino);
	ret = vdifs_call(sbi->mds, VDIFS_OP_CLONE_INTO, &q, sizeof(q), NULL,
			 0, NULL, 0, &req);
	if (ret)
		goto out_unlock;
	truncate_pagecache(din, 0);
	vdifs_layout_drop(VDIFS_I(din));
	vdifs_layout_drop(VDIFS_I(sin));
	vdifs_apply_replaced(din, req);
	vdifs_req_put(req);
	vdifs_revalidate_own(sin, before);
out_unlock:
	unlock_two_nondirectories(sin, din);
	return ret ? ret : size;
}
