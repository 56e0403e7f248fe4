/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-container network counters from /proc/<pid>/net/dev of the first
 * process in the container's cgroup, when that process lives in another
 * network namespace than the host (a container on the host network would
 * only repeat the host's interfaces).
 */
#ifndef CSTATD_NETDEV_H
#define CSTATD_NETDEV_H

#include "cstatd/fsroot.h"
#include "cstatd/store.h"

struct netdev_collector;

/* Caller owns; `fs` is borrowed. Returns 0 or -errno. */
int netdev_collector_new(const struct cstatd_fsroot *fs, struct netdev_collector **out);
void netdev_collector_free(struct netdev_collector *nd);

/* Reads network counters for every record that has a first_pid from this
 * sweep's cgroup.procs; sets or clears CSTATD_HAVE_NETDEV. */
void netdev_collector_sweep(struct netdev_collector *nd, struct cstatd_store *st);

#endif
