/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rolling windows; see windows.h for resolution, counter and memory
 * semantics.
 *
 * Storage of one container: a header (struct cstatd_windows) and, for each
 * signal that has had a value, one block (struct sig_block): its state,
 * then its float channels window after window, then (gauges) its counts:
 *   floats[nch * bucket_off[k] + ch * B_k + slot], counts[bucket_off[k] + slot]
 * A signal a container never has takes no rings at all.
 * Channels per signal kind:
 *   gauge       sum, min, max, toff (Σ sample time − bucket start)  + count
 *   counter     num (Σ increase), den (Σ seconds)
 *   rate_time   num (Σ increase), den (Σ seconds)
 *   rate_ratio  num (Σ Δnum), den (Σ Δden), dt (Σ seconds)
 * Slot of bucket index i (= floor(t / width)) is i mod B; the ring's head
 * is the newest bucket index, and slots of buckets that the head moved
 * past are cleared, so every slot holds either a bucket of the window or
 * zeros.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/duration.h"
#include "daemon/windows.h"

enum { CH_SUM = 0, CH_MIN, CH_MAX, CH_TOFF }; /* gauges */
enum { CH_NUM = 0, CH_DEN, CH_DT };           /* counters and rates */

struct sig_state {
	double prev_v, prev_den, prev_t; /* last raw reading (counters, rates) */
	double last_v, last_t;           /* gauge level / counter total / last ratio */
	bool has_prev, has_last;
};

struct ring {
	int64_t head; /* newest bucket index */
};

/* One signal's state and rings: nch floats × total_buckets (window k's
 * channel ch at nch * bucket_off[k] + ch * buckets[k]), then for gauges
 * total_buckets counts. */
struct sig_block {
	struct sig_state st;
	float f[];
};

struct cstatd_windows {
	const struct cstatd_window_layout *l; /* borrowed: see cstatd_windows_new */
	bool started;
	double last_push;
	struct ring ring[CSTATD_WINDOWS_MAX];
	struct sig_block *sig[CSTATD_SIG_COUNT]; /* NULL until the signal has a value */
};

/* ======================================================================== */
/* Layout                                                                   */
/* ======================================================================== */

