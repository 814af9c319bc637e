/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdifs-mds: private declarations, one section per source file.
 *
 * Threading (sched.c): a reader thread per connection hands requests to
 * a pool of workers (reads, in parallel, each in a read transaction) or
 * to the committer (mutations: those queued run one after another, each
 * in a nested transaction, and commit together, fsync'd before their
 * replies are sent).  Mutations that clone chunks on data servers go to
 * a worker first for their calls (intent.c), never made inside the
 * committer's transaction.  Membership liveness (last heartbeat times) is
 * volatile and lives in struct mds under mds->lock.
 */
#ifndef _VDIFS_MDS_H
#define _VDIFS_MDS_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include "vdifs_client.h"
#include "be.h"
#include "log.h"
#include "srv.h"
#include "msg.h"
#include "connlimit.h"

#define MDS_DEFAULT_LISTEN	"127.0.0.1:7400"
#define MDS_DEFAULT_DATA	"vdifs-mds-data"
#define MDS_MAX_DS		1024
#define MDS_MAX_SESSIONS	4096

/* ---- main.c: configuration ---- */

struct mds_config {
	char listen[300];
	char data[4096];
	char port_file[4096];
	u8 key[VDIFS_KEY_MAX];		/* the servers' (and all roles') */
	size_t key_len;			/* 0: no authentication */
	u8 client_key[VDIFS_KEY_MAX];	/* clients', if not the above */
	size_t client_key_len;
	int insecure;			/* keyless, on purpose */
	u8 admin_key[VDIFS_KEY_MAX];	/* tools', if not the above */
	size_t admin_key_len;
	u32 heartbeat_ms;		/* told to data servers and clients */
	u32 lease_ms;			/* unheard this long: down */
	u32 session_expiry_s;		/* unheard this long: session gone */
	u32 cap_lifetime_s;		/* a chunk capability's life */
	u64 map_size;			/* LMDB map size, bytes */
	u8 default_replicas;		/* for volumes created without one */
	u64 recovery_bandwidth;		/* bytes/s of chunk copies, 0: no limit */
	u32 recovery_interval_ms;	/* between passes with nothing to do */
	u32 down_out_s;			/* leavers' copies kept to catch up */
	u32 rebalance_margin;		/* percentage points; 0: never */
	u32 scrub_period_h;		/* a scrub pass this often; 0: asked */
	int log_level;
	struct srv_limits limits;	/* connections: limits and counts */
};

/* ---- db.c: persistent state ---- */

/*
 * The inode record.  attr is kept in wire (little-endian) form so a
 * GETATTR is a copy; the rest is server-only.
 */
struct mds_inode {
	struct vdifs_attr attr;
	__le64 parent;		/* directories: the one parent; root: itself */
	__le64 next_cookie;	/* directories: last readdir cookie given */
	__le64 nchunks;		/* regular files: chunk records allocated */
	__le64 pad;
};

struct mds_dirent {
	__le64 ino;
	__le64 cookie;
	u8 type;		/* DT_* */
	u8 pad[7];
};

struct mds_vol {
	__le32 vol;
	__le32 pad;
	__le64 root;
	__le64 inodes;
	__le64 bytes;
	struct vdifs_layout_params params;
	char name[72];		/* NUL-terminated */
};

struct mds_ds_rec {
	__le32 ds_id;
	__le32 admin;		/* VDIFS_DS_IN / OUT (was pad: 0 is in) */
	struct vdifs_addr addr;
	__le64 capacity;
	__le64 used;
	__le64 chunks;		/* chunk replicas placed on it */
};

struct mds_principal {
	__le32 role;		/* VDIFS_ROLE_CLIENT or _TOOL */
	__le32 gen;		/* bumped by every rotation: a new key */
	__le64 created_ns;
};

struct mds_session_rec {
	__le64 session;
	__le32 vol;
	__le16 name_len;
	__le16 pad;
	char name[VDIFS_HOSTNAME_MAX + 1];
};

/*
 * The named databases.  Keys are big-endian so that LMDB's byte order is
 * numeric order (readdir by cookie, volumes by id, chunks by index).
 */
