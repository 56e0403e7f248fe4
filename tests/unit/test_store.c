/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for daemon/store.c: the container store (dense array plus an
 * open-addressing index with backward-shift deletion).
 *
 * A model of the expected contents is kept alongside the store and every
 * key is checked against it after each burst of operations, so a broken
 * probe chain (an entry made unreachable by a wrong shift) shows up as a
 * lookup that returns NULL or the wrong record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cstatd/store.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Keys look like what the store really holds: 64-hex runtime ids, and
 * cgroup paths for --all-cgroups. */
static void make_key(char *out, unsigned i)
{
	if (i % 5 == 4) {
		snprintf(out, CSTATD_ID_LEN + 1, "system.slice/unit-%u.service", i);
	} else {
		uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15ull;
		snprintf(out, CSTATD_ID_LEN + 1, "%016llx%016llx%016llx%016llx",
		         (unsigned long long)h, (unsigned long long)(h ^ 0xabcdef),
		         (unsigned long long)~h, (unsigned long long)(h * 31));
	}
}

/* Model: for key index i, the record pointer in the store (or NULL). */
struct model {
	unsigned n;
	char (*keys)[CSTATD_ID_LEN + 1];
	struct cstatd_container **rec;
	size_t live;
};

static void model_init(struct model *m, unsigned n)
{
	m->n = n;
	m->keys = calloc(n, sizeof(*m->keys));
	m->rec = calloc(n, sizeof(*m->rec));
	assert_non_null(m->keys);
	assert_non_null(m->rec);
	for (unsigned i = 0; i < n; i++)
		make_key(m->keys[i], i);
	m->live = 0;
}

static void model_free(struct model *m)
{
	free(m->keys);
	free(m->rec);
}

static void add(struct cstatd_store *st, struct model *m, unsigned i)
{
	assert_null(m->rec[i]);
	struct cstatd_container *c = cstatd_store_add(st, m->keys[i]);
	if (!c)
		fail_msg("add '%s' failed", m->keys[i]);
	assert_string_equal(c->key, m->keys[i]);
	assert_int_equal(c->sources, 0); /* zeroed */
	assert_null(c->cgroup_path);
	/* Tag the record so a lookup returning the wrong one is caught. */
	c->s.processes = i;
	m->rec[i] = c;
	m->live++;
}

static void del(struct cstatd_store *st, struct model *m, unsigned i)
{
	assert_non_null(m->rec[i]);
	cstatd_store_remove(st, m->rec[i]);
	m->rec[i] = NULL;
	m->live--;
}

/* Every key resolves to its own record (same pointer as when added), every
 * removed key to NULL, and iteration visits each live record exactly once. */
static void check(struct cstatd_store *st, const struct model *m)
{
	assert_int_equal(cstatd_store_count(st), m->live);
	for (unsigned i = 0; i < m->n; i++) {
		struct cstatd_container *c = cstatd_store_get(st, m->keys[i]);
		if (c != m->rec[i])
			fail_msg("get('%s') [#%u] = %p, want %p", m->keys[i], i, (void *)c,
			         (void *)m->rec[i]);
		if (c && c->s.processes != i)
			fail_msg("get('%s') returned record tagged %llu", m->keys[i],
			         (unsigned long long)c->s.processes);
	}
	unsigned char *seen = calloc(m->n, 1);
	assert_non_null(seen);
	for (size_t k = 0; k < m->live; k++) {
		struct cstatd_container *c = cstatd_store_at(st, k);
		assert_non_null(c);
		uint64_t i = c->s.processes;
		assert_true(i < m->n);
		assert_ptr_equal(m->rec[i], c);
		if (seen[i]++)
			fail_msg("record '%s' appears twice in iteration", c->key);
	}
	assert_null(cstatd_store_at(st, m->live));
	assert_null(cstatd_store_at(st, m->live + 100));
	free(seen);
}

