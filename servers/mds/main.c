// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds: configuration, listener, connections and dispatch.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "mds.h"
#include "cfg.h"
#include "msg.h"
#include "srv.h"

static volatile sig_atomic_t mds_stop;

long long mds_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

s64 mds_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (s64)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int reply_tail_reserve(struct mds_reply *r, u32 cap)
{
	u8 *p;

	if (cap <= r->tcap)
		return 0;
	p = realloc(r->tail, cap);
	if (!p)
		return -ENOMEM;
	r->tail = p;
	r->tcap = cap;
	return 0;
}

/* ---- configuration ---- */

static int cfg_load(struct mds_config *cfg, int argc, char **argv)
{
	const struct cfg_item items[] = {
		{ .key = "listen", .flag = "listen", .type = CFG_STR,
		  .dst = cfg->listen, .cap = sizeof(cfg->listen),
		  .help = "ADDR:PORT to serve (default " MDS_DEFAULT_LISTEN ")" },
		{ .key = "data", .flag = "data", .type = CFG_STR,
		  .dst = cfg->data, .cap = sizeof(cfg->data),
		  .help = "state directory (default ./" MDS_DEFAULT_DATA ")" },
		{ .key = "key", .flag = "key", .type = CFG_KEY, .dst = cfg->key,
		  .cap = sizeof(cfg->key), .key_len = &cfg->key_len,
		  .help = "shared authentication key, hex" },
		{ .key = "key_file", .flag = "key-file", .type = CFG_KEYFILE,
		  .dst = cfg->key, .cap = sizeof(cfg->key),
		  .key_len = &cfg->key_len,
		  .help = "read the key (hex) from a file" },
		{ .key = "heartbeat_ms", .flag = "heartbeat-ms",
		  .type = CFG_U32, .dst = &cfg->heartbeat_ms, .min = 10,
		  .max = 600000,
		  .help = "heartbeat interval told to members (default 1000)" },
		{ .key = "lease_ms", .flag = "lease-ms", .type = CFG_U32,
		  .dst = &cfg->lease_ms, .min = 50, .max = 3600000,
		  .help = "a member unheard this long is down (default 5000)" },
		{ .key = "map_size_mb", .type = CFG_MB, .dst = &cfg->map_size,
		  .min = 16, .max = 1 << 24 },
		{ .key = "default_replicas", .type = CFG_U8,
		  .dst = &cfg->default_replicas, .min = 1,
		  .max = VDIFS_MAX_REPLICAS },
		{ .flag = "port-file", .type = CFG_STR, .dst = cfg->port_file,
		  .cap = sizeof(cfg->port_file),
		  .help = "write the bound port here once listening" },
		{ .key = "log_level", .type = CFG_LEVEL, .dst = &cfg->log_level },
		{ .flag = "verbose", .short_opt = 'v', .type = CFG_FLAG,
		  .dst = &cfg->log_level, .max = LOG_DEBUG_L,
		  .help = "debug logging" },
		{ 0 }
	};
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->listen, MDS_DEFAULT_LISTEN);
	strcpy(cfg->data, MDS_DEFAULT_DATA);
	cfg->heartbeat_ms = 1000;
	cfg->lease_ms = 5000;
	cfg->map_size = 4ull << 30;
	cfg->default_replicas = 1;
	cfg->log_level = LOG_INFO_L;

	ret = cfg_parse("vdifs-mds",
			"The vdifs metadata server: namespace, volumes, chunk layouts,\n"
			"data-server and client membership, with its state in LMDB.",
			items, argc, argv);
	if (ret)
		return ret;
	if (cfg->lease_ms <= cfg->heartbeat_ms) {
		fprintf(stderr, "vdifs-mds: lease (%u ms) must be longer than the heartbeat (%u ms)\n",
			cfg->lease_ms, cfg->heartbeat_ms);
		return -1;
	}
	return 0;
}

/* ---- connections ---- */

struct mds_thread_arg {
	struct mds *m;
	int fd;
	char peer[64];
};

static int op_hello(struct mds *m, struct mds_conn *c,
		    const struct wire_body *b, struct mds_reply *r)
{
	int ret = srv_hello(&c->auth, m->cfg.key_len, m->epoch, b,
			    (struct vdifs_hello_rep *)r->fixed);

	if (!ret) {
		r->flen = sizeof(struct vdifs_hello_rep);
		log_debug("%s: HELLO role %u name '%.*s'", c->peer,
			  c->auth.role, (int)b->tail_len[0],
			  (const char *)b->tail[0]);
	}
	return ret;
}

static int dispatch(struct mds *m, struct mds_conn *c, u16 op,
		    const struct wire_body *b, struct mds_reply *r)
{
	const struct mds_op *o = NULL;
	MDB_txn *t = NULL;
	int rc, ret;

	if (op == VDIFS_OP_HELLO)
		return op_hello(m, c, b, r);
	if (op == VDIFS_OP_AUTH) {
		ret = srv_auth(&c->auth, m->cfg.key, m->cfg.key_len, b,
			       (struct vdifs_auth_rep *)r->fixed);
		if (!ret)
			r->flen = sizeof(struct vdifs_auth_rep);
		return ret;
	}
	ret = srv_gate(&c->auth);
	if (ret)
		return ret;
	if (ns_ops[op].fn)
		o = &ns_ops[op];
	else if (member_ops[op].fn)
		o = &member_ops[op];
	else if (snap_ops[op].fn)
		o = &snap_ops[op];
	if (!o)
		return -EOPNOTSUPP;
	if (o->txn == MDS_TXN_NONE)
		return o->fn(m, c, NULL, b, r);
	rc = mdb_txn_begin(m->db.env, NULL,
			   o->txn == MDS_TXN_READ ? MDB_RDONLY : 0, &t);
	if (rc)
		return db_err(rc);
	ret = o->fn(m, c, t, b, r);
	if (ret || o->txn == MDS_TXN_READ) {
		mdb_txn_abort(t);
		return ret;
	}
	/* durable before the reply: LMDB syncs on commit */
	return db_err(mdb_txn_commit(t));
}

