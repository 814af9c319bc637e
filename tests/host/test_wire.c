// SPDX-License-Identifier: GPL-2.0
/*
 * The wire codec in userspace, over the same vectors as the KUnit suite
 * (wire/wire_vectors.h), plus what only userspace can afford: every
 * truncation and every single-byte corruption of each vector.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "wire_vectors.h"
#include "msg.h"

/*
 * The message checksum: XXH64's published value for "" and one computed
 * by libxxhash for "123456789" (the KUnit suite expects the same of the
 * kernel's lib/xxhash), 0 for nothing, and summing in pieces gives what
 * summing in one does, whatever the cut.
 */
START_TEST(csum_check_value)
{
	struct wire_csum c;
	static u8 buf[9000];
	unsigned int i, seed = 7;

	ck_assert_uint_eq(xxh64("", 0, 0), 0xef46db3751d8e999ull);
	ck_assert_uint_eq(wire_csum("123456789", 9), 0x40e6ae83u);
	ck_assert_uint_eq(wire_csum("", 0), 0u);
	wire_csum_init(&c);
	ck_assert_uint_eq(wire_csum_final(&c), 0u);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (u8)rand_r(&seed);
	for (i = 0; i < 200; i++) {
		unsigned int len = (unsigned int)rand_r(&seed) % sizeof(buf);
		unsigned int cut1 = len ? (unsigned int)rand_r(&seed) % len : 0;
		unsigned int cut2 = cut1 + (len - cut1 ?
				    (unsigned int)rand_r(&seed) % (len - cut1) : 0);

		wire_csum_init(&c);
		wire_csum_update(&c, buf, cut1);
		wire_csum_update(&c, buf + cut1, cut2 - cut1);
		wire_csum_update(&c, buf + cut2, len - cut2);
		ck_assert_msg(wire_csum_final(&c) == wire_csum(buf, len),
			      "%u bytes summed in pieces at %u and %u differ",
			      len, cut1, cut2);
	}
}
END_TEST

START_TEST(vector)
{
	const struct wire_vector *v = &wire_vectors[_i];
	struct wire_hdr h;
	struct wire_body b;
	int got, stage;

	stage = wire_vector_run(v, &h, &b, &got);
	ck_assert_msg(stage == 0, "vector '%s': stage %d got %d", v->name,
		      stage, got);
}
END_TEST

START_TEST(sums_vector)
{
	const struct wire_sums_vector *v = &wire_sums_vectors[_i];
	static u8 buf[WIRE_SUMS_MSG_LEN];
	int got, stage;

	stage = wire_sums_vector_run(v, buf, &got);
	ck_assert_msg(stage == 0, "vector '%s': stage %d got %d", v->name,
		      stage, got);
}
END_TEST

START_TEST(lookup_fields)
{
	const u8 *m = wire_vec_lookup_req;
	const struct vdifs_name_req *r;
	struct wire_hdr h;
	struct wire_body b;

	ck_assert_int_eq(wire_hdr_decode(m, &h), 0);
	ck_assert_uint_eq(h.opcode, VDIFS_OP_LOOKUP);
	ck_assert_uint_eq(h.req_id, 0x1122334455667788ull);
	ck_assert_int_eq(wire_body_decode(h.opcode, false, 0, m + 32,
					  h.body_len, &b), 0);
	r = b.fixed;
	ck_assert_uint_eq(le32_to_cpu(r->vol), 7);
	ck_assert_uint_eq(le64_to_cpu(r->parent), 0x0102030405060708ull);
	ck_assert_uint_eq(b.tail_len[0], 9);
	ck_assert_int_eq(memcmp(b.tail[0], "disk1.img", 9), 0);
}
END_TEST

START_TEST(encode_matches_vector)
{
	struct vdifs_name_req r = {
		.vol = cpu_to_le32(7),
		.name_len = cpu_to_le16(9),
		.parent = cpu_to_le64(0x0102030405060708ull),
	};
	u8 buf[128];
	int n;

	n = wire_msg_encode(buf, sizeof(buf), VDIFS_OP_LOOKUP, 0,
			    0x1122334455667788ull, 0, &r, sizeof(r),
			    "disk1.img", 9, NULL, 0);
	ck_assert_int_eq(n, (int)sizeof(wire_vec_lookup_req));
	ck_assert_int_eq(memcmp(buf, wire_vec_lookup_req, n), 0);
	ck_assert_int_eq(wire_msg_encode(buf, 40, VDIFS_OP_LOOKUP, 0, 1, 0, &r,
					 sizeof(r), "disk1.img", 9, NULL, 0),
			 -EMSGSIZE);
}
END_TEST

