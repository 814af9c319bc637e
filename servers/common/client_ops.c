// SPDX-License-Identifier: GPL-2.0
/*
 * libvdifs typed requests: one function per opcode over vdc_call().
 *
 * Each wrapper checks its arguments with the same rules the server
 * applies (wire.c's name checks, the layout parameter limits), so that a
 * caller's mistake comes back as -EINVAL / -ENAMETOOLONG without a round
 * trip and nothing malformed ever leaves through the typed interface
 * (tests that want to send garbage use vdc_call() or vdc_send_raw()).
 * Requests are built little-endian here; replies are copied out of the
 * received buffer with memcpy() (no alignment assumptions) and converted
 * to the host-endian vdc_* views.  Replies handed out as wire structs
 * (struct vdifs_statfs_rep, vdifs_chunk, ...) stay little-endian.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "vdifs_client.h"

/* ---- argument checks ---- */

/* a directory entry name: 1..VDIFS_NAME_MAX bytes, no '/', not . or .. */
static int name_arg(const char *name, u16 *len)
{
	size_t n;
	int ret;

	if (!name)
		return -EINVAL;
	n = strnlen(name, VDIFS_NAME_MAX + 1);
	if (n > VDIFS_NAME_MAX)
		return -ENAMETOOLONG;
	ret = wire_check_name((const u8 *)name, (u32)n);
	if (ret)
		return ret;
	*len = (u16)n;
	return 0;
}

static int volname_arg(const char *name, u16 *len)
{
	size_t n;
	int ret;

	if (!name)
		return -EINVAL;
	n = strnlen(name, 65);
	ret = wire_check_volname((const u8 *)name, (u32)n);
	if (ret)
		return ret;
	*len = (u16)n;
	return 0;
}

/* xattr names: the limits of setxattr(2), ERANGE for a long one */
static int xname_arg(const char *name, u16 *len)
{
	size_t n;
	int ret;

	if (!name)
		return -EINVAL;
	n = strnlen(name, VDIFS_XATTR_NAME_MAX + 1);
	ret = wire_check_xattr_name((const u8 *)name, (u32)n);
	if (ret)
		return ret;
	*len = (u16)n;
	return 0;
}

static bool is_pow2(u32 v)
{
	return v && !(v & (v - 1));
}

/* 0 in any field means "inherit" and is always accepted */
static int params_arg(const struct vdc_params *p)
{
	if (!p)
		return 0;
	if (p->chunk_size && (!is_pow2(p->chunk_size) ||
			      p->chunk_size < VDIFS_CHUNK_MIN ||
			      p->chunk_size > VDIFS_CHUNK_MAX))
		return -EINVAL;
	if (p->extent_size && (!is_pow2(p->extent_size) ||
			       p->extent_size < VDIFS_EXTENT_MIN ||
			       p->extent_size > VDIFS_EXTENT_MAX))
		return -EINVAL;
	if (p->replicas > VDIFS_MAX_REPLICAS)
		return -EINVAL;
	if (p->repl_mode != VDIFS_REPL_SYNC && p->repl_mode != VDIFS_REPL_ASYNC)
		return -EINVAL;
	return 0;
}

/* ---- conversions ---- */

void vdc_params_to_wire(struct vdifs_layout_params *w,
			const struct vdc_params *p)
{
	memset(w, 0, sizeof(*w));
	if (!p)
		return;
	w->chunk_size = cpu_to_le32(p->chunk_size);
	w->extent_size = cpu_to_le32(p->extent_size);
	w->replicas = p->replicas;
	w->repl_mode = p->repl_mode;
	w->min_replicas = p->min_replicas;
}

void vdc_params_from_wire(struct vdc_params *p,
			  const struct vdifs_layout_params *w)
{
	memset(p, 0, sizeof(*p));
	p->chunk_size = le32_to_cpu(w->chunk_size);
	p->extent_size = le32_to_cpu(w->extent_size);
	p->replicas = w->replicas;
	p->repl_mode = w->repl_mode;
	p->min_replicas = w->min_replicas;
}

