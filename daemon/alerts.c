/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The alert engine; states and semantics in alerts.h and docs/alerts.md.
 *
 * Instances live in a dense array indexed by an open-addressing hash of
 * (rule fingerprint, container key). An instance that ends (pending whose
 * condition failed, resolved past retention) is marked inactive during the
 * evaluation and compacted at its end; the index is then rebuilt in place.
 * So a steady state (same containers, same alerts) allocates nothing.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/alerts.h"
#include "daemon/duration.h"

const char *const cstatd_alert_state_names[4] = {"inactive", "pending", "firing", "resolved"};

/* Sweeps are not exactly periodic: a `for` of 60 s is reached at a sweep
 * 59.9995 s after the first one. */
#define CLOCK_SLACK_S 1e-3

struct cstatd_alerts {
	struct cstatd_ruleset rules;
	/* Rule sets replaced by a reload, kept while a resolved instance of
	 * one of their rules is still retained. */
	struct cstatd_ruleset *retired;
	size_t n_retired;

	struct cstatd_alert *inst;
	size_t n, cap;
	uint32_t *slots; /* instance index + 1; 0 = empty */
	size_t nslots;   /* power of two >= 2 * cap */
	uint64_t gen;
};

/* ======================================================================== */
/* Index                                                                    */
/* ======================================================================== */

static uint64_t inst_hash(uint64_t fp, const char *key)
{
	uint64_t h = fp ^ 1469598103934665603ull;
	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ull;
	}
	return h;
}

static void index_insert(struct cstatd_alerts *e, size_t i)
{
	size_t m = e->nslots - 1;
	size_t p = (size_t)inst_hash(e->inst[i].rule->fingerprint, e->inst[i].key) & m;
	while (e->slots[p])
		p = (p + 1) & m;
	e->slots[p] = (uint32_t)(i + 1);
}

static void index_rebuild(struct cstatd_alerts *e)
{
	if (!e->slots)
		return;
	memset(e->slots, 0, sizeof(*e->slots) * e->nslots);
	for (size_t i = 0; i < e->n; i++)
		index_insert(e, i);
}

static struct cstatd_alert *find(const struct cstatd_alerts *e, uint64_t fp, const char *key)
{
	if (!e->nslots)
		return NULL;
	size_t m = e->nslots - 1, p = (size_t)inst_hash(fp, key) & m;
	for (; e->slots[p]; p = (p + 1) & m) {
		struct cstatd_alert *a = &e->inst[e->slots[p] - 1];
		if (a->rule->fingerprint == fp && strcmp(a->key, key) == 0)
			return a;
	}
	return NULL;
}

