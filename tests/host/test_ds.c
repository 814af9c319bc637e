// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of vdifs-ds: one real vdifs-mds and three real vdifs-ds on
 * loopback per test (harness_ds.h), driven through libvdifs' chunk calls
 * and raw requests, every read checked byte for byte against an
 * in-memory model of the chunk.
 *
 *   build/out/tests/test_ds            all of it
 *   CK_RUN_CASE=cow test_ds            one TCase (Check's own variables)
 *   VDIFS_TEST_SEED=N                  another random sequence
 *   VDIFS_TEST_KEEP=1                  keep the servers' directories/logs
 */
#include <dirent.h>
#include <json.h>
#include <poll.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <regex.h>

#include "harness_ds.h"
#include "msg.h"

#define KiB		1024u
#define MiB		(1024u * 1024u)

#define NDS		3

static struct h_mds g_mds;
static struct h_ds g_ds[NDS];
static struct h_ds *g_set[NDS];		/* &g_ds[i], for h_chunk_ref() */
static struct vdc_conn *g_c[NDS];	/* a client connection to each */

/* ---- random numbers: reproducible, VDIFS_TEST_SEED overrides ---- */

static u64 g_rnd;
static u64 g_seed;

static void rnd_seed(u64 base)
{
	const char *e = getenv("VDIFS_TEST_SEED");

	g_seed = e && *e ? strtoull(e, NULL, 0) : base;
	g_rnd = g_seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
	if (!g_rnd)
		g_rnd = 1;
}

static u64 rnd(void)
{
	/* xorshift64* */
	g_rnd ^= g_rnd >> 12;
	g_rnd ^= g_rnd << 25;
	g_rnd ^= g_rnd >> 27;
	return g_rnd * 0x2545f4914f6cdd1dull;
}

static u32 rnd_below(u32 n)
{
	return n ? (u32)(rnd() % n) : 0;
}

/* random bytes, never a zero byte: written data is told from a hole */
static void fill(u8 *p, u32 len)
{
	u32 i;

	for (i = 0; i < len; i++) {
		if (!(i & 7)) {
			u64 v = rnd();

			memcpy(p + i, &v, len - i < 8 ? len - i : 8);
		}
		if (!p[i])
			p[i] = 0xa5;
	}
}

/* ---- fixtures ---- */

/* the MDS with mo, NDS data servers, a client connection to each */
static void start_cluster_opts(const struct h_mds_opts *mo,
			       const struct h_ds_opts *dso)
{
	int ret, i;

	ret = h_mds_start(&g_mds, mo);
	ck_assert_msg(ret == 0, "vdifs-mds did not start: %s", h_err(ret));
	ret = h_ds_start_n(g_ds, NDS, &g_mds, dso);
	ck_assert_msg(ret == 0, "vdifs-ds did not start: %s", h_err(ret));
	for (i = 0; i < NDS; i++) {
		g_set[i] = &g_ds[i];
		g_c[i] = h_ds_connect(&g_ds[i]);
	}
}

static void start_cluster(const struct h_mds_opts *mo)
{
	start_cluster_opts(mo, NULL);
}

static void setup(void)
{
	struct h_mds_opts mo = { .heartbeat_ms = 500, .lease_ms = 10000 };

	start_cluster(&mo);
}

static void teardown(void)
{
	int i;

	for (i = 0; i < NDS; i++) {
		vdc_close(g_c[i]);
		g_c[i] = NULL;
		h_ds_destroy(&g_ds[i]);
	}
	h_mds_destroy(&g_mds);
}

/* after a restart of server i */
static void reconnect(int i)
{
	vdc_close(g_c[i]);
	g_c[i] = h_ds_connect(&g_ds[i]);
}

/* restart server i (sig 0: it is not running) with env, same id */
static void restart(int i, int sig, const char *const *env)
{
	u32 old = g_ds[i].id;
	int ret = h_ds_restart(&g_ds[i], sig, env);

	ck_assert_msg(ret == 0, "restart of vdifs-ds %d (id %u): %s", i, old,
		      h_err(ret));
	ck_assert_uint_eq(g_ds[i].id, old);
	reconnect(i);
}

/* ---- the model of a chunk ---- */

struct model {
	u32 size, ext, next;
	u8 *data;
	u8 *has;	/* per extent: written (own or inherited), maybe data */
};

static void m_init(struct model *m, u32 size, u32 ext)
{
	m->size = size;
	m->ext = ext;
	m->next = ext ? (size + ext - 1) / ext : 0;
	m->data = calloc(1, size);
	m->has = calloc(1, m->next + 1);
	ck_assert_ptr_nonnull(m->data);
	ck_assert_ptr_nonnull(m->has);
}

static void m_copy(struct model *dst, const struct model *src)
{
	m_init(dst, src->size, src->ext);
	memcpy(dst->data, src->data, src->size);
	memcpy(dst->has, src->has, src->next);
}

static void m_free(struct model *m)
{
	free(m->data);
	free(m->has);
	memset(m, 0, sizeof(*m));
}

static void m_apply(struct model *m, u32 off, const u8 *buf, u32 len)
{
	u32 e;

	memcpy(m->data + off, buf, len);
	if (m->ext && len)
		for (e = off / m->ext; e <= (off + len - 1) / m->ext; e++)
			m->has[e] = 1;
}

static bool all_zero(const u8 *p, u32 len)
{
	u32 i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void m_punch(struct model *m, u32 off, u32 len, bool trunc)
{
	if (trunc)
		len = m->size - off;
	memset(m->data + off, 0, len);
	/*
	 * The part of an extent that a punch leaves may be kept as an
	 * extent of zeroes (MAP may mark it); a whole one need not be.
	 */
	if (m->ext && len) {
		u32 first = off / m->ext, last = (off + len - 1) / m->ext;

		if (off % m->ext)
			m->has[first] = 1;
		if ((off + len) % m->ext)
			m->has[last] = 1;
	}
}

/* ---- chunk operations, checked ---- */

static u64 do_write(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		    struct model *m, u32 off, u32 len)
{
	u8 *buf = malloc(len ? len : 1);
	u64 v = 0;
	int ret;

	ck_assert_ptr_nonnull(buf);
	fill(buf, len);
	ret = vdc_chunk_write(c, r, off, buf, len, &v);
	ck_assert_msg(ret == 0, "write chunk %llx [%u, +%u): %s (seed %llu)",
		      (unsigned long long)r->chunk_id, off, len, h_err(ret),
		      (unsigned long long)g_seed);
	m_apply(m, off, buf, len);
	free(buf);
	return v;
}

static u64 do_punch(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		    struct model *m, u32 off, u32 len, bool trunc)
{
	u64 v = 0;
	int ret = vdc_chunk_punch(c, r, off, len, trunc, &v);

	ck_assert_msg(ret == 0, "punch chunk %llx [%u, +%u)%s: %s (seed %llu)",
		      (unsigned long long)r->chunk_id, off, len,
		      trunc ? " trunc" : "", h_err(ret),
		      (unsigned long long)g_seed);
	m_punch(m, off, len, trunc);
	return v;
}

/* compare got with want over [off, +len) of a chunk, name the first diff */
static void ck_same(const char *what, const struct vdc_chunk_ref *r,
		    const struct model *m, u32 off, const u8 *got, u32 len)
{
	const u8 *want = m->data + off;
	u32 i;

	if (!memcmp(got, want, len))
		return;
	for (i = 0; i < len && got[i] == want[i]; i++)
		;
	ck_abort_msg("%s: chunk %llx differs at offset %u (extent %u): got 0x%02x, want 0x%02x%s (seed %llu)",
		     what, (unsigned long long)r->chunk_id, off + i,
		     m->ext ? (off + i) / m->ext : 0, got[i], want[i],
		     all_zero(want, len) ? ", want a hole" : "",
		     (unsigned long long)g_seed);
}

static void ck_read(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		    const struct model *m, u32 off, u32 len, const char *what)
{
	u8 *buf = malloc(len ? len : 1);
	int ret;

	ck_assert_ptr_nonnull(buf);
	ret = vdc_chunk_read(c, r, off, buf, len, NULL);
	ck_assert_msg(ret == (int)len, "%s: read chunk %llx [%u, +%u): %s",
		      what, (unsigned long long)r->chunk_id, off, len,
		      h_err(ret));
	ck_same(what, r, m, off, buf, len);
	free(buf);
}

/*
 * The same with block checksums, as the kernel reads: whole blocks come
 * from the server's files with one sum each, anything else as usual.
 */
static void ck_read_sums(struct vdc_conn *c, const struct vdc_chunk_ref *r,
			 const struct model *m, u32 off, u32 len,
			 const char *what)
{
	/* and large enough to be worth it (DS_FILES_READ_MIN) */
	bool whole = !(off % VDIFS_SUM_BLOCK) && !(len % VDIFS_SUM_BLOCK) &&
		     len >= 64 * KiB;
	u8 *buf = malloc(len ? len : 1);
	u32 nsums = 12345;
	int ret;

	ck_assert_ptr_nonnull(buf);
	ret = vdc_chunk_read_sums(c, r, off, buf, len, &nsums);
	ck_assert_msg(ret == (int)len, "%s: read chunk %llx [%u, +%u) with sums: %s",
		      what, (unsigned long long)r->chunk_id, off, len,
		      h_err(ret));
	ck_assert_msg(nsums == (whole ? len / VDIFS_SUM_BLOCK : 0),
		      "%s: read [%u, +%u) with sums: %u of them", what, off,
		      len, nsums);
	ck_same(what, r, m, off, buf, len);
	free(buf);
}

/* the whole chunk, in pieces of at most VDIFS_IO_MAX, both ways */
static void ck_chunk(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		     const struct model *m, const char *what)
{
	u32 off, n;

	for (off = 0; off < m->size; off += n) {
		n = m->size - off < VDIFS_IO_MAX ? m->size - off : VDIFS_IO_MAX;
		ck_read(c, r, m, off, n, what);
		ck_read_sums(c, r, m, off, n, what);
	}
	/* an odd piece: not whole blocks, answered the usual way */
	if (m->size > 3 * VDIFS_SUM_BLOCK)
		ck_read_sums(c, r, m, 100, 2 * VDIFS_SUM_BLOCK, what);
}

/*
 * MAP against the model: an extent with data must be marked; one never
 * written (nor inherited) must not be.  A punched extent may be either.
 */
static void ck_map(struct vdc_conn *c, const struct vdc_chunk_ref *r,
		   const struct model *m, const char *what)
{
	u8 bm[4096];
	u32 es = 0, e;
	int n;

	memset(bm, 0, sizeof(bm));
	n = vdc_chunk_map(c, r, bm, sizeof(bm), &es, NULL);
	ck_assert_msg(n >= 0, "%s: map chunk %llx: %s", what,
		      (unsigned long long)r->chunk_id, h_err(n));
	ck_assert_msg(es == m->ext, "%s: map extent_size %u, want %u", what,
		      es, m->ext);
	ck_assert_msg((u32)n >= (m->next + 7) / 8,
		      "%s: map of %d bytes for %u extents", what, n, m->next);
	for (e = 0; e < m->next; e++) {
		bool bit = bm[e / 8] & (1u << (e % 8));

		if (!all_zero(m->data + e * m->ext, m->ext))
			ck_assert_msg(bit, "%s: chunk %llx extent %u has data, map says no",
				      what, (unsigned long long)r->chunk_id, e);
		if (!m->has[e])
			ck_assert_msg(!bit, "%s: chunk %llx extent %u was never written, map says data",
				      what, (unsigned long long)r->chunk_id, e);
	}
	for (e = m->next; e < (u32)n * 8; e++)
		ck_assert_msg(!(bm[e / 8] & (1u << (e % 8))),
			      "%s: map bit %u past the last extent", what, e);
}

static struct vdifs_chunk_stat stat_of(struct vdc_conn *c, u64 id)
{
	struct vdifs_chunk_stat s;
	int ret;

	memset(&s, 0, sizeof(s));
	ret = vdc_chunk_stat(c, id, &s);
	ck_assert_msg(ret == 0, "stat chunk %llx: %s", (unsigned long long)id,
		      h_err(ret));
	ck_assert_uint_eq(le64_to_cpu(s.chunk_id), id);
	return s;
}

static u64 version_of(struct vdc_conn *c, u64 id)
{
	struct vdifs_chunk_stat s = stat_of(c, id);

	return le64_to_cpu(s.version);
}

static u32 map_count(const struct model *m)
{
	u32 e, n = 0;

	for (e = 0; e < m->next; e++)
		n += m->has[e];
	return n;
}

/* ================================================================== */
/* round trip                                                          */
/* ================================================================== */

START_TEST(test_roundtrip)
{
	struct vdc_chunk_ref r;
	struct model m;
	u64 v, last = 0;
	u8 *buf;
	int i, k;

	rnd_seed(1);
	buf = malloc(VDIFS_IO_MAX + 1);
	ck_assert_ptr_nonnull(buf);
	h_chunk_ref(&r, 0x1001, MiB, 64 * KiB, VDIFS_REPL_SYNC, 3, g_set);
	m_init(&m, MiB, 64 * KiB);

	/* unknown chunk */
	ck_ret(vdc_chunk_read(g_c[0], &r, 0, buf, 4096, NULL), -ENOENT);
	ck_ret(vdc_chunk_read(g_c[1], &r, 0, buf, 4096, NULL), -ENOENT);

	/* two writes, the rest holes */
	last = do_write(g_c[0], &r, &m, 100000, 5000);
	v = do_write(g_c[0], &r, &m, 700001, 70000);
	ck_assert_uint_gt(v, last);
	last = v;
	ck_chunk(g_c[0], &r, &m, "two writes");
	ck_map(g_c[0], &r, &m, "two writes");
	ck_read(g_c[0], &r, &m, 0, 64 * KiB, "hole extent 0");

	/* random writes, punches, reads over the whole chunk */
	for (i = 0; i < 250; i++) {
		u32 off = rnd_below(MiB);
		u32 max = MiB - off < 160 * KiB ? MiB - off : 160 * KiB;
		u32 len = 1 + rnd_below(max);

		switch (rnd_below(10)) {
		case 0:
			v = do_punch(g_c[0], &r, &m, off, len, false);
			ck_assert_msg(v > last, "punch: version %llu after %llu",
				      (unsigned long long)v,
				      (unsigned long long)last);
			last = v;
			break;
		case 1:
		case 2:
		case 3:
			ck_read(g_c[0], &r, &m, off, len, "random read");
			break;
		default:
			v = do_write(g_c[0], &r, &m, off, len);
			ck_assert_msg(v > last, "write: version %llu after %llu",
				      (unsigned long long)v,
				      (unsigned long long)last);
			last = v;
		}
	}
	/* a whole-chunk write, then truncate from an unaligned offset */
	v = do_write(g_c[0], &r, &m, 0, MiB);
	ck_assert_uint_gt(v, last);
	last = v;
	v = do_punch(g_c[0], &r, &m, 900 * KiB + 17, 0, true);
	ck_assert_uint_gt(v, last);
	last = v;
	v = do_write(g_c[0], &r, &m, 3, 10);
	last = v;

	/* every replica holds it, at the same version */
	for (k = 0; k < NDS; k++) {
		ck_chunk(g_c[k], &r, &m, k ? "replica" : "primary");
		ck_assert_uint_eq(version_of(g_c[k], r.chunk_id), last);
	}
	ck_map(g_c[0], &r, &m, "after random");
	m_free(&m);

	/* out of range */
	ck_ret(vdc_chunk_read(g_c[0], &r, MiB, buf, 1, NULL), -EINVAL);
	ck_ret(vdc_chunk_read(g_c[0], &r, MiB - 10, buf, 11, NULL), -EINVAL);
	ck_ret(vdc_chunk_read(g_c[0], &r, 0xfffffff0u, buf, 0x20, NULL),
	       -EINVAL);
	ck_ret(vdc_chunk_write(g_c[0], &r, MiB - 10, buf, 11, NULL), -EINVAL);
	ck_ret(vdc_chunk_read(g_c[0], &r, 0, buf, VDIFS_IO_MAX + 1, NULL),
	       -EINVAL);
	ck_assert_uint_eq(version_of(g_c[0], r.chunk_id), last);

	/* FLUSH of a chunk, of everything */
	ck_ok(vdc_chunk_flush(g_c[0], r.chunk_id));
	ck_ok(vdc_chunk_flush(g_c[1], 0));
	free(buf);
}
END_TEST

/* several chunks of several shapes and replica sets, interleaved */
START_TEST(test_roundtrip_many)
{
	static const struct {
		u64 id;
		u32 cs, es;
		unsigned int nrep, first;
	} spec[] = {
		{ 0x1100, 64 * KiB, 4 * KiB, 1, 0 },
		{ 0x1101, 256 * KiB, 16 * KiB, 2, 1 },
		{ 0x1102, 512 * KiB, 4 * KiB, 3, 2 },
		{ 0x1103, 2 * MiB, 1 * MiB, 2, 2 },
		{ 0x1104, 1 * MiB, 64 * KiB, 3, 1 },
	};
	enum { N = sizeof(spec) / sizeof(spec[0]) };
	struct vdc_chunk_ref r[N];
	struct model m[N];
	struct vdifs_chunk_req q;
	struct h_ds *set[NDS];
	bool written[N] = { false };
	int i, k, ret;

	rnd_seed(2);
	for (i = 0; i < N; i++) {
		for (k = 0; k < NDS; k++)
			set[k] = g_set[(spec[i].first + k) % NDS];
		h_chunk_ref(&r[i], spec[i].id, spec[i].cs, spec[i].es,
			    VDIFS_REPL_SYNC, spec[i].nrep, set);
		m_init(&m[i], spec[i].cs, spec[i].es);
	}
	for (k = 0; k < 300; k++) {
		int j = (int)rnd_below(N);
		int p = (int)(spec[j].first % NDS);
		u32 off = rnd_below(m[j].size);
		u32 max = m[j].size - off < 300 * KiB ?
			  m[j].size - off : 300 * KiB;
		u32 len = 1 + rnd_below(max);

		if (rnd_below(4)) {
			do_write(g_c[p], &r[j], &m[j], off, len);
			written[j] = true;
		} else if (written[j]) {
			ck_read(g_c[p], &r[j], &m[j], off, len, "interleaved");
		} else {
			ck_ret(vdc_chunk_read(g_c[p], &r[j], off, m[j].data,
					      len, NULL), -ENOENT);
		}
	}
	for (i = 0; i < N; i++) {
		for (k = 0; k < (int)spec[i].nrep; k++) {
			int s = (int)((spec[i].first + k) % NDS);

			ck_chunk(g_c[s], &r[i], &m[i],
				 k ? "replica (many)" : "primary (many)");
		}
		ck_map(g_c[spec[i].first % NDS], &r[i], &m[i], "many");
	}

	/* a read over VDIFS_IO_MAX, sent raw: the server refuses it */
	vdc_chunk_req_init(&q, &r[3]);
	q.offset = 0;
	q.len = cpu_to_le32(VDIFS_IO_MAX + 1);
	ret = vdc_call(g_c[2], VDIFS_OP_CHUNK_READ, &q, sizeof(q), NULL, 0,
		       NULL, 0, NULL);
	ck_ret2(ret, -EINVAL, -EMSGSIZE);
	/* and still serves, on the same connection */
	ck_chunk(g_c[2], &r[3], &m[3], "after an oversized read");
	for (i = 0; i < N; i++)
		m_free(&m[i]);
}
END_TEST

/* ================================================================== */
/* replication                                                         */
/* ================================================================== */

START_TEST(test_sync_replication)
{
	struct vdifs_chunk_stat s1, s2;
	struct vdc_chunk_ref r;
	struct model m;
	u64 v = 0;
	int i;

	rnd_seed(3);
	h_chunk_ref(&r, 0x2001, MiB, 64 * KiB, VDIFS_REPL_SYNC, 3, g_set);
	m_init(&m, MiB, 64 * KiB);
	for (i = 0; i < 6; i++) {
		u32 off = rnd_below(MiB - 200 * KiB);

		do_write(g_c[0], &r, &m, off, 1 + rnd_below(200 * KiB));
	}
	/* the last one spans several extents; on its ack the primary dies */
	v = do_write(g_c[0], &r, &m, 3 * 64 * KiB + 333, 5 * 64 * KiB);
	h_ds_kill(&g_ds[0]);

	for (i = 1; i < NDS; i++)
		ck_chunk(g_c[i], &r, &m, "replica after the primary died");
	s1 = stat_of(g_c[1], r.chunk_id);
	s2 = stat_of(g_c[2], r.chunk_id);
	ck_assert_uint_eq(le64_to_cpu(s1.version), le64_to_cpu(s2.version));
	ck_assert_msg(le64_to_cpu(s1.version) == v,
		      "replica version %llu, the ack said %llu",
		      (unsigned long long)le64_to_cpu(s1.version),
		      (unsigned long long)v);
	ck_assert_msg(!(le32_to_cpu(s1.flags) & VDIFS_CHUNK_STALE) &&
		      !(le32_to_cpu(s2.flags) & VDIFS_CHUNK_STALE),
		      "replica marked stale");
	ck_map(g_c[1], &r, &m, "replica");
	m_free(&m);
}
END_TEST

/*
 * A primary forwards while it writes its own copy, so a replica may hold
 * a version its primary never committed (the primary died, or failed to
 * write).  A forward of the version a replica has is then a resend only
 * with the digest it applied: the same mutation is taken as done, another
 * one marks the replica's copy stale (it went another way) instead of
 * being acknowledged as if both copies held it.
 */
START_TEST(test_forward_resend)
{
	struct vdc_chunk_ref r;
	struct vdifs_chunk_req q;
	struct vdifs_chunk_stat st;
	struct vdc_conn *peer = NULL;
	struct model m;
	u8 a[4096], b[4096], got[4096];
	u64 v;

	rnd_seed(41);
	h_chunk_ref(&r, 0x3101, MiB, 64 * KiB, VDIFS_REPL_SYNC, 2, g_set);
	m_init(&m, MiB, 64 * KiB);
	v = do_write(g_c[0], &r, &m, 0, 8192);
	ck_ok(h_ds_connect_role(&g_ds[1], VDIFS_ROLE_DS, 10000, &peer));
	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	vdc_chunk_req_init(&q, &r);
	q.flags = cpu_to_le32(VDIFS_CHUNK_FWD);
	q.version = cpu_to_le64(v + 1);
	q.offset = cpu_to_le32(4096);
	q.len = cpu_to_le32(sizeof(a));
	q.digest = cpu_to_le64(0x1111);
	/* the next version, forwarded: applied */
	ck_ok(vdc_call(peer, VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), a, sizeof(a),
		       NULL, 0, NULL));
	/* again, the same: a resend, done already */
	ck_ok(vdc_call(peer, VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), a, sizeof(a),
		       NULL, 0, NULL));
	st = stat_of(g_c[1], r.chunk_id);
	ck_assert_uint_eq(le64_to_cpu(st.version), v + 1);
	ck_assert(!(le32_to_cpu(st.flags) & VDIFS_CHUNK_STALE));
	ck_assert_int_eq(vdc_chunk_read(g_c[1], &r, 4096, got, sizeof(got),
					NULL), (int)sizeof(got));
	ck_assert(!memcmp(got, a, sizeof(a)));
	/* the same version, another mutation: this copy is not the set's */
	q.digest = cpu_to_le64(0x2222);
	ck_ret(vdc_call(peer, VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), b,
			sizeof(b), NULL, 0, NULL), -ESTALE);
	st = stat_of(g_c[1], r.chunk_id);
	ck_assert_msg(le32_to_cpu(st.flags) & VDIFS_CHUNK_STALE,
		      "a replica that applied another mutation as v%llu is not stale (flags 0x%x)",
		      (unsigned long long)(v + 1), le32_to_cpu(st.flags));
	/* and it serves nothing until repaired */
	ck_ret(vdc_chunk_read(g_c[1], &r, 0, got, sizeof(got), NULL),
	       -ESTALE);
	vdc_close(peer);
	m_free(&m);
}
END_TEST

/*
 * Writes to one chunk, many in flight: the primary lets the chunk's next
 * write go ahead while the replicas' answers to the one before are still
 * to come.  A clone taken in the middle must still find every replica
 * with every write the primary committed before it (no forward may be
 * overtaken by it), so the base and the clone read the same on all
 * three servers, and as the writes the writers saw succeed.
 */
#define PIPE_WRITERS	6
#define PIPE_STRIPE	(MiB / 8)

struct pipe_writer {
	pthread_t th;
	struct vdc_conn *c;
	const struct vdc_chunk_ref *r;
	unsigned int k;
	u64 seed;
	u8 *stripe;		/* what its stripe holds, by its writes */
	unsigned int *done;	/* writes applied, all writers */
	int ret;		/* the first error other than EROFS */
};

