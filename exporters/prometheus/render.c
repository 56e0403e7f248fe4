/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text 0.0.4 and OpenMetrics 1.0 rendering of the store.
 *
 * The sweep renders the text body once, noting where each family's samples
 * sit. The sample lines are the same bytes in both formats, so the
 * OpenMetrics body is derived from the text body (its own HELP/TYPE lines +
 * the same sample spans + "# EOF"), and gzip copies are compressed from the
 * finished bodies — both on demand, by the first request of a sweep that
 * wants them (render_derive), at most once per sweep. A Prometheus scraping
 * every 15 s thus costs one derivation per scrape, not one per sweep.
 *
 * Families are emitted in the order of CSTATD_FAMILIES (families.h), each
 * with its HELP/TYPE lines and then the samples of every container, so a
 * family is always contiguous. No sample carries a timestamp. Limits that
 * are `max` produce no sample (cAdvisor writes 0, which turns every
 * usage/limit ratio into +Inf and every "near limit" alert into noise).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cstatd/devnames.h"
#include "cstatd/stats.h"
#include "exporters/prometheus/families.h"
#include "exporters/prometheus/render.h"
#include "exporters/prometheus/selfstat.h"

struct renderer {
	/* Base labels of every container, rendered once per sweep. */
	struct cstatd_buf labels;
	size_t *label_off;
	size_t *label_len;
	size_t label_slots;
	struct selfstat self;
};

/* One render pass. */
struct ctx {
	struct renderer *r;
	struct cstatd_buf *b;
	bool om;
	struct cstatd_store *st;
	const struct render_self *self;
};

/* ------------------------------------------------------------------ */
/* Low-level writers                                                   */
/* ------------------------------------------------------------------ */

static inline void put(struct cstatd_buf *b, const char *s, size_t n)
{
	cstatd_buf_put(b, s, n);
}

static inline void puts_(struct cstatd_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_u64(struct cstatd_buf *b, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(b, tmp + i, sizeof(tmp) - (size_t)i);
}

static void put_i64(struct cstatd_buf *b, int64_t v)
{
	if (v < 0) {
		put(b, "-", 1);
		put_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(b, (uint64_t)v);
	}
}

/* Microseconds as exact decimal seconds: "12.000345" (no float rounding). */
static void put_usec(struct cstatd_buf *b, uint64_t usec)
{
	char frac[8];
	uint64_t f = usec % 1000000;
	put_u64(b, usec / 1000000);
	frac[0] = '.';
	for (int i = 6; i >= 1; i--) {
		frac[i] = (char)('0' + f % 10);
		f /= 10;
	}
	put(b, frac, 7);
}

/* m · 10^-decimals as a decimal, trailing fraction zeros dropped: "12.5", "3". */
static void put_fixed(struct cstatd_buf *b, int64_t m, int decimals)
{
	char frac[8];
	uint64_t a = m < 0 ? (uint64_t)0 - (uint64_t)m : (uint64_t)m;
	uint64_t div = 1;
	for (int i = 0; i < decimals; i++)
		div *= 10;
	if (m < 0)
		put(b, "-", 1);
	put_u64(b, a / div);
	uint64_t f = a % div;
	int n = decimals;
	while (n > 0 && f % 10 == 0) {
		f /= 10;
		n--;
	}
	if (n == 0)
		return;
	frac[0] = '.';
	for (int i = n; i >= 1; i--) {
		frac[i] = (char)('0' + f % 10);
		f /= 10;
	}
	put(b, frac, (size_t)n + 1);
}

static void put_double(struct cstatd_buf *b, double d)
{
	char tmp[40];
	if (isnan(d)) {
		puts_(b, "NaN");
		return;
	}
	if (isinf(d)) {
		puts_(b, d > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Fast path (most values are whole, or whole milli/microseconds): d is
	 * exactly the double nearest m / 10^k for an integer m, which is also
	 * what strtod makes of the decimal m·10^-k, so writing that decimal
	 * reads back as d. IEEE division is correctly rounded, so the check
	 * (double)m / scale == d is exact. */
	static const double scales[] = {1.0, 1e3, 1e6};
	for (int k = 0; k < 3 && fabs(d) < 1e15; k++) {
		double m = d * scales[k];
		if (fabs(m) < 9e15 && m == (double)(int64_t)m && (double)(int64_t)m / scales[k] == d) {
			put_fixed(b, (int64_t)m, 3 * k);
			return;
		}
	}
	/* Shortest of %.15g/%.17g that reads back exactly. */
	snprintf(tmp, sizeof(tmp), "%.15g", d);
	if (strtod(tmp, NULL) != d)
		snprintf(tmp, sizeof(tmp), "%.17g", d);
	puts_(b, tmp);
}

void render_put_double(struct cstatd_buf *b, double d)
{
	put_double(b, d);
}

/* Length of the valid UTF-8 sequence at s, or 0 when invalid: no overlong
 * forms, no surrogates, nothing above U+10FFFF (RFC 3629 table 3-7), which
 * is what Prometheus' label value check accepts. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

void render_escape_label_value(struct cstatd_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		const unsigned char *run = p;
		while (*p && *p != '\\' && *p != '"' && *p != '\n' && *p < 0x80)
			p++;
		put(b, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		if (*p == '\\') {
			put(b, "\\\\", 2);
			p++;
		} else if (*p == '"') {
			put(b, "\\\"", 2);
			p++;
		} else if (*p == '\n') {
			put(b, "\\n", 2);
			p++;
		} else {
			size_t n = utf8_seq(p);
			if (n) {
				put(b, (const char *)p, n);
				p += n;
			} else {
				put(b, "\xEF\xBF\xBD", 3); /* U+FFFD */
				p++;
			}
		}
	}
}

