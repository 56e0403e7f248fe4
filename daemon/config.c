/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration file loading and validation; see config.h for the format
 * of errors and why positions come from a second scan of the text.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon/config.h"
#include "daemon/duration.h"

/* ======================================================================== */
/* Position scan                                                            */
/* ======================================================================== */

/*
 * Runs over text that jansson has already accepted, so it only has to be
 * right for valid JSON. Records, for every key path, where its key and its
 * value start (1-based line and column, columns counted in characters as
 * jansson counts them).
 */
struct pos {
	char *path;
	int key_line, key_col; /* 0 for array items and the root */
	int line, col;
};

struct scan {
	const char *p, *end;
	int line, col;
	struct pos *pos;
	size_t n, cap;
	bool oom;
};

static void adv(struct scan *s)
{
	if (s->p >= s->end)
		return;
	if (*s->p == '\n') {
		s->line++;
		s->col = 1;
	} else if (((unsigned char)*s->p & 0xC0) != 0x80) {
		s->col++; /* UTF-8 continuation bytes do not start a character */
	}
	s->p++;
}

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		adv(s);
}

static void put_utf8(char *out, size_t *n, size_t cap, unsigned cp)
{
	char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		k = 4;
	}
	for (size_t i = 0; i < k && *n + 1 < cap; i++)
		out[(*n)++] = b[i];
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v = v * 16 + (unsigned)(c >= '0' && c <= '9'   ? c - '0'
		                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		                                               : c - 'A' + 10);
	}
	return v;
}

/* Reads a string at s->p (on the quote); decoded into out (truncated). */
static void scan_string(struct scan *s, char *out, size_t cap)
{
	size_t n = 0;

	adv(s); /* " */
	while (s->p < s->end && *s->p != '"') {
		if (*s->p == '\\' && s->p + 1 < s->end) {
			char e = s->p[1];
			adv(s);
			adv(s);
			if (e == 'u' && s->end - s->p >= 4) {
				unsigned cp = hex4(s->p);
				for (int i = 0; i < 4; i++)
					adv(s);
				if (cp >= 0xD800 && cp < 0xDC00 && s->end - s->p >= 6 &&
				    s->p[0] == '\\' && s->p[1] == 'u') {
					unsigned lo = hex4(s->p + 2);
					for (int i = 0; i < 6; i++)
						adv(s);
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				}
				put_utf8(out, &n, cap, cp);
				continue;
			}
			char c = e == 'n'   ? '\n'
			         : e == 't' ? '\t'
			         : e == 'r' ? '\r'
			         : e == 'b' ? '\b'
			         : e == 'f' ? '\f'
			                    : e;
			if (n + 1 < cap)
				out[n++] = c;
			continue;
		}
		if (n + 1 < cap)
			out[n++] = *s->p;
		adv(s);
	}
	adv(s); /* " */
	if (cap)
		out[n] = '\0';
}

static void record(struct scan *s, const char *path, int kl, int kc, int l, int c)
{
	if (s->oom)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct pos *p = realloc(s->pos, cap * sizeof(*p));
		if (!p) {
			s->oom = true;
			return;
		}
		s->pos = p;
		s->cap = cap;
	}
	s->pos[s->n].path = strdup(path);
	if (!s->pos[s->n].path) {
		s->oom = true;
		return;
	}
	s->pos[s->n].key_line = kl;
	s->pos[s->n].key_col = kc;
	s->pos[s->n].line = l;
	s->pos[s->n].col = c;
	s->n++;
}

/*
 * Steps over the object or array at s->p without recording paths, with a
 * counter instead of recursion. Used past the depth limit: returning there
 * without consuming the value left the enclosing array's loop calling
 * scan_value on the same '[' forever, recording a path each time.
 */
static void skip_container(struct scan *s)
{
	int depth = 0;

	do {
		if (*s->p == '"') {
			scan_string(s, NULL, 0);
			continue;
		}
		if (*s->p == '{' || *s->p == '[')
			depth++;
		else if (*s->p == '}' || *s->p == ']')
			depth--;
		adv(s);
	} while (s->p < s->end && depth > 0);
}

