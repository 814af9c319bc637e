/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host test harness for data servers: runs real vdifs-ds processes
 * against a harness MDS (harness.h) and gives tests what they need to
 * break them: stop, restart on the same data directory, kill -9, SIGSTOP
 * and SIGCONT, an environment per start (VDIFS_DS_CRASH_AT), the data
 * directory's chunk files.
 *
 * Every server gets a mkdtemp() directory under the run's scratch
 * directory (h_tmp_base()) holding data/ (its --data), port (its
 * --port-file) and ds.log (stdout and stderr, appended over restarts and
 * printed when a start fails).  A start is complete once the server's
 * port accepts connections AND the MDS lists it up under that port:
 * only then do other servers find it as a replica.  Its id (h_ds.id)
 * comes from that STATUS record.
 *
 * The binary is h_bindir()/vdifs-ds.  VDIFS_DS_VERBOSE=1 passes -v.
 * Servers die with the test process that started them (PR_SET_PDEATHSIG
 * and Check's kill of the test's process group); h_ds_destroy() stops
 * one and removes its directory (kept with VDIFS_TEST_KEEP=1).
 *
 * Header only, static functions: each test program includes it once.
 */
#ifndef _VDIFS_TEST_HARNESS_DS_H
#define _VDIFS_TEST_HARNESS_DS_H

#include "harness.h"

#define H_DS_MAX		16
#define H_DS_UP_TIMEOUT_MS	15000
#define H_DS_ENV_MAX		8

struct h_ds_opts {
	const char *capacity;		/* --capacity, NULL: not passed */
	const char *const *env;		/* "NAME=VALUE", NULL-terminated */
	const char *const *args;	/* more flags, NULL-terminated (static) */
};

struct h_ds {
	pid_t pid;		/* 0: not running */
	pid_t owner;		/* the process that started it */
	int port;
	u32 id;			/* from the MDS, 0 until first seen up */
	bool paused;		/* SIGSTOPped */
	char addr[64];		/* "127.0.0.1:PORT" */
	const struct h_mds *mds;
	char dir[PATH_MAX];	/* the mkdtemp() directory, "" when none */
	char data[PATH_MAX + 16];
	char port_file[PATH_MAX + 16];
	char log[PATH_MAX + 16];
	char capacity[32];
	const char *const *args;	/* h_ds_opts.args */
	int last_status;	/* wait status of the last exit */
};

static struct h_ds *h_ds_all[H_DS_MAX];
static bool h_ds_atexit_done;

/* ---- logs ---- */

static inline void h_ds_dump_log(const struct h_ds *d)
{
	char buf[4096];
	FILE *f = fopen(d->log, "r");
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
	fprintf(stderr, "---- %s ----\n%s---- end ----\n", d->log, buf);
}

/* ---- process control ---- */

/*
 * Reap or wait for the server's exit: true when it is gone (its status
 * in d->last_status).  A server started by another process (an unchecked
 * fixture's) cannot be waited for: it is gone when kill(0) says so.
 */
static inline bool h_ds_reap(struct h_ds *d, int ms)
{
	int status = -1;

	if (!d->pid)
		return true;
	if (d->owner != getpid()) {
		long long end = h_now_ms() + ms;

		while (!kill(d->pid, 0)) {
			if (h_now_ms() >= end)
				return false;
			h_sleep_ms(5);
		}
	} else if (!h_wait_pid(d->pid, ms, &status)) {
		return false;
	}
	d->pid = 0;
	d->paused = false;
	d->last_status = status;
	return true;
}

/*
 * Stop the server with sig (SIGTERM, SIGKILL, ...); a paused server is
 * continued so that it can act on the signal.  SIGKILL follows after
 * H_STOP_TIMEOUT_MS.  Returns the wait status, -1 if none is known.
 */
static inline int h_ds_stop(struct h_ds *d, int sig)
{
	if (!d->pid)
		return d->last_status;
	kill(d->pid, sig);
	if (d->paused && sig != SIGKILL)
		kill(d->pid, SIGCONT);
	if (!h_ds_reap(d, H_STOP_TIMEOUT_MS)) {
		fprintf(stderr, "harness: vdifs-ds %d ignored signal %d for %d ms, killing it\n",
			d->pid, sig, H_STOP_TIMEOUT_MS);
		kill(d->pid, SIGKILL);
		if (!h_ds_reap(d, H_STOP_TIMEOUT_MS))
			d->pid = 0;
	}
	d->port = 0;
	return d->last_status;
}

