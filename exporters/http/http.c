/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP server: routing, the limits against hostile clients, TLS and
 * basic auth (docs/reliability.md). Connection slots and request-line
 * checks are in http_conn.c, TLS sessions in tls.c, bcrypt in auth.c.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cstatd/fsroot.h"
#include "cstatd/log.h"
#include "cstatd/snapshot.h"
#include "cstatd/stats.h"
#include "daemon/options.h"
#include "exporters/http/auth.h"
#include "exporters/http/http.h"
#include "exporters/http/http_internal.h"
#include "exporters/http/negotiate.h"
#include "exporters/prometheus/render.h"

#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define CT_OM "application/openmetrics-text; version=1.0.0; charset=utf-8"

#define CT_JSON "application/json"
#define CT_PLAIN "text/plain; charset=utf-8"

static const char landing_page[] = "<html><head><title>cstatd</title></head><body><h1>cstatd</h1>"
                                   "<p>Per-host container metrics.</p><ul>"
                                   "<li><a href=\"/metrics\">/metrics</a></li>"
                                   "<li><a href=\"/healthz\">/healthz</a></li>"
                                   "<li><a href=\"/readyz\">/readyz</a></li></ul></body></html>\n";

/* Every response goes out here: the web config's extra headers
 * (http_server_config.headers) are added to all of them. */
static enum MHD_Result queue_response(struct MHD_Connection *conn, unsigned status,
                                      struct MHD_Response *resp)
{
	const struct http_conn *c = http__conn_of(conn);
	if (c && c->srv->have_webconfig) {
		for (size_t i = 0; i < CSTATD_WEB_HEADERS; i++)
			if (c->srv->wc.headers[i])
				MHD_add_response_header(resp, cstatd_web_header_names[i],
				                        c->srv->wc.headers[i]);
	}
	return MHD_queue_response(conn, status, resp);
}

static enum MHD_Result send_static(struct MHD_Connection *conn, unsigned status, const char *body,
                                   const char *ctype)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	enum MHD_Result ret = queue_response(conn, status, resp);
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
	enum MHD_Result ret = queue_response(conn, MHD_HTTP_OK, resp);
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
	enum MHD_Result ret = queue_response(conn, MHD_HTTP_OK, resp);
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

