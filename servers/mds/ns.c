// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds namespace: lookup, attributes, directories, links, renames
 * and readdir.  Every handler runs inside one LMDB transaction (see
 * struct mds_op); POSIX error rules follow the Linux VFS so that the
 * kernel client can pass answers through unchanged.
 *
 * The MDS does not check permissions: the kernel client does, as a local
 * file system would, and the MDS trusts an authenticated client's
 * uid/gid (the NFS AUTH_SYS model).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "mds.h"

#define DIRENT_TYPE(mode)	((u8)(((mode) & S_IFMT) >> 12))

/* ---- inodes ---- */

/* drop one link of in (already removed from its directory) */
static int inode_unlink(struct mds *m, MDB_txn *t, u32 vol,
			struct mds_inode *in)
{
	nlink_add(in, S_ISDIR(in_mode(in)) ? -2 : -1);
	touch(in, false);
	if ((s32)le32_to_cpu(in->attr.nlink) <= 0)
		return inode_free(m, t, vol, in);
	return inode_put(m, t, vol, in);
}

static int op_getattr(struct mds *m, struct mds_conn *c, MDB_txn *t,
		      const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_ino_req *q = b->fixed;
	struct mds_inode in;
	int ret;

	ret = inode_get(m, t, le32_to_cpu(q->vol), le64_to_cpu(q->ino), &in);
	return ret ? ret : reply_attr(r, &in);
}

static int op_lookup(struct mds *m, struct mds_conn *c, MDB_txn *t,
		     const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_name_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	struct mds_inode dir, in;
	struct mds_dirent de;
	int ret;

	ret = dir_get(m, t, vol, le64_to_cpu(q->parent), &dir);
	if (!ret)
		ret = dirent_get(m, t, vol, le64_to_cpu(q->parent), b->tail[0],
				 b->tail_len[0], &de);
	if (!ret)
		ret = inode_get(m, t, vol, le64_to_cpu(de.ino), &in);
	return ret ? ret : reply_attr(r, &in);
}

/* chunk records at or past index first go to the collector */
static int chunks_trim(struct mds *m, MDB_txn *t, u32 vol,
		       struct mds_inode *in, u64 first)
{
	u64 ino = le64_to_cpu(in->attr.ino);
	MDB_cursor *cur;
	u8 k[MDS_KEY_BUF];
	MDB_val key = { key_u64(k, vol, ino, first), k }, val;
	u64 n = le64_to_cpu(in->nchunks);
	int rc, ret = 0;

	rc = mdb_cursor_open(t, m->db.chunks, &cur);
	if (rc)
		return db_err(rc);
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (!rc && key.mv_size == 20 && !memcmp(key.mv_data, k, 12)) {
		ret = gc_chunk(t, &key, &val, m);
		if (ret)
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
		n--;
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (ret)
		return ret;
	if (rc && rc != MDB_NOTFOUND)
		return db_err(rc);
	in->nchunks = cpu_to_le64(n);
	return 0;
}

static int op_setattr(struct mds *m, struct mds_conn *c, MDB_txn *t,
		      const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_setattr_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol), valid = le32_to_cpu(q->valid);
	struct mds_inode in;
	s64 now = mds_now_ns();
	int ret;

