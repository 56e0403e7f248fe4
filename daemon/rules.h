/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Alert rules: the struct, parsing from JSON (the config file's "rules"),
 * the default rule set, the JSON of /alerts/rules and the Prometheus
 * alerting-rules YAML of `cstatd rules export`. Syntax and semantics are in
 * docs/alerts.md.
 */
#ifndef CSTATD_RULES_H
#define CSTATD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "daemon/signals.h"

#define CSTATD_RULES_MAX 256
#define CSTATD_RULE_WINDOW_MAX_MS (24ull * 3600 * 1000)
#define CSTATD_RULE_NAME_LEN 128
#define CSTATD_RULE_SEVERITY_LEN 32
#define CSTATD_RULE_GLOB_LEN 256
#define CSTATD_RULE_MAX_MATCH_LABELS 8
#define CSTATD_RULE_MAX_LABELS 8
#define CSTATD_RULE_LABEL_KEY_LEN 64
#define CSTATD_RULE_LABEL_VALUE_LEN 256
#define CSTATD_RULE_MAX_ANNOTATIONS 6
#define CSTATD_RULE_ANNOTATION_LEN 768

/* Where a config error is and what it is. `path` is the key path in the
 * JSON document ("rules[2].match.name"); "" for the document itself. */
struct cstatd_cfg_error {
	char path[256];
	char msg[512];
};

enum cstatd_op {
	CSTATD_OP_GT,
	CSTATD_OP_GE,
	CSTATD_OP_LT,
	CSTATD_OP_LE,
	CSTATD_OP_EQ,
	CSTATD_OP_NE
};

extern const char *const cstatd_op_names[6];

struct cstatd_rule_label {
	char key[CSTATD_RULE_LABEL_KEY_LEN];
	char value[CSTATD_RULE_LABEL_VALUE_LEN];
};

struct cstatd_rule_annotation {
	char key[CSTATD_RULE_LABEL_KEY_LEN];
	char value[CSTATD_RULE_ANNOTATION_LEN]; /* template: {{name}}, {{value}}... */
};

struct cstatd_rule {
	char alert[CSTATD_RULE_NAME_LEN];
	enum cstatd_signal signal;
	uint64_t window_ms; /* 0 for state signals (no window) */
	enum cstatd_agg agg;
	uint64_t horizon_ms; /* predict only */
	enum cstatd_op op;
	double threshold; /* a fraction of the limit when relative_to is set */
	bool has_clear;
	double clear; /* hysteresis: firing ends once the value is past it */
	enum cstatd_limit relative_to;
	bool unlimited_host; /* "when_unlimited": "host" */
	uint64_t for_ms;
	uint64_t keep_firing_for_ms;
	char severity[CSTATD_RULE_SEVERITY_LEN];
	char match_name[CSTATD_RULE_GLOB_LEN]; /* "*" = any */
	char match_image[CSTATD_RULE_GLOB_LEN];
	unsigned n_match_labels;
	struct cstatd_rule_label match_labels[CSTATD_RULE_MAX_MATCH_LABELS]; /* key → glob */
	unsigned n_labels;
	struct cstatd_rule_label labels[CSTATD_RULE_MAX_LABELS];
	unsigned n_annotations;
	struct cstatd_rule_annotation annotations[CSTATD_RULE_MAX_ANNOTATIONS];
	/* Hash of everything that decides when and for what the rule fires
	 * (all but annotations): alert state survives a reload only for rules
	 * whose fingerprint is unchanged. */
	uint64_t fingerprint;
};

/* A rule set: an array the caller owns. */
struct cstatd_ruleset {
	struct cstatd_rule *rules;
	size_t n;
};

void cstatd_ruleset_free(struct cstatd_ruleset *rs);

/* Helpers shared with config.c for its error messages: "an object",
 * "a string"... for a JSON value, and the Levenshtein distance of two short
 * strings (for "did you mean"). */
const char *cstatd_json_type_name(const json_t *v);
unsigned cstatd_edit_distance(const char *a, const char *b);

/*
 * Parses a JSON array of rules into `out` (caller frees with
 * cstatd_ruleset_free). `path` names the array in errors ("rules").
 * Returns 0, -EINVAL with `err` filled (the first error found), or
 * -ENOMEM. `out` is untouched on failure.
 */
int cstatd_rules_parse(const json_t *arr, const char *path, struct cstatd_ruleset *out,
                       struct cstatd_cfg_error *err);

/* The default rule set (docs/alerts.md). Returns 0 or -ENOMEM. */
int cstatd_rules_defaults(struct cstatd_ruleset *out);
/* The default rule set as the JSON text it is parsed from. */
const char *cstatd_rules_defaults_json(void);

/* Glob syntax check (fnmatch(3) without flags): 0 or -EINVAL and why. */
int cstatd_glob_check(const char *glob, const char **why);

/* True when `r` selects the container (name, image, label globs). */
struct cstatd_container;
bool cstatd_rule_matches(const struct cstatd_rule *r, const struct cstatd_container *c);

/* Compares value with threshold by the rule's op. */
bool cstatd_op_eval(enum cstatd_op op, double value, double threshold);

/* Formats a value for annotations and /alerts: percent for relative values,
 * IEC bytes, cores... Writes at most len bytes. */
void cstatd_rule_format_value(const struct cstatd_rule *r, double v, char *buf, size_t len);

/* Shortest "%g" form that reads back as the same double (0.9, not
 * 0.90000000000000002). */
void cstatd_format_number(double v, char *buf, size_t len);

/* JSON array of the rules for /alerts/rules. Caller owns it. */
json_t *cstatd_rules_json(const struct cstatd_ruleset *rs);

/*
 * Writes a Prometheus alerting-rules file (groups: [{name: cstatd, rules:
 * ...}]) equivalent to `rs` over the series cstatd exports (cAdvisor
 * names). Thresholds relative to host_cpus / host_memory are written with
 * this host's values (`host`), said in a comment. Returns 0 or -EIO.
 */
int cstatd_rules_export_yaml(const struct cstatd_ruleset *rs, const struct cstatd_host *host,
                             FILE *out);

#endif
