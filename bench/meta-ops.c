// SPDX-License-Identifier: GPL-2.0
/*
 * bench-meta-ops: metadata operations per second on a mounted file
 * system, for bench/vdi.sh's metadata phase (vdifs against NFS in the same
 * guest).  Benchmark, not a test.
 *
 *   bench-meta-ops DIR_A DIR_B PROCS FILES
 *
 * DIR_A and DIR_B are the same directory through two mounts (two
 * clients); process i works in DIR_A or DIR_B by its parity, in a
 * directory of its own, on FILES files, phase by phase, every process
 * starting a phase together (a barrier) and the phase timed from its
 * start to the last process's end:
 *   create   open(O_CREAT | O_EXCL) + close of each file
 *   stat     stat of each
 *   readdir  a listing of a shared directory of RD_FILES entries, made
 *            beforehand (entries listed per second, all processes)
 *   rename   each file to a new name in the same directory
 *   unlink   each
 * Prints "OP OPS_PER_S SECONDS" lines.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define RD_FILES	10000
#define NPHASES		5

static const char *const phase_name[NPHASES] = {
	"create", "stat", "readdir", "rename", "unlink",
};

struct shared {
	pthread_barrier_t start, end;
	long long ops[NPHASES];		/* summed by the processes */
	int failed;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-meta-ops: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long long list_dir(const char *dir)
{
	long long n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n++;
	closedir(d);
	return n;
}

static long long run_phase(int phase, const char *dir, const char *rd,
			   int files)
{
	char a[4200], b[4200];
	struct stat st;
	long long n = 0;
	int i, fd;

	for (i = 0; i < files; i++) {
		snprintf(a, sizeof(a), "%s/f%06d", dir, i);
		snprintf(b, sizeof(b), "%s/g%06d", dir, i);
		switch (phase) {
		case 0:
			fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
			if (fd < 0)
				return -1;
			close(fd);
			break;
		case 1:
			if (stat(a, &st))
				return -1;
			break;
		case 2:
			/* a few listings of the big directory, not per file */
			if (i)
				return n;
			n = list_dir(rd);
			if (n < RD_FILES)
				return -1;
			return n;
		case 3:
			if (rename(a, b))
				return -1;
			break;
		case 4:
			if (unlink(b))
				return -1;
			break;
		}
		n++;
	}
	return n;
}

static void child(struct shared *sh, const char *base, const char *rd,
		  int id, int files)
{
	char dir[4096];
	int p;

	snprintf(dir, sizeof(dir), "%s/m%d", base, id);
	if (mkdir(dir, 0755) && errno != EEXIST)
		sh->failed = 1;
	for (p = 0; p < NPHASES; p++) {
		long long n;

		pthread_barrier_wait(&sh->start);
		n = sh->failed ? 0 : run_phase(p, dir, rd, files);
		if (n < 0) {
			fprintf(stderr, "bench-meta-ops: %s in %s: %s\n",
				phase_name[p], dir, strerror(errno));
			sh->failed = 1;
		} else {
			__atomic_add_fetch(&sh->ops[p], n, __ATOMIC_RELAXED);
		}
		pthread_barrier_wait(&sh->end);
	}
	rmdir(dir);
	exit(0);
}

int main(int argc, char **argv)
{
	pthread_barrierattr_t ba;
	struct shared *sh;
	char rd[4096], f[4200];
	int procs, files, i, p, fd;

	if (argc != 5) {
		fprintf(stderr, "usage: bench-meta-ops DIR_A DIR_B PROCS FILES\n");
		return 2;
	}
	procs = atoi(argv[3]);
	files = atoi(argv[4]);
	if (procs < 1 || procs > 256 || files < 1)
		return 2;
	/* the shared directory the readdir phase lists, made once */
	snprintf(rd, sizeof(rd), "%s/readdir", argv[1]);
	if (mkdir(rd, 0755) == 0) {
		for (i = 0; i < RD_FILES; i++) {
			snprintf(f, sizeof(f), "%s/e%06d", rd, i);
			fd = open(f, O_CREAT | O_WRONLY, 0644);
			if (fd < 0)
				die(f);
			close(fd);
		}
	} else if (errno != EEXIST) {
		die(rd);
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	memset(sh, 0, sizeof(*sh));
	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
	pthread_barrier_init(&sh->start, &ba, procs + 1);
	pthread_barrier_init(&sh->end, &ba, procs + 1);
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (!pid) {
			char rdi[4200];

			/* each client lists the directory through its mount */
			snprintf(rdi, sizeof(rdi), "%s/readdir",
				 argv[1 + i % 2]);
			child(sh, argv[1 + i % 2], rdi, i, files);
		}
	}
	for (p = 0; p < NPHASES; p++) {
		double t0, t;

		pthread_barrier_wait(&sh->start);
		t0 = now_s();
		pthread_barrier_wait(&sh->end);
		t = now_s() - t0;
		printf("%s %.1f %.3f\n", phase_name[p],
		       t > 0 ? sh->ops[p] / t : 0.0, t);
		fflush(stdout);
	}
	for (i = 0; i < procs; i++)
		wait(NULL);
	return sh->failed;
}
