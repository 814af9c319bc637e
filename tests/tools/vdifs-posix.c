// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-posix: POSIX (and Linux) file system behaviour checks for one
 * directory.
 *
 *   vdifs-posix [-u UID] [-g GID] [-t SECS] [-r SUBSTR] [-l] DIR
 *
 * Every check runs in its own process, in its own fresh directory
 * DIR/vdifs-posix.<pid>/<check>, under a watchdog, and prints exactly one
 * line: "PASS: name", "FAIL: name: details" or "SKIP: name: why".  Lines
 * starting "INFO: " report behaviour that is not asserted.  A check that
 * crashes or hangs is a FAIL, and the rest still run.
 *
 * -u/-g: the unprivileged user for the permission checks (default
 * 65534:65534); those checks need root, as do chown and device nodes.
 * -r runs only the checks whose name contains SUBSTR; -l lists them.
 *
 * Exit status: 0 no FAIL, 1 at least one FAIL, 2 a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
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
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#define PROG		"vdifs-posix"
#define EXIT_USAGE	2

/* how a check process tells the runner what it already printed */
#define CHILD_PASS	0
#define CHILD_FAIL	1
#define CHILD_SKIP	3
#define CHILD_DONE	4	/* printed its own (sub)results */
#define CHILD_INFO	5	/* report-only: printed INFO lines */

#define NEED_ROOT	0x1

#define KiB		1024ULL
#define MiB		(1024 * KiB)
#define GiB		(1024 * MiB)

struct counts {
	unsigned pass, fail, skip;
};

static struct counts *counts;	/* shared with the check processes */
static const char *cur;		/* name of the running check */
static uid_t opt_uid = 65534;
static gid_t opt_gid = 65534;
static unsigned opt_timeout = 120;
static bool is_root;
static long pagesz;

/* ---- reporting ---- */

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

static const char *estr(int e)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s (%s)", ename(e), strerror(e));
	return buf;
}

static void failx(int line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void failx(int line, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: %s: ", cur);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" [line %d]\n", line);
	counts->fail++;
	exit(CHILD_FAIL);
}

static void skip(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: %s: ", cur);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	counts->skip++;
	exit(CHILD_SKIP);
}

static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
	va_list ap;

	printf("INFO: %s: ", cur);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* One of several results a group check reports itself. */
static void sub(const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sub(const char *name, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS: %s\n", name);
		counts->pass++;
		return;
	}
	printf("FAIL: %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	counts->fail++;
}

#define FAIL(...)	failx(__LINE__, __VA_ARGS__)
#define EXPECT(cond, ...) \
	do { if (!(cond)) failx(__LINE__, __VA_ARGS__); } while (0)

/*
 * The helpers read errno first thing: the other arguments are constants,
 * so nothing between the call under test and them can change it.
 */
static long chk_(long r, const char *what, int line)
{
	int e = errno;

	if (r < 0)
		failx(line, "%s: %s", what, estr(e));
	return r;
}

/* a system call that must succeed; evaluates to its result */
#define CHK(expr)	chk_((long)(expr), #expr, __LINE__)

static void err_(long r, const char *what, int e1, int e2, int line)
{
	int e = errno;

	if (r >= 0)
		failx(line, "%s: succeeded, expected %s", what, ename(e1));
	if (e != e1 && e != e2)
		failx(line, "%s: %s, expected %s%s%s", what, estr(e),
		      ename(e1), e2 ? " or " : "", e2 ? ename(e2) : "");
}

/* a system call that must fail with errno E (or E2) */
#define ERR(expr, e)		err_((long)(expr), #expr, e, 0, __LINE__)
#define ERR2(expr, e, e2)	err_((long)(expr), #expr, e, e2, __LINE__)

/* ---- helpers ---- */

/* a pattern without zero bytes, so that zeroes stand out */
static void fill(void *p, size_t len, unsigned seed)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)((i * 31 + seed * 7) % 251 + 1);
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p)
		FAIL("out of memory");
	return p;
}

static void *xalign(size_t n)
{
	void *p;

	if (posix_memalign(&p, 4096, n))
		FAIL("out of memory");
	memset(p, 0, n);
	return p;
}

static void pwrite_(int line, int fd, const void *p, size_t len, off_t off)
{
	ssize_t n = pwrite(fd, p, len, off);

	if (n < 0)
		failx(line, "pwrite(%zu at %lld): %s", len, (long long)off,
		      estr(errno));
	if ((size_t)n != len)
		failx(line, "pwrite(%zu at %lld) wrote %zd", len,
		      (long long)off, n);
}

static void pread_(int line, int fd, void *p, size_t len, off_t off)
{
	ssize_t n = pread(fd, p, len, off);

	if (n < 0)
		failx(line, "pread(%zu at %lld): %s", len, (long long)off,
		      estr(errno));
	if ((size_t)n != len)
		failx(line, "pread(%zu at %lld) read %zd", len,
		      (long long)off, n);
}

#define PWRITE(fd, p, len, off)	pwrite_(__LINE__, fd, p, len, off)
#define PREAD(fd, p, len, off)	pread_(__LINE__, fd, p, len, off)

static void put_(int line, const char *path, mode_t mode, const void *p,
		 size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);

	if (fd < 0)
		failx(line, "open(%s, O_CREAT): %s", path, estr(errno));
	if (len)
		pwrite_(line, fd, p, len, 0);
	if (close(fd) < 0)
		failx(line, "close(%s): %s", path, estr(errno));
}

/* create (or truncate) PATH with LEN pattern bytes */
static void mkfile_(int line, const char *path, mode_t mode, size_t len)
{
	void *p = calloc(1, len ? len : 1);

	if (!p)
		failx(line, "out of memory");
	fill(p, len, 1);
	put_(line, path, mode, p, len);
	free(p);
}

#define PUT(path, mode, p, len)	put_(__LINE__, path, mode, p, len)
#define MKFILE(path, mode, len)	mkfile_(__LINE__, path, mode, len)

static struct stat stat_(int line, const char *path, bool l)
{
	struct stat st;

	if ((l ? lstat(path, &st) : stat(path, &st)) < 0)
		failx(line, "%s(%s): %s", l ? "lstat" : "stat", path,
		      estr(errno));
	return st;
}

static struct stat fstat_(int line, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		failx(line, "fstat: %s", estr(errno));
	return st;
}

#define ST(path)	stat_(__LINE__, path, false)
#define LST(path)	stat_(__LINE__, path, true)
#define FST(fd)		fstat_(__LINE__, fd)

static bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

/* read all of PATH (at most max bytes); returns the length */
static size_t slurp_(int line, const char *path, void *p, size_t max)
{
	int fd = open(path, O_RDONLY);
	size_t done = 0;
	ssize_t n;

	if (fd < 0)
		failx(line, "open(%s): %s", path, estr(errno));
	while (done < max && (n = read(fd, (char *)p + done, max - done)) > 0)
		done += n;
	if (n < 0)
		failx(line, "read(%s): %s", path, estr(errno));
	close(fd);
	return done;
}

#define SLURP(path, p, max)	slurp_(__LINE__, path, p, max)

static int ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	if (a.tv_nsec != b.tv_nsec)
		return a.tv_nsec < b.tv_nsec ? -1 : 1;
	return 0;
}

static struct timespec now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

/* t within [lo - 2 s, hi + 2 s]: file times may come from a coarse clock */
static bool ts_near(struct timespec t, struct timespec lo, struct timespec hi)
{
	return t.tv_sec >= lo.tv_sec - 2 && t.tv_sec <= hi.tv_sec + 2;
}

static gid_t expected_gid(void)
{
	struct stat d = ST(".");

	return d.st_mode & S_ISGID ? d.st_gid : getegid();
}

static void become_user(void)
{
	fflush(stdout);
	if (setgroups(0, NULL) < 0 || setgid(opt_gid) < 0 ||
	    setuid(opt_uid) < 0)
		FAIL("dropping privileges to %u:%u: %s", (unsigned)opt_uid,
		     (unsigned)opt_gid, estr(errno));
	if (geteuid() != opt_uid || getegid() != opt_gid)
		FAIL("still uid %u gid %u after dropping privileges",
		     (unsigned)geteuid(), (unsigned)getegid());
}

static bool user_xattrs(void)
{
	int fd = open("xattr-probe", O_CREAT | O_WRONLY, 0644);
	bool ok;

	if (fd < 0)
		FAIL("open(xattr-probe): %s", estr(errno));
	ok = !fsetxattr(fd, "user.probe", "x", 1, 0) || errno != EOPNOTSUPP;
	close(fd);
	unlink("xattr-probe");
	return ok;
}

static void need_user_xattrs(void)
{
	if (!user_xattrs())
		skip("user xattrs not supported here (EOPNOTSUPP)");
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, 1);
}

/* ---- open, create, read, write ---- */

