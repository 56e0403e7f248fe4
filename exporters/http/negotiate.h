/* SPDX-License-Identifier: Apache-2.0 */
/* Content negotiation for /metrics, apart from the server so it can be
 * unit-tested and fuzzed on raw header values. */
#ifndef CSTATD_NEGOTIATE_H
#define CSTATD_NEGOTIATE_H

#include <stdbool.h>

/*
 * Accept: OpenMetrics is chosen when application/openmetrics-text (version
 * 1.0.0, 0.0.1 or none) has a strictly higher q than the best text/plain
 * (version 0.0.4 or none) or * / * entry; anything else — including headers we
 * cannot parse — falls back to text 0.0.4, as Prometheus' own negotiation does.
 * Accept-Encoding: gzip when "gzip" (or "*") appears with q > 0.
 * Either header may be NULL.
 */
bool http_wants_openmetrics(const char *accept);
bool http_accepts_gzip(const char *accept_encoding);

#endif
