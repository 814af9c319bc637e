// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of vdifs-mds: a real server per test (see harness.h), driven
 * through libvdifs, raw sockets and vdifs-tool.
 *
 *   build/out/tests/test_mds            all of it
 *   CK_RUN_CASE=namespace test_mds      one TCase (Check's own variables)
 *   CK_RUN_SUITE / CK_VERBOSITY=verbose  likewise
 */
#include <dirent.h>
#include <json.h>
#include <sys/sysmacros.h>

#include "harness.h"

#define KiB		1024u
#define MiB		(1024u * 1024u)
#define GiB		(1024ull * MiB)

static struct h_mds g_mds;
static struct vdc_conn *g_tool;		/* VDIFS_ROLE_TOOL */
static struct vdc_conn *g_cli;		/* VDIFS_ROLE_CLIENT */
static struct vdc_vol g_vol;		/* for the namespace tests */
static u32 g_v;
static u64 g_root;

/* ---- fixtures ---- */

static void start_with(const struct h_mds_opts *o)
{
	int ret = h_mds_start(&g_mds, o);

	ck_assert_msg(ret == 0, "vdifs-mds did not start: %s", h_err(ret));
	g_tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	g_cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
}

static void setup(void)
{
	start_with(NULL);
}

static void setup_vol(void)
{
	setup();
	ck_ok(vdc_vol_create(g_tool, "ns", NULL, &g_vol));
	g_v = g_vol.vol;
	g_root = g_vol.root_ino;
	ck_assert_uint_ne(g_root, 0);
}

static void setup_expiry(void)
{
	struct h_mds_opts o = { .heartbeat_ms = 100, .lease_ms = 500,
				.session_expiry_s = 1 };

	start_with(&o);
}

static void setup_lease(void)
{
	struct h_mds_opts o = { .heartbeat_ms = 100, .lease_ms = 600 };

	start_with(&o);
}

#define TEST_KEY	"00112233445566778899aabbccddeeff"
#define WRONG_KEY	"ffeeddccbbaa99887766554433221100"

static void setup_auth(void)
{
	struct h_mds_opts o = { .key_hex = TEST_KEY };
	int ret = h_mds_start(&g_mds, &o);

	ck_assert_msg(ret == 0, "vdifs-mds did not start: %s", h_err(ret));
}

static void teardown(void)
{
	vdc_close(g_cli);
	vdc_close(g_tool);
	g_cli = g_tool = NULL;
	h_mds_destroy(&g_mds);
}

/* ---- helpers ---- */

static struct vdc_attr mk_as(u64 parent, const char *name, u32 mode,
			     u32 rdev, u32 uid, u32 gid)
{
	struct vdc_attr a;
	int ret;

	memset(&a, 0, sizeof(a));
	ret = vdc_create(g_cli, g_v, parent, name, mode, rdev, uid, gid,
			 true, NULL, &a);
	ck_assert_msg(ret == 0, "create %s mode 0%o: %s", name, mode,
		      h_err(ret));
	ck_assert_uint_ne(a.ino, 0);
	return a;
}

static struct vdc_attr mk(u64 parent, const char *name, u32 mode)
{
	return mk_as(parent, name, mode, 0, 0, 0);
}

static struct vdc_attr get(u64 ino)
{
	struct vdc_attr a;
	int ret = vdc_getattr(g_cli, g_v, ino, &a);

	ck_assert_msg(ret == 0, "getattr %llu: %s", (unsigned long long)ino,
		      h_err(ret));
	return a;
}

static struct vdc_attr look(u64 parent, const char *name)
{
	struct vdc_attr a;
	int ret = vdc_lookup(g_cli, g_v, parent, name, &a);

	ck_assert_msg(ret == 0, "lookup %s: %s", name, h_err(ret));
	return a;
}

static void ck_attr_eq(const char *what, const struct vdc_attr *a,
		       const struct vdc_attr *b)
{
#define F(f) ck_assert_msg(a->f == b->f, "%s: " #f " %lld != %lld", what, \
			   (long long)a->f, (long long)b->f)
	F(ino);
	F(size);
	F(blocks);
	F(change);
	F(atime_ns);
	F(mtime_ns);
	F(ctime_ns);
	F(mode);
	F(uid);
	F(gid);
	F(nlink);
	F(rdev);
	F(gen);
	F(params.chunk_size);
	F(params.extent_size);
	F(params.replicas);
	F(params.repl_mode);
#undef F
}

/* a data server connection that registered a made-up address */
static struct vdc_conn *ds_join(int n, u64 capacity, u32 *id)
{
	struct vdifs_ds_register_rep rep;
	struct vdc_conn *c = h_connect(&g_mds, VDIFS_ROLE_DS);
	char addr[64];

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", 21000 + n);
	ck_ok(vdc_ds_register(c, 0, addr, capacity, 0, &rep));
	*id = le32_to_cpu(rep.ds_id);
	ck_assert_uint_ne(*id, 0);
	return c;
}

/* ---- readdir collection ---- */

struct seen {
	char **names;
	u64 *inos;
	u8 *types;
	int n, cap;
	u64 cookie;
	bool dots;
};

static int seen_cb(const struct vdc_dirent *d, void *arg)
{
	struct seen *s = arg;

	if (!strcmp(d->name, ".") || !strcmp(d->name, ".."))
		s->dots = true;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->names = realloc(s->names, s->cap * sizeof(*s->names));
		s->inos = realloc(s->inos, s->cap * sizeof(*s->inos));
		s->types = realloc(s->types, s->cap * sizeof(*s->types));
		ck_assert_ptr_nonnull(s->names);
		ck_assert_ptr_nonnull(s->inos);
		ck_assert_ptr_nonnull(s->types);
	}
	s->names[s->n] = strdup(d->name);
	s->inos[s->n] = d->ino;
	s->types[s->n] = d->type;
	s->n++;
	s->cookie = d->cookie;
	return 0;
}

static void seen_free(struct seen *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	free(s->inos);
	free(s->types);
	memset(s, 0, sizeof(*s));
}

/* one round trip; returns eof */
static bool readdir_page(u64 dir, u32 max_bytes, struct seen *s)
{
	bool eof = false;
	int before = s->n;
	int ret = vdc_readdir(g_cli, g_v, dir, s->cookie, max_bytes, seen_cb,
			      s, &eof);

	ck_assert_msg(ret >= 0, "readdir: %s", h_err(ret));
	ck_assert_int_eq(ret, s->n - before);
	ck_assert_msg(ret > 0 || eof, "readdir made no progress at cookie %llu",
		      (unsigned long long)s->cookie);
	return eof;
}

/* the whole directory; returns the number of round trips */
static int readdir_all(u64 dir, u32 max_bytes, struct seen *s)
{
	int rounds = 0;

	do {
		ck_assert_int_lt(rounds, 100000);
		rounds++;
	} while (!readdir_page(dir, max_bytes, s));
	return rounds;
}

static int seen_count(const struct seen *s, const char *name)
{
	int i, n = 0;

	for (i = 0; i < s->n; i++)
		n += !strcmp(s->names[i], name);
	return n;
}

/* ================================================================== */
/* volumes                                                             */
/* ================================================================== */

START_TEST(test_vol_create_defaults)
{
	struct vdc_vol v, o;

	ck_ok(vdc_vol_create(g_tool, "v1", NULL, &v));
	ck_assert_uint_ne(v.vol, 0);
	ck_assert_str_eq(v.name, "v1");
	ck_assert_uint_ne(v.root_ino, 0);
	ck_assert_uint_eq(v.params.chunk_size, VDIFS_CHUNK_DEFAULT);
	ck_assert_msg(v.params.extent_size == VDIFS_EXTENT_DEFAULT ||
		      v.params.extent_size == VDIFS_EXTENT_ADAPTIVE,
		      "default extent size %u", v.params.extent_size);
	ck_assert_uint_ge(v.params.replicas, 1);
	ck_assert_uint_le(v.params.replicas, VDIFS_MAX_REPLICAS);
	ck_assert_uint_eq(v.params.repl_mode, VDIFS_REPL_SYNC);

	/* replicas 0 means "default", not an error */
	ck_ok(vdc_vol_open(g_tool, "v1", &o));
	ck_assert_uint_eq(o.vol, v.vol);
	ck_assert_uint_eq(o.root_ino, v.root_ino);
	ck_assert_str_eq(o.name, "v1");
}
END_TEST

START_TEST(test_vol_create_params)
{
	struct vdc_params p = {
		.chunk_size = 1 * MiB, .extent_size = 16 * KiB,
		.replicas = 2, .repl_mode = VDIFS_REPL_ASYNC,
	};
	struct vdc_vol v, o;
	struct vdc_attr root;

	ck_ok(vdc_vol_create(g_tool, "tuned", &p, &v));
	ck_assert_uint_eq(v.params.chunk_size, 1 * MiB);
	ck_assert_uint_eq(v.params.extent_size, 16 * KiB);
	ck_assert_uint_eq(v.params.replicas, 2);
	ck_assert_uint_eq(v.params.repl_mode, VDIFS_REPL_ASYNC);
	ck_ok(vdc_vol_open(g_cli, "tuned", &o));
	ck_assert_uint_eq(o.vol, v.vol);
	ck_assert_uint_eq(o.params.chunk_size, 1 * MiB);
	ck_assert_uint_eq(o.params.extent_size, 16 * KiB);
	ck_assert_uint_eq(o.params.replicas, 2);
	ck_assert_uint_eq(o.params.repl_mode, VDIFS_REPL_ASYNC);

	/* the root directory carries the volume's layout */
	ck_ok(vdc_getattr(g_cli, v.vol, v.root_ino, &root));
	ck_assert_uint_eq(root.params.chunk_size, 1 * MiB);
	ck_assert_uint_eq(root.params.replicas, 2);

	/* a 64-character name is the longest */
	ck_ok(vdc_vol_create(g_tool,
		"a123456789b123456789c123456789d123456789e123456789f123456789ABCD",
		NULL, NULL));
	p.replicas = 0;
	ck_ok(vdc_vol_create(g_tool, "zero-replicas", &p, &v));
	ck_assert_uint_ge(v.params.replicas, 1);
}
END_TEST

START_TEST(test_vol_duplicate)
{
	ck_ok(vdc_vol_create(g_tool, "dup", NULL, NULL));
	ck_ret(vdc_vol_create(g_tool, "dup", NULL, NULL), -EEXIST);
}
END_TEST

/* VOL_CREATE sent as is, past the library's checks */
static int raw_vol_create(const char *name, u32 nlen,
			  const struct vdifs_layout_params *w)
{
	struct vdifs_vol_create_req req;

	memset(&req, 0, sizeof(req));
	if (w)
		req.params = *w;
	req.name_len = cpu_to_le16((u16)nlen);
	return vdc_call(g_tool, VDIFS_OP_VOL_CREATE, &req, sizeof(req), name,
			nlen, NULL, 0, NULL);
}

START_TEST(test_vol_bad_names)
{
	static const char long65[] =
		"a123456789b123456789c123456789d123456789e123456789f1234567890abcd";

	ck_assert_uint_eq(strlen(long65), 65);
	/* refused by the library */
	ck_ret(vdc_vol_create(g_tool, "a/b", NULL, NULL), -EINVAL);
	ck_ret(vdc_vol_create(g_tool, "", NULL, NULL), -EINVAL);
	ck_ret(vdc_vol_create(g_tool, ".x", NULL, NULL), -EINVAL);
	ck_ret(vdc_vol_create(g_tool, long65, NULL, NULL), -ENAMETOOLONG);
	ck_ret(vdc_vol_create(g_tool, NULL, NULL, NULL), -EINVAL);
	/* and by the server */
	ck_ret(raw_vol_create("a/b", 3, NULL), -EINVAL);
	ck_ret(raw_vol_create("", 0, NULL), -EINVAL);
	ck_ret(raw_vol_create(".x", 2, NULL), -EINVAL);
	ck_ret(raw_vol_create(long65, 65, NULL), -ENAMETOOLONG);
	ck_ret(raw_vol_create("a\0b", 3, NULL), -EINVAL);
	/* nothing was created */
	ck_ret(vdc_vol_list(g_tool, NULL, NULL), 0);
}
END_TEST

static int raw_vol_params(u32 chunk, u32 extent, u8 replicas, u8 mode)
{
	struct vdifs_layout_params w;

	memset(&w, 0, sizeof(w));
	w.chunk_size = cpu_to_le32(chunk);
	w.extent_size = cpu_to_le32(extent);
	w.replicas = replicas;
	w.repl_mode = mode;
	return raw_vol_create("badp", 4, &w);
}

START_TEST(test_vol_bad_params)
{
	struct vdc_params p;

	memset(&p, 0, sizeof(p));
	p.chunk_size = 3 * MiB;
	ck_ret(vdc_vol_create(g_tool, "badp", &p, NULL), -EINVAL);
	p.chunk_size = 2u << 30;
	ck_ret(vdc_vol_create(g_tool, "badp", &p, NULL), -EINVAL);
	p.chunk_size = 0;
	p.replicas = 5;
	ck_ret(vdc_vol_create(g_tool, "badp", &p, NULL), -EINVAL);
	p.replicas = 0;
	p.repl_mode = 7;
	ck_ret(vdc_vol_create(g_tool, "badp", &p, NULL), -EINVAL);

	/* the server checks them too */
	ck_ret(raw_vol_params(3 * MiB, 0, 0, 0), -EINVAL);
	ck_ret(raw_vol_params(2u << 30, 0, 0, 0), -EINVAL);
	ck_ret(raw_vol_params(VDIFS_CHUNK_MIN / 2, 0, 0, 0), -EINVAL);
	ck_ret(raw_vol_params(0, 3 * KiB, 0, 0), -EINVAL);
	ck_ret(raw_vol_params(0, 2 * MiB, 0, 0), -EINVAL);
	ck_ret(raw_vol_params(0, 0, 5, 0), -EINVAL);
	ck_ret(raw_vol_params(0, 0, 0, 7), -EINVAL);
	ck_ret(vdc_vol_open(g_tool, "badp", NULL), -ENOENT);

	/* the limits themselves are fine */
	ck_ok(raw_vol_params(VDIFS_CHUNK_MAX, 0, 0, 0));
	ck_ok(vdc_vol_delete(g_tool, "badp"));
	ck_ok(raw_vol_params(VDIFS_CHUNK_MIN, VDIFS_EXTENT_MIN,
			     VDIFS_MAX_REPLICAS, VDIFS_REPL_ASYNC));
}
END_TEST

struct vol_seen {
	int count[32];
	int other;
	u32 ids[32];
};

static int vol_seen_cb(const struct vdc_vol *v, void *arg)
{
	struct vol_seen *s = arg;
	int i;

	if (sscanf(v->name, "vol%d", &i) == 1 && i >= 0 && i < 32) {
		s->count[i]++;
		s->ids[i] = v->vol;
	} else {
		s->other++;
	}
	return 0;
}

START_TEST(test_vol_list)
{
	struct vol_seen s;
	struct vdifs_vol_list_req req;
	char name[16];
	u32 after = 0;
	int i, n, pages = 0, total = 0;

	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "vol%d", i);
		ck_ok(vdc_vol_create(g_tool, name, NULL, NULL));
	}
	memset(&s, 0, sizeof(s));
	n = vdc_vol_list(g_tool, vol_seen_cb, &s);
	ck_assert_int_eq(n, 20);
	ck_assert_int_eq(s.other, 0);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(s.count[i], 1);

	/* the server pages by after_vol within a small budget */
	memset(&req, 0, sizeof(req));
	req.max_bytes = cpu_to_le32(128);
	for (;;) {
		struct vdifs_list_rep lr;
		struct wire_rec_iter it;
		const void *rec;
		const u8 *nm;
		u16 nl;
		struct vdc_msg m;

		req.after_vol = cpu_to_le32(after);
		ck_ok(vdc_call(g_tool, VDIFS_OP_VOL_LIST, &req, sizeof(req),
			       NULL, 0, NULL, 0, &m));
		memcpy(&lr, m.body.fixed, sizeof(lr));
		ck_assert_uint_le(m.body.recs_len[0], 128);
		wire_rec_iter_init(&it, &m.body, 0, VDIFS_OP_VOL_LIST);
		while (wire_rec_next(&it, &rec, &nm, &nl) > 0) {
			struct vdifs_vol_info vi;

			memcpy(&vi, rec, sizeof(vi));
			ck_assert_uint_gt(le32_to_cpu(vi.vol), after);
			after = le32_to_cpu(vi.vol);
			total++;
		}
		vdc_msg_free(&m);
		pages++;
		ck_assert_int_lt(pages, 100);
		if (le32_to_cpu(lr.eof))
			break;
		ck_assert_uint_gt(le32_to_cpu(lr.count), 0);
	}
	ck_assert_int_eq(total, 20);
	ck_assert_int_ge(pages, 10);
}
END_TEST

START_TEST(test_vol_delete)
{
	struct vdc_vol v, o;
	struct vol_seen s;
	struct vdc_attr a;

	ck_ok(vdc_vol_create(g_tool, "vol1", NULL, &v));
	ck_ok(vdc_vol_create(g_tool, "vol2", NULL, NULL));
	ck_ok(vdc_vol_open(g_cli, "vol1", &o));
	ck_assert_uint_eq(o.vol, v.vol);
	ck_assert_uint_eq(o.root_ino, v.root_ino);
	ck_ok(vdc_create(g_cli, v.vol, v.root_ino, "file", S_IFREG | 0644, 0,
			 0, 0, true, NULL, &a));

	ck_ok(vdc_vol_delete(g_tool, "vol1"));
	ck_ret(vdc_vol_open(g_cli, "vol1", NULL), -ENOENT);
	ck_ret(vdc_vol_delete(g_tool, "vol1"), -ENOENT);
	ck_ret(vdc_vol_open(g_cli, "nosuch", NULL), -ENOENT);
	/* nothing of it is reachable any more */
	ck_ret(vdc_getattr(g_cli, v.vol, a.ino, NULL), -ENOENT);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(vdc_vol_list(g_tool, vol_seen_cb, &s), 1);
	ck_assert_int_eq(s.count[1], 0);
	ck_assert_int_eq(s.count[2], 1);
	/* the name can be used again */
	ck_ok(vdc_vol_create(g_tool, "vol1", NULL, &o));
	ck_ret(vdc_lookup(g_cli, o.vol, o.root_ino, "file", NULL), -ENOENT);
}
END_TEST

START_TEST(test_statfs)
{
	struct vdifs_statfs_rep st;
	struct vdc_vol v;

	ck_ok(vdc_vol_create(g_tool, "sfs", NULL, &v));
	memset(&st, 0xff, sizeof(st));
	ck_ok(vdc_statfs(g_cli, v.vol, &st));
	ck_assert_uint_eq(le32_to_cpu(st.namemax), VDIFS_NAME_MAX);
	ck_assert_uint_ne(le32_to_cpu(st.bsize), 0);
	ck_assert_uint_ge(le64_to_cpu(st.bytes_total),
			  le64_to_cpu(st.bytes_free));
	ck_assert_uint_ge(le64_to_cpu(st.files), 1);
}
END_TEST

/* ================================================================== */
/* namespace                                                           */
/* ================================================================== */

START_TEST(test_root)
{
	struct vdc_attr r = get(g_root);

	ck_assert_uint_eq(r.ino, g_root);
	ck_assert_uint_eq(r.mode, S_IFDIR | 0755);
	ck_assert_uint_eq(r.nlink, 2);
	ck_assert_uint_eq(r.uid, 0);
	ck_assert_uint_eq(r.gid, 0);
	ck_ret(vdc_getattr(g_cli, g_v, g_root + 1000000, NULL), -ENOENT);
}
END_TEST

/*
 * Many requests in flight on one connection, as a mount sends them:
 * creates (one a duplicate that must fail alone, without rolling back the
 * others committed with it) and lookups, all sent before any reply is
 * read; every reply comes back once, matched by its id.
 */
