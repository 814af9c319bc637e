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
};

int srv_hello(struct srv_auth *a, size_t key_len, u64 epoch,
	      const struct wire_body *b, struct vdifs_hello_rep *rep);
int srv_auth(struct srv_auth *a, const u8 *key, size_t key_len,
	     const struct wire_body *b, struct vdifs_auth_rep *rep);
/* what a request other than HELLO/AUTH gets before the handshake ends */
int srv_gate(const struct srv_auth *a);
/* errors after which the peer cannot be trusted to stay in step */
bool srv_fatal(u16 op, int ret);
/*
 * Fault injection for tests: env_name set to "POINT:N" makes the process
 * SIGKILL itself the Nth time it reaches POINT.
 */
void srv_crash_point(const char *env_name, const char *point);

#endif
