/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdifs-tool: what its command files share (vdifs-tool.c: the global
 * options, the connection to the MDS, argument splitting and output;
 * tool_keys.c: principals and access lists).
 */
#ifndef _VDIFS_TOOL_H
#define _VDIFS_TOOL_H

#include <stdbool.h>
#include <json.h>
#include "vdifs_client.h"

#define PROG		"vdifs-tool"
#define DEFAULT_MDS	"127.0.0.1:7400"

#define EXIT_FAIL	1
#define EXIT_USAGE	2

struct tool {
	const char *mds;
	u8 key[VDIFS_KEY_MAX];
	size_t key_len;
	bool json;
	bool quiet;		/* no progress lines on stderr */
	bool insecure;		/* a keyless MDS is taken */
	/* read when the MDS is called: commands on a mount need no key */
	const char *key_file;
	const char *principal;	/* --principal: the key file is its key */
	struct vdc_conn *conn;
};

struct opt_arg {
	const char *name;
	const char *val;
};

void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...);
/* "vdifs-tool: what: strerror(err)" on stderr; returns EXIT_FAIL */
int fail(const char *what, int err);
bool is_help(const char *s);
/*
 * Split argv into positional arguments and "--opt VALUE" / "--opt=VALUE"
 * pairs of the given option names.  Exits on anything else.
 */
int split_args(int argc, char **argv, const char *const *known,
	       const char *usage, const char **pos, int maxpos,
	       struct opt_arg *opts, int maxopts, int *nopts, const char *cmd);
/* connect t->conn to the MDS; 0 or an exit status (message printed) */
int tool_connect(struct tool *t);
/* print o and drop it */
void json_print(struct json_object *o);
struct json_object *jint(u64 v);

/* tool_keys.c */
int cmd_key(struct tool *t, int argc, char **argv);
int cmd_access(struct tool *t, int argc, char **argv);

#endif
