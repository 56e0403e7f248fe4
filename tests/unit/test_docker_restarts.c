/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for collectors/docker/docker_state.c: the restart counter, the
 * OOM-kill counter and the tombstones, driven with the event sequences
 * Docker really emits (reference §6.3, and the recording
 * tests/fixtures/docker/events-docker20-live.jsonl replayed line by line).
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

#include "collectors/docker/docker_parse.h"
#include "collectors/docker/docker_state.h"

#define FIXTURE_DIR CSTATD_FIXTURES "/docker/"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define S 1000000000LL /* one second in ns */

static const double T0 = 1795606800.0; /* some StartedAt */

static void feed(struct dk_restarts *r, const enum dk_action *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dk_restarts_event(r, a[i]);
}

/* ------------------------------------------------------------------------ */
/* Restarts                                                                 */
/* ------------------------------------------------------------------------ */

static void test_seed_from_restart_count(void **state)
{
	struct dk_restarts r;

	(void)state;
	dk_restarts_seed(&r, CSTATD_STATE_RUNNING, 5, T0, NULL);
	assert_int_equal(r.total, 5);
	assert_false(r.died);
	/* A negative RestartCount (garbage) seeds 0. */
	dk_restarts_seed(&r, CSTATD_STATE_RUNNING, -3, T0, NULL);
	assert_int_equal(r.total, 0);
}

static void test_docker_restart_counts_once(void **state)
{
	/* `docker restart`: kill → die → stop → start → restart (§6.3) */
	static const enum dk_action seq[] = { DK_EV_KILL, DK_EV_DIE, DK_EV_STOP, DK_EV_START,
					      DK_EV_RESTART };
	struct dk_restarts r;

	(void)state;
	dk_restarts_seed(&r, CSTATD_STATE_RUNNING, 0, T0, NULL);
	feed(&r, seq, ARRAY_SIZE(seq));
	assert_int_equal(r.total, 1);
	/* The inspect after start: RestartCount reset to 0, StartedAt moved. */
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 0, T0 + 5), 0);
	assert_int_equal(r.total, 1);
}

static void test_stop_then_start_counts(void **state)
{
	static const enum dk_action stop[] = { DK_EV_KILL, DK_EV_DIE, DK_EV_STOP };
	struct dk_restarts r;

	(void)state;
	dk_restarts_seed(&r, CSTATD_STATE_RUNNING, 3, T0, NULL);
	feed(&r, stop, ARRAY_SIZE(stop));
	assert_int_equal(r.total, 3);
	/* inspect while exited: nothing to reconcile */
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_EXITED, 3, T0), 0);
	assert_true(dk_restarts_event(&r, DK_EV_START));
	assert_int_equal(r.total, 4);
	/* `docker start` resets RestartCount: never a decrease */
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 0, T0 + 60), 0);
	assert_int_equal(r.total, 4);
}

static void test_policy_restarts(void **state)
{
	/* --restart always: die → (restarting, RestartCount already +1) →
	 * start, no restart event. The inspect after the die sees the
	 * increment before the start happened. */
	struct dk_restarts r;
	int i;

	(void)state;
	dk_restarts_seed(&r, CSTATD_STATE_RUNNING, 0, T0, NULL);
	for (i = 1; i <= 4; i++) {
		dk_restarts_event(&r, DK_EV_DIE);
		assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RESTARTING, i, T0), 0);
		dk_restarts_event(&r, DK_EV_START);
		assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, i, T0 + i), 0);
		assert_int_equal(r.total, (uint64_t)i);
	}
}

static void test_missed_events_reconciled(void **state)
{
	struct dk_restarts r;

	(void)state;
	dk_restarts_seed(&r, CSTATD_STATE_RUNNING, 2, T0, NULL);
	/* Events lost (slow reader): only one die/start seen, RestartCount
	 * says three policy restarts happened. */
	dk_restarts_event(&r, DK_EV_DIE);
	dk_restarts_event(&r, DK_EV_START);
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 5, T0 + 30), 2);
	assert_int_equal(r.total, 5);
	/* Another reconcile with nothing new adds nothing. */
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 5, T0 + 30), 0);
	assert_int_equal(r.total, 5);
}

