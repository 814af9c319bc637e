// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds namespace: volumes, inodes, directories, links, xattrs and
 * chunk layouts.  Every handler runs inside one LMDB transaction (see
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

int reply_attr(struct mds_reply *r, const struct mds_inode *in)
{
	memcpy(r->fixed, &in->attr, sizeof(in->attr));
	r->flen = sizeof(in->attr);
	return 0;
}

/* ---- parameters ---- */

static bool is_pow2(u32 v)
{
	return v && !(v & (v - 1));
}

/* allow_zero: 0 fields mean "inherit" */
int ns_check_params(const struct vdifs_layout_params *p, bool allow_zero)
{
	u32 cs = le32_to_cpu(p->chunk_size), es = le32_to_cpu(p->extent_size);

	if (cs || !allow_zero) {
		if (!is_pow2(cs) || cs < VDIFS_CHUNK_MIN || cs > VDIFS_CHUNK_MAX)
			return -EINVAL;
	}
	if (es != VDIFS_EXTENT_ADAPTIVE &&
	    (!is_pow2(es) || es < VDIFS_EXTENT_MIN || es > VDIFS_EXTENT_MAX))
		return -EINVAL;
	if (cs && es && es > cs)
		return -EINVAL;
	if ((p->replicas || !allow_zero) &&
	    (p->replicas < 1 || p->replicas > VDIFS_MAX_REPLICAS))
		return -EINVAL;
	if (p->repl_mode > VDIFS_REPL_ASYNC)
		return -EINVAL;
	if (p->min_replicas > VDIFS_MAX_REPLICAS ||
	    (p->replicas && p->min_replicas > p->replicas))
		return -EINVAL;
	if (p->pad0 || p->pad1)
		return -EINVAL;
	return 0;
}

/* fill the 0 ("inherit") fields of p from base */
static void params_inherit(struct vdifs_layout_params *p,
			   const struct vdifs_layout_params *base,
			   bool explicit_mode)
{
	if (!p->chunk_size)
		p->chunk_size = base->chunk_size;
	if (!p->extent_size)
		p->extent_size = base->extent_size;
	if (!p->replicas)
		p->replicas = base->replicas;
	if (!explicit_mode)
		p->repl_mode = base->repl_mode;
}

/* ---- records ---- */

int vol_get(struct mds *m, MDB_txn *t, u32 vol, struct mds_vol *v)
{
	u8 k[4];
	int ret;

	put_be32(k, vol);
	ret = db_get(t, m->db.vols, k, 4, v, sizeof(*v));
	return ret < 0 ? ret : 0;
}

static int vol_put(struct mds *m, MDB_txn *t, const struct mds_vol *v)
{
	u8 k[4];

	put_be32(k, le32_to_cpu(v->vol));
	return db_put(t, m->db.vols, k, 4, v, sizeof(*v), 0);
}

int vol_adjust(struct mds *m, MDB_txn *t, u32 vol, s64 dinodes, s64 dbytes)
{
	struct mds_vol v;
	int ret = vol_get(m, t, vol, &v);

	if (ret)
		return ret;
	v.inodes = cpu_to_le64(le64_to_cpu(v.inodes) + (u64)dinodes);
	v.bytes = cpu_to_le64(le64_to_cpu(v.bytes) + (u64)dbytes);
	return vol_put(m, t, &v);
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
	return gc_record(m, t, &c);
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

/* ---- volumes ---- */

static int vol_by_name(struct mds *m, MDB_txn *t, const u8 *name, u32 len,
		       struct mds_vol *v)
{
	u8 k[4];
	int ret;

	ret = db_get(t, m->db.volnames, name, len, k, 4);
	if (ret < 0)
		return ret;
	return vol_get(m, t, get_be32(k), v);
}

static void vol_info(const struct mds_vol *v, struct vdifs_vol_info *vi)
{
	memset(vi, 0, sizeof(*vi));
	vi->vol = v->vol;
	vi->name_len = cpu_to_le16((u16)strlen(v->name));
	vi->root_ino = v->root;
	vi->inodes = v->inodes;
	vi->bytes = v->bytes;
	vi->params = v->params;
}

static int reply_vol(struct mds_reply *r, const struct mds_vol *v)
{
	size_t nl = strlen(v->name);
	int ret;

	vol_info(v, (struct vdifs_vol_info *)r->fixed);
	r->flen = sizeof(struct vdifs_vol_info);
	ret = reply_tail_reserve(r, (u32)nl);
	if (ret)
		return ret;
	memcpy(r->tail, v->name, nl);
	r->tlen = (u32)nl;
	return 0;
}

static int op_vol_create(struct mds *m, struct mds_conn *c, MDB_txn *t,
			 const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_vol_create_req *q = b->fixed;
	struct vdifs_layout_params p = q->params;
	struct mds_inode root;
	struct mds_vol v;
	u64 id;
	u8 k[4];
	int ret;

	ret = ns_check_params(&p, true);
	if (ret)
		return ret;
	if (!p.chunk_size)
		p.chunk_size = cpu_to_le32(VDIFS_CHUNK_DEFAULT);
	if (!p.extent_size && !q->params.chunk_size)
		p.extent_size = cpu_to_le32(VDIFS_EXTENT_DEFAULT);
	if (le32_to_cpu(p.extent_size) > le32_to_cpu(p.chunk_size))
		return -EINVAL;
	if (!p.replicas)
		p.replicas = m->cfg.default_replicas;
	if (p.min_replicas > p.replicas)
		return -EINVAL;
	ret = vol_by_name(m, t, b->tail[0], b->tail_len[0], &v);
	if (ret != -ENOENT)
		return ret ? ret : -EEXIST;
	ret = db_counter_next(t, &m->db, "next_vol", &id);
	if (ret)
		return ret;
	if (id > 0xffffffffull)
		return -ENOSPC;
	memset(&v, 0, sizeof(v));
	v.vol = cpu_to_le32((u32)id);
	v.params = p;
	memcpy(v.name, b->tail[0], b->tail_len[0]);
	ret = vol_put(m, t, &v);
	if (ret)
		return ret;
	put_be32(k, (u32)id);
	ret = db_put(t, m->db.volnames, b->tail[0], b->tail_len[0], k, 4,
		     MDB_NOOVERWRITE);
	if (ret)
		return ret;
	ret = inode_new(m, t, (u32)id, S_IFDIR | 0755, 0, 0, 0, &p, 0, &root);
	if (ret)
		return ret;
	ret = vol_get(m, t, (u32)id, &v);
	if (ret)
		return ret;
	v.root = root.attr.ino;
	ret = vol_put(m, t, &v);
	if (ret)
		return ret;
	log_info("volume %s created (id %u)", v.name, (u32)id);
	return reply_vol(r, &v);
}

static int op_vol_open(struct mds *m, struct mds_conn *c, MDB_txn *t,
		       const struct wire_body *b, struct mds_reply *r)
{
	struct mds_vol v;
	int ret = vol_by_name(m, t, b->tail[0], b->tail_len[0], &v);

	return ret ? ret : reply_vol(r, &v);
}

static int op_vol_delete(struct mds *m, struct mds_conn *c, MDB_txn *t,
			 const struct wire_body *b, struct mds_reply *r)
{
	struct mds_vol v;
	u8 k[4];
	u32 vol;
	int ret;

	ret = vol_by_name(m, t, b->tail[0], b->tail_len[0], &v);
	if (ret)
		return ret;
	vol = le32_to_cpu(v.vol);
	if (member_vol_busy(m, vol))
		return -EBUSY;
	put_be32(k, vol);
	ret = db_del_prefix(t, m->db.chunks, k, 4, gc_chunk, m);
	if (!ret)
		ret = db_del_prefix(t, m->db.inodes, k, 4, NULL, NULL);
	if (!ret)
		ret = db_del_prefix(t, m->db.dirents, k, 4, NULL, NULL);
	if (!ret)
		ret = db_del_prefix(t, m->db.cookies, k, 4, NULL, NULL);
	if (!ret)
		ret = db_del_prefix(t, m->db.xattrs, k, 4, NULL, NULL);
	if (!ret)
		ret = db_del_prefix(t, m->db.symlinks, k, 4, NULL, NULL);
	if (!ret)
		ret = db_del(t, m->db.vols, k, 4);
	if (!ret)
		ret = db_del(t, m->db.volnames, b->tail[0], b->tail_len[0]);
	if (!ret)
		log_info("volume %s deleted", v.name);
	return ret;
}

static int op_vol_list(struct mds *m, struct mds_conn *c, MDB_txn *t,
		       const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_vol_list_req *q = b->fixed;
	struct vdifs_list_rep *lr = (struct vdifs_list_rep *)r->fixed;
	u32 budget = le32_to_cpu(q->max_bytes), count = 0;
	MDB_cursor *cur;
	u8 k[4];
	MDB_val key = { 4, k }, val;
	int rc, ret;

	if (budget > VDIFS_LIST_MAX_BYTES)
		budget = VDIFS_LIST_MAX_BYTES;
	if (budget < sizeof(struct vdifs_vol_info) + 72)
		return -EINVAL;
	ret = reply_tail_reserve(r, budget);
	if (ret)
		return ret;
	put_be32(k, le32_to_cpu(q->after_vol) + 1);
	if (le32_to_cpu(q->after_vol) == 0xffffffffu)
		put_be32(k, 0xffffffffu);
	rc = mdb_cursor_open(t, m->db.vols, &cur);
	if (rc)
		return db_err(rc);
	memset(lr, 0, sizeof(*lr));
	r->flen = sizeof(*lr);
	lr->eof = cpu_to_le32(1);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct mds_vol v;
		struct vdifs_vol_info vi;
		int n;

		/* LMDB values need not be aligned: copy out */
		if (val.mv_size != sizeof(v))
			continue;
		memcpy(&v, val.mv_data, sizeof(v));
		vol_info(&v, &vi);
		n = wire_rec_put(r->tail + r->tlen, budget - r->tlen, &vi,
				 sizeof(vi), v.name, strlen(v.name));
		if (n < 0) {
			lr->eof = 0;
			break;
		}
		r->tlen += (u32)n;
		count++;
	}
	mdb_cursor_close(cur);
	lr->count = cpu_to_le32(count);
	return 0;
}

static int op_statfs(struct mds *m, struct mds_conn *c, MDB_txn *t,
		     const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_ino_req *q = b->fixed;
	struct vdifs_statfs_rep *s = (struct vdifs_statfs_rep *)r->fixed;
	struct mds_vol v;
	u64 total, free;
	int ret;

	ret = vol_get(m, t, le32_to_cpu(q->vol), &v);
	if (ret)
		return ret;
	free = member_free_bytes(m, &total);
	memset(s, 0, sizeof(*s));
	s->bytes_total = cpu_to_le64(total);
	s->bytes_free = cpu_to_le64(free);
	s->files = v.inodes;
	s->files_free = cpu_to_le64((1ull << 48) - le64_to_cpu(v.inodes));
	s->bsize = cpu_to_le32(4096);
	s->namemax = cpu_to_le32(VDIFS_NAME_MAX);
	r->flen = sizeof(*s);
	return 0;
}

/* ---- inodes ---- */

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

/* ---- xattrs ---- */

/* only the user namespace is stored; others are not ours to keep */
static int xattr_check(struct mds *m, MDB_txn *t, u32 vol, u64 ino,
		       const u8 *name, u32 len, struct mds_inode *in,
		       bool write)
{
	int ret;

	if (len <= 5 || memcmp(name, "user.", 5))
		return -EOPNOTSUPP;
	ret = inode_get(m, t, vol, ino, in);
	if (ret)
		return ret;
	if (write && (le32_to_cpu(in->attr.flags) &
		      (VDIFS_ATTR_SNAPSHOT | VDIFS_ATTR_SNAPDIR)))
		return -EROFS;
	/* as on local file systems: user xattrs on files and dirs only */
	if (!S_ISREG(in_mode(in)) && !S_ISDIR(in_mode(in)))
		return -EPERM;
	return 0;
}

static int op_setxattr(struct mds *m, struct mds_conn *c, MDB_txn *t,
		       const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_xattr_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol), flags = le32_to_cpu(q->flags);
	u64 ino = le64_to_cpu(q->ino);
	struct mds_inode in;
	u8 k[MDS_KEY_BUF];
	size_t kl;
	int ret;

	if (flags & ~(VDIFS_XATTR_CREATE | VDIFS_XATTR_REPLACE))
		return -EINVAL;
	ret = xattr_check(m, t, vol, ino, b->tail[0], b->tail_len[0], &in,
			  true);
	if (ret)
		return ret;
	kl = key_name(k, vol, ino, b->tail[0], b->tail_len[0]);
	ret = db_get(t, m->db.xattrs, k, kl, NULL, 0);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	if (ret >= 0 && (flags & VDIFS_XATTR_CREATE))
		return -EEXIST;
	if (ret == -ENOENT && (flags & VDIFS_XATTR_REPLACE))
		return -ENODATA;
	ret = db_put(t, m->db.xattrs, k, kl, b->tail[1], b->tail_len[1], 0);
	if (ret)
		return ret;
	touch(&in, false);
	return inode_put(m, t, vol, &in);
}

