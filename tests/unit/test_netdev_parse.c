/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for collectors/netdev/netdev_parse.c.
 *
 * Real files come from tests/fixtures/netdev (provenance in PROVENANCE.md
 * there); expected values were read by hand from them. Inputs the fixtures
 * do not show (long names, 17 counters, more than 8 interfaces, torn lines)
 * are written inline below the kernel's real header and marked "synthetic".
 *
 * Every buffer handed to the parser is an exact-size heap copy with no NUL
 * after it, so AddressSanitizer reports any read past `len`.
 */
#include <errno.h>
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

#include "collectors/netdev/netdev_parse.h"

#define FIXTURE_DIR CSTATD_FIXTURES "/netdev/"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL 0xA5

/* The two header lines exactly as dev_seq_show() prints them. */
#define HEADER                                                                                     \
	"Inter-|   Receive                                                |  Transmit\n"           \
	" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs " \
	"drop fifo colls carrier compressed\n"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static char *dup_exact(const void *src, size_t n)
{
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	if (n)
		memcpy(p, src, n);
	return p;
}

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
 * Parses an exact-size copy of (src, n) into *out, pre-filled with SENTINEL.
 * Asserts 0 or -EINVAL, and that -EINVAL left *out alone.
 */
static int run_checked(const void *src, size_t n, struct cstatd_netdev *out)
{
	struct cstatd_netdev sentinel;
	char *buf = dup_exact(src, n);
	int rc;

	memset(&sentinel, SENTINEL, sizeof(sentinel));
	memset(out, SENTINEL, sizeof(*out));
	rc = netdev_parse(buf, n, out);
	free(buf);
	if (rc != 0) {
		assert_int_equal(rc, -EINVAL);
		assert_memory_equal(out, &sentinel, sizeof(sentinel));
	}
	return rc;
}

#define RUN_STR(str, out) run_checked(str, strlen(str), out)