void render_escape_help(struct cstatd_buf *b, const char *s, bool openmetrics)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(b, "\\\\", 2);
		else if (*s == '\n')
			put(b, "\\n", 2);
		else if (*s == '"' && openmetrics)
			put(b, "\\\"", 2);
		else
			put(b, s, 1);
	}
}

/* ------------------------------------------------------------------ */
/* Families and samples                                                */
/* ------------------------------------------------------------------ */

static size_t suffix_len(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);
	return n > m && strcmp(name + n - m, suffix) == 0 ? m : 0;
}

static void family_header(struct ctx *x, const struct fam_def *f)
{
	struct cstatd_buf *b = x->b;
	size_t name_len = strlen(f->name);
	const char *type = f->type == FAM_COUNTER     ? "counter"
	                   : f->type == FAM_HISTOGRAM ? "histogram"
	                                              : "gauge";

	if (x->om) {
		/* OpenMetrics names the family without the _total suffix, and
		 * *_info gauges are the info type. */
		size_t cut = 0;
		if (f->type == FAM_COUNTER)
			cut = suffix_len(f->name, "_total");
		else if ((cut = suffix_len(f->name, "_info")) != 0)
			type = "info";
		name_len -= cut;
	}
	puts_(b, "# HELP ");
	put(b, f->name, name_len);
	put(b, " ", 1);
	render_escape_help(b, f->help, x->om);
	puts_(b, "\n# TYPE ");
	put(b, f->name, name_len);
	put(b, " ", 1);
	puts_(b, type);
	put(b, "\n", 1);
}

/* Starts a sample line: name{<base labels of container ci>,k1="v1",k2="v2"}
 * followed by a space. ci == SIZE_MAX: no container labels. */
static void sample_start(struct ctx *x, const char *name, size_t ci, const char *k1, const char *v1,
                         const char *k2, const char *v2)
{
	struct cstatd_buf *b = x->b;
	bool any = false;
	puts_(b, name);
	put(b, "{", 1);
	if (ci != SIZE_MAX) {
		put(b, x->r->labels.data + x->r->label_off[ci], x->r->label_len[ci]);
		any = true;
	}
	const char *ks[2] = {k1, k2}, *vs[2] = {v1, v2};
	for (int i = 0; i < 2; i++) {
		if (!ks[i])
			continue;
		if (any)
			put(b, ",", 1);
		puts_(b, ks[i]);
		put(b, "=\"", 2);
		render_escape_label_value(b, vs[i]);
		put(b, "\"", 1);
		any = true;
	}
	if (!any)
		b->len--; /* drop the '{' */
	else
		put(b, "}", 1);
	put(b, " ", 1);
}

static inline void nl(struct cstatd_buf *b)
{
	put(b, "\n", 1);
}

/* Base labels of one container: id, image, name, allow-listed labels. */
static void build_base_labels(struct renderer *r, struct cstatd_buf *b, struct cstatd_container *c)
{
	puts_(b, "id=\"");
	if (c->id_label[0])
		render_escape_label_value(b, c->id_label);
	else if (strcmp(c->runtime, "docker") == 0) {
		puts_(b, "/docker/");
		puts_(b, c->key);
	} else {
		puts_(b, "/");
		puts_(b, c->key);
	}
	puts_(b, "\",image=\"");
	render_escape_label_value(b, c->image);
	puts_(b, "\",name=\"");
	render_escape_label_value(b, c->name);
	put(b, "\"", 1);
	for (unsigned i = 0; i < c->docker.n_labels && i < CSTATD_MAX_LABELS; i++) {
		puts_(b, ",container_label_");
		puts_(b, c->docker.labels[i].key);
		put(b, "=\"", 2);
		render_escape_label_value(b, c->docker.labels[i].value);
		put(b, "\"", 1);
	}
	(void)r;
}

static int prepare_labels(struct renderer *r, struct cstatd_store *st)
{
	size_t n = cstatd_store_count(st);
	if (n > r->label_slots) {
		size_t slots = n * 2;
		size_t *off = realloc(r->label_off, slots * sizeof(*off));
		if (!off)
			return -ENOMEM;
		r->label_off = off;
		size_t *len = realloc(r->label_len, slots * sizeof(*len));
		if (!len)
			return -ENOMEM;
		r->label_len = len;
		r->label_slots = slots;
	}
	r->labels.len = 0;
	r->labels.overflow = false;
	for (size_t i = 0; i < n; i++) {
		r->label_off[i] = r->labels.len;
		build_base_labels(r, &r->labels, cstatd_store_at(st, i));
		r->label_len[i] = r->labels.len - r->label_off[i];
	}
	return r->labels.overflow ? -E2BIG : 0;
}

