// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds principals: named keys for client hosts and administrators
 * (KEY_ADD, KEY_DELETE, KEY_LIST), and what the handshake and the data
 * servers ask about them (KEY_CHECK).
 *
 * A principal's key is never stored: it is HMAC(server key, role,
 * generation, name) (uapi/vdifs_proto.h), so the MDS keeps only the role
 * and the generation, and a data server holding the server key checks a
 * client's proof with what KEY_CHECK tells it, without the key ever
 * crossing the network.  The one copy that does, in KEY_ADD's reply to an
 * administrator, is sealed with the key that administrator's connection
 * proved.  The price: rotating the server key changes every principal's
 * key.  Servers keep proving the server key itself; principals are for
 * the roles that are many (clients) or people (administrators).
 */
#include <errno.h>
#include <string.h>
#include "mds.h"

static int principal_get(struct mds *m, MDB_txn *t, const void *name,
			 u32 len, struct mds_principal *p)
{
	int ret = db_get(t, m->db.principals, name, len, p, sizeof(*p));

	return ret < 0 ? ret : 0;
}

int principal_lookup(void *arg, const char *name, u32 *role, u32 *gen)
{
	struct mds *m = arg;
	struct mds_principal p;
	MDB_txn *t;
	int rc, ret;

	rc = mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t);
	if (rc)
		return db_err(rc);
	ret = principal_get(m, t, name, (u32)strlen(name), &p);
	mdb_txn_abort(t);
	if (ret)
		return ret == -ENOENT ? -EACCES : ret;
	*role = le32_to_cpu(p.role);
	*gen = le32_to_cpu(p.gen);
	return 0;
}

static void key_info(struct mds_reply *r, const struct mds_principal *p,
		     u32 name_len)
{
	struct vdifs_key_info *ki = (struct vdifs_key_info *)r->fixed;

	memset(ki, 0, sizeof(*ki));
	ki->role = p->role;
	ki->gen = p->gen;
	ki->created_ns = p->created_ns;
	ki->name_len = cpu_to_le16((u16)name_len);
	r->flen = sizeof(*ki);
}

static int reply_name(struct mds_reply *r, const void *name, u32 len)
{
	int ret = reply_tail_reserve(r, len);

	if (ret)
		return ret;
	memcpy(r->tail, name, len);
	r->tlen = len;
	return 0;
}

static int op_key_add(struct mds *m, struct mds_conn *c, MDB_txn *t,
		      const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_key_req *q = b->fixed;
	u32 role = le32_to_cpu(q->role), flags = le32_to_cpu(q->flags);
	char name[VDIFS_PRINCIPAL_MAX + 1];
	struct mds_principal p;
	struct vdifs_key_info *ki;
	int ret;

	/* keyless, a key proves nothing: there is nothing to derive from */
	if (!m->cfg.key_len || !c->auth.key_len)
		return -EOPNOTSUPP;
	if (flags & ~VDIFS_KEY_ROTATE || q->pad0 || q->pad1)
		return -EINVAL;
	memcpy(name, b->tail[0], b->tail_len[0]);
	name[b->tail_len[0]] = 0;
	ret = principal_get(m, t, name, b->tail_len[0], &p);
	if (ret && ret != -ENOENT)
		return ret;
	if (flags & VDIFS_KEY_ROTATE) {
		if (ret)
			return ret;
		if (role && role != le32_to_cpu(p.role))
			return -EINVAL;
		if (le32_to_cpu(p.gen) == 0xffffffffu)
			return -EOVERFLOW;
		p.gen = cpu_to_le32(le32_to_cpu(p.gen) + 1);
	} else {
		if (!ret)
			return -EEXIST;
		if (role != VDIFS_ROLE_CLIENT && role != VDIFS_ROLE_TOOL)
			return -EINVAL;
		p.role = cpu_to_le32(role);
		p.gen = cpu_to_le32(1);
	}
	p.created_ns = cpu_to_le64((u64)mds_now_ns());
	ret = db_put(t, m->db.principals, name, b->tail_len[0], &p, sizeof(p),
		     0);
	if (ret)
		return ret;
	/* connections of the old generation are checked again */
	__atomic_add_fetch(&m->access_gen, 1, __ATOMIC_RELEASE);
	key_info(r, &p, b->tail_len[0]);
	ki = (struct vdifs_key_info *)r->fixed;
	vdc_principal_key(m->cfg.key, m->cfg.key_len, name,
			  le32_to_cpu(p.role), le32_to_cpu(p.gen), ki->key);
	vdc_key_seal(c->auth.key, c->auth.key_len, c->auth.snonce,
		     c->auth.cnonce, name, le32_to_cpu(p.gen), ki->key);
	log_info("%s: principal %s %s (role %u, generation %u)", c->peer,
		 name, flags & VDIFS_KEY_ROTATE ? "rotated" : "added",
		 le32_to_cpu(p.role), le32_to_cpu(p.gen));
	return reply_name(r, b->tail[0], b->tail_len[0]);
}

