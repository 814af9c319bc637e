// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-fsx: a file data verifier.  Random, seeded (so reproducible)
 * mixes of reads, writes, truncates, fallocate modes, mmap, O_DIRECT and
 * syncs are run against a file and mirrored in an in-memory model; every
 * byte read back is compared with the model.
 *
 *   vdifs-fsx [-s SEED] [-n OPS] [-p PROCS] [-l MAXLEN] [-S MAXSIZE]
 *             [-m DIR2] [-o OPLIST] [-t SECS] [-q] [-d] [-k] DIR
 *
 * Each of PROCS child processes owns DIR/fsx.<i> and its own model, so
 * the children really run concurrently while each one's result stays
 * deterministic: child i uses seed SEED + i.  With -m, DIR2 is a second
 * mount of the same file system and the children now and then close the
 * file and reopen it through the other mount, which checks close-to-open
 * consistency between two clients.
 *
 * Exit status: 0 all verified, 1 a mismatch, a failed system call or a
 * watchdog timeout, 2 a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#define PROG		"vdifs-fsx"
#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define DIO_ALIGN	4096ULL		/* O_DIRECT offset/length/buffer */
#define LOG_LEN		20		/* ops shown when something fails */
#define VERIFY_EVERY	5000		/* ops between full-file verifies */
#define VERIFY_CHUNK	(1ULL << 20)
#define NEAR_EOF	(64ULL << 10)	/* "close to EOF" for offsets */
#define PROGRESS_SECS	10

enum {
	OP_READ, OP_WRITE, OP_MAPREAD, OP_MAPWRITE, OP_TRUNCATE, OP_PUNCH,
	OP_ZERO, OP_FALLOC, OP_DREAD, OP_DWRITE, OP_FSYNC, OP_SEEK,
	OP_REOPEN,
	NR_OPS,
	/* never drawn at random; only logged */
	OP_VERIFY = NR_OPS, OP_SKIP, OP_OPEN,
};

/*
 * Weights per thousand.  Reopen is rare because, when it switches
 * mounts, it re-reads the whole file.
 */
static const struct {
	const char *name;
	unsigned weight;
} opdefs[NR_OPS] = {
	[OP_READ]	= { "read",	228 },
	[OP_WRITE]	= { "write",	230 },
	[OP_MAPREAD]	= { "mapread",	70 },
	[OP_MAPWRITE]	= { "mapwrite",	70 },
	[OP_TRUNCATE]	= { "truncate",	50 },
	[OP_PUNCH]	= { "punch",	60 },
	[OP_ZERO]	= { "zero",	50 },
	[OP_FALLOC]	= { "falloc",	50 },
	[OP_DREAD]	= { "dread",	50 },
	[OP_DWRITE]	= { "dwrite",	50 },
	[OP_FSYNC]	= { "fsync",	20 },
	[OP_SEEK]	= { "seek",	40 },
	[OP_REOPEN]	= { "reopen",	2 },
};

struct opts {
	uint64_t seed;
	uint64_t nops;
	unsigned procs;
	uint64_t maxlen;
	uint64_t maxsize;
	const char *dir[2];
	unsigned enabled;	/* bit per OP_* */
	unsigned timeout;
	bool quiet, debug, keep;
	char cmdline[1024];
};

struct logent {
	uint64_t n;
	uint64_t off, len;
	uint64_t size_before, size_after;
	uint8_t op;
	uint8_t var;		/* variant: keep-size, fdatasync, ... */
	uint8_t mnt;		/* which mount the fd was opened through */
};

struct child {
	const struct opts *o;
	unsigned id;
	uint64_t seed;
	uint64_t rng;
	uint64_t nops;
	uint64_t opnum;
	char path[2][PATH_MAX];
	unsigned mnt;
	int fd;
	int dfd;		/* O_DIRECT fd; -1 until a direct op needs it */
	uint8_t *model;		/* maxsize bytes; zero beyond size, always */
	uint8_t *buf;		/* data to write */
	uint8_t *got;		/* data read back */
	uint8_t *dbuf;		/* aligned buffer for O_DIRECT */
	uint64_t size;
	uint64_t maxsize_al;	/* maxsize rounded down to DIO_ALIGN */
	uint64_t dio_maxlen;
	uint64_t pagesz;
	struct logent log[LOG_LEN];
	unsigned nlog;
	time_t last_progress;
};

static struct child *cur;	/* for the signal handlers */
static sigjmp_buf map_jmp;
static volatile sig_atomic_t in_map;

/*
 * Failure reports are built in a static buffer and written with one
 * write(2), so reports from concurrent children do not interleave line
 * by line, and so the watchdog can produce one without malloc.
 */
static char rep[64 << 10];
static size_t replen;

