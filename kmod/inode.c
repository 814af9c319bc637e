// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs inodes and namespace operations.
 *
 * Attributes come from the MDS and are cached for acregmin..acregmax
 * (files) or acdirmin..acdirmax (directories); open revalidates them
 * (close-to-open), and a change of the server's change counter drops
 * cached pages and chunk layouts.  Permissions are checked here, as on a
 * local file system, with generic_permission() over those attributes.
 */
#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/xattr.h>
#include <linux/writeback.h>
#include "internal.h"

static struct timespec64 ns_to_ts(u64 ns)
{
	return ns_to_timespec64((s64)ns);
}

static u64 ts_to_ns(struct timespec64 ts)
{
	return (u64)timespec64_to_ns(&ts);
}

static unsigned long vdifs_attr_ttl(struct inode *inode)
{
	struct vdifs_mount_opts *o = &VDIFS_SB(inode->i_sb)->opts;

	return msecs_to_jiffies(S_ISDIR(inode->i_mode) ? o->acdirmin_ms :
				o->acregmin_ms);
}

/*
 * The size the MDS has.  netfs's zero_point (past which it assumes the
 * server holds only zeroes) is kept out of play: another client may write
 * past any size we saw.
 */
void vdifs_remote_size(struct vdifs_inode *vi, loff_t size)
{
	vi->netfs.remote_i_size = size;
	vi->netfs.zero_point = LLONG_MAX;
}

/*
 * Take the server's attributes, unless an answer overtaken by a newer one
 * (its change counter is behind what we saw: replies to concurrent calls
 * arrive in any order).  The size may only shrink when someone else
 * changed the file and this client holds no data or size the MDS has not
 * confirmed; otherwise the local size is the newer one.
 */
void vdifs_apply_attr(struct inode *inode, const struct vdifs_attr *a)
{
	struct vdifs_inode *vi = VDIFS_I(inode);
	u64 change = le64_to_cpu(a->change);
	loff_t size = le64_to_cpu(a->size);
	u32 mode = le32_to_cpu(a->mode);
	bool changed = false, local_newer = false;

	spin_lock(&vi->size_lock);
	if (vi->change && change < vi->change) {
		spin_unlock(&vi->size_lock);
		return;
	}
	if (S_ISREG(mode)) {
		changed = vi->change && change != vi->change;
		local_newer = vi->size_dirty || vi->size_syncing ||
			mapping_tagged(inode->i_mapping, PAGECACHE_TAG_DIRTY) ||
			mapping_tagged(inode->i_mapping,
				       PAGECACHE_TAG_WRITEBACK);
		/* the same change counter: nothing we do not know */
		if ((changed && !local_newer) || size > i_size_read(inode) ||
		    !vi->change)
			i_size_write(inode, size);
		vdifs_remote_size(vi, size);
	} else if (!S_ISDIR(mode)) {
		i_size_write(inode, size);
	}
	vi->change = change;
	spin_unlock(&vi->size_lock);

	/* a live inode keeps its type, whatever a reply says */
	inode->i_mode = (inode->i_mode & S_IFMT) | (mode & ~S_IFMT);
	i_uid_write(inode, le32_to_cpu(a->uid));
	i_gid_write(inode, le32_to_cpu(a->gid));
	/* a silly-renamed file is unlinked as far as its users know */
	set_nlink(inode, vi->silly_name ? 0 : le32_to_cpu(a->nlink));
	inode_set_atime_to_ts(inode, ns_to_ts(le64_to_cpu(a->atime_ns)));
	inode_set_mtime_to_ts(inode, ns_to_ts(le64_to_cpu(a->mtime_ns)));
	inode_set_ctime_to_ts(inode, ns_to_ts(le64_to_cpu(a->ctime_ns)));
	inode->i_blocks = le64_to_cpu(a->blocks);
	inode->i_generation = le32_to_cpu(a->gen);
	vi->params = a->params;
	vi->flags = le32_to_cpu(a->flags);
	if (changed) {
		/*
		 * Someone changed it: chunks may have been allocated or
		 * replaced, and our clean pages may be stale.
		 */
		vdifs_layout_drop(vi);
		/*
		 * All of them, mapped ones and ones netfs holds private state
		 * for too: a best-effort sweep would leave stale data behind
		 * (NFS does the same).
		 */
		if (!local_newer && invalidate_inode_pages2(inode->i_mapping))
			pr_warn_ratelimited("vdifs: inode %lu: stale pages kept\n",
					    inode->i_ino);
	}
	vi->attr_time = jiffies;
}

