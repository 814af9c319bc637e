// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-ds in-memory chunk state: a bounded cache of chunks, their open
 * data files and the free-block maps of those files.
 *
 * Building a chunk's state costs an open() and a scan of its extent map,
 * so it stays cached after its last user leaves, on an LRU list, until
 * DS_CHUNK_CACHE chunks are cached; then the least recently used idle one
 * is dropped (its file closed).  A server holds many more chunks than it
 * may keep files open, so the bound matters; a working set of desktops'
 * chunks fits in it.
 *
 * Block allocation: a chunk's file is an array of DS_BLOCK-sized blocks.
 * The free map is a bitmap of the blocks its own extent map entries name;
 * it is not on disk (rebuilt from the map on first use), so blocks written
 * but never committed before a crash are free again.  An allocation looks
 * for a run of free blocks from a hint just past the last allocation,
 * skipping full words, so appends and rewrites cost O(1) words amortised.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ds.h"

static unsigned int chunk_hash(u64 id)
{
	return (unsigned int)(id * 0x9e3779b97f4a7c15ull >> 54);
}

/* ---- the LRU list of idle chunks, under ds->cache_lock ---- */

static void lru_del(struct ds *ds, struct ds_chunk *c)
{
	if (c->lru_prev)
		c->lru_prev->lru_next = c->lru_next;
	else if (ds->lru_head == c)
		ds->lru_head = c->lru_next;
	else
		return;		/* not on the list */
	if (c->lru_next)
		c->lru_next->lru_prev = c->lru_prev;
	else
		ds->lru_tail = c->lru_prev;
	c->lru_prev = c->lru_next = NULL;
	ds->lru_count--;
}

static void lru_add_tail(struct ds *ds, struct ds_chunk *c)
{
	c->lru_next = NULL;
	c->lru_prev = ds->lru_tail;
	if (ds->lru_tail)
		ds->lru_tail->lru_next = c;
	else
		ds->lru_head = c;
	ds->lru_tail = c;
	ds->lru_count++;
}

