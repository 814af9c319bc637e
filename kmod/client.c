// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs client: requests and replies multiplexed over one connection.
 *
 * Many requests may be in flight on a connection; each carries an id and
 * its reply is matched by it.  A receive thread per connection reads
 * replies (never in the socket callback), completes requests, and when
 * the connection breaks reconnects with backoff, redoes the handshake and
 * resends what is still pending.  A request that gets no answer within
 * the mount's timeo fails with -EIO, whatever state the connection is in:
 * nothing waits forever.
 */
#include <linux/kthread.h>
#include <linux/slab.h>
#include <linux/random.h>
#include <linux/delay.h>
#include <linux/utsname.h>
#include <linux/sched/mm.h>
#include <linux/mm.h>
#include <crypto/utils.h>
#include "internal.h"

#define VDIFS_HDR_LEN	sizeof(struct vdifs_msg_hdr)

static void vdifs_req_release(struct kref *ref)
{
	struct vdifs_req *req = container_of(ref, struct vdifs_req, ref);

	kvfree(req->msg);
	kvfree(req->rbuf);
	kfree(req);
}

void vdifs_req_put(struct vdifs_req *req)
{
	if (req)
		kref_put(&req->ref, vdifs_req_release);
}

/*
 * Build a request: the body is encoded (and its checksum computed) once
 * here; the header, which carries the id, at each send.
 */
struct vdifs_req *vdifs_req_new(u16 op, const void *fixed, u32 flen,
				const void *t1, u32 l1, const void *t2, u32 l2)
{
	struct vdifs_req *req;
	size_t body = (size_t)flen + l1 + l2;
	int n;

	if (body > VDIFS_BODY_MAX)
		return ERR_PTR(-EMSGSIZE);
	req = kzalloc(sizeof(*req), GFP_NOFS);
	if (!req)
		return ERR_PTR(-ENOMEM);
	req->msg = kvmalloc(VDIFS_HDR_LEN + body, GFP_NOFS);
	if (!req->msg) {
		kfree(req);
		return ERR_PTR(-ENOMEM);
	}
	n = wire_msg_encode(req->msg, VDIFS_HDR_LEN + body, op, 0, 0, 0,
			    fixed, flen, t1, l1, t2, l2);
	if (n < 0) {
		kvfree(req->msg);
		kfree(req);
		return ERR_PTR(n);
	}
	req->msg_len = n;
	req->op = op;
	kref_init(&req->ref);
	INIT_LIST_HEAD(&req->link);
	init_completion(&req->done_wait);
	return req;
}

/* stamp the id into the header and send the whole message */
static int vdifs_req_send(struct vdifs_conn *conn, struct vdifs_req *req)
{
	struct vdifs_msg_hdr *m = (struct vdifs_msg_hdr *)req->msg;
	struct wire_hdr h = {
		.opcode = req->op,
		.req_id = req->id,
		.body_len = le32_to_cpu(m->body_len),
		.body_crc = le32_to_cpu(m->body_crc),
	};
	int ret;

	wire_hdr_encode(req->msg, &h);
	mutex_lock(&conn->send_lock);
	ret = conn->sock ? conn->trans->send(conn, req->msg, req->msg_len) :
			   -ENOTCONN;
	mutex_unlock(&conn->send_lock);
	return ret;
}

/* deliver a result; the connection's reference goes with it */
static void vdifs_req_finish(struct vdifs_req *req, int status)
{
	if (!req->status)
		req->status = status;
	if (req->done)
		req->done(req);
	complete(&req->done_wait);
	vdifs_req_put(req);
}

static void vdifs_conn_fail_pending(struct vdifs_conn *conn, bool all,
				    int status)
{
	struct vdifs_req *req, *tmp;
	LIST_HEAD(failed);

	spin_lock(&conn->lock);
	list_for_each_entry_safe(req, tmp, &conn->pending, link) {
		if (all || time_after(jiffies, req->deadline))
			list_move_tail(&req->link, &failed);
	}
	spin_unlock(&conn->lock);
	list_for_each_entry_safe(req, tmp, &failed, link) {
		list_del_init(&req->link);
		if (!all)
			pr_warn_ratelimited("vdifs: %s: %s timed out\n",
					    conn->name, wire_op_name(req->op));
		vdifs_req_finish(req, status);
	}
}

