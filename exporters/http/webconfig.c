/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The --web.config.file parser: exporter-toolkit YAML → struct
 * cstatd_webconfig. Pure: a buffer in, a struct out, no file access (the
 * loader is webconfig_load.c), so it is unit-tested and fuzzed on bytes.
 *
 * libyaml's document loader builds the node tree; the walk below knows the
 * schema, so it never goes deeper than the schema does (an alias that
 * points back at its own mapping cannot make it loop). Rules follow the
 * exporter-toolkit's strict unmarshalling: unknown keys and keys given
 * twice are errors, empty values mean "not set".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "exporters/http/webconfig.h"

const char *const cstatd_web_header_names[CSTATD_WEB_HEADERS] = {
    [CSTATD_HDR_CSP] = "Content-Security-Policy",    [CSTATD_HDR_XFO] = "X-Frame-Options",
    [CSTATD_HDR_XCTO] = "X-Content-Type-Options",    [CSTATD_HDR_XXSS] = "X-XSS-Protection",
    [CSTATD_HDR_HSTS] = "Strict-Transport-Security",
};

/* Longest single value kept (an inline PEM chain fits easily). */
#define MAX_VALUE_BYTES (256 * 1024)
#define MAX_USER_NAME 256

void cstatd_webconfig_init(struct cstatd_webconfig *wc)
{
	memset(wc, 0, sizeof(*wc));
	wc->client_auth = CSTATD_CLIENT_AUTH_NONE;
	wc->min_version = CSTATD_TLS12;
	wc->max_version = CSTATD_TLS13;
	wc->prefer_server_cipher_suites = true;
	wc->http2 = true;
}

static void free_secret(char *s, size_t len)
{
	if (!s)
		return;
	explicit_bzero(s, len ? len : strlen(s));
	free(s);
}

void cstatd_webconfig_free(struct cstatd_webconfig *wc)
{
	if (!wc)
		return;
	free(wc->cert_file);
	free(wc->key_file);
	free(wc->client_ca_file);
	free(wc->cert);
	free_secret(wc->key, 0);
	free(wc->client_ca);
	for (size_t i = 0; i < CSTATD_WEB_HEADERS; i++)
		free(wc->headers[i]);
	for (size_t i = 0; i < wc->n_users; i++) {
		free(wc->users[i].name);
		free(wc->users[i].hash);
	}
	free(wc->users);
	free(wc->cert_pem);
	free_secret(wc->key_pem, wc->key_pem_len);
	free(wc->client_ca_pem);
	cstatd_webconfig_init(wc);
}

const char *cstatd_client_auth_name(enum cstatd_client_auth a)
{
	switch (a) {
	case CSTATD_CLIENT_AUTH_NONE:
		return "NoClientCert";
	case CSTATD_CLIENT_AUTH_REQUEST:
		return "RequestClientCert";
	case CSTATD_CLIENT_AUTH_REQUIRE_ANY:
		return "RequireAnyClientCert";
	case CSTATD_CLIENT_AUTH_VERIFY_IF_GIVEN:
		return "VerifyClientCertIfGiven";
	case CSTATD_CLIENT_AUTH_REQUIRE_VERIFY:
		return "RequireAndVerifyClientCert";
	}
	return "?";
}

/* ======================================================================== */
/* Walking the node tree                                                    */
/* ======================================================================== */

struct walk {
	yaml_document_t *doc;
	struct cstatd_webconfig *wc;
	char *err;
	size_t err_len;
	yaml_mark_t tls_mark; /* where tls_server_config starts, for combination errors */
	bool client_auth_given;
};

