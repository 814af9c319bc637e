// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds chunk collector: data-server space of chunks nobody
 * references any more.
 *
 * The transaction that drops a chunk records it in the gc table with a
 * bit per replica still to be told (struct mds_gc_rec), so deletion never
 * waits on a data server.  Each replica is told on its own (a CHUNK_DELETE
 * naming it alone), and its bit is cleared once it confirms; the record
 * goes when no bit is left.  A server that is down keeps its bits until
 * it is back.
 *
 * One worker thread per data server makes the calls, so a server that is
 * slow, stalled or gone holds up only its own deletes.  The scanner walks
 * the table a bounded slice per round, from where the last round stopped,
 * and hands each idle worker of an up server a batch of its pending
 * deletes; it commits what the workers confirmed in one transaction per
 * round.  A delete may be sent twice (a batch confirmed after the next
 * scan saw the record): the data server answers ENOENT for a chunk it
 * already dropped, which counts as confirmed.
 *
 * The copies of servers taken out of a live chunk's set are kept for
 * down_out_s (the record's keep_until): if a server returns within it,
 * the recovery catches its copy up and puts it back in the set
 * (gc_cancel in the same transaction) rather than copying the chunk
 * whole elsewhere.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mds.h"

#define GC_BATCH	64	/* deletes handed to a worker at once */
#define GC_SCAN		4096	/* records looked at per round */

static u32 now_s(void)
{
	return (u32)time(NULL);
}

struct gc_worker {
	u32 ds_id;
	pthread_cond_t cond;		/* work arrived */
	/* all below under gc_lock */
	bool busy;			/* holds a batch not yet done */
	unsigned int n;
	u64 ids[GC_BATCH];
	unsigned int ndone;
	u64 done[GC_BATCH];
};

/* gc_lock guards the workers' batches and results, and nworkers */
static pthread_mutex_t gc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gc_worker *workers[MDS_MAX_DS];
static unsigned int nworkers;

struct gc_arg {
	struct mds *m;
	struct gc_worker *w;
};

static void *gc_worker_thread(void *arg)
{
	struct gc_arg *a = arg;
	struct mds *m = a->m;
	struct gc_worker *w = a->w;

	free(a);
	for (;;) {
		u64 ids[GC_BATCH];
		bool ok[GC_BATCH];
		unsigned int n, i;

		pthread_mutex_lock(&gc_lock);
		while (!w->busy || !w->n)
			pthread_cond_wait(&w->cond, &gc_lock);
		n = w->n;
		memcpy(ids, w->ids, n * sizeof(ids[0]));
		pthread_mutex_unlock(&gc_lock);
		for (i = 0; i < n; i++) {
			int ret = dsrpc_chunk_delete_one(m, w->ds_id, ids[i]);

			ok[i] = !ret || ret == -ENOENT;
			if (!ok[i])
				log_debug("gc: chunk %llu on ds %u: %s, later",
					  (unsigned long long)ids[i], w->ds_id,
					  strerror(-ret));
		}
		pthread_mutex_lock(&gc_lock);
		for (i = 0; i < n; i++)
			if (ok[i] && w->ndone < GC_BATCH)
				w->done[w->ndone++] = ids[i];
		w->n = 0;
		w->busy = false;
		pthread_mutex_unlock(&gc_lock);
	}
	return NULL;
}

/* the worker for a data server, started on first use; under gc_lock */
static struct gc_worker *gc_worker_get(struct mds *m, u32 ds_id)
{
	struct gc_worker *w;
	struct gc_arg *a;
	pthread_t th;
	unsigned int i;

	for (i = 0; i < nworkers; i++)
		if (workers[i]->ds_id == ds_id)
			return workers[i];
	if (nworkers == MDS_MAX_DS)
		return NULL;
	w = calloc(1, sizeof(*w));
	a = malloc(sizeof(*a));
	if (!w || !a)
		goto out_free;
	w->ds_id = ds_id;
	pthread_cond_init(&w->cond, NULL);
	a->m = m;
	a->w = w;
	if (pthread_create(&th, NULL, gc_worker_thread, a)) {
		pthread_cond_destroy(&w->cond);
		goto out_free;
	}
	pthread_detach(th);
	workers[nworkers++] = w;
	return w;

out_free:
	free(a);
	free(w);
	return NULL;
}

/* the bits of replicas still to tell; records of before the bits: all */
static u32 gc_pending(const MDB_val *v, struct mds_gc_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	if (v->mv_size == sizeof(rec->c)) {
		memcpy(&rec->c, v->mv_data, sizeof(rec->c));
		if (rec->c.nrep > VDIFS_MAX_REPLICAS)
			return 0;
		return (1u << rec->c.nrep) - 1;
	}
	if (v->mv_size != sizeof(*rec))
		return 0;
	memcpy(rec, v->mv_data, sizeof(*rec));
	if (rec->c.nrep > VDIFS_MAX_REPLICAS)
		return 0;
	return le32_to_cpu(rec->pending) & ((1u << rec->c.nrep) - 1);
}

/* clear the confirmed replicas' bits; drop records with none left */
static int gc_apply(struct mds *m, u32 ds_id, const u64 *ids, unsigned int n)
{
	MDB_txn *t;
	unsigned int i;
	int ret = 0;

	if (!n)
		return 0;
	ret = db_err(mdb_txn_begin(m->db.env, NULL, 0, &t));
	if (ret)
		return ret;
	for (i = 0; i < n && !ret; i++)
		ret = gc_cancel(m, t, ids[i], ds_id);
	if (ret) {
		mdb_txn_abort(t);
		return ret;
	}
	return db_err(mdb_txn_commit(t));
}

/* commit what every worker confirmed since the last round */
static void gc_collect(struct mds *m)
{
	unsigned int i;

	for (i = 0;; i++) {
		struct gc_worker *w;
		u64 done[GC_BATCH];
		unsigned int n;
		u32 id;

		pthread_mutex_lock(&gc_lock);
		if (i >= nworkers) {
			pthread_mutex_unlock(&gc_lock);
			break;
		}
		w = workers[i];
		n = w->ndone;
		memcpy(done, w->done, n * sizeof(done[0]));
		w->ndone = 0;
		id = w->ds_id;
		pthread_mutex_unlock(&gc_lock);
		if (gc_apply(m, id, done, n))
			log_warn("gc: could not record deletes on ds %u", id);
	}
}

/*
 * One slice of the table from *from: batches for idle workers of up
 * servers.  Returns true when there was something to hand out.
 */
static bool gc_scan(struct mds *m, u64 *from)
{
	MDB_txn *t;
	MDB_cursor *cur;
	MDB_val k, v;
	u8 key[8];
	unsigned int seen = 0, i;
	bool work = false;
	u32 now = now_s();
	int rc;

	if (mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t))
		return false;
	if (mdb_cursor_open(t, m->db.gc, &cur)) {
		mdb_txn_abort(t);
		return false;
	}
	put_be64(key, *from);
	k.mv_size = 8;
	k.mv_data = key;
	pthread_mutex_lock(&gc_lock);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     !rc && seen < GC_SCAN;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), seen++) {
		struct mds_gc_rec rec;
		u32 pend, r;
		u64 id;

		if (k.mv_size != 8)
			continue;
		id = get_be64(k.mv_data);
		*from = id + 1;
		pend = gc_pending(&v, &rec);
		/* copies kept for their servers' return: not yet */
		if (le32_to_cpu(rec.keep_until) > now)
			continue;
		for (r = 0; r < rec.c.nrep; r++) {
			u32 ds = le32_to_cpu(rec.c.ds[r]);
			struct gc_worker *w;

			if (!(pend & (1u << r)) || !member_ds_up(m, ds))
				continue;
			w = gc_worker_get(m, ds);
			if (!w || w->busy || w->n == GC_BATCH)
				continue;
			w->ids[w->n++] = id;
			work = true;
		}
	}
	if (rc == MDB_NOTFOUND)
		*from = 0;	/* the end: next round starts over */
	for (i = 0; i < nworkers; i++) {
		if (workers[i]->n && !workers[i]->busy) {
			workers[i]->busy = true;
			pthread_cond_signal(&workers[i]->cond);
		}
	}
	pthread_mutex_unlock(&gc_lock);
	mdb_cursor_close(cur);
	mdb_txn_abort(t);
	return work;
}

