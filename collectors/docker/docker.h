/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Docker collector: one thread with a curl multi loop (/events stream,
 * list + inspect, stats streams where needed). The sweep thread pulls its
 * view into the store with docker_collector_merge(); nothing else crosses.
 *
 * Only GET requests are ever sent to Docker. When dockerd is unreachable
 * (no socket, permission denied, daemon down) the collector says so once in
 * the log, sets cstatd_stats.docker_up to 0 and retries with a capped
 * exponential backoff (0.5 s doubling to 30 s); cstatd keeps serving the
 * cgroup numbers meanwhile. No scrape and no sweep ever waits on Docker.
 * Restart and OOM counting rules: collectors/docker/docker_state.h.
 */
#ifndef CSTATD_DOCKER_H
#define CSTATD_DOCKER_H

#include "cstatd/store.h"

struct docker_config {
	const char *host;            /* "unix:///var/run/docker.sock" or "tcp://h:p" */
	int stats_mode;              /* DOCKER_STATS_AUTO / _ALWAYS / _NEVER */
	const char *label_allowlist; /* comma-separated globs */
	double tombstone_seconds;    /* how long restarts_total survives a destroy */
	const char *proc_root;       /* "/proc" */
};

/* AUTO: a stats stream for each running container whose cgroup files
 * cstatd cannot read (no CPU or no memory numbers: cgroup v1 hosts, a
 * sidecar without the host cgroupfs, remote engines) or whose network
 * counters /proc/<pid>/net/dev cannot give. ALWAYS: a stream for every
 * running container, its numbers preferred. NEVER: no streams. */
enum { DOCKER_STATS_AUTO = 0, DOCKER_STATS_ALWAYS, DOCKER_STATS_NEVER };

struct docker_collector;

/* Starts the docker thread. The strings in cfg are copied. Caller owns *out
 * (release with docker_collector_stop). Returns 0, -EINVAL for a host that
 * is neither unix:// nor tcp:// / http://, or -errno. Does not wait for
 * Docker: an unreachable daemon is not an error here. */
int docker_collector_start(const struct docker_config *cfg, struct docker_collector **out);
/* Stops and joins the thread (returns within about 200 ms plus curl's
 * cleanup), frees everything. NULL is fine. */
void docker_collector_stop(struct docker_collector *dc);
/* Sweep thread, once per sweep after the cgroup and netdev collectors.
 * Holds the collector's mutex briefly (no I/O under it); allocates only
 * when a container is new to the store. For every container Docker knows:
 * gets or adds its store record (adds only while dockerd answers), sets
 * CSTATD_SRC_DOCKER, identity, c->docker, start_time, the cgroup hint,
 * limits from inspect and the stats-stream numbers the cgroup files could
 * not give, and oom_kills_total. Records Docker does not know get c->docker
 * zeroed, CSTATD_SRC_DOCKER cleared and oom_kills_total = memory.events
 * oom_kill. `now` is the sweep's wall-clock time (unused for now: the
 * stream freshness check runs on the monotonic clock). */
void docker_collector_merge(struct docker_collector *dc, struct cstatd_store *st, double now);

#endif
