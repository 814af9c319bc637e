// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds snapshots and clones.
 *
 * Nothing is copied.  A chunk that a snapshot or clone starts from is
 * frozen on its data servers (CHUNK_CLONE freezes the base), and whoever
 * goes on writing gets a fresh chunk that starts as a copy-on-write clone
 * of it; the data servers share the frozen chunk's extents and count its
 * references.
 *
 *   snapshot F as S:  S takes F's chunks; F gets clones of them.
 *   clone F as G:     F and G both get clones of F's chunks, which lose
 *                     their own reference (only the clones hold them).
 *   clone S as G:     G gets clones of S's chunks.
 *   revert F to S:    F's chunks go; F gets clones of S's chunks.
 *
 * So creation costs one small message per allocated chunk and no data,
 * whatever the file's size in bytes (bench/clone.sh measures it).
 *
 * Snapshots are inodes linked at /.vdifs-snapshots/<ino>/<name>: the
 * directory per file belongs to the file's owner with mode 0700, so
 * nobody reaches a snapshot who could not reach the file's owner's data.
 * Clients cannot change anything there except through these operations.
 *
 * Chunks nobody references any more are recorded in the gc table inside
 * the transaction that drops them; the collector (gc.c) tells their data
 * servers later, so deletion never waits on a data server.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mds.h"

#define SNAP_ROOT	".vdifs-snapshots"
#define SNAP_ROOT_LEN	(sizeof(SNAP_ROOT) - 1)

/* ---- chunk tables ---- */

/*
 * Give inode `to` a fresh clone of every allocated chunk of `from`.
 * to's chunk table must be empty.  The clones were made on the data
 * servers beforehand (p, intent.c), which froze the bases; a chunk with
 * no prepared clone (the file changed since) is MDS_REPREPARE.
 */
static int chunks_clone_into(struct mds *m, MDB_txn *t, u32 vol,
			     const struct mds_inode *from, u64 to,
			     struct mds_prep *p, u64 *n)
{
	u64 fino = le64_to_cpu(from->attr.ino);
	u8 k[MDS_KEY_BUF];
	MDB_val key = { key_ino(k, vol, fino), k }, val;
	MDB_cursor *cur;
	int rc, ret = 0;

	*n = 0;
	rc = mdb_cursor_open(t, m->db.chunks, &cur);
	if (rc)
		return db_err(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct vdifs_chunk c, nc;
		u8 nk[MDS_KEY_BUF];
		u64 id, idx;

		if (key.mv_size != 20 || memcmp(key.mv_data, k, 12))
			break;
		if (val.mv_size != sizeof(c))
			continue;
		memcpy(&c, val.mv_data, sizeof(c));
		if (!c.chunk_id)
			continue;
		idx = get_be64((u8 *)key.mv_data + 12);
		ret = prep_take(p, &c, &id);
		if (ret)
			break;
		nc = c;
		nc.chunk_id = cpu_to_le64(id);
		nc.version = cpu_to_le64(1);
		ret = db_put(t, m->db.chunks, nk, key_u64(nk, vol, to, idx),
			     &nc, sizeof(nc), 0);
		if (ret)
			break;
		(*n)++;
	}
	mdb_cursor_close(cur);
	if (!ret && rc && rc != MDB_NOTFOUND)
		ret = db_err(rc);
	return ret;
}