static unsigned channels_of(enum cstatd_signal_kind k)
{
	switch (k) {
	case CSTATD_KIND_GAUGE:
		return 4;
	case CSTATD_KIND_COUNTER:
	case CSTATD_KIND_RATE_TIME:
		return 2;
	case CSTATD_KIND_RATE_RATIO:
		return 3;
	case CSTATD_KIND_STATE:
		return 0;
	}
	return 0;
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int cstatd_window_layout_init(struct cstatd_window_layout *out, const uint64_t *windows_ms,
                              size_t n, uint64_t interval_ms)
{
	struct cstatd_window_layout l;

	if (n == 0 || interval_ms == 0)
		return -EINVAL;
	memset(&l, 0, sizeof(l));
	l.interval_ms = interval_ms;
	for (size_t i = 0; i < n; i++) {
		uint64_t w = windows_ms[i];
		bool dup = false;

		if (w < 2 * interval_ms || w > CSTATD_WINDOW_MAX_MS)
			return -EINVAL;
		for (unsigned k = 0; k < l.n; k++)
			dup |= l.window_ms[k] == w;
		if (dup)
			continue;
		if (l.n == CSTATD_WINDOWS_MAX)
			return -EINVAL;
		/* insertion sort: ascending */
		unsigned k = l.n++;
		while (k > 0 && l.window_ms[k - 1] > w) {
			l.window_ms[k] = l.window_ms[k - 1];
			k--;
		}
		l.window_ms[k] = w;
	}
	for (unsigned k = 0; k < l.n; k++) {
		/* Never a bucket narrower than a sweep: a window of 10 s at
		 * 1 s gets 10 buckets, not 12 half-empty ones. */
		uint64_t per_interval = l.window_ms[k] / interval_ms;
		l.buckets[k] = per_interval < CSTATD_WINDOW_BUCKETS ? (unsigned)per_interval
		                                                    : CSTATD_WINDOW_BUCKETS;
		l.bucket_s[k] = (double)l.window_ms[k] / 1000.0 / (double)l.buckets[k];
	}
	for (unsigned k = 0; k < l.n; k++) {
		l.bucket_off[k] = l.total_buckets;
		l.total_buckets += l.buckets[k];
	}
	l.bytes = align8(sizeof(struct cstatd_windows));
	for (int s = 0; s < CSTATD_SIG_COUNT; s++) {
		enum cstatd_signal_kind kind = cstatd_signal_defs[s].kind;
		bool gauge = kind == CSTATD_KIND_GAUGE;
		l.nch[s] = channels_of(kind);
		l.floats_per_bucket += l.nch[s];
		l.counts_per_bucket += gauge;
		l.sig_bytes[s] = align8(sizeof(struct sig_block) +
		                        sizeof(float) * l.nch[s] * l.total_buckets +
		                        (gauge ? sizeof(uint16_t) * l.total_buckets : 0));
		l.bytes += l.sig_bytes[s];
	}
	*out = l;
	return 0;
}

int cstatd_window_layout_index(const struct cstatd_window_layout *l, uint64_t ms)
{
	for (unsigned k = 0; k < l->n; k++)
		if (l->window_ms[k] == ms)
			return (int)k;
	return -ENOENT;
}

bool cstatd_window_layout_equal(const struct cstatd_window_layout *a,
                                const struct cstatd_window_layout *b)
{
	if (a->n != b->n || a->interval_ms != b->interval_ms)
		return false;
	for (unsigned k = 0; k < a->n; k++)
		if (a->window_ms[k] != b->window_ms[k])
			return false;
	return true;
}

size_t cstatd_window_layout_bytes(const struct cstatd_window_layout *l)
{
	return l->bytes;
}

/* ======================================================================== */
/* Rings                                                                    */
/* ======================================================================== */

/* Only for a signal whose block exists (w->sig[s] != NULL). */
static inline float *chan(const struct cstatd_windows *w, unsigned k, enum cstatd_signal s,
                          unsigned ch)
{
	const struct cstatd_window_layout *l = w->l;
	return w->sig[s]->f + (size_t)l->nch[s] * l->bucket_off[k] + (size_t)ch * l->buckets[k];
}

static inline uint16_t *counts(const struct cstatd_windows *w, unsigned k, enum cstatd_signal s)
{
	const struct cstatd_window_layout *l = w->l;
	return (uint16_t *)(w->sig[s]->f + (size_t)l->nch[s] * l->total_buckets) +
	       l->bucket_off[k];
}

static unsigned slot_of(int64_t idx, unsigned nb)
{
	int64_t m = idx % (int64_t)nb;
	return (unsigned)(m < 0 ? m + nb : m);
}

static void clear_slot(struct cstatd_windows *w, unsigned k, unsigned slot)
{
	for (int si = 0; si < CSTATD_SIG_COUNT; si++) {
		enum cstatd_signal s = (enum cstatd_signal)si;
		if (!w->sig[s] || w->l->nch[s] == 0)
			continue;
		for (unsigned c = 0; c < w->l->nch[s]; c++)
			chan(w, k, s, c)[slot] = 0.0f;
		if (cstatd_signal_defs[s].kind == CSTATD_KIND_GAUGE)
			counts(w, k, s)[slot] = 0;
	}
}

static void reset_all(struct cstatd_windows *w)
{
	for (int s = 0; s < CSTATD_SIG_COUNT; s++)
		if (w->sig[s])
			memset(w->sig[s], 0, w->l->sig_bytes[s]);
	w->started = false;
	w->last_push = 0;
}

struct cstatd_windows *cstatd_windows_new(const struct cstatd_window_layout *l)
{
	struct cstatd_windows *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->l = l;
	return w;
}

void cstatd_windows_free(struct cstatd_windows *w)
{
	if (!w)
		return;
	for (int s = 0; s < CSTATD_SIG_COUNT; s++)
		free(w->sig[s]);
	free(w);
}

size_t cstatd_windows_bytes(const struct cstatd_windows *w)
{
	size_t n = align8(sizeof(*w));
	for (int s = 0; s < CSTATD_SIG_COUNT; s++)
		if (w->sig[s])
			n += w->l->sig_bytes[s];
	return n;
}

double cstatd_windows_last_time(const struct cstatd_windows *w)
{
	return w->last_push;
}

const struct cstatd_window_layout *cstatd_windows_layout(const struct cstatd_windows *w)
{
	return w->l;
}

/* Moves ring k's head to the bucket of t, clearing the buckets passed. */
static unsigned advance(struct cstatd_windows *w, unsigned k, double t)
{
	unsigned nb = w->l->buckets[k];
	int64_t idx = (int64_t)floor(t / w->l->bucket_s[k]);
	struct ring *r = &w->ring[k];

	if (!w->started) {
		r->head = idx;
	} else if (idx > r->head) {
		int64_t gap = idx - r->head;
		if (gap >= nb) {
			for (unsigned s = 0; s < nb; s++)
				clear_slot(w, k, s);
		} else {
			for (int64_t i = r->head + 1; i <= idx; i++)
				clear_slot(w, k, slot_of(i, nb));
		}
		r->head = idx;
	}
	return slot_of(idx, nb);
}

/* Increase of a counter between two readings; a drop is a reset to 0. */
static double counter_delta(double prev, double cur)
{
	return cur >= prev ? cur - prev : cur;
}

static void add_u16(uint16_t *p)
{
	if (*p < UINT16_MAX)
		(*p)++;
}

int cstatd_windows_push(struct cstatd_windows *w, const struct cstatd_signal_values *v, double t)
{
	int rc = 0;
	unsigned slot[CSTATD_WINDOWS_MAX];

	if (w->started && t == w->last_push)
		return -EALREADY;
	if (w->started && t < w->last_push) {
		reset_all(w);
		rc = -ERANGE;
	}
	for (unsigned k = 0; k < w->l->n; k++)
		slot[k] = advance(w, k, t);
	w->started = true;
	w->last_push = t;

	for (int si = 0; si < CSTATD_SIG_COUNT; si++) {
		enum cstatd_signal s = (enum cstatd_signal)si;
		enum cstatd_signal_kind kind = cstatd_signal_defs[s].kind;
		struct sig_state *st;
		double x = v->v[s];

		if (!(v->have & (1u << s)) || !isfinite(x))
			continue;
		if (!w->sig[s]) {
			/* The first value of this signal: its rings start now
			 * (zeroed buckets are empty buckets). */
			w->sig[s] = calloc(1, w->l->sig_bytes[s]);
			if (!w->sig[s]) {
				rc = -ENOMEM;
				continue;
			}
		}
		st = &w->sig[s]->st;
		if (kind == CSTATD_KIND_STATE) {
			st->last_v = x;
			st->last_t = t;
			st->has_last = true;
			continue;
		}
		if (kind == CSTATD_KIND_GAUGE) {
			for (unsigned k = 0; k < w->l->n; k++) {
				unsigned sl = slot[k], nb = w->l->buckets[k];
				float *sum = chan(w, k, s, CH_SUM), *mn = chan(w, k, s, CH_MIN);
				float *mx = chan(w, k, s, CH_MAX), *toff = chan(w, k, s, CH_TOFF);
				uint16_t *cnt = counts(w, k, s);
				double start = (double)w->ring[k].head * w->l->bucket_s[k];
				(void)nb;
				if (cnt[sl] == 0 || x < mn[sl])
					mn[sl] = (float)x;
				if (cnt[sl] == 0 || x > mx[sl])
					mx[sl] = (float)x;
				sum[sl] += (float)x;
				toff[sl] += (float)(t - start);
				add_u16(&cnt[sl]);
			}
			st->last_v = x;
			st->last_t = t;
			st->has_last = true;
			continue;
		}
		/* counters and rates */
		double den = v->den[s];
		if (kind == CSTATD_KIND_RATE_RATIO && !isfinite(den))
			continue;
		if (st->has_prev) {
			double dnum = counter_delta(st->prev_v, x);
			double dt = t - st->prev_t;
			double dden =
			    kind == CSTATD_KIND_RATE_RATIO ? counter_delta(st->prev_den, den) : dt;
			for (unsigned k = 0; k < w->l->n; k++) {
				unsigned sl = slot[k];
				chan(w, k, s, CH_NUM)[sl] += (float)dnum;
				chan(w, k, s, CH_DEN)[sl] += (float)dden;
				if (kind == CSTATD_KIND_RATE_RATIO)
					chan(w, k, s, CH_DT)[sl] += (float)dt;
			}
			if (kind == CSTATD_KIND_COUNTER) {
				st->last_v = x;
				st->last_t = t;
				st->has_last = true;
			} else if (dden > 0) {
				st->last_v = dnum / dden;
				st->last_t = t;
				st->has_last = true;
			}
		} else if (kind == CSTATD_KIND_COUNTER) {
			st->last_v = x;
			st->last_t = t;
			st->has_last = true;
		}
		st->prev_v = x;
		st->prev_den = den;
		st->prev_t = t;
		st->has_prev = true;
	}
	return rc;
}

/* ======================================================================== */
/* Aggregates                                                               */
/* ======================================================================== */

/* Bucket index held by `slot` of ring k. */
static int64_t idx_of_slot(const struct cstatd_windows *w, unsigned k, unsigned slot)
{
	unsigned nb = w->l->buckets[k];
	unsigned head_slot = slot_of(w->ring[k].head, nb);
	unsigned back = (head_slot + nb - slot) % nb;
	return w->ring[k].head - (int64_t)back;
}

static bool in_window(const struct cstatd_windows *w, unsigned k, double t)
{
	int64_t idx = (int64_t)floor(t / w->l->bucket_s[k]);
	return idx > w->ring[k].head - (int64_t)w->l->buckets[k] && idx <= w->ring[k].head;
}

/* One point per bucket for the trend: x relative to the head bucket's
 * start (keeps the sums small), y the bucket's mean value or rate. */
static bool bucket_point(const struct cstatd_windows *w, unsigned k, enum cstatd_signal s,
                         unsigned sl, double *x, double *y)
{
	double bw = w->l->bucket_s[k];
	double rel_start = (double)(idx_of_slot(w, k, sl) - w->ring[k].head) * bw;

	if (cstatd_signal_defs[s].kind == CSTATD_KIND_GAUGE) {
		uint16_t n = counts(w, k, s)[sl];
		if (n == 0)
			return false;
		*x = rel_start + (double)chan(w, k, s, CH_TOFF)[sl] / n;
		*y = (double)chan(w, k, s, CH_SUM)[sl] / n;
		return true;
	}
	double den = chan(w, k, s, CH_DEN)[sl];
	if (!(den > 0))
		return false;
	*x = rel_start + bw / 2;
	*y = (double)chan(w, k, s, CH_NUM)[sl] / den;
	return true;
}

int cstatd_windows_trend(const struct cstatd_windows *w, enum cstatd_signal s, unsigned k,
                         double horizon_s, double *slope_per_s, double *value_at)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, x, y;
	unsigned n = 0;

	if (k >= w->l->n || (unsigned)s >= CSTATD_SIG_COUNT ||
	    !cstatd_agg_valid(CSTATD_AGG_PREDICT, cstatd_signal_defs[s].kind))
		return -EINVAL;
	if (!w->started || !w->sig[s])
		return -ENODATA;
	/* Two passes (means first) keep the regression well conditioned. */
	for (unsigned sl = 0; sl < w->l->buckets[k]; sl++) {
		if (!bucket_point(w, k, s, sl, &x, &y))
			continue;
		sx += x;
		sy += y;
		n++;
	}
	if (n < 2)
		return -ENODATA;
	double mx = sx / n, my = sy / n;
	for (unsigned sl = 0; sl < w->l->buckets[k]; sl++) {
		if (!bucket_point(w, k, s, sl, &x, &y))
			continue;
		sxx += (x - mx) * (x - mx);
		sxy += (x - mx) * (y - my);
	}
	if (!(sxx > 0))
		return -ENODATA;
	double b = sxy / sxx;
	double now_rel = w->last_push - (double)w->ring[k].head * w->l->bucket_s[k];
	*slope_per_s = b;
	*value_at = my + b * (now_rel + horizon_s - mx);
	return 0;
}

