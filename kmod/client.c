// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs client: requests and replies multiplexed over one connection.
 *
 * Many requests may be in flight on a connection, at most its window;
 * each carries an id, and its reply finds it by that id in an xarray.  A
 * receive thread per connection reads replies (never in the socket
 * callback) and completes requests there: their done() callbacks run in
 * it, so a reply costs no further context switch.  When the connection
 * breaks the thread reconnects with backoff, redoes the handshake and
 * resends, in id order, what is still in flight.  A request that gets no
 * answer within the mount's timeo of being sent fails with -EIO,
 * whatever state the connection is in, and a submitter waits at most
 * timeo for room in the window: nothing waits forever.
 *
 * Bulk data moves without copies: a CHUNK_WRITE's data goes to the socket
 * by reference to its pages (MSG_SPLICE_PAGES), a CHUNK_READ reply's data
 * is received straight into the reader's pages, and the body checksum is
 * computed over the pages in place.
 */
#include <linux/kthread.h>
#include <linux/slab.h>
#include <linux/random.h>
#include <linux/delay.h>
#include <linux/utsname.h>
#include <linux/sched/mm.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/uio.h>
#include <linux/iov_iter.h>
#include <crypto/utils.h>
#include "internal.h"

#define VDIFS_HDR_LEN	sizeof(struct vdifs_msg_hdr)

/* ---- checksums over pages ---- */

static size_t vdifs_csum_step(void *base, size_t progress, size_t len,
			      void *priv, void *priv2)
{
	wire_csum_update(priv, base, len);
	return 0;
}

/*
 * Continue a checksum over the next len bytes of iter, which is left
 * where it is: each page is mapped in turn, nothing is copied.  Only
 * kernel iterators (netfs hands us FOLIOQ and BVEC, copy_direct KVEC);
 * the setters refuse user-backed ones.
 */
static void vdifs_csum_iter(struct wire_csum *c, const struct iov_iter *iter,
			    size_t len)
{
	struct iov_iter it = *iter;

	iterate_and_advance_kernel(&it, len, c, NULL, vdifs_csum_step);
}

/* one checksum per VDIFS_SUM_BLOCK, over pieces that straddle blocks */
struct vdifs_sums_state {
	struct wire_csum cs;
	__le32 *sums;
	u32 fill;		/* bytes of the current block summed */
};

static size_t vdifs_sums_make_step(void *base, size_t progress, size_t len,
			      void *priv, void *priv2)
{
	struct vdifs_sums_state *st = priv;
	u8 *p = base;

	while (len) {
		size_t n = min_t(size_t, len, VDIFS_SUM_BLOCK - st->fill);

		wire_csum_update(&st->cs, p, n);
		st->fill += n;
		p += n;
		len -= n;
		if (st->fill == VDIFS_SUM_BLOCK) {
			*st->sums++ = cpu_to_le32(wire_csum_final(&st->cs));
			wire_csum_init(&st->cs);
			st->fill = 0;
		}
	}
	return 0;
}

/*
 * The checksum of each 4 KiB block of the next len bytes of iter (a
 * multiple of VDIFS_SUM_BLOCK) into sums, iter left where it is: what a
 * block-summed CHUNK_WRITE carries instead of a checksum of its data.
 */
void vdifs_sums_iter(const struct iov_iter *iter, size_t len, __le32 *sums)
{
	struct vdifs_sums_state st = { .sums = sums };
	struct iov_iter it = *iter;

	wire_csum_init(&st.cs);
	iterate_and_advance_kernel(&it, len, &st, NULL, vdifs_sums_make_step);
}

/*
 * May these pages go to the socket by reference?  Only refcounted,
 * non-slab pages (sendpage_ok(), as net/ceph checks): page cache folios
 * (FOLIOQ) are; the pinned user pages of direct I/O (BVEC) are checked.
 * Anything else is copied into the socket as usual.
 */
static bool vdifs_iter_spliceable(const struct iov_iter *iter)
{
	size_t left = iov_iter_count(iter), skip = iter->iov_offset;
	const struct bio_vec *bv;

	if (iov_iter_is_folioq(iter))
		return true;
	if (!iov_iter_is_bvec(iter))
		return false;
	for (bv = iter->bvec; left; bv++) {
		size_t n = min(left, bv->bv_len - skip);
		struct page *page = bv->bv_page + (bv->bv_offset + skip) /
				    PAGE_SIZE;
		struct page *last = bv->bv_page +
				    (bv->bv_offset + skip + n - 1) / PAGE_SIZE;

		for (; page <= last; page++)
			if (!sendpage_ok(page))
				return false;
		left -= n;
		skip = 0;
	}
	return true;
}

/* ---- requests ---- */

