/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for daemon/config.c: the broken files of
 * tests/fixtures/config/bad-*.json each give the documented message (file,
 * line, column, key path, text), the good ones load, flags override the
 * file, and a failed load leaves the running configuration alone. Also
 * checks that docs/configuration.md's table is what
 * cstatd_config_print_markdown() generates.
 */
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

#include "daemon/config.h"

#define DIR CSTATD_FIXTURES "/config/"
#define DOCS CSTATD_FIXTURES "/../../docs/configuration.md"

/* Each broken file and the message it must give ("FILE" stands for the
 * path; line and column are where the offending key or value starts). */
static const struct {
	const char *file;
	const char *want;
} broken[] = {
    {"bad-json.json", "FILE:4:1: invalid JSON: string or '}' expected near '}'"},
    {"bad-duplicate-key.json", "FILE:3:12: invalid JSON: duplicate object key near '\"interval\"'"},
    {"bad-top-level.json", "FILE:1:1: expected a JSON object at the top, got an array"},
    {"bad-unknown-key.json", "FILE:3:3: intervall: unknown key (did you mean \"interval\"?)"},
    {"bad-unknown-rule-key.json",
     "FILE:3:65: rules[0].treshold: unknown key (did you mean \"threshold\"?)"},
    {"bad-wrong-type.json", "FILE:4:19: rules[0].threshold: expected a number, got a string"},
    {"bad-flag-type.json", "FILE:2:16: no-docker: expected true or false, got a string"},
    {"bad-duration.json", "FILE:4:13: rules[0].for: \"5 minutes\" is not a duration"},
    {"bad-option-duration.json", "FILE:2:15: interval: 'fast' is not a duration"},
    {"bad-windows.json", "FILE:2:21: windows[1]: \"5mins\" is not a duration"},
    {"bad-listen.json", "FILE:2:13: listen: '9338' is not ADDR:PORT"},
    {"bad-op.json", "FILE:3:60: rules[0].op: \"=>\" is not one of >, >=, <, <=, ==, !="},
    {"bad-signal.json",
     "FILE:3:30: rules[0].signal: \"memory_rss\" is not a signal (one of cpu_usage, "},
    {"bad-relative-to.json", "FILE:4:21: rules[0].relative_to: memory_limit does not apply to "
                             "signal pids (it can be relative to pids_limit)"},
    {"bad-glob.json",
     "FILE:4:24: rules[0].match.name: \"web-[12\" is not a valid glob: unterminated ["},
    {"bad-aggregate.json", "FILE:3:75: rules[0].aggregate: increase is not defined for gauge "
                           "signal memory_usage (use avg, min, max, last, predict)"},
    {"bad-clear.json",
     "FILE:4:46: rules[0].clear: 0.95 must not be above the threshold 0.9 for op >"},
    {"bad-missing-alert.json", "FILE:3:5: rules[0]: missing \"alert\""},
    {"bad-predict-horizon.json", "FILE:3:5: rules[0]: missing \"horizon\""},
    {"bad-template.json", "FILE:4:33: rules[0].annotations.summary: unknown template variable "
                          "{{container}}"},
    {"bad-when-unlimited.json", "FILE:4:53: rules[0].when_unlimited: \"host\" needs "
                                "\"relative_to\": cpu_limit or memory_limit"},
    {"bad-reserved-label.json", "FILE:4:29: rules[0].labels.severity: reserved label"},
    {"bad-alertmanager-url.json", "FILE:2:27: alertmanager.url: \"alertmanager:9093\" is not "
                                  "an http:// or https:// URL"},
    {"bad-window-too-short.json",
     "FILE:4:48: rules[0].window: 15s is shorter than two sweeps (interval 10s)"},
};

static void test_broken_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		char path[512], want[1024], err[1024];
		struct cstatd_config cfg;
		const char *tail = strstr(broken[i].want, "FILE") + 4;

		snprintf(path, sizeof(path), DIR "%s", broken[i].file);
		snprintf(want, sizeof(want), "%s%s", path, tail);
		err[0] = '\0';
		int rc = cstatd_config_load(path, 0, NULL, &cfg, err, sizeof(err));
		if (rc != -EINVAL || strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s: rc %d\n  got:  %s\n  want: %s...", broken[i].file, rc, err,
			         want);
	}
	print_message("%zu broken files give their documented message\n",
	              sizeof(broken) / sizeof(broken[0]));
}

static void test_missing_file(void **state)
{
	(void)state;
	struct cstatd_config cfg;
	char err[512];
	assert_int_equal(cstatd_config_load(DIR "nope.json", 0, NULL, &cfg, err, sizeof(err)),
	                 -EIO);
	assert_non_null(strstr(err, "nope.json: cannot open: No such file or directory"));
}

