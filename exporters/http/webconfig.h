/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --web.config.file: TLS and basic-auth settings in the Prometheus
 * exporter-toolkit YAML format (docs/web-configuration.md of
 * prometheus/exporter-toolkit), so one file serves node_exporter and cstatd
 * alike. The parser (webconfig.c, libyaml) takes a buffer and never opens
 * anything; the loader (webconfig_load.c) reads the file and the
 * certificate, key and CA files it names.
 *
 * What cstatd does not implement (cipher_suites, client_allowed_sans,
 * rate_limit) is an error naming the key, never silently ignored: a
 * security setting that is dropped without a word is worse than none.
 */
#ifndef CSTATD_WEBCONFIG_H
#define CSTATD_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Caps on what one file may hold: the parser refuses more. */
#define CSTATD_WEBCONFIG_MAX_BYTES (1024 * 1024)
#define CSTATD_WEBCONFIG_MAX_USERS 256
#define CSTATD_WEBCONFIG_MAX_CURVES 4

/* tls_server_config.client_auth_type, as Go's crypto/tls names them. */
enum cstatd_client_auth {
	CSTATD_CLIENT_AUTH_NONE = 0,        /* NoClientCert (default) */
	CSTATD_CLIENT_AUTH_REQUEST,         /* RequestClientCert: asked for, not checked */
	CSTATD_CLIENT_AUTH_REQUIRE_ANY,     /* RequireAnyClientCert: must send one, not checked */
	CSTATD_CLIENT_AUTH_VERIFY_IF_GIVEN, /* VerifyClientCertIfGiven */
	CSTATD_CLIENT_AUTH_REQUIRE_VERIFY,  /* RequireAndVerifyClientCert */
};

/* TLS protocol versions as on the wire (0x0301 = TLS 1.0 ... 0x0304 = 1.3). */
enum cstatd_tls_version {
	CSTATD_TLS10 = 0x0301,
	CSTATD_TLS11 = 0x0302,
	CSTATD_TLS12 = 0x0303,
	CSTATD_TLS13 = 0x0304,
};

enum cstatd_tls_curve {
	CSTATD_CURVE_P256 = 1, /* CurveP256 */
	CSTATD_CURVE_P384,     /* CurveP384 */
	CSTATD_CURVE_P521,     /* CurveP521 */
	CSTATD_CURVE_X25519,   /* X25519 */
};

/* http_server_config.headers: the five the exporter-toolkit allows. */
enum cstatd_web_header {
	CSTATD_HDR_CSP = 0, /* Content-Security-Policy */
	CSTATD_HDR_XFO,     /* X-Frame-Options: deny | sameorigin */
	CSTATD_HDR_XCTO,    /* X-Content-Type-Options: nosniff */
	CSTATD_HDR_XXSS,    /* X-XSS-Protection */
	CSTATD_HDR_HSTS,    /* Strict-Transport-Security */
	CSTATD_WEB_HEADERS,
};
extern const char *const cstatd_web_header_names[CSTATD_WEB_HEADERS];

struct cstatd_web_user {
	char *name;
	char *hash; /* bcrypt, "$2y$10$..." (60 characters) */
};

struct cstatd_webconfig {
	/* tls_server_config; TLS is on when any of the certificate, key, CA or
	 * client_auth_type settings is given (as the exporter-toolkit decides). */
	bool tls;
	char *cert_file, *key_file, *client_ca_file; /* as written; NULL: not set */
	char *cert, *key, *client_ca;                /* inline PEM; NULL: not set */
	enum cstatd_client_auth client_auth;
	enum cstatd_tls_version min_version, max_version; /* TLS12, TLS13 by default */
	bool prefer_server_cipher_suites;                 /* true by default */
	enum cstatd_tls_curve curves[CSTATD_WEBCONFIG_MAX_CURVES];
	size_t n_curves; /* 0: the TLS library's default groups */

	/* http_server_config */
	bool http2; /* accepted for compatibility; cstatd speaks HTTP/1.1 only */
	char *headers[CSTATD_WEB_HEADERS]; /* NULL: not sent */

	/* basic_auth_users; none: no authentication */
	struct cstatd_web_user *users;
	size_t n_users;

	/* Filled by the loader (webconfig_load.c), never by the parser: the
	 * PEM text of the certificate chain, the key and the client CAs, from
	 * the files or the inline settings. */
	char *cert_pem, *key_pem, *client_ca_pem;
	size_t cert_pem_len, key_pem_len, client_ca_pem_len;
};

/* Defaults: no TLS, no users, TLS 1.2 to 1.3, server cipher preference. */
void cstatd_webconfig_init(struct cstatd_webconfig *wc);

/*
 * Parses `len` bytes of YAML (need not be NUL-terminated) into `out`.
 * Returns 0; -EINVAL with one line in `err` ("3:5: tls_server_config.
 * certfile: unknown key ..."; line and column 1-based); or -ENOMEM. The
 * caller owns what `out` holds (cstatd_webconfig_free) on success; `out` is
 * untouched on failure. Checks everything the file alone can tell (values,
 * key combinations, bcrypt hash syntax); not whether the files exist.
 */
int cstatd_webconfig_parse(const char *buf, size_t len, struct cstatd_webconfig *out, char *err,
                           size_t err_len);

/*
 * Reads `path` (at most CSTATD_WEBCONFIG_MAX_BYTES), parses it, and reads
 * the certificate, key and client CA files it names (relative paths are
 * relative to the directory of `path`, as the exporter-toolkit does), then
 * checks with GnuTLS that the key matches the certificate and that the CA
 * file holds certificates. Errors come as one line that starts with the
 * path ("web.yml:3:5: ..."). Returns 0 or a negative errno; the caller owns
 * `out` on success (cstatd_webconfig_free).
 */
int cstatd_webconfig_load(const char *path, struct cstatd_webconfig *out, char *err,
                          size_t err_len);

/* Frees what `wc` holds (the key material is zeroed first) and re-inits. */
void cstatd_webconfig_free(struct cstatd_webconfig *wc);

/* "NoClientCert", ... for logs. */
const char *cstatd_client_auth_name(enum cstatd_client_auth a);

#endif
