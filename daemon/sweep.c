/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
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
#include "daemon/sweep.h"

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

	struct cstatd_snapshot *snap = cstatd_snapshot_begin();
	if (!snap) {
		/* Every pooled snapshot is held by a slow client: keep serving
		 * the previous one rather than allocating without bound. */
		cstatd_complain(&pool_complaint, CSTATD_LOG_WARN,
		                "all snapshots are in use by slow clients; skipping publish", NULL);
		return;
	}
	cstatd_complain_release(&pool_complaint, "snapshot pool available again");
	struct render_self self = {.last_sweep_seconds = *last_sweep_seconds, .sweeps = sweeps};
	int rc = renderer_render(p->renderer, p->store, &self, snap);
	if (rc != 0)
		cstatd_complain(&render_complaint, CSTATD_LOG_ERROR, "cannot render metrics",
		                "err=%d", rc);
	else
		cstatd_complain_release(&render_complaint, "rendering works again");
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
