/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * vdifs wire protocol and ioctl interface, shared by the kernel client
 * (kmod/), the servers (servers/) and the tools (tools/).
 *
 * Rules (never break them; add instead):
 *  - every field is fixed width and little-endian on the wire;
 *  - every struct has explicit padding, its size is asserted below and is a
 *    multiple of 8 so that a body that starts 8-aligned stays aligned;
 *  - opcodes are numbered explicitly and a number is never reused: a retired
 *    opcode stays in the enum with a RETIRED_ prefix;
 *  - a peer that sees an unknown opcode answers -EOPNOTSUPP, never guesses;
 *  - new fields go into new opcodes or behind feature bits from HELLO.
 *
 * Changelog
 *   v1 (2026-11): first protocol.  HELLO/AUTH handshake, volumes, the POSIX
 *                 namespace, user xattrs, chunk layouts, data-server
 *                 membership and client sessions; chunk I/O on data
 *                 servers with replication and copy-on-write clones.
 *                 CLONE_RANGE (76) and LAYOUT_FORK (42) added 2026-11-25,
 *                 before any release; a server without them answers
 *                 -EOPNOTSUPP.
 *   v2 (2026-11-26): message checksums are XXH64 (seed 0, low 32 bits)
 *                 instead of CRC-32C, header and body alike; the fields
 *                 are renamed body_csum and hdr_csum.  CRC-32C cost a
 *                 data server more CPU per byte than the copies of it
 *                 (ten times more under emulation, where it has no fast
 *                 instruction), XXH64 about as much as a copy; the kernel
 *                 (lib/xxhash) and libxxhash compute the same function.
 *                 v1 peers are refused at HELLO (no common version).
 *   v3 (2026-11-26): replica sets have versions that the data servers
 *                 enforce: vdifs_chunk_req grows an epoch (the layout's
 *                 vdifs_chunk.version; a server refuses an older one with
 *                 -ESTALE), LAYOUT_DEGRADE (43) asks the MDS to take
 *                 failed servers out of a chunk's set, and the layout
 *                 parameters carry min_replicas (in what was pad0).
 *                 CHUNK_SYNC (68) has a primary copy a chunk to servers
 *                 added to its set (the RESYNC flag marks its transfers),
 *                 and vdifs_chunk_stat grows the copy's epoch (64 bytes);
 *                 the STATUS reply counts degraded and copied chunks.
 *                 SESSION_BIND (56) ties a new connection to a session,
 *                 whose mutations the MDS does exactly once: a resend of
 *                 one done already gets its kept reply.  DS_ADMIN (57)
 *                 takes a data server out of service (its chunks move
 *                 off it) or back; vdifs_ds_status.admin says which.
 *                 MDS_BACKUP (58): a consistent copy of the MDS's state
 *                 while it serves, into a new directory on its host.
 *                 SCRUB (59) starts a pass that checks every copy of
 *                 every chunk (CHUNK_SCRUB, 69) and replaces bad ones;
 *                 the STATUS reply counts what it found.
 *                 v2 peers are refused at HELLO.
 *                 Feature READ_SUMS (2026-11-26, bit 1): a CHUNK_READ
 *                 with the SUMS flag may be answered with one checksum
 *                 per 4 KiB block before the data (vdifs_chunk_io_rep's
 *                 nsums, which was pad), so that a data server sends
 *                 from its files and never reads the data itself.
 *   v4 (2026-11-26): vdifs_chunk_req grows a digest (80 bytes): the
 *                 XXH64 of a forwarded WRITE's or PUNCH's offset, length
 *                 and data.  A primary forwards a mutation while it
 *                 writes its own copy, not after; a replica that already
 *                 has the version forwarded takes it as a resend only if
 *                 the digest is the one it applied, else its copy went
 *                 another way and it marks itself stale.  v3 peers are
 *                 refused at HELLO.
 *   v5 (2026-11-26): principals.  vdifs_hello_req's pad is principal_len,
 *                 a second tail naming the principal whose key the peer
 *                 proves in AUTH (0: the key of the role, as before).  A
 *                 principal's key is derived by the MDS from the server
 *                 key, its name, role and generation, so data servers
 *                 check it without holding it.  KEY_ADD (80), KEY_DELETE
 *                 (81), KEY_LIST (82) manage principals (administrators),
 *                 KEY_CHECK (83) tells a data server a principal's role
 *                 and generation; ACCESS_SET (84) and ACCESS_LIST (85)
 *                 keep per-volume access lists, which the MDS enforces on
 *                 every request that names a volume; VOL_OPEN and
 *                 VOL_LIST leave out volumes the peer may not use and
 *                 flag those it may only read (vdifs_vol_info.flags, which
 *                 was pad0).  v4 peers are
 *                 refused at HELLO.
 *   v6 (2026-11-26): capabilities.  Every chunk record of a LAYOUT_GET
 *                 reply has a struct vdifs_chunk_cap (a second run of
 *                 records, as many as the first), LAYOUT_DEGRADE's reply
 *                 one after its chunk, and vdifs_chunk_req carries it
 *                 (112 bytes): with a cluster key, a data server serves a
 *                 client's chunk request only under a capability the MDS
 *                 made for that client, chunk, epoch and rights, and
 *                 CHUNK_CLONE and CHUNK_DELETE only for servers.  v5
 *                 peers are refused at HELLO.  LAYOUT_CORRUPT (44): a
 *                 reader that met a bad block has the MDS check and
 *                 repair that chunk's copies.
 *   v7 (2026-11-26): lost async writes are reported, never silent.
 *                 DS_HEARTBEAT carries the count of mutations in the
 *                 server's async replication log and a tail of the
 *                 chunks they are of, with the newest version logged of
 *                 each (32 bytes and behind_len); when the MDS takes a
 *                 primary that was down out of a chunk's set while it
 *                 listed a version of that chunk newer than the copies
 *                 left have, those writes are lost, and the STATUS
 *                 reply lists such chunks in a
 *                 third run of records (struct vdifs_lost_status; nlost,
 *                 in a reply of 80 bytes).  A CHUNK_WRITE may carry one
 *                 checksum per 4 KiB block before its data
 *                 (vdifs_chunk_req.nsums, which was pad), as a READ_SUMS
 *                 reply does: the body checksum covers the request and
 *                 the sums, each sum its block, and the receiver stores
 *                 them instead of summing the data again.  A primary
 *                 forwards block-aligned writes so.  v6 peers are
 *                 refused at HELLO.
 *                 CHUNK_SUMS (90, 2026-11-27): a copy's extents and block
 *                 checksums over a range, for catching a returning
 *                 server's copy up (a server without it answers
 *                 -EOPNOTSUPP); a RESYNC transfer leaves the copy STALE
 *                 until the final one, so a copy cut short never passes
 *                 for a whole one.  vdifs_status_rep.waiting (which was
 *                 pad): degraded chunks that wait for a server's return.
 *                 The EPOCH flag of CHUNK_STAT (the MDS's): the servers
 *                 that stay in a degraded set learn its epoch first.
 *                 CHUNK_CLONE_MANY (91, 2026-11-28): many CHUNK_CLONEs
 *                 in one message, from the MDS to a primary and from a
 *                 primary to its replicas (FWD), with a status per clone
 *                 (a server without it answers -EOPNOTSUPP and gets
 *                 CHUNK_CLONEs).
 *
 * Framing: every message is a struct vdifs_msg_hdr followed by body_len
 * bytes of body.  A body is the opcode's fixed struct followed by at most
 * two variable "tails" whose lengths are fields of the fixed struct (names,
 * link targets, xattr values), or by a run of 8-aligned records (directory
 * entries, volumes, chunk maps, status).  Documentation/protocol.rst has the
 * full description; wire/wire.c is the one codec.
 */
#ifndef _UAPI_VDIFS_PROTO_H
#define _UAPI_VDIFS_PROTO_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VDIFS_PROTO_MAGIC	0x53464456u	/* "VDFS" as LE bytes */
#define VDIFS_PROTO_VERSION	7u
#define VDIFS_PROTO_VERSION_MIN	7u

/* Hard limits.  A decoder checks each against its field before using it. */
#define VDIFS_NAME_MAX		255u	/* one path component */
#define VDIFS_SYMLINK_MAX	4095u	/* link target, no NUL */
#define VDIFS_XATTR_NAME_MAX	255u
#define VDIFS_XATTR_SIZE_MAX	65536u
#define VDIFS_XATTR_LIST_MAX	65536u
#define VDIFS_HOSTNAME_MAX	255u
#define VDIFS_IO_MAX		(1u << 20)	/* data bytes in one message */
#define VDIFS_BODY_MAX		(VDIFS_IO_MAX + 4096u)
#define VDIFS_MAX_REPLICAS	4u
#define VDIFS_LAYOUT_MAX	256u	/* chunks in one LAYOUT_GET reply */
#define VDIFS_LIST_MAX_BYTES	65536u	/* readdir/list reply budget */
#define VDIFS_NONCE_LEN		32u
#define VDIFS_MAC_LEN		32u	/* HMAC-SHA256 */

#define VDIFS_CHUNK_MIN		(64u << 10)
#define VDIFS_CHUNK_MAX		(1u << 30)
#define VDIFS_CHUNK_DEFAULT	(64u << 20)
#define VDIFS_EXTENT_MIN	(4u << 10)
#define VDIFS_EXTENT_MAX	(1u << 20)
#define VDIFS_EXTENT_DEFAULT	(64u << 10)
#define VDIFS_EXTENT_ADAPTIVE	0u	/* extent size chosen from the workload */

/* ---- framing -------------------------------------------------------- */

/* vdifs_msg_hdr.flags */
#define VDIFS_MSG_REPLY		(1u << 0)

struct vdifs_msg_hdr {
	__le32 magic;		/* VDIFS_PROTO_MAGIC */
	__le16 opcode;		/* enum vdifs_op */
	__le16 flags;		/* VDIFS_MSG_* */
	__le64 req_id;		/* chosen by the requester, echoed in the reply */
	__le32 body_len;	/* bytes after this header, <= VDIFS_BODY_MAX */
	__le32 body_csum;	/* XXH64 of the body, low 32 bits (0: empty) */
	__le32 status;		/* reply: 0 or a negative errno, as s32 */
	__le32 hdr_csum;	/* XXH64 of the 28 bytes before it, low 32 */
};

enum vdifs_op {
	VDIFS_OP_HELLO			= 1,
	VDIFS_OP_AUTH			= 2,

	VDIFS_OP_VOL_CREATE		= 10,
	VDIFS_OP_VOL_DELETE		= 11,
	VDIFS_OP_VOL_LIST		= 12,
	VDIFS_OP_VOL_OPEN		= 13,
	VDIFS_OP_STATFS			= 14,

	VDIFS_OP_LOOKUP			= 20,
	VDIFS_OP_GETATTR		= 21,
	VDIFS_OP_SETATTR		= 22,
	VDIFS_OP_CREATE			= 23,
	VDIFS_OP_MKDIR			= 24,
	VDIFS_OP_MKNOD			= 25,
	VDIFS_OP_UNLINK			= 26,
	VDIFS_OP_RMDIR			= 27,
	VDIFS_OP_RENAME			= 28,
	VDIFS_OP_LINK			= 29,
	VDIFS_OP_SYMLINK		= 30,
	VDIFS_OP_READLINK		= 31,
	VDIFS_OP_READDIR		= 32,
	VDIFS_OP_SETXATTR		= 33,
	VDIFS_OP_GETXATTR		= 34,
	VDIFS_OP_LISTXATTR		= 35,
	VDIFS_OP_REMOVEXATTR		= 36,

	VDIFS_OP_LAYOUT_SET		= 40,
	VDIFS_OP_LAYOUT_GET		= 41,
	VDIFS_OP_LAYOUT_FORK		= 42,
	VDIFS_OP_LAYOUT_DEGRADE		= 43,
	VDIFS_OP_LAYOUT_CORRUPT		= 44,

	VDIFS_OP_DS_REGISTER		= 50,
	VDIFS_OP_DS_HEARTBEAT		= 51,
	VDIFS_OP_SESSION_OPEN		= 52,
	VDIFS_OP_SESSION_HEARTBEAT	= 53,
	VDIFS_OP_SESSION_CLOSE		= 54,
	VDIFS_OP_STATUS			= 55,
	VDIFS_OP_SESSION_BIND		= 56,
	VDIFS_OP_DS_ADMIN		= 57,
	VDIFS_OP_MDS_BACKUP		= 58,
	VDIFS_OP_SCRUB			= 59,

	VDIFS_OP_CHUNK_READ		= 60,
	VDIFS_OP_CHUNK_WRITE		= 61,
	VDIFS_OP_CHUNK_PUNCH		= 62,
	VDIFS_OP_CHUNK_MAP		= 63,
	VDIFS_OP_CHUNK_FLUSH		= 64,
	VDIFS_OP_CHUNK_CLONE		= 65,
	VDIFS_OP_CHUNK_DELETE		= 66,
	VDIFS_OP_CHUNK_STAT		= 67,
	VDIFS_OP_CHUNK_SYNC		= 68,
	VDIFS_OP_CHUNK_SCRUB		= 69,

	VDIFS_OP_SNAP_CREATE		= 70,
	VDIFS_OP_SNAP_DELETE		= 71,
	VDIFS_OP_SNAP_LIST		= 72,
	VDIFS_OP_SNAP_REVERT		= 73,
	VDIFS_OP_CLONE			= 74,
	VDIFS_OP_CLONE_INTO		= 75,
	VDIFS_OP_CLONE_RANGE		= 76,

	VDIFS_OP_KEY_ADD		= 80,
	VDIFS_OP_KEY_DELETE		= 81,
	VDIFS_OP_KEY_LIST		= 82,
	VDIFS_OP_KEY_CHECK		= 83,
	VDIFS_OP_ACCESS_SET		= 84,
	VDIFS_OP_ACCESS_LIST		= 85,

	VDIFS_OP_CHUNK_SUMS		= 90,
	VDIFS_OP_CHUNK_CLONE_MANY	= 91,

	VDIFS_OP_MAX			= 128	/* table bound, not an opcode */
};

/* ---- handshake -------------------------------------------------------- */

/* HELLO roles */
#define VDIFS_ROLE_CLIENT	1u	/* kernel client or library */
#define VDIFS_ROLE_DS		2u	/* data server */
#define VDIFS_ROLE_TOOL		3u	/* administration */

/* feature bits, negotiated as the AND of both sides */
#define VDIFS_FEAT_AUTH_HMAC	(1ull << 0)
#define VDIFS_FEAT_READ_SUMS	(1ull << 1)	/* VDIFS_CHUNK_SUMS */
#define VDIFS_FEAT_ALL		(VDIFS_FEAT_AUTH_HMAC | VDIFS_FEAT_READ_SUMS)

/*
 * Authentication: the server's HELLO reply says whether it requires
 * AUTH.  The client then proves knowledge of the shared key with
 * mac = HMAC-SHA256(key, "vdifs-c" | client_nonce | server_nonce) and the
 * server answers with HMAC-SHA256(key, "vdifs-s" | server_nonce |
 * client_nonce) so that the client authenticates the server too (a
 * client holding a key refuses a server that does not ask for it).  Until
 * AUTH succeeds a server that requires it answers -EACCES to everything
 * but HELLO and AUTH.
 */
/* a shared key's bytes (HMAC-SHA256 keys shorter than 16 are refused) */
#define VDIFS_KEY_MIN		16u
#define VDIFS_KEY_MAX		64u
/* a key's name in the kernel keyring ("vdifs:NAME"), for mount -o key= */
#define VDIFS_KEY_NAME_MAX	64u

/*
 * Principals (v5): named keys the MDS keeps, each with a role and a
 * generation.  A peer that gives its principal in HELLO proves
 *	key = HMAC-SHA256(server key, "vdifs-principal" | le32 role |
 *			  le32 generation | name)
 * in AUTH instead of its role's key; a principal that is deleted, or whose
 * role is not the one claimed, fails AUTH with -EACCES like a wrong key.
 * Rotating a principal bumps its generation, which changes its key.  A
 * name is 1 to VDIFS_PRINCIPAL_MAX of [A-Za-z0-9._@-].
 */
#define VDIFS_PRINCIPAL_MAX	64u
#define VDIFS_PRINCIPAL_KEY_LEN	32u

struct vdifs_hello_req {
	__le32 version_min;
	__le32 version_max;
	__le64 features;
	__u8   nonce[VDIFS_NONCE_LEN];
	__le32 role;		/* VDIFS_ROLE_* */
	__le16 name_len;	/* tail 1: peer's host name, <= VDIFS_HOSTNAME_MAX */
	__le16 principal_len;	/* tail 2: principal, <= VDIFS_PRINCIPAL_MAX */
};

struct vdifs_hello_rep {
	__le32 version;		/* chosen version */
	__le32 auth_required;	/* 1: send AUTH before anything else */
	__le64 features;	/* agreed features */
	__u8   nonce[VDIFS_NONCE_LEN];
	__le64 server_epoch;	/* changes at every server start */
};

struct vdifs_auth_req {
	__u8 mac[VDIFS_MAC_LEN];
};

struct vdifs_auth_rep {
	__u8 mac[VDIFS_MAC_LEN];
};

/* vdifs_key_req.flags (KEY_ADD) */
#define VDIFS_KEY_ROTATE	(1u << 0)	/* exists: next generation */

/* KEY_ADD, KEY_DELETE, KEY_CHECK: the principal as the tail */
struct vdifs_key_req {
	__le32 role;		/* KEY_ADD: VDIFS_ROLE_* */
	__le32 flags;		/* KEY_ADD: VDIFS_KEY_* */
	__le16 name_len;
	__le16 pad0;
	__le32 pad1;
};

/*
 * Reply of KEY_ADD and KEY_CHECK.  KEY_ADD's key is sealed for the
 * administrator who asked: XORed with HMAC-SHA256(the key that connection
 * proved in AUTH, "vdifs-seal" | server_nonce | client_nonce | le32
 * generation | name); KEY_CHECK's is zero (a data server derives it).
 */
struct vdifs_key_info {
	__le32 role;
	__le32 gen;
	__le64 created_ns;
	__u8   key[VDIFS_PRINCIPAL_KEY_LEN];
	__le16 name_len;	/* tail: the principal */
	__le16 pad0;
	__le32 pad1;
};

/* KEY_LIST: principals after the one named in the tail (empty: first) */
struct vdifs_key_list_req {
	__le32 max_bytes;	/* reply budget, <= VDIFS_LIST_MAX_BYTES */
	__le16 name_len;
	__le16 pad;
};

/* a KEY_LIST record (vdifs_list_rep then count of these) */
struct vdifs_key_rec {
	__le32 role;
	__le32 gen;
	__le64 created_ns;
	__le16 name_len;	/* name follows, record padded to 8 */
	__le16 pad0;
	__le32 pad1;
};

/*
 * Per-volume access lists.  A volume whose list is empty is open to every
 * client that authenticates (the default, and what a keyless cluster
 * has); once it has entries, a client principal not on it gets -EACCES
 * for every request naming the volume, and one with READ gets -EROFS for
 * every request that would change it.  Administrators and data servers
 * are not subject to lists.
 */
#define VDIFS_ACCESS_NONE	0u	/* ACCESS_SET: remove the entry */
#define VDIFS_ACCESS_READ	1u
#define VDIFS_ACCESS_WRITE	2u	/* read and write */
#define VDIFS_ACCESS_MAX	256u	/* entries per volume */

struct vdifs_access_req {
	__le32 vol;
	__le32 rights;		/* VDIFS_ACCESS_* */
	__le16 name_len;	/* tail: the principal */
	__le16 pad0;
	__le32 pad1;
};

/* ACCESS_LIST: vol's whole list, vdifs_list_rep then count records */
struct vdifs_access_list_req {
	__le32 vol;
	__le32 pad;
};

struct vdifs_access_rec {
	__le32 rights;
	__le16 name_len;	/* name follows, record padded to 8 */
	__le16 pad;
};

/* ---- volumes ---------------------------------------------------------- */

/* replication modes */
#define VDIFS_REPL_SYNC		0u
#define VDIFS_REPL_ASYNC	1u

/*
 * Layout parameters.  0 in a request field means "inherit": from the
 * volume when creating a volume's root, from the parent directory when
 * creating a child.
 */
struct vdifs_layout_params {
	__le32 chunk_size;	/* power of two, VDIFS_CHUNK_MIN..MAX */
	__le32 extent_size;	/* power of two, EXTENT_MIN..MAX, or ADAPTIVE */
	__u8   replicas;	/* 1..VDIFS_MAX_REPLICAS */
	__u8   repl_mode;	/* VDIFS_REPL_* */
	/*
	 * Volumes only: writes go on while this many copies of a chunk
	 * are in its set (0: 1); below, they fail rather than be kept by
	 * fewer servers than the volume asks for.
	 */
	__u8   min_replicas;
	__u8   pad0;
	__le32 pad1;
};

struct vdifs_vol_create_req {
	struct vdifs_layout_params params;
	__le16 name_len;	/* tail: volume name */
	__le16 pad0;
	__le32 pad1;
};

/* VOL_DELETE and VOL_OPEN: the volume name as the tail */
struct vdifs_vol_name_req {
	__le16 name_len;
	__le16 pad0;
	__le32 pad1;
};

/* vdifs_vol_info.flags (v5) */
#define VDIFS_VOL_RDONLY	(1u << 0)	/* this peer may only read */

/* one volume, reply of VOL_CREATE / VOL_OPEN, and a VOL_LIST record */
struct vdifs_vol_info {
	__le32 vol;
	__le16 name_len;	/* name follows, record padded to 8 */
	__le16 flags;		/* VDIFS_VOL_* */
	__le64 root_ino;
	__le64 inodes;
	__le64 bytes;		/* logical bytes of all files */
	struct vdifs_layout_params params;
};

struct vdifs_vol_list_req {
	__le32 after_vol;	/* 0 to start; else the last vol seen */
	__le32 max_bytes;	/* reply budget, <= VDIFS_LIST_MAX_BYTES */
};

/* reply of VOL_LIST, READDIR: count records follow */
struct vdifs_list_rep {
	__le32 count;
	__le32 eof;		/* 1: nothing after the last record */
};

struct vdifs_statfs_rep {
	__le64 bytes_total;
	__le64 bytes_free;
	__le64 files;
	__le64 files_free;
	__le32 bsize;
	__le32 namemax;
};

/* ---- namespace -------------------------------------------------------- */

/* file types in vdifs_dirent.type: the DT_* values */

struct vdifs_attr {
	__le64 ino;
	__le64 size;
	__le64 blocks;		/* 512-byte units allocated */
	__le64 atime_ns;	/* s64 nanoseconds since the epoch */
	__le64 mtime_ns;
	__le64 ctime_ns;
	__le64 change;		/* bumped by every change to the inode */
	__le32 mode;
	__le32 uid;
	__le32 gid;
	__le32 nlink;
	__le32 rdev;		/* new_encode_dev() */
	__le32 gen;		/* generation: (ino, gen) never repeats */
	struct vdifs_layout_params params;
	__le32 flags;		/* VDIFS_ATTR_* */
	__le32 pad;
};

/* GETATTR, READLINK, LISTXATTR, STATFS (ino ignored) */
struct vdifs_ino_req {
	__le32 vol;
	__le32 pad;
	__le64 ino;
};

/* LOOKUP, UNLINK, RMDIR: name tail */
struct vdifs_name_req {
	__le32 vol;
	__le16 name_len;
	__le16 pad;
	__le64 parent;
};

/* vdifs_create_req.flags */
#define VDIFS_CREATE_EXCL	(1u << 0)

/* CREATE, MKDIR, MKNOD: name tail */
struct vdifs_create_req {
	__le32 vol;
	__le16 name_len;
	__le16 flags;		/* VDIFS_CREATE_* */
	__le64 parent;
	__le32 mode;		/* type bits must match the opcode */
	__le32 uid;
	__le32 gid;
	__le32 rdev;
	struct vdifs_layout_params params;	/* 0 = inherit */
};

/* reply of LOOKUP, GETATTR, SETATTR, CREATE, MKDIR, MKNOD, LINK, SYMLINK */
struct vdifs_attr_rep {
	struct vdifs_attr attr;
};

/* reply of UNLINK, RMDIR, RENAME: the directories' new attributes */
struct vdifs_dirop_rep {
	__le64 ino;		/* inode unlinked / renamed */
	__le32 nlink;		/* its link count after the operation */
	__le32 pad;
};

struct vdifs_symlink_req {
	__le32 vol;
	__le16 name_len;	/* tail 1 */
	__le16 target_len;	/* tail 2 */
	__le64 parent;
	__le32 uid;
	__le32 gid;
};

struct vdifs_link_req {
	__le32 vol;
	__le16 name_len;
	__le16 pad;
	__le64 ino;
	__le64 newparent;
};

/* rename flags: the RENAME_* values of renameat2(2) */
#define VDIFS_RENAME_NOREPLACE	(1u << 0)
#define VDIFS_RENAME_EXCHANGE	(1u << 1)

struct vdifs_rename_req {
	__le32 vol;
	__le32 flags;
	__le64 olddir;
	__le64 newdir;
	__le16 oldname_len;	/* tail 1 */
	__le16 newname_len;	/* tail 2 */
	__le32 pad;
};

/* vdifs_setattr_req.valid */
#define VDIFS_SETATTR_MODE	(1u << 0)
#define VDIFS_SETATTR_UID	(1u << 1)
#define VDIFS_SETATTR_GID	(1u << 2)
#define VDIFS_SETATTR_SIZE	(1u << 3)
#define VDIFS_SETATTR_ATIME	(1u << 4)
#define VDIFS_SETATTR_MTIME	(1u << 5)
#define VDIFS_SETATTR_ATIME_NOW	(1u << 6)
#define VDIFS_SETATTR_MTIME_NOW	(1u << 7)
#define VDIFS_SETATTR_CTIME	(1u << 8)
/*
 * With SIZE: only ever grow the file (size = max(size, current)).  Clients
 * report sizes reached by their writes this way, so a client with an old
 * idea of the size can never truncate what another client wrote.
 */
#define VDIFS_SETATTR_SIZE_GROW	(1u << 9)
#define VDIFS_SETATTR_ALL	0x3ffu

struct vdifs_setattr_req {
	__le32 vol;
	__le32 valid;
	__le64 ino;
	__le32 mode;		/* permission bits only; type bits are kept */
	__le32 uid;
	__le32 gid;
	__le32 pad;
	__le64 size;
	__le64 atime_ns;
	__le64 mtime_ns;
	__le64 ctime_ns;
};

/* READLINK reply: the target as tail */
struct vdifs_readlink_rep {
	__le16 target_len;
	__le16 pad0;
	__le32 pad1;
};

struct vdifs_readdir_req {
	__le32 vol;
	__le32 max_bytes;	/* reply budget, <= VDIFS_LIST_MAX_BYTES */
	__le64 ino;
	__le64 cookie;		/* 0 to start; else a dirent's cookie */
};

/*
 * READDIR record.  Cookies are per-directory insertion sequence numbers:
 * stable across concurrent inserts and removals, never reused in one
 * directory, so a reader resuming after a cookie neither repeats nor skips
 * an entry that existed throughout.  "." and ".." are not sent.
 */
struct vdifs_dirent {
	__le64 ino;
	__le64 cookie;
	__u8   type;		/* DT_* */
	__u8   pad0;
	__le16 name_len;	/* name follows, record padded to 8 */
	__le32 pad1;
};

/* setxattr flags: XATTR_CREATE / XATTR_REPLACE */
#define VDIFS_XATTR_CREATE	(1u << 0)
#define VDIFS_XATTR_REPLACE	(1u << 1)

/*
 * SETXATTR: tails name, value.  GETXATTR, REMOVEXATTR: tail name;
 * value_len of GETXATTR is the largest value the caller takes (0 asks
 * only for the size, like getxattr(2) with size 0).
 */
struct vdifs_xattr_req {
	__le32 vol;
	__le32 flags;
	__le64 ino;
	__le16 name_len;
	__le16 pad;
	__le32 value_len;
};

/* GETXATTR reply: value tail; LISTXATTR reply: NUL-terminated names */
struct vdifs_xattr_rep {
	__le32 len;		/* bytes in the tail, or the size when asked */
	__le32 pad;
};

/* ---- layouts ---------------------------------------------------------- */

/* LAYOUT_SET: set a directory's (inherited) or an unwritten file's params */
struct vdifs_layout_set_req {
	__le32 vol;
	__le32 pad;
	__le64 ino;
	struct vdifs_layout_params params;	/* 0 fields keep the value */
};

/* vdifs_layout_get_req.flags */
#define VDIFS_LAYOUT_ALLOC	(1u << 0)	/* allocate missing chunks */

struct vdifs_layout_get_req {
	__le32 vol;
	__le32 flags;
	__le64 ino;
	__le64 first;		/* first chunk index */
	__le32 count;		/* <= VDIFS_LAYOUT_MAX */
	__le32 pad;
};

/*
 * LAYOUT_FORK: a data server refused a write to chunk_id, the file's chunk
 * at index, as frozen (EROFS), and a fresh layout named the same chunk.
 * Only a snapshot or clone that failed half way (or an MDS that died in
 * one) leaves a live file's chunk frozen; the MDS gives the file a clone
 * of it to go on in.  A no-op when the file's chunk there is another one
 * by now.  No reply body: the client fetches the layout again.
 */
struct vdifs_layout_fork_req {
	__le32 vol;
	__le32 pad;
	__le64 ino;
	__le64 index;
	__le64 chunk_id;
};

/*
 * LAYOUT_DEGRADE: I/O on chunk chunk_id of (vol, ino) at index failed on
 * a server of the set with this epoch.  The MDS takes out of the set each
 * server it has not heard from within its lease, or that says its copy
 * missed a mutation, promoting the next replica when the primary goes,
 * and answers the chunk's current record (struct vdifs_chunk); -EAGAIN
 * when every server is alive and in sync (slow is not failed: try
 * again), -EIO when fewer than the volume's min_replicas would be left.
 * A set already changed since epoch is answered as it is.
 */
/*
 * LAYOUT_CORRUPT (same request): a read of chunk_id found a block that
 * fails its checksum on a server of the set.  The MDS checks every copy
 * of the chunk as a scrub does, soon, in the background, and takes bad
 * ones out of the set, to be copied again from a good one.  Answered at
 * once (0), also when the chunk has changed since.
 */
struct vdifs_layout_degrade_req {
	__le32 vol;
	__le32 pad;
	__le64 ino;
	__le64 index;
	__le64 chunk_id;
	__le64 epoch;
};

struct vdifs_layout_rep {
	__le64 first;
	__le32 count;		/* records of struct vdifs_chunk follow, then */
	__le32 chunk_size;	/* as many of struct vdifs_chunk_cap (v6) */
};

/*
 * One chunk of a file.  chunk_id 0 is a hole: never written, reads as
 * zeroes.  ds[0] is the primary; the rest of the first nrep entries are
 * replicas on distinct data servers, all in sync: a server that missed
 * a mutation is taken out of the set before the mutation counts as done.
 * version is the set's epoch: it grows with every change of the set, every
 * chunk request carries it, and a data server refuses one older than the
 * newest it has seen (-ESTALE), so that a server taken out, or a client
 * or primary with an old layout, cannot change the chunk behind the set.
 */
struct vdifs_chunk {
	__le64 chunk_id;
	__le64 version;
	__le32 flags;
	__u8   nrep;
	__u8   pad[3];
	__le32 ds[VDIFS_MAX_REPLICAS];
};

/* ---- membership ------------------------------------------------------- */

#define VDIFS_AF_INET	4u
#define VDIFS_AF_INET6	6u

struct vdifs_addr {
	__u8   family;		/* VDIFS_AF_* */
	__u8   pad0;
	__le16 port;
	__le32 pad1;
	__u8   addr[16];	/* IPv4 in the first 4 bytes */
};

struct vdifs_ds_register_req {
	__le32 ds_id;		/* 0: new server, the MDS assigns one */
	__le32 pad;
	struct vdifs_addr addr;
	__le64 capacity;	/* bytes */
	__le64 used;
};

struct vdifs_ds_register_rep {
	__le32 ds_id;
	__le32 heartbeat_ms;	/* send DS_HEARTBEAT this often */
	__le32 lease_ms;	/* declared down after this long unheard */
	__le32 pad;
};

/*
 * DS_HEARTBEAT: nbehind counts the mutations in the server's async
 * replication log (acknowledged to writers, not yet on every replica);
 * the tail (behind_len bytes) is a struct vdifs_behind per chunk they are
 * of, at most VDIFS_BEHIND_MAX, with VDIFS_BEHIND_ALL in flags when that
 * is every such chunk.
 */
#define VDIFS_BEHIND_MAX	1024u
#define VDIFS_BEHIND_ALL	(1u << 0)

struct vdifs_behind {
	__le64 chunk_id;
	__le64 version;		/* the newest the log holds of it */
};

struct vdifs_ds_heartbeat_req {
	__le32 ds_id;
	__le16 flags;		/* VDIFS_BEHIND_ALL */
	__le16 behind_len;	/* tail: struct vdifs_behind records */
	__le64 capacity;
	__le64 used;
	__le64 nbehind;
};

struct vdifs_session_open_req {
	__le32 vol;		/* 0: not bound to a volume (tools) */
	__le16 name_len;	/* tail: client host name */
	__le16 pad;
};

struct vdifs_session_rep {
	__le64 session;
	__le32 heartbeat_ms;
	__le32 lease_ms;
};

/* SESSION_HEARTBEAT, SESSION_CLOSE, SESSION_BIND */
struct vdifs_session_req {
	__le64 session;
};

#define VDIFS_STATE_UP		1u
#define VDIFS_STATE_DOWN	2u

/*
 * STATUS reply: nds struct vdifs_ds_status, then nsess session records.
 * degraded: chunks with fewer copies in their set than their file wants
 * (or with a server down), as of the recovery's last full pass; copied,
 * copied_bytes: copies made to restore them since the MDS started.
 */
struct vdifs_status_rep {
	__le32 nds;
	__le32 nsess;
	__le64 server_epoch;
	__le64 degraded;
	__le64 copied;
	__le64 copied_bytes;
	/* scrub passes (SCRUB): copies checked, found bad, taken out */
	__le64 scrub_checked;
	__le64 scrub_bad;
	__le64 scrub_replaced;
	__le32 scrub_passes;	/* finished since the MDS started */
	__le32 scrub_running;	/* 1 while one goes on */
	__le32 nlost;		/* struct vdifs_lost_status records, third */
	/*
	 * Of the degraded, those that wait for a server out of their set to
	 * come back and be caught up (down_out_s); 0 from an MDS before it
	 * (the field was pad)
	 */
	__le32 waiting;
};

/*
 * STATUS: a chunk whose acknowledged async writes were lost: its primary
 * was taken out of its set (down) while its replication log still held
 * mutations of it.  CERTAIN: the primary had listed a version of the
 * chunk newer than any copy left has; without it, the primary had more
 * chunks behind than it could list, and this one may have lost writes.
 */
#define VDIFS_LOST_CERTAIN	(1u << 0)

struct vdifs_lost_status {
	__le64 chunk_id;
	__le64 ino;
	__le64 index;		/* the chunk's index in its file */
	__le32 vol;
	__le32 ds_id;		/* the primary that had the writes */
	__le64 when;		/* seconds since the epoch */
	__le32 flags;		/* VDIFS_LOST_* */
	__le32 pad;
};

/* SCRUB: a pass over vol's chunks (0: every volume) starts now */
struct vdifs_scrub_req {
	__le32 vol;
	__le32 pad;
};

/*
 * DS_ADMIN: a data server taken out of service gets no new chunks, and
 * the MDS moves every chunk copy it has to other servers (each copied
 * first, then taken out of its set); back in service, it is used again.
 */
#define VDIFS_DS_IN		0u
#define VDIFS_DS_OUT		1u

struct vdifs_ds_admin_req {
	__le32 ds_id;
	__le32 admin;		/* VDIFS_DS_IN or VDIFS_DS_OUT */
};

/*
 * MDS_BACKUP: a consistent, compacted copy of the MDS's state, taken
 * while it serves, into the directory path (absolute, on the MDS's host,
 * not there yet: it is made 0700).  A vdifs-mds started with --data path
 * serves that state.  Tools only.
 */
struct vdifs_backup_req {
	__le16 path_len;	/* tail: the directory */
	__le16 pad0;
	__le32 pad1;
};

struct vdifs_backup_rep {
	__le64 bytes;		/* the copy's size */
};

struct vdifs_ds_status {
	__le32 ds_id;
	__u8   state;		/* VDIFS_STATE_* */
	__u8   admin;		/* VDIFS_DS_IN / OUT */
	__u8   pad0[2];
	struct vdifs_addr addr;
	__le64 capacity;
	__le64 used;
	__le64 chunks;		/* chunk replicas placed on it */
	__le64 last_seen_ms;	/* ms since its last heartbeat */
};

struct vdifs_session_status {
	__le64 session;
	__le32 vol;
	__u8   state;
	__u8   pad0;
	__le16 name_len;	/* host name follows, record padded to 8 */
	__le64 last_seen_ms;
};

/* ---- data servers: chunk operations ----------------------------------- */

/*
 * vdifs_chunk_req.flags.  FWD: sent by the primary, apply and do not
 * forward again.  TRUNC: PUNCH everything from offset to the chunk's end.
 * NEWBASE: CLONE of a base this server has never seen (allocated, not yet
 * written): create the base empty and frozen instead of failing, so that
 * a late write to it is refused rather than lost.
 */
#define VDIFS_CHUNK_FWD		(1u << 0)
#define VDIFS_CHUNK_TRUNC	(1u << 1)
#define VDIFS_CHUNK_NEWBASE	(1u << 2)
/*
 * RESYNC (with FWD): from a primary making this server's copy of a chunk
 * whole (CHUNK_SYNC).  No version order applies; the request's version
 * and epoch become the copy's.  WRITE of len 0 creates the chunk if this
 * server has none (or adopts one that only its clones held), and on a
 * copy it has, finishes it (NEWBASE then freezes it, as the primary's
 * is).  CLONE may start from a base that only clones hold here.  STAT
 * also reports a chunk only clones hold (flag HELD).
 */
#define VDIFS_CHUNK_RESYNC	(1u << 3)
/*
 * SUMS (READ, feature READ_SUMS): the reader checks the data against the
 * blocks' stored checksums.  A server may then answer a read of whole
 * 4 KiB blocks (offset and length multiples of VDIFS_SUM_BLOCK) with
 * vdifs_chunk_io_rep.nsums = len / VDIFS_SUM_BLOCK, followed by nsums
 * __le32 checksums (wire_csum of each block, padded with zeroes to a
 * multiple of 8 bytes) and then the data.  The message's body_csum then
 * covers the fixed part and the checksums only, and every block of the
 * data is checked against its own.  nsums 0 is the usual reply (the body
 * checksum covers the data).  A mismatch may be a block rewritten while
 * it was sent: the reader asks again without SUMS, and the server then
 * checks its copy itself.
 */
#define VDIFS_CHUNK_SUMS	(1u << 4)
#define VDIFS_SUM_BLOCK		4096u
/*
 * EPOCH (STAT, from the MDS; 2026-11-27): take the request's epoch as the
 * chunk's newest before answering.  A degrade tells the servers that stay
 * in the set its new epoch before it commits it, so that a forward from
 * the old set's primary is refused at once, by its epoch, instead of
 * being waited on for the versions it skips (which marked the replicas
 * that had never seen the new epoch stale, every one of them).  A server
 * without it answers -EINVAL; the degrade goes on.
 */
#define VDIFS_CHUNK_EPOCH	(1u << 5)
#define VDIFS_CHUNK_FLAGS	(VDIFS_CHUNK_FWD | VDIFS_CHUNK_TRUNC | \
				 VDIFS_CHUNK_NEWBASE | VDIFS_CHUNK_RESYNC | \
				 VDIFS_CHUNK_SUMS | VDIFS_CHUNK_EPOCH)

