/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for daemon/rules.c: the default rule set, rule validation
 * (key paths in errors), fingerprints, selectors, /alerts/rules JSON, and
 * the Prometheus export: every series it names exists in
 * exporters/prometheus/families.h, and `promtool check rules` accepts it
 * (skipped when promtool is not installed).
 */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cstatd/container.h"
#include "daemon/rules.h"
#include "exporters/prometheus/families.h"

static int parse(const char *json, struct cstatd_ruleset *rs, struct cstatd_cfg_error *e)
{
	json_error_t jerr;
	json_t *arr = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (!arr)
		fail_msg("bad test JSON: %s", jerr.text);
	rc = cstatd_rules_parse(arr, "rules", rs, e);
	json_decref(arr);
	return rc;
}

static void test_defaults(void **state)
{
	(void)state;
	static const char *const names[] = {
	    "ContainerCpuNearLimit", "ContainerMemoryNearLimit", "ContainerMemoryPredictedFull",
	    "ContainerCrashLooping", "ContainerOOMKilled",       "ContainerCpuThrottled",
	    "ContainerUnhealthy",    "ContainerNoMemoryLimit",   "ContainerPrivileged"};
	struct cstatd_ruleset rs;

	assert_int_equal(cstatd_rules_defaults(&rs), 0);
	assert_int_equal(rs.n, 9);
	for (size_t i = 0; i < rs.n; i++)
		assert_string_equal(rs.rules[i].alert, names[i]);
	/* crash loop: ≥ 3 restarts in 15 m */
	assert_int_equal(rs.rules[3].signal, CSTATD_SIG_RESTARTS);
	assert_int_equal(rs.rules[3].agg, CSTATD_AGG_INCREASE);
	assert_int_equal(rs.rules[3].op, CSTATD_OP_GE);
	assert_true(rs.rules[3].threshold == 3);
	assert_int_equal(rs.rules[3].window_ms, 900000);
	/* heavy throttling: > 25 % of periods over 5 m */
	assert_int_equal(rs.rules[5].signal, CSTATD_SIG_CPU_THROTTLED);
	assert_true(rs.rules[5].threshold == 0.25);
	assert_int_equal(rs.rules[5].window_ms, 300000);
	/* predicted full within 15 minutes */
	assert_int_equal(rs.rules[2].agg, CSTATD_AGG_PREDICT);
	assert_int_equal(rs.rules[2].horizon_ms, 900000);
	/* configuration risks are info */
	assert_string_equal(rs.rules[7].severity, "info");
	assert_string_equal(rs.rules[8].severity, "info");
	assert_int_equal(rs.rules[7].window_ms, 0);
	cstatd_ruleset_free(&rs);
}