static void test_dockerd_restart_while_disconnected(void **state)
{
	/* dockerd restarted (no live-restore) while cstatd was not
	 * listening: no events at all, RestartCount reset to 0, StartedAt
	 * moved. The container came back up once. */
	struct dk_restarts r;

	(void)state;
	dk_restarts_seed(&r, CSTATD_STATE_RUNNING, 7, T0, NULL);
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 0, T0 + 100), 1);
	assert_int_equal(r.total, 8);
	/* ... and afterwards policy restarts count from the new base. */
	dk_restarts_event(&r, DK_EV_DIE);
	dk_restarts_event(&r, DK_EV_START);
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 1, T0 + 200), 0);
	assert_int_equal(r.total, 9);
}

static void test_stale_inspect_then_start(void **state)
{
	/* The inspect sent at die answers after the policy already started
	 * the container: it proves the restart; the start event that follows
	 * must not count it again. */
	struct dk_restarts r;

	(void)state;
	dk_restarts_seed(&r, CSTATD_STATE_RUNNING, 0, T0, NULL);
	dk_restarts_event(&r, DK_EV_DIE);
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 1, T0 + 2), 1);
	assert_false(dk_restarts_event(&r, DK_EV_START));
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 1, T0 + 2), 0);
	assert_int_equal(r.total, 1);
}

static void test_first_sight_while_restarting(void **state)
{
	/* Seen for the first time in `restarting` with RestartCount 6: the
	 * restart in progress is already counted by Docker. */
	struct dk_restarts r;

	(void)state;
	dk_restarts_seed(&r, CSTATD_STATE_RESTARTING, 6, T0, NULL);
	assert_int_equal(r.total, 5);
	dk_restarts_event(&r, DK_EV_START);
	assert_int_equal(r.total, 6);
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 6, T0 + 1), 0);
	assert_int_equal(r.total, 6);
}

static void test_first_start_is_not_a_restart(void **state)
{
	/* docker run: create → start. Never ran before: no restart. */
	struct dk_restarts r;

	(void)state;
	dk_restarts_seed(&r, CSTATD_STATE_CREATED, 0, 0, NULL);
	assert_false(dk_restarts_event(&r, DK_EV_START));
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 0, T0), 0);
	assert_int_equal(r.total, 0);
	/* ... and an exited container seen first, started again, is one. */
	dk_restarts_seed(&r, CSTATD_STATE_EXITED, 0, T0, NULL);
	assert_true(dk_restarts_event(&r, DK_EV_START));
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 0, T0 + 9), 0);
	assert_int_equal(r.total, 1);
}

static void test_events_before_seed_ignored(void **state)
{
	struct dk_restarts r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_false(dk_restarts_event(&r, DK_EV_DIE));
	assert_false(dk_restarts_event(&r, DK_EV_START));
	assert_int_equal(dk_restarts_reconcile(&r, CSTATD_STATE_RUNNING, 9, T0), 0);
	assert_int_equal(r.total, 0);
}

static void test_podman_restart_without_start(void **state)
{
	/* Podman's policy restarts: died → restart (§9). */
	struct dk_restarts r;

	(void)state;
	dk_restarts_seed(&r, CSTATD_STATE_RUNNING, 0, T0, NULL);
	dk_restarts_event(&r, DK_EV_DIE);
	assert_true(dk_restarts_event(&r, DK_EV_RESTART));
	assert_int_equal(r.total, 1);
}

static void test_recreate_continues_from_tombstone(void **state)
{
	/* Compose recreate: the old container (4 restarts) is renamed away
	 * or destroyed; a new id with the same name continues at 4 + 1. */
	struct dk_tombstones t = { 0 };
	struct dk_restarts r;
	uint64_t tomb = 0;

	(void)state;
	assert_int_equal(dk_tombs_put(&t, "web", 4, 1000.0, 3600.0), 0);
	assert_true(dk_tombs_take(&t, "web", 1001.0, &tomb));
	assert_int_equal(tomb, 4);
	dk_restarts_seed(&r, CSTATD_STATE_CREATED, 0, 0, &tomb);
	assert_int_equal(r.total, 5);
	/* Taken once: a second container of that name does not inherit. */
	assert_false(dk_tombs_take(&t, "web", 1002.0, &tomb));
	dk_tombs_free(&t);
}

