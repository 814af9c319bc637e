// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds scrub: every copy of every chunk read and checked, bad copies
 * replaced.
 *
 * A pass (SCRUB, from vdifs-tool scrub; every scrub_period_h hours when
 * set) walks the chunk records of a volume, or of all of them, one at a
 * time.  Each up server of a chunk's set reads every block of its copy's
 * own extents and checks it against its checksum (CHUNK_SCRUB).  A copy
 * with a bad block leaves the set, while at least one good copy stays:
 * the collector frees it and the recovery copies the chunk again from a
 * good one, as for a failed server.  A chunk whose every copy is bad is
 * left as it is and reported: its good blocks are still readable.
 *
 * A clone's inherited extents are its base's: they are checked when the
 * base's own record is (a snapshot's chunk); a base that only clones
 * hold is checked through nobody yet.
 *
 * A reader that meets a bad block (LAYOUT_CORRUPT) has that one chunk
 * checked the same way, ahead of any pass: read-triggered repair.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "mds.h"

#define SCRUB_BATCH	64

static pthread_mutex_t scrub_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t scrub_cond = PTHREAD_COND_INITIALIZER;
static bool scrub_wanted;	/* under scrub_lock */
static u32 scrub_vol;		/* under scrub_lock: 0, every volume */

struct scrub_item {
	u32 vol;
	u64 ino, idx;
	struct vdifs_chunk c;
};

/* chunks readers found bad, to check first; under scrub_lock */
#define SCRUB_ASKED_MAX	64
static struct scrub_item scrub_asked[SCRUB_ASKED_MAX];
static unsigned int scrub_nasked;

/* the next records from *cursor on (vol 0: any); 0 at the end */
static unsigned int scrub_scan(struct mds *m, u32 vol, u8 *cursor,
			       size_t *clen, struct scrub_item *out)
{
	MDB_val key = { *clen, cursor }, val;
	unsigned int n = 0;
	MDB_cursor *cur;
	MDB_txn *t;
	int rc;

	if (mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t))
		return 0;
	if (mdb_cursor_open(t, m->db.chunks, &cur)) {
		mdb_txn_abort(t);
		return 0;
	}
	rc = *clen ? mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE) :
		     mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	if (!rc && *clen && key.mv_size == *clen &&
	    !memcmp(key.mv_data, cursor, *clen))
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	for (; !rc && n < SCRUB_BATCH;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct scrub_item *it = &out[n];

		if (key.mv_size != 20 || val.mv_size != sizeof(it->c))
			continue;
		memcpy(cursor, key.mv_data, 20);
		*clen = 20;
		/* LMDB values are not aligned */
		memcpy(&it->c, val.mv_data, sizeof(it->c));
		it->vol = get_be32(key.mv_data);
		if (!it->c.chunk_id || !it->c.nrep ||
		    it->c.nrep > VDIFS_MAX_REPLICAS || (vol && it->vol != vol))
			continue;
		it->ino = get_be64((u8 *)key.mv_data + 4);
		it->idx = get_be64((u8 *)key.mv_data + 12);
		n++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(t);
	return n;
}

/* one chunk: each copy checked, bad ones out of the set while one is good */
static void scrub_chunk(struct mds *m, struct scrub_item *it)
{
	struct vdifs_chunk now = it->c;
	bool bad[VDIFS_MAX_REPLICAS] = { false };
	unsigned int i, n = 0, nbad = 0, checked = 0;

	for (i = 0; i < it->c.nrep; i++) {
		struct vdifs_chunk_scrub_rep sr;
		u32 ds = le32_to_cpu(it->c.ds[i]);

		if (!member_ds_up(m, ds) ||
		    dsrpc_chunk_scrub(m, ds, le64_to_cpu(it->c.chunk_id), &sr))
			continue;	/* not there to ask: the recovery's */
		checked++;
		if (le32_to_cpu(sr.bad)) {
			bad[i] = true;
			nbad++;
			log_err("vol %u inode %llu chunk %llu (%016llx): the copy on data server %u has %u bad extents of %u",
				it->vol, (unsigned long long)it->ino,
				(unsigned long long)it->idx,
				(unsigned long long)le64_to_cpu(it->c.chunk_id),
				ds, le32_to_cpu(sr.bad),
				le32_to_cpu(sr.extents));
		}
	}
	pthread_mutex_lock(&m->lock);
	m->scrub_checked += checked;
	m->scrub_bad += nbad;
	pthread_mutex_unlock(&m->lock);
	if (!nbad)
		return;
	if (nbad == checked) {
		log_err("vol %u inode %llu chunk %llu: no good copy left to repair from",
			it->vol, (unsigned long long)it->ino,
			(unsigned long long)it->idx);
		return;
	}
	for (i = 0; i < it->c.nrep; i++)
		if (!bad[i])
			now.ds[n++] = it->c.ds[i];
	for (i = n; i < VDIFS_MAX_REPLICAS; i++)
		now.ds[i] = 0;
	now.nrep = n;
	now.version = cpu_to_le64(le64_to_cpu(it->c.version) + 1);
	/* a bad copy is never caught up: its stored sums pass for good */
	if (chunk_swap(m, it->vol, it->ino, it->idx, &it->c, &now, false))
		return;		/* changed meanwhile: the next pass sees it */
	pthread_mutex_lock(&m->lock);
	m->scrub_replaced += nbad;
	pthread_mutex_unlock(&m->lock);
	log_warn("vol %u inode %llu chunk %llu: %u bad copies out of its set, epoch %llu; the recovery copies it again",
		 it->vol, (unsigned long long)it->ino,
		 (unsigned long long)it->idx, nbad,
		 (unsigned long long)le64_to_cpu(now.version));
}