static void scan_value(struct scan *s, const char *path, int kl, int kc, int depth)
{
	char sub[512], key[256];

	skip_ws(s);
	record(s, path, kl, kc, s->line, s->col);
	if (s->p >= s->end)
		return;
	if (depth > 64 && (*s->p == '{' || *s->p == '[')) {
		skip_container(s);
	} else if (*s->p == '{') {
		adv(s);
		skip_ws(s);
		while (s->p < s->end && *s->p != '}') {
			int l, c;
			skip_ws(s);
			l = s->line;
			c = s->col;
			scan_string(s, key, sizeof(key));
			skip_ws(s);
			adv(s); /* : */
			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", key);
			scan_value(s, sub, l, c, depth + 1);
			skip_ws(s);
			if (s->p < s->end && *s->p == ',')
				adv(s);
			skip_ws(s);
		}
		adv(s);
	} else if (*s->p == '[') {
		size_t i = 0;
		adv(s);
		skip_ws(s);
		while (s->p < s->end && *s->p != ']') {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i++);
			scan_value(s, sub, 0, 0, depth + 1);
			skip_ws(s);
			if (s->p < s->end && *s->p == ',')
				adv(s);
			skip_ws(s);
		}
		adv(s);
	} else if (*s->p == '"') {
		scan_string(s, NULL, 0);
	} else {
		while (s->p < s->end && !strchr(",]} \t\r\n", *s->p))
			adv(s);
	}
}

static void scan_free(struct scan *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->pos[i].path);
	free(s->pos);
}

static const struct pos *scan_find(const struct scan *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->pos[i].path, path) == 0)
			return &s->pos[i];
	return NULL;
}

/* ======================================================================== */
/* Loading                                                                  */
/* ======================================================================== */

struct load {
	const char *file; /* for messages */
	struct scan scan;
	char *err;
	size_t err_len;
};

static int report(struct load *ld, const struct cstatd_cfg_error *e)
{
	const struct pos *p = scan_find(&ld->scan, e->path);
	int line = 0, col = 0;

	if (p) {
		bool at_key = strncmp(e->msg, "unknown key", 11) == 0 && p->key_line;
		line = at_key ? p->key_line : p->line;
		col = at_key ? p->key_col : p->col;
	}
	if (line)
		snprintf(ld->err, ld->err_len, "%s:%d:%d: %s%s%s", ld->file, line, col, e->path,
		         e->path[0] ? ": " : "", e->msg);
	else
		snprintf(ld->err, ld->err_len, "%s: %s%s%s", ld->file, e->path,
		         e->path[0] ? ": " : "", e->msg);
	return -EINVAL;
}

static int fail(struct load *ld, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct load *ld, const char *path, const char *fmt, ...)
{
	struct cstatd_cfg_error e;
	va_list ap;

	snprintf(e.path, sizeof(e.path), "%s", path);
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	return report(ld, &e);
}

/* The top-level keys: every option of the flag table, then ours. */
static const char *const option_names[] = {
#define X(field, name, metavar, kind, def, min, help) name,
    CSTATD_OPTIONS(X)
#undef X
};
#define N_OPTION_NAMES (sizeof(option_names) / sizeof(option_names[0]))

static const char *const extra_keys[] = {"windows", "rules", "alertmanager"};

static int unknown_top_key(struct load *ld, const char *key)
{
	const char *best = NULL;
	unsigned best_d = 3;

	for (size_t i = 0; i < N_OPTION_NAMES + 3; i++) {
		const char *cand =
		    i < N_OPTION_NAMES ? option_names[i] : extra_keys[i - N_OPTION_NAMES];
		unsigned d = cstatd_edit_distance(key, cand);
		/* "docker_host" for "docker-host" is the usual slip */
		char alt[128];
		snprintf(alt, sizeof(alt), "%s", key);
		for (char *p = alt; *p; p++)
			if (*p == '_')
				*p = '-';
		if (strcmp(alt, cand) == 0)
			d = 0;
		if (d < best_d) {
			best_d = d;
			best = cand;
		}
	}
	if (best)
		return fail(ld, key, "unknown key (did you mean \"%s\"?)", best);
	return fail(ld, key, "unknown key (see docs/configuration.md)");
}

