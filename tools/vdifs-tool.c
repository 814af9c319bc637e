// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-tool: administration of a vdifs cluster through its MDS.
 *
 *   vdifs-tool [--mds ADDR:PORT] [--key HEX|--key-file F] [--json]
 *              COMMAND ...
 *
 * Exit status: 0 success, 1 the server (or the connection) refused or
 * failed, 2 a usage error (unknown command or option, bad value).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json.h>

#include "vdifs_client.h"

#define PROG		"vdifs-tool"
#define DEFAULT_MDS	"127.0.0.1:7400"
#define KEY_MAX		256

#define EXIT_FAIL	1
#define EXIT_USAGE	2

struct tool {
	const char *mds;
	u8 key[KEY_MAX];
	size_t key_len;
	bool json;
	struct vdc_conn *conn;
};

static const char usage_text[] =
"usage: vdifs-tool [--mds ADDR:PORT] [--key HEX|--key-file FILE] [--json]\n"
"                  COMMAND ...\n"
"\n"
"Administers a vdifs cluster through its metadata server.\n"
"\n"
"Commands:\n"
"  volume create NAME [--chunk-size SIZE] [--extent-size SIZE|adaptive]\n"
"                     [--replicas N] [--mode sync|async]\n"
"                        create a volume\n"
"  volume list           list the volumes\n"
"  volume delete NAME    delete a volume and everything in it\n"
"  status                data servers and client sessions\n"
"\n"
"Options:\n"
"  --mds ADDR:PORT   the metadata server (default: $VDIFS_MDS, else "
DEFAULT_MDS ")\n"
"  --key HEX         shared key, in hex, when the server requires one\n"
"  --key-file FILE   read the key (hex) from FILE\n"
"  --json            print results as JSON\n"
"  -h, --help        this text; 'vdifs-tool COMMAND --help' for a command\n"
"\n"
"SIZE takes a K, M or G suffix (powers of 1024).  Exit status: 0 success,\n"
"1 the server refused or failed, 2 usage error.\n";

static const char volume_usage[] =
"usage: vdifs-tool volume create NAME [--chunk-size SIZE]\n"
"                         [--extent-size SIZE|adaptive] [--replicas N]\n"
"                         [--mode sync|async]\n"
"       vdifs-tool volume list\n"
"       vdifs-tool volume delete NAME\n"
"\n"
"Creates, lists and deletes volumes.  A volume is a separate file system\n"
"tree, mounted as HOST:PORT/NAME.  Names are 1-64 characters of letters,\n"
"digits, '_', '-' and '.', not starting with '.' or '-'.\n";

static const char create_usage[] =
"usage: vdifs-tool volume create NAME [--chunk-size SIZE]\n"
"                         [--extent-size SIZE|adaptive] [--replicas N]\n"
"                         [--mode sync|async]\n"
"\n"
"Creates volume NAME.  Its settings are the defaults of every file in it;\n"
"a directory's layout can override them for what is created below it.\n"
"  --chunk-size SIZE   bytes of a file per chunk: a power of two, 64K..1G\n"
"                      (default 64M)\n"
"  --extent-size SIZE  allocation unit inside a chunk: a power of two,\n"
"                      4K..1M, or 'adaptive' (default 64K)\n"
"  --replicas N        copies of each chunk on distinct data servers, 1..4\n"
"  --mode sync|async   sync: a write returns when every replica has it;\n"
"                      async: when the primary has it\n"
"SIZE takes a K, M or G suffix.\n";

static const char list_usage[] =
"usage: vdifs-tool volume list\n"
"\n"
"Lists every volume: id, name, layout defaults, inodes and bytes used.\n";

static const char delete_usage[] =
"usage: vdifs-tool volume delete NAME\n"
"\n"
"Deletes volume NAME with all of its files.\n";

static const char status_usage[] =
"usage: vdifs-tool status\n"
"\n"
"Shows the cluster as the MDS sees it: each data server (id, address,\n"
"state up/down, capacity, used, chunks, time since its last heartbeat)\n"
"and each client session.\n";

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try 'vdifs-tool --help')\n", stderr);
	exit(EXIT_USAGE);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(err < 0 ? -err : err));
	return EXIT_FAIL;
}

static bool is_help(const char *s)
{
	return !strcmp(s, "--help") || !strcmp(s, "-h");
}

/* ---- values ---- */