/*
 * Every prefix of a valid body, with checksums fixed up so that the body
 * decoder is what must refuse it: never a crash, never an accept with
 * pointers past the end (ASan build catches the latter).
 */
START_TEST(every_truncation_refused)
{
	static const struct { const u8 *m; u32 len; } msgs[] = {
		{ wire_vec_lookup_req, sizeof(wire_vec_lookup_req) },
		{ wire_vec_rename_req, sizeof(wire_vec_rename_req) },
		{ wire_vec_readdir_rep, sizeof(wire_vec_readdir_rep) },
	};
	size_t i;
	u32 cut;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		u32 body = msgs[i].len - 32;

		for (cut = 1; cut <= body; cut++) {
			struct wire_hdr h;
			struct wire_body b;
			u8 *copy = malloc(body - cut + 1);

			ck_assert_int_eq(wire_hdr_decode(msgs[i].m, &h), 0);
			memcpy(copy, msgs[i].m + 32, body - cut);
			ck_assert_msg(wire_body_decode(h.opcode,
						       h.flags & VDIFS_MSG_REPLY,
						       0, copy, body - cut, &b) < 0,
				      "msg %zu cut %u accepted", i, cut);
			free(copy);
		}
	}
}
END_TEST

/* any single corrupted byte is caught by a checksum */
START_TEST(every_byte_flip_detected)
{
	u8 buf[sizeof(wire_vec_readdir_rep)];
	size_t i;

	for (i = 0; i < sizeof(buf); i++) {
		struct wire_hdr h;
		int ret;

		memcpy(buf, wire_vec_readdir_rep, sizeof(buf));
		buf[i] ^= 0x5a;
		ret = wire_hdr_decode(buf, &h);
		if (!ret)
			ret = wire_body_check_csum(&h, buf + 32);
		ck_assert_msg(ret < 0, "flip at %zu undetected", i);
	}
}
END_TEST

START_TEST(fixed_lengths_match_uapi)
{
	ck_assert_int_eq(wire_fixed_len(VDIFS_OP_LOOKUP, false),
			 sizeof(struct vdifs_name_req));
	ck_assert_int_eq(wire_fixed_len(VDIFS_OP_GETATTR, true),
			 sizeof(struct vdifs_attr_rep));
	ck_assert_int_eq(wire_fixed_len(VDIFS_OP_MAX - 1, false), -EOPNOTSUPP);
	ck_assert_int_eq(wire_fixed_len(60000, false), -EOPNOTSUPP);
	ck_assert_str_eq(wire_op_name(VDIFS_OP_RENAME), "RENAME");
}
END_TEST

/* ---- the servers' buffered reader (servers/common/net.c) ---- */

struct rb_feed {
	int fd;
	const u8 *p;
	size_t len;
	unsigned int seed;
};

/* the stream in pieces of 1 to 700 bytes, then EOF */
static void *rb_feeder(void *arg)
{
	struct rb_feed *f = arg;
	size_t off = 0;

	while (off < f->len) {
		size_t n = 1 + (size_t)rand_r(&f->seed) % 700;

		if (n > f->len - off)
			n = f->len - off;
		if (write(f->fd, f->p + off, n) != (ssize_t)n)
			break;
		off += n;
		if (rand_r(&f->seed) % 4 == 0)
			usleep(200);
	}
	close(f->fd);
	return NULL;
}

/*
 * Messages that fit the buffer, one that does not (its remainder read
 * straight into its own), sent in pieces of any size: each is read back
 * whole and equal, in order, through buffers of 48 bytes (smaller than
 * most messages: the header and what follows compacted each time) and
 * 16 KiB; then EOF.  The idle check reads what waits and reports it.
 */
/*
 * CHUNK_CLONE_MANY: whole entries with no pad set and no zero id, and a
 * status per entry answered; anything else is refused by the codec.
 */
