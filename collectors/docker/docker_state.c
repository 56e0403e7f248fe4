/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restart and OOM-kill accounting; the rules are documented in
 * docker_state.h, next to the declarations.
 */
#include "collectors/docker/docker_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ================================================================== */
/* Restarts                                                            */
/* ================================================================== */

static bool is_up(enum cstatd_state st)
{
	return st == CSTATD_STATE_RUNNING || st == CSTATD_STATE_PAUSED;
}

void dk_restarts_seed(struct dk_restarts *r, enum cstatd_state st, int64_t restart_count,
		      double started_at, const uint64_t *tomb)
{
	int64_t rc = restart_count > 0 ? restart_count : 0;

	memset(r, 0, sizeof(*r));
	r->seeded = true;
	r->started_base = started_at;
	if (st == CSTATD_STATE_RESTARTING && rc > 0) {
		/* RestartCount++ happens before the die is logged: the
		 * restart in progress is in it already. Expect its start. */
		rc--;
		r->died = true;
	} else if ((st == CSTATD_STATE_EXITED || st == CSTATD_STATE_DEAD ||
		    st == CSTATD_STATE_RESTARTING) &&
		   started_at > 0) {
		/* It ran before: starting it again is coming back up. */
		r->died = true;
	}
	r->rc_base = rc;
	r->total = (uint64_t)rc + (tomb ? *tomb + 1 : 0);
}

bool dk_restarts_event(struct dk_restarts *r, enum dk_action a)
{
	if (!r->seeded)
		return false;
	switch (a) {
	case DK_EV_DIE:
		r->died = true;
		return false;
	case DK_EV_START:
	case DK_EV_RESTART:
		if (!r->died)
			return false;
		r->died = false;
		r->total++;
		r->counted_since++;
		return true;
	default:
		return false;
	}
}

uint64_t dk_restarts_reconcile(struct dk_restarts *r, enum cstatd_state st,
			       int64_t restart_count, double started_at)
{
	uint64_t evidence = 0, added = 0;

	if (!r->seeded || !is_up(st))
		return 0;
	if (restart_count > r->rc_base)
		evidence = (uint64_t)(restart_count - r->rc_base);
	if (r->started_base > 0 && started_at > 0 && started_at != r->started_base &&
	    evidence < 1)
		evidence = 1;
	if (evidence > r->counted_since) {
		added = evidence - r->counted_since;
		r->total += added;
	}
	/* A RestartCount below the base was reset: re-base, never subtract. */
	r->rc_base = restart_count > 0 ? restart_count : 0;
	if (started_at > 0)
		r->started_base = started_at;
	r->counted_since = 0;
	/* Running now: any die seen so far has been followed by a start,
	 * counted either by its event or just now. */
	r->died = false;
	return added;
}

/* ================================================================== */
/* OOM kills                                                           */
/* ================================================================== */

/* Docker `oom` events closer together than this are one kill (cgroup v1
 * sends one per OOM notification, a dozen for one kill). */
#define OOM_BURST_NS 1000000000LL
/* A die this soon after a burst is the kill that burst reported. */
#define OOM_DIE_NS 2000000000LL

void dk_oom_event(struct dk_oom *o, int64_t t_ns)
{
	if (!o->burst || t_ns - o->burst_last_ns > OOM_BURST_NS || t_ns < o->burst_last_ns)
		o->docker_life++;
	o->burst = true;
	o->burst_last_ns = t_ns;
}

void dk_oom_die(struct dk_oom *o, int64_t t_ns, bool oom_killed_attr)
{
	if (o->burst && t_ns >= o->burst_last_ns && t_ns - o->burst_last_ns <= OOM_DIE_NS)
		o->pid1_counted = true; /* the burst was this kill */
	if (oom_killed_attr && !o->pid1_counted) {
		o->docker_life++;
		o->pid1_counted = true;
	}
}

void dk_oom_inspect(struct dk_oom *o, enum cstatd_state st, bool oom_killed)
{
	if (!oom_killed || is_up(st) || o->pid1_counted)
		return;
	o->docker_life++;
	o->pid1_counted = true;
}

void dk_oom_life_start(struct dk_oom *o)
{
	uint64_t m = o->mem_life, d = o->docker_life;

	o->closed += m > d ? m : d;
	o->closed_docker_only += d > m ? d - m : 0;
	o->mem_life = 0;
	o->docker_life = 0;
	o->burst = false;
	o->burst_last_ns = 0;
	o->pid1_counted = false;
}

void dk_oom_mem(struct dk_oom *o, uint64_t oom_kill)
{
	if (!o->mem_valid || oom_kill < o->mem_last)
		o->mem_life += oom_kill; /* first reading, or a new cgroup */
	else
		o->mem_life += oom_kill - o->mem_last;
	o->mem_last = oom_kill;
	o->mem_valid = true;
}

uint64_t dk_oom_total(const struct dk_oom *o)
{
	uint64_t m = o->mem_life, d = o->docker_life;

	return o->closed + (m > d ? m : d);
}

uint64_t dk_oom_docker_only(const struct dk_oom *o)
{
	uint64_t m = o->mem_life, d = o->docker_life;

	return o->closed_docker_only + (d > m ? d - m : 0);
}

/* ================================================================== */
/* Tombstones                                                          */
/* ================================================================== */

void dk_tombs_free(struct dk_tombstones *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static struct dk_tomb *tomb_find(struct dk_tombstones *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

static void tomb_del(struct dk_tombstones *t, size_t i)
{
	t->v[i] = t->v[t->n - 1];
	t->n--;
}

int dk_tombs_put(struct dk_tombstones *t, const char *name, uint64_t restarts_total,
		 double now, double keep_seconds)
{
	struct dk_tomb *e;

	if (!name || !*name)
		return 0;
	e = tomb_find(t, name);
	if (e) {
		if (restarts_total > e->restarts_total)
			e->restarts_total = restarts_total;
		e->expires = now + keep_seconds;
		return 0;
	}
	if (t->n == DK_TOMB_MAX) {
		size_t i, oldest = 0;

		for (i = 1; i < t->n; i++)
			if (t->v[i].expires < t->v[oldest].expires)
				oldest = i;
		tomb_del(t, oldest);
	}
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct dk_tomb *nv = realloc(t->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = ncap;
	}
	e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	strncpy(e->name, name, sizeof(e->name) - 1);
	e->restarts_total = restarts_total;
	e->expires = now + keep_seconds;
	return 0;
}

bool dk_tombs_take(struct dk_tombstones *t, const char *name, double now, uint64_t *out)
{
	size_t i;

	if (!name || !*name)
		return false;
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].name, name) != 0)
			continue;
		if (t->v[i].expires < now) {
			tomb_del(t, i);
			return false;
		}
		*out = t->v[i].restarts_total;
		tomb_del(t, i);
		return true;
	}
	return false;
}

void dk_tombs_expire(struct dk_tombstones *t, double now)
{
	size_t i = 0;

	while (i < t->n) {
		if (t->v[i].expires < now)
			tomb_del(t, i);
		else
			i++;
	}
}
