// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-ds chunk store: block-granular out-of-place writes, extent-granular
 * copy-on-write (ds.h describes the records).
 *
 * Every write is out of place: each block it touches gets a free block of
 * the chunk's own file, filled from the request (a block only partly
 * written is merged here with its current data or zeroes), and a clone's
 * first write to an extent it shares copies that extent's other blocks
 * into its own file; so a write never modifies data the map points at.
 *
 * Commit order, which is what makes a crash leave old-or-new:
 *   1. pwritev the new blocks          (unreferenced: invisible)
 *   2. fdatasync the chunk file        (data stable)
 *   3. LMDB commit: map entries -> new blocks, checksums, version (durable)
 *   4. replaced blocks of this chunk return to the free set (in memory)
 * A crash before 3 leaves the old map and old blocks; after 3 the new map
 * points at stable data.  A map entry therefore never names data that is
 * not on disk, and every block has its checksum beside the pointer,
 * checked on every read of it.
 *
 * The free set is not persisted (chunk.c): it is rebuilt when a chunk's
 * state is built, from the map entries that point into its own file, so
 * blocks written but never committed before a crash are free again.
 *
 * Locking: struct ds_chunk.mutex guards a chunk's mutations: a WRITE or
 * PUNCH plans under it and records the extents it replaces (struct
 * ds_wr), then does steps 1-3 without it, beside writes to other extents
 * of the chunk; anything else runs under it with no write in flight.  Its
 * rw lock keeps blocks from being freed under a concurrent reader
 * (readers hold it shared from their map lookup to their last pread,
 * step 4 holds it exclusive).  Chunks that are the base of a clone are frozen: their
 * blocks never change, so readers of a clone read them without their lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include "be.h"
#include "ds.h"

static int st_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return -ENOSPC;
	default:
		if (rc > 0 && rc < 4096)
			return -rc;
		log_err("lmdb: %s", mdb_strerror(rc));
		return -EIO;
	}
}

/* ---- open ---- */

/*
 * The layout of map entries changed with format 2 (blocks with their own
 * checksums in place of whole-extent slots); an older store is refused with a
 * clear message rather than misread.  Format 3 only adds two-file entries
 * (struct ds_ext): a format-2 store is marked 3 as it is opened.  A new
 * store gets the format now.
 */
static int store_check_format(struct ds_store *st, MDB_txn *t)
{
	MDB_val k = { 6, "format" }, val;
	MDB_stat ms;
	u64 v = DS_STORE_FORMAT;
	int rc;

	rc = mdb_get(t, st->meta, &k, &val);
	if (!rc) {
		if (val.mv_size == 8)
			memcpy(&v, val.mv_data, 8);
		if (val.mv_size == 8 && le64_to_cpu(v) == DS_STORE_FORMAT)
			return 0;
		/* format 2 is 3 without two-file entries: marked 3 below */
		if (val.mv_size != 8 || le64_to_cpu(v) != 2) {
			log_err("%s: store format %llu, this vdifs-ds reads formats 2 and %u only",
				st->dir, (unsigned long long)le64_to_cpu(v),
				DS_STORE_FORMAT);
			return -EPROTONOSUPPORT;
		}
		goto out_mark;
	}
	if (rc != MDB_NOTFOUND)
		return st_err(rc);
	rc = mdb_stat(t, st->chunks, &ms);
	if (rc)
		return st_err(rc);
	if (ms.ms_entries) {
		log_err("%s: a store of format 1 (whole-extent slots), written by an older vdifs-ds: this one reads formats 2 and %u only",
			st->dir, DS_STORE_FORMAT);
		return -EPROTONOSUPPORT;
	}
out_mark:
	v = cpu_to_le64(DS_STORE_FORMAT);
	val.mv_size = 8;
	val.mv_data = &v;
	return st_err(mdb_put(t, st->meta, &k, &val, 0));
}

/* does fd's file system never wait for a device to read (tmpfs, ramfs)? */
static bool reads_never_wait(int fd)
{
	struct statfs sf;

	return !fstatfs(fd, &sf) &&
	       (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC);
}

int store_open(struct ds_store *st, const char *dir)
{
	char path[4200];
	MDB_txn *t;
	int rc, ret;

	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/chunks", dir);
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	st->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0)
		return -errno;
	st->reads_never_wait = reads_never_wait(st->dirfd);
	snprintf(path, sizeof(path), "%s/index", dir);
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	rc = mdb_env_create(&st->env);
	if (rc)
		return st_err(rc);
	mdb_env_set_maxdbs(st->env, 8);
	mdb_env_set_mapsize(st->env, 16ull << 30);
	mdb_env_set_maxreaders(st->env, 1024);
	/*
	 * WRITEMAP: a commit msyncs the pages it dirtied in place instead of
	 * pwrite()ing each, which was a fifth of a small write's cost; the
	 * file is sparse up to the map size.  Durability is the same.
	 */
	rc = mdb_env_open(st->env, path, MDB_WRITEMAP, 0600);
	if (rc)
		goto out_env;
	rc = mdb_txn_begin(st->env, NULL, 0, &t);
	if (rc)
		goto out_env;
	rc = mdb_dbi_open(t, "meta", MDB_CREATE, &st->meta);
	if (!rc)
		rc = mdb_dbi_open(t, "chunks", MDB_CREATE, &st->chunks);
	if (!rc)
		rc = mdb_dbi_open(t, "extents", MDB_CREATE, &st->extents);
	if (!rc)
		rc = mdb_dbi_open(t, "rlog", MDB_CREATE, &st->rlog);
	if (rc) {
		mdb_txn_abort(t);
		goto out_env;
	}
	ret = store_check_format(st, t);
	if (ret) {
		mdb_txn_abort(t);
		mdb_env_close(st->env);
		st->env = NULL;
		return ret;
	}
	rc = mdb_txn_commit(t);
	if (rc)
		goto out_env;
	return 0;

out_env:
	log_err("lmdb: %s: %s", path, mdb_strerror(rc));
	mdb_env_close(st->env);
	st->env = NULL;
	return st_err(rc);
}

static int meta_get_u64(struct ds_store *st, const char *key, u64 *v)
{
	MDB_txn *t;
	MDB_val k = { strlen(key), (void *)key }, val;
	int rc;

	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
	if (rc)
		return st_err(rc);
	rc = mdb_get(t, st->meta, &k, &val);
	if (!rc && val.mv_size == 8)
		memcpy(v, val.mv_data, 8);
	mdb_txn_abort(t);
	return st_err(rc);
}

int store_get_ds_id(struct ds_store *st, u32 *id)
{
	u64 v = 0;
	int ret = meta_get_u64(st, "ds_id", &v);

	*id = (u32)v;
	return ret == -ENOENT ? 0 : ret;
}

int store_set_ds_id(struct ds_store *st, u32 id)
{
	MDB_txn *t;
	u64 v = id;
	MDB_val k = { 5, "ds_id" }, val = { 8, &v };
	int rc;

	rc = mdb_txn_begin(st->env, NULL, 0, &t);
	if (rc)
		return st_err(rc);
	rc = mdb_put(t, st->meta, &k, &val, 0);
	if (rc) {
		mdb_txn_abort(t);
		return st_err(rc);
	}
	return st_err(mdb_txn_commit(t));
}

/*
 * Space our chunks take: the blocks of the chunk files (the index is not
 * counted; LMDB keeps its file size).  Walked at each heartbeat.
 */
u64 store_used_bytes(struct ds_store *st)
{
	struct dirent *de;
	u64 used = 0;
	DIR *d;
	int fd;

	fd = dup(st->dirfd);
	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat sb;

		if (de->d_name[0] != '.' &&
		    !fstatat(st->dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW))
			used += (u64)sb.st_blocks * 512;
	}
	closedir(d);
	return used;
}

/* ---- records ---- */

static void key_id(u8 *k, u64 id)
{
	put_be64(k, id);
}

static void key_ext(u8 *k, u64 id, u32 e)
{
	put_be64(k, id);
	put_be32(k + 8, e);
}

static int rec_get(struct ds_store *st, MDB_txn *t, u64 id,
		   struct ds_chunk_rec *r)
{
	u8 k[8];
	MDB_val key = { 8, k }, val;
	int rc;

	key_id(k, id);
	rc = mdb_get(t, st->chunks, &key, &val);
	if (rc)
		return st_err(rc);
	if (val.mv_size != sizeof(*r) && val.mv_size != DS_CHUNK_REC_V3 &&
	    val.mv_size != DS_CHUNK_REC_V2)
		return -EUCLEAN;
	memset(r, 0, sizeof(*r));
	memcpy(r, val.mv_data, val.mv_size);
	return 0;
}

/* the record of chunk id as now committed (a read transaction of its own) */
static int rec_read(struct ds_store *st, u64 id, struct ds_chunk_rec *r)
{
	MDB_txn *t;
	int ret;

	ret = st_err(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	ret = rec_get(st, t, id, r);
	mdb_txn_abort(t);
	return ret;
}

/*
 * Whether a request may use this copy of a chunk: not one that missed a
 * mutation (STALE: it serves nothing until it is repaired or dropped),
 * and not through a replica set older than the newest seen here (the
 * sender's layout is old: a server taken out of the set, or a primary
 * replaced while it stalled, must not act for the set).
 */
static int rec_check_set(const struct ds_chunk_rec *r,
			 const struct vdifs_chunk_req *q)
{
	u64 epoch = le64_to_cpu(q->epoch);

	if (le32_to_cpu(r->flags) & VDIFS_CHUNK_STALE)
		return -ESTALE;
	if (epoch && epoch < le64_to_cpu(r->epoch))
		return -ESTALE;
	return 0;
}

/* a mutation through a newer set makes it the one to check against */
static void rec_note_epoch(struct ds_chunk_rec *r,
			   const struct vdifs_chunk_req *q)
{
	if (le64_to_cpu(q->epoch) > le64_to_cpu(r->epoch))
		r->epoch = q->epoch;
}

static int rec_put(struct ds_store *st, MDB_txn *t, const struct ds_chunk_rec *r)
{
	u8 k[8];
	MDB_val key = { 8, k }, val = { sizeof(*r), (void *)r };

	key_id(k, le64_to_cpu(r->id));
	return st_err(mdb_put(t, st->chunks, &key, &val, 0));
}

/*
 * The map entry of extent e of chunk id, checked against the extent size
 * es of the chunk that names it (a damaged entry is -EUCLEAN, never used).
 */
/*
 * A stored entry into x: -EUCLEAN unless it is whole and consistent (its
 * header's count of blocks, a trailer exactly when a block is the other
 * file's, and nblk blocks when nblk is not 0).
 */
static int ext_decode(const MDB_val *val, u32 nblk, struct ds_ext *x)
{
	size_t body;
	bool other = false;
	u32 n, i;

	if (val->mv_size < sizeof(x->h))
		return -EUCLEAN;
	memcpy(&x->h, val->mv_data, sizeof(x->h));	/* may be unaligned */
	n = le32_to_cpu(x->h.nblk);
	body = sizeof(x->h) + (size_t)n * sizeof(x->b[0]);
	if (!n || n > DS_EXT_BLOCKS || (nblk && n != nblk) ||
	    (val->mv_size != body && val->mv_size != body + 8))
		return -EUCLEAN;
	memcpy(x->b, (const u8 *)val->mv_data + sizeof(x->h),
	       body - sizeof(x->h));
	x->other = 0;
	if (val->mv_size > body) {
		__le64 o;

		memcpy(&o, (const u8 *)val->mv_data + body, 8);
		x->other = le64_to_cpu(o);
	}
	for (i = 0; i < n; i++)
		other |= ds_blk_other(le32_to_cpu(x->b[i].blk));
	return other == (x->other != 0) ? 0 : -EUCLEAN;
}

/*
 * The map entry of extent e of chunk id, checked against the extent size
 * es of the chunk that names it (a damaged entry is -EUCLEAN, never used).
 */
static int ext_get(struct ds_store *st, MDB_txn *t, u64 id, u32 e, u32 es,
		   struct ds_ext *x)
{
	u32 nblk = es / DS_BLOCK;
	u8 k[12];
	MDB_val key = { 12, k }, val;
	int rc;

	if (!nblk || nblk > DS_EXT_BLOCKS)
		return -EUCLEAN;
	key_ext(k, id, e);
	rc = mdb_get(t, st->extents, &key, &val);
	if (rc)
		return st_err(rc);
	return ext_decode(&val, nblk, x);
}

static int ext_put(struct ds_store *st, MDB_txn *t, u64 id, u32 e,
		   const struct ds_ext *x)
{
	size_t body = sizeof(x->h) + le32_to_cpu(x->h.nblk) * sizeof(x->b[0]);
	u8 k[12], buf[DS_EXT_BYTES];
	MDB_val key = { 12, k }, val = { body, (void *)x };

	_Static_assert(offsetof(struct ds_ext, b) == sizeof(x->h),
		       "an entry's header and blocks are stored as they lie");
	if (x->other) {
		__le64 o = cpu_to_le64(x->other);

		memcpy(buf, x, body);
		memcpy(buf + body, &o, 8);
		val.mv_size = body + 8;
		val.mv_data = buf;
	}
	key_ext(k, id, e);
	return st_err(mdb_put(t, st->extents, &key, &val, 0));
}

/* what a mutation to version v stamps the entries it writes with */
static __le32 ext_stamp(u64 v)
{
	return cpu_to_le32((u32)v ? (u32)v : 1);
}

/* was entry x written after version since (or before stamps)? */
static bool ext_newer(const struct ds_ext *x, u64 since)
{
	u32 s = le32_to_cpu(x->h.stamp);

	return !s || (s32)(s - (u32)since) > 0;
}

int store_exists(struct ds *ds, u64 id)
{
	struct ds_chunk_rec r;
	MDB_txn *t;
	int ret;

	if (mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t))
		return -EIO;
	ret = rec_get(&ds->st, t, id, &r);
	mdb_txn_abort(t);
	if (!ret && (le32_to_cpu(r.flags) & DS_DELETED))
		ret = -ENOENT;
	return ret;
}