static int vdifs_inode_test(struct inode *inode, void *data)
{
	const struct vdifs_attr *a = data;

	return inode->i_ino == le64_to_cpu(a->ino);
}

static int vdifs_inode_set(struct inode *inode, void *data)
{
	const struct vdifs_attr *a = data;

	inode->i_ino = le64_to_cpu(a->ino);
	return 0;
}

struct inode *vdifs_iget(struct super_block *sb, const struct vdifs_attr *a)
{
	u64 ino = le64_to_cpu(a->ino);
	struct inode *inode;
	u32 mode;

	inode = iget5_locked(sb, (unsigned long)ino, vdifs_inode_test,
			     vdifs_inode_set, (void *)a);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(inode->i_state & I_NEW)) {
		/* same number, other type: the server recycled it (never) */
		if ((inode->i_mode ^ le32_to_cpu(a->mode)) & S_IFMT) {
			iput(inode);
			return ERR_PTR(-ESTALE);
		}
		vdifs_apply_attr(inode, a);
		return inode;
	}
	mode = le32_to_cpu(a->mode);
	inode->i_mode = mode;
	vdifs_apply_attr(inode, a);
	switch (mode & S_IFMT) {
	case S_IFREG:
		inode->i_op = &vdifs_file_iops;
		inode->i_fop = &vdifs_file_fops;
		inode->i_mapping->a_ops = &vdifs_aops;
		netfs_inode_init(&VDIFS_I(inode)->netfs, &vdifs_netfs_ops,
				 false);
		break;
	case S_IFDIR:
		inode->i_op = &vdifs_dir_iops;
		inode->i_fop = &vdifs_dir_fops;
		break;
	case S_IFLNK:
		inode->i_op = &vdifs_symlink_iops;
		inode_nohighmem(inode);
		break;
	default:
		inode->i_op = &vdifs_special_iops;
		init_special_inode(inode, mode,
				   new_decode_dev(le32_to_cpu(a->rdev)));
		break;
	}
	unlock_new_inode(inode);
	return inode;
}

/*
 * Fetch and take the attributes.  own_before: the change counter seen
 * before a snapshot or clone of this file made through this client (new
 * chunk ids, the same bytes, the counter one up); if nobody else moved the
 * counter meanwhile, the page cache stays (a VM's cached disk survives its
 * snapshots).  0 for a plain revalidation.
 */
static int vdifs_getattr_apply(struct inode *inode, u64 own_before)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_inode *vi = VDIFS_I(inode);
	struct vdifs_ino_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
	};
	const struct vdifs_attr_rep *rep;
	struct vdifs_req *req;
	int ret;

	ret = vdifs_call(sbi->mds, VDIFS_OP_GETATTR, &q, sizeof(q), NULL, 0,
			 NULL, 0, &req);
	if (ret)
		return ret;
	rep = req->rbody.fixed;
	if ((le32_to_cpu(rep->attr.mode) ^ inode->i_mode) & S_IFMT) {
		ret = -ESTALE;
		goto out_put;
	}
	if (own_before) {
		spin_lock(&vi->size_lock);
		if (vi->change == own_before &&
		    le64_to_cpu(rep->attr.change) == own_before + 1)
			vi->change = own_before + 1;
		spin_unlock(&vi->size_lock);
	}
	vdifs_apply_attr(inode, &rep->attr);
out_put:
	vdifs_req_put(req);
	return ret;
}

int vdifs_revalidate(struct inode *inode, bool force)
{
	struct vdifs_inode *vi = VDIFS_I(inode);

	if (!force && vi->attr_time &&
	    time_before(jiffies, vi->attr_time + vdifs_attr_ttl(inode)))
		return 0;
	return vdifs_getattr_apply(inode, 0);
}

/* the change counter as this client last saw it (0: unknown) */
u64 vdifs_change_seen(struct inode *inode)
{
	struct vdifs_inode *vi = VDIFS_I(inode);
	u64 change;

	spin_lock(&vi->size_lock);
	change = vi->change;
	spin_unlock(&vi->size_lock);
	return change;
}

/* after our own snapshot or clone of inode: see vdifs_getattr_apply() */
int vdifs_revalidate_own(struct inode *inode, u64 before)
{
	int ret = vdifs_getattr_apply(inode, before);

	if (ret)
		VDIFS_I(inode)->attr_time = 0;
	return ret;
}

