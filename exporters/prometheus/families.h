/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every metric family cstatd exports, declared once. The HELP/TYPE lines,
 * the docs/metrics.md table (cstatd --print-metrics-table) and the golden
 * tests are all derived from this table; render.c emits the samples of each
 * family in this order, so families are always contiguous.
 *
 * X(id, name, type, extra labels, help, source)
 * Container families carry the labels id, name, image (and allow-listed
 * container_label_*) in addition to the extra labels listed.
 */
#ifndef CSTATD_FAMILIES_H
#define CSTATD_FAMILIES_H

#include <stddef.h>

enum fam_type { FAM_COUNTER, FAM_GAUGE, FAM_HISTOGRAM };

/* Scope of a family's labels: per container (base labels), per container
 * name only, or process-wide. */
enum fam_scope { SCOPE_CONTAINER, SCOPE_NAME, SCOPE_SELF };

#define CSTATD_FAMILIES(X)                                                                         \
	/* --- CPU ------------------------------------------------------------------ */           \
	X(CPU_USAGE, "container_cpu_usage_seconds_total", COUNTER, CONTAINER, "cpu",               \
	  "Cumulative CPU time consumed, in seconds (cpu=\"total\": cgroup v2 has no per-CPU "     \
	  "split).",                                                                               \
	  "cpu.stat usage_usec; Docker stats cpu_usage.total_usage")                               \
	X(CPU_USER, "container_cpu_user_seconds_total", COUNTER, CONTAINER, "",                    \
	  "Cumulative user CPU time consumed, in seconds.", "cpu.stat user_usec")                  \
	X(CPU_SYSTEM, "container_cpu_system_seconds_total", COUNTER, CONTAINER, "",                \
	  "Cumulative system CPU time consumed, in seconds.", "cpu.stat system_usec")              \
	X(CFS_PERIODS, "container_cpu_cfs_periods_total", COUNTER, CONTAINER, "",                  \
	  "Number of elapsed enforcement periods (only with a CPU quota).", "cpu.stat nr_periods") \
	X(CFS_THROTTLED_PERIODS, "container_cpu_cfs_throttled_periods_total", COUNTER, CONTAINER,  \
	  "", "Number of throttled periods (only with a CPU quota).", "cpu.stat nr_throttled")     \
	X(CFS_THROTTLED_SECONDS, "container_cpu_cfs_throttled_seconds_total", COUNTER, CONTAINER,  \
	  "", "Total time the container was throttled, in seconds (only with a CPU quota).",       \
	  "cpu.stat throttled_usec")                                                               \
	X(SPEC_CPU_QUOTA, "container_spec_cpu_quota", GAUGE, CONTAINER, "",                        \
	  "CPU quota in microseconds per period; no sample when unlimited.",                       \
	  "cpu.max (first field)")                                                                 \
	X(SPEC_CPU_PERIOD, "container_spec_cpu_period", GAUGE, CONTAINER, "",                      \
	  "CPU quota enforcement period in microseconds.", "cpu.max (second field)")               \
	X(SPEC_CPU_SHARES, "container_spec_cpu_shares", GAUGE, CONTAINER, "",                      \
	  "CPU weight as cgroup v1 shares (2 + (weight-1)*262142/9999, as cAdvisor maps it).",     \
	  "cpu.weight")                                                                            \
	/* --- Memory --------------------------------------------------------------- */           \
	X(MEM_USAGE, "container_memory_usage_bytes", GAUGE, CONTAINER, "",                         \
	  "Current memory usage in bytes, including all page cache.", "memory.current")            \
	X(MEM_WORKING_SET, "container_memory_working_set_bytes", GAUGE, CONTAINER, "",             \
	  "Working set in bytes: usage minus inactive file cache, floored at 0.",                  \
	  "memory.current - memory.stat inactive_file; Docker stats (Docker's formula)")           \
	X(MEM_RSS, "container_memory_rss", GAUGE, CONTAINER, "",                                   \
	  "Anonymous memory (RSS) in bytes.", "memory.stat anon")                                  \
	X(MEM_CACHE, "container_memory_cache", GAUGE, CONTAINER, "", "Page cache in bytes.",       \
	  "memory.stat file")                                                                      \
	X(MEM_SWAP, "container_memory_swap", GAUGE, CONTAINER, "", "Swap usage in bytes.",         \
	  "memory.swap.current")                                                                   \
	X(MEM_MAPPED, "container_memory_mapped_file", GAUGE, CONTAINER, "",                        \
	  "Size of memory-mapped files in bytes.", "memory.stat file_mapped")                      \
	X(MEM_MAX_USAGE, "container_memory_max_usage_bytes", GAUGE, CONTAINER, "",                 \
	  "Peak memory usage in bytes since the cgroup was created (kernel 5.19+).",               \
	  "memory.peak")                                                                           \
	X(MEM_FAILURES, "container_memory_failures_total", COUNTER, CONTAINER,                     \
	  "failure_type, scope",                                                                   \
	  "Cumulative count of page faults (failure_type pgfault or pgmajfault).",                 \
	  "memory.stat pgfault, pgmajfault")                                                       \
	X(MEM_EVENTS_HIGH, "container_memory_events_high_total", COUNTER, CONTAINER, "",           \
	  "Times the container was throttled for exceeding memory.high.", "memory.events high")    \
	X(MEM_EVENTS_MAX, "container_memory_events_max_total", COUNTER, CONTAINER, "",             \
	  "Times the container's usage was about to exceed memory.max.", "memory.events max")      \
	X(SPEC_MEM_LIMIT, "container_spec_memory_limit_bytes", GAUGE, CONTAINER, "",               \
	  "Memory limit in bytes; no sample when unlimited (cAdvisor exports 0).",                 \
	  "memory.max; Docker stats memory_stats.limit")                                           \
	X(SPEC_SWAP_LIMIT, "container_spec_memory_swap_limit_bytes", GAUGE, CONTAINER, "",         \
	  "Swap limit in bytes; no sample when unlimited.", "memory.swap.max")                     \
	X(OOM_KILLS, "cstatd_container_oom_kills_total", COUNTER, NAME, "",                        \
	  "Processes of the container killed by the OOM killer.",                                  \
	  "memory.events oom_kill (+ Docker oom events / State.OOMKilled not seen there)")         \
	/* --- Block I/O ------------------------------------------------------------ */           \
	X(FS_READ_BYTES, "container_fs_reads_bytes_total", COUNTER, CONTAINER, "device",           \
	  "Cumulative bytes read.", "io.stat rbytes")                                              \
	X(FS_WRITE_BYTES, "container_fs_writes_bytes_total", COUNTER, CONTAINER, "device",         \
	  "Cumulative bytes written.", "io.stat wbytes")                                           \
	X(FS_READS, "container_fs_reads_total", COUNTER, CONTAINER, "device",                      \
	  "Cumulative count of reads completed.", "io.stat rios")                                  \
	X(FS_WRITES, "container_fs_writes_total", COUNTER, CONTAINER, "device",                    \
	  "Cumulative count of writes completed.", "io.stat wios")                                 \
	/* --- Network -------------------------------------------------------------- */           \
	X(NET_RX_BYTES, "container_network_receive_bytes_total", COUNTER, CONTAINER, "interface",  \
	  "Cumulative bytes received.", "/proc/<pid>/net/dev; Docker stats networks")              \
	X(NET_RX_PACKETS, "container_network_receive_packets_total", COUNTER, CONTAINER,           \
	  "interface", "Cumulative packets received.",                                             \
	  "/proc/<pid>/net/dev; Docker stats networks")                                            \
	X(NET_RX_ERRORS, "container_network_receive_errors_total", COUNTER, CONTAINER,             \
	  "interface", "Cumulative receive errors.", "/proc/<pid>/net/dev; Docker stats networks") \
	X(NET_RX_DROPPED, "container_network_receive_packets_dropped_total", COUNTER, CONTAINER,   \
	  "interface", "Cumulative received packets dropped.",                                     \
	  "/proc/<pid>/net/dev; Docker stats networks")                                            \
	X(NET_TX_BYTES, "container_network_transmit_bytes_total", COUNTER, CONTAINER, "interface", \
	  "Cumulative bytes transmitted.", "/proc/<pid>/net/dev; Docker stats networks")           \
	X(NET_TX_PACKETS, "container_network_transmit_packets_total", COUNTER, CONTAINER,          \
	  "interface", "Cumulative packets transmitted.",                                          \
	  "/proc/<pid>/net/dev; Docker stats networks")                                            \
	X(NET_TX_ERRORS, "container_network_transmit_errors_total", COUNTER, CONTAINER,            \
	  "interface", "Cumulative transmit errors.",                                              \
	  "/proc/<pid>/net/dev; Docker stats networks")                                            \
	X(NET_TX_DROPPED, "container_network_transmit_packets_dropped_total", COUNTER, CONTAINER,  \
	  "interface", "Cumulative transmitted packets dropped.",                                  \
	  "/proc/<pid>/net/dev; Docker stats networks")                                            \
	/* --- Processes ------------------------------------------------------------ */           \
	X(PROCESSES, "container_processes", GAUGE, CONTAINER, "",                                  \
	  "Number of processes in the container's own cgroup.",                                    \
	  "cgroup.procs (line count; see Freshness)")                                              \
	X(THREADS, "container_threads", GAUGE, CONTAINER, "",                                      \
	  "Number of tasks (threads) in the container.",                                           \
	  "pids.current; Docker stats pids_stats.current")                                         \
	X(THREADS_MAX, "container_threads_max", GAUGE, CONTAINER, "",                              \
	  "Task limit; no sample when unlimited (cAdvisor exports 0).",                            \
	  "pids.max; Docker stats pids_stats.limit")                                               \
	/* --- Pressure (PSI) ------------------------------------------------------- */           \
	X(PSI_CPU_WAITING, "container_pressure_cpu_waiting_seconds_total", COUNTER, CONTAINER, "", \
	  "Time at least one task waited for CPU, in seconds.", "cpu.pressure some total")         \
	X(PSI_CPU_STALLED, "container_pressure_cpu_stalled_seconds_total", COUNTER, CONTAINER, "", \
	  "Time all non-idle tasks were stalled on CPU, in seconds.", "cpu.pressure full total")   \
	X(PSI_MEM_WAITING, "container_pressure_memory_waiting_seconds_total", COUNTER, CONTAINER,  \
	  "", "Time at least one task waited for memory, in seconds.",                             \
	  "memory.pressure some total")                                                            \
	X(PSI_MEM_STALLED, "container_pressure_memory_stalled_seconds_total", COUNTER, CONTAINER,  \
	  "", "Time all non-idle tasks were stalled on memory, in seconds.",                       \
	  "memory.pressure full total")                                                            \
	X(PSI_IO_WAITING, "container_pressure_io_waiting_seconds_total", COUNTER, CONTAINER, "",   \
	  "Time at least one task waited for I/O, in seconds.", "io.pressure some total")          \
	X(PSI_IO_STALLED, "container_pressure_io_stalled_seconds_total", COUNTER, CONTAINER, "",   \
	  "Time all non-idle tasks were stalled on I/O, in seconds.", "io.pressure full total")    \
	/* --- Lifecycle ------------------------------------------------------------ */           \
	X(START_TIME, "container_start_time_seconds", GAUGE, CONTAINER, "",                        \
	  "Start time of the container as a Unix timestamp.",                                      \
	  "Docker State.StartedAt; else the cgroup directory's ctime")                             \
	X(LAST_SEEN, "container_last_seen", GAUGE, CONTAINER, "",                                  \
	  "Unix time of the last sweep that read the container.", "sweep clock")                   \
	X(FROZEN, "cstatd_container_frozen", GAUGE, CONTAINER, "",                                 \
	  "1 while the container's cgroup is frozen (docker pause), else 0.",                      \
	  "cgroup.events frozen")                                                                  \
	X(INFO, "cstatd_container_info", GAUGE, CONTAINER,                                         \
	  "image_id, runtime, compose_project, compose_service", "Container identity; always 1.",  \
	  "Docker inspect; cgroup path for other runtimes")                                        \
	X(STATE, "cstatd_container_state", GAUGE, CONTAINER, "state",                              \
	  "1 for the container's current state (created, running, paused, restarting, exited, "    \
	  "dead).",                                                                                \
	  "Docker inspect State.Status and events")                                                \
	X(HEALTH_STATE, "container_health_state", GAUGE, CONTAINER, "",                            \
	  "Health as cAdvisor reports it: 1 healthy, 0 starting or unhealthy, -1 no health "       \
	  "check.",                                                                                \
	  "Docker State.Health.Status")                                                            \
	X(HEALTH, "cstatd_container_health", GAUGE, CONTAINER, "status",                           \
	  "1 for the container's current health status (none, starting, healthy, unhealthy).",     \
	  "Docker State.Health.Status")                                                            \
	X(LAST_EXIT_CODE, "cstatd_container_last_exit_code", GAUGE, CONTAINER, "",                 \
	  "Exit code of the container's last exit.", "Docker State.ExitCode, die events")          \
	X(RESTARTS, "cstatd_container_restarts_total", COUNTER, NAME, "",                          \
	  "Restarts seen while cstatd runs, seeded from RestartCount; survives re-creation "       \
	  "under the same name.",                                                                  \
	  "Docker events (start after die, restart, re-create) and RestartCount")                  \
	X(CONFIG_RISK, "cstatd_container_config_risk", GAUGE, CONTAINER, "risk",                   \
	  "1 when the container has the configuration risk named by `risk`, else 0.",              \
	  "Docker inspect HostConfig and Config")                                                  \
	/* --- cstatd itself --------------------------------------------------------- */          \
	/* --- Alerts ----------------------------------------------------------------- */         \
	X(ALERT_FIRING, "cstatd_alert_firing", GAUGE, SELF,                                        \
	  "alertname, severity, id, image, name",                                                  \
	  "1 for every alert instance that is firing (cstatd's own rule engine).",                 \
	  "daemon/alerts")                                                                         \
	X(ALERT_THRESHOLD, "cstatd_alert_threshold", GAUGE, SELF, "alertname, severity",           \
	  "The threshold of every alert rule in force, for reuse in PromQL.", "alert rules")       \
	X(NOTIFICATIONS_SENT, "cstatd_notifications_sent_total", COUNTER, SELF, "",                \
	  "Alert batches posted to Alertmanager successfully.", "Alertmanager pusher")             \
	X(NOTIFICATIONS_DROPPED, "cstatd_notifications_dropped_total", COUNTER, SELF, "",          \
	  "Alert batches given up on (queue full or retries exhausted).", "Alertmanager pusher")   \
	X(RELOAD_OK, "cstatd_config_last_reload_successful", GAUGE, SELF, "",                      \
	  "1 when the last configuration (re)load succeeded, else 0.", "config file")              \
	X(RELOAD_TS, "cstatd_config_last_reload_success_timestamp_seconds", GAUGE, SELF, "",       \
	  "Unix time of the last successful configuration (re)load.", "config file")               \
	X(BUILD_INFO, "cstatd_build_info", GAUGE, SELF, "version, revision",                       \
	  "cstatd build information; always 1.", "build")                                          \
	X(SWEEP_DURATION, "cstatd_sweep_duration_seconds", HISTOGRAM, SELF, "le",                  \
	  "Duration of sweeps (read every container, render the exposition), in seconds.",         \
	  "sweep clock")                                                                           \
	X(LAST_SWEEP, "cstatd_last_sweep_duration_seconds", GAUGE, SELF, "",                       \
	  "Duration of the last complete sweep, in seconds.", "sweep clock")                       \
	X(CONTAINERS, "cstatd_containers", GAUGE, SELF, "",                                        \
	  "Number of containers (or cgroups, with --all-cgroups) tracked.", "store")               \
	X(CONTAINERS_DROPPED, "cstatd_containers_dropped_total", COUNTER, SELF, "",                \
	  "Containers left untracked because --max-containers were tracked already; each is "      \
	  "counted once per appearance, not once per sweep.",                                      \
	  "store")                                                                                 \
	X(COLLECT_ERRORS, "cstatd_collect_errors_total", COUNTER, SELF, "source",                  \
	  "Collection errors by source (unreadable or garbled files, Docker API failures).",       \
	  "collectors")                                                                            \
	X(SCRAPES, "cstatd_scrapes_total", COUNTER, SELF, "", "HTTP requests served on /metrics.", \
	  "HTTP exporter")                                                                         \
	X(DOCKER_UP, "cstatd_docker_up", GAUGE, SELF, "",                                          \
	  "1 while the Docker Engine API answers, 0 when it does not (or is disabled).",           \
	  "Docker collector")                                                                      \
	X(PROC_CPU, "process_cpu_seconds_total", COUNTER, SELF, "",                                \
	  "Total user and system CPU time spent by cstatd, in seconds.", "/proc/self/stat")        \
	X(PROC_RSS, "process_resident_memory_bytes", GAUGE, SELF, "",                              \
	  "Resident memory size of cstatd in bytes.", "/proc/self/statm")                          \
	X(PROC_VSZ, "process_virtual_memory_bytes", GAUGE, SELF, "",                               \
	  "Virtual memory size of cstatd in bytes.", "/proc/self/statm")                           \
	X(PROC_FDS, "process_open_fds", GAUGE, SELF, "", "Number of open file descriptors.",       \
	  "/proc/self/fd")                                                                         \
	X(PROC_MAX_FDS, "process_max_fds", GAUGE, SELF, "",                                        \
	  "Maximum number of open file descriptors.", "getrlimit(RLIMIT_NOFILE)")                  \
	X(PROC_START, "process_start_time_seconds", GAUGE, SELF, "",                               \
	  "Start time of cstatd since the Unix epoch, in seconds.", "/proc/self/stat")             \
	X(PROC_THREADS, "process_threads", GAUGE, SELF, "", "Number of OS threads of cstatd.",     \
	  "/proc/self/stat")

enum fam_id {
#define X(id, name, type, scope, labels, help, source) FAM_##id,
	CSTATD_FAMILIES(X)
#undef X
	    FAM_COUNT
};

struct fam_def {
	const char *name;
	enum fam_type type;
	enum fam_scope scope;
	const char *labels; /* extra labels, for the docs */
	const char *help;
	const char *source;
};

extern const struct fam_def cstatd_families[FAM_COUNT];

/* Writes the docs/metrics.md table to `out`. */
#include <stdio.h>
void cstatd_families_print_markdown(FILE *out);

#endif
