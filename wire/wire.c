// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs wire codec: framing, bounded body decoding, records.
 *
 * Built into vdifs.ko (through kmod/wire.c) and into every userspace
 * program; see wire.h.  The
 * decoder is table driven: each opcode describes its fixed part and where
 * the lengths of its tails live, so no handler ever parses a length itself
 * and a fuzzer has one function to aim at.
 */
#include "wire.h"

#ifdef __KERNEL__
#include <linux/build_bug.h>
#define WIRE_BUILD_BUG_ON(c) BUILD_BUG_ON(c)
#else
#define WIRE_BUILD_BUG_ON(c) ((void)sizeof(char[1 - 2 * !!(c)]))
#endif

/* kinds of tails */
enum wire_tail_kind {
	WT_NONE = 0,
	WT_NAME,	/* directory entry name */
	WT_VOLNAME,	/* volume name */
	WT_XNAME,	/* xattr name */
	WT_PATH,	/* symlink target */
	WT_HOST,	/* host name, may be empty */
	WT_PRINCIPAL,	/* principal (key) name */
	WT_PRINCIPAL0,	/* principal name, may be empty */
	WT_BYTES,	/* opaque bytes */
	WT_SUMS,	/* block checksums: the field counts them */
};

struct wire_tail_desc {
	u8 kind;
	u8 len_size;	/* 2 or 4: a length field; 0: the rest of the body */
	u16 len_off;	/* offset of the length field in the fixed part */
	u32 max;
};

struct wire_recs_desc {
	u16 size;	/* fixed part of one record, 0 = none */
	s16 name_off;	/* offset of its __le16 name_len, -1: no name */
	u16 count_off;	/* offset of the __le32 count in the fixed part */
};

struct wire_body;

struct wire_msg_desc {
	u16 fixed;
	struct wire_tail_desc tail[2];
	struct wire_recs_desc recs[WIRE_RECS_MAX];
	/* the values a receiver relies on, once the layout is known good */
	int (*check)(u16 opcode, const struct wire_body *b);
};

struct wire_op_desc {
	const char *name;
	struct wire_msg_desc req, rep;
};

#define FIX(t)		.fixed = sizeof(struct t)
#define T16(k, t, f, m)	{ .kind = (k), .len_size = 2,			\
			  .len_off = offsetof(struct t, f), .max = (m) }
#define T32(k, t, f, m)	{ .kind = (k), .len_size = 4,			\
			  .len_off = offsetof(struct t, f), .max = (m) }
#define TREST(k, m)	{ .kind = (k), .len_size = 0, .max = (m) }
#define RECS(r, t, cnt, nm)						\
	{ .size = sizeof(struct r), .name_off = (nm),			\
	  .count_off = offsetof(struct t, cnt) }

#define NAME_OFF(r)	((s16)offsetof(struct r, name_len))

/* ---- replies' values ---- */

/*
 * What a server answers is checked here, once, before anyone uses it: a
 * broken or hostile server must not make a client divide by a zero chunk
 * or block size, turn a live inode into another type, take more bytes
 * than it sent, or follow a replica set that names a server twice.
 */
static bool wire_pow2(u32 v)
{
	return v && !(v & (v - 1));
}

static bool wire_params_ok(const struct vdifs_layout_params *p)
{
	u32 cs = le32_to_cpu(p->chunk_size), es = le32_to_cpu(p->extent_size);

	if (!wire_pow2(cs) || cs < VDIFS_CHUNK_MIN || cs > VDIFS_CHUNK_MAX)
		return false;
	if (es != VDIFS_EXTENT_ADAPTIVE &&
	    (!wire_pow2(es) || es < VDIFS_EXTENT_MIN ||
	     es > VDIFS_EXTENT_MAX || es > cs))
		return false;
	return p->replicas >= 1 && p->replicas <= VDIFS_MAX_REPLICAS &&
	       p->repl_mode <= VDIFS_REPL_ASYNC;
}

int wire_check_attr(const struct vdifs_attr *a)
{
	u32 mode = le32_to_cpu(a->mode);

	if (!a->ino || (mode & ~(S_IFMT | 07777)))
		return -EPROTO;
	switch (mode & S_IFMT) {
	case S_IFREG:
		/* a file's chunks are cut by these */
		return wire_params_ok(&a->params) ? 0 : -EPROTO;
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return 0;
	default:
		return -EPROTO;
	}
}

int wire_check_chunk(const struct vdifs_chunk *c)
{
	unsigned int i, j;

	if (c->nrep > VDIFS_MAX_REPLICAS || (c->chunk_id && !c->nrep))
		return -EPROTO;
	/* distinct servers, none 0, or a primary would forward to itself */
	for (i = 0; i < c->nrep; i++) {
		if (!c->ds[i])
			return -EPROTO;
		for (j = 0; j < i; j++)
			if (c->ds[i] == c->ds[j])
				return -EPROTO;
	}
	return 0;
}

static int wire_check_attr_rep(u16 op, const struct wire_body *b)
{
	return wire_check_attr(&((const struct vdifs_attr_rep *)b->fixed)->attr);
}

static int wire_check_statfs_rep(u16 op, const struct wire_body *b)
{
	const struct vdifs_statfs_rep *r = b->fixed;

	return wire_pow2(le32_to_cpu(r->bsize)) &&
	       le32_to_cpu(r->namemax) <= VDIFS_NAME_MAX ? 0 : -EPROTO;
}

static int wire_check_xattr_rep(u16 op, const struct wire_body *b)
{
	const struct vdifs_xattr_rep *r = b->fixed;

	/* the size asked about, or the bytes that follow: never more */
	if (le32_to_cpu(r->len) > VDIFS_XATTR_SIZE_MAX ||
	    (b->tail_len[0] && le32_to_cpu(r->len) != b->tail_len[0]))
		return -EPROTO;
	return 0;
}

