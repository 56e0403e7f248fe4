/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /proc/<pid>/net/dev (collectors/netdev/netdev_parse.h). Checks, beyond
 * "no crash": a rejected file leaves the output untouched; an accepted one
 * has at most CSTATD_NET_MAX_IFS interfaces, drops only when full, never
 * keeps `lo`, and every name is non-empty, NUL-terminated inside its 16
 * bytes and free of blanks and ':'; every interface came from its own line.
 */
#include <errno.h>

#include "collectors/netdev/netdev_parse.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cstatd_netdev a, b;
	const char *buf = (const char *)data;
	int rc;

	memset(&a, FUZZ_POISON, sizeof(a));
	memset(&b, FUZZ_POISON, sizeof(b));
	rc = netdev_parse(buf, size, &a);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	FUZZ_CHECK(netdev_parse(buf, size, &b) == rc);
	if (rc < 0) {
		FUZZ_CHECK(fuzz_is_poison(&a, sizeof(a)));
		return 0;
	}
	/* No padding in struct cstatd_netdev: names are 16 bytes, then u64s. */
	FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	FUZZ_CHECK(a.n_ifs <= CSTATD_NET_MAX_IFS);
	FUZZ_CHECK(a.n_dropped == 0 || a.n_ifs == CSTATD_NET_MAX_IFS);
	/* Two header lines, then one line per interface (lo included). */
	FUZZ_CHECK(a.n_ifs + a.n_dropped + 2 <= fuzz_count(data, size, '\n'));
	for (unsigned i = 0; i < a.n_ifs; i++) {
		const char *name = a.ifs[i].name;

		FUZZ_CHECK(fuzz_terminated(name, sizeof(a.ifs[i].name)));
		FUZZ_CHECK(name[0] != '\0' && strcmp(name, "lo") != 0);
		FUZZ_CHECK(strpbrk(name, " \t:") == NULL);
		/* Nothing after the NUL: the rest of the field is zeroed. */
		for (size_t k = strlen(name); k < sizeof(a.ifs[i].name); k++)
			FUZZ_CHECK(name[k] == '\0');
	}
	return 0;
}