/* move every chunk record of inode from to inode to (to's must be empty) */
static int chunks_move(struct mds *m, MDB_txn *t, u32 vol, u64 from, u64 to)
{
	u8 k[MDS_KEY_BUF];
	MDB_val key = { key_ino(k, vol, from), k }, val;
	MDB_cursor *cur;
	int rc, ret = 0;

	rc = mdb_cursor_open(t, m->db.chunks, &cur);
	if (rc)
		return db_err(rc);
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (!rc && key.mv_size == 20 && !memcmp(key.mv_data, k, 12)) {
		u8 nk[MDS_KEY_BUF];
		struct vdifs_chunk c;

		if (val.mv_size == sizeof(c)) {
			memcpy(&c, val.mv_data, sizeof(c));
			ret = db_put(t, m->db.chunks, nk,
				     key_u64(nk, vol, to,
					     get_be64((u8 *)key.mv_data + 12)),
				     &c, sizeof(c), 0);
			if (ret)
				break;
		}
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (ret)
		return ret;
	return rc == MDB_NOTFOUND || !rc ? 0 : db_err(rc);
}

/* drop an inode's chunks: the collector tells the data servers */
static int chunks_release(struct mds *m, MDB_txn *t, u32 vol, u64 ino)
{
	u8 k[MDS_KEY_BUF];

	return db_del_prefix(t, m->db.chunks, k, key_ino(k, vol, ino),
			     gc_chunk, m);
}

/*
 * A live file that a clone starts from: its chunks freeze, it continues
 * in fresh clones of them, and the frozen ones lose the file's reference.
 */
static int chunks_refork(struct mds *m, MDB_txn *t, u32 vol,
			 struct mds_inode *f, struct mds_prep *p)
{
	struct mds_inode tmp = *f;
	u64 ino = le64_to_cpu(f->attr.ino), hidden, n;
	int ret;

	/* park the old records under a number no inode will ever have */
	ret = db_counter_next(t, &m->db, "next_ino", &hidden);
	if (ret)
		return ret;
	hidden += 1;
	ret = chunks_move(m, t, vol, ino, hidden);
	if (ret)
		return ret;
	tmp.attr.ino = cpu_to_le64(hidden);
	ret = chunks_clone_into(m, t, vol, &tmp, ino, p, &n);
	if (ret)
		return ret;
	return chunks_release(m, t, vol, hidden);
}

/* ---- the snapshot area ---- */

int snap_check_dir(const struct mds_inode *dir)
{
	return le32_to_cpu(dir->attr.flags) & VDIFS_ATTR_SNAPDIR ? -EROFS : 0;
}

/* find or make a directory entry name under dir, as a snapshot dir */
static int snapdir_get(struct mds *m, MDB_txn *t, u32 vol, u64 parent,
		       const char *name, u32 mode, u32 uid, u32 gid,
		       bool create, struct mds_inode *out)
{
	struct vdifs_layout_params p = { 0 };
	struct mds_inode dir;
	struct mds_dirent de;
	u32 len = (u32)strlen(name);
	int ret;

	ret = dirent_get(m, t, vol, parent, (const u8 *)name, len, &de);
	if (!ret) {
		ret = inode_get(m, t, vol, le64_to_cpu(de.ino), out);
		if (ret)
			return ret;
		if (!(le32_to_cpu(out->attr.flags) & VDIFS_ATTR_SNAPDIR))
			return -ENOTDIR;	/* a user's file took the name */
		return 0;
	}
	if (ret != -ENOENT || !create)
		return ret;
	ret = inode_get(m, t, vol, parent, &dir);
	if (ret)
		return ret;
	p = dir.attr.params;
	ret = inode_new(m, t, vol, S_IFDIR | mode, uid, gid, 0, &p, parent,
			out);
	if (ret)
		return ret;
	out->attr.flags = cpu_to_le32(VDIFS_ATTR_SNAPDIR);
	ret = inode_put(m, t, vol, out);
	if (ret)
		return ret;
	ret = dirent_add(m, t, vol, &dir, (const u8 *)name, len,
			 le64_to_cpu(out->attr.ino), DT_DIR);
	if (ret)
		return ret;
	nlink_add(&dir, 1);
	touch(&dir, true);
	return inode_put(m, t, vol, &dir);
}

/* the per-file snapshot directory of f: /.vdifs-snapshots/<ino> */
static int snapdir_of(struct mds *m, MDB_txn *t, u32 vol,
		      const struct mds_inode *f, bool create,
		      struct mds_inode *out)
{
	struct mds_inode top;
	struct mds_vol v;
	char name[24];
	int ret;

	ret = vol_get(m, t, vol, &v);
	if (ret)
		return ret;
	ret = snapdir_get(m, t, vol, le64_to_cpu(v.root), SNAP_ROOT, 0755, 0,
			  0, create, &top);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), "%llu",
		 (unsigned long long)le64_to_cpu(f->attr.ino));
	return snapdir_get(m, t, vol, le64_to_cpu(top.attr.ino), name, 0700,
			   le32_to_cpu(f->attr.uid), le32_to_cpu(f->attr.gid),
			   create, out);
}

/* a regular file of this volume: a live one or a snapshot */
static int reg_file(struct mds *m, MDB_txn *t, u32 vol, u64 ino,
		    struct mds_inode *f)
{
	int ret = inode_get(m, t, vol, ino, f);

	if (ret)
		return ret;
	if (S_ISDIR(in_mode(f)))
		return -EISDIR;
	return S_ISREG(in_mode(f)) ? 0 : -EINVAL;
}

/* a regular, live (not snapshot) file of this volume */
static int live_file(struct mds *m, MDB_txn *t, u32 vol, u64 ino,
		     struct mds_inode *f)
{
	int ret = reg_file(m, t, vol, ino, f);

	if (ret)
		return ret;
	if (le32_to_cpu(f->attr.flags) & VDIFS_ATTR_SNAPSHOT)
		return -EROFS;
	return 0;
}