static int reserve(struct cstatd_alerts *e, size_t need)
{
	size_t cap = e->cap ? e->cap : 16, nslots = 1;
	struct cstatd_alert *inst;
	uint32_t *slots;

	if (need <= e->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	inst = realloc(e->inst, cap * sizeof(*inst));
	if (!inst)
		return -ENOMEM;
	e->inst = inst;
	while (nslots < 2 * cap)
		nslots <<= 1;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(e->slots);
	e->slots = slots;
	e->nslots = nslots;
	e->cap = cap;
	index_rebuild(e);
	return 0;
}

/* Drops inactive instances and retired rule sets nothing refers to. */
static void compact(struct cstatd_alerts *e)
{
	size_t j = 0;
	bool moved = false;

	for (size_t i = 0; i < e->n; i++) {
		if (e->inst[i].state == CSTATD_ALERT_INACTIVE) {
			moved = true;
			continue;
		}
		if (i != j)
			e->inst[j] = e->inst[i];
		j++;
	}
	e->n = j;
	if (moved)
		index_rebuild(e);
	for (size_t r = 0; r < e->n_retired;) {
		const struct cstatd_ruleset *rs = &e->retired[r];
		bool used = false;
		for (size_t i = 0; i < e->n && !used; i++)
			used = e->inst[i].rule >= rs->rules && e->inst[i].rule < rs->rules + rs->n;
		if (used) {
			r++;
			continue;
		}
		cstatd_ruleset_free(&e->retired[r]);
		e->retired[r] = e->retired[--e->n_retired];
	}
}

static void resolve(struct cstatd_alert *a, double now)
{
	a->state = CSTATD_ALERT_RESOLVED;
	a->resolved_at = now;
	a->notified = false; /* post the resolution at once */
}

/* ======================================================================== */
/* Lifecycle                                                                */
/* ======================================================================== */

int cstatd_alerts_new(struct cstatd_alerts **out)
{
	struct cstatd_alerts *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	*out = e;
	return 0;
}

void cstatd_alerts_free(struct cstatd_alerts *e)
{
	if (!e)
		return;
	cstatd_ruleset_free(&e->rules);
	for (size_t r = 0; r < e->n_retired; r++)
		cstatd_ruleset_free(&e->retired[r]);
	free(e->retired);
	free(e->inst);
	free(e->slots);
	free(e);
}

const struct cstatd_ruleset *cstatd_alerts_rules(const struct cstatd_alerts *e)
{
	return &e->rules;
}

int cstatd_alerts_set_rules(struct cstatd_alerts *e, struct cstatd_ruleset *rs, double now)
{
	struct cstatd_ruleset *retired =
	    realloc(e->retired, (e->n_retired + 1) * sizeof(*e->retired));

	if (!retired)
		return -ENOMEM;
	e->retired = retired;
	for (size_t i = 0; i < e->n; i++) {
		struct cstatd_alert *a = &e->inst[i];
		const struct cstatd_rule *keep = NULL;
		for (size_t k = 0; k < rs->n && !keep; k++)
			if (rs->rules[k].fingerprint == a->rule->fingerprint)
				keep = &rs->rules[k];
		if (keep) {
			a->rule = keep;
			continue;
		}
		/* The rule changed or went away: its alerts end here. */
		if (a->state == CSTATD_ALERT_FIRING) {
			resolve(a, now);
		} else if (a->state == CSTATD_ALERT_PENDING) {
			a->state = CSTATD_ALERT_INACTIVE;
		}
	}
	e->retired[e->n_retired++] = e->rules;
	e->rules = *rs;
	rs->rules = NULL;
	rs->n = 0;
	compact(e);
	return 0;
}

/* ======================================================================== */
/* Evaluation                                                               */
/* ======================================================================== */

int cstatd_alerts_rule_value(const struct cstatd_rule *r, const struct cstatd_container *c,
                             const struct cstatd_windows *w, const struct cstatd_host *h,
                             double *value)
{
	const struct cstatd_window_layout *l;
	double v, lim;
	int k, rc;

	if (!w)
		return -ENODATA;
	/* The limit first: it is a field read, the aggregate a pass over the
	 * rings, and most containers have no CPU (often no memory) limit. */
	lim = 1.0;
	if (r->relative_to != CSTATD_LIMIT_NONE) {
		rc = cstatd_limit_value(r->relative_to, c, h, &lim);
		/* Never "0 % of 0": no limit, no value, unless the rule asks
		 * for the host's size instead. */
		if (rc && r->unlimited_host)
			rc = cstatd_limit_value(cstatd_limit_host_fallback(r->relative_to), c, h,
			                        &lim);
		if (rc)
			return -ENODATA;
	}
	l = cstatd_windows_layout(w);
	k = r->window_ms ? cstatd_window_layout_index(l, r->window_ms) : 0;
	if (k < 0)
		return -ENOENT;
	if (r->agg == CSTATD_AGG_PREDICT) {
		double slope;
		rc = cstatd_windows_trend(w, r->signal, (unsigned)k, (double)r->horizon_ms / 1000.0,
		                          &slope, &v);
	} else {
		rc = cstatd_windows_aggregate(w, r->signal, (unsigned)k, r->agg, &v);
	}
	if (rc)
		return rc;
	if (r->relative_to != CSTATD_LIMIT_NONE)
		v /= lim;
	*value = v;
	return 0;
}

/* Hysteresis: a firing alert with `clear` holds while the value has not
 * crossed clear (above it for > and >=, below it for < and <=). */
static bool still_held(const struct cstatd_rule *r, double v)
{
	if (r->op == CSTATD_OP_GT || r->op == CSTATD_OP_GE)
		return v > r->clear;
	return v < r->clear;
}

static void copy_identity(struct cstatd_alert *a, const struct cstatd_container *c)
{
	snprintf(a->name, sizeof(a->name), "%s", c->name);
	snprintf(a->image, sizeof(a->image), "%s", c->image);
	if (c->id_label[0])
		snprintf(a->id, sizeof(a->id), "%s", c->id_label);
	else
		snprintf(a->id, sizeof(a->id), "/%s", c->key);
}

/* The condition went away (or the value is gone) for an existing instance. */
static void not_held(struct cstatd_alert *a, double now)
{
	const struct cstatd_rule *r = a->rule;

	if (a->state == CSTATD_ALERT_PENDING) {
		a->state = CSTATD_ALERT_INACTIVE; /* one miss restarts `for` */
	} else if (a->state == CSTATD_ALERT_FIRING) {
		double kff = (double)r->keep_firing_for_ms / 1000.0;
		if (kff > 0 && now - a->last_held < kff - CLOCK_SLACK_S)
			return;
		resolve(a, now);
	}
}

static void eval_one(struct cstatd_alerts *e, const struct cstatd_rule *r,
                     const struct cstatd_container *c, const struct cstatd_windows *w,
                     const struct cstatd_host *h, double now)
{
	struct cstatd_alert *a = find(e, r->fingerprint, c->key);
	double v = 0;
	bool has = cstatd_rule_matches(r, c) && cstatd_alerts_rule_value(r, c, w, h, &v) == 0;
	bool held;

	if (a)
		a->seen = e->gen;
	if (!has) {
		if (a)
			not_held(a, now);
		return;
	}
	if (a && a->state == CSTATD_ALERT_FIRING && r->has_clear)
		held = still_held(r, v);
	else
		held = cstatd_op_eval(r->op, v, r->threshold);
	if (!held) {
		if (a) {
			a->value = v;
			not_held(a, now);
		}
		return;
	}
	if (!a || a->state == CSTATD_ALERT_INACTIVE || a->state == CSTATD_ALERT_RESOLVED) {
		if (!a) {
			if (reserve(e, e->n + 1) != 0)
				return; /* out of memory: retried next sweep */
			a = &e->inst[e->n++];
			memset(a, 0, sizeof(*a));
			a->rule = r;
			snprintf(a->key, sizeof(a->key), "%s", c->key);
			index_insert(e, e->n - 1);
		}
		a->state = CSTATD_ALERT_PENDING;
		a->active_at = now;
		a->fired_at = 0;
		a->resolved_at = 0;
		a->notified = false;
	}
	a->seen = e->gen;
	a->value = v;
	a->last_held = now;
	copy_identity(a, c);
	if (a->state == CSTATD_ALERT_PENDING &&
	    now - a->active_at >= (double)r->for_ms / 1000.0 - CLOCK_SLACK_S) {
		a->state = CSTATD_ALERT_FIRING;
		a->fired_at = now;
		a->notified = false; /* post at once */
	}
}

void cstatd_alerts_eval(struct cstatd_alerts *e, struct cstatd_store *st,
                        const struct cstatd_window_table *wt, const struct cstatd_host *h,
                        double now)
{
	size_t nc = cstatd_store_count(st);

	e->gen++;
	for (size_t ci = 0; ci < nc; ci++) {
		const struct cstatd_container *c = cstatd_store_at(st, ci);
		const struct cstatd_windows *w = wt ? cstatd_window_table_get(wt, c->key) : NULL;
		for (size_t ri = 0; ri < e->rules.n; ri++)
			eval_one(e, &e->rules.rules[ri], c, w, h, now);
	}
	for (size_t i = 0; i < e->n; i++) {
		struct cstatd_alert *a = &e->inst[i];
		if (a->state == CSTATD_ALERT_RESOLVED) {
			if (now - a->resolved_at >= CSTATD_ALERT_RESOLVED_RETENTION_S)
				a->state = CSTATD_ALERT_INACTIVE;
			continue;
		}
		if (a->seen == e->gen)
			continue;
		/* The container is gone (or the rule was retired). */
		if (a->state == CSTATD_ALERT_FIRING)
			resolve(a, now);
		else
			a->state = CSTATD_ALERT_INACTIVE;
	}
	compact(e);
}

/* ======================================================================== */
/* Reading                                                                  */
/* ======================================================================== */

size_t cstatd_alerts_count(const struct cstatd_alerts *e)
{
	return e->n;
}

const struct cstatd_alert *cstatd_alerts_at(const struct cstatd_alerts *e, size_t i)
{
	return i < e->n ? &e->inst[i] : NULL;
}

const struct cstatd_alert *cstatd_alerts_find(const struct cstatd_alerts *e,
                                              const struct cstatd_rule *r, const char *key)
{
	return find(e, r->fingerprint, key);
}

void cstatd_format_rfc3339(double t, char *buf, size_t len)
{
	time_t s = (time_t)floor(t);
	int ms = (int)((t - (double)s) * 1000.0);
	struct tm tm;

	if (ms > 999)
		ms = 999;
	gmtime_r(&s, &tm);
	/* strftime for the calendar part: snprintf of tm fields makes GCC
	 * warn (-Wformat-truncation) about years that cannot occur. */
	char date[32];
	if (ms < 0)
		ms = 0;
	if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		date[0] = '\0';
	snprintf(buf, len, "%s.%03dZ", date, ms);
}

void cstatd_alert_render(const struct cstatd_alert *a, const char *t, char *buf, size_t len)
{
	const struct cstatd_rule *r = a->rule;
	size_t off = 0;

	if (!len)
		return;
	buf[0] = '\0';
	while (*t && off + 1 < len) {
		const char *p = strstr(t, "{{");
		const char *end = p ? strstr(p + 2, "}}") : NULL;
		char var[32], val[256];
		if (!p || !end) {
			off += (size_t)snprintf(buf + off, len - off, "%s", t);
			break;
		}
		off += (size_t)snprintf(buf + off, len - off, "%.*s", (int)(p - t), t);
		if (off >= len)
			break;
		const char *x = p + 2, *y = end;
		while (*x == ' ')
			x++;
		while (y > x && y[-1] == ' ')
			y--;
		size_t n = (size_t)(y - x) < sizeof(var) - 1 ? (size_t)(y - x) : sizeof(var) - 1;
		memcpy(var, x, n);
		var[n] = '\0';
		val[0] = '\0';
		if (!strcmp(var, "name"))
			snprintf(val, sizeof(val), "%s", a->name);
		else if (!strcmp(var, "image"))
			snprintf(val, sizeof(val), "%s", a->image);
		else if (!strcmp(var, "id"))
			snprintf(val, sizeof(val), "%s", a->id);
		else if (!strcmp(var, "value"))
			cstatd_rule_format_value(r, a->value, val, sizeof(val));
		else if (!strcmp(var, "threshold"))
			cstatd_rule_format_value(r, r->threshold, val, sizeof(val));
		else if (!strcmp(var, "alert"))
			snprintf(val, sizeof(val), "%s", r->alert);
		else if (!strcmp(var, "severity"))
			snprintf(val, sizeof(val), "%s", r->severity);
		else if (!strcmp(var, "signal"))
			snprintf(val, sizeof(val), "%s", cstatd_signal_defs[r->signal].name);
		else if (!strcmp(var, "window"))
			cstatd_format_duration(r->window_ms, val, sizeof(val));
		off += (size_t)snprintf(buf + off, len - off, "%s", val);
		t = end + 2;
	}
	if (off >= len)
		buf[len - 1] = '\0';
}

static json_t *labels_json(const struct cstatd_alert *a)
{
	const struct cstatd_rule *r = a->rule;
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "alertname", json_string(r->alert));
	json_object_set_new(o, "severity", json_string(r->severity));
	json_object_set_new(o, "name", json_string(a->name));
	json_object_set_new(o, "image", json_string(a->image));
	json_object_set_new(o, "id", json_string(a->id));
	for (unsigned k = 0; k < r->n_labels; k++)
		json_object_set_new(o, r->labels[k].key, json_string(r->labels[k].value));
	return o;
}