struct if_want {
	const char *name;
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

static void assert_if(const struct cstatd_net_if *i, const struct if_want *w)
{
	assert_string_equal(i->name, w->name);
	assert_int_equal(i->rx_bytes, w->rx_bytes);
	assert_int_equal(i->rx_packets, w->rx_packets);
	assert_int_equal(i->rx_errors, w->rx_errors);
	assert_int_equal(i->rx_dropped, w->rx_dropped);
	assert_int_equal(i->tx_bytes, w->tx_bytes);
	assert_int_equal(i->tx_packets, w->tx_packets);
	assert_int_equal(i->tx_errors, w->tx_errors);
	assert_int_equal(i->tx_dropped, w->tx_dropped);
}

static size_t count_newlines(const char *text, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n;
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ------------------------------------------------------------------------ */
/* Real files                                                               */
/* ------------------------------------------------------------------------ */

static void test_fixture_eth0(void **state)
{
	/* The container side of a veth pair: rx 438/5, tx 648/8. */
	static const struct if_want eth0 = {"eth0", 438, 5, 0, 0, 648, 8, 0, 0};
	struct cstatd_netdev nd;
	size_t len;
	char *text = load("procfs-fixture-eth0.dev", &len);
	(void)state;

	assert_int_equal(run_checked(text, len, &nd), 0);
	/* `lo` is skipped. */
	assert_int_equal(nd.n_ifs, 1);
	assert_int_equal(nd.n_dropped, 0);
	assert_if(&nd.ifs[0], &eth0);
	free(text);
}

static void test_fixture_two_networks(void **state)
{
	static const struct if_want eth0 = {"eth0", 648, 8, 0, 0, 0, 0, 0, 0};
	static const struct if_want eth1 = {"eth1", 1478, 19, 0, 0, 182, 3, 0, 0};
	struct cstatd_netdev nd;
	size_t len;
	char *text = load("datadog-two-networks.dev", &len);
	(void)state;

	assert_int_equal(run_checked(text, len, &nd), 0);
	assert_int_equal(nd.n_ifs, 2);
	assert_int_equal(nd.n_dropped, 0);
	assert_if(&nd.ifs[0], &eth0);
	assert_if(&nd.ifs[1], &eth1);
	free(text);
}

/* ------------------------------------------------------------------------ */
/* Line shapes                                                              */
/* ------------------------------------------------------------------------ */

/* Synthetic: distinct counters prove which column lands in which field. */
static void test_field_mapping(void **state)
{
	static const struct if_want w = {"eth0", 1, 2, 3, 4, 9, 10, 11, 12};
	struct cstatd_netdev nd;
	(void)state;

	assert_int_equal(RUN_STR(HEADER "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", &nd),
	                 0);
	assert_int_equal(nd.n_ifs, 1);
	assert_if(&nd.ifs[0], &w);
}

/*
 * Synthetic: a name of six characters or more fills the "%6s:" column and
 * the first counter follows the ':' with no blank (real kernel layout for
 * e.g. enp0s31f6 or veth names); tabs between counters are accepted.
 */
static void test_no_space_after_colon(void **state)
{
	static const struct if_want a = {"enp0s31f6", 1234567890123u, 7, 0, 1, 42, 3, 0, 0};
	static const struct if_want b = {"eth0", 1234, 5, 0, 0, 6, 7, 0, 0};
	static const struct if_want c = {"veth1a2b3c4d5e6", 9, 1, 0, 0, 8, 2, 0, 0};
	struct cstatd_netdev nd;
	(void)state;

	assert_int_equal(
	    RUN_STR(HEADER "enp0s31f6:1234567890123       7    0    1    0     0          0        "
	                   " 0       42       3    0    0    0     0       0          0\n"
	                   "eth0:1234 5 0 0 0 0 0 0 6 7 0 0 0 0 0 0\n"
	                   "veth1a2b3c4d5e6:9\t1 0 0 0 0 0 0 8 2 0 0 0 0 0 0\n",
	            &nd),
	    0);
	assert_int_equal(nd.n_ifs, 3);
	assert_if(&nd.ifs[0], &a);
	assert_if(&nd.ifs[1], &b);
	assert_if(&nd.ifs[2], &c);
}

/* Synthetic: counters past the 16th are ignored (forward compatibility). */
static void test_seventeen_fields(void **state)
{
	static const struct if_want w = {"eth0", 1, 2, 3, 4, 9, 10, 11, 12};
	struct cstatd_netdev nd;
	(void)state;

	assert_int_equal(RUN_STR(HEADER "    lo: 5 5 0 0 0 0 0 0 5 5 0 0 0 0 0 0 0\n"
	                                "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n",
	                         &nd),
	                 0);
	assert_int_equal(nd.n_ifs, 1);
	assert_if(&nd.ifs[0], &w);
}

static void test_lo_skipped_only_by_exact_name(void **state)
{
	struct cstatd_netdev nd;
	(void)state;

	assert_int_equal(RUN_STR(HEADER "    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
	                                "   lo0: 2 2 0 0 0 0 0 0 2 2 0 0 0 0 0 0\n"
	                                "lonely: 3 3 0 0 0 0 0 0 3 3 0 0 0 0 0 0\n",
	                         &nd),
	                 0);
	assert_int_equal(nd.n_ifs, 2);
	assert_string_equal(nd.ifs[0].name, "lo0");
	assert_string_equal(nd.ifs[1].name, "lonely");

	/* Only `lo`: valid, no interfaces. So is a namespace with headers only. */
	assert_int_equal(RUN_STR(HEADER "    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n", &nd), 0);
	assert_int_equal(nd.n_ifs, 0);
	assert_int_equal(nd.n_dropped, 0);
	assert_int_equal(RUN_STR(HEADER, &nd), 0);
	assert_int_equal(nd.n_ifs, 0);
}

/* Synthetic: 11 interfaces besides lo; 8 fit. */
static void test_too_many_interfaces(void **state)
{
	char text[4096];
	size_t n = 0;
	struct cstatd_netdev nd;
	(void)state;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", HEADER);
	n += (size_t)snprintf(text + n, sizeof(text) - n,
	                      "    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n");
	for (unsigned i = 0; i < 11; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		                      "  eth%u: %u 1 0 0 0 0 0 0 %u 1 0 0 0 0 0 0\n", i, 100 + i,
		                      200 + i);
	assert_true(n < sizeof(text));
	assert_int_equal(run_checked(text, n, &nd), 0);
	assert_int_equal(nd.n_ifs, CSTATD_NET_MAX_IFS);
	assert_int_equal(nd.n_dropped, 3);
	for (unsigned i = 0; i < CSTATD_NET_MAX_IFS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "eth%u", i);
		assert_string_equal(nd.ifs[i].name, name);
		assert_int_equal(nd.ifs[i].rx_bytes, 100 + i);
		assert_int_equal(nd.ifs[i].tx_bytes, 200 + i);
	}
}

static void test_name_length(void **state)
{
	struct cstatd_netdev nd;
	(void)state;

	/* IFNAMSIZ is 16 with the NUL: 15 characters fit. */
	assert_int_equal(RUN_STR(HEADER "abcdefghijklmno: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n", &nd),
	                 0);
	assert_string_equal(nd.ifs[0].name, "abcdefghijklmno");
	assert_int_equal(RUN_STR(HEADER "abcdefghijklmnop: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n", &nd),
	                 -EINVAL);
}

static void test_invalid(void **state)
{
	static const char *const invalid[] = {
	    "",
	    "Inter-|   Receive\n",
	    /* Headers without their '|' columns. */
	    "Inter-   Receive\n face  bytes\n",
	    /* Header lines torn. */
	    "Inter-|   Receive                                                |  Tra",
	    /* A short line: 15 counters. */
	    HEADER "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n",
	    HEADER "  eth0:\n",
	    /* A good line, then a short one: the whole file is refused. */
	    HEADER "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
	           "  eth1: 1 2 3\n",
	    /* The last line without its newline (torn read). */
	    HEADER "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
	    /* Bad counters. */
	    HEADER "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n",
	    HEADER "  eth0: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
	    HEADER "  eth0: 1.5 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
	    HEADER "  eth0: 18446744073709551616 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
	    /* No name, no colon, blank line, blank inside the name. */
	    HEADER "      : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
	    HEADER "  eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
	    HEADER "\n",
	    HEADER "  et h0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
	};
	struct cstatd_netdev nd;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
		if (RUN_STR(invalid[i], &nd) != -EINVAL)
			fail_msg("accepted case %zu", i);
	}

