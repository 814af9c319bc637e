/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdifs: the userspace client library over the shared wire codec.
 * Used by vdifs-tool, by the data server (to talk to the MDS) and by the
 * host tests.  A struct vdc_conn is one TCP connection after HELLO (and
 * AUTH when the server asks for it); it is not thread safe: one thread
 * uses a connection at a time.
 *
 * Every function returns 0 (or a byte count) on success and a negative
 * errno on failure: the server's errno for a refused request, -EIO /
 * -ECONNRESET / -ETIMEDOUT / -EPROTO for a broken connection.
 */
#ifndef _VDIFS_CLIENT_H
#define _VDIFS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "wire.h"

struct vdc_conn;

/* a received message: header, validated body, and the buffer it lives in */
struct vdc_msg {
	struct wire_hdr hdr;
	struct wire_body body;
	u8 *buf;		/* malloc'd; body points into it */
};

void vdc_msg_free(struct vdc_msg *m);

struct vdc_opts {
	u32 role;		/* VDIFS_ROLE_*, default CLIENT */
	const u8 *key;		/* shared key, NULL: none */
	size_t key_len;
	int timeout_ms;		/* per request, default 30000 */
	const char *name;	/* host name sent in HELLO, default hostname */
	const char *principal;	/* key's principal, NULL: the role's key */
	/*
	 * No key, and a server that asks for none is taken anyway.  Without
	 * it such a server is refused (-EACCES): it proves nothing, so it
	 * could be anyone; a keyless cluster is an explicit choice.
	 */
	bool insecure;
};

/* addr is "HOST:PORT" or "[V6]:PORT"; HOST may be a name */
int vdc_connect(const char *addr, const struct vdc_opts *opts,
		struct vdc_conn **out);
void vdc_close(struct vdc_conn *c);
/* undo KEY_ADD's sealing of key for this connection */
void vdc_unseal(const struct vdc_conn *c, const char *name, u32 gen,
		u8 *key);
int vdc_fd(const struct vdc_conn *c);
u64 vdc_server_epoch(const struct vdc_conn *c);

/*
 * One request, one reply: sends op with the fixed part and up to two
 * tails, waits for the reply with the same request id (bounded by the
 * timeout) and decodes it.  Returns the reply status (0 or -errno); on 0
 * *rep holds the reply and must be freed with vdc_msg_free().  rep may be
 * NULL when the caller needs nothing but the status.
 */
int vdc_call(struct vdc_conn *c, u16 op, const void *fixed, u32 flen,
	     const void *t1, u32 l1, const void *t2, u32 l2,
	     struct vdc_msg *rep);
/*
 * vdc_call in two halves, so that one thread can have a request in
 * flight on each of several connections: send, then wait for that id.
 */
int vdc_call_send(struct vdc_conn *c, u16 op, const void *fixed, u32 flen,
		  const void *t1, u32 l1, const void *t2, u32 l2, u64 *id);
int vdc_call_wait(struct vdc_conn *c, u16 op, u64 id, struct vdc_msg *rep);

/* raw access for tests that send malformed input */
int vdc_send_raw(struct vdc_conn *c, const void *buf, size_t len);
int vdc_recv(struct vdc_conn *c, struct vdc_msg *m);

/* ---- host-endian views ---- */

struct vdc_params {
	u32 chunk_size;		/* 0: inherit / default */
	u32 extent_size;	/* 0: inherit; VDIFS_EXTENT_ADAPTIVE is also 0 */
	u8 replicas;		/* 0: inherit */
	u8 repl_mode;		/* VDIFS_REPL_* */
	u8 min_replicas;	/* volumes: 0 is 1 */
};

struct vdc_attr {
	u64 ino, size, blocks, change;
	s64 atime_ns, mtime_ns, ctime_ns;
	u32 mode, uid, gid, nlink, rdev, gen;
	struct vdc_params params;
};

struct vdc_vol {
	u32 vol;
	char name[65];
	u64 root_ino, inodes, bytes;
	struct vdc_params params;
	bool rdonly;		/* VDIFS_VOL_RDONLY: we may only read it */
};

void vdc_attr_from_wire(struct vdc_attr *a, const struct vdifs_attr *w);
void vdc_params_to_wire(struct vdifs_layout_params *w,
			const struct vdc_params *p);