/* kill -9, wait for it */
static inline int h_ds_kill(struct h_ds *d)
{
	return h_ds_stop(d, SIGKILL);
}

/* wait up to ms for the server to exit on its own (crash injection) */
static inline bool h_ds_wait_exit(struct h_ds *d, int ms, int *status)
{
	bool gone = h_ds_reap(d, ms);

	if (gone) {
		d->port = 0;
		if (status)
			*status = d->last_status;
	}
	return gone;
}

static inline void h_ds_pause(struct h_ds *d)
{
	if (d->pid && !kill(d->pid, SIGSTOP))
		d->paused = true;
}

static inline void h_ds_resume(struct h_ds *d)
{
	if (d->pid && !kill(d->pid, SIGCONT))
		d->paused = false;
}

static inline void h_ds_destroy(struct h_ds *d)
{
	int i;

	if (d->owner == getpid() || !d->owner)
		h_ds_stop(d, SIGTERM);
	if (d->dir[0] && !getenv("VDIFS_TEST_KEEP"))
		h_rm_rf(d->dir);
	d->dir[0] = '\0';
	for (i = 0; i < H_DS_MAX; i++)
		if (h_ds_all[i] == d)
			h_ds_all[i] = NULL;
}

/* at exit: only what this process started (a forked test inherits it) */
static inline void h_ds_cleanup_all(void)
{
	int i;

	for (i = 0; i < H_DS_MAX; i++)
		if (h_ds_all[i] && h_ds_all[i]->owner == getpid())
			h_ds_destroy(h_ds_all[i]);
}

/* ---- the MDS's view ---- */

struct h_ds_find {
	int port;
	u32 id;
	u8 state;
	bool found;
};

static inline int h_ds_find_cb(const struct vdifs_ds_status *s, void *arg)
{
	struct h_ds_find *f = arg;

	if (s->addr.family == VDIFS_AF_INET &&
	    le16_to_cpu(s->addr.port) == f->port) {
		f->found = true;
		f->id = le32_to_cpu(s->ds_id);
		f->state = s->state;
	}
	return 0;
}

/* a tool connection to the MDS, key included; 0 or -errno */
static inline int h_mds_tool_conn(const struct h_mds *m,
				  struct vdc_conn **out)
{
	u8 key[80];
	size_t klen = 0;

	const char *hex = h_role_key_hex(m, VDIFS_ROLE_TOOL);

	*out = NULL;
	if (hex[0] && vdc_key_parse_hex(hex, key, sizeof(key), &klen))
		return -EINVAL;
	return h_connect_key(m, VDIFS_ROLE_TOOL, klen ? key : NULL, klen,
			     out);
}

/*
 * STATUS once: the state of the server listening on port (0 when the
 * MDS does not list it), its id in *id.  -errno when the MDS fails.
 */
static inline int h_ds_mds_state(const struct h_mds *m, int port, u32 *id)
{
	struct vdc_status_cbs cbs = { .ds = h_ds_find_cb };
	struct h_ds_find f = { .port = port };
	struct vdc_conn *c;
	int ret;

	ret = h_mds_tool_conn(m, &c);
	if (ret)
		return ret;
	ret = vdc_status(c, &cbs, &f, NULL);
	vdc_close(c);
	if (ret < 0)
		return ret;
	if (!f.found)
		return 0;
	if (id)
		*id = f.id;
	return f.state;
}

/*
 * Wait (bounded) until the MDS lists the server up under its port; sets
 * d->id.  -ECHILD when the server died meanwhile, -ETIMEDOUT.
 */
static inline int h_ds_wait_up(struct h_ds *d, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	int st, status;
	u32 id = 0;

	for (;;) {
		st = h_ds_mds_state(d->mds, d->port, &id);
		if (st == VDIFS_STATE_UP) {
			d->id = id;
			return 0;
		}
		if (d->owner == getpid() &&
		    waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			d->last_status = status;
			fprintf(stderr, "harness: vdifs-ds exited before it was up (status 0x%x)\n",
				status);
			h_ds_dump_log(d);
			return -ECHILD;
		}
		if (h_now_ms() > end) {
			fprintf(stderr, "harness: vdifs-ds on port %d not up at the MDS after %d ms (last: %s)\n",
				d->port, timeout_ms, h_err(st));
			h_ds_dump_log(d);
			return -ETIMEDOUT;
		}
		h_sleep_ms(10);
	}
}