static int fail_at(struct walk *w, yaml_mark_t m, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(struct walk *w, yaml_mark_t m, const char *path, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(w->err, w->err_len, "%zu:%zu: %s%s%s", m.line + 1, m.column + 1, path,
	         path[0] ? ": " : "", msg);
	/* The message quotes keys from the file, and a YAML key can hold a
	 * line break ("a\n\nb" folds to one): keep the promised one line. */
	for (char *p = w->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

static yaml_node_t *node(struct walk *w, int id)
{
	return yaml_document_get_node(w->doc, id);
}

/* A plain scalar that YAML reads as null ("", "~", "null"). */
static bool is_null(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	size_t l = n->data.scalar.length;
	return l == 0 || (l == 1 && v[0] == '~') ||
	       (l == 4 && (memcmp(v, "null", 4) == 0 || memcmp(v, "Null", 4) == 0 ||
	                   memcmp(v, "NULL", 4) == 0));
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a single value";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
	size_t l = strlen(s);
	return n->type == YAML_SCALAR_NODE && n->data.scalar.length == l &&
	       memcmp(n->data.scalar.value, s, l) == 0;
}

/* A string value: NULL (not set) for null or empty. */
static int get_string(struct walk *w, const yaml_node_t *n, const char *path, char **out)
{
	if (is_null(n)) {
		*out = NULL;
		return 0;
	}
	if (n->type != YAML_SCALAR_NODE)
		return fail_at(w, n->start_mark, path, "expected a string, got %s", kind_name(n));
	size_t l = n->data.scalar.length;
	if (l > MAX_VALUE_BYTES)
		return fail_at(w, n->start_mark, path, "value longer than %d bytes",
		               MAX_VALUE_BYTES);
	if (memchr(n->data.scalar.value, '\0', l))
		return fail_at(w, n->start_mark, path, "value contains a NUL character");
	if (l == 0) {
		*out = NULL;
		return 0;
	}
	char *s = malloc(l + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, n->data.scalar.value, l);
	s[l] = '\0';
	*out = s;
	return 0;
}

/* Sets *dst from the node; a key given twice was refused before. */
static int set_string(struct walk *w, const yaml_node_t *n, const char *path, char **dst)
{
	char *s;
	int rc = get_string(w, n, path, &s);
	if (rc != 0)
		return rc;
	free(*dst);
	*dst = s;
	return 0;
}

/* YAML 1.1 booleans, as Go's yaml.v2 reads them into a bool. */
static int get_bool(struct walk *w, const yaml_node_t *n, const char *path, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
	                                  "on",   "On",   "ON",   "y",   "Y"};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
	                                 "off",   "Off",   "OFF",   "n",  "N"};
	if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			if (scalar_is(n, yes[i])) {
				*out = true;
				return 0;
			}
			if (scalar_is(n, no[i])) {
				*out = false;
				return 0;
			}
		}
	}
	return fail_at(w, n->start_mark, path, "expected true or false");
}

/* The keys of a mapping, each checked against `known`, none twice. `each`
 * is called with the index into `known` and the value node. */
typedef int (*pair_fn)(struct walk *w, size_t which, const yaml_node_t *key, const yaml_node_t *val,
                       const char *path);