	if (valid & ~VDIFS_SETATTR_ALL)
		return -EINVAL;
	ret = inode_get(m, t, vol, le64_to_cpu(q->ino), &in);
	if (ret)
		return ret;
	if (le32_to_cpu(in.attr.flags) &
	    (VDIFS_ATTR_SNAPSHOT | VDIFS_ATTR_SNAPDIR))
		return -EROFS;
	if ((valid & VDIFS_SETATTR_SIZE_GROW) && !(valid & VDIFS_SETATTR_SIZE))
		return -EINVAL;
	if (valid & VDIFS_SETATTR_SIZE) {
		u64 size = le64_to_cpu(q->size), old = le64_to_cpu(in.attr.size);
		u64 cs = le32_to_cpu(in.attr.params.chunk_size);

		if ((valid & VDIFS_SETATTR_SIZE_GROW) && size < old)
			size = old;

		if (S_ISDIR(in_mode(&in)))
			return -EISDIR;
		if (!S_ISREG(in_mode(&in)))
			return -EINVAL;
		if (size > (u64)INT64_MAX)
			return -EFBIG;
		if (size < old) {
			ret = chunks_trim(m, t, vol, &in, (size + cs - 1) / cs);
			if (ret)
				return ret;
		}
		ret = vol_adjust(m, t, vol, 0, (s64)(size - old));
		if (ret)
			return ret;
		in.attr.size = cpu_to_le64(size);
		in.attr.blocks = cpu_to_le64((size + 511) / 512);
		if (!(valid & (VDIFS_SETATTR_MTIME | VDIFS_SETATTR_MTIME_NOW)))
			in.attr.mtime_ns = cpu_to_le64((u64)now);
	}
	if (valid & VDIFS_SETATTR_MODE)
		in.attr.mode = cpu_to_le32((in_mode(&in) & S_IFMT) |
					   (le32_to_cpu(q->mode) & 07777));
	if (valid & VDIFS_SETATTR_UID)
		in.attr.uid = q->uid;
	if (valid & VDIFS_SETATTR_GID)
		in.attr.gid = q->gid;
	if (valid & VDIFS_SETATTR_ATIME)
		in.attr.atime_ns = q->atime_ns;
	else if (valid & VDIFS_SETATTR_ATIME_NOW)
		in.attr.atime_ns = cpu_to_le64((u64)now);
	if (valid & VDIFS_SETATTR_MTIME)
		in.attr.mtime_ns = q->mtime_ns;
	else if (valid & VDIFS_SETATTR_MTIME_NOW)
		in.attr.mtime_ns = cpu_to_le64((u64)now);
	in.attr.change = cpu_to_le64(le64_to_cpu(in.attr.change) + 1);
	in.attr.ctime_ns = (valid & VDIFS_SETATTR_CTIME) ? q->ctime_ns :
			   cpu_to_le64((u64)now);
	ret = inode_put(m, t, vol, &in);
	return ret ? ret : reply_attr(r, &in);
}

static int create_common(struct mds *m, MDB_txn *t, u32 vol, u64 parent,
			 const u8 *name, u32 len, u32 mode, u32 uid, u32 gid,
			 u32 rdev, const struct vdifs_layout_params *req_p,
			 bool excl, struct mds_inode *in)
{
	struct vdifs_layout_params p = *req_p;
	struct mds_inode dir;
	struct mds_dirent de;
	int ret;

	ret = ns_check_params(&p, true);
	if (ret)
		return ret;
	ret = dir_get(m, t, vol, parent, &dir);
	if (!ret)
		ret = snap_check_dir(&dir);
	if (ret)
		return ret;
	ret = dirent_get(m, t, vol, parent, name, len, &de);
	if (!ret) {
		if (excl || !S_ISREG(mode))
			return -EEXIST;
		ret = inode_get(m, t, vol, le64_to_cpu(de.ino), in);
		if (ret)
			return ret;
		return S_ISREG(in_mode(in)) ? 0 : -EEXIST;
	}
	if (ret != -ENOENT)
		return ret;
	/* nothing new under a directory that is being removed */
	if (!le32_to_cpu(dir.attr.nlink))
		return -ENOENT;
	params_inherit(&p, &dir.attr.params, req_p->chunk_size ||
		       req_p->replicas);
	if (le32_to_cpu(p.extent_size) > le32_to_cpu(p.chunk_size))
		return -EINVAL;
	ret = inode_new(m, t, vol, mode, uid, gid, rdev, &p,
			S_ISDIR(mode) ? parent : 0, in);
	if (ret)
		return ret;
	ret = dirent_add(m, t, vol, &dir, name, len,
			 le64_to_cpu(in->attr.ino), DIRENT_TYPE(mode));
	if (ret)
		return ret;
	if (S_ISDIR(mode))
		nlink_add(&dir, 1);
	touch(&dir, true);
	return inode_put(m, t, vol, &dir);
}

