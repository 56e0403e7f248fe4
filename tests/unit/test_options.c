/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for daemon/options.c: the flag table, the command-line parser
 * and cstatd_parse_listen(). Every error message must name the flag it is
 * about, so the tests assert on substrings of it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cstatd/log.h"
#include "daemon/options.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ARGS 16

/* Parses {"cstatd", args..., NULL} over the defaults. */
static int parse_argv(struct cstatd_options *o, enum cstatd_cli_action *action, char *err,
                      size_t err_len, const char *const *args)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	argv[argc++] = (char *)"cstatd";
	for (; *args; args++) {
		assert_true(argc <= MAX_ARGS);
		argv[argc++] = (char *)*args;
	}
	argv[argc] = NULL;
	cstatd_options_defaults(o);
	err[0] = '\0';
	return cstatd_options_parse(o, argc, argv, action, err, err_len);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Expects success with action RUN. */
static void parse_ok(struct cstatd_options *o, const char *const *args)
{
	char err[512];
	enum cstatd_cli_action action = CSTATD_CLI_HELP;
	int rc = parse_argv(o, &action, err, sizeof(err), args);
	if (rc != 0)
		fail_msg("'%s ...': expected success, got %d: %s", args[0], rc, err);
	assert_int_equal(action, CSTATD_CLI_RUN);
}

/* Expects -EINVAL with a message containing every given substring. */
static void parse_err(const char *const *args, const char *sub1, const char *sub2)
{
	struct cstatd_options o;
	char err[512];
	enum cstatd_cli_action action;
	int rc = parse_argv(&o, &action, err, sizeof(err), args);
	if (rc != -EINVAL)
		fail_msg("'%s%s%s': expected -EINVAL, got %d", args[0], args[1] ? " " : "",
		         args[1] ? args[1] : "", rc);
	if (sub1 && !strstr(err, sub1))
		fail_msg("'%s': message \"%s\" lacks \"%s\"", args[0], err, sub1);
	if (sub2 && !strstr(err, sub2))
		fail_msg("'%s': message \"%s\" lacks \"%s\"", args[0], err, sub2);
	assert_null(strchr(err, '\n')); /* one line */
}

/* ------------------------------------------------------------------------ */
/* Defaults                                                                 */
/* ------------------------------------------------------------------------ */

static void test_defaults(void **state)
{
	(void)state;
	struct cstatd_options o;
	memset(&o, 0x5A, sizeof(o));
	cstatd_options_defaults(&o);
	assert_string_equal(o.listen, ":9338");
	assert_int_equal(o.interval, 1000);
	assert_string_equal(o.cgroup_root, "");
	assert_false(o.no_cgroup_root_check);
	assert_string_equal(o.proc_root, "/proc");
	assert_false(o.all_cgroups);
	assert_int_equal(o.log_level, CSTATD_LOG_INFO);
	assert_false(o.no_docker);
	assert_string_equal(o.docker_host, "");
	assert_int_equal(o.docker_stats, 0); /* auto */
	assert_string_equal(o.docker_label_allowlist,
	                    "com.docker.compose.project,com.docker.compose.service");
	assert_int_equal(o.docker_tombstone, 3600000);

	/* No arguments: defaults unchanged, action RUN. */
	struct cstatd_options p;
	parse_ok(&p, (const char *const[]){NULL});
	assert_memory_equal(&o, &p, sizeof(o));
}

/* ------------------------------------------------------------------------ */
/* Every flag, both spellings                                               */
/* ------------------------------------------------------------------------ */

static void check_all_set(const struct cstatd_options *o)
{
	assert_string_equal(o->listen, "127.0.0.1:9400");
	assert_int_equal(o->interval, 500);
	assert_string_equal(o->cgroup_root, "/tmp/cg");
	assert_true(o->no_cgroup_root_check);
	assert_string_equal(o->proc_root, "/host/proc");
	assert_true(o->all_cgroups);
	assert_int_equal(o->log_level, CSTATD_LOG_DEBUG);
	assert_true(o->no_docker);
	assert_string_equal(o->docker_host, "unix:///run/docker.sock");
	assert_int_equal(o->docker_stats, 1); /* always */
	assert_string_equal(o->docker_label_allowlist, "app,team.*");
	assert_int_equal(o->docker_tombstone, 90000);
}

