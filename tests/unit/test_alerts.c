/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for daemon/alerts.c: the per-(rule, container) state machine
 * driven by a fake clock, one "sweep" per simulated second: windows are
 * pushed from a real store, then the engine evaluates.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cstatd/snapshot.h"
#include "cstatd/store.h"
#include "daemon/alerts.h"
#include "daemon/rules.h"
#include "daemon/windows.h"

#define T0 1700000000.0
#define MiB 1048576ull

struct world {
	struct cstatd_store *st;
	struct cstatd_window_layout layout;
	struct cstatd_window_table *wt;
	struct cstatd_alerts *eng;
	struct cstatd_host host;
	double now;
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	const uint64_t wins[] = {60000, 300000, 900000};

	assert_non_null(w);
	w->st = cstatd_store_new();
	assert_int_equal(cstatd_window_layout_init(&w->layout, wins, 3, 1000), 0);
	assert_int_equal(cstatd_window_table_new(&w->layout, &w->wt), 0);
	assert_int_equal(cstatd_alerts_new(&w->eng), 0);
	w->host.cpus = 8;
	w->host.memory_bytes = 16384.0 * MiB;
	w->now = T0;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	cstatd_alerts_free(w->eng);
	cstatd_window_table_free(w->wt);
	cstatd_store_free(w->st);
	free(w);
	return 0;
}

static void load_rules(struct world *w, const char *json)
{
	json_error_t jerr;
	struct cstatd_cfg_error e;
	struct cstatd_ruleset rs;
	json_t *arr = json_loads(json, 0, &jerr);

	if (!arr)
		fail_msg("bad test JSON: %s", jerr.text);
	if (cstatd_rules_parse(arr, "rules", &rs, &e) != 0)
		fail_msg("rules: %s: %s", e.path, e.msg);
	json_decref(arr);
	assert_int_equal(cstatd_alerts_set_rules(w->eng, &rs, w->now), 0);
	assert_null(rs.rules);
}

static struct cstatd_container *add(struct world *w, const char *key, const char *name,
                                    uint64_t mem, uint64_t limit)
{
	struct cstatd_container *c = cstatd_store_add(w->st, key);
	assert_non_null(c);
	cstatd_container_setf(&c->name, "%s", name);
	cstatd_container_setf(&c->image, "shop/%s:1.0", name);
	cstatd_container_setf(&c->id_label, "/system.slice/docker-%s.scope", key);
	c->is_container = true;
	c->sources = CSTATD_SRC_CGROUP;
	c->s.have = CSTATD_HAVE_MEM_CURRENT | CSTATD_HAVE_MEM_MAX;
	c->s.mem_current = mem;
	c->s.mem_max = limit;
	return c;
}

/* One sweep at the current fake time, then the clock advances 1 s. */
static void sweep(struct world *w)
{
	cstatd_window_table_sweep(w->wt, w->st, w->now);
	cstatd_alerts_eval(w->eng, w->st, w->wt, &w->host, w->now);
	w->now += 1;
}

static const struct cstatd_alert *alert_of(struct world *w, size_t rule, const char *key)
{
	const struct cstatd_ruleset *rs = cstatd_alerts_rules(w->eng);
	assert_true(rule < rs->n);
	return cstatd_alerts_find(w->eng, &rs->rules[rule], key);
}

static enum cstatd_alert_state state_of(struct world *w, size_t rule, const char *key)
{
	const struct cstatd_alert *a = alert_of(w, rule, key);
	return a ? a->state : CSTATD_ALERT_INACTIVE;
}

#define assert_state(w, rule, key, want)                                                          \
	do {                                                                                      \
		enum cstatd_alert_state got_ = state_of(w, rule, key);                            \
		if (got_ != (want))                                                               \
			fail_msg("t=+%.0f: %s is %s, want %s", (w)->now - 1 - T0, key,            \
			         cstatd_alert_state_names[got_], cstatd_alert_state_names[want]); \
	} while (0)

/* The example rule of the issue (memory near limit, for 1m, clear 0.85),
 * on the last value so that each step acts at once. */