static void *conn_thread(void *arg)
{
	struct mds_thread_arg *a = arg;
	struct mds *m = a->m;
	struct mds_conn c = { .fd = a->fd };
	struct mds_reply r = { 0 };
	int ret;

	snprintf(c.peer, sizeof(c.peer), "%s", a->peer);
	free(a);
	log_debug("%s: connected", c.peer);
	for (;;) {
		struct vdc_msg msg;
		struct wire_body body;
		u16 op;

		/* an idle peer that never said HELLO is not kept around */
		ret = msg_read(c.fd, &msg, c.auth.hello ? -1 : 30000);
		if (ret) {
			if (ret != -ECONNRESET)
				log_warn("%s: closing: %s", c.peer,
					 strerror(-ret));
			break;
		}
		op = msg.hdr.opcode;
		if (msg.hdr.flags & VDIFS_MSG_REPLY) {
			log_warn("%s: closing: unsolicited reply", c.peer);
			vdc_msg_free(&msg);
			break;
		}
		r.flen = 0;
		r.tlen = 0;
		ret = wire_body_decode(op, false, 0, msg.buf, msg.hdr.body_len,
				       &body);
		if (ret)
			log_warn("%s: %s: bad request: %s", c.peer,
				 wire_op_name(op), strerror(-ret));
		else
			ret = dispatch(m, &c, op, &body, &r);
		vdc_msg_free(&msg);
		if (ret) {
			log_debug("%s: %s -> %s", c.peer, wire_op_name(op),
				  strerror(-ret));
			r.flen = 0;
			r.tlen = 0;
		}
		if (msg_write(c.fd, op, VDIFS_MSG_REPLY, msg.hdr.req_id, ret,
			      r.fixed, r.flen, r.tail, r.tlen, NULL, 0))
			break;
		if (srv_fatal(op, ret)) {
			log_warn("%s: closing after %s: %s", c.peer,
				 wire_op_name(op), strerror(-ret));
			break;
		}
	}
	free(r.tail);
	close(c.fd);
	return NULL;
}

static void on_signal(int sig)
{
	mds_stop = 1;
}


int main(int argc, char **argv)
{
	static struct mds m;	/* large: membership tables */
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_attr_t attr;
	int lfd, port, ret;

	ret = cfg_load(&m.cfg, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;
	log_init("vdifs-mds", m.cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	pthread_mutex_init(&m.lock, NULL);
	if (getrandom(&m.epoch, sizeof(m.epoch), 0) != sizeof(m.epoch))
		m.epoch = (u64)time(NULL);

	ret = db_open(&m.db, m.cfg.data, m.cfg.map_size);
	if (ret) {
		log_err("cannot open state in %s: %s", m.cfg.data,
			strerror(-ret));
		return 1;
	}
	ret = mds_chunk_id_init(&m);
	if (!ret)
		ret = member_load(&m);
	if (ret) {
		log_err("cannot load membership: %s", strerror(-ret));
		goto out_db;
	}
	lfd = net_listen(m.cfg.listen, &port);
	if (lfd < 0) {
		log_err("cannot listen on %s: %s", m.cfg.listen,
			strerror(-lfd));
		ret = lfd;
		goto out_db;
	}
	log_info("listening on %s (port %d), state in %s%s", m.cfg.listen,
		 port, m.cfg.data, m.cfg.key_len ? ", authentication on" : "");
	if (m.cfg.port_file[0]) {
		ret = net_write_port_file(m.cfg.port_file, port);
		if (ret) {
			log_err("cannot write %s: %s", m.cfg.port_file,
				strerror(-ret));
			goto out_listen;
		}
	}

	ret = gc_start(&m);
	if (ret)
		goto out_listen;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	while (!mds_stop) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct mds_thread_arg *a;
		struct vdifs_addr wa;
		pthread_t th;
		int fd, one = 1;

		if (poll(&pfd, 1, 500) <= 0)
			continue;
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		a = malloc(sizeof(*a));
		if (!a) {
			close(fd);
			continue;
		}
		a->m = &m;
		a->fd = fd;
		vdc_addr_to_wire(&ss, &wa);
		vdc_addr_format(&wa, a->peer, sizeof(a->peer));
		if (pthread_create(&th, &attr, conn_thread, a)) {
			log_warn("cannot start a thread for %s", a->peer);
			close(fd);
			free(a);
		}
	}
	log_info("stopping");
	ret = 0;
out_listen:
	close(lfd);
out_db:
	/*
	 * Connection threads may still be inside a transaction; every
	 * acknowledged change is already committed, so leave without
	 * closing the environment under them.
	 */
	return ret ? 1 : 0;
}
