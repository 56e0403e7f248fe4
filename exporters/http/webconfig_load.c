/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The I/O half of --web.config.file: read the YAML file, hand it to the
 * parser (webconfig.c), then read the certificate, key and CA files it
 * names and let GnuTLS check them, so that a wrong file is one clear line
 * at start instead of a handshake that fails for every scraper later.
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exporters/http/webconfig.h"

/* A certificate chain, a key or a CA bundle: far below this. */
#define MAX_PEM_BYTES (1024 * 1024)

/* Reads a whole regular file of at most `cap` bytes, NUL-terminated.
 * Returns 0 (caller frees *out) or -errno (-EFBIG when larger). */
static int read_file(const char *path, size_t cap, char **out, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		close(fd);
		return e;
	}
	if ((size_t)st.st_size > cap) {
		close(fd);
		return -EFBIG;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	size_t n = 0;
	while (n <= (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			free(buf);
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > (size_t)st.st_size) { /* grew while we read */
		free(buf);
		return -EFBIG;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static const char *file_error(int rc)
{
	return rc == -EFBIG    ? "file too large"
	       : rc == -EINVAL ? "not a regular file"
	                       : strerror(-rc);
}

/* `name` relative to the directory of `config_path` unless absolute. */
static int resolve(const char *config_path, const char *name, char *out, size_t out_len)
{
	const char *slash = strrchr(config_path, '/');
	int n;
	if (name[0] == '/' || !slash)
		n = snprintf(out, out_len, "%s", name);
	else
		n = snprintf(out, out_len, "%.*s/%s", (int)(slash - config_path), config_path,
		             name);
	return n < 0 || (size_t)n >= out_len ? -ENAMETOOLONG : 0;
}

/* The PEM of one setting: the file (resolved) or the inline text. */
static int load_pem(const char *config_path, const char *key, const char *file,
                    const char *inline_pem, char **pem, size_t *pem_len, char *err, size_t err_len)
{
	char path[4096];
	if (!file && !inline_pem)
		return 0;
	if (inline_pem) {
		*pem = strdup(inline_pem);
		if (!*pem)
			return -ENOMEM;
		*pem_len = strlen(inline_pem);
		return 0;
	}
	int rc = resolve(config_path, file, path, sizeof(path));
	if (rc == 0)
		rc = read_file(path, MAX_PEM_BYTES, pem, pem_len);
	if (rc != 0)
		snprintf(err, err_len, "%s: tls_server_config.%s: cannot read %s: %s", config_path,
		         key, path, rc == -ENAMETOOLONG ? "path too long" : file_error(rc));
	return rc;
}

/* GnuTLS reads them the way libmicrohttpd will: a key that does not match
 * the certificate, or a CA file without a certificate, is caught here. */
static int check_tls(const char *config_path, const struct cstatd_webconfig *wc, char *err,
                     size_t err_len)
{
	gnutls_certificate_credentials_t cred;
	int rc = 0, g;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return -ENOMEM;
	gnutls_datum_t cert = {(unsigned char *)wc->cert_pem, (unsigned)wc->cert_pem_len};
	gnutls_datum_t key = {(unsigned char *)wc->key_pem, (unsigned)wc->key_pem_len};
	g = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
	if (g < 0) {
		snprintf(
		    err, err_len,
		    "%s: tls_server_config: the certificate (%s) and key (%s) do not load as a "
		    "PEM pair: %s",
		    config_path, wc->cert_file ? wc->cert_file : "cert",
		    wc->key_file ? wc->key_file : "key", gnutls_strerror(g));
		rc = -EINVAL;
		goto out;
	}
	if (wc->client_ca_pem) {
		gnutls_datum_t ca = {(unsigned char *)wc->client_ca_pem,
		                     (unsigned)wc->client_ca_pem_len};
		g = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
		if (g <= 0) {
			snprintf(err, err_len,
			         "%s: tls_server_config.%s: no CA certificate in it%s%s",
			         config_path, wc->client_ca_file ? "client_ca_file" : "client_ca",
			         g < 0 ? ": " : "", g < 0 ? gnutls_strerror(g) : "");
			rc = -EINVAL;
		}
	}
out:
	gnutls_certificate_free_credentials(cred);
	return rc;
}

int cstatd_webconfig_load(const char *path, struct cstatd_webconfig *out, char *err, size_t err_len)
{
	struct cstatd_webconfig wc;
	char perr[512];
	char *text = NULL;
	size_t len = 0;

	int rc = read_file(path, CSTATD_WEBCONFIG_MAX_BYTES, &text, &len);
	if (rc != 0) {
		snprintf(err, err_len, "%s: cannot read: %s", path, file_error(rc));
		return rc;
	}
	rc = cstatd_webconfig_parse(text, len, &wc, perr, sizeof(perr));
	free(text);
	if (rc != 0) {
		snprintf(err, err_len, "%s:%s", path, perr);
		return rc;
	}
	if (wc.tls) {
		rc = load_pem(path, "cert_file", wc.cert_file, wc.cert, &wc.cert_pem,
		              &wc.cert_pem_len, err, err_len);
		if (rc == 0)
			rc = load_pem(path, "key_file", wc.key_file, wc.key, &wc.key_pem,
			              &wc.key_pem_len, err, err_len);
		if (rc == 0)
			rc = load_pem(path, "client_ca_file", wc.client_ca_file, wc.client_ca,
			              &wc.client_ca_pem, &wc.client_ca_pem_len, err, err_len);
		if (rc == 0)
			rc = check_tls(path, &wc, err, err_len);
		if (rc != 0) {
			if (rc == -ENOMEM)
				snprintf(err, err_len, "%s: out of memory", path);
			cstatd_webconfig_free(&wc);
			return rc;
		}
	}
	*out = wc;
	return 0;
}