void vdc_attr_from_wire(struct vdc_attr *a, const struct vdifs_attr *w)
{
	memset(a, 0, sizeof(*a));
	a->ino = le64_to_cpu(w->ino);
	a->size = le64_to_cpu(w->size);
	a->blocks = le64_to_cpu(w->blocks);
	a->change = le64_to_cpu(w->change);
	a->atime_ns = (s64)le64_to_cpu(w->atime_ns);
	a->mtime_ns = (s64)le64_to_cpu(w->mtime_ns);
	a->ctime_ns = (s64)le64_to_cpu(w->ctime_ns);
	a->mode = le32_to_cpu(w->mode);
	a->uid = le32_to_cpu(w->uid);
	a->gid = le32_to_cpu(w->gid);
	a->nlink = le32_to_cpu(w->nlink);
	a->rdev = le32_to_cpu(w->rdev);
	a->gen = le32_to_cpu(w->gen);
	vdc_params_from_wire(&a->params, &w->params);
}

static void vol_from_wire(struct vdc_vol *v, const struct vdifs_vol_info *w,
			  const u8 *name, u32 name_len)
{
	memset(v, 0, sizeof(*v));
	v->vol = le32_to_cpu(w->vol);
	if (name_len > sizeof(v->name) - 1)
		name_len = sizeof(v->name) - 1;
	if (name_len)
		memcpy(v->name, name, name_len);
	v->name[name_len] = '\0';
	v->root_ino = le64_to_cpu(w->root_ino);
	v->inodes = le64_to_cpu(w->inodes);
	v->bytes = le64_to_cpu(w->bytes);
	v->rdonly = le16_to_cpu(w->flags) & VDIFS_VOL_RDONLY;
	vdc_params_from_wire(&v->params, &w->params);
}

/* copy the fixed part of a reply; -EPROTO if the server sent less */
static int rep_fixed(const struct vdc_msg *m, void *dst, size_t len)
{
	if (!m->body.fixed || m->body.fixed_len < len)
		return -EPROTO;
	memcpy(dst, m->body.fixed, len);
	return 0;
}

/* calls that answer with a struct vdifs_attr_rep */
static int call_attr(struct vdc_conn *c, u16 op, const void *fixed, u32 flen,
		     const void *t1, u32 l1, const void *t2, u32 l2,
		     struct vdc_attr *out)
{
	struct vdifs_attr_rep r;
	struct vdc_msg m;
	int ret;

	ret = vdc_call(c, op, fixed, flen, t1, l1, t2, l2, &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, &r, sizeof(r));
	if (!ret && out)
		vdc_attr_from_wire(out, &r.attr);
	vdc_msg_free(&m);
	return ret;
}

/* ---- volumes ---- */

static int call_vol(struct vdc_conn *c, u16 op, const void *fixed, u32 flen,
		    const char *name, u16 nlen, struct vdc_vol *out)
{
	struct vdifs_vol_info vi;
	struct vdc_msg m;
	int ret;

	ret = vdc_call(c, op, fixed, flen, name, nlen, NULL, 0, &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, &vi, sizeof(vi));
	if (!ret && out)
		vol_from_wire(out, &vi, m.body.tail[0], m.body.tail_len[0]);
	vdc_msg_free(&m);
	return ret;
}

int vdc_vol_create(struct vdc_conn *c, const char *name,
		   const struct vdc_params *p, struct vdc_vol *out)
{
	struct vdifs_vol_create_req req;
	u16 nlen;
	int ret;

	ret = volname_arg(name, &nlen);
	if (ret)
		return ret;
	ret = params_arg(p);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	vdc_params_to_wire(&req.params, p);
	req.name_len = cpu_to_le16(nlen);
	return call_vol(c, VDIFS_OP_VOL_CREATE, &req, sizeof(req), name, nlen,
			out);
}

int vdc_vol_open(struct vdc_conn *c, const char *name, struct vdc_vol *out)
{
	struct vdifs_vol_name_req req;
	u16 nlen;
	int ret;

	ret = volname_arg(name, &nlen);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.name_len = cpu_to_le16(nlen);
	return call_vol(c, VDIFS_OP_VOL_OPEN, &req, sizeof(req), name, nlen,
			out);
}

int vdc_vol_delete(struct vdc_conn *c, const char *name)
{
	struct vdifs_vol_name_req req;
	u16 nlen;
	int ret;

	ret = volname_arg(name, &nlen);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.name_len = cpu_to_le16(nlen);
	return vdc_call(c, VDIFS_OP_VOL_DELETE, &req, sizeof(req), name, nlen,
			NULL, 0, NULL);
}

/*
 * Pages through VOL_LIST.  cb returning < 0 aborts with that value, > 0
 * stops early; the return value is the number of volumes passed to cb.
 */