static int snap_lookup(struct mds *m, MDB_txn *t, u32 vol,
		       const struct mds_inode *f, const u8 *name, u32 len,
		       struct mds_inode *sd, struct mds_dirent *de,
		       struct mds_inode *s)
{
	int ret;

	ret = snapdir_of(m, t, vol, f, false, sd);
	if (ret)
		return ret == -ENOENT ? -ENOENT : ret;
	ret = dirent_get(m, t, vol, le64_to_cpu(sd->attr.ino), name, len, de);
	if (ret)
		return ret;
	return inode_get(m, t, vol, le64_to_cpu(de->ino), s);
}

static int op_snap_create(struct mds *m, struct mds_conn *c, MDB_txn *t,
			  const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_snap_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	struct mds_inode f, sd, s;
	struct mds_dirent de;
	u64 n;
	int ret;

	ret = live_file(m, t, vol, le64_to_cpu(q->ino), &f);
	if (ret)
		return ret;
	ret = snapdir_of(m, t, vol, &f, true, &sd);
	if (ret)
		return ret;
	ret = dirent_get(m, t, vol, le64_to_cpu(sd.attr.ino), b->tail[0],
			 b->tail_len[0], &de);
	if (ret != -ENOENT)
		return ret ? ret : -EEXIST;
	ret = inode_new(m, t, vol, S_IFREG | (in_mode(&f) & 07555),
			le32_to_cpu(f.attr.uid), le32_to_cpu(f.attr.gid), 0,
			&f.attr.params, 0, &s);
	if (ret)
		return ret;
	s.attr.size = f.attr.size;
	s.attr.blocks = f.attr.blocks;
	s.attr.mtime_ns = f.attr.mtime_ns;
	s.attr.flags = cpu_to_le32(VDIFS_ATTR_SNAPSHOT);
	s.nchunks = f.nchunks;
	/* the snapshot keeps the chunks as they are; the file moves on */
	ret = chunks_move(m, t, vol, le64_to_cpu(f.attr.ino),
			  le64_to_cpu(s.attr.ino));
	if (!ret)
		ret = chunks_clone_into(m, t, vol, &s, le64_to_cpu(f.attr.ino),
					r->prep, &n);
	if (ret)
		return ret;
	ret = inode_put(m, t, vol, &s);
	if (!ret)
		ret = dirent_add(m, t, vol, &sd, b->tail[0], b->tail_len[0],
				 le64_to_cpu(s.attr.ino), DT_REG);
	if (!ret) {
		touch(&sd, true);
		ret = inode_put(m, t, vol, &sd);
	}
	if (!ret) {
		/* its chunk ids changed: clients must fetch the layout anew */
		touch(&f, false);
		ret = inode_put(m, t, vol, &f);
	}
	if (ret)
		return ret;
	log_info("snapshot '%.*s' of inode %llu: inode %llu, %llu chunks",
		 (int)b->tail_len[0], (const char *)b->tail[0],
		 (unsigned long long)le64_to_cpu(f.attr.ino),
		 (unsigned long long)le64_to_cpu(s.attr.ino),
		 (unsigned long long)n);
	return reply_attr(r, &s);
}

/* drop one snapshot inode from its directory */
static int snap_drop(struct mds *m, MDB_txn *t, u32 vol,
		     struct mds_inode *sd, const u8 *name, u32 len,
		     const struct mds_dirent *de, struct mds_inode *s)
{
	int ret;

	ret = dirent_del(m, t, vol, le64_to_cpu(sd->attr.ino), name, len, de);
	if (ret)
		return ret;
	touch(sd, true);
	ret = inode_put(m, t, vol, sd);
	if (ret)
		return ret;
	return inode_free(m, t, vol, s);
}

static int op_snap_delete(struct mds *m, struct mds_conn *c, MDB_txn *t,
			  const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_snap_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	struct mds_inode f, sd, s;
	struct mds_dirent de;
	int ret;

	ret = live_file(m, t, vol, le64_to_cpu(q->ino), &f);
	if (!ret)
		ret = snap_lookup(m, t, vol, &f, b->tail[0], b->tail_len[0],
				  &sd, &de, &s);
	if (!ret)
		ret = snap_drop(m, t, vol, &sd, b->tail[0], b->tail_len[0],
				&de, &s);
	return ret;
}

