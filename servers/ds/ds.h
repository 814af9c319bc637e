/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdifs-ds: private declarations, one section per source file.
 *
 * Threading: a reader thread per connection runs a request itself when
 * nothing else waits on its socket, and otherwise hands it to a fixed
 * pool of workers, so many requests are in flight per connection and
 * requests for different chunks run in parallel; other servers' forwarded
 * mutations have a pool of their own.  A chunk's mutations are
 * serialised by its struct ds_chunk mutex.  Replies on one connection are written under
 * that connection's write lock.
 */
#ifndef _VDIFS_DS_H
#define _VDIFS_DS_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include "vdifs_client.h"
#include "log.h"
#include "srv.h"
#include "msg.h"
#include "connlimit.h"

/* qsort()/bsearch() order of u64s (chunk ids) */
static inline int ds_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

#define DS_DEFAULT_LISTEN	"127.0.0.1:7500"
#define DS_DEFAULT_DATA		"vdifs-ds-data"
#define DS_DEFAULT_MDS		"127.0.0.1:7400"
#define DS_WORKERS		8
#define DS_PEER_WORKERS		4	/* forwarded mutations (main.c) */
/*
 * Requests of one connection queued or running at a time: past it its
 * reader stops reading (TCP pushes back), so that one client pipelining
 * reads it does not take in cannot hold every worker.
 */
#define DS_CONN_JOBS		(DS_WORKERS * 3 / 4)

/* ---- main.c ---- */

struct ds_config {
	char listen[300];
	char advertise[300];	/* address told to the MDS, default listen */
	char mds[300];
	char data[4096];
	char port_file[4096];
	u8 key[VDIFS_KEY_MAX];		/* the servers' (and all roles') */
	size_t key_len;
	u8 client_key[VDIFS_KEY_MAX];	/* clients', if not the above */
	size_t client_key_len;
	int insecure;			/* keyless, on purpose */
	u64 capacity;		/* 0: the file system's size */
	int log_level;
	struct srv_limits limits;	/* connections: limits and counts */
};

struct ds;

/* ---- store.c: chunks on disk ---- */

/*
 * Chunk metadata, in LMDB.  A chunk's data is a file of DS_BLOCK-sized
 * blocks (DATA/chunks/<id %016llx>); its extent map (LMDB "extents") says
 * for every extent with data which chunk's file holds it and, block by
 * block, where in that file and with which checksum (or that the block
 * reads as zeroes).  An extent is the unit of copy-on-write: a clone's
 * first write to an extent it shares makes the entry its own, the blocks
 * written in its own file and the others left where they are, in the
 * base's file (DS_BLK_OTHER: an entry names at most two files, its owner's
 * and one other, so a 4 KiB write into a fresh clone moves 4 KiB, not
 * the extent); after that the clone writes it block by block like any
 * chunk writes its own extents.  Clones copy the map of their base, so a read
 * resolves any extent with one lookup however deep the chain (the map is
 * flat).  A clone holds a reference on its base (base_id) and nothing
 * else: the base holds its own base, so every chunk whose blocks a map
 * may name stays alive, and cloning or freeing costs the same at any
 * depth.
 */
/*
 * Format 3 (2026-11-27): map entries may name a second file (the trailer
 * of struct ds_ext).  A format-2 store is a format-3 one without any, and
 * is marked 3 when opened, so that an older vdifs-ds refuses it.
 */
#define DS_STORE_FORMAT	3
#define DS_BLOCK	4096u
#define DS_EXT_BLOCKS	(VDIFS_EXTENT_MAX / DS_BLOCK)
#define DS_BLK_ZERO	0xffffffffu	/* a block that reads as zeroes */
/*
 * In a block record: the block is block (blk & DS_BLK_NUM) of the entry's
 * other file (ds_ext.other), not of its owner's.  Never set in ZERO's
 * sense: DS_BLK_ZERO is tested first.
 */
#define DS_BLK_OTHER	0x80000000u
#define DS_BLK_NUM	0x7fffffffu