static void vdifs_req_release(struct kref *ref)
{
	struct vdifs_req *req = container_of(ref, struct vdifs_req, ref);

	if (req->msg != req->msg_inline)
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
	int n, ret;

	if (body > VDIFS_BODY_MAX)
		return ERR_PTR(-EMSGSIZE);
	req = kzalloc(sizeof(*req), GFP_NOFS);
	if (!req)
		return ERR_PTR(-ENOMEM);
	if (VDIFS_HDR_LEN + body <= sizeof(req->msg_inline)) {
		req->msg = req->msg_inline;
	} else {
		req->msg = kvmalloc(VDIFS_HDR_LEN + body, GFP_NOFS);
		if (!req->msg) {
			ret = -ENOMEM;
			goto out_free_req;
		}
	}
	n = wire_msg_encode(req->msg, VDIFS_HDR_LEN + body, op, 0, 0, 0,
			    fixed, flen, t1, l1, t2, l2);
	if (n < 0) {
		ret = n;
		goto out_free_msg;
	}
	req->msg_len = n;
	req->op = op;
	kref_init(&req->ref);
	INIT_LIST_HEAD(&req->link);
	atomic_set(&req->busy, 1);
	init_completion(&req->done_wait);
	return req;

out_free_msg:
	if (req->msg != req->msg_inline)
		kvfree(req->msg);
out_free_req:
	kfree(req);
	return ERR_PTR(ret);
}

/*
 * Send the next len bytes of data after the encoded body (the last tail,
 * whose length the fixed part already gives), straight from their pages:
 * the body's length and checksum grow to cover them.  The pages must not
 * change until done() (netfs keeps writeback pages stable and pinned
 * until the subrequest terminates).
 */
static int vdifs_req_data(struct vdifs_req *req, const struct iov_iter *data,
			  size_t len, bool summed)
{
	struct vdifs_msg_hdr *m = (struct vdifs_msg_hdr *)req->msg;
	u32 body = le32_to_cpu(m->body_len);
	struct wire_hdr h = { .opcode = req->op };
	struct wire_csum cs;

	if (WARN_ON_ONCE(user_backed_iter(data) || req->data_len ||
			 iov_iter_count(data) < len))
		return -EINVAL;
	if (len > VDIFS_BODY_MAX - body)
		return -EMSGSIZE;
	/* the encoded body, then (unless its block sums cover them) pages */
	wire_csum_init(&cs);
	wire_csum_update(&cs, req->msg + VDIFS_HDR_LEN, body);
	if (!summed)
		vdifs_csum_iter(&cs, data, len);
	req->data = *data;
	iov_iter_truncate(&req->data, len);
	req->data_len = len;
	req->data_splice = vdifs_iter_spliceable(&req->data);
	h.body_len = body + len;
	h.body_csum = wire_csum_final(&cs);
	wire_hdr_encode(req->msg, &h);
	return 0;
}

int vdifs_req_set_data(struct vdifs_req *req, const struct iov_iter *data,
		       size_t len)
{
	return vdifs_req_data(req, data, len, false);
}

/*
 * The same for data whose block checksums are in the encoded body
 * already (a block-summed CHUNK_WRITE): the body checksum stays theirs.
 */
int vdifs_req_set_summed_data(struct vdifs_req *req,
			      const struct iov_iter *data, size_t len)
{
	return vdifs_req_data(req, data, len, true);
}

/*
 * Receive the data tail of the reply (len bytes, CHUNK_READ only)
 * straight into dest; a reply of any other shape is read as usual and
 * leaves rdest_filled false.
 */
int vdifs_req_set_dest(struct vdifs_req *req, const struct iov_iter *dest,
		       size_t len)
{
	BUILD_BUG_ON(sizeof(req->rfixed) != sizeof(struct vdifs_chunk_io_rep));
	if (WARN_ON_ONCE(req->op != VDIFS_OP_CHUNK_READ ||
			 user_backed_iter(dest) || iov_iter_count(dest) < len))
		return -EINVAL;
	req->rdest = *dest;
	iov_iter_truncate(&req->rdest, len);
	req->rdest_len = len;
	return 0;
}

/* the result is in and nobody sends req any more: hand it over */
static void vdifs_req_deliver(struct vdifs_req *req)
{
	if (req->done)
		req->done(req);
	complete(&req->done_wait);
	vdifs_req_put(req);	/* the connection's reference */
}

/*
 * A sender's hold on req, so that done() (which may release the pages it
 * sends) waits until the send returned: false once the result was
 * delivered, and then there is nothing left to send.
 */
static bool vdifs_req_hold(struct vdifs_req *req)
{
	return atomic_inc_not_zero(&req->busy);
}