static void scrub_pass(struct mds *m, u32 vol)
{
	static struct scrub_item items[SCRUB_BATCH];
	u8 cursor[MDS_KEY_BUF];
	size_t clen = 0;
	unsigned int n, i;

	pthread_mutex_lock(&m->lock);
	m->scrub_running = true;
	pthread_mutex_unlock(&m->lock);
	log_info("scrub of %s%.0u: started", vol ? "volume " : "every volume",
		 vol);
	do {
		n = scrub_scan(m, vol, cursor, &clen, items);
		for (i = 0; i < n; i++)
			scrub_chunk(m, &items[i]);
	} while (n);
	pthread_mutex_lock(&m->lock);
	m->scrub_running = false;
	m->scrub_passes++;
	log_info("scrub: done; %llu copies checked, %llu bad, %llu replaced since the MDS started",
		 (unsigned long long)m->scrub_checked,
		 (unsigned long long)m->scrub_bad,
		 (unsigned long long)m->scrub_replaced);
	pthread_mutex_unlock(&m->lock);
}

/*
 * The chunks readers reported, one at a time.  Called and returns with
 * scrub_lock held, dropped around each check.
 */
static void scrub_asked_run(struct mds *m)
{
	struct scrub_item it;

	while (scrub_nasked) {
		it = scrub_asked[--scrub_nasked];
		pthread_mutex_unlock(&scrub_lock);
		log_warn("vol %u inode %llu chunk %llu: a reader found a bad block: checking its copies",
			 it.vol, (unsigned long long)it.ino,
			 (unsigned long long)it.idx);
		scrub_chunk(m, &it);
		pthread_mutex_lock(&scrub_lock);
	}
}

static void *scrubber(void *arg)
{
	struct mds *m = arg;

	for (;;) {
		struct timespec ts;
		u32 vol;

		pthread_mutex_lock(&scrub_lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += m->cfg.scrub_period_h ?
			     (time_t)m->cfg.scrub_period_h * 3600 : 3600;
		while (!scrub_wanted) {
			scrub_asked_run(m);
			if (scrub_wanted)
				break;
			if (pthread_cond_timedwait(&scrub_cond, &scrub_lock,
						   &ts) != ETIMEDOUT)
				continue;	/* asked, or woken for nothing */
			if (m->cfg.scrub_period_h)
				break;		/* the period is up */
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 3600;	/* no period: nothing to do */
		}
		vol = scrub_wanted ? scrub_vol : 0;
		scrub_wanted = false;
		pthread_mutex_unlock(&scrub_lock);
		scrub_pass(m, vol);
	}
	return NULL;
}

/* SCRUB: a pass starts now (one asked for while another runs follows it) */
static int op_scrub(struct mds *m, struct mds_conn *c, MDB_txn *t,
		    const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_scrub_req *q = b->fixed;

	if (q->pad)
		return -EINVAL;
	pthread_mutex_lock(&scrub_lock);
	scrub_wanted = true;
	scrub_vol = le32_to_cpu(q->vol);
	pthread_cond_signal(&scrub_cond);
	pthread_mutex_unlock(&scrub_lock);
	return 0;
}

/* LAYOUT_CORRUPT: a reader's report of a bad block; checked soon */
static int op_layout_corrupt(struct mds *m, struct mds_conn *c, MDB_txn *t,
			     const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_layout_degrade_req *q = b->fixed;
	struct scrub_item it = {
		.vol = le32_to_cpu(q->vol), .ino = le64_to_cpu(q->ino),
		.idx = le64_to_cpu(q->index),
	};
	u8 k[MDS_KEY_BUF];
	unsigned int i;
	int ret;

	if (q->pad || !q->chunk_id)
		return -EINVAL;
	ret = db_get(t, m->db.chunks, k, key_u64(k, it.vol, it.ino, it.idx),
		     &it.c, sizeof(it.c));
	if (ret < 0)
		return ret;
	/* changed since: the report was about copies that are gone */
	if (it.c.chunk_id != q->chunk_id || it.c.version != q->epoch)
		return 0;
	pthread_mutex_lock(&scrub_lock);
	for (i = 0; i < scrub_nasked; i++)
		if (scrub_asked[i].c.chunk_id == it.c.chunk_id)
			break;
	/* a full list drops the report: the periodic pass finds it too */
	if (i == scrub_nasked && scrub_nasked < SCRUB_ASKED_MAX)
		scrub_asked[scrub_nasked++] = it;
	pthread_cond_signal(&scrub_cond);
	pthread_mutex_unlock(&scrub_lock);
	return 0;
}

const struct mds_op scrub_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_SCRUB] = { op_scrub, MDS_TXN_NONE },
	[VDIFS_OP_LAYOUT_CORRUPT] = { op_layout_corrupt, MDS_TXN_READ },
};

int scrub_start(struct mds *m)
{
	pthread_t th;

	if (pthread_create(&th, NULL, scrubber, m))
		return -EAGAIN;
	pthread_detach(th);
	return 0;
}
