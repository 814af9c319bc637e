// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-tool key ... and access ...: principals (named keys for client
 * hosts and administrators) and per-volume access lists.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include "tool.h"

static const char key_usage[] =
"usage: vdifs-tool key add NAME --role client|admin [--out FILE]\n"
"       vdifs-tool key rotate NAME [--out FILE]\n"
"       vdifs-tool key delete NAME\n"
"       vdifs-tool key list\n"
"\n"
"Principals are named keys the MDS keeps: one per client host (mount\n"
"-o name=NAME,key=NAME) or administrator (vdifs-tool --principal NAME\n"
"--key-file FILE).  add prints the new key in hex, or writes it to FILE\n"
"(created mode 600).  rotate gives NAME a new key; the old one stops\n"
"working, and connections that proved it end (on data servers within\n"
"ten seconds).  delete revokes NAME the same way and takes it off every\n"
"access list.  NAME is 1-64 of [A-Za-z0-9._@-].\n";

static const char access_usage[] =
"usage: vdifs-tool access set VOLUME PRINCIPAL ro|rw|none\n"
"       vdifs-tool access list VOLUME\n"
"\n"
"A volume's access list names the client principals that may use it,\n"
"read-only (ro) or read-write (rw); none takes one off.  A volume with\n"
"an empty list is open to every client that authenticates.  A client\n"
"not on a volume's list does not see it; one with ro mounts it\n"
"read-only.  Administrators and data servers are not subject to lists.\n";

static const char *role_name(u32 role)
{
	switch (role) {
	case VDIFS_ROLE_CLIENT:
		return "client";
	case VDIFS_ROLE_TOOL:
		return "admin";
	default:
		return "?";
	}
}

static const char *rights_name(u32 rights)
{
	switch (rights) {
	case VDIFS_ACCESS_READ:
		return "ro";
	case VDIFS_ACCESS_WRITE:
		return "rw";
	default:
		return "none";
	}
}

static void check_principal(const char *cmd, const char *name)
{
	if (wire_check_principal((const u8 *)name,
				 (u32)strnlen(name, VDIFS_PRINCIPAL_MAX + 1)))
		usage_error("%s: invalid principal '%s': 1-%u of [A-Za-z0-9._@-]",
			    cmd, name, VDIFS_PRINCIPAL_MAX);
}

