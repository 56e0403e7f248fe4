/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exporters/http/negotiate.h"

/* One comma-separated item of a header, trimmed. */
struct item {
	const char *p;
	size_t n;
};

static const char *next_item(const char *s, struct item *it)
{
	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (!*s)
		return NULL;
	const char *e = strchr(s, ',');
	if (!e)
		e = s + strlen(s);
	it->p = s;
	it->n = (size_t)(e - s);
	while (it->n && (it->p[it->n - 1] == ' ' || it->p[it->n - 1] == '\t'))
		it->n--;
	return e;
}

/* Looks up a ";name=value" parameter in an item; copies the value. */
static bool param(const struct item *it, const char *name, char *val, size_t len)
{
	size_t nl = strlen(name);
	const char *end = it->p + it->n;
	for (const char *p = memchr(it->p, ';', it->n); p && p < end;
	     p = memchr(p + 1, ';', (size_t)(end - p - 1))) {
		const char *q = p + 1;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(end - q) > nl && strncasecmp(q, name, nl) == 0 && q[nl] == '=') {
			q += nl + 1;
			size_t i = 0;
			while (q < end && *q != ';' && *q != ' ' && i + 1 < len)
				val[i++] = *q++;
			val[i] = '\0';
			return true;
		}
		if (p + 1 >= end)
			break;
	}
	return false;
}

static double qvalue(const struct item *it)
{
	char v[16];
	if (!param(it, "q", v, sizeof(v)))
		return 1.0;
	char *endp;
	double q = strtod(v, &endp);
	if (endp == v || q < 0 || q > 1)
		return 0.0;
	return q;
}

static bool type_is(const struct item *it, const char *type)
{
	size_t tl = strlen(type);
	return it->n >= tl && strncasecmp(it->p, type, tl) == 0 &&
	       (it->n == tl || it->p[tl] == ';' || it->p[tl] == ' ');
}

bool http_wants_openmetrics(const char *accept)
{
	if (!accept)
		return false;
	double best_om = 0, best_text = 0;
	struct item it;
	for (const char *s = accept; (s = next_item(s, &it)) != NULL;) {
		char ver[32];
		double q = qvalue(&it);
		if (type_is(&it, "application/openmetrics-text")) {
			if (!param(&it, "version", ver, sizeof(ver)) || strcmp(ver, "1.0.0") == 0 ||
			    strcmp(ver, "0.0.1") == 0)
				best_om = q > best_om ? q : best_om;
		} else if (type_is(&it, "text/plain")) {
			if (!param(&it, "version", ver, sizeof(ver)) || strcmp(ver, "0.0.4") == 0)
				best_text = q > best_text ? q : best_text;
		} else if (type_is(&it, "*/*")) {
			best_text = q > best_text ? q : best_text;
		}
	}
	return best_om > 0 && best_om > best_text;
}

bool http_accepts_gzip(const char *accept_encoding)
{
	if (!accept_encoding)
		return false;
	/* An explicit "gzip;q=0" refuses gzip even when "*" is accepted. */
	double gzip_q = -1, star_q = -1;
	struct item it;
	for (const char *s = accept_encoding; (s = next_item(s, &it)) != NULL;) {
		if (type_is(&it, "gzip"))
			gzip_q = qvalue(&it);
		else if (type_is(&it, "*"))
			star_q = qvalue(&it);
	}
	return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}
