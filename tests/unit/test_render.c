/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for exporters/prometheus/render.c: the text 0.0.4 and
 * OpenMetrics 1.0 expositions of a store, and their gzip copies.
 *
 * The store below holds a few hand-made containers (one with every sample
 * bit, one with nothing, one whose identity is full of characters that need
 * escaping, one known to Docker, one with every limit at `max`, a raw
 * cgroup). Each body is run through a small exposition parser written here
 * that enforces the rules Prometheus and promtool enforce (docs PART B):
 * HELP/TYPE once per family and before its samples, families contiguous,
 * no duplicate series, no timestamps, only the legal escapes, valid UTF-8,
 * OpenMetrics' `# EOF`. Values are then checked exactly.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "cstatd/devnames.h"
#include "cstatd/snapshot.h"
#include "cstatd/store.h"
#include "exporters/prometheus/families.h"
#include "exporters/prometheus/render.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* U+FFFD REPLACEMENT CHARACTER, as the renderer writes it. */
#define FFFD "\xEF\xBF\xBD"

/* ======================================================================== */
/* Strict UTF-8 (what Go's utf8.Valid accepts)                              */
/* ======================================================================== */

/* Returns the offset of the first invalid byte, or n when all is valid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (i + len > n)
			return i;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += len;
	}
	return n;
}

/* ======================================================================== */
/* A small exposition parser                                                */
/* ======================================================================== */

struct label {
	char *name;
	char *value; /* unescaped */
};

struct family {
	char *name;
	char *type;
	char *help; /* unescaped */
	char *help_raw;
	int help_line, type_line;
	size_t nsamples;
};

struct sample {
	char *name;
	size_t family;
	struct label *labels;
	size_t nlabels;
	char *value;
	char *line; /* the raw line, without '\n' */
	char *key;  /* name + sorted labels, for duplicate detection */
	int lineno;
};

struct expo {
	bool om;
	struct family *fams;
	size_t nfams;
	struct sample *smps;
	size_t nsmps, cap;
	char *text; /* NUL-terminated copy of the body */
	size_t len;
};

#define PFAIL(lineno, line, ...)                                                  \
	do {                                                                      \
		char msg_[512];                                                   \
		snprintf(msg_, sizeof(msg_), __VA_ARGS__);                        \
		fail_msg("%s exposition, line %d: %s\n  line: %.300s",            \
		         e->om ? "OpenMetrics" : "text", (lineno), msg_, (line)); \
	} while (0)

static char *xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	assert_non_null(p);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static bool is_name_start(char c, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static bool is_name_char(char c, bool colon)
{
	return is_name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*, but an exporter emits no ':'. */
static size_t scan_name(const char *p, bool colon)
{
	size_t n = 0;
	if (!is_name_start(p[0], colon))
		return 0;
	while (is_name_char(p[n], colon))
		n++;
	return n;
}

/* Unescapes a HELP docstring: 0.0.4 knows \\ and \n; OpenMetrics also \".
 * Returns NULL on an illegal escape. */
static char *unescape_help(const char *s, bool om)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1), *o = out;
	assert_non_null(out);
	for (; *s; s++) {
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		s++;
		if (*s == '\\')
			*o++ = '\\';
		else if (*s == 'n')
			*o++ = '\n';
		else if (*s == '"' && om)
			*o++ = '"';
		else {
			free(out);
			return NULL;
		}
	}
	*o = '\0';
	return out;
}

static struct family *family_for(struct expo *e, const char *name, size_t n, int lineno,
                                 const char *line, size_t *cur)
{
	if (*cur != SIZE_MAX && strlen(e->fams[*cur].name) == n &&
	    strncmp(e->fams[*cur].name, name, n) == 0)
		return &e->fams[*cur];
	for (size_t i = 0; i < e->nfams; i++)
		if (strlen(e->fams[i].name) == n && strncmp(e->fams[i].name, name, n) == 0)
			PFAIL(lineno, line, "family %s reappears after family %s started (line %d)",
			      e->fams[i].name, e->fams[*cur].name, e->fams[i].type_line);
	e->fams = realloc(e->fams, (e->nfams + 1) * sizeof(*e->fams));
	assert_non_null(e->fams);
	struct family *f = &e->fams[e->nfams];
	memset(f, 0, sizeof(*f));
	f->name = xstrndup(name, n);
	*cur = e->nfams++;
	return f;
}

static int cmp_labels(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sample name a family's samples must carry in this format. */
static void sample_name_for(const struct expo *e, const struct family *f, char *out, size_t len)
{
	if (e->om && strcmp(f->type, "counter") == 0)
		snprintf(out, len, "%s_total", f->name);
	else if (e->om && strcmp(f->type, "info") == 0)
		snprintf(out, len, "%s_info", f->name);
	else
		snprintf(out, len, "%s", f->name);
}

static bool valid_value(const char *v)
{
	if (strcmp(v, "NaN") == 0 || strcmp(v, "+Inf") == 0 || strcmp(v, "-Inf") == 0)
		return true;
	if (!*v)
		return false;
	/* Go's ParseFloat takes decimal and exponent forms; C's strtod also
	 * takes hex, inf and nan spellings, which Go does not: reject those. */
	for (const char *p = v; *p; p++)
		if (!strchr("0123456789.eE+-", *p))
			return false;
	char *end;
	errno = 0;
	(void)strtod(v, &end);
	return *end == '\0' && errno == 0;
}

static void parse_sample(struct expo *e, char *line, int lineno, size_t cur)
{
	size_t n = scan_name(line, false);
	if (n == 0)
		PFAIL(lineno, line, "bad metric name");
	if (cur == SIZE_MAX)
		PFAIL(lineno, line, "sample before any # TYPE line");
	struct family *f = &e->fams[cur];
	if (!f->help || !f->type)
		PFAIL(lineno, line, "sample of %s before its HELP and TYPE", f->name);
	char want[256];
	sample_name_for(e, f, want, sizeof(want));
	bool ok = strlen(want) == n && strncmp(line, want, n) == 0;
	if (!ok && strcmp(f->type, "histogram") == 0) {
		/* A histogram's samples are <family>_bucket, _sum and _count. */
		static const char *const sfx[] = {"_bucket", "_sum", "_count"};
		size_t fl = strlen(f->name);
		for (int i = 0; i < 3 && !ok; i++)
			ok = n == fl + strlen(sfx[i]) && strncmp(line, f->name, fl) == 0 &&
			     strncmp(line + fl, sfx[i], strlen(sfx[i])) == 0;
	}
	if (!ok)
		PFAIL(lineno, line,
		      "sample outside its family (current family %s, type %s, wants %s)", f->name,
		      f->type, want);

	if (e->nsmps == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 256;
		e->smps = realloc(e->smps, e->cap * sizeof(*e->smps));
		assert_non_null(e->smps);
	}
	struct sample *s = &e->smps[e->nsmps++];
	memset(s, 0, sizeof(*s));
	s->name = xstrndup(line, n);
	s->family = cur;
	s->line = strdup(line);
	s->lineno = lineno;
	f->nsamples++;

	const char *p = line + n;
	if (*p == '{') {
		p++;
		if (*p == '}')
			PFAIL(lineno, line, "empty label set '{}'");
		for (;;) {
			size_t ln = scan_name(p, false);
			if (ln == 0)
				PFAIL(lineno, line, "bad label name at '%.20s'", p);
			if (ln >= 2 && p[0] == '_' && p[1] == '_')
				PFAIL(lineno, line, "reserved label name");
			char *lname = xstrndup(p, ln);
			p += ln;
			if (p[0] != '=' || p[1] != '"')
				PFAIL(lineno, line, "expected =\" after label %s", lname);
			p += 2;
			char *val = malloc(strlen(p) + 1), *o = val;
			assert_non_null(val);
			while (*p && *p != '"') {
				if (*p == '\\') {
					p++;
					if (*p == '\\' || *p == '"')
						*o++ = *p;
					else if (*p == 'n')
						*o++ = '\n';
					else
						PFAIL(lineno, line,
						      "invalid escape '\\%c' in label %s", *p,
						      lname);
					p++;
				} else {
					*o++ = *p++;
				}
			}
			*o = '\0';
			if (*p != '"')
				PFAIL(lineno, line, "unterminated value of label %s", lname);
			p++;
			s->labels = realloc(s->labels, (s->nlabels + 1) * sizeof(*s->labels));
			assert_non_null(s->labels);
			s->labels[s->nlabels].name = lname;
			s->labels[s->nlabels].value = val;
			s->nlabels++;
			if (*p == ',') {
				p++;
				if (*p == '}')
					PFAIL(lineno, line, "trailing comma in label set");
				continue;
			}
			if (*p == '}') {
				p++;
				break;
			}
			PFAIL(lineno, line, "expected , or } after label %s", lname);
		}
	}
	if (*p != ' ')
		PFAIL(lineno, line, "expected exactly one space before the value");
	p++;
	if (strchr(p, ' ') || strchr(p, '\t'))
		PFAIL(lineno, line, "more than one token after the labels (timestamp?)");
	if (!valid_value(p))
		PFAIL(lineno, line, "value '%s' is not a Go float", p);
	s->value = strdup(p);
	if (e->om && strcmp(f->type, "counter") == 0 && (strcmp(p, "NaN") == 0 || p[0] == '-'))
		PFAIL(lineno, line, "counter value must be a non-negative number");
	if (e->om && strcmp(f->type, "info") == 0 && strcmp(p, "1") != 0)
		PFAIL(lineno, line, "info value must be 1");

	/* Canonical key; duplicate label names are an error. */
	if (s->nlabels)
		qsort(s->labels, s->nlabels, sizeof(*s->labels), cmp_labels);
	size_t klen = strlen(s->name) + 2;
	for (size_t i = 0; i < s->nlabels; i++) {
		if (i && strcmp(s->labels[i].name, s->labels[i - 1].name) == 0)
			PFAIL(lineno, line, "duplicate label name %s", s->labels[i].name);
		klen += strlen(s->labels[i].name) + strlen(s->labels[i].value) + 3;
	}
	s->key = malloc(klen);
	assert_non_null(s->key);
	char *k = s->key;
	k += sprintf(k, "%s\x01", s->name);
	for (size_t i = 0; i < s->nlabels; i++)
		k += sprintf(k, "%s=%s\x01", s->labels[i].name, s->labels[i].value);
}

/* Parses (and validates) a whole body; fails the test on any violation. */
static void expo_parse(struct expo *e, const char *data, size_t len, bool om)
{
	memset(e, 0, sizeof(*e));
	e->om = om;
	assert_true(len > 0);
	e->text = xstrndup(data, len);
	e->len = len;
	if (memchr(data, '\0', len))
		fail_msg("body contains a NUL byte");
	if (memchr(data, '\r', len))
		fail_msg("body contains a carriage return");
	if (data[len - 1] != '\n')
		fail_msg("body does not end with a newline");
	size_t bad = utf8_invalid_at((const unsigned char *)data, len);
	if (bad != len)
		fail_msg("body is not valid UTF-8 at byte %zu: ...%.80s", bad,
		         e->text + (bad > 40 ? bad - 40 : 0));

	size_t cur = SIZE_MAX;
	bool eof = false;
	int lineno = 0;
	char *save = NULL;
	char *copy = xstrndup(data, len);
	/* strtok_r would merge empty lines; split by hand. */
	for (char *line = copy; *line; line = save) {
		char *nl = strchr(line, '\n');
		*nl = '\0';
		save = nl + 1;
		lineno++;
		if (eof)
			PFAIL(lineno, line, "content after # EOF");
		if (!*line)
			PFAIL(lineno, line, "empty line");
		if (line[0] != '#') {
			parse_sample(e, line, lineno, cur);
			continue;
		}
		if (om && strcmp(line, "# EOF") == 0) {
			eof = true;
			continue;
		}
		bool help = strncmp(line, "# HELP ", 7) == 0;
		bool type = strncmp(line, "# TYPE ", 7) == 0;
		if (!help && !type)
			PFAIL(lineno, line, "comment line that is neither HELP nor TYPE");
		const char *name = line + 7;
		size_t n = scan_name(name, false);
		if (n == 0 || name[n] != ' ')
			PFAIL(lineno, line, "bad metric name in metadata");
		struct family *f = family_for(e, name, n, lineno, line, &cur);
		if (f->nsamples)
			PFAIL(lineno, line, "metadata after samples of %s", f->name);
		const char *rest = name + n + 1;
		if (help) {
			if (f->help)
				PFAIL(lineno, line, "second HELP for %s", f->name);
			f->help = unescape_help(rest, om);
			if (!f->help)
				PFAIL(lineno, line, "invalid escape in HELP");
			f->help_raw = strdup(rest);
			f->help_line = lineno;
		} else {
			if (f->type)
				PFAIL(lineno, line, "second TYPE for %s", f->name);
			static const char *const text_types[] = {"counter", "gauge", "histogram",
			                                         "summary", "untyped"};
			static const char *const om_types[] = {
			    "counter",  "gauge", "histogram", "gaugehistogram",
			    "stateset", "info",  "summary",   "unknown"};
			const char *const *types = om ? om_types : text_types;
			size_t nt = om ? ARRAY_SIZE(om_types) : ARRAY_SIZE(text_types);
			bool ok = false;
			for (size_t i = 0; i < nt; i++)
				ok |= strcmp(rest, types[i]) == 0;
			if (!ok)
				PFAIL(lineno, line, "unknown type '%s'", rest);
			f->type = strdup(rest);
			f->type_line = lineno;
		}
	}
	free(copy);
	if (om && !eof)
		fail_msg("OpenMetrics body does not end with # EOF");
	if (om && (len < 6 || strcmp(e->text + len - 6, "# EOF\n") != 0))
		fail_msg("OpenMetrics body does not end with \"# EOF\\n\"");
	for (size_t i = 0; i < e->nfams; i++)
		if (!e->fams[i].help || !e->fams[i].type)
			fail_msg("family %s lacks %s", e->fams[i].name,
			         e->fams[i].help ? "TYPE" : "HELP");

	/* No duplicate series. */
	char **keys = malloc((e->nsmps + 1) * sizeof(*keys));
	assert_non_null(keys);
	for (size_t i = 0; i < e->nsmps; i++)
		keys[i] = e->smps[i].key;
	if (e->nsmps)
		qsort(keys, e->nsmps, sizeof(*keys), cmp_str);
	for (size_t i = 1; i < e->nsmps; i++) {
		if (strcmp(keys[i], keys[i - 1]) == 0) {
			for (char *c = keys[i]; *c; c++)
				if (*c == '\x01')
					*c = ' ';
			fail_msg("duplicate series: %s", keys[i]);
		}
	}
	free(keys);
}

static void expo_free(struct expo *e)
{
	for (size_t i = 0; i < e->nfams; i++) {
		free(e->fams[i].name);
		free(e->fams[i].type);
		free(e->fams[i].help);
		free(e->fams[i].help_raw);
	}
	for (size_t i = 0; i < e->nsmps; i++) {
		struct sample *s = &e->smps[i];
		for (size_t k = 0; k < s->nlabels; k++) {
			free(s->labels[k].name);
			free(s->labels[k].value);
		}
		free(s->labels);
		free(s->name);
		free(s->value);
		free(s->line);
		free(s->key);
	}
	free(e->fams);
	free(e->smps);
	free(e->text);
	memset(e, 0, sizeof(*e));
}

static const char *label_of(const struct sample *s, const char *name)
{
	for (size_t k = 0; k < s->nlabels; k++)
		if (strcmp(s->labels[k].name, name) == 0)
			return s->labels[k].value;
	return NULL;
}

/* Samples named `metric` whose labels include every (k, v) pair given. */
static size_t vmatch(const struct expo *e, const char *metric, va_list ap,
                     const struct sample **last)
{
	const char *pairs[16][2];
	size_t np = 0;
	for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
		assert_true(np < ARRAY_SIZE(pairs));
		pairs[np][0] = k;
		pairs[np][1] = va_arg(ap, const char *);
		np++;
	}
	size_t hits = 0;
	for (size_t i = 0; i < e->nsmps; i++) {
		const struct sample *s = &e->smps[i];
		if (strcmp(s->name, metric) != 0)
			continue;
		bool ok = true;
		for (size_t j = 0; j < np && ok; j++) {
			const char *v = label_of(s, pairs[j][0]);
			ok = v && strcmp(v, pairs[j][1]) == 0;
		}
		if (ok) {
			hits++;
			*last = s;
		}
	}
	return hits;
}

