/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cstatd/log.h"
#include "daemon/duration.h"
#include "daemon/options.h"

struct option_def {
	const char *name;
	const char *metavar;
	enum cstatd_opt_kind kind;
	const char *def;
	uint64_t min_ms;
	const char *help;
	size_t offset;
	size_t size;
};

static const struct option_def option_table[] = {
#define X(field, name, metavar, kind, def, min, help) \
	{name,                                        \
	 metavar,                                     \
	 kind,                                        \
	 def,                                         \
	 min,                                         \
	 help,                                        \
	 offsetof(struct cstatd_options, field),      \
	 sizeof(((struct cstatd_options *)0)->field)},
    CSTATD_OPTIONS(X)
#undef X
};
#define N_OPTIONS (sizeof(option_table) / sizeof(option_table[0]))

static const struct option_def *find_option(const char *name, size_t len)
{
	for (size_t k = 0; k < N_OPTIONS; k++)
		if (strlen(option_table[k].name) == len &&
		    strncmp(option_table[k].name, name, len) == 0)
			return &option_table[k];
	return NULL;
}

static const char *const stats_modes[] = {"auto", "always", "never"};

int cstatd_parse_listen(const char *s, char *host, size_t host_len, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon)
		return -EINVAL;
	size_t hl = (size_t)(colon - s);
	const char *h = s;
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') { /* [::1]:9338 */
		h++;
		hl -= 2;
	} else if (memchr(s, ':', hl)) {
		return -EINVAL; /* bare IPv6 without brackets is ambiguous */
	}
	if (hl >= host_len)
		return -EINVAL;
	/* Digits only: strtoul alone would take spaces, signs and wrap. */
	unsigned long p = 0;
	const char *d = colon + 1;
	if (!*d)
		return -EINVAL;
	for (; *d; d++) {
		if (*d < '0' || *d > '9')
			return -EINVAL;
		p = p * 10 + (unsigned long)(*d - '0');
		if (p > 65535)
			return -EINVAL;
	}
	if (p == 0)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* Stores one value into the options struct, validating it for its kind. */
static int apply(struct cstatd_options *o, const struct option_def *d, const char *val, char *err,
                 size_t err_len)
{
	void *dst = (char *)o + d->offset;

	switch (d->kind) {
	case OPT_STRING:
	case OPT_PATH:
		if (strlen(val) >= d->size) {
			snprintf(err, err_len, "--%s: value is too long (at most %zu bytes)",
			         d->name, d->size - 1);
			return -EINVAL;
		}
		strcpy(dst, val);
		return 0;
	case OPT_LISTEN: {
		char host[256];
		uint16_t port;
		if (strlen(val) >= d->size || cstatd_parse_listen(val, host, sizeof(host), &port)) {
			snprintf(
			    err, err_len,
			    "--%s: '%s' is not ADDR:PORT (e.g. :9338, 127.0.0.1:9338, [::1]:9338)",
			    d->name, val);
			return -EINVAL;
		}
		strcpy(dst, val);
		return 0;
	}
	case OPT_DURATION: {
		uint64_t ms;
		if (cstatd_parse_duration_ms(val, &ms)) {
			snprintf(err, err_len,
			         "--%s: '%s' is not a duration (e.g. 500ms, 1s, 10s, 1m)", d->name,
			         val);
			return -EINVAL;
		}
		if (ms < d->min_ms || ms == 0) {
			char minbuf[32];
			cstatd_format_duration(d->min_ms ? d->min_ms : 1, minbuf, sizeof(minbuf));
			snprintf(err, err_len, "--%s: '%s' is too short (at least %s)", d->name,
			         val, minbuf);
			return -EINVAL;
		}
		*(uint64_t *)dst = ms;
		return 0;
	}
	case OPT_FLAG:
		*(bool *)dst = true;
		return 0;
	case OPT_LOGLEVEL: {
		enum cstatd_log_level lvl;
		if (cstatd_log_parse_level(val, &lvl)) {
			snprintf(err, err_len, "--%s: '%s' is not one of debug, info, warn, error",
			         d->name, val);
			return -EINVAL;
		}
		*(int *)dst = (int)lvl;
		return 0;
	}
	case OPT_UINT: {
		/* Digits only: strtoull alone would take spaces, signs and wrap. */
		uint64_t n = 0;
		const char *c = val;
		bool bad = !*c;
		for (; *c && !bad; c++) {
			uint64_t digit = (uint64_t)(*c - '0');
			if (*c < '0' || *c > '9' || n > (UINT64_MAX - digit) / 10)
				bad = true;
			else
				n = n * 10 + digit;
		}
		if (bad) {
			snprintf(err, err_len, "--%s: '%s' is not a whole number", d->name, val);
			return -EINVAL;
		}
		if (n < d->min_ms) {
			snprintf(err, err_len, "--%s: '%s' is too small (at least %llu)", d->name,
			         val, (unsigned long long)d->min_ms);
			return -EINVAL;
		}
		*(uint64_t *)dst = n;
		return 0;
	}
	case OPT_STATS:
		for (int i = 0; i < 3; i++) {
			if (strcmp(val, stats_modes[i]) == 0) {
				*(int *)dst = i;
				return 0;
			}
		}
		snprintf(err, err_len, "--%s: '%s' is not one of auto, always, never", d->name,
		         val);
		return -EINVAL;
	}
	return -EINVAL;
}

