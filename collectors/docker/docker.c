/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Docker collector's thread: a libcurl multi loop over the Engine API.
 *
 *   DOWN ──retry time──► PINGING ──200 + Api-Version──► UP
 *     ▲                     │ fail: backoff 0.5 s → 30 s    │ /events ends,
 *     └─────────────────────┘                                │ 400 version
 *     └──────────────────────────────────────────────────────┘
 *
 * While UP: one /events stream (type=container, never a low-speed limit:
 * it can be silent for hours), a list at connect and every 60 s, inspects
 * (at most INSPECT_PARALLEL at a time) after list entries and lifecycle
 * events, and stats streams for the containers that need them.
 *
 * Threads: this file's thread owns every curl handle and transfer. The
 * container table (struct ctr), the tombstones and the connection state are
 * shared with docker_collector_merge() on the sweep thread under dc->mu.
 * JSON parsing, /proc reads and curl calls happen outside the mutex.
 * Only this thread frees a struct ctr, so it may keep a pointer to one
 * across an unlock; the sweep thread never keeps one.
 *
 * Buffers that grow from Docker's bytes are capped: a stream line at
 * LINE_CAP, a whole body at BODY_CAP, ping headers at HDR_CAP. Over the cap
 * the transfer is aborted and counted as a docker_json error.
 */
#include "collectors/docker/docker.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "collectors/docker/docker_parse.h"
#include "collectors/docker/docker_state.h"
#include "cstatd/log.h"
#include "cstatd/stats.h"

#define LINE_CAP (1u << 20)       /* one stream line */
#define BODY_CAP (8u << 20)       /* one list/inspect body */
#define HDR_CAP (16u << 10)       /* /_ping headers */
#define ERR_BODY_CAP (64u << 10)  /* an error body we only log */
#define PROC_CGROUP_CAP (64u << 10)
#define TRIM_AFTER_BYTES (1u << 20) /* a parsed body this big: give the tree's pages back */

#define POLL_MS 200               /* stop flag latency */
#define BACKOFF_MIN 0.5
#define BACKOFF_MAX 30.0
#define STREAM_BACKOFF_MIN 1.0
#define RESYNC_SECONDS 60.0       /* re-list + re-inspect (§6.4 step 3) */
#define LIST_RETRY_SECONDS 5.0
#define INSPECT_PARALLEL 8
#define STREAM_STALL_SECONDS 10L  /* no line for this long while running */
#define STREAM_FRESH_SECONDS 12.0 /* older stream samples are not merged */
#define STREAM_SCAN_SECONDS 0.1
#define WANT_VOTES_OPEN 2         /* merges that must want a stream to open it */
#define WANT_VOTES_CLOSE 10       /* merges that must not want it to close it */
#define REQUEST_TIMEOUT_MS 10000L
#define CONNECT_TIMEOUT_MS 3000L

/* ================================================================== */
/* Types                                                               */
/* ================================================================== */

enum xfer_kind { X_PING, X_EVENTS, X_LIST, X_INSPECT, X_STATS };

/* A byte buffer with a hard cap set at creation. */
struct dbuf {
	char *p;
	size_t len, cap, max;
};

struct docker_collector;

struct xfer {
	struct docker_collector *dc;
	struct xfer *prev, *next;   /* dc->xfers: every live transfer */
	CURL *easy;
	enum xfer_kind kind;
	char id[CSTATD_ID_LEN + 1]; /* inspect, stats */
	struct dbuf body;           /* whole body, or the unfinished line */
	struct dbuf hdr;            /* ping only */
	bool streaming;             /* events/stats: split on '\n' */
	bool status_checked;
	long status;
	bool over_cap;
	bool cancelled;             /* removed on purpose; completion is quiet */
	bool got_line;              /* stats: at least one good line */
	uint64_t seq;               /* inspect: ctr->state_seq when issued */
	struct dk_stats *scratch;   /* stats: one line's parse result */
};

struct ctr {
	char id[CSTATD_ID_LEN + 1];
	char name[CSTATD_NAME_LEN];  /* latest known name (events, list, inspect) */
	bool have_info;              /* inspected at least once */
	struct dk_inspect info;
	bool info_cut;               /* info's label values cut to --max-label-length */
	struct dk_restarts rs;
	struct dk_oom oom;
	double life_started_at;      /* StartedAt of the current life; -1 unknown */
	bool has_exit_code;
	int64_t last_exit_code;
	unsigned list_gen;

	/* Inspect scheduling. */
	bool inspect_queued;
	bool inspect_inflight;
	uint64_t state_seq;          /* bumped by every event that queues an inspect */

	/* Cgroup hint from /proc/<pid>/cgroup. */
	char cgroup_rel[512];
	bool hint_fresh;             /* not handed to the store yet */

	/* Stats stream. */
	struct xfer *stream;
	bool want_stream;            /* merge's decision (AUTO mode) */
	uint32_t cg_groups;          /* fill groups the cgroup files supplied (never the stream's) */
	unsigned want_votes, unwant_votes;
	double stream_retry_at;
	double stream_backoff;
	bool ss_valid;
	double ss_mono;
	struct cstatd_sample ss; /* its io/net lists stay empty: see ss_io, ss_net */
	struct cstatd_io_stat ss_io;
	struct cstatd_netdev ss_net;

	uint64_t merge_seq;          /* last merge that exported it */
};

/* Containers by id: a dense array plus an open-addressing index. */
struct table {
	struct ctr **v;
	size_t n, cap;
	size_t *slots; /* index + 1; 0 empty */
	size_t nslots;
};

enum conn_state { C_DOWN, C_PINGING, C_UP };

struct docker_collector {
	/* Configuration (immutable after start). */
	char *host;
	char *socket_path;  /* unix:// */
	char *base_url;     /* "http://localhost" or "http://h:p" */
	char *proc_root;
	int stats_mode;
	double tombstone_seconds;
	struct dk_allowlist allow;
	char *events_filter; /* url-escaped */

	pthread_t thread;
	bool thread_started;
	_Atomic bool stop;
	CURLM *multi;

	/* Docker thread only. */
	struct xfer *xfers;
	enum conn_state conn;
	double retry_at;
	double backoff;
	double up_since;
	bool ever_up;
	bool logged_down;
	bool logged_old_api;
	int api_version;
	struct xfer *events;
	bool list_inflight;
	double next_list_at;
	size_t inspects_inflight;
	size_t inspects_queued;
	double next_stream_scan;
	double next_expire;
	unsigned gen;
	int64_t last_event_ns;
	uint64_t last_event_keys[16]; /* events seen at last_event_ns (dedupe) */
	unsigned n_last_event_keys;

	/* Shared with the sweep thread, under mu. */
	pthread_mutex_t mu;
	struct table tab;
	struct dk_tombstones tombs;
	bool up;
	bool podman;
	uint64_t merge_seq;
};

