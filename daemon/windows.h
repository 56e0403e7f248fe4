/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rolling windows: per container, fixed rings over a few configured window
 * lengths (default 1m, 5m, 15m) for every signal of daemon/signals.h. A
 * signal's rings are sized by the layout and allocated once, the first time
 * the container has a value for it; after that a push never allocates.
 *
 * Resolution. Each window of length W is a ring of B buckets (B = at most
 * CSTATD_WINDOW_BUCKETS, fewer when W/interval is smaller) of width W/B,
 * aligned on multiples of the width since the epoch. The window is the
 * newest bucket (partly filled) and the B−1 before it: it covers between
 * W − W/B and W of history. Gauge min/max/avg/last are exact per sample;
 * rate min/max are over buckets (e.g. the highest 5-second CPU rate in the
 * last minute).
 *
 * Counters are reset-safe like Prometheus' increase(): a sample lower than
 * the previous one counts as an increase from 0. Missed sweeps are handled
 * by timestamps: the increase between two samples is divided by the time
 * between them, however many sweeps were lost, and is booked in the bucket
 * of the later sample. Unlike Prometheus, nothing is extrapolated to the
 * window edges: increase = the sum of the differences between consecutive
 * samples whose later sample is in the window.
 *
 * Memory. Buckets hold float32 (a 32-bit float keeps 24 bits of mantissa:
 * 4 KiB granularity at 64 GiB, far below any alerting threshold; counters
 * are stored as per-interval increases, never as running totals, so they
 * keep their precision however large the total). Per bucket: a gauge
 * takes 18 bytes (sum, min, max, time offset, count), a time-based rate or
 * a counter 8 (increase, seconds), the throttling ratio 12; state signals
 * none. A signal's rings exist only once the container has had a value for
 * it. With all 14 windowed signals (a Docker container with a CPU quota and
 * a health check, every controller enabled) that is 156 bytes per bucket;
 * with the default windows (1m, 5m, 15m; 12 buckets each) 5.5 KiB of rings
 * plus per-signal state and header: 6.6 KiB per container at most
 * (cstatd_window_layout_bytes()). Without a health check and a CPU quota
 * about 5.5 KiB; with CPU and PSI only (a host whose cgroup v2 tree enables
 * no memory, io or pids controller) 2.5 KiB. test_windows prints the
 * figures; cstatd_windows_bytes() gives a container's own. A per-sample
 * ring of 15 minutes at 1 s would take 14 × 900 × 8 bytes ≈ 100 KiB per
 * container: downsampling into 12 buckets per window is what keeps 1000
 * containers well under 10 MB, at the price of windows that cover between
 * 11/12 and 12/12 of their length and rate min/max at bucket resolution.
 */
#ifndef CSTATD_WINDOWS_H
#define CSTATD_WINDOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cstatd/container.h"
#include "cstatd/store.h"
#include "daemon/signals.h"

#define CSTATD_WINDOWS_MAX 8     /* distinct window lengths */
#define CSTATD_WINDOW_BUCKETS 12 /* buckets per window, at most */
#define CSTATD_WINDOW_MAX_MS (24ull * 3600 * 1000)

/* How the rings of every container are shaped. Plain data; copy freely. */
struct cstatd_window_layout {
	unsigned n; /* windows, ascending length */
	uint64_t window_ms[CSTATD_WINDOWS_MAX];
	unsigned buckets[CSTATD_WINDOWS_MAX]; /* B of each window */
	double bucket_s[CSTATD_WINDOWS_MAX];  /* W/B in seconds */
	uint64_t interval_ms;
	/* Derived: where window k starts in a signal's rings (buckets of the
	 * windows before it), float channels and block size of each signal,
	 * and the size of a container with every signal present. */
	unsigned bucket_off[CSTATD_WINDOWS_MAX];
	unsigned total_buckets;
	unsigned nch[CSTATD_SIG_COUNT];
	size_t sig_bytes[CSTATD_SIG_COUNT];
	unsigned floats_per_bucket;
	unsigned counts_per_bucket;
	size_t bytes; /* per container, every signal present, everything included */
};

/*
 * Builds a layout from window lengths (any order, duplicates merged) and
 * the sweep interval. -EINVAL when there are no windows, more than
 * CSTATD_WINDOWS_MAX, one shorter than two intervals or longer than
 * CSTATD_WINDOW_MAX_MS; `l` is untouched on error.
 */
int cstatd_window_layout_init(struct cstatd_window_layout *l, const uint64_t *windows_ms, size_t n,
                              uint64_t interval_ms);
/* Index of window `ms` in the layout, or -ENOENT. */
int cstatd_window_layout_index(const struct cstatd_window_layout *l, uint64_t ms);
bool cstatd_window_layout_equal(const struct cstatd_window_layout *a,
                                const struct cstatd_window_layout *b);
/* Bytes of a container whose every signal has a value (the upper bound). */
size_t cstatd_window_layout_bytes(const struct cstatd_window_layout *l);

/* ------------------------------------------------------------------------ */
/* One container's windows                                                   */
/* ------------------------------------------------------------------------ */

struct cstatd_windows;