void cstatd_options_defaults(struct cstatd_options *o)
{
	char err[256];
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < N_OPTIONS; i++) {
		if (option_table[i].kind == OPT_FLAG || option_table[i].def[0] == '\0')
			continue;
		if (apply(o, &option_table[i], option_table[i].def, err, sizeof(err)) != 0)
			abort(); /* a bad default is a programming error */
	}
}

int cstatd_options_parse(struct cstatd_options *o, int argc, char **argv,
                         enum cstatd_cli_action *action, char *err, size_t err_len)
{
	*action = CSTATD_CLI_RUN;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			*action = CSTATD_CLI_HELP;
			return 0;
		}
		if (strcmp(arg, "--version") == 0) {
			*action = CSTATD_CLI_VERSION;
			return 0;
		}
		if (strcmp(arg, "--print-metrics-table") == 0) {
			*action = CSTATD_CLI_METRICS_DOC;
			return 0;
		}
		if (strcmp(arg, "--print-config-table") == 0) {
			*action = CSTATD_CLI_CONFIG_DOC;
			return 0;
		}
		if (strcmp(arg, "--health-check") == 0 ||
		    strncmp(arg, "--health-check=", 15) == 0) {
			/* An action like --help: the URL is its argument, and the
			 * rest of the command line is not looked at. */
			const char *url = arg[14] == '=' ? arg + 15 : i + 1 < argc ? argv[++i] : "";
			if (!*url || strlen(url) >= sizeof(o->health_check_url)) {
				snprintf(err, err_len,
				         "--health-check: %s (URL, e.g. "
				         "http://127.0.0.1:9338/healthz)",
				         *url ? "value is too long" : "missing value");
				return -EINVAL;
			}
			strcpy(o->health_check_url, url);
			*action = CSTATD_CLI_HEALTH_CHECK;
			return 0;
		}
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, err_len,
			         "%s: unexpected argument (flags start with --; see --help)", arg);
			return -EINVAL;
		}
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t nl = eq ? (size_t)(eq - name) : strlen(name);
		const struct option_def *d = find_option(name, nl);
		if (!d) {
			snprintf(err, err_len, "--%.*s: unknown flag (see --help)", (int)nl, name);
			return -EINVAL;
		}
		const char *val;
		if (d->kind == OPT_FLAG) {
			if (eq) {
				snprintf(err, err_len, "--%s: takes no value", d->name);
				return -EINVAL;
			}
			val = "";
		} else if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			snprintf(err, err_len, "--%s: missing value (%s)", d->name, d->metavar);
			return -EINVAL;
		}
		if (apply(o, d, val, err, err_len) != 0)
			return -EINVAL;
	}
	return 0;
}

int cstatd_options_kind(const char *name, enum cstatd_opt_kind *kind)
{
	const struct option_def *d = find_option(name, strlen(name));
	if (!d)
		return -ENOENT;
	*kind = d->kind;
	return 0;
}

int cstatd_options_set(struct cstatd_options *o, const char *name, const char *value, char *err,
                       size_t err_len)
{
	const struct option_def *d = find_option(name, strlen(name));
	if (!d) {
		snprintf(err, err_len, "%s: unknown option", name);
		return -EINVAL;
	}
	if (d->kind == OPT_FLAG) {
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			snprintf(err, err_len, "%s: expected true or false", name);
			return -EINVAL;
		}
		*(bool *)((char *)o + d->offset) = strcmp(value, "true") == 0;
		return 0;
	}
	return apply(o, d, value, err, err_len);
}

void cstatd_options_usage(FILE *out)
{
	fprintf(out, "Usage: cstatd [FLAGS]\n\n"
	             "Per-host container metrics daemon: reads cgroup v2 and the Docker API,\n"
	             "serves Prometheus metrics on /metrics.\n\nFlags:\n");
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option_def *d = &option_table[i];
		char left[64];
		snprintf(left, sizeof(left), "--%s%s%s", d->name, d->metavar ? " " : "",
		         d->metavar ? d->metavar : "");
		fprintf(out, "  %-34s %s", left, d->help);
		if (d->kind != OPT_FLAG && d->def[0])
			fprintf(out, " [default: %s]", d->def);
		fputc('\n', out);
	}
	fprintf(out, "  %-34s %s\n  %-34s %s\n", "--help", "show this help and exit", "--version",
	        "print the version and exit");
	fprintf(out, "  %-34s %s\n", "--health-check URL",
	        "GET URL (e.g. http://127.0.0.1:9338/healthz) and exit 0 on a 2xx answer, "
	        "else 1 (container health checks; 2 s timeout)");
}