static void test_example_from_issue(void **state)
{
	(void)state;
	struct cstatd_config cfg;
	char err[512] = "";

	assert_int_equal(
	    cstatd_config_load(DIR "good-example.json", 0, NULL, &cfg, err, sizeof(err)), 0);
	assert_true(cfg.rules_from_file);
	assert_int_equal(cfg.rules.n, 1);
	const struct cstatd_rule *r = &cfg.rules.rules[0];
	assert_string_equal(r->alert, "ContainerMemoryNearLimit");
	assert_int_equal(r->signal, CSTATD_SIG_MEMORY_WORKING_SET);
	assert_int_equal(r->window_ms, 60000);
	assert_int_equal(r->agg, CSTATD_AGG_AVG);
	assert_int_equal(r->op, CSTATD_OP_GT);
	assert_true(r->threshold == 0.9);
	assert_int_equal(r->relative_to, CSTATD_LIMIT_MEMORY);
	assert_int_equal(r->for_ms, 60000);
	assert_true(r->has_clear && r->clear == 0.85);
	assert_string_equal(r->severity, "warning");
	assert_int_equal(r->n_match_labels, 1);
	assert_string_equal(r->match_labels[0].key, "com.docker.compose.project");
	assert_string_equal(r->match_labels[0].value, "shop");
	assert_string_equal(r->labels[0].key, "team");
	assert_int_equal(r->n_annotations, 1);
	/* Default windows; the rule's 1m is among them. */
	assert_int_equal(cfg.layout.n, 3);
	assert_int_equal(cfg.alertmanager.n_urls, 0);
	cstatd_config_free(&cfg);
}

static void test_full_and_flags_override(void **state)
{
	(void)state;
	struct cstatd_config cfg;
	char err[512] = "";
	char *argv[] = {"cstatd", "--interval", "1s", "--listen=:9555", NULL};

	assert_int_equal(cstatd_config_load(DIR "good-full.json", 0, NULL, &cfg, err, sizeof(err)),
	                 0);
	assert_string_equal(cfg.options.listen, "127.0.0.1:9400");
	assert_int_equal(cfg.options.interval, 2000);
	assert_true(cfg.options.no_docker);
	assert_int_equal(cfg.options.log_level, 0);
	assert_string_equal(cfg.options.docker_label_allowlist, "com.docker.compose.*,team");
	assert_int_equal(cfg.alertmanager.n_urls, 2);
	assert_string_equal(cfg.alertmanager.urls[0], "http://am-0:9093");
	assert_string_equal(cfg.alertmanager.urls[1], "https://am-1.example:9093");
	assert_int_equal(cfg.alertmanager.resend_ms, 30000);
	assert_int_equal(cfg.alertmanager.timeout_ms, 5000);
	assert_int_equal(cfg.rules.n, 3);
	assert_true(cfg.rules.rules[0].unlimited_host);
	assert_int_equal(cfg.rules.rules[1].horizon_ms, 1800000);
	/* windows 30s, 5m, 1h + the rules' 15m and 1m */
	assert_int_equal(cfg.layout.n, 5);
	assert_int_equal(cfg.layout.window_ms[0], 30000);
	assert_int_equal(cfg.layout.window_ms[4], 3600000);
	assert_int_equal(cfg.layout.interval_ms, 2000);

	/* Flags win over the file. */
	struct cstatd_config over;
	assert_int_equal(cstatd_config_load(DIR "good-full.json", 4, argv, &over, err, sizeof(err)),
	                 0);
	assert_int_equal(over.options.interval, 1000);
	assert_string_equal(over.options.listen, ":9555");
	assert_true(over.options.no_docker);
	assert_int_equal(over.layout.interval_ms, 1000);

	/* Which changes a reload cannot apply. */
	char which[256];
	assert_int_equal(cstatd_config_restart_needed(&cfg, &over, which, sizeof(which)), 2);
	assert_string_equal(which, "listen, interval");
	assert_int_equal(cstatd_config_restart_needed(&cfg, &cfg, which, sizeof(which)), 0);
	cstatd_config_free(&over);
	cstatd_config_free(&cfg);
}

static void test_defaults(void **state)
{
	(void)state;
	struct cstatd_config cfg;
	char err[512] = "";

	/* No file at all: defaults and the default rules. */
	assert_int_equal(cstatd_config_load(NULL, 0, NULL, &cfg, err, sizeof(err)), 0);
	assert_false(cfg.rules_from_file);
	assert_int_equal(cfg.rules.n, 9);
	assert_string_equal(cfg.options.listen, ":9338");
	cstatd_config_free(&cfg);
	/* A file without "rules": the default rules too. */
	assert_int_equal(
	    cstatd_config_load(DIR "good-options-only.json", 0, NULL, &cfg, err, sizeof(err)), 0);
	assert_false(cfg.rules_from_file);
	assert_int_equal(cfg.rules.n, 9);
	assert_int_equal(cfg.options.interval, 500);
	assert_string_equal(cfg.options.docker_host, "unix:///run/docker.sock");
	cstatd_config_free(&cfg);
	/* "rules": [] turns alerting off. */
	assert_int_equal(
	    cstatd_config_load(DIR "good-no-rules.json", 0, NULL, &cfg, err, sizeof(err)), 0);
	assert_true(cfg.rules_from_file);
	assert_int_equal(cfg.rules.n, 0);
	cstatd_config_free(&cfg);
}