static void test_every_flag_equals(void **state)
{
	(void)state;
	struct cstatd_options o;
	parse_ok(&o, ARGS("--listen=127.0.0.1:9400", "--interval=500ms", "--cgroup-root=/tmp/cg",
	                  "--no-cgroup-root-check", "--proc-root=/host/proc", "--all-cgroups",
	                  "--log-level=debug", "--no-docker",
	                  "--docker-host=unix:///run/docker.sock", "--docker-stats=always",
	                  "--docker-label-allowlist=app,team.*", "--docker-tombstone=1m30s"));
	check_all_set(&o);
}

static void test_every_flag_separate(void **state)
{
	(void)state;
	struct cstatd_options o;
	parse_ok(&o, ARGS("--listen", "127.0.0.1:9400", "--interval", "500ms", "--cgroup-root",
	                  "/tmp/cg", "--no-cgroup-root-check", "--proc-root", "/host/proc",
	                  "--all-cgroups", "--log-level", "debug", "--no-docker"));
	/* The table has more flags than MAX_ARGS allows in one call. */
	char err[512];
	enum cstatd_cli_action action;
	char *argv2[] = {(char *)"cstatd",
	                 (char *)"--docker-host",
	                 (char *)"unix:///run/docker.sock",
	                 (char *)"--docker-stats",
	                 (char *)"always",
	                 (char *)"--docker-label-allowlist",
	                 (char *)"app,team.*",
	                 (char *)"--docker-tombstone",
	                 (char *)"1m30s",
	                 NULL};
	assert_int_equal(cstatd_options_parse(&o, 9, argv2, &action, err, sizeof(err)), 0);
	assert_int_equal(action, CSTATD_CLI_RUN);
	check_all_set(&o);
}

static void test_values(void **state)
{
	(void)state;
	struct cstatd_options o;

	static const struct {
		const char *arg;
		int level;
	} levels[] = {{"--log-level=debug", CSTATD_LOG_DEBUG},
	              {"--log-level=info", CSTATD_LOG_INFO},
	              {"--log-level=warn", CSTATD_LOG_WARN},
	              {"--log-level=error", CSTATD_LOG_ERROR}};
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		parse_ok(&o, ARGS(levels[i].arg));
		assert_int_equal(o.log_level, levels[i].level);
	}

	static const struct {
		const char *arg;
		int mode;
	} modes[] = {
	    {"--docker-stats=auto", 0}, {"--docker-stats=always", 1}, {"--docker-stats=never", 2}};
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		parse_ok(&o, ARGS(modes[i].arg));
		assert_int_equal(o.docker_stats, modes[i].mode);
	}

	static const struct {
		const char *arg;
		uint64_t ms;
	} intervals[] = {{"--interval=100ms", 100},
	                 {"--interval=1s", 1000},
	                 {"--interval=10s", 10000},
	                 {"--interval=1m", 60000},
	                 {"--interval=1h", 3600000}};
	for (size_t i = 0; i < ARRAY_SIZE(intervals); i++) {
		parse_ok(&o, ARGS(intervals[i].arg));
		assert_int_equal(o.interval, intervals[i].ms);
	}

	/* Listen forms. */
	static const char *const listens[] = {":9338",   "127.0.0.1:1",     "[::1]:9338",
	                                      "[::]:80", "localhost:65535", "0.0.0.0:9338"};
	for (size_t i = 0; i < ARRAY_SIZE(listens); i++) {
		char arg[64];
		snprintf(arg, sizeof(arg), "--listen=%s", listens[i]);
		parse_ok(&o, ARGS(arg));
		assert_string_equal(o.listen, listens[i]);
	}

	/* The last occurrence wins; a value may contain '='. */
	parse_ok(&o, ARGS("--interval=2s", "--interval", "3s", "--docker-host=tcp://h:2375/?a=b"));
	assert_int_equal(o.interval, 3000);
	assert_string_equal(o.docker_host, "tcp://h:2375/?a=b");

	/* An empty string is a valid value for free-text options. */
	parse_ok(&o, ARGS("--docker-label-allowlist="));
	assert_string_equal(o.docker_label_allowlist, "");
	parse_ok(&o, ARGS("--docker-host", ""));
	assert_string_equal(o.docker_host, "");

	/* A value that looks like a flag is taken as the value. */
	parse_ok(&o, ARGS("--cgroup-root", "--weird-dir"));
	assert_string_equal(o.cgroup_root, "--weird-dir");

	/* The tombstone has no minimum beyond "not zero". */
	parse_ok(&o, ARGS("--docker-tombstone=1ms"));
	assert_int_equal(o.docker_tombstone, 1);
}

