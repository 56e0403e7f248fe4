/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for daemon/windows.c and daemon/signals.c: window math on
 * synthetic series. Every series uses values that float32 holds exactly
 * (small integers, halves), so the expected aggregates are exact; a
 * reference implementation of the documented window semantics
 * (windows.h) recomputes them from the raw samples.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cstatd/store.h"
#include "daemon/signals.h"
#include "daemon/windows.h"

#define T0 1700000000.0 /* a multiple of every bucket width used below */

static const uint64_t default_windows[] = {60000, 300000, 900000};

static struct cstatd_window_layout layout_default(void)
{
	struct cstatd_window_layout l;
	assert_int_equal(cstatd_window_layout_init(&l, default_windows, 3, 1000), 0);
	return l;
}

static void gauge(struct cstatd_signal_values *v, enum cstatd_signal s, double x)
{
	v->v[s] = x;
	v->have |= 1u << s;
}

static void ratio(struct cstatd_signal_values *v, enum cstatd_signal s, double num, double den)
{
	v->v[s] = num;
	v->den[s] = den;
	v->have |= 1u << s;
}

static double agg(const struct cstatd_windows *w, enum cstatd_signal s, unsigned k,
                  enum cstatd_agg a)
{
	double out = NAN;
	int rc = cstatd_windows_aggregate(w, s, k, a, &out);
	if (rc != 0)
		fail_msg("aggregate %s of %s over window %u: rc %d", cstatd_agg_names[a],
		         cstatd_signal_defs[s].name, k, rc);
	return out;
}

static void assert_close(double got, double want)
{
	if (fabs(got - want) > 1e-9 * (fabs(want) > 1 ? fabs(want) : 1))
		fail_msg("got %.17g, want %.17g", got, want);
}

/* ------------------------------------------------------------------------ */
/* Layout                                                                   */
/* ------------------------------------------------------------------------ */

static void test_layout_default(void **state)
{
	(void)state;
	struct cstatd_window_layout l = layout_default();

	assert_int_equal(l.n, 3);
	assert_int_equal(l.buckets[0], 12);
	assert_int_equal(l.buckets[2], 12);
	assert_close(l.bucket_s[0], 5);
	assert_close(l.bucket_s[1], 25);
	assert_close(l.bucket_s[2], 75);
	/* The memory budget of windows.h: 1000 containers well under 10 MB. */
	size_t bytes = cstatd_window_layout_bytes(&l);
	print_message("bytes per container with 1m,5m,15m at 1s: %zu\n", bytes);
	assert_true(bytes < 8 * 1024);
	assert_true(bytes * 1000 < 8u * 1000 * 1000);
	assert_int_equal(cstatd_window_layout_index(&l, 300000), 1);
	assert_int_equal(cstatd_window_layout_index(&l, 120000), -ENOENT);
}

static void test_layout_sort_dedupe_and_errors(void **state)
{
	(void)state;
	struct cstatd_window_layout l, untouched;
	const uint64_t messy[] = {900000, 60000, 900000, 10000};
	const uint64_t too_short[] = {1500};
	const uint64_t too_long[] = {25ull * 3600 * 1000};
	const uint64_t nine[] = {10000, 20000, 30000, 40000, 50000, 60000, 70000, 80000, 90000};

	assert_int_equal(cstatd_window_layout_init(&l, messy, 4, 1000), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.window_ms[0], 10000);
	assert_int_equal(l.window_ms[2], 900000);
	/* 10 s at 1 s: one bucket per sweep, never narrower. */
	assert_int_equal(l.buckets[0], 10);
	assert_close(l.bucket_s[0], 1);

	memset(&untouched, 0x5a, sizeof(untouched));
	l = untouched;
	assert_int_equal(cstatd_window_layout_init(&l, too_short, 1, 1000), -EINVAL);
	assert_int_equal(cstatd_window_layout_init(&l, too_long, 1, 1000), -EINVAL);
	assert_int_equal(cstatd_window_layout_init(&l, nine, 9, 1000), -EINVAL);
	assert_int_equal(cstatd_window_layout_init(&l, nine, 0, 1000), -EINVAL);
	assert_memory_equal(&l, &untouched, sizeof(l));
}

/* ------------------------------------------------------------------------ */
/* Gauges                                                                   */
/* ------------------------------------------------------------------------ */

/* Reference: the window of ring k holds samples whose bucket index is in
 * (head − B, head], head = bucket of the newest push. */
static bool ref_in(const struct cstatd_window_layout *l, unsigned k, double t, double last)
{
	int64_t head = (int64_t)floor(last / l->bucket_s[k]);
	int64_t idx = (int64_t)floor(t / l->bucket_s[k]);
	return idx > head - (int64_t)l->buckets[k] && idx <= head;
}