/* Exactly one matching sample, with this value. Pairs end with NULL. */
static void expect(const struct expo *e, const char *value, const char *metric, ...)
{
	va_list ap;
	const struct sample *s = NULL;
	va_start(ap, metric);
	size_t hits = vmatch(e, metric, ap, &s);
	va_end(ap);
	if (hits != 1)
		fail_msg("%s: %zu matching samples, want 1%s%s", metric, hits, s ? " (e.g. " : "",
		         s ? s->line : "");
	if (strcmp(s->value, value) != 0)
		fail_msg("%s = %s, want %s\n  line: %s", metric, s->value, value, s->line);
}

/* No matching sample. */
static void expect_none(const struct expo *e, const char *metric, ...)
{
	va_list ap;
	const struct sample *s = NULL;
	va_start(ap, metric);
	size_t hits = vmatch(e, metric, ap, &s);
	va_end(ap);
	if (hits != 0)
		fail_msg("%s: want no sample, found %zu, e.g. %s", metric, hits, s->line);
}

static size_t count_of(const struct expo *e, const char *metric, ...)
{
	va_list ap;
	const struct sample *s = NULL;
	va_start(ap, metric);
	size_t hits = vmatch(e, metric, ap, &s);
	va_end(ap);
	return hits;
}

/* The body contains this exact line. */
static void expect_line(const struct expo *e, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = e->text; (p = strstr(p, line)) != NULL; p++)
		if ((p == e->text || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("missing line:\n  %s", line);
}

static const struct family *find_family(const struct expo *e, const char *name)
{
	for (size_t i = 0; i < e->nfams; i++)
		if (strcmp(e->fams[i].name, name) == 0)
			return &e->fams[i];
	return NULL;
}

/* ======================================================================== */
/* The store under test                                                     */
/* ======================================================================== */

#define ID_WEB "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_WEIRD "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff"
#define ID_DB "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
#define ID_FREE "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0"
#define KEY_EMPTY "cg:00000000deadbeef"
#define KEY_CRON "cg:0000000000c0ffee"

/* Identity strings with every character class that needs care. Raw: */
#define WEIRD_NAME        \
	"we\"ird\\na\nme" \
	"\xff\xfe-\x80-\xc3\xa9-\xf0\x9f\x98\x80-\xe2\x82"
#define WEIRD_IMAGE                      \
	"img\\with\"quotes\nand\xc0\xaf" \
	"bad"
#define WEIRD_ID "/kubepods/we\"ird\\pod"
#define WEIRD_LABEL "a\"b\\c\nd"
#define WEIRD_IFNAME "q\"x\\y"
/* ... and as they must appear between the quotes of a label value: */
#define WEIRD_NAME_ESC \
	"we\\\"ird\\\\na\\nme" FFFD FFFD "-" FFFD "-\xc3\xa9-\xf0\x9f\x98\x80-" FFFD FFFD
#define WEIRD_IMAGE_ESC "img\\\\with\\\"quotes\\nand" FFFD FFFD "bad"
#define WEIRD_ID_ESC "/kubepods/we\\\"ird\\\\pod"
#define WEIRD_LABEL_ESC "a\\\"b\\\\c\\nd"
#define WEIRD_IFNAME_ESC "q\\\"x\\\\y"
/* ... and after unescaping (what Prometheus stores): */
#define WEIRD_NAME_VAL "we\"ird\\na\nme" FFFD FFFD "-" FFFD "-\xc3\xa9-\xf0\x9f\x98\x80-" FFFD FFFD
#define WEIRD_IMAGE_VAL "img\\with\"quotes\nand" FFFD FFFD "bad"

#define WEB_LABELS "id=\"/system.slice/docker-" ID_WEB ".scope\",image=\"nginx:1.25\",name=\"web\""
#define DB_LABELS                                                                        \
	"id=\"/system.slice/docker-" ID_DB ".scope\",image=\"postgres:16\",name=\"db\"," \
	"container_label_com_docker_compose_project=\"shop\","                           \
	"container_label_com_docker_compose_service=\"db\""
#define FREE_LABELS "id=\"/docker/" ID_FREE "\",image=\"busybox\",name=\"free\""

static char sysroot[256];

/* A fake /sys with two resolvable block devices (8:0 sda, 253:1 dm-1). */
static void make_sysroot(void)
{
	char path[512];
	snprintf(sysroot, sizeof(sysroot), "/tmp/cstatd-test-render-XXXXXX");
	assert_non_null(mkdtemp(sysroot));
	static const struct {
		const char *dev, *name;
	} devs[] = {{"8:0", "sda"}, {"253:1", "dm-1"}};
	snprintf(path, sizeof(path), "%s/dev", sysroot);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/dev/block", sysroot);
	assert_int_equal(mkdir(path, 0700), 0);
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++) {
		snprintf(path, sizeof(path), "%s/dev/block/%s", sysroot, devs[i].dev);
		assert_int_equal(mkdir(path, 0700), 0);
		snprintf(path, sizeof(path), "%s/dev/block/%s/uevent", sysroot, devs[i].dev);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "MAJOR=%.*s\nDEVNAME=%s\nDEVTYPE=disk\n", (int)strcspn(devs[i].dev, ":"),
		        devs[i].dev, devs[i].name);
		fclose(f);
	}
	cstatd_devnames_init(sysroot);
}

