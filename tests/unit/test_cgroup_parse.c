/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for collectors/cgroup/cgroup_parse.c.
 *
 * Real files come from tests/fixtures/cgroup-v2 (provenance in PROVENANCE.md
 * and SOURCES.md there); every expected value below was read by hand from
 * those files. Inputs no real capture shows (unknown keys, overflow, more
 * than 16 devices, garbage) are written inline and marked "synthetic".
 *
 * Every buffer handed to a parser is an exact-size heap copy with no NUL
 * after it, so AddressSanitizer reports any read past `len`.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include "collectors/cgroup/cgroup_parse.h"

#define FIXTURE_DIR CSTATD_FIXTURES "/cgroup-v2/"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Fill byte for outputs, to prove a failed parse left them alone. */
#define SENTINEL 0xA5

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* An exact-size heap copy: no terminating NUL, nothing readable past n. */
static char *dup_exact(const void *src, size_t n)
{
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	if (n)
		memcpy(p, src, n);
	return p;
}

/* Reads tests/fixtures/cgroup-v2/<rel> into an exact-size buffer. */
static char *load(const char *rel, size_t *len_out)
{
	char path[512];
	char tmp[65536];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", FIXTURE_DIR, rel);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open fixture %s", path);
	n = fread(tmp, 1, sizeof(tmp), f);
	assert_int_equal(ferror(f), 0);
	assert_true(n < sizeof(tmp));
	fclose(f);
	*len_out = n;
	return dup_exact(tmp, n);
}

/*
 * Uniform signatures, so that one loop can drive every parser. (Calling the
 * real functions through a cast pointer would be undefined behaviour.)
 */
typedef int (*parse_fn)(const char *buf, size_t len, void *out);

struct procs_out {
	uint64_t count;
	int first_pid;
};

static int p_u64(const char *b, size_t n, void *o)
{
	return cg_parse_u64_or_max(b, n, o);
}
static int p_cpu_stat(const char *b, size_t n, void *o)
{
	return cg_parse_cpu_stat(b, n, o);
}
static int p_cpu_max(const char *b, size_t n, void *o)
{
	return cg_parse_cpu_max(b, n, o);
}
static int p_mem_stat(const char *b, size_t n, void *o)
{
	return cg_parse_memory_stat(b, n, o);
}
static int p_mem_events(const char *b, size_t n, void *o)
{
	return cg_parse_memory_events(b, n, o);
}
static int p_io_stat(const char *b, size_t n, void *o)
{
	return cg_parse_io_stat(b, n, o);
}
static int p_psi(const char *b, size_t n, void *o)
{
	return cg_parse_psi(b, n, o);
}
static int p_events(const char *b, size_t n, void *o)
{
	return cg_parse_cgroup_events(b, n, o);
}
static int p_procs(const char *b, size_t n, void *o)
{
	struct procs_out *po = o;

	return cg_parse_procs(b, n, &po->count, &po->first_pid);
}

struct parser {
	parse_fn fn;
	size_t out_size;
};

static const struct parser parsers[] = {
    {p_u64, sizeof(uint64_t)},
    {p_cpu_stat, sizeof(struct cstatd_cpu_stat)},
    {p_cpu_max, sizeof(struct cstatd_cpu_max)},
    {p_mem_stat, sizeof(struct cstatd_memory_stat)},
    {p_mem_events, sizeof(struct cstatd_memory_events)},
    {p_io_stat, sizeof(struct cstatd_io_stat)},
    {p_psi, sizeof(struct cstatd_psi)},
    {p_events, sizeof(struct cstatd_cgroup_events)},
    {p_procs, sizeof(struct procs_out)},
};

/* A byte string that may hold NULs. */
struct bytes {
	const char *p;
	size_t n;
};

/* Initialises a struct bytes from a literal: {BYTES("a\0b")}. */
#define BYTES(lit) lit, sizeof(lit) - 1

/*
 * Runs `fn` on an exact-size copy of (src, n) with `out` pre-filled with
 * SENTINEL. Asserts the result is 0 or -EINVAL, and that -EINVAL left every
 * byte of `out` alone. Returns the result.
 */
static int run_checked(parse_fn fn, const void *src, size_t n, void *out, size_t out_size)
{
	unsigned char sentinel[sizeof(struct cstatd_io_stat)];
	char *buf = dup_exact(src, n);
	int rc;

	assert_true(out_size <= sizeof(sentinel));
	memset(sentinel, SENTINEL, out_size);
	memset(out, SENTINEL, out_size);
	rc = fn(buf, n, out);
	free(buf);
	if (rc != 0) {
		assert_int_equal(rc, -EINVAL);
		assert_memory_equal(out, sentinel, out_size);
	}
	return rc;
}

/* Parses an inline string (without its NUL) through run_checked. */
#define RUN_STR(fn, str, out) run_checked(fn, str, strlen(str), out, sizeof(*(out)))

/* Parses a fixture file; asserts success. */
static void parse_fixture_ok(parse_fn fn, const char *rel, void *out, size_t out_size)
{
	size_t len;
	char *buf = load(rel, &len);
	int rc = run_checked(fn, buf, len, out, out_size);

	if (rc != 0)
		fail_msg("%s: parse failed with %d", rel, rc);
	free(buf);
}

#define FIXTURE_OK(fn, rel, out) parse_fixture_ok(fn, rel, out, sizeof(*(out)))

/* A PSI average must be exactly the double nearest to hundredths/100. */
#define assert_pct(value, hundredths)                                        \
	do {                                                                 \
		double v_ = (value);                                         \
		assert_int_equal((int64_t)(v_ * 100.0 + 0.5), (hundredths)); \
		assert_true(v_ == (double)(hundredths) / 100.0);             \
	} while (0)

/* Offset just past the '\n' of the line that starts with "key ", or SIZE_MAX. */
static size_t key_line_end(const char *text, size_t len, const char *key)
{
	size_t klen = strlen(key);
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) + 1 : len;

		if (end - i > klen && memcmp(text + i, key, klen) == 0 && text[i + klen] == ' ')
			return nl ? end : SIZE_MAX;
		i = end;
	}
	return SIZE_MAX;
}

static size_t count_newlines(const char *text, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n;
}

/* Deterministic PRNG (xorshift64) for the garbage tests. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ------------------------------------------------------------------------ */
/* Single values                                                            */
/* ------------------------------------------------------------------------ */

static void test_u64_or_max_fixtures(void **state)
{
	static const struct {
		const char *rel;
		uint64_t want;
	} cases[] = {
	    {"linux6x-user-session-520.scope/memory.current", 10498404352u},
	    {"linux6x-user-session-520.scope/memory.max", CSTATD_UNLIMITED},
	    {"linux6x-user-session-520.scope/memory.high", CSTATD_UNLIMITED},
	    {"linux6x-user-session-520.scope/memory.peak", 18772946944u},
	    {"linux6x-user-session-520.scope/memory.swap.current", 17715200},
	    {"linux6x-user-session-520.scope/memory.swap.max", CSTATD_UNLIMITED},
	    {"linux6x-user-session-520.scope/pids.current", 148},
	    {"linux6x-user-session-520.scope/pids.max", CSTATD_UNLIMITED},
	    {"linux6x-user-session-520.scope/cpu.weight", 100},
	    {"fedora31-php-fpm.service/pids.max", 18722},
	    {"fedora31-php-fpm.service/memory.current", 3989504},
	    {"fedora31-system.slice/memory.current", 2831458304u},
	    {"fedora31-libpod-pod-empty.slice/memory.current", 0},
	    {"debian11-slurm-job-step/memory.max", 4194304000u},
	    {"podman-quadlet-db.service/memory.max", 1073741824},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v;

		FIXTURE_OK(p_u64, cases[i].rel, &v);
		assert_int_equal(v, cases[i].want);
	}
}

