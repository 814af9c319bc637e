// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-ds read leases: a server serves a client's read of a chunk only
 * while it cannot have been taken out of the chunk's set unseen.
 *
 * The MDS takes a server out of a set and tells it the new epoch (it
 * then refuses the old set's requests), unless the server is down: not
 * heard for a lease.  A server cut off from the MDS alone (a partition,
 * or a stall of its heartbeats) is still reached by clients holding the
 * old layout, and its copy no longer gets the new set's writes: served,
 * its reads would go back in time.  So the server holds a read lease:
 * a heartbeat the MDS answered, sent at t, lets it serve reads on its
 * own word until t + 4/5 of the MDS's lease, which ends before the MDS,
 * which heard that heartbeat at t or later, can find it down.
 *
 * Past its lease a server does not know whether the MDS is down (no set
 * changes then) or cut off from it (sets may change), so a read of a
 * chunk with other copies asks each other server of the set the client
 * presents for its epoch of the chunk: a set that left this server
 * behind has been told to every server that stays, or its first write
 * told them, so one with a newer epoch than the client's (or one that
 * does not answer) fails the read with -ESTALE, and the client asks the
 * MDS for the current set.  A chunk without other copies cannot have
 * been moved without this server (a copy is made by its primary), so it
 * is served.  Writes need none of this: their forwards carry the epoch.
 */
#include <errno.h>
#include "ds.h"

void lease_renewed(struct ds *ds, long long sent_ms)
{
	long long until = sent_ms + (long long)ds->lease_ms * 4 / 5;

	if (until > __atomic_load_n(&ds->lease_until_ms, __ATOMIC_RELAXED))
		__atomic_store_n(&ds->lease_until_ms, until, __ATOMIC_RELEASE);
}

/* the epoch of chunk id on peer: 0 and *epoch, or -errno */
static int peer_epoch(struct ds *ds, u32 peer, __le64 id, u64 *epoch)
{
	struct vdifs_chunk_req q = { .chunk_id = id };
	const struct vdifs_chunk_stat *st;
	struct vdc_msg rep;
	int ret;

	ret = repl_peer_call(ds, peer, VDIFS_OP_CHUNK_STAT, &q, NULL, 0, &rep);
	if (ret)
		return ret;
	if (rep.body.fixed_len < sizeof(*st)) {
		vdc_msg_free(&rep);
		return -EPROTO;
	}
	st = rep.body.fixed;
	*epoch = le64_to_cpu(st->epoch);
	vdc_msg_free(&rep);
	return 0;
}

int lease_read_check(struct ds *ds, const struct vdifs_chunk_req *q,
		     bool nowait)
{
	long long until = __atomic_load_n(&ds->lease_until_ms,
					  __ATOMIC_ACQUIRE);
	u64 epoch = le64_to_cpu(q->epoch), theirs;
	unsigned int i;

	/* no epoch: no set to check against (rec_check_set() alike) */
	if (net_now_ms() < until || !epoch)
		return 0;
	if (q->nrep > VDIFS_MAX_REPLICAS)
		return -EINVAL;
	for (i = 0; i < q->nrep; i++) {
		u32 peer = le32_to_cpu(q->ds[i]);

		if (!peer || peer == ds->id)
			continue;
		/* a peer may take its time: not in the reader */
		if (nowait)
			return -EWOULDBLOCK;
		if (peer_epoch(ds, peer, q->chunk_id, &theirs) ||
		    theirs > epoch) {
			log_debug("chunk %016llx: no read lease, and data server %u does not confirm epoch %llu",
				  (unsigned long long)le64_to_cpu(q->chunk_id),
				  peer, (unsigned long long)epoch);
			return -ESTALE;
		}
	}
	return 0;
}
