// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs data-server client: the table of data servers with their
 * connections, and the chunk requests sent to them.
 *
 * Every read and write finds its data server here, so finding one takes
 * no lock: entries are only ever appended, their id written before the
 * entry is published by a release store of sbi->nds, and each entry's
 * connection pointer is RCU-protected and kref'd.  What is rare takes
 * sbi->ds_lock: asking the MDS for the table, creating a connection on
 * first use, replacing one whose server moved.
 */
#include <linux/slab.h>
#include <linux/in.h>
#include <linux/uio.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include "internal.h"

/* ---- the table ---- */

static void vdifs_addr_from_wire(const struct vdifs_addr *w,
				 struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (w->family == VDIFS_AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(le16_to_cpu(w->port));
		memcpy(&sin6->sin6_addr, w->addr, 16);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(le16_to_cpu(w->port));
		memcpy(&sin->sin_addr, w->addr, 4);
	}
}

static struct vdifs_conn *vdifs_ds_conn_locked(struct vdifs_sb_info *sbi,
					       struct vdifs_ds_entry *e)
{
	return rcu_dereference_protected(e->conn,
					 lockdep_is_held(&sbi->ds_lock));
}

/* refresh the table of data servers from the MDS */
static int vdifs_ds_refresh(struct vdifs_sb_info *sbi)
{
	const struct vdifs_ds_status *d;
	struct wire_rec_iter it;
	struct vdifs_req *req;
	const void *rec;
	const u8 *name;
	u16 nl;
	int ret;

	lockdep_assert_held(&sbi->ds_lock);
	ret = vdifs_call(sbi->mds, VDIFS_OP_STATUS, NULL, 0, NULL, 0, NULL, 0,
			 &req);
	if (ret)
		return ret;
	wire_rec_iter_init(&it, &req->rbody, 0, VDIFS_OP_STATUS);
	while (wire_rec_next(&it, &rec, &name, &nl) > 0) {
		struct vdifs_ds_entry *e;
		struct vdifs_conn *conn;
		struct sockaddr_storage ss;
		unsigned int i;
		u32 id;

		d = rec;
		id = le32_to_cpu(d->ds_id);
		for (i = 0; i < sbi->nds; i++)
			if (sbi->ds[i].id == id)
				break;
		e = &sbi->ds[i];
		vdifs_addr_from_wire(&d->addr, &ss);
		if (i == sbi->nds) {
			if (sbi->nds == VDIFS_MAX_DS)
				break;
			e->id = id;
			e->addr = ss;
			RCU_INIT_POINTER(e->conn, NULL);
			/* lock-free finders see the entry whole */
			smp_store_release(&sbi->nds, sbi->nds + 1);
			continue;
		}
		/* an address change means a new connection */
		conn = vdifs_ds_conn_locked(sbi, e);
		if (conn && memcmp(&ss, &e->addr, sizeof(ss))) {
			RCU_INIT_POINTER(e->conn, NULL);
			/* requests in flight on it fail, reads fail over */
			vdifs_conn_put(conn);
		}
		e->addr = ss;
	}
	vdifs_req_put(req);
	return 0;
}

int vdifs_ds_load(struct vdifs_sb_info *sbi)
{
	int ret;

	mutex_lock(&sbi->ds_lock);
	ret = vdifs_ds_refresh(sbi);
	mutex_unlock(&sbi->ds_lock);
	return ret;
}

/* at unmount: the table's references */
void vdifs_ds_free(struct vdifs_sb_info *sbi)
{
	unsigned int i;

	for (i = 0; i < sbi->nds; i++)
		vdifs_conn_put(rcu_dereference_protected(sbi->ds[i].conn, 1));
}

/* a reference to entry i's connection, if it has one; no lock */
static struct vdifs_conn *vdifs_ds_entry_get(struct vdifs_sb_info *sbi,
					     unsigned int i)
{
	struct vdifs_conn *conn;

	rcu_read_lock();
	conn = rcu_dereference(sbi->ds[i].conn);
	/* zero: replaced and on its way out, as good as none */
	if (conn && !kref_get_unless_zero(&conn->ref))
		conn = NULL;
	rcu_read_unlock();
	return conn;
}

struct vdifs_conn *vdifs_ds_conn_find(struct vdifs_sb_info *sbi, u32 ds_id)
{
	/* pairs with the release in vdifs_ds_refresh(): ids are written */
	unsigned int i, n = smp_load_acquire(&sbi->nds);

	for (i = 0; i < n; i++)
		if (sbi->ds[i].id == ds_id)
			return vdifs_ds_entry_get(sbi, i);
	return NULL;
}