static int walk_mapping(struct walk *w, const yaml_node_t *map, const char *path,
                        const char *const *known, size_t n_known, pair_fn each)
{
	uint32_t seen = 0;
	char sub[160];

	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail_at(w, map->start_mark, path,
		               "expected a mapping (key: value lines), got %s", kind_name(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = node(w, p->key), *v = node(w, p->value);
		if (!k || !v)
			return fail_at(w, map->start_mark, path, "broken mapping");
		if (k->type != YAML_SCALAR_NODE)
			return fail_at(w, k->start_mark, path, "a key must be a plain name, got %s",
			               kind_name(k));
		size_t i;
		for (i = 0; i < n_known; i++)
			if (scalar_is(k, known[i]))
				break;
		int kl = k->data.scalar.length > 60 ? 60 : (int)k->data.scalar.length;
		if (i == n_known) {
			char list[400];
			size_t off = 0;
			list[0] = '\0';
			for (size_t j = 0; j < n_known && off < sizeof(list); j++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
				                        j ? ", " : "", known[j]);
			return fail_at(w, k->start_mark, path,
			               "unknown key \"%.*s\" (known keys: %s; "
			               "see docs/reliability.md)",
			               kl, (const char *)k->data.scalar.value, list);
		}
		snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", known[i]);
		if (seen & (1u << i))
			return fail_at(w, k->start_mark, sub, "key given twice");
		seen |= 1u << i;
		int rc = each(w, i, k, v, sub);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* tls_server_config                                                        */
/* ------------------------------------------------------------------------ */

enum {
	TLS_CERT,
	TLS_KEY,
	TLS_CLIENT_CA,
	TLS_CERT_FILE,
	TLS_KEY_FILE,
	TLS_CLIENT_AUTH_TYPE,
	TLS_CLIENT_CA_FILE,
	TLS_CLIENT_ALLOWED_SANS,
	TLS_MIN_VERSION,
	TLS_MAX_VERSION,
	TLS_CIPHER_SUITES,
	TLS_PREFER_SERVER,
	TLS_CURVES,
	TLS_N_KEYS
};

static const char *const tls_keys[TLS_N_KEYS] = {
    [TLS_CERT] = "cert",
    [TLS_KEY] = "key",
    [TLS_CLIENT_CA] = "client_ca",
    [TLS_CERT_FILE] = "cert_file",
    [TLS_KEY_FILE] = "key_file",
    [TLS_CLIENT_AUTH_TYPE] = "client_auth_type",
    [TLS_CLIENT_CA_FILE] = "client_ca_file",
    [TLS_CLIENT_ALLOWED_SANS] = "client_allowed_sans",
    [TLS_MIN_VERSION] = "min_version",
    [TLS_MAX_VERSION] = "max_version",
    [TLS_CIPHER_SUITES] = "cipher_suites",
    [TLS_PREFER_SERVER] = "prefer_server_cipher_suites",
    [TLS_CURVES] = "curve_preferences",
};

static int get_version(struct walk *w, const yaml_node_t *n, const char *path,
                       enum cstatd_tls_version *out)
{
	static const struct {
		const char *name;
		enum cstatd_tls_version v;
	} versions[] = {{"TLS10", CSTATD_TLS10},
	                {"TLS11", CSTATD_TLS11},
	                {"TLS12", CSTATD_TLS12},
	                {"TLS13", CSTATD_TLS13}};
	if (is_null(n))
		return 0; /* the default stays */
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		if (scalar_is(n, versions[i].name)) {
			*out = versions[i].v;
			return 0;
		}
	}
	return fail_at(w, n->start_mark, path, "expected TLS10, TLS11, TLS12 or TLS13");
}

static int get_client_auth(struct walk *w, const yaml_node_t *n, const char *path,
                           enum cstatd_client_auth *out, bool *given)
{
	static const struct {
		const char *name;
		enum cstatd_client_auth a;
	} modes[] = {
	    {"NoClientCert", CSTATD_CLIENT_AUTH_NONE},
	    {"RequestClientCert", CSTATD_CLIENT_AUTH_REQUEST},
	    {"RequireAnyClientCert", CSTATD_CLIENT_AUTH_REQUIRE_ANY},
	    {"RequireClientCert", CSTATD_CLIENT_AUTH_REQUIRE_ANY}, /* old name, still read */
	    {"VerifyClientCertIfGiven", CSTATD_CLIENT_AUTH_VERIFY_IF_GIVEN},
	    {"RequireAndVerifyClientCert", CSTATD_CLIENT_AUTH_REQUIRE_VERIFY},
	};
	if (is_null(n) || (n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0))
		return 0;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (scalar_is(n, modes[i].name)) {
			*out = modes[i].a;
			*given = true;
			return 0;
		}
	}
	return fail_at(w, n->start_mark, path,
	               "expected NoClientCert, RequestClientCert, RequireAnyClientCert, "
	               "VerifyClientCertIfGiven or RequireAndVerifyClientCert");
}

static int get_curves(struct walk *w, const yaml_node_t *n, const char *path,
                      struct cstatd_webconfig *wc)
{
	static const struct {
		const char *name;
		enum cstatd_tls_curve c;
	} curves[] = {{"CurveP256", CSTATD_CURVE_P256},
	              {"CurveP384", CSTATD_CURVE_P384},
	              {"CurveP521", CSTATD_CURVE_P521},
	              {"X25519", CSTATD_CURVE_X25519}};
	char sub[200];

	wc->n_curves = 0;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail_at(w, n->start_mark, path, "expected a list of curve names, got %s",
		               kind_name(n));
	size_t idx = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, idx++) {
		const yaml_node_t *c = node(w, *it);
		snprintf(sub, sizeof(sub), "%s[%zu]", path, idx);
		if (!c)
			return fail_at(w, n->start_mark, sub, "broken list");
		size_t i;
		for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
			if (scalar_is(c, curves[i].name))
				break;
		if (i == sizeof(curves) / sizeof(curves[0]))
			return fail_at(w, c->start_mark, sub,
			               "unknown curve (expected CurveP256, CurveP384, CurveP521 or "
			               "X25519)");
		for (size_t j = 0; j < wc->n_curves; j++)
			if (wc->curves[j] == curves[i].c)
				return fail_at(w, c->start_mark, sub, "curve listed twice");
		wc->curves[wc->n_curves++] = curves[i].c; /* 4 distinct at most */
	}
	return 0;
}