static void test_failed_reload_leaves_running(void **state)
{
	(void)state;
	struct cstatd_config running, copy;
	char err[512] = "";
	char *bad_flag[] = {"cstatd", "--interval", "soon", NULL};

	assert_int_equal(
	    cstatd_config_load(DIR "good-example.json", 0, NULL, &running, err, sizeof(err)), 0);
	memcpy(&copy, &running, sizeof(copy));
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), DIR "%s", broken[i].file);
		assert_int_equal(cstatd_config_load(path, 0, NULL, &running, err, sizeof(err)),
		                 -EINVAL);
		assert_memory_equal(&copy, &running, sizeof(copy));
	}
	/* A bad flag is also caught on reload (flags re-apply over the file). */
	assert_int_equal(
	    cstatd_config_load(DIR "good-example.json", 3, bad_flag, &running, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "--interval: 'soon' is not a duration"));
	assert_memory_equal(&copy, &running, sizeof(copy));
	cstatd_config_free(&running);
}

static void test_positions_with_escapes_and_utf8(void **state)
{
	(void)state;
	/* A key with an escape and a value after a multi-byte character:
	 * positions still point at the right place. */
	const char *text =
	    "{\"rules\": [{\"alert\": \"A\", \"signal\": \"pids\", \"window\": \"1m\",\n"
	    " \"op\": \">\", \"threshold\": 1, \"annotations\": {\"s\\u00e9\": \"é\"},"
	    " \"for\": \"x\"}]}\n";
	char path[] = "/tmp/cstatd-test-config-XXXXXX";
	int fd = mkstemp(path);
	struct cstatd_config cfg;
	char err[512] = "";

	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	assert_int_equal(cstatd_config_load(path, 0, NULL, &cfg, err, sizeof(err)), -EINVAL);
	unlink(path);
	/* line 2: ` "op": ">", "threshold": 1, "annotations": {"s\u00e9": "é"}, "for": "x"` */
	char want[256];
	snprintf(want, sizeof(want), "%s:2:69: rules[0].for: \"x\" is not a duration", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got %s\nwant %s", err, want);
}

/*
 * Found by fuzz_config: JSON nested deeper than the position scanner's limit
 * (64) made scan_value return without consuming the value, and the array
 * around it called it again on the same '[' forever, growing the position
 * table until memory ran out. Now the deep value is stepped over, and a key
 * after it still gets its right line and column.
 */
static void test_fuzz_deep_nesting(void **state)
{
	(void)state;
	char path[] = "/tmp/cstatd-test-config-XXXXXX";
	int fd = mkstemp(path);
	struct cstatd_config cfg;
	char err[512] = "", want[256];
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	/* "rules" is validated after every other key, so "interval", after
	 * the deep part, is the one reported. Brackets inside a string must
	 * not count. */
	fputs("{\"rules\": ", f);
	for (int i = 0; i < 100; i++)
		fputs(i == 80 ? "[\"]]\\\"[\", {\"a\": " : "[", f);
	for (int i = 0; i < 100; i++)
		fputs(i == 19 ? "}]" : "]", f);
	fputs(",\n \"interval\": \"soon\"}\n", f);
	fclose(f);
	assert_int_equal(cstatd_config_load(path, 0, NULL, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:14: interval: ", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got %s\nwant %s...", err, want);

	/* The crashing input itself: 70 nested arrays at the top. */
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 140; i++)
		fputc(i < 70 ? '[' : ']', f);
	fclose(f);
	assert_int_equal(cstatd_config_load(path, 0, NULL, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "expected a JSON object at the top"));
	unlink(path);
}

/* docs/configuration.md must hold exactly the generated table. */
static void test_docs_table(void **state)
{
	(void)state;
	char *gen = NULL, *doc;
	size_t gen_len = 0;
	FILE *f = open_memstream(&gen, &gen_len);
	const char *begin = "<!-- BEGIN CONFIG TABLE -->\n", *end = "<!-- END CONFIG TABLE -->";

	cstatd_config_print_markdown(f);
	fclose(f);
	f = fopen(DOCS, "r");
	if (!f)
		fail_msg("cannot open %s", DOCS);
	doc = calloc(1, 1 << 20);
	size_t n = fread(doc, 1, (1 << 20) - 1, f);
	fclose(f);
	doc[n] = '\0';
	char *b = strstr(doc, begin), *e = strstr(doc, end);
	if (!b || !e)
		fail_msg("docs/configuration.md lacks the BEGIN/END CONFIG TABLE markers");
	b += strlen(begin);
	*e = '\0';
	if (strcmp(b, gen) != 0)
		fail_msg("docs/configuration.md's table is out of date; it should read:\n%s", gen);
	free(doc);
	free(gen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_broken_files),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_example_from_issue),
	    cmocka_unit_test(test_full_and_flags_override),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_failed_reload_leaves_running),
	    cmocka_unit_test(test_positions_with_escapes_and_utf8),
	    cmocka_unit_test(test_fuzz_deep_nesting),
	    cmocka_unit_test(test_docs_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
