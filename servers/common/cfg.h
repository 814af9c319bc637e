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
 * Parse argv (with -c/--config FILE) against items; prints a clear error
 * and returns -1 on anything wrong, 1 after printing --help, else 0.
 */
int cfg_parse(const char *prog, const char *summary,
	      const struct cfg_item *items, int argc, char **argv);

#endif
