// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs mount source and mount options.
 *
 * The source is "HOST:PORT/VOLUME" with HOST an IPv4 literal or a
 * bracketed IPv6 literal; the kernel resolves no names, mount.vdifs does
 * that in userspace.  ":PORT" may be left out for the default port.
 */
#include <linux/fs_parser.h>
#include <linux/inet.h>
#include <linux/key.h>
#include <keys/user-type.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include "internal.h"

enum vdifs_param {
	Opt_key, Opt_timeo, Opt_conn_timeo, Opt_actimeo,
	Opt_acregmin, Opt_acregmax, Opt_acdirmin, Opt_acdirmax, Opt_insecure,
	Opt_soft, Opt_hard, Opt_name, Opt_auth,
};

const struct fs_parameter_spec vdifs_fs_parameters[] = {
	fsparam_string("key",		Opt_key),
	fsparam_string("name",		Opt_name),
	fsparam_string("auth",		Opt_auth),
	fsparam_u32("timeo",		Opt_timeo),
	fsparam_u32("conn_timeo",	Opt_conn_timeo),
	fsparam_u32("actimeo",		Opt_actimeo),
	fsparam_u32("acregmin",		Opt_acregmin),
	fsparam_u32("acregmax",		Opt_acregmax),
	fsparam_u32("acdirmin",		Opt_acdirmin),
	fsparam_u32("acdirmax",		Opt_acdirmax),
	fsparam_flag("insecure",	Opt_insecure),
	fsparam_flag("soft",		Opt_soft),
	fsparam_flag("hard",		Opt_hard),
	{}
};

/* seconds a timeout option may ask for: one day */
#define VDIFS_TIMEO_MAX_S	86400u

void vdifs_mount_opts_init(struct vdifs_mount_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeo_ms = 60 * MSEC_PER_SEC;
	o->conn_timeo_ms = 10 * MSEC_PER_SEC;
	o->acregmin_ms = 3 * MSEC_PER_SEC;
	o->acregmax_ms = 60 * MSEC_PER_SEC;
	o->acdirmin_ms = 30 * MSEC_PER_SEC;
	o->acdirmax_ms = 60 * MSEC_PER_SEC;
}