START_TEST(test_pipelined)
{
	enum { N = 48 };
	struct vdifs_create_req q;
	u64 id[2 * N + 1], seen = 0;
	int status[2 * N + 1], i, k;
	char name[16];

	for (i = 0; i <= N; i++) {
		/* the last one repeats the first: EEXIST */
		snprintf(name, sizeof(name), "p%d", i == N ? 0 : i);
		memset(&q, 0, sizeof(q));
		q.vol = cpu_to_le32(g_v);
		q.name_len = cpu_to_le16((u16)strlen(name));
		q.flags = cpu_to_le16(VDIFS_CREATE_EXCL);
		q.parent = cpu_to_le64(g_root);
		q.mode = cpu_to_le32(S_IFREG | 0644);
		ck_ok(vdc_call_send(g_cli, VDIFS_OP_CREATE, &q, sizeof(q), name,
				    (u32)strlen(name), NULL, 0, &id[i]));
		status[i] = 1;
		if (i < N) {
			struct vdifs_name_req lq = { 0 };

			lq.vol = cpu_to_le32(g_v);
			lq.name_len = cpu_to_le16((u16)strlen(name));
			lq.parent = cpu_to_le64(g_root);
			ck_ok(vdc_call_send(g_cli, VDIFS_OP_LOOKUP, &lq,
					    sizeof(lq), name, (u32)strlen(name),
					    NULL, 0, &id[N + 1 + i]));
			status[N + 1 + i] = 1;
		}
	}
	for (k = 0; k < 2 * N + 1; k++) {
		struct vdc_msg m;

		ck_ok(vdc_recv(g_cli, &m));
		for (i = 0; i < 2 * N + 1; i++)
			if (id[i] == m.hdr.req_id)
				break;
		ck_assert_msg(i < 2 * N + 1 && status[i] == 1,
			      "reply %llu: unknown or seen twice",
			      (unsigned long long)m.hdr.req_id);
		status[i] = m.hdr.status;
		vdc_msg_free(&m);
		seen++;
	}
	ck_assert_uint_eq(seen, 2 * N + 1);
	for (i = 0; i < N; i++)
		ck_assert_msg(status[i] == 0, "create p%d: %s", i,
			      h_err(status[i]));
	ck_assert_int_eq(status[N], -EEXIST);
	/* a lookup raced its create: found or not, nothing else */
	for (i = N + 1; i < 2 * N + 1; i++)
		ck_assert_msg(status[i] == 0 || status[i] == -ENOENT,
			      "lookup: %s", h_err(status[i]));
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		ck_ok(vdc_lookup(g_cli, g_v, g_root, name, NULL));
	}
}
END_TEST

START_TEST(test_create_lookup)
{
	struct vdc_attr f, l, g, again;

	f = mk_as(g_root, "f", S_IFREG | 0640, 0, 1000, 100);
	ck_assert_uint_ne(f.ino, g_root);
	ck_assert_uint_eq(f.mode, S_IFREG | 0640);
	ck_assert_uint_eq(f.uid, 1000);
	ck_assert_uint_eq(f.gid, 100);
	ck_assert_uint_eq(f.nlink, 1);
	ck_assert_uint_eq(f.size, 0);

	l = look(g_root, "f");
	ck_attr_eq("lookup vs create", &l, &f);
	g = get(f.ino);
	ck_attr_eq("getattr vs create", &g, &f);
	ck_ret(vdc_lookup(g_cli, g_v, g_root, "nosuch", NULL), -ENOENT);

	/* exclusive create of an existing name */
	ck_ret(vdc_create(g_cli, g_v, g_root, "f", S_IFREG | 0600, 0, 0, 0,
			  true, NULL, NULL), -EEXIST);
	/* non-exclusive create of an existing file opens it */
	ck_ok(vdc_create(g_cli, g_v, g_root, "f", S_IFREG | 0600, 0, 0, 0,
			 false, NULL, &again));
	ck_assert_uint_eq(again.ino, f.ino);
	ck_assert_uint_eq(again.mode, S_IFREG | 0640);
	/* ... but not an existing non-regular file */
	mk(g_root, "d", S_IFDIR | 0755);
	ck_ret(vdc_create(g_cli, g_v, g_root, "d", S_IFREG | 0600, 0, 0, 0,
			  false, NULL, NULL), -EEXIST);
	ck_ret(vdc_create(g_cli, g_v, g_root, "d", S_IFDIR | 0700, 0, 0, 0,
			  false, NULL, NULL), -EEXIST);
	ck_ret(vdc_create(g_cli, g_v, g_root, "f", S_IFDIR | 0700, 0, 0, 0,
			  true, NULL, NULL), -EEXIST);
	ck_ret(vdc_create(g_cli, g_v, g_root, "f", S_IFIFO | 0600, 0, 0, 0,
			  false, NULL, NULL), -EEXIST);
	/* in a missing directory */
	ck_ret(vdc_create(g_cli, g_v, g_root + 1000000, "x", S_IFREG | 0600,
			  0, 0, 0, true, NULL, NULL), -ENOENT);
	/* the longest name */
	{
		char n255[256];

		memset(n255, 'n', 255);
		n255[255] = '\0';
		mk(g_root, n255, S_IFREG | 0644);
		look(g_root, n255);
	}
}
END_TEST

START_TEST(test_mkdir)
{
	struct vdc_attr d, e;

	d = mk_as(g_root, "d", S_IFDIR | 0700, 0, 5, 6);
	ck_assert_uint_eq(d.mode, S_IFDIR | 0700);
	ck_assert_uint_eq(d.nlink, 2);
	ck_assert_uint_eq(d.uid, 5);
	ck_assert_uint_eq(d.gid, 6);
	ck_assert_uint_eq(get(g_root).nlink, 3);

	e = mk(d.ino, "e", S_IFDIR | 0755);
	ck_assert_uint_eq(e.nlink, 2);
	ck_assert_uint_eq(get(d.ino).nlink, 3);
	ck_assert_uint_eq(get(g_root).nlink, 3);
	/* files do not count */
	mk(d.ino, "file", S_IFREG | 0644);
	ck_assert_uint_eq(get(d.ino).nlink, 3);
	mk(g_root, "d2", S_IFDIR | 0755);
	ck_assert_uint_eq(get(g_root).nlink, 4);
	{
		struct vdc_attr l = look(d.ino, "e");

		ck_assert_uint_eq(l.ino, e.ino);
	}
}
END_TEST

START_TEST(test_mknod)
{
	struct vdc_attr a;
	u32 rdev = (u32)((1u << 8) | 3u);	/* new_encode_dev(1:3) */

	a = mk(g_root, "fifo", S_IFIFO | 0644);
	ck_assert_uint_eq(a.mode, S_IFIFO | 0644);
	ck_assert_uint_eq(look(g_root, "fifo").mode, S_IFIFO | 0644);

	a = mk(g_root, "sock", S_IFSOCK | 0755);
	ck_assert_uint_eq(a.mode, S_IFSOCK | 0755);
	ck_assert_uint_eq(look(g_root, "sock").mode, S_IFSOCK | 0755);

	a = mk_as(g_root, "null", S_IFCHR | 0666, rdev, 0, 0);
	ck_assert_uint_eq(a.mode, S_IFCHR | 0666);
	ck_assert_uint_eq(a.rdev, rdev);
	a = look(g_root, "null");
	ck_assert_uint_eq(a.rdev, rdev);
	ck_assert_uint_eq(get(a.ino).rdev, rdev);

	a = mk_as(g_root, "blk", S_IFBLK | 0660, 0x800010u, 0, 6);
	ck_assert_uint_eq(a.mode, S_IFBLK | 0660);
	ck_assert_uint_eq(get(a.ino).rdev, 0x800010u);
	/* none of them is a directory */
	ck_assert_uint_eq(get(g_root).nlink, 2);
}
END_TEST

START_TEST(test_symlink)
{
	char target[4097], buf[4200];
	struct vdc_attr a;
	int i;

	ck_ok(vdc_symlink(g_cli, g_v, g_root, "l", "some/where/../else",
			  7, 8, &a));
	ck_assert_uint_eq(a.mode & S_IFMT, S_IFLNK);
	ck_assert_uint_eq(a.uid, 7);
	ck_assert_uint_eq(a.gid, 8);
	ck_assert_uint_eq(a.size, strlen("some/where/../else"));
	ck_assert_uint_eq(a.nlink, 1);
	ck_assert_int_eq(vdc_readlink(g_cli, g_v, a.ino, buf, sizeof(buf)),
			 (int)strlen("some/where/../else"));
	ck_assert_str_eq(buf, "some/where/../else");
	ck_assert_uint_eq(look(g_root, "l").ino, a.ino);

	/* the longest target */
	for (i = 0; i < 4095; i++)
		target[i] = "abcdefgh/"[i % 9];
	target[4095] = '\0';
	ck_ok(vdc_symlink(g_cli, g_v, g_root, "long", target, 0, 0, &a));
	ck_assert_uint_eq(a.size, 4095);
	ck_assert_int_eq(vdc_readlink(g_cli, g_v, a.ino, buf, sizeof(buf)),
			 4095);
	ck_assert_mem_eq(buf, target, 4096);
	/* one more byte is refused before it is sent */
	target[4095] = 'x';
	target[4096] = '\0';
	ck_ret(vdc_symlink(g_cli, g_v, g_root, "toolong", target, 0, 0, NULL),
	       -ENAMETOOLONG);
	ck_ret(vdc_lookup(g_cli, g_v, g_root, "toolong", NULL), -ENOENT);
	/* existing name */
	ck_ret(vdc_symlink(g_cli, g_v, g_root, "l", "x", 0, 0, NULL), -EEXIST);
	/* readlink of something else */
	a = mk(g_root, "reg", S_IFREG | 0644);
	ck_ret(vdc_readlink(g_cli, g_v, a.ino, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_link)
{
	struct vdc_attr f, l, d;

	f = mk(g_root, "f", S_IFREG | 0644);
	d = mk(g_root, "d", S_IFDIR | 0755);
	ck_ok(vdc_link(g_cli, g_v, f.ino, d.ino, "g", &l));
	ck_assert_uint_eq(l.ino, f.ino);
	ck_assert_uint_eq(l.nlink, 2);
	ck_assert_uint_eq(look(d.ino, "g").ino, f.ino);
	ck_assert_uint_eq(look(g_root, "f").nlink, 2);
	ck_assert_uint_eq(get(f.ino).nlink, 2);
	/* directories cannot be linked */
	ck_ret(vdc_link(g_cli, g_v, d.ino, g_root, "dlink", NULL), -EPERM);
	ck_ret(vdc_lookup(g_cli, g_v, g_root, "dlink", NULL), -ENOENT);
	/* onto an existing name */
	ck_ret(vdc_link(g_cli, g_v, f.ino, g_root, "d", NULL), -EEXIST);
	/* unlinking one name leaves the other */
	ck_ok(vdc_unlink(g_cli, g_v, g_root, "f"));
	ck_assert_uint_eq(get(f.ino).nlink, 1);
	ck_assert_uint_eq(look(d.ino, "g").nlink, 1);
	/* a directory's link count does not change for a file link */
	ck_assert_uint_eq(get(d.ino).nlink, 2);
}
END_TEST

START_TEST(test_unlink)
{
	struct vdc_attr f, d;

	f = mk(g_root, "f", S_IFREG | 0644);
	d = mk(g_root, "d", S_IFDIR | 0755);
	ck_ok(vdc_link(g_cli, g_v, f.ino, g_root, "f2", NULL));
	ck_ok(vdc_unlink(g_cli, g_v, g_root, "f2"));
	ck_assert_uint_eq(get(f.ino).nlink, 1);
	ck_ok(vdc_unlink(g_cli, g_v, g_root, "f"));
	ck_ret(vdc_lookup(g_cli, g_v, g_root, "f", NULL), -ENOENT);
	ck_ret(vdc_getattr(g_cli, g_v, f.ino, NULL), -ENOENT);
	ck_ret(vdc_unlink(g_cli, g_v, g_root, "f"), -ENOENT);
	ck_ret(vdc_unlink(g_cli, g_v, g_root, "d"), -EISDIR);
	ck_assert_uint_eq(look(g_root, "d").ino, d.ino);
	/* other kinds go too */
	mk(g_root, "p", S_IFIFO | 0600);
	ck_ok(vdc_symlink(g_cli, g_v, g_root, "s", "t", 0, 0, NULL));
	ck_ok(vdc_unlink(g_cli, g_v, g_root, "p"));
	ck_ok(vdc_unlink(g_cli, g_v, g_root, "s"));
	ck_ret(vdc_unlink(g_cli, g_v, g_root + 1000000, "x"), -ENOENT);
}
END_TEST

START_TEST(test_rmdir)
{
	struct vdc_attr d;

	d = mk(g_root, "d", S_IFDIR | 0755);
	mk(d.ino, "inner", S_IFREG | 0644);
	mk(g_root, "f", S_IFREG | 0644);
	ck_assert_uint_eq(get(g_root).nlink, 3);
	ck_ret(vdc_rmdir(g_cli, g_v, g_root, "d"), -ENOTEMPTY);
	ck_ret(vdc_rmdir(g_cli, g_v, g_root, "f"), -ENOTDIR);
	ck_ret(vdc_rmdir(g_cli, g_v, g_root, "nosuch"), -ENOENT);
	ck_ok(vdc_unlink(g_cli, g_v, d.ino, "inner"));
	ck_ok(vdc_rmdir(g_cli, g_v, g_root, "d"));
	ck_ret(vdc_lookup(g_cli, g_v, g_root, "d", NULL), -ENOENT);
	ck_ret(vdc_getattr(g_cli, g_v, d.ino, NULL), -ENOENT);
	ck_assert_uint_eq(get(g_root).nlink, 2);
	/* a directory with only a subdirectory is not empty either */
	d = mk(g_root, "d", S_IFDIR | 0755);
	mk(d.ino, "sub", S_IFDIR | 0755);
	ck_ret(vdc_rmdir(g_cli, g_v, g_root, "d"), -ENOTEMPTY);
}
END_TEST

START_TEST(test_under_file)
{
	struct vdc_attr f = mk(g_root, "f", S_IFREG | 0644);
	bool eof;

	ck_ret(vdc_lookup(g_cli, g_v, f.ino, "x", NULL), -ENOTDIR);
	ck_ret(vdc_create(g_cli, g_v, f.ino, "x", S_IFREG | 0644, 0, 0, 0,
			  true, NULL, NULL), -ENOTDIR);
	ck_ret(vdc_create(g_cli, g_v, f.ino, "x", S_IFDIR | 0755, 0, 0, 0,
			  true, NULL, NULL), -ENOTDIR);
	ck_ret(vdc_readdir(g_cli, g_v, f.ino, 0, 4096, NULL, NULL, &eof),
	       -ENOTDIR);
	ck_ret(vdc_unlink(g_cli, g_v, f.ino, "x"), -ENOTDIR);
	ck_ret(vdc_link(g_cli, g_v, f.ino, f.ino, "x", NULL), -ENOTDIR);
}
END_TEST

/* a name-carrying request with an arbitrary name, past the library */
static int raw_name_op(u16 op, u64 parent, const void *name, u32 nlen)
{
	if (op == VDIFS_OP_CREATE || op == VDIFS_OP_MKDIR) {
		struct vdifs_create_req c;

		memset(&c, 0, sizeof(c));
		c.vol = cpu_to_le32(g_v);
		c.name_len = cpu_to_le16((u16)nlen);
		c.parent = cpu_to_le64(parent);
		c.mode = cpu_to_le32(op == VDIFS_OP_MKDIR ? S_IFDIR | 0755 :
				     S_IFREG | 0644);
		return vdc_call(g_cli, op, &c, sizeof(c), name, nlen, NULL, 0,
				NULL);
	} else {
		struct vdifs_name_req r;

		memset(&r, 0, sizeof(r));
		r.vol = cpu_to_le32(g_v);
		r.name_len = cpu_to_le16((u16)nlen);
		r.parent = cpu_to_le64(parent);
		return vdc_call(g_cli, op, &r, sizeof(r), name, nlen, NULL, 0,
				NULL);
	}
}

START_TEST(test_bad_names)
{
	char n256[257];

	memset(n256, 'a', 256);
	n256[256] = '\0';
	/* the library refuses them */
	ck_ret(vdc_create(g_cli, g_v, g_root, "a/b", S_IFREG | 0644, 0, 0, 0,
			  true, NULL, NULL), -EINVAL);
	ck_ret(vdc_create(g_cli, g_v, g_root, n256, S_IFREG | 0644, 0, 0, 0,
			  true, NULL, NULL), -ENAMETOOLONG);
	ck_ret(vdc_create(g_cli, g_v, g_root, "", S_IFREG | 0644, 0, 0, 0,
			  true, NULL, NULL), -EINVAL);
	ck_ret(vdc_create(g_cli, g_v, g_root, ".", S_IFDIR | 0755, 0, 0, 0,
			  true, NULL, NULL), -EINVAL);
	ck_ret(vdc_create(g_cli, g_v, g_root, "..", S_IFDIR | 0755, 0, 0, 0,
			  true, NULL, NULL), -EINVAL);
	ck_ret(vdc_lookup(g_cli, g_v, g_root, "a/b", NULL), -EINVAL);
	ck_ret(vdc_lookup(g_cli, g_v, g_root, n256, NULL), -ENAMETOOLONG);
	ck_ret(vdc_lookup(g_cli, g_v, g_root, NULL, NULL), -EINVAL);

	/* the server refuses them */
	ck_ret(raw_name_op(VDIFS_OP_CREATE, g_root, "a/b", 3), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_CREATE, g_root, "a\0b", 3), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_MKDIR, g_root, ".", 1), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_MKDIR, g_root, "..", 2), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_CREATE, g_root, "", 0), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_LOOKUP, g_root, "a/b", 3), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_UNLINK, g_root, "/", 1), -EINVAL);
	ck_ret(vdc_lookup(g_cli, g_v, g_root, "a", NULL), -ENOENT);
	ck_ret(vdc_lookup(g_cli, g_v, g_root, "b", NULL), -ENOENT);
	ck_assert_uint_eq(get(g_root).nlink, 2);
}
END_TEST

START_TEST(test_bad_name_256_raw)
{
	char n256[256];
	int ret;

	/* over VDIFS_NAME_MAX: refused one way or another, never created */
	memset(n256, 'a', sizeof(n256));
	ret = raw_name_op(VDIFS_OP_CREATE, g_root, n256, 256);
	ck_assert_msg(ret < 0, "CREATE with a 256-byte name: %s", h_err(ret));
	vdc_close(g_cli);
	g_cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	{
		struct seen s = { 0 };

		readdir_all(g_root, 0, &s);
		ck_assert_int_eq(s.n, 0);
		seen_free(&s);
	}
}
END_TEST

