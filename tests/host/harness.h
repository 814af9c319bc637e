/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host test harness: runs a real vdifs-mds in a scratch directory and
 * talks to it through libvdifs or raw sockets.
 *
 * The server binary is $VDIFS_BIN/vdifs-mds; without VDIFS_BIN it is the
 * build directory this test binary lives in (build/out/tests/x ->
 * build/out), else build/out under the repository root found from the
 * test binary's path or the working directory.
 *
 * Every server gets its own mkdtemp() directory holding the data
 * directory, the port file and the server's log (mds.log, printed when a
 * start fails), under the run's scratch directory (h_tmp_begin()) or
 * /tmp.  Servers die with the test process that started them
 * (PR_SET_PDEATHSIG); h_mds_destroy() stops the server and removes its
 * directory, and h_tmp_end() removes what failed tests left.  Set
 * VDIFS_TEST_KEEP=1 to keep the directories.
 *
 * Header only, static functions: each test program includes it once.
 */
#ifndef _VDIFS_TEST_HARNESS_H
#define _VDIFS_TEST_HARNESS_H

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vdifs_client.h"

#define H_START_TIMEOUT_MS	10000
#define H_STOP_TIMEOUT_MS	5000
#define H_MAX_SERVERS		8

/* ---- time ---- */

static inline long long h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void h_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- errors in assertion messages ---- */

static inline const char *h_err(int r)
{
	static char buf[8][64];
	static int i;
	char *b = buf[i++ & 7];

	if (r >= 0)
		snprintf(b, 64, "%d", r);
	else
		snprintf(b, 64, "%d %s", r, strerror(-r));
	return b;
}

/* assert that expr returns exactly want (0 or -errno) */
#define ck_ret(expr, want)						\
	do {								\
		int _r = (int)(expr);					\
		int _w = (int)(want);					\
		ck_assert_msg(_r == _w, "%s: got %s, want %s", #expr,	\
			      h_err(_r), h_err(_w));			\
	} while (0)

#define ck_ok(expr) ck_ret(expr, 0)

/* assert that expr returns one of two values */
#define ck_ret2(expr, w1, w2)						\
	do {								\
		int _r = (int)(expr);					\
		ck_assert_msg(_r == (int)(w1) || _r == (int)(w2),	\
			      "%s: got %s, want %s or %s", #expr,	\
			      h_err(_r), h_err(w1), h_err(w2));		\
	} while (0)

/* ---- where things are ---- */

static inline bool h_is_file(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISREG(st.st_mode);
}

/* walk up from dir looking for the repository (uapi/vdifs_proto.h) */
static inline bool h_find_root(const char *start, char *root, size_t cap)
{
	char d[PATH_MAX], probe[PATH_MAX + 32];

	if (!realpath(start, d))
		return false;
	for (;;) {
		char *slash;

		snprintf(probe, sizeof(probe), "%s/uapi/vdifs_proto.h", d);
		if (h_is_file(probe)) {
			snprintf(root, cap, "%s", d);
			return true;
		}
		slash = strrchr(d, '/');
		if (!slash || slash == d)
			return false;
		*slash = '\0';
	}
}

static inline const char *h_bindir(void)
{
	static char dir[PATH_MAX + 16];
	char exe[PATH_MAX], probe[PATH_MAX + 32], root[PATH_MAX];
	const char *env = getenv("VDIFS_BIN");
	char *slash;
	ssize_t n;

	if (dir[0])
		return dir;
	if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
		return dir;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			/* BUILD/tests/test_x: the server is BUILD/vdifs-mds */
			slash = strrchr(exe, '/');
			if (slash && !strcmp(slash, "/tests")) {
				*slash = '\0';
				snprintf(probe, sizeof(probe), "%s/vdifs-mds",
					 exe);
				if (h_is_file(probe)) {
					snprintf(dir, sizeof(dir), "%s", exe);
					return dir;
				}
				*slash = '/';
			}
			if (h_find_root(exe, root, sizeof(root))) {
				snprintf(dir, sizeof(dir), "%s/build/out",
					 root);
				return dir;
			}
		}
	}
	if (h_find_root(".", root, sizeof(root)))
		snprintf(dir, sizeof(dir), "%s/build/out", root);
	else
		snprintf(dir, sizeof(dir), "build/out");
	return dir;
}

/* ---- scratch space ---- */

/*
 * One directory per test program run, made by h_tmp_begin() in main()
 * (the runner process) and handed to the forked tests in the environment,
 * so that h_tmp_end() removes whatever a failed test (Check leaves a
 * failed test with _exit(), past any clean-up) left behind.
 */