int cstatd_windows_predict(const struct cstatd_windows *w, enum cstatd_signal s, unsigned k,
                           double threshold, double *seconds)
{
	double b, f0;
	int rc = cstatd_windows_trend(w, s, k, 0, &b, &f0);

	if (rc)
		return rc;
	if (f0 == threshold) {
		*seconds = 0;
		return 0;
	}
	/* The crossing must lie ahead: a line that moves away from the
	 * threshold (or crossed it already and goes on) never reaches it. */
	if (b == 0 || (threshold - f0) / b < 0)
		return -ERANGE;
	*seconds = (threshold - f0) / b;
	return 0;
}

int cstatd_windows_aggregate(const struct cstatd_windows *w, enum cstatd_signal s, unsigned k,
                             enum cstatd_agg agg, double *out)
{
	enum cstatd_signal_kind kind;
	const struct sig_state *st;
	unsigned nb;

	if (k >= w->l->n || (unsigned)s >= CSTATD_SIG_COUNT || (unsigned)agg >= CSTATD_AGG_COUNT)
		return -EINVAL;
	kind = cstatd_signal_defs[s].kind;
	if (!cstatd_agg_valid(agg, kind))
		return -EINVAL;
	if (!w->started || !w->sig[s])
		return -ENODATA;
	st = &w->sig[s]->st;
	nb = w->l->buckets[k];