START_TEST(test_setattr)
{
	struct vdc_attr f, d, a, b;
	struct vdc_setattr sa;
	u64 ch;

	f = mk(g_root, "f", S_IFREG | 0644);
	d = mk(g_root, "d", S_IFDIR | 0755);

	memset(&sa, 0, sizeof(sa));
	sa.valid = VDIFS_SETATTR_MODE;
	sa.mode = 0600;
	ck_ok(vdc_setattr(g_cli, g_v, f.ino, &sa, &a));
	ck_assert_uint_eq(a.mode, S_IFREG | 0600);
	sa.mode = 01777;
	ck_ok(vdc_setattr(g_cli, g_v, d.ino, &sa, &a));
	ck_assert_uint_eq(a.mode, S_IFDIR | 01777);
	ck_assert_uint_eq(get(d.ino).mode, S_IFDIR | 01777);

	sa.valid = VDIFS_SETATTR_UID | VDIFS_SETATTR_GID;
	sa.uid = 1234;
	sa.gid = 5678;
	ck_ok(vdc_setattr(g_cli, g_v, f.ino, &sa, &a));
	ck_assert_uint_eq(a.uid, 1234);
	ck_assert_uint_eq(a.gid, 5678);
	ck_assert_uint_eq(a.mode, S_IFREG | 0600);

	sa.valid = VDIFS_SETATTR_SIZE;
	sa.size = 12345;
	ck_ok(vdc_setattr(g_cli, g_v, f.ino, &sa, &a));
	ck_assert_uint_eq(a.size, 12345);
	ck_assert_uint_eq(get(f.ino).size, 12345);
	sa.size = 1ull << 40;
	ck_ok(vdc_setattr(g_cli, g_v, f.ino, &sa, &a));
	ck_assert_uint_eq(a.size, 1ull << 40);
	sa.size = 0;
	ck_ok(vdc_setattr(g_cli, g_v, f.ino, &sa, &a));
	ck_assert_uint_eq(a.size, 0);
	sa.size = 10;
	ck_ret(vdc_setattr(g_cli, g_v, d.ino, &sa, NULL), -EISDIR);

	sa.valid = VDIFS_SETATTR_ATIME | VDIFS_SETATTR_MTIME;
	sa.atime_ns = 1000000000123456789ll;
	sa.mtime_ns = 1234567890987654321ll;
	ck_ok(vdc_setattr(g_cli, g_v, f.ino, &sa, &a));
	ck_assert_int_eq(a.atime_ns, 1000000000123456789ll);
	ck_assert_int_eq(a.mtime_ns, 1234567890987654321ll);
	b = get(f.ino);
	ck_assert_int_eq(b.atime_ns, 1000000000123456789ll);
	ck_assert_int_eq(b.mtime_ns, 1234567890987654321ll);

	/* every change moves ctime and the change counter */
	b = get(f.ino);
	h_sleep_ms(5);
	sa.valid = VDIFS_SETATTR_UID;
	sa.uid = 42;
	ck_ok(vdc_setattr(g_cli, g_v, f.ino, &sa, &a));
	ck_assert_int_gt(a.ctime_ns, b.ctime_ns);
	ck_assert_uint_gt(a.change, b.change);
	ch = a.change;
	sa.valid = VDIFS_SETATTR_MODE;
	sa.mode = 0644;
	ck_ok(vdc_setattr(g_cli, g_v, f.ino, &sa, &a));
	ck_assert_uint_gt(a.change, ch);
	ck_assert_uint_eq(get(f.ino).change, a.change);
	/* times given as "now" are close to now */
	sa.valid = VDIFS_SETATTR_ATIME_NOW | VDIFS_SETATTR_MTIME_NOW;
	ck_ok(vdc_setattr(g_cli, g_v, f.ino, &sa, &a));
	{
		struct timespec ts;
		s64 now;

		clock_gettime(CLOCK_REALTIME, &ts);
		now = (s64)ts.tv_sec * 1000000000ll + ts.tv_nsec;
		ck_assert_int_lt(llabs(a.mtime_ns - now), 60000000000ll);
		ck_assert_int_lt(llabs(a.atime_ns - now), 60000000000ll);
	}
	ck_ret(vdc_setattr(g_cli, g_v, g_root + 1000000, &sa, NULL), -ENOENT);
}
END_TEST

START_TEST(test_rename_plain)
{
	struct vdc_attr a, d, root0;

	a = mk(g_root, "a", S_IFREG | 0644);
	d = mk(g_root, "d", S_IFDIR | 0755);
	root0 = get(g_root);
	ck_ok(vdc_rename(g_cli, g_v, g_root, "a", g_root, "b", 0));
	ck_ret(vdc_lookup(g_cli, g_v, g_root, "a", NULL), -ENOENT);
	ck_assert_uint_eq(look(g_root, "b").ino, a.ino);
	ck_assert_uint_eq(get(a.ino).nlink, 1);
	/* a file into another directory: no link counts change */
	ck_ok(vdc_rename(g_cli, g_v, g_root, "b", d.ino, "b", 0));
	ck_assert_uint_eq(look(d.ino, "b").ino, a.ino);
	ck_assert_uint_eq(get(d.ino).nlink, 2);
	ck_assert_uint_eq(get(g_root).nlink, root0.nlink);
	ck_ret(vdc_rename(g_cli, g_v, g_root, "nosuch", g_root, "x", 0),
	       -ENOENT);
	/* onto itself: nothing happens */
	ck_ok(vdc_rename(g_cli, g_v, d.ino, "b", d.ino, "b", 0));
	ck_assert_uint_eq(look(d.ino, "b").ino, a.ino);
}
END_TEST

START_TEST(test_rename_replace)
{
	struct vdc_attr a, b;

	a = mk(g_root, "a", S_IFREG | 0644);
	b = mk(g_root, "b", S_IFREG | 0644);
	/* a second name keeps the replaced inode observable */
	ck_ok(vdc_link(g_cli, g_v, b.ino, g_root, "b2", NULL));
	ck_assert_uint_eq(get(b.ino).nlink, 2);
	ck_ok(vdc_rename(g_cli, g_v, g_root, "a", g_root, "b", 0));
	ck_assert_uint_eq(look(g_root, "b").ino, a.ino);
	ck_ret(vdc_lookup(g_cli, g_v, g_root, "a", NULL), -ENOENT);
	ck_assert_uint_eq(get(b.ino).nlink, 1);
	ck_assert_uint_eq(look(g_root, "b2").ino, b.ino);
	/* and without another name the replaced inode is gone */
	ck_ok(vdc_rename(g_cli, g_v, g_root, "b", g_root, "b2", 0));
	ck_ret(vdc_getattr(g_cli, g_v, b.ino, NULL), -ENOENT);
	ck_assert_uint_eq(look(g_root, "b2").ino, a.ino);
}
END_TEST

START_TEST(test_rename_noreplace)
{
	struct vdc_attr a, b;

	a = mk(g_root, "a", S_IFREG | 0644);
	b = mk(g_root, "b", S_IFREG | 0644);
	ck_ret(vdc_rename(g_cli, g_v, g_root, "a", g_root, "b",
			  VDIFS_RENAME_NOREPLACE), -EEXIST);
	ck_assert_uint_eq(look(g_root, "a").ino, a.ino);
	ck_assert_uint_eq(look(g_root, "b").ino, b.ino);
	ck_ok(vdc_rename(g_cli, g_v, g_root, "a", g_root, "c",
			 VDIFS_RENAME_NOREPLACE));
	ck_assert_uint_eq(look(g_root, "c").ino, a.ino);
}
END_TEST

START_TEST(test_rename_exchange)
{
	struct vdc_attr a, d, root0;

	a = mk(g_root, "a", S_IFREG | 0644);
	d = mk(g_root, "d", S_IFDIR | 0755);
	root0 = get(g_root);
	ck_ok(vdc_rename(g_cli, g_v, g_root, "a", g_root, "d",
			 VDIFS_RENAME_EXCHANGE));
	ck_assert_uint_eq(look(g_root, "a").ino, d.ino);
	ck_assert_uint_eq(look(g_root, "d").ino, a.ino);
	ck_assert_uint_eq(get(g_root).nlink, root0.nlink);
	ck_ret(vdc_rename(g_cli, g_v, g_root, "a", g_root, "missing",
			  VDIFS_RENAME_EXCHANGE), -ENOENT);
	ck_ret(vdc_rename(g_cli, g_v, g_root, "missing", g_root, "a",
			  VDIFS_RENAME_EXCHANGE), -ENOENT);
	ck_assert_uint_eq(look(g_root, "a").ino, d.ino);
	/* across directories, a directory changes parent: counts follow */
	{
		struct vdc_attr p, sub, f;

		p = mk(g_root, "p", S_IFDIR | 0755);
		sub = mk(p.ino, "sub", S_IFDIR | 0755);
		f = mk(g_root, "f", S_IFREG | 0644);
		ck_assert_uint_eq(get(p.ino).nlink, 3);
		root0 = get(g_root);
		ck_ok(vdc_rename(g_cli, g_v, p.ino, "sub", g_root, "f",
				 VDIFS_RENAME_EXCHANGE));
		ck_assert_uint_eq(look(g_root, "f").ino, sub.ino);
		ck_assert_uint_eq(look(p.ino, "sub").ino, f.ino);
		ck_assert_uint_eq(get(p.ino).nlink, 2);
		ck_assert_uint_eq(get(g_root).nlink, root0.nlink + 1);
	}
}
END_TEST

START_TEST(test_rename_flags)
{
	struct vdifs_rename_req req;

	mk(g_root, "a", S_IFREG | 0644);
	mk(g_root, "b", S_IFREG | 0644);
	ck_ret(vdc_rename(g_cli, g_v, g_root, "a", g_root, "b",
			  VDIFS_RENAME_NOREPLACE | VDIFS_RENAME_EXCHANGE),
	       -EINVAL);
	/* the server refuses both flags, and unknown ones */
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(g_v);
	req.flags = cpu_to_le32(VDIFS_RENAME_NOREPLACE |
				VDIFS_RENAME_EXCHANGE);
	req.olddir = cpu_to_le64(g_root);
	req.newdir = cpu_to_le64(g_root);
	req.oldname_len = cpu_to_le16(1);
	req.newname_len = cpu_to_le16(1);
	ck_ret(vdc_call(g_cli, VDIFS_OP_RENAME, &req, sizeof(req), "a", 1,
			"b", 1, NULL), -EINVAL);
	req.flags = cpu_to_le32(1u << 7);
	ck_ret(vdc_call(g_cli, VDIFS_OP_RENAME, &req, sizeof(req), "a", 1,
			"b", 1, NULL), -EINVAL);
	look(g_root, "a");
	look(g_root, "b");
}
END_TEST

START_TEST(test_rename_dirs)
{
	struct vdc_attr d1, d2, d3, f, sub, root0;

	d1 = mk(g_root, "d1", S_IFDIR | 0755);
	d2 = mk(g_root, "d2", S_IFDIR | 0755);
	mk(d2.ino, "child", S_IFREG | 0644);
	f = mk(g_root, "f", S_IFREG | 0644);

	ck_ret(vdc_rename(g_cli, g_v, g_root, "d1", g_root, "d2", 0),
	       -ENOTEMPTY);
	ck_ret(vdc_rename(g_cli, g_v, g_root, "d1", g_root, "f", 0),
	       -ENOTDIR);
	ck_ret(vdc_rename(g_cli, g_v, g_root, "f", g_root, "d1", 0),
	       -EISDIR);
	ck_assert_uint_eq(look(g_root, "d1").ino, d1.ino);
	ck_assert_uint_eq(look(g_root, "f").ino, f.ino);

	/* into its own subdirectory */
	sub = mk(d1.ino, "sub", S_IFDIR | 0755);
	ck_ret(vdc_rename(g_cli, g_v, g_root, "d1", sub.ino, "x", 0),
	       -EINVAL);
	ck_ret(vdc_rename(g_cli, g_v, g_root, "d1", d1.ino, "x", 0), -EINVAL);
	ck_assert_uint_eq(look(g_root, "d1").ino, d1.ino);

	/* onto an empty directory: replaces it */
	d3 = mk(g_root, "d3", S_IFDIR | 0755);
	root0 = get(g_root);
	ck_ok(vdc_rename(g_cli, g_v, g_root, "d1", g_root, "d3", 0));
	ck_assert_uint_eq(look(g_root, "d3").ino, d1.ino);
	ck_ret(vdc_getattr(g_cli, g_v, d3.ino, NULL), -ENOENT);
	ck_assert_uint_eq(get(g_root).nlink, root0.nlink - 1);
}
END_TEST

START_TEST(test_rename_dir_across)
{
	struct vdc_attr a, b, sub;

	a = mk(g_root, "a", S_IFDIR | 0755);
	b = mk(g_root, "b", S_IFDIR | 0755);
	sub = mk(a.ino, "sub", S_IFDIR | 0755);
	ck_assert_uint_eq(get(a.ino).nlink, 3);
	ck_assert_uint_eq(get(b.ino).nlink, 2);
	ck_assert_uint_eq(get(g_root).nlink, 4);
	ck_ok(vdc_rename(g_cli, g_v, a.ino, "sub", b.ino, "moved", 0));
	ck_assert_uint_eq(get(a.ino).nlink, 2);
	ck_assert_uint_eq(get(b.ino).nlink, 3);
	ck_assert_uint_eq(get(g_root).nlink, 4);
	ck_assert_uint_eq(look(b.ino, "moved").ino, sub.ino);
	ck_ret(vdc_lookup(g_cli, g_v, a.ino, "sub", NULL), -ENOENT);
	/* and the old parent can now go */
	ck_ok(vdc_rmdir(g_cli, g_v, g_root, "a"));
	ck_assert_uint_eq(get(g_root).nlink, 3);
	/* the moved directory is not empty-checked wrongly */
	ck_ret(vdc_rmdir(g_cli, g_v, g_root, "b"), -ENOTEMPTY);
}
END_TEST

START_TEST(test_readdir_many)
{
	struct seen s = { 0 };
	int idx[300] = { 0 };
	char name[64];
	int i, rounds;
	bool eof;

	/* an empty directory */
	ck_ret(vdc_readdir(g_cli, g_v, g_root, 0, 4096, NULL, NULL, &eof), 0);
	ck_assert(eof);

	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "entry-%03d-with-a-longer-name", i);
		mk(g_root, name, i % 10 ? S_IFREG | 0644 : S_IFDIR | 0755);
	}
	rounds = readdir_all(g_root, 1024, &s);
	ck_assert_int_gt(rounds, 5);
	ck_assert(!s.dots);
	ck_assert_int_eq(s.n, 300);
	for (i = 0; i < s.n; i++) {
		int k;

		ck_assert_msg(sscanf(s.names[i], "entry-%d-", &k) == 1 &&
			      k >= 0 && k < 300, "unexpected name %s",
			      s.names[i]);
		idx[k]++;
		ck_assert_uint_eq(s.types[i], k % 10 ? DT_REG : DT_DIR);
	}
	for (i = 0; i < 300; i++)
		ck_assert_msg(idx[i] == 1, "entry %d seen %d times", i, idx[i]);
	/* the inode numbers are the right ones */
	ck_assert_uint_eq(look(g_root, s.names[17]).ino, s.inos[17]);
	seen_free(&s);
}
END_TEST

START_TEST(test_readdir_cookies)
{
	struct seen s = { 0 };
	int orig[200] = { 0 }, added[30] = { 0 };
	bool deleted[200] = { false };
	char name[32];
	int i, k, ndel = 0, pages = 0;

	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "c%03d", i);
		mk(g_root, name, S_IFREG | 0644);
	}
	/* read about half */
	while (s.n < 100) {
		ck_assert(!readdir_page(g_root, 512, &s));
		pages++;
	}
	ck_assert_int_gt(pages, 1);
	for (i = 0; i < s.n; i++) {
		ck_assert_int_eq(sscanf(s.names[i], "c%d", &k), 1);
		orig[k]++;
	}
	/* delete 30 not read yet, add 30 */
	for (i = 199; i >= 0 && ndel < 30; i -= 2) {
		if (orig[i])
			continue;
		snprintf(name, sizeof(name), "c%03d", i);
		ck_ok(vdc_unlink(g_cli, g_v, g_root, name));
		deleted[i] = true;
		ndel++;
	}
	ck_assert_int_eq(ndel, 30);
	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "new%02d", i);
		mk(g_root, name, S_IFREG | 0644);
	}
	/* continue from the cookie */
	{
		int first = s.n;

		while (!readdir_page(g_root, 512, &s))
			ck_assert_int_lt(++pages, 10000);
		for (i = first; i < s.n; i++) {
			if (sscanf(s.names[i], "c%d", &k) == 1) {
				ck_assert_msg(!deleted[k],
					      "deleted entry %s returned",
					      s.names[i]);
				orig[k]++;
			} else {
				ck_assert_msg(sscanf(s.names[i], "new%d",
						     &k) == 1 &&
					      k >= 0 && k < 30,
					      "unexpected %s", s.names[i]);
				added[k]++;
			}
		}
	}
	for (i = 0; i < 200; i++)
		if (!deleted[i])
			ck_assert_msg(orig[i] == 1, "c%03d seen %d times", i,
				      orig[i]);
	for (i = 0; i < 30; i++)
		ck_assert_msg(added[i] <= 1, "new%02d seen %d times", i,
			      added[i]);
	seen_free(&s);
}
END_TEST

START_TEST(test_xattr)
{
	struct vdc_attr f = mk(g_root, "f", S_IFREG | 0644);
	static u8 big[65536], back[65536];
	char buf[256], list[256];
	int i, n;

	ck_ok(vdc_setxattr(g_cli, g_v, f.ino, "user.a", "hello", 5, 0));
	ck_assert_int_eq(vdc_getxattr(g_cli, g_v, f.ino, "user.a", buf,
				      sizeof(buf)), 5);
	ck_assert_mem_eq(buf, "hello", 5);
	ck_assert_int_eq(vdc_getxattr(g_cli, g_v, f.ino, "user.a", NULL, 0),
			 5);
	ck_ret(vdc_getxattr(g_cli, g_v, f.ino, "user.a", buf, 2), -ERANGE);
	ck_ret(vdc_getxattr(g_cli, g_v, f.ino, "user.missing", buf,
			    sizeof(buf)), -ENODATA);
	ck_ret(vdc_getxattr(g_cli, g_v, f.ino, "user.missing", NULL, 0),
	       -ENODATA);

	ck_ret(vdc_setxattr(g_cli, g_v, f.ino, "user.a", "x", 1,
			    VDIFS_XATTR_CREATE), -EEXIST);
	ck_ret(vdc_setxattr(g_cli, g_v, f.ino, "user.missing", "x", 1,
			    VDIFS_XATTR_REPLACE), -ENODATA);
	ck_ok(vdc_setxattr(g_cli, g_v, f.ino, "user.a", "world!", 6,
			   VDIFS_XATTR_REPLACE));
	ck_assert_int_eq(vdc_getxattr(g_cli, g_v, f.ino, "user.a", buf,
				      sizeof(buf)), 6);
	ck_assert_mem_eq(buf, "world!", 6);
	ck_ok(vdc_setxattr(g_cli, g_v, f.ino, "user.b", "2", 1,
			   VDIFS_XATTR_CREATE));

	/* only the user namespace */
	ck_ret(vdc_setxattr(g_cli, g_v, f.ino, "security.x", "x", 1, 0),
	       -EOPNOTSUPP);
	ck_ret(vdc_setxattr(g_cli, g_v, f.ino, "trusted.x", "x", 1, 0),
	       -EOPNOTSUPP);
	ck_ret(vdc_setxattr(g_cli, g_v, f.ino, "noprefix", "x", 1, 0),
	       -EOPNOTSUPP);

	/* list: "user.a\0user.b\0" in some order */
	n = vdc_listxattr(g_cli, g_v, f.ino, NULL, 0);
	ck_assert_int_eq(n, 14);
	n = vdc_listxattr(g_cli, g_v, f.ino, list, sizeof(list));
	ck_assert_int_eq(n, 14);
	ck_assert(list[n - 1] == '\0');
	ck_assert((!strcmp(list, "user.a") && !strcmp(list + 7, "user.b")) ||
		  (!strcmp(list, "user.b") && !strcmp(list + 7, "user.a")));
	ck_ret(vdc_listxattr(g_cli, g_v, f.ino, list, 5), -ERANGE);

	/* remove */
	ck_ok(vdc_removexattr(g_cli, g_v, f.ino, "user.a"));
	ck_ret(vdc_getxattr(g_cli, g_v, f.ino, "user.a", buf, sizeof(buf)),
	       -ENODATA);
	ck_ret(vdc_removexattr(g_cli, g_v, f.ino, "user.a"), -ENODATA);
	n = vdc_listxattr(g_cli, g_v, f.ino, list, sizeof(list));
	ck_assert_int_eq(n, 7);
	ck_assert_str_eq(list, "user.b");

	/* the largest value */
	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (u8)(i * 7 + (i >> 8));
	ck_ok(vdc_setxattr(g_cli, g_v, f.ino, "user.big", big, sizeof(big),
			   0));
	ck_assert_int_eq(vdc_getxattr(g_cli, g_v, f.ino, "user.big", NULL, 0),
			 65536);
	ck_assert_int_eq(vdc_getxattr(g_cli, g_v, f.ino, "user.big", back,
				      sizeof(back)), 65536);
	ck_assert(!memcmp(big, back, sizeof(big)));
	ck_ret(vdc_getxattr(g_cli, g_v, f.ino, "user.big", back, 65535),
	       -ERANGE);

	/* directories have them too; and inodes that are gone do not */
	ck_ok(vdc_setxattr(g_cli, g_v, g_root, "user.dir", "d", 1, 0));
	ck_assert_int_eq(vdc_getxattr(g_cli, g_v, g_root, "user.dir", buf,
				      sizeof(buf)), 1);
	ck_ok(vdc_unlink(g_cli, g_v, g_root, "f"));
	ck_ret(vdc_getxattr(g_cli, g_v, f.ino, "user.b", buf, sizeof(buf)),
	       -ENOENT);
}
END_TEST