static const char mem_rule[] =
    "[{\"alert\": \"ContainerMemoryNearLimit\", \"signal\": \"memory_working_set\","
    " \"window\": \"1m\", \"aggregate\": \"last\", \"op\": \">\", \"threshold\": 0.9,"
    " \"relative_to\": \"memory_limit\", \"for\": \"1m\", \"clear\": 0.85,"
    " \"severity\": \"warning\", \"labels\": {\"team\": \"ops\"},"
    " \"annotations\": {\"summary\": \"{{name}} uses {{value}} of its memory limit (threshold "
    "{{threshold}})\"}}]";

/* ------------------------------------------------------------------------ */

static void test_for_pending_then_firing(void **state)
{
	struct world *w = *state;
	struct cstatd_container *c;

	load_rules(w, mem_rule);
	c = add(w, "a1", "web", 950 * MiB, 1000 * MiB);
	sweep(w); /* t=0: pending */
	assert_state(w, 0, "a1", CSTATD_ALERT_PENDING);
	assert_true(alert_of(w, 0, "a1")->active_at == T0);
	for (int i = 1; i < 60; i++) {
		sweep(w);
		assert_state(w, 0, "a1", CSTATD_ALERT_PENDING);
	}
	sweep(w); /* t=60: held for 1m at every sweep */
	assert_state(w, 0, "a1", CSTATD_ALERT_FIRING);
	assert_true(alert_of(w, 0, "a1")->fired_at == T0 + 60);
	assert_true(fabs(alert_of(w, 0, "a1")->value - 0.95) < 1e-9);

	/* A single miss while pending restarts `for`. */
	c = add(w, "b2", "api", 950 * MiB, 1000 * MiB);
	for (int i = 0; i < 30; i++)
		sweep(w);
	assert_state(w, 0, "b2", CSTATD_ALERT_PENDING);
	c->s.mem_current = 500 * MiB;
	sweep(w);
	assert_state(w, 0, "b2", CSTATD_ALERT_INACTIVE);
	c->s.mem_current = 950 * MiB;
	double again = w->now;
	for (int i = 0; i < 60; i++) {
		sweep(w);
		assert_state(w, 0, "b2", CSTATD_ALERT_PENDING);
	}
	assert_true(alert_of(w, 0, "b2")->active_at == again);
	sweep(w);
	assert_state(w, 0, "b2", CSTATD_ALERT_FIRING);
}

static void test_clear_hysteresis_no_flapping(void **state)
{
	struct world *w = *state;
	struct cstatd_container *c;
	int transitions = 0;
	enum cstatd_alert_state prev;

	load_rules(w, mem_rule);
	c = add(w, "a1", "web", 950 * MiB, 1000 * MiB);
	for (int i = 0; i <= 60; i++)
		sweep(w);
	assert_state(w, 0, "a1", CSTATD_ALERT_FIRING);
	/* The value wobbles around the threshold, never down to clear. */
	prev = CSTATD_ALERT_FIRING;
	for (int i = 0; i < 120; i++) {
		c->s.mem_current = (i % 2 ? 890 : 910) * MiB;
		sweep(w);
		enum cstatd_alert_state s = state_of(w, 0, "a1");
		transitions += s != prev;
		prev = s;
	}
	assert_int_equal(transitions, 0);
	/* 0.86 is still above clear (0.85): firing. */
	c->s.mem_current = 860 * MiB;
	sweep(w);
	assert_state(w, 0, "a1", CSTATD_ALERT_FIRING);
	/* Exactly clear: resolved (the value must stay above clear). */
	c->s.mem_current = 850 * MiB;
	sweep(w);
	assert_state(w, 0, "a1", CSTATD_ALERT_RESOLVED);
	assert_true(alert_of(w, 0, "a1")->resolved_at == w->now - 1);
	/* Back above the threshold: a new pending period, not firing. */
	c->s.mem_current = 950 * MiB;
	sweep(w);
	assert_state(w, 0, "a1", CSTATD_ALERT_PENDING);
}

