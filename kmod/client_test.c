// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: a request whose data is sent from pages (vdifs_req_set_data)
 * must announce the same body length and checksum as the same message
 * encoded flat, whatever the pages' layout: the data servers check it.
 */
#include <kunit/test.h>
#include <linux/bvec.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include "internal.h"

#define CT_PAGES	3
#define CT_OFF		100		/* the data starts mid-page */
#define CT_LEN		(2 * PAGE_SIZE + 500 - CT_OFF)

struct ct_data {
	struct page *pages[CT_PAGES];
	struct bio_vec bv[CT_PAGES];
	u8 *flat;
};

static void ct_data_init(struct kunit *test, struct ct_data *d)
{
	size_t done = 0, i;

	d->flat = kunit_kmalloc(test, CT_LEN, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d->flat);
	for (i = 0; i < CT_LEN; i++)
		d->flat[i] = (u8)(i * 7 + 3);
	for (i = 0; i < CT_PAGES; i++) {
		size_t off = i ? 0 : CT_OFF;
		size_t n = min_t(size_t, PAGE_SIZE - off, CT_LEN - done);

		d->pages[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, d->pages[i]);
		memcpy_to_page(d->pages[i], off, d->flat + done, n);
		bvec_set_page(&d->bv[i], d->pages[i], n, off);
		done += n;
	}
}

static void ct_data_free(struct ct_data *d)
{
	int i;

	for (i = 0; i < CT_PAGES; i++)
		if (d->pages[i])
			__free_page(d->pages[i]);
}

/* header + fixed of a CHUNK_WRITE of the data, encoded flat */
static void ct_expect_hdr(struct kunit *test, const struct vdifs_req *req,
			  const struct vdifs_chunk_req *q, const u8 *flat)
{
	size_t cap = sizeof(struct vdifs_msg_hdr) + sizeof(*q) + CT_LEN;
	const struct vdifs_msg_hdr *got, *want;
	u8 *buf;

	buf = kunit_kmalloc(test, cap, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, wire_msg_encode(buf, cap, VDIFS_OP_CHUNK_WRITE,
					      0, 0, 0, q, sizeof(*q), flat,
					      CT_LEN, NULL, 0), (int)cap);
	want = (const void *)buf;
	got = (const void *)req->msg;
	KUNIT_EXPECT_EQ(test, le32_to_cpu(got->body_len),
			le32_to_cpu(want->body_len));
	KUNIT_EXPECT_EQ(test, le32_to_cpu(got->body_csum),
			le32_to_cpu(want->body_csum));
	KUNIT_EXPECT_EQ(test, req->msg_len,
			sizeof(struct vdifs_msg_hdr) + sizeof(*q));
	KUNIT_EXPECT_EQ(test, req->data_len, (size_t)CT_LEN);
	KUNIT_EXPECT_EQ(test, iov_iter_count(&req->data), (size_t)CT_LEN);
}

static void client_test_data_bvec(struct kunit *test)
{
	struct vdifs_chunk_req q = { .len = cpu_to_le32(CT_LEN) };
	struct vdifs_req *req;
	struct iov_iter it;
	struct ct_data d = { 0 };

	ct_data_init(test, &d);
	iov_iter_bvec(&it, ITER_SOURCE, d.bv, CT_PAGES, CT_LEN);
	req = vdifs_req_new(VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), NULL, 0,
			    NULL, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(req));
	KUNIT_EXPECT_EQ(test, vdifs_req_set_data(req, &it, CT_LEN), 0);
	ct_expect_hdr(test, req, &q, d.flat);
	/* ordinary pages go to the socket by reference */
	KUNIT_EXPECT_TRUE(test, req->data_splice);
	/* the caller's iterator is left where it was */
	KUNIT_EXPECT_EQ(test, iov_iter_count(&it), (size_t)CT_LEN);
	vdifs_req_put(req);
	ct_data_free(&d);
}

static void client_test_data_kvec(struct kunit *test)
{
	struct vdifs_chunk_req q = { .len = cpu_to_le32(CT_LEN) };
	struct vdifs_req *req;
	struct ct_data d = { 0 };
	struct iov_iter it;
	struct kvec kv;

	ct_data_init(test, &d);
	kv.iov_base = d.flat;
	kv.iov_len = CT_LEN;
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, CT_LEN);
	req = vdifs_req_new(VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), NULL, 0,
			    NULL, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(req));
	KUNIT_EXPECT_EQ(test, vdifs_req_set_data(req, &it, CT_LEN), 0);
	ct_expect_hdr(test, req, &q, d.flat);
	/* kmalloc'd memory is copied into the socket, never spliced */
	KUNIT_EXPECT_FALSE(test, req->data_splice);
	vdifs_req_put(req);
	ct_data_free(&d);
}

static void client_test_data_too_big(struct kunit *test)
{
	struct vdifs_chunk_req q = { 0 };
	struct vdifs_req *req;
	struct iov_iter it;
	struct ct_data d = { 0 };

	ct_data_init(test, &d);
	iov_iter_bvec(&it, ITER_SOURCE, d.bv, CT_PAGES, CT_LEN);
	req = vdifs_req_new(VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), NULL, 0,
			    NULL, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(req));
	/* pretend the iterator holds more than a body may */
	it.count = VDIFS_BODY_MAX;
	KUNIT_EXPECT_EQ(test, vdifs_req_set_data(req, &it, VDIFS_BODY_MAX),
			-EMSGSIZE);
	vdifs_req_put(req);
	ct_data_free(&d);
}

static struct kunit_case client_test_cases[] = {
	KUNIT_CASE(client_test_data_bvec),
	KUNIT_CASE(client_test_data_kvec),
	KUNIT_CASE(client_test_data_too_big),
	{}
};

static struct kunit_suite client_test_suite = {
	.name = "vdifs_client",
	.test_cases = client_test_cases,
};
kunit_test_suite(client_test_suite);
