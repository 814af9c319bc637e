// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs: file system type, mount, superblock, sessions, module entry.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/fs_parser.h>
#include <linux/seq_file.h>
#include <linux/statfs.h>
#include <linux/inet.h>
#include <linux/xattr.h>
#include <linux/utsname.h>
#include <crypto/hash.h>
#include <net/net_namespace.h>
#include "internal.h"

static struct kmem_cache *vdifs_inode_cachep;

int vdifs_auth_mac(struct vdifs_sb_info *sbi, const char *label,
		   const u8 *a, const u8 *b, u8 *mac)
{
	SHASH_DESC_ON_STACK(desc, sbi->hmac);
	int ret;

	desc->tfm = sbi->hmac;
	ret = crypto_shash_init(desc);
	if (!ret)
		ret = crypto_shash_update(desc, label, strlen(label));
	if (!ret)
		ret = crypto_shash_update(desc, a, VDIFS_NONCE_LEN);
	if (!ret)
		ret = crypto_shash_update(desc, b, VDIFS_NONCE_LEN);
	if (!ret)
		ret = crypto_shash_final(desc, mac);
	shash_desc_zero(desc);
	return ret;
}

/* ---- sessions ---- */

static void vdifs_heartbeat(struct work_struct *work)
{
	struct vdifs_sb_info *sbi = container_of(to_delayed_work(work),
						 struct vdifs_sb_info,
						 heartbeat);
	struct vdifs_session_req q = {
		/* a reconnect may have opened a new one */
		.session = cpu_to_le64(READ_ONCE(sbi->session)),
	};
	struct vdifs_req *req;

	vdifs_conn_tick(sbi->mds);
	vdifs_ds_tick(sbi);
	/*
	 * Fire and forget: a lost heartbeat is retried next time, and
	 * never waits for room (the ticks above must keep running).
	 */
	req = vdifs_req_new(VDIFS_OP_SESSION_HEARTBEAT, &q, sizeof(q), NULL, 0,
			    NULL, 0);
	if (!IS_ERR(req)) {
		vdifs_req_submit_nowait(sbi->mds, req);
		vdifs_req_put(req);
	}
	queue_delayed_work(system_wq, &sbi->heartbeat,
			   msecs_to_jiffies(sbi->heartbeat_ms));
}

static int vdifs_session_open(struct vdifs_sb_info *sbi)
{
	struct vdifs_session_open_req q = { .vol = cpu_to_le32(sbi->vol) };
	const struct vdifs_session_rep *rep;
	const char *node = utsname()->nodename;
	u32 nl = strnlen(node, VDIFS_HOSTNAME_MAX);
	struct vdifs_req *req;
	int ret;

	q.name_len = cpu_to_le16(nl);
	ret = vdifs_call(sbi->mds, VDIFS_OP_SESSION_OPEN, &q, sizeof(q), node,
			 nl, NULL, 0, &req);
	if (ret)
		return ret;
	rep = req->rbody.fixed;
	sbi->session = le64_to_cpu(rep->session);
	sbi->heartbeat_ms = clamp(le32_to_cpu(rep->heartbeat_ms), 100u,
				  60000u);
	sbi->lease_ms = clamp(le32_to_cpu(rep->lease_ms), sbi->heartbeat_ms,
			      3600000u);
	vdifs_req_put(req);
	return 0;
}

static void vdifs_session_close(struct vdifs_sb_info *sbi)
{
	struct vdifs_session_req q = {
		.session = cpu_to_le64(READ_ONCE(sbi->session)),
	};

	if (sbi->session)
		vdifs_call(sbi->mds, VDIFS_OP_SESSION_CLOSE, &q, sizeof(q),
			   NULL, 0, NULL, 0, NULL);
}

/* ---- superblock ---- */

static void vdifs_sbi_free(struct vdifs_sb_info *sbi)
{
	if (!sbi)
		return;
	vdifs_ds_free(sbi);
	vdifs_conn_put(sbi->mds);
	if (sbi->hmac)
		crypto_free_shash(sbi->hmac);
	if (sbi->net)
		put_net(sbi->net);
	kfree_sensitive(sbi);
}