/* "64M", "4k", "1G", "65536"; K/M/G are powers of 1024 */
static int parse_size(const char *s, u64 *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		shift = 20;
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	}
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (u64)v << shift;
	return 0;
}

static bool is_pow2(u64 v)
{
	return v && !(v & (v - 1));
}

/* 1536 -> "1.5K"; exact multiples without decimals */
static void fmt_size(u64 v, char *buf, size_t cap)
{
	static const char units[] = "KMGTPE";
	double d = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, cap, "%" PRIu64, v);
		return;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (d == (double)(u64)d)
		snprintf(buf, cap, "%" PRIu64 "%c", (u64)d, units[u]);
	else
		snprintf(buf, cap, "%.1f%c", d, units[u]);
}

static const char *mode_name(u8 m)
{
	switch (m) {
	case VDIFS_REPL_SYNC:
		return "sync";
	case VDIFS_REPL_ASYNC:
		return "async";
	default:
		return "?";
	}
}

static const char *state_name(u8 s)
{
	switch (s) {
	case VDIFS_STATE_UP:
		return "up";
	case VDIFS_STATE_DOWN:
		return "down";
	default:
		return "?";
	}
}

static void fmt_ms(u64 ms, char *buf, size_t cap)
{
	if (ms < 1000)
		snprintf(buf, cap, "%" PRIu64 "ms ago", ms);
	else if (ms < 120000)
		snprintf(buf, cap, "%.1fs ago", (double)ms / 1000);
	else if (ms < 7200000)
		snprintf(buf, cap, "%" PRIu64 "m ago", ms / 60000);
	else
		snprintf(buf, cap, "%" PRIu64 "h ago", ms / 3600000);
}

/* ---- connection ---- */

static int read_key_file(const char *path, struct tool *t)
{
	char buf[2 * KEY_MAX + 64];
	size_t n, i, j = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, PROG ": --key-file %s: %s\n", path,
			strerror(errno));
		exit(EXIT_USAGE);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n == sizeof(buf) - 1)
		usage_error("--key-file %s: key too long", path);
	/* drop white space, so a trailing newline or a wrapped key works */
	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)buf[i]))
			buf[j++] = buf[i];
	buf[j] = '\0';
	if (vdc_key_parse_hex(buf, t->key, sizeof(t->key), &t->key_len) ||
	    !t->key_len)
		usage_error("--key-file %s: not a hex key", path);
	return 0;
}

static int tool_connect(struct tool *t)
{
	struct vdc_opts o = {
		.role = VDIFS_ROLE_TOOL,
		.key = t->key_len ? t->key : NULL,
		.key_len = t->key_len,
	};
	char what[300];
	int ret;

	ret = vdc_connect(t->mds, &o, &t->conn);
	if (ret) {
		snprintf(what, sizeof(what), "connect %s", t->mds);
		return fail(what, ret);
	}
	return 0;
}

static void json_print(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED));
	json_object_put(o);
}

static struct json_object *jint(u64 v)
{
	return json_object_new_uint64(v);
}

/* ---- volume ---- */

struct opt_arg {
	const char *name;
	const char *val;
};

/*
 * Split argv into positional arguments and "--opt VALUE" / "--opt=VALUE"
 * pairs of the given option names.  Exits on anything else.
 */
static int split_args(int argc, char **argv, const char *const *known,
		      const char *usage, const char **pos, int maxpos,
		      struct opt_arg *opts, int maxopts, int *nopts,
		      const char *cmd)
{
	int i, npos = 0, k;

	*nopts = 0;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, *val;
		size_t nl;

		if (is_help(a)) {
			fputs(usage, stdout);
			exit(0);
		}
		if (!strcmp(a, "--")) {
			for (i++; i < argc; i++) {
				if (npos >= maxpos)
					usage_error("%s: unexpected argument '%s'",
						    cmd, argv[i]);
				pos[npos++] = argv[i];
			}
			break;
		}
		if (a[0] != '-' || !a[1]) {
			if (npos >= maxpos)
				usage_error("%s: unexpected argument '%s'",
					    cmd, a);
			pos[npos++] = a;
			continue;
		}
		eq = strchr(a, '=');
		nl = eq ? (size_t)(eq - a) : strlen(a);
		for (k = 0; known && known[k]; k++)
			if (strlen(known[k]) == nl && !strncmp(known[k], a, nl))
				break;
		if (!known || !known[k])
			usage_error("%s: unknown option '%.*s'", cmd, (int)nl,
				    a);
		if (eq) {
			val = eq + 1;
		} else {
			if (i + 1 >= argc)
				usage_error("%s: option '%s' needs a value",
					    cmd, a);
			val = argv[++i];
		}
		if (*nopts >= maxopts)
			usage_error("%s: too many options", cmd);
		opts[*nopts].name = known[k];
		opts[*nopts].val = val;
		(*nopts)++;
	}
	return npos;
}