static void remove_sysroot(void)
{
	static const char *const devs[] = {"8:0", "253:1"};
	char path[512];
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++) {
		snprintf(path, sizeof(path), "%s/dev/block/%s/uevent", sysroot, devs[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/dev/block/%s", sysroot, devs[i]);
		rmdir(path);
	}
	snprintf(path, sizeof(path), "%s/dev/block", sysroot);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/dev", sysroot);
	rmdir(path);
	rmdir(sysroot);
}

static void set_if(struct cstatd_net_if *n, const char *name, uint64_t base)
{
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->rx_bytes = base + 1;
	n->rx_packets = base + 2;
	n->rx_errors = base + 3;
	n->rx_dropped = base + 4;
	n->tx_bytes = base + 5;
	n->tx_packets = base + 6;
	n->tx_errors = base + 7;
	n->tx_dropped = base + 8;
}

static void fill_web(struct cstatd_container *c)
{
	cstatd_container_setf(&c->id_label, "/system.slice/docker-%s.scope", ID_WEB);
	cstatd_container_setf(&c->name, "web");
	cstatd_container_setf(&c->image, "nginx:1.25");
	snprintf(c->runtime, sizeof(c->runtime), "docker");
	c->is_container = true;
	c->start_time = 1700000000.5;
	c->last_seen = 1700000100.25;
	c->sources = CSTATD_SRC_CGROUP;

	struct cstatd_sample *s = &c->s;
	s->have = 0x3FFFFFu & ~(uint32_t)CSTATD_HAVE_WORKING_SET; /* every bit but Docker's */
	s->cpu.usage_usec = 1234567;
	s->cpu.user_usec = 1000000;
	s->cpu.system_usec = 234567;
	s->cpu.nr_periods = 100;
	s->cpu.nr_throttled = 7;
	s->cpu.throttled_usec = 5000001;
	s->cpu.has_bandwidth = true;
	s->cpu_max.quota_usec = 50000;
	s->cpu_max.period_usec = 100000;
	s->cpu_weight = 100;
	s->mem_current = 1000000;
	s->mem_max = 2147483648ull;
	s->mem_high = 2000000000ull;
	s->mem_peak = 1500000;
	s->swap_current = 4096;
	s->swap_max = 1073741824ull;
	s->working_set = 999; /* ignored: no CSTATD_HAVE_WORKING_SET */
	s->mem.anon = 400000;
	s->mem.file = 500000;
	s->mem.file_mapped = 12288;
	s->mem.inactive_file = 300000;
	s->mem.active_file = 200000;
	s->mem.pgfault = 123456;
	s->mem.pgmajfault = 78;
	s->mem_events.high = 3;
	s->mem_events.max = 4;
	s->mem_events.oom = 2;
	s->mem_events.oom_kill = 2;
	struct cstatd_io_stat io = {.n_devices = 3};
	io.dev[0] = (struct cstatd_io_device){8, 0, 4096, 8192, 10, 20, 0, 0};
	io.dev[1] = (struct cstatd_io_device){253, 1, 1, 2, 3, 4, 0, 0};
	io.dev[2] = (struct cstatd_io_device){259, 7, 5, 6, 7, 8, 0, 0}; /* not in sysfs */
	assert_int_equal(cstatd_sample_set_io(s, &io), 0);
	s->pids_current = 12;
	s->pids_max = 100;
	s->psi_cpu = (struct cstatd_psi){
	    .has_some = true, .has_full = true, .some_total_usec = 1500000, .full_total_usec = 250};
	s->psi_mem =
	    (struct cstatd_psi){.has_some = true, .has_full = false, .some_total_usec = 42};
	s->psi_io = (struct cstatd_psi){.has_some = true,
	                                .has_full = true,
	                                .some_total_usec = 3000000,
	                                .full_total_usec = 2000000};
	s->events.populated = true;
	s->events.frozen = false;
	s->processes = 5;
	s->first_pid = 4242;
	struct cstatd_netdev net = {.n_ifs = 2};
	set_if(&net.ifs[0], "eth0", 1000);
	set_if(&net.ifs[1], "eth1", 2000);
	assert_int_equal(cstatd_sample_set_net(s, &net), 0);
	c->oom_kills_total = 2;
}

static void fill_weird(struct cstatd_container *c)
{
	cstatd_container_setf(&c->id_label, "%s", WEIRD_ID);
	cstatd_container_setf(&c->name, "%s", WEIRD_NAME);
	cstatd_container_setf(&c->image, "%s", WEIRD_IMAGE);
	snprintf(c->runtime, sizeof(c->runtime), "containerd");
	c->is_container = true;
	c->sources = CSTATD_SRC_CGROUP;
	c->s.have = CSTATD_HAVE_CPU_STAT | CSTATD_HAVE_NETDEV;
	c->s.cpu.usage_usec = 1;
	struct cstatd_netdev net = {.n_ifs = 1};
	set_if(&net.ifs[0], WEIRD_IFNAME, 0);
	assert_int_equal(cstatd_sample_set_net(&c->s, &net), 0);
	struct cstatd_label lab = {.key = "team", .value = WEIRD_LABEL};
	assert_int_equal(cstatd_container_set_labels(c, &lab, 1), 0);
}

static void fill_db(struct cstatd_container *c)
{
	cstatd_container_setf(&c->id_label, "/system.slice/docker-%s.scope", ID_DB);
	cstatd_container_setf(&c->name, "db");
	cstatd_container_setf(&c->image, "postgres:16");
	snprintf(c->runtime, sizeof(c->runtime), "docker");
	c->is_container = true;
	c->sources = CSTATD_SRC_CGROUP | CSTATD_SRC_DOCKER;
	c->start_time = 1699999999;
	c->s.have = CSTATD_HAVE_WORKING_SET | CSTATD_HAVE_MEM_CURRENT | CSTATD_HAVE_MEM_STAT |
	            CSTATD_HAVE_CPU_STAT | CSTATD_HAVE_PIDS_CURRENT | CSTATD_HAVE_PIDS_MAX |
	            CSTATD_HAVE_MEM_EVENTS;
	c->s.working_set = 555;
	c->s.mem_current = 1000;
	c->s.mem.inactive_file = 100;
	c->s.cpu.usage_usec = 999999;
	c->s.pids_current = 3;
	c->s.pids_max = 4096;
	c->s.mem_events.oom_kill = 1;
	c->oom_kills_total = 3; /* memory.events 1 + 2 seen only through Docker */

	struct cstatd_docker_info *d = &c->docker;
	d->known = true;
	snprintf(d->image_id, sizeof(d->image_id), "sha256:0123abcd");
	snprintf(d->compose_project, sizeof(d->compose_project), "shop");
	snprintf(d->compose_service, sizeof(d->compose_service), "db");
	struct cstatd_label lab[2] = {{.key = "com_docker_compose_project", .value = "shop"},
	                              {.key = "com_docker_compose_service", .value = "db"}};
	assert_int_equal(cstatd_container_set_labels(c, lab, 2), 0);
	d->state = CSTATD_STATE_RUNNING;
	d->health = CSTATD_HEALTH_STARTING;
	d->pid = 777;
	d->has_exit_code = true;
	d->last_exit_code = 137;
	d->restarts_total = 3;
	d->oom_kills_docker = 2;
	d->risks_known = true;
	d->risks = CSTATD_RISK_PRIVILEGED | CSTATD_RISK_NO_MEMORY_LIMIT;
}

static void fill_free(struct cstatd_container *c)
{
	/* No id_label: the renderer falls back to /docker/<id>. */
	cstatd_container_setf(&c->name, "free");
	cstatd_container_setf(&c->image, "busybox");
	snprintf(c->runtime, sizeof(c->runtime), "docker");
	c->is_container = true;
	c->sources = CSTATD_SRC_CGROUP;
	struct cstatd_sample *s = &c->s;
	s->have = CSTATD_HAVE_CPU_STAT | CSTATD_HAVE_CPU_BANDWIDTH | CSTATD_HAVE_CPU_MAX |
	          CSTATD_HAVE_CPU_WEIGHT | CSTATD_HAVE_MEM_CURRENT | CSTATD_HAVE_MEM_MAX |
	          CSTATD_HAVE_MEM_HIGH | CSTATD_HAVE_MEM_STAT | CSTATD_HAVE_SWAP_MAX |
	          CSTATD_HAVE_PIDS_CURRENT | CSTATD_HAVE_PIDS_MAX;
	s->cpu.usage_usec = 7;
	s->cpu.nr_periods = 0;
	s->cpu_max.quota_usec = CSTATD_UNLIMITED;
	s->cpu_max.period_usec = 100000;
	s->cpu_weight = 10000;
	s->mem_current = 100;
	s->mem.inactive_file = 500; /* > usage: working set floors at 0 */
	s->mem_max = CSTATD_UNLIMITED;
	s->mem_high = CSTATD_UNLIMITED;
	s->swap_max = CSTATD_UNLIMITED;
	s->pids_current = 1;
	s->pids_max = CSTATD_UNLIMITED;
}

static void fill_cron(struct cstatd_container *c)
{
	/* A raw cgroup (--all-cgroups). */
	cstatd_container_setf(&c->id_label, "/system.slice/cron.service");
	cstatd_container_setf(&c->name, "/system.slice/cron.service");
	c->is_container = false;
	c->sources = CSTATD_SRC_CGROUP;
	c->s.have = CSTATD_HAVE_CPU_STAT | CSTATD_HAVE_CG_EVENTS | CSTATD_HAVE_MEM_EVENTS;
	c->s.cpu.usage_usec = 3000000;
	c->s.events.frozen = true;
	c->s.mem_events.oom_kill = 9;
}

static struct cstatd_store *build_store(void)
{
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	struct cstatd_container *c;
	assert_non_null(c = cstatd_store_add(st, ID_WEB));
	fill_web(c);
	assert_non_null(c = cstatd_store_add(st, KEY_EMPTY)); /* nothing at all */
	assert_non_null(c = cstatd_store_add(st, ID_WEIRD));
	fill_weird(c);
	assert_non_null(c = cstatd_store_add(st, ID_DB));
	fill_db(c);
	assert_non_null(c = cstatd_store_add(st, ID_FREE));
	fill_free(c);
	assert_non_null(c = cstatd_store_add(st, KEY_CRON));
	fill_cron(c);
	return st;
}

/* Three sweeps observed: 0.0003 s, 0.0125 s and 3 s (beyond the last bound). */
static const struct sweep_histogram sweeps = {
	.counts = {[0] = 1, [5] = 1, [SWEEP_BUCKETS] = 1}, .count = 3, .sum = 3.0128};
static const struct render_self self = {.last_sweep_seconds = 0.0125,
                                        .sweeps = &sweeps,
                                        .process_start_time = 1700000000};

/* Renders `st` into a fresh snapshot; returns it (caller publishes or not). */
static struct cstatd_snapshot *render(struct renderer *r, struct cstatd_store *st, int *rc_out)
{
	struct cstatd_snapshot *snap = cstatd_snapshot_begin();
	assert_non_null(snap);
	int rc = renderer_render(r, st, &self, snap);
	if (rc_out)
		*rc_out = rc;
	else if (rc != 0)
		fail_msg("renderer_render: %d", rc);
	/* Publishing makes the next begin() hand out another snapshot. */
	cstatd_snapshot_publish(snap);
	return snap;
}

/* The body of a variant as a client gets it (OpenMetrics is served as
 * pieces of the text body: put together here). Caller frees. */
static struct cstatd_buf flat(const struct cstatd_snapshot *snap, enum cstatd_variant v)
{
	struct cstatd_buf b;
	cstatd_buf_init(&b, (size_t)256 << 20);
	assert_int_equal(render_flatten(snap, v, &b), 0);
	return b;
}

static void parse_variant(struct expo *e, const struct cstatd_snapshot *snap, enum cstatd_variant v)
{
	assert_true(snap->has[v]);
	struct cstatd_buf b = flat(snap, v);
	expo_parse(e, b.data, b.len, v == CSTATD_BODY_OM);
	cstatd_buf_free(&b);
}

/* ======================================================================== */
/* Checks shared by the text and OpenMetrics bodies                         */
/* ======================================================================== */

/* Every family of the table, in table order, with its HELP and TYPE. */
static void check_families(const struct expo *e)
{
	if (e->nfams != FAM_COUNT)
		fail_msg("%zu families in the body, %d in the table", e->nfams, FAM_COUNT);
	for (int i = 0; i < FAM_COUNT; i++) {
		const struct fam_def *d = &cstatd_families[i];
		const struct family *f = &e->fams[i];
		char want_name[256];
		const char *want_type = d->type == FAM_COUNTER     ? "counter"
		                        : d->type == FAM_HISTOGRAM ? "histogram"
		                                                   : "gauge";
		snprintf(want_name, sizeof(want_name), "%s", d->name);
		size_t n = strlen(want_name);
		if (e->om && d->type == FAM_COUNTER) {
			assert_true(n > 6 && strcmp(want_name + n - 6, "_total") == 0);
			want_name[n - 6] = '\0';
		} else if (e->om && n > 5 && strcmp(want_name + n - 5, "_info") == 0) {
			want_name[n - 5] = '\0';
			want_type = "info";
		}
		if (strcmp(f->name, want_name) != 0)
			fail_msg("family #%d is %s, want %s", i, f->name, want_name);
		if (strcmp(f->type, want_type) != 0)
			fail_msg("family %s has TYPE %s, want %s", f->name, f->type, want_type);
		if (strcmp(f->help, d->help) != 0)
			fail_msg("family %s: HELP reads back as\n  %s\nwant\n  %s", f->name,
			         f->help, d->help);
		/* Text 0.0.4 names counters with _total; non-counters never end in it. */
		if (!e->om) {
			bool total = n > 6 && strcmp(d->name + n - 6, "_total") == 0;
			if (total != (d->type == FAM_COUNTER))
				fail_msg("family %s: _total suffix does not match its type",
				         d->name);
		}
	}
}

#define CPU "container_cpu_usage_seconds_total"

static void check_values(const struct expo *e)
{
	/* ---- web: every bit ------------------------------------------------ */
	expect_line(e, CPU "{" WEB_LABELS ",cpu=\"total\"} 1.234567");
	expect(e, "1.000000", "container_cpu_user_seconds_total", "name", "web", NULL);
	expect(e, "0.234567", "container_cpu_system_seconds_total", "name", "web", NULL);
	expect(e, "100", "container_cpu_cfs_periods_total", "name", "web", NULL);
	expect(e, "7", "container_cpu_cfs_throttled_periods_total", "name", "web", NULL);
	expect(e, "5.000001", "container_cpu_cfs_throttled_seconds_total", "name", "web", NULL);
	expect(e, "50000", "container_spec_cpu_quota", "name", "web", NULL);
	expect(e, "100000", "container_spec_cpu_period", "name", "web", NULL);
	/* 2 + (100-1)*262142/9999 = 2 + 2595 (integer division). */
	expect(e, "2597", "container_spec_cpu_shares", "name", "web", NULL);
	expect(e, "1000000", "container_memory_usage_bytes", "name", "web", NULL);
	/* memory.current 1000000 - inactive_file 300000. */
	expect(e, "700000", "container_memory_working_set_bytes", "name", "web", NULL);
	expect(e, "400000", "container_memory_rss", "name", "web", NULL);
	expect(e, "500000", "container_memory_cache", "name", "web", NULL);
	expect(e, "4096", "container_memory_swap", "name", "web", NULL);
	expect(e, "12288", "container_memory_mapped_file", "name", "web", NULL);
	expect(e, "1500000", "container_memory_max_usage_bytes", "name", "web", NULL);
	static const char *const scopes[] = {"container", "hierarchy"};
	for (size_t i = 0; i < 2; i++) {
		expect(e, "123456", "container_memory_failures_total", "name", "web",
		       "failure_type", "pgfault", "scope", scopes[i], NULL);
		expect(e, "78", "container_memory_failures_total", "name", "web", "failure_type",
		       "pgmajfault", "scope", scopes[i], NULL);
	}
	assert_int_equal(count_of(e, "container_memory_failures_total", "name", "web", NULL), 4);
	expect(e, "3", "container_memory_events_high_total", "name", "web", NULL);
	expect(e, "4", "container_memory_events_max_total", "name", "web", NULL);
	expect(e, "2147483648", "container_spec_memory_limit_bytes", "name", "web", NULL);
	expect(e, "1073741824", "container_spec_memory_swap_limit_bytes", "name", "web", NULL);
	expect_line(e, "cstatd_container_oom_kills_total{name=\"web\"} 2");

	/* Block I/O: device names from sysfs, MAJ:MIN when unresolvable. */
	expect_line(e, "container_fs_reads_bytes_total{" WEB_LABELS ",device=\"/dev/sda\"} 4096");
	expect(e, "8192", "container_fs_writes_bytes_total", "name", "web", "device", "/dev/sda",
	       NULL);
	expect(e, "10", "container_fs_reads_total", "name", "web", "device", "/dev/sda", NULL);
	expect(e, "20", "container_fs_writes_total", "name", "web", "device", "/dev/sda", NULL);
	expect(e, "1", "container_fs_reads_bytes_total", "name", "web", "device", "/dev/dm-1",
	       NULL);
	expect(e, "4", "container_fs_writes_total", "name", "web", "device", "/dev/dm-1", NULL);
	expect(e, "5", "container_fs_reads_bytes_total", "name", "web", "device", "259:7", NULL);
	expect(e, "8", "container_fs_writes_total", "name", "web", "device", "259:7", NULL);
	assert_int_equal(count_of(e, "container_fs_reads_total", "name", "web", NULL), 3);

	/* Network: one series per interface. */
	expect_line(e, "container_network_receive_bytes_total{" WEB_LABELS
	               ",interface=\"eth0\"} 1001");
	static const struct {
		const char *metric;
		unsigned off;
	} net[] = {
	    {"container_network_receive_bytes_total", 1},
	    {"container_network_receive_packets_total", 2},
	    {"container_network_receive_errors_total", 3},
	    {"container_network_receive_packets_dropped_total", 4},
	    {"container_network_transmit_bytes_total", 5},
	    {"container_network_transmit_packets_total", 6},
	    {"container_network_transmit_errors_total", 7},
	    {"container_network_transmit_packets_dropped_total", 8},
	};
	for (size_t i = 0; i < ARRAY_SIZE(net); i++) {
		char v0[16], v1[16];
		snprintf(v0, sizeof(v0), "%u", 1000 + net[i].off);
		snprintf(v1, sizeof(v1), "%u", 2000 + net[i].off);
		expect(e, v0, net[i].metric, "name", "web", "interface", "eth0", NULL);
		expect(e, v1, net[i].metric, "name", "web", "interface", "eth1", NULL);
		assert_int_equal(count_of(e, net[i].metric, "name", "web", NULL), 2);
	}

	expect(e, "5", "container_processes", "name", "web", NULL);
	expect(e, "12", "container_threads", "name", "web", NULL);
	expect(e, "100", "container_threads_max", "name", "web", NULL);

	/* PSI totals are microseconds → seconds; `full` only where present. */
	expect(e, "1.500000", "container_pressure_cpu_waiting_seconds_total", "name", "web", NULL);
	expect(e, "0.000250", "container_pressure_cpu_stalled_seconds_total", "name", "web", NULL);
	expect(e, "0.000042", "container_pressure_memory_waiting_seconds_total", "name", "web",
	       NULL);
	expect_none(e, "container_pressure_memory_stalled_seconds_total", "name", "web", NULL);
	expect(e, "3.000000", "container_pressure_io_waiting_seconds_total", "name", "web", NULL);
	expect(e, "2.000000", "container_pressure_io_stalled_seconds_total", "name", "web", NULL);

	expect(e, "1700000000.5", "container_start_time_seconds", "name", "web", NULL);
	expect(e, "1700000100.25", "container_last_seen", "name", "web", NULL);
	expect(e, "0", "cstatd_container_frozen", "name", "web", NULL);
	expect_line(
	    e, "cstatd_container_info{" WEB_LABELS
	       ",image_id=\"\",runtime=\"docker\",compose_project=\"\",compose_service=\"\"} 1");
	/* Not known to Docker: no Docker-only families. */
	expect_none(e, "cstatd_container_state", "name", "web", NULL);
	expect_none(e, "container_health_state", "name", "web", NULL);
	expect_none(e, "cstatd_container_health", "name", "web", NULL);
	expect_none(e, "cstatd_container_last_exit_code", "name", "web", NULL);
	expect_none(e, "cstatd_container_restarts_total", "name", "web", NULL);
	expect_none(e, "cstatd_container_config_risk", "name", "web", NULL);

	/* ---- weird: escaping --------------------------------------------- */
	expect_line(e, "container_cpu_usage_seconds_total{id=\"" WEIRD_ID_ESC
	               "\",image=\"" WEIRD_IMAGE_ESC "\",name=\"" WEIRD_NAME_ESC
	               "\",container_label_team=\"" WEIRD_LABEL_ESC "\",cpu=\"total\"} 0.000001");
	expect(e, "0.000001", CPU, "name", WEIRD_NAME_VAL, "image", WEIRD_IMAGE_VAL, "id", WEIRD_ID,
	       "container_label_team", WEIRD_LABEL, NULL);
	expect(e, "1", "container_network_receive_bytes_total", "name", WEIRD_NAME_VAL, "interface",
	       WEIRD_IFNAME, NULL);
	expect_line(e, "container_network_transmit_packets_dropped_total{id=\"" WEIRD_ID_ESC
	               "\",image=\"" WEIRD_IMAGE_ESC "\",name=\"" WEIRD_NAME_ESC
	               "\",container_label_team=\"" WEIRD_LABEL_ESC
	               "\",interface=\"" WEIRD_IFNAME_ESC "\"} 8");
	/* No memory.events, not known to Docker: no OOM series. */
	expect_none(e, "cstatd_container_oom_kills_total", "name", WEIRD_NAME_VAL, NULL);

	/* ---- db: known to Docker ------------------------------------------ */
	expect_line(e, CPU "{" DB_LABELS ",cpu=\"total\"} 0.999999");
	/* Docker's working set wins over current - inactive_file (900). */
	expect(e, "555", "container_memory_working_set_bytes", "name", "db", NULL);
	expect(e, "4096", "container_threads_max", "name", "db", NULL);
	expect_line(e, "cstatd_container_info{" DB_LABELS ",image_id=\"sha256:0123abcd\","
	               "runtime=\"docker\",compose_project=\"shop\",compose_service=\"db\"} 1");
	static const char *const states[] = {"created",    "running", "paused",
	                                     "restarting", "exited",  "dead"};
	for (size_t i = 0; i < ARRAY_SIZE(states); i++)
		expect(e, strcmp(states[i], "running") == 0 ? "1" : "0", "cstatd_container_state",
		       "name", "db", "state", states[i], NULL);
	assert_int_equal(count_of(e, "cstatd_container_state", "name", "db", NULL), 6);
	static const char *const health[] = {"none", "starting", "healthy", "unhealthy"};
	for (size_t i = 0; i < ARRAY_SIZE(health); i++)
		expect(e, strcmp(health[i], "starting") == 0 ? "1" : "0", "cstatd_container_health",
		       "name", "db", "status", health[i], NULL);
	expect(e, "0", "container_health_state", "name", "db", NULL);
	expect(e, "137", "cstatd_container_last_exit_code", "name", "db", NULL);
	expect_line(e, "cstatd_container_restarts_total{name=\"db\"} 3");
	expect_line(e, "cstatd_container_oom_kills_total{name=\"db\"} 3");
	static const char *const risks[] = {
	    "no_memory_limit", "no_cpu_limit",    "no_pids_limit",      "privileged",
	    "runs_as_root",    "writable_rootfs", "added_capabilities", "no_restart_limit"};
	for (size_t i = 0; i < ARRAY_SIZE(risks); i++) {
		bool on =
		    strcmp(risks[i], "privileged") == 0 || strcmp(risks[i], "no_memory_limit") == 0;
		expect(e, on ? "1" : "0", "cstatd_container_config_risk", "name", "db", "risk",
		       risks[i], NULL);
	}

	/* ---- free: every limit is `max` ------------------------------------ */
	expect_line(e, CPU "{" FREE_LABELS ",cpu=\"total\"} 0.000007");
	expect_none(e, "container_spec_memory_limit_bytes", "name", "free", NULL);
	expect_none(e, "container_spec_cpu_quota", "name", "free", NULL);
	expect_none(e, "container_threads_max", "name", "free", NULL);
	expect_none(e, "container_spec_memory_swap_limit_bytes", "name", "free", NULL);
	/* No quota: the CFS counters say nothing useful and are left out. */
	expect_none(e, "container_cpu_cfs_periods_total", "name", "free", NULL);
	expect_none(e, "container_cpu_cfs_throttled_periods_total", "name", "free", NULL);
	expect_none(e, "container_cpu_cfs_throttled_seconds_total", "name", "free", NULL);
	expect(e, "100000", "container_spec_cpu_period", "name", "free", NULL);
	expect(e, "262144", "container_spec_cpu_shares", "name", "free", NULL);
	expect(e, "0", "container_memory_working_set_bytes", "name", "free", NULL);
	expect(e, "1", "container_threads", "name", "free", NULL);
	/* No value anywhere is the UNLIMITED sentinel printed as a number. */
	assert_null(strstr(e->text, " 18446744073709551615\n"));

	/* ---- empty: a record with nothing ---------------------------------- */
	for (size_t i = 0; i < e->nsmps; i++) {
		const char *id = label_of(&e->smps[i], "id");
		if (id && strcmp(id, "/" KEY_EMPTY) == 0)
			fail_msg("the empty record produced a sample: %s", e->smps[i].line);
	}

	/* ---- cron: a raw cgroup -------------------------------------------- */
	expect(e, "3.000000", CPU, "name", "/system.slice/cron.service", "image", "", NULL);
	expect(e, "1", "cstatd_container_frozen", "name", "/system.slice/cron.service", NULL);
	/* Raw cgroups carry no container identity or per-name counters. */
	expect_none(e, "cstatd_container_info", "name", "/system.slice/cron.service", NULL);
	expect_none(e, "cstatd_container_oom_kills_total", "name", "/system.slice/cron.service",
	            NULL);

	/* ---- every container: no timestamps, right series counts ---------- */
	assert_int_equal(count_of(e, CPU, NULL), 5); /* all but the empty one */
	assert_int_equal(count_of(e, "container_spec_memory_limit_bytes", NULL), 1);
	assert_int_equal(count_of(e, "container_spec_cpu_quota", NULL), 1);
	assert_int_equal(count_of(e, "container_threads_max", NULL), 2);
	assert_int_equal(count_of(e, "container_spec_memory_swap_limit_bytes", NULL), 1);
	assert_int_equal(count_of(e, "cstatd_container_info", NULL), 4);
	assert_int_equal(count_of(e, "cstatd_container_oom_kills_total", NULL), 2);

	/* ---- cstatd itself ------------------------------------------------- */
	expect_line(e, "cstatd_build_info{version=\"" CSTATD_VERSION
	               "\",revision=\"" CSTATD_REVISION "\"} 1");
	expect_line(e, "cstatd_last_sweep_duration_seconds 0.0125");
	/* Buckets are cumulative, with le in canonical float form. */
	expect_line(e, "cstatd_sweep_duration_seconds_bucket{le=\"0.0005\"} 1");
	expect_line(e, "cstatd_sweep_duration_seconds_bucket{le=\"0.01\"} 1");
	expect_line(e, "cstatd_sweep_duration_seconds_bucket{le=\"0.025\"} 2");
	expect_line(e, "cstatd_sweep_duration_seconds_bucket{le=\"1.0\"} 2");
	expect_line(e, "cstatd_sweep_duration_seconds_bucket{le=\"2.5\"} 2");
	expect_line(e, "cstatd_sweep_duration_seconds_bucket{le=\"+Inf\"} 3");
	expect_line(e, "cstatd_sweep_duration_seconds_sum 3.0128");
	expect_line(e, "cstatd_sweep_duration_seconds_count 3");
	expect_line(e, "cstatd_containers 6");
	static const char *const sources[] = {"cgroup", "netdev", "docker_http", "docker_json",
	                                      "docker_reconnect"};
	for (size_t i = 0; i < ARRAY_SIZE(sources); i++)
		expect(e, "0", "cstatd_collect_errors_total", "source", sources[i], NULL);
	assert_int_equal(count_of(e, "cstatd_collect_errors_total", NULL), ARRAY_SIZE(sources));
	assert_int_equal(count_of(e, "cstatd_scrapes_total", NULL), 1);
	assert_int_equal(count_of(e, "cstatd_docker_up", NULL), 1);
	assert_int_equal(count_of(e, "process_resident_memory_bytes", NULL), 1);
}

/* ======================================================================== */
/* Tests                                                                    */
/* ======================================================================== */

static int setup(void **state)
{
	(void)state;
	make_sysroot();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cstatd_snapshot_shutdown();
	cstatd_devnames_free();
	remove_sysroot();
	return 0;
}

/* A buffer that already owns memory: a zero-length append to a buffer
 * that has none is covered by test_snapshot.c, not here. */
static void buf_start(struct cstatd_buf *b)
{
	cstatd_buf_init(b, 1 << 16);
	assert_int_equal(cstatd_buf_reserve(b, 256), 0);
}

static void test_escape_label_value(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"", ""},
	    {"plain", "plain"},
	    {"a\"b", "a\\\"b"},
	    {"a\\b", "a\\\\b"},
	    {"a\nb", "a\\nb"},
	    {"\\n", "\\\\n"}, /* a literal backslash-n stays two characters */
	    {"\"\"\\\\\n\n", "\\\"\\\"\\\\\\\\\\n\\n"},
	    {"tab\there", "tab\there"}, /* only the three escapes */
	    {"caf\xc3\xa9", "caf\xc3\xa9"},
	    {"\xe2\x82\xac", "\xe2\x82\xac"},         /* € */
	    {"\xf0\x9f\x90\xb3", "\xf0\x9f\x90\xb3"}, /* 🐳 */
	    {"\xff", FFFD},
	    {"a\x80"
	     "b",
	     "a" FFFD "b"}, /* lone continuation byte */
	    {"\xc3", FFFD}, /* truncated at the end */
	    {"\xc3"
	     "a",
	     FFFD "a"}, /* lead byte, no continuation */
	    {"\xe2\x82", FFFD FFFD},
	    {"\xc1\xbf", FFFD FFFD},                            /* overlong 2-byte */
	    {"\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD}, /* 5-byte form */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cstatd_buf b;
		buf_start(&b);
		render_escape_label_value(&b, cases[i].in);
		cstatd_buf_append(&b, "", 1);
		assert_false(b.overflow);
		if (strcmp(b.data, cases[i].out) != 0)
			fail_msg("case %zu: escaped to \"%s\", want \"%s\"", i, b.data,
			         cases[i].out);
		cstatd_buf_free(&b);
	}
}