static int apply_option(struct load *ld, struct cstatd_options *o, const char *key, const json_t *v)
{
	enum cstatd_opt_kind kind;
	char msg[512];
	char num[32];
	const char *val;

	if (cstatd_options_kind(key, &kind) != 0)
		return unknown_top_key(ld, key);
	if (strcmp(key, "config") == 0)
		return fail(ld, key, "cannot be set inside a config file");
	if (kind == OPT_FLAG) {
		if (!json_is_boolean(v))
			return fail(ld, key, "expected true or false, got %s",
			            cstatd_json_type_name(v));
		val = json_is_true(v) ? "true" : "false";
	} else if (kind == OPT_UINT) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return fail(ld, key, "expected a whole number, got %s",
			            cstatd_json_type_name(v));
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		val = num;
	} else {
		if (!json_is_string(v))
			return fail(ld, key, "expected %s, got %s",
			            kind == OPT_DURATION ? "a duration string like \"1s\""
			                                 : "a string",
			            cstatd_json_type_name(v));
		val = json_string_value(v);
	}
	if (cstatd_options_set(o, key, val, msg, sizeof(msg)) != 0) {
		/* The table's messages start with "--name: " (or "name: "); the
		 * path is printed already. */
		const char *m = msg;
		size_t kl = strlen(key);
		if (strncmp(m, "--", 2) == 0 && strncmp(m + 2, key, kl) == 0 && m[2 + kl] == ':')
			m += 2 + kl + 1;
		else if (strncmp(m, key, kl) == 0 && m[kl] == ':')
			m += kl + 1;
		while (*m == ' ')
			m++;
		return fail(ld, key, "%s", m);
	}
	return 0;
}

static int parse_windows(struct load *ld, const json_t *v, struct cstatd_config *c)
{
	size_t i;
	json_t *x;

	if (!json_is_array(v))
		return fail(ld, "windows", "expected an array of durations, got %s",
		            cstatd_json_type_name(v));
	if (json_array_size(v) == 0)
		return fail(ld, "windows", "needs at least one window");
	c->n_windows = 0;
	json_array_foreach(v, i, x)
	{
		char p[64];
		uint64_t ms;
		snprintf(p, sizeof(p), "windows[%zu]", i);
		if (!json_is_string(x))
			return fail(ld, p, "expected a duration string like \"5m\", got %s",
			            cstatd_json_type_name(x));
		if (cstatd_parse_duration_ms(json_string_value(x), &ms) != 0 || ms == 0)
			return fail(
			    ld, p, "\"%s\" is not a duration (e.g. 30s, 5m, 1h; units ms, s, m, h)",
			    json_string_value(x));
		if (ms > CSTATD_WINDOW_MAX_MS)
			return fail(ld, p, "longer than 24h");
		bool dup = false;
		for (unsigned k = 0; k < c->n_windows; k++)
			dup |= c->windows_ms[k] == ms;
		if (dup)
			continue;
		if (c->n_windows == CSTATD_WINDOWS_MAX)
			return fail(ld, p, "too many windows (at most %d)", CSTATD_WINDOWS_MAX);
		c->windows_ms[c->n_windows++] = ms;
	}
	return 0;
}