static void t_open_excl(void)
{
	CHK(close(CHK(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644))));
	ERR(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	CHK(mkdir("d", 0755));
	ERR(open("d", O_CREAT | O_EXCL | O_RDONLY, 0644), EEXIST);
	/* O_EXCL must not follow a symlink, even a dangling one */
	CHK(symlink("target", "l"));
	ERR(open("l", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	EXPECT(!exists("target"), "O_CREAT|O_EXCL through a symlink "
	       "created its target");
}

static void t_open_trunc(void)
{
	char b[16];
	int fd;

	MKFILE("f", 0644, 5000);
	fd = CHK(open("f", O_RDWR | O_TRUNC));
	EXPECT(FST(fd).st_size == 0, "size %lld after O_TRUNC",
	       (long long)FST(fd).st_size);
	EXPECT(CHK(read(fd, b, sizeof(b))) == 0, "read after O_TRUNC "
	       "returned data");
	CHK(close(fd));
	EXPECT(ST("f").st_size == 0, "size after O_TRUNC and close is %lld",
	       (long long)ST("f").st_size);
	/* O_TRUNC on an empty file and O_CREAT|O_TRUNC on an existing one */
	CHK(close(CHK(open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644))));
	EXPECT(ST("f").st_size == 0, "size not 0");
}

static void t_open_append(void)
{
	char a[100], b[10], c[10], got[10];
	int fd, fd2;

	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	fill(c, sizeof(c), 3);
	PUT("f", 0644, a, sizeof(a));
	fd = CHK(open("f", O_WRONLY | O_APPEND));
	CHK(lseek(fd, 0, SEEK_SET));
	EXPECT(CHK(write(fd, b, sizeof(b))) == sizeof(b), "short write");
	EXPECT(FST(fd).st_size == 110, "size %lld after appending 10 to "
	       "100", (long long)FST(fd).st_size);
	EXPECT(CHK(lseek(fd, 0, SEEK_CUR)) == 110, "offset after append is "
	       "not at EOF");
	fd2 = CHK(open("f", O_RDWR));
	PREAD(fd2, got, sizeof(got), 100);
	EXPECT(!memcmp(got, b, sizeof(b)), "appended data not at EOF");
	PREAD(fd2, got, sizeof(got), 0);
	EXPECT(!memcmp(got, a, sizeof(got)), "append overwrote offset 0");
	/* another fd grows the file: the next append goes after that */
	PWRITE(fd2, c, sizeof(c), 200);
	EXPECT(CHK(write(fd, b, sizeof(b))) == sizeof(b), "short write");
	EXPECT(FST(fd2).st_size == 220, "size %lld, expected 220: append "
	       "did not use the current EOF", (long long)FST(fd2).st_size);
	PREAD(fd2, got, sizeof(got), 210);
	EXPECT(!memcmp(got, b, sizeof(b)), "second append not at EOF");
	CHK(close(fd));
	CHK(close(fd2));
}

static void t_open_errors(void)
{
	char b[4];
	int fd;

	MKFILE("f", 0644, 10);
	CHK(mkdir("d", 0755));
	CHK(symlink("f", "l"));
	ERR(open("missing", O_RDONLY), ENOENT);
	ERR(open("missing/x", O_RDONLY | O_CREAT, 0644), ENOENT);
	ERR(open("f/x", O_RDONLY), ENOTDIR);
	ERR(open("f/x", O_RDONLY | O_CREAT, 0644), ENOTDIR);
	ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	ERR(open("d", O_WRONLY), EISDIR);
	ERR(open("d", O_RDWR), EISDIR);
	ERR(open("d", O_RDONLY | O_CREAT, 0644), EISDIR);
	ERR(open("l", O_RDONLY | O_NOFOLLOW), ELOOP);
	ERR(open("", O_RDONLY), ENOENT);
	fd = CHK(open("f", O_RDONLY));
	ERR(write(fd, "x", 1), EBADF);
	CHK(close(fd));
	fd = CHK(open("f", O_WRONLY));
	ERR(read(fd, b, sizeof(b)), EBADF);
	CHK(close(fd));
	fd = CHK(open("d", O_RDONLY | O_DIRECTORY));
	ERR(read(fd, b, sizeof(b)), EISDIR);
	CHK(close(fd));
}

static void t_create_mode(void)
{
	struct stat st;
	gid_t gid = expected_gid();

	umask(022);
	CHK(close(CHK(open("a", O_CREAT | O_WRONLY, 0666))));
	st = ST("a");
	EXPECT((st.st_mode & 07777) == 0644, "mode %04o, expected 0644 "
	       "(0666 & ~022)", st.st_mode & 07777);
	EXPECT(S_ISREG(st.st_mode), "not a regular file");
	EXPECT(st.st_uid == geteuid(), "uid %u, expected %u",
	       (unsigned)st.st_uid, (unsigned)geteuid());
	EXPECT(st.st_gid == gid, "gid %u, expected %u", (unsigned)st.st_gid,
	       (unsigned)gid);
	umask(077);
	CHK(mkdir("d", 0777));
	EXPECT((ST("d").st_mode & 07777) == 0700, "dir mode %04o, expected "
	       "0700", ST("d").st_mode & 07777);
	umask(0);
	CHK(close(CHK(open("b", O_CREAT | O_WRONLY, 0777))));
	EXPECT((ST("b").st_mode & 07777) == 0777, "mode %04o, expected "
	       "0777", ST("b").st_mode & 07777);
	CHK(close(CHK(open("c", O_CREAT | O_WRONLY, 0))));
	EXPECT((ST("c").st_mode & 07777) == 0, "mode %04o, expected 0",
	       ST("c").st_mode & 07777);
	/* a file created without write permission is still writable once */
	umask(022);
	{
		int fd = CHK(open("ro", O_CREAT | O_RDWR, 0444));

		EXPECT(CHK(write(fd, "x", 1)) == 1, "short write");
		CHK(close(fd));
	}
}

static void t_rw_basic(void)
{
	static const size_t chunks[] = { 1, 7, 4096, 65536, 3, 12345, 511 };
	size_t total = 0, i, off;
	uint8_t *w = xmalloc(100000), *r = xmalloc(100000);
	int fd;

	fill(w, 100000, 5);
	fd = CHK(open("f", O_CREAT | O_RDWR, 0644));
	for (i = 0; total < 100000; i = (i + 1) % 7) {
		size_t n = chunks[i] < 100000 - total ? chunks[i] :
			   100000 - total;

		EXPECT((size_t)CHK(write(fd, w + total, n)) == n,
		       "short write");
		total += n;
	}
	EXPECT(CHK(lseek(fd, 0, SEEK_CUR)) == 100000, "offset after writes");
	EXPECT(FST(fd).st_size == 100000, "size %lld",
	       (long long)FST(fd).st_size);
	CHK(lseek(fd, 0, SEEK_SET));
	for (off = 0, i = 3; off < 100000; i = (i + 1) % 7) {
		ssize_t n = CHK(read(fd, r + off, chunks[i]));

		EXPECT(n > 0, "read returned 0 at %zu, before EOF", off);
		off += n;
	}
	EXPECT(!memcmp(w, r, 100000), "data read back differs");
	EXPECT(CHK(read(fd, r, 10)) == 0, "read at EOF returned data");
	CHK(close(fd));
	EXPECT(SLURP("f", r, 100000) == 100000, "reopened file is short");
	EXPECT(!memcmp(w, r, 100000), "data differs after reopen");
	free(w);
	free(r);
}

static void t_pread_pwrite(void)
{
	uint8_t a[3000], b[777], got[3000];
	int fd = CHK(open("f", O_CREAT | O_RDWR, 0644));

	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	PWRITE(fd, a, sizeof(a), 5000);
	PWRITE(fd, b, sizeof(b), 1);
	PWRITE(fd, b, sizeof(b), 6001);
	EXPECT(CHK(lseek(fd, 0, SEEK_CUR)) == 0, "pwrite moved the offset");
	EXPECT(FST(fd).st_size == 8000, "size %lld, expected 8000",
	       (long long)FST(fd).st_size);
	PREAD(fd, got, 1000, 5000);
	EXPECT(!memcmp(got, a, 1000), "data at 5000 differs");
	PREAD(fd, got, sizeof(b), 6001);
	EXPECT(!memcmp(got, b, sizeof(b)), "data at 6001 differs");
	PREAD(fd, got, 222, 6778);
	EXPECT(!memcmp(got, a + 1778, 222), "data at 6778 differs");
	PREAD(fd, got, sizeof(b), 1);
	EXPECT(!memcmp(got, b, sizeof(b)), "data at 1 differs");
	PREAD(fd, got, 1, 0);
	EXPECT(got[0] == 0, "byte 0 (never written) is %#x", got[0]);
	EXPECT(CHK(pread(fd, got, 100, 7950)) == 50, "pread across EOF not "
	       "short");
	EXPECT(CHK(pread(fd, got, 100, 8000)) == 0, "pread at EOF");
	EXPECT(CHK(pread(fd, got, 100, 1 << 30)) == 0, "pread beyond EOF");
	EXPECT(CHK(lseek(fd, 0, SEEK_CUR)) == 0, "pread moved the offset");
	ERR(pread(fd, got, 1, -1), EINVAL);
	CHK(close(fd));
}

static void t_write_gap(void)
{
	uint8_t *got = xmalloc(MiB + 4);
	int fd = CHK(open("f", O_CREAT | O_RDWR, 0644));

	PWRITE(fd, "a", 1, 0);
	PWRITE(fd, "bcd", 3, MiB + 1);
	EXPECT(FST(fd).st_size == (off_t)MiB + 4, "size %lld",
	       (long long)FST(fd).st_size);
	CHK(close(fd));
	EXPECT(SLURP("f", got, MiB + 4) == MiB + 4, "short file");
	EXPECT(got[0] == 'a' && !memcmp(got + MiB + 1, "bcd", 3),
	       "written bytes differ");
	EXPECT(all_zero(got + 1, MiB), "the gap does not read as zeroes");
	free(got);
}

static void t_offset_4g(void)
{
	static const off_t offs[] = {
		(2LL << 30) - 3, (4LL << 30) - 5, (8LL << 30) - 1,
	};
	char got[8];
	unsigned i;
	int fd = CHK(open("f", O_CREAT | O_RDWR, 0644));

	/* offsets crossing 2^31, 2^32 and 2^33: 32-bit truncation bugs */
	for (i = 0; i < 3; i++)
		PWRITE(fd, "ABCDEFGH", 8, offs[i]);
	EXPECT(FST(fd).st_size == (8LL << 30) + 7, "size %lld",
	       (long long)FST(fd).st_size);
	for (i = 0; i < 3; i++) {
		PREAD(fd, got, 8, offs[i]);
		EXPECT(!memcmp(got, "ABCDEFGH", 8), "data at %lld differs",
		       (long long)offs[i]);
	}
	PREAD(fd, got, 8, 0);
	EXPECT(all_zero(got, 8), "offset 0 not zero: offset truncated?");
	PREAD(fd, got, 8, 3LL << 30);
	EXPECT(all_zero(got, 8), "3 GiB not zero: offset aliasing?");
	PREAD(fd, got, 8, 6LL << 30);
	EXPECT(all_zero(got, 8), "6 GiB not zero: offset aliasing?");
	CHK(ftruncate(fd, 0));
	CHK(close(fd));
}

/* ---- stat ---- */

static void t_stat_fields(void)
{
	struct stat st, d = ST(".");
	gid_t gid = expected_gid();

	MKFILE("f", 0640, 5000);
	CHK(chmod("f", 0640));
	st = ST("f");
	EXPECT(S_ISREG(st.st_mode), "not S_IFREG: %o", st.st_mode);
	EXPECT((st.st_mode & 07777) == 0640, "mode %04o",
	       st.st_mode & 07777);
	EXPECT(st.st_size == 5000, "size %lld", (long long)st.st_size);
	EXPECT(st.st_nlink == 1, "nlink %lu", (unsigned long)st.st_nlink);
	EXPECT(st.st_uid == geteuid(), "uid %u", (unsigned)st.st_uid);
	EXPECT(st.st_gid == gid, "gid %u, expected %u", (unsigned)st.st_gid,
	       (unsigned)gid);
	EXPECT(st.st_blksize > 0, "st_blksize %ld", (long)st.st_blksize);
	EXPECT(st.st_dev == d.st_dev, "st_dev differs from the directory's");
	EXPECT(st.st_ino != d.st_ino, "same st_ino as the directory");
	EXPECT(S_ISDIR(d.st_mode), "directory not S_IFDIR");
}

static void t_stat_blocks(void)
{
	uint8_t *b = xmalloc(64 * KiB);
	int fd = CHK(open("f", O_CREAT | O_RDWR, 0644));
	struct stat st;

	fill(b, 64 * KiB, 3);
	PWRITE(fd, b, 64 * KiB, 0);
	CHK(fsync(fd));
	st = FST(fd);
	EXPECT(st.st_blocks > 0, "st_blocks is 0 after writing 64 KiB and "
	       "fsync");
	if ((unsigned long long)st.st_blocks * 512 < 64 * KiB)
		info("st_blocks %lld (%lld bytes) for 64 KiB of data",
		     (long long)st.st_blocks, (long long)st.st_blocks * 512);
	CHK(close(fd));
	EXPECT(ST("f").st_blocks > 0, "st_blocks 0 after close");
	free(b);
}

static void t_stat_ino_stable(void)
{
	struct stat a, b;
	struct dirent *e;
	ino_t ino;
	DIR *d;
	int fd;

	MKFILE("f", 0644, 10);
	CHK(mkdir("sub", 0755));
	ino = ST("f").st_ino;
	EXPECT(LST("f").st_ino == ino, "lstat ino differs");
	EXPECT(ST("./f").st_ino == ino, "ino via ./f differs");
	fd = CHK(open("f", O_RDONLY));
	EXPECT(FST(fd).st_ino == ino, "fstat ino differs");
	CHK(close(fd));
	EXPECT(ST("sub/../f").st_ino == ino, "ino via sub/../f differs");
	EXPECT(ST("f").st_ino == ino, "ino changed on a second stat");
	d = opendir(".");
	EXPECT(d, "opendir: %s", estr(errno));
	while ((e = readdir(d)))
		if (!strcmp(e->d_name, "f"))
			break;
	EXPECT(e, "f not in readdir");
	EXPECT(e->d_ino == ino, "readdir d_ino %llu != st_ino %llu",
	       (unsigned long long)e->d_ino, (unsigned long long)ino);
	closedir(d);
	CHK(rename("f", "sub/g"));
	EXPECT(ST("sub/g").st_ino == ino, "ino changed by rename");
	a = ST("sub");
	b = ST("sub/.");
	EXPECT(a.st_ino == b.st_ino, "sub and sub/. differ");
	EXPECT(ST("sub/..").st_ino == ST(".").st_ino, "sub/.. is not .");
}

static void t_stat_dir_nlink(void)
{
	nlink_t n0;

	CHK(mkdir("d", 0755));
	n0 = ST("d").st_nlink;
	CHK(mkdir("d/a", 0755));
	CHK(mkdir("d/b", 0755));
	MKFILE("d/f", 0644, 0);
	if (n0 == 1) {
		/* the btrfs-style "subdirectories not counted" convention */
		EXPECT(ST("d").st_nlink == 1, "nlink 1 at first, %lu later",
		       (unsigned long)ST("d").st_nlink);
		info("directories report nlink 1 (subdirectories not "
		     "counted)");
		return;
	}
	EXPECT(n0 == 2, "new directory has nlink %lu", (unsigned long)n0);
	EXPECT(ST("d").st_nlink == 4, "nlink %lu with 2 subdirectories, "
	       "expected 4", (unsigned long)ST("d").st_nlink);
	CHK(rmdir("d/a"));
	EXPECT(ST("d").st_nlink == 3, "nlink %lu after rmdir, expected 3",
	       (unsigned long)ST("d").st_nlink);
	CHK(rename("d/b", "b"));
	EXPECT(ST("d").st_nlink == 2, "nlink %lu after moving the subdir "
	       "out, expected 2", (unsigned long)ST("d").st_nlink);
}

/* ---- chmod, chown, times ---- */

static void t_chmod(void)
{
	static const mode_t modes[] = {
		0, 0777, 0644, 04755, 02755, 01777, 07777, 0123, 0600,
	};
	unsigned i;
	int fd;

	MKFILE("f", 0644, 0);
	CHK(mkdir("d", 0755));
	CHK(symlink("f", "l"));
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		/* a non-member (non-root) could not keep S_ISGID */
		mode_t want = modes[i];

		if (!is_root && ST("f").st_gid != getegid())
			want &= ~S_ISGID;
		CHK(chmod("f", modes[i]));
		EXPECT((ST("f").st_mode & 07777) == want, "chmod %04o gave "
		       "%04o", modes[i], ST("f").st_mode & 07777);
		CHK(chmod("d", modes[i]));
		EXPECT((ST("d").st_mode & 07777) == modes[i], "dir chmod %04o "
		       "gave %04o", modes[i], ST("d").st_mode & 07777);
	}
	CHK(chmod("d", 0755));
	fd = CHK(open("f", O_RDONLY));
	CHK(fchmod(fd, 0604));
	EXPECT((FST(fd).st_mode & 07777) == 0604, "fchmod gave %04o",
	       FST(fd).st_mode & 07777);
	CHK(close(fd));
	CHK(fchmodat(AT_FDCWD, "f", 0640, 0));
	EXPECT((ST("f").st_mode & 07777) == 0640, "fchmodat gave %04o",
	       ST("f").st_mode & 07777);
	/* chmod follows a symlink */
	CHK(chmod("l", 0600));
	EXPECT((ST("f").st_mode & 07777) == 0600, "chmod via symlink gave "
	       "%04o", ST("f").st_mode & 07777);
	EXPECT(S_ISLNK(LST("l").st_mode), "symlink changed type");
	ERR(chmod("missing", 0644), ENOENT);
	EXPECT(S_ISREG(ST("f").st_mode), "file type changed by chmod");
}

static void t_chown(void)
{
	struct stat st;
	int fd;

	MKFILE("f", 0644, 0);
	CHK(symlink("f", "l"));
	CHK(chown("f", 12345, 23456));
	st = ST("f");
	EXPECT(st.st_uid == 12345 && st.st_gid == 23456, "owner %u:%u, "
	       "expected 12345:23456", (unsigned)st.st_uid,
	       (unsigned)st.st_gid);
	CHK(chown("f", -1, 999));
	st = ST("f");
	EXPECT(st.st_uid == 12345 && st.st_gid == 999, "chown(-1, 999) gave "
	       "%u:%u", (unsigned)st.st_uid, (unsigned)st.st_gid);
	CHK(chown("f", 777, -1));
	st = ST("f");
	EXPECT(st.st_uid == 777 && st.st_gid == 999, "chown(777, -1) gave "
	       "%u:%u", (unsigned)st.st_uid, (unsigned)st.st_gid);
	fd = CHK(open("f", O_RDONLY));
	CHK(fchown(fd, 0, 0));
	st = FST(fd);
	EXPECT(st.st_uid == 0 && st.st_gid == 0, "fchown gave %u:%u",
	       (unsigned)st.st_uid, (unsigned)st.st_gid);
	CHK(close(fd));
	/* lchown changes the link, not its target */
	CHK(lchown("l", 4242, 4343));
	st = LST("l");
	EXPECT(st.st_uid == 4242 && st.st_gid == 4343, "lchown gave %u:%u",
	       (unsigned)st.st_uid, (unsigned)st.st_gid);
	EXPECT(ST("f").st_uid == 0, "lchown changed the target");
	/* chown drops set-user-ID, and set-group-ID with group exec */
	CHK(chmod("f", 06755));
	CHK(chown("f", 12345, 23456));
	EXPECT((ST("f").st_mode & 07777) == 0755, "mode %04o after chown of "
	       "a 06755 file, expected 0755", ST("f").st_mode & 07777);
	ERR(chown("missing", 1, 1), ENOENT);
}

