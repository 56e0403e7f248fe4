/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The alert engine: every rule over every container, once per sweep, with
 * a state machine per (rule, container) as Prometheus keeps one per alert
 * instance (docs/alerts.md):
 *
 *   inactive ──cond──▶ pending ──cond held for `for`──▶ firing
 *      ▲                  │ cond false                    │ value past `clear` (or cond false
 *      └──────────────────┘                               │ without clear) for keep_firing_for,
 *                                                         ▼ or container gone
 *                                                      resolved (kept 15 min for re-sends)
 *
 * The caller passes the clock (`now`, unix seconds) to every call: the
 * sweep passes the wall clock, tests a fake one. Owned and used by the
 * sweep thread only; what other threads need (JSON, metrics lines,
 * Alertmanager bodies) is produced by the functions below on the sweep
 * thread and handed over.
 */
#ifndef CSTATD_ALERTS_H
#define CSTATD_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cstatd/container.h"
#include "cstatd/snapshot.h"
#include "cstatd/store.h"
#include "daemon/rules.h"
#include "daemon/signals.h"
#include "daemon/windows.h"

/* Resolved alerts are kept (and re-sent to Alertmanager) this long, as
 * Prometheus does (resolvedRetention). */
#define CSTATD_ALERT_RESOLVED_RETENTION_S 900.0

enum cstatd_alert_state {
	CSTATD_ALERT_INACTIVE = 0,
	CSTATD_ALERT_PENDING,
	CSTATD_ALERT_FIRING,
	CSTATD_ALERT_RESOLVED,
};

extern const char *const cstatd_alert_state_names[4]; /* "inactive", "pending"... */

/* One alert instance: a rule over one container. Read-only for callers. */
struct cstatd_alert {
	const struct cstatd_rule *rule; /* borrowed from the engine */
	char key[CSTATD_ID_LEN + 1];    /* container store key */
	char name[CSTATD_NAME_LEN];     /* identity copied when last seen */
	char image[CSTATD_IMAGE_LEN];
	char id[CSTATD_NAME_LEN]; /* cAdvisor `id` label */
	enum cstatd_alert_state state;
	double value;       /* last value (a fraction of the limit with relative_to) */
	double active_at;   /* became pending */
	double fired_at;    /* became firing (0: never) */
	double resolved_at; /* became resolved (0: not resolved) */
	double last_held;   /* last sweep the condition held (keep_firing_for) */
	double last_sent;   /* last Alertmanager post with this instance (0: never) */
	bool notified;      /* posted since it last became firing or resolved */
	uint64_t seen;      /* evaluation generation */
};

struct cstatd_alerts;

/* Caller owns the engine. Starts with no rules. 0 or -ENOMEM. */
int cstatd_alerts_new(struct cstatd_alerts **out);
void cstatd_alerts_free(struct cstatd_alerts *eng);

/*
 * Installs a rule set, taking ownership of `rs` (it is zeroed). Instances of
 * rules whose fingerprint is in the new set keep their state; a pending
 * instance of a rule that changed or went away is dropped, a firing one
 * is resolved at `now` (so Alertmanager hears of it), and the new rule
 * starts from inactive. Returns 0 (allocation of the bookkeeping can fail:
 * -ENOMEM, in which case the old rules stay and `rs` is untouched).
 */
int cstatd_alerts_set_rules(struct cstatd_alerts *eng, struct cstatd_ruleset *rs, double now);
const struct cstatd_ruleset *cstatd_alerts_rules(const struct cstatd_alerts *eng);

/*
 * One evaluation at `now`, after cstatd_window_table_sweep(): every rule
 * over every container of the store, values from the container's windows
 * in `wt` (a container without windows has no data). Containers no longer
 * in the store resolve at once (keep_firing_for does not hold a container
 * that is gone). Allocates only when the number of instances grows.
 */
void cstatd_alerts_eval(struct cstatd_alerts *eng, struct cstatd_store *st,
                        const struct cstatd_window_table *wt, const struct cstatd_host *host,
                        double now);

/* The value rule `r` sees for container `c` right now: 0, or -ENODATA (no
 * data, or relative to a limit the container does not have), -ENOENT when
 * the rule's window is not in the table's layout. */
int cstatd_alerts_rule_value(const struct cstatd_rule *r, const struct cstatd_container *c,
                             const struct cstatd_windows *w, const struct cstatd_host *host,
                             double *value);

/* Instances (pending, firing and retained resolved ones). Pointers are
 * borrowed until the next eval or set_rules. */
size_t cstatd_alerts_count(const struct cstatd_alerts *eng);
const struct cstatd_alert *cstatd_alerts_at(const struct cstatd_alerts *eng, size_t i);
/* The instance of rule `r` (by fingerprint) over container `key`, or NULL. */
const struct cstatd_alert *cstatd_alerts_find(const struct cstatd_alerts *eng,
                                              const struct cstatd_rule *r, const char *key);

/* An annotation template rendered for an instance ({{name}}, {{value}}...). */
void cstatd_alert_render(const struct cstatd_alert *a, const char *tmpl, char *buf, size_t len);

/*
 * The body of GET /alerts: {"alerts": [...]} with every pending and firing
 * instance (rule, severity, state, labels, annotations, container identity,
 * value, threshold, active_since, firing_since). Caller owns it.
 */
json_t *cstatd_alerts_json(const struct cstatd_alerts *eng);

/*
 * Sample lines (no HELP/TYPE: the renderer writes those from the family
 * table) of
 *   cstatd_alert_firing{alertname,severity,name,id,image} 1   per firing instance
 *   cstatd_alert_threshold{alertname,severity} <threshold>    per rule
 * A label set that two rules would both produce is written once.
 */
void cstatd_alerts_write_firing(const struct cstatd_alerts *eng, struct cstatd_buf *b);
void cstatd_alerts_write_thresholds(const struct cstatd_alerts *eng, struct cstatd_buf *b);

/* Alertmanager posting discipline (reference PART C.3/C.4). */
struct cstatd_am_opts {
	double resend_s;           /* re-post firing alerts this often (default 60) */
	double interval_s;         /* the sweep interval */
	const char *generator_url; /* NULL: none */
};

/*
 * The alerts due to be posted at `now`, as the JSON array body of
 * POST /api/v2/alerts, or NULL when none is due. Firing instances are due
 * when they just fired or resend_s has passed since their last post
 * (endsAt = now + 4 × max(interval, resend)); resolved ones when they just
 * resolved, then every resend_s while retained (endsAt = resolved time).
 * Marks the returned alerts as sent: a failed post is made good by the
 * next re-send, well before endsAt. Caller owns the result.
 */
json_t *cstatd_alerts_am_payload(struct cstatd_alerts *eng, double now,
                                 const struct cstatd_am_opts *o);

/* RFC 3339 UTC with milliseconds ("2025-01-01T12:00:00.000Z"). */
void cstatd_format_rfc3339(double t, char *buf, size_t len);

#endif