static void hash_del(struct ds *ds, struct ds_chunk *c)
{
	struct ds_chunk **pp;

	for (pp = &ds->cache[chunk_hash(c->id)]; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

static void chunk_destroy(struct ds_chunk *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->blocks);
	pthread_mutex_destroy(&c->mutex);
	pthread_cond_destroy(&c->cond);
	pthread_rwlock_destroy(&c->rw);
	free(c);
}

struct ds_chunk *chunk_get(struct ds *ds, u64 id)
{
	unsigned int h = chunk_hash(id);
	struct ds_chunk *c;

	pthread_mutex_lock(&ds->cache_lock);
	for (c = ds->cache[h]; c; c = c->next) {
		if (c->id == id) {
			if (!c->users++)
				lru_del(ds, c);
			pthread_mutex_unlock(&ds->cache_lock);
			return c;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		pthread_mutex_unlock(&ds->cache_lock);
		return NULL;
	}
	c->id = id;
	c->fd = -1;
	c->users = 1;
	pthread_mutex_init(&c->mutex, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_rwlock_init(&c->rw, NULL);
	c->next = ds->cache[h];
	ds->cache[h] = c;
	pthread_mutex_unlock(&ds->cache_lock);
	return c;
}

void chunk_put(struct ds *ds, struct ds_chunk *c)
{
	struct ds_chunk *victim = NULL;

	pthread_mutex_lock(&ds->cache_lock);
	if (--c->users) {
		pthread_mutex_unlock(&ds->cache_lock);
		return;
	}
	lru_add_tail(ds, c);
	if (ds->lru_count > DS_CHUNK_CACHE) {
		victim = ds->lru_head;
		lru_del(ds, victim);
		hash_del(ds, victim);
	}
	pthread_mutex_unlock(&ds->cache_lock);
	if (victim)
		chunk_destroy(victim);
}

void chunk_forget(struct ds *ds, u64 id)
{
	struct ds_chunk *c, *victim = NULL;

	pthread_mutex_lock(&ds->cache_lock);
	for (c = ds->cache[chunk_hash(id)]; c; c = c->next) {
		if (c->id != id)
			continue;
		if (!c->users) {
			lru_del(ds, c);
			hash_del(ds, c);
			victim = c;
			break;
		}
		/* stays allocated (others hold it), but empty */
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		free(c->blocks);
		c->blocks = NULL;
		c->nbits = 0;
		c->hint = 0;
		c->loaded = false;
		break;
	}
	pthread_mutex_unlock(&ds->cache_lock);
	if (victim)
		chunk_destroy(victim);
}

/*
 * Versioned writes (WRITE, PUNCH) reach a replica in any order and are
 * applied in version order there; anything else (a clone, a delete, a
 * new epoch, a copy to a new server) must find the replicas with every
 * write the primary committed before it, and the chunk with no write
 * between its plan and its commit.  A quiescer holds the mutex except
 * while it waits here, and while it waits no new write starts and no
 * writer leaves the mutex before its forwards are in, so it cannot
 * starve.
 */
void chunk_quiesce(struct ds_chunk *c)
{
	c->quiescing++;
	while (c->fwd_inflight || c->wr_inflight)
		pthread_cond_wait(&c->cond, &c->mutex);
	/* writers held back for us go on once we leave the mutex */
	if (!--c->quiescing)
		pthread_cond_broadcast(&c->cond);
}

int chunk_fd(struct ds *ds, struct ds_chunk *c, bool create)
{
	char name[20];
	int fd;

	pthread_mutex_lock(&ds->cache_lock);
	if (c->fd < 0) {
		snprintf(name, sizeof(name), "%016llx", (unsigned long long)c->id);
		fd = openat(ds->st.dirfd, name,
			    O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
		if (fd < 0) {
			fd = -errno;
			pthread_mutex_unlock(&ds->cache_lock);
			return fd == -ENOENT ? -EUCLEAN : fd;
		}
		c->fd = fd;
	}
	fd = c->fd;
	pthread_mutex_unlock(&ds->cache_lock);
	return fd;
}

int chunk_dup_fd(struct ds *ds, struct ds_chunk *c)
{
	int fd = chunk_fd(ds, c, false);

	if (fd < 0)
		return fd;
	/* under the lock chunk_forget closes it with */
	pthread_mutex_lock(&ds->cache_lock);
	fd = c->fd < 0 ? -EUCLEAN : fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0 && c->fd >= 0)
		fd = -errno;
	pthread_mutex_unlock(&ds->cache_lock);
	return fd;
}

/* ---- blocks ---- */

static int blk_grow(struct ds_chunk *c, u32 nbits)
{
	u32 words = (nbits + 63) / 64, have = (c->nbits + 63) / 64;
	u64 *p;

	if (nbits <= c->nbits)
		return 0;
	if (words > have) {
		/* doubling keeps appends amortised O(1) */
		u32 cap = have ? have : 4;

		while (cap < words)
			cap *= 2;
		p = realloc(c->blocks, cap * sizeof(u64));
		if (!p)
			return -ENOMEM;
		memset(p + have, 0, (cap - have) * sizeof(u64));
		c->blocks = p;
		c->nbits = cap * 64;
		return 0;
	}
	c->nbits = words * 64;
	return 0;
}

static bool blk_busy(const struct ds_chunk *c, u32 b)
{
	return b < c->nbits && (c->blocks[b / 64] >> (b % 64)) & 1;
}

int blk_mark(struct ds_chunk *c, u32 b)
{
	int ret = blk_grow(c, b + 1);

	if (ret)
		return ret;
	c->blocks[b / 64] |= 1ull << (b % 64);
	return 0;
}

void blk_free(struct ds_chunk *c, u32 b)
{
	if (b < c->nbits)
		c->blocks[b / 64] &= ~(1ull << (b % 64));
	if (b < c->hint)
		c->hint = b;
}

/* first run of n free blocks at or after from, below limit; -1 if none */
static long blk_find_run(const struct ds_chunk *c, u32 from, u32 limit, u32 n)
{
	u32 b = from, run = 0, start = from;

	while (b < limit) {
		if (!(b % 64) && b + 64 <= limit && c->blocks[b / 64] == ~0ull) {
			b += 64;	/* a full word: skip it whole */
			run = 0;
			start = b;
			continue;
		}
		if (blk_busy(c, b)) {
			run = 0;
			start = ++b;
			continue;
		}
		if (++run == n)
			return start;
		b++;
	}
	return -1;
}

/*
 * Take n blocks for one extent's new data, into out[] in order: one run
 * when there is one (a later read of the extent is one pread), else the
 * first free ones, else past the end of the file.
 */
int blk_alloc(struct ds_chunk *c, u32 n, u32 *out)
{
	long s;
	u32 i, b;
	int ret;

	s = blk_find_run(c, c->hint, c->nbits, n);
	if (s < 0 && c->hint)
		s = blk_find_run(c, 0, c->nbits, n);
	if (s >= 0) {
		for (i = 0; i < n; i++) {
			out[i] = (u32)s + i;
			c->blocks[(s + i) / 64] |= 1ull << ((s + i) % 64);
		}
		c->hint = (u32)s + n;
		return 0;
	}
	/* scattered into holes, then appended */
	for (i = 0, b = 0; i < n; i++, b++) {
		while (blk_busy(c, b))
			b++;
		ret = blk_mark(c, b);
		if (ret) {
			while (i--)
				blk_free(c, out[i]);
			return ret;
		}
		out[i] = b;
	}
	c->hint = b;
	return 0;
}
