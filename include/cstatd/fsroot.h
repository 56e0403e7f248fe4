/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one place that turns cgroup and proc paths into file descriptors,
 * applying --cgroup-root and --proc-root, so the same collectors run on the
 * real kernel and on fixture trees.
 */
#ifndef CSTATD_FSROOT_H
#define CSTATD_FSROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cstatd_fsroot {
	char cgroup_root[4096];
	char proc_root[4096];
	char sys_root[4096]; /* /sys, for /sys/dev/block/MAJ:MIN */
	int cgroup_root_fd;  /* O_PATH|O_DIRECTORY on cgroup_root */
};

/* Detects the cgroup2 mount when `cgroup_root` is NULL: pure v2 at
 * /sys/fs/cgroup, else hybrid /sys/fs/cgroup/unified, else the first cgroup2
 * mount in <proc_root>/self/mountinfo. With `check`, a given root that is
 * not a cgroup2 filesystem is refused.
 * Returns 0, -ENOENT (nothing found), -ENOTDIR / -EMEDIUMTYPE (not cgroup2)
 * or another -errno. `why` receives a human explanation on failure. */
int cstatd_fsroot_init(struct cstatd_fsroot *fs, const char *cgroup_root, const char *proc_root,
                       bool check, char *why, size_t why_len);
void cstatd_fsroot_close(struct cstatd_fsroot *fs);

/* Opens `rel` (no leading slash; "" = the root) under the cgroup root.
 * Returns an fd or -errno. */
int cstatd_fs_open_cgroup(const struct cstatd_fsroot *fs, const char *rel, int flags);

/* Opens <proc_root>/<rel> ("1234/net/dev"). Returns an fd or -errno. */
int cstatd_fs_open_proc(const struct cstatd_fsroot *fs, const char *rel, int flags);

/*
 * Reads a whole small kernel file through a kept-open fd with one
 * pread(fd, buf, cap, 0): kernfs/seq_file regenerates the content at offset
 * 0. Returns the length (NUL-terminated, < cap) or -errno; -EFBIG when the
 * file did not fit. ENODEV/ENOENT mean the cgroup went away.
 */
ssize_t cstatd_pread_all(int fd, char *buf, size_t cap);

/*
 * A 64-bit signature of a file's content (never 0, which callers use for
 * "none"), so that a collector can skip parsing bytes identical to those it
 * parsed at the last sweep: PSI files of a container under no pressure,
 * every file of an idle one. About one multiply per 8 bytes, against a
 * parse of 1000-2000 instructions; a collision (odds 2^-64 per read)
 * would keep a value one change longer.
 */
uint64_t cstatd_content_sig(const char *buf, size_t len);

/*
 * One budget for every descriptor the collectors keep open (cgroup files,
 * net/dev), so the HTTP listener, the Docker client and /proc reads always
 * have some left: past the budget files stay unread (and that is logged)
 * instead of accept() failing with EMFILE. Sweep thread only.
 * init: budget = RLIMIT_NOFILE minus a reserve of 256 (a quarter of a
 * small limit). take: false when the budget is spent, else counts one.
 */
void cstatd_fd_budget_init(void);
bool cstatd_fd_take(void);
/* Like take, for a file that is merely kept open to save an open per sweep:
 * false while less than a tenth of the budget (at most 1024) is left, so
 * that new containers still get their directory fd. Past that, collectors
 * open, read and close the file at every sweep instead (slower, complete). */
bool cstatd_fd_take_keep(void);
void cstatd_fd_give(void);
size_t cstatd_fd_open_count(void);
size_t cstatd_fd_budget(void);

#endif