static int vdifs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(dentry->d_sb);
	struct vdifs_ino_req q = { .vol = cpu_to_le32(sbi->vol) };
	const struct vdifs_statfs_rep *s;
	struct vdifs_req *req;
	int ret;

	ret = vdifs_call(sbi->mds, VDIFS_OP_STATFS, &q, sizeof(q), NULL, 0,
			 NULL, 0, &req);
	if (ret)
		return ret;
	s = req->rbody.fixed;
	buf->f_type = VDIFS_SUPER_MAGIC;
	buf->f_bsize = le32_to_cpu(s->bsize);
	buf->f_frsize = buf->f_bsize;
	buf->f_blocks = le64_to_cpu(s->bytes_total) / buf->f_bsize;
	buf->f_bfree = le64_to_cpu(s->bytes_free) / buf->f_bsize;
	buf->f_bavail = buf->f_bfree;
	buf->f_files = le64_to_cpu(s->files) + le64_to_cpu(s->files_free);
	buf->f_ffree = le64_to_cpu(s->files_free);
	buf->f_namelen = le32_to_cpu(s->namemax);
	buf->f_fsid = u64_to_fsid(((u64)sbi->vol << 32) ^ sbi->root_ino);
	vdifs_req_put(req);
	return 0;
}

static int vdifs_show_options(struct seq_file *m, struct dentry *root)
{
	struct vdifs_mount_opts *o = &VDIFS_SB(root->d_sb)->opts;

	/* the key is never shown */
	seq_printf(m, ",timeo=%u,conn_timeo=%u", o->timeo_ms / 1000,
		   o->conn_timeo_ms / 1000);
	seq_printf(m, ",acregmin=%u,acregmax=%u,acdirmin=%u,acdirmax=%u",
		   o->acregmin_ms / 1000, o->acregmax_ms / 1000,
		   o->acdirmin_ms / 1000, o->acdirmax_ms / 1000);
	if (o->soft)
		seq_puts(m, ",soft");
	if (o->key_len)
		seq_puts(m, ",auth=hmac");
	else
		seq_puts(m, ",insecure");
	if (o->principal[0])
		seq_show_option(m, "name", o->principal);
	return 0;
}

static const struct super_operations vdifs_sops = {
	.alloc_inode	= vdifs_alloc_inode,
	.free_inode	= vdifs_free_inode,
	.evict_inode	= vdifs_evict_inode,
	.write_inode	= vdifs_write_inode,
	.statfs		= vdifs_statfs,
	.show_options	= vdifs_show_options,
};

static int vdifs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(sb);
	struct vdifs_ino_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(sbi->root_ino),
	};
	const struct vdifs_attr_rep *rep;
	struct vdifs_req *req;
	struct inode *root;
	int ret;

	sb->s_magic = VDIFS_SUPER_MAGIC;
	sb->s_op = &vdifs_sops;
	sb->s_xattr = vdifs_xattr_handlers;
	sb->s_d_op = &vdifs_dentry_ops;
	sb->s_blocksize = 4096;
	sb->s_blocksize_bits = 12;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_time_gran = 1;
	sb->s_iflags |= SB_I_STABLE_WRITES;
	ret = super_setup_bdi(sb);
	if (ret)
		return ret;
	sb->s_bdi->ra_pages = (VDIFS_IO_MAX * 4) / PAGE_SIZE;
	sb->s_bdi->io_pages = VDIFS_IO_MAX / PAGE_SIZE;

	ret = vdifs_call(sbi->mds, VDIFS_OP_GETATTR, &q, sizeof(q), NULL, 0,
			 NULL, 0, &req);
	if (ret)
		return ret;
	rep = req->rbody.fixed;
	root = vdifs_iget(sb, &rep->attr);
	vdifs_req_put(req);
	if (IS_ERR(root))
		return PTR_ERR(root);
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;
	return 0;
}

