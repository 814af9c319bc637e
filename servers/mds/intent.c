// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds intents: the data-server calls of snapshots and clones made
 * before, never inside, the write transaction that records them.
 *
 * Snapshot, clone, clone-into, revert, clone-range and fork all make
 * copy-on-write clones of chunks on their data servers (CHUNK_CLONE).
 * Made inside the committer's transaction, a slow data server would hold
 * every metadata mutation of the farm for as long as it took.  So such an
 * op is prepared first, in a worker:
 *
 *   1. the chunks it will clone are read (a read transaction), fresh ids
 *      are taken for their clones, and an intent record naming them is
 *      committed on its own (intent);
 *   2. the data servers make the clones (call), the committer going on
 *      with other work meanwhile;
 *   3. the op runs in the committer as before, taking each clone it needs
 *      from the prepared ones (prep_take) instead of calling a server;
 *      its transaction deletes the intent and hands the clones it did not
 *      use to the collector (commit).
 *
 * If the file changed between 1 and 3 so that a clone is missing (a chunk
 * allocated or re-replicated meanwhile), the op is prepared again.  An
 * intent left behind (the op failed, or the MDS died before its commit)
 * names clones that nothing records: the reconciler hands them to the
 * collector, at start-up and every little while after, skipping intents
 * still in progress.  The bases a prepared clone froze stay frozen, and a
 * writer of such a base has it forked (LAYOUT_FORK), as before.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mds.h"

#define PREP_MAX	(1u << 20)	/* clones one op may prepare */

/* the on-disk intent: its clones, each with the base it starts from */
struct mds_intent_ent {
	struct vdifs_chunk base;
	__le64 clone_id;
};

_Static_assert(sizeof(struct mds_intent_ent) == sizeof(struct vdifs_chunk) + 8,
	       "on-disk size");

/* intents in progress, which the reconciler leaves alone */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static u64 live[1024];

static bool live_add(u64 id)
{
	bool ok = false;
	size_t i;

	pthread_mutex_lock(&live_lock);
	for (i = 0; i < sizeof(live) / sizeof(live[0]) && !ok; i++) {
		if (!live[i]) {
			live[i] = id;
			ok = true;
		}
	}
	pthread_mutex_unlock(&live_lock);
	return ok;
}

static void live_del(u64 id)
{
	size_t i;

	pthread_mutex_lock(&live_lock);
	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == id)
			live[i] = 0;
	pthread_mutex_unlock(&live_lock);
}

static bool is_live(u64 id)
{
	bool yes = false;
	size_t i;

	pthread_mutex_lock(&live_lock);
	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		yes |= live[i] == id;
	pthread_mutex_unlock(&live_lock);
	return yes;
}

void prep_free(struct mds_prep *p)
{
	if (!p)
		return;
	if (p->intent)
		live_del(p->intent);
	free(p->v);
	free(p);
}

/* the bases: chunks [first, first+count) of (vol, ino), each times over */
static int prep_collect(struct mds *m, MDB_txn *t, struct mds_prep *p,
			u32 vol, u64 ino, u64 first, u64 count,
			unsigned int times)
{
	u8 k[MDS_KEY_BUF];
	MDB_val key = { key_u64(k, vol, ino, first), k }, val;
	MDB_cursor *cur;
	int rc, ret = 0;

	rc = mdb_cursor_open(t, m->db.chunks, &cur);
	if (rc)
		return db_err(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct vdifs_chunk c;
		unsigned int i;

		if (key.mv_size != 20 || memcmp(key.mv_data, k, 12) ||
		    get_be64((u8 *)key.mv_data + 12) - first >= count)
			break;
		if (val.mv_size != sizeof(c))
			continue;
		memcpy(&c, val.mv_data, sizeof(c));
		if (!c.chunk_id)
			continue;
		for (i = 0; i < times; i++) {
			if (p->n == p->cap) {
				struct mds_prep_clone *v;

				if (p->cap >= PREP_MAX) {
					ret = -E2BIG;
					goto out;
				}
				p->cap = p->cap ? p->cap * 2 : 16;
				v = realloc(p->v, p->cap * sizeof(*v));
				if (!v) {
					ret = -ENOMEM;
					goto out;
				}
				p->v = v;
			}
			memset(&p->v[p->n], 0, sizeof(p->v[0]));
			p->v[p->n++].base = c;
		}
	}
	if (rc && rc != MDB_NOTFOUND)
		ret = db_err(rc);
out:
	mdb_cursor_close(cur);
	return ret;
}