struct ds_chunk_rec {
	__le64 id;
	__le64 version;
	__le64 base_id;
	__le32 chunk_size;
	__le32 extent_size;
	__le32 refs;		/* its file's + one per clone made from it */
	__le32 flags;		/* VDIFS_CHUNK_STALE | FROZEN | DS_DELETED */
	__le32 depth;		/* 1 + ancestors (a statistic, no limit) */
	__le32 own_extents;	/* map entries that point into its own file */
	__le32 map_extents;	/* map entries */
	__le32 pad;
	/*
	 * The newest replica-set epoch a request has shown us (0: none):
	 * older ones are refused.  Records written before it existed are
	 * 8 bytes shorter and read as 0.
	 */
	__le64 epoch;
	/*
	 * The digest of the last forwarded WRITE or PUNCH applied (0:
	 * none): a forward of the version we have is a resend only with
	 * the same one.  Records written before it existed read it as 0.
	 */
	__le64 digest;
};

#define DS_CHUNK_REC_V2	offsetof(struct ds_chunk_rec, epoch)
#define DS_CHUNK_REC_V3	offsetof(struct ds_chunk_rec, digest)

#define DS_DELETED	(1u << 16)	/* its file dropped it; kept for clones */
/*
 * Freed: only this record is left, forever (ids are never reused), so a
 * client writing through a stale layout gets ESTALE and asks the MDS
 * again instead of recreating the chunk as an orphan nobody reads.
 */
#define DS_GONE		(1u << 17)

/*
 * One extent map entry as stored: a header, then nblk (extent size /
 * DS_BLOCK) block records.  Held in memory whole (struct ds_ext).
 */
struct ds_ext_hdr {
	__le64 owner;		/* the chunk whose file holds the blocks */
	__le32 nblk;
	/*
	 * The low 32 bits of the chunk version that last wrote the entry
	 * (1 for 0), so that a copy at an older version is caught up by the
	 * entries newer than it (resync.c); 0: written before stamps, as
	 * new as any.  A clone's entries copied from its base are its
	 * version 1.
	 */
	__le32 stamp;
};

struct ds_blk {
	__le32 blk;		/* block in owner's file, or DS_BLK_ZERO */
	__le32 csum;		/* wire_csum() of the whole block */
};

/*
 * In memory.  Stored as the header, h.nblk block records and, only when
 * some block is DS_BLK_OTHER, a trailer: the __le64 id of the chunk whose
 * file holds those (an ancestor: the chain of base references keeps its
 * file, as it keeps an inherited entry's owner).
 */
struct ds_ext {
	struct ds_ext_hdr h;
	struct ds_blk b[DS_EXT_BLOCKS];
	u64 other;		/* 0: every block is the owner's (or zero) */
};

/* the largest stored entry */
#define DS_EXT_BYTES	(sizeof(struct ds_ext_hdr) + \
			 DS_EXT_BLOCKS * sizeof(struct ds_blk) + 8)

static inline bool ds_blk_other(u32 blk)
{
	return blk != DS_BLK_ZERO && (blk & DS_BLK_OTHER);
}

_Static_assert(sizeof(struct ds_ext_hdr) == 16, "on-disk size");
_Static_assert(sizeof(struct ds_blk) == 8, "on-disk size");

struct ds_store {
	MDB_env *env;
	MDB_dbi meta;		/* "ds_id", "format" */
	MDB_dbi chunks;		/* be64 id -> ds_chunk_rec */
	MDB_dbi extents;	/* be64 id, be32 extent -> ds_ext */
	MDB_dbi rlog;		/* be32 peer, be64 seq -> ds_rlog_rec + body */
	int dirfd;		/* DATA/chunks */
	/* its file system never waits for a device to read (tmpfs, ramfs) */
	bool reads_never_wait;
	/* nor can it say whether it would (no RWF_NOWAIT): set once seen */
	bool nowait_unknown;
	char dir[4096];
};

/* ---- chunk.c: in-memory chunk state, block allocation ---- */

/*
 * In-memory state of a chunk, cached (chunk.c).  mutex guards its
 * mutations (a write holds it to plan, not to write: struct ds_wr) and
 * blocks/nbits/hint/loaded; cond wakes a replica waiting for an earlier
 * version, and writers waiting for others in flight.  rw keeps blocks from being freed and
 * reused under a concurrent reader of this chunk's own extents (readers
 * hold it shared from their map lookup to their last pread; a mutation
 * holds it exclusive from its commit until the old blocks are free).
 * Chunks that are the base of a clone are frozen: their blocks never
 * change, so readers of a clone read them without their lock.
 * users, fd, the hash and LRU links are under ds->cache_lock.
 */