START_TEST(clone_many_checks)
{
	struct vdifs_clone_ent e[3] = { 0 };
	struct vdifs_chunk_req q = { 0 };
	struct vdifs_clone_many_rep r = { 0 };
	__le32 st[3] = { 0 };
	struct wire_body b;
	u8 body[sizeof(q) + sizeof(e) + 8];
	u32 len = sizeof(e);
	int i;

	for (i = 0; i < 3; i++) {
		e[i].chunk_id = cpu_to_le64(100 + i);
		e[i].base_id = cpu_to_le64(10 + i);
		e[i].nrep = 1;
	}
	q.chunk_id = e[0].chunk_id;
	q.len = cpu_to_le32(len);
	memcpy(body, &q, sizeof(q));
	memcpy(body + sizeof(q), e, len);
	ck_assert_int_eq(wire_body_decode(VDIFS_OP_CHUNK_CLONE_MANY, false, 0,
					  body, sizeof(q) + len, &b), 0);
	ck_assert_uint_eq(b.tail_len[0], len);
	/* a part of an entry */
	q.len = cpu_to_le32(len - 8);
	memcpy(body, &q, sizeof(q));
	ck_assert_int_eq(wire_body_decode(VDIFS_OP_CHUNK_CLONE_MANY, false, 0,
					  body, sizeof(q) + len - 8, &b),
			 -EPROTO);
	/* none */
	q.len = 0;
	memcpy(body, &q, sizeof(q));
	ck_assert_int_eq(wire_body_decode(VDIFS_OP_CHUNK_CLONE_MANY, false, 0,
					  body, sizeof(q), &b), -EPROTO);
	/* pad set, or an id 0 */
	q.len = cpu_to_le32(len);
	memcpy(body, &q, sizeof(q));
	e[2].pad2 = cpu_to_le32(1);
	memcpy(body + sizeof(q), e, len);
	ck_assert_int_eq(wire_body_decode(VDIFS_OP_CHUNK_CLONE_MANY, false, 0,
					  body, sizeof(q) + len, &b), -EPROTO);
	e[2].pad2 = 0;
	e[1].base_id = 0;
	memcpy(body + sizeof(q), e, len);
	ck_assert_int_eq(wire_body_decode(VDIFS_OP_CHUNK_CLONE_MANY, false, 0,
					  body, sizeof(q) + len, &b), -EPROTO);
	/* more entries than the maximum: the length is bounded first */
	q.len = cpu_to_le32((VDIFS_CLONE_MANY_MAX + 1) * sizeof(e[0]));
	memcpy(body, &q, sizeof(q));
	ck_assert_int_lt(wire_body_decode(VDIFS_OP_CHUNK_CLONE_MANY, false, 0,
					  body, sizeof(body), &b), 0);
	/* the reply: a status per entry */
	r.count = cpu_to_le32(3);
	r.nbytes = cpu_to_le32(12);
	memcpy(body, &r, sizeof(r));
	memcpy(body + sizeof(r), st, sizeof(st));
	ck_assert_int_eq(wire_body_decode(VDIFS_OP_CHUNK_CLONE_MANY, true, 0,
					  body, sizeof(r) + 12, &b), 0);
	r.count = cpu_to_le32(2);
	memcpy(body, &r, sizeof(r));
	ck_assert_int_eq(wire_body_decode(VDIFS_OP_CHUNK_CLONE_MANY, true, 0,
					  body, sizeof(r) + 12, &b), -EPROTO);
}
END_TEST

