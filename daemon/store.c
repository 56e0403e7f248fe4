/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container store: a dense array of record pointers (iteration in the
 * sweep and render loops) plus an open-addressing hash index by key.
 * Records are allocated once when a container appears and freed when it
 * goes; a sweep over known containers allocates nothing.
 *
 * The cardinality guard (--max-containers) lives here too, because every
 * source adds records through cstatd_store_add(): a second small hash set
 * remembers the keys refused while the store was full, so that each dropped
 * container is counted once, not once per sweep (see store.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cstatd/log.h"
#include "cstatd/store.h"

/* A key refused while the store was full. */
struct refused {
	char key[CSTATD_ID_LEN + 1];
	bool used;
	bool offered; /* offered again since the last cstatd_store_new_round() */
	bool adopted; /* tracked after all, once room freed up */
};

struct cstatd_store {
	struct cstatd_container **items;
	size_t count;
	size_t cap;
	/* Hash index: slots hold item index + 1; 0 = empty. Linear probing
	 * with backward-shift deletion, so no tombstones build up under churn. */
	size_t *slots;
	size_t nslots; /* power of two, kept ≥ 2 × count */

	/* Guards; 0 = no limit. */
	size_t max_records;
	size_t max_label;
	uint64_t dropped_total;
	/* Refused keys: linear probing, never deleted from in place (adopted
	 * entries are marked), rebuilt at every new round. Allocated only once
	 * something is refused; holds at most refused_cap() keys. */
	struct refused *refused;
	size_t refused_slots; /* power of two, kept ≥ 2 × n_refused; 0 = none */
	size_t n_refused;     /* used entries */
	size_t n_pending;     /* used and not adopted: dropped containers around */
	struct cstatd_complaint drop_complaint;
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

int cstatd_container_set_labels(struct cstatd_container *c, const struct cstatd_label *labels,
                                unsigned n)
{
	struct cstatd_docker_info *d = &c->docker;
	struct cstatd_label *copy = NULL;

	if (n > CSTATD_MAX_LABELS)
		n = CSTATD_MAX_LABELS;
	/* Compared as strings: the bytes after each NUL are whatever the
	 * caller's buffer held (a memcmp read them, and saw a change at
	 * every sweep when they differed). */
	if (n == d->n_labels) {
		unsigned i = 0;
		while (i < n && strcmp(d->labels[i].key, labels[i].key) == 0 &&
		       strcmp(d->labels[i].value, labels[i].value) == 0)
			i++;
		if (i == n)
			return 0;
	}
	if (n > 0) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, labels, n * sizeof(*copy));
	}
	free(d->labels);
	d->labels = copy;
	d->n_labels = n;
	return 0;
}

void cstatd_container_forget_docker(struct cstatd_container *c)
{
	free(c->docker.labels);
	memset(&c->docker, 0, sizeof(c->docker));
}

int cstatd_container_set_hint(struct cstatd_container *c, const char *rel)
{
	char *copy = NULL;

	if (rel && *rel) {
		if (c->cgroup_hint && strcmp(c->cgroup_hint, rel) == 0)
			return 0;
		copy = strdup(rel);
		if (!copy)
			return -ENOMEM;
	}
	free(c->cgroup_hint);
	c->cgroup_hint = copy;
	return 0;
}

/* Copies n elements of size sz into an owned array, growing it (to exactly
 * n: the count of a container's devices seldom changes) only when n exceeds
 * its capacity. -ENOMEM leaves everything as it was. */
static int set_list(void **arr, unsigned *cap, unsigned *count, const void *src, unsigned n,
                    size_t sz)
{
	if (n > *cap) {
		void *p = realloc(*arr, (size_t)n * sz);
		if (!p)
			return -ENOMEM;
		*arr = p;
		*cap = n;
	}
	if (n)
		memcpy(*arr, src, (size_t)n * sz);
	*count = n;
	return 0;
}

