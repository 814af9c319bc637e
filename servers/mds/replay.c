// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds replay: exactly-once mutations for clients with a session.
 *
 * A client resends what was in flight when its connection broke (or the
 * MDS restarted), and a mutation that had been done would be done again:
 * a CREATE with O_EXCL answering EEXIST for the file it made, a RENAME or
 * an UNLINK answering ENOENT.  So, as NFSv4.1 sessions do, the reply of
 * every mutation done for a session is kept, in the same transaction as
 * the mutation (so it is there exactly when the mutation is, across
 * restarts), keyed by the session and the request id (a client's ids are
 * never reused within its session); a request found there is answered
 * from it and not done again.  A connection belongs to a session once
 * it opened one (SESSION_OPEN) or said which (SESSION_BIND, first thing
 * after a reconnect).  Failed mutations changed nothing and are not kept:
 * a resend does them afresh.
 *
 * A client has at most a window of requests in flight, so only replies
 * to recent ids can be asked for again: each store drops a few of the
 * session's entries older than REPLAY_KEEP ids, and SESSION_CLOSE drops
 * them all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "mds.h"

#define REPLAY_KEEP	4096	/* ids behind the newest still answered */
#define REPLAY_TRIM	8	/* old entries dropped per store, at most */

/* a kept reply: fixed part, then tail */
struct replay_rec {
	__le32 flen;
	__le32 tlen;
};

static void replay_key(u8 *k, u64 session, u64 req_id)
{
	put_be64(k, session);
	put_be64(k + 8, req_id);
}

int replay_lookup(struct mds *m, MDB_txn *t, u64 session, u64 req_id,
		  struct mds_reply *r)
{
	MDB_val key, val;
	struct replay_rec h;
	u32 flen, tlen;
	u8 k[16];
	int rc, ret;

	replay_key(k, session, req_id);
	key.mv_size = sizeof(k);
	key.mv_data = k;
	rc = mdb_get(t, m->db.replies, &key, &val);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return db_err(rc);
	if (val.mv_size < sizeof(h))
		return -EIO;
	memcpy(&h, val.mv_data, sizeof(h));
	flen = le32_to_cpu(h.flen);
	tlen = le32_to_cpu(h.tlen);
	if (flen > sizeof(r->fixed) ||
	    val.mv_size != sizeof(h) + (size_t)flen + tlen)
		return -EIO;
	memcpy(r->fixed, (u8 *)val.mv_data + sizeof(h), flen);
	r->flen = flen;
	r->tlen = 0;
	if (tlen) {
		ret = reply_tail_reserve(r, tlen);
		if (ret)
			return ret;
		memcpy(r->tail, (u8 *)val.mv_data + sizeof(h) + flen, tlen);
		r->tlen = tlen;
	}
	return 1;
}

/* a few of the session's entries older than REPLAY_KEEP ids go */
static int replay_trim(struct mds *m, MDB_txn *t, u64 session, u64 req_id)
{
	MDB_val key, val;
	MDB_cursor *cur;
	unsigned int n = 0;
	u8 k[16];
	int rc;

	if (req_id <= REPLAY_KEEP)
		return 0;
	rc = mdb_cursor_open(t, m->db.replies, &cur);
	if (rc)
		return db_err(rc);
	replay_key(k, session, 0);
	key.mv_size = sizeof(k);
	key.mv_data = k;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	     !rc && n < REPLAY_TRIM;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT), n++) {
		if (key.mv_size != 16 || get_be64(key.mv_data) != session ||
		    get_be64((u8 *)key.mv_data + 8) > req_id - REPLAY_KEEP)
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	return rc && rc != MDB_NOTFOUND ? db_err(rc) : 0;
}

int replay_store(struct mds *m, MDB_txn *t, u64 session, u64 req_id,
		 const struct mds_reply *r)
{
	struct replay_rec h = {
		.flen = cpu_to_le32(r->flen),
		.tlen = cpu_to_le32(r->tlen),
	};
	size_t len = sizeof(h) + r->flen + r->tlen;
	u8 k[16], *buf;
	int ret;

	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), r->fixed, r->flen);
	if (r->tlen)
		memcpy(buf + sizeof(h) + r->flen, r->tail, r->tlen);
	replay_key(k, session, req_id);
	ret = db_put(t, m->db.replies, k, sizeof(k), buf, len, 0);
	free(buf);
	if (!ret)
		ret = replay_trim(m, t, session, req_id);
	return ret;
}

int replay_forget(struct mds *m, MDB_txn *t, u64 session)
{
	u8 k[8];

	put_be64(k, session);
	return db_del_prefix(t, m->db.replies, k, sizeof(k), NULL, NULL);
}
