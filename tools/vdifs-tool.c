// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-tool: administration of a vdifs cluster through its MDS, and
 * snapshots, clones, space and layouts of files on a mounted vdifs through
 * the ioctls of uapi/vdifs_proto.h.
 *
 *   vdifs-tool [--mds ADDR:PORT] [--key-file F] [--json]
 *              COMMAND ...
 *
 * Exit status: 0 success, 1 the server (or the connection, or the kernel)
 * refused or failed, 2 a usage error (unknown command or option, bad value).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <json.h>

#include "msg.h"
#include "tool.h"

static const char usage_text[] =
"usage: vdifs-tool [--mds ADDR:PORT] [--key-file FILE|--insecure]\n"
"                  [--principal NAME] [--json] COMMAND ...\n"
"\n"
"Administers a vdifs cluster through its metadata server.\n"
"\n"
"Commands:\n"
"  volume create NAME [--chunk-size SIZE] [--extent-size SIZE|adaptive]\n"
"                     [--replicas N] [--mode sync|async]\n"
"                        create a volume\n"
"  volume list           list the volumes\n"
"  volume delete NAME    delete a volume and everything in it\n"
"  status                data servers, client sessions, degraded chunks\n"
"  ds out ID | ds in ID   take a data server out of service (its chunks\n"
"                        move to others) or back\n"
"  mds backup DIR        a consistent copy of the MDS's state, taken while\n"
"                        it serves, into DIR on the MDS's host\n"
"  scrub [--volume NAME] [--wait]\n"
"                        check every copy of every chunk, replace bad ones\n"
"  key add NAME --role client|admin [--out FILE]\n"
"                        a principal and its key (to FILE, else stdout)\n"
"  key rotate NAME [--out FILE]   a new key for a principal; the old one\n"
"                        stops working\n"
"  key delete NAME       revoke a principal: its connections end\n"
"  key list              the principals\n"
"  access set VOLUME PRINCIPAL ro|rw|none\n"
"                        the volume's access list (empty: open to all\n"
"                        clients); none takes PRINCIPAL off it\n"
"  access list VOLUME    the volume's access list\n"
"\n"
"On a mounted vdifs (no --mds needed):\n"
"  snapshot create FILE NAME   a read-only snapshot of FILE\n"
"  snapshot list FILE          FILE's snapshots\n"
"  snapshot delete FILE NAME   delete a snapshot (space freed in background)\n"
"  snapshot revert FILE NAME   FILE gets the snapshot's content back\n"
"  clone SRC DST               DST: a new writable clone of a file or snapshot\n"
"  du [--bytes] FILE...        logical, allocated, unique and shared bytes\n"
"  setattr PATH [--chunk-size SIZE] [--extent-size SIZE|adaptive]\n"
"               [--replicas N] [--mode sync|async]\n"
"                              layout of a directory or a new file\n"
"  getattr PATH                the layout of a file or directory\n"
"\n"
"Options:\n"
"  --mds ADDR:PORT   the metadata server (default: $VDIFS_MDS, else "
DEFAULT_MDS ")\n"
"  --key-file FILE   the administrators' key (hex, 16-64 bytes; default:\n"
"                    $VDIFS_KEY_FILE); FILE must be its owner's alone (mode 600)\n"
"  --principal NAME  the key file is principal NAME's (default:\n"
"                    $VDIFS_PRINCIPAL), not the administrators' shared key\n"
"  --insecure        no key: talk to an MDS that asks for none (without it\n"
"                    such a server is refused: it could be anyone)\n"
"  --json            print results as JSON\n"
"  -q, --quiet       no progress lines on stderr\n"
"  -h, --help        this text; 'vdifs-tool COMMAND --help' for a command\n"
"\n"
"SIZE takes a K, M or G suffix (powers of 1024).  Exit status: 0 success,\n"
"1 the server or the kernel refused or failed, 2 usage error.\n";

static const char volume_usage[] =
"usage: vdifs-tool volume create NAME [--chunk-size SIZE]\n"
"                         [--extent-size SIZE|adaptive] [--replicas N]\n"
"                         [--min-replicas N] [--mode sync|async]\n"
"       vdifs-tool volume list\n"
"       vdifs-tool volume delete NAME\n"
"\n"
"Creates, lists and deletes volumes.  A volume is a separate file system\n"
"tree, mounted as HOST:PORT/NAME.  Names are 1-64 characters of letters,\n"
"digits, '_', '-' and '.', not starting with '.' or '-'.\n";

static const char create_usage[] =
"usage: vdifs-tool volume create NAME [--chunk-size SIZE]\n"
"                         [--extent-size SIZE|adaptive] [--replicas N]\n"
"                         [--min-replicas N] [--mode sync|async]\n"
"\n"
"Creates volume NAME.  Its settings are the defaults of every file in it;\n"
"a directory's layout can override them for what is created below it.\n"
"  --chunk-size SIZE   bytes of a file per chunk: a power of two, 64K..1G\n"
"                      (default 64M)\n"
"  --extent-size SIZE  allocation unit inside a chunk: a power of two,\n"
"                      4K..1M, or 'adaptive' (default 64K)\n"
"  --replicas N        copies of each chunk on distinct data servers, 1..4\n"
"  --min-replicas N    writes go on while this many copies of a chunk are\n"
"                      in sync, and fail below (default 1, at most N)\n"
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
"state up/down and in/out of service, capacity, used, chunks, time since\n"
"its last heartbeat), each client session, and how many chunks have\n"
"fewer copies than they should (and how many were copied back).  Chunks\n"
"that lost acknowledged async writes with their primary are listed.\n";

static const char mds_usage[] =
"usage: vdifs-tool mds backup DIR\n"
"\n"
"Has the MDS copy its state (LMDB, compacted) into DIR, a new directory\n"
"on the MDS's host given as an absolute path, while it goes on serving.\n"
"To restore: stop vdifs-mds and start it with --data DIR (or copy\n"
"DIR/data.mdb over its data directory's); clients reconnect by\n"
"themselves.\n";

static const char scrub_usage[] =
"usage: vdifs-tool scrub [--volume NAME] [--wait]\n"
"\n"
"Has the MDS start a scrub: every data server of every chunk (of volume\n"
"NAME, or of every volume) reads each block of its copy and checks it\n"
"against its checksum.  A copy with a bad block leaves the chunk's\n"
"replica set and is copied again from a good one; a chunk with no good\n"
"copy is reported in the MDS's log.  --wait: until the pass is done, then\n"
"what it found.  'vdifs-tool status' shows the counts too.\n";

static const char ds_usage[] =
"usage: vdifs-tool ds out ID\n"
"       vdifs-tool ds in ID\n"
"\n"
"Maintenance of data server ID (see 'vdifs-tool status').  out: it gets\n"
"no new chunks, and the MDS copies every chunk it holds to other servers,\n"
"then takes it out of the chunk's replica set (it serves until then);\n"
"'vdifs-tool status' shows the chunks still degraded.  in: back in\n"
"service.\n";

void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try 'vdifs-tool --help')\n", stderr);
	exit(EXIT_USAGE);
}