/* ---- blocks ---- */

/* mark the blocks c's own map entries name as in use, once per cache life */
static int blocks_load(struct ds *ds, struct ds_chunk *c, MDB_txn *t)
{
	u8 k[12];
	MDB_val key = { 12, k }, val;
	MDB_cursor *cur;
	int rc, ret = 0;

	if (c->loaded)
		return 0;
	key_ext(k, c->id, 0);
	rc = mdb_cursor_open(t, ds->st.extents, &cur);
	if (rc)
		return st_err(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct ds_ext x;
		u32 i, n;

		if (key.mv_size != 12 || memcmp(key.mv_data, k, 8))
			break;
		if (ext_decode(&val, 0, &x) ||
		    le64_to_cpu(x.h.owner) != c->id)
			continue;
		n = le32_to_cpu(x.h.nblk);
		for (i = 0; i < n && !ret; i++) {
			u32 blk = le32_to_cpu(x.b[i].blk);

			/* the other file's are its owner's to keep */
			if (blk != DS_BLK_ZERO && !ds_blk_other(blk))
				ret = blk_mark(c, blk);
		}
		if (ret)
			break;
	}
	mdb_cursor_close(cur);
	if (ret)
		return ret;
	if (rc != MDB_NOTFOUND && rc)
		return st_err(rc);
	c->hint = 0;
	c->loaded = true;
	return 0;
}

static void csum_mismatch(u64 reader, u64 owner, u32 blk)
{
	log_err("chunk %016llx: checksum mismatch in block %u of %016llx",
		(unsigned long long)reader, blk, (unsigned long long)owner);
}

/*
 * pread, or with nowait only what the page cache holds: -EWOULDBLOCK when
 * a device would be waited for (where the file system cannot tell, too)
 */
static ssize_t ds_pread(struct ds *ds, int fd, void *buf, size_t len,
			off_t off, bool nowait)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	ssize_t got;

	if (!nowait || ds->st.reads_never_wait)
		return pread(fd, buf, len, off);
	got = preadv2(fd, &iov, 1, off, RWF_NOWAIT);
	if (got < 0 && errno == EOPNOTSUPP)
		__atomic_store_n(&ds->st.nowait_unknown, true,
				 __ATOMIC_RELAXED);
	if ((got < 0 && (errno == EAGAIN || errno == EOPNOTSUPP)) ||
	    (got >= 0 && (size_t)got < len)) {
		errno = EWOULDBLOCK;
		return -1;
	}
	return got;
}

/* which file holds block record blk of entry x, and where in it */
static u64 ext_blk_file(const struct ds_ext *x, u32 blk, u32 *num)
{
	if (ds_blk_other(blk)) {
		*num = blk & DS_BLK_NUM;
		return x->other;
	}
	*num = blk;
	return le64_to_cpu(x->h.owner);
}

/* the two files an entry may name, opened as needed (ext_read()) */
struct ext_files {
	struct ds_chunk *c[2];
	int fd[2];
};

static int ext_file_fd(struct ds *ds, struct ext_files *f,
		       const struct ds_ext *x, u64 file, u64 reader)
{
	int i = file != le64_to_cpu(x->h.owner);

	if (f->fd[i] >= 0)
		return f->fd[i];
	if (!f->c[i]) {
		f->c[i] = chunk_get(ds, file);
		if (!f->c[i])
			return -ENOMEM;
	}
	f->fd[i] = chunk_fd(ds, f->c[i], false);
	if (f->fd[i] < 0)
		log_err("chunk %016llx: data of chunk %016llx missing",
			(unsigned long long)reader, (unsigned long long)file);
	return f->fd[i];
}

/*
 * Read [s, s+n) of one extent (entry x) into out: blocks that read as
 * zeroes are zero-filled, runs of whole blocks that lie one after the
 * other in one file are one pread straight into out, and every block
 * read is checked against its checksum (a partly wanted block is read
 * whole into a bounce block for that).
 */
static int ext_read(struct ds *ds, const struct ds_ext *x, u32 s, u32 n,
		    u8 *out, u64 reader, bool nowait)
{
	struct ext_files f = { .fd = { -1, -1 } };
	u32 b = s / DS_BLOCK, end = s + n;
	u8 bounce[DS_BLOCK];
	int ret = 0, i;

	while (s < end) {
		u32 blk = le32_to_cpu(x->b[b].blk), num;
		u32 bs = b * DS_BLOCK, in = s - bs;
		u32 take = end - s < DS_BLOCK - in ? end - s : DS_BLOCK - in;
		u32 run, k;
		u64 file;
		ssize_t got;
		int fd;

		if (blk == DS_BLK_ZERO) {
			memset(out, 0, take);
			goto next;
		}
		file = ext_blk_file(x, blk, &num);
		fd = ext_file_fd(ds, &f, x, file, reader);
		if (fd < 0) {
			ret = fd;
			break;
		}
		if (take < DS_BLOCK) {
			got = ds_pread(ds, fd, bounce, DS_BLOCK,
				       (off_t)num * DS_BLOCK, nowait);
			if (got < 0) {
				ret = -errno;
				break;
			}
			if (got != DS_BLOCK || wire_csum(bounce, DS_BLOCK) !=
			    le32_to_cpu(x->b[b].csum)) {
				csum_mismatch(reader, file, num);
				ret = -EUCLEAN;
				break;
			}
			memcpy(out, bounce + in, take);
			goto next;
		}
		/* whole blocks, one after the other in one file: one pread */
		for (run = 1; s + (run + 1) * DS_BLOCK <= end &&
		     le32_to_cpu(x->b[b + run].blk) == blk + run; run++)
			;
		got = ds_pread(ds, fd, out, (size_t)run * DS_BLOCK,
			       (off_t)num * DS_BLOCK, nowait);
		if (got < 0) {
			ret = -errno;
			break;
		}
		for (k = 0; k < run; k++) {
			if (got < (ssize_t)((k + 1) * DS_BLOCK) ||
			    wire_csum(out + k * DS_BLOCK, DS_BLOCK) !=
			    le32_to_cpu(x->b[b + k].csum)) {
				csum_mismatch(reader, file, num + k);
				ret = -EUCLEAN;
				goto out;
			}
		}
		take = run * DS_BLOCK;
		b += run - 1;
next:
		out += take;
		s += take;
		b++;
	}
out:
	for (i = 0; i < 2; i++)
		if (f.c[i])
			chunk_put(ds, f.c[i]);
	return ret;
}

/* ---- adaptive extent size ---- */

static u32 ds_adapt_es = 64 << 10;	/* running estimate, power of two */
static pthread_mutex_t ds_adapt_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The extent size for a chunk created "adaptive" follows the writes this
 * server sees: each write moves the estimate one step (a factor of two)
 * towards its own size, so a stream of 4 KiB database writes settles at
 * small extents (little copy-on-write amplification) and a stream of
 * 1 MiB sequential writes at large ones (small maps).
 */
void store_note_write_size(u32 len)
{
	pthread_mutex_lock(&ds_adapt_lock);
	if (len >= 2 * ds_adapt_es && ds_adapt_es < VDIFS_EXTENT_MAX)
		ds_adapt_es <<= 1;
	else if (len < ds_adapt_es / 2 && ds_adapt_es > VDIFS_EXTENT_MIN)
		ds_adapt_es >>= 1;
	pthread_mutex_unlock(&ds_adapt_lock);
}

static u32 adaptive_extent(u32 chunk_size)
{
	u32 es;

	pthread_mutex_lock(&ds_adapt_lock);
	es = ds_adapt_es;
	pthread_mutex_unlock(&ds_adapt_lock);
	return es > chunk_size ? chunk_size : es;
}

/* ---- checks ---- */

static bool is_pow2(u32 v)
{
	return v && !(v & (v - 1));
}

static int check_geometry(u32 cs, u32 es)
{
	if (!is_pow2(cs) || cs < VDIFS_CHUNK_MIN || cs > VDIFS_CHUNK_MAX)
		return -EINVAL;
	if (es != VDIFS_EXTENT_ADAPTIVE &&
	    (!is_pow2(es) || es < VDIFS_EXTENT_MIN || es > VDIFS_EXTENT_MAX ||
	     es > cs))
		return -EINVAL;
	return 0;
}

static int check_range(const struct ds_chunk_rec *r, u32 off, u32 len)
{
	if ((u64)off + len > le32_to_cpu(r->chunk_size))
		return -EINVAL;
	return 0;
}

/* ---- reads sent from the files ---- */

static u32 zero_block_sum;

static void zero_sum_init(void)
{
	static const u8 zero[DS_BLOCK];

	zero_block_sum = wire_csum(zero, sizeof(zero));
}

/* the checksum of a block of zeroes, as reads and CHUNK_SUMS give it */
static u32 zero_sum(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, zero_sum_init);
	return zero_block_sum;
}

void store_rplan_free(struct ds_rplan *p)
{
	u32 i;

	for (i = 0; i < p->nfds; i++)
		close(p->fds[i]);
	free(p->seg);		/* the one allocation of rplan_alloc() */
	memset(p, 0, sizeof(*p));
}

/*
 * A plan's arrays in one allocation (a read of 64 KiB and more makes one
 * per request), laid out by alignment: segments and owners (8), then the
 * sums (a multiple of 8 bytes) and the descriptors (4).
 */
static int rplan_alloc(struct ds_rplan *p, u32 nsums)
{
	size_t segs = (size_t)nsums * sizeof(*p->seg);
	size_t owners = (size_t)nsums * sizeof(*p->owners);
	size_t sums = wire_sums_bytes(nsums);
	size_t fds = (size_t)nsums * sizeof(*p->fds);
	u8 *m;

	_Static_assert(sizeof(struct msg_seg) % 8 == 0, "8-aligned after");
	memset(p, 0, sizeof(*p));
	m = calloc(1, segs + owners + sums + fds);
	if (!m)
		return -ENOMEM;
	p->seg = (struct msg_seg *)m;
	p->owners = (u64 *)(m + segs);
	p->sums = (__le32 *)(m + segs + owners);
	p->fds = (int *)(m + segs + owners + sums);
	return 0;
}

/*
 * A descriptor of owner's file of a plan's own (fds[i] for owners[i], *n
 * of them, room for max), opened once per plan: the plan is carried out
 * after the chunk's locks are let go, and owner's file stays while the
 * chunk that names it holds its reference.
 */
static int plan_owner_fd(struct ds *ds, u64 *owners, int *fds, u32 *n,
			 u32 max, u64 owner)
{
	struct ds_chunk *oc;
	u32 i;
	int fd;

	for (i = 0; i < *n; i++)
		if (owners[i] == owner)
			return fds[i];
	if (*n == max)
		return -EIO;	/* the caller sized it: a bug */
	oc = chunk_get(ds, owner);
	if (!oc)
		return -ENOMEM;
	fd = chunk_dup_fd(ds, oc);
	chunk_put(ds, oc);
	if (fd < 0)
		return fd;
	owners[*n] = owner;
	fds[(*n)++] = fd;
	return fd;
}

/* the plan's own descriptor of owner's file */
static int rplan_fd(struct ds *ds, struct ds_rplan *p, u64 owner)
{
	/* one owner more than blocks so far at most: the block being added */
	return plan_owner_fd(ds, p->owners, p->fds, &p->nfds, p->nsums + 1,
			     owner);
}

/* one more block to send: from fd at off (fd -1: zeroes), with its sum */
static void rplan_add(struct ds_rplan *p, int fd, u64 off, u32 sum)
{
	struct msg_seg *last = p->nseg ? &p->seg[p->nseg - 1] : NULL;

	p->sums[p->nsums++] = cpu_to_le32(sum);
	if (last && last->fd == fd && (fd < 0 || last->off + last->len == off)) {
		last->len += DS_BLOCK;
		return;
	}
	p->seg[p->nseg].fd = fd;
	p->seg[p->nseg].off = off;
	p->seg[p->nseg++].len = DS_BLOCK;
}

/* whole blocks [s, s+n) of one extent (entry x) into the plan */
static int ext_plan(struct ds *ds, struct ds_rplan *p, const struct ds_ext *x,
		    u32 s, u32 n)
{
	u32 b;

	for (b = s / DS_BLOCK; b < (s + n) / DS_BLOCK; b++) {
		u32 blk = le32_to_cpu(x->b[b].blk);
		u64 file;
		int fd;

		if (blk == DS_BLK_ZERO) {
			rplan_add(p, -1, 0, zero_sum());
			continue;
		}
		file = ext_blk_file(x, blk, &blk);
		fd = rplan_fd(ds, p, file);
		if (fd < 0)
			return fd;
		rplan_add(p, fd, (u64)blk * DS_BLOCK,
			  le32_to_cpu(x->b[b].csum));
	}
	return 0;
}

/* ---- read, map, stat ---- */

/*
 * A read, into x->out (checked against the blocks' checksums here) or,
 * with a plan, into a list of what to send from where (checked by the
 * reader).
 */