static void t_utimens_explicit(void)
{
	struct timespec ts[2] = {
		{ 1000000000, 123456789 }, { 1500000000, 987654321 },
	};
	struct stat st;
	int fd;

	MKFILE("f", 0644, 10);
	CHK(utimensat(AT_FDCWD, "f", ts, 0));
	st = ST("f");
	EXPECT(!ts_cmp(st.st_atim, ts[0]), "atime %lld.%09ld, set %lld."
	       "%09ld", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	       (long long)ts[0].tv_sec, ts[0].tv_nsec);
	EXPECT(!ts_cmp(st.st_mtim, ts[1]), "mtime %lld.%09ld, set %lld."
	       "%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	       (long long)ts[1].tv_sec, ts[1].tv_nsec);
	/* futimens, with second-only values */
	ts[0] = (struct timespec){ 1234567890, 0 };
	ts[1] = (struct timespec){ 1234567891, 0 };
	fd = CHK(open("f", O_RDWR));
	CHK(futimens(fd, ts));
	st = FST(fd);
	EXPECT(!ts_cmp(st.st_atim, ts[0]) && !ts_cmp(st.st_mtim, ts[1]),
	       "futimens times not kept");
	CHK(close(fd));
	/* after 2038, where 32-bit seconds end */
	ts[0] = (struct timespec){ 4102444800LL, 5 };	/* 2100-01-01 */
	ts[1] = ts[0];
	CHK(utimensat(AT_FDCWD, "f", ts, 0));
	st = ST("f");
	EXPECT(!ts_cmp(st.st_mtim, ts[1]), "mtime in 2100 came back as "
	       "%lld.%09ld", (long long)st.st_mtim.tv_sec,
	       st.st_mtim.tv_nsec);
	/* the times of a symlink itself */
	CHK(symlink("f", "l"));
	ts[0] = (struct timespec){ 1111111111, 0 };
	ts[1] = (struct timespec){ 1222222222, 0 };
	CHK(utimensat(AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW));
	EXPECT(LST("l").st_mtim.tv_sec == 1222222222, "symlink mtime not "
	       "set with AT_SYMLINK_NOFOLLOW");
	EXPECT(ST("f").st_mtim.tv_sec == 4102444800LL, "AT_SYMLINK_NOFOLLOW "
	       "changed the target");
	ERR(utimensat(AT_FDCWD, "missing", ts, 0), ENOENT);
}

static void t_utimens_now(void)
{
	struct timespec ts[2] = {
		{ 1000000000, 0 }, { 1000000000, 0 },
	}, lo, hi;
	struct stat st;

	MKFILE("f", 0644, 10);
	CHK(utimensat(AT_FDCWD, "f", ts, 0));
	lo = now();
	CHK(utimensat(AT_FDCWD, "f", NULL, 0));
	hi = now();
	st = ST("f");
	EXPECT(ts_near(st.st_atim, lo, hi) && ts_near(st.st_mtim, lo, hi),
	       "times %lld/%lld after utimensat(NULL), now is %lld",
	       (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec,
	       (long long)lo.tv_sec);
	CHK(utimensat(AT_FDCWD, "f", ts, 0));
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_nsec = UTIME_NOW;
	lo = now();
	CHK(utimensat(AT_FDCWD, "f", ts, 0));
	hi = now();
	st = ST("f");
	EXPECT(ts_near(st.st_atim, lo, hi) && ts_near(st.st_mtim, lo, hi),
	       "times %lld/%lld after UTIME_NOW, now is %lld",
	       (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec,
	       (long long)lo.tv_sec);
}

static void t_utimens_omit(void)
{
	struct timespec ts[2] = {
		{ 1000000000, 100 }, { 1100000000, 200 },
	};
	struct stat st;

	MKFILE("f", 0644, 10);
	CHK(utimensat(AT_FDCWD, "f", ts, 0));
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = (struct timespec){ 1200000000, 300 };
	CHK(utimensat(AT_FDCWD, "f", ts, 0));
	st = ST("f");
	EXPECT(st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 100,
	       "atime changed under UTIME_OMIT");
	EXPECT(st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 300,
	       "mtime not set next to UTIME_OMIT");
	ts[0] = (struct timespec){ 1300000000, 400 };
	ts[1].tv_nsec = UTIME_OMIT;
	CHK(utimensat(AT_FDCWD, "f", ts, 0));
	st = ST("f");
	EXPECT(st.st_atim.tv_sec == 1300000000 && st.st_atim.tv_nsec == 400,
	       "atime not set next to UTIME_OMIT");
	EXPECT(st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 300,
	       "mtime changed under UTIME_OMIT");
	ts[0].tv_nsec = UTIME_OMIT;
	CHK(utimensat(AT_FDCWD, "f", ts, 0));
	st = ST("f");
	EXPECT(st.st_atim.tv_sec == 1300000000 &&
	       st.st_mtim.tv_sec == 1200000000, "times changed with both "
	       "UTIME_OMIT");
}

/*
 * Which operations move mtime and ctime.  ctime cannot be set, so all
 * the objects are prepared, the clock moves on by more than a second
 * (enough for a file system with one-second times), then each operation
 * runs once and the times are compared.
 */
enum {
	T_WRITE, T_TRUNC, T_OTRUNC, T_MMAP, T_CHMOD, T_CHOWN, T_UTIMENS,
	T_LINK, T_UNLINK_LINK, T_XATTR, T_READ, T_DCREATE, T_DUNLINK,
	T_DMKDIR, T_DRMDIR, T_DRENSRC, T_DRENDST, T_DRENIN, T_DSYMLINK,
	T_DLINK, T_RENAMED, T_NR,
};

static const char *const tpath[T_NR] = {
	[T_WRITE] = "write", [T_TRUNC] = "trunc", [T_OTRUNC] = "otrunc",
	[T_MMAP] = "mmap", [T_CHMOD] = "chmod", [T_CHOWN] = "chown",
	[T_UTIMENS] = "utimens", [T_LINK] = "tolink",
	[T_UNLINK_LINK] = "unlink2", [T_XATTR] = "xattr", [T_READ] = "read",
	[T_DCREATE] = "dcreate", [T_DUNLINK] = "dunlink",
	[T_DMKDIR] = "dmkdir", [T_DRMDIR] = "drmdir",
	[T_DRENSRC] = "drensrc", [T_DRENDST] = "drendst",
	[T_DRENIN] = "drenin", [T_DSYMLINK] = "dsymlink", [T_DLINK] = "dlink",
	[T_RENAMED] = "renamed",
};

static void t_times(void)
{
	struct stat b[T_NR], a[T_NR];
	bool xattr = user_xattrs();
	char buf[64];
	void *map;
	int fd, i;

	for (i = 0; i < T_NR; i++) {
		if (i >= T_DCREATE && i <= T_DLINK)
			CHK(mkdir(tpath[i], 0755));
	}
	for (i = 0; i < T_NR; i++)
		if (i < T_DCREATE || i == T_RENAMED)
			MKFILE(tpath[i], 0644, 8192);
	CHK(link(tpath[T_UNLINK_LINK], "unlink1"));
	MKFILE("dunlink/f", 0644, 1);
	CHK(mkdir("drmdir/sub", 0755));
	MKFILE("drensrc/f", 0644, 1);
	MKFILE("drenin/f", 0644, 1);
	for (i = 0; i < T_NR; i++)
		b[i] = ST(tpath[i]);
	usleep(1100 * 1000);

	fd = CHK(open(tpath[T_WRITE], O_WRONLY));
	PWRITE(fd, "x", 1, 100);
	CHK(close(fd));
	CHK(truncate(tpath[T_TRUNC], 100));
	CHK(close(CHK(open(tpath[T_OTRUNC], O_WRONLY | O_TRUNC))));
	fd = CHK(open(tpath[T_MMAP], O_RDWR));
	map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		FAIL("mmap: %s", estr(errno));
	memset(map, 'm', 100);
	CHK(msync(map, 8192, MS_SYNC));
	CHK(munmap(map, 8192));
	CHK(close(fd));
	CHK(chmod(tpath[T_CHMOD], 0600));
	CHK(chown(tpath[T_CHOWN], geteuid(), getegid()));
	CHK(utimensat(AT_FDCWD, tpath[T_UTIMENS], NULL, 0));
	CHK(link(tpath[T_LINK], "dlink/link"));
	CHK(unlink("unlink1"));
	if (xattr)
		CHK(setxattr(tpath[T_XATTR], "user.t", "v", 1, 0));
	fd = CHK(open(tpath[T_READ], O_RDONLY));
	CHK(read(fd, buf, sizeof(buf)));
	CHK(close(fd));
	MKFILE("dcreate/new", 0644, 0);
	CHK(unlink("dunlink/f"));
	CHK(mkdir("dmkdir/sub", 0755));
	CHK(rmdir("drmdir/sub"));
	CHK(rename("drensrc/f", "drendst/f"));
	CHK(rename("drenin/f", "drenin/g"));
	CHK(symlink("x", "dsymlink/l"));
	CHK(rename(tpath[T_RENAMED], "renamed2"));
	CHK(rename("renamed2", tpath[T_RENAMED]));

	for (i = 0; i < T_NR; i++)
		a[i] = ST(tpath[i]);

#define M(i)	(ts_cmp(a[i].st_mtim, b[i].st_mtim) > 0)
#define C(i)	(ts_cmp(a[i].st_ctim, b[i].st_ctim) > 0)
#define SAMEM(i) (!ts_cmp(a[i].st_mtim, b[i].st_mtim))
#define SAMEC(i) (!ts_cmp(a[i].st_ctim, b[i].st_ctim))
#define MC(name, i) sub(name, M(i) && C(i), "mtime %s, ctime %s", \
			M(i) ? "moved" : "did not move", \
			C(i) ? "moved" : "did not move")
	MC("times_write", T_WRITE);
	MC("times_truncate", T_TRUNC);
	MC("times_open_trunc", T_OTRUNC);
	MC("times_mmap_write", T_MMAP);
	sub("times_chmod", C(T_CHMOD) && SAMEM(T_CHMOD), "ctime %s, mtime %s",
	    C(T_CHMOD) ? "moved" : "did not move",
	    SAMEM(T_CHMOD) ? "kept" : "changed");
	sub("times_chown", C(T_CHOWN) && SAMEM(T_CHOWN), "ctime %s, mtime %s",
	    C(T_CHOWN) ? "moved" : "did not move",
	    SAMEM(T_CHOWN) ? "kept" : "changed");
	sub("times_utimens_ctime", C(T_UTIMENS), "ctime did not move");
	sub("times_link", C(T_LINK) && M(T_DLINK) && C(T_DLINK),
	    "file ctime %s, dir mtime %s, dir ctime %s",
	    C(T_LINK) ? "moved" : "did not move",
	    M(T_DLINK) ? "moved" : "did not move",
	    C(T_DLINK) ? "moved" : "did not move");
	sub("times_unlink_other_link", C(T_UNLINK_LINK), "ctime of the "
	    "remaining link did not move");
	if (xattr)
		sub("times_setxattr", C(T_XATTR) && SAMEM(T_XATTR),
		    "ctime %s, mtime %s", C(T_XATTR) ? "moved" : "did not move",
		    SAMEM(T_XATTR) ? "kept" : "changed");
	else
		printf("SKIP: times_setxattr: no user xattrs\n"),
		counts->skip++;
	sub("times_read", SAMEM(T_READ) && SAMEC(T_READ), "read changed "
	    "mtime or ctime");
	MC("times_dir_create", T_DCREATE);
	MC("times_dir_unlink", T_DUNLINK);
	MC("times_dir_mkdir", T_DMKDIR);
	MC("times_dir_rmdir", T_DRMDIR);
	sub("times_dir_rename", M(T_DRENSRC) && C(T_DRENSRC) &&
	    M(T_DRENDST) && C(T_DRENDST), "source dir %s, target dir %s",
	    M(T_DRENSRC) && C(T_DRENSRC) ? "ok" : "times did not move",
	    M(T_DRENDST) && C(T_DRENDST) ? "ok" : "times did not move");
	MC("times_dir_rename_within", T_DRENIN);
	MC("times_dir_symlink", T_DSYMLINK);
	cur = "times_rename_ctime";
	info("rename %s the ctime of the renamed file (POSIX leaves it "
	     "open)", C(T_RENAMED) ? "updates" : "does not update");
#undef M
#undef C
#undef SAMEM
#undef SAMEC
#undef MC
	exit(CHILD_DONE);
}

/* ---- directories ---- */

static void t_mkdir(void)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	unsigned n = 0;

	umask(022);
	CHK(mkdir("d", 0750));
	st = ST("d");
	EXPECT(S_ISDIR(st.st_mode), "not a directory");
	EXPECT((st.st_mode & 07777) == 0750, "mode %04o, expected 0750",
	       st.st_mode & 07777);
	EXPECT(st.st_uid == geteuid(), "uid %u", (unsigned)st.st_uid);
	d = opendir("d");
	EXPECT(d, "opendir: %s", estr(errno));
	while ((e = readdir(d))) {
		EXPECT(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."),
		       "new directory contains %s", e->d_name);
		n++;
	}
	closedir(d);
	EXPECT(n == 2, "new directory lists %u entries, expected . and ..",
	       n);
	CHK(mkdir("s", 01777));
	EXPECT((ST("s").st_mode & 07777) == 01755, "mkdir 01777 gave %04o, "
	       "expected 01755 (sticky kept, umask applied)",
	       ST("s").st_mode & 07777);
	CHK(mkdir("d/e", 0755));
	CHK(mkdir("d/e/f", 0755));
	EXPECT(S_ISDIR(ST("d/e/f").st_mode), "nested mkdir");
}

static void t_mkdir_errors(void)
{
	MKFILE("f", 0644, 0);
	CHK(mkdir("d", 0755));
	CHK(symlink("nowhere", "dangling"));
	ERR(mkdir("d", 0755), EEXIST);
	ERR(mkdir("f", 0755), EEXIST);
	ERR(mkdir("dangling", 0755), EEXIST);
	EXPECT(!exists("nowhere"), "mkdir followed a dangling symlink");
	ERR(mkdir("missing/sub", 0755), ENOENT);
	ERR(mkdir("f/sub", 0755), ENOTDIR);
	ERR(mkdir("", 0755), ENOENT);
}

static void t_mkdir_setgid(void)
{
	struct stat st;

	CHK(mkdir("g", 0755));
	CHK(chown("g", 0, 4321));
	CHK(chmod("g", 02775));
	MKFILE("g/f", 0644, 0);
	CHK(mkdir("g/sub", 0755));
	st = ST("g/f");
	EXPECT(st.st_gid == 4321, "file in a set-group-ID dir got gid %u, "
	       "expected 4321", (unsigned)st.st_gid);
	st = ST("g/sub");
	EXPECT(st.st_gid == 4321, "subdir got gid %u", (unsigned)st.st_gid);
	EXPECT(st.st_mode & S_ISGID, "subdir did not inherit S_ISGID "
	       "(mode %04o)", st.st_mode & 07777);
}

static void t_rmdir(void)
{
	MKFILE("f", 0644, 0);
	CHK(mkdir("d", 0755));
	CHK(mkdir("full", 0755));
	MKFILE("full/x", 0644, 0);
	CHK(mkdir("full2", 0755));
	CHK(mkdir("full2/sub", 0755));
	CHK(symlink("d", "l"));
	CHK(rmdir("d"));
	EXPECT(!exists("d"), "directory still there after rmdir");
	ERR(rmdir("d"), ENOENT);
	/* POSIX allows EEXIST too; XFS uses it for rename */
	ERR2(rmdir("full"), ENOTEMPTY, EEXIST);
	ERR2(rmdir("full2"), ENOTEMPTY, EEXIST);
	ERR(rmdir("f"), ENOTDIR);
	CHK(mkdir("d", 0755));
	ERR(rmdir("l"), ENOTDIR);
	ERR(rmdir("d/."), EINVAL);
	ERR(rmdir("d/.."), ENOTEMPTY);
	ERR(rmdir("f/x"), ENOTDIR);
	CHK(unlink("full/x"));
	CHK(rmdir("full"));
	CHK(rmdir("full2/sub"));
	CHK(rmdir("full2"));
}

static void t_unlink(void)
{
	MKFILE("f", 0644, 10);
	CHK(mkdir("d", 0755));
	CHK(symlink("d", "ld"));
	MKFILE("t", 0644, 10);
	CHK(symlink("t", "lt"));
	CHK(unlink("f"));
	EXPECT(!exists("f"), "file still there after unlink");
	ERR(unlink("f"), ENOENT);
	ERR(unlink("d"), EISDIR);
	ERR(unlink("t/x"), ENOTDIR);
	ERR(unlink("missing/x"), ENOENT);
	CHK(unlink("lt"));
	EXPECT(exists("t"), "unlink of a symlink removed its target");
	CHK(unlink("ld"));
	EXPECT(exists("d"), "unlink of a symlink removed the directory");
}

static void t_unlink_open(void)
{
	char w[5000], r[5000];
	int fd;

	fill(w, sizeof(w), 9);
	PUT("f", 0644, w, 1000);
	fd = CHK(open("f", O_RDWR));
	CHK(unlink("f"));
	EXPECT(!exists("f"), "name still there");
	EXPECT(FST(fd).st_nlink == 0, "fstat nlink %lu after unlink",
	       (unsigned long)FST(fd).st_nlink);
	/* the open file lives on */
	PWRITE(fd, w + 1000, 4000, 1000);
	CHK(fsync(fd));
	PREAD(fd, r, 5000, 0);
	EXPECT(!memcmp(w, r, 5000), "data of the unlinked open file "
	       "differs");
	EXPECT(FST(fd).st_size == 5000, "size %lld",
	       (long long)FST(fd).st_size);
	MKFILE("f", 0644, 0);	/* a new file under the old name */
	PREAD(fd, r, 5000, 0);
	EXPECT(!memcmp(w, r, 5000), "new file under the name changed the "
	       "unlinked one");
	EXPECT(ST("f").st_size == 0, "new file is not empty");
	CHK(close(fd));
}

/* ---- rename ---- */

static void t_rename_file(void)
{
	char b[100];
	ino_t ino;

	MKFILE("a", 0644, 100);
	ino = ST("a").st_ino;
	CHK(rename("a", "b"));
	EXPECT(!exists("a"), "source still there");
	EXPECT(ST("b").st_ino == ino, "inode changed");
	EXPECT(SLURP("b", b, sizeof(b)) == 100, "size changed");
	CHK(mkdir("d", 0755));
	CHK(rename("b", "d/c"));
	EXPECT(ST("d/c").st_ino == ino, "move into a subdir");
	ERR(rename("missing", "x"), ENOENT);
	ERR(rename("d/c", "missing/x"), ENOENT);
	ERR(rename("d/c", "d/c/x"), ENOTDIR);
	CHK(rename("d/c", "d/c"));	/* same name: nothing happens */
	EXPECT(ST("d/c").st_ino == ino, "rename to itself");
}

static void t_rename_over_file(void)
{
	char got[200], wa[100], wb[200];
	ino_t ia;
	int fd;

	fill(wa, sizeof(wa), 1);
	fill(wb, sizeof(wb), 2);
	PUT("a", 0644, wa, sizeof(wa));
	PUT("b", 0644, wb, sizeof(wb));
	ia = ST("a").st_ino;
	fd = CHK(open("b", O_RDONLY));
	CHK(rename("a", "b"));
	EXPECT(!exists("a"), "source still there");
	EXPECT(ST("b").st_ino == ia, "target is not the source inode");
	EXPECT(SLURP("b", got, sizeof(got)) == 100 &&
	       !memcmp(got, wa, 100), "target content is not the source's");
	/* the replaced file, still open, keeps its data */
	EXPECT(FST(fd).st_nlink == 0, "replaced file has nlink %lu",
	       (unsigned long)FST(fd).st_nlink);
	PREAD(fd, got, sizeof(wb), 0);
	EXPECT(!memcmp(got, wb, sizeof(wb)), "replaced open file's data "
	       "changed");
	CHK(close(fd));
	/* two links to one inode: rename does nothing */
	CHK(link("b", "c"));
	CHK(rename("b", "c"));
	EXPECT(exists("b") && exists("c"), "rename between two links of one "
	       "inode removed a name");
	EXPECT(ST("c").st_nlink == 2, "nlink %lu",
	       (unsigned long)ST("c").st_nlink);
}

static void t_rename_dirs(void)
{
	ino_t ino;
	nlink_t p1, p2;

	CHK(mkdir("a", 0755));
	MKFILE("a/f", 0644, 5);
	CHK(mkdir("empty", 0755));
	CHK(mkdir("full", 0755));
	MKFILE("full/x", 0644, 0);
	MKFILE("file", 0644, 0);
	ino = ST("a").st_ino;
	/* directory over an empty directory */
	CHK(rename("a", "empty"));
	EXPECT(!exists("a"), "source still there");
	EXPECT(ST("empty").st_ino == ino && exists("empty/f"), "target is "
	       "not the moved directory");
	ERR2(rename("empty", "full"), ENOTEMPTY, EEXIST);
	ERR(rename("file", "full"), EISDIR);
	ERR(rename("empty", "file"), ENOTDIR);
	/* into its own subtree */
	CHK(mkdir("empty/sub", 0755));
	ERR(rename("empty", "empty/sub/x"), EINVAL);
	ERR(rename("empty", "empty/x"), EINVAL);
	/* between parents: ".." and the link counts follow */
	CHK(mkdir("p1", 0755));
	CHK(mkdir("p2", 0755));
	CHK(mkdir("p1/d", 0755));
	p1 = ST("p1").st_nlink;
	p2 = ST("p2").st_nlink;
	CHK(rename("p1/d", "p2/d"));
	EXPECT(ST("p2/d/..").st_ino == ST("p2").st_ino, "moved dir's .. is "
	       "not its new parent");
	if (p1 != 1) {
		EXPECT(ST("p1").st_nlink == p1 - 1, "old parent nlink %lu, "
		       "expected %lu", (unsigned long)ST("p1").st_nlink,
		       (unsigned long)p1 - 1);
		EXPECT(ST("p2").st_nlink == p2 + 1, "new parent nlink %lu, "
		       "expected %lu", (unsigned long)ST("p2").st_nlink,
		       (unsigned long)p2 + 1);
	}
	ERR(rename("p2/d/.", "x"), EBUSY);
}

static void t_rename_noreplace(void)
{
	char b[16];

	PUT("a", 0644, "aaaa", 4);
	PUT("b", 0644, "bbbb", 4);
	ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE),
	    EEXIST);
	EXPECT(SLURP("a", b, sizeof(b)) == 4 && !memcmp(b, "aaaa", 4),
	       "source changed");
	EXPECT(SLURP("b", b, sizeof(b)) == 4 && !memcmp(b, "bbbb", 4),
	       "target replaced despite RENAME_NOREPLACE");
	CHK(renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE));
	EXPECT(!exists("a") && exists("c"), "RENAME_NOREPLACE to a free "
	       "name did not rename");
	CHK(mkdir("d", 0755));
	ERR(renameat2(AT_FDCWD, "c", AT_FDCWD, "d", RENAME_NOREPLACE),
	    EEXIST);
	ERR(renameat2(AT_FDCWD, "c", AT_FDCWD, "b",
		      RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
}

static void t_rename_exchange(void)
{
	char b[16];
	ino_t ia, ib;
	nlink_t n1, n2;

	PUT("a", 0644, "aaaa", 4);
	PUT("b", 0644, "bbbbbb", 6);
	ia = ST("a").st_ino;
	ib = ST("b").st_ino;
	CHK(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_EXCHANGE));
	EXPECT(ST("a").st_ino == ib && ST("b").st_ino == ia, "inodes not "
	       "swapped");
	EXPECT(SLURP("a", b, sizeof(b)) == 6 && !memcmp(b, "bbbbbb", 6),
	       "content of a is not b's");
	/* a file and a directory */
	CHK(mkdir("d", 0755));
	MKFILE("d/inside", 0644, 0);
	CHK(renameat2(AT_FDCWD, "a", AT_FDCWD, "d", RENAME_EXCHANGE));
	EXPECT(S_ISDIR(ST("a").st_mode) && exists("a/inside"), "a is not the "
	       "directory after the exchange");
	EXPECT(S_ISREG(ST("d").st_mode), "d is not the file after the "
	       "exchange");
	/* across parents: ".." and link counts follow the directory */
	CHK(mkdir("p1", 0755));
	CHK(mkdir("p2", 0755));
	CHK(mkdir("p1/dir", 0755));
	MKFILE("p2/file", 0644, 0);
	n1 = ST("p1").st_nlink;
	n2 = ST("p2").st_nlink;
	CHK(renameat2(AT_FDCWD, "p1/dir", AT_FDCWD, "p2/file",
		      RENAME_EXCHANGE));
	EXPECT(S_ISDIR(ST("p2/file").st_mode) &&
	       S_ISREG(ST("p1/dir").st_mode), "types not swapped");
	EXPECT(ST("p2/file/..").st_ino == ST("p2").st_ino, "exchanged dir's "
	       ".. is not its new parent");
	if (n1 != 1) {
		EXPECT(ST("p1").st_nlink == n1 - 1 &&
		       ST("p2").st_nlink == n2 + 1, "parent nlink %lu/%lu, "
		       "expected %lu/%lu", (unsigned long)ST("p1").st_nlink,
		       (unsigned long)ST("p2").st_nlink,
		       (unsigned long)n1 - 1, (unsigned long)n2 + 1);
	}
	ERR(renameat2(AT_FDCWD, "b", AT_FDCWD, "missing", RENAME_EXCHANGE),
	    ENOENT);
	ERR(renameat2(AT_FDCWD, "missing", AT_FDCWD, "b", RENAME_EXCHANGE),
	    ENOENT);
	EXPECT(exists("b"), "failed exchange removed b");
}

