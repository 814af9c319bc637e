/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdifs kernel client: private declarations, one section per source file.
 */
#ifndef _VDIFS_INTERNAL_H
#define _VDIFS_INTERNAL_H

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/in6.h>
#include <linux/socket.h>
#include "compat.h"
#include "wire.h"

#define VDIFS_SUPER_MAGIC	0x56444946	/* "VDIF" */
#define VDIFS_DEFAULT_PORT	7400
#define VDIFS_KEY_MAX		64		/* bytes of shared key */

/* ---- options.c ---- */

/*
 * Where to mount from and how: filled by the fs_context parser, owned by
 * the fs_context until get_tree hands it to the superblock.  No locking:
 * a mount context is used by one task at a time.
 */
struct vdifs_mount_opts {
	struct sockaddr_storage mds;	/* MDS address from the source */
	char volume[65];		/* volume name, NUL-terminated */
	u8 key[VDIFS_KEY_MAX];		/* shared authentication key */
	unsigned int key_len;		/* 0: no authentication */
	unsigned int timeo_ms;		/* a request fails with EIO after */
	unsigned int conn_timeo_ms;	/* one connect attempt gives up */
	unsigned int acregmin_ms;	/* attribute cache bounds, files */
	unsigned int acregmax_ms;
	unsigned int acdirmin_ms;	/* and directories */
	unsigned int acdirmax_ms;
};

extern const struct fs_parameter_spec vdifs_fs_parameters[];

void vdifs_mount_opts_init(struct vdifs_mount_opts *o);
int vdifs_parse_source(const char *src, struct vdifs_mount_opts *o,
		       const char **why);
int vdifs_parse_param(struct fs_context *fc, struct fs_parameter *param);
int vdifs_validate_opts(struct fs_context *fc);

/* ---- super.c ---- */

extern struct file_system_type vdifs_fs_type;

#endif /* _VDIFS_INTERNAL_H */