static int parse_am(struct load *ld, const json_t *v, struct cstatd_am_config *am)
{
	static const char *const keys[] = {"url", "resend", "timeout"};
	const char *key;
	json_t *x;

	if (!json_is_object(v))
		return fail(ld, "alertmanager", "expected an object, got %s",
		            cstatd_json_type_name(v));
	json_object_foreach((json_t *)v, key, x)
	{
		char p[320];
		bool known = false;
		for (size_t i = 0; i < 3; i++)
			known |= strcmp(key, keys[i]) == 0;
		snprintf(p, sizeof(p), "alertmanager.%s", key);
		if (!known)
			return fail(ld, p, "unknown key (alertmanager has url, resend, timeout)");
		if (strcmp(key, "url") == 0) {
			size_t n = json_is_array(x) ? json_array_size(x) : 1;
			if (!json_is_string(x) && !json_is_array(x))
				return fail(ld, p,
				            "expected a URL string or an array of them, got %s",
				            cstatd_json_type_name(x));
			if (n > CSTATD_AM_MAX_URLS)
				return fail(ld, p, "too many Alertmanagers (at most %d)",
				            CSTATD_AM_MAX_URLS);
			am->n_urls = 0;
			for (size_t i = 0; i < n; i++) {
				const json_t *u = json_is_array(x) ? json_array_get(x, i) : x;
				char up[400];
				if (json_is_array(x))
					snprintf(up, sizeof(up), "%s[%zu]", p, i);
				else
					snprintf(up, sizeof(up), "%s", p);
				if (!json_is_string(u))
					return fail(ld, up, "expected a URL string, got %s",
					            cstatd_json_type_name(u));
				const char *s = json_string_value(u);
				size_t len = strlen(s);
				if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
					return fail(
					    ld, up,
					    "\"%s\" is not an http:// or https:// URL (e.g. "
					    "http://alertmanager:9093)",
					    s);
				while (len > 0 && s[len - 1] == '/')
					len--;
				if (len >= CSTATD_AM_URL_LEN)
					return fail(ld, up, "too long");
				memcpy(am->urls[am->n_urls], s, len);
				am->urls[am->n_urls][len] = '\0';
				am->n_urls++;
			}
			continue;
		}
		uint64_t ms;
		if (!json_is_string(x))
			return fail(ld, p, "expected a duration string like \"1m\", got %s",
			            cstatd_json_type_name(x));
		if (cstatd_parse_duration_ms(json_string_value(x), &ms) != 0 || ms == 0)
			return fail(
			    ld, p, "\"%s\" is not a duration (e.g. 30s, 5m, 1h; units ms, s, m, h)",
			    json_string_value(x));
		if (strcmp(key, "resend") == 0)
			am->resend_ms = ms;
		else
			am->timeout_ms = ms;
	}
	return 0;
}