static void vol_json_fill(struct json_object *o, const struct vdc_vol *v)
{
	json_object_object_add(o, "id", jint(v->vol));
	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "root_ino", jint(v->root_ino));
	json_object_object_add(o, "inodes", jint(v->inodes));
	json_object_object_add(o, "bytes", jint(v->bytes));
	json_object_object_add(o, "chunk_size", jint(v->params.chunk_size));
	if (v->params.extent_size)
		json_object_object_add(o, "extent_size",
				       jint(v->params.extent_size));
	else
		json_object_object_add(o, "extent_size",
				       json_object_new_string("adaptive"));
	json_object_object_add(o, "replicas", jint(v->params.replicas));
	json_object_object_add(o, "mode",
			       json_object_new_string(
				       mode_name(v->params.repl_mode)));
}

static void vol_params_str(const struct vdc_vol *v, char *buf, size_t cap)
{
	char cs[32], es[32];

	fmt_size(v->params.chunk_size, cs, sizeof(cs));
	if (v->params.extent_size)
		fmt_size(v->params.extent_size, es, sizeof(es));
	else
		snprintf(es, sizeof(es), "adaptive");
	snprintf(buf, cap, "chunk %s, extent %s, replicas %u, %s", cs, es,
		 v->params.replicas, mode_name(v->params.repl_mode));
}

static int cmd_volume_create(struct tool *t, int argc, char **argv)
{
	static const char *const known[] = {
		"--chunk-size", "--extent-size", "--replicas", "--mode", NULL
	};
	const char *cmd = "volume create";
	struct opt_arg opts[16];
	struct vdc_params p;
	struct vdc_vol v;
	const char *pos[1];
	char what[128], buf[128];
	int npos, nopts, i, ret;

	npos = split_args(argc, argv, known, create_usage, pos, 1, opts,
			  (int)(sizeof(opts) / sizeof(opts[0])), &nopts, cmd);
	if (npos != 1)
		usage_error("%s: needs a volume NAME", cmd);
	ret = wire_check_volname((const u8 *)pos[0], strnlen(pos[0], 65));
	if (ret)
		usage_error("%s: invalid volume name '%s': 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'",
			    cmd, pos[0]);

	memset(&p, 0, sizeof(p));
	for (i = 0; i < nopts; i++) {
		const char *n = opts[i].name, *val = opts[i].val;
		u64 sz;

		if (!strcmp(n, "--chunk-size")) {
			if (parse_size(val, &sz) || !is_pow2(sz) ||
			    sz < VDIFS_CHUNK_MIN || sz > VDIFS_CHUNK_MAX)
				usage_error("%s: invalid --chunk-size '%s': a power of two from 64K to 1G",
					    cmd, val);
			p.chunk_size = (u32)sz;
		} else if (!strcmp(n, "--extent-size")) {
			if (!strcmp(val, "adaptive")) {
				p.extent_size = VDIFS_EXTENT_ADAPTIVE;
				continue;
			}
			if (parse_size(val, &sz) || !is_pow2(sz) ||
			    sz < VDIFS_EXTENT_MIN || sz > VDIFS_EXTENT_MAX)
				usage_error("%s: invalid --extent-size '%s': a power of two from 4K to 1M, or 'adaptive'",
					    cmd, val);
			p.extent_size = (u32)sz;
		} else if (!strcmp(n, "--replicas")) {
			char *end;
			unsigned long r;

			errno = 0;
			r = strtoul(val, &end, 10);
			if (errno || end == val || *end || !isdigit((unsigned char)*val) ||
			    r < 1 || r > VDIFS_MAX_REPLICAS)
				usage_error("%s: invalid --replicas '%s': 1 to %u",
					    cmd, val, VDIFS_MAX_REPLICAS);
			p.replicas = (u8)r;
		} else if (!strcmp(n, "--mode")) {
			if (!strcmp(val, "sync"))
				p.repl_mode = VDIFS_REPL_SYNC;
			else if (!strcmp(val, "async"))
				p.repl_mode = VDIFS_REPL_ASYNC;
			else
				usage_error("%s: invalid --mode '%s': sync or async",
					    cmd, val);
		}
	}
	if (p.chunk_size && p.extent_size && p.extent_size > p.chunk_size)
		usage_error("%s: --extent-size is larger than --chunk-size",
			    cmd);

	ret = tool_connect(t);
	if (ret)
		return ret;
	ret = vdc_vol_create(t->conn, pos[0], &p, &v);
	if (ret) {
		snprintf(what, sizeof(what), "%s %s", cmd, pos[0]);
		return fail(what, ret);
	}
	if (t->json) {
		struct json_object *o = json_object_new_object();

		vol_json_fill(o, &v);
		json_print(o);
	} else {
		vol_params_str(&v, buf, sizeof(buf));
		printf("created volume %s (id %u): %s\n", v.name, v.vol, buf);
	}
	return 0;
}