static int op_create(struct mds *m, struct mds_conn *c, MDB_txn *t,
		     const struct wire_body *b, struct mds_reply *r, u16 op)
{
	const struct vdifs_create_req *q = b->fixed;
	u32 mode = le32_to_cpu(q->mode), type = mode & S_IFMT;
	u16 flags = le16_to_cpu(q->flags);
	struct mds_inode in;
	int ret;

	if (flags & ~VDIFS_CREATE_EXCL)
		return -EINVAL;
	if (mode & ~(S_IFMT | 07777))
		return -EINVAL;
	switch (op) {
	case VDIFS_OP_CREATE:
		if (type && type != S_IFREG)
			return -EINVAL;
		type = S_IFREG;
		break;
	case VDIFS_OP_MKDIR:
		if (type && type != S_IFDIR)
			return -EINVAL;
		type = S_IFDIR;
		flags |= VDIFS_CREATE_EXCL;
		break;
	default:
		if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK &&
		    type != S_IFIFO && type != S_IFSOCK)
			return -EINVAL;
		flags |= VDIFS_CREATE_EXCL;
		break;
	}
	ret = create_common(m, t, le32_to_cpu(q->vol), le64_to_cpu(q->parent),
			    b->tail[0], b->tail_len[0], type | (mode & 07777),
			    le32_to_cpu(q->uid), le32_to_cpu(q->gid),
			    (type == S_IFCHR || type == S_IFBLK) ?
			    le32_to_cpu(q->rdev) : 0, &q->params,
			    flags & VDIFS_CREATE_EXCL, &in);
	return ret ? ret : reply_attr(r, &in);
}

static int op_create_reg(struct mds *m, struct mds_conn *c, MDB_txn *t,
			 const struct wire_body *b, struct mds_reply *r)
{
	return op_create(m, c, t, b, r, VDIFS_OP_CREATE);
}

static int op_mkdir(struct mds *m, struct mds_conn *c, MDB_txn *t,
		    const struct wire_body *b, struct mds_reply *r)
{
	return op_create(m, c, t, b, r, VDIFS_OP_MKDIR);
}

static int op_mknod(struct mds *m, struct mds_conn *c, MDB_txn *t,
		    const struct wire_body *b, struct mds_reply *r)
{
	return op_create(m, c, t, b, r, VDIFS_OP_MKNOD);
}

static int op_symlink(struct mds *m, struct mds_conn *c, MDB_txn *t,
		      const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_symlink_req *q = b->fixed;
	struct vdifs_layout_params p = { 0 };
	u32 vol = le32_to_cpu(q->vol);
	struct mds_inode in;
	u8 k[MDS_KEY_BUF];
	int ret;

	ret = create_common(m, t, vol, le64_to_cpu(q->parent), b->tail[0],
			    b->tail_len[0], S_IFLNK | 0777, le32_to_cpu(q->uid),
			    le32_to_cpu(q->gid), 0, &p, true, &in);
	if (ret)
		return ret;
	in.attr.size = cpu_to_le64(b->tail_len[1]);
	ret = inode_put(m, t, vol, &in);
	if (!ret)
		ret = db_put(t, m->db.symlinks, k,
			     key_ino(k, vol, le64_to_cpu(in.attr.ino)),
			     b->tail[1], b->tail_len[1], 0);
	return ret ? ret : reply_attr(r, &in);
}

static int op_readlink(struct mds *m, struct mds_conn *c, MDB_txn *t,
		       const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_ino_req *q = b->fixed;
	struct vdifs_readlink_rep *rl = (struct vdifs_readlink_rep *)r->fixed;
	u32 vol = le32_to_cpu(q->vol);
	struct mds_inode in;
	u8 k[MDS_KEY_BUF];
	int ret;

	ret = inode_get(m, t, vol, le64_to_cpu(q->ino), &in);
	if (ret)
		return ret;
	if (!S_ISLNK(in_mode(&in)))
		return -EINVAL;
	ret = reply_tail_reserve(r, VDIFS_SYMLINK_MAX);
	if (ret)
		return ret;
	ret = db_get(t, m->db.symlinks, k, key_ino(k, vol, le64_to_cpu(q->ino)),
		     NULL, 0);
	if (ret < 0)
		return ret;
	if (ret > (int)VDIFS_SYMLINK_MAX)
		return -EIO;
	db_get(t, m->db.symlinks, k, key_ino(k, vol, le64_to_cpu(q->ino)),
	       r->tail, 0);
	r->tlen = (u32)ret;
	memset(rl, 0, sizeof(*rl));
	rl->target_len = cpu_to_le16((u16)ret);
	r->flen = sizeof(*rl);
	return 0;
}

