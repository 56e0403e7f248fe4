/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cstatd entry point: parse flags and the config file, wire collectors →
 * store → exporters, and wait for signals. SIGTERM/SIGINT stop cleanly
 * (exit 0); SIGHUP reloads the config file (validated completely first;
 * on any error the running configuration stays).
 *
 * `cstatd rules export [FLAGS]` prints the alert rules in force as a
 * Prometheus alerting-rules file.
 *
 * Exit status: 0 clean stop, 1 runtime/setup failure or bad config file,
 * 2 bad usage.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "collectors/cgroup/cgroup.h"
#include "collectors/docker/docker.h"
#include "collectors/netdev/netdev.h"
#include "cstatd/devnames.h"
#include "cstatd/fsroot.h"
#include "cstatd/log.h"
#include "cstatd/snapshot.h"
#include "cstatd/stats.h"
#include "cstatd/store.h"
#include "daemon/alerts.h"
#include "daemon/config.h"
#include "daemon/healthcheck.h"
#include "daemon/options.h"
#include "daemon/rules.h"
#include "daemon/sdnotify.h"
#include "daemon/signals.h"
#include "daemon/sweep.h"
#include "daemon/windows.h"
#include "exporters/alertmanager/am_push.h"
#include "exporters/http/http.h"
#include "exporters/prometheus/families.h"
#include "exporters/prometheus/render.h"

/* Every kept-open cgroup file is an fd (about 19 per container): raise the
 * soft limit to the hard one so thousands of containers fit. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("cannot raise the open-files limit", "err=\"%s\"", strerror(errno));
}

static const char *docker_host_default(const struct cstatd_options *o)
{
	if (o->docker_host[0])
		return o->docker_host;
	const char *env = getenv("DOCKER_HOST");
	return env && *env ? env : "unix:///var/run/docker.sock";
}

static double now_unix(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void record_reload(bool ok)
{
	atomic_store(&cstatd_stats.config_reload_ok, ok ? 1 : 0);
	if (ok)
		atomic_store(&cstatd_stats.config_reload_ok_ms, (uint64_t)(now_unix() * 1000));
}

/* `cstatd rules export [FLAGS]`: the rules of the config (or the defaults)
 * as Prometheus alerting rules over the series cstatd exports. */
static int rules_export(int argc, char **argv)
{
	struct cstatd_options opt;
	enum cstatd_cli_action action;
	struct cstatd_config cfg;
	struct cstatd_host host;
	char err[512];

	cstatd_options_defaults(&opt);
	if (cstatd_options_parse(&opt, argc, argv, &action, err, sizeof(err)) != 0) {
		fprintf(stderr, "cstatd: %s\n", err);
		return 2;
	}
	if (cstatd_config_load(opt.config[0] ? opt.config : NULL, argc, argv, &cfg, err,
	                       sizeof(err)) != 0) {
		fprintf(stderr, "cstatd: %s\n", err);
		return 1;
	}
	cstatd_host_detect(&host);
	int rc = cstatd_rules_export_yaml(&cfg.rules, &host, stdout) == 0 ? 0 : 1;
	cstatd_config_free(&cfg);
	return rc;
}

/* SIGHUP: load and validate the file into a fresh config; hand it to the
 * sweep thread only when all of it is good. Returns 0, or -1 with the
 * error in `why` (POST /-/reload answers it). */