static void vdifs_req_unhold(struct vdifs_req *req)
{
	if (atomic_dec_and_test(&req->busy))
		vdifs_req_deliver(req);
}

/*
 * Deliver a result.  The caller took req out of conn->reqs and so owns
 * the connection's reference, which goes with the delivery.
 */
static void vdifs_req_finish(struct vdifs_req *req, int status)
{
	if (!req->status)
		req->status = status;
	vdifs_req_unhold(req);
}

/* ---- sending ---- */

/* stamp the id into the header, send the message, then its data */
static int vdifs_req_send_locked(struct vdifs_conn *conn,
				 struct vdifs_req *req)
{
	struct vdifs_msg_hdr *m = (struct vdifs_msg_hdr *)req->msg;
	struct wire_hdr h = {
		.opcode = req->op,
		.req_id = req->id,
		.body_len = le32_to_cpu(m->body_len),
		.body_csum = le32_to_cpu(m->body_csum),
	};
	struct kvec kv = { .iov_base = req->msg, .iov_len = req->msg_len };
	struct iov_iter it;
	int ret;

	lockdep_assert_held(&conn->send_lock);
	if (!conn->sock)
		return -ENOTCONN;
	wire_hdr_encode(req->msg, &h);
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, req->msg_len);
	ret = conn->trans->send(conn, &it, req->data_len ? MSG_MORE : 0);
	if (ret || !req->data_len)
		return ret;
	it = req->data;
	return conn->trans->send(conn, &it,
				 req->data_splice ? MSG_SPLICE_PAGES : 0);
}

/*
 * Send req on the connection.  A submitter sends only on the connection
 * that was up when it queued the request (gen unchanged); after a loss
 * the receive thread resends everything in flight (resend), so every
 * request goes out once per connection.  A failed send breaks the
 * connection: the thread reconnects and resends.  May sleep.
 */
static void vdifs_req_send(struct vdifs_conn *conn, struct vdifs_req *req,
			   bool resend)
{
	int ret;

	if (!vdifs_req_hold(req))
		return;		/* answered or failed meanwhile */
	mutex_lock(&conn->send_lock);
	if (resend || conn->gen == req->gen) {
		ret = vdifs_req_send_locked(conn, req);
		if (ret && conn->sock)
			conn->trans->shutdown(conn);
	}
	mutex_unlock(&conn->send_lock);
	vdifs_req_unhold(req);
}

/* reqs.xa_lock held: req leaves flight; the caller owns its reference */
static void vdifs_conn_unlink_locked(struct vdifs_conn *conn,
				     struct vdifs_req *req)
{
	lockdep_assert_held(&conn->reqs.xa_lock);
	__xa_erase(&conn->reqs, req->id);
	conn->inflight--;
}

static bool vdifs_conn_room(struct vdifs_conn *conn)
{
	return READ_ONCE(conn->inflight) < conn->window ||
	       READ_ONCE(conn->state) == VDIFS_CONN_CLOSING;
}

/*
 * Break the connection because a reply stalled half way: its request
 * cannot be failed while its pages are being filled.  Never waits for a
 * sender (the next tick tries again).
 */
static void vdifs_conn_break(struct vdifs_conn *conn)
{
	if (!mutex_trylock(&conn->send_lock))
		return;
	if (conn->sock)
		conn->trans->shutdown(conn);
	mutex_unlock(&conn->send_lock);
}

/*
 * What a request that timed out fails with: -EIO to the MDS's callers
 * (the system calls waiting on it, past the mount's timeo); -ETIMEDOUT
 * on a data server, for the data path to ask the MDS whether the server
 * failed or is only slow.
 */
static int vdifs_conn_timeout_err(struct vdifs_conn *conn)
{
	return conn == conn->sbi->mds ? -EIO : -ETIMEDOUT;
}

/* fail what is past its deadline, or everything; may sleep (done()) */
static void vdifs_conn_fail_pending(struct vdifs_conn *conn, bool all,
				    int status)
{
	struct vdifs_req *req, *tmp;
	unsigned long id;
	bool stalled = false;
	LIST_HEAD(failed);

	xa_lock(&conn->reqs);
	xa_for_each(&conn->reqs, id, req) {
		if (!all && !time_after(jiffies, req->deadline))
			continue;
		if (req == conn->rx_req) {
			stalled = true;
			continue;
		}
		vdifs_conn_unlink_locked(conn, req);
		list_add_tail(&req->link, &failed);
	}
	xa_unlock(&conn->reqs);
	if (stalled)
		vdifs_conn_break(conn);
	if (list_empty(&failed))
		return;
	wake_up(&conn->window_wait);
	list_for_each_entry_safe(req, tmp, &failed, link) {
		list_del_init(&req->link);
		if (!all)
			pr_warn_ratelimited("vdifs: %s: %s timed out\n",
					    conn->name, wire_op_name(req->op));
		vdifs_req_finish(req, status);
	}
}