static void rp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rp(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (replen >= sizeof(rep) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(rep + replen, sizeof(rep) - replen, fmt, ap);
	va_end(ap);
	if (n > 0)
		replen += (size_t)n < sizeof(rep) - replen ?
			  (size_t)n : sizeof(rep) - replen - 1;
}

static void rp_flush(void)
{
	size_t done = 0;

	while (done < replen) {
		ssize_t n = write(STDERR_FILENO, rep + done, replen - done);

		if (n <= 0 && errno != EINTR)
			break;
		if (n > 0)
			done += n;
	}
	replen = 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* splitmix64: tiny, good enough, and the same on every libc */
static uint64_t rnd(struct child *c)
{
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(struct child *c, uint64_t n)
{
	return n ? rnd(c) % n : 0;
}

static void fill_random(struct child *c, uint8_t *p, uint64_t len)
{
	while (len >= 8) {
		uint64_t v = rnd(c);

		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = rnd(c);

		memcpy(p, &v, len);
	}
}

static const char *opname(uint8_t op, uint8_t var)
{
	switch (op) {
	case OP_ZERO:
		return var ? "zero_keep" : "zero";
	case OP_FALLOC:
		return var ? "falloc_keep" : "falloc";
	case OP_FSYNC:
		return var ? "fdatasync" : "fsync";
	case OP_VERIFY:
		return "verify";
	case OP_SKIP:
		return "skip";
	case OP_OPEN:
		return "open";
	default:
		return op < NR_OPS ? opdefs[op].name : "?";
	}
}

static void rp_logent(const struct child *c, const struct logent *e)
{
	rp("    #%-8" PRIu64 " %-11s ", e->n, opname(e->op, e->var));
	if (e->op == OP_TRUNCATE)
		rp("to  0x%-21" PRIx64, e->off);
	else
		rp("off 0x%-8" PRIx64 " len 0x%-6" PRIx64, e->off, e->len);
	rp(" size 0x%" PRIx64 " -> 0x%" PRIx64, e->size_before, e->size_after);
	if (c->o->dir[1])
		rp(" [%s]", e->mnt ? "DIR2" : "DIR");
	rp("\n");
}

static void rp_header(const struct child *c)
{
	const struct logent *e = c->nlog ?
		&c->log[(c->nlog - 1) % LOG_LEN] : NULL;

	rp(PROG ": FAIL: child %u (seed %" PRIu64 ", file %s), op %" PRIu64,
	   c->id, c->seed, c->path[c->mnt], c->opnum);
	if (e && e->n == c->opnum)
		rp(" %s off 0x%" PRIx64 " (%" PRIu64 ") len 0x%" PRIx64
		   " (%" PRIu64 ")", opname(e->op, e->var), e->off, e->off,
		   e->len, e->len);
	rp(":\n");
}

static void rp_trailer(const struct child *c)
{
	unsigned i, n = min_u64(c->nlog, LOG_LEN);

	rp("  model size 0x%" PRIx64 " (%" PRIu64 "); last %u ops of child "
	   "%u, oldest first:\n", c->size, c->size, n, c->id);
	for (i = c->nlog - n; i < c->nlog; i++)
		rp_logent(c, &c->log[i % LOG_LEN]);
	rp("  reproduce: %s\n", c->o->cmdline);
}

static void die(struct child *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void die(struct child *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rp_header(c);
	rp("  %s\n", msg);
	rp_trailer(c);
	rp_flush();
	_exit(EXIT_FAIL);
}

/* what to pass to -o to leave out the ops that share op's system call */
static const char *exclusion(unsigned op)
{
	switch (op) {
	case OP_DREAD:
	case OP_DWRITE:
		return "^dread,^dwrite";
	case OP_MAPREAD:
	case OP_MAPWRITE:
		return "^mapread,^mapwrite";
	default:
		return op < NR_OPS ? opdefs[op].name : NULL;
	}
}

/* A failed system call: name it, with errno and a hint where it helps. */
static void die_sys(struct child *c, unsigned op, const char *call)
	__attribute__((noreturn));
static void die_sys(struct child *c, unsigned op, const char *call)
{
	int e = errno;
	const char *ex = exclusion(op);
	bool unsupported = e == EOPNOTSUPP || e == ENOSYS || e == ENODEV ||
		(e == EINVAL && (op == OP_DREAD || op == OP_DWRITE));

	if (unsupported && ex)
		die(c, "%s failed: %s (errno %d, %s): the file system lacks "
		    "this; to test the rest, leave it out with -o %s%s", call,
		    strerror(e), e, strerrorname_np(e) ?: "?",
		    *ex == '^' ? "" : "^", ex);
	die(c, "%s failed: %s (errno %d, %s)", call, strerror(e), e,
	    strerrorname_np(e) ?: "?");
}

static void logop(struct child *c, unsigned op, unsigned var, uint64_t off,
		  uint64_t len)
{
	struct logent *e = &c->log[c->nlog++ % LOG_LEN];

	e->n = c->opnum;
	e->op = op;
	e->var = var;
	e->mnt = c->mnt;
	e->off = off;
	e->len = len;
	e->size_before = c->size;
	e->size_after = c->size;
	if (c->o->debug) {
		printf("child %u #%" PRIu64 " %s off 0x%" PRIx64 " len 0x%"
		       PRIx64 " size 0x%" PRIx64 "\n", c->id, c->opnum,
		       opname(op, var), off, len, c->size);
		fflush(stdout);
	}
}

static void set_size(struct child *c, uint64_t size)
{
	/* keep the invariant "model is zero beyond size" */
	if (size < c->size)
		memset(c->model + size, 0, c->size - size);
	c->size = size;
	c->log[(c->nlog - 1) % LOG_LEN].size_after = size;
}

static void check_size(struct child *c, const char *when)
{
	struct stat st;

	if (fstat(c->fd, &st) < 0)
		die_sys(c, c->log[(c->nlog - 1) % LOG_LEN].op, "fstat");
	if ((uint64_t)st.st_size != c->size)
		die(c, "file size %" PRIu64 " (0x%" PRIx64 ") %s, model says "
		    "%" PRIu64 " (0x%" PRIx64 ")", (uint64_t)st.st_size,
		    (uint64_t)st.st_size, when, c->size, c->size);
}

/* Byte offset of the first nonzero byte in p[0..n), or n. */
static uint64_t first_nonzero(const uint8_t *p, uint64_t n)
{
	uint64_t i = 0;

	while (i < n && ((uintptr_t)(p + i) & 7))
		if (p[i++])
			return i - 1;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		if (v)
			break;
	}
	for (; i < n; i++)
		if (p[i])
			return i;
	return n;
}

static void rp_hex(const char *label, const uint8_t *p, uint64_t n)
{
	uint64_t i;

	rp("    %-8s", label);
	for (i = 0; i < n; i++)
		rp(" %02x", p[i]);
	rp("\n");
}

/* got[] holds file bytes [off, off + n); compare them with the model. */
static void compare(struct child *c, const uint8_t *got, uint64_t off,
		    uint64_t n, const char *how)
{
	const uint8_t *want = c->model + off;
	uint64_t i, first, last, bad = 0, ctx;

	if (!memcmp(want, got, n))
		return;
	for (i = 0; want[i] == got[i]; i++)
		;
	first = last = i;
	for (; i < n; i++)
		if (want[i] != got[i]) {
			bad++;
			last = i;
		}
	ctx = min_u64(16, n - first);
	rp_header(c);
	rp("  data mismatch (%s) at file offset 0x%" PRIx64 " (%" PRIu64
	   "), +0x%" PRIx64 " into the range read: expected 0x%02x, got "
	   "0x%02x%s\n", how, off + first, off + first, first, want[first],
	   got[first], off + first >= c->size ?
	   " (beyond EOF: the rest of the last page must read as zeroes)" :
	   "");
	rp("  %" PRIu64 " of %" PRIu64 " bytes differ, between file offsets "
	   "0x%" PRIx64 " and 0x%" PRIx64 "%s\n", bad, n, off + first,
	   off + last, first_nonzero(got + first, last - first + 1) ==
	   last - first + 1 ? "; all of them read as zero (lost write?)" : "");
	rp("  %" PRIu64 " bytes from 0x%" PRIx64 ":\n", ctx, off + first);
	rp_hex("expected", want + first, ctx);
	rp_hex("got", got + first, ctx);
	rp_trailer(c);
	rp_flush();
	_exit(EXIT_FAIL);
}

/* pread until len bytes or EOF; a short read alone is not an error. */
static uint64_t full_pread(struct child *c, unsigned op, int fd, uint8_t *p,
			   uint64_t len, uint64_t off)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done, off + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_sys(c, op, "pread");
		}
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

static void full_pwrite(struct child *c, unsigned op, int fd,
			const uint8_t *p, uint64_t len, uint64_t off)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, p + done, len - done, off + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_sys(c, op, "pwrite");
		}
		if (n == 0)
			die(c, "pwrite wrote 0 of %" PRIu64 " bytes",
			    len - done);
		done += n;
	}
}

