/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cstatd/fsroot.h"
#include "exporters/prometheus/selfstat.h"

static double boot_time(void)
{
	static double cached;
	if (cached > 0)
		return cached;
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		unsigned long long bt;
		if (sscanf(line, "btime %llu", &bt) == 1) {
			cached = (double)bt;
			break;
		}
	}
	fclose(f);
	return cached;
}

/* Counts entries of /proc/self/fd with raw getdents64 into a stack buffer
 * (no DIR allocation per sweep). */
static uint64_t count_fds(void)
{
	int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[32768];
	uint64_t n = 0;
	for (;;) {
		long got = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (got <= 0)
			break;
		for (long off = 0; off < got;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *de = (void *)(buf + off);
			if (de->name[0] != '.')
				n++;
			off += de->reclen;
		}
	}
	close(fd);
	return n > 0 ? n - 1 : 0; /* minus the fd used to list */
}

/* Listing /proc/self/fd costs the kernel about 2 us per open fd: 17 % of a
 * whole sweep at 1000 containers. So it is listed every RECOUNT_SECONDS, and
 * in between the count moves with the collectors' kept-open files (the fd
 * budget's count, which is nearly all of them); sockets of HTTP clients and
 * the Docker API are caught up at the next listing. */
#define RECOUNT_SECONDS 10
static uint64_t open_fds(void)
{
	static uint64_t listed;
	static size_t budget_at_listing;
	static time_t listed_at;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	size_t budget = cstatd_fd_open_count();
	if (listed_at == 0 || now.tv_sec - listed_at >= RECOUNT_SECONDS) {
		listed = count_fds();
		budget_at_listing = budget;
		listed_at = now.tv_sec ? now.tv_sec : 1;
		return listed;
	}
	int64_t n = (int64_t)listed + (int64_t)budget - (int64_t)budget_at_listing;
	return n > 0 ? (uint64_t)n : 0;
}

int selfstat_read(struct selfstat *out)
{
	char buf[2048];
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);

	out->ok = false;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* Fields after the command name, which may contain spaces: from ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	unsigned long long utime, stime, start;
	long threads;
	if (sscanf(p + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %ld %*d "
	           "%llu",
	           &utime, &stime, &threads, &start) != 4)
		return -EINVAL;
	out->cpu_seconds = (double)(utime + stime) / (double)tck;
	out->threads = (uint64_t)threads;
	out->start_time = boot_time() + (double)start / (double)tck;

	fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	unsigned long long vsz, rss;
	if (sscanf(buf, "%llu %llu", &vsz, &rss) != 2)
		return -EINVAL;
	out->vsize_bytes = vsz * (uint64_t)page;
	out->rss_bytes = rss * (uint64_t)page;

	out->open_fds = open_fds();
	struct rlimit rl;
	out->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (uint64_t)rl.rlim_cur : 0;
	out->ok = true;
	return 0;
}