/* ---- links ---- */

static void t_link(void)
{
	char b[16];
	struct stat st;
	int i, fd;

	PUT("a", 0644, "1234", 4);
	CHK(link("a", "b"));
	st = ST("a");
	EXPECT(st.st_nlink == 2, "nlink %lu after link",
	       (unsigned long)st.st_nlink);
	EXPECT(ST("b").st_ino == st.st_ino, "link has another inode");
	EXPECT(ST("b").st_nlink == 2, "nlink via the link");
	fd = CHK(open("b", O_WRONLY));
	PWRITE(fd, "xy", 2, 4);
	CHK(close(fd));
	EXPECT(SLURP("a", b, sizeof(b)) == 6 && !memcmp(b, "1234xy", 6),
	       "write through the link not seen through the other name");
	CHK(mkdir("d", 0755));
	CHK(link("a", "d/c"));
	EXPECT(ST("a").st_nlink == 3, "nlink %lu with a link in a subdir",
	       (unsigned long)ST("a").st_nlink);
	for (i = 0; i < 20; i++) {
		snprintf(b, sizeof(b), "m%d", i);
		CHK(link("a", b));
	}
	EXPECT(ST("a").st_nlink == 23, "nlink %lu, expected 23",
	       (unsigned long)ST("a").st_nlink);
	for (i = 0; i < 20; i++) {
		snprintf(b, sizeof(b), "m%d", i);
		CHK(unlink(b));
	}
	CHK(unlink("a"));
	CHK(unlink("d/c"));
	EXPECT(ST("b").st_nlink == 1, "nlink %lu after unlinking the others",
	       (unsigned long)ST("b").st_nlink);
	EXPECT(SLURP("b", b, sizeof(b)) == 6, "data lost");
}

static void t_link_errors(void)
{
	MKFILE("a", 0644, 0);
	MKFILE("b", 0644, 0);
	CHK(mkdir("d", 0755));
	ERR(link("d", "dl"), EPERM);
	ERR(link("a", "b"), EEXIST);
	ERR(link("a", "d"), EEXIST);
	ERR(link("missing", "x"), ENOENT);
	ERR(link("a", "missing/x"), ENOENT);
	ERR(link("a/x", "y"), ENOTDIR);
	/* linkat without AT_SYMLINK_FOLLOW links the symlink itself */
	CHK(symlink("a", "sl"));
	CHK(linkat(AT_FDCWD, "sl", AT_FDCWD, "sl2", 0));
	EXPECT(S_ISLNK(LST("sl2").st_mode), "link to a symlink is not a "
	       "symlink");
	EXPECT(LST("sl").st_nlink == 2, "symlink nlink %lu",
	       (unsigned long)LST("sl").st_nlink);
}

/* ---- symlinks ---- */

static void t_symlink(void)
{
	char b[PATH_MAX];
	struct stat st;
	ssize_t n;

	MKFILE("target", 0644, 77);
	CHK(symlink("target", "l"));
	n = CHK(readlink("l", b, sizeof(b)));
	EXPECT(n == 6 && !memcmp(b, "target", 6), "readlink gave %.*s",
	       (int)n, b);
	st = LST("l");
	EXPECT(S_ISLNK(st.st_mode), "lstat type %o", st.st_mode & S_IFMT);
	EXPECT(st.st_size == 6, "symlink st_size %lld, expected 6",
	       (long long)st.st_size);
	EXPECT(ST("l").st_size == 77 && S_ISREG(ST("l").st_mode),
	       "stat does not follow");
	/* a short buffer truncates, without NUL */
	memset(b, 'Z', 8);
	EXPECT(CHK(readlink("l", b, 3)) == 3 && !memcmp(b, "tarZ", 4),
	       "readlink with a 3-byte buffer");
	ERR(readlink("target", b, sizeof(b)), EINVAL);
	ERR(readlink("missing", b, sizeof(b)), ENOENT);
	ERR(symlink("x", "target"), EEXIST);
	ERR(symlink("x", "l"), EEXIST);
	/* relative to the link's own directory */
	CHK(mkdir("d", 0755));
	CHK(symlink("../target", "d/up"));
	EXPECT(ST("d/up").st_ino == ST("target").st_ino, "relative symlink "
	       "resolved elsewhere");
	/* a chain of links */
	CHK(symlink("l", "l2"));
	CHK(symlink("l2", "l3"));
	CHK(symlink("d/../l3", "l4"));
	EXPECT(ST("l4").st_ino == ST("target").st_ino, "symlink chain");
	/* dangling: lstat works, stat does not, O_CREAT creates the target */
	CHK(symlink("newtarget", "dangling"));
	ERR(stat("dangling", &st), ENOENT);
	EXPECT(S_ISLNK(LST("dangling").st_mode), "dangling lstat");
	CHK(close(CHK(open("dangling", O_CREAT | O_WRONLY, 0644))));
	EXPECT(S_ISREG(LST("newtarget").st_mode), "open(O_CREAT) through a "
	       "dangling symlink did not create the target");
	/* symlink to a directory, with a trailing slash */
	CHK(symlink("d", "ld"));
	EXPECT(S_ISDIR(ST("ld/").st_mode), "ld/ is not the directory");
	EXPECT(S_ISDIR(ST("ld/.").st_mode), "ld/. is not the directory");
}

static void t_symlink_long(void)
{
	char *t = xmalloc(4097), *b = xmalloc(4097);
	ssize_t n;
	int i;

	/* a valid-looking long relative path */
	for (i = 0; i < 4095; i++)
		t[i] = i % 8 == 7 ? '/' : 'a' + i % 7;
	t[4095] = 0;
	if (symlink(t, "long") < 0)
		FAIL("symlink with a 4095-byte target: %s%s", estr(errno),
		     errno == ENAMETOOLONG ? ": targets up to PATH_MAX - 1 "
		     "must work (XFS, for one, stops at 1024)" : "");
	n = CHK(readlink("long", b, 4097));
	EXPECT(n == 4095 && !memcmp(b, t, 4095), "readlink of a 4095-byte "
	       "target returned %zd bytes%s", n,
	       n == 4095 ? " that differ" : "");
	EXPECT(LST("long").st_size == 4095, "st_size %lld",
	       (long long)LST("long").st_size);
	t[4095] = 'x';
	t[4096] = 0;
	ERR(symlink(t, "toolong"), ENAMETOOLONG);
	free(t);
	free(b);
}

static void t_symlink_loop(void)
{
	struct stat st;

	CHK(symlink("self", "self"));
	ERR(open("self", O_RDONLY), ELOOP);
	ERR(stat("self", &st), ELOOP);
	CHK(symlink("b", "a"));
	CHK(symlink("a", "b"));
	ERR(open("a", O_RDONLY), ELOOP);
	ERR(open("a", O_RDONLY | O_CREAT, 0644), ELOOP);
	ERR(open("self/x", O_RDONLY), ELOOP);
	EXPECT(S_ISLNK(LST("self").st_mode), "lstat of a loop");
}

/* ---- special files ---- */

static void t_mkfifo(void)
{
	struct stat st;
	char b[8];
	int fd;

	CHK(mkfifo("p", 0640));
	st = LST("p");
	EXPECT(S_ISFIFO(st.st_mode), "type %o", st.st_mode & S_IFMT);
	EXPECT((st.st_mode & 07777) == 0640, "mode %04o",
	       st.st_mode & 07777);
	EXPECT(st.st_size == 0, "size %lld", (long long)st.st_size);
	/* Linux lets O_RDWR open a FIFO without blocking */
	fd = CHK(open("p", O_RDWR | O_NONBLOCK));
	EXPECT(CHK(write(fd, "ping", 4)) == 4, "short write to the FIFO");
	EXPECT(CHK(read(fd, b, sizeof(b))) == 4 && !memcmp(b, "ping", 4),
	       "FIFO data");
	CHK(close(fd));
	ERR(mkfifo("p", 0644), EEXIST);
	CHK(mknod("q", S_IFIFO | 0600, 0));
	EXPECT(S_ISFIFO(LST("q").st_mode), "mknod S_IFIFO");
}

static void t_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, c, a;
	char b[8];

	strcpy(sa.sun_path, "sock");
	s = CHK(socket(AF_UNIX, SOCK_STREAM, 0));
	CHK(bind(s, (struct sockaddr *)&sa, sizeof(sa)));
	EXPECT(S_ISSOCK(LST("sock").st_mode), "bind did not make a socket "
	       "file: type %o", LST("sock").st_mode & S_IFMT);
	CHK(listen(s, 1));
	c = CHK(socket(AF_UNIX, SOCK_STREAM, 0));
	CHK(connect(c, (struct sockaddr *)&sa, sizeof(sa)));
	a = CHK(accept(s, NULL, NULL));
	EXPECT(CHK(write(c, "hi", 2)) == 2, "short write");
	EXPECT(CHK(read(a, b, sizeof(b))) == 2 && !memcmp(b, "hi", 2),
	       "socket data");
	close(a);
	close(c);
	close(s);
	s = CHK(socket(AF_UNIX, SOCK_STREAM, 0));
	ERR(bind(s, (struct sockaddr *)&sa, sizeof(sa)), EADDRINUSE);
	close(s);
	CHK(unlink("sock"));
}

static void t_mknod_dev(void)
{
	struct stat st;

	CHK(mknod("null", S_IFCHR | 0600, makedev(1, 3)));
	st = LST("null");
	EXPECT(S_ISCHR(st.st_mode), "type %o", st.st_mode & S_IFMT);
	EXPECT(st.st_rdev == makedev(1, 3), "st_rdev %u:%u, expected 1:3",
	       major(st.st_rdev), minor(st.st_rdev));
	EXPECT((st.st_mode & 07777) == 0600, "mode %04o",
	       st.st_mode & 07777);
	CHK(mknod("blk", S_IFBLK | 0600, makedev(259, 65537)));
	st = LST("blk");
	EXPECT(S_ISBLK(st.st_mode), "type %o", st.st_mode & S_IFMT);
	EXPECT(st.st_rdev == makedev(259, 65537), "st_rdev %u:%u, expected "
	       "259:65537", major(st.st_rdev), minor(st.st_rdev));
	CHK(mknod("reg", S_IFREG | 0644, 0));
	EXPECT(S_ISREG(LST("reg").st_mode) && LST("reg").st_size == 0,
	       "mknod S_IFREG");
	ERR(mknod("null", S_IFCHR | 0600, makedev(1, 3)), EEXIST);
}

