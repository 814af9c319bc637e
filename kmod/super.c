// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs: file system type, mount context and module entry points.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/fs_parser.h>
#include "internal.h"

static int vdifs_get_tree(struct fs_context *fc)
{
	int ret;

	ret = vdifs_validate_opts(fc);
	if (ret)
		return ret;
	/*
	 * The metadata and data paths land with the client issue; until
	 * then refuse honestly instead of mounting something that cannot
	 * serve a single read.
	 */
	errorfc(fc, "%s: this build has no client I/O path yet", fc->source);
	return -EOPNOTSUPP;
}

static void vdifs_free_fc(struct fs_context *fc)
{
	kfree_sensitive(fc->fs_private);
}

static const struct fs_context_operations vdifs_context_ops = {
	.parse_param	= vdifs_parse_param,
	.get_tree	= vdifs_get_tree,
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
	.kill_sb		= kill_anon_super,
	.fs_flags		= FS_RENAME_DOES_D_MOVE,
};
MODULE_ALIAS_FS("vdifs");

static int __init vdifs_init(void)
{
	int ret;

	ret = register_filesystem(&vdifs_fs_type);
	if (ret)
		return ret;
	pr_info("vdifs: registered (protocol v%u)\n", VDIFS_PROTO_VERSION);
	return 0;
}

static void __exit vdifs_exit(void)
{
	unregister_filesystem(&vdifs_fs_type);
}

module_init(vdifs_init);
module_exit(vdifs_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vdifs distributed file system client");