START_TEST(test_ino_unique)
{
	u64 inos[50];
	char name[16];
	int i, j;

	for (i = 0; i < 50; i++) {
		struct vdc_attr a = mk(g_root, "tmp", S_IFREG | 0644);

		inos[i] = a.ino;
		ck_assert_uint_ne(a.ino, g_root);
		ck_ok(vdc_unlink(g_cli, g_v, g_root, "tmp"));
	}
	for (i = 0; i < 50; i++)
		for (j = i + 1; j < 50; j++)
			ck_assert_msg(inos[i] != inos[j],
				      "inode %llu reused (%d and %d)",
				      (unsigned long long)inos[i], i, j);
	/* directories too */
	for (i = 0; i < 5; i++) {
		struct vdc_attr a;

		snprintf(name, sizeof(name), "d%d", i);
		a = mk(g_root, name, S_IFDIR | 0755);
		for (j = 0; j < 50; j++)
			ck_assert_uint_ne(a.ino, inos[j]);
		ck_ok(vdc_rmdir(g_cli, g_v, g_root, name));
	}
}
END_TEST

/* ================================================================== */
/* layouts                                                             */
/* ================================================================== */

START_TEST(test_chunk_inherit)
{
	struct vdc_params p = { .chunk_size = 1 * MiB };
	struct vdc_attr d, a;
	u32 cs = 0;

	d = mk(g_root, "d", S_IFDIR | 0755);
	ck_ok(vdc_layout_set(g_cli, g_v, d.ino, &p, &a));
	ck_assert_uint_eq(a.params.chunk_size, 1 * MiB);
	ck_assert_uint_eq(get(d.ino).params.chunk_size, 1 * MiB);

	a = mk(d.ino, "f", S_IFREG | 0644);
	ck_assert_uint_eq(a.params.chunk_size, 1 * MiB);
	ck_assert_int_ge(vdc_layout_get(g_cli, g_v, a.ino, 0, 1, 0, NULL, 0,
					&cs), 0);
	ck_assert_uint_eq(cs, 1 * MiB);
	a = mk(d.ino, "s", S_IFDIR | 0755);
	ck_assert_uint_eq(a.params.chunk_size, 1 * MiB);
	a = mk(a.ino, "g", S_IFREG | 0644);
	ck_assert_uint_eq(a.params.chunk_size, 1 * MiB);

	/* elsewhere, the volume's default */
	a = mk(g_root, "h", S_IFREG | 0644);
	ck_assert_uint_eq(a.params.chunk_size, g_vol.params.chunk_size);
	/* an explicit size at create time wins */
	{
		struct vdc_params q = { .chunk_size = 4 * MiB };

		ck_ok(vdc_create(g_cli, g_v, d.ino, "own", S_IFREG | 0644, 0,
				 0, 0, true, &q, &a));
		ck_assert_uint_eq(a.params.chunk_size, 4 * MiB);
	}
	/* invalid sizes */
	p.chunk_size = 3 * MiB;
	ck_ret(vdc_layout_set(g_cli, g_v, d.ino, &p, NULL), -EINVAL);
	{
		struct vdifs_layout_set_req req;

		memset(&req, 0, sizeof(req));
		req.vol = cpu_to_le32(g_v);
		req.ino = cpu_to_le64(d.ino);
		req.params.chunk_size = cpu_to_le32(3 * MiB);
		ck_ret(vdc_call(g_cli, VDIFS_OP_LAYOUT_SET, &req, sizeof(req),
				NULL, 0, NULL, 0, NULL), -EINVAL);
		req.params.chunk_size = cpu_to_le32(2u << 30);
		ck_ret(vdc_call(g_cli, VDIFS_OP_LAYOUT_SET, &req, sizeof(req),
				NULL, 0, NULL, 0, NULL), -EINVAL);
		req.params.chunk_size = cpu_to_le32(VDIFS_CHUNK_MIN / 2);
		ck_ret(vdc_call(g_cli, VDIFS_OP_LAYOUT_SET, &req, sizeof(req),
				NULL, 0, NULL, 0, NULL), -EINVAL);
	}
	ck_assert_uint_eq(get(d.ino).params.chunk_size, 1 * MiB);
}
END_TEST

START_TEST(test_layout_set_file)
{
	struct vdc_params p = { .chunk_size = 4 * MiB };
	struct vdifs_chunk ch[4];
	struct vdc_conn *ds;
	struct vdc_attr f, a;
	u32 id, cs = 0;

	ds = ds_join(0, 100 * GiB, &id);
	f = mk(g_root, "f", S_IFREG | 0644);
	ck_ok(vdc_layout_set(g_cli, g_v, f.ino, &p, &a));
	ck_assert_uint_eq(a.params.chunk_size, 4 * MiB);
	ck_assert_uint_eq(get(f.ino).params.chunk_size, 4 * MiB);
	/* reading the layout allocates nothing */
	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, f.ino, 0, 1, 0, ch, 4,
					&cs), 1);
	ck_assert_uint_eq(le64_to_cpu(ch[0].chunk_id), 0);
	p.chunk_size = 2 * MiB;
	ck_ok(vdc_layout_set(g_cli, g_v, f.ino, &p, &a));
	ck_assert_uint_eq(a.params.chunk_size, 2 * MiB);

	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, f.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, ch, 4, &cs), 1);
	ck_assert_uint_eq(cs, 2 * MiB);
	ck_assert_uint_ne(le64_to_cpu(ch[0].chunk_id), 0);
	ck_assert_uint_eq(ch[0].nrep, 1);
	ck_assert_uint_eq(le32_to_cpu(ch[0].ds[0]), id);
	p.chunk_size = 8 * MiB;
	ck_ret(vdc_layout_set(g_cli, g_v, f.ino, &p, NULL), -EBUSY);
	ck_assert_uint_eq(get(f.ino).params.chunk_size, 2 * MiB);
	vdc_close(ds);
}
END_TEST

/* CLONE_RANGE and LAYOUT_FORK refuse bad arguments before any data server */
static int raw_clone_range(u64 ino, u64 dst, u64 so, u64 doff, u64 len,
			   u32 flags)
{
	struct vdifs_clone_range_req q = {
		.vol = cpu_to_le32(g_v), .flags = cpu_to_le32(flags),
		.ino = cpu_to_le64(ino), .dst = cpu_to_le64(dst),
		.src_off = cpu_to_le64(so), .dst_off = cpu_to_le64(doff),
		.len = cpu_to_le64(len),
	};

	return vdc_call(g_cli, VDIFS_OP_CLONE_RANGE, &q, sizeof(q), NULL, 0,
			NULL, 0, NULL);
}

static int raw_fork(u64 ino, u64 index, u64 chunk_id, u32 pad)
{
	struct vdifs_layout_fork_req q = {
		.vol = cpu_to_le32(g_v), .pad = cpu_to_le32(pad),
		.ino = cpu_to_le64(ino), .index = cpu_to_le64(index),
		.chunk_id = cpu_to_le64(chunk_id),
	};

	return vdc_call(g_cli, VDIFS_OP_LAYOUT_FORK, &q, sizeof(q), NULL, 0,
			NULL, 0, NULL);
}

START_TEST(test_clone_range_fork_args)
{
	struct vdc_setattr sa = { .valid = VDIFS_SETATTR_SIZE,
				  .size = 3 * 64 * MiB };
	struct vdifs_chunk ch[1];
	struct vdc_attr f, g, d;
	struct vdc_conn *ds;
	u32 id, cs = 0;
	u64 x;

	ds = ds_join(0, 100 * GiB, &id);
	f = mk(g_root, "f", S_IFREG | 0644);
	g = mk(g_root, "g", S_IFREG | 0644);
	d = mk(g_root, "d", S_IFDIR | 0755);
	ck_ok(vdc_setattr(g_cli, g_v, f.ino, &sa, NULL));
	cs = get(f.ino).params.chunk_size;
	ck_ret(raw_clone_range(f.ino, g.ino, 0, 0, cs, 1), -EINVAL);
	ck_ret(raw_clone_range(f.ino, g.ino, 0, 0, 0, 0), -EINVAL);
	ck_ret(raw_clone_range(f.ino, f.ino, 0, cs, cs, 0), -EINVAL);
	ck_ret(raw_clone_range(f.ino, d.ino, 0, 0, cs, 0), -EISDIR);
	ck_ret(raw_clone_range(d.ino, g.ino, 0, 0, cs, 0), -EISDIR);
	ck_ret(raw_clone_range(f.ino + 1000, g.ino, 0, 0, cs, 0), -ENOENT);
	ck_ret(raw_clone_range(f.ino, g.ino, 4096, 4096, cs, 0), -EINVAL);
	ck_ret(raw_clone_range(f.ino, g.ino, 0, 0, 4 * (u64)cs, 0), -EINVAL);
	ck_ret(raw_clone_range(f.ino, g.ino, 0, 0, cs + 4096, 0), -EINVAL);
	ck_ret(raw_clone_range(f.ino, g.ino, 0, UINT64_MAX - cs + 1, cs, 0),
	       -EINVAL);
	/* the source has no chunk yet: a hole stays a hole */
	ck_ok(raw_clone_range(f.ino, g.ino, 0, cs, cs, 0));
	ck_assert_uint_eq(get(g.ino).size, 2 * (u64)cs);

	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, f.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, ch, 1, &cs), 1);
	x = le64_to_cpu(ch[0].chunk_id);
	ck_ret(raw_fork(f.ino, 0, x, 1), -EINVAL);
	ck_ret(raw_fork(f.ino, 0, 0, 0), -EINVAL);
	ck_ret(raw_fork(d.ino, 0, x, 0), -EISDIR);
	/* a hole, or a chunk the file no longer has: nothing to do */
	ck_ok(raw_fork(f.ino, 2, x, 0));
	ck_ok(raw_fork(f.ino, 0, x + 1000, 0));
	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, f.ino, 0, 1, 0, ch, 1,
					&cs), 1);
	ck_assert_uint_eq(le64_to_cpu(ch[0].chunk_id), x);
	vdc_close(ds);
}
END_TEST

/* ================================================================== */
/* placement                                                           */
/* ================================================================== */

struct status_snap {
	u32 ds_id[16];
	u8 ds_state[16];
	u64 ds_chunks[16];
	int nds;
	u64 sess[16];
	u8 sess_state[16];
	char sess_name[16][64];
	int nsess;
};

static int snap_ds(const struct vdifs_ds_status *d, void *arg)
{
	struct status_snap *s = arg;

	if (s->nds < 16) {
		s->ds_id[s->nds] = le32_to_cpu(d->ds_id);
		s->ds_state[s->nds] = d->state;
		s->ds_chunks[s->nds] = le64_to_cpu(d->chunks);
		s->nds++;
	}
	return 0;
}

static int snap_sess(const struct vdifs_session_status *ss, const char *name,
		     void *arg)
{
	struct status_snap *s = arg;

	if (s->nsess < 16) {
		s->sess[s->nsess] = le64_to_cpu(ss->session);
		s->sess_state[s->nsess] = ss->state;
		snprintf(s->sess_name[s->nsess], 64, "%s", name);
		s->nsess++;
	}
	return 0;
}

static void snap(struct status_snap *s)
{
	struct vdc_status_cbs cbs = { .ds = snap_ds, .session = snap_sess };
	struct vdifs_status_rep rep = { 0 };

	memset(s, 0, sizeof(*s));
	ck_ok(vdc_status(g_tool, &cbs, s, &rep));
	ck_assert_uint_ne(le64_to_cpu(rep.server_epoch), 0);
}

/* VDIFS_STATE_* of a data server, 0 if not listed */
static int status_ds_state(u32 id)
{
	struct status_snap s;
	int i;

	snap(&s);
	for (i = 0; i < s.nds; i++)
		if (s.ds_id[i] == id)
			return s.ds_state[i];
	return 0;
}

static int status_sess_state(u64 id)
{
	struct status_snap s;
	int i;

	snap(&s);
	for (i = 0; i < s.nsess; i++)
		if (s.sess[i] == id)
			return s.sess_state[i];
	return 0;
}

START_TEST(test_placement)
{
	struct vdc_params p = { .replicas = 3 };
	struct vdifs_chunk ch[64], again[64], holes[10];
	struct vdc_conn *ds[4];
	struct vdc_vol v;
	struct vdc_attr f;
	u32 id[4], cs = 0;
	int used[4] = { 0 };
	int i, j, k, n;

	for (i = 0; i < 4; i++) {
		ds[i] = ds_join(i, (u64)(i + 1) * 100 * GiB, &id[i]);
		for (j = 0; j < i; j++)
			ck_assert_uint_ne(id[i], id[j]);
	}
	/* re-registering a known id keeps it */
	{
		struct vdifs_ds_register_rep rep;

		ck_ok(vdc_ds_register(ds[0], id[0], "127.0.0.1:21000",
				      100 * GiB, 0, &rep));
		ck_assert_uint_eq(le32_to_cpu(rep.ds_id), id[0]);
		ck_assert_uint_gt(le32_to_cpu(rep.lease_ms), 0);
	}
	ck_ok(vdc_vol_create(g_tool, "pl", &p, &v));
	ck_assert_uint_eq(v.params.replicas, 3);
	g_v = v.vol;
	f = mk(v.root_ino, "f", S_IFREG | 0644);
	ck_assert_uint_eq(f.params.replicas, 3);

	n = vdc_layout_get(g_cli, g_v, f.ino, 0, 64, VDIFS_LAYOUT_ALLOC, ch,
			   64, &cs);
	ck_assert_int_eq(n, 64);
	ck_assert_uint_eq(cs, v.params.chunk_size);
	for (i = 0; i < 64; i++) {
		u64 cid = le64_to_cpu(ch[i].chunk_id);

		ck_assert_uint_ne(cid, 0);
		ck_assert_uint_eq(ch[i].nrep, 3);
		for (j = 0; j < i; j++)
			ck_assert_uint_ne(cid, le64_to_cpu(ch[j].chunk_id));
		for (j = 0; j < 3; j++) {
			u32 d = le32_to_cpu(ch[i].ds[j]);
			bool known = false;

			for (k = 0; k < 4; k++) {
				if (d == id[k]) {
					known = true;
					used[k]++;
				}
			}
			ck_assert_msg(known, "chunk %d replica %d on ds %u", i,
				      j, d);
			for (k = 0; k < j; k++)
				ck_assert_uint_ne(d,
						  le32_to_cpu(ch[i].ds[k]));
		}
	}
	for (k = 0; k < 4; k++)
		ck_assert_msg(used[k] > 0, "ds %u got no chunk", id[k]);

	/* stable: asked again, with or without ALLOC */
	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, f.ino, 0, 64, 0, again,
					64, NULL), 64);
	ck_assert(!memcmp(ch, again, sizeof(ch)));
	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, f.ino, 0, 64,
					VDIFS_LAYOUT_ALLOC, again, 64, NULL),
			 64);
	ck_assert(!memcmp(ch, again, sizeof(ch)));
	/* a middle range */
	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, f.ino, 10, 5, 0, again,
					64, NULL), 5);
	ck_assert(!memcmp(&ch[10], again, 5 * sizeof(ch[0])));
	/* past what was allocated: holes */
	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, f.ino, 100, 10, 0, holes,
					10, NULL), 10);
	for (i = 0; i < 10; i++)
		ck_assert_uint_eq(le64_to_cpu(holes[i].chunk_id), 0);
	/* status counts the replicas placed on each server */
	{
		struct status_snap s;
		u64 total = 0;

		snap(&s);
		ck_assert_int_eq(s.nds, 4);
		for (i = 0; i < s.nds; i++) {
			for (k = 0; k < 4; k++) {
				if (s.ds_id[i] != id[k])
					continue;
				ck_assert_uint_eq(s.ds_state[i],
						  VDIFS_STATE_UP);
				ck_assert_uint_eq(s.ds_chunks[i],
						  (u64)used[k]);
			}
			total += s.ds_chunks[i];
		}
		ck_assert_uint_eq(total, 64 * 3);
	}
	for (i = 0; i < 4; i++)
		vdc_close(ds[i]);
}
END_TEST

/*
 * Fewer up servers than replicas: a volume that wants every copy
 * (min_replicas = replicas) gets -ENOSPC and nothing half-allocated; one
 * content with fewer gets its chunks on the servers there are, degraded.
 */
START_TEST(test_placement_enospc)
{
	struct vdc_params p = { .replicas = 3, .min_replicas = 3 };
	struct vdc_params p1 = { .replicas = 3 };
	struct vdifs_chunk ch[4];
	struct vdc_conn *ds[2];
	struct vdc_vol v, v1;
	struct vdc_attr f, g;
	u32 id[2];

	ds[0] = ds_join(0, 100 * GiB, &id[0]);
	ds[1] = ds_join(1, 100 * GiB, &id[1]);
	ck_ok(vdc_vol_create(g_tool, "one", &p1, &v1));
	g_v = v1.vol;
	f = mk(v1.root_ino, "f", S_IFREG | 0644);
	ck_assert_int_eq(vdc_layout_get(g_cli, v1.vol, f.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, ch, 4, NULL), 1);
	ck_assert_uint_eq(ch[0].nrep, 2);
	ck_assert_uint_ne(ch[0].ds[0], ch[0].ds[1]);
	ck_ok(vdc_vol_create(g_tool, "three", &p, &v));
	g_v = v.vol;
	f = mk(v.root_ino, "f", S_IFREG | 0644);
	ck_ret(vdc_layout_get(g_cli, g_v, f.ino, 0, 1, VDIFS_LAYOUT_ALLOC, ch,
			      4, NULL), -ENOSPC);
	/* nothing half-allocated */
	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, f.ino, 0, 1, 0, ch, 4,
					NULL), 1);
	ck_assert_uint_eq(le64_to_cpu(ch[0].chunk_id), 0);
	/* two replicas fit */
	p.replicas = 2;
	p.min_replicas = 0;
	ck_ok(vdc_create(g_cli, g_v, v.root_ino, "g", S_IFREG | 0644, 0, 0, 0,
			 true, &p, &g));
	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, g.ino, 0, 1,
					VDIFS_LAYOUT_ALLOC, ch, 4, NULL), 1);
	ck_assert_uint_eq(ch[0].nrep, 2);
	vdc_close(ds[0]);
	vdc_close(ds[1]);
}
END_TEST

START_TEST(test_placement_no_ds)
{
	struct vdifs_chunk ch[1];
	struct vdc_vol v;
	struct vdc_attr f;

	ck_ok(vdc_vol_create(g_tool, "empty", NULL, &v));
	g_v = v.vol;
	f = mk(v.root_ino, "f", S_IFREG | 0644);
	ck_ret(vdc_layout_get(g_cli, g_v, f.ino, 0, 1, VDIFS_LAYOUT_ALLOC, ch,
			      1, NULL), -ENOSPC);
	/* layouts of directories do not exist */
	ck_ret(vdc_layout_get(g_cli, g_v, v.root_ino, 0, 1, 0, ch, 1, NULL),
	       -EISDIR);
}
END_TEST

/* ================================================================== */
/* membership, heartbeats                                              */
/* ================================================================== */