/* ================================================================== */
/* Small helpers                                                       */
/* ================================================================== */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void dbuf_init(struct dbuf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

static void dbuf_free(struct dbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Appends n bytes, keeping a NUL after them. -E2BIG past the cap. */
static int dbuf_append(struct dbuf *b, const char *d, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return -E2BIG;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		char *np;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		if (ncap > b->max + 1)
			ncap = b->max + 1;
		np = realloc(b->p, ncap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* ================================================================== */
/* Container table                                                     */
/* ================================================================== */

static size_t tab_slot(const struct table *t, const char *id)
{
	size_t mask = t->nslots - 1;
	size_t i;

	for (i = fnv1a(id, CSTATD_ID_LEN) & mask;; i = (i + 1) & mask) {
		size_t v = t->slots[i];

		if (v == 0 || strcmp(t->v[v - 1]->id, id) == 0)
			return i;
	}
}

static struct ctr *tab_get(const struct table *t, const char *id)
{
	size_t v;

	if (!t->nslots)
		return NULL;
	v = t->slots[tab_slot(t, id)];
	return v ? t->v[v - 1] : NULL;
}

static int tab_reindex(struct table *t, size_t nslots)
{
	size_t *ns = calloc(nslots, sizeof(*ns));
	size_t i;

	if (!ns)
		return -ENOMEM;
	free(t->slots);
	t->slots = ns;
	t->nslots = nslots;
	for (i = 0; i < t->n; i++)
		t->slots[tab_slot(t, t->v[i]->id)] = i + 1;
	return 0;
}

static struct ctr *tab_add(struct table *t, const char *id)
{
	struct ctr *c;

	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct ctr **nv = realloc(t->v, ncap * sizeof(*nv));

		if (!nv)
			return NULL;
		t->v = nv;
		t->cap = ncap;
	}
	if ((t->n + 1) * 2 > t->nslots &&
	    tab_reindex(t, t->nslots ? t->nslots * 2 : 128) < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	memcpy(c->id, id, CSTATD_ID_LEN + 1);
	c->life_started_at = 0;
	c->stream_backoff = STREAM_BACKOFF_MIN;
	t->v[t->n++] = c;
	t->slots[tab_slot(t, id)] = t->n;
	return c;
}

/* Removes c from the table (does not free it). Rebuilding the index is
 * O(n), fine for destroys. */
static void tab_del(struct table *t, struct ctr *c)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->v[i] == c) {
			t->v[i] = t->v[t->n - 1];
			t->n--;
			break;
		}
	}
	memset(t->slots, 0, t->nslots * sizeof(*t->slots));
	for (i = 0; i < t->n; i++)
		t->slots[tab_slot(t, t->v[i]->id)] = i + 1;
}

/* ================================================================== */
/* Transfers                                                           */
/* ================================================================== */

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	if (x->prev)
		x->prev->next = x->next;
	else if (x->dc->xfers == x)
		x->dc->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	if (x->easy) {
		curl_multi_remove_handle(x->dc->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	dbuf_free(&x->body);
	dbuf_free(&x->hdr);
	free(x->scratch);
	free(x);
}

static void handle_line(struct xfer *x, const char *line, size_t len);

static long response_code(struct xfer *x)
{
	if (!x->status_checked) {
		long code = 0;

		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		x->status = code;
		x->status_checked = code != 0;
		/* An error answer on a stream is one body, not lines. */
		if (x->status_checked && code != 200)
			x->body.max = ERR_BODY_CAP;
	}
	return x->status;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (x->cancelled || atomic_load_explicit(&x->dc->stop, memory_order_relaxed))
		return 0;
	if (x->streaming && response_code(x) == 200) {
		/* Split on '\n'; keep the unfinished tail for the next call. */
		size_t start = 0, i;

		for (i = 0; i < n; i++) {
			if (data[i] != '\n')
				continue;
			if (x->body.len > 0) {
				if (dbuf_append(&x->body, data + start, i - start) < 0)
					goto over;
				handle_line(x, x->body.p, x->body.len);
				x->body.len = 0;
			} else {
				handle_line(x, data + start, i - start);
			}
			start = i + 1;
		}
		if (start < n && dbuf_append(&x->body, data + start, n - start) < 0)
			goto over;
		return n;
	}
	if (dbuf_append(&x->body, data, n) < 0)
		goto over;
	return n;
over:
	x->over_cap = true;
	return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (dbuf_append(&x->hdr, data, n) < 0) {
		x->over_cap = true;
		return 0;
	}
	return n;
}

/* Starts GET base_url + path. Returns NULL on failure (counted). */
static struct xfer *xfer_start(struct docker_collector *dc, enum xfer_kind kind,
			       const char *path, const char *id)
{
	struct xfer *x = calloc(1, sizeof(*x));
	char url[1024];
	CURL *e;

	if (!x)
		return NULL;
	x->dc = dc;
	x->kind = kind;
	if (id)
		memcpy(x->id, id, CSTATD_ID_LEN + 1);
	x->streaming = kind == X_EVENTS || kind == X_STATS;
	dbuf_init(&x->body, x->streaming ? LINE_CAP : (kind == X_PING ? ERR_BODY_CAP : BODY_CAP));
	dbuf_init(&x->hdr, HDR_CAP);
	if (kind == X_STATS) {
		x->scratch = calloc(1, sizeof(*x->scratch));
		if (!x->scratch)
			goto fail;
	}
	if ((size_t)snprintf(url, sizeof(url), "%s%s", dc->base_url, path) >= sizeof(url))
		goto fail;

	x->easy = e = curl_easy_init();
	if (!e)
		goto fail;
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (dc->socket_path)
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, dc->socket_path);
	curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
#endif
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "cstatd/" CSTATD_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	if (kind == X_PING) {
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	}
	if (!x->streaming) {
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
		/* One-shot requests (ping, list, inspect) close their
		 * connection: libcurl would keep every idle one of a burst
		 * open (up to 4 per transfer handle), and a local socket costs
		 * nothing to reconnect. */
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	} else if (kind == X_STATS) {
		/* A stats stream sends a line about every second while the
		 * container runs (§4.1); 10 s without a byte is a stall. */
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, STREAM_STALL_SECONDS);
	}
	/* /events: no timeout and no low-speed limit, ever (§0). */
	if (curl_multi_add_handle(dc->multi, e) != CURLM_OK)
		goto fail;
	x->next = dc->xfers;
	if (dc->xfers)
		dc->xfers->prev = x;
	dc->xfers = x;
	return x;
fail:
	cstatd_count_error(CSTATD_ERR_DOCKER_HTTP);
	if (x->easy) {
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	xfer_free(x);
	return NULL;
}

/* ================================================================== */
/* Container bookkeeping (under dc->mu)                                */
/* ================================================================== */

static struct ctr *ctr_get_or_add(struct docker_collector *dc, const char *id, const char *name)
{
	struct ctr *c = tab_get(&dc->tab, id);

	if (!c) {
		c = tab_add(&dc->tab, id);
		if (!c)
			return NULL;
	}
	if (name && *name)
		snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

static void queue_inspect(struct docker_collector *dc, struct ctr *c)
{
	c->state_seq++;
	if (!c->inspect_queued) {
		c->inspect_queued = true;
		dc->inspects_queued++;
	}
}

/* Detaches the stream; the transfer itself is freed by reap_cancelled()
 * after curl_multi_perform() returns, because libcurl forbids removing a
 * handle from inside a callback (a destroy event arrives in one). */
static void stream_cancel(struct ctr *c)
{
	if (c->stream) {
		c->stream->cancelled = true;
		c->stream = NULL;
	}
	c->ss_valid = false;
}

/* The container is gone (destroy, 404, missing from a list): keep its
 * restart counter under its name, then forget it. */
static void ctr_destroy(struct docker_collector *dc, struct ctr *c, double wall)
{
	if (c->have_info &&
	    dk_tombs_put(&dc->tombs, c->name, c->rs.total, wall, dc->tombstone_seconds) < 0)
		log_warn("out of memory keeping a restart counter", "name=%s", c->name);
	if (c->inspect_queued && dc->inspects_queued > 0)
		dc->inspects_queued--;
	stream_cancel(c);
	tab_del(&dc->tab, c);
	free(c);
}

/* ================================================================== */
/* Events                                                              */
/* ================================================================== */

/* Dedupe on (timeNano, id, action) for the replay that `since` gives after
 * a reconnect (§6.4 step 4). */
static bool event_seen(struct docker_collector *dc, const struct dk_event *ev)
{
	char keybuf[CSTATD_ID_LEN + 8];
	uint64_t key;
	unsigned i;

	if (ev->time_nano == 0)
		return false;
	snprintf(keybuf, sizeof(keybuf), "%s%d", ev->id, (int)ev->action);
	key = fnv1a(keybuf, strlen(keybuf));
	if (ev->time_nano < dc->last_event_ns)
		return true;
	if (ev->time_nano > dc->last_event_ns) {
		dc->last_event_ns = ev->time_nano;
		dc->n_last_event_keys = 0;
	}
	for (i = 0; i < dc->n_last_event_keys; i++)
		if (dc->last_event_keys[i] == key)
			return true;
	if (dc->n_last_event_keys < sizeof(dc->last_event_keys) / sizeof(dc->last_event_keys[0]))
		dc->last_event_keys[dc->n_last_event_keys++] = key;
	return false;
}

static void apply_event(struct docker_collector *dc, const struct dk_event *ev)
{
	struct ctr *c;
	double wall = wall_now();

	if (!ev->is_container || ev->action == DK_EV_OTHER)
		return;
	c = tab_get(&dc->tab, ev->id);
	if (ev->action == DK_EV_DESTROY) {
		if (c)
			ctr_destroy(dc, c, wall);
		return;
	}
	if (!c) {
		/* An event for an id not seen yet (create, or a missed one):
		 * learn it through an inspect. */
		c = ctr_get_or_add(dc, ev->id, ev->name);
		if (!c)
			return;
		c->list_gen = dc->gen;
		queue_inspect(dc, c);
		return;
	}
	c->list_gen = dc->gen;
	dk_restarts_event(&c->rs, ev->action);

	switch (ev->action) {
	case DK_EV_START:
		dk_oom_life_start(&c->oom);
		c->life_started_at = -1; /* the next inspect tells */
		c->info.state = CSTATD_STATE_RUNNING;
		queue_inspect(dc, c);
		break;
	case DK_EV_RESTART:
	case DK_EV_CREATE:
	case DK_EV_UPDATE:
		queue_inspect(dc, c);
		break;
	case DK_EV_DIE:
		dk_oom_die(&c->oom, ev->time_nano, ev->oom_killed);
		if (ev->has_exit_code) {
			c->has_exit_code = true;
			c->last_exit_code = ev->exit_code;
		}
		c->info.state = CSTATD_STATE_EXITED; /* the inspect may say restarting */
		c->info.pid = 0;
		queue_inspect(dc, c);
		break;
	case DK_EV_OOM:
		dk_oom_event(&c->oom, ev->time_nano);
		break;
	case DK_EV_PAUSE:
		c->info.state = CSTATD_STATE_PAUSED;
		break;
	case DK_EV_UNPAUSE:
		c->info.state = CSTATD_STATE_RUNNING;
		break;
	case DK_EV_HEALTH:
		c->info.health = ev->health;
		break;
	case DK_EV_RENAME: {
		const char *old = ev->old_name[0] ? ev->old_name : c->name;
		uint64_t discard;

		/* The old name may come back on a new container (Compose
		 * renames the old one away before it creates the new one). */
		if (c->have_info && strcmp(old, ev->name) != 0)
			dk_tombs_put(&dc->tombs, old, c->rs.total, wall, dc->tombstone_seconds);
		/* The new name is taken by a live container now. */
		dk_tombs_take(&dc->tombs, ev->name, wall, &discard);
		if (ev->name[0]) {
			snprintf(c->name, sizeof(c->name), "%s", ev->name);
			snprintf(c->info.name, sizeof(c->info.name), "%s", ev->name);
			c->info_cut = false;
		}
		queue_inspect(dc, c);
		break;
	}
	default:
		break;
	}
}

/* ================================================================== */
/* Inspect results                                                     */
/* ================================================================== */

static void apply_inspect(struct docker_collector *dc, struct ctr *c, const struct dk_inspect *in)
{
	double wall = wall_now();
	bool first = !c->have_info;

	if (first) {
		uint64_t tomb;
		bool have_tomb = dk_tombs_take(&dc->tombs, in->name, wall, &tomb);

		dk_restarts_seed(&c->rs, in->state, in->restart_count, in->started_at,
				 have_tomb ? &tomb : NULL);
		c->life_started_at = in->started_at;
	} else {
		dk_restarts_reconcile(&c->rs, in->state, in->restart_count, in->started_at);
		if (in->state == CSTATD_STATE_RUNNING || in->state == CSTATD_STATE_PAUSED) {
			/* A start we did not see as an event began a new life. */
			if (c->life_started_at <= 0)
				c->life_started_at = in->started_at; /* first run */
			else if (in->started_at > 0 && in->started_at != c->life_started_at) {
				dk_oom_life_start(&c->oom);
				c->life_started_at = in->started_at;
			}
		}
	}
	dk_oom_inspect(&c->oom, in->state, in->oom_killed);

	/* ExitCode is reset to 0 on start: it is the last exit only while
	 * the container is not running. */
	if ((in->state == CSTATD_STATE_EXITED || in->state == CSTATD_STATE_DEAD) &&
	    in->finished_at > 0) {
		c->has_exit_code = true;
		c->last_exit_code = in->exit_code;
	}
	c->info = *in;
	c->info_cut = false;
	snprintf(c->name, sizeof(c->name), "%s", in->name);
	c->have_info = true;
}

/* Reads /proc/<pid>/cgroup outside the mutex. */
static int resolve_cgroup(struct docker_collector *dc, const char *id, int pid, char *out,
			  size_t outlen)
{
	char path[512];
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	if (pid <= 0)
		return -ENOENT;
	if ((size_t)snprintf(path, sizeof(path), "%s/%d/cgroup", dc->proc_root, pid) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(PROC_CGROUP_CAP);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < PROC_CGROUP_CAP && (n = read(fd, buf + len, PROC_CGROUP_CAP - len)) > 0)
		len += (size_t)n;
	close(fd);
	rc = dk_parse_proc_cgroup(buf, len, id, out, outlen);
	free(buf);
	return rc;
}

/* ================================================================== */
/* Line and body handlers                                              */
/* ================================================================== */

static void handle_event_line(struct docker_collector *dc, const char *line, size_t len)
{
	struct dk_event ev;

	if (dk_parse_event(line, len, &ev) < 0) {
		cstatd_count_error(CSTATD_ERR_DOCKER_JSON);
		return;
	}
	pthread_mutex_lock(&dc->mu);
	if (!event_seen(dc, &ev))
		apply_event(dc, &ev);
	pthread_mutex_unlock(&dc->mu);
}

static void handle_stats_line(struct xfer *x, const char *line, size_t len)
{
	struct docker_collector *dc = x->dc;
	struct ctr *c;

	if (dk_parse_stats(line, len, x->scratch) < 0) {
		cstatd_count_error(CSTATD_ERR_DOCKER_JSON);
		return;
	}
	pthread_mutex_lock(&dc->mu);
	c = tab_get(&dc->tab, x->id);
	if (c && c->stream == x) {
		if (x->scratch->empty) {
			/* Stopped or restarting: not an error, no numbers. */
			c->ss_valid = false;
		} else {
			c->ss = x->scratch->s;
			c->ss_io = x->scratch->io;
			c->ss_net = x->scratch->net;
			c->ss_mono = mono_now();
			c->ss_valid = true;
			c->stream_backoff = STREAM_BACKOFF_MIN;
			x->got_line = true;
		}
	}
	pthread_mutex_unlock(&dc->mu);
}

static void handle_line(struct xfer *x, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return;
	if (x->kind == X_EVENTS)
		handle_event_line(x->dc, line, len);
	else if (x->kind == X_STATS)
		handle_stats_line(x, line, len);
}

/* List entries, collected outside the mutex and applied under it. */
struct list_ctx {
	struct dk_list_entry *v;
	size_t n, cap;
};

static int on_list_entry(void *arg, const struct dk_list_entry *e)
{
	struct list_ctx *lc = arg;

	if (lc->n == lc->cap) {
		size_t ncap = lc->cap ? lc->cap * 2 : 64;
		struct dk_list_entry *nv = realloc(lc->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		lc->v = nv;
		lc->cap = ncap;
	}
	lc->v[lc->n++] = *e;
	return 0;
}

/* jansson's tree of a list body is 10-15 times the body (110 MB for the
 * 8 MB list of ~5700 containers) and 80 times for a body of tiny elements;
 * glibc keeps the freed pages in this thread's arena, so RSS would stay at
 * that peak until the next list. Hand them back once the tree is freed. */
static void trim_after_parse(size_t body_len)
{
#ifdef __GLIBC__
	if (body_len >= TRIM_AFTER_BYTES)
		malloc_trim(0);
#else
	(void)body_len;
#endif
}

static void list_done(struct docker_collector *dc, struct xfer *x)
{
	struct list_ctx lc = { 0 };
	double wall = wall_now();
	size_t i, skipped = 0;
	int rc;

	rc = dk_parse_list(x->body.p, x->body.len, on_list_entry, &lc, &skipped);
	trim_after_parse(x->body.len);
	if (rc < 0) {
		free(lc.v);
		cstatd_count_error(rc == -ENOMEM ? CSTATD_ERR_DOCKER_HTTP : CSTATD_ERR_DOCKER_JSON);
		log_warn("unusable /containers/json body from docker", "bytes=%zu err=%d",
			 x->body.len, rc);
		dc->next_list_at = mono_now() + LIST_RETRY_SECONDS;
		return;
	}
	pthread_mutex_lock(&dc->mu);
	for (i = 0; i < lc.n; i++) {
		struct ctr *c = ctr_get_or_add(dc, lc.v[i].id, lc.v[i].name);

		if (c) {
			c->list_gen = dc->gen;
			queue_inspect(dc, c);
		}
	}
	/* Containers the list no longer has were removed while we were not
	 * listening (events lost, dockerd restarted): tombstone them first,
	 * so that a new container of the same name continues the counter. */
	i = 0;
	while (i < dc->tab.n) {
		struct ctr *c = dc->tab.v[i];

		if (c->list_gen != dc->gen)
			ctr_destroy(dc, c, wall);
		else
			i++;
	}
	dc->up = true;
	pthread_mutex_unlock(&dc->mu);
	free(lc.v);
	if (skipped)
		cstatd_count_error(CSTATD_ERR_DOCKER_JSON);
	dc->next_list_at = mono_now() + RESYNC_SECONDS;
}

static void inspect_done(struct docker_collector *dc, struct xfer *x, long status)
{
	struct dk_inspect *in = NULL;
	struct ctr *c;
	int pid = 0;
	char rel[512];
	bool resolve = false;

	if (status == 200) {
		in = malloc(sizeof(*in));
		if (!in || dk_parse_inspect(x->body.p, x->body.len, &dc->allow, in) < 0 ||
		    strcmp(in->id, x->id) != 0) {
			if (in)
				cstatd_count_error(CSTATD_ERR_DOCKER_JSON);
			free(in);
			in = NULL;
		}
	}

	pthread_mutex_lock(&dc->mu);
	c = tab_get(&dc->tab, x->id);
	if (!c)
		goto out;
	c->inspect_inflight = false;
	if (status == 404) {
		/* Removed between the event or list and this inspect. Not an
		 * error: it is the normal race with `docker rm`. */
		ctr_destroy(dc, c, wall_now());
		goto out;
	}
	if (in) {
		/* An event that queued another inspect after this one was
		 * sent makes this answer stale; the next one will do, unless
		 * this is the first sight (the seed needs one). */
		bool stale = x->seq != c->state_seq && c->inspect_queued;

		if (!stale || !c->have_info) {
			int old_pid = c->info.pid;

			apply_inspect(dc, c, in);
			pid = in->pid;
			resolve = pid > 0 && (pid != old_pid || !c->cgroup_rel[0]);
		}
	}
out:
	pthread_mutex_unlock(&dc->mu);
	free(in);

	if (resolve) {
		int rc = resolve_cgroup(dc, x->id, pid, rel, sizeof(rel));

		pthread_mutex_lock(&dc->mu);
		c = tab_get(&dc->tab, x->id);
		if (c && c->info.pid == pid) {
			if (rc == 0) {
				snprintf(c->cgroup_rel, sizeof(c->cgroup_rel), "%s", rel);
				c->hint_fresh = true;
			} else {
				c->cgroup_rel[0] = '\0';
			}
		}
		pthread_mutex_unlock(&dc->mu);
	}
}

/* ================================================================== */
/* Connection state                                                    */
/* ================================================================== */

static void reap_cancelled(struct docker_collector *dc)
{
	struct xfer *x = dc->xfers, *next;

	for (; x; x = next) {
		next = x->next;
		if (x->cancelled)
			xfer_free(x);
	}
}

/* Drops every transfer: the connection to dockerd is gone. The table is
 * kept: counters continue when dockerd comes back, and the re-list prunes
 * what disappeared meanwhile. */
static void cancel_all(struct docker_collector *dc)
{
	struct xfer *x;
	size_t i;

	pthread_mutex_lock(&dc->mu);
	for (i = 0; i < dc->tab.n; i++) {
		struct ctr *c = dc->tab.v[i];

		stream_cancel(c);
		c->inspect_inflight = false;
		c->inspect_queued = false;
	}
	dc->inspects_queued = 0;
	dc->up = false;
	pthread_mutex_unlock(&dc->mu);

	/* Marked only: the caller reaps them once no curl callback and no
	 * curl_multi_info_read() loop is running. */
	for (x = dc->xfers; x; x = x->next)
		x->cancelled = true;
	dc->events = NULL;
	dc->list_inflight = false;
	dc->inspects_inflight = 0;
}

static void go_down(struct docker_collector *dc, const char *why, const char *detail)
{
	double now = mono_now();

	cancel_all(dc);
	atomic_store(&cstatd_stats.docker_up, 0);
	if (dc->conn == C_UP) {
		/* A connection that lasted resets the backoff; one that
		 * drops at once keeps doubling it (no hot reconnect loop). */
		if (now - dc->up_since > 10.0)
			dc->backoff = BACKOFF_MIN;
		log_warn("docker connection lost; serving cgroup metrics only until it is back",
			 "host=%s reason=\"%s\" detail=\"%s\"", dc->host, why, detail ? detail : "");
		dc->logged_down = true;
	} else if (!dc->logged_down) {
		log_warn("docker unreachable; serving cgroup metrics only, retrying",
			 "host=%s reason=\"%s\" detail=\"%s\"", dc->host, why, detail ? detail : "");
		dc->logged_down = true;
	}
	dc->conn = C_DOWN;
	dc->retry_at = now + dc->backoff;
	dc->backoff = dc->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : dc->backoff * 2;
}

static void start_ping(struct docker_collector *dc)
{
	/* Unversioned on purpose: it tells the version to use (§1.1). */
	if (!xfer_start(dc, X_PING, "/_ping", NULL)) {
		dc->retry_at = mono_now() + dc->backoff;
		return;
	}
	dc->conn = C_PINGING;
}

static void start_events(struct docker_collector *dc)
{
	char path[1024];
	int n;

	if (dc->last_event_ns > 0) {
		/* Replay what the daemon still has since the last event seen;
		 * event_seen() drops the duplicates. */
		n = snprintf(path, sizeof(path), "/v%d.%d/events?since=%lld.%09lld&filters=%s",
			     dc->api_version / 1000, dc->api_version % 1000,
			     (long long)(dc->last_event_ns / 1000000000LL),
			     (long long)(dc->last_event_ns % 1000000000LL), dc->events_filter);
	} else {
		n = snprintf(path, sizeof(path), "/v%d.%d/events?filters=%s",
			     dc->api_version / 1000, dc->api_version % 1000, dc->events_filter);
	}
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	dc->events = xfer_start(dc, X_EVENTS, path, NULL);
}

static void start_list(struct docker_collector *dc)
{
	char path[64];

	snprintf(path, sizeof(path), "/v%d.%d/containers/json?all=1", dc->api_version / 1000,
		 dc->api_version % 1000);
	pthread_mutex_lock(&dc->mu);
	/* Rows touched from now on (list entries, events) carry this gen;
	 * at the end of the list the others are gone. */
	dc->gen++;
	pthread_mutex_unlock(&dc->mu);
	if (xfer_start(dc, X_LIST, path, NULL))
		dc->list_inflight = true;
	else
		dc->next_list_at = mono_now() + LIST_RETRY_SECONDS;
}

static void ping_done(struct docker_collector *dc, struct xfer *x, CURLcode res, long status)
{
	struct dk_ping p;
	char detail[160];
	int use;

	if (res != CURLE_OK) {
		cstatd_count_error(CSTATD_ERR_DOCKER_HTTP);
		go_down(dc, "connect failed", curl_easy_strerror(res));
		return;
	}
	if (status != 200 || dk_parse_ping_headers(x->hdr.p, x->hdr.len, &p) < 0) {
		cstatd_count_error(CSTATD_ERR_DOCKER_HTTP);
		snprintf(detail, sizeof(detail), "status %ld to /_ping, or no Api-Version header",
			 status);
		go_down(dc, "unexpected /_ping answer", detail);
		return;
	}
	if (dk_negotiate_api_version(p.api_version, &use) < 0) {
		/* Said once; retried with the capped backoff in case the
		 * engine is upgraded under us. */
		if (!dc->logged_old_api)
			log_error("docker API too old; serving cgroup metrics only",
				  "host=%s api=%d.%d min=%d.%d server=\"%s\"", dc->host,
				  p.api_version / 1000, p.api_version % 1000, DK_API_MIN / 1000,
				  DK_API_MIN % 1000, p.server);
		dc->logged_old_api = true;
		dc->logged_down = true;
		go_down(dc, "docker API too old", NULL);
		return;
	}
	dc->logged_old_api = false;
	dc->api_version = use;
	dc->conn = C_UP;
	dc->up_since = mono_now();
	if (dc->ever_up)
		cstatd_count_error(CSTATD_ERR_DOCKER_RECONNECT);
	if (!dc->ever_up || dc->logged_down)
		log_info(dc->ever_up ? "docker reachable again" : "docker connected",
			 "host=%s api=%d.%d server=\"%s\" podman=%s", dc->host, use / 1000,
			 use % 1000, p.server, p.podman ? "true" : "false");
	dc->ever_up = true;
	dc->logged_down = false;
	pthread_mutex_lock(&dc->mu);
	dc->podman = p.podman;
	pthread_mutex_unlock(&dc->mu);
	atomic_store(&cstatd_stats.docker_up, 1);

	start_events(dc);
	if (!dc->events) {
		go_down(dc, "cannot start the events stream", NULL);
		return;
	}
	start_list(dc);
}

/* ================================================================== */
/* Scheduling: inspects and stats streams                              */
/* ================================================================== */

static void dispatch_inspects(struct docker_collector *dc)
{
	char path[160];
	size_t i;

	if (dc->inspects_queued == 0 || dc->inspects_inflight >= INSPECT_PARALLEL)
		return;
	pthread_mutex_lock(&dc->mu);
	for (i = 0; i < dc->tab.n && dc->inspects_inflight < INSPECT_PARALLEL; i++) {
		struct ctr *c = dc->tab.v[i];
		struct xfer *x;

		if (!c->inspect_queued || c->inspect_inflight)
			continue;
		snprintf(path, sizeof(path), "/v%d.%d/containers/%s/json", dc->api_version / 1000,
			 dc->api_version % 1000, c->id);
		x = xfer_start(dc, X_INSPECT, path, c->id);
		if (!x)
			break;
		x->seq = c->state_seq;
		c->inspect_queued = false;
		c->inspect_inflight = true;
		dc->inspects_queued--;
		dc->inspects_inflight++;
	}
	pthread_mutex_unlock(&dc->mu);
}

static bool stream_desired(const struct docker_collector *dc, const struct ctr *c)
{
	if (dc->stats_mode == DOCKER_STATS_NEVER || !c->have_info)
		return false;
	if (c->info.state != CSTATD_STATE_RUNNING && c->info.state != CSTATD_STATE_PAUSED)
		return false; /* Docker sends only empty samples then (§4.2) */
	/* Only for containers the store tracks (the last merge exported them):
	 * one dropped by --max-containers gets no stream, even in ALWAYS. */
	if (c->merge_seq == 0 || c->merge_seq != dc->merge_seq)
		return false;
	return dc->stats_mode == DOCKER_STATS_ALWAYS || c->want_stream;
}

static void manage_streams(struct docker_collector *dc, double now)
{
	char path[160];
	size_t i;

	pthread_mutex_lock(&dc->mu);
	for (i = 0; i < dc->tab.n; i++) {
		struct ctr *c = dc->tab.v[i];
		bool want = stream_desired(dc, c);

		if (!want && c->stream) {
			stream_cancel(c);
		} else if (want && !c->stream && now >= c->stream_retry_at) {
			snprintf(path, sizeof(path), "/v%d.%d/containers/%s/stats?stream=1",
				 dc->api_version / 1000, dc->api_version % 1000, c->id);
			c->stream = xfer_start(dc, X_STATS, path, c->id);
			if (!c->stream)
				c->stream_retry_at = now + c->stream_backoff;
		}
	}
	pthread_mutex_unlock(&dc->mu);
}

static void stream_done(struct docker_collector *dc, struct xfer *x, CURLcode res, long status)
{
	struct ctr *c;
	double now = mono_now();

	if (res != CURLE_OK && res != CURLE_OPERATION_TIMEDOUT && !x->over_cap)
		cstatd_count_error(CSTATD_ERR_DOCKER_HTTP);
	else if (res == CURLE_OK && status != 200)
		cstatd_count_error(CSTATD_ERR_DOCKER_HTTP);
	if (x->over_cap)
		cstatd_count_error(CSTATD_ERR_DOCKER_JSON);

	pthread_mutex_lock(&dc->mu);
	c = tab_get(&dc->tab, x->id);
	if (c && c->stream == x) {
		/* Ended while we still want it: a stall (LOW_SPEED_TIME), an
		 * error, or the end of a stream Podman closes at stop. */
		c->stream = NULL;
		c->ss_valid = false;
		if (stream_desired(dc, c))
			cstatd_count_error(CSTATD_ERR_DOCKER_RECONNECT);
		c->stream_retry_at = now + c->stream_backoff;
		c->stream_backoff = c->stream_backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX
									 : c->stream_backoff * 2;
	}
	pthread_mutex_unlock(&dc->mu);
}

/* ================================================================== */
/* The loop                                                            */
/* ================================================================== */

static void on_done(struct docker_collector *dc, struct xfer *x, CURLcode res)
{
	long status = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (x->cancelled)
		return;
	switch (x->kind) {
	case X_PING:
		ping_done(dc, x, res, status);
		break;
	case X_EVENTS:
		dc->events = NULL;
		if (res == CURLE_OK && status == 200) {
			go_down(dc, "events stream ended", NULL);
		} else {
			cstatd_count_error(x->over_cap ? CSTATD_ERR_DOCKER_JSON : CSTATD_ERR_DOCKER_HTTP);
			/* A 400 is often "client version too new/old": the
			 * ping on reconnect negotiates again (§1.1). */
			go_down(dc, "events stream failed",
				res != CURLE_OK ? curl_easy_strerror(res) : x->body.p);
		}
		break;
	case X_LIST:
		dc->list_inflight = false;
		if (res == CURLE_OK && status == 200) {
			list_done(dc, x);
		} else {
			cstatd_count_error(x->over_cap ? CSTATD_ERR_DOCKER_JSON : CSTATD_ERR_DOCKER_HTTP);
			/* The events stream cannot tell a hung daemon from a
			 * quiet one; a list that times out or cannot connect
			 * can. A 400 may be a version change (§1.1). */
			if (status == 400)
				go_down(dc, "list refused", x->body.p);
			else if (res != CURLE_OK && !x->over_cap)
				go_down(dc, "list failed", curl_easy_strerror(res));
			else
				dc->next_list_at = mono_now() + LIST_RETRY_SECONDS;
		}
		break;
	case X_INSPECT:
		if (dc->inspects_inflight > 0)
			dc->inspects_inflight--;
		if (res != CURLE_OK || (status != 200 && status != 404))
			cstatd_count_error(x->over_cap ? CSTATD_ERR_DOCKER_JSON : CSTATD_ERR_DOCKER_HTTP);
		inspect_done(dc, x, res == CURLE_OK ? status : 0);
		if (status == 400)
			go_down(dc, "inspect refused", x->body.p);
		break;
	case X_STATS:
		stream_done(dc, x, res, status);
		break;
	}
}

static void *docker_main(void *arg)
{
	struct docker_collector *dc = arg;

	while (!atomic_load(&dc->stop)) {
		double now = mono_now();
		CURLMsg *msg;
		int running = 0, left = 0;

		if (dc->conn == C_DOWN && now >= dc->retry_at)
			start_ping(dc);
		if (dc->conn == C_UP) {
			if (!dc->list_inflight && now >= dc->next_list_at)
				start_list(dc);
			dispatch_inspects(dc);
			if (now >= dc->next_stream_scan) {
				manage_streams(dc, now);
				dc->next_stream_scan = now + STREAM_SCAN_SECONDS;
			}
		}
		if (now >= dc->next_expire) {
			pthread_mutex_lock(&dc->mu);
			dk_tombs_expire(&dc->tombs, wall_now());
			pthread_mutex_unlock(&dc->mu);
			dc->next_expire = now + 60.0;
		}

		curl_multi_perform(dc->multi, &running);
		while ((msg = curl_multi_info_read(dc->multi, &left))) {
			struct xfer *x = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			if (!x)
				continue;
			on_done(dc, x, msg->data.result);
			x->cancelled = true; /* finished: reaped below */
		}
		reap_cancelled(dc);
		curl_multi_poll(dc->multi, NULL, 0, POLL_MS, NULL);
	}
	cancel_all(dc);
	reap_cancelled(dc);
	return NULL;
}

/* ================================================================== */
/* Merge into the store (sweep thread)                                 */
/* ================================================================== */

/* The stats-stream numbers, one group at a time: a group is copied when
 * the cgroup files did not give it this sweep (or always, in ALWAYS mode).
 * `probe` is the bit that says whether the cgroup collector has the group. */
struct fill_group {
	uint32_t bits;
	uint32_t probe;
};

static const struct fill_group fill_groups[] = {
	{ CSTATD_HAVE_CPU_STAT | CSTATD_HAVE_CPU_BANDWIDTH, CSTATD_HAVE_CPU_STAT },
	{ CSTATD_HAVE_MEM_CURRENT | CSTATD_HAVE_MEM_STAT | CSTATD_HAVE_WORKING_SET,
	  CSTATD_HAVE_MEM_CURRENT },
	{ CSTATD_HAVE_IO_STAT, CSTATD_HAVE_IO_STAT },
	{ CSTATD_HAVE_PIDS_CURRENT, CSTATD_HAVE_PIDS_CURRENT },
	{ CSTATD_HAVE_NETDEV, CSTATD_HAVE_NETDEV },
};

/* Returns the bits it could copy (a device list that cannot grow is not). */
static uint32_t copy_group(struct cstatd_sample *dst, const struct ctr *k, uint32_t bits)
{
	const struct cstatd_sample *src = &k->ss;
	dst->foreign |= bits;

	if (bits & CSTATD_HAVE_CPU_STAT)
		dst->cpu = src->cpu;
	if (bits & CSTATD_HAVE_MEM_CURRENT) {
		dst->mem_current = src->mem_current;
		dst->working_set = src->working_set;
		dst->mem = src->mem;
	}
	if ((bits & CSTATD_HAVE_IO_STAT) && cstatd_sample_set_io(dst, &k->ss_io) != 0)
		bits &= ~CSTATD_HAVE_IO_STAT;
	if (bits & CSTATD_HAVE_PIDS_CURRENT)
		dst->pids_current = src->pids_current;
	if ((bits & CSTATD_HAVE_NETDEV) && cstatd_sample_set_net(dst, &k->ss_net) != 0)
		bits &= ~CSTATD_HAVE_NETDEV;
	return bits;
}

static void fill_sample(const struct docker_collector *dc, struct ctr *k,
			struct cstatd_container *c, double mono)
{
	bool from_cgroup = c->sources & CSTATD_SRC_CGROUP;
	bool fresh = k->ss_valid && mono - k->ss_mono < STREAM_FRESH_SECONDS;
	bool always = dc->stats_mode == DOCKER_STATS_ALWAYS;
	bool lacks_cpu, lacks_mem, lacks_net;
	uint32_t cg_have;
	size_t i;

	/* The cgroup collector rewrites `have` only for records it reads;
	 * elsewhere the bits are ours from the last merge (netdev's bit is
	 * recomputed every sweep by the netdev collector). */
	cg_have = from_cgroup ? c->s.have : (c->s.have & CSTATD_HAVE_NETDEV);
	c->s.have = cg_have;
	/* A group the cgroup files supplied is not taken over by the stream
	 * once the cgroup is gone (container being removed, destroy event not
	 * seen yet): the stream's numbers are another source's, and a counter
	 * would jump back (to 0 from a cgroup v2 dockerd). The series ends. */
	if (from_cgroup)
		k->cg_groups |= cg_have & ~CSTATD_HAVE_NETDEV;

	lacks_cpu = !(cg_have & CSTATD_HAVE_CPU_STAT);
	lacks_mem = !(cg_have & CSTATD_HAVE_MEM_CURRENT);
	/* --network host: Docker reports no networks, and the host's
	 * counters are not the container's. */
	lacks_net = !(cg_have & CSTATD_HAVE_NETDEV) && strcmp(k->info.network_mode, "host") != 0;

	if (fresh) {
		for (i = 0; i < sizeof(fill_groups) / sizeof(fill_groups[0]); i++) {
			const struct fill_group *g = &fill_groups[i];
			uint32_t got = k->ss.have & g->bits;

			if (!got || (!always && ((cg_have | k->cg_groups) & g->probe)))
				continue;
			got &= copy_group(&c->s, k, g->bits);
			c->s.have = (c->s.have & ~g->bits) | got;
		}
	}

	/* Limits from inspect where no cgroup file gave them. The stream's
	 * memory limit of an unlimited container is the host's MemTotal
	 * (§4.3), so inspect is the better source. */
	if (!(c->s.have & CSTATD_HAVE_MEM_MAX)) {
		c->s.mem_max = k->info.mem_limit;
		c->s.have |= CSTATD_HAVE_MEM_MAX;
	}
	if (!(c->s.have & CSTATD_HAVE_CPU_MAX)) {
		c->s.cpu_max.quota_usec = k->info.cpu_quota_usec;
		c->s.cpu_max.period_usec = k->info.cpu_period_usec;
		c->s.have |= CSTATD_HAVE_CPU_MAX;
	}
	if (!(c->s.have & CSTATD_HAVE_PIDS_MAX)) {
		/* pids.max as the stream saw it is the effective limit (systemd's
		 * TasksMax when no --pids-limit, moby#45188). */
		c->s.pids_max = fresh && (k->ss.have & CSTATD_HAVE_PIDS_MAX) ? k->ss.pids_max
									       : k->info.pids_limit;
		c->s.have |= CSTATD_HAVE_PIDS_MAX;
	}

	/* AUTO: vote for a stream; a few sweeps of agreement open or close
	 * it, so discovery lag and transient read failures do not flap it. */
	if (lacks_cpu || lacks_mem || lacks_net) {
		k->unwant_votes = 0;
		if (k->want_votes < WANT_VOTES_OPEN)
			k->want_votes++;
		if (k->want_votes >= WANT_VOTES_OPEN)
			k->want_stream = true;
	} else {
		k->want_votes = 0;
		if (k->unwant_votes < WANT_VOTES_CLOSE)
			k->unwant_votes++;
		if (k->unwant_votes >= WANT_VOTES_CLOSE)
			k->want_stream = false;
	}
}

/* Label values from Docker are cut to --max-label-length once per inspect
 * or rename, by the first merge that sees them, not at every sweep's copy. */
static void cut_info(struct dk_inspect *in, size_t max)
{
	unsigned i;

	cstatd_label_cut(in->name, max);
	cstatd_label_cut(in->image, max);
	cstatd_label_cut(in->image_id, max);
	cstatd_label_cut(in->compose_project, max);
	cstatd_label_cut(in->compose_service, max);
	for (i = 0; i < in->n_labels && i < CSTATD_MAX_LABELS; i++)
		cstatd_label_cut(in->labels[i].value, max);
}

static void fill_docker_info(const struct ctr *k, struct cstatd_container *c)
{
	const struct dk_inspect *in = &k->info;
	struct cstatd_docker_info *d = &c->docker;

	d->known = true;
	memcpy(d->image_id, in->image_id, sizeof(d->image_id));
	memcpy(d->compose_project, in->compose_project, sizeof(d->compose_project));
	memcpy(d->compose_service, in->compose_service, sizeof(d->compose_service));
	/* Copied only when they changed; on -ENOMEM the old set stays. */
	(void)cstatd_container_set_labels(c, in->labels, in->n_labels);
	d->state = in->state;
	d->health = in->health;
	d->pid = in->pid;
	d->created_at = in->created_at;
	d->has_exit_code = k->has_exit_code;
	d->last_exit_code = k->last_exit_code;
	d->restarts_total = k->rs.total;
	d->oom_kills_docker = dk_oom_docker_only(&k->oom);
	d->risks_known = in->risks_known;
	d->risks = in->risks;
}

void docker_collector_merge(struct docker_collector *dc, struct cstatd_store *st, double now)
{
	double mono = mono_now();
	size_t i, n;
	uint64_t seq;

	(void)now;
	if (!dc)
		return;
	pthread_mutex_lock(&dc->mu);
	seq = ++dc->merge_seq;
	for (i = 0; i < dc->tab.n; i++) {
		struct ctr *k = dc->tab.v[i];
		struct cstatd_container *c;

		if (!k->have_info)
			continue;
		c = cstatd_store_get(st, k->id);
		/* While dockerd does not answer, only records the cgroup
		 * collector still sees are enriched: nothing stale is added. */
		if (!c && dc->up)
			c = cstatd_store_add(st, k->id);
		if (!c)
			continue;
		k->merge_seq = seq;
		if (dc->up)
			c->sources |= CSTATD_SRC_DOCKER;
		else
			c->sources &= ~CSTATD_SRC_DOCKER;

		if (!k->info_cut) {
			cut_info(&k->info, cstatd_store_label_max(st));
			k->info_cut = true;
		}
		cstatd_container_setf(&c->name, "%s", k->info.name[0] ? k->info.name : k->id);
		cstatd_container_setf(&c->image, "%s", k->info.image);
		snprintf(c->runtime, sizeof(c->runtime), "%s", dc->podman ? "podman" : "docker");
		c->is_container = true;
		if (k->info.started_at > 0)
			c->start_time = k->info.started_at;
		else if (k->info.created_at > 0)
			c->start_time = k->info.created_at;
		if (c->sources & CSTATD_SRC_DOCKER)
			c->last_seen = now;

		if (!c->cgroup_path && k->hint_fresh && k->cgroup_rel[0]) {
			/* Handed over once per resolution: the cgroup collector
			 * clears the hint after one attempt, and a path it
			 * cannot open must not be retried every sweep. */
			if (cstatd_container_set_hint(c, k->cgroup_rel) == 0)
				k->hint_fresh = false;
		}

		if ((c->sources & CSTATD_SRC_CGROUP) && (c->s.have & CSTATD_HAVE_MEM_EVENTS))
			dk_oom_mem(&k->oom, c->s.mem_events.oom_kill);
		fill_sample(dc, k, c, mono);
		fill_docker_info(k, c);
		c->oom_kills_total = dk_oom_total(&k->oom);
	}

	/* Records Docker does not know (any more). */
	n = cstatd_store_count(st);
	for (i = 0; i < n; i++) {
		struct cstatd_container *c = cstatd_store_at(st, i);
		struct ctr *k = dk_valid_id(c->key) ? tab_get(&dc->tab, c->key) : NULL;

		if (k && k->merge_seq == seq)
			continue;
		if (c->docker.known)
			cstatd_container_forget_docker(c);
		c->sources &= ~CSTATD_SRC_DOCKER;
		if (c->s.have & CSTATD_HAVE_MEM_EVENTS)
			c->oom_kills_total = c->s.mem_events.oom_kill;
	}
	pthread_mutex_unlock(&dc->mu);
}

/* ================================================================== */
/* Start and stop                                                      */
/* ================================================================== */

static const char *const event_actions[] = {
	"create", "start", "restart", "die", "oom", "pause", "unpause", "destroy",
	"rename", "update", "health_status",
	/* Podman's removal; "health_status" makes the daemon prefix-match
	 * every value, so "die" also matches Podman's "died" (§6.1). */
	"remove",
};

static char *build_events_filter(CURL *e)
{
	char json[512];
	size_t off = 0, i;

	off += (size_t)snprintf(json + off, sizeof(json) - off,
				"{\"type\":[\"container\"],\"event\":[");
	for (i = 0; i < sizeof(event_actions) / sizeof(event_actions[0]); i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off, "%s\"%s\"", i ? "," : "",
					event_actions[i]);
	snprintf(json + off, sizeof(json) - off, "]}");
	return curl_easy_escape(e, json, 0);
}

static void dc_free(struct docker_collector *dc)
{
	size_t i;

	if (!dc)
		return;
	if (dc->multi)
		curl_multi_cleanup(dc->multi);
	for (i = 0; i < dc->tab.n; i++)
		free(dc->tab.v[i]);
	free(dc->tab.v);
	free(dc->tab.slots);
	dk_tombs_free(&dc->tombs);
	dk_allowlist_free(&dc->allow);
	if (dc->events_filter)
		curl_free(dc->events_filter);
	free(dc->host);
	free(dc->socket_path);
	free(dc->base_url);
	free(dc->proc_root);
	pthread_mutex_destroy(&dc->mu);
	free(dc);
}

/* unix:///path → socket path + http://localhost; tcp://h:p or http://h:p
 * → http://h:p. Docker ignores the Host, but libcurl needs one (§0). */
static int parse_host(struct docker_collector *dc, const char *host)
{
	const char *rest;
	size_t n;

	if (strncmp(host, "unix://", 7) == 0) {
		rest = host + 7;
		if (rest[0] != '/')
			return -EINVAL;
		dc->socket_path = strdup(rest);
		dc->base_url = strdup("http://localhost");
	} else if (strncmp(host, "tcp://", 6) == 0 || strncmp(host, "http://", 7) == 0) {
		rest = strstr(host, "://") + 3;
		n = strcspn(rest, "/");
		if (n == 0)
			return -EINVAL;
		if (asprintf(&dc->base_url, "http://%.*s", (int)n, rest) < 0)
			dc->base_url = NULL;
		if (!dc->base_url)
			return -ENOMEM;
		return 0;
	} else {
		return -EINVAL; /* ssh://, npipe://, https:// (TLS needs certs) */
	}
	return dc->socket_path && dc->base_url ? 0 : -ENOMEM;
}

int docker_collector_start(const struct docker_config *cfg, struct docker_collector **out)
{
	struct docker_collector *dc;
	CURL *tmp;
	int rc;

	if (!cfg || !cfg->host || !out)
		return -EINVAL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	dc = calloc(1, sizeof(*dc));
	if (!dc) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	pthread_mutex_init(&dc->mu, NULL);
	dc->stats_mode = cfg->stats_mode;
	dc->tombstone_seconds = cfg->tombstone_seconds > 0 ? cfg->tombstone_seconds : 3600.0;
	dc->backoff = BACKOFF_MIN;
	dc->host = strdup(cfg->host);
	dc->proc_root = strdup(cfg->proc_root ? cfg->proc_root : "/proc");
	if (!dc->host || !dc->proc_root) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = parse_host(dc, cfg->host);
	if (rc < 0) {
		log_error("unsupported --docker-host; use unix:///path or tcp://host:port",
			  "host=%s", cfg->host);
		goto fail;
	}
	rc = dk_allowlist_init(&dc->allow, cfg->label_allowlist);
	if (rc < 0)
		goto fail;
	tmp = curl_easy_init();
	dc->events_filter = tmp ? build_events_filter(tmp) : NULL;
	if (tmp)
		curl_easy_cleanup(tmp);
	dc->multi = curl_multi_init();
	if (!dc->events_filter || !dc->multi) {
		rc = -ENOMEM;
		goto fail;
	}
	atomic_store(&cstatd_stats.docker_up, 0);
	rc = -pthread_create(&dc->thread, NULL, docker_main, dc);
	if (rc != 0)
		goto fail;
	dc->thread_started = true;
	*out = dc;
	return 0;
fail:
	dc_free(dc);
	curl_global_cleanup();
	return rc;
}

void docker_collector_stop(struct docker_collector *dc)
{
	if (!dc)
		return;
	atomic_store(&dc->stop, true);
	if (dc->thread_started) {
		curl_multi_wakeup(dc->multi);
		pthread_join(dc->thread, NULL);
	}
	atomic_store(&cstatd_stats.docker_up, 0);
	dc_free(dc);
	curl_global_cleanup();
}