static void t_o_tmpfile(void)
{
	char path[64], b[8];
	int fd = open(".", O_TMPFILE | O_RDWR, 0600);

	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR))
		skip("O_TMPFILE not supported (%s)", ename(errno));
	if (fd < 0)
		FAIL("open(O_TMPFILE): %s", estr(errno));
	PWRITE(fd, "tmp", 3, 0);
	EXPECT(FST(fd).st_nlink == 0, "O_TMPFILE file has nlink %lu",
	       (unsigned long)FST(fd).st_nlink);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	CHK(linkat(AT_FDCWD, path, AT_FDCWD, "named", AT_SYMLINK_FOLLOW));
	CHK(close(fd));
	EXPECT(SLURP("named", b, sizeof(b)) == 3 && !memcmp(b, "tmp", 3),
	       "linked O_TMPFILE content");
	EXPECT(ST("named").st_nlink == 1, "nlink after linkat");
}

/* ---- readdir ---- */

#define NDIRENT	500

/* names long enough that one getdents buffer cannot hold them all */
static void dirent_name(char *b, size_t sz, int i)
{
	char type = i < 400 ? 'f' : i < 450 ? 'd' : 'l';

	snprintf(b, sz, "%c%04d-%.*s", type, i, 20 + i % 90,
		 "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij"
		 "klmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz");
}

static void make_dirents(void)
{
	char b[256];
	int i;

	for (i = 0; i < NDIRENT; i++) {
		dirent_name(b, sizeof(b), i);
		if (b[0] == 'f')
			MKFILE(b, 0644, 0);
		else if (b[0] == 'd')
			CHK(mkdir(b, 0755));
		else
			CHK(symlink("target", b));
	}
}

/* index of a name made by dirent_name, -1 for a stranger */
static int dirent_index(const char *name)
{
	char b[256];
	int i;

	if (strlen(name) < 6 || sscanf(name + 1, "%4d", &i) != 1 || i < 0 ||
	    i >= NDIRENT)
		return -1;
	dirent_name(b, sizeof(b), i);
	return strcmp(b, name) ? -1 : i;
}

static void check_entry(const char *name, unsigned char type, ino_t ino,
			int *seen, int *dots)
{
	struct stat st = LST(name);
	int i;

	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		dots[name[1] == '.']++;
		return;
	}
	i = dirent_index(name);
	EXPECT(i >= 0, "readdir returned unknown name '%s'", name);
	seen[i]++;
	EXPECT(ino == st.st_ino, "%s: d_ino %llu, st_ino %llu", name,
	       (unsigned long long)ino, (unsigned long long)st.st_ino);
	if (type != DT_UNKNOWN)
		EXPECT(type == IFTODT(st.st_mode), "%s: d_type %u, file type "
		       "%u", name, type, IFTODT(st.st_mode));
}

static void check_seen(const int *seen, const int *dots)
{
	int i;

	EXPECT(dots[0] == 1 && dots[1] == 1, ". seen %d times, .. %d times",
	       dots[0], dots[1]);
	for (i = 0; i < NDIRENT; i++)
		EXPECT(seen[i] == 1, "entry %d seen %d times", i, seen[i]);
}

static void t_readdir(void)
{
	int seen[NDIRENT] = { 0 }, dots[2] = { 0 };
	struct dirent *e;
	DIR *d;

	make_dirents();
	d = opendir(".");
	EXPECT(d, "opendir: %s", estr(errno));
	errno = 0;
	while ((e = readdir(d)))
		check_entry(e->d_name, e->d_type, e->d_ino, seen, dots);
	EXPECT(!errno, "readdir: %s", estr(errno));
	check_seen(seen, dots);
	/* a second pass after rewinddir sees a new entry */
	MKFILE("late", 0644, 0);
	rewinddir(d);
	while ((e = readdir(d)))
		if (!strcmp(e->d_name, "late"))
			break;
	EXPECT(e, "entry created before rewinddir not listed");
	closedir(d);
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* getdents64 with a tiny buffer: many calls, each resuming at d_off */
static void t_readdir_small_buffer(void)
{
	int seen[NDIRENT] = { 0 }, dots[2] = { 0 }, fd, calls = 0;
	char buf[512] __attribute__((aligned(8)));
	long n;

	make_dirents();
	fd = CHK(open(".", O_RDONLY | O_DIRECTORY));
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		long off;

		calls++;
		for (off = 0; off < n; ) {
			struct linux_dirent64 *e = (void *)(buf + off);

			check_entry(e->d_name, e->d_type, e->d_ino, seen,
				    dots);
			off += e->d_reclen;
		}
	}
	EXPECT(n == 0, "getdents64: %s", estr(errno));
	check_seen(seen, dots);
	EXPECT(calls > 10, "only %d getdents64 calls", calls);
	CHK(close(fd));
}

static void t_readdir_seekdir(void)
{
	static const int starts[] = { 0, 1, 2, 3, 100, 251, 400, 500, 501 };
#define NSTARTS	(int)(sizeof(starts) / sizeof(starts[0]))
	char *names[NDIRENT + 3];
	long pos[NDIRENT + 3];
	struct dirent *e;
	int n, i, j, k;
	DIR *d;

	make_dirents();
	d = opendir(".");
	EXPECT(d, "opendir: %s", estr(errno));
	for (n = 0; n < NDIRENT + 3; n++) {
		pos[n] = telldir(d);
		EXPECT(pos[n] >= 0, "telldir: %s", estr(errno));
		e = readdir(d);
		if (!e)
			break;
		names[n] = strdup(e->d_name);
	}
	EXPECT(n == NDIRENT + 2, "%d entries, expected %d", n, NDIRENT + 2);
	pos[n] = telldir(d);
	/* resume from remembered positions, in a scrambled order */
	for (k = 0; k < NSTARTS; k++) {
		i = starts[(k * 5) % NSTARTS];	/* 5 and 9: coprime */
		seekdir(d, pos[i]);
		for (j = i; j < i + 5 && j < n; j++) {
			e = readdir(d);
			EXPECT(e, "readdir after seekdir to entry %d ended "
			       "early", i);
			EXPECT(!strcmp(e->d_name, names[j]), "after seekdir to "
			       "entry %d, entry %d is %s, was %s", i, j,
			       e->d_name, names[j]);
		}
		if (j == n)
			EXPECT(!readdir(d), "readdir past the end after "
			       "seekdir");
	}
	rewinddir(d);
	e = readdir(d);
	EXPECT(e && !strcmp(e->d_name, names[0]), "rewinddir");
	closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
}

/* entries removed while listing may or may not show; others exactly once */
static void t_readdir_unlink(void)
{
	int seen[300] = { 0 }, gone[300] = { 0 }, i, nread = 0;
	unsigned r = 12345;
	struct dirent *e;
	char b[64];
	DIR *d;

	for (i = 0; i < 300; i++) {
		snprintf(b, sizeof(b), "u%03d-%.*s", i, i % 40,
			 "padpadpadpadpadpadpadpadpadpadpadpadpad");
		MKFILE(b, 0644, 0);
	}
	d = opendir(".");
	EXPECT(d, "opendir: %s", estr(errno));
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		EXPECT(sscanf(e->d_name, "u%3d", &i) == 1 && i >= 0 && i < 300,
		       "unknown entry %s", e->d_name);
		EXPECT(!seen[i], "entry %s returned twice", e->d_name);
		seen[i]++;
		if (++nread % 20)
			continue;
		for (int k = 0; k < 5; k++) {
			int v;

			r = r * 1103515245 + 12345;
			v = (r >> 8) % 300;
			if (seen[v] || gone[v])
				continue;
			snprintf(b, sizeof(b), "u%03d-%.*s", v, v % 40,
				 "padpadpadpadpadpadpadpadpadpadpadpadpad");
			CHK(unlink(b));
			gone[v] = 1;
		}
	}
	closedir(d);
	for (i = 0; i < 300; i++)
		EXPECT(gone[i] || seen[i] == 1, "entry %d (never removed) seen "
		       "%d times", i, seen[i]);
}

/* ---- names ---- */

static void t_name_max(void)
{
	char n255[256], n256[257], p[300];
	struct dirent *e;
	struct stat st;
	DIR *d;

	memset(n255, 'n', 255);
	n255[255] = 0;
	memset(n256, 'n', 256);
	n256[256] = 0;
	MKFILE(n255, 0644, 3);
	EXPECT(ST(n255).st_size == 3, "255-byte name");
	d = opendir(".");
	EXPECT(d, "opendir: %s", estr(errno));
	while ((e = readdir(d)))
		if (!strcmp(e->d_name, n255))
			break;
	EXPECT(e, "255-byte name not in readdir");
	closedir(d);
	ERR(open(n256, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
	ERR(mkdir(n256, 0755), ENAMETOOLONG);
	ERR(stat(n256, &st), ENAMETOOLONG);
	ERR(symlink("x", n256), ENAMETOOLONG);
	ERR(rename(n255, n256), ENAMETOOLONG);
	ERR(link(n255, n256), ENAMETOOLONG);
	CHK(mkdir("d", 0755));
	snprintf(p, sizeof(p), "d/%s", n255);
	CHK(rename(n255, p));
	CHK(unlink(p));
}

static void t_name_bytes(void)
{
	char name[256], got[256];
	struct dirent *e;
	int i, n = 0;
	DIR *d;

	/* every byte a name may hold, but '/' and NUL */
	for (i = 1; i < 256; i++)
		if (i != '/')
			name[n++] = (char)i;
	name[n] = 0;
	PUT(name, 0644, "x", 1);
	EXPECT(ST(name).st_size == 1, "stat by the odd name");
	d = opendir(".");
	EXPECT(d, "opendir: %s", estr(errno));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || e->d_name[1] == 1)
			break;
	EXPECT(e, "entry missing from readdir");
	snprintf(got, sizeof(got), "%s", e->d_name);
	closedir(d);
	EXPECT(!strcmp(got, name), "readdir returned a different name "
	       "(%zu bytes)", strlen(got));
	CHK(rename(name, "plain"));
	CHK(rename("plain", " leading space, trailing space "));
	CHK(rename(" leading space, trailing space ", "-dash\nnewline\t"));
	EXPECT(exists("-dash\nnewline\t"), "odd name lost");
	CHK(mkdir("..." , 0755));
	EXPECT(S_ISDIR(ST("...").st_mode), "directory named ...");
	CHK(unlink("-dash\nnewline\t"));
}

/* ---- xattrs ---- */

static bool list_has(const char *list, ssize_t len, const char *name)
{
	ssize_t off;

	for (off = 0; off < len; off += strlen(list + off) + 1)
		if (!strcmp(list + off, name))
			return true;
	return false;
}

static void t_xattr_user(void)
{
	char b[256], list[4096];
	ssize_t n;

	need_user_xattrs();
	MKFILE("f", 0644, 0);
	CHK(setxattr("f", "user.test", "value", 5, 0));
	EXPECT(CHK(getxattr("f", "user.test", NULL, 0)) == 5, "size query");
	n = CHK(getxattr("f", "user.test", b, sizeof(b)));
	EXPECT(n == 5 && !memcmp(b, "value", 5), "got %.*s", (int)n, b);
	CHK(setxattr("f", "user.empty", "", 0, 0));
	EXPECT(CHK(getxattr("f", "user.empty", b, sizeof(b))) == 0,
	       "empty value");
	/* binary value with NULs */
	CHK(setxattr("f", "user.bin", "a\0b\0", 4, 0));
	n = CHK(getxattr("f", "user.bin", b, sizeof(b)));
	EXPECT(n == 4 && !memcmp(b, "a\0b\0", 4), "binary value");
	n = CHK(listxattr("f", list, sizeof(list)));
	EXPECT(list_has(list, n, "user.test") && list_has(list, n,
	       "user.empty") && list_has(list, n, "user.bin"),
	       "listxattr misses a name");
	EXPECT(CHK(listxattr("f", NULL, 0)) == n, "listxattr size query");
	/* replace keeps one value */
	CHK(setxattr("f", "user.test", "longer value", 12, 0));
	n = CHK(getxattr("f", "user.test", b, sizeof(b)));
	EXPECT(n == 12 && !memcmp(b, "longer value", 12), "replaced value");
	CHK(setxattr("f", "user.test", "v", 1, 0));
	EXPECT(CHK(getxattr("f", "user.test", b, sizeof(b))) == 1,
	       "shrunk value");
	CHK(removexattr("f", "user.test"));
	ERR(getxattr("f", "user.test", b, sizeof(b)), ENODATA);
	ERR(removexattr("f", "user.test"), ENODATA);
	n = CHK(listxattr("f", list, sizeof(list)));
	EXPECT(!list_has(list, n, "user.test"), "removed name still listed");
	/* xattrs follow the inode through rename and link */
	CHK(rename("f", "g"));
	CHK(link("g", "h"));
	EXPECT(CHK(getxattr("h", "user.bin", b, sizeof(b))) == 4,
	       "xattr lost by rename/link");
	/* directories carry user xattrs too */
	CHK(mkdir("d", 0755));
	CHK(setxattr("d", "user.dir", "1", 1, 0));
	EXPECT(CHK(getxattr("d", "user.dir", b, sizeof(b))) == 1,
	       "directory xattr");
	ERR(getxattr("missing", "user.x", b, sizeof(b)), ENOENT);
}

static void t_xattr_flags(void)
{
	char b[16];

	need_user_xattrs();
	MKFILE("f", 0644, 0);
	ERR(setxattr("f", "user.a", "1", 1, XATTR_REPLACE), ENODATA);
	CHK(setxattr("f", "user.a", "1", 1, XATTR_CREATE));
	ERR(setxattr("f", "user.a", "2", 1, XATTR_CREATE), EEXIST);
	CHK(setxattr("f", "user.a", "3", 1, XATTR_REPLACE));
	EXPECT(CHK(getxattr("f", "user.a", b, sizeof(b))) == 1 && b[0] == '3',
	       "XATTR_REPLACE value");
}

static void t_xattr_erange(void)
{
	char b[64], list[64];
	ssize_t n;

	need_user_xattrs();
	MKFILE("f", 0644, 0);
	CHK(setxattr("f", "user.abc", "0123456789", 10, 0));
	ERR(getxattr("f", "user.abc", b, 9), ERANGE);
	ERR(getxattr("f", "user.abc", b, 1), ERANGE);
	EXPECT(CHK(getxattr("f", "user.abc", b, 10)) == 10, "exact size");
	n = CHK(listxattr("f", NULL, 0));
	EXPECT(n >= 9, "listxattr size %zd", n);
	ERR(listxattr("f", list, n - 1), ERANGE);
	ERR(listxattr("f", list, 1), ERANGE);
}

static void t_xattr_sizes(void)
{
	char *v = xmalloc(65537), *g = xmalloc(65537);
	char name[300];

	need_user_xattrs();
	MKFILE("f", 0644, 0);
	fill(v, 65537, 4);
	CHK(setxattr("f", "user.3000", v, 3000, 0));
	EXPECT(CHK(getxattr("f", "user.3000", g, 65537)) == 3000 &&
	       !memcmp(v, g, 3000), "3000-byte value");
	ERR(setxattr("f", "user.big", v, 65537, 0), E2BIG);
	/* names: 255 bytes is the limit */
	memset(name, 'x', sizeof(name));
	memcpy(name, "user.", 5);
	name[255] = 0;
	CHK(setxattr("f", name, "1", 1, 0));
	EXPECT(CHK(getxattr("f", name, g, 16)) == 1, "255-byte name");
	name[255] = 'x';
	name[256] = 0;
	ERR(setxattr("f", name, "1", 1, 0), ERANGE);
	ERR(setxattr("f", "foo.bar", "1", 1, 0), EOPNOTSUPP);
	free(v);
	free(g);
}

static void t_xattr_64k(void)
{
	char *v = xmalloc(65536), *g = xmalloc(65536);

	need_user_xattrs();
	MKFILE("f", 0644, 0);
	fill(v, 65536, 6);
	if (setxattr("f", "user.big", v, 65536, 0) < 0) {
		if (errno == ENOSPC || errno == E2BIG)
			skip("a 64 KiB value does not fit this file system "
			     "(%s)", ename(errno));
		FAIL("setxattr 64 KiB: %s", estr(errno));
	}
	EXPECT(CHK(getxattr("f", "user.big", g, 65536)) == 65536 &&
	       !memcmp(v, g, 65536), "64 KiB value differs");
	free(v);
	free(g);
}

static void t_xattr_many(void)
{
	char name[32], *list = xmalloc(65536);
	int i, found = 0;
	ssize_t n, off;

	need_user_xattrs();
	MKFILE("f", 0644, 0);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "user.n%03d", i);
		CHK(setxattr("f", name, name, strlen(name), 0));
	}
	n = CHK(listxattr("f", list, 65536));
	for (off = 0; off < n; off += strlen(list + off) + 1) {
		if (strncmp(list + off, "user.n", 6))
			continue;
		EXPECT(sscanf(list + off, "user.n%d", &i) == 1 && i >= 0 &&
		       i < 100, "unexpected name %s", list + off);
		found++;
	}
	EXPECT(found == 100, "%d of 100 names listed", found);
	for (i = 0; i < 100; i++) {
		char v[32];

		snprintf(name, sizeof(name), "user.n%03d", i);
		EXPECT(CHK(getxattr("f", name, v, sizeof(v))) ==
		       (ssize_t)strlen(name) && !memcmp(v, name, strlen(name)),
		       "value of %s", name);
		CHK(removexattr("f", name));
	}
	n = CHK(listxattr("f", list, 65536));
	EXPECT(!list_has(list, n, "user.n000"), "names left after removal");
	free(list);
}