static const char *const state_names[CSTATD_STATE_COUNT] = {
    [CSTATD_STATE_UNKNOWN] = NULL,
    [CSTATD_STATE_CREATED] = "created",
    [CSTATD_STATE_RUNNING] = "running",
    [CSTATD_STATE_PAUSED] = "paused",
    [CSTATD_STATE_RESTARTING] = "restarting",
    [CSTATD_STATE_EXITED] = "exited",
    [CSTATD_STATE_DEAD] = "dead",
};

static const char *const health_names[CSTATD_HEALTH_COUNT] = {
    [CSTATD_HEALTH_NONE] = "none",
    [CSTATD_HEALTH_STARTING] = "starting",
    [CSTATD_HEALTH_HEALTHY] = "healthy",
    [CSTATD_HEALTH_UNHEALTHY] = "unhealthy",
};

static const char *const risk_names[CSTATD_RISK_COUNT_BITS] = {
    "no_memory_limit", "no_cpu_limit",    "no_pids_limit",      "privileged",
    "runs_as_root",    "writable_rootfs", "added_capabilities", "no_restart_limit",
};

/* Sample helpers for one container: only when the source had the value. */
#define EMIT_U64(bit, v)                                                      \
	do {                                                                  \
		if (s->have & (bit)) {                                        \
			sample_start(x, f->name, ci, NULL, NULL, NULL, NULL); \
			put_u64(b, (v));                                      \
			nl(b);                                                \
		}                                                             \
	} while (0)
#define EMIT_USEC(bit, v)                                                     \
	do {                                                                  \
		if (s->have & (bit)) {                                        \
			sample_start(x, f->name, ci, NULL, NULL, NULL, NULL); \
			put_usec(b, (v));                                     \
			nl(b);                                                \
		}                                                             \
	} while (0)
/* A limit: no sample when unlimited. */
#define EMIT_LIMIT(bit, v)                                                    \
	do {                                                                  \
		if ((s->have & (bit)) && (v) != CSTATD_UNLIMITED) {           \
			sample_start(x, f->name, ci, NULL, NULL, NULL, NULL); \
			put_u64(b, (v));                                      \
			nl(b);                                                \
		}                                                             \
	} while (0)

static void emit_io(struct ctx *x, const struct fam_def *f, size_t ci,
                    const struct cstatd_sample *s, size_t field_off)
{
	if (!(s->have & CSTATD_HAVE_IO_STAT))
		return;
	for (unsigned i = 0; i < s->io.n_devices; i++) {
		const struct cstatd_io_device *d = &s->io.dev[i];
		uint64_t v;
		memcpy(&v, (const char *)d + field_off, sizeof(v));
		sample_start(x, f->name, ci, "device", cstatd_devname(d->major, d->minor), NULL,
		             NULL);
		put_u64(x->b, v);
		nl(x->b);
	}
}

static void emit_net(struct ctx *x, const struct fam_def *f, size_t ci,
                     const struct cstatd_sample *s, size_t field_off)
{
	if (!(s->have & CSTATD_HAVE_NETDEV))
		return;
	for (unsigned i = 0; i < s->net.n_ifs; i++) {
		const struct cstatd_net_if *n = &s->net.ifs[i];
		uint64_t v;
		memcpy(&v, (const char *)n + field_off, sizeof(v));
		sample_start(x, f->name, ci, "interface", n->name, NULL, NULL);
		put_u64(x->b, v);
		nl(x->b);
	}
}

static void emit_psi(struct ctx *x, const struct fam_def *f, size_t ci,
                     const struct cstatd_sample *s, uint32_t bit, const struct cstatd_psi *p,
                     bool full)
{
	if (!(s->have & bit) || !(full ? p->has_full : p->has_some))
		return;
	sample_start(x, f->name, ci, NULL, NULL, NULL, NULL);
	put_usec(x->b, full ? p->full_total_usec : p->some_total_usec);
	nl(x->b);
}

/* cAdvisor's cgroup v2 weight → v1 shares mapping. */
static uint64_t weight_to_shares(uint64_t w)
{
	if (w == 0 || w == CSTATD_UNLIMITED)
		return 2;
	return 2 + ((w - 1) * 262142) / 9999;
}

static void emit_container(struct ctx *x, enum fam_id id, const struct fam_def *f, size_t ci,
                           struct cstatd_container *c)
{
	struct cstatd_buf *b = x->b;
	const struct cstatd_sample *s = &c->s;
	bool quota = (s->have & CSTATD_HAVE_CPU_MAX) && s->cpu_max.quota_usec != CSTATD_UNLIMITED;