int fail(const char *what, int err)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(err < 0 ? -err : err));
	return EXIT_FAIL;
}

bool is_help(const char *s)
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

/* a data server's state with its service: "up", "up,out", "down,out" */
static const char *ds_state_name(const struct vdifs_ds_status *d)
{
	if (d->admin != VDIFS_DS_OUT)
		return state_name(d->state);
	return d->state == VDIFS_STATE_UP ? "up,out" : "down,out";
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
	char why[128];

	if (vdc_key_read_file(path, t->key, sizeof(t->key), &t->key_len, why,
			      sizeof(why)))
		usage_error("--key-file %s: %s", path, why);
	return 0;
}

int tool_connect(struct tool *t)
{
	struct vdc_opts o;
	char what[300];
	int ret;

	if (t->key_file && !t->key_len)
		read_key_file(t->key_file, t);
	o = (struct vdc_opts){
		.role = VDIFS_ROLE_TOOL,
		.key = t->key_len ? t->key : NULL,
		.key_len = t->key_len,
		.principal = t->principal,
	};
	o.insecure = t->insecure;
	ret = vdc_connect(t->mds, &o, &t->conn);
	if (ret == -EACCES && !t->key_len && !t->insecure) {
		fprintf(stderr, PROG ": connect %s: refused: no key given (--key-file FILE, or --insecure for a keyless cluster)\n",
			t->mds);
		return EXIT_FAIL;
	}
	if (ret) {
		snprintf(what, sizeof(what), "connect %s", t->mds);
		return fail(what, ret);
	}
	return 0;
}

void json_print(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED));
	json_object_put(o);
}

struct json_object *jint(u64 v)
{
	return json_object_new_uint64(v);
}

/* ---- volume ---- */

/*
 * Split argv into positional arguments and "--opt VALUE" / "--opt=VALUE"
 * pairs of the given option names.  Exits on anything else.
 */
int split_args(int argc, char **argv, const char *const *known,
	       const char *usage, const char **pos, int maxpos,
	       struct opt_arg *opts, int maxopts, int *nopts, const char *cmd)
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
	json_object_object_add(o, "min_replicas",
			       jint(v->params.min_replicas ?
				    v->params.min_replicas : 1));
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
	snprintf(buf, cap, "chunk %s, extent %s, replicas %u (min %u), %s",
		 cs, es, v->params.replicas,
		 v->params.min_replicas ? v->params.min_replicas : 1,
		 mode_name(v->params.repl_mode));
}

/* a replica count option: 1..VDIFS_MAX_REPLICAS, or a usage error */
static u8 parse_replicas(const char *cmd, const char *opt, const char *val)
{
	char *end;
	unsigned long r;

	errno = 0;
	r = strtoul(val, &end, 10);
	if (errno || end == val || *end || !isdigit((unsigned char)*val) ||
	    r < 1 || r > VDIFS_MAX_REPLICAS)
		usage_error("%s: invalid %s '%s': 1 to %u", cmd, opt, val,
			    VDIFS_MAX_REPLICAS);
	return (u8)r;
}

static int cmd_volume_create(struct tool *t, int argc, char **argv)
{
	static const char *const known[] = {
		"--chunk-size", "--extent-size", "--replicas", "--min-replicas",
		"--mode", NULL
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
			p.replicas = parse_replicas(cmd, n, val);
		} else if (!strcmp(n, "--min-replicas")) {
			p.min_replicas = parse_replicas(cmd, n, val);
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
	if (p.min_replicas && p.replicas && p.min_replicas > p.replicas)
		usage_error("%s: --min-replicas is more than --replicas", cmd);

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
	struct vdifs_lost_status *lost;
	size_t nds, nsess, nlost, cap_ds, cap_sess, cap_lost;
};

static int status_lost_cb(const struct vdifs_lost_status *l, void *arg)
{
	struct status_ctx *sc = arg;

	if (sc->nlost == sc->cap_lost) {
		size_t cap = sc->cap_lost ? 2 * sc->cap_lost : 16;
		void *p = realloc(sc->lost, cap * sizeof(*sc->lost));

		if (!p)
			return -ENOMEM;
		sc->lost = p;
		sc->cap_lost = cap;
	}
	sc->lost[sc->nlost++] = *l;
	return 0;
}

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
			const struct vdifs_status_rep *rep)
{
	struct json_object *ch = json_object_new_object();
	struct json_object *o = json_object_new_object();
	struct json_object *ds = json_object_new_array();
	struct json_object *ss = json_object_new_array();
	struct json_object *ls = json_object_new_array();
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
		json_object_object_add(e, "in_service",
				       json_object_new_boolean(
					       d->admin != VDIFS_DS_OUT));
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
	for (i = 0; i < sc->nlost; i++) {
		const struct vdifs_lost_status *l = &sc->lost[i];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "volume", jint(le32_to_cpu(l->vol)));
		json_object_object_add(e, "inode", jint(le64_to_cpu(l->ino)));
		json_object_object_add(e, "index", jint(le64_to_cpu(l->index)));
		json_object_object_add(e, "chunk",
				       jint(le64_to_cpu(l->chunk_id)));
		json_object_object_add(e, "data_server",
				       jint(le32_to_cpu(l->ds_id)));
		json_object_object_add(e, "when", jint(le64_to_cpu(l->when)));
		json_object_object_add(e, "certain",
				       json_object_new_boolean(
					       le32_to_cpu(l->flags) &
					       VDIFS_LOST_CERTAIN));
		json_object_array_add(ls, e);
	}
	json_object_object_add(o, "mds", json_object_new_string(t->mds));
	json_object_object_add(o, "server_epoch",
			       jint(le64_to_cpu(rep->server_epoch)));
	json_object_object_add(ch, "degraded", jint(le64_to_cpu(rep->degraded)));
	json_object_object_add(ch, "copied", jint(le64_to_cpu(rep->copied)));
	json_object_object_add(ch, "copied_bytes",
			       jint(le64_to_cpu(rep->copied_bytes)));
	json_object_object_add(ch, "waiting", jint(le32_to_cpu(rep->waiting)));
	json_object_object_add(ch, "scrub_passes",
			       jint(le32_to_cpu(rep->scrub_passes)));
	json_object_object_add(ch, "scrub_running",
			       json_object_new_boolean(rep->scrub_running != 0));
	json_object_object_add(ch, "scrub_checked",
			       jint(le64_to_cpu(rep->scrub_checked)));
	json_object_object_add(ch, "scrub_bad",
			       jint(le64_to_cpu(rep->scrub_bad)));
	json_object_object_add(ch, "scrub_replaced",
			       jint(le64_to_cpu(rep->scrub_replaced)));
	json_object_object_add(o, "chunks", ch);
	json_object_object_add(o, "data_servers", ds);
	json_object_object_add(o, "sessions", ss);
	json_object_object_add(o, "lost_writes", ls);
	json_print(o);
}

