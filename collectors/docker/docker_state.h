/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restart and OOM-kill accounting for Docker containers, as pure state
 * machines: they take what the Docker API said (inspect results, events)
 * and what memory.events said, and keep cstatd's own monotonic counters.
 * No I/O, no clock, no locks: the docker collector calls them under its
 * mutex, the unit tests call them directly (tests/unit/test_docker_restarts.c).
 *
 * ---------------------------------------------------------------------
 * The restart counter (cstatd_container_restarts_total)
 * ---------------------------------------------------------------------
 * A restart is "the container came back up": every time it starts again
 * after having run. Docker's RestartCount cannot be exported as is: it
 * counts only policy restarts, and it is reset to 0 by `docker start`,
 * `docker restart` and a dockerd restart (reference §3, §6.4). The rules:
 *
 *  1. First sight (first inspect of an id): total = RestartCount.
 *     If the container is `restarting` right now, Docker has already
 *     counted the restart in progress, so seed RestartCount - 1 and expect
 *     the coming `start`.
 *  2. Re-creation: a new id whose name matches a tombstone (a container of
 *     that name was destroyed or renamed away within tombstone_seconds,
 *     e.g. `docker compose up` recreating a service) continues from the
 *     tombstone: total = tombstone + 1 + RestartCount. The +1 is the
 *     re-creation itself, counted at the new container's first sight.
 *  3. Events: `die` marks the container as down. The next `start` counts +1
 *     (a policy restart emits die → start with no `restart` event; `docker
 *     restart` emits die → start → restart; `docker stop` + `docker start`
 *     also counts: the container came back up). `restart` counts +1 only if
 *     no `start` followed the `die` (Podman emits restart for policy
 *     restarts). Events before the first inspect are ignored: the seed
 *     already reflects them.
 *  4. Reconciliation, at every inspect that finds the container running or
 *     paused (after start events, on every re-list after a reconnect, and
 *     periodically): the evidence of restarts since the previous
 *     reconciliation is max(RestartCount increase, 1 if StartedAt changed
 *     from a real previous start). When events counted fewer, the
 *     difference is added (events were lost: slow reader, dockerd restart).
 *     A RestartCount that went down was reset: re-base, never subtract.
 *     This is the "max(own counter, previous + RestartCount increase)"
 *     rule, and it makes a container that dockerd restarted while cstatd
 *     was disconnected count +1.
 *  The counter only ever grows.
 *
 * ---------------------------------------------------------------------
 * The OOM-kill counter (cstatd_container_oom_kills_total)
 * ---------------------------------------------------------------------
 * Three witnesses see the same kills: memory.events oom_kill of the
 * container's cgroup (exact, but the cgroup of a container whose PID 1 was
 * killed may be gone before the next sweep reads it), Docker `oom` events
 * (on cgroup v1 one kill produces a burst of them; a child kill gives only
 * `oom`), and State.OOMKilled at die (PID 1 killed). To count each kill
 * once, counting is split into "lives" (start to next start):
 *   mem_life    = increases of memory.events oom_kill seen in this life
 *                 (a value that goes down is a new cgroup: its value counts
 *                 whole; the first value ever seen counts whole too, it is
 *                 the history of a cgroup that started with this life)
 *   docker_life = Docker-witnessed kills in this life: one per burst of
 *                 `oom` events (events closer than 1 s together are one
 *                 burst), plus one for OOMKilled at die when no burst just
 *                 preceded the die
 *   total       = sum over lives of max(mem_life, docker_life)
 * "Docker-only" kills (cstatd_docker_info.oom_kills_docker) are the sum
 * over lives of max(0, docker_life - mem_life).
 */
#ifndef CSTATD_DOCKER_STATE_H
#define CSTATD_DOCKER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/docker/docker_parse.h"
#include "cstatd/container.h"

/* ---- restarts ---------------------------------------------------- */

struct dk_restarts {
	bool seeded;
	bool died;              /* a die was seen and no start since */
	uint64_t total;         /* the exported counter */
	int64_t rc_base;        /* RestartCount at the last reconciliation */
	double started_base;    /* StartedAt at the last reconciliation; 0 never */
	uint64_t counted_since; /* restarts counted from events since then */
};

/* Rules 1 and 2. `tomb` is NULL when no tombstone matched the name. */
void dk_restarts_seed(struct dk_restarts *r, enum cstatd_state st, int64_t restart_count,
		      double started_at, const uint64_t *tomb);
/* Rule 3. Returns true when the event counted a restart. */
bool dk_restarts_event(struct dk_restarts *r, enum dk_action a);
/* Rule 4. Returns how many restarts it added (0 mostly). */
uint64_t dk_restarts_reconcile(struct dk_restarts *r, enum cstatd_state st,
			       int64_t restart_count, double started_at);

/* ---- OOM kills --------------------------------------------------- */

struct dk_oom {
	uint64_t closed;             /* sum of max(mem, docker) of ended lives */
	uint64_t closed_docker_only; /* sum of max(0, docker - mem) of ended lives */
	uint64_t mem_life;
	uint64_t docker_life;
	bool mem_valid;              /* mem_last holds a reading */
	uint64_t mem_last;           /* last memory.events oom_kill (kept across lives) */
	bool burst;                  /* an `oom` burst was seen in this life */
	int64_t burst_last_ns;
	bool pid1_counted;           /* this life's die-by-OOM is counted */
};

/* Docker `oom` event at event time t_ns. */
void dk_oom_event(struct dk_oom *o, int64_t t_ns);
/* Docker `die` at t_ns; oom_killed_attr is Podman's Attributes.oomKilled. */
void dk_oom_die(struct dk_oom *o, int64_t t_ns, bool oom_killed_attr);
/* An inspect result: State.OOMKilled of a container that is not running
 * (OOMKilled is cleared on the next start, so only then is it about this
 * life's end). Also used at first sight. */
void dk_oom_inspect(struct dk_oom *o, enum cstatd_state st, bool oom_killed);
/* A new life began (start event, or StartedAt changed). */
void dk_oom_life_start(struct dk_oom *o);
/* memory.events oom_kill of the container's cgroup, read this sweep. */
void dk_oom_mem(struct dk_oom *o, uint64_t oom_kill);
uint64_t dk_oom_total(const struct dk_oom *o);
uint64_t dk_oom_docker_only(const struct dk_oom *o);

/* ---- tombstones -------------------------------------------------- */

/* Restart counters of destroyed (or renamed-away) names, kept for
 * `keep_seconds` so a re-created container of the same name continues
 * them. Owns its memory; at most DK_TOMB_MAX entries (oldest dropped). */
#define DK_TOMB_MAX 4096

struct dk_tomb {
	char name[CSTATD_NAME_LEN];
	uint64_t restarts_total;
	double expires;
};

struct dk_tombstones {
	struct dk_tomb *v;
	size_t n, cap;
};

void dk_tombs_free(struct dk_tombstones *t);
/* Replaces an entry of the same name (keeping the larger counter).
 * -ENOMEM leaves the set unchanged. An empty name is ignored. */
int dk_tombs_put(struct dk_tombstones *t, const char *name, uint64_t restarts_total,
		 double now, double keep_seconds);
/* Finds an unexpired entry by name, removes it and returns true. */
bool dk_tombs_take(struct dk_tombstones *t, const char *name, double now, uint64_t *out);
/* Drops expired entries. */
void dk_tombs_expire(struct dk_tombstones *t, double now);

#endif