static void *gc_thread(void *arg)
{
	struct mds *m = arg;
	u64 from = 0;
	bool work = false;

	for (;;) {
		usleep(work ? 200 * 1000 : 1000 * 1000);
		gc_collect(m);
		work = gc_scan(m, &from);
	}
	return NULL;
}

int gc_start(struct mds *m)
{
	pthread_t th;

	if (pthread_create(&th, NULL, gc_thread, m))
		return -EAGAIN;
	pthread_detach(th);
	return 0;
}

int gc_record(struct mds *m, MDB_txn *t, const struct vdifs_chunk *c,
	      bool keep)
{
	struct mds_gc_rec rec = { .c = *c }, old = { 0 };
	u32 until = keep && m->cfg.down_out_s ?
		    now_s() + m->cfg.down_out_s : 0;
	MDB_val k8, v;
	unsigned int i, k;
	u8 key[8];
	int rc;

	if (!c->chunk_id || c->nrep > VDIFS_MAX_REPLICAS)
		return 0;
	rec.pending = cpu_to_le32((1u << c->nrep) - 1);
	rec.keep_until = cpu_to_le32(until);
	put_be64(key, le64_to_cpu(c->chunk_id));
	k8.mv_size = 8;
	k8.mv_data = key;
	rc = mdb_get(t, m->db.gc, &k8, &v);
	if (rc && rc != MDB_NOTFOUND)
		return db_err(rc);
	if (!rc && (v.mv_size == sizeof(old) ||
		    v.mv_size == sizeof(old.c))) {
		memcpy(&old, v.mv_data, v.mv_size);
		if (v.mv_size == sizeof(old.c))	/* before the bits */
			old.pending = cpu_to_le32((1u << old.c.nrep) - 1);
	}
	if (!rc && old.c.chunk_id && old.c.nrep <= VDIFS_MAX_REPLICAS) {
		/*
		 * Copies of the chunk already to go (servers taken out of its
		 * set): theirs and these go together, each once.
		 */
		rec = old;
		for (i = 0; i < c->nrep; i++) {
			for (k = 0; k < rec.c.nrep; k++)
				if (rec.c.ds[k] == c->ds[i])
					break;
			if (k == rec.c.nrep) {
				if (k == VDIFS_MAX_REPLICAS) {
					log_warn("chunk %016llx: no room to free its copy on data server %u",
						 (unsigned long long)le64_to_cpu(c->chunk_id),
						 le32_to_cpu(c->ds[i]));
					continue;
				}
				rec.c.ds[k] = c->ds[i];
				rec.c.nrep++;
			}
			rec.pending = cpu_to_le32(le32_to_cpu(rec.pending) |
						  1u << k);
		}
		/* a chunk freed keeps nothing; leavers, the later time */
		if (until && le32_to_cpu(rec.keep_until) > until)
			until = le32_to_cpu(rec.keep_until);
		rec.keep_until = cpu_to_le32(until);
	}
	return db_put(t, m->db.gc, key, 8, &rec, sizeof(rec), 0);
}

