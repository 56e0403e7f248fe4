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

/*
 * The files read for every container: one table, used to open, read and
 * dispatch to the parser. X(id, file name, when it is read, the
 * CSTATD_HAVE_* bits its parser sets). Files are read in this order, and
 * cpu.stat and cgroup.events come before cgroup.procs: whether it is read
 * depends on them.
 *
 * When. Each read is a syscall that makes the kernel generate the file
 * (3-5 us each on a 2-core VM: 1000 containers x 7 files is most of a
 * sweep), so a file whose content cannot have changed is not read again:
 *   CG_READ_EVERY   at every sweep;
 *   CG_READ_NOTIFY  when the kernel says it changed: cgroup.events and
 *                   memory.events generate an inotify IN_MODIFY on every
 *                   value change (cgroup-v2.rst), so they are read at
 *                   attach, on that event, and at every rescan (a safety
 *                   net: 30 s, or at once when the inotify queue overflows).
 *                   Without a watch (no inotify, ENOSPC) at every sweep.
 *                   Each such file needs a slot in enum cg_notify below
 *                   (notify_slot() in cgroup_read.c maps it); one without
 *                   is read at every sweep;
 *   CG_READ_ON_CPU  when the cgroup used CPU since the last sweep (cpu.stat
 *                   usage_usec moved; a fork or an exit inside it costs CPU
 *                   there), when cgroup.events changed (a process moved in
 *                   from outside makes it populated), and at least every
 *                   CG_PROCS_MAX_AGE seconds: cgroup.procs, for the process
 *                   count and the pid whose net/dev is read.
 */
enum cg_read_when { CG_READ_EVERY, CG_READ_NOTIFY, CG_READ_ON_CPU };

#define CG_PROCS_MAX_AGE 10.0

#define CG_FILES(X)                                                                              \
	X(CPU_STAT, "cpu.stat", CG_READ_EVERY, CSTATD_HAVE_CPU_STAT | CSTATD_HAVE_CPU_BANDWIDTH) \
	X(CPU_MAX, "cpu.max", CG_READ_EVERY, CSTATD_HAVE_CPU_MAX)                                \
	X(CPU_WEIGHT, "cpu.weight", CG_READ_EVERY, CSTATD_HAVE_CPU_WEIGHT)                       \
	X(MEM_CURRENT, "memory.current", CG_READ_EVERY, CSTATD_HAVE_MEM_CURRENT)                 \
	X(MEM_MAX, "memory.max", CG_READ_EVERY, CSTATD_HAVE_MEM_MAX)                             \
	X(MEM_HIGH, "memory.high", CG_READ_EVERY, CSTATD_HAVE_MEM_HIGH)                          \
	X(MEM_PEAK, "memory.peak", CG_READ_EVERY, CSTATD_HAVE_MEM_PEAK)                          \
	X(MEM_STAT, "memory.stat", CG_READ_EVERY, CSTATD_HAVE_MEM_STAT)                          \
	X(MEM_EVENTS, "memory.events", CG_READ_NOTIFY, CSTATD_HAVE_MEM_EVENTS)                   \
	X(SWAP_CURRENT, "memory.swap.current", CG_READ_EVERY, CSTATD_HAVE_SWAP_CURRENT)          \
	X(SWAP_MAX, "memory.swap.max", CG_READ_EVERY, CSTATD_HAVE_SWAP_MAX)                      \
	X(IO_STAT, "io.stat", CG_READ_EVERY, CSTATD_HAVE_IO_STAT)                                \
	X(PIDS_CURRENT, "pids.current", CG_READ_EVERY, CSTATD_HAVE_PIDS_CURRENT)                 \
	X(PIDS_MAX, "pids.max", CG_READ_EVERY, CSTATD_HAVE_PIDS_MAX)                             \
	X(PSI_CPU, "cpu.pressure", CG_READ_EVERY, CSTATD_HAVE_PSI_CPU)                           \
	X(PSI_MEM, "memory.pressure", CG_READ_EVERY, CSTATD_HAVE_PSI_MEM)                        \
	X(PSI_IO, "io.pressure", CG_READ_EVERY, CSTATD_HAVE_PSI_IO)                              \
	X(CG_EVENTS, "cgroup.events", CG_READ_NOTIFY, CSTATD_HAVE_CG_EVENTS)                     \
	X(PROCS, "cgroup.procs", CG_READ_ON_CPU, CSTATD_HAVE_PROCS)

enum cg_file {
#define X(id, name, when, have) CG_FILE_##id,
	CG_FILES(X)
#undef X
	    CG_FILE_COUNT
};

/* The files read on notification, each with a watch slot in cg_priv. */
enum cg_notify { CG_NOTIFY_CG_EVENTS, CG_NOTIFY_MEM_EVENTS, CG_NOTIFY_COUNT };

struct cg_collector;

/* Per-container private state (container->cg_priv). */
struct cg_priv {
	struct cg_collector *cg; /* for its watches, removed with it */
	int dirfd;
	int fds[CG_FILE_COUNT]; /* -1 = not open; see absent */
	int wd[CG_NOTIFY_COUNT];     /* inotify watch of a notified file, -1 = none */
	uint32_t absent;             /* bit per file: ENOENT at last open attempt */
	uint32_t stale;              /* bit per file: read it at the next sweep (notified) */
	uint32_t rescans;            /* rescans seen since attached (absent-file retries) */
	uint64_t gen;                /* discovery generation that last saw it */
	uint64_t last_usage_usec;    /* cpu.stat usage at the last sweep */
	double procs_read_at;        /* when cgroup.procs was last read (0: never) */
	uint64_t sig[CG_FILE_COUNT]; /* content signature of the last good parse, 0: none */
	bool parse_failed[CG_FILE_COUNT];
};

/* What an inotify watch descriptor stands for: a watched directory (its
 * path), or a notified file of a container (its owner and file). */
struct cg_watch {
	char *dir; /* relative path of a watched directory, or NULL */
	struct cg_priv *owner;
	enum cg_file file;
};

struct cg_collector {
	const struct cstatd_fsroot *fs;
	bool all_cgroups;
	int inotify_fd;
	/* wd → what it watches (index = wd). */
	struct cg_watch *watches;
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
/* Reads every file due (see CG_FILES); returns false when the cgroup is
 * gone. On a rescan (retry_absent) every file is read. */
bool cg__read(struct cg_collector *cg, struct cstatd_container *c, bool retry_absent, double now);
/* cgroup_discover.c: adds an inotify watch on <root>/<rel>[/<file>] with
 * its slot in cg->watches. Returns the wd, or -1 (no inotify, out of
 * watches, out of memory; `unwatched` is the warning, logged once, that
 * says what covers for it; a cgroup already gone is not warned about). */
int cg__add_watch(struct cg_collector *cg, const char *rel, const char *file, uint32_t mask,
                  const char *unwatched);

/* cgroup_discover.c: the store key and identity a path maps to. */
bool cg__key_for_path(const char *rel, bool all_cgroups, char *key, char *runtime,
                      bool *is_container);

#endif