/*
 * An offset below limit.  Biased towards EOF (where sizes change and
 * partial pages live) and towards the existing data; mostly unaligned,
 * sometimes sector or page aligned.
 */
static uint64_t pick_off(struct child *c, uint64_t limit)
{
	uint64_t off, r = rnd_below(c, 100);

	if (!limit)
		return 0;
	if (r < 25) {
		uint64_t d = rnd_below(c, NEAR_EOF);

		if (rnd(c) & 1)
			off = c->size + d;
		else
			off = c->size > d ? c->size - d : 0;
	} else if (r < 70 && c->size) {
		off = rnd_below(c, c->size);
	} else {
		off = rnd_below(c, limit);
	}
	if (off >= limit)
		off = rnd_below(c, limit);
	r = rnd_below(c, 100);
	if (r < 15)
		off &= ~4095ULL;
	else if (r < 25)
		off &= ~511ULL;
	return off;
}

/* A length in [1, max] (0 only if max is 0), mostly small. */
static uint64_t pick_len(struct child *c, uint64_t max)
{
	uint64_t len, r = rnd_below(c, 100);

	if (r < 30)
		len = 1 + rnd_below(c, 1024);
	else if (r < 60)
		len = 1 + rnd_below(c, 65536);
	else if (r < 75)
		len = 4096 * (1 + rnd_below(c, 16));
	else
		len = 1 + rnd_below(c, c->o->maxlen);
	return min_u64(min_u64(len, c->o->maxlen), max);
}

/* A new file size for truncate. */
static uint64_t pick_size(struct child *c)
{
	uint64_t r = rnd_below(c, 100), maxsize = c->o->maxsize, d;

	if (r < 40) {
		d = rnd_below(c, NEAR_EOF);
		if (rnd(c) & 1)
			return min_u64(c->size + d, maxsize);
		return c->size > d ? c->size - d : 0;
	}
	if (r < 45)
		return 0;
	if (r < 55)
		return rnd_below(c, maxsize / 4096 + 1) * 4096;
	if (r < 75)
		return rnd_below(c, maxsize + 1);
	return rnd_below(c, c->size + 1);
}

static void open_file(struct child *c, unsigned mnt, unsigned op)
{
	int flags = O_RDWR;

	if (op == OP_OPEN)
		flags |= O_CREAT | O_TRUNC;
	c->mnt = mnt;
	c->fd = open(c->path[mnt], flags, 0644);
	if (c->fd < 0) {
		if (errno == ENOENT && mnt == 1)
			die(c, "open %s: the file written through DIR is not "
			    "there through DIR2: is DIR2 a mount of the same "
			    "file system?", c->path[mnt]);
		die_sys(c, op, "open");
	}
}