int vdc_vol_list(struct vdc_conn *c,
		 int (*cb)(const struct vdc_vol *v, void *arg), void *arg)
{
	u32 after = 0;
	int total = 0;

	for (;;) {
		struct vdifs_vol_list_req req;
		struct vdifs_list_rep lr;
		struct wire_rec_iter it;
		const void *rec;
		const u8 *name;
		u16 nlen;
		struct vdc_msg m;
		bool eof, progress = false;
		int ret, r;

		memset(&req, 0, sizeof(req));
		req.after_vol = cpu_to_le32(after);
		req.max_bytes = cpu_to_le32(VDIFS_LIST_MAX_BYTES);
		ret = vdc_call(c, VDIFS_OP_VOL_LIST, &req, sizeof(req),
			       NULL, 0, NULL, 0, &m);
		if (ret)
			return ret;
		ret = rep_fixed(&m, &lr, sizeof(lr));
		if (ret) {
			vdc_msg_free(&m);
			return ret;
		}
		eof = le32_to_cpu(lr.eof) != 0;
		wire_rec_iter_init(&it, &m.body, 0, VDIFS_OP_VOL_LIST);
		while ((r = wire_rec_next(&it, &rec, &name, &nlen)) > 0) {
			struct vdifs_vol_info vi;
			struct vdc_vol v;

			memcpy(&vi, rec, sizeof(vi));
			vol_from_wire(&v, &vi, name, nlen);
			if (v.vol <= after) {
				/* the list must move forward */
				vdc_msg_free(&m);
				return -EPROTO;
			}
			after = v.vol;
			progress = true;
			total++;
			if (cb) {
				ret = cb(&v, arg);
				if (ret) {
					vdc_msg_free(&m);
					return ret < 0 ? ret : total;
				}
			}
		}
		vdc_msg_free(&m);
		if (r < 0)
			return -EPROTO;
		if (eof)
			return total;
		if (!progress)
			return -EPROTO;
	}
}

int vdc_statfs(struct vdc_conn *c, u32 vol, struct vdifs_statfs_rep *out)
{
	struct vdifs_ino_req req;
	struct vdifs_statfs_rep r;
	struct vdc_msg m;
	int ret;

	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	ret = vdc_call(c, VDIFS_OP_STATFS, &req, sizeof(req), NULL, 0, NULL, 0,
		       &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, &r, sizeof(r));
	if (!ret && out)
		*out = r;
	vdc_msg_free(&m);
	return ret;
}

/* ---- namespace ---- */

static int name_op(struct vdc_conn *c, u16 op, u32 vol, u64 parent,
		   const char *name, struct vdc_attr *out)
{
	struct vdifs_name_req req;
	u16 nlen;
	int ret;

	ret = name_arg(name, &nlen);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.name_len = cpu_to_le16(nlen);
	req.parent = cpu_to_le64(parent);
	if (op == VDIFS_OP_LOOKUP)
		return call_attr(c, op, &req, sizeof(req), name, nlen, NULL, 0,
				 out);
	return vdc_call(c, op, &req, sizeof(req), name, nlen, NULL, 0, NULL);
}

int vdc_lookup(struct vdc_conn *c, u32 vol, u64 parent, const char *name,
	       struct vdc_attr *out)
{
	return name_op(c, VDIFS_OP_LOOKUP, vol, parent, name, out);
}

int vdc_getattr(struct vdc_conn *c, u32 vol, u64 ino, struct vdc_attr *out)
{
	struct vdifs_ino_req req;

	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.ino = cpu_to_le64(ino);
	return call_attr(c, VDIFS_OP_GETATTR, &req, sizeof(req), NULL, 0,
			 NULL, 0, out);
}

int vdc_setattr(struct vdc_conn *c, u32 vol, u64 ino,
		const struct vdc_setattr *sa, struct vdc_attr *out)
{
	struct vdifs_setattr_req req;

	if (!sa || (sa->valid & ~VDIFS_SETATTR_ALL))
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.valid = cpu_to_le32(sa->valid);
	req.ino = cpu_to_le64(ino);
	req.mode = cpu_to_le32(sa->mode);
	req.uid = cpu_to_le32(sa->uid);
	req.gid = cpu_to_le32(sa->gid);
	req.size = cpu_to_le64(sa->size);
	req.atime_ns = cpu_to_le64((u64)sa->atime_ns);
	req.mtime_ns = cpu_to_le64((u64)sa->mtime_ns);
	req.ctime_ns = cpu_to_le64((u64)sa->ctime_ns);
	return call_attr(c, VDIFS_OP_SETATTR, &req, sizeof(req), NULL, 0,
			 NULL, 0, out);
}