	if (agg == CSTATD_AGG_LAST) {
		if (!st->has_last || !in_window(w, k, st->last_t))
			return -ENODATA;
		*out = st->last_v;
		return 0;
	}
	if (agg == CSTATD_AGG_PREDICT) {
		double b, v;
		int rc = cstatd_windows_trend(w, s, k, 0, &b, &v);
		if (rc == 0)
			*out = v;
		return rc;
	}

	if (kind == CSTATD_KIND_GAUGE) {
		const float *sum = chan(w, k, s, CH_SUM), *mn = chan(w, k, s, CH_MIN);
		const float *mx = chan(w, k, s, CH_MAX);
		const uint16_t *cnt = counts(w, k, s);
		double total = 0, lo = 0, hi = 0;
		uint64_t n = 0;
		for (unsigned sl = 0; sl < nb; sl++) {
			if (!cnt[sl])
				continue;
			if (n == 0 || mn[sl] < lo)
				lo = mn[sl];
			if (n == 0 || mx[sl] > hi)
				hi = mx[sl];
			total += sum[sl];
			n += cnt[sl];
		}
		if (n == 0)
			return -ENODATA;
		*out = agg == CSTATD_AGG_AVG ? total / (double)n : agg == CSTATD_AGG_MIN ? lo : hi;
		return 0;
	}