static void status_text(const struct tool *t, const struct status_ctx *sc,
			const struct vdifs_status_rep *rep)
{
	char addr[64], cap[32], used[32], seen[32];
	size_t i;

	printf("MDS %s, epoch %016" PRIx64 "\n", t->mds,
	       le64_to_cpu(rep->server_epoch));
	fmt_size(le64_to_cpu(rep->copied_bytes), used, sizeof(used));
	printf("chunks: %" PRIu64 " degraded (%u waiting for a server to return); %" PRIu64 " copied (%s) to restore copies since the MDS started\n",
	       le64_to_cpu(rep->degraded), le32_to_cpu(rep->waiting),
	       le64_to_cpu(rep->copied), used);
	printf("scrub: %s; %u passes, %" PRIu64 " copies checked, %" PRIu64 " bad, %" PRIu64 " replaced\n\n",
	       rep->scrub_running ? "running" : "idle",
	       le32_to_cpu(rep->scrub_passes),
	       le64_to_cpu(rep->scrub_checked), le64_to_cpu(rep->scrub_bad),
	       le64_to_cpu(rep->scrub_replaced));
	if (!sc->nds)
		printf("no data servers\n");
	else
		printf("%-5s %-40s %-8s %9s %9s %10s %s\n", "ID",
		       "ADDRESS", "STATE", "CAPACITY", "USED", "CHUNKS",
		       "LAST SEEN");
	for (i = 0; i < sc->nds; i++) {
		const struct vdifs_ds_status *d = &sc->ds[i];

		vdc_addr_format(&d->addr, addr, sizeof(addr));
		fmt_size(le64_to_cpu(d->capacity), cap, sizeof(cap));
		fmt_size(le64_to_cpu(d->used), used, sizeof(used));
		fmt_ms(le64_to_cpu(d->last_seen_ms), seen, sizeof(seen));
		printf("%-5u %-40s %-8s %9s %9s %10" PRIu64 " %s\n",
		       le32_to_cpu(d->ds_id), addr, ds_state_name(d), cap,
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
	if (!sc->nlost)
		return;
	printf("\nacknowledged async writes lost with their primary:\n");
	printf("%-6s %-12s %-8s %-16s %-5s %-8s %s\n", "VOLUME", "INODE",
	       "INDEX", "CHUNK", "DS", "CERTAIN", "WHEN");
	for (i = 0; i < sc->nlost; i++) {
		const struct vdifs_lost_status *l = &sc->lost[i];
		time_t when = (time_t)le64_to_cpu(l->when);
		char ts[32] = "-";
		struct tm tm;

		if (gmtime_r(&when, &tm))
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%-6u %-12" PRIu64 " %-8" PRIu64 " %016" PRIx64 " %-5u %-8s %s\n",
		       le32_to_cpu(l->vol), le64_to_cpu(l->ino),
		       le64_to_cpu(l->index), le64_to_cpu(l->chunk_id),
		       le32_to_cpu(l->ds_id),
		       le32_to_cpu(l->flags) & VDIFS_LOST_CERTAIN ? "yes" :
								   "maybe",
		       ts);
	}
}

static int cmd_status(struct tool *t, int argc, char **argv)
{
	struct vdc_status_cbs cbs = {
		.ds = status_ds_cb,
		.session = status_sess_cb,
		.lost = status_lost_cb,
	};
	struct status_ctx sc = { 0 };
	struct vdifs_status_rep rep = { 0 };
	struct opt_arg opts[1];
	const char *pos[1];
	int nopts, ret;

	split_args(argc, argv, NULL, status_usage, pos, 0, opts, 0, &nopts,
		   "status");
	ret = tool_connect(t);
	if (ret)
		return ret;
	ret = vdc_status(t->conn, &cbs, &sc, &rep);
	if (ret < 0) {
		ret = fail("status", ret);
	} else {
		if (t->json)
			status_json(t, &sc, &rep);
		else
			status_text(t, &sc, &rep);
		ret = 0;
	}
	free(sc.ds);
	free(sc.sess);
	free(sc.lost);
	return ret;
}

static int cmd_scrub(struct tool *t, int argc, char **argv)
{
	static const char *const known[] = { "--volume", NULL };
	struct vdifs_scrub_req q = { 0 };
	struct vdifs_status_rep before, st;
	struct opt_arg opts[4];
	const char *pos[1];
	bool wait = false;
	int npos, nopts, i, n, ret;

	/* --wait takes no value: out before the valued options */
	for (i = 0, n = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--wait"))
			wait = true;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	npos = split_args(argc, argv, known, scrub_usage, pos, 0, opts, 4,
			  &nopts, "scrub");
	if (npos)
		usage_error("scrub: no arguments but options");
	ret = tool_connect(t);
	if (ret)
		return ret;
	for (i = 0; i < nopts; i++) {
		if (!strcmp(opts[i].name, "--volume")) {
			struct vdc_vol v;

			ret = vdc_vol_open(t->conn, opts[i].val, &v);
			if (ret)
				return fail("scrub: volume", ret);
			q.vol = cpu_to_le32(v.vol);
		}
	}
	ret = vdc_status(t->conn, NULL, NULL, &before);
	if (ret < 0)
		return fail("status", ret);
	ret = vdc_call(t->conn, VDIFS_OP_SCRUB, &q, sizeof(q), NULL, 0, NULL,
		       0, NULL);
	if (ret)
		return fail("scrub", ret);
	st = before;
	while (wait) {
		sleep(1);
		ret = vdc_status(t->conn, NULL, NULL, &st);
		if (ret < 0)
			return fail("status", ret);
		if (le32_to_cpu(st.scrub_passes) >
		    le32_to_cpu(before.scrub_passes) && !st.scrub_running)
			break;
	}
	if (t->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "started", json_object_new_boolean(1));
		json_object_object_add(o, "done", json_object_new_boolean(wait));
		json_object_object_add(o, "checked",
			jint(le64_to_cpu(st.scrub_checked) -
			     le64_to_cpu(before.scrub_checked)));
		json_object_object_add(o, "bad",
			jint(le64_to_cpu(st.scrub_bad) -
			     le64_to_cpu(before.scrub_bad)));
		json_object_object_add(o, "replaced",
			jint(le64_to_cpu(st.scrub_replaced) -
			     le64_to_cpu(before.scrub_replaced)));
		json_print(o);
	} else if (wait) {
		printf("scrub done: %" PRIu64 " copies checked, %" PRIu64 " bad, %" PRIu64 " replaced\n",
		       le64_to_cpu(st.scrub_checked) -
		       le64_to_cpu(before.scrub_checked),
		       le64_to_cpu(st.scrub_bad) -
		       le64_to_cpu(before.scrub_bad),
		       le64_to_cpu(st.scrub_replaced) -
		       le64_to_cpu(before.scrub_replaced));
	} else if (!t->quiet) {
		printf("scrub started ('vdifs-tool status' shows its progress)\n");
	}
	return 0;
}

static int cmd_mds(struct tool *t, int argc, char **argv)
{
	struct vdifs_backup_req q = { 0 };
	const struct vdifs_backup_rep *rep;
	struct opt_arg opts[1];
	const char *pos[2];
	struct vdc_msg m;
	char what[64];
	size_t len;
	int npos, nopts, ret;

	npos = split_args(argc, argv, NULL, mds_usage, pos, 2, opts, 0,
			  &nopts, "mds");
	if (npos != 2 || strcmp(pos[0], "backup"))
		usage_error("mds: 'backup DIR'");
	len = strlen(pos[1]);
	if (pos[1][0] != '/' || len > VDIFS_SYMLINK_MAX)
		usage_error("mds backup: DIR must be an absolute path on the MDS's host");
	q.path_len = cpu_to_le16((u16)len);
	ret = tool_connect(t);
	if (ret)
		return ret;
	ret = vdc_call(t->conn, VDIFS_OP_MDS_BACKUP, &q, sizeof(q), pos[1],
		       (u32)len, NULL, 0, &m);
	snprintf(what, sizeof(what), "mds backup");
	if (ret)
		return fail(what, ret);
	rep = m.body.fixed;
	if (t->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "dir",
				       json_object_new_string(pos[1]));
		json_object_object_add(o, "bytes",
				       jint(le64_to_cpu(rep->bytes)));
		json_print(o);
	} else {
		printf("MDS state copied to %s on the MDS's host (%llu bytes)\n",
		       pos[1], (unsigned long long)le64_to_cpu(rep->bytes));
	}
	vdc_msg_free(&m);
	return 0;
}