static void open_direct(struct child *c, unsigned op)
{
	if (c->dfd >= 0)
		return;
	c->dfd = open(c->path[c->mnt], O_RDWR | O_DIRECT);
	if (c->dfd < 0)
		die_sys(c, op, "open O_DIRECT");
}

static void close_file(struct child *c, unsigned op)
{
	if (c->dfd >= 0 && close(c->dfd) < 0)
		die_sys(c, op, "close O_DIRECT fd");
	c->dfd = -1;
	if (close(c->fd) < 0)
		die_sys(c, op, "close");
	c->fd = -1;
}

static void verify_range(struct child *c, uint64_t off, uint64_t len,
			 const char *how)
{
	uint64_t end = off + len;

	while (off < end) {
		uint64_t n = min_u64(end - off, VERIFY_CHUNK), got;

		got = full_pread(c, OP_VERIFY, c->fd, c->got, n, off);
		if (got != n)
			die(c, "%s: read of 0x%" PRIx64 "+0x%" PRIx64 " "
			    "returned %" PRIu64 " bytes, below the file size "
			    "0x%" PRIx64, how, off, n, got, c->size);
		compare(c, c->got, off, n, how);
		off += n;
	}
}

static void verify_all(struct child *c, const char *how)
{
	uint8_t b;
	ssize_t n;

	logop(c, OP_VERIFY, 0, 0, c->size);
	check_size(c, how);
	verify_range(c, 0, c->size, how);
	n = pread(c->fd, &b, 1, c->size);
	if (n < 0)
		die_sys(c, OP_VERIFY, "pread at EOF");
	if (n)
		die(c, "%s: pread at EOF (0x%" PRIx64 ") returned data",
		    how, c->size);
}

/*
 * SEEK_DATA/SEEK_HOLE from p, checked only as far as the model can tell:
 * a hole reads as zeroes, so a nonzero byte the model knows about can
 * never be inside a hole; beyond that the file system may report
 * data wherever it likes.
 */
static void seek_check(struct child *c, uint64_t p)
{
	uint64_t nz;
	off_t r;

	r = lseek(c->fd, p, SEEK_DATA);
	if (r < 0) {
		if (errno != ENXIO)
			die_sys(c, OP_SEEK, "lseek SEEK_DATA");
		if (p < c->size) {
			nz = first_nonzero(c->model + p, c->size - p);
			if (p + nz < c->size)
				die(c, "lseek(0x%" PRIx64 ", SEEK_DATA) said "
				    "ENXIO (no data to EOF), but the byte at "
				    "0x%" PRIx64 " is nonzero", p, p + nz);
		}
	} else {
		if (p >= c->size)
			die(c, "lseek(0x%" PRIx64 ", SEEK_DATA) at or beyond "
			    "EOF returned 0x%" PRIx64 ", not ENXIO", p,
			    (uint64_t)r);
		if ((uint64_t)r < p || (uint64_t)r > c->size)
			die(c, "lseek(0x%" PRIx64 ", SEEK_DATA) returned 0x%"
			    PRIx64 ", outside [offset, size]", p,
			    (uint64_t)r);
		nz = first_nonzero(c->model + p, r - p);
		if (nz < (uint64_t)r - p)
			die(c, "lseek(0x%" PRIx64 ", SEEK_DATA) returned 0x%"
			    PRIx64 ", skipping the nonzero byte at 0x%" PRIx64,
			    p, (uint64_t)r, p + nz);
	}
	r = lseek(c->fd, p, SEEK_HOLE);
	if (r < 0) {
		if (errno != ENXIO)
			die_sys(c, OP_SEEK, "lseek SEEK_HOLE");
		if (p < c->size)
			die(c, "lseek(0x%" PRIx64 ", SEEK_HOLE) said ENXIO "
			    "below EOF", p);
	} else {
		if (p >= c->size)
			die(c, "lseek(0x%" PRIx64 ", SEEK_HOLE) at or beyond "
			    "EOF returned 0x%" PRIx64 ", not ENXIO", p,
			    (uint64_t)r);
		if ((uint64_t)r < p || (uint64_t)r > c->size)
			die(c, "lseek(0x%" PRIx64 ", SEEK_HOLE) returned 0x%"
			    PRIx64 ", outside [offset, size]", p,
			    (uint64_t)r);
	}
}

static void do_read(struct child *c)
{
	uint64_t off, len, n, want;

	/* reach past EOF now and then: short reads are checked too */
	off = pick_off(c, min_u64(c->o->maxsize, c->size + NEAR_EOF));
	len = pick_len(c, c->o->maxlen);
	logop(c, OP_READ, 0, off, len);
	n = full_pread(c, OP_READ, c->fd, c->got, len, off);
	want = off < c->size ? min_u64(len, c->size - off) : 0;
	if (n != want)
		die(c, "pread returned %" PRIu64 " bytes, expected %" PRIu64,
		    n, want);
	compare(c, c->got, off, n, "pread");
}

static void do_write(struct child *c)
{
	uint64_t off = pick_off(c, c->o->maxsize);
	uint64_t len = pick_len(c, c->o->maxsize - off);

	fill_random(c, c->buf, len);
	logop(c, OP_WRITE, 0, off, len);
	full_pwrite(c, OP_WRITE, c->fd, c->buf, len, off);
	memcpy(c->model + off, c->buf, len);
	if (off + len > c->size)
		set_size(c, off + len);
	check_size(c, "after pwrite");
}

static uint64_t page_up(struct child *c, uint64_t v)
{
	return (v + c->pagesz - 1) & ~(c->pagesz - 1);
}