/*
 * A capability (v6): what the MDS lets one client do to one chunk, until
 * expiry (seconds since the epoch, CLOCK_REALTIME: servers' clocks are
 * kept within VDIFS_CAP_SKEW_S of each other).  mac is the first 16 bytes
 * of HMAC-SHA256(cap key, "vdifs-cap" | le64 chunk_id | le64 epoch |
 * le64 expiry | le32 rights | principal), where the cap key is
 * HMAC-SHA256(server key, "vdifs-capkey") and principal the one the
 * client proved in AUTH ("" for the clients' shared key).  A data server
 * with a key serves READ, MAP and STAT under READ, WRITE and PUNCH under
 * WRITE, for the chunk_id and epoch of the request; -EKEYEXPIRED after
 * expiry (fetch the layout again), -EACCES when the MAC or the rights do
 * not match.  Without a cluster key, capabilities are zero and unchecked.
 */
#define VDIFS_CAP_READ		(1u << 0)
#define VDIFS_CAP_WRITE		(1u << 1)
#define VDIFS_CAP_MAC_LEN	16u
#define VDIFS_CAP_SKEW_S	60u

struct vdifs_chunk_cap {
	__le64 expiry;
	__le32 rights;		/* VDIFS_CAP_* */
	__le32 pad;
	__u8   mac[VDIFS_CAP_MAC_LEN];
};

