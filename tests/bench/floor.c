/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cstatd-bench-floor: the cost floor of a cstatd sweep.
 *
 * Reads exactly the files cstatd reads in a sweep, the way it reads them, and
 * nothing else: for every cgroup in a list, the cgroup v2 interface files
 * cstatd asks for (the same 19 names, same order) are opened once, the ones
 * that exist are kept open, and every sweep re-reads each kept fd with
 * pread(fd, buf, 1 MiB - 1, 0) into one buffer allocated once (cstatd's
 * cgroup_read.c does the same). With --netdev, /proc/<first pid>/net/dev is
 * kept open and re-read too, for cgroups whose first process has a network
 * namespace of its own (cstatd's collectors/netdev does the same). No parsing,
 * no rendering, no allocation per sweep: whatever cstatd spends above this is
 * its own overhead.
 *
 * The benchmarks (fleet.py, churn.py) run it next to cstatd, on the same
 * cgroups, in the same minute, and compare CPU per sweep.
 *
 * Usage:
 *   cstatd-bench-floor --root DIR --list FILE [--interval-ms N]
 *                      [--duration S | --sweeps N] [--netdev] [--proc-root P]
 *                      [--per-file] [--period NAME=K ...] [--full-every N]
 *
 *   --list FILE   one cgroup path per line, relative to --root (leading '/'
 *                 allowed: cstatd's `id` label values work as they are)
 *   --period NAME=K  read file NAME at every K-th sweep only (0: never in
 *                 the window), as cstatd does for the files it reads on kernel
 *                 notification (cgroup.events, memory.events: never while
 *                 they do not change) or when a cgroup ran (cgroup.procs: an
 *                 idle one every 10 s); the fd stays open, as in cstatd
 *   --full-every N   every N-th sweep reads every file (cstatd's rescan,
 *                 every 30 s, reads everything)
 *   --per-file    also time each file name separately (file-major order; a
 *                 profile of where the kernel time goes, not the floor itself)
 *
 * Prints one JSON object on stdout at the end (also on SIGTERM/SIGINT).
 * Exit status: 0 ok, 1 setup failure, 2 bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* The same names, in the same order, as CG_FILES in
 * collectors/cgroup/cgroup_priv.h. */
static const char *const file_names[] = {
    "cpu.stat",        "cpu.max",        "cpu.weight",     "memory.current",
    "memory.max",      "memory.high",    "memory.peak",    "memory.stat",
    "memory.events",   "memory.swap.current", "memory.swap.max", "io.stat",
    "pids.current",    "pids.max",       "cpu.pressure",   "memory.pressure",
    "io.pressure",     "cgroup.events",  "cgroup.procs",
};
#define N_FILES (sizeof(file_names) / sizeof(file_names[0]))
#define NETDEV_SLOT N_FILES /* per-file accounting slot for net/dev */
#define BUF_CAP ((size_t)1 << 20) /* cstatd's cg->buf_cap */

struct cg {
	char *rel;
	int dirfd;
	int fds[N_FILES + 1]; /* + net/dev */
	bool gone;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static double ts_sec(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static double thread_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return ts_sec(&t);
}

static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return ts_sec(&t);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static ino_t netns_ino(const char *proc_root, const char *pid)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s/ns/net", proc_root, pid);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* The slot of a file name (len bytes of name), net/dev included; -1 if none. */
static int file_index(const char *name, size_t len)
{
	if (len == strlen("net/dev") && !strncmp(name, "net/dev", len))
		return NETDEV_SLOT;
	for (size_t f = 0; f < N_FILES; f++)
		if (strlen(file_names[f]) == len && !strncmp(file_names[f], name, len))
			return (int)f;
	return -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cstatd-bench-floor --root DIR --list FILE [--interval-ms N]\n"
	           "       [--duration S | --sweeps N] [--netdev] [--proc-root P] [--per-file]\n"
	           "       [--period NAME=K ...] [--full-every N]\n");
}

int main(int argc, char **argv)
{
	const char *root = NULL, *list = NULL, *proc_root = "/proc";
	long interval_ms = 1000, max_sweeps = 0, full_every = 0;
	long period[N_FILES + 1];
	for (size_t f = 0; f < N_FILES + 1; f++)
		period[f] = 1;
	double duration = 0;
	bool netdev = false, per_file = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--netdev")) {
			netdev = true;
			continue;
		}
		if (!strcmp(a, "--per-file")) {
			per_file = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!v) {
			usage(stderr);
			return 2;
		}
		if (!strcmp(a, "--root"))
			root = v;
		else if (!strcmp(a, "--list"))
			list = v;
		else if (!strcmp(a, "--proc-root"))
			proc_root = v;
		else if (!strcmp(a, "--interval-ms"))
			interval_ms = strtol(v, NULL, 10);
		else if (!strcmp(a, "--duration"))
			duration = strtod(v, NULL);
		else if (!strcmp(a, "--sweeps"))
			max_sweeps = strtol(v, NULL, 10);
		else if (!strcmp(a, "--full-every"))
			full_every = strtol(v, NULL, 10);
		else if (!strcmp(a, "--period")) {
			const char *eq = strchr(v, '=');
			char *num_end = NULL;
			long k = eq ? strtol(eq + 1, &num_end, 10) : -1;
			int f = eq ? file_index(v, (size_t)(eq - v)) : -1;
			if (f < 0 || k < 0 || num_end == eq + 1 || *num_end) {
				fprintf(stderr,
				        "floor: --period %s: NAME=K with a file name cstatd "
				        "reads and K >= 0\n",
				        v);
				return 2;
			}
			period[f] = k;
		} else {
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (!root || !list || interval_ms <= 0 || (duration <= 0 && max_sweeps <= 0)) {
		usage(stderr);
		return 2;
	}

	/* Same open-files treatment as cstatd: soft limit up to the hard one. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		fprintf(stderr, "floor: %s: %s\n", root, strerror(errno));
		return 1;
	}
	FILE *lf = fopen(list, "re");
	if (!lf) {
		fprintf(stderr, "floor: %s: %s\n", list, strerror(errno));
		return 1;
	}

	char *buf = malloc(BUF_CAP);
	struct cg *cgs = NULL;
	size_t n_cg = 0, cap_cg = 0;
	unsigned long open_count[N_FILES + 1] = {0};
	unsigned long open_errors = 0;
	char line[PATH_MAX];
	ino_t host_ns = netdev ? netns_ino(proc_root, "1") : 0;

	if (!buf)
		return 1;
	while (fgets(line, sizeof(line), lf)) {
		line[strcspn(line, "\r\n")] = '\0';
		const char *rel = line;
		while (*rel == '/')
			rel++;
		if (!*rel)
			continue;
		if (n_cg == cap_cg) {
			cap_cg = cap_cg ? cap_cg * 2 : 256;
			cgs = realloc(cgs, cap_cg * sizeof(*cgs));
			if (!cgs)
				return 1;
		}
		struct cg *c = &cgs[n_cg];
		memset(c, 0, sizeof(*c));
		c->dirfd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->dirfd < 0) {
			open_errors++;
			continue;
		}
		c->rel = strdup(rel);
		for (size_t f = 0; f < N_FILES + 1; f++)
			c->fds[f] = -1;
		for (size_t f = 0; f < N_FILES; f++) {
			c->fds[f] = openat(c->dirfd, file_names[f], O_RDONLY | O_CLOEXEC);
			if (c->fds[f] >= 0)
				open_count[f]++;
			else if (errno != ENOENT && errno != EOPNOTSUPP)
				open_errors++;
		}
		if (netdev) {
			/* First pid of cgroup.procs, as cstatd's netdev collector. */
			int fd = c->fds[N_FILES - 1];
			ssize_t n = fd >= 0 ? pread(fd, buf, BUF_CAP - 1, 0) : -1;
			if (n > 0) {
				buf[n] = '\0';
				char pid[32];
				snprintf(pid, sizeof(pid), "%ld", strtol(buf, NULL, 10));
				ino_t ns = netns_ino(proc_root, pid);
				if (ns != 0 && ns != host_ns) {
					char path[PATH_MAX];
					snprintf(path, sizeof(path), "%s/%s/net/dev", proc_root, pid);
					c->fds[NETDEV_SLOT] = open(path, O_RDONLY | O_CLOEXEC);
					if (c->fds[NETDEV_SLOT] >= 0)
						open_count[NETDEV_SLOT]++;
				}
			}
		}
		n_cg++;
	}
	fclose(lf);

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec its = {0};
	its.it_interval.tv_sec = interval_ms / 1000;
	its.it_interval.tv_nsec = (interval_ms % 1000) * 1000000L;
	its.it_value.tv_nsec = 1; /* first sweep at once */
	if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) != 0) {
		fprintf(stderr, "floor: timerfd: %s\n", strerror(errno));
		return 1;
	}

	/* One untimed sweep first: the first read of each fd allocates the
	 * kernel's seq_file buffer; cstatd, measured after its warm-up, is past
	 * that too. */
	for (size_t i = 0; i < n_cg; i++)
		for (size_t f = 0; f < N_FILES + 1; f++)
			if (cgs[i].fds[f] >= 0 && pread(cgs[i].fds[f], buf, BUF_CAP - 1, 0) < 0 &&
			    (errno == ENODEV || errno == ENOENT))
				cgs[i].gone = true;

	size_t cap_s = 1024, n_s = 0;
	double *cpu_s = malloc(cap_s * sizeof(double));
	double *wall_s = malloc(cap_s * sizeof(double));
	double file_cpu[N_FILES + 1] = {0};
	unsigned long long bytes = 0, reads = 0, read_errors = 0, gone = 0;
	double t_start = mono(), cpu_start = thread_cpu();
	struct rusage ru0;
	getrusage(RUSAGE_SELF, &ru0);

	while (!stop_flag) {
		if (max_sweeps > 0 && (long)n_s >= max_sweeps)
			break;
		if (duration > 0 && mono() - t_start >= duration)
			break;
		struct pollfd p = {.fd = tfd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		uint64_t exp;
		if (read(tfd, &exp, sizeof(exp)) != sizeof(exp))
			continue;

		bool full = full_every > 0 && n_s % (size_t)full_every == 0;
		bool due[N_FILES + 1];
		for (size_t f = 0; f < N_FILES + 1; f++)
			due[f] = full || period[f] == 1 ||
			         (period[f] > 1 && n_s % (size_t)period[f] == 0);
		double c0 = thread_cpu(), w0 = mono();
		if (!per_file) {
			for (size_t i = 0; i < n_cg; i++) {
				struct cg *c = &cgs[i];
				if (c->gone)
					continue;
				for (size_t f = 0; f < N_FILES + 1; f++) {
					if (c->fds[f] < 0 || !due[f])
						continue;
					ssize_t n = pread(c->fds[f], buf, BUF_CAP - 1, 0);
					reads++;
					if (n >= 0) {
						bytes += (unsigned long long)n;
					} else if (errno == ENODEV || errno == ENOENT) {
						c->gone = true; /* removed: stop reading, as cstatd */
						gone++;
						break;
					} else {
						read_errors++;
					}
				}
			}
		} else {
			for (size_t f = 0; f < N_FILES + 1; f++) {
				double f0 = thread_cpu();
				for (size_t i = 0; i < n_cg; i++) {
					struct cg *c = &cgs[i];
					if (c->gone || c->fds[f] < 0 || !due[f])
						continue;
					ssize_t n = pread(c->fds[f], buf, BUF_CAP - 1, 0);
					reads++;
					if (n >= 0)
						bytes += (unsigned long long)n;
					else if (errno == ENODEV || errno == ENOENT)
						c->gone = true, gone++;
					else
						read_errors++;
				}
				file_cpu[f] += thread_cpu() - f0;
			}
		}
		double c1 = thread_cpu(), w1 = mono();
		if (n_s == cap_s) {
			cap_s *= 2;
			cpu_s = realloc(cpu_s, cap_s * sizeof(double));
			wall_s = realloc(wall_s, cap_s * sizeof(double));
			if (!cpu_s || !wall_s)
				return 1;
		}
		cpu_s[n_s] = c1 - c0;
		wall_s[n_s] = w1 - w0;
		n_s++;
	}

	double elapsed = mono() - t_start, cpu_total = thread_cpu() - cpu_start;
	struct rusage ru1;
	getrusage(RUSAGE_SELF, &ru1);
	double utime = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
	               (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6;
	double stime = (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	               (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	unsigned long fds = 0;
	for (size_t i = 0; i < n_cg; i++)
		for (size_t f = 0; f < N_FILES + 1; f++)
			fds += cgs[i].fds[f] >= 0;

	double sum = 0;
	for (size_t i = 0; i < n_s; i++)
		sum += cpu_s[i];
	double mean = n_s ? sum / (double)n_s : 0;
	double med = percentile(cpu_s, n_s, 0.5), p90 = percentile(cpu_s, n_s, 0.9);
	double wmed = percentile(wall_s, n_s, 0.5);

	printf("{\"cgroups\": %zu, \"fds\": %lu, \"open_errors\": %lu, \"sweeps\": %zu, "
	       "\"elapsed_s\": %.3f, \"cpu_s\": %.6f, \"utime_s\": %.6f, \"stime_s\": %.6f, "
	       "\"cpu_per_sweep_us_mean\": %.1f, \"cpu_per_sweep_us_median\": %.1f, "
	       "\"cpu_per_sweep_us_p90\": %.1f, \"wall_per_sweep_us_median\": %.1f, "
	       "\"reads\": %llu, \"read_errors\": %llu, \"gone\": %llu, \"bytes\": %llu, "
	       "\"files\": {",
	       n_cg, fds, open_errors, n_s, elapsed, cpu_total, utime, stime, mean * 1e6,
	       med * 1e6, p90 * 1e6, wmed * 1e6, reads, read_errors, gone, bytes);
	bool first = true;
	for (size_t f = 0; f < N_FILES + 1; f++) {
		if (!open_count[f])
			continue;
		printf("%s\"%s\": %lu", first ? "" : ", ",
		       f == NETDEV_SLOT ? "net/dev" : file_names[f], open_count[f]);
		first = false;
	}
	printf("}, \"periods\": {");
	first = true;
	for (size_t f = 0; f < N_FILES + 1; f++) {
		if (period[f] == 1)
			continue;
		printf("%s\"%s\": %ld", first ? "" : ", ",
		       f == NETDEV_SLOT ? "net/dev" : file_names[f], period[f]);
		first = false;
	}
	printf("}, \"full_every\": %ld", full_every);
	if (per_file) {
		printf(", \"per_file_cpu_us_per_sweep\": {");
		first = true;
		for (size_t f = 0; f < N_FILES + 1; f++) {
			if (!open_count[f])
				continue;
			printf("%s\"%s\": %.1f", first ? "" : ", ",
			       f == NETDEV_SLOT ? "net/dev" : file_names[f],
			       n_s ? file_cpu[f] / (double)n_s * 1e6 : 0.0);
			first = false;
		}
		printf("}");
	}
	printf("}\n");
	fflush(stdout);
	return 0;
}
