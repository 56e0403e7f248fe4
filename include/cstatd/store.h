/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container store: every tracked container, keyed by runtime id (or by
 * cgroup path for --all-cgroups). Owned and used by the sweep thread only,
 * so it has no lock; what other threads see is the rendered snapshot
 * (include/cstatd/snapshot.h).
 */
#ifndef CSTATD_STORE_H
#define CSTATD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cstatd/container.h"

struct cstatd_store;

/* Caller owns the store; cstatd_store_free() frees every record. */
struct cstatd_store *cstatd_store_new(void);
void cstatd_store_free(struct cstatd_store *st);

/* Borrowed pointer, valid until the record is removed. NULL when absent. */
struct cstatd_container *cstatd_store_get(struct cstatd_store *st, const char *key);

/* Adds a zeroed record with `key` (must be absent); the store owns it.
 * Returns NULL on allocation failure, for a key longer than CSTATD_ID_LEN,
 * and while the store is full (the key is refused: see the guards below). */
struct cstatd_container *cstatd_store_add(struct cstatd_store *st, const char *key);

/* Removes and frees a record (calls its private destructors). */
void cstatd_store_remove(struct cstatd_store *st, struct cstatd_container *c);

/* Records in insertion order; index < count. Removal may reorder. */
size_t cstatd_store_count(const struct cstatd_store *st);
struct cstatd_container *cstatd_store_at(struct cstatd_store *st, size_t i);

/* Removes every record whose `sources` is 0. Returns how many. */
size_t cstatd_store_prune(struct cstatd_store *st);

/* ------------------------------------------------------------------ */
/* Cardinality guards (--max-containers, --max-label-length)           */
/* ------------------------------------------------------------------ */

/*
 * Sets the guards, once at start. max_records 0 = no limit on records;
 * max_label_bytes 0 = no cut beyond the record's field sizes. A new store
 * has neither limit.
 *
 * While the store holds max_records records, cstatd_store_add() refuses
 * every new key (returns NULL): the container is "dropped", so no collector
 * keeps anything open for it and it has no series. The store remembers the
 * refused keys, so a container is counted in cstatd_store_dropped_total()
 * once per appearance however often its sources offer it again (Docker does
 * every sweep, the cgroup walk every rescan), and the first refusal is
 * logged once (complain/release; released when nothing is dropped any more).
 * A refused key is forgotten after a whole discovery round in which no source
 * offered it (cstatd_store_new_round()). When records go, the next add of a
 * refused key succeeds: dropped containers take the freed places, first
 * offered first; they stay counted.
 */
void cstatd_store_set_limits(struct cstatd_store *st, size_t max_records, size_t max_label_bytes);

/* Containers refused since start, each once per appearance. */
uint64_t cstatd_store_dropped_total(const struct cstatd_store *st);

/* Keys refused and not forgotten yet (dropped containers still around). */
size_t cstatd_store_refused(const struct cstatd_store *st);

/* True while a new key would be refused. */
bool cstatd_store_full(const struct cstatd_store *st);

/* Ends a discovery round: forgets the refused keys that no source offered
 * since the previous call. The cgroup collector calls it at every full
 * rescan of the tree, which offers every container directory again. */
void cstatd_store_new_round(struct cstatd_store *st);

/* The label value limit in force (0 = none). */
size_t cstatd_store_label_max(const struct cstatd_store *st);

/*
 * Cuts the NUL-terminated `value` in place to at most `max_bytes` bytes
 * (0 = no limit) on a UTF-8 character boundary, and drops a multi-byte
 * character left incomplete at its end by an earlier plain byte cut. Bytes
 * that are not UTF-8 at all are left to the renderer (U+FFFD). Returns true
 * when it changed the value. Collectors call it once when they store a label
 * value from outside (names, images, labels, cgroup paths), not per sweep.
 */
bool cstatd_label_cut(char *value, size_t max_bytes);

#endif
