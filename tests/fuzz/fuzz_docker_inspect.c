/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /containers/<id>/json bodies (dk_parse_inspect), parsed twice: with no
 * label allow-list and with "*" (every label). Checks: a rejected body leaves
 * the output untouched; an accepted one has a valid id, every text field
 * NUL-terminated inside its buffer and valid UTF-8, enums in range, times
 * finite and non-negative, a non-zero CPU period, risk bits inside the
 * declared set; without an allow-list no labels at all, with one at most
 * CSTATD_MAX_LABELS labels, keys sanitised to [A-Za-z0-9_], sorted and
 * distinct. The two parses agree on everything but the labels.
 */
#include <errno.h>
#include <math.h>

#include "collectors/docker/docker_parse.h"
#include "tests/fuzz/fuzz_util.h"

static bool key_chars_ok(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

static void check(const struct dk_inspect *in, bool with_labels)
{
	FUZZ_CHECK(fuzz_terminated(in->id, sizeof(in->id)) && dk_valid_id(in->id));
	FUZZ_CHECK_TEXT(in->name);
	FUZZ_CHECK_TEXT(in->image);
	FUZZ_CHECK_TEXT(in->image_id);
	FUZZ_CHECK_TEXT(in->compose_project);
	FUZZ_CHECK_TEXT(in->compose_service);
	FUZZ_CHECK_TEXT(in->network_mode);
	FUZZ_CHECK(in->state >= CSTATD_STATE_UNKNOWN && in->state < CSTATD_STATE_COUNT);
	FUZZ_CHECK(in->health >= CSTATD_HEALTH_NONE && in->health < CSTATD_HEALTH_COUNT);
	FUZZ_CHECK(in->pid >= 0);
	FUZZ_CHECK(isfinite(in->created_at) && in->created_at >= 0);
	FUZZ_CHECK(isfinite(in->started_at) && in->started_at >= 0);
	FUZZ_CHECK(isfinite(in->finished_at) && in->finished_at >= 0);
	FUZZ_CHECK(in->cpu_period_usec != 0 && in->cpu_quota_usec != 0);
	FUZZ_CHECK(in->mem_limit != 0 && in->pids_limit != 0);
	FUZZ_CHECK((in->risks >> CSTATD_RISK_COUNT_BITS) == 0);
	if (!with_labels) {
		FUZZ_CHECK(in->n_labels == 0 && in->n_labels_dropped == 0);
		return;
	}
	FUZZ_CHECK(in->n_labels <= CSTATD_MAX_LABELS);
	for (unsigned i = 0; i < in->n_labels; i++) {
		FUZZ_CHECK(fuzz_terminated(in->labels[i].key, sizeof(in->labels[i].key)));
		FUZZ_CHECK(key_chars_ok(in->labels[i].key));
		FUZZ_CHECK_TEXT(in->labels[i].value);
		if (i > 0)
			FUZZ_CHECK(strcmp(in->labels[i - 1].key, in->labels[i].key) < 0);
	}
}

static bool same_but_labels(const struct dk_inspect *a, const struct dk_inspect *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->name, b->name) == 0 &&
	       strcmp(a->image, b->image) == 0 && strcmp(a->image_id, b->image_id) == 0 &&
	       strcmp(a->compose_project, b->compose_project) == 0 &&
	       strcmp(a->compose_service, b->compose_service) == 0 &&
	       strcmp(a->network_mode, b->network_mode) == 0 && a->state == b->state &&
	       a->health == b->health && a->pid == b->pid && a->oom_killed == b->oom_killed &&
	       a->exit_code == b->exit_code && a->restart_count == b->restart_count &&
	       a->created_at == b->created_at && a->started_at == b->started_at &&
	       a->finished_at == b->finished_at && a->mem_limit == b->mem_limit &&
	       a->cpu_quota_usec == b->cpu_quota_usec && a->cpu_period_usec == b->cpu_period_usec &&
	       a->pids_limit == b->pids_limit && a->risks_known == b->risks_known &&
	       a->risks == b->risks;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dk_allowlist all;
	static bool init;
	static struct dk_inspect plain, labelled;
	const char *buf = (const char *)data;
	int rc, rc2;

	if (!init) {
		FUZZ_CHECK(dk_allowlist_init(&all, "*") == 0 && all.n == 1);
		init = true;
	}
	memset(&plain, FUZZ_POISON, sizeof(plain));
	memset(&labelled, FUZZ_POISON, sizeof(labelled));
	rc = dk_parse_inspect(buf, size, NULL, &plain);
	rc2 = dk_parse_inspect(buf, size, &all, &labelled);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	FUZZ_CHECK(rc2 == rc);
	if (rc < 0) {
		FUZZ_CHECK(fuzz_is_poison(&plain, sizeof(plain)));
		FUZZ_CHECK(fuzz_is_poison(&labelled, sizeof(labelled)));
		return 0;
	}
	check(&plain, false);
	check(&labelled, true);
	FUZZ_CHECK(same_but_labels(&plain, &labelled));
	return 0;
}