static void test_gauge_aggregates_exact(void **state)
{
	(void)state;
	struct cstatd_window_layout l = layout_default();
	struct cstatd_windows *w = cstatd_windows_new(&l);
	double ts[400], vs[400];
	size_t n = 0;

	assert_non_null(w);
	/* A saw-tooth with a few missed sweeps (gaps), 400 s long. */
	for (int i = 0; i < 400; i++) {
		if (i % 37 == 5 || i % 53 == 7)
			continue; /* missed sweep */
		struct cstatd_signal_values v = {0};
		double x = 1000 + (i * 7) % 23 * 16;
		gauge(&v, CSTATD_SIG_MEMORY_WORKING_SET, x);
		assert_int_equal(cstatd_windows_push(w, &v, T0 + i), 0);
		ts[n] = T0 + i;
		vs[n] = x;
		n++;
		if (i % 50 != 49 && i != 399)
			continue;
		for (unsigned k = 0; k < l.n; k++) {
			double sum = 0, lo = INFINITY, hi = -INFINITY;
			size_t m = 0;
			for (size_t j = 0; j < n; j++) {
				if (!ref_in(&l, k, ts[j], ts[n - 1]))
					continue;
				sum += vs[j];
				lo = fmin(lo, vs[j]);
				hi = fmax(hi, vs[j]);
				m++;
			}
			assert_true(m > 0);
			assert_close(agg(w, CSTATD_SIG_MEMORY_WORKING_SET, k, CSTATD_AGG_AVG),
			             sum / m);
			assert_close(agg(w, CSTATD_SIG_MEMORY_WORKING_SET, k, CSTATD_AGG_MIN), lo);
			assert_close(agg(w, CSTATD_SIG_MEMORY_WORKING_SET, k, CSTATD_AGG_MAX), hi);
			assert_close(agg(w, CSTATD_SIG_MEMORY_WORKING_SET, k, CSTATD_AGG_LAST),
			             vs[n - 1]);
		}
	}
	cstatd_windows_free(w);
}

static void test_window_edges_by_hand(void **state)
{
	(void)state;
	const uint64_t one[] = {60000};
	struct cstatd_window_layout l;
	struct cstatd_windows *w;

	/* 1m at 1s: 12 buckets of 5 s. */
	assert_int_equal(cstatd_window_layout_init(&l, one, 1, 1000), 0);
	w = cstatd_windows_new(&l);
	for (int i = 0; i < 120; i++) {
		struct cstatd_signal_values v = {0};
		gauge(&v, CSTATD_SIG_PIDS, i < 60 ? 100 : 10);
		cstatd_windows_push(w, &v, T0 + i);
	}
	/* Last push at T0+119 is in bucket (T0+115..119]; the window is the
	 * 12 buckets from T0+60: exactly the 60 samples of value 10. */
	assert_close(agg(w, CSTATD_SIG_PIDS, 0, CSTATD_AGG_MAX), 10);
	assert_close(agg(w, CSTATD_SIG_PIDS, 0, CSTATD_AGG_AVG), 10);
	/* One more sample opens a new bucket: the oldest (T0+60..64) leaves. */
	struct cstatd_signal_values v = {0};
	gauge(&v, CSTATD_SIG_PIDS, 70);
	cstatd_windows_push(w, &v, T0 + 120);
	assert_close(agg(w, CSTATD_SIG_PIDS, 0, CSTATD_AGG_AVG), (55 * 10 + 70) / 56.0);
	/* A gap longer than the window empties it except for the new sample. */
	gauge(&v, CSTATD_SIG_PIDS, 5);
	cstatd_windows_push(w, &v, T0 + 1000);
	assert_close(agg(w, CSTATD_SIG_PIDS, 0, CSTATD_AGG_MIN), 5);
	assert_close(agg(w, CSTATD_SIG_PIDS, 0, CSTATD_AGG_MAX), 5);
	cstatd_windows_free(w);
}