static void test_rule_errors(void **state)
{
	(void)state;
	static const struct {
		const char *json, *path, *msg;
	} cases[] = {
	    {"{}", "rules", "expected an array of rules, got an object"},
	    {"[3]", "rules[0]", "expected a rule object, got a number"},
	    {"[{\"alert\": \"1x\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \">\", "
	     "\"threshold\": 1}]",
	     "rules[0].alert", "\"1x\" is not a valid alert name"},
	    {"[{\"alert\": \"A\", \"signal\": \"privileged\", \"window\": \"1m\", \"op\": \"==\", "
	     "\"threshold\": 1}]",
	     "rules[0].window", "privileged is a state signal: it has no window"},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"horizon\": \"5m\", "
	     "\"op\": \">\", \"threshold\": 1}]",
	     "rules[0].horizon", "only meaningful with \"aggregate\": \"predict\""},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \"==\", "
	     "\"threshold\": 1, \"clear\": 2}]",
	     "rules[0].clear", "needs op >, >=, < or <="},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \"<\", "
	     "\"threshold\": 5, \"clear\": 2}]",
	     "rules[0].clear", "2 must not be below the threshold 5 for op <"},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \">\", "
	     "\"threshold\": 1, \"severity\": \"very bad\"}]",
	     "rules[0].severity", "\"very bad\" is not a severity"},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": 60, \"op\": \">\", "
	     "\"threshold\": 1}]",
	     "rules[0].window", "expected a duration string like \"5m\", got a number"},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"0s\", \"op\": \">\", "
	     "\"threshold\": 1}]",
	     "rules[0].window", "must be longer than 0s"},
	    {"[{\"alert\": \"A\", \"signal\": \"restarts\", \"window\": \"1m\", \"op\": \">\", "
	     "\"threshold\": 1, \"relative_to\": \"cpu_limit\"}]",
	     "rules[0].relative_to",
	     "cpu_limit does not apply to signal restarts (it has no limit to be relative to)"},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \">\", "
	     "\"threshold\": 1, \"relative_to\": \"disk_limit\"}]",
	     "rules[0].relative_to", "\"disk_limit\" is not one of cpu_limit"},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \">\", "
	     "\"threshold\": 1, \"match\": {\"labels\": {\"tier\": 5}}}]",
	     "rules[0].match.labels.tier", "expected a string (a glob), got a number"},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \">\", "
	     "\"threshold\": 1, \"match\": {\"nmae\": \"x\"}}]",
	     "rules[0].match.nmae", "unknown key (did you mean \"name\"?)"},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \">\", "
	     "\"threshold\": 1, \"labels\": {\"bad-name\": \"x\"}}]",
	     "rules[0].labels.bad-name", "not a valid label name"},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \">\", "
	     "\"threshold\": 1, \"annotations\": {\"s\": \"{{name\"}}]",
	     "rules[0].annotations.s", "\"{{\" without \"}}\""},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \">\", "
	     "\"threshold\": 1}, {\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", "
	     "\"op\": \">\", \"threshold\": 1, \"annotations\": {\"x\": \"y\"}}]",
	     "rules[1]", "same rule as rules[0]"},
	    {"[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"25h\", \"op\": \">\", "
	     "\"threshold\": 1}]",
	     "rules[0].window", "longer than 24h"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cstatd_ruleset rs = {(struct cstatd_rule *)0x1, 77};
		struct cstatd_cfg_error e = {"", ""};
		int rc = parse(cases[i].json, &rs, &e);
		if (rc != -EINVAL || strcmp(e.path, cases[i].path) != 0 ||
		    strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: rc %d path '%s' msg '%s'; want '%s' '%s'", i, rc,
			         e.path, e.msg, cases[i].path, cases[i].msg);
		/* untouched on failure */
		assert_ptr_equal(rs.rules, (struct cstatd_rule *)0x1);
		assert_int_equal(rs.n, 77);
	}
}

static void test_fingerprint(void **state)
{
	(void)state;
	struct cstatd_ruleset a, b, c;
	struct cstatd_cfg_error e;
	const char *base =
	    "[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \">\","
	    " \"threshold\": 1, \"labels\": {\"x\": \"1\", \"y\": \"2\"},"
	    " \"annotations\": {\"summary\": \"one\"}}]";
	/* Same definition, other key order and annotation text. */
	const char *same = "[{\"threshold\": 1, \"op\": \">\", \"window\": \"60s\", \"signal\": "
	                   "\"pids\", \"alert\": \"A\", \"labels\": {\"y\": \"2\", \"x\": \"1\"},"
	                   " \"annotations\": {\"summary\": \"two\"}}]";
	const char *other =
	    "[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\", \"op\": \">\","
	    " \"threshold\": 2, \"labels\": {\"x\": \"1\", \"y\": \"2\"}}]";

	assert_int_equal(parse(base, &a, &e), 0);
	assert_int_equal(parse(same, &b, &e), 0);
	assert_int_equal(parse(other, &c, &e), 0);
	assert_true(a.rules[0].fingerprint == b.rules[0].fingerprint);
	assert_true(a.rules[0].fingerprint != c.rules[0].fingerprint);
	cstatd_ruleset_free(&a);
	cstatd_ruleset_free(&b);
	cstatd_ruleset_free(&c);
}

static void test_json_round_trip(void **state)
{
	(void)state;
	struct cstatd_ruleset rs, back;
	struct cstatd_cfg_error e;
	json_t *j;
	size_t i;
	json_t *x;

	assert_int_equal(cstatd_rules_defaults(&rs), 0);
	j = cstatd_rules_json(&rs);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), rs.n);
	json_array_foreach(j, i, x) json_object_del(x, "fingerprint");
	if (cstatd_rules_parse(j, "rules", &back, &e) != 0)
		fail_msg("%s: %s", e.path, e.msg);
	assert_int_equal(back.n, rs.n);
	for (i = 0; i < rs.n; i++)
		assert_true(back.rules[i].fingerprint == rs.rules[i].fingerprint);
	json_decref(j);
	cstatd_ruleset_free(&back);
	cstatd_ruleset_free(&rs);
}