static json_t *annotations_json(const struct cstatd_alert *a)
{
	const struct cstatd_rule *r = a->rule;
	json_t *o = json_object();
	char buf[CSTATD_RULE_ANNOTATION_LEN + 512];

	if (!o)
		return NULL;
	for (unsigned k = 0; k < r->n_annotations; k++) {
		cstatd_alert_render(a, r->annotations[k].value, buf, sizeof(buf));
		json_object_set_new(o, r->annotations[k].key, json_string(buf));
	}
	return o;
}

static json_t *time_json(double t)
{
	char buf[40];
	if (t <= 0)
		return json_null();
	cstatd_format_rfc3339(t, buf, sizeof(buf));
	return json_string(buf);
}

json_t *cstatd_alerts_json(const struct cstatd_alerts *e)
{
	json_t *root = json_object(), *arr = json_array();

	if (!root || !arr) {
		json_decref(root);
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < e->n; i++) {
		const struct cstatd_alert *a = &e->inst[i];
		const struct cstatd_rule *r = a->rule;
		json_t *o, *c;
		char text[64];

		if (a->state != CSTATD_ALERT_PENDING && a->state != CSTATD_ALERT_FIRING)
			continue;
		o = json_object();
		c = json_object();
		if (!o || !c) {
			json_decref(o);
			json_decref(c);
			continue;
		}
		json_object_set_new(o, "rule", json_string(r->alert));
		json_object_set_new(o, "severity", json_string(r->severity));
		json_object_set_new(o, "state", json_string(cstatd_alert_state_names[a->state]));
		json_object_set_new(o, "labels", labels_json(a));
		json_object_set_new(o, "annotations", annotations_json(a));
		json_object_set_new(c, "key", json_string(a->key));
		json_object_set_new(c, "name", json_string(a->name));
		json_object_set_new(c, "id", json_string(a->id));
		json_object_set_new(c, "image", json_string(a->image));
		json_object_set_new(o, "container", c);
		json_object_set_new(o, "value",
		                    isfinite(a->value) ? json_real(a->value) : json_null());
		cstatd_rule_format_value(r, a->value, text, sizeof(text));
		json_object_set_new(o, "value_text", json_string(text));
		json_object_set_new(o, "threshold", json_real(r->threshold));
		json_object_set_new(o, "relative_to",
		                    r->relative_to ? json_string(cstatd_limit_names[r->relative_to])
		                                   : json_null());
		json_object_set_new(o, "active_since", time_json(a->active_at));
		json_object_set_new(o, "firing_since", time_json(a->fired_at));
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "alerts", arr);
	return root;
}

