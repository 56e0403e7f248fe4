/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <microhttpd.h>
#include <stddef.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cstatd/log.h"
#include "cstatd/snapshot.h"
#include "cstatd/stats.h"
#include "daemon/options.h"
#include "exporters/http/http.h"
#include "exporters/http/negotiate.h"
#include "exporters/prometheus/render.h"

#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define CT_OM "application/openmetrics-text; version=1.0.0; charset=utf-8"

struct http_server {
	struct MHD_Daemon *mhd;
	int listen_fd;
	bool enable_lifecycle;
};

#define CT_JSON "application/json"
#define CT_PLAIN "text/plain; charset=utf-8"

static const char landing_page[] = "<html><head><title>cstatd</title></head><body><h1>cstatd</h1>"
                                   "<p>Per-host container metrics.</p><ul>"
                                   "<li><a href=\"/metrics\">/metrics</a></li>"
                                   "<li><a href=\"/healthz\">/healthz</a></li>"
                                   "<li><a href=\"/readyz\">/readyz</a></li></ul></body></html>\n";

static enum MHD_Result send_static(struct MHD_Connection *conn, unsigned status, const char *body,
                                   const char *ctype)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

_Static_assert(sizeof(struct cstatd_piece) == sizeof(struct MHD_IoVec) &&
                   offsetof(struct cstatd_piece, base) == offsetof(struct MHD_IoVec, iov_base) &&
                   offsetof(struct cstatd_piece, len) == offsetof(struct MHD_IoVec, iov_len),
               "struct cstatd_piece must have the layout of struct MHD_IoVec");

static void release_snapshot(void *cls)
{
	cstatd_snapshot_release(cls);
}

static enum MHD_Result serve_metrics(struct MHD_Connection *conn)
{
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
	const char *enc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
	bool om = http_wants_openmetrics(accept);
	bool gz = http_accepts_gzip(enc);

	enum cstatd_variant plain = om ? CSTATD_BODY_OM : CSTATD_BODY_TEXT;
	enum cstatd_variant want = gz ? (om ? CSTATD_BODY_OM_GZ : CSTATD_BODY_TEXT_GZ) : plain;
	atomic_fetch_add_explicit(&cstatd_stats.scrapes, 1, memory_order_relaxed);

	struct cstatd_snapshot *snap = cstatd_snapshot_acquire();
	if (!snap)
		return send_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "first sweep not complete\n",
		                   "text/plain; charset=utf-8");

	/* OpenMetrics and gzip are derived from this sweep's text body by the
	 * first request that wants them; should that fail (memory), fall back
	 * to the format, then the encoding, that is there. */
	enum cstatd_variant v = want;
	if (render_derive(snap, v) != 0)
		v = render_derive(snap, plain) == 0 ? plain : CSTATD_BODY_TEXT;
	bool is_om = v == CSTATD_BODY_OM || v == CSTATD_BODY_OM_GZ;
	bool is_gz = v == CSTATD_BODY_TEXT_GZ || v == CSTATD_BODY_OM_GZ;

	/* OpenMetrics goes out as pieces of the text body (no copy). */
	struct MHD_Response *resp =
	    v == CSTATD_BODY_OM
	        ? MHD_create_response_from_iovec((const struct MHD_IoVec *)snap->om,
	                                         (unsigned)snap->n_om, release_snapshot, snap)
	        : MHD_create_response_from_buffer_with_free_callback_cls(
	              snap->body[v].len, snap->body[v].data, release_snapshot, snap);
	if (!resp) {
		cstatd_snapshot_release(snap);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, is_om ? CT_OM : CT_TEXT);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
	if (is_gz)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Serves `len` bytes at `off` of a snapshot body; the response holds the
 * snapshot reference until it is sent. */