	switch (id) {
	case FAM_CPU_USAGE:
		if (s->have & CSTATD_HAVE_CPU_STAT) {
			sample_start(x, f->name, ci, "cpu", "total", NULL, NULL);
			put_usec(b, s->cpu.usage_usec);
			nl(b);
		}
		break;
	case FAM_CPU_USER:
		EMIT_USEC(CSTATD_HAVE_CPU_STAT, s->cpu.user_usec);
		break;
	case FAM_CPU_SYSTEM:
		EMIT_USEC(CSTATD_HAVE_CPU_STAT, s->cpu.system_usec);
		break;
	case FAM_CFS_PERIODS:
		if (quota)
			EMIT_U64(CSTATD_HAVE_CPU_BANDWIDTH, s->cpu.nr_periods);
		break;
	case FAM_CFS_THROTTLED_PERIODS:
		if (quota)
			EMIT_U64(CSTATD_HAVE_CPU_BANDWIDTH, s->cpu.nr_throttled);
		break;
	case FAM_CFS_THROTTLED_SECONDS:
		if (quota)
			EMIT_USEC(CSTATD_HAVE_CPU_BANDWIDTH, s->cpu.throttled_usec);
		break;
	case FAM_SPEC_CPU_QUOTA:
		EMIT_LIMIT(CSTATD_HAVE_CPU_MAX, s->cpu_max.quota_usec);
		break;
	case FAM_SPEC_CPU_PERIOD:
		EMIT_U64(CSTATD_HAVE_CPU_MAX, s->cpu_max.period_usec);
		break;
	case FAM_SPEC_CPU_SHARES:
		EMIT_U64(CSTATD_HAVE_CPU_WEIGHT, weight_to_shares(s->cpu_weight));
		break;
	case FAM_MEM_USAGE:
		EMIT_U64(CSTATD_HAVE_MEM_CURRENT, s->mem_current);
		break;
	case FAM_MEM_WORKING_SET:
		if (s->have & CSTATD_HAVE_WORKING_SET) {
			EMIT_U64(CSTATD_HAVE_WORKING_SET, s->working_set);
		} else if ((s->have & CSTATD_HAVE_MEM_CURRENT) &&
		           (s->have & CSTATD_HAVE_MEM_STAT)) {
			uint64_t ws = s->mem_current > s->mem.inactive_file
			                  ? s->mem_current - s->mem.inactive_file
			                  : 0;
			EMIT_U64(CSTATD_HAVE_MEM_CURRENT, ws);
		}
		break;
	case FAM_MEM_RSS:
		EMIT_U64(CSTATD_HAVE_MEM_STAT, s->mem.anon);
		break;
	case FAM_MEM_CACHE:
		EMIT_U64(CSTATD_HAVE_MEM_STAT, s->mem.file);
		break;
	case FAM_MEM_SWAP:
		EMIT_U64(CSTATD_HAVE_SWAP_CURRENT, s->swap_current);
		break;
	case FAM_MEM_MAPPED:
		EMIT_U64(CSTATD_HAVE_MEM_STAT, s->mem.file_mapped);
		break;
	case FAM_MEM_MAX_USAGE:
		EMIT_U64(CSTATD_HAVE_MEM_PEAK, s->mem_peak);
		break;
	case FAM_MEM_FAILURES:
		if (s->have & CSTATD_HAVE_MEM_STAT) {
			/* cAdvisor's shape: both scopes carry the hierarchical value. */
			static const char *const scopes[] = {"container", "hierarchy"};
			for (int i = 0; i < 2; i++) {
				sample_start(x, f->name, ci, "failure_type", "pgfault", "scope",
				             scopes[i]);
				put_u64(b, s->mem.pgfault);
				nl(b);
				sample_start(x, f->name, ci, "failure_type", "pgmajfault", "scope",
				             scopes[i]);
				put_u64(b, s->mem.pgmajfault);
				nl(b);
			}
		}
		break;
	case FAM_MEM_EVENTS_HIGH:
		EMIT_U64(CSTATD_HAVE_MEM_EVENTS, s->mem_events.high);
		break;
	case FAM_MEM_EVENTS_MAX:
		EMIT_U64(CSTATD_HAVE_MEM_EVENTS, s->mem_events.max);
		break;
	case FAM_SPEC_MEM_LIMIT:
		EMIT_LIMIT(CSTATD_HAVE_MEM_MAX, s->mem_max);
		break;
	case FAM_SPEC_SWAP_LIMIT:
		EMIT_LIMIT(CSTATD_HAVE_SWAP_MAX, s->swap_max);
		break;
	case FAM_FS_READ_BYTES:
		emit_io(x, f, ci, s, offsetof(struct cstatd_io_device, rbytes));
		break;
	case FAM_FS_WRITE_BYTES:
		emit_io(x, f, ci, s, offsetof(struct cstatd_io_device, wbytes));
		break;
	case FAM_FS_READS:
		emit_io(x, f, ci, s, offsetof(struct cstatd_io_device, rios));
		break;
	case FAM_FS_WRITES:
		emit_io(x, f, ci, s, offsetof(struct cstatd_io_device, wios));
		break;
	case FAM_NET_RX_BYTES:
		emit_net(x, f, ci, s, offsetof(struct cstatd_net_if, rx_bytes));
		break;
	case FAM_NET_RX_PACKETS:
		emit_net(x, f, ci, s, offsetof(struct cstatd_net_if, rx_packets));
		break;
	case FAM_NET_RX_ERRORS:
		emit_net(x, f, ci, s, offsetof(struct cstatd_net_if, rx_errors));
		break;
	case FAM_NET_RX_DROPPED:
		emit_net(x, f, ci, s, offsetof(struct cstatd_net_if, rx_dropped));
		break;
	case FAM_NET_TX_BYTES:
		emit_net(x, f, ci, s, offsetof(struct cstatd_net_if, tx_bytes));
		break;
	case FAM_NET_TX_PACKETS:
		emit_net(x, f, ci, s, offsetof(struct cstatd_net_if, tx_packets));
		break;
	case FAM_NET_TX_ERRORS:
		emit_net(x, f, ci, s, offsetof(struct cstatd_net_if, tx_errors));
		break;
	case FAM_NET_TX_DROPPED:
		emit_net(x, f, ci, s, offsetof(struct cstatd_net_if, tx_dropped));
		break;
	case FAM_PROCESSES:
		EMIT_U64(CSTATD_HAVE_PROCS, s->processes);
		break;
	case FAM_THREADS:
		EMIT_U64(CSTATD_HAVE_PIDS_CURRENT, s->pids_current);
		break;
	case FAM_THREADS_MAX:
		EMIT_LIMIT(CSTATD_HAVE_PIDS_MAX, s->pids_max);
		break;
	case FAM_PSI_CPU_WAITING:
		emit_psi(x, f, ci, s, CSTATD_HAVE_PSI_CPU, &s->psi_cpu, false);
		break;
	case FAM_PSI_CPU_STALLED:
		emit_psi(x, f, ci, s, CSTATD_HAVE_PSI_CPU, &s->psi_cpu, true);
		break;
	case FAM_PSI_MEM_WAITING:
		emit_psi(x, f, ci, s, CSTATD_HAVE_PSI_MEM, &s->psi_mem, false);
		break;
	case FAM_PSI_MEM_STALLED:
		emit_psi(x, f, ci, s, CSTATD_HAVE_PSI_MEM, &s->psi_mem, true);
		break;
	case FAM_PSI_IO_WAITING:
		emit_psi(x, f, ci, s, CSTATD_HAVE_PSI_IO, &s->psi_io, false);
		break;
	case FAM_PSI_IO_STALLED:
		emit_psi(x, f, ci, s, CSTATD_HAVE_PSI_IO, &s->psi_io, true);
		break;
	case FAM_START_TIME:
		if (c->start_time > 0) {
			sample_start(x, f->name, ci, NULL, NULL, NULL, NULL);
			put_double(b, round(c->start_time * 1000) / 1000); /* ms */
			nl(b);
		}
		break;
	case FAM_LAST_SEEN:
		if (c->last_seen > 0) {
			sample_start(x, f->name, ci, NULL, NULL, NULL, NULL);
			put_double(b, round(c->last_seen * 1000) / 1000); /* ms */
			nl(b);
		}
		break;
	case FAM_FROZEN:
		EMIT_U64(CSTATD_HAVE_CG_EVENTS, s->events.frozen ? 1 : 0);
		break;
	case FAM_INFO:
		if (c->is_container) {
			sample_start(x, f->name, ci, "image_id", c->docker.image_id, "runtime",
			             c->runtime);
			/* compose labels appended by hand: sample_start takes two. */
			b->len -= 2; /* back over "} " */
			puts_(b, ",compose_project=\"");
			render_escape_label_value(b, c->docker.compose_project);
			puts_(b, "\",compose_service=\"");
			render_escape_label_value(b, c->docker.compose_service);
			puts_(b, "\"} 1\n");
		}
		break;
	case FAM_STATE:
		if (c->docker.known && c->docker.state != CSTATD_STATE_UNKNOWN) {
			for (int i = 1; i < CSTATD_STATE_COUNT; i++) {
				sample_start(x, f->name, ci, "state", state_names[i], NULL, NULL);
				put(b, c->docker.state == (enum cstatd_state)i ? "1\n" : "0\n", 2);
			}
		}
		break;
	case FAM_HEALTH_STATE:
		if (c->docker.known) {
			sample_start(x, f->name, ci, NULL, NULL, NULL, NULL);
			puts_(b, c->docker.health == CSTATD_HEALTH_HEALTHY ? "1\n"
			         : c->docker.health == CSTATD_HEALTH_NONE  ? "-1\n"
			                                                   : "0\n");
		}
		break;
	case FAM_HEALTH:
		if (c->docker.known) {
			for (int i = 0; i < CSTATD_HEALTH_COUNT; i++) {
				sample_start(x, f->name, ci, "status", health_names[i], NULL, NULL);
				put(b, c->docker.health == (enum cstatd_health)i ? "1\n" : "0\n",
				    2);
			}
		}
		break;
	case FAM_LAST_EXIT_CODE:
		if (c->docker.known && c->docker.has_exit_code) {
			sample_start(x, f->name, ci, NULL, NULL, NULL, NULL);
			put_i64(b, c->docker.last_exit_code);
			nl(b);
		}
		break;
	case FAM_CONFIG_RISK:
		if (c->docker.known && c->docker.risks_known) {
			for (int i = 0; i < CSTATD_RISK_COUNT_BITS; i++) {
				sample_start(x, f->name, ci, "risk", risk_names[i], NULL, NULL);
				put(b, (c->docker.risks & (1u << i)) ? "1\n" : "0\n", 2);
			}
		}
		break;
	default:
		break;
	}
}

