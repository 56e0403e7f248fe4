/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Renders the Prometheus exposition of the whole store, once per sweep, on
 * the sweep thread: text 0.0.4. OpenMetrics 1.0 and gzip copies are derived
 * from it by the first request of a sweep that asks for them (render_derive).
 * Buffers keep their capacity between sweeps, so steady-state rendering
 * allocates nothing.
 */
#ifndef CSTATD_RENDER_H
#define CSTATD_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "cstatd/snapshot.h"
#include "cstatd/store.h"

/* Sweep durations as a histogram (cstatd_sweep_duration_seconds): counts
 * per bucket, not cumulative; the last slot is +Inf. */
#define SWEEP_BUCKETS 12
extern const double sweep_bucket_bounds[SWEEP_BUCKETS];
struct sweep_histogram {
	uint64_t counts[SWEEP_BUCKETS + 1];
	uint64_t count;
	double sum;
};
void sweep_histogram_observe(struct sweep_histogram *h, double seconds);

/* Figures about cstatd itself that the sweep passes to the renderer. */
struct render_self {
	double last_sweep_seconds;
	const struct sweep_histogram *sweeps; /* may be NULL */
	/* Writes the sample lines of families whose samples come from outside
	 * the store (the alert engine): ALERT_FIRING, ALERT_THRESHOLD. May be
	 * NULL. */
	void (*write_samples)(int fam_id, struct cstatd_buf *b, void *ctx);
	void *write_ctx;
	double process_start_time; /* unix seconds */
};

struct renderer;

/* Caller owns. Returns NULL on allocation failure. */
struct renderer *renderer_new(void);
void renderer_free(struct renderer *r);

/* Renders the text body and its family spans into `out` (which the caller
 * then publishes). Returns 0, or -ENOMEM/-E2BIG when the body could not be
 * completed (it is then marked absent). */
int renderer_render(struct renderer *r, struct cstatd_store *st, const struct render_self *self,
                    struct cstatd_snapshot *out);

/* Any thread: makes variant v (CSTATD_BODY_OM, _TEXT_GZ, _OM_GZ) of a
 * published snapshot available, deriving it from the text body unless an
 * earlier request already did. Serialised; at most once per snapshot and
 * variant. Returns 0, or a negative errno (the variant stays absent). */
int render_derive(struct cstatd_snapshot *s, enum cstatd_variant v);
/* Copies variant v of s, contiguous, into out (CSTATD_BODY_OM is served as
 * pieces, never copied, except here: tests and debugging). 0 or -errno. */
int render_flatten(const struct cstatd_snapshot *s, enum cstatd_variant v, struct cstatd_buf *out);
/* At exit, after the HTTP server has stopped. */
void render_derive_shutdown(void);

/* Escapes a label value (\\, \", \n; invalid UTF-8 bytes become U+FFFD)
 * into `b`. Exposed for the exposition unit tests. */
void render_escape_label_value(struct cstatd_buf *b, const char *s);
/* Writes a sample value that reads back (strtod) as exactly d: NaN, +Inf,
 * -Inf, else the shortest of a fixed-point form and %.15g/%.17g. Exposed
 * for the unit tests. */
void render_put_double(struct cstatd_buf *b, double d);
/* Escapes HELP text for 0.0.4 (\\, \n) or OpenMetrics (also \"). */
void render_escape_help(struct cstatd_buf *b, const char *s, bool openmetrics);

#endif