static int op_link(struct mds *m, struct mds_conn *c, MDB_txn *t,
		   const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_link_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	struct mds_inode in, dir;
	struct mds_dirent de;
	int ret;

	ret = inode_get(m, t, vol, le64_to_cpu(q->ino), &in);
	if (ret)
		return ret;
	if (S_ISDIR(in_mode(&in)))
		return -EPERM;
	if (le32_to_cpu(in.attr.flags) & VDIFS_ATTR_SNAPSHOT)
		return -EROFS;
	ret = dir_get(m, t, vol, le64_to_cpu(q->newparent), &dir);
	if (!ret)
		ret = snap_check_dir(&dir);
	if (ret)
		return ret;
	ret = dirent_get(m, t, vol, le64_to_cpu(q->newparent), b->tail[0],
			 b->tail_len[0], &de);
	if (ret != -ENOENT)
		return ret ? ret : -EEXIST;
	if (le32_to_cpu(in.attr.nlink) >= 65000)
		return -EMLINK;
	ret = dirent_add(m, t, vol, &dir, b->tail[0], b->tail_len[0],
			 le64_to_cpu(in.attr.ino), DIRENT_TYPE(in_mode(&in)));
	if (ret)
		return ret;
	touch(&dir, true);
	nlink_add(&in, 1);
	touch(&in, false);
	ret = inode_put(m, t, vol, &dir);
	if (!ret)
		ret = inode_put(m, t, vol, &in);
	return ret ? ret : reply_attr(r, &in);
}

static int remove_common(struct mds *m, MDB_txn *t,
			 const struct wire_body *b, struct mds_reply *r,
			 bool rmdir)
{
	const struct vdifs_name_req *q = b->fixed;
	struct vdifs_dirop_rep *d = (struct vdifs_dirop_rep *)r->fixed;
	u32 vol = le32_to_cpu(q->vol);
	u64 parent = le64_to_cpu(q->parent);
	struct mds_inode dir, in;
	struct mds_dirent de;
	int ret;

	ret = dir_get(m, t, vol, parent, &dir);
	if (!ret)
		ret = dirent_get(m, t, vol, parent, b->tail[0], b->tail_len[0],
				 &de);
	if (!ret)
		ret = inode_get(m, t, vol, le64_to_cpu(de.ino), &in);
	/* snapshots go through SNAP_DELETE */
	if (!ret)
		ret = snap_check_dir(&dir);
	if (!ret)
		ret = snap_check_dir(&in);
	if (ret)
		return ret;
	if (rmdir) {
		if (!S_ISDIR(in_mode(&in)))
			return -ENOTDIR;
		ret = dir_is_empty(m, t, vol, le64_to_cpu(in.attr.ino));
		if (ret < 0)
			return ret;
		if (!ret)
			return -ENOTEMPTY;
		nlink_add(&dir, -1);
	} else if (S_ISDIR(in_mode(&in))) {
		return -EISDIR;
	}
	ret = dirent_del(m, t, vol, parent, b->tail[0], b->tail_len[0], &de);
	if (ret)
		return ret;
	touch(&dir, true);
	ret = inode_put(m, t, vol, &dir);
	if (!ret)
		ret = inode_unlink(m, t, vol, &in);
	if (ret)
		return ret;
	memset(d, 0, sizeof(*d));
	d->ino = in.attr.ino;
	d->nlink = in.attr.nlink;
	r->flen = sizeof(*d);
	return 0;
}

static int op_unlink(struct mds *m, struct mds_conn *c, MDB_txn *t,
		     const struct wire_body *b, struct mds_reply *r)
{
	return remove_common(m, t, b, r, false);
}

static int op_rmdir(struct mds *m, struct mds_conn *c, MDB_txn *t,
		    const struct wire_body *b, struct mds_reply *r)
{
	return remove_common(m, t, b, r, true);
}

/* is dir ino a descendant of (or equal to) anc?  walks up the parents */
static int is_under(struct mds *m, MDB_txn *t, u32 vol, u64 ino, u64 anc)
{
	struct mds_inode in;
	int depth, ret;

	for (depth = 0; depth < 100000; depth++) {
		if (ino == anc)
			return 1;
		ret = inode_get(m, t, vol, ino, &in);
		if (ret)
			return ret;
		if (le64_to_cpu(in.parent) == ino)
			return 0;	/* reached the root */
		ino = le64_to_cpu(in.parent);
	}
	return -ELOOP;
}

