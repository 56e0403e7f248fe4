/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "daemon/signals.h"

const struct cstatd_signal_def cstatd_signal_defs[CSTATD_SIG_COUNT] = {
#define X(id, name, kind, unit, lim, pnum, pden, scope, help) \
	[CSTATD_SIG_##id] = {name, kind, unit, lim, pnum, pden, scope, help},
    CSTATD_SIGNALS(X)
#undef X
};

const char *const cstatd_agg_names[CSTATD_AGG_COUNT] = {
    [CSTATD_AGG_AVG] = "avg",           [CSTATD_AGG_MIN] = "min",
    [CSTATD_AGG_MAX] = "max",           [CSTATD_AGG_LAST] = "last",
    [CSTATD_AGG_INCREASE] = "increase", [CSTATD_AGG_RATE] = "rate",
    [CSTATD_AGG_PREDICT] = "predict",
};

const char *const cstatd_limit_names[CSTATD_LIMIT_COUNT] = {
    [CSTATD_LIMIT_NONE] = "",
    [CSTATD_LIMIT_CPU] = "cpu_limit",
    [CSTATD_LIMIT_MEMORY] = "memory_limit",
    [CSTATD_LIMIT_PIDS] = "pids_limit",
    [CSTATD_LIMIT_HOST_CPUS] = "host_cpus",
    [CSTATD_LIMIT_HOST_MEMORY] = "host_memory",
};

bool cstatd_agg_valid(enum cstatd_agg agg, enum cstatd_signal_kind kind)
{
	switch (kind) {
	case CSTATD_KIND_GAUGE:
		return agg == CSTATD_AGG_AVG || agg == CSTATD_AGG_MIN || agg == CSTATD_AGG_MAX ||
		       agg == CSTATD_AGG_LAST || agg == CSTATD_AGG_PREDICT;
	case CSTATD_KIND_COUNTER:
		return agg == CSTATD_AGG_INCREASE || agg == CSTATD_AGG_RATE ||
		       agg == CSTATD_AGG_LAST;
	case CSTATD_KIND_RATE_TIME:
	case CSTATD_KIND_RATE_RATIO:
		return agg < CSTATD_AGG_COUNT;
	case CSTATD_KIND_STATE:
		return agg == CSTATD_AGG_LAST;
	}
	return false;
}

int cstatd_signal_by_name(const char *name, enum cstatd_signal *out)
{
	for (int i = 0; i < CSTATD_SIG_COUNT; i++) {
		if (strcmp(cstatd_signal_defs[i].name, name) == 0) {
			*out = (enum cstatd_signal)i;
			return 0;
		}
	}
	return -ENOENT;
}

int cstatd_agg_by_name(const char *name, enum cstatd_agg *out)
{
	for (int i = 0; i < CSTATD_AGG_COUNT; i++) {
		if (strcmp(cstatd_agg_names[i], name) == 0) {
			*out = (enum cstatd_agg)i;
			return 0;
		}
	}
	return -ENOENT;
}

int cstatd_limit_by_name(const char *name, enum cstatd_limit *out)
{
	for (int i = 1; i < CSTATD_LIMIT_COUNT; i++) {
		if (strcmp(cstatd_limit_names[i], name) == 0) {
			*out = (enum cstatd_limit)i;
			return 0;
		}
	}
	return -ENOENT;
}

static void set(struct cstatd_signal_values *o, enum cstatd_signal sig, double v)
{
	o->v[sig] = v;
	o->have |= 1u << sig;
}

static void set_psi(struct cstatd_signal_values *o, const struct cstatd_psi *p, bool have,
                    enum cstatd_signal some, enum cstatd_signal full)
{
	if (!have)
		return;
	if (p->has_some)
		set(o, some, (double)p->some_total_usec / 1e6);
	if (p->has_full)
		set(o, full, (double)p->full_total_usec / 1e6);
}

void cstatd_signals_read(const struct cstatd_container *c, struct cstatd_signal_values *o)
{
	const struct cstatd_sample *s = &c->s;

	memset(o, 0, sizeof(*o));
	if (s->have & CSTATD_HAVE_CPU_STAT)
		set(o, CSTATD_SIG_CPU_USAGE, (double)s->cpu.usage_usec / 1e6);
	if ((s->have & CSTATD_HAVE_CPU_BANDWIDTH) && s->cpu.has_bandwidth) {
		set(o, CSTATD_SIG_CPU_THROTTLED, (double)s->cpu.nr_throttled);
		o->den[CSTATD_SIG_CPU_THROTTLED] = (double)s->cpu.nr_periods;
	}
	/* Working set as cAdvisor defines it: usage minus the inactive file
	 * cache (reclaimable first), floored at 0; Docker's stats stream
	 * brings its own figure. Without memory.stat the usage is the best
	 * upper bound we have. */
	if (s->have & CSTATD_HAVE_WORKING_SET) {
		set(o, CSTATD_SIG_MEMORY_WORKING_SET, (double)s->working_set);
	} else if (s->have & CSTATD_HAVE_MEM_CURRENT) {
		uint64_t ws = s->mem_current;
		if (s->have & CSTATD_HAVE_MEM_STAT)
			ws = s->mem.inactive_file < ws ? ws - s->mem.inactive_file : 0;
		set(o, CSTATD_SIG_MEMORY_WORKING_SET, (double)ws);
	}
	if (s->have & CSTATD_HAVE_MEM_CURRENT)
		set(o, CSTATD_SIG_MEMORY_USAGE, (double)s->mem_current);
	if (s->have & CSTATD_HAVE_PIDS_CURRENT)
		set(o, CSTATD_SIG_PIDS, (double)s->pids_current);
	set_psi(o, &s->psi_cpu, s->have & CSTATD_HAVE_PSI_CPU, CSTATD_SIG_PSI_CPU_SOME,
	        CSTATD_SIG_PSI_CPU_FULL);
	set_psi(o, &s->psi_mem, s->have & CSTATD_HAVE_PSI_MEM, CSTATD_SIG_PSI_MEMORY_SOME,
	        CSTATD_SIG_PSI_MEMORY_FULL);
	set_psi(o, &s->psi_io, s->have & CSTATD_HAVE_PSI_IO, CSTATD_SIG_PSI_IO_SOME,
	        CSTATD_SIG_PSI_IO_FULL);
	if (c->docker.known)
		set(o, CSTATD_SIG_RESTARTS, (double)c->docker.restarts_total);
	if (c->docker.known || (s->have & CSTATD_HAVE_MEM_EVENTS))
		set(o, CSTATD_SIG_OOM_KILLS, (double)c->oom_kills_total);
	if (c->docker.known && c->docker.health != CSTATD_HEALTH_NONE)
		set(o, CSTATD_SIG_HEALTH, c->docker.health == CSTATD_HEALTH_HEALTHY ? 1.0 : 0.0);

	/* Configuration risks: Docker's inspect when known (what
	 * cstatd_container_config_risk exports), else what the cgroup limit
	 * files say. Raw cgroups (--all-cgroups) are no containers: no risks. */
	if (!c->is_container)
		return;
	if (c->docker.known && c->docker.risks_known) {
		uint32_t r = c->docker.risks;
		set(o, CSTATD_SIG_NO_MEMORY_LIMIT, (r & CSTATD_RISK_NO_MEMORY_LIMIT) ? 1 : 0);
		set(o, CSTATD_SIG_NO_CPU_LIMIT, (r & CSTATD_RISK_NO_CPU_LIMIT) ? 1 : 0);
		set(o, CSTATD_SIG_NO_PIDS_LIMIT, (r & CSTATD_RISK_NO_PIDS_LIMIT) ? 1 : 0);
		set(o, CSTATD_SIG_PRIVILEGED, (r & CSTATD_RISK_PRIVILEGED) ? 1 : 0);
		set(o, CSTATD_SIG_RUNS_AS_ROOT, (r & CSTATD_RISK_RUNS_AS_ROOT) ? 1 : 0);
		return;
	}
	if (s->have & CSTATD_HAVE_MEM_MAX)
		set(o, CSTATD_SIG_NO_MEMORY_LIMIT, s->mem_max == CSTATD_UNLIMITED ? 1 : 0);
	if (s->have & CSTATD_HAVE_CPU_MAX)
		set(o, CSTATD_SIG_NO_CPU_LIMIT, s->cpu_max.quota_usec == CSTATD_UNLIMITED ? 1 : 0);
	if (s->have & CSTATD_HAVE_PIDS_MAX)
		set(o, CSTATD_SIG_NO_PIDS_LIMIT, s->pids_max == CSTATD_UNLIMITED ? 1 : 0);
}

void cstatd_host_detect(struct cstatd_host *h)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long pages = sysconf(_SC_PHYS_PAGES);
	long page = sysconf(_SC_PAGESIZE);

	h->cpus = cpus > 0 ? (double)cpus : 0;
	h->memory_bytes = pages > 0 && page > 0 ? (double)pages * (double)page : 0;
}