int vdc_create(struct vdc_conn *c, u32 vol, u64 parent, const char *name,
	       u32 mode, u32 rdev, u32 uid, u32 gid, bool excl,
	       const struct vdc_params *p, struct vdc_attr *out)
{
	struct vdifs_create_req req;
	u16 nlen, op;
	int ret;

	ret = name_arg(name, &nlen);
	if (ret)
		return ret;
	ret = params_arg(p);
	if (ret)
		return ret;
	switch (mode & S_IFMT) {
	case S_IFREG:
		op = VDIFS_OP_CREATE;
		break;
	case S_IFDIR:
		op = VDIFS_OP_MKDIR;
		break;
	default:
		op = VDIFS_OP_MKNOD;
		break;
	}
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.name_len = cpu_to_le16(nlen);
	req.flags = cpu_to_le16(excl ? VDIFS_CREATE_EXCL : 0);
	req.parent = cpu_to_le64(parent);
	req.mode = cpu_to_le32(mode);
	req.uid = cpu_to_le32(uid);
	req.gid = cpu_to_le32(gid);
	req.rdev = cpu_to_le32(rdev);
	vdc_params_to_wire(&req.params, p);
	return call_attr(c, op, &req, sizeof(req), name, nlen, NULL, 0, out);
}

int vdc_unlink(struct vdc_conn *c, u32 vol, u64 parent, const char *name)
{
	return name_op(c, VDIFS_OP_UNLINK, vol, parent, name, NULL);
}

int vdc_rmdir(struct vdc_conn *c, u32 vol, u64 parent, const char *name)
{
	return name_op(c, VDIFS_OP_RMDIR, vol, parent, name, NULL);
}

int vdc_rename(struct vdc_conn *c, u32 vol, u64 olddir, const char *oldname,
	       u64 newdir, const char *newname, u32 flags)
{
	struct vdifs_rename_req req;
	u16 olen, nlen;
	int ret;

	ret = name_arg(oldname, &olen);
	if (ret)
		return ret;
	ret = name_arg(newname, &nlen);
	if (ret)
		return ret;
	if (flags & ~(VDIFS_RENAME_NOREPLACE | VDIFS_RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & VDIFS_RENAME_NOREPLACE) && (flags & VDIFS_RENAME_EXCHANGE))
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.flags = cpu_to_le32(flags);
	req.olddir = cpu_to_le64(olddir);
	req.newdir = cpu_to_le64(newdir);
	req.oldname_len = cpu_to_le16(olen);
	req.newname_len = cpu_to_le16(nlen);
	return vdc_call(c, VDIFS_OP_RENAME, &req, sizeof(req), oldname, olen,
			newname, nlen, NULL);
}

int vdc_link(struct vdc_conn *c, u32 vol, u64 ino, u64 newparent,
	     const char *name, struct vdc_attr *out)
{
	struct vdifs_link_req req;
	u16 nlen;
	int ret;

	ret = name_arg(name, &nlen);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.name_len = cpu_to_le16(nlen);
	req.ino = cpu_to_le64(ino);
	req.newparent = cpu_to_le64(newparent);
	return call_attr(c, VDIFS_OP_LINK, &req, sizeof(req), name, nlen,
			 NULL, 0, out);
}

int vdc_symlink(struct vdc_conn *c, u32 vol, u64 parent, const char *name,
		const char *target, u32 uid, u32 gid, struct vdc_attr *out)
{
	struct vdifs_symlink_req req;
	size_t tlen;
	u16 nlen;
	int ret;

	ret = name_arg(name, &nlen);
	if (ret)
		return ret;
	if (!target)
		return -EINVAL;
	tlen = strnlen(target, VDIFS_SYMLINK_MAX + 1);
	ret = wire_check_path((const u8 *)target, (u32)tlen);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.name_len = cpu_to_le16(nlen);
	req.target_len = cpu_to_le16((u16)tlen);
	req.parent = cpu_to_le64(parent);
	req.uid = cpu_to_le32(uid);
	req.gid = cpu_to_le32(gid);
	return call_attr(c, VDIFS_OP_SYMLINK, &req, sizeof(req), name, nlen,
			 target, (u32)tlen, out);
}