int cstatd_sample_set_io(struct cstatd_sample *s, const struct cstatd_io_stat *src)
{
	void *arr = s->io.dev;
	int rc = set_list(&arr, &s->io.cap, &s->io.n_devices, src->dev, src->n_devices,
	                  sizeof(*src->dev));
	s->io.dev = arr;
	if (rc == 0)
		s->io.n_dropped = src->n_dropped;
	return rc;
}

int cstatd_sample_set_net(struct cstatd_sample *s, const struct cstatd_netdev *src)
{
	void *arr = s->net.ifs;
	int rc =
	    set_list(&arr, &s->net.cap, &s->net.n_ifs, src->ifs, src->n_ifs, sizeof(*src->ifs));
	s->net.ifs = arr;
	if (rc == 0)
		s->net.n_dropped = src->n_dropped;
	return rc;
}

void cstatd_sample_free_lists(struct cstatd_sample *s)
{
	free(s->io.dev);
	free(s->net.ifs);
	memset(&s->io, 0, sizeof(s->io));
	memset(&s->net, 0, sizeof(s->net));
}

/* What a record's strings point at until they are set: never freed. */
static char empty_str[1];

static void free_str(char **field)
{
	if (*field != empty_str)
		free(*field);
	*field = empty_str;
}

int cstatd_container_setf(char **field, const char *fmt, ...)
{
	char v[CSTATD_NAME_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	if (*field && strcmp(*field, v) == 0)
		return 0;
	char *copy = v[0] ? strdup(v) : empty_str;
	if (!copy)
		return -ENOMEM;
	free_str(field);
	*field = copy;
	return 0;
}

static void free_record(struct cstatd_container *c)
{
	free_str(&c->id_label);
	free_str(&c->name);
	free_str(&c->image);
	cstatd_sample_free_lists(&c->s);
	if (c->cg_priv_free && c->cg_priv)
		c->cg_priv_free(c->cg_priv);
	if (c->net_priv_free && c->net_priv)
		c->net_priv_free(c->net_priv);
	free(c->cgroup_path);
	free(c->cgroup_hint);
	free(c->docker.labels);
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
	free(st->refused);
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

static bool refuse(struct cstatd_store *st, const char *key);
static void adopt(struct cstatd_store *st, const char *key);

struct cstatd_container *cstatd_store_add(struct cstatd_store *st, const char *key)
{
	if (strlen(key) > CSTATD_ID_LEN)
		return NULL;
	if (cstatd_store_full(st)) {
		refuse(st, key);
		return NULL;
	}
	if (st->n_pending > 0)
		adopt(st, key);
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
	c->id_label = c->name = c->image = empty_str;
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

/* ------------------------------------------------------------------ */
/* Cardinality guards                                                  */
/* ------------------------------------------------------------------ */

void cstatd_store_set_limits(struct cstatd_store *st, size_t max_records, size_t max_label_bytes)
{
	st->max_records = max_records;
	st->max_label = max_label_bytes;
}

uint64_t cstatd_store_dropped_total(const struct cstatd_store *st)
{
	return st->dropped_total;
}

size_t cstatd_store_refused(const struct cstatd_store *st)
{
	return st->n_pending;
}

bool cstatd_store_full(const struct cstatd_store *st)
{
	return st->max_records > 0 && st->count >= st->max_records;
}

size_t cstatd_store_label_max(const struct cstatd_store *st)
{
	return st->max_label;
}

/* How many refused keys are remembered at most: far more containers than
 * the limit is a host in trouble, and the set must not grow without bound
 * (a key is 65 bytes). Past it, a refused key that is offered again is
 * counted again. */
static size_t refused_cap(const struct cstatd_store *st)
{
	return st->max_records * 4 + 1024;
}

/* Slot holding `key`, or the empty slot where it would go. */
static size_t refused_find(const struct cstatd_store *st, const char *key)
{
	size_t mask = st->refused_slots - 1;
	for (size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
		const struct refused *r = &st->refused[i];
		if (!r->used || strcmp(r->key, key) == 0)
			return i;
	}
}

/* Rebuilds the set into `nslots` slots: every entry, or (only_current)
 * those offered since the last round and not adopted, their flag reset. */
static int refused_rebuild(struct cstatd_store *st, size_t nslots, bool only_current)
{
	struct refused *old = st->refused;
	size_t old_slots = st->refused_slots;
	struct refused *tab = calloc(nslots, sizeof(*tab));
	if (!tab)
		return -1;
	st->refused = tab;
	st->refused_slots = nslots;
	st->n_refused = 0;
	st->n_pending = 0;
	for (size_t i = 0; i < old_slots; i++) {
		struct refused *r = &old[i];
		if (!r->used)
			continue;
		if (only_current) {
			if (r->adopted || !r->offered)
				continue;
			r->offered = false;
		}
		tab[refused_find(st, r->key)] = *r;
		st->n_refused++;
		if (!r->adopted)
			st->n_pending++;
	}
	free(old);
	return 0;
}

static void count_drop(struct cstatd_store *st, const char *key)
{
	st->dropped_total++;
	cstatd_complain(&st->drop_complaint, CSTATD_LOG_WARN,
	                "container limit reached; more containers are not tracked",
	                "max_containers=%zu first_dropped=%s", st->max_records, key);
}

/* A key offered while the store is full: counted the first time it is
 * offered (again, after it was adopted), remembered so that offers in later
 * sweeps are not. Returns false when it could not be remembered. */
static bool refuse(struct cstatd_store *st, const char *key)
{
	if (st->refused_slots > 0) {
		struct refused *r = &st->refused[refused_find(st, key)];
		if (r->used) {
			r->offered = true;
			if (r->adopted) {
				/* Tracked for a while, gone from the store, refused
				 * again: a new appearance. */
				r->adopted = false;
				st->n_pending++;
				count_drop(st, key);
			}
			return true;
		}
	}
	count_drop(st, key);
	if (st->n_refused >= refused_cap(st))
		return false;
	if ((st->n_refused + 1) * 2 > st->refused_slots &&
	    refused_rebuild(st, st->refused_slots ? st->refused_slots * 2 : 64, false) != 0)
		return false;
	struct refused *r = &st->refused[refused_find(st, key)];
	strcpy(r->key, key);
	r->used = true;
	r->offered = true;
	r->adopted = false;
	st->n_refused++;
	st->n_pending++;
	return true;
}

/* A refused key is being added after all: it is tracked from now on. */
static void adopt(struct cstatd_store *st, const char *key)
{
	struct refused *r = &st->refused[refused_find(st, key)];
	if (!r->used || r->adopted)
		return;
	r->adopted = true;
	if (--st->n_pending == 0)
		cstatd_complain_release(
		    &st->drop_complaint,
		    "every container is tracked again (below --max-containers)");
}

void cstatd_store_new_round(struct cstatd_store *st)
{
	if (st->refused_slots == 0)
		return;
	size_t pending_before = st->n_pending;
	if (refused_rebuild(st, st->refused_slots, true) != 0)
		return; /* out of memory: keep the old set, try again next round */
	if (pending_before > 0 && st->n_pending == 0)
		cstatd_complain_release(&st->drop_complaint,
		                        "no container is dropped any more (--max-containers)");
}

bool cstatd_label_cut(char *value, size_t max_bytes)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t len = strlen(value), n = len;

	if (max_bytes > 0 && n > max_bytes) {
		/* Back over the continuation bytes (10xxxxxx) of a character
		 * that the cut would split; a character has at most three. */
		n = max_bytes;
		while (n > 0 && max_bytes - n < 3 && (s[n] & 0xC0) == 0x80)
			n--;
	}
	/* The last character before n: complete? (An earlier plain cut,
	 * snprintf into a fixed field, may have split it.) */
	size_t i = n;
	while (i > 0 && n - i < 3 && (s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i > 0 && s[i - 1] >= 0xC0 && s[i - 1] < 0xF8) {
		unsigned char lead = s[i - 1];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
		if (1 + (n - i) < need)
			n = i - 1;
	}
	if (n == len)
		return false;
	value[n] = '\0';
	return true;
}
