/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Docker parsers that read text rather than JSON bodies
 * (collectors/docker/docker_parse.h); the first input byte picks one:
 *   0  /_ping response headers (dk_parse_ping_headers), then the version
 *      negotiation on the result;
 *   1  /proc/<pid>/cgroup (dk_parse_proc_cgroup) for a fixed container id,
 *      into a heap buffer whose size comes from the second byte (1..256), so
 *      that ASan sees a write past it;
 *   2  an API version string (dk_parse_api_version);
 *   3  an RFC 3339 time (dk_parse_time), as a C string;
 *   4  a label allow-list (first line) matched against and sanitising a
 *      label key (the rest) into a buffer sized by the second byte.
 * Checks: outputs untouched on failure; ping's server string terminated;
 * versions in range and negotiation within DK_API_MIN..DK_API_MAX; the
 * cgroup path terminated inside the buffer, without the leading '/', and
 * containing the id; times finite and non-negative; sanitised keys of the
 * key's length and charset.
 */
#include <errno.h>
#include <math.h>

#include "collectors/docker/docker_parse.h"
#include "tests/fuzz/fuzz_util.h"

static const char fuzz_id[] = "4c1b2a5e9f0d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";

static void fuzz_ping(const char *buf, size_t len)
{
	static struct dk_ping p;
	int rc, use = -1;

	memset(&p, FUZZ_POISON, sizeof(p));
	rc = dk_parse_ping_headers(buf, len, &p);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc < 0) {
		FUZZ_CHECK(fuzz_is_poison(&p, sizeof(p)));
		return;
	}
	FUZZ_CHECK(fuzz_terminated(p.server, sizeof(p.server)));
	/* Four digits of major, three of minor at most. */
	FUZZ_CHECK(p.api_version >= 0 && p.api_version <= 9999 * 1000 + 999);
	rc = dk_negotiate_api_version(p.api_version, &use);
	if (rc == 0)
		FUZZ_CHECK(use >= DK_API_MIN && use <= DK_API_MAX && use <= p.api_version);
	else
		FUZZ_CHECK(rc == -ENOTSUP && use == -1 && p.api_version < DK_API_MIN);
}

static void fuzz_proc_cgroup(const char *buf, size_t len)
{
	size_t outlen;
	char *out;
	int rc;

	if (len == 0)
		return;
	outlen = (size_t)(unsigned char)buf[0] + 1;
	buf++;
	len--;
	out = malloc(outlen);
	FUZZ_CHECK(out != NULL);
	memset(out, FUZZ_POISON, outlen);
	rc = dk_parse_proc_cgroup(buf, len, fuzz_id, out, outlen);
	FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -ENAMETOOLONG);
	if (rc < 0) {
		FUZZ_CHECK(fuzz_is_poison(out, outlen));
	} else {
		FUZZ_CHECK(fuzz_terminated(out, outlen));
		FUZZ_CHECK(out[0] != '/' && strstr(out, fuzz_id) != NULL);
		/* The path ends with the component holding the id. */
		FUZZ_CHECK(strchr(strstr(out, fuzz_id), '/') == NULL);
	}
	/* An invalid id never matches. */
	FUZZ_CHECK(dk_parse_proc_cgroup(buf, len, "x", out, outlen) == -ENOENT);
	free(out);
}

static void fuzz_api_version(const char *buf, size_t len)
{
	int v = -1;
	int rc = dk_parse_api_version(buf, len, &v);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc < 0)
		FUZZ_CHECK(v == -1);
	else
		FUZZ_CHECK(v >= 0 && v <= 9999 * 1000 + 999 && memchr(buf, '.', len) != NULL);
}

static void fuzz_time(const char *buf, size_t len)
{
	char *s = fuzz_strdup((const uint8_t *)buf, len);
	double t = -1;
	int rc = dk_parse_time(s, &t);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc < 0)
		FUZZ_CHECK(t == -1);
	else
		FUZZ_CHECK(isfinite(t) && t >= 0);
	free(s);
}

static void fuzz_labels(const char *buf, size_t len)
{
	struct dk_allowlist al;
	const char *nl;
	char *csv, *key, *out;
	size_t outlen;
	int rc;

	/* Globs come from the operator and keys from Docker (both short);
	 * long ones only measure glibc's backtracking fnmatch(). */
	if (len == 0 || len > 192)
		return;
	outlen = (size_t)(unsigned char)buf[0] + 1;
	buf++;
	len--;
	nl = memchr(buf, '\n', len);
	csv = fuzz_strdup((const uint8_t *)buf, nl ? (size_t)(nl - buf) : len);
	key = fuzz_strdup((const uint8_t *)(nl ? nl + 1 : buf + len),
	                  nl ? len - (size_t)(nl - buf) - 1 : 0);
	FUZZ_CHECK(dk_allowlist_init(&al, csv) == 0);
	FUZZ_CHECK(al.n <= fuzz_count((const uint8_t *)csv, strlen(csv), ',') + 1);
	for (size_t i = 0; i < al.n; i++)
		FUZZ_CHECK(al.globs[i][0] != '\0');
	(void)dk_allowlist_match(&al, key);
	FUZZ_CHECK(!dk_allowlist_match(NULL, key));

	out = malloc(outlen);
	FUZZ_CHECK(out != NULL);
	memset(out, FUZZ_POISON, outlen);
	rc = dk_sanitize_label_key(key, out, outlen);
	if (rc < 0) {
		FUZZ_CHECK(rc == -ENAMETOOLONG && fuzz_is_poison(out, outlen));
	} else {
		FUZZ_CHECK(strlen(out) == strlen(key) && strlen(out) < outlen);
		for (const char *p = out; *p; p++)
			FUZZ_CHECK((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			           (*p >= '0' && *p <= '9') || *p == '_');
	}
	free(out);
	dk_allowlist_free(&al);
	FUZZ_CHECK(al.n == 0 && al.globs == NULL && al.storage == NULL);
	free(csv);
	free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf;
	size_t len;

	if (size == 0)
		return 0;
	buf = (const char *)data + 1;
	len = size - 1;
	switch (data[0] % 5) {
	case 0:
		fuzz_ping(buf, len);
		break;
	case 1:
		fuzz_proc_cgroup(buf, len);
		break;
	case 2:
		fuzz_api_version(buf, len);
		break;
	case 3:
		fuzz_time(buf, len);
		break;
	default:
		fuzz_labels(buf, len);
		break;
	}
	return 0;
}