static void t_xattr_fd_symlink(void)
{
	char b[16], list[256];
	int fd;

	need_user_xattrs();
	MKFILE("f", 0644, 0);
	fd = CHK(open("f", O_RDONLY));
	CHK(fsetxattr(fd, "user.fd", "fd", 2, 0));
	EXPECT(CHK(fgetxattr(fd, "user.fd", b, sizeof(b))) == 2, "fgetxattr");
	EXPECT(list_has(list, CHK(flistxattr(fd, list, sizeof(list))),
			"user.fd"), "flistxattr");
	CHK(fremovexattr(fd, "user.fd"));
	ERR(fgetxattr(fd, "user.fd", b, sizeof(b)), ENODATA);
	CHK(close(fd));
	/* user.* is not allowed on symlinks (the VFS says EPERM) */
	CHK(symlink("f", "l"));
	ERR(lsetxattr("l", "user.x", "1", 1, 0), EPERM);
	CHK(setxattr("l", "user.via", "1", 1, 0));	/* follows */
	EXPECT(CHK(getxattr("f", "user.via", b, sizeof(b))) == 1,
	       "setxattr through a symlink did not reach the target");
}

static void t_xattr_other_ns(void)
{
	static const char *const names[] = {
		"trusted.vdifs-posix", "security.vdifs-posix",
	};
	char b[16];
	unsigned i;

	MKFILE("f", 0644, 0);
	for (i = 0; i < 2; i++) {
		if (setxattr("f", names[i], "v", 1, 0) < 0) {
			info("setxattr %s: %s", names[i], estr(errno));
			continue;
		}
		if (getxattr("f", names[i], b, sizeof(b)) != 1)
			info("%s: set works, get: %s", names[i], estr(errno));
		else
			info("%s: set and get work", names[i]);
	}
	exit(CHILD_INFO);
}

/* ---- statfs ---- */

static void t_statfs(void)
{
	struct statfs a, b;
	struct statvfs v;
	int fd;

	CHK(statfs(".", &a));
	EXPECT(a.f_bsize > 0, "f_bsize %ld", (long)a.f_bsize);
	EXPECT(a.f_namelen == 255, "f_namelen %ld, expected 255",
	       (long)a.f_namelen);
	EXPECT(a.f_blocks >= a.f_bfree, "f_blocks %llu < f_bfree %llu",
	       (unsigned long long)a.f_blocks,
	       (unsigned long long)a.f_bfree);
	EXPECT(a.f_bfree >= a.f_bavail, "f_bfree %llu < f_bavail %llu",
	       (unsigned long long)a.f_bfree,
	       (unsigned long long)a.f_bavail);
	EXPECT(!a.f_files || a.f_files >= a.f_ffree, "f_files %llu < "
	       "f_ffree %llu", (unsigned long long)a.f_files,
	       (unsigned long long)a.f_ffree);
	fd = CHK(open(".", O_RDONLY | O_DIRECTORY));
	CHK(fstatfs(fd, &b));
	CHK(close(fd));
	EXPECT(a.f_type == b.f_type && a.f_bsize == b.f_bsize &&
	       a.f_blocks == b.f_blocks, "fstatfs disagrees with statfs");
	CHK(statvfs(".", &v));
	EXPECT(v.f_namemax == 255, "statvfs f_namemax %lu",
	       (unsigned long)v.f_namemax);
	EXPECT(v.f_frsize > 0, "f_frsize 0");
	info("f_type %#lx, f_bsize %ld, %llu of %llu blocks free",
	     (unsigned long)a.f_type, (long)a.f_bsize,
	     (unsigned long long)a.f_bfree, (unsigned long long)a.f_blocks);
}

/* ---- size changes ---- */

static void t_truncate(void)
{
	uint8_t *w = xmalloc(10000), *r = xmalloc(10000);
	int fd;

	fill(w, 10000, 7);
	PUT("f", 0644, w, 1000);
	CHK(truncate("f", 10000));
	EXPECT(ST("f").st_size == 10000, "size %lld after growing",
	       (long long)ST("f").st_size);
	EXPECT(SLURP("f", r, 10000) == 10000, "short read");
	EXPECT(!memcmp(r, w, 1000), "data changed by growing");
	EXPECT(all_zero(r + 1000, 9000), "grown part is not zero");
	/* shrink, then grow again: the cut part must come back as zeroes */
	PUT("f", 0644, w, 10000);
	fd = CHK(open("f", O_RDWR));
	CHK(ftruncate(fd, 3001));
	EXPECT(FST(fd).st_size == 3001, "size after shrink");
	EXPECT(CHK(pread(fd, r, 10000, 0)) == 3001, "read after shrink");
	EXPECT(!memcmp(r, w, 3001), "data below the cut changed");
	CHK(ftruncate(fd, 10000));
	PREAD(fd, r, 10000, 0);
	EXPECT(!memcmp(r, w, 3001), "data below the cut changed");
	EXPECT(all_zero(r + 3001, 10000 - 3001), "old data came back "
	       "after shrink and grow");
	/* the same through a write past EOF instead of ftruncate */
	CHK(ftruncate(fd, 4097));
	PWRITE(fd, "z", 1, 8191);
	PREAD(fd, r, 8192, 0);
	EXPECT(all_zero(r + 4097, 8191 - 4097), "old data came back after "
	       "shrink and write past EOF");
	CHK(ftruncate(fd, 0));
	EXPECT(FST(fd).st_size == 0, "size after truncate to 0");
	CHK(close(fd));
	free(w);
	free(r);
}

static void t_truncate_errors(void)
{
	int fd;

	MKFILE("f", 0644, 10);
	CHK(mkdir("d", 0755));
	ERR(truncate("f", -1), EINVAL);
	ERR(truncate("d", 0), EISDIR);
	ERR(truncate("missing", 0), ENOENT);
	fd = CHK(open("f", O_RDONLY));
	ERR2(ftruncate(fd, 0), EINVAL, EBADF);
	CHK(close(fd));
	EXPECT(ST("f").st_size == 10, "size changed");
}

static void t_fallocate(void)
{
	uint8_t *w = xmalloc(256 * KiB), *r = xmalloc(MiB);
	struct stat st;
	int fd = CHK(open("f", O_CREAT | O_RDWR, 0644));

	/* mode 0 extends, and reads as zeroes */
	if (fallocate(fd, 0, 0, MiB) < 0) {
		if (errno == EOPNOTSUPP)
			skip("fallocate not supported (EOPNOTSUPP)");
		FAIL("fallocate(fd, 0, 0, MiB): %s", estr(errno));
	}
	st = FST(fd);
	EXPECT(st.st_size == (off_t)MiB, "size %lld after fallocate 1 MiB",
	       (long long)st.st_size);
	PREAD(fd, r, MiB, 0);
	EXPECT(all_zero(r, MiB), "fallocated range not zero");
	/* over data, fallocate keeps it */
	fill(w, 256 * KiB, 8);
	PWRITE(fd, w, 256 * KiB, 0);
	CHK(fallocate(fd, 0, 0, 512 * KiB));
	PREAD(fd, r, 256 * KiB, 0);
	EXPECT(!memcmp(r, w, 256 * KiB), "fallocate changed data");
	/* KEEP_SIZE beyond EOF: size stays, and a later grow reads zero */
	CHK(fallocate(fd, FALLOC_FL_KEEP_SIZE, MiB, MiB));
	EXPECT(FST(fd).st_size == (off_t)MiB, "KEEP_SIZE changed the size "
	       "to %lld", (long long)FST(fd).st_size);
	CHK(ftruncate(fd, 2 * MiB));
	PREAD(fd, r, MiB, MiB);
	EXPECT(all_zero(r, MiB), "preallocated range not zero");
	ERR(fallocate(fd, 0, 0, 0), EINVAL);
	ERR(fallocate(fd, 0, -1, 10), EINVAL);
	CHK(close(fd));
	fd = CHK(open("f", O_RDONLY));
	ERR(fallocate(fd, 0, 0, 10), EBADF);
	CHK(close(fd));
	free(w);
	free(r);
}

static void t_fallocate_punch(void)
{
	uint8_t *w = xmalloc(256 * KiB), *r = xmalloc(256 * KiB);
	struct stat before, after;
	int fd = CHK(open("f", O_CREAT | O_RDWR, 0644));

	fill(w, 256 * KiB, 9);
	PWRITE(fd, w, 256 * KiB, 0);
	CHK(fsync(fd));
	before = FST(fd);
	/* the VFS insists on KEEP_SIZE with PUNCH_HOLE */
	ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      64 * KiB, 64 * KiB) < 0) {
		if (errno == EOPNOTSUPP)
			skip("FALLOC_FL_PUNCH_HOLE not supported (EOPNOTSUPP)");
		FAIL("fallocate PUNCH_HOLE|KEEP_SIZE: %s", estr(errno));
	}
	/* unaligned, too: only the bytes asked for */
	CHK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      1000, 4000));
	after = FST(fd);
	EXPECT(after.st_size == 256 * (off_t)KiB, "size changed to %lld",
	       (long long)after.st_size);
	PREAD(fd, r, 256 * KiB, 0);
	EXPECT(!memcmp(r, w, 1000), "data before the small hole");
	EXPECT(all_zero(r + 1000, 4000), "small hole not zero");
	EXPECT(!memcmp(r + 5000, w + 5000, 64 * KiB - 5000), "data between "
	       "the holes");
	EXPECT(all_zero(r + 64 * KiB, 64 * KiB), "hole not zero");
	EXPECT(!memcmp(r + 128 * KiB, w + 128 * KiB, 128 * KiB), "data after "
	       "the hole");
	EXPECT(after.st_blocks <= before.st_blocks, "st_blocks grew from "
	       "%lld to %lld on punching", (long long)before.st_blocks,
	       (long long)after.st_blocks);
	/* beyond EOF: no effect */
	CHK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      512 * KiB, 64 * KiB));
	EXPECT(FST(fd).st_size == 256 * (off_t)KiB, "punch beyond EOF "
	       "changed the size");
	CHK(close(fd));
	free(w);
	free(r);
}

static void t_fallocate_zero(void)
{
	uint8_t *w = xmalloc(128 * KiB), *r = xmalloc(128 * KiB);
	int fd = CHK(open("f", O_CREAT | O_RDWR, 0644));

	fill(w, 128 * KiB, 10);
	PWRITE(fd, w, 128 * KiB, 0);
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE, 1000, 10000) < 0) {
		if (errno == EOPNOTSUPP)
			skip("FALLOC_FL_ZERO_RANGE not supported "
			     "(EOPNOTSUPP)");
		FAIL("fallocate ZERO_RANGE: %s", estr(errno));
	}
	PREAD(fd, r, 128 * KiB, 0);
	EXPECT(!memcmp(r, w, 1000) && all_zero(r + 1000, 10000) &&
	       !memcmp(r + 11000, w + 11000, 128 * KiB - 11000),
	       "ZERO_RANGE zeroed the wrong bytes");
	/* past EOF: extends without KEEP_SIZE, not with it */
	CHK(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		      120 * KiB, 64 * KiB));
	EXPECT(FST(fd).st_size == 128 * (off_t)KiB, "ZERO_RANGE|KEEP_SIZE "
	       "changed the size");
	PREAD(fd, r, 8 * KiB, 120 * KiB);
	EXPECT(all_zero(r, 8 * KiB), "ZERO_RANGE|KEEP_SIZE did not zero "
	       "below EOF");
	CHK(fallocate(fd, FALLOC_FL_ZERO_RANGE, 120 * KiB, 64 * KiB));
	EXPECT(FST(fd).st_size == 184 * (off_t)KiB, "ZERO_RANGE past EOF: "
	       "size %lld, expected %llu", (long long)FST(fd).st_size,
	       184 * KiB);
	CHK(close(fd));
	free(w);
	free(r);
}

static void t_seek_data_hole(void)
{
	char b[4096];
	off_t r;
	int fd = CHK(open("f", O_CREAT | O_RDWR, 0644));

	fill(b, sizeof(b), 11);
	PWRITE(fd, b, sizeof(b), MiB);
	CHK(ftruncate(fd, 2 * MiB));
	r = CHK(lseek(fd, 0, SEEK_DATA));
	EXPECT(r >= 0 && r <= (off_t)MiB, "SEEK_DATA from 0 gave %lld, "
	       "the data is at 1 MiB", (long long)r);
	r = CHK(lseek(fd, MiB, SEEK_DATA));
	EXPECT(r == (off_t)MiB, "SEEK_DATA from 1 MiB (data) gave %lld",
	       (long long)r);
	r = CHK(lseek(fd, MiB, SEEK_HOLE));
	EXPECT(r > (off_t)MiB && r <= 2 * (off_t)MiB, "SEEK_HOLE from 1 MiB "
	       "gave %lld, expected (1 MiB, EOF]", (long long)r);
	r = CHK(lseek(fd, 0, SEEK_HOLE));
	EXPECT(r >= 0 && r <= 2 * (off_t)MiB, "SEEK_HOLE from 0 gave %lld",
	       (long long)r);
	r = lseek(fd, MiB + 4096, SEEK_DATA);
	EXPECT(r < 0 ? errno == ENXIO : (r >= (off_t)MiB + 4096 &&
	       r < 2 * (off_t)MiB), "SEEK_DATA from the trailing hole gave "
	       "%lld (%s)", (long long)r, r < 0 ? estr(errno) : "");
	ERR(lseek(fd, 2 * MiB, SEEK_DATA), ENXIO);
	ERR(lseek(fd, 2 * MiB, SEEK_HOLE), ENXIO);
	ERR(lseek(fd, 3 * MiB, SEEK_DATA), ENXIO);
	CHK(close(fd));
}

static void t_lseek(void)
{
	int fd;
	char b[8];

	MKFILE("f", 0644, 1000);
	fd = CHK(open("f", O_RDWR));
	EXPECT(CHK(lseek(fd, 0, SEEK_END)) == 1000, "SEEK_END");
	EXPECT(CHK(lseek(fd, -10, SEEK_CUR)) == 990, "SEEK_CUR");
	EXPECT(CHK(lseek(fd, 5000, SEEK_SET)) == 5000, "SEEK_SET past EOF");
	EXPECT(CHK(write(fd, "x", 1)) == 1, "write past EOF");
	EXPECT(FST(fd).st_size == 5001, "size %lld",
	       (long long)FST(fd).st_size);
	PREAD(fd, b, 8, 1000);
	EXPECT(all_zero(b, 8), "gap not zero");
	ERR(lseek(fd, -1, SEEK_SET), EINVAL);
	ERR(lseek(fd, -6000, SEEK_END), EINVAL);
	CHK(close(fd));
}