/* the key in hex, to path (its owner's alone) or stdout */
static int key_emit(const char *path, const struct vdc_principal *p)
{
	char hex[2 * VDIFS_PRINCIPAL_KEY_LEN + 2];
	size_t i;
	int fd, ret = 0;

	for (i = 0; i < VDIFS_PRINCIPAL_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", p->key[i]);
	strcat(hex, "\n");
	if (!path) {
		fputs(hex, stdout);
		goto out_wipe;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = fail(path, errno);
		goto out_wipe;
	}
	/* an existing file may have been readable by others: not now */
	if (fchmod(fd, 0600) ||
	    write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || fsync(fd))
		ret = fail(path, errno ? errno : EIO);
	close(fd);
out_wipe:
	OPENSSL_cleanse(hex, sizeof(hex));
	return ret;
}

static int cmd_key_add(struct tool *t, int argc, char **argv, bool rotate)
{
	static const char *const known[] = { "--role", "--out", NULL };
	const char *cmd = rotate ? "key rotate" : "key add";
	const char *pos[1], *out = NULL;
	struct opt_arg opts[2];
	struct vdc_principal p;
	char what[128];
	u32 role = 0;
	int npos, nopts, i, ret;

	npos = split_args(argc, argv, known, key_usage, pos, 1, opts, 2,
			  &nopts, cmd);
	if (npos != 1)
		usage_error("%s: needs a principal NAME", cmd);
	check_principal(cmd, pos[0]);
	for (i = 0; i < nopts; i++) {
		if (!strcmp(opts[i].name, "--out")) {
			out = opts[i].val;
		} else if (!strcmp(opts[i].val, "client")) {
			role = VDIFS_ROLE_CLIENT;
		} else if (!strcmp(opts[i].val, "admin")) {
			role = VDIFS_ROLE_TOOL;
		} else {
			usage_error("%s: invalid --role '%s': client or admin",
				    cmd, opts[i].val);
		}
	}
	if (!rotate && !role)
		usage_error("%s: needs --role client|admin", cmd);
	ret = tool_connect(t);
	if (ret)
		return ret;
	ret = vdc_key_add(t->conn, pos[0], role, rotate, &p);
	if (ret) {
		snprintf(what, sizeof(what), "%s %s", cmd, pos[0]);
		if (ret == -EOPNOTSUPP) {
			fprintf(stderr, PROG ": %s: the cluster runs without keys (--insecure): there is nothing to derive a key from\n",
				what);
			return EXIT_FAIL;
		}
		return fail(what, ret);
	}
	ret = key_emit(out, &p);
	if (!ret && out && !t->quiet)
		fprintf(stderr, "principal %s (%s), generation %u: key in %s\n",
			p.name, role_name(p.role), p.gen, out);
	OPENSSL_cleanse(&p, sizeof(p));
	return ret;
}

static int cmd_key_delete(struct tool *t, int argc, char **argv)
{
	const char *cmd = "key delete", *pos[1];
	struct opt_arg opts[1];
	char what[128];
	int npos, nopts, ret;

	npos = split_args(argc, argv, NULL, key_usage, pos, 1, opts, 0, &nopts,
			  cmd);
	if (npos != 1)
		usage_error("%s: needs a principal NAME", cmd);
	check_principal(cmd, pos[0]);
	ret = tool_connect(t);
	if (ret)
		return ret;
	ret = vdc_key_delete(t->conn, pos[0]);
	if (ret) {
		snprintf(what, sizeof(what), "%s %s", cmd, pos[0]);
		return fail(what, ret);
	}
	if (!t->quiet && !t->json)
		printf("principal %s deleted\n", pos[0]);
	return 0;
}

struct key_list_ctx {
	struct json_object *arr;
	int n;
};

static int key_list_cb(const struct vdc_principal *p, void *arg)
{
	struct key_list_ctx *lc = arg;

	lc->n++;
	if (lc->arr) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name",
				       json_object_new_string(p->name));
		json_object_object_add(o, "role",
				       json_object_new_string(
					       role_name(p->role)));
		json_object_object_add(o, "generation", jint(p->gen));
		json_object_object_add(o, "created_ns", jint(p->created_ns));
		json_object_array_add(lc->arr, o);
		return 0;
	}
	if (lc->n == 1)
		printf("%-32s %-6s %s\n", "PRINCIPAL", "ROLE", "GENERATION");
	printf("%-32s %-6s %u\n", p->name, role_name(p->role), p->gen);
	return 0;
}

static int cmd_key_list(struct tool *t, int argc, char **argv)
{
	struct key_list_ctx lc = { 0 };
	struct opt_arg opts[1];
	const char *pos[1];
	int nopts, ret;

	split_args(argc, argv, NULL, key_usage, pos, 0, opts, 0, &nopts,
		   "key list");
	ret = tool_connect(t);
	if (ret)
		return ret;
	if (t->json)
		lc.arr = json_object_new_array();
	ret = vdc_key_list(t->conn, key_list_cb, &lc);
	if (ret < 0) {
		if (lc.arr)
			json_object_put(lc.arr);
		return fail("key list", ret);
	}
	if (lc.arr)
		json_print(lc.arr);
	else if (!lc.n)
		printf("no principals\n");
	return 0;
}