static void test_nodata_and_invalid(void **state)
{
	(void)state;
	struct cstatd_window_layout l = layout_default();
	struct cstatd_windows *w = cstatd_windows_new(&l);
	struct cstatd_signal_values v = {0};
	double out = 42, s = 42;

	assert_int_equal(cstatd_windows_aggregate(w, CSTATD_SIG_PIDS, 0, CSTATD_AGG_AVG, &out),
	                 -ENODATA);
	gauge(&v, CSTATD_SIG_PIDS, 3);
	ratio(&v, CSTATD_SIG_CPU_USAGE, 10, 0);
	gauge(&v, CSTATD_SIG_RESTARTS, 2);
	assert_int_equal(cstatd_windows_push(w, &v, T0), 0);
	/* One sample: a level, but no interval for rates and no trend. */
	assert_int_equal(cstatd_windows_aggregate(w, CSTATD_SIG_PIDS, 0, CSTATD_AGG_AVG, &out), 0);
	assert_close(out, 3);
	out = 42;
	assert_int_equal(cstatd_windows_aggregate(w, CSTATD_SIG_CPU_USAGE, 0, CSTATD_AGG_AVG, &out),
	                 -ENODATA);
	assert_int_equal(
	    cstatd_windows_aggregate(w, CSTATD_SIG_RESTARTS, 0, CSTATD_AGG_INCREASE, &out),
	    -ENODATA);
	assert_int_equal(cstatd_windows_predict(w, CSTATD_SIG_PIDS, 0, 10, &s), -ENODATA);
	/* A counter's last is its total even before a second sample. */
	assert_int_equal(cstatd_windows_aggregate(w, CSTATD_SIG_RESTARTS, 0, CSTATD_AGG_LAST, &out),
	                 0);
	assert_close(out, 2);
	out = 42;
	/* Aggregates that do not fit the kind, and bad indexes. */
	assert_int_equal(cstatd_windows_aggregate(w, CSTATD_SIG_PIDS, 0, CSTATD_AGG_INCREASE, &out),
	                 -EINVAL);
	assert_int_equal(cstatd_windows_aggregate(w, CSTATD_SIG_RESTARTS, 0, CSTATD_AGG_AVG, &out),
	                 -EINVAL);
	assert_int_equal(cstatd_windows_aggregate(w, CSTATD_SIG_PIDS, 7, CSTATD_AGG_AVG, &out),
	                 -EINVAL);
	assert_close(out, 42);
	/* Absent signal: no data. */
	assert_int_equal(
	    cstatd_windows_aggregate(w, CSTATD_SIG_MEMORY_USAGE, 2, CSTATD_AGG_LAST, &out),
	    -ENODATA);
	/* Same timestamp twice is ignored. */
	assert_int_equal(cstatd_windows_push(w, &v, T0), -EALREADY);
	cstatd_windows_free(w);
}

/* ------------------------------------------------------------------------ */
/* Counters and rates                                                       */
/* ------------------------------------------------------------------------ */

/* A signal takes memory only once it has a value; one that appears late
 * starts its history then, next to signals that were there all along. */
static void test_rings_only_for_present_signals(void **state)
{
	(void)state;
	struct cstatd_window_layout l = layout_default();
	struct cstatd_windows *w = cstatd_windows_new(&l);
	size_t empty, one, two;
	double out;

	assert_non_null(w);
	empty = cstatd_windows_bytes(w);
	print_message("windows bytes: empty %zu, every signal %zu\n", empty,
	              cstatd_window_layout_bytes(&l));
	assert_true(empty < 512);
	for (int i = 0; i < 30; i++) {
		struct cstatd_signal_values v = {0};
		gauge(&v, CSTATD_SIG_MEMORY_USAGE, 1000 + i);
		if (i >= 20)
			gauge(&v, CSTATD_SIG_PIDS, 7);
		cstatd_windows_push(w, &v, T0 + i);
		if (i == 0)
			one = cstatd_windows_bytes(w);
	}
	two = cstatd_windows_bytes(w);
	/* memory_usage: 4 float channels + a count per bucket, 36 buckets. */
	assert_true(one > empty + 36 * 18);
	assert_true(one < empty + 36 * 18 + 128);
	assert_int_equal(two - one, one - empty);
	/* Never present: no value, no memory, and asking is not an error. */
	assert_int_equal(cstatd_windows_aggregate(w, CSTATD_SIG_HEALTH, 0, CSTATD_AGG_MAX, &out),
	                 -ENODATA);
	assert_int_equal(cstatd_windows_aggregate(w, CSTATD_SIG_CPU_THROTTLED, 1, CSTATD_AGG_AVG,
	                                          &out),
	                 -ENODATA);
	assert_int_equal(cstatd_windows_trend(w, CSTATD_SIG_HEALTH, 2, 0, &out, &out), -ENODATA);
	/* Late: only its own 10 samples, exact. */
	assert_close(agg(w, CSTATD_SIG_PIDS, 0, CSTATD_AGG_AVG), 7);
	assert_close(agg(w, CSTATD_SIG_PIDS, 2, CSTATD_AGG_MAX), 7);
	assert_close(agg(w, CSTATD_SIG_MEMORY_USAGE, 2, CSTATD_AGG_MIN), 1000);
	assert_close(agg(w, CSTATD_SIG_MEMORY_USAGE, 2, CSTATD_AGG_MAX), 1029);
	/* The ring heads moved on while pids was absent: a bucket cleared
	 * then is still empty for it, so the 1m average is of its own. */
	for (int i = 30; i < 100; i++) {
		struct cstatd_signal_values v = {0};
		gauge(&v, CSTATD_SIG_MEMORY_USAGE, 5);
		cstatd_windows_push(w, &v, T0 + i);
	}
	assert_close(agg(w, CSTATD_SIG_MEMORY_USAGE, 0, CSTATD_AGG_AVG), 5);
	assert_int_equal(cstatd_windows_aggregate(w, CSTATD_SIG_PIDS, 0, CSTATD_AGG_AVG, &out),
	                 -ENODATA);
	assert_close(agg(w, CSTATD_SIG_PIDS, 2, CSTATD_AGG_AVG), 7);
	assert_int_equal(cstatd_windows_bytes(w), two);
	cstatd_windows_free(w);
}