static int read_walk(struct ds_op_ctx *x, struct ds_rplan *p)
{
	struct ds *ds = x->ds;
	u64 id = le64_to_cpu(x->q->chunk_id);
	u32 off = le32_to_cpu(x->q->offset), len = x->len, es, done = 0;
	struct ds_chunk_rec r;
	struct ds_chunk *c;
	struct ds_ext *xe;
	MDB_txn *t;
	int ret;

	xe = malloc(sizeof(*xe));
	c = xe ? chunk_get(ds, id) : NULL;
	if (!c) {
		free(xe);
		return -ENOMEM;
	}
	pthread_rwlock_rdlock(&c->rw);
	ret = st_err(mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t));
	if (ret)
		goto out_unlock;
	ret = rec_get(&ds->st, t, id, &r);
	/* a base only clones hold is read to copy it (resync.c) */
	if (!ret && (le32_to_cpu(r.flags) & DS_DELETED) &&
	    ((le32_to_cpu(r.flags) & DS_GONE) ||
	     !(le32_to_cpu(x->q->flags) & VDIFS_CHUNK_RESYNC)))
		ret = -ENOENT;
	if (!ret)
		ret = rec_check_set(&r, x->q);
	if (!ret)
		ret = check_range(&r, off, len);
	if (ret)
		goto out_txn;
	es = le32_to_cpu(r.extent_size);
	x->version = le64_to_cpu(r.version);
	while (done < len) {
		u32 e = (off + done) / es, eoff = (off + done) % es;
		u32 n = es - eoff < len - done ? es - eoff : len - done;
		u32 i;

		ret = ext_get(&ds->st, t, id, e, es, xe);
		if (ret == -ENOENT) {
			ret = 0;
			if (!p)
				memset(x->out + done, 0, n);
			for (i = 0; p && i < n / DS_BLOCK; i++)
				rplan_add(p, -1, 0, zero_sum());
		} else if (!ret) {
			ret = p ? ext_plan(ds, p, xe, eoff, n) :
				  ext_read(ds, xe, eoff, n, x->out + done, id,
					   x->nowait);
		}
		if (ret)
			break;
		done += n;
	}
out_txn:
	mdb_txn_abort(t);
out_unlock:
	pthread_rwlock_unlock(&c->rw);
	chunk_put(ds, c);
	free(xe);
	return ret;
}

int store_read(struct ds_op_ctx *x)
{
	return read_walk(x, NULL);
}

/*
 * Whole blocks only (the caller checks): what the reader cannot check
 * block by block is read into memory and checked here, as usual.
 */
int store_read_plan(struct ds_op_ctx *x, struct ds_rplan *p)
{
	int ret;

	_Static_assert(DS_BLOCK == VDIFS_SUM_BLOCK, "a block is summed whole");
	ret = rplan_alloc(p, x->len / DS_BLOCK);
	if (ret)
		return ret;
	ret = read_walk(x, p);
	if (ret)
		store_rplan_free(p);
	return ret;
}

int store_map(struct ds_op_ctx *x)
{
	struct ds *ds = x->ds;
	u64 id = le64_to_cpu(x->q->chunk_id);
	struct ds_chunk_rec r;
	u8 k[12];
	MDB_val key = { 12, k }, val;
	MDB_cursor *cur;
	MDB_txn *t;
	u32 next;
	int rc, ret;

	ret = st_err(mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	ret = rec_get(&ds->st, t, id, &r);
	if (!ret && (le32_to_cpu(r.flags) & DS_DELETED))
		ret = -ENOENT;
	if (!ret)
		ret = rec_check_set(&r, x->q);
	if (ret)
		goto out_txn;
	x->extent_size = le32_to_cpu(r.extent_size);
	x->version = le64_to_cpu(r.version);
	next = le32_to_cpu(r.chunk_size) / x->extent_size;
	x->map_len = (next + 7) / 8;
	x->map = calloc(1, x->map_len);
	if (!x->map) {
		ret = -ENOMEM;
		goto out_txn;
	}
	key_ext(k, id, 0);
	ret = st_err(mdb_cursor_open(t, ds->st.extents, &cur));
	if (ret)
		goto out_txn;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		u32 e;

		if (key.mv_size != 12 || memcmp(key.mv_data, k, 8))
			break;
		e = get_be32((u8 *)key.mv_data + 8);
		if (e < next)
			x->map[e / 8] |= 1 << (e % 8);
	}
	mdb_cursor_close(cur);
out_txn:
	mdb_txn_abort(t);
	return ret;
}

/*
 * Extents only this chunk can reach: its own, and those it inherits from
 * deleted ancestors that nothing outside its own lineage holds (what a
 * snapshot or a clone's source leaves behind once the others are gone).
 * Each clone holds one reference on its base only, so walking up from
 * the base, an ancestor is exclusive while it is deleted (its file let
 * go) and its one reference is the child we came from.
 */
static u32 excl_extents(struct ds *ds, u64 id)
{
	u64 *excl = NULL, a;
	size_t nex = 0, cap = 0;
	struct ds_chunk_rec r;
	u8 k[12];
	MDB_val key = { 12, k }, val;
	MDB_cursor *cur;
	MDB_txn *t;
	u32 count = 0;
	int rc;

	if (mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t))
		return 0;
	if (rec_get(&ds->st, t, id, &r))
		goto out;
	for (a = le64_to_cpu(r.base_id); a; a = le64_to_cpu(r.base_id)) {
		if (rec_get(&ds->st, t, a, &r) ||
		    !(le32_to_cpu(r.flags) & DS_DELETED) ||
		    le32_to_cpu(r.refs) != 1)
			break;
		if (nex == cap) {
			u64 *p = realloc(excl, (cap ? cap * 2 : 16) * 8);

			if (!p)
				break;
			excl = p;
			cap = cap ? cap * 2 : 16;
		}
		excl[nex++] = a;
	}
	if (nex)
		qsort(excl, nex, 8, ds_cmp_u64);
	key_ext(k, id, 0);
	if (!mdb_cursor_open(t, ds->st.extents, &cur)) {
		for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !rc;
		     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
			struct ds_ext_hdr x;
			u64 owner;

			if (key.mv_size != 12 || memcmp(key.mv_data, k, 8))
				break;
			if (val.mv_size < sizeof(x))
				continue;
			memcpy(&x, val.mv_data, sizeof(x));
			owner = le64_to_cpu(x.owner);
			if (owner == id ||
			    (nex && bsearch(&owner, excl, nex, 8, ds_cmp_u64)))
				count++;
		}
		mdb_cursor_close(cur);
	}
out:
	mdb_txn_abort(t);
	free(excl);
	return count;
}

int store_stat(struct ds_op_ctx *x)
{
	struct ds *ds = x->ds;
	u64 id = le64_to_cpu(x->q->chunk_id);
	struct vdifs_chunk_stat *s = &x->stat;
	struct ds_chunk_rec r;
	MDB_txn *t;
	int ret;

	ret = st_err(mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	ret = rec_get(&ds->st, t, id, &r);
	mdb_txn_abort(t);
	if (!ret && (le32_to_cpu(r.flags) & DS_DELETED)) {
		/* a resync wants to know of what only clones hold */
		if ((le32_to_cpu(r.flags) & DS_GONE) ||
		    !(le32_to_cpu(x->q->flags) & VDIFS_CHUNK_RESYNC))
			ret = -ENOENT;
	}
	if (ret)
		return ret;
	memset(s, 0, sizeof(*s));
	s->chunk_id = r.id;
	s->version = r.version;
	s->base_id = r.base_id;
	s->refs = r.refs;
	s->depth = r.depth;
	s->chunk_size = r.chunk_size;
	s->extent_size = r.extent_size;
	s->own_extents = r.own_extents;
	s->map_extents = r.map_extents;
	s->flags = cpu_to_le32((le32_to_cpu(r.flags) &
				(VDIFS_CHUNK_STALE | VDIFS_CHUNK_FROZEN)) |
			       (le32_to_cpu(r.flags) & DS_DELETED ?
				VDIFS_CHUNK_HELD : 0));
	s->excl_extents = cpu_to_le32(excl_extents(ds, id));
	s->epoch = r.epoch;
	return 0;
}

/* ---- scrub ---- */

/*
 * Read every block of the copy's own extents and check it (CHUNK_SCRUB):
 * the extents inherited from a base are its base's to check.  Under the
 * chunk's read lock, like a read.
 */
int store_scrub(struct ds *ds, u64 id, u64 *version, u32 *extents,
		u32 *bad)
{
	struct ds_chunk_rec r;
	struct ds_chunk *c;
	struct ds_ext *xe;
	u8 *buf = NULL;
	MDB_txn *t;
	u32 es, e, n;
	int ret;

	*extents = *bad = 0;
	xe = malloc(sizeof(*xe));
	c = xe ? chunk_get(ds, id) : NULL;
	if (!c) {
		free(xe);
		return -ENOMEM;
	}
	pthread_rwlock_rdlock(&c->rw);
	ret = st_err(mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t));
	if (ret)
		goto out_unlock;
	ret = rec_get(&ds->st, t, id, &r);
	if (!ret && (le32_to_cpu(r.flags) & DS_GONE))
		ret = -ENOENT;
	if (ret)
		goto out_txn;
	*version = le64_to_cpu(r.version);
	es = le32_to_cpu(r.extent_size);
	n = le32_to_cpu(r.chunk_size) / es;
	buf = malloc(es);
	if (!buf) {
		ret = -ENOMEM;
		goto out_txn;
	}
	for (e = 0; e < n; e++) {
		int rr = ext_get(&ds->st, t, id, e, es, xe);

		if (rr == -ENOENT)
			continue;
		if (!rr && le64_to_cpu(xe->h.owner) != id)
			continue;	/* inherited */
		(*extents)++;
		if (!rr)
			rr = ext_read(ds, xe, 0, es, buf, id, false);
		if (rr == -EUCLEAN || (rr && rr != -ENOMEM))
			(*bad)++;
		else if (rr)
			ret = rr;
	}
out_txn:
	mdb_txn_abort(t);
out_unlock:
	pthread_rwlock_unlock(&c->rw);
	chunk_put(ds, c);
	free(buf);
	free(xe);
	return ret;
}

/* ---- what a copy elsewhere needs (resync.c) ---- */

int store_rec(struct ds *ds, u64 id, struct ds_chunk_rec *r)
{
	MDB_txn *t;
	int ret;

	ret = st_err(mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	ret = rec_get(&ds->st, t, id, r);
	mdb_txn_abort(t);
	return ret;
}

/*
 * The extents of chunk r that a copy made from its base must be given:
 * own[e] those whose blocks are its own (sent as data), drop[e] those its
 * base has and it has not (sent as punches).  Bitmaps of *next bits.
 */
int store_ext_shared(struct ds *ds, const struct ds_chunk_rec *r, u32 e,
		     bool *shared)
{
	u32 es = le32_to_cpu(r->extent_size), i, n = 0;
	struct ds_ext *x;
	MDB_txn *t;
	int ret;

	x = malloc(sizeof(*x));
	if (!x)
		return -ENOMEM;
	ret = st_err(mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t));
	if (!ret) {
		ret = ext_get(&ds->st, t, le64_to_cpu(r->id), e, es, x);
		mdb_txn_abort(t);
	}
	if (!ret && le64_to_cpu(x->h.owner) != le64_to_cpu(r->id))
		ret = -EINVAL;		/* not its own: all of it is shared */
	for (i = 0; !ret && i < es / DS_BLOCK; i++) {
		shared[i] = x->other &&
			    ds_blk_other(le32_to_cpu(x->b[i].blk));
		n += shared[i];
	}
	free(x);
	return ret ? ret : (int)n;
}

int store_delta(struct ds *ds, const struct ds_chunk_rec *r, u8 **own,
		u8 **drop, u32 *next)
{
	u64 id = le64_to_cpu(r->id), base = le64_to_cpu(r->base_id);
	u32 n = le32_to_cpu(r->chunk_size) / le32_to_cpu(r->extent_size);
	u8 *has = NULL, k[12];
	MDB_val key = { 12, k }, val;
	MDB_cursor *cur = NULL;
	MDB_txn *t;
	int rc, ret, pass;

	*own = calloc(1, n / 8 + 1);
	*drop = calloc(1, n / 8 + 1);
	has = calloc(1, n / 8 + 1);
	if (!*own || !*drop || !has) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = st_err(mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t));
	if (ret)
		goto out_free;
	/* pass 0: the chunk's own map; pass 1: its base's */
	for (pass = 0; pass < (base ? 2 : 1) && !ret; pass++) {
		u64 of = pass ? base : id;

		ret = st_err(mdb_cursor_open(t, ds->st.extents, &cur));
		if (ret)
			break;
		key_ext(k, of, 0);
		key.mv_size = 12;
		key.mv_data = k;
		for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !rc;
		     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
			struct ds_ext_hdr h;
			u32 e;

			if (key.mv_size != 12 || memcmp(key.mv_data, k, 8))
				break;
			e = get_be32((u8 *)key.mv_data + 8);
			if (e >= n || val.mv_size < sizeof(h))
				continue;
			/* LMDB values are not aligned */
			memcpy(&h, val.mv_data, sizeof(h));
			if (!pass) {
				has[e / 8] |= 1 << (e % 8);
				if (le64_to_cpu(h.owner) == id)
					(*own)[e / 8] |= 1 << (e % 8);
			} else if (!(has[e / 8] & (1 << (e % 8)))) {
				(*drop)[e / 8] |= 1 << (e % 8);
			}
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(t);
	*next = n;
out_free:
	free(has);
	if (ret) {
		free(*own);
		free(*drop);
		*own = *drop = NULL;
	}
	return ret;
}

