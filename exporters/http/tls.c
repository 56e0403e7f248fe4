/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS details libmicrohttpd leaves to its user: the GnuTLS priority string
 * built from min_version / max_version / curve_preferences /
 * prefer_server_cipher_suites, and client certificates per
 * client_auth_type.
 *
 * libmicrohttpd asks for a client certificate only when it was given a
 * trust list, and never requires or verifies one. So every new TLS session
 * is adjusted before its handshake starts (the connection-started
 * notification runs after gnutls_init and before the first byte is read):
 * GNUTLS_CERT_REQUIRE for the Require* modes, which makes a handshake
 * without a certificate fail, and for the Verify* modes a verify function
 * that runs gnutls_certificate_verify_peers2 against the client CAs during
 * the handshake, so a bad certificate fails the handshake too (as Go's
 * crypto/tls does) instead of reaching a request.
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cstatd/log.h"
#include "exporters/http/http_internal.h"

static const char *version_token(enum cstatd_tls_version v)
{
	switch (v) {
	case CSTATD_TLS10:
		return "+VERS-TLS1.0";
	case CSTATD_TLS11:
		return "+VERS-TLS1.1";
	case CSTATD_TLS12:
		return "+VERS-TLS1.2";
	case CSTATD_TLS13:
		return "+VERS-TLS1.3";
	}
	return "";
}

static const char *curve_token(enum cstatd_tls_curve c)
{
	switch (c) {
	case CSTATD_CURVE_P256:
		return "+GROUP-SECP256R1";
	case CSTATD_CURVE_P384:
		return "+GROUP-SECP384R1";
	case CSTATD_CURVE_P521:
		return "+GROUP-SECP521R1";
	case CSTATD_CURVE_X25519:
		return "+GROUP-X25519";
	}
	return "";
}

int http__tls_priorities(const struct cstatd_webconfig *wc, char *buf, size_t len, char *why,
                         size_t why_len)
{
	size_t off = 0;
#define APPEND(...)                                                                   \
	do {                                                                          \
		int n_ = snprintf(buf + off, off < len ? len - off : 0, __VA_ARGS__); \
		off += n_ > 0 ? (size_t)n_ : 0;                                       \
	} while (0)

	APPEND("NORMAL:-VERS-ALL");
	for (unsigned v = wc->min_version; v <= wc->max_version; v++)
		APPEND(":%s", version_token((enum cstatd_tls_version)v));
	if (wc->n_curves > 0) {
		APPEND(":-GROUP-ALL");
		for (size_t i = 0; i < wc->n_curves; i++)
			APPEND(":%s", curve_token(wc->curves[i]));
	}
	if (wc->prefer_server_cipher_suites)
		APPEND(":%%SERVER_PRECEDENCE");
#undef APPEND
	if (off >= len) {
		snprintf(why, why_len, "TLS priority string too long");
		return -EINVAL;
	}
	/* Let GnuTLS say now whether it takes it (a version it was built
	 * without, a system policy that forbids TLS 1.0). */
	gnutls_priority_t prio;
	const char *at = NULL;
	int rc = gnutls_priority_init(&prio, buf, &at);
	if (rc < 0) {
		snprintf(why, why_len,
		         "GnuTLS does not accept the TLS settings (\"%s\" at \"%s\"): %s", buf,
		         at ? at : "?", gnutls_strerror(rc));
		return -EINVAL;
	}
	gnutls_priority_deinit(prio);
	return 0;
}

/* Runs inside the handshake once the client's certificate arrived (or did
 * not). Non-zero fails the handshake. */
static int verify_client_cert(gnutls_session_t session)
{
	unsigned n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(session, &n);
	if (!certs || n == 0)
		return 0; /* none given: GNUTLS_CERT_REQUIRE already decided */
	unsigned status = 0;
	int rc = gnutls_certificate_verify_peers2(session, &status);
	if (rc < 0 || status != 0) {
		gnutls_datum_t out = {0};
		if (rc >= 0 && gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
		                                                            &out, 0) == 0) {
			log_debug("TLS client certificate rejected", "reason=\"%s\"",
			          (const char *)out.data);
			gnutls_free(out.data);
		}
		return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
	}
	return 0;
}

void http__tls_connection_setup(const struct http_server *srv, struct MHD_Connection *connection)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t session = ci ? (gnutls_session_t)ci->tls_session : NULL;
	if (!session) {
		log_error("TLS connection without a GnuTLS session; closing it", NULL);
		const union MHD_ConnectionInfo *fi =
		    MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (fi)
			shutdown(fi->connect_fd, SHUT_RDWR);
		return;
	}
	switch (srv->wc.client_auth) {
	case CSTATD_CLIENT_AUTH_NONE:
		gnutls_certificate_server_set_request(session, GNUTLS_CERT_IGNORE);
		break;
	case CSTATD_CLIENT_AUTH_REQUEST:
		gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
		break;
	case CSTATD_CLIENT_AUTH_REQUIRE_ANY:
		gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
		break;
	case CSTATD_CLIENT_AUTH_VERIFY_IF_GIVEN:
		gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
		gnutls_session_set_verify_function(session, verify_client_cert);
		break;
	case CSTATD_CLIENT_AUTH_REQUIRE_VERIFY:
		gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
		gnutls_session_set_verify_function(session, verify_client_cert);
		break;
	}
}