static int op_snap_revert(struct mds *m, struct mds_conn *c, MDB_txn *t,
			  const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_snap_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	struct mds_inode f, sd, s;
	struct mds_dirent de;
	u64 ino = le64_to_cpu(q->ino), n;
	s64 dsize;
	int ret;

	ret = live_file(m, t, vol, ino, &f);
	if (!ret)
		ret = snap_lookup(m, t, vol, &f, b->tail[0], b->tail_len[0],
				  &sd, &de, &s);
	if (!ret)
		ret = chunks_release(m, t, vol, ino);
	if (!ret)
		ret = chunks_clone_into(m, t, vol, &s, ino, r->prep, &n);
	if (ret)
		return ret;
	dsize = (s64)le64_to_cpu(s.attr.size) - (s64)le64_to_cpu(f.attr.size);
	f.attr.size = s.attr.size;
	f.attr.blocks = s.attr.blocks;
	f.attr.params = s.attr.params;
	f.nchunks = cpu_to_le64(n);
	touch(&f, true);
	ret = inode_put(m, t, vol, &f);
	if (!ret)
		ret = vol_adjust(m, t, vol, 0, dsize);
	return ret ? ret : reply_attr(r, &f);
}

static int op_snap_list(struct mds *m, struct mds_conn *c, MDB_txn *t,
			const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_snap_list_req *q = b->fixed;
	struct vdifs_list_rep *lr = (struct vdifs_list_rep *)r->fixed;
	u32 vol = le32_to_cpu(q->vol), budget = le32_to_cpu(q->max_bytes);
	u64 cookie = le64_to_cpu(q->cookie), dino;
	struct mds_inode f, sd;
	MDB_cursor *cur;
	u8 k[MDS_KEY_BUF];
	MDB_val key, val;
	u32 count = 0;
	int rc, ret;

	if (budget > VDIFS_LIST_MAX_BYTES)
		budget = VDIFS_LIST_MAX_BYTES;
	if (budget < wire_rec_size(sizeof(struct vdifs_snap_ent),
				   VDIFS_NAME_MAX) || cookie == UINT64_MAX)
		return -EINVAL;
	ret = inode_get(m, t, vol, le64_to_cpu(q->ino), &f);
	if (ret)
		return ret;
	memset(lr, 0, sizeof(*lr));
	r->flen = sizeof(*lr);
	lr->eof = cpu_to_le32(1);
	ret = snapdir_of(m, t, vol, &f, false, &sd);
	if (ret == -ENOENT)
		return 0;		/* no snapshots yet */
	if (ret)
		return ret;
	ret = reply_tail_reserve(r, budget);
	if (ret)
		return ret;
	dino = le64_to_cpu(sd.attr.ino);
	key.mv_size = key_u64(k, vol, dino, cookie + 1);
	key.mv_data = k;
	rc = mdb_cursor_open(t, m->db.cookies, &cur);
	if (rc)
		return db_err(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct vdifs_snap_ent e = { 0 };
		struct mds_dirent de;
		struct mds_inode s;
		int n;

		if (key.mv_size != 20 || memcmp(key.mv_data, k, 12))
			break;
		if (val.mv_size > VDIFS_NAME_MAX)
			continue;
		ret = dirent_get(m, t, vol, dino, val.mv_data,
				 (u32)val.mv_size, &de);
		if (!ret)
			ret = inode_get(m, t, vol, le64_to_cpu(de.ino), &s);
		if (ret)
			break;
		e.ino = s.attr.ino;
		e.cookie = de.cookie;
		e.size = s.attr.size;
		e.ctime_ns = s.attr.ctime_ns;
		e.name_len = cpu_to_le16((u16)val.mv_size);
		n = wire_rec_put(r->tail + r->tlen, budget - r->tlen, &e,
				 sizeof(e), val.mv_data, (u32)val.mv_size);
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
	lr->count = cpu_to_le32(count);
	return 0;
}

/* the source of a clone: a live file (refork it) or a snapshot */
static int clone_source(struct mds *m, MDB_txn *t, u32 vol, u64 ino,
			struct mds_inode *src, struct mds_prep *p)
{
	int ret = reg_file(m, t, vol, ino, src);

	if (ret)
		return ret;
	if (le32_to_cpu(src->attr.flags) & VDIFS_ATTR_SNAPSHOT)
		return 0;
	ret = chunks_refork(m, t, vol, src, p);
	if (ret)
		return ret;
	touch(src, false);
	return inode_put(m, t, vol, src);
}

static int op_clone(struct mds *m, struct mds_conn *c, MDB_txn *t,
		    const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_clone_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	u64 parent = le64_to_cpu(q->parent);
	struct mds_inode src, dir, g;
	struct mds_dirent de;
	u64 n;
	int ret;

	if (q->flags)
		return -EINVAL;
	ret = dir_get(m, t, vol, parent, &dir);
	if (!ret)
		ret = snap_check_dir(&dir);
	if (ret)
		return ret;
	ret = dirent_get(m, t, vol, parent, b->tail[0], b->tail_len[0], &de);
	if (ret != -ENOENT)
		return ret ? ret : -EEXIST;
	/* the clone's chunks are clones of what the source has now */
	ret = reg_file(m, t, vol, le64_to_cpu(q->ino), &src);
	if (ret)
		return ret;
	ret = inode_new(m, t, vol, S_IFREG | (in_mode(&src) & 0777),
			le32_to_cpu(q->uid), le32_to_cpu(q->gid), 0,
			&src.attr.params, 0, &g);
	if (ret)
		return ret;
	ret = chunks_clone_into(m, t, vol, &src, le64_to_cpu(g.attr.ino),
				r->prep, &n);
	if (!ret)
		ret = clone_source(m, t, vol, le64_to_cpu(q->ino), &src,
				   r->prep);
	if (ret)
		return ret;
	g.attr.size = src.attr.size;
	g.attr.blocks = src.attr.blocks;
	g.nchunks = cpu_to_le64(n);
	ret = inode_put(m, t, vol, &g);
	if (!ret)
		ret = vol_adjust(m, t, vol, 0,
				 (s64)le64_to_cpu(g.attr.size));
	if (!ret)
		ret = dirent_add(m, t, vol, &dir, b->tail[0], b->tail_len[0],
				 le64_to_cpu(g.attr.ino), DT_REG);
	if (!ret) {
		touch(&dir, true);
		ret = inode_put(m, t, vol, &dir);
	}
	return ret ? ret : reply_attr(r, &g);
}

static int op_clone_into(struct mds *m, struct mds_conn *c, MDB_txn *t,
			 const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_clone_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	u64 dst = le64_to_cpu(q->dst), n;
	struct mds_inode src, d;
	s64 dsize;
	int ret;

	if (q->flags || dst == le64_to_cpu(q->ino))
		return -EINVAL;
	ret = live_file(m, t, vol, dst, &d);
	if (ret)
		return ret;
	ret = reg_file(m, t, vol, le64_to_cpu(q->ino), &src);
	if (ret)
		return ret;
	ret = chunks_release(m, t, vol, dst);
	if (!ret)
		ret = chunks_clone_into(m, t, vol, &src, dst, r->prep, &n);
	if (!ret)
		ret = clone_source(m, t, vol, le64_to_cpu(q->ino), &src,
				   r->prep);
	if (ret)
		return ret;
	dsize = (s64)le64_to_cpu(src.attr.size) - (s64)le64_to_cpu(d.attr.size);
	d.attr.size = src.attr.size;
	d.attr.blocks = src.attr.blocks;
	d.attr.params = src.attr.params;
	d.nchunks = cpu_to_le64(n);
	touch(&d, true);
	ret = inode_put(m, t, vol, &d);
	if (!ret)
		ret = vol_adjust(m, t, vol, 0, dsize);
	return ret ? ret : reply_attr(r, &d);
}

/* the chunk record of ino at index idx: 1 found, 0 a hole, or -errno */
static int chunk_at(struct mds *m, MDB_txn *t, u32 vol, u64 ino, u64 idx,
		    struct vdifs_chunk *c)
{
	u8 k[MDS_KEY_BUF];
	int ret = db_get(t, m->db.chunks, k, key_u64(k, vol, ino, idx), c,
			 sizeof(*c));

	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	return c->chunk_id ? 1 : 0;
}

/*
 * ino's chunk c at idx goes to the collector; del: its record goes too
 * (otherwise the caller has just recorded another chunk there).
 */
static int chunk_release_at(struct mds *m, MDB_txn *t, u32 vol, u64 ino,
			    u64 idx, struct vdifs_chunk *c, bool del)
{
	u8 k[MDS_KEY_BUF];
	MDB_val kv = { key_u64(k, vol, ino, idx), k };
	MDB_val vv = { sizeof(*c), c };
	int ret = gc_chunk(t, &kv, &vv, m);

	return ret || !del ? ret : db_del(t, m->db.chunks, k, kv.mv_size);
}

/* a prepared clone of chunk c (intent.c), recorded as ino's chunk idx */
static int chunk_clone_to(struct mds *m, MDB_txn *t, u32 vol,
			  struct mds_prep *p, const struct vdifs_chunk *c,
			  u64 ino, u64 idx)
{
	struct vdifs_chunk nc = *c;
	u8 k[MDS_KEY_BUF];
	u64 id;
	int ret;

	ret = prep_take(p, c, &id);
	if (ret)
		return ret;
	nc.chunk_id = cpu_to_le64(id);
	nc.version = cpu_to_le64(1);
	return db_put(t, m->db.chunks, k, key_u64(k, vol, ino, idx), &nc,
		      sizeof(nc), 0);
}

/*
 * FICLONERANGE by whole chunks: dst's chunks in the range are released
 * and become clones of the source's; a live source goes on in fresh
 * clones of the chunks it shared (as chunks_refork does for a whole file).
 */
static int op_clone_range(struct mds *m, struct mds_conn *c, MDB_txn *t,
			  const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_clone_range_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	u64 sino = le64_to_cpu(q->ino), dino = le64_to_cpu(q->dst);
	u64 so = le64_to_cpu(q->src_off), doff = le64_to_cpu(q->dst_off);
	u64 len = le64_to_cpu(q->len), cs, ssize, dsize, i, n;
	struct mds_inode src, d;
	bool live;
	int ret;

	if (q->flags || !len || sino == dino)
		return -EINVAL;
	ret = live_file(m, t, vol, dino, &d);
	if (ret)
		return ret;
	ret = reg_file(m, t, vol, sino, &src);
	if (ret)
		return ret;
	live = !(le32_to_cpu(src.attr.flags) & VDIFS_ATTR_SNAPSHOT);
	cs = le32_to_cpu(src.attr.params.chunk_size);
	ssize = le64_to_cpu(src.attr.size);
	dsize = le64_to_cpu(d.attr.size);
	if (!cs || cs != le32_to_cpu(d.attr.params.chunk_size) ||
	    so % cs || doff % cs || so > ssize || len > ssize - so ||
	    doff > (u64)INT64_MAX || len > (u64)INT64_MAX - doff)
		return -EINVAL;
	/* a partial last chunk only at the source's end, over dst's end */
	if (len % cs && (so + len != ssize || doff + len < dsize))
		return -EINVAL;
	n = (len + cs - 1) / cs;
	for (i = 0; i < n; i++) {
		u64 si = so / cs + i, di = doff / cs + i;
		struct vdifs_chunk sc, dc;
		int have;

		have = chunk_at(m, t, vol, dino, di, &dc);
		if (have < 0)
			return have;
		if (have) {
			ret = chunk_release_at(m, t, vol, dino, di, &dc, true);
			if (ret)
				return ret;
			d.nchunks = cpu_to_le64(le64_to_cpu(d.nchunks) - 1);
		}
		have = chunk_at(m, t, vol, sino, si, &sc);
		if (have <= 0) {
			if (have < 0)
				return have;
			continue;	/* a hole stays a hole */
		}
		ret = chunk_clone_to(m, t, vol, r->prep, &sc, dino, di);
		if (ret)
			return ret;
		d.nchunks = cpu_to_le64(le64_to_cpu(d.nchunks) + 1);
		if (!live)
			continue;
		/* the source's chunk is frozen now: it goes on in a clone */
		ret = chunk_clone_to(m, t, vol, r->prep, &sc, sino, si);
		if (!ret)
			ret = chunk_release_at(m, t, vol, sino, si, &sc, false);
		if (ret)
			return ret;
	}
	if (live) {
		touch(&src, false);
		ret = inode_put(m, t, vol, &src);
		if (ret)
			return ret;
	}
	if (doff + len > dsize) {
		ret = vol_adjust(m, t, vol, 0, (s64)(doff + len - dsize));
		if (ret)
			return ret;
		d.attr.size = cpu_to_le64(doff + len);
		d.attr.blocks = cpu_to_le64((doff + len + 511) / 512);
	}
	touch(&d, true);
	ret = inode_put(m, t, vol, &d);
	return ret ? ret : reply_attr(r, &d);
}

/*
 * A live file's chunk that its data servers hold frozen: left by a
 * snapshot or clone that failed after freezing some bases (a data server
 * down half way, or the MDS dying before its commit).  The file goes on in
 * a clone of it, as after a snapshot, so writes work again.
 */
static int op_layout_fork(struct mds *m, struct mds_conn *c, MDB_txn *t,
			  const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_layout_fork_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol);
	u64 ino = le64_to_cpu(q->ino), idx = le64_to_cpu(q->index);
	struct vdifs_chunk ch;
	struct mds_inode f;
	int ret;

	if (q->pad || !q->chunk_id)
		return -EINVAL;
	ret = live_file(m, t, vol, ino, &f);
	if (ret)
		return ret;
	ret = chunk_at(m, t, vol, ino, idx, &ch);
	if (ret < 0)
		return ret;
	if (!ret || ch.chunk_id != q->chunk_id)
		return 0;	/* replaced already: the client asks again */
	ret = chunk_clone_to(m, t, vol, r->prep, &ch, ino, idx);
	if (!ret)
		ret = chunk_release_at(m, t, vol, ino, idx, &ch, false);
	if (ret)
		return ret;
	log_warn("inode %llu chunk %llu: was frozen, the file goes on in a clone",
		 (unsigned long long)ino, (unsigned long long)idx);
	touch(&f, false);
	return inode_put(m, t, vol, &f);
}

