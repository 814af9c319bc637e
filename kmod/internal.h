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
#include <linux/netfs.h>
#include <linux/xarray.h>
#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/workqueue.h>
#include "compat.h"
#include "wire.h"

#define VDIFS_SUPER_MAGIC	0x56444946	/* "VDIF" */
#define VDIFS_DEFAULT_PORT	7400
#define VDIFS_KEY_MAX		64		/* bytes of shared key */

/* ---- options.c ---- */

/*
 * Where to mount from and how: filled by the fs_context parser, owned by
 * the fs_context until get_tree hands a copy to the superblock.  No
 * locking: a mount context is used by one task at a time.
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

/* ---- trans_tcp.c: transports behind an ops table ---- */

struct vdifs_conn;

/*
 * A transport moves bytes for one connection.  All may sleep.  recv
 * returns 0 once len bytes arrived or -errno; it is called only from the
 * connection's receive thread, send only under conn->send_lock.
 */
struct vdifs_trans_ops {
	const char *name;
	int (*connect)(struct vdifs_conn *conn);
	void (*shutdown)(struct vdifs_conn *conn);	/* wakes recv */
	void (*close)(struct vdifs_conn *conn);
	int (*send)(struct vdifs_conn *conn, const void *buf, size_t len);
	int (*recv)(struct vdifs_conn *conn, void *buf, size_t len);
};

extern const struct vdifs_trans_ops vdifs_trans_tcp;

/* ---- client.c: requests and replies over one connection ---- */

struct vdifs_req;
typedef void (*vdifs_req_done_t)(struct vdifs_req *req);

/*
 * One request in flight.  The sender owns it until submit; then the
 * connection holds a reference until the reply (or failure) is
 * delivered, and done() runs in the receive thread (it may sleep, briefly).
 */
struct vdifs_req {
	struct kref ref;
	struct list_head link;		/* conn->pending, under conn->lock */
	u64 id;
	u16 op;
	u8 *msg;			/* encoded request */
	size_t msg_len;
	unsigned long deadline;		/* jiffies: fail with -EIO after */
	/* reply */
	int status;			/* 0, -errno from the server or us */
	u8 *rbuf;			/* reply body (kvmalloc) */
	struct wire_hdr rhdr;
	struct wire_body rbody;
	struct completion done_wait;
	vdifs_req_done_t done;
	void *priv;
};

enum vdifs_conn_state {
	VDIFS_CONN_DOWN,		/* no socket; the thread reconnects */
	VDIFS_CONN_UP,
	VDIFS_CONN_CLOSING,
};

/*
 * A connection to one server.  lock protects pending, state and next_id;
 * send_lock serialises whole messages on the socket.  The receive thread
 * owns the socket's read side and (re)connects.
 */
struct vdifs_conn {
	struct vdifs_sb_info *sbi;
	struct sockaddr_storage addr;
	char name[64];			/* for messages: "mds" / "ds 3" */
	const struct vdifs_trans_ops *trans;
	struct socket *sock;
	spinlock_t lock;
	struct mutex send_lock;
	struct list_head pending;
	u64 next_id;
	enum vdifs_conn_state state;
	wait_queue_head_t state_wait;
	struct task_struct *thread;
	u64 server_epoch;
	unsigned int failures;		/* connect attempts since last up */
};

struct vdifs_conn *vdifs_conn_create(struct vdifs_sb_info *sbi,
				     const struct sockaddr_storage *addr,
				     const char *name);
void vdifs_conn_destroy(struct vdifs_conn *conn);
/* wait until the first connect succeeded or failed for good */
int vdifs_conn_wait_up(struct vdifs_conn *conn, unsigned int timeout_ms);
/* fail requests past their deadline; called periodically */
void vdifs_conn_tick(struct vdifs_conn *conn);

struct vdifs_req *vdifs_req_new(u16 op, const void *fixed, u32 flen,
				const void *t1, u32 l1, const void *t2, u32 l2);
void vdifs_req_put(struct vdifs_req *req);
int vdifs_req_submit(struct vdifs_conn *conn, struct vdifs_req *req);
/* submit and wait for the reply; req stays the caller's to put */
int vdifs_req_wait(struct vdifs_conn *conn, struct vdifs_req *req);
/* one call: returns the status; *reqp (if given) holds the reply */
int vdifs_call(struct vdifs_conn *conn, u16 op, const void *fixed, u32 flen,
	       const void *t1, u32 l1, const void *t2, u32 l2,
	       struct vdifs_req **reqp);

/* ---- super.c: the mounted volume ---- */

struct vdifs_ds_entry {
	u32 id;
	struct sockaddr_storage addr;
	struct vdifs_conn *conn;	/* created on first use */
};

#define VDIFS_MAX_DS 256

/*
 * Per-mount state.  ds_lock protects the data-server table; conns there
 * live until unmount.
 */