/*
 * Tell the MDS what our writes did: the size they reached (never shrinking
 * it) and a new mtime, which also bumps its change counter so that the
 * next opener anywhere drops cached pages and layouts (close-to-open).
 */
/* does the local size exceed what the MDS has confirmed? */
bool vdifs_size_ahead(struct inode *inode)
{
	struct vdifs_inode *vi = VDIFS_I(inode);
	bool ahead;

	spin_lock(&vi->size_lock);
	ahead = i_size_read(inode) > vi->netfs.remote_i_size;
	spin_unlock(&vi->size_lock);
	return ahead;
}

/* has the MDS confirmed a size of at least end? */
bool vdifs_size_covers(struct inode *inode, loff_t end)
{
	struct vdifs_inode *vi = VDIFS_I(inode);
	bool covers;

	spin_lock(&vi->size_lock);
	covers = end <= vi->netfs.remote_i_size;
	spin_unlock(&vi->size_lock);
	return covers;
}

int vdifs_sync_size(struct inode *inode)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_inode *vi = VDIFS_I(inode);
	struct vdifs_setattr_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
		.valid = cpu_to_le32(VDIFS_SETATTR_SIZE |
				     VDIFS_SETATTR_SIZE_GROW |
				     VDIFS_SETATTR_MTIME),
	};
	struct vdifs_req *req;
	u64 change;
	u32 gen;
	int ret;

	/*
	 * size_dirty stays set until the MDS has confirmed the size (and
	 * no write moved it meanwhile): until then an answer showing the
	 * old size must not be taken for news.
	 */
	spin_lock(&vi->size_lock);
	if (!vi->size_dirty) {
		spin_unlock(&vi->size_lock);
		return 0;
	}
	gen = vi->size_gen;
	vi->size_syncing++;
	q.size = cpu_to_le64(i_size_read(inode));
	spin_unlock(&vi->size_lock);
	q.mtime_ns = cpu_to_le64(ts_to_ns(inode_get_mtime(inode)));
	ret = vdifs_call(sbi->mds, VDIFS_OP_SETATTR, &q, sizeof(q), NULL, 0,
			 NULL, 0, &req);
	spin_lock(&vi->size_lock);
	vi->size_syncing--;
	if (!ret) {
		change = le64_to_cpu(((const struct vdifs_attr_rep *)
				      req->rbody.fixed)->attr.change);
		if (gen == vi->size_gen)
			vi->size_dirty = false;
		if (change > vi->change)
			vi->change = change;
		vdifs_remote_size(vi, le64_to_cpu(q.size));
	}
	spin_unlock(&vi->size_lock);
	if (ret)
		return ret;
	vdifs_req_put(req);
	return 0;
}

int vdifs_write_inode(struct inode *inode, struct writeback_control *wbc)
{
	if (!S_ISREG(inode->i_mode))
		return 0;
	return vdifs_sync_size(inode);
}

void vdifs_evict_inode(struct inode *inode)
{
	struct vdifs_inode *vi = VDIFS_I(inode);

	truncate_inode_pages_final(&inode->i_data);
	if (S_ISREG(inode->i_mode))
		netfs_wait_for_outstanding_io(inode);
	clear_inode(inode);
	vdifs_layout_drop(vi);
	xa_destroy(&vi->chunks);
}

/* ---- dentries ---- */

static void vdifs_dentry_stamp(struct dentry *dentry)
{
	dentry->d_time = jiffies;
}

static int vdifs_d_revalidate(struct dentry *dentry, unsigned int flags)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(dentry->d_sb);
	struct vdifs_name_req q = { 0 };
	const struct vdifs_attr_rep *rep;
	struct inode *dir, *inode;
	struct vdifs_req *req;
	unsigned long ttl = msecs_to_jiffies(sbi->opts.acdirmin_ms);
	int ret;

	/* an open revalidates its name too: close-to-open */
	if (!(flags & LOOKUP_OPEN) && time_before(jiffies, dentry->d_time + ttl))
		return 1;
	if (flags & LOOKUP_RCU)
		return -ECHILD;
	dir = d_inode_rcu(dentry->d_parent);
	inode = d_inode(dentry);
	q.vol = cpu_to_le32(sbi->vol);
	q.parent = cpu_to_le64(dir->i_ino);
	q.name_len = cpu_to_le16(dentry->d_name.len);
	ret = vdifs_call(sbi->mds, VDIFS_OP_LOOKUP, &q, sizeof(q),
			 dentry->d_name.name, dentry->d_name.len, NULL, 0,
			 &req);
	if (ret == -ENOENT)
		return !inode ? (vdifs_dentry_stamp(dentry), 1) : 0;
	if (ret)
		return ret == -EIO ? ret : 0;
	rep = req->rbody.fixed;
	if (!inode || inode->i_ino != le64_to_cpu(rep->attr.ino) ||
	    ((inode->i_mode ^ le32_to_cpu(rep->attr.mode)) & S_IFMT)) {
		vdifs_req_put(req);
		return 0;
	}
	vdifs_apply_attr(inode, &rep->attr);
	vdifs_req_put(req);
	vdifs_dentry_stamp(dentry);
	return 1;
}