void vdc_params_from_wire(struct vdc_params *p,
			  const struct vdifs_layout_params *w);

/* ---- volumes ---- */

int vdc_vol_create(struct vdc_conn *c, const char *name,
		   const struct vdc_params *p, struct vdc_vol *out);
int vdc_vol_open(struct vdc_conn *c, const char *name, struct vdc_vol *out);
int vdc_vol_delete(struct vdc_conn *c, const char *name);
/* calls cb for every volume; returns the count or -errno */
int vdc_vol_list(struct vdc_conn *c,
		 int (*cb)(const struct vdc_vol *v, void *arg), void *arg);
int vdc_statfs(struct vdc_conn *c, u32 vol, struct vdifs_statfs_rep *out);

/* ---- principals and access lists (client_keys.c) ---- */

struct vdc_principal {
	char name[VDIFS_PRINCIPAL_MAX + 1];
	u32 role;		/* VDIFS_ROLE_* */
	u32 gen;
	u64 created_ns;
	u8 key[VDIFS_PRINCIPAL_KEY_LEN];	/* vdc_key_add: unsealed */
};

/* add (or with rotate, give a new key to) a principal; its key in *out */
int vdc_key_add(struct vdc_conn *c, const char *name, u32 role, bool rotate,
		struct vdc_principal *out);
int vdc_key_delete(struct vdc_conn *c, const char *name);
/* calls cb for every principal (key zero); returns the count or -errno */
int vdc_key_list(struct vdc_conn *c,
		 int (*cb)(const struct vdc_principal *p, void *arg),
		 void *arg);
/* a data server asks: role and generation of name (key zero) */
int vdc_key_check(struct vdc_conn *c, const char *name,
		  struct vdc_principal *out);
/* rights: VDIFS_ACCESS_*, NONE removes name from vol's list */
int vdc_access_set(struct vdc_conn *c, u32 vol, const char *name,
		   u32 rights);
/* calls cb for each entry of vol's list; returns the count or -errno */
int vdc_access_list(struct vdc_conn *c, u32 vol,
		    int (*cb)(const char *name, u32 rights, void *arg),
		    void *arg);

/* ---- namespace ---- */

int vdc_lookup(struct vdc_conn *c, u32 vol, u64 parent, const char *name,
	       struct vdc_attr *out);
int vdc_getattr(struct vdc_conn *c, u32 vol, u64 ino, struct vdc_attr *out);

struct vdc_setattr {
	u32 valid;		/* VDIFS_SETATTR_* */
	u32 mode, uid, gid;
	u64 size;
	s64 atime_ns, mtime_ns, ctime_ns;
};

int vdc_setattr(struct vdc_conn *c, u32 vol, u64 ino,
		const struct vdc_setattr *sa, struct vdc_attr *out);
/* CREATE (S_IFREG), MKDIR (S_IFDIR), MKNOD (others): by the mode's type */
int vdc_create(struct vdc_conn *c, u32 vol, u64 parent, const char *name,
	       u32 mode, u32 rdev, u32 uid, u32 gid, bool excl,
	       const struct vdc_params *p, struct vdc_attr *out);
int vdc_unlink(struct vdc_conn *c, u32 vol, u64 parent, const char *name);
int vdc_rmdir(struct vdc_conn *c, u32 vol, u64 parent, const char *name);
int vdc_rename(struct vdc_conn *c, u32 vol, u64 olddir, const char *oldname,
	       u64 newdir, const char *newname, u32 flags);
int vdc_link(struct vdc_conn *c, u32 vol, u64 ino, u64 newparent,
	     const char *name, struct vdc_attr *out);
int vdc_symlink(struct vdc_conn *c, u32 vol, u64 parent, const char *name,
		const char *target, u32 uid, u32 gid, struct vdc_attr *out);
/* returns the target length; buf gets it NUL-terminated */
int vdc_readlink(struct vdc_conn *c, u32 vol, u64 ino, char *buf,
		 size_t cap);

struct vdc_dirent {
	u64 ino, cookie;
	u8 type;
	char name[VDIFS_NAME_MAX + 1];
};

/*
 * One READDIR round trip from cookie; cb returns nonzero to stop early.
 * *eof tells whether the directory ended.  Returns entries seen or -errno.
 */
