// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds persistent state in LMDB: environment, named databases,
 * counters, keys.  Invariants kept by every write transaction:
 *  - a dirent (vol, dir, name) and its cookie (vol, dir, cookie) exist
 *    together, and the dirent's inode exists;
 *  - an inode's nlink counts its dirents (+1 for "." and +1 per child
 *    directory for directories);
 *  - counters only grow: inode, chunk, volume, data-server and session
 *    numbers are never handed out twice.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "be.h"
#include "mds.h"





size_t key_ino(u8 *buf, u32 vol, u64 ino)
{
	put_be32(buf, vol);
	put_be64(buf + 4, ino);
	return 12;
}

size_t key_name(u8 *buf, u32 vol, u64 ino, const u8 *name, u32 len)
{
	key_ino(buf, vol, ino);
	memcpy(buf + 12, name, len);
	return 12 + len;
}

size_t key_u64(u8 *buf, u32 vol, u64 ino, u64 v)
{
	key_ino(buf, vol, ino);
	put_be64(buf + 12, v);
	return 20;
}

int db_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return -ENOSPC;
	case MDB_BAD_VALSIZE:
		return -EINVAL;
	default:
		if (rc > 0 && rc < 4096)
			return -rc;
		log_err("lmdb: %s", mdb_strerror(rc));
		return -EIO;
	}
}

int db_open(struct mds_db *db, const char *dir, u64 map_size)
{
	static const struct { const char *name; size_t off; } dbs[] = {
		{ "meta", offsetof(struct mds_db, meta) },
		{ "vols", offsetof(struct mds_db, vols) },
		{ "volnames", offsetof(struct mds_db, volnames) },
		{ "inodes", offsetof(struct mds_db, inodes) },
		{ "dirents", offsetof(struct mds_db, dirents) },
		{ "cookies", offsetof(struct mds_db, cookies) },
		{ "xattrs", offsetof(struct mds_db, xattrs) },
		{ "symlinks", offsetof(struct mds_db, symlinks) },
		{ "chunks", offsetof(struct mds_db, chunks) },
		{ "gc", offsetof(struct mds_db, gc) },
		{ "dservers", offsetof(struct mds_db, dservers) },
		{ "sessions", offsetof(struct mds_db, sessions) },
		{ "replies", offsetof(struct mds_db, replies) },
		{ "intents", offsetof(struct mds_db, intents) },
		{ "principals", offsetof(struct mds_db, principals) },
		{ "access", offsetof(struct mds_db, access) },
		{ "behind", offsetof(struct mds_db, behind) },
		{ "lost", offsetof(struct mds_db, lost) },
	};
	MDB_txn *t;
	size_t i;
	int rc;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	rc = mdb_env_create(&db->env);
	if (rc)
		return db_err(rc);
	mdb_env_set_maxdbs(db->env, 24);
	mdb_env_set_mapsize(db->env, map_size);
	/* 126 default readers is too few for a thread per connection */
	mdb_env_set_maxreaders(db->env, 4096);
	rc = mdb_env_open(db->env, dir, 0, 0600);
	if (rc)
		goto out_env;
	rc = mdb_txn_begin(db->env, NULL, 0, &t);
	if (rc)
		goto out_env;
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		rc = mdb_dbi_open(t, dbs[i].name, MDB_CREATE,
				  (MDB_dbi *)((char *)db + dbs[i].off));
		if (rc) {
			mdb_txn_abort(t);
			goto out_env;
		}
	}
	rc = mdb_txn_commit(t);
	if (rc)
		goto out_env;
	return 0;

out_env:
	log_err("lmdb: cannot open %s: %s", dir, mdb_strerror(rc));
	mdb_env_close(db->env);
	db->env = NULL;
	return db_err(rc);
}

void db_close(struct mds_db *db)
{
	if (db->env)
		mdb_env_close(db->env);
	db->env = NULL;
}

int db_get(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, void *v,
	   size_t vl)
{
	MDB_val key = { kl, (void *)k }, val;
	int rc = mdb_get(t, dbi, &key, &val);

	if (rc)
		return db_err(rc);
	if (vl && val.mv_size != vl) {
		log_err("lmdb: record of %zu bytes where %zu expected",
			val.mv_size, vl);
		return -EIO;
	}
	if (v)
		memcpy(v, val.mv_data, val.mv_size);
	return (int)val.mv_size;
}

