/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The signals that rolling windows keep and alert rules read, declared once
 * (X-macro): the windows store them, the rule parser accepts their names,
 * the JSON API lists them, `cstatd rules export` maps them to PromQL and
 * docs/alerts.md lists them.
 *
 * Three kinds, by how a window aggregates them:
 *  - gauge:   a level read each sweep (bytes, count, 0/1). avg/min/max/last,
 *             predict.
 *  - counter: a monotonic count (restarts, OOM kills). increase/rate/last,
 *             reset-safe like Prometheus' increase().
 *  - rate:    the ratio of the increases of two counters between sweeps:
 *             Δnum/Δt (CPU cores, PSI fraction of time stalled) or
 *             Δnum/Δden (throttled periods / periods). avg = Σnum/Σden over
 *             the window, min/max over the window's buckets, increase = Σnum,
 *             rate = Σnum/Σt, last = the last sweep's ratio, predict.
 *  - state:   a 0/1 property (configuration risks). Only `last`, the value
 *             of the last sweep; no ring is kept.
 */
#ifndef CSTATD_SIGNALS_H
#define CSTATD_SIGNALS_H

#include <stdbool.h>
#include <stdint.h>

#include "cstatd/container.h"

enum cstatd_signal_kind {
	CSTATD_KIND_GAUGE,
	CSTATD_KIND_COUNTER,
	CSTATD_KIND_RATE_TIME,  /* Δnum / Δt */
	CSTATD_KIND_RATE_RATIO, /* Δnum / Δden */
	CSTATD_KIND_STATE,      /* a 0/1 property of the container, not windowed */
};

/* What a value can be relative to (rules' "relative_to"). */
enum cstatd_limit {
	CSTATD_LIMIT_NONE = 0,
	CSTATD_LIMIT_CPU,         /* cpu.max quota/period, cores */
	CSTATD_LIMIT_MEMORY,      /* memory.max, bytes */
	CSTATD_LIMIT_PIDS,        /* pids.max */
	CSTATD_LIMIT_HOST_CPUS,   /* online CPUs of the host */
	CSTATD_LIMIT_HOST_MEMORY, /* physical memory of the host, bytes */
	CSTATD_LIMIT_COUNT
};

#define CSTATD_LIM_BIT(l) (1u << (l))

/*
 * X(id, name, kind, unit, relative-to mask, PromQL numerator family,
 *   PromQL denominator family (rate_ratio) or the value of the `risk` label
 *   (state) or NULL, PromQL family scope ('c' container labels
 *   id/name/image, 'n' name only), help)
 *
 * The PromQL families are the series `cstatd rules export` writes
 * expressions over; tests check that each exists in
 * exporters/prometheus/families.h.
 */
