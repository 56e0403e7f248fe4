/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Alert rules: parsing and validation (every error names the key path),
 * the default rule set, /alerts/rules JSON and the Prometheus YAML export.
 */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cstatd/container.h"
#include "daemon/duration.h"
#include "daemon/rules.h"

const char *const cstatd_op_names[6] = {">", ">=", "<", "<=", "==", "!="};

/* ======================================================================== */
/* Default rules                                                            */
/* ======================================================================== */

/*
 * Parsed by the same code as a config file, so they obey every rule of the
 * syntax; docs/alerts.md explains each one. Kept as JSON text so that
 * `cstatd rules export` and docs show exactly what runs.
 */
static const char default_rules_json[] =
    "[\n"
    " {\"alert\": \"ContainerCpuNearLimit\", \"signal\": \"cpu_usage\", \"window\": \"5m\",\n"
    "  \"aggregate\": \"avg\", \"op\": \">\", \"threshold\": 0.9, \"clear\": 0.8,\n"
    "  \"relative_to\": \"cpu_limit\", \"for\": \"5m\", \"severity\": \"warning\",\n"
    "  \"annotations\": {\"summary\": \"{{name}} uses {{value}} of its CPU limit (threshold "
    "{{threshold}})\"}},\n"
    " {\"alert\": \"ContainerMemoryNearLimit\", \"signal\": \"memory_working_set\", \"window\": "
    "\"1m\",\n"
    "  \"aggregate\": \"avg\", \"op\": \">\", \"threshold\": 0.9, \"clear\": 0.85,\n"
    "  \"relative_to\": \"memory_limit\", \"for\": \"1m\", \"severity\": \"warning\",\n"
    "  \"annotations\": {\"summary\": \"{{name}} uses {{value}} of its memory limit (threshold "
    "{{threshold}})\"}},\n"
    " {\"alert\": \"ContainerMemoryPredictedFull\", \"signal\": \"memory_working_set\", "
    "\"window\": \"15m\",\n"
    "  \"aggregate\": \"predict\", \"horizon\": \"15m\", \"op\": \">=\", \"threshold\": 1,\n"
    "  \"relative_to\": \"memory_limit\", \"for\": \"5m\", \"severity\": \"warning\",\n"
    "  \"annotations\": {\"summary\": \"{{name}} is predicted to reach its memory limit within "
    "15 minutes ({{value}} of the limit by then)\"}},\n"
    " {\"alert\": \"ContainerCrashLooping\", \"signal\": \"restarts\", \"window\": \"15m\",\n"
    "  \"aggregate\": \"increase\", \"op\": \">=\", \"threshold\": 3, \"severity\": "
    "\"critical\",\n"
    "  \"annotations\": {\"summary\": \"{{name}} restarted {{value}} times in 15 minutes\"}},\n"
    " {\"alert\": \"ContainerOOMKilled\", \"signal\": \"oom_kills\", \"window\": \"5m\",\n"
    "  \"aggregate\": \"increase\", \"op\": \">\", \"threshold\": 0, \"severity\": \"warning\",\n"
    "  \"annotations\": {\"summary\": \"{{value}} process(es) of {{name}} killed by the OOM "
    "killer in 5 minutes\"}},\n"
    " {\"alert\": \"ContainerCpuThrottled\", \"signal\": \"cpu_throttled\", \"window\": \"5m\",\n"
    "  \"aggregate\": \"avg\", \"op\": \">\", \"threshold\": 0.25, \"clear\": 0.2, \"for\": "
    "\"2m\",\n"
    "  \"severity\": \"warning\",\n"
    "  \"annotations\": {\"summary\": \"{{name}} was throttled in {{value}} of its CPU periods "
    "over 5 minutes\"}},\n"
    " {\"alert\": \"ContainerUnhealthy\", \"signal\": \"health\", \"window\": \"1m\",\n"
    "  \"aggregate\": \"max\", \"op\": \"<\", \"threshold\": 1, \"for\": \"1m\", \"severity\": "
    "\"warning\",\n"
    "  \"annotations\": {\"summary\": \"{{name}} has not passed its health check for over a "
    "minute\"}},\n"
    " {\"alert\": \"ContainerNoMemoryLimit\", \"signal\": \"no_memory_limit\", \"op\": \"==\",\n"
    "  \"threshold\": 1, \"severity\": \"info\",\n"
    "  \"annotations\": {\"summary\": \"{{name}} runs without a memory limit\"}},\n"
    " {\"alert\": \"ContainerPrivileged\", \"signal\": \"privileged\", \"op\": \"==\",\n"
    "  \"threshold\": 1, \"severity\": \"info\",\n"
    "  \"annotations\": {\"summary\": \"{{name}} runs privileged\"}}\n"
    "]\n";

const char *cstatd_rules_defaults_json(void)
{
	return default_rules_json;
}

/* ======================================================================== */
/* Helpers                                                                  */
/* ======================================================================== */

static int fail(struct cstatd_cfg_error *e, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct cstatd_cfg_error *e, const char *path, const char *fmt, ...)
{
	va_list ap;

	snprintf(e->path, sizeof(e->path), "%s", path);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *cstatd_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* Levenshtein distance of two short strings (for "did you mean"). */
unsigned cstatd_edit_distance(const char *a, const char *b)
{
	unsigned row[64], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la >= 63 || lb >= 63)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned prev = row[0];
		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			unsigned cur = row[j];
			unsigned best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* Writes `path.key` (or `key` at the top) into buf. */
static void join(char *buf, size_t len, const char *path, const char *key)
{
	int n = snprintf(buf, len, "%s%s%s", path, path[0] ? "." : "", key);
	if (n < 0 || (size_t)n >= len)
		buf[len - 1] = '\0'; /* a path that long is cut; the message still reads */
}

/* Rejects keys of `obj` that are not in the NULL-terminated `known`. */
static int check_keys(const json_t *obj, const char *path, const char *const *known,
                      struct cstatd_cfg_error *e)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		const char *best = NULL;
		unsigned best_d = 3;
		bool ok = false;
		for (size_t i = 0; known[i]; i++) {
			if (strcmp(key, known[i]) == 0) {
				ok = true;
				break;
			}
			unsigned d = cstatd_edit_distance(key, known[i]);
			if (d < best_d) {
				best_d = d;
				best = known[i];
			}
		}
		if (ok)
			continue;
		char p[256];
		join(p, sizeof(p), path, key);
		if (best)
			return fail(e, p, "unknown key (did you mean \"%s\"?)", best);
		return fail(e, p, "unknown key");
	}
	return 0;
}

