/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsers for the Docker Engine API bodies cstatd reads: the /_ping headers,
 * /containers/json, /containers/<id>/json (inspect), one /events line and one
 * /containers/<id>/stats line, plus /proc/<pid>/cgroup for the cgroup hint.
 * See reference/docker-engine-api.md for the shapes and their traps.
 *
 * Every parser takes (buf, len) — not necessarily NUL-terminated, never
 * opened by the parser — and fills a caller-owned struct. They return 0, or
 * -EINVAL when the bytes are not valid JSON or not of the expected shape;
 * on failure the output is left untouched (the previous value stands and the
 * caller counts CSTATD_ERR_DOCKER_JSON). Nothing here does I/O, logs, or
 * keeps state between calls; jansson allocates while parsing and everything
 * is freed before returning.
 *
 * Stats lines are always decoded with JSON_DECODE_INT_AS_REAL: they carry
 * pids_stats.limit = 18446744073709551615 (2^64-1) on cgroupfs hosts, which
 * a strict jansson parse rejects for the whole document. The other bodies
 * are decoded with exact integers (an event's timeNano is above 2^53) and
 * fall back to doubles only if an integer overflows.
 *
 * Strings copied into fixed buffers are truncated at a UTF-8 character
 * boundary, so a truncated name is still valid text for the exporters.
 */
#ifndef CSTATD_DOCKER_PARSE_H
#define CSTATD_DOCKER_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cstatd/container.h"
#include "cstatd/sample.h"

/* API versions are kept as major * 1000 + minor: "1.41" → 1041. */
#define DK_API_MIN 1041 /* needed for stats one-shot; Docker 20.10 */
#define DK_API_MAX 1053 /* newest cstatd is written for (Docker 29) */

/* ------------------------------------------------------------------ */
/* /_ping                                                              */
/* ------------------------------------------------------------------ */

struct dk_ping {
	int api_version;   /* from Api-Version; 0 when the header is missing */
	bool podman;       /* Libpod-API-Version header or Server: Libpod/... */
	char server[64];   /* Server header, e.g. "Docker/20.10.24+dfsg1 (linux)" */
};

/* Raw response headers (status line and "Name: value" lines, CRLF or LF),
 * header names matched case-insensitively. -EINVAL without an Api-Version
 * header or with an unparseable one. */
int dk_parse_ping_headers(const char *buf, size_t len, struct dk_ping *out);

/* "1.41" → 1041; -EINVAL for anything else (minor must be < 1000). */
int dk_parse_api_version(const char *s, size_t len, int *out);

/* Picks min(server, DK_API_MAX); -ENOTSUP when that is below DK_API_MIN. */
int dk_negotiate_api_version(int server, int *use);

/* ------------------------------------------------------------------ */
/* Label allow-list                                                    */
/* ------------------------------------------------------------------ */

/* A compiled comma-separated glob list (fnmatch(3) syntax, surrounding
 * blanks trimmed, empty items ignored). Owns its memory. */
struct dk_allowlist {
	char *storage;
	char **globs;
	size_t n;
};

/* csv may be NULL or "" (nothing allowed). -ENOMEM on allocation failure. */
int dk_allowlist_init(struct dk_allowlist *al, const char *csv);
void dk_allowlist_free(struct dk_allowlist *al);
bool dk_allowlist_match(const struct dk_allowlist *al, const char *key);

/* Copies key into out (outlen bytes) with every byte outside [a-zA-Z0-9_]
 * replaced by '_'. Returns -ENAMETOOLONG (out untouched) when it does not
 * fit: a truncated key could collide with another one. */
int dk_sanitize_label_key(const char *key, char *out, size_t outlen);

/* ------------------------------------------------------------------ */
/* /containers/json                                                    */
/* ------------------------------------------------------------------ */

struct dk_list_entry {
	char id[CSTATD_ID_LEN + 1];
	char name[CSTATD_NAME_LEN]; /* first of Names, without the leading '/' */
	enum cstatd_state state;
};

/* Calls cb for every array element whose Id is a 64-hex id (others are
 * skipped and counted in *skipped when non-NULL). A non-zero return from cb
 * stops the walk and is returned. -EINVAL when the body is not an array. */
int dk_parse_list(const char *buf, size_t len,
		  int (*cb)(void *arg, const struct dk_list_entry *e), void *arg,
		  size_t *skipped);

/* ------------------------------------------------------------------ */
/* /containers/<id>/json                                               */
/* ------------------------------------------------------------------ */

struct dk_inspect {
	char id[CSTATD_ID_LEN + 1];
	char name[CSTATD_NAME_LEN];     /* without the leading '/' */
	char image[CSTATD_IMAGE_LEN];   /* Config.Image: the reference as given */
	char image_id[80];              /* top-level Image: sha256:... */
	char compose_project[128];      /* com.docker.compose.project, always */
	char compose_service[128];      /* com.docker.compose.service, always */
	char network_mode[32];          /* HostConfig.NetworkMode */
	unsigned n_labels;              /* allow-listed, sanitised, sorted by key */
	struct cstatd_label labels[CSTATD_MAX_LABELS];
	unsigned n_labels_dropped;      /* allow-listed but over CSTATD_MAX_LABELS,
					 * too long, or colliding once sanitised */

	enum cstatd_state state;        /* State.Status; "removing" → EXITED */
	enum cstatd_health health;
	int pid;                        /* State.Pid; 0 when not running */
	bool oom_killed;                /* State.OOMKilled */
	int64_t exit_code;              /* State.ExitCode (reset to 0 on start) */
	int64_t restart_count;          /* RestartCount (policy restarts only) */
	double created_at;              /* unix seconds, 0 when unknown */
	double started_at;              /* 0 for "0001-01-01T00:00:00Z" */
	double finished_at;             /* 0 for "0001-01-01T00:00:00Z" */

	/* Limits from HostConfig, for records whose cgroup files cstatd
	 * cannot read (the stats stream reports host MemTotal as the limit
	 * of an unlimited container, which is indistinguishable). */
	uint64_t mem_limit;             /* bytes; CSTATD_UNLIMITED when 0 */
	uint64_t cpu_quota_usec;        /* CSTATD_UNLIMITED when none */
	uint64_t cpu_period_usec;
	uint64_t pids_limit;            /* CSTATD_UNLIMITED for null/0/-1 */

	bool risks_known;               /* HostConfig and Config were present */
	uint32_t risks;                 /* CSTATD_RISK_* */
};

/* Requires Id (64 hex) and State.Status. Labels: null is no labels.
 * `al` may be NULL (no container_label_* at all). */
int dk_parse_inspect(const char *buf, size_t len, const struct dk_allowlist *al,
		     struct dk_inspect *out);

/* "running" → CSTATD_STATE_RUNNING...; "removing" → EXITED; unknown → UNKNOWN. */
enum cstatd_state dk_parse_state(const char *s);
/* "healthy"... ; "none", "" or unknown → CSTATD_HEALTH_NONE. */
enum cstatd_health dk_parse_health(const char *s);

/* RFC 3339 with optional fraction and Z or ±hh:mm → unix seconds.
 * Years before 1970 ("0001-01-01T00:00:00Z": never set) give 0.
 * -EINVAL for anything else. */
int dk_parse_time(const char *s, double *out);

/* ------------------------------------------------------------------ */
/* /events                                                             */
/* ------------------------------------------------------------------ */

enum dk_action {
	DK_EV_OTHER = 0, /* not one cstatd acts on (exec_*, attach, top...) */
	DK_EV_CREATE,
	DK_EV_START,
	DK_EV_RESTART,
	DK_EV_STOP,
	DK_EV_KILL,
	DK_EV_DIE,       /* podman's "died" too */
	DK_EV_OOM,
	DK_EV_PAUSE,
	DK_EV_UNPAUSE,
	DK_EV_DESTROY,   /* podman's "remove" too */
	DK_EV_RENAME,
	DK_EV_UPDATE,
	DK_EV_HEALTH,    /* "health_status: healthy" / podman HealthStatus */
};

struct dk_event {
	bool is_container;          /* Type == "container" */
	enum dk_action action;
	char id[CSTATD_ID_LEN + 1]; /* Actor.ID (legacy "id" as a fallback) */
	char name[CSTATD_NAME_LEN]; /* Attributes.name (the new name on rename) */
	char old_name[CSTATD_NAME_LEN]; /* rename: Attributes.oldName, no '/' */
	bool has_exit_code;         /* die: Attributes.exitCode */
	int64_t exit_code;
	bool oom_killed;            /* podman: Attributes.oomKilled */
	enum cstatd_health health;  /* DK_EV_HEALTH only */
	int64_t time_nano;          /* timeNano, else time * 1e9; 0 if neither */
};

/* One line of /events. Both shapes are accepted: with the legacy top-level
 * status/id/from keys (API < 1.52) and without them (>= 1.52), Docker's and
 * Podman's. A line with no usable Actor id is -EINVAL only for container
 * events; other types parse with is_container = false. */
int dk_parse_event(const char *buf, size_t len, struct dk_event *out);

/* ------------------------------------------------------------------ */
/* /containers/<id>/stats                                              */
/* ------------------------------------------------------------------ */

struct dk_stats {
	/* Only the stats-derived bits of `have` are ever set:
	 * CPU_STAT, CPU_BANDWIDTH, MEM_CURRENT, MEM_MAX, MEM_STAT, WORKING_SET,
	 * IO_STAT, PIDS_CURRENT, PIDS_MAX, NETDEV. */
	struct cstatd_sample s;
	/* Devices and interfaces, when s.have has IO_STAT / NETDEV (s.io and
	 * s.net, a record's lists, stay empty here). */
	struct cstatd_io_stat io;
	struct cstatd_netdev net;
	/* The "empty sample" Docker sends while the container is stopped or
	 * restarting: read is 0001-01-01T00:00:00Z, or the counters are all
	 * zero with no memory figures. s.have is 0 then. Not an error. */
	bool empty;
	double read;                /* unix seconds; 0 for an empty sample */
	char id[CSTATD_ID_LEN + 1]; /* "id" (compat) or "Id" (libpod); may be "" */
};

/*
 * One line of a stats stream (or a stream=false body), cgroup v1 or v2,
 * Docker or Podman. Docker's own formulas (docker/cli stats_helpers.go):
 *   working set = usage - total_inactive_file (v1, when present and smaller)
 *               = usage - inactive_file       (v2, when smaller)
 *               = usage                        otherwise (Podman: already net)
 *   anon (rss)  = v1 total_rss  (else rss),   v2 anon
 *   file (cache)= v1 total_cache (else cache), v2 file
 *   io          = io_service_bytes_recursive ops "read"/"write" matched
 *                 exactly (case-insensitive), summed per major:minor; Podman
 *                 also lists rios/wios/dbytes/dios, which the CLI's
 *                 first-letter rule would add into bytes.
 * CPU times are converted from ns to usec; limits >= 1.8e19 become
 * CSTATD_UNLIMITED. cpu bandwidth is reported only when periods > 0 (Podman
 * and hosts without the cpu controller send all-zero throttling_data).
 * Missing keys are normal: a key that is absent leaves its have bit unset.
 */
int dk_parse_stats(const char *buf, size_t len, struct dk_stats *out);

/* ------------------------------------------------------------------ */
/* /proc/<pid>/cgroup                                                  */
/* ------------------------------------------------------------------ */

/* Finds the cgroup v2 ("0::") line and, when its path names the container
 * `id` (a path component containing the 64-hex id), copies the path up to
 * and including that component, without the leading '/', into out.
 * Returns 0 on success, -ENOENT when there is no 0:: line, or it is "/" or a
 * path without the id (hybrid v1 hosts, PID reuse, a foreign cgroup
 * namespace showing "/.."), -ENAMETOOLONG when it does not fit. */
int dk_parse_proc_cgroup(const char *buf, size_t len, const char *id, char *out,
			 size_t outlen);

/* True for exactly 64 lowercase hex digits: the only ids cstatd puts into
 * a URL. */
bool dk_valid_id(const char *s);

#endif