const struct dentry_operations vdifs_dentry_ops = {
	.d_revalidate	= vdifs_d_revalidate,
};

/* ---- namespace operations ---- */

/*
 * A rename's target, or a name to be created exclusively (O_EXCL, mkdir,
 * mknod, symlink, link): the MDS answers for the name in the RENAME or
 * the create itself (EEXIST, ENOTEMPTY, EISDIR, ENOTDIR), so a LOOKUP
 * first only costs a round trip, as fs/nfs reasons too.  Only where the
 * VFS's checks of an existing target add nothing to those of a new name:
 * the caller may write the directory (else EEXIST must win over EACCES)
 * and it is not sticky (the MDS does not check who may replace whose
 * file there; the VFS does, on the target it looked up).  The dentry is
 * left unhashed: no negative entry we never asked about is cached, and a
 * create that succeeds hashes it (vdifs_instantiate()).
 */
static bool vdifs_lookup_skip(struct inode *dir, unsigned int flags)
{
	if (!(flags & LOOKUP_RENAME_TARGET) &&
	    (flags & (LOOKUP_CREATE | LOOKUP_EXCL)) !=
	    (LOOKUP_CREATE | LOOKUP_EXCL))
		return false;
	return !(dir->i_mode & S_ISVTX) &&
	       !inode_permission(&nop_mnt_idmap, dir, MAY_WRITE | MAY_EXEC);
}

static struct dentry *vdifs_lookup(struct inode *dir, struct dentry *dentry,
				   unsigned int flags)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(dir->i_sb);
	struct vdifs_name_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.parent = cpu_to_le64(dir->i_ino),
		.name_len = cpu_to_le16(dentry->d_name.len),
	};
	const struct vdifs_attr_rep *rep;
	struct inode *inode = NULL;
	struct vdifs_req *req;
	int ret;

	if (dentry->d_name.len > VDIFS_NAME_MAX)
		return ERR_PTR(-ENAMETOOLONG);
	if (vdifs_lookup_skip(dir, flags))
		return NULL;
	ret = vdifs_call(sbi->mds, VDIFS_OP_LOOKUP, &q, sizeof(q),
			 dentry->d_name.name, dentry->d_name.len, NULL, 0,
			 &req);
	if (!ret) {
		rep = req->rbody.fixed;
		inode = vdifs_iget(dir->i_sb, &rep->attr);
		vdifs_req_put(req);
		if (IS_ERR(inode))
			return ERR_CAST(inode);
	} else if (ret != -ENOENT) {
		return ERR_PTR(ret);
	}
	vdifs_dentry_stamp(dentry);
	return d_splice_alias(inode, dentry);
}

/* owner of a new inode, as inode_init_owner() would choose it */
static void vdifs_new_owner(struct inode *dir, umode_t *mode, u32 *uid,
			    u32 *gid)
{
	*uid = from_kuid(&init_user_ns, current_fsuid());
	if (dir->i_mode & S_ISGID) {
		*gid = i_gid_read(dir);
		if (S_ISDIR(*mode))
			*mode |= S_ISGID;
	} else {
		*gid = from_kgid(&init_user_ns, current_fsgid());
	}
}

/* a name created here: vdifs_lookup() may have left it unhashed */
static void vdifs_instantiate(struct dentry *dentry, struct inode *inode)
{
	vdifs_dentry_stamp(dentry);
	if (d_unhashed(dentry))
		d_add(dentry, inode);
	else
		d_instantiate(dentry, inode);
}

/* after a change to dir's entries, its attributes are stale */
static void vdifs_dir_changed(struct inode *dir)
{
	VDIFS_I(dir)->attr_time = 0;
}