/* the checksums of entry x's nb blocks into out */
static void ext_sums(const struct ds_ext *x, u32 nb, __le32 *out)
{
	u32 i;

	for (i = 0; i < nb; i++)
		out[i] = le32_to_cpu(x->b[i].blk) == DS_BLK_ZERO ?
			 cpu_to_le32(zero_sum()) : x->b[i].csum;
}

/* [off, off + len) of chunk r as whole extents, in a CHUNK_SUMS span */
static int sums_range(const struct ds_chunk_rec *r, u32 off, u32 len,
		      u32 *first, u32 *n)
{
	u32 cs = le32_to_cpu(r->chunk_size), es = le32_to_cpu(r->extent_size);

	if (!len || len > VDIFS_SUMS_SPAN || off >= cs || len > cs - off ||
	    off % es || (len % es && off + len != cs))
		return -EINVAL;
	*first = off / es;
	*n = (len + es - 1) / es;
	return 0;
}

int store_sums(struct ds_op_ctx *x)
{
	struct ds *ds = x->ds;
	u64 id = le64_to_cpu(x->q->chunk_id);
	struct ds_chunk_rec r;
	u32 first, n, nb, i, k = 0;
	MDB_txn *t;
	int ret;

	ret = st_err(mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	ret = rec_get(&ds->st, t, id, &r);
	if (!ret && (le32_to_cpu(r.flags) & DS_DELETED))
		ret = -ENOENT;
	if (!ret)
		ret = sums_range(&r, le32_to_cpu(x->q->offset),
				 le32_to_cpu(x->q->len), &first, &n);
	if (ret)
		goto out_txn;
	x->version = le64_to_cpu(r.version);
	x->extent_size = le32_to_cpu(r.extent_size);
	nb = x->extent_size / DS_BLOCK;
	x->map_len = (n + 7) / 8;
	x->map = calloc(1, x->map_len);
	x->sums_out = calloc((size_t)n * nb, sizeof(__le32));
	if (!x->map || !x->sums_out) {
		ret = -ENOMEM;
		goto out_txn;
	}
	for (i = 0; i < n && !ret; i++) {
		struct ds_ext ex;

		ret = ext_get(&ds->st, t, id, first + i, x->extent_size, &ex);
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		if (ret)
			break;
		x->map[i / 8] |= 1 << (i % 8);
		ext_sums(&ex, nb, x->sums_out + (size_t)k++ * nb);
	}
	x->sums_len = k * nb * 4;
out_txn:
	mdb_txn_abort(t);
	if (ret) {
		free(x->map);
		free(x->sums_out);
		x->map = NULL;
		x->sums_out = NULL;
	}
	return ret;
}

int store_changed(struct ds *ds, const struct ds_chunk_rec *r, u64 since,
		  bool all, u32 first, u32 n, const u8 *map,
		  const __le32 *sums, u32 nsums, u8 *send, u8 *punch)
{
	u64 id = le64_to_cpu(r->id);
	u32 es = le32_to_cpu(r->extent_size), nb = es / DS_BLOCK, i, k = 0;
	__le32 ours[DS_EXT_BLOCKS];
	MDB_txn *t;
	int ret;

	ret = st_err(mdb_txn_begin(ds->st.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		bool there = map[i / 8] & (1 << (i % 8));
		const __le32 *theirs = there ? sums + (size_t)k * nb : NULL;
		struct ds_ext ex;

		if (there && ++k * nb > nsums) {
			ret = -EPROTO;
			break;
		}
		ret = ext_get(&ds->st, t, id, first + i, es, &ex);
		if (ret == -ENOENT) {
			ret = 0;
			if (there)
				punch[i / 8] |= 1 << (i % 8);
			continue;
		}
		if (ret)
			break;
		/*
		 * Written since: sent, whatever the sums say (a changed
		 * block may keep its 32-bit sum).  Older: the copy has it
		 * unless its copy went another way at its last versions
		 * (a primary that failed after forwarding), which the sums
		 * show.
		 */
		ext_sums(&ex, nb, ours);
		if (all || !there || ext_newer(&ex, since) ||
		    memcmp(ours, theirs, nb * sizeof(ours[0])))
			send[i / 8] |= 1 << (i % 8);
	}
	mdb_txn_abort(t);
	return ret;
}

int store_note_epoch(struct ds *ds, u64 id, u64 epoch)
{
	struct ds_chunk *c;
	int ret;

	if (!epoch)
		return -EINVAL;
	c = chunk_get(ds, id);
	if (!c)
		return -ENOMEM;
	/*
	 * A forward waiting for a version (wait_version) sleeps without the
	 * mutex and checks the epoch again when it wakes: refused then.
	 */
	pthread_mutex_lock(&c->mutex);
	/* replicas get what we wrote in the old set before they get this */
	chunk_quiesce(c);
	ret = store_set_epoch(ds, id, epoch);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mutex);
	chunk_put(ds, c);
	return ret;
}

int store_set_epoch(struct ds *ds, u64 id, u64 epoch)
{
	struct ds_chunk_rec r;
	MDB_txn *t;
	int ret;

	ret = st_err(mdb_txn_begin(ds->st.env, NULL, 0, &t));
	if (ret)
		return ret;
	ret = rec_get(&ds->st, t, id, &r);
	if (!ret && epoch > le64_to_cpu(r.epoch)) {
		r.epoch = cpu_to_le64(epoch);
		ret = rec_put(&ds->st, t, &r);
	}
	if (ret) {
		mdb_txn_abort(t);
		return ret;
	}
	return st_err(mdb_txn_commit(t));
}

/* ---- mutations ---- */

/* chunks freed by one mutation, unlinked after its commit */
struct ds_freed {
	u64 *ids;
	size_t n, cap;
};

/*
 * Free a chunk with no references left (r, as read in this transaction),
 * then its base if that was the base's last reference, and so on up: a
 * clone holds its base only, and the base holds its own.
 */
static int chunk_free(struct ds *ds, MDB_txn *t, const struct ds_chunk_rec *r,
		      struct ds_freed *f)
{
	u64 cur = le64_to_cpu(r->id), base = le64_to_cpu(r->base_id);
	int ret = 0;

	for (;;) {
		struct ds_chunk_rec br, tomb = { 0 };
		u8 k[12];
		MDB_val key = { 12, k }, val;
		MDB_cursor *cc;
		int rc;

		/* its map */
		key_ext(k, cur, 0);
		rc = mdb_cursor_open(t, ds->st.extents, &cc);
		if (rc)
			return st_err(rc);
		for (rc = mdb_cursor_get(cc, &key, &val, MDB_SET_RANGE);
		     !rc && key.mv_size == 12 && !memcmp(key.mv_data, k, 8);
		     rc = mdb_cursor_get(cc, &key, &val, MDB_NEXT)) {
			rc = mdb_cursor_del(cc, 0);
			if (rc)
				break;
		}
		mdb_cursor_close(cc);
		if (rc && rc != MDB_NOTFOUND)
			return st_err(rc);
		/* leave a tombstone: see DS_GONE */
		tomb.id = cpu_to_le64(cur);
		tomb.flags = cpu_to_le32(DS_DELETED | DS_GONE);
		ret = rec_put(&ds->st, t, &tomb);
		if (ret)
			return ret;
		if (f->n == f->cap) {
			size_t cap = f->cap ? f->cap * 2 : 16;
			u64 *p = realloc(f->ids, cap * 8);

			if (!p)
				return -ENOMEM;
			f->ids = p;
			f->cap = cap;
		}
		f->ids[f->n++] = cur;

		/* the base loses this chunk's reference */
		if (!base)
			return 0;
		ret = rec_get(&ds->st, t, base, &br);
		if (ret == -ENOENT || (!ret &&
				       (le32_to_cpu(br.flags) & DS_GONE)))
			return 0;
		if (ret)
			return ret;
		br.refs = cpu_to_le32(le32_to_cpu(br.refs) - 1);
		if (le32_to_cpu(br.refs))
			return rec_put(&ds->st, t, &br);
		cur = base;
		base = le64_to_cpu(br.base_id);
	}
}

static int clone_chunk(struct ds_op_ctx *x, MDB_txn *t, struct ds_chunk_rec *nr)
{
	struct ds *ds = x->ds;
	u64 id = le64_to_cpu(x->q->chunk_id), base = le64_to_cpu(x->q->base_id);
	struct ds_chunk_rec br;
	u8 k[12], nk[12];
	MDB_val key, val;
	MDB_cursor *cur;
	int rc, ret;

	if (!base || base == id)
		return -EINVAL;
	ret = rec_get(&ds->st, t, base, &br);
	if (ret == -ENOENT &&
	    (le32_to_cpu(x->q->flags) & VDIFS_CHUNK_NEWBASE)) {
		/*
		 * A base allocated but not yet written here: it starts
		 * empty and frozen like any base, so that a late write to
		 * it through an old layout is refused (EROFS) and redone in
		 * the clone, instead of landing where nobody reads it.
		 */
		u32 cs = le32_to_cpu(x->q->chunk_size);
		u32 es = le32_to_cpu(x->q->extent_size);

		ret = check_geometry(cs, es);
		if (ret)
			return ret;
		memset(&br, 0, sizeof(br));
		br.id = cpu_to_le64(base);
		br.chunk_size = cpu_to_le32(cs);
		br.extent_size = cpu_to_le32(es ? es : adaptive_extent(cs));
		br.refs = cpu_to_le32(1);
		br.depth = cpu_to_le32(1);
		ret = rec_put(&ds->st, t, &br);
		if (ret)
			return ret;
	} else if (!ret && (le32_to_cpu(br.flags) & DS_DELETED) &&
		   ((le32_to_cpu(br.flags) & DS_GONE) ||
		    !(le32_to_cpu(x->q->flags) & VDIFS_CHUNK_RESYNC))) {
		/* a base only clones hold serves a copy being made whole */
		ret = -ENOENT;
	} else if (!ret && (le32_to_cpu(br.flags) & VDIFS_CHUNK_STALE)) {
		/* a copy that missed a write must not pass for a healthy one */
		ret = -ESTALE;
	}
	if (ret)
		return ret;
	/* the new map: a copy of the base's (flat, so reads stay O(1)) */
	key_ext(k, base, 0);
	key.mv_size = 12;
	key.mv_data = k;
	ret = st_err(mdb_cursor_open(t, ds->st.extents, &cur));
	if (ret)
		return ret;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		MDB_val nkey = { 12, nk };
		u8 ex[DS_EXT_BYTES];	/* as stored, trailer and all */
		struct ds_ext_hdr h;

		if (key.mv_size != 12 || memcmp(key.mv_data, k, 8))
			break;
		if (val.mv_size < sizeof(h) || val.mv_size > sizeof(ex)) {
			rc = MDB_CORRUPTED;
			break;
		}
		/* the clone's own from its first version on */
		memcpy(ex, val.mv_data, val.mv_size);
		memcpy(&h, ex, sizeof(h));
		h.stamp = ext_stamp(1);
		memcpy(ex, &h, sizeof(h));
		val.mv_data = ex;
		key_ext(nk, id, get_be32((u8 *)key.mv_data + 8));
		rc = mdb_put(t, ds->st.extents, &nkey, &val, 0);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return st_err(rc);

	/*
	 * The clone holds its base, which holds its own base: whatever block
	 * the copied map names stays alive, and a clone costs the same at
	 * any depth.  The base is frozen from now on.
	 */
	br.refs = cpu_to_le32(le32_to_cpu(br.refs) + 1);
	br.flags = cpu_to_le32(le32_to_cpu(br.flags) | VDIFS_CHUNK_FROZEN);
	ret = rec_put(&ds->st, t, &br);
	if (ret)
		return ret;
	memset(nr, 0, sizeof(*nr));
	nr->id = cpu_to_le64(id);
	nr->version = cpu_to_le64(1);
	nr->base_id = cpu_to_le64(base);
	nr->chunk_size = br.chunk_size;
	nr->extent_size = br.extent_size;
	nr->refs = cpu_to_le32(1);
	nr->depth = cpu_to_le32(le32_to_cpu(br.depth) + 1);
	nr->map_extents = br.map_extents;
	return 0;
}

/* ---- writes in flight on a chunk: all under c->mutex ---- */

/*
 * Must w wait: a quiescer waits, another write replaces its extents, or
 * writes of the other kind (ordered or not) are in flight?
 */
static bool wr_blocked(const struct ds_chunk *c, const struct ds_wr *w)
{
	const struct ds_wr *o;

	if (c->quiescing)
		return true;
	for (o = c->wr_head; o; o = o->next)
		if ((w->first <= o->last && o->first <= w->last) ||
		    o->ordered != w->ordered)
			return true;
	return false;
}

/* the version the chunk's next ordered write takes */
static u64 wr_next_version(const struct ds_chunk *c,
			   const struct ds_chunk_rec *r, bool exists)
{
	if (c->wr_head && c->wr_head->ordered)
		return c->wr_ver + 1;
	return exists ? le64_to_cpu(r->version) + 1 : 1;
}

static void wr_begin(struct ds_chunk *c, struct ds_wr *w, u64 version)
{
	struct ds_wr **pp = &c->wr_head;

	while (*pp)
		pp = &(*pp)->next;
	w->version = version;
	w->queued = false;
	w->next = NULL;
	*pp = w;
	c->wr_inflight++;
	if (w->ordered) {
		c->wr_ver = version;
		/* a forward of the next version may be waiting for this one */
		pthread_cond_broadcast(&c->cond);
	}
}

/* every ordered write begun before w handed to the group commit (or failed)? */
static bool wr_turn(const struct ds_chunk *c, const struct ds_wr *w)
{
	const struct ds_wr *o;

	if (!w->ordered)
		return true;
	for (o = c->wr_head; o != w; o = o->next)
		if (!o->queued)
			return false;
	return true;
}

static void wr_end(struct ds_chunk *c, struct ds_wr *w)
{
	struct ds_wr **pp = &c->wr_head;

	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	c->wr_inflight--;
	pthread_cond_broadcast(&c->cond);
}

/*
 * A forwarded mutation carries the version it produces: wait (bounded)
 * for the one before it if it overtook it (to be committed, or to be in
 * flight here, a WRITE or PUNCH that took its version and will commit
 * before this one), skip it if already applied.  Returns 1 when already
 * applied, 2 when refused without waiting (the sender's set is older
 * than ours, or our copy is stale already: neither says our copy missed
 * anything now).  Called with c->mutex held.
 */
static int wait_version(struct ds *ds, struct ds_chunk *c, u64 id,
			const struct vdifs_chunk_req *q,
			struct ds_chunk_rec *r, bool *exists, bool nowait)
{
	long long deadline = net_now_ms() + 5000;
	u64 want = le64_to_cpu(q->version);

	for (;;) {
		int ret = rec_read(&ds->st, id, r);

		*exists = !ret;
		if (ret && ret != -ENOENT)
			return ret;
		/* a chunk's creation is never overtaken (store_mutate()) */
		if (ret == -ENOENT)
			return want == 1 ? 0 : -ESTALE;
		if (rec_check_set(r, q))
			return 2;
		if (le64_to_cpu(r->version) >= want)
			return 1;
		if (wr_next_version(c, r, true) == want)
			return 0;
		if (nowait)
			return -EWOULDBLOCK;
		if (net_now_ms() >= deadline)
			return -ESTALE;
		{
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&c->cond, &c->mutex, &ts);
		}
	}
}