/* Optional string member; -EINVAL on a wrong type; 1 when absent. */
static int get_string(const json_t *obj, const char *path, const char *key, const char **out,
                      struct cstatd_cfg_error *e)
{
	json_t *v = json_object_get(obj, key);
	char p[256];

	if (!v)
		return 1;
	if (!json_is_string(v)) {
		join(p, sizeof(p), path, key);
		return fail(e, p, "expected a string, got %s", cstatd_json_type_name(v));
	}
	*out = json_string_value(v);
	return 0;
}

static int copy_str(char *dst, size_t len, const char *src, const char *path,
                    struct cstatd_cfg_error *e)
{
	if (strlen(src) >= len)
		return fail(e, path, "too long (at most %zu bytes)", len - 1);
	strcpy(dst, src);
	return 0;
}

static int get_duration(const json_t *obj, const char *path, const char *key, uint64_t *out,
                        bool allow_zero, struct cstatd_cfg_error *e)
{
	const char *s = NULL;
	char p[256];
	int rc = get_string(obj, path, key, &s, e);

	if (rc < 0) {
		json_t *v = json_object_get(obj, key);
		join(p, sizeof(p), path, key);
		return fail(e, p, "expected a duration string like \"5m\", got %s",
		            cstatd_json_type_name(v));
	}
	if (rc > 0)
		return 1;
	join(p, sizeof(p), path, key);
	if (cstatd_parse_duration_ms(s, out) != 0)
		return fail(e, p, "\"%s\" is not a duration (e.g. 30s, 5m, 1h; units ms, s, m, h)",
		            s);
	if (!allow_zero && *out == 0)
		return fail(e, p, "must be longer than 0s");
	return 0;
}

static bool valid_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

int cstatd_glob_check(const char *g, const char **why)
{
	if (!*g) {
		*why = "empty (use \"*\" for any)";
		return -EINVAL;
	}
	for (const char *p = g; *p; p++) {
		if (*p == '\\') {
			if (!p[1]) {
				*why = "ends with a lone backslash";
				return -EINVAL;
			}
			p++;
		} else if (*p == '[') {
			const char *q = p + 1;
			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++; /* a leading ] is a member */
			while (*q && *q != ']')
				q++;
			if (!*q) {
				*why = "unterminated [";
				return -EINVAL;
			}
			p = q;
		}
	}
	return 0;
}

static int get_glob(const json_t *obj, const char *path, const char *key, char *dst, size_t len,
                    struct cstatd_cfg_error *e)
{
	const char *s = NULL, *why = NULL;
	char p[256];
	int rc = get_string(obj, path, key, &s, e);

	if (rc)
		return rc;
	join(p, sizeof(p), path, key);
	if (cstatd_glob_check(s, &why) != 0)
		return fail(e, p, "\"%s\" is not a valid glob: %s", s, why);
	return copy_str(dst, len, s, p, e);
}

static const char *const template_vars[] = {"name",  "image",    "id",     "value",  "threshold",
                                            "alert", "severity", "window", "signal", NULL};

/* Checks every {{var}} of an annotation template. */
static int check_template(const char *t, const char *path, struct cstatd_cfg_error *e)
{
	for (const char *p = strstr(t, "{{"); p; p = strstr(p, "{{")) {
		const char *end = strstr(p + 2, "}}");
		char var[32];
		size_t n;
		const char *a, *b;

		if (!end)
			return fail(e, path, "\"{{\" without \"}}\"");
		for (a = p + 2; *a == ' '; a++)
			;
		for (b = end; b > a && b[-1] == ' '; b--)
			;
		n = (size_t)(b - a);
		if (n >= sizeof(var))
			n = sizeof(var) - 1;
		memcpy(var, a, n);
		var[n] = '\0';
		bool ok = false;
		for (size_t i = 0; template_vars[i]; i++)
			ok |= strcmp(var, template_vars[i]) == 0;
		if (!ok)
			return fail(
			    e, path,
			    "unknown template variable {{%s}} (known: name, image, id, value, "
			    "threshold, alert, severity, window, signal)",
			    var);
		p = end + 2;
	}
	return 0;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct cstatd_rule_label *)a)->key,
	              ((const struct cstatd_rule_label *)b)->key);
}

static const char *const reserved_labels[] = {"alertname", "alertstate", "severity", "name",
                                              "image",     "id",         NULL};

/* ======================================================================== */
/* Fingerprint                                                              */
/* ======================================================================== */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s, strlen(s) + 1);
}

static uint64_t rule_fingerprint(const struct cstatd_rule *r)
{
	char buf[512];
	uint64_t h = 1469598103934665603ull;

	snprintf(buf, sizeof(buf), "%s|%d|%llu|%d|%llu|%d|%.17g|%d|%.17g|%d|%d|%llu|%llu|%s",
	         r->alert, (int)r->signal, (unsigned long long)r->window_ms, (int)r->agg,
	         (unsigned long long)r->horizon_ms, (int)r->op, r->threshold, r->has_clear,
	         r->has_clear ? r->clear : 0.0, (int)r->relative_to, r->unlimited_host,
	         (unsigned long long)r->for_ms, (unsigned long long)r->keep_firing_for_ms,
	         r->severity);
	h = fnv_str(h, buf);
	h = fnv_str(h, r->match_name);
	h = fnv_str(h, r->match_image);
	for (unsigned i = 0; i < r->n_match_labels; i++) {
		h = fnv_str(h, r->match_labels[i].key);
		h = fnv_str(h, r->match_labels[i].value);
	}
	h = fnv_str(h, "|labels|");
	for (unsigned i = 0; i < r->n_labels; i++) {
		h = fnv_str(h, r->labels[i].key);
		h = fnv_str(h, r->labels[i].value);
	}
	return h;
}

/* ======================================================================== */
/* Parsing one rule                                                         */
/* ======================================================================== */

static const char *const rule_keys[] = {
    "alert",     "signal", "window",      "aggregate",      "horizon", "op",
    "threshold", "clear",  "relative_to", "when_unlimited", "for",     "keep_firing_for",
    "severity",  "match",  "labels",      "annotations",    NULL};

static int parse_match(const json_t *m, const char *path, struct cstatd_rule *r,
                       struct cstatd_cfg_error *e)
{
	static const char *const keys[] = {"name", "image", "labels", NULL};
	char p[256];
	int rc;