static void t_sparse_100g(void)
{
	const off_t off = 100 * (off_t)GiB + 7;
	char b[4096];
	struct stat st;
	off_t r;
	int fd = CHK(open("f", O_CREAT | O_RDWR, 0644));

	PWRITE(fd, "Z", 1, off);
	st = FST(fd);
	EXPECT(st.st_size == off + 1, "size %lld, expected %lld",
	       (long long)st.st_size, (long long)off + 1);
	CHK(close(fd));
	EXPECT(ST("f").st_size == off + 1, "size after close");
	fd = CHK(open("f", O_RDONLY));
	PREAD(fd, b, 1, off);
	EXPECT(b[0] == 'Z', "byte at 100 GiB + 7 is %#x", b[0]);
	PREAD(fd, b, sizeof(b), 50 * (off_t)GiB);
	EXPECT(all_zero(b, sizeof(b)), "hole at 50 GiB not zero");
	PREAD(fd, b, 8, off - 7);
	EXPECT(all_zero(b, 7) && b[7] == 'Z', "the 8 bytes up to the data");
	EXPECT(CHK(pread(fd, b, sizeof(b), off + 1)) == 0, "read at EOF");
	r = lseek(fd, 0, SEEK_DATA);
	EXPECT(r >= 0 && r <= off, "SEEK_DATA from 0 gave %lld (%s)",
	       (long long)r, r < 0 ? estr(errno) : "");
	st = FST(fd);
	if ((unsigned long long)st.st_blocks * 512 > 64 * MiB)
		info("%lld bytes allocated for 1 byte of data: not sparse",
		     (long long)st.st_blocks * 512);
	CHK(close(fd));
	CHK(truncate("f", 0));
}

static void t_odirect(void)
{
	uint8_t *w = xalign(64 * KiB), *r = xalign(64 * KiB);
	int fd, bfd;

	fd = open("f", O_CREAT | O_RDWR | O_DIRECT, 0644);
	if (fd < 0)
		FAIL("open(O_DIRECT): %s: QEMU's cache=none needs it",
		     estr(errno));
	fill(w, 64 * KiB, 12);
	PWRITE(fd, w, 64 * KiB, 4096);
	EXPECT(FST(fd).st_size == 4096 + 64 * (off_t)KiB, "size %lld",
	       (long long)FST(fd).st_size);
	PREAD(fd, r, 64 * KiB, 4096);
	EXPECT(!memcmp(w, r, 64 * KiB), "O_DIRECT read back differs");
	PREAD(fd, r, 4096, 0);
	EXPECT(all_zero(r, 4096), "unwritten first block not zero");
	/* the page cache and direct I/O agree, both ways */
	bfd = CHK(open("f", O_RDWR));
	PREAD(bfd, r, 64 * KiB, 4096);
	EXPECT(!memcmp(w, r, 64 * KiB), "buffered read of direct write");
	fill(w, 8192, 13);
	PWRITE(bfd, w, 8192, 8192);
	PREAD(fd, r, 8192, 8192);
	EXPECT(!memcmp(w, r, 8192), "direct read of buffered write");
	/* a short O_DIRECT read at EOF */
	CHK(ftruncate(bfd, 4096 * 3 + 100));
	EXPECT(CHK(pread(fd, r, 64 * KiB, 8192)) == 4096 + 100,
	       "O_DIRECT read across EOF not short");
	CHK(close(bfd));
	CHK(close(fd));
	free(w);
	free(r);
}

/* ---- mmap ---- */

static void t_mmap_shared(void)
{
	uint8_t w[1000], r[1000], *m;
	int fd, fd2;

	MKFILE("f", 0644, 16 * KiB);
	fd = CHK(open("f", O_RDWR));
	m = mmap(NULL, 16 * KiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		FAIL("mmap: %s", estr(errno));
	fill(w, sizeof(w), 14);
	memcpy(m + 5000, w, sizeof(w));
	CHK(msync(m, 16 * KiB, MS_SYNC));
	fd2 = CHK(open("f", O_RDONLY));
	PREAD(fd2, r, sizeof(r), 5000);
	EXPECT(!memcmp(w, r, sizeof(r)), "read() does not see the mmap "
	       "write");
	/* and the other way: pwrite shows in the mapping */
	fill(w, sizeof(w), 15);
	PWRITE(fd, w, sizeof(w), 9000);
	EXPECT(!memcmp(m + 9000, w, sizeof(w)), "mapping does not see "
	       "pwrite");
	CHK(munmap(m, 16 * KiB));
	CHK(close(fd));
	CHK(close(fd2));
	EXPECT(ST("f").st_size == 16 * (off_t)KiB, "size changed");
	fd = CHK(open("f", O_RDONLY));
	PREAD(fd, r, sizeof(r), 9000);
	EXPECT(!memcmp(w, r, sizeof(r)), "data after reopen");
	CHK(close(fd));
}

static void t_mmap_private(void)
{
	uint8_t orig[4096], r[4096], *m;
	int fd;

	fill(orig, sizeof(orig), 16);
	PUT("f", 0644, orig, sizeof(orig));
	fd = CHK(open("f", O_RDWR));
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		FAIL("mmap: %s", estr(errno));
	memset(m, 'P', 4096);
	CHK(msync(m, 4096, MS_SYNC));
	PREAD(fd, r, sizeof(r), 0);
	EXPECT(!memcmp(r, orig, sizeof(r)), "MAP_PRIVATE write visible to "
	       "read()");
	CHK(munmap(m, 4096));
	CHK(close(fd));
	EXPECT(SLURP("f", r, sizeof(r)) == sizeof(r) &&
	       !memcmp(r, orig, sizeof(r)), "MAP_PRIVATE write reached the "
	       "file");
}

static void t_mmap_eof(void)
{
	struct sigaction sa = { .sa_handler = on_sigbus };
	volatile uint8_t *m;
	volatile int bus = 0;
	uint8_t tail[4096];
	int fd;

	if (pagesz != 4096)
		skip("page size %ld", pagesz);
	MKFILE("f", 0644, 5000);
	fd = CHK(open("f", O_RDONLY));
	m = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		FAIL("mmap: %s", estr(errno));
	/* the rest of the page holding EOF reads as zeroes */
	memcpy(tail, (const uint8_t *)m + 5000, 8192 - 5000);
	EXPECT(all_zero(tail, 8192 - 5000), "bytes past EOF in the last "
	       "page are not zero");
	sigaction(SIGBUS, &sa, NULL);
	if (!sigsetjmp(bus_jmp, 1))
		(void)m[8192];
	else
		bus = 1;
	EXPECT(bus, "no SIGBUS touching a page wholly past EOF");
	munmap((void *)m, 3 * 4096);
	CHK(close(fd));
}

/* ---- sync ---- */

static void t_sync(void)
{
	int fd, dfd;

	MKFILE("f", 0644, 100000);
	fd = CHK(open("f", O_RDWR));
	PWRITE(fd, "sync", 4, 50000);
	CHK(fsync(fd));
	PWRITE(fd, "data", 4, 60000);
	CHK(fdatasync(fd));
	PWRITE(fd, "range", 5, 70000);
	CHK(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE |
			    SYNC_FILE_RANGE_WAIT_AFTER));
	CHK(syncfs(fd));
	CHK(close(fd));
	fd = CHK(open("f", O_RDONLY));
	CHK(fsync(fd));		/* allowed on a read-only fd */
	CHK(close(fd));
	dfd = CHK(open(".", O_RDONLY | O_DIRECTORY));
	CHK(fsync(dfd));
	CHK(fdatasync(dfd));
	CHK(close(dfd));
	fd = CHK(open("f", O_RDWR | O_SYNC));
	PWRITE(fd, "osync", 5, 80000);
	CHK(close(fd));
	fd = CHK(open("f", O_RDWR | O_DSYNC));
	PWRITE(fd, "dsync", 5, 90000);
	CHK(close(fd));
}

/* ---- locks (QEMU locks its images) ---- */

static void t_locks(void)
{
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0,
		.l_len = 100,
	};
	int fd1, fd2, fd3, status;
	pid_t pid;

	MKFILE("f", 0644, 1000);
	fd1 = CHK(open("f", O_RDWR));
	fd2 = CHK(open("f", O_RDWR));
	/* OFD locks: two open files in one process conflict */
	CHK(fcntl(fd1, F_OFD_SETLK, &fl));
	fl.l_start = 50;
	fl.l_len = 10;
	ERR2(fcntl(fd2, F_OFD_SETLK, &fl), EAGAIN, EACCES);
	fl.l_type = F_RDLCK;
	fl.l_pid = 0;
	CHK(fcntl(fd2, F_OFD_GETLK, &fl));
	EXPECT(fl.l_type == F_WRLCK, "F_OFD_GETLK does not report the "
	       "conflict");
	fl = (struct flock){ .l_type = F_WRLCK, .l_start = 100, .l_len = 10 };
	CHK(fcntl(fd2, F_OFD_SETLK, &fl));
	fl = (struct flock){ .l_type = F_UNLCK, .l_start = 0, .l_len = 0 };
	CHK(fcntl(fd1, F_OFD_SETLK, &fl));
	CHK(fcntl(fd2, F_OFD_SETLK, &fl));
	/* POSIX locks and flock: another process conflicts */
	fl = (struct flock){ .l_type = F_WRLCK, .l_start = 0, .l_len = 100 };
	CHK(fcntl(fd1, F_SETLK, &fl));
	fd3 = CHK(open("f", O_RDONLY));
	CHK(flock(fd3, LOCK_EX));
	fflush(stdout);
	pid = CHK(fork());
	if (!pid) {
		struct flock c = { .l_type = F_WRLCK, .l_start = 10,
				   .l_len = 1 };
		int fd = open("f", O_RDWR);

		if (fd < 0 || fcntl(fd, F_SETLK, &c) == 0 ||
		    (errno != EAGAIN && errno != EACCES))
			_exit(1);
		if (fcntl(fd, F_GETLK, &c) < 0 || c.l_type != F_WRLCK ||
		    c.l_pid != getppid())
			_exit(2);
		c = (struct flock){ .l_type = F_WRLCK, .l_start = 200,
				    .l_len = 1 };
		if (fcntl(fd, F_SETLK, &c) < 0)
			_exit(3);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
			_exit(4);
		_exit(0);
	}
	CHK(waitpid(pid, &status, 0));
	CHK(close(fd3));
	EXPECT(WIFEXITED(status) && !WEXITSTATUS(status), "lock conflict "
	       "step %d failed in the other process",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	CHK(close(fd1));
	CHK(close(fd2));
}

static void t_copy_file_range(void)
{
	uint8_t *w = xmalloc(200 * KiB), *r = xmalloc(200 * KiB);
	loff_t in = 1000, out = 5000;
	ssize_t n, done = 0;
	int a, b;

	fill(w, 200 * KiB, 17);
	PUT("a", 0644, w, 200 * KiB);
	a = CHK(open("a", O_RDONLY));
	b = CHK(open("b", O_CREAT | O_RDWR, 0644));
	while (done < 100 * (ssize_t)KiB) {
		n = copy_file_range(a, &in, b, &out, 100 * KiB - done, 0);
		if (n < 0)
			FAIL("copy_file_range: %s", estr(errno));
		EXPECT(n > 0, "copy_file_range returned 0 before the end");
		done += n;
	}
	EXPECT(FST(b).st_size == 5000 + 100 * (off_t)KiB, "size %lld",
	       (long long)FST(b).st_size);
	PREAD(b, r, 100 * KiB, 5000);
	EXPECT(!memcmp(r, w + 1000, 100 * KiB), "copied data differs");
	PREAD(b, r, 5000, 0);
	EXPECT(all_zero(r, 5000), "head of the target not zero");
	CHK(close(a));
	CHK(close(b));
	free(w);
	free(r);
}

/* ---- permissions, as an unprivileged user ---- */

static void t_perm_open(void)
{
	char b[8];
	int fd;

	PUT("f600", 0600, "secret", 6);
	PUT("f644", 0644, "public", 6);
	CHK(chmod("f600", 0600));
	CHK(chmod("f644", 0644));
	become_user();
	ERR(open("f600", O_RDONLY), EACCES);
	ERR(open("f600", O_WRONLY), EACCES);
	EXPECT(ST("f600").st_size == 6, "stat needs no file permission");
	fd = CHK(open("f644", O_RDONLY));
	EXPECT(CHK(read(fd, b, sizeof(b))) == 6, "read");
	CHK(close(fd));
	ERR(open("f644", O_WRONLY), EACCES);
	ERR(open("f644", O_RDWR), EACCES);
	ERR(open("f644", O_RDONLY | O_TRUNC), EACCES);
}

static void t_perm_dir_write(void)
{
	CHK(mkdir("d", 0755));
	MKFILE("d/x", 0644, 0);
	become_user();
	ERR(open("d/new", O_CREAT | O_WRONLY, 0644), EACCES);
	ERR(mkdir("d/sub", 0755), EACCES);
	ERR(unlink("d/x"), EACCES);
	ERR(rename("d/x", "d/y"), EACCES);
	ERR(symlink("t", "d/l"), EACCES);
	ERR(mkfifo("d/p", 0644), EACCES);
	EXPECT(exists("d/x"), "file gone");
}

static void t_perm_dir_search(void)
{
	struct stat st;
	struct dirent *e;
	DIR *d;

	CHK(mkdir("d700", 0700));
	CHK(mkdir("d711", 0711));
	CHK(mkdir("d744", 0744));
	CHK(chmod("d744", 0744));
	MKFILE("d700/f", 0644, 0);
	MKFILE("d711/f", 0644, 0);
	MKFILE("d744/f", 0644, 0);
	become_user();
	ERR(stat("d700/f", &st), EACCES);
	ERR(open("d700/f", O_RDONLY), EACCES);
	EXPECT(!opendir("d700") && errno == EACCES, "opendir of a 0700 dir: "
	       "%s", estr(errno));
	EXPECT(ST("d711/f").st_size == 0, "search-only dir");
	EXPECT(!opendir("d711") && errno == EACCES, "opendir of a 0711 "
	       "dir: %s", estr(errno));
	d = opendir("d744");
	EXPECT(d, "opendir of a 0744 dir: %s", estr(errno));
	while ((e = readdir(d)))
		if (!strcmp(e->d_name, "f"))
			break;
	EXPECT(e, "f not listed in a readable dir");
	closedir(d);
	ERR(stat("d744/f", &st), EACCES);
}

static void t_perm_sticky(void)
{
	CHK(chmod(".", 01777));
	MKFILE("theirs", 0666, 0);
	CHK(chown("theirs", opt_uid + 1, opt_gid + 1));
	become_user();
	MKFILE("mine", 0644, 0);
	ERR2(unlink("theirs"), EPERM, EACCES);
	ERR2(rename("theirs", "moved"), EPERM, EACCES);
	ERR2(rename("mine", "theirs"), EPERM, EACCES);
	EXPECT(exists("theirs") && exists("mine"), "a file went away");
	CHK(rename("mine", "mine2"));
	CHK(unlink("mine2"));
}

static void t_perm_not_owner(void)
{
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	MKFILE("f", 0666, 0);
	CHK(chmod("f", 0666));
	MKFILE("g", 0644, 0);
	CHK(chmod(".", 0777));	/* so that mknod fails for want of CAP_MKNOD */
	become_user();
	ERR(chmod("f", 0777), EPERM);
	ERR(chown("f", opt_uid, -1), EPERM);
	ERR(chown("f", -1, opt_gid), EPERM);
	ERR(utimensat(AT_FDCWD, "f", ts, 0), EPERM);
	/* "now" only needs write permission */
	CHK(utimensat(AT_FDCWD, "f", NULL, 0));
	ERR(utimensat(AT_FDCWD, "g", NULL, 0), EACCES);
	ERR(truncate("g", 0), EACCES);
	ERR(mknod("dev", S_IFCHR | 0600, makedev(1, 3)), EPERM);
}