static void mark_stale(struct ds *ds, u64 id)
{
	struct ds_chunk_rec r;
	MDB_txn *t;

	if (mdb_txn_begin(ds->st.env, NULL, 0, &t))
		return;
	if (!rec_get(&ds->st, t, id, &r)) {
		r.flags = cpu_to_le32(le32_to_cpu(r.flags) | VDIFS_CHUNK_STALE);
		rec_put(&ds->st, t, &r);
		mdb_txn_commit(t);
		log_err("chunk %016llx: missed a replicated write, marked stale",
			(unsigned long long)id);
		return;
	}
	mdb_txn_abort(t);
}

/* ---- writes and punches, block by block ---- */

/*
 * One WRITE or PUNCH of [off, off+len): the new map entries of the
 * extents it touches, the blocks it took for them (returned on failure)
 * and the blocks of ours they replace (returned once the new map is
 * committed).
 */
struct ds_change {
	u32 e;
	bool had;		/* an entry existed */
	bool was_own;		/* ... pointing into our own file */
	bool drop;		/* no entry after: the extent reads as zeroes */
	struct ds_ext x;	/* the new entry */
};

struct ds_blkio {
	u32 blk;		/* where in our file */
	const u8 *data;		/* DS_BLOCK bytes */
};

/* a block of a base's file copied into ours as it is (with its sum) */
struct ds_blkcopy {
	u32 blk;		/* where in our file */
	u32 src;		/* where in the base's */
	int fd;			/* the base's file: one of the plan's cfd */
};

#define DS_WPLAN_BASES	2	/* only a write's first and last extent copy */

struct ds_wplan {
	/* the request's data and its blocks' checksums (or NULL) */
	const u8 *data0;
	const __le32 *sums;
	struct ds_change *ch;
	unsigned int nch;
	u32 *taken, ntaken;	/* allocated for this mutation */
	u32 *old, nold;		/* ours, replaced: free after the commit */
	struct ds_blkio *io;
	u32 nio;
	struct ds_blkcopy *cp;
	u32 ncp;
	/* descriptors of the bases' files the copies read, the plan's own */
	u64 cowner[DS_WPLAN_BASES];
	int cfd[DS_WPLAN_BASES];
	u32 ncfd;
	u8 *bounce;		/* blocks built here (merges) */
	u32 nbounce, bounce_cap;
	int fd;			/* the chunk's file, written by the plan */
	bool defer_sync;	/* synced by store_defer_end(), with others */
};

static void wplan_free(struct ds_wplan *p)
{
	u32 i;

	for (i = 0; i < p->ncfd; i++)
		close(p->cfd[i]);
	free(p->ch);
	free(p->taken);
	free(p->old);
	free(p->io);
	free(p->cp);
	free(p->bounce);
}

/* the plan's own descriptor of a base's file, for its copies */
static int wplan_base_fd(struct ds *ds, struct ds_wplan *p, u64 owner)
{
	return plan_owner_fd(ds, p->cowner, p->cfd, &p->ncfd, DS_WPLAN_BASES,
			     owner);
}

/*
 * Plan extent e's part [s, s+n) of the mutation: which blocks get new
 * data (written whole out of place: the map still names the old ones
 * until the commit) and which read as zeroes.  An extent shared with a
 * base (copy-on-write) becomes ours with the blocks written in our file
 * and the others left in the file of the entry's owner, which becomes
 * the entry's other file (DS_BLK_OTHER): nothing is copied, and a 4 KiB
 * write into a fresh clone costs what one into its own extent does (the
 * whole extent copied cost a clone's first writes seven times as much).
 * An entry names two files at most, so blocks of a third (those the
 * entry shared had in its own other file: a clone of a clone) are copied
 * into ours, file to file (copy_file_range(): a reflink where the file
 * system shares blocks, a copy in the kernel elsewhere).  Blocks left or
 * copied are neither read here nor summed again: each keeps the sum it
 * had, which every read of it checks.
 */
static int plan_extent(struct ds *ds, struct ds_chunk *c, MDB_txn *t,
		       u32 es, u32 e, u32 s, u32 n, const u8 *data,
		       struct ds_wplan *p)
{
	struct ds_change *ch = &p->ch[p->nch];
	u32 nb = es / DS_BLOCK, i, k = 0, ncopy = 0, first = s / DS_BLOCK;
	u32 last = (s + n - 1) / DS_BLOCK;
	struct ds_ext old;
	bool cow;
	u32 *nblk = p->taken + p->ntaken;
	int ret, cfd = -1;

	memset(ch, 0, sizeof(*ch));
	ch->e = e;
	ret = ext_get(&ds->st, t, c->id, e, es, &old);
	if (ret && ret != -ENOENT)
		return ret;
	ch->had = !ret;
	ch->was_own = ch->had && le64_to_cpu(old.h.owner) == c->id;
	cow = ch->had && !ch->was_own;
	if (!ch->had) {
		memset(&old, 0, sizeof(old));
		old.h.nblk = cpu_to_le32(nb);
		for (i = 0; i < nb; i++)
			old.b[i].blk = cpu_to_le32(DS_BLK_ZERO);
	}
	ch->x = old;
	ch->x.h.owner = cpu_to_le64(c->id);
	ch->x.h.stamp = 0;	/* mutate_map() knows the version */
	if (cow)	/* the blocks we leave where they are */
		ch->x.other = le64_to_cpu(old.h.owner);

	/* count the blocks that need a new home, and those copied */
	for (i = 0; i < nb; i++) {
		bool in = i >= first && i <= last;
		bool whole = in && s <= i * DS_BLOCK &&
			     s + n >= (i + 1) * DS_BLOCK;
		u32 ob = le32_to_cpu(old.b[i].blk);
		bool zero = ob == DS_BLK_ZERO;

		if (in ? data || (!whole && !zero) : cow && ds_blk_other(ob))
			k++;
		if (!in && cow && ds_blk_other(ob))
			ncopy++;
	}
	if (k) {
		ret = blk_alloc(c, k, nblk);
		if (ret)
			return ret;
		p->ntaken += k;
	}
	/* of a third file: a write's first and last extent only */
	if (ncopy) {
		cfd = wplan_base_fd(ds, p, old.other);
		if (cfd < 0)
			return cfd;
	}
	for (i = 0, k = 0; i < nb; i++) {
		bool in = i >= first && i <= last;
		u32 bs = i * DS_BLOCK;
		bool whole = in && s <= bs && s + n >= bs + DS_BLOCK;
		u32 ob = le32_to_cpu(old.b[i].blk);
		bool zero = ob == DS_BLK_ZERO;
		/* a block of our own file the new map no longer names */
		bool ours = ch->was_own && !zero && !ds_blk_other(ob);
		struct ds_blkio *io;
		u32 from, to;
		u8 *blk;

		if (!in && cow && !zero && !ds_blk_other(ob)) {
			/* inherited, not written: left in the owner's file */
			ch->x.b[i].blk = cpu_to_le32(ob | DS_BLK_OTHER);
			continue;
		}
		if (!(in ? data || (!whole && !zero) : cow && !zero)) {
			if (in && whole) {	/* punched whole */
				ch->x.b[i].blk = cpu_to_le32(DS_BLK_ZERO);
				ch->x.b[i].csum = 0;
				if (ours)
					p->old[p->nold++] = ob;
			}
			continue;
		}
		if (!in) {	/* of a third file, and not written: copied */
			struct ds_blkcopy *cp = &p->cp[p->ncp++];

			cp->blk = nblk[k++];
			cp->src = ob & DS_BLK_NUM;
			cp->fd = cfd;
			ch->x.b[i].blk = cpu_to_le32(cp->blk);
			ch->x.b[i].csum = old.b[i].csum;
			continue;
		}
		io = &p->io[p->nio++];
		io->blk = nblk[k++];
		if (whole) {
			io->data = data + (bs - s);
		} else {
			/* the old block (or zeroes), with our part over it */
			if (!p->bounce)
				p->bounce = malloc((size_t)p->bounce_cap *
						   DS_BLOCK);
			if (!p->bounce || p->nbounce == p->bounce_cap)
				return -ENOMEM;
			blk = p->bounce + (size_t)p->nbounce++ * DS_BLOCK;
			if (zero) {
				memset(blk, 0, DS_BLOCK);
			} else {
				ret = ext_read(ds, &old, bs, DS_BLOCK, blk,
					       c->id, false);
				if (ret)
					return ret;
			}
			from = s > bs ? s : bs;
			to = s + n < bs + DS_BLOCK ? s + n : bs + DS_BLOCK;
			if (data)
				memcpy(blk + (from - bs), data + (from - s),
				       to - from);
			else
				memset(blk + (from - bs), 0, to - from);
			io->data = blk;
		}
		ch->x.b[i].blk = cpu_to_le32(io->blk);
		/* a whole block of the request: its checksum came with it */
		if (whole && p->sums &&
		    !((io->data - p->data0) % VDIFS_SUM_BLOCK))
			ch->x.b[i].csum =
				p->sums[(io->data - p->data0) / VDIFS_SUM_BLOCK];
		else
			ch->x.b[i].csum = cpu_to_le32(wire_csum(io->data,
								DS_BLOCK));
		if (ours)
			p->old[p->nold++] = ob;
	}
	ch->drop = true;
	for (i = 0; i < nb && ch->drop; i++)
		ch->drop = le32_to_cpu(ch->x.b[i].blk) == DS_BLK_ZERO;
	/* the other file named no more: a one-file entry again */
	for (i = 0; i < nb && ch->x.other; i++)
		if (ds_blk_other(le32_to_cpu(ch->x.b[i].blk)))
			break;
	if (i == nb)
		ch->x.other = 0;
	p->nch++;
	return 0;
}

static int cmp_blkio(const void *a, const void *b)
{
	u32 x = ((const struct ds_blkio *)a)->blk;
	u32 y = ((const struct ds_blkio *)b)->blk;

	return x < y ? -1 : x > y;
}

/* write the planned blocks, consecutive ones with one pwritev */
static int plan_write(int fd, struct ds_wplan *p)
{
	struct iovec iov[64];
	u32 i = 0;

	qsort(p->io, p->nio, sizeof(*p->io), cmp_blkio);
	while (i < p->nio) {
		u32 start = p->io[i].blk, n = 0;
		ssize_t w;

		while (i + n < p->nio && n < 64 &&
		       p->io[i + n].blk == start + n) {
			iov[n].iov_base = (void *)p->io[i + n].data;
			iov[n].iov_len = DS_BLOCK;
			n++;
		}
		w = pwritev(fd, iov, (int)n, (off_t)start * DS_BLOCK);
		if (w < 0)
			return -errno;
		if (w != (ssize_t)n * DS_BLOCK)
			return -EIO;
		i += n;
	}
	return 0;
}

/*
 * Plan the data of a WRITE or PUNCH (c->mutex held: blocks are taken);
 * mutate_flush() writes it, the map is left to the commit.
 */
static int mutate_plan(struct ds *ds, struct ds_chunk *c, MDB_txn *t,
		       u32 es, u32 off, u32 len, const u8 *data,
		       struct ds_wplan *p)
{
	u32 first = off / es, last = (off + len - 1) / es;
	u32 nx = last - first + 1, nb = es / DS_BLOCK, e;
	int ret, fd;

	p->ch = calloc(nx, sizeof(*p->ch));
	p->taken = calloc((size_t)nx * nb, sizeof(u32));
	p->old = calloc((size_t)nx * nb, sizeof(u32));
	p->io = calloc((size_t)nx * nb, sizeof(*p->io));
	/*
	 * Copies of a base's blocks: only the first and the last extent
	 * have any (middle ones are written whole); blocks built here: the
	 * partly written first and last.
	 */
	p->cp = calloc((size_t)(nx > 2 ? 2 : nx) * nb, sizeof(*p->cp));
	if (!p->ch || !p->taken || !p->old || !p->io || !p->cp)
		return -ENOMEM;
	p->bounce_cap = 2;
	fd = chunk_fd(ds, c, true);
	if (fd < 0)
		return fd;
	ret = blocks_load(ds, c, t);
	if (ret)
		return ret;
	ds_crash_point("before_data");
	for (e = first; e <= last; e++) {
		u64 eoff = (u64)e * es;
		u32 s = off > eoff ? off - (u32)eoff : 0;
		u32 end = off + (u64)len < eoff + es ? (u32)(off + len - eoff) :
			  es;

		ret = plan_extent(ds, c, t, es, e, s, end - s,
				  data ? data + (eoff + s - off) : NULL, p);
		if (ret)
			break;
	}
	p->fd = fd;
	return ret;
}

