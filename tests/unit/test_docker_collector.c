/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for collectors/docker/docker.c: the curl loop and the merge,
 * against a small fake Engine API on a unix socket that serves recorded
 * bodies from tests/fixtures/docker (the real-dockerd tests live in
 * tests/integration). It can do what a real daemon does not do on demand:
 * send garbage or over-long stream lines, drop the events stream, vanish.
 *
 * The fake answers every request with "Connection: close" and no length,
 * so each body (and each stream) ends when the connection does.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "collectors/docker/docker.h"
#include "cstatd/stats.h"
#include "cstatd/store.h"

#define FIXTURE_DIR CSTATD_FIXTURES "/docker/"
#define WEB_ID "f9270499627a254876913d1a96b1012a45019b5ad13b08b30d189e19aff0e5bd"

enum stats_behaviour { STATS_NORMAL, STATS_GARBAGE_FIRST, STATS_HUGE_LINE };

struct fake {
	char dir[64];
	char sock[128];
	int lfd;
	pthread_t acceptor;
	_Atomic bool stop;
	_Atomic int active; /* handler threads alive */

	pthread_mutex_t mu;
	char *list_body;
	char *inspect_body;
	char *stats_lines[8];
	size_t n_stats_lines;
	bool container_gone;        /* inspect → 404, list → [] */
	enum stats_behaviour stats;
	char *events[32];
	size_t n_events;
	unsigned events_epoch;      /* bump to make the events stream end */
	int events_conns, stats_conns, inspects;
};