static void test_actions(void **state)
{
	(void)state;
	static const struct {
		const char *arg;
		enum cstatd_cli_action action;
	} cases[] = {{"--help", CSTATD_CLI_HELP},
	             {"-h", CSTATD_CLI_HELP},
	             {"--version", CSTATD_CLI_VERSION},
	             {"--print-metrics-table", CSTATD_CLI_METRICS_DOC}};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cstatd_options o;
		char err[256];
		enum cstatd_cli_action action = CSTATD_CLI_RUN;
		assert_int_equal(
		    parse_argv(&o, &action, err, sizeof(err), ARGS("--interval=2s", cases[i].arg)),
		    0);
		assert_int_equal(action, cases[i].action);
	}
}

static void test_usage(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	cstatd_options_usage(f);
	fclose(f);
	static const char *const flags[] = {
	    "--listen ADDR:PORT",
	    "--interval DURATION",
	    "--cgroup-root PATH",
	    "--no-cgroup-root-check",
	    "--proc-root PATH",
	    "--all-cgroups",
	    "--log-level LEVEL",
	    "--no-docker",
	    "--docker-host URL",
	    "--docker-stats MODE",
	    "--docker-label-allowlist GLOBS",
	    "--docker-tombstone DURATION",
	    "--help",
	    "--version",
	    "[default: :9338]",
	    "[default: 1s]",
	    "[default: /proc]",
	};
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (!strstr(text, flags[i]))
			fail_msg("--help output lacks \"%s\":\n%s", flags[i], text);
	free(text);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

static void test_errors_generic(void **state)
{
	(void)state;
	parse_err(ARGS("--bogus"), "--bogus", "unknown flag");
	parse_err(ARGS("--bogus=1"), "--bogus", "unknown flag");
	parse_err(ARGS("--listenx=:1"), "--listenx", "unknown flag");
	parse_err(ARGS("--liste=:1"), "--liste", "unknown flag"); /* no prefix matching */
	parse_err(ARGS("--"), "--", "unknown flag");
	parse_err(ARGS("-v"), "-v", "unexpected argument");
	parse_err(ARGS("positional"), "positional", "unexpected argument");

	/* Missing values: the message names the flag and its metavar. */
	parse_err(ARGS("--interval"), "--interval", "missing value");
	parse_err(ARGS("--listen"), "--listen", "ADDR:PORT");
	parse_err(ARGS("--log-level"), "--log-level", "missing value");
	parse_err(ARGS("--docker-stats"), "--docker-stats", "missing value");
	parse_err(ARGS("--no-docker", "--docker-host"), "--docker-host", "missing value");

	/* Switches take no value. */
	parse_err(ARGS("--no-docker=true"), "--no-docker", "takes no value");
	parse_err(ARGS("--all-cgroups="), "--all-cgroups", "takes no value");
	parse_err(ARGS("--no-cgroup-root-check=1"), "--no-cgroup-root-check", "takes no value");
}

static void test_errors_durations(void **state)
{
	(void)state;
	parse_err(ARGS("--interval=abc"), "--interval", "'abc' is not a duration");
	parse_err(ARGS("--interval", "abc"), "--interval", "not a duration");
	parse_err(ARGS("--interval=1x"), "--interval", "'1x'");
	parse_err(ARGS("--interval=1"), "--interval", "not a duration");
	parse_err(ARGS("--interval="), "--interval", "not a duration");
	parse_err(ARGS("--interval=99999999999999999999999s"), "--interval", "not a duration");
	parse_err(ARGS("--interval=5124095576031h"), "--interval", "not a duration");
	parse_err(ARGS("--interval=0s"), "--interval", "too short");
	parse_err(ARGS("--interval=0s"), "at least 100ms", NULL);
	parse_err(ARGS("--interval=50ms"), "--interval", "at least 100ms");
	parse_err(ARGS("--interval=99ms"), "--interval", "too short");
	parse_err(ARGS("--docker-tombstone=0s"), "--docker-tombstone", "too short");
	parse_err(ARGS("--docker-tombstone=soon"), "--docker-tombstone", "not a duration");
}

static void test_errors_listen(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "nonsense",   ":0", ":70000", ":65536", "::1", "::1:9338", "[::1]",     "127.0.0.1",
	    "127.0.0.1:", ":",  ":abc",   ":93a8",  ":-1", "",         "[::1]9338", "fe80::1:80",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char arg[64];
		snprintf(arg, sizeof(arg), "--listen=%s", bad[i]);
		parse_err(ARGS(arg), "--listen", "is not ADDR:PORT");
	}
	parse_err(ARGS("--listen", "nonsense"), "--listen", "'nonsense'");

	/* Longer than the field: rejected, not truncated. */
	char arg[400];
	memset(arg, 'a', sizeof(arg));
	memcpy(arg, "--listen=", 9);
	memcpy(arg + sizeof(arg) - 6, ":9338", 6);
	parse_err(ARGS(arg), "--listen", NULL);
}