static int vdifs_create_common(struct inode *dir, struct dentry *dentry,
			       umode_t mode, dev_t rdev, bool excl)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(dir->i_sb);
	struct vdifs_create_req q = { 0 };
	const struct vdifs_attr_rep *rep;
	struct vdifs_req *req;
	struct inode *inode;
	u32 uid, gid;
	u16 op;
	int ret;

	if (dentry->d_name.len > VDIFS_NAME_MAX)
		return -ENAMETOOLONG;
	vdifs_new_owner(dir, &mode, &uid, &gid);
	q.vol = cpu_to_le32(sbi->vol);
	q.parent = cpu_to_le64(dir->i_ino);
	q.name_len = cpu_to_le16(dentry->d_name.len);
	q.flags = cpu_to_le16(excl ? VDIFS_CREATE_EXCL : 0);
	q.mode = cpu_to_le32(mode);
	q.uid = cpu_to_le32(uid);
	q.gid = cpu_to_le32(gid);
	q.rdev = cpu_to_le32(new_encode_dev(rdev));
	op = S_ISREG(mode) ? VDIFS_OP_CREATE : S_ISDIR(mode) ? VDIFS_OP_MKDIR :
	     VDIFS_OP_MKNOD;
	ret = vdifs_call(sbi->mds, op, &q, sizeof(q), dentry->d_name.name,
			 dentry->d_name.len, NULL, 0, &req);
	if (ret)
		return ret;
	rep = req->rbody.fixed;
	inode = vdifs_iget(dir->i_sb, &rep->attr);
	vdifs_req_put(req);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	vdifs_dir_changed(dir);
	if (S_ISDIR(mode))
		inc_nlink(dir);
	vdifs_instantiate(dentry, inode);
	return 0;
}

static int vdifs_create(struct mnt_idmap *idmap, struct inode *dir,
			struct dentry *dentry, umode_t mode, bool excl)
{
	return vdifs_create_common(dir, dentry, mode | S_IFREG, 0, excl);
}

static int vdifs_mkdir(struct mnt_idmap *idmap, struct inode *dir,
		       struct dentry *dentry, umode_t mode)
{
	return vdifs_create_common(dir, dentry, mode | S_IFDIR, 0, true);
}

static int vdifs_mknod(struct mnt_idmap *idmap, struct inode *dir,
		       struct dentry *dentry, umode_t mode, dev_t rdev)
{
	return vdifs_create_common(dir, dentry, mode, rdev, true);
}

static int vdifs_symlink(struct mnt_idmap *idmap, struct inode *dir,
			 struct dentry *dentry, const char *target)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(dir->i_sb);
	struct vdifs_symlink_req q = { 0 };
	const struct vdifs_attr_rep *rep;
	size_t tl = strlen(target);
	umode_t mode = S_IFLNK | 0777;
	struct vdifs_req *req;
	struct inode *inode;
	u32 uid, gid;
	int ret;

	if (dentry->d_name.len > VDIFS_NAME_MAX || tl > VDIFS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	vdifs_new_owner(dir, &mode, &uid, &gid);
	q.vol = cpu_to_le32(sbi->vol);
	q.parent = cpu_to_le64(dir->i_ino);
	q.name_len = cpu_to_le16(dentry->d_name.len);
	q.target_len = cpu_to_le16(tl);
	q.uid = cpu_to_le32(uid);
	q.gid = cpu_to_le32(gid);
	ret = vdifs_call(sbi->mds, VDIFS_OP_SYMLINK, &q, sizeof(q),
			 dentry->d_name.name, dentry->d_name.len, target, tl,
			 &req);
	if (ret)
		return ret;
	rep = req->rbody.fixed;
	inode = vdifs_iget(dir->i_sb, &rep->attr);
	vdifs_req_put(req);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	vdifs_dir_changed(dir);
	vdifs_instantiate(dentry, inode);
	return 0;
}

static int vdifs_link(struct dentry *old, struct inode *dir,
		      struct dentry *dentry)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(dir->i_sb);
	struct inode *inode = d_inode(old);
	struct vdifs_link_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
		.newparent = cpu_to_le64(dir->i_ino),
		.name_len = cpu_to_le16(dentry->d_name.len),
	};
	const struct vdifs_attr_rep *rep;
	struct vdifs_req *req;
	int ret;

	if (dentry->d_name.len > VDIFS_NAME_MAX)
		return -ENAMETOOLONG;
	ret = vdifs_call(sbi->mds, VDIFS_OP_LINK, &q, sizeof(q),
			 dentry->d_name.name, dentry->d_name.len, NULL, 0,
			 &req);
	if (ret)
		return ret;
	rep = req->rbody.fixed;
	vdifs_apply_attr(inode, &rep->attr);
	vdifs_req_put(req);
	vdifs_dir_changed(dir);
	ihold(inode);
	vdifs_instantiate(dentry, inode);
	return 0;
}