struct list_ctx {
	struct tool *t;
	struct json_object *arr;
	int n;
};

static int list_cb(const struct vdc_vol *v, void *arg)
{
	struct list_ctx *lc = arg;
	char cs[32], es[32], bs[32];

	if (lc->t->json) {
		struct json_object *o = json_object_new_object();

		vol_json_fill(o, v);
		json_object_array_add(lc->arr, o);
		return 0;
	}
	if (!lc->n++)
		printf("%-5s %-24s %7s %8s %4s %-5s %10s %8s\n", "ID", "NAME",
		       "CHUNK", "EXTENT", "REPL", "MODE", "INODES", "BYTES");
	fmt_size(v->params.chunk_size, cs, sizeof(cs));
	if (v->params.extent_size)
		fmt_size(v->params.extent_size, es, sizeof(es));
	else
		snprintf(es, sizeof(es), "adaptive");
	fmt_size(v->bytes, bs, sizeof(bs));
	printf("%-5u %-24s %7s %8s %4u %-5s %10" PRIu64 " %8s\n", v->vol,
	       v->name, cs, es, v->params.replicas,
	       mode_name(v->params.repl_mode), v->inodes, bs);
	return 0;
}

static int cmd_volume_list(struct tool *t, int argc, char **argv)
{
	struct list_ctx lc = { .t = t };
	struct opt_arg opts[1];
	const char *pos[1];
	int nopts, ret;

	split_args(argc, argv, NULL, list_usage, pos, 0, opts, 0, &nopts,
		   "volume list");
	ret = tool_connect(t);
	if (ret)
		return ret;
	if (t->json)
		lc.arr = json_object_new_array();
	ret = vdc_vol_list(t->conn, list_cb, &lc);
	if (ret < 0) {
		if (lc.arr)
			json_object_put(lc.arr);
		return fail("volume list", ret);
	}
	if (t->json)
		json_print(lc.arr);
	else if (!lc.n)
		printf("no volumes\n");
	return 0;
}

static int cmd_volume_delete(struct tool *t, int argc, char **argv)
{
	const char *cmd = "volume delete";
	struct opt_arg opts[1];
	const char *pos[1];
	char what[128];
	int npos, nopts, ret;

	npos = split_args(argc, argv, NULL, delete_usage, pos, 1, opts, 0,
			  &nopts, cmd);
	if (npos != 1)
		usage_error("%s: needs a volume NAME", cmd);
	if (wire_check_volname((const u8 *)pos[0], strnlen(pos[0], 65)))
		usage_error("%s: invalid volume name '%s'", cmd, pos[0]);
	ret = tool_connect(t);
	if (ret)
		return ret;
	ret = vdc_vol_delete(t->conn, pos[0]);
	if (ret) {
		snprintf(what, sizeof(what), "%s %s", cmd, pos[0]);
		return fail(what, ret);
	}
	if (t->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "deleted",
				       json_object_new_string(pos[0]));
		json_print(o);
	} else {
		printf("deleted volume %s\n", pos[0]);
	}
	return 0;
}