int cmd_key(struct tool *t, int argc, char **argv)
{
	const char *sub;

	if (argc < 1)
		usage_error("key: needs a subcommand: add, rotate, delete or list");
	sub = argv[0];
	if (is_help(sub)) {
		fputs(key_usage, stdout);
		exit(0);
	}
	if (!strcmp(sub, "add"))
		return cmd_key_add(t, argc - 1, argv + 1, false);
	if (!strcmp(sub, "rotate"))
		return cmd_key_add(t, argc - 1, argv + 1, true);
	if (!strcmp(sub, "delete"))
		return cmd_key_delete(t, argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return cmd_key_list(t, argc - 1, argv + 1);
	usage_error("key: unknown subcommand '%s'", sub);
}

/* a volume's id by name, or an exit status */
static int access_vol(struct tool *t, const char *cmd, const char *name,
		      u32 *vol)
{
	struct vdc_vol v;
	char what[128];
	int ret;

	if (wire_check_volname((const u8 *)name, (u32)strnlen(name, 65)))
		usage_error("%s: invalid volume name '%s'", cmd, name);
	ret = tool_connect(t);
	if (ret)
		return ret;
	ret = vdc_vol_open(t->conn, name, &v);
	if (ret) {
		snprintf(what, sizeof(what), "%s: volume %s", cmd, name);
		return fail(what, ret);
	}
	*vol = v.vol;
	return 0;
}

struct access_list_ctx {
	struct json_object *arr;
	int n;
};

static int access_list_cb(const char *name, u32 rights, void *arg)
{
	struct access_list_ctx *lc = arg;

	lc->n++;
	if (lc->arr) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "principal",
				       json_object_new_string(name));
		json_object_object_add(o, "access",
				       json_object_new_string(
					       rights_name(rights)));
		json_object_array_add(lc->arr, o);
		return 0;
	}
	printf("%-32s %s\n", name, rights_name(rights));
	return 0;
}

int cmd_access(struct tool *t, int argc, char **argv)
{
	struct access_list_ctx lc = { 0 };
	struct opt_arg opts[1];
	const char *pos[4];
	char what[200];
	u32 vol, rights;
	int npos, nopts, ret;

	if (argc >= 1 && is_help(argv[0])) {
		fputs(access_usage, stdout);
		exit(0);
	}
	npos = split_args(argc, argv, NULL, access_usage, pos, 4, opts, 0,
			  &nopts, "access");
	if (npos == 4 && !strcmp(pos[0], "set")) {
		check_principal("access set", pos[2]);
		if (!strcmp(pos[3], "ro"))
			rights = VDIFS_ACCESS_READ;
		else if (!strcmp(pos[3], "rw"))
			rights = VDIFS_ACCESS_WRITE;
		else if (!strcmp(pos[3], "none"))
			rights = VDIFS_ACCESS_NONE;
		else
			usage_error("access set: invalid access '%s': ro, rw or none",
				    pos[3]);
		ret = access_vol(t, "access set", pos[1], &vol);
		if (ret)
			return ret;
		ret = vdc_access_set(t->conn, vol, pos[2], rights);
		snprintf(what, sizeof(what), "access set %s %s", pos[1],
			 pos[2]);
		if (ret == -ENOENT)
			fprintf(stderr, PROG ": %s: no such principal (vdifs-tool key list)\n",
				what);
		else if (ret)
			return fail(what, ret);
		if (ret)
			return EXIT_FAIL;
		if (!t->quiet && !t->json)
			printf("volume %s: %s %s\n", pos[1], pos[2],
			       rights == VDIFS_ACCESS_NONE ? "removed" :
			       rights_name(rights));
		return 0;
	}
	if (npos != 2 || strcmp(pos[0], "list"))
		usage_error("access: 'set VOLUME PRINCIPAL ro|rw|none' or 'list VOLUME'");
	ret = access_vol(t, "access list", pos[1], &vol);
	if (ret)
		return ret;
	if (t->json)
		lc.arr = json_object_new_array();
	ret = vdc_access_list(t->conn, vol, access_list_cb, &lc);
	if (ret < 0) {
		if (lc.arr)
			json_object_put(lc.arr);
		snprintf(what, sizeof(what), "access list %s", pos[1]);
		return fail(what, ret);
	}
	if (lc.arr)
		json_print(lc.arr);
	else if (!lc.n)
		printf("volume %s: no access list: open to every client\n",
		       pos[1]);
	return 0;
}
