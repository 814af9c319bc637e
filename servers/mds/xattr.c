// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds extended attributes.  Values live in a table of their own
 * keyed by inode and name, so that listing them is a scan of one key
 * prefix and freeing an inode drops them with one prefix delete.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "mds.h"

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

const struct mds_op xattr_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_SETXATTR] = { op_setxattr, MDS_TXN_WRITE },
	[VDIFS_OP_GETXATTR] = { op_getxattr, MDS_TXN_READ },
	[VDIFS_OP_LISTXATTR] = { op_listxattr, MDS_TXN_READ },
	[VDIFS_OP_REMOVEXATTR] = { op_removexattr, MDS_TXN_WRITE },
};