static void test_counter_reset_and_rate(void **state)
{
	(void)state;
	struct cstatd_window_layout l = layout_default();
	struct cstatd_windows *w = cstatd_windows_new(&l);
	/* restarts: 5 5 6 6 7 | reset | 0 1 — increase 1+1+0+1 = 3 over 6 s,
	 * like Prometheus' increase() (which would also extrapolate). */
	const double series[] = {5, 5, 6, 6, 7, 0, 1};

	for (int i = 0; i < 7; i++) {
		struct cstatd_signal_values v = {0};
		gauge(&v, CSTATD_SIG_RESTARTS, series[i]);
		gauge(&v, CSTATD_SIG_OOM_KILLS, 0);
		cstatd_windows_push(w, &v, T0 + i);
	}
	assert_close(agg(w, CSTATD_SIG_RESTARTS, 0, CSTATD_AGG_INCREASE), 3);
	assert_close(agg(w, CSTATD_SIG_RESTARTS, 0, CSTATD_AGG_RATE), 3.0 / 6);
	assert_close(agg(w, CSTATD_SIG_RESTARTS, 0, CSTATD_AGG_LAST), 1);
	assert_close(agg(w, CSTATD_SIG_OOM_KILLS, 2, CSTATD_AGG_INCREASE), 0);
	/* A reset to a value above 0 counts that value. */
	struct cstatd_signal_values v = {0};
	gauge(&v, CSTATD_SIG_RESTARTS, 0.5);
	cstatd_windows_push(w, &v, T0 + 7);
	assert_close(agg(w, CSTATD_SIG_RESTARTS, 0, CSTATD_AGG_INCREASE), 3.5);
	cstatd_windows_free(w);
}

static void test_cpu_rate_across_gap(void **state)
{
	(void)state;
	const uint64_t wins[] = {60000, 300000};
	struct cstatd_window_layout l;
	struct cstatd_windows *w;
	const int times[] = {0, 1, 2, 3, 10, 11, 12, 40, 41};

	assert_int_equal(cstatd_window_layout_init(&l, wins, 2, 1000), 0);
	w = cstatd_windows_new(&l);
	/* Half a core, constantly; sweeps 4..9 and 13..39 were missed. The
	 * rate is 0.5 whatever the gaps: time comes from timestamps. */
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		struct cstatd_signal_values v = {0};
		gauge(&v, CSTATD_SIG_CPU_USAGE, 1000 + 0.5 * times[i]);
		cstatd_windows_push(w, &v, T0 + times[i]);
	}
	for (unsigned k = 0; k < 2; k++) {
		assert_close(agg(w, CSTATD_SIG_CPU_USAGE, k, CSTATD_AGG_AVG), 0.5);
		assert_close(agg(w, CSTATD_SIG_CPU_USAGE, k, CSTATD_AGG_RATE), 0.5);
		assert_close(agg(w, CSTATD_SIG_CPU_USAGE, k, CSTATD_AGG_MIN), 0.5);
		assert_close(agg(w, CSTATD_SIG_CPU_USAGE, k, CSTATD_AGG_MAX), 0.5);
		assert_close(agg(w, CSTATD_SIG_CPU_USAGE, k, CSTATD_AGG_LAST), 0.5);
		/* 41 s of CPU time at half a core. */
		assert_close(agg(w, CSTATD_SIG_CPU_USAGE, k, CSTATD_AGG_INCREASE), 20.5);
	}
	/* The container restarts: its cgroup counter starts again from 0.
	 * Over the next 4 s it uses 2 cores. */
	for (int i = 1; i <= 4; i++) {
		struct cstatd_signal_values v = {0};
		gauge(&v, CSTATD_SIG_CPU_USAGE, 2.0 * i);
		cstatd_windows_push(w, &v, T0 + 41 + i);
	}
	/* increase 20.5 + 2 (reset: from 0) + 3 × 2 = 28.5 over 45 s */
	assert_close(agg(w, CSTATD_SIG_CPU_USAGE, 1, CSTATD_AGG_INCREASE), 28.5);
	assert_close(agg(w, CSTATD_SIG_CPU_USAGE, 1, CSTATD_AGG_AVG), 28.5 / 45);
	assert_close(agg(w, CSTATD_SIG_CPU_USAGE, 1, CSTATD_AGG_LAST), 2);
	/* Rate min/max are per bucket. 1m (5 s buckets): the last bucket
	 * (T0+45..49) holds only the 2-core interval. */
	assert_close(agg(w, CSTATD_SIG_CPU_USAGE, 0, CSTATD_AGG_MAX), 2);
	/* 5m (25 s buckets): T0+25..49 holds the 28 s gap interval (14 s of
	 * CPU), 0.5 s, and 4 s at 2 cores: 22.5 / 33. */
	assert_close(agg(w, CSTATD_SIG_CPU_USAGE, 1, CSTATD_AGG_MAX), 22.5 / 33);
	cstatd_windows_free(w);
}