static int op_rename(struct mds *m, struct mds_conn *c, MDB_txn *t,
		     const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_rename_req *q = b->fixed;
	struct vdifs_dirop_rep *d = (struct vdifs_dirop_rep *)r->fixed;
	u32 vol = le32_to_cpu(q->vol), flags = le32_to_cpu(q->flags);
	u64 od = le64_to_cpu(q->olddir), nd = le64_to_cpu(q->newdir);
	const u8 *on = b->tail[0], *nn = b->tail[1];
	u32 ol = b->tail_len[0], nl = b->tail_len[1];
	struct mds_inode odir, ndir_buf, *ndir, src, dst;
	struct mds_dirent sde, dde;
	bool sdir, ddir, have_dst;
	u8 k[MDS_KEY_BUF];
	int ret;

	if (flags & ~(VDIFS_RENAME_NOREPLACE | VDIFS_RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & VDIFS_RENAME_NOREPLACE) && (flags & VDIFS_RENAME_EXCHANGE))
		return -EINVAL;
	ret = dir_get(m, t, vol, od, &odir);
	if (ret)
		return ret;
	ndir = &odir;
	if (nd != od) {
		ndir = &ndir_buf;
		ret = dir_get(m, t, vol, nd, ndir);
		if (ret)
			return ret;
	}
	ret = snap_check_dir(&odir);
	if (!ret)
		ret = snap_check_dir(ndir);
	if (ret)
		return ret;
	ret = dirent_get(m, t, vol, od, on, ol, &sde);
	if (!ret)
		ret = inode_get(m, t, vol, le64_to_cpu(sde.ino), &src);
	if (!ret)
		ret = snap_check_dir(&src);
	if (ret)
		return ret;
	ret = dirent_get(m, t, vol, nd, nn, nl, &dde);
	if (ret && ret != -ENOENT)
		return ret;
	have_dst = !ret;
	if (have_dst) {
		ret = inode_get(m, t, vol, le64_to_cpu(dde.ino), &dst);
		if (ret)
			return ret;
	}
	sdir = S_ISDIR(in_mode(&src));
	ddir = have_dst && S_ISDIR(in_mode(&dst));

	if (flags & VDIFS_RENAME_EXCHANGE) {
		if (!have_dst)
			return -ENOENT;
		if (sde.ino == dde.ino)
			goto out_reply;
		if (sdir && nd != od) {
			ret = is_under(m, t, vol, nd, le64_to_cpu(src.attr.ino));
			if (ret)
				return ret < 0 ? ret : -EINVAL;
		}
		if (ddir && nd != od) {
			ret = is_under(m, t, vol, od, le64_to_cpu(dst.attr.ino));
			if (ret)
				return ret < 0 ? ret : -EINVAL;
		}
		/* swap the inodes under the two names; cookies stay put */
		dde.ino = src.attr.ino;
		dde.type = DIRENT_TYPE(in_mode(&src));
		sde.ino = dst.attr.ino;
		sde.type = DIRENT_TYPE(in_mode(&dst));
		ret = db_put(t, m->db.dirents, k, key_name(k, vol, od, on, ol),
			     &sde, sizeof(sde), 0);
		if (!ret)
			ret = db_put(t, m->db.dirents, k,
				     key_name(k, vol, nd, nn, nl), &dde,
				     sizeof(dde), 0);
		if (ret)
			return ret;
		if (nd != od && sdir != ddir) {
			nlink_add(&odir, sdir ? -1 : 1);
			nlink_add(ndir, sdir ? 1 : -1);
		}
		if (sdir)
			src.parent = cpu_to_le64(nd);
		if (ddir)
			dst.parent = cpu_to_le64(od);
		touch(&src, false);
		touch(&dst, false);
		ret = inode_put(m, t, vol, &src);
		if (!ret)
			ret = inode_put(m, t, vol, &dst);
		goto out_dirs;
	}

	if (have_dst) {
		if (sde.ino == dde.ino)
			goto out_reply;	/* POSIX: two links to one file */
		if (flags & VDIFS_RENAME_NOREPLACE)
			return -EEXIST;
		if (sdir && !ddir)
			return -ENOTDIR;
		if (!sdir && ddir)
			return -EISDIR;
		if (ddir) {
			ret = dir_is_empty(m, t, vol, le64_to_cpu(dst.attr.ino));
			if (ret < 0)
				return ret;
			if (!ret)
				return -ENOTEMPTY;
		}
	}
	if (sdir && nd != od) {
		ret = is_under(m, t, vol, nd, le64_to_cpu(src.attr.ino));
		if (ret)
			return ret < 0 ? ret : -EINVAL;
	}
	if (have_dst) {
		ret = dirent_del(m, t, vol, nd, nn, nl, &dde);
		if (ret)
			return ret;
		if (ddir)
			nlink_add(ndir, -1);
		ret = inode_unlink(m, t, vol, &dst);
		if (ret)
			return ret;
	}
	ret = dirent_del(m, t, vol, od, on, ol, &sde);
	if (!ret)
		ret = dirent_add(m, t, vol, ndir, nn, nl,
				 le64_to_cpu(src.attr.ino), sde.type);
	if (ret)
		return ret;
	if (sdir && nd != od) {
		nlink_add(&odir, -1);
		nlink_add(ndir, 1);
		src.parent = cpu_to_le64(nd);
	}
	touch(&src, false);
	ret = inode_put(m, t, vol, &src);

out_dirs:
	if (ret)
		return ret;
	touch(&odir, true);
	ret = inode_put(m, t, vol, &odir);
	if (!ret && ndir != &odir) {
		touch(ndir, true);
		ret = inode_put(m, t, vol, ndir);
	}
	if (ret)
		return ret;
out_reply:
	memset(d, 0, sizeof(*d));
	d->ino = src.attr.ino;
	d->nlink = src.attr.nlink;
	r->flen = sizeof(*d);
	return 0;
}