static int cmd_ds(struct tool *t, int argc, char **argv)
{
	struct vdifs_ds_admin_req q = { 0 };
	struct opt_arg opts[1];
	const char *pos[2];
	char what[64], *end;
	unsigned long id;
	int npos, nopts, ret;

	npos = split_args(argc, argv, NULL, ds_usage, pos, 2, opts, 0, &nopts,
			  "ds");
	if (npos != 2 || (strcmp(pos[0], "out") && strcmp(pos[0], "in")))
		usage_error("ds: 'out ID' or 'in ID'");
	errno = 0;
	id = strtoul(pos[1], &end, 10);
	if (errno || end == pos[1] || *end || !id || id > 0xffffffffUL)
		usage_error("ds %s: invalid data server id '%s'", pos[0],
			    pos[1]);
	q.ds_id = cpu_to_le32((u32)id);
	q.admin = cpu_to_le32(strcmp(pos[0], "out") ? VDIFS_DS_IN :
						       VDIFS_DS_OUT);
	ret = tool_connect(t);
	if (ret)
		return ret;
	ret = vdc_call(t->conn, VDIFS_OP_DS_ADMIN, &q, sizeof(q), NULL, 0,
		       NULL, 0, NULL);
	snprintf(what, sizeof(what), "ds %s %lu", pos[0], id);
	if (ret)
		return fail(what, ret);
	if (!t->quiet && !t->json)
		printf("data server %lu %s\n", id, strcmp(pos[0], "out") ?
		       "back in service" :
		       "out of service: its chunks move to other servers");
	return 0;
}

/* ---- on a mounted file system: snapshots, clones, space, layouts ---- */

/* the f_type statfs(2) reports for vdifs (kmod/internal.h) */
#define VDIFS_FS_MAGIC		0x56444946
#define SNAPDIR_NAME		".vdifs-snapshots"
#define SNAP_LIST_BATCH		64

static const char snapshot_usage[] =
"usage: vdifs-tool snapshot create FILE NAME\n"
"       vdifs-tool snapshot list FILE\n"
"       vdifs-tool snapshot delete FILE NAME\n"
"       vdifs-tool snapshot revert FILE NAME\n"
"\n"
"Read-only snapshots of a file on a mounted vdifs.  A snapshot keeps the\n"
"file's content of the moment it is taken, without copying it; the file\n"
"goes on changing.  Snapshots are readable at\n"
"MOUNT/" SNAPDIR_NAME "/INODE/NAME (INODE: the file's inode number), a\n"
"directory only the file's owner and root may enter.  'vdifs-tool clone'\n"
"makes a writable file of a snapshot.\n"
"\n"
"NAME: 1-255 bytes, no '/', not '.' or '..'.  Options (after the\n"
"subcommand too): --json, -q/--quiet.\n";

static const char snap_create_usage[] =
"usage: vdifs-tool snapshot create FILE NAME\n"
"\n"
"Takes a read-only snapshot NAME of FILE (needs read access to FILE; the\n"
"owner or root).  Prints the snapshot's inode number and path.\n";

static const char snap_list_usage[] =
"usage: vdifs-tool snapshot list FILE\n"
"\n"
"Lists FILE's snapshots: name, size, when taken, inode number, path.\n";

static const char snap_delete_usage[] =
"usage: vdifs-tool snapshot delete FILE NAME\n"
"\n"
"Deletes FILE's snapshot NAME (needs write access to FILE).  Its space is\n"
"freed in the background, once no clone shares it.\n";

static const char snap_revert_usage[] =
"usage: vdifs-tool snapshot revert FILE NAME\n"
"\n"
"Reverts FILE to its snapshot NAME (needs write access to FILE): FILE's\n"
"content and size become the snapshot's; the snapshot stays.  Stop writers\n"
"of FILE (a VM using it) first.\n";

static const char clone_usage[] =
"usage: vdifs-tool clone SRC DST\n"
"\n"
"Makes DST a new writable clone of SRC, a file or a snapshot\n"
"(MOUNT/" SNAPDIR_NAME "/INODE/NAME) on a mounted vdifs.  Nothing is\n"
"copied: the clone shares SRC's data and diverges from it as either is\n"
"written.  DST must not exist; when DST is an existing directory the clone\n"
"is DST/basename(SRC).  DST must be on the same vdifs volume.\n"
"(cp --reflink=always SRC DST does the same.)\n";

static const char du_usage[] =
"usage: vdifs-tool du [--bytes] FILE...\n"
"\n"
"Space of each FILE on a mounted vdifs: LOGICAL (the file size), ALLOCATED\n"
"(bytes of its data extents), UNIQUE (of those, stored only for this file:\n"
"what deleting it would free) and SHARED (shared with its snapshots or\n"
"clones), and its number of chunks.\n"
"  -b, --bytes   exact byte counts instead of K/M/G/T\n";

static const char setattr_usage[] =
"usage: vdifs-tool setattr PATH [--chunk-size SIZE]\n"
"                       [--extent-size SIZE|adaptive] [--replicas N]\n"
"                       [--mode sync|async]\n"
"\n"
"Sets the layout of a directory (inherited by what is created in it\n"
"afterwards) or of a file that holds no data yet; PATH is created as an\n"
"empty file when it does not exist.  Options not given are kept.\n"
"  --chunk-size SIZE   bytes of a file per chunk: a power of two, 64K..1G\n"
"  --extent-size SIZE  allocation unit inside a chunk: a power of two,\n"
"                      4K..1M; 'adaptive' only where it is adaptive already\n"
"                      (it cannot be set back)\n"
"  --replicas N        copies of each chunk, 1..4\n"
"  --mode sync|async   replication mode\n"
"Prints the layout afterwards.  SIZE takes a K, M or G suffix.\n";

static const char getattr_usage[] =
"usage: vdifs-tool getattr PATH...\n"
"\n"
"Prints the layout of each file or directory on a mounted vdifs: chunk\n"
"size, extent size, replicas, replication mode.\n";