/*
 * Every byte string must come out as valid UTF-8: Prometheus (and promtool)
 * reject a label value that is not (model.LabelValue.IsValid ->
 * utf8.ValidString), and one bad series fails the whole scrape. Overlong
 * 3/4-byte forms, UTF-16 surrogates and code points above U+10FFFF are
 * invalid UTF-8 even though their bytes have the right shape.
 */
static void test_escape_label_value_strict_utf8(void **state)
{
	(void)state;
	static const char *const inputs[] = {
	    "\xe0\x80\xaf",             /* overlong '/' (3 bytes) */
	    "\xe0\x9f\xbf",             /* overlong U+07FF */
	    "\xed\xa0\x80",             /* U+D800, a surrogate */
	    "\xed\xbf\xbf",             /* U+DFFF */
	    "\xf0\x80\x80\xaf",         /* overlong '/' (4 bytes) */
	    "\xf0\x8f\xbf\xbf",         /* overlong U+FFFF */
	    "\xf4\x90\x80\x80",         /* U+110000 */
	    "\xf5\x80\x80\x80",         /* lead byte F5 */
	    "\xf7\xbf\xbf\xbf",         /* lead byte F7 */
	    "cgroup-\xed\xa0\x80-name", /* as it would sit in a raw cgroup path */
	};
	char report[2048] = "";
	size_t failures = 0;
	for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {
		struct cstatd_buf b;
		buf_start(&b);
		render_escape_label_value(&b, inputs[i]);
		size_t bad = utf8_invalid_at((const unsigned char *)b.data, b.len);
		if (bad != b.len) {
			size_t r = strlen(report);
			snprintf(report + r, sizeof(report) - r, "\n  input [");
			for (const unsigned char *p = (const unsigned char *)inputs[i]; *p; p++) {
				r = strlen(report);
				snprintf(report + r, sizeof(report) - r, " %02x", *p);
			}
			r = strlen(report);
			snprintf(report + r, sizeof(report) - r,
			         " ] -> invalid UTF-8 at byte %zu of %zu of the output", bad,
			         b.len);
			failures++;
		}
		cstatd_buf_free(&b);
	}
	if (failures)
		fail_msg("%zu of %zu inputs were passed through as invalid UTF-8 instead of "
		         "becoming U+FFFD:%s",
		         failures, ARRAY_SIZE(inputs), report);
}