struct vdifs_conn *vdifs_ds_conn(struct vdifs_sb_info *sbi, u32 ds_id)
{
	struct vdifs_conn *conn;
	unsigned int i;
	int pass;

	conn = vdifs_ds_conn_find(sbi, ds_id);
	if (conn)
		return conn;
	mutex_lock(&sbi->ds_lock);
	conn = ERR_PTR(-EHOSTUNREACH);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < sbi->nds; i++) {
			struct vdifs_ds_entry *e = &sbi->ds[i];
			char name[32];

			if (e->id != ds_id)
				continue;
			conn = vdifs_ds_conn_locked(sbi, e);
			if (!conn) {
				snprintf(name, sizeof(name), "ds%u", ds_id);
				conn = vdifs_conn_create(sbi, &e->addr, name);
				if (IS_ERR(conn))
					goto out_unlock;
				rcu_assign_pointer(e->conn, conn);
			}
			kref_get(&conn->ref);	/* the caller's */
			goto out_unlock;
		}
		if (pass == 0 && vdifs_ds_refresh(sbi))
			break;
	}
out_unlock:
	mutex_unlock(&sbi->ds_lock);
	return conn;
}

/* owes replies and has sent none for a lease */
static bool vdifs_ds_stalled(struct vdifs_sb_info *sbi, struct vdifs_conn *conn)
{
	return READ_ONCE(conn->inflight) && sbi->lease_ms &&
	       time_after(jiffies, READ_ONCE(conn->rx_stamp) +
			  msecs_to_jiffies(sbi->lease_ms));
}

/*
 * Requests past their deadline on every data-server connection fail; a
 * connection that looks stalled has the MDS asked about its server.
 */
void vdifs_ds_tick(struct vdifs_sb_info *sbi)
{
	/* pairs with the release in vdifs_ds_refresh() */
	unsigned int i, n = smp_load_acquire(&sbi->nds);
	bool stalled = false;

	for (i = 0; i < n; i++) {
		struct vdifs_conn *conn = vdifs_ds_entry_get(sbi, i);

		if (!conn)
			continue;
		vdifs_conn_tick(conn);
		stalled |= vdifs_ds_stalled(sbi, conn);
		vdifs_conn_put(conn);
	}
	if (stalled)
		queue_work(system_wq, &sbi->stall_work);
}

void vdifs_ds_stall_check(struct work_struct *work)
{
	struct vdifs_sb_info *sbi = container_of(work, struct vdifs_sb_info,
						 stall_work);
	const struct vdifs_ds_status *d;
	struct wire_rec_iter it;
	struct vdifs_req *req;
	const void *rec;
	const u8 *name;
	u16 nl;

	if (vdifs_call(sbi->mds, VDIFS_OP_STATUS, NULL, 0, NULL, 0, NULL, 0,
		       &req))
		return;		/* the MDS decides, or nobody: wait on */
	wire_rec_iter_init(&it, &req->rbody, 0, VDIFS_OP_STATUS);
	while (wire_rec_next(&it, &rec, &name, &nl) > 0) {
		struct vdifs_conn *conn;

		d = rec;
		if (d->state != VDIFS_STATE_DOWN)
			continue;
		conn = vdifs_ds_conn_find(sbi, le32_to_cpu(d->ds_id));
		if (!conn)
			continue;
		if (vdifs_ds_stalled(sbi, conn)) {
			pr_warn_ratelimited("vdifs: %s: no reply for %u ms and down for the MDS: going on without it\n",
					    conn->name, sbi->lease_ms);
			vdifs_conn_fail_all(conn, -EHOSTDOWN);
		}
		vdifs_conn_put(conn);
	}
	vdifs_req_put(req);
}

/* ---- chunk requests ---- */

void vdifs_chunk_req(struct inode *inode, const struct vdifs_chunk *c,
		     const struct vdifs_chunk_cap *cap,
		     struct vdifs_chunk_req *q, u32 off, u32 len)
{
	struct vdifs_inode *vi = VDIFS_I(inode);
	unsigned int i;

	memset(q, 0, sizeof(*q));
	q->chunk_id = c->chunk_id;
	q->epoch = c->version;
	q->offset = cpu_to_le32(off);
	q->len = cpu_to_le32(len);
	q->chunk_size = vi->params.chunk_size;
	q->extent_size = vi->params.extent_size;
	q->nrep = c->nrep;
	q->repl_mode = vi->params.repl_mode;
	for (i = 0; i < VDIFS_MAX_REPLICAS; i++)
		q->ds[i] = c->ds[i];
	q->cap = *cap;
}