static int cmp_blkcopy(const void *a, const void *b)
{
	u32 x = ((const struct ds_blkcopy *)a)->blk;
	u32 y = ((const struct ds_blkcopy *)b)->blk;

	return x < y ? -1 : x > y;
}

/* copy len bytes from src at soff to dst at doff, in the kernel */
static int copy_range(int src, off_t soff, int dst, off_t doff, size_t len)
{
	static bool no_cfr;	/* copy_file_range() refused: not again */
	u8 *buf;

	while (len && !__atomic_load_n(&no_cfr, __ATOMIC_RELAXED)) {
		ssize_t got = copy_file_range(src, &soff, dst, &doff, len, 0);

		if (got > 0) {
			len -= (size_t)got;
			continue;
		}
		if (!got)
			return -EIO;	/* the base's file is short */
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL &&
		    errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		__atomic_store_n(&no_cfr, true, __ATOMIC_RELAXED);
	}
	if (!len)
		return 0;
	/* through a buffer, where the kernel would not */
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	errno = 0;	/* a short read or write sets none */
	if (pread(src, buf, len, soff) != (ssize_t)len ||
	    pwrite(dst, buf, len, doff) != (ssize_t)len) {
		free(buf);
		return errno ? -errno : -EIO;
	}
	free(buf);
	return 0;
}

/* the planned copies, runs consecutive on both sides in one call */
static int plan_copy(int fd, struct ds_wplan *p)
{
	u32 i = 0;

	qsort(p->cp, p->ncp, sizeof(*p->cp), cmp_blkcopy);
	while (i < p->ncp) {
		const struct ds_blkcopy *a = &p->cp[i];
		u32 n = 1;
		int ret;

		while (i + n < p->ncp && p->cp[i + n].fd == a->fd &&
		       p->cp[i + n].blk == a->blk + n &&
		       p->cp[i + n].src == a->src + n)
			n++;
		ret = copy_range(a->fd, (off_t)a->src * DS_BLOCK, fd,
				 (off_t)a->blk * DS_BLOCK, (size_t)n * DS_BLOCK);
		if (ret)
			return ret;
		i += n;
	}
	return 0;
}

/*
 * Write and sync the planned blocks: no lock needed, they are the plan's
 * alone until its commit (and c's file stays open while c has users).
 */
static int mutate_flush(struct ds_wplan *p)
{
	int ret = 0;

	if (p->nio)
		ret = plan_write(p->fd, p);
	if (!ret && p->ncp)
		ret = plan_copy(p->fd, p);
	if (p->defer_sync)
		return ret;
	if (!ret && (p->nio || p->ncp) && fdatasync(p->fd))
		ret = -errno;
	if (!ret)
		ds_crash_point("after_data");
	return ret;
}

/* plan, write and sync the data of a WRITE or PUNCH; map left to commit */
static int mutate_data(struct ds *ds, struct ds_chunk *c, MDB_txn *t,
		       u32 es, u32 off, u32 len, const u8 *data,
		       struct ds_wplan *p)
{
	int ret = mutate_plan(ds, c, t, es, off, len, data, p);

	return ret ? ret : mutate_flush(p);
}

/* the map now points at the new, stable blocks, of version v */
static int mutate_map(struct ds *ds, MDB_txn *t, u64 id,
		      struct ds_chunk_rec *r, struct ds_wplan *p, u64 v)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < p->nch && !ret; i++) {
		struct ds_change *ch = &p->ch[i];
		u32 map = le32_to_cpu(r->map_extents);
		u32 own = le32_to_cpu(r->own_extents);

		if (ch->drop) {
			if (ch->had) {
				u8 k[12];
				MDB_val key = { 12, k };

				key_ext(k, id, ch->e);
				ret = st_err(mdb_del(t, ds->st.extents, &key,
						     NULL));
				map--;
				own -= ch->was_own;
			}
		} else {
			ch->x.h.stamp = ext_stamp(v);
			ret = ext_put(&ds->st, t, id, ch->e, &ch->x);
			map += !ch->had;
			own += !ch->was_own;
		}
		r->map_extents = cpu_to_le32(map);
		r->own_extents = cpu_to_le32(own);
	}
	return ret;
}

/*
 * A forward of the version we have already: a resend of what we applied
 * (same digest), or, when the primary failed after forwarding and then
 * wrote something else as that version, a copy gone another way.
 */
static bool resend_differs(const struct ds_chunk_rec *r,
			   const struct vdifs_chunk_req *q)
{
	return r->version == q->version && q->digest && r->digest &&
	       r->digest != q->digest;
}

/*
 * Does a WRITE or PUNCH pass, now (r: the record as our mutex holds it),
 * what the write transaction checks again?  Then a primary may forward
 * it before it is done here (ours then fails after the replicas' only
 * when the store itself does), and its data may be written before the
 * transaction (plan_early()).
 */
static bool mutation_passes(const struct ds_op_ctx *x,
			    const struct ds_chunk_rec *r, bool exists)
{
	const struct vdifs_chunk_req *q = x->q;
	u32 off = le32_to_cpu(q->offset), cs = le32_to_cpu(q->chunk_size);

	if (x->op != VDIFS_OP_CHUNK_WRITE && x->op != VDIFS_OP_CHUNK_PUNCH)
		return false;
	if (!exists)
		return x->op == VDIFS_OP_CHUNK_WRITE &&
		       !check_geometry(cs, le32_to_cpu(q->extent_size)) &&
		       (u64)off + x->len <= cs;
	if (le32_to_cpu(r->flags) & (DS_DELETED | VDIFS_CHUNK_FROZEN))
		return false;
	if (cs && cs != le32_to_cpu(r->chunk_size))
		return false;
	if (le32_to_cpu(q->flags) & VDIFS_CHUNK_TRUNC)
		return off <= le32_to_cpu(r->chunk_size) && !rec_check_set(r, q);
	return !rec_check_set(r, q) && !check_range(r, off, x->len);
}

/*
 * The geometry of a WRITE or PUNCH that mutation_passes(): *es and *len
 * as the transaction will find them, and the extents it replaces in w.
 */
static void early_extents(const struct ds_op_ctx *x,
			  const struct ds_chunk_rec *r, bool exists, u32 *es,
			  u32 *len, struct ds_wr *w)
{
	const struct vdifs_chunk_req *q = x->q;
	u32 off = le32_to_cpu(q->offset);

	if (exists) {
		*es = le32_to_cpu(r->extent_size);
		*len = le32_to_cpu(q->flags) & VDIFS_CHUNK_TRUNC ?
		       le32_to_cpu(r->chunk_size) - off : x->len;
	} else {
		*es = le32_to_cpu(q->extent_size);
		if (*es == VDIFS_EXTENT_ADAPTIVE)
			*es = adaptive_extent(le32_to_cpu(q->chunk_size));
		*len = x->len;
	}
	if (!exists) {		/* a new chunk: nothing else until it is */
		w->first = 0;
		w->last = UINT32_MAX;
	} else if (*len) {
		w->first = off / *es;
		w->last = (off + *len - 1) / *es;
	} else {		/* no extent; only a version */
		w->first = UINT32_MAX;
		w->last = 0;
	}
}

/*
 * Plan the data of a WRITE or PUNCH that mutation_passes() (in a read
 * transaction, c->mutex held), to be written and synced by
 * mutate_flush() outside both the mutex and the write transaction.
 */
static int plan_early(struct ds_op_ctx *x, struct ds_chunk *c, u32 es,
		      u32 len, struct ds_wplan *p)
{
	MDB_txn *t;
	int ret;

	if (!len)
		return 0;
	ret = st_err(mdb_txn_begin(x->ds->st.env, NULL, MDB_RDONLY, &t));
	if (ret)
		return ret;
	ret = mutate_plan(x->ds, c, t, es, le32_to_cpu(x->q->offset), len,
			  x->data, p);
	mdb_txn_abort(t);
	return ret;
}

u64 store_digest_sums(u32 off, u32 len, const __le32 *sums)
{
	__le32 h[2] = { cpu_to_le32(off), cpu_to_le32(len) };
	XXH64_state_t st;
	u64 d;

	/* seeded apart from store_digest()'s: one mutation, one kind */
	XXH64_reset(&st, 0x5355u << 16 | VDIFS_OP_CHUNK_WRITE);
	XXH64_update(&st, h, sizeof(h));
	XXH64_update(&st, sums, (size_t)(len / VDIFS_SUM_BLOCK) * 4);
	d = XXH64_digest(&st);
	return d ? d : 1;
}

u64 store_digest(u16 op, u32 off, u32 len, const u8 *data)
{
	__le32 h[2] = { cpu_to_le32(off), cpu_to_le32(len) };
	XXH64_state_t st;
	u64 d;

	XXH64_reset(&st, op);
	XXH64_update(&st, h, sizeof(h));
	if (op == VDIFS_OP_CHUNK_WRITE && len)
		XXH64_update(&st, data, len);
	d = XXH64_digest(&st);
	return d ? d : 1;
}

/*
 * One mutation's part of a write transaction: what store_mutate() had
 * settled before it (under the chunk's mutex, which its thread holds
 * throughout, or, for an early WRITE or PUNCH, its struct ds_wr), and
 * what the transaction made.  An early WRITE or PUNCH (its data on disk
 * already) may share its transaction with other writes
 * (txn_group_wait()), and run more than once.
 */
struct ds_mut {
	struct ds_op_ctx *x;
	struct ds_chunk *c;
	struct ds_wplan *plan;
	bool resync, forwarding, planned;
	u64 fw_version;
	u32 planned_es, planned_len;
	/* made */
	struct ds_chunk_rec r;
	struct ds_freed freed;
	bool wrote;		/* got past its checks: a failure spoils t */
	/* txn_group_add(), txn_group_wait(): under ds->grp_lock */
	struct ds_mut *next;
	bool done;
	int ret;
};

/*
 * m's changes in write transaction t: 0 to commit, 1 when there is
 * nothing to commit (done already), or -errno (t is to be aborted if
 * m->wrote; before that, t is as it was).
 */
