/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v2 collector: finds container cgroups (cgroup_discover.c) and
 * reads their interface files every sweep through kept-open fds
 * (cgroup_read.c). Parsing is in cgroup_parse.c.
 */
#ifndef CSTATD_CGROUP_H
#define CSTATD_CGROUP_H

#include <stdbool.h>

#include "cstatd/fsroot.h"
#include "cstatd/store.h"

struct cg_collector;

/* Caller owns the collector. `fs` is borrowed and must outlive it.
 * Returns 0 or -errno. */
int cg_collector_new(const struct cstatd_fsroot *fs, bool all_cgroups, struct cg_collector **out);
void cg_collector_free(struct cg_collector *cg);

/*
 * One sweep: applies inotify events (new and removed cgroups), rescans the
 * tree when due, then reads every tracked cgroup into its store record and
 * sets CSTATD_SRC_CGROUP on the ones that are alive. A cgroup that vanished
 * loses its cgroup data and the CSTATD_SRC_CGROUP bit.
 */
void cg_collector_sweep(struct cg_collector *cg, struct cstatd_store *st, double now);

#endif
