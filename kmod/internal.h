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
#include <linux/uio.h>
#include <linux/rcupdate.h>
#include "compat.h"
#include "../wire/wire.h"

#define VDIFS_SUPER_MAGIC	0x56444946	/* "VDIF" */
#define VDIFS_DEFAULT_PORT	7400

/* ---- options.c ---- */

/*
 * Where to mount from and how: filled by the fs_context parser, owned by
 * the fs_context until get_tree hands a copy to the superblock.  No
 * locking: a mount context is used by one task at a time.
 */
struct vdifs_mount_opts {
	struct sockaddr_storage mds;	/* MDS address from the source */
	char volume[65];		/* volume name, NUL-terminated */
	/* key=NAME: the logon key "vdifs:NAME" in the mounter's keyrings */
	char key_name[VDIFS_KEY_NAME_MAX + 1];
	/* name=NAME: the principal whose key that is ("": the clients') */
	char principal[VDIFS_PRINCIPAL_MAX + 1];
	u8 key[VDIFS_KEY_MAX];		/* its bytes, read at get_tree */
	unsigned int key_len;		/* 0: no authentication */
	/* no key, and a server that asks for none is taken anyway */
	bool insecure;
	/*
	 * soft: data I/O that has waited timeo for a slow or unreachable
	 * data server fails with EIO; hard (the default, as NFS): it waits
	 * for as long as it takes.
	 */
	bool soft;
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
int vdifs_key_load(struct fs_context *fc);

/* ---- trans_tcp.c: transports behind an ops table ---- */

struct vdifs_conn;

/*
 * A transport moves bytes for one connection.  All may sleep.  send
 * sends all of *from (advancing it) with extra MSG_* flags (MSG_MORE,
 * MSG_SPLICE_PAGES: the pages go to the socket by reference); it is
 * called only under conn->send_lock.  recv fills all of *to (advancing
 * it) and is called only from the connection's receive thread.  Both
 * return 0 or -errno.
 */
struct vdifs_trans_ops {
	const char *name;
	int (*connect)(struct vdifs_conn *conn);
	void (*shutdown)(struct vdifs_conn *conn);	/* wakes recv */
	void (*close)(struct vdifs_conn *conn);
	int (*send)(struct vdifs_conn *conn, struct iov_iter *from,
		    unsigned int flags);
	int (*recv)(struct vdifs_conn *conn, struct iov_iter *to);
};

extern const struct vdifs_trans_ops vdifs_trans_tcp;

/* ---- client.c: requests and replies over one connection ---- */

struct vdifs_req;
typedef void (*vdifs_req_done_t)(struct vdifs_req *req);

#define VDIFS_MSG_INLINE	(sizeof(struct vdifs_msg_hdr) + 64)

/*
 * One request.  The sender owns it until submit; from then on the
 * connection holds a reference too, for as long as the request is in
 * conn->reqs.  Whoever takes it out of conn->reqs (the receive thread
 * with its reply, the timeout tick, a waiter giving up, teardown) owns
 * that reference and hands the result over with vdifs_req_finish().
 *
 * done() runs once, when the result is in and nobody is sending the
 * request any more (busy): in the connection's receive thread, or in the
 * task that sent, resent or timed it out.  It may sleep, but must never
 * wait for another request: it would stall the receive thread.
 *
 * Bulk data is not copied: data (CHUNK_WRITE) goes to the socket from
 * the caller's pages after the encoded body, and the data tail of a
 * CHUNK_READ reply is received straight into rdest.  Those pages must
 * stay put until done() has run; both iterators are kept pristine, each
 * send or receive works on a copy, so a resend sends the same pages.
 */
struct vdifs_req {
	struct kref ref;
	struct list_head link;		/* on a private list while failing */
	u64 id;
	u16 op;
	u8 *msg;			/* header + encoded body */
	size_t msg_len;
	struct iov_iter data;		/* sent after msg */
	size_t data_len;
	bool data_splice;		/* data's pages may go by reference */
	struct iov_iter rdest;		/* where the reply's data tail goes */
	size_t rdest_len;
	bool rdest_filled;		/* it went there, checksum verified */
	unsigned int gen;		/* conn->gen it was queued under, up */
	atomic_t busy;			/* 1 until the result, +1 per sender */
	unsigned long deadline;		/* jiffies: fail with -EIO after */
	/* reply */
	int status;			/* 0, -errno from the server or us */
	u8 *rbuf;			/* reply body (kvmalloc) */
	struct wire_hdr rhdr;
	struct wire_body rbody;		/* with rdest: tail[0] is NULL */
	u8 rfixed[16];			/* the fixed part of a reply to rdest */
	struct completion done_wait;
	vdifs_req_done_t done;
	void *priv;
	u8 msg_inline[VDIFS_MSG_INLINE];	/* msg, when it fits */
};

enum vdifs_conn_state {
	VDIFS_CONN_DOWN,		/* no socket; the thread reconnects */
	VDIFS_CONN_UP,
	VDIFS_CONN_CLOSING,
};

#define VDIFS_CONN_WINDOW	64	/* requests in flight per connection */

/*
 * A connection to one server, kref'd: the last vdifs_conn_put() stops
 * its thread and fails what is left, so it may sleep and must never
 * happen in a receive thread.  The memory goes after an RCU grace period
 * (data-server table lookups are lock-free).
 *
 * reqs maps request ids (never reused) to the requests in flight.  Its
 * xa_lock also guards state, next_id, inflight and rx_req: whatever a
 * submitter and the receive thread decide together.  send_lock
 * serialises whole messages on the socket and guards gen.  The receive
 * thread owns the socket's read side, and replaces sock (after a loss,
 * with gen bumped under send_lock).
 */
struct vdifs_conn {
	struct kref ref;
	struct rcu_head rcu;
	struct vdifs_sb_info *sbi;
	struct sockaddr_storage addr;
	char name[64];			/* for messages: "mds" / "ds3" */
	const struct vdifs_trans_ops *trans;
	struct socket *sock;		/* the thread's; closed under send_lock */
	struct mutex send_lock;
	unsigned int gen;		/* send_lock; bumped at each loss */
	struct xarray reqs;		/* id -> struct vdifs_req in flight */
	u64 next_id;			/* reqs.xa_lock */
	unsigned int inflight;		/* reqs.xa_lock: entries in reqs */
	unsigned int window;		/* most entries in reqs; fixed */
	struct vdifs_req *rx_req;	/* reqs.xa_lock: reply arriving */
	enum vdifs_conn_state state;	/* reqs.xa_lock */
	wait_queue_head_t state_wait;
	wait_queue_head_t window_wait;	/* room in the window, or closing */
	struct task_struct *thread;
	u64 server_epoch;
	u64 features;			/* VDIFS_FEAT_*, agreed at HELLO */
	/*
	 * jiffies of the last reply header, or of the first request sent
	 * to an idle connection: a server that owes replies and has sent
	 * none for a lease may have stalled (vdifs_ds_tick()).  Written by
	 * the receive thread and under reqs.xa_lock, read without a lock.
	 */
	unsigned long rx_stamp;
	unsigned int failures;		/* connect attempts since last up */
	u8 *scratch;			/* receive thread: bodies to drop, sums */
};

struct vdifs_conn *vdifs_conn_create(struct vdifs_sb_info *sbi,
				     const struct sockaddr_storage *addr,
				     const char *name);
void vdifs_conn_put(struct vdifs_conn *conn);
/* wait until the first connect succeeded or failed for good */
int vdifs_conn_wait_up(struct vdifs_conn *conn, unsigned int timeout_ms);
/* fail requests past their deadline; called periodically */
void vdifs_conn_tick(struct vdifs_conn *conn);
/* everything in flight fails with status now; may sleep (done()) */
void vdifs_conn_fail_all(struct vdifs_conn *conn, int status);
/* true in a connection's receive thread, which must never wait */
bool vdifs_in_receive_thread(void);

struct vdifs_req *vdifs_req_new(u16 op, const void *fixed, u32 flen,
				const void *t1, u32 l1, const void *t2, u32 l2);
int vdifs_req_set_summed_data(struct vdifs_req *req,
			      const struct iov_iter *data, size_t len);
void vdifs_sums_iter(const struct iov_iter *iter, size_t len, __le32 *sums);
int vdifs_req_set_data(struct vdifs_req *req, const struct iov_iter *data,
		       size_t len);
int vdifs_req_set_dest(struct vdifs_req *req, const struct iov_iter *dest,
		       size_t len);
void vdifs_req_put(struct vdifs_req *req);
/* waits (killable, at most timeo) while the window is full */
int vdifs_req_submit(struct vdifs_conn *conn, struct vdifs_req *req);
/* -EAGAIN instead of waiting */
int vdifs_req_submit_nowait(struct vdifs_conn *conn, struct vdifs_req *req);
/* submit and wait for the reply; req stays the caller's to put */
int vdifs_req_wait(struct vdifs_conn *conn, struct vdifs_req *req);
/* one call: returns the status; *reqp (if given) holds the reply */
int vdifs_call(struct vdifs_conn *conn, u16 op, const void *fixed, u32 flen,
	       const void *t1, u32 l1, const void *t2, u32 l2,
	       struct vdifs_req **reqp);

/* ---- super.c: the mounted volume ---- */

/*
 * A data server: id is set before the entry is published (sbi->nds),
 * addr is read and written under ds_lock, conn is created on first use
 * and replaced under ds_lock, read under RCU (ds_client.c).
 */
struct vdifs_ds_entry {
	u32 id;
	struct sockaddr_storage addr;
	struct vdifs_conn __rcu *conn;
};

#define VDIFS_MAX_DS 256

/*
 * Per-mount state.  ds_lock serialises changes to the data-server table
 * (entries added, connections created or replaced); nds, the entries
 * published, is stored with release and loaded with acquire, so lookups
 * take no lock.
 */
struct vdifs_sb_info {
	struct vdifs_mount_opts opts;
	struct net *net;
	struct vdifs_conn *mds;
	u32 vol;
	bool vol_rdonly;		/* this client may only read vol */
	u64 root_ino;
	struct vdifs_layout_params params;
	u64 session;
	unsigned int heartbeat_ms;
	unsigned int lease_ms;		/* the MDS's: unheard this long, down */
	struct delayed_work heartbeat;
	struct work_struct stall_work;	/* vdifs_ds_stall_check() */
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
int vdifs_auth_mac(struct vdifs_sb_info *sbi, const char *label,
		   const u8 *a, const u8 *b, u8 *mac);

/* ---- ds_client.c: data servers ---- */

int vdifs_ds_load(struct vdifs_sb_info *sbi);
void vdifs_ds_free(struct vdifs_sb_info *sbi);
void vdifs_ds_tick(struct vdifs_sb_info *sbi);
/*
 * Connections that owe replies and have sent none for a lease: the MDS
 * says whether their server is down, and if it is, what they wait for
 * fails at once (-EHOSTDOWN), for the data path to go on with the new
 * set instead of waiting out timeo.  A work item: sleeps.
 */
void vdifs_ds_stall_check(struct work_struct *work);
/* a referenced connection to ds_id, created on first use; may sleep */
struct vdifs_conn *vdifs_ds_conn(struct vdifs_sb_info *sbi, u32 ds_id);
/* the same without waiting, or NULL where that would have to wait */
struct vdifs_conn *vdifs_ds_conn_find(struct vdifs_sb_info *sbi, u32 ds_id);
/* q for [off, off + len) of chunk c, under capability cap */
void vdifs_chunk_req(struct inode *inode, const struct vdifs_chunk *c,
		     const struct vdifs_chunk_cap *cap,
		     struct vdifs_chunk_req *q, u32 off, u32 len);
/*
 * One waited-for call (PUNCH, MAP, STAT) about chunk index of inode, to
 * the primary of c's set, through server failures; c and q follow the
 * set the MDS gives.  -ENOENT also when the chunk left the file.  Sleeps;
 * a fatal signal ends the wait for a slow server (-EINTR).
 */
int vdifs_chunk_call(struct inode *inode, u64 index, struct vdifs_chunk *c,
		     struct vdifs_chunk_cap *cap, u16 op,
		     struct vdifs_chunk_req *q, struct vdifs_req **rep);
struct vdifs_req *vdifs_chunk_read_req(struct inode *inode,
				       const struct vdifs_chunk *c,
				       const struct vdifs_chunk_cap *cap,
				       u32 off, u32 len,
				       const struct iov_iter *dest, bool sums);
struct vdifs_req *vdifs_chunk_write_req(struct inode *inode,
					const struct vdifs_chunk *c,
					const struct vdifs_chunk_cap *cap,
					u32 off, u32 len,
					const struct iov_iter *data);

/* ---- layout.c: chunk layouts ---- */

struct vdifs_inode;

#define VDIFS_IO_TRIES		4	/* layouts one I/O tries */

/*
 * The chunk at index and the capability for it (cap may be NULL);
 * allocates it when alloc; may ask the MDS.  A cached capability near its
 * expiry is fetched again.
 */
int vdifs_chunk_lookup(struct inode *inode, u64 index, bool alloc,
		       struct vdifs_chunk *out, struct vdifs_chunk_cap *cap);
/* the same from the cache only, without waiting: false if not there */
bool vdifs_chunk_cached(struct inode *inode, u64 index, bool alloc,
			struct vdifs_chunk *out, struct vdifs_chunk_cap *cap);
void vdifs_chunk_forget(struct inode *inode, u64 index);
/* a copy of c had a bad block: the MDS checks them all; may sleep */
void vdifs_chunk_corrupt(struct inode *inode, u64 index,
			 const struct vdifs_chunk *c);
void vdifs_chunk_refused(struct inode *inode, u64 index,
			 const struct vdifs_chunk *c, int err, u64 *frozen);
void vdifs_layout_drop(struct vdifs_inode *vi);

/*
 * Asks the MDS to take failed servers out of c's set; c becomes the
 * chunk's current record.  -EAGAIN: every server of the set is alive
 * and in sync (slow, not failed).  May sleep for an MDS call.
 */
int vdifs_chunk_degrade(struct inode *inode, u64 index,
			struct vdifs_chunk *c, struct vdifs_chunk_cap *cap);

/*
 * layout errors that a fresh layout cures: frozen, not the primary, a
 * capability past its time
 */
/* a soft mount has waited out its timeo for I/O started at start */
static inline bool vdifs_soft_expired(const struct vdifs_sb_info *sbi,
				      unsigned long start)
{
	return sbi->opts.soft &&
	       time_after(jiffies, start + msecs_to_jiffies(sbi->opts.timeo_ms));
}

static inline bool vdifs_layout_stale(int err)
{
	return err == -EROFS || err == -ENXIO || err == -EKEYEXPIRED;
}

/*
 * Errors that say a server of the set failed, or refused our set as old
 * (-ESTALE): the MDS judges (vdifs_chunk_degrade()), and the I/O goes on
 * with what it says.  -EREMOTEIO: the primary could not reach a replica.
 */
static inline bool vdifs_server_failed(int err)
{
	switch (err) {
	case -ESTALE:
	case -EREMOTEIO:
	case -ETIMEDOUT:
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ECONNABORTED:
	case -EPIPE:
	case -EHOSTUNREACH:
	case -EHOSTDOWN:
	case -ENETUNREACH:
	case -ENOTCONN:
	case -ESHUTDOWN:
		return true;
	}
	return false;
}

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
	struct xarray chunks;		/* chunk index -> vdifs_layout_ent * */
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
bool vdifs_size_ahead(struct inode *inode);
bool vdifs_size_covers(struct inode *inode, loff_t end);
u64 vdifs_change_seen(struct inode *inode);
int vdifs_revalidate_own(struct inode *inode, u64 before);
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

/*
 * One piece of I/O that crosses no chunk, on its way to a data server:
 * a netfs subrequest's (struct vdifs_subreq, addr.c), a direct I/O's
 * (direct.c) or a waiting caller's (vdifs_io_sync).  At most one of the issuer, the work item and a
 * request's done() moves it on at a time, so it needs no lock.
 */
struct vdifs_io {
	struct inode *inode;
	loff_t pos;
	size_t len;
	struct iov_iter *iter;		/* the data; advanced by len on success */
	bool write;
	bool refused;			/* write: the last try's layout was stale */
	bool have_layout;		/* chunk is this try's layout */
	bool degrade;			/* a server failed: ask the MDS */
	bool waited;			/* paused for a slow server */
	bool plain;			/* read: without block sums (a retry) */
	bool corrupt;			/* read: a copy had a bad block */
	unsigned int tries;		/* layouts tried */
	unsigned long start;		/* jiffies: soft mounts give up */
	unsigned int first;		/* read: the copy of the set tried first */
	unsigned int replica;		/* read: copies tried after first */
	int error;			/* the last failure */
	u64 frozen;			/* write: chunk id refused as frozen */
	struct vdifs_chunk chunk;
	struct vdifs_chunk_cap cap;	/* chunk's, from the same layout */
	struct delayed_work work;
	/*
	 * Called once with the result, in any of the above (may sleep,
	 * never waits for a request); io may be gone when it returns.
	 */
	void (*complete)(struct vdifs_io *io, int error);
};

void vdifs_io_init(struct vdifs_io *io, struct inode *inode, loff_t pos,
		   size_t len, struct iov_iter *iter, bool write,
		   void (*complete)(struct vdifs_io *io, int error));
/* its work item's function: INIT_DELAYED_WORK(&io->work, ...) */
void vdifs_io_work(struct work_struct *work);
/* from the issuing task; may sleep for room in a connection's window */
void vdifs_io_start(struct vdifs_io *io);
int vdifs_data_init(void);
void vdifs_data_exit(void);
int vdifs_punch_range(struct inode *inode, loff_t start, loff_t end);
int vdifs_copy_direct(struct inode *sin, loff_t spos, struct inode *din,
		      loff_t dpos, size_t len);
/* direct.c */
ssize_t vdifs_direct_read(struct kiocb *iocb, struct iov_iter *to);
ssize_t vdifs_direct_write(struct kiocb *iocb, struct iov_iter *from);
int vdifs_direct_init(void);
void vdifs_direct_exit(void);

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
