// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds request scheduling: connections, the reader pool and the
 * group committer.
 *
 * A thread per connection reads and decodes requests and hands each on,
 * so one connection (a mount's) has many requests in flight, answered as
 * they finish:
 *   - reads (a read transaction, or none) go to a pool of workers and run
 *     in parallel;
 *   - mutations go to the committer, one thread that takes every mutation
 *     queued, runs each in a nested transaction of one write transaction
 *     (a failing one rolls back alone) and commits them together: N
 *     concurrent creates cost one sync, not N.  Their replies go out once
 *     the commit is durable, so an acknowledged change is never lost, and
 *     a read that follows a reply sees the change.
 * HELLO and AUTH run in the reader, in order, before anything else.  A
 * connection carries at most MDS_CONN_INFLIGHT requests; its reader
 * stops reading while that many are out (back-pressure on the client).
 *
 * A connection is shared by its reader and its requests in flight: refs
 * counts them (under conn_lock), the last one closes it; replies are
 * written whole under its wlock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "mds.h"
#include "msg.h"

#define MDS_WORKERS		4
#define MDS_COMMIT_BATCH	64
#define MDS_CONN_INFLIGHT	64

struct mds_job {
	struct mds *m;
	struct mds_conn *c;
	const struct mds_op *o;
	struct vdc_msg msg;
	struct wire_body body;
	struct mds_reply r;
	u8 txn;			/* the transaction it runs in: MDS_TXN_* */
	u64 session;		/* its connection's when it was queued */
	bool prepared;		/* its op's prepare() has run (intent.c) */
	unsigned int preps;	/* how many times */
	int ret;
	struct mds_job *next;
};

struct job_queue {
	pthread_mutex_t lock;		/* guards head, tail */
	pthread_cond_t cond;		/* work arrived */
	struct mds_job *head, *tail;
};

static struct job_queue readq = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL
};
static struct job_queue commitq = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL
};

/* conn_lock guards every connection's refs and inflight */
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conn_cond = PTHREAD_COND_INITIALIZER;

static void conn_put(struct mds_conn *c)
{
	bool last;

	pthread_mutex_lock(&conn_lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&conn_lock);
	if (last) {
		close(c->fd);
		srv_release(&c->m->cfg.limits, &c->addr);
		pthread_mutex_destroy(&c->wlock);
		free(c);
	}
}