static enum MHD_Result send_snapshot_slice(struct MHD_Connection *conn,
                                           struct cstatd_snapshot *snap, enum cstatd_variant v,
                                           size_t off, size_t len, const char *ctype)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
	    len, snap->body[v].data + off, release_snapshot, snap);
	if (!resp) {
		cstatd_snapshot_release(snap);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* /alerts, /alerts/rules, /api/v1/containers[/<name or id>]: JSON bodies
 * rendered by the sweep. */
static enum MHD_Result serve_json(struct MHD_Connection *conn, enum cstatd_variant v,
                                  const char *which)
{
	cstatd_snapshot_want(v);
	struct cstatd_snapshot *snap = cstatd_snapshot_acquire();
	if (!snap || !snap->has[v]) {
		cstatd_snapshot_release(snap);
		/* Asked for for the first time: the next sweep renders it. */
		return send_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                   "{\"error\":\"not rendered yet; retry after one interval\"}\n",
		                   CT_JSON);
	}
	if (!which)
		return send_snapshot_slice(conn, snap, v, 0, snap->body[v].len, CT_JSON);
	for (size_t i = 0; i < snap->n_entries; i++) {
		const struct cstatd_snapshot_entry *e = &snap->entries[i];
		size_t wl = strlen(which);
		if (strcmp(e->name, which) == 0 || strcmp(e->key, which) == 0 ||
		    (wl >= 12 && strncmp(e->key, which, wl) == 0))
			return send_snapshot_slice(conn, snap, v, e->off, e->len, CT_JSON);
	}
	cstatd_snapshot_release(snap);
	return send_static(conn, MHD_HTTP_NOT_FOUND, "{\"error\":\"no such container\"}\n",
	                   CT_JSON);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	(void)version;
	(void)upload_data;
	(void)con_cls;

	if (srv->enable_lifecycle && strcmp(url, "/-/reload") == 0) {
		*upload_data_size = 0;
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return send_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST\n",
			                   CT_PLAIN);
		/* The main thread owns reloads: hand it a SIGHUP. The outcome
		 * shows in cstatd_config_last_reload_successful and the log. */
		kill(getpid(), SIGHUP);
		return send_static(conn, MHD_HTTP_OK, "reload requested\n", CT_PLAIN);
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		/* Any request body is discarded unread. */
		*upload_data_size = 0;
		return send_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
		                   "text/plain; charset=utf-8");
	}
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(conn);
	if (strcmp(url, "/healthz") == 0)
		return send_static(conn, MHD_HTTP_OK, "ok\n", "text/plain; charset=utf-8");
	if (strcmp(url, "/readyz") == 0)
		return cstatd_snapshot_ready()
		           ? send_static(conn, MHD_HTTP_OK, "ready\n", "text/plain; charset=utf-8")
		           : send_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                         "not ready: first sweep not complete\n",
		                         "text/plain; charset=utf-8");
	if (strcmp(url, "/alerts") == 0)
		return serve_json(conn, CSTATD_BODY_ALERTS_JSON, NULL);
	if (strcmp(url, "/alerts/rules") == 0)
		return serve_json(conn, CSTATD_BODY_RULES_JSON, NULL);
	if (strcmp(url, "/api/v1/containers") == 0)
		return serve_json(conn, CSTATD_BODY_CONTAINERS_JSON, NULL);
	if (strncmp(url, "/api/v1/containers/", 19) == 0 && url[19])
		return serve_json(conn, CSTATD_BODY_CONTAINERS_JSON, url + 19);
	if (strcmp(url, "/") == 0)
		return send_static(conn, MHD_HTTP_OK, landing_page, "text/html; charset=utf-8");
	return send_static(conn, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain; charset=utf-8");
}

/* Binds the listening socket ourselves so a port in use or a bad address
 * gives a precise error instead of MHD's NULL. */
static int bind_listener(const char *listen_spec, char *why, size_t why_len)
{
	char host[256];
	uint16_t port;
	if (cstatd_parse_listen(listen_spec, host, sizeof(host), &port) != 0) {
		snprintf(why, why_len, "'%s' is not ADDR:PORT", listen_spec);
		return -EINVAL;
	}
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%u", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL;

	hints.ai_family = host[0] ? AF_UNSPEC : AF_INET6;
	int gai = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
	if (gai != 0 && !host[0]) {
		hints.ai_family = AF_INET; /* no IPv6 on this host */
		gai = getaddrinfo(NULL, portstr, &hints, &res);
	}
	if (gai != 0) {
		snprintf(why, why_len, "cannot resolve '%s': %s", host, gai_strerror(gai));
		return -EINVAL;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1, zero = 0;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6 && !host[0])
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", listen_spec, strerror(err));
		return -err;
	}
	return fd;
}

int http_server_start(const char *listen_spec, bool enable_lifecycle, struct http_server **out,
                      char *why, size_t why_len)
{
	int fd = bind_listener(listen_spec, why, why_len);
	if (fd < 0)
		return fd;
	struct http_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		close(fd);
		return -ENOMEM;
	}
	srv->listen_fd = fd;
	srv->enable_lifecycle = enable_lifecycle;
	srv->mhd = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    on_request, srv, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)512, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
	if (!srv->mhd) {
		snprintf(why, why_len, "cannot start the HTTP server on %s", listen_spec);
		close(fd);
		free(srv);
		return -EIO;
	}
	*out = srv;
	return 0;
}

void http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	/* MHD owns the listening socket it was given and closes it. */
	MHD_stop_daemon(srv->mhd);
	free(srv);
}
