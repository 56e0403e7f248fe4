/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP server (libmicrohttpd, its own polling thread). Every response
 * comes from the published snapshot or from memory; no request ever waits
 * on a collector.
 */
#ifndef CSTATD_HTTP_H
#define CSTATD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct http_server;

/* Binds `listen` ("[host]:port") and starts serving. With
 * `enable_lifecycle`, POST /-/reload asks for a configuration reload (as
 * SIGHUP does). On failure returns -errno and a human explanation in `why`. */
int http_server_start(const char *listen, bool enable_lifecycle, struct http_server **out,
                      char *why, size_t why_len);
void http_server_stop(struct http_server *srv);

#endif
