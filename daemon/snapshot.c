/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cstatd/snapshot.h"

#define POOL_MAX 32
#define WANT_SECONDS 60

/* ------------------------------------------------------------------ */
/* Buffers                                                             */
/* ------------------------------------------------------------------ */

void cstatd_buf_init(struct cstatd_buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

void cstatd_buf_free(struct cstatd_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int cstatd_buf_reserve(struct cstatd_buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return 0;
	if (b->len + n > b->limit) {
		b->overflow = true;
		return -E2BIG;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	if (cap > b->limit)
		cap = b->limit;
	char *p = realloc(b->data, cap);
	if (!p) {
		b->overflow = true;
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void cstatd_buf_append(struct cstatd_buf *b, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (cstatd_buf_reserve(b, n) == 0) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
	}
}

/* A pooled buffer keeps its capacity between sweeps, so after a peak (many
 * containers for a while) it would hold the peak's size for good: when the
 * last body filled a quarter of it or less, shrink it to the size growth
 * would have given that body. Steady bodies never trigger it. */
static void buf_trim(struct cstatd_buf *b)
{
	size_t cap = 4096;
	if (b->cap <= ((size_t)64 << 10) || b->cap / 4 < b->len)
		return;
	while (cap < b->len)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (p) {
		b->data = p;
		b->cap = cap;
	}
}

/* ------------------------------------------------------------------ */
/* Pool and the current snapshot                                       */
/* ------------------------------------------------------------------ */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cstatd_snapshot *pool[POOL_MAX];
static struct cstatd_snapshot *current;
static _Atomic long wanted_until[CSTATD_BODY_VARIANTS];
static _Atomic bool ready;

/* Bodies are capped at 256 MiB: far above 5000 containers (~10 MB). */
#define BODY_LIMIT ((size_t)256 << 20)

struct cstatd_snapshot *cstatd_snapshot_acquire(void)
{
	pthread_mutex_lock(&lock);
	struct cstatd_snapshot *s = current;
	if (s)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&lock);
	return s;
}

void cstatd_snapshot_release(struct cstatd_snapshot *s)
{
	if (s)
		atomic_fetch_sub(&s->refs, 1);
}

struct cstatd_snapshot *cstatd_snapshot_begin(void)
{
	struct cstatd_snapshot *s = NULL;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < POOL_MAX && !s; i++) {
		if (!pool[i]) {
			pool[i] = calloc(1, sizeof(*pool[i]));
			if (!pool[i])
				break;
			for (int v = 0; v < CSTATD_BODY_VARIANTS; v++)
				cstatd_buf_init(&pool[i]->body[v], BODY_LIMIT);
			pthread_mutex_init(&pool[i]->derive_lock, NULL);
			s = pool[i];
		} else if (pool[i] != current && atomic_load(&pool[i]->refs) == 0) {
			s = pool[i];
		}
	}
	pthread_mutex_unlock(&lock);
	if (s) {
		for (int v = 0; v < CSTATD_BODY_VARIANTS; v++) {
			if (s->has[v]) {
				buf_trim(&s->body[v]);
			} else if (s->body[v].cap) {
				/* Not made in this snapshot's last turn: a gzip
				 * copy nobody asked for since (Prometheus every
				 * 15 s derives one in fifteen sweeps), a JSON
				 * body no client reads. Give it back rather than
				 * keep one per pooled snapshot; a variant made at
				 * every sweep is never freed here. */
				cstatd_buf_free(&s->body[v]);
				cstatd_buf_init(&s->body[v], BODY_LIMIT);
			}
			s->has[v] = false;
			s->body[v].len = 0;
			s->body[v].overflow = false;
		}
		s->n_entries = 0;
		s->n_spans = 0;
		s->n_om = 0;
	}
	return s;
}

void cstatd_snapshot_publish(struct cstatd_snapshot *s)
{
	pthread_mutex_lock(&lock);
	current = s;
	pthread_mutex_unlock(&lock);
	atomic_store(&ready, true);
}

void cstatd_snapshot_shutdown(void)
{
	pthread_mutex_lock(&lock);
	current = NULL;
	for (int i = 0; i < POOL_MAX; i++) {
		if (!pool[i])
			continue;
		for (int v = 0; v < CSTATD_BODY_VARIANTS; v++)
			cstatd_buf_free(&pool[i]->body[v]);
		free(pool[i]->entries);
		free(pool[i]->spans);
		free(pool[i]->om);
		pthread_mutex_destroy(&pool[i]->derive_lock);
		free(pool[i]);
		pool[i] = NULL;
	}
	pthread_mutex_unlock(&lock);
}

static long mono_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

void cstatd_snapshot_want(enum cstatd_variant v)
{
	atomic_store(&wanted_until[v], mono_seconds() + WANT_SECONDS);
}

bool cstatd_snapshot_wanted(enum cstatd_variant v)
{
	/* Plain text, alerts and rules are always rendered; the rest only
	 * while clients ask for them. */
	if (v == CSTATD_BODY_TEXT || v == CSTATD_BODY_ALERTS_JSON || v == CSTATD_BODY_RULES_JSON)
		return true;
	return atomic_load(&wanted_until[v]) > mono_seconds();
}

int cstatd_snapshot_reserve_spans(struct cstatd_snapshot *s, size_t n)
{
	if (n <= s->cap_spans)
		return 0;
	struct cstatd_span *sp = realloc(s->spans, n * sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	s->spans = sp;
	s->cap_spans = n;
	return 0;
}

int cstatd_snapshot_add_entry(struct cstatd_snapshot *s, const char *key, const char *name,
                              size_t off, size_t len)
{
	if (s->n_entries == s->cap_entries) {
		size_t cap = s->cap_entries ? s->cap_entries * 2 : 64;
		struct cstatd_snapshot_entry *e = realloc(s->entries, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		s->entries = e;
		s->cap_entries = cap;
	}
	struct cstatd_snapshot_entry *e = &s->entries[s->n_entries++];
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->off = off;
	e->len = len;
	return 0;
}

bool cstatd_snapshot_ready(void)
{
	return atomic_load(&ready);
}