static int wire_check_vol_rep(u16 op, const struct wire_body *b)
{
	const struct vdifs_vol_info *v = b->fixed;

	return v->root_ino && wire_params_ok(&v->params) ? 0 : -EPROTO;
}

static int wire_check_dirents(u16 op, const struct wire_body *b)
{
	struct wire_rec_iter it;
	const void *rec;
	const u8 *name;
	u16 nl;
	int ret;

	wire_rec_iter_init(&it, b, 0, op);
	while ((ret = wire_rec_next(&it, &rec, &name, &nl)) > 0) {
		const struct vdifs_dirent *d = rec;

		/* DT_* fit in four bits */
		if (!d->ino || d->type > 15)
			return -EPROTO;
	}
	return ret;
}

static int wire_check_layout_rep(u16 op, const struct wire_body *b)
{
	const struct vdifs_layout_rep *r = b->fixed;
	u32 cs = le32_to_cpu(r->chunk_size);
	struct wire_rec_iter it;
	const void *rec;
	const u8 *name;
	u16 nl;
	int ret;

	if (!wire_pow2(cs) || cs < VDIFS_CHUNK_MIN || cs > VDIFS_CHUNK_MAX)
		return -EPROTO;
	wire_rec_iter_init(&it, b, 0, op);
	while ((ret = wire_rec_next(&it, &rec, &name, &nl)) > 0)
		if (wire_check_chunk(rec))
			return -EPROTO;
	return ret;
}

static int wire_check_write_req(u16 op, const struct wire_body *b)
{
	const struct vdifs_chunk_req *q = b->fixed;
	u32 n = le16_to_cpu(q->nsums);

	/* sums: one per whole block of data, from a block boundary */
	if (n && ((u64)n * VDIFS_SUM_BLOCK != le32_to_cpu(q->len) ||
		  le32_to_cpu(q->offset) % VDIFS_SUM_BLOCK))
		return -EINVAL;
	return 0;
}

static int wire_check_heartbeat_req(u16 op, const struct wire_body *b)
{
	const struct vdifs_ds_heartbeat_req *q = b->fixed;

	u32 n = b->tail_len[0] / sizeof(struct vdifs_behind);

	/* whole records, no more than the count of mutations behind */
	if (b->tail_len[0] % sizeof(struct vdifs_behind) ||
	    n > le64_to_cpu(q->nbehind))
		return -EINVAL;
	return le16_to_cpu(q->flags) & ~VDIFS_BEHIND_ALL ? -EINVAL : 0;
}

static int wire_check_degrade_rep(u16 op, const struct wire_body *b)
{
	const struct vdifs_chunk *c = b->fixed;

	/* the chunk's capability follows it (v6) */
	if (b->tail_len[0] != sizeof(struct vdifs_chunk_cap))
		return -EPROTO;
	return c->chunk_id && !wire_check_chunk(c) ? 0 : -EPROTO;
}

/* a copy's sums: one per block of each extent the bitmap says it has */
static int wire_check_sums_rep(u16 op, const struct wire_body *b)
{
	const struct vdifs_chunk_sums_rep *r = b->fixed;
	u32 es = le32_to_cpu(r->extent_size), i, n = 0;
	const u8 *map = b->tail[0];

	if (r->pad || es < VDIFS_EXTENT_MIN || es > VDIFS_EXTENT_MAX ||
	    (es & (es - 1)))
		return -EPROTO;
	for (i = 0; i < b->tail_len[0] * 8; i++)
		n += (map[i / 8] >> (i % 8)) & 1;
	if ((u64)n * (es / VDIFS_SUM_BLOCK) * 4 != b->tail_len[1])
		return -EPROTO;
	return 0;
}

/* whole entries, at least one, none with pad set */
static int wire_check_clone_many_req(u16 op, const struct wire_body *b)
{
	struct vdifs_clone_ent e;
	u32 i, n = b->tail_len[0] / sizeof(e);

	if (!n || b->tail_len[0] % sizeof(e))
		return -EPROTO;
	for (i = 0; i < n; i++) {
		/* the tail need not be aligned */
		memcpy(&e, b->tail[0] + (size_t)i * sizeof(e), sizeof(e));
		if (e.pad[0] || e.pad[1] || e.pad[2] || e.pad2 ||
		    !e.chunk_id || !e.base_id)
			return -EPROTO;
	}
	return 0;
}

/* a status for each entry answered */
static int wire_check_clone_many_rep(u16 op, const struct wire_body *b)
{
	const struct vdifs_clone_many_rep *r = b->fixed;

	return (u64)le32_to_cpu(r->count) * 4 == b->tail_len[0] ? 0 : -EPROTO;
}

