/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The server side of the HELLO/AUTH handshake, shared by vdifs-mds and
 * vdifs-ds (see "Handshake" in Documentation/protocol.rst).
 */
#ifndef _VDIFS_SRV_H
#define _VDIFS_SRV_H

#include "vdifs_client.h"

/* per-connection handshake state, owned by the connection's reader */
struct srv_auth {
	bool hello;		/* HELLO done */
	bool authed;		/* AUTH done, or no key configured */
	u32 role;
	u8 cnonce[VDIFS_NONCE_LEN];
	u8 snonce[VDIFS_NONCE_LEN];
	/*
	 * The principal named in HELLO ("" for a role's key), its generation
	 * once AUTH proved it, and the key proved (KEY_ADD seals with it).
	 */
	char principal[VDIFS_PRINCIPAL_MAX + 1];
	u32 gen;
	u8 key[VDIFS_KEY_MAX];
	size_t key_len;
};

/*
 * A principal's role and generation, for AUTH; -EACCES when there is no
 * such principal.  May sleep (a data server asks the MDS).
 */
typedef int (*srv_principal_fn)(void *arg, const char *name, u32 *role,
				u32 *gen);

/*
 * The key each role proves in AUTH, so that a role is a proof and not a
 * claim: data servers (and the MDS when it calls them) the cluster's
 * server key, clients the client key, tools the administrators' key.  A
 * role without a key of its own proves the server key; no key at all,
 * no authentication.
 */
struct srv_keys {
	const u8 *key[VDIFS_ROLE_TOOL + 1];	/* by VDIFS_ROLE_* */
	size_t len[VDIFS_ROLE_TOOL + 1];
	srv_principal_fn principal;	/* NULL: principals refused */
	void *principal_arg;
};

/* server, client and admin keys (the last two may be empty) */
void srv_keys_init(struct srv_keys *k, const u8 *server, size_t server_len,
		   const u8 *client, size_t client_len, const u8 *admin,
		   size_t admin_len);
int srv_hello(struct srv_auth *a, const struct srv_keys *k, u64 epoch,
	      const struct wire_body *b, struct vdifs_hello_rep *rep);
int srv_auth(struct srv_auth *a, const struct srv_keys *k,
	     const struct wire_body *b, struct vdifs_auth_rep *rep);
/* what a request other than HELLO/AUTH gets before the handshake ends */
int srv_gate(const struct srv_auth *a);
/*
 * errors after which the peer cannot be trusted to stay in step, or is
 * no longer who it proved to be (-EKEYREVOKED)
 */
bool srv_fatal(u16 op, int ret);
/*
 * Fault injection for tests: env_name set to "POINT:N" makes the process
 * SIGKILL itself the Nth time it reaches POINT.
 */
void srv_crash_point(const char *env_name, const char *point);

#endif
