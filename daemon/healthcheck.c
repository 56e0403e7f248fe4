/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cstatd --health-check URL`. The runtime image holds the binary and its
 * libraries and nothing else (no shell, no curl), so the binary itself is
 * the health check client. It is deliberately tiny: one HTTP/1.0 GET over
 * a plain socket, the status line is all it reads, and every step shares
 * one deadline (non-blocking connect + poll), so a hung daemon turns into
 * "unhealthy" in 2 s instead of a health check that hangs with it.
 * libcurl would do, but this way the check does not depend on how libcurl
 * was built, and the code path is the same the tests exercise.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/healthcheck.h"

#ifndef CSTATD_VERSION
#define CSTATD_VERSION "dev"
#endif

struct http_url {
	char host[256];
	char port[8];
	char path[1024];
};

/* http://HOST[:PORT][/PATH] → parts. Returns 0 or -EINVAL with a reason. */
static int parse_url(const char *url, struct http_url *u, const char **why)
{
	const char *p, *host_end, *port_start = NULL;
	size_t hl;

	if (strncmp(url, "http://", 7) != 0) {
		*why = strncmp(url, "https://", 8) == 0
		           ? "https is not supported (cstatd serves plain HTTP); use http://"
		           : "expected http://HOST[:PORT]/PATH";
		return -EINVAL;
	}
	p = url + 7;
	if (*p == '[') { /* [IPv6]:port */
		host_end = strchr(p, ']');
		if (!host_end) {
			*why = "unterminated [IPv6 address]";
			return -EINVAL;
		}
		p++;
		hl = (size_t)(host_end - p);
		host_end++;
	} else {
		host_end = p + strcspn(p, ":/?#");
		hl = (size_t)(host_end - p);
	}
	if (hl == 0 || hl >= sizeof(u->host)) {
		*why = hl ? "host name too long" : "no host";
		return -EINVAL;
	}
	memcpy(u->host, p, hl);
	u->host[hl] = '\0';

	p = host_end;
	if (*p == ':') {
		port_start = ++p;
		p += strspn(p, "0123456789");
		size_t pl = (size_t)(p - port_start);
		long port = pl && pl < 6 ? strtol(port_start, NULL, 10) : 0;
		if (port < 1 || port > 65535) {
			*why = "bad port (1-65535)";
			return -EINVAL;
		}
		snprintf(u->port, sizeof(u->port), "%ld", port);
	} else {
		strcpy(u->port, "80");
	}
	if (*p == '\0') {
		strcpy(u->path, "/");
	} else if (*p == '/') {
		size_t n = strcspn(p, "#");
		if (n >= sizeof(u->path)) {
			*why = "path too long";
			return -EINVAL;
		}
		memcpy(u->path, p, n);
		u->path[n] = '\0';
	} else {
		*why = "expected http://HOST[:PORT]/PATH";
		return -EINVAL;
	}
	/* The path goes into the request line verbatim: no spaces or controls. */
	for (const char *c = u->path; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			*why = "the path has spaces or control characters (percent-encode them)";
			return -EINVAL;
		}
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline. Returns 0, or -ETIMEDOUT /
 * -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = events};
		int n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Non-blocking connect to the first address that accepts, within the
 * deadline. Returns the connected fd, or -errno of the last attempt. */
static int connect_any(const struct addrinfo *ai, long long deadline)
{
	int last = -ECONNREFUSED;
	for (; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		if (fd < 0) {
			last = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			return fd;
		if (errno != EINPROGRESS) {
			last = -errno;
			close(fd);
			continue;
		}
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc == 0) {
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
				soerr = errno;
			if (soerr == 0)
				return fd;
			rc = -soerr;
		}
		last = rc;
		close(fd);
		if (rc == -ETIMEDOUT)
			break;
	}
	return last;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Reads until the status line is complete (or the peer closes). Returns the
 * number of bytes in buf (NUL-terminated), or -errno. */
static int read_status_line(int fd, char *buf, size_t cap, long long deadline)
{
	size_t len = 0;
	while (len + 1 < cap) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n > 0) {
			len += (size_t)n;
			buf[len] = '\0';
			if (strchr(buf, '\n'))
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		int rc = wait_fd(fd, POLLIN, deadline);
		if (rc != 0)
			return rc;
	}
	buf[len] = '\0';
	return (int)len;
}

int cstatd_health_check_timeout(const char *url, int timeout_ms)
{
	struct http_url u;
	const char *why = "bad URL";
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char req[1536], resp[512];
	long long deadline = now_ms() + timeout_ms;
	int fd = -1, rc, status = 1;

	if (!url || parse_url(url, &u, &why) != 0) {
		fprintf(stderr, "cstatd: --health-check %s: %s\n", url ? url : "(none)", why);
		return 1;
	}
	/* Name resolution is the one step the deadline cannot bound (glibc's
	 * resolver has its own timeouts); health checks use 127.0.0.1. */
	rc = getaddrinfo(u.host, u.port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "cstatd: --health-check %s: cannot resolve %s: %s\n", url, u.host,
		        gai_strerror(rc));
		goto out;
	}
	fd = connect_any(ai, deadline);
	if (fd < 0) {
		fprintf(stderr, "cstatd: --health-check %s: cannot connect to %s port %s: %s\n",
		        url, u.host, u.port, fd == -ETIMEDOUT ? "timed out" : strerror(-fd));
		goto out;
	}
	/* IPv6 literals go back into brackets in the Host header. */
	int rl = snprintf(req, sizeof(req),
	                  "GET %s HTTP/1.0\r\nHost: %s%s%s:%s\r\n"
	                  "User-Agent: cstatd-health-check/%s\r\nAccept: */*\r\n\r\n",
	                  u.path, strchr(u.host, ':') ? "[" : "", u.host,
	                  strchr(u.host, ':') ? "]" : "", u.port, CSTATD_VERSION);
	if (rl < 0 || (size_t)rl >= sizeof(req)) {
		fprintf(stderr, "cstatd: --health-check %s: URL too long\n", url);
		goto out;
	}
	rc = send_all(fd, req, (size_t)rl, deadline);
	if (rc == 0)
		rc = read_status_line(fd, resp, sizeof(resp), deadline);
	if (rc < 0) {
		fprintf(stderr, "cstatd: --health-check %s: %s\n", url,
		        rc == -ETIMEDOUT ? "no answer within the timeout" : strerror(-rc));
		goto out;
	}
	int code = 0;
	char *eol = resp + strcspn(resp, "\r\n");
	*eol = '\0';
	if (sscanf(resp, "HTTP/%*d.%*d %3d", &code) != 1 || code < 100 || code > 599) {
		fprintf(stderr, "cstatd: --health-check %s: not an HTTP response: \"%.80s\"\n", url,
		        resp);
		goto out;
	}
	if (code < 200 || code > 299) {
		fprintf(stderr, "cstatd: --health-check %s: unhealthy: %s\n", url, resp);
		goto out;
	}
	printf("cstatd: --health-check %s: healthy: %s\n", url, resp);
	status = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	return status;
}

int cstatd_health_check(const char *url)
{
	return cstatd_health_check_timeout(url, CSTATD_HEALTH_CHECK_TIMEOUT_MS);
}
