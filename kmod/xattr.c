// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs extended attributes: the user namespace, kept by the MDS.
 */
#include <linux/fs.h>
#include <linux/xattr.h>
#include "internal.h"

static int vdifs_xattr_get(const struct xattr_handler *handler,
			   struct dentry *dentry, struct inode *inode,
			   const char *suffix, void *buf, size_t size)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	const char *name = xattr_full_name(handler, suffix);
	size_t nl = strlen(name);
	struct vdifs_xattr_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
		.name_len = cpu_to_le16(nl),
		.value_len = cpu_to_le32(min_t(size_t, size,
					       VDIFS_XATTR_SIZE_MAX)),
	};
	const struct vdifs_xattr_rep *rep;
	struct vdifs_req *req;
	int ret;

	if (nl > VDIFS_XATTR_NAME_MAX)
		return -ERANGE;
	ret = vdifs_call(sbi->mds, VDIFS_OP_GETXATTR, &q, sizeof(q), name, nl,
			 NULL, 0, &req);
	if (ret)
		return ret;
	rep = req->rbody.fixed;
	/* the codec has held len to the bytes that came (wire_check_*) */
	ret = le32_to_cpu(rep->len);
	if (size) {
		ret = req->rbody.tail_len[0];
		if (ret > size)
			ret = -ERANGE;
		else
			memcpy(buf, req->rbody.tail[0], ret);
	}
	vdifs_req_put(req);
	return ret;
}

static int vdifs_xattr_set(const struct xattr_handler *handler,
			   struct mnt_idmap *idmap, struct dentry *dentry,
			   struct inode *inode, const char *suffix,
			   const void *value, size_t size, int flags)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	const char *name = xattr_full_name(handler, suffix);
	size_t nl = strlen(name);
	struct vdifs_xattr_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
		.name_len = cpu_to_le16(nl),
	};
	int ret;

	if (nl > VDIFS_XATTR_NAME_MAX)
		return -ERANGE;
	if (!value) {
		ret = vdifs_call(sbi->mds, VDIFS_OP_REMOVEXATTR, &q, sizeof(q),
				 name, nl, NULL, 0, NULL);
	} else {
		if (size > VDIFS_XATTR_SIZE_MAX)
			return -E2BIG;
		q.value_len = cpu_to_le32(size);
		q.flags = cpu_to_le32((flags & XATTR_CREATE ?
				       VDIFS_XATTR_CREATE : 0) |
				      (flags & XATTR_REPLACE ?
				       VDIFS_XATTR_REPLACE : 0));
		ret = vdifs_call(sbi->mds, VDIFS_OP_SETXATTR, &q, sizeof(q),
				 name, nl, value, size, NULL);
	}
	if (!ret) {
		inode_set_ctime_current(inode);
		VDIFS_I(inode)->attr_time = 0;
	}
	return ret;
}

ssize_t vdifs_listxattr(struct dentry *dentry, char *buf, size_t size)
{
	struct inode *inode = d_inode(dentry);
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	struct vdifs_ino_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(inode->i_ino),
	};
	struct vdifs_req *req;
	ssize_t ret;

	ret = vdifs_call(sbi->mds, VDIFS_OP_LISTXATTR, &q, sizeof(q), NULL, 0,
			 NULL, 0, &req);
	if (ret)
		return ret;
	ret = req->rbody.tail_len[0];
	if (size) {
		if (ret > size)
			ret = -ERANGE;
		else
			memcpy(buf, req->rbody.tail[0], ret);
	}
	vdifs_req_put(req);
	return ret;
}

static const struct xattr_handler vdifs_xattr_user_handler = {
	.prefix	= XATTR_USER_PREFIX,
	.get	= vdifs_xattr_get,
	.set	= vdifs_xattr_set,
};

const struct xattr_handler * const vdifs_xattr_handlers[] = {
	&vdifs_xattr_user_handler,
	NULL,
};
