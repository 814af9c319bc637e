/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What one peer may take of a server: connections in all and from one
 * address, how long a peer that stops reading may hold a sending thread,
 * and how soon a peer that vanished is noticed (TCP keepalive).  Shared by
 * vdifs-mds and vdifs-ds, which accept the same way.
 */
#ifndef _VDIFS_CONNLIMIT_H
#define _VDIFS_CONNLIMIT_H

#include <pthread.h>
#include <sys/socket.h>
#include "cfg.h"

#define SRV_MAX_CONNS_DEFAULT		4096u
#define SRV_MAX_CONNS_PEER_DEFAULT	256u
#define SRV_SEND_TIMEOUT_DEFAULT	60u	/* seconds */
#define SRV_KEEPALIVE_DEFAULT		30u	/* seconds idle before probes */

struct srv_peer_count;

struct srv_limits {
	/* settings (cfg) */
	uint32_t max_conns;
	uint32_t max_conns_peer;
	uint32_t send_timeout_s;
	uint32_t keepalive_s;
	/* lock guards the counts below; taken for an accept and a close */
	pthread_mutex_t lock;
	uint32_t conns;
	struct srv_peer_count *peers;	/* addresses with connections */
	uint32_t npeers, cap;
};

#define CFG_SERVER_LIMIT_ITEMS(l)					\
	{ .key = "max_conns", .flag = "max-conns", .type = CFG_U32,	\
	  .dst = &(l)->max_conns, .min = 1, .max = 1u << 20,		\
	  .help = "connections in all (default 4096)" },		\
	{ .key = "max_conns_per_peer", .flag = "max-conns-per-peer",	\
	  .type = CFG_U32, .dst = &(l)->max_conns_peer, .min = 1,	\
	  .max = 1u << 20,						\
	  .help = "connections from one address (default 256)" },	\
	{ .key = "send_timeout", .flag = "send-timeout",		\
	  .type = CFG_U32, .dst = &(l)->send_timeout_s, .min = 1,	\
	  .max = 3600,							\
	  .help = "seconds a peer may not read before it is dropped (default 60)" }, \
	{ .key = "keepalive", .flag = "keepalive", .type = CFG_U32,	\
	  .dst = &(l)->keepalive_s, .min = 1, .max = 7200,		\
	  .help = "idle seconds before a silent peer is probed (default 30)" }

/* defaults in, before cfg_parse */
void srv_limits_init(struct srv_limits *l);

/*
 * Accept one connection from lfd (which poll said is readable), counted
 * against the limits and with the socket options set: its fd, or -errno
 * (-EAGAIN: nothing to take, or out of descriptors, after a pause so the
 * loop does not spin; -EUSERS: over a limit, closed and logged).  *ss
 * gets the peer's address, to give srv_release() when it closes.
 */
int srv_accept(struct srv_limits *l, int lfd, struct sockaddr_storage *ss);
void srv_release(struct srv_limits *l, const struct sockaddr_storage *ss);

#endif