static char *read_file(const char *path, size_t *len, char *err, size_t err_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;

	if (!f) {
		snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CSTATD_CONFIG_MAX_BYTES + 1);
	if (!buf) {
		snprintf(err, err_len, "%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, CSTATD_CONFIG_MAX_BYTES + 1, f);
	if (ferror(f)) {
		snprintf(err, err_len, "%s: cannot read: %s", path, strerror(errno));
		free(buf);
		buf = NULL;
	} else if (n > CSTATD_CONFIG_MAX_BYTES) {
		snprintf(err, err_len, "%s: larger than %u bytes", path, CSTATD_CONFIG_MAX_BYTES);
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
		*len = n;
	}
out:
	fclose(f);
	return buf;
}

/* Builds the window layout: configured windows ∪ every rule's window. */
static int build_layout(struct load *ld, struct cstatd_config *c)
{
	uint64_t all[CSTATD_WINDOWS_MAX];
	unsigned n = 0;
	uint64_t iv = c->options.interval;
	char ivs[32], ws[32];

	cstatd_format_duration(iv, ivs, sizeof(ivs));
	for (unsigned k = 0; k < c->n_windows; k++) {
		char p[64];
		snprintf(p, sizeof(p), "windows[%u]", k);
		if (c->windows_ms[k] < 2 * iv) {
			cstatd_format_duration(c->windows_ms[k], ws, sizeof(ws));
			return fail(ld, p, "%s is shorter than two sweeps (interval %s)", ws, ivs);
		}
		all[n++] = c->windows_ms[k];
	}
	for (size_t i = 0; i < c->rules.n; i++) {
		uint64_t w = c->rules.rules[i].window_ms;
		char p[64];
		bool dup = false;
		if (!w)
			continue;
		snprintf(p, sizeof(p), "%s[%zu].window",
		         c->rules_from_file ? "rules" : "default_rules", i);
		if (w < 2 * iv) {
			cstatd_format_duration(w, ws, sizeof(ws));
			return fail(ld, p, "%s is shorter than two sweeps (interval %s)", ws, ivs);
		}
		for (unsigned k = 0; k < n; k++)
			dup |= all[k] == w;
		if (dup)
			continue;
		if (n == CSTATD_WINDOWS_MAX)
			return fail(
			    ld, p,
			    "one window too many: windows and rule windows together may have "
			    "at most %d distinct lengths",
			    CSTATD_WINDOWS_MAX);
		all[n++] = w;
	}
	if (cstatd_window_layout_init(&c->layout, all, n, iv) != 0)
		return fail(ld, "windows", "no valid window layout");
	return 0;
}

int cstatd_config_load(const char *path, int argc, char **argv, struct cstatd_config *out,
                       char *err, size_t err_len)
{
	struct cstatd_config *c = calloc(1, sizeof(*c));
	struct load ld = {.file = path ? path : "command line", .err = err, .err_len = err_len};
	json_t *root = NULL, *rules = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc = -EINVAL;

	if (!c) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	cstatd_options_defaults(&c->options);
	c->n_windows = 3;
	c->windows_ms[0] = 60000;
	c->windows_ms[1] = 300000;
	c->windows_ms[2] = 900000;
	c->alertmanager.resend_ms = 60000;
	c->alertmanager.timeout_ms = 10000;

	if (path) {
		json_error_t jerr;
		const char *key;
		json_t *v;

		snprintf(c->path, sizeof(c->path), "%s", path);
		text = read_file(path, &len, err, err_len);
		if (!text) {
			rc = -EIO;
			goto out;
		}
		root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!root) {
			snprintf(err, err_len, "%s:%d:%d: invalid JSON: %s", path, jerr.line,
			         jerr.column, jerr.text);
			goto out;
		}
		ld.scan = (struct scan){.p = text, .end = text + len, .line = 1, .col = 1};
		scan_value(&ld.scan, "", 0, 0, 0);
		if (ld.scan.oom) {
			snprintf(err, err_len, "%s: out of memory", path);
			rc = -ENOMEM;
			goto out;
		}
		if (!json_is_object(root)) {
			fail(&ld, "", "expected a JSON object at the top, got %s",
			     cstatd_json_type_name(root));
			goto out;
		}
		json_object_foreach(root, key, v)
		{
			if (strcmp(key, "rules") == 0) {
				rules = v;
			} else if (strcmp(key, "windows") == 0) {
				if (parse_windows(&ld, v, c))
					goto out;
			} else if (strcmp(key, "alertmanager") == 0) {
				if (parse_am(&ld, v, &c->alertmanager))
					goto out;
			} else if (apply_option(&ld, &c->options, key, v)) {
				goto out;
			}
		}
		if (rules) {
			struct cstatd_cfg_error e;
			int prc = cstatd_rules_parse(rules, "rules", &c->rules, &e);
			if (prc == -EINVAL) {
				report(&ld, &e);
				goto out;
			}
			if (prc) {
				snprintf(err, err_len, "%s: out of memory", path);
				rc = prc;
				goto out;
			}
			c->rules_from_file = true;
		}
	}
	if (argc > 1) {
		enum cstatd_cli_action action;
		if (cstatd_options_parse(&c->options, argc, argv, &action, err, err_len) != 0)
			goto out;
	}
	if (!c->rules_from_file) {
		int drc = cstatd_rules_defaults(&c->rules);
		if (drc) {
			snprintf(err, err_len, "cannot build the default rules (%s)",
			         strerror(-drc));
			rc = drc;
			goto out;
		}
	}
	if (build_layout(&ld, c))
		goto out;
	*out = *c;
	rc = 0;
out:
	if (rc) {
		cstatd_ruleset_free(&c->rules);
	}
	free(c);
	json_decref(root);
	scan_free(&ld.scan);
	free(text);
	return rc;
}

void cstatd_config_free(struct cstatd_config *cfg)
{
	if (cfg)
		cstatd_ruleset_free(&cfg->rules);
}

/* ======================================================================== */
/* Reload and docs                                                          */
/* ======================================================================== */

unsigned cstatd_config_restart_needed(const struct cstatd_config *a, const struct cstatd_config *b,
                                      char *buf, size_t len)
{
	unsigned n = 0;
	size_t off = 0;

	if (len)
		buf[0] = '\0';
#define X(field, name, metavar, kind, def, min, help)                                           \
	do {                                                                                    \
		bool differs = kind == OPT_STRING || kind == OPT_PATH || kind == OPT_LISTEN     \
		                   ? strcmp((const char *)&a->options.field,                    \
		                            (const char *)&b->options.field) != 0               \
		                   : memcmp(&a->options.field, &b->options.field,               \
		                            sizeof(a->options.field)) != 0;                     \
		if (differs && strcmp(name, "log-level") != 0 && strcmp(name, "config") != 0) { \
			n++;                                                                    \
			if (off < len)                                                          \
				off += (size_t)snprintf(buf + off, len - off, "%s%s",           \
				                        off ? ", " : "", name);                 \
		}                                                                               \
	} while (0);
	CSTATD_OPTIONS(X)
#undef X
	return n;
}

static const char *kind_doc(enum cstatd_opt_kind k)
{
	switch (k) {
	case OPT_FLAG:
		return "boolean";
	case OPT_DURATION:
		return "duration";
	case OPT_LISTEN:
		return "string (`[HOST]:PORT`)";
	case OPT_PATH:
		return "string (path)";
	case OPT_LOGLEVEL:
		return "string (`debug`, `info`, `warn`, `error`)";
	case OPT_STATS:
		return "string (`auto`, `always`, `never`)";
	case OPT_UINT:
		return "integer";
	case OPT_STRING:
		return "string";
	}
	return "string";
}

static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else
			fputc(*s, out);
	}
}