int vdifs_req_submit(struct vdifs_conn *conn, struct vdifs_req *req)
{
	bool up;
	int ret;

	req->deadline = jiffies + msecs_to_jiffies(conn->sbi->opts.timeo_ms);
	kref_get(&req->ref);
	spin_lock(&conn->lock);
	if (conn->state == VDIFS_CONN_CLOSING) {
		spin_unlock(&conn->lock);
		vdifs_req_put(req);
		return -ESHUTDOWN;
	}
	req->id = ++conn->next_id;
	list_add_tail(&req->link, &conn->pending);
	up = conn->state == VDIFS_CONN_UP;
	spin_unlock(&conn->lock);
	if (!up)
		return 0;	/* sent by the receive thread once up */
	ret = vdifs_req_send(conn, req);
	if (ret && conn->trans->shutdown) {
		/* the thread sees the broken socket, reconnects, resends */
		mutex_lock(&conn->send_lock);
		if (conn->sock)
			conn->trans->shutdown(conn);
		mutex_unlock(&conn->send_lock);
	}
	return 0;
}

int vdifs_req_wait(struct vdifs_conn *conn, struct vdifs_req *req)
{
	long left;
	int ret;

	ret = vdifs_req_submit(conn, req);
	if (ret)
		return ret;
	left = wait_for_completion_killable_timeout(&req->done_wait,
		msecs_to_jiffies(conn->sbi->opts.timeo_ms) + HZ);
	if (left > 0)
		return req->status;
	/* timed out or killed: take it back unless the reply is landing */
	spin_lock(&conn->lock);
	if (!list_empty(&req->link)) {
		list_del_init(&req->link);
		spin_unlock(&conn->lock);
		vdifs_req_put(req);	/* the connection's reference */
		return left < 0 ? left : -EIO;
	}
	spin_unlock(&conn->lock);
	wait_for_completion(&req->done_wait);
	return req->status;
}

int vdifs_call(struct vdifs_conn *conn, u16 op, const void *fixed, u32 flen,
	       const void *t1, u32 l1, const void *t2, u32 l2,
	       struct vdifs_req **reqp)
{
	struct vdifs_req *req;
	int ret;

	req = vdifs_req_new(op, fixed, flen, t1, l1, t2, l2);
	if (IS_ERR(req))
		return PTR_ERR(req);
	ret = vdifs_req_wait(conn, req);
	if (reqp && !ret)
		*reqp = req;
	else
		vdifs_req_put(req);
	return ret;
}

/* ---- receiving ---- */

/* read one message; *bodyp is kvmalloc'd; -errno breaks the connection */
static int vdifs_conn_read_msg(struct vdifs_conn *conn, struct wire_hdr *h,
			       u8 **bodyp)
{
	u8 hdr[VDIFS_HDR_LEN];
	u8 *body;
	int ret;

	ret = conn->trans->recv(conn, hdr, sizeof(hdr));
	if (ret)
		return ret;
	ret = wire_hdr_decode(hdr, h);
	if (ret) {
		pr_warn_ratelimited("vdifs: %s: bad message header (%d)\n",
				    conn->name, ret);
		return ret;
	}
	if (!(h->flags & VDIFS_MSG_REPLY)) {
		pr_warn_ratelimited("vdifs: %s: request from a server\n",
				    conn->name);
		return -EPROTO;
	}
	body = kvmalloc(h->body_len + 1, GFP_NOFS);
	if (!body)
		return -ENOMEM;
	ret = conn->trans->recv(conn, body, h->body_len);
	if (!ret)
		ret = wire_body_check_crc(h, body);
	if (ret) {
		kvfree(body);
		return ret;
	}
	*bodyp = body;
	return 0;
}

static struct vdifs_req *vdifs_conn_take(struct vdifs_conn *conn, u64 id)
{
	struct vdifs_req *req;

	spin_lock(&conn->lock);
	list_for_each_entry(req, &conn->pending, link) {
		if (req->id == id) {
			list_del_init(&req->link);
			spin_unlock(&conn->lock);
			return req;
		}
	}
	spin_unlock(&conn->lock);
	return NULL;
}

static void vdifs_conn_deliver(struct vdifs_conn *conn, struct wire_hdr *h,
			       u8 *body)
{
	struct vdifs_req *req = vdifs_conn_take(conn, h->req_id);
	int ret;

	if (!req) {		/* timed out and given up meanwhile */
		kvfree(body);
		return;
	}
	if (h->opcode != req->op) {
		kvfree(body);
		vdifs_req_finish(req, -EPROTO);
		return;
	}
	req->rhdr = *h;
	req->rbuf = body;
	ret = wire_body_decode(h->opcode, true, h->status, body, h->body_len,
			       &req->rbody);
	vdifs_req_finish(req, ret ? ret : h->status);
}

