/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One line of a GET /containers/<id>/stats stream (dk_parse_stats): cgroup
 * v1 and v2 bodies, Podman's, empty samples, 2^64-1 limits. Checks: a
 * rejected line leaves the output untouched; an accepted one sets only the
 * stats-derived `have` bits, and none for an empty sample; devices and
 * interfaces stay within their caps and drop only when full; interface names
 * are NUL-terminated UTF-8 and never `lo`; the id is "" or at most 64 bytes;
 * the working set never exceeds usage; limits that are present are non-zero;
 * the read time is finite and non-negative; the bandwidth flag and bit agree.
 */
#include <errno.h>
#include <math.h>

#include "collectors/docker/docker_parse.h"
#include "tests/fuzz/fuzz_util.h"

#define STATS_BITS                                                                    \
	(CSTATD_HAVE_CPU_STAT | CSTATD_HAVE_CPU_BANDWIDTH | CSTATD_HAVE_MEM_CURRENT | \
	 CSTATD_HAVE_MEM_MAX | CSTATD_HAVE_MEM_STAT | CSTATD_HAVE_WORKING_SET |       \
	 CSTATD_HAVE_IO_STAT | CSTATD_HAVE_PIDS_CURRENT | CSTATD_HAVE_PIDS_MAX |      \
	 CSTATD_HAVE_NETDEV)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dk_stats st;
	const struct cstatd_sample *s = &st.s;
	int rc;

	memset(&st, FUZZ_POISON, sizeof(st));
	rc = dk_parse_stats((const char *)data, size, &st);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc < 0) {
		FUZZ_CHECK(fuzz_is_poison(&st, sizeof(st)));
		return 0;
	}
	FUZZ_CHECK(fuzz_terminated(st.id, sizeof(st.id)));
	FUZZ_CHECK(isfinite(st.read) && st.read >= 0);
	FUZZ_CHECK((s->have & ~(uint32_t)STATS_BITS) == 0);
	if (st.empty) {
		FUZZ_CHECK(s->have == 0);
		return 0;
	}
	FUZZ_CHECK(st.io.n_devices <= CSTATD_IO_MAX_DEVICES);
	FUZZ_CHECK(st.io.n_dropped == 0 || st.io.n_devices == CSTATD_IO_MAX_DEVICES);
	FUZZ_CHECK(st.net.n_ifs <= CSTATD_NET_MAX_IFS);
	FUZZ_CHECK(st.net.n_dropped == 0 || st.net.n_ifs == CSTATD_NET_MAX_IFS);
	for (unsigned i = 0; i < st.net.n_ifs; i++) {
		FUZZ_CHECK_TEXT(st.net.ifs[i].name);
		FUZZ_CHECK(strcmp(st.net.ifs[i].name, "lo") != 0);
	}
	if (s->have & CSTATD_HAVE_WORKING_SET)
		FUZZ_CHECK((s->have & CSTATD_HAVE_MEM_CURRENT) && s->working_set <= s->mem_current);
	if (s->have & CSTATD_HAVE_MEM_MAX)
		FUZZ_CHECK(s->mem_max != 0);
	if (s->have & CSTATD_HAVE_PIDS_MAX)
		FUZZ_CHECK(s->pids_max != 0);
	FUZZ_CHECK(!!(s->have & CSTATD_HAVE_CPU_BANDWIDTH) == s->cpu.has_bandwidth);
	return 0;
}
