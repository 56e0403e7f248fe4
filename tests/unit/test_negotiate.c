/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for exporters/http/negotiate.c: which exposition format and
 * which content coding /metrics answers with, from the raw Accept and
 * Accept-Encoding header values real scrapers send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exporters/http/negotiate.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Prometheus 2.x default scrape_protocols (OpenMetrics preferred). */
#define PROM2_ACCEPT                                                                             \
	"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;" \
	"q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
/* Prometheus 3.x default scrape_protocols. */
#define PROM3_ACCEPT                                                                          \
	"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"              \
	"application/openmetrics-text;version=0.0.1;q=0.4,"                                   \
	"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2," \
	"*/*;q=0.1"
/* Prometheus 3.x with native histograms: protobuf first (which cstatd lacks). */
#define PROM3_PROTO_ACCEPT                                                         \
	"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;" \
	"encoding=delimited;q=0.6," PROM3_ACCEPT

struct accept_case {
	const char *accept;
	bool om;
};

static void check_accept(const struct accept_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool got = http_wants_openmetrics(cases[i].accept);
		if (got != cases[i].om)
			fail_msg("Accept \"%s\": got %s, want %s",
			         cases[i].accept ? cases[i].accept : "(null)",
			         got ? "OpenMetrics" : "text",
			         cases[i].om ? "OpenMetrics" : "text");
	}
}

static void test_accept_scrapers(void **state)
{
	(void)state;
	static const struct accept_case cases[] = {
	    {PROM2_ACCEPT, true},
	    {PROM3_ACCEPT, true},
	    {PROM3_PROTO_ACCEPT, true},
	    /* Prometheus with scrape_protocols: [PrometheusText0.0.4]. */
	    {"text/plain;version=0.0.4", false},
	    /* Prometheus 3 with PrometheusText1.0.0 only: not supported → text. */
	    {"text/plain;version=1.0.0;escaping=allow-utf-8", false},
	    /* curl, wget, browsers. */
	    {"*/*", false},
	    {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false},
	    {NULL, false},
	    {"", false},
	    {"text/plain", false},
	    {"text/plain; charset=utf-8", false},
	    /* Victoria/grafana-agent style. */
	    {"application/openmetrics-text", true},
	    {"application/openmetrics-text; version=1.0.0; charset=utf-8", true},
	    {"application/openmetrics-text;version=0.0.1", true},
	};
	check_accept(cases, ARRAY_SIZE(cases));
}

static void test_accept_qvalues(void **state)
{
	(void)state;
	static const struct accept_case cases[] = {
	    /* q=0 means "not acceptable". */
	    {"application/openmetrics-text;q=0", false},
	    {"application/openmetrics-text;version=1.0.0;q=0,text/plain;version=0.0.4", false},
	    {"application/openmetrics-text;version=1.0.0;q=0.0,*/*;q=0.1", false},
	    {"application/openmetrics-text;q=0.000", false},
	    /* Order in the header does not matter; q does. */
	    {"text/plain;version=0.0.4;q=0.5,application/openmetrics-text;version=1.0.0", true},
	    {"text/plain;version=0.0.4,application/openmetrics-text;version=1.0.0;q=0.5", false},
	    {"*/*;q=0.9,application/openmetrics-text;q=0.8", false},
	    {"*/*;q=0.8,application/openmetrics-text;q=0.9", true},
	    /* A tie goes to text (OpenMetrics only when strictly preferred). */
	    {"application/openmetrics-text,text/plain", false},
	    {"application/openmetrics-text;q=0.5,*/*;q=0.5", false},
	    /* Unsupported OpenMetrics versions do not count. */
	    {"application/openmetrics-text;version=2.0.0", false},
	    {"application/openmetrics-text;version=2.0.0,text/plain;q=0.1", false},
	    /* Unsupported text versions do not count against OpenMetrics. */
	    {"text/plain;version=1.0.0,application/openmetrics-text;q=0.9", true},
	    /* Case-insensitive type and parameter names; spaces around ';'. */
	    {"Application/OpenMetrics-Text; Version=1.0.0 ; Q=0.9, text/plain ;q=0.2", true},
	    {"APPLICATION/OPENMETRICS-TEXT", true},
	    /* Out-of-range or malformed q. */
	    {"application/openmetrics-text;q=2", false},
	    {"application/openmetrics-text;q=-1", false},
	    {"application/openmetrics-text;q=", false},
	    {"application/openmetrics-text;q=abc", false},
	    {"application/openmetrics-text;q=1.0", true},
	    {"application/openmetrics-text;q=0.001", true},
	    /* Similar-looking types are not OpenMetrics. */
	    {"application/openmetrics-textual", false},
	    {"application/openmetrics", false},
	    {"text/plainer;q=1,application/openmetrics-text;q=0.1", true},
	};
	check_accept(cases, ARRAY_SIZE(cases));
}