/* a synchronous exchange on a fresh connection, before it is up */
static int vdifs_conn_exchange(struct vdifs_conn *conn, struct vdifs_req *req)
{
	struct wire_hdr h;
	u8 *body;
	int ret;

	spin_lock(&conn->lock);
	req->id = ++conn->next_id;
	spin_unlock(&conn->lock);
	ret = vdifs_req_send(conn, req);
	if (ret)
		return ret;
	ret = vdifs_conn_read_msg(conn, &h, &body);
	if (ret)
		return ret;
	if (h.req_id != req->id || h.opcode != req->op) {
		kvfree(body);
		return -EPROTO;
	}
	req->rhdr = h;
	req->rbuf = body;
	ret = wire_body_decode(h.opcode, true, h.status, body, h.body_len,
			       &req->rbody);
	return ret ? ret : h.status;
}

static int vdifs_conn_handshake(struct vdifs_conn *conn)
{
	struct vdifs_sb_info *sbi = conn->sbi;
	struct vdifs_hello_req hq = { 0 };
	const struct vdifs_hello_rep *hr;
	struct vdifs_auth_req aq;
	const struct vdifs_auth_rep *ar;
	u8 snonce[VDIFS_NONCE_LEN], mac[VDIFS_MAC_LEN];
	const char *node = utsname()->nodename;
	u32 nl = strnlen(node, VDIFS_HOSTNAME_MAX);
	struct vdifs_req *req;
	bool need_auth;
	int ret;

	get_random_bytes(hq.nonce, sizeof(hq.nonce));
	hq.version_min = cpu_to_le32(VDIFS_PROTO_VERSION_MIN);
	hq.version_max = cpu_to_le32(VDIFS_PROTO_VERSION);
	hq.features = cpu_to_le64(VDIFS_FEAT_ALL);
	hq.role = cpu_to_le32(VDIFS_ROLE_CLIENT);
	hq.name_len = cpu_to_le16(nl);
	req = vdifs_req_new(VDIFS_OP_HELLO, &hq, sizeof(hq), node, nl, NULL, 0);
	if (IS_ERR(req))
		return PTR_ERR(req);
	ret = vdifs_conn_exchange(conn, req);
	if (ret) {
		vdifs_req_put(req);
		return ret;
	}
	hr = req->rbody.fixed;
	conn->server_epoch = le64_to_cpu(hr->server_epoch);
	need_auth = le32_to_cpu(hr->auth_required);
	memcpy(snonce, hr->nonce, sizeof(snonce));
	vdifs_req_put(req);
	if (!need_auth)
		return 0;
	if (!sbi->hmac) {
		pr_warn_ratelimited("vdifs: %s requires a key (mount -o key=...)\n",
				    conn->name);
		return -EACCES;
	}
	ret = vdifs_auth_mac(sbi, "vdifs-c", hq.nonce, snonce, aq.mac);
	if (ret)
		return ret;
	req = vdifs_req_new(VDIFS_OP_AUTH, &aq, sizeof(aq), NULL, 0, NULL, 0);
	if (IS_ERR(req))
		return PTR_ERR(req);
	ret = vdifs_conn_exchange(conn, req);
	if (!ret) {
		ar = req->rbody.fixed;
		ret = vdifs_auth_mac(sbi, "vdifs-s", snonce, hq.nonce, mac);
		/* a server that cannot prove the key is not ours */
		if (!ret && crypto_memneq(mac, ar->mac, sizeof(mac)))
			ret = -EACCES;
	}
	vdifs_req_put(req);
	return ret;
}

static void vdifs_conn_set_state(struct vdifs_conn *conn,
				 enum vdifs_conn_state state)
{
	spin_lock(&conn->lock);
	if (conn->state != VDIFS_CONN_CLOSING)
		conn->state = state;
	spin_unlock(&conn->lock);
	wake_up_all(&conn->state_wait);
}

/* resend, in id order, what was queued up to id upto while we were down */
static void vdifs_conn_resend(struct vdifs_conn *conn, u64 upto)
{
	u64 after = 0;

	for (;;) {
		struct vdifs_req *req = NULL, *r;

		spin_lock(&conn->lock);
		list_for_each_entry(r, &conn->pending, link) {
			if (r->id > after && r->id <= upto &&
			    (!req || r->id < req->id))
				req = r;
		}
		if (req)
			kref_get(&req->ref);
		spin_unlock(&conn->lock);
		if (!req)
			break;
		after = req->id;
		if (vdifs_req_send(conn, req))
			pr_debug("vdifs: %s: resend failed\n", conn->name);
		vdifs_req_put(req);
	}
}