static void test_throttled_ratio(void **state)
{
	(void)state;
	struct cstatd_window_layout l = layout_default();
	struct cstatd_windows *w = cstatd_windows_new(&l);
	double out;

	/* 10 periods per second; throttled in 1, then 3 of them. */
	double thr = 0, per = 0;
	for (int i = 0; i <= 20; i++) {
		struct cstatd_signal_values v = {0};
		if (i > 0) {
			per += 10;
			thr += i <= 10 ? 1 : 3;
		}
		ratio(&v, CSTATD_SIG_CPU_THROTTLED, thr, per);
		cstatd_windows_push(w, &v, T0 + i);
	}
	assert_close(agg(w, CSTATD_SIG_CPU_THROTTLED, 0, CSTATD_AGG_AVG), 40.0 / 200);
	assert_close(agg(w, CSTATD_SIG_CPU_THROTTLED, 0, CSTATD_AGG_INCREASE), 40);
	assert_close(agg(w, CSTATD_SIG_CPU_THROTTLED, 0, CSTATD_AGG_RATE), 2);
	assert_close(agg(w, CSTATD_SIG_CPU_THROTTLED, 0, CSTATD_AGG_LAST), 0.3);
	/* Buckets of 5 s: (T0+0..4] holds intervals 1..4 = 0.1; the last
	 * (T0+20) holds one interval of 0.3. */
	assert_close(agg(w, CSTATD_SIG_CPU_THROTTLED, 0, CSTATD_AGG_MIN), 0.1);
	assert_close(agg(w, CSTATD_SIG_CPU_THROTTLED, 0, CSTATD_AGG_MAX), 0.3);

	/* An idle container: no period elapses, the ratio has no data. */
	struct cstatd_windows *idle = cstatd_windows_new(&l);
	for (int i = 0; i < 5; i++) {
		struct cstatd_signal_values v = {0};
		ratio(&v, CSTATD_SIG_CPU_THROTTLED, 7, 70);
		cstatd_windows_push(idle, &v, T0 + i);
	}
	assert_int_equal(
	    cstatd_windows_aggregate(idle, CSTATD_SIG_CPU_THROTTLED, 0, CSTATD_AGG_AVG, &out),
	    -ENODATA);
	assert_int_equal(
	    cstatd_windows_aggregate(idle, CSTATD_SIG_CPU_THROTTLED, 0, CSTATD_AGG_RATE, &out), 0);
	assert_close(out, 0);
	cstatd_windows_free(idle);
	cstatd_windows_free(w);
}

/* ------------------------------------------------------------------------ */
/* Trend                                                                    */
/* ------------------------------------------------------------------------ */