/*
 * One request struct for every chunk operation, sent to the chunk's
 * primary (ds[0]); the primary forwards mutations to ds[1..nrep-1].
 *
 *  READ    offset, len -> struct vdifs_chunk_io_rep + len bytes
 *  WRITE   offset, len + len bytes of data (the tail); creates the chunk
 *          with chunk_size / extent_size on first use
 *  PUNCH   offset, len (or TRUNC: to the end): the range reads as zeroes
 *  MAP     -> struct vdifs_chunk_map_rep + a bitmap of extents with data
 *  FLUSH   chunk_id (0: every chunk): all acknowledged writes stable
 *  CLONE   chunk_id = the new chunk, base_id = the chunk it starts as;
 *          base_id becomes read-only (a snapshot never changes)
 *  DELETE  drop one reference; the chunk goes with its last one
 *  STAT    -> struct vdifs_chunk_stat
 *  SYNC    (from the MDS, to the primary) every other server of the set
 *          in ds[] that has no copy gets one from the primary: a clone as
 *          a clone of its base (sent first if missing there) plus its own
 *          extents; then epoch becomes the newest here, so the set
 *          without them is refused from now on.  Writes to the chunk wait
 *          meanwhile.  -> struct vdifs_chunk_sync_rep.  -EEXIST: a
 *          server has a copy that is not in sync (not copied over).
 *
 * version: 0 from clients; a forwarded mutation carries the version it
 * produces, and a replica applies it only on top of version - 1, so a
 * replica that missed a write is detected (-ESTALE, and its copy marked
 * STALE: it serves nothing more) instead of diverging.
 *
 * epoch: the set's epoch from the layout, forwarded as it came.  Older
 * than the newest the server has seen for the chunk: -ESTALE (fetch the
 * layout again).  Newer: remembered, durably with a mutation.  0 (tools,
 * the MDS's own calls) is not checked.
 */