/* "vdifs-tool: WHAT: MESSAGE"; returns EXIT_FAIL */
static int __attribute__((format(printf, 2, 3)))
fs_fail(int err, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err == ENOTTY)
		fprintf(stderr, ": %s (not supported by this vdifs module?)\n",
			strerror(err));
	else
		fprintf(stderr, ": %s\n", strerror(err));
	return EXIT_FAIL;
}

/* progress on stderr: "cloning A -> B ..." then " done in 12 ms" */
static void __attribute__((format(printf, 2, 3)))
progress_start(const struct tool *t, const char *fmt, ...)
{
	va_list ap;

	if (t->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" ...", stderr);
	fflush(stderr);
}

static void progress_end(const struct tool *t, int err, long long start)
{
	if (t->quiet)
		return;
	if (err)
		fprintf(stderr, " failed after %lld ms\n",
			net_now_ms() - start);
	else
		fprintf(stderr, " done in %lld ms\n", net_now_ms() - start);
}

/*
 * Takes --json, -q/--quiet (and --bytes/-b where bytes is given) out of
 * argv, up to "--", so that they work after the subcommand too.
 */
static void take_flags(struct tool *t, int *argc, char **argv, bool *bytes)
{
	int i, n = 0;

	for (i = 0; i < *argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			while (i < *argc)
				argv[n++] = argv[i++];
			break;
		}
		if (!strcmp(a, "--json"))
			t->json = true;
		else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			t->quiet = true;
		else if (bytes && (!strcmp(a, "-b") || !strcmp(a, "--bytes")))
			*bytes = true;
		else
			argv[n++] = argv[i];
	}
	*argc = n;
}

/* a snapshot or clone name: 1-255 bytes, no '/', not "." or ".." */
static void check_name(const char *cmd, const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= VDIFS_IOC_NAME_MAX)
		usage_error("%s: invalid name '%s': 1 to %u bytes", cmd, name,
			    VDIFS_IOC_NAME_MAX - 1);
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		usage_error("%s: invalid name '%s': no '/', not '.' or '..'",
			    cmd, name);
}

/* open_vdifs() flag: the ioctl is for files, say so for a directory */
#define O_FILE_ONLY	0x40000000

/*
 * Opens path for an ioctl and makes sure it is on vdifs.  flags: O_RDONLY,
 * or O_RDWR, which falls back to O_RDONLY when write access is refused so
 * that the kernel decides (and says why); with O_FILE_ONLY a directory is
 * refused with EISDIR.  Returns the fd, or -1 after an error message.
 */
static int open_vdifs(const char *what, const char *path, int flags)
{
	bool file_only = flags & O_FILE_ONLY;
	struct statfs sf;
	struct stat st;
	int fd;

	flags &= ~O_FILE_ONLY;
	if (file_only && !stat(path, &st) && S_ISDIR(st.st_mode)) {
		fs_fail(EISDIR, "%s", what);
		return -1;
	}

	fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && (flags & O_ACCMODE) == O_RDWR &&
	    (errno == EACCES || errno == EPERM || errno == EROFS ||
	     errno == EISDIR || errno == ETXTBSY))
		fd = open(path, (flags & ~O_ACCMODE) | O_RDONLY | O_CLOEXEC |
			  O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		fs_fail(errno, "%s", what);
		return -1;
	}
	if (fstatfs(fd, &sf)) {
		fs_fail(errno, "%s: statfs %s", what, path);
		close(fd);
		return -1;
	}
	if (sf.f_type != VDIFS_FS_MAGIC) {
		fprintf(stderr, PROG ": %s: not on a vdifs file system\n",
			what);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The mount point of the vdifs that holds path: the last directory up
 * from it on the same device.  Returns a malloc'd string or NULL.
 */
static char *mount_root(const char *path)
{
	struct stat st, pst;
	char *p, *slash;

	p = realpath(path, NULL);
	if (!p)
		return NULL;
	if (stat(p, &st)) {
		free(p);
		return NULL;
	}
	for (;;) {
		slash = strrchr(p, '/');
		if (!slash || slash == p) {
			/* the parent is "/" */
			if (!stat("/", &pst) && pst.st_dev == st.st_dev)
				strcpy(p, "/");
			return p;
		}
		*slash = '\0';
		if (stat(p, &pst) || pst.st_dev != st.st_dev) {
			*slash = '/';
			return p;
		}
	}
}

/* MOUNT/.vdifs-snapshots/INO/NAME, or "" when the mount is not found */
static void snap_path(const char *file, u64 ino, const char *name, char *buf,
		      size_t cap)
{
	char *root = mount_root(file);
	const char *sep;

	if (!root) {
		buf[0] = '\0';
		return;
	}
	sep = strcmp(root, "/") ? "/" : "";
	snprintf(buf, cap, "%s%s" SNAPDIR_NAME "/%" PRIu64 "/%s", root, sep,
		 ino, name);
	free(root);
}

static void fmt_time_ns(s64 ns, char *buf, size_t cap)
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!localtime_r(&sec, &tm) ||
	    !strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, cap, "%" PRId64, ns);
}

enum snap_op { SNAP_CREATE, SNAP_DELETE, SNAP_REVERT };

static int cmd_snap_one(struct tool *t, enum snap_op op, int argc,
			char **argv)
{
	static const char *const names[] = { "create", "delete", "revert" };
	static const char *const usages[] = {
		snap_create_usage, snap_delete_usage, snap_revert_usage
	};
	static const unsigned long reqs[] = {
		VDIFS_IOC_SNAP_CREATE, VDIFS_IOC_SNAP_DELETE,
		VDIFS_IOC_SNAP_REVERT
	};
	struct vdifs_ioc_snap s;
	struct opt_arg opts[1];
	const char *pos[2], *file, *name;
	char cmd[32], what[PATH_MAX + 300], path[PATH_MAX + 300];
	int npos, nopts, fd, ret, err = 0;
	struct stat st;
	long long start;

	snprintf(cmd, sizeof(cmd), "snapshot %s", names[op]);
	take_flags(t, &argc, argv, NULL);
	npos = split_args(argc, argv, NULL, usages[op], pos, 2, opts, 0,
			  &nopts, cmd);
	if (npos != 2)
		usage_error("%s: needs FILE and NAME", cmd);
	file = pos[0];
	name = pos[1];
	check_name(cmd, name);
	snprintf(what, sizeof(what), "%s %s %s", cmd, file, name);

	fd = open_vdifs(what, file, O_FILE_ONLY |
			(op == SNAP_CREATE ? O_RDONLY : O_RDWR));
	if (fd < 0)
		return EXIT_FAIL;
	if (fstat(fd, &st)) {
		ret = fs_fail(errno, "%s", what);
		close(fd);
		return ret;
	}
	memset(&s, 0, sizeof(s));
	memcpy(s.name, name, strlen(name) + 1);

	if (op == SNAP_CREATE)
		progress_start(t, "snapshotting %s as %s", file, name);
	else if (op == SNAP_DELETE)
		progress_start(t, "deleting snapshot %s of %s", name, file);
	else
		progress_start(t, "reverting %s to snapshot %s", file, name);
	start = net_now_ms();
	ret = ioctl(fd, reqs[op], &s);
	if (ret)
		err = errno;
	progress_end(t, err, start);
	close(fd);
	if (ret)
		return fs_fail(err, "%s", what);

	snap_path(file, (u64)st.st_ino, name, path, sizeof(path));
	if (t->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(file));
		json_object_object_add(o, "file_ino", jint((u64)st.st_ino));
		json_object_object_add(o, "snapshot",
				       json_object_new_string(name));
		json_object_object_add(o, op == SNAP_CREATE ? "created" :
				       op == SNAP_DELETE ? "deleted" :
				       "reverted", json_object_new_boolean(1));
		if (op == SNAP_CREATE)
			json_object_object_add(o, "ino", jint(s.ino));
		if (op == SNAP_CREATE && path[0])
			json_object_object_add(o, "path",
					       json_object_new_string(path));
		json_object_object_add(o, "ms", jint(net_now_ms() - start));
		json_print(o);
	} else if (op == SNAP_CREATE) {
		printf("created snapshot %s of %s: inode %" PRIu64 "%s%s\n",
		       name, file, (u64)s.ino, path[0] ? ", " : "", path);
	} else if (op == SNAP_DELETE) {
		printf("deleted snapshot %s of %s\n", name, file);
	} else {
		printf("reverted %s to snapshot %s\n", file, name);
	}
	return 0;
}

