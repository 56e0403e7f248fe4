/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One container's resource sample: what one sweep read from the cgroup v2
 * files (collectors/cgroup), /proc/<pid>/net/dev (collectors/netdev) or the
 * Docker stats stream (collectors/docker). All three fill this same struct so
 * that the exporters never need to know where a number came from.
 *
 * Values are kept in the kernel's own units (microseconds, bytes, counts);
 * the exporters convert to base units. A field is meaningful only when its
 * CSTATD_HAVE_* bit is set in `have`: a file that does not exist on this host
 * is "not supported here", never 0.
 */
#ifndef CSTATD_SAMPLE_H
#define CSTATD_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

/* The literal `max` in a limit file ("no limit"). */
#define CSTATD_UNLIMITED UINT64_MAX

/* Fixed caps bound what a parser fills (no allocation while parsing); a
 * record keeps only the devices and interfaces it has (see
 * cstatd_io_list / cstatd_net_list below). */
#define CSTATD_IO_MAX_DEVICES 16
#define CSTATD_NET_MAX_IFS 8
#define CSTATD_IFNAME_LEN 16

enum cstatd_have {
	CSTATD_HAVE_CPU_STAT = 1u << 0,      /* usage/user/system */
	CSTATD_HAVE_CPU_BANDWIDTH = 1u << 1, /* nr_periods/nr_throttled/throttled_usec */
	CSTATD_HAVE_CPU_MAX = 1u << 2,
	CSTATD_HAVE_CPU_WEIGHT = 1u << 3,
	CSTATD_HAVE_MEM_CURRENT = 1u << 4,
	CSTATD_HAVE_MEM_MAX = 1u << 5,
	CSTATD_HAVE_MEM_HIGH = 1u << 6,
	CSTATD_HAVE_MEM_PEAK = 1u << 7,
	CSTATD_HAVE_MEM_STAT = 1u << 8,
	CSTATD_HAVE_MEM_EVENTS = 1u << 9,
	CSTATD_HAVE_SWAP_CURRENT = 1u << 10,
	CSTATD_HAVE_SWAP_MAX = 1u << 11,
	CSTATD_HAVE_IO_STAT = 1u << 12,
	CSTATD_HAVE_PIDS_CURRENT = 1u << 13,
	CSTATD_HAVE_PIDS_MAX = 1u << 14,
	CSTATD_HAVE_PSI_CPU = 1u << 15,
	CSTATD_HAVE_PSI_MEM = 1u << 16,
	CSTATD_HAVE_PSI_IO = 1u << 17,
	CSTATD_HAVE_CG_EVENTS = 1u << 18,
	CSTATD_HAVE_PROCS = 1u << 19,
	CSTATD_HAVE_NETDEV = 1u << 20,
	/* Docker stats only: a working set computed by Docker's formula. */
	CSTATD_HAVE_WORKING_SET = 1u << 21,
};

/* cpu.stat (flat keyed). Bandwidth keys exist only with the cpu controller. */
struct cstatd_cpu_stat {
	uint64_t usage_usec;
	uint64_t user_usec;
	uint64_t system_usec;
	uint64_t nr_periods;
	uint64_t nr_throttled;
	uint64_t throttled_usec;
	bool has_bandwidth;
};

/* cpu.max: "$MAX $PERIOD"; quota is CSTATD_UNLIMITED for `max`. */
struct cstatd_cpu_max {
	uint64_t quota_usec;
	uint64_t period_usec;
};

/* The memory.stat keys cstatd exports (bytes unless noted). */
struct cstatd_memory_stat {
	uint64_t anon;
	uint64_t file;
	uint64_t kernel;
	uint64_t shmem;
	uint64_t file_mapped;
	uint64_t file_dirty;
	uint64_t file_writeback;
	uint64_t active_anon;
	uint64_t inactive_anon;
	uint64_t active_file;
	uint64_t inactive_file;
	uint64_t pgfault;    /* count */
	uint64_t pgmajfault; /* count */
};

/* memory.events (hierarchical counters). */
struct cstatd_memory_events {
	uint64_t low;
	uint64_t high;
	uint64_t max;
	uint64_t oom;
	uint64_t oom_kill;
	uint64_t oom_group_kill;
};

