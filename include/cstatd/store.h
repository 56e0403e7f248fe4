/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container store: every tracked container, keyed by runtime id (or by
 * cgroup path for --all-cgroups). Owned and used by the sweep thread only,
 * so it has no lock; what other threads see is the rendered snapshot
 * (include/cstatd/snapshot.h).
 */
#ifndef CSTATD_STORE_H
#define CSTATD_STORE_H

#include <stddef.h>

#include "cstatd/container.h"

struct cstatd_store;

/* Caller owns the store; cstatd_store_free() frees every record. */
struct cstatd_store *cstatd_store_new(void);
void cstatd_store_free(struct cstatd_store *st);

/* Borrowed pointer, valid until the record is removed. NULL when absent. */
struct cstatd_container *cstatd_store_get(struct cstatd_store *st, const char *key);

/* Adds a zeroed record with `key` (must be absent); the store owns it.
 * Returns NULL on allocation failure. */
struct cstatd_container *cstatd_store_add(struct cstatd_store *st, const char *key);

/* Removes and frees a record (calls its private destructors). */
void cstatd_store_remove(struct cstatd_store *st, struct cstatd_container *c);

/* Records in insertion order; index < count. Removal may reorder. */
size_t cstatd_store_count(const struct cstatd_store *st);
struct cstatd_container *cstatd_store_at(struct cstatd_store *st, size_t i);

/* Removes every record whose `sources` is 0. Returns how many. */
size_t cstatd_store_prune(struct cstatd_store *st);

#endif