/* -ERANGE when buf cannot hold the target and its NUL */
int vdc_readlink(struct vdc_conn *c, u32 vol, u64 ino, char *buf,
		 size_t cap)
{
	struct vdifs_ino_req req;
	struct vdifs_readlink_rep r;
	struct vdc_msg m;
	u32 len;
	int ret;

	if (!buf || !cap)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.ino = cpu_to_le64(ino);
	ret = vdc_call(c, VDIFS_OP_READLINK, &req, sizeof(req), NULL, 0,
		       NULL, 0, &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, &r, sizeof(r));
	if (ret)
		goto out;
	len = m.body.tail_len[0];
	if (len >= cap) {
		ret = -ERANGE;
		goto out;
	}
	memcpy(buf, m.body.tail[0], len);
	buf[len] = '\0';
	ret = (int)len;
out:
	vdc_msg_free(&m);
	return ret;
}

int vdc_readdir(struct vdc_conn *c, u32 vol, u64 ino, u64 cookie,
		u32 max_bytes,
		int (*cb)(const struct vdc_dirent *d, void *arg), void *arg,
		bool *eof)
{
	struct vdifs_readdir_req req;
	struct vdifs_list_rep lr;
	struct wire_rec_iter it;
	struct vdc_dirent d;
	const void *rec;
	const u8 *name;
	u16 nlen;
	struct vdc_msg m;
	bool all = true;
	int ret, r, n = 0;

	if (eof)
		*eof = false;
	if (!max_bytes || max_bytes > VDIFS_LIST_MAX_BYTES)
		max_bytes = VDIFS_LIST_MAX_BYTES;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.max_bytes = cpu_to_le32(max_bytes);
	req.ino = cpu_to_le64(ino);
	req.cookie = cpu_to_le64(cookie);
	ret = vdc_call(c, VDIFS_OP_READDIR, &req, sizeof(req), NULL, 0,
		       NULL, 0, &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, &lr, sizeof(lr));
	if (ret)
		goto out;
	wire_rec_iter_init(&it, &m.body, 0, VDIFS_OP_READDIR);
	while ((r = wire_rec_next(&it, &rec, &name, &nlen)) > 0) {
		struct vdifs_dirent de;

		memcpy(&de, rec, sizeof(de));
		memset(&d, 0, sizeof(d));
		d.ino = le64_to_cpu(de.ino);
		d.cookie = le64_to_cpu(de.cookie);
		d.type = de.type;
		if (nlen > VDIFS_NAME_MAX) {
			ret = -EPROTO;
			goto out;
		}
		memcpy(d.name, name, nlen);
		d.name[nlen] = '\0';
		n++;
		if (cb) {
			ret = cb(&d, arg);
			if (ret < 0)
				goto out;
			if (ret > 0) {
				all = false;
				break;
			}
		}
	}
	if (r < 0) {
		ret = -EPROTO;
		goto out;
	}
	if (eof)
		*eof = all && le32_to_cpu(lr.eof);
	ret = n;
out:
	vdc_msg_free(&m);
	return ret;
}

/* ---- xattrs ---- */

int vdc_setxattr(struct vdc_conn *c, u32 vol, u64 ino, const char *name,
		 const void *value, size_t len, u32 flags)
{
	struct vdifs_xattr_req req;
	u16 nlen;
	int ret;

	ret = xname_arg(name, &nlen);
	if (ret)
		return ret;
	if (len > VDIFS_XATTR_SIZE_MAX)
		return -E2BIG;
	if (len && !value)
		return -EINVAL;
	if (flags & ~(VDIFS_XATTR_CREATE | VDIFS_XATTR_REPLACE))
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.flags = cpu_to_le32(flags);
	req.ino = cpu_to_le64(ino);
	req.name_len = cpu_to_le16(nlen);
	req.value_len = cpu_to_le32((u32)len);
	return vdc_call(c, VDIFS_OP_SETXATTR, &req, sizeof(req), name, nlen,
			value, (u32)len, NULL);
}