static void shuffle(unsigned *v, unsigned n)
{
	for (unsigned i = n; i > 1; i--) {
		unsigned j = (unsigned)(rng() % i);
		unsigned t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

static unsigned *permutation(unsigned n)
{
	unsigned *v = malloc(n * sizeof(*v));
	assert_non_null(v);
	for (unsigned i = 0; i < n; i++)
		v[i] = i;
	shuffle(v, n);
	return v;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static void test_empty(void **state)
{
	(void)state;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	assert_int_equal(cstatd_store_count(st), 0);
	assert_null(cstatd_store_get(st, "abc"));
	assert_null(cstatd_store_get(st, ""));
	assert_null(cstatd_store_at(st, 0));
	assert_int_equal(cstatd_store_prune(st), 0);
	cstatd_store_free(st);
	cstatd_store_free(NULL);
}

static void test_basic(void **state)
{
	(void)state;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	struct cstatd_container *a = cstatd_store_add(st, "aaaa");
	struct cstatd_container *b = cstatd_store_add(st, "bbbb");
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_int_equal(cstatd_store_count(st), 2);
	assert_ptr_equal(cstatd_store_get(st, "aaaa"), a);
	assert_ptr_equal(cstatd_store_get(st, "bbbb"), b);
	assert_null(cstatd_store_get(st, "aaa"));
	assert_null(cstatd_store_get(st, "aaaaa"));
	/* Insertion order. */
	assert_ptr_equal(cstatd_store_at(st, 0), a);
	assert_ptr_equal(cstatd_store_at(st, 1), b);

	/* The longest key fits; a longer one is refused. */
	char key[CSTATD_ID_LEN + 2];
	memset(key, 'f', CSTATD_ID_LEN);
	key[CSTATD_ID_LEN] = '\0';
	struct cstatd_container *l = cstatd_store_add(st, key);
	assert_non_null(l);
	assert_string_equal(l->key, key);
	key[CSTATD_ID_LEN] = 'f';
	key[CSTATD_ID_LEN + 1] = '\0';
	assert_null(cstatd_store_add(st, key));
	assert_int_equal(cstatd_store_count(st), 3);

	cstatd_store_remove(st, a);
	assert_null(cstatd_store_get(st, "aaaa"));
	assert_ptr_equal(cstatd_store_get(st, "bbbb"), b);
	assert_int_equal(cstatd_store_count(st), 2);

	/* Re-adding a removed key gives a fresh, zeroed record. */
	struct cstatd_container *a2 = cstatd_store_add(st, "aaaa");
	assert_non_null(a2);
	assert_int_equal(a2->sources, 0);
	assert_ptr_equal(cstatd_store_get(st, "aaaa"), a2);
	cstatd_store_free(st);
}

static int destructor_calls;
static void count_free(void *p)
{
	destructor_calls++;
	free(p);
}

static void test_destructors(void **state)
{
	(void)state;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	destructor_calls = 0;
	for (int i = 0; i < 4; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%d", i);
		struct cstatd_container *c = cstatd_store_add(st, key);
		assert_non_null(c);
		c->cgroup_path = strdup("system.slice/x");
		c->cg_priv = malloc(8);
		c->cg_priv_free = count_free;
		c->net_priv = malloc(8);
		c->net_priv_free = count_free;
		c->sources = i < 2 ? CSTATD_SRC_CGROUP : 0;
	}
	/* A destructor with a NULL payload is not called. */
	struct cstatd_container *e = cstatd_store_add(st, "empty");
	e->cg_priv_free = count_free;
	e->sources = CSTATD_SRC_DOCKER;

	cstatd_store_remove(st, cstatd_store_get(st, "k0"));
	assert_int_equal(destructor_calls, 2);
	assert_int_equal(cstatd_store_prune(st), 2); /* k2, k3 */
	assert_int_equal(destructor_calls, 6);
	cstatd_store_free(st); /* k1 (+2), empty (+0); ASan checks the frees */
	assert_int_equal(destructor_calls, 8);
}

/* Thousands of keys in random order, with interleaved removals. */
static void test_churn(void **state)
{
	(void)state;
	enum { N = 6000 };
	rng_state = 0x2545F4914F6CDD1Dull;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	struct model m;
	model_init(&m, N);

	unsigned *order = permutation(N);
	/* Phase 1: add everything, removing a random live key every 3rd add. */
	for (unsigned k = 0; k < N; k++) {
		add(st, &m, order[k]);
		if (k % 3 == 2) {
			unsigned victim = order[rng() % (k + 1)];
			if (m.rec[victim])
				del(st, &m, victim);
		}
		if (k % 500 == 0)
			check(st, &m);
	}
	check(st, &m);

	/* Pointers stay valid while other records come and go. */
	struct cstatd_container *stable[N];
	memcpy(stable, m.rec, sizeof(stable));

	/* Phase 2: random mix of add/remove/get. */
	for (unsigned step = 0; step < 60000; step++) {
		unsigned i = (unsigned)(rng() % N);
		if (m.rec[i]) {
			if (rng() % 2) {
				del(st, &m, i);
				stable[i] = NULL;
			} else {
				assert_ptr_equal(cstatd_store_get(st, m.keys[i]), m.rec[i]);
			}
		} else {
			assert_null(cstatd_store_get(st, m.keys[i]));
			add(st, &m, i);
			stable[i] = m.rec[i];
		}
		if (step % 5000 == 0)
			check(st, &m);
	}
	check(st, &m);
	for (unsigned i = 0; i < N; i++)
		if (stable[i])
			assert_ptr_equal(stable[i], m.rec[i]);

	/* Phase 3: remove everything in random order, checking as we go. */
	shuffle(order, N);
	for (unsigned k = 0; k < N; k++) {
		if (m.rec[order[k]])
			del(st, &m, order[k]);
		if (k % 700 == 0)
			check(st, &m);
	}
	check(st, &m);
	assert_int_equal(cstatd_store_count(st), 0);

	/* Phase 4: the emptied store is fully usable again. */
	for (unsigned k = 0; k < N; k++)
		add(st, &m, order[k]);
	check(st, &m);

	free(order);
	model_free(&m);
	cstatd_store_free(st);
}

/*
 * Keys that collide in the index: with a small live set and many keys
 * cycling through, probe chains wrap around the end of the slot array;
 * backward-shift deletion must handle the wrap.
 */
static void test_churn_small_table(void **state)
{
	(void)state;
	enum { N = 4000, LIVE = 30 };
	rng_state = 0x9E3779B97F4A7C15ull;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	struct model m;
	model_init(&m, N);
	unsigned live[LIVE];
	for (unsigned k = 0; k < LIVE; k++) {
		live[k] = k;
		add(st, &m, k);
	}
	unsigned next = LIVE;
	for (unsigned step = 0; step < 200000; step++) {
		unsigned slot = (unsigned)(rng() % LIVE);
		del(st, &m, live[slot]);
		/* Either a brand-new key or one removed earlier. */
		unsigned i;
		do {
			i = (rng() % 4) ? next++ % N : (unsigned)(rng() % N);
		} while (m.rec[i]);
		add(st, &m, i);
		live[slot] = i;
		if (step % 1000 == 0)
			check(st, &m);
	}
	check(st, &m);
	model_free(&m);
	cstatd_store_free(st);
}

static void test_prune(void **state)
{
	(void)state;
	enum { N = 3000 };
	rng_state = 0xD1B54A32D192ED03ull;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	struct model m;
	model_init(&m, N);
	unsigned *order = permutation(N);
	for (unsigned k = 0; k < N; k++)
		add(st, &m, order[k]);

	for (int round = 0; round < 5; round++) {
		/* Mark a random subset as seen by some source. */
		size_t unseen = 0;
		for (unsigned i = 0; i < N; i++) {
			if (!m.rec[i])
				continue;
			uint64_t r = rng() % 4;
			m.rec[i]->sources = r == 0   ? 0
			                    : r == 1 ? CSTATD_SRC_CGROUP
			                    : r == 2 ? CSTATD_SRC_DOCKER
			                             : CSTATD_SRC_CGROUP | CSTATD_SRC_DOCKER;
			unseen += r == 0;
		}
		struct cstatd_container *kept[N];
		bool gone[N];
		memcpy(kept, m.rec, sizeof(kept));
		for (unsigned i = 0; i < N; i++)
			gone[i] = m.rec[i] && m.rec[i]->sources == 0;
		size_t removed = cstatd_store_prune(st);
		assert_int_equal(removed, unseen);
		/* Update the model: exactly the unseen records are gone. */
		for (unsigned i = 0; i < N; i++) {
			if (gone[i]) {
				m.rec[i] = NULL;
				m.live--;
			}
		}
		check(st, &m);
		/* Only unseen records went; the others kept their pointers. */
		for (size_t k = 0; k < cstatd_store_count(st); k++) {
			struct cstatd_container *c = cstatd_store_at(st, k);
			assert_int_not_equal(c->sources, 0);
			assert_ptr_equal(kept[c->s.processes], c);
		}
		assert_int_equal(cstatd_store_count(st), m.live);
		/* Nothing unseen is left, so a second prune removes nothing. */
		assert_int_equal(cstatd_store_prune(st), 0);
		/* Refill some of the gaps. */
		for (unsigned i = 0; i < N; i += 3)
			if (!m.rec[i])
				add(st, &m, i);
		check(st, &m);
	}

	/* Everything unseen: prune empties the store. */
	for (size_t k = 0; k < cstatd_store_count(st); k++)
		cstatd_store_at(st, k)->sources = 0;
	assert_int_equal(cstatd_store_prune(st), m.live);
	assert_int_equal(cstatd_store_count(st), 0);
	for (unsigned i = 0; i < N; i++)
		m.rec[i] = NULL;
	m.live = 0;
	check(st, &m);

	free(order);
	model_free(&m);
	cstatd_store_free(st);
}

/* Removing a record the store does not hold (already removed and re-added
 * under the same key) must not remove the live one. */
static void test_remove_foreign(void **state)
{
	(void)state;
	struct cstatd_store *a = cstatd_store_new();
	struct cstatd_store *b = cstatd_store_new();
	assert_non_null(a);
	assert_non_null(b);
	struct cstatd_container *ca = cstatd_store_add(a, "same");
	struct cstatd_container *cb = cstatd_store_add(b, "same");
	assert_non_null(ca);
	assert_non_null(cb);
	cstatd_store_remove(a, cb); /* not a's record: ignored */
	assert_ptr_equal(cstatd_store_get(a, "same"), ca);
	assert_int_equal(cstatd_store_count(a), 1);
	cstatd_store_free(a);
	cstatd_store_free(b);
}

/* ------------------------------------------------------------------------ */
/* Cardinality guards: --max-label-length                                   */
/* ------------------------------------------------------------------------ */

/* cstatd_label_cut on a copy of `in`; checks the result and the return. */
static void cut_case(const char *in, size_t max, const char *want)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", in);
	bool changed = cstatd_label_cut(buf, max);
	if (strcmp(buf, want) != 0)
		fail_msg("cut(\"%s\", %zu): expected \"%s\" (%zu bytes), got \"%s\" (%zu bytes)",
		         in, max, want, strlen(want), buf, strlen(buf));
	if (changed != (strcmp(in, want) != 0))
		fail_msg("cut(\"%s\", %zu): returned %d", in, max, changed);
}

static void test_label_cut_ascii(void **state)
{
	(void)state;
	cut_case("", 16, "");
	cut_case("abcdef", 0, "abcdef");  /* 0: no limit */
	cut_case("abcdef", 7, "abcdef");  /* under */
	cut_case("abcdef", 6, "abcdef");  /* exactly at the limit: untouched */
	cut_case("abcdefg", 6, "abcdef"); /* one over */
	cut_case("abcdefghijklmnopqrstuvwxyz", 16, "abcdefghijklmnop");
}

/* A character across the limit goes whole; one that ends at it stays. */
static void test_label_cut_utf8_boundary(void **state)
{
	(void)state;
	/* "é" is C3 A9, the 5th and 6th bytes of "abcdéxyz". */
	cut_case("abcd\xc3\xa9xyz", 6, "abcd\xc3\xa9"); /* ends exactly at the limit */
	cut_case("abcd\xc3\xa9xyz", 5, "abcd");         /* 2-byte char across it */
	/* "€" is E2 82 AC, "😀" is F0 9F 98 80: every cut inside them. */
	cut_case("ab\xe2\x82\xac", 5, "ab\xe2\x82\xac");
	cut_case("ab\xe2\x82\xac", 4, "ab");
	cut_case("ab\xe2\x82\xac", 3, "ab");
	cut_case("ab\xf0\x9f\x98\x80z", 6, "ab\xf0\x9f\x98\x80");
	cut_case("ab\xf0\x9f\x98\x80z", 5, "ab");
	cut_case("ab\xf0\x9f\x98\x80z", 4, "ab");
	cut_case("ab\xf0\x9f\x98\x80z", 3, "ab");
	cut_case("\xf0\x9f\x98\x80", 3, ""); /* nothing fits */
	/* A long multibyte run: the result is the longest whole prefix. */
	char in[256] = "", want[256] = "";
	for (int i = 0; i < 40; i++)
		strcat(in, "\xc3\xa9"); /* 80 bytes */
	for (int i = 0; i < 8; i++)
		strcat(want, "\xc3\xa9"); /* 16 bytes */
	cut_case(in, 16, want);
	cut_case(in, 17, want);
}

/* A value that an earlier plain byte cut (snprintf into a fixed field)
 * left with half a character loses that half, limit or not. */
static void test_label_cut_incomplete_tail(void **state)
{
	(void)state;
	cut_case("name\xe2\x82", 0, "name");
	cut_case("name\xe2", 100, "name");
	cut_case("name\xf0\x9f\x98", 100, "name");
	cut_case("name\xc3", 100, "name");
	/* Not UTF-8 at all: left for the renderer's U+FFFD. */
	cut_case("bad\xff", 100, "bad\xff");
	cut_case("bad\x80\x80", 100, "bad\x80\x80");
}

/* ------------------------------------------------------------------------ */
/* Cardinality guards: --max-containers                                     */
/* ------------------------------------------------------------------------ */

static void test_no_limit_by_default(void **state)
{
	(void)state;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	char key[CSTATD_ID_LEN + 1];
	for (unsigned i = 0; i < 6000; i++) {
		make_key(key, i);
		assert_non_null(cstatd_store_add(st, key));
	}
	assert_false(cstatd_store_full(st));
	assert_int_equal(cstatd_store_dropped_total(st), 0);
	assert_int_equal(cstatd_store_label_max(st), 0);
	cstatd_store_free(st);
}

/* Full store: new keys refused, each counted once however often offered. */
static void test_limit_counts_each_drop_once(void **state)
{
	(void)state;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	cstatd_store_set_limits(st, 3, 64);
	assert_int_equal(cstatd_store_label_max(st), 64);
	assert_non_null(cstatd_store_add(st, "a"));
	assert_non_null(cstatd_store_add(st, "b"));
	assert_false(cstatd_store_full(st));
	assert_non_null(cstatd_store_add(st, "c"));
	assert_true(cstatd_store_full(st));

	/* d is offered every sweep (Docker does that): counted once. */
	for (int sweep = 0; sweep < 10; sweep++)
		assert_null(cstatd_store_add(st, "d"));
	assert_int_equal(cstatd_store_dropped_total(st), 1);
	assert_int_equal(cstatd_store_refused(st), 1);
	assert_null(cstatd_store_add(st, "e"));
	assert_null(cstatd_store_add(st, "d"));
	assert_int_equal(cstatd_store_dropped_total(st), 2);
	assert_int_equal(cstatd_store_refused(st), 2);
	assert_int_equal(cstatd_store_count(st), 3);
	assert_null(cstatd_store_get(st, "d"));

	/* A key too long is no drop. */
	char longkey[CSTATD_ID_LEN + 2];
	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_null(cstatd_store_add(st, longkey));
	assert_int_equal(cstatd_store_dropped_total(st), 2);

	/* b goes: the next offer of d takes its place; d stays counted. */
	cstatd_store_remove(st, cstatd_store_get(st, "b"));
	assert_false(cstatd_store_full(st));
	assert_non_null(cstatd_store_add(st, "d"));
	assert_true(cstatd_store_full(st));
	assert_int_equal(cstatd_store_refused(st), 1); /* e */
	assert_int_equal(cstatd_store_dropped_total(st), 2);
	assert_null(cstatd_store_add(st, "e"));
	assert_int_equal(cstatd_store_dropped_total(st), 2);

	cstatd_store_free(st);
}

/* Refused keys are forgotten after a round in which nobody offered them:
 * a container that comes back after that is a new appearance. A container
 * adopted, then gone, then refused again is one too. */
static void test_limit_rounds(void **state)
{
	(void)state;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	cstatd_store_set_limits(st, 2, 0);
	assert_non_null(cstatd_store_add(st, "a"));
	assert_non_null(cstatd_store_add(st, "b"));
	assert_null(cstatd_store_add(st, "x"));
	assert_null(cstatd_store_add(st, "y"));
	assert_int_equal(cstatd_store_dropped_total(st), 2);

	/* Round 1: both were offered since the start. Then only x again. */
	cstatd_store_new_round(st);
	assert_int_equal(cstatd_store_refused(st), 2);
	assert_null(cstatd_store_add(st, "x"));
	/* Round 2: y was not offered during round 1: forgotten. */
	cstatd_store_new_round(st);
	assert_int_equal(cstatd_store_refused(st), 1);
	assert_int_equal(cstatd_store_dropped_total(st), 2);
	assert_null(cstatd_store_add(st, "x")); /* still remembered */
	assert_null(cstatd_store_add(st, "y")); /* back: counted again */
	assert_int_equal(cstatd_store_dropped_total(st), 3);

	/* a goes, x is adopted; x goes too, and comes back while full. */
	cstatd_store_remove(st, cstatd_store_get(st, "a"));
	struct cstatd_container *x = cstatd_store_add(st, "x");
	assert_non_null(x);
	assert_int_equal(cstatd_store_refused(st), 1); /* y */
	cstatd_store_remove(st, x);
	assert_non_null(cstatd_store_add(st, "y")); /* y takes the place */
	assert_int_equal(cstatd_store_refused(st), 0);
	assert_null(cstatd_store_add(st, "x"));
	assert_int_equal(cstatd_store_dropped_total(st), 4);
	assert_int_equal(cstatd_store_refused(st), 1);

	/* Nothing offered for two rounds: the set empties. */
	cstatd_store_new_round(st);
	cstatd_store_new_round(st);
	assert_int_equal(cstatd_store_refused(st), 0);
	cstatd_store_free(st);
}

/* Many refused keys: the set grows (rehashes) and still finds every one;
 * past its bound (4 × limit + 1024) keys are counted at every offer. */
static void test_limit_many_refused(void **state)
{
	(void)state;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	cstatd_store_set_limits(st, 1, 0);
	assert_non_null(cstatd_store_add(st, "only"));
	enum { N = 3000, BOUND = 4 * 1 + 1024 };
	char key[CSTATD_ID_LEN + 1];
	for (unsigned i = 0; i < N; i++) {
		make_key(key, i);
		assert_null(cstatd_store_add(st, key));
	}
	assert_int_equal(cstatd_store_dropped_total(st), N);
	assert_int_equal(cstatd_store_refused(st), BOUND);
	for (unsigned i = 0; i < BOUND; i++) {
		make_key(key, i);
		assert_null(cstatd_store_add(st, key));
	}
	assert_int_equal(cstatd_store_dropped_total(st), N); /* remembered */
	make_key(key, N - 1);
	assert_null(cstatd_store_add(st, key));
	assert_int_equal(cstatd_store_dropped_total(st), N + 1); /* not remembered */
	cstatd_store_free(st);
}

/* Under -fsanitize=undefined, a UB report fails the run instead of only
 * being printed (the runtime's default is to carry on). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

/* A record keeps only the devices and interfaces it has: the list is a copy,
 * its array grows only when the count rises, and the same or a smaller count
 * reuses it (no allocation on a sweep that finds the same devices). */
static void test_sample_lists(void **state)
{
	(void)state;
	struct cstatd_sample s;
	memset(&s, 0, sizeof(s));

	struct cstatd_io_stat io = {.n_devices = 2};
	io.dev[0] = (struct cstatd_io_device){8, 0, 100, 200, 1, 2, 0, 0};
	io.dev[1] = (struct cstatd_io_device){253, 1, 300, 400, 3, 4, 0, 0};
	assert_int_equal(cstatd_sample_set_io(&s, &io), 0);
	assert_int_equal(s.io.n_devices, 2);
	assert_int_equal(s.io.cap, 2);
	assert_int_equal(s.io.dev[1].major, 253);
	assert_int_equal(s.io.dev[1].wbytes, 400);
	const struct cstatd_io_device *arr = s.io.dev;

	io.dev[1].wbytes = 500; /* the same devices, a sweep later */
	assert_int_equal(cstatd_sample_set_io(&s, &io), 0);
	assert_ptr_equal(s.io.dev, arr);
	assert_int_equal(s.io.dev[1].wbytes, 500);

	io.n_devices = 1; /* one gone: fewer, same array */
	assert_int_equal(cstatd_sample_set_io(&s, &io), 0);
	assert_ptr_equal(s.io.dev, arr);
	assert_int_equal(s.io.n_devices, 1);
	assert_int_equal(s.io.cap, 2);

	io.n_devices = CSTATD_IO_MAX_DEVICES; /* many: grows to exactly that */
	io.n_dropped = 3;
	io.dev[CSTATD_IO_MAX_DEVICES - 1].rbytes = 77;
	assert_int_equal(cstatd_sample_set_io(&s, &io), 0);
	assert_int_equal(s.io.cap, CSTATD_IO_MAX_DEVICES);
	assert_int_equal(s.io.n_dropped, 3);
	assert_int_equal(s.io.dev[CSTATD_IO_MAX_DEVICES - 1].rbytes, 77);

	struct cstatd_netdev net = {.n_ifs = 1};
	snprintf(net.ifs[0].name, sizeof(net.ifs[0].name), "eth0");
	net.ifs[0].rx_bytes = 1234;
	assert_int_equal(cstatd_sample_set_net(&s, &net), 0);
	assert_int_equal(s.net.n_ifs, 1);
	assert_string_equal(s.net.ifs[0].name, "eth0");
	assert_int_equal(s.net.ifs[0].rx_bytes, 1234);

	net.n_ifs = 0; /* none: keeps its array, says none */
	assert_int_equal(cstatd_sample_set_net(&s, &net), 0);
	assert_int_equal(s.net.n_ifs, 0);
	assert_int_equal(s.net.cap, 1);

	cstatd_sample_free_lists(&s);
	assert_null(s.io.dev);
	assert_null(s.net.ifs);
	assert_int_equal(s.io.cap + s.io.n_devices + s.net.cap + s.net.n_ifs, 0);
}

/* A record's owned strings and labels allocate only when the value
 * changes: the same value a sweep later keeps the same pointer, whatever
 * the bytes after the NUL in the caller's buffer. */
static void test_owned_strings(void **state)
{
	(void)state;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	struct cstatd_container *c = cstatd_store_add(st, "abc");
	assert_non_null(c);
	assert_string_equal(c->name, "");
	assert_string_equal(c->image, "");
	assert_string_equal(c->id_label, "");

	assert_int_equal(cstatd_container_setf(&c->name, "%.12s", "0123456789abcdef"), 0);
	assert_string_equal(c->name, "0123456789ab");
	const char *p = c->name;
	assert_int_equal(cstatd_container_setf(&c->name, "%s", "0123456789ab"), 0);
	assert_ptr_equal(c->name, p);
	assert_int_equal(cstatd_container_setf(&c->name, "%s", "web-1"), 0);
	assert_string_equal(c->name, "web-1");
	assert_int_equal(cstatd_container_setf(&c->name, "%s", ""), 0);
	assert_string_equal(c->name, "");

	char longv[600];
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	assert_int_equal(cstatd_container_setf(&c->image, "%s", longv), 0);
	assert_int_equal(strlen(c->image), CSTATD_NAME_LEN - 1);

	struct cstatd_label a[2], b[2];
	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b)); /* different bytes after each NUL */
	snprintf(a[0].key, sizeof(a[0].key), "team");
	snprintf(a[0].value, sizeof(a[0].value), "payments");
	snprintf(a[1].key, sizeof(a[1].key), "tier");
	snprintf(a[1].value, sizeof(a[1].value), "web");
	snprintf(b[0].key, sizeof(b[0].key), "team");
	snprintf(b[0].value, sizeof(b[0].value), "payments");
	snprintf(b[1].key, sizeof(b[1].key), "tier");
	snprintf(b[1].value, sizeof(b[1].value), "web");
	assert_int_equal(cstatd_container_set_labels(c, a, 2), 0);
	const struct cstatd_label *lp = c->docker.labels;
	assert_int_equal(cstatd_container_set_labels(c, b, 2), 0);
	assert_ptr_equal(c->docker.labels, lp);
	snprintf(b[1].value, sizeof(b[1].value), "db");
	assert_int_equal(cstatd_container_set_labels(c, b, 2), 0);
	assert_string_equal(c->docker.labels[1].value, "db");
	assert_int_equal(c->docker.n_labels, 2);

	cstatd_store_free(st); /* frees every owned part (valgrind/ASan check) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_sample_lists),
	    cmocka_unit_test(test_owned_strings),
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_destructors),
	    cmocka_unit_test(test_churn),
	    cmocka_unit_test(test_churn_small_table),
	    cmocka_unit_test(test_prune),
	    cmocka_unit_test(test_remove_foreign),
	    cmocka_unit_test(test_label_cut_ascii),
	    cmocka_unit_test(test_label_cut_utf8_boundary),
	    cmocka_unit_test(test_label_cut_incomplete_tail),
	    cmocka_unit_test(test_no_limit_by_default),
	    cmocka_unit_test(test_limit_counts_each_drop_once),
	    cmocka_unit_test(test_limit_rounds),
	    cmocka_unit_test(test_limit_many_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