START_TEST(test_ds_expiry)
{
	struct vdifs_ds_register_rep rep;
	struct vdifs_chunk ch[32];
	struct vdc_conn *a, *b;
	struct vdc_vol v;
	struct vdc_attr f;
	u32 ida, idb;
	long long end;
	int i;

	a = h_connect(&g_mds, VDIFS_ROLE_DS);
	b = h_connect(&g_mds, VDIFS_ROLE_DS);
	ck_ok(vdc_ds_register(a, 0, "127.0.0.1:21001", 100 * GiB, 0, &rep));
	ida = le32_to_cpu(rep.ds_id);
	ck_assert_uint_eq(le32_to_cpu(rep.heartbeat_ms), 100);
	ck_assert_uint_eq(le32_to_cpu(rep.lease_ms), 600);
	ck_ok(vdc_ds_register(b, 0, "127.0.0.1:21002", 900 * GiB, 0, &rep));
	idb = le32_to_cpu(rep.ds_id);
	ck_assert_uint_ne(ida, idb);
	ck_assert_int_eq(status_ds_state(ida), VDIFS_STATE_UP);
	ck_assert_int_eq(status_ds_state(idb), VDIFS_STATE_UP);

	/* a heartbeats, b stays silent (its connection open) */
	end = h_now_ms() + 1500;
	while (h_now_ms() < end) {
		ck_ok(vdc_ds_heartbeat(a, ida, 100 * GiB, 1 * GiB, NULL));
		h_sleep_ms(100);
	}
	ck_ok(vdc_ds_heartbeat(a, ida, 100 * GiB, 1 * GiB, NULL));
	ck_assert_int_eq(status_ds_state(ida), VDIFS_STATE_UP);
	ck_assert_int_eq(status_ds_state(idb), VDIFS_STATE_DOWN);

	/* new placements avoid b */
	ck_ok(vdc_vol_create(g_tool, "hb", NULL, &v));
	g_v = v.vol;
	f = mk(v.root_ino, "f", S_IFREG | 0644);
	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, f.ino, 0, 32,
					VDIFS_LAYOUT_ALLOC, ch, 32, NULL), 32);
	for (i = 0; i < 32; i++) {
		ck_assert_uint_eq(ch[i].nrep, 1);
		ck_assert_uint_eq(le32_to_cpu(ch[i].ds[0]), ida);
	}

	/* unknown ids */
	ck_ret(vdc_ds_heartbeat(a, 999999, 1, 0, NULL), -ENOENT);
	vdc_close(a);
	vdc_close(b);
}
END_TEST

START_TEST(test_session_expiry)
{
	struct vdifs_session_rep r1, r2;
	struct status_snap s;
	struct vdc_conn *c2;
	struct vdc_vol v;
	long long end;
	u64 s1, s2;
	int i;
	bool found1 = false, found2 = false;

	ck_ok(vdc_vol_create(g_tool, "sv", NULL, &v));
	c2 = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	ck_ok(vdc_session_open(g_cli, v.vol, "host-one", &r1));
	ck_ok(vdc_session_open(c2, v.vol, "host-two", &r2));
	s1 = le64_to_cpu(r1.session);
	s2 = le64_to_cpu(r2.session);
	ck_assert_uint_ne(s1, 0);
	ck_assert_uint_ne(s2, 0);
	ck_assert_uint_ne(s1, s2);
	ck_assert_uint_eq(le32_to_cpu(r1.lease_ms), 600);
	ck_assert_int_eq(status_sess_state(s1), VDIFS_STATE_UP);
	ck_assert_int_eq(status_sess_state(s2), VDIFS_STATE_UP);

	end = h_now_ms() + 1500;
	while (h_now_ms() < end) {
		ck_ok(vdc_session_heartbeat(g_cli, s1));
		h_sleep_ms(100);
	}
	ck_ok(vdc_session_heartbeat(g_cli, s1));
	snap(&s);
	for (i = 0; i < s.nsess; i++) {
		if (s.sess[i] == s1) {
			found1 = true;
			ck_assert_uint_eq(s.sess_state[i], VDIFS_STATE_UP);
			ck_assert_str_eq(s.sess_name[i], "host-one");
		}
		if (s.sess[i] == s2) {
			found2 = true;
			ck_assert_uint_eq(s.sess_state[i], VDIFS_STATE_DOWN);
			ck_assert_str_eq(s.sess_name[i], "host-two");
		}
	}
	ck_assert(found1);
	ck_assert_msg(found2, "an expired session is not reported at all");
	vdc_close(c2);
}
END_TEST

START_TEST(test_heartbeat_unknown)
{
	struct vdc_conn *d = h_connect(&g_mds, VDIFS_ROLE_DS);
	struct vdifs_ds_register_rep rep;
	u32 id;

	/* only data servers register and heartbeat; only tools administer */
	ck_ret(vdc_ds_register(g_cli, 0, "127.0.0.1:21009", GiB, 0, &rep),
	       -EPERM);
	ck_ret(vdc_ds_heartbeat(g_tool, 1, GiB, 0, NULL), -EPERM);
	ck_ret(vdc_vol_create(g_cli, "notmine", NULL, NULL), -EPERM);
	ck_ret(vdc_vol_create(d, "notmine", NULL, NULL), -EPERM);
	ck_ret(vdc_ds_heartbeat(d, 4242, 1, 0, NULL), -ENOENT);
	vdc_close(d);
	d = ds_join(0, GiB, &id);
	ck_ok(vdc_ds_heartbeat(d, id, GiB, 0, NULL));
	ck_ret(vdc_ds_heartbeat(d, id + 100, GiB, 0, NULL), -ENOENT);
	vdc_close(d);
}
END_TEST

/* ================================================================== */
/* restart                                                             */
/* ================================================================== */

#define NREC 9

struct world {
	struct vdc_vol alpha, beta;
	const char *paths[NREC];
	struct vdc_attr attrs[NREC];
	struct vdifs_chunk chunks[8];
	u32 ds[2];
	u64 used_inos[64];
	int nused;
	u8 big[1000];
};

/* look a path up from a root */
static int walk(u32 vol, u64 root, const char *path, struct vdc_attr *out)
{
	char buf[256], *save = NULL, *tok;
	u64 cur = root;
	int ret;

	snprintf(buf, sizeof(buf), "%s", path);
	if (!strcmp(path, "/"))
		return vdc_getattr(g_cli, vol, root, out);
	for (tok = strtok_r(buf, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		struct vdc_attr a;

		ret = vdc_lookup(g_cli, vol, cur, tok, &a);
		if (ret)
			return ret;
		cur = a.ino;
		*out = a;
	}
	return 0;
}

static void world_build(struct world *w)
{
	struct vdc_params pb = {
		.chunk_size = 1 * MiB, .replicas = 2,
		.repl_mode = VDIFS_REPL_ASYNC,
	};
	struct vdc_params pd = { .chunk_size = 2 * MiB };
	struct vdc_setattr sa = { 0 };
	struct vdc_conn *ds[2];
	struct vdc_attr d, f, a;
	char name[16];
	int i;

	memset(w, 0, sizeof(*w));
	ck_ok(vdc_vol_create(g_tool, "alpha", NULL, &w->alpha));
	ck_ok(vdc_vol_create(g_tool, "beta", &pb, &w->beta));
	g_v = w->alpha.vol;

	d = mk_as(w->alpha.root_ino, "d", S_IFDIR | 0750, 0, 10, 20);
	ck_ok(vdc_layout_set(g_cli, g_v, d.ino, &pd, NULL));
	f = mk_as(d.ino, "f", S_IFREG | 0640, 0, 11, 21);
	sa.valid = VDIFS_SETATTR_SIZE | VDIFS_SETATTR_ATIME |
		   VDIFS_SETATTR_MTIME;
	sa.size = 5000;
	sa.atime_ns = 1111111111222222222ll;
	sa.mtime_ns = 1333333333444444444ll;
	ck_ok(vdc_setattr(g_cli, g_v, f.ino, &sa, NULL));
	mk(d.ino, "sub", S_IFDIR | 0700);
	ck_ok(vdc_symlink(g_cli, g_v, w->alpha.root_ino, "lnk", "d/f/../x",
			  3, 4, NULL));
	ck_ok(vdc_link(g_cli, g_v, f.ino, w->alpha.root_ino, "hl", NULL));
	mk_as(w->alpha.root_ino, "p", S_IFIFO | 0600, 0, 0, 0);
	mk_as(w->alpha.root_ino, "c", S_IFCHR | 0600, 0x105, 0, 0);
	ck_ok(vdc_setxattr(g_cli, g_v, f.ino, "user.k1", "v1", 2, 0));
	for (i = 0; i < (int)sizeof(w->big); i++)
		w->big[i] = (u8)(i ^ 0x5a);
	ck_ok(vdc_setxattr(g_cli, g_v, f.ino, "user.big", w->big,
			   sizeof(w->big), 0));
	ck_ok(vdc_setxattr(g_cli, g_v, d.ino, "user.dirattr", "D", 1, 0));
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "tmp%d", i);
		a = mk(w->alpha.root_ino, name, S_IFREG | 0644);
		w->used_inos[w->nused++] = a.ino;
		ck_ok(vdc_unlink(g_cli, g_v, w->alpha.root_ino, name));
	}

	/* beta: a file with allocated chunks on two data servers */
	ds[0] = ds_join(0, 100 * GiB, &w->ds[0]);
	ds[1] = ds_join(1, 200 * GiB, &w->ds[1]);
	g_v = w->beta.vol;
	a = mk(w->beta.root_ino, "data", S_IFREG | 0644);
	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, a.ino, 0, 8,
					VDIFS_LAYOUT_ALLOC, w->chunks, 8,
					NULL), 8);
	vdc_close(ds[0]);
	vdc_close(ds[1]);

	/* what must survive */
	w->paths[0] = "/";
	w->paths[1] = "d";
	w->paths[2] = "d/f";
	w->paths[3] = "d/sub";
	w->paths[4] = "lnk";
	w->paths[5] = "hl";
	w->paths[6] = "p";
	w->paths[7] = "c";
	w->paths[8] = "beta:data";
	for (i = 0; i < NREC; i++) {
		if (i == 8) {
			ck_ok(walk(w->beta.vol, w->beta.root_ino, "data",
				   &w->attrs[i]));
		} else {
			ck_ok(walk(w->alpha.vol, w->alpha.root_ino,
				   w->paths[i], &w->attrs[i]));
		}
		w->used_inos[w->nused++] = w->attrs[i].ino;
	}
	ck_assert_uint_eq(w->attrs[2].nlink, 2);
	ck_assert_uint_eq(w->attrs[2].params.chunk_size, 2 * MiB);
}

static void world_check(const struct world *w)
{
	struct vdc_vol a, b;
	struct vdifs_chunk ch[8];
	struct status_snap s;
	char buf[2048];
	struct seen ls = { 0 };
	int i, j;

	ck_ok(vdc_vol_open(g_cli, "alpha", &a));
	ck_ok(vdc_vol_open(g_cli, "beta", &b));
	ck_assert_uint_eq(a.vol, w->alpha.vol);
	ck_assert_uint_eq(a.root_ino, w->alpha.root_ino);
	ck_assert_uint_eq(b.vol, w->beta.vol);
	ck_assert_uint_eq(b.root_ino, w->beta.root_ino);
	ck_assert(!memcmp(&b.params, &w->beta.params, sizeof(b.params)));
	ck_assert(!memcmp(&a.params, &w->alpha.params, sizeof(a.params)));

	for (i = 0; i < NREC; i++) {
		struct vdc_attr at;

		if (i == 8)
			ck_ok(walk(b.vol, b.root_ino, "data", &at));
		else
			ck_ok(walk(a.vol, a.root_ino, w->paths[i], &at));
		ck_attr_eq(w->paths[i], &at, &w->attrs[i]);
	}

	g_v = a.vol;
	ck_assert_int_eq(vdc_readlink(g_cli, g_v, w->attrs[4].ino, buf,
				      sizeof(buf)), 8);
	ck_assert_str_eq(buf, "d/f/../x");
	ck_assert_int_eq(vdc_getxattr(g_cli, g_v, w->attrs[2].ino, "user.k1",
				      buf, sizeof(buf)), 2);
	ck_assert_mem_eq(buf, "v1", 2);
	ck_assert_int_eq(vdc_getxattr(g_cli, g_v, w->attrs[2].ino, "user.big",
				      buf, sizeof(buf)), 1000);
	ck_assert(!memcmp(buf, w->big, 1000));
	ck_assert_int_eq(vdc_getxattr(g_cli, g_v, w->attrs[1].ino,
				      "user.dirattr", buf, sizeof(buf)), 1);
	readdir_all(a.root_ino, 0, &ls);
	ck_assert_int_eq(ls.n, 5);
	ck_assert_int_eq(seen_count(&ls, "d"), 1);
	ck_assert_int_eq(seen_count(&ls, "lnk"), 1);
	ck_assert_int_eq(seen_count(&ls, "hl"), 1);
	ck_assert_int_eq(seen_count(&ls, "p"), 1);
	ck_assert_int_eq(seen_count(&ls, "c"), 1);
	seen_free(&ls);

	g_v = b.vol;
	ck_assert_int_eq(vdc_layout_get(g_cli, g_v, w->attrs[8].ino, 0, 8, 0,
					ch, 8, NULL), 8);
	for (i = 0; i < 8; i++) {
		ck_assert_uint_eq(le64_to_cpu(ch[i].chunk_id),
				  le64_to_cpu(w->chunks[i].chunk_id));
		ck_assert_uint_eq(ch[i].nrep, w->chunks[i].nrep);
		ck_assert_uint_eq(ch[i].nrep, 2);
		for (j = 0; j < ch[i].nrep; j++)
			ck_assert_uint_eq(le32_to_cpu(ch[i].ds[j]),
					  le32_to_cpu(w->chunks[i].ds[j]));
	}

	/* the data servers are still known */
	snap(&s);
	for (j = 0; j < 2; j++) {
		bool found = false;

		for (i = 0; i < s.nds; i++)
			found |= s.ds_id[i] == w->ds[j];
		ck_assert_msg(found, "ds %u forgotten", w->ds[j]);
	}

	/* new inodes get new numbers */
	g_v = a.vol;
	for (i = 0; i < 5; i++) {
		struct vdc_attr n;
		char name[16];

		snprintf(name, sizeof(name), "new%d", i);
		n = mk(a.root_ino, name, i & 1 ? S_IFDIR | 0755 :
		       S_IFREG | 0644);
		for (j = 0; j < w->nused; j++)
			ck_assert_msg(n.ino != w->used_inos[j],
				      "inode %llu reused after restart",
				      (unsigned long long)n.ino);
	}
}

static void restart_test(int sig)
{
	static struct world w;
	u64 epoch = vdc_server_epoch(g_tool);
	int status, ret;

	world_build(&w);
	vdc_close(g_cli);
	vdc_close(g_tool);
	g_cli = g_tool = NULL;
	h_mds_stop(&g_mds, sig);
	status = g_mds.last_status;
	if (sig == SIGTERM)
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "vdifs-mds on SIGTERM: wait status 0x%x", status);
	ret = h_mds_launch(&g_mds);
	ck_assert_msg(ret == 0, "restart: %s", h_err(ret));
	g_tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	g_cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	ck_assert_uint_ne(vdc_server_epoch(g_tool), epoch);
	world_check(&w);
	/* and once more, after changes made by the restarted server */
	h_mds_restart(&g_mds, SIGTERM);
	vdc_close(g_cli);
	vdc_close(g_tool);
	g_tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	g_cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	{
		struct vdc_attr n;

		g_v = w.alpha.vol;
		n = look(w.alpha.root_ino, "new0");
		ck_assert_uint_eq(n.mode, S_IFREG | 0644);
	}
}

START_TEST(test_restart_sigterm)
{
	restart_test(SIGTERM);
}
END_TEST

START_TEST(test_restart_sigkill)
{
	restart_test(SIGKILL);
}
END_TEST

/* ================================================================== */
/* malformed input                                                     */
/* ================================================================== */

static struct vdc_vol g_keep;
static struct vdc_attr g_keepf;

static void setup_malformed(void)
{
	setup();
	ck_ok(vdc_vol_create(g_tool, "keep", NULL, &g_keep));
	g_v = g_keep.vol;
	g_keepf = mk(g_keep.root_ino, "kf", S_IFREG | 0644);
	ck_ok(vdc_setxattr(g_cli, g_v, g_keepf.ino, "user.k", "kept", 4, 0));
	/* the xattr moved ctime and the change counter */
	g_keepf = get(g_keepf.ino);
	srand(12345);
}

/* the server is alive, answers a fresh client, and kept its state */
static void check_intact(void)
{
	struct vdc_conn *c = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdc_vol v;
	struct vdc_attr a;
	char buf[16];
	int status;

	ck_assert_msg(waitpid(g_mds.pid, &status, WNOHANG) == 0,
		      "vdifs-mds died (status 0x%x)", status);
	ck_ok(vdc_vol_open(c, "keep", &v));
	ck_assert_uint_eq(v.vol, g_keep.vol);
	ck_ok(vdc_lookup(c, v.vol, v.root_ino, "kf", &a));
	ck_attr_eq("kf", &a, &g_keepf);
	ck_assert_int_eq(vdc_getxattr(c, v.vol, a.ino, "user.k", buf,
				      sizeof(buf)), 4);
	ck_assert_mem_eq(buf, "kept", 4);
	vdc_close(c);
}

static void fill_random(void *p, size_t n)
{
	u8 *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (u8)rand();
}

START_TEST(test_garbage)
{
	u8 junk[100];
	int fd = h_raw_connect(g_mds.port);

	fill_random(junk, sizeof(junk));
	junk[0] = 'X';		/* not the magic */
	ck_ok(h_raw_write(fd, junk, sizeof(junk)));
	ck_assert_msg(h_raw_closed(fd, 5000),
		      "server kept a connection that sent garbage");
	close(fd);
	/* garbage after a good HELLO */
	fd = h_raw_connect(g_mds.port);
	ck_ok(h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1));
	ck_ok(h_raw_write(fd, junk, sizeof(junk)));
	ck_assert(h_raw_closed(fd, 5000));
	close(fd);
	check_intact();
}
END_TEST

START_TEST(test_bad_body_crc)
{
	struct vdifs_ino_req req;
	struct wire_hdr h;
	u8 msg[64];
	int fd, n, ret;

	fd = h_raw_connect(g_mds.port);
	ck_ok(h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1));
	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(g_keep.vol);
	req.ino = cpu_to_le64(g_keep.root_ino);
	n = wire_msg_encode(msg, sizeof(msg), VDIFS_OP_GETATTR, 0, 2, 0, &req,
			    sizeof(req), NULL, 0, NULL, 0);
	ck_assert_int_eq(n, 32 + 16);
	msg[32 + 8] ^= 0x40;	/* the body no longer matches body_crc */
	ck_ok(h_raw_write(fd, msg, (size_t)n));
	ret = h_raw_recv(fd, &h, NULL, 5000);
	ck_assert_msg(ret == -ECONNRESET || (ret == 0 && h.status < 0),
		      "GETATTR with a bad body crc: recv %s status %d",
		      h_err(ret), ret ? 0 : h.status);
	close(fd);
	check_intact();
}
END_TEST

START_TEST(test_before_hello)
{
	struct vdifs_vol_list_req req = { 0 };
	struct wire_hdr h;
	int fd, ret;

	fd = h_raw_connect(g_mds.port);
	req.max_bytes = cpu_to_le32(4096);
	ck_ok(h_raw_send(fd, VDIFS_OP_VOL_LIST, 1, &req, sizeof(req), NULL, 0,
			 NULL, 0));
	ret = h_raw_recv(fd, &h, NULL, 5000);
	ck_assert_msg(ret == -ECONNRESET || (ret == 0 && h.status == -EPROTO),
		      "VOL_LIST before HELLO: recv %s status %d", h_err(ret),
		      ret ? 0 : h.status);
	close(fd);
	check_intact();
}
END_TEST

/* an opcode below VDIFS_OP_MAX that the protocol does not define */
static u16 unknown_opcode(void)
{
	u16 op;

	for (op = VDIFS_OP_MAX - 1; op > 0; op--)
		if (wire_fixed_len(op, false) == -EOPNOTSUPP)
			return op;
	ck_abort_msg("every opcode is taken");
	return 0;
}