static void test_without_clear_it_flaps(void **state)
{
	struct world *w = *state;
	struct cstatd_container *c;
	int resolutions = 0;

	/* The contrast case: same wobble, no clear, no for. */
	load_rules(w, "[{\"alert\": \"M\", \"signal\": \"memory_working_set\", \"window\": \"1m\","
	              " \"aggregate\": \"last\", \"op\": \">\", \"threshold\": 0.9,"
	              " \"relative_to\": \"memory_limit\"}]");
	c = add(w, "a1", "web", 950 * MiB, 1000 * MiB);
	sweep(w);
	assert_state(w, 0, "a1", CSTATD_ALERT_FIRING); /* no `for`: fires at once */
	for (int i = 0; i < 10; i++) {
		c->s.mem_current = (i % 2 ? 910 : 890) * MiB;
		sweep(w);
		resolutions += state_of(w, 0, "a1") == CSTATD_ALERT_RESOLVED;
	}
	assert_int_equal(resolutions, 5);
}

static void test_keep_firing_for(void **state)
{
	struct world *w = *state;
	struct cstatd_container *c;

	load_rules(w, "[{\"alert\": \"M\", \"signal\": \"memory_working_set\", \"window\": \"1m\","
	              " \"aggregate\": \"last\", \"op\": \">\", \"threshold\": 0.9,"
	              " \"relative_to\": \"memory_limit\", \"keep_firing_for\": \"30s\"}]");
	c = add(w, "a1", "web", 950 * MiB, 1000 * MiB);
	sweep(w);
	assert_state(w, 0, "a1", CSTATD_ALERT_FIRING);
	double last_held = w->now - 1;
	c->s.mem_current = 100 * MiB;
	for (int i = 0; i < 29; i++) {
		sweep(w);
		assert_state(w, 0, "a1", CSTATD_ALERT_FIRING);
	}
	/* The condition returns before 30 s: the timer starts again. */
	c->s.mem_current = 950 * MiB;
	sweep(w);
	c->s.mem_current = 100 * MiB;
	last_held = w->now - 1;
	for (int i = 0; i < 29; i++) {
		sweep(w);
		assert_state(w, 0, "a1", CSTATD_ALERT_FIRING);
	}
	sweep(w); /* 30 s without the condition */
	assert_state(w, 0, "a1", CSTATD_ALERT_RESOLVED);
	assert_true(alert_of(w, 0, "a1")->resolved_at == last_held + 30);
	assert_true(alert_of(w, 0, "a1")->fired_at == T0);
}

static void test_container_disappears_while_firing(void **state)
{
	struct world *w = *state;
	struct cstatd_container *c;

	load_rules(w, "[{\"alert\": \"M\", \"signal\": \"memory_working_set\", \"window\": \"1m\","
	              " \"aggregate\": \"avg\", \"op\": \">\", \"threshold\": 0.9,"
	              " \"relative_to\": \"memory_limit\", \"keep_firing_for\": \"10m\"}]");
	c = add(w, "gone", "web", 950 * MiB, 1000 * MiB);
	add(w, "stays", "db", 100 * MiB, 1000 * MiB);
	sweep(w);
	assert_state(w, 0, "gone", CSTATD_ALERT_FIRING);
	cstatd_store_remove(w->st, c);
	sweep(w);
	/* Resolved at once: keep_firing_for does not hold a container that is gone. */
	assert_state(w, 0, "gone", CSTATD_ALERT_RESOLVED);
	const struct cstatd_alert *a = alert_of(w, 0, "gone");
	assert_string_equal(a->name, "web"); /* identity kept for the re-sends */
	assert_true(a->resolved_at == w->now - 1);
	assert_int_equal(cstatd_window_table_count(w->wt), 1);
	/* Retained 15 minutes, then forgotten. */
	for (int i = 0; i < 899; i++) /* up to 899 s after the resolution */
		sweep(w);
	assert_state(w, 0, "gone", CSTATD_ALERT_RESOLVED);
	sweep(w);
	assert_null(alert_of(w, 0, "gone"));
	assert_int_equal(cstatd_alerts_count(w->eng), 0);
}