static void test_accept_garbage(void **state)
{
	(void)state;
	/* None of these may crash or read out of bounds (ASan); all → text. */
	static const char *const garbage[] = {
	    ",",
	    ",,,,",
	    ";",
	    ";;;;",
	    " ",
	    "\t",
	    "=",
	    "q=1",
	    ";q=1",
	    ";q",
	    "a;",
	    "a;q",
	    "a;q=",
	    "text/plain;",
	    "text/plain;;;",
	    "application/openmetrics-text;version=;q=0",
	    "application/openmetrics-text;version=1.0.0;q=",
	    "application/openmetrics-text;q=0;",
	    "application/openmetrics-text;q=nan",
	    "application/openmetrics-text;q=inf",
	    "application/openmetrics-text;q=-0.5",
	    "*/*;q=1;q=0,application/openmetrics-text;q=0",
	    "\xff\xfe\xfd",
	    "text/plain;version=\"0.0.4\"",
	    "application/openmetrics-text;version=1.0.0000000000000000000000000000000000000;q=0",
	    "application/openmetrics-text;q=0.99999999999999999999999999999999999999999;"
	    "version=1.0.0,*/*;q=1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(garbage); i++) {
		if (http_wants_openmetrics(garbage[i]))
			fail_msg("Accept \"%s\": got OpenMetrics, want text", garbage[i]);
		(void)http_accepts_gzip(garbage[i]);
	}

	/* Every prefix of the real headers: exact-size heap copies, so ASan
	 * catches any read past the terminator. */
	static const char *const full[] = {PROM2_ACCEPT, PROM3_ACCEPT, PROM3_PROTO_ACCEPT,
	                                   "gzip;q=0.5, deflate;q=0, *;q=0"};
	for (size_t k = 0; k < ARRAY_SIZE(full); k++) {
		size_t n = strlen(full[k]);
		for (size_t len = 0; len <= n; len++) {
			char *p = malloc(len + 1);
			assert_non_null(p);
			memcpy(p, full[k], len);
			p[len] = '\0';
			(void)http_wants_openmetrics(p);
			(void)http_accepts_gzip(p);
			free(p);
		}
	}

	/* A very long header. */
	size_t big = 1 << 16;
	char *p = malloc(big + 1);
	assert_non_null(p);
	for (size_t i = 0; i < big; i++)
		p[i] = "a;,=q "[i % 6];
	p[big] = '\0';
	assert_false(http_wants_openmetrics(p));
	(void)http_accepts_gzip(p);
	free(p);
}

/* ------------------------------------------------------------------------ */
/* Accept-Encoding                                                          */
/* ------------------------------------------------------------------------ */

static void test_accept_encoding(void **state)
{
	(void)state;
	static const struct {
		const char *ae;
		bool gzip;
	} cases[] = {
	    {"gzip", true},
	    {"gzip;q=0", false},
	    {"gzip; q=0", false},
	    {"gzip;q=0.0", false},
	    {"deflate, gzip;q=0.5", true},
	    {"deflate, gzip;q=0", false},
	    {"*", true},
	    {"*;q=0", false},
	    {"identity", false},
	    {NULL, false},
	    {"", false},
	    {"deflate", false},
	    {"br, zstd", false},
	    /* What Prometheus and Go's http client send. */
	    {"gzip, deflate", true},
	    {"GZIP", true},
	    {"gzip;q=1.0, identity;q=0.5, *;q=0", true},
	    {"identity;q=1, *;q=0", false},
	    {"x-gzip", false},
	    {"gzipper", false},
	    {"gzip;q=abc", false},
	    {"gzip;q=7", false},
	    {" gzip ", true},
	    {",gzip,", true},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool got = http_accepts_gzip(cases[i].ae);
		if (got != cases[i].gzip)
			fail_msg("Accept-Encoding \"%s\": got %s, want %s",
			         cases[i].ae ? cases[i].ae : "(null)", got ? "gzip" : "identity",
			         cases[i].gzip ? "gzip" : "identity");
	}
}

/*
 * RFC 9110 §12.5.3: "*" matches any coding *not explicitly listed*, so an
 * explicit gzip;q=0 refuses gzip even when "*" is acceptable.
 */
static void test_accept_encoding_explicit_refusal(void **state)
{
	(void)state;
	static const char *const refused[] = {
	    "gzip;q=0, *",
	    "*, gzip;q=0",
	    "*;q=0.5, gzip;q=0",
	};
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		if (http_accepts_gzip(refused[i]))
			fail_msg("Accept-Encoding \"%s\": got gzip, but gzip is explicitly refused "
			         "(q=0) and \"*\" does not override that",
			         refused[i]);
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
	    cmocka_unit_test(test_accept_scrapers),
	    cmocka_unit_test(test_accept_qvalues),
	    cmocka_unit_test(test_accept_garbage),
	    cmocka_unit_test(test_accept_encoding),
	    cmocka_unit_test(test_accept_encoding_explicit_refusal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
