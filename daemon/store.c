/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container store: a dense array of record pointers (iteration in the
 * sweep and render loops) plus an open-addressing hash index by key.
 * Records are allocated once when a container appears and freed when it
 * goes; a sweep over known containers allocates nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "cstatd/store.h"

struct cstatd_store {
	struct cstatd_container **items;
	size_t count;
	size_t cap;
	/* Hash index: slots hold item index + 1; 0 = empty. Linear probing
	 * with backward-shift deletion, so no tombstones build up under churn. */
	size_t *slots;
	size_t nslots; /* power of two, kept ≥ 2 × count */
};

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct cstatd_store *cstatd_store_new(void)
{
	struct cstatd_store *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->nslots = 64;
	st->slots = calloc(st->nslots, sizeof(*st->slots));
	if (!st->slots) {
		free(st);
		return NULL;
	}
	return st;
}

static void free_record(struct cstatd_container *c)
{
	if (c->cg_priv_free && c->cg_priv)
		c->cg_priv_free(c->cg_priv);
	if (c->net_priv_free && c->net_priv)
		c->net_priv_free(c->net_priv);
	free(c->cgroup_path);
	free(c);
}

void cstatd_store_free(struct cstatd_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->count; i++)
		free_record(st->items[i]);
	free(st->items);
	free(st->slots);
	free(st);
}

static size_t find_slot(const struct cstatd_store *st, const char *key)
{
	size_t mask = st->nslots - 1;
	for (size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
		size_t v = st->slots[i];
		if (v == 0 || strcmp(st->items[v - 1]->key, key) == 0)
			return i;
	}
}

struct cstatd_container *cstatd_store_get(struct cstatd_store *st, const char *key)
{
	size_t v = st->slots[find_slot(st, key)];
	return v ? st->items[v - 1] : NULL;
}

static int rehash(struct cstatd_store *st, size_t nslots)
{
	size_t *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -1;
	free(st->slots);
	st->slots = slots;
	st->nslots = nslots;
	for (size_t i = 0; i < st->count; i++)
		st->slots[find_slot(st, st->items[i]->key)] = i + 1;
	return 0;
}

struct cstatd_container *cstatd_store_add(struct cstatd_store *st, const char *key)
{
	if (strlen(key) > CSTATD_ID_LEN)
		return NULL;
	if ((st->count + 1) * 2 > st->nslots && rehash(st, st->nslots * 2) != 0)
		return NULL;
	if (st->count == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct cstatd_container **items = realloc(st->items, cap * sizeof(*items));
		if (!items)
			return NULL;
		st->items = items;
		st->cap = cap;
	}
	struct cstatd_container *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	strcpy(c->key, key);
	st->items[st->count++] = c;
	st->slots[find_slot(st, key)] = st->count;
	return c;
}

/* Backward-shift deletion for linear probing. */
static void slot_delete(struct cstatd_store *st, size_t i)
{
	size_t mask = st->nslots - 1;
	st->slots[i] = 0;
	for (size_t j = (i + 1) & mask; st->slots[j]; j = (j + 1) & mask) {
		size_t v = st->slots[j];
		size_t home = hash_key(st->items[v - 1]->key) & mask;
		/* Move v back to i when i lies cyclically in [home, j). */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			st->slots[i] = v;
			st->slots[j] = 0;
			i = j;
		}
	}
}

void cstatd_store_remove(struct cstatd_store *st, struct cstatd_container *c)
{
	size_t s = find_slot(st, c->key);
	size_t idx = st->slots[s];
	if (idx == 0 || st->items[idx - 1] != c)
		return;
	slot_delete(st, s);
	idx--;
	/* Swap the last record into the hole and repoint its slot. */
	size_t last = st->count - 1;
	if (idx != last) {
		st->items[idx] = st->items[last];
		st->slots[find_slot(st, st->items[idx]->key)] = idx + 1;
	}
	st->count--;
	free_record(c);
}

size_t cstatd_store_count(const struct cstatd_store *st)
{
	return st->count;
}

struct cstatd_container *cstatd_store_at(struct cstatd_store *st, size_t i)
{
	return i < st->count ? st->items[i] : NULL;
}

size_t cstatd_store_prune(struct cstatd_store *st)
{
	size_t removed = 0;
	for (size_t i = st->count; i-- > 0;) {
		if (st->items[i]->sources == 0) {
			cstatd_store_remove(st, st->items[i]);
			removed++;
		}
	}
	return removed;
}
