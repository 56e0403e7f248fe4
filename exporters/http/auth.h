/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP basic authentication against bcrypt hashes (basic_auth_users of the
 * web config), module-private to exporters/http.
 *
 * bcrypt is slow on purpose (about 100 ms at cost 10 on a small VM), and the
 * HTTP server has one thread: a check on it would stall every other scrape.
 * So a check runs on a worker thread while the connection is suspended
 * (MHD_suspend_connection), one at a time as the exporter-toolkit does, with
 * a short queue; successful checks are remembered, keyed by an HMAC-SHA-256
 * of user, password and hash under a per-process random key (passwords are
 * never kept), so a scraper that comes back every few seconds costs one
 * HMAC, not one bcrypt.
 */
#ifndef CSTATD_HTTP_AUTH_H
#define CSTATD_HTTP_AUTH_H

#include <microhttpd.h>

#include "exporters/http/webconfig.h"

struct http_auth;
struct http_auth_job;

enum http_auth_verdict {
	HTTP_AUTH_OK,      /* serve the request */
	HTTP_AUTH_DENIED,  /* 401 with WWW-Authenticate */
	HTTP_AUTH_PENDING, /* connection suspended; the handler is called again */
	HTTP_AUTH_BUSY,    /* too many checks queued: 503, retry */
};

/* The users are borrowed from `wc`, which must outlive the returned
 * object. Starts the worker thread. Returns 0 or -errno. */
int http__auth_new(const struct cstatd_webconfig *wc, struct http_auth **out);

/* Stops the worker: the check under way finishes, queued ones are
 * cancelled (their connections resumed, to be answered 503). Call before
 * MHD_stop_daemon, which must not find suspended connections. */
void http__auth_stop(struct http_auth *a);
void http__auth_free(struct http_auth *a);

/*
 * First look at a request (MHD thread). OK or DENIED at once for a cached
 * success, a missing/garbled Authorization header or a full queue; else the
 * connection is suspended, *job is set (owned by the caller, see
 * http__auth_job_free) and PENDING returned: call http__auth_finish(job)
 * when the handler runs again.
 */
enum http_auth_verdict http__auth_check(struct http_auth *a, struct MHD_Connection *conn,
                                        struct http_auth_job **job);

/* The verdict of a finished job; remembers a success. Frees the job. */
enum http_auth_verdict http__auth_finish(struct http_auth *a, struct http_auth_job *job);

/* Frees a job the worker no longer holds (done or cancelled). */
void http__auth_job_free(struct http_auth_job *job);

#endif