/* ---- starting ---- */

/*
 * Start vdifs-ds on d's existing directory with env added to ours
 * (VDIFS_DS_CRASH_AT is removed unless env sets it) and wait (bounded)
 * until its port file names a port that accepts connections.  Does not
 * wait for the MDS: h_ds_wait_up() does.  0 or -errno.
 */
static inline int h_ds_launch(struct h_ds *d, const char *const *env)
{
	char bin[PATH_MAX + 64];
	const char *argv[40];
	long long end;
	pid_t parent = getpid(), pid;
	unsigned int k;
	int argc = 0, status;

	snprintf(bin, sizeof(bin), "%s/vdifs-ds", h_bindir());
	if (access(bin, X_OK)) {
		fprintf(stderr, "harness: no server at %s (set VDIFS_BIN)\n",
			bin);
		return -ENOENT;
	}
	if (d->pid)
		return -EBUSY;
	unlink(d->port_file);
	argv[argc++] = bin;
	argv[argc++] = "--mds";
	argv[argc++] = d->mds->addr;
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	argv[argc++] = "--data";
	argv[argc++] = d->data;
	argv[argc++] = "--port-file";
	argv[argc++] = d->port_file;
	if (d->capacity[0]) {
		argv[argc++] = "--capacity";
		argv[argc++] = d->capacity;
	}
	if (d->mds->key_hex[0]) {
		argv[argc++] = "--key-file";
		argv[argc++] = d->mds->key_file;
	} else {
		argv[argc++] = "--insecure";
	}
	if (d->mds->client_key_hex[0]) {
		argv[argc++] = "--client-key-file";
		argv[argc++] = d->mds->client_key_file;
	}
	if (getenv("VDIFS_DS_VERBOSE"))
		argv[argc++] = "-v";
	for (k = 0; d->args && d->args[k] && argc < 39; k++)
		argv[argc++] = d->args[k];
	argv[argc] = NULL;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);
		int i;

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
		unsetenv("VDIFS_DS_CRASH_AT");
		for (i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	d->pid = pid;
	d->owner = parent;
	d->paused = false;

	end = h_now_ms() + H_START_TIMEOUT_MS;
	for (;;) {
		int port = h_read_port(d->port_file);

		if (port > 0 && h_port_open(port)) {
			d->port = port;
			snprintf(d->addr, sizeof(d->addr), "127.0.0.1:%d",
				 port);
			return 0;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			d->pid = 0;
			d->last_status = status;
			fprintf(stderr, "harness: vdifs-ds exited at start (status 0x%x)\n",
				status);
			h_ds_dump_log(d);
			return -ECHILD;
		}
		if (h_now_ms() > end) {
			fprintf(stderr, "harness: vdifs-ds wrote no port file in %d ms\n",
				H_START_TIMEOUT_MS);
			h_ds_dump_log(d);
			h_ds_kill(d);
			return -ETIMEDOUT;
		}
		h_sleep_ms(5);
	}
}

