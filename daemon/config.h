/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration file (--config FILE, JSON): every command-line option
 * by its flag name, plus "windows", "rules" and "alertmanager". Options go
 * through the flag table (cstatd_options_kind / cstatd_options_set), so
 * the table in daemon/options.h stays the one place an option is declared;
 * flags given on the command line override the file.
 *
 * Errors name the file, the line and column, and the key path:
 *   cstatd.json:7:22: rules[0].window: "5x" is not a duration (e.g. 30s, ...)
 * Syntax errors come from jansson (json_error_t). jansson keeps no
 * positions for values, so after a successful parse the loader scans the
 * text once more with a small JSON walker that records where each key path
 * starts (the key's position for "unknown key", the value's otherwise).
 *
 * A load always fills a fresh struct: a reload that fails leaves the
 * running configuration untouched.
 */
#ifndef CSTATD_CONFIG_H
#define CSTATD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/options.h"
#include "daemon/rules.h"
#include "daemon/windows.h"

#define CSTATD_CONFIG_MAX_BYTES (1u << 20)
#define CSTATD_AM_MAX_URLS 4
#define CSTATD_AM_URL_LEN 1024

struct cstatd_am_config {
	unsigned n_urls;                                  /* 0: Alertmanager push disabled */
	char urls[CSTATD_AM_MAX_URLS][CSTATD_AM_URL_LEN]; /* base URLs, no trailing '/' */
	uint64_t resend_ms;                               /* default 1m */
	uint64_t timeout_ms;                              /* default 10s */
};

struct cstatd_config {
	char path[4096]; /* "" without a file */
	struct cstatd_options options;
	/* "windows" of the file (default 1m, 5m, 15m); rule windows are
	 * added to it by cstatd_config_layout(). */
	unsigned n_windows;
	uint64_t windows_ms[CSTATD_WINDOWS_MAX];
	bool rules_from_file; /* false: the default rule set */
	struct cstatd_ruleset rules;
	struct cstatd_am_config alertmanager;
	struct cstatd_window_layout layout; /* windows ∪ rule windows at the interval */
};

/*
 * Loads `path` (NULL: no file, defaults only), then applies the command
 * line `argv` (argv[0] is skipped; pass argc 0 for none) over it, and
 * validates the whole: options, windows, rules (the default set when the
 * file has no "rules"), Alertmanager, and the window layout at the final
 * interval. On success fills *out (free with cstatd_config_free) and
 * returns 0; otherwise returns -EINVAL (or -ENOMEM, -EIO) with one line in
 * `err` and *out untouched.
 */
int cstatd_config_load(const char *path, int argc, char **argv, struct cstatd_config *out,
                       char *err, size_t err_len);
void cstatd_config_free(struct cstatd_config *cfg);

/*
 * For a reload: names of the options whose new value cannot take effect
 * without a restart (everything but log-level), comma-separated in
 * `buf`; returns how many there are.
 */
unsigned cstatd_config_restart_needed(const struct cstatd_config *running,
                                      const struct cstatd_config *next, char *buf, size_t len);

/* The docs/configuration.md table of keys, generated from the option
 * table (the docs test compares the two). */
void cstatd_config_print_markdown(FILE *out);

#endif
