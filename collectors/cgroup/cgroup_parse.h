/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsers for the cgroup v2 interface files. Each takes the bytes of one file
 * (not necessarily NUL-terminated) and fills a struct; none opens a file.
 * I/O lives in cgroup_read.c, discovery in cgroup_discover.c.
 *
 * Every parser returns 0 on success or -EINVAL when the content is not of the
 * file's shape (truncated, garbage). On failure the output is left untouched,
 * so the previous sweep's value stands and the caller counts the error.
 * Keys the parser does not know are skipped: the kernel adds keys anywhere.
 * The literal `max` is a value (CSTATD_UNLIMITED), not an error.
 */
#ifndef CSTATD_CGROUP_PARSE_H
#define CSTATD_CGROUP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "cstatd/sample.h"

/* A single value file: memory.current, memory.max, pids.max, cpu.weight...
 * `max` → CSTATD_UNLIMITED. Surrounding whitespace is allowed. */
int cg_parse_u64_or_max(const char *buf, size_t len, uint64_t *out);

/* cpu.stat; requires at least usage_usec. Sets has_bandwidth when the
 * nr_periods/nr_throttled/throttled_usec keys are present. */
int cg_parse_cpu_stat(const char *buf, size_t len, struct cstatd_cpu_stat *out);

/* cpu.max: "max 100000" or "50000 100000" (a lone quota keeps period 100000). */
int cg_parse_cpu_max(const char *buf, size_t len, struct cstatd_cpu_max *out);

/* memory.stat; requires at least one known key. Missing keys read as 0. */
int cg_parse_memory_stat(const char *buf, size_t len, struct cstatd_memory_stat *out);

/* memory.events; missing keys read as 0. */
int cg_parse_memory_events(const char *buf, size_t len, struct cstatd_memory_events *out);

/* io.stat; lines with no standard keys (`8:0 ` alone, or only cost.* keys)
 * are skipped; devices past CSTATD_IO_MAX_DEVICES are counted in n_dropped.
 * An empty file is valid (no I/O yet). */
int cg_parse_io_stat(const char *buf, size_t len, struct cstatd_io_stat *out);

/* cpu/memory/io.pressure: `some` and optional `full` lines. */
int cg_parse_psi(const char *buf, size_t len, struct cstatd_psi *out);

/* cgroup.events: populated, frozen (frozen absent before 5.2 → false). */
int cg_parse_cgroup_events(const char *buf, size_t len, struct cstatd_cgroup_events *out);

/* cgroup.procs: number of pid lines (duplicates are counted, as the kernel
 * lists them) and the first pid (0 when empty). */
int cg_parse_procs(const char *buf, size_t len, uint64_t *count, int *first_pid);

/*
 * Container recognition by cgroup path (relative to the cgroup2 root, no
 * leading slash): system.slice/docker-<id>.scope, docker/<id>,
 * machine.slice/libpod-<id>.scope, .../cri-containerd-<id>.scope,
 * .../crio-<id>.scope, kubepods cgroupfs .../pod<uid>/<id>.
 * On a match copies the 64-hex id into id_out (65 bytes) and the runtime
 * name ("docker", "podman", "containerd", "crio") into runtime_out (16 bytes)
 * and returns 1; returns 0 for a path that is not a container.
 * conmon scopes (libpod-conmon-, crio-conmon-) are not containers.
 */
int cg_match_container_path(const char *rel_path, char *id_out, char *runtime_out);

#endif
