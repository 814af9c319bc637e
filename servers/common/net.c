// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets and framed messages for userspace vdifs programs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "msg.h"

/* monotonic milliseconds: the servers' one clock for deadlines and ages */
long long net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* wait (poll) until fd is readable by deadline (0: block in read) */
static int net_wait_readable(int fd, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long left;
	int r;

	if (!deadline)
		return 0;
	for (;;) {
		left = deadline - net_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int net_read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? 0 : net_now_ms() + timeout_ms;
	u8 *p = buf;

	while (len) {
		ssize_t n;
		int ret = net_wait_readable(fd, deadline);

		if (ret)
			return ret;
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ECONNRESET ? -ECONNRESET : -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int net_write_full(int fd, const void *buf, size_t len)
{
	const u8 *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int msg_read(int fd, struct vdc_msg *m, int timeout_ms)
{
	return msg_read_max(fd, m, timeout_ms, VDIFS_BODY_MAX);
}

int msg_read_max(int fd, struct vdc_msg *m, int timeout_ms, u32 max_body)
{
	/* a buffer of a header: nothing read beyond the message */
	u8 hdr[sizeof(struct vdifs_msg_hdr)];
	struct net_rbuf rb = { .buf = hdr, .cap = sizeof(hdr) };

	return msg_read_buffered(fd, &rb, m, timeout_ms, max_body);
}

/*
 * The buffered reader.  A server's connection reader took a message in
 * two read()s (header, body) and then asked FIONREAD whether another
 * followed: three system calls per request, a tenth of a data server's
 * CPU per 4 KiB write.  Reading into a buffer takes a small request, and
 * often the ones pipelined behind it, in one; a large body's remainder
 * still goes straight to its own buffer.
 */
int net_rbuf_init(struct net_rbuf *rb, u32 cap)
{
	memset(rb, 0, sizeof(*rb));
	rb->buf = malloc(cap);
	if (!rb->buf)
		return -ENOMEM;
	rb->cap = cap;
	return 0;
}

void net_rbuf_free(struct net_rbuf *rb)
{
	free(rb->buf);
	rb->buf = NULL;
}

/* have at least need (<= cap) unread bytes in rb */
static int rbuf_fill(int fd, struct net_rbuf *rb, u32 need,
		     long long deadline)
{
	while (rb->tail - rb->head < need) {
		ssize_t n;
		int ret;

		if (rb->cap - rb->head < need) {
			memmove(rb->buf, rb->buf + rb->head,
				rb->tail - rb->head);
			rb->tail -= rb->head;
			rb->head = 0;
		}
		ret = net_wait_readable(fd, deadline);
		if (ret)
			return ret;
		n = read(fd, rb->buf + rb->tail, rb->cap - rb->tail);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		rb->tail += (u32)n;
	}
	return 0;
}

int msg_read_buffered(int fd, struct net_rbuf *rb, struct vdc_msg *m,
		      int timeout_ms, u32 max_body)
{
	long long deadline = timeout_ms < 0 ? 0 : net_now_ms() + timeout_ms;
	struct vdifs_msg_hdr hdr;
	u32 have;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = rbuf_fill(fd, rb, (u32)sizeof(hdr), deadline);
	if (ret)
		return ret;
	/* decoded where it is aligned: rb holds it at any offset */
	memcpy(&hdr, rb->buf + rb->head, sizeof(hdr));
	ret = wire_hdr_decode(&hdr, &m->hdr);
	if (ret)
		return ret;
	rb->head += (u32)sizeof(hdr);
	if (m->hdr.body_len > max_body)
		return -EMSGSIZE;
	/* +1 so that an empty body still gets a buffer to point at */
	m->buf = malloc(m->hdr.body_len + 1);
	if (!m->buf)
		return -ENOMEM;
	have = rb->tail - rb->head;
	if (have > m->hdr.body_len)
		have = m->hdr.body_len;
	memcpy(m->buf, rb->buf + rb->head, have);
	rb->head += have;
	if (rb->head == rb->tail)
		rb->head = rb->tail = 0;
	if (have < m->hdr.body_len) {
		long long left = deadline ? deadline - net_now_ms() : -1;

		if (deadline && left <= 0)
			ret = -ETIMEDOUT;
		else
			ret = net_read_full(fd, m->buf + have,
					    m->hdr.body_len - have, (int)left);
	}
	if (!ret)
		ret = wire_body_check_csum(&m->hdr, m->buf);
	if (ret) {
		free(m->buf);
		m->buf = NULL;
	}
	return ret;
}

/* what waits on fd into rb's room (what rb holds moved to its start) */
static void rbuf_take_waiting(int fd, struct net_rbuf *rb)
{
	ssize_t n;

	if (rb->head) {
		memmove(rb->buf, rb->buf + rb->head, rb->tail - rb->head);
		rb->tail -= rb->head;
		rb->head = 0;
	}
	if (rb->tail == rb->cap)
		return;
	do {
		n = recv(fd, rb->buf + rb->tail, rb->cap - rb->tail,
			 MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	/* nothing yet; or closed, which the next read says */
	if (n > 0)
		rb->tail += (u32)n;
}

bool net_rbuf_idle(int fd, struct net_rbuf *rb)
{
	if (rb->tail > rb->head)
		return false;
	/* what has come is read at once: the check costs no extra call */
	rbuf_take_waiting(fd, rb);
	return rb->tail == rb->head;
}

/* a whole message (header and body) unread in rb? */
static bool rbuf_has_msg(const struct net_rbuf *rb)
{
	struct vdifs_msg_hdr hdr;
	u32 have = rb->tail - rb->head;

	if (have < sizeof(hdr))
		return false;
	memcpy(&hdr, rb->buf + rb->head, sizeof(hdr));
	return have - sizeof(hdr) >= (u64)le32_to_cpu(hdr.body_len);
}

bool net_rbuf_ready(int fd, struct net_rbuf *rb)
{
	if (rbuf_has_msg(rb))
		return true;
	/* one larger than rb has its body read directly: never whole here */
	rbuf_take_waiting(fd, rb);
	return rbuf_has_msg(rb);
}

/* send all of iov[0..n), through short writes; flags: MSG_MORE or 0 */
static int net_writev_full(int fd, struct iovec *iov, int n, int flags)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };

	while (mh.msg_iovlen) {
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL | flags);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		while (mh.msg_iovlen && (size_t)w >= mh.msg_iov->iov_len) {
			w -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (u8 *)mh.msg_iov->iov_base + w;
			mh.msg_iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * Small messages are encoded whole on the stack; a large one (data) goes
 * out as header + fixed part from the stack and its tails from where they
 * are, with the body checksum summed over the pieces: a 1 MiB read reply is
 * neither copied nor allocated.
 */
/*
 * A message's header into hbuf: body_len bytes of body, of which the
 * checksum covers the pieces given (all of them but for a block-summed
 * read's data, which its sums cover instead).
 */
static void msg_head(u8 *hbuf, u16 op, u16 flags, u64 req_id, s32 status,
		     u64 body_len, const void *fixed, u32 flen,
		     const void *t1, u32 l1, const void *t2, u32 l2)
{
	struct wire_hdr h = {
		.opcode = op, .flags = flags, .req_id = req_id,
		.status = status, .body_len = (u32)body_len,
	};
	struct wire_csum cs;

	wire_csum_init(&cs);
	wire_csum_update(&cs, fixed, flen);
	wire_csum_update(&cs, t1, l1);
	wire_csum_update(&cs, t2, l2);
	h.body_csum = wire_csum_final(&cs);
	wire_hdr_encode(hbuf, &h);
}

int msg_write(int fd, u16 op, u16 flags, u64 req_id, s32 status,
	      const void *fixed, u32 flen, const void *t1, u32 l1,
	      const void *t2, u32 l2)
{
	size_t cap = sizeof(struct vdifs_msg_hdr) + (size_t)flen + l1 + l2;
	u8 stackbuf[4096];
	struct iovec iov[3];
	u64 body = (u64)flen + l1 + l2;
	int n;

	if (cap <= sizeof(stackbuf)) {
		n = wire_msg_encode(stackbuf, cap, op, flags, req_id, status,
				    fixed, flen, t1, l1, t2, l2);
		return n < 0 ? n : net_write_full(fd, stackbuf, (size_t)n);
	}
	if (body > VDIFS_BODY_MAX ||
	    flen > sizeof(stackbuf) - sizeof(struct vdifs_msg_hdr))
		return -EMSGSIZE;
	if (flen)
		memcpy(stackbuf + sizeof(struct vdifs_msg_hdr), fixed, flen);
	msg_head(stackbuf, op, flags, req_id, status, body, fixed, flen, t1,
		 l1, t2, l2);
	n = 0;
	iov[n].iov_base = stackbuf;
	iov[n++].iov_len = sizeof(struct vdifs_msg_hdr) + flen;
	if (l1) {
		iov[n].iov_base = (void *)t1;
		iov[n++].iov_len = l1;
	}
	if (l2) {
		iov[n].iov_base = (void *)t2;
		iov[n++].iov_len = l2;
	}
	return net_writev_full(fd, iov, n, 0);
}

int msg_write_sums(int fd, u16 op, u64 req_id, const void *fixed, u32 flen,
		   const void *sums, u32 slen, const void *data, u32 dlen,
		   bool more)
{
	u8 stackbuf[sizeof(struct vdifs_msg_hdr) + 256];
	u64 body = (u64)flen + slen + dlen;
	struct iovec iov[3];
	int n = 0;

	if (body > VDIFS_BODY_MAX ||
	    flen > sizeof(stackbuf) - sizeof(struct vdifs_msg_hdr))
		return -EMSGSIZE;
	memcpy(stackbuf + sizeof(struct vdifs_msg_hdr), fixed, flen);
	msg_head(stackbuf, op, 0, req_id, 0, body, fixed, flen, sums, slen,
		 NULL, 0);
	iov[n].iov_base = stackbuf;
	iov[n++].iov_len = sizeof(struct vdifs_msg_hdr) + flen;
	if (slen) {
		iov[n].iov_base = (void *)sums;
		iov[n++].iov_len = slen;
	}
	if (dlen) {
		iov[n].iov_base = (void *)data;
		iov[n++].iov_len = dlen;
	}
	return net_writev_full(fd, iov, n, more ? MSG_MORE : 0);
}

/* turning TCP_NODELAY on sends what is pending (tcp(7)), even if on */
int net_push(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		return -errno;
	return 0;
}

/* len zeroes; more: further bytes of the message follow */
static int net_write_zeroes(int fd, u64 len, bool more)
{
	static const u8 zero[64 << 10];

	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
		ssize_t w = send(fd, zero, n, MSG_NOSIGNAL |
				 (more || n < len ? MSG_MORE : 0));

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		len -= (u64)w;
	}
	return 0;
}

/* a file's bytes by reference; what the file lacks as zeroes */
static int net_write_file(int fd, int from, u64 off, u64 len, bool more)
{
	while (len) {
		off_t o = (off_t)off;
		ssize_t w = sendfile(fd, from, &o, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (!w)
			return net_write_zeroes(fd, len, more);
		off += (u64)w;
		len -= (u64)w;
	}
	return 0;
}

int msg_write_segs(int fd, u16 op, u16 flags, u64 req_id,
		   const void *fixed, u32 flen, const void *t1, u32 l1,
		   const struct msg_seg *segs, u32 nseg, u32 dlen)
{
	u8 hbuf[sizeof(struct vdifs_msg_hdr)];
	u64 body = (u64)flen + l1 + dlen, left = dlen;
	struct iovec iov[3] = {
		{ hbuf, sizeof(hbuf) }, { (void *)fixed, flen },
		{ (void *)t1, l1 },
	};
	u32 i;
	int ret = 0;

	if (body > VDIFS_BODY_MAX)
		return -EMSGSIZE;
	msg_head(hbuf, op, flags, req_id, 0, body, fixed, flen, t1, l1, NULL,
		 0);
	ret = net_writev_full(fd, iov, l1 ? 3 : 2, dlen ? MSG_MORE : 0);
	for (i = 0; i < nseg && !ret && left; i++) {
		u64 n = segs[i].len < left ? segs[i].len : left;

		left -= n;
		ret = segs[i].fd < 0 ? net_write_zeroes(fd, n, left) :
		      net_write_file(fd, segs[i].fd, segs[i].off, n, left);
	}
	if (!ret && left)	/* segments short of dlen: keep the framing */
		ret = net_write_zeroes(fd, left, false);
	return ret;
}

void vdc_msg_free(struct vdc_msg *m)
{
	free(m->buf);
	m->buf = NULL;
}

int vdc_parse_addr(const char *s, struct sockaddr_storage *ss,
		   unsigned int *len)
{
	char host[256];
	const char *port, *hend;
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	int ret;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		hend = strchr(s, ']');
		if (!hend || hend[1] != ':')
			return -EINVAL;
		s++;
		port = hend + 2;
	} else {
		hend = strrchr(s, ':');
		if (!hend)
			return -EINVAL;
		port = hend + 1;
	}
	if ((size_t)(hend - s) >= sizeof(host) || !*port)
		return -EINVAL;
	memcpy(host, s, (size_t)(hend - s));
	host[hend - s] = '\0';
	{
		char *end;
		long p = strtol(port, &end, 10);

		if (*end || p < 0 || p > 65535)
			return -EINVAL;
	}
	hints.ai_flags = AI_NUMERICSERV;
	ret = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (ret)
		return ret == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int vdc_addr_to_wire(const struct sockaddr_storage *ss, struct vdifs_addr *w)
{
	memset(w, 0, sizeof(*w));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		w->family = VDIFS_AF_INET;
		w->port = cpu_to_le16(ntohs(sin->sin_port));
		memcpy(w->addr, &sin->sin_addr, 4);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		w->family = VDIFS_AF_INET6;
		w->port = cpu_to_le16(ntohs(sin6->sin6_port));
		memcpy(w->addr, &sin6->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

void vdc_addr_format(const struct vdifs_addr *w, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (w->family == VDIFS_AF_INET) {
		inet_ntop(AF_INET, w->addr, a, sizeof(a));
		snprintf(buf, cap, "%s:%u", a, le16_to_cpu(w->port));
	} else if (w->family == VDIFS_AF_INET6) {
		inet_ntop(AF_INET6, w->addr, a, sizeof(a));
		snprintf(buf, cap, "[%s]:%u", a, le16_to_cpu(w->port));
	} else {
		snprintf(buf, cap, "?");
	}
}

int net_listen(const char *addr, int *port)
{
	struct sockaddr_storage ss;
	unsigned int len;
	int fd, one = 1, ret;

	ret = vdc_parse_addr(addr, &ss, &len);
	if (ret)
		return ret;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*port = ntohs(ss.ss_family == AF_INET ?
		      ((struct sockaddr_in *)&ss)->sin_port :
		      ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

int net_connect(const char *addr, int timeout_ms)
{
	struct sockaddr_storage ss;
	unsigned int len;
	struct pollfd pfd;
	int fd, ret, err = 0, one = 1, fl;
	socklen_t elen = sizeof(err);

	ret = vdc_parse_addr(addr, &ss, &len);
	if (ret)
		return ret;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
		ret = -errno;
		goto out_close;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	ret = poll(&pfd, 1, timeout_ms);
	if (ret == 0) {
		ret = -ETIMEDOUT;
		goto out_close;
	}
	if (ret < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err) {
		ret = err ? -err : -errno;
		goto out_close;
	}
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;

out_close:
	close(fd);
	return ret;
}

int net_write_port_file(const char *path, int port)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", port);
	if (fclose(f))
		return -errno;
	return rename(tmp, path) ? -errno : 0;
}