/* chunk id's record in t into *rec; its pending bits, or -errno */
static int gc_get(struct mds *m, MDB_txn *t, u64 id, struct mds_gc_rec *rec)
{
	MDB_val k8, v;
	u8 key[8];
	int rc;

	put_be64(key, id);
	k8.mv_size = 8;
	k8.mv_data = key;
	rc = mdb_get(t, m->db.gc, &k8, &v);
	if (rc)
		return db_err(rc);
	return (int)gc_pending(&v, rec);
}

int gc_cancel(struct mds *m, MDB_txn *t, u64 id, u32 ds)
{
	struct mds_gc_rec rec;
	unsigned int r;
	u8 key[8];
	int pend;

	pend = gc_get(m, t, id, &rec);
	if (pend == -ENOENT)
		return 0;
	if (pend < 0)
		return pend;
	for (r = 0; r < rec.c.nrep; r++)
		if (le32_to_cpu(rec.c.ds[r]) == ds)
			pend &= ~(1 << r);
	put_be64(key, id);
	if (!pend)
		return db_del(t, m->db.gc, key, 8);
	rec.pending = cpu_to_le32((u32)pend);
	return db_put(t, m->db.gc, key, 8, &rec, sizeof(rec), 0);
}

int gc_pending_of(struct mds *m, u64 id, u32 *ds, unsigned int max,
		  u32 *keep_until)
{
	struct mds_gc_rec rec;
	unsigned int r, n = 0;
	MDB_txn *t;
	int pend;

	*keep_until = 0;
	pend = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (pend)
		return pend;
	pend = gc_get(m, t, id, &rec);
	mdb_txn_abort(t);
	if (pend == -ENOENT)
		return 0;
	if (pend < 0)
		return pend;
	for (r = 0; r < rec.c.nrep && n < max; r++)
		if (pend & (1 << r))
			ds[n++] = le32_to_cpu(rec.c.ds[r]);
	*keep_until = le32_to_cpu(rec.keep_until);
	return (int)n;
}

bool gc_due_on(struct mds *m, u32 ds)
{
	u32 now = now_s();
	struct mds_gc_rec rec;
	MDB_val k, v;
	MDB_cursor *cur;
	bool due = false;
	MDB_txn *t;
	int rc;

	if (mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t))
		return true;	/* cannot tell: assume so */
	if (mdb_cursor_open(t, m->db.gc, &cur)) {
		mdb_txn_abort(t);
		return true;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && !due;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		u32 pend = gc_pending(&v, &rec);
		unsigned int r;

		if (le32_to_cpu(rec.keep_until) > now)
			continue;
		for (r = 0; r < rec.c.nrep; r++)
			due |= (pend & (1u << r)) &&
			       le32_to_cpu(rec.c.ds[r]) == ds;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(t);
	return due;
}

int gc_keep(struct mds *m, u64 id, u32 until)
{
	struct mds_gc_rec rec;
	MDB_txn *t;
	u8 key[8];
	int ret;

	ret = db_err(mdb_txn_begin(m->db.env, NULL, 0, &t));
	if (ret)
		return ret;
	ret = gc_get(m, t, id, &rec);
	if (ret > 0 && (!until || le32_to_cpu(rec.keep_until) < until)) {
		rec.keep_until = cpu_to_le32(until);
		put_be64(key, id);
		ret = db_put(t, m->db.gc, key, 8, &rec, sizeof(rec), 0);
	} else if (ret > 0) {
		ret = 0;
	}
	if (ret) {
		mdb_txn_abort(t);
		return ret == -ENOENT ? 0 : ret;
	}
	return db_err(mdb_txn_commit(t));
}