int vdc_getxattr(struct vdc_conn *c, u32 vol, u64 ino, const char *name,
		 void *buf, size_t cap)
{
	struct vdifs_xattr_req req;
	struct vdifs_xattr_rep r;
	struct vdc_msg m;
	u32 tl;
	u16 nlen;
	int ret;

	ret = xname_arg(name, &nlen);
	if (ret)
		return ret;
	if (cap && !buf)
		return -EINVAL;
	if (cap > VDIFS_XATTR_SIZE_MAX)
		cap = VDIFS_XATTR_SIZE_MAX;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.ino = cpu_to_le64(ino);
	req.name_len = cpu_to_le16(nlen);
	req.value_len = cpu_to_le32((u32)cap);
	ret = vdc_call(c, VDIFS_OP_GETXATTR, &req, sizeof(req), name, nlen,
		       NULL, 0, &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, &r, sizeof(r));
	if (ret)
		goto out;
	tl = m.body.tail_len[0];
	if (!cap) {
		ret = (int)le32_to_cpu(r.len);
		if (ret < 0)
			ret = -EPROTO;
		goto out;
	}
	if (tl > cap) {
		ret = -EPROTO;
		goto out;
	}
	if (tl)
		memcpy(buf, m.body.tail[0], tl);
	ret = (int)tl;
out:
	vdc_msg_free(&m);
	return ret;
}

/* the server sends the whole list; cap 0 asks for its size only */
int vdc_listxattr(struct vdc_conn *c, u32 vol, u64 ino, char *buf,
		  size_t cap)
{
	struct vdifs_ino_req req;
	struct vdifs_xattr_rep r;
	struct vdc_msg m;
	u32 tl;
	int ret;

	if (cap && !buf)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.ino = cpu_to_le64(ino);
	ret = vdc_call(c, VDIFS_OP_LISTXATTR, &req, sizeof(req), NULL, 0,
		       NULL, 0, &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, &r, sizeof(r));
	if (ret)
		goto out;
	tl = m.body.tail_len[0];
	if (!cap) {
		ret = (int)(tl ? tl : le32_to_cpu(r.len));
		goto out;
	}
	if (tl > cap) {
		ret = -ERANGE;
		goto out;
	}
	if (tl)
		memcpy(buf, m.body.tail[0], tl);
	ret = (int)tl;
out:
	vdc_msg_free(&m);
	return ret;
}

int vdc_removexattr(struct vdc_conn *c, u32 vol, u64 ino, const char *name)
{
	struct vdifs_xattr_req req;
	u16 nlen;
	int ret;

	ret = xname_arg(name, &nlen);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.ino = cpu_to_le64(ino);
	req.name_len = cpu_to_le16(nlen);
	return vdc_call(c, VDIFS_OP_REMOVEXATTR, &req, sizeof(req), name, nlen,
			NULL, 0, NULL);
}

/* ---- layouts ---- */

int vdc_layout_set(struct vdc_conn *c, u32 vol, u64 ino,
		   const struct vdc_params *p, struct vdc_attr *out)
{
	struct vdifs_layout_set_req req;
	int ret;

	if (!p)
		return -EINVAL;
	ret = params_arg(p);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.ino = cpu_to_le64(ino);
	vdc_params_to_wire(&req.params, p);
	return call_attr(c, VDIFS_OP_LAYOUT_SET, &req, sizeof(req), NULL, 0,
			 NULL, 0, out);
}

int vdc_layout_degrade(struct vdc_conn *c, u32 vol, u64 ino, u64 index,
		       struct vdifs_chunk *chunk)
{
	struct vdifs_layout_degrade_req req = {
		.vol = cpu_to_le32(vol),
		.ino = cpu_to_le64(ino),
		.index = cpu_to_le64(index),
		.chunk_id = chunk->chunk_id,
		.epoch = chunk->version,
	};
	struct vdc_msg m;
	int ret;

	ret = vdc_call(c, VDIFS_OP_LAYOUT_DEGRADE, &req, sizeof(req), NULL, 0,
		       NULL, 0, &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, chunk, sizeof(*chunk));
	vdc_msg_free(&m);
	if (!ret && (chunk->nrep > VDIFS_MAX_REPLICAS || !chunk->nrep))
		ret = -EPROTO;
	return ret;
}

int vdc_layout_corrupt(struct vdc_conn *c, u32 vol, u64 ino, u64 index,
		       const struct vdifs_chunk *chunk)
{
	struct vdifs_layout_degrade_req req = {
		.vol = cpu_to_le32(vol),
		.ino = cpu_to_le64(ino),
		.index = cpu_to_le64(index),
		.chunk_id = chunk->chunk_id,
		.epoch = chunk->version,
	};

	return vdc_call(c, VDIFS_OP_LAYOUT_CORRUPT, &req, sizeof(req), NULL,
			0, NULL, 0, NULL);
}