static int cmd_snap_list(struct tool *t, int argc, char **argv)
{
	const char *cmd = "snapshot list";
	struct vdifs_ioc_snap_ent *ents;
	struct vdifs_ioc_snap_list l;
	struct json_object *arr = NULL;
	struct opt_arg opts[1];
	const char *pos[1], *file;
	char what[PATH_MAX + 64], path[PATH_MAX + 300], when[64], sz[32];
	int npos, nopts, fd, ret = 0, n = 0;
	struct stat st;
	u32 i, rounds = 0;

	take_flags(t, &argc, argv, NULL);
	npos = split_args(argc, argv, NULL, snap_list_usage, pos, 1, opts, 0,
			  &nopts, cmd);
	if (npos != 1)
		usage_error("%s: needs a FILE", cmd);
	file = pos[0];
	snprintf(what, sizeof(what), "%s %s", cmd, file);
	fd = open_vdifs(what, file, O_RDONLY | O_FILE_ONLY);
	if (fd < 0)
		return EXIT_FAIL;
	if (fstat(fd, &st)) {
		ret = fs_fail(errno, "%s", what);
		close(fd);
		return ret;
	}
	ents = calloc(SNAP_LIST_BATCH, sizeof(*ents));
	if (!ents) {
		close(fd);
		return fs_fail(ENOMEM, "%s", what);
	}
	if (t->json)
		arr = json_object_new_array();
	memset(&l, 0, sizeof(l));
	do {
		l.entries = (u64)(uintptr_t)ents;
		l.count = SNAP_LIST_BATCH;
		l.eof = 0;
		if (ioctl(fd, VDIFS_IOC_SNAP_LIST, &l)) {
			ret = fs_fail(errno, "%s", what);
			break;
		}
		/* a kernel that makes no progress must not loop us forever */
		if (l.count > SNAP_LIST_BATCH || (!l.count && !l.eof) ||
		    ++rounds > 1000000) {
			ret = fs_fail(EIO, "%s: bad reply (%u entries, eof %u)",
				      what, l.count, l.eof);
			break;
		}
		for (i = 0; i < l.count; i++) {
			struct vdifs_ioc_snap_ent *e = &ents[i];

			e->name[VDIFS_IOC_NAME_MAX - 1] = '\0';
			snap_path(file, (u64)st.st_ino, e->name, path,
				  sizeof(path));
			fmt_time_ns(e->ctime_ns, when, sizeof(when));
			if (arr) {
				struct json_object *o =
					json_object_new_object();

				json_object_object_add(o, "name",
					json_object_new_string(e->name));
				json_object_object_add(o, "ino", jint(e->ino));
				json_object_object_add(o, "size",
						       jint(e->size));
				json_object_object_add(o, "ctime_ns",
					json_object_new_int64(e->ctime_ns));
				json_object_object_add(o, "taken",
					json_object_new_string(when));
				if (path[0])
					json_object_object_add(o, "path",
						json_object_new_string(path));
				json_object_array_add(arr, o);
				continue;
			}
			if (!n++)
				printf("%-24s %9s %-19s %12s %s\n", "NAME",
				       "SIZE", "TAKEN", "INODE", "PATH");
			fmt_size(e->size, sz, sizeof(sz));
			printf("%-24s %9s %-19s %12" PRIu64 " %s\n", e->name,
			       sz, when, (u64)e->ino, path[0] ? path : "-");
		}
	} while (!l.eof);
	if (!ret && arr) {
		json_print(arr);
		arr = NULL;
	} else if (!ret && !n) {
		printf("no snapshots of %s\n", file);
	}
	if (arr)
		json_object_put(arr);
	free(ents);
	close(fd);
	return ret;
}