START_TEST(test_unknown_opcode)
{
	struct vdifs_vol_list_req req = { 0 };
	struct wire_hdr h;
	u8 body[100], *rb;
	int fd;

	u16 hole = unknown_opcode();

	fd = h_raw_connect(g_mds.port);
	ck_ok(h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1));
	/* a hole in the table, empty body */
	ck_ok(h_raw_send(fd, hole, 7, NULL, 0, NULL, 0, NULL, 0));
	ck_ok(h_raw_recv(fd, &h, NULL, 5000));
	ck_assert_uint_eq(h.req_id, 7);
	ck_assert(h.flags & VDIFS_MSG_REPLY);
	ck_assert_int_eq(h.status, -EOPNOTSUPP);
	/* past the table, with a body to skip */
	fill_random(body, sizeof(body));
	ck_ok(h_raw_send(fd, 4000, 8, body, sizeof(body), NULL, 0, NULL, 0));
	ck_ok(h_raw_recv(fd, &h, NULL, 5000));
	ck_assert_uint_eq(h.req_id, 8);
	ck_assert_int_eq(h.status, -EOPNOTSUPP);
	/* the connection still works */
	req.max_bytes = cpu_to_le32(4096);
	ck_ok(h_raw_send(fd, VDIFS_OP_VOL_LIST, 9, &req, sizeof(req), NULL, 0,
			 NULL, 0));
	ck_ok(h_raw_recv(fd, &h, &rb, 5000));
	ck_assert_uint_eq(h.req_id, 9);
	ck_assert_int_eq(h.status, 0);
	ck_assert_uint_eq(h.opcode, VDIFS_OP_VOL_LIST);
	free(rb);
	close(fd);

	/* the same through the library's raw access */
	{
		struct vdc_msg m;
		u8 msg[64];
		int n, ret;

		n = wire_msg_encode(msg, sizeof(msg), hole, 0, 1000, 0, NULL,
				    0, NULL, 0, NULL, 0);
		ck_ok(vdc_send_raw(g_cli, msg, (size_t)n));
		memset(&m, 0, sizeof(m));
		ret = vdc_recv(g_cli, &m);
		ck_assert_msg(ret == -EOPNOTSUPP ||
			      (ret == 0 && m.hdr.status == -EOPNOTSUPP),
			      "unknown opcode: recv %s status %d", h_err(ret),
			      m.hdr.status);
		if (!ret)
			vdc_msg_free(&m);
		ck_ok(vdc_getattr(g_cli, g_keep.vol, g_keep.root_ino, NULL));
	}
	check_intact();
}
END_TEST

START_TEST(test_body_too_large)
{
	struct wire_hdr h = {
		.opcode = VDIFS_OP_LOOKUP, .req_id = 5,
		.body_len = VDIFS_BODY_MAX + 1, .body_csum = 1,
	};
	u8 hdr[32];
	int fd;

	fd = h_raw_connect(g_mds.port);
	ck_ok(h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1));
	wire_hdr_encode(hdr, &h);
	ck_ok(h_raw_write(fd, hdr, sizeof(hdr)));
	ck_assert_msg(h_raw_closed(fd, 5000),
		      "server kept a connection announcing %u body bytes",
		      VDIFS_BODY_MAX + 1);
	close(fd);
	/* and before HELLO */
	fd = h_raw_connect(g_mds.port);
	h.body_len = 0xffffffffu;
	wire_hdr_encode(hdr, &h);
	ck_ok(h_raw_write(fd, hdr, sizeof(hdr)));
	ck_assert(h_raw_closed(fd, 5000));
	close(fd);
	check_intact();
}
END_TEST

START_TEST(test_truncated)
{
	struct vdifs_name_req req;
	u8 msg[128];
	int fd, n;

	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(g_keep.vol);
	req.name_len = cpu_to_le16(2);
	req.parent = cpu_to_le64(g_keep.root_ino);
	n = wire_msg_encode(msg, sizeof(msg), VDIFS_OP_LOOKUP, 0, 2, 0, &req,
			    sizeof(req), "kf", 2, NULL, 0);
	ck_assert_int_gt(n, 40);

	/* half a body, then close */
	fd = h_raw_connect(g_mds.port);
	ck_ok(h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1));
	ck_ok(h_raw_write(fd, msg, 40));
	close(fd);
	/* half a header, then close */
	fd = h_raw_connect(g_mds.port);
	ck_ok(h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1));
	ck_ok(h_raw_write(fd, msg, 10));
	close(fd);
	/* half a HELLO */
	fd = h_raw_connect(g_mds.port);
	ck_ok(h_raw_write(fd, msg, 20));
	close(fd);
	/* connect and close at once */
	fd = h_raw_connect(g_mds.port);
	close(fd);
	h_sleep_ms(50);
	check_intact();
}
END_TEST

START_TEST(test_stalled_peer)
{
	struct vdifs_name_req req;
	u8 msg[128];
	int fd, fd2, n;
	long long t0;

	memset(&req, 0, sizeof(req));
	req.vol = cpu_to_le32(g_keep.vol);
	req.name_len = cpu_to_le16(2);
	req.parent = cpu_to_le64(g_keep.root_ino);
	n = wire_msg_encode(msg, sizeof(msg), VDIFS_OP_LOOKUP, 0, 2, 0, &req,
			    sizeof(req), "kf", 2, NULL, 0);
	ck_assert_int_gt(n, 40);
	/* one peer stops halfway through a message, another never speaks */
	fd = h_raw_connect(g_mds.port);
	ck_ok(h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1));
	ck_ok(h_raw_write(fd, msg, 40));
	fd2 = h_raw_connect(g_mds.port);
	ck_ok(h_raw_write(fd2, msg, 5));
	/* the others are still served, promptly */
	t0 = h_now_ms();
	check_intact();
	ck_ok(vdc_getattr(g_cli, g_keep.vol, g_keep.root_ino, NULL));
	ck_assert_int_lt(h_now_ms() - t0, 3000);
	/* the stalled one completes its message later and is answered */
	ck_ok(h_raw_write(fd, msg + 40, (size_t)n - 40));
	{
		struct wire_hdr h;

		ck_ok(h_raw_recv(fd, &h, NULL, 5000));
		ck_assert_uint_eq(h.req_id, 2);
		ck_assert_int_eq(h.status, 0);
	}
	close(fd);
	close(fd2);
}
END_TEST

START_TEST(test_raw_names)
{
	struct vdifs_symlink_req sr;

	g_v = g_keep.vol;
	g_root = g_keep.root_ino;
	ck_ret(raw_name_op(VDIFS_OP_LOOKUP, g_root, "a/b", 3), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_LOOKUP, g_root, "kf\0", 3), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_LOOKUP, g_root, "\0", 1), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_CREATE, g_root, "x/y", 3), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_CREATE, g_root, "x\0y", 3), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_MKDIR, g_root, "..", 2), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_UNLINK, g_root, "kf/", 3), -EINVAL);
	ck_ret(raw_name_op(VDIFS_OP_RMDIR, g_root, ".", 1), -EINVAL);
	/* a symlink target with a NUL */
	memset(&sr, 0, sizeof(sr));
	sr.vol = cpu_to_le32(g_v);
	sr.name_len = cpu_to_le16(1);
	sr.target_len = cpu_to_le16(3);
	sr.parent = cpu_to_le64(g_root);
	ck_ret(vdc_call(g_cli, VDIFS_OP_SYMLINK, &sr, sizeof(sr), "s", 1,
			"a\0b", 3, NULL), -EINVAL);
	ck_ret(vdc_lookup(g_cli, g_v, g_root, "s", NULL), -ENOENT);
	/* the connection is still good */
	ck_ok(vdc_lookup(g_cli, g_v, g_root, "kf", NULL));
	check_intact();
}
END_TEST

START_TEST(test_cross_volume)
{
	struct vdc_vol b;
	struct vdc_attr secret, bd;
	int ret;

	ck_ok(vdc_vol_create(g_tool, "other", NULL, &b));
	ck_ok(vdc_create(g_cli, b.vol, b.root_ino, "secret", S_IFREG | 0600,
			 0, 0, 0, true, NULL, &secret));
	ck_ok(vdc_create(g_cli, b.vol, b.root_ino, "bdir", S_IFDIR | 0700,
			 0, 0, 0, true, NULL, &bd));
	/* through "keep", name the other volume's inodes */
	ck_ret2(vdc_lookup(g_cli, g_keep.vol, b.root_ino, "secret", NULL),
		-ENOENT, -EXDEV);
	ck_ret2(vdc_lookup(g_cli, g_keep.vol, bd.ino, "x", NULL), -ENOENT,
		-EXDEV);
	ret = vdc_create(g_cli, g_keep.vol, bd.ino, "planted", S_IFREG | 0600,
			 0, 0, 0, true, NULL, NULL);
	ck_assert_msg(ret == -ENOENT || ret == -EXDEV,
		      "create under another volume's directory: %s",
		      h_err(ret));
	ck_ret(vdc_lookup(g_cli, b.vol, bd.ino, "planted", NULL), -ENOENT);
	ck_ret2(vdc_rename(g_cli, g_keep.vol, g_keep.root_ino, "kf", bd.ino,
			   "stolen", 0), -ENOENT, -EXDEV);
	ck_ret2(vdc_link(g_cli, g_keep.vol, g_keepf.ino, bd.ino, "lnk", NULL),
		-ENOENT, -EXDEV);
	ck_ret(vdc_lookup(g_cli, b.vol, bd.ino, "stolen", NULL), -ENOENT);
	ck_ret(vdc_lookup(g_cli, b.vol, bd.ino, "lnk", NULL), -ENOENT);
	ck_ret(vdc_lookup(g_cli, b.vol, b.root_ino, "kf", NULL), -ENOENT);
	/* volumes that do not exist */
	ck_ret(vdc_getattr(g_cli, 999999, g_keep.root_ino, NULL), -ENOENT);
	ck_ret(vdc_lookup(g_cli, 999999, g_keep.root_ino, "kf", NULL),
	       -ENOENT);
	/* the volume itself is intact */
	ck_ok(vdc_lookup(g_cli, b.vol, b.root_ino, "secret", NULL));
	check_intact();
}
END_TEST

/* a well-framed message of a known opcode with a random body */
static void send_fuzzed(int fd, u64 id)
{
	static u16 ops[VDIFS_OP_MAX];
	static int nops;
	u16 op;
	int fl;

	/* every opcode the codec knows, the data servers' ones included */
	if (!nops)
		for (op = 1; op < VDIFS_OP_MAX; op++)
			if (wire_fixed_len(op, false) >= 0)
				ops[nops++] = op;
	op = ops[rand() % nops];
	fl = wire_fixed_len(op, false);
	u8 body[512];
	u32 len;

	switch (rand() % 3) {
	case 0:		/* any length */
		len = (u32)(rand() % 300);
		break;
	case 1:		/* the fixed part exactly */
		len = fl > 0 ? (u32)fl : 0;
		break;
	default:	/* the fixed part and a little more */
		len = (fl > 0 ? (u32)fl : 0) + (u32)(rand() % 64);
		break;
	}
	fill_random(body, len);
	/* mostly small length fields and our volume, to get further in */
	if (rand() % 2 && len >= 8) {
		memset(body, 0, len < 32 ? len : 32);
		if (rand() % 2) {
			__le32 v = cpu_to_le32(g_keep.vol);

			memcpy(body, &v, 4);
		}
	}
	h_raw_send(fd, op, id, body, len, NULL, 0, NULL, 0);
}

START_TEST(test_random_connections)
{
	int i, j;

	for (i = 0; i < 200; i++) {
		int fd = h_raw_connect(g_mds.port);
		u8 junk[600];
		size_t n = 1 + (size_t)(rand() % (int)sizeof(junk));

		switch (i % 4) {
		case 0:		/* bytes */
			fill_random(junk, n);
			h_raw_write(fd, junk, n);
			break;
		case 1:		/* a framed message, no HELLO */
			send_fuzzed(fd, 1);
			break;
		case 2:		/* HELLO, then framed messages */
			if (h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1) != 0)
				break;
			for (j = 0; j < 1 + rand() % 5; j++)
				send_fuzzed(fd, (u64)j + 2);
			/* wait for the answers (or the close) now and then */
			if (i % 8 == 2)
				h_raw_closed(fd, 200);
			break;
		default:	/* HELLO, then bytes */
			if (h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1) != 0)
				break;
			fill_random(junk, n);
			h_raw_write(fd, junk, n);
			break;
		}
		close(fd);
	}
	h_sleep_ms(100);
	check_intact();
}
END_TEST

/*
 * Requests that pass the codec, so that every handler sees them: for
 * each opcode, fixed parts made of values that mean something here (0,
 * 1, a volume, a directory, a file, small counts, all ones) and tails of
 * letters, kept only if wire_body_decode() takes them, sent as a client
 * and as a tool.  The MDS must answer each with a well-formed reply (any
 * status), never die, and keep what it had.  The targets live in a
 * volume of their own, and no tail can spell "keep" or "kf".
 */
static struct vdc_vol g_fz;
static struct vdc_attr g_fzf, g_fzd;

static u32 fuzz_word(void)
{
	switch (rand() % 9) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return g_fz.vol;
	case 3:
		return (u32)g_fz.root_ino;
	case 4:
		return (u32)g_fzf.ino;
	case 5:
		return (u32)g_fzd.ino;
	case 6:
		return (u32)(rand() % 16);
	case 7:
		return 0xffffffffu;
	default:
		return (u32)rand();
	}
}

/* a request body of op the codec accepts, in body; its length or -1 */
static int fuzz_body(u16 op, u8 *body)
{
	int fl = wire_fixed_len(op, false), tries;
	struct wire_body b;

	for (tries = 0; tries < 400; tries++) {
		u32 i, tl = rand() % 3 ? (u32)(rand() % 12) : 0;

		for (i = 0; i + 4 <= (u32)fl; i += 4) {
			u32 v = fuzz_word();

			/* the high half of a 64-bit id is mostly 0 */
			if (i % 8 == 4 && rand() % 4)
				v = 0;
			memcpy(body + i, &v, 4);
		}
		for (; i < (u32)fl; i++)
			body[i] = (u8)rand();
		for (i = 0; i < tl; i++)
			body[fl + i] = (u8)('q' + rand() % 10);
		if (!wire_body_decode(op, false, 0, body, (u32)fl + tl, &b))
			return fl + (int)tl;
	}
	return -1;
}

START_TEST(test_handler_fuzz)
{
	static const u16 never[] = {
		VDIFS_OP_HELLO, VDIFS_OP_AUTH,
		/* writes a directory on the MDS's host */
		VDIFS_OP_MDS_BACKUP,
	};
	u32 roles[2] = { VDIFS_ROLE_CLIENT, VDIFS_ROLE_TOOL };
	unsigned int r, k, sent = 0, answered = 0, done = 0;
	u8 body[512];
	u16 op;

	ck_ok(vdc_vol_create(g_tool, "fz", NULL, &g_fz));
	ck_ok(vdc_create(g_cli, g_fz.vol, g_fz.root_ino, "f", S_IFREG | 0644,
			 0, 0, 0, true, NULL, &g_fzf));
	ck_ok(vdc_create(g_cli, g_fz.vol, g_fz.root_ino, "d", S_IFDIR | 0755,
			 0, 0, 0, true, NULL, &g_fzd));
	for (r = 0; r < 2; r++) {
		struct vdc_conn *c = h_connect(&g_mds, roles[r]);

		for (op = 1; op < VDIFS_OP_MAX; op++) {
			bool skip = wire_fixed_len(op, false) < 0;

			for (k = 0; k < sizeof(never) / sizeof(never[0]); k++)
				skip |= op == never[k];
			for (k = 0; k < 40 && !skip; k++) {
				int len = fuzz_body(op, body), ret;

				if (len < 0)
					break;
				sent++;
				ret = vdc_call(c, op, body, (u32)len, NULL, 0,
					       NULL, 0, NULL);
				/* a reply we could not decode is the server's bug */
				ck_assert_msg(ret != -EBADMSG && ret != -EPROTO,
					      "%s as role %u: reply %s",
					      wire_op_name(op), roles[r],
					      h_err(ret));
				if (ret == -ECONNRESET || ret == -EPIPE ||
				    ret == -ETIMEDOUT) {
					vdc_close(c);
					c = h_connect(&g_mds, roles[r]);
					continue;
				}
				answered++;
				done += !ret;
			}
		}
		vdc_close(c);
	}
	/* and enough of them went through to the end */
	ck_assert_msg(sent > 500 && answered > sent / 2 && done > 50,
		      "only %u requests sent, %u answered, %u done", sent,
		      answered, done);
	check_intact();
}
END_TEST

/* ================================================================== */
/* authentication                                                      */
/* ================================================================== */

static void parse_key(const char *hex, u8 *key, size_t *len)
{
	ck_ok(vdc_key_parse_hex(hex, key, 64, len));
}

START_TEST(test_auth_none)
{
	struct vdc_conn *c = NULL;
	int ret;

	ret = h_connect_key(&g_mds, VDIFS_ROLE_TOOL, NULL, 0, &c);
	if (ret == 0) {
		ck_ret(vdc_vol_list(c, NULL, NULL), -EACCES);
		ck_ret(vdc_vol_create(c, "x", NULL, NULL), -EACCES);
		vdc_close(c);
	} else {
		ck_ret(ret, -EACCES);
	}
}
END_TEST

/* a client holding a key does not talk to a server that never asks for it */
START_TEST(test_auth_unproven_server)
{
	struct vdc_conn *c = NULL;
	u8 key[64];
	size_t len;

	parse_key(WRONG_KEY, key, &len);
	ck_ret(h_connect_key(&g_mds, VDIFS_ROLE_TOOL, key, len, &c), -EACCES);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_auth_raw)
{
	struct vdifs_hello_req hr;
	struct vdifs_hello_rep rep;
	struct vdifs_vol_list_req lr = { 0 };
	struct vdifs_ino_req ir = { 0 };
	struct vdifs_auth_req ar;
	struct wire_hdr h;
	u8 *body;
	int fd, ret;

	fd = h_raw_connect(g_mds.port);
	memset(&hr, 0, sizeof(hr));
	hr.version_min = cpu_to_le32(VDIFS_PROTO_VERSION);
	hr.version_max = cpu_to_le32(VDIFS_PROTO_VERSION);
	hr.features = cpu_to_le64(VDIFS_FEAT_AUTH_HMAC);
	hr.role = cpu_to_le32(VDIFS_ROLE_CLIENT);
	ck_ok(h_raw_send(fd, VDIFS_OP_HELLO, 1, &hr, sizeof(hr), NULL, 0,
			 NULL, 0));
	ck_ok(h_raw_recv(fd, &h, &body, 5000));
	ck_assert_int_eq(h.status, 0);
	ck_assert_uint_ge(h.body_len, sizeof(rep));
	memcpy(&rep, body, sizeof(rep));
	free(body);
	ck_assert_uint_eq(le32_to_cpu(rep.auth_required), 1);

	/* anything but AUTH is refused */
	lr.max_bytes = cpu_to_le32(4096);
	ck_ok(h_raw_send(fd, VDIFS_OP_VOL_LIST, 2, &lr, sizeof(lr), NULL, 0,
			 NULL, 0));
	ck_ok(h_raw_recv(fd, &h, NULL, 5000));
	ck_assert_int_eq(h.status, -EACCES);
	ck_ok(h_raw_send(fd, VDIFS_OP_GETATTR, 3, &ir, sizeof(ir), NULL, 0,
			 NULL, 0));
	ck_ok(h_raw_recv(fd, &h, NULL, 5000));
	ck_assert_int_eq(h.status, -EACCES);
	ck_ok(h_raw_send(fd, VDIFS_OP_STATUS, 4, NULL, 0, NULL, 0, NULL, 0));
	ck_ok(h_raw_recv(fd, &h, NULL, 5000));
	ck_assert_int_eq(h.status, -EACCES);
	/* nor does an unproven peer get the server to take in 60 KiB */
	{
		struct vdifs_xattr_req xr = {
			.name_len = cpu_to_le16(6),
			.value_len = cpu_to_le32(60000),
		};
		static u8 big[60000];
		int fd2 = h_raw_connect(g_mds.port);

		ck_ok(h_raw_send(fd2, VDIFS_OP_HELLO, 1, &hr, sizeof(hr),
				 NULL, 0, NULL, 0));
		ck_ok(h_raw_recv(fd2, &h, NULL, 5000));
		h_raw_send(fd2, VDIFS_OP_SETXATTR, 2, &xr, sizeof(xr),
			   "user.x", 6, big, sizeof(big));
		ck_assert_msg(h_raw_closed(fd2, 5000),
			      "a 60 KiB body before AUTH was read");
		close(fd2);
	}

	/* a wrong MAC */
	memset(&ar, 0x5a, sizeof(ar));
	ck_ok(h_raw_send(fd, VDIFS_OP_AUTH, 5, &ar, sizeof(ar), NULL, 0, NULL,
			 0));
	ret = h_raw_recv(fd, &h, NULL, 5000);
	ck_assert_msg(ret == -ECONNRESET || (ret == 0 && h.status == -EACCES),
		      "AUTH with a bad MAC: recv %s status %d", h_err(ret),
		      ret ? 0 : h.status);
	if (ret == 0) {
		ck_ok(h_raw_send(fd, VDIFS_OP_VOL_LIST, 6, &lr, sizeof(lr),
				 NULL, 0, NULL, 0));
		ret = h_raw_recv(fd, &h, NULL, 5000);
		ck_assert(ret == -ECONNRESET ||
			  (ret == 0 && h.status == -EACCES));
	}
	close(fd);
}
END_TEST