int vdc_layout_get(struct vdc_conn *c, u32 vol, u64 ino, u64 first,
		   u32 count, u32 flags, struct vdifs_chunk *out, u32 max,
		   u32 *chunk_size)
{
	return vdc_layout_get_caps(c, vol, ino, first, count, flags, out,
				   NULL, max, chunk_size);
}

int vdc_layout_get_caps(struct vdc_conn *c, u32 vol, u64 ino, u64 first,
			u32 count, u32 flags, struct vdifs_chunk *out,
			struct vdifs_chunk_cap *caps, u32 max,
			u32 *chunk_size)
{
	struct vdifs_layout_get_req req;
	struct vdifs_layout_rep r;
	struct wire_rec_iter it;
	const void *rec;
	const u8 *name;
	u16 nlen;
	struct vdc_msg m;
	u32 n = 0;
	int ret, rr;

	if (!count || count > VDIFS_LAYOUT_MAX)
		return -EINVAL;
	if (flags & ~VDIFS_LAYOUT_ALLOC)
		return -EINVAL;
	if (max && !out)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.flags = cpu_to_le32(flags);
	req.ino = cpu_to_le64(ino);
	req.first = cpu_to_le64(first);
	req.count = cpu_to_le32(count);
	ret = vdc_call(c, VDIFS_OP_LAYOUT_GET, &req, sizeof(req), NULL, 0,
		       NULL, 0, &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, &r, sizeof(r));
	if (ret)
		goto out;
	if (le64_to_cpu(r.first) != first || le32_to_cpu(r.count) > count) {
		ret = -EPROTO;
		goto out;
	}
	if (chunk_size)
		*chunk_size = le32_to_cpu(r.chunk_size);
	wire_rec_iter_init(&it, &m.body, 0, VDIFS_OP_LAYOUT_GET);
	while (n < max && (rr = wire_rec_next(&it, &rec, &name, &nlen)) > 0)
		memcpy(&out[n++], rec, sizeof(*out));
	if (caps) {
		u32 i = 0;

		wire_rec_iter_init(&it, &m.body, 1, VDIFS_OP_LAYOUT_GET);
		while (i < n && wire_rec_next(&it, &rec, &name, &nlen) > 0)
			memcpy(&caps[i++], rec, sizeof(*caps));
		if (i != n) {
			ret = -EPROTO;
			goto out;
		}
	}
	ret = (int)n;
out:
	vdc_msg_free(&m);
	return ret;
}

/* ---- membership ---- */

int vdc_ds_register(struct vdc_conn *c, u32 ds_id, const char *listen_addr,
		    u64 capacity, u64 used, struct vdifs_ds_register_rep *out)
{
	struct vdifs_ds_register_req req;
	struct vdifs_ds_register_rep r;
	struct sockaddr_storage ss;
	unsigned int slen = sizeof(ss);
	struct vdc_msg m;
	int ret;

	if (!listen_addr)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	ret = vdc_parse_addr(listen_addr, &ss, &slen);
	if (ret)
		return ret;
	ret = vdc_addr_to_wire(&ss, &req.addr);
	if (ret)
		return ret;
	req.ds_id = cpu_to_le32(ds_id);
	req.capacity = cpu_to_le64(capacity);
	req.used = cpu_to_le64(used);
	ret = vdc_call(c, VDIFS_OP_DS_REGISTER, &req, sizeof(req), NULL, 0,
		       NULL, 0, &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, &r, sizeof(r));
	if (!ret && out)
		*out = r;
	vdc_msg_free(&m);
	return ret;
}

int vdc_ds_heartbeat(struct vdc_conn *c, u32 ds_id, u64 capacity, u64 used,
		     const struct vdc_behind *b)
{
	struct vdifs_ds_heartbeat_req req;
	u32 n = b ? b->n : 0;

	if (n > VDIFS_BEHIND_MAX || (b && n > b->count))
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.ds_id = cpu_to_le32(ds_id);
	req.capacity = cpu_to_le64(capacity);
	req.used = cpu_to_le64(used);
	if (b) {
		req.nbehind = cpu_to_le64(b->count);
		req.flags = cpu_to_le16(b->all ? VDIFS_BEHIND_ALL : 0);
		req.behind_len = cpu_to_le16((u16)(n * sizeof(*b->recs)));
	}
	return vdc_call(c, VDIFS_OP_DS_HEARTBEAT, &req, sizeof(req),
			n ? b->recs : NULL, n * (u32)sizeof(struct vdifs_behind),
			NULL, 0, NULL);
}

