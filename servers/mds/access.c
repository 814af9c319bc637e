// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds access lists: which client principals may use a volume, and
 * whether to change it (ACCESS_SET, ACCESS_LIST), checked in each
 * connection's reader before a request that names a volume is queued.
 *
 * An empty list leaves a volume open to every client that authenticates,
 * as an NFS export to "*" is: a cluster that never sets a list works as
 * it did.  A client that proved the clients' shared key rather than a
 * principal is "" and so on no list.  Administrators and data servers
 * are not subject to lists (they are the cluster's own).
 *
 * The reader caches its principal's standing and one volume's rights;
 * every change bumps mds->access_gen, and a cache older than a second is
 * looked up again anyway, which bounds what a change racing its own
 * commit can leave behind.
 */
#include <errno.h>
#include <string.h>
#include "mds.h"

#define ACCESS_CACHE_MS	1000

/* the volume a request acts on, 0 for none */
static u32 op_vol(u16 op, const struct wire_body *b)
{
	__le32 vol;

	switch (op) {
	case VDIFS_OP_STATFS:
	case VDIFS_OP_LOOKUP ... VDIFS_OP_REMOVEXATTR:
	case VDIFS_OP_LAYOUT_SET ... VDIFS_OP_LAYOUT_CORRUPT:
	case VDIFS_OP_SESSION_OPEN:
	case VDIFS_OP_SNAP_CREATE ... VDIFS_OP_CLONE_RANGE:
		/* each of these requests starts with its __le32 vol */
		if (b->fixed_len < sizeof(vol))
			return 0;
		memcpy(&vol, b->fixed, sizeof(vol));
		return le32_to_cpu(vol);
	default:
		return 0;
	}
}

static void access_key(u8 *k, u32 vol, const char *name, size_t len)
{
	put_be32(k, vol);
	memcpy(k + 4, name, len);
}

/* vol's entries: how many (up to max + 1) and, if name, name's rights */
static int access_scan(struct mds *m, MDB_txn *t, u32 vol, const char *name,
		       u32 max, u32 *count, u32 *rights)
{
	MDB_cursor *cur;
	u8 pk[4];
	MDB_val k = { 4, pk }, v;
	size_t nl = name ? strlen(name) : 0;
	int rc;

	*count = 0;
	*rights = VDIFS_ACCESS_NONE;
	put_be32(pk, vol);
	rc = mdb_cursor_open(t, m->db.access, &cur);
	if (rc)
		return db_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		__le32 r;

		if (k.mv_size < 4 || memcmp(k.mv_data, pk, 4))
			break;
		if (v.mv_size == sizeof(r) && nl && k.mv_size == 4 + nl &&
		    !memcmp((u8 *)k.mv_data + 4, name, nl)) {
			memcpy(&r, v.mv_data, sizeof(r));
			*rights = le32_to_cpu(r);
		}
		if (++*count > max)
			break;
	}
	mdb_cursor_close(cur);
	return rc && rc != MDB_NOTFOUND ? db_err(rc) : 0;
}

int access_rights(struct mds *m, MDB_txn *t, const struct mds_conn *c,
		  u32 vol)
{
	u32 count, rights;
	int ret;

	if (c->auth.role != VDIFS_ROLE_CLIENT ||
	    !__atomic_load_n(&m->access_entries, __ATOMIC_ACQUIRE))
		return VDIFS_ACCESS_WRITE;
	/* one entry tells open from listed: stop there unless it is ours */
	ret = access_scan(m, t, vol, c->auth.principal,
			  c->auth.principal[0] ? VDIFS_ACCESS_MAX : 0, &count,
			  &rights);
	if (ret)
		return ret;
	return count ? (int)rights : (int)VDIFS_ACCESS_WRITE;
}