	/* 2^64 - 1 is the largest counter that fits. */
	assert_int_equal(
	    RUN_STR(HEADER "  eth0: 18446744073709551615 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
	            &nd),
	    0);
	assert_int_equal(nd.ifs[0].rx_bytes, UINT64_MAX);
}

/*
 * Found by fuzz_netdev: a NUL inside an interface name was copied into the
 * C-string name, so "lo\0x" passed for lo (and was skipped), "\0eth0" gave
 * an empty name, and "eth0\0a" / "eth0\0b" would export one name twice.
 * The kernel never prints one; the file is refused like any garbage.
 */
static void test_fuzz_nul_in_name(void **state)
{
	static const char lo_nul[] = HEADER "lo\0x: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
	static const char lead_nul[] = HEADER "  \0eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
	static const char mid_nul[] = HEADER "  eth0\0a: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
	struct cstatd_netdev nd;
	(void)state;

	assert_int_equal(run_checked(lo_nul, sizeof(lo_nul) - 1, &nd), -EINVAL);
	assert_int_equal(run_checked(lead_nul, sizeof(lead_nul) - 1, &nd), -EINVAL);
	assert_int_equal(run_checked(mid_nul, sizeof(mid_nul) - 1, &nd), -EINVAL);
}

/* The parser must stop at len even when a valid file continues in memory. */
static void test_respects_len(void **state)
{
	static const char text[] = HEADER "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
	struct cstatd_netdev nd;
	(void)state;

	/* Cut just before the last line: headers only. */
	assert_int_equal(run_checked(text, strlen(HEADER), &nd), 0);
	assert_int_equal(nd.n_ifs, 0);
	/* Cut just before the final newline: torn. */
	assert_int_equal(run_checked(text, sizeof(text) - 2, &nd), -EINVAL);
	/* A 0-byte read, possibly handed over as (NULL, 0), has no headers. */
	memset(&nd, SENTINEL, sizeof(nd));
	assert_int_equal(netdev_parse(NULL, 0, &nd), -EINVAL);
	assert_int_equal(nd.n_ifs, 0xA5A5A5A5u);
}

/* ------------------------------------------------------------------------ */
/* Truncated reads and garbage                                              */
/* ------------------------------------------------------------------------ */

/*
 * Cuts each fixture at every length: success exactly on line boundaries
 * after the two headers, holding the complete non-lo lines, equal to the
 * full parse; anything else -EINVAL with the output untouched.
 */