int vdc_readdir(struct vdc_conn *c, u32 vol, u64 ino, u64 cookie,
		u32 max_bytes,
		int (*cb)(const struct vdc_dirent *d, void *arg), void *arg,
		bool *eof);

int vdc_setxattr(struct vdc_conn *c, u32 vol, u64 ino, const char *name,
		 const void *value, size_t len, u32 flags);
/* returns the value length (with cap 0: only the size) */
int vdc_getxattr(struct vdc_conn *c, u32 vol, u64 ino, const char *name,
		 void *buf, size_t cap);
int vdc_listxattr(struct vdc_conn *c, u32 vol, u64 ino, char *buf,
		  size_t cap);
int vdc_removexattr(struct vdc_conn *c, u32 vol, u64 ino, const char *name);

/* ---- layouts ---- */

int vdc_layout_set(struct vdc_conn *c, u32 vol, u64 ino,
		   const struct vdc_params *p, struct vdc_attr *out);
/*
 * LAYOUT_DEGRADE: a server of c's set failed; c becomes the current
 * record.  -EAGAIN: all alive and in sync.
 */
int vdc_layout_degrade(struct vdc_conn *c, u32 vol, u64 ino, u64 index,
		       struct vdifs_chunk *chunk);
/* a read of chunk at index met a bad block: the MDS checks its copies */
int vdc_layout_corrupt(struct vdc_conn *c, u32 vol, u64 ino, u64 index,
		       const struct vdifs_chunk *chunk);
/* fills up to max chunks into out; returns the count or -errno */
int vdc_layout_get(struct vdc_conn *c, u32 vol, u64 ino, u64 first,
		   u32 count, u32 flags, struct vdifs_chunk *out, u32 max,
		   u32 *chunk_size);
/* the same, and each chunk's capability into caps (max of them) */
int vdc_layout_get_caps(struct vdc_conn *c, u32 vol, u64 ino, u64 first,
			u32 count, u32 flags, struct vdifs_chunk *out,
			struct vdifs_chunk_cap *caps, u32 max,
			u32 *chunk_size);

/* ---- membership ---- */

int vdc_ds_register(struct vdc_conn *c, u32 ds_id, const char *listen_addr,
		    u64 capacity, u64 used, struct vdifs_ds_register_rep *out);
/*
 * What a data server's async replication log holds: count mutations, of
 * the chunks recs[0..n) (all of them if all).
 */
struct vdc_behind {
	u64 count;
	const struct vdifs_behind *recs;	/* wire order */
	u32 n;		/* <= VDIFS_BEHIND_MAX */
	bool all;
};

/* b: NULL when the log is empty */
int vdc_ds_heartbeat(struct vdc_conn *c, u32 ds_id, u64 capacity, u64 used,
		     const struct vdc_behind *b);
int vdc_session_open(struct vdc_conn *c, u32 vol, const char *name,
		     struct vdifs_session_rep *out);
int vdc_session_heartbeat(struct vdc_conn *c, u64 session);
int vdc_session_close(struct vdc_conn *c, u64 session);
/* this connection's mutations are session's (done exactly once) */
int vdc_session_bind(struct vdc_conn *c, u64 session);

struct vdc_status_cbs {
	int (*ds)(const struct vdifs_ds_status *d, void *arg);
	int (*session)(const struct vdifs_session_status *s,
		       const char *name, void *arg);
	int (*lost)(const struct vdifs_lost_status *l, void *arg);
};

/* *rep (may be NULL) gets the reply's fixed part, in wire order */
int vdc_status(struct vdc_conn *c, const struct vdc_status_cbs *cbs,
	       void *arg, struct vdifs_status_rep *rep);

/* ---- data servers: chunks (client_chunk.c) ---- */

/*
 * Where a chunk lives and how it is shaped: what a LAYOUT_GET reply says
 * plus the file's layout parameters.  Requests go to ds[0], which
 * forwards mutations to the other replicas.
 */
