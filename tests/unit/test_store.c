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
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_destructors),
	    cmocka_unit_test(test_churn),
	    cmocka_unit_test(test_churn_small_table),
	    cmocka_unit_test(test_prune),
	    cmocka_unit_test(test_remove_foreign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