#define CSTATD_SIGNALS(X)                                                                         \
	X(CPU_USAGE, "cpu_usage", CSTATD_KIND_RATE_TIME, "cores",                                 \
	  CSTATD_LIM_BIT(CSTATD_LIMIT_CPU) | CSTATD_LIM_BIT(CSTATD_LIMIT_HOST_CPUS),              \
	  "container_cpu_usage_seconds_total", NULL, 'c',                                         \
	  "CPU used, in cores: the increase of cpu.stat usage_usec per second")                   \
	X(CPU_THROTTLED, "cpu_throttled", CSTATD_KIND_RATE_RATIO, "ratio", 0,                     \
	  "container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_periods_total", 'c',    \
	  "share of CPU quota periods in which the container was throttled (only with a quota)")  \
	X(MEMORY_WORKING_SET, "memory_working_set", CSTATD_KIND_GAUGE, "bytes",                   \
	  CSTATD_LIM_BIT(CSTATD_LIMIT_MEMORY) | CSTATD_LIM_BIT(CSTATD_LIMIT_HOST_MEMORY),         \
	  "container_memory_working_set_bytes", NULL, 'c',                                        \
	  "memory.current minus inactive file cache (Docker's formula from its stats stream)")    \
	X(MEMORY_USAGE, "memory_usage", CSTATD_KIND_GAUGE, "bytes",                               \
	  CSTATD_LIM_BIT(CSTATD_LIMIT_MEMORY) | CSTATD_LIM_BIT(CSTATD_LIMIT_HOST_MEMORY),         \
	  "container_memory_usage_bytes", NULL, 'c', "memory.current, page cache included")       \
	X(PIDS, "pids", CSTATD_KIND_GAUGE, "count", CSTATD_LIM_BIT(CSTATD_LIMIT_PIDS),            \
	  "container_threads", NULL, 'c', "tasks (threads) in the container: pids.current")       \
	X(PSI_CPU_SOME, "psi_cpu_some", CSTATD_KIND_RATE_TIME, "ratio", 0,                        \
	  "container_pressure_cpu_waiting_seconds_total", NULL, 'c',                              \
	  "share of time at least one task waited for CPU (cpu.pressure some total)")             \
	X(PSI_CPU_FULL, "psi_cpu_full", CSTATD_KIND_RATE_TIME, "ratio", 0,                        \
	  "container_pressure_cpu_stalled_seconds_total", NULL, 'c',                              \
	  "share of time all non-idle tasks were stalled on CPU (cpu.pressure full total)")       \
	X(PSI_MEMORY_SOME, "psi_memory_some", CSTATD_KIND_RATE_TIME, "ratio", 0,                  \
	  "container_pressure_memory_waiting_seconds_total", NULL, 'c',                           \
	  "share of time at least one task waited for memory (memory.pressure some total)")       \
	X(PSI_MEMORY_FULL, "psi_memory_full", CSTATD_KIND_RATE_TIME, "ratio", 0,                  \
	  "container_pressure_memory_stalled_seconds_total", NULL, 'c',                           \
	  "share of time all non-idle tasks were stalled on memory (memory.pressure full total)") \
	X(PSI_IO_SOME, "psi_io_some", CSTATD_KIND_RATE_TIME, "ratio", 0,                          \
	  "container_pressure_io_waiting_seconds_total", NULL, 'c',                               \
	  "share of time at least one task waited for I/O (io.pressure some total)")              \
	X(PSI_IO_FULL, "psi_io_full", CSTATD_KIND_RATE_TIME, "ratio", 0,                          \
	  "container_pressure_io_stalled_seconds_total", NULL, 'c',                               \
	  "share of time all non-idle tasks were stalled on I/O (io.pressure full total)")        \
	X(RESTARTS, "restarts", CSTATD_KIND_COUNTER, "count", 0,                                  \
	  "cstatd_container_restarts_total", NULL, 'n',                                           \
	  "restarts seen by cstatd (Docker events and RestartCount)")                             \
	X(OOM_KILLS, "oom_kills", CSTATD_KIND_COUNTER, "count", 0,                                \
	  "cstatd_container_oom_kills_total", NULL, 'n',                                          \
	  "processes killed by the OOM killer (memory.events oom_kill + Docker oom events)")      \
	X(HEALTH, "health", CSTATD_KIND_GAUGE, "bool", 0, "container_health_state", NULL, 'c',    \
	  "1 while the Docker health check reports healthy, 0 while starting or unhealthy; "      \
	  "absent without a health check")                                                        \
	X(NO_MEMORY_LIMIT, "no_memory_limit", CSTATD_KIND_STATE, "bool", 0,                       \
	  "cstatd_container_config_risk", "no_memory_limit", 'c',                                 \
	  "1 when the container runs without a memory limit")                                     \
	X(NO_CPU_LIMIT, "no_cpu_limit", CSTATD_KIND_STATE, "bool", 0,                             \
	  "cstatd_container_config_risk", "no_cpu_limit", 'c',                                    \
	  "1 when the container runs without a CPU limit")                                        \
	X(NO_PIDS_LIMIT, "no_pids_limit", CSTATD_KIND_STATE, "bool", 0,                           \
	  "cstatd_container_config_risk", "no_pids_limit", 'c',                                   \
	  "1 when the container runs without a pids limit (fork bombs reach the host)")           \
	X(PRIVILEGED, "privileged", CSTATD_KIND_STATE, "bool", 0, "cstatd_container_config_risk", \
	  "privileged", 'c', "1 when the container runs privileged (Docker only)")                \
	X(RUNS_AS_ROOT, "runs_as_root", CSTATD_KIND_STATE, "bool", 0,                             \
	  "cstatd_container_config_risk", "runs_as_root", 'c',                                    \
	  "1 when the container's process runs as root (Docker only)")