static int op_getxattr(struct mds *m, struct mds_conn *c, MDB_txn *t,
		       const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_xattr_req *q = b->fixed;
	struct vdifs_xattr_rep *x = (struct vdifs_xattr_rep *)r->fixed;
	u32 vol = le32_to_cpu(q->vol), cap = le32_to_cpu(q->value_len);
	u64 ino = le64_to_cpu(q->ino);
	struct mds_inode in;
	u8 k[MDS_KEY_BUF];
	MDB_val key, val;
	int ret;

	ret = xattr_check(m, t, vol, ino, b->tail[0], b->tail_len[0], &in,
			  false);
	if (ret)
		return ret;
	key.mv_size = key_name(k, vol, ino, b->tail[0], b->tail_len[0]);
	key.mv_data = k;
	ret = mdb_get(t, m->db.xattrs, &key, &val);
	if (ret == MDB_NOTFOUND)
		return -ENODATA;
	if (ret)
		return db_err(ret);
	memset(x, 0, sizeof(*x));
	r->flen = sizeof(*x);
	x->len = cpu_to_le32((u32)val.mv_size);
	if (!cap)
		return 0;
	if (val.mv_size > cap)
		return -ERANGE;
	ret = reply_tail_reserve(r, (u32)val.mv_size);
	if (ret)
		return ret;
	memcpy(r->tail, val.mv_data, val.mv_size);
	r->tlen = (u32)val.mv_size;
	return 0;
}

