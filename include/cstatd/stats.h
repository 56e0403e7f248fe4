/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cstatd's own counters, shared by every thread (atomics, no locks):
 * collection errors by source, scrapes, Docker connection state.
 * The error sources are one table; exporters derive the label values from it.
 */
#ifndef CSTATD_STATS_H
#define CSTATD_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/* X(enum suffix, label value, what it counts) */
#define CSTATD_ERROR_SOURCES(X)                                                           \
	X(CGROUP, "cgroup", "cgroup v2 files that could not be read or parsed")           \
	X(NETDEV, "netdev", "/proc/<pid>/net/dev files that could not be read or parsed") \
	X(DOCKER_HTTP, "docker_http",                                                     \
	  "Docker API requests that failed or answered an error status")                  \
	X(DOCKER_JSON, "docker_json",                                                     \
	  "Docker API bodies or stream lines that were not valid JSON")                   \
	X(DOCKER_RECONNECT, "docker_reconnect",                                           \
	  "reconnections to dockerd (events or stats streams)")

enum cstatd_error_source {
#define X(id, label, help) CSTATD_ERR_##id,
	CSTATD_ERROR_SOURCES(X)
#undef X
	    CSTATD_ERR_COUNT
};

struct cstatd_stats {
	_Atomic uint64_t errors[CSTATD_ERR_COUNT];
	_Atomic uint64_t scrapes;
	_Atomic int docker_up;      /* 1 while the Docker API answers */
	_Atomic int docker_enabled; /* 0 when the Docker collector is off */
	_Atomic uint64_t notifications_sent;
	_Atomic uint64_t notifications_dropped;
	_Atomic int config_reload_ok;         /* 1 after a good (re)load */
	_Atomic uint64_t config_reload_ok_ms; /* unix ms of the last good one */
};

/* The one process-wide instance (daemon/stats.c). */
extern struct cstatd_stats cstatd_stats;

static inline void cstatd_count_error(enum cstatd_error_source src)
{
	atomic_fetch_add_explicit(&cstatd_stats.errors[src], 1, memory_order_relaxed);
}

const char *cstatd_error_source_label(enum cstatd_error_source src);

#endif
