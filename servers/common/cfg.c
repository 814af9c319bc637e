// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration: JSON file (json-c) and command-line flags, one table.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "cfg.h"
#include "log.h"
#include "vdifs_client.h"

static const char *cfg_prog;

static int cfg_size(const char *what, const char *s, uint64_t min,
		    uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		goto bad;
	switch (*end) {
	case 'k': case 'K':
		v <<= 10;
		end++;
		break;
	case 'm': case 'M':
		v <<= 20;
		end++;
		break;
	case 'g': case 'G':
		v <<= 30;
		end++;
		break;
	case 't': case 'T':
		v <<= 40;
		end++;
		break;
	}
	if (*end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "%s: %s: '%s' is not a size from %llu to %llu bytes\n",
		cfg_prog, what, s, (unsigned long long)min,
		(unsigned long long)max);
	return -1;
}

static int cfg_uint(const char *what, const char *s, uint64_t min,
		    uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "%s: %s: '%s' is not a number from %llu to %llu\n",
			cfg_prog, what, s, (unsigned long long)min,
			(unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

static int cfg_key(const char *what, const struct cfg_item *it,
		   const char *hex)
{
	if (vdc_key_parse_hex(hex, it->dst, it->cap, it->key_len)) {
		fprintf(stderr, "%s: %s: a key is %u to %u hex digits\n",
			cfg_prog, what, 2 * VDIFS_KEY_MIN, 2 * VDIFS_KEY_MAX);
		return -1;
	}
	return 0;
}

static int cfg_set(const struct cfg_item *it, const char *what,
		   const char *s)
{
	static const char * const levels[] = { "error", "warning", "info",
						"debug" };
	uint64_t v;
	char buf[300];
	int i;

	switch (it->type) {
	case CFG_STR:
		if (!*s || strlen(s) >= it->cap) {
			fprintf(stderr, "%s: %s: empty or too long\n", cfg_prog,
				what);
			return -1;
		}
		strcpy(it->dst, s);
		return 0;
	case CFG_U32:
	case CFG_U8:
		if (cfg_uint(what, s, it->min, it->max, &v))
			return -1;
		if (it->type == CFG_U32)
			*(uint32_t *)it->dst = (uint32_t)v;
		else
			*(uint8_t *)it->dst = (uint8_t)v;
		return 0;
	case CFG_SIZE:
		return cfg_size(what, s, it->min, it->max, it->dst);
	case CFG_MB:
		if (cfg_uint(what, s, it->min, it->max, &v))
			return -1;
		*(uint64_t *)it->dst = v << 20;
		return 0;
	case CFG_KEY:
		return cfg_key(what, it, s);
	case CFG_KEYFILE:
		if (vdc_key_read_file(s, it->dst, it->cap, it->key_len, buf,
				      sizeof(buf))) {
			fprintf(stderr, "%s: %s %s: %s\n", cfg_prog, what, s,
				buf);
			return -1;
		}
		return 0;
	case CFG_LEVEL:
		for (i = 0; i < 4; i++) {
			if (!strcmp(s, levels[i])) {
				*(int *)it->dst = i;
				return 0;
			}
		}
		fprintf(stderr, "%s: %s: '%s' is not error, warning, info or debug\n",
			cfg_prog, what, s);
		return -1;
	case CFG_FLAG:
		*(int *)it->dst = (int)it->max;
		return 0;
	}
	return -1;
}

static int cfg_load_json(const struct cfg_item *items, const char *path)
{
	struct json_object *root;
	int ret = 0;

	root = json_object_from_file(path);
	if (!root) {
		fprintf(stderr, "%s: %s: %s\n", cfg_prog, path,
			json_util_get_last_err());
		return -1;
	}
	if (!json_object_is_type(root, json_type_object)) {
		fprintf(stderr, "%s: %s: not a JSON object\n", cfg_prog, path);
		json_object_put(root);
		return -1;
	}
	json_object_object_foreach(root, key, val) {
		const struct cfg_item *it;
		enum json_type ty = json_object_get_type(val);
		bool numeric;
		char num[32];
		const char *s;

		for (it = items; it->key || it->flag; it++)
			if (it->key && !strcmp(it->key, key))
				break;
		if (!it->key) {
			fprintf(stderr, "%s: %s: unknown setting '%s'\n",
				cfg_prog, path, key);
			ret = -1;
			break;
		}
		if (it->type == CFG_FLAG) {
			/* a flag's setting is true or false */
			if (ty != json_type_boolean) {
				fprintf(stderr, "%s: %s: %s must be true or false\n",
					cfg_prog, path, key);
				ret = -1;
				break;
			}
			*(int *)it->dst = json_object_get_boolean(val) ?
					  (int)it->max : 0;
			continue;
		}
		numeric = it->type == CFG_U32 || it->type == CFG_U8 ||
			  it->type == CFG_MB;
		if ((numeric && ty != json_type_int) ||
		    (!numeric && it->type != CFG_SIZE &&
		     ty != json_type_string) ||
		    (it->type == CFG_SIZE && ty != json_type_int &&
		     ty != json_type_string)) {
			fprintf(stderr, "%s: %s: %s has the wrong type\n",
				cfg_prog, path, key);
			ret = -1;
			break;
		}
		s = json_object_get_string(val);
		if (ty == json_type_int) {
			if (json_object_get_int64(val) < 0) {
				fprintf(stderr, "%s: %s: %s must not be negative\n",
					cfg_prog, path, key);
				ret = -1;
				break;
			}
			snprintf(num, sizeof(num), "%lld",
				 (long long)json_object_get_int64(val));
			s = num;
		}
		ret = cfg_set(it, key, s);
		if (ret)
			break;
	}
	json_object_put(root);
	return ret;
}

static void cfg_usage(FILE *f, const char *summary,
		      const struct cfg_item *items)
{
	const struct cfg_item *it;

	fprintf(f, "usage: %s [-c CONFIG.json] [options]\n%s\n\n", cfg_prog,
		summary);
	fprintf(f, "  -c, --config FILE        JSON configuration; flags override it\n");
	for (it = items; it->key || it->flag; it++) {
		char left[64];

		if (!it->flag)
			continue;
		if (it->short_opt)
			snprintf(left, sizeof(left), "-%c, --%s%s", it->short_opt,
				 it->flag, it->type == CFG_FLAG ? "" : " V");
		else
			snprintf(left, sizeof(left), "    --%s%s", it->flag,
				 it->type == CFG_FLAG ? "" : " V");
		fprintf(f, "  %-24s %s\n", left, it->help);
	}
	fprintf(f, "  -h, --help               this text\n\nConfig keys:");
	for (it = items; it->key || it->flag; it++)
		if (it->key)
			fprintf(f, " %s", it->key);
	fprintf(f, "\n");
}

int cfg_parse(const char *prog, const char *summary,
	      const struct cfg_item *items, int argc, char **argv)
{
	struct option opts[64];
	char shorts[64] = "c:h";
	const struct cfg_item *it;
	const char *config = NULL;
	int n = 0, c, i, idx;

	cfg_prog = prog;
	for (i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) &&
		    i + 1 < argc)
			config = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			config = argv[i] + 9;
	}
	if (config && cfg_load_json(items, config))
		return -1;

	opts[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	for (it = items, i = 0; (it->key || it->flag) && n < 62; it++, i++) {
		if (!it->flag)
			continue;
		opts[n++] = (struct option){
			it->flag, it->type == CFG_FLAG ? no_argument :
			required_argument, NULL, 256 + i };
		if (it->short_opt) {
			size_t l = strlen(shorts);

			shorts[l] = (char)it->short_opt;
			shorts[l + 1] = it->type == CFG_FLAG ? '\0' : ':';
			shorts[l + 2] = '\0';
		}
	}
	opts[n] = (struct option){ 0 };

	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, opts, &idx)) != -1) {
		char what[80];

		if (c == 'c')
			continue;
		if (c == 'h') {
			cfg_usage(stdout, summary, items);
			return 1;
		}
		it = NULL;
		if (c >= 256) {
			it = &items[c - 256];
		} else {
			const struct cfg_item *j;

			for (j = items; j->key || j->flag; j++)
				if (j->short_opt == c)
					it = j;
		}
		if (!it) {
			cfg_usage(stderr, summary, items);
			return -1;
		}
		snprintf(what, sizeof(what), "--%s", it->flag);
		if (cfg_set(it, what, optarg ? optarg : ""))
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog,
			argv[optind]);
		return -1;
	}
	return 0;
}

int cfg_check_keys(size_t key_len, int insecure, size_t client_key_len)
{
	if (key_len && insecure) {
		fprintf(stderr, "%s: a key and --insecure exclude each other\n",
			cfg_prog);
		return -1;
	}
	if (!key_len && !insecure) {
		fprintf(stderr, "%s: no key: give key_file (--key-file), or --insecure to trust anyone who can reach the port\n",
			cfg_prog);
		return -1;
	}
	if (client_key_len && !key_len) {
		fprintf(stderr, "%s: a client key needs the server key (key_file)\n",
			cfg_prog);
		return -1;
	}
	return 0;
}