static int vdifs_remove(struct inode *dir, struct dentry *dentry, u16 op)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(dir->i_sb);
	struct inode *inode = d_inode(dentry);
	struct vdifs_name_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.parent = cpu_to_le64(dir->i_ino),
		.name_len = cpu_to_le16(dentry->d_name.len),
	};
	const struct vdifs_dirop_rep *rep;
	struct vdifs_req *req;
	int ret;

	ret = vdifs_call(sbi->mds, op, &q, sizeof(q), dentry->d_name.name,
			 dentry->d_name.len, NULL, 0, &req);
	if (ret)
		return ret;
	rep = req->rbody.fixed;
	if (op == VDIFS_OP_RMDIR) {
		clear_nlink(inode);
		drop_nlink(dir);
	} else {
		set_nlink(inode, le32_to_cpu(rep->nlink));
	}
	inode_set_ctime_current(inode);
	VDIFS_I(inode)->attr_time = 0;
	vdifs_req_put(req);
	vdifs_dir_changed(dir);
	return 0;
}

/*
 * A file still open here keeps its data: rename it to a hidden name and
 * remove it at last close, the way NFS does.  Called under dir's i_rwsem.
 */
static int vdifs_silly_rename(struct inode *dir, struct dentry *dentry)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(dir->i_sb);
	struct inode *inode = d_inode(dentry);
	struct vdifs_inode *vi = VDIFS_I(inode);
	static atomic_t seq = ATOMIC_INIT(0);
	struct vdifs_rename_req q = { 0 };
	char *name;
	int ret;

	if (vi->silly_name)
		return -EBUSY;
	name = kasprintf(GFP_KERNEL, ".vdifs-silly.%lx.%x", inode->i_ino,
			 atomic_inc_return(&seq));
	if (!name)
		return -ENOMEM;
	q.vol = cpu_to_le32(sbi->vol);
	q.olddir = cpu_to_le64(dir->i_ino);
	q.newdir = cpu_to_le64(dir->i_ino);
	q.oldname_len = cpu_to_le16(dentry->d_name.len);
	q.newname_len = cpu_to_le16(strlen(name));
	q.flags = cpu_to_le32(VDIFS_RENAME_NOREPLACE);
	ret = vdifs_call(sbi->mds, VDIFS_OP_RENAME, &q, sizeof(q),
			 dentry->d_name.name, dentry->d_name.len, name,
			 strlen(name), NULL);
	if (ret) {
		kfree(name);
		return ret;
	}
	vi->silly_dir = dir->i_ino;
	vi->silly_name = name;
	clear_nlink(inode);
	inode_set_ctime_current(inode);
	vdifs_dir_changed(dir);
	return 0;
}

/* the last opener of a silly-renamed file is gone: remove it for real */
void vdifs_silly_release(struct inode *inode)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_inode *vi = VDIFS_I(inode);
	struct vdifs_name_req q = { .vol = cpu_to_le32(sbi->vol) };
	char *name = vi->silly_name;

	if (!name || atomic_read(&vi->opens))
		return;
	vi->silly_name = NULL;
	q.parent = cpu_to_le64(vi->silly_dir);
	q.name_len = cpu_to_le16(strlen(name));
	if (vdifs_call(sbi->mds, VDIFS_OP_UNLINK, &q, sizeof(q), name,
		       strlen(name), NULL, 0, NULL))
		pr_warn_ratelimited("vdifs: could not remove %s\n", name);
	kfree(name);
}

static bool vdifs_open_here(struct dentry *dentry)
{
	struct inode *inode = d_inode(dentry);

	return inode && S_ISREG(inode->i_mode) &&
	       atomic_read(&VDIFS_I(inode)->opens) > 0;
}

static int vdifs_unlink(struct inode *dir, struct dentry *dentry)
{
	if (vdifs_open_here(dentry))
		return vdifs_silly_rename(dir, dentry);
	return vdifs_remove(dir, dentry, VDIFS_OP_UNLINK);
}