static void test_errors_enums(void **state)
{
	(void)state;
	parse_err(ARGS("--log-level=verbose"), "--log-level", "'verbose'");
	parse_err(ARGS("--log-level=verbose"), "debug, info, warn, error", NULL);
	parse_err(ARGS("--log-level=INFO"), "--log-level", NULL);
	parse_err(ARGS("--log-level="), "--log-level", NULL);
	parse_err(ARGS("--log-level=warning"), "--log-level", NULL);
	parse_err(ARGS("--docker-stats=sometimes"), "--docker-stats", "'sometimes'");
	parse_err(ARGS("--docker-stats=sometimes"), "auto, always, never", NULL);
	parse_err(ARGS("--docker-stats=Auto"), "--docker-stats", NULL);
	parse_err(ARGS("--docker-stats="), "--docker-stats", NULL);
}

static void test_uint_options(void **state)
{
	(void)state;
	struct cstatd_options o;
	parse_ok(&o, ARGS("--max-containers=7", "--web.max-connections", "1000",
	                  "--max-label-length=16", "--web.max-header-bytes=1024",
	                  "--web.max-url-length=18446744073709551615", "--web.timeout=2s"));
	assert_int_equal(o.max_containers, 7);
	assert_int_equal(o.web_max_connections, 1000);
	assert_int_equal(o.max_label_length, 16);
	assert_int_equal(o.web_max_header_bytes, 1024);
	assert_true(o.web_max_url_length == UINT64_MAX);
	assert_int_equal(o.web_timeout, 2000);
	parse_ok(&o, ARGS("--log-level=info"));
	assert_int_equal(o.max_containers, 5000);
	assert_int_equal(o.web_max_connections, 64);
	parse_err(ARGS("--max-containers=0"), "--max-containers", "at least 1");
	parse_err(ARGS("--max-containers=-1"), "--max-containers", "not a whole number");
	parse_err(ARGS("--max-containers= 5"), "--max-containers", "not a whole number");
	parse_err(ARGS("--max-containers="), "--max-containers", "not a whole number");
	parse_err(ARGS("--max-containers=5k"), "--max-containers", "not a whole number");
	parse_err(ARGS("--web.max-url-length=18446744073709551616"), "--web.max-url-length",
	          "not a whole number");
	parse_err(ARGS("--web.max-header-bytes=100"), "--web.max-header-bytes", "at least 1024");
	parse_err(ARGS("--web.timeout=500ms"), "--web.timeout", "at least 1s");
}

static void test_errors_too_long(void **state)
{
	(void)state;
	struct cstatd_options o;
	char *arg = malloc(5000);
	assert_non_null(arg);
	int n = snprintf(arg, 5000, "--cgroup-root=");
	memset(arg + n, 'p', 4095);
	arg[n + 4095] = '\0';
	parse_ok(&o, ARGS(arg)); /* 4095 bytes fit the 4096-byte field */
	assert_int_equal(strlen(o.cgroup_root), 4095);
	arg[n + 4095] = 'p';
	arg[n + 4096] = '\0';
	parse_err(ARGS(arg), "--cgroup-root", "too long");
	free(arg);

	char host[1100];
	n = snprintf(host, sizeof(host), "--docker-host=");
	memset(host + n, 'h', sizeof(host) - (size_t)n - 1);
	host[sizeof(host) - 1] = '\0';
	parse_err(ARGS(host), "--docker-host", "too long");
}