/* a file is gone for good: its snapshots go with it */
int snap_free_all(struct mds *m, MDB_txn *t, u32 vol, u64 ino)
{
	struct mds_inode f = { 0 }, sd, top;
	struct mds_vol v;
	char name[24];
	int ret;

	f.attr.ino = cpu_to_le64(ino);
	ret = snapdir_of(m, t, vol, &f, false, &sd);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	for (;;) {
		u8 k[MDS_KEY_BUF];
		MDB_val key = { key_u64(k, vol, le64_to_cpu(sd.attr.ino), 0),
				k }, val;
		MDB_cursor *cur;
		struct mds_dirent de;
		struct mds_inode s;
		u8 nm[VDIFS_NAME_MAX];
		u32 nl;
		int rc;

		rc = mdb_cursor_open(t, m->db.cookies, &cur);
		if (rc)
			return db_err(rc);
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
		if (rc || key.mv_size != 20 || memcmp(key.mv_data, k, 12) ||
		    val.mv_size > VDIFS_NAME_MAX) {
			mdb_cursor_close(cur);
			break;
		}
		nl = (u32)val.mv_size;
		memcpy(nm, val.mv_data, nl);
		mdb_cursor_close(cur);
		ret = dirent_get(m, t, vol, le64_to_cpu(sd.attr.ino), nm, nl,
				 &de);
		if (!ret)
			ret = inode_get(m, t, vol, le64_to_cpu(de.ino), &s);
		if (!ret)
			ret = snap_drop(m, t, vol, &sd, nm, nl, &de, &s);
		if (ret)
			return ret;
	}
	/* and its now empty directory */
	ret = vol_get(m, t, vol, &v);
	if (!ret)
		ret = snapdir_get(m, t, vol, le64_to_cpu(v.root), SNAP_ROOT,
				  0755, 0, 0, false, &top);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), "%llu", (unsigned long long)ino);
	{
		struct mds_dirent de;

		ret = dirent_get(m, t, vol, le64_to_cpu(top.attr.ino),
				 (const u8 *)name, (u32)strlen(name), &de);
		if (!ret)
			ret = dirent_del(m, t, vol, le64_to_cpu(top.attr.ino),
					 (const u8 *)name, (u32)strlen(name),
					 &de);
		if (ret)
			return ret;
		nlink_add(&top, -1);
		touch(&top, true);
		ret = inode_put(m, t, vol, &top);
		if (!ret) {
			u8 k[MDS_KEY_BUF];

			ret = db_del(t, m->db.inodes, k,
				     key_ino(k, vol, le64_to_cpu(sd.attr.ino)));
		}
	}
	return ret;
}