/* One io.stat line; devices that printed no standard keys are skipped. */
struct cstatd_io_device {
	uint32_t major;
	uint32_t minor;
	uint64_t rbytes;
	uint64_t wbytes;
	uint64_t rios;
	uint64_t wios;
	uint64_t dbytes;
	uint64_t dios;
};

/* io.stat as a parser fills it (fixed size). */
struct cstatd_io_stat {
	unsigned n_devices;
	unsigned n_dropped; /* devices beyond CSTATD_IO_MAX_DEVICES */
	struct cstatd_io_device dev[CSTATD_IO_MAX_DEVICES];
};

/* A *.pressure file. `full` is absent in some files (irq, older cpu). */
struct cstatd_psi {
	bool has_some;
	bool has_full;
	uint64_t some_total_usec;
	uint64_t full_total_usec;
	double some_avg10, some_avg60, some_avg300;
	double full_avg10, full_avg60, full_avg300;
};

/* cgroup.events */
struct cstatd_cgroup_events {
	bool populated;
	bool frozen;
};

/* One /proc/<pid>/net/dev interface (or a Docker stats `networks` entry). */
struct cstatd_net_if {
	char name[CSTATD_IFNAME_LEN];
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

/* net/dev as a parser fills it (fixed size). */
struct cstatd_netdev {
	unsigned n_ifs;
	unsigned n_dropped;
	struct cstatd_net_if ifs[CSTATD_NET_MAX_IFS];
};

/*
 * What a record keeps of io.stat and net/dev: only as many devices and
 * interfaces as the container has, in an owned array. Most containers have
 * one or two of each; the fixed-size parse structs above would put 1.5 KiB
 * in every record (1.5 MB at 1000 containers). Set with cstatd_sample_set_io
 * / _set_net, which grow the array only when the count rises (never on a
 * sweep that finds the same devices); read `dev`/`ifs` like an array.
 */
struct cstatd_io_list {
	unsigned n_devices;
	unsigned n_dropped;
	unsigned cap;
	struct cstatd_io_device *dev; /* owned; NULL while cap is 0 */
};

struct cstatd_net_list {
	unsigned n_ifs;
	unsigned n_dropped;
	unsigned cap;
	struct cstatd_net_if *ifs; /* owned; NULL while cap is 0 */
};

struct cstatd_sample {
	uint32_t have; /* CSTATD_HAVE_* */
	/* CSTATD_HAVE_* groups that a source wrote over another's values
	 * (the Docker stream over cgroup files, --docker-stats always). A
	 * collector that skips parsing unchanged bytes parses again when its
	 * group's bit is here, and clears it when it has. */
	uint32_t foreign;

	struct cstatd_cpu_stat cpu;
	struct cstatd_cpu_max cpu_max;
	uint64_t cpu_weight;

	uint64_t mem_current;
	uint64_t mem_max;  /* CSTATD_UNLIMITED for `max` */
	uint64_t mem_high; /* CSTATD_UNLIMITED for `max` */
	uint64_t mem_peak;
	uint64_t swap_current;
	uint64_t swap_max;    /* CSTATD_UNLIMITED for `max` */
	uint64_t working_set; /* only with CSTATD_HAVE_WORKING_SET */
	struct cstatd_memory_stat mem;
	struct cstatd_memory_events mem_events;

	struct cstatd_io_list io;

	uint64_t pids_current;
	uint64_t pids_max; /* CSTATD_UNLIMITED for `max` */

	struct cstatd_psi psi_cpu;
	struct cstatd_psi psi_mem;
	struct cstatd_psi psi_io;

	struct cstatd_cgroup_events events;

	uint64_t processes; /* lines in cgroup.procs */
	int first_pid;      /* 0 when none */

	struct cstatd_net_list net;
};

/*
 * Copy a parsed io.stat / net/dev into a sample's own list (daemon/store.c).
 * -ENOMEM leaves the list as it was. A sample holding lists must be released
 * with cstatd_sample_free_lists (a record's are, with the record); a struct
 * copy of such a sample shares its arrays.
 */
int cstatd_sample_set_io(struct cstatd_sample *s, const struct cstatd_io_stat *src);
int cstatd_sample_set_net(struct cstatd_sample *s, const struct cstatd_netdev *src);
void cstatd_sample_free_lists(struct cstatd_sample *s);

#endif