struct mds_db {
	MDB_env *env;
	MDB_dbi meta;		/* counters: "next_ino", "next_vol", ... */
	MDB_dbi vols;		/* be32 vol -> struct mds_vol */
	MDB_dbi volnames;	/* name -> be32 vol */
	MDB_dbi inodes;		/* be32 vol, be64 ino -> struct mds_inode */
	MDB_dbi dirents;	/* be32 vol, be64 dir, name -> mds_dirent */
	MDB_dbi cookies;	/* be32 vol, be64 dir, be64 cookie -> name */
	MDB_dbi xattrs;		/* be32 vol, be64 ino, name -> value */
	MDB_dbi symlinks;	/* be32 vol, be64 ino -> target */
	MDB_dbi chunks;		/* be32 vol, be64 ino, be64 idx -> vdifs_chunk */
	MDB_dbi gc;		/* be64 chunk id -> mds_gc_rec: to be freed */
	MDB_dbi dservers;	/* be32 ds id -> struct mds_ds_rec */
	MDB_dbi sessions;	/* be64 session -> struct mds_session_rec */
	MDB_dbi replies;	/* be64 session, be64 req id -> kept reply */
	MDB_dbi intents;	/* be64 intent -> clones prepared (intent.c) */
	MDB_dbi principals;	/* name -> struct mds_principal */
	MDB_dbi access;		/* be32 vol, name -> le32 VDIFS_ACCESS_* */
	MDB_dbi behind;		/* be32 ds id -> its async log (lost.c) */
	MDB_dbi lost;		/* be32 vol, be64 ino, be64 idx -> lost_status */
};

int db_open(struct mds_db *db, const char *dir, u64 map_size);
void db_close(struct mds_db *db);
int db_err(int mdb_rc);		/* LMDB code -> -errno */
int db_counter_next(MDB_txn *t, struct mds_db *db, const char *name,
		    u64 *val);
int db_get(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, void *v,
	   size_t vl);
int db_put(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, const void *v,
	   size_t vl, unsigned int flags);
int db_del(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl);
/* delete every key starting with prefix; calls fn on each value first */
int db_del_prefix(MDB_txn *t, MDB_dbi dbi, const void *prefix, size_t pl,
		  int (*fn)(MDB_txn *t, const MDB_val *k, const MDB_val *v,
			    void *arg), void *arg);

/* key builders; buf must hold MDS_KEY_BUF bytes */
#define MDS_KEY_BUF (12 + 8 + VDIFS_NAME_MAX + 1)
size_t key_ino(u8 *buf, u32 vol, u64 ino);
size_t key_name(u8 *buf, u32 vol, u64 ino, const u8 *name, u32 len);
size_t key_u64(u8 *buf, u32 vol, u64 ino, u64 v);

/*
 * A chunk to free on its data servers: pending has a bit per replica
 * (index into c.ds) not yet told.  Records written before the bits
 * existed are a bare struct vdifs_chunk: every replica pending.
 */
struct mds_gc_rec {
	struct vdifs_chunk c;
	__le32 pending;
	/*
	 * Not before this (CLOCK_REALTIME seconds; 0: at once): the copies
	 * of servers taken out of a live chunk's set are kept down_out_s
	 * for the recovery to catch them up should their servers return,
	 * instead of copying the chunk whole elsewhere.
	 */
	__le32 keep_until;
};

_Static_assert(sizeof(struct mds_gc_rec) == sizeof(struct vdifs_chunk) + 8,
	       "on-disk size");

/* ---- member.c, session.c: data servers and sessions (volatile liveness) ---- */

struct mds_ds {
	struct mds_ds_rec rec;
	long long last_seen_ms;		/* monotonic; 0: not heard since start */
	u32 pending;			/* chunks placed since its last report */
	bool used;
};

struct mds_sess {
	struct mds_session_rec rec;
	long long last_seen_ms;
	bool used;
};

/* ---- the server ---- */

struct mds {
	struct mds_config cfg;
	struct srv_keys keys;		/* into cfg: which role proves what */
	struct mds_db db;
	u64 epoch;			/* changes at every start */
	long long start_ms;		/* net_now_ms() at start */
	/* protects ds[], sess[]; never held across an LMDB write txn begin */
	pthread_mutex_t lock;
	struct mds_ds ds[MDS_MAX_DS];
	struct mds_sess sess[MDS_MAX_SESSIONS];
	/*
	 * Chunk ids reach the data servers before our transaction commits;
	 * one that aborts must not hand the same ids out again, so ids come
	 * from this counter, which never goes back (id_lock guards it).
	 */
	pthread_mutex_t id_lock;
	u64 chunk_hw;
	/* recovery.c's counts for STATUS, under lock */
	u64 rr_degraded;		/* as of the last full pass */
	u64 rr_waiting;			/* of those, for a server's return */
	u64 rr_copied, rr_copied_bytes;	/* since start */
	/* scrub.c's, under lock */
	u64 scrub_checked, scrub_bad, scrub_replaced;
	u32 scrub_passes;
	bool scrub_running;
	/*
	 * Bumped (atomically) by every change of a principal or an access
	 * list, so that a connection's cached answers (struct mds_conn)
	 * are checked again; access_entries counts list entries of all
	 * volumes (0: every volume is open, nothing to look up).
	 */
	u64 access_gen;
	u64 access_entries;
	/* capabilities' key, from the server key (0s: no key, no caps) */
	u8 cap_key[VDIFS_PRINCIPAL_KEY_LEN];
};