/* ids for the clones and the intent record, committed on their own */
static int prep_intent(struct mds *m, struct mds_prep *p)
{
	struct mds_intent_ent *e;
	MDB_txn *t;
	unsigned int i;
	u8 k[8];
	int ret;

	e = calloc(p->n ? p->n : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	ret = db_err(mdb_txn_begin(m->db.env, NULL, 0, &t));
	if (ret)
		goto out_free;
	ret = db_counter_next(t, &m->db, "next_intent", &p->intent);
	/* in progress before it exists for the reconciler */
	if (!ret && !live_add(p->intent)) {
		p->intent = 0;
		ret = -EBUSY;	/* too many at once: the caller retries */
	}
	for (i = 0; i < p->n && !ret; i++) {
		ret = mds_chunk_id(m, t, &p->v[i].id);
		e[i].base = p->v[i].base;
		e[i].clone_id = cpu_to_le64(p->v[i].id);
	}
	if (!ret) {
		put_be64(k, p->intent);
		ret = db_put(t, m->db.intents, k, 8, e, p->n * sizeof(*e), 0);
	}
	if (!ret)
		ret = db_err(mdb_txn_commit(t));
	else
		mdb_txn_abort(t);
	if (ret && p->intent) {
		live_del(p->intent);
		p->intent = 0;
	}
out_free:
	free(e);
	return ret;
}

/*
 * The CHUNK_CLONEs, a thread per primary data server (up to PREP_THREADS;
 * more servers share them), the servers in parallel so that a slow one
 * delays only its share.  A server gets its clones in as few messages as
 * it takes (dsrpc_chunk_clones()): one by one, the messages, not the
 * clones, were most of a big file's snapshot.
 */
#define PREP_THREADS	16

struct prep_worker {
	struct mds *m;
	struct mds_prep *p;
	const struct mds_inode *in;
	const u32 *slot;	/* each clone's server, by index in ds */
	const u32 *ds;
	unsigned int nds;
	unsigned int me;
	int ret;
};

/* server k's clones, of w->p's */
static int prep_server(struct prep_worker *w, unsigned int k)
{
	struct mds_prep *p = w->p;
	struct dsrpc_clone *v = calloc(p->n, sizeof(*v));
	unsigned int *which = calloc(p->n, sizeof(*which));
	int *rets = calloc(p->n, sizeof(*rets));
	unsigned int i, n = 0;
	int ret = 0;

	if (!v || !which || !rets) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < p->n; i++) {
		if (w->slot[i] != k)
			continue;
		v[n] = (struct dsrpc_clone){ .base = &p->v[i].base,
					     .chunk_id = p->v[i].id };
		which[n++] = i;
	}
	dsrpc_chunk_clones(w->m, w->ds[k], v, n, &w->in->attr.params, rets);
	for (i = 0; i < n && !ret; i++) {
		/* a base never written there: the clone starts empty */
		ret = rets[i] == -ENOENT ? 0 : rets[i];
		if (ret)
			log_err("clone of chunk %llu: %s",
				(unsigned long long)
				le64_to_cpu(p->v[which[i]].base.chunk_id),
				strerror(-ret));
	}
out_free:
	free(v);
	free(which);
	free(rets);
	return ret;
}

static void *prep_worker(void *arg)
{
	struct prep_worker *w = arg;
	unsigned int k;

	for (k = w->me; k < w->nds && !w->ret; k += PREP_THREADS)
		w->ret = prep_server(w, k);
	return NULL;
}

static int prep_calls(struct mds *m, struct mds_prep *p,
		      const struct mds_inode *in)
{
	struct prep_worker w[PREP_THREADS];
	pthread_t th[PREP_THREADS];
	bool started[PREP_THREADS];
	u32 *ds = calloc(p->n ? p->n : 1, sizeof(*ds));
	u32 *slot = calloc(p->n ? p->n : 1, sizeof(*slot));
	unsigned int nds = 0, nw, i, k;
	int ret = 0;

	if (!ds || !slot) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < p->n; i++) {
		u32 id = le32_to_cpu(p->v[i].base.ds[0]);

		for (k = 0; k < nds && ds[k] != id; k++)
			;
		if (k == nds)
			ds[nds++] = id;
		slot[i] = k;
	}
	nw = nds < PREP_THREADS ? nds : PREP_THREADS;
	for (k = 0; k < nw; k++) {
		w[k] = (struct prep_worker){ .m = m, .p = p, .in = in,
					     .slot = slot, .ds = ds,
					     .nds = nds, .me = k };
		started[k] = !pthread_create(&th[k], NULL, prep_worker, &w[k]);
	}
	for (k = 0; k < nw; k++) {
		if (started[k])
			pthread_join(th[k], NULL);
		else
			prep_worker(&w[k]);	/* no thread: here */
		if (!ret)
			ret = w[k].ret;
	}