int db_put(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, const void *v,
	   size_t vl, unsigned int flags)
{
	MDB_val key = { kl, (void *)k }, val = { vl, (void *)v };

	return db_err(mdb_put(t, dbi, &key, &val, flags));
}

int db_del(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl)
{
	MDB_val key = { kl, (void *)k };

	return db_err(mdb_del(t, dbi, &key, NULL));
}

int db_del_prefix(MDB_txn *t, MDB_dbi dbi, const void *prefix, size_t pl,
		  int (*fn)(MDB_txn *t, const MDB_val *k, const MDB_val *v,
			    void *arg), void *arg)
{
	MDB_cursor *cur;
	MDB_val k = { pl, (void *)prefix }, v;
	int rc, ret = 0;

	rc = mdb_cursor_open(t, dbi, &cur);
	if (rc)
		return db_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (!rc && k.mv_size >= pl && !memcmp(k.mv_data, prefix, pl)) {
		if (fn) {
			ret = fn(t, &k, &v, arg);
			if (ret)
				break;
		}
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
		/* after a delete, MDB_NEXT yields the entry that followed */
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (ret)
		return ret;
	return rc == MDB_NOTFOUND ? 0 : db_err(rc);
}

int db_counter_next(MDB_txn *t, struct mds_db *db, const char *name, u64 *val)
{
	u64 v = 0;
	int ret;

	ret = db_get(t, db->meta, name, strlen(name), &v, sizeof(v));
	if (ret < 0 && ret != -ENOENT)
		return ret;
	v++;
	ret = db_put(t, db->meta, name, strlen(name), &v, sizeof(v), 0);
	if (ret)
		return ret;
	*val = v;
	return 0;
}

int mds_chunk_id(struct mds *m, MDB_txn *t, u64 *id)
{
	pthread_mutex_lock(&m->id_lock);
	*id = ++m->chunk_hw;
	pthread_mutex_unlock(&m->id_lock);
	/* the high-water mark, for the next start */
	return db_put(t, m->db.meta, "next_chunk", 10, id, sizeof(*id), 0);
}

/* past whatever an aborted transaction may have used before a restart */
int mds_chunk_id_init(struct mds *m)
{
	MDB_txn *t;
	u64 v = 0;
	int ret;

	pthread_mutex_init(&m->id_lock, NULL);
	ret = db_err(mdb_txn_begin(m->db.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	ret = db_get(t, m->db.meta, "next_chunk", 10, &v, sizeof(v));
	mdb_txn_abort(t);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	m->chunk_hw = v + (1ull << 20);
	return 0;
}

/*
 * MDS_BACKUP: LMDB's own copy, compacted, from a read transaction of its
 * own, so the MDS goes on serving (and committing) meanwhile.
 */
static int op_backup(struct mds *m, struct mds_conn *c, MDB_txn *unused,
		     const struct wire_body *b, struct mds_reply *r)
{
	const struct vdifs_backup_req *q = b->fixed;
	struct vdifs_backup_rep *rep = (void *)r->fixed;
	char dir[VDIFS_SYMLINK_MAX + 1], file[VDIFS_SYMLINK_MAX + 16];
	struct stat st;
	int rc;

	if (q->pad0 || q->pad1)
		return -EINVAL;
	memcpy(dir, b->tail[0], b->tail_len[0]);
	dir[b->tail_len[0]] = '\0';
	if (dir[0] != '/')
		return -EINVAL;
	if (mkdir(dir, 0700))
		return -errno;
	rc = mdb_env_copy2(m->db.env, dir, MDB_CP_COMPACT);
	if (rc) {
		log_err("backup to %s: %s", dir, mdb_strerror(rc));
		return rc > 0 ? -rc : db_err(rc);
	}
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	if (stat(file, &st))
		return -errno;
	log_info("backup of the state in %s (%lld bytes)", dir,
		 (long long)st.st_size);
	memset(rep, 0, sizeof(*rep));
	rep->bytes = cpu_to_le64((u64)st.st_size);
	r->flen = sizeof(*rep);
	return 0;
}

const struct mds_op db_ops[VDIFS_OP_MAX] = {
	[VDIFS_OP_MDS_BACKUP] = { op_backup, MDS_TXN_NONE },
};