static struct fake fk;

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static char *slurp(const char *rel)
{
	char path[512];
	FILE *f;
	char *buf;
	size_t n;

	snprintf(path, sizeof(path), "%s%s", FIXTURE_DIR, rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static bool respond_head(int fd, int status, const char *extra)
{
	char h[512];

	snprintf(h, sizeof(h),
		 "HTTP/1.1 %d %s\r\nApi-Version: 1.41\r\nServer: Docker/20.10.24+dfsg1 (linux)\r\n"
		 "Content-Type: application/json\r\n%sConnection: close\r\n\r\n",
		 status, status == 200 ? "OK" : "Not Found", extra ? extra : "");
	return write_all(fd, h, strlen(h));
}

static void serve_events(int fd)
{
	size_t sent = 0;
	unsigned epoch;

	pthread_mutex_lock(&fk.mu);
	fk.events_conns++;
	epoch = fk.events_epoch;
	/* Like dockerd without `since`: only events from now on. */
	sent = fk.n_events;
	pthread_mutex_unlock(&fk.mu);
	if (!respond_head(fd, 200, NULL))
		return;
	while (!atomic_load(&fk.stop)) {
		pthread_mutex_lock(&fk.mu);
		if (fk.events_epoch != epoch) {
			pthread_mutex_unlock(&fk.mu);
			return; /* the daemon "restarted": stream ends */
		}
		while (sent < fk.n_events) {
			char *l = fk.events[sent++];

			pthread_mutex_unlock(&fk.mu);
			if (!write_all(fd, l, strlen(l)) || !write_all(fd, "\n", 1))
				return;
			pthread_mutex_lock(&fk.mu);
		}
		pthread_mutex_unlock(&fk.mu);
		nap_ms(20);
	}
}

static void serve_stats(int fd)
{
	enum stats_behaviour b;
	size_t i = 0;

	pthread_mutex_lock(&fk.mu);
	fk.stats_conns++;
	b = fk.stats;
	pthread_mutex_unlock(&fk.mu);
	if (!respond_head(fd, 200, NULL))
		return;
	if (b == STATS_GARBAGE_FIRST && !write_all(fd, "{\"read\":garbage\n", 16))
		return;
	if (b == STATS_HUGE_LINE) {
		/* 2 MiB without a newline: over the 1 MiB line cap. */
		static char junk[65536];

		memset(junk, 'x', sizeof(junk));
		for (i = 0; i < 32; i++)
			if (!write_all(fd, junk, sizeof(junk)))
				return;
		nap_ms(500);
		return;
	}
	while (!atomic_load(&fk.stop)) {
		const char *l = fk.stats_lines[i++ % fk.n_stats_lines];

		if (!write_all(fd, l, strlen(l)) || !write_all(fd, "\n", 1))
			return;
		nap_ms(100);
	}
}

static void *handle_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char req[8192];
	size_t n = 0;
	char path[1024];

	while (n < sizeof(req) - 1) {
		ssize_t r = recv(fd, req + n, sizeof(req) - 1 - n, 0);

		if (r <= 0)
			goto out;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	if (sscanf(req, "GET %1023s ", path) != 1)
		goto out;

	if (strcmp(path, "/_ping") == 0) {
		if (respond_head(fd, 200, NULL))
			write_all(fd, "OK", 2);
	} else if (strncmp(path, "/v1.41/events", 13) == 0) {
		serve_events(fd);
	} else if (strcmp(path, "/v1.41/containers/json?all=1") == 0) {
		pthread_mutex_lock(&fk.mu);
		if (respond_head(fd, 200, NULL)) {
			const char *b = fk.container_gone ? "[]" : fk.list_body;

			write_all(fd, b, strlen(b));
		}
		pthread_mutex_unlock(&fk.mu);
	} else if (strcmp(path, "/v1.41/containers/" WEB_ID "/json") == 0) {
		pthread_mutex_lock(&fk.mu);
		fk.inspects++;
		if (fk.container_gone) {
			if (respond_head(fd, 404, NULL))
				write_all(fd, "{\"message\":\"No such container\"}", 31);
		} else if (respond_head(fd, 200, NULL)) {
			write_all(fd, fk.inspect_body, strlen(fk.inspect_body));
		}
		pthread_mutex_unlock(&fk.mu);
	} else if (strcmp(path, "/v1.41/containers/" WEB_ID "/stats?stream=1") == 0) {
		serve_stats(fd);
	} else {
		if (respond_head(fd, 404, NULL))
			write_all(fd, "{\"message\":\"page not found\"}", 29);
	}
out:
	close(fd);
	atomic_fetch_sub(&fk.active, 1);
	return NULL;
}

static void *acceptor(void *arg)
{
	(void)arg;
	while (!atomic_load(&fk.stop)) {
		pthread_t t;
		int fd = accept(fk.lfd, NULL, NULL);

		if (fd < 0) {
			if (atomic_load(&fk.stop))
				break;
			nap_ms(5);
			continue;
		}
		atomic_fetch_add(&fk.active, 1);
		if (pthread_create(&t, NULL, handle_conn, (void *)(intptr_t)fd) != 0) {
			close(fd);
			atomic_fetch_sub(&fk.active, 1);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static void fake_listen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	fk.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fk.lfd >= 0);
	assert_true(strlen(fk.sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, fk.sock, strlen(fk.sock) + 1);
	unlink(fk.sock);
	assert_int_equal(bind(fk.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk.lfd, 64), 0);
	atomic_store(&fk.stop, false);
	assert_int_equal(pthread_create(&fk.acceptor, NULL, acceptor, NULL), 0);
}

/* The daemon goes away: listener closed, every connection dropped. */
static void fake_vanish(void)
{
	atomic_store(&fk.stop, true);
	shutdown(fk.lfd, SHUT_RDWR);
	close(fk.lfd);
	pthread_join(fk.acceptor, NULL);
	while (atomic_load(&fk.active) > 0)
		nap_ms(10);
	unlink(fk.sock);
}

static void push_event(const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&fk.mu);
	assert_true(fk.n_events < 32);
	fk.events[fk.n_events++] = strdup(line);
	pthread_mutex_unlock(&fk.mu);
}

static int setup(void **state)
{
	char path[256];
	char *stats;
	char *line, *save = NULL;
	FILE *f;

	(void)state;
	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&fk.mu, NULL);
	snprintf(fk.dir, sizeof(fk.dir), "/tmp/cstatd-dkfake-XXXXXX");
	assert_non_null(mkdtemp(fk.dir));
	snprintf(fk.sock, sizeof(fk.sock), "%s/docker.sock", fk.dir);
	fk.list_body = slurp("list-docker20.json");
	fk.inspect_body = slurp("inspect-web-docker20.json");
	stats = slurp("stats-v1-stream-web.jsonl");
	for (line = strtok_r(stats, "\n", &save); line && fk.n_stats_lines < 8;
	     line = strtok_r(NULL, "\n", &save))
		fk.stats_lines[fk.n_stats_lines++] = strdup(line);
	free(stats);
	/* A /proc with the web container's init (pid 4605 in the fixture). */
	snprintf(path, sizeof(path), "%s/4605", fk.dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/4605/cgroup", fk.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "1:name=systemd:/docker/%s\n0::/system.slice/docker-%s.scope\n", WEB_ID, WEB_ID);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	char path[256];
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/4605/cgroup", fk.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/4605", fk.dir);
	rmdir(path);
	unlink(fk.sock);
	rmdir(fk.dir);
	free(fk.list_body);
	free(fk.inspect_body);
	for (i = 0; i < fk.n_stats_lines; i++)
		free(fk.stats_lines[i]);
	for (i = 0; i < fk.n_events; i++)
		free(fk.events[i]);
	pthread_mutex_destroy(&fk.mu);
	return 0;
}

static uint64_t err_count(enum cstatd_error_source s)
{
	return atomic_load(&cstatd_stats.errors[s]);
}

/* Merges every 50 ms until cond() holds or `seconds` pass. */
static bool merge_until(struct docker_collector *dc, struct cstatd_store *st,
			bool (*cond)(struct cstatd_store *), double seconds)
{
	double end = now_mono() + seconds;

	do {
		size_t i;

		/* What the sweep does around the merge: sources are per sweep. */
		for (i = 0; i < cstatd_store_count(st); i++)
			cstatd_store_at(st, i)->sources &= ~CSTATD_SRC_CGROUP;
		docker_collector_merge(dc, st, (double)time(NULL));
		cstatd_store_prune(st);
		if (cond(st))
			return true;
		nap_ms(50);
	} while (now_mono() < end);
	return false;
}

static struct cstatd_container *web(struct cstatd_store *st)
{
	return cstatd_store_get(st, WEB_ID);
}

static bool web_has_stream_numbers(struct cstatd_store *st)
{
	struct cstatd_container *c = web(st);

	return c && (c->s.have & CSTATD_HAVE_CPU_STAT) && (c->s.have & CSTATD_HAVE_MEM_CURRENT);
}

static bool web_restarted_once(struct cstatd_store *st)
{
	struct cstatd_container *c = web(st);

	return c && c->docker.restarts_total == 1 && c->docker.has_exit_code;
}

static bool web_gone(struct cstatd_store *st)
{
	return web(st) == NULL;
}

static bool web_known(struct cstatd_store *st)
{
	struct cstatd_container *c = web(st);

	return c && c->docker.known && (c->sources & CSTATD_SRC_DOCKER);
}

static struct docker_collector *start_collector(int mode)
{
	char host[160];
	struct docker_config cfg = {
		.host = host,
		.stats_mode = mode,
		.label_allowlist = "com.docker.compose.*",
		.tombstone_seconds = 3600,
		.proc_root = fk.dir,
	};
	struct docker_collector *dc = NULL;

	snprintf(host, sizeof(host), "unix://%s", fk.sock);
	assert_int_equal(docker_collector_start(&cfg, &dc), 0);
	assert_non_null(dc);
	return dc;
}

static double timed_stop(struct docker_collector *dc)
{
	double t0 = now_mono();

	docker_collector_stop(dc);
	return now_mono() - t0;
}

/* ------------------------------------------------------------------------ */

static void test_identity_stream_and_lifecycle(void **state)
{
	struct cstatd_store *st = cstatd_store_new();
	struct docker_collector *dc;
	struct cstatd_container *c;
	uint64_t json0 = err_count(CSTATD_ERR_DOCKER_JSON);
	double took;

	(void)state;
	fk.stats = STATS_GARBAGE_FIRST;
	fake_listen();
	dc = start_collector(DOCKER_STATS_AUTO);

	/* Identity from list + inspect; numbers from the stream, opened
	 * because the record has no cgroup data (AUTO). */
	assert_true(merge_until(dc, st, web_has_stream_numbers, 10));
	c = web(st);
	assert_string_equal(c->name, "web");
	assert_string_equal(c->image, "busybox:local");
	assert_string_equal(c->runtime, "docker");
	assert_true(c->is_container);
	assert_true(c->sources & CSTATD_SRC_DOCKER);
	assert_true(c->docker.known);
	assert_int_equal(c->docker.state, CSTATD_STATE_RUNNING);
	assert_int_equal(c->docker.health, CSTATD_HEALTH_HEALTHY);
	assert_int_equal(c->docker.n_labels, 2);
	assert_string_equal(c->docker.compose_project, "shop");
	assert_true(c->start_time > 1795606809.0 && c->start_time < 1795606810.0);
	/* limits from inspect; pids limit as the stream saw it */
	assert_int_equal(c->s.mem_max, 67108864);
	assert_int_equal(c->s.pids_max, 100);
	assert_true(c->s.cpu.usage_usec >= 81920 && c->s.cpu.usage_usec <= 99572);
	assert_false(c->s.have & CSTATD_HAVE_NETDEV); /* --network none */
	/* /proc/4605/cgroup named the container's scope: handed as a hint */
	assert_string_equal(c->cgroup_hint, "system.slice/docker-" WEB_ID ".scope");
	/* the garbage first line was counted, the stream went on */
	assert_true(err_count(CSTATD_ERR_DOCKER_JSON) >= json0 + 1);
	assert_int_equal(atomic_load(&cstatd_stats.docker_up), 1);

	/* die (137) → start: a restart, and the last exit code. */
	push_event("{\"status\":\"die\",\"id\":\"%s\",\"Type\":\"container\",\"Action\":\"die\","
		   "\"Actor\":{\"ID\":\"%s\",\"Attributes\":{\"exitCode\":\"137\",\"name\":\"web\"}},"
		   "\"time\":1795606900,\"timeNano\":1795606900000000001}",
		   WEB_ID, WEB_ID);
	push_event("{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"%s\","
		   "\"Attributes\":{\"name\":\"web\"}},\"time\":1795606901,"
		   "\"timeNano\":1795606901000000001}",
		   WEB_ID);
	assert_true(merge_until(dc, st, web_restarted_once, 10));
	assert_int_equal(web(st)->docker.last_exit_code, 137);

	/* destroy: the record leaves the store at the next merge. */
	pthread_mutex_lock(&fk.mu);
	fk.container_gone = true;
	pthread_mutex_unlock(&fk.mu);
	push_event("{\"Type\":\"container\",\"Action\":\"destroy\",\"Actor\":{\"ID\":\"%s\","
		   "\"Attributes\":{\"name\":\"web\"}},\"time\":1795606902,"
		   "\"timeNano\":1795606902000000001}",
		   WEB_ID);
	assert_true(merge_until(dc, st, web_gone, 5));

	took = timed_stop(dc);
	if (took > 1.0)
		fail_msg("docker_collector_stop took %.3f s", took);
	fake_vanish();
	cstatd_store_free(st);
}

static void test_over_cap_line_and_reconnect(void **state)
{
	struct cstatd_store *st = cstatd_store_new();
	struct docker_collector *dc;
	uint64_t json0 = err_count(CSTATD_ERR_DOCKER_JSON);
	uint64_t rec0 = err_count(CSTATD_ERR_DOCKER_RECONNECT);
	double end;
	int conns;

	(void)state;
	pthread_mutex_lock(&fk.mu);
	fk.container_gone = false;
	fk.stats = STATS_HUGE_LINE;
	fk.stats_conns = 0;
	fk.events_conns = 0;
	pthread_mutex_unlock(&fk.mu);
	fake_listen();
	dc = start_collector(DOCKER_STATS_ALWAYS);
	assert_true(merge_until(dc, st, web_known, 10));

	/* The 2 MiB line aborts the transfer (a docker_json error) and the
	 * stream is opened again after its backoff. */
	end = now_mono() + 10;
	do {
		docker_collector_merge(dc, st, (double)time(NULL));
		pthread_mutex_lock(&fk.mu);
		conns = fk.stats_conns;
		pthread_mutex_unlock(&fk.mu);
		nap_ms(50);
	} while (conns < 2 && now_mono() < end);
	assert_true(conns >= 2);
	assert_true(err_count(CSTATD_ERR_DOCKER_JSON) >= json0 + 1);
	assert_true(err_count(CSTATD_ERR_DOCKER_RECONNECT) >= rec0 + 1);

	/* The events stream ends (daemon restart): the collector connects
	 * again, re-lists, and counts one reconnection. */
	pthread_mutex_lock(&fk.mu);
	fk.stats = STATS_NORMAL;
	fk.events_epoch++;
	pthread_mutex_unlock(&fk.mu);
	end = now_mono() + 10;
	do {
		docker_collector_merge(dc, st, (double)time(NULL));
		pthread_mutex_lock(&fk.mu);
		conns = fk.events_conns;
		pthread_mutex_unlock(&fk.mu);
		nap_ms(50);
	} while (conns < 2 && now_mono() < end);
	assert_true(conns >= 2);
	assert_true(merge_until(dc, st, web_has_stream_numbers, 10));
	assert_true(web(st)->docker.known);

	assert_true(timed_stop(dc) < 1.0);
	fake_vanish();
	cstatd_store_free(st);
}

static void test_daemon_vanishes_and_returns(void **state)
{
	struct cstatd_store *st = cstatd_store_new();
	struct docker_collector *dc;
	struct cstatd_container *c;
	uint64_t restarts_before;
	double end;

	(void)state;
	pthread_mutex_lock(&fk.mu);
	fk.container_gone = false;
	fk.stats = STATS_NORMAL;
	pthread_mutex_unlock(&fk.mu);
	fake_listen();
	dc = start_collector(DOCKER_STATS_NEVER);
	assert_true(merge_until(dc, st, web_known, 10));
	restarts_before = web(st)->docker.restarts_total;

	fake_vanish();
	end = now_mono() + 5;
	while (atomic_load(&cstatd_stats.docker_up) != 0 && now_mono() < end)
		nap_ms(20);
	assert_int_equal(atomic_load(&cstatd_stats.docker_up), 0);
	/* While down, nothing is added; the record (no cgroup) loses
	 * CSTATD_SRC_DOCKER and leaves the store. */
	assert_true(merge_until(dc, st, web_gone, 5));

	fake_listen();
	assert_true(merge_until(dc, st, web_known, 15));
	c = web(st);
	assert_int_equal(atomic_load(&cstatd_stats.docker_up), 1);
	/* same container, same counter: never down */
	assert_true(c->docker.restarts_total >= restarts_before);
	/* NEVER: no stream numbers */
	assert_false(c->s.have & CSTATD_HAVE_CPU_STAT);

	assert_true(timed_stop(dc) < 1.0);
	fake_vanish();
	cstatd_store_free(st);
}

static void test_unreachable_and_bad_host(void **state)
{
	struct docker_config cfg = { .host = "unix:///nonexistent/docker.sock",
				     .tombstone_seconds = 3600,
				     .proc_root = "/proc" };
	struct cstatd_store *st = cstatd_store_new();
	struct docker_collector *dc = NULL;
	uint64_t http0 = err_count(CSTATD_ERR_DOCKER_HTTP);

	(void)state;
	assert_int_equal(docker_collector_start(&cfg, &dc), 0);
	nap_ms(300);
	docker_collector_merge(dc, st, (double)time(NULL));
	assert_int_equal(cstatd_store_count(st), 0);
	assert_int_equal(atomic_load(&cstatd_stats.docker_up), 0);
	assert_true(err_count(CSTATD_ERR_DOCKER_HTTP) >= http0 + 1);
	assert_true(timed_stop(dc) < 1.0);

	cfg.host = "ssh://user@host";
	dc = NULL;
	assert_int_equal(docker_collector_start(&cfg, &dc), -EINVAL);
	assert_null(dc);
	cfg.host = "unix://relative/path";
	assert_int_equal(docker_collector_start(&cfg, &dc), -EINVAL);
	docker_collector_stop(NULL);
	docker_collector_merge(NULL, st, 0);
	cstatd_store_free(st);
}

/* --max-containers: a container the store refuses gets no stats stream,
 * even in ALWAYS mode; once room frees up it is tracked and streamed. */
static bool web_tracked(struct cstatd_store *st) { return web(st) != NULL; }

static void test_dropped_gets_no_stream(void **state)
{
	struct cstatd_store *st = cstatd_store_new();
	struct docker_collector *dc;
	int conns;
	(void)state;
	pthread_mutex_lock(&fk.mu);
	fk.container_gone = false;
	fk.stats = STATS_NORMAL;
	fk.stats_conns = 0;
	pthread_mutex_unlock(&fk.mu);
	cstatd_store_set_limits(st, 1, 0);
	struct cstatd_container *other = cstatd_store_add(st, "other");
	assert_non_null(other);
	fake_listen();
	dc = start_collector(DOCKER_STATS_ALWAYS);
	double end = now_mono() + 2.0;
	do {
		other->sources = CSTATD_SRC_CGROUP;
		docker_collector_merge(dc, st, (double)time(NULL));
		cstatd_store_prune(st);
		nap_ms(50);
	} while (now_mono() < end);
	pthread_mutex_lock(&fk.mu);
	conns = fk.stats_conns;
	pthread_mutex_unlock(&fk.mu);
	assert_null(web(st));
	assert_int_equal(cstatd_store_dropped_total(st), 1);
	assert_int_equal(conns, 0);
	cstatd_store_remove(st, other);
	assert_true(merge_until(dc, st, web_tracked, 5));
	assert_true(merge_until(dc, st, web_has_stream_numbers, 10));
	assert_int_equal(cstatd_store_dropped_total(st), 1);
	assert_true(timed_stop(dc) < 1.0);
	fake_vanish();
	cstatd_store_free(st);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_stream_and_lifecycle),
		cmocka_unit_test(test_over_cap_line_and_reconnect),
		cmocka_unit_test(test_daemon_vanishes_and_returns),
		cmocka_unit_test(test_unreachable_and_bad_host),
		cmocka_unit_test(test_dropped_gets_no_stream),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