/* An empty list (or null) of a setting cstatd does not implement is fine. */
static bool empty_list(const yaml_node_t *n)
{
	return is_null(n) || (n->type == YAML_SEQUENCE_NODE &&
	                      n->data.sequence.items.start == n->data.sequence.items.top);
}

static int tls_pair(struct walk *w, size_t which, const yaml_node_t *k, const yaml_node_t *v,
                    const char *path)
{
	struct cstatd_webconfig *wc = w->wc;
	(void)k;
	switch (which) {
	case TLS_CERT:
		return set_string(w, v, path, &wc->cert);
	case TLS_KEY:
		return set_string(w, v, path, &wc->key);
	case TLS_CLIENT_CA:
		return set_string(w, v, path, &wc->client_ca);
	case TLS_CERT_FILE:
		return set_string(w, v, path, &wc->cert_file);
	case TLS_KEY_FILE:
		return set_string(w, v, path, &wc->key_file);
	case TLS_CLIENT_CA_FILE:
		return set_string(w, v, path, &wc->client_ca_file);
	case TLS_CLIENT_AUTH_TYPE:
		return get_client_auth(w, v, path, &wc->client_auth, &w->client_auth_given);
	case TLS_MIN_VERSION:
		return get_version(w, v, path, &wc->min_version);
	case TLS_MAX_VERSION:
		return get_version(w, v, path, &wc->max_version);
	case TLS_PREFER_SERVER:
		return get_bool(w, v, path, &wc->prefer_server_cipher_suites);
	case TLS_CURVES:
		return get_curves(w, v, path, wc);
	case TLS_CIPHER_SUITES:
		if (empty_list(v))
			return 0;
		return fail_at(w, v->start_mark, path,
		               "not supported: cstatd's TLS library (GnuTLS) names cipher suites "
		               "differently; remove the key to use its default suites (TLS 1.3 "
		               "and the AEAD suites of TLS 1.2)");
	case TLS_CLIENT_ALLOWED_SANS:
		if (empty_list(v))
			return 0;
		return fail_at(w, v->start_mark, path,
		               "not supported by cstatd; use client_auth_type "
		               "RequireAndVerifyClientCert with a client CA that signs only the "
		               "scrapers' certificates");
	}
	return 0;
}