static void sigbus(int sig)
{
	if (in_map)
		siglongjmp(map_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void do_mapread(struct child *c)
{
	uint64_t off, len, pg, mlen;
	uint8_t *p;

	if (!c->size) {
		logop(c, OP_SKIP, 0, 0, 0);
		return;
	}
	off = pick_off(c, c->size);
	len = pick_len(c, c->size - off);
	pg = off & ~(c->pagesz - 1);
	mlen = off + len - pg;
	/*
	 * When the range reaches the last page, map all of it: the bytes
	 * past EOF there must read as zeroes (and the model has zeroes).
	 */
	if (page_up(c, off + len) == page_up(c, c->size))
		mlen = page_up(c, c->size) - pg;
	logop(c, OP_MAPREAD, 0, off, len);
	p = mmap(NULL, mlen, PROT_READ, MAP_SHARED, c->fd, pg);
	if (p == MAP_FAILED)
		die_sys(c, OP_MAPREAD, "mmap");
	if (sigsetjmp(map_jmp, 1)) {
		in_map = 0;
		die(c, "SIGBUS reading the mapping of 0x%" PRIx64 "+0x%"
		    PRIx64 " (file size 0x%" PRIx64 ")", pg, mlen, c->size);
	}
	in_map = 1;
	memcpy(c->got, p, mlen);
	in_map = 0;
	if (munmap(p, mlen) < 0)
		die_sys(c, OP_MAPREAD, "munmap");
	compare(c, c->got, pg, mlen, "mmap read");
}

static void do_mapwrite(struct child *c)
{
	uint64_t off, len, pg, mlen;
	uint8_t *p;

	if (!c->size) {
		logop(c, OP_SKIP, 0, 0, 0);
		return;
	}
	/* only within EOF: a store past EOF would SIGBUS or be lost */
	off = pick_off(c, c->size);
	len = pick_len(c, c->size - off);
	pg = off & ~(c->pagesz - 1);
	mlen = off + len - pg;
	fill_random(c, c->buf, len);
	logop(c, OP_MAPWRITE, 0, off, len);
	p = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, pg);
	if (p == MAP_FAILED)
		die_sys(c, OP_MAPWRITE, "mmap");
	if (sigsetjmp(map_jmp, 1)) {
		in_map = 0;
		die(c, "SIGBUS writing the mapping of 0x%" PRIx64 "+0x%"
		    PRIx64 " (file size 0x%" PRIx64 ")", pg, mlen, c->size);
	}
	in_map = 1;
	memcpy(p + (off - pg), c->buf, len);
	in_map = 0;
	if (msync(p, mlen, MS_SYNC) < 0)
		die_sys(c, OP_MAPWRITE, "msync");
	if (munmap(p, mlen) < 0)
		die_sys(c, OP_MAPWRITE, "munmap");
	memcpy(c->model + off, c->buf, len);
	check_size(c, "after mmap write");
}

static void do_truncate(struct child *c)
{
	uint64_t size = pick_size(c);

	logop(c, OP_TRUNCATE, 0, size, 0);
	if (ftruncate(c->fd, size) < 0)
		die_sys(c, OP_TRUNCATE, "ftruncate");
	set_size(c, size);
	check_size(c, "after ftruncate");
}

static void do_fallocate(struct child *c, unsigned op)
{
	uint64_t off = pick_off(c, c->o->maxsize);
	uint64_t len = pick_len(c, c->o->maxsize - off), end;
	unsigned var = 0;
	int mode;
	char call[64];

	switch (op) {
	case OP_PUNCH:
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		break;
	case OP_ZERO:
		var = rnd(c) & 1;
		mode = FALLOC_FL_ZERO_RANGE | (var ? FALLOC_FL_KEEP_SIZE : 0);
		break;
	default:
		var = rnd(c) & 1;
		mode = var ? FALLOC_FL_KEEP_SIZE : 0;
		break;
	}
	logop(c, op, var, off, len);
	if (fallocate(c->fd, mode, off, len) < 0) {
		snprintf(call, sizeof(call), "fallocate(%s)",
			 op == OP_PUNCH ? "PUNCH_HOLE|KEEP_SIZE" :
			 op == OP_ZERO ? (var ? "ZERO_RANGE|KEEP_SIZE" :
					  "ZERO_RANGE") :
			 var ? "KEEP_SIZE" : "0");
		die_sys(c, op, call);
	}
	if (op != OP_FALLOC) {
		/* beyond EOF the model is zero already */
		end = min_u64(off + len, c->size);
		if (off < end)
			memset(c->model + off, 0, end - off);
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > c->size)
		set_size(c, off + len);
	check_size(c, "after fallocate");
	if (op == OP_PUNCH && off < c->size)
		seek_check(c, off + rnd_below(c, min_u64(off + len, c->size) -
						 off));
}

/* An aligned offset for O_DIRECT, near the data most of the time. */
static uint64_t pick_dio_off(struct child *c, uint64_t limit)
{
	uint64_t span = limit / DIO_ALIGN;

	if (c->size && rnd_below(c, 100) < 60)
		span = min_u64(span, page_up(c, c->size) / DIO_ALIGN + 1);
	return rnd_below(c, span) * DIO_ALIGN;
}

static void do_dread(struct child *c)
{
	uint64_t off, len, want, done = 0;

	off = pick_dio_off(c, c->maxsize_al);
	len = DIO_ALIGN * (1 + rnd_below(c, c->dio_maxlen / DIO_ALIGN));
	logop(c, OP_DREAD, 0, off, len);
	open_direct(c, OP_DREAD);
	/* continue a short read only from an aligned offset */
	while (done < len && !((off + done) % DIO_ALIGN)) {
		ssize_t n = pread(c->dfd, c->dbuf + done, len - done,
				  off + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_sys(c, OP_DREAD, "O_DIRECT pread");
		}
		if (!n)
			break;
		done += n;
	}
	want = off < c->size ? min_u64(len, c->size - off) : 0;
	if (done != want)
		die(c, "O_DIRECT pread returned %" PRIu64 " bytes, expected %"
		    PRIu64, done, want);
	compare(c, c->dbuf, off, done, "O_DIRECT pread");
}

static void do_dwrite(struct child *c)
{
	uint64_t off, len, done = 0;

	off = pick_dio_off(c, c->maxsize_al);
	len = DIO_ALIGN * (1 + rnd_below(c, c->dio_maxlen / DIO_ALIGN));
	len = min_u64(len, c->maxsize_al - off);
	fill_random(c, c->dbuf, len);
	logop(c, OP_DWRITE, 0, off, len);
	open_direct(c, OP_DWRITE);
	while (done < len) {
		ssize_t n = pwrite(c->dfd, c->dbuf + done, len - done,
				   off + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_sys(c, OP_DWRITE, "O_DIRECT pwrite");
		}
		if (!n || (n % DIO_ALIGN && done + n < len))
			die(c, "O_DIRECT pwrite wrote %zd of %" PRIu64
			    " bytes", n, len - done);
		done += n;
	}
	memcpy(c->model + off, c->dbuf, len);
	if (off + len > c->size)
		set_size(c, off + len);
	check_size(c, "after O_DIRECT pwrite");
}

static void do_fsync(struct child *c)
{
	unsigned var = rnd(c) & 1;

	logop(c, OP_FSYNC, var, 0, 0);
	if ((var ? fdatasync(c->fd) : fsync(c->fd)) < 0)
		die_sys(c, OP_FSYNC, var ? "fdatasync" : "fsync");
}

static void do_seek(struct child *c)
{
	uint64_t p = pick_off(c, c->size + DIO_ALIGN);

	logop(c, OP_SEEK, 0, p, 0);
	seek_check(c, p);
}

/*
 * Close and reopen, through the other mount when there is one: after
 * close() on one client, open() on the other must see every byte.
 */
static void do_reopen(struct child *c)
{
	unsigned to = c->o->dir[1] ? !c->mnt : c->mnt;
	uint64_t off, len;

	logop(c, OP_REOPEN, to, 0, 0);
	c->log[(c->nlog - 1) % LOG_LEN].mnt = to;	/* where it goes */
	close_file(c, OP_REOPEN);
	open_file(c, to, OP_REOPEN);
	if (c->o->dir[1]) {
		verify_all(c, "after reopening through the other mount");
		return;
	}
	check_size(c, "after reopen");
	off = pick_off(c, c->size);
	len = min_u64(c->size - off, c->o->maxlen);
	verify_range(c, off, len, "after reopen");
}

static unsigned pick_op(struct child *c)
{
	unsigned total = 0, i, r;

	for (i = 0; i < NR_OPS; i++)
		if (c->o->enabled & (1U << i))
			total += opdefs[i].weight;
	r = rnd_below(c, total);
	for (i = 0; i < NR_OPS; i++) {
		if (!(c->o->enabled & (1U << i)))
			continue;
		if (r < opdefs[i].weight)
			return i;
		r -= opdefs[i].weight;
	}
	return OP_READ;
}

static void do_op(struct child *c, unsigned op)
{
	switch (op) {
	case OP_READ:
		do_read(c);
		break;
	case OP_WRITE:
		do_write(c);
		break;
	case OP_MAPREAD:
		do_mapread(c);
		break;
	case OP_MAPWRITE:
		do_mapwrite(c);
		break;
	case OP_TRUNCATE:
		do_truncate(c);
		break;
	case OP_PUNCH:
	case OP_ZERO:
	case OP_FALLOC:
		do_fallocate(c, op);
		break;
	case OP_DREAD:
		do_dread(c);
		break;
	case OP_DWRITE:
		do_dwrite(c);
		break;
	case OP_FSYNC:
		do_fsync(c);
		break;
	case OP_SEEK:
		do_seek(c);
		break;
	case OP_REOPEN:
		do_reopen(c);
		break;
	}
}

/* async-signal-safe enough: we _exit right after */
static void watchdog(int sig)
{
	struct child *c = cur;

	if (c) {
		rp_header(c);
		rp("  watchdog: not finished after %u s: a system call hangs "
		   "or the file system is far too slow\n", c->o->timeout);
		rp_trailer(c);
	} else {
		rp(PROG ": FAIL: watchdog: not finished in time\n");
	}
	rp_flush();
	_exit(EXIT_FAIL);
}

static void *alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, PROG ": cannot allocate %zu bytes: %s\n", n,
			strerror(errno));
		_exit(EXIT_FAIL);
	}
	return p;
}