static void test_predict_linear_exact(void **state)
{
	(void)state;
	struct cstatd_window_layout l = layout_default();
	struct cstatd_windows *w = cstatd_windows_new(&l);
	double slope, at, secs;

	/* 1 MiB/s growth from 100 MiB, sampled every second with gaps: the
	 * bucket means lie on the line, so the fit is exact. */
	for (int i = 0; i < 600; i++) {
		if (i % 11 == 3)
			continue;
		struct cstatd_signal_values v = {0};
		gauge(&v, CSTATD_SIG_MEMORY_WORKING_SET, (100.0 + i) * 1048576.0);
		cstatd_windows_push(w, &v, T0 + i);
	}
	for (unsigned k = 0; k < l.n; k++) {
		assert_int_equal(
		    cstatd_windows_trend(w, CSTATD_SIG_MEMORY_WORKING_SET, k, 60, &slope, &at), 0);
		assert_close(slope, 1048576.0);
		assert_close(at, (100.0 + 599 + 60) * 1048576.0);
		/* Limit 1 GiB: reached at i = 924, 325 s after the last push. */
		assert_int_equal(cstatd_windows_predict(w, CSTATD_SIG_MEMORY_WORKING_SET, k,
		                                        1024.0 * 1048576.0, &secs),
		                 0);
		assert_close(secs, 325);
		/* Already above a lower threshold and moving up: never crosses it. */
		assert_int_equal(cstatd_windows_predict(w, CSTATD_SIG_MEMORY_WORKING_SET, k,
		                                        200.0 * 1048576.0, &secs),
		                 -ERANGE);
		/* On it right now. */
		assert_int_equal(cstatd_windows_predict(w, CSTATD_SIG_MEMORY_WORKING_SET, k,
		                                        699.0 * 1048576.0, &secs),
		                 0);
		assert_close(secs, 0);
	}
	double p = 0;
	assert_int_equal(
	    cstatd_windows_aggregate(w, CSTATD_SIG_MEMORY_WORKING_SET, 0, CSTATD_AGG_PREDICT, &p),
	    0);
	assert_close(p, 699.0 * 1048576.0);

	/* Shrinking: a higher threshold is never reached. */
	struct cstatd_windows *down = cstatd_windows_new(&l);
	for (int i = 0; i < 60; i++) {
		struct cstatd_signal_values v = {0};
		gauge(&v, CSTATD_SIG_MEMORY_USAGE, 5000 - 2 * i);
		cstatd_windows_push(down, &v, T0 + i);
	}
	assert_int_equal(cstatd_windows_predict(down, CSTATD_SIG_MEMORY_USAGE, 0, 9000, &secs),
	                 -ERANGE);
	assert_int_equal(cstatd_windows_predict(down, CSTATD_SIG_MEMORY_USAGE, 0, 4000, &secs), 0);
	assert_close(secs, (4882.0 - 4000) / 2); /* 5000 − 2·59 = 4882 at the last push */
	/* Flat: never. */
	struct cstatd_windows *flat = cstatd_windows_new(&l);
	for (int i = 0; i < 30; i++) {
		struct cstatd_signal_values v = {0};
		gauge(&v, CSTATD_SIG_PIDS, 7);
		cstatd_windows_push(flat, &v, T0 + i);
	}
	assert_int_equal(cstatd_windows_predict(flat, CSTATD_SIG_PIDS, 0, 8, &secs), -ERANGE);
	/* Counters have no trend. */
	assert_int_equal(cstatd_windows_trend(flat, CSTATD_SIG_RESTARTS, 0, 0, &slope, &at),
	                 -EINVAL);
	cstatd_windows_free(flat);
	cstatd_windows_free(down);
	cstatd_windows_free(w);
}

static void test_clock_step_back_resets(void **state)
{
	(void)state;
	struct cstatd_window_layout l = layout_default();
	struct cstatd_windows *w = cstatd_windows_new(&l);
	struct cstatd_signal_values v = {0};

	gauge(&v, CSTATD_SIG_PIDS, 50);
	for (int i = 0; i < 10; i++)
		cstatd_windows_push(w, &v, T0 + i);
	gauge(&v, CSTATD_SIG_PIDS, 1);
	assert_int_equal(cstatd_windows_push(w, &v, T0 - 3600), -ERANGE);
	assert_close(agg(w, CSTATD_SIG_PIDS, 2, CSTATD_AGG_MAX), 1);
	assert_close(cstatd_windows_last_time(w), T0 - 3600);
	cstatd_windows_free(w);
}

/* ------------------------------------------------------------------------ */
/* Signals from a container record                                          */
/* ------------------------------------------------------------------------ */