	/* counters and rates */
	const float *num = chan(w, k, s, CH_NUM), *den = chan(w, k, s, CH_DEN);
	const float *dt = kind == CSTATD_KIND_RATE_RATIO ? chan(w, k, s, CH_DT) : den;
	double snum = 0, sden = 0, sdt = 0, lo = 0, hi = 0;
	unsigned nr = 0;
	for (unsigned sl = 0; sl < nb; sl++) {
		snum += num[sl];
		sden += den[sl];
		sdt += dt[sl];
		if (den[sl] > 0) {
			double r = (double)num[sl] / den[sl];
			if (nr == 0 || r < lo)
				lo = r;
			if (nr == 0 || r > hi)
				hi = r;
			nr++;
		}
	}
	switch (agg) {
	case CSTATD_AGG_INCREASE:
		if (!(sdt > 0))
			return -ENODATA;
		*out = snum;
		return 0;
	case CSTATD_AGG_RATE:
		if (!(sdt > 0))
			return -ENODATA;
		*out = snum / sdt;
		return 0;
	case CSTATD_AGG_AVG:
		if (!(sden > 0))
			return -ENODATA;
		*out = snum / sden;
		return 0;
	case CSTATD_AGG_MIN:
	case CSTATD_AGG_MAX:
		if (nr == 0)
			return -ENODATA;
		*out = agg == CSTATD_AGG_MIN ? lo : hi;
		return 0;
	default:
		return -EINVAL;
	}
}

/* ======================================================================== */
/* JSON for /api/v1/containers                                              */
/* ======================================================================== */

static json_t *num_or_null(int rc, double v)
{
	return rc == 0 && isfinite(v) ? json_real(v) : json_null();
}

static json_t *limit_json(enum cstatd_limit lim, const struct cstatd_container *c,
                          const struct cstatd_host *h)
{
	double v = 0;
	int rc = cstatd_limit_value(lim, c, h, &v);
	return num_or_null(rc, v);
}