/* Once the whole tls_server_config is read: the combinations. */
static int tls_check(struct walk *w)
{
	struct cstatd_webconfig *wc = w->wc;
	const char *p = "tls_server_config";
	bool have_ca = wc->client_ca_file || wc->client_ca;

	wc->tls =
	    wc->cert_file || wc->cert || wc->key_file || wc->key || have_ca || w->client_auth_given;
	if (!wc->tls)
		return 0;
	if (!wc->cert_file && !wc->cert)
		return fail_at(w, w->tls_mark, p, "missing one of cert or cert_file");
	if (!wc->key_file && !wc->key)
		return fail_at(w, w->tls_mark, p, "missing one of key or key_file");
	if (wc->cert_file && wc->cert)
		return fail_at(w, w->tls_mark, p, "give cert_file or cert, not both");
	if (wc->key_file && wc->key)
		return fail_at(w, w->tls_mark, p, "give key_file or key, not both");
	if (wc->client_ca_file && wc->client_ca)
		return fail_at(w, w->tls_mark, p, "give client_ca_file or client_ca, not both");
	if (have_ca && wc->client_auth == CSTATD_CLIENT_AUTH_NONE)
		return fail_at(w, w->tls_mark, p,
		               "a client CA is configured but client_auth_type is NoClientCert "
		               "(set RequireAndVerifyClientCert to check client certificates)");
	if (!have_ca && (wc->client_auth == CSTATD_CLIENT_AUTH_VERIFY_IF_GIVEN ||
	                 wc->client_auth == CSTATD_CLIENT_AUTH_REQUIRE_VERIFY))
		return fail_at(w, w->tls_mark, p,
		               "client_auth_type %s needs client_ca_file (or client_ca) to verify "
		               "client certificates against",
		               cstatd_client_auth_name(wc->client_auth));
	if (wc->min_version > wc->max_version)
		return fail_at(w, w->tls_mark, p, "min_version is above max_version");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* http_server_config                                                       */
/* ------------------------------------------------------------------------ */

static int header_pair(struct walk *w, size_t which, const yaml_node_t *k, const yaml_node_t *v,
                       const char *path)
{
	char *s;
	(void)k;
	int rc = get_string(w, v, path, &s);
	if (rc != 0)
		return rc;
	if (s) {
		/* Values go into a response header: no line breaks, no controls. */
		for (const char *c = s; *c; c++) {
			if ((unsigned char)*c < 0x20 || *c == 0x7f) {
				free(s);
				return fail_at(w, v->start_mark, path,
				               "control character in a header value");
			}
		}
		if ((which == CSTATD_HDR_XFO && strcmp(s, "deny") != 0 &&
		     strcmp(s, "sameorigin") != 0) ||
		    (which == CSTATD_HDR_XCTO && strcmp(s, "nosniff") != 0)) {
			free(s);
			return fail_at(w, v->start_mark, path, "expected %s",
			               which == CSTATD_HDR_XFO ? "deny or sameorigin" : "nosniff");
		}
	}
	free(w->wc->headers[which]);
	w->wc->headers[which] = s;
	return 0;
}

static const char *const http_keys[] = {"http2", "headers"};

static int http_pair(struct walk *w, size_t which, const yaml_node_t *k, const yaml_node_t *v,
                     const char *path)
{
	(void)k;
	if (which == 0)
		return get_bool(w, v, path, &w->wc->http2);
	return walk_mapping(w, v, path, cstatd_web_header_names, CSTATD_WEB_HEADERS, header_pair);
}

/* ------------------------------------------------------------------------ */
/* basic_auth_users                                                         */
/* ------------------------------------------------------------------------ */

/* $2a$, $2b$ or $2y$, a two-digit cost 04-31, '$', 22 salt + 31 hash
 * characters of bcrypt's base64 alphabet: exactly what crypt(3) and Go's
 * bcrypt produce and accept. */
static bool bcrypt_syntax(const char *h)
{
	if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' ||
	    (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' || h[6] != '$')
		return false;
	if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9')
		return false;
	int cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return false;
	for (const char *c = h + 7; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '/'))
			return false;
	}
	return true;
}