/* ---- preparing the clones (intent.c) ---- */

/*
 * What an op will clone, found in a read transaction, as prep_clones()
 * wants it: chunks [first, first+count) of ino, times each.  Errors the op
 * itself would give are left to it: then nothing is prepared.
 */
struct clone_plan {
	u32 vol;
	u64 ino, first, count;
	unsigned int times;
};

static int plan_clones(struct mds *m, const struct clone_plan *pl,
		       struct mds_prep **out)
{
	if (!pl->ino || !pl->times || !pl->count) {
		*out = NULL;
		return 0;
	}
	return prep_clones(m, pl->vol, pl->ino, pl->first, pl->count,
			   pl->times, out);
}

/* a live source is cloned twice: for the copy, and to go on in */
static unsigned int clone_times(struct mds *m, MDB_txn *t, u32 vol, u64 ino)
{
	struct mds_inode src;

	if (reg_file(m, t, vol, ino, &src))
		return 0;
	return le32_to_cpu(src.attr.flags) & VDIFS_ATTR_SNAPSHOT ? 1 : 2;
}

/* a revert: the snapshot's chunks */
static int prep_snap_revert(struct mds *m, const struct wire_body *b,
			    struct mds_prep **out)
{
	const struct vdifs_snap_req *q = b->fixed;
	struct clone_plan pl = { .vol = le32_to_cpu(q->vol), .count = ~0ull };
	struct mds_inode f, sd, s;
	struct mds_dirent de;
	MDB_txn *t;
	int ret;

	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	if (!live_file(m, t, pl.vol, le64_to_cpu(q->ino), &f) &&
	    !snap_lookup(m, t, pl.vol, &f, b->tail[0], b->tail_len[0], &sd,
			 &de, &s)) {
		pl.ino = le64_to_cpu(s.attr.ino);
		pl.times = 1;
	}
	mdb_txn_abort(t);
	return plan_clones(m, &pl, out);
}

