// SPDX-License-Identifier: GPL-2.0
/*
 * Client library: principals (KEY_*) and per-volume access lists
 * (ACCESS_*), for vdifs-tool and the data server's KEY_CHECK.
 */
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include "vdifs_client.h"

static int principal_arg(const char *name, u16 *len)
{
	size_t n;
	int ret;

	if (!name)
		return -EINVAL;
	n = strnlen(name, VDIFS_PRINCIPAL_MAX + 1);
	ret = wire_check_principal((const u8 *)name, (u32)n);
	if (ret)
		return ret;
	*len = (u16)n;
	return 0;
}

static void principal_from_wire(struct vdc_principal *p, u32 role, u32 gen,
				u64 created_ns, const u8 *name, u32 len)
{
	memset(p, 0, sizeof(*p));
	if (len > VDIFS_PRINCIPAL_MAX)
		len = VDIFS_PRINCIPAL_MAX;
	memcpy(p->name, name, len);
	p->role = role;
	p->gen = gen;
	p->created_ns = created_ns;
}

/* KEY_ADD and KEY_CHECK: a vdifs_key_info naming the principal asked */
static int call_key(struct vdc_conn *c, u16 op, const char *name, u32 role,
		    u32 flags, struct vdc_principal *out)
{
	struct vdifs_key_req req;
	struct vdifs_key_info ki;
	struct vdc_msg m;
	u16 nlen;
	int ret;

	ret = principal_arg(name, &nlen);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.role = cpu_to_le32(role);
	req.flags = cpu_to_le32(flags);
	req.name_len = cpu_to_le16(nlen);
	ret = vdc_call(c, op, &req, sizeof(req), name, nlen, NULL, 0, &m);
	if (ret)
		return ret;
	if (m.body.fixed_len < sizeof(ki) || m.body.tail_len[0] != nlen ||
	    memcmp(m.body.tail[0], name, nlen)) {
		vdc_msg_free(&m);
		return -EPROTO;
	}
	memcpy(&ki, m.body.fixed, sizeof(ki));
	vdc_msg_free(&m);
	principal_from_wire(out, le32_to_cpu(ki.role), le32_to_cpu(ki.gen),
			    le64_to_cpu(ki.created_ns), (const u8 *)name, nlen);
	if (op == VDIFS_OP_KEY_ADD) {
		memcpy(out->key, ki.key, sizeof(out->key));
		vdc_unseal(c, out->name, out->gen, out->key);
	}
	OPENSSL_cleanse(&ki, sizeof(ki));
	return 0;
}

int vdc_key_add(struct vdc_conn *c, const char *name, u32 role, bool rotate,
		struct vdc_principal *out)
{
	return call_key(c, VDIFS_OP_KEY_ADD, name, role,
			rotate ? VDIFS_KEY_ROTATE : 0, out);
}

int vdc_key_check(struct vdc_conn *c, const char *name,
		  struct vdc_principal *out)
{
	return call_key(c, VDIFS_OP_KEY_CHECK, name, 0, 0, out);
}

int vdc_key_delete(struct vdc_conn *c, const char *name)
{
	struct vdifs_key_req req;
	u16 nlen;
	int ret;

	ret = principal_arg(name, &nlen);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.name_len = cpu_to_le16(nlen);
	return vdc_call(c, VDIFS_OP_KEY_DELETE, &req, sizeof(req), name, nlen,
			NULL, 0, NULL);
}

int vdc_key_list(struct vdc_conn *c,
		 int (*cb)(const struct vdc_principal *p, void *arg),
		 void *arg)
{
	char after[VDIFS_PRINCIPAL_MAX + 1] = "";
	int total = 0;

	for (;;) {
		struct vdifs_key_list_req req;
		struct vdifs_list_rep lr;
		struct wire_rec_iter it;
		const void *rec;
		const u8 *name;
		u16 nlen;
		struct vdc_msg m;
		bool eof;
		int ret, r;

		memset(&req, 0, sizeof(req));
		req.max_bytes = cpu_to_le32(VDIFS_LIST_MAX_BYTES);
		req.name_len = cpu_to_le16((u16)strlen(after));
		ret = vdc_call(c, VDIFS_OP_KEY_LIST, &req, sizeof(req), after,
			       (u32)strlen(after), NULL, 0, &m);
		if (ret)
			return ret;
		if (m.body.fixed_len < sizeof(lr)) {
			vdc_msg_free(&m);
			return -EPROTO;
		}
		memcpy(&lr, m.body.fixed, sizeof(lr));
		eof = le32_to_cpu(lr.eof) != 0;
		wire_rec_iter_init(&it, &m.body, 0, VDIFS_OP_KEY_LIST);
		while ((r = wire_rec_next(&it, &rec, &name, &nlen)) > 0) {
			struct vdifs_key_rec kr;
			struct vdc_principal p;

			memcpy(&kr, rec, sizeof(kr));
			principal_from_wire(&p, le32_to_cpu(kr.role),
					    le32_to_cpu(kr.gen),
					    le64_to_cpu(kr.created_ns), name,
					    nlen);
			/* names come in order: the list must move forward */
			if (strcmp(p.name, after) <= 0) {
				vdc_msg_free(&m);
				return -EPROTO;
			}
			strcpy(after, p.name);
			total++;
			ret = cb ? cb(&p, arg) : 0;
			if (ret) {
				vdc_msg_free(&m);
				return ret < 0 ? ret : total;
			}
		}
		vdc_msg_free(&m);
		if (r < 0)
			return r;
		if (eof)
			return total;
	}
}

int vdc_access_set(struct vdc_conn *c, u32 vol, const char *name,
		   u32 rights)
{
	struct vdifs_access_req req;
	u16 nlen;
	int ret;

	ret = principal_arg(name, &nlen);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	req.rights = cpu_to_le32(rights);
	req.name_len = cpu_to_le16(nlen);
	return vdc_call(c, VDIFS_OP_ACCESS_SET, &req, sizeof(req), name, nlen,
			NULL, 0, NULL);
}

int vdc_access_list(struct vdc_conn *c, u32 vol,
		    int (*cb)(const char *name, u32 rights, void *arg),
		    void *arg)
{
	struct vdifs_access_list_req req;
	struct wire_rec_iter it;
	const void *rec;
	const u8 *name;
	u16 nlen;
	struct vdc_msg m;
	int ret, r, total = 0;

	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(vol);
	ret = vdc_call(c, VDIFS_OP_ACCESS_LIST, &req, sizeof(req), NULL, 0,
		       NULL, 0, &m);
	if (ret)
		return ret;
	wire_rec_iter_init(&it, &m.body, 0, VDIFS_OP_ACCESS_LIST);
	while ((r = wire_rec_next(&it, &rec, &name, &nlen)) > 0) {
		struct vdifs_access_rec ar;
		char n[VDIFS_PRINCIPAL_MAX + 1];

		memcpy(&ar, rec, sizeof(ar));
		if (nlen > VDIFS_PRINCIPAL_MAX) {
			r = -EPROTO;
			break;
		}
		memcpy(n, name, nlen);
		n[nlen] = 0;
		total++;
		ret = cb ? cb(n, le32_to_cpu(ar.rights), arg) : 0;
		if (ret) {
			r = ret < 0 ? ret : 0;
			break;
		}
	}
	vdc_msg_free(&m);
	return r < 0 ? r : total;
}