/* The same bug end to end: one raw cgroup (--all-cgroups) whose directory
 * name holds a surrogate makes the whole body invalid UTF-8, which
 * Prometheus rejects as a failed scrape ("invalid label value"). */
static void test_invalid_utf8_cgroup_name_body(void **state)
{
	(void)state;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	struct cstatd_container *c = cstatd_store_add(st, "cg:00000000000bad00");
	assert_non_null(c);
	cstatd_container_setf(&c->id_label, "/system.slice/bad-\xed\xa0\x80.scope");
	cstatd_container_setf(&c->name, "/system.slice/bad-\xed\xa0\x80.scope");
	c->sources = CSTATD_SRC_CGROUP;
	c->s.have = CSTATD_HAVE_CPU_STAT;
	c->s.cpu.usage_usec = 1;
	struct renderer *r = renderer_new();
	assert_non_null(r);
	struct cstatd_snapshot *snap = render(r, st, NULL);
	renderer_free(r);
	cstatd_store_free(st);
	const struct cstatd_buf *b = &snap->body[CSTATD_BODY_TEXT];
	size_t bad = utf8_invalid_at((const unsigned char *)b->data, b->len);
	if (bad != b->len) {
		const char *line = b->data + bad;
		while (line > b->data && line[-1] != '\n')
			line--;
		fail_msg("text body is not valid UTF-8 at byte %zu, in the line:\n  %.120s", bad,
		         line);
	}
}