int mds_chunk_id(struct mds *m, MDB_txn *t, u64 *id);
int mds_chunk_id_init(struct mds *m);
s64 mds_now_ns(void);

/* intent.c: clones made on the data servers before an op's commit */
struct mds_prep_clone {
	struct vdifs_chunk base;	/* the chunk it is a clone of */
	u64 id;				/* its own id */
	bool used;			/* taken by the op */
};

struct mds_prep {
	u64 intent;			/* its record in db.intents */
	unsigned int n, cap;
	struct mds_prep_clone *v;
};

/* an op found the file changed since it was prepared: prepare again */
#define MDS_REPREPARE	(-EINPROGRESS)

/*
 * Clones of chunks [first, first+count) of (vol, ino), times each: ids,
 * an intent record committed, then the data servers' CHUNK_CLONEs; no
 * transaction open.  May sleep for the calls.
 */
int prep_clones(struct mds *m, u32 vol, u64 ino, u64 first, u64 count,
		unsigned int times, struct mds_prep **out);
/* an unused prepared clone of base (same id and set), or MDS_REPREPARE */
int prep_take(struct mds_prep *p, const struct vdifs_chunk *base, u64 *id);
/* in the op's transaction: the intent goes, unused clones to the gc */
int prep_commit(struct mds *m, MDB_txn *t, struct mds_prep *p);
void prep_free(struct mds_prep *p);
int intent_start(struct mds *m);

/* reply under construction: fixed part, then an optional tail */
struct mds_reply {
	u8 fixed[128];
	u32 flen;
	u8 *tail;
	u32 tlen;
	u32 tcap;
	struct mds_prep *prep;		/* the op's prepare(), if it has one */
};

int reply_tail_reserve(struct mds_reply *r, u32 cap);

/*
 * A connection (sched.c).  auth is written by the reader alone, during
 * the handshake, before any request of the connection runs elsewhere;
 * handlers only read it.  wlock serialises replies on fd; refs and
 * inflight are under sched.c's conn_lock.
 */
struct mds_conn {
	struct mds *m;
	int fd;
	struct sockaddr_storage addr;	/* the peer's, for srv_release() */
	char peer[64];
	struct srv_auth auth;
	pthread_mutex_t wlock;
	int refs;			/* the reader + requests in flight */
	int inflight;			/* requests handed on, not answered */
	/*
	 * The session the connection belongs to (0: none), for replay.c:
	 * set by SESSION_OPEN or SESSION_BIND (atomically: the reader reads
	 * it as it queues later requests).
	 */
	u64 session;
	/*
	 * The reader's cache of access.c's answers, valid while
	 * acc_gen == mds->access_gen: the principal still stands, and
	 * acc_vol's rights (-1: none looked up).  Reader only.
	 */
	u64 acc_gen;
	long long acc_ms;		/* when acc_gen was taken */
	u32 acc_vol;
	int acc_rights;
};

/* sched.c: a reader thread for a new connection; workers, committer */
int sched_start(struct mds *m);
int sched_conn_start(struct mds *m, int fd,
		     const struct sockaddr_storage *addr, pthread_attr_t *attr);

/*
 * A request handler.  t is a read or write transaction as the op table
 * says (NULL for none); a write transaction is committed by the caller
 * when the handler returns 0 and aborted otherwise, so a handler never
 * leaves half a change behind.  May sleep.
 */
typedef int (*mds_handler_t)(struct mds *m, struct mds_conn *c, MDB_txn *t,
			     const struct wire_body *b, struct mds_reply *r);

enum { MDS_TXN_NONE, MDS_TXN_READ, MDS_TXN_WRITE };