void cstatd_config_print_markdown(FILE *out)
{
	fprintf(out, "| key | type | default | meaning |\n|---|---|---|---|\n");
#define X(field, name, metavar, kind, def, min, help)                 \
	if (strcmp(name, "config") != 0) {                            \
		fprintf(out, "| `%s` | %s | ", name, kind_doc(kind)); \
		if (kind == OPT_FLAG)                                 \
			fprintf(out, "`false`");                      \
		else if (((const char *)def)[0])                      \
			fprintf(out, "`%s`", (const char *)def);      \
		else                                                  \
			fprintf(out, "(none)");                       \
		fputs(" | ", out);                                    \
		md_cell(out, help);                                   \
		fputs(" |\n", out);                                   \
	}
	CSTATD_OPTIONS(X)
#undef X
	fprintf(
	    out,
	    "| `windows` | array of durations | `[\"1m\", \"5m\", \"15m\"]` | rolling windows kept "
	    "per container; every rule's window is added (at most %d distinct, each at least "
	    "two intervals, at most 24h) |\n",
	    CSTATD_WINDOWS_MAX);
	fprintf(out, "| `rules` | array of rules | the default rule set | alert rules, see "
	             "[alerts.md](alerts.md); `[]` disables alerting |\n");
	fprintf(out,
	        "| `alertmanager.url` | string or array of strings | (none) | Alertmanager base "
	        "URL(s), e.g. `http://alertmanager:9093`; alerts are posted to every one (at "
	        "most %d) |\n",
	        CSTATD_AM_MAX_URLS);
	fprintf(out, "| `alertmanager.resend` | duration | `1m` | how often firing alerts are "
	             "re-posted (endsAt = now + 4 × max(resend, interval)) |\n");
	fprintf(out, "| `alertmanager.timeout` | duration | `10s` | timeout of one post |\n");
}