struct ds_mut;

/*
 * A write in flight on a chunk: the extents it replaces, from its plan to
 * its commit.  Writes whose extents are apart go ahead together; one that
 * meets another's waits, since its plan reads what the other replaces.
 */
struct ds_wr {
	u32 first, last;	/* extents; the whole chunk for a new chunk */
	/*
	 * Ordered: it took its version before its data was written (a
	 * forward, sent with it, or one received), so writes commit in the
	 * order they took theirs.  Writes that are not (nothing forwarded)
	 * take theirs at the commit, in any order, and never share the
	 * chunk with ordered ones.
	 */
	bool ordered;
	u64 version;		/* what an ordered one commits as */
	bool queued;		/* handed to the group commit, or failed */
	/* a reader's deferred write (store_defer_begin()): its batch's owner */
	const void *owner;
	struct ds_wr *next;	/* the chunk's list, in the order begun */
};

struct ds_chunk {
	u64 id;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	pthread_rwlock_t rw;
	int fd;			/* its data file, -1 until opened */
	u64 *blocks;		/* bitmap of blocks in use (own extents) */
	u32 nbits;		/* bits in blocks */
	u32 hint;		/* where to look for free blocks first */
	bool loaded;		/* blocks built from the map */
	/*
	 * Under mutex: writes of ours forwarded to the replicas whose
	 * replies are not all in (their writers wait without the mutex,
	 * so that the chunk's next write overlaps their forwards), and
	 * threads in chunk_quiesce() waiting for that to be none.
	 */
	unsigned int fwd_inflight;
	unsigned int quiescing;
	/*
	 * Under mutex: WRITEs and PUNCHes between the version they took and
	 * their commit (their data is written and synced without the mutex,
	 * so that writes to other extents of the chunk overlap theirs), in
	 * the order they began; wr_ver is the newest version an ordered
	 * one took.
	 */
	struct ds_wr *wr_head;
	unsigned int wr_inflight;
	u64 wr_ver;
	int users;		/* threads using it; idle ones are on the LRU */
	struct ds_chunk *next;	/* hash chain */
	struct ds_chunk *lru_prev, *lru_next;
};

#define DS_CHUNK_CACHE	1024	/* idle chunks kept, with their files open */

struct ds_chunk *chunk_get(struct ds *ds, u64 id);
void chunk_put(struct ds *ds, struct ds_chunk *c);
/* drop a freed chunk's state (its file is gone) */
void chunk_forget(struct ds *ds, u64 id);
int chunk_fd(struct ds *ds, struct ds_chunk *c, bool create);
/* a descriptor of its file of the caller's own, which chunk_forget leaves */
int chunk_dup_fd(struct ds *ds, struct ds_chunk *c);
/* blocks: all under c->mutex */
int blk_mark(struct ds_chunk *c, u32 b);
void blk_free(struct ds_chunk *c, u32 b);
int blk_alloc(struct ds_chunk *c, u32 n, u32 *out);
/* c->mutex held: wait until none of c's writes or forwards is in flight */
void chunk_quiesce(struct ds_chunk *c);

/* ---- store.c: chunks on disk ---- */

int store_open(struct ds_store *st, const char *dir);
int store_get_ds_id(struct ds_store *st, u32 *id);
int store_set_ds_id(struct ds_store *st, u32 id);
u64 store_used_bytes(struct ds_store *st);

