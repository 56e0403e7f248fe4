/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Duration parsing and formatting (daemon/duration.h): "500ms", "1m30s"...
 * The input as a C string goes to cstatd_parse_duration_ms; its first eight
 * bytes, as a number, also go to cstatd_format_duration.
 *
 * Checks: a rejected string leaves the output untouched; every accepted
 * value formats to a string that parses back to the same value; formatting
 * any value gives a NUL-terminated string that fits a 32-byte buffer and
 * parses back to the value; a too-small buffer is never overrun (the
 * 4-byte one is an exact heap block).
 */
#include <errno.h>

#include "daemon/duration.h"
#include "tests/fuzz/fuzz_util.h"

static void roundtrip(uint64_t ms)
{
	char buf[32];
	char *tiny = malloc(4);
	uint64_t back = 0;

	FUZZ_CHECK(tiny != NULL);
	memset(buf, FUZZ_POISON, sizeof(buf));
	cstatd_format_duration(ms, buf, sizeof(buf));
	FUZZ_CHECK(fuzz_terminated(buf, sizeof(buf)));
	FUZZ_CHECK(cstatd_parse_duration_ms(buf, &back) == 0 && back == ms);
	cstatd_format_duration(ms, tiny, 4);
	FUZZ_CHECK(fuzz_terminated(tiny, 4) && strncmp(tiny, buf, strlen(tiny)) == 0);
	free(tiny);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strdup(data, size);
	uint64_t ms = 0x5a5a5a5a5a5a5a5aull;
	int rc = cstatd_parse_duration_ms(s, &ms);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc < 0) {
		FUZZ_CHECK(ms == 0x5a5a5a5a5a5a5a5aull);
	} else {
		/* At least one digit and a unit letter per group. */
		FUZZ_CHECK(strlen(s) >= 2);
		roundtrip(ms);
	}
	if (size >= 8) {
		uint64_t v;

		memcpy(&v, data, sizeof(v));
		roundtrip(v);
	}
	free(s);
	return 0;
}