static void test_signals_read_and_limits(void **state)
{
	(void)state;
	struct cstatd_container c;
	struct cstatd_signal_values v;
	struct cstatd_host h = {.cpus = 8, .memory_bytes = 16e9};
	double lim = -1;

	memset(&c, 0, sizeof(c));
	c.is_container = true;
	c.s.have = CSTATD_HAVE_CPU_STAT | CSTATD_HAVE_CPU_BANDWIDTH | CSTATD_HAVE_CPU_MAX |
	           CSTATD_HAVE_MEM_CURRENT | CSTATD_HAVE_MEM_STAT | CSTATD_HAVE_MEM_MAX |
	           CSTATD_HAVE_PIDS_CURRENT | CSTATD_HAVE_PIDS_MAX | CSTATD_HAVE_PSI_MEM;
	c.s.cpu.usage_usec = 2500000;
	c.s.cpu.has_bandwidth = true;
	c.s.cpu.nr_periods = 100;
	c.s.cpu.nr_throttled = 7;
	c.s.cpu_max.quota_usec = 50000;
	c.s.cpu_max.period_usec = 100000;
	c.s.mem_current = 1000;
	c.s.mem.inactive_file = 300;
	c.s.mem_max = CSTATD_UNLIMITED;
	c.s.pids_current = 12;
	c.s.pids_max = 0; /* nonsense limit: unknown, never a denominator */
	c.s.psi_mem.has_some = true;
	c.s.psi_mem.some_total_usec = 1500000;

	cstatd_signals_read(&c, &v);
	assert_close(v.v[CSTATD_SIG_CPU_USAGE], 2.5);
	assert_close(v.v[CSTATD_SIG_CPU_THROTTLED], 7);
	assert_close(v.den[CSTATD_SIG_CPU_THROTTLED], 100);
	assert_close(v.v[CSTATD_SIG_MEMORY_WORKING_SET], 700);
	assert_close(v.v[CSTATD_SIG_MEMORY_USAGE], 1000);
	assert_close(v.v[CSTATD_SIG_PSI_MEMORY_SOME], 1.5);
	assert_false(v.have & (1u << CSTATD_SIG_PSI_MEMORY_FULL));
	assert_false(v.have & (1u << CSTATD_SIG_HEALTH));
	assert_false(v.have & (1u << CSTATD_SIG_RESTARTS));
	assert_true(v.have & (1u << CSTATD_SIG_NO_MEMORY_LIMIT));
	assert_close(v.v[CSTATD_SIG_NO_MEMORY_LIMIT], 1);
	assert_close(v.v[CSTATD_SIG_NO_CPU_LIMIT], 0);

	assert_int_equal(cstatd_limit_value(CSTATD_LIMIT_CPU, &c, &h, &lim), 0);
	assert_close(lim, 0.5);
	lim = -1;
	assert_int_equal(cstatd_limit_value(CSTATD_LIMIT_MEMORY, &c, &h, &lim), -ENODATA);
	assert_int_equal(cstatd_limit_value(CSTATD_LIMIT_PIDS, &c, &h, &lim), -ENODATA);
	assert_close(lim, -1);
	assert_int_equal(cstatd_limit_value(CSTATD_LIMIT_HOST_MEMORY, &c, &h, &lim), 0);
	assert_close(lim, 16e9);

	/* Working set: inactive_file larger than usage floors at 0; Docker's
	 * figure wins when present. */
	c.s.mem.inactive_file = 5000;
	cstatd_signals_read(&c, &v);
	assert_close(v.v[CSTATD_SIG_MEMORY_WORKING_SET], 0);
	c.s.have |= CSTATD_HAVE_WORKING_SET;
	c.s.working_set = 640;
	cstatd_signals_read(&c, &v);
	assert_close(v.v[CSTATD_SIG_MEMORY_WORKING_SET], 640);

	/* Docker: restarts, health, risks from inspect. */
	c.docker.known = true;
	c.docker.restarts_total = 4;
	c.docker.health = CSTATD_HEALTH_STARTING;
	c.docker.risks_known = true;
	c.docker.risks = CSTATD_RISK_PRIVILEGED;
	c.oom_kills_total = 2;
	cstatd_signals_read(&c, &v);
	assert_close(v.v[CSTATD_SIG_RESTARTS], 4);
	assert_close(v.v[CSTATD_SIG_OOM_KILLS], 2);
	assert_close(v.v[CSTATD_SIG_HEALTH], 0);
	assert_close(v.v[CSTATD_SIG_PRIVILEGED], 1);
	assert_close(v.v[CSTATD_SIG_NO_MEMORY_LIMIT], 0); /* Docker's view wins */
	c.docker.health = CSTATD_HEALTH_HEALTHY;
	cstatd_signals_read(&c, &v);
	assert_close(v.v[CSTATD_SIG_HEALTH], 1);

	/* Raw cgroups carry no configuration risks. */
	c.is_container = false;
	cstatd_signals_read(&c, &v);
	assert_false(v.have & (1u << CSTATD_SIG_PRIVILEGED));
}

