// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs TCP transport: in-kernel sockets for one connection.
 */
#include <linux/net.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <linux/sched/mm.h>
#include <net/sock.h>
#include <net/tcp.h>
#include "internal.h"

static int vdifs_tcp_connect(struct vdifs_conn *conn)
{
	struct vdifs_sb_info *sbi = conn->sbi;
	struct socket *sock;
	int ret, len;

	ret = sock_create_kern(sbi->net, conn->addr.ss_family, SOCK_STREAM,
			       IPPROTO_TCP, &sock);
	if (ret)
		return ret;
	/* writeback sends on this socket: never recurse into the fs */
	sock->sk->sk_allocation = GFP_NOFS;
	sock->sk->sk_use_task_frag = false;
	sock->sk->sk_sndtimeo = msecs_to_jiffies(sbi->opts.timeo_ms);
	len = conn->addr.ss_family == AF_INET6 ?
		sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	ret = kernel_connect(sock, (struct sockaddr *)&conn->addr, len, 0);
	if (ret) {
		sock_release(sock);
		return ret;
	}
	tcp_sock_set_nodelay(sock->sk);
	conn->sock = sock;
	return 0;
}

static void vdifs_tcp_shutdown(struct vdifs_conn *conn)
{
	if (conn->sock)
		kernel_sock_shutdown(conn->sock, SHUT_RDWR);
}

static void vdifs_tcp_close(struct vdifs_conn *conn)
{
	if (conn->sock) {
		sock_release(conn->sock);
		conn->sock = NULL;
	}
}

/*
 * Send all of *from.  With MSG_SPLICE_PAGES the socket takes references
 * to the pages instead of copying them (as net/ceph and nfsd send
 * pages); the caller keeps the pages unchanged until the reply.
 */
static int vdifs_tcp_send(struct vdifs_conn *conn, struct iov_iter *from,
			  unsigned int flags)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL | flags };
	unsigned int nofs;
	int ret = 0;

	msg.msg_iter = *from;
	nofs = memalloc_nofs_save();
	while (msg_data_left(&msg)) {
		/* sock_sendmsg() advances msg_iter by what it took */
		ret = sock_sendmsg(conn->sock, &msg);
		if (ret <= 0) {
			ret = ret ? ret : -ECONNRESET;
			break;
		}
		ret = 0;
	}
	memalloc_nofs_restore(nofs);
	*from = msg.msg_iter;
	return ret;
}

/* fill all of *to, whatever kind of iterator: a buffer or the pages */
static int vdifs_tcp_recv(struct vdifs_conn *conn, struct iov_iter *to)
{
	struct msghdr msg = { .msg_flags = MSG_WAITALL | MSG_NOSIGNAL };
	unsigned int nofs;
	int ret = 0;

	msg.msg_iter = *to;
	nofs = memalloc_nofs_save();
	while (msg_data_left(&msg)) {
		ret = sock_recvmsg(conn->sock, &msg, msg.msg_flags);
		if (ret <= 0) {
			ret = ret ? ret : -ECONNRESET;
			break;
		}
		ret = 0;
	}
	memalloc_nofs_restore(nofs);
	*to = msg.msg_iter;
	return ret;
}

const struct vdifs_trans_ops vdifs_trans_tcp = {
	.name		= "tcp",
	.connect	= vdifs_tcp_connect,
	.shutdown	= vdifs_tcp_shutdown,
	.close		= vdifs_tcp_close,
	.send		= vdifs_tcp_send,
	.recv		= vdifs_tcp_recv,
};
