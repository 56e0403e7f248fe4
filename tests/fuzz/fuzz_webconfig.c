/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The --web.config.file parser (exporters/http/webconfig.h): exporter-toolkit
 * YAML through libyaml into struct cstatd_webconfig. The buffer is passed
 * as is (not NUL-terminated), as the loader passes the file's bytes.
 *
 * Checks: on failure `out` is untouched and `err` is one non-empty line; on
 * success users, curves and enums stay within their declared sets, user
 * names are distinct and every hash is a 60-character bcrypt string, any
 * certificate, key, CA or client-auth setting turns TLS on, the loader-only
 * PEM fields stay empty, and freeing returns the struct to its defaults.
 */
#include <errno.h>

#include "exporters/http/webconfig.h"
#include "tests/fuzz/fuzz_util.h"

static void check(const struct cstatd_webconfig *wc)
{
	FUZZ_CHECK(wc->n_users <= CSTATD_WEBCONFIG_MAX_USERS);
	FUZZ_CHECK(wc->n_users == 0 || wc->users != NULL);
	for (size_t i = 0; i < wc->n_users; i++) {
		const struct cstatd_web_user *u = &wc->users[i];

		FUZZ_CHECK(u->name != NULL && u->name[0] != '\0' && u->hash != NULL);
		FUZZ_CHECK(strlen(u->hash) == 60 && strncmp(u->hash, "$2", 2) == 0);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(wc->users[k].name, u->name) != 0);
	}
	FUZZ_CHECK(wc->n_curves <= CSTATD_WEBCONFIG_MAX_CURVES);
	for (size_t i = 0; i < wc->n_curves; i++)
		FUZZ_CHECK(wc->curves[i] >= CSTATD_CURVE_P256 &&
		           wc->curves[i] <= CSTATD_CURVE_X25519);
	FUZZ_CHECK(wc->client_auth >= CSTATD_CLIENT_AUTH_NONE &&
	           wc->client_auth <= CSTATD_CLIENT_AUTH_REQUIRE_VERIFY);
	FUZZ_CHECK(wc->min_version >= CSTATD_TLS10 && wc->min_version <= CSTATD_TLS13);
	FUZZ_CHECK(wc->max_version >= CSTATD_TLS10 && wc->max_version <= CSTATD_TLS13);
	if (wc->cert_file || wc->key_file || wc->client_ca_file || wc->cert || wc->key ||
	    wc->client_ca || wc->client_auth != CSTATD_CLIENT_AUTH_NONE)
		FUZZ_CHECK(wc->tls);
	for (size_t i = 0; i < CSTATD_WEB_HEADERS; i++)
		FUZZ_CHECK(wc->headers[i] == NULL || wc->headers[i][0] != '\0');
	FUZZ_CHECK(!wc->cert_pem && !wc->key_pem && !wc->client_ca_pem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cstatd_webconfig wc, defaults;
	char err[256];
	int rc;

	cstatd_webconfig_init(&defaults);
	memset(&wc, FUZZ_POISON, sizeof(wc));
	memset(err, FUZZ_POISON, sizeof(err));
	rc = cstatd_webconfig_parse((const char *)data, size, &wc, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	FUZZ_CHECK(fuzz_terminated(err, sizeof(err)));
	if (rc < 0) {
		FUZZ_CHECK(fuzz_is_poison(&wc, sizeof(wc)));
		FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
		return 0;
	}
	check(&wc);
	cstatd_webconfig_free(&wc);
	FUZZ_CHECK(memcmp(&wc, &defaults, sizeof(wc)) == 0);
	return 0;
}
