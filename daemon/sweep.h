/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sweep thread: every interval (timerfd), read every container through
 * the collectors, merge Docker's view, drop what no source sees any more,
 * render the exposition and publish it as the current snapshot.
 */
#ifndef CSTATD_SWEEP_H
#define CSTATD_SWEEP_H

#include <pthread.h>
#include <stdint.h>

#include "collectors/cgroup/cgroup.h"
#include "collectors/docker/docker.h"
#include "collectors/netdev/netdev.h"
#include "cstatd/store.h"
#include "daemon/alerts.h"
#include "daemon/windows.h"
#include "exporters/alertmanager/am_push.h"
#include "exporters/prometheus/render.h"

struct sweeper;
struct cstatd_config;

/* A validated configuration handed from the main thread (SIGHUP) to the
 * sweep thread, which applies it at the start of its next sweep. */
struct sweeper_reload {
	pthread_mutex_t lock;
	struct cstatd_config *pending; /* owned; NULL when none */
};

struct sweeper_parts {
	struct cstatd_store *store;      /* borrowed */
	struct cg_collector *cgroup;     /* borrowed */
	struct netdev_collector *netdev; /* borrowed */
	struct docker_collector *docker; /* borrowed; NULL when disabled */
	struct renderer *renderer;       /* borrowed */
	/* Alerting (all borrowed; windows NULL disables it). */
	struct cstatd_window_table *windows;
	struct cstatd_alerts *alerts;
	const struct cstatd_host *host;
	struct am_pusher *am; /* NULL: no Alertmanager configured */
	struct cstatd_am_opts am_opts;
	struct sweeper_reload *reload;
	uint64_t interval_ms;
};

/* Starts the thread; the first sweep runs at once. Returns 0 or -errno. */
int sweeper_start(const struct sweeper_parts *parts, struct sweeper **out);
/* Stops and joins the thread (an ongoing sweep finishes first). */
void sweeper_stop(struct sweeper *sw);

/* One sweep, on the caller's thread (used by the thread and by tests).
 * Its duration is stored in *last_sweep_seconds and observed in *sweeps;
 * both are also what this sweep renders (from the previous sweep). */
void sweeper_sweep_once(const struct sweeper_parts *parts, struct sweep_histogram *sweeps,
                        double *last_sweep_seconds);

#endif