static void test_escape_help(void **state)
{
	(void)state;
	static const char *const in = "a\\b\nc\"d";
	struct cstatd_buf b;

	buf_start(&b);
	render_escape_help(&b, in, false);
	cstatd_buf_append(&b, "", 1);
	assert_string_equal(b.data, "a\\\\b\\nc\"d"); /* 0.0.4: quotes stay */
	cstatd_buf_free(&b);

	buf_start(&b);
	render_escape_help(&b, in, true);
	cstatd_buf_append(&b, "", 1);
	assert_string_equal(b.data, "a\\\\b\\nc\\\"d"); /* OpenMetrics: \" too */
	cstatd_buf_free(&b);

	buf_start(&b);
	render_escape_help(&b, "", true);
	assert_int_equal(b.len, 0);
	cstatd_buf_free(&b);
}

/* Runs first: nothing has asked for OpenMetrics or gzip yet. */
static void test_text(void **state)
{
	(void)state;
	struct cstatd_store *st = build_store();
	struct renderer *r = renderer_new();
	assert_non_null(r);
	struct cstatd_snapshot *snap = render(r, st, NULL);

	assert_true(snap->has[CSTATD_BODY_TEXT]);
	assert_false(snap->has[CSTATD_BODY_TEXT_GZ]);
	assert_false(snap->has[CSTATD_BODY_OM]);
	assert_false(snap->has[CSTATD_BODY_OM_GZ]);

	struct expo e;
	parse_variant(&e, snap, CSTATD_BODY_TEXT);
	check_families(&e);
	check_values(&e);

	/* HELP in 0.0.4: quotes are not escaped. */
	expect_line(&e, "# HELP container_cpu_usage_seconds_total Cumulative CPU time consumed, in "
	                "seconds (cpu=\"total\": cgroup v2 has no per-CPU split).");
	expect_line(&e, "# TYPE container_cpu_usage_seconds_total counter");
	expect_line(&e, "# TYPE cstatd_container_info gauge");
	/* HELP precedes TYPE, both directly before the samples. */
	const struct family *f = find_family(&e, "container_cpu_usage_seconds_total");
	assert_non_null(f);
	assert_int_equal(f->type_line, f->help_line + 1);
	assert_null(strstr(e.text, "# EOF"));

	expo_free(&e);
	renderer_free(r);
	cstatd_store_free(st);
}

static void test_openmetrics(void **state)
{
	(void)state;
	struct cstatd_store *st = build_store();
	struct renderer *r = renderer_new();
	assert_non_null(r);
	struct cstatd_snapshot *snap = render(r, st, NULL);

	/* Derived on demand from the text body, once. */
	assert_true(snap->has[CSTATD_BODY_TEXT]);
	assert_false(snap->has[CSTATD_BODY_OM]);
	assert_int_equal(render_derive(snap, CSTATD_BODY_OM), 0);
	assert_true(snap->has[CSTATD_BODY_OM]);
	size_t om_pieces = snap->n_om;
	const void *first = snap->om[0].base;
	assert_int_equal(render_derive(snap, CSTATD_BODY_OM), 0);
	assert_int_equal(snap->n_om, om_pieces);
	assert_ptr_equal(snap->om[0].base, first);
	/* Nothing copied: the sample pieces point into the text body. */
	assert_true(snap->n_om > FAM_COUNT);
	assert_int_equal(snap->body[CSTATD_BODY_OM].len, 0);

	struct expo om, text;
	parse_variant(&om, snap, CSTATD_BODY_OM);
	parse_variant(&text, snap, CSTATD_BODY_TEXT);
	check_families(&om);
	check_values(&om);

	/* The family names of counters and info gauges lose their suffix. */
	expect_line(&om, "# TYPE container_cpu_usage_seconds counter");
	expect_line(&om, "# TYPE cstatd_container info");
	expect_line(&om, "# TYPE cstatd_build info");
	expect_line(&om, "# TYPE container_memory_usage_bytes gauge");
	assert_null(strstr(om.text, "_total counter\n"));
	assert_null(strstr(om.text, "_info info\n"));
	assert_null(strstr(om.text, "_info gauge\n"));
	/* HELP in OpenMetrics: quotes are escaped. */
	expect_line(&om, "# HELP container_cpu_usage_seconds Cumulative CPU time consumed, in "
	                 "seconds (cpu=\\\"total\\\": cgroup v2 has no per-CPU split).");
	for (size_t i = 0; i < om.nfams; i++)
		if (strstr(om.fams[i].help_raw, "\"") && !strstr(om.fams[i].help_raw, "\\\""))
			fail_msg("OpenMetrics HELP of %s has an unescaped quote", om.fams[i].name);
	struct cstatd_buf omb = flat(snap, CSTATD_BODY_OM);
	assert_int_equal(omb.data[omb.len - 1], '\n');
	assert_memory_equal(omb.data + omb.len - 6, "# EOF\n", 6);
	cstatd_buf_free(&omb);

	/* Same samples in both formats, line for line (process_* figures are
	 * read once per render, so they agree too). */
	assert_int_equal(om.nsmps, text.nsmps);
	for (size_t i = 0; i < om.nsmps; i++)
		if (strcmp(om.smps[i].line, text.smps[i].line) != 0)
			fail_msg("sample %zu differs:\n  OM:   %s\n  text: %s", i, om.smps[i].line,
			         text.smps[i].line);

	expo_free(&om);
	expo_free(&text);
	renderer_free(r);
	cstatd_store_free(st);
}

static void gunzip_equal(const struct cstatd_buf *gz, const struct cstatd_buf *plain)
{
	assert_true(gz->len > 18);
	/* gzip magic, deflate. */
	assert_int_equal((unsigned char)gz->data[0], 0x1f);
	assert_int_equal((unsigned char)gz->data[1], 0x8b);
	assert_int_equal((unsigned char)gz->data[2], 8);
	assert_true(gz->len < plain->len);

	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	size_t cap = plain->len + 1024;
	unsigned char *out = malloc(cap);
	assert_non_null(out);
	z.next_in = (unsigned char *)gz->data;
	z.avail_in = (uInt)gz->len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int zr = inflate(&z, Z_FINISH);
	if (zr != Z_STREAM_END)
		fail_msg("inflate: %d (%s)", zr, z.msg ? z.msg : "");
	assert_int_equal(z.avail_in, 0); /* no trailing garbage */
	size_t n = cap - z.avail_out;
	inflateEnd(&z);
	assert_int_equal(n, plain->len);
	assert_memory_equal(out, plain->data, n);
	free(out);
}