	if (!json_is_object(m))
		return fail(e, path, "expected an object, got %s", cstatd_json_type_name(m));
	if ((rc = check_keys(m, path, keys, e)) != 0)
		return rc;
	if ((rc = get_glob(m, path, "name", r->match_name, sizeof(r->match_name), e)) < 0)
		return rc;
	if ((rc = get_glob(m, path, "image", r->match_image, sizeof(r->match_image), e)) < 0)
		return rc;
	json_t *labels = json_object_get(m, "labels");
	if (!labels)
		return 0;
	join(p, sizeof(p), path, "labels");
	if (!json_is_object(labels))
		return fail(e, p, "expected an object of label globs, got %s",
		            cstatd_json_type_name(labels));
	const char *key;
	json_t *v;
	json_object_foreach(labels, key, v)
	{
		struct cstatd_rule_label *l;
		char kp[384];
		snprintf(kp, sizeof(kp), "%s.%s", p, key);
		if (!json_is_string(v))
			return fail(e, kp, "expected a string (a glob), got %s",
			            cstatd_json_type_name(v));
		if (r->n_match_labels == CSTATD_RULE_MAX_MATCH_LABELS)
			return fail(e, kp, "too many label matchers (at most %d)",
			            CSTATD_RULE_MAX_MATCH_LABELS);
		const char *why;
		if (cstatd_glob_check(json_string_value(v), &why) != 0)
			return fail(e, kp, "\"%s\" is not a valid glob: %s", json_string_value(v),
			            why);
		if (!*key)
			return fail(e, kp, "empty label name");
		l = &r->match_labels[r->n_match_labels];
		if (copy_str(l->key, sizeof(l->key), key, kp, e) ||
		    copy_str(l->value, sizeof(l->value), json_string_value(v), kp, e))
			return -EINVAL;
		r->n_match_labels++;
	}
	qsort(r->match_labels, r->n_match_labels, sizeof(r->match_labels[0]), cmp_label);
	return 0;
}

static int parse_labels(const json_t *obj, const char *path, struct cstatd_rule *r,
                        struct cstatd_cfg_error *e)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return fail(e, path, "expected an object of strings, got %s",
		            cstatd_json_type_name(obj));
	json_object_foreach((json_t *)obj, key, v)
	{
		char kp[384];
		snprintf(kp, sizeof(kp), "%s.%s", path, key);
		if (!json_is_string(v))
			return fail(e, kp, "expected a string, got %s", cstatd_json_type_name(v));
		if (!valid_name(key) || strncmp(key, "__", 2) == 0)
			return fail(e, kp, "not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)");
		for (size_t i = 0; reserved_labels[i]; i++)
			if (strcmp(key, reserved_labels[i]) == 0)
				return fail(
				    e, kp,
				    "reserved label (cstatd sets alertname, severity, name, "
				    "image and id itself)");
		if (r->n_labels == CSTATD_RULE_MAX_LABELS)
			return fail(e, kp, "too many labels (at most %d)", CSTATD_RULE_MAX_LABELS);
		struct cstatd_rule_label *l = &r->labels[r->n_labels];
		if (copy_str(l->key, sizeof(l->key), key, kp, e) ||
		    copy_str(l->value, sizeof(l->value), json_string_value(v), kp, e))
			return -EINVAL;
		r->n_labels++;
	}
	qsort(r->labels, r->n_labels, sizeof(r->labels[0]), cmp_label);
	return 0;
}

static int parse_annotations(const json_t *obj, const char *path, struct cstatd_rule *r,
                             struct cstatd_cfg_error *e)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return fail(e, path, "expected an object of strings, got %s",
		            cstatd_json_type_name(obj));
	json_object_foreach((json_t *)obj, key, v)
	{
		char kp[384];
		snprintf(kp, sizeof(kp), "%s.%s", path, key);
		if (!json_is_string(v))
			return fail(e, kp, "expected a string, got %s", cstatd_json_type_name(v));
		if (!valid_name(key))
			return fail(e, kp, "not a valid annotation name ([a-zA-Z_][a-zA-Z0-9_]*)");
		if (r->n_annotations == CSTATD_RULE_MAX_ANNOTATIONS)
			return fail(e, kp, "too many annotations (at most %d)",
			            CSTATD_RULE_MAX_ANNOTATIONS);
		if (check_template(json_string_value(v), kp, e))
			return -EINVAL;
		struct cstatd_rule_annotation *a = &r->annotations[r->n_annotations];
		if (copy_str(a->key, sizeof(a->key), key, kp, e) ||
		    copy_str(a->value, sizeof(a->value), json_string_value(v), kp, e))
			return -EINVAL;
		r->n_annotations++;
	}
	return 0;
}

static const char *signal_list(void)
{
	static char buf[512];
	size_t off = 0;

	if (buf[0])
		return buf;
	for (int i = 0; i < CSTATD_SIG_COUNT && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? ", " : "",
		                        cstatd_signal_defs[i].name);
	return buf;
}

static void aggs_of(enum cstatd_signal_kind kind, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int a = 0; a < CSTATD_AGG_COUNT && off < len; a++)
		if (cstatd_agg_valid((enum cstatd_agg)a, kind))
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
			                        cstatd_agg_names[a]);
}

static void limits_of(enum cstatd_signal s, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int l = 1; l < CSTATD_LIMIT_COUNT && off < len; l++)
		if (cstatd_signal_defs[s].limits & CSTATD_LIM_BIT(l))
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
			                        cstatd_limit_names[l]);
}

static const char *kind_name(enum cstatd_signal_kind k)
{
	switch (k) {
	case CSTATD_KIND_GAUGE:
		return "gauge";
	case CSTATD_KIND_COUNTER:
		return "counter";
	case CSTATD_KIND_RATE_TIME:
	case CSTATD_KIND_RATE_RATIO:
		return "rate";
	case CSTATD_KIND_STATE:
		return "state";
	}
	return "?";
}

static int parse_rule(const json_t *o, const char *path, struct cstatd_rule *r,
                      struct cstatd_cfg_error *e)
{
	char p[256], buf[160];
	const char *s = NULL;
	json_t *v;
	int rc;

	memset(r, 0, sizeof(*r));
	strcpy(r->severity, "warning");
	strcpy(r->match_name, "*");
	strcpy(r->match_image, "*");

	if (!json_is_object(o))
		return fail(e, path, "expected a rule object, got %s", cstatd_json_type_name(o));
	if ((rc = check_keys(o, path, rule_keys, e)) != 0)
		return rc;

	/* alert */
	if ((rc = get_string(o, path, "alert", &s, e)) < 0)
		return rc;
	if (rc > 0)
		return fail(e, path, "missing \"alert\" (the alert's name)");
	join(p, sizeof(p), path, "alert");
	if (!valid_name(s))
		return fail(e, p, "\"%s\" is not a valid alert name ([a-zA-Z_][a-zA-Z0-9_]*)", s);
	if (copy_str(r->alert, sizeof(r->alert), s, p, e))
		return -EINVAL;

