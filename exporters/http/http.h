/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP server (libmicrohttpd, its own polling thread). Every response
 * comes from the published snapshot or from memory; no request ever waits
 * on a collector. Limits against hostile clients, TLS and basic auth are
 * described in docs/reliability.md.
 */
#ifndef CSTATD_HTTP_H
#define CSTATD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_server;

/* POST /-/reload: reloads the configuration and says how it went. Called on
 * the HTTP thread; returns 0, or a negative errno with one line in `err`. */
typedef int (*http_reload_fn)(void *ctx, char *err, size_t err_len);

struct http_server_config {
	const char *listen; /* "[host]:port" */
	/* POST /-/reload answers 200 when `reload` returns 0, else 500 with the
	 * error (as Prometheus does). NULL: lifecycle endpoints off (405). */
	http_reload_fn reload;
	void *reload_ctx;
	uint64_t max_connections;    /* --web.max-connections */
	uint64_t timeout_ms;         /* --web.timeout (rounded up to seconds) */
	uint64_t max_header_bytes;   /* --web.max-header-bytes: request line + headers */
	uint64_t max_url_length;     /* --web.max-url-length */
	const char *web_config_file; /* --web.config.file; NULL or "": plain HTTP, no auth */
};

/* Fills the defaults of the option table (64 connections, 10 s, 8192 and
 * 1024 bytes), no reload, no web config. */
void http_server_config_defaults(struct http_server_config *cfg);

/*
 * Loads the web config file (if any), binds `listen` and starts serving.
 * The connection slots (max_connections and a small slack) are taken from
 * the process-wide fd budget (cstatd/fsroot.h), so call it after
 * cstatd_fd_budget_init() and before the sweep thread starts.
 * On failure returns a negative errno and one human line in `why`
 * (bad web config, TLS unavailable, port in use, fd budget too small).
 */
int http_server_start(const struct http_server_config *cfg, struct http_server **out, char *why,
                      size_t why_len);
void http_server_stop(struct http_server *srv);

#endif
