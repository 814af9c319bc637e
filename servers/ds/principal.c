// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-ds principals: a client that names one in HELLO proves the key
 * the MDS derives for it from the server key (uapi/vdifs_proto.h), so we
 * need only its role and generation, which KEY_CHECK asks the MDS for.
 * Answers are kept DS_PRINCIPAL_TTL_MS (a refusal one second), which is
 * also how long a deleted or rotated principal's connections last here:
 * each connection checks again once its answer is that old
 * (ds_principal_stands).  While the MDS cannot be reached, the last answer
 * stands: a data server serves on without its MDS.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "ds.h"

#define DS_PRINCIPAL_TTL_MS	10000
#define DS_PRINCIPAL_NEG_MS	1000

/* ask the MDS, on the one connection kept for it; under pr_ask_lock */
static int principal_ask(struct ds *ds, const char *name,
			 struct vdc_principal *p)
{
	struct vdc_opts o = {
		.role = VDIFS_ROLE_DS, .key = ds->cfg.key,
		.key_len = ds->cfg.key_len, .insecure = ds->cfg.insecure,
		.timeout_ms = 5000,
	};
	int tries, ret = -EIO;

	for (tries = 0; tries < 2; tries++) {
		if (!ds->pr_mds) {
			ret = vdc_connect(ds->cfg.mds, &o, &ds->pr_mds);
			if (ret) {
				ds->pr_mds = NULL;
				return ret;
			}
		}
		ret = vdc_key_check(ds->pr_mds, name, p);
		if (ret != -EPIPE && ret != -ECONNRESET && ret != -ETIMEDOUT &&
		    ret != -EPROTO && ret != -EIO)
			return ret;
		/* the MDS restarted or the line broke: once more, afresh */
		vdc_close(ds->pr_mds);
		ds->pr_mds = NULL;
	}
	return ret;
}

/* under pr_lock: name's entry, else the oldest, emptied for it */
static struct ds_principal *principal_slot(struct ds *ds, const char *name)
{
	struct ds_principal *oldest = &ds->pr[0];
	unsigned int i;

	for (i = 0; i < DS_PRINCIPALS; i++) {
		struct ds_principal *e = &ds->pr[i];

		if (e->name[0] && !strcmp(e->name, name))
			return e;
		if (e->checked_ms < oldest->checked_ms)
			oldest = e;
	}
	memset(oldest, 0, sizeof(*oldest));
	return oldest;
}

/* under pr_lock: a fresh enough answer for name, 1 if there is one */
static int principal_cached(struct ds *ds, const char *name, long long now,
			    u32 *role, u32 *gen, int *status)
{
	struct ds_principal *e = NULL;
	unsigned int i;

	for (i = 0; i < DS_PRINCIPALS && !e; i++)
		if (ds->pr[i].name[0] && !strcmp(ds->pr[i].name, name))
			e = &ds->pr[i];
	if (!e ||
	    now - e->checked_ms >= (e->status ? DS_PRINCIPAL_NEG_MS :
						DS_PRINCIPAL_TTL_MS))
		return 0;
	*status = e->status;
	*role = e->role;
	*gen = e->gen;
	return 1;
}

int ds_principal_lookup(void *arg, const char *name, u32 *role, u32 *gen)
{
	struct ds *ds = arg;
	struct ds_principal *e;
	struct vdc_principal p;
	long long now = net_now_ms();
	int ret, status;

	pthread_mutex_lock(&ds->pr_lock);
	ret = principal_cached(ds, name, now, role, gen, &status);
	pthread_mutex_unlock(&ds->pr_lock);
	if (ret)
		return status;

	pthread_mutex_lock(&ds->pr_ask_lock);
	/* whoever held the line before us may have asked for us */
	pthread_mutex_lock(&ds->pr_lock);
	ret = principal_cached(ds, name, net_now_ms(), role, gen, &status);
	pthread_mutex_unlock(&ds->pr_lock);
	if (ret) {
		pthread_mutex_unlock(&ds->pr_ask_lock);
		return status;
	}
	ret = principal_ask(ds, name, &p);
	pthread_mutex_unlock(&ds->pr_ask_lock);

	pthread_mutex_lock(&ds->pr_lock);
	e = principal_slot(ds, name);
	/*
	 * An MDS we cannot reach says nothing new: the last answer stands
	 * (data servers go on serving while the MDS is down), and without
	 * one the client tries again later.
	 */
	if (ret && ret != -ENOENT && ret != -EACCES) {
		bool known = e->name[0] && !e->status;

		*role = e->role;
		*gen = e->gen;
		pthread_mutex_unlock(&ds->pr_lock);
		log_warn("principal %s: cannot ask the MDS: %s%s", name,
			 strerror(-ret), known ? "; as it was" : "");
		return known ? 0 : -EAGAIN;
	}
	strcpy(e->name, name);
	e->checked_ms = net_now_ms();
	e->status = ret ? -EACCES : 0;
	e->role = ret ? 0 : p.role;
	e->gen = ret ? 0 : p.gen;
	*role = e->role;
	*gen = e->gen;
	status = e->status;
	pthread_mutex_unlock(&ds->pr_lock);
	return status;
}

int ds_principal_stands(struct ds *ds, struct srv_auth *a,
			long long *checked_ms)
{
	long long now = net_now_ms();
	u32 role, gen;
	int ret;

	if (!a->principal[0] || now - *checked_ms < DS_PRINCIPAL_TTL_MS)
		return 0;
	ret = ds_principal_lookup(ds, a->principal, &role, &gen);
	/* the MDS out of reach is no reason to cut a client off */
	if (ret == -EAGAIN)
		return 0;
	if (ret || role != a->role || gen != a->gen)
		return -EKEYREVOKED;
	*checked_ms = now;
	return 0;
}
