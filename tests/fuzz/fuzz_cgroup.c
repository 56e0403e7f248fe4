/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every cgroup v2 file format of collectors/cgroup/cgroup_parse.h in one
 * target: the first input byte picks the parser (modulo the table size), the
 * remaining bytes are the file. One target lets the formats share their
 * findings (a flat-keyed mutation that helps memory.stat helps cpu.stat);
 * the seed corpus holds every real file with its selector byte in front
 * (tests/fuzz/corpus/fuzz_cgroup/<nn>-<format>-<source>).
 *
 * Beyond "no crash" each run checks, cheaply:
 *  - a rejected file leaves the output exactly as it was (poisoned bytes);
 *  - a second parse of the same bytes gives the same struct;
 *  - per format: single values round-trip through printf, cpu.max never
 *    has a zero period, io.stat/PSI/procs stay within their declared sizes
 *    and counts, PSI averages are finite and non-negative, and a matched
 *    container path yields a 64-hex id that occurs in the path and one of
 *    the four runtime names.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>

#include "collectors/cgroup/cgroup_parse.h"
#include "tests/fuzz/fuzz_util.h"

enum fmt {
	FMT_U64_OR_MAX, /* memory.current/max/high/peak, pids.*, cpu.weight... */
	FMT_CPU_STAT,
	FMT_CPU_MAX,
	FMT_MEMORY_STAT,
	FMT_MEMORY_EVENTS,
	FMT_IO_STAT,
	FMT_PSI,
	FMT_CGROUP_EVENTS,
	FMT_PROCS,
	FMT_CONTAINER_PATH,
	FMT_COUNT
};

/* Calls parse twice on the same bytes with poisoned outputs: on failure the
 * output must still be poison, on success both outputs must agree (by
 * `same`, since structs with a bool have padding that is not compared). */
#define PARSE_TWICE(type, fn, same, buf, len)                                \
	({                                                                   \
		static type out_a_, out_b_;                                  \
		memset(&out_a_, FUZZ_POISON, sizeof(out_a_));                \
		memset(&out_b_, FUZZ_POISON, sizeof(out_b_));                \
		int rc_ = fn((buf), (len), &out_a_);                         \
		FUZZ_CHECK(rc_ == 0 || rc_ == -EINVAL);                      \
		FUZZ_CHECK(fn((buf), (len), &out_b_) == rc_);                \
		if (rc_ < 0)                                                 \
			FUZZ_CHECK(fuzz_is_poison(&out_a_, sizeof(out_a_))); \
		else                                                         \
			FUZZ_CHECK(same(&out_a_, &out_b_));                  \
		rc_ == 0 ? &out_a_ : NULL;                                   \
	})

/* Equality for the output types: bytewise where there is no padding. */
#define SAME_BYTES(a, b) (memcmp((a), (b), sizeof(*(a))) == 0)

static bool same_cpu_stat(const struct cstatd_cpu_stat *a, const struct cstatd_cpu_stat *b)
{
	return a->usage_usec == b->usage_usec && a->user_usec == b->user_usec &&
	       a->system_usec == b->system_usec && a->nr_periods == b->nr_periods &&
	       a->nr_throttled == b->nr_throttled && a->throttled_usec == b->throttled_usec &&
	       a->has_bandwidth == b->has_bandwidth;
}

static bool same_psi(const struct cstatd_psi *a, const struct cstatd_psi *b)
{
	return a->has_some == b->has_some && a->has_full == b->has_full &&
	       a->some_total_usec == b->some_total_usec &&
	       a->full_total_usec == b->full_total_usec && a->some_avg10 == b->some_avg10 &&
	       a->some_avg60 == b->some_avg60 && a->some_avg300 == b->some_avg300 &&
	       a->full_avg10 == b->full_avg10 && a->full_avg60 == b->full_avg60 &&
	       a->full_avg300 == b->full_avg300;
}

