// SPDX-License-Identifier: GPL-2.0
/*
 * Connection admission and socket limits for the servers.
 *
 * A connection costs a thread and its buffers, so a peer that opens them
 * by the thousand (or only sends HELLO and waits) must hit a limit before
 * the server runs out of either: one for the whole server and a lower one
 * per address, so that one host cannot take every slot from the others.
 * Over a limit the connection is closed at once, before a byte of it is
 * read.  Refusals are logged at most once a second: a flood must not
 * become a flood of log lines too.
 *
 * A peer that stops reading its replies would hold the thread that sends
 * to it for good: SO_SNDTIMEO bounds each send, after which the
 * connection is dropped.  A peer that vanishes (power cut, cable pulled)
 * leaves no FIN behind: TCP keepalive finds it after keepalive seconds
 * plus three probes ten seconds apart.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "connlimit.h"
#include "log.h"

struct srv_peer_count {
	unsigned char addr[16];	/* IPv4 in the first 4 bytes */
	uint32_t n;
};

void srv_limits_init(struct srv_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_conns = SRV_MAX_CONNS_DEFAULT;
	l->max_conns_peer = SRV_MAX_CONNS_PEER_DEFAULT;
	l->send_timeout_s = SRV_SEND_TIMEOUT_DEFAULT;
	l->keepalive_s = SRV_KEEPALIVE_DEFAULT;
	pthread_mutex_init(&l->lock, NULL);
}

/* the address without its port; a port's worth of peers is one peer */
static void peer_key(const struct sockaddr_storage *ss, unsigned char k[16])
{
	memset(k, 0, 16);
	if (ss->ss_family == AF_INET)
		memcpy(k, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(k, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

/* under l->lock; NULL if the address has no connection (add: make one) */
static struct srv_peer_count *peer_find(struct srv_limits *l,
					const unsigned char k[16], int add)
{
	struct srv_peer_count *p;
	uint32_t i;

	for (i = 0; i < l->npeers; i++)
		if (!memcmp(l->peers[i].addr, k, 16))
			return &l->peers[i];
	if (!add)
		return NULL;
	if (l->npeers == l->cap) {
		uint32_t cap = l->cap ? 2 * l->cap : 16;

		p = realloc(l->peers, cap * sizeof(*p));
		if (!p)
			return NULL;
		l->peers = p;
		l->cap = cap;
	}
	p = &l->peers[l->npeers++];
	memcpy(p->addr, k, 16);
	p->n = 0;
	return p;
}

/* at most one line a second of each kind */
static int log_allowed(time_t *last)
{
	time_t now = time(NULL);

	if (now == *last)
		return 0;
	*last = now;
	return 1;
}

static void set_options(const struct srv_limits *l, int fd)
{
	struct timeval tv = { .tv_sec = l->send_timeout_s };
	int one = 1, idle = (int)l->keepalive_s, intvl = 10, cnt = 3;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

int srv_accept(struct srv_limits *l, int lfd, struct sockaddr_storage *ss)
{
	static time_t last_fd, last_refused;
	socklen_t sl = sizeof(*ss);
	struct srv_peer_count *p;
	unsigned char k[16];
	const char *why = NULL;
	char host[INET6_ADDRSTRLEN] = "?";
	int fd, err;

	fd = accept4(lfd, (struct sockaddr *)ss, &sl, SOCK_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
		    err == ENOMEM) {
			/* the connection waits in the backlog: pause, not spin */
			if (log_allowed(&last_fd))
				log_warn("cannot accept: %s", strerror(err));
			usleep(100 * 1000);
		}
		return -EAGAIN;
	}
	peer_key(ss, k);
	pthread_mutex_lock(&l->lock);
	p = peer_find(l, k, 1);
	if (!p)
		why = "out of memory";
	else if (l->conns >= l->max_conns)
		why = "the server's connection limit (max_conns)";
	else if (p->n >= l->max_conns_peer)
		why = "its address's connection limit (max_conns_per_peer)";
	if (!why) {
		l->conns++;
		p->n++;
	} else if (p && !p->n) {
		*p = l->peers[--l->npeers];	/* made for nothing */
	}
	if (why && log_allowed(&last_refused)) {
		if (ss->ss_family == AF_INET)
			inet_ntop(AF_INET, k, host, sizeof(host));
		else if (ss->ss_family == AF_INET6)
			inet_ntop(AF_INET6, k, host, sizeof(host));
		log_warn("refusing a connection from %s: %s", host, why);
	}
	pthread_mutex_unlock(&l->lock);
	if (why) {
		close(fd);
		return -EUSERS;
	}
	set_options(l, fd);
	return fd;
}

void srv_release(struct srv_limits *l, const struct sockaddr_storage *ss)
{
	struct srv_peer_count *p;
	unsigned char k[16];

	peer_key(ss, k);
	pthread_mutex_lock(&l->lock);
	p = peer_find(l, k, 0);
	if (p && !--p->n)
		*p = l->peers[--l->npeers];
	if (l->conns)
		l->conns--;
	pthread_mutex_unlock(&l->lock);
}