struct vdc_chunk_ref {
	u64 chunk_id;
	u64 epoch;		/* the set's (vdifs_chunk.version); 0: unchecked */
	u32 chunk_size;
	u32 extent_size;	/* VDIFS_EXTENT_ADAPTIVE: the server picks */
	u8 nrep;
	u8 repl_mode;
	u32 ds[VDIFS_MAX_REPLICAS];
	struct vdifs_chunk_cap cap;	/* from the layout, as it came */
};

/* returns bytes read (always len unless -errno); holes read as zeroes */
int vdc_chunk_read(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		   u32 off, void *buf, u32 len, u64 *version);
/*
 * A read checked block by block against the server's stored checksums
 * (VDIFS_CHUNK_SUMS), which the server may send from its files; *nsums:
 * how many it sent (0: it answered the usual way).
 */
int vdc_chunk_read_sums(struct vdc_conn *c, const struct vdc_chunk_ref *r,
			u32 off, void *buf, u32 len, u32 *nsums);
/* returns 0; acknowledged only once stable on every replica the mode needs */
int vdc_chunk_write(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		    u32 off, const void *buf, u32 len, u64 *version);
/* len 0 with trunc: everything from off to the end of the chunk */
int vdc_chunk_punch(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		    u32 off, u32 len, bool trunc, u64 *version);
/* bitmap of extents holding data, bit i = extent i; returns its bytes */
int vdc_chunk_map(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		  u8 *bitmap, u32 cap, u32 *extent_size, u64 *version);
int vdc_chunk_flush(struct vdc_conn *c, u64 chunk_id);
/* new chunk r->chunk_id starting as base_id, on the same servers */
int vdc_chunk_clone(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		    u64 base_id);
int vdc_chunk_delete(struct vdc_conn *c, const struct vdc_chunk_ref *r);
int vdc_chunk_stat(struct vdc_conn *c, u64 chunk_id,
		   struct vdifs_chunk_stat *out);
void vdc_chunk_req_init(struct vdifs_chunk_req *q,
			const struct vdc_chunk_ref *r);

/* ---- helpers shared by the programs ---- */

/* "HOST:PORT" / "[V6]:PORT" -> sockaddr; resolves names */
struct sockaddr_storage;
int vdc_parse_addr(const char *s, struct sockaddr_storage *ss,
		   unsigned int *len);
int vdc_addr_to_wire(const struct sockaddr_storage *ss,
		     struct vdifs_addr *w);
/* "1.2.3.4:5" or "[::1]:5" into buf */
void vdc_addr_format(const struct vdifs_addr *w, char *buf, size_t cap);

/* the HMAC of the handshake: label is "vdifs-c" or "vdifs-s" */
void vdc_auth_mac(const u8 *key, size_t key_len, const char *label,
		  const u8 *nonce_a, const u8 *nonce_b, u8 *mac);
/* key from hex, a file of hex, for configs and --key; -EINVAL if bad */
/* VDIFS_KEY_MIN to VDIFS_KEY_MAX bytes as hex; -EINVAL otherwise */
/*
 * A principal's key (VDIFS_PRINCIPAL_KEY_LEN bytes), derived from the
 * server key as uapi/vdifs_proto.h says.
 */
void vdc_principal_key(const u8 *server_key, size_t server_key_len,
		       const char *name, u32 role, u32 gen, u8 *key);
/*
 * Seal (or unseal: it is an XOR) a KEY_ADD reply's key for the connection
 * that proved conn_key with these nonces.
 */
void vdc_key_seal(const u8 *conn_key, size_t conn_key_len,
		  const u8 *snonce, const u8 *cnonce, const char *name,
		  u32 gen, u8 *key);
/* the capability key (32 bytes) the MDS and data servers derive */
void vdc_cap_key(const u8 *server_key, size_t server_key_len, u8 *cap_key);
/* a capability's MAC (VDIFS_CAP_MAC_LEN bytes), uapi/vdifs_proto.h */
void vdc_cap_mac(const u8 *cap_key, u64 chunk_id, u64 epoch, u64 expiry,
		 u32 rights, const char *principal, u8 *mac);
int vdc_key_parse_hex(const char *hex, u8 *key, size_t cap, size_t *len);
/* a key file, its owner's alone; *why says what is wrong with it */
int vdc_key_read_file(const char *path, u8 *key, size_t cap, size_t *len,
		      char *why, size_t why_len);

#endif /* _VDIFS_CLIENT_H */