static int op_readdir(struct mds *m, struct mds_conn *c, MDB_txn *t,
		      const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_readdir_req *q = b->fixed;
	struct vdifs_list_rep *lr = (struct vdifs_list_rep *)r->fixed;
	u32 vol = le32_to_cpu(q->vol), budget = le32_to_cpu(q->max_bytes);
	u64 ino = le64_to_cpu(q->ino), cookie = le64_to_cpu(q->cookie);
	struct mds_inode dir;
	MDB_cursor *cur;
	u8 k[MDS_KEY_BUF];
	MDB_val key, val;
	u32 count = 0;
	int rc, ret;

	if (budget > VDIFS_LIST_MAX_BYTES)
		budget = VDIFS_LIST_MAX_BYTES;
	if (budget < wire_rec_size(sizeof(struct vdifs_dirent), VDIFS_NAME_MAX))
		return -EINVAL;
	if (cookie == UINT64_MAX)
		return -EINVAL;
	ret = dir_get(m, t, vol, ino, &dir);
	if (ret)
		return ret;
	ret = reply_tail_reserve(r, budget);
	if (ret)
		return ret;
	memset(lr, 0, sizeof(*lr));
	r->flen = sizeof(*lr);
	lr->eof = cpu_to_le32(1);
	key.mv_size = key_u64(k, vol, ino, cookie + 1);
	key.mv_data = k;
	rc = mdb_cursor_open(t, m->db.cookies, &cur);
	if (rc)
		return db_err(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct vdifs_dirent rec = { 0 };
		struct mds_dirent de;
		u8 dk[MDS_KEY_BUF];
		int n;

		if (key.mv_size != 20 || memcmp(key.mv_data, k, 12))
			break;
		if (val.mv_size > VDIFS_NAME_MAX)
			continue;
		ret = db_get(t, m->db.dirents, dk,
			     key_name(dk, vol, ino, val.mv_data,
				      (u32)val.mv_size), &de, sizeof(de));
		if (ret < 0)
			break;
		ret = 0;
		rec.ino = de.ino;
		rec.cookie = de.cookie;
		rec.type = de.type;
		rec.name_len = cpu_to_le16((u16)val.mv_size);
		n = wire_rec_put(r->tail + r->tlen, budget - r->tlen, &rec,
				 sizeof(rec), val.mv_data, (u32)val.mv_size);
		if (n < 0) {
			lr->eof = 0;
			break;
		}
		r->tlen += (u32)n;
		count++;
	}
	mdb_cursor_close(cur);
	if (ret)
		return ret;
	if (rc && rc != MDB_NOTFOUND)
		return db_err(rc);
	lr->count = cpu_to_le32(count);
	return 0;
}

#define OPR(o, f) [VDIFS_OP_##o] = { f, MDS_TXN_READ }
#define OPW(o, f) [VDIFS_OP_##o] = { f, MDS_TXN_WRITE }

const struct mds_op ns_ops[VDIFS_OP_MAX] = {
	OPR(LOOKUP, op_lookup),
	OPR(GETATTR, op_getattr),
	OPW(SETATTR, op_setattr),
	OPW(CREATE, op_create_reg),
	OPW(MKDIR, op_mkdir),
	OPW(MKNOD, op_mknod),
	OPW(UNLINK, op_unlink),
	OPW(RMDIR, op_rmdir),
	OPW(RENAME, op_rename),
	OPW(LINK, op_link),
	OPW(SYMLINK, op_symlink),
	OPR(READLINK, op_readlink),
	OPR(READDIR, op_readdir),
};