static const struct wire_op_desc wire_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_HELLO] = { "HELLO",
		.req = { FIX(vdifs_hello_req), .tail = {
			T16(WT_HOST, vdifs_hello_req, name_len,
			    VDIFS_HOSTNAME_MAX),
			T16(WT_PRINCIPAL0, vdifs_hello_req, principal_len,
			    VDIFS_PRINCIPAL_MAX) } },
		.rep = { FIX(vdifs_hello_rep) } },
	[VDIFS_OP_AUTH] = { "AUTH",
		.req = { FIX(vdifs_auth_req) },
		.rep = { FIX(vdifs_auth_rep) } },
	[VDIFS_OP_VOL_CREATE] = { "VOL_CREATE",
		.req = { FIX(vdifs_vol_create_req), .tail = {
			T16(WT_VOLNAME, vdifs_vol_create_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_vol_info), .tail = {
			T16(WT_VOLNAME, vdifs_vol_info, name_len,
			    VDIFS_NAME_MAX) } } },
	[VDIFS_OP_VOL_DELETE] = { "VOL_DELETE",
		.req = { FIX(vdifs_vol_name_req), .tail = {
			T16(WT_VOLNAME, vdifs_vol_name_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { 0 } },
	[VDIFS_OP_VOL_LIST] = { "VOL_LIST",
		.req = { FIX(vdifs_vol_list_req) },
		.rep = { FIX(vdifs_list_rep), .recs = {
			RECS(vdifs_vol_info, vdifs_list_rep, count,
			     NAME_OFF(vdifs_vol_info)) } } },
	[VDIFS_OP_VOL_OPEN] = { "VOL_OPEN",
		.req = { FIX(vdifs_vol_name_req), .tail = {
			T16(WT_VOLNAME, vdifs_vol_name_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_vol_info), .tail = {
			T16(WT_VOLNAME, vdifs_vol_info, name_len,
			    VDIFS_NAME_MAX) }, .check = wire_check_vol_rep } },
	[VDIFS_OP_STATFS] = { "STATFS",
		.req = { FIX(vdifs_ino_req) },
		.rep = { FIX(vdifs_statfs_rep), .check = wire_check_statfs_rep } },
	[VDIFS_OP_LOOKUP] = { "LOOKUP",
		.req = { FIX(vdifs_name_req), .tail = {
			T16(WT_NAME, vdifs_name_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_attr_rep), .check = wire_check_attr_rep } },
	[VDIFS_OP_GETATTR] = { "GETATTR",
		.req = { FIX(vdifs_ino_req) },
		.rep = { FIX(vdifs_attr_rep), .check = wire_check_attr_rep } },
	[VDIFS_OP_SETATTR] = { "SETATTR",
		.req = { FIX(vdifs_setattr_req) },
		.rep = { FIX(vdifs_attr_rep), .check = wire_check_attr_rep } },
	[VDIFS_OP_CREATE] = { "CREATE",
		.req = { FIX(vdifs_create_req), .tail = {
			T16(WT_NAME, vdifs_create_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_attr_rep), .check = wire_check_attr_rep } },
	[VDIFS_OP_MKDIR] = { "MKDIR",
		.req = { FIX(vdifs_create_req), .tail = {
			T16(WT_NAME, vdifs_create_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_attr_rep), .check = wire_check_attr_rep } },
	[VDIFS_OP_MKNOD] = { "MKNOD",
		.req = { FIX(vdifs_create_req), .tail = {
			T16(WT_NAME, vdifs_create_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_attr_rep), .check = wire_check_attr_rep } },
	[VDIFS_OP_UNLINK] = { "UNLINK",
		.req = { FIX(vdifs_name_req), .tail = {
			T16(WT_NAME, vdifs_name_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_dirop_rep) } },
	[VDIFS_OP_RMDIR] = { "RMDIR",
		.req = { FIX(vdifs_name_req), .tail = {
			T16(WT_NAME, vdifs_name_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_dirop_rep) } },
	[VDIFS_OP_RENAME] = { "RENAME",
		.req = { FIX(vdifs_rename_req), .tail = {
			T16(WT_NAME, vdifs_rename_req, oldname_len,
			    VDIFS_NAME_MAX),
			T16(WT_NAME, vdifs_rename_req, newname_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_dirop_rep) } },
	[VDIFS_OP_LINK] = { "LINK",
		.req = { FIX(vdifs_link_req), .tail = {
			T16(WT_NAME, vdifs_link_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_attr_rep), .check = wire_check_attr_rep } },
	[VDIFS_OP_SYMLINK] = { "SYMLINK",
		.req = { FIX(vdifs_symlink_req), .tail = {
			T16(WT_NAME, vdifs_symlink_req, name_len,
			    VDIFS_NAME_MAX),
			T16(WT_PATH, vdifs_symlink_req, target_len,
			    VDIFS_SYMLINK_MAX) } },
		.rep = { FIX(vdifs_attr_rep), .check = wire_check_attr_rep } },
	[VDIFS_OP_READLINK] = { "READLINK",
		.req = { FIX(vdifs_ino_req) },
		.rep = { FIX(vdifs_readlink_rep), .tail = {
			T16(WT_PATH, vdifs_readlink_rep, target_len,
			    VDIFS_SYMLINK_MAX) } } },
	[VDIFS_OP_READDIR] = { "READDIR",
		.req = { FIX(vdifs_readdir_req) },
		.rep = { FIX(vdifs_list_rep), .recs = {
			RECS(vdifs_dirent, vdifs_list_rep, count,
			     NAME_OFF(vdifs_dirent)) },
		  .check = wire_check_dirents } },
	[VDIFS_OP_SETXATTR] = { "SETXATTR",
		.req = { FIX(vdifs_xattr_req), .tail = {
			T16(WT_XNAME, vdifs_xattr_req, name_len,
			    VDIFS_XATTR_NAME_MAX),
			T32(WT_BYTES, vdifs_xattr_req, value_len,
			    VDIFS_XATTR_SIZE_MAX) } },
		.rep = { 0 } },
	[VDIFS_OP_GETXATTR] = { "GETXATTR",
		.req = { FIX(vdifs_xattr_req), .tail = {
			T16(WT_XNAME, vdifs_xattr_req, name_len,
			    VDIFS_XATTR_NAME_MAX) } },
		.rep = { FIX(vdifs_xattr_rep), .tail = {
			TREST(WT_BYTES, VDIFS_XATTR_SIZE_MAX) },
		  .check = wire_check_xattr_rep } },
	[VDIFS_OP_LISTXATTR] = { "LISTXATTR",
		.req = { FIX(vdifs_ino_req) },
		.rep = { FIX(vdifs_xattr_rep), .tail = {
			TREST(WT_BYTES, VDIFS_XATTR_LIST_MAX) } } },
	[VDIFS_OP_REMOVEXATTR] = { "REMOVEXATTR",
		.req = { FIX(vdifs_xattr_req), .tail = {
			T16(WT_XNAME, vdifs_xattr_req, name_len,
			    VDIFS_XATTR_NAME_MAX) } },
		.rep = { 0 } },
	[VDIFS_OP_LAYOUT_SET] = { "LAYOUT_SET",
		.req = { FIX(vdifs_layout_set_req) },
		.rep = { FIX(vdifs_attr_rep) } },
	[VDIFS_OP_LAYOUT_GET] = { "LAYOUT_GET",
		.req = { FIX(vdifs_layout_get_req) },
		.rep = { FIX(vdifs_layout_rep), .recs = {
			RECS(vdifs_chunk, vdifs_layout_rep, count, -1),
			RECS(vdifs_chunk_cap, vdifs_layout_rep, count, -1) },
		  .check = wire_check_layout_rep } },
	[VDIFS_OP_LAYOUT_FORK] = { "LAYOUT_FORK",
		.req = { FIX(vdifs_layout_fork_req) },
		.rep = { 0 } },
	[VDIFS_OP_LAYOUT_DEGRADE] = { "LAYOUT_DEGRADE",
		.req = { FIX(vdifs_layout_degrade_req) },
		.rep = { FIX(vdifs_chunk), .tail = {
			TREST(WT_BYTES, sizeof(struct vdifs_chunk_cap)) },
		  .check = wire_check_degrade_rep } },
	[VDIFS_OP_LAYOUT_CORRUPT] = { "LAYOUT_CORRUPT",
		.req = { FIX(vdifs_layout_degrade_req) },
		.rep = { 0 } },
	[VDIFS_OP_DS_REGISTER] = { "DS_REGISTER",
		.req = { FIX(vdifs_ds_register_req) },
		.rep = { FIX(vdifs_ds_register_rep) } },
	[VDIFS_OP_DS_HEARTBEAT] = { "DS_HEARTBEAT",
		.req = { FIX(vdifs_ds_heartbeat_req), .tail = {
			T16(WT_BYTES, vdifs_ds_heartbeat_req, behind_len,
			    VDIFS_BEHIND_MAX *
			    sizeof(struct vdifs_behind)) },
		  .check = wire_check_heartbeat_req },
		.rep = { 0 } },
	[VDIFS_OP_SESSION_OPEN] = { "SESSION_OPEN",
		.req = { FIX(vdifs_session_open_req), .tail = {
			T16(WT_HOST, vdifs_session_open_req, name_len,
			    VDIFS_HOSTNAME_MAX) } },
		.rep = { FIX(vdifs_session_rep) } },
	[VDIFS_OP_SESSION_HEARTBEAT] = { "SESSION_HEARTBEAT",
		.req = { FIX(vdifs_session_req) },
		.rep = { 0 } },
	[VDIFS_OP_SESSION_CLOSE] = { "SESSION_CLOSE",
		.req = { FIX(vdifs_session_req) },
		.rep = { 0 } },
	[VDIFS_OP_SESSION_BIND] = { "SESSION_BIND",
		.req = { FIX(vdifs_session_req) },
		.rep = { 0 } },
	[VDIFS_OP_DS_ADMIN] = { "DS_ADMIN",
		.req = { FIX(vdifs_ds_admin_req) },
		.rep = { 0 } },
	[VDIFS_OP_SCRUB] = { "SCRUB",
		.req = { FIX(vdifs_scrub_req) },
		.rep = { 0 } },
	[VDIFS_OP_MDS_BACKUP] = { "MDS_BACKUP",
		.req = { FIX(vdifs_backup_req), .tail = {
			T16(WT_PATH, vdifs_backup_req, path_len,
			    VDIFS_SYMLINK_MAX) } },
		.rep = { FIX(vdifs_backup_rep) } },
	[VDIFS_OP_STATUS] = { "STATUS",
		.req = { 0 },
		.rep = { FIX(vdifs_status_rep), .recs = {
			RECS(vdifs_ds_status, vdifs_status_rep, nds, -1),
			RECS(vdifs_session_status, vdifs_status_rep, nsess,
			     NAME_OFF(vdifs_session_status)),
			RECS(vdifs_lost_status, vdifs_status_rep, nlost,
			     -1) } } },
	[VDIFS_OP_CHUNK_READ] = { "CHUNK_READ",
		.req = { FIX(vdifs_chunk_req) },
		.rep = { FIX(vdifs_chunk_io_rep), .tail = {
			T32(WT_SUMS, vdifs_chunk_io_rep, nsums,
			    wire_sums_bytes(WIRE_SUMS_MAX)),
			T32(WT_BYTES, vdifs_chunk_io_rep, len,
			    VDIFS_IO_MAX) } } },
	[VDIFS_OP_CHUNK_WRITE] = { "CHUNK_WRITE",
		.req = { FIX(vdifs_chunk_req), .tail = {
			T16(WT_SUMS, vdifs_chunk_req, nsums,
			    wire_sums_bytes(WIRE_SUMS_MAX)),
			T32(WT_BYTES, vdifs_chunk_req, len, VDIFS_IO_MAX) },
		  .check = wire_check_write_req },
		.rep = { FIX(vdifs_chunk_io_rep) } },
	[VDIFS_OP_CHUNK_PUNCH] = { "CHUNK_PUNCH",
		.req = { FIX(vdifs_chunk_req) },
		.rep = { FIX(vdifs_chunk_io_rep) } },
	[VDIFS_OP_CHUNK_MAP] = { "CHUNK_MAP",
		.req = { FIX(vdifs_chunk_req) },
		.rep = { FIX(vdifs_chunk_map_rep), .tail = {
			T32(WT_BYTES, vdifs_chunk_map_rep, nbytes,
			    VDIFS_MAP_MAX_BYTES) } } },
	[VDIFS_OP_CHUNK_FLUSH] = { "CHUNK_FLUSH",
		.req = { FIX(vdifs_chunk_req) },
		.rep = { 0 } },
	[VDIFS_OP_CHUNK_CLONE] = { "CHUNK_CLONE",
		.req = { FIX(vdifs_chunk_req) },
		.rep = { FIX(vdifs_chunk_io_rep) } },
	[VDIFS_OP_CHUNK_DELETE] = { "CHUNK_DELETE",
		.req = { FIX(vdifs_chunk_req) },
		.rep = { 0 } },
	[VDIFS_OP_CHUNK_STAT] = { "CHUNK_STAT",
		.req = { FIX(vdifs_chunk_req) },
		.rep = { FIX(vdifs_chunk_stat) } },
	[VDIFS_OP_CHUNK_SCRUB] = { "CHUNK_SCRUB",
		.req = { FIX(vdifs_chunk_req) },
		.rep = { FIX(vdifs_chunk_scrub_rep) } },
	[VDIFS_OP_CHUNK_SUMS] = { "CHUNK_SUMS",
		.req = { FIX(vdifs_chunk_req) },
		.rep = { FIX(vdifs_chunk_sums_rep), .tail = {
			T32(WT_BYTES, vdifs_chunk_sums_rep, nbytes,
			    VDIFS_SUMS_MAP_MAX),
			T32(WT_BYTES, vdifs_chunk_sums_rep, sums_len,
			    VDIFS_SUMS_MAX_BYTES) },
		  .check = wire_check_sums_rep } },
	[VDIFS_OP_CHUNK_CLONE_MANY] = { "CHUNK_CLONE_MANY",
		.req = { FIX(vdifs_chunk_req), .tail = {
			T32(WT_BYTES, vdifs_chunk_req, len,
			    VDIFS_CLONE_MANY_MAX *
			    sizeof(struct vdifs_clone_ent)) },
		  .check = wire_check_clone_many_req },
		.rep = { FIX(vdifs_clone_many_rep), .tail = {
			T32(WT_BYTES, vdifs_clone_many_rep, nbytes,
			    VDIFS_CLONE_MANY_MAX * 4) },
		  .check = wire_check_clone_many_rep } },
	[VDIFS_OP_CHUNK_SYNC] = { "CHUNK_SYNC",
		.req = { FIX(vdifs_chunk_req) },
		.rep = { FIX(vdifs_chunk_sync_rep) } },
	[VDIFS_OP_SNAP_CREATE] = { "SNAP_CREATE",
		.req = { FIX(vdifs_snap_req), .tail = {
			T16(WT_NAME, vdifs_snap_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_attr_rep) } },
	[VDIFS_OP_SNAP_DELETE] = { "SNAP_DELETE",
		.req = { FIX(vdifs_snap_req), .tail = {
			T16(WT_NAME, vdifs_snap_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { 0 } },
	[VDIFS_OP_SNAP_LIST] = { "SNAP_LIST",
		.req = { FIX(vdifs_snap_list_req) },
		.rep = { FIX(vdifs_list_rep), .recs = {
			RECS(vdifs_snap_ent, vdifs_list_rep, count,
			     NAME_OFF(vdifs_snap_ent)) } } },
	[VDIFS_OP_SNAP_REVERT] = { "SNAP_REVERT",
		.req = { FIX(vdifs_snap_req), .tail = {
			T16(WT_NAME, vdifs_snap_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_attr_rep) } },
	[VDIFS_OP_CLONE] = { "CLONE",
		.req = { FIX(vdifs_clone_req), .tail = {
			T16(WT_NAME, vdifs_clone_req, name_len,
			    VDIFS_NAME_MAX) } },
		.rep = { FIX(vdifs_attr_rep), .check = wire_check_attr_rep } },
	[VDIFS_OP_CLONE_INTO] = { "CLONE_INTO",
		.req = { FIX(vdifs_clone_req) },
		.rep = { FIX(vdifs_attr_rep) } },
	[VDIFS_OP_CLONE_RANGE] = { "CLONE_RANGE",
		.req = { FIX(vdifs_clone_range_req) },
		.rep = { FIX(vdifs_attr_rep) } },
	[VDIFS_OP_KEY_ADD] = { "KEY_ADD",
		.req = { FIX(vdifs_key_req), .tail = {
			T16(WT_PRINCIPAL, vdifs_key_req, name_len,
			    VDIFS_PRINCIPAL_MAX) } },
		.rep = { FIX(vdifs_key_info), .tail = {
			T16(WT_PRINCIPAL, vdifs_key_info, name_len,
			    VDIFS_PRINCIPAL_MAX) } } },
	[VDIFS_OP_KEY_DELETE] = { "KEY_DELETE",
		.req = { FIX(vdifs_key_req), .tail = {
			T16(WT_PRINCIPAL, vdifs_key_req, name_len,
			    VDIFS_PRINCIPAL_MAX) } },
		.rep = { 0 } },
	[VDIFS_OP_KEY_LIST] = { "KEY_LIST",
		.req = { FIX(vdifs_key_list_req), .tail = {
			T16(WT_PRINCIPAL0, vdifs_key_list_req, name_len,
			    VDIFS_PRINCIPAL_MAX) } },
		.rep = { FIX(vdifs_list_rep), .recs = {
			RECS(vdifs_key_rec, vdifs_list_rep, count,
			     NAME_OFF(vdifs_key_rec)) } } },
	[VDIFS_OP_KEY_CHECK] = { "KEY_CHECK",
		.req = { FIX(vdifs_key_req), .tail = {
			T16(WT_PRINCIPAL, vdifs_key_req, name_len,
			    VDIFS_PRINCIPAL_MAX) } },
		.rep = { FIX(vdifs_key_info), .tail = {
			T16(WT_PRINCIPAL, vdifs_key_info, name_len,
			    VDIFS_PRINCIPAL_MAX) } } },
	[VDIFS_OP_ACCESS_SET] = { "ACCESS_SET",
		.req = { FIX(vdifs_access_req), .tail = {
			T16(WT_PRINCIPAL, vdifs_access_req, name_len,
			    VDIFS_PRINCIPAL_MAX) } },
		.rep = { 0 } },
	[VDIFS_OP_ACCESS_LIST] = { "ACCESS_LIST",
		.req = { FIX(vdifs_access_list_req) },
		.rep = { FIX(vdifs_list_rep), .recs = {
			RECS(vdifs_access_rec, vdifs_list_rep, count,
			     NAME_OFF(vdifs_access_rec)) } } },
};

static const struct wire_op_desc *wire_op(u16 opcode)
{
	if (opcode >= VDIFS_OP_MAX || !wire_ops[opcode].name)
		return NULL;
	return &wire_ops[opcode];
}

const char *wire_op_name(u16 opcode)
{
	const struct wire_op_desc *d = wire_op(opcode);

	return d ? d->name : "UNKNOWN";
}

int wire_fixed_len(u16 opcode, bool reply)
{
	const struct wire_op_desc *d = wire_op(opcode);

	if (!d)
		return -EOPNOTSUPP;
	return reply ? d->rep.fixed : d->req.fixed;
}

u32 wire_csum(const void *buf, size_t len)
{
	return len ? (u32)xxh64(buf, len, 0) : 0;
}

#define WIRE_HDR_CSUM_LEN offsetof(struct vdifs_msg_hdr, hdr_csum)

void wire_hdr_encode(void *buf, const struct wire_hdr *h)
{
	struct vdifs_msg_hdr *m = buf;

	WIRE_BUILD_BUG_ON(sizeof(*m) != 32);
	WIRE_BUILD_BUG_ON(WIRE_HDR_CSUM_LEN != 28);
	m->magic = cpu_to_le32(VDIFS_PROTO_MAGIC);
	m->opcode = cpu_to_le16(h->opcode);
	m->flags = cpu_to_le16(h->flags);
	m->req_id = cpu_to_le64(h->req_id);
	m->body_len = cpu_to_le32(h->body_len);
	m->body_csum = cpu_to_le32(h->body_csum);
	m->status = cpu_to_le32((u32)h->status);
	m->hdr_csum = cpu_to_le32(wire_csum(m, WIRE_HDR_CSUM_LEN));
}

/*
 * Validate a header.  -EBADMSG: corrupt (bad magic or checksum), the
 * connection cannot be trusted further; -EMSGSIZE: body over the limit;
 * -EPROTO: flags we do not know.  An unknown opcode is not an error here:
 * the body is still read and skipped, and the request answered with
 * -EOPNOTSUPP, so that a newer peer can probe an older one.
 */
int wire_hdr_decode(const void *buf, struct wire_hdr *h)
{
	const struct vdifs_msg_hdr *m = buf;

	if (le32_to_cpu(m->magic) != VDIFS_PROTO_MAGIC)
		return -EBADMSG;
	if (le32_to_cpu(m->hdr_csum) != wire_csum(m, WIRE_HDR_CSUM_LEN))
		return -EBADMSG;
	h->opcode = le16_to_cpu(m->opcode);
	h->flags = le16_to_cpu(m->flags);
	h->req_id = le64_to_cpu(m->req_id);
	h->body_len = le32_to_cpu(m->body_len);
	h->body_csum = le32_to_cpu(m->body_csum);
	h->status = (s32)le32_to_cpu(m->status);
	if (h->flags & ~VDIFS_MSG_REPLY)
		return -EPROTO;
	if (h->body_len > VDIFS_BODY_MAX)
		return -EMSGSIZE;
	if (!h->body_len && h->body_csum)
		return -EBADMSG;
	/* a status travels only in replies, and only as an errno */
	if (!(h->flags & VDIFS_MSG_REPLY) && h->status)
		return -EPROTO;
	if (h->status > 0 || h->status < -4095)
		return -EPROTO;
	return 0;
}

/*
 * The bytes of a body its checksum covers: all of it, but for a
 * CHUNK_READ reply with block checksums, whose data they cover.  0: such
 * a reply whose checksums do not fit the body (malformed).
 */
/* a CHUNK_WRITE request with block checksums (v7), as a READ reply */
static u32 wire_write_sums_covered(const struct wire_hdr *h, const void *body)
{
	const struct vdifs_chunk_req *q = body;
	u32 n, covered;

	WIRE_BUILD_BUG_ON(wire_sums_bytes(WIRE_SUMS_MAX) + sizeof(*q) +
			  VDIFS_IO_MAX > VDIFS_BODY_MAX);
	if (h->body_len < sizeof(*q) || !q->nsums)
		return h->body_len;
	n = le16_to_cpu(q->nsums);
	if (n > WIRE_SUMS_MAX)
		return 0;
	covered = sizeof(*q) + wire_sums_bytes(n);
	if ((u64)covered + (u64)n * VDIFS_SUM_BLOCK != h->body_len ||
	    le32_to_cpu(q->len) != n * VDIFS_SUM_BLOCK)
		return 0;
	return covered;
}

u32 wire_sums_covered(const struct wire_hdr *h, const void *body)
{
	const struct vdifs_chunk_io_rep *rep = body;
	u32 n, covered;

	WIRE_BUILD_BUG_ON(sizeof(*rep) != 16);
	WIRE_BUILD_BUG_ON(wire_sums_bytes(WIRE_SUMS_MAX) + sizeof(*rep) +
			  VDIFS_IO_MAX > VDIFS_BODY_MAX);
	if (h->opcode == VDIFS_OP_CHUNK_WRITE && !(h->flags & VDIFS_MSG_REPLY))
		return wire_write_sums_covered(h, body);
	if (h->opcode != VDIFS_OP_CHUNK_READ || !(h->flags & VDIFS_MSG_REPLY) ||
	    h->status || h->body_len < sizeof(*rep) || !rep->nsums)
		return h->body_len;
	n = le32_to_cpu(rep->nsums);
	if (n > WIRE_SUMS_MAX)
		return 0;
	covered = sizeof(*rep) + wire_sums_bytes(n);
	if ((u64)covered + (u64)n * VDIFS_SUM_BLOCK != h->body_len ||
	    le32_to_cpu(rep->len) != n * VDIFS_SUM_BLOCK)
		return 0;
	return covered;
}

int wire_body_check_csum(const struct wire_hdr *h, const void *body)
{
	const struct vdifs_chunk_io_rep *rep = body;
	u32 covered;

	if (!h->body_len)
		return 0;
	covered = wire_sums_covered(h, body);
	if (!covered || wire_csum(body, covered) != h->body_csum)
		return -EBADMSG;
	if (covered == h->body_len)
		return 0;
	if (h->opcode == VDIFS_OP_CHUNK_WRITE) {
		const struct vdifs_chunk_req *q = body;

		return wire_sums_check(q + 1, le16_to_cpu(q->nsums),
				       (const u8 *)body + covered,
				       h->body_len - covered);
	}
	return wire_sums_check(rep + 1, le32_to_cpu(rep->nsums),
			       (const u8 *)body + covered,
			       h->body_len - covered);
}

int wire_sums_check(const void *sums, u32 nsums, const void *data, u32 len)
{
	const u8 *s = sums, *d = data;
	__le32 v;
	u32 i;

	if ((u64)nsums * VDIFS_SUM_BLOCK != len)
		return -EBADMSG;
	for (i = 0; i < nsums; i++) {
		memcpy(&v, s + i * 4, 4);
		if (wire_csum(d + (size_t)i * VDIFS_SUM_BLOCK,
			      VDIFS_SUM_BLOCK) != le32_to_cpu(v))
			return -EBADMSG;
	}
	return 0;
}

void wire_sums_init(struct wire_sums *w, const void *sums, u32 nsums)
{
	w->sums = sums;
	w->nsums = nsums;
	w->next = 0;
	w->fill = 0;
	w->bad = false;
	wire_csum_init(&w->cs);
}

void wire_sums_update(struct wire_sums *w, const void *buf, size_t len)
{
	const u8 *p = buf;

	while (len && !w->bad) {
		u32 take = VDIFS_SUM_BLOCK - w->fill;

		if (take > len)
			take = (u32)len;
		if (w->next >= w->nsums) {
			w->bad = true;	/* more data than checksums */
			break;
		}
		wire_csum_update(&w->cs, p, take);
		w->fill += take;
		p += take;
		len -= take;
		if (w->fill < VDIFS_SUM_BLOCK)
			break;
		if (wire_csum_final(&w->cs) !=
		    le32_to_cpu(w->sums[w->next]))
			w->bad = true;
		w->next++;
		w->fill = 0;
		wire_csum_init(&w->cs);
	}
}

int wire_sums_final(const struct wire_sums *w)
{
	return w->bad || w->fill || w->next != w->nsums ? -EBADMSG : 0;
}

/* ---- name rules ---- */

int wire_check_name(const u8 *name, u32 len)
{
	if (len == 0)
		return -EINVAL;
	if (len > VDIFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	return 0;
}

/* volume names appear in mount sources and command lines: keep them plain */
int wire_check_volname(const u8 *name, u32 len)
{
	u32 i;

	if (len == 0)
		return -EINVAL;
	if (len > 64)
		return -ENAMETOOLONG;
	if (name[0] == '.' || name[0] == '-')
		return -EINVAL;
	for (i = 0; i < len; i++) {
		u8 c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return -EINVAL;
	}
	return 0;
}

/* a principal: 1 to VDIFS_PRINCIPAL_MAX of [A-Za-z0-9._@-] */
int wire_check_principal(const u8 *name, u32 len)
{
	u32 i;

	if (len == 0)
		return -EINVAL;
	if (len > VDIFS_PRINCIPAL_MAX)
		return -ENAMETOOLONG;
	for (i = 0; i < len; i++) {
		u8 c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.' || c == '@'))
			return -EINVAL;
	}
	return 0;
}

int wire_check_xattr_name(const u8 *name, u32 len)
{
	if (len == 0)
		return -EINVAL;
	if (len > VDIFS_XATTR_NAME_MAX)
		return -ERANGE;
	if (memchr(name, '\0', len))
		return -EINVAL;
	return 0;
}

int wire_check_path(const u8 *path, u32 len)
{
	if (len == 0)
		return -ENOENT;
	if (len > VDIFS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	if (memchr(path, '\0', len))
		return -EINVAL;
	return 0;
}

static int wire_check_tail(u8 kind, const u8 *p, u32 len)
{
	switch (kind) {
	case WT_NAME:
		return wire_check_name(p, len);
	case WT_VOLNAME:
		return wire_check_volname(p, len);
	case WT_XNAME:
		return wire_check_xattr_name(p, len);
	case WT_PATH:
		return wire_check_path(p, len);
	case WT_HOST:
		return memchr(p, '\0', len) ? -EINVAL : 0;
	case WT_PRINCIPAL0:
		return len ? wire_check_principal(p, len) : 0;
	case WT_PRINCIPAL:
		return wire_check_principal(p, len);
	default:
		return 0;
	}
}

static u32 wire_get_len(const u8 *fixed, const struct wire_tail_desc *t)
{
	__le16 v16;
	__le32 v32;
	u32 v;

	if (t->len_size == 2) {
		memcpy(&v16, fixed + t->len_off, 2);
		v = le16_to_cpu(v16);
	} else {
		memcpy(&v32, fixed + t->len_off, 4);
		v = le32_to_cpu(v32);
	}
	if (t->kind == WT_SUMS)	/* a count: over the limit stays over */
		return v > WIRE_SUMS_MAX ? 0xffffffffu : wire_sums_bytes(v);
	return v;
}

static int wire_recs_validate(const struct wire_recs_desc *r, const u8 *p,
			      u32 len, u32 count, u32 *used)
{
	u32 off = 0, i;

	/* bound the loop by what the body could hold before trusting count */
	if (count > len / r->size)
		return -EBADMSG;
	for (i = 0; i < count; i++) {
		u32 name_len = 0, sz;

		if (len - off < r->size)
			return -EBADMSG;
		if (r->name_off >= 0) {
			__le16 v;

			memcpy(&v, p + off + r->name_off, 2);
			name_len = le16_to_cpu(v);
			if (name_len > VDIFS_NAME_MAX)
				return -EBADMSG;
		}
		sz = wire_rec_size(r->size, name_len);
		if (len - off < sz)
			return -EBADMSG;
		if (name_len && wire_check_tail(WT_HOST, p + off + r->size,
						name_len))
			return -EBADMSG;
		off += sz;
	}
	*used = off;
	return 0;
}

/*
 * Validate a body against its opcode's description.  On success every
 * pointer in *out lies inside body and every length is within its limit;
 * the lengths add up to exactly len.
 */
int wire_body_decode(u16 opcode, bool reply, s32 status, const void *body,
		     u32 len, struct wire_body *out)
{
	const struct wire_op_desc *d = wire_op(opcode);
	const struct wire_msg_desc *m;
	const u8 *p = body;
	u32 off, i;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!d)
		return -EOPNOTSUPP;
	if (len > VDIFS_BODY_MAX)
		return -EMSGSIZE;
	/* an error reply carries nothing */
	if (reply && status)
		return len ? -EBADMSG : 0;
	m = reply ? &d->rep : &d->req;
	if (len < m->fixed)
		return -EBADMSG;
	out->fixed = p;
	out->fixed_len = m->fixed;
	off = m->fixed;

	for (i = 0; i < 2 && m->tail[i].kind; i++) {
		const struct wire_tail_desc *t = &m->tail[i];
		u32 tl = t->len_size ? wire_get_len(p, t) : len - off;

		if (tl > t->max || tl > len - off)
			return -EBADMSG;
		ret = wire_check_tail(t->kind, p + off, tl);
		if (ret)
			return ret == -ENAMETOOLONG ? ret : -EINVAL;
		out->tail[i] = p + off;
		out->tail_len[i] = tl;
		off += tl;
	}

	for (i = 0; i < WIRE_RECS_MAX && m->recs[i].size; i++) {
		const struct wire_recs_desc *r = &m->recs[i];
		u32 used = 0, count;
		__le32 v;

		memcpy(&v, p + r->count_off, 4);
		count = le32_to_cpu(v);
		ret = wire_recs_validate(r, p + off, len - off, count, &used);
		if (ret)
			return ret;
		out->recs[i] = p + off;
		out->recs_len[i] = used;
		out->nrecs[i] = count;
		off += used;
	}

	if (off != len)
		return -EBADMSG;
	return m->check ? m->check(opcode, out) : 0;
}

int wire_msg_encode(void *buf, size_t cap, u16 opcode, u16 flags, u64 req_id,
		    s32 status, const void *fixed, u32 fixed_len,
		    const void *t1, u32 l1, const void *t2, u32 l2)
{
	u8 *p = buf;
	u64 body = (u64)fixed_len + l1 + l2;
	struct wire_hdr h = {
		.opcode = opcode, .flags = flags, .req_id = req_id,
		.status = status,
	};

	if (body > VDIFS_BODY_MAX || sizeof(struct vdifs_msg_hdr) + body > cap)
		return -EMSGSIZE;
	p += sizeof(struct vdifs_msg_hdr);
	if (fixed_len)
		memcpy(p, fixed, fixed_len);
	if (l1)
		memcpy(p + fixed_len, t1, l1);
	if (l2)
		memcpy(p + fixed_len + l1, t2, l2);
	h.body_len = (u32)body;
	h.body_csum = wire_csum(p, (size_t)body);
	wire_hdr_encode(buf, &h);
	return (int)(sizeof(struct vdifs_msg_hdr) + body);
}

int wire_rec_put(void *dst, u32 cap, const void *rec, u32 fixed,
		 const void *name, u32 name_len)
{
	u32 sz = wire_rec_size(fixed, name_len);
	u8 *p = dst;

	if (sz > cap)
		return -EMSGSIZE;
	memcpy(p, rec, fixed);
	if (name_len)
		memcpy(p + fixed, name, name_len);
	memset(p + fixed + name_len, 0, sz - fixed - name_len);
	return (int)sz;
}

void wire_rec_iter_init(struct wire_rec_iter *it, const struct wire_body *b,
			int which, u16 opcode)
{
	const struct wire_op_desc *d = wire_op(opcode);

	memset(it, 0, sizeof(*it));
	it->name_off = -1;
	if (!d || which < 0 || which >= WIRE_RECS_MAX || !d->rep.recs[which].size)
		return;
	it->p = b->recs[which];
	it->left = b->recs_len[which];
	it->fixed = d->rep.recs[which].size;
	it->name_off = d->rep.recs[which].name_off;
}

int wire_rec_next(struct wire_rec_iter *it, const void **rec,
		  const u8 **name, u16 *name_len)
{
	u32 nl = 0, sz;

	if (!it->left)
		return 0;
	if (it->left < it->fixed)
		return -EBADMSG;
	if (it->name_off >= 0) {
		__le16 v;

		memcpy(&v, it->p + it->name_off, 2);
		nl = le16_to_cpu(v);
	}
	sz = wire_rec_size(it->fixed, nl);
	if (sz > it->left)
		return -EBADMSG;
	*rec = it->p;
	*name = it->p + it->fixed;
	*name_len = (u16)nl;
	it->p += sz;
	it->left -= sz;
	return 1;
}
