/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Accept and Accept-Encoding negotiation for /metrics
 * (exporters/http/negotiate.h). The input up to the first '\n' is the Accept
 * value, the rest the Accept-Encoding value; both are passed as C strings in
 * heap blocks of exactly their size, as libmicrohttpd hands them over.
 *
 * Checks: OpenMetrics is only chosen when the header names it, gzip only
 * when the header has "gzip" or "*"; a trailing ", " and a leading "," (empty
 * items) change neither answer; a NULL header means the defaults.
 */
#include <strings.h>

#include "exporters/http/negotiate.h"
#include "tests/fuzz/fuzz_util.h"

/* s with `pre` before and `post` after it, in an exactly sized block. */
static char *wrap(const char *pre, const char *s, const char *post)
{
	size_t a = strlen(pre), b = strlen(s), c = strlen(post);
	char *w = malloc(a + b + c + 1);

	FUZZ_CHECK(w != NULL);
	memcpy(w, pre, a);
	memcpy(w + a, s, b);
	memcpy(w + a + b, post, c + 1);
	return w;
}

static bool has_ci(const char *s, const char *needle)
{
	return strcasestr(s, needle) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t alen = nl ? (size_t)(nl - data) : size;
	char *accept = fuzz_strdup(data, alen);
	char *enc = fuzz_strdup(nl ? nl + 1 : data + size, nl ? size - alen - 1 : 0);
	char *w;
	bool om = http_wants_openmetrics(accept);
	bool gz = http_accepts_gzip(enc);

	FUZZ_CHECK(!om || has_ci(accept, "application/openmetrics-text"));
	FUZZ_CHECK(!gz || has_ci(enc, "gzip") || strchr(enc, '*') != NULL);
	FUZZ_CHECK(http_wants_openmetrics(accept) == om && http_accepts_gzip(enc) == gz);

	w = wrap(",", accept, ", ");
	FUZZ_CHECK(http_wants_openmetrics(w) == om);
	free(w);
	w = wrap(",", enc, ", ");
	FUZZ_CHECK(http_accepts_gzip(w) == gz);
	free(w);

	FUZZ_CHECK(!http_wants_openmetrics(NULL) && !http_accepts_gzip(NULL));
	free(accept);
	free(enc);
	return 0;
}
