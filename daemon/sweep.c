/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cstatd/log.h"
#include "cstatd/snapshot.h"
#include "daemon/api.h"
#include "daemon/config.h"
#include "daemon/sweep.h"
#include "exporters/prometheus/families.h"

struct sweeper {
	struct sweeper_parts parts;
	pthread_t thread;
	int timer_fd;
	int stop_fd;
	double last_sweep_seconds;
	struct sweep_histogram sweeps;
};

static double now_realtime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Renderer callback: the alert families' samples come from the engine. */
static void write_alert_samples(int fam_id, struct cstatd_buf *b, void *ctx)
{
	const struct cstatd_alerts *eng = ctx;
	if (fam_id == FAM_ALERT_FIRING)
		cstatd_alerts_write_firing(eng, b);
	else if (fam_id == FAM_ALERT_THRESHOLD)
		cstatd_alerts_write_thresholds(eng, b);
}

/* Applies a configuration that the main thread loaded and validated. The
 * engine takes the rules; the window table keeps its history unless the
 * windows changed. */
static void apply_reload(const struct sweeper_parts *p, double now)
{
	if (!p->reload)
		return;
	pthread_mutex_lock(&p->reload->lock);
	struct cstatd_config *next = p->reload->pending;
	p->reload->pending = NULL;
	pthread_mutex_unlock(&p->reload->lock);
	if (!next)
		return;
	if (cstatd_window_table_set_layout(p->windows, &next->layout) == 1)
		log_info("alert windows changed; window history restarts", NULL);
	if (cstatd_alerts_set_rules(p->alerts, &next->rules, now) != 0)
		log_error("out of memory installing the reloaded rules; old rules stay", NULL);
	else
		log_info("configuration reloaded", "rules=%zu", cstatd_alerts_rules(p->alerts)->n);
	cstatd_log_set_level((enum cstatd_log_level)next->options.log_level);
	cstatd_config_free(next);
	free(next);
}

void sweeper_sweep_once(const struct sweeper_parts *p, struct sweep_histogram *sweeps,
                        double *last_sweep_seconds)
{
	static struct cstatd_complaint pool_complaint, render_complaint;
	double t0 = now_monotonic();
	double now = now_realtime();

	cg_collector_sweep(p->cgroup, p->store, now);
	netdev_collector_sweep(p->netdev, p->store);
	if (p->docker) {
		docker_collector_merge(p->docker, p->store, now);
	} else {
		for (size_t i = 0; i < cstatd_store_count(p->store); i++) {
			struct cstatd_container *c = cstatd_store_at(p->store, i);
			c->sources &= ~CSTATD_SRC_DOCKER;
			if (c->s.have & CSTATD_HAVE_MEM_EVENTS)
				c->oom_kills_total = c->s.mem_events.oom_kill;
		}
	}
	cstatd_store_prune(p->store);
	if (p->windows) {
		apply_reload(p, now);
		cstatd_window_table_sweep(p->windows, p->store, now);
		cstatd_alerts_eval(p->alerts, p->store, p->windows, p->host, now);
		if (p->am) {
			json_t *payload = cstatd_alerts_am_payload(p->alerts, now, &p->am_opts);
			if (payload) {
				char *body = json_dumps(payload, JSON_COMPACT);
				json_decref(payload);
				if (body)
					am_pusher_enqueue(p->am, body);
			}
		}
	}

	struct cstatd_snapshot *snap = cstatd_snapshot_begin();
	if (!snap) {
		/* Every pooled snapshot is held by a slow client: keep serving
		 * the previous one rather than allocating without bound. */
		cstatd_complain(&pool_complaint, CSTATD_LOG_WARN,
		                "all snapshots are in use by slow clients; skipping publish", NULL);
		return;
	}
	cstatd_complain_release(&pool_complaint, "snapshot pool available again");
	struct render_self self = {.last_sweep_seconds = *last_sweep_seconds,
	                           .sweeps = sweeps,
	                           .write_samples = p->alerts ? write_alert_samples : NULL,
	                           .write_ctx = p->alerts};
	int rc = renderer_render(p->renderer, p->store, &self, snap);
	if (rc != 0)
		cstatd_complain(&render_complaint, CSTATD_LOG_ERROR, "cannot render metrics",
		                "err=%d", rc);
	else
		cstatd_complain_release(&render_complaint, "rendering works again");
	if (p->alerts)
		cstatd_api_render(snap, p->store, p->windows, p->alerts, p->host);
	snap->sweep_time = now;
	if (snap->has[CSTATD_BODY_TEXT])
		cstatd_snapshot_publish(snap);
	*last_sweep_seconds = now_monotonic() - t0;
	sweep_histogram_observe(sweeps, *last_sweep_seconds);
}

static void *sweep_main(void *arg)
{
	struct sweeper *sw = arg;
	struct pollfd pfd[2] = {{.fd = sw->timer_fd, .events = POLLIN},
	                        {.fd = sw->stop_fd, .events = POLLIN}};

	sweeper_sweep_once(&sw->parts, &sw->sweeps, &sw->last_sweep_seconds);
	log_info("first sweep complete", "containers=%zu seconds=%.4f",
	         cstatd_store_count(sw->parts.store), sw->last_sweep_seconds);
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll failed in sweep thread", "err=\"%s\"", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		uint64_t expirations;
		if (read(sw->timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
			continue;
		sweeper_sweep_once(&sw->parts, &sw->sweeps, &sw->last_sweep_seconds);
	}
	return NULL;
}

int sweeper_start(const struct sweeper_parts *parts, struct sweeper **out)
{
	struct sweeper *sw = calloc(1, sizeof(*sw));
	int rc;
	if (!sw)
		return -ENOMEM;
	sw->parts = *parts;
	sw->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	sw->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (sw->timer_fd < 0 || sw->stop_fd < 0) {
		rc = -errno;
		goto fail;
	}
	struct itimerspec its = {0};
	its.it_interval.tv_sec = (time_t)(parts->interval_ms / 1000);
	its.it_interval.tv_nsec = (long)(parts->interval_ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	if (timerfd_settime(sw->timer_fd, 0, &its, NULL) != 0) {
		rc = -errno;
		goto fail;
	}
	rc = -pthread_create(&sw->thread, NULL, sweep_main, sw);
	if (rc != 0)
		goto fail;
	*out = sw;
	return 0;
fail:
	if (sw->timer_fd >= 0)
		close(sw->timer_fd);
	if (sw->stop_fd >= 0)
		close(sw->stop_fd);
	free(sw);
	return rc;
}

void sweeper_stop(struct sweeper *sw)
{
	if (!sw)
		return;
	uint64_t one = 1;
	if (write(sw->stop_fd, &one, sizeof(one)) < 0)
		log_warn("cannot signal the sweep thread", "err=\"%s\"", strerror(errno));
	pthread_join(sw->thread, NULL);
	close(sw->timer_fd);
	close(sw->stop_fd);
	free(sw);
}