static int vdifs_parse_port(const char *s, size_t len, u16 *port)
{
	char buf[6];
	unsigned int v;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (kstrtouint(buf, 10, &v) || v == 0 || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

/*
 * Parse "HOST[:PORT]/VOLUME" into o.  On failure *why says what is wrong
 * in words fit for the mount error log.
 */
int vdifs_parse_source(const char *src, struct vdifs_mount_opts *o,
		       const char **why)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&o->mds;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&o->mds;
	const char *slash, *host, *host_end, *port = NULL;
	size_t vlen;
	u16 portnum = VDIFS_DEFAULT_PORT;
	bool v6 = false;

	*why = "source must be HOST:PORT/VOLUME";
	if (!src || !*src)
		return -EINVAL;
	slash = strchr(src, '/');
	if (!slash)
		return -EINVAL;

	host = src;
	if (*host == '[') {
		host_end = memchr(host, ']', slash - host);
		if (!host_end)
			return -EINVAL;
		host++;
		v6 = true;
		if (host_end + 1 != slash) {
			if (host_end[1] != ':')
				return -EINVAL;
			port = host_end + 2;
		}
	} else {
		host_end = memchr(host, ':', slash - host);
		if (host_end)
			port = host_end + 1;
		else
			host_end = slash;
	}
	if (port && vdifs_parse_port(port, slash - port, &portnum)) {
		*why = "port must be a number from 1 to 65535";
		return -EINVAL;
	}

	memset(&o->mds, 0, sizeof(o->mds));
	if (v6) {
		if (host_end == host ||
		    in6_pton(host, host_end - host, sin6->sin6_addr.s6_addr,
			     -1, NULL) != 1) {
			*why = "host must be an IPv6 literal inside []";
			return -EINVAL;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(portnum);
	} else {
		if (host_end == host ||
		    in4_pton(host, host_end - host, (u8 *)&sin->sin_addr.s_addr,
			     -1, NULL) != 1) {
			*why = "host must be an IP address (mount.vdifs resolves names)";
			return -EINVAL;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(portnum);
	}

	vlen = strlen(slash + 1);
	if (vlen >= sizeof(o->volume) ||
	    wire_check_volname((const u8 *)slash + 1, vlen)) {
		*why = "volume name must be 1-64 of [A-Za-z0-9._-], not starting with . or -";
		return -EINVAL;
	}
	memcpy(o->volume, slash + 1, vlen + 1);
	*why = NULL;
	return 0;
}

/*
 * key=NAME names a logon key, "vdifs:NAME", that mount.vdifs (or keyctl)
 * loaded from a key file: the key itself never passes through a command
 * line, and a logon key cannot be read back from userspace.
 */
static int vdifs_parse_key(struct fs_context *fc, struct vdifs_mount_opts *o,
			   const char *name)
{
	size_t len = strlen(name);

	if (len > VDIFS_KEY_NAME_MAX ||
	    wire_check_volname((const u8 *)name, len))
		return invalfc(fc, "key=NAME: 1-%u of [A-Za-z0-9._-], the logon key vdifs:NAME (mount.vdifs keyfile=PATH loads one)",
			       VDIFS_KEY_NAME_MAX);
	memcpy(o->key_name, name, len + 1);
	return 0;
}

/* the bytes of the key named at key=, from the mounter's keyrings */
int vdifs_key_load(struct fs_context *fc)
{
	struct vdifs_mount_opts *o = fc->fs_private;
	const struct user_key_payload *ukp;
	char desc[sizeof("vdifs:") + VDIFS_KEY_NAME_MAX];
	struct key *key;
	int ret = 0;

	if (!o->key_name[0])
		return 0;
	snprintf(desc, sizeof(desc), "vdifs:%s", o->key_name);
	key = request_key(&key_type_logon, desc, NULL);
	if (IS_ERR(key)) {
		errorfc(fc, "no logon key %s in the keyring (%ld)", desc,
			PTR_ERR(key));
		return PTR_ERR(key);
	}
	down_read(&key->sem);
	ukp = user_key_payload_locked(key);
	if (!ukp) {
		errorfc(fc, "key %s was revoked", desc);
		ret = -EKEYREVOKED;
	} else if (ukp->datalen < VDIFS_KEY_MIN ||
		   ukp->datalen > VDIFS_KEY_MAX) {
		ret = invalfc(fc, "key %s has %u bytes: a key is %u to %u",
			      desc, ukp->datalen, VDIFS_KEY_MIN,
			      VDIFS_KEY_MAX);
	} else {
		memcpy(o->key, ukp->data, ukp->datalen);
		o->key_len = ukp->datalen;
	}
	up_read(&key->sem);
	key_put(key);
	return ret;
}

static int vdifs_set_timeo(struct fs_context *fc, const char *key, u32 s,
			   unsigned int *ms)
{
	if (s > VDIFS_TIMEO_MAX_S)
		return invalfc(fc, "%s must be at most %u seconds", key,
			       VDIFS_TIMEO_MAX_S);
	*ms = s * MSEC_PER_SEC;
	return 0;
}

int vdifs_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	struct vdifs_mount_opts *o = fc->fs_private;
	struct fs_parse_result result;
	const char *why;
	int opt, ret;

	if (!strcmp(param->key, "source")) {
		if (param->type != fs_value_is_string)
			return invalfc(fc, "source must be a string");
		if (fc->source)
			return invalfc(fc, "source given twice");
		ret = vdifs_parse_source(param->string, o, &why);
		if (ret)
			return invalfc(fc, "%s: %s", param->string, why);
		fc->source = param->string;
		param->string = NULL;
		return 0;
	}

	opt = fs_parse(fc, vdifs_fs_parameters, param, &result);
	if (opt < 0)
		return opt;

	switch (opt) {
	case Opt_key:
		return vdifs_parse_key(fc, o, param->string);
	case Opt_name:
		if (wire_check_principal((const u8 *)param->string,
					 strlen(param->string)))
			return invalfc(fc, "name=NAME: a principal, 1-%u of [A-Za-z0-9._@-]",
				       VDIFS_PRINCIPAL_MAX);
		strscpy(o->principal, param->string, sizeof(o->principal));
		return 0;
	case Opt_auth:
		/*
		 * What /proc/mounts shows for a keyed mount, taken back so
		 * that a remount, which passes those options again, works;
		 * the key itself comes from key= alone.
		 */
		if (strcmp(param->string, "hmac"))
			return invalfc(fc, "auth=hmac is the only one (the key: key=NAME)");
		return 0;
	case Opt_insecure:
		o->insecure = true;
		return 0;
	case Opt_soft:
	case Opt_hard:
		o->soft = opt == Opt_soft;
		return 0;
	case Opt_timeo:
		if (!result.uint_32)
			return invalfc(fc, "timeo must be at least 1 second");
		return vdifs_set_timeo(fc, "timeo", result.uint_32, &o->timeo_ms);
	case Opt_conn_timeo:
		if (!result.uint_32)
			return invalfc(fc, "conn_timeo must be at least 1 second");
		return vdifs_set_timeo(fc, "conn_timeo", result.uint_32,
				       &o->conn_timeo_ms);
	case Opt_actimeo:
		ret = vdifs_set_timeo(fc, "actimeo", result.uint_32,
				      &o->acregmin_ms);
		if (ret)
			return ret;
		o->acregmax_ms = o->acregmin_ms;
		o->acdirmin_ms = o->acregmin_ms;
		o->acdirmax_ms = o->acregmin_ms;
		return 0;
	case Opt_acregmin:
		return vdifs_set_timeo(fc, "acregmin", result.uint_32,
				       &o->acregmin_ms);
	case Opt_acregmax:
		return vdifs_set_timeo(fc, "acregmax", result.uint_32,
				       &o->acregmax_ms);
	case Opt_acdirmin:
		return vdifs_set_timeo(fc, "acdirmin", result.uint_32,
				       &o->acdirmin_ms);
	case Opt_acdirmax:
		return vdifs_set_timeo(fc, "acdirmax", result.uint_32,
				       &o->acdirmax_ms);
	}
	return -EINVAL;
}

/* checks across options, once all are parsed */
int vdifs_validate_opts(struct fs_context *fc)
{
	struct vdifs_mount_opts *o = fc->fs_private;

	if (!fc->source)
		return invalfc(fc, "no source: mount -t vdifs HOST:PORT/VOLUME DIR");
	if (o->acregmin_ms > o->acregmax_ms)
		return invalfc(fc, "acregmin is larger than acregmax");
	if (o->acdirmin_ms > o->acdirmax_ms)
		return invalfc(fc, "acdirmin is larger than acdirmax");
	if (o->insecure && o->key_name[0])
		return invalfc(fc, "key= and insecure exclude each other");
	if (o->principal[0] && !o->key_name[0])
		return invalfc(fc, "name=%s needs its key: key=NAME or keyfile=PATH",
			       o->principal);
	return 0;
}