struct ds_op_ctx {
	struct ds *ds;
	const struct vdifs_chunk_req *q;
	const u8 *data;		/* WRITE payload */
	/*
	 * WRITE: the checksum of each 4 KiB block of data (len is whole
	 * blocks from a block boundary), checked already, or NULL: what
	 * came with the request, or own_sums, summed by a primary
	 */
	const __le32 *sums;
	__le32 *own_sums;
	u32 len;
	u16 op;
	/* output */
	u64 version;
	u8 *out;		/* READ: the buffer to fill (len bytes) */
	u8 *map;		/* MAP, SUMS: bitmap buffer */
	u32 map_len;
	__le32 *sums_out;	/* SUMS: the blocks' checksums */
	u32 sums_len;		/* bytes */
	u32 extent_size;
	struct vdifs_chunk_stat stat;
	u64 sync_bytes;		/* SYNC: data bytes sent */
	/* async replication: log records to append in the same commit */
	u32 log_peers[VDIFS_MAX_REPLICAS];
	unsigned int nlog;
	/*
	 * sync replication: peers to forward to after the commit, while the
	 * chunk is still locked, so replicas get versions in order
	 */
	u32 fwd_peers[VDIFS_MAX_REPLICAS];
	unsigned int nfwd;
	int fwd_err;
	u64 digest;		/* the mutation's, at the primary */
	/*
	 * READ: fail with -EWOULDBLOCK rather than wait for a device (data
	 * not in the page cache): the caller has others to serve first
	 */
	bool nowait;
};

/* ---- main.c: mutations at their primary ---- */

/*
 * A mutation from a client (or the MDS) at the chunk's primary: its set
 * checked, its peers into x (fwd_peers, or log_peers for async sets)
 */
int ds_primary_check(struct ds *ds, struct ds_op_ctx *x);
/* what the sender of x hears: ret, or the failure of a replica */
int ds_primary_result(const struct ds_op_ctx *x, int ret);
/* x run at its primary: checked, made, forwarded; may sleep */
int ds_do_primary(struct ds *ds, struct ds_op_ctx *x);

/* ---- clones.c: CHUNK_CLONE_MANY ---- */

/*
 * The n clones of tail (struct vdifs_clone_ent) that q's fields hold for,
 * here as their primary (forwarded to their replicas), or, with fwd, as
 * a replica: rets[i] each one's status.  -ENOMEM, else 0.  May sleep for
 * the replicas (up to their timeout).
 */
int ds_clone_many(struct ds *ds, const struct vdifs_chunk_req *q,
		  const u8 *tail, u32 n, bool fwd, int *rets);

/* ---- store.c, continued ---- */

int store_read(struct ds_op_ctx *x);
/* a WRITE's or PUNCH's digest (vdifs_chunk_req.digest), never 0 */
u64 store_digest(u16 op, u32 off, u32 len, const u8 *data);
/* the same for a WRITE of whole blocks, from their checksums */
u64 store_digest_sums(u32 off, u32 len, const __le32 *sums);

/*
 * A read sent from the files (VDIFS_CHUNK_SUMS): what to send, in order,
 * and each block's stored checksum, gathered under the chunk's lock; the
 * sending needs no lock.  A block freed and written again meanwhile goes
 * out with its old checksum, which the reader catches and asks again.
 */
struct ds_rplan {
	struct msg_seg *seg;
	u32 nseg;
	__le32 *sums;		/* wire_sums_bytes(nsums), zero-padded */
	u32 nsums;
	u64 *owners;		/* the chunks whose files fds are of */
	int *fds;
	u32 nfds;
};

int store_read_plan(struct ds_op_ctx *x, struct ds_rplan *p);
void store_rplan_free(struct ds_rplan *p);
int store_mutate(struct ds_op_ctx *x);	/* WRITE, PUNCH, CLONE, DELETE */
/*
 * A WRITE or PUNCH up to its commit, which store_defer_end() makes with
 * others; -EWOULDBLOCK: not this way (store_mutate() it, after ending
 * the caller's deferred ones)
 */
struct ds_deferred;
int store_defer_begin(struct ds_op_ctx *x, const void *owner,
		      struct ds_deferred **d);
void store_defer_end(struct ds *ds, struct ds_deferred **v, unsigned int n,
		     int *rets);
int store_map(struct ds_op_ctx *x);
int store_stat(struct ds_op_ctx *x);
int store_exists(struct ds *ds, u64 id);
void store_note_write_size(u32 len);
int store_rec(struct ds *ds, u64 id, struct ds_chunk_rec *r);
/*
 * Which blocks of r's own extent e it still shares with the base it was
 * inherited from (map entries naming two files: a clone's first write
 * into the extent left them in the base's file): shared[] gets a flag per
 * block; their count, or -errno.
 */