#define H_TMP_ENV	"VDIFS_TEST_TMP"

static inline void h_rm_rf(const char *dir);

static inline const char *h_tmp_base(void)
{
	const char *b = getenv(H_TMP_ENV);

	return b && *b ? b : "/tmp";
}

static inline void h_tmp_begin(void)
{
	static char base[] = "/tmp/vdifs-test.XXXXXX";

	if (mkdtemp(base))
		setenv(H_TMP_ENV, base, 1);
}

static inline void h_tmp_end(void)
{
	const char *b = getenv(H_TMP_ENV);

	if (b && *b && !getenv("VDIFS_TEST_KEEP"))
		h_rm_rf(b);
}

/* ---- the server ---- */

struct h_mds_opts {
	int heartbeat_ms;	/* 0: 1000 */
	int lease_ms;		/* 0: 10000 */
	const char *key_hex;	/* --key-file, NULL: none */
	/* --client-key-file, --admin-key-file: a key per role */
	const char *client_key_hex, *admin_key_hex;
	int session_expiry_s;	/* 0: the server's default */
	/*
	 * --down-out: 0 copies a chunk that lost a server elsewhere at once,
	 * as the tests before catch-up expect (the server's default is 300)
	 */
	int down_out_s;
	/* --rebalance-margin: 0 (the tests' default) never moves chunks */
	int rebalance_margin;
};

struct h_mds {
	pid_t pid;		/* 0: not running */
	int port;
	char addr[64];		/* "127.0.0.1:PORT" */
	char dir[PATH_MAX];	/* the mkdtemp() directory, "" when none */
	char data[PATH_MAX + 16];
	char port_file[PATH_MAX + 16];
	char log[PATH_MAX + 16];
	int heartbeat_ms, lease_ms, session_expiry_s, down_out_s;
	int rebalance_margin;
	int last_port;		/* a restart listens there again */
	char key_hex[160];
	char key_file[PATH_MAX + 16];	/* key_hex, mode 600: --key-file */
	char client_key_hex[160], admin_key_hex[160];
	char client_key_file[PATH_MAX + 16], admin_key_file[PATH_MAX + 16];
	int last_status;	/* wait status of the last stop */
};

static struct h_mds *h_servers[H_MAX_SERVERS];
static bool h_atexit_done;

static inline int h_rm_one(const char *p, const struct stat *st, int flag,
			   struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	remove(p);
	return 0;
}

static inline void h_rm_rf(const char *dir)
{
	if (dir[0] && strncmp(dir, "/tmp/", 5) == 0)
		nftw(dir, h_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* print the tail of the server's log, for a start that failed */
static inline void h_dump_log(const struct h_mds *m)
{
	char buf[4096];
	FILE *f = fopen(m->log, "r");
	long sz;
	size_t n;

	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, sz > (long)sizeof(buf) - 1 ? sz - (long)sizeof(buf) + 1 : 0,
	      SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "---- %s ----\n%s---- end ----\n", m->log, buf);
}

/* wait for pid for up to ms; true when it is gone (*status filled) */
static inline bool h_wait_pid(pid_t pid, int ms, int *status)
{
	long long end = h_now_ms() + ms;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		if (h_now_ms() >= end)
			return false;
		h_sleep_ms(5);
	}
}

/*
 * Stop the server: sig (SIGTERM or SIGKILL), then SIGKILL if it has not
 * exited after H_STOP_TIMEOUT_MS.  Returns the wait status, -1 if none.
 */
static inline int h_mds_stop(struct h_mds *m, int sig)
{
	int status = -1;

	if (!m->pid)
		return m->last_status;
	kill(m->pid, sig);
	if (!h_wait_pid(m->pid, H_STOP_TIMEOUT_MS, &status)) {
		fprintf(stderr, "harness: vdifs-mds %d ignored signal %d for %d ms, killing it\n",
			m->pid, sig, H_STOP_TIMEOUT_MS);
		kill(m->pid, SIGKILL);
		h_wait_pid(m->pid, H_STOP_TIMEOUT_MS, &status);
	}
	m->pid = 0;
	m->last_port = m->port;
	m->port = 0;
	m->last_status = status;
	return status;
}

static inline void h_mds_destroy(struct h_mds *m)
{
	int i;

	h_mds_stop(m, SIGTERM);
	if (m->dir[0] && !getenv("VDIFS_TEST_KEEP"))
		h_rm_rf(m->dir);
	m->dir[0] = '\0';
	for (i = 0; i < H_MAX_SERVERS; i++)
		if (h_servers[i] == m)
			h_servers[i] = NULL;
}