static void test_reload_keeps_unchanged_restarts_changed(void **state)
{
	struct world *w = *state;
	static const char two[] =
	    "[{\"alert\": \"A\", \"signal\": \"memory_working_set\", \"window\": \"1m\","
	    " \"aggregate\": \"last\", \"op\": \">\", \"threshold\": 0.9,"
	    " \"relative_to\": \"memory_limit\", \"for\": \"10s\","
	    " \"annotations\": {\"summary\": \"old text\"}},"
	    " {\"alert\": \"B\", \"signal\": \"memory_usage\", \"window\": \"1m\","
	    " \"aggregate\": \"last\", \"op\": \">\", \"threshold\": 0.5,"
	    " \"relative_to\": \"memory_limit\", \"for\": \"10s\"}]";
	/* A: only its annotation changes (same definition); B: its
	 * threshold changes. */
	static const char two_b[] =
	    "[{\"alert\": \"B\", \"signal\": \"memory_usage\", \"window\": \"1m\","
	    " \"aggregate\": \"last\", \"op\": \">\", \"threshold\": 0.6,"
	    " \"relative_to\": \"memory_limit\", \"for\": \"10s\"},"
	    " {\"alert\": \"A\", \"signal\": \"memory_working_set\", \"window\": \"1m\","
	    " \"aggregate\": \"last\", \"op\": \">\", \"threshold\": 0.9,"
	    " \"relative_to\": \"memory_limit\", \"for\": \"10s\","
	    " \"annotations\": {\"summary\": \"new text\"}}]";

	load_rules(w, two);
	add(w, "a1", "web", 950 * MiB, 1000 * MiB);
	for (int i = 0; i <= 10; i++)
		sweep(w);
	assert_state(w, 0, "a1", CSTATD_ALERT_FIRING);
	assert_state(w, 1, "a1", CSTATD_ALERT_FIRING);
	const struct cstatd_alert *a = alert_of(w, 0, "a1");
	double fired = a->fired_at;

	load_rules(w, two_b);
	/* A (now index 1) keeps its state and times, with the new rule text. */
	a = alert_of(w, 1, "a1");
	assert_non_null(a);
	assert_int_equal(a->state, CSTATD_ALERT_FIRING);
	assert_true(a->fired_at == fired);
	char buf[128];
	cstatd_alert_render(a, a->rule->annotations[0].value, buf, sizeof(buf));
	assert_string_equal(buf, "new text");
	/* B changed: its new rule starts from inactive... */
	assert_null(alert_of(w, 0, "a1"));
	/* ...and the old B instance was resolved at the reload. */
	size_t resolved = 0;
	for (size_t i = 0; i < cstatd_alerts_count(w->eng); i++) {
		const struct cstatd_alert *x = cstatd_alerts_at(w->eng, i);
		if (x->state == CSTATD_ALERT_RESOLVED) {
			assert_string_equal(x->rule->alert, "B");
			assert_true(x->resolved_at == w->now);
			resolved++;
		}
	}
	assert_int_equal(resolved, 1);
	sweep(w);
	assert_state(w, 0, "a1", CSTATD_ALERT_PENDING);
	assert_state(w, 1, "a1", CSTATD_ALERT_FIRING);
	for (int i = 0; i < 10; i++)
		sweep(w);
	assert_state(w, 0, "a1", CSTATD_ALERT_FIRING);
}

