// SPDX-License-Identifier: GPL-2.0
/*
 * Server side of the handshake: version choice, nonces, the key proof.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/crypto.h>
#include "srv.h"

void srv_keys_init(struct srv_keys *k, const u8 *server, size_t server_len,
		   const u8 *client, size_t client_len, const u8 *admin,
		   size_t admin_len)
{
	memset(k, 0, sizeof(*k));
	if (!server_len)
		return;
	k->key[VDIFS_ROLE_DS] = server;
	k->len[VDIFS_ROLE_DS] = server_len;
	k->key[VDIFS_ROLE_CLIENT] = client_len ? client : server;
	k->len[VDIFS_ROLE_CLIENT] = client_len ? client_len : server_len;
	k->key[VDIFS_ROLE_TOOL] = admin_len ? admin : server;
	k->len[VDIFS_ROLE_TOOL] = admin_len ? admin_len : server_len;
}

int srv_hello(struct srv_auth *a, const struct srv_keys *k, u64 epoch,
	      const struct wire_body *b, struct vdifs_hello_rep *rep)
{
	const struct vdifs_hello_req *q = b->fixed;
	u32 vmin = le32_to_cpu(q->version_min);
	u32 vmax = le32_to_cpu(q->version_max);
	u32 role = le32_to_cpu(q->role);

	if (a->hello)
		return -EPROTO;
	if (vmin > vmax || vmax < VDIFS_PROTO_VERSION_MIN ||
	    vmin > VDIFS_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	if (role < VDIFS_ROLE_CLIENT || role > VDIFS_ROLE_TOOL)
		return -EINVAL;
	if (getrandom(a->snonce, sizeof(a->snonce), 0) != sizeof(a->snonce))
		return -EIO;
	a->hello = true;
	a->role = role;
	a->authed = k->len[role] == 0;
	/* keyless, nobody proves a name: it stays "" */
	if (b->tail_len[1] && !a->authed) {
		memcpy(a->principal, b->tail[1], b->tail_len[1]);
		a->principal[b->tail_len[1]] = 0;
	}
	memcpy(a->cnonce, q->nonce, sizeof(a->cnonce));
	memset(rep, 0, sizeof(*rep));
	rep->version = cpu_to_le32(vmax < VDIFS_PROTO_VERSION ? vmax :
				   VDIFS_PROTO_VERSION);
	rep->auth_required = cpu_to_le32(!a->authed);
	rep->features = cpu_to_le64(le64_to_cpu(q->features) & VDIFS_FEAT_ALL);
	memcpy(rep->nonce, a->snonce, sizeof(rep->nonce));
	rep->server_epoch = cpu_to_le64(epoch);
	return 0;
}

int srv_auth(struct srv_auth *a, const struct srv_keys *k,
	     const struct wire_body *b, struct vdifs_auth_rep *rep)
{
	const struct vdifs_auth_req *q = b->fixed;
	const u8 *key;
	size_t key_len;
	u8 mac[VDIFS_MAC_LEN];

	u8 pkey[VDIFS_PRINCIPAL_KEY_LEN];
	u32 role, gen = 0;
	int ret;

	if (!a->hello || a->authed)
		return -EPROTO;
	/* the key of the role claimed in HELLO: claiming is not enough */
	key = k->key[a->role];
	key_len = k->len[a->role];
	if (!key_len)
		return -EPROTO;
	if (a->principal[0]) {
		/* a wrong role fails as a wrong key does: no oracle */
		if (!k->principal)
			return -EACCES;
		ret = k->principal(k->principal_arg, a->principal, &role,
				   &gen);
		if (ret)
			return ret == -EACCES || ret == -ENOENT ? -EACCES :
								   ret;
		if (role != a->role)
			return -EACCES;
		vdc_principal_key(k->key[VDIFS_ROLE_DS],
				  k->len[VDIFS_ROLE_DS], a->principal, role,
				  gen, pkey);
		key = pkey;
		key_len = sizeof(pkey);
	}
	vdc_auth_mac(key, key_len, "vdifs-c", a->cnonce, a->snonce, mac);
	if (CRYPTO_memcmp(mac, q->mac, sizeof(mac)))
		return -EACCES;
	a->authed = true;
	a->gen = gen;
	memcpy(a->key, key, key_len);
	a->key_len = key_len;
	vdc_auth_mac(key, key_len, "vdifs-s", a->snonce, a->cnonce, rep->mac);
	OPENSSL_cleanse(pkey, sizeof(pkey));
	return 0;
}

int srv_gate(const struct srv_auth *a)
{
	if (!a->hello)
		return -EPROTO;
	return a->authed ? 0 : -EACCES;
}

bool srv_fatal(u16 op, int ret)
{
	return (op == VDIFS_OP_HELLO && ret) || ret == -EPROTO ||
	       ret == -EKEYREVOKED ||
	       (op == VDIFS_OP_AUTH && ret == -EACCES);
}