/* ======================================================================== */
/* Metrics lines                                                            */
/* ======================================================================== */

static void put_escaped(struct cstatd_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			cstatd_buf_append(b, "\\\\", 2);
		else if (*s == '"')
			cstatd_buf_append(b, "\\\"", 2);
		else if (*s == '\n')
			cstatd_buf_append(b, "\\n", 2);
		else
			cstatd_buf_append(b, s, 1);
	}
}

static void put_str(struct cstatd_buf *b, const char *s)
{
	cstatd_buf_append(b, s, strlen(s));
}

void cstatd_alerts_write_firing(const struct cstatd_alerts *e, struct cstatd_buf *b)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct cstatd_alert *a = &e->inst[i];
		bool dup = false;

		if (a->state != CSTATD_ALERT_FIRING)
			continue;
		for (size_t j = 0; j < i && !dup; j++) {
			const struct cstatd_alert *o = &e->inst[j];
			dup = o->state == CSTATD_ALERT_FIRING && !strcmp(o->key, a->key) &&
			      !strcmp(o->rule->alert, a->rule->alert) &&
			      !strcmp(o->rule->severity, a->rule->severity);
		}
		if (dup)
			continue;
		put_str(b, "cstatd_alert_firing{alertname=\"");
		put_escaped(b, a->rule->alert);
		put_str(b, "\",severity=\"");
		put_escaped(b, a->rule->severity);
		put_str(b, "\",id=\"");
		put_escaped(b, a->id);
		put_str(b, "\",image=\"");
		put_escaped(b, a->image);
		put_str(b, "\",name=\"");
		put_escaped(b, a->name);
		put_str(b, "\"} 1\n");
	}
}

