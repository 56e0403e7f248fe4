/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logfmt lines on stderr. One fprintf per line under flockfile so lines from
 * different threads never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cstatd/log.h"

static _Atomic int log_level = CSTATD_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* How often a suppressed complaint is reported again while it goes on. */
#define COMPLAINT_REPEAT_SECONDS 3600.0

void cstatd_log_set_level(enum cstatd_log_level lvl)
{
	log_level = lvl;
}

enum cstatd_log_level cstatd_log_get_level(void)
{
	return log_level;
}

int cstatd_log_parse_level(const char *s, enum cstatd_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum cstatd_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void vlog(enum cstatd_log_level lvl, const char *msg, const char *kv_fmt, va_list ap)
{
	if ((int)lvl < log_level)
		return;

	char ts[32];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

	char kv[1024] = "";
	if (kv_fmt)
		vsnprintf(kv, sizeof(kv), kv_fmt, ap);

	/* msg is quoted; embedded quotes are replaced rather than escaped to
	 * keep the line trivially machine-parseable. */
	char qmsg[512];
	size_t j = 0;
	for (size_t i = 0; msg[i] && j + 1 < sizeof(qmsg); i++)
		qmsg[j++] = (msg[i] == '"' || msg[i] == '\n') ? '\'' : msg[i];
	qmsg[j] = '\0';

	flockfile(stderr);
	fprintf(stderr, "ts=%s level=%s msg=\"%s\"%s%s\n", ts, level_names[lvl], qmsg,
	        kv[0] ? " " : "", kv);
	funlockfile(stderr);
}

void cstatd_log(enum cstatd_log_level lvl, const char *msg, const char *kv_fmt, ...)
{
	va_list ap;
	va_start(ap, kv_fmt);
	vlog(lvl, msg, kv_fmt, ap);
	va_end(ap);
}

static double monotonic_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cstatd_complain(struct cstatd_complaint *c, enum cstatd_log_level lvl, const char *msg,
                     const char *kv_fmt, ...)
{
	double now = monotonic_now();

	if (c->active && now - c->last_report < COMPLAINT_REPEAT_SECONDS) {
		c->suppressed++;
		return;
	}
	if (c->active && c->suppressed > 0)
		cstatd_log(lvl, "still failing", "repeats=%llu", (unsigned long long)c->suppressed);
	c->active = true;
	c->suppressed = 0;
	c->last_report = now;

	va_list ap;
	va_start(ap, kv_fmt);
	vlog(lvl, msg, kv_fmt, ap);
	va_end(ap);
}

void cstatd_complain_release(struct cstatd_complaint *c, const char *msg)
{
	if (!c->active)
		return;
	cstatd_log(CSTATD_LOG_INFO, msg, "suppressed=%llu", (unsigned long long)c->suppressed);
	c->active = false;
	c->suppressed = 0;
}