struct vdifs_chunk_req {
	__le64 chunk_id;
	__le64 base_id;
	__le64 version;
	__le64 epoch;		/* the replica set's (vdifs_chunk.version) */
	__le32 offset;		/* within the chunk */
	__le32 len;
	__le32 chunk_size;	/* power of two, CHUNK_MIN..CHUNK_MAX */
	__le32 extent_size;	/* power of two or VDIFS_EXTENT_ADAPTIVE */
	__le32 flags;		/* VDIFS_CHUNK_* */
	__u8   nrep;		/* replica set size, 1..MAX_REPLICAS */
	__u8   repl_mode;	/* VDIFS_REPL_* */
	/*
	 * WRITE (v7): 0, or len / VDIFS_SUM_BLOCK block checksums (wire_csum
	 * of each 4 KiB) between this and the data, offset a multiple of
	 * VDIFS_SUM_BLOCK; the body checksum then covers this and the sums.
	 */
	__le16 nsums;
	__le32 ds[VDIFS_MAX_REPLICAS];
	__le64 digest;		/* FWD WRITE/PUNCH: the mutation's (v4) */
	struct vdifs_chunk_cap cap;	/* a client's, from its layout (v6) */
};

/* reply of READ (data tail), WRITE, PUNCH, CLONE */
struct vdifs_chunk_io_rep {
	__le64 version;		/* chunk version after the operation */
	__le32 len;		/* READ: bytes in the tail */
	__le32 nsums;		/* READ: block checksums before the data */
};