START_TEST(test_auth_wrong_key)
{
	struct vdc_conn *c = NULL;
	u8 key[64];
	size_t len;
	int ret;

	parse_key(WRONG_KEY, key, &len);
	ret = h_connect_key(&g_mds, VDIFS_ROLE_TOOL, key, len, &c);
	if (ret == 0) {
		ck_ret(vdc_vol_list(c, NULL, NULL), -EACCES);
		vdc_close(c);
	} else {
		ck_ret(ret, -EACCES);
	}
	/* a shorter key that is a prefix of the right one */
	parse_key("0011223344556677889900aabbccddee", key, &len);
	ret = h_connect_key(&g_mds, VDIFS_ROLE_TOOL, key, len, &c);
	if (ret == 0) {
		ck_ret(vdc_vol_list(c, NULL, NULL), -EACCES);
		vdc_close(c);
	} else {
		ck_ret(ret, -EACCES);
	}
}
END_TEST

START_TEST(test_auth_right_key)
{
	struct vdc_vol v;
	struct vdc_attr a;
	u32 id;
	struct vdc_conn *d;

	g_tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	g_cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	ck_ok(vdc_vol_create(g_tool, "secure", NULL, &v));
	ck_assert_int_eq(vdc_vol_list(g_tool, NULL, NULL), 1);
	ck_ok(vdc_create(g_cli, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0,
			 0, true, NULL, &a));
	d = ds_join(0, GiB, &id);
	ck_ok(vdc_ds_heartbeat(d, id, GiB, 0, NULL));
	vdc_close(d);
}
END_TEST

/* ================================================================== */
/* principals and access lists                                         */
/* ================================================================== */

static int connect_as(const char *principal, u32 role, const u8 *key,
		      size_t len, struct vdc_conn **out)
{
	struct vdc_opts o = {
		.role = role, .key = key, .key_len = len,
		.timeout_ms = 10000, .name = "test-host",
		.principal = principal,
	};

	*out = NULL;
	return vdc_connect(g_mds.addr, &o, out);
}

static struct vdc_conn *as(const struct vdc_principal *p)
{
	struct vdc_conn *c;

	ck_ok(connect_as(p->name, p->role, p->key, sizeof(p->key), &c));
	return c;
}

/* a role's key proves nothing but the role */
static void auth_admin(void)
{
	g_tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	g_cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
}

START_TEST(test_principal_auth)
{
	struct vdc_principal h1, ops, p;
	struct vdc_conn *c, *a;
	struct vdc_vol v;
	u8 key[VDIFS_PRINCIPAL_KEY_LEN];

	auth_admin();
	ck_ok(vdc_key_add(g_tool, "host1", VDIFS_ROLE_CLIENT, false, &h1));
	ck_assert_uint_eq(h1.gen, 1);
	ck_ret(vdc_key_add(g_tool, "host1", VDIFS_ROLE_CLIENT, false, &p),
	       -EEXIST);
	/* servers keep the server key: no principals of theirs */
	ck_ret(vdc_key_add(g_tool, "ds9", VDIFS_ROLE_DS, false, &p), -EINVAL);
	ck_ret(vdc_key_add(g_tool, "a b", VDIFS_ROLE_CLIENT, false, &p),
	       -EINVAL);
	ck_ok(vdc_key_add(g_tool, "ops@site", VDIFS_ROLE_TOOL, false, &ops));
	/* the key unsealed here is the one the server checks */
	c = as(&h1);
	ck_ok(vdc_vol_create(g_tool, "v", NULL, &v));
	ck_ok(vdc_getattr(c, v.vol, v.root_ino, &(struct vdc_attr){ 0 }));
	/* a client principal is a client: no administration */
	ck_ret(vdc_vol_create(c, "w", NULL, NULL), -EPERM);
	ck_ret(vdc_key_add(c, "host2", VDIFS_ROLE_CLIENT, false, &p), -EPERM);
	vdc_close(c);
	a = as(&ops);
	ck_ok(vdc_vol_create(a, "w", NULL, NULL));
	ck_assert_int_eq(vdc_key_list(a, NULL, NULL), 2);
	vdc_close(a);
	/* a wrong key, a principal claiming another role, an unknown one */
	memcpy(key, h1.key, sizeof(key));
	key[0] ^= 1;
	ck_ret(connect_as("host1", VDIFS_ROLE_CLIENT, key, sizeof(key), &c),
	       -EACCES);
	ck_ret(connect_as("host1", VDIFS_ROLE_TOOL, h1.key, sizeof(h1.key),
			  &c), -EACCES);
	ck_ret(connect_as("host2", VDIFS_ROLE_CLIENT, h1.key, sizeof(h1.key),
			  &c), -EACCES);
	/* nor is the server key a principal's key */
	ck_ok(vdc_key_parse_hex(TEST_KEY, key, sizeof(key),
				&(size_t){ 0 }));
	ck_ret(connect_as("host1", VDIFS_ROLE_CLIENT, key, 16, &c), -EACCES);
}
END_TEST

START_TEST(test_principal_revoke)
{
	struct vdc_principal h1, h1b, kc;
	struct vdc_conn *c, *old;
	struct vdc_vol v;
	struct vdc_attr at;

	auth_admin();
	ck_ok(vdc_vol_create(g_tool, "v", NULL, &v));
	ck_ok(vdc_key_add(g_tool, "host1", VDIFS_ROLE_CLIENT, false, &h1));
	old = as(&h1);
	ck_ok(vdc_getattr(old, v.vol, v.root_ino, &at));
	/* rotation: a new key, and the old one's connection ends */
	ck_ok(vdc_key_add(g_tool, "host1", 0, true, &h1b));
	ck_assert_uint_eq(h1b.gen, 2);
	ck_assert(memcmp(h1.key, h1b.key, sizeof(h1.key)));
	ck_ret(vdc_getattr(old, v.vol, v.root_ino, &at), -EKEYREVOKED);
	vdc_close(old);
	ck_ret(connect_as("host1", VDIFS_ROLE_CLIENT, h1.key, sizeof(h1.key),
			  &c), -EACCES);
	c = as(&h1b);
	ck_ok(vdc_getattr(c, v.vol, v.root_ino, &at));
	/* a data server's question, and only a data server's */
	ck_ret(vdc_key_check(g_tool, "host1", &kc), -EPERM);
	/* deletion, the same */
	ck_ok(vdc_key_delete(g_tool, "host1"));
	ck_ret(vdc_key_delete(g_tool, "host1"), -ENOENT);
	ck_ret(vdc_getattr(c, v.vol, v.root_ino, &at), -EKEYREVOKED);
	vdc_close(c);
	ck_ret(connect_as("host1", VDIFS_ROLE_CLIENT, h1b.key,
			  sizeof(h1b.key), &c), -EACCES);
	ck_assert_int_eq(vdc_key_list(g_tool, NULL, NULL), 0);
}
END_TEST

START_TEST(test_principal_keyless)
{
	struct vdc_principal p;

	ck_ret(vdc_key_add(g_tool, "host1", VDIFS_ROLE_CLIENT, false, &p),
	       -EOPNOTSUPP);
}
END_TEST

static int gold_seen;

static int see_gold(const struct vdc_vol *v, void *arg)
{
	gold_seen += !strcmp(v->name, "gold");
	return 0;
}

static int access_cb(const char *name, u32 rights, void *arg)
{
	char *buf = arg;

	snprintf(buf + strlen(buf), 256 - strlen(buf), "%s=%u ", name,
		 rights);
	return 0;
}

START_TEST(test_access_lists)
{
	struct vdc_principal h1, h2, ops;
	struct vdc_conn *c1, *c2, *a;
	struct vdc_vol v, open, seen;
	struct vdc_attr at;
	char list[256] = "";

	auth_admin();
	ck_ok(vdc_vol_create(g_tool, "gold", NULL, &v));
	ck_ok(vdc_vol_create(g_tool, "open", NULL, &open));
	ck_ok(vdc_key_add(g_tool, "host1", VDIFS_ROLE_CLIENT, false, &h1));
	ck_ok(vdc_key_add(g_tool, "host2", VDIFS_ROLE_CLIENT, false, &h2));
	ck_ok(vdc_key_add(g_tool, "ops", VDIFS_ROLE_TOOL, false, &ops));
	c1 = as(&h1);
	c2 = as(&h2);
	/* no list: open to both, and to the shared client key */
	ck_ok(vdc_create(c2, v.vol, v.root_ino, "by-h2", S_IFREG | 0644, 0,
			 0, 0, true, NULL, &at));
	ck_ok(vdc_access_set(g_tool, v.vol, "host1", VDIFS_ACCESS_READ));
	/* only client principals go on lists, and only ones that exist */
	ck_ret(vdc_access_set(g_tool, v.vol, "ops", VDIFS_ACCESS_READ),
	       -EINVAL);
	ck_ret(vdc_access_set(g_tool, v.vol, "host9", VDIFS_ACCESS_READ),
	       -ENOENT);
	ck_ret(vdc_access_set(g_tool, v.vol, "host1", 7), -EINVAL);
	ck_ret(vdc_access_set(g_tool, 999, "host1", VDIFS_ACCESS_READ),
	       -ENOENT);
	ck_ret(vdc_access_set(c1, v.vol, "host1", VDIFS_ACCESS_WRITE),
	       -EPERM);
	ck_assert_int_eq(vdc_access_list(g_tool, v.vol, access_cb, list), 1);
	ck_assert_str_eq(list, "host1=1 ");

	/* host1 reads, and may not change a thing */
	ck_ok(vdc_vol_open(c1, "gold", &seen));
	ck_assert(seen.rdonly);
	ck_ok(vdc_lookup(c1, v.vol, v.root_ino, "by-h2", &at));
	ck_ret(vdc_create(c1, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0,
			  0, true, NULL, &at), -EROFS);
	ck_ret(vdc_unlink(c1, v.vol, v.root_ino, "by-h2"), -EROFS);
	ck_ret(vdc_setxattr(c1, v.vol, at.ino, "user.x", "1", 1, 0), -EROFS);
	/* but keeps a session on the volume, to mount it read-only */
	ck_ok(vdc_session_open(c1, v.vol, "h1", NULL));
	/* host2 is not on it: the volume is not there for it */
	ck_ret(vdc_vol_open(c2, "gold", &seen), -ENOENT);
	ck_ret(vdc_getattr(c2, v.vol, v.root_ino, &at), -EACCES);
	ck_ret(vdc_lookup(c2, v.vol, v.root_ino, "by-h2", &at), -EACCES);
	ck_ret(vdc_session_open(c2, v.vol, "h2", NULL), -EACCES);
	gold_seen = 0;
	ck_assert_int_eq(vdc_vol_list(c2, see_gold, NULL), 1);
	ck_assert_int_eq(gold_seen, 0);
	ck_assert_int_eq(vdc_vol_list(c1, see_gold, NULL), 2);
	ck_assert_int_eq(gold_seen, 1);
	/* nor the shared client key, which names nobody */
	ck_ret(vdc_getattr(g_cli, v.vol, v.root_ino, &at), -EACCES);
	/* the other volume has no list: open as before */
	ck_ok(vdc_create(c2, open.vol, open.root_ino, "x", S_IFREG | 0644, 0,
			 0, 0, true, NULL, &at));
	ck_ok(vdc_getattr(g_cli, open.vol, open.root_ino, &at));
	/* administrators are not subject to lists */
	a = as(&ops);
	ck_ok(vdc_vol_open(a, "gold", &seen));
	ck_assert(!seen.rdonly);
	vdc_close(a);

	/* read-write, then off the list: changes apply to live connections */
	ck_ok(vdc_access_set(g_tool, v.vol, "host1", VDIFS_ACCESS_WRITE));
	ck_ok(vdc_create(c1, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0, 0,
			 true, NULL, &at));
	ck_ok(vdc_access_set(g_tool, v.vol, "host2", VDIFS_ACCESS_READ));
	ck_ok(vdc_access_set(g_tool, v.vol, "host1", VDIFS_ACCESS_NONE));
	ck_ret(vdc_getattr(c1, v.vol, v.root_ino, &at), -EACCES);
	ck_ok(vdc_getattr(c2, v.vol, v.root_ino, &at));
	/* a deleted principal leaves every list */
	ck_ok(vdc_key_delete(g_tool, "host2"));
	list[0] = 0;
	ck_assert_int_eq(vdc_access_list(g_tool, v.vol, access_cb, list), 0);
	/* an empty list again: open to all */
	ck_ok(vdc_getattr(c1, v.vol, v.root_ino, &at));
	vdc_close(c1);
	vdc_close(c2);
}
END_TEST

/* lists survive a restart, and go with their volume */
START_TEST(test_access_restart)
{
	struct vdc_principal h1;
	struct vdc_conn *c1;
	struct vdc_vol v;
	struct vdc_attr at;

	auth_admin();
	ck_ok(vdc_vol_create(g_tool, "gold", NULL, &v));
	ck_ok(vdc_key_add(g_tool, "host1", VDIFS_ROLE_CLIENT, false, &h1));
	ck_ok(vdc_access_set(g_tool, v.vol, "host1", VDIFS_ACCESS_READ));
	vdc_close(g_tool);
	vdc_close(g_cli);
	ck_ok(h_mds_restart(&g_mds, SIGKILL));
	auth_admin();
	c1 = as(&h1);
	ck_ret(vdc_create(c1, v.vol, v.root_ino, "f", S_IFREG | 0644, 0, 0,
			  0, true, NULL, &at), -EROFS);
	ck_ret(vdc_getattr(g_cli, v.vol, v.root_ino, &at), -EACCES);
	vdc_close(c1);
	ck_ok(vdc_vol_delete(g_tool, "gold"));
	ck_ok(vdc_vol_create(g_tool, "gold", NULL, &v));
	ck_ok(vdc_getattr(g_cli, v.vol, v.root_ino, &at));
}
END_TEST


/* ================================================================== */
/* vdifs-tool                                                          */
/* ================================================================== */