static void test_unlimited_skipped_or_host(void **state)
{
	struct world *w = *state;
	load_rules(w,
	           "[{\"alert\": \"Skip\", \"signal\": \"memory_working_set\", \"window\": \"1m\","
	           " \"op\": \">\", \"threshold\": 0.5, \"relative_to\": \"memory_limit\"},"
	           " {\"alert\": \"Host\", \"signal\": \"memory_working_set\", \"window\": \"1m\","
	           " \"op\": \">\", \"threshold\": 0.5, \"relative_to\": \"memory_limit\","
	           " \"when_unlimited\": \"host\"},"
	           " {\"alert\": \"Low\", \"signal\": \"memory_working_set\", \"window\": \"1m\","
	           " \"op\": \"<\", \"threshold\": 0.01, \"relative_to\": \"memory_limit\"}]");
	/* 10 GiB of a 16 GiB host, no limit. */
	add(w, "u1", "batch", 10240 * MiB, CSTATD_UNLIMITED);
	sweep(w);
	/* Never "0 % of 0": no value, so neither > nor < fires. */
	assert_state(w, 0, "u1", CSTATD_ALERT_INACTIVE);
	assert_state(w, 2, "u1", CSTATD_ALERT_INACTIVE);
	assert_state(w, 1, "u1", CSTATD_ALERT_FIRING);
	assert_true(fabs(alert_of(w, 1, "u1")->value - 0.625) < 1e-9);
	double v;
	const struct cstatd_ruleset *rs = cstatd_alerts_rules(w->eng);
	struct cstatd_container *c = cstatd_store_get(w->st, "u1");
	assert_int_equal(cstatd_alerts_rule_value(
	                     &rs->rules[0], c, cstatd_window_table_get(w->wt, "u1"), &w->host, &v),
	                 -ENODATA);
}

static void test_selector(void **state)
{
	struct world *w = *state;
	struct cstatd_container *c;
	struct cstatd_label lab;

	load_rules(w,
	           "[{\"alert\": \"Shop\", \"signal\": \"memory_usage\", \"window\": \"1m\","
	           " \"op\": \">\", \"threshold\": 0, \"match\": {\"name\": \"web-*\","
	           " \"image\": \"shop/*\", \"labels\": {\"com.docker.compose.project\": \"shop\","
	           " \"tier\": \"fr[aeiou]nt\"}}}]");
	c = add(w, "m1", "web-1", 1, CSTATD_UNLIMITED);
	c->docker.known = true;
	snprintf(c->docker.compose_project, sizeof(c->docker.compose_project), "shop");
	memset(&lab, 0, sizeof(lab));
	snprintf(lab.key, sizeof(lab.key), "tier");
	snprintf(lab.value, sizeof(lab.value), "front");
	assert_int_equal(cstatd_container_set_labels(c, &lab, 1), 0);
	c = add(w, "m2", "web-2", 1, CSTATD_UNLIMITED); /* no compose project */
	c = add(w, "m3", "db-1", 1, CSTATD_UNLIMITED);
	sweep(w);
	assert_state(w, 0, "m1", CSTATD_ALERT_FIRING);
	assert_state(w, 0, "m2", CSTATD_ALERT_INACTIVE);
	assert_state(w, 0, "m3", CSTATD_ALERT_INACTIVE);
}

static void test_default_rules_crashloop_oom_risks(void **state)
{
	struct world *w = *state;
	struct cstatd_ruleset rs;
	struct cstatd_container *c;
	size_t crash = 99, oom = 99, nolimit = 99, priv = 99;

	assert_int_equal(cstatd_rules_defaults(&rs), 0);
	assert_int_equal(cstatd_alerts_set_rules(w->eng, &rs, w->now), 0);
	const struct cstatd_ruleset *r = cstatd_alerts_rules(w->eng);
	for (size_t i = 0; i < r->n; i++) {
		if (!strcmp(r->rules[i].alert, "ContainerCrashLooping"))
			crash = i;
		if (!strcmp(r->rules[i].alert, "ContainerOOMKilled"))
			oom = i;
		if (!strcmp(r->rules[i].alert, "ContainerNoMemoryLimit"))
			nolimit = i;
		if (!strcmp(r->rules[i].alert, "ContainerPrivileged"))
			priv = i;
	}
	c = add(w, "x1", "worker", 10 * MiB, 1000 * MiB);
	c->docker.known = true;
	c->docker.risks_known = true;
	c->docker.risks = CSTATD_RISK_PRIVILEGED;
	c->s.have |= CSTATD_HAVE_MEM_EVENTS;
	for (int i = 0; i < 100; i++) {
		/* restarts at +10, +40, +70 s; one OOM kill at +20 s */
		c->docker.restarts_total = (uint64_t)(i >= 10) + (i >= 40) + (i >= 70);
		c->oom_kills_total = i >= 20;
		sweep(w);
		if (i == 20)
			assert_state(w, oom, "x1", CSTATD_ALERT_FIRING);
		if (i == 69)
			assert_state(w, crash, "x1", CSTATD_ALERT_INACTIVE);
	}
	assert_state(w, crash, "x1", CSTATD_ALERT_FIRING);
	assert_state(w, priv, "x1", CSTATD_ALERT_FIRING);
	assert_state(w, nolimit, "x1", CSTATD_ALERT_INACTIVE);
	/* The OOM alert ends once the kill leaves the 5m window. */
	for (int i = 0; i < 300; i++)
		sweep(w);
	assert_state(w, oom, "x1", CSTATD_ALERT_RESOLVED);
}