static void test_u64_or_max_edges(void **state)
{
	static const char *const invalid[] = {
	    "",
	    "\n",
	    "   ",
	    "-1",
	    "+1",
	    "12a",
	    "1 2",
	    "1\n2\n",
	    "maxx",
	    "MAX",
	    "ma",
	    "0x10",
	    "1.5",
	    /* 2^64: one more than fits. */
	    "18446744073709551616",
	    "99999999999999999999",
	    "100000000000000000000000",
	};
	uint64_t v;
	(void)state;

	assert_int_equal(RUN_STR(p_u64, "max", &v), 0);
	assert_int_equal(v, CSTATD_UNLIMITED);
	assert_int_equal(RUN_STR(p_u64, "max\n", &v), 0);
	assert_int_equal(v, CSTATD_UNLIMITED);
	assert_int_equal(RUN_STR(p_u64, "  42 \n", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(RUN_STR(p_u64, "\t0\n", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(RUN_STR(p_u64, "007\n", &v), 0);
	assert_int_equal(v, 7);
	/* 2^64 - 1, the largest value (equal to CSTATD_UNLIMITED). */
	assert_int_equal(RUN_STR(p_u64, "18446744073709551615\n", &v), 0);
	assert_int_equal(v, UINT64_MAX);

	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++)
		assert_int_equal(RUN_STR(p_u64, invalid[i], &v), -EINVAL);
	/* A NUL byte is garbage, not the end of the value. */
	static const char nul_last[] = {'1', '\0'};
	static const char nul_first[] = {'\0', '1'};

	assert_int_equal(run_checked(p_u64, nul_last, 2, &v, sizeof(v)), -EINVAL);
	assert_int_equal(run_checked(p_u64, nul_first, 2, &v, sizeof(v)), -EINVAL);
}

/* The parser must stop at len even when more digits follow in memory. */
static void test_u64_respects_len(void **state)
{
	static const char text[] = "12345\n";
	char *buf = dup_exact(text, sizeof(text) - 1);
	uint64_t v = 0;
	(void)state;

	assert_int_equal(cg_parse_u64_or_max(buf, 3, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(cg_parse_u64_or_max(buf, 0, &v), -EINVAL);
	assert_int_equal(v, 123);
	free(buf);
}

static void test_cpu_max(void **state)
{
	static const struct {
		const char *rel;
		uint64_t quota, period;
	} cases[] = {
	    {"linux6x-user-session-520.scope/cpu.max", CSTATD_UNLIMITED, 100000},
	    {"docker-cpus-2/cpu.max", 200000, 100000},
	    {"docker-cpus-0.5/cpu.max", 50000, 100000},
	    {"crio-crun-guaranteed-quota-bug.scope/cpu.max", 1000, 100000},
	};
	static const char *const invalid[] = {
	    "",
	    "\n",
	    "50000 0\n",
	    "max max\n",
	    "1 2 3\n",
	    "abc 100000\n",
	    "50000 100000x\n",
	    "-1 100000\n",
	    "50000 18446744073709551616\n",
	};
	struct cstatd_cpu_max m;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		FIXTURE_OK(p_cpu_max, cases[i].rel, &m);
		assert_int_equal(m.quota_usec, cases[i].quota);
		assert_int_equal(m.period_usec, cases[i].period);
	}

	/* A lone quota keeps the default period. */
	assert_int_equal(RUN_STR(p_cpu_max, "50000\n", &m), 0);
	assert_int_equal(m.quota_usec, 50000);
	assert_int_equal(m.period_usec, 100000);
	assert_int_equal(RUN_STR(p_cpu_max, "max", &m), 0);
	assert_int_equal(m.quota_usec, CSTATD_UNLIMITED);
	assert_int_equal(m.period_usec, 100000);
	assert_int_equal(RUN_STR(p_cpu_max, "25000 50000", &m), 0);
	assert_int_equal(m.quota_usec, 25000);
	assert_int_equal(m.period_usec, 50000);

	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++)
		assert_int_equal(RUN_STR(p_cpu_max, invalid[i], &m), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* cpu.stat                                                                 */
/* ------------------------------------------------------------------------ */

static void test_cpu_stat_fixtures(void **state)
{
	struct cstatd_cpu_stat c;
	(void)state;

	/* 9 keys: core_sched.force_idle_usec, nr_bursts, burst_usec unknown. */
	FIXTURE_OK(p_cpu_stat, "linux6x-user-session-520.scope/cpu.stat", &c);
	assert_int_equal(c.usage_usec, 3611347518u);
	assert_int_equal(c.user_usec, 2915072455u);
	assert_int_equal(c.system_usec, 696275063);
	assert_true(c.has_bandwidth);
	assert_int_equal(c.nr_periods, 0);
	assert_int_equal(c.nr_throttled, 0);
	assert_int_equal(c.throttled_usec, 0);

	/* cpu controller off: 3 keys, no bandwidth. */
	FIXTURE_OK(p_cpu_stat, "fedora31-system.slice/cpu.stat", &c);
	assert_int_equal(c.usage_usec, 159101593799u);
	assert_int_equal(c.user_usec, 134753168486u);
	assert_int_equal(c.system_usec, 24348425313u);
	assert_false(c.has_bandwidth);
	assert_int_equal(c.nr_periods, 0);
	assert_int_equal(c.nr_throttled, 0);
	assert_int_equal(c.throttled_usec, 0);

	FIXTURE_OK(p_cpu_stat, "fedora31-libpod-pod-empty.slice/cpu.stat", &c);
	assert_int_equal(c.usage_usec, 0);
	assert_false(c.has_bandwidth);

	/* A heavily throttled container (6.1). */
	FIXTURE_OK(p_cpu_stat, "debian12-6.1-k0s-cri-containerd.scope/cpu.stat", &c);
	assert_int_equal(c.usage_usec, 988930037);
	assert_int_equal(c.user_usec, 980846160);
	assert_int_equal(c.system_usec, 8083877);
	assert_true(c.has_bandwidth);
	assert_int_equal(c.nr_periods, 1197);
	assert_int_equal(c.nr_throttled, 496);
	assert_int_equal(c.throttled_usec, 395384834);

	FIXTURE_OK(p_cpu_stat, "debian12-6.1-k0s-guaranteed-pod.slice/cpu.stat", &c);
	assert_int_equal(c.usage_usec, 8099091679u);
	assert_int_equal(c.nr_periods, 7607);
	assert_int_equal(c.nr_throttled, 4174);
	assert_int_equal(c.throttled_usec, 3322148518u);

	/* The 6-key format from before nr_bursts (5.14). */
	FIXTURE_OK(p_cpu_stat, "netdata-issue-6key-cpu-stat/cpu.stat", &c);
	assert_int_equal(c.usage_usec, 73899);
	assert_int_equal(c.user_usec, 27213);
	assert_int_equal(c.system_usec, 46685);
	assert_true(c.has_bandwidth);
	assert_int_equal(c.nr_periods, 7);
	assert_int_equal(c.nr_throttled, 3);
	assert_int_equal(c.throttled_usec, 139381);
}

static void test_cpu_stat_keys(void **state)
{
	struct cstatd_cpu_stat c;
	(void)state;

	/* Synthetic: unknown keys first, in the middle and last (one with a
	 * value that is no u64 at all), known keys out of order. */
	assert_int_equal(RUN_STR(p_cpu_stat,
	                         "nice_usec 5\n"
	                         "system_usec 3\n"
	                         "future.key -12.5\n"
	                         "usage_usec 10\n"
	                         "burst_usec 18446744073709551616\n"
	                         "throttled_usec 9\n"
	                         "user_usec 7\n"
	                         "new_thing 1 2 3\n",
	                         &c),
	                 0);
	assert_int_equal(c.usage_usec, 10);
	assert_int_equal(c.user_usec, 7);
	assert_int_equal(c.system_usec, 3);
	assert_true(c.has_bandwidth);
	assert_int_equal(c.nr_periods, 0);
	assert_int_equal(c.nr_throttled, 0);
	assert_int_equal(c.throttled_usec, 9);

	/* usage_usec is required. */
	assert_int_equal(RUN_STR(p_cpu_stat, "user_usec 1\nsystem_usec 2\n", &c), -EINVAL);
	assert_int_equal(RUN_STR(p_cpu_stat, "", &c), -EINVAL);
	/* usage_usec alone is enough. */
	assert_int_equal(RUN_STR(p_cpu_stat, "usage_usec 1\n", &c), 0);
	assert_int_equal(c.usage_usec, 1);
	assert_int_equal(c.user_usec, 0);
	assert_false(c.has_bandwidth);

	/* Shape errors. */
	assert_int_equal(RUN_STR(p_cpu_stat, "usage_usec\n", &c), -EINVAL);
	assert_int_equal(RUN_STR(p_cpu_stat, "usage_usec 1\nfoo\n", &c), -EINVAL);
	assert_int_equal(RUN_STR(p_cpu_stat, "usage_usec 1\n\n", &c), -EINVAL);
	assert_int_equal(RUN_STR(p_cpu_stat, "usage_usec 1 2\n", &c), -EINVAL);
	assert_int_equal(RUN_STR(p_cpu_stat, "usage_usec x\n", &c), -EINVAL);
	assert_int_equal(RUN_STR(p_cpu_stat, "usage_usec -1\n", &c), -EINVAL);
	/* A last line without its newline is a torn read. */
	assert_int_equal(RUN_STR(p_cpu_stat, "usage_usec 12", &c), -EINVAL);
	/* u64 overflow in a known key. */
	assert_int_equal(RUN_STR(p_cpu_stat, "usage_usec 18446744073709551616\n", &c), -EINVAL);
	assert_int_equal(RUN_STR(p_cpu_stat, "usage_usec 18446744073709551615\n", &c), 0);
	assert_int_equal(c.usage_usec, UINT64_MAX);
}

/* ------------------------------------------------------------------------ */
/* memory.stat, memory.events                                               */
/* ------------------------------------------------------------------------ */

static void test_memory_stat_fixtures(void **state)
{
	struct cstatd_memory_stat m;
	(void)state;

	/* 53 keys, 6.x. */
	FIXTURE_OK(p_mem_stat, "linux6x-user-session-520.scope/memory.stat", &m);
	assert_int_equal(m.anon, 1411100672);
	assert_int_equal(m.file, 8621432832u);
	assert_int_equal(m.kernel, 195010560);
	assert_int_equal(m.shmem, 20480);
	assert_int_equal(m.file_mapped, 56209408);
	assert_int_equal(m.file_dirty, 139264);
	assert_int_equal(m.file_writeback, 0);
	assert_int_equal(m.inactive_anon, 209301504);
	assert_int_equal(m.active_anon, 1471877120);
	assert_int_equal(m.inactive_file, 6685749248u);
	assert_int_equal(m.active_file, 1935663104);
	assert_int_equal(m.pgfault, 47908511);
	assert_int_equal(m.pgmajfault, 14299);

	FIXTURE_OK(p_mem_stat, "k8s-6.8-container-memory/memory.stat", &m);
	assert_int_equal(m.anon, 15941632);
	assert_int_equal(m.file, 3481600);
	assert_int_equal(m.kernel, 929792);
	assert_int_equal(m.shmem, 0);
	assert_int_equal(m.file_mapped, 2301952);
	assert_int_equal(m.file_dirty, 0);
	assert_int_equal(m.file_writeback, 0);
	assert_int_equal(m.inactive_anon, 15888384);
	assert_int_equal(m.active_anon, 12288);
	assert_int_equal(m.inactive_file, 1626112);
	assert_int_equal(m.active_file, 1855488);
	assert_int_equal(m.pgfault, 8146);
	assert_int_equal(m.pgmajfault, 30);

	/* 5.10-5.15 era: no `kernel` key, which then reads as 0. */
	FIXTURE_OK(p_mem_stat, "k8s-5.x-container-memory/memory.stat", &m);
	assert_int_equal(m.anon, 3108864);
	assert_int_equal(m.file, 2297856);
	assert_int_equal(m.kernel, 0);
	assert_int_equal(m.shmem, 2297856);
	assert_int_equal(m.file_mapped, 2297856);
	assert_int_equal(m.inactive_anon, 5541888);
	assert_int_equal(m.active_anon, 0);
	assert_int_equal(m.pgfault, 2706);
	assert_int_equal(m.pgmajfault, 0);

	/* 5.3 key set; anon 0 beside inactive_anon 135168 is what the kernel
	 * printed, and is kept as is. */
	FIXTURE_OK(p_mem_stat, "fedora31-machine.slice/memory.stat", &m);
	assert_int_equal(m.anon, 0);
	assert_int_equal(m.file, 98304);
	assert_int_equal(m.kernel, 0);
	assert_int_equal(m.file_mapped, 270336);
	assert_int_equal(m.inactive_anon, 135168);
	assert_int_equal(m.pgfault, 7948);
	assert_int_equal(m.pgmajfault, 2774);

	FIXTURE_OK(p_mem_stat, "fedora31-system.slice/memory.stat", &m);
	assert_int_equal(m.anon, 436424704);
	assert_int_equal(m.file, 1854570496);
	assert_int_equal(m.shmem, 905216);
	assert_int_equal(m.active_file, 1434755072);
	assert_int_equal(m.pgfault, 1200907044);
	assert_int_equal(m.pgmajfault, 1480267);
}

static void test_memory_stat_keys(void **state)
{
	struct cstatd_memory_stat m;
	(void)state;

	/* Synthetic: a future key before the known ones. */
	assert_int_equal(RUN_STR(p_mem_stat, "zswap_new_counter 77\nanon 4096\npgfault 3\n", &m),
	                 0);
	assert_int_equal(m.anon, 4096);
	assert_int_equal(m.pgfault, 3);
	assert_int_equal(m.file, 0);

	/* No known key at all. */
	assert_int_equal(RUN_STR(p_mem_stat, "sock 0\nvmalloc 0\n", &m), -EINVAL);
	assert_int_equal(RUN_STR(p_mem_stat, "", &m), -EINVAL);
	assert_int_equal(RUN_STR(p_mem_stat, "anon 1\nfile\n", &m), -EINVAL);
	assert_int_equal(RUN_STR(p_mem_stat, "anon 1\nfile 2", &m), -EINVAL);
}

static void test_memory_events(void **state)
{
	struct cstatd_memory_events e;
	(void)state;

	FIXTURE_OK(p_mem_events, "linux6x-user-session-520.scope/memory.events", &e);
	assert_int_equal(e.low, 0);
	assert_int_equal(e.high, 0);
	assert_int_equal(e.max, 0);
	assert_int_equal(e.oom, 0);
	assert_int_equal(e.oom_kill, 0);
	assert_int_equal(e.oom_group_kill, 0);

	/* Hierarchical counter: an OOM kill below system.slice (5.3, no
	 * oom_group_kill key). */
	FIXTURE_OK(p_mem_events, "fedora31-system.slice/memory.events", &e);
	assert_int_equal(e.low, 0);
	assert_int_equal(e.oom, 0);
	assert_int_equal(e.oom_kill, 5);
	assert_int_equal(e.oom_group_kill, 0);

	/* Synthetic: a newer key (sock_throttled) and keys out of order. */
	assert_int_equal(RUN_STR(p_mem_events, "sock_throttled 4\noom_kill 2\nhigh 9\nlow 1\n", &e),
	                 0);
	assert_int_equal(e.low, 1);
	assert_int_equal(e.high, 9);
	assert_int_equal(e.max, 0);
	assert_int_equal(e.oom_kill, 2);

	assert_int_equal(RUN_STR(p_mem_events, "", &e), -EINVAL);
	assert_int_equal(RUN_STR(p_mem_events, "sock_throttled 4\n", &e), -EINVAL);
	assert_int_equal(RUN_STR(p_mem_events, "max 1x\n", &e), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* io.stat                                                                  */
/* ------------------------------------------------------------------------ */

struct io_want {
	uint32_t major, minor;
	uint64_t rbytes, wbytes, rios, wios, dbytes, dios;
};

static void assert_io_dev(const struct cstatd_io_device *d, const struct io_want *w)
{
	assert_int_equal(d->major, w->major);
	assert_int_equal(d->minor, w->minor);
	assert_int_equal(d->rbytes, w->rbytes);
	assert_int_equal(d->wbytes, w->wbytes);
	assert_int_equal(d->rios, w->rios);
	assert_int_equal(d->wios, w->wios);
	assert_int_equal(d->dbytes, w->dbytes);
	assert_int_equal(d->dios, w->dios);
}

static void check_io_fixture(const char *rel, const struct io_want *want, size_t n_want)
{
	struct cstatd_io_stat io;

	FIXTURE_OK(p_io_stat, rel, &io);
	assert_int_equal(io.n_devices, n_want);
	assert_int_equal(io.n_dropped, 0);
	for (size_t i = 0; i < n_want; i++)
		assert_io_dev(&io.dev[i], &want[i]);
}

#define CHECK_IO(rel, ...)                                        \
	do {                                                      \
		static const struct io_want w_[] = {__VA_ARGS__}; \
		check_io_fixture(rel, w_, ARRAY_SIZE(w_));        \
	} while (0)

static void test_io_stat_fixtures(void **state)
{
	struct cstatd_io_stat io;
	(void)state;

	CHECK_IO("kernel-doc-io-stat-example/io.stat", {8, 16, 1459200, 314773504, 192, 353, 0, 0},
	         {8, 0, 90430464, 299008000, 8950, 1252, 50331648, 3021});

	CHECK_IO("fedora31-system.slice/io.stat",
	         {253, 1, 10883149824u, 39386140672u, 2657019, 9596377, 0, 0},
	         {253, 2, 10335739904u, 581632, 2523292, 153, 0, 0},
	         {8, 0, 18239488, 14274560, 2584, 475, 0, 0},
	         {253, 0, 18239488, 14274560, 2584, 475, 0, 0});

	CHECK_IO("fedora31-machine.slice/io.stat", {253, 1, 262144, 258048, 64, 63, 0, 0},
	         {253, 2, 3059712, 12288, 177, 3, 0, 0}, {8, 0, 250761216, 270336, 8081, 66, 0, 0},
	         {253, 0, 247439360, 0, 7840, 0, 0, 0});

	CHECK_IO("runc-testdata-io-stat-dm-nvme/io.stat",
	         {254, 1, 6901432320u, 14245535744u, 263278, 248603, 0, 0},
	         {254, 0, 2702336, 0, 97, 0, 0, 0},
	         {259, 0, 6911345664u, 14245536256u, 264538, 244914, 530485248, 2});

	/* cost.vrate/usage/wait/indebt/indelay on the last line are skipped. */
	CHECK_IO(
	    "root-iocost-debug-io-stat/io.stat", {251, 0, 2285568, 688128, 107, 168, 0, 0},
	    {252, 0, 2037743988736u, 1036567117824u, 169193849, 41541021, 1012840136704u, 199909},
	    {259, 0, 4085926524416u, 1036680064512u, 185034771, 40358485, 1013982564352u, 199959});

	CHECK_IO("lkml-iocost-cost-usage/io.stat", {253, 0, 6273024, 0, 20, 0, 0, 0});
	CHECK_IO("lkml-iocost-debug-stats/io.stat", {253, 0, 6273024, 0, 20, 0, 0, 0});

	/* A 0-byte io.stat (empty pod slice, no I/O yet) is valid. */
	FIXTURE_OK(p_io_stat, "fedora31-libpod-pod-empty.slice/io.stat", &io);
	assert_int_equal(io.n_devices, 0);
	assert_int_equal(io.n_dropped, 0);
}

/*
 * Devices without stats print "MAJ:MIN " and no newline, so they run into
 * the next device's line; only the device the stats follow gets them.
 */
static void test_io_stat_loop_quirks(void **state)
{
	struct cstatd_io_stat io;
	(void)state;

	/* "7:7 7:6 7:5 7:4 rbytes=28672 ...": the stats are 7:4's. */
	CHECK_IO("ubuntu-host-root-io-stat-loop-quirk/io.stat",
	         {8, 32, 999678391296u, 198034948096u, 3100795, 1051435, 0, 0},
	         {8, 16, 9083418112u, 72376709632u, 388623, 11650553, 53315555840u, 301674},
	         {8, 0, 7480011776u, 72376660480u, 371580, 11547682, 53315555840u, 301672},
	         {7, 4, 28672, 0, 22, 0, 0, 0}, {7, 3, 518539264, 0, 13405, 0, 0, 0},
	         {7, 2, 1642633216, 0, 36241, 0, 0, 0}, {7, 1, 158687232, 0, 4728, 0, 0, 0},
	         {7, 0, 25744384, 0, 1091, 0, 0, 0});

	/* "8:0 8:16 rbytes=352256 ...": 8:0 has no stats. */
	CHECK_IO("lxc-container-io-stat-quirk/io.stat", {8, 16, 352256, 0, 10, 0, 0, 0},
	         {7, 1, 206848, 0, 10, 0, 0, 0}, {7, 2, 2048, 0, 1, 0, 0, 0});

	CHECK_IO("ubuntu-io-stat-nostats-devices-a/io.stat", {7, 4, 556032, 0, 78, 0, 0, 0},
	         {7, 3, 21017600, 0, 629, 0, 0, 0});

	/* Ends in "7:7 7:6 ... 7:0" with no newline: eight stat-less devices. */
	CHECK_IO("ubuntu-io-stat-nostats-devices-b/io.stat",
	         {253, 0, 45931053056u, 211814596608u, 1078394, 21426614, 0, 0},
	         {259, 0, 48963873792u, 217588278272u, 1315370, 15358572, 3222265856u, 24});

	/* A real 6-byte read, "252:0 ": one device, no stats, no newline. */
	FIXTURE_OK(p_io_stat, "torn-io-stat-prefix-only/io.stat", &io);
	assert_int_equal(io.n_devices, 0);
	assert_int_equal(io.n_dropped, 0);
}

static void test_io_stat_inline(void **state)
{
	static const char *const invalid[] = {
	    /* k=v before any device. */
	    "rbytes=1 8:0\n",
	    /* Bad numbers in standard keys. */
	    "8:0 rbytes=12x wbytes=0 rios=0 wios=0\n",
	    "8:0 rbytes=-1\n",
	    "8:0 rbytes=18446744073709551616 wbytes=0 rios=1 wios=0\n",
	    /* Empty value or key: not a k=v token, and no device either. */
	    "8:0 rbytes= wbytes=0\n",
	    "8:0 =5\n",
	    /* Not a device. */
	    "8 rbytes=1\n",
	    "8: rbytes=1\n",
	    ":0 rbytes=1\n",
	    "sda rbytes=1\n",
	    "4294967296:0 rbytes=1\n",
	    /* A stats line cut before its newline (torn read). */
	    "8:0 rbytes=1",
	    "8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n8:0 rbytes=90",
	    "8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n8:0 cost.usage=1",
	};
	struct cstatd_io_stat io;
	(void)state;

	/* Synthetic: a device line that is only the prefix. */
	assert_int_equal(RUN_STR(p_io_stat, "8:0 \n", &io), 0);
	assert_int_equal(io.n_devices, 0);

	/* Synthetic: only iocost keys (the kernel skips the standard six when
	 * they are all zero), then a normal device. */
	assert_int_equal(RUN_STR(p_io_stat,
	                         "8:0  cost.vrate=100.00 cost.usage=5\n"
	                         "8:16 rbytes=1 wbytes=2 rios=3 wios=4\n",
	                         &io),
	                 0);
	assert_int_equal(io.n_devices, 1);
	{
		/* Pre-5.0 kernels print no dbytes/dios. */
		static const struct io_want w = {8, 16, 1, 2, 3, 4, 0, 0};

		assert_io_dev(&io.dev[0], &w);
	}

	/* Synthetic: iolatency/debug keys and a future key, keys reordered. */
	assert_int_equal(RUN_STR(p_io_stat,
	                         "259:0 use_delay=0 delay_nsec=0 wios=8 rbytes=5 "
	                         "future=x rios=6 wbytes=7 dios=10 dbytes=9 "
	                         "avg_lat=1.5\n",
	                         &io),
	                 0);
	assert_int_equal(io.n_devices, 1);
	{
		static const struct io_want w = {259, 0, 5, 7, 6, 8, 9, 10};

		assert_io_dev(&io.dev[0], &w);
	}

	/* A device whose only standard key is 0 is still a device. */
	assert_int_equal(RUN_STR(p_io_stat, "8:0 rbytes=0\n", &io), 0);
	assert_int_equal(io.n_devices, 1);

	/* Max major:minor that fits. */
	assert_int_equal(RUN_STR(p_io_stat, "4294967295:4294967295 rios=1\n", &io), 0);
	assert_int_equal(io.dev[0].major, UINT32_MAX);
	assert_int_equal(io.dev[0].minor, UINT32_MAX);

	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
		if (RUN_STR(p_io_stat, invalid[i], &io) != -EINVAL)
			fail_msg("accepted: \"%s\"", invalid[i]);
	}
}

/* Synthetic: 20 devices; the last 4 do not fit. */
static void test_io_stat_too_many_devices(void **state)
{
	char text[4096];
	size_t n = 0;
	struct cstatd_io_stat io;
	(void)state;

	for (unsigned i = 0; i < 20; i++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		                      "7:%u rbytes=%u wbytes=0 rios=%u wios=0 "
		                      "dbytes=0 dios=0\n",
		                      i, 1000 + i, i + 1);
		/* Stat-less devices in between do not count. */
		n += (size_t)snprintf(text + n, sizeof(text) - n, "253:%u ", i);
	}
	assert_true(n < sizeof(text));
	assert_int_equal(run_checked(p_io_stat, text, n, &io, sizeof(io)), 0);
	assert_int_equal(io.n_devices, CSTATD_IO_MAX_DEVICES);
	assert_int_equal(io.n_dropped, 4);
	for (unsigned i = 0; i < CSTATD_IO_MAX_DEVICES; i++) {
		assert_int_equal(io.dev[i].major, 7);
		assert_int_equal(io.dev[i].minor, i);
		assert_int_equal(io.dev[i].rbytes, 1000 + i);
		assert_int_equal(io.dev[i].rios, i + 1);
	}
}

/* ------------------------------------------------------------------------ */
/* PSI                                                                      */
/* ------------------------------------------------------------------------ */

static void test_psi_fixtures(void **state)
{
	struct cstatd_psi p;
	(void)state;

	FIXTURE_OK(p_psi, "linux6x-user-session-520.scope/cpu.pressure", &p);
	assert_true(p.has_some);
	assert_true(p.has_full);
	assert_int_equal(p.some_total_usec, 115056064);
	assert_int_equal(p.full_total_usec, 29254180);
	assert_pct(p.some_avg10, 0);
	assert_pct(p.full_avg300, 0);

	FIXTURE_OK(p_psi, "linux6x-user-session-520.scope/io.pressure", &p);
	assert_int_equal(p.some_total_usec, 10748370);
	assert_int_equal(p.full_total_usec, 7726267);

	/* Non-zero averages. */
	FIXTURE_OK(p_psi, "pcp-proc-pressure-2019/memory", &p);
	assert_true(p.has_some);
	assert_true(p.has_full);
	assert_pct(p.some_avg10, 7024);
	assert_pct(p.some_avg60, 6852);
	assert_pct(p.some_avg300, 6991);
	assert_int_equal(p.some_total_usec, 3559632828u);
	assert_pct(p.full_avg10, 5759);
	assert_pct(p.full_avg60, 5806);
	assert_pct(p.full_avg300, 6038);
	assert_int_equal(p.full_total_usec, 3300487258u);

	FIXTURE_OK(p_psi, "pcp-proc-pressure-2019/io", &p);
	assert_pct(p.some_avg10, 1024);
	assert_pct(p.some_avg60, 852);
	assert_pct(p.some_avg300, 91);
	assert_int_equal(p.some_total_usec, 55963282);
	assert_pct(p.full_avg10, 759);
	assert_pct(p.full_avg60, 806);
	assert_pct(p.full_avg300, 38);
	assert_int_equal(p.full_total_usec, 30048725);

	/* cpu without a `full` line (before 5.13, and system-wide). */
	FIXTURE_OK(p_psi, "pcp-proc-pressure-2019/cpu", &p);
	assert_true(p.has_some);
	assert_false(p.has_full);
	assert_pct(p.some_avg10, 204);
	assert_pct(p.some_avg60, 75);
	assert_pct(p.some_avg300, 42);
	assert_int_equal(p.some_total_usec, 157656722);
	assert_int_equal(p.full_total_usec, 0);
	assert_pct(p.full_avg10, 0);

	FIXTURE_OK(p_psi, "fedora31-system.slice/cpu.pressure", &p);
	assert_true(p.has_some);
	assert_false(p.has_full);
	assert_int_equal(p.some_total_usec, 23371000);

	FIXTURE_OK(p_psi, "pcp-proc-pressure-irq-2023/cpu", &p);
	assert_true(p.has_some);
	assert_true(p.has_full);
	assert_int_equal(p.some_total_usec, 424932863);
	assert_int_equal(p.full_total_usec, 387245317);

	/* irq.pressure has only a `full` line (6.1+). */
	FIXTURE_OK(p_psi, "pcp-proc-pressure-irq-2023/irq", &p);
	assert_false(p.has_some);
	assert_true(p.has_full);
	assert_int_equal(p.some_total_usec, 0);
	assert_int_equal(p.full_total_usec, 100648410);
	FIXTURE_OK(p_psi, "linux6x-user-session-520.scope/irq.pressure", &p);
	assert_false(p.has_some);
	assert_true(p.has_full);
	assert_int_equal(p.full_total_usec, 29463156);
}

static void test_psi_inline(void **state)
{
	static const char *const invalid[] = {
	    "",
	    "\n",
	    /* Missing total / an average. */
	    "some avg10=0.00 avg60=0.00 avg300=0.00\n",
	    "some avg10=0.00 avg300=0.00 total=5\n",
	    /* Bad numbers. */
	    "some avg10=abc avg60=0.00 avg300=0.00 total=1\n",
	    "some avg10=1. avg60=0.00 avg300=0.00 total=1\n",
	    "some avg10=.5 avg60=0.00 avg300=0.00 total=1\n",
	    "some avg10=1.2.3 avg60=0.00 avg300=0.00 total=1\n",
	    "some avg10=-1.00 avg60=0.00 avg300=0.00 total=1\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=1.5\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551616\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total\n",
	    /* Torn: no final newline. */
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=12",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00",
	    /* Neither some nor full. */
	    "partial avg10=0.00 avg60=0.00 avg300=0.00 total=1\n",
	};
	struct cstatd_psi p;
	(void)state;

	/* Synthetic: keys reordered, a future key, a future line kind. */
	assert_int_equal(RUN_STR(p_psi,
	                         "some total=99 avg300=3.00 future=7 avg60=2.50 "
	                         "avg10=100.00\n"
	                         "partial avg10=9.99 avg60=0.00 avg300=0.00 total=5\n",
	                         &p),
	                 0);
	assert_true(p.has_some);
	assert_false(p.has_full);
	assert_int_equal(p.some_total_usec, 99);
	assert_pct(p.some_avg10, 10000);
	assert_pct(p.some_avg60, 250);
	assert_pct(p.some_avg300, 300);

	/* Integers without a decimal point are accepted. */
	assert_int_equal(RUN_STR(p_psi, "full avg10=1 avg60=0 avg300=0 total=0\n", &p), 0);
	assert_pct(p.full_avg10, 100);
	assert_false(p.has_some);

	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
		if (RUN_STR(p_psi, invalid[i], &p) != -EINVAL)
			fail_msg("accepted: \"%s\"", invalid[i]);
	}
}

/* ------------------------------------------------------------------------ */
/* cgroup.events, cgroup.procs                                              */
/* ------------------------------------------------------------------------ */

static void test_cgroup_events(void **state)
{
	static const char *const invalid[] = {
	    "",
	    "frozen 0\n",
	    "populated\n",
	    "populated 2\n",
	    "populated 1\nfrozen 7\n",
	    "populated x\n",
	    "populated 1",
	};
	struct cstatd_cgroup_events e;
	(void)state;

	FIXTURE_OK(p_events, "linux6x-user-session-520.scope/cgroup.events", &e);
	assert_true(e.populated);
	assert_false(e.frozen);
	FIXTURE_OK(p_events, "fedora31-machine.slice/cgroup.events", &e);
	assert_false(e.populated);
	assert_false(e.frozen);

	/* Synthetic: before 5.2 there is no `frozen`. */
	assert_int_equal(RUN_STR(p_events, "populated 1\n", &e), 0);
	assert_true(e.populated);
	assert_false(e.frozen);
	/* Synthetic: keys reordered, an unknown key. */
	assert_int_equal(RUN_STR(p_events, "frozen 1\nnew_key 3\npopulated 0\n", &e), 0);
	assert_false(e.populated);
	assert_true(e.frozen);

	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
		if (RUN_STR(p_events, invalid[i], &e) != -EINVAL)
			fail_msg("accepted: \"%s\"", invalid[i]);
	}
}

static void test_procs(void **state)
{
	static const char *const invalid[] = {
	    "12\n34", "abc\n",        "\n",
	    "12 \n",  " 12\n",        "-1\n",
	    "1\n\n",  "2147483648\n", "18446744073709551616\n",
	};
	struct procs_out po;
	(void)state;

	FIXTURE_OK(p_procs, "fedora31-php-fpm.service/cgroup.procs", &po);
	assert_int_equal(po.count, 6);
	assert_int_equal(po.first_pid, 1129);
	FIXTURE_OK(p_procs, "linux6x-user-session-520.scope/cgroup.procs", &po);
	assert_int_equal(po.count, 14);
	assert_int_equal(po.first_pid, 2233801);
	/* 0-byte file: no processes. */
	FIXTURE_OK(p_procs, "fedora31-system.slice/cgroup.procs", &po);
	assert_int_equal(po.count, 0);
	assert_int_equal(po.first_pid, 0);

	/* Synthetic: duplicates are counted. */
	assert_int_equal(RUN_STR(p_procs, "7\n7\n8\n", &po), 0);
	assert_int_equal(po.count, 3);
	assert_int_equal(po.first_pid, 7);
	/* Synthetic: pids outside our namespace read as 0; counted, but not
	 * returned as the pid to open /proc with. */
	assert_int_equal(RUN_STR(p_procs, "0\n0\n4242\n", &po), 0);
	assert_int_equal(po.count, 3);
	assert_int_equal(po.first_pid, 4242);
	assert_int_equal(RUN_STR(p_procs, "2147483647\n", &po), 0);
	assert_int_equal(po.first_pid, INT_MAX);

	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
		if (RUN_STR(p_procs, invalid[i], &po) != -EINVAL)
			fail_msg("accepted: \"%s\"", invalid[i]);
	}
}

/* ------------------------------------------------------------------------ */
/* Truncated reads                                                          */
/* ------------------------------------------------------------------------ */

struct key_field {
	const char *key;
	size_t offset;
};

/* Initialises a struct key_field: {FIELD(struct x, field)}. */
#define FIELD(type, f) #f, offsetof(type, f)

static uint64_t field_at(const void *s, size_t offset)
{
	uint64_t v;

	memcpy(&v, (const char *)s + offset, sizeof(v));
	return v;
}

/*
 * Cuts a flat-keyed fixture at every length. Success is expected exactly
 * when the cut falls on a line boundary and the line of `required` (or, when
 * NULL, of the first known key) is complete; then each field holds its full
 * value if its line survived the cut, else 0. Failure must be -EINVAL with
 * the output untouched (checked by run_checked).
 */
static void check_flat_truncations(const char *rel, parse_fn fn, size_t out_size,
                                   const struct key_field *fields, size_t n_fields,
                                   const char *required)
{
	unsigned char full[256], out[256];
	size_t len, need = SIZE_MAX;
	char *text = load(rel, &len);

	assert_true(out_size <= sizeof(full));
	assert_int_equal(run_checked(fn, text, len, full, out_size), 0);
	for (size_t f = 0; f < n_fields; f++) {
		size_t end = key_line_end(text, len, fields[f].key);

		if (required ? strcmp(fields[f].key, required) == 0 : end < need)
			need = end;
	}
	assert_true(need <= len);

	for (size_t cut = 0; cut <= len; cut++) {
		bool boundary = cut == 0 || text[cut - 1] == '\n';
		bool want_ok = boundary && need <= cut;
		int rc = run_checked(fn, text, cut, out, out_size);

		if (rc != (want_ok ? 0 : -EINVAL))
			fail_msg("%s cut at %zu: got %d", rel, cut, rc);
		if (rc != 0)
			continue;
		for (size_t f = 0; f < n_fields; f++) {
			size_t end = key_line_end(text, len, fields[f].key);
			uint64_t want = end <= cut ? field_at(full, fields[f].offset) : 0;

			assert_int_equal(field_at(out, fields[f].offset), want);
		}
	}
	free(text);
}

static void test_truncated_flat_keyed(void **state)
{
	static const struct key_field cpu[] = {
	    {FIELD(struct cstatd_cpu_stat, usage_usec)},
	    {FIELD(struct cstatd_cpu_stat, user_usec)},
	    {FIELD(struct cstatd_cpu_stat, system_usec)},
	    {FIELD(struct cstatd_cpu_stat, nr_periods)},
	    {FIELD(struct cstatd_cpu_stat, nr_throttled)},
	    {FIELD(struct cstatd_cpu_stat, throttled_usec)},
	};
	static const struct key_field mem[] = {
	    {FIELD(struct cstatd_memory_stat, anon)},
	    {FIELD(struct cstatd_memory_stat, file)},
	    {FIELD(struct cstatd_memory_stat, kernel)},
	    {FIELD(struct cstatd_memory_stat, shmem)},
	    {FIELD(struct cstatd_memory_stat, file_mapped)},
	    {FIELD(struct cstatd_memory_stat, file_dirty)},
	    {FIELD(struct cstatd_memory_stat, file_writeback)},
	    {FIELD(struct cstatd_memory_stat, active_anon)},
	    {FIELD(struct cstatd_memory_stat, inactive_anon)},
	    {FIELD(struct cstatd_memory_stat, active_file)},
	    {FIELD(struct cstatd_memory_stat, inactive_file)},
	    {FIELD(struct cstatd_memory_stat, pgfault)},
	    {FIELD(struct cstatd_memory_stat, pgmajfault)},
	};
	static const struct key_field events[] = {
	    {FIELD(struct cstatd_memory_events, low)},
	    {FIELD(struct cstatd_memory_events, high)},
	    {FIELD(struct cstatd_memory_events, max)},
	    {FIELD(struct cstatd_memory_events, oom)},
	    {FIELD(struct cstatd_memory_events, oom_kill)},
	    {FIELD(struct cstatd_memory_events, oom_group_kill)},
	};
	static const char *const cpu_files[] = {
	    "linux6x-user-session-520.scope/cpu.stat",
	    "debian12-6.1-k0s-cri-containerd.scope/cpu.stat",
	    "netdata-issue-6key-cpu-stat/cpu.stat",
	};
	static const char *const mem_files[] = {
	    "linux6x-user-session-520.scope/memory.stat",
	    "k8s-6.8-container-memory/memory.stat",
	    "k8s-5.x-container-memory/memory.stat",
	    "fedora31-system.slice/memory.stat",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cpu_files); i++)
		check_flat_truncations(cpu_files[i], p_cpu_stat, sizeof(struct cstatd_cpu_stat),
		                       cpu, ARRAY_SIZE(cpu), "usage_usec");
	for (size_t i = 0; i < ARRAY_SIZE(mem_files); i++)
		check_flat_truncations(mem_files[i], p_mem_stat, sizeof(struct cstatd_memory_stat),
		                       mem, ARRAY_SIZE(mem), NULL);
	check_flat_truncations("linux6x-user-session-520.scope/memory.events", p_mem_events,
	                       sizeof(struct cstatd_memory_events), events, ARRAY_SIZE(events),
	                       NULL);
	check_flat_truncations("fedora31-system.slice/memory.events", p_mem_events,
	                       sizeof(struct cstatd_memory_events), events, ARRAY_SIZE(events),
	                       NULL);
}

/* cpu.stat: has_bandwidth follows the nr_periods line through the cuts. */
static void test_truncated_cpu_stat_bandwidth(void **state)
{
	size_t len;
	char *text = load("netdata-issue-6key-cpu-stat/cpu.stat", &len);
	size_t bw_end = key_line_end(text, len, "nr_periods");
	struct cstatd_cpu_stat c;
	(void)state;

	for (size_t cut = 0; cut <= len; cut++) {
		if (run_checked(p_cpu_stat, text, cut, &c, sizeof(c)) == 0)
			assert_int_equal(c.has_bandwidth, bw_end <= cut);
	}
	free(text);
}

static void test_truncated_psi(void **state)
{
	static const char *const files[] = {
	    "linux6x-user-session-520.scope/memory.pressure",
	    "pcp-proc-pressure-2019/memory",
	    "pcp-proc-pressure-2019/cpu",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		size_t len;
		char *text = load(files[i], &len);
		size_t line1 = (size_t)((char *)memchr(text, '\n', len) - text) + 1;
		struct cstatd_psi full, p;

		assert_int_equal(run_checked(p_psi, text, len, &full, sizeof(full)), 0);
		for (size_t cut = 0; cut <= len; cut++) {
			bool want_ok = cut >= line1 && text[cut - 1] == '\n';
			int rc = run_checked(p_psi, text, cut, &p, sizeof(p));

			if (rc != (want_ok ? 0 : -EINVAL))
				fail_msg("%s cut at %zu: got %d", files[i], cut, rc);
			if (rc != 0)
				continue;
			assert_true(p.has_some);
			assert_int_equal(p.some_total_usec, full.some_total_usec);
			assert_true(p.some_avg10 == full.some_avg10);
			assert_true(p.some_avg300 == full.some_avg300);
			assert_int_equal(p.has_full, full.has_full && cut == len);
			assert_int_equal(p.full_total_usec, cut == len ? full.full_total_usec : 0);
		}
		free(text);
	}
}

static void test_truncated_events_and_procs(void **state)
{
	size_t len;
	char *text;
	(void)state;

	text = load("linux6x-user-session-520.scope/cgroup.events", &len);
	for (size_t cut = 0; cut <= len; cut++) {
		struct cstatd_cgroup_events e;
		bool want_ok = cut >= strlen("populated 1\n") && text[cut - 1] == '\n';
		int rc = run_checked(p_events, text, cut, &e, sizeof(e));

		assert_int_equal(rc, want_ok ? 0 : -EINVAL);
		if (rc == 0)
			assert_true(e.populated);
	}
	free(text);

	text = load("linux6x-user-session-520.scope/cgroup.procs", &len);
	for (size_t cut = 0; cut <= len; cut++) {
		struct procs_out po;
		bool want_ok = cut == 0 || text[cut - 1] == '\n';
		int rc = run_checked(p_procs, text, cut, &po, sizeof(po));
		size_t lines = count_newlines(text, cut);

		assert_int_equal(rc, want_ok ? 0 : -EINVAL);
		if (rc != 0)
			continue;
		assert_int_equal(po.count, lines);
		assert_int_equal(po.first_pid, lines ? 2233801 : 0);
	}
	free(text);
}

/*
 * io.stat: a cut on a line boundary must parse; any success must hold
 * exactly the devices of the complete lines (each stats line of these files
 * names one device with stats), equal to the full parse; a cut inside a
 * k=v token's line must fail.
 */
static void test_truncated_io_stat(void **state)
{
	static const char *const files[] = {
	    "ubuntu-host-root-io-stat-loop-quirk/io.stat", "lxc-container-io-stat-quirk/io.stat",
	    "ubuntu-io-stat-nostats-devices-b/io.stat",    "root-iocost-debug-io-stat/io.stat",
	    "kernel-doc-io-stat-example/io.stat",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		size_t len;
		char *text = load(files[i], &len);
		struct cstatd_io_stat full, io;

		assert_int_equal(run_checked(p_io_stat, text, len, &full, sizeof(full)), 0);
		for (size_t cut = 0; cut <= len; cut++) {
			const char *tail = text;
			int rc = run_checked(p_io_stat, text, cut, &io, sizeof(io));

			for (size_t k = cut; k > 0; k--) {
				if (text[k - 1] == '\n') {
					tail = text + k;
					break;
				}
			}
			if (memchr(tail, '=', cut - (size_t)(tail - text)))
				assert_int_equal(rc, -EINVAL);
			if (cut == 0 || text[cut - 1] == '\n')
				assert_int_equal(rc, 0);
			if (rc != 0)
				continue;
			assert_int_equal(io.n_devices, count_newlines(text, cut));
			assert_int_equal(io.n_dropped, 0);
			for (unsigned d = 0; d < io.n_devices; d++) {
				const struct cstatd_io_device *f = &full.dev[d];
				struct io_want w = {f->major, f->minor, f->rbytes, f->wbytes,
				                    f->rios,  f->wios,  f->dbytes, f->dios};

				assert_io_dev(&io.dev[d], &w);
			}
		}
		free(text);
	}
}

/* Single-value files: any cut parses to a prefix value or fails cleanly. */
static void test_truncated_single_values(void **state)
{
	static const char *const files[] = {
	    "linux6x-user-session-520.scope/cpu.max",
	    "docker-cpus-0.5/cpu.max",
	    "linux6x-user-session-520.scope/memory.current",
	    "linux6x-user-session-520.scope/memory.max",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		size_t len;
		char *text = load(files[i], &len);

		for (size_t cut = 0; cut <= len; cut++) {
			struct cstatd_cpu_max m;
			uint64_t v;

			run_checked(p_cpu_max, text, cut, &m, sizeof(m));
			run_checked(p_u64, text, cut, &v, sizeof(v));
		}
		free(text);
	}
}

/* A reader may hand over a 0-byte file as (NULL, 0). */
static void test_null_empty_buffer(void **state)
{
	union {
		unsigned char bytes[sizeof(struct cstatd_io_stat)];
		struct cstatd_io_stat io;
		struct procs_out procs;
	} out;
	(void)state;

	for (size_t p = 0; p < ARRAY_SIZE(parsers); p++) {
		unsigned char sentinel[sizeof(out)];
		int rc;

		memset(sentinel, SENTINEL, sizeof(sentinel));
		memset(&out, SENTINEL, sizeof(out));
		rc = parsers[p].fn(NULL, 0, &out);
		if (parsers[p].fn == p_io_stat) {
			/* No I/O yet. */
			assert_int_equal(rc, 0);
			assert_int_equal(out.io.n_devices, 0);
			assert_int_equal(out.io.n_dropped, 0);
		} else if (parsers[p].fn == p_procs) {
			/* No processes. */
			assert_int_equal(rc, 0);
			assert_int_equal(out.procs.count, 0);
			assert_int_equal(out.procs.first_pid, 0);
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_memory_equal(&out, sentinel, parsers[p].out_size);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Garbage                                                                  */
/* ------------------------------------------------------------------------ */

/* Feeds `n` bytes to every parser; each must return 0 or -EINVAL, and leave
 * its output alone on -EINVAL (run_checked). */
static void feed_all(const char *buf, size_t n)
{
	union {
		uint64_t u64;
		struct cstatd_cpu_stat cpu;
		struct cstatd_cpu_max cpu_max;
		struct cstatd_memory_stat mem;
		struct cstatd_memory_events events;
		struct cstatd_io_stat io;
		struct cstatd_psi psi;
		struct cstatd_cgroup_events cg;
		struct procs_out procs;
	} out;

	for (size_t p = 0; p < ARRAY_SIZE(parsers); p++) {
		int rc = run_checked(parsers[p].fn, buf, n, &out, parsers[p].out_size);

		if (rc == 0 && parsers[p].fn == p_io_stat)
			assert_true(out.io.n_devices <= CSTATD_IO_MAX_DEVICES);
	}
}

static void test_garbage(void **state)
{
	/* Pieces of real syntax, so that random input gets past the first
	 * check often enough to reach the deeper paths. */
	static const struct bytes atoms[] = {
	    {BYTES("max")},         {BYTES("some")},       {BYTES("full")},
	    {BYTES("avg10=")},      {BYTES("total=")},     {BYTES("rbytes=")},
	    {BYTES("8:0")},         {BYTES("usage_usec")}, {BYTES("populated")},
	    {BYTES("anon")},        {BYTES(" ")},          {BYTES(" ")},
	    {BYTES("\n")},          {BYTES("\n")},         {BYTES("=")},
	    {BYTES(":")},           {BYTES(".")},          {BYTES("0")},
	    {BYTES("1")},           {BYTES("42")},         {BYTES("18446744073709551616")},
	    {BYTES("\t")},          {BYTES("\0")},         {BYTES("\xff")},
	    {BYTES("cost.vrate=")}, {BYTES("-")},
	};
	static const struct bytes fixed[] = {
	    {BYTES("\x00\x01\x02\x03")},
	    {BYTES("\xff\xfe\xfd\n")},
	    {BYTES("populated 1\0\n")},
	    {BYTES("usage_usec 1\r\n")},
	    {BYTES("8:0 rbytes=1\r\n")},
	    {BYTES("some avg10=0.00 avg60=0.00 avg300=0.00 total=1\0\n")},
	};
	char buf[512];
	struct cstatd_cgroup_events e;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		feed_all(fixed[i].p, fixed[i].n);
	/* A NUL inside an otherwise valid line is garbage, not an end. */
	assert_int_equal(run_checked(p_events, "populated 1\0\n", 13, &e, sizeof(e)), -EINVAL);

	for (int iter = 0; iter < 20000; iter++) {
		size_t n = 0;
		size_t parts = rng() % 24;

		for (size_t k = 0; k < parts; k++) {
			if (rng() % 4 == 0) {
				buf[n++] = (char)(rng() & 0xff);
			} else {
				const struct bytes *a = &atoms[rng() % ARRAY_SIZE(atoms)];

				memcpy(buf + n, a->p, a->n);
				n += a->n;
			}
		}
		feed_all(buf, n);
	}
}

/* Real fixtures of each parser, with a few random bytes changed. */
static void test_mutated_fixtures(void **state)
{
	static const char *const files[] = {
	    "linux6x-user-session-520.scope/cpu.stat",
	    "linux6x-user-session-520.scope/memory.stat",
	    "linux6x-user-session-520.scope/memory.events",
	    "linux6x-user-session-520.scope/cpu.pressure",
	    "linux6x-user-session-520.scope/cgroup.events",
	    "linux6x-user-session-520.scope/cgroup.procs",
	    "linux6x-user-session-520.scope/cpu.max",
	    "ubuntu-host-root-io-stat-loop-quirk/io.stat",
	    "root-iocost-debug-io-stat/io.stat",
	    "pcp-proc-pressure-2019/memory",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		size_t len;
		char *text = load(files[i], &len);
		char *copy = dup_exact(text, len);

		for (int iter = 0; iter < 2000; iter++) {
			int flips = 1 + (int)(rng() % 3);

			memcpy(copy, text, len);
			for (int f = 0; f < flips; f++)
				copy[rng() % len] = (char)(rng() & 0xff);
			feed_all(copy, len);
		}
		free(copy);
		free(text);
	}
}

/* ------------------------------------------------------------------------ */
/* Container path matching                                                  */
/* ------------------------------------------------------------------------ */

/* Container ids seen in the fixture sources (k0s #4954, crun #1794). */
#define ID_A "d30a5394062be7df6b9d9297e4fb6e30561e1c5f949e66acded795d17f05528b"
#define ID_B "11271ae07aa52bd47ef2e5f5ee4efe373f8819f7ec0fbe4d146de2344427486a"
#define POD_SLICE "kubepods.slice/kubepods-pod2fdafb62_3de2_43e6_900a_eda4bf1982db.slice/"
#define POD_UID "pod2fdafb62-3de2-43e6-900a-eda4bf1982db"

static void test_match_positive(void **state)
{
	static const struct {
		const char *path;
		const char *id;
		const char *runtime;
	} cases[] = {
	    {"system.slice/docker-" ID_A ".scope", ID_A, "docker"},
	    {"/system.slice/docker-" ID_A ".scope/", ID_A, "docker"},
	    {"docker/" ID_B, ID_B, "docker"},
	    {"custom.slice/docker/" ID_B, ID_B, "docker"},
	    {"machine.slice/libpod-" ID_A ".scope", ID_A, "podman"},
	    {"machine.slice/machine-libpod_pod_9d30caebefaaf8afd150f71505b3bd"
	     "ccd79b6cf8c2a754426e66b0a2c9584d81.slice/libpod-" ID_B ".scope",
	     ID_B, "podman"},
	    {"user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_A ".scope", ID_A,
	     "podman"},
	    {POD_SLICE "cri-containerd-" ID_A ".scope", ID_A, "containerd"},
	    {"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2fdafb62_"
	     "3de2_43e6_900a_eda4bf1982db.slice/cri-containerd-" ID_B ".scope",
	     ID_B, "containerd"},
	    {"kubepods.slice/kubepods-poda42d5875_23e6_41e2_86e1_e3c11d3f466b.slice/"
	     "crio-" ID_B ".scope",
	     ID_B, "crio"},
	    {"kubepods/burstable/" POD_UID "/" ID_A, ID_A, "containerd"},
	    {"kubepods/besteffort/" POD_UID "/" ID_B "/", ID_B, "containerd"},
	    {"kubepods/" POD_UID "/" ID_A, ID_A, "containerd"},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char id[65], runtime[16];

		memset(id, SENTINEL, sizeof(id));
		memset(runtime, SENTINEL, sizeof(runtime));
		if (cg_match_container_path(cases[i].path, id, runtime) != 1)
			fail_msg("no match: %s", cases[i].path);
		assert_string_equal(id, cases[i].id);
		assert_string_equal(runtime, cases[i].runtime);
	}
}

static void test_match_negative(void **state)
{
	static const char *const cases[] = {
	    "",
	    "/",
	    "system.slice",
	    "system.slice/docker.service",
	    "system.slice/containerd.service",
	    /* conmon monitors are not containers. */
	    "machine.slice/libpod-conmon-" ID_A ".scope",
	    POD_SLICE "crio-conmon-" ID_B ".scope",
	    /* Wrong length. */
	    "system.slice/docker-"
	    "d30a5394062be7df6b9d9297e4fb6e30561e1c5f949e66acded795d17f05528"
	    ".scope",
	    "system.slice/docker-" ID_A "0.scope",
	    "docker/d30a5394062b",
	    /* Uppercase hex is not an id. */
	    "system.slice/docker-D30A5394062BE7DF6B9D9297E4FB6E30561E1C5F949E66ACDED795D17F05528B"
	    ".scope",
	    "docker/D30A5394062BE7DF6B9D9297E4FB6E30561E1C5F949E66ACDED795D17F05528B",
	    /* docker/ with a 64-character non-hex name. */
	    "docker/g30a5394062be7df6b9d9297e4fb6e30561e1c5f949e66acded795d17f05528b",
	    "docker/d30a5394062be7df6b9d9297e4fb6e30561e1c5f949e66acded795d17f05528-",
	    /* The final component decides: a child of a container scope. */
	    "system.slice/docker-" ID_A ".scope/init",
	    "machine.slice/libpod-" ID_A ".scope/container",
	    "docker/" ID_A "/sub",
	    /* Missing or extra decoration. */
	    "system.slice/docker-" ID_A,
	    "system.slice/docker-" ID_A ".scope.bak",
	    "system.slice/docker_" ID_A ".scope",
	    POD_SLICE "containerd-" ID_A ".scope",
	    /* A pod slice names a pod id, not a container. */
	    "machine.slice/"
	    "machine-libpod_pod_9d30caebefaaf8afd150f71505b3bdccd79b6cf8c2a754426e66b0a2c9584d81."
	    "slice",
	    /* Bare id with a parent that is neither docker nor a kubepods pod. */
	    ID_A,
	    "/" ID_A,
	    "mydocker/" ID_A,
	    "other/" ID_A,
	    "kubepods/burstable/" ID_A,
	    POD_UID "/" ID_A,
	    "kubepods/burstable/podXYZ/" ID_A,
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char id[65], runtime[16], sentinel[65];

		memset(id, SENTINEL, sizeof(id));
		memset(runtime, SENTINEL, sizeof(runtime));
		memset(sentinel, SENTINEL, sizeof(sentinel));
		if (cg_match_container_path(cases[i], id, runtime) != 0)
			fail_msg("matched: %s", cases[i]);
		assert_memory_equal(id, sentinel, sizeof(id));
		assert_memory_equal(runtime, sentinel, sizeof(runtime));
	}
	assert_int_equal(cg_match_container_path(NULL, NULL, NULL), 0);
}

/* ------------------------------------------------------------------------ */
/* Live kernel files                                                        */
/* ------------------------------------------------------------------------ */

/* Reads a whole file the way the collector does (kernfs regenerates it on
 * every read from offset 0). Returns an exact-size copy or NULL. */
static char *read_live(const char *path, size_t *len_out)
{
	size_t cap = 1 << 16;
	char *tmp = NULL;
	ssize_t n = -1;
	char *copy = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (; cap <= (1u << 24); cap *= 2) {
		free(tmp);
		tmp = malloc(cap);
		assert_non_null(tmp);
		n = pread(fd, tmp, cap, 0);
		if (n < 0 || (size_t)n < cap)
			break;
	}
	close(fd);
	if (n >= 0 && (size_t)n < cap) {
		copy = dup_exact(tmp, (size_t)n);
		*len_out = (size_t)n;
	}
	free(tmp);
	return copy;
}

/* The cgroup2 mount point, from /proc/self/mountinfo. */
static bool find_cgroup2_mount(char *out, size_t size)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[1024], fstype[64];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
		    sscanf(sep, " - %63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup2") == 0 && strlen(mnt) < size) {
			strcpy(out, mnt);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* Our own cgroup v2 path ("0::<path>" in /proc/self/cgroup). */
static bool find_own_cgroup(char *out, size_t size)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/self/cgroup", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		if (strncmp(line, "0::", 3) != 0 || n - 3 >= size)
			continue;
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		strcpy(out, line + 3);
		found = true;
	}
	fclose(f);
	return found;
}

/*
 * The parsers against whatever this kernel prints right now, in the root
 * of the cgroup2 mount and in our own cgroup: every file that exists and
 * can be read must parse. Read-only; skipped without a cgroup2 mount.
 */
static void test_live_kernel_files(void **state)
{
	static const struct {
		const char *file;
		parse_fn fn;
		size_t out_size;
	} files[] = {
	    {"cpu.stat", p_cpu_stat, sizeof(struct cstatd_cpu_stat)},
	    {"cpu.max", p_cpu_max, sizeof(struct cstatd_cpu_max)},
	    {"cpu.weight", p_u64, sizeof(uint64_t)},
	    {"memory.current", p_u64, sizeof(uint64_t)},
	    {"memory.max", p_u64, sizeof(uint64_t)},
	    {"memory.stat", p_mem_stat, sizeof(struct cstatd_memory_stat)},
	    {"memory.events", p_mem_events, sizeof(struct cstatd_memory_events)},
	    {"io.stat", p_io_stat, sizeof(struct cstatd_io_stat)},
	    {"pids.current", p_u64, sizeof(uint64_t)},
	    {"pids.max", p_u64, sizeof(uint64_t)},
	    {"cpu.pressure", p_psi, sizeof(struct cstatd_psi)},
	    {"memory.pressure", p_psi, sizeof(struct cstatd_psi)},
	    {"io.pressure", p_psi, sizeof(struct cstatd_psi)},
	    {"irq.pressure", p_psi, sizeof(struct cstatd_psi)},
	    {"cgroup.events", p_events, sizeof(struct cstatd_cgroup_events)},
	    {"cgroup.procs", p_procs, sizeof(struct procs_out)},
	};
	char mount[1024], own[2048], dirs[2][4096];
	unsigned checked = 0;
	(void)state;

	if (!find_cgroup2_mount(mount, sizeof(mount)))
		skip();
	snprintf(dirs[0], sizeof(dirs[0]), "%s", mount);
	if (find_own_cgroup(own, sizeof(own)))
		snprintf(dirs[1], sizeof(dirs[1]), "%s%s", mount, own);
	else
		snprintf(dirs[1], sizeof(dirs[1]), "%s", mount);

	for (size_t d = 0; d < 2; d++) {
		for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
			unsigned char out[sizeof(struct cstatd_io_stat)];
			char path[8192 + 256];
			size_t len;
			char *buf;
			int rc;

			snprintf(path, sizeof(path), "%s/%s", dirs[d], files[i].file);
			buf = read_live(path, &len);
			if (!buf)
				continue; /* absent, or EOPNOTSUPP (PSI off) */
			rc = run_checked(files[i].fn, buf, len, out, files[i].out_size);
			if (rc != 0)
				fail_msg("%s: %d on:\n%.*s", path, rc, (int)len, buf);
			free(buf);
			checked++;
		}
	}
	if (checked == 0)
		skip();
}

/* ------------------------------------------------------------------------ */

/* The kernel's layout takes a one-pass path, any other the general
 * tokenizer: both must give the same numbers, bit for bit. Random values in
 * the kernel's layout vs the same values with the keys in another order
 * (which only the general parser reads). */
static void test_psi_fast_path_agrees(void **state)
{
	(void)state;
	srand(3);
	for (int i = 0; i < 20000; i++) {
		unsigned long a[6];
		unsigned long long tot[2];
		for (int k = 0; k < 6; k++)
			a[k] = (unsigned long)rand() % (i % 2 ? 10001 : 101);
		tot[0] = ((unsigned long long)rand() << 20) ^ (unsigned long long)rand();
		tot[1] = (unsigned long long)rand();
		char kern[256], other[256];
		snprintf(kern, sizeof(kern),
		         "some avg10=%lu.%02lu avg60=%lu.%02lu avg300=%lu.%02lu total=%llu\n"
		         "full avg10=%lu.%02lu avg60=%lu.%02lu avg300=%lu.%02lu total=%llu\n",
		         a[0] / 100, a[0] % 100, a[1] / 100, a[1] % 100, a[2] / 100, a[2] % 100,
		         tot[0], a[3] / 100, a[3] % 100, a[4] / 100, a[4] % 100, a[5] / 100,
		         a[5] % 100, tot[1]);
		snprintf(other, sizeof(other),
		         "some total=%llu avg300=%lu.%02lu avg60=%lu.%02lu avg10=%lu.%02lu\n"
		         "full  avg10=%lu.%02lu avg60=%lu.%02lu avg300=%lu.%02lu total=%llu\n",
		         tot[0], a[2] / 100, a[2] % 100, a[1] / 100, a[1] % 100, a[0] / 100,
		         a[0] % 100, a[3] / 100, a[3] % 100, a[4] / 100, a[4] % 100, a[5] / 100,
		         a[5] % 100, tot[1]);
		struct cstatd_psi x, y;
		assert_int_equal(cg_parse_psi(kern, strlen(kern), &x), 0);
		assert_int_equal(cg_parse_psi(other, strlen(other), &y), 0);
		assert_true(x.some_avg10 == y.some_avg10 && x.some_avg60 == y.some_avg60 &&
		            x.some_avg300 == y.some_avg300 && x.full_avg10 == y.full_avg10 &&
		            x.full_avg60 == y.full_avg60 && x.full_avg300 == y.full_avg300);
		assert_true(x.some_avg10 == (double)a[0] / 100.0);
		assert_true(x.full_avg300 == (double)a[5] / 100.0);
		assert_true(x.some_total_usec == tot[0] && y.full_total_usec == tot[1]);
	}
	/* Near misses of the layout still parse (general path) or fail alike. */
	static const char *const ok[] = {
	    "some avg10=1.5 avg60=0.00 avg300=0.00 total=7\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=7 extra=1\n",
	    "some avg10=0.000 avg60=0.00 avg300=0.00 total=7\n",
	};
	static const char *const bad[] = {
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00\n",
	    "some avg10=.00 avg60=0.00 avg300=0.00 total=1\n",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551616\n",
	};
	struct cstatd_psi v;
	for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++)
		assert_int_equal(cg_parse_psi(ok[k], strlen(ok[k]), &v), 0);
	assert_true(v.some_avg10 == 0.0 && v.some_total_usec == 7);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_int_not_equal(cg_parse_psi(bad[k], strlen(bad[k]), &v), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_u64_or_max_fixtures),
	    cmocka_unit_test(test_u64_or_max_edges),
	    cmocka_unit_test(test_u64_respects_len),
	    cmocka_unit_test(test_cpu_max),
	    cmocka_unit_test(test_cpu_stat_fixtures),
	    cmocka_unit_test(test_cpu_stat_keys),
	    cmocka_unit_test(test_memory_stat_fixtures),
	    cmocka_unit_test(test_memory_stat_keys),
	    cmocka_unit_test(test_memory_events),
	    cmocka_unit_test(test_io_stat_fixtures),
	    cmocka_unit_test(test_io_stat_loop_quirks),
	    cmocka_unit_test(test_io_stat_inline),
	    cmocka_unit_test(test_io_stat_too_many_devices),
	    cmocka_unit_test(test_psi_fixtures),
	    cmocka_unit_test(test_psi_inline),
	    cmocka_unit_test(test_cgroup_events),
	    cmocka_unit_test(test_procs),
	    cmocka_unit_test(test_truncated_flat_keyed),
	    cmocka_unit_test(test_truncated_cpu_stat_bandwidth),
	    cmocka_unit_test(test_truncated_psi),
	    cmocka_unit_test(test_truncated_events_and_procs),
	    cmocka_unit_test(test_truncated_io_stat),
	    cmocka_unit_test(test_truncated_single_values),
	    cmocka_unit_test(test_null_empty_buffer),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_mutated_fixtures),
	    cmocka_unit_test(test_match_positive),
	    cmocka_unit_test(test_match_negative),
	    cmocka_unit_test(test_live_kernel_files),
	    cmocka_unit_test(test_psi_fast_path_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