	/* signal */
	if ((rc = get_string(o, path, "signal", &s, e)) < 0)
		return rc;
	if (rc > 0)
		return fail(e, path, "missing \"signal\" (one of %s)", signal_list());
	join(p, sizeof(p), path, "signal");
	if (cstatd_signal_by_name(s, &r->signal) != 0)
		return fail(e, p, "\"%s\" is not a signal (one of %s)", s, signal_list());
	const struct cstatd_signal_def *sd = &cstatd_signal_defs[r->signal];
	bool state = sd->kind == CSTATD_KIND_STATE;

	/* window */
	rc = get_duration(o, path, "window", &r->window_ms, false, e);
	if (rc < 0)
		return rc;
	join(p, sizeof(p), path, "window");
	if (rc > 0 && !state)
		return fail(e, path, "missing \"window\" (e.g. \"5m\")");
	if (rc == 0 && state)
		return fail(e, p, "%s is a state signal: it has no window", sd->name);
	if (rc == 0 && r->window_ms > CSTATD_RULE_WINDOW_MAX_MS)
		return fail(e, p, "longer than 24h");

	/* aggregate */
	if ((rc = get_string(o, path, "aggregate", &s, e)) < 0)
		return rc;
	join(p, sizeof(p), path, "aggregate");
	if (rc > 0) {
		r->agg = sd->kind == CSTATD_KIND_GAUGE     ? CSTATD_AGG_AVG
		         : sd->kind == CSTATD_KIND_COUNTER ? CSTATD_AGG_INCREASE
		         : state                           ? CSTATD_AGG_LAST
		                                           : CSTATD_AGG_AVG;
	} else {
		if (cstatd_agg_by_name(s, &r->agg) != 0)
			return fail(
			    e, p,
			    "\"%s\" is not an aggregate (one of avg, min, max, last, increase, "
			    "rate, predict)",
			    s);
		if (!cstatd_agg_valid(r->agg, sd->kind)) {
			aggs_of(sd->kind, buf, sizeof(buf));
			return fail(e, p, "%s is not defined for %s signal %s (use %s)", s,
			            kind_name(sd->kind), sd->name, buf);
		}
	}

	/* horizon */
	rc = get_duration(o, path, "horizon", &r->horizon_ms, false, e);
	if (rc < 0)
		return rc;
	join(p, sizeof(p), path, "horizon");
	if (rc == 0 && r->agg != CSTATD_AGG_PREDICT)
		return fail(e, p, "only meaningful with \"aggregate\": \"predict\"");
	if (rc > 0 && r->agg == CSTATD_AGG_PREDICT)
		return fail(e, path,
		            "missing \"horizon\" (how far ahead predict looks, e.g. \"15m\")");

	/* op */
	if ((rc = get_string(o, path, "op", &s, e)) < 0)
		return rc;
	if (rc > 0)
		return fail(e, path, "missing \"op\" (one of >, >=, <, <=, ==, !=)");
	join(p, sizeof(p), path, "op");
	rc = -1;
	for (int i = 0; i < 6; i++)
		if (strcmp(s, cstatd_op_names[i]) == 0) {
			r->op = (enum cstatd_op)i;
			rc = 0;
		}
	if (rc)
		return fail(e, p, "\"%s\" is not one of >, >=, <, <=, ==, !=", s);

	/* threshold */
	v = json_object_get(o, "threshold");
	join(p, sizeof(p), path, "threshold");
	if (!v)
		return fail(e, path, "missing \"threshold\" (a number)");
	if (!json_is_number(v))
		return fail(e, p, "expected a number, got %s", cstatd_json_type_name(v));
	r->threshold = json_number_value(v);

	/* relative_to, when_unlimited */
	if ((rc = get_string(o, path, "relative_to", &s, e)) < 0)
		return rc;
	join(p, sizeof(p), path, "relative_to");
	if (rc == 0) {
		if (cstatd_limit_by_name(s, &r->relative_to) != 0)
			return fail(e, p,
			            "\"%s\" is not one of cpu_limit, memory_limit, pids_limit, "
			            "host_cpus, host_memory",
			            s);
		if (!(sd->limits & CSTATD_LIM_BIT(r->relative_to))) {
			limits_of(r->signal, buf, sizeof(buf));
			if (buf[0])
				return fail(
				    e, p,
				    "%s does not apply to signal %s (it can be relative to %s)", s,
				    sd->name, buf);
			return fail(e, p,
			            "%s does not apply to signal %s (it has no limit to be "
			            "relative to)",
			            s, sd->name);
		}
	}
	if ((rc = get_string(o, path, "when_unlimited", &s, e)) < 0)
		return rc;
	join(p, sizeof(p), path, "when_unlimited");
	if (rc == 0) {
		if (strcmp(s, "host") == 0)
			r->unlimited_host = true;
		else if (strcmp(s, "skip") != 0)
			return fail(e, p, "\"%s\" is not one of skip, host", s);
		if (r->unlimited_host &&
		    cstatd_limit_host_fallback(r->relative_to) == CSTATD_LIMIT_NONE)
			return fail(e, p,
			            "\"host\" needs \"relative_to\": cpu_limit or memory_limit");
	}

	/* clear */
	v = json_object_get(o, "clear");
	join(p, sizeof(p), path, "clear");
	if (v) {
		if (!json_is_number(v))
			return fail(e, p, "expected a number, got %s", cstatd_json_type_name(v));
		r->has_clear = true;
		r->clear = json_number_value(v);
		bool up = r->op == CSTATD_OP_GT || r->op == CSTATD_OP_GE;
		bool down = r->op == CSTATD_OP_LT || r->op == CSTATD_OP_LE;
		if (!up && !down)
			return fail(e, p,
			            "needs op >, >=, < or <= (hysteresis has no direction for %s)",
			            cstatd_op_names[r->op]);
		if (up && r->clear > r->threshold)
			return fail(
			    e, p,
			    "%g must not be above the threshold %g for op %s (the alert stays "
			    "firing until the value drops to clear)",
			    r->clear, r->threshold, cstatd_op_names[r->op]);
		if (down && r->clear < r->threshold)
			return fail(
			    e, p,
			    "%g must not be below the threshold %g for op %s (the alert stays "
			    "firing until the value rises to clear)",
			    r->clear, r->threshold, cstatd_op_names[r->op]);
	}

	/* for, keep_firing_for */
	if ((rc = get_duration(o, path, "for", &r->for_ms, true, e)) < 0)
		return rc;
	if ((rc = get_duration(o, path, "keep_firing_for", &r->keep_firing_for_ms, true, e)) < 0)
		return rc;

	/* severity */
	if ((rc = get_string(o, path, "severity", &s, e)) < 0)
		return rc;
	join(p, sizeof(p), path, "severity");
	if (rc == 0) {
		if (!*s || strlen(s) >= sizeof(r->severity) || !valid_name(s))
			return fail(e, p,
			            "\"%s\" is not a severity (a word such as info, warning, "
			            "critical)",
			            s);
		strcpy(r->severity, s);
	}

