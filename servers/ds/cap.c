// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-ds capabilities: with a cluster key, a client's chunk request is
 * served only under the capability the MDS made for that client, chunk,
 * replica-set epoch and rights (uapi/vdifs_proto.h), so that a client
 * host holding a key cannot reach chunks of files it was never given.
 * Checked in the connection's reader, before the request is queued; a
 * capability seen good on the connection is remembered there (a few per
 * connection, by chunk), so that a stream of I/O to one chunk costs one
 * HMAC, not one per request.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include "ds.h"

/* what op needs, 0 for none; -EPERM: not a client's to ask */
static int cap_need(u16 op)
{
	switch (op) {
	case VDIFS_OP_CHUNK_READ:
	case VDIFS_OP_CHUNK_MAP:
	case VDIFS_OP_CHUNK_STAT:
		return VDIFS_CAP_READ;
	case VDIFS_OP_CHUNK_WRITE:
	case VDIFS_OP_CHUNK_PUNCH:
		return VDIFS_CAP_WRITE;
	case VDIFS_OP_CHUNK_FLUSH:
		/* making acknowledged writes stable harms nobody */
		return 0;
	default:
		/* clones, deletes, copies, scrubs: the MDS's and servers' */
		return -EPERM;
	}
}

int ds_cap_check(struct ds *ds, const struct srv_auth *a,
		 struct ds_cap_cache *cc, u16 op, const struct wire_body *b)
{
	const struct vdifs_chunk_req *q = b->fixed;
	struct ds_cap_seen *seen;
	u8 mac[VDIFS_CAP_MAC_LEN];
	u64 id, epoch, expiry;
	u32 rights;
	int need;

	if (!ds->cfg.key_len || a->role == VDIFS_ROLE_DS)
		return 0;
	need = cap_need(op);
	if (need <= 0)
		return need;
	if (b->fixed_len < sizeof(*q))
		return -EINVAL;
	id = le64_to_cpu(q->chunk_id);
	epoch = le64_to_cpu(q->epoch);
	expiry = le64_to_cpu(q->cap.expiry);
	rights = le32_to_cpu(q->cap.rights);
	if (!(rights & (u32)need))
		return -EACCES;
	if (expiry + VDIFS_CAP_SKEW_S < (u64)time(NULL))
		return -EKEYEXPIRED;
	seen = &cc->seen[id % DS_CAP_SEEN];
	if (seen->chunk_id == id && seen->epoch == epoch &&
	    !memcmp(&seen->cap, &q->cap, sizeof(q->cap)))
		return 0;
	vdc_cap_mac(ds->cap_key, id, epoch, expiry, rights, a->principal,
		    mac);
	if (CRYPTO_memcmp(mac, q->cap.mac, sizeof(mac)))
		return -EACCES;
	seen->chunk_id = id;
	seen->epoch = epoch;
	seen->cap = q->cap;
	return 0;
}
