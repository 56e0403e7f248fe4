/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: one line per event on stderr, logfmt style:
 *   ts=2026-11-25T11:00:00Z level=warn msg="..." key=value
 * Errors that repeat every sweep go through a struct cstatd_complaint:
 * logged once, then suppressed (a count is reported hourly) until released.
 */
#ifndef CSTATD_LOG_H
#define CSTATD_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum cstatd_log_level { CSTATD_LOG_DEBUG = 0, CSTATD_LOG_INFO, CSTATD_LOG_WARN, CSTATD_LOG_ERROR };

void cstatd_log_set_level(enum cstatd_log_level lvl);
enum cstatd_log_level cstatd_log_get_level(void);
/* "debug", "info", "warn", "error" → 0, or -EINVAL. */
int cstatd_log_parse_level(const char *s, enum cstatd_log_level *out);

/* `fmt` is the rest of the line after msg: printf-style, e.g.
 * cstatd_log(CSTATD_LOG_WARN, "cannot read", "path=%s err=%s", p, e).
 * `kv_fmt` may be NULL. */
void cstatd_log(enum cstatd_log_level lvl, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(msg, ...) cstatd_log(CSTATD_LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) cstatd_log(CSTATD_LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) cstatd_log(CSTATD_LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) cstatd_log(CSTATD_LOG_ERROR, msg, __VA_ARGS__)

/* collectd-style complain/release for errors that recur every sweep. */
struct cstatd_complaint {
	bool active;
	uint64_t suppressed;
	double last_report;
};

/* Logs the first time (and once an hour while it goes on); silent otherwise. */
void cstatd_complain(struct cstatd_complaint *c, enum cstatd_log_level lvl, const char *msg,
                     const char *kv_fmt, ...) __attribute__((format(printf, 4, 5)));
/* Logs once at info that the condition cleared, if it was active. */
void cstatd_complain_release(struct cstatd_complaint *c, const char *msg);

#endif
