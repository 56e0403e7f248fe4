/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between cgroup_discover.c and cgroup_read.c only. */
#ifndef CSTATD_CGROUP_PRIV_H
#define CSTATD_CGROUP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/cgroup/cgroup.h"
#include "cstatd/log.h"
#include "cstatd/sample.h"

/* The files read for every container: one table, used to open, read and
 * dispatch to the parser. X(id, file name). */
#define CG_FILES(X)                            \
	X(CPU_STAT, "cpu.stat")                \
	X(CPU_MAX, "cpu.max")                  \
	X(CPU_WEIGHT, "cpu.weight")            \
	X(MEM_CURRENT, "memory.current")       \
	X(MEM_MAX, "memory.max")               \
	X(MEM_HIGH, "memory.high")             \
	X(MEM_PEAK, "memory.peak")             \
	X(MEM_STAT, "memory.stat")             \
	X(MEM_EVENTS, "memory.events")         \
	X(SWAP_CURRENT, "memory.swap.current") \
	X(SWAP_MAX, "memory.swap.max")         \
	X(IO_STAT, "io.stat")                  \
	X(PIDS_CURRENT, "pids.current")        \
	X(PIDS_MAX, "pids.max")                \
	X(PSI_CPU, "cpu.pressure")             \
	X(PSI_MEM, "memory.pressure")          \
	X(PSI_IO, "io.pressure")               \
	X(CG_EVENTS, "cgroup.events")          \
	X(PROCS, "cgroup.procs")

enum cg_file {
#define X(id, name) CG_FILE_##id,
	CG_FILES(X)
#undef X
	    CG_FILE_COUNT
};

/* Per-container private state (container->cg_priv). */
struct cg_priv {
	int dirfd;
	int fds[CG_FILE_COUNT]; /* -1 = not open; see absent */
	uint32_t absent;        /* bit per file: ENOENT at last open attempt */
	uint32_t rescans;       /* rescans seen since attached (absent-file retries) */
	uint64_t gen;           /* discovery generation that last saw it */
	bool parse_failed[CG_FILE_COUNT];
};

struct cg_collector {
	const struct cstatd_fsroot *fs;
	bool all_cgroups;
	int inotify_fd;
	/* wd → relative path of the watched directory (index = wd). */
	char **watch_paths;
	size_t n_watch;
	uint64_t gen;
	double next_rescan;
	double next_absent_retry;
	bool rescan_now;
	struct cstatd_complaint fd_complaint;   /* budget spent: a cgroup not read at all */
	struct cstatd_complaint keep_complaint; /* files read open-read-close (more CPU) */
	char *buf;                            /* scratch for file contents, allocated once */
	size_t buf_cap;
	struct cstatd_io_stat io; /* io.stat parsed here, then copied to the record's list */
	struct cstatd_complaint read_complaint;
	struct cstatd_complaint parse_complaint;
	struct cstatd_complaint watch_complaint;
};

/* cgroup_read.c */
int cg__attach(struct cg_collector *cg, struct cstatd_container *c, const char *rel);
void cg__detach(struct cstatd_container *c);
/* Reads every file; returns false when the cgroup is gone. */
bool cg__read(struct cg_collector *cg, struct cstatd_container *c, bool retry_absent);

/* cgroup_discover.c: the store key and identity a path maps to. */
bool cg__key_for_path(const char *rel, bool all_cgroups, char *key, char *runtime,
                      bool *is_container);

#endif
