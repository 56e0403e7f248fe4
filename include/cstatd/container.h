/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-container record kept by daemon/store.c: identity (from the cgroup
 * path, then from Docker), the current resource sample, and lifecycle
 * counters. The sweep thread owns every record; collectors fill them during
 * a sweep and exporters read them at the end of the sweep, on that same
 * thread, to render the snapshot that HTTP serves.
 */
#ifndef CSTATD_CONTAINER_H
#define CSTATD_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "cstatd/sample.h"

#define CSTATD_ID_LEN 64 /* runtime ids are 64 hex */
#define CSTATD_NAME_LEN 256
#define CSTATD_IMAGE_LEN 256
#define CSTATD_MAX_LABELS 8 /* allow-listed container labels */
#define CSTATD_LABEL_KEY_LEN 128
#define CSTATD_LABEL_VALUE_LEN 256

/* Which sources saw the container in this sweep; a record that no source
 * sees any more is removed at the end of the sweep. */
enum cstatd_source {
	CSTATD_SRC_CGROUP = 1u << 0,
	CSTATD_SRC_DOCKER = 1u << 1,
};

enum cstatd_state {
	CSTATD_STATE_UNKNOWN = 0,
	CSTATD_STATE_CREATED,
	CSTATD_STATE_RUNNING,
	CSTATD_STATE_PAUSED,
	CSTATD_STATE_RESTARTING,
	CSTATD_STATE_EXITED,
	CSTATD_STATE_DEAD,
	CSTATD_STATE_COUNT
};

enum cstatd_health {
	CSTATD_HEALTH_NONE = 0, /* no health check configured */
	CSTATD_HEALTH_STARTING,
	CSTATD_HEALTH_HEALTHY,
	CSTATD_HEALTH_UNHEALTHY,
	CSTATD_HEALTH_COUNT
};

/* Limit hygiene, from Docker inspect. */
enum cstatd_risk {
	CSTATD_RISK_NO_MEMORY_LIMIT = 1u << 0,
	CSTATD_RISK_NO_CPU_LIMIT = 1u << 1,
	CSTATD_RISK_NO_PIDS_LIMIT = 1u << 2,
	CSTATD_RISK_PRIVILEGED = 1u << 3,
	CSTATD_RISK_RUNS_AS_ROOT = 1u << 4,
	CSTATD_RISK_WRITABLE_ROOTFS = 1u << 5,
	CSTATD_RISK_ADDED_CAPABILITIES = 1u << 6,
	CSTATD_RISK_NO_RESTART_LIMIT = 1u << 7,
	CSTATD_RISK_COUNT_BITS = 8
};

struct cstatd_label {
	char key[CSTATD_LABEL_KEY_LEN]; /* already sanitised to [a-zA-Z0-9_] */
	char value[CSTATD_LABEL_VALUE_LEN];
};

/* What the Docker API says about a container (collectors/docker fills it in
 * its merge step). Zeroed when Docker does not know the container. */
struct cstatd_docker_info {
	bool known;
	char image_id[80];
	char compose_project[128];
	char compose_service[128];
	/* n_labels allow-listed labels, owned (NULL when none): most
	 * containers have none, and a fixed array of CSTATD_MAX_LABELS took
	 * 3 KiB of every record. Set with cstatd_container_set_labels. */
	unsigned n_labels;
	struct cstatd_label *labels;
	enum cstatd_state state;
	enum cstatd_health health;
	int pid;
	double created_at; /* unix seconds, 0 when unknown */
	bool has_exit_code;
	int64_t last_exit_code;
	uint64_t restarts_total;   /* cstatd's own counter, see docs/docker.md */
	uint64_t oom_kills_docker; /* kills seen only through Docker */
	bool risks_known;
	uint32_t risks; /* CSTATD_RISK_* */
};

struct cstatd_container {
	/* Store key: the 64-hex runtime id, or the cgroup path for a raw
	 * cgroup exported with --all-cgroups. */
	char key[CSTATD_ID_LEN + 1];
	char *cgroup_path; /* relative to the cgroup2 root; NULL when not visible */
	/* Set by the Docker collector from /proc/<pid>/cgroup when the path
	 * patterns did not find the container's cgroup; the cgroup collector
	 * adopts it on its next sweep. Owned; NULL when there is none. */
	char *cgroup_hint;
	/* Owned strings, never NULL in a record of the store ("" until set),
	 * at most CSTATD_NAME_LEN - 1 bytes: set with cstatd_container_setf.
	 * (Fixed 256-byte arrays took 768 bytes of every record for values
	 * that are mostly 12 to 80 bytes long.) */
	char *id_label; /* cAdvisor's `id`: "/" + cgroup path */
	char *name;     /* 12-hex id until Docker names it */
	char *image;
	char runtime[16];
	bool is_container; /* false for --all-cgroups raw cgroups */

	double start_time; /* unix seconds (cgroup dir ctime, or Docker StartedAt) */
	double last_seen;  /* unix seconds of the last sweep that read it */

	unsigned sources; /* CSTATD_SRC_* seen in this sweep */
	struct cstatd_sample s;
	uint64_t oom_kills_total; /* memory.events oom_kill + Docker-only kills */

	struct cstatd_docker_info docker;

	/* Collector-private state (open fds...), released by its destructor
	 * when the record is removed. */
	void *cg_priv;
	void (*cg_priv_free)(void *);
	void *net_priv;
	void (*net_priv_free)(void *);
};

/*
 * Owned parts of a record (daemon/store.c). They allocate only when the
 * value changes, never on a sweep that finds it the same; -ENOMEM leaves
 * the record as it was.
 */
int cstatd_container_set_labels(struct cstatd_container *c, const struct cstatd_label *labels,
                                unsigned n);
/* Zeroes c->docker and frees what it owned (Docker no longer knows c). */
void cstatd_container_forget_docker(struct cstatd_container *c);
/* Sets one of c's strings (&c->id_label, &c->name, &c->image) from a
 * format, cut at CSTATD_NAME_LEN - 1 bytes; allocates only when the value
 * changes, so a sweep that finds the same name allocates nothing. -ENOMEM
 * leaves it as it was. */
int cstatd_container_setf(char **field, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* NULL or "" clears the hint. */
int cstatd_container_set_hint(struct cstatd_container *c, const char *rel);

#endif
