/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSTATD_DURATION_H
#define CSTATD_DURATION_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses a Go/Prometheus-style duration: one or more <integer><unit> groups,
 * units ms, s, m, h (e.g. "500ms", "1s", "1m30s"). Returns 0 and the value in
 * milliseconds, or -EINVAL (empty, no unit, unknown unit, overflow).
 */
int cstatd_parse_duration_ms(const char *s, uint64_t *out_ms);

/* Writes a duration in the same syntax, in its largest exact unit
 * ("1s", "500ms", "90s", "2m"). */
void cstatd_format_duration(uint64_t ms, char *buf, size_t len);

#endif