static void test_gzip(void **state)
{
	(void)state;
	struct cstatd_store *st = build_store();
	struct renderer *r = renderer_new();
	assert_non_null(r);

	/* Several sweeps: the deflate stream is reset and reused. OM_GZ first:
	 * it derives the OpenMetrics body on the way. */
	for (int round = 0; round < 3; round++) {
		struct cstatd_snapshot *snap = render(r, st, NULL);
		assert_int_equal(render_derive(snap, CSTATD_BODY_OM_GZ), 0);
		assert_int_equal(render_derive(snap, CSTATD_BODY_TEXT_GZ), 0);
		for (int v = 0; v <= CSTATD_BODY_OM_GZ; v++) /* the metrics bodies */
			assert_true(snap->has[v]);
		gunzip_equal(&snap->body[CSTATD_BODY_TEXT_GZ], &snap->body[CSTATD_BODY_TEXT]);
		struct cstatd_buf omb = flat(snap, CSTATD_BODY_OM);
		gunzip_equal(&snap->body[CSTATD_BODY_OM_GZ], &omb);
		cstatd_buf_free(&omb);
	}
	renderer_free(r);
	cstatd_store_free(st);
}

static void expect_double(double d, const char *text)
{
	struct cstatd_buf b;
	cstatd_buf_init(&b, 1 << 20);
	render_put_double(&b, d);
	cstatd_buf_append(&b, "", 1);
	assert_true(b.len > 1);
	if (text && strcmp(b.data, text) != 0)
		fail_msg("%.17g written as %s, want %s", d, b.data, text);
	if (!isnan(d) && strtod(b.data, NULL) != d)
		fail_msg("%.17g written as %s, which reads back as %.17g", d, b.data,
		         strtod(b.data, NULL));
	cstatd_buf_free(&b);
}

/* Every value reads back bit for bit; the fixed-point fast path writes the
 * short forms. */
static void test_put_double(void **state)
{
	(void)state;
	expect_double(0, "0");
	expect_double(-0.0, "0");
	expect_double(3, "3");
	expect_double(-42, "-42");
	expect_double(0.5, "0.5");
	expect_double(12.25, "12.25");
	expect_double(0.001, "0.001");
	expect_double(1764080000.123, "1764080000.123");
	expect_double(0.000001, "0.000001");
	expect_double(-2.000005, "-2.000005");
	expect_double(1e15, "1e+15");
	expect_double(0.1 + 0.2, "0.30000000000000004");
	expect_double(1.0 / 3, "0.33333333333333331");
	expect_double(NAN, "NaN");
	expect_double(INFINITY, "+Inf");
	expect_double(-INFINITY, "-Inf");
	expect_double(9007199254740993.0, NULL);
	expect_double(1e-300, NULL);
	expect_double(123456789.000001, NULL);
	/* Random doubles of every magnitude, and random milli/micro values. */
	srand(7);
	for (int i = 0; i < 200000; i++) {
		uint64_t bits = ((uint64_t)rand() << 40) ^ ((uint64_t)rand() << 20) ^ (uint64_t)rand();
		double d;
		memcpy(&d, &bits, sizeof(d));
		if (isfinite(d))
			expect_double(d, NULL);
		expect_double((double)(rand() % 100000000) / 1000.0, NULL);
		expect_double((double)((int64_t)rand() * 1000 + rand() % 1000) / 1e6, NULL);
	}
}

/* The gzip buffer starts at a third of the input and grows as deflate
 * needs: random bytes (which do not compress) take the growing path. */
static void test_gzip_grows(void **state)
{
	(void)state;
	struct cstatd_snapshot *snap = cstatd_snapshot_begin();
	assert_non_null(snap);
	struct cstatd_buf *t = &snap->body[CSTATD_BODY_TEXT];
	size_t n = 3 << 20;
	assert_int_equal(cstatd_buf_reserve(t, n), 0);
	srand(11);
	for (size_t i = 0; i < n; i++)
		t->data[i] = (char)(rand() & 0xff);
	t->len = n;
	snap->has[CSTATD_BODY_TEXT] = true;
	assert_int_equal(render_derive(snap, CSTATD_BODY_TEXT_GZ), 0);
	const struct cstatd_buf *gz = &snap->body[CSTATD_BODY_TEXT_GZ];
	assert_true(gz->len > n);
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	unsigned char *out = malloc(n + 1);
	assert_non_null(out);
	z.next_in = (unsigned char *)gz->data;
	z.avail_in = (uInt)gz->len;
	z.next_out = out;
	z.avail_out = (uInt)n + 1;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(n + 1 - z.avail_out, n);
	assert_memory_equal(out, t->data, n);
	inflateEnd(&z);
	free(out);
	cstatd_snapshot_publish(snap);
}

struct derive_arg {
	struct cstatd_snapshot *snap;
	enum cstatd_variant v;
	int rc;
};

static void *derive_thread(void *p)
{
	struct derive_arg *a = p;
	a->rc = render_derive(a->snap, a->v);
	return NULL;
}

/* Scrapes that race for the same derived body: one derives, the others
 * wait and get the same bytes; nothing is derived twice. */
static void test_derive_concurrent(void **state)
{
	(void)state;
	struct cstatd_store *st = build_store();
	struct renderer *r = renderer_new();
	assert_non_null(r);
	struct cstatd_snapshot *snap = render(r, st, NULL);
	pthread_t t[8];
	struct derive_arg a[8];
	for (int i = 0; i < 8; i++) {
		a[i] = (struct derive_arg){snap, i % 2 ? CSTATD_BODY_OM_GZ : CSTATD_BODY_TEXT_GZ, -1};
		assert_int_equal(pthread_create(&t[i], NULL, derive_thread, &a[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].rc, 0);
	}
	gunzip_equal(&snap->body[CSTATD_BODY_TEXT_GZ], &snap->body[CSTATD_BODY_TEXT]);
	struct cstatd_buf omb = flat(snap, CSTATD_BODY_OM);
	gunzip_equal(&snap->body[CSTATD_BODY_OM_GZ], &omb);
	cstatd_buf_free(&omb);
	renderer_free(r);
	cstatd_store_free(st);
}

/* Removes the "process_" lines, which change between renders. */
static char *without_process_lines(const struct cstatd_buf *b)
{
	char *out = malloc(b->len + 1), *o = out;
	assert_non_null(out);
	const char *p = b->data, *end = b->data + b->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(nl);
		size_t n = (size_t)(nl - p) + 1;
		if (strncmp(p, "process_", 8) != 0) {
			memcpy(o, p, n);
			o += n;
		}
		p = nl + 1;
	}
	*o = '\0';
	return out;
}

/* The renderer keeps no state between sweeps that changes the output, and
 * it follows the store as containers come and go. */
static void test_steady_state_and_churn(void **state)
{
	(void)state;
	/* An empty snapshot pool first: the pool is process-wide, and the big
	 * bodies earlier tests left in it are trimmed (reallocated) once when
	 * reused, which is not the steady state checked here. */
	cstatd_snapshot_shutdown();
	struct cstatd_store *st = build_store();
	struct renderer *r = renderer_new();
	assert_non_null(r);

	struct cstatd_snapshot *a = render(r, st, NULL);
	char *first = without_process_lines(&a->body[CSTATD_BODY_TEXT]);
	char *data[2] = {NULL, NULL};
	for (int round = 0; round < 6; round++) {
		struct cstatd_snapshot *s = render(r, st, NULL);
		char *again = without_process_lines(&s->body[CSTATD_BODY_TEXT]);
		if (strcmp(first, again) != 0)
			fail_msg("round %d: output changed with an unchanged store", round);
		free(again);
		/* Snapshots alternate; their bodies are not reallocated. */
		if (round >= 2 && s->body[CSTATD_BODY_TEXT].data != data[round % 2])
			fail_msg("round %d: body reallocated in steady state", round);
		data[round % 2] = s->body[CSTATD_BODY_TEXT].data;
	}
	free(first);

	/* The weird container goes; a new one comes (reusing its array slot). */
	cstatd_store_remove(st, cstatd_store_get(st, ID_WEIRD));
	struct cstatd_container *c = cstatd_store_add(
	    st, "f00df00df00df00df00df00df00df00df00df00df00df00df00df00df00df00d");
	assert_non_null(c);
	cstatd_container_setf(&c->name, "newcomer");
	snprintf(c->runtime, sizeof(c->runtime), "docker");
	c->is_container = true;
	c->s.have = CSTATD_HAVE_CPU_STAT;
	c->s.cpu.usage_usec = 2000000;
	c->sources = CSTATD_SRC_CGROUP;
	/* Docker knows it but has not reported a state yet; no health check. */
	c->docker.known = true;
	c->docker.state = CSTATD_STATE_UNKNOWN;
	c->docker.health = CSTATD_HEALTH_NONE;

	struct cstatd_snapshot *s = render(r, st, NULL);
	struct expo e;
	parse_variant(&e, s, CSTATD_BODY_TEXT);
	assert_null(strstr(e.text, "we\\\"ird"));
	expect(&e, "2.000000", "container_cpu_usage_seconds_total", "name", "newcomer", "id",
	       "/docker/f00df00df00df00df00df00df00df00df00df00df00df00df00df00df00df00d", NULL);
	expect(&e, "1.234567", "container_cpu_usage_seconds_total", "name", "web", NULL);
	expect(&e, "0.999999", "container_cpu_usage_seconds_total", "name", "db", NULL);
	expect_line(&e, "cstatd_containers 6");
	expect_none(&e, "cstatd_container_state", "name", "newcomer", NULL);
	expect(&e, "-1", "container_health_state", "name", "newcomer", NULL);
	expect(&e, "1", "cstatd_container_health", "name", "newcomer", "status", "none", NULL);
	expect(&e, "0", "cstatd_container_health", "name", "newcomer", "status", "healthy", NULL);
	expect_none(&e, "cstatd_container_last_exit_code", "name", "newcomer", NULL);
	expect_none(&e, "cstatd_container_config_risk", "name", "newcomer", NULL);
	expect(&e, "0", "cstatd_container_restarts_total", "name", "newcomer", NULL);
	expect(&e, "0", "cstatd_container_oom_kills_total", "name", "newcomer", NULL);
	expo_free(&e);

	/* Everything gone: only HELP/TYPE and cstatd's own series. */
	while (cstatd_store_count(st))
		cstatd_store_remove(st, cstatd_store_at(st, 0));
	s = render(r, st, NULL);
	parse_variant(&e, s, CSTATD_BODY_TEXT);
	check_families(&e);
	expect_line(&e, "cstatd_containers 0");
	assert_int_equal(count_of(&e, "container_cpu_usage_seconds_total", NULL), 0);
	expo_free(&e);

	renderer_free(r);
	cstatd_store_free(st);
}