/* A failed parse stops at the bad flag; the small error buffer is respected. */
static void test_error_buffer(void **state)
{
	(void)state;
	struct cstatd_options o;
	char err[12];
	enum cstatd_cli_action action;
	memset(err, 'x', sizeof(err));
	cstatd_options_defaults(&o);
	char *argv[] = {(char *)"cstatd", (char *)"--interval=abcdefghijklmnop", NULL};
	assert_int_equal(cstatd_options_parse(&o, 2, argv, &action, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(o.interval, 1000); /* untouched */
}

/* ------------------------------------------------------------------------ */
/* cstatd_parse_listen                                                      */
/* ------------------------------------------------------------------------ */

static void test_parse_listen(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *host;
		uint16_t port;
	} good[] = {
	    {"[::1]:9338", "::1", 9338},
	    {":9338", "", 9338},
	    {"127.0.0.1:1", "127.0.0.1", 1},
	    {"0.0.0.0:65535", "0.0.0.0", 65535},
	    {"localhost:80", "localhost", 80},
	    {"[::]:9338", "::", 9338},
	    {"[fe80::1%eth0]:9338", "fe80::1%eth0", 9338},
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		char host[64];
		uint16_t port = 0;
		int rc = cstatd_parse_listen(good[i].in, host, sizeof(host), &port);
		if (rc != 0)
			fail_msg("'%s': expected success, got %d", good[i].in, rc);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}

	static const char *const bad[] = {
	    "nonsense",
	    ":0",
	    ":70000",
	    ":65536",
	    "::1",
	    "::1:9338",
	    "fe80::1:80",
	    "[::1]",
	    "127.0.0.1",
	    "127.0.0.1:",
	    ":",
	    ":abc",
	    ":80x",
	    "",
	    ":-1",
	    "[::1]9338",
	    ":99999999999999999999999",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char host[64];
		memset(host, 'Z', sizeof(host));
		uint16_t port = 4242;
		int rc = cstatd_parse_listen(bad[i], host, sizeof(host), &port);
		if (rc != -EINVAL)
			fail_msg("'%s': expected -EINVAL, got %d (host '%.*s', port %u)", bad[i],
			         rc, (int)sizeof(host) - 1, host, port);
		assert_int_equal(port, 4242); /* untouched on failure */
		assert_int_equal(host[0], 'Z');
	}

	/* The host must fit the caller's buffer. */
	char small[4];
	uint16_t port = 0;
	assert_int_equal(cstatd_parse_listen("abc:1", small, sizeof(small), &port), 0);
	assert_string_equal(small, "abc");
	assert_int_equal(cstatd_parse_listen("abcd:1", small, sizeof(small), &port), -EINVAL);
}

/*
 * Regression test: the port is digits only. cstatd_parse_listen() reads it
 * with strtoul(), which skips leading whitespace, takes a sign and negates
 * "-N" modulo 2^64, so ":-18446744073709551615" is accepted as port 1 and
 * ": 80" / ":+80" as port 80.
 */
static void test_parse_listen_port_digits_only(void **state)
{
	(void)state;
	static const char *const bad[] = {": 80", ":+80", ":-18446744073709551615", ":\t80",
	                                  "127.0.0.1:+1"};
	char report[512] = "";
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char host[64];
		uint16_t port = 0;
		if (cstatd_parse_listen(bad[i], host, sizeof(host), &port) == 0) {
			size_t r = strlen(report);
			snprintf(report + r, sizeof(report) - r, "\n  '%s' accepted as port %u",
			         bad[i], port);
		}
	}
	if (report[0])
		fail_msg("ports that are not plain digits were accepted:%s", report);
}

/* Under -fsanitize=undefined, a UB report fails the run instead of only
 * being printed (the runtime's default is to carry on). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_flag_equals),
	    cmocka_unit_test(test_every_flag_separate),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_actions),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_errors_generic),
	    cmocka_unit_test(test_errors_durations),
	    cmocka_unit_test(test_errors_listen),
	    cmocka_unit_test(test_errors_enums),
	    cmocka_unit_test(test_uint_options),
	    cmocka_unit_test(test_errors_too_long),
	    cmocka_unit_test(test_error_buffer),
	    cmocka_unit_test(test_parse_listen),
	    cmocka_unit_test(test_parse_listen_port_digits_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