struct vdifs_sb_info {
	struct vdifs_mount_opts opts;
	struct net *net;
	struct vdifs_conn *mds;
	u32 vol;
	u64 root_ino;
	struct vdifs_layout_params params;
	u64 session;
	unsigned int heartbeat_ms;
	struct delayed_work heartbeat;
	struct mutex ds_lock;
	struct vdifs_ds_entry ds[VDIFS_MAX_DS];
	unsigned int nds;
	struct crypto_shash *hmac;	/* NULL without a key */
	char source[128];
};

static inline struct vdifs_sb_info *VDIFS_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

extern struct file_system_type vdifs_fs_type;
struct vdifs_conn *vdifs_ds_conn(struct vdifs_sb_info *sbi, u32 ds_id);
int vdifs_auth_mac(struct vdifs_sb_info *sbi, const char *label,
		   const u8 *a, const u8 *b, u8 *mac);

/* ---- inode.c ---- */

/*
 * vdifs inode: netfs_inode first (it embeds the VFS inode).  layout_lock
 * guards the chunk cache; attr_time is when attributes were last fetched.
 *
 * size_lock (a spinlock, taken inside inode->i_lock where netfs holds
 * that, never the other way round) guards i_size against the server's
 * answers: change, size_dirty, size_gen and size_syncing below, and every
 * i_size_write() but those under i_rwsem for truncate.  An answer may
 * lower i_size only when it is newer than all we know and this client
 * has no size the MDS has not confirmed: netfs zeroes the page cache
 * between i_size and the start of an extending write, so a stale smaller
 * size would wipe pages this client wrote (and the server holds).
 */
struct vdifs_inode {
	struct netfs_inode netfs;
	spinlock_t size_lock;
	u64 change;			/* newest server change counter seen */
	unsigned long attr_time;	/* jiffies */
	struct vdifs_layout_params params;
	struct mutex layout_lock;
	struct xarray chunks;		/* chunk index -> struct vdifs_chunk * */
	bool size_dirty;		/* writes not yet told to the MDS */
	u32 size_gen;			/* bumped by every local size change */
	u32 size_syncing;		/* SETATTRs of our size in flight */
	u32 flags;			/* VDIFS_ATTR_*: a snapshot is read-only */
	/*
	 * Unlinked while open: renamed to silly_name in silly_dir instead,
	 * and removed when the last opener closes (as NFS does).  Set under
	 * the directory's i_rwsem, read at release; opens counts openers.
	 */
	atomic_t opens;
	u64 silly_dir;
	char *silly_name;
};

static inline struct vdifs_inode *VDIFS_I(struct inode *inode)
{
	return container_of(inode, struct vdifs_inode, netfs.inode);
}

extern const struct inode_operations vdifs_dir_iops;
extern const struct inode_operations vdifs_file_iops;
extern const struct inode_operations vdifs_symlink_iops;
extern const struct inode_operations vdifs_special_iops;
extern const struct dentry_operations vdifs_dentry_ops;

struct inode *vdifs_iget(struct super_block *sb, const struct vdifs_attr *a);
void vdifs_silly_release(struct inode *inode);
void vdifs_apply_attr(struct inode *inode, const struct vdifs_attr *a);
int vdifs_revalidate(struct inode *inode, bool force);
int vdifs_sync_size(struct inode *inode);
u64 vdifs_change_seen(struct inode *inode);
int vdifs_revalidate_own(struct inode *inode, u64 before);
void vdifs_layout_drop(struct vdifs_inode *vi);
void vdifs_remote_size(struct vdifs_inode *vi, loff_t size);
struct inode *vdifs_alloc_inode(struct super_block *sb);
void vdifs_free_inode(struct inode *inode);
void vdifs_evict_inode(struct inode *inode);
int vdifs_write_inode(struct inode *inode, struct writeback_control *wbc);

/* ---- dir.c ---- */

extern const struct file_operations vdifs_dir_fops;

/* ---- file.c, addr.c: data ---- */

extern const struct file_operations vdifs_file_fops;
extern const struct address_space_operations vdifs_aops;
extern const struct netfs_request_ops vdifs_netfs_ops;
extern struct workqueue_struct *vdifs_io_wq;

/* the chunk covering file offset pos; allocates it when alloc */
int vdifs_chunk_lookup(struct inode *inode, u64 index, bool alloc,
		       struct vdifs_chunk *out);
int vdifs_punch_range(struct inode *inode, loff_t start, loff_t end);
int vdifs_copy_direct(struct inode *sin, loff_t spos, struct inode *din,
		      loff_t dpos, size_t len);

/* ---- ioctl.c ---- */

long vdifs_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
long vdifs_dir_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
long vdifs_compat_ioctl(struct file *file, unsigned int cmd,
			unsigned long arg);
loff_t vdifs_remap_file_range(struct file *src, loff_t pos_in,
			      struct file *dst, loff_t pos_out, loff_t len,
			      unsigned int remap_flags);

/* ---- xattr.c ---- */

extern const struct xattr_handler * const vdifs_xattr_handlers[];
ssize_t vdifs_listxattr(struct dentry *dentry, char *buf, size_t size);

#endif /* _VDIFS_INTERNAL_H */