static int reload(const char *path, int argc, char **argv, struct sweeper_reload *rl,
                  const struct cstatd_config *running, char *why, size_t why_len)
{
	char err[512], restart[512];
	struct cstatd_config *next = calloc(1, sizeof(*next));

	if (!next) {
		record_reload(false);
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	if (cstatd_config_load(path[0] ? path : NULL, argc, argv, next, err, sizeof(err)) != 0) {
		log_error("configuration reload failed; keeping the running configuration",
		          "err=\"%s\"", err);
		free(next);
		record_reload(false);
		snprintf(why, why_len, "%s", err);
		return -1;
	}
	/* The pusher is started once; its settings need a restart. */
	if (memcmp(&running->alertmanager, &next->alertmanager, sizeof(next->alertmanager)) != 0)
		log_warn("alertmanager settings changed; they take effect after a restart", NULL);
	if (cstatd_config_restart_needed(running, next, restart, sizeof(restart)) > 0)
		log_warn("reloaded options that take effect only after a restart", "options=\"%s\"",
		         restart);
	pthread_mutex_lock(&rl->lock);
	if (rl->pending) {
		cstatd_config_free(rl->pending);
		free(rl->pending);
	}
	rl->pending = next;
	pthread_mutex_unlock(&rl->lock);
	record_reload(true);
	return 0;
}

/* SIGHUP (main thread) and POST /-/reload (HTTP thread) reload the same
 * way, one at a time. */
struct reload_ctx {
	pthread_mutex_t lock;
	const char *path;
	int argc;
	char **argv;
	struct sweeper_reload *rl;
	const struct cstatd_config *running;
};

static int reload_locked(struct reload_ctx *ctx, char *why, size_t why_len)
{
	pthread_mutex_lock(&ctx->lock);
	int rc = reload(ctx->path, ctx->argc, ctx->argv, ctx->rl, ctx->running, why, why_len);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

/* POST /-/reload with --web.enable-lifecycle: synchronous, so the answer
 * is 200 or 500 with the error, as Prometheus answers. */
static int http_reload(void *arg, char *why, size_t why_len)
{
	struct reload_ctx *ctx = arg;
	log_info("POST /-/reload received; reloading the configuration", "file=%s",
	         ctx->running->path[0] ? ctx->running->path : "(none)");
	return reload_locked(ctx, why, why_len);
}

/* sigwait() with a timeout in seconds (< 0: none). Returns 0 and the signal,
 * or -1 when the time ran out (or the wait was interrupted). */
static int wait_signal(const sigset_t *sigs, double timeout_s, int *sig)
{
	if (timeout_s < 0)
		return sigwait(sigs, sig) == 0 ? 0 : -1;
	struct timespec ts = {.tv_sec = (time_t)timeout_s,
	                      .tv_nsec = (long)((timeout_s - (double)(time_t)timeout_s) * 1e9)};
	int rc = sigtimedwait(sigs, NULL, &ts);
	if (rc < 0)
		return -1;
	*sig = rc;
	return 0;
}

int main(int argc, char **argv)
{
	struct cstatd_options cli;
	enum cstatd_cli_action action;
	char err[512];
	int status = 1;

	if (argc >= 3 && strcmp(argv[1], "rules") == 0 && strcmp(argv[2], "export") == 0)
		return rules_export(argc - 2, argv + 2);
#ifdef M_MMAP_THRESHOLD
	/* Exposition bodies (hundreds of KB to MB) get their own mappings, so
	 * that a freed one goes back to the kernel. glibc would otherwise raise
	 * this threshold after the first such free and serve the next ones
	 * from the heap, where freed memory stays resident. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif

	cstatd_options_defaults(&cli);
	if (cstatd_options_parse(&cli, argc, argv, &action, err, sizeof(err)) != 0) {
		fprintf(stderr, "cstatd: %s\n", err);
		return 2;
	}
	switch (action) {
	case CSTATD_CLI_HELP:
		cstatd_options_usage(stdout);
		return 0;
	case CSTATD_CLI_VERSION:
		printf("cstatd %s (revision %s)\n", CSTATD_VERSION, CSTATD_REVISION);
		return 0;
	case CSTATD_CLI_METRICS_DOC:
		cstatd_families_print_markdown(stdout);
		return 0;
	case CSTATD_CLI_CONFIG_DOC:
		cstatd_config_print_markdown(stdout);
		return 0;
	case CSTATD_CLI_HEALTH_CHECK:
		return cstatd_health_check(cli.health_check_url);
	case CSTATD_CLI_RUN:
		break;
	}

	/* Signals are taken synchronously by this thread only, and blocked as
	 * early as the daemon path allows: a SIGTERM that arrives while the
	 * config is read is then held and acted on, not a default kill. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The file first, then the flags over it; everything validated. */
	struct cstatd_config cfg;
	if (cstatd_config_load(cli.config[0] ? cli.config : NULL, argc, argv, &cfg, err,
	                       sizeof(err)) != 0) {
		fprintf(stderr, "cstatd: %s\n", err);
		return 1;
	}
	record_reload(true);
	const struct cstatd_options *opt = &cfg.options;
	cstatd_log_set_level((enum cstatd_log_level)opt->log_level);

	/* systemd Type=notify: reads $NOTIFY_SOCKET/$WATCHDOG_USEC, so before
	 * any thread starts. A no-op outside systemd. */
	sdnotify_init();

	struct cstatd_fsroot fs;
	if (cstatd_fsroot_init(&fs, opt->cgroup_root[0] ? opt->cgroup_root : NULL, opt->proc_root,
	                       !opt->no_cgroup_root_check, err, sizeof(err)) != 0) {
		fprintf(stderr, "cstatd: --cgroup-root %s\n", err);
		cstatd_config_free(&cfg);
		return 1;
	}
	raise_nofile();
	cstatd_fd_budget_init();
	cstatd_devnames_init(fs.sys_root);

	struct cstatd_host host;
	cstatd_host_detect(&host);
	struct sweeper_reload rl = {.lock = PTHREAD_MUTEX_INITIALIZER, .pending = NULL};
	struct cstatd_store *store = cstatd_store_new();
	struct renderer *renderer = renderer_new();
	struct cg_collector *cg = NULL;
	struct netdev_collector *nd = NULL;
	struct docker_collector *dc = NULL;
	struct cstatd_window_table *wt = NULL;
	struct cstatd_alerts *eng = NULL;
	struct am_pusher *am = NULL;
	struct http_server *http = NULL;
	struct sweeper *sweeper = NULL;
	int rc;

	/* Cardinality guards (issue #7): the store refuses containers past
	 * --max-containers; label values are cut once, when stored. */
	if (store)
		cstatd_store_set_limits(store, (size_t)opt->max_containers,
		                        (size_t)opt->max_label_length);
	if (!store || !renderer || cg_collector_new(&fs, opt->all_cgroups, &cg) != 0 ||
	    netdev_collector_new(&fs, &nd) != 0 || cstatd_window_table_new(&cfg.layout, &wt) != 0 ||
	    cstatd_alerts_new(&eng) != 0 ||
	    cstatd_alerts_set_rules(eng, &cfg.rules, now_unix()) != 0) {
		log_error("out of memory at start", NULL);
		goto out;
	}
	/* Read before the threads start: from then on the engine belongs to the
	 * sweep thread (a reload replaces its rules there; ThreadSanitizer). */
	const size_t n_rules_at_start = cstatd_alerts_rules(eng)->n;
	if (cfg.alertmanager.n_urls > 0) {
		const char *urls[CSTATD_AM_MAX_URLS];
		for (unsigned i = 0; i < cfg.alertmanager.n_urls; i++)
			urls[i] = cfg.alertmanager.urls[i];
		if (am_pusher_start(urls, cfg.alertmanager.n_urls,
		                    (double)cfg.alertmanager.timeout_ms / 1000.0, &am) != 0) {
			log_error("cannot start the Alertmanager pusher", NULL);
			goto out;
		}
	}
	struct reload_ctx reload_ctx = {.lock = PTHREAD_MUTEX_INITIALIZER,
	                                .path = cli.config,
	                                .argc = argc,
	                                .argv = argv,
	                                .rl = &rl,
	                                .running = &cfg};
	struct http_server_config hcfg;
	http_server_config_defaults(&hcfg);
	hcfg.listen = opt->listen;
	hcfg.reload = opt->web_enable_lifecycle ? http_reload : NULL;
	hcfg.reload_ctx = &reload_ctx;
	hcfg.max_connections = opt->web_max_connections;
	hcfg.timeout_ms = opt->web_timeout;
	hcfg.max_header_bytes = opt->web_max_header_bytes;
	hcfg.max_url_length = opt->web_max_url_length;
	hcfg.web_config_file = opt->web_config_file;
	rc = http_server_start(&hcfg, &http, err, sizeof(err));
	if (rc != 0) {
		/* One line: a bad --web.config.file or --listen names itself. */
		fprintf(stderr, "cstatd: %s\n", err);
		goto out;
	}
	if (!opt->no_docker) {
		struct docker_config dcfg = {
		    .host = docker_host_default(opt),
		    .stats_mode = opt->docker_stats,
		    .label_allowlist = opt->docker_label_allowlist,
		    .tombstone_seconds = (double)opt->docker_tombstone / 1000.0,
		    .proc_root = fs.proc_root,
		};
		atomic_store(&cstatd_stats.docker_enabled, 1);
		rc = docker_collector_start(&dcfg, &dc);
		if (rc != 0) {
			log_error(
			    "cannot start the Docker collector; continuing with cgroup files only",
			    "err=%d", rc);
			dc = NULL;
		}
	}

	/* generatorURL of pushed alerts: cstatd's own /alerts. */
	char generator[300];
	snprintf(generator, sizeof(generator), "http://%s%s/alerts",
	         opt->listen[0] == ':' ? "localhost" : "", opt->listen);
	struct sweeper_parts parts = {
	    .store = store,
	    .cgroup = cg,
	    .netdev = nd,
	    .docker = dc,
	    .renderer = renderer,
	    .interval_ms = opt->interval,
	    .windows = wt,
	    .alerts = eng,
	    .host = &host,
	    .am = am,
	    .am_opts = {.resend_s = (double)cfg.alertmanager.resend_ms / 1000.0,
	                .interval_s = (double)opt->interval / 1000.0,
	                .generator_url = generator},
	    .reload = &rl,
	};
	rc = sweeper_start(&parts, &sweeper);
	if (rc != 0) {
		log_error("cannot start the sweep thread", "err=%d", rc);
		goto out;
	}
	/* Least privilege: nothing here needs root (docs/reliability.md lists
	 * the one difference), so say so once. */
	if (geteuid() == 0)
		log_warn("running as root; cstatd needs only read access: run it as a dedicated "
		         "user in the docker group (docs/deploy.md)",
		         NULL);
	log_info("cstatd started",
	         "version=%s listen=%s interval_ms=%llu cgroup_root=%s docker=%s rules=%zu",
	         CSTATD_VERSION, opt->listen, (unsigned long long)opt->interval, fs.cgroup_root,
	         opt->no_docker ? "off" : docker_host_default(opt), n_rules_at_start);

	for (;;) {
		int sig;
		/* Between signals: READY=1 after the first sweep, WATCHDOG=1 while
		 * sweeps keep coming (no-op without $NOTIFY_SOCKET). */
		double wait_s = sdnotify_service_tick((double)cfg.options.interval / 1000.0);
		if (wait_signal(&sigs, wait_s, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP received; reloading the configuration", "file=%s",
			         cfg.path[0] ? cfg.path : "(none)");
			char why[512];
			sdnotify_reload_begin();
			reload_locked(&reload_ctx, why, sizeof(why));
			sdnotify_reload_end();
			continue;
		}
		log_info("stopping", "signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		sdnotify_send("STOPPING=1");
		break;
	}
	status = 0;
out:
	/* Order: stop serving, stop producing, then free what they used. */
	http_server_stop(http);
	sweeper_stop(sweeper);
	docker_collector_stop(dc);
	am_pusher_stop(am);
	cstatd_alerts_free(eng);
	cstatd_window_table_free(wt);
	netdev_collector_free(nd);
	cg_collector_free(cg);
	renderer_free(renderer);
	render_derive_shutdown();
	cstatd_store_free(store);
	cstatd_snapshot_shutdown();
	cstatd_devnames_free();
	cstatd_fsroot_close(&fs);
	if (rl.pending) {
		cstatd_config_free(rl.pending);
		free(rl.pending);
	}
	cstatd_config_free(&cfg);
	return status;
}
