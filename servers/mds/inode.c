// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds inode and directory-entry store, shared by the namespace,
 * volume, xattr, layout and snapshot ops.  The helpers work inside the
 * caller's transaction and leave writing back an inode they changed in
 * memory (touch, nlink_add, dirent_add's directory) to the caller, so
 * that an op writes each record once.  A directory entry is kept twice,
 * by name for lookup and by cookie for readdir: cookies only grow, so a
 * readdir resumes where it stopped however the directory changed since.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "mds.h"

int reply_attr(struct mds_reply *r, const struct mds_inode *in)
{
	memcpy(r->fixed, &in->attr, sizeof(in->attr));
	r->flen = sizeof(in->attr);
	return 0;
}

int inode_get(struct mds *m, MDB_txn *t, u32 vol, u64 ino,
		     struct mds_inode *in)
{
	u8 k[MDS_KEY_BUF];
	int ret;

	ret = db_get(t, m->db.inodes, k, key_ino(k, vol, ino), in,
		     sizeof(*in));
	return ret < 0 ? ret : 0;
}

int inode_put(struct mds *m, MDB_txn *t, u32 vol,
		     const struct mds_inode *in)
{
	u8 k[MDS_KEY_BUF];

	return db_put(t, m->db.inodes, k,
		      key_ino(k, vol, le64_to_cpu(in->attr.ino)), in,
		      sizeof(*in), 0);
}

u32 in_mode(const struct mds_inode *in)
{
	return le32_to_cpu(in->attr.mode);
}

void touch(struct mds_inode *in, bool mtime)
{
	s64 now = mds_now_ns();

	in->attr.ctime_ns = cpu_to_le64((u64)now);
	if (mtime)
		in->attr.mtime_ns = cpu_to_le64((u64)now);
	in->attr.change = cpu_to_le64(le64_to_cpu(in->attr.change) + 1);
}

void nlink_add(struct mds_inode *in, int d)
{
	in->attr.nlink = cpu_to_le32(le32_to_cpu(in->attr.nlink) + (u32)d);
}

/* the parent directory of an operation: exists, in this volume, a dir */
int dir_get(struct mds *m, MDB_txn *t, u32 vol, u64 ino,
		   struct mds_inode *dir)
{
	int ret = inode_get(m, t, vol, ino, dir);

	if (ret)
		return ret;
	return S_ISDIR(in_mode(dir)) ? 0 : -ENOTDIR;
}

int dirent_get(struct mds *m, MDB_txn *t, u32 vol, u64 dir,
		      const u8 *name, u32 len, struct mds_dirent *de)
{
	u8 k[MDS_KEY_BUF];
	int ret;

	ret = db_get(t, m->db.dirents, k, key_name(k, vol, dir, name, len),
		     de, sizeof(*de));
	return ret < 0 ? ret : 0;
}

/* add name -> ino to dir (whose record the caller writes back) */
int dirent_add(struct mds *m, MDB_txn *t, u32 vol,
		      struct mds_inode *dir, const u8 *name, u32 len, u64 ino,
		      u8 type)
{
	u64 d = le64_to_cpu(dir->attr.ino);
	u64 cookie = le64_to_cpu(dir->next_cookie) + 1;
	struct mds_dirent de = {
		.ino = cpu_to_le64(ino), .cookie = cpu_to_le64(cookie),
		.type = type,
	};
	u8 k[MDS_KEY_BUF];
	int ret;

	ret = db_put(t, m->db.dirents, k, key_name(k, vol, d, name, len), &de,
		     sizeof(de), MDB_NOOVERWRITE);
	if (ret)
		return ret;
	dir->next_cookie = cpu_to_le64(cookie);
	return db_put(t, m->db.cookies, k, key_u64(k, vol, d, cookie), name,
		      len, 0);
}

int dirent_del(struct mds *m, MDB_txn *t, u32 vol, u64 dir,
		      const u8 *name, u32 len, const struct mds_dirent *de)
{
	u8 k[MDS_KEY_BUF];
	int ret;

	ret = db_del(t, m->db.dirents, k, key_name(k, vol, dir, name, len));
	if (ret)
		return ret;
	return db_del(t, m->db.cookies, k,
		      key_u64(k, vol, dir, le64_to_cpu(de->cookie)));
}

int dir_is_empty(struct mds *m, MDB_txn *t, u32 vol, u64 dir)
{
	MDB_cursor *cur;
	u8 k[12];
	MDB_val key = { key_ino(k, vol, dir), k }, val;
	int rc;

	rc = mdb_cursor_open(t, m->db.dirents, &cur);
	if (rc)
		return db_err(rc);
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc)
		return db_err(rc);
	return !(key.mv_size >= 12 && !memcmp(key.mv_data, k, 12));
}