struct mds_op {
	mds_handler_t fn;
	u8 txn;			/* MDS_TXN_* */
	/*
	 * For MDS_TXN_WRITE ops that change nothing for some requests:
	 * false sends this one down the read path (a read transaction, in
	 * parallel with others) instead of the committer.
	 */
	bool (*writes)(const struct wire_body *b);
	/*
	 * Ops that clone chunks on data servers: run first, outside any
	 * transaction (in a worker), its result in r->prep for fn.  May
	 * sleep.
	 */
	int (*prepare)(struct mds *m, const struct wire_body *b,
		       struct mds_prep **out);
};

/* vol.c: volumes, layout parameters */
extern const struct mds_op vol_ops[VDIFS_OP_MAX];
int ns_check_params(const struct vdifs_layout_params *p, bool allow_zero);
/* fill the 0 ("inherit") fields of p from base */
void params_inherit(struct vdifs_layout_params *p,
		    const struct vdifs_layout_params *base,
		    bool explicit_mode);
int vol_get(struct mds *m, MDB_txn *t, u32 vol, struct mds_vol *v);
/* copies of a chunk below which its writes fail */
static inline unsigned int vol_min_replicas(const struct mds_vol *v)
{
	return v->params.min_replicas ? v->params.min_replicas : 1;
}
int vol_adjust(struct mds *m, MDB_txn *t, u32 vol, s64 dinodes, s64 dbytes);

/* inode.c: the inode and directory-entry store, in the caller's txn */
int reply_attr(struct mds_reply *r, const struct mds_inode *in);
int inode_get(struct mds *m, MDB_txn *t, u32 vol, u64 ino,
	      struct mds_inode *in);
int inode_put(struct mds *m, MDB_txn *t, u32 vol,
	      const struct mds_inode *in);
u32 in_mode(const struct mds_inode *in);
void touch(struct mds_inode *in, bool mtime);
void nlink_add(struct mds_inode *in, int d);
int dir_get(struct mds *m, MDB_txn *t, u32 vol, u64 ino,
	    struct mds_inode *dir);
int dirent_get(struct mds *m, MDB_txn *t, u32 vol, u64 dir, const u8 *name,
	       u32 len, struct mds_dirent *de);
int dirent_add(struct mds *m, MDB_txn *t, u32 vol, struct mds_inode *dir,
	       const u8 *name, u32 len, u64 ino, u8 type);
int dirent_del(struct mds *m, MDB_txn *t, u32 vol, u64 dir, const u8 *name,
	       u32 len, const struct mds_dirent *de);
int dir_is_empty(struct mds *m, MDB_txn *t, u32 vol, u64 dir);
int gc_chunk(MDB_txn *t, const MDB_val *k, const MDB_val *v, void *arg);
int inode_free(struct mds *m, MDB_txn *t, u32 vol,
	       const struct mds_inode *in);
int inode_new(struct mds *m, MDB_txn *t, u32 vol, u32 mode, u32 uid,
	      u32 gid, u32 rdev, const struct vdifs_layout_params *p,
	      u64 parent, struct mds_inode *in);

/* xattr.c: user xattrs */
extern const struct mds_op xattr_ops[VDIFS_OP_MAX];

/* layout.c: chunk geometry, chunk allocation */
extern const struct mds_op layout_ops[VDIFS_OP_MAX];

/* ns.c: the POSIX namespace */
extern const struct mds_op ns_ops[VDIFS_OP_MAX];

/* snap.c: snapshots and clones */
extern const struct mds_op snap_ops[VDIFS_OP_MAX];
/* namespace ops refuse to touch the snapshot area */
int snap_check_dir(const struct mds_inode *dir);
int snap_free_all(struct mds *m, MDB_txn *t, u32 vol, u64 ino);

/* gc.c: the chunk collector */
int gc_start(struct mds *m);
/*
 * In t: c is to be freed on its data servers, every replica; keep: not
 * before down_out_s (copies of a live chunk's leavers; 0 for a chunk
 * freed, which also ends any keeping of its copies).
 */
int gc_record(struct mds *m, MDB_txn *t, const struct vdifs_chunk *c,
	      bool keep);
/* in t: ds has a copy of chunk id in its set again: not to be freed */
int gc_cancel(struct mds *m, MDB_txn *t, u64 id, u32 ds);
/*
 * The servers whose copies of chunk id wait for the collector, and until
 * when (0: not kept); the count, or -errno
 */
int gc_pending_of(struct mds *m, u64 id, u32 *ds, unsigned int max,
		  u32 *keep_until);
/*
 * Has server ds copies the collector is to free now (not kept)?  A full
 * scan of the collector's table; true when it cannot tell.
 */