static void test_globs_and_matching(void **state)
{
	(void)state;
	const char *why;
	struct cstatd_ruleset rs;
	struct cstatd_cfg_error e;
	struct cstatd_container c;
	struct cstatd_label lab;

	assert_int_equal(cstatd_glob_check("*", &why), 0);
	assert_int_equal(cstatd_glob_check("web-[0-9]*", &why), 0);
	assert_int_equal(cstatd_glob_check("[]]", &why), 0);
	assert_int_equal(cstatd_glob_check("[!a]x", &why), 0);
	assert_int_equal(cstatd_glob_check("a\\*", &why), 0);
	assert_int_equal(cstatd_glob_check("web-[", &why), -EINVAL);
	assert_string_equal(why, "unterminated [");
	assert_int_equal(cstatd_glob_check("x\\", &why), -EINVAL);
	assert_int_equal(cstatd_glob_check("", &why), -EINVAL);

	assert_int_equal(parse("[{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\","
	                       " \"op\": \">\", \"threshold\": 1, \"match\": {\"name\": \"api-?\","
	                       " \"labels\": {\"team.name\": \"pay*\"}}}]",
	                       &rs, &e),
	                 0);
	memset(&c, 0, sizeof(c));
	char name[32] = "api-1";
	c.name = name; /* borrowed: c is never freed as a record */
	memset(&lab, 0, sizeof(lab));
	strcpy(lab.key, "team_name"); /* stored sanitised */
	strcpy(lab.value, "payments");
	c.docker.labels = &lab; /* borrowed: c is never freed as a record */
	c.docker.n_labels = 1;
	assert_true(cstatd_rule_matches(&rs.rules[0], &c));
	strcpy(c.docker.labels[0].value, "search");
	assert_false(cstatd_rule_matches(&rs.rules[0], &c));
	strcpy(c.docker.labels[0].value, "payments");
	snprintf(name, sizeof(name), "api-12");
	assert_false(cstatd_rule_matches(&rs.rules[0], &c));
	cstatd_ruleset_free(&rs);
}

static void test_format_value(void **state)
{
	(void)state;
	struct cstatd_rule r;
	char buf[64];

	memset(&r, 0, sizeof(r));
	r.signal = CSTATD_SIG_MEMORY_WORKING_SET;
	cstatd_rule_format_value(&r, 1.5 * 1073741824.0, buf, sizeof(buf));
	assert_string_equal(buf, "1.5 GiB");
	r.relative_to = CSTATD_LIMIT_MEMORY;
	cstatd_rule_format_value(&r, 0.923, buf, sizeof(buf));
	assert_string_equal(buf, "92.3%");
	r.relative_to = CSTATD_LIMIT_NONE;
	r.signal = CSTATD_SIG_CPU_USAGE;
	cstatd_rule_format_value(&r, 1.25, buf, sizeof(buf));
	assert_string_equal(buf, "1.25 cores");
	r.signal = CSTATD_SIG_RESTARTS;
	cstatd_rule_format_value(&r, 3, buf, sizeof(buf));
	assert_string_equal(buf, "3");
	cstatd_format_number(0.9, buf, sizeof(buf));
	assert_string_equal(buf, "0.9");
	cstatd_format_number(1.0 / 3, buf, sizeof(buf));
	assert_true(strtod(buf, NULL) == 1.0 / 3);
}

/* ------------------------------------------------------------------------ */
/* Export                                                                   */
/* ------------------------------------------------------------------------ */

/* A rule set with every signal and every aggregate it allows, relative to
 * every limit it allows, with hysteresis, selectors and templates. */
static void every_combination(struct cstatd_ruleset *out)
{
	json_t *arr = json_array();
	struct cstatd_cfg_error e;
	int n = 0;

	for (int s = 0; s < CSTATD_SIG_COUNT; s++) {
		const struct cstatd_signal_def *d = &cstatd_signal_defs[s];
		for (int a = 0; a < CSTATD_AGG_COUNT; a++) {
			if (!cstatd_agg_valid((enum cstatd_agg)a, d->kind))
				continue;
			for (int l = 0; l < CSTATD_LIMIT_COUNT; l++) {
				if (l && !(d->limits & CSTATD_LIM_BIT(l)))
					continue;
				json_t *r = json_object();
				char name[64];
				snprintf(name, sizeof(name), "Rule%d", n++);
				json_object_set_new(r, "alert", json_string(name));
				json_object_set_new(r, "signal", json_string(d->name));
				if (d->kind != CSTATD_KIND_STATE)
					json_object_set_new(r, "window", json_string("5m"));
				json_object_set_new(r, "aggregate",
				                    json_string(cstatd_agg_names[a]));
				if (a == CSTATD_AGG_PREDICT)
					json_object_set_new(r, "horizon", json_string("10m"));
				json_object_set_new(r, "op", json_string(n % 2 ? ">" : "<="));
				json_object_set_new(r, "threshold", json_real(0.5));
				json_object_set_new(r, "clear", json_real(n % 2 ? 0.25 : 0.75));
				if (l)
					json_object_set_new(r, "relative_to",
					                    json_string(cstatd_limit_names[l]));
				if (l && cstatd_limit_host_fallback((enum cstatd_limit)l))
					json_object_set_new(r, "when_unlimited",
					                    json_string("host"));
				json_object_set_new(
				    r, "match",
				    json_pack("{s:s, s:s, s:{s:s}}", "name", "web-[0-9]*.x`y",
				              "image", "reg.local/app:*", "labels",
				              "com.docker.compose.project", "sh?p"));
				json_object_set_new(r, "for", json_string("1m30s"));
				json_object_set_new(r, "keep_firing_for", json_string("2m"));
				json_object_set_new(r, "labels",
				                    json_pack("{s:s}", "team", "o\"ps"));
				json_object_set_new(
				    r, "annotations",
				    json_pack("{s:s}", "summary",
				              "{{name}} {{image}} {{id}} at {{value}} (over "
				              "{{threshold}}, {{alert}} {{severity}} {{window}} "
				              "{{signal}}) \"quoted\" \\ back"));
				json_array_append_new(arr, r);
			}
		}
	}
	if (cstatd_rules_parse(arr, "rules", out, &e) != 0)
		fail_msg("%s: %s", e.path, e.msg);
	json_decref(arr);
}