static void progress(struct child *c)
{
	time_t now = time(NULL);

	if (c->o->quiet || now - c->last_progress < PROGRESS_SECS)
		return;
	c->last_progress = now;
	printf(PROG ": child %u: %" PRIu64 " of %" PRIu64 " ops\n", c->id,
	       c->opnum, c->nops);
	fflush(stdout);
}

static void run_child(const struct opts *o, unsigned id)
{
	struct child *c = calloc(1, sizeof(*c));
	struct sigaction sa = { 0 };
	uint64_t bufsz;
	unsigned i;

	if (!c)
		_exit(EXIT_FAIL);
	c->o = o;
	c->id = id;
	c->seed = o->seed + id;
	c->rng = c->seed;
	c->nops = o->nops / o->procs + (id < o->nops % o->procs);
	c->pagesz = sysconf(_SC_PAGESIZE);
	c->maxsize_al = o->maxsize / DIO_ALIGN * DIO_ALIGN;
	c->dio_maxlen = max_u64(o->maxlen / DIO_ALIGN * DIO_ALIGN, DIO_ALIGN);
	c->fd = c->dfd = -1;
	c->last_progress = time(NULL);
	for (i = 0; i < 2; i++)
		if (o->dir[i])
			snprintf(c->path[i], sizeof(c->path[i]), "%s/fsx.%u",
				 o->dir[i], id);
	cur = c;

	sa.sa_handler = sigbus;
	sigaction(SIGBUS, &sa, NULL);
	sa.sa_handler = watchdog;
	sigaction(SIGALRM, &sa, NULL);
	alarm(o->timeout);

	/* room for mmap reads of the whole last page */
	c->model = alloc(o->maxsize + max_u64(DIO_ALIGN, c->pagesz));
	c->buf = alloc(o->maxlen);
	/* mmap reads may take up to a page either side of the range */
	bufsz = max_u64(o->maxlen, VERIFY_CHUNK) + 2 * c->pagesz;
	c->got = alloc(bufsz);
	c->dbuf = alloc(c->dio_maxlen);	/* page aligned */

	logop(c, OP_OPEN, 0, 0, 0);
	open_file(c, 0, OP_OPEN);
	for (c->opnum = 1; c->opnum <= c->nops; c->opnum++) {
		do_op(c, pick_op(c));
		if (!(c->opnum % VERIFY_EVERY))
			verify_all(c, "periodic full-file verify");
		progress(c);
	}
	c->opnum = c->nops;
	verify_all(c, "final full-file verify");
	if (o->dir[1]) {
		/* the last word must also be visible to the other client */
		logop(c, OP_REOPEN, !c->mnt, 0, 0);
		c->log[(c->nlog - 1) % LOG_LEN].mnt = !c->mnt;
		close_file(c, OP_REOPEN);
		open_file(c, !c->mnt, OP_REOPEN);
		verify_all(c, "final verify through the other mount");
	}
	close_file(c, OP_VERIFY);
	if (!o->keep && unlink(c->path[0]) < 0)
		die_sys(c, OP_VERIFY, "unlink");
	_exit(0);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	unsigned i;

	fprintf(stderr,
		"usage: " PROG " [-s SEED] [-n OPS] [-p PROCS] [-l MAXLEN] "
		"[-S MAXSIZE]\n"
		"                 [-m DIR2] [-o OPLIST] [-t SECS] [-q] [-d] "
		"[-k] DIR\n"
		"  -s SEED    random seed (default: from the clock); child i "
		"uses SEED+i\n"
		"  -n OPS     operations in all, split between the children "
		"(default 100000)\n"
		"  -p PROCS   child processes, each on its own DIR/fsx.<i> "
		"(default 2)\n"
		"  -l MAXLEN  largest single I/O (default 256k)\n"
		"  -S MAXSIZE largest file size (default 8m, at most 1g)\n"
		"  -m DIR2    second mount of the same file system: reopen "
		"through it now and then\n"
		"  -o OPLIST  comma list of ops to run; ^OP leaves one out "
		"(default all)\n"
		"  -t SECS    per-child watchdog (default 1200)\n"
		"  -q         quiet: no start line, no progress\n"
		"  -d         print every op\n"
		"  -k         keep the files\n"
		"ops:");
	for (i = 0; i < NR_OPS; i++)
		fprintf(stderr, " %s", opdefs[i].name);
	fprintf(stderr, "\nsizes take a k, m or g suffix\n");
	exit(EXIT_USAGE);
}

