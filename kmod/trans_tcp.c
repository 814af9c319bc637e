// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs TCP transport: in-kernel sockets for one connection.
 */
#include <linux/net.h>
#include <linux/tcp.h>
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

static int vdifs_tcp_send(struct vdifs_conn *conn, const void *buf,
			  size_t len)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec iov;
	unsigned int nofs;
	int ret = 0;

	nofs = memalloc_nofs_save();
	while (len) {
		iov.iov_base = (void *)buf;
		iov.iov_len = len;
		ret = kernel_sendmsg(conn->sock, &msg, &iov, 1, len);
		if (ret <= 0) {
			ret = ret ? ret : -ECONNRESET;
			break;
		}
		buf += ret;
		len -= ret;
		ret = 0;
	}
	memalloc_nofs_restore(nofs);
	return ret;
}

static int vdifs_tcp_recv(struct vdifs_conn *conn, void *buf, size_t len)
{
	struct msghdr msg = { .msg_flags = MSG_WAITALL | MSG_NOSIGNAL };
	struct kvec iov;
	unsigned int nofs;
	int ret = 0;

	nofs = memalloc_nofs_save();
	while (len) {
		iov.iov_base = buf;
		iov.iov_len = len;
		ret = kernel_recvmsg(conn->sock, &msg, &iov, 1, len,
				     msg.msg_flags);
		if (ret <= 0) {
			ret = ret ? ret : -ECONNRESET;
			break;
		}
		buf += ret;
		len -= ret;
		ret = 0;
	}
	memalloc_nofs_restore(nofs);
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