static char *export_text(const struct cstatd_ruleset *rs)
{
	struct cstatd_host h = {.cpus = 8, .memory_bytes = 16e9};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_int_equal(cstatd_rules_export_yaml(rs, &h, f), 0);
	fclose(f);
	return text;
}

static bool is_family(const char *name)
{
	for (int i = 0; i < FAM_COUNT; i++)
		if (strcmp(cstatd_families[i].name, name) == 0)
			return true;
	return false;
}

/* Every metric an exported expression selects must be a cstatd family
 * (or ALERTS, the series Prometheus itself writes for active alerts). */
static void check_families(const char *yaml)
{
	static const char *const words[] = {"avg_over_time", "min_over_time",
	                                    "max_over_time", "predict_linear",
	                                    "rate",          "irate",
	                                    "increase",      "sum",
	                                    "without",       "on",
	                                    "and",           "or",
	                                    "unless",        NULL};
	unsigned checked = 0;

	for (const char *line = strstr(yaml, "expr: "); line; line = strstr(line + 1, "expr: ")) {
		const char *p = line + 6, *end = strchr(p, '\n');
		bool in_label_parens = false;
		while (p < end) {
			if (*p == '{') { /* matchers */
				p = strchr(p, '}') + 1;
				continue;
			}
			if (*p == '[') { /* ranges, subqueries: [5m], [15m:] */
				p = strchr(p, ']') + 1;
				continue;
			}
			if (isdigit((unsigned char)*p)) { /* numbers: 0.9, 1e+09 */
				while (p < end && (isalnum((unsigned char)*p) || *p == '.' ||
				                   ((*p == '+' || *p == '-') && (p[-1] == 'e'))))
					p++;
				continue;
			}
			if (*p == '`') {
				p = strchr(p + 1, '`') + 1;
				continue;
			}
			if (*p == '\\' && p[1] == '"') { /* escaped string in YAML */
				p = strstr(p + 2, "\\\"") + 2;
				continue;
			}
			if (*p == ')')
				in_label_parens = false;
			if (!isalpha((unsigned char)*p) && *p != '_') {
				p++;
				continue;
			}
			const char *s = p;
			while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
				p++;
			char id[128];
			snprintf(id, sizeof(id), "%.*s", (int)(p - s), s);
			if (in_label_parens)
				continue; /* on (id, name, image), without (cpu) */
			bool word = false;
			for (size_t k = 0; words[k]; k++)
				word |= strcmp(id, words[k]) == 0;
			if (word) {
				if (!strcmp(id, "on") || !strcmp(id, "without"))
					in_label_parens = true;
				continue;
			}
			if (strcmp(id, "ALERTS") != 0 && !is_family(id))
				fail_msg("exported expression uses '%s', which is not in "
				         "families.h:\n%.*s",
				         id, (int)(end - line), line);
			checked++;
		}
	}
	assert_true(checked > 0);
}

static void test_export_families_exist(void **state)
{
	(void)state;
	struct cstatd_ruleset rs;
	char *y;

	assert_int_equal(cstatd_rules_defaults(&rs), 0);
	y = export_text(&rs);
	check_families(y);
	free(y);
	cstatd_ruleset_free(&rs);
	every_combination(&rs);
	print_message("%zu rules cover every signal × aggregate × limit\n", rs.n);
	y = export_text(&rs);
	check_families(y);
	free(y);
	cstatd_ruleset_free(&rs);
}