static int vdifs_connect_mds(struct fs_context *fc, struct vdifs_sb_info *sbi)
{
	struct vdifs_mount_opts *o = &sbi->opts;
	struct vdifs_vol_name_req q = { 0 };
	const struct vdifs_vol_info *vi;
	struct vdifs_req *req;
	u32 nl = strlen(o->volume);
	int ret;

	if (o->key_len) {
		sbi->hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
		if (IS_ERR(sbi->hmac)) {
			ret = PTR_ERR(sbi->hmac);
			sbi->hmac = NULL;
			return invalfc(fc, "no hmac(sha256) in this kernel (%d)",
				       ret);
		}
		ret = crypto_shash_setkey(sbi->hmac, o->key, o->key_len);
		if (ret)
			return ret;
	}
	sbi->mds = vdifs_conn_create(sbi, &o->mds, "mds");
	if (IS_ERR(sbi->mds)) {
		ret = PTR_ERR(sbi->mds);
		sbi->mds = NULL;
		return ret;
	}
	ret = vdifs_conn_wait_up(sbi->mds, o->conn_timeo_ms);
	if (ret) {
		errorfc(fc, "%s: cannot reach the metadata server (%d)",
			fc->source, ret);
		return ret == -ETIMEDOUT ? ret : -EHOSTUNREACH;
	}
	q.name_len = cpu_to_le16(nl);
	ret = vdifs_call(sbi->mds, VDIFS_OP_VOL_OPEN, &q, sizeof(q),
			 o->volume, nl, NULL, 0, &req);
	if (ret == -ENOENT) {
		errorfc(fc, "%s: no volume '%s' on this server", fc->source,
			o->volume);
		return -ENOENT;
	}
	if (ret) {
		errorfc(fc, "%s: cannot open volume (%d)", fc->source, ret);
		return ret;
	}
	vi = req->rbody.fixed;
	if ((le16_to_cpu(vi->flags) & VDIFS_VOL_RDONLY) &&
	    !(fc->sb_flags & SB_RDONLY)) {
		/* mount(8) tries again read-only on EROFS, as for a disk */
		errorfc(fc, "%s: this client may only read volume '%s'",
			fc->source, o->volume);
		vdifs_req_put(req);
		return -EROFS;
	}
	sbi->vol = le32_to_cpu(vi->vol);
	sbi->vol_rdonly = le16_to_cpu(vi->flags) & VDIFS_VOL_RDONLY;
	sbi->root_ino = le64_to_cpu(vi->root_ino);
	sbi->params = vi->params;
	vdifs_req_put(req);

	ret = vdifs_ds_load(sbi);
	if (ret)
		return ret;
	return vdifs_session_open(sbi);
}

static int vdifs_get_tree(struct fs_context *fc)
{
	struct vdifs_sb_info *sbi;
	int ret;

	ret = vdifs_validate_opts(fc);
	if (!ret)
		ret = vdifs_key_load(fc);
	if (ret)
		return ret;
	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	sbi->opts = *(struct vdifs_mount_opts *)fc->fs_private;
	sbi->net = get_net(fc->net_ns);
	mutex_init(&sbi->ds_lock);
	INIT_DELAYED_WORK(&sbi->heartbeat, vdifs_heartbeat);
	INIT_WORK(&sbi->stall_work, vdifs_ds_stall_check);
	strscpy(sbi->source, fc->source, sizeof(sbi->source));

	ret = vdifs_connect_mds(fc, sbi);
	if (ret)
		goto out_free;
	fc->s_fs_info = sbi;
	ret = get_tree_nodev(fc, vdifs_fill_super);
	if (ret)
		return ret;	/* the superblock owns sbi: kill_sb frees it */
	queue_delayed_work(system_wq, &sbi->heartbeat,
			   msecs_to_jiffies(sbi->heartbeat_ms));
	return 0;

out_free:
	vdifs_session_close(sbi);
	vdifs_sbi_free(sbi);
	return ret;
}

static void vdifs_kill_sb(struct super_block *sb)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(sb);

	if (sbi) {
		cancel_delayed_work_sync(&sbi->heartbeat);
		cancel_work_sync(&sbi->stall_work);
	}
	kill_anon_super(sb);
	if (sbi) {
		vdifs_session_close(sbi);
		vdifs_sbi_free(sbi);
	}
}