static int vdifs_conn_thread(void *data)
{
	struct vdifs_conn *conn = data;
	unsigned int backoff = 100;

	while (!kthread_should_stop()) {
		struct wire_hdr h;
		u8 *body;
		u64 upto;
		int ret;

		if (conn->state != VDIFS_CONN_UP) {
			ret = conn->trans->connect(conn);
			if (!ret) {
				ret = vdifs_conn_handshake(conn);
				if (ret) {
					conn->trans->close(conn);
					pr_warn_ratelimited("vdifs: %s: handshake failed (%d)\n",
							    conn->name, ret);
				}
			}
			if (ret) {
				conn->failures++;
				wake_up_all(&conn->state_wait);
				vdifs_conn_fail_pending(conn, false, -EIO);
				/* sleep, but wake at once for kthread_stop */
				wait_event_interruptible_timeout(conn->state_wait,
					kthread_should_stop(),
					msecs_to_jiffies(backoff));
				backoff = min(backoff * 2, 2000u);
				continue;
			}
			if (conn->failures)
				pr_info("vdifs: %s: connected again\n",
					conn->name);
			conn->failures = 0;
			backoff = 100;
			/* ids up to here were queued while down: ours to send */
			spin_lock(&conn->lock);
			if (conn->state != VDIFS_CONN_CLOSING)
				conn->state = VDIFS_CONN_UP;
			upto = conn->next_id;
			spin_unlock(&conn->lock);
			wake_up_all(&conn->state_wait);
			vdifs_conn_resend(conn, upto);
			continue;
		}
		ret = vdifs_conn_read_msg(conn, &h, &body);
		if (ret) {
			if (kthread_should_stop())
				break;
			pr_warn_ratelimited("vdifs: %s: connection lost (%d), reconnecting\n",
					    conn->name, ret);
			vdifs_conn_set_state(conn, VDIFS_CONN_DOWN);
			mutex_lock(&conn->send_lock);
			conn->trans->close(conn);
			mutex_unlock(&conn->send_lock);
			conn->failures = 1;
			continue;
		}
		vdifs_conn_deliver(conn, &h, body);
	}
	return 0;
}

struct vdifs_conn *vdifs_conn_create(struct vdifs_sb_info *sbi,
				     const struct sockaddr_storage *addr,
				     const char *name)
{
	struct vdifs_conn *conn;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return ERR_PTR(-ENOMEM);
	conn->sbi = sbi;
	conn->addr = *addr;
	strscpy(conn->name, name, sizeof(conn->name));
	conn->trans = &vdifs_trans_tcp;
	spin_lock_init(&conn->lock);
	mutex_init(&conn->send_lock);
	INIT_LIST_HEAD(&conn->pending);
	init_waitqueue_head(&conn->state_wait);
	conn->state = VDIFS_CONN_DOWN;
	conn->thread = kthread_run(vdifs_conn_thread, conn, "vdifs-%s", name);
	if (IS_ERR(conn->thread)) {
		long err = PTR_ERR(conn->thread);

		kfree(conn);
		return ERR_PTR(err);
	}
	return conn;
}

int vdifs_conn_wait_up(struct vdifs_conn *conn, unsigned int timeout_ms)
{
	long left;

	left = wait_event_interruptible_timeout(conn->state_wait,
		conn->state == VDIFS_CONN_UP || conn->failures,
		msecs_to_jiffies(timeout_ms));
	if (left < 0)
		return left;
	if (conn->state == VDIFS_CONN_UP)
		return 0;
	return left ? -ECONNREFUSED : -ETIMEDOUT;
}

void vdifs_conn_destroy(struct vdifs_conn *conn)
{
	if (IS_ERR_OR_NULL(conn))
		return;
	spin_lock(&conn->lock);
	conn->state = VDIFS_CONN_CLOSING;
	spin_unlock(&conn->lock);
	mutex_lock(&conn->send_lock);
	if (conn->sock)
		conn->trans->shutdown(conn);
	mutex_unlock(&conn->send_lock);
	wake_up_all(&conn->state_wait);
	kthread_stop(conn->thread);
	conn->trans->close(conn);
	vdifs_conn_fail_pending(conn, true, -ESHUTDOWN);
	kfree(conn);
}

/* requests that outlive their deadline fail even if the server is up */
void vdifs_conn_tick(struct vdifs_conn *conn)
{
	vdifs_conn_fail_pending(conn, false, -EIO);
}