int store_ext_shared(struct ds *ds, const struct ds_chunk_rec *r, u32 e,
		     bool *shared);
/* CHUNK_SCRUB: own extents read and checked; bad: those that fail */
int store_scrub(struct ds *ds, u64 id, u64 *version, u32 *extents,
		u32 *bad);
int store_delta(struct ds *ds, const struct ds_chunk_rec *r, u8 **own,
		u8 **drop, u32 *next);
/* CHUNK_SUMS: the extents a copy has in a range, their blocks' sums */
int store_sums(struct ds_op_ctx *x);
/*
 * Catching up a copy at version since (resync.c): of the n extents from
 * first of chunk r, send[] those to write there (written here after
 * since, or not as the copy's sums say), punch[] those the copy has and
 * we do not.  map/sums: the copy's, as CHUNK_SUMS gave them.  all: the
 * copy is too far behind for stamps, every extent we have is sent.
 */
int store_changed(struct ds *ds, const struct ds_chunk_rec *r, u64 since,
		  bool all, u32 first, u32 n, const u8 *map,
		  const __le32 *sums, u32 nsums, u8 *send, u8 *punch);
/* the chunk's newest epoch, durably; the caller holds its mutex */
int store_set_epoch(struct ds *ds, u64 id, u64 epoch);
/* the same, under the chunk's mutex (STAT with EPOCH, from the MDS) */
int store_note_epoch(struct ds *ds, u64 id, u64 epoch);

/* ---- resync.c: copies for servers added to a set (CHUNK_SYNC) ---- */

int resync_chunk(struct ds *ds, struct ds_op_ctx *x);

/* ---- repl.c: replication ---- */

/*
 * A forwarded mutation awaited on a peer's pipe: linked on the peer's
 * waits while its reply is due; status set when done.
 */
struct repl_wait {
	struct repl_wait *next;
	u64 id;
	int status;
	bool done;
	bool waiting;		/* its writer is in pipe_wait() */
	/* done, or its turn to read the pipe: signalled under pipe_lock */
	pthread_cond_t cond;
};

struct ds_peer {
	u32 id;
	char addr[80];		/* under ds->peers_lock */
	/*
	 * A peer that did not answer within its time is not asked again
	 * before this (CLOCK_MONOTONIC ms): the mutations queued behind the
	 * first that waited for it fail at once (-ETIMEDOUT), and their
	 * writers ask the MDS, instead of each waiting its own timeout in
	 * turn, a stopped server's whole stop.  Read and written atomically:
	 * both connections below consult it.
	 */
	u64 mute_until;
	/* when the MDS was last asked for its address (ms, atomically) */
	u64 addr_checked;
	/* one call at a time: the async log's replays, copies, retries */
	pthread_mutex_t lock;	/* serialises use of conn; held across calls */
	struct vdc_conn *conn;
	/*
	 * The pipe: sync forwards from every worker share one connection,
	 * many in flight (one at a time per peer held every other chunk's
	 * forward behind the one in flight).  One waiter at a time reads
	 * the replies and completes whichever it reads (leader/follower:
	 * no thread of its own, no extra switch when one waits alone),
	 * waking that one's writer alone; a reader whose own reply came
	 * hands the reading to the first writer left waiting (a forward's
	 * writer may not wait yet: a deferred write's waits after its
	 * batch's commit).
	 * Each chunk's forwards are sent in version order under its mutex.
	 */
	pthread_mutex_t send_lock;	/* sends on pipe, its (re)connection */
	struct vdc_conn *pipe;		/* under send_lock */
	u64 pipe_next_id;		/* under send_lock */
	/*
	 * Under send_lock (read unlocked as a hint): the last forward sent
	 * was held back (MSG_MORE) for those a batch of deferred writes
	 * sends after it; repl_forward_push() sends them at the batch's end,
	 * so its replica gets the batch in one piece and commits it as one.
	 */
	bool pipe_held;
	pthread_mutex_t pipe_lock;	/* the fields below */
	struct repl_wait *waits;
	int pipe_fd;			/* -1: none */
	/* the reader's: replies read ahead (several come in one read) */
	struct net_rbuf pipe_rb;
	u64 pipe_answered_ms;		/* when it last answered anything */
	bool pipe_reading;		/* a waiter reads the socket */
	bool pipe_dead;			/* broken: every wait on it failed */
};