static int vdifs_rmdir(struct inode *dir, struct dentry *dentry)
{
	return vdifs_remove(dir, dentry, VDIFS_OP_RMDIR);
}

static int vdifs_rename(struct mnt_idmap *idmap, struct inode *old_dir,
			struct dentry *old_dentry, struct inode *new_dir,
			struct dentry *new_dentry, unsigned int flags)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(old_dir->i_sb);
	struct vdifs_rename_req q = { 0 };
	struct inode *target = d_inode(new_dentry);
	struct inode *src = d_inode(old_dentry);
	int ret;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	/* a target still open here survives as a silly-renamed file */
	if (target && !(flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)) &&
	    vdifs_open_here(new_dentry) && d_inode(old_dentry) != target) {
		ret = vdifs_silly_rename(new_dir, new_dentry);
		if (ret)
			return ret;
		d_drop(new_dentry);
		target = NULL;
	}
	q.vol = cpu_to_le32(sbi->vol);
	q.olddir = cpu_to_le64(old_dir->i_ino);
	q.newdir = cpu_to_le64(new_dir->i_ino);
	q.oldname_len = cpu_to_le16(old_dentry->d_name.len);
	q.newname_len = cpu_to_le16(new_dentry->d_name.len);
	q.flags = cpu_to_le32((flags & RENAME_NOREPLACE ?
			       VDIFS_RENAME_NOREPLACE : 0) |
			      (flags & RENAME_EXCHANGE ?
			       VDIFS_RENAME_EXCHANGE : 0));
	ret = vdifs_call(sbi->mds, VDIFS_OP_RENAME, &q, sizeof(q),
			 old_dentry->d_name.name, old_dentry->d_name.len,
			 new_dentry->d_name.name, new_dentry->d_name.len,
			 NULL);
	if (ret)
		return ret;
	vdifs_dir_changed(old_dir);
	vdifs_dir_changed(new_dir);
	VDIFS_I(src)->attr_time = 0;
	if (target) {
		VDIFS_I(target)->attr_time = 0;
		if (!(flags & RENAME_EXCHANGE)) {
			if (S_ISDIR(target->i_mode)) {
				clear_nlink(target);
				drop_nlink(new_dir);
			} else {
				drop_nlink(target);
			}
		}
	}
	if (!(flags & RENAME_EXCHANGE) && S_ISDIR(src->i_mode) &&
	    old_dir != new_dir) {
		drop_nlink(old_dir);
		if (!target)
			inc_nlink(new_dir);
	}
	vdifs_dentry_stamp(old_dentry);
	vdifs_dentry_stamp(new_dentry);
	return 0;
}

static int vdifs_getattr(struct mnt_idmap *idmap, const struct path *path,
			 struct kstat *stat, u32 request_mask,
			 unsigned int flags)
{
	struct inode *inode = d_inode(path->dentry);
	int ret;

	if (!(flags & AT_STATX_DONT_SYNC)) {
		/* dirty data first: the size and mtime we show must hold */
		if (S_ISREG(inode->i_mode)) {
			filemap_write_and_wait(inode->i_mapping);
			vdifs_sync_size(inode);
		}
		ret = vdifs_revalidate(inode,
				       flags & AT_STATX_FORCE_SYNC);
		if (ret)
			return ret;
	}
	generic_fillattr(idmap, request_mask, inode, stat);
	stat->blksize = VDIFS_IO_MAX;
	return 0;
}

static int vdifs_truncate(struct inode *inode, loff_t size)
{
	struct vdifs_inode *vi = VDIFS_I(inode);
	loff_t old = i_size_read(inode);
	u64 cs = le32_to_cpu(vi->params.chunk_size);
	int ret;

	ret = filemap_write_and_wait(inode->i_mapping);
	if (ret)
		return ret;
	ret = vdifs_sync_size(inode);
	if (ret)
		return ret;
	/* shrinking: what stays of the last chunk must read as zeroes */
	if (size < old && cs && size % cs) {
		ret = vdifs_punch_range(inode, size,
					min_t(loff_t, old,
					      round_up(size, cs)));
		if (ret)
			return ret;
	}
	return 0;
}

