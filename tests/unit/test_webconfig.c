/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for exporters/http/webconfig.c, the --web.config.file parser
 * (Prometheus exporter-toolkit format): files the toolkit documents and
 * ships parse to the expected struct; every error path gives its message
 * with line and column and leaves the output untouched. A few loader
 * (webconfig_load.c) cases that need no certificates: missing files and
 * relative paths.
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
#include <unistd.h>

#include <cmocka.h>

#include "exporters/http/webconfig.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* bcrypt hashes from the exporter-toolkit's docs/web-config.yml (alice,
 * bob) and one made with `htpasswd -nbBC 10 "" secret` ($2y$). */
#define HASH_ALICE "$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze"
#define HASH_BOB "$2y$10$hLqFl9jSjoAAy95Z/zw8Ye8wkdMBM8c5Bn1ptYqP/AXyV0.oy0S8m"
#define HASH_2B "$2b$12$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay"
#define HASH_2A "$2a$04$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"

static int parse(const char *yaml, struct cstatd_webconfig *wc, char *err, size_t err_len)
{
	return cstatd_webconfig_parse(yaml, strlen(yaml), wc, err, err_len);
}

/* Parses a file that must be good; fails the test with the error if not. */
static void parse_ok(const char *yaml, struct cstatd_webconfig *wc)
{
	char err[512] = "";
	int rc = parse(yaml, wc, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse failed (%d): %s\n--- input:\n%s", rc, err, yaml);
}

/* ------------------------------------------------------------------------ */
/* Good files                                                               */
/* ------------------------------------------------------------------------ */

static void test_empty_files(void **state)
{
	(void)state;
	static const char *const empties[] = {"",
	                                      "\n",
	                                      "# only a comment\n",
	                                      "---\n",
	                                      "~\n",
	                                      "tls_server_config:\nbasic_auth_users:\n",
	                                      "tls_server_config: {}\nhttp_server_config: {}\n"};
	for (size_t i = 0; i < ARRAY_SIZE(empties); i++) {
		struct cstatd_webconfig wc;
		parse_ok(empties[i], &wc);
		assert_false(wc.tls);
		assert_int_equal(wc.n_users, 0);
		assert_int_equal(wc.min_version, CSTATD_TLS12);
		assert_int_equal(wc.max_version, CSTATD_TLS13);
		assert_true(wc.prefer_server_cipher_suites);
		cstatd_webconfig_free(&wc);
	}
}

/* exporter-toolkit docs/web-config.yml (before rate_limit was added). */
static void test_toolkit_sample(void **state)
{
	(void)state;
	static const char sample[] =
	    "# TLS and basic authentication configuration example.\n"
	    "#\n"
	    "# Additionally, a certificate and a key file are needed.\n"
	    "tls_server_config:\n"
	    "  cert_file: server.crt\n"
	    "  key_file: server.key\n"
	    "\n"
	    "# Usernames and passwords required to connect.\n"
	    "# Passwords are hashed with bcrypt: https://github.com/prometheus/exporter-toolkit/"
	    "blob/master/docs/web-configuration.md#about-bcrypt.\n"
	    "basic_auth_users:\n"
	    "  alice: " HASH_ALICE "\n"
	    "  bob: " HASH_BOB "\n";
	struct cstatd_webconfig wc;
	parse_ok(sample, &wc);
	assert_true(wc.tls);
	assert_string_equal(wc.cert_file, "server.crt");
	assert_string_equal(wc.key_file, "server.key");
	assert_null(wc.client_ca_file);
	assert_int_equal(wc.client_auth, CSTATD_CLIENT_AUTH_NONE);
	assert_int_equal(wc.n_users, 2);
	assert_string_equal(wc.users[0].name, "alice");
	assert_string_equal(wc.users[0].hash, HASH_ALICE);
	assert_string_equal(wc.users[1].name, "bob");
	assert_string_equal(wc.users[1].hash, HASH_BOB);
	assert_null(wc.cert_pem); /* the parser reads no files */
	cstatd_webconfig_free(&wc);
	assert_null(wc.users);
}

static void test_every_setting(void **state)
{
	(void)state;
	static const char full[] =
	    "tls_server_config:\n"
	    "  cert_file: /etc/cstatd/tls.crt\n"
	    "  key_file: \"/etc/cstatd/tls.key\"\n"
	    "  client_ca_file: 'ca.pem'\n"
	    "  client_auth_type: RequireAndVerifyClientCert\n"
	    "  min_version: TLS13\n"
	    "  max_version: TLS13\n"
	    "  prefer_server_cipher_suites: false\n"
	    "  curve_preferences: [X25519, CurveP256, CurveP384, CurveP521]\n"
	    "  cipher_suites: []\n"
	    "  client_allowed_sans: []\n"
	    "http_server_config:\n"
	    "  http2: false\n"
	    "  headers:\n"
	    "    Content-Security-Policy: default-src 'self'\n"
	    "    X-Frame-Options: sameorigin\n"
	    "    X-Content-Type-Options: nosniff\n"
	    "    X-XSS-Protection: 1; mode=block\n"
	    "    Strict-Transport-Security: max-age=31536000\n"
	    "basic_auth_users:\n"
	    "  prometheus: '" HASH_2B "'\n"
	    "  \"grafana agent\": \"" HASH_2A "\"\n"
	    "rate_limit:\n";
	struct cstatd_webconfig wc;
	parse_ok(full, &wc);
	assert_true(wc.tls);
	assert_string_equal(wc.cert_file, "/etc/cstatd/tls.crt");
	assert_string_equal(wc.key_file, "/etc/cstatd/tls.key");
	assert_string_equal(wc.client_ca_file, "ca.pem");
	assert_int_equal(wc.client_auth, CSTATD_CLIENT_AUTH_REQUIRE_VERIFY);
	assert_int_equal(wc.min_version, CSTATD_TLS13);
	assert_int_equal(wc.max_version, CSTATD_TLS13);
	assert_false(wc.prefer_server_cipher_suites);
	assert_int_equal(wc.n_curves, 4);
	assert_int_equal(wc.curves[0], CSTATD_CURVE_X25519);
	assert_int_equal(wc.curves[1], CSTATD_CURVE_P256);
	assert_int_equal(wc.curves[2], CSTATD_CURVE_P384);
	assert_int_equal(wc.curves[3], CSTATD_CURVE_P521);
	assert_false(wc.http2);
	assert_string_equal(wc.headers[CSTATD_HDR_CSP], "default-src 'self'");
	assert_string_equal(wc.headers[CSTATD_HDR_XFO], "sameorigin");
	assert_string_equal(wc.headers[CSTATD_HDR_XCTO], "nosniff");
	assert_string_equal(wc.headers[CSTATD_HDR_XXSS], "1; mode=block");
	assert_string_equal(wc.headers[CSTATD_HDR_HSTS], "max-age=31536000");
	assert_int_equal(wc.n_users, 2);
	assert_string_equal(wc.users[1].name, "grafana agent");
	assert_string_equal(wc.users[1].hash, HASH_2A);
	cstatd_webconfig_free(&wc);
}

static void test_inline_pem(void **state)
{
	(void)state;
	static const char yaml[] = "tls_server_config:\n"
	                           "  cert: |\n"
	                           "    -----BEGIN CERTIFICATE-----\n"
	                           "    MIIB\n"
	                           "    -----END CERTIFICATE-----\n"
	                           "  key: |\n"
	                           "    -----BEGIN PRIVATE KEY-----\n"
	                           "    MIIC\n"
	                           "    -----END PRIVATE KEY-----\n"
	                           "  client_ca: \"-----BEGIN CERTIFICATE-----\\nMIID\\n\"\n"
	                           "  client_auth_type: VerifyClientCertIfGiven\n";
	struct cstatd_webconfig wc;
	parse_ok(yaml, &wc);
	assert_true(wc.tls);
	assert_null(wc.cert_file);
	assert_string_equal(wc.cert,
	                    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
	assert_string_equal(wc.key,
	                    "-----BEGIN PRIVATE KEY-----\nMIIC\n-----END PRIVATE KEY-----\n");
	assert_string_equal(wc.client_ca, "-----BEGIN CERTIFICATE-----\nMIID\n");
	assert_int_equal(wc.client_auth, CSTATD_CLIENT_AUTH_VERIFY_IF_GIVEN);
	cstatd_webconfig_free(&wc);
}

static void test_client_auth_types(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		bool ca;
		enum cstatd_client_auth want;
	} cases[] = {
	    {"NoClientCert", false, CSTATD_CLIENT_AUTH_NONE},
	    {"RequestClientCert", false, CSTATD_CLIENT_AUTH_REQUEST},
	    {"RequestClientCert", true, CSTATD_CLIENT_AUTH_REQUEST},
	    {"RequireAnyClientCert", false, CSTATD_CLIENT_AUTH_REQUIRE_ANY},
	    {"RequireClientCert", false, CSTATD_CLIENT_AUTH_REQUIRE_ANY}, /* old name */
	    {"VerifyClientCertIfGiven", true, CSTATD_CLIENT_AUTH_VERIFY_IF_GIVEN},
	    {"RequireAndVerifyClientCert", true, CSTATD_CLIENT_AUTH_REQUIRE_VERIFY},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char yaml[400];
		snprintf(yaml, sizeof(yaml),
		         "tls_server_config:\n  cert_file: c\n  key_file: k\n%s"
		         "  client_auth_type: %s\n",
		         cases[i].ca ? "  client_ca_file: ca\n" : "", cases[i].name);
		struct cstatd_webconfig wc;
		parse_ok(yaml, &wc);
		if (wc.client_auth != cases[i].want)
			fail_msg("client_auth_type %s: got %d, want %d", cases[i].name,
			         wc.client_auth, cases[i].want);
		cstatd_webconfig_free(&wc);
	}
	/* client_auth_type alone switches TLS on (and then wants a cert). */
	struct cstatd_webconfig wc;
	char err[300];
	assert_int_equal(
	    parse("tls_server_config:\n  client_auth_type: NoClientCert\n", &wc, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "2:3: tls_server_config: missing one of cert or cert_file");
}

static void test_yaml_booleans(void **state)
{
	(void)state;
	static const char *const falses[] = {"false", "False", "FALSE", "no", "off", "N"};
	static const char *const trues[] = {"true", "True", "yes", "On", "y"};
	for (size_t i = 0; i < ARRAY_SIZE(falses) + ARRAY_SIZE(trues); i++) {
		bool want = i >= ARRAY_SIZE(falses);
		const char *v = want ? trues[i - ARRAY_SIZE(falses)] : falses[i];
		char yaml[200];
		snprintf(yaml, sizeof(yaml), "http_server_config:\n  http2: %s\n", v);
		struct cstatd_webconfig wc;
		parse_ok(yaml, &wc);
		if (wc.http2 != want)
			fail_msg("http2: %s read as %d", v, wc.http2);
		cstatd_webconfig_free(&wc);
	}
}

/* Basic auth without TLS is allowed (the exporter-toolkit allows it; cstatd
 * warns at start); TLS settings without a certificate are not. */
static void test_users_without_tls(void **state)
{
	(void)state;
	struct cstatd_webconfig wc;
	parse_ok("basic_auth_users:\n  u: " HASH_BOB "\n", &wc);
	assert_false(wc.tls);
	assert_int_equal(wc.n_users, 1);
	cstatd_webconfig_free(&wc);
	/* Versions without any certificate setting do not switch TLS on. */
	parse_ok("tls_server_config:\n  min_version: TLS13\n", &wc);
	assert_false(wc.tls);
	cstatd_webconfig_free(&wc);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

#define TLS_OK "tls_server_config:\n  cert_file: c\n  key_file: k\n"

/* Each broken file and the start of the message it must give. */
static const struct {
	const char *yaml;
	const char *want;
} broken[] = {
    /* YAML itself */
    {"a: [1, 2\n", "2:1: invalid YAML: did not find expected ',' or ']' while parsing a flow "
                   "sequence"},
    {"a: b\n c: d\n", "2:3: invalid YAML: mapping values are not allowed in this context"},
    {"\"unterminated\n", "2:1: invalid YAML: found unexpected end of stream while scanning a "
                         "quoted scalar"},
    {"a: \x01\n", "1:4: invalid YAML: control characters are not allowed"},
    {"a: \xff\xfe\n", "1:4: invalid YAML: invalid leading UTF-8 octet"},
    /* the top */
    {"- tls_server_config\n", "1:1: expected a mapping (tls_server_config:, basic_auth_users: "
                              "...) at the top, got a list"},
    {"just text\n", "1:1: expected a mapping (tls_server_config:, basic_auth_users: ...) at "
                    "the top, got a single value"},
    {"tls_config:\n  cert_file: c\n", "1:1: unknown key \"tls_config\" (known keys: "
                                      "tls_server_config, http_server_config, "
                                      "basic_auth_users, rate_limit; see docs/reliability.md)"},
    {"? [a, b]\n: c\n", "1:3: a key must be a plain name, got a list"},
    {"basic_auth_users:\nbasic_auth_users:\n", "2:1: basic_auth_users: key given twice"},
    {"rate_limit:\n  interval: 1s\n  burst: 20\n",
     "2:3: rate_limit: not supported by cstatd (--web.max-connections and --web.timeout bound "
     "what clients can take; see docs/reliability.md)"},
    /* tls_server_config */
    {"tls_server_config: [a]\n",
     "1:20: tls_server_config: expected a mapping (key: value lines), got a list"},
    {"tls_server_config:\n  certfile: c\n",
     "2:3: tls_server_config: unknown key \"certfile\" (known keys: cert, key, client_ca, "
     "cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans, "
     "min_version, max_version, cipher_suites, prefer_server_cipher_suites, "
     "curve_preferences; see docs/reliability.md)"},
    {"tls_server_config:\n  cert_file: [a]\n",
     "2:14: tls_server_config.cert_file: expected a string, got a list"},
    {"tls_server_config:\n  key_file: {a: b}\n",
     "2:13: tls_server_config.key_file: expected a string, got a mapping"},
    {"tls_server_config:\n  cert_file: \"a\\0b\"\n",
     "2:14: tls_server_config.cert_file: value contains a NUL character"},
    {"tls_server_config:\n  cert_file: c\n  cert_file: d\n",
     "3:3: tls_server_config.cert_file: key given twice"},
    {TLS_OK "  client_auth_type: RequireClientCerts\n",
     "4:21: tls_server_config.client_auth_type: expected NoClientCert, RequestClientCert, "
     "RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"},
    {TLS_OK "  min_version: TLS1.2\n",
     "4:16: tls_server_config.min_version: expected TLS10, TLS11, TLS12 or TLS13"},
    {TLS_OK "  max_version: 13\n",
     "4:16: tls_server_config.max_version: expected TLS10, TLS11, TLS12 or TLS13"},
    {TLS_OK "  min_version: TLS13\n  max_version: TLS12\n",
     "2:3: tls_server_config: min_version is above max_version"},
    {TLS_OK "  curve_preferences: X25519\n",
     "4:22: tls_server_config.curve_preferences: expected a list of curve names, got a single "
     "value"},
    {TLS_OK "  curve_preferences: [X25519, P256]\n",
     "4:31: tls_server_config.curve_preferences[1]: unknown curve (expected CurveP256, "
     "CurveP384, CurveP521 or X25519)"},
    {TLS_OK "  curve_preferences: [X25519, X25519]\n",
     "4:31: tls_server_config.curve_preferences[1]: curve listed twice"},
    {TLS_OK "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
     "4:18: tls_server_config.cipher_suites: not supported: cstatd's TLS library (GnuTLS) "
     "names cipher suites differently"},
    {TLS_OK "  client_allowed_sans: [prometheus.example.com]\n",
     "4:24: tls_server_config.client_allowed_sans: not supported by cstatd"},
    {TLS_OK "  prefer_server_cipher_suites: maybe\n",
     "4:32: tls_server_config.prefer_server_cipher_suites: expected true or false"},
    {TLS_OK "  prefer_server_cipher_suites: \"true\"\n",
     "4:32: tls_server_config.prefer_server_cipher_suites: expected true or false"},
    {"tls_server_config:\n  key_file: k\n",
     "2:3: tls_server_config: missing one of cert or cert_file"},
    {"tls_server_config:\n  cert_file: c\n",
     "2:3: tls_server_config: missing one of key or key_file"},
    {"tls_server_config:\n  cert_file: ''\n  key: ''\n  client_ca_file: ca\n"
     "  client_auth_type: RequireAndVerifyClientCert\n",
     "2:3: tls_server_config: missing one of cert or cert_file"},
    {TLS_OK "  cert: x\n", "2:3: tls_server_config: give cert_file or cert, not both"},
    {TLS_OK "  key: x\n", "2:3: tls_server_config: give key_file or key, not both"},
    {TLS_OK "  client_ca_file: a\n  client_ca: b\n  client_auth_type: RequestClientCert\n",
     "2:3: tls_server_config: give client_ca_file or client_ca, not both"},
    {TLS_OK "  client_ca_file: ca.pem\n",
     "2:3: tls_server_config: a client CA is configured but client_auth_type is NoClientCert"},
    {TLS_OK "  client_auth_type: RequireAndVerifyClientCert\n",
     "2:3: tls_server_config: client_auth_type RequireAndVerifyClientCert needs "
     "client_ca_file (or client_ca) to verify client certificates against"},
    {TLS_OK "  client_auth_type: VerifyClientCertIfGiven\n",
     "2:3: tls_server_config: client_auth_type VerifyClientCertIfGiven needs client_ca_file"},
    /* http_server_config */
    {"http_server_config:\n  http3: true\n",
     "2:3: http_server_config: unknown key \"http3\" (known keys: http2, headers;"},
    {"http_server_config:\n  http2: 1\n", "2:10: http_server_config.http2: expected true or "
                                          "false"},
    {"http_server_config:\n  headers:\n    Server: cstatd\n",
     "3:5: http_server_config.headers: unknown key \"Server\" (known keys: "
     "Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, X-XSS-Protection, "
     "Strict-Transport-Security;"},
    {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
     "3:22: http_server_config.headers.X-Frame-Options: expected deny or sameorigin"},
    {"http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
     "3:29: http_server_config.headers.X-Content-Type-Options: expected nosniff"},
    {"http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: a=b\"\n",
     "3:23: http_server_config.headers.X-XSS-Protection: control character in a header value"},
    {"http_server_config:\n  headers: [a]\n",
     "2:12: http_server_config.headers: expected a mapping (key: value lines), got a list"},
    /* basic_auth_users */
    {"basic_auth_users: [alice]\n", "1:19: basic_auth_users: expected a mapping of user: "
                                    "bcrypt-hash lines, got a list"},
    {"basic_auth_users:\n  ? [a]\n  : " HASH_BOB "\n",
     "2:5: basic_auth_users: a user name must be a string, got a list"},
    {"basic_auth_users:\n  '': " HASH_BOB "\n", "2:3: basic_auth_users: empty user name"},
    {"basic_auth_users:\n  'a:b': " HASH_BOB "\n",
     "2:3: basic_auth_users.a:b: a user name cannot contain ':' or control characters"},
    {"basic_auth_users:\n  u: " HASH_BOB "\n  u: " HASH_ALICE "\n",
     "3:3: basic_auth_users.u: user given twice"},
    {"basic_auth_users:\n  u:\n", "2:5: basic_auth_users.u: not a bcrypt hash"},
    {"basic_auth_users:\n  u: secret\n", "2:6: basic_auth_users.u: not a bcrypt hash (expected "
                                         "$2y$, $2b$ or $2a$, a cost 04-31 and 53 characters, "
                                         "60 in all; make one with: htpasswd -nBC 10 \"\" | "
                                         "tr -d ':\\n')"},
    {"basic_auth_users:\n  u: $2x$10$hLqFl9jSjoAAy95Z/zw8Ye8wkdMBM8c5Bn1ptYqP/AXyV0.oy0S8m\n",
     "2:6: basic_auth_users.u: not a bcrypt hash"},
    {"basic_auth_users:\n  u: $2y$03$hLqFl9jSjoAAy95Z/zw8Ye8wkdMBM8c5Bn1ptYqP/AXyV0.oy0S8m\n",
     "2:6: basic_auth_users.u: not a bcrypt hash"},
    {"basic_auth_users:\n  u: $2y$32$hLqFl9jSjoAAy95Z/zw8Ye8wkdMBM8c5Bn1ptYqP/AXyV0.oy0S8m\n",
     "2:6: basic_auth_users.u: not a bcrypt hash"},
    {"basic_auth_users:\n  u: $2y$1a$hLqFl9jSjoAAy95Z/zw8Ye8wkdMBM8c5Bn1ptYqP/AXyV0.oy0S8m\n",
     "2:6: basic_auth_users.u: not a bcrypt hash"},
    {"basic_auth_users:\n  u: $2y$10$hLqFl9jSjoAAy95Z/zw8Ye8wkdMBM8c5Bn1ptYqP/AXyV0.oy0S8\n",
     "2:6: basic_auth_users.u: not a bcrypt hash"},
    {"basic_auth_users:\n  u: $2y$10$hLqFl9jSjoAAy95Z/zw8Ye8wkdMBM8c5Bn1ptYqP/AXyV0.oy0S8-\n",
     "2:6: basic_auth_users.u: not a bcrypt hash"},
    {"basic_auth_users:\n  u: $2y$10$hLqFl9jSjoAAy95Z/zw8Ye8wkdMBM8c5Bn1ptYqP/AXyV0.oy0S8m$\n",
     "2:6: basic_auth_users.u: not a bcrypt hash"},
    {"basic_auth_users:\n  u: [a]\n", "2:6: basic_auth_users.u: expected a string, got a list"},
};

static void test_broken(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(broken); i++) {
		struct cstatd_webconfig wc;
		char err[600] = "";
		memset(&wc, 0xA5, sizeof(wc));
		int rc = parse(broken[i].yaml, &wc, err, sizeof(err));
		if (rc != -EINVAL)
			fail_msg("case %zu: rc %d, want -EINVAL\n--- input:\n%s", i, rc,
			         broken[i].yaml);
		if (strncmp(err, broken[i].want, strlen(broken[i].want)) != 0)
			fail_msg("case %zu:\n  got:  %s\n  want: %s...\n--- input:\n%s", i, err,
			         broken[i].want, broken[i].yaml);
		/* The output stays untouched on failure. */
		for (size_t b = 0; b < sizeof(wc); b++)
			if (((const unsigned char *)&wc)[b] != 0xA5)
				fail_msg("case %zu: output touched at byte %zu", i, b);
	}
}

/*
 * Found by fuzz_webconfig: a plain YAML key that runs over a blank line folds
 * to a key holding '\n', and the "unknown key" message quoted it, so `err`
 * held two lines where the header promises one. Control characters in the
 * message now read '?'. The first input is the fuzzer's, as found.
 */
static void test_fuzz_key_with_line_break(void **state)
{
	(void)state;
	static const char *const inputs[] = {
	    "tls_server_config:\n  cert_file: \"CertIfGiven\"\n? curve_preferenceserver_c  "
	    "CurveP384\n    - CurveP521\n    - X25519\n \n    - X25519\n    #- X25519t",
	    "tls_server_config:\n  \"cert\\nfile\\r\\t\": a\n",
	    "basic_auth_users:\n  ? [a]\n  : b\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {
		struct cstatd_webconfig wc;
		char err[600] = "";
		assert_int_equal(parse(inputs[i], &wc, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
		for (const char *p = err; *p; p++)
			if ((unsigned char)*p < 0x20)
				fail_msg("case %zu: control character 0x%02x in \"%s\"", i,
				         (unsigned)(unsigned char)*p, err);
	}
}

/* A value that is not NUL-terminated at len: the parser reads len bytes. */
static void test_length_is_respected(void **state)
{
	(void)state;
	const char text[] = "basic_auth_users:\n  u: " HASH_BOB "\nGARBAGE: [";
	struct cstatd_webconfig wc;
	char err[300];
	size_t good_len = strlen(text) - strlen("GARBAGE: [");
	assert_int_equal(cstatd_webconfig_parse(text, good_len, &wc, err, sizeof(err)), 0);
	assert_int_equal(wc.n_users, 1);
	cstatd_webconfig_free(&wc);
	assert_int_equal(cstatd_webconfig_parse(text, strlen(text), &wc, err, sizeof(err)),
	                 -EINVAL);
	/* Also without an error buffer. */
	assert_int_equal(cstatd_webconfig_parse(text, strlen(text), &wc, NULL, 0), -EINVAL);
	assert_int_equal(cstatd_webconfig_parse(NULL, 0, &wc, NULL, 0), 0);
	cstatd_webconfig_free(&wc);
}

static void test_size_caps(void **state)
{
	(void)state;
	struct cstatd_webconfig wc;
	char err[300];

	/* More users than CSTATD_WEBCONFIG_MAX_USERS. */
	size_t cap = (CSTATD_WEBCONFIG_MAX_USERS + 1) * 80 + 64;
	char *yaml = malloc(cap);
	assert_non_null(yaml);
	size_t off = (size_t)snprintf(yaml, cap, "basic_auth_users:\n");
	for (int i = 0; i <= CSTATD_WEBCONFIG_MAX_USERS; i++)
		off += (size_t)snprintf(yaml + off, cap - off, "  user%d: %s\n", i, HASH_BOB);
	assert_int_equal(parse(yaml, &wc, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "2:3: basic_auth_users: 257 users; at most 256 are supported "
	                         "(use a reverse proxy for more)");
	free(yaml);

	/* A file over CSTATD_WEBCONFIG_MAX_BYTES. */
	size_t big = CSTATD_WEBCONFIG_MAX_BYTES + 1;
	yaml = malloc(big);
	assert_non_null(yaml);
	memset(yaml, '#', big);
	assert_int_equal(cstatd_webconfig_parse(yaml, big, &wc, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "file larger than 1048576 bytes");

	/* One value over 256 KiB (the file itself is under the cap). */
	size_t vlen = 300 * 1024;
	off = (size_t)snprintf(yaml, big, "tls_server_config:\n  cert: ");
	memset(yaml + off, 'A', vlen);
	strcpy(yaml + off + vlen, "\n");
	assert_int_equal(parse(yaml, &wc, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "2:9: tls_server_config.cert: value longer than 262144 bytes");
	free(yaml);
}

/* Aliases may point back at their own node; the walk goes only as deep as
 * the schema and ends. */
static void test_self_referencing_alias(void **state)
{
	(void)state;
	struct cstatd_webconfig wc;
	char err[300];
	int rc = parse("tls_server_config: &a\n  cert_file: *a\n", &wc, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, "1:20: tls_server_config.cert_file: expected a string, got a "
	                         "mapping");
	rc = parse("tls_server_config:\n  curve_preferences: &c [X25519, *c]\n", &wc, err,
	           sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_true(strstr(err, "curve_preferences[1]: unknown curve") != NULL);
}

static void test_client_auth_names(void **state)
{
	(void)state;
	assert_string_equal(cstatd_client_auth_name(CSTATD_CLIENT_AUTH_NONE), "NoClientCert");
	assert_string_equal(cstatd_client_auth_name(CSTATD_CLIENT_AUTH_REQUIRE_VERIFY),
	                    "RequireAndVerifyClientCert");
}

/* ------------------------------------------------------------------------ */
/* Loader (files)                                                           */
/* ------------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_loader(void **state)
{
	(void)state;
	char dir[] = "/tmp/cstatd-webconfig-XXXXXX";
	char path[300], err[600];
	struct cstatd_webconfig wc;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none.yml", dir);
	assert_int_equal(cstatd_webconfig_load(path, &wc, err, sizeof(err)), -ENOENT);
	assert_true(strstr(err, "none.yml: cannot read: No such file or directory") != NULL);

	/* Parse errors carry the path in front of line:column. */
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	write_file(path, "tls_server_config:\n  cert_fil: x\n");
	assert_int_equal(cstatd_webconfig_load(path, &wc, err, sizeof(err)), -EINVAL);
	char want[1024];
	snprintf(want, sizeof(want), "%s:2:3: tls_server_config: unknown key \"cert_fil\"", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got %s\nwant %s", err, want);

	/* Relative file names are relative to the config file's directory. */
	write_file(path, "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: k\n");
	assert_int_equal(cstatd_webconfig_load(path, &wc, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want),
	         "%s: tls_server_config.cert_file: cannot read %s/tls/server.crt: No such file or "
	         "directory",
	         path, dir);
	assert_string_equal(err, want);

	/* A PEM that GnuTLS cannot read is caught at load time. */
	char crt[320];
	snprintf(crt, sizeof(crt), "%s/server.crt", dir);
	write_file(crt, "not a certificate\n");
	write_file(path, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n");
	assert_int_equal(cstatd_webconfig_load(path, &wc, err, sizeof(err)), -EINVAL);
	assert_true(strstr(err, "do not load as a PEM pair") != NULL);

	/* Users only: no TLS, nothing else to read. */
	write_file(path, "basic_auth_users:\n  u: " HASH_BOB "\n");
	assert_int_equal(cstatd_webconfig_load(path, &wc, err, sizeof(err)), 0);
	assert_false(wc.tls);
	assert_int_equal(wc.n_users, 1);
	cstatd_webconfig_free(&wc);

	unlink(crt);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_files),
	    cmocka_unit_test(test_toolkit_sample),
	    cmocka_unit_test(test_every_setting),
	    cmocka_unit_test(test_inline_pem),
	    cmocka_unit_test(test_client_auth_types),
	    cmocka_unit_test(test_yaml_booleans),
	    cmocka_unit_test(test_users_without_tls),
	    cmocka_unit_test(test_broken),
	    cmocka_unit_test(test_fuzz_key_with_line_break),
	    cmocka_unit_test(test_length_is_respected),
	    cmocka_unit_test(test_size_caps),
	    cmocka_unit_test(test_self_referencing_alias),
	    cmocka_unit_test(test_client_auth_names),
	    cmocka_unit_test(test_loader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