static int op_listxattr(struct mds *m, struct mds_conn *c, MDB_txn *t,
			const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_ino_req *q = b->fixed;
	struct vdifs_xattr_rep *x = (struct vdifs_xattr_rep *)r->fixed;
	u32 vol = le32_to_cpu(q->vol);
	u64 ino = le64_to_cpu(q->ino);
	struct mds_inode in;
	MDB_cursor *cur;
	u8 k[12];
	MDB_val key = { key_ino(k, vol, ino), k }, val;
	int rc, ret;

	ret = inode_get(m, t, vol, ino, &in);
	if (ret)
		return ret;
	ret = reply_tail_reserve(r, VDIFS_XATTR_LIST_MAX);
	if (ret)
		return ret;
	rc = mdb_cursor_open(t, m->db.xattrs, &cur);
	if (rc)
		return db_err(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		size_t nl = key.mv_size - 12;

		if (key.mv_size <= 12 || memcmp(key.mv_data, k, 12))
			break;
		if (r->tlen + nl + 1 > VDIFS_XATTR_LIST_MAX) {
			ret = -E2BIG;
			break;
		}
		memcpy(r->tail + r->tlen, (u8 *)key.mv_data + 12, nl);
		r->tail[r->tlen + nl] = '\0';
		r->tlen += (u32)nl + 1;
	}
	mdb_cursor_close(cur);
	if (ret)
		return ret;
	memset(x, 0, sizeof(*x));
	x->len = cpu_to_le32(r->tlen);
	r->flen = sizeof(*x);
	return 0;
}

