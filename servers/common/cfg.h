/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Table-driven configuration for the vdifs servers: one table of settings
 * serves both the JSON config file (keys) and the command line (flags),
 * with the same validation, so a setting cannot be checked in one place
 * and not the other.  Flags override the file.
 */
#ifndef _VDIFS_CFG_H
#define _VDIFS_CFG_H

#include <stddef.h>
#include <stdint.h>

enum cfg_type {
	CFG_STR,	/* char[cap] */
	CFG_U32,	/* uint32_t in [min, max] */
	CFG_U8,		/* uint8_t in [min, max] */
	CFG_SIZE,	/* uint64_t bytes, JSON number or "10G" */
	CFG_MB,		/* uint64_t bytes given in MiB */
	CFG_KEY,	/* hex key into key[cap], its length to *key_len */
	CFG_KEYFILE,	/* same, read from a file */
	CFG_LEVEL,	/* int log level by name */
	CFG_FLAG,	/* int set to max when given (flags only) */
};

struct cfg_item {
	const char *key;	/* JSON key, NULL: flag only */
	const char *flag;	/* long option without "--", NULL: file only */
	int short_opt;		/* 0: none */
	enum cfg_type type;
	void *dst;
	size_t cap;
	uint64_t min, max;
	size_t *key_len;	/* CFG_KEY/KEYFILE */
	const char *help;
};

/*
 * A server's keys (cfg has key[], key_len, insecure, client_key[],
 * client_key_len): "key" only in the file (a command line is there for
 * every user to see), --key-file, --insecure, --client-key-file.
 */
#define CFG_SERVER_KEY_ITEMS(cfg)					\
	{ .key = "key", .type = CFG_KEY, .dst = (cfg)->key,		\
	  .cap = sizeof((cfg)->key), .key_len = &(cfg)->key_len,	\
	  .help = "shared authentication key, hex" },			\
	{ .key = "key_file", .flag = "key-file", .type = CFG_KEYFILE,	\
	  .dst = (cfg)->key, .cap = sizeof((cfg)->key),			\
	  .key_len = &(cfg)->key_len,					\
	  .help = "read the key (hex) from a file of mode 600" },	\
	{ .key = "insecure", .flag = "insecure", .type = CFG_FLAG,	\
	  .dst = &(cfg)->insecure, .max = 1,				\
	  .help = "no key: trust anyone who can reach the port" },	\
	{ .key = "client_key_file", .flag = "client-key-file",		\
	  .type = CFG_KEYFILE, .dst = (cfg)->client_key,		\
	  .cap = sizeof((cfg)->client_key),				\
	  .key_len = &(cfg)->client_key_len,				\
	  .help = "the key clients prove, if not the server key" }

/* after cfg_parse: a key or --insecure, one of them; 0 or -1 (said why) */
int cfg_check_keys(size_t key_len, int insecure, size_t client_key_len);


/*
 * Parse argv (with -c/--config FILE) against items; prints a clear error
 * and returns -1 on anything wrong, 1 after printing --help, else 0.
 */
int cfg_parse(const char *prog, const char *summary,
	      const struct cfg_item *items, int argc, char **argv);

#endif