static uint64_t parse_num(const char *s, bool suffix)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		usage();
	if (suffix && *end) {
		unsigned shift = 0;

		switch (*end) {
		case 'k': case 'K':
			shift = 10;
			break;
		case 'm': case 'M':
			shift = 20;
			break;
		case 'g': case 'G':
			shift = 30;
			break;
		default:
			usage();
		}
		if (end[1] || v > (UINT64_MAX >> shift))
			usage();
		v <<= shift;
		end++;
	}
	if (*end)
		usage();
	return v;
}

static unsigned parse_oplist(const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;
	unsigned mask = 0, i;
	bool first = true;

	if (!copy)
		exit(EXIT_FAIL);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save), first = false) {
		bool neg = *tok == '^';

		if (neg) {
			tok++;
			if (first)
				mask = (1U << NR_OPS) - 1;
		}
		if (!strcmp(tok, "all")) {
			mask = neg ? 0 : (1U << NR_OPS) - 1;
			continue;
		}
		for (i = 0; i < NR_OPS; i++)
			if (!strcmp(tok, opdefs[i].name))
				break;
		if (i == NR_OPS) {
			fprintf(stderr, PROG ": unknown op '%s' in -o\n", tok);
			usage();
		}
		if (neg)
			mask &= ~(1U << i);
		else
			mask |= 1U << i;
	}
	free(copy);
	if (!mask) {
		fprintf(stderr, PROG ": -o leaves no op to run\n");
		usage();
	}
	return mask;
}

static void check_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, PROG ": %s: not a directory\n", dir);
		exit(EXIT_USAGE);
	}
}

