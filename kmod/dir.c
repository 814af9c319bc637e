// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs directories: readdir over the MDS's stable cookies.
 *
 * f_pos is 0 and 1 for "." and "..", then the cookie of the last entry
 * returned plus 2: the MDS hands out cookies as per-directory insertion
 * numbers, so resuming from a position neither repeats nor skips entries
 * that exist throughout, however the directory changes meanwhile.
 */
#include <linux/fs.h>
#include "internal.h"

static int vdifs_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	struct vdifs_sb_info *sbi = VDIFS_SB(dir->i_sb);
	struct vdifs_readdir_req q = {
		.vol = cpu_to_le32(sbi->vol),
		.ino = cpu_to_le64(dir->i_ino),
		.max_bytes = cpu_to_le32(32768),
	};

	if (!dir_emit_dots(file, ctx))
		return 0;
	for (;;) {
		const struct vdifs_list_rep *lr;
		struct wire_rec_iter it;
		struct vdifs_req *req;
		const void *rec;
		const u8 *name;
		u64 from = ctx->pos - 2;
		bool eof, more;
		u16 nl;
		int ret;

		q.cookie = cpu_to_le64(from);
		ret = vdifs_call(sbi->mds, VDIFS_OP_READDIR, &q, sizeof(q),
				 NULL, 0, NULL, 0, &req);
		if (ret)
			return ret;
		lr = req->rbody.fixed;
		eof = le32_to_cpu(lr->eof);
		more = le32_to_cpu(lr->count);
		wire_rec_iter_init(&it, &req->rbody, 0, VDIFS_OP_READDIR);
		while (wire_rec_next(&it, &rec, &name, &nl) > 0) {
			const struct vdifs_dirent *d = rec;
			u64 cookie = le64_to_cpu(d->cookie);

			/* cookies only go forward: a server must not loop us */
			if (cookie <= from || cookie > (u64)LLONG_MAX - 2) {
				pr_warn_ratelimited("vdifs: directory %lu: cookie %llu after %llu\n",
						    dir->i_ino, cookie, from);
				vdifs_req_put(req);
				return -EIO;
			}
			from = cookie;
			if (!dir_emit(ctx, name, nl, le64_to_cpu(d->ino),
				      d->type)) {
				vdifs_req_put(req);
				return 0;
			}
			ctx->pos = cookie + 2;
		}
		vdifs_req_put(req);
		if (eof || !more)
			return 0;
	}
}

static int vdifs_dir_open(struct inode *inode, struct file *file)
{
	/* a fresh listing sees fresh attributes (close-to-open) */
	return vdifs_revalidate(inode, true);
}

const struct file_operations vdifs_dir_fops = {
	.llseek		= generic_file_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= vdifs_readdir,
	.open		= vdifs_dir_open,
	.fsync		= noop_fsync,
	.unlocked_ioctl	= vdifs_dir_ioctl,
#ifdef CONFIG_COMPAT
	.compat_ioctl	= vdifs_compat_ioctl,
#endif
};