static void test_tombstones(void **state)
{
	struct dk_tombstones t = { 0 };
	uint64_t v = 0;
	char name[32];
	int i;

	(void)state;
	assert_int_equal(dk_tombs_put(&t, "a", 3, 100.0, 10.0), 0);
	/* same name again keeps the larger counter and the later expiry */
	assert_int_equal(dk_tombs_put(&t, "a", 2, 105.0, 10.0), 0);
	assert_int_equal(t.n, 1);
	assert_true(dk_tombs_take(&t, "a", 114.0, &v));
	assert_int_equal(v, 3);
	/* expired */
	assert_int_equal(dk_tombs_put(&t, "b", 1, 100.0, 10.0), 0);
	assert_false(dk_tombs_take(&t, "b", 111.0, &v));
	assert_int_equal(t.n, 0);
	/* expire() drops old ones only */
	assert_int_equal(dk_tombs_put(&t, "c", 1, 100.0, 10.0), 0);
	assert_int_equal(dk_tombs_put(&t, "d", 1, 100.0, 100.0), 0);
	dk_tombs_expire(&t, 150.0);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.v[0].name, "d");
	/* empty names are never kept */
	assert_int_equal(dk_tombs_put(&t, "", 9, 100.0, 10.0), 0);
	assert_int_equal(t.n, 1);
	/* bounded: the oldest goes */
	for (i = 0; i < DK_TOMB_MAX + 10; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(dk_tombs_put(&t, name, 1, 200.0 + i, 1000.0), 0);
	}
	assert_int_equal(t.n, DK_TOMB_MAX);
	/* 1 + DK_TOMB_MAX + 10 entries: the 11 soonest to expire went
	 * ("d" at 200, then n0..n9). */
	assert_false(dk_tombs_take(&t, "d", 199.0, &v));
	assert_false(dk_tombs_take(&t, "n9", 201.0, &v));
	assert_true(dk_tombs_take(&t, "n10", 201.0, &v));
	dk_tombs_free(&t);
}

/* ------------------------------------------------------------------------ */
/* OOM kills                                                                */
/* ------------------------------------------------------------------------ */

static void test_oom_v1_burst_is_one_kill(void **state)
{
	/* cgroup v1: one kill of PID 1 gave 13 `oom` events within 15 ms,
	 * then die(137), and inspect says OOMKilled (recorded). */
	struct dk_oom o = { 0 };
	int64_t t = 1795606848601386177LL;
	int i;

	(void)state;
	for (i = 0; i < 13; i++)
		dk_oom_event(&o, t + i * 1200000LL);
	dk_oom_die(&o, 1795606848629833537LL, false);
	dk_oom_inspect(&o, CSTATD_STATE_EXITED, true);
	assert_int_equal(dk_oom_total(&o), 1);
	assert_int_equal(dk_oom_docker_only(&o), 1); /* no memory.events on v1 */
}

static void test_oom_memory_events_and_docker_agree(void **state)
{
	/* cgroup v2: memory.events says 1, Docker says oom + OOMKilled:
	 * one kill, not two. */
	struct dk_oom o = { 0 };

	(void)state;
	dk_oom_mem(&o, 0);
	dk_oom_mem(&o, 1);
	dk_oom_event(&o, 10 * S);
	dk_oom_die(&o, 10 * S + 5000000, false);
	dk_oom_inspect(&o, CSTATD_STATE_EXITED, true);
	assert_int_equal(dk_oom_total(&o), 1);
	assert_int_equal(dk_oom_docker_only(&o), 0);
	/* inspect repeats (periodic re-list) do not count again */
	dk_oom_inspect(&o, CSTATD_STATE_EXITED, true);
	assert_int_equal(dk_oom_total(&o), 1);
}

static void test_oom_cgroup_gone_before_read(void **state)
{
	/* PID 1 killed and the cgroup removed between two sweeps: memory.events
	 * never showed the kill; Docker is the only witness. */
	struct dk_oom o = { 0 };

	(void)state;
	dk_oom_mem(&o, 0);
	dk_oom_die(&o, 20 * S, false); /* no oom event either (lost) */
	dk_oom_inspect(&o, CSTATD_STATE_EXITED, true);
	assert_int_equal(dk_oom_total(&o), 1);
	assert_int_equal(dk_oom_docker_only(&o), 1);
}

static void test_oom_child_kills(void **state)
{
	/* Two child processes killed 5 s apart; the container keeps running. */
	struct dk_oom o = { 0 };

	(void)state;
	dk_oom_mem(&o, 0);
	dk_oom_event(&o, 100 * S);
	dk_oom_mem(&o, 1);
	dk_oom_event(&o, 105 * S);
	dk_oom_mem(&o, 2);
	assert_int_equal(dk_oom_total(&o), 2);
	/* memory.events may see more kills than Docker reported */
	dk_oom_mem(&o, 4);
	assert_int_equal(dk_oom_total(&o), 4);
	assert_int_equal(dk_oom_docker_only(&o), 0);
}

