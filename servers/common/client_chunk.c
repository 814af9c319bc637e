// SPDX-License-Identifier: GPL-2.0
/*
 * libvdifs: chunk operations on data servers.
 */
#include <errno.h>
#include <string.h>
#include "vdifs_client.h"

void vdc_chunk_req_init(struct vdifs_chunk_req *q,
			const struct vdc_chunk_ref *r)
{
	unsigned int i;

	memset(q, 0, sizeof(*q));
	q->chunk_id = cpu_to_le64(r->chunk_id);
	q->epoch = cpu_to_le64(r->epoch);
	q->chunk_size = cpu_to_le32(r->chunk_size);
	q->extent_size = cpu_to_le32(r->extent_size);
	q->nrep = r->nrep;
	q->repl_mode = r->repl_mode;
	for (i = 0; i < VDIFS_MAX_REPLICAS; i++)
		q->ds[i] = cpu_to_le32(r->ds[i]);
	q->cap = r->cap;
}

static void io_version(const struct vdc_msg *m, u64 *version)
{
	const struct vdifs_chunk_io_rep *rep = m->body.fixed;

	if (version)
		*version = le64_to_cpu(rep->version);
}

static int chunk_read(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		      u32 off, void *buf, u32 len, u32 flags, u64 *version,
		      u32 *nsums)
{
	const struct vdifs_chunk_io_rep *rep;
	struct vdifs_chunk_req q;
	struct vdc_msg m;
	int ret;

	if (len > VDIFS_IO_MAX)
		return -EINVAL;
	vdc_chunk_req_init(&q, r);
	q.offset = cpu_to_le32(off);
	q.len = cpu_to_le32(len);
	q.flags |= cpu_to_le32(flags);
	/* a block that does not match its sum fails the call (msg_read) */
	ret = vdc_call(c, VDIFS_OP_CHUNK_READ, &q, sizeof(q), NULL, 0, NULL, 0,
		       &m);
	if (ret)
		return ret;
	if (m.body.tail_len[1] != len) {
		vdc_msg_free(&m);
		return -EPROTO;
	}
	memcpy(buf, m.body.tail[1], len);
	rep = m.body.fixed;
	if (version)
		*version = le64_to_cpu(rep->version);
	if (nsums)
		*nsums = le32_to_cpu(rep->nsums);
	vdc_msg_free(&m);
	return (int)len;
}

int vdc_chunk_read(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		   u32 off, void *buf, u32 len, u64 *version)
{
	return chunk_read(c, r, off, buf, len, 0, version, NULL);
}

int vdc_chunk_read_sums(struct vdc_conn *c, const struct vdc_chunk_ref *r,
			u32 off, void *buf, u32 len, u32 *nsums)
{
	return chunk_read(c, r, off, buf, len, VDIFS_CHUNK_SUMS, NULL, nsums);
}

int vdc_chunk_write(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		    u32 off, const void *buf, u32 len, u64 *version)
{
	struct vdifs_chunk_req q;
	struct vdc_msg m;
	int ret;

	if (len > VDIFS_IO_MAX)
		return -EINVAL;
	vdc_chunk_req_init(&q, r);
	q.offset = cpu_to_le32(off);
	q.len = cpu_to_le32(len);
	ret = vdc_call(c, VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), buf, len, NULL,
		       0, &m);
	if (ret)
		return ret;
	io_version(&m, version);
	vdc_msg_free(&m);
	return 0;
}

int vdc_chunk_punch(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		    u32 off, u32 len, bool trunc, u64 *version)
{
	struct vdifs_chunk_req q;
	struct vdc_msg m;
	int ret;

	vdc_chunk_req_init(&q, r);
	q.offset = cpu_to_le32(off);
	q.len = cpu_to_le32(len);
	if (trunc)
		q.flags = cpu_to_le32(VDIFS_CHUNK_TRUNC);
	ret = vdc_call(c, VDIFS_OP_CHUNK_PUNCH, &q, sizeof(q), NULL, 0, NULL, 0,
		       &m);
	if (ret)
		return ret;
	io_version(&m, version);
	vdc_msg_free(&m);
	return 0;
}

int vdc_chunk_map(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		  u8 *bitmap, u32 cap, u32 *extent_size, u64 *version)
{
	const struct vdifs_chunk_map_rep *rep;
	struct vdifs_chunk_req q;
	struct vdc_msg m;
	int ret;

	vdc_chunk_req_init(&q, r);
	ret = vdc_call(c, VDIFS_OP_CHUNK_MAP, &q, sizeof(q), NULL, 0, NULL, 0,
		       &m);
	if (ret)
		return ret;
	rep = m.body.fixed;
	if (m.body.tail_len[0] > cap) {
		vdc_msg_free(&m);
		return -ERANGE;
	}
	memcpy(bitmap, m.body.tail[0], m.body.tail_len[0]);
	if (extent_size)
		*extent_size = le32_to_cpu(rep->extent_size);
	if (version)
		*version = le64_to_cpu(rep->version);
	ret = (int)m.body.tail_len[0];
	vdc_msg_free(&m);
	return ret;
}

int vdc_chunk_flush(struct vdc_conn *c, u64 chunk_id)
{
	struct vdifs_chunk_req q = { .chunk_id = cpu_to_le64(chunk_id) };

	return vdc_call(c, VDIFS_OP_CHUNK_FLUSH, &q, sizeof(q), NULL, 0, NULL,
			0, NULL);
}

int vdc_chunk_clone(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		    u64 base_id)
{
	struct vdifs_chunk_req q;

	vdc_chunk_req_init(&q, r);
	q.base_id = cpu_to_le64(base_id);
	return vdc_call(c, VDIFS_OP_CHUNK_CLONE, &q, sizeof(q), NULL, 0, NULL,
			0, NULL);
}

int vdc_chunk_delete(struct vdc_conn *c, const struct vdc_chunk_ref *r)
{
	struct vdifs_chunk_req q;

	vdc_chunk_req_init(&q, r);
	return vdc_call(c, VDIFS_OP_CHUNK_DELETE, &q, sizeof(q), NULL, 0, NULL,
			0, NULL);
}

int vdc_chunk_stat(struct vdc_conn *c, u64 chunk_id,
		   struct vdifs_chunk_stat *out)
{
	struct vdifs_chunk_req q = { .chunk_id = cpu_to_le64(chunk_id) };
	struct vdc_msg m;
	int ret;

	ret = vdc_call(c, VDIFS_OP_CHUNK_STAT, &q, sizeof(q), NULL, 0, NULL, 0,
		       &m);
	if (ret)
		return ret;
	memcpy(out, m.body.fixed, sizeof(*out));
	vdc_msg_free(&m);
	return 0;
}
