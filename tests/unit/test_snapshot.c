/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for daemon/snapshot.c: the capped byte buffers and the
 * refcounted pool of rendered snapshots (begin/publish on the sweep thread,
 * acquire/release on HTTP threads).
 *
 * The pool is process-wide state. Tests run in the order listed in main();
 * each one ends with cstatd_snapshot_shutdown(), which empties the pool and
 * forgets the current snapshot. "Acquire before any publish" runs first.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cstatd/snapshot.h"

#define POOL_SIZE 32 /* POOL_MAX in daemon/snapshot.c */

static int teardown_pool(void **state)
{
	(void)state;
	cstatd_snapshot_shutdown();
	return 0;
}

static void fill(struct cstatd_buf *b, char c, size_t n)
{
	char chunk[256];
	memset(chunk, c, sizeof(chunk));
	while (n) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
		cstatd_buf_append(b, chunk, k);
		n -= k;
	}
}

/* ------------------------------------------------------------------------ */
/* Buffers                                                                  */
/* ------------------------------------------------------------------------ */

static void test_buf_basic(void **state)
{
	(void)state;
	struct cstatd_buf b;
	cstatd_buf_init(&b, 1 << 20);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_false(b.overflow);

	cstatd_buf_append(&b, "hello ", 6);
	cstatd_buf_append(&b, "world", 5);
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data, "hello world", 11);
	assert_true(b.cap >= 11);

	/* Zero-length appends are harmless. */
	cstatd_buf_append(&b, "", 0);
	assert_int_equal(b.len, 11);

	/* Growth keeps the contents. */
	fill(&b, 'x', 100000);
	assert_int_equal(b.len, 100011);
	assert_memory_equal(b.data, "hello world", 11);
	assert_int_equal(b.data[100010], 'x');
	assert_true(b.cap >= b.len);
	assert_true(b.cap <= b.limit);
	assert_false(b.overflow);

	/* Reserve within capacity does not move the data. */
	b.len = 0;
	char *before = b.data;
	size_t cap = b.cap;
	assert_int_equal(cstatd_buf_reserve(&b, cap), 0);
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.cap, cap);

	cstatd_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.len, 0);
	cstatd_buf_free(&b); /* twice is fine */
}

static void test_buf_limit(void **state)
{
	(void)state;
	struct cstatd_buf b;
	cstatd_buf_init(&b, 100);

	fill(&b, 'a', 60);
	assert_int_equal(b.len, 60);
	assert_false(b.overflow);
	assert_true(b.cap <= 100); /* never allocates past the cap */

	/* 60 + 60 > 100: nothing is appended, overflow is sticky. */
	cstatd_buf_append(&b, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 60);
	assert_int_equal(b.len, 60);
	assert_true(b.overflow);
	assert_int_equal(cstatd_buf_reserve(&b, 41), -E2BIG);

	/* Exactly up to the limit still fits. */
	b.overflow = false;
	assert_int_equal(cstatd_buf_reserve(&b, 40), 0);
	fill(&b, 'c', 40);
	assert_int_equal(b.len, 100);
	assert_false(b.overflow);
	assert_true(b.cap <= 100);
	cstatd_buf_append(&b, "d", 1);
	assert_int_equal(b.len, 100);
	assert_true(b.overflow);

	/* A single huge reservation fails without overflowing size_t. */
	b.overflow = false;
	assert_int_equal(cstatd_buf_reserve(&b, SIZE_MAX / 2), -E2BIG);
	cstatd_buf_free(&b);
}