/* Thousands of containers with random contents still make a valid body. */
static void test_many_containers(void **state)
{
	(void)state;
	enum { N = 2500 };
	uint64_t x = 0x853c49e6748fea9bull;
#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	for (unsigned i = 0; i < N; i++) {
		char key[CSTATD_ID_LEN + 1];
		snprintf(key, sizeof(key), "%064x", i);
		struct cstatd_container *c = cstatd_store_add(st, key);
		assert_non_null(c);
		if (i % 7 == 0) {
			cstatd_container_setf(&c->id_label, "/raw/%u", i);
			cstatd_container_setf(&c->name, "/raw/%u", i);
		} else {
			cstatd_container_setf(&c->id_label, "/system.slice/docker-%s.scope", key);
			cstatd_container_setf(&c->name, "c%u", i);
			cstatd_container_setf(&c->image, "img:%u", i % 13);
			snprintf(c->runtime, sizeof(c->runtime), "docker");
			c->is_container = true;
		}
		c->sources = CSTATD_SRC_CGROUP;
		struct cstatd_sample *s = &c->s;
		s->have = (uint32_t)NEXT() & 0x3FFFFFu;
		s->cpu.usage_usec = NEXT() >> 20;
		s->cpu_max.quota_usec = NEXT() % 2 ? CSTATD_UNLIMITED : 100000;
		s->cpu_max.period_usec = 100000;
		s->cpu_weight = 1 + NEXT() % 10000;
		s->mem_current = NEXT() >> 30;
		s->mem.inactive_file = NEXT() >> 30;
		s->mem_max = NEXT() % 2 ? CSTATD_UNLIMITED : NEXT() >> 30;
		s->swap_max = NEXT() % 2 ? CSTATD_UNLIMITED : NEXT() >> 30;
		s->pids_max = NEXT() % 2 ? CSTATD_UNLIMITED : NEXT() % 100000;
		struct cstatd_io_stat io = {.n_devices = (unsigned)(NEXT() % 4)};
		for (unsigned d = 0; d < io.n_devices; d++)
			io.dev[d] =
			    (struct cstatd_io_device){8, d * 16, NEXT() >> 8, 1, 2, 3, 0, 0};
		assert_int_equal(cstatd_sample_set_io(s, &io), 0);
		struct cstatd_netdev net = {.n_ifs = (unsigned)(NEXT() % 3)};
		for (unsigned n = 0; n < net.n_ifs; n++)
			set_if(&net.ifs[n], n ? "eth1" : "eth0", NEXT() >> 16);
		assert_int_equal(cstatd_sample_set_net(s, &net), 0);
		s->psi_cpu.has_some = NEXT() % 2;
		s->psi_cpu.has_full = NEXT() % 2;
		c->start_time = (double)(1700000000 + i) + 0.125;
		if (i % 3 == 0 && c->is_container) {
			c->docker.known = true;
			c->docker.state = (enum cstatd_state)(NEXT() % CSTATD_STATE_COUNT);
			c->docker.health = (enum cstatd_health)(NEXT() % CSTATD_HEALTH_COUNT);
			c->docker.risks_known = NEXT() % 2;
			c->docker.risks = (uint32_t)NEXT() & 0xFF;
			c->docker.has_exit_code = NEXT() % 2;
			c->docker.last_exit_code = (int64_t)(NEXT() % 512) - 256;
		}
	}
#undef NEXT
	struct renderer *r = renderer_new();
	assert_non_null(r);
	for (int round = 0; round < 2; round++) {
		struct cstatd_snapshot *snap = render(r, st, NULL);
		struct expo e;
		parse_variant(&e, snap, CSTATD_BODY_TEXT); /* structure, escaping, duplicates */
		check_families(&e);
		char want[64];
		snprintf(want, sizeof(want), "cstatd_containers %zu", cstatd_store_count(st));
		expect_line(&e, want);
		/* Every container with CPU stats has exactly one usage series. */
		size_t with_cpu = 0;
		for (size_t i = 0; i < cstatd_store_count(st); i++)
			with_cpu += (cstatd_store_at(st, i)->s.have & CSTATD_HAVE_CPU_STAT) != 0;
		assert_int_equal(count_of(&e, "container_cpu_usage_seconds_total", NULL), with_cpu);
		expo_free(&e);
		if (render_derive(snap, CSTATD_BODY_OM) == 0) {
			parse_variant(&e, snap, CSTATD_BODY_OM);
			check_families(&e);
			expo_free(&e);
		}
		/* Second round after churn: drop every 5th record. */
		for (size_t i = cstatd_store_count(st); i-- > 0;)
			if (i % 5 == 0)
				cstatd_store_at(st, i)->sources = 0;
		cstatd_store_prune(st);
	}
	renderer_free(r);
	cstatd_store_free(st);
}

/* A body that hits its cap is marked absent, not served truncated. */
static void test_overflow(void **state)
{
	(void)state;
	struct cstatd_store *st = build_store();
	struct renderer *r = renderer_new();
	assert_non_null(r);

	/* Fresh snapshots: a recycled one already has more capacity than the
	 * small cap set below (the cap is only checked when growing). */
	cstatd_snapshot_shutdown();
	struct cstatd_snapshot *snap = cstatd_snapshot_begin();
	assert_non_null(snap);
	size_t saved[CSTATD_BODY_VARIANTS];
	for (int v = 0; v < CSTATD_BODY_VARIANTS; v++) {
		saved[v] = snap->body[v].limit;
		snap->body[v].limit = 2000;
	}
	int rc = renderer_render(r, st, &self, snap);
	assert_int_equal(rc, -E2BIG);
	assert_false(snap->has[CSTATD_BODY_TEXT]);
	assert_false(snap->has[CSTATD_BODY_OM]);
	assert_false(snap->has[CSTATD_BODY_TEXT_GZ]);
	assert_false(snap->has[CSTATD_BODY_OM_GZ]);
	/* Nothing to derive the other formats from. */
	assert_int_not_equal(render_derive(snap, CSTATD_BODY_OM), 0);
	assert_int_not_equal(render_derive(snap, CSTATD_BODY_TEXT_GZ), 0);
	assert_false(snap->has[CSTATD_BODY_OM]);
	for (int v = 0; v < CSTATD_BODY_VARIANTS; v++)
		snap->body[v].limit = saved[v];

	/* The same renderer recovers on the next sweep. */
	cstatd_snapshot_publish(snap);
	struct cstatd_snapshot *ok = render(r, st, NULL);
	struct expo e;
	parse_variant(&e, ok, CSTATD_BODY_TEXT);
	check_values(&e);
	expo_free(&e);

	renderer_free(r);
	cstatd_store_free(st);
}

/* Under -fsanitize=undefined, a UB report fails the run instead of only
 * being printed (the runtime's default is to carry on). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

/* The guards as the exposition shows them: a full store renders only its
 * records, cstatd_containers_dropped_total counts each refused container
 * once, and a name cut by the store (across a multibyte character) is
 * rendered whole and valid. */
static void test_guards(void **state)
{
	(void)state;
	struct cstatd_store *st = cstatd_store_new();
	assert_non_null(st);
	cstatd_store_set_limits(st, 2, 16);
	const char *keys[] = {ID_WEB, ID_DB, ID_FREE, ID_WEIRD};
	for (int sweep = 0; sweep < 3; sweep++) {
		for (int i = 0; i < 4; i++) {
			if (cstatd_store_get(st, keys[i]))
				continue;
			struct cstatd_container *c = cstatd_store_add(st, keys[i]);
			if (!c)
				continue;
			c->is_container = true;
			snprintf(c->runtime, sizeof(c->runtime), "docker");
			/* 15 ASCII bytes, then "é" across the 16-byte limit. */
			cstatd_container_setf(&c->name, "%c23456789abcdef\xc3\xa9-tail", 'a' + i);
			cstatd_label_cut(c->name, cstatd_store_label_max(st));
			c->s.have = CSTATD_HAVE_CPU_STAT;
			c->s.cpu.usage_usec = 1;
		}
	}
	struct renderer *r = renderer_new();
	assert_non_null(r);
	struct cstatd_snapshot *snap = render(r, st, NULL);
	struct expo e;
	parse_variant(&e, snap, CSTATD_BODY_TEXT);
	check_families(&e);
	expect_line(&e, "cstatd_containers 2");
	expect_line(&e, "cstatd_containers_dropped_total 2");
	assert_int_equal(count_of(&e, "container_cpu_usage_seconds_total", NULL), 2);
	expect(&e, "1", "cstatd_container_info", "name", "a23456789abcdef", NULL);
	expect(&e, "1", "cstatd_container_info", "name", "b23456789abcdef", NULL);
	expect_none(&e, "cstatd_container_info", "name", "c23456789abcdef", NULL);
	assert_null(strstr(e.text, "\xc3"));
	expo_free(&e);
	renderer_free(r);
	cstatd_store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    /* Order matters: up to test_text nothing may ask for OpenMetrics
	     * or gzip (cstatd_snapshot_want), as test_text asserts they are
	     * not rendered. */
	    cmocka_unit_test(test_escape_label_value),
	    cmocka_unit_test(test_escape_label_value_strict_utf8),
	    cmocka_unit_test(test_escape_help),
	    cmocka_unit_test(test_invalid_utf8_cgroup_name_body),
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_openmetrics),
	    cmocka_unit_test(test_gzip),
	    cmocka_unit_test(test_derive_concurrent),
	    cmocka_unit_test(test_gzip_grows),
	    cmocka_unit_test(test_put_double),
	    cmocka_unit_test(test_steady_state_and_churn),
	    cmocka_unit_test(test_many_containers),
	    cmocka_unit_test(test_overflow),
	    cmocka_unit_test(test_guards),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
