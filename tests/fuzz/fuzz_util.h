/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared helpers for the libFuzzer targets in tests/fuzz/. Header-only
 * (static inline): each target is one translation unit linked with the
 * parsers and libFuzzer's main().
 *
 * Invariant failures abort() with a message, which libFuzzer reports as a
 * crash and saves the input (crash-<sha1>), exactly like a sanitizer error.
 */
#ifndef CSTATD_FUZZ_UTIL_H
#define CSTATD_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer's entry point; declared here for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                        \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, \
			        __LINE__);                                                      \
			abort();                                                                \
		}                                                                               \
	} while (0)

/* The input as a C string, in a heap block of exactly size + 1 bytes so
 * that ASan sees any read past the NUL. Embedded NULs simply end the
 * string early, as they would for a header value or a path. */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* True when buf[0..cap) holds a NUL: a fixed-size string field is
 * terminated inside its declared size. */
static inline bool fuzz_terminated(const char *buf, size_t cap)
{
	return memchr(buf, '\0', cap) != NULL;
}

/* Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static inline bool fuzz_valid_utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned c = *s;
		size_t n;
		unsigned cp;

		if (c < 0x80) {
			s++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t i = 1; i <= n; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		s += n + 1;
	}
	return true;
}

/* A fixed-size text field: terminated inside its size and valid UTF-8. */
#define FUZZ_CHECK_TEXT(field)                                       \
	do {                                                         \
		FUZZ_CHECK(fuzz_terminated((field), sizeof(field))); \
		FUZZ_CHECK(fuzz_valid_utf8(field));                  \
	} while (0)

/* Counts bytes equal to c in data[0..size). */
static inline size_t fuzz_count(const uint8_t *data, size_t size, uint8_t c)
{
	size_t n = 0;

	for (size_t i = 0; i < size; i++)
		n += data[i] == c;
	return n;
}

/* The poison every output struct is filled with before a call, so that
 * "left untouched on failure" can be checked with one memcmp. */
#define FUZZ_POISON 0xA5

static inline bool fuzz_is_poison(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != FUZZ_POISON)
			return false;
	return true;
}

#endif