static void t_perm_owner(void)
{
	struct stat st;

	MKFILE("f", 0644, 0);
	CHK(chown("f", opt_uid, opt_gid));
	MKFILE("g", 0644, 0);
	CHK(chown("g", opt_uid, 0));
	become_user();
	CHK(chmod("f", 0600));
	EXPECT((ST("f").st_mode & 07777) == 0600, "owner chmod");
	ERR(chown("f", 0, -1), EPERM);
	ERR(chown("f", -1, 0), EPERM);		/* not a member of group 0 */
	CHK(chown("f", opt_uid, opt_gid));	/* no change is fine */
	CHK(utimensat(AT_FDCWD, "f", (struct timespec[2]){ { 5, 0 },
						       { 6, 0 } }, 0));
	EXPECT(ST("f").st_mtim.tv_sec == 6, "owner utimensat");
	/* set-group-ID on a file of a foreign group is silently dropped */
	CHK(chmod("g", 02755));
	st = ST("g");
	EXPECT((st.st_mode & 07777) == 0755, "chmod 02755 by a non-member "
	       "gave %04o, expected 0755", st.st_mode & 07777);
}

static void t_perm_kill_suid(void)
{
	struct stat st;
	int fd;

	MKFILE("u", 0644, 10);
	CHK(chmod("u", 04777));
	MKFILE("g", 0644, 10);
	CHK(chmod("g", 02777));
	MKFILE("t", 0644, 10);
	CHK(chmod("t", 04777));
	become_user();
	fd = CHK(open("u", O_WRONLY));
	PWRITE(fd, "x", 1, 0);
	CHK(close(fd));
	st = ST("u");
	EXPECT(!(st.st_mode & S_ISUID), "write by another user kept "
	       "set-user-ID (mode %04o)", st.st_mode & 07777);
	fd = CHK(open("g", O_WRONLY));
	PWRITE(fd, "x", 1, 0);
	CHK(close(fd));
	st = ST("g");
	EXPECT(!(st.st_mode & S_ISGID), "write by another user kept "
	       "set-group-ID (mode %04o)", st.st_mode & 07777);
	CHK(truncate("t", 5));
	st = ST("t");
	EXPECT(!(st.st_mode & S_ISUID), "truncate by another user kept "
	       "set-user-ID (mode %04o)", st.st_mode & 07777);
}

static void t_perm_group(void)
{
	char b[8];

	PUT("g604", 0604, "x", 1);
	CHK(chown("g604", 0, opt_gid));
	CHK(chmod("g604", 0604));
	PUT("g640", 0640, "x", 1);
	CHK(chown("g640", 0, opt_gid));
	CHK(chmod("g640", 0640));
	become_user();
	/* the group class applies, not "other", though other may read */
	ERR(open("g604", O_RDONLY), EACCES);
	EXPECT(SLURP("g640", b, sizeof(b)) == 1, "group read");
}

static void t_perm_xattr(void)
{
	char b[8];

	need_user_xattrs();
	MKFILE("f", 0644, 0);
	become_user();
	ERR(setxattr("f", "user.a", "1", 1, 0), EACCES);
	ERR(getxattr("f", "user.a", b, sizeof(b)), ENODATA);
}

static void t_access_user(void)
{
	MKFILE("r", 0644, 0);
	MKFILE("x", 0755, 0);
	CHK(chmod("x", 0755));
	MKFILE("s", 0600, 0);
	become_user();
	CHK(access("r", R_OK));
	CHK(access("r", F_OK));
	ERR(access("r", W_OK), EACCES);
	ERR(access("r", X_OK), EACCES);
	CHK(access("x", X_OK | R_OK));
	ERR(access("s", R_OK), EACCES);
	CHK(access("s", F_OK));
	CHK(faccessat(AT_FDCWD, "r", R_OK, AT_EACCESS));
	ERR(faccessat(AT_FDCWD, "r", W_OK, AT_EACCESS), EACCES);
	ERR(access("missing", F_OK), ENOENT);
}

static void t_access(void)
{
	MKFILE("none", 0, 0);
	CHK(chmod("none", 0));
	MKFILE("xonly", 0100, 0);
	CHK(chmod("xonly", 0100));
	CHK(mkdir("d", 0));
	CHK(chmod("d", 0));
	if (geteuid() == 0) {
		/* root may read and write anything, but execute only x */
		CHK(access("none", R_OK | W_OK));
		ERR(access("none", X_OK), EACCES);
		CHK(access("xonly", X_OK));
		CHK(access("d", X_OK | R_OK | W_OK));
	} else {
		ERR(access("none", R_OK), EACCES);
		CHK(access("xonly", X_OK));
		ERR(access("d", X_OK), EACCES);
	}
	CHK(access("none", F_OK));
	ERR(access("missing", F_OK), ENOENT);
	ERR(access("none/x", F_OK), ENOTDIR);
	CHK(chmod("d", 0755));
}

/* ---- the table ---- */

#define GROUP	0x2	/* reports its own results */

static const struct check {
	const char *name;
	void (*fn)(void);
	unsigned flags;
} checks[] = {
	{ "open_excl", t_open_excl, 0 },
	{ "open_trunc", t_open_trunc, 0 },
	{ "open_append", t_open_append, 0 },
	{ "open_errors", t_open_errors, 0 },
	{ "create_mode_umask", t_create_mode, 0 },
	{ "rw_basic", t_rw_basic, 0 },
	{ "pread_pwrite", t_pread_pwrite, 0 },
	{ "write_gap_zero", t_write_gap, 0 },
	{ "offsets_2g_4g_8g", t_offset_4g, 0 },
	{ "stat_fields", t_stat_fields, 0 },
	{ "stat_blocks", t_stat_blocks, 0 },
	{ "stat_ino_stable", t_stat_ino_stable, 0 },
	{ "stat_dir_nlink", t_stat_dir_nlink, 0 },
	{ "chmod", t_chmod, 0 },
	{ "chown", t_chown, NEED_ROOT },
	{ "utimens_explicit", t_utimens_explicit, 0 },
	{ "utimens_now", t_utimens_now, 0 },
	{ "utimens_omit", t_utimens_omit, 0 },
	{ "times", t_times, GROUP },
	{ "mkdir", t_mkdir, 0 },
	{ "mkdir_errors", t_mkdir_errors, 0 },
	{ "mkdir_setgid_inherit", t_mkdir_setgid, NEED_ROOT },
	{ "rmdir", t_rmdir, 0 },
	{ "unlink", t_unlink, 0 },
	{ "unlink_open_file", t_unlink_open, 0 },
	{ "rename_file", t_rename_file, 0 },
	{ "rename_over_file", t_rename_over_file, 0 },
	{ "rename_dirs", t_rename_dirs, 0 },
	{ "rename_noreplace", t_rename_noreplace, 0 },
	{ "rename_exchange", t_rename_exchange, 0 },
	{ "link", t_link, 0 },
	{ "link_errors", t_link_errors, 0 },
	{ "symlink", t_symlink, 0 },
	{ "symlink_long_target", t_symlink_long, 0 },
	{ "symlink_loop", t_symlink_loop, 0 },
	{ "mkfifo", t_mkfifo, 0 },
	{ "unix_socket", t_socket, 0 },
	{ "mknod_devices", t_mknod_dev, NEED_ROOT },
	{ "o_tmpfile", t_o_tmpfile, 0 },
	{ "readdir_500", t_readdir, 0 },
	{ "readdir_small_buffer", t_readdir_small_buffer, 0 },
	{ "readdir_seekdir", t_readdir_seekdir, 0 },
	{ "readdir_unlink_while_listing", t_readdir_unlink, 0 },
	{ "name_max", t_name_max, 0 },
	{ "name_all_bytes", t_name_bytes, 0 },
	{ "xattr_user", t_xattr_user, 0 },
	{ "xattr_create_replace", t_xattr_flags, 0 },
	{ "xattr_erange", t_xattr_erange, 0 },
	{ "xattr_sizes_names", t_xattr_sizes, 0 },
	{ "xattr_64k_value", t_xattr_64k, 0 },
	{ "xattr_many", t_xattr_many, 0 },
	{ "xattr_fd_symlink", t_xattr_fd_symlink, 0 },
	{ "xattr_trusted_security", t_xattr_other_ns, 0 },
	{ "statfs", t_statfs, 0 },
	{ "truncate", t_truncate, 0 },
	{ "truncate_errors", t_truncate_errors, 0 },
	{ "fallocate", t_fallocate, 0 },
	{ "fallocate_punch_hole", t_fallocate_punch, 0 },
	{ "fallocate_zero_range", t_fallocate_zero, 0 },
	{ "seek_data_hole", t_seek_data_hole, 0 },
	{ "lseek", t_lseek, 0 },
	{ "sparse_100g", t_sparse_100g, 0 },
	{ "o_direct", t_odirect, 0 },
	{ "mmap_shared", t_mmap_shared, 0 },
	{ "mmap_private", t_mmap_private, 0 },
	{ "mmap_eof", t_mmap_eof, 0 },
	{ "sync", t_sync, 0 },
	{ "locks", t_locks, 0 },
	{ "copy_file_range", t_copy_file_range, 0 },
	{ "access", t_access, 0 },
	{ "perm_open", t_perm_open, NEED_ROOT },
	{ "perm_dir_write", t_perm_dir_write, NEED_ROOT },
	{ "perm_dir_search", t_perm_dir_search, NEED_ROOT },
	{ "perm_sticky", t_perm_sticky, NEED_ROOT },
	{ "perm_not_owner", t_perm_not_owner, NEED_ROOT },
	{ "perm_owner", t_perm_owner, NEED_ROOT },
	{ "perm_kill_suid", t_perm_kill_suid, NEED_ROOT },
	{ "perm_group_class", t_perm_group, NEED_ROOT },
	{ "perm_xattr", t_perm_xattr, NEED_ROOT },
	{ "perm_access", t_access_user, NEED_ROOT },
};

#define NR_CHECKS	(sizeof(checks) / sizeof(checks[0]))

/* ---- the runner ---- */

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

static int open_up(const char *path, const struct stat *st, int type,
		   struct FTW *ftw)
{
	/* so that a non-root run can list what a check locked down */
	if (type == FTW_D)
		chmod(path, 0700);
	return 0;
}

static void remove_tree(const char *path)
{
	nftw(path, open_up, 16, FTW_PHYS);
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		printf("FAIL: cleanup: removing %s: %s\n", path, estr(errno));
		counts->fail++;
		exit(CHILD_DONE);
	}
}

/*
 * Run fn in a child with a watchdog.  Returns its wait status, or -1 if
 * it timed out (it is killed then).
 */
static int run_child(void (*fn)(const struct check *), const struct check *ck,
		     bool *hung)
{
	struct timespec t0 = now(), t;
	unsigned delay = 1000;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror(PROG ": fork");
		exit(1);
	}
	if (!pid) {
		fn(ck);
		exit(CHILD_PASS);
	}
	*hung = false;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		t = now();
		if (t.tv_sec - t0.tv_sec >= (time_t)opt_timeout)
			break;
		usleep(delay);
		if (delay < 50000)
			delay *= 2;
	}
	kill(pid, SIGKILL);
	for (delay = 0; delay < 100; delay++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -1;
		usleep(50000);
	}
	*hung = true;	/* stuck in the kernel: SIGKILL cannot land */
	return -1;
}

static const char *workdir;

static void check_main(const struct check *ck)
{
	cur = ck->name;
	if (chdir(workdir) < 0)
		FAIL("setup: chdir %s: %s", workdir, estr(errno));
	if (mkdir(ck->name, 0755) < 0 || chdir(ck->name) < 0)
		FAIL("setup: mkdir/chdir %s: %s", ck->name, estr(errno));
	umask(022);
	ck->fn();
}

static void cleanup_main(const struct check *ck)
{
	cur = ck->name;
	if (chdir(workdir) < 0)
		exit(CHILD_PASS);
	if (exists(ck->name))
		remove_tree(ck->name);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr, "usage: " PROG " [-u UID] [-g GID] [-t SECS] "
		"[-r SUBSTR] [-l] DIR\n"
		"  -u/-g  unprivileged user for the permission checks "
		"(default 65534:65534)\n"
		"  -t     per-check timeout in seconds (default 120)\n"
		"  -r     only checks whose name contains SUBSTR\n"
		"  -l     list the checks and exit\n");
	exit(EXIT_USAGE);
}

static unsigned long parse_ul(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		usage();
	return v;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	char wd[PATH_MAX];
	struct stat st;
	unsigned i, ran = 0;
	int opt;

	while ((opt = getopt(argc, argv, "u:g:t:r:lh")) != -1) {
		switch (opt) {
		case 'u':
			opt_uid = parse_ul(optarg);
			break;
		case 'g':
			opt_gid = parse_ul(optarg);
			break;
		case 't':
			opt_timeout = parse_ul(optarg);
			break;
		case 'r':
			only = optarg;
			break;
		case 'l':
			for (i = 0; i < NR_CHECKS; i++)
				printf("%s\n", checks[i].name);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || !opt_timeout)
		usage();
	if (stat(argv[optind], &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, PROG ": %s: not a directory\n", argv[optind]);
		return EXIT_USAGE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	is_root = geteuid() == 0;
	pagesz = sysconf(_SC_PAGESIZE);
	if (is_root && opt_uid == 0) {
		fprintf(stderr, PROG ": -u must name a non-root user\n");
		return EXIT_USAGE;
	}
	counts = mmap(NULL, sizeof(*counts), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED) {
		perror(PROG ": mmap");
		return 1;
	}
	snprintf(wd, sizeof(wd), "%s/" PROG ".%d", argv[optind], getpid());
	if (mkdir(wd, 0755) < 0 || chmod(wd, 0755) < 0) {
		fprintf(stderr, PROG ": mkdir %s: %s\n", wd, strerror(errno));
		return 1;
	}
	workdir = wd;

	for (i = 0; i < NR_CHECKS; i++) {
		const struct check *ck = &checks[i];
		bool hung;
		int status;

		if (only && !strstr(ck->name, only))
			continue;
		ran++;
		if ((ck->flags & NEED_ROOT) && !is_root) {
			printf("SKIP: %s: needs root\n", ck->name);
			counts->skip++;
			continue;
		}
		status = run_child(check_main, ck, &hung);
		if (status < 0) {
			printf("FAIL: %s: timed out after %u s%s\n", ck->name,
			       opt_timeout, hung ? " and cannot be killed "
			       "(stuck in the kernel); stopping" : "");
			counts->fail++;
			if (hung)
				break;
		} else if (WIFSIGNALED(status)) {
			printf("FAIL: %s: killed by signal %d (%s)\n",
			       ck->name, WTERMSIG(status),
			       strsignal(WTERMSIG(status)));
			counts->fail++;
		} else if (WEXITSTATUS(status) == CHILD_PASS) {
			printf("PASS: %s\n", ck->name);
			counts->pass++;
		} else if (WEXITSTATUS(status) != CHILD_FAIL &&
			   WEXITSTATUS(status) != CHILD_SKIP &&
			   WEXITSTATUS(status) != CHILD_DONE &&
			   WEXITSTATUS(status) != CHILD_INFO) {
			printf("FAIL: %s: exited with status %d\n", ck->name,
			       WEXITSTATUS(status));
			counts->fail++;
		}
		status = run_child(cleanup_main, ck, &hung);
		if (status < 0) {
			printf("FAIL: cleanup: %s: timed out%s\n", ck->name,
			       hung ? "; stopping" : "");
			counts->fail++;
			if (hung)
				break;
		}
	}
	if (only && !ran) {
		fprintf(stderr, PROG ": no check matches '%s'\n", only);
		return EXIT_USAGE;
	}
	if (rmdir(wd) < 0) {
		printf("FAIL: cleanup: rmdir %s: %s\n", wd, estr(errno));
		counts->fail++;
	}
	printf(PROG ": %u passed, %u failed, %u skipped\n", counts->pass,
	       counts->fail, counts->skip);
	return counts->fail ? 1 : 0;
}