static int vdifs_setattr(struct mnt_idmap *idmap, struct dentry *dentry,
			 struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_setattr_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
	};
	const struct vdifs_attr_rep *rep;
	struct vdifs_req *req;
	u32 valid = 0;
	int ret;

	ret = setattr_prepare(idmap, dentry, attr);
	if (ret)
		return ret;
	if (attr->ia_valid & ATTR_MODE) {
		valid |= VDIFS_SETATTR_MODE;
		q.mode = cpu_to_le32(attr->ia_mode);
	}
	if (attr->ia_valid & ATTR_UID) {
		valid |= VDIFS_SETATTR_UID;
		q.uid = cpu_to_le32(from_kuid(&init_user_ns, attr->ia_uid));
	}
	if (attr->ia_valid & ATTR_GID) {
		valid |= VDIFS_SETATTR_GID;
		q.gid = cpu_to_le32(from_kgid(&init_user_ns, attr->ia_gid));
	}
	if (attr->ia_valid & ATTR_ATIME) {
		if (attr->ia_valid & ATTR_ATIME_SET) {
			valid |= VDIFS_SETATTR_ATIME;
			q.atime_ns = cpu_to_le64(ts_to_ns(attr->ia_atime));
		} else {
			valid |= VDIFS_SETATTR_ATIME_NOW;
		}
	}
	if (attr->ia_valid & ATTR_MTIME) {
		if (attr->ia_valid & ATTR_MTIME_SET) {
			valid |= VDIFS_SETATTR_MTIME;
			q.mtime_ns = cpu_to_le64(ts_to_ns(attr->ia_mtime));
		} else {
			valid |= VDIFS_SETATTR_MTIME_NOW;
		}
	}
	if ((attr->ia_valid & ATTR_SIZE) && S_ISREG(inode->i_mode)) {
		inode_dio_wait(inode);
		ret = vdifs_truncate(inode, attr->ia_size);
		if (ret)
			return ret;
		valid |= VDIFS_SETATTR_SIZE;
		q.size = cpu_to_le64(attr->ia_size);
	}
	if (!valid)
		return 0;
	q.valid = cpu_to_le32(valid);
	ret = vdifs_call(sbi->mds, VDIFS_OP_SETATTR, &q, sizeof(q), NULL, 0,
			 NULL, 0, &req);
	if (ret)
		return ret;
	if (valid & VDIFS_SETATTR_SIZE) {
		truncate_setsize(inode, attr->ia_size);
		vdifs_remote_size(VDIFS_I(inode), attr->ia_size);
		vdifs_layout_drop(VDIFS_I(inode));
	}
	rep = req->rbody.fixed;
	vdifs_apply_attr(inode, &rep->attr);
	vdifs_req_put(req);
	return 0;
}

static const char *vdifs_get_link(struct dentry *dentry, struct inode *inode,
				  struct delayed_call *done)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_ino_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
	};
	struct vdifs_req *req;
	char *target;
	int ret;

	if (!dentry)
		return ERR_PTR(-ECHILD);
	ret = vdifs_call(sbi->mds, VDIFS_OP_READLINK, &q, sizeof(q), NULL, 0,
			 NULL, 0, &req);
	if (ret)
		return ERR_PTR(ret);
	target = kmemdup_nul(req->rbody.tail[0], req->rbody.tail_len[0],
			     GFP_KERNEL);
	vdifs_req_put(req);
	if (!target)
		return ERR_PTR(-ENOMEM);
	set_delayed_call(done, kfree_link, target);
	return target;
}

const struct inode_operations vdifs_dir_iops = {
	.lookup		= vdifs_lookup,
	.create		= vdifs_create,
	.mkdir		= vdifs_mkdir,
	.mknod		= vdifs_mknod,
	.symlink	= vdifs_symlink,
	.link		= vdifs_link,
	.unlink		= vdifs_unlink,
	.rmdir		= vdifs_rmdir,
	.rename		= vdifs_rename,
	.getattr	= vdifs_getattr,
	.setattr	= vdifs_setattr,
	.listxattr	= vdifs_listxattr,
};

const struct inode_operations vdifs_file_iops = {
	.getattr	= vdifs_getattr,
	.setattr	= vdifs_setattr,
	.listxattr	= vdifs_listxattr,
};

const struct inode_operations vdifs_symlink_iops = {
	.get_link	= vdifs_get_link,
	.getattr	= vdifs_getattr,
	.setattr	= vdifs_setattr,
	.listxattr	= vdifs_listxattr,
};

const struct inode_operations vdifs_special_iops = {
	.getattr	= vdifs_getattr,
	.setattr	= vdifs_setattr,
	.listxattr	= vdifs_listxattr,
};
