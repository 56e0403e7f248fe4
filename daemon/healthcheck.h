/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cstatd --health-check URL`: a client mode of the binary for container
 * health checks (Dockerfile HEALTHCHECK, Compose healthcheck) in an image
 * that has no shell, curl or wget. It GETs the URL once and reports.
 */
#ifndef CSTATD_HEALTHCHECK_H
#define CSTATD_HEALTHCHECK_H

/* Default timeout of the whole check: connect, send, read the status line. */
#define CSTATD_HEALTH_CHECK_TIMEOUT_MS 2000

/*
 * GETs `url` (http[s]://[USER:PASSWORD@]HOST[:PORT][/PATH]; HOST a name, an
 * IPv4 address or a bracketed IPv6 address; PORT defaults to 80 / 443;
 * USER:PASSWORD sent as basic auth; over https the certificate of a
 * loopback host is not verified, others' against the system CAs) with
 * HTTP/1.0, within
 * CSTATD_HEALTH_CHECK_TIMEOUT_MS. Returns 0 when the server answers a 2xx
 * status, 1 otherwise (bad URL, unresolvable host, refused, timed out, or
 * a non-2xx status), with one line on stderr that says which.
 */
int cstatd_health_check(const char *url);

/* The same with an explicit timeout (tests). */
int cstatd_health_check_timeout(const char *url, int timeout_ms);

#endif