/* wait for room in the window until the jiffies until */
static int vdifs_conn_wait_room(struct vdifs_conn *conn, unsigned long until)
{
	long left = time_before(jiffies, until) ? (long)(until - jiffies) : 0;

	if (left)
		left = wait_event_killable_timeout(conn->window_wait,
						   vdifs_conn_room(conn), left);
	if (left < 0)
		return left;
	if (!left && !vdifs_conn_room(conn)) {
		pr_warn_ratelimited("vdifs: %s: no room for a request in %u ms\n",
				    conn->name, conn->sbi->opts.timeo_ms);
		return -EIO;
	}
	return 0;
}

/*
 * Put req in flight: an id, a place in conn->reqs, the connection's
 * reference and a deadline timeo from now; then send it if the
 * connection is up (else the receive thread sends it once it is).  A
 * full window makes the caller wait, at most timeo, when wait; else it
 * is -EAGAIN.  May sleep.
 */
static int __vdifs_req_submit(struct vdifs_conn *conn, struct vdifs_req *req,
			      bool wait)
{
	unsigned long timeo = msecs_to_jiffies(conn->sbi->opts.timeo_ms);
	unsigned long until = jiffies + timeo;
	XA_STATE(xas, &conn->reqs, 0);
	bool up = false;
	int ret;

	for (;;) {
		xas_lock(&xas);
		if (conn->state == VDIFS_CONN_CLOSING) {
			ret = -ESHUTDOWN;
		} else if (conn->inflight >= conn->window) {
			ret = -EAGAIN;
		} else {
			xas_set(&xas, conn->next_id + 1);
			xas_store(&xas, req);
			ret = xas_error(&xas);
		}
		if (!ret) {
			req->id = ++conn->next_id;
			/* an idle server owes nothing until now */
			if (!conn->inflight)
				WRITE_ONCE(conn->rx_stamp, jiffies);
			conn->inflight++;
			req->deadline = jiffies + timeo;
			kref_get(&req->ref);	/* the connection's */
			/* gen moves only while down: this is the socket's */
			up = conn->state == VDIFS_CONN_UP;
			req->gen = conn->gen;
		}
		xas_unlock(&xas);
		/* an xarray node, allocated outside the lock: try again */
		if (xas_nomem(&xas, GFP_NOFS))
			continue;
		if (ret == -EAGAIN && wait) {
			ret = vdifs_conn_wait_room(conn, until);
			if (!ret)
				continue;
		}
		break;
	}
	if (ret)
		return ret;
	if (up)
		vdifs_req_send(conn, req, false);
	return 0;
}

int vdifs_req_submit(struct vdifs_conn *conn, struct vdifs_req *req)
{
	return __vdifs_req_submit(conn, req, true);
}

int vdifs_req_submit_nowait(struct vdifs_conn *conn, struct vdifs_req *req)
{
	return __vdifs_req_submit(conn, req, false);
}

int vdifs_req_wait(struct vdifs_conn *conn, struct vdifs_req *req)
{
	bool mine;
	long left;
	int ret;

	ret = vdifs_req_submit(conn, req);
	if (ret)
		return ret;
	left = wait_for_completion_killable_timeout(&req->done_wait,
		msecs_to_jiffies(conn->sbi->opts.timeo_ms) + HZ);
	if (left > 0)
		return req->status;
	/* timed out or killed: take it back unless its reply is landing */
	xa_lock(&conn->reqs);
	mine = xa_load(&conn->reqs, req->id) == req && req != conn->rx_req;
	if (mine)
		vdifs_conn_unlink_locked(conn, req);
	xa_unlock(&conn->reqs);
	if (mine) {
		wake_up(&conn->window_wait);
		vdifs_req_finish(req, left < 0 ? left : -EIO);
	}
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

static int vdifs_conn_recv_buf(struct vdifs_conn *conn, void *buf,
			       size_t len)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	struct iov_iter it;

	iov_iter_kvec(&it, ITER_DEST, &kv, 1, len);
	return conn->trans->recv(conn, &it);
}

/* read the next header; -errno breaks the connection */
static int vdifs_conn_read_hdr(struct vdifs_conn *conn, struct wire_hdr *h)
{
	u8 hdr[VDIFS_HDR_LEN];
	int ret;

	ret = vdifs_conn_recv_buf(conn, hdr, sizeof(hdr));
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
	return 0;
}