static void test_export_expressions(void **state)
{
	(void)state;
	struct cstatd_ruleset rs;
	struct cstatd_cfg_error e;
	char *y;

	assert_int_equal(
	    parse("[{\"alert\": \"ContainerMemoryNearLimit\", \"signal\": \"memory_working_set\","
	          " \"window\": \"1m\", \"op\": \">\", \"threshold\": 0.9,"
	          " \"relative_to\": \"memory_limit\", \"for\": \"1m\"},"
	          " {\"alert\": \"Crash\", \"signal\": \"restarts\", \"window\": \"15m\","
	          " \"op\": \">=\", \"threshold\": 3, \"match\": {\"image\": \"shop/*\"}},"
	          " {\"alert\": \"Cpu\", \"signal\": \"cpu_usage\", \"window\": \"5m\","
	          " \"op\": \">\", \"threshold\": 0.9, \"clear\": 0.8, \"relative_to\": "
	          "\"cpu_limit\","
	          " \"match\": {\"name\": \"web.*\"}, \"severity\": \"critical\","
	          " \"annotations\": {\"summary\": \"{{name}}: {{value}}\"}}]",
	          &rs, &e),
	    0);
	y = export_text(&rs);
	assert_non_null(
	    strstr(y, "groups:\n  - name: cstatd\n    rules:\n"
	              "      - alert: ContainerMemoryNearLimit\n"
	              "        expr: \"avg_over_time(container_memory_working_set_bytes[1m]) "
	              "/ container_spec_memory_limit_bytes > 0.9\"\n"
	              "        for: 1m\n"
	              "        labels:\n          severity: \"warning\"\n"));
	/* Name-scoped families join the container's image from cstatd_container_info. */
	assert_non_null(strstr(y, "expr: \"(increase(cstatd_container_restarts_total[15m]) >= 3) "
	                          "and on (name) cstatd_container_info{image=~`shop/.*`}\""));
	/* CPU: cpu label dropped, limit = quota/period, hysteresis over ALERTS. */
	assert_non_null(strstr(
	    y,
	    "expr: \"(sum without (cpu) (rate(container_cpu_usage_seconds_total{name=~`web\\\\..*`}"
	    "[5m])) / (container_spec_cpu_quota{name=~`web\\\\..*`} / "
	    "container_spec_cpu_period{name=~`web\\\\..*`}) > 0.9) or (sum without (cpu) "
	    "(rate(container_cpu_usage_seconds_total{name=~`web\\\\..*`}[5m])) / "
	    "(container_spec_cpu_quota{name=~`web\\\\..*`} / "
	    "container_spec_cpu_period{name=~`web\\\\..*`}) > 0.8 and on (id, name, image) "
	    "ALERTS{alertname=\\\"Cpu\\\",alertstate=\\\"firing\\\",severity=\\\"critical\\\"})"
	    "\""));
	assert_non_null(
	    strstr(y, "summary: \"{{ $labels.name }}: {{ $value | humanizePercentage }}\""));
	free(y);
	cstatd_ruleset_free(&rs);
}

/* promtool is a test-time peer (Debian's prometheus package). */
static void promtool_check(const char *yaml)
{
	char path[] = "/tmp/cstatd-rules-XXXXXX.yml";
	char cmd[256], out[8192];
	int fd = mkstemps(path, 4);
	FILE *p;
	size_t n;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check rules %s 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	unlink(path);
	if (status != 0)
		fail_msg("promtool check rules failed:\n%s\n--- file ---\n%s", out, yaml);
	print_message("promtool: %s", strstr(out, "SUCCESS") ? strstr(out, "SUCCESS") : out);
}

static void test_promtool_accepts_export(void **state)
{
	(void)state;
	struct cstatd_ruleset rs;
	char *y;

	if (system("promtool --version >/dev/null 2>&1") != 0)
		skip();
	assert_int_equal(cstatd_rules_defaults(&rs), 0);
	y = export_text(&rs);
	promtool_check(y);
	free(y);
	cstatd_ruleset_free(&rs);
	every_combination(&rs);
	y = export_text(&rs);
	promtool_check(y);
	free(y);
	cstatd_ruleset_free(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_rule_errors),
	    cmocka_unit_test(test_fingerprint),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_globs_and_matching),
	    cmocka_unit_test(test_format_value),
	    cmocka_unit_test(test_export_families_exist),
	    cmocka_unit_test(test_export_expressions),
	    cmocka_unit_test(test_promtool_accepts_export),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
