// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds: configuration, listener, connections and dispatch.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include <json-c/json.h>
#include <openssl/crypto.h>
#include "mds.h"
#include "msg.h"

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

static void usage(FILE *f)
{
	fprintf(f,
"usage: vdifs-mds [-c CONFIG.json] [options]\n"
"The vdifs metadata server: namespace, volumes, chunk layouts, data-server\n"
"and client membership, with its state in LMDB under the data directory.\n"
"\n"
"  -c, --config FILE      JSON configuration; flags below override it\n"
"      --listen ADDR:PORT address to serve (default " MDS_DEFAULT_LISTEN ")\n"
"      --data DIR         state directory (default ./" MDS_DEFAULT_DATA ")\n"
"      --key HEX          shared authentication key (hex)\n"
"      --key-file FILE    read the key (hex) from FILE\n"
"      --heartbeat-ms N   heartbeat interval told to members (default 1000)\n"
"      --lease-ms N       a member unheard this long is down (default 5000)\n"
"      --port-file FILE   write the bound port here once listening\n"
"  -v, --verbose          debug logging\n"
"  -h, --help             this text\n"
"\n"
"Config keys: listen, data, key, key_file, heartbeat_ms, lease_ms,\n"
"map_size_mb, default_replicas, log_level (error|warning|info|debug).\n");
}

static int cfg_key_file(struct mds_config *cfg, const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		fprintf(stderr, "vdifs-mds: key file %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (vdc_key_parse_hex(buf, cfg->key, sizeof(cfg->key), &cfg->key_len)) {
		fprintf(stderr, "vdifs-mds: key file %s: not 2-128 hex digits\n",
			path);
		return -1;
	}
	return 0;
}

static int cfg_key_hex(struct mds_config *cfg, const char *hex)
{
	if (vdc_key_parse_hex(hex, cfg->key, sizeof(cfg->key), &cfg->key_len)) {
		fprintf(stderr, "vdifs-mds: key: not 2-128 hex digits\n");
		return -1;
	}
	return 0;
}