static void test_oom_across_restarts(void **state)
{
	/* Life 1: killed (seen by both). Policy restart: a new cgroup whose
	 * memory.events starts at 0; the first sweep after the start may
	 * still read the old cgroup's 1. Life 2: one more kill. */
	struct dk_oom o = { 0 };

	(void)state;
	dk_oom_mem(&o, 0);
	dk_oom_event(&o, 10 * S);
	dk_oom_mem(&o, 1);
	dk_oom_die(&o, 10 * S + 1000, false);
	dk_oom_life_start(&o);
	dk_oom_mem(&o, 1); /* stale: the old cgroup's value */
	assert_int_equal(dk_oom_total(&o), 1);
	dk_oom_mem(&o, 0); /* the new cgroup */
	assert_int_equal(dk_oom_total(&o), 1);
	dk_oom_mem(&o, 1);
	dk_oom_event(&o, 50 * S);
	assert_int_equal(dk_oom_total(&o), 2);
	/* OOMKilled of the second life's die is the same kill as its burst */
	dk_oom_die(&o, 50 * S + 2000, false);
	dk_oom_inspect(&o, CSTATD_STATE_RESTARTING, true);
	assert_int_equal(dk_oom_total(&o), 2);
	/* A running container's OOMKilled is about nothing (cleared on start). */
	dk_oom_life_start(&o);
	dk_oom_inspect(&o, CSTATD_STATE_RUNNING, true);
	assert_int_equal(dk_oom_total(&o), 2);
}

static void test_oom_first_sight_history(void **state)
{
	struct dk_oom o = { 0 };

	(void)state;
	/* First reading ever: 3 kills in this cgroup before cstatd started. */
	dk_oom_mem(&o, 3);
	assert_int_equal(dk_oom_total(&o), 3);
	dk_oom_mem(&o, 3);
	assert_int_equal(dk_oom_total(&o), 3);
	/* A new cgroup that already had a kill when first read. */
	dk_oom_mem(&o, 1);
	assert_int_equal(dk_oom_total(&o), 4);
}

static void test_oom_podman_attribute(void **state)
{
	/* Podman's died event carries oomKilled=true. */
	struct dk_oom o = { 0 };
	struct dk_event ev;
	char line[1024];
	size_t len;
	FILE *f = fopen(FIXTURE_DIR "events-podman.jsonl", "r");

	(void)state;
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	len = strcspn(line, "\n");
	assert_int_equal(dk_parse_event(line, len, &ev), 0);
	dk_oom_die(&o, ev.time_nano, ev.oom_killed);
	dk_oom_inspect(&o, CSTATD_STATE_EXITED, true);
	assert_int_equal(dk_oom_total(&o), 1);
}

/* ------------------------------------------------------------------------ */
/* Replay of a real event stream                                            */
/* ------------------------------------------------------------------------ */

struct model {
	char id[CSTATD_ID_LEN + 1];
	char name[CSTATD_NAME_LEN];
	struct dk_restarts rs;
	struct dk_oom oom;
};

static struct model *find(struct model *m, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(m[i].id, id) == 0)
			return &m[i];
	return NULL;
}

