/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the files of exporters/http only (http.c, http_conn.c, tls.c,
 * auth.c): the server struct and the per-connection record. Everything
 * here runs on libmicrohttpd's one polling thread unless a comment says
 * otherwise.
 */
#ifndef CSTATD_HTTP_INTERNAL_H
#define CSTATD_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exporters/http/http.h"
#include "exporters/http/webconfig.h"

struct http_auth;
struct http_auth_job;

/*
 * One TCP connection. "Idle" means no request is being answered on it: it
 * was just accepted, is still sending its request line and headers (a
 * slowloris sits here forever), or waits for the next keep-alive request.
 * Idle connections are kept in a list, longest-waiting first; that is the
 * order in which they give their slot up when the server is full.
 */
struct http_conn {
	struct http_conn *prev, *next; /* in srv->idle while idle */
	struct http_server *srv;
	struct MHD_Connection *mhd;
	int fd;
	bool in_request; /* the access handler runs for a request on it */
	bool evicted;    /* shut down to make room; MHD closes it next round */
	/* The request line as it came (MHD_OPTION_URI_LOG_CALLBACK), before
	 * MHD decodes the URL. */
	size_t raw_uri_len;
	bool bad_escape; /* '%' not followed by two hex digits, or %00, in the path */
	struct http_auth_job *auth_job; /* a bcrypt check in flight */
};

struct http_server {
	struct MHD_Daemon *mhd;
	int listen_fd;
	http_reload_fn reload;
	void *reload_ctx;
	unsigned max_connections;
	size_t max_header_bytes, max_url_length;

	/* Connection accounting (MHD thread only). */
	struct http_conn idle; /* list head; idle.next = the longest waiting */
	unsigned n_live;       /* tracked and not evicted */
	uint64_t n_evicted, n_refused;

	/* --web.config.file */
	bool have_webconfig;
	struct cstatd_webconfig wc;
	struct http_auth *auth; /* NULL: no basic_auth_users */
};

/* http_conn.c: MHD_OPTION_NOTIFY_CONNECTION, MHD_OPTION_URI_LOG_CALLBACK,
 * MHD_OPTION_NOTIFY_COMPLETED. */
void http__notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe);
void *http__uri_logger(void *cls, const char *uri, struct MHD_Connection *connection);
void http__request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                             enum MHD_RequestTerminationCode toe);
/* The record of a connection (NULL if it could not be tracked). */
struct http_conn *http__conn_of(struct MHD_Connection *connection);
/* The first call of the access handler for a request: the connection is
 * busy until http__request_completed. */
void http__conn_request_begins(struct http_server *srv, struct http_conn *c);
/* Request line + headers, in bytes as they came on the wire (+ CRLFs);
 * *has_nul when a header name or value holds a NUL byte. */
size_t http__request_header_bytes(struct MHD_Connection *connection, const char *method,
                                  const char *version, const struct http_conn *c, bool *has_nul);

/* tls.c */
/* The GnuTLS priority string for the web config (versions, groups, server
 * preference). Returns 0, or -EINVAL with the reason in why. */
int http__tls_priorities(const struct cstatd_webconfig *wc, char *buf, size_t len, char *why,
                         size_t why_len);
/* On a new TLS connection, before its handshake: ask for / require a
 * client certificate and verify it as client_auth_type says. */
void http__tls_connection_setup(const struct http_server *srv, struct MHD_Connection *connection);

#endif
