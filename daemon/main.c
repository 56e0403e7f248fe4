/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cstatd entry point: parse flags, wire collectors → store → exporters, and
 * wait for signals. SIGTERM/SIGINT stop cleanly (exit 0); SIGHUP is logged
 * (configuration reload arrives with the config file).
 *
 * Exit status: 0 clean stop, 1 runtime/setup failure, 2 bad usage.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
#include "daemon/options.h"
#include "daemon/sweep.h"
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

int main(int argc, char **argv)
{
	struct cstatd_options opt;
	enum cstatd_cli_action action;
	char err[512];
	int status = 1;

	cstatd_options_defaults(&opt);
	if (cstatd_options_parse(&opt, argc, argv, &action, err, sizeof(err)) != 0) {
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
	case CSTATD_CLI_RUN:
		break;
	}
	cstatd_log_set_level((enum cstatd_log_level)opt.log_level);

	/* Signals are taken synchronously by this thread only. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct cstatd_fsroot fs;
	if (cstatd_fsroot_init(&fs, opt.cgroup_root[0] ? opt.cgroup_root : NULL, opt.proc_root,
	                       !opt.no_cgroup_root_check, err, sizeof(err)) != 0) {
		fprintf(stderr, "cstatd: --cgroup-root %s\n", err);
		return 1;
	}
	raise_nofile();
	cstatd_devnames_init(fs.sys_root);

	struct cstatd_store *store = cstatd_store_new();
	struct renderer *renderer = renderer_new();
	struct cg_collector *cg = NULL;
	struct netdev_collector *nd = NULL;
	struct docker_collector *dc = NULL;
	struct http_server *http = NULL;
	struct sweeper *sweeper = NULL;
	int rc;

	if (!store || !renderer || cg_collector_new(&fs, opt.all_cgroups, &cg) != 0 ||
	    netdev_collector_new(&fs, &nd) != 0) {
		log_error("out of memory at start", NULL);
		goto out;
	}
	rc = http_server_start(opt.listen, &http, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "cstatd: --listen: %s\n", err);
		log_error("cannot serve HTTP", "listen=%s err=\"%s\"", opt.listen, err);
		goto out;
	}
	if (!opt.no_docker) {
		struct docker_config dcfg = {
		    .host = docker_host_default(&opt),
		    .stats_mode = opt.docker_stats,
		    .label_allowlist = opt.docker_label_allowlist,
		    .tombstone_seconds = (double)opt.docker_tombstone / 1000.0,
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

	struct sweeper_parts parts = {.store = store,
	                              .cgroup = cg,
	                              .netdev = nd,
	                              .docker = dc,
	                              .renderer = renderer,
	                              .interval_ms = opt.interval};
	rc = sweeper_start(&parts, &sweeper);
	if (rc != 0) {
		log_error("cannot start the sweep thread", "err=%d", rc);
		goto out;
	}
	if (geteuid() == 0)
		log_info(
		    "running as root; cstatd needs only read access to cgroupfs, /proc and the "
		    "Docker socket (see docs)",
		    NULL);
	log_info("cstatd started", "version=%s listen=%s interval_ms=%llu cgroup_root=%s docker=%s",
	         CSTATD_VERSION, opt.listen, (unsigned long long)opt.interval, fs.cgroup_root,
	         opt.no_docker ? "off" : docker_host_default(&opt));

	for (;;) {
		int sig;
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP received; nothing to reload without a config file", NULL);
			continue;
		}
		log_info("stopping", "signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	status = 0;
out:
	/* Order: stop serving, stop producing, then free what they used. */
	http_server_stop(http);
	sweeper_stop(sweeper);
	docker_collector_stop(dc);
	netdev_collector_free(nd);
	cg_collector_free(cg);
	renderer_free(renderer);
	cstatd_store_free(store);
	cstatd_snapshot_shutdown();
	cstatd_devnames_free();
	cstatd_fsroot_close(&fs);
	return status;
}
