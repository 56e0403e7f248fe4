/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/duration.h"

int cstatd_parse_duration_ms(const char *s, uint64_t *out_ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	uint64_t total = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		uint64_t n = 0;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			uint64_t d = (uint64_t)(*s - '0');
			/* Exact: 18446744073709551615ms, which
			 * cstatd_format_duration() writes, parses. */
			if (n > (UINT64_MAX - d) / 10)
				return -EINVAL;
			n = n * 10 + d;
		}
		size_t i, best = sizeof(units) / sizeof(units[0]);
		/* Longest match first so "ms" is not read as "m" + garbage. */
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t ul = strlen(units[i].name);
			if (strncmp(s, units[i].name, ul) == 0 &&
			    (s[ul] == '\0' || (s[ul] >= '0' && s[ul] <= '9'))) {
				best = i;
				break;
			}
		}
		if (best == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		if (n > UINT64_MAX / units[best].ms || total > UINT64_MAX - n * units[best].ms)
			return -EINVAL;
		total += n * units[best].ms;
		s += strlen(units[best].name);
	}
	*out_ms = total;
	return 0;
}

void cstatd_format_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms % 3600000 == 0 && ms > 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % 60000 == 0 && ms > 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}
