/* SPDX-License-Identifier: Apache-2.0 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cstatd/log.h"
#include "cstatd/stats.h"
#include "exporters/alertmanager/am_push.h"

#define QUEUE_MAX 32
#define MAX_ATTEMPTS 4
#define BACKOFF_START_S 0.5
#define BACKOFF_MAX_S 30.0
#define AM_MAX_URLS 8

struct am_pusher {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	char *queue[QUEUE_MAX]; /* ring of pending bodies */
	unsigned head, count;
	char *urls[AM_MAX_URLS];
	unsigned n_urls;
	long timeout_ms;
	struct cstatd_complaint complaint;
};

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

/* Aborts a transfer in flight when the pusher is stopping, so a hung
 * Alertmanager cannot hold up cstatd's exit. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct am_pusher *p = arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	pthread_mutex_lock(&p->lock);
	bool stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return stop ? 1 : 0;
}

static bool stopping(struct am_pusher *p)
{
	pthread_mutex_lock(&p->lock);
	bool stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

/* One POST to one Alertmanager. Returns 0 on a 2xx answer. */
static int post(struct am_pusher *p, CURL *curl, const char *base, const char *body)
{
	char url[1200];
	snprintf(url, sizeof(url), "%s/api/v2/alerts", base);
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, p->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, p);
	CURLcode rc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK || status < 200 || status > 299) {
		cstatd_complain(&p->complaint, CSTATD_LOG_WARN,
		                "cannot post alerts to Alertmanager",
		                "url=%s err=\"%s\" status=%ld", url,
		                rc != CURLE_OK ? curl_easy_strerror(rc) : "bad status", status);
		return -EIO;
	}
	cstatd_complain_release(&p->complaint, "Alertmanager accepts alerts again");
	return 0;
}

/* Waits up to `seconds` or until stop; returns true when stopping. */
static bool wait_or_stop(struct am_pusher *p, double seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)seconds;
	ts.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	while (!p->stop && pthread_cond_timedwait(&p->cond, &p->lock, &ts) == 0)
		;
	bool stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

static void *push_main(void *arg)
{
	struct am_pusher *p = arg;
	CURL *curl = curl_easy_init();

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (!p->stop && p->count == 0)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		char *body = p->queue[p->head];
		p->queue[p->head] = NULL;
		p->head = (p->head + 1) % QUEUE_MAX;
		p->count--;
		pthread_mutex_unlock(&p->lock);

		/* Each batch gets a few quick tries (0.5 + 1 + 2 s apart), then
		 * is dropped: the engine's re-sends carry newer state anyway. */
		bool ok = false;
		double backoff = BACKOFF_START_S;
		for (int attempt = 0; attempt < MAX_ATTEMPTS && curl; attempt++) {
			int failures = 0;
			for (unsigned i = 0; i < p->n_urls && !stopping(p); i++)
				failures += post(p, curl, p->urls[i], body) != 0;
			if (stopping(p))
				break;
			if (failures == 0) {
				ok = true;
				break;
			}
			if (wait_or_stop(p, backoff))
				break;
			backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
		}
		atomic_fetch_add(
		    ok ? &cstatd_stats.notifications_sent : &cstatd_stats.notifications_dropped, 1);
		free(body);
	}
	if (curl)
		curl_easy_cleanup(curl);
	return NULL;
}

int am_pusher_start(const char *const *urls, unsigned n_urls, double timeout_s,
                    struct am_pusher **out)
{
	/* Our own reference on libcurl's global state, taken on the main
	 * thread: without it the thread's curl_easy_init() relied on the
	 * Docker collector's (no reference of its own when that came first),
	 * whose curl_global_cleanup() at exit then tore libcurl down while this
	 * thread still used it (the pusher stops after the collector). */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	struct am_pusher *p = calloc(1, sizeof(*p));
	if (!p) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->timeout_ms = (long)(timeout_s * 1000);
	for (unsigned i = 0; i < n_urls && i < AM_MAX_URLS; i++) {
		p->urls[i] = strdup(urls[i]);
		if (!p->urls[i])
			goto fail;
		p->n_urls++;
	}
	if (pthread_create(&p->thread, NULL, push_main, p) != 0)
		goto fail;
	*out = p;
	return 0;
fail:
	for (unsigned i = 0; i < p->n_urls; i++)
		free(p->urls[i]);
	free(p);
	curl_global_cleanup();
	return -ENOMEM;
}

void am_pusher_stop(struct am_pusher *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	for (unsigned i = 0; i < QUEUE_MAX; i++)
		free(p->queue[i]);
	for (unsigned i = 0; i < p->n_urls; i++)
		free(p->urls[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
	curl_global_cleanup();
}

void am_pusher_enqueue(struct am_pusher *p, char *body)
{
	pthread_mutex_lock(&p->lock);
	if (p->count == QUEUE_MAX) {
		/* Full: drop the oldest; the engine's re-sends make good. */
		free(p->queue[p->head]);
		p->queue[p->head] = NULL;
		p->head = (p->head + 1) % QUEUE_MAX;
		p->count--;
		atomic_fetch_add(&cstatd_stats.notifications_dropped, 1);
	}
	p->queue[(p->head + p->count) % QUEUE_MAX] = body;
	p->count++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