/* The container limit a signal can be compared with (first in its mask). */
static enum cstatd_limit own_limit(enum cstatd_signal s)
{
	uint32_t m = cstatd_signal_defs[s].limits;
	if (m & CSTATD_LIM_BIT(CSTATD_LIMIT_CPU))
		return CSTATD_LIMIT_CPU;
	if (m & CSTATD_LIM_BIT(CSTATD_LIMIT_MEMORY))
		return CSTATD_LIMIT_MEMORY;
	if (m & CSTATD_LIM_BIT(CSTATD_LIMIT_PIDS))
		return CSTATD_LIMIT_PIDS;
	return CSTATD_LIMIT_NONE;
}

json_t *cstatd_windows_json(const struct cstatd_windows *w, const struct cstatd_container *c,
                            const struct cstatd_host *h)
{
	json_t *root = json_object(), *limits = json_object(), *sigs = json_object();

	if (!root || !limits || !sigs)
		goto fail;
	json_object_set_new(limits, "cpu_cores", limit_json(CSTATD_LIMIT_CPU, c, h));
	json_object_set_new(limits, "memory_bytes", limit_json(CSTATD_LIMIT_MEMORY, c, h));
	json_object_set_new(limits, "pids", limit_json(CSTATD_LIMIT_PIDS, c, h));
	json_object_set_new(root, "limits", limits);
	limits = NULL;
	for (int si = 0; si < CSTATD_SIG_COUNT; si++) {
		enum cstatd_signal s = (enum cstatd_signal)si;
		const struct cstatd_signal_def *d = &cstatd_signal_defs[s];
		json_t *js = json_object(), *wins = json_object();
		double v = 0;
		int rc;

		if (!js || !wins) {
			json_decref(js);
			json_decref(wins);
			goto fail;
		}
		json_object_set_new(js, "unit", json_string(d->unit));
		rc = w->l->n ? cstatd_windows_aggregate(w, s, w->l->n - 1, CSTATD_AGG_LAST, &v)
		             : -ENODATA;
		json_object_set_new(js, "current", num_or_null(rc, v));
		if (d->kind == CSTATD_KIND_STATE) {
			json_decref(wins);
			json_object_set_new(sigs, d->name, js);
			continue;
		}
		double limit = 0;
		enum cstatd_limit lim = own_limit(s);
		bool has_limit =
		    lim != CSTATD_LIMIT_NONE && cstatd_limit_value(lim, c, h, &limit) == 0;
		for (unsigned k = 0; k < w->l->n; k++) {
			char name[32];
			json_t *jw = json_object();
			if (!jw)
				continue;
			cstatd_format_duration(w->l->window_ms[k], name, sizeof(name));
			for (int a = 0; a < CSTATD_AGG_COUNT; a++) {
				if (a == CSTATD_AGG_PREDICT || !cstatd_agg_valid(a, d->kind))
					continue;
				rc = cstatd_windows_aggregate(w, s, k, a, &v);
				json_object_set_new(jw, cstatd_agg_names[a], num_or_null(rc, v));
			}
			if (cstatd_agg_valid(CSTATD_AGG_PREDICT, d->kind)) {
				double slope = 0, at = 0;
				rc = cstatd_windows_trend(w, s, k, 0, &slope, &at);
				json_object_set_new(jw, "trend_per_second", num_or_null(rc, slope));
				if (lim != CSTATD_LIMIT_NONE) {
					double secs = 0;
					rc = has_limit
					         ? cstatd_windows_predict(w, s, k, limit, &secs)
					         : -ENODATA;
					json_object_set_new(jw, "seconds_to_limit",
					                    num_or_null(rc, secs));
				}
			}
			json_object_set_new(wins, name, jw);
		}
		json_object_set_new(js, "windows", wins);
		json_object_set_new(sigs, d->name, js);
	}
	json_object_set_new(root, "signals", sigs);
	return root;
fail:
	json_decref(root);
	json_decref(limits);
	json_decref(sigs);
	return NULL;
}

/* ======================================================================== */
/* Table: container key → windows                                           */
/* ======================================================================== */

/*
 * A dense array of entries plus an open-addressing index (linear probing,
 * slots hold entry index + 1). Entries of vanished containers are removed
 * by swapping the last one in; the index is then rebuilt in place, which
 * costs O(containers) only in sweeps where some container went away.
 */
struct table_entry {
	char key[CSTATD_ID_LEN + 1];
	struct cstatd_windows *w;
	uint64_t seen; /* sweep generation */
};