static void save_cmdline(struct opts *o, int argc, char **argv)
{
	size_t len = 0;
	int i;

	/* with the seed made explicit, so the line reruns this run */
	len += snprintf(o->cmdline, sizeof(o->cmdline), "%s -s %" PRIu64,
			argv[0], o->seed);
	for (i = 1; i < argc && len < sizeof(o->cmdline); i++) {
		if (!strcmp(argv[i], "-s")) {
			i++;
			continue;
		}
		if (!strncmp(argv[i], "-s", 2))
			continue;
		len += snprintf(o->cmdline + len, sizeof(o->cmdline) - len,
				" %s", argv[i]);
	}
}

static volatile sig_atomic_t parent_timed_out;

static void parent_alarm(int sig)
{
	parent_timed_out = 1;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.nops = 100000, .procs = 2, .maxlen = 256 << 10,
		.maxsize = 8 << 20, .enabled = (1U << NR_OPS) - 1,
		.timeout = 1200,
	};
	struct sigaction sa = { 0 };
	bool seeded = false, failed = false;
	pid_t *pids;
	unsigned i, left;
	int opt;

	while ((opt = getopt(argc, argv, "s:n:p:l:S:m:o:t:qdkh")) != -1) {
		switch (opt) {
		case 's':
			o.seed = parse_num(optarg, false);
			seeded = true;
			break;
		case 'n':
			o.nops = parse_num(optarg, false);
			break;
		case 'p':
			o.procs = parse_num(optarg, false);
			break;
		case 'l':
			o.maxlen = parse_num(optarg, true);
			break;
		case 'S':
			o.maxsize = parse_num(optarg, true);
			break;
		case 'm':
			o.dir[1] = optarg;
			break;
		case 'o':
			o.enabled = parse_oplist(optarg);
			break;
		case 't':
			o.timeout = parse_num(optarg, false);
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'd':
			o.debug = true;
			break;
		case 'k':
			o.keep = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	o.dir[0] = argv[optind];
	if (!o.procs || o.procs > 64) {
		fprintf(stderr, PROG ": -p must be 1..64\n");
		exit(EXIT_USAGE);
	}
	if (o.maxsize < (64 << 10) || o.maxsize > (1ULL << 30)) {
		fprintf(stderr, PROG ": -S must be 64k..1g\n");
		exit(EXIT_USAGE);
	}
	if (!o.maxlen || o.maxlen > o.maxsize) {
		fprintf(stderr, PROG ": -l must be 1..MAXSIZE\n");
		exit(EXIT_USAGE);
	}
	if (!o.timeout) {
		fprintf(stderr, PROG ": -t must be > 0\n");
		exit(EXIT_USAGE);
	}
	check_dir(o.dir[0]);
	if (o.dir[1])
		check_dir(o.dir[1]);
	if (!seeded) {
		struct timeval tv;

		gettimeofday(&tv, NULL);
		o.seed = (uint32_t)(tv.tv_sec * 1000003 ^ tv.tv_usec ^
				    ((uint64_t)getpid() << 16));
	}
	save_cmdline(&o, argc, argv);
	if (!o.quiet)
		printf(PROG ": seed %" PRIu64 " (child i uses seed+i), %u "
		       "procs, %" PRIu64 " ops, maxsize %" PRIu64 ", maxlen %"
		       PRIu64 ", dir %s%s%s\n", o.seed, o.procs, o.nops,
		       o.maxsize, o.maxlen, o.dir[0], o.dir[1] ? ", dir2 " : "",
		       o.dir[1] ? o.dir[1] : "");
	fflush(stdout);

	pids = calloc(o.procs, sizeof(*pids));
	if (!pids)
		exit(EXIT_FAIL);
	for (i = 0; i < o.procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror(PROG ": fork");
			exit(EXIT_FAIL);
		}
		if (!pids[i])
			run_child(&o, i);
	}

	/*
	 * A child stuck in the file system may not even die of its own
	 * alarm; the parent gives up a little later and says so.
	 */
	sa.sa_handler = parent_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(o.timeout + 30);
	for (left = o.procs; left; ) {
		int status;
		pid_t pid = wait(&status);

		if (pid < 0) {
			if (errno == EINTR && !parent_timed_out)
				continue;
			fprintf(stderr, PROG ": FAIL: watchdog: children still "
				"running after %u s; killing them\n",
				o.timeout + 30);
			for (i = 0; i < o.procs; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
			exit(EXIT_FAIL);
		}
		for (i = 0; i < o.procs && pids[i] != pid; i++)
			;
		if (i == o.procs)
			continue;
		pids[i] = 0;
		left--;
		if (WIFEXITED(status) && !WEXITSTATUS(status))
			continue;
		/* children we killed ourselves are not news */
		if (WIFSIGNALED(status) && !failed)
			fprintf(stderr, PROG ": FAIL: child %u (seed %" PRIu64
				") killed by signal %d (%s)\n", i, o.seed + i,
				WTERMSIG(status), strsignal(WTERMSIG(status)));
		if (!failed) {
			/* one failure is enough: stop the others */
			unsigned j;

			for (j = 0; j < o.procs; j++)
				if (pids[j] > 0)
					kill(pids[j], SIGKILL);
		}
		failed = true;
	}
	free(pids);
	if (failed) {
		fprintf(stderr, PROG ": %u procs, %" PRIu64 " ops, seed %"
			PRIu64 ": FAILED\n", o.procs, o.nops, o.seed);
		return EXIT_FAIL;
	}
	printf(PROG ": %u procs, %" PRIu64 " ops, seed %" PRIu64 ": OK\n",
	       o.procs, o.nops, o.seed);
	return 0;
}