static int prep_snap_create(struct mds *m, const struct wire_body *b,
			    struct mds_prep **out)
{
	const struct vdifs_snap_req *q = b->fixed;
	struct clone_plan pl = {
		.vol = le32_to_cpu(q->vol), .count = ~0ull, .times = 1,
	};
	struct mds_inode f;
	MDB_txn *t;
	int ret;

	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	if (!live_file(m, t, pl.vol, le64_to_cpu(q->ino), &f))
		pl.ino = le64_to_cpu(q->ino);
	mdb_txn_abort(t);
	return plan_clones(m, &pl, out);
}

static int prep_clone(struct mds *m, const struct wire_body *b,
		      struct mds_prep **out)
{
	const struct vdifs_clone_req *q = b->fixed;
	struct clone_plan pl = {
		.vol = le32_to_cpu(q->vol), .ino = le64_to_cpu(q->ino),
		.count = ~0ull,
	};
	MDB_txn *t;
	int ret;

	/* what the op refuses at once needs nothing prepared */
	if (q->flags || q->dst == q->ino)
		return 0;
	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	pl.times = clone_times(m, t, pl.vol, pl.ino);
	mdb_txn_abort(t);
	return plan_clones(m, &pl, out);
}

static int prep_clone_range(struct mds *m, const struct wire_body *b,
			    struct mds_prep **out)
{
	const struct vdifs_clone_range_req *q = b->fixed;
	struct clone_plan pl = {
		.vol = le32_to_cpu(q->vol), .ino = le64_to_cpu(q->ino),
	};
	struct mds_inode src, d;
	u64 cs, len = le64_to_cpu(q->len), so = le64_to_cpu(q->src_off);
	u64 doff = le64_to_cpu(q->dst_off);
	MDB_txn *t;
	int ret;