static int cfg_uint(const char *what, const char *s, u64 min, u64 max,
		    u64 *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max || s[0] == '-') {
		fprintf(stderr, "vdifs-mds: %s: '%s' is not a number from %llu to %llu\n",
			what, s, (unsigned long long)min,
			(unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

static int cfg_str(const char *what, const char *s, char *dst, size_t cap)
{
	if (!*s || strlen(s) >= cap) {
		fprintf(stderr, "vdifs-mds: %s: empty or too long\n", what);
		return -1;
	}
	strcpy(dst, s);
	return 0;
}

static int cfg_level(const char *s, int *level)
{
	static const char * const names[] = { "error", "warning", "info",
					       "debug" };
	int i;

	for (i = 0; i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*level = i;
			return 0;
		}
	}
	fprintf(stderr, "vdifs-mds: log_level: '%s' is not error, warning, info or debug\n",
		s);
	return -1;
}

static int cfg_load_json(struct mds_config *cfg, const char *path)
{
	struct json_object *root;
	int ret = 0;
	u64 v;

	root = json_object_from_file(path);
	if (!root) {
		fprintf(stderr, "vdifs-mds: %s: %s\n", path,
			json_util_get_last_err());
		return -1;
	}
	if (!json_object_is_type(root, json_type_object)) {
		fprintf(stderr, "vdifs-mds: %s: not a JSON object\n", path);
		json_object_put(root);
		return -1;
	}
	json_object_object_foreach(root, key, val) {
		enum json_type ty = json_object_get_type(val);
		const char *s = json_object_get_string(val);
		char num[32];

		if (ty == json_type_int) {
			if (json_object_get_int64(val) < 0) {
				fprintf(stderr, "vdifs-mds: %s: %s must not be negative\n",
					path, key);
				ret = -1;
				break;
			}
			snprintf(num, sizeof(num), "%lld",
				 (long long)json_object_get_int64(val));
			s = num;
		}
		if (!strcmp(key, "listen") && ty == json_type_string)
			ret = cfg_str(key, s, cfg->listen, sizeof(cfg->listen));
		else if (!strcmp(key, "data") && ty == json_type_string)
			ret = cfg_str(key, s, cfg->data, sizeof(cfg->data));
		else if (!strcmp(key, "key") && ty == json_type_string)
			ret = cfg_key_hex(cfg, s);
		else if (!strcmp(key, "key_file") && ty == json_type_string)
			ret = cfg_key_file(cfg, s);
		else if (!strcmp(key, "heartbeat_ms") && ty == json_type_int)
			ret = cfg_uint(key, s, 10, 600000, &v) ?: (cfg->heartbeat_ms = (u32)v, 0);
		else if (!strcmp(key, "lease_ms") && ty == json_type_int)
			ret = cfg_uint(key, s, 50, 3600000, &v) ?: (cfg->lease_ms = (u32)v, 0);
		else if (!strcmp(key, "map_size_mb") && ty == json_type_int)
			ret = cfg_uint(key, s, 16, 1 << 24, &v) ?: (cfg->map_size = v << 20, 0);
		else if (!strcmp(key, "default_replicas") && ty == json_type_int)
			ret = cfg_uint(key, s, 1, VDIFS_MAX_REPLICAS, &v) ?: (cfg->default_replicas = (u8)v, 0);
		else if (!strcmp(key, "log_level") && ty == json_type_string)
			ret = cfg_level(s, &cfg->log_level);
		else if (!strcmp(key, "listen") || !strcmp(key, "data") ||
			 !strcmp(key, "key") || !strcmp(key, "key_file") ||
			 !strcmp(key, "heartbeat_ms") || !strcmp(key, "lease_ms") ||
			 !strcmp(key, "map_size_mb") || !strcmp(key, "default_replicas") ||
			 !strcmp(key, "log_level")) {
			fprintf(stderr, "vdifs-mds: %s: %s has the wrong type\n",
				path, key);
			ret = -1;
		} else {
			fprintf(stderr, "vdifs-mds: %s: unknown setting '%s'\n",
				path, key);
			ret = -1;
		}
		if (ret)
			break;
	}
	json_object_put(root);
	return ret;
}

static int cfg_parse(struct mds_config *cfg, int argc, char **argv)
{
	enum { O_LISTEN = 256, O_DATA, O_KEY, O_KEYFILE, O_HB, O_LEASE,
	       O_PORTFILE };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "data", required_argument, NULL, O_DATA },
		{ "key", required_argument, NULL, O_KEY },
		{ "key-file", required_argument, NULL, O_KEYFILE },
		{ "heartbeat-ms", required_argument, NULL, O_HB },
		{ "lease-ms", required_argument, NULL, O_LEASE },
		{ "port-file", required_argument, NULL, O_PORTFILE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *config = NULL;
	int c, i;
	u64 v;

	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->listen, MDS_DEFAULT_LISTEN);
	strcpy(cfg->data, MDS_DEFAULT_DATA);
	cfg->heartbeat_ms = 1000;
	cfg->lease_ms = 5000;
	cfg->map_size = 4ull << 30;
	cfg->default_replicas = 1;
	cfg->log_level = LOG_INFO_L;

	/* the config file first, so that flags override it */
	for (i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config"))
			config = argv[i + 1];
	}
	for (i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--config=", 9))
			config = argv[i] + 9;
	}
	if (config && cfg_load_json(cfg, config))
		return -1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			break;
		case O_LISTEN:
			if (cfg_str("--listen", optarg, cfg->listen,
				    sizeof(cfg->listen)))
				return -1;
			break;
		case O_DATA:
			if (cfg_str("--data", optarg, cfg->data,
				    sizeof(cfg->data)))
				return -1;
			break;
		case O_KEY:
			if (cfg_key_hex(cfg, optarg))
				return -1;
			break;
		case O_KEYFILE:
			if (cfg_key_file(cfg, optarg))
				return -1;
			break;
		case O_HB:
			if (cfg_uint("--heartbeat-ms", optarg, 10, 600000, &v))
				return -1;
			cfg->heartbeat_ms = (u32)v;
			break;
		case O_LEASE:
			if (cfg_uint("--lease-ms", optarg, 50, 3600000, &v))
				return -1;
			cfg->lease_ms = (u32)v;
			break;
		case O_PORTFILE:
			if (cfg_str("--port-file", optarg, cfg->port_file,
				    sizeof(cfg->port_file)))
				return -1;
			break;
		case 'v':
			cfg->log_level = LOG_DEBUG_L;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vdifs-mds: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
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
	const struct vdifs_hello_req *q = b->fixed;
	struct vdifs_hello_rep *rep = (void *)r->fixed;
	u32 vmin = le32_to_cpu(q->version_min), vmax = le32_to_cpu(q->version_max);
	u32 role = le32_to_cpu(q->role);

	if (c->hello)
		return -EPROTO;
	if (vmin > vmax || vmax < VDIFS_PROTO_VERSION_MIN ||
	    vmin > VDIFS_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	if (role < VDIFS_ROLE_CLIENT || role > VDIFS_ROLE_TOOL)
		return -EINVAL;
	c->hello = true;
	c->role = role;
	c->authed = m->cfg.key_len == 0;
	memcpy(c->cnonce, q->nonce, sizeof(c->cnonce));
	if (getrandom(c->snonce, sizeof(c->snonce), 0) != sizeof(c->snonce))
		return -EIO;
	memset(rep, 0, sizeof(*rep));
	rep->version = cpu_to_le32(vmax < VDIFS_PROTO_VERSION ? vmax :
				   VDIFS_PROTO_VERSION);
	rep->auth_required = cpu_to_le32(!c->authed);
	rep->features = cpu_to_le64(le64_to_cpu(q->features) & VDIFS_FEAT_ALL);
	memcpy(rep->nonce, c->snonce, sizeof(rep->nonce));
	rep->server_epoch = cpu_to_le64(m->epoch);
	r->flen = sizeof(*rep);
	log_debug("%s: HELLO role %u name '%.*s'", c->peer, role,
		  (int)b->tail_len[0], (const char *)b->tail[0]);
	return 0;
}

static int op_auth(struct mds *m, struct mds_conn *c,
		   const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_auth_req *q = b->fixed;
	struct vdifs_auth_rep *rep = (void *)r->fixed;
	u8 mac[VDIFS_MAC_LEN];

	if (!c->hello || !m->cfg.key_len || c->authed)
		return -EPROTO;
	vdc_auth_mac(m->cfg.key, m->cfg.key_len, "vdifs-c", c->cnonce,
		     c->snonce, mac);
	if (CRYPTO_memcmp(mac, q->mac, sizeof(mac)))
		return -EACCES;
	c->authed = true;
	vdc_auth_mac(m->cfg.key, m->cfg.key_len, "vdifs-s", c->snonce,
		     c->cnonce, rep->mac);
	r->flen = sizeof(*rep);
	return 0;
}

static int dispatch(struct mds *m, struct mds_conn *c, u16 op,
		    const struct wire_body *b, struct mds_reply *r)
{
	const struct mds_op *o = NULL;
	MDB_txn *t = NULL;
	int rc, ret;

	if (op == VDIFS_OP_HELLO)
		return op_hello(m, c, b, r);
	if (!c->hello)
		return -EPROTO;
	if (op == VDIFS_OP_AUTH)
		return op_auth(m, c, b, r);
	if (!c->authed)
		return -EACCES;
	if (ns_ops[op].fn)
		o = &ns_ops[op];
	else if (member_ops[op].fn)
		o = &member_ops[op];
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

/* errors after which the peer cannot be trusted to stay in step */
static bool fatal_status(u16 op, int ret)
{
	return (op == VDIFS_OP_HELLO && ret) || ret == -EPROTO ||
	       (op == VDIFS_OP_AUTH && ret == -EACCES);
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
		ret = msg_read(c.fd, &msg, c.hello ? -1 : 30000);
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
		if (fatal_status(op, ret)) {
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

static int write_port_file(const char *path, int port)
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

int main(int argc, char **argv)
{
	static struct mds m;	/* large: membership tables */
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_attr_t attr;
	int lfd, port, ret;

	if (cfg_parse(&m.cfg, argc, argv))
		return 2;
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
		ret = write_port_file(m.cfg.port_file, port);
		if (ret) {
			log_err("cannot write %s: %s", m.cfg.port_file,
				strerror(-ret));
			goto out_listen;
		}
	}

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