enum cstatd_signal {
#define X(id, name, kind, unit, lim, pnum, pden, scope, help) CSTATD_SIG_##id,
	CSTATD_SIGNALS(X)
#undef X
	    CSTATD_SIG_COUNT
};

struct cstatd_signal_def {
	const char *name;
	enum cstatd_signal_kind kind;
	const char *unit;
	uint32_t limits; /* CSTATD_LIM_BIT() of the limits it can be relative to */
	const char *prom_num;
	const char *prom_den; /* rate_ratio: denominator family; state: risk label */
	char prom_scope;      /* 'c' or 'n' */
	const char *help;
};

extern const struct cstatd_signal_def cstatd_signal_defs[CSTATD_SIG_COUNT];

/* Window aggregates. */
enum cstatd_agg {
	CSTATD_AGG_AVG,
	CSTATD_AGG_MIN,
	CSTATD_AGG_MAX,
	CSTATD_AGG_LAST,
	CSTATD_AGG_INCREASE,
	CSTATD_AGG_RATE,
	CSTATD_AGG_PREDICT, /* value the linear trend reaches after a horizon */
	CSTATD_AGG_COUNT
};

extern const char *const cstatd_agg_names[CSTATD_AGG_COUNT];

/* True when `agg` is defined for signals of `kind`. */
bool cstatd_agg_valid(enum cstatd_agg agg, enum cstatd_signal_kind kind);

extern const char *const cstatd_limit_names[CSTATD_LIMIT_COUNT]; /* [0] = "" */

/* Name lookups: 0 and the value, or -ENOENT. */
int cstatd_signal_by_name(const char *name, enum cstatd_signal *out);
int cstatd_agg_by_name(const char *name, enum cstatd_agg *out);
int cstatd_limit_by_name(const char *name, enum cstatd_limit *out);

/*
 * One sweep's raw readings of every signal, in base units: gauges as their
 * level, counters and rate numerators/denominators as cumulative totals
 * (seconds, counts). A signal is present when its bit (1u << signal) is set
 * in `have`. Fixed size; no allocation.
 */
struct cstatd_signal_values {
	uint32_t have;
	double v[CSTATD_SIG_COUNT];
	double den[CSTATD_SIG_COUNT]; /* CSTATD_KIND_RATE_RATIO only */
};

/* Reads every signal of a container's current record. Never fails; what
 * the record does not have stays absent. */
void cstatd_signals_read(const struct cstatd_container *c, struct cstatd_signal_values *out);

/* The host, for relative_to host_cpus / host_memory and for
 * "when_unlimited": "host". */
struct cstatd_host {
	double cpus;         /* online CPUs */
	double memory_bytes; /* physical memory */
};

/* Fills from sysconf(); fields it cannot read stay 0 (= unknown). */
void cstatd_host_detect(struct cstatd_host *h);

/*
 * The value of a limit for a container, in the unit of the signals that
 * can be relative to it. Returns 0, or -ENODATA when the container has no
 * such limit (unlimited, unknown, or 0): the caller must never divide by
 * it. `out` is untouched on failure.
 */
int cstatd_limit_value(enum cstatd_limit lim, const struct cstatd_container *c,
                       const struct cstatd_host *h, double *out);

/* The host-wide counterpart used by "when_unlimited": "host":
 * CPU → HOST_CPUS, MEMORY → HOST_MEMORY, anything else → NONE. */
enum cstatd_limit cstatd_limit_host_fallback(enum cstatd_limit lim);

#endif