/* Caller owns the result: a header; a signal's rings are allocated the
 * first time it has a value, so a signal a container never has (no health
 * check, no CPU quota, a controller the host does not enable) costs
 * nothing. `l` is borrowed and must outlive the windows (the table keeps
 * its own layout and frees every container's windows before changing it).
 * NULL on allocation failure. */
struct cstatd_windows *cstatd_windows_new(const struct cstatd_window_layout *l);
void cstatd_windows_free(struct cstatd_windows *w);
/* Bytes this container's windows hold now (header and present signals). */
size_t cstatd_windows_bytes(const struct cstatd_windows *w);

/*
 * Adds one sweep's readings taken at `t` (unix seconds). Allocates only
 * the first time a signal has a value (its rings); when that fails the
 * reading is left out and -ENOMEM returned after the rest is pushed.
 * Returns 0; -EALREADY when t equals the last push (ignored); when t is
 * before the last push (the clock stepped back) the history is dropped and
 * the sample starts it afresh, and -ERANGE tells the caller so.
 */
int cstatd_windows_push(struct cstatd_windows *w, const struct cstatd_signal_values *v, double t);

/*
 * Aggregate `agg` of `sig` over window `win` (index in the layout).
 * Returns 0 and the value; -ENODATA when the window has too few points
 * (no sample; no interval for increase/rate/avg of rates; under two
 * points for predict); -EINVAL when `agg` is not defined for the signal's
 * kind or `win` is out of range. CSTATD_AGG_PREDICT is the value the trend
 * reaches 0 seconds after the last push (use cstatd_windows_trend for a
 * horizon). `out` is untouched on failure.
 */
int cstatd_windows_aggregate(const struct cstatd_windows *w, enum cstatd_signal sig, unsigned win,
                             enum cstatd_agg agg, double *out);

/*
 * Least-squares line through the window's bucket means (gauges: mean value
 * at the mean sample time; rates: the bucket's rate at its middle). Gives
 * the slope per second and the line's value at the last push + horizon_s.
 * -ENODATA under two points or when every point has the same time.
 */
int cstatd_windows_trend(const struct cstatd_windows *w, enum cstatd_signal sig, unsigned win,
                         double horizon_s, double *slope_per_s, double *value_at);

/*
 * Seconds from the last push until the trend line crosses `threshold`
 * (0 when it is on it now); -ERANGE when the crossing does not lie ahead:
 * the line is flat or moves away from the threshold (including a value
 * already beyond it that goes on moving away); -ENODATA as above.
 */
int cstatd_windows_predict(const struct cstatd_windows *w, enum cstatd_signal sig, unsigned win,
                           double threshold, double *seconds);

/* Time of the last push (0 before the first). */
double cstatd_windows_last_time(const struct cstatd_windows *w);
const struct cstatd_window_layout *cstatd_windows_layout(const struct cstatd_windows *w);

/*
 * The JSON of /api/v1/containers for one container's numbers:
 *   {"limits": {"cpu_cores": 2, "memory_bytes": ..., "pids": null},
 *    "signals": {"cpu_usage": {"unit": "cores", "current": 0.5,
 *       "windows": {"1m": {"avg": .., "min": .., "max": .., "last": ..,
 *                          "increase": .., "rate": .., "trend_per_second": ..,
 *                          "seconds_to_limit": ..}, ...}}, ...}}
 * Aggregates without data are null; only those defined for the signal's
 * kind appear. Caller owns the result (NULL on allocation failure).
 */
json_t *cstatd_windows_json(const struct cstatd_windows *w, const struct cstatd_container *c,
                            const struct cstatd_host *h);

/* ------------------------------------------------------------------------ */
/* Every container's windows, keyed by store key                             */
/* ------------------------------------------------------------------------ */

struct cstatd_window_table;

/* Caller owns the table. Returns 0 or -ENOMEM. */
int cstatd_window_table_new(const struct cstatd_window_layout *l, struct cstatd_window_table **out);
/* Frees every container's windows. NULL is fine. */
void cstatd_window_table_free(struct cstatd_window_table *t);

/* Reload: a different layout drops every container's history (the rings
 * are re-created on the next sweep). Returns 1 when it did, else 0. */
int cstatd_window_table_set_layout(struct cstatd_window_table *t,
                                   const struct cstatd_window_layout *l);
const struct cstatd_window_layout *cstatd_window_table_layout(const struct cstatd_window_table *t);

/*
 * Once per sweep, after cstatd_store_prune(): reads every container's
 * signals and pushes them at `now`, creates windows for new containers
 * and frees those of containers no longer in the store. Allocates only for
 * new containers. Returns 0, or -ENOMEM when some container could not get
 * windows (it is retried next sweep; the others are pushed).
 */
int cstatd_window_table_sweep(struct cstatd_window_table *t, struct cstatd_store *st, double now);

/* Borrowed until the next sweep or set_layout; NULL when unknown. */
struct cstatd_windows *cstatd_window_table_get(const struct cstatd_window_table *t,
                                               const char *key);
size_t cstatd_window_table_count(const struct cstatd_window_table *t);

#endif