#define DS_MAX_PEERS 256

/*
 * One mutation forwarded to peers[0..n) at once: begin sends it to each
 * on its pipe, end waits for every reply; err[i]: 0 or -errno.  Between
 * the two the caller writes its own copy.  q, data and peers must stay
 * valid until end.  Nothing is locked in between: any number of
 * forwards, to any peers, may be in flight.
 */
struct repl_fwd {
	struct ds_peer *p[VDIFS_MAX_REPLICAS];	/* by peers[] index */
	struct repl_wait w[VDIFS_MAX_REPLICAS];
	bool sent[VDIFS_MAX_REPLICAS];
	int err[VDIFS_MAX_REPLICAS];
	u64 deadline_ms;
	const u32 *peers;
	unsigned int n;
	u16 op;
	struct vdifs_chunk_req fq;
	const u8 *data;
	const __le32 *sums;	/* fq.nsums of them, or NULL */
	u32 len;
};

void repl_forward_begin(struct ds *ds, struct repl_fwd *f, const u32 *peers,
			unsigned int n, u16 op, const struct vdifs_chunk_req *q,
			const u8 *data, u32 len, const __le32 *sums,
			bool more);
void repl_forward_push(struct repl_fwd *f);
void repl_forward_end(struct ds *ds, struct repl_fwd *f, int *err);
/* append a mutation for peer to the async log inside txn t */
int repl_log_append(struct ds *ds, MDB_txn *t, u32 peer, u16 op,
		    const struct vdifs_chunk_req *q, const u8 *data, u32 len);
void repl_kick(struct ds *ds);
/* the log's content for a heartbeat; recs holds VDIFS_BEHIND_MAX */
int repl_behind(struct ds *ds, struct vdc_behind *b, struct vdifs_behind *recs);
/*
 * Reports of the log to the MDS.  The heartbeat thread waits with
 * repl_report_due() (until its period is up or a writer asks for one
 * sooner; the count it returns goes to repl_reported() with what the
 * heartbeat carried, b NULL for an empty log, ok whether the MDS took
 * it).  repl_report_wait(): an async write to chunk id waits, before it
 * is acknowledged, until the MDS has heard that id is in our log.
 */
u64 repl_report_due(struct ds *ds, u64 due_ms);
void repl_reported(struct ds *ds, const struct vdc_behind *b, u64 gen,
		   bool ok);
void repl_report_wait(struct ds *ds, u64 id);
/*
 * lease.c: read leases.  lease_renewed(): the MDS answered a heartbeat
 * (or a registration) sent at sent_ms.  lease_read_check(): may a
 * client's read of q's chunk be served (0), or must the client ask the
 * MDS (-ESTALE); nowait: -EWOULDBLOCK where peers would be asked.  May
 * sleep for the peers (up to their timeout each).
 */
void lease_renewed(struct ds *ds, long long sent_ms);
int lease_read_check(struct ds *ds, const struct vdifs_chunk_req *q,
		     bool nowait);

/* one call to a peer; *rep (may be NULL) gets the reply */
int repl_peer_call(struct ds *ds, u32 peer, u16 op,
		   const struct vdifs_chunk_req *q, const u8 *data, u32 len,
		   struct vdc_msg *rep);
int repl_start(struct ds *ds);
int mds_call_status(struct ds *ds);

/* ---- the server ---- */

/* cap.c: capabilities a connection showed good, by chunk id */
#define DS_CAP_SEEN	16
struct ds_cap_seen {
	u64 chunk_id;
	u64 epoch;
	struct vdifs_chunk_cap cap;
};

struct ds_cap_cache {
	struct ds_cap_seen seen[DS_CAP_SEEN];
};

/* principal.c: what the MDS said of a principal */
#define DS_PRINCIPALS	256
struct ds_principal {
	char name[VDIFS_PRINCIPAL_MAX + 1];	/* "": free */
	long long checked_ms;	/* net_now_ms() of the answer */
	int status;		/* 0 or -EACCES (no such principal) */
	u32 role, gen;
};