int vdifs_chunk_call(struct inode *inode, u64 index, struct vdifs_chunk *c,
		     struct vdifs_chunk_cap *cap, u16 op,
		     struct vdifs_chunk_req *q, struct vdifs_req **rep)
{
	struct vdifs_sb_info *sbi = VDIFS_SB(inode->i_sb);
	unsigned long start = jiffies;
	bool waited = false;
	int ret;

	for (;;) {
		struct vdifs_conn *conn;

		q->chunk_id = c->chunk_id;
		q->epoch = c->version;
		q->nrep = c->nrep;
		memcpy(q->ds, c->ds, sizeof(q->ds));
		q->cap = *cap;
		conn = vdifs_ds_conn(sbi, le32_to_cpu(c->ds[0]));
		if (IS_ERR(conn)) {
			ret = PTR_ERR(conn);
		} else {
			ret = vdifs_call(conn, op, q, sizeof(*q), NULL, 0, NULL,
					 0, rep);
			vdifs_conn_put(conn);
		}
		if (!vdifs_server_failed(ret))
			break;
		ret = vdifs_chunk_degrade(inode, index, c, cap);
		if (ret == -ENOENT)
			vdifs_chunk_forget(inode, index);
		if (!ret)
			continue;
		if (ret != -EAGAIN && !vdifs_server_failed(ret))
			break;
		/* all alive: slow, not failed; wait as long as it takes */
		if (vdifs_soft_expired(sbi, start)) {
			ret = -EIO;
			break;
		}
		if (!waited)
			pr_warn_ratelimited("vdifs: inode %lu: data server %u not responding, still trying\n",
					    inode->i_ino, le32_to_cpu(c->ds[0]));
		waited = true;
		schedule_timeout_killable(HZ);
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	if (waited && !ret)
		pr_info_ratelimited("vdifs: inode %lu: data server %u OK\n",
				    inode->i_ino, le32_to_cpu(c->ds[0]));
	return ret;
}

/*
 * CHUNK_READ of [off, off + len) of c; the data lands in dest's pages.
 * sums: checked against the blocks' own checksums, which lets the server
 * send it from its files untouched (it may still answer the usual way).
 */
struct vdifs_req *vdifs_chunk_read_req(struct inode *inode,
				       const struct vdifs_chunk *c,
				       const struct vdifs_chunk_cap *cap,
				       u32 off, u32 len,
				       const struct iov_iter *dest, bool sums)
{
	struct vdifs_chunk_req q;
	struct vdifs_req *req;
	int ret;

	vdifs_chunk_req(inode, c, cap, &q, off, len);
	if (sums)
		q.flags |= cpu_to_le32(VDIFS_CHUNK_SUMS);
	req = vdifs_req_new(VDIFS_OP_CHUNK_READ, &q, sizeof(q), NULL, 0, NULL,
			    0);
	if (IS_ERR(req))
		return req;
	ret = vdifs_req_set_dest(req, dest, len);
	if (ret) {
		vdifs_req_put(req);
		return ERR_PTR(ret);
	}
	return req;
}

/* what a block-summed write's request is encoded with, then summed into */
static const u8 vdifs_no_sums[wire_sums_bytes(WIRE_SUMS_MAX)];

/*
 * CHUNK_WRITE of [off, off + len) of c from data's pages, not copied.
 * Whole blocks go with their checksums (protocol v7): summed once here
 * (as the whole body would have been), checked once by the data server,
 * which stores them, and forwarded as they are to its replicas.
 */

struct vdifs_req *vdifs_chunk_write_req(struct inode *inode,
					const struct vdifs_chunk *c,
					const struct vdifs_chunk_cap *cap,
					u32 off, u32 len,
					const struct iov_iter *data)
{
	bool summed = len && !(off % VDIFS_SUM_BLOCK) &&
		      !(len % VDIFS_SUM_BLOCK) && len <= VDIFS_IO_MAX &&
		      iov_iter_count(data) >= len;
	u32 nsums = summed ? len / VDIFS_SUM_BLOCK : 0;
	struct vdifs_chunk_req q;
	struct vdifs_req *req;
	int ret;

	vdifs_chunk_req(inode, c, cap, &q, off, len);
	q.nsums = cpu_to_le16(nsums);
	/* room for the sums, made in place (the body's checksum after) */
	req = vdifs_req_new(VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), vdifs_no_sums,
			    wire_sums_bytes(nsums), NULL, 0);
	if (IS_ERR(req))
		return req;
	if (summed)
		vdifs_sums_iter(data, len, (__le32 *)(req->msg +
						      sizeof(struct vdifs_msg_hdr) +
						      sizeof(q)));
	ret = summed ? vdifs_req_set_summed_data(req, data, len) :
		       vdifs_req_set_data(req, data, len);
	if (ret) {
		vdifs_req_put(req);
		return ERR_PTR(ret);
	}
	return req;
}