static int op_removexattr(struct mds *m, struct mds_conn *c, MDB_txn *t,
			  const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_xattr_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	u64 ino = le64_to_cpu(q->ino);
	struct mds_inode in;
	u8 k[MDS_KEY_BUF];
	int ret;

	ret = xattr_check(m, t, vol, ino, b->tail[0], b->tail_len[0], &in,
			  true);
	if (ret)
		return ret;
	ret = db_del(t, m->db.xattrs, k,
		     key_name(k, vol, ino, b->tail[0], b->tail_len[0]));
	if (ret)
		return ret == -ENOENT ? -ENODATA : ret;
	touch(&in, false);
	return inode_put(m, t, vol, &in);
}

/* ---- layouts ---- */

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
	int ret;

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
	ret = reply_tail_reserve(r, count * (u32)sizeof(struct vdifs_chunk));
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

#define OPR(o, f) [VDIFS_OP_##o] = { f, MDS_TXN_READ }
#define OPW(o, f) [VDIFS_OP_##o] = { f, MDS_TXN_WRITE }

const struct mds_op ns_ops[VDIFS_OP_MAX] = {
	OPW(VOL_CREATE, op_vol_create),
	OPW(VOL_DELETE, op_vol_delete),
	OPR(VOL_LIST, op_vol_list),
	OPR(VOL_OPEN, op_vol_open),
	OPR(STATFS, op_statfs),
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
	OPW(SETXATTR, op_setxattr),
	OPR(GETXATTR, op_getxattr),
	OPR(LISTXATTR, op_listxattr),
	OPW(REMOVEXATTR, op_removexattr),
	OPW(LAYOUT_SET, op_layout_set),
	/* a write transaction when it may allocate; see op_layout_get */
	[VDIFS_OP_LAYOUT_GET] = { op_layout_get, MDS_TXN_WRITE,
				  layout_get_writes },
};