/* a fresh directory for a server of m; does not start it */
static inline int h_ds_init(struct h_ds *d, const struct h_mds *m,
			    const struct h_ds_opts *o)
{
	int i;

	memset(d, 0, sizeof(*d));
	d->mds = m;
	if (o && o->capacity)
		snprintf(d->capacity, sizeof(d->capacity), "%s", o->capacity);
	d->args = o ? o->args : NULL;
	snprintf(d->dir, sizeof(d->dir), "%s/ds.XXXXXX", h_tmp_base());
	if (!mkdtemp(d->dir)) {
		d->dir[0] = '\0';
		return -errno;
	}
	snprintf(d->data, sizeof(d->data), "%s/data", d->dir);
	snprintf(d->port_file, sizeof(d->port_file), "%s/port", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/ds.log", d->dir);
	if (mkdir(d->data, 0700))
		return -errno;
	if (!h_ds_atexit_done) {
		atexit(h_ds_cleanup_all);
		h_ds_atexit_done = true;
	}
	for (i = 0; i < H_DS_MAX; i++) {
		if (!h_ds_all[i]) {
			h_ds_all[i] = d;
			break;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* a fresh server of m, started and up at the MDS */
static inline int h_ds_start(struct h_ds *d, const struct h_mds *m,
			     const struct h_ds_opts *o)
{
	int ret = h_ds_init(d, m, o);

	if (!ret)
		ret = h_ds_launch(d, o ? o->env : NULL);
	if (!ret)
		ret = h_ds_wait_up(d, H_DS_UP_TIMEOUT_MS);
	return ret;
}

/* n fresh servers, started together, then waited for; 0 or -errno */
static inline int h_ds_start_n(struct h_ds *ds, int n, const struct h_mds *m,
			       const struct h_ds_opts *o)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = h_ds_init(&ds[i], m, o);
		if (!ret)
			ret = h_ds_launch(&ds[i], o ? o->env : NULL);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		ret = h_ds_wait_up(&ds[i], H_DS_UP_TIMEOUT_MS);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Stop with sig (none when it is not running: after a crash) and start
 * again on the same data directory with env; waits until it is up.  The
 * port is new; the id must not be: -ESTALE if the MDS gave another one
 * (d->id is then the new id).
 */
static inline int h_ds_restart(struct h_ds *d, int sig,
			       const char *const *env)
{
	u32 old = d->id;
	int ret;

	h_ds_stop(d, sig);
	ret = h_ds_launch(d, env);
	if (!ret)
		ret = h_ds_wait_up(d, H_DS_UP_TIMEOUT_MS);
	if (!ret && old && d->id != old) {
		fprintf(stderr, "harness: vdifs-ds came back as id %u, was %u\n",
			d->id, old);
		return -ESTALE;
	}
	return ret;
}

/* ---- talking to it ---- */

static inline int h_ds_connect_role(const struct h_ds *d, u32 role,
				    int timeout_ms, struct vdc_conn **out)
{
	struct vdc_opts o = {
		.role = role,
		.timeout_ms = timeout_ms,
		.name = "test-host",
	};
	u8 key[80];
	size_t klen = 0;

	const char *hex = h_role_key_hex(d->mds, role);

	*out = NULL;
	o.insecure = !hex[0];
	if (hex[0]) {
		if (vdc_key_parse_hex(hex, key, sizeof(key), &klen))
			return -EINVAL;
		o.key = key;
		o.key_len = klen;
	}
	return vdc_connect(d->addr, &o, out);
}

/* a connected client (VDIFS_ROLE_CLIENT, 10 s timeout), or a failure */
static inline struct vdc_conn *h_ds_connect(const struct h_ds *d)
{
	struct vdc_conn *c = NULL;
	int ret = h_ds_connect_role(d, VDIFS_ROLE_CLIENT, 10000, &c);

	ck_assert_msg(ret == 0, "connect to vdifs-ds %s: %s", d->addr,
		      h_err(ret));
	ck_assert_ptr_nonnull(c);
	return c;
}

/*
 * A chunk reference for the replica set ds[0..nrep-1] (ds[0] is the
 * primary); the servers must have been up (their ids known).
 */
static inline void h_chunk_ref(struct vdc_chunk_ref *r, u64 chunk_id,
			       u32 chunk_size, u32 extent_size, u8 repl_mode,
			       unsigned int nrep, struct h_ds *const *ds)
{
	unsigned int i;

	ck_assert_uint_ge(nrep, 1);
	ck_assert_uint_le(nrep, VDIFS_MAX_REPLICAS);
	memset(r, 0, sizeof(*r));
	r->chunk_id = chunk_id;
	r->chunk_size = chunk_size;
	r->extent_size = extent_size;
	r->nrep = (u8)nrep;
	r->repl_mode = repl_mode;
	for (i = 0; i < nrep; i++) {
		ck_assert_msg(ds[i]->id, "replica %u has no id yet", i);
		r->ds[i] = ds[i]->id;
	}
}

/* DATA/chunks/<id %016llx> of a server */
static inline void h_ds_chunk_path(const struct h_ds *d, u64 chunk_id,
				   char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/chunks/%016llx", d->data,
		 (unsigned long long)chunk_id);
}

#endif /* _VDIFS_TEST_HARNESS_DS_H */