struct vdifs_chunk_map_rep {
	__le64 version;
	__le32 extent_size;
	__le32 nbytes;		/* bitmap bytes in the tail, bit i = extent i */
};

#define VDIFS_CHUNK_STALE	(1u << 0)	/* missed a forwarded write */
#define VDIFS_CHUNK_FROZEN	(1u << 1)	/* a base of clones: read-only */
#define VDIFS_CHUNK_HELD	(1u << 2)	/* STAT|RESYNC: only clones hold it */

/*
 * reply of CHUNK_SCRUB: every block of the copy's own extents read and
 * checked against its checksum; bad: extents with a block that fails
 */
struct vdifs_chunk_scrub_rep {
	__le64 version;
	__le32 extents;
	__le32 bad;
};

/* reply of CHUNK_SYNC */
struct vdifs_chunk_sync_rep {
	__le64 version;		/* the chunk's, on every server of the set */
	__le64 bytes;		/* data bytes sent */
};

struct vdifs_chunk_stat {
	__le64 chunk_id;
	__le64 version;
	__le64 base_id;		/* 0: an original chunk */
	__le32 refs;
	__le32 depth;		/* chunks in its clone chain, itself included */
	__le32 chunk_size;
	__le32 extent_size;
	__le32 own_extents;	/* extents stored in this chunk (its delta) */
	__le32 map_extents;	/* extents with data, own or inherited */
	__le32 flags;		/* VDIFS_CHUNK_STALE | FROZEN | HELD */
	/* own, or inherited from a deleted base nothing else holds */
	__le32 excl_extents;
	__le64 epoch;		/* the newest set epoch seen for it here */
};