static void test_outputs(void **state)
{
	struct world *w = *state;
	struct cstatd_container *c;
	struct cstatd_am_opts am = {.resend_s = 60, .interval_s = 1};
	json_t *p;

	load_rules(w, mem_rule);
	add(w, "a1", "web", 950 * MiB, 1000 * MiB);
	c = add(w, "b2", "api\"x", 920 * MiB, 1000 * MiB);
	sweep(w);
	/* Pending is never posted. */
	assert_null(cstatd_alerts_am_payload(w->eng, w->now, &am));
	json_t *j = cstatd_alerts_json(w->eng);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 2);
	json_t *first = json_array_get(json_object_get(j, "alerts"), 0);
	assert_string_equal(json_string_value(json_object_get(first, "state")), "pending");
	assert_string_equal(json_string_value(json_object_get(first, "rule")),
	                    "ContainerMemoryNearLimit");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(first, "labels"), "team")), "ops");
	assert_string_equal(json_string_value(json_object_get(first, "active_since")),
	                    "2023-11-14T22:13:20.000Z");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(first, "annotations"), "summary")),
	    "web uses 95.0% of its memory limit (threshold 90.0%)");
	json_decref(j);

	for (int i = 0; i < 60; i++)
		sweep(w);
	/* Both fire at +60 s: posted at once. */
	p = cstatd_alerts_am_payload(w->eng, w->now, &am);
	assert_non_null(p);
	assert_int_equal(json_array_size(p), 2);
	json_t *x = json_array_get(p, 0);
	assert_string_equal(json_string_value(json_object_get(x, "startsAt")),
	                    "2023-11-14T22:14:20.000Z");
	/* endsAt = now + 4 × max(resend, interval) = now + 240 s */
	char want[40];
	cstatd_format_rfc3339(w->now + 240, want, sizeof(want));
	assert_string_equal(json_string_value(json_object_get(x, "endsAt")), want);
	json_t *labels = json_object_get(x, "labels");
	assert_string_equal(json_string_value(json_object_get(labels, "alertname")),
	                    "ContainerMemoryNearLimit");
	assert_string_equal(json_string_value(json_object_get(labels, "severity")), "warning");
	assert_string_equal(json_string_value(json_object_get(labels, "name")), "web");
	assert_string_equal(json_string_value(json_object_get(labels, "image")), "shop/web:1.0");
	json_decref(p);
	/* Nothing due until resend. */
	sweep(w);
	assert_null(cstatd_alerts_am_payload(w->eng, w->now, &am));
	for (int i = 0; i < 59; i++)
		sweep(w);
	p = cstatd_alerts_am_payload(w->eng, w->now, &am);
	assert_non_null(p);
	assert_int_equal(json_array_size(p), 2);
	json_decref(p);

	/* Metrics lines. */
	struct cstatd_buf b;
	cstatd_buf_init(&b, 1 << 20);
	cstatd_alerts_write_firing(w->eng, &b);
	cstatd_buf_append(&b, "", 1);
	assert_non_null(strstr(b.data, "cstatd_alert_firing{alertname=\"ContainerMemoryNearLimit\","
	                               "severity=\"warning\",id=\"/system.slice/docker-a1.scope\","
	                               "image=\"shop/web:1.0\",name=\"web\"} 1\n"));
	assert_non_null(strstr(b.data, "name=\"api\\\"x\"} 1\n"));
	b.len = 0;
	cstatd_alerts_write_thresholds(w->eng, &b);
	cstatd_buf_append(&b, "", 1);
	assert_string_equal(
	    b.data,
	    "cstatd_alert_threshold{alertname=\"ContainerMemoryNearLimit\",severity=\"warning\"} "
	    "0.9\n");
	cstatd_buf_free(&b);

	/* b2 resolves: posted at once with endsAt = the resolution time. */
	c->s.mem_current = 100 * MiB;
	sweep(w);
	double resolved_at = w->now - 1;
	p = cstatd_alerts_am_payload(w->eng, w->now, &am);
	assert_int_equal(json_array_size(p), 1);
	cstatd_format_rfc3339(resolved_at, want, sizeof(want));
	assert_string_equal(json_string_value(json_object_get(json_array_get(p, 0), "endsAt")),
	                    want);
	json_decref(p);
	/* /alerts shows only the firing one now. */
	j = cstatd_alerts_json(w->eng);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 1);
	json_decref(j);
	/* The resolved one is re-sent with the firing one at the next resend... */
	for (int i = 0; i < 60; i++)
		sweep(w);
	p = cstatd_alerts_am_payload(w->eng, w->now, &am);
	assert_int_equal(json_array_size(p), 2);
	json_decref(p);
	/* ...and no more once it is past retention. */
	for (int i = 0; i < 900; i++)
		sweep(w);
	p = cstatd_alerts_am_payload(w->eng, w->now, &am);
	assert_int_equal(json_array_size(p), 1);
	json_decref(p);
}