static int cmd_snapshot(struct tool *t, int argc, char **argv)
{
	const char *sub;

	if (argc < 1)
		usage_error("snapshot: needs a subcommand: create, list, delete or revert");
	sub = argv[0];
	if (is_help(sub)) {
		fputs(snapshot_usage, stdout);
		exit(0);
	}
	if (!strcmp(sub, "create"))
		return cmd_snap_one(t, SNAP_CREATE, argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return cmd_snap_list(t, argc - 1, argv + 1);
	if (!strcmp(sub, "delete"))
		return cmd_snap_one(t, SNAP_DELETE, argc - 1, argv + 1);
	if (!strcmp(sub, "revert"))
		return cmd_snap_one(t, SNAP_REVERT, argc - 1, argv + 1);
	usage_error("snapshot: unknown subcommand '%s'", sub);
}

/* the last component of path, trailing slashes ignored, into buf */
static void last_name(const char *path, char *buf, size_t cap)
{
	size_t n = strlen(path);
	const char *b;

	while (n > 1 && path[n - 1] == '/')
		n--;
	b = path + n;
	while (b > path && b[-1] != '/')
		b--;
	snprintf(buf, cap, "%.*s", (int)(path + n - b), b);
}

static int cmd_clone(struct tool *t, int argc, char **argv)
{
	const char *cmd = "clone";
	struct vdifs_ioc_clone c;
	struct opt_arg opts[1];
	const char *pos[2], *src, *dst;
	char what[2 * PATH_MAX + 64], dir[PATH_MAX], name[PATH_MAX];
	char full[2 * PATH_MAX + 2];
	int npos, nopts, sfd, dfd, ret, err = 0;
	struct stat st;
	size_t n;
	long long start;

	take_flags(t, &argc, argv, NULL);
	npos = split_args(argc, argv, NULL, clone_usage, pos, 2, opts, 0,
			  &nopts, cmd);
	if (npos != 2)
		usage_error("%s: needs SRC and DST", cmd);
	src = pos[0];
	dst = pos[1];
	snprintf(what, sizeof(what), "%s %s %s", cmd, src, dst);
	if (strlen(dst) >= PATH_MAX || strlen(src) >= PATH_MAX)
		return fs_fail(ENAMETOOLONG, "%s", what);

	/* DST an existing directory: the clone goes in it as SRC's name */
	if (!stat(dst, &st) && S_ISDIR(st.st_mode)) {
		snprintf(dir, sizeof(dir), "%s", dst);
		last_name(src, name, sizeof(name));
	} else {
		last_name(dst, name, sizeof(name));
		n = strlen(dst);
		while (n > 1 && dst[n - 1] == '/')
			n--;
		while (n > 0 && dst[n - 1] != '/')
			n--;
		while (n > 1 && dst[n - 1] == '/')
			n--;
		if (!n)
			snprintf(dir, sizeof(dir), ".");
		else
			snprintf(dir, sizeof(dir), "%.*s", (int)n, dst);
	}
	if (!name[0] || !strcmp(name, ".") || !strcmp(name, "..") ||
	    !strcmp(name, "/"))
		usage_error("%s: DST '%s' names no new file", cmd, dst);
	if (strlen(name) >= VDIFS_IOC_NAME_MAX)
		return fs_fail(ENAMETOOLONG, "%s", what);
	snprintf(full, sizeof(full), "%s%s%s", dir,
		 dir[strlen(dir) - 1] == '/' ? "" : "/", name);

	sfd = open_vdifs(what, src, O_RDONLY | O_FILE_ONLY);
	if (sfd < 0)
		return EXIT_FAIL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ret = fs_fail(errno, "%s: %s", what, dir);
		close(sfd);
		return ret;
	}
	memset(&c, 0, sizeof(c));
	c.dst_dirfd = dfd;
	memcpy(c.name, name, strlen(name) + 1);

	progress_start(t, "cloning %s -> %s", src, full);
	start = net_now_ms();
	ret = ioctl(sfd, VDIFS_IOC_CLONE, &c);
	if (ret)
		err = errno;
	progress_end(t, err, start);
	close(dfd);
	close(sfd);
	if (ret)
		return fs_fail(err, "%s", what);

	if (t->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "source",
				       json_object_new_string(src));
		json_object_object_add(o, "clone",
				       json_object_new_string(full));
		if (!stat(full, &st)) {
			json_object_object_add(o, "ino", jint((u64)st.st_ino));
			json_object_object_add(o, "size",
					       jint((u64)st.st_size));
		}
		json_object_object_add(o, "ms", jint(net_now_ms() - start));
		json_print(o);
	} else {
		printf("cloned %s -> %s\n", src, full);
	}
	return 0;
}

static int cmd_du(struct tool *t, int argc, char **argv)
{
	const char *cmd = "du";
	struct json_object *arr = NULL;
	struct opt_arg opts[1];
	const char **pos;
	bool bytes = false;
	int npos, nopts, i, ret = 0, fd, n = 0;

	take_flags(t, &argc, argv, &bytes);
	pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (!pos)
		return fs_fail(ENOMEM, "%s", cmd);
	npos = split_args(argc, argv, NULL, du_usage, pos, argc, opts, 0,
			  &nopts, cmd);
	if (npos < 1)
		usage_error("%s: needs a FILE", cmd);
	if (t->json)
		arr = json_object_new_array();
	for (i = 0; i < npos; i++) {
		struct vdifs_ioc_space sp;
		char what[PATH_MAX + 16];
		char v[5][32];
		u64 vals[5];
		int k;

		snprintf(what, sizeof(what), "du %s", pos[i]);
		fd = open_vdifs(what, pos[i], O_RDONLY | O_FILE_ONLY);
		if (fd < 0) {
			ret = EXIT_FAIL;
			continue;
		}
		memset(&sp, 0, sizeof(sp));
		if (ioctl(fd, VDIFS_IOC_SPACE, &sp)) {
			ret = fs_fail(errno, "%s", what);
			close(fd);
			continue;
		}
		close(fd);
		if (arr) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "file",
					       json_object_new_string(pos[i]));
			json_object_object_add(o, "logical", jint(sp.logical));
			json_object_object_add(o, "allocated",
					       jint(sp.allocated));
			json_object_object_add(o, "unique", jint(sp.unique));
			json_object_object_add(o, "shared", jint(sp.shared));
			json_object_object_add(o, "chunks", jint(sp.chunks));
			json_object_array_add(arr, o);
			continue;
		}
		vals[0] = sp.logical;
		vals[1] = sp.allocated;
		vals[2] = sp.unique;
		vals[3] = sp.shared;
		vals[4] = sp.chunks;
		for (k = 0; k < 5; k++) {
			if (bytes || k == 4)
				snprintf(v[k], sizeof(v[k]), "%" PRIu64,
					 vals[k]);
			else
				fmt_size(vals[k], v[k], sizeof(v[k]));
		}
		if (!n++)
			printf("%12s %12s %12s %12s %7s %s\n", "LOGICAL",
			       "ALLOCATED", "UNIQUE", "SHARED", "CHUNKS",
			       "FILE");
		printf("%12s %12s %12s %12s %7s %s\n", v[0], v[1], v[2], v[3],
		       v[4], pos[i]);
	}
	if (arr)
		json_print(arr);
	free(pos);
	return ret;
}

static void layout_print(const struct tool *t, const char *path,
			 const struct vdifs_ioc_layout *l)
{
	char cs[32], es[32];

	if (t->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "path", json_object_new_string(path));
		json_object_object_add(o, "chunk_size", jint(l->chunk_size));
		if (l->extent_size)
			json_object_object_add(o, "extent_size",
					       jint(l->extent_size));
		else
			json_object_object_add(o, "extent_size",
				json_object_new_string("adaptive"));
		json_object_object_add(o, "replicas", jint(l->replicas));
		json_object_object_add(o, "mode",
				       json_object_new_string(
					       mode_name(l->repl_mode)));
		json_print(o);
		return;
	}
	fmt_size(l->chunk_size, cs, sizeof(cs));
	if (l->extent_size)
		fmt_size(l->extent_size, es, sizeof(es));
	else
		snprintf(es, sizeof(es), "adaptive");
	printf("%s: chunk %s, extent %s, replicas %u, %s\n", path, cs, es,
	       l->replicas, mode_name(l->repl_mode));
}

static int cmd_getattr(struct tool *t, int argc, char **argv)
{
	const char *cmd = "getattr";
	struct opt_arg opts[1];
	const char **pos;
	int npos, nopts, i, fd, ret = 0;

	take_flags(t, &argc, argv, NULL);
	pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (!pos)
		return fs_fail(ENOMEM, "%s", cmd);
	npos = split_args(argc, argv, NULL, getattr_usage, pos, argc, opts, 0,
			  &nopts, cmd);
	if (npos < 1)
		usage_error("%s: needs a PATH", cmd);
	for (i = 0; i < npos; i++) {
		struct vdifs_ioc_layout l;
		char what[PATH_MAX + 16];

		snprintf(what, sizeof(what), "getattr %s", pos[i]);
		fd = open_vdifs(what, pos[i], O_RDONLY);
		if (fd < 0) {
			ret = EXIT_FAIL;
			continue;
		}
		memset(&l, 0, sizeof(l));
		if (ioctl(fd, VDIFS_IOC_GETLAYOUT, &l))
			ret = fs_fail(errno, "%s", what);
		else
			layout_print(t, pos[i], &l);
		close(fd);
	}
	free(pos);
	return ret;
}