#define VDIFS_MAP_MAX_BYTES	(VDIFS_CHUNK_MAX / VDIFS_EXTENT_MIN / 8)

/*
 * CHUNK_SUMS (90, v7 2026-11-27), between data servers: what a copy holds
 * in [offset, offset + len) of a chunk, so that a primary catches a
 * returning server's copy up by what differs instead of copying it whole
 * (CHUNK_SYNC).  offset is a multiple of the chunk's extent size, len one
 * too or up to the chunk's end, at most VDIFS_SUMS_SPAN.  The reply's
 * first tail is a bitmap of the range's extents the copy has (bit i:
 * extent offset / extent_size + i), its second one __le32 checksum per
 * 4 KiB block of each of those extents, in order: wire_csum of the block
 * (of 4 KiB of zeroes for a block that reads as zeroes).  A server
 * without it answers -EOPNOTSUPP and the copy is made whole elsewhere.
 */
struct vdifs_chunk_sums_rep {
	__le64 version;
	__le32 extent_size;
	__le32 nbytes;		/* bitmap bytes */
	__le32 sums_len;	/* checksum bytes, 4 per block */
	__le32 pad;
};

#define VDIFS_SUMS_SPAN		(16u << 20)
#define VDIFS_SUMS_MAP_MAX	(VDIFS_SUMS_SPAN / VDIFS_EXTENT_MIN / 8)
#define VDIFS_SUMS_MAX_BYTES	(VDIFS_SUMS_SPAN / VDIFS_SUM_BLOCK * 4)