static int mutate_txn(struct ds *ds, MDB_txn *t, struct ds_mut *m)
{
	struct ds_op_ctx *x = m->x;
	const struct vdifs_chunk_req *q = x->q;
	struct ds_chunk_rec *r = &m->r;
	u64 id = le64_to_cpu(q->chunk_id), nv;
	u32 flags = le32_to_cpu(q->flags);
	bool fwd = flags & VDIFS_CHUNK_FWD, resync = m->resync;
	u32 off = le32_to_cpu(q->offset), len = x->len, es, cs;
	bool exists, created = false;
	unsigned int i;
	int ret;

	m->wrote = false;
	m->freed.n = 0;
	/*
	 * Read the record again inside the write transaction: other
	 * writers of this chunk commit before us (in version order), and
	 * clones and frees of other chunks change its refs and flags; an
	 * update from the snapshot read before would undo theirs.
	 */
	ret = rec_get(&ds->st, t, id, r);
	if (ret && ret != -ENOENT)
		return ret;
	exists = !ret;
	ret = 0;
	if (resync && exists && (le32_to_cpu(r->flags) & DS_GONE))
		exists = false;		/* freed here once: a new life */
	if (resync && exists && (le32_to_cpu(r->flags) & DS_DELETED)) {
		/* held by its clones only: a copy of the set adopts it */
		if (x->op != VDIFS_OP_CHUNK_WRITE || len)
			return x->op == VDIFS_OP_CHUNK_CLONE ? -EEXIST :
							       -ESTALE;
		m->wrote = true;
		r->flags = cpu_to_le32(le32_to_cpu(r->flags) & ~DS_DELETED);
		r->refs = cpu_to_le32(le32_to_cpu(r->refs) + 1);
		rec_note_epoch(r, q);
		ret = rec_put(&ds->st, t, r);
		if (ret)
			return ret;
		goto log;
	}
	if (exists && (le32_to_cpu(r->flags) & DS_DELETED)) {
		return x->op == VDIFS_OP_CHUNK_WRITE ||
		       x->op == VDIFS_OP_CHUNK_PUNCH ? -ESTALE :
		       x->op == VDIFS_OP_CHUNK_CLONE ? -EEXIST :
		       fwd ? 1 : -ENOENT;
	}
	if (exists && !resync && (x->op == VDIFS_OP_CHUNK_WRITE ||
				  x->op == VDIFS_OP_CHUNK_PUNCH)) {
		ret = rec_check_set(r, q);
		if (ret)
			return ret;
	}
	if (resync && exists && x->op == VDIFS_OP_CHUNK_WRITE && !len) {
		/* the copy is whole: the primary's version, and frozen too */
		m->wrote = true;
		r->version = q->version;
		r->flags = cpu_to_le32(le32_to_cpu(r->flags) &
				      ~VDIFS_CHUNK_STALE);
		if (flags & VDIFS_CHUNK_NEWBASE)
			r->flags = cpu_to_le32(le32_to_cpu(r->flags) |
					      VDIFS_CHUNK_FROZEN);
		rec_note_epoch(r, q);
		ret = rec_put(&ds->st, t, r);
		if (ret)
			return ret;
		goto log;
	}

	switch (x->op) {
	case VDIFS_OP_CHUNK_CLONE:
		if (exists) {
			/* a replayed clone of the same base is done already */
			x->version = le64_to_cpu(r->version);
			return fwd && le64_to_cpu(r->base_id) ==
			       le64_to_cpu(q->base_id) ? 1 : -EEXIST;
		}
		m->wrote = true;
		ret = clone_chunk(x, t, r);
		if (!ret && resync)	/* whole once the last transfer is in */
			r->flags = cpu_to_le32(le32_to_cpu(r->flags) |
					      VDIFS_CHUNK_STALE);
		rec_note_epoch(r, q);
		if (!ret)
			ret = rec_put(&ds->st, t, r);
		if (ret)
			return ret;
		goto log;
	case VDIFS_OP_CHUNK_DELETE:
		if (!exists)
			return fwd ? 1 : -ENOENT;
		m->wrote = true;
		r->flags = cpu_to_le32(le32_to_cpu(r->flags) | DS_DELETED);
		r->refs = cpu_to_le32(le32_to_cpu(r->refs) - 1);
		if (le32_to_cpu(r->refs))
			ret = rec_put(&ds->st, t, r);
		else
			ret = chunk_free(ds, t, r, &m->freed);
		if (ret)
			return ret;
		goto log;
	case VDIFS_OP_CHUNK_WRITE:
		if (!exists) {
			cs = le32_to_cpu(q->chunk_size);
			es = le32_to_cpu(q->extent_size);
			ret = check_geometry(cs, es);
			if (ret)
				return ret;
			/* as planned: the estimate may have moved since */
			if (m->planned)
				es = m->planned_es;
			else if (es == VDIFS_EXTENT_ADAPTIVE)
				es = adaptive_extent(cs);
			memset(r, 0, sizeof(*r));
			r->id = cpu_to_le64(id);
			r->chunk_size = cpu_to_le32(cs);
			r->extent_size = cpu_to_le32(es);
			r->refs = cpu_to_le32(1);
			r->depth = cpu_to_le32(1);
			created = true;
		}
		break;
	case VDIFS_OP_CHUNK_PUNCH:
		if (!exists)
			return -ENOENT;
		if (flags & VDIFS_CHUNK_TRUNC) {
			if (off > le32_to_cpu(r->chunk_size))
				return -EINVAL;
			len = le32_to_cpu(r->chunk_size) - off;
		}
		break;
	default:
		return -EOPNOTSUPP;
	}

	/* WRITE and PUNCH */
	cs = le32_to_cpu(r->chunk_size);
	es = le32_to_cpu(r->extent_size);
	if (!created && le32_to_cpu(q->chunk_size) &&
	    le32_to_cpu(q->chunk_size) != cs)
		return -EINVAL;
	ret = check_range(r, off, len);
	if (ret)
		return ret;
	if (le32_to_cpu(r->flags) & VDIFS_CHUNK_FROZEN)
		return -EROFS;
	if (m->forwarding && le64_to_cpu(r->version) + 1 != m->fw_version)
		return -EAGAIN;		/* not the version forwarded */
	/* the write before, in flight beside ours, failed: we missed it */
	if (fwd && !resync && le64_to_cpu(r->version) + 1 !=
	    le64_to_cpu(q->version))
		return -ESTALE;
	if (m->planned && (es != m->planned_es || len != m->planned_len)) {
		/* mutation_passes() and this disagree: a bug */
		log_err("chunk %016llx: planned %u bytes in extents of %u, found %u in %u",
			(unsigned long long)id, m->planned_len,
			m->planned_es, len, es);
		return -EIO;
	}
	/* past the checks: a failure from here spoils the transaction */
	m->wrote = true;
	nv = fwd ? le64_to_cpu(q->version) : le64_to_cpu(r->version) + 1;
	if (len) {
		if (!m->planned)
			ret = mutate_data(ds, m->c, t, es, off, len, x->data,
					  m->plan);
		if (!ret)
			ret = mutate_map(ds, t, id, r, m->plan, nv);
		if (ret)
			return ret;
	}
	if (resync) {
		/*
		 * A copy being made whole serves nothing until the last
		 * transfer (a WRITE of len 0) gives it the version: one cut
		 * short must not pass for a whole one at that version.
		 */
		r->flags = cpu_to_le32(le32_to_cpu(r->flags) |
				      VDIFS_CHUNK_STALE);
	} else {
		r->version = cpu_to_le64(nv);
	}
	r->digest = fwd ? q->digest : cpu_to_le64(x->digest);
	rec_note_epoch(r, q);
	ret = rec_put(&ds->st, t, r);
	if (ret)
		return ret;

log:
	if (x->nlog) {
		/* replicas replay it as the version it made here */
		struct vdifs_chunk_req lq = *q;

		lq.version = r->version;
		for (i = 0; i < x->nlog && !ret; i++)
			ret = repl_log_append(ds, t, x->log_peers[i], x->op,
					      &lq, x->data, x->len);
	}
	return ret;
}

/* m in a write transaction of its own */
static int txn_solo_run(struct ds *ds, struct ds_mut *m)
{
	MDB_txn *t;
	int ret;

	ret = st_err(mdb_txn_begin(ds->st.env, NULL, 0, &t));
	if (ret)
		return ret;
	ret = mutate_txn(ds, t, m);
	if (ret) {
		mdb_txn_abort(t);
		return ret;
	}
	return st_err(mdb_txn_commit(t));
}

/*
 * The leader's part: every mutation of batch in one transaction, one
 * commit and its syncs for all.  One that fails before it changed
 * anything fails alone; one that fails after spoils the transaction,
 * and then each runs alone instead.
 */
static void txn_group_lead(struct ds *ds, struct ds_mut *batch)
{
	struct ds_mut *m;
	MDB_txn *t;
	int ret;

	ret = st_err(mdb_txn_begin(ds->st.env, NULL, 0, &t));
	if (ret) {
		for (m = batch; m; m = m->next)
			m->ret = ret;
		return;
	}
	for (m = batch; m; m = m->next) {
		m->ret = mutate_txn(ds, t, m);
		if (m->ret < 0 && m->wrote)
			break;
	}
	if (m) {
		mdb_txn_abort(t);
		for (m = batch; m; m = m->next)
			m->ret = txn_solo_run(ds, m);
		return;
	}
	ret = st_err(mdb_txn_commit(t));
	for (m = batch; m; m = m->next)
		if (!m->ret)
			m->ret = ret;
}

/*
 * Group commit.  A write transaction's commit syncs the index twice,
 * which on a disk costs more than the data's own fdatasync; writers
 * arriving while one commits queue up, and the first of them to find no
 * leader commits them all in one transaction: N writers at once pay
 * about one commit, not N.  Only WRITEs and PUNCHes whose data is on
 * disk already come here (their transaction is map and record updates,
 * quick and free of file I/O).  Writes of one chunk are queued in
 * version order, under its mutex (wr_turn()); they wait for the commit
 * without it, their extents kept from other writers by their struct
 * ds_wr.  Returns as mutate_txn(), once the commit is durable.
 */
static void txn_group_add(struct ds *ds, struct ds_mut *m)
{
	m->next = NULL;
	m->done = false;
	pthread_mutex_lock(&ds->grp_lock);
	*ds->grp_tail = m;
	ds->grp_tail = &m->next;
	pthread_mutex_unlock(&ds->grp_lock);
}

static int txn_group_wait(struct ds *ds, struct ds_mut *m)
{
	struct ds_mut *batch, *next;

	pthread_mutex_lock(&ds->grp_lock);
	while (!m->done) {
		if (ds->grp_leading) {
			pthread_cond_wait(&ds->grp_cond, &ds->grp_lock);
			continue;
		}
		/* everyone queued so far, ourselves among them */
		ds->grp_leading = true;
		batch = ds->grp_head;
		ds->grp_head = NULL;
		ds->grp_tail = &ds->grp_head;
		pthread_mutex_unlock(&ds->grp_lock);
		txn_group_lead(ds, batch);
		pthread_mutex_lock(&ds->grp_lock);
		for (; batch; batch = next) {
			next = batch->next;
			batch->done = true;
		}
		ds->grp_leading = false;
		pthread_cond_broadcast(&ds->grp_cond);
	}
	pthread_mutex_unlock(&ds->grp_lock);
	return m->ret;
}

/*
 * w's mutation m to the group commit (ok: its data is written), an
 * ordered one once those begun before it are: in version order.  Failed
 * (!ok), it still takes its turn, so the ones after it fail as they must.
 */
static void wr_queue(struct ds *ds, struct ds_chunk *c, struct ds_wr *w,
		     struct ds_mut *m, bool ok)
{
	if (!w->ordered) {
		if (ok)
			txn_group_add(ds, m);
		return;
	}
	pthread_mutex_lock(&c->mutex);
	while (!wr_turn(c, w))
		pthread_cond_wait(&c->cond, &c->mutex);
	if (ok)
		txn_group_add(ds, m);
	w->queued = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mutex);
}

/*
 * After p's commit: the blocks its map entries replaced are nobody's once
 * readers that looked the old map up (under c->rw, shared) are done.
 * c->mutex held.
 */
static void plan_free_old(struct ds_chunk *c, const struct ds_wplan *p)
{
	u32 i;

	pthread_rwlock_wrlock(&c->rw);
	for (i = 0; i < p->nold; i++)
		blk_free(c, p->old[i]);
	pthread_rwlock_unlock(&c->rw);
}

/* p not committed: the blocks taken for it return; c->mutex held */
static void plan_free_taken(struct ds_chunk *c, const struct ds_wplan *p)
{
	u32 i;

	for (i = 0; i < p->ntaken; i++)
		blk_free(c, p->taken[i]);
}

/*
 * A primary's forwards of x, done here: wait for the replicas' answers
 * (with overlap, without c->mutex: the chunk's next write may go ahead
 * meanwhile) and note a failure in x->fwd_err.  c->mutex held.
 */
static void fwd_finish(struct ds *ds, struct ds_chunk *c,
		       struct ds_op_ctx *x, struct repl_fwd *fw, bool overlap)
{
	int err[VDIFS_MAX_REPLICAS];
	unsigned int i;

	if (overlap) {
		c->fwd_inflight++;
		pthread_mutex_unlock(&c->mutex);
	}
	repl_forward_end(ds, fw, err);
	if (overlap) {
		pthread_mutex_lock(&c->mutex);
		c->fwd_inflight--;
	}
	for (i = 0; i < x->nfwd; i++) {
		if (!err[i])
			continue;
		log_err("chunk %016llx: replica %u failed %s: %s",
			(unsigned long long)le64_to_cpu(x->q->chunk_id),
			x->fwd_peers[i], wire_op_name(x->op),
			strerror(-err[i]));
		x->fwd_err = err[i];
	}
}

/*
 * x failed here (ret) after it was forwarded: a replica that took it has
 * what we have not, so ours is stale (the MDS takes it out of the set);
 * returns what the writer hears.
 */
static int fwd_abandon(struct ds *ds, struct ds_op_ctx *x,
		       struct repl_fwd *fw, int ret)
{
	u64 id = le64_to_cpu(x->q->chunk_id);
	int err[VDIFS_MAX_REPLICAS];
	bool applied = false;
	unsigned int i;

	repl_forward_end(ds, fw, err);
	for (i = 0; i < x->nfwd; i++)
		applied |= !err[i];
	if (!applied)
		return ret;
	log_err("chunk %016llx: %s failed here (%s) after a replica took it",
		(unsigned long long)id, wire_op_name(x->op), strerror(-ret));
	mark_stale(ds, id);
	return -ESTALE;
}