bool gc_due_on(struct mds *m, u32 ds);
/*
 * keep chunk id's pending copies at least until then (realtime s); 0:
 * keep them no longer
 */
int gc_keep(struct mds *m, u64 id, u32 until);

/* dsrpc.c: calls to data servers (may sleep up to their timeout) */
/* one chunk op on c's primary (c->ds[0]); it forwards to the replicas */
int dsrpc_chunk_call(struct mds *m, u16 op, const struct vdifs_chunk *c,
		     u64 chunk_id, u64 base_id, u32 chunk_size,
		     u32 extent_size, u8 repl_mode);
/* a clone to make: chunk_id, from base (in base's set) */
struct dsrpc_clone {
	const struct vdifs_chunk *base;
	u64 chunk_id;
};

/*
 * The n clones of v on data server ds_id, the primary of each (it
 * forwards to their replicas), in as few messages as it takes
 * (CHUNK_CLONE_MANY; one by one to a server without it): rets[i] the
 * answer to v[i], as a CHUNK_CLONE's.  Sleeps for as long as they take.
 */
void dsrpc_chunk_clones(struct mds *m, u32 ds_id, const struct dsrpc_clone *v,
			u32 n, const struct vdifs_layout_params *lp, int *rets);
/* drop chunk_id's copy on ds_id alone */
int dsrpc_chunk_delete_one(struct mds *m, u32 ds_id, u64 chunk_id);
/*
 * CHUNK_SYNC to c's primary: every server of c's set (the new one) gets
 * a copy, and the primary takes c's epoch; *bytes: data bytes sent.
 * Sleeps for as long as the copy takes.
 */
int dsrpc_chunk_sync(struct mds *m, const struct vdifs_chunk *c, u8 mode,
		     u64 *bytes);
/* CHUNK_SCRUB of chunk_id's copy on ds_id */
int dsrpc_chunk_scrub(struct mds *m, u32 ds_id, u64 chunk_id,
		      struct vdifs_chunk_scrub_rep *out);
/* chunk_id's copy on ds_id: version, flags (STALE) */
int dsrpc_chunk_stat(struct mds *m, u32 ds_id, u64 chunk_id,
		     struct vdifs_chunk_stat *out);
/* the same, telling it first that epoch is the chunk's newest (EPOCH) */
int dsrpc_chunk_stat_epoch(struct mds *m, u32 ds_id, u64 chunk_id,
			   u64 epoch, struct vdifs_chunk_stat *out);

/* member.c: data servers, status */
extern const struct mds_op member_ops[VDIFS_OP_MAX];

/* ---- lost.c: lost async writes ---- */

int lost_heartbeat(struct mds *m, u32 ds, const struct wire_body *b);
void lost_note(struct mds *m, u32 vol, u64 ino, u64 idx, u64 id,
	       u32 primary, u64 have);
int lost_forget(struct mds *m, MDB_txn *t, u32 vol, u64 ino);
int lost_status(struct mds *m, struct mds_reply *r, u32 *n);
int member_load(struct mds *m);
/*
 * Choose n distinct up data servers for a new chunk, or as many as are
 * up if at least min, counting it on them; returns how many or -ENOSPC.
 */
int member_place(struct mds *m, MDB_txn *t, unsigned int n, unsigned int min,
		 u32 *out);
u64 member_free_bytes(struct mds *m, u64 *total);
/* heard from within the lease */
bool member_ds_up(struct mds *m, u32 id);
/* taken out of service (DS_ADMIN): its copies move elsewhere */
bool member_ds_out(struct mds *m, u32 id);
/* its use (used / capacity, as last heard) in millionths; 0 unknown */
u64 member_ds_use_ppm(struct mds *m, u32 id);

/* session.c: client sessions */
extern const struct mds_op session_ops[VDIFS_OP_MAX];
int session_load(struct mds *m);
/* the reaper of expired sessions */
int session_start(struct mds *m);
bool session_up(struct mds *m, const struct mds_sess *s, long long now);
/* a session up on vol */
bool session_vol_busy(struct mds *m, u32 vol);
/*
 * Down for sure: unknown, or unheard for a lease (counted from our start
 * when not heard since: it may not have had the time to heartbeat yet)
 */
bool member_ds_failed(struct mds *m, u32 id);

/*
 * replay.c: the kept replies of a session's mutations.  lookup: 1 and r
 * filled when (session, req_id) was done already, 0 if not.
 */
int replay_lookup(struct mds *m, MDB_txn *t, u64 session, u64 req_id,
		  struct mds_reply *r);