static int cmd_volume(struct tool *t, int argc, char **argv)
{
	const char *sub;

	if (argc < 1)
		usage_error("volume: needs a subcommand: create, list or delete");
	sub = argv[0];
	if (is_help(sub)) {
		fputs(volume_usage, stdout);
		exit(0);
	}
	if (!strcmp(sub, "create"))
		return cmd_volume_create(t, argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return cmd_volume_list(t, argc - 1, argv + 1);
	if (!strcmp(sub, "delete"))
		return cmd_volume_delete(t, argc - 1, argv + 1);
	usage_error("volume: unknown subcommand '%s'", sub);
}

/* ---- status ---- */

struct sess_rec {
	struct vdifs_session_status s;
	char name[VDIFS_NAME_MAX + 1];
};

/* the records are kept and printed after the reply, header first */
struct status_ctx {
	struct vdifs_ds_status *ds;
	struct sess_rec *sess;
	size_t nds, nsess, cap_ds, cap_sess;
};

static int status_ds_cb(const struct vdifs_ds_status *d, void *arg)
{
	struct status_ctx *sc = arg;

	if (sc->nds == sc->cap_ds) {
		size_t cap = sc->cap_ds ? 2 * sc->cap_ds : 16;
		void *p = realloc(sc->ds, cap * sizeof(*sc->ds));

		if (!p)
			return -ENOMEM;
		sc->ds = p;
		sc->cap_ds = cap;
	}
	sc->ds[sc->nds++] = *d;
	return 0;
}

static int status_sess_cb(const struct vdifs_session_status *s,
			  const char *name, void *arg)
{
	struct status_ctx *sc = arg;
	struct sess_rec *r;

	if (sc->nsess == sc->cap_sess) {
		size_t cap = sc->cap_sess ? 2 * sc->cap_sess : 16;
		void *p = realloc(sc->sess, cap * sizeof(*sc->sess));

		if (!p)
			return -ENOMEM;
		sc->sess = p;
		sc->cap_sess = cap;
	}
	r = &sc->sess[sc->nsess++];
	r->s = *s;
	snprintf(r->name, sizeof(r->name), "%s", name);
	return 0;
}

static void status_json(const struct tool *t, const struct status_ctx *sc,
			u64 epoch)
{
	struct json_object *o = json_object_new_object();
	struct json_object *ds = json_object_new_array();
	struct json_object *ss = json_object_new_array();
	char addr[64];
	size_t i;

	for (i = 0; i < sc->nds; i++) {
		const struct vdifs_ds_status *d = &sc->ds[i];
		struct json_object *e = json_object_new_object();

		vdc_addr_format(&d->addr, addr, sizeof(addr));
		json_object_object_add(e, "id", jint(le32_to_cpu(d->ds_id)));
		json_object_object_add(e, "address",
				       json_object_new_string(addr));
		json_object_object_add(e, "state",
				       json_object_new_string(
					       state_name(d->state)));
		json_object_object_add(e, "capacity",
				       jint(le64_to_cpu(d->capacity)));
		json_object_object_add(e, "used", jint(le64_to_cpu(d->used)));
		json_object_object_add(e, "chunks",
				       jint(le64_to_cpu(d->chunks)));
		json_object_object_add(e, "last_seen_ms",
				       jint(le64_to_cpu(d->last_seen_ms)));
		json_object_array_add(ds, e);
	}
	for (i = 0; i < sc->nsess; i++) {
		const struct sess_rec *r = &sc->sess[i];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "session",
				       jint(le64_to_cpu(r->s.session)));
		json_object_object_add(e, "volume",
				       jint(le32_to_cpu(r->s.vol)));
		json_object_object_add(e, "host",
				       json_object_new_string(r->name));
		json_object_object_add(e, "state",
				       json_object_new_string(
					       state_name(r->s.state)));
		json_object_object_add(e, "last_seen_ms",
				       jint(le64_to_cpu(r->s.last_seen_ms)));
		json_object_array_add(ss, e);
	}
	json_object_object_add(o, "mds", json_object_new_string(t->mds));
	json_object_object_add(o, "server_epoch", jint(epoch));
	json_object_object_add(o, "data_servers", ds);
	json_object_object_add(o, "sessions", ss);
	json_print(o);
}