static void test_replay_recorded_events(void **state)
{
	/* What docker.c does with events, minus the inspects: containers
	 * that existed before the recording are seeded running with
	 * RestartCount 0; new ones are seeded at `create`; destroy leaves a
	 * tombstone by name. Expected values from the recording (see
	 * SOURCES.md): flappy (e5c531be) restarted 6 times (5 policy
	 * restarts and a manual stop/start), then was removed and re-created
	 * (1bf469a1: 6 + 1); oomer restarted twice after 3 OOM kills (each a
	 * burst of oom events, the first one 13 events long); web restarted
	 * once (`docker restart`). */
	struct model m[16];
	struct dk_tombstones t = { 0 };
	size_t n = 0, i;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = fopen(FIXTURE_DIR "events-docker20-live.jsonl", "r");
	struct model *c;

	(void)state;
	assert_non_null(f);
	memset(m, 0, sizeof(m));
	while ((len = getline(&line, &cap, f)) > 0) {
		struct dk_event ev;

		while (len > 0 && line[len - 1] == '\n')
			len--;
		assert_int_equal(dk_parse_event(line, (size_t)len, &ev), 0);
		if (!ev.is_container || ev.action == DK_EV_OTHER)
			continue;
		c = find(m, n, ev.id);
		if (!c) {
			uint64_t tomb;
			bool have_tomb;

			assert_true(n < ARRAY_SIZE(m));
			c = &m[n++];
			snprintf(c->id, sizeof(c->id), "%s", ev.id);
			snprintf(c->name, sizeof(c->name), "%s", ev.name);
			have_tomb = dk_tombs_take(&t, ev.name, 0, &tomb);
			if (ev.action == DK_EV_CREATE)
				dk_restarts_seed(&c->rs, CSTATD_STATE_CREATED, 0, 0,
						 have_tomb ? &tomb : NULL);
			else
				dk_restarts_seed(&c->rs, CSTATD_STATE_RUNNING, 0, T0,
						 have_tomb ? &tomb : NULL);
			if (ev.action == DK_EV_CREATE)
				continue;
		}
		dk_restarts_event(&c->rs, ev.action);
		switch (ev.action) {
		case DK_EV_START:
			dk_oom_life_start(&c->oom);
			break;
		case DK_EV_OOM:
			dk_oom_event(&c->oom, ev.time_nano);
			break;
		case DK_EV_DIE:
			dk_oom_die(&c->oom, ev.time_nano, ev.oom_killed);
			/* the inspect after an OOM die says OOMKilled */
			dk_oom_inspect(&c->oom, CSTATD_STATE_EXITED,
				       ev.has_exit_code && ev.exit_code == 137 &&
					       strcmp(c->name, "oomer") == 0);
			break;
		case DK_EV_DESTROY:
			assert_int_equal(dk_tombs_put(&t, c->name, c->rs.total, 0, 3600), 0);
			c->id[0] = '\0'; /* forgotten */
			break;
		case DK_EV_RENAME:
			snprintf(c->name, sizeof(c->name), "%s", ev.name);
			break;
		default:
			break;
		}
	}
	free(line);
	fclose(f);

	c = find(m, n, "1bf469a149db22e280d7026a06e864361aa49cdd106dc166163a27ccdd813dea");
	assert_non_null(c);
	assert_string_equal(c->name, "flappy");
	assert_int_equal(c->rs.total, 7);
	c = find(m, n, "01bef27bba4af839d0ec7b1a3684d64709977a43b63143c5cbbc9a937f5e0040");
	assert_non_null(c);
	assert_int_equal(c->rs.total, 2);
	assert_int_equal(dk_oom_total(&c->oom), 3);
	c = find(m, n, "f9270499627a254876913d1a96b1012a45019b5ad13b08b30d189e19aff0e5bd");
	assert_non_null(c);
	assert_int_equal(c->rs.total, 1);
	assert_int_equal(dk_oom_total(&c->oom), 0);
	/* the renamed one kept its counter */
	c = find(m, n, "eb49712f745eab9343ab561d401790e0039b516cd5da0a1d9b138a3568260ba9");
	assert_non_null(c);
	assert_string_equal(c->name, "plain2");
	assert_int_equal(c->rs.total, 0);
	for (i = 0; i < n; i++)
		assert_true(m[i].rs.total < 100);
	dk_tombs_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_from_restart_count),
		cmocka_unit_test(test_docker_restart_counts_once),
		cmocka_unit_test(test_stop_then_start_counts),
		cmocka_unit_test(test_policy_restarts),
		cmocka_unit_test(test_missed_events_reconciled),
		cmocka_unit_test(test_dockerd_restart_while_disconnected),
		cmocka_unit_test(test_stale_inspect_then_start),
		cmocka_unit_test(test_first_sight_while_restarting),
		cmocka_unit_test(test_first_start_is_not_a_restart),
		cmocka_unit_test(test_events_before_seed_ignored),
		cmocka_unit_test(test_podman_restart_without_start),
		cmocka_unit_test(test_recreate_continues_from_tombstone),
		cmocka_unit_test(test_tombstones),
		cmocka_unit_test(test_oom_v1_burst_is_one_kill),
		cmocka_unit_test(test_oom_memory_events_and_docker_agree),
		cmocka_unit_test(test_oom_cgroup_gone_before_read),
		cmocka_unit_test(test_oom_child_kills),
		cmocka_unit_test(test_oom_across_restarts),
		cmocka_unit_test(test_oom_first_sight_history),
		cmocka_unit_test(test_oom_podman_attribute),
		cmocka_unit_test(test_replay_recorded_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