static enum MHD_Result send_405(struct MHD_Connection *conn, const char *allow)
{
	static const char body[] = "method not allowed\n";
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CT_PLAIN);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result ret = queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_copy(struct MHD_Connection *conn, unsigned status, const char *body)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CT_PLAIN);
	enum MHD_Result ret = queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_unauthorized(struct MHD_Connection *conn)
{
	static const char body[] = "Unauthorized\n";
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CT_PLAIN);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
	                        "Basic realm=\"cstatd\", charset=\"UTF-8\"");
	enum MHD_Result ret = queue_response(conn, MHD_HTTP_UNAUTHORIZED, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* POST /-/reload: the reload runs now, on this thread (reading and checking
 * one config file takes milliseconds), so the answer can say how it went:
 * 200, or 500 with the error, as Prometheus answers. */
static enum MHD_Result serve_reload(struct http_server *srv, struct MHD_Connection *conn,
                                    const char *method)
{
	char err[512], body[600];
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return send_405(conn, "POST");
	err[0] = '\0';
	if (srv->reload(srv->reload_ctx, err, sizeof(err)) == 0)
		return send_static(conn, MHD_HTTP_OK, "configuration reloaded\n", CT_PLAIN);
	snprintf(body, sizeof(body), "failed to reload config: %s\n", err[0] ? err : "error");
	return send_copy(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, body);
}

/* The request is admitted (limits, authentication): route it. */
static enum MHD_Result serve(struct http_server *srv, struct MHD_Connection *conn, const char *url,
                             const char *method)
{
	if (srv->reload && strcmp(url, "/-/reload") == 0)
		return serve_reload(srv, conn, method);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return send_405(conn, "GET, HEAD");
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

/* Liveness and readiness carry no data, and the probes that call them
 * (Docker HEALTHCHECK, kubelet) hold no passwords: basic auth does not
 * apply to them. TLS, being per connection, does. */
static bool auth_exempt(const char *url)
{
	return strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0;
}

static enum MHD_Result answer_auth(struct http_server *srv, struct MHD_Connection *conn,
                                   const char *url, const char *method, enum http_auth_verdict v)
{
	switch (v) {
	case HTTP_AUTH_OK:
		return serve(srv, conn, url, method);
	case HTTP_AUTH_DENIED:
		return send_unauthorized(conn);
	case HTTP_AUTH_PENDING:
		return MHD_YES; /* suspended; called again when the check is done */
	case HTTP_AUTH_BUSY:
		break;
	}
	return send_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
	                   "too many password checks under way; retry\n", CT_PLAIN);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_conn *c = http__conn_of(conn);
	(void)upload_data;

	if (!c)
		return MHD_NO; /* not accounted for (out of memory at accept): close */
	if (*con_cls == NULL) {
		/* First call: the request line and headers are in. */
		*con_cls = c;
		http__conn_request_begins(srv, c);
		if (c->raw_uri_len > srv->max_url_length)
			return send_static(conn, MHD_HTTP_URI_TOO_LONG, "URL too long\n", CT_PLAIN);
		if (c->bad_escape)
			return send_static(conn, MHD_HTTP_BAD_REQUEST,
			                   "bad percent-encoding in the path\n", CT_PLAIN);
		bool nul = false;
		if (http__request_header_bytes(conn, method, version, c, &nul) >
		    srv->max_header_bytes)
			return send_static(conn, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
			                   "request headers too large\n", CT_PLAIN);
		if (nul)
			return send_static(conn, MHD_HTTP_BAD_REQUEST, "NUL byte in a header\n",
			                   CT_PLAIN);
		if (srv->auth && !auth_exempt(url))
			return answer_auth(srv, conn, url, method,
			                   http__auth_check(srv->auth, conn, &c->auth_job));
		return serve(srv, conn, url, method);
	}
	if (c->auth_job) {
		/* Resumed: the bcrypt worker is done with it. */
		struct http_auth_job *job = c->auth_job;
		c->auth_job = NULL;
		return answer_auth(srv, conn, url, method, http__auth_finish(srv->auth, job));
	}
	/* A request body after the answer was queued: discarded unread. */
	*upload_data_size = 0;
	return MHD_YES;
}

/* libmicrohttpd's own messages (handshake failures, clients that hang up
 * mid-request) are routine under hostile traffic: debug level. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[300];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (char *p = msg; *p; p++)
		if (*p == '"' || *p == '\n' || *p == '\r')
			*p = *p == '"' ? '\'' : ' ';
	log_debug("libmicrohttpd", "detail=\"%s\"", msg);
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
		/* A deep backlog: under a connection flood, a scraper's SYN that
		 * finds the queue full is dropped and retried only a second
		 * later (measured: 1 s scrapes with 128 under wrk -c200). */
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
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

void http_server_config_defaults(struct http_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = ":9338";
	cfg->max_connections = 64;
	cfg->timeout_ms = 10000;
	cfg->max_header_bytes = 8192;
	cfg->max_url_length = 1024;
}

/* Connections shut down to make room that libmicrohttpd has not reaped yet
 * (it accepts at most ten per round): its own limit is this much higher
 * than --web.max-connections. */
#define CONN_SLACK 16
/* Descriptors besides the connections: listener, epoll, the inter-thread
 * channel, and a few to spare. */
#define FD_OVERHEAD 8

/* The connection slots come out of the collectors' fd budget, so a large
 * container count can never leave the HTTP server without descriptors
 * (accept failing with EMFILE), and the budget's fixed reserve stays for
 * Docker, Alertmanager and /proc reads. cstatd_fd_take() is meant for the
 * sweep thread, which does not run yet (main starts it after this). The
 * slots are held until exit: giving them back at stop would race the
 * sweep thread, which still runs then. */
static int reserve_fds(unsigned n, char *why, size_t why_len)
{
	for (unsigned i = 0; i < n; i++) {
		if (!cstatd_fd_take()) {
			for (unsigned j = 0; j < i; j++)
				cstatd_fd_give();
			snprintf(
			    why, why_len,
			    "--web.max-connections: %u connection slots need %u file descriptors, "
			    "but only %u are left under the open-files limit (raise "
			    "LimitNOFILE / ulimit -n, or lower --web.max-connections)",
			    n - CONN_SLACK - FD_OVERHEAD, n, i);
			return -EMFILE;
		}
	}
	return 0;
}

/* The web config: loaded and checked completely before anything listens. */
static int setup_webconfig(struct http_server *srv, const char *path, char *tls_prio,
                           size_t prio_len, char *why, size_t why_len)
{
	int rc = cstatd_webconfig_load(path, &srv->wc, why, why_len);
	if (rc != 0)
		return rc;
	srv->have_webconfig = true;
	if (srv->wc.tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(
			    why, why_len,
			    "%s: TLS is configured but this libmicrohttpd was built without TLS "
			    "support",
			    path);
			return -ENOTSUP;
		}
		char pwhy[400];
		rc = http__tls_priorities(&srv->wc, tls_prio, prio_len, pwhy, sizeof(pwhy));
		if (rc != 0) {
			snprintf(why, why_len, "%s: tls_server_config: %s", path, pwhy);
			return rc;
		}
	}
	if (srv->wc.n_users > 0) {
		if (!srv->wc.tls)
			log_warn(
			    "basic auth without TLS: passwords cross the network in clear text",
			    "web_config_file=%s", path);
		rc = http__auth_new(&srv->wc, &srv->auth);
		if (rc != 0) {
			snprintf(why, why_len, "cannot start the password-check thread: %s",
			         strerror(-rc));
			return rc;
		}
	}
	log_info("web config loaded", "file=%s tls=%s client_auth=%s basic_auth_users=%zu", path,
	         srv->wc.tls ? "on" : "off", cstatd_client_auth_name(srv->wc.client_auth),
	         srv->wc.n_users);
	return 0;
}

