// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the wire codec against the shared vectors in wire_vectors.h
 * (the userspace suite tests/host/test_wire.c runs the same ones).
 */
#include <kunit/test.h>
#include "../wire/wire_vectors.h"

static void wire_test_csum(struct kunit *test)
{
	struct wire_csum c;

	/* XXH64's published value, and libxxhash's for "123456789" */
	KUNIT_EXPECT_EQ(test, xxh64("", 0, 0), 0xef46db3751d8e999ull);
	KUNIT_EXPECT_EQ(test, wire_csum("123456789", 9), 0x40e6ae83u);
	KUNIT_EXPECT_EQ(test, wire_csum("", 0), 0u);
	wire_csum_init(&c);
	wire_csum_update(&c, "1234", 4);
	wire_csum_update(&c, "56789", 5);
	KUNIT_EXPECT_EQ(test, wire_csum_final(&c), 0x40e6ae83u);
}

static void wire_test_vectors(struct kunit *test)
{
	struct wire_hdr h;
	struct wire_body b;
	size_t i;
	int got, stage;

	for (i = 0; i < ARRAY_SIZE(wire_vectors); i++) {
		stage = wire_vector_run(&wire_vectors[i], &h, &b, &got);
		KUNIT_EXPECT_EQ_MSG(test, stage, 0, "vector '%s': stage %d got %d",
				    wire_vectors[i].name, stage, got);
	}
}

static void wire_test_sums_vectors(struct kunit *test)
{
	u8 *buf = kunit_kmalloc(test, WIRE_SUMS_MSG_LEN, GFP_KERNEL);
	size_t i;
	int got, stage;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < ARRAY_SIZE(wire_sums_vectors); i++) {
		stage = wire_sums_vector_run(&wire_sums_vectors[i], buf, &got);
		KUNIT_EXPECT_EQ_MSG(test, stage, 0, "vector '%s': stage %d got %d",
				    wire_sums_vectors[i].name, stage, got);
	}
}

static void wire_test_lookup_fields(struct kunit *test)
{
	const u8 *m = wire_vec_lookup_req;
	const struct vdifs_name_req *r;
	struct wire_hdr h;
	struct wire_body b;

	KUNIT_ASSERT_EQ(test, wire_hdr_decode(m, &h), 0);
	KUNIT_EXPECT_EQ(test, h.opcode, VDIFS_OP_LOOKUP);
	KUNIT_EXPECT_EQ(test, h.req_id, 0x1122334455667788ull);
	KUNIT_ASSERT_EQ(test, wire_body_decode(h.opcode, false, 0, m + 32,
					       h.body_len, &b), 0);
	r = b.fixed;
	KUNIT_EXPECT_EQ(test, le32_to_cpu(r->vol), 7u);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(r->parent), 0x0102030405060708ull);
	KUNIT_ASSERT_EQ(test, b.tail_len[0], 9u);
	KUNIT_EXPECT_EQ(test, memcmp(b.tail[0], "disk1.img", 9), 0);
}

static void wire_test_encode_matches(struct kunit *test)
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
	KUNIT_ASSERT_EQ(test, n, (int)sizeof(wire_vec_lookup_req));
	KUNIT_EXPECT_EQ(test, memcmp(buf, wire_vec_lookup_req, n), 0);
	/* too small a buffer is refused, never overrun */
	KUNIT_EXPECT_EQ(test, wire_msg_encode(buf, 40, VDIFS_OP_LOOKUP, 0, 1,
					      0, &r, sizeof(r), "disk1.img",
					      9, NULL, 0), -EMSGSIZE);
}

static void wire_test_readdir_records(struct kunit *test)
{
	const u8 *m = wire_vec_readdir_rep;
	const struct vdifs_dirent *d;
	struct wire_rec_iter it;
	struct wire_hdr h;
	struct wire_body b;
	const void *rec;
	const u8 *name;
	u16 nl;

	KUNIT_ASSERT_EQ(test, wire_hdr_decode(m, &h), 0);
	KUNIT_ASSERT_EQ(test, wire_body_decode(h.opcode, true, 0, m + 32,
					       h.body_len, &b), 0);
	KUNIT_ASSERT_EQ(test, b.nrecs[0], 2u);
	wire_rec_iter_init(&it, &b, 0, h.opcode);
	KUNIT_ASSERT_EQ(test, wire_rec_next(&it, &rec, &name, &nl), 1);
	d = rec;
	KUNIT_EXPECT_EQ(test, le64_to_cpu(d->ino), 10ull);
	KUNIT_EXPECT_EQ(test, nl, 3);
	KUNIT_EXPECT_EQ(test, memcmp(name, "abc", 3), 0);
	KUNIT_ASSERT_EQ(test, wire_rec_next(&it, &rec, &name, &nl), 1);
	d = rec;
	KUNIT_EXPECT_EQ(test, le64_to_cpu(d->cookie), 2ull);
	KUNIT_EXPECT_EQ(test, memcmp(name, "subdir.d", 8), 0);
	KUNIT_EXPECT_EQ(test, wire_rec_next(&it, &rec, &name, &nl), 0);
}

static void wire_test_names(struct kunit *test)
{
	u8 longname[VDIFS_NAME_MAX + 1];

	memset(longname, 'x', sizeof(longname));
	KUNIT_EXPECT_EQ(test, wire_check_name((const u8 *)"a", 1), 0);
	KUNIT_EXPECT_EQ(test, wire_check_name((const u8 *)".", 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, wire_check_name((const u8 *)"..", 2), -EINVAL);
	KUNIT_EXPECT_EQ(test, wire_check_name((const u8 *)"...", 3), 0);
	KUNIT_EXPECT_EQ(test, wire_check_name(longname, VDIFS_NAME_MAX), 0);
	KUNIT_EXPECT_EQ(test, wire_check_name(longname, VDIFS_NAME_MAX + 1),
			-ENAMETOOLONG);
	KUNIT_EXPECT_EQ(test, wire_check_volname((const u8 *)"vm-images_1", 11),
			0);
	KUNIT_EXPECT_EQ(test, wire_check_volname((const u8 *)"a b", 3), -EINVAL);
	KUNIT_EXPECT_EQ(test, wire_check_volname((const u8 *)".hidden", 7),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, wire_check_path((const u8 *)"", 0), -ENOENT);
}

static struct kunit_case wire_test_cases[] = {
	KUNIT_CASE(wire_test_csum),
	KUNIT_CASE(wire_test_vectors),
	KUNIT_CASE(wire_test_sums_vectors),
	KUNIT_CASE(wire_test_lookup_fields),
	KUNIT_CASE(wire_test_encode_matches),
	KUNIT_CASE(wire_test_readdir_records),
	KUNIT_CASE(wire_test_names),
	{}
};

static struct kunit_suite wire_test_suite = {
	.name = "vdifs_wire",
	.test_cases = wire_test_cases,
};
kunit_test_suite(wire_test_suite);