static void *pipe_writer_run(void *arg)
{
	struct pipe_writer *w = arg;
	u8 buf[40 * KiB];
	u64 rs = w->seed;
	unsigned int i;

	for (i = 0; i < 400; i++) {
		u32 off, len, b;
		int ret;

		rs = rs * 6364136223846793005ull + 1442695040888963407ull;
		len = 1 + (u32)(rs >> 33) % sizeof(buf);
		off = (u32)(rs >> 17) % (PIPE_STRIPE - len + 1);
		for (b = 0; b < len; b++)
			buf[b] = (u8)(i + b + w->k) | 1;
		ret = vdc_chunk_write(w->c, w->r, w->k * PIPE_STRIPE + off,
				      buf, len, NULL);
		if (ret == -EROFS)
			break;		/* the clone froze it */
		if (ret) {
			w->ret = ret;
			break;
		}
		memcpy(w->stripe + off, buf, len);
		__atomic_add_fetch(w->done, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

START_TEST(test_sync_pipelined)
{
	struct pipe_writer w[PIPE_WRITERS];
	struct vdifs_chunk_stat s[NDS];
	struct vdc_chunk_ref r, rc;
	unsigned int done, k, i, round;
	struct model m;
	char what[64];

	/* a few rounds: a clone meets other writes in flight each time */
	for (round = 0; round < 4; round++) {
		h_chunk_ref(&r, 0x3201 + 2 * round, MiB, 64 * KiB,
			    VDIFS_REPL_SYNC, 3, g_set);
		h_chunk_ref(&rc, 0x3202 + 2 * round, MiB, 64 * KiB,
			    VDIFS_REPL_SYNC, 3, g_set);
		m_init(&m, MiB, 64 * KiB);
		done = 0;
		for (k = 0; k < PIPE_WRITERS; k++) {
			w[k] = (struct pipe_writer){
				.c = h_ds_connect(&g_ds[0]), .r = &r, .k = k,
				.done = &done, .seed = 1000 * round + k };
			w[k].stripe = calloc(1, PIPE_STRIPE);
			ck_assert_ptr_nonnull(w[k].stripe);
			ck_assert_int_eq(pthread_create(&w[k].th, NULL,
							pipe_writer_run,
							&w[k]), 0);
		}
		for (i = 0; i < 3000 &&
		     __atomic_load_n(&done, __ATOMIC_RELAXED) < 200; i++)
			usleep(10000);
		ck_ok(vdc_chunk_clone(g_c[0], &rc, r.chunk_id));
		for (k = 0; k < PIPE_WRITERS; k++) {
			pthread_join(w[k].th, NULL);
			ck_assert_msg(!w[k].ret, "round %u writer %u: %s",
				      round, k, h_err(w[k].ret));
			m_apply(&m, k * PIPE_STRIPE, w[k].stripe, PIPE_STRIPE);
			free(w[k].stripe);
			vdc_close(w[k].c);
		}
		ck_assert_msg(done >= 200, "only %u writes before the clone",
			      done);
		for (k = 0; k < NDS; k++) {
			snprintf(what, sizeof(what), "round %u base on server %u",
				 round, k);
			ck_chunk(g_c[k], &r, &m, what);
			snprintf(what, sizeof(what), "round %u clone on server %u",
				 round, k);
			ck_chunk(g_c[k], &rc, &m, what);
			s[k] = stat_of(g_c[k], r.chunk_id);
			ck_assert_msg(!(le32_to_cpu(s[k].flags) &
					VDIFS_CHUNK_STALE),
				      "round %u server %u: base marked stale",
				      round, k);
			ck_assert_uint_eq(le64_to_cpu(s[k].version),
					  le64_to_cpu(s[0].version));
		}
		m_free(&m);
	}
}
END_TEST

/*
 * Writers of different chunks at once share write transactions (group
 * commit, where the data server's disk makes commits worth sharing):
 * each one's writes, and only its, reach its chunk and its replicas, and
 * stay there across a restart of the primary.
 */
START_TEST(test_group_commit)
{
	struct pipe_writer w[PIPE_WRITERS];
	struct vdc_chunk_ref r[PIPE_WRITERS];
	unsigned int done = 0, k, j;
	struct model m;
	char what[64];

	for (k = 0; k < PIPE_WRITERS; k++) {
		h_chunk_ref(&r[k], 0x3301 + k, MiB, 64 * KiB, VDIFS_REPL_SYNC,
			    1 + k % NDS, g_set);
		w[k] = (struct pipe_writer){ .c = h_ds_connect(&g_ds[0]),
					     .r = &r[k], .k = k,
					     .done = &done, .seed = 77 + k };
		w[k].stripe = calloc(1, PIPE_STRIPE);
		ck_assert_ptr_nonnull(w[k].stripe);
		ck_assert_int_eq(pthread_create(&w[k].th, NULL,
						pipe_writer_run, &w[k]), 0);
	}
	for (k = 0; k < PIPE_WRITERS; k++) {
		pthread_join(w[k].th, NULL);
		ck_assert_msg(!w[k].ret, "writer %u: %s", k, h_err(w[k].ret));
		vdc_close(w[k].c);
	}
	ck_assert_uint_eq(done, PIPE_WRITERS * 400);
	restart(0, SIGKILL, NULL);
	for (k = 0; k < PIPE_WRITERS; k++) {
		m_init(&m, MiB, 64 * KiB);
		m_apply(&m, k * PIPE_STRIPE, w[k].stripe, PIPE_STRIPE);
		for (j = 0; j < r[k].nrep; j++) {
			snprintf(what, sizeof(what), "chunk %u on server %u",
				 k, j);
			ck_chunk(g_c[j], &r[k], &m, what);
		}
		m_free(&m);
		free(w[k].stripe);
	}
}
END_TEST

/*
 * Writes to one chunk in flight together whose extents meet: writers own
 * interleaved slots of 1.5 KiB, so most blocks hold parts of three
 * writers' slots and every extent parts of all of them.  Each write
 * merges its part into blocks other writers are writing too, and the
 * first writes to the clone copy extents its base holds: a write whose
 * plan read what another one in flight replaces would lose that one's
 * bytes.  Each writer's slots must end as its writes left them, on all
 * three servers.
 */
#define SHARED_WRITERS	4
#define SHARED_SLOT	1536
#define SHARED_SPAN	(256 * KiB)

struct shared_writer {
	pthread_t th;
	struct vdc_conn *c;
	const struct vdc_chunk_ref *r;
	unsigned int k;
	u8 *img;		/* the span, as its own writes left its slots */
	int ret;
};

static void *shared_writer_run(void *arg)
{
	struct shared_writer *w = arg;
	u64 rs = 0x9e3779b97f4a7c15ull * (w->k + 1);
	u8 buf[SHARED_SLOT];
	unsigned int i;

	for (i = 0; i < 300; i++) {
		u32 nslots = SHARED_SPAN / SHARED_SLOT / SHARED_WRITERS;
		u32 slot, off, len, b;
		int ret;

		rs = rs * 6364136223846793005ull + 1442695040888963407ull;
		slot = ((u32)(rs >> 40) % nslots) * SHARED_WRITERS + w->k;
		len = 1 + (u32)(rs >> 20) % SHARED_SLOT;
		off = slot * SHARED_SLOT + (SHARED_SLOT - len) *
		      (u32)(rs >> 60 & 1);
		for (b = 0; b < len; b++)
			buf[b] = (u8)(rs >> 8) + (u8)b;
		ret = vdc_chunk_write(w->c, w->r, off, buf, len, NULL);
		if (ret) {
			w->ret = ret;
			break;
		}
		memcpy(w->img + off, buf, len);
	}
	return NULL;
}

START_TEST(test_pipelined_shared_extents)
{
	struct shared_writer w[SHARED_WRITERS];
	struct vdifs_chunk_stat s[NDS];
	struct vdc_chunk_ref base, r;
	unsigned int k, j;
	struct model m;
	char what[64];
	u8 *img;

	rnd_seed(43);
	h_chunk_ref(&base, 0x3401, MiB, 64 * KiB, VDIFS_REPL_SYNC, 3, g_set);
	h_chunk_ref(&r, 0x3402, MiB, 64 * KiB, VDIFS_REPL_SYNC, 3, g_set);
	m_init(&m, MiB, 64 * KiB);
	do_write(g_c[0], &base, &m, 0, SHARED_SPAN + 4096);
	ck_ok(vdc_chunk_clone(g_c[0], &r, base.chunk_id));
	img = malloc(SHARED_SPAN);
	ck_assert_ptr_nonnull(img);
	memcpy(img, m.data, SHARED_SPAN);
	for (k = 0; k < SHARED_WRITERS; k++) {
		w[k] = (struct shared_writer){ .c = h_ds_connect(&g_ds[0]),
					       .r = &r, .k = k };
		w[k].img = malloc(SHARED_SPAN);
		ck_assert_ptr_nonnull(w[k].img);
		memcpy(w[k].img, img, SHARED_SPAN);
		ck_assert_int_eq(pthread_create(&w[k].th, NULL,
						shared_writer_run, &w[k]), 0);
	}
	for (k = 0; k < SHARED_WRITERS; k++) {
		pthread_join(w[k].th, NULL);
		ck_assert_msg(!w[k].ret, "writer %u: %s", k, h_err(w[k].ret));
		vdc_close(w[k].c);
	}
	/* slot by slot, what its own writer left */
	for (j = 0; j < SHARED_SPAN / SHARED_SLOT; j++)
		memcpy(img + j * SHARED_SLOT,
		       w[j % SHARED_WRITERS].img + j * SHARED_SLOT,
		       SHARED_SLOT);
	m_apply(&m, 0, img, SHARED_SPAN);
	for (k = 0; k < NDS; k++) {
		snprintf(what, sizeof(what), "clone on server %u", k);
		ck_chunk(g_c[k], &r, &m, what);
		s[k] = stat_of(g_c[k], r.chunk_id);
		ck_assert_msg(!(le32_to_cpu(s[k].flags) & VDIFS_CHUNK_STALE),
			      "server %u: clone marked stale", k);
		ck_assert_uint_eq(le64_to_cpu(s[k].version),
				  le64_to_cpu(s[0].version));
	}
	for (k = 0; k < SHARED_WRITERS; k++)
		free(w[k].img);
	free(img);
	m_free(&m);
}
END_TEST

/*
 * Requests pipelined on one connection, as the kernel sends them: a
 * reader with writes and punches of a chunk queued behind each other
 * commits them together (deferred writes), and one that meets the
 * extents of another it holds must wait for that one's commit, not plan
 * from what it replaces.  Small writes of parts of blocks, most of them
 * meeting others in flight, into a clone (first writes copy its base's
 * extents): the chunk must end as the requests, applied in the order
 * sent, leave it, every one counted in the version, and so after a
 * SIGKILL of the server; with sync copies, on each copy.
 */
#define DEFER_ROUNDS	40
#define DEFER_DEPTH	24
#define DEFER_SPAN	(192 * KiB)

/* _i 0: one copy; 1: three sync copies (a batch's forwards go together) */
START_TEST(test_deferred_pipelined)
{
	u8 copies = _i ? 3 : 1;
	struct vdc_chunk_ref base, r;
	struct vdc_conn *c = h_ds_connect(&g_ds[0]);
	unsigned int round, i, nmut = 0;
	u8 *buf = malloc(12 * KiB);
	struct model m;
	u64 v0;

	rnd_seed(61 + _i);
	ck_assert_ptr_nonnull(buf);
	h_chunk_ref(&base, 0x3501 + 0x10 * _i, MiB, 64 * KiB, VDIFS_REPL_SYNC,
		    copies, g_set);
	h_chunk_ref(&r, 0x3502 + 0x10 * _i, MiB, 64 * KiB, VDIFS_REPL_SYNC,
		    copies, g_set);
	m_init(&m, MiB, 64 * KiB);
	do_write(g_c[0], &base, &m, 0, DEFER_SPAN);
	ck_ok(vdc_chunk_clone(g_c[0], &r, base.chunk_id));
	v0 = version_of(g_c[0], r.chunk_id);
	for (round = 0; round < DEFER_ROUNDS; round++) {
		for (i = 0; i < DEFER_DEPTH; i++) {
			struct vdifs_chunk_req q;
			u32 off = rnd_below(DEFER_SPAN - 12 * KiB);
			u32 len = 1 + rnd_below(12 * KiB);
			bool punch = !rnd_below(8);

			vdc_chunk_req_init(&q, &r);
			q.offset = cpu_to_le32(off);
			q.len = cpu_to_le32(len);
			if (punch) {
				m_punch(&m, off, len, false);
			} else {
				fill(buf, len);
				m_apply(&m, off, buf, len);
			}
			ck_ok(msg_write(vdc_fd(c), punch ?
					VDIFS_OP_CHUNK_PUNCH :
					VDIFS_OP_CHUNK_WRITE, 0,
					(1ull << 40) + nmut + i, 0, &q,
					sizeof(q), punch ? NULL : buf,
					punch ? 0 : len, NULL, 0));
		}
		for (i = 0; i < DEFER_DEPTH; i++) {
			struct vdc_msg rep;

			ck_ok(msg_read(vdc_fd(c), &rep, 10000));
			ck_assert_msg(rep.hdr.status == 0,
				      "round %u: request %llu: %s", round,
				      (unsigned long long)(rep.hdr.req_id -
							   (1ull << 40)),
				      h_err(rep.hdr.status));
			vdc_msg_free(&rep);
		}
		nmut += DEFER_DEPTH;
	}
	for (i = 0; i < copies; i++) {
		ck_chunk(g_c[i], &r, &m, "pipelined on one connection");
		ck_assert_uint_eq(version_of(g_c[i], r.chunk_id), v0 + nmut);
	}
	vdc_close(c);
	restart(0, SIGKILL, NULL);
	ck_chunk(g_c[0], &r, &m, "after a SIGKILL");
	ck_assert_uint_eq(version_of(g_c[0], r.chunk_id), v0 + nmut);
	m_free(&m);
	free(buf);
}
END_TEST

START_TEST(test_async_replication)
{
	struct vdc_chunk_ref r;
	struct model m;
	long long t0, end;
	u64 v = 0, v1 = 0, v2 = 0;
	int i;

	rnd_seed(4);
	h_chunk_ref(&r, 0x3001, MiB, 64 * KiB, VDIFS_REPL_ASYNC, 3, g_set);
	m_init(&m, MiB, 64 * KiB);
	do_write(g_c[0], &r, &m, 0, 256 * KiB);

	/* replicas frozen: acks come from the primary alone */
	h_ds_pause(&g_ds[1]);
	h_ds_pause(&g_ds[2]);
	for (i = 0; i < 6; i++) {
		u32 off = (u32)i * 150 * KiB + 1000;

		t0 = h_now_ms();
		v = do_write(g_c[0], &r, &m, off, 100 * KiB + 7);
		ck_assert_msg(h_now_ms() - t0 < 5000,
			      "async write %d took %lld ms with the replicas stopped",
			      i, h_now_ms() - t0);
	}

	/* the primary dies and comes back from its disk */
	restart(0, SIGKILL, NULL);
	ck_assert_msg(version_of(g_c[0], r.chunk_id) == v,
		      "primary at version %llu after a restart, acked %llu",
		      (unsigned long long)version_of(g_c[0], r.chunk_id),
		      (unsigned long long)v);
	ck_chunk(g_c[0], &r, &m, "primary after restart");

	h_ds_resume(&g_ds[1]);
	h_ds_resume(&g_ds[2]);
	end = h_now_ms() + 30000;
	for (;;) {
		v1 = v2 = 0;
		{
			struct vdifs_chunk_stat s;

			if (!vdc_chunk_stat(g_c[1], r.chunk_id, &s))
				v1 = le64_to_cpu(s.version);
			if (!vdc_chunk_stat(g_c[2], r.chunk_id, &s))
				v2 = le64_to_cpu(s.version);
		}
		if (v1 == v && v2 == v)
			break;
		ck_assert_msg(h_now_ms() < end,
			      "replicas at versions %llu and %llu after 30 s, primary at %llu",
			      (unsigned long long)v1, (unsigned long long)v2,
			      (unsigned long long)v);
		h_sleep_ms(50);
	}
	ck_chunk(g_c[1], &r, &m, "replica 1 caught up");
	ck_chunk(g_c[2], &r, &m, "replica 2 caught up");
	m_free(&m);
}
END_TEST

/* ================================================================== */
/* copy on write                                                       */
/* ================================================================== */

#define EXT	(64 * KiB)

/* ================================================================== */
/* limits: what one peer may take of a data server                    */
/* ================================================================== */

#define LIM_PER_PEER	8
#define LIM_SEND_S	2

static void setup_limits(void)
{
	static const char *const args[] = {
		"--max-conns-per-peer", "8", "--send-timeout", "2", NULL,
	};
	struct h_mds_opts mo = { .heartbeat_ms = 500, .lease_ms = 10000 };
	struct h_ds_opts dso = { .args = args };

	start_cluster_opts(&mo, &dso);
}

/* a bare TCP connection to d, nothing sent */
static int raw_connect(const struct h_ds *d)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((u16)d->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(!connect(fd, (struct sockaddr *)&sa, sizeof(sa)),
		      "connect: %s", strerror(errno));
	return fd;
}

/* the server closed fd (it reads as the end, nothing before it) */
static bool raw_closed(int fd)
{
	char b;

	return recv(fd, &b, 1, MSG_DONTWAIT) == 0;
}

/*
 * Connections from one address past max_conns_per_peer are closed as
 * they come (it used to take every one, a thread each), and the slots
 * come back when they close.
 */
START_TEST(test_conn_limit_per_peer)
{
	int fds[2 * LIM_PER_PEER], open = 0, refused = 0, i;
	struct vdc_chunk_ref r;
	struct vdc_conn *c;
	struct model m;

	rnd_seed(30);
	h_chunk_ref(&r, 0xa002, MiB, EXT, VDIFS_REPL_SYNC, 1, g_set);
	m_init(&m, MiB, EXT);
	do_write(g_c[0], &r, &m, 0, 3 * EXT);

	for (i = 0; i < 2 * LIM_PER_PEER; i++)
		fds[i] = raw_connect(&g_ds[0]);
	h_sleep_ms(500);
	for (i = 0; i < 2 * LIM_PER_PEER; i++) {
		if (raw_closed(fds[i]))
			refused++;
		else
			open++;
	}
	/* ours, and whatever the MDS and the other servers hold */
	ck_assert_msg(open < LIM_PER_PEER && open >= LIM_PER_PEER - 4,
		      "%d of %d connections taken with a limit of %d", open,
		      2 * LIM_PER_PEER, LIM_PER_PEER);
	ck_assert_int_eq(refused, 2 * LIM_PER_PEER - open);
	/* what was connected before still works */
	ck_read(g_c[0], &r, &m, 0, 3 * EXT, "beside refused connections");
	for (i = 0; i < 2 * LIM_PER_PEER; i++)
		close(fds[i]);
	h_sleep_ms(300);
	/* the slots are back */
	for (i = 0; i < LIM_PER_PEER - 5; i++) {
		fds[i] = raw_connect(&g_ds[0]);
		h_sleep_ms(50);
		ck_assert_msg(!raw_closed(fds[i]),
			      "connection %d refused after the others closed",
			      i);
	}
	c = h_ds_connect(&g_ds[0]);
	ck_read(c, &r, &m, 0, 3 * EXT, "on a new connection");
	vdc_close(c);
	for (i = 0; i < LIM_PER_PEER - 5; i++)
		close(fds[i]);
	m_free(&m);
}
END_TEST

/*
 * A client that pipelines reads and never reads the replies: it holds at
 * most DS_CONN_JOBS workers (others are served at once meanwhile), and
 * after the send timeout it is dropped.  It used to take every worker,
 * for good: every other client of the server waited.
 */
START_TEST(test_peer_stops_reading)
{
	enum { NREQ = 48 };
	struct vdc_chunk_ref r;
	struct vdifs_chunk_req q;
	struct vdc_conn *stall;
	struct model m;
	u64 id, t0, took, got = 0;
	int i, fd;
	char *buf = malloc(1 << 20);

	ck_assert_ptr_nonnull(buf);
	rnd_seed(31);
	h_chunk_ref(&r, 0xa001, MiB, EXT, VDIFS_REPL_SYNC, 1, g_set);
	m_init(&m, MiB, EXT);
	do_write(g_c[0], &r, &m, 0, MiB);

	stall = h_ds_connect(&g_ds[0]);
	vdc_chunk_req_init(&q, &r);
	q.len = cpu_to_le32(MiB);
	for (i = 0; i < NREQ; i++)
		ck_ok(vdc_call_send(stall, VDIFS_OP_CHUNK_READ, &q, sizeof(q),
				    NULL, 0, NULL, 0, &id));
	h_sleep_ms(500);
	/* the others' reads go on meanwhile, now */
	t0 = h_now_ms();
	for (i = 0; i < 4; i++)
		ck_read(g_c[0], &r, &m, 0, MiB, "read beside a stalled peer");
	took = h_now_ms() - t0;
	ck_assert_msg(took < 1000 * LIM_SEND_S / 2,
		      "4 reads beside a peer that stopped reading took %llu ms",
		      (unsigned long long)took);
	/*
	 * And the stalled peer is dropped: what it can still read ends.
	 * (A send that made some progress before the timeout returns
	 * short, the next one times out: up to twice the timeout.)
	 */
	h_sleep_ms(1000 * 3 * LIM_SEND_S);
	fd = vdc_fd(stall);
	t0 = h_now_ms();
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		ck_assert_msg(h_now_ms() - t0 < 20000,
			      "a peer that stopped reading not dropped in 20 s");
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		n = recv(fd, buf, 1 << 20, 0);
		if (n <= 0)
			break;
		got += (u64)n;
	}
	ck_assert_msg(got < (u64)NREQ * MiB,
		      "all %d replies arrived: the peer was not dropped", NREQ);
	vdc_close(stall);
	/* the server still serves everyone */
	ck_read(g_c[0], &r, &m, 0, MiB, "read after a stalled peer");
	m_free(&m);
	free(buf);
}
END_TEST

START_TEST(test_cow)
{
	struct vdc_chunk_ref rb, rc, rx;
	struct vdifs_chunk_stat s;
	struct model mb, mc, mx;
	u8 buf[100];
	u64 vb;
	int k;

	rnd_seed(5);
	h_chunk_ref(&rb, 0x4001, MiB, EXT, VDIFS_REPL_SYNC, 3, g_set);
	h_chunk_ref(&rc, 0x4002, MiB, EXT, VDIFS_REPL_SYNC, 3, g_set);
	m_init(&mb, MiB, EXT);
	m_init(&mx, MiB, EXT);

	/* base: extents 0-9 full, a bit of 12; 10, 11, 13-15 holes */
	do_write(g_c[0], &rb, &mb, 0, 10 * EXT);
	vb = do_write(g_c[0], &rb, &mb, 12 * EXT + 500, 3000);

	ck_ok(vdc_chunk_clone(g_c[0], &rc, rb.chunk_id));
	m_copy(&mc, &mb);

	/* a fresh clone: everything inherited, on every replica */
	for (k = 0; k < NDS; k++) {
		s = stat_of(g_c[k], rc.chunk_id);
		ck_assert_uint_eq(le64_to_cpu(s.base_id), rb.chunk_id);
		ck_assert_uint_eq(le32_to_cpu(s.depth), 2);
		ck_assert_uint_eq(le32_to_cpu(s.own_extents), 0);
		ck_assert_uint_eq(le32_to_cpu(s.map_extents), 11);
		ck_assert_uint_eq(le32_to_cpu(s.extent_size), EXT);
		ck_assert(!(le32_to_cpu(s.flags) & VDIFS_CHUNK_FROZEN));
		s = stat_of(g_c[k], rb.chunk_id);
		ck_assert_msg(le32_to_cpu(s.flags) & VDIFS_CHUNK_FROZEN,
			      "base not frozen on server %d (flags 0x%x)", k,
			      le32_to_cpu(s.flags));
		ck_assert_uint_eq(le32_to_cpu(s.depth), 1);
		ck_assert_uint_eq(le64_to_cpu(s.base_id), 0);
		ck_chunk(g_c[k], &rc, &mc, "fresh clone");
	}
	ck_map(g_c[0], &rc, &mc, "fresh clone");

	/* writes into the clone */
	do_write(g_c[0], &rc, &mc, 2 * EXT, EXT);		/* whole: 2 */
	do_write(g_c[0], &rc, &mc, 5 * EXT + 100, 1000);	/* part of 5 */
	do_write(g_c[0], &rc, &mc, 7 * EXT + 60000, EXT + 10000); /* 7-9 */
	do_write(g_c[0], &rc, &mc, 11 * EXT + 7, 100);	/* hole 11 */
	do_write(g_c[0], &rc, &mc, 13 * EXT + 65000, 2000);	/* holes 13-14 */

	for (k = 0; k < NDS; k++) {
		ck_chunk(g_c[k], &rc, &mc, "clone after writes");
		ck_chunk(g_c[k], &rb, &mb, "base after clone writes");
	}
	ck_map(g_c[0], &rc, &mc, "clone after writes");
	ck_map(g_c[0], &rb, &mb, "base after clone writes");

	s = stat_of(g_c[0], rc.chunk_id);
	/* own: 2, 5, 7, 8, 9, 11, 13, 14 */
	ck_assert_msg(le32_to_cpu(s.own_extents) == 8,
		      "clone own_extents %u, want 8 (2 5 7 8 9 11 13 14)",
		      le32_to_cpu(s.own_extents));
	ck_assert_uint_eq(le32_to_cpu(s.map_extents), map_count(&mc));
	ck_assert_uint_eq(map_count(&mc), 14);
	s = stat_of(g_c[0], rb.chunk_id);
	ck_assert_uint_eq(le64_to_cpu(s.version), vb);
	ck_assert_uint_eq(le32_to_cpu(s.map_extents), 11);

	/* the base is read-only */
	ck_ret(vdc_chunk_write(g_c[0], &rb, 0, buf, sizeof(buf), NULL),
	       -EROFS);
	ck_ret(vdc_chunk_write(g_c[0], &rb, 14 * EXT, buf, sizeof(buf), NULL),
	       -EROFS);
	ck_ret(vdc_chunk_punch(g_c[0], &rb, 0, EXT, false, NULL), -EROFS);
	ck_ret(vdc_chunk_punch(g_c[0], &rb, 0, 0, true, NULL), -EROFS);
	ck_assert_uint_eq(version_of(g_c[0], rb.chunk_id), vb);

	/* punches in the clone over inherited data */
	do_punch(g_c[0], &rc, &mc, EXT, EXT, false);		/* whole 1 */
	do_punch(g_c[0], &rc, &mc, 3 * EXT + 1000, 5000, false); /* part 3 */
	do_punch(g_c[0], &rc, &mc, 12 * EXT, 1000, false);	/* part 12 */
	ck_assert(all_zero(mc.data + EXT, EXT));
	for (k = 0; k < NDS; k++) {
		ck_chunk(g_c[k], &rc, &mc, "clone after punches");
		ck_chunk(g_c[k], &rb, &mb, "base after clone punches");
	}
	ck_map(g_c[0], &rc, &mc, "clone after punches");
	ck_map(g_c[0], &rb, &mb, "base after clone punches");
	ck_assert_uint_eq(version_of(g_c[0], rb.chunk_id), vb);

	/* clones onto taken ids, of missing bases */
	h_chunk_ref(&rx, 0x4003, MiB, EXT, VDIFS_REPL_SYNC, 3, g_set);
	ck_ret(vdc_chunk_clone(g_c[0], &rx, 0x4999), -ENOENT);
	ck_ret(vdc_chunk_read(g_c[0], &rx, 0, buf, sizeof(buf), NULL),
	       -ENOENT);
	ck_ret(vdc_chunk_read(g_c[1], &rx, 0, buf, sizeof(buf), NULL),
	       -ENOENT);
	do_write(g_c[0], &rx, &mx, 0, 100);
	ck_ret(vdc_chunk_clone(g_c[0], &rx, rb.chunk_id), -EEXIST);
	ck_ret(vdc_chunk_clone(g_c[0], &rc, rb.chunk_id), -EEXIST);
	ck_chunk(g_c[0], &rc, &mc, "clone after a second clone onto it");
	ck_chunk(g_c[1], &rx, &mx, "chunk after a clone onto it");
	/*
	 * A chunk as its own base is refused (it used to lock its own mutex
	 * twice and hang the worker, then, forwarded, every later write).
	 */
	ck_ret(vdc_chunk_clone(g_c[0], &rx, rx.chunk_id), -EINVAL);
	ck_ret(vdc_chunk_clone(g_c[0], &rb, rb.chunk_id), -EINVAL);
	do_write(g_c[0], &rx, &mx, 4096, 100);
	ck_chunk(g_c[0], &rx, &mx, "chunk after a clone of itself");
	m_free(&mb);
	m_free(&mc);
	m_free(&mx);
}
END_TEST

/* chunk id written whole (3 sync copies), and id + 1 a clone of it */
static void base_and_clone(u64 id, struct vdc_chunk_ref *rb, struct model *mb,
			   struct vdc_chunk_ref *rc, struct model *mc)
{
	h_chunk_ref(rb, id, MiB, EXT, VDIFS_REPL_SYNC, 3, g_set);
	h_chunk_ref(rc, id + 1, MiB, EXT, VDIFS_REPL_SYNC, 3, g_set);
	m_init(mb, MiB, EXT);
	do_write(g_c[0], rb, mb, 0, MiB);
	ck_ok(vdc_chunk_clone(g_c[0], rc, rb->chunk_id));
	m_copy(mc, mb);
}

/* the size of chunk id's file on server k (0: none) */
static u64 chunk_file_size(int k, u64 id)
{
	char f[PATH_MAX + 64];
	struct stat sb;

	snprintf(f, sizeof(f), "%s/chunks/%016llx", g_ds[k].data,
		 (unsigned long long)id);
	return stat(f, &sb) ? 0 : (u64)sb.st_size;
}

/*
 * A clone's first writes into extents it shares leave the blocks they do
 * not write in the base's file: a 4 KiB write takes one block of the
 * clone's file, not an extent (a map entry names two files).  A clone of
 * that clone, written in the same extent, names the first clone's file
 * and copies what the entry had of the base's (an entry names two files
 * at most).  Every chunk reads as written, on every copy, after the
 * middle one is deleted (its file stays, its clone holds it) and after a
 * restart (the blocks of another file are never taken as a chunk's own:
 * later writes must not land on them).
 */
START_TEST(test_cow_leaves_blocks)
{
	struct vdc_chunk_ref rb, r1, r2;
	struct model mb, m1, m2;
	u32 e = 5 * EXT;
	int k;

	rnd_seed(51);
	base_and_clone(0x4101, &rb, &mb, &r1, &m1);
	h_chunk_ref(&r2, 0x4103, MiB, EXT, VDIFS_REPL_SYNC, 3, g_set);
	do_write(g_c[0], &r1, &m1, e + 2 * 4096, 4096);	/* a whole block */
	do_write(g_c[0], &r1, &m1, 9 * EXT + 10, 100);	/* part of one */
	for (k = 0; k < NDS; k++) {
		ck_assert_msg(chunk_file_size(k, r1.chunk_id) <= 2 * 4096,
			      "server %d: two 4 KiB writes into a fresh clone took %llu bytes of its file",
			      k, (unsigned long long)
			      chunk_file_size(k, r1.chunk_id));
		ck_chunk(g_c[k], &r1, &m1, "clone after its first writes");
		ck_chunk(g_c[k], &rb, &mb, "base after the clone's writes");
	}

	ck_ok(vdc_chunk_clone(g_c[0], &r2, r1.chunk_id));
	m_copy(&m2, &m1);
	do_write(g_c[0], &r2, &m2, e + 7 * 4096, 4096);
	do_write(g_c[0], &r2, &m2, 9 * EXT + 5000, 10);
	ck_ok(vdc_chunk_delete(g_c[0], &r1));
	for (k = 0; k < NDS; k++) {
		ck_chunk(g_c[k], &r2, &m2, "clone of the clone");
		ck_chunk(g_c[k], &rb, &mb, "base after two clones' writes");
	}

	restart(0, SIGKILL, NULL);
	/* rewrites over blocks of all three files, then new ones */
	do_write(g_c[0], &r2, &m2, e, EXT);
	do_write(g_c[0], &r2, &m2, 9 * EXT + 4000, 200);
	do_write(g_c[0], &r2, &m2, 3 * EXT + 4096, 3 * 4096);
	for (k = 0; k < NDS; k++) {
		ck_chunk(g_c[k], &r2, &m2, "clone of the clone, rewritten");
		ck_chunk(g_c[k], &rb, &mb, "base at the end");
	}
	ck_map(g_c[0], &r2, &m2, "clone of the clone, rewritten");
	m_free(&mb);
	m_free(&m1);
	m_free(&m2);
}
END_TEST

/* chains: each chunk a clone of the one before, with its own writes */
static const int chain_depth[] = { 1, 2, 32 };

START_TEST(test_chain)
{
	int depth = chain_depth[_i], k, w;
	const u32 cs = 256 * KiB, es = 16 * KiB;
	struct vdc_chunk_ref *r = calloc((size_t)depth, sizeof(*r));
	struct model *m = calloc((size_t)depth, sizeof(*m));
	struct vdifs_chunk_stat s;

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(m);
	rnd_seed(6 + (u64)_i);
	for (k = 0; k < depth; k++) {
		h_chunk_ref(&r[k], 0x5000 + (u64)k, cs, es, VDIFS_REPL_SYNC, 1,
			    g_set);
		if (k) {
			ck_ok(vdc_chunk_clone(g_c[0], &r[k], r[k - 1].chunk_id));
			m_copy(&m[k], &m[k - 1]);
		} else {
			m_init(&m[k], cs, es);
		}
		for (w = 0; w < 3; w++) {
			u32 off = rnd_below(cs);
			u32 max = cs - off < 40 * KiB ? cs - off : 40 * KiB;

			do_write(g_c[0], &r[k], &m[k], off, 1 + rnd_below(max));
		}
		if (rnd_below(2)) {
			u32 off = rnd_below(cs - es);

			do_punch(g_c[0], &r[k], &m[k], off, es, false);
		}
	}
	for (k = 0; k < depth; k++) {
		char what[64];

		snprintf(what, sizeof(what), "chain of %d, chunk %d", depth, k);
		ck_chunk(g_c[0], &r[k], &m[k], what);
		ck_map(g_c[0], &r[k], &m[k], what);
		s = stat_of(g_c[0], r[k].chunk_id);
		ck_assert_msg(le32_to_cpu(s.depth) == (u32)k + 1,
			      "%s: depth %u, want %d", what,
			      le32_to_cpu(s.depth), k + 1);
		ck_assert_uint_eq(le64_to_cpu(s.base_id),
				  k ? r[k - 1].chunk_id : 0);
		if (k < depth - 1)
			ck_assert_msg(le32_to_cpu(s.flags) & VDIFS_CHUNK_FROZEN,
				      "%s: not frozen", what);
		else
			ck_assert_msg(!(le32_to_cpu(s.flags) &
					VDIFS_CHUNK_FROZEN),
				      "%s: the newest is frozen", what);
	}
	/* the frozen ones refuse writes, the newest takes them */
	if (depth > 1) {
		u8 b[16] = { 1 };

		ck_ret(vdc_chunk_write(g_c[0], &r[0], 0, b, sizeof(b), NULL),
		       -EROFS);
		ck_ret(vdc_chunk_write(g_c[0], &r[depth - 2], 0, b, sizeof(b),
				       NULL), -EROFS);
	}
	do_write(g_c[0], &r[depth - 1], &m[depth - 1], 0, cs);
	ck_chunk(g_c[0], &r[depth - 1], &m[depth - 1], "newest rewritten");
	if (depth > 1)
		ck_chunk(g_c[0], &r[depth - 2], &m[depth - 2],
			 "its base after the rewrite");
	for (k = 0; k < depth; k++)
		m_free(&m[k]);
	free(m);
	free(r);
}
END_TEST

/*
 * A file snapshotted again and again: each snapshot keeps the chunk and
 * the file goes on in a clone of it, so the lineage grows by one each
 * time.  Clones hold their base only: any depth works (there used to be
 * a limit of 4096), and deleting the last holder frees the whole lineage.
 */
#define LONG_CHAIN	4200

START_TEST(test_long_chain)
{
	const u32 cs = 64 * KiB, es = 4 * KiB;
	struct vdc_chunk_ref *r = calloc(LONG_CHAIN, sizeof(*r));
	const int mid = LONG_CHAIN / 2, last = LONG_CHAIN - 1;
	struct model m, m_mid;
	struct vdifs_chunk_stat s;
	char path[PATH_MAX + 64];
	int k, left;

	ck_assert_ptr_nonnull(r);
	rnd_seed(21);
	m_init(&m, cs, es);
	for (k = 0; k < LONG_CHAIN; k++) {
		h_chunk_ref(&r[k], 0xc0000 + (u64)k, cs, es, VDIFS_REPL_SYNC,
			    1, g_set);
		if (k)
			ck_ok(vdc_chunk_clone(g_c[0], &r[k], r[k - 1].chunk_id));
		if (k % 100 == 0)
			do_write(g_c[0], &r[k], &m, rnd_below(cs - es), es + 1);
		if (k == mid)
			m_copy(&m_mid, &m);
	}
	ck_chunk(g_c[0], &r[last], &m, "the end of a 4200-deep lineage");
	ck_chunk(g_c[0], &r[mid], &m_mid, "the middle of a 4200-deep lineage");
	s = stat_of(g_c[0], r[last].chunk_id);
	ck_assert_uint_eq(le32_to_cpu(s.depth), LONG_CHAIN);
	s = stat_of(g_c[0], r[mid].chunk_id);
	ck_assert_uint_eq(le32_to_cpu(s.refs), 2);

	/* every snapshot deleted: the file still reads all it inherits */
	for (k = 0; k < last; k++)
		ck_ok(vdc_chunk_delete(g_c[0], &r[k]));
	ck_chunk(g_c[0], &r[last], &m, "the end, its ancestors deleted");
	h_ds_chunk_path(&g_ds[0], r[0].chunk_id, path, sizeof(path));
	ck_assert_msg(!access(path, F_OK), "%s: freed while still reachable",
		      path);
	/* the file too: every chunk file of the lineage goes */
	ck_ok(vdc_chunk_delete(g_c[0], &r[last]));
	for (k = 0, left = 0; k < LONG_CHAIN; k++) {
		h_ds_chunk_path(&g_ds[0], r[k].chunk_id, path, sizeof(path));
		left += !access(path, F_OK);
	}
	ck_assert_msg(!left, "%d chunk files of the lineage left", left);
	m_free(&m);
	m_free(&m_mid);
	free(r);
}
END_TEST

START_TEST(test_delete)
{
	struct vdc_chunk_ref rb, rc;
	struct model mb, mc;
	u8 buf[64];
	int k;

	rnd_seed(7);
	base_and_clone(0x6001, &rb, &mb, &rc, &mc);
	do_write(g_c[0], &rc, &mc, 3 * EXT + 5, 2 * EXT);

	/* the base goes; the clone keeps reading its data */
	ck_ok(vdc_chunk_delete(g_c[0], &rb));
	for (k = 0; k < NDS; k++) {
		ck_ret(vdc_chunk_read(g_c[k], &rb, 0, buf, sizeof(buf), NULL),
		       -ENOENT);
		ck_ret(vdc_chunk_stat(g_c[k], rb.chunk_id,
				      &(struct vdifs_chunk_stat){ 0 }),
		       -ENOENT);
		ck_chunk(g_c[k], &rc, &mc, "clone of a deleted base");
	}
	ck_ret(vdc_chunk_delete(g_c[0], &rb), -ENOENT);
	ck_map(g_c[0], &rc, &mc, "clone of a deleted base");
	do_write(g_c[0], &rc, &mc, 10 * EXT, 100);
	ck_chunk(g_c[1], &rc, &mc, "clone written after the base's delete");

	/* and the clone: both gone */
	ck_ok(vdc_chunk_delete(g_c[0], &rc));
	for (k = 0; k < NDS; k++) {
		ck_ret(vdc_chunk_read(g_c[k], &rc, 0, buf, sizeof(buf), NULL),
		       -ENOENT);
		ck_ret(vdc_chunk_stat(g_c[k], rc.chunk_id,
				      &(struct vdifs_chunk_stat){ 0 }),
		       -ENOENT);
		ck_ret(vdc_chunk_read(g_c[k], &rb, 0, buf, sizeof(buf), NULL),
		       -ENOENT);
	}
	m_free(&mb);
	m_free(&mc);
}
END_TEST

/* ================================================================== */
/* on-disk damage and crashes                                          */
/* ================================================================== */

/*
 * Flip the byte at offset at of chunk id's file on server d, which must
 * hold was there (the layout the caller expects: blocks in write order).
 */
static void flip_byte(struct h_ds *d, u64 id, off_t at, u8 was)
{
	char path[PATH_MAX + 64];
	u8 b;
	int fd;

	h_ds_chunk_path(d, id, path, sizeof(path));
	fd = open(path, O_RDWR);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(pread(fd, &b, 1, at), 1);
	ck_assert_msg(b == was,
		      "%s: byte %lld is 0x%02x, the data written 0x%02x: not the layout expected",
		      path, (long long)at, b, was);
	b ^= 0xff;
	ck_assert_int_eq(pwrite(fd, &b, 1, at), 1);
	ck_assert_int_eq(fsync(fd), 0);
	close(fd);
}

START_TEST(test_corruption)
{
	struct vdc_chunk_ref r;
	struct model m;
	u8 *buf = malloc(4 * EXT);
	const off_t at = 3 * EXT + 777;
	u32 ns;

	ck_assert_ptr_nonnull(buf);
	rnd_seed(8);
	h_chunk_ref(&r, 0x7001, MiB, EXT, VDIFS_REPL_SYNC, 3, g_set);
	m_init(&m, MiB, EXT);
	do_write(g_c[0], &r, &m, 0, MiB);

	/* flip a byte of extent 3 in the primary's file */
	flip_byte(&g_ds[0], r.chunk_id, at, m.data[at]);

	ck_ret(vdc_chunk_read(g_c[0], &r, 3 * EXT, buf, EXT, NULL), -EUCLEAN);
	ck_ret(vdc_chunk_read(g_c[0], &r, 3 * EXT + 700, buf, 100, NULL),
	       -EUCLEAN);
	ck_ret(vdc_chunk_read(g_c[0], &r, 3 * EXT - 10, buf, 20, NULL),
	       -EUCLEAN);
	ck_ret(vdc_chunk_read(g_c[0], &r, 2 * EXT, buf, 3 * EXT, NULL),
	       -EUCLEAN);
	/*
	 * Read with block sums, the server sends the block from its file
	 * as it is, with the sum it stored: the reader catches it (and the
	 * kernel then asks again without, to hear -EUCLEAN).
	 */
	ck_ret(vdc_chunk_read_sums(g_c[0], &r, 3 * EXT, buf, EXT, &ns),
	       -EBADMSG);
	ck_ret(vdc_chunk_read_sums(g_c[0], &r, 0, buf, 4 * EXT, &ns),
	       -EBADMSG);
	ck_read_sums(g_c[0], &r, &m, 4 * EXT, EXT, "sums next to a bad one");
	/* the neighbours are fine */
	ck_read(g_c[0], &r, &m, 2 * EXT, EXT, "extent 2 next to a bad one");
	ck_read(g_c[0], &r, &m, 4 * EXT, EXT, "extent 4 next to a bad one");
	ck_read(g_c[0], &r, &m, 0, 3 * EXT, "extents 0-2");
	ck_read(g_c[0], &r, &m, 4 * EXT, MiB - 4 * EXT, "extents 4-15");
	/* and a replica's copy of extent 3 too */
	ck_read(g_c[1], &r, &m, 3 * EXT, EXT, "extent 3 on a replica");
	m_free(&m);
	free(buf);
}
END_TEST

/*
 * A clone's first write into an extent it shares copies the extent's
 * other blocks from the base's file as they are, with the sums they had:
 * a block gone bad in the base is not read then (the write succeeds),
 * and stays bad in the copy, caught by every read of it there rather
 * than given a fresh sum over its bad bytes.
 */
START_TEST(test_cow_keeps_sums)
{
	struct vdc_chunk_ref rb, rc;
	const off_t at = 3 * 4096 + 99;
	struct model m;
	u8 buf[4096];

	rnd_seed(9);
	h_chunk_ref(&rb, 0x7101, MiB, EXT, VDIFS_REPL_SYNC, 1, g_set);
	h_chunk_ref(&rc, 0x7102, MiB, EXT, VDIFS_REPL_SYNC, 1, g_set);
	m_init(&m, MiB, EXT);
	do_write(g_c[0], &rb, &m, 0, 2 * EXT);
	ck_ok(vdc_chunk_clone(g_c[0], &rc, rb.chunk_id));

	/* a byte of block 3 of the base, in its file, flipped */
	flip_byte(&g_ds[0], rb.chunk_id, at, m.data[at]);

	/* the clone's first write into extent 0 touches block 0 alone */
	do_write(g_c[0], &rc, &m, 100, 4000);
	ck_read(g_c[0], &rc, &m, 0, 3 * 4096, "the clone's blocks 0-2");
	ck_read(g_c[0], &rc, &m, 4 * 4096, EXT - 4 * 4096,
		"the clone's blocks 4-15");
	ck_ret(vdc_chunk_read(g_c[0], &rc, 3 * 4096, buf, sizeof(buf), NULL),
	       -EUCLEAN);
	ck_ret(vdc_chunk_read(g_c[0], &rb, 3 * 4096, buf, sizeof(buf), NULL),
	       -EUCLEAN);
	/* and rewritten whole there, the copy is good again */
	do_write(g_c[0], &rc, &m, 3 * 4096, 4096);
	ck_read(g_c[0], &rc, &m, 0, EXT, "the clone's extent 0, rewritten");
	m_free(&m);
}
END_TEST

/*
 * Blocks: a chunk's extents are written block by block (4 KiB, each with
 * its own crc) out of place, so a small write costs one block, not its
 * extent; a clone's first write to a shared extent copies that extent.
 * Random unaligned writes and punches on a base and on its clone against
 * the model, with restarts (the free-block map is rebuilt from the map),
 * then what must hold on disk: a lone block written into a fresh extent
 * takes one block of the file, rewrites reuse freed blocks instead of
 * growing the file, and a damaged block fails only the reads that touch
 * it.
 */
START_TEST(test_blocks)
{
	const u32 cs = MiB, es = 64 * KiB;
	struct vdc_chunk_ref rb, rc, rs;
	struct model mb, mc;
	char path[PATH_MAX + 64];
	struct stat sb;
	u8 buf[4 * 4096], b;
	int step, fd;

	rnd_seed(41);
	h_chunk_ref(&rb, 0x9b01, cs, es, VDIFS_REPL_SYNC, 1, g_set);
	h_chunk_ref(&rc, 0x9b02, cs, es, VDIFS_REPL_SYNC, 1, g_set);
	m_init(&mb, cs, es);
	for (step = 0; step < 400; step++) {
		struct vdc_chunk_ref *r = step < 200 ? &rb : &rc;
		struct model *m = step < 200 ? &mb : &mc;
		u32 op = rnd_below(10);
		u32 off = rnd_below(cs), len = 1 + rnd_below(cs - off);

		if (len > 200 * KiB)
			len = 1 + rnd_below(200 * KiB);
		if (off + len > cs)
			len = cs - off;
		if (step == 200) {
			/* the base becomes a snapshot: the rest on a clone */
			ck_ok(vdc_chunk_clone(g_c[0], &rc, rb.chunk_id));
			m_copy(&mc, &mb);
		}
		if (step % 97 == 96) {
			restart(0, SIGTERM, NULL);
			ck_chunk(g_c[0], r, m, "after a restart");
		}
		if (op < 6)
			do_write(g_c[0], r, m, off, len);
		else if (op < 8 && step)
			do_punch(g_c[0], r, m, off, len, false);
		else
			ck_read(g_c[0], r, m, off, len, "random read");
	}
	ck_chunk(g_c[0], &rb, &mb, "base after its clone was written");
	ck_chunk(g_c[0], &rc, &mc, "clone");
	ck_map(g_c[0], &rc, &mc, "clone");

	/* one 4 KiB write into a fresh chunk takes one block of its file */
	h_chunk_ref(&rs, 0x9b03, cs, es, VDIFS_REPL_SYNC, 1, g_set);
	m_free(&mb);
	m_init(&mb, cs, es);
	do_write(g_c[0], &rs, &mb, 5 * es + 8192, 4096);
	h_ds_chunk_path(&g_ds[0], rs.chunk_id, path, sizeof(path));
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_msg(sb.st_size == 4096,
		      "a 4 KiB write into a fresh extent made a %lld-byte file",
		      (long long)sb.st_size);
	/* rewrites reuse freed blocks: the file stays near the data */
	do_write(g_c[0], &rs, &mb, 0, cs);
	for (step = 0; step < 1000; step++)
		do_write(g_c[0], &rs, &mb, rnd_below(cs / 4096) * 4096, 4096);
	ck_chunk(g_c[0], &rs, &mb, "after 1000 block rewrites");
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_msg(sb.st_size <= (off_t)(cs + es),
		      "1000 block rewrites of a %u-byte chunk grew its file to %lld bytes",
		      cs, (long long)sb.st_size);

	/* a damaged block: its reads fail, its neighbours read fine */
	ck_assert_int_eq(vdc_chunk_read(g_c[0], &rs, 3 * es, buf, 4 * 4096,
					NULL), 4 * 4096);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	{
		/* find the file block that holds chunk bytes [3es+4096, +4096) */
		off_t at = -1, o;
		u8 blk[4096];

		for (o = 0; o + 4096 <= sb.st_size && at < 0; o += 4096)
			if (pread(fd, blk, 4096, o) == 4096 &&
			    !memcmp(blk, buf + 4096, 4096))
				at = o;
		ck_assert_msg(at >= 0, "block not found in %s", path);
		ck_assert_int_eq(pread(fd, &b, 1, at + 100), 1);
		b ^= 0x5a;
		ck_assert_int_eq(pwrite(fd, &b, 1, at + 100), 1);
	}
	close(fd);
	ck_ret(vdc_chunk_read(g_c[0], &rs, 3 * es + 4096, buf, 4096, NULL),
	       -EUCLEAN);
	ck_ret(vdc_chunk_read(g_c[0], &rs, 3 * es + 5000, buf, 10, NULL),
	       -EUCLEAN);
	ck_ret(vdc_chunk_read(g_c[0], &rs, 3 * es, buf, es, NULL), -EUCLEAN);
	ck_read(g_c[0], &rs, &mb, 3 * es, 4096, "block before a bad one");
	ck_read(g_c[0], &rs, &mb, 3 * es + 8192, 8192, "blocks after a bad one");
	/* and a whole rewrite of it cures it */
	do_write(g_c[0], &rs, &mb, 3 * es + 4096, 4096);
	ck_read(g_c[0], &rs, &mb, 3 * es, es, "extent after the rewrite");
	m_free(&mb);
	m_free(&mc);
}
END_TEST

/*
 * The MDS's chunk collector tells every replica of a freed chunk on its
 * own, one worker per data server: with one server stalled (SIGSTOP, so
 * its calls hang rather than fail) the others' copies still go at once,
 * and the stalled one's go once it is back.
 */
static int ds_index(u32 id)
{
	int i;

	for (i = 0; i < NDS; i++)
		if (g_ds[i].id == id)
			return i;
	ck_abort_msg("no data server %u", id);
	return -1;
}

/* within ms: chunk gone (or, with !gone, still there) on server i */
static bool chunk_gone_within(int i, u64 id, int ms)
{
	struct vdifs_chunk_stat st;
	int waited;

	for (waited = 0; waited <= ms; waited += 100) {
		if (vdc_chunk_stat(g_c[i], id, &st) == -ENOENT)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

START_TEST(test_collector)
{
	struct vdc_params p = { .chunk_size = 256 * KiB, .replicas = 3,
				.repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk ch[8];
	struct vdc_vol v;
	struct vdc_attr a;
	u8 buf[4096];
	u32 cs = 0;
	int i, k, n = 8;

	memset(buf, 0x6c, sizeof(buf));
	ck_ok(vdc_vol_create(tool, "gcvol", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	for (i = 0; i < n; i++) {
		struct vdc_chunk_ref r = { 0 };

		ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, (u64)i, 1,
						VDIFS_LAYOUT_ALLOC, &ch[i], 1,
						&cs), 1);
		ck_assert_uint_eq(ch[i].nrep, 3);
		r.chunk_id = le64_to_cpu(ch[i].chunk_id);
		r.chunk_size = cs;
		r.extent_size = 64 * KiB;
		r.nrep = ch[i].nrep;
		r.repl_mode = VDIFS_REPL_SYNC;
		for (k = 0; k < 3; k++)
			r.ds[k] = le32_to_cpu(ch[i].ds[k]);
		ck_ok(vdc_chunk_write(g_c[ds_index(r.ds[0])], &r, 0, buf,
				      sizeof(buf), NULL));
	}

	h_ds_pause(&g_ds[2]);
	ck_ok(vdc_unlink(cli, v.vol, v.root_ino, "f"));
	for (i = 0; i < n; i++)
		for (k = 0; k < 2; k++)
			ck_assert_msg(chunk_gone_within(k, le64_to_cpu(ch[i].chunk_id),
							8000),
				      "chunk %llu still on data server %u 8 s after its file went, with another server stalled",
				      (unsigned long long)le64_to_cpu(ch[i].chunk_id),
				      g_ds[k].id);
	h_ds_resume(&g_ds[2]);
	for (i = 0; i < n; i++)
		ck_assert_msg(chunk_gone_within(2, le64_to_cpu(ch[i].chunk_id),
						40000),
			      "chunk %llu still on the once-stalled server",
			      (unsigned long long)le64_to_cpu(ch[i].chunk_id));
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

static const char *const crash_point[] = {
	"before_data", "after_data", "after_meta",
};

START_TEST(test_crash)
{
	const char *point = crash_point[_i];
	bool want_new = !strcmp(point, "after_meta");
	char env[64];
	const char *envv[] = { env, NULL };
	const u32 off = 2 * EXT + 1000, end = 5 * EXT - 2000;
	struct vdc_chunk_ref r;
	struct model a, b, got;
	u64 va, vnow;
	u8 *data;
	int ret, status = 0;
	u32 e;
	bool any_new = false;

	rnd_seed(9 + (u64)_i);
	snprintf(env, sizeof(env), "VDIFS_DS_CRASH_AT=%s:1", point);
	h_chunk_ref(&r, 0x8001, MiB, EXT, VDIFS_REPL_SYNC, 1, g_set);
	m_init(&a, MiB, EXT);
	va = do_write(g_c[0], &r, &a, 0, MiB);

	/* the next write kills the server at the point */
	restart(0, SIGTERM, envv);
	m_copy(&b, &a);
	data = malloc(end - off);
	ck_assert_ptr_nonnull(data);
	fill(data, end - off);
	m_apply(&b, off, data, end - off);
	ret = vdc_chunk_write(g_c[0], &r, off, data, end - off, NULL);
	ck_assert_msg(ret < 0, "write with %s: %s, want a broken connection",
		      env, h_err(ret));
	ck_assert_msg(ret == -ECONNRESET || ret == -EPIPE || ret == -EIO ||
		      ret == -EPROTO || ret == -EBADMSG,
		      "write with %s: %s, want a broken connection", env,
		      h_err(ret));
	ck_assert_msg(h_ds_wait_exit(&g_ds[0], 5000, &status),
		      "vdifs-ds still running after %s", env);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "vdifs-ds with %s ended with status 0x%x, want SIGKILL",
		      env, status);

	/* back without the crash point */
	restart(0, 0, NULL);
	m_init(&got, MiB, EXT);
	ret = vdc_chunk_read(g_c[0], &r, 0, got.data, MiB, NULL);
	ck_assert_msg(ret == (int)MiB, "read after %s: %s", point, h_err(ret));
	for (e = 0; e < MiB / EXT; e++) {
		const u8 *g = got.data + e * EXT;
		bool is_old = !memcmp(g, a.data + e * EXT, EXT);
		bool is_new = !memcmp(g, b.data + e * EXT, EXT);

		if (e < off / EXT || e > (end - 1) / EXT) {
			ck_assert_msg(is_old, "%s: extent %u outside the write changed",
				      point, e);
			continue;
		}
		ck_assert_msg(is_old || is_new,
			      "%s: extent %u is neither all old nor all new",
			      point, e);
		ck_assert_msg(want_new ? is_new : is_old,
			      "%s: extent %u holds the %s data, want the %s",
			      point, e, is_new ? "new" : "old",
			      want_new ? "new" : "old");
		any_new |= is_new && !is_old;
	}
	vnow = version_of(g_c[0], r.chunk_id);
	if (any_new)
		ck_assert_msg(vnow > va, "%s: new data at version %llu, was %llu",
			      point, (unsigned long long)vnow,
			      (unsigned long long)va);
	else
		ck_assert_msg(vnow == va, "%s: old data at version %llu, was %llu",
			      point, (unsigned long long)vnow,
			      (unsigned long long)va);
	ck_map(g_c[0], &r, any_new ? &b : &a, point);

	/* and it takes the write now */
	ck_ok(vdc_chunk_write(g_c[0], &r, off, data, end - off, NULL));
	ck_chunk(g_c[0], &r, &b, "write after recovery");
	free(data);
	m_free(&a);
	m_free(&b);
	m_free(&got);
}
END_TEST

/* ================================================================== */
/* bad input                                                           */
/* ================================================================== */

static u16 unknown_opcode(void)
{
	u16 op;

	for (op = VDIFS_OP_MAX - 1; op > 0; op--)
		if (wire_fixed_len(op, false) == -EOPNOTSUPP)
			return op;
	ck_abort_msg("every opcode is taken");
	return 0;
}

/*
 * Chunk requests that pass the codec, so that every handler sees them:
 * for each chunk opcode, requests made of values that mean something here
 * (a chunk that exists, one that does not, the servers' ids, sizes and
 * offsets of the geometry, small counts, all ones), data tails of a few
 * letters, kept only if wire_body_decode() takes them, sent as a client
 * and as a data server.  Every reply must decode, no server may die, and
 * a chunk the requests cannot name keeps its data.
 */
static u32 ds_fuzz_word(unsigned int i)
{
	static const u32 some[] = { 0, 1, 0x9201, 0x9202, 4096, 8192, 65536,
				    MiB, 0xffffffffu, 3 };

	if (i >= 56 && i < 72 && rand() % 2)	/* ds[]: our servers */
		return g_ds[rand() % NDS].id;
	if (rand() % 4 == 0)
		return (u32)(rand() % 16);
	if (rand() % 8 == 0)
		return (u32)rand();
	return some[rand() % (sizeof(some) / sizeof(some[0]))];
}

static int ds_fuzz_body(u16 op, u8 *body)
{
	const u32 fl = sizeof(struct vdifs_chunk_req);
	struct wire_body b;
	int tries;

	for (tries = 0; tries < 400; tries++) {
		u32 i, tl = rand() % 3 ? (u32)(rand() % 12) : 0;

		for (i = 0; i < fl; i += 4) {
			u32 v = ds_fuzz_word(i);

			/* the high halves of ids and versions: mostly 0 */
			if (i < 32 && i % 8 == 4 && rand() % 4)
				v = 0;
			memcpy(body + i, &v, 4);
		}
		for (i = 0; i < tl; i++)
			body[fl + i] = (u8)('q' + rand() % 10);
		if (!wire_body_decode(op, false, 0, body, fl + tl, &b))
			return (int)(fl + tl);
	}
	return -1;
}

START_TEST(test_handler_fuzz)
{
	struct vdc_chunk_ref keep, r;
	unsigned int role, k, i, sent = 0, answered = 0, done = 0;
	struct model m, mr;
	u8 body[512];
	u16 op;

	rnd_seed(31);
	srand(31);
	h_chunk_ref(&keep, 0x9101, MiB, EXT, VDIFS_REPL_SYNC, 3, g_set);
	m_init(&m, MiB, EXT);
	do_write(g_c[0], &keep, &m, 0, 2 * EXT);
	h_chunk_ref(&r, 0x9201, MiB, EXT, VDIFS_REPL_SYNC, 3, g_set);
	m_init(&mr, MiB, EXT);
	do_write(g_c[0], &r, &mr, 0, 2 * EXT);
	for (role = 0; role < 2; role++) {
		u32 who = role ? VDIFS_ROLE_DS : VDIFS_ROLE_CLIENT;
		struct vdc_conn *c;

		ck_ok(h_ds_connect_role(&g_ds[0], who, 30000, &c));
		for (op = 1; op < VDIFS_OP_MAX; op++) {
			if (wire_fixed_len(op, false) !=
			    (int)sizeof(struct vdifs_chunk_req))
				continue;
			for (k = 0; k < 60; k++) {
				int len = ds_fuzz_body(op, body), ret;

				if (len < 0)
					break;
				sent++;
				ret = vdc_call(c, op, body, (u32)len, NULL, 0,
					       NULL, 0, NULL);
				ck_assert_msg(ret != -EBADMSG && ret != -EPROTO,
					      "%s as role %u: reply %s",
					      wire_op_name(op), who,
					      h_err(ret));
				if (ret == -ECONNRESET || ret == -EPIPE ||
				    ret == -ETIMEDOUT) {
					vdc_close(c);
					ck_ok(h_ds_connect_role(&g_ds[0], who,
								30000, &c));
					continue;
				}
				answered++;
				done += !ret;
			}
		}
		vdc_close(c);
	}
	for (i = 0; i < NDS; i++) {
		int status;

		ck_assert_msg(waitpid(g_ds[i].pid, &status, WNOHANG) == 0,
			      "data server %u died (status 0x%x)", i, status);
	}
	ck_assert_msg(sent > 300 && answered > sent / 2 && done > 10,
		      "only %u requests sent, %u answered, %u done", sent,
		      answered, done);
	ck_chunk(g_c[0], &keep, &m, "a chunk the requests could not name");
	m_free(&m);
	m_free(&mr);
}
END_TEST

START_TEST(test_bad_input)
{
	struct vdc_chunk_ref r, bad;
	struct vdifs_chunk_req q;
	struct vdc_conn *cds, *c2;
	struct model m;
	struct wire_hdr h;
	u8 buf[4096], *rb;
	u64 v, v1;
	int fd, ret;

	rnd_seed(10);
	h_chunk_ref(&r, 0x9001, MiB, EXT, VDIFS_REPL_SYNC, 3, g_set);
	m_init(&m, MiB, EXT);
	do_write(g_c[0], &r, &m, 0, 3 * EXT);
	v = do_write(g_c[0], &r, &m, MiB - 100, 100);
	fill(buf, sizeof(buf));

	/* past the chunk */
	ck_ret(vdc_chunk_write(g_c[0], &r, MiB - 10, buf, 20, NULL), -EINVAL);
	ck_ret(vdc_chunk_write(g_c[0], &r, MiB, buf, 1, NULL), -EINVAL);
	ck_ret(vdc_chunk_punch(g_c[0], &r, MiB - 10, 20, false, NULL),
	       -EINVAL);
	ck_ret(vdc_chunk_punch(g_c[0], &r, MiB + 4096, 1, false, NULL),
	       -EINVAL);
	ck_ret(vdc_chunk_punch(g_c[0], &r, 0xffffff00u, 0x200, false, NULL),
	       -EINVAL);
	ck_assert_uint_eq(version_of(g_c[0], r.chunk_id), v);

	/* shapes that are not powers of two (or out of range) */
	bad = r;
	bad.chunk_id = 0x9002;
	bad.chunk_size = 3 * 64 * KiB;
	ck_ret(vdc_chunk_write(g_c[0], &bad, 0, buf, 100, NULL), -EINVAL);
	bad.chunk_size = MiB + 4096;
	ck_ret(vdc_chunk_write(g_c[0], &bad, 0, buf, 100, NULL), -EINVAL);
	bad.chunk_size = 0;
	ck_ret(vdc_chunk_write(g_c[0], &bad, 0, buf, 100, NULL), -EINVAL);
	bad.chunk_size = 32 * KiB;	/* below VDIFS_CHUNK_MIN */
	ck_ret(vdc_chunk_write(g_c[0], &bad, 0, buf, 100, NULL), -EINVAL);
	bad.chunk_size = MiB;
	bad.extent_size = 3000;
	ck_ret(vdc_chunk_write(g_c[0], &bad, 0, buf, 100, NULL), -EINVAL);
	ck_ret(vdc_chunk_read(g_c[0], &bad, 0, buf, 100, NULL), -ENOENT);
	ck_ret(vdc_chunk_read(g_c[1], &bad, 0, buf, 100, NULL), -ENOENT);

	/* only a data server forwards, only the MDS has chunks copied */
	vdc_chunk_req_init(&q, &r);
	q.flags = cpu_to_le32(VDIFS_CHUNK_FWD);
	q.version = cpu_to_le64(v + 1);
	q.len = cpu_to_le32(sizeof(buf));
	ck_ret(vdc_call(g_c[1], VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), buf,
			sizeof(buf), NULL, 0, NULL), -EPERM);
	ck_ret(vdc_call(g_c[0], VDIFS_OP_CHUNK_SYNC, &q, sizeof(q), NULL, 0,
			NULL, 0, NULL), -EPERM);
	ck_assert_uint_eq(version_of(g_c[1], r.chunk_id), v);

	/* a forwarded write that skips a version: -ESTALE, nothing applied */
	ret = h_ds_connect_role(&g_ds[1], VDIFS_ROLE_DS, 30000, &cds);
	ck_assert_msg(ret == 0, "connect as a data server: %s", h_err(ret));
	v1 = version_of(cds, r.chunk_id);
	ck_assert_uint_eq(v1, v);
	vdc_chunk_req_init(&q, &r);
	q.flags = cpu_to_le32(VDIFS_CHUNK_FWD);
	q.version = cpu_to_le64(v1 + 2);
	q.offset = cpu_to_le32(0);
	q.len = cpu_to_le32(sizeof(buf));
	ret = vdc_call(cds, VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), buf,
		       sizeof(buf), NULL, 0, NULL);
	ck_ret(ret, -ESTALE);
	ck_assert_uint_eq(version_of(cds, r.chunk_id), v1);
	vdc_close(cds);
	ck_chunk(g_c[0], &r, &m, "primary after a bad forward");
	/*
	 * The replica missed a version: its copy is stale and serves
	 * nothing more (the MDS takes it out of the set); the primary's
	 * next write, applied there, is not acknowledged.
	 */
	ck_assert(le32_to_cpu(stat_of(g_c[1], r.chunk_id).flags) &
		  VDIFS_CHUNK_STALE);
	fill(buf, sizeof(buf));
	ret = vdc_chunk_write(g_c[0], &r, 100, buf, sizeof(buf), NULL);
	ck_ret(ret, -ESTALE);
	m_apply(&m, 100, buf, sizeof(buf));
	ret = vdc_chunk_read(g_c[1], &r, 0, buf, sizeof(buf), NULL);
	ck_ret(ret, -ESTALE);
	ck_assert_uint_eq(version_of(g_c[1], r.chunk_id), v1);

	/* unknown opcodes */
	fd = h_raw_connect(g_ds[0].port);
	ck_ok(h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1));
	ck_ok(h_raw_send(fd, unknown_opcode(), 2, NULL, 0, NULL, 0, NULL, 0));
	ck_ok(h_raw_recv(fd, &h, NULL, 5000));
	ck_assert_uint_eq(h.req_id, 2);
	ck_assert(h.flags & VDIFS_MSG_REPLY);
	ck_assert_int_eq(h.status, -EOPNOTSUPP);
	ck_ok(h_raw_send(fd, 4000, 3, buf, 200, NULL, 0, NULL, 0));
	ck_ok(h_raw_recv(fd, &h, NULL, 5000));
	ck_assert_uint_eq(h.req_id, 3);
	ck_assert_int_eq(h.status, -EOPNOTSUPP);
	/* the same connection still serves */
	memset(&q, 0, sizeof(q));
	q.chunk_id = cpu_to_le64(r.chunk_id);
	ck_ok(h_raw_send(fd, VDIFS_OP_CHUNK_STAT, 4, &q, sizeof(q), NULL, 0,
			 NULL, 0));
	ck_ok(h_raw_recv(fd, &h, &rb, 5000));
	ck_assert_uint_eq(h.req_id, 4);
	ck_assert_int_eq(h.status, 0);
	ck_assert_uint_eq(h.body_len, sizeof(struct vdifs_chunk_stat));
	free(rb);
	close(fd);

	/* the server keeps serving: old and new connections */
	ck_chunk(g_c[0], &r, &m, "after bad input");
	c2 = h_ds_connect(&g_ds[0]);
	ck_chunk(c2, &r, &m, "new connection after bad input");
	vdc_close(c2);
	m_free(&m);
}
END_TEST

START_TEST(test_adaptive_extent)
{
	struct vdc_chunk_ref r;
	struct vdifs_chunk_stat s;
	struct model m;
	u8 bm[64];
	u32 es = 0, x;
	int n, k;

	rnd_seed(11);
	h_chunk_ref(&r, 0xa001, MiB, VDIFS_EXTENT_ADAPTIVE, VDIFS_REPL_SYNC,
		    3, g_set);
	m_init(&m, MiB, 0);
	do_write(g_c[0], &r, &m, 0, 256 * KiB);
	do_write(g_c[0], &r, &m, 300 * KiB + 3, 8 * KiB);
	s = stat_of(g_c[0], r.chunk_id);
	x = le32_to_cpu(s.extent_size);
	ck_assert_msg(x >= VDIFS_EXTENT_MIN && x <= VDIFS_EXTENT_MAX &&
		      !(x & (x - 1)),
		      "adaptive extent_size %u: not a power of two in [4096, 1048576]",
		      x);
	ck_assert_uint_eq(le32_to_cpu(s.chunk_size), MiB);
	n = vdc_chunk_map(g_c[0], &r, bm, sizeof(bm), &es, NULL);
	ck_assert_msg(n >= 0, "map: %s", h_err(n));
	ck_assert_uint_eq(es, x);
	ck_assert_int_ge(n, (int)((MiB / x + 7) / 8));
	for (k = 0; k < NDS; k++)
		ck_chunk(g_c[k], &r, &m, "adaptive");
	m_free(&m);
}
END_TEST

/* ================================================================== */
/* tools/vdifs-cluster                                                 */
/* ================================================================== */

/* a process that is gone, or a zombie nobody reaped */
/*
 * Random clones, deletes and writes over many chunks with three replicas,
 * every live chunk checked against its model as it goes: reference counts
 * and clone chains must keep every extent a live chunk can reach, however
 * the bases come and go (this found chains filed under the wrong chunk).
 */
#define STRESS_N 120

START_TEST(test_clone_stress)
{
	static struct model m[STRESS_N];
	int live[STRESS_N] = { 0 }, n = 0, step, i;
	struct vdc_chunk_ref r;
	u64 base = 0x5700000 + ((u64)g_seed % 1000) * 0x1000;

	rnd_seed(31);
	for (step = 0; step < 600; step++) {
		u32 op = rnd_below(10), off, len;
		int k;

		if (!n || (op < 2 && n < STRESS_N)) {
			h_chunk_ref(&r, base + n, 256 * KiB, 4 * KiB,
				    VDIFS_REPL_SYNC, 3, g_set);
			m_init(&m[n], 256 * KiB, 4 * KiB);
			off = rnd_below(256 * KiB);
			len = 1 + rnd_below(256 * KiB - off);
			do_write(g_c[0], &r, &m[n], off, len > 64 * KiB ?
				 64 * KiB : len);
			live[n++] = 1;
		} else if (op < 5 && n < STRESS_N) {
			k = (int)rnd_below((u32)n);
			if (!live[k])
				continue;
			h_chunk_ref(&r, base + n, 256 * KiB, 4 * KiB,
				    VDIFS_REPL_SYNC, 3, g_set);
			ck_ret(vdc_chunk_clone(g_c[0], &r, base + k), 0);
			m_copy(&m[n], &m[k]);
			live[n++] = 1;
			live[k] = 2;	/* frozen now */
		} else if (op < 8) {
			k = (int)rnd_below((u32)n);
			if (live[k] != 1)
				continue;
			h_chunk_ref(&r, base + k, 256 * KiB, 4 * KiB,
				    VDIFS_REPL_SYNC, 3, g_set);
			off = rnd_below(256 * KiB);
			len = 1 + rnd_below(256 * KiB - off);
			do_write(g_c[0], &r, &m[k], off, len > 32 * KiB ?
				 32 * KiB : len);
		} else {
			k = (int)rnd_below((u32)n);
			if (!live[k])
				continue;
			h_chunk_ref(&r, base + k, 256 * KiB, 4 * KiB,
				    VDIFS_REPL_SYNC, 3, g_set);
			ck_ret(vdc_chunk_delete(g_c[0], &r), 0);
			live[k] = 0;
		}
		if (step % 100 != 99)
			continue;
		for (i = 0; i < n; i++) {
			int d;

			if (!live[i])
				continue;
			h_chunk_ref(&r, base + i, 256 * KiB, 4 * KiB,
				    VDIFS_REPL_SYNC, 3, g_set);
			/* the primary and both replicas */
			for (d = 0; d < NDS; d++)
				ck_chunk(g_c[d], &r, &m[i], "clone stress");
		}
	}
	for (i = 0; i < n; i++)
		m_free(&m[i]);
}
END_TEST

static bool pid_gone(pid_t pid)
{
	char p[64], buf[512], *rp;
	FILE *f;
	size_t n;

	if (kill(pid, 0) && errno == ESRCH)
		return true;
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b;
	long n;

	ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(fread(b, 1, (size_t)n, f), n);
	fclose(f);
	return b;
}

START_TEST(test_cluster_script)
{
	char root[PATH_MAX], script[PATH_MAX + 32], tool[PATH_MAX + 32];
	char dir[PATH_MAX], file[PATH_MAX + 32], mds[128] = "";
	char keyf[PATH_MAX + 32] = "";
	char *out = NULL, *err = NULL, *env, *pids, *line, *save = NULL;
	struct json_object *j, *a, *o, *v;
	struct stat st;
	pid_t pid[16];
	int npid = 0, rc, i;
	regex_t re;

	/* the cluster's servers outlive the script: make them ours to reap */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ck_assert_msg(h_find_root(h_bindir(), root, sizeof(root)) ||
		      h_find_root(".", root, sizeof(root)),
		      "no repository found from %s", h_bindir());
	snprintf(script, sizeof(script), "%s/tools/vdifs-cluster", root);
	snprintf(tool, sizeof(tool), "%s/vdifs-tool", h_bindir());
	snprintf(dir, sizeof(dir), "%s/cluster.XXXXXX", h_tmp_base());
	ck_assert_ptr_nonnull(mkdtemp(dir));

	{
		char *argv[] = { script, "start", "--ds", "3", "--dir", dir,
				 "--bin", (char *)h_bindir(), NULL };

		rc = h_run(argv, NULL, &out, &err);
	}
	ck_assert_msg(rc == 0, "vdifs-cluster start: exit %d\n%s", rc, err);
	ck_assert_int_eq(regcomp(&re, "^127\\.0\\.0\\.1:[0-9]+/vdifs\n$",
				 REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(!regexec(&re, out, 0, NULL, 0),
		      "vdifs-cluster start printed '%s'", out);
	regfree(&re);

	/* cluster.env: the MDS and the same source */
	snprintf(file, sizeof(file), "%s/cluster.env", dir);
	env = slurp(file);
	for (line = strtok_r(env, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "VDIFS_MDS=", 10))
			snprintf(mds, sizeof(mds), "%s", line + 10);
		if (!strncmp(line, "VDIFS_KEY_FILE=", 15))
			snprintf(keyf, sizeof(keyf), "%s", line + 15);
		if (!strncmp(line, "VDIFS_SOURCE=", 13)) {
			size_t l = strlen(line + 13);

			ck_assert_msg(!strncmp(line + 13, out, l) &&
				      out[l] == '\n',
				      "VDIFS_SOURCE=%s but printed %s",
				      line + 13, out);
		}
	}
	free(env);
	ck_assert_msg(!strncmp(mds, "127.0.0.1:", 10),
		      "cluster.env has VDIFS_MDS='%s'", mds);
	free(out);
	free(err);

	/* a key of its own, its owner's alone, that the servers want */
	ck_assert_msg(keyf[0], "no VDIFS_KEY_FILE in cluster.env");
	ck_ok(stat(keyf, &st));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	{
		char *argv[] = { tool, "--json", "status", NULL };

		rc = h_run(argv, mds, &out, &err);
	}
	ck_assert_msg(rc == 1 && strstr(err, "no key given"),
		      "vdifs-tool status without the key: exit %d: %s", rc,
		      err);
	free(out);
	free(err);

	/* three up data servers */
	{
		char *argv[] = { tool, "--key-file", keyf, "--json", "status",
				 NULL };

		rc = h_run(argv, mds, &out, &err);
	}
	ck_assert_msg(rc == 0, "vdifs-tool status: exit %d: %s", rc, err);
	j = json_tokener_parse(out);
	ck_assert_msg(j != NULL, "not JSON: %s", out);
	ck_assert(json_object_object_get_ex(j, "data_servers", &a));
	ck_assert_int_eq((int)json_object_array_length(a), 3);
	for (i = 0; i < 3; i++) {
		o = json_object_array_get_idx(a, (size_t)i);
		ck_assert(json_object_object_get_ex(o, "state", &v));
		ck_assert_str_eq(json_object_get_string(v), "up");
	}
	json_object_put(j);
	free(out);
	free(err);

	/* the processes */
	snprintf(file, sizeof(file), "%s/pids", dir);
	pids = slurp(file);
	for (line = strtok_r(pids, "\n", &save); line && npid < 16;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		int p;

		ck_assert_msg(sscanf(line, "%63s %d", name, &p) == 2,
			      "pids line '%s'", line);
		ck_assert_msg(!pid_gone(p), "%s (pid %d) is not running",
			      name, p);
		pid[npid++] = p;
	}
	free(pids);
	ck_assert_int_eq(npid, 4);

	/* a second start on a running cluster is refused, harmlessly */
	{
		char *argv[] = { script, "start", "--ds", "1", "--dir", dir,
				 "--bin", (char *)h_bindir(), NULL };

		rc = h_run(argv, NULL, &out, &err);
	}
	ck_assert_msg(rc != 0, "a second start succeeded: %s", out);
	ck_assert_str_eq(out, "");
	free(out);
	free(err);
	for (i = 0; i < npid; i++)
		ck_assert_msg(!pid_gone(pid[i]), "pid %d died", pid[i]);

	/* status */
	{
		char *argv[] = { script, "status", "--dir", dir, NULL };

		rc = h_run(argv, NULL, &out, &err);
	}
	ck_assert_msg(rc == 0, "vdifs-cluster status: exit %d: %s", rc, err);
	ck_assert_ptr_nonnull(strstr(out, "up"));
	free(out);
	free(err);

	/* stop: nothing left */
	{
		char *argv[] = { script, "stop", "--dir", dir, NULL };

		rc = h_run(argv, NULL, &out, &err);
	}
	ck_assert_msg(rc == 0, "vdifs-cluster stop: exit %d: %s", rc, err);
	free(out);
	free(err);
	for (i = 0; i < npid; i++)
		ck_assert_msg(pid_gone(pid[i]), "pid %d still running after stop",
			      pid[i]);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (!getenv("VDIFS_TEST_KEEP"))
		h_rm_rf(dir);
}
END_TEST

/* ---- replica sets: fail-over and fencing (the MDS's LAYOUT_DEGRADE) ---- */

static void setup_failover(void)
{
	/* a short lease: a killed server is down within 2 s */
	struct h_mds_opts mo = { .heartbeat_ms = 200, .lease_ms = 2000 };

	start_cluster(&mo);
}

static void ref_of(struct vdc_chunk_ref *r, const struct vdifs_chunk *c,
		   u32 cs)
{
	unsigned int k;

	memset(r, 0, sizeof(*r));
	r->chunk_id = le64_to_cpu(c->chunk_id);
	r->epoch = le64_to_cpu(c->version);
	r->chunk_size = cs;
	r->extent_size = 64 * KiB;
	r->nrep = c->nrep;
	r->repl_mode = VDIFS_REPL_SYNC;
	for (k = 0; k < c->nrep; k++)
		r->ds[k] = le32_to_cpu(c->ds[k]);
}

/* ref_of, keeping the capability already in r->cap */
static void ref_with_cap(struct vdc_chunk_ref *r, const struct vdifs_chunk *c,
			 u32 cs)
{
	struct vdifs_chunk_cap cap = r->cap;

	ref_of(r, c, cs);
	r->cap = cap;
}

static bool in_set(const struct vdifs_chunk *c, u32 id)
{
	unsigned int k;

	for (k = 0; k < c->nrep; k++)
		if (le32_to_cpu(c->ds[k]) == id)
			return true;
	return false;
}

/*
 * LAYOUT_DEGRADE until the MDS changes the set (it waits out the lease
 * of a killed server); returns the MDS's last answer.
 */
static int degrade_until(struct vdc_conn *cli, u32 vol, u64 ino, u64 index,
			 struct vdifs_chunk *c, int ms)
{
	struct vdifs_chunk was = *c;
	int ret, waited;

	for (waited = 0; waited <= ms; waited += 200) {
		*c = was;
		ret = vdc_layout_degrade(cli, vol, ino, index, c);
		if (ret != -EAGAIN)
			return ret;
		usleep(200 * 1000);
	}
	return ret;
}

/*
 * A 3-copy chunk loses a replica, then its primary, while it is written:
 * the MDS takes each out of the set (only once it misses its lease:
 * before, it is slow, not failed), promotes the replica left, and every
 * acknowledged write is read back from it.  Old sets are fenced: a
 * write through an old layout, and a replaced primary come back, are
 * refused.  A volume that wants 2 copies refuses to go on with 1.
 */
START_TEST(test_failover)
{
	struct vdc_params p = { .chunk_size = MiB, .replicas = 3,
				.repl_mode = VDIFS_REPL_SYNC };
	struct vdc_params p2 = { .chunk_size = MiB, .replicas = 2,
				 .min_replicas = 2,
				 .repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk c, c1, c2, m2[8];
	struct vdc_chunk_ref r, r1, r2;
	struct vdc_vol v, v2;
	struct vdc_attr a, a2[8];
	struct model m;
	u8 buf[8192];
	u32 cs = 0;
	int i, prim, rep, ret, n2 = 0;

	rnd_seed(11);
	ck_ok(vdc_vol_create(tool, "fovol", &p, &v));
	ck_ok(vdc_vol_create(tool, "minvol", &p2, &v2));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, &c, 1, &cs), 1);
	ck_assert_uint_eq(c.nrep, 3);
	ck_assert_uint_eq(le64_to_cpu(c.version), 1);
	/* chunks of the 2-of-2 volume, some on the replica we will kill */
	for (i = 0; i < 8; i++) {
		char name[8];

		snprintf(name, sizeof(name), "g%d", i);
		ck_ok(vdc_create(cli, v2.vol, v2.root_ino, name,
				 S_IFREG | 0644, 0, 0, 0, true, NULL, &a2[i]));
		ck_assert_int_eq(vdc_layout_get(cli, v2.vol, a2[i].ino, 0, 1,
						VDIFS_LAYOUT_ALLOC, &m2[i], 1,
						&cs), 1);
	}
	cs = MiB;
	ref_of(&r, &c, cs);
	prim = ds_index(r.ds[0]);
	rep = ds_index(r.ds[1]);
	m_init(&m, MiB, 64 * KiB);
	for (i = 0; i < 8; i++)
		do_write(g_c[prim], &r, &m, rnd_below(MiB - 8192), 8192);

	/* a replica dies: the primary cannot acknowledge a write */
	h_ds_kill(&g_ds[rep]);
	fill(buf, sizeof(buf));
	ret = vdc_chunk_write(g_c[prim], &r, 4096, buf, sizeof(buf), NULL);
	ck_assert_msg(ret == -EREMOTEIO, "write with a replica dead: %s",
		      h_err(ret));
	/* it is not down yet for the MDS: slow is not failed */
	c1 = c;
	ret = vdc_layout_degrade(cli, v.vol, a.ino, 0, &c1);
	ck_assert_msg(ret == -EAGAIN, "degrade at once: %s", h_err(ret));
	ret = degrade_until(cli, v.vol, a.ino, 0, &c1, 8000);
	ck_assert_msg(ret == 0, "degrade: %s", h_err(ret));
	ck_assert_uint_eq(le64_to_cpu(c1.version), 2);
	ck_assert_uint_eq(c1.nrep, 2);
	ck_assert(!in_set(&c1, g_ds[rep].id));
	ck_assert_uint_eq(le32_to_cpu(c1.ds[0]), g_ds[prim].id);
	/* the same write again, through the new set: it goes through */
	ref_of(&r1, &c1, cs);
	ck_ok(vdc_chunk_write(g_c[prim], &r1, 4096, buf, sizeof(buf), NULL));
	m_apply(&m, 4096, buf, sizeof(buf));
	for (i = 0; i < 8; i++)
		do_write(g_c[prim], &r1, &m, rnd_below(MiB - 8192), 8192);
	/* a writer with the old set is refused, and nothing changes */
	ret = vdc_chunk_write(g_c[prim], &r, 0, buf, 4096, NULL);
	ck_assert_msg(ret == -ESTALE, "write through the old set: %s",
		      h_err(ret));
	/* asking again about an old epoch answers the current set */
	c2 = c;
	ck_ok(vdc_layout_degrade(cli, v.vol, a.ino, 0, &c2));
	ck_assert(!memcmp(&c2, &c1, sizeof(c1)));

	/* 2 copies wanted: a chunk that had one on the dead server stops */
	for (i = 0; i < 8; i++) {
		if (!in_set(&m2[i], g_ds[rep].id))
			continue;
		ret = vdc_layout_degrade(cli, v2.vol, a2[i].ino, 0, &m2[i]);
		ck_assert_msg(ret == -EIO, "degrade below min_replicas: %s",
			      h_err(ret));
		n2++;
	}
	ck_assert_msg(n2 > 0, "no chunk of minvol on data server %u",
		      g_ds[rep].id);

	/* the primary dies: the replica left takes over with every write */
	h_ds_kill(&g_ds[prim]);
	c2 = c1;
	ret = degrade_until(cli, v.vol, a.ino, 0, &c2, 8000);
	ck_assert_msg(ret == 0, "degrade of the primary: %s", h_err(ret));
	ck_assert_uint_eq(le64_to_cpu(c2.version), 3);
	ck_assert_uint_eq(c2.nrep, 1);
	ck_assert(!in_set(&c2, g_ds[prim].id));
	ref_of(&r2, &c2, cs);
	ck_chunk(g_c[ds_index(r2.ds[0])], &r2, &m, "the promoted replica");
	do_write(g_c[ds_index(r2.ds[0])], &r2, &m, 65536, 8192);

	/*
	 * The old primary comes back and gets a write through the set it
	 * was primary of: the survivor has seen a newer set and refuses it.
	 */
	restart(prim, 0, NULL);
	ret = vdc_chunk_write(g_c[prim], &r1, 0, buf, 4096, NULL);
	ck_assert_msg(ret == -ESTALE,
		      "write through a replaced primary: %s", h_err(ret));
	ck_chunk(g_c[ds_index(r2.ds[0])], &r2, &m, "after the fenced write");
	/* its copy out of the set goes, now that it is back */
	ck_assert_msg(chunk_gone_within(prim, r2.chunk_id, 15000),
		      "the old primary still has its copy out of the set");
	m_free(&m);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST


/*
 * Volume vol (params p), a file name in its root, and that file's chunk 0
 * allocated into *c, with as many copies as p wants
 */
static void one_chunk_file(struct vdc_conn *tool, struct vdc_conn *cli,
			   const char *vol, const struct vdc_params *p,
			   const char *name, struct vdc_vol *v,
			   struct vdc_attr *a, struct vdifs_chunk *c)
{
	u32 cs = 0;

	ck_ok(vdc_vol_create(tool, vol, p, v));
	ck_ok(vdc_create(cli, v->vol, v->root_ino, name, S_IFREG | 0644, 0, 0,
			 0, true, NULL, a));
	ck_assert_int_eq(vdc_layout_get(cli, v->vol, a->ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, c, 1, &cs), 1);
	ck_assert_uint_eq(c->nrep, p->replicas);
}

static u64 now_ms(void);

/*
 * A primary taken out of a set comes back with a write it applied alone
 * (its forwards lost with its link) and forwards the next one through
 * the old set: the replicas left, which nothing has written through the
 * new set yet, must refuse it by its epoch at once, not wait for the
 * version it skips and mark their copies stale (every copy of the chunk
 * stale: nothing left to serve it).  The degrade tells them the new
 * epoch before it commits it.
 */
START_TEST(test_old_primary_refused)
{
	struct vdc_params p = { .chunk_size = MiB, .replicas = 3,
				.repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdc_conn *peer = NULL;
	struct vdifs_chunk c, c1;
	struct vdifs_chunk_stat st;
	struct vdifs_chunk_req q;
	struct vdc_chunk_ref r;
	struct model m;
	struct vdc_attr a;
	struct vdc_vol v;
	u8 buf[4096];
	u64 ver, t0, took;
	int prim, k, ret;

	rnd_seed(29);
	one_chunk_file(tool, cli, "opvol", &p, "f", &v, &a, &c);
	ref_of(&r, &c, MiB);
	prim = ds_index(r.ds[0]);
	m_init(&m, MiB, 64 * KiB);
	ver = do_write(g_c[prim], &r, &m, 0, 8192);

	h_ds_kill(&g_ds[prim]);
	c1 = c;
	ck_ok(degrade_until(cli, v.vol, a.ino, 0, &c1, 8000));
	ck_assert_uint_eq(c1.nrep, 2);
	ck_assert(!in_set(&c1, g_ds[prim].id));

	/* the old primary's next forward, through the old set */
	memset(buf, 0x6b, sizeof(buf));
	vdc_chunk_req_init(&q, &r);
	q.flags = cpu_to_le32(VDIFS_CHUNK_FWD);
	q.version = cpu_to_le64(ver + 2);
	q.offset = cpu_to_le32(4096);
	q.len = cpu_to_le32(sizeof(buf));
	q.digest = cpu_to_le64(0x3333);
	for (k = 0; k < 2; k++) {
		int d = ds_index(le32_to_cpu(c1.ds[k]));

		ck_ok(h_ds_connect_role(&g_ds[d], VDIFS_ROLE_DS, 10000,
					&peer));
		t0 = now_ms();
		ret = vdc_call(peer, VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), buf,
			       sizeof(buf), NULL, 0, NULL);
		took = now_ms() - t0;
		vdc_close(peer);
		ck_assert_msg(ret == -ESTALE, "an old set's forward: %s",
			      h_err(ret));
		st = stat_of(g_c[d], r.chunk_id);
		ck_assert_msg(!(le32_to_cpu(st.flags) & VDIFS_CHUNK_STALE),
			      "data server %u marked its copy stale for an old set's forward",
			      g_ds[d].id);
		ck_assert_msg(took < 2000,
			      "an old set's forward was refused after %llu ms",
			      (unsigned long long)took);
	}
	/* and the new set serves what was acknowledged */
	ref_of(&r, &c1, MiB);
	ck_chunk(g_c[ds_index(r.ds[0])], &r, &m, "the set left");
	m_free(&m);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

static int lost_cb(const struct vdifs_lost_status *l, void *arg)
{
	struct vdifs_lost_status *out = arg;

	if (!out->chunk_id)
		*out = *l;
	return 0;
}

/* STATUS's lost records: how many, the first in *l */
static u32 lost_list(struct vdc_conn *tool, struct vdifs_lost_status *l)
{
	struct vdc_status_cbs cbs = { .lost = lost_cb };
	struct vdifs_status_rep st;

	memset(l, 0, sizeof(*l));
	ck_ok(vdc_status(tool, &cbs, l, &st));
	return le32_to_cpu(st.nlost);
}

/*
 * Async mode: the primary acknowledges a write its replica has not got
 * (the replica is down), then dies.  The MDS promotes the replica,
 * which lacks the write: STATUS must say so, for that chunk and no other
 * (a sync chunk of the same primary, degraded the same way, lost
 * nothing), and forget it with the file.
 */
START_TEST(test_async_lost)
{
	struct vdc_params pa = { .chunk_size = MiB, .replicas = 2,
				 .repl_mode = VDIFS_REPL_ASYNC };
	struct vdc_params ps = { .chunk_size = 64 * KiB, .replicas = 2,
				 .repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk c, c2, sc[24];
	struct vdifs_lost_status l;
	struct vdc_chunk_ref r, r2;
	struct vdc_vol va, vs;
	struct vdc_attr a, as;
	struct model m;
	u8 buf[8192], back[8192];
	u32 cs = 0;
	int i, prim, rep, sidx = -1, ret;

	rnd_seed(29);
	ck_ok(vdc_vol_create(tool, "asyncvol", &pa, &va));
	ck_ok(vdc_vol_create(tool, "syncvol", &ps, &vs));
	ck_ok(vdc_create(cli, va.vol, va.root_ino, "f", S_IFREG | 0644, 0, 0,
			 0, true, NULL, &a));
	ck_assert_int_eq(vdc_layout_get(cli, va.vol, a.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, &c, 1, &cs), 1);
	ck_assert_uint_eq(c.nrep, 2);
	ref_of(&r, &c, MiB);
	r.repl_mode = VDIFS_REPL_ASYNC;
	prim = ds_index(r.ds[0]);
	rep = ds_index(r.ds[1]);
	ck_ok(vdc_create(cli, vs.vol, vs.root_ino, "s", S_IFREG | 0644, 0, 0,
			 0, true, NULL, &as));
	ck_assert_int_eq(vdc_layout_get(cli, vs.vol, as.ino, 0, 24,
					VDIFS_LAYOUT_ALLOC, sc, 24, &cs), 24);
	for (i = 0; i < 24 && sidx < 0; i++)
		if (le32_to_cpu(sc[i].ds[0]) == g_ds[prim].id)
			sidx = i;
	ck_assert_msg(sidx >= 0, "no sync chunk with primary %u",
		      g_ds[prim].id);

	/* drained to the replica: nothing is behind, nothing lost */
	m_init(&m, MiB, 64 * KiB);
	do_write(g_c[prim], &r, &m, 0, 8192);
	usleep(1000 * 1000);
	ck_assert_uint_eq(lost_list(tool, &l), 0);

	/*
	 * The replica dies: a write only the primary has is acknowledged.
	 * Then the primary dies, and the replica comes back without it.
	 */
	h_ds_kill(&g_ds[rep]);
	fill(buf, sizeof(buf));
	ck_ok(vdc_chunk_write(g_c[prim], &r, 0, buf, sizeof(buf), NULL));
	/* at once: the MDS heard of it before the write was acknowledged */
	h_ds_kill(&g_ds[prim]);
	restart(rep, 0, NULL);

	c2 = c;
	ret = degrade_until(cli, va.vol, a.ino, 0, &c2, 8000);
	ck_assert_msg(ret == 0, "degrade of the async primary: %s",
		      h_err(ret));
	ck_assert_uint_eq(c2.nrep, 1);
	ck_assert_uint_eq(le32_to_cpu(c2.ds[0]), g_ds[rep].id);
	ret = degrade_until(cli, vs.vol, as.ino, sidx, &sc[sidx], 8000);
	ck_assert_msg(ret == 0, "degrade of the sync chunk: %s", h_err(ret));

	/* the replica has the first write, not the second: reported */
	ref_of(&r2, &c2, MiB);
	r2.repl_mode = VDIFS_REPL_ASYNC;
	ck_chunk(g_c[rep], &r2, &m, "the promoted replica");
	ck_assert_int_eq(vdc_chunk_read(g_c[rep], &r2, 0, back, sizeof(back),
					NULL), (int)sizeof(back));
	ck_assert(memcmp(back, buf, sizeof(buf)));
	ck_assert_uint_eq(lost_list(tool, &l), 1);
	ck_assert_uint_eq(le64_to_cpu(l.chunk_id), r.chunk_id);
	ck_assert_uint_eq(le32_to_cpu(l.vol), va.vol);
	ck_assert_uint_eq(le64_to_cpu(l.ino), a.ino);
	ck_assert_uint_eq(le64_to_cpu(l.index), 0);
	ck_assert_uint_eq(le32_to_cpu(l.ds_id), g_ds[prim].id);
	ck_assert(le32_to_cpu(l.flags) & VDIFS_LOST_CERTAIN);

	/* the report lasts as long as the file */
	restart(prim, 0, NULL);
	ck_assert_uint_eq(lost_list(tool, &l), 1);
	ck_ok(vdc_unlink(cli, va.vol, va.root_ino, "f"));
	ck_assert_uint_eq(lost_list(tool, &l), 0);
	m_free(&m);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

/*
 * Right after an MDS restart no data server has reported yet: a new chunk
 * waits for them (-EAGAIN) for the first lease, instead of failing for
 * want of room (-ENOSPC, which an application sees) or starting with
 * fewer copies than its volume wants.  Servers that stay silent past the
 * lease are down: then there is no room.
 */
START_TEST(test_alloc_after_restart)
{
	struct vdc_params p = { .chunk_size = MiB, .replicas = 3,
				.repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk c;
	struct vdc_vol v;
	struct vdc_attr a;
	u32 cs = 0;
	int i, ret = 0;

	ck_ok(vdc_vol_create(tool, "rsvol", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	vdc_close(cli);
	vdc_close(tool);
	for (i = 0; i < NDS; i++)
		h_ds_pause(&g_ds[i]);
	ck_ok(h_mds_restart(&g_mds, SIGKILL));
	cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	ret = vdc_layout_get(cli, v.vol, a.ino, 0, 1, VDIFS_LAYOUT_ALLOC, &c,
			     1, &cs);
	ck_assert_msg(ret == -EAGAIN,
		      "a new chunk before the servers reported: %s",
		      h_err(ret));
	/* silent for the whole lease (2 s): down, and no room */
	usleep(2500 * 1000);
	ret = vdc_layout_get(cli, v.vol, a.ino, 0, 1, VDIFS_LAYOUT_ALLOC, &c,
			     1, &cs);
	ck_assert_msg(ret == -ENOSPC,
		      "a new chunk with every server silent: %s", h_err(ret));
	/*
	 * Back, and heard again by the MDS (past the first lease a chunk
	 * placed while only some are would start degraded, as it should).
	 */
	for (i = 0; i < NDS; i++)
		h_ds_resume(&g_ds[i]);
	for (i = 0; i < NDS; i++)
		ck_ok(h_ds_wait_up(&g_ds[i], 10000));
	ret = vdc_layout_get(cli, v.vol, a.ino, 0, 1, VDIFS_LAYOUT_ALLOC, &c,
			     1, &cs);
	ck_assert_msg(ret == 1 && c.nrep == 3,
		      "a new chunk once the servers are back: %s, %u copies",
		      h_err(ret < 0 ? ret : 0), c.nrep);
	vdc_close(cli);
}
END_TEST

/* ---- a key per role ---- */

#define KEY_SERVER	"5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
#define KEY_CLIENT	"c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
#define KEY_ADMIN	"adadadadadadadadadadadadadadadad"

static void setup_role_keys(void)
{
	struct h_mds_opts mo = { .heartbeat_ms = 500, .lease_ms = 10000,
				 .key_hex = KEY_SERVER,
				 .client_key_hex = KEY_CLIENT,
				 .admin_key_hex = KEY_ADMIN };

	start_cluster(&mo);
}

/* connect to addr as role with the key hex; 0 or -errno */
static int connect_as(const char *addr, u32 role, const char *hex,
		      struct vdc_conn **c)
{
	struct vdc_opts o = { .role = role, .timeout_ms = 10000 };
	u8 key[64];
	size_t len;

	ck_ok(vdc_key_parse_hex(hex, key, sizeof(key), &len));
	o.key = key;
	o.key_len = len;
	*c = NULL;
	return vdc_connect(addr, &o, c);
}

/*
 * With a key per role, a role is what a peer proves, not what it says:
 * a client host (its key) cannot pass for a data server (register one
 * at its own address, forward a write to a replica behind its primary)
 * or for an administrator (delete a volume), and the other way round.
 * The servers among themselves (registration, heartbeats, forwarded
 * writes, the MDS's calls) go on with the server key.
 */
START_TEST(test_role_keys)
{
	static const struct {
		u32 role;
		const char *key;
		int mds, ds;	/* what connecting gets */
	} tries[] = {
		{ VDIFS_ROLE_CLIENT, KEY_CLIENT, 0, 0 },
		{ VDIFS_ROLE_DS, KEY_CLIENT, -EACCES, -EACCES },
		{ VDIFS_ROLE_TOOL, KEY_CLIENT, -EACCES, -EACCES },
		{ VDIFS_ROLE_TOOL, KEY_ADMIN, 0, -EACCES },
		{ VDIFS_ROLE_CLIENT, KEY_ADMIN, -EACCES, -EACCES },
		{ VDIFS_ROLE_DS, KEY_SERVER, 0, 0 },
		{ VDIFS_ROLE_CLIENT, KEY_SERVER, -EACCES, -EACCES },
	};
	struct vdc_params p = { .chunk_size = MiB, .replicas = 3,
				.repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *c, *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk ch;
	struct vdc_chunk_ref r;
	struct vdc_vol v;
	struct vdc_attr a;
	struct model m;
	u32 cs = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		ret = connect_as(g_mds.addr, tries[i].role, tries[i].key, &c);
		ck_assert_msg(ret == tries[i].mds,
			      "MDS, role %u with key %.4s: %s", tries[i].role,
			      tries[i].key, h_err(ret));
		vdc_close(c);
		ret = connect_as(g_ds[0].addr, tries[i].role, tries[i].key,
				 &c);
		ck_assert_msg(ret == tries[i].ds,
			      "DS, role %u with key %.4s: %s", tries[i].role,
			      tries[i].key, h_err(ret));
		vdc_close(c);
	}
	/* the administrators' key does what clients' cannot */
	ck_ret(vdc_vol_create(cli, "nope", &p, &v), -EPERM);
	ck_ok(vdc_vol_create(tool, "keyvol", &p, &v));
	/* and the servers' key keeps the cluster working: 3 sync copies */
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	ck_assert_int_eq(vdc_layout_get_caps(cli, v.vol, a.ino, 0, 1,
					     VDIFS_LAYOUT_ALLOC, &ch, &r.cap,
					     1, &cs), 1);
	ck_assert_uint_eq(ch.nrep, 3);
	ref_with_cap(&r, &ch, MiB);
	m_init(&m, MiB, 64 * KiB);
	for (i = 0; i < 4; i++)
		do_write(g_c[ds_index(r.ds[0])], &r, &m, rnd_below(MiB - 8192),
			 8192);
	for (i = 0; i < 3; i++)
		ck_chunk(g_c[ds_index(r.ds[i])], &r, &m, "a replica");
	m_free(&m);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

/*
 * A client host with a principal of its own proves, to a data server,
 * the key the MDS derived for it, which the data server checks without
 * holding it (KEY_CHECK tells it the role and generation).  A deleted
 * principal is cut off there too, within the data server's ten seconds.
 */
START_TEST(test_principal_ds)
{
	struct vdc_params p = { .chunk_size = MiB, .replicas = 2,
				.repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli, *dc, *c;
	struct vdc_principal h1;
	struct vdc_opts o = { .role = VDIFS_ROLE_CLIENT, .timeout_ms = 10000,
			      .principal = "host1" };
	struct vdifs_chunk ch;
	struct vdc_chunk_ref r;
	struct vdc_vol v;
	struct vdc_attr a;
	struct model m;
	u8 bad[VDIFS_PRINCIPAL_KEY_LEN];
	u32 cs = 0;
	int i, ret = 0;

	ck_ok(vdc_key_add(tool, "host1", VDIFS_ROLE_CLIENT, false, &h1));
	ck_ok(vdc_vol_create(tool, "pvol", &p, &v));
	ck_ok(vdc_access_set(tool, v.vol, "host1", VDIFS_ACCESS_WRITE));
	o.key = h1.key;
	o.key_len = sizeof(h1.key);
	ck_ok(vdc_connect(g_mds.addr, &o, &cli));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	ck_assert_int_eq(vdc_layout_get_caps(cli, v.vol, a.ino, 0, 1,
					     VDIFS_LAYOUT_ALLOC, &ch, &r.cap,
					     1, &cs), 1);
	ref_with_cap(&r, &ch, MiB);
	ck_ok(vdc_connect(g_ds[ds_index(r.ds[0])].addr, &o, &dc));
	m_init(&m, MiB, 64 * KiB);
	do_write(dc, &r, &m, 4096, 8192);
	ck_chunk(dc, &r, &m, "written by a principal");
	/* a wrong key, or the principal passing for a data server */
	memcpy(bad, h1.key, sizeof(bad));
	bad[5] ^= 0x40;
	o.key = bad;
	ck_ret(vdc_connect(g_ds[0].addr, &o, &c), -EACCES);
	o.key = h1.key;
	o.role = VDIFS_ROLE_DS;
	ck_ret(vdc_connect(g_ds[0].addr, &o, &c), -EACCES);
	o.role = VDIFS_ROLE_CLIENT;
	/* deleted: the MDS cuts it off at once, the data server soon */
	ck_ok(vdc_key_delete(tool, "host1"));
	ck_ret(vdc_getattr(cli, v.vol, a.ino, &a), -EKEYREVOKED);
	for (i = 0; i < 60; i++) {
		u8 buf[512];

		ret = vdc_chunk_read(dc, &r, 0, buf, sizeof(buf), NULL);
		if (ret < 0)
			break;
		usleep(250 * 1000);
	}
	ck_assert_msg(ret == -EKEYREVOKED || ret == -ECONNRESET ||
		      ret == -EPIPE, "a deleted principal still reads: %s",
		      h_err(ret));
	ck_ret(vdc_connect(g_ds[0].addr, &o, &c), -EACCES);
	m_free(&m);
	vdc_close(dc);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

/*
 * With a cluster key a data server serves a client only under the
 * capability the MDS gave it for that chunk, epoch and rights: none, one
 * for another chunk, one with rights raised, one of another principal,
 * or an expired one is refused, and a client never clones or deletes.
 */
START_TEST(test_capabilities)
{
	struct vdc_params p = { .chunk_size = MiB, .replicas = 1,
				.repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdc_conn *rc, *dc, *pc;
	struct vdc_principal ro;
	struct vdc_opts o = { .role = VDIFS_ROLE_CLIENT, .timeout_ms = 10000,
			      .principal = "reader" };
	struct vdifs_chunk ch[2];
	struct vdifs_chunk_cap caps[2];
	struct vdc_chunk_ref r, r2, bad;
	struct vdc_vol v;
	struct vdc_attr a;
	u8 buf[4096], key[64], capkey[32];
	size_t klen;
	u32 cs = 0;
	int i;

	ck_ok(vdc_vol_create(tool, "capvol", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(vdc_layout_get_caps(cli, v.vol, a.ino, i, 1,
						     VDIFS_LAYOUT_ALLOC,
						     &ch[i], &caps[i], 1,
						     &cs), 1);
	ck_assert_uint_eq(le32_to_cpu(caps[0].rights),
			  VDIFS_CAP_READ | VDIFS_CAP_WRITE);
	ref_of(&r, &ch[0], MiB);
	r.cap = caps[0];
	ref_of(&r2, &ch[1], MiB);
	r2.cap = caps[1];
	dc = h_ds_connect(&g_ds[ds_index(r.ds[0])]);
	memset(buf, 0x3c, sizeof(buf));
	ck_ok(vdc_chunk_write(dc, &r, 0, buf, sizeof(buf), NULL));
	/* no capability, another chunk's, rights raised, MAC changed */
	bad = r;
	memset(&bad.cap, 0, sizeof(bad.cap));
	ck_ret(vdc_chunk_read(dc, &bad, 0, buf, 512, NULL), -EACCES);
	bad = r;
	bad.cap = caps[1];
	ck_ret(vdc_chunk_write(dc, &bad, 0, buf, 512, NULL), -EACCES);
	bad = r;
	bad.epoch++;
	ck_assert_int_lt(vdc_chunk_read(dc, &bad, 0, buf, 512, NULL), 0);
	bad = r;
	bad.cap.mac[3] ^= 1;
	ck_ret(vdc_chunk_read(dc, &bad, 0, buf, 512, NULL), -EACCES);
	/* a client neither clones nor deletes, capability or not */
	ck_ret(vdc_chunk_delete(dc, &r), -EPERM);
	/* an expired capability, well made (the test knows the key) */
	ck_ok(vdc_key_parse_hex(KEY_SERVER, key, sizeof(key), &klen));
	vdc_cap_key(key, klen, capkey);
	bad = r;
	bad.cap.expiry = cpu_to_le64((u64)time(NULL) - 2 * VDIFS_CAP_SKEW_S);
	vdc_cap_mac(capkey, bad.chunk_id, bad.epoch,
		    le64_to_cpu(bad.cap.expiry),
		    le32_to_cpu(bad.cap.rights), "", bad.cap.mac);
	ck_ret(vdc_chunk_read(dc, &bad, 0, buf, 512, NULL), -EKEYEXPIRED);
	/* the same, unexpired, passes: the check is the MAC, not a list */
	bad.cap.expiry = cpu_to_le64((u64)time(NULL) + 600);
	vdc_cap_mac(capkey, bad.chunk_id, bad.epoch,
		    le64_to_cpu(bad.cap.expiry),
		    le32_to_cpu(bad.cap.rights), "", bad.cap.mac);
	ck_assert_int_eq(vdc_chunk_read(dc, &bad, 0, buf, 512, NULL), 512);

	/* a read-only principal: its capabilities read and do not write */
	ck_ok(vdc_key_add(tool, "reader", VDIFS_ROLE_CLIENT, false, &ro));
	ck_ok(vdc_access_set(tool, v.vol, "reader", VDIFS_ACCESS_READ));
	o.key = ro.key;
	o.key_len = sizeof(ro.key);
	ck_ok(vdc_connect(g_mds.addr, &o, &rc));
	ck_assert_int_eq(vdc_layout_get_caps(rc, v.vol, a.ino, 0, 1, 0, &ch[0],
					     &caps[0], 1, &cs), 1);
	ck_assert_uint_eq(le32_to_cpu(caps[0].rights), VDIFS_CAP_READ);
	ck_ok(vdc_connect(g_ds[ds_index(r.ds[0])].addr, &o, &pc));
	bad = r;
	bad.cap = caps[0];
	ck_assert_int_eq(vdc_chunk_read(pc, &bad, 0, buf, 512, NULL), 512);
	ck_assert_uint_eq(buf[100], 0x3c);
	ck_ret(vdc_chunk_write(pc, &bad, 0, buf, 512, NULL), -EACCES);
	/* nor does it borrow the shared client key's capability */
	ck_ret(vdc_chunk_read(pc, &r, 0, buf, 512, NULL), -EACCES);
	vdc_close(pc);
	vdc_close(rc);
	vdc_close(dc);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

/*
 * Principal name (made here, its key in *pr) writes a 4 KiB of byte fill
 * to the first chunk of a file of a new volume: *o connects as it, *r is
 * that chunk with its capability.  The data server has its answer now.
 */
static void principal_chunk(struct vdc_conn *tool, const char *name,
			    const char *vol, u8 fill, struct vdc_principal *pr,
			    struct vdc_opts *o, struct vdc_chunk_ref *r)
{
	struct vdc_params p = { .chunk_size = MiB, .replicas = 1,
				.repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *cli, *dc;
	struct vdifs_chunk ch;
	struct vdc_vol v;
	struct vdc_attr a;
	u8 buf[4096];
	u32 cs = 0;

	ck_ok(vdc_key_add(tool, name, VDIFS_ROLE_CLIENT, false, pr));
	ck_ok(vdc_vol_create(tool, vol, &p, &v));
	memset(o, 0, sizeof(*o));
	o->role = VDIFS_ROLE_CLIENT;
	o->timeout_ms = 10000;
	o->principal = name;
	o->key = pr->key;
	o->key_len = sizeof(pr->key);
	ck_ok(vdc_connect(g_mds.addr, o, &cli));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(vdc_layout_get_caps(cli, v.vol, a.ino, 0, 1,
					     VDIFS_LAYOUT_ALLOC, &ch, &r->cap,
					     1, &cs), 1);
	ref_with_cap(r, &ch, MiB);
	ck_ok(vdc_connect(g_ds[ds_index(r->ds[0])].addr, o, &dc));
	memset(buf, fill, sizeof(buf));
	ck_ok(vdc_chunk_write(dc, r, 0, buf, sizeof(buf), NULL));
	vdc_close(dc);
	vdc_close(cli);
}

/*
 * A data server serves on while its MDS is down: a principal it has heard
 * of still connects (and reads) after the answer's ten seconds, when the
 * MDS cannot be asked again.
 */
START_TEST(test_principal_ds_no_mds)
{
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_principal h1;
	struct vdc_opts o;
	struct vdc_chunk_ref r;
	struct vdc_conn *dc;
	u8 buf[4096];

	principal_chunk(tool, "host1", "pvol", 0x11, &h1, &o, &r);
	vdc_close(tool);
	h_mds_stop(&g_mds, SIGKILL);
	sleep(11);
	ck_ok(vdc_connect(g_ds[ds_index(r.ds[0])].addr, &o, &dc));
	ck_assert_int_eq(vdc_chunk_read(dc, &r, 0, buf, 512, NULL), 512);
	ck_assert_uint_eq(buf[7], 0x11);
	vdc_close(dc);
}
END_TEST

/* one writer of test_stopped_replica: its own connection, its own chunk */
struct stop_writer {
	pthread_t th;
	struct vdc_chunk_ref r;
	struct h_ds *prim;
	u64 index;
	int ret;
};

static void *stop_writer_run(void *arg)
{
	struct stop_writer *w = arg;
	struct vdc_conn *c = NULL;
	u8 buf[4096];

	memset(buf, 0x5a, sizeof(buf));
	w->ret = h_ds_connect_role(w->prim, VDIFS_ROLE_CLIENT, 30000, &c);
	if (!w->ret)
		w->ret = vdc_chunk_write(c, &w->r, 0, buf, sizeof(buf), NULL);
	vdc_close(c);
	return NULL;
}

static u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct slow_conn {
	pthread_t th;
	const char *addr;
	struct vdc_opts o;
	int ret;
};

static void *slow_conn_run(void *arg)
{
	struct slow_conn *sc = arg;
	struct vdc_conn *c = NULL;

	sc->ret = vdc_connect(sc->addr, &sc->o, &c);
	if (!sc->ret)
		vdc_close(c);
	return NULL;
}

/*
 * The MDS stops answering while a data server asks it about a principal
 * it has not seen (that question waits out its timeouts): a principal
 * whose answer the server has is served meanwhile, not held behind it.
 */
START_TEST(test_principal_ds_slow_mds)
{
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_principal h1, h2;
	struct slow_conn sc = { 0 };
	struct vdc_chunk_ref r;
	struct vdc_conn *dc;
	struct vdc_opts o;
	u8 buf[4096];
	u64 t0, took;

	principal_chunk(tool, "host1", "slowvol", 0x22, &h1, &o, &r);
	ck_ok(vdc_key_add(tool, "host2", VDIFS_ROLE_CLIENT, false, &h2));

	ck_assert_int_eq(kill(g_mds.pid, SIGSTOP), 0);
	sc.addr = g_ds[ds_index(r.ds[0])].addr;
	sc.o = o;
	sc.o.principal = "host2";
	sc.o.key = h2.key;
	sc.o.timeout_ms = 30000;
	ck_assert_int_eq(pthread_create(&sc.th, NULL, slow_conn_run, &sc), 0);
	usleep(300 * 1000);	/* its question is on its way */
	t0 = now_ms();
	ck_ok(vdc_connect(g_ds[ds_index(r.ds[0])].addr, &o, &dc));
	ck_assert_int_eq(vdc_chunk_read(dc, &r, 0, buf, 512, NULL), 512);
	took = now_ms() - t0;
	vdc_close(dc);
	kill(g_mds.pid, SIGCONT);
	pthread_join(sc.th, NULL);
	ck_assert_uint_eq(buf[7], 0x22);
	ck_assert_msg(took < 2000,
		      "a known principal waited %llu ms behind an unknown one",
		      (unsigned long long)took);
	vdc_close(tool);
}
END_TEST

/*
 * A replica stops (SIGSTOP) under many writers of one primary: the
 * first forward to it waits its time (a lease and a second), and every
 * other writer learns at once that the replica did not answer, to ask
 * the MDS: none waits its own timeout in turn behind the others (that
 * was the whole stop of a stopped server).  Back, the replica missed
 * writes: the MDS takes it out of the set and writes go on.
 */
START_TEST(test_stopped_replica)
{
	struct vdc_params p = { .chunk_size = 64 * KiB, .replicas = 3,
				.repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk c[24];
	struct stop_writer w[6];
	struct vdc_vol v;
	struct vdc_attr a;
	u32 cs = 0, prim_id;
	int i, n = 0, stopped, ret;
	u64 t0, took;

	ck_ok(vdc_vol_create(tool, "stopvol", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 24,
					VDIFS_LAYOUT_ALLOC, c, 24, &cs), 24);
	/* the primary of most of them: 8 at least of 24 on 3 servers */
	prim_id = le32_to_cpu(c[0].ds[0]);
	for (i = 0; i < 24; i++) {
		int k, mine = 0, best = 0;

		for (k = 0; k < 24; k++) {
			mine += c[k].ds[0] == c[i].ds[0];
			best += le32_to_cpu(c[k].ds[0]) == prim_id;
		}
		if (mine > best)
			prim_id = le32_to_cpu(c[i].ds[0]);
	}
	for (i = 0; le32_to_cpu(c[i].ds[0]) != prim_id; i++)
		;
	stopped = ds_index(le32_to_cpu(c[i].ds[1]));
	for (i = 0; i < 24 && n < 6; i++) {
		if (le32_to_cpu(c[i].ds[0]) != prim_id ||
		    !in_set(&c[i], g_ds[stopped].id))
			continue;
		ref_of(&w[n].r, &c[i], cs);
		w[n].r.extent_size = 4 * KiB;
		w[n].prim = &g_ds[ds_index(prim_id)];
		w[n].index = i;
		n++;
	}
	ck_assert_msg(n >= 4, "only %d chunks with primary %u", n, prim_id);

	h_ds_pause(&g_ds[stopped]);
	t0 = now_ms();
	for (i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(&w[i].th, NULL,
						stop_writer_run, &w[i]), 0);
	for (i = 0; i < n; i++)
		pthread_join(w[i].th, NULL);
	took = now_ms() - t0;
	for (i = 0; i < n; i++)
		ck_assert_msg(w[i].ret == -EREMOTEIO,
			      "write %d with a replica stopped: %s", i,
			      h_err(w[i].ret));
	/* one forward timeout (3 s) and slack, not one per writer */
	ck_assert_msg(took < 8000,
		      "%d writers behind a stopped replica took %llu ms", n,
		      (unsigned long long)took);
	h_ds_resume(&g_ds[stopped]);

	/* it missed writes: out of the set, and the writes go through */
	for (i = 0; i < n; i++) {
		struct vdifs_chunk d;
		u8 buf[4096];

		memset(&d, 0, sizeof(d));
		d.chunk_id = cpu_to_le64(w[i].r.chunk_id);
		d.version = cpu_to_le64(w[i].r.epoch);
		d.nrep = w[i].r.nrep;
		for (ret = 0; ret < w[i].r.nrep; ret++)
			d.ds[ret] = cpu_to_le32(w[i].r.ds[ret]);
		ret = degrade_until(cli, v.vol, a.ino, w[i].index, &d, 8000);
		ck_assert_msg(ret == 0, "degrade %d: %s", i, h_err(ret));
		ck_assert(!in_set(&d, g_ds[stopped].id));
		ref_of(&w[i].r, &d, cs);
		w[i].r.extent_size = 4 * KiB;
		memset(buf, i, sizeof(buf));
		ck_ok(vdc_chunk_write(g_c[ds_index(w[i].r.ds[0])], &w[i].r, 0,
				      buf, sizeof(buf), NULL));
	}
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

/* bytes of the chunk files of server d */
static u64 ds_used(const struct h_ds *d)
{
	char path[PATH_MAX + 32];
	struct dirent *de;
	struct stat sb;
	u64 used = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/chunks", d->data);
	dir = opendir(path);
	ck_assert_ptr_nonnull(dir);
	while ((de = readdir(dir))) {
		char f[PATH_MAX + 300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
		if (!stat(f, &sb))
			used += (u64)sb.st_blocks * 512;
	}
	closedir(dir);
	return used;
}

static int do_clone(struct vdc_conn *cli, u32 vol, u64 src, u64 dir,
		    const char *name, struct vdc_attr *out)
{
	struct vdifs_clone_req q = {
		.vol = cpu_to_le32(vol),
		.name_len = cpu_to_le16((u16)strlen(name)),
		.ino = cpu_to_le64(src),
		.parent = cpu_to_le64(dir),
	};
	struct vdc_msg m;
	int ret;

	ret = vdc_call(cli, VDIFS_OP_CLONE, &q, sizeof(q), name, strlen(name),
		       NULL, 0, &m);
	if (ret)
		return ret;
	vdc_attr_from_wire(out, &((const struct vdifs_attr_rep *)
				  m.body.fixed)->attr);
	vdc_msg_free(&m);
	return 0;
}

#define RR_CLONES	6

/*
 * A server holding a base and its clones dies: the MDS takes it out of
 * every set and copies each chunk to the server left over, the clones as
 * clones of a base that crosses once: the new server's disk grows by the
 * base plus the clones' own extents, not a full copy each.  Every clone
 * reads back from its new copy, and a write after goes to it too.
 */
START_TEST(test_rereplicate)
{
	struct vdc_params p = { .chunk_size = MiB, .extent_size = 64 * KiB,
				.replicas = 2, .repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk g, c[RR_CLONES];
	struct vdc_chunk_ref r;
	struct model base, m[RR_CLONES];
	struct vdc_attr a, ca[RR_CLONES];
	struct vdc_vol v;
	struct vdifs_status_rep st = { 0 };
	u32 cs = 0;
	u64 before, grew;
	int i, k, x = -1, t = -1, waited;

	rnd_seed(17);
	ck_ok(vdc_vol_create(tool, "rrvol", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "gold", S_IFREG | 0644, 0, 0,
			 0, true, NULL, &a));
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, &g, 1, &cs), 1);
	ck_assert_uint_eq(g.nrep, 2);
	ref_of(&r, &g, MiB);
	m_init(&base, MiB, 64 * KiB);
	for (i = 0; i < 8; i++)
		do_write(g_c[ds_index(r.ds[0])], &r, &base, i * 128 * KiB,
			 128 * KiB);
	for (i = 0; i < RR_CLONES; i++) {
		char name[8];

		snprintf(name, sizeof(name), "c%d", i);
		ck_ok(do_clone(cli, v.vol, a.ino, v.root_ino, name, &ca[i]));
		ck_assert_int_eq(vdc_layout_get(cli, v.vol, ca[i].ino, 0, 1, 0,
						&c[i], 1, &cs), 1);
		ck_assert_uint_eq(c[i].nrep, 2);
		ref_of(&r, &c[i], MiB);
		m_copy(&m[i], &base);
		do_write(g_c[ds_index(r.ds[0])], &r, &m[i], i * 64 * KiB,
			 64 * KiB);
	}
	/* the primary of the chunks dies; the third server gets them */
	x = ds_index(le32_to_cpu(c[0].ds[0]));
	for (k = 0; k < NDS; k++)
		if (!in_set(&c[0], g_ds[k].id))
			t = k;
	ck_assert_int_ge(t, 0);
	before = ds_used(&g_ds[t]);
	h_ds_kill(&g_ds[x]);
	for (i = 0; i < RR_CLONES; i++) {
		for (waited = 0; waited < 30000; waited += 200) {
			ck_assert_int_eq(vdc_layout_get(cli, v.vol, ca[i].ino,
							0, 1, 0, &c[i], 1,
							&cs), 1);
			if (c[i].nrep == 2 && !in_set(&c[i], g_ds[x].id))
				break;
			usleep(200 * 1000);
		}
		ck_assert_msg(c[i].nrep == 2 && in_set(&c[i], g_ds[t].id),
			      "clone %d: %u copies 30 s after a server died",
			      i, c[i].nrep);
		ref_of(&r, &c[i], MiB);
		ck_chunk(g_c[t], &r, &m[i], "clone copied to a new server");
	}
	grew = ds_used(&g_ds[t]) - before;
	ck_assert_msg(grew <= MiB + RR_CLONES * 64 * KiB + 512 * KiB,
		      "the new server grew by %llu bytes for a 1 MiB base and %d clones of 64 KiB each",
		      (unsigned long long)grew, RR_CLONES);
	/* the MDS counts the copies, and none is left degraded */
	for (waited = 0; waited < 15000; waited += 200) {
		ck_ok(vdc_status(tool, NULL, NULL, &st));
		if (!st.degraded)
			break;
		usleep(200 * 1000);
	}
	ck_assert_msg(!st.degraded, "%llu chunks still degraded",
		      (unsigned long long)le64_to_cpu(st.degraded));
	ck_assert_uint_ge(le64_to_cpu(st.copied), RR_CLONES + 1);
	ck_assert_uint_le(le64_to_cpu(st.copied_bytes),
			  MiB + (RR_CLONES + 1) * 64 * KiB);
	/* writes reach the new copy */
	ref_of(&r, &c[1], MiB);
	do_write(g_c[ds_index(r.ds[0])], &r, &m[1], 300 * KiB, 5000);
	ck_chunk(g_c[t], &r, &m[1], "a write after the copy");
	for (i = 0; i < RR_CLONES; i++)
		m_free(&m[i]);
	m_free(&base);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST


static void setup_catch_up(void)
{
	/* copies of a server out of a set kept for its return */
	struct h_mds_opts mo = { .heartbeat_ms = 200, .lease_ms = 2000,
				 .down_out_s = 300 };

	start_cluster(&mo);
}

/* the layout of (vol, ino) chunk 0, until it has want copies with ds id */
static void wait_set(struct vdc_conn *cli, u32 vol, u64 ino,
		     struct vdifs_chunk *c, unsigned int want, u32 id,
		     int ms)
{
	u32 cs = 0;
	int waited;

	for (waited = 0; waited <= ms; waited += 100) {
		ck_assert_int_eq(vdc_layout_get(cli, vol, ino, 0, 1, 0, c, 1,
						&cs), 1);
		if (c->nrep == want && in_set(c, id))
			return;
		usleep(100 * 1000);
	}
	ck_abort_msg("chunk %016llx: %u copies (want %u with data server %u) after %d ms",
		     (unsigned long long)le64_to_cpu(c->chunk_id), c->nrep,
		     want, id, ms);
}

static u64 copied_bytes(struct vdc_conn *tool)
{
	struct vdifs_status_rep st = { 0 };

	ck_ok(vdc_status(tool, NULL, NULL, &st));
	return le64_to_cpu(st.copied_bytes);
}

/* STATUS's count of chunks waiting for a server's return, once it is n */
static u32 waiting_is(struct vdc_conn *tool, u32 n, int ms)
{
	struct vdifs_status_rep st = { 0 };
	int waited;

	for (waited = 0; waited <= ms; waited += 100) {
		ck_ok(vdc_status(tool, NULL, NULL, &st));
		if (le32_to_cpu(st.waiting) == n)
			break;
		usleep(100 * 1000);
	}
	return le32_to_cpu(st.waiting);
}

/*
 * A replica leaves a 2-copy chunk's set (killed; later stopped) and
 * returns within down_out_s: the MDS waits for it instead of copying the
 * chunk whole to the third server, and its primary catches it up by
 * what changed meanwhile: the extents written (the stamps), the extent
 * punched, and an extent its copy changed behind the set's back (as a
 * primary that failed after forwarding leaves it: the checksums), and
 * nothing else.  It reads back as the model.
 */
START_TEST(test_catch_up)
{
	struct vdc_params p = { .chunk_size = MiB, .extent_size = 64 * KiB,
				.replicas = 2, .repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk c, c1;
	struct vdifs_chunk_stat st;
	struct vdifs_chunk_req q;
	struct vdc_conn *peer = NULL;
	struct vdc_chunk_ref r;
	struct model m;
	struct vdc_attr a;
	struct vdc_vol v;
	u8 junk[64 * KiB];
	u32 cs = 0;
	u64 was, used;
	int a_i, b_i, c_i = -1, k;

	rnd_seed(23);
	one_chunk_file(tool, cli, "cuvol", &p, "f", &v, &a, &c);
	ref_of(&r, &c, MiB);
	a_i = ds_index(r.ds[0]);
	b_i = ds_index(r.ds[1]);
	for (k = 0; k < NDS; k++)
		if (k != a_i && k != b_i)
			c_i = k;
	m_init(&m, MiB, 64 * KiB);
	do_write(g_c[a_i], &r, &m, 0, MiB);
	used = ds_used(&g_ds[c_i]);

	/* the replica dies; two extents written and one punched meanwhile */
	h_ds_kill(&g_ds[b_i]);
	c1 = c;
	ck_ok(degrade_until(cli, v.vol, a.ino, 0, &c1, 8000));
	ck_assert_uint_eq(c1.nrep, 1);
	ref_of(&r, &c1, MiB);
	do_write(g_c[a_i], &r, &m, 2 * 64 * KiB, 64 * KiB);
	do_write(g_c[a_i], &r, &m, 8 * 64 * KiB + 1000, 5000);
	do_punch(g_c[a_i], &r, &m, 10 * 64 * KiB, 64 * KiB, false);
	/* it is waited for: nothing goes to the third server */
	sleep(3);
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 1, 0, &c1, 1,
					&cs), 1);
	ck_assert_msg(c1.nrep == 1, "a chunk copied elsewhere (%u copies) while its server may return",
		      c1.nrep);
	ck_assert_uint_eq(copied_bytes(tool), 0);
	ck_assert_msg(waiting_is(tool, 1, 5000) == 1,
		      "STATUS says %u chunks wait for a server's return, not 1",
		      waiting_is(tool, 1, 0));

	restart(b_i, 0, NULL);
	wait_set(cli, v.vol, a.ino, &c1, 2, g_ds[b_i].id, 20000);
	ref_of(&r, &c1, MiB);
	ck_chunk(g_c[b_i], &r, &m, "a replica caught up");
	ck_assert_msg(copied_bytes(tool) == 2 * 64 * KiB,
		      "catching up 2 written extents (and a punched one) sent %llu bytes",
		      (unsigned long long)copied_bytes(tool));
	ck_assert_msg(ds_used(&g_ds[c_i]) == used,
		      "the third server got data");
	ck_assert_uint_eq(waiting_is(tool, 0, 10000), 0);

	/*
	 * Stopped this time: out of the set, one extent written; while the
	 * MDS does not look, its copy of another extent changes behind the
	 * set's back (a RESYNC transfer: the copy is STALE until whole).
	 */
	was = copied_bytes(tool);
	ck_assert_int_eq(kill(g_ds[b_i].pid, SIGSTOP), 0);
	ck_ok(degrade_until(cli, v.vol, a.ino, 0, &c1, 8000));
	ck_assert_uint_eq(c1.nrep, 1);
	ref_of(&r, &c1, MiB);
	do_write(g_c[a_i], &r, &m, 3 * 64 * KiB, 64 * KiB);
	ck_assert_int_eq(kill(g_mds.pid, SIGSTOP), 0);
	ck_assert_int_eq(kill(g_ds[b_i].pid, SIGCONT), 0);
	ck_ok(h_ds_connect_role(&g_ds[b_i], VDIFS_ROLE_DS, 10000, &peer));
	memset(junk, 0x5a, sizeof(junk));
	ref_of(&r, &c, MiB);
	vdc_chunk_req_init(&q, &r);
	q.flags = cpu_to_le32(VDIFS_CHUNK_FWD | VDIFS_CHUNK_RESYNC);
	q.version = cpu_to_le64(1);
	q.offset = cpu_to_le32(5 * 64 * KiB);
	q.len = cpu_to_le32(sizeof(junk));
	ck_ok(vdc_call(peer, VDIFS_OP_CHUNK_WRITE, &q, sizeof(q), NULL, 0,
		       junk, sizeof(junk), NULL));
	vdc_close(peer);
	st = stat_of(g_c[b_i], r.chunk_id);
	ck_assert_msg(le32_to_cpu(st.flags) & VDIFS_CHUNK_STALE,
		      "a copy in the middle of a RESYNC is not STALE");
	ck_assert_int_eq(kill(g_mds.pid, SIGCONT), 0);
	wait_set(cli, v.vol, a.ino, &c1, 2, g_ds[b_i].id, 20000);
	ref_of(&r, &c1, MiB);
	ck_chunk(g_c[b_i], &r, &m, "a copy changed behind the set, caught up");
	st = stat_of(g_c[b_i], r.chunk_id);
	ck_assert(!(le32_to_cpu(st.flags) & VDIFS_CHUNK_STALE));
	ck_assert_msg(copied_bytes(tool) - was == 2 * 64 * KiB,
		      "catching up a written extent and a changed one sent %llu bytes",
		      (unsigned long long)(copied_bytes(tool) - was));
	ck_assert_msg(ds_used(&g_ds[c_i]) == used,
		      "the third server got data");
	m_free(&m);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

/* until server i serves a read of r (a read lease), at most ms */
static void wait_readable(int i, const struct vdc_chunk_ref *r, int ms)
{
	u8 buf[4096];
	int waited, ret = 0;

	for (waited = 0; waited <= ms; waited += 100) {
		ret = vdc_chunk_read(g_c[i], r, 0, buf, sizeof(buf), NULL);
		if (ret >= 0)
			return;
		h_sleep_ms(100);
	}
	ck_abort_msg("data server %d serves no read after %d ms: %s", i, ms,
		     h_err(ret));
}

/*
 * A clone copied to a server whose copy of its base missed writes (the
 * server was out of the base's set, its copy kept to be caught up): the
 * base there is caught up first, or the clone would inherit its stale
 * extents.  The MDS is stopped so that nothing else catches the base up
 * first; the copy is asked of the clone's primary directly (CHUNK_SYNC).
 */
START_TEST(test_clone_onto_stale_base)
{
	struct vdc_params p = { .chunk_size = MiB, .extent_size = 64 * KiB,
				.replicas = 2, .repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdc_conn *peer = NULL;
	struct vdifs_chunk g, g1, c;
	struct vdifs_chunk_req q;
	struct vdc_chunk_ref r;
	struct model m;
	struct vdc_attr a, ca;
	struct vdc_vol v;
	u32 cs = 0;
	int a_i, b_i;

	rnd_seed(31);
	one_chunk_file(tool, cli, "sbvol", &p, "gold", &v, &a, &g);
	ref_of(&r, &g, MiB);
	a_i = ds_index(r.ds[0]);
	b_i = ds_index(r.ds[1]);
	m_init(&m, MiB, 64 * KiB);
	do_write(g_c[a_i], &r, &m, 0, MiB);

	/* the base's replica stops and leaves its set; the base changes */
	ck_assert_int_eq(kill(g_ds[b_i].pid, SIGSTOP), 0);
	g1 = g;
	ck_ok(degrade_until(cli, v.vol, a.ino, 0, &g1, 8000));
	ck_assert_uint_eq(g1.nrep, 1);
	ref_of(&r, &g1, MiB);
	do_write(g_c[a_i], &r, &m, 4 * 64 * KiB, 64 * KiB);
	/* a clone of it, on the primary alone */
	ck_ok(do_clone(cli, v.vol, a.ino, v.root_ino, "c", &ca));
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, ca.ino, 0, 1, 0, &c, 1,
					&cs), 1);
	ck_assert_uint_eq(c.nrep, 1);
	ck_assert_uint_eq(le32_to_cpu(c.ds[0]), g_ds[a_i].id);

	/* the replica is back; the clone is copied to it */
	ck_assert_int_eq(kill(g_mds.pid, SIGSTOP), 0);
	ck_assert_int_eq(kill(g_ds[b_i].pid, SIGCONT), 0);
	c.ds[1] = cpu_to_le32(g_ds[b_i].id);
	c.nrep = 2;
	c.version = cpu_to_le64(le64_to_cpu(c.version) + 1);
	ref_of(&r, &c, MiB);
	vdc_chunk_req_init(&q, &r);
	ck_ok(h_ds_connect_role(&g_ds[a_i], VDIFS_ROLE_DS, 10000, &peer));
	ck_ok(vdc_call(peer, VDIFS_OP_CHUNK_SYNC, &q, sizeof(q), NULL, 0,
		       NULL, 0, NULL));
	vdc_close(peer);
	/*
	 * The replica serves reads once the MDS answers it again (its read
	 * lease ran out while it was stopped, and it cannot ask the primary,
	 * whose address it has from the MDS)
	 */
	ck_assert_int_eq(kill(g_mds.pid, SIGCONT), 0);
	wait_readable(b_i, &r, 10000);
	ck_chunk(g_c[b_i], &r, &m, "a clone copied onto a base that was behind");
	m_free(&m);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

/*
 * A data server that restarts while the MDS is down serves what it has
 * to clients that hold layouts (it registers when the MDS answers).
 */
START_TEST(test_serve_without_mds)
{
	struct vdc_params p = { .chunk_size = MiB, .replicas = 1 };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk c;
	struct vdc_chunk_ref r;
	struct vdc_attr a;
	struct vdc_vol v;
	struct model m;
	u32 cs = 0;
	int i, ret;

	rnd_seed(23);
	ck_ok(vdc_vol_create(tool, "nomds", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, &c, 1, &cs), 1);
	ref_of(&r, &c, MiB);
	i = ds_index(r.ds[0]);
	m_init(&m, MiB, 64 * KiB);
	do_write(g_c[i], &r, &m, 1000, 200 * KiB);
	vdc_close(cli);
	vdc_close(tool);

	h_mds_stop(&g_mds, SIGKILL);
	h_ds_stop(&g_ds[i], SIGKILL);
	ret = h_ds_launch(&g_ds[i], NULL);
	ck_assert_msg(ret == 0, "data server restart with the MDS down: %s",
		      h_err(ret));
	reconnect(i);
	ck_chunk(g_c[i], &r, &m, "served with the MDS down");
	do_write(g_c[i], &r, &m, 300 * KiB, 5000);
	ck_chunk(g_c[i], &r, &m, "written with the MDS down");
	m_free(&m);
}
END_TEST


/* as a server would (the MDS telling a set's epoch): chunk id's is epoch */
static void tell_epoch(int i, u64 id, u64 epoch)
{
	struct vdifs_chunk_req q = {
		.chunk_id = cpu_to_le64(id),
		.epoch = cpu_to_le64(epoch),
		.flags = cpu_to_le32(VDIFS_CHUNK_EPOCH),
	};
	struct vdc_conn *srv;

	ck_ok(h_ds_connect_role(&g_ds[i], VDIFS_ROLE_DS, 10000, &srv));
	ck_ok(vdc_call(srv, VDIFS_OP_CHUNK_STAT, &q, sizeof(q), NULL, 0, NULL,
		       0, NULL));
	vdc_close(srv);
}

/*
 * Read leases.  With the MDS unheard past its lease (stopped here; cut
 * off from it alone looks the same to a data server), a primary serves
 * the reads of a chunk of two copies only while its replica confirms
 * the client's epoch: once the replica has a newer one (a set that left
 * the primary behind, as the MDS tells the servers that stay), a read
 * with the old layout is refused (-ESTALE: the client asks the MDS), not
 * answered from a copy the new set's writes no longer reach.  A chunk
 * of one copy is served all along; once the MDS answers again, so is
 * the other.
 */
START_TEST(test_read_lease)
{
	struct vdc_params p2 = { .chunk_size = MiB, .replicas = 2,
				 .repl_mode = VDIFS_REPL_SYNC };
	struct vdc_params p1 = { .chunk_size = MiB, .replicas = 1 };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk c2, c1;
	struct vdc_chunk_ref r2, r1;
	struct vdc_attr a, b;
	struct vdc_vol v2, v1;
	struct model m2, m1;
	u8 buf[4096];
	u32 cs = 0;
	int p, q, o, ret;

	rnd_seed(37);
	ck_ok(vdc_vol_create(tool, "lease2", &p2, &v2));
	ck_ok(vdc_vol_create(tool, "lease1", &p1, &v1));
	ck_ok(vdc_create(cli, v2.vol, v2.root_ino, "f", S_IFREG | 0644, 0, 0,
			 0, true, NULL, &a));
	ck_ok(vdc_create(cli, v1.vol, v1.root_ino, "f", S_IFREG | 0644, 0, 0,
			 0, true, NULL, &b));
	ck_assert_int_eq(vdc_layout_get(cli, v2.vol, a.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, &c2, 1, &cs), 1);
	ck_assert_int_eq(vdc_layout_get(cli, v1.vol, b.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, &c1, 1, &cs), 1);
	ck_assert_uint_eq(c2.nrep, 2);
	ref_of(&r2, &c2, MiB);
	ref_of(&r1, &c1, MiB);
	p = ds_index(r2.ds[0]);
	q = ds_index(r2.ds[1]);
	o = ds_index(r1.ds[0]);
	m_init(&m2, MiB, 64 * KiB);
	m_init(&m1, MiB, 64 * KiB);
	do_write(g_c[p], &r2, &m2, 0, 128 * KiB);
	do_write(g_c[o], &r1, &m1, 0, 128 * KiB);

	ck_assert_int_eq(kill(g_mds.pid, SIGSTOP), 0);
	h_sleep_ms(2500);	/* past the lease (2 s) */
	ck_chunk(g_c[p], &r2, &m2, "its replica confirms the epoch");
	ck_chunk(g_c[o], &r1, &m1, "a chunk of one copy");
	tell_epoch(q, r2.chunk_id, r2.epoch + 1);
	ret = vdc_chunk_read(g_c[p], &r2, 0, buf, sizeof(buf), NULL);
	ck_assert_msg(ret == -ESTALE,
		      "a read past the lease of a set its replica has left: %s",
		      h_err(ret));
	ck_chunk(g_c[o], &r1, &m1, "a chunk of one copy, still");

	ck_assert_int_eq(kill(g_mds.pid, SIGCONT), 0);
	wait_readable(p, &r2, 5000);
	m_free(&m2);
	m_free(&m1);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

static int admin_of_cb(const struct vdifs_ds_status *d, void *arg)
{
	u32 *want = arg;

	if (le32_to_cpu(d->ds_id) == want[0])
		want[1] = d->admin;
	return 0;
}

/*
 * A data server taken out of service: no new chunk goes to it, each of
 * its chunks is copied to another server and only then leaves it, the
 * data reads back, and its copies go; back in service, it is used again.
 */
START_TEST(test_drain)
{
	struct vdc_params p = { .chunk_size = MiB, .replicas = 2,
				.repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdc_status_cbs cbs = { .ds = admin_of_cb };
	struct vdifs_ds_admin_req q = { 0 };
	struct vdifs_chunk c[6], n[8];
	struct vdc_chunk_ref r;
	struct model m[6];
	struct vdc_attr a, b;
	struct vdc_vol v;
	u32 cs = 0, x, st[2];
	bool had[6];
	int i, waited, left;

	rnd_seed(29);
	ck_ok(vdc_vol_create(tool, "drain", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, i, 1,
						VDIFS_LAYOUT_ALLOC, &c[i], 1,
						&cs), 1);
		ref_of(&r, &c[i], MiB);
		m_init(&m[i], MiB, 64 * KiB);
		do_write(g_c[ds_index(r.ds[0])], &r, &m[i], 4096, 300 * KiB);
	}
	x = le32_to_cpu(c[0].ds[0]);
	for (i = 0; i < 6; i++)
		had[i] = in_set(&c[i], x);

	q.ds_id = cpu_to_le32(x);
	q.admin = cpu_to_le32(VDIFS_DS_OUT);
	ck_ok(vdc_call(tool, VDIFS_OP_DS_ADMIN, &q, sizeof(q), NULL, 0, NULL,
		       0, NULL));
	st[0] = x;
	st[1] = 99;
	ck_assert_int_ge(vdc_status(tool, &cbs, st, NULL), 0);
	ck_assert_uint_eq(st[1], VDIFS_DS_OUT);
	/* nothing new on it */
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "g", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &b));
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, b.ino, 0, 8,
					VDIFS_LAYOUT_ALLOC, n, 8, &cs), 8);
	for (i = 0; i < 8; i++)
		ck_assert_msg(!in_set(&n[i], x), "a new chunk on a server out of service");
	/* its chunks move off it, copied first */
	for (waited = 0; waited < 30000; waited += 200) {
		ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 6, 0, c,
						6, &cs), 6);
		for (i = 0, left = 0; i < 6; i++)
			left += in_set(&c[i], x) || c[i].nrep != 2;
		if (!left)
			break;
		usleep(200 * 1000);
	}
	ck_assert_msg(!left, "%d chunks still on data server %u or short of copies 30 s after it went out of service",
		      left, x);
	for (i = 0; i < 6; i++) {
		ref_of(&r, &c[i], MiB);
		ck_chunk(g_c[ds_index(r.ds[0])], &r, &m[i], "moved off a server");
		ck_chunk(g_c[ds_index(r.ds[1])], &r, &m[i], "moved off a server");
		if (had[i])
			ck_assert_msg(chunk_gone_within(ds_index(x),
							le64_to_cpu(c[i].chunk_id),
							15000),
				      "the copy on the server out of service stays");
		m_free(&m[i]);
	}
	q.admin = cpu_to_le32(VDIFS_DS_IN);
	ck_ok(vdc_call(tool, VDIFS_OP_DS_ADMIN, &q, sizeof(q), NULL, 0, NULL,
		       0, NULL));
	ck_assert_int_ge(vdc_status(tool, &cbs, st, NULL), 0);
	ck_assert_uint_eq(st[1], VDIFS_DS_IN);
	q.ds_id = cpu_to_le32(999999);
	ck_ret(vdc_call(tool, VDIFS_OP_DS_ADMIN, &q, sizeof(q), NULL, 0, NULL,
			0, NULL), -ENOENT);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST


static void setup_rebalance(void)
{
	struct h_mds_opts mo = { .heartbeat_ms = 200, .lease_ms = 2000,
				 .rebalance_margin = 5 };
	struct h_ds_opts dso = { .capacity = "48M" };

	start_cluster_opts(&mo, &dso);
}

struct use_of {
	u32 id[NDS];
	u64 used[NDS], cap[NDS];
};

static int use_of_cb(const struct vdifs_ds_status *d, void *arg)
{
	struct use_of *u = arg;
	int i;

	for (i = 0; i < NDS; i++)
		if (u->id[i] == le32_to_cpu(d->ds_id)) {
			u->used[i] = le64_to_cpu(d->used);
			u->cap[i] = le64_to_cpu(d->capacity);
		}
	return 0;
}

/* the spread of the servers' use (used / capacity), in millionths */
static u64 use_spread(struct vdc_conn *tool)
{
	struct vdc_status_cbs cbs = { .ds = use_of_cb };
	struct use_of u;
	u64 f, lo = ~0ull, hi = 0;
	int i;

	memset(&u, 0, sizeof(u));
	for (i = 0; i < NDS; i++)
		u.id[i] = g_ds[i].id;
	ck_assert_int_ge(vdc_status(tool, &cbs, &u, NULL), 0);
	for (i = 0; i < NDS; i++) {
		ck_assert_uint_gt(u.cap[i], 0);
		f = u.used[i] * 1000000 / u.cap[i];
		lo = f < lo ? f : lo;
		hi = f > hi ? f : hi;
	}
	return hi - lo;
}

#define RB_CHUNKS	8
#define RB_CLONES	2

/*
 * A data server put in service empty, as a new one is, gets chunks moved
 * to it from the others until every server's use is within the margin
 * (5 points) of the rest: a base's chunk moves with its clones' chunks of
 * the same index (the bytes sent for a clone are its own blocks, not the
 * rest of the extents they are in, and its old server frees the base),
 * every chunk keeps its copy and reads back from where it went, and the
 * copies moved off are freed.
 */
START_TEST(test_rebalance)
{
	struct vdc_params p = { .chunk_size = MiB, .extent_size = 64 * KiB,
				.replicas = 1, .repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk was[1 + RB_CLONES][RB_CHUNKS];
	struct vdifs_chunk now[1 + RB_CLONES][RB_CHUNKS];
	struct model m[1 + RB_CLONES][RB_CHUNKS];
	struct vdifs_ds_admin_req q = { 0 };
	struct vdc_attr a[1 + RB_CLONES];
	struct vdc_chunk_ref r;
	struct vdc_vol v;
	u64 copied, spread = 0, bound = 0, bound_x = 0, moved_to = 0;
	u32 cs = 0, x = g_ds[2].id;
	int f, i, waited, bases = 0, clones = 0;

	rnd_seed(31);
	q.ds_id = cpu_to_le32(x);
	q.admin = cpu_to_le32(VDIFS_DS_OUT);
	ck_ok(vdc_call(tool, VDIFS_OP_DS_ADMIN, &q, sizeof(q), NULL, 0, NULL,
		       0, NULL));
	ck_ok(vdc_vol_create(tool, "rb", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "gold", S_IFREG | 0644, 0, 0,
			 0, true, NULL, &a[0]));
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a[0].ino, 0, RB_CHUNKS,
					VDIFS_LAYOUT_ALLOC, was[0], RB_CHUNKS,
					&cs), RB_CHUNKS);
	for (i = 0; i < RB_CHUNKS; i++) {
		ck_assert(!in_set(&was[0][i], x));
		ref_of(&r, &was[0][i], MiB);
		m_init(&m[0][i], MiB, 64 * KiB);
		do_write(g_c[ds_index(r.ds[0])], &r, &m[0][i], 0, MiB / 2);
		do_write(g_c[ds_index(r.ds[0])], &r, &m[0][i], MiB / 2,
			 MiB / 2);
	}
	for (f = 1; f <= RB_CLONES; f++) {
		char name[8];

		snprintf(name, sizeof(name), "c%d", f);
		ck_ok(do_clone(cli, v.vol, a[0].ino, v.root_ino, name, &a[f]));
		ck_assert_int_eq(vdc_layout_get(cli, v.vol, a[f].ino, 0,
						RB_CHUNKS, 0, was[f],
						RB_CHUNKS, &cs), RB_CHUNKS);
		for (i = 0; i < RB_CHUNKS; i++) {
			ref_of(&r, &was[f][i], MiB);
			m_copy(&m[f][i], &m[0][i]);
			do_write(g_c[ds_index(r.ds[0])], &r, &m[f][i],
				 (u32)f * 128 * KiB + 8 * KiB, 4 * KiB);
		}
	}
	copied = copied_bytes(tool);
	/* uneven now: 9 MiB on two servers of 48 MiB, none on the third */
	h_sleep_ms(600);
	ck_assert_uint_gt(use_spread(tool), 50000);

	q.admin = cpu_to_le32(VDIFS_DS_IN);
	ck_ok(vdc_call(tool, VDIFS_OP_DS_ADMIN, &q, sizeof(q), NULL, 0, NULL,
		       0, NULL));
	for (waited = 0; waited < 60000; waited += 250) {
		spread = use_spread(tool);
		if (spread <= 50000)
			break;
		h_sleep_ms(250);
	}
	ck_assert_msg(spread <= 50000,
		      "the servers' use is %llu millionths apart after 60 s",
		      (unsigned long long)spread);
	for (f = 0; f <= RB_CLONES; f++) {
		ck_assert_int_eq(vdc_layout_get(cli, v.vol, a[f].ino, 0,
						RB_CHUNKS, 0, now[f],
						RB_CHUNKS, &cs), RB_CHUNKS);
		for (i = 0; i < RB_CHUNKS; i++) {
			ck_assert_uint_eq(now[f][i].nrep, 1);
			ref_of(&r, &now[f][i], MiB);
			ck_chunk(g_c[ds_index(r.ds[0])], &r, &m[f][i],
				 "a chunk after rebalancing");
			/* a base and its clones stay together */
			ck_assert_uint_eq(le32_to_cpu(now[f][i].ds[0]),
					  le32_to_cpu(now[0][i].ds[0]));
			if (now[f][i].ds[0] == was[f][i].ds[0])
				continue;
			if (f)
				clones++;
			else
				bases++;
			if (in_set(&now[f][i], x))
				bound_x += f ? 16 * KiB : MiB;
			ck_assert_msg(chunk_gone_within(ds_index(le32_to_cpu(was[f][i].ds[0])),
							le64_to_cpu(was[f][i].chunk_id),
							15000),
				      "a copy moved off stays on its old server");
		}
	}
	ck_assert_int_gt(bases, 0);
	ck_assert_int_eq(clones, bases * RB_CLONES);
	/*
	 * A base once, each clone its own 4 KiB: not the rest of the 64 KiB
	 * extent, which it still shares with the base (nor its map)
	 */
	bound = (u64)bases * MiB + (u64)clones * 16 * KiB;
	copied = copied_bytes(tool) - copied;
	ck_assert_msg(copied <= bound,
		      "%llu bytes sent to move %d bases and %d clones",
		      (unsigned long long)copied, bases, clones);
	moved_to = ds_used(&g_ds[2]);
	ck_assert_uint_gt(bound_x, 0);
	ck_assert_msg(moved_to <= bound_x + 256 * KiB,
		      "the new server holds %llu bytes for at most %llu moved there",
		      (unsigned long long)moved_to,
		      (unsigned long long)bound_x);
	for (f = 0; f <= RB_CLONES; f++)
		for (i = 0; i < RB_CHUNKS; i++)
			m_free(&m[f][i]);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST


/*
 * A move stopped between its two commits (the MDS dies once the set has
 * the new server and before it drops the old one) leaves a chunk with a
 * copy more than its file wants.  The MDS back mends it: every set goes
 * back to one copy, the data reads back from it, and no other server
 * keeps a copy.
 */
START_TEST(test_rebalance_cut)
{
	struct vdc_params p = { .chunk_size = MiB, .extent_size = 64 * KiB,
				.replicas = 1, .repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk was[RB_CHUNKS], now[RB_CHUNKS];
	struct model m[RB_CHUNKS];
	struct vdifs_ds_admin_req q = { 0 };
	struct vdc_chunk_ref r;
	struct vdc_attr a;
	struct vdc_vol v;
	u32 cs = 0, x = g_ds[2].id;
	int i, k, waited, status, wide = 0;

	rnd_seed(37);
	q.ds_id = cpu_to_le32(x);
	q.admin = cpu_to_le32(VDIFS_DS_OUT);
	ck_ok(vdc_call(tool, VDIFS_OP_DS_ADMIN, &q, sizeof(q), NULL, 0, NULL,
		       0, NULL));
	ck_ok(vdc_vol_create(tool, "rbcut", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, RB_CHUNKS,
					VDIFS_LAYOUT_ALLOC, was, RB_CHUNKS,
					&cs), RB_CHUNKS);
	for (i = 0; i < RB_CHUNKS; i++) {
		ref_of(&r, &was[i], MiB);
		m_init(&m[i], MiB, 64 * KiB);
		do_write(g_c[ds_index(r.ds[0])], &r, &m[i], 0, MiB);
	}
	vdc_close(cli);
	vdc_close(tool);
	h_sleep_ms(600);	/* the servers' use heard */
	setenv("VDIFS_MDS_CRASH_AT", "move_widened:1", 1);
	status = h_mds_restart(&g_mds, SIGTERM);
	unsetenv("VDIFS_MDS_CRASH_AT");
	ck_ok(status);
	tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	q.admin = cpu_to_le32(VDIFS_DS_IN);
	ck_ok(vdc_call(tool, VDIFS_OP_DS_ADMIN, &q, sizeof(q), NULL, 0, NULL,
		       0, NULL));
	vdc_close(tool);
	ck_assert_msg(h_wait_pid(g_mds.pid, 60000, &status),
		      "the MDS did not reach its crash point in a move");
	ck_ok(h_mds_restart(&g_mds, 0));
	cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	/* the chunk it widened may be mended before we look: all of them */
	for (waited = 0; waited < 30000; waited += 250) {
		ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, RB_CHUNKS,
						0, now, RB_CHUNKS, &cs),
				 RB_CHUNKS);
		for (i = 0, wide = 0; i < RB_CHUNKS; i++)
			wide += now[i].nrep != 1;
		if (!wide)
			break;
		h_sleep_ms(250);
	}
	ck_assert_msg(!wide,
		      "%d chunks keep 2 copies 30 s after the MDS came back; their file wants 1",
		      wide);
	for (i = 0; i < RB_CHUNKS; i++) {
		ref_of(&r, &now[i], MiB);
		ck_chunk(g_c[ds_index(r.ds[0])], &r, &m[i],
			 "a chunk left with one copy");
		for (k = 0; k < NDS; k++)
			if (g_ds[k].id != r.ds[0])
				ck_assert_msg(chunk_gone_within(k, r.chunk_id,
								15000),
					      "chunk %016llx: a copy dropped stays on data server %u",
					      (unsigned long long)r.chunk_id,
					      g_ds[k].id);
	}
	for (i = 0; i < RB_CHUNKS; i++)
		m_free(&m[i]);
	vdc_close(cli);
}
END_TEST


static int raw_snapshot(const struct h_mds *m, u32 vol, u64 ino,
			const char *name, int timeout_ms)
{
	struct vdifs_snap_req q = {
		.vol = cpu_to_le32(vol),
		.name_len = cpu_to_le16((u16)strlen(name)),
		.ino = cpu_to_le64(ino),
	};
	struct wire_hdr h;
	u8 *body = NULL;
	int fd, ret;

	fd = h_raw_connect(m->port);
	ck_assert_int_ge(fd, 0);
	ck_ok(h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1));
	ck_ok(h_raw_send(fd, VDIFS_OP_SNAP_CREATE, 2, &q, sizeof(q), name,
			 (u32)strlen(name), NULL, 0));
	ret = h_raw_recv(fd, &h, &body, timeout_ms);
	free(body);
	close(fd);
	return ret ? ret : h.status;
}

#define SB_CHUNKS	24

/*
 * A snapshot of a file of many chunks on 3 sync copies: each primary gets
 * its clones in one CHUNK_CLONE_MANY and sends each replica its share in
 * one.  Every copy of every chunk, the file's new ones (clones) and the
 * snapshot's (the old ones, now frozen), reads back the file's data; the
 * file then takes writes that the snapshot does not see.  A 1-copy file
 * (nothing to forward) the same.
 */
START_TEST(test_snapshot_batch)
{
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_chunk was[SB_CHUNKS], now[SB_CHUNKS];
	struct model m[SB_CHUNKS], old;
	struct vdc_chunk_ref r;
	struct vdc_attr a;
	struct vdc_vol v;
	u32 cs = 0;
	int i, k, rep;

	rnd_seed(41);
	for (rep = 3; rep >= 1; rep -= 2) {
		struct vdc_params p = { .chunk_size = MiB,
					.extent_size = 64 * KiB,
					.replicas = (u8)rep,
					.repl_mode = VDIFS_REPL_SYNC };
		char name[16];

		snprintf(name, sizeof(name), "sb%d", rep);
		ck_ok(vdc_vol_create(tool, name, &p, &v));
		ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644,
				 0, 0, 0, true, NULL, &a));
		ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, SB_CHUNKS,
						VDIFS_LAYOUT_ALLOC, was,
						SB_CHUNKS, &cs), SB_CHUNKS);
		for (i = 0; i < SB_CHUNKS; i++) {
			ck_assert_uint_eq(was[i].nrep, rep);
			ref_of(&r, &was[i], MiB);
			m_init(&m[i], MiB, 64 * KiB);
			do_write(g_c[ds_index(r.ds[0])], &r, &m[i],
				 (u32)i * 4 * KiB, 8 * KiB);
		}
		ck_assert_int_eq(raw_snapshot(&g_mds, v.vol, a.ino, "s", 20000),
				 0);
		ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, SB_CHUNKS,
						0, now, SB_CHUNKS, &cs),
				 SB_CHUNKS);
		for (i = 0; i < SB_CHUNKS; i++) {
			ck_assert_uint_ne(le64_to_cpu(now[i].chunk_id),
					  le64_to_cpu(was[i].chunk_id));
			ck_assert_uint_eq(now[i].nrep, rep);
			for (k = 0; k < rep; k++) {
				struct vdc_conn *c =
					g_c[ds_index(le32_to_cpu(now[i].ds[k]))];

				ref_of(&r, &now[i], MiB);
				ck_chunk(c, &r, &m[i], "a clone's copy after a snapshot");
				ref_of(&r, &was[i], MiB);
				ck_chunk(g_c[ds_index(le32_to_cpu(was[i].ds[k]))],
					 &r, &m[i], "the snapshot's copy");
			}
			/* the file goes on; the snapshot's chunk stays */
			m_copy(&old, &m[i]);
			ref_of(&r, &now[i], MiB);
			do_write(g_c[ds_index(r.ds[0])], &r, &m[i], 0, 4 * KiB);
			for (k = 0; k < rep; k++) {
				ref_of(&r, &now[i], MiB);
				ck_chunk(g_c[ds_index(r.ds[k])], &r, &m[i],
					 "a clone's copy written after the snapshot");
				ref_of(&r, &was[i], MiB);
				ck_chunk(g_c[ds_index(r.ds[k])], &r, &old,
					 "the snapshot's copy after the file was written");
			}
			m_free(&old);
			m_free(&m[i]);
		}
	}
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

/*
 * A snapshot's clones are made on the data servers before, not inside,
 * the MDS's transaction (intent.c): with a data server stalled under a
 * snapshot, other metadata mutations go on; and an MDS that dies after
 * the clones were made and before its commit leaves no orphan behind
 * once it is back (the reconciler), the file still writable.
 */
START_TEST(test_intents)
{
	struct vdc_params p = { .chunk_size = MiB, .replicas = 1 };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	int i, x, ret;
	u64 top;
	struct vdifs_chunk c[4];
	struct vdc_chunk_ref r;
	struct vdc_attr a, o;
	struct vdc_vol v;
	struct model m;
	u32 cs = 0;
	long long t0;
	char name[16];

	rnd_seed(31);
	ck_ok(vdc_vol_create(tool, "intent", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 4,
					VDIFS_LAYOUT_ALLOC, c, 4, &cs), 4);
	for (i = 0; i < 4; i++) {
		ref_of(&r, &c[i], MiB);
		m_init(&m, MiB, 64 * KiB);
		do_write(g_c[ds_index(r.ds[0])], &r, &m, 0, 4096);
		m_free(&m);
	}

	/* a data server stalls under a snapshot: creates still go on */
	x = ds_index(le32_to_cpu(c[0].ds[0]));
	h_ds_pause(&g_ds[x]);
	{
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (!pid)
			_exit(raw_snapshot(&g_mds, v.vol, a.ino, "s1", 60000) ?
			      1 : 0);
		usleep(500 * 1000);
		t0 = h_now_ms();
		for (i = 0; i < 5; i++) {
			snprintf(name, sizeof(name), "meanwhile%d", i);
			ck_ok(vdc_create(cli, v.vol, v.root_ino, name,
					 S_IFREG | 0644, 0, 0, 0, true, NULL,
					 &o));
		}
		ck_assert_msg(h_now_ms() - t0 < 3000,
			      "5 creates took %lld ms with a snapshot waiting on a stalled data server",
			      h_now_ms() - t0);
		h_ds_resume(&g_ds[x]);
		ck_assert(h_wait_pid(pid, 60000, &ret));
		ck_assert_msg(WIFEXITED(ret) && !WEXITSTATUS(ret),
			      "the snapshot failed once the server was back");
	}

	/*
	 * The MDS dies with the clones made and nothing committed.  Ids
	 * come from one counter and nothing else takes any meanwhile: the
	 * clones are the 4 ids after the file's newest chunk (and the skip
	 * a start makes).
	 */
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 4, 0, c, 4, &cs),
			 4);
	for (i = 0, top = 0; i < 4; i++)
		if (le64_to_cpu(c[i].chunk_id) > top)
			top = le64_to_cpu(c[i].chunk_id);
	vdc_close(cli);
	vdc_close(tool);
	setenv("VDIFS_MDS_CRASH_AT", "after_prepare:1", 1);
	ret = h_mds_restart(&g_mds, SIGTERM);
	unsetenv("VDIFS_MDS_CRASH_AT");
	ck_ok(ret);
	/* a started MDS skips 2^20 ids (db.c: mds_chunk_id_init) */
	top += 1 << 20;
	ret = raw_snapshot(&g_mds, v.vol, a.ino, "s2", 20000);
	ck_assert_msg(ret != 0, "a snapshot went through an MDS set to die");
	for (i = 0; i < 4; i++)
		ck_assert_msg(!chunk_gone_within(ds_index(le32_to_cpu(c[i].ds[0])),
						 top + 1 + i, 0),
			      "no clone %llu made before the MDS died",
			      (unsigned long long)(top + 1 + i));
	ck_ok(h_mds_restart(&g_mds, 0));
	/* back: the reconciler hands the clones to the collector */
	for (i = 0; i < 4; i++)
		ck_assert_msg(chunk_gone_within(ds_index(le32_to_cpu(c[i].ds[0])),
						top + 1 + i, 30000),
			      "clone %llu of a snapshot the MDS died in is still there",
			      (unsigned long long)(top + 1 + i));
	/* the file goes on: written (its frozen chunks are forked) and snapshotted */
	cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	ck_assert_int_eq(raw_snapshot(&g_mds, v.vol, a.ino, "s3", 20000), 0);
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 4, 0, c, 4, &cs),
			 4);
	ref_of(&r, &c[1], MiB);
	m_init(&m, MiB, 64 * KiB);
	do_write(g_c[ds_index(r.ds[0])], &r, &m, 8192, 4096);
	m_free(&m);
	vdc_close(cli);
}
END_TEST


/*
 * A scrub reads every copy: one with a damaged block leaves the set, the
 * chunk is copied again from the good one, and the bad copy goes; a
 * second pass (vdifs-tool scrub --wait) finds nothing bad.
 */
START_TEST(test_scrub)
{
	struct vdc_params p = { .chunk_size = MiB, .extent_size = 64 * KiB,
				.replicas = 2, .repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_scrub_req sq = { 0 };
	struct vdifs_status_rep st = { 0 };
	struct vdifs_chunk c;
	struct vdc_chunk_ref r;
	struct vdc_attr a;
	struct vdc_vol v;
	struct model m;
	char path[PATH_MAX + 64], bin[PATH_MAX + 64];
	u32 cs = 0;
	int bad, fd, waited;
	u8 b;

	rnd_seed(37);
	ck_ok(vdc_vol_create(tool, "scrub", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, &c, 1, &cs), 1);
	ref_of(&r, &c, MiB);
	m_init(&m, MiB, 64 * KiB);
	do_write(g_c[ds_index(r.ds[0])], &r, &m, 0, MiB);

	/* a byte of the replica's copy goes bad */
	bad = ds_index(r.ds[1]);
	h_ds_chunk_path(&g_ds[bad], r.chunk_id, path, sizeof(path));
	fd = open(path, O_RDWR);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(pread(fd, &b, 1, 5 * 64 * KiB + 99), 1);
	b ^= 0x40;
	ck_assert_int_eq(pwrite(fd, &b, 1, 5 * 64 * KiB + 99), 1);
	close(fd);

	sq.vol = cpu_to_le32(v.vol);
	ck_ok(vdc_call(tool, VDIFS_OP_SCRUB, &sq, sizeof(sq), NULL, 0, NULL,
		       0, NULL));
	ck_ret(vdc_call(cli, VDIFS_OP_SCRUB, &sq, sizeof(sq), NULL, 0, NULL,
			0, NULL), -EPERM);
	for (waited = 0; waited < 20000; waited += 200) {
		ck_assert_int_ge(vdc_status(tool, NULL, NULL, &st), 0);
		if (le32_to_cpu(st.scrub_passes) >= 1 && !st.scrub_running)
			break;
		usleep(200 * 1000);
	}
	ck_assert_uint_ge(le32_to_cpu(st.scrub_passes), 1);
	ck_assert_uint_eq(le64_to_cpu(st.scrub_bad), 1);
	ck_assert_uint_eq(le64_to_cpu(st.scrub_replaced), 1);
	/*
	 * Out of the set (epoch 2), then copied again from the good copy
	 * (epoch 3): to the third server, or back to the same one once the
	 * collector has freed its bad copy; either way every copy is whole.
	 */
	for (waited = 0; waited < 30000; waited += 200) {
		ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 1, 0, &c,
						1, &cs), 1);
		if (c.nrep == 2 && le64_to_cpu(c.version) >= 3)
			break;
		usleep(200 * 1000);
	}
	ck_assert_msg(c.nrep == 2 && le64_to_cpu(c.version) >= 3,
		      "the bad copy was not replaced (%u copies, epoch %llu)",
		      c.nrep, (unsigned long long)le64_to_cpu(c.version));
	ref_of(&r, &c, MiB);
	ck_chunk(g_c[ds_index(r.ds[0])], &r, &m, "after the scrub");
	ck_chunk(g_c[ds_index(r.ds[1])], &r, &m, "the new copy");
	/* the operator's command: a pass that finds nothing */
	snprintf(bin, sizeof(bin), "%s/vdifs-tool", h_bindir());
	{
		char *argv[] = { bin, "--insecure", "scrub", "--volume",
				 "scrub", "--wait", NULL };
		char *out = NULL, *err = NULL;
		int rc = h_run(argv, g_mds.addr, &out, &err);

		ck_assert_msg(rc == 0, "vdifs-tool scrub: %d: %s", rc,
			      err ? err : "");
		ck_assert_msg(strstr(out, "0 bad") != NULL, "scrub said: %s",
			      out);
		free(out);
		free(err);
	}
	m_free(&m);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

/*
 * Read-triggered repair: a reader that meets a bad block on one copy
 * reports it (LAYOUT_CORRUPT, as the kernel does after reading a good
 * copy), and the MDS checks that chunk's copies at once, takes the bad
 * one out of the set and has it copied again: no scrub pass needed.
 */
START_TEST(test_read_repair)
{
	struct vdc_params p = { .chunk_size = MiB, .extent_size = 64 * KiB,
				.replicas = 2, .repl_mode = VDIFS_REPL_SYNC };
	struct vdc_conn *tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	struct vdc_conn *cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_status_rep st = { 0 };
	struct vdifs_chunk c, stale;
	struct vdc_chunk_ref r;
	struct vdc_attr a;
	struct vdc_vol v;
	struct model m;
	char path[PATH_MAX + 64];
	u8 *buf = malloc(64 * KiB), b;
	u32 cs = 0;
	int bad, fd, waited;

	ck_assert_ptr_nonnull(buf);
	rnd_seed(41);
	ck_ok(vdc_vol_create(tool, "repair", &p, &v));
	ck_ok(vdc_create(cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &a));
	ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, &c, 1, &cs), 1);
	ref_of(&r, &c, MiB);
	m_init(&m, MiB, 64 * KiB);
	do_write(g_c[ds_index(r.ds[0])], &r, &m, 0, MiB);

	bad = ds_index(r.ds[1]);
	h_ds_chunk_path(&g_ds[bad], r.chunk_id, path, sizeof(path));
	fd = open(path, O_RDWR);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(pread(fd, &b, 1, 7 * 64 * KiB + 5), 1);
	b ^= 0x08;
	ck_assert_int_eq(pwrite(fd, &b, 1, 7 * 64 * KiB + 5), 1);
	close(fd);
	ck_ret(vdc_chunk_read(g_c[bad], &r, 7 * 64 * KiB, buf, 64 * KiB,
			      NULL), -EUCLEAN);
	ck_read(g_c[ds_index(r.ds[0])], &r, &m, 7 * 64 * KiB, 64 * KiB,
		"the good copy");
	/* a report about a set gone by is taken and does nothing */
	stale = c;
	stale.version = cpu_to_le64(le64_to_cpu(c.version) + 7);
	ck_ok(vdc_layout_corrupt(cli, v.vol, a.ino, 0, &stale));
	ck_ok(vdc_layout_corrupt(cli, v.vol, a.ino, 0, &c));
	for (waited = 0; waited < 30000; waited += 200) {
		ck_assert_int_eq(vdc_layout_get(cli, v.vol, a.ino, 0, 1, 0, &c,
						1, &cs), 1);
		if (c.nrep == 2 && le64_to_cpu(c.version) >= 3)
			break;
		usleep(200 * 1000);
	}
	ck_assert_msg(c.nrep == 2 && le64_to_cpu(c.version) >= 3,
		      "the bad copy was not replaced (%u copies, epoch %llu)",
		      c.nrep, (unsigned long long)le64_to_cpu(c.version));
	ck_assert_int_ge(vdc_status(tool, NULL, NULL, &st), 0);
	ck_assert_uint_eq(le64_to_cpu(st.scrub_bad), 1);
	ck_assert_uint_eq(le32_to_cpu(st.scrub_passes), 0);
	ref_of(&r, &c, MiB);
	ck_chunk(g_c[ds_index(r.ds[0])], &r, &m, "after the repair");
	ck_chunk(g_c[ds_index(r.ds[1])], &r, &m, "the new copy");
	m_free(&m);
	free(buf);
	vdc_close(cli);
	vdc_close(tool);
}
END_TEST

/* ================================================================== */

static TCase *tcase(Suite *s, const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *ds_suite(void)
{
	Suite *s = suite_create("ds");
	TCase *tc;

	tc = tcase(s, "io", 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_roundtrip_many);

	tc = tcase(s, "replication", 60);
	tcase_add_test(tc, test_sync_replication);
	tcase_add_test(tc, test_forward_resend);
	tcase_add_test(tc, test_sync_pipelined);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_pipelined_shared_extents);
	tcase_add_loop_test(tc, test_deferred_pipelined, 0, 2);
	tcase_add_test(tc, test_async_replication);

	tc = tcase(s, "cow", 60);
	tcase_add_test(tc, test_cow);
	tcase_add_test(tc, test_cow_leaves_blocks);
	tcase_add_loop_test(tc, test_chain, 0,
			    (int)(sizeof(chain_depth) / sizeof(chain_depth[0])));
	tcase_add_test(tc, test_long_chain);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_clone_stress);
	tcase_add_test(tc, test_collector);
	tcase_add_test(tc, test_snapshot_batch);

	tc = tcase(s, "damage", 60);
	tcase_add_test(tc, test_corruption);
	tcase_add_test(tc, test_cow_keeps_sums);
	tcase_add_test(tc, test_blocks);
	tcase_add_loop_test(tc, test_crash, 0,
			    (int)(sizeof(crash_point) / sizeof(crash_point[0])));

	tc = tcase(s, "input", 60);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_handler_fuzz);
	tcase_add_test(tc, test_adaptive_extent);

	tc = tcase_create("failover");
	tcase_add_checked_fixture(tc, setup_failover, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_failover);
	tcase_add_test(tc, test_old_primary_refused);
	tcase_add_test(tc, test_async_lost);
	tcase_add_test(tc, test_stopped_replica);
	tcase_add_test(tc, test_alloc_after_restart);
	tcase_add_test(tc, test_rereplicate);
	tcase_add_test(tc, test_serve_without_mds);
	tcase_add_test(tc, test_read_lease);
	tcase_add_test(tc, test_drain);
	tcase_add_test(tc, test_intents);
	tcase_add_test(tc, test_scrub);
	tcase_add_test(tc, test_read_repair);
	suite_add_tcase(s, tc);

	tc = tcase_create("rebalance");
	tcase_add_checked_fixture(tc, setup_rebalance, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_rebalance);
	tcase_add_test(tc, test_rebalance_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("catchup");
	tcase_add_checked_fixture(tc, setup_catch_up, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_catch_up);
	tcase_add_test(tc, test_clone_onto_stale_base);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup_limits, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_conn_limit_per_peer);
	tcase_add_test(tc, test_peer_stops_reading);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup_role_keys, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_role_keys);
	tcase_add_test(tc, test_principal_ds);
	tcase_add_test(tc, test_capabilities);
	tcase_add_test(tc, test_principal_ds_no_mds);
	tcase_add_test(tc, test_principal_ds_slow_mds);
	suite_add_tcase(s, tc);

	tc = tcase_create("cluster");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cluster_script);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ds_suite());
	int failed;

	h_tmp_begin();
	/* CK_NORMAL unless $CK_VERBOSITY says otherwise */
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	h_tmp_end();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
