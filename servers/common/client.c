// SPDX-License-Identifier: GPL-2.0
/*
 * libvdifs connection core: connect, HELLO/AUTH, request/reply.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <openssl/crypto.h>
#include "msg.h"

struct vdc_conn {
	int fd;
	int timeout_ms;
	u64 next_id;
	u64 server_epoch;
	/* what AUTH proved, to unseal KEY_ADD replies (vdc_key_add) */
	u8 key[VDIFS_KEY_MAX];
	size_t key_len;
	u8 cnonce[VDIFS_NONCE_LEN];
	u8 snonce[VDIFS_NONCE_LEN];
};

int vdc_fd(const struct vdc_conn *c)
{
	return c->fd;
}

u64 vdc_server_epoch(const struct vdc_conn *c)
{
	return c->server_epoch;
}

int vdc_send_raw(struct vdc_conn *c, const void *buf, size_t len)
{
	return net_write_full(c->fd, buf, len);
}

int vdc_recv(struct vdc_conn *c, struct vdc_msg *m)
{
	int ret = msg_read(c->fd, m, c->timeout_ms);

	if (ret)
		return ret;
	ret = wire_body_decode(m->hdr.opcode, m->hdr.flags & VDIFS_MSG_REPLY,
			       m->hdr.status, m->buf, m->hdr.body_len,
			       &m->body);
	if (ret)
		vdc_msg_free(m);
	return ret;
}

int vdc_call_send(struct vdc_conn *c, u16 op, const void *fixed, u32 flen,
		  const void *t1, u32 l1, const void *t2, u32 l2, u64 *id)
{
	*id = ++c->next_id;
	return msg_write(c->fd, op, 0, *id, 0, fixed, flen, t1, l1, t2, l2);
}

int vdc_call_wait(struct vdc_conn *c, u16 op, u64 id, struct vdc_msg *rep)
{
	struct vdc_msg m;
	int ret;

	if (rep)
		memset(rep, 0, sizeof(*rep));
	for (;;) {
		ret = vdc_recv(c, &m);
		if (ret)
			return ret;
		/* one caller at a time: anything else is a stray reply */
		if (m.hdr.req_id == id && (m.hdr.flags & VDIFS_MSG_REPLY))
			break;
		vdc_msg_free(&m);
	}
	if (m.hdr.opcode != op) {
		vdc_msg_free(&m);
		return -EPROTO;
	}
	ret = m.hdr.status;
	if (ret || !rep)
		vdc_msg_free(&m);
	else
		*rep = m;
	return ret;
}

int vdc_call(struct vdc_conn *c, u16 op, const void *fixed, u32 flen,
	     const void *t1, u32 l1, const void *t2, u32 l2,
	     struct vdc_msg *rep)
{
	u64 id;
	int ret;

	if (rep)
		memset(rep, 0, sizeof(*rep));
	ret = vdc_call_send(c, op, fixed, flen, t1, l1, t2, l2, &id);
	return ret ? ret : vdc_call_wait(c, op, id, rep);
}

static int vdc_handshake(struct vdc_conn *c, const struct vdc_opts *o)
{
	struct vdifs_hello_req req = { 0 };
	const struct vdifs_hello_rep *hr;
	struct vdifs_auth_req ar;
	const struct vdifs_auth_rep *arep;
	struct vdc_msg m;
	char host[VDIFS_HOSTNAME_MAX + 1] = "";
	const char *name = o->name;
	const char *pr = o->principal ? o->principal : "";
	u8 snonce[VDIFS_NONCE_LEN], mac[VDIFS_MAC_LEN];
	int ret;

	if (*pr && wire_check_principal((const u8 *)pr, (u32)strlen(pr)))
		return -EINVAL;
	if (!name) {
		gethostname(host, sizeof(host) - 1);
		name = host;
	}
	if (strlen(name) > VDIFS_HOSTNAME_MAX)
		return -ENAMETOOLONG;
	if (getrandom(req.nonce, sizeof(req.nonce), 0) != sizeof(req.nonce))
		return -EIO;
	req.version_min = cpu_to_le32(VDIFS_PROTO_VERSION_MIN);
	req.version_max = cpu_to_le32(VDIFS_PROTO_VERSION);
	req.features = cpu_to_le64(VDIFS_FEAT_ALL);
	req.role = cpu_to_le32(o->role ? o->role : VDIFS_ROLE_CLIENT);
	req.name_len = cpu_to_le16((u16)strlen(name));
	req.principal_len = cpu_to_le16((u16)strlen(pr));
	ret = vdc_call(c, VDIFS_OP_HELLO, &req, sizeof(req), name,
		       (u32)strlen(name), pr, (u32)strlen(pr), &m);
	if (ret)
		return ret;
	hr = m.body.fixed;
	c->server_epoch = le64_to_cpu(hr->server_epoch);
	memcpy(snonce, hr->nonce, sizeof(snonce));
	if (!le32_to_cpu(hr->auth_required)) {
		vdc_msg_free(&m);
		/*
		 * We hold a key and the server does not ask for it: it
		 * cannot prove it knows it either, so it may be anyone.
		 */
		if (o->key && o->key_len)
			return -EACCES;
		/* nor one without a key, unless we were told to */
		return o->insecure ? 0 : -EACCES;
	}
	vdc_msg_free(&m);
	if (!o->key || !o->key_len)
		return -EACCES;

	vdc_auth_mac(o->key, o->key_len, "vdifs-c", req.nonce, snonce, ar.mac);
	ret = vdc_call(c, VDIFS_OP_AUTH, &ar, sizeof(ar), NULL, 0, NULL, 0,
		       &m);
	if (ret)
		return ret;
	arep = m.body.fixed;
	vdc_auth_mac(o->key, o->key_len, "vdifs-s", snonce, req.nonce, mac);
	/* a server that cannot prove the key is not our server */
	ret = CRYPTO_memcmp(mac, arep->mac, sizeof(mac)) ? -EACCES : 0;
	vdc_msg_free(&m);
	if (!ret && o->key_len <= sizeof(c->key)) {
		memcpy(c->key, o->key, o->key_len);
		c->key_len = o->key_len;
		memcpy(c->cnonce, req.nonce, sizeof(c->cnonce));
		memcpy(c->snonce, snonce, sizeof(c->snonce));
	}
	return ret;
}

void vdc_unseal(const struct vdc_conn *c, const char *name, u32 gen,
		u8 *key)
{
	vdc_key_seal(c->key, c->key_len, c->snonce, c->cnonce, name, gen,
		     key);
}

int vdc_connect(const char *addr, const struct vdc_opts *opts,
		struct vdc_conn **out)
{
	struct vdc_opts def = { 0 };
	struct vdc_conn *c;
	int fd, ret;

	if (!opts)
		opts = &def;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 30000;
	fd = net_connect(addr, c->timeout_ms);
	if (fd < 0) {
		ret = fd;
		goto out_free;
	}
	c->fd = fd;
	ret = vdc_handshake(c, opts);
	if (ret)
		goto out_close;
	*out = c;
	return 0;

out_close:
	close(c->fd);
out_free:
	free(c);
	return ret;
}

void vdc_close(struct vdc_conn *c)
{
	if (!c)
		return;
	close(c->fd);
	OPENSSL_cleanse(c->key, sizeof(c->key));
	free(c);
}