void cstatd_alerts_write_thresholds(const struct cstatd_alerts *e, struct cstatd_buf *b)
{
	char num[64];

	for (size_t i = 0; i < e->rules.n; i++) {
		const struct cstatd_rule *r = &e->rules.rules[i];
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = !strcmp(e->rules.rules[j].alert, r->alert) &&
			      !strcmp(e->rules.rules[j].severity, r->severity);
		if (dup)
			continue;
		put_str(b, "cstatd_alert_threshold{alertname=\"");
		put_escaped(b, r->alert);
		put_str(b, "\",severity=\"");
		put_escaped(b, r->severity);
		put_str(b, "\"} ");
		cstatd_format_number(r->threshold, num, sizeof(num));
		put_str(b, num);
		put_str(b, "\n");
	}
}

/* ======================================================================== */
/* Alertmanager                                                             */
/* ======================================================================== */

/* Same Alertmanager label set (alertname, severity, rule labels, container)? */
static bool same_labels(const struct cstatd_alert *a, const struct cstatd_alert *b)
{
	const struct cstatd_rule *x = a->rule, *y = b->rule;
	if (strcmp(a->key, b->key) || strcmp(x->alert, y->alert) ||
	    strcmp(x->severity, y->severity) || x->n_labels != y->n_labels)
		return false;
	for (unsigned k = 0; k < x->n_labels; k++)
		if (strcmp(x->labels[k].key, y->labels[k].key) ||
		    strcmp(x->labels[k].value, y->labels[k].value))
			return false;
	return true;
}