/* the principal c proved is still there, with the generation it proved */
static int access_standing(struct mds *m, const struct mds_conn *c)
{
	u32 role, gen;
	int ret;

	if (!c->auth.principal[0])
		return 0;
	ret = principal_lookup(m, c->auth.principal, &role, &gen);
	if (ret)
		return ret;
	return role == c->auth.role && gen == c->auth.gen ? 0 : -EKEYREVOKED;
}

int access_check(struct mds *m, struct mds_conn *c, u16 op,
		 const struct wire_body *b, bool writes)
{
	u64 gen = __atomic_load_n(&m->access_gen, __ATOMIC_ACQUIRE);
	long long now = net_now_ms();
	u32 vol;
	MDB_txn *t;
	int rc, ret;

	if (c->auth.role != VDIFS_ROLE_CLIENT && !c->auth.principal[0])
		return 0;
	if (c->acc_gen != gen || now - c->acc_ms > ACCESS_CACHE_MS) {
		ret = access_standing(m, c);
		if (ret == -EACCES)
			ret = -EKEYREVOKED;
		if (ret) {
			log_warn("%s: principal %s no longer stands", c->peer,
				 c->auth.principal);
			return ret;
		}
		c->acc_gen = gen;
		c->acc_ms = now;
		c->acc_vol = 0;
	}
	vol = op_vol(op, b);
	if (!vol || c->auth.role != VDIFS_ROLE_CLIENT)
		return 0;
	if (c->acc_vol != vol) {
		rc = mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t);
		if (rc)
			return db_err(rc);
		ret = access_rights(m, t, c, vol);
		mdb_txn_abort(t);
		if (ret < 0)
			return ret;
		c->acc_vol = vol;
		c->acc_rights = ret;
	}
	if (c->acc_rights == VDIFS_ACCESS_NONE)
		return -EACCES;
	/* a read-only client still keeps a session on the volume */
	if (writes && c->acc_rights == VDIFS_ACCESS_READ &&
	    op != VDIFS_OP_SESSION_OPEN)
		return -EROFS;
	return 0;
}

void access_cap(struct mds *m, const struct mds_conn *c,
		const struct vdifs_chunk *ch, int rights, bool writable,
		struct vdifs_chunk_cap *cap)
{
	u32 r = 0;

	memset(cap, 0, sizeof(*cap));
	if (!m->cfg.key_len || !ch->chunk_id)
		return;
	if (rights == VDIFS_ACCESS_READ || rights == VDIFS_ACCESS_WRITE)
		r |= VDIFS_CAP_READ;
	if (rights == VDIFS_ACCESS_WRITE && writable)
		r |= VDIFS_CAP_WRITE;
	/* clients fetch the layout again a minute before it expires */
	cap->expiry = cpu_to_le64((u64)(mds_now_ns() / 1000000000) +
				  m->cfg.cap_lifetime_s);
	cap->rights = cpu_to_le32(r);
	vdc_cap_mac(m->cap_key, le64_to_cpu(ch->chunk_id),
		    le64_to_cpu(ch->version), le64_to_cpu(cap->expiry), r,
		    c->auth.principal, cap->mac);
}

int access_drop_vol(struct mds *m, MDB_txn *t, u32 vol)
{
	u8 k[4];

	put_be32(k, vol);
	__atomic_add_fetch(&m->access_gen, 1, __ATOMIC_RELEASE);
	return db_del_prefix(t, m->db.access, k, 4, NULL, NULL);
}

int access_load(struct mds *m)
{
	MDB_stat st;
	MDB_txn *t;
	int rc;

	rc = mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t);
	if (rc)
		return db_err(rc);
	rc = mdb_stat(t, m->db.access, &st);
	mdb_txn_abort(t);
	if (rc)
		return db_err(rc);
	m->access_entries = st.ms_entries;
	return 0;
}