/* read the body after h; *bodyp is kvmalloc'd */
static int vdifs_conn_read_body(struct vdifs_conn *conn,
				const struct wire_hdr *h, u8 **bodyp)
{
	u8 *body;
	int ret;

	body = kvmalloc(h->body_len + 1, GFP_NOFS);
	if (!body)
		return -ENOMEM;
	ret = vdifs_conn_recv_buf(conn, body, h->body_len);
	if (!ret)
		ret = wire_body_check_csum(h, body);
	if (ret) {
		kvfree(body);
		return ret;
	}
	*bodyp = body;
	return 0;
}

/* read and drop len bytes, continuing the checksum c over them */
static int vdifs_conn_skip(struct vdifs_conn *conn, size_t len,
			   struct wire_csum *c)
{
	while (len) {
		size_t n = min_t(size_t, len, PAGE_SIZE);
		int ret;

		ret = vdifs_conn_recv_buf(conn, conn->scratch, n);
		if (ret)
			return ret;
		wire_csum_update(c, conn->scratch, n);
		len -= n;
	}
	return 0;
}

/* a reply nobody waits for any more: read past it, checked */
static int vdifs_conn_drop_body(struct vdifs_conn *conn,
				const struct wire_hdr *h)
{
	struct wire_csum cs;
	int ret;

	wire_csum_init(&cs);
	ret = vdifs_conn_skip(conn, h->body_len, &cs);
	if (!ret && wire_csum_final(&cs) != h->body_csum)
		ret = -EBADMSG;
	return ret;
}

/*
 * A reply whose data tail can go straight into req->rdest: the usual
 * one, or one with the data's block checksums before it.
 */
static bool vdifs_reply_direct(const struct vdifs_req *req,
			       const struct wire_hdr *h)
{
	size_t plain = sizeof(req->rfixed) + req->rdest_len;

	if (!req->rdest_len || h->opcode != req->op || h->status)
		return false;
	return h->body_len == plain ||
	       (!(req->rdest_len % VDIFS_SUM_BLOCK) &&
		h->body_len == plain + wire_sums_bytes(req->rdest_len /
						       VDIFS_SUM_BLOCK));
}

static size_t vdifs_sums_step(void *base, size_t progress, size_t len,
			      void *priv, void *priv2)
{
	wire_sums_update(priv, base, len);
	return 0;
}

/*
 * The fixed part first, to check the length it announces against what
 * was asked before a byte goes into the pages; then the data into them,
 * and the checksum over what arrived.  *status gets the request's result.
 */
static int vdifs_conn_recv_direct(struct vdifs_conn *conn,
				  struct vdifs_req *req,
				  const struct wire_hdr *h, int *status)
{
	const struct vdifs_chunk_io_rep *rep = (const void *)req->rfixed;
	struct iov_iter it;
	struct wire_csum cs;
	struct wire_sums ws;
	u32 covered, nsums;
	int ret;

	ret = vdifs_conn_recv_buf(conn, req->rfixed, sizeof(req->rfixed));
	if (ret)
		return ret;
	wire_csum_init(&cs);
	wire_csum_update(&cs, req->rfixed, sizeof(req->rfixed));
	covered = wire_sums_covered(h, req->rfixed);
	nsums = le32_to_cpu(rep->nsums);
	if (le32_to_cpu(rep->len) != req->rdest_len || !covered ||
	    h->body_len - (nsums ? covered : sizeof(req->rfixed)) !=
	    req->rdest_len) {
		/* malformed, as decoding would find; the stream is intact */
		ret = vdifs_conn_skip(conn, h->body_len - sizeof(req->rfixed),
				      &cs);
		*status = -EBADMSG;
		return ret;
	}
	if (nsums) {
		/* at most 1 KiB: fits the page */
		ret = vdifs_conn_recv_buf(conn, conn->scratch,
					  covered - sizeof(req->rfixed));
		if (ret)
			return ret;
		wire_csum_update(&cs, conn->scratch,
				 covered - sizeof(req->rfixed));
		if (wire_csum_final(&cs) != h->body_csum)
			return -EBADMSG;
	}
	it = req->rdest;
	ret = conn->trans->recv(conn, &it);
	if (ret)
		return ret;
	if (nsums) {
		/*
		 * A block that does not match its sum may have been
		 * rewritten while it was sent: the caller asks again.
		 */
		it = req->rdest;
		wire_sums_init(&ws, conn->scratch, nsums);
		iterate_and_advance_kernel(&it, req->rdest_len, &ws, NULL,
					   vdifs_sums_step);
		*status = wire_sums_final(&ws);
		if (*status)
			return 0;
	} else {
		vdifs_csum_iter(&cs, &req->rdest, req->rdest_len);
		if (wire_csum_final(&cs) != h->body_csum)
			return -EBADMSG;
	}
	req->rhdr = *h;
	req->rbody.fixed = req->rfixed;
	req->rbody.fixed_len = sizeof(req->rfixed);
	req->rbody.tail_len[1] = req->rdest_len;
	req->rdest_filled = true;
	*status = 0;
	return 0;
}

