/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every setting of cstatd is declared once, in CSTATD_OPTIONS below: its
 * name, value kind, default and help. The command line, --help and (later)
 * the config file are all driven from this table.
 */
#ifndef CSTATD_OPTIONS_H
#define CSTATD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cstatd_opt_kind {
	OPT_STRING,   /* free text */
	OPT_PATH,     /* a filesystem path */
	OPT_LISTEN,   /* [HOST]:PORT */
	OPT_DURATION, /* 500ms, 1s, 1m... */
	OPT_FLAG,     /* boolean switch, no value */
	OPT_LOGLEVEL, /* debug|info|warn|error */
	OPT_STATS,    /* auto|always|never */
	OPT_UINT,     /* a whole number >= minimum (stored as uint64_t) */
};

/* X(field, flag name, metavar, kind, default, minimum (durations: ms; OPT_UINT: the
 * smallest accepted number), help) */
#define CSTATD_OPTIONS(X)                                                                         \
	X(listen, "listen", "ADDR:PORT", OPT_LISTEN, ":9338", 0,                                  \
	  "address and port to serve HTTP on (\":9338\" = all addresses)")                        \
	X(interval, "interval", "DURATION", OPT_DURATION, "1s", 100,                              \
	  "how often to read every container (500ms, 1s, 10s; at least 100ms)")                   \
	X(cgroup_root, "cgroup-root", "PATH", OPT_PATH, "", 0,                                    \
	  "cgroup v2 mount point (default: detect /sys/fs/cgroup or /sys/fs/cgroup/unified)")     \
	X(no_cgroup_root_check, "no-cgroup-root-check", NULL, OPT_FLAG, "", 0,                    \
	  "accept a --cgroup-root that is not a cgroup2 mount (fixture trees in tests)")          \
	X(proc_root, "proc-root", "PATH", OPT_PATH, "/proc", 0,                                   \
	  "procfs mount to read /proc/<pid>/net/dev and /proc/<pid>/cgroup from")                 \
	X(all_cgroups, "all-cgroups", NULL, OPT_FLAG, "", 0,                                      \
	  "also export cgroups that are not containers (like cAdvisor --docker_only=false)")      \
	X(log_level, "log-level", "LEVEL", OPT_LOGLEVEL, "info", 0, "debug, info, warn or error") \
	X(no_docker, "no-docker", NULL, OPT_FLAG, "", 0,                                          \
	  "do not talk to the Docker Engine API (cgroup files only)")                             \
	X(docker_host, "docker-host", "URL", OPT_STRING, "", 0,                                   \
	  "Docker API endpoint (default: $DOCKER_HOST, else unix:///var/run/docker.sock)")        \
	X(docker_stats, "docker-stats", "MODE", OPT_STATS, "auto", 0,                             \
	  "use Docker stats streams: auto (only where cgroup files are not readable), always, "   \
	  "never")                                                                                \
	X(docker_label_allowlist, "docker-label-allowlist", "GLOBS", OPT_STRING,                  \
	  "com.docker.compose.project,com.docker.compose.service", 0,                             \
	  "comma-separated globs of container labels exported as container_label_<key>")          \
	X(docker_tombstone, "docker-tombstone", "DURATION", OPT_DURATION, "1h", 0,                \
	  "how long a removed container's restart counter is kept for a container of the same "   \
	  "name")                                                                                 \
	X(config, "config", "FILE", OPT_PATH, "", 0,                                              \
	  "JSON configuration file: every flag, alert rules, Alertmanager "                       \
	  "(docs/configuration.md)")                                                              \
	X(web_enable_lifecycle, "web.enable-lifecycle", NULL, OPT_FLAG, "", 0,                    \
	  "accept POST /-/reload to reload the configuration file (as SIGHUP does)")               \
	X(web_config_file, "web.config.file", "FILE", OPT_PATH, "", 0,                            \
	  "TLS and basic-auth settings, Prometheus exporter-toolkit YAML format "                 \
	  "(docs/reliability.md)")                                                                \
	X(web_max_connections, "web.max-connections", "N", OPT_UINT, "64", 1,                     \
	  "most HTTP connections open at once; when full, the longest-waiting idle one is closed") \
	X(web_timeout, "web.timeout", "DURATION", OPT_DURATION, "10s", 1000,                      \
	  "an HTTP connection idle this long is closed (slow clients, slowloris)")                \
	X(web_max_header_bytes, "web.max-header-bytes", "BYTES", OPT_UINT, "8192", 1024,          \
	  "largest request line + headers accepted; larger requests get 431")                     \
	X(web_max_url_length, "web.max-url-length", "BYTES", OPT_UINT, "1024", 64,                \
	  "longest request URL accepted; longer ones get 414")                                    \
	X(max_containers, "max-containers", "N", OPT_UINT, "5000", 1,                             \
	  "most containers tracked at once; more are dropped, counted in "                        \
	  "cstatd_containers_dropped_total and logged once")                                      \
	X(max_label_length, "max-label-length", "BYTES", OPT_UINT, "512", 16,                     \
	  "label values longer than this are cut (UTF-8 safe) so one bad name cannot bloat "      \
	  "every scrape")

struct cstatd_options {
	char listen[256];
	uint64_t interval; /* ms */
	char cgroup_root[4096];
	bool no_cgroup_root_check;
	char proc_root[4096];
	bool all_cgroups;
	int log_level; /* enum cstatd_log_level */
	bool no_docker;
	char docker_host[1024];
	int docker_stats; /* 0 auto, 1 always, 2 never */
	char docker_label_allowlist[1024];
	uint64_t docker_tombstone; /* ms */
	char config[4096];
	bool web_enable_lifecycle;
	char web_config_file[4096];
	uint64_t web_max_connections;
	uint64_t web_timeout; /* ms */
	uint64_t web_max_header_bytes;
	uint64_t web_max_url_length;
	uint64_t max_containers;
	uint64_t max_label_length;
	/* Not in the table: the argument of the --health-check action. */
	char health_check_url[1024];
};

enum cstatd_cli_action {
	CSTATD_CLI_RUN = 0,
	CSTATD_CLI_HELP,
	CSTATD_CLI_VERSION,
	CSTATD_CLI_METRICS_DOC,  /* --print-metrics-table: docs/metrics.md table */
	CSTATD_CLI_CONFIG_DOC,   /* --print-config-table: docs/configuration.md table */
	CSTATD_CLI_HEALTH_CHECK, /* --health-check URL: GET it, exit 0 on 2xx, else 1 */
};

/* Fills defaults. */
void cstatd_options_defaults(struct cstatd_options *o);

/* Parses argv over the defaults. Returns 0 and the action, or -EINVAL with a
 * one-line message ("--interval: 'abc' is not a duration ...") in err. */
int cstatd_options_parse(struct cstatd_options *o, int argc, char **argv,
                         enum cstatd_cli_action *action, char *err, size_t err_len);

/* Splits "host:port"; host "" means any address. Returns 0 or -EINVAL. */
int cstatd_parse_listen(const char *s, char *host, size_t host_len, uint16_t *port);

void cstatd_options_usage(FILE *out);

/* For the config file: the kind of option `name` (flag name without "--").
 * Returns 0, or -ENOENT for an unknown name. */
int cstatd_options_kind(const char *name, enum cstatd_opt_kind *kind);

/* For the config file: sets option `name` from its string form (for
 * OPT_FLAG, "true" or "false"). Validates exactly as the command line does;
 * on error returns -EINVAL with a message naming the option in err. */
int cstatd_options_set(struct cstatd_options *o, const char *name, const char *value, char *err,
                       size_t err_len);

#endif