struct cstatd_window_table {
	struct cstatd_window_layout l;
	struct table_entry *ents;
	size_t n, cap;
	uint32_t *slots;
	size_t nslots; /* power of two, >= 2 * cap */
	uint64_t gen;
};

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static void index_insert(struct cstatd_window_table *t, size_t i)
{
	size_t m = t->nslots - 1, p = (size_t)hash_key(t->ents[i].key) & m;
	while (t->slots[p])
		p = (p + 1) & m;
	t->slots[p] = (uint32_t)(i + 1);
}

static void index_rebuild(struct cstatd_window_table *t)
{
	memset(t->slots, 0, sizeof(*t->slots) * t->nslots);
	for (size_t i = 0; i < t->n; i++)
		index_insert(t, i);
}

static long find(const struct cstatd_window_table *t, const char *key)
{
	if (!t->nslots)
		return -1;
	size_t m = t->nslots - 1, p = (size_t)hash_key(key) & m;
	for (; t->slots[p]; p = (p + 1) & m) {
		size_t i = t->slots[p] - 1;
		if (strcmp(t->ents[i].key, key) == 0)
			return (long)i;
	}
	return -1;
}

static int grow(struct cstatd_window_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	size_t nslots = 1;
	struct table_entry *e = realloc(t->ents, cap * sizeof(*e));
	uint32_t *slots;

	if (!e)
		return -ENOMEM;
	t->ents = e;
	while (nslots < 2 * cap)
		nslots <<= 1;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	t->cap = cap;
	index_rebuild(t);
	return 0;
}

int cstatd_window_table_new(const struct cstatd_window_layout *l, struct cstatd_window_table **out)
{
	struct cstatd_window_table *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->l = *l;
	*out = t;
	return 0;
}

static void drop_all(struct cstatd_window_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		cstatd_windows_free(t->ents[i].w);
	t->n = 0;
	if (t->slots)
		index_rebuild(t);
}

void cstatd_window_table_free(struct cstatd_window_table *t)
{
	if (!t)
		return;
	drop_all(t);
	free(t->ents);
	free(t->slots);
	free(t);
}

int cstatd_window_table_set_layout(struct cstatd_window_table *t,
                                   const struct cstatd_window_layout *l)
{
	if (cstatd_window_layout_equal(&t->l, l))
		return 0;
	drop_all(t);
	t->l = *l;
	return 1;
}

const struct cstatd_window_layout *cstatd_window_table_layout(const struct cstatd_window_table *t)
{
	return &t->l;
}

struct cstatd_windows *cstatd_window_table_get(const struct cstatd_window_table *t, const char *key)
{
	long i = find(t, key);
	return i < 0 ? NULL : t->ents[i].w;
}

size_t cstatd_window_table_count(const struct cstatd_window_table *t)
{
	return t->n;
}

int cstatd_window_table_sweep(struct cstatd_window_table *t, struct cstatd_store *st, double now)
{
	struct cstatd_signal_values v;
	size_t count = cstatd_store_count(st);
	bool removed = false;
	int rc = 0;

	t->gen++;
	for (size_t ci = 0; ci < count; ci++) {
		struct cstatd_container *c = cstatd_store_at(st, ci);
		long i = find(t, c->key);

		if (i < 0) {
			if (t->n == t->cap && grow(t) != 0) {
				rc = -ENOMEM;
				continue;
			}
			struct cstatd_windows *w = cstatd_windows_new(&t->l);
			if (!w) {
				rc = -ENOMEM;
				continue;
			}
			i = (long)t->n++;
			snprintf(t->ents[i].key, sizeof(t->ents[i].key), "%s", c->key);
			t->ents[i].w = w;
			index_insert(t, (size_t)i);
		}
		t->ents[i].seen = t->gen;
		cstatd_signals_read(c, &v);
		cstatd_windows_push(t->ents[i].w, &v, now);
	}
	for (size_t i = 0; i < t->n;) {
		if (t->ents[i].seen == t->gen) {
			i++;
			continue;
		}
		cstatd_windows_free(t->ents[i].w);
		t->ents[i] = t->ents[--t->n];
		removed = true;
	}
	if (removed)
		index_rebuild(t);
	return rc;
}