	/* match, labels, annotations */
	if ((v = json_object_get(o, "match"))) {
		join(p, sizeof(p), path, "match");
		if ((rc = parse_match(v, p, r, e)) != 0)
			return rc;
	}
	if ((v = json_object_get(o, "labels"))) {
		join(p, sizeof(p), path, "labels");
		if ((rc = parse_labels(v, p, r, e)) != 0)
			return rc;
	}
	if ((v = json_object_get(o, "annotations"))) {
		join(p, sizeof(p), path, "annotations");
		if ((rc = parse_annotations(v, p, r, e)) != 0)
			return rc;
	}
	r->fingerprint = rule_fingerprint(r);
	return 0;
}

void cstatd_ruleset_free(struct cstatd_ruleset *rs)
{
	if (!rs)
		return;
	free(rs->rules);
	rs->rules = NULL;
	rs->n = 0;
}

int cstatd_rules_parse(const json_t *arr, const char *path, struct cstatd_ruleset *out,
                       struct cstatd_cfg_error *e)
{
	struct cstatd_ruleset rs = {0};
	size_t n;
	int rc = 0;

	if (!json_is_array(arr))
		return fail(e, path, "expected an array of rules, got %s",
		            cstatd_json_type_name(arr));
	n = json_array_size(arr);
	if (n > CSTATD_RULES_MAX)
		return fail(e, path, "too many rules (%zu; at most %d)", n, CSTATD_RULES_MAX);
	if (n) {
		rs.rules = calloc(n, sizeof(*rs.rules));
		if (!rs.rules)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		rc = parse_rule(json_array_get(arr, i), p, &rs.rules[i], e);
		if (rc)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (rs.rules[j].fingerprint == rs.rules[i].fingerprint) {
				rc = fail(e, p, "same rule as %s[%zu]", path, j);
				goto out;
			}
		}
		rs.n = i + 1;
	}
	*out = rs;
	return 0;
out:
	cstatd_ruleset_free(&rs);
	return rc;
}

int cstatd_rules_defaults(struct cstatd_ruleset *out)
{
	json_error_t jerr;
	struct cstatd_cfg_error e;
	json_t *arr = json_loads(default_rules_json, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (!arr)
		return -ENOMEM; /* the text is tested; only allocation can fail */
	rc = cstatd_rules_parse(arr, "default_rules", out, &e);
	json_decref(arr);
	return rc == -EINVAL ? -EPROTO : rc;
}

/* ======================================================================== */
/* Evaluation helpers                                                       */
/* ======================================================================== */

bool cstatd_op_eval(enum cstatd_op op, double v, double t)
{
	switch (op) {
	case CSTATD_OP_GT:
		return v > t;
	case CSTATD_OP_GE:
		return v >= t;
	case CSTATD_OP_LT:
		return v < t;
	case CSTATD_OP_LE:
		return v <= t;
	case CSTATD_OP_EQ:
		return v == t;
	case CSTATD_OP_NE:
		return v != t;
	}
	return false;
}

/* The value of a container label for matching: compose project/service
 * are always known; others only when allow-listed (their keys are stored
 * sanitised, so the rule's key is sanitised the same way). Absent = "". */
static const char *container_label(const struct cstatd_container *c, const char *key)
{
	char skey[CSTATD_LABEL_KEY_LEN];
	size_t n = strlen(key);

	if (strcmp(key, "com.docker.compose.project") == 0 && c->docker.compose_project[0])
		return c->docker.compose_project;
	if (strcmp(key, "com.docker.compose.service") == 0 && c->docker.compose_service[0])
		return c->docker.compose_service;
	if (n >= sizeof(skey))
		return "";
	for (size_t i = 0; i <= n; i++) {
		char ch = key[i];
		bool ok = ch == '\0' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '_';
		skey[i] = ok ? ch : '_';
	}
	for (unsigned i = 0; i < c->docker.n_labels && i < CSTATD_MAX_LABELS; i++)
		if (strcmp(c->docker.labels[i].key, skey) == 0)
			return c->docker.labels[i].value;
	return "";
}

bool cstatd_rule_matches(const struct cstatd_rule *r, const struct cstatd_container *c)
{
	if (strcmp(r->match_name, "*") != 0 && fnmatch(r->match_name, c->name, 0) != 0)
		return false;
	if (strcmp(r->match_image, "*") != 0 && fnmatch(r->match_image, c->image, 0) != 0)
		return false;
	for (unsigned i = 0; i < r->n_match_labels; i++)
		if (fnmatch(r->match_labels[i].value, container_label(c, r->match_labels[i].key),
		            0) != 0)
			return false;
	return true;
}

static void format_bytes(double v, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	int u = 0;
	double a = fabs(v);
	while (a >= 1024 && u < 5) {
		a /= 1024;
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f B", v);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

void cstatd_rule_format_value(const struct cstatd_rule *r, double v, char *buf, size_t len)
{
	const char *unit = cstatd_signal_defs[r->signal].unit;

	if (r->relative_to != CSTATD_LIMIT_NONE || strcmp(unit, "ratio") == 0) {
		snprintf(buf, len, "%.1f%%", v * 100);
	} else if (strcmp(unit, "count") == 0 || strcmp(unit, "bool") == 0) {
		cstatd_format_number(v, buf, len);
	} else if (strcmp(unit, "bytes") == 0) {
		format_bytes(v, buf, len);
	} else if (strcmp(unit, "cores") == 0) {
		snprintf(buf, len, "%.2f cores", v);
	} else {
		snprintf(buf, len, "%g", v);
	}
}

void cstatd_format_number(double v, char *buf, size_t len)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* ======================================================================== */
/* /alerts/rules                                                            */
/* ======================================================================== */

static json_t *duration_json(uint64_t ms)
{
	char buf[32];
	cstatd_format_duration(ms, buf, sizeof(buf));
	return json_string(buf);
}

json_t *cstatd_rules_json(const struct cstatd_ruleset *rs)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < rs->n; i++) {
		const struct cstatd_rule *r = &rs->rules[i];
		json_t *o = json_object(), *m = json_object(), *ml = json_object();
		json_t *lb = json_object(), *an = json_object();
		char fp[32];

		if (!o || !m || !ml || !lb || !an) {
			json_decref(o);
			json_decref(m);
			json_decref(ml);
			json_decref(lb);
			json_decref(an);
			json_decref(arr);
			return NULL;
		}
		json_object_set_new(o, "alert", json_string(r->alert));
		json_object_set_new(o, "signal", json_string(cstatd_signal_defs[r->signal].name));
		if (r->window_ms)
			json_object_set_new(o, "window", duration_json(r->window_ms));
		json_object_set_new(o, "aggregate", json_string(cstatd_agg_names[r->agg]));
		if (r->agg == CSTATD_AGG_PREDICT)
			json_object_set_new(o, "horizon", duration_json(r->horizon_ms));
		json_object_set_new(o, "op", json_string(cstatd_op_names[r->op]));
		json_object_set_new(o, "threshold", json_real(r->threshold));
		if (r->has_clear)
			json_object_set_new(o, "clear", json_real(r->clear));
		if (r->relative_to) {
			json_object_set_new(o, "relative_to",
			                    json_string(cstatd_limit_names[r->relative_to]));
			json_object_set_new(o, "when_unlimited",
			                    json_string(r->unlimited_host ? "host" : "skip"));
		}
		json_object_set_new(o, "for", duration_json(r->for_ms));
		json_object_set_new(o, "keep_firing_for", duration_json(r->keep_firing_for_ms));
		json_object_set_new(o, "severity", json_string(r->severity));
		json_object_set_new(m, "name", json_string(r->match_name));
		json_object_set_new(m, "image", json_string(r->match_image));
		for (unsigned k = 0; k < r->n_match_labels; k++)
			json_object_set_new(ml, r->match_labels[k].key,
			                    json_string(r->match_labels[k].value));
		json_object_set_new(m, "labels", ml);
		json_object_set_new(o, "match", m);
		for (unsigned k = 0; k < r->n_labels; k++)
			json_object_set_new(lb, r->labels[k].key, json_string(r->labels[k].value));
		json_object_set_new(o, "labels", lb);
		for (unsigned k = 0; k < r->n_annotations; k++)
			json_object_set_new(an, r->annotations[k].key,
			                    json_string(r->annotations[k].value));
		json_object_set_new(o, "annotations", an);
		snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)r->fingerprint);
		json_object_set_new(o, "fingerprint", json_string(fp));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* ======================================================================== */
/* Prometheus alerting-rules YAML                                           */
/* ======================================================================== */

/* A bounded string builder: expressions are short; overflow is reported. */
struct sb {
	char buf[8192];
	size_t len;
	bool overflow;
};

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, sizeof(b->buf) - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->buf) - b->len) {
		b->overflow = true;
		b->buf[b->len] = '\0';
		return;
	}
	b->len += (size_t)n;
}