int replay_store(struct mds *m, MDB_txn *t, u64 session, u64 req_id,
		 const struct mds_reply *r);
int replay_forget(struct mds *m, MDB_txn *t, u64 session);

/* db.c: MDS_BACKUP */
extern const struct mds_op db_ops[VDIFS_OP_MAX];

/* recovery.c: replica sets (LAYOUT_DEGRADE), re-replication thread */
extern const struct mds_op recovery_ops[VDIFS_OP_MAX];
int recovery_start(struct mds *m);
/*
 * A walk of the chunk records in a read transaction (recovery,
 * rebalancing): begin after the key after[0..alen) (0: from the first);
 * rc is 0 while key/val hold a record.  chunk_scan_file(): the inode of
 * (vol, ino), looked up once per file of the walk (zeroed if gone).
 */
struct chunk_scan {
	MDB_txn *t;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;
	bool have;		/* in is (vol, ino)'s */
	u32 vol;
	u64 ino;
	struct mds_inode in;
};
int chunk_scan_begin(struct mds *m, struct chunk_scan *s, const u8 *after,
		     size_t alen);
void chunk_scan_next(struct chunk_scan *s);
const struct mds_inode *chunk_scan_file(struct mds *m, struct chunk_scan *s,
					u32 vol, u64 ino);
void chunk_scan_end(struct chunk_scan *s);
/* server id's rendezvous score for a chunk of index idx in its file */
u64 recovery_score(u64 idx, u32 id);
/* a copy of bytes made, for STATUS */
void recovery_count(struct mds *m, u64 bytes);
/* sleep as long as bytes of copies take at recovery_bandwidth */
void recovery_pause(struct mds *m, u64 bytes);

/* rebalance.c: moving chunks from full servers to empty ones */
struct rb_cursor {
	u8 key[MDS_KEY_BUF];	/* the last chunk record looked at */
	size_t len;		/* 0: from the start */
};

/*
 * One pass of the rebalancer (the recovery thread's, when nothing is
 * degraded): bytes moved, 0 when nothing was to move, or -errno.
 * Sleeps for the data-server calls and the pacing.
 */
s64 rebalance_pass(struct mds *m, struct rb_cursor *rc);
/*
 * The record of (vol, ino, idx) becomes now if it is still was (else
 * -EAGAIN, now the record as it is); copies on servers now leaves out go
 * to the collector.  Its own write transaction, after every server of
 * both sets was told now's epoch: -EINPROGRESS, nothing changed, when a
 * leaver that is not down could not be told.
 */
int chunk_swap(struct mds *m, u32 vol, u64 ino, u64 idx,
	       const struct vdifs_chunk *was, struct vdifs_chunk *now,
	       bool keep);

/* principal.c: named keys (KEY_*) */
extern const struct mds_op principal_ops[VDIFS_OP_MAX];
/* srv_principal_fn for the handshake: arg is the struct mds */
int principal_lookup(void *arg, const char *name, u32 *role, u32 *gen);

/* access.c: per-volume access lists (ACCESS_*) */
extern const struct mds_op access_ops[VDIFS_OP_MAX];
int access_load(struct mds *m);
/*
 * May the peer of c send op (which writes if writes) on what it names?
 * 0, -EACCES (not on the volume's list), -EROFS (on it to read), or
 * -EKEYREVOKED (its principal was deleted or rotated since it proved
 * it: the connection ends).  In c's reader.
 */
int access_check(struct mds *m, struct mds_conn *c, u16 op,
		 const struct wire_body *b, bool writes);
/* c's rights on vol: VDIFS_ACCESS_*; in a handler, under t */
int access_rights(struct mds *m, MDB_txn *t, const struct mds_conn *c,
		  u32 vol);
/* in t: vol's list goes with the volume */
int access_drop_vol(struct mds *m, MDB_txn *t, u32 vol);
/*
 * The capability for c's peer on chunk ch (zero for a hole or a keyless
 * cluster); rights: VDIFS_ACCESS_* as access_rights() says, and
 * writable: false for a snapshot's chunks.
 */
void access_cap(struct mds *m, const struct mds_conn *c,
		const struct vdifs_chunk *ch, int rights, bool writable,
		struct vdifs_chunk_cap *cap);

/* scrub.c: checking every copy (SCRUB) */
extern const struct mds_op scrub_ops[VDIFS_OP_MAX];
int scrub_start(struct mds *m);

#endif /* _VDIFS_MDS_H */