static inline void h_cleanup_all(void)
{
	int i;

	for (i = 0; i < H_MAX_SERVERS; i++)
		if (h_servers[i])
			h_mds_destroy(h_servers[i]);
}

static inline bool h_port_open(int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons((u16)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = !connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return ok;
}

static inline int h_read_port(const char *path)
{
	char buf[32];
	ssize_t n;
	long v;
	char *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf || v <= 0 || v > 65535)
		return -1;
	while (*end == '\n' || *end == ' ' || *end == '\r')
		end++;
	return *end ? -1 : (int)v;
}

/*
 * Start vdifs-mds on m's existing directory and wait (bounded) until the
 * port file names a port that accepts connections.  0 or -errno.
 */
static inline int h_mds_launch(struct h_mds *m)
{
	char hb[16], lease[16], exp[16], dout[16], rbm[16], listen[32];
	char mds[PATH_MAX + 64];
	const char *argv[28];
	long long end;
	pid_t parent = getpid(), pid;
	int argc = 0, status;

	snprintf(mds, sizeof(mds), "%s/vdifs-mds", h_bindir());
	if (access(mds, X_OK)) {
		fprintf(stderr, "harness: no server at %s (set VDIFS_BIN)\n",
			mds);
		return -ENOENT;
	}
	unlink(m->port_file);
	snprintf(hb, sizeof(hb), "%d", m->heartbeat_ms);
	snprintf(lease, sizeof(lease), "%d", m->lease_ms);
	argv[argc++] = mds;
	argv[argc++] = "--listen";
	/* a restart keeps the port: data servers find their MDS again */
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", m->last_port);
	argv[argc++] = listen;
	argv[argc++] = "--data";
	argv[argc++] = m->data;
	argv[argc++] = "--port-file";
	argv[argc++] = m->port_file;
	argv[argc++] = "--heartbeat-ms";
	argv[argc++] = hb;
	argv[argc++] = "--lease-ms";
	argv[argc++] = lease;
	snprintf(dout, sizeof(dout), "%d", m->down_out_s);
	argv[argc++] = "--down-out";
	argv[argc++] = dout;
	snprintf(rbm, sizeof(rbm), "%d", m->rebalance_margin);
	argv[argc++] = "--rebalance-margin";
	argv[argc++] = rbm;
	if (m->key_hex[0]) {
		argv[argc++] = "--key-file";
		argv[argc++] = m->key_file;
	} else {
		argv[argc++] = "--insecure";
	}
	if (m->client_key_hex[0]) {
		argv[argc++] = "--client-key-file";
		argv[argc++] = m->client_key_file;
	}
	if (m->admin_key_hex[0]) {
		argv[argc++] = "--admin-key-file";
		argv[argc++] = m->admin_key_file;
	}
	if (m->session_expiry_s) {
		snprintf(exp, sizeof(exp), "%d", m->session_expiry_s);
		argv[argc++] = "--session-expiry";
		argv[argc++] = exp;
	}
	argv[argc] = NULL;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(m->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);

		/* never outlive the test that started us */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		signal(SIGPIPE, SIG_DFL);
		execv(mds, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", mds, strerror(errno));
		_exit(127);
	}
	m->pid = pid;

	end = h_now_ms() + H_START_TIMEOUT_MS;
	for (;;) {
		int port = h_read_port(m->port_file);

		if (port > 0 && h_port_open(port)) {
			m->port = port;
			snprintf(m->addr, sizeof(m->addr), "127.0.0.1:%d",
				 port);
			return 0;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			m->pid = 0;
			m->last_status = status;
			fprintf(stderr, "harness: vdifs-mds exited at start (status 0x%x)\n",
				status);
			h_dump_log(m);
			return -ECHILD;
		}
		if (h_now_ms() > end) {
			fprintf(stderr, "harness: vdifs-mds wrote no port file in %d ms\n",
				H_START_TIMEOUT_MS);
			h_dump_log(m);
			h_mds_stop(m, SIGKILL);
			return -ETIMEDOUT;
		}
		h_sleep_ms(5);
	}
}

/* a fresh scratch directory and a server on it */
/* hex into DIR/NAME, mode 600, its path into path; nothing for "" */
static inline int h_key_file(const char *dir, const char *name,
			     const char *hex, char *path)
{
	int fd;

	if (!hex[0])
		return 0;
	snprintf(path, PATH_MAX + 16, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, hex, strlen(hex)) < 0) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* the key (hex) a peer of role proves to m's servers; "" for none */