/* any other reply: the body into a buffer, decoded */
static int vdifs_conn_recv_body(struct vdifs_conn *conn,
				struct vdifs_req *req,
				const struct wire_hdr *h, int *status)
{
	u8 *body;
	int ret;

	ret = vdifs_conn_read_body(conn, h, &body);
	if (ret)
		return ret;
	if (h->opcode != req->op) {
		kvfree(body);
		*status = -EPROTO;
		return 0;
	}
	req->rhdr = *h;
	req->rbuf = body;
	ret = wire_body_decode(h->opcode, true, h->status, body, h->body_len,
			       &req->rbody);
	*status = ret ? ret : h->status;
	return 0;
}

/*
 * Receive one reply and deliver it.  Its request stays in conn->reqs as
 * rx_req while the reply arrives, which nobody else may take out: a
 * timeout cannot complete it while its pages are being filled, and if
 * the connection breaks half way it is still there to be resent.
 * Returns -errno when the connection cannot be trusted further.
 */
static int vdifs_conn_receive(struct vdifs_conn *conn)
{
	struct vdifs_req *req;
	struct wire_hdr h;
	int status = 0, ret;

	ret = vdifs_conn_read_hdr(conn, &h);
	if (ret)
		return ret;
	WRITE_ONCE(conn->rx_stamp, jiffies);
	xa_lock(&conn->reqs);
	req = xa_load(&conn->reqs, h.req_id);
	conn->rx_req = req;
	xa_unlock(&conn->reqs);
	if (!req)		/* timed out and given up meanwhile */
		return vdifs_conn_drop_body(conn, &h);
	if (vdifs_reply_direct(req, &h))
		ret = vdifs_conn_recv_direct(conn, req, &h, &status);
	else
		ret = vdifs_conn_recv_body(conn, req, &h, &status);
	xa_lock(&conn->reqs);
	conn->rx_req = NULL;
	if (!ret)
		vdifs_conn_unlink_locked(conn, req);
	xa_unlock(&conn->reqs);
	if (ret)
		return ret;
	wake_up(&conn->window_wait);
	vdifs_req_finish(req, status);
	return 0;
}