/*
 * Regression test: an empty append to a buffer that owns no memory yet
 * (data == NULL) must be a no-op. cstatd_buf_append() calls
 * memcpy(b->data + b->len, s, 0) with b->data NULL, which is undefined
 * behaviour (C11 7.24.1p2: pointer arguments must be valid even for n == 0;
 * glibc declares memcpy's arguments nonnull, so the compiler may assume it).
 * UBSan reports "null pointer passed as argument 1, which is declared to
 * never be null" at daemon/snapshot.c in cstatd_buf_append. The renderer
 * does not reach it today only because its first write into every buffer
 * is non-empty ("# HELP", "id=\""); render_escape_label_value("") on a fresh
 * buffer does. Runs last: under UBSan with halt_on_error it ends the run.
 */
static void test_buf_append_empty_to_fresh(void **state)
{
	(void)state;
	struct cstatd_buf b;
	cstatd_buf_init(&b, 1 << 20);
	cstatd_buf_append(&b, "", 0);
	assert_int_equal(b.len, 0);
	assert_false(b.overflow);
	cstatd_buf_append(&b, "x", 1);
	assert_int_equal(b.len, 1);
	cstatd_buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Pool                                                                     */
/* ------------------------------------------------------------------------ */

static void test_acquire_before_publish(void **state)
{
	(void)state;
	/* Must run before any publish in this process. */
	assert_false(cstatd_snapshot_ready());
	assert_null(cstatd_snapshot_acquire());
	/* begin() alone does not make anything current. */
	struct cstatd_snapshot *s = cstatd_snapshot_begin();
	assert_non_null(s);
	assert_null(cstatd_snapshot_acquire());
	assert_false(cstatd_snapshot_ready());
	cstatd_snapshot_release(NULL); /* no-op */
}

static void test_begin_publish_acquire(void **state)
{
	(void)state;
	struct cstatd_snapshot *s = cstatd_snapshot_begin();
	assert_non_null(s);
	for (int v = 0; v < CSTATD_BODY_VARIANTS; v++) {
		assert_false(s->has[v]);
		assert_int_equal(s->body[v].len, 0);
		assert_false(s->body[v].overflow);
		assert_true(s->body[v].limit > 0);
	}
	assert_int_equal(atomic_load(&s->refs), 0);
	cstatd_buf_append(&s->body[CSTATD_BODY_TEXT], "a 1\n", 4);
	s->has[CSTATD_BODY_TEXT] = true;
	s->sweep_time = 1234.5;
	cstatd_snapshot_publish(s);
	assert_true(cstatd_snapshot_ready());

	struct cstatd_snapshot *a = cstatd_snapshot_acquire();
	struct cstatd_snapshot *b = cstatd_snapshot_acquire();
	assert_ptr_equal(a, s);
	assert_ptr_equal(b, s);
	assert_int_equal(atomic_load(&s->refs), 2);
	assert_true(a->has[CSTATD_BODY_TEXT]);
	assert_memory_equal(a->body[CSTATD_BODY_TEXT].data, "a 1\n", 4);
	cstatd_snapshot_release(a);
	cstatd_snapshot_release(b);
	assert_int_equal(atomic_load(&s->refs), 0);

	/* The current snapshot is never handed out for rendering, even with
	 * no reader: HTTP may acquire it at any moment. */
	struct cstatd_snapshot *n = cstatd_snapshot_begin();
	assert_non_null(n);
	assert_ptr_not_equal(n, s);
	/* A second begin() without publish returns a snapshot nobody holds
	 * (the same one is fine: the sweep thread renders one at a time). */
	struct cstatd_snapshot *n2 = cstatd_snapshot_begin();
	assert_non_null(n2);
	assert_ptr_not_equal(n2, s);

	cstatd_snapshot_publish(n2);
	assert_ptr_equal(cstatd_snapshot_acquire(), n2);
	cstatd_snapshot_release(n2);
}

static void test_held_never_reused(void **state)
{
	(void)state;
	struct cstatd_snapshot *a = cstatd_snapshot_begin();
	assert_non_null(a);
	a->sweep_time = 1;
	cstatd_snapshot_publish(a);
	struct cstatd_snapshot *held = cstatd_snapshot_acquire();
	assert_ptr_equal(held, a);

	/* Many sweeps while a slow client holds `a`. */
	for (int round = 0; round < 200; round++) {
		struct cstatd_snapshot *s = cstatd_snapshot_begin();
		assert_non_null(s);
		if (s == held)
			fail_msg("round %d: begin() handed out a snapshot a reader still holds",
			         round);
		s->sweep_time = 100 + round;
		cstatd_snapshot_publish(s);
		/* Other short-lived readers come and go. */
		struct cstatd_snapshot *r = cstatd_snapshot_acquire();
		assert_ptr_equal(r, s);
		cstatd_snapshot_release(r);
	}
	assert_true(held->sweep_time == 1); /* nobody rendered into it */
	cstatd_snapshot_release(held);

	/* Released and no longer current: it is reusable again. */
	bool seen = false;
	for (int round = 0; round < 4 && !seen; round++) {
		struct cstatd_snapshot *s = cstatd_snapshot_begin();
		assert_non_null(s);
		seen = s == a;
		cstatd_snapshot_publish(s);
	}
	/* The pool scans in order; `a` was the first entry created. */
	assert_true(seen);
}

static void test_pool_exhaustion(void **state)
{
	(void)state;
	struct cstatd_snapshot *held[POOL_SIZE];
	for (int i = 0; i < POOL_SIZE; i++) {
		struct cstatd_snapshot *s = cstatd_snapshot_begin();
		if (!s)
			fail_msg("begin() returned NULL with %d of %d snapshots held", i,
			         POOL_SIZE);
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(s, held[j]);
		cstatd_snapshot_publish(s);
		held[i] = cstatd_snapshot_acquire();
		assert_ptr_equal(held[i], s);
	}
	/* Every snapshot is held: the sweep must skip rendering, not reuse. */
	assert_null(cstatd_snapshot_begin());

	/* Releasing the current one does not free it for rendering. */
	cstatd_snapshot_release(held[POOL_SIZE - 1]);
	assert_null(cstatd_snapshot_begin());

	/* Releasing an old one does. */
	cstatd_snapshot_release(held[5]);
	struct cstatd_snapshot *s = cstatd_snapshot_begin();
	assert_ptr_equal(s, held[5]);
	cstatd_snapshot_publish(s);
	assert_ptr_equal(cstatd_snapshot_acquire(), held[5]);
	cstatd_snapshot_release(held[5]);
	/* Now held[POOL_SIZE-1] is no longer current and has no reader. */
	assert_ptr_equal(cstatd_snapshot_begin(), held[POOL_SIZE - 1]);

	for (int i = 0; i < POOL_SIZE - 1; i++)
		if (i != 5)
			cstatd_snapshot_release(held[i]);
}

/* Steady state allocates nothing: a recycled snapshot keeps its buffers. */
static void test_buffers_keep_capacity(void **state)
{
	(void)state;
	enum { BODY = 300000 };
	struct cstatd_snapshot *first[2] = {NULL, NULL};
	char *data[2][CSTATD_BODY_VARIANTS];
	size_t cap[2][CSTATD_BODY_VARIANTS];

	for (int round = 0; round < 6; round++) {
		struct cstatd_snapshot *s = cstatd_snapshot_begin();
		assert_non_null(s);
		int slot = round % 2;
		if (round < 2) {
			first[slot] = s;
		} else {
			/* Two snapshots alternate: the other one is current. */
			assert_ptr_equal(s, first[slot]);
			for (int v = 0; v < CSTATD_BODY_VARIANTS; v++) {
				assert_false(s->has[v]);
				assert_int_equal(s->body[v].len, 0);
				assert_int_equal(s->body[v].cap, cap[slot][v]);
			}
		}
		for (int v = 0; v < CSTATD_BODY_VARIANTS; v++) {
			fill(&s->body[v], (char)('a' + v), BODY + (size_t)v * 1000);
			s->has[v] = true;
			assert_false(s->body[v].overflow);
			if (round >= 2) {
				if (s->body[v].data != data[slot][v])
					fail_msg("round %d variant %d: body reallocated (%p -> %p)",
					         round, v, (void *)data[slot][v],
					         (void *)s->body[v].data);
				assert_int_equal(s->body[v].cap, cap[slot][v]);
			}
			data[slot][v] = s->body[v].data;
			cap[slot][v] = s->body[v].cap;
		}
		cstatd_snapshot_publish(s);
		struct cstatd_snapshot *r = cstatd_snapshot_acquire();
		assert_ptr_equal(r, s);
		assert_int_equal(r->body[CSTATD_BODY_OM].len, BODY + 2000);
		cstatd_snapshot_release(r);
	}
	assert_ptr_not_equal(first[0], first[1]);
}

/* A body not made in a snapshot's last turn (a gzip copy nobody asked for
 * since) is given back when the snapshot is reused; the text body, made at
 * every sweep, keeps its buffer. */
static void test_idle_bodies_released(void **state)
{
	(void)state;
	enum { BODY = 300000 };
	struct cstatd_snapshot *s[4];

	for (int round = 0; round < 4; round++) {
		s[round] = cstatd_snapshot_begin();
		assert_non_null(s[round]);
		fill(&s[round]->body[CSTATD_BODY_TEXT], 't', BODY);
		s[round]->has[CSTATD_BODY_TEXT] = true;
		if (round < 2) { /* a scraper asked for gzip in the first two turns */
			fill(&s[round]->body[CSTATD_BODY_TEXT_GZ], 'z', BODY / 3);
			s[round]->has[CSTATD_BODY_TEXT_GZ] = true;
		}
		if (round >= 2) {
			assert_ptr_equal(s[round], s[round - 2]);
			/* gzip was made in this snapshot's last turn: kept */
			assert_true(s[round]->body[CSTATD_BODY_TEXT_GZ].cap >= BODY / 3);
			assert_true(s[round]->body[CSTATD_BODY_TEXT].cap >= BODY);
		}
		cstatd_snapshot_publish(s[round]);
	}
	/* Rounds 2 and 3 made no gzip: their next turn releases it. */
	for (int round = 0; round < 2; round++) {
		struct cstatd_snapshot *x = cstatd_snapshot_begin();
		assert_int_equal(x->body[CSTATD_BODY_TEXT_GZ].cap, 0);
		assert_null(x->body[CSTATD_BODY_TEXT_GZ].data);
		assert_int_equal(x->body[CSTATD_BODY_TEXT_GZ].limit,
		                 s[0]->body[CSTATD_BODY_TEXT].limit);
		assert_true(x->body[CSTATD_BODY_TEXT].cap >= BODY);
		fill(&x->body[CSTATD_BODY_TEXT], 't', BODY);
		x->has[CSTATD_BODY_TEXT] = true;
		cstatd_snapshot_publish(x);
	}
}

static void test_want(void **state)
{
	(void)state;
	/* Plain text is always rendered; the others only once asked for. */
	assert_true(cstatd_snapshot_wanted(CSTATD_BODY_TEXT));
	assert_false(cstatd_snapshot_wanted(CSTATD_BODY_TEXT_GZ));
	assert_false(cstatd_snapshot_wanted(CSTATD_BODY_OM));
	assert_false(cstatd_snapshot_wanted(CSTATD_BODY_OM_GZ));
	cstatd_snapshot_want(CSTATD_BODY_OM);
	assert_true(cstatd_snapshot_wanted(CSTATD_BODY_OM));
	assert_false(cstatd_snapshot_wanted(CSTATD_BODY_OM_GZ));
	assert_false(cstatd_snapshot_wanted(CSTATD_BODY_TEXT_GZ));
	cstatd_snapshot_want(CSTATD_BODY_TEXT_GZ);
	assert_true(cstatd_snapshot_wanted(CSTATD_BODY_TEXT_GZ));
	cstatd_snapshot_want(CSTATD_BODY_TEXT);
	assert_true(cstatd_snapshot_wanted(CSTATD_BODY_TEXT));
}

/* ------------------------------------------------------------------------ */
/* Concurrency: readers never see their snapshot re-rendered                */
/* ------------------------------------------------------------------------ */

#define READERS 4

static atomic_bool stop_readers;
static atomic_long reader_faults;
static atomic_long reader_reads;

static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_readers)) {
		struct cstatd_snapshot *s = cstatd_snapshot_acquire();
		if (!s) {
			sched_yield();
			continue;
		}
		/* The body is "<sweep number>\n" repeated; it must stay intact
		 * for as long as the reference is held. */
		double t = s->sweep_time;
		size_t len = s->body[CSTATD_BODY_TEXT].len;
		for (int k = 0; k < 3; k++) {
			sched_yield();
			if (s->sweep_time != t || s->body[CSTATD_BODY_TEXT].len != len ||
			    !s->has[CSTATD_BODY_TEXT])
				atomic_fetch_add(&reader_faults, 1);
		}
		char want[32];
		int n = snprintf(want, sizeof(want), "%.0f\n", t);
		if (len < (size_t)n || memcmp(s->body[CSTATD_BODY_TEXT].data, want, (size_t)n) != 0)
			atomic_fetch_add(&reader_faults, 1);
		atomic_fetch_add(&reader_reads, 1);
		cstatd_snapshot_release(s);
	}
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	(void)state;
	pthread_t th[READERS];
	atomic_store(&stop_readers, false);
	atomic_store(&reader_faults, 0);
	atomic_store(&reader_reads, 0);
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, NULL), 0);

	long skipped = 0;
	for (int sweep = 1; sweep <= 20000; sweep++) {
		struct cstatd_snapshot *s = cstatd_snapshot_begin();
		if (!s) {
			skipped++;
			continue;
		}
		char line[32];
		int n = snprintf(line, sizeof(line), "%d\n", sweep);
		for (int k = 0; k < 8; k++)
			cstatd_buf_append(&s->body[CSTATD_BODY_TEXT], line, (size_t)n);
		s->has[CSTATD_BODY_TEXT] = true;
		s->sweep_time = sweep;
		cstatd_snapshot_publish(s);
		if (sweep % 64 == 0)
			sched_yield();
	}
	atomic_store(&stop_readers, true);
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&reader_faults) != 0)
		fail_msg("%ld of %ld reads saw their snapshot change while held",
		         atomic_load(&reader_faults), atomic_load(&reader_reads));
	assert_true(atomic_load(&reader_reads) > 0);
	assert_true(skipped < 20000);
}

/* Under -fsanitize=undefined, a UB report fails the run instead of only
 * being printed (the runtime's default is to carry on). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_basic),
	    cmocka_unit_test(test_buf_limit),
	    /* Pool tests: order matters (the first one needs a fresh process). */
	    cmocka_unit_test_teardown(test_acquire_before_publish, teardown_pool),
	    cmocka_unit_test_teardown(test_begin_publish_acquire, teardown_pool),
	    cmocka_unit_test_teardown(test_held_never_reused, teardown_pool),
	    cmocka_unit_test_teardown(test_pool_exhaustion, teardown_pool),
	    cmocka_unit_test_teardown(test_buffers_keep_capacity, teardown_pool),
	    cmocka_unit_test_teardown(test_idle_bodies_released, teardown_pool),
	    cmocka_unit_test_teardown(test_want, teardown_pool),
	    cmocka_unit_test_teardown(test_concurrent_readers, teardown_pool),
	    /* Last: a regression test for UB that UBSan turns into an abort. */
	    cmocka_unit_test(test_buf_append_empty_to_fresh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