/* Families labelled by container name only: counters that must survive the
 * re-creation of a container under the same name. */
static void emit_by_name(struct ctx *x, enum fam_id id, const struct fam_def *f,
                         struct cstatd_container *c)
{
	if (!c->is_container)
		return;
	if (id == FAM_OOM_KILLS) {
		if (!(c->s.have & CSTATD_HAVE_MEM_EVENTS) && !c->docker.known)
			return;
		uint64_t v = c->oom_kills_total;
		if (!c->docker.known && (c->s.have & CSTATD_HAVE_MEM_EVENTS))
			v = c->s.mem_events.oom_kill;
		sample_start(x, f->name, SIZE_MAX, "name", c->name, NULL, NULL);
		put_u64(x->b, v);
		nl(x->b);
	} else if (id == FAM_RESTARTS && c->docker.known) {
		sample_start(x, f->name, SIZE_MAX, "name", c->name, NULL, NULL);
		put_u64(x->b, c->docker.restarts_total);
		nl(x->b);
	}
}

const double sweep_bucket_bounds[SWEEP_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1,    2.5};

void sweep_histogram_observe(struct sweep_histogram *h, double seconds)
{
	int i = 0;
	while (i < SWEEP_BUCKETS && seconds > sweep_bucket_bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += seconds;
}

static void emit_histogram(struct ctx *x, const struct fam_def *f, const struct sweep_histogram *h)
{
	static const struct sweep_histogram empty;
	char name[128], le[32];
	uint64_t cum = 0;

	if (!h)
		h = &empty;
	snprintf(name, sizeof(name), "%s_bucket", f->name);
	for (int i = 0; i <= SWEEP_BUCKETS; i++) {
		cum += h->counts[i];
		if (i < SWEEP_BUCKETS)
			snprintf(le, sizeof(le), "%g", sweep_bucket_bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		/* Canonical float form ("1.0"), as Prometheus normalises le. */
		if (i < SWEEP_BUCKETS && !strpbrk(le, ".e"))
			strcat(le, ".0");
		sample_start(x, name, SIZE_MAX, "le", le, NULL, NULL);
		put_u64(x->b, cum);
		nl(x->b);
	}
	snprintf(name, sizeof(name), "%s_sum", f->name);
	sample_start(x, name, SIZE_MAX, NULL, NULL, NULL, NULL);
	put_double(x->b, h->sum);
	nl(x->b);
	snprintf(name, sizeof(name), "%s_count", f->name);
	sample_start(x, name, SIZE_MAX, NULL, NULL, NULL, NULL);
	put_u64(x->b, h->count);
	nl(x->b);
}

static void emit_self(struct ctx *x, enum fam_id id, const struct fam_def *f)
{
	struct cstatd_buf *b = x->b;
	const struct selfstat *ps = &x->r->self;

	switch (id) {
	case FAM_BUILD_INFO:
		sample_start(x, f->name, SIZE_MAX, "version", CSTATD_VERSION, "revision",
		             CSTATD_REVISION);
		puts_(b, "1\n");
		break;
	case FAM_SWEEP_DURATION:
		emit_histogram(x, f, x->self->sweeps);
		break;
	case FAM_ALERT_FIRING:
	case FAM_ALERT_THRESHOLD:
		if (x->self->write_samples)
			x->self->write_samples(id, b, x->self->write_ctx);
		break;
	case FAM_NOTIFICATIONS_SENT:
		sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
		put_u64(b, atomic_load(&cstatd_stats.notifications_sent));
		nl(b);
		break;
	case FAM_NOTIFICATIONS_DROPPED:
		sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
		put_u64(b, atomic_load(&cstatd_stats.notifications_dropped));
		nl(b);
		break;
	case FAM_RELOAD_OK:
		sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
		put_u64(b, atomic_load(&cstatd_stats.config_reload_ok) ? 1 : 0);
		nl(b);
		break;
	case FAM_RELOAD_TS: {
		uint64_t ms = atomic_load(&cstatd_stats.config_reload_ok_ms);
		sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
		put_u64(b, ms / 1000);
		put(b, ".", 1);
		char frac[3] = {(char)('0' + ms % 1000 / 100), (char)('0' + ms % 100 / 10),
		                (char)('0' + ms % 10)};
		put(b, frac, 3);
		nl(b);
		break;
	}
	case FAM_LAST_SWEEP:
		sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
		put_double(b, x->self->last_sweep_seconds);
		nl(b);
		break;
	case FAM_CONTAINERS:
		sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
		put_u64(b, cstatd_store_count(x->st));
		nl(b);
		break;
	case FAM_CONTAINERS_DROPPED:
		sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
		put_u64(b, cstatd_store_dropped_total(x->st));
		nl(b);
		break;
	case FAM_COLLECT_ERRORS:
		for (int i = 0; i < CSTATD_ERR_COUNT; i++) {
			sample_start(x, f->name, SIZE_MAX, "source",
			             cstatd_error_source_label((enum cstatd_error_source)i), NULL,
			             NULL);
			put_u64(b, atomic_load(&cstatd_stats.errors[i]));
			nl(b);
		}
		break;
	case FAM_SCRAPES:
		sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
		put_u64(b, atomic_load(&cstatd_stats.scrapes));
		nl(b);
		break;
	case FAM_DOCKER_UP:
		sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
		put_u64(b, atomic_load(&cstatd_stats.docker_up) ? 1 : 0);
		nl(b);
		break;
	case FAM_PROC_CPU:
		if (ps->ok) {
			sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
			put_double(b, ps->cpu_seconds);
			nl(b);
		}
		break;
	case FAM_PROC_RSS:
		if (ps->ok) {
			sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
			put_u64(b, ps->rss_bytes);
			nl(b);
		}
		break;
	case FAM_PROC_VSZ:
		if (ps->ok) {
			sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
			put_u64(b, ps->vsize_bytes);
			nl(b);
		}
		break;
	case FAM_PROC_FDS:
		if (ps->ok) {
			sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
			put_u64(b, ps->open_fds);
			nl(b);
		}
		break;
	case FAM_PROC_MAX_FDS:
		if (ps->ok) {
			sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
			put_u64(b, ps->max_fds);
			nl(b);
		}
		break;
	case FAM_PROC_START:
		if (ps->ok) {
			sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
			put_double(b, ps->start_time);
			nl(b);
		}
		break;
	case FAM_PROC_THREADS:
		if (ps->ok) {
			sample_start(x, f->name, SIZE_MAX, NULL, NULL, NULL, NULL);
			put_u64(b, ps->threads);
			nl(b);
		}
		break;
	default:
		break;
	}
}

/* Text pass; spans[id] gets where family id's samples are. */
static void render_pass(struct ctx *x, struct cstatd_span *spans)
{
	size_t n = cstatd_store_count(x->st);
	for (int id = 0; id < FAM_COUNT; id++) {
		const struct fam_def *f = &cstatd_families[id];
		family_header(x, f);
		spans[id].off = x->b->len;
		for (size_t ci = 0; ci < n && f->scope != SCOPE_SELF; ci++) {
			struct cstatd_container *c = cstatd_store_at(x->st, ci);
			if (f->scope == SCOPE_CONTAINER)
				emit_container(x, (enum fam_id)id, f, ci, c);
			else
				emit_by_name(x, (enum fam_id)id, f, c);
		}
		if (f->scope == SCOPE_SELF)
			emit_self(x, (enum fam_id)id, f);
		spans[id].len = x->b->len - spans[id].off;
	}
}

/* ------------------------------------------------------------------ */
/* gzip                                                                */
/* ------------------------------------------------------------------ */

/* One deflate stream for every derivation (they are serialised by
 * derive_lock): set up once, reset per use, so nothing is allocated per
 * sweep. Level 1: speed matters more than the last few percent of size. */
static pthread_mutex_t derive_lock = PTHREAD_MUTEX_INITIALIZER;
static z_stream dz;
static bool dz_ready;

/* The OpenMetrics HELP/TYPE lines of every family: they never change, so
 * they are written once, at the first OpenMetrics request. */
static struct cstatd_buf om_headers;
static size_t om_header_off[FAM_COUNT + 1];
static const char om_eof[] = "# EOF\n";

/* Compresses the pieces into out, growing it as the output needs (a level-1
 * gzip of an exposition is about a quarter of it), not to deflateBound. */
static int gzip_pieces(const struct cstatd_piece *p, size_t n, struct cstatd_buf *out)
{
	size_t total = 0;
	if (!dz_ready) {
		/* windowBits 15+16 = a gzip wrapper. */
		if (deflateInit2(&dz, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		dz_ready = true;
	} else {
		deflateReset(&dz);
	}
	for (size_t i = 0; i < n; i++)
		total += p[i].len;
	out->len = 0;
	out->overflow = false;
	if (cstatd_buf_reserve(out, total / 3 + 4096) != 0)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		int flush = i + 1 == n ? Z_FINISH : Z_NO_FLUSH;
		dz.next_in = (unsigned char *)p[i].base;
		dz.avail_in = (unsigned)p[i].len;
		for (;;) {
			if (out->cap - out->len < 1024 &&
			    cstatd_buf_reserve(out, out->cap - out->len + out->len / 2 + 65536) != 0)
				return -E2BIG;
			size_t room = out->cap - out->len;
			dz.next_out = (unsigned char *)out->data + out->len;
			dz.avail_out = (unsigned)room;
			int zr = deflate(&dz, flush);
			out->len += room - dz.avail_out;
			if (zr == Z_STREAM_END)
				break;
			if (zr != Z_OK && zr != Z_BUF_ERROR)
				return -EIO;
			if (flush == Z_NO_FLUSH && dz.avail_in == 0)
				break; /* this piece is in; deflate may keep some for the next */
		}
	}
	return 0;
}

static int om_headers_once(void)
{
	if (om_headers.len)
		return 0;
	struct ctx x = {.b = &om_headers, .om = true};
	cstatd_buf_init(&om_headers, (size_t)1 << 20);
	for (int id = 0; id < FAM_COUNT; id++) {
		om_header_off[id] = om_headers.len;
		family_header(&x, &cstatd_families[id]);
	}
	om_header_off[FAM_COUNT] = om_headers.len;
	if (om_headers.overflow) {
		cstatd_buf_free(&om_headers);
		return -ENOMEM;
	}
	return 0;
}

/* OpenMetrics = its own HELP/TYPE lines + the text body's sample spans,
 * as pieces: nothing is copied. */
static int derive_om(struct cstatd_snapshot *s)
{
	const struct cstatd_buf *text = &s->body[CSTATD_BODY_TEXT];
	size_t need = 2 * FAM_COUNT + 1;

	if (s->n_spans != FAM_COUNT)
		return -ENOENT;
	if (om_headers_once() != 0)
		return -ENOMEM;
	if (s->cap_om < need) {
		struct cstatd_piece *p = realloc(s->om, need * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->om = p;
		s->cap_om = need;
	}
	size_t n = 0;
	for (int id = 0; id < FAM_COUNT; id++) {
		s->om[n++] = (struct cstatd_piece){om_headers.data + om_header_off[id],
		                                   om_header_off[id + 1] - om_header_off[id]};
		if (s->spans[id].len)
			s->om[n++] =
			    (struct cstatd_piece){text->data + s->spans[id].off, s->spans[id].len};
	}
	s->om[n++] = (struct cstatd_piece){om_eof, sizeof(om_eof) - 1};
	s->n_om = n;
	return 0;
}

static int derive_locked(struct cstatd_snapshot *s, enum cstatd_variant v)
{
	int rc;
	if (atomic_load(&s->has[v]))
		return 0;
	switch (v) {
	case CSTATD_BODY_OM:
		if (!atomic_load(&s->has[CSTATD_BODY_TEXT]))
			return -ENOENT;
		rc = derive_om(s);
		break;
	case CSTATD_BODY_TEXT_GZ: {
		if (!atomic_load(&s->has[CSTATD_BODY_TEXT]))
			return -ENOENT;
		struct cstatd_piece whole = {s->body[CSTATD_BODY_TEXT].data,
		                             s->body[CSTATD_BODY_TEXT].len};
		rc = gzip_pieces(&whole, 1, &s->body[v]);
		break;
	}
	case CSTATD_BODY_OM_GZ:
		rc = derive_locked(s, CSTATD_BODY_OM);
		if (rc == 0)
			rc = gzip_pieces(s->om, s->n_om, &s->body[v]);
		break;
	default:
		return -EINVAL;
	}
	if (rc == 0)
		atomic_store(&s->has[v], true);
	return rc;
}

int render_flatten(const struct cstatd_snapshot *s, enum cstatd_variant v, struct cstatd_buf *out)
{
	out->len = 0;
	if (!atomic_load(&s->has[v]))
		return -ENOENT;
	if (v != CSTATD_BODY_OM) {
		cstatd_buf_append(out, s->body[v].data, s->body[v].len);
	} else {
		for (size_t i = 0; i < s->n_om; i++)
			cstatd_buf_append(out, s->om[i].base, s->om[i].len);
	}
	return out->overflow ? -E2BIG : 0;
}

int render_derive(struct cstatd_snapshot *s, enum cstatd_variant v)
{
	if (atomic_load(&s->has[v]))
		return 0;
	pthread_mutex_lock(&derive_lock);
	int rc = derive_locked(s, v);
	pthread_mutex_unlock(&derive_lock);
	return rc;
}

void render_derive_shutdown(void)
{
	pthread_mutex_lock(&derive_lock);
	if (dz_ready)
		deflateEnd(&dz);
	dz_ready = false;
	cstatd_buf_free(&om_headers);
	pthread_mutex_unlock(&derive_lock);
}

/* ------------------------------------------------------------------ */
/* Public                                                              */
/* ------------------------------------------------------------------ */

struct renderer *renderer_new(void)
{
	struct renderer *r = calloc(1, sizeof(*r));
	if (r)
		cstatd_buf_init(&r->labels, (size_t)64 << 20);
	return r;
}

void renderer_free(struct renderer *r)
{
	if (!r)
		return;
	cstatd_buf_free(&r->labels);
	free(r->label_off);
	free(r->label_len);
	free(r);
}

int renderer_render(struct renderer *r, struct cstatd_store *st, const struct render_self *self,
                    struct cstatd_snapshot *out)
{
	int rc = prepare_labels(r, st);
	if (rc != 0)
		return rc;
	if (cstatd_snapshot_reserve_spans(out, FAM_COUNT) != 0)
		return -ENOMEM;
	selfstat_read(&r->self);

	struct ctx x = {.r = r, .b = &out->body[CSTATD_BODY_TEXT], .st = st, .self = self};
	render_pass(&x, out->spans);
	if (x.b->overflow)
		return -E2BIG;
	out->n_spans = FAM_COUNT;
	atomic_store(&out->has[CSTATD_BODY_TEXT], true);
	return 0;
}