out_free:
	free(ds);
	free(slot);
	return ret;
}

int prep_clones(struct mds *m, u32 vol, u64 ino, u64 first, u64 count,
		unsigned int times, struct mds_prep **out)
{
	struct mds_prep *p = calloc(1, sizeof(*p));
	struct mds_inode in;
	MDB_txn *t;
	int ret;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (ret)
		goto out_free;
	ret = inode_get(m, t, vol, ino, &in);
	if (!ret)
		ret = prep_collect(m, t, p, vol, ino, first, count, times);
	mdb_txn_abort(t);
	/* nothing to clone (an empty file): nothing to record or call */
	if (!ret && p->n)
		ret = prep_intent(m, p);
	if (ret)
		goto out_free;
	/* the data servers make the clones: no transaction is open */
	ret = prep_calls(m, p, &in);
	if (ret)
		goto out_free;
	/* the clones are made, nothing records them yet (tests) */
	srv_crash_point("VDIFS_MDS_CRASH_AT", "after_prepare");
	*out = p;
	return 0;

out_free:
	/* an intent written stays for the reconciler: its clones go */
	prep_free(p);
	return ret;
}

int prep_take(struct mds_prep *p, const struct vdifs_chunk *base, u64 *id)
{
	unsigned int i;

	for (i = 0; p && i < p->n; i++) {
		struct mds_prep_clone *pc = &p->v[i];

		/* made on the servers of this very set, or of no use */
		if (pc->used || pc->base.chunk_id != base->chunk_id ||
		    pc->base.nrep != base->nrep ||
		    memcmp(pc->base.ds, base->ds, sizeof(base->ds)))
			continue;
		pc->used = true;
		*id = pc->id;
		return 0;
	}
	return MDS_REPREPARE;
}

int prep_commit(struct mds *m, MDB_txn *t, struct mds_prep *p)
{
	unsigned int i;
	u8 k[8];
	int ret = 0;

	if (!p || !p->intent)
		return 0;
	for (i = 0; i < p->n && !ret; i++) {
		struct vdifs_chunk c = p->v[i].base;

		if (p->v[i].used)
			continue;
		c.chunk_id = cpu_to_le64(p->v[i].id);
		ret = gc_record(m, t, &c, false);
	}
	put_be64(k, p->intent);
	return ret ? ret : db_del(t, m->db.intents, k, 8);
}

/* intents nobody is working on: their clones go to the collector */
static void reconcile(struct mds *m)
{
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_txn *t;
	int rc, n = 0;

	if (mdb_txn_begin(m->db.env, NULL, 0, &t))
		return;
	if (mdb_cursor_open(t, m->db.intents, &cur)) {
		mdb_txn_abort(t);
		return;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		size_t i, ne = val.mv_size / sizeof(struct mds_intent_ent);
		u64 id;

		if (key.mv_size != 8)
			continue;
		id = get_be64(key.mv_data);
		if (is_live(id))
			continue;
		for (i = 0; i < ne; i++) {
			struct mds_intent_ent e;

			memcpy(&e, (u8 *)val.mv_data + i * sizeof(e),
			       sizeof(e));
			e.base.chunk_id = e.clone_id;
			if (gc_record(m, t, &e.base, false))
				goto out_abort;
		}
		if (mdb_cursor_del(cur, 0))
			goto out_abort;
		log_info("intent %llu: not done; its %zu clones go",
			 (unsigned long long)id, ne);
		n++;
	}
	mdb_cursor_close(cur);
	if (n)
		mdb_txn_commit(t);
	else
		mdb_txn_abort(t);
	return;

out_abort:
	mdb_cursor_close(cur);
	mdb_txn_abort(t);
}

static void *reconciler(void *arg)
{
	struct mds *m = arg;

	for (;;) {
		reconcile(m);
		sleep(10);
	}
	return NULL;
}

int intent_start(struct mds *m)
{
	pthread_t th;

	if (pthread_create(&th, NULL, reconciler, m))
		return -EAGAIN;
	pthread_detach(th);
	return 0;
}