START_TEST(buffered_reader)
{
	static const u32 caps[] = { 48, 16384 };
	static u8 big_data[40000];
	u8 *stream = malloc(65536), *big = malloc(65536);
	struct { const u8 *p; u32 len; } msgs[4];
	struct rb_feed f = { .seed = 11 };
	struct net_rbuf rb;
	size_t len = 0;
	pthread_t th;
	int sv[2], n, i;

	ck_assert_ptr_nonnull(stream);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < (int)sizeof(big_data); i++)
		big_data[i] = (u8)(i * 7);
	n = wire_msg_encode(big, 65536, VDIFS_OP_LOOKUP, 0, 42, 0,
			    NULL, 0, big_data, sizeof(big_data), NULL, 0);
	ck_assert_int_gt(n, 0);
	msgs[0].p = wire_vec_lookup_req;
	msgs[0].len = sizeof(wire_vec_lookup_req);
	msgs[1].p = big;
	msgs[1].len = (u32)n;
	msgs[2].p = wire_vec_rename_req;
	msgs[2].len = sizeof(wire_vec_rename_req);
	msgs[3].p = wire_vec_readdir_rep;
	msgs[3].len = sizeof(wire_vec_readdir_rep);
	for (i = 0; i < 4; i++) {
		memcpy(stream + len, msgs[i].p, msgs[i].len);
		len += msgs[i].len;
	}
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(net_rbuf_init(&rb, caps[_i]), 0);
	/* nothing sent yet: idle */
	ck_assert(net_rbuf_idle(sv[1], &rb));
	f.fd = sv[0];
	f.p = stream;
	f.len = len;
	ck_assert_int_eq(pthread_create(&th, NULL, rb_feeder, &f), 0);
	for (i = 0; i < 4; i++) {
		struct vdc_msg m;
		int ret = msg_read_buffered(sv[1], &rb, &m, 5000,
					    VDIFS_BODY_MAX);

		ck_assert_msg(ret == 0, "message %d: %d", i, ret);
		ck_assert_uint_eq(m.hdr.body_len + 32, msgs[i].len);
		ck_assert_msg(!memcmp(m.buf, msgs[i].p + 32, m.hdr.body_len),
			      "message %d: body differs", i);
		vdc_msg_free(&m);
	}
	pthread_join(th, NULL);
	{
		struct vdc_msg m;

		ck_assert_int_eq(msg_read_buffered(sv[1], &rb, &m, 5000,
						   VDIFS_BODY_MAX),
				 -ECONNRESET);
	}
	net_rbuf_free(&rb);
	close(sv[1]);
	free(stream);
	free(big);
}
END_TEST

/*
 * A message cut short, one too large for the limit, one corrupted, and
 * a peer that says nothing: each an error, never a message.
 */
START_TEST(buffered_reader_refuses)
{
	struct net_rbuf rb;
	struct vdc_msg m;
	u8 bad[sizeof(wire_vec_readdir_rep)];
	int sv[2];

	ck_assert_int_eq(net_rbuf_init(&rb, 16384), 0);
	/* cut short, then EOF */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[0], wire_vec_readdir_rep, 40), 40);
	close(sv[0]);
	ck_assert_int_eq(msg_read_buffered(sv[1], &rb, &m, 5000,
					   VDIFS_BODY_MAX), -ECONNRESET);
	close(sv[1]);
	/* over the limit given */
	rb.head = rb.tail = 0;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[0], wire_vec_readdir_rep, sizeof(bad)),
			 (ssize_t)sizeof(bad));
	ck_assert_int_eq(msg_read_buffered(sv[1], &rb, &m, 5000, 16),
			 -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
	/* a body byte flipped */
	rb.head = rb.tail = 0;
	memcpy(bad, wire_vec_readdir_rep, sizeof(bad));
	bad[sizeof(bad) - 1] ^= 1;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[0], bad, sizeof(bad)), (ssize_t)sizeof(bad));
	ck_assert_int_lt(msg_read_buffered(sv[1], &rb, &m, 5000,
					   VDIFS_BODY_MAX), 0);
	ck_assert_ptr_null(m.buf);
	/* silence: a timeout, not a hang */
	rb.head = rb.tail = 0;
	ck_assert_int_eq(msg_read_buffered(sv[1], &rb, &m, 100,
					   VDIFS_BODY_MAX), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
	net_rbuf_free(&rb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("codec");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, csum_check_value);
	tcase_add_loop_test(tc, vector, 0,
			    sizeof(wire_vectors) / sizeof(wire_vectors[0]));
	tcase_add_loop_test(tc, sums_vector, 0,
			    (int)(sizeof(wire_sums_vectors) /
				  sizeof(wire_sums_vectors[0])));
	tcase_add_test(tc, lookup_fields);
	tcase_add_test(tc, encode_matches_vector);
	tcase_add_test(tc, every_truncation_refused);
	tcase_add_test(tc, every_byte_flip_detected);
	tcase_add_test(tc, fixed_lengths_match_uapi);
	tcase_add_test(tc, clone_many_checks);
	suite_add_tcase(s, tc);
	tc = tcase_create("reader");
	tcase_add_loop_test(tc, buffered_reader, 0, 2);
	tcase_add_test(tc, buffered_reader_refuses);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
