// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds volumes: their records, the ops that create, open, list and
 * delete them, and the checks of layout parameters.  A volume is what a
 * client mounts, and every key of the namespace's tables starts with its
 * id, so deleting one is a prefix delete of each table.  Its layout
 * parameters go to its root directory, and a new file or directory takes
 * those it leaves 0 from its parent's: a volume's settings reach every
 * file unless a directory on the way was given others (LAYOUT_SET).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "mds.h"

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
void params_inherit(struct vdifs_layout_params *p,
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

static void vol_info(const struct mds_vol *v, int rights,
		     struct vdifs_vol_info *vi)
{
	memset(vi, 0, sizeof(*vi));
	vi->vol = v->vol;
	if (rights == VDIFS_ACCESS_READ)
		vi->flags = cpu_to_le16(VDIFS_VOL_RDONLY);
	vi->name_len = cpu_to_le16((u16)strlen(v->name));
	vi->root_ino = v->root;
	vi->inodes = v->inodes;
	vi->bytes = v->bytes;
	vi->params = v->params;
}

static int reply_vol(struct mds_reply *r, const struct mds_vol *v, int rights)
{
	size_t nl = strlen(v->name);
	int ret;

	vol_info(v, rights, (struct vdifs_vol_info *)r->fixed);
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
	return reply_vol(r, &v, VDIFS_ACCESS_WRITE);
}

static int op_vol_open(struct mds *m, struct mds_conn *c, MDB_txn *t,
		       const struct wire_body *b, struct mds_reply *r)
{
	struct mds_vol v;
	int ret = vol_by_name(m, t, b->tail[0], b->tail_len[0], &v);

	if (ret)
		return ret;
	ret = access_rights(m, t, c, le32_to_cpu(v.vol));
	if (ret < 0)
		return ret;
	/* a volume one may not use is one not there (as for VOL_LIST) */
	if (ret == VDIFS_ACCESS_NONE)
		return -ENOENT;
	return reply_vol(r, &v, ret);
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
	if (session_vol_busy(m, vol))
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
		ret = access_drop_vol(m, t, vol);
	if (!ret)
		ret = db_del_prefix(t, m->db.lost, k, 4, NULL, NULL);
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
		int n, rights;

		/* LMDB values need not be aligned: copy out */
		if (val.mv_size != sizeof(v))
			continue;
		memcpy(&v, val.mv_data, sizeof(v));
		rights = access_rights(m, t, c, le32_to_cpu(v.vol));
		if (rights < 0) {
			mdb_cursor_close(cur);
			return rights;
		}
		if (rights == VDIFS_ACCESS_NONE)
			continue;
		vol_info(&v, rights, &vi);
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

const struct mds_op vol_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_VOL_CREATE] = { op_vol_create, MDS_TXN_WRITE },
	[VDIFS_OP_VOL_DELETE] = { op_vol_delete, MDS_TXN_WRITE },
	[VDIFS_OP_VOL_LIST] = { op_vol_list, MDS_TXN_READ },
	[VDIFS_OP_VOL_OPEN] = { op_vol_open, MDS_TXN_READ },
	[VDIFS_OP_STATFS] = { op_statfs, MDS_TXN_READ },
};