static void test_templates(void **state)
{
	struct world *w = *state;
	char buf[256];

	load_rules(
	    w, "[{\"alert\": \"Cpu\", \"signal\": \"pids\", \"window\": \"1m\","
	       " \"aggregate\": \"max\", \"op\": \">=\", \"threshold\": 2, \"severity\": \"info\","
	       " \"annotations\": {\"d\": \"{{alert}}/{{severity}}/{{ name }}/{{image}}/{{id}}/"
	       "{{value}}/{{threshold}}/{{window}}/{{signal}}\"}}]");
	struct cstatd_container *c = add(w, "k1", "web", 0, CSTATD_UNLIMITED);
	c->s.have |= CSTATD_HAVE_PIDS_CURRENT;
	c->s.pids_current = 3;
	sweep(w);
	const struct cstatd_alert *a = alert_of(w, 0, "k1");
	assert_non_null(a);
	cstatd_alert_render(a, a->rule->annotations[0].value, buf, sizeof(buf));
	assert_string_equal(buf, "Cpu/info/web/shop/web:1.0/"
	                         "/system.slice/docker-k1.scope/3/2/1m/pids");
	/* Truncation is safe. */
	cstatd_alert_render(a, a->rule->annotations[0].value, buf, 8);
	assert_string_equal(buf, "Cpu/inf");
}

static void test_steady_state_no_growth(void **state)
{
	struct world *w = *state;
	char key[16];

	load_rules(w, mem_rule);
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "s%02d", i);
		add(w, key, key, (i % 2 ? 950 : 100) * MiB, 1000 * MiB);
	}
	for (int i = 0; i < 70; i++)
		sweep(w);
	size_t n = cstatd_alerts_count(w->eng);
	assert_int_equal(n, 25);
	for (int i = 0; i < 100; i++)
		sweep(w);
	assert_int_equal(cstatd_alerts_count(w->eng), n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_for_pending_then_firing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clear_hysteresis_no_flapping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_without_clear_it_flaps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keep_firing_for, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_container_disappears_while_firing, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_reload_keeps_unchanged_restarts_changed, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_unlimited_skipped_or_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_selector, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_default_rules_crashloop_oom_risks, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_outputs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_templates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_steady_state_no_growth, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