json_t *cstatd_alerts_am_payload(struct cstatd_alerts *e, double now,
                                 const struct cstatd_am_opts *o)
{
	double resend = o && o->resend_s > 0 ? o->resend_s : 60.0;
	double interval = o && o->interval_s > 0 ? o->interval_s : 1.0;
	double horizon = 4.0 * (resend > interval ? resend : interval);
	json_t *arr = NULL;

	for (size_t i = 0; i < e->n; i++) {
		struct cstatd_alert *a = &e->inst[i];
		bool due;

		if (a->state == CSTATD_ALERT_FIRING) {
			due = !a->notified || now - a->last_sent >= resend - CLOCK_SLACK_S;
		} else if (a->state == CSTATD_ALERT_RESOLVED && a->fired_at > 0) {
			due = !a->notified || now - a->last_sent >= resend - CLOCK_SLACK_S;
			/* A firing alert with the same labels (the rule was
			 * reloaded with a new definition) must not be told
			 * it is over. */
			for (size_t j = 0; j < e->n && due; j++)
				if (j != i && e->inst[j].state == CSTATD_ALERT_FIRING &&
				    same_labels(a, &e->inst[j]))
					due = false;
		} else {
			continue;
		}
		if (!due)
			continue;
		if (!arr && !(arr = json_array()))
			return NULL;
		json_t *x = json_object();
		if (!x)
			continue;
		json_object_set_new(x, "labels", labels_json(a));
		json_object_set_new(x, "annotations", annotations_json(a));
		json_object_set_new(x, "startsAt", time_json(a->fired_at));
		json_object_set_new(
		    x, "endsAt",
		    time_json(a->state == CSTATD_ALERT_FIRING ? now + horizon : a->resolved_at));
		if (o && o->generator_url)
			json_object_set_new(x, "generatorURL", json_string(o->generator_url));
		json_array_append_new(arr, x);
		a->last_sent = now;
		a->notified = true;
	}
	return arr;
}