static void test_truncated(void **state)
{
	static const char *const files[] = {
	    "procfs-fixture-eth0.dev",
	    "datadog-two-networks.dev",
	};
	(void)state;

	for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
		size_t len;
		char *text = load(files[f], &len);
		const char *nl1 = memchr(text, '\n', len);
		const char *nl2 = memchr(nl1 + 1, '\n', len - (size_t)(nl1 + 1 - text));
		size_t headers = (size_t)(nl2 + 1 - text);
		struct cstatd_netdev full, nd;

		assert_int_equal(run_checked(text, len, &full), 0);
		for (size_t cut = 0; cut <= len; cut++) {
			bool want_ok = cut >= headers && text[cut - 1] == '\n';
			int rc = run_checked(text, cut, &nd);

			if (rc != (want_ok ? 0 : -EINVAL))
				fail_msg("%s cut at %zu: got %d", files[f], cut, rc);
			if (rc != 0)
				continue;
			/* Both fixtures list `lo` first. */
			size_t lines = count_newlines(text, cut) - 2;

			assert_int_equal(nd.n_ifs, lines ? lines - 1 : 0);
			for (unsigned i = 0; i < nd.n_ifs; i++) {
				const struct cstatd_net_if *w = &full.ifs[i];
				struct if_want want = {w->name,       w->rx_bytes,   w->rx_packets,
				                       w->rx_errors,  w->rx_dropped, w->tx_bytes,
				                       w->tx_packets, w->tx_errors,  w->tx_dropped};

				assert_if(&nd.ifs[i], &want);
			}
		}
		free(text);
	}
}

static void test_garbage(void **state)
{
	static const char *const atoms[] = {
	    HEADER, "lo", "eth0", ":", " ", "  ", "\n", "\t", "|", "0", "1", "18446744073709551616",
	    "-",    "x",
	};
	char buf[2048];
	struct cstatd_netdev nd;
	(void)state;

	for (int iter = 0; iter < 20000; iter++) {
		size_t n = 0;
		size_t parts = rng() % 48;

		for (size_t k = 0; k < parts; k++) {
			if (rng() % 5 == 0) {
				buf[n++] = (char)(rng() & 0xff);
			} else {
				const char *a = atoms[rng() % ARRAY_SIZE(atoms)];
				size_t an = strlen(a);

				if (n + an > sizeof(buf))
					break;
				memcpy(buf + n, a, an);
				n += an;
			}
		}
		if (run_checked(buf, n, &nd) == 0) {
			assert_true(nd.n_ifs <= CSTATD_NET_MAX_IFS);
			for (unsigned i = 0; i < nd.n_ifs; i++)
				assert_true(strlen(nd.ifs[i].name) < CSTATD_IFNAME_LEN);
		}
	}

	/* Real files with a few random bytes changed. */
	for (int f = 0; f < 2; f++) {
		size_t len;
		char *text = load(f ? "datadog-two-networks.dev" : "procfs-fixture-eth0.dev", &len);

		for (int iter = 0; iter < 5000; iter++) {
			char *copy = dup_exact(text, len);
			int flips = 1 + (int)(rng() % 3);

			for (int k = 0; k < flips; k++)
				copy[rng() % len] = (char)(rng() & 0xff);
			run_checked(copy, len, &nd);
			free(copy);
		}
		free(text);
	}
}

/* ------------------------------------------------------------------------ */
/* Live kernel file                                                         */
/* ------------------------------------------------------------------------ */

/* Our own network namespace's net/dev, as this kernel prints it now. */
static void test_live_proc_net_dev(void **state)
{
	char tmp[65536];
	struct cstatd_netdev nd;
	ssize_t n;
	int fd = open("/proc/self/net/dev", O_RDONLY | O_CLOEXEC);
	(void)state;

	if (fd < 0)
		skip();
	n = pread(fd, tmp, sizeof(tmp), 0);
	close(fd);
	assert_true(n > 0 && (size_t)n < sizeof(tmp));
	if (run_checked(tmp, (size_t)n, &nd) != 0)
		fail_msg("/proc/self/net/dev refused:\n%.*s", (int)n, tmp);
	for (unsigned i = 0; i < nd.n_ifs; i++) {
		assert_true(nd.ifs[i].name[0] != '\0');
		assert_string_not_equal(nd.ifs[i].name, "lo");
	}
}

/* ------------------------------------------------------------------------ */

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_eth0),
	    cmocka_unit_test(test_fixture_two_networks),
	    cmocka_unit_test(test_field_mapping),
	    cmocka_unit_test(test_no_space_after_colon),
	    cmocka_unit_test(test_seventeen_fields),
	    cmocka_unit_test(test_lo_skipped_only_by_exact_name),
	    cmocka_unit_test(test_too_many_interfaces),
	    cmocka_unit_test(test_name_length),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_fuzz_nul_in_name),
	    cmocka_unit_test(test_respects_len),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_live_proc_net_dev),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