int store_mutate(struct ds_op_ctx *x)
{
	struct ds *ds = x->ds;
	const struct vdifs_chunk_req *q = x->q;
	u64 id = le64_to_cpu(q->chunk_id);
	u32 flags = le32_to_cpu(q->flags);
	bool fwd = flags & VDIFS_CHUNK_FWD, exists = false;
	bool resync = fwd && (flags & VDIFS_CHUNK_RESYNC);
	struct ds_wplan plan = { .data0 = x->data, .sums = x->sums };
	unsigned int i;
	struct ds_chunk_rec r;
	struct ds_chunk *c, *bc = NULL;
	struct ds_mut m = { .x = x, .plan = &plan, .resync = resync };
	struct repl_fwd fw;
	struct ds_wr wr;
	bool early;
	int ret;

	if (x->op == VDIFS_OP_CHUNK_CLONE) {
		/* a chunk cannot be its own base (nor lock itself twice) */
		if (!q->base_id || le64_to_cpu(q->base_id) == id)
			return -EINVAL;
		/* freeze the base against its own writers while cloning */
		bc = chunk_get(ds, le64_to_cpu(q->base_id));
		if (!bc)
			return -ENOMEM;
	}
	c = chunk_get(ds, id);
	if (!c) {
		ret = -ENOMEM;
		goto out_put_base;
	}
	m.c = c;
	/* two chunks' mutexes are taken in id order: clones cross-wise */
	if (bc && bc->id < id)
		pthread_mutex_lock(&bc->mutex);
	pthread_mutex_lock(&c->mutex);
	if (bc && bc->id > id)
		pthread_mutex_lock(&bc->mutex);
	/* only versioned writes may overtake forwards in flight */
	if (x->op != VDIFS_OP_CHUNK_WRITE && x->op != VDIFS_OP_CHUNK_PUNCH) {
		chunk_quiesce(c);
		if (bc)
			chunk_quiesce(bc);
	}

again:
	if (fwd && !resync && x->op != VDIFS_OP_CHUNK_DELETE &&
	    x->op != VDIFS_OP_CHUNK_CLONE) {
		ret = wait_version(ds, c, id, q, &r, &exists, false);
		if (ret == 2) {
			/* an old set's sender, or our copy is stale already */
			ret = -ESTALE;
			goto out_unlock;
		}
		if (ret == 1 && resend_differs(&r, q)) {
			/* our copy went another way: not the primary's */
			mark_stale(ds, id);
			ret = -ESTALE;
			goto out_unlock;
		}
		if (ret == 1) {		/* a retry of what we already have */
			x->version = le64_to_cpu(r.version);
			ret = 0;
			goto out_unlock;
		}
		if (ret == -ESTALE && exists)
			mark_stale(ds, id);
		if (ret)
			goto out_unlock;
	} else {
		ret = rec_read(&ds->st, id, &r);
		exists = !ret;
		if (ret && ret != -ENOENT)
			goto out_unlock;
	}
	if (exists && !resync && (le32_to_cpu(r.flags) & DS_DELETED)) {
		switch (x->op) {
		case VDIFS_OP_CHUNK_WRITE:
		case VDIFS_OP_CHUNK_PUNCH:
			ret = -ESTALE;	/* the writer's layout is old */
			break;
		case VDIFS_OP_CHUNK_CLONE:
			ret = -EEXIST;
			break;
		default:
			ret = fwd ? 0 : -ENOENT;
			break;
		}
		goto out_unlock;
	}

	/*
	 * A WRITE or PUNCH that passes its checks now is written early:
	 * its data goes to the chunk's file (and is synced) before the
	 * write transaction and without our mutex (the transaction's lock
	 * is the whole store's, and the mutex the chunk's: held across a
	 * copy of a MiB and an fdatasync, either would make other writers
	 * wait for ours).  It takes its version and its extents here
	 * (struct ds_wr): writes to other extents go ahead beside it, one
	 * that meets its extents waits, and they commit in version order.
	 * Anything else waits until no write is in flight.
	 */
	early = !resync && mutation_passes(x, &r, exists);
	if (early) {
		early_extents(x, &r, exists, &m.planned_es, &m.planned_len,
			      &wr);
		wr.ordered = fwd || x->nfwd;
		wr.owner = NULL;
		if (wr_blocked(c, &wr)) {
			pthread_cond_wait(&c->cond, &c->mutex);
			goto again;
		}
		wr_begin(c, &wr, fwd ? le64_to_cpu(q->version) :
			 wr_next_version(c, &r, exists));
	} else if (c->wr_inflight) {
		chunk_quiesce(c);
		goto again;
	}

	/*
	 * A primary forwards while it writes its own copy (the replicas'
	 * time and ours overlap), with the version and digest it is about
	 * to commit, before its write transaction: never a network wait
	 * inside one.  If ours then fails, a replica may have it and we
	 * not: ours is marked stale below, and the MDS takes it out of the
	 * set.  What the transaction checks again is checked here first.
	 */
	if (early && x->nfwd && !fwd) {
		struct vdifs_chunk_req fq = *q;

		m.fw_version = wr.version;
		fq.version = cpu_to_le64(m.fw_version);
		fq.digest = cpu_to_le64(x->digest);
		repl_forward_begin(ds, &fw, x->fwd_peers, x->nfwd, x->op, &fq,
				   x->data, x->len, x->sums, false);
		m.forwarding = true;
	}
	if (early) {
		/* nothing the plan reads changes while wr holds its extents */
		ret = plan_early(x, c, m.planned_es, m.planned_len, &plan);
		m.planned = m.planned_len != 0;
		pthread_mutex_unlock(&c->mutex);
		if (!ret)
			ret = mutate_flush(&plan);
		wr_queue(ds, c, &wr, &m, !ret);
		if (!ret)
			ret = txn_group_wait(ds, &m);
		pthread_mutex_lock(&c->mutex);
		wr_end(c, &wr);
	} else {
		ret = txn_solo_run(ds, &m);
	}
	if (ret == 1)		/* done already: nothing committed */
		ret = 0;
	if (ret || !m.wrote)
		goto out_unalloc;
	/*
	 * Our replaced blocks: nobody can reach them any more once readers
	 * that looked the old map up (under the lock, shared) are done.
	 */
	plan_free_old(c, &plan);
	ds_crash_point("after_meta");
	x->version = le64_to_cpu(m.r.version);
	if (x->nfwd) {
		/*
		 * Our copy is done: the chunk's next write may go ahead while
		 * we wait for the replicas' (it is forwarded after ours, on
		 * the same pipes, and a replica applies versions in order).
		 * Not the write that creates the chunk: a replica that has
		 * no chunk yet cannot tell a version overtaking its creation
		 * from one of a chunk it missed, and must not wait for every
		 * stray one.
		 */
		bool overlap = m.forwarding && exists && !c->quiescing && !bc;

		if (!m.forwarding) {	/* CLONE, DELETE: once they are done */
			struct vdifs_chunk_req fq = *q;

			fq.version = m.r.version;
			repl_forward_begin(ds, &fw, x->fwd_peers, x->nfwd,
					   x->op, &fq, x->data, x->len, NULL,
					   false);
		}
		m.forwarding = false;
		fwd_finish(ds, c, x, &fw, overlap);
	}
	for (i = 0; i < m.freed.n; i++) {
		char name[20];

		snprintf(name, sizeof(name), "%016llx",
			 (unsigned long long)m.freed.ids[i]);
		chunk_forget(ds, m.freed.ids[i]);
		unlinkat(ds->st.dirfd, name, 0);
	}
	if (x->nlog)
		repl_kick(ds);
	goto out_unlock;

out_unalloc:
	plan_free_taken(c, &plan);
	if (m.forwarding)
		ret = fwd_abandon(ds, x, &fw, ret);
out_unlock:
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mutex);
	chunk_put(ds, c);
	wplan_free(&plan);
	free(m.freed.ids);
	if (bc)
		pthread_mutex_unlock(&bc->mutex);
out_put_base:
	if (bc)
		chunk_put(ds, bc);
	return ret;
}

/*
 * Deferred writes.  A connection's reader runs a small WRITE or PUNCH
 * itself up to its commit (plan, data written;
 * a primary's forwards sent), reads the next ones, and then commits all
 * it has gathered at once (store_defer_end()): one fdatasync per chunk
 * file and one transaction for them all, then the replicas' answers
 * awaited, and none of the thread hand-offs a worker pool costs per
 * request (in a virtual machine without hardware virtualisation those,
 * not the syncs, took most of a 4 KiB write's CPU).  Only what need not
 * wait to begin goes this way: a forward received whose version before
 * it is here or in flight, a write whose extents meet none in flight, an
 * ordered one (forwarded) only when every ordered write in flight before
 * it is the same reader's or queued already (wr_turn_ours()); else
 * -EWOULDBLOCK: the caller ends its own deferred writes, which may be
 * those met, then runs it through store_mutate().  Until their end their
 * extents are held like any write in flight, so the caller must never
 * wait with deferred writes pending.
 */
/*
 * May a deferred write of owner's begin on c: is every ordered write in
 * flight on c either queued for the commit already or owner's own?  Its
 * turn (wr_turn()) then comes within owner's batch, so store_defer_end()
 * never waits for another thread's writes, which could be waiting for
 * owner's in turn.
 */
static bool wr_turn_ours(const struct ds_chunk *c, const void *owner)
{
	const struct ds_wr *o;

	for (o = c->wr_head; o; o = o->next)
		if (o->ordered && !o->queued && o->owner != owner)
			return false;
	return true;
}

struct ds_deferred {
	struct ds_op_ctx *x;
	struct ds_chunk *c;
	struct repl_fwd fw;	/* a primary's forwards of it */
	struct ds_wplan plan;
	struct ds_wr wr;
	struct ds_mut m;
	bool synced;
	int ret;
};

int store_defer_begin(struct ds_op_ctx *x, const void *owner,
		      struct ds_deferred **out)
{
	struct ds *ds = x->ds;
	const struct vdifs_chunk_req *q = x->q;
	u32 flags = le32_to_cpu(q->flags);
	bool fwd = flags & VDIFS_CHUNK_FWD;
	struct ds_deferred *d;
	struct ds_chunk_rec r;
	struct ds_chunk *c;
	bool exists;
	int ret;

	if ((x->op != VDIFS_OP_CHUNK_WRITE && x->op != VDIFS_OP_CHUNK_PUNCH) ||
	    (flags & VDIFS_CHUNK_RESYNC) || x->nlog)
		return -EWOULDBLOCK;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	c = chunk_get(ds, le64_to_cpu(q->chunk_id));
	if (!c) {
		free(d);
		return -ENOMEM;
	}
	d->x = x;
	d->c = c;
	d->plan.data0 = x->data;
	d->plan.sums = x->sums;
	d->plan.defer_sync = true;
	d->m.x = x;
	d->m.c = c;
	d->m.plan = &d->plan;
	pthread_mutex_lock(&c->mutex);
	if (fwd) {
		/* the version before it here, or in flight (all else waits) */
		ret = wait_version(ds, c, c->id, q, &r, &exists, true);
		if (ret)
			goto out_wouldblock;
	} else {
		ret = rec_read(&ds->st, c->id, &r);
		exists = !ret;
		if (ret && ret != -ENOENT)
			goto out_unlock;
	}
	/*
	 * What store_mutate() would refuse or wait for, it does; so a write
	 * that creates a chunk it forwards (it keeps the mutex until the
	 * replicas have it, store_mutate()).
	 */
	if ((exists && (le32_to_cpu(r.flags) & DS_DELETED)) ||
	    !mutation_passes(x, &r, exists) || (x->nfwd && !exists))
		goto out_wouldblock;
	early_extents(x, &r, exists, &d->m.planned_es, &d->m.planned_len,
		      &d->wr);
	d->wr.ordered = fwd || x->nfwd;
	d->wr.owner = owner;
	if (wr_blocked(c, &d->wr) || !wr_turn_ours(c, owner))
		goto out_wouldblock;
	wr_begin(c, &d->wr, fwd ? le64_to_cpu(q->version) :
		 wr_next_version(c, &r, exists));
	if (x->nfwd) {
		/*
		 * Sent while ours is written, as store_mutate() does, but
		 * held back until the batch ends (store_defer_end()): its
		 * replicas then read the batch's forwards together and
		 * commit them as one batch of theirs, not one by one.
		 */
		struct vdifs_chunk_req fq = *q;

		fq.version = cpu_to_le64(d->wr.version);
		fq.digest = cpu_to_le64(x->digest);
		repl_forward_begin(ds, &d->fw, x->fwd_peers, x->nfwd, x->op,
				   &fq, x->data, x->len, x->sums, true);
		d->m.forwarding = true;
		d->m.fw_version = d->wr.version;
	}
	d->ret = plan_early(x, c, d->m.planned_es, d->m.planned_len,
			    &d->plan);
	d->m.planned = d->m.planned_len != 0;
	pthread_mutex_unlock(&c->mutex);
	if (!d->ret)
		d->ret = mutate_flush(&d->plan);
	*out = d;
	return 0;

out_wouldblock:
	ret = -EWOULDBLOCK;
out_unlock:
	pthread_mutex_unlock(&c->mutex);
	chunk_put(ds, c);
	free(d);
	return ret;
}

/* has a write before d in v synced d's file already? */
static bool defer_synced(struct ds_deferred **v, unsigned int n, int fd)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (v[i]->synced && v[i]->plan.fd == fd)
			return true;
	return false;
}

/*
 * Commit v[0..n), begun by store_defer_begin(), and free them: each
 * one's result in its x->version and the return of *rets[i] (0 or
 * -errno).  Data first, each file synced once, then the map.
 */
void store_defer_end(struct ds *ds, struct ds_deferred **v, unsigned int n,
		     int *rets)
{
	bool synced = false;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (v[i]->m.forwarding)
			repl_forward_push(&v[i]->fw);
	for (i = 0; i < n; i++) {
		struct ds_deferred *d = v[i];

		if (d->ret || !(d->plan.nio || d->plan.ncp))
			continue;
		if (!defer_synced(v, i, d->plan.fd) && fdatasync(d->plan.fd)) {
			d->ret = -errno;
			continue;
		}
		d->synced = synced = true;
	}
	if (synced)
		ds_crash_point("after_data");
	for (i = 0; i < n; i++) {
		struct ds_deferred *d = v[i];

		/* in version order: those before it are ours, queued */
		wr_queue(ds, d->c, &d->wr, &d->m, !d->ret);
	}
	for (i = 0; i < n; i++)
		if (!v[i]->ret)
			v[i]->ret = txn_group_wait(ds, &v[i]->m);
	for (i = 0; i < n; i++) {
		struct ds_deferred *d = v[i];
		struct ds_chunk *c = d->c;
		int ret = d->ret == 1 ? 0 : d->ret;

		pthread_mutex_lock(&c->mutex);
		wr_end(c, &d->wr);
		if (!ret && d->m.wrote) {
			plan_free_old(c, &d->plan);
			ds_crash_point("after_meta");
			d->x->version = le64_to_cpu(d->m.r.version);
			if (d->m.forwarding)
				fwd_finish(ds, c, d->x, &d->fw, !c->quiescing);
		} else {
			plan_free_taken(c, &d->plan);
			if (d->m.forwarding)
				ret = fwd_abandon(ds, d->x, &d->fw, ret);
		}
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->mutex);
		chunk_put(ds, c);
		wplan_free(&d->plan);
		free(d->m.freed.ids);
		rets[i] = ret;
		free(d);
	}
}