static int walk_users(struct walk *w, const yaml_node_t *map)
{
	struct cstatd_webconfig *wc = w->wc;
	char path[MAX_USER_NAME + 40];

	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail_at(w, map->start_mark, "basic_auth_users",
		               "expected a mapping of user: bcrypt-hash lines, got %s",
		               kind_name(map));
	size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (n > CSTATD_WEBCONFIG_MAX_USERS)
		return fail_at(w, map->start_mark, "basic_auth_users",
		               "%zu users; at most %d are supported (use a reverse proxy for more)",
		               n, CSTATD_WEBCONFIG_MAX_USERS);
	if (n == 0)
		return 0;
	wc->users = calloc(n, sizeof(*wc->users));
	if (!wc->users)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		yaml_node_pair_t *p = &map->data.mapping.pairs.start[i];
		const yaml_node_t *k = node(w, p->key), *v = node(w, p->value);
		if (!k || !v)
			return fail_at(w, map->start_mark, "basic_auth_users", "broken mapping");
		char *name = NULL, *hash = NULL;
		int rc = k->type == YAML_SCALAR_NODE
		             ? get_string(w, k, "basic_auth_users", &name)
		             : fail_at(w, k->start_mark, "basic_auth_users",
		                       "a user name must be a string, got %s", kind_name(k));
		if (rc != 0)
			return rc;
		if (!name)
			return fail_at(w, k->start_mark, "basic_auth_users", "empty user name");
		snprintf(path, sizeof(path), "basic_auth_users.%.*s", MAX_USER_NAME, name);
		wc->users[wc->n_users++].name = name; /* freed with wc from here on */
		if (strlen(name) > MAX_USER_NAME)
			return fail_at(w, k->start_mark, path, "user name longer than %d bytes",
			               MAX_USER_NAME);
		for (const char *c = name; *c; c++) {
			/* Basic auth sends "user:password": a colon cannot be in a name. */
			if (*c == ':' || (unsigned char)*c < 0x20 || *c == 0x7f)
				return fail_at(
				    w, k->start_mark, path,
				    "a user name cannot contain ':' or control characters");
		}
		for (size_t j = 0; j + 1 < wc->n_users; j++)
			if (strcmp(wc->users[j].name, name) == 0)
				return fail_at(w, k->start_mark, path, "user given twice");
		rc = get_string(w, v, path, &hash);
		if (rc != 0)
			return rc;
		wc->users[wc->n_users - 1].hash = hash;
		if (!hash || !bcrypt_syntax(hash))
			return fail_at(
			    w, v->start_mark, path,
			    "not a bcrypt hash (expected $2y$, $2b$ or $2a$, a cost 04-31 "
			    "and 53 characters, 60 in all; make one with: htpasswd -nBC 10 "
			    "\"\" | tr -d ':\\n')");
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Top level                                                                */
/* ------------------------------------------------------------------------ */

enum { TOP_TLS, TOP_HTTP, TOP_USERS, TOP_RATE_LIMIT, TOP_N };
static const char *const top_keys[TOP_N] = {
    [TOP_TLS] = "tls_server_config",
    [TOP_HTTP] = "http_server_config",
    [TOP_USERS] = "basic_auth_users",
    [TOP_RATE_LIMIT] = "rate_limit",
};

static int top_pair(struct walk *w, size_t which, const yaml_node_t *k, const yaml_node_t *v,
                    const char *path)
{
	(void)k;
	switch (which) {
	case TOP_TLS:
		w->tls_mark = v->start_mark;
		return walk_mapping(w, v, path, tls_keys, TLS_N_KEYS, tls_pair);
	case TOP_HTTP:
		return walk_mapping(w, v, path, http_keys, 2, http_pair);
	case TOP_USERS:
		return walk_users(w, v);
	case TOP_RATE_LIMIT:
		if (is_null(v))
			return 0;
		return fail_at(w, v->start_mark, path,
		               "not supported by cstatd (--web.max-connections and --web.timeout "
		               "bound what clients can take; see docs/reliability.md)");
	}
	return 0;
}

int cstatd_webconfig_parse(const char *buf, size_t len, struct cstatd_webconfig *out, char *err,
                           size_t err_len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct cstatd_webconfig wc;
	char dummy[1];
	int rc;

	if (!err || err_len == 0) {
		err = dummy;
		err_len = sizeof(dummy);
	}
	err[0] = '\0';
	if (len > CSTATD_WEBCONFIG_MAX_BYTES) {
		snprintf(err, err_len, "file larger than %d bytes", CSTATD_WEBCONFIG_MAX_BYTES);
		return -EINVAL;
	}
	cstatd_webconfig_init(&wc);
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)(buf ? buf : ""), len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
		yaml_mark_t m = parser.problem_mark;
		if (parser.error == YAML_READER_ERROR) {
			/* Bad bytes (encoding, controls) come as an offset only. */
			m.line = m.column = 0;
			for (size_t i = 0; i < parser.problem_offset && i < len; i++) {
				if (buf[i] == '\n') {
					m.line++;
					m.column = 0;
				} else {
					m.column++;
				}
			}
		}
		snprintf(err, err_len, "%zu:%zu: invalid YAML: %s%s%s", m.line + 1, m.column + 1,
		         parser.problem ? parser.problem : "syntax error",
		         parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return rc;
	}
	struct walk w = {.doc = &doc, .wc = &wc, .err = err, .err_len = err_len};
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	rc = 0;
	if (root && !is_null(root)) {
		if (root->type != YAML_MAPPING_NODE)
			rc = fail_at(
			    &w, root->start_mark, "",
			    "expected a mapping (tls_server_config:, basic_auth_users: ...) "
			    "at the top, got %s",
			    kind_name(root));
		else
			rc = walk_mapping(&w, root, "", top_keys, TOP_N, top_pair);
	}
	if (rc == 0)
		rc = tls_check(&w);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc != 0) {
		if (rc == -ENOMEM)
			snprintf(err, err_len, "out of memory");
		cstatd_webconfig_free(&wc);
		return rc;
	}
	*out = wc;
	return 0;
}
