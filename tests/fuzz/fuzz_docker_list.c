/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /containers/json bodies (dk_parse_list). Every entry handed to the
 * callback must carry a valid 64-hex id, a NUL-terminated UTF-8 name without
 * the leading '/', and a state inside the enum. The walk is then repeated
 * with a callback that stops at the first entry: its return value must come
 * back and no further entry may be delivered. Entries plus skipped elements
 * must equal the array size both times the body is walked to the end.
 */
#include <errno.h>

#include "collectors/docker/docker_parse.h"
#include "tests/fuzz/fuzz_util.h"

struct walk {
	size_t seen;
	size_t stop_after; /* 0: never stop */
};

static int on_entry(void *arg, const struct dk_list_entry *e)
{
	struct walk *w = arg;

	FUZZ_CHECK(fuzz_terminated(e->id, sizeof(e->id)));
	FUZZ_CHECK(dk_valid_id(e->id));
	FUZZ_CHECK_TEXT(e->name);
	FUZZ_CHECK(e->state >= CSTATD_STATE_UNKNOWN && e->state < CSTATD_STATE_COUNT);
	w->seen++;
	if (w->stop_after && w->seen == w->stop_after)
		return 42;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct walk all = {0}, first = {.stop_after = 1};
	size_t skipped = (size_t)-1, skipped2 = (size_t)-1;
	int rc;

	rc = dk_parse_list(buf, size, on_entry, &all, &skipped);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc < 0) {
		FUZZ_CHECK(all.seen == 0 && skipped == (size_t)-1);
		return 0;
	}
	FUZZ_CHECK(skipped != (size_t)-1);
	/* Each element is at least "{}" plus a comma: a bound on the total. */
	FUZZ_CHECK(all.seen + skipped <= size / 2);

	rc = dk_parse_list(buf, size, on_entry, &first, &skipped2);
	if (all.seen == 0) {
		FUZZ_CHECK(rc == 0 && first.seen == 0 && skipped2 == skipped);
	} else {
		FUZZ_CHECK(rc == 42 && first.seen == 1 && skipped2 <= skipped);
	}
	/* A NULL skipped counter is allowed. */
	FUZZ_CHECK(dk_parse_list(buf, size, on_entry, &(struct walk){0}, NULL) == 0);
	return 0;
}