/* the access entries of one principal, in every volume */
static int drop_access(struct mds *m, MDB_txn *t, const void *name, u32 len)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(t, m->db.access, &cur);
	if (rc)
		return db_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 4 + len ||
		    memcmp((u8 *)k.mv_data + 4, name, len))
			continue;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : db_err(rc);
}

static int op_key_delete(struct mds *m, struct mds_conn *c, MDB_txn *t,
			 const struct wire_body *b, struct mds_reply *r)
{
	int ret;

	ret = db_del(t, m->db.principals, b->tail[0], b->tail_len[0]);
	if (ret)
		return ret;
	ret = drop_access(m, t, b->tail[0], b->tail_len[0]);
	if (ret)
		return ret;
	__atomic_add_fetch(&m->access_gen, 1, __ATOMIC_RELEASE);
	log_info("%s: principal %.*s deleted", c->peer, (int)b->tail_len[0],
		 (const char *)b->tail[0]);
	return 0;
}

static int op_key_list(struct mds *m, struct mds_conn *c, MDB_txn *t,
		       const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_key_list_req *q = b->fixed;
	struct vdifs_list_rep *lr = (struct vdifs_list_rep *)r->fixed;
	u32 budget = le32_to_cpu(q->max_bytes), count = 0;
	MDB_cursor *cur;
	MDB_val k = { b->tail_len[0], (void *)b->tail[0] }, v;
	MDB_cursor_op first = MDB_SET_RANGE;
	int rc, ret;

	if (budget > VDIFS_LIST_MAX_BYTES)
		budget = VDIFS_LIST_MAX_BYTES;
	if (budget < sizeof(struct vdifs_key_rec) + VDIFS_PRINCIPAL_MAX)
		return -EINVAL;
	ret = reply_tail_reserve(r, budget);
	if (ret)
		return ret;
	memset(lr, 0, sizeof(*lr));
	r->flen = sizeof(*lr);
	lr->eof = cpu_to_le32(1);
	rc = mdb_cursor_open(t, m->db.principals, &cur);
	if (rc)
		return db_err(rc);
	if (!b->tail_len[0])
		first = MDB_FIRST;
	for (rc = mdb_cursor_get(cur, &k, &v, first); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct mds_principal p;
		struct vdifs_key_rec kr = { 0 };
		int n;

		/* "after": the name itself is not listed again */
		if (b->tail_len[0] && k.mv_size == b->tail_len[0] &&
		    !memcmp(k.mv_data, b->tail[0], k.mv_size))
			continue;
		if (v.mv_size != sizeof(p) || !k.mv_size ||
		    k.mv_size > VDIFS_PRINCIPAL_MAX)
			continue;
		memcpy(&p, v.mv_data, sizeof(p));
		kr.role = p.role;
		kr.gen = p.gen;
		kr.created_ns = p.created_ns;
		kr.name_len = cpu_to_le16((u16)k.mv_size);
		n = wire_rec_put(r->tail + r->tlen, budget - r->tlen, &kr,
				 sizeof(kr), k.mv_data, (u32)k.mv_size);
		if (n < 0) {
			lr->eof = 0;
			break;
		}
		r->tlen += (u32)n;
		count++;
	}
	mdb_cursor_close(cur);
	lr->count = cpu_to_le32(count);
	return 0;
}

/* a data server asks who a client that named a principal is */
static int op_key_check(struct mds *m, struct mds_conn *c, MDB_txn *t,
			const struct wire_body *b, struct mds_reply *r)
{
	struct mds_principal p;
	int ret = principal_get(m, t, b->tail[0], b->tail_len[0], &p);

	if (ret)
		return ret;
	key_info(r, &p, b->tail_len[0]);
	return reply_name(r, b->tail[0], b->tail_len[0]);
}

const struct mds_op principal_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_KEY_ADD] = { op_key_add, MDS_TXN_WRITE },
	[VDIFS_OP_KEY_DELETE] = { op_key_delete, MDS_TXN_WRITE },
	[VDIFS_OP_KEY_LIST] = { op_key_list, MDS_TXN_READ },
	[VDIFS_OP_KEY_CHECK] = { op_key_check, MDS_TXN_READ },
};