static int tool(char **out, char **err, const char *env_mds, ...)
{
	char path[PATH_MAX + 64];
	char *argv[32];
	va_list ap;
	int argc = 0;
	const char *a;

	snprintf(path, sizeof(path), "%s/vdifs-tool", h_bindir());
	ck_assert_msg(access(path, X_OK) == 0, "no %s", path);
	argv[argc++] = path;
	/* a keyless MDS is taken only when asked for */
	if (!g_mds.key_hex[0])
		argv[argc++] = "--insecure";
	va_start(ap, env_mds);
	while ((a = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return h_run(argv, env_mds, out, err);
}

#define TOOL(out, err, ...) tool(out, err, NULL, "--mds", g_mds.addr,	\
				 __VA_ARGS__, (const char *)NULL)

START_TEST(test_tool_help)
{
	char *out, *err;

	ck_assert_int_eq(tool(&out, &err, NULL, "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "volume create"));
	free(out);
	free(err);
	ck_assert_int_eq(tool(&out, &err, NULL, "volume", "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "volume list"));
	free(out);
	free(err);
	ck_assert_int_eq(tool(&out, &err, NULL, "volume", "create", "--help",
			      NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "--chunk-size"));
	free(out);
	free(err);
	ck_assert_int_eq(tool(&out, &err, NULL, "status", "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "data server"));
	free(out);
	free(err);

	/* usage errors: one line on stderr, exit 2 */
	ck_assert_int_eq(tool(&out, &err, NULL, "frobnicate", NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown command"));
	ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
	free(out);
	free(err);
	ck_assert_int_eq(tool(&out, &err, NULL, "--bogus", "status", NULL), 2);
	free(out);
	free(err);
	ck_assert_int_eq(tool(&out, &err, NULL, "volume", "create", "x",
			      "--chunk-size", "3M", NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "--chunk-size"));
	free(out);
	free(err);
	ck_assert_int_eq(tool(&out, &err, NULL, "volume", "create", "x",
			      "--replicas", "9", NULL), 2);
	free(out);
	free(err);
	ck_assert_int_eq(tool(&out, &err, NULL, "volume", "create", "x",
			      "--mode", "maybe", NULL), 2);
	free(out);
	free(err);
	ck_assert_int_eq(tool(&out, &err, NULL, "volume", "create", "x",
			      "--frob", "1", NULL), 2);
	free(out);
	free(err);
	ck_assert_int_eq(tool(&out, &err, NULL, "volume", "create", "a/b",
			      NULL), 2);
	free(out);
	free(err);
	ck_assert_int_eq(tool(&out, &err, NULL, "volume", NULL), 2);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_tool_volumes)
{
	struct json_object *j, *o, *v;
	char *out, *err;
	int i;
	bool found = false;

	ck_assert_int_eq(TOOL(&out, &err, "volume", "create", "vm",
			      "--chunk-size", "1M", "--extent-size", "16K",
			      "--replicas", "2", "--mode", "async"), 0);
	ck_assert_ptr_nonnull(strstr(out, "vm"));
	free(out);
	free(err);
	ck_assert_int_eq(TOOL(&out, &err, "volume", "create", "vm"), 1);
	ck_assert_str_eq(err, "vdifs-tool: volume create vm: File exists\n");
	free(out);
	free(err);

	/* $VDIFS_MDS */
	ck_assert_int_eq(tool(&out, &err, g_mds.addr, "volume", "list", NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "vm"));
	free(out);
	free(err);

	ck_assert_int_eq(TOOL(&out, &err, "--json", "volume", "list"), 0);
	j = json_tokener_parse(out);
	ck_assert_msg(j && json_object_is_type(j, json_type_array),
		      "not a JSON array: %s", out);
	for (i = 0; i < (int)json_object_array_length(j); i++) {
		o = json_object_array_get_idx(j, i);
		if (!json_object_object_get_ex(o, "name", &v) ||
		    strcmp(json_object_get_string(v), "vm"))
			continue;
		found = true;
		ck_assert(json_object_object_get_ex(o, "chunk_size", &v));
		ck_assert_int_eq(json_object_get_int64(v), 1 * MiB);
		ck_assert(json_object_object_get_ex(o, "extent_size", &v));
		ck_assert_int_eq(json_object_get_int64(v), 16 * KiB);
		ck_assert(json_object_object_get_ex(o, "replicas", &v));
		ck_assert_int_eq(json_object_get_int(v), 2);
		ck_assert(json_object_object_get_ex(o, "mode", &v));
		ck_assert_str_eq(json_object_get_string(v), "async");
	}
	ck_assert(found);
	json_object_put(j);
	free(out);
	free(err);

	ck_assert_int_eq(TOOL(&out, &err, "volume", "delete", "vm"), 0);
	free(out);
	free(err);
	ck_assert_int_eq(TOOL(&out, &err, "volume", "delete", "vm"), 1);
	ck_assert_str_eq(err,
			 "vdifs-tool: volume delete vm: No such file or directory\n");
	free(out);
	free(err);
}
END_TEST

START_TEST(test_tool_status)
{
	struct json_object *j, *a, *o, *v;
	char *out, *err;
	struct vdc_conn *d;
	u32 id;

	d = ds_join(3, 10 * GiB, &id);
	ck_ok(vdc_session_open(g_cli, 0, "box-17", NULL));
	ck_assert_int_eq(TOOL(&out, &err, "status"), 0);
	ck_assert_ptr_nonnull(strstr(out, "box-17"));
	ck_assert_ptr_nonnull(strstr(out, "127.0.0.1:21003"));
	ck_assert_ptr_nonnull(strstr(out, "up"));
	free(out);
	free(err);
	ck_assert_int_eq(TOOL(&out, &err, "--json", "status"), 0);
	j = json_tokener_parse(out);
	ck_assert_msg(j != NULL, "not JSON: %s", out);
	ck_assert(json_object_object_get_ex(j, "data_servers", &a));
	ck_assert_int_eq((int)json_object_array_length(a), 1);
	o = json_object_array_get_idx(a, 0);
	ck_assert(json_object_object_get_ex(o, "id", &v));
	ck_assert_int_eq(json_object_get_int64(v), id);
	ck_assert(json_object_object_get_ex(o, "address", &v));
	ck_assert_str_eq(json_object_get_string(v), "127.0.0.1:21003");
	ck_assert(json_object_object_get_ex(o, "state", &v));
	ck_assert_str_eq(json_object_get_string(v), "up");
	ck_assert(json_object_object_get_ex(o, "capacity", &v));
	ck_assert_int_eq(json_object_get_int64(v), (int64_t)(10 * GiB));
	ck_assert(json_object_object_get_ex(j, "sessions", &a));
	ck_assert_int_eq((int)json_object_array_length(a), 1);
	o = json_object_array_get_idx(a, 0);
	ck_assert(json_object_object_get_ex(o, "host", &v));
	ck_assert_str_eq(json_object_get_string(v), "box-17");
	ck_assert(json_object_object_get_ex(o, "state", &v));
	ck_assert_str_eq(json_object_get_string(v), "up");
	json_object_put(j);
	free(out);
	free(err);
	vdc_close(d);

	/* nobody listening: a connection error, exit 1 */
	ck_assert_int_eq(tool(&out, &err, NULL, "--mds", "127.0.0.1:1",
			      "status", NULL), 1);
	ck_assert_ptr_nonnull(strstr(err, "vdifs-tool: "));
	free(out);
	free(err);
}
END_TEST

/* write a key file of mode mode holding text */
static void key_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", text);
	fclose(f);
	ck_ok(chmod(path, mode));
}

/*
 * The tool's key comes from a file its owner alone can read, never from
 * the command line (where every user sees it), and is 16 to 64 bytes.
 */
START_TEST(test_tool_key)
{
	char *out, *err;
	char kf[PATH_MAX + 16];

	ck_assert_int_eq(TOOL(&out, &err, "volume", "list"), 1);
	ck_assert_ptr_nonnull(strstr(err, "no key given"));
	free(out);
	free(err);
	snprintf(kf, sizeof(kf), "%s/keyfile", g_mds.dir);
	key_file(kf, TEST_KEY, 0600);
	ck_assert_int_eq(TOOL(&out, &err, "--key-file", kf, "volume",
			      "create", "k1"), 0);
	free(out);
	free(err);
	ck_assert_int_eq(TOOL(&out, &err, "--key-file", kf, "volume",
			      "list"), 0);
	ck_assert_ptr_nonnull(strstr(out, "k1"));
	free(out);
	free(err);
	/* others can read it: refused before any connection */
	key_file(kf, TEST_KEY, 0644);
	ck_assert_int_eq(TOOL(&out, &err, "--key-file", kf, "volume", "list"),
			 2);
	ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
	free(out);
	free(err);
	/* too short a key, and not hex */
	key_file(kf, "00112233445566778899aabbccddee", 0600);
	ck_assert_int_eq(TOOL(&out, &err, "--key-file", kf, "volume", "list"),
			 2);
	ck_assert_ptr_nonnull(strstr(err, "16 to 64 bytes"));
	free(out);
	free(err);
	key_file(kf, "xyz", 0600);
	ck_assert_int_eq(TOOL(&out, &err, "--key-file", kf, "volume", "list"),
			 2);
	free(out);
	free(err);
	/* and --key HEX is gone */
	ck_assert_int_eq(TOOL(&out, &err, "--key", TEST_KEY, "volume",
			      "list"), 2);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_tool_principals)
{
	char *out, *err;
	char kf[PATH_MAX + 16], hf[PATH_MAX + 16];
	struct stat st;

	snprintf(kf, sizeof(kf), "%s/keyfile", g_mds.dir);
	snprintf(hf, sizeof(hf), "%s/ops.key", g_mds.dir);
	key_file(kf, TEST_KEY, 0600);
	ck_assert_int_eq(TOOL(&out, &err, "--key-file", kf, "key", "add",
			      "ops", "--role", "admin", "--out", hf), 0);
	free(out);
	free(err);
	ck_ok(stat(hf, &st));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	/* the administrator's own principal does the rest */
	ck_assert_int_eq(TOOL(&out, &err, "--principal", "ops", "--key-file",
			      hf, "volume", "create", "gold"), 0);
	free(out);
	free(err);
	ck_assert_int_eq(TOOL(&out, &err, "--principal", "ops", "--key-file",
			      hf, "key", "add", "host1", "--role", "client"), 0);
	ck_assert_uint_eq(strlen(out), 65);
	free(out);
	free(err);
	ck_assert_int_eq(TOOL(&out, &err, "--principal", "ops", "--key-file",
			      hf, "access", "set", "gold", "host1", "ro"), 0);
	free(out);
	free(err);
	ck_assert_int_eq(TOOL(&out, &err, "--principal", "ops", "--key-file",
			      hf, "--json", "access", "list", "gold"), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"principal\": \"host1\""));
	ck_assert_ptr_nonnull(strstr(out, "\"access\": \"ro\""));
	free(out);
	free(err);
	ck_assert_int_eq(TOOL(&out, &err, "--principal", "ops", "--key-file",
			      hf, "access", "set", "gold", "host1", "rx"), 2);
	free(out);
	free(err);
	ck_assert_int_eq(TOOL(&out, &err, "--key-file", kf, "key", "list"),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "host1"));
	ck_assert_ptr_nonnull(strstr(out, "ops"));
	free(out);
	free(err);
	/* revoked, its key file is worth nothing */
	ck_assert_int_eq(TOOL(&out, &err, "--key-file", kf, "key", "delete",
			      "ops"), 0);
	free(out);
	free(err);
	ck_assert_int_eq(TOOL(&out, &err, "--principal", "ops", "--key-file",
			      hf, "volume", "list"), 1);
	free(out);
	free(err);
	ck_assert_int_eq(TOOL(&out, &err, "--principal", "bad name",
			      "--key-file", hf, "volume", "list"), 2);
	free(out);
	free(err);
}
END_TEST

/* ================================================================== */

static TCase *tcase(Suite *s, const char *name, void (*up)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, up, teardown);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return tc;
}



/*
 * A backup taken while the MDS serves (vdifs-tool mds backup) holds the
 * state of its moment: an MDS started on it has what was there then and
 * not what came after.  Bad paths and other roles are refused.
 */
START_TEST(test_backup)
{
	struct vdifs_backup_req q = { 0 };
	struct vdc_attr a;
	struct vdc_msg m;
	char dir[PATH_MAX + 16], tool[PATH_MAX + 64];
	int ret;

	a = mk(g_root, "before", S_IFREG | 0644);
	snprintf(dir, sizeof(dir), "%s/backup", g_mds.dir);
	q.path_len = cpu_to_le16((u16)strlen(dir));
	ck_ret(vdc_call(g_cli, VDIFS_OP_MDS_BACKUP, &q, sizeof(q), dir,
			(u32)strlen(dir), NULL, 0, NULL), -EPERM);
	q.path_len = cpu_to_le16(8);
	ck_ret(vdc_call(g_tool, VDIFS_OP_MDS_BACKUP, &q, sizeof(q),
			"relative", 8, NULL, 0, NULL), -EINVAL);
	/* through the tool, as an operator would */
	snprintf(tool, sizeof(tool), "%s/vdifs-tool", h_bindir());
	{
		char *argv[] = { tool, "--insecure", "mds", "backup", dir,
				 NULL };
		char *out = NULL, *err = NULL;

		ret = h_run(argv, g_mds.addr, &out, &err);
		ck_assert_msg(ret == 0, "vdifs-tool mds backup: %d: %s", ret,
			      err ? err : "");
		ck_assert_ptr_nonnull(strstr(out, "copied to"));
		free(out);
		free(err);
	}
	/* not over an existing directory */
	q.path_len = cpu_to_le16((u16)strlen(dir));
	ck_ret(vdc_call(g_tool, VDIFS_OP_MDS_BACKUP, &q, sizeof(q), dir,
			(u32)strlen(dir), NULL, 0, &m), -EEXIST);
	mk(g_root, "after", S_IFREG | 0644);

	/* restore: an MDS on the copy */
	vdc_close(g_cli);
	vdc_close(g_tool);
	g_cli = g_tool = NULL;
	h_mds_stop(&g_mds, SIGTERM);
	snprintf(g_mds.data, sizeof(g_mds.data), "%s", dir);
	ck_ok(h_mds_launch(&g_mds));
	g_tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	g_cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	ck_assert_uint_eq(look(g_root, "before").ino, a.ino);
	{
		struct vdc_attr x;

		ck_ret(vdc_lookup(g_cli, g_v, g_root, "after", &x), -ENOENT);
	}
}
END_TEST

/* ---- exactly-once mutations (replay.c) ---- */

/* one raw request with a chosen id: the reply's status, *ino from attr */
static int raw_call(int fd, u16 op, u64 id, const void *fixed, u32 flen,
		    const void *t1, u32 l1, const void *t2, u32 l2, u64 *ino)
{
	struct wire_hdr h;
	u8 *body = NULL;
	int ret;

	ck_ok(h_raw_send(fd, op, id, fixed, flen, t1, l1, t2, l2));
	ret = h_raw_recv(fd, &h, &body, 10000);
	ck_assert_msg(ret == 0, "reply to %u: %s", op, h_err(ret));
	ck_assert_uint_eq(h.req_id, id);
	if (ino && !h.status && body && h.body_len >= sizeof(struct vdifs_attr))
		*ino = le64_to_cpu(((struct vdifs_attr_rep *)body)->attr.ino);
	free(body);
	return h.status;
}

static int raw_client(u64 session)
{
	struct vdifs_session_req q = { .session = cpu_to_le64(session) };
	int fd = h_raw_connect(g_mds.port);

	ck_assert_int_ge(fd, 0);
	ck_ok(h_raw_hello(fd, VDIFS_ROLE_CLIENT, 1));
	if (session)
		ck_ok(raw_call(fd, VDIFS_OP_SESSION_BIND, 2, &q, sizeof(q),
			       NULL, 0, NULL, 0, NULL));
	return fd;
}

/*
 * A client resends what was in flight when its connection broke or the
 * MDS restarted: a mutation already done is answered as it was, not done
 * again (CREATE with EXCL is not EEXIST, RENAME not ENOENT), on a new
 * connection of the same session and across a restart; a new request id
 * is done afresh, and without the session a resend is done again.
 */
/*
 * A session unheard for session_expiry_s goes, with its kept replies: it
 * can no longer be bound, and a session that heartbeats stays.
 */
START_TEST(test_session_reaped)
{
	struct vdc_conn *c = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	struct vdifs_session_rep r;
	u64 quiet, alive;
	int i;

	ck_ok(vdc_session_open(c, 0, "quiet", &r));
	quiet = le64_to_cpu(r.session);
	ck_ok(vdc_session_open(c, 0, "alive", &r));
	alive = le64_to_cpu(r.session);
	for (i = 0; i < 30; i++) {
		ck_ok(vdc_session_heartbeat(c, alive));
		usleep(100 * 1000);
	}
	ck_ret(vdc_session_bind(c, quiet), -ENOENT);
	ck_ok(vdc_session_bind(c, alive));
	vdc_close(c);
}
END_TEST

START_TEST(test_replay)
{
	struct vdifs_session_open_req so = {
		.vol = cpu_to_le32(g_v), .name_len = cpu_to_le16(2),
	};
	struct vdifs_create_req cq = {
		.vol = cpu_to_le32(g_v), .name_len = cpu_to_le16(2),
		.flags = cpu_to_le16(VDIFS_CREATE_EXCL),
		.parent = cpu_to_le64(g_root),
		.mode = cpu_to_le32(S_IFREG | 0644),
	};
	struct vdifs_rename_req rq = {
		.vol = cpu_to_le32(g_v), .olddir = cpu_to_le64(g_root),
		.newdir = cpu_to_le64(g_root), .oldname_len = cpu_to_le16(2),
		.newname_len = cpu_to_le16(2),
	};
	u64 ino = 0, again = 0, session;
	int fd;

	/* a session, and a file made in it */
	fd = raw_client(0);
	{
		struct wire_hdr h;
		u8 *body = NULL;

		ck_ok(h_raw_send(fd, VDIFS_OP_SESSION_OPEN, 3, &so, sizeof(so),
				 "rp", 2, NULL, 0));
		ck_ok(h_raw_recv(fd, &h, &body, 10000));
		ck_assert_int_eq(h.status, 0);
		session = le64_to_cpu(((struct vdifs_session_rep *)body)->session);
		free(body);
	}
	ck_assert_int_eq(raw_call(fd, VDIFS_OP_CREATE, 100, &cq, sizeof(cq),
				  "r1", 2, NULL, 0, &ino), 0);
	close(fd);

	/* the reply was lost: the resend on a new connection */
	fd = raw_client(session);
	ck_assert_int_eq(raw_call(fd, VDIFS_OP_CREATE, 100, &cq, sizeof(cq),
				  "r1", 2, NULL, 0, &again), 0);
	ck_assert_uint_eq(again, ino);
	/* a new request is a new request */
	ck_assert_int_eq(raw_call(fd, VDIFS_OP_CREATE, 101, &cq, sizeof(cq),
				  "r1", 2, NULL, 0, NULL), -EEXIST);
	ck_assert_int_eq(raw_call(fd, VDIFS_OP_RENAME, 102, &rq, sizeof(rq),
				  "r1", 2, "r2", 2, NULL), 0);
	close(fd);

	/* and after a restart of the MDS */
	vdc_close(g_cli);
	vdc_close(g_tool);
	g_cli = g_tool = NULL;
	ck_ok(h_mds_restart(&g_mds, SIGKILL));
	g_tool = h_connect(&g_mds, VDIFS_ROLE_TOOL);
	g_cli = h_connect(&g_mds, VDIFS_ROLE_CLIENT);
	fd = raw_client(session);
	ck_assert_int_eq(raw_call(fd, VDIFS_OP_RENAME, 102, &rq, sizeof(rq),
				  "r1", 2, "r2", 2, NULL), 0);
	again = 0;
	ck_assert_int_eq(raw_call(fd, VDIFS_OP_CREATE, 100, &cq, sizeof(cq),
				  "r1", 2, NULL, 0, &again), 0);
	ck_assert_uint_eq(again, ino);
	close(fd);
	ck_assert_uint_eq(look(g_root, "r2").ino, ino);

	/* without the session, the same request is done again */
	fd = raw_client(0);
	ck_assert_int_eq(raw_call(fd, VDIFS_OP_RENAME, 102, &rq, sizeof(rq),
				  "r1", 2, "r2", 2, NULL), -ENOENT);
	close(fd);
	/* a session that is not there cannot be bound */
	fd = raw_client(0);
	{
		struct vdifs_session_req q = { .session = cpu_to_le64(session + 1000) };

		ck_assert_int_eq(raw_call(fd, VDIFS_OP_SESSION_BIND, 5, &q,
					  sizeof(q), NULL, 0, NULL, 0, NULL),
				 -ENOENT);
	}
	close(fd);
}
END_TEST

static Suite *mds_suite(void)
{
	Suite *s = suite_create("mds");
	TCase *tc;

	tc = tcase(s, "volume", setup);
	tcase_add_test(tc, test_vol_create_defaults);
	tcase_add_test(tc, test_vol_create_params);
	tcase_add_test(tc, test_vol_duplicate);
	tcase_add_test(tc, test_vol_bad_names);
	tcase_add_test(tc, test_vol_bad_params);
	tcase_add_test(tc, test_vol_list);
	tcase_add_test(tc, test_vol_delete);
	tcase_add_test(tc, test_statfs);

	tc = tcase(s, "namespace", setup_vol);
	tcase_add_test(tc, test_root);
	tcase_add_test(tc, test_create_lookup);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_mkdir);
	tcase_add_test(tc, test_mknod);
	tcase_add_test(tc, test_symlink);
	tcase_add_test(tc, test_link);
	tcase_add_test(tc, test_unlink);
	tcase_add_test(tc, test_rmdir);
	tcase_add_test(tc, test_under_file);
	tcase_add_test(tc, test_bad_names);
	tcase_add_test(tc, test_bad_name_256_raw);
	tcase_add_test(tc, test_setattr);
	tcase_add_test(tc, test_rename_plain);
	tcase_add_test(tc, test_rename_replace);
	tcase_add_test(tc, test_rename_noreplace);
	tcase_add_test(tc, test_rename_exchange);
	tcase_add_test(tc, test_rename_flags);
	tcase_add_test(tc, test_rename_dirs);
	tcase_add_test(tc, test_rename_dir_across);
	tcase_add_test(tc, test_readdir_many);
	tcase_add_test(tc, test_readdir_cookies);
	tcase_add_test(tc, test_xattr);
	tcase_add_test(tc, test_ino_unique);

	tc = tcase(s, "layout", setup_vol);
	tcase_add_test(tc, test_chunk_inherit);
	tcase_add_test(tc, test_layout_set_file);
	tcase_add_test(tc, test_clone_range_fork_args);

	tc = tcase(s, "placement", setup);
	tcase_add_test(tc, test_placement);
	tcase_add_test(tc, test_placement_enospc);
	tcase_add_test(tc, test_placement_no_ds);

	tc = tcase(s, "heartbeat", setup_lease);
	tcase_add_test(tc, test_ds_expiry);
	tcase_add_test(tc, test_session_expiry);
	tcase_add_test(tc, test_heartbeat_unknown);

	tc = tcase(s, "restart", setup);
	tcase_add_test(tc, test_restart_sigterm);
	tcase_add_test(tc, test_restart_sigkill);

	tc = tcase(s, "replay", setup_vol);
	tcase_add_test(tc, test_replay);
	tcase_add_test(tc, test_backup);
	tc = tcase(s, "session-expiry", setup_expiry);
	tcase_add_test(tc, test_session_reaped);

	tc = tcase(s, "malformed", setup_malformed);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_bad_body_crc);
	tcase_add_test(tc, test_before_hello);
	tcase_add_test(tc, test_unknown_opcode);
	tcase_add_test(tc, test_body_too_large);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_stalled_peer);
	tcase_add_test(tc, test_raw_names);
	tcase_add_test(tc, test_cross_volume);
	tcase_add_test(tc, test_random_connections);
	tcase_add_test(tc, test_handler_fuzz);

	tc = tcase(s, "auth", setup_auth);
	tcase_add_test(tc, test_auth_none);
	tcase_add_test(tc, test_auth_raw);
	tcase_add_test(tc, test_auth_wrong_key);
	tcase_add_test(tc, test_auth_right_key);
	tcase_add_test(tc, test_tool_key);

	tc = tcase(s, "principals", setup_auth);
	tcase_add_test(tc, test_principal_auth);
	tcase_add_test(tc, test_principal_revoke);
	tcase_add_test(tc, test_access_lists);
	tcase_add_test(tc, test_access_restart);
	tcase_add_test(tc, test_tool_principals);

	tc = tcase(s, "tool", setup);
	tcase_add_test(tc, test_principal_keyless);
	tcase_add_test(tc, test_auth_unproven_server);
	tcase_add_test(tc, test_tool_help);
	tcase_add_test(tc, test_tool_volumes);
	tcase_add_test(tc, test_tool_status);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mds_suite());
	int failed;

	h_tmp_begin();
	/* CK_NORMAL unless $CK_VERBOSITY says otherwise */
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	h_tmp_end();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