int gc_chunk(MDB_txn *t, const MDB_val *k, const MDB_val *v,
		    void *arg)
{
	struct mds *m = arg;
	struct vdifs_chunk c;

	if (v->mv_size != sizeof(c))
		return 0;
	memcpy(&c, v->mv_data, sizeof(c));
	/* the data servers' space is reclaimed from this list later */
	return gc_record(m, t, &c, false);
}

/* drop an inode whose last link is gone, with everything it owns */
int inode_free(struct mds *m, MDB_txn *t, u32 vol,
		      const struct mds_inode *in)
{
	u64 ino = le64_to_cpu(in->attr.ino);
	u8 k[MDS_KEY_BUF];
	size_t kl = key_ino(k, vol, ino);
	int ret;

	ret = db_del(t, m->db.inodes, k, kl);
	if (ret)
		return ret;
	ret = db_del_prefix(t, m->db.xattrs, k, kl, NULL, NULL);
	if (ret)
		return ret;
	ret = db_del_prefix(t, m->db.chunks, k, kl, gc_chunk, m);
	if (ret)
		return ret;
	ret = lost_forget(m, t, vol, ino);
	if (ret)
		return ret;
	if (S_ISLNK(in_mode(in))) {
		ret = db_del(t, m->db.symlinks, k, kl);
		if (ret && ret != -ENOENT)
			return ret;
	}
	if (S_ISREG(in_mode(in)) &&
	    !(le32_to_cpu(in->attr.flags) & VDIFS_ATTR_SNAPSHOT)) {
		ret = snap_free_all(m, t, vol, ino);
		if (ret)
			return ret;
	}
	return vol_adjust(m, t, vol, -1, -(s64)le64_to_cpu(in->attr.size));
}

int inode_new(struct mds *m, MDB_txn *t, u32 vol, u32 mode, u32 uid,
		     u32 gid, u32 rdev, const struct vdifs_layout_params *p,
		     u64 parent, struct mds_inode *in)
{
	s64 now = mds_now_ns();
	u64 ino;
	int ret;

	ret = db_counter_next(t, &m->db, "next_ino", &ino);
	if (ret)
		return ret;
	ino += 1;	/* 1 is never an inode: some tools treat it as bad */
	memset(in, 0, sizeof(*in));
	in->attr.ino = cpu_to_le64(ino);
	in->attr.mode = cpu_to_le32(mode);
	in->attr.uid = cpu_to_le32(uid);
	in->attr.gid = cpu_to_le32(gid);
	in->attr.rdev = cpu_to_le32(rdev);
	in->attr.nlink = cpu_to_le32(S_ISDIR(mode) ? 2 : 1);
	/* numbers are never reused, so one generation serves every inode */
	in->attr.gen = cpu_to_le32(1);
	in->attr.atime_ns = in->attr.mtime_ns = in->attr.ctime_ns =
		cpu_to_le64((u64)now);
	in->attr.change = cpu_to_le64(1);
	in->attr.params = *p;
	in->parent = cpu_to_le64(parent ? parent : ino);
	ret = inode_put(m, t, vol, in);
	if (ret)
		return ret;
	return vol_adjust(m, t, vol, 1, 0);
}