/* a synchronous exchange on a fresh connection, before it is up */
static int vdifs_conn_exchange(struct vdifs_conn *conn, struct vdifs_req *req)
{
	struct wire_hdr h;
	u8 *body;
	int ret;

	xa_lock(&conn->reqs);
	req->id = ++conn->next_id;
	xa_unlock(&conn->reqs);
	mutex_lock(&conn->send_lock);
	ret = vdifs_req_send_locked(conn, req);
	mutex_unlock(&conn->send_lock);
	if (ret)
		return ret;
	ret = vdifs_conn_read_hdr(conn, &h);
	if (ret)
		return ret;
	ret = vdifs_conn_read_body(conn, &h, &body);
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

/* SESSION_OPEN on a connection being set up (it binds it too) */
static int vdifs_conn_new_session(struct vdifs_conn *conn)
{
	struct vdifs_sb_info *sbi = conn->sbi;
	struct vdifs_session_open_req q = { .vol = cpu_to_le32(sbi->vol) };
	const struct vdifs_session_rep *rep;
	const char *node = utsname()->nodename;
	u32 nl = strnlen(node, VDIFS_HOSTNAME_MAX);
	struct vdifs_req *req;
	int ret;

	q.name_len = cpu_to_le16(nl);
	req = vdifs_req_new(VDIFS_OP_SESSION_OPEN, &q, sizeof(q), node, nl,
			    NULL, 0);
	if (IS_ERR(req))
		return PTR_ERR(req);
	ret = vdifs_conn_exchange(conn, req);
	if (!ret) {
		rep = req->rbody.fixed;
		WRITE_ONCE(sbi->session, le64_to_cpu(rep->session));
	}
	vdifs_req_put(req);
	return ret;
}

/*
 * The MDS's connection made again: it belongs to our session before
 * what was in flight is resent, so that the MDS answers a mutation it
 * has done already from its kept reply instead of doing it twice.
 */
static int vdifs_conn_bind(struct vdifs_conn *conn)
{
	struct vdifs_sb_info *sbi = conn->sbi;
	struct vdifs_session_req q;
	struct vdifs_req *req;
	int ret;

	if (conn != sbi->mds || !READ_ONCE(sbi->session))
		return 0;
	q.session = cpu_to_le64(READ_ONCE(sbi->session));
	req = vdifs_req_new(VDIFS_OP_SESSION_BIND, &q, sizeof(q), NULL, 0,
			    NULL, 0);
	if (IS_ERR(req))
		return PTR_ERR(req);
	ret = vdifs_conn_exchange(conn, req);
	vdifs_req_put(req);
	if (ret != -ENOENT)
		return ret;
	/*
	 * Expired on the MDS (we were away longer than it keeps sessions):
	 * what is resent now may be done twice; a new session protects
	 * what follows.
	 */
	pr_warn_ratelimited("vdifs: %s: session %llx expired; opening a new one\n",
			    conn->name, sbi->session);
	return vdifs_conn_new_session(conn);
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
	u32 pl = strnlen(sbi->opts.principal, VDIFS_PRINCIPAL_MAX);
	struct vdifs_req *req;
	bool need_auth;
	int ret;

	get_random_bytes(hq.nonce, sizeof(hq.nonce));
	hq.version_min = cpu_to_le32(VDIFS_PROTO_VERSION_MIN);
	hq.version_max = cpu_to_le32(VDIFS_PROTO_VERSION);
	hq.features = cpu_to_le64(VDIFS_FEAT_ALL);
	hq.role = cpu_to_le32(VDIFS_ROLE_CLIENT);
	hq.name_len = cpu_to_le16(nl);
	hq.principal_len = cpu_to_le16(pl);
	req = vdifs_req_new(VDIFS_OP_HELLO, &hq, sizeof(hq), node, nl,
			    sbi->opts.principal, pl);
	if (IS_ERR(req))
		return PTR_ERR(req);
	ret = vdifs_conn_exchange(conn, req);
	if (ret) {
		vdifs_req_put(req);
		return ret;
	}
	hr = req->rbody.fixed;
	conn->server_epoch = le64_to_cpu(hr->server_epoch);
	conn->features = le64_to_cpu(hr->features);
	need_auth = le32_to_cpu(hr->auth_required);
	memcpy(snonce, hr->nonce, sizeof(snonce));
	vdifs_req_put(req);
	if (!need_auth && sbi->hmac) {
		/* it cannot prove the key it does not ask for: anyone could */
		pr_warn_ratelimited("vdifs: %s does not ask for the key: not our server\n",
				    conn->name);
		return -EACCES;
	}
	if (!need_auth && !sbi->opts.insecure) {
		/* nor can a keyless one: taken only when the mount says so */
		pr_warn_ratelimited("vdifs: %s asks for no key: mount -o insecure to trust it\n",
				    conn->name);
		return -EACCES;
	}
	if (!need_auth)
		return vdifs_conn_bind(conn);
	if (!sbi->hmac) {
		pr_warn_ratelimited("vdifs: %s requires a key (mount -o keyfile=PATH)\n",
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
	return ret ? ret : vdifs_conn_bind(conn);
}

/* the connection broke: down, and a new generation for the next socket */
static void vdifs_conn_lost(struct vdifs_conn *conn)
{
	xa_lock(&conn->reqs);
	if (conn->state != VDIFS_CONN_CLOSING)
		WRITE_ONCE(conn->state, VDIFS_CONN_DOWN);
	xa_unlock(&conn->reqs);
	wake_up_all(&conn->state_wait);
	mutex_lock(&conn->send_lock);
	conn->gen++;
	conn->trans->close(conn);
	mutex_unlock(&conn->send_lock);
	conn->failures = 1;
}

/* resend, in id order, what was in flight up to id upto when we got up */
static void vdifs_conn_resend(struct vdifs_conn *conn, u64 upto)
{
	unsigned long id = 0;

	for (;;) {
		struct vdifs_req *req;

		xa_lock(&conn->reqs);
		req = xa_find(&conn->reqs, &id, upto, XA_PRESENT);
		if (req)
			kref_get(&req->ref);
		xa_unlock(&conn->reqs);
		if (!req)
			break;
		vdifs_req_send(conn, req, true);
		vdifs_req_put(req);
		if (id == upto)
			break;
		id++;
	}
}

static int vdifs_conn_thread(void *data)
{
	struct vdifs_conn *conn = data;
	unsigned int backoff = 100;

	while (!kthread_should_stop()) {
		u64 upto;
		int ret;

		if (READ_ONCE(conn->state) != VDIFS_CONN_UP) {
			ret = conn->trans->connect(conn);
			if (!ret) {
				ret = vdifs_conn_handshake(conn);
				if (ret) {
					mutex_lock(&conn->send_lock);
					conn->trans->close(conn);
					mutex_unlock(&conn->send_lock);
					pr_warn_ratelimited("vdifs: %s: handshake failed (%d)\n",
							    conn->name, ret);
				}
			}
			if (ret) {
				bool ds = conn != conn->sbi->mds;

				conn->failures++;
				wake_up_all(&conn->state_wait);
				/*
				 * A data server that cannot be reached fails
				 * what waits for it now: the data path asks
				 * the MDS and goes on elsewhere or waits.  The
				 * MDS's callers wait for it, up to timeo.
				 */
				vdifs_conn_fail_pending(conn, ds,
					ds ? -ECONNREFUSED :
					     vdifs_conn_timeout_err(conn));
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
			/* ids up to here were in flight: ours to (re)send */
			xa_lock(&conn->reqs);
			if (conn->state != VDIFS_CONN_CLOSING)
				WRITE_ONCE(conn->state, VDIFS_CONN_UP);
			upto = conn->next_id;
			xa_unlock(&conn->reqs);
			wake_up_all(&conn->state_wait);
			vdifs_conn_resend(conn, upto);
			continue;
		}
		ret = vdifs_conn_receive(conn);
		if (ret) {
			if (kthread_should_stop())
				break;
			pr_warn_ratelimited("vdifs: %s: connection lost (%d), reconnecting\n",
					    conn->name, ret);
			vdifs_conn_lost(conn);
		}
	}
	return 0;
}

bool vdifs_in_receive_thread(void)
{
	return (current->flags & PF_KTHREAD) &&
	       kthread_func(current) == (void *)vdifs_conn_thread;
}

struct vdifs_conn *vdifs_conn_create(struct vdifs_sb_info *sbi,
				     const struct sockaddr_storage *addr,
				     const char *name)
{
	struct vdifs_conn *conn;
	long ret;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return ERR_PTR(-ENOMEM);
	conn->scratch = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!conn->scratch) {
		ret = -ENOMEM;
		goto out_free_conn;
	}
	kref_init(&conn->ref);
	conn->sbi = sbi;
	conn->addr = *addr;
	strscpy(conn->name, name, sizeof(conn->name));
	conn->trans = &vdifs_trans_tcp;
	mutex_init(&conn->send_lock);
	xa_init(&conn->reqs);
	conn->window = VDIFS_CONN_WINDOW;
	init_waitqueue_head(&conn->state_wait);
	init_waitqueue_head(&conn->window_wait);
	conn->state = VDIFS_CONN_DOWN;
	conn->thread = kthread_run(vdifs_conn_thread, conn, "vdifs-%s", name);
	if (IS_ERR(conn->thread)) {
		ret = PTR_ERR(conn->thread);
		goto out_free_scratch;
	}
	return conn;

out_free_scratch:
	kfree(conn->scratch);
out_free_conn:
	kfree(conn);
	return ERR_PTR(ret);
}

int vdifs_conn_wait_up(struct vdifs_conn *conn, unsigned int timeout_ms)
{
	long left;

	left = wait_event_interruptible_timeout(conn->state_wait,
		READ_ONCE(conn->state) == VDIFS_CONN_UP || conn->failures,
		msecs_to_jiffies(timeout_ms));
	if (left < 0)
		return left;
	if (READ_ONCE(conn->state) == VDIFS_CONN_UP)
		return 0;
	return left ? -ECONNREFUSED : -ETIMEDOUT;
}

/* the last reference: stop the thread, fail what is left; sleeps */
static void vdifs_conn_release(struct kref *ref)
{
	struct vdifs_conn *conn = container_of(ref, struct vdifs_conn, ref);

	xa_lock(&conn->reqs);
	WRITE_ONCE(conn->state, VDIFS_CONN_CLOSING);
	xa_unlock(&conn->reqs);
	mutex_lock(&conn->send_lock);
	if (conn->sock)
		conn->trans->shutdown(conn);
	mutex_unlock(&conn->send_lock);
	wake_up_all(&conn->state_wait);
	wake_up_all(&conn->window_wait);
	kthread_stop(conn->thread);
	conn->trans->close(conn);
	vdifs_conn_fail_pending(conn, true, -ESHUTDOWN);
	xa_destroy(&conn->reqs);
	kfree(conn->scratch);
	kfree_rcu(conn, rcu);
}

void vdifs_conn_put(struct vdifs_conn *conn)
{
	if (!IS_ERR_OR_NULL(conn))
		kref_put(&conn->ref, vdifs_conn_release);
}

/* requests that outlive their deadline fail even if the server is up */
void vdifs_conn_fail_all(struct vdifs_conn *conn, int status)
{
	vdifs_conn_fail_pending(conn, true, status);
}

void vdifs_conn_tick(struct vdifs_conn *conn)
{
	vdifs_conn_fail_pending(conn, false, vdifs_conn_timeout_err(conn));
}