enum cstatd_limit cstatd_limit_host_fallback(enum cstatd_limit lim)
{
	switch (lim) {
	case CSTATD_LIMIT_CPU:
		return CSTATD_LIMIT_HOST_CPUS;
	case CSTATD_LIMIT_MEMORY:
		return CSTATD_LIMIT_HOST_MEMORY;
	default:
		return CSTATD_LIMIT_NONE;
	}
}

int cstatd_limit_value(enum cstatd_limit lim, const struct cstatd_container *c,
                       const struct cstatd_host *h, double *out)
{
	const struct cstatd_sample *s = c ? &c->s : NULL;
	double v = 0;

	switch (lim) {
	case CSTATD_LIMIT_CPU:
		if (s && (s->have & CSTATD_HAVE_CPU_MAX) &&
		    s->cpu_max.quota_usec != CSTATD_UNLIMITED && s->cpu_max.period_usec > 0)
			v = (double)s->cpu_max.quota_usec / (double)s->cpu_max.period_usec;
		break;
	case CSTATD_LIMIT_MEMORY:
		if (s && (s->have & CSTATD_HAVE_MEM_MAX) && s->mem_max != CSTATD_UNLIMITED)
			v = (double)s->mem_max;
		break;
	case CSTATD_LIMIT_PIDS:
		if (s && (s->have & CSTATD_HAVE_PIDS_MAX) && s->pids_max != CSTATD_UNLIMITED)
			v = (double)s->pids_max;
		break;
	case CSTATD_LIMIT_HOST_CPUS:
		v = h ? h->cpus : 0;
		break;
	case CSTATD_LIMIT_HOST_MEMORY:
		v = h ? h->memory_bytes : 0;
		break;
	default:
		break;
	}
	/* A limit of 0 is "unknown" here, never a denominator. */
	if (!(v > 0))
		return -ENODATA;
	*out = v;
	return 0;
}