/*
 * CHUNK_CLONE_MANY (91, v7 2026-11-28): the CHUNK_CLONEs of a snapshot or
 * clone that one server is the primary of, in one message (from the MDS),
 * and those a primary made that one replica holds copies of (FWD, from
 * the primary): per clone, a message each way and a forward to each
 * replica cost a data server more than the clone itself.  The fixed part
 * is a vdifs_chunk_req: chunk_size, extent_size, repl_mode and flags
 * (FWD) hold for every clone, len is the tail's length, a multiple of
 * sizeof(struct vdifs_clone_ent) up to VDIFS_CLONE_MANY_MAX entries, and
 * chunk_id is the first entry's (never 0).  Each entry is one
 * CHUNK_CLONE(chunk_id, base_id) with its set (nrep, ds) and, from a
 * primary (FWD), the version it made.  The reply's tail holds a __le32
 * status per entry, in order: what CHUNK_CLONE would have answered; the
 * message's own status is for the request as a whole.  A server without
 * it answers -EOPNOTSUPP, and the MDS sends CHUNK_CLONEs.
 */
struct vdifs_clone_ent {
	__le64 chunk_id;
	__le64 base_id;
	__le64 version;		/* FWD: the clone's version at its primary */
	__u8   nrep;
	__u8   pad[3];
	__le32 ds[VDIFS_MAX_REPLICAS];
	__le32 pad2;
};

struct vdifs_clone_many_rep {
	__le32 count;		/* entries answered */
	__le32 nbytes;		/* tail: count __le32 statuses */
};

#define VDIFS_CLONE_MANY_MAX	1024u

/* ---- snapshots and clones ---------------------------------------------- */

/*
 * A read-only snapshot of a file keeps the file's chunks (they become
 * frozen on the data servers) and the file continues in fresh chunks that
 * start as copy-on-write clones of them: nothing is copied.  Snapshots
 * are inodes linked at /.vdifs-snapshots/<file inode>/<name> of the
 * volume, a directory only the file's owner (and root) may enter.
 *
 * SNAP_CREATE, SNAP_DELETE, SNAP_REVERT: ino = the file, name = the
 * snapshot.  SNAP_LIST: records of struct vdifs_snap_ent after a cookie.
 * CLONE: a new file name in dir parent, a writable clone of ino (a file or
 * a snapshot).  CLONE_INTO: the existing file dst gets the content of ino
 * (what FICLONE asks for); its own chunks are released.  CLONE_RANGE:
 * len bytes of ino at src_off become dst's at dst_off (FICLONERANGE), by
 * whole chunks: both offsets are multiples of the chunk size (the same for
 * both files) and so is len, unless the range ends at ino's end of file
 * and reaches or passes dst's; dst's chunks in the range are released.
 */
struct vdifs_snap_req {
	__le32 vol;
	__le16 name_len;	/* tail: snapshot name */
	__le16 pad;
	__le64 ino;
};

struct vdifs_snap_list_req {
	__le32 vol;
	__le32 max_bytes;
	__le64 ino;
	__le64 cookie;		/* 0 to start */
};

struct vdifs_snap_ent {
	__le64 ino;		/* the snapshot's inode */
	__le64 cookie;
	__le64 size;
	__le64 ctime_ns;	/* when it was taken */
	__le16 name_len;	/* name follows, record padded to 8 */
	__le16 pad0;
	__le32 pad1;
};

struct vdifs_clone_req {
	__le32 vol;
	__le16 name_len;	/* tail: the clone's name (CLONE only) */
	__le16 flags;
	__le64 ino;		/* source: a file or a snapshot */
	__le64 parent;		/* CLONE: directory of the new file */
	__le64 dst;		/* CLONE_INTO: the file to overwrite */
	__le32 uid;		/* CLONE: owner of the new file */
	__le32 gid;
};

struct vdifs_clone_range_req {
	__le32 vol;
	__le32 flags;		/* none defined: 0 */
	__le64 ino;		/* source: a file or a snapshot */
	__le64 dst;		/* a regular file, not a snapshot, not ino */
	__le64 src_off;
	__le64 dst_off;
	__le64 len;		/* > 0 */
};

/* vdifs_attr.flags */
#define VDIFS_ATTR_SNAPSHOT	(1u << 0)	/* a read-only snapshot */
#define VDIFS_ATTR_SNAPDIR	(1u << 1)	/* the snapshot directories */

/* ---- ioctls on a mounted vdifs ------------------------------------------ */

#define VDIFS_IOC_MAGIC		0xd6
#define VDIFS_IOC_NAME_MAX	256	/* bytes with the NUL */

/* SNAP_CREATE (out: ino), SNAP_DELETE, SNAP_REVERT, on the file's fd */
struct vdifs_ioc_snap {
	char   name[VDIFS_IOC_NAME_MAX];	/* NUL-terminated */
	__u64  ino;
	__u64  reserved[3];			/* must be zero */
};

struct vdifs_ioc_snap_ent {
	__u64  ino;
	__u64  size;
	__s64  ctime_ns;
	__u64  cookie;
	char   name[VDIFS_IOC_NAME_MAX];
};

/* SNAP_LIST: fills up to count entries from cookie; eof when done */
struct vdifs_ioc_snap_list {
	__u64  cookie;		/* in: 0 or the last entry's; out: next */
	__u64  entries;		/* user pointer to count vdifs_ioc_snap_ent */
	__u32  count;		/* in: capacity (<= 1024); out: filled */
	__u32  eof;		/* out */
	__u64  reserved[2];
};

/* CLONE, on the source's fd (a file or a snapshot) */
struct vdifs_ioc_clone {
	__s32  dst_dirfd;	/* directory of the new file, or AT_FDCWD */
	__u32  flags;		/* must be zero */
	char   name[VDIFS_IOC_NAME_MAX];
	__u64  reserved[2];
};

/* SPACE: bytes of the file's data, unique to it or shared with others */
struct vdifs_ioc_space {
	__u64  logical;		/* the file size */
	__u64  allocated;	/* bytes in extents holding data */
	__u64  unique;		/* ... stored only for this file */
	__u64  shared;		/* ... shared with snapshots or clones */
	__u64  chunks;
	__u64  reserved[3];
};