/* fnmatch glob → RE2 (PromQL regexes are anchored like globs), written
 * inside a PromQL raw string (backticks), so no escaping layer but the
 * regex's own. */
static void glob_to_regex(const char *g, struct sb *o)
{
	for (const char *p = g; *p; p++) {
		if (*p == '*') {
			sb_printf(o, ".*");
		} else if (*p == '?') {
			sb_printf(o, ".");
		} else if (*p == '[') {
			const char *q = p + 1;
			sb_printf(o, "[");
			if (*q == '!' || *q == '^') {
				sb_printf(o, "^");
				q++;
			}
			if (*q == ']') {
				sb_printf(o, "\\]");
				q++;
			}
			for (; *q && *q != ']'; q++) {
				if (*q == '\\' || *q == '[')
					sb_printf(o, "\\%c", *q);
				else if (*q == '`')
					sb_printf(o, "\\x60");
				else
					sb_printf(o, "%c", *q);
			}
			sb_printf(o, "]");
			p = q;
		} else {
			char c = *p;
			if (c == '\\' && p[1])
				c = *++p;
			if (c == '`')
				sb_printf(o, "\\x60");
			else if (strchr(".+()|{}^$\\[]*?", c))
				sb_printf(o, "\\%c", c);
			else
				sb_printf(o, "%c", c);
		}
	}
}

static void label_key_prom(const char *key, char *out, size_t len)
{
	size_t n = 0;
	n = (size_t)snprintf(out, len, "container_label_");
	for (const char *p = key; *p && n + 1 < len; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '_';
		out[n++] = ok ? c : '_';
	}
	out[n] = '\0';
}

/* The matchers a rule's selector puts on a family of `scope`. Container
 * scope families carry name, image and allow-listed labels; name scope
 * families only name (the rest is joined from cstatd_container_info). */
static void matchers(const struct cstatd_rule *r, char scope, const char *risk, struct sb *o)
{
	bool first = true;

	sb_printf(o, "{");
	if (risk) {
		sb_printf(o, "risk=\"%s\"", risk);
		first = false;
	}
	if (strcmp(r->match_name, "*") != 0) {
		sb_printf(o, "%sname=~`", first ? "" : ",");
		glob_to_regex(r->match_name, o);
		sb_printf(o, "`");
		first = false;
	}
	if (scope == 'c') {
		if (strcmp(r->match_image, "*") != 0) {
			sb_printf(o, "%simage=~`", first ? "" : ",");
			glob_to_regex(r->match_image, o);
			sb_printf(o, "`");
			first = false;
		}
		for (unsigned i = 0; i < r->n_match_labels; i++) {
			char k[160];
			label_key_prom(r->match_labels[i].key, k, sizeof(k));
			sb_printf(o, "%s%s=~`", first ? "" : ",", k);
			glob_to_regex(r->match_labels[i].value, o);
			sb_printf(o, "`");
			first = false;
		}
	}
	if (first)
		o->len--, o->buf[o->len] = '\0'; /* drop the '{' */
	else
		sb_printf(o, "}");
}

static void fam(const struct cstatd_rule *r, const char *family, char scope, const char *risk,
                struct sb *o)
{
	sb_printf(o, "%s", family);
	matchers(r, scope, risk, o);
}

static void dur(uint64_t ms, char *buf, size_t len)
{
	cstatd_format_duration(ms, buf, len);
}

/* cAdvisor's CPU family has a `cpu` label ("total"); drop it so the series
 * lines up with the limit families. */
static bool has_cpu_label(const char *family)
{
	return strcmp(family, "container_cpu_usage_seconds_total") == 0;
}