static int cmd_setattr(struct tool *t, int argc, char **argv)
{
	static const char *const known[] = {
		"--chunk-size", "--extent-size", "--replicas", "--mode", NULL
	};
	const char *cmd = "setattr";
	struct vdifs_ioc_layout l, cur;
	struct opt_arg opts[16];
	const char *pos[1], *path;
	char what[PATH_MAX + 16];
	bool adaptive = false, created = false;
	int npos, nopts, i, fd, ret;
	struct stat st;

	take_flags(t, &argc, argv, NULL);
	npos = split_args(argc, argv, known, setattr_usage, pos, 1, opts,
			  (int)(sizeof(opts) / sizeof(opts[0])), &nopts, cmd);
	if (npos != 1)
		usage_error("%s: needs a PATH", cmd);
	if (!nopts)
		usage_error("%s: nothing to set: give --chunk-size, --extent-size, --replicas or --mode",
			    cmd);
	path = pos[0];

	memset(&l, 0, sizeof(l));
	l.repl_mode = 0xff;	/* keep */
	for (i = 0; i < nopts; i++) {
		const char *n = opts[i].name, *val = opts[i].val;
		u64 sz;

		if (!strcmp(n, "--chunk-size")) {
			if (parse_size(val, &sz) || !is_pow2(sz) ||
			    sz < VDIFS_CHUNK_MIN || sz > VDIFS_CHUNK_MAX)
				usage_error("%s: invalid --chunk-size '%s': a power of two from 64K to 1G",
					    cmd, val);
			l.chunk_size = (u32)sz;
		} else if (!strcmp(n, "--extent-size")) {
			if (!strcmp(val, "adaptive")) {
				adaptive = true;
				l.extent_size = 0;
				continue;
			}
			if (parse_size(val, &sz) || !is_pow2(sz) ||
			    sz < VDIFS_EXTENT_MIN || sz > VDIFS_EXTENT_MAX)
				usage_error("%s: invalid --extent-size '%s': a power of two from 4K to 1M, or 'adaptive'",
					    cmd, val);
			adaptive = false;
			l.extent_size = (u32)sz;
		} else if (!strcmp(n, "--replicas")) {
			l.replicas = parse_replicas(cmd, n, val);
		} else if (!strcmp(n, "--mode")) {
			if (!strcmp(val, "sync"))
				l.repl_mode = VDIFS_REPL_SYNC;
			else if (!strcmp(val, "async"))
				l.repl_mode = VDIFS_REPL_ASYNC;
			else
				usage_error("%s: invalid --mode '%s': sync or async",
					    cmd, val);
		}
	}
	if (l.chunk_size && l.extent_size && l.extent_size > l.chunk_size)
		usage_error("%s: --extent-size is larger than --chunk-size",
			    cmd);

	snprintf(what, sizeof(what), "%s %s", cmd, path);
	if (stat(path, &st) && errno == ENOENT) {
		/* a new file: create it empty, then set its layout */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0)
			return fs_fail(errno, "%s: create", what);
		close(fd);
		created = true;
	}
	fd = open_vdifs(what, path, O_RDONLY);
	if (fd < 0)
		goto undo;
	memset(&cur, 0, sizeof(cur));
	if (adaptive) {
		/* 0 means keep: fine only where it is adaptive already */
		if (ioctl(fd, VDIFS_IOC_GETLAYOUT, &cur)) {
			fs_fail(errno, "%s", what);
			goto undo_fd;
		}
		if (cur.extent_size) {
			fprintf(stderr, PROG ": %s: the extent size cannot be set back to adaptive\n",
				what);
			goto undo_fd;
		}
	}
	if (ioctl(fd, VDIFS_IOC_SETLAYOUT, &l)) {
		fs_fail(errno, "%s", what);
		goto undo_fd;
	}
	memset(&cur, 0, sizeof(cur));
	if (ioctl(fd, VDIFS_IOC_GETLAYOUT, &cur)) {
		ret = fs_fail(errno, "%s: layout set, but reading it back",
			      what);
		close(fd);
		return ret;
	}
	close(fd);
	layout_print(t, path, &cur);
	return 0;

undo_fd:
	close(fd);
undo:
	if (created)
		unlink(path);
	return EXIT_FAIL;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	struct tool t = { 0 };
	const char *key_file = NULL, *cmd;
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
		if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			t.quiet = true;
			continue;
		}
		if (!strcmp(a, "--insecure")) {
			t.insecure = true;
			continue;
		}
		eq = strchr(a, '=');
		nl = eq ? (size_t)(eq - a) : strlen(a);
		if ((nl == 5 && !strncmp(a, "--mds", nl)) ||
		    (nl == 11 && !strncmp(a, "--principal", nl)) ||
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
		else if (nl == 11)
			t.principal = val;
		else
			key_file = val;
	}
	if (!*t.mds)
		usage_error("--mds needs ADDR:PORT");
	if (!key_file && !t.insecure) {
		key_file = getenv("VDIFS_KEY_FILE");
		if (key_file && !*key_file)
			key_file = NULL;
	}
	if (key_file && t.insecure)
		usage_error("--key-file and --insecure exclude each other");
	if (!t.principal) {
		t.principal = getenv("VDIFS_PRINCIPAL");
		if (t.principal && !*t.principal)
			t.principal = NULL;
	}
	if (t.principal &&
	    wire_check_principal((const u8 *)t.principal,
				 (u32)strnlen(t.principal,
					      VDIFS_PRINCIPAL_MAX + 1)))
		usage_error("--principal: invalid name '%s': 1-%u of [A-Za-z0-9._@-]",
			    t.principal, VDIFS_PRINCIPAL_MAX);
	if (t.principal && !key_file)
		usage_error("--principal needs its key: --key-file FILE");
	t.key_file = key_file;
	if (i >= argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}

	cmd = argv[i++];
	if (!strcmp(cmd, "volume"))
		ret = cmd_volume(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "status"))
		ret = cmd_status(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "ds"))
		ret = cmd_ds(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "mds"))
		ret = cmd_mds(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "scrub"))
		ret = cmd_scrub(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "key"))
		ret = cmd_key(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "access"))
		ret = cmd_access(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "snapshot"))
		ret = cmd_snapshot(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "clone"))
		ret = cmd_clone(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "du"))
		ret = cmd_du(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "setattr"))
		ret = cmd_setattr(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "getattr"))
		ret = cmd_getattr(&t, argc - i, argv + i);
	else if (!strcmp(cmd, "help"))
		ret = (fputs(usage_text, stdout), 0);
	else
		usage_error("unknown command '%s'", cmd);

	if (t.conn)
		vdc_close(t.conn);
	memset(t.key, 0, sizeof(t.key));
	return ret;
}
