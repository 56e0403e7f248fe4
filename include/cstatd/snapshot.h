/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rendered snapshot: what the sweep thread publishes at the end of each
 * sweep and what every HTTP request serves. Snapshots are refcounted and
 * recycled from a small pool, so a sweep allocates nothing once the bodies
 * have grown to size, and a scrape never waits for a sweep: it takes a
 * reference to the current snapshot and sends its bytes.
 */
#ifndef CSTATD_SNAPSHOT_H
#define CSTATD_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* A growable byte buffer with a hard cap (set at creation). */
struct cstatd_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit; /* hard cap; appends beyond it set `overflow` */
	bool overflow;
};

void cstatd_buf_init(struct cstatd_buf *b, size_t limit);
void cstatd_buf_free(struct cstatd_buf *b);
/* Makes room for `n` more bytes. Returns 0, or -ENOMEM / -E2BIG (cap). */
int cstatd_buf_reserve(struct cstatd_buf *b, size_t n);
void cstatd_buf_append(struct cstatd_buf *b, const char *s, size_t n);
/* cstatd_buf_append, inline while there is room (the renderer appends
 * ~150 000 short pieces per sweep at 1000 containers). */
static inline void cstatd_buf_put(struct cstatd_buf *b, const char *s, size_t n)
{
	if (n && n <= b->cap - b->len) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
	} else {
		cstatd_buf_append(b, s, n);
	}
}

enum cstatd_variant {
	CSTATD_BODY_TEXT = 0, /* text/plain; version=0.0.4 */
	CSTATD_BODY_TEXT_GZ,
	CSTATD_BODY_OM, /* application/openmetrics-text; version=1.0.0 */
	CSTATD_BODY_OM_GZ,
	CSTATD_BODY_ALERTS_JSON,     /* GET /alerts */
	CSTATD_BODY_RULES_JSON,      /* GET /alerts/rules */
	CSTATD_BODY_CONTAINERS_JSON, /* GET /api/v1/containers (only while asked for) */
	CSTATD_BODY_VARIANTS
};

/* Where one container's object sits inside the containers JSON body, for
 * GET /api/v1/containers/<name or id>. */
struct cstatd_snapshot_entry {
	char key[72];
	char name[256];
	size_t off, len;
};

/* Where one metric family's sample lines sit in the plain-text body (after
 * its # HELP and # TYPE lines). The OpenMetrics body is derived from these. */
struct cstatd_span {
	size_t off, len;
};

/* A piece of a body served as it lies, without a copy (the layout of
 * libmicrohttpd's struct MHD_IoVec). */
struct cstatd_piece {
	const void *base;
	size_t len;
};

struct cstatd_snapshot {
	_Atomic int refs;
	/* Set by the sweep before publishing; the derived variants (OpenMetrics,
	 * gzip) are set later by the first request that needs them, under
	 * derive_lock, hence atomic. */
	_Atomic bool has[CSTATD_BODY_VARIANTS];
	struct cstatd_buf body[CSTATD_BODY_VARIANTS];
	struct cstatd_span *spans; /* one per metric family; capacity kept */
	size_t n_spans, cap_spans;
	/* CSTATD_BODY_OM is not copied: it is these pieces (its own HELP/TYPE
	 * lines, the text body's sample spans, "# EOF"); body[OM] stays empty. */
	struct cstatd_piece *om;
	size_t n_om, cap_om;
	pthread_mutex_t derive_lock;
	struct cstatd_snapshot_entry *entries; /* capacity kept between sweeps */
	size_t n_entries, cap_entries;
	double sweep_time; /* unix seconds */
};

/* Makes room for n spans (kept between sweeps). Returns 0 or -ENOMEM. */
int cstatd_snapshot_reserve_spans(struct cstatd_snapshot *s, size_t n);

/* Appends an entry, growing the array. Returns 0 or -ENOMEM. */
int cstatd_snapshot_add_entry(struct cstatd_snapshot *s, const char *key, const char *name,
                              size_t off, size_t len);

/* Current snapshot with a reference taken (caller must release), or NULL
 * before the first sweep has completed. */
struct cstatd_snapshot *cstatd_snapshot_acquire(void);
void cstatd_snapshot_release(struct cstatd_snapshot *s);

/* Sweep thread: a snapshot nobody references, to render into (its buffers
 * keep their capacity; `has` is cleared). NULL if the pool is exhausted. */
struct cstatd_snapshot *cstatd_snapshot_begin(void);
/* Sweep thread: makes `s` current; the previous one is released. */
void cstatd_snapshot_publish(struct cstatd_snapshot *s);
/* Frees the pool at exit (no request may be in flight). */
void cstatd_snapshot_shutdown(void);

/* HTTP: a client asked for a variant; the sweep renders the containers JSON
 * only while it was asked for in the last minute. (The metrics variants other
 * than plain text are derived on demand instead: render_derive.) */
void cstatd_snapshot_want(enum cstatd_variant v);
bool cstatd_snapshot_wanted(enum cstatd_variant v);

/* The process is ready once the first complete sweep was published. */
bool cstatd_snapshot_ready(void);

#endif