/* The rule's value as PromQL (before any relative_to). */
static void value_expr(const struct cstatd_rule *r, struct sb *o)
{
	const struct cstatd_signal_def *d = &cstatd_signal_defs[r->signal];
	char W[32], I[32], H[32];
	const char *fn;
	uint64_t inner = r->window_ms >= 240000 ? 60000 : r->window_ms / 2;

	if (inner < 30000)
		inner = 30000;
	dur(r->window_ms, W, sizeof(W));
	dur(inner, I, sizeof(I));
	snprintf(H, sizeof(H), "%llu", (unsigned long long)(r->horizon_ms / 1000));
	fn = r->agg == CSTATD_AGG_AVG   ? "avg_over_time"
	     : r->agg == CSTATD_AGG_MIN ? "min_over_time"
	                                : "max_over_time";

	switch (d->kind) {
	case CSTATD_KIND_STATE:
		fam(r, d->prom_num, d->prom_scope, d->prom_den, o);
		return;
	case CSTATD_KIND_GAUGE: {
		/* container_health_state is -1 without a health check: keep
		 * only containers that have one. */
		bool health = r->signal == CSTATD_SIG_HEALTH;
		if (r->agg == CSTATD_AGG_LAST) {
			if (health)
				sb_printf(o, "(");
			fam(r, d->prom_num, d->prom_scope, NULL, o);
			if (health)
				sb_printf(o, " >= 0)");
			return;
		}
		sb_printf(o, "%s(", r->agg == CSTATD_AGG_PREDICT ? "predict_linear" : fn);
		if (health)
			sb_printf(o, "(");
		fam(r, d->prom_num, d->prom_scope, NULL, o);
		if (health)
			sb_printf(o, " >= 0)[%s:]", W);
		else
			sb_printf(o, "[%s]", W);
		if (r->agg == CSTATD_AGG_PREDICT)
			sb_printf(o, ", %s", H);
		sb_printf(o, ")");
		return;
	}
	case CSTATD_KIND_COUNTER:
		if (r->agg == CSTATD_AGG_LAST) {
			fam(r, d->prom_num, d->prom_scope, NULL, o);
			return;
		}
		sb_printf(o, "%s(", r->agg == CSTATD_AGG_RATE ? "rate" : "increase");
		fam(r, d->prom_num, d->prom_scope, NULL, o);
		sb_printf(o, "[%s])", W);
		return;
	case CSTATD_KIND_RATE_TIME: {
		bool wrap = has_cpu_label(d->prom_num);
		const char *pre = wrap ? "sum without (cpu) (" : "", *post = wrap ? ")" : "";
		switch (r->agg) {
		case CSTATD_AGG_AVG:
		case CSTATD_AGG_RATE:
		case CSTATD_AGG_INCREASE:
			sb_printf(o, "%s%s(", pre,
			          r->agg == CSTATD_AGG_INCREASE ? "increase" : "rate");
			fam(r, d->prom_num, d->prom_scope, NULL, o);
			sb_printf(o, "[%s])%s", W, post);
			return;
		case CSTATD_AGG_LAST:
			sb_printf(o, "%sirate(", pre);
			fam(r, d->prom_num, d->prom_scope, NULL, o);
			sb_printf(o, "[%s])%s", I, post);
			return;
		default: /* min, max, predict: over a subquery of short rates */
			sb_printf(o, "%s((%srate(",
			          r->agg == CSTATD_AGG_PREDICT ? "predict_linear" : fn, pre);
			fam(r, d->prom_num, d->prom_scope, NULL, o);
			sb_printf(o, "[%s])%s)[%s:]", I, post, W);
			if (r->agg == CSTATD_AGG_PREDICT)
				sb_printf(o, ", %s", H);
			sb_printf(o, ")");
			return;
		}
	}
	case CSTATD_KIND_RATE_RATIO:
		switch (r->agg) {
		case CSTATD_AGG_AVG:
			sb_printf(o, "(increase(");
			fam(r, d->prom_num, d->prom_scope, NULL, o);
			sb_printf(o, "[%s]) / increase(", W);
			fam(r, d->prom_den, d->prom_scope, NULL, o);
			sb_printf(o, "[%s]))", W);
			return;
		case CSTATD_AGG_INCREASE:
		case CSTATD_AGG_RATE:
			sb_printf(o, "%s(", r->agg == CSTATD_AGG_RATE ? "rate" : "increase");
			fam(r, d->prom_num, d->prom_scope, NULL, o);
			sb_printf(o, "[%s])", W);
			return;
		case CSTATD_AGG_LAST:
			sb_printf(o, "(irate(");
			fam(r, d->prom_num, d->prom_scope, NULL, o);
			sb_printf(o, "[%s]) / irate(", I);
			fam(r, d->prom_den, d->prom_scope, NULL, o);
			sb_printf(o, "[%s]))", I);
			return;
		default:
			sb_printf(o, "%s((increase(",
			          r->agg == CSTATD_AGG_PREDICT ? "predict_linear" : fn);
			fam(r, d->prom_num, d->prom_scope, NULL, o);
			sb_printf(o, "[%s]) / increase(", I);
			fam(r, d->prom_den, d->prom_scope, NULL, o);
			sb_printf(o, "[%s]))[%s:]", I, W);
			if (r->agg == CSTATD_AGG_PREDICT)
				sb_printf(o, ", %s", H);
			sb_printf(o, ")");
			return;
		}
	}
}

static void limit_expr(const struct cstatd_rule *r, enum cstatd_limit lim,
                       const struct cstatd_host *h, struct sb *o)
{
	switch (lim) {
	case CSTATD_LIMIT_CPU:
		sb_printf(o, "(");
		fam(r, "container_spec_cpu_quota", 'c', NULL, o);
		sb_printf(o, " / ");
		fam(r, "container_spec_cpu_period", 'c', NULL, o);
		sb_printf(o, ")");
		return;
	case CSTATD_LIMIT_MEMORY:
		fam(r, "container_spec_memory_limit_bytes", 'c', NULL, o);
		return;
	case CSTATD_LIMIT_PIDS:
		fam(r, "container_threads_max", 'c', NULL, o);
		return;
	case CSTATD_LIMIT_HOST_CPUS:
		sb_printf(o, "%g", h && h->cpus > 0 ? h->cpus : 1);
		return;
	case CSTATD_LIMIT_HOST_MEMORY:
		sb_printf(o, "%.0f", h && h->memory_bytes > 0 ? h->memory_bytes : 1);
		return;
	default:
		return;
	}
}

/* value (relative or not) compared with a threshold. */
static void condition(const struct cstatd_rule *r, const char *op, double thr,
                      const struct cstatd_host *h, struct sb *o)
{
	char t[40];

	cstatd_format_number(thr, t, sizeof(t));
	if (r->relative_to == CSTATD_LIMIT_NONE) {
		value_expr(r, o);
		sb_printf(o, " %s %s", op, t);
		return;
	}
	if (!r->unlimited_host) {
		value_expr(r, o);
		sb_printf(o, " / ");
		limit_expr(r, r->relative_to, h, o);
		sb_printf(o, " %s %s", op, t);
		return;
	}
	sb_printf(o, "(");
	value_expr(r, o);
	sb_printf(o, " / ");
	limit_expr(r, r->relative_to, h, o);
	sb_printf(o, " %s %s) or ((", op, t);
	value_expr(r, o);
	sb_printf(o, " unless ");
	limit_expr(r, r->relative_to, h, o);
	sb_printf(o, ") / ");
	limit_expr(r, cstatd_limit_host_fallback(r->relative_to), h, o);
	sb_printf(o, " %s %s)", op, t);
}

