/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cstatd/fsroot.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static bool is_cgroup2(const char *path)
{
	struct statfs sfs;
	return statfs(path, &sfs) == 0 && (unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* First cgroup2 mount point in mountinfo (field 5 is the mount point, the
 * filesystem type follows the " - " separator). */
static int find_in_mountinfo(const char *proc_root, char *out, size_t len)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/self/mountinfo", proc_root);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char line[4096];
	int rc = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		char mnt[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strlen(mnt) < len) {
			strcpy(out, mnt);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

int cstatd_fsroot_init(struct cstatd_fsroot *fs, const char *cgroup_root, const char *proc_root,
                       bool check, char *why, size_t why_len)
{
	memset(fs, 0, sizeof(*fs));
	fs->cgroup_root_fd = -1;
	snprintf(fs->proc_root, sizeof(fs->proc_root), "%s", proc_root ? proc_root : "/proc");
	snprintf(fs->sys_root, sizeof(fs->sys_root), "/sys");

	if (cgroup_root) {
		struct stat st;
		if (stat(cgroup_root, &st) != 0) {
			int e = errno;
			snprintf(why, why_len, "%s: %s", cgroup_root, strerror(e));
			return -e;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(why, why_len, "%s: not a directory", cgroup_root);
			return -ENOTDIR;
		}
		if (check && !is_cgroup2(cgroup_root)) {
			snprintf(why, why_len,
			         "%s: not a cgroup2 mount (give the cgroup v2 mount point, "
			         "e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified)",
			         cgroup_root);
			return -EMEDIUMTYPE;
		}
		snprintf(fs->cgroup_root, sizeof(fs->cgroup_root), "%s", cgroup_root);
	} else if (is_cgroup2("/sys/fs/cgroup")) {
		strcpy(fs->cgroup_root, "/sys/fs/cgroup");
	} else if (is_cgroup2("/sys/fs/cgroup/unified")) {
		strcpy(fs->cgroup_root, "/sys/fs/cgroup/unified");
	} else if (find_in_mountinfo(fs->proc_root, fs->cgroup_root, sizeof(fs->cgroup_root)) !=
	           0) {
		snprintf(why, why_len,
		         "no cgroup2 mount found (not at /sys/fs/cgroup, /sys/fs/cgroup/unified, "
		         "nor in %s/self/mountinfo)",
		         fs->proc_root);
		return -ENOENT;
	}
	/* Strip trailing slashes so relative paths join cleanly. */
	size_t n = strlen(fs->cgroup_root);
	while (n > 1 && fs->cgroup_root[n - 1] == '/')
		fs->cgroup_root[--n] = '\0';

	fs->cgroup_root_fd = open(fs->cgroup_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->cgroup_root_fd < 0) {
		int e = errno;
		snprintf(why, why_len, "%s: %s", fs->cgroup_root, strerror(e));
		return -e;
	}
	return 0;
}

void cstatd_fsroot_close(struct cstatd_fsroot *fs)
{
	if (fs->cgroup_root_fd >= 0)
		close(fs->cgroup_root_fd);
	fs->cgroup_root_fd = -1;
}

int cstatd_fs_open_cgroup(const struct cstatd_fsroot *fs, const char *rel, int flags)
{
	int fd = openat(fs->cgroup_root_fd, rel[0] ? rel : ".", flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cstatd_fs_open_proc(const struct cstatd_fsroot *fs, const char *rel, int flags)
{
	char path[8192];
	snprintf(path, sizeof(path), "%s/%s", fs->proc_root, rel);
	int fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

ssize_t cstatd_pread_all(int fd, char *buf, size_t cap)
{
	ssize_t n;
	do {
		n = pread(fd, buf, cap - 1, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n == cap - 1)
		return -EFBIG;
	buf[n] = '\0';
	return n;
}

uint64_t cstatd_content_sig(const char *buf, size_t len)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ len, w;
	while (len >= 8) {
		memcpy(&w, buf, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		buf += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, buf, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h | 1;
}

static size_t fds_open;
static size_t fd_budget = SIZE_MAX;

void cstatd_fd_budget_init(void)
{
	struct rlimit rl;
	size_t limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
	                   ? (size_t)rl.rlim_cur
	                   : 1048576;
	size_t reserve = limit / 4 < 256 ? limit / 4 : 256;
	fd_budget = limit - reserve;
}

bool cstatd_fd_take(void)
{
	if (fds_open >= fd_budget)
		return false;
	fds_open++;
	return true;
}

void cstatd_fd_give(void)
{
	if (fds_open > 0)
		fds_open--;
}

bool cstatd_fd_take_keep(void)
{
	/* A kept-open file gives way to the directory fds of containers yet
	 * to come: it is only kept while a tenth of the budget (at most 1024)
	 * is still free. */
	size_t headroom = fd_budget / 10 < 1024 ? fd_budget / 10 : 1024;
	if (fds_open + headroom >= fd_budget)
		return false;
	fds_open++;
	return true;
}

size_t cstatd_fd_open_count(void)
{
	return fds_open;
}

size_t cstatd_fd_budget(void)
{
	return fd_budget;
}