static void test_signal_names(void **state)
{
	(void)state;
	enum cstatd_signal s;
	enum cstatd_agg a;
	enum cstatd_limit l;

	for (int i = 0; i < CSTATD_SIG_COUNT; i++) {
		assert_int_equal(cstatd_signal_by_name(cstatd_signal_defs[i].name, &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(cstatd_signal_by_name("memory_rss", &s), -ENOENT);
	assert_int_equal(cstatd_agg_by_name("predict", &a), 0);
	assert_int_equal(a, CSTATD_AGG_PREDICT);
	assert_int_equal(cstatd_limit_by_name("host_memory", &l), 0);
	assert_int_equal(l, CSTATD_LIMIT_HOST_MEMORY);
	assert_int_equal(cstatd_limit_by_name("", &l), -ENOENT);
}

/* ------------------------------------------------------------------------ */
/* Table and JSON                                                           */
/* ------------------------------------------------------------------------ */

static struct cstatd_container *add(struct cstatd_store *st, const char *key, uint64_t mem)
{
	struct cstatd_container *c = cstatd_store_add(st, key);
	assert_non_null(c);
	cstatd_container_setf(&c->name, "%s", key);
	c->is_container = true;
	c->sources = CSTATD_SRC_CGROUP;
	c->s.have = CSTATD_HAVE_MEM_CURRENT | CSTATD_HAVE_MEM_MAX | CSTATD_HAVE_CPU_STAT;
	c->s.mem_current = mem;
	c->s.mem_max = 4096;
	return c;
}

static void test_table_sweep(void **state)
{
	(void)state;
	struct cstatd_window_layout l = layout_default(), l2;
	struct cstatd_window_table *t;
	struct cstatd_store *st = cstatd_store_new();
	double out;
	char key[32];

	assert_int_equal(cstatd_window_table_new(&l, &t), 0);
	/* Enough containers to make the table grow and rehash. */
	for (int i = 0; i < 150; i++) {
		snprintf(key, sizeof(key), "c%03d", i);
		add(st, key, 1000 + (uint64_t)i);
	}
	for (int s = 0; s < 3; s++)
		assert_int_equal(cstatd_window_table_sweep(t, st, T0 + s), 0);
	assert_int_equal(cstatd_window_table_count(t), 150);
	struct cstatd_windows *w = cstatd_window_table_get(t, "c042");
	assert_non_null(w);
	assert_int_equal(
	    cstatd_windows_aggregate(w, CSTATD_SIG_MEMORY_USAGE, 0, CSTATD_AGG_AVG, &out), 0);
	assert_close(out, 1042);
	/* Containers leave: their windows go; the rest stay reachable. */
	for (int i = 0; i < 150; i += 3) {
		snprintf(key, sizeof(key), "c%03d", i);
		cstatd_store_remove(st, cstatd_store_get(st, key));
	}
	assert_int_equal(cstatd_window_table_sweep(t, st, T0 + 3), 0);
	assert_int_equal(cstatd_window_table_count(t), 100);
	assert_null(cstatd_window_table_get(t, "c042"));
	assert_non_null(cstatd_window_table_get(t, "c043"));
	/* A new layout drops the history. */
	const uint64_t other[] = {120000};
	assert_int_equal(cstatd_window_layout_init(&l2, other, 1, 1000), 0);
	assert_int_equal(cstatd_window_table_set_layout(t, &l2), 1);
	assert_int_equal(cstatd_window_table_set_layout(t, &l2), 0);
	assert_int_equal(cstatd_window_table_count(t), 0);
	assert_int_equal(cstatd_window_table_sweep(t, st, T0 + 4), 0);
	assert_int_equal(cstatd_window_table_count(t), 100);

	/* JSON of one container. */
	struct cstatd_container *c = cstatd_store_get(st, "c043");
	struct cstatd_host h = {.cpus = 4, .memory_bytes = 8e9};
	json_t *j = cstatd_windows_json(cstatd_window_table_get(t, "c043"), c, &h);
	assert_non_null(j);
	assert_true(json_is_number(json_object_get(json_object_get(j, "limits"), "memory_bytes")));
	assert_true(json_is_null(json_object_get(json_object_get(j, "limits"), "cpu_cores")));
	json_t *mu = json_object_get(json_object_get(j, "signals"), "memory_usage");
	assert_non_null(mu);
	assert_string_equal(json_string_value(json_object_get(mu, "unit")), "bytes");
	json_t *w2 = json_object_get(json_object_get(mu, "windows"), "2m");
	assert_non_null(w2);
	assert_true(json_real_value(json_object_get(w2, "avg")) == 1043);
	assert_true(json_is_null(json_object_get(w2, "trend_per_second"))); /* one point */
	assert_non_null(json_object_get(w2, "seconds_to_limit"));
	assert_null(json_object_get(w2, "increase"));
	json_t *cpu =
	    json_object_get(json_object_get(json_object_get(j, "signals"), "cpu_usage"), "windows");
	assert_true(json_is_null(json_object_get(json_object_get(cpu, "2m"), "avg")));
	json_decref(j);

	cstatd_window_table_free(t);
	cstatd_store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout_default),
	    cmocka_unit_test(test_layout_sort_dedupe_and_errors),
	    cmocka_unit_test(test_gauge_aggregates_exact),
	    cmocka_unit_test(test_window_edges_by_hand),
	    cmocka_unit_test(test_nodata_and_invalid),
	    cmocka_unit_test(test_rings_only_for_present_signals),
	    cmocka_unit_test(test_counter_reset_and_rate),
	    cmocka_unit_test(test_cpu_rate_across_gap),
	    cmocka_unit_test(test_throttled_ratio),
	    cmocka_unit_test(test_predict_linear_exact),
	    cmocka_unit_test(test_clock_step_back_resets),
	    cmocka_unit_test(test_signals_read_and_limits),
	    cmocka_unit_test(test_signal_names),
	    cmocka_unit_test(test_table_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