static inline const char *h_role_key_hex(const struct h_mds *m, u32 role)
{
	if (role == VDIFS_ROLE_CLIENT && m->client_key_hex[0])
		return m->client_key_hex;
	if (role == VDIFS_ROLE_TOOL && m->admin_key_hex[0])
		return m->admin_key_hex;
	return m->key_hex;
}

static inline int h_mds_start(struct h_mds *m, const struct h_mds_opts *o)
{
	int i, ret;

	memset(m, 0, sizeof(*m));
	m->heartbeat_ms = o && o->heartbeat_ms ? o->heartbeat_ms : 1000;
	m->lease_ms = o && o->lease_ms ? o->lease_ms : 10000;
	m->session_expiry_s = o ? o->session_expiry_s : 0;
	m->down_out_s = o ? o->down_out_s : 0;
	m->rebalance_margin = o ? o->rebalance_margin : 0;
	if (o && o->key_hex)
		snprintf(m->key_hex, sizeof(m->key_hex), "%s", o->key_hex);
	if (o && o->client_key_hex)
		snprintf(m->client_key_hex, sizeof(m->client_key_hex), "%s",
			 o->client_key_hex);
	if (o && o->admin_key_hex)
		snprintf(m->admin_key_hex, sizeof(m->admin_key_hex), "%s",
			 o->admin_key_hex);
	snprintf(m->dir, sizeof(m->dir), "%s/mds.XXXXXX", h_tmp_base());
	if (!mkdtemp(m->dir)) {
		m->dir[0] = '\0';
		return -errno;
	}
	snprintf(m->data, sizeof(m->data), "%s/data", m->dir);
	snprintf(m->port_file, sizeof(m->port_file), "%s/port", m->dir);
	snprintf(m->log, sizeof(m->log), "%s/mds.log", m->dir);
	if (mkdir(m->data, 0700))
		return -errno;
	ret = h_key_file(m->dir, "key", m->key_hex, m->key_file);
	if (!ret)
		ret = h_key_file(m->dir, "client.key", m->client_key_hex,
				 m->client_key_file);
	if (!ret)
		ret = h_key_file(m->dir, "admin.key", m->admin_key_hex,
				 m->admin_key_file);
	if (ret)
		return ret;

	if (!h_atexit_done) {
		atexit(h_cleanup_all);
		h_atexit_done = true;
	}
	for (i = 0; i < H_MAX_SERVERS; i++) {
		if (!h_servers[i]) {
			h_servers[i] = m;
			break;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	ret = h_mds_launch(m);
	return ret;
}

/* stop with sig and start again on the same data directory */
static inline int h_mds_restart(struct h_mds *m, int sig)
{
	h_mds_stop(m, sig);
	return h_mds_launch(m);
}

/* ---- clients ---- */

static inline int h_connect_key(const struct h_mds *m, u32 role,
				const u8 *key, size_t key_len,
				struct vdc_conn **out)
{
	struct vdc_opts o = {
		.role = role,
		.key = key,
		.key_len = key_len,
		.timeout_ms = 10000,
		.name = "test-host",
		/* the keyless servers of most tests, on purpose */
		.insecure = !key_len,
	};

	return vdc_connect(m->addr, &o, out);
}

/* a connected client, or a failed assertion */
static inline struct vdc_conn *h_connect(const struct h_mds *m, u32 role)
{
	struct vdc_conn *c = NULL;
	u8 key[80];
	size_t klen = 0;

	const char *hex = h_role_key_hex(m, role);

	if (hex[0])
		ck_assert_int_eq(vdc_key_parse_hex(hex, key, sizeof(key),
						   &klen), 0);
	ck_ok(h_connect_key(m, role, klen ? key : NULL, klen, &c));
	ck_assert_ptr_nonnull(c);
	return c;
}

/* ---- raw sockets, for malformed input ---- */

static inline int h_raw_connect(int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons((u16)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_msg(!connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
		      "connect to port %d: %s", port, strerror(errno));
	return fd;
}

static inline int h_raw_write(int fd, const void *buf, size_t len)
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

/* read exactly len bytes: 0, -ECONNRESET on EOF or reset, -ETIMEDOUT */
static inline int h_raw_read(int fd, void *buf, size_t len, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	u8 *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = end - h_now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r ? -errno : -ETIMEDOUT;
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ECONNRESET || errno == EPIPE ?
				-ECONNRESET : -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* encode and send one message with valid header and body checksums */
static inline int h_raw_send(int fd, u16 op, u64 req_id, const void *fixed,
			     u32 flen, const void *t1, u32 l1, const void *t2,
			     u32 l2)
{
	size_t cap = sizeof(struct vdifs_msg_hdr) + flen + l1 + l2;
	u8 *buf = malloc(cap);
	int n, ret;

	ck_assert_ptr_nonnull(buf);
	n = wire_msg_encode(buf, cap, op, 0, req_id, 0, fixed, flen, t1, l1,
			    t2, l2);
	ck_assert_int_gt(n, 0);
	ret = h_raw_write(fd, buf, (size_t)n);
	free(buf);
	return ret;
}

/*
 * Read one message.  0 with *h (and *body, malloc'd, caller frees, when
 * body is not NULL); -ECONNRESET when the server closed; -ETIMEDOUT;
 * -EBADMSG for a header or body that does not check out.
 */
static inline int h_raw_recv(int fd, struct wire_hdr *h, u8 **body,
			     int timeout_ms)
{
	u8 hdr[sizeof(struct vdifs_msg_hdr)];
	u8 *b;
	int ret;

	if (body)
		*body = NULL;
	ret = h_raw_read(fd, hdr, sizeof(hdr), timeout_ms);
	if (ret)
		return ret;
	if (wire_hdr_decode(hdr, h))
		return -EBADMSG;
	b = malloc(h->body_len + 1);
	ck_assert_ptr_nonnull(b);
	ret = h_raw_read(fd, b, h->body_len, timeout_ms);
	if (!ret && wire_body_check_csum(h, b))
		ret = -EBADMSG;
	if (ret || !body)
		free(b);
	else
		*body = b;
	return ret;
}

/* true if the server closes fd within timeout_ms (replies are skipped) */
static inline bool h_raw_closed(int fd, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	u8 buf[4096];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = end - h_now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			return false;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return true;
	}
}

/* HELLO without AUTH; returns the reply status (or a socket error) */
static inline int h_raw_hello(int fd, u32 role, u64 req_id)
{
	struct vdifs_hello_req req;
	struct wire_hdr h;
	const char *name = "raw-test";
	int ret, i;

	memset(&req, 0, sizeof(req));
	req.version_min = cpu_to_le32(VDIFS_PROTO_VERSION_MIN);
	req.version_max = cpu_to_le32(VDIFS_PROTO_VERSION);
	req.features = cpu_to_le64(0);
	for (i = 0; i < (int)sizeof(req.nonce); i++)
		req.nonce[i] = (u8)rand();
	req.role = cpu_to_le32(role);
	req.name_len = cpu_to_le16((u16)strlen(name));
	ret = h_raw_send(fd, VDIFS_OP_HELLO, req_id, &req, sizeof(req), name,
			 (u32)strlen(name), NULL, 0);
	if (ret)
		return ret;
	ret = h_raw_recv(fd, &h, NULL, 5000);
	if (ret)
		return ret;
	ck_assert_uint_eq(h.req_id, req_id);
	return h.status;
}

/* ---- running programs ---- */

/*
 * Run argv (argv[0] a path) with stdout and stderr captured into malloc'd
 * strings (may be NULL).  Returns the exit status, or -1 on a signal.
 */
static inline int h_run(char *const argv[], const char *env_mds, char **out,
			char **err)
{
	char tmpl_o[] = "/tmp/vdifs-run-out.XXXXXX";
	char tmpl_e[] = "/tmp/vdifs-run-err.XXXXXX";
	int fo = mkstemp(tmpl_o), fe = mkstemp(tmpl_e), status;
	char **bufs[2] = { out, err };
	int fds[2] = { fo, fe };
	pid_t pid;
	int i;

	ck_assert_int_ge(fo, 0);
	ck_assert_int_ge(fe, 0);
	unlink(tmpl_o);
	unlink(tmpl_e);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fo, 1);
		dup2(fe, 2);
		if (env_mds)
			setenv("VDIFS_MDS", env_mds, 1);
		else
			unsetenv("VDIFS_MDS");
		execv(argv[0], argv);
		_exit(127);
	}
	ck_assert_msg(h_wait_pid(pid, 20000, &status), "%s hangs", argv[0]);
	for (i = 0; i < 2; i++) {
		off_t sz = lseek(fds[i], 0, SEEK_END);
		char *b;

		if (bufs[i]) {
			b = calloc(1, (size_t)sz + 1);
			ck_assert_ptr_nonnull(b);
			if (sz > 0 && pread(fds[i], b, (size_t)sz, 0) < 0)
				b[0] = '\0';
			*bufs[i] = b;
		}
		close(fds[i]);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif /* _VDIFS_TEST_HARNESS_H */