static void free_server(struct http_server *srv)
{
	http__auth_free(srv->auth);
	cstatd_webconfig_free(&srv->wc);
	free(srv);
}

int http_server_start(const struct http_server_config *cfg, struct http_server **out, char *why,
                      size_t why_len)
{
	char tls_prio[256];
	int rc;

	if (cfg->max_connections < 1 || cfg->max_connections > 100000) {
		snprintf(why, why_len, "--web.max-connections must be 1 to 100000");
		return -EINVAL;
	}
	struct http_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->idle.next = srv->idle.prev = &srv->idle;
	srv->listen_fd = -1;
	srv->reload = cfg->reload;
	srv->reload_ctx = cfg->reload_ctx;
	srv->max_connections = (unsigned)cfg->max_connections;
	srv->max_header_bytes = (size_t)cfg->max_header_bytes;
	srv->max_url_length = (size_t)cfg->max_url_length;
	cstatd_webconfig_init(&srv->wc);
	if (cfg->web_config_file && cfg->web_config_file[0]) {
		rc = setup_webconfig(srv, cfg->web_config_file, tls_prio, sizeof(tls_prio), why,
		                     why_len);
		if (rc != 0) {
			free_server(srv);
			return rc;
		}
	}
	unsigned mhd_limit = srv->max_connections + CONN_SLACK;
	rc = reserve_fds(mhd_limit + FD_OVERHEAD, why, why_len);
	if (rc != 0) {
		free_server(srv);
		return rc;
	}
	int fd = bind_listener(cfg->listen, why, why_len);
	if (fd < 0) {
		free_server(srv);
		return fd;
	}
	srv->listen_fd = fd;

	/* Per-connection memory: the request line and headers are parsed in
	 * place in one pool, with libmicrohttpd's header records and the
	 * response headers beside them. Sized so a request of exactly
	 * --web.max-header-bytes fits; the exact limit (431) is checked in
	 * on_request, and anything much larger libmicrohttpd answers itself
	 * (431, or 414 while still in the request line). */
	size_t pool = srv->max_header_bytes + srv->max_header_bytes / 2 + 4096;
	unsigned timeout_s = (unsigned)((cfg->timeout_ms + 999) / 1000);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls_opts[5];
	size_t n_tls = 0;
	if (srv->wc.tls) {
		flags |= MHD_USE_TLS;
		tls_opts[n_tls++] =
		    (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->wc.key_pem};
		tls_opts[n_tls++] =
		    (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->wc.cert_pem};
		tls_opts[n_tls++] =
		    (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, tls_prio};
		if (srv->wc.client_ca_pem)
			tls_opts[n_tls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
			                                            srv->wc.client_ca_pem};
	}
	tls_opts[n_tls] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	if (srv->auth)
		flags |= MHD_ALLOW_SUSPEND_RESUME;

	/* The logger first: libmicrohttpd warns about options before it. */
	srv->mhd = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
	    MHD_OPTION_NOTIFY_CONNECTION, http__notify_connection, srv, MHD_OPTION_URI_LOG_CALLBACK,
	    http__uri_logger, srv, MHD_OPTION_NOTIFY_COMPLETED, http__request_completed, srv,
	    MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
	if (!srv->mhd) {
		snprintf(why, why_len, "cannot start the HTTP%s server on %s",
		         srv->wc.tls ? "S" : "", cfg->listen);
		close(fd);
		free_server(srv);
		return -EIO;
	}
	log_info("HTTP server started",
	         "listen=%s tls=%s basic_auth=%s max_connections=%u timeout_s=%u "
	         "max_header_bytes=%zu max_url_length=%zu",
	         cfg->listen, srv->wc.tls ? "on" : "off", srv->auth ? "on" : "off",
	         srv->max_connections, timeout_s, srv->max_header_bytes, srv->max_url_length);
	*out = srv;
	return 0;
}

void http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	/* Suspended connections (password checks) are resumed first:
	 * MHD_stop_daemon must not find any. */
	http__auth_stop(srv->auth);
	/* MHD owns the listening socket it was given and closes it. */
	MHD_stop_daemon(srv->mhd);
	if (srv->n_evicted || srv->n_refused)
		log_debug("HTTP connections shut to make room", "evicted=%llu refused=%llu",
		          (unsigned long long)srv->n_evicted, (unsigned long long)srv->n_refused);
	free_server(srv);
}
