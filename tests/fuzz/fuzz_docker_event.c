/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One line of GET /events (dk_parse_event): Docker with and without the
 * legacy status/id/from keys, Podman. Checks: a rejected line leaves the
 * output untouched; an accepted container event has a valid 64-hex id;
 * names are NUL-terminated UTF-8 without the leading '/'; the action and
 * health are inside their enums, a health state only on a health event, an
 * exit code only when has_exit_code; non-container events carry no id.
 */
#include <errno.h>

#include "collectors/docker/docker_parse.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dk_event ev;
	int rc;

	memset(&ev, FUZZ_POISON, sizeof(ev));
	rc = dk_parse_event((const char *)data, size, &ev);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc < 0) {
		FUZZ_CHECK(fuzz_is_poison(&ev, sizeof(ev)));
		return 0;
	}
	FUZZ_CHECK(ev.action >= DK_EV_OTHER && ev.action <= DK_EV_HEALTH);
	FUZZ_CHECK(ev.health >= CSTATD_HEALTH_NONE && ev.health < CSTATD_HEALTH_COUNT);
	FUZZ_CHECK(ev.health == CSTATD_HEALTH_NONE || ev.action == DK_EV_HEALTH);
	FUZZ_CHECK(ev.has_exit_code || ev.exit_code == 0);
	FUZZ_CHECK(!ev.has_exit_code || ev.action == DK_EV_DIE);
	FUZZ_CHECK_TEXT(ev.name);
	FUZZ_CHECK_TEXT(ev.old_name);
	FUZZ_CHECK(fuzz_terminated(ev.id, sizeof(ev.id)));
	if (ev.is_container) {
		FUZZ_CHECK(dk_valid_id(ev.id));
	} else {
		FUZZ_CHECK(ev.id[0] == '\0' && ev.name[0] == '\0' && !ev.oom_killed);
	}
	return 0;
}