static void vdifs_free_fc(struct fs_context *fc)
{
	struct vdifs_sb_info *sbi = fc->s_fs_info;

	/* set only when get_tree failed after handing sbi over */
	if (sbi) {
		vdifs_session_close(sbi);
		vdifs_sbi_free(sbi);
	}
	kfree_sensitive(fc->fs_private);
}

/*
 * mount -o remount: read-only and back; the other options stay as they
 * were mounted.  Not read-write where this client may only read.
 */
static int vdifs_reconfigure(struct fs_context *fc)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(fc->root->d_sb);

	if (!(fc->sb_flags & SB_RDONLY) && sbi->vol_rdonly) {
		errorfc(fc, "this client may only read volume '%s'",
			sbi->opts.volume);
		return -EROFS;
	}
	return 0;
}

static const struct fs_context_operations vdifs_context_ops = {
	.parse_param	= vdifs_parse_param,
	.get_tree	= vdifs_get_tree,
	.reconfigure	= vdifs_reconfigure,
	.free		= vdifs_free_fc,
};

static int vdifs_init_fs_context(struct fs_context *fc)
{
	struct vdifs_mount_opts *o;

	o = kzalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		return -ENOMEM;
	vdifs_mount_opts_init(o);
	fc->fs_private = o;
	fc->ops = &vdifs_context_ops;
	return 0;
}

struct file_system_type vdifs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "vdifs",
	.init_fs_context	= vdifs_init_fs_context,
	.parameters		= vdifs_fs_parameters,
	.kill_sb		= vdifs_kill_sb,
};
MODULE_ALIAS_FS("vdifs");

static void vdifs_inode_init_once(void *p)
{
	struct vdifs_inode *vi = p;

	inode_init_once(&vi->netfs.inode);
}

static int __init vdifs_init(void)
{
	int ret;

	vdifs_inode_cachep = kmem_cache_create("vdifs_inode_cache",
					       sizeof(struct vdifs_inode), 0,
					       SLAB_RECLAIM_ACCOUNT |
					       SLAB_ACCOUNT,
					       vdifs_inode_init_once);
	if (!vdifs_inode_cachep)
		return -ENOMEM;
	ret = vdifs_data_init();
	if (ret)
		goto out_cache;
	ret = register_filesystem(&vdifs_fs_type);
	if (ret)
		goto out_data;
	pr_info("vdifs: registered (protocol v%u)\n", VDIFS_PROTO_VERSION);
	return 0;

out_data:
	vdifs_data_exit();
out_cache:
	kmem_cache_destroy(vdifs_inode_cachep);
	return ret;
}

static void __exit vdifs_exit(void)
{
	unregister_filesystem(&vdifs_fs_type);
	vdifs_data_exit();
	/* inodes are freed after an RCU grace period */
	rcu_barrier();
	kmem_cache_destroy(vdifs_inode_cachep);
}

struct inode *vdifs_alloc_inode(struct super_block *sb)
{
	struct vdifs_inode *vi;

	vi = alloc_inode_sb(sb, vdifs_inode_cachep, GFP_KERNEL);
	if (!vi)
		return NULL;
	spin_lock_init(&vi->size_lock);
	vi->change = 0;
	vi->size_gen = 0;
	vi->size_syncing = 0;
	vi->attr_time = 0;
	vi->size_dirty = false;
	vi->flags = 0;
	atomic_set(&vi->opens, 0);
	vi->silly_dir = 0;
	vi->silly_name = NULL;
	memset(&vi->params, 0, sizeof(vi->params));
	mutex_init(&vi->layout_lock);
	xa_init(&vi->chunks);
	return &vi->netfs.inode;
}

void vdifs_free_inode(struct inode *inode)
{
	kfree(VDIFS_I(inode)->silly_name);
	kmem_cache_free(vdifs_inode_cachep, VDIFS_I(inode));
}

module_init(vdifs_init);
module_exit(vdifs_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vdifs distributed file system client");
MODULE_SOFTDEP("pre: hmac sha256");