	/* what the op refuses at once needs nothing prepared */
	if (q->flags || !len || q->ino == q->dst)
		return 0;
	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	if (!live_file(m, t, pl.vol, le64_to_cpu(q->dst), &d) &&
	    !reg_file(m, t, pl.vol, pl.ino, &src)) {
		cs = le32_to_cpu(src.attr.params.chunk_size);
		if (cs && !(so % cs) && !(doff % cs) &&
		    len <= le64_to_cpu(src.attr.size) &&
		    so <= le64_to_cpu(src.attr.size) - len) {
			pl.first = so / cs;
			pl.count = (so % cs + len + cs - 1) / cs;
			pl.times = clone_times(m, t, pl.vol, pl.ino);
		}
	}
	mdb_txn_abort(t);
	return plan_clones(m, &pl, out);
}

static int prep_fork(struct mds *m, const struct wire_body *b,
		     struct mds_prep **out)
{
	const struct vdifs_layout_fork_req *q = b->fixed;
	struct clone_plan pl = {
		.vol = le32_to_cpu(q->vol), .first = le64_to_cpu(q->index),
		.count = 1, .times = 1,
	};
	struct vdifs_chunk ch;
	struct mds_inode f;
	MDB_txn *t;
	int ret;

	if (q->pad || !q->chunk_id)
		return 0;
	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	/* only the chunk the writer found frozen, if the file still has it */
	if (!live_file(m, t, pl.vol, le64_to_cpu(q->ino), &f) &&
	    chunk_at(m, t, pl.vol, le64_to_cpu(q->ino), pl.first, &ch) > 0 &&
	    ch.chunk_id == q->chunk_id)
		pl.ino = le64_to_cpu(q->ino);
	mdb_txn_abort(t);
	return plan_clones(m, &pl, out);
}

const struct mds_op snap_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_SNAP_CREATE] = { op_snap_create, MDS_TXN_WRITE,
				   .prepare = prep_snap_create },
	[VDIFS_OP_SNAP_DELETE] = { op_snap_delete, MDS_TXN_WRITE },
	[VDIFS_OP_SNAP_LIST] = { op_snap_list, MDS_TXN_READ },
	[VDIFS_OP_SNAP_REVERT] = { op_snap_revert, MDS_TXN_WRITE,
				   .prepare = prep_snap_revert },
	[VDIFS_OP_CLONE] = { op_clone, MDS_TXN_WRITE, .prepare = prep_clone },
	[VDIFS_OP_CLONE_INTO] = { op_clone_into, MDS_TXN_WRITE,
				  .prepare = prep_clone },
	[VDIFS_OP_CLONE_RANGE] = { op_clone_range, MDS_TXN_WRITE,
				   .prepare = prep_clone_range },
	[VDIFS_OP_LAYOUT_FORK] = { op_layout_fork, MDS_TXN_WRITE,
				   .prepare = prep_fork },
};
