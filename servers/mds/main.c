// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds: configuration, start-up and the listener.
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
		CFG_SERVER_KEY_ITEMS(cfg),
		CFG_SERVER_LIMIT_ITEMS(&cfg->limits),
		{ .key = "admin_key_file", .flag = "admin-key-file",
		  .type = CFG_KEYFILE, .dst = cfg->admin_key,
		  .cap = sizeof(cfg->admin_key),
		  .key_len = &cfg->admin_key_len,
		  .help = "the key vdifs-tool proves, if not the server key" },
		{ .key = "heartbeat_ms", .flag = "heartbeat-ms",
		  .type = CFG_U32, .dst = &cfg->heartbeat_ms, .min = 10,
		  .max = 600000,
		  .help = "heartbeat interval told to members (default 1000)" },
		{ .key = "lease_ms", .flag = "lease-ms", .type = CFG_U32,
		  .dst = &cfg->lease_ms, .min = 50, .max = 3600000,
		  .help = "a member unheard this long is down (default 5000)" },
		{ .key = "session_expiry_s", .flag = "session-expiry",
		  .type = CFG_U32, .dst = &cfg->session_expiry_s, .min = 1,
		  .max = 30 * 86400,
		  .help = "seconds a client session outlives its last heartbeat (default 600)" },
		{ .key = "cap_lifetime_s", .flag = "cap-lifetime",
		  .type = CFG_U32, .dst = &cfg->cap_lifetime_s, .min = 90,
		  .max = 7 * 86400,
		  .help = "seconds a chunk capability lasts (default 3600; clients renew it a minute before)" },
		{ .key = "recovery_bandwidth_mb", .flag = "recovery-bandwidth",
		  .type = CFG_MB, .dst = &cfg->recovery_bandwidth, .min = 0,
		  .max = 1 << 20,
		  .help = "MiB/s of chunk copies to restore replicas (default 64; 0: no limit)" },
		{ .key = "scrub_period_h", .flag = "scrub-period",
		  .type = CFG_U32, .dst = &cfg->scrub_period_h, .min = 0,
		  .max = 24 * 365,
		  .help = "hours between scrubs of every copy (default 168; 0: only when asked)" },
		{ .key = "down_out_s", .flag = "down-out", .type = CFG_U32,
		  .dst = &cfg->down_out_s, .min = 0, .max = 7 * 86400,
		  .help = "seconds the copies of a server out of a chunk's set are kept to catch it up when it returns, before the chunk is copied whole elsewhere (default 300; 0: at once)" },
		{ .key = "rebalance_margin", .flag = "rebalance-margin",
		  .type = CFG_U32, .dst = &cfg->rebalance_margin, .min = 0,
		  .max = 100,
		  .help = "percentage points of use (used / capacity) a data server in service may be off the cluster's mean before chunks move to the emptiest (default 10; 0: never)" },
		{ .key = "recovery_interval_ms", .type = CFG_U32,
		  .dst = &cfg->recovery_interval_ms, .min = 100,
		  .max = 3600000 },
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
	srv_limits_init(&cfg->limits);
	strcpy(cfg->data, MDS_DEFAULT_DATA);
	cfg->heartbeat_ms = 1000;
	cfg->lease_ms = 5000;
	cfg->map_size = 4ull << 30;
	cfg->default_replicas = 1;
	cfg->recovery_bandwidth = 64ull << 20;
	cfg->session_expiry_s = 600;
	cfg->cap_lifetime_s = 3600;
	cfg->recovery_interval_ms = 2000;
	cfg->down_out_s = 300;
	cfg->rebalance_margin = 10;
	cfg->scrub_period_h = 168;
	cfg->log_level = LOG_INFO_L;

	ret = cfg_parse("vdifs-mds",
			"The vdifs metadata server: namespace, volumes, chunk layouts,\n"
			"data-server and client membership, with its state in LMDB.",
			items, argc, argv);
	if (ret)
		return ret;
	if (cfg->admin_key_len && !cfg->key_len) {
		fprintf(stderr, "vdifs-mds: an admin key needs the server key (key_file)\n");
		return -1;
	}
	if (cfg->lease_ms <= cfg->heartbeat_ms) {
		fprintf(stderr, "vdifs-mds: lease (%u ms) must be longer than the heartbeat (%u ms)\n",
			cfg->lease_ms, cfg->heartbeat_ms);
		return -1;
	}
	return cfg_check_keys(cfg->key_len, cfg->insecure,
			      cfg->client_key_len);
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
	srv_keys_init(&m.keys, m.cfg.key, m.cfg.key_len, m.cfg.client_key,
		      m.cfg.client_key_len, m.cfg.admin_key,
		      m.cfg.admin_key_len);
	if (m.cfg.key_len)
		vdc_cap_key(m.cfg.key, m.cfg.key_len, m.cap_key);
	m.keys.principal = principal_lookup;
	m.keys.principal_arg = &m;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	pthread_mutex_init(&m.lock, NULL);
	m.start_ms = net_now_ms();
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
	if (!ret)
		ret = session_load(&m);
	if (!ret)
		ret = access_load(&m);
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
		 port, m.cfg.data, !m.cfg.key_len ? "" :
		 m.cfg.client_key_len || m.cfg.admin_key_len ?
		 ", authentication on, a key per role" :
		 ", authentication on");
	if (m.cfg.port_file[0]) {
		ret = net_write_port_file(m.cfg.port_file, port);
		if (ret) {
			log_err("cannot write %s: %s", m.cfg.port_file,
				strerror(-ret));
			goto out_listen;
		}
	}

	ret = gc_start(&m);
	if (!ret)
		ret = recovery_start(&m);
	if (!ret)
		ret = session_start(&m);
	if (!ret)
		ret = intent_start(&m);
	if (!ret)
		ret = scrub_start(&m);
	if (!ret)
		ret = sched_start(&m);
	if (ret)
		goto out_listen;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	while (!mds_stop) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		struct sockaddr_storage ss;
		int fd;

		if (poll(&pfd, 1, 500) <= 0)
			continue;
		fd = srv_accept(&m.cfg.limits, lfd, &ss);
		if (fd < 0)
			continue;
		if (sched_conn_start(&m, fd, &ss, &attr)) {
			log_warn("cannot start a connection thread");
			close(fd);
			srv_release(&m.cfg.limits, &ss);
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