/* SETLAYOUT / GETLAYOUT: a directory's (inherited) or unwritten file's */
struct vdifs_ioc_layout {
	__u32  chunk_size;	/* 0: keep */
	__u32  extent_size;	/* 0: keep (adaptive cannot be set back) */
	__u8   replicas;	/* 0: keep */
	__u8   repl_mode;	/* VDIFS_REPL_*, 0xff: keep */
	__u16  pad;
	__u32  reserved[5];
};

#define VDIFS_IOC_SNAP_CREATE	_IOWR(VDIFS_IOC_MAGIC, 1, struct vdifs_ioc_snap)
#define VDIFS_IOC_SNAP_DELETE	_IOW(VDIFS_IOC_MAGIC, 2, struct vdifs_ioc_snap)
#define VDIFS_IOC_SNAP_REVERT	_IOW(VDIFS_IOC_MAGIC, 3, struct vdifs_ioc_snap)
#define VDIFS_IOC_SNAP_LIST	_IOWR(VDIFS_IOC_MAGIC, 4, struct vdifs_ioc_snap_list)
#define VDIFS_IOC_CLONE		_IOW(VDIFS_IOC_MAGIC, 5, struct vdifs_ioc_clone)
#define VDIFS_IOC_SPACE		_IOR(VDIFS_IOC_MAGIC, 6, struct vdifs_ioc_space)
#define VDIFS_IOC_SETLAYOUT	_IOW(VDIFS_IOC_MAGIC, 7, struct vdifs_ioc_layout)
#define VDIFS_IOC_GETLAYOUT	_IOR(VDIFS_IOC_MAGIC, 8, struct vdifs_ioc_layout)

/* ---- size checks: every on-wire struct, pinned -------------------------- */

#define VDIFS_WIRE_SIZE(type, size)					\
	_Static_assert(sizeof(struct type) == (size),			\
		       "on-wire size of " #type)

VDIFS_WIRE_SIZE(vdifs_msg_hdr, 32);
VDIFS_WIRE_SIZE(vdifs_hello_req, 56);
VDIFS_WIRE_SIZE(vdifs_hello_rep, 56);
VDIFS_WIRE_SIZE(vdifs_auth_req, 32);
VDIFS_WIRE_SIZE(vdifs_auth_rep, 32);
VDIFS_WIRE_SIZE(vdifs_key_req, 16);
VDIFS_WIRE_SIZE(vdifs_key_info, 56);
VDIFS_WIRE_SIZE(vdifs_key_list_req, 8);
VDIFS_WIRE_SIZE(vdifs_key_rec, 24);
VDIFS_WIRE_SIZE(vdifs_access_req, 16);
VDIFS_WIRE_SIZE(vdifs_access_list_req, 8);
VDIFS_WIRE_SIZE(vdifs_access_rec, 8);
VDIFS_WIRE_SIZE(vdifs_layout_params, 16);
VDIFS_WIRE_SIZE(vdifs_vol_create_req, 24);
VDIFS_WIRE_SIZE(vdifs_vol_name_req, 8);
VDIFS_WIRE_SIZE(vdifs_vol_info, 48);
VDIFS_WIRE_SIZE(vdifs_vol_list_req, 8);
VDIFS_WIRE_SIZE(vdifs_list_rep, 8);
VDIFS_WIRE_SIZE(vdifs_statfs_rep, 40);
VDIFS_WIRE_SIZE(vdifs_attr, 104);
VDIFS_WIRE_SIZE(vdifs_ino_req, 16);
VDIFS_WIRE_SIZE(vdifs_name_req, 16);
VDIFS_WIRE_SIZE(vdifs_create_req, 48);
VDIFS_WIRE_SIZE(vdifs_attr_rep, 104);
VDIFS_WIRE_SIZE(vdifs_dirop_rep, 16);
VDIFS_WIRE_SIZE(vdifs_symlink_req, 24);
VDIFS_WIRE_SIZE(vdifs_link_req, 24);
VDIFS_WIRE_SIZE(vdifs_rename_req, 32);
VDIFS_WIRE_SIZE(vdifs_setattr_req, 64);
VDIFS_WIRE_SIZE(vdifs_readlink_rep, 8);
VDIFS_WIRE_SIZE(vdifs_readdir_req, 24);
VDIFS_WIRE_SIZE(vdifs_dirent, 24);
VDIFS_WIRE_SIZE(vdifs_xattr_req, 24);
VDIFS_WIRE_SIZE(vdifs_xattr_rep, 8);
VDIFS_WIRE_SIZE(vdifs_layout_set_req, 32);
VDIFS_WIRE_SIZE(vdifs_layout_get_req, 32);
VDIFS_WIRE_SIZE(vdifs_layout_rep, 16);
VDIFS_WIRE_SIZE(vdifs_chunk, 40);
VDIFS_WIRE_SIZE(vdifs_addr, 24);
VDIFS_WIRE_SIZE(vdifs_ds_register_req, 48);
VDIFS_WIRE_SIZE(vdifs_ds_register_rep, 16);
VDIFS_WIRE_SIZE(vdifs_ds_heartbeat_req, 32);
VDIFS_WIRE_SIZE(vdifs_lost_status, 48);
VDIFS_WIRE_SIZE(vdifs_behind, 16);
VDIFS_WIRE_SIZE(vdifs_session_open_req, 8);
VDIFS_WIRE_SIZE(vdifs_session_rep, 16);
VDIFS_WIRE_SIZE(vdifs_session_req, 8);
VDIFS_WIRE_SIZE(vdifs_status_rep, 80);
VDIFS_WIRE_SIZE(vdifs_scrub_req, 8);
VDIFS_WIRE_SIZE(vdifs_chunk_scrub_rep, 16);
VDIFS_WIRE_SIZE(vdifs_ds_status, 64);
VDIFS_WIRE_SIZE(vdifs_ds_admin_req, 8);
VDIFS_WIRE_SIZE(vdifs_backup_req, 8);
VDIFS_WIRE_SIZE(vdifs_backup_rep, 8);
VDIFS_WIRE_SIZE(vdifs_session_status, 24);
VDIFS_WIRE_SIZE(vdifs_chunk_req, 112);
VDIFS_WIRE_SIZE(vdifs_chunk_cap, 32);
VDIFS_WIRE_SIZE(vdifs_chunk_io_rep, 16);
VDIFS_WIRE_SIZE(vdifs_chunk_map_rep, 16);
VDIFS_WIRE_SIZE(vdifs_chunk_stat, 64);
VDIFS_WIRE_SIZE(vdifs_chunk_sync_rep, 16);
VDIFS_WIRE_SIZE(vdifs_chunk_sums_rep, 24);
VDIFS_WIRE_SIZE(vdifs_clone_ent, 48);
VDIFS_WIRE_SIZE(vdifs_clone_many_rep, 8);
VDIFS_WIRE_SIZE(vdifs_snap_req, 16);
VDIFS_WIRE_SIZE(vdifs_snap_list_req, 24);
VDIFS_WIRE_SIZE(vdifs_snap_ent, 40);
VDIFS_WIRE_SIZE(vdifs_clone_req, 40);
VDIFS_WIRE_SIZE(vdifs_clone_range_req, 48);
VDIFS_WIRE_SIZE(vdifs_layout_fork_req, 32);
VDIFS_WIRE_SIZE(vdifs_layout_degrade_req, 40);
VDIFS_WIRE_SIZE(vdifs_ioc_snap, 288);
VDIFS_WIRE_SIZE(vdifs_ioc_snap_ent, 288);
VDIFS_WIRE_SIZE(vdifs_ioc_snap_list, 40);
VDIFS_WIRE_SIZE(vdifs_ioc_clone, 280);
VDIFS_WIRE_SIZE(vdifs_ioc_space, 64);
VDIFS_WIRE_SIZE(vdifs_ioc_layout, 32);

#endif /* _UAPI_VDIFS_PROTO_H */