static void rule_expr(const struct cstatd_rule *r, const struct cstatd_host *h, struct sb *o)
{
	const struct cstatd_signal_def *d = &cstatd_signal_defs[r->signal];
	bool join_info =
	    d->prom_scope == 'n' && (strcmp(r->match_image, "*") != 0 || r->n_match_labels > 0);

	if (join_info)
		sb_printf(o, "(");
	if (r->has_clear) {
		bool up = r->op == CSTATD_OP_GT || r->op == CSTATD_OP_GE;
		/* Two-threshold hysteresis with the alert's own ALERTS series
		 * (the series Prometheus writes for every active alert). */
		sb_printf(o, "(");
		condition(r, cstatd_op_names[r->op], r->threshold, h, o);
		sb_printf(o, ") or (");
		condition(r, up ? ">" : "<", r->clear, h, o);
		sb_printf(
		    o,
		    " and on (%s) ALERTS{alertname=\"%s\",alertstate=\"firing\",severity=\"%s\"})",
		    d->prom_scope == 'n' ? "name" : "id, name, image", r->alert, r->severity);
	} else {
		condition(r, cstatd_op_names[r->op], r->threshold, h, o);
	}
	if (join_info) {
		sb_printf(o, ") and on (name) ");
		struct cstatd_rule copy = *r;
		strcpy(copy.match_name, "*"); /* name is already matched */
		fam(&copy, "cstatd_container_info", 'c', NULL, o);
	}
}

static void yaml_quote(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* Annotation template → Go template of Prometheus. */
static void prom_template(const struct cstatd_rule *r, const char *t, struct sb *o)
{
	const char *unit = cstatd_signal_defs[r->signal].unit;

	while (*t) {
		const char *p = strstr(t, "{{");
		if (!p) {
			sb_printf(o, "%s", t);
			return;
		}
		sb_printf(o, "%.*s", (int)(p - t), t);
		const char *end = strstr(p + 2, "}}");
		const char *a = p + 2, *b = end;
		while (*a == ' ')
			a++;
		while (b > a && b[-1] == ' ')
			b--;
		char var[32];
		size_t n = (size_t)(b - a) < sizeof(var) - 1 ? (size_t)(b - a) : sizeof(var) - 1;
		memcpy(var, a, n);
		var[n] = '\0';
		if (!strcmp(var, "name") || !strcmp(var, "image") || !strcmp(var, "id")) {
			sb_printf(o, "{{ $labels.%s }}", var);
		} else if (!strcmp(var, "value")) {
			if (r->relative_to != CSTATD_LIMIT_NONE || !strcmp(unit, "ratio"))
				sb_printf(o, "{{ $value | humanizePercentage }}");
			else if (!strcmp(unit, "bytes"))
				sb_printf(o, "{{ $value | humanize1024 }}B");
			else
				sb_printf(o, "{{ $value | humanize }}");
		} else if (!strcmp(var, "threshold")) {
			char buf[64];
			cstatd_rule_format_value(r, r->threshold, buf, sizeof(buf));
			sb_printf(o, "%s", buf);
		} else if (!strcmp(var, "alert")) {
			sb_printf(o, "%s", r->alert);
		} else if (!strcmp(var, "severity")) {
			sb_printf(o, "%s", r->severity);
		} else if (!strcmp(var, "signal")) {
			sb_printf(o, "%s", cstatd_signal_defs[r->signal].name);
		} else if (!strcmp(var, "window")) {
			char buf[32];
			dur(r->window_ms, buf, sizeof(buf));
			sb_printf(o, "%s", buf);
		}
		t = end + 2;
	}
}

#ifndef CSTATD_VERSION
#define CSTATD_VERSION "dev"
#endif

int cstatd_rules_export_yaml(const struct cstatd_ruleset *rs, const struct cstatd_host *h,
                             FILE *out)
{
	static struct sb expr, ann; /* 8 KiB each: not on the stack */
	char d[32];

	fprintf(
	    out,
	    "# Prometheus alerting rules generated by `cstatd rules export` (cstatd %s).\n"
	    "# The same conditions cstatd evaluates itself, written over the series it\n"
	    "# exports (cAdvisor names). Hysteresis (\"clear\") uses Prometheus' ALERTS series.\n"
	    "# Check with: promtool check rules FILE\n",
	    CSTATD_VERSION);
	for (size_t i = 0; i < rs->n; i++)
		if (rs->rules[i].relative_to == CSTATD_LIMIT_HOST_CPUS ||
		    rs->rules[i].relative_to == CSTATD_LIMIT_HOST_MEMORY ||
		    rs->rules[i].unlimited_host) {
			fprintf(out,
			        "# Host-relative thresholds use this host's size: %g CPUs, %.0f "
			        "bytes of memory.\n",
			        h ? h->cpus : 0, h ? h->memory_bytes : 0);
			break;
		}
	fprintf(out, "groups:\n  - name: cstatd\n    rules:\n");
	for (size_t i = 0; i < rs->n; i++) {
		const struct cstatd_rule *r = &rs->rules[i];
		memset(&expr, 0, sizeof(expr));
		rule_expr(r, h, &expr);
		if (expr.overflow)
			return -EIO;
		fprintf(out, "      - alert: %s\n        expr: ", r->alert);
		yaml_quote(out, expr.buf);
		fputc('\n', out);
		if (r->for_ms) {
			dur(r->for_ms, d, sizeof(d));
			fprintf(out, "        for: %s\n", d);
		}
		if (r->keep_firing_for_ms) {
			dur(r->keep_firing_for_ms, d, sizeof(d));
			fprintf(out, "        keep_firing_for: %s\n", d);
		}
		fprintf(out, "        labels:\n          severity: ");
		yaml_quote(out, r->severity);
		fputc('\n', out);
		for (unsigned k = 0; k < r->n_labels; k++) {
			fprintf(out, "          %s: ", r->labels[k].key);
			yaml_quote(out, r->labels[k].value);
			fputc('\n', out);
		}
		if (r->n_annotations)
			fprintf(out, "        annotations:\n");
		for (unsigned k = 0; k < r->n_annotations; k++) {
			memset(&ann, 0, sizeof(ann));
			prom_template(r, r->annotations[k].value, &ann);
			if (ann.overflow)
				return -EIO;
			fprintf(out, "          %s: ", r->annotations[k].key);
			yaml_quote(out, ann.buf);
			fputc('\n', out);
		}
	}
	return ferror(out) ? -EIO : 0;
}