static bool same_cgroup_events(const struct cstatd_cgroup_events *a,
                               const struct cstatd_cgroup_events *b)
{
	return a->populated == b->populated && a->frozen == b->frozen;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* A single value must print back as its trimmed input, leading zeros aside. */
static void check_u64_roundtrip(const char *buf, size_t len, uint64_t v)
{
	char printed[24];
	size_t a = 0, b = len;

	while (a < b && blank(buf[a]))
		a++;
	while (b > a && blank(buf[b - 1]))
		b--;
	if (b - a == 3 && memcmp(buf + a, "max", 3) == 0) {
		FUZZ_CHECK(v == CSTATD_UNLIMITED);
		return;
	}
	while (b - a > 1 && buf[a] == '0')
		a++;
	snprintf(printed, sizeof(printed), "%llu", (unsigned long long)v);
	FUZZ_CHECK(strlen(printed) == b - a && memcmp(printed, buf + a, b - a) == 0);
}

static void check_psi(const struct cstatd_psi *p)
{
	const double avgs[] = {p->some_avg10, p->some_avg60, p->some_avg300,
	                       p->full_avg10, p->full_avg60, p->full_avg300};

	FUZZ_CHECK(p->has_some || p->has_full);
	for (size_t i = 0; i < sizeof(avgs) / sizeof(avgs[0]); i++)
		FUZZ_CHECK(isfinite(avgs[i]) && avgs[i] >= 0);
	if (!p->has_some)
		FUZZ_CHECK(p->some_total_usec == 0 && p->some_avg10 == 0);
	if (!p->has_full)
		FUZZ_CHECK(p->full_total_usec == 0 && p->full_avg10 == 0);
}

static void fuzz_container_path(const uint8_t *data, size_t size)
{
	static const char *const runtimes[] = {"docker", "podman", "containerd", "crio"};
	char *path = fuzz_strdup(data, size);
	char id[65];
	char runtime[16];
	int m;
	bool known = false;

	memset(id, FUZZ_POISON, sizeof(id));
	memset(runtime, FUZZ_POISON, sizeof(runtime));
	m = cg_match_container_path(path, id, runtime);
	FUZZ_CHECK(m == 0 || m == 1);
	if (m == 0) {
		FUZZ_CHECK(fuzz_is_poison(id, sizeof(id)) &&
		           fuzz_is_poison(runtime, sizeof(runtime)));
		goto out;
	}
	FUZZ_CHECK(id[64] == '\0' && strlen(id) == 64);
	for (size_t i = 0; i < 64; i++)
		FUZZ_CHECK((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
	FUZZ_CHECK(strstr(path, id) != NULL);
	FUZZ_CHECK(fuzz_terminated(runtime, sizeof(runtime)));
	for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++)
		known |= strcmp(runtime, runtimes[i]) == 0;
	FUZZ_CHECK(known);
	/* Deterministic, and NULL is "not a container". */
	FUZZ_CHECK(cg_match_container_path(path, id, runtime) == 1);
	FUZZ_CHECK(cg_match_container_path(NULL, id, runtime) == 0);
out:
	free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf;
	size_t len;

	if (size == 0)
		return 0;
	buf = (const char *)data + 1;
	len = size - 1;

	switch ((enum fmt)(data[0] % FMT_COUNT)) {
	case FMT_U64_OR_MAX: {
		const uint64_t *v =
		    PARSE_TWICE(uint64_t, cg_parse_u64_or_max, SAME_BYTES, buf, len);
		if (v)
			check_u64_roundtrip(buf, len, *v);
		break;
	}
	case FMT_CPU_STAT: {
		const struct cstatd_cpu_stat *v =
		    PARSE_TWICE(struct cstatd_cpu_stat, cg_parse_cpu_stat, same_cpu_stat, buf, len);
		/* has_bandwidth says some bandwidth key was there; one alone
		 * is enough, the others read as 0. */
		if (v && !v->has_bandwidth)
			FUZZ_CHECK(v->nr_periods == 0 && v->nr_throttled == 0 &&
			           v->throttled_usec == 0);
		break;
	}
	case FMT_CPU_MAX: {
		const struct cstatd_cpu_max *v =
		    PARSE_TWICE(struct cstatd_cpu_max, cg_parse_cpu_max, SAME_BYTES, buf, len);
		if (v)
			FUZZ_CHECK(v->period_usec != 0);
		break;
	}
	case FMT_MEMORY_STAT:
		PARSE_TWICE(struct cstatd_memory_stat, cg_parse_memory_stat, SAME_BYTES, buf, len);
		break;
	case FMT_MEMORY_EVENTS:
		PARSE_TWICE(struct cstatd_memory_events, cg_parse_memory_events, SAME_BYTES, buf,
		            len);
		break;
	case FMT_IO_STAT: {
		const struct cstatd_io_stat *v =
		    PARSE_TWICE(struct cstatd_io_stat, cg_parse_io_stat, SAME_BYTES, buf, len);
		if (v) {
			FUZZ_CHECK(v->n_devices <= CSTATD_IO_MAX_DEVICES);
			FUZZ_CHECK(v->n_dropped == 0 || v->n_devices == CSTATD_IO_MAX_DEVICES);
			/* Each device needs at least "M:m" and a key=value. */
			FUZZ_CHECK((size_t)(v->n_devices + v->n_dropped) * 7 <= len);
		}
		break;
	}
	case FMT_PSI: {
		const struct cstatd_psi *v =
		    PARSE_TWICE(struct cstatd_psi, cg_parse_psi, same_psi, buf, len);
		if (v)
			check_psi(v);
		break;
	}
	case FMT_CGROUP_EVENTS: {
		PARSE_TWICE(struct cstatd_cgroup_events, cg_parse_cgroup_events, same_cgroup_events,
		            buf, len);
		break;
	}
	case FMT_PROCS: {
		uint64_t count = 0x5a5a5a5a5a5a5a5aull;
		int first = 0x5a5a5a5a;
		int rc = cg_parse_procs(buf, len, &count, &first);

		FUZZ_CHECK(rc == 0 || rc == -EINVAL);
		if (rc < 0) {
			FUZZ_CHECK(count == 0x5a5a5a5a5a5a5a5aull && first == 0x5a5a5a5a);
		} else {
			FUZZ_CHECK(count == fuzz_count((const uint8_t *)buf, len, '\n'));
			FUZZ_CHECK(first >= 0 && (first == 0 || count > 0));
		}
		break;
	}
	case FMT_CONTAINER_PATH:
		fuzz_container_path((const uint8_t *)buf, len);
		break;
	case FMT_COUNT:
		break;
	}
	return 0;
}