int vdc_session_open(struct vdc_conn *c, u32 vol, const char *name,
		     struct vdifs_session_rep *out)
{
	struct vdifs_session_open_req req;
	struct vdifs_session_rep r;
	struct vdc_msg m;
	size_t nlen = 0;
	int ret;

	if (name) {
		nlen = strnlen(name, VDIFS_HOSTNAME_MAX + 1);
		if (nlen > VDIFS_HOSTNAME_MAX)
			return -ENAMETOOLONG;
	}
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.name_len = cpu_to_le16((u16)nlen);
	ret = vdc_call(c, VDIFS_OP_SESSION_OPEN, &req, sizeof(req), name,
		       (u32)nlen, NULL, 0, &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, &r, sizeof(r));
	if (!ret && out)
		*out = r;
	vdc_msg_free(&m);
	return ret;
}

static int session_op(struct vdc_conn *c, u16 op, u64 session)
{
	struct vdifs_session_req req;

	memset(&req, 0, sizeof(req));
	req.session = cpu_to_le64(session);
	return vdc_call(c, op, &req, sizeof(req), NULL, 0, NULL, 0, NULL);
}

int vdc_session_heartbeat(struct vdc_conn *c, u64 session)
{
	return session_op(c, VDIFS_OP_SESSION_HEARTBEAT, session);
}

int vdc_session_close(struct vdc_conn *c, u64 session)
{
	return session_op(c, VDIFS_OP_SESSION_CLOSE, session);
}

int vdc_session_bind(struct vdc_conn *c, u64 session)
{
	return session_op(c, VDIFS_OP_SESSION_BIND, session);
}

/*
 * STATUS: the callbacks see the records as sent (little-endian); a
 * callback returning nonzero stops the walk, a negative value is returned.
 */
int vdc_status(struct vdc_conn *c, const struct vdc_status_cbs *cbs,
	       void *arg, struct vdifs_status_rep *rep)
{
	struct vdifs_status_rep r;
	struct wire_rec_iter it;
	const void *rec;
	const u8 *name;
	u16 nlen;
	struct vdc_msg m;
	int ret, rr;

	ret = vdc_call(c, VDIFS_OP_STATUS, NULL, 0, NULL, 0, NULL, 0, &m);
	if (ret)
		return ret;
	ret = rep_fixed(&m, &r, sizeof(r));
	if (ret)
		goto out;
	if (rep)
		*rep = r;

	wire_rec_iter_init(&it, &m.body, 0, VDIFS_OP_STATUS);
	while ((rr = wire_rec_next(&it, &rec, &name, &nlen)) > 0) {
		struct vdifs_ds_status ds;

		if (!cbs || !cbs->ds)
			continue;
		memcpy(&ds, rec, sizeof(ds));
		ret = cbs->ds(&ds, arg);
		if (ret)
			goto out_stop;
	}
	if (rr < 0) {
		ret = -EPROTO;
		goto out;
	}

	wire_rec_iter_init(&it, &m.body, 1, VDIFS_OP_STATUS);
	while ((rr = wire_rec_next(&it, &rec, &name, &nlen)) > 0) {
		struct vdifs_session_status ss;
		char host[VDIFS_NAME_MAX + 1];

		if (!cbs || !cbs->session)
			continue;
		memcpy(&ss, rec, sizeof(ss));
		if (nlen > VDIFS_NAME_MAX) {
			ret = -EPROTO;
			goto out;
		}
		memcpy(host, name, nlen);
		host[nlen] = '\0';
		ret = cbs->session(&ss, host, arg);
		if (ret)
			goto out_stop;
	}
	if (rr < 0) {
		ret = -EPROTO;
		goto out;
	}

	wire_rec_iter_init(&it, &m.body, 2, VDIFS_OP_STATUS);
	while ((rr = wire_rec_next(&it, &rec, &name, &nlen)) > 0) {
		struct vdifs_lost_status ls;

		if (!cbs || !cbs->lost)
			continue;
		memcpy(&ls, rec, sizeof(ls));
		ret = cbs->lost(&ls, arg);
		if (ret)
			goto out_stop;
	}
	ret = rr < 0 ? -EPROTO : 0;
	goto out;
out_stop:
	if (ret > 0)
		ret = 0;
out:
	vdc_msg_free(&m);
	return ret;
}