struct ds {
	struct ds_config cfg;
	struct srv_keys keys;		/* into cfg: which role proves what */
	struct ds_store st;
	u32 id;				/* our data-server id */
	u32 heartbeat_ms;
	/*
	 * The MDS's lease: a peer that has not answered a forwarded
	 * mutation in a lease (and a second) fails it, and the writer asks
	 * the MDS, which by then knows whether the peer is down.
	 */
	u32 lease_ms;
	/*
	 * Our read lease (lease.c): net_now_ms() until which reads are
	 * served on our own word; atomic, raised by the heartbeat thread.
	 */
	long long lease_until_ms;
	/* chunk cache (chunk.c): hash of struct ds_chunk, idle ones on LRU */
	pthread_mutex_t cache_lock;
	struct ds_chunk *cache[1024];
	struct ds_chunk *lru_head, *lru_tail;	/* least recent first */
	unsigned int lru_count;
	/* peers (other data servers) by id; peers_lock guards the table */
	pthread_mutex_t peers_lock;
	struct ds_peer peers[DS_MAX_PEERS];
	unsigned int npeers;
	/*
	 * Group commit (store.c, txn_group_wait()): grp_lock protects the
	 * queue of mutations waiting for a transaction and grp_leading
	 * (a thread is committing a group); never held across the commit.
	 */
	pthread_mutex_t grp_lock;
	pthread_cond_t grp_cond;
	struct ds_mut *grp_head, **grp_tail;
	bool grp_leading;
	/*
	 * What the MDS has heard of our async log (repl.c, under hb_lock):
	 * hb_asked counts writers' requests for a heartbeat, hb_sent the
	 * requests the last heartbeat started covers, hb_acked those one
	 * the MDS took covers; hb_reported[hb_nreported] the chunk ids it
	 * listed (sorted), hb_all whether that was the whole log;
	 * hb_mds_ok whether the last heartbeat got through, hb_warned
	 * whether a write went unreported since (logged once).  hb_kick
	 * wakes the heartbeat thread, hb_done the writers waiting on it.
	 */
	pthread_mutex_t hb_lock;
	pthread_cond_t hb_kick, hb_done;
	u64 hb_asked, hb_sent, hb_acked;
	u64 hb_reported[VDIFS_BEHIND_MAX];
	u32 hb_nreported;
	bool hb_all, hb_mds_ok, hb_warned;
	/* async log drain */
	pthread_mutex_t rlog_lock;
	pthread_cond_t rlog_cond;
	bool rlog_kick;
	/*
	 * principal.c: answers, and the MDS connection they come on.  A
	 * question to the MDS (up to its timeout, while it is away) holds
	 * pr_ask_lock alone: answers already here are served meanwhile.
	 */
	pthread_mutex_t pr_lock;	/* pr[]; never held across a call */
	struct ds_principal pr[DS_PRINCIPALS];
	pthread_mutex_t pr_ask_lock;	/* pr_mds; held across calls */
	struct vdc_conn *pr_mds;
	/* cap.c: from the server key (unused without one) */
	u8 cap_key[VDIFS_PRINCIPAL_KEY_LEN];
};

/*
 * cap.c: may the peer (a) send chunk request op (b)?  0, -EACCES, -EPERM,
 * -EKEYEXPIRED.  In the connection's reader, which owns cc.
 */
int ds_cap_check(struct ds *ds, const struct srv_auth *a,
		 struct ds_cap_cache *cc, u16 op, const struct wire_body *b);

/* principal.c */
/* srv_principal_fn: arg is the struct ds; may ask the MDS */
int ds_principal_lookup(void *arg, const char *name, u32 *role, u32 *gen);
/*
 * A connection's principal still stands (asked again once *checked_ms
 * is a TTL old): 0 or -EACCES.
 */
int ds_principal_stands(struct ds *ds, struct srv_auth *a,
			long long *checked_ms);

/* crash injection for tests: VDIFS_DS_CRASH_AT=point:n */
void ds_crash_point(const char *point);

#endif /* _VDIFS_DS_H */