static void q_push(struct job_queue *q, struct mds_job *j)
{
	pthread_mutex_lock(&q->lock);
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* up to max jobs, waiting for the first */
static struct mds_job *q_take(struct job_queue *q, unsigned int max)
{
	struct mds_job *first, *j;
	unsigned int n = 1;

	pthread_mutex_lock(&q->lock);
	while (!q->head)
		pthread_cond_wait(&q->cond, &q->lock);
	first = q->head;
	for (j = first; j->next && n < max; j = j->next)
		n++;
	q->head = j->next;
	if (!q->head)
		q->tail = NULL;
	j->next = NULL;
	pthread_mutex_unlock(&q->lock);
	return first;
}

static void send_reply(struct mds_conn *c, u16 op, u64 req_id, int ret,
		       const struct mds_reply *r)
{
	int wret;

	if (ret) {
		log_debug("%s: %s -> %s", c->peer, wire_op_name(op),
			  strerror(-ret));
	}
	pthread_mutex_lock(&c->wlock);
	wret = msg_write(c->fd, op, VDIFS_MSG_REPLY, req_id, ret,
			 r->fixed, ret ? 0 : r->flen, r->tail,
			 ret ? 0 : r->tlen, NULL, 0);
	pthread_mutex_unlock(&c->wlock);
	if (wret || srv_fatal(op, ret)) {
		if (!wret)
			log_warn("%s: closing after %s: %s", c->peer,
				 wire_op_name(op), strerror(-ret));
		/* the reader sees the end and lets the connection go */
		shutdown(c->fd, SHUT_RDWR);
	}
}

static void job_finish(struct mds_job *j)
{
	struct mds_conn *c = j->c;

	send_reply(c, j->msg.hdr.opcode, j->msg.hdr.req_id, j->ret, &j->r);
	vdc_msg_free(&j->msg);
	free(j->r.tail);
	prep_free(j->r.prep);
	free(j);
	pthread_mutex_lock(&conn_lock);
	c->inflight--;
	pthread_cond_broadcast(&conn_cond);
	pthread_mutex_unlock(&conn_lock);
	conn_put(c);
}

static void *reader_worker(void *arg)
{
	for (;;) {
		struct mds_job *j = q_take(&readq, 1);
		MDB_txn *t = NULL;

		if (j->o->prepare && !j->prepared) {
			/* data-server calls first, then the committer */
			j->ret = j->o->prepare(j->m, &j->body, &j->r.prep);
			j->prepared = true;
			j->preps++;
			if (!j->ret) {
				q_push(&commitq, j);
				continue;
			}
			job_finish(j);
			continue;
		}
		j->ret = 0;
		if (j->txn == MDS_TXN_READ)
			j->ret = db_err(mdb_txn_begin(j->m->db.env, NULL,
						      MDB_RDONLY, &t));
		if (!j->ret)
			j->ret = j->o->fn(j->m, j->c, t, &j->body, &j->r);
		if (t)
			mdb_txn_abort(t);
		job_finish(j);
	}
	return NULL;
}

/*
 * One mutation in its transaction: answered from the session's kept
 * replies if it was done already (a resend), else done and its reply
 * kept with it (replay.c).
 */
static int committer_run(struct mds *m, struct mds_job *j, MDB_txn *t)
{
	int ret;

	if (j->session) {
		ret = replay_lookup(m, t, j->session, j->msg.hdr.req_id, &j->r);
		if (ret) {
			if (ret > 0)
				log_info("%s: %s %llu answered again, not redone",
					 j->c->peer,
					 wire_op_name(j->msg.hdr.opcode),
					 (unsigned long long)j->msg.hdr.req_id);
			/* clones prepared for nothing go */
			if (ret > 0)
				ret = prep_commit(m, t, j->r.prep);
			return ret < 0 ? ret : 0;
		}
	}
	ret = j->o->fn(m, j->c, t, &j->body, &j->r);
	if (!ret)
		ret = prep_commit(m, t, j->r.prep);
	if (!ret && j->session)
		ret = replay_store(m, t, j->session, j->msg.hdr.req_id, &j->r);
	return ret;
}

/*
 * A prepared op that found its file changed goes back for another
 * prepare (its old clones go with its intent, by the reconciler), a few
 * times; then it gives up.
 */
static bool committer_reprepare(struct mds_job *j)
{
	if (j->ret != MDS_REPREPARE)
		return false;
	if (j->preps >= 5) {
		j->ret = -EBUSY;
		return false;
	}
	prep_free(j->r.prep);
	j->r.prep = NULL;
	j->r.flen = 0;
	j->r.tlen = 0;
	j->prepared = false;
	q_push(&readq, j);
	return true;
}

/*
 * Every mutation queued, in order, each in a child of one transaction;
 * one commit (one sync) for all.  A handler sees the changes of those
 * before it in the batch, as if they had been committed one by one.
 */
static void *committer(void *arg)
{
	struct mds *m = arg;

	for (;;) {
		struct mds_job *batch = q_take(&commitq, MDS_COMMIT_BATCH), *j;
		MDB_txn *parent, *child;
		int ret;

		ret = db_err(mdb_txn_begin(m->db.env, NULL, 0, &parent));
		for (j = batch; j; j = j->next) {
			j->ret = ret;
			if (ret)
				continue;
			j->ret = db_err(mdb_txn_begin(m->db.env, parent, 0,
						      &child));
			if (j->ret)
				continue;
			j->ret = committer_run(m, j, child);
			if (j->ret)
				mdb_txn_abort(child);
			else
				j->ret = db_err(mdb_txn_commit(child));
		}
		/* durable before any reply: LMDB syncs on commit */
		if (!ret) {
			ret = db_err(mdb_txn_commit(parent));
			for (j = batch; j && ret; j = j->next)
				if (!j->ret)
					j->ret = ret;
			/* done, the replies lost: tests of replay.c */
			for (j = batch; j && !ret; j = j->next) {
				char point[48];

				snprintf(point, sizeof(point),
					 "after_commit_%s",
					 wire_op_name(j->msg.hdr.opcode));
				srv_crash_point("VDIFS_MDS_CRASH_AT", point);
			}
		}
		while (batch) {
			j = batch;
			batch = j->next;
			if (!committer_reprepare(j))
				job_finish(j);
		}
	}
	return NULL;
}

int sched_start(struct mds *m)
{
	pthread_t th;
	int i;

	if (pthread_create(&th, NULL, committer, m))
		return -EAGAIN;
	pthread_detach(th);
	for (i = 0; i < MDS_WORKERS; i++) {
		if (pthread_create(&th, NULL, reader_worker, NULL))
			return -EAGAIN;
		pthread_detach(th);
	}
	return 0;
}

/* the handler of op, or NULL */
static const struct mds_op *op_find(u16 op)
{
	if (op >= VDIFS_OP_MAX)
		return NULL;
	if (ns_ops[op].fn)
		return &ns_ops[op];
	if (vol_ops[op].fn)
		return &vol_ops[op];
	if (xattr_ops[op].fn)
		return &xattr_ops[op];
	if (layout_ops[op].fn)
		return &layout_ops[op];
	if (member_ops[op].fn)
		return &member_ops[op];
	if (session_ops[op].fn)
		return &session_ops[op];
	if (snap_ops[op].fn)
		return &snap_ops[op];
	if (recovery_ops[op].fn)
		return &recovery_ops[op];
	if (db_ops[op].fn)
		return &db_ops[op];
	if (scrub_ops[op].fn)
		return &scrub_ops[op];
	if (principal_ops[op].fn)
		return &principal_ops[op];
	if (access_ops[op].fn)
		return &access_ops[op];
	return NULL;
}

/*
 * Who may ask what, by the role a peer gave in HELLO: data servers
 * register and heartbeat, administration is the tools'.  With a key per
 * role (client_key_file, admin_key_file) the role is what the peer proved
 * in AUTH; with one key for all, it is what the peer says.
 */
static bool op_allowed(u16 op, u32 role)
{
	switch (op) {
	case VDIFS_OP_DS_REGISTER:
	case VDIFS_OP_DS_HEARTBEAT:
	case VDIFS_OP_KEY_CHECK:
		return role == VDIFS_ROLE_DS;
	case VDIFS_OP_KEY_ADD:
	case VDIFS_OP_KEY_DELETE:
	case VDIFS_OP_KEY_LIST:
	case VDIFS_OP_ACCESS_SET:
	case VDIFS_OP_ACCESS_LIST:
	case VDIFS_OP_VOL_CREATE:
	case VDIFS_OP_VOL_DELETE:
	case VDIFS_OP_DS_ADMIN:
	case VDIFS_OP_MDS_BACKUP:
	case VDIFS_OP_SCRUB:
		return role == VDIFS_ROLE_TOOL;
	default:
		return true;
	}
}

static int op_hello(struct mds *m, struct mds_conn *c,
		    const struct wire_body *b, struct mds_reply *r)
{
	int ret = srv_hello(&c->auth, &m->keys, m->epoch, b,
			    (struct vdifs_hello_rep *)r->fixed);

	if (!ret) {
		r->flen = sizeof(struct vdifs_hello_rep);
		log_debug("%s: HELLO role %u name '%.*s'", c->peer,
			  c->auth.role, (int)b->tail_len[0],
			  (const char *)b->tail[0]);
	}
	return ret;
}

/*
 * A request in the reader: the handshake runs here; anything else, once
 * the handshake allows it, becomes a job (0) or fails at once (-errno).
 */
static int conn_request(struct mds *m, struct mds_conn *c,
			struct mds_job *j)
{
	u16 op = j->msg.hdr.opcode;
	int ret;

	if (op == VDIFS_OP_HELLO)
		return op_hello(m, c, &j->body, &j->r);
	if (op == VDIFS_OP_AUTH) {
		ret = srv_auth(&c->auth, &m->keys, &j->body,
			       (struct vdifs_auth_rep *)j->r.fixed);
		if (!ret)
			j->r.flen = sizeof(struct vdifs_auth_rep);
		return ret;
	}
	ret = srv_gate(&c->auth);
	if (ret)
		return ret;
	j->o = op_find(op);
	if (!j->o)
		return -EOPNOTSUPP;
	if (!op_allowed(op, c->auth.role))
		return -EPERM;
	j->txn = j->o->txn;
	if (j->txn == MDS_TXN_WRITE && j->o->writes && !j->o->writes(&j->body))
		j->txn = MDS_TXN_READ;
	return access_check(m, c, op, &j->body, j->txn == MDS_TXN_WRITE);
}

static void *conn_reader(void *arg)
{
	struct mds_conn *c = arg;
	struct mds *m = c->m;
	int ret;

	log_debug("%s: connected", c->peer);
	for (;;) {
		struct mds_job *j = calloc(1, sizeof(*j));
		u16 op;

		if (!j)
			break;
		/* an idle peer that never said HELLO is not kept around */
		ret = msg_read_max(c->fd, &j->msg,
				   c->auth.authed ? -1 : SRV_HANDSHAKE_MS,
				   c->auth.authed ? VDIFS_BODY_MAX :
						    SRV_HANDSHAKE_BODY_MAX);
		if (ret) {
			if (ret != -ECONNRESET)
				log_warn("%s: closing: %s", c->peer,
					 strerror(-ret));
			free(j);
			break;
		}
		op = j->msg.hdr.opcode;
		if (j->msg.hdr.flags & VDIFS_MSG_REPLY) {
			log_warn("%s: closing: unsolicited reply", c->peer);
			vdc_msg_free(&j->msg);
			free(j);
			break;
		}
		ret = wire_body_decode(op, false, 0, j->msg.buf,
				       j->msg.hdr.body_len, &j->body);
		if (ret)
			log_warn("%s: %s: bad request: %s", c->peer,
				 wire_op_name(op), strerror(-ret));
		else
			ret = conn_request(m, c, j);
		if (ret || !j->o) {
			/* answered here, in order */
			send_reply(c, op, j->msg.hdr.req_id, ret, &j->r);
			vdc_msg_free(&j->msg);
			free(j->r.tail);
			free(j);
			if (srv_fatal(op, ret))
				break;
			continue;
		}
		j->m = m;
		j->c = c;
		j->session = __atomic_load_n(&c->session, __ATOMIC_ACQUIRE);
		pthread_mutex_lock(&conn_lock);
		while (c->inflight >= MDS_CONN_INFLIGHT)
			pthread_cond_wait(&conn_cond, &conn_lock);
		c->inflight++;
		c->refs++;
		pthread_mutex_unlock(&conn_lock);
		q_push(j->txn == MDS_TXN_WRITE && !j->o->prepare ? &commitq :
		       &readq, j);
	}
	shutdown(c->fd, SHUT_RD);
	conn_put(c);
	return NULL;
}

int sched_conn_start(struct mds *m, int fd,
		     const struct sockaddr_storage *addr, pthread_attr_t *attr)
{
	struct mds_conn *c = calloc(1, sizeof(*c));
	struct vdifs_addr wa;
	pthread_t th;

	if (!c)
		return -ENOMEM;
	c->m = m;
	c->fd = fd;
	c->addr = *addr;
	c->refs = 1;
	pthread_mutex_init(&c->wlock, NULL);
	vdc_addr_to_wire(addr, &wa);
	vdc_addr_format(&wa, c->peer, sizeof(c->peer));
	if (pthread_create(&th, attr, conn_reader, c)) {
		pthread_mutex_destroy(&c->wlock);
		free(c);
		return -EAGAIN;
	}
	return 0;
}