static void status_text(const struct tool *t, const struct status_ctx *sc,
			u64 epoch)
{
	char addr[64], cap[32], used[32], seen[32];
	size_t i;

	printf("MDS %s, epoch %016" PRIx64 "\n\n", t->mds, epoch);
	if (!sc->nds)
		printf("no data servers\n");
	else
		printf("%-5s %-40s %-5s %9s %9s %10s %s\n", "ID",
		       "ADDRESS", "STATE", "CAPACITY", "USED", "CHUNKS",
		       "LAST SEEN");
	for (i = 0; i < sc->nds; i++) {
		const struct vdifs_ds_status *d = &sc->ds[i];

		vdc_addr_format(&d->addr, addr, sizeof(addr));
		fmt_size(le64_to_cpu(d->capacity), cap, sizeof(cap));
		fmt_size(le64_to_cpu(d->used), used, sizeof(used));
		fmt_ms(le64_to_cpu(d->last_seen_ms), seen, sizeof(seen));
		printf("%-5u %-40s %-5s %9s %9s %10" PRIu64 " %s\n",
		       le32_to_cpu(d->ds_id), addr, state_name(d->state), cap,
		       used, le64_to_cpu(d->chunks), seen);
	}
	printf("\n");
	if (!sc->nsess)
		printf("no client sessions\n");
	else
		printf("%-16s %-6s %-32s %-5s %s\n", "SESSION", "VOLUME",
		       "HOST", "STATE", "LAST SEEN");
	for (i = 0; i < sc->nsess; i++) {
		const struct sess_rec *r = &sc->sess[i];

		fmt_ms(le64_to_cpu(r->s.last_seen_ms), seen, sizeof(seen));
		printf("%016" PRIx64 " %-6u %-32s %-5s %s\n",
		       le64_to_cpu(r->s.session), le32_to_cpu(r->s.vol),
		       r->name[0] ? r->name : "-", state_name(r->s.state),
		       seen);
	}
}

static int cmd_status(struct tool *t, int argc, char **argv)
{
	struct vdc_status_cbs cbs = {
		.ds = status_ds_cb,
		.session = status_sess_cb,
	};
	struct status_ctx sc = { 0 };
	struct opt_arg opts[1];
	const char *pos[1];
	u64 epoch = 0;
	int nopts, ret;

	split_args(argc, argv, NULL, status_usage, pos, 0, opts, 0, &nopts,
		   "status");
	ret = tool_connect(t);
	if (ret)
		return ret;
	ret = vdc_status(t->conn, &cbs, &sc, &epoch);
	if (ret < 0) {
		ret = fail("status", ret);
	} else {
		if (t->json)
			status_json(t, &sc, epoch);
		else
			status_text(t, &sc, epoch);
		ret = 0;
	}
	free(sc.ds);
	free(sc.sess);
	return ret;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	struct tool t = { 0 };
	const char *key_hex = NULL, *key_file = NULL, *cmd;
	int i, ret;

	t.mds = getenv("VDIFS_MDS");
	if (!t.mds || !*t.mds)
		t.mds = DEFAULT_MDS;

	/* global options, up to the command */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		size_t nl;

		if (a[0] != '-')
			break;
		if (is_help(a)) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (!strcmp(a, "--json")) {
			t.json = true;
			continue;
		}
		eq = strchr(a, '=');
		nl = eq ? (size_t)(eq - a) : strlen(a);
		if ((nl == 5 && !strncmp(a, "--mds", nl)) ||
		    (nl == 5 && !strncmp(a, "--key", nl)) ||
		    (nl == 10 && !strncmp(a, "--key-file", nl))) {
			if (eq) {
				val = eq + 1;
			} else {
				if (i + 1 >= argc)
					usage_error("option '%s' needs a value",
						    a);
				val = argv[++i];
			}
		} else {
			usage_error("unknown option '%.*s'", (int)nl, a);
		}
		if (nl == 5 && !strncmp(a, "--mds", 5))
			t.mds = val;
		else if (nl == 5)
			key_hex = val;
		else
			key_file = val;
	}
	if (key_hex && key_file)
		usage_error("--key and --key-file exclude each other");
	if (!*t.mds)
		usage_error("--mds needs ADDR:PORT");
	if (key_hex && (vdc_key_parse_hex(key_hex, t.key, sizeof(t.key),
					  &t.key_len) || !t.key_len))
		usage_error("--key: not a hex key");
	if (key_file)
		read_key_file(key_file, &t);
	if (i >= argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}

	cmd = argv[i++];
	if (!strcmp(cmd, "volume"))
		ret = cmd_volume(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "status"))
		ret = cmd_status(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "help"))
		ret = (fputs(usage_text, stdout), 0);
	else
		usage_error("unknown command '%s'", cmd);

	if (t.conn)
		vdc_close(t.conn);
	memset(t.key, 0, sizeof(t.key));
	return ret;
}
