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
 *
 * https:// (a --web.config.file with TLS) goes through GnuTLS, the library
 * the server side uses. For a loopback host (127.0.0.0/8, ::1, localhost)
 * the server certificate is not verified, like `curl -k`: the check asks
 * whether this daemon answers, and its certificate names the host scrapers
 * use, not 127.0.0.1. Other hosts are verified against the system CAs.
 * user:password@ in the URL is sent as basic auth (only needed when
 * /healthz is not exempt; cstatd exempts /healthz and /readyz).
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
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
	bool tls;
	char host[256];
	char port[8];
	char path[1024];
	char userinfo[256]; /* "user:password", percent-decoded; "" when none */
};

static int hex_val(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* "user:pa%40ss" → "user:pa@ss". Returns 0 or -EINVAL. */
static int decode_userinfo(const char *s, size_t n, char *out, size_t out_len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -EINVAL;
			int hi = hex_val(s[i + 1]), lo = hex_val(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if ((unsigned char)c < 0x20 || o + 1 >= out_len)
			return -EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* http[s]://[USER:PASSWORD@]HOST[:PORT][/PATH] → parts. Returns 0 or
 * -EINVAL with a reason. */
static int parse_url(const char *url, struct http_url *u, const char **why)
{
	const char *p, *host_end, *port_start = NULL;
	size_t hl;

	if (strncmp(url, "http://", 7) == 0) {
		u->tls = false;
		p = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		u->tls = true;
		p = url + 8;
	} else {
		*why = "expected http[s]://HOST[:PORT]/PATH";
		return -EINVAL;
	}
	u->userinfo[0] = '\0';
	size_t auth_len = strcspn(p, "@/?#");
	if (p[auth_len] == '@') {
		if (decode_userinfo(p, auth_len, u->userinfo, sizeof(u->userinfo)) != 0 ||
		    !strchr(u->userinfo, ':')) {
			*why =
			    "bad USER:PASSWORD@ (percent-encode '@', ':' and '/' in the password)";
			return -EINVAL;
		}
		p += auth_len + 1;
	}
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
		strcpy(u->port, u->tls ? "443" : "80");
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

/* Waits for what GnuTLS is blocked on (it may need to write while we read). */
static int wait_tls(int fd, gnutls_session_t tls, long long deadline)
{
	return wait_fd(fd, gnutls_record_get_direction(tls) ? POLLOUT : POLLIN, deadline);
}

static bool is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
	       strcmp(host, "::1") == 0;
}

/* The TLS handshake within the deadline. Returns 0, -ETIMEDOUT or -EPROTO
 * with GnuTLS' reason in *why. */
static int tls_handshake(int fd, gnutls_session_t tls, long long deadline, const char **why)
{
	for (;;) {
		int rc = gnutls_handshake(tls);
		if (rc == GNUTLS_E_SUCCESS)
			return 0;
		if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED) {
			*why = gnutls_strerror(rc);
			return -EPROTO;
		}
		rc = wait_tls(fd, tls, deadline);
		if (rc != 0)
			return rc;
	}
}

static int send_all(int fd, gnutls_session_t tls, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n;
		if (tls) {
			n = gnutls_record_send(tls, buf, len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				int rc = wait_tls(fd, tls, deadline);
				if (rc != 0)
					return rc;
				continue;
			}
			if (n < 0)
				return -EPROTO;
		} else {
			n = send(fd, buf, len, MSG_NOSIGNAL);
		}
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
static int read_status_line(int fd, gnutls_session_t tls, char *buf, size_t cap, long long deadline)
{
	size_t len = 0;
	while (len + 1 < cap) {
		ssize_t n;
		if (tls) {
			n = gnutls_record_recv(tls, buf + len, cap - 1 - len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				int rc = wait_tls(fd, tls, deadline);
				if (rc != 0)
					return rc;
				continue;
			}
			if (n == GNUTLS_E_PREMATURE_TERMINATION)
				n = 0;
			if (n < 0)
				return -EPROTO;
		} else {
			n = recv(fd, buf + len, cap - 1 - len, 0);
		}
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

/* RFC 4648 base64 of s (for the Authorization header). */
static void base64(const char *s, char *out, size_t out_len)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	for (size_t i = 0; i < n && o + 5 < out_len; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[o] = '\0';
}

/* The URL with the password of USER:PASSWORD@ replaced by "***". */
static void redact(const char *url, char *out, size_t out_len)
{
	if (!url) {
		snprintf(out, out_len, "(none)");
		return;
	}
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	size_t auth_len = strcspn(host, "@/?#");
	const char *colon = memchr(host, ':', auth_len);
	if (host[auth_len] != '@' || !colon) {
		snprintf(out, out_len, "%s", url);
		return;
	}
	snprintf(out, out_len, "%.*s***%s", (int)(colon + 1 - url), url, host + auth_len);
}

int cstatd_health_check_timeout(const char *raw_url, int timeout_ms)
{
	struct http_url u;
	char url[1200];
	gnutls_session_t tls = NULL;
	gnutls_certificate_credentials_t cred = NULL;
	char auth[400] = "", b64[360];
	const char *why = "bad URL";
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char req[1536], resp[512];
	long long deadline = now_ms() + timeout_ms;
	int fd = -1, rc, status = 1;

	/* Messages show the URL without its password (Docker keeps health
	 * check output in `docker inspect`). */
	redact(raw_url, url, sizeof(url));
	if (!raw_url || parse_url(raw_url, &u, &why) != 0) {
		fprintf(stderr, "cstatd: --health-check %s: %s\n", raw_url ? url : "(none)", why);
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
	if (u.tls) {
		const char *tls_why = "";
		bool verify = !is_loopback(u.host);
		if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
		    gnutls_init(&tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0 ||
		    gnutls_set_default_priority(tls) < 0 ||
		    gnutls_credentials_set(tls, GNUTLS_CRD_CERTIFICATE, cred) < 0) {
			fprintf(stderr, "cstatd: --health-check %s: cannot set up TLS\n", url);
			goto out;
		}
		if (verify) {
			gnutls_certificate_set_x509_system_trust(cred);
			gnutls_session_set_verify_cert(tls, u.host, 0);
		}
		if (!strchr(u.host, ':') && strspn(u.host, "0123456789.") != strlen(u.host))
			gnutls_server_name_set(tls, GNUTLS_NAME_DNS, u.host, strlen(u.host));
		gnutls_transport_set_int(tls, fd);
		rc = tls_handshake(fd, tls, deadline, &tls_why);
		if (rc != 0) {
			fprintf(stderr, "cstatd: --health-check %s: TLS handshake failed: %s\n",
			        url, rc == -ETIMEDOUT ? "no answer within the timeout" : tls_why);
			goto out;
		}
	}
	if (u.userinfo[0]) {
		base64(u.userinfo, b64, sizeof(b64));
		snprintf(auth, sizeof(auth), "Authorization: Basic %s\r\n", b64);
		explicit_bzero(u.userinfo, sizeof(u.userinfo));
	}
	/* IPv6 literals go back into brackets in the Host header. */
	int rl = snprintf(req, sizeof(req),
	                  "GET %s HTTP/1.0\r\nHost: %s%s%s:%s\r\n"
	                  "User-Agent: cstatd-health-check/%s\r\nAccept: */*\r\n%s\r\n",
	                  u.path, strchr(u.host, ':') ? "[" : "", u.host,
	                  strchr(u.host, ':') ? "]" : "", u.port, CSTATD_VERSION, auth);
	explicit_bzero(auth, sizeof(auth));
	explicit_bzero(b64, sizeof(b64));
	if (rl < 0 || (size_t)rl >= sizeof(req)) {
		fprintf(stderr, "cstatd: --health-check %s: URL too long\n", url);
		goto out;
	}
	rc = send_all(fd, tls, req, (size_t)rl, deadline);
	explicit_bzero(req, sizeof(req));
	if (rc == 0)
		rc = read_status_line(fd, tls, resp, sizeof(resp), deadline);
	if (rc < 0) {
		fprintf(stderr, "cstatd: --health-check %s: %s\n", url,
		        rc == -ETIMEDOUT ? "no answer within the timeout"
		        : rc == -EPROTO  ? "TLS error"
		                         : strerror(-rc));
		goto out;
	}
	int code = 0;
	char *eol = resp + strcspn(resp, "\r\n");
	*eol = '\0';
	if (resp[0] == '\0' && !u.tls) {
		fprintf(stderr,
		        "cstatd: --health-check %s: the server closed the connection without an "
		        "answer (does it serve TLS? use https://)\n",
		        url);
		goto out;
	}
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
	if (tls)
		gnutls_deinit(tls);
	if (cred)
		gnutls_certificate_free_credentials(cred);
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