static int op_access_set(struct mds *m, struct mds_conn *c, MDB_txn *t,
			 const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_access_req *q = b->fixed;
	u32 vol = le32_to_cpu(q->vol), rights = le32_to_cpu(q->rights);
	u8 k[4 + VDIFS_PRINCIPAL_MAX];
	char name[VDIFS_PRINCIPAL_MAX + 1];
	struct mds_principal p;
	struct mds_vol v;
	u32 count, had;
	__le32 val = cpu_to_le32(rights);
	int ret;

	if (rights > VDIFS_ACCESS_WRITE || q->pad0 || q->pad1)
		return -EINVAL;
	ret = vol_get(m, t, vol, &v);
	if (ret)
		return ret;
	memcpy(name, b->tail[0], b->tail_len[0]);
	name[b->tail_len[0]] = 0;
	access_key(k, vol, name, b->tail_len[0]);
	if (rights == VDIFS_ACCESS_NONE) {
		ret = db_del(t, m->db.access, k, 4 + b->tail_len[0]);
		if (ret)
			return ret;
		goto out_changed;
	}
	/* a list names principals that exist: a typo is an error */
	ret = db_get(t, m->db.principals, name, b->tail_len[0], &p,
		     sizeof(p));
	if (ret < 0)
		return ret;
	if (le32_to_cpu(p.role) != VDIFS_ROLE_CLIENT)
		return -EINVAL;
	ret = access_scan(m, t, vol, name, VDIFS_ACCESS_MAX, &count, &had);
	if (ret)
		return ret;
	if (!had && count >= VDIFS_ACCESS_MAX)
		return -ENOSPC;
	ret = db_put(t, m->db.access, k, 4 + b->tail_len[0], &val,
		     sizeof(val), 0);
	if (ret)
		return ret;
	/* before the commit: a reader must look entries up from now on */
	__atomic_add_fetch(&m->access_entries, 1, __ATOMIC_RELEASE);
out_changed:
	__atomic_add_fetch(&m->access_gen, 1, __ATOMIC_RELEASE);
	log_info("%s: volume %s: %s %s", c->peer, v.name, name,
		 rights == VDIFS_ACCESS_WRITE ? "read-write" :
		 rights == VDIFS_ACCESS_READ ? "read-only" : "removed");
	return 0;
}

static int op_access_list(struct mds *m, struct mds_conn *c, MDB_txn *t,
			  const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_access_list_req *q = b->fixed;
	struct vdifs_list_rep *lr = (struct vdifs_list_rep *)r->fixed;
	u32 vol = le32_to_cpu(q->vol), count = 0;
	const u32 budget = VDIFS_LIST_MAX_BYTES;
	struct mds_vol v;
	MDB_cursor *cur;
	u8 pk[4];
	MDB_val k = { 4, pk }, val;
	int rc, ret;

	ret = vol_get(m, t, vol, &v);
	if (ret)
		return ret;
	ret = reply_tail_reserve(r, budget);
	if (ret)
		return ret;
	memset(lr, 0, sizeof(*lr));
	r->flen = sizeof(*lr);
	lr->eof = cpu_to_le32(1);
	put_be32(pk, vol);
	rc = mdb_cursor_open(t, m->db.access, &cur);
	if (rc)
		return db_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		struct vdifs_access_rec ar = { 0 };
		int n;

		if (k.mv_size < 4 || memcmp(k.mv_data, pk, 4))
			break;
		if (val.mv_size != sizeof(ar.rights) || k.mv_size == 4 ||
		    k.mv_size > 4 + VDIFS_PRINCIPAL_MAX)
			continue;
		memcpy(&ar.rights, val.mv_data, sizeof(ar.rights));
		ar.name_len = cpu_to_le16((u16)(k.mv_size - 4));
		/* VDIFS_ACCESS_MAX entries always fit the budget */
		n = wire_rec_put(r->tail + r->tlen, budget - r->tlen, &ar,
				 sizeof(ar), (u8 *)k.mv_data + 4,
				 (u32)(k.mv_size - 4));
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

const struct mds_op access_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_ACCESS_SET] = { op_access_set, MDS_TXN_WRITE },
	[VDIFS_OP_ACCESS_LIST] = { op_access_list, MDS_TXN_READ },
};
