/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine API parsers: pure functions from bytes to structs.
 * The shapes and their traps are in reference/docker-engine-api.md; the
 * section numbers in the comments below point there.
 */
#include "collectors/docker/docker_parse.h"

#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ================================================================== */
/* Small helpers                                                       */
/* ================================================================== */

/* Copies src into dst (dstlen > 0), truncating at a UTF-8 character
 * boundary so that the result stays valid text. */
static void copy_text(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t n = srclen;

	if (n >= dstlen) {
		n = dstlen - 1;
		/* Back off over continuation bytes (10xxxxxx) so that a
		 * multi-byte character is not cut in half. */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void copy_cstr(char *dst, size_t dstlen, const char *src)
{
	copy_text(dst, dstlen, src, strlen(src));
}

/* A name as Docker prints it, without the leading '/'. */
static void copy_name(char *dst, size_t dstlen, const char *src)
{
	if (src[0] == '/')
		src++;
	copy_cstr(dst, dstlen, src);
}

/* Stats lines are decoded with numbers as doubles (§10): 2^64-1 appears in
 * them, and no stats figure needs more than 53 bits of precision. */
static json_t *load_real(const char *buf, size_t len)
{
	json_error_t err;

	if (!buf || len == 0)
		return NULL;
	return json_loadb(buf, len, JSON_DECODE_INT_AS_REAL, &err);
}

/* Lists, inspects and events have no uint64 sentinels, but events carry
 * timeNano (~1.8e18 > 2^53), which must stay exact for the `since`
 * dedupe: strict integers first, doubles only if an integer overflows. */
static json_t *load(const char *buf, size_t len)
{
	json_error_t err;
	json_t *root;

	if (!buf || len == 0)
		return NULL;
	root = json_loadb(buf, len, 0, &err);
	if (!root && strncmp(err.text, "too big integer", 15) == 0)
		root = json_loadb(buf, len, JSON_DECODE_INT_AS_REAL, &err);
	return root;
}

static const char *jstr(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool jnum(const json_t *obj, const char *key, double *out)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

static json_t *jobj(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_object(v) ? v : NULL;
}

/* Doubles to counters: negative and NaN are 0; anything at or above 2^64
 * (the 18446744073709551615 sentinel decodes to exactly 2^64) saturates. */
static uint64_t d2u64(double d)
{
	if (!(d > 0))
		return 0;
	if (d >= 18446744073709551615.0)
		return UINT64_MAX;
	return (uint64_t)d;
}

/* A limit: values >= 1.8e19 are the "max" sentinel (§10). */
static uint64_t d2limit(double d)
{
	if (d >= 1.8e19)
		return CSTATD_UNLIMITED;
	return d2u64(d);
}

static int64_t d2i64(double d)
{
	if (isnan(d))
		return 0;
	if (d >= 9.2233720368547758e18)
		return INT64_MAX;
	if (d <= -9.2233720368547758e18)
		return INT64_MIN;
	return (int64_t)d;
}

static uint64_t jnum_u64(const json_t *obj, const char *key)
{
	double d = 0;

	jnum(obj, key, &d);
	return d2u64(d);
}

static bool jbool(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

bool dk_valid_id(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < CSTATD_ID_LEN; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return s[CSTATD_ID_LEN] == '\0';
}

/* ================================================================== */
/* Versions and /_ping (§1)                                            */
/* ================================================================== */

int dk_parse_api_version(const char *s, size_t len, int *out)
{
	size_t i = 0;
	long major = 0, minor = 0;
	size_t nd;

	for (nd = 0; i < len && s[i] >= '0' && s[i] <= '9' && nd < 4; i++, nd++)
		major = major * 10 + (s[i] - '0');
	if (nd == 0 || i >= len || s[i] != '.')
		return -EINVAL;
	i++;
	for (nd = 0; i < len && s[i] >= '0' && s[i] <= '9' && nd < 3; i++, nd++)
		minor = minor * 10 + (s[i] - '0');
	if (nd == 0 || i != len)
		return -EINVAL;
	*out = (int)(major * 1000 + minor);
	return 0;
}

int dk_negotiate_api_version(int server, int *use)
{
	int v = server < DK_API_MAX ? server : DK_API_MAX;

	if (v < DK_API_MIN)
		return -ENOTSUP;
	*use = v;
	return 0;
}

static bool header_is(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && line[k] == ':' && strncasecmp(line, name, k) == 0;
}

int dk_parse_ping_headers(const char *buf, size_t len, struct dk_ping *out)
{
	struct dk_ping p = { 0 };
	bool have_version = false;
	size_t pos = 0;

	if (!buf)
		return -EINVAL;
	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		const char *v;
		size_t vn;

		pos += n + (nl ? 1 : 0);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		v = memchr(line, ':', n);
		if (!v)
			continue;
		v++;
		vn = n - (size_t)(v - line);
		while (vn > 0 && (*v == ' ' || *v == '\t'))
			v++, vn--;
		while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;

		if (header_is(line, n, "Api-Version")) {
			if (dk_parse_api_version(v, vn, &p.api_version) < 0)
				return -EINVAL;
			have_version = true;
		} else if (header_is(line, n, "Libpod-API-Version")) {
			p.podman = true;
		} else if (header_is(line, n, "Server")) {
			copy_text(p.server, sizeof(p.server), v, vn);
			if (vn >= 7 && strncmp(v, "Libpod/", 7) == 0)
				p.podman = true;
		}
	}
	if (!have_version)
		return -EINVAL;
	*out = p;
	return 0;
}

/* ================================================================== */
/* Label allow-list                                                    */
/* ================================================================== */

int dk_allowlist_init(struct dk_allowlist *al, const char *csv)
{
	size_t n = 0, cap = 1;
	char *p, *tok, *save = NULL;

	memset(al, 0, sizeof(*al));
	if (!csv || !*csv)
		return 0;
	for (p = (char *)csv; *p; p++)
		if (*p == ',')
			cap++;
	al->storage = strdup(csv);
	al->globs = calloc(cap, sizeof(*al->globs));
	if (!al->storage || !al->globs) {
		dk_allowlist_free(al);
		return -ENOMEM;
	}
	for (tok = strtok_r(al->storage, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t tl;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		tl = strlen(tok);
		while (tl > 0 && (tok[tl - 1] == ' ' || tok[tl - 1] == '\t'))
			tok[--tl] = '\0';
		if (tl > 0 && n < cap)
			al->globs[n++] = tok;
	}
	al->n = n;
	return 0;
}

void dk_allowlist_free(struct dk_allowlist *al)
{
	if (!al)
		return;
	free(al->globs);
	free(al->storage);
	memset(al, 0, sizeof(*al));
}

bool dk_allowlist_match(const struct dk_allowlist *al, const char *key)
{
	size_t i;

	if (!al)
		return false;
	for (i = 0; i < al->n; i++)
		if (fnmatch(al->globs[i], key, 0) == 0)
			return true;
	return false;
}

int dk_sanitize_label_key(const char *key, char *out, size_t outlen)
{
	size_t n = strlen(key), i;

	if (n == 0 || n >= outlen)
		return -ENAMETOOLONG;
	for (i = 0; i < n; i++) {
		char c = key[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_';

		out[i] = ok ? c : '_';
	}
	out[n] = '\0';
	return 0;
}

/* ================================================================== */
/* Times, states                                                       */
/* ================================================================== */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int dk_parse_time(const char *s, double *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0;
	double frac = 0, scale = 0.1, t;
	const char *p;

	if (!s || strlen(s) < 20)
		return -EINVAL;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		if (*p == '-')
			oh = -oh, om = -om;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	if (y < 1970) {
		/* "0001-01-01T00:00:00Z" is Go's zero time: never set. */
		*out = 0;
		return 0;
	}
	t = (double)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400.0 + h * 3600.0 +
	    mi * 60.0 + sec - (oh * 3600.0 + om * 60.0) + frac;
	*out = t > 0 ? t : 0;
	return 0;
}

/* A time field; absent or malformed reads as 0 ("unknown"). */
static double jtime(const json_t *obj, const char *key)
{
	const char *s = jstr(obj, key);
	double t = 0;

	if (s && dk_parse_time(s, &t) < 0)
		t = 0;
	return t;
}

enum cstatd_state dk_parse_state(const char *s)
{
	static const struct {
		const char *name;
		enum cstatd_state st;
	} map[] = {
		{ "created", CSTATD_STATE_CREATED },
		{ "running", CSTATD_STATE_RUNNING },
		{ "paused", CSTATD_STATE_PAUSED },
		{ "restarting", CSTATD_STATE_RESTARTING },
		{ "exited", CSTATD_STATE_EXITED },
		/* "removing" is on its way to destroy; it is not running. */
		{ "removing", CSTATD_STATE_EXITED },
		{ "dead", CSTATD_STATE_DEAD },
		/* Podman's libpod states, should one leak through. */
		{ "configured", CSTATD_STATE_CREATED },
		{ "stopped", CSTATD_STATE_EXITED },
	};
	size_t i;

	if (!s)
		return CSTATD_STATE_UNKNOWN;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(s, map[i].name) == 0)
			return map[i].st;
	return CSTATD_STATE_UNKNOWN;
}

enum cstatd_health dk_parse_health(const char *s)
{
	if (!s)
		return CSTATD_HEALTH_NONE;
	if (strcmp(s, "healthy") == 0)
		return CSTATD_HEALTH_HEALTHY;
	if (strcmp(s, "unhealthy") == 0)
		return CSTATD_HEALTH_UNHEALTHY;
	if (strcmp(s, "starting") == 0)
		return CSTATD_HEALTH_STARTING;
	return CSTATD_HEALTH_NONE;
}

/* ================================================================== */
/* /containers/json (§2)                                               */
/* ================================================================== */

int dk_parse_list(const char *buf, size_t len,
		  int (*cb)(void *arg, const struct dk_list_entry *e), void *arg,
		  size_t *skipped)
{
	json_t *root = load(buf, len);
	size_t i, nskip = 0;
	int rc = 0;

	if (!json_is_array(root)) {
		json_decref(root);
		return -EINVAL;
	}
	for (i = 0; i < json_array_size(root) && rc == 0; i++) {
		const json_t *el = json_array_get(root, i);
		struct dk_list_entry e;
		const char *id = jstr(el, "Id");
		const json_t *names = json_object_get(el, "Names");
		const json_t *n0 = json_is_array(names) ? json_array_get(names, 0) : NULL;

		if (!json_is_object(el) || !dk_valid_id(id)) {
			nskip++;
			continue;
		}
		memset(&e, 0, sizeof(e));
		memcpy(e.id, id, CSTATD_ID_LEN + 1);
		if (json_is_string(n0))
			copy_name(e.name, sizeof(e.name), json_string_value(n0));
		e.state = dk_parse_state(jstr(el, "State"));
		rc = cb(arg, &e);
	}
	json_decref(root);
	if (skipped)
		*skipped = nskip;
	return rc;
}

/* ================================================================== */
/* /containers/<id>/json (§3)                                          */
/* ================================================================== */

static void sort_labels(struct cstatd_label *l, unsigned n)
{
	unsigned i, j;

	for (i = 1; i < n; i++) {
		struct cstatd_label tmp = l[i];

		for (j = i; j > 0 && strcmp(l[j - 1].key, tmp.key) > 0; j--)
			l[j] = l[j - 1];
		l[j] = tmp;
	}
}

static void parse_labels(const json_t *labels, const struct dk_allowlist *al,
			 struct dk_inspect *out)
{
	const char *key;
	const json_t *val;

	if (!json_is_object(labels))
		return; /* null or absent: no labels */
	json_object_foreach((json_t *)labels, key, val) {
		char skey[CSTATD_LABEL_KEY_LEN];
		const char *v;
		unsigned i;
		bool dup = false;

		if (!json_is_string(val))
			continue;
		v = json_string_value(val);
		if (strcmp(key, "com.docker.compose.project") == 0)
			copy_cstr(out->compose_project, sizeof(out->compose_project), v);
		else if (strcmp(key, "com.docker.compose.service") == 0)
			copy_cstr(out->compose_service, sizeof(out->compose_service), v);

		if (!dk_allowlist_match(al, key))
			continue;
		if (dk_sanitize_label_key(key, skey, sizeof(skey)) < 0) {
			out->n_labels_dropped++;
			continue;
		}
		/* Two keys that sanitise alike would make a duplicate label
		 * name in the exposition; keep the first. */
		for (i = 0; i < out->n_labels; i++)
			if (strcmp(out->labels[i].key, skey) == 0)
				dup = true;
		if (dup || out->n_labels >= CSTATD_MAX_LABELS) {
			out->n_labels_dropped++;
			continue;
		}
		memcpy(out->labels[out->n_labels].key, skey, sizeof(skey));
		copy_cstr(out->labels[out->n_labels].value, CSTATD_LABEL_VALUE_LEN, v);
		out->n_labels++;
	}
	sort_labels(out->labels, out->n_labels);
}

static bool user_is_root(const char *user)
{
	size_t n;

	/* Empty means the image's USER, which cstatd cannot see without an
	 * image inspect; Docker's default there is root, so count it. */
	if (!user || !*user)
		return true;
	n = strcspn(user, ":");
	return (n == 1 && user[0] == '0') || (n == 4 && strncmp(user, "root", 4) == 0);
}

static void parse_host_config(const json_t *hc, const json_t *cfg, struct dk_inspect *out)
{
	double mem = 0, nano = 0, quota = 0, period = 0, pids = 0, maxretry = 0;
	const json_t *pl = json_object_get(hc, "PidsLimit");
	const json_t *rp = jobj(hc, "RestartPolicy");
	const json_t *capadd = json_object_get(hc, "CapAdd");
	const char *cpuset = jstr(hc, "CpusetCpus");
	const char *policy = rp ? jstr(rp, "Name") : NULL;
	const char *nm = jstr(hc, "NetworkMode");
	uint32_t r = 0;

	if (nm)
		copy_cstr(out->network_mode, sizeof(out->network_mode), nm);

	/* Limits are whole numbers; one that rounds down to 0 reads as 0,
	 * "none", rather than becoming a limit of 0 (or a period of 0, a
	 * divisor for whoever computes quota/period). */
	jnum(hc, "Memory", &mem);
	out->mem_limit = mem >= 1 ? d2u64(mem) : CSTATD_UNLIMITED;
	if (mem < 1)
		r |= CSTATD_RISK_NO_MEMORY_LIMIT;

	/* NanoCpus and CpuQuota are exclusive (§3). */
	jnum(hc, "NanoCpus", &nano);
	jnum(hc, "CpuQuota", &quota);
	jnum(hc, "CpuPeriod", &period);
	out->cpu_period_usec = 100000;
	out->cpu_quota_usec = CSTATD_UNLIMITED;
	if (nano / 1e9 * 100000.0 >= 1) {
		out->cpu_quota_usec = d2u64(nano / 1e9 * 100000.0);
	} else if (quota >= 1) {
		out->cpu_quota_usec = d2u64(quota);
		if (period >= 1)
			out->cpu_period_usec = d2u64(period);
	}
	/* A cpuset caps usage at its CPU count: a limit of sorts. */
	if (out->cpu_quota_usec == CSTATD_UNLIMITED && !(cpuset && *cpuset))
		r |= CSTATD_RISK_NO_CPU_LIMIT;

	/* PidsLimit is nullable; null, 0 and -1 all mean unlimited. */
	if (json_is_number(pl))
		pids = json_number_value(pl);
	out->pids_limit = pids >= 1 ? d2u64(pids) : CSTATD_UNLIMITED;
	if (pids < 1)
		r |= CSTATD_RISK_NO_PIDS_LIMIT;

	if (jbool(hc, "Privileged"))
		r |= CSTATD_RISK_PRIVILEGED;
	if (!jbool(hc, "ReadonlyRootfs"))
		r |= CSTATD_RISK_WRITABLE_ROOTFS;
	if (json_is_array(capadd) && json_array_size(capadd) > 0)
		r |= CSTATD_RISK_ADDED_CAPABILITIES;
	if (policy) {
		if (rp)
			jnum(rp, "MaximumRetryCount", &maxretry);
		if (strcmp(policy, "always") == 0 || strcmp(policy, "unless-stopped") == 0 ||
		    (strcmp(policy, "on-failure") == 0 && maxretry <= 0))
			r |= CSTATD_RISK_NO_RESTART_LIMIT;
	}
	if (cfg) {
		if (user_is_root(jstr(cfg, "User")))
			r |= CSTATD_RISK_RUNS_AS_ROOT;
		out->risks_known = true;
	}
	out->risks = r;
}

int dk_parse_inspect(const char *buf, size_t len, const struct dk_allowlist *al,
		     struct dk_inspect *out)
{
	json_t *root = load(buf, len);
	const json_t *state, *cfg, *hc, *health;
	const char *id, *status, *s;
	struct dk_inspect *in;
	double d;

	if (!json_is_object(root))
		goto invalid;
	id = jstr(root, "Id");
	state = jobj(root, "State");
	status = state ? jstr(state, "Status") : NULL;
	if (!dk_valid_id(id) || !status)
		goto invalid;

	/* Built in a scratch copy so that `out` stays untouched on failure. */
	in = calloc(1, sizeof(*in));
	if (!in) {
		json_decref(root);
		return -ENOMEM;
	}
	memcpy(in->id, id, CSTATD_ID_LEN + 1);
	if ((s = jstr(root, "Name")))
		copy_name(in->name, sizeof(in->name), s);
	if ((s = jstr(root, "Image")))
		copy_cstr(in->image_id, sizeof(in->image_id), s);
	in->created_at = jtime(root, "Created");
	if (jnum(root, "RestartCount", &d))
		in->restart_count = d2i64(d);

	in->state = dk_parse_state(status);
	if (jnum(state, "Pid", &d) && d > 0 && d < 2147483647.0)
		in->pid = (int)d;
	in->oom_killed = jbool(state, "OOMKilled");
	if (jnum(state, "ExitCode", &d))
		in->exit_code = d2i64(d);
	in->started_at = jtime(state, "StartedAt");
	in->finished_at = jtime(state, "FinishedAt");
	health = jobj(state, "Health");
	in->health = health ? dk_parse_health(jstr(health, "Status")) : CSTATD_HEALTH_NONE;

	cfg = jobj(root, "Config");
	if (cfg) {
		if ((s = jstr(cfg, "Image")))
			copy_cstr(in->image, sizeof(in->image), s);
		parse_labels(json_object_get(cfg, "Labels"), al, in);
	}
	hc = jobj(root, "HostConfig");
	if (hc) {
		parse_host_config(hc, cfg, in);
	} else {
		in->mem_limit = CSTATD_UNLIMITED;
		in->cpu_quota_usec = CSTATD_UNLIMITED;
		in->cpu_period_usec = 100000;
		in->pids_limit = CSTATD_UNLIMITED;
	}

	*out = *in;
	free(in);
	json_decref(root);
	return 0;
invalid:
	json_decref(root);
	return -EINVAL;
}

/* ================================================================== */
/* /events (§6)                                                        */
/* ================================================================== */

static enum dk_action parse_action(const char *a)
{
	static const struct {
		const char *name;
		enum dk_action act;
	} map[] = {
		{ "create", DK_EV_CREATE },   { "start", DK_EV_START },
		{ "restart", DK_EV_RESTART }, { "stop", DK_EV_STOP },
		{ "kill", DK_EV_KILL },       { "die", DK_EV_DIE },
		{ "died", DK_EV_DIE },        { "oom", DK_EV_OOM },
		{ "pause", DK_EV_PAUSE },     { "unpause", DK_EV_UNPAUSE },
		{ "destroy", DK_EV_DESTROY }, { "remove", DK_EV_DESTROY },
		{ "rename", DK_EV_RENAME },   { "update", DK_EV_UPDATE },
	};
	size_t i;

	if (!a)
		return DK_EV_OTHER;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(a, map[i].name) == 0)
			return map[i].act;
	if (strncmp(a, "health_status", 13) == 0 && (a[13] == '\0' || a[13] == ':'))
		return DK_EV_HEALTH;
	return DK_EV_OTHER;
}

/* "137" → 137; attributes are always strings in Docker, but accept numbers. */
static bool attr_int(const json_t *attrs, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(attrs, key);
	const char *s;
	char *end;
	long long x;

	if (json_is_number(v)) {
		*out = d2i64(json_number_value(v));
		return true;
	}
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	if (!*s)
		return false;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = x;
	return true;
}

int dk_parse_event(const char *buf, size_t len, struct dk_event *out)
{
	json_t *root = load(buf, len);
	const json_t *actor, *attrs, *v;
	const char *type, *action, *id, *s;
	struct dk_event ev;
	double d;

	if (!json_is_object(root))
		goto invalid;
	memset(&ev, 0, sizeof(ev));
	actor = jobj(root, "Actor");
	attrs = actor ? jobj(actor, "Attributes") : NULL;

	/* API >= 1.52 has only Type/Action/Actor; older ones add the legacy
	 * status/id/from keys, used here only as a fallback. */
	type = jstr(root, "Type");
	action = jstr(root, "Action");
	if (!action)
		action = jstr(root, "status");
	id = actor ? jstr(actor, "ID") : NULL;
	if (!id)
		id = jstr(root, "id");
	if (!type && !action)
		goto invalid;
	/* Before API 1.22 there was no Type; only container events had ids. */
	ev.is_container = type ? strcmp(type, "container") == 0 : id != NULL;
	ev.action = parse_action(action);

	v = json_object_get(root, "timeNano");
	if (json_is_integer(v))
		ev.time_nano = (int64_t)json_integer_value(v);
	else if (jnum(root, "timeNano", &d))
		ev.time_nano = d2i64(d);
	else if (jnum(root, "time", &d))
		ev.time_nano = d2i64(d * 1e9);

	if (!ev.is_container) {
		*out = ev;
		json_decref(root);
		return 0;
	}
	if (!dk_valid_id(id))
		goto invalid;
	memcpy(ev.id, id, CSTATD_ID_LEN + 1);

	if (attrs) {
		if ((s = jstr(attrs, "name")))
			copy_name(ev.name, sizeof(ev.name), s);
		if ((s = jstr(attrs, "oldName")))
			copy_name(ev.old_name, sizeof(ev.old_name), s);
		if (ev.action == DK_EV_DIE)
			ev.has_exit_code = attr_int(attrs, "exitCode", &ev.exit_code);
		v = json_object_get(attrs, "oomKilled");
		ev.oom_killed = json_is_true(v) ||
				(json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
	}
	if (ev.action == DK_EV_HEALTH) {
		/* Docker: "health_status: healthy"; Podman: plain
		 * "health_status" with a top-level HealthStatus. */
		const char *colon = strchr(action, ':');

		if (colon) {
			colon++;
			while (*colon == ' ')
				colon++;
			ev.health = dk_parse_health(colon);
		} else {
			ev.health = dk_parse_health(jstr(root, "HealthStatus"));
		}
	}
	*out = ev;
	json_decref(root);
	return 0;
invalid:
	json_decref(root);
	return -EINVAL;
}

/* ================================================================== */
/* /containers/<id>/stats (§4, §5, §9)                                 */
/* ================================================================== */

struct memkeys {
	const json_t *st; /* memory_stats.stats, may be NULL */
	bool v1;
};

/* v1 hierarchical total_<key> when present, else <key>. */
static bool mem_get(const struct memkeys *mk, const char *v1key, const char *v2key,
		    uint64_t *out)
{
	double d;
	char total[64];

	if (!mk->st)
		return false;
	if (mk->v1) {
		snprintf(total, sizeof(total), "total_%s", v1key);
		if (jnum(mk->st, total, &d) || jnum(mk->st, v1key, &d)) {
			*out = d2u64(d);
			return true;
		}
		return false;
	}
	if (jnum(mk->st, v2key, &d)) {
		*out = d2u64(d);
		return true;
	}
	return false;
}

static void parse_memory(const json_t *ms, struct cstatd_sample *s)
{
	struct memkeys mk = { 0 };
	struct cstatd_memory_stat *m = &s->mem;
	double usage = 0, limit = 0;
	uint64_t inactive = 0;
	bool has_usage, known = false;

	if (!ms)
		return;
	mk.st = jobj(ms, "stats");
	/* cgroup v1 bodies carry cache/rss/total_* keys; v2 never does. */
	mk.v1 = mk.st && (json_object_get(mk.st, "total_inactive_file") ||
			  json_object_get(mk.st, "rss") || json_object_get(mk.st, "cache"));

	has_usage = jnum(ms, "usage", &usage);
	if (has_usage) {
		s->mem_current = d2u64(usage);
		s->have |= CSTATD_HAVE_MEM_CURRENT;
	}
	if (jnum(ms, "limit", &limit) && limit >= 1) { /* under 1: as 0, omitted */
		s->mem_max = d2limit(limit);
		s->have |= CSTATD_HAVE_MEM_MAX;
	}

	known |= mem_get(&mk, "rss", "anon", &m->anon);
	known |= mem_get(&mk, "cache", "file", &m->file);
	known |= mem_get(&mk, "shmem", "shmem", &m->shmem);
	known |= mem_get(&mk, "mapped_file", "file_mapped", &m->file_mapped);
	known |= mem_get(&mk, "dirty", "file_dirty", &m->file_dirty);
	known |= mem_get(&mk, "writeback", "file_writeback", &m->file_writeback);
	known |= mem_get(&mk, "active_anon", "active_anon", &m->active_anon);
	known |= mem_get(&mk, "inactive_anon", "inactive_anon", &m->inactive_anon);
	known |= mem_get(&mk, "active_file", "active_file", &m->active_file);
	known |= mem_get(&mk, "inactive_file", "inactive_file", &m->inactive_file);
	known |= mem_get(&mk, "pgfault", "pgfault", &m->pgfault);
	known |= mem_get(&mk, "pgmajfault", "pgmajfault", &m->pgmajfault);
	if (known)
		s->have |= CSTATD_HAVE_MEM_STAT;

	if (has_usage) {
		/* docker/cli calculateMemUsageUnixNoCache: v1 looks at
		 * total_inactive_file first, v2 at inactive_file. */
		double d;
		bool have_inactive = false;

		if (mk.st && jnum(mk.st, "total_inactive_file", &d)) {
			inactive = d2u64(d);
			have_inactive = true;
		} else if (mk.st && jnum(mk.st, "inactive_file", &d)) {
			inactive = d2u64(d);
			have_inactive = true;
		}
		s->working_set = (have_inactive && inactive < s->mem_current)
					 ? s->mem_current - inactive
					 : s->mem_current;
		s->have |= CSTATD_HAVE_WORKING_SET;
	}
}

static void parse_cpu(const json_t *cs, struct cstatd_sample *s)
{
	const json_t *cu = cs ? jobj(cs, "cpu_usage") : NULL;
	const json_t *th = cs ? jobj(cs, "throttling_data") : NULL;
	double total;

	if (cu && jnum(cu, "total_usage", &total)) {
		s->cpu.usage_usec = d2u64(total) / 1000;
		s->cpu.user_usec = jnum_u64(cu, "usage_in_usermode") / 1000;
		s->cpu.system_usec = jnum_u64(cu, "usage_in_kernelmode") / 1000;
		s->have |= CSTATD_HAVE_CPU_STAT;
	}
	if (th && jnum_u64(th, "periods") > 0) {
		s->cpu.nr_periods = jnum_u64(th, "periods");
		s->cpu.nr_throttled = jnum_u64(th, "throttled_periods");
		s->cpu.throttled_usec = jnum_u64(th, "throttled_time") / 1000;
		s->cpu.has_bandwidth = true;
		s->have |= CSTATD_HAVE_CPU_BANDWIDTH;
	}
}

static struct cstatd_io_device *io_device(struct cstatd_io_stat *io, uint32_t major,
					  uint32_t minor, uint64_t *dropped_keys,
					  unsigned *n_dropped_keys)
{
	uint64_t key = (uint64_t)major << 32 | minor;
	unsigned i;

	for (i = 0; i < io->n_devices; i++)
		if (io->dev[i].major == major && io->dev[i].minor == minor)
			return &io->dev[i];
	if (io->n_devices < CSTATD_IO_MAX_DEVICES) {
		struct cstatd_io_device *dv = &io->dev[io->n_devices++];

		memset(dv, 0, sizeof(*dv));
		dv->major = major;
		dv->minor = minor;
		return dv;
	}
	/* Count each dropped device once, not once per op. */
	for (i = 0; i < *n_dropped_keys; i++)
		if (dropped_keys[i] == key)
			return NULL;
	if (*n_dropped_keys < 64)
		dropped_keys[(*n_dropped_keys)++] = key;
	io->n_dropped++;
	return NULL;
}

static void parse_blkio(const json_t *bs, struct dk_stats *st)
{
	struct cstatd_sample *s = &st->s;
	const json_t *arr;
	uint64_t dropped_keys[64];
	unsigned n_dropped_keys = 0;
	size_t i;

	if (!bs || !json_object_get(bs, "io_service_bytes_recursive"))
		return;
	/* null means "no IO recorded yet" (v2) and is a valid zero. */
	arr = json_object_get(bs, "io_service_bytes_recursive");
	memset(&st->io, 0, sizeof(st->io));
	s->have |= CSTATD_HAVE_IO_STAT;
	if (!json_is_array(arr))
		return;
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *e = json_array_get(arr, i);
		const char *op = jstr(e, "op");
		double maj = -1, min = -1, val = 0;
		struct cstatd_io_device *dv;
		bool rd, wr;

		if (!op || !jnum(e, "major", &maj) || !jnum(e, "minor", &min) ||
		    !jnum(e, "value", &val) || maj < 0 || min < 0 || maj > 4294967295.0 ||
		    min > 4294967295.0)
			continue;
		/* Exact op names: v1 also has Sync/Async/Total, Podman
		 * rios/wios/dbytes/dios (§9). */
		rd = strcasecmp(op, "read") == 0;
		wr = strcasecmp(op, "write") == 0;
		if (!rd && !wr)
			continue;
		dv =
		    io_device(&st->io, (uint32_t)maj, (uint32_t)min, dropped_keys, &n_dropped_keys);
		if (!dv)
			continue;
		if (rd)
			dv->rbytes += d2u64(val);
		else
			dv->wbytes += d2u64(val);
	}
}

static void parse_networks(const json_t *nets, struct dk_stats *st)
{
	struct cstatd_sample *s = &st->s;
	struct cstatd_netdev *net = &st->net;
	const char *name;
	const json_t *v;

	if (!json_is_object(nets))
		return; /* absent for --network host/none and when stopped */
	memset(net, 0, sizeof(*net));
	s->have |= CSTATD_HAVE_NETDEV;
	json_object_foreach((json_t *)nets, name, v) {
		struct cstatd_net_if *nif;

		if (!json_is_object(v) || strcmp(name, "lo") == 0)
			continue;
		if (net->n_ifs >= CSTATD_NET_MAX_IFS) {
			net->n_dropped++;
			continue;
		}
		nif = &net->ifs[net->n_ifs++];
		copy_cstr(nif->name, sizeof(nif->name), name);
		nif->rx_bytes = jnum_u64(v, "rx_bytes");
		nif->rx_packets = jnum_u64(v, "rx_packets");
		nif->rx_errors = jnum_u64(v, "rx_errors");
		nif->rx_dropped = jnum_u64(v, "rx_dropped");
		nif->tx_bytes = jnum_u64(v, "tx_bytes");
		nif->tx_packets = jnum_u64(v, "tx_packets");
		nif->tx_errors = jnum_u64(v, "tx_errors");
		nif->tx_dropped = jnum_u64(v, "tx_dropped");
	}
}

int dk_parse_stats(const char *buf, size_t len, struct dk_stats *out)
{
	json_t *root = load_real(buf, len);
	const json_t *cs, *ms, *ps;
	const char *read, *id;
	struct dk_stats *st;
	double d;

	if (!json_is_object(root))
		goto invalid;
	cs = jobj(root, "cpu_stats");
	ms = jobj(root, "memory_stats");
	read = jstr(root, "read");
	/* An error body ({"message":...}) or anything else without the
	 * stats shape is not a sample. */
	if (!cs && !ms && !read)
		goto invalid;

	st = calloc(1, sizeof(*st));
	if (!st) {
		json_decref(root);
		return -ENOMEM;
	}
	id = jstr(root, "id");
	if (!id)
		id = jstr(root, "Id"); /* Podman's libpod path */
	if (id && strlen(id) <= CSTATD_ID_LEN)
		memcpy(st->id, id, strlen(id) + 1);

	if (read && dk_parse_time(read, &st->read) == 0 && st->read == 0) {
		/* read = 0001-01-01T00:00:00Z: the empty sample of a stopped
		 * or restarting container (§4.2). */
		st->empty = true;
		goto done;
	}

	parse_cpu(cs, &st->s);
	parse_memory(ms, &st->s);
	ps = jobj(root, "pids_stats");
	if (ps && jnum(ps, "current", &d)) {
		st->s.pids_current = d2u64(d);
		st->s.have |= CSTATD_HAVE_PIDS_CURRENT;
	}
	/* pids.max "max" is 2^64-1 here; absent on Podman; 0 = omitted. */
	if (ps && jnum(ps, "limit", &d) && d >= 1) {
		st->s.pids_max = d2limit(d);
		st->s.have |= CSTATD_HAVE_PIDS_MAX;
	}
	parse_blkio(jobj(root, "blkio_stats"), st);
	parse_networks(json_object_get(root, "networks"), st);

	/* Without a read time, an all-zero sample with no memory figures is
	 * the same empty sample. */
	if (!read && st->s.cpu.usage_usec == 0 && !(st->s.have & CSTATD_HAVE_MEM_CURRENT))
		st->empty = true;
	if (st->empty)
		memset(&st->s, 0, sizeof(st->s));
done:
	*out = *st;
	free(st);
	json_decref(root);
	return 0;
invalid:
	json_decref(root);
	return -EINVAL;
}

/* ================================================================== */
/* /proc/<pid>/cgroup (§8)                                             */
/* ================================================================== */

int dk_parse_proc_cgroup(const char *buf, size_t len, const char *id, char *out,
			 size_t outlen)
{
	size_t pos = 0;

	if (!buf || !dk_valid_id(id))
		return -ENOENT;
	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		const char *path, *hit, *end;
		size_t plen, i;

		pos += n + (nl ? 1 : 0);
		if (n < 4 || memcmp(line, "0::", 3) != 0)
			continue;
		path = line + 3;
		plen = n - 3;
		/* A NUL would cut the copied path short of the id: not the
		 * kernel's, and not a path to use. */
		if (path[0] != '/' || memchr(path, '\0', plen))
			return -ENOENT;
		/* A foreign cgroup namespace shows "/.." prefixes. */
		for (i = 0; i + 3 <= plen; i++)
			if (path[i] == '/' && path[i + 1] == '.' && path[i + 2] == '.' &&
			    (i + 3 == plen || path[i + 3] == '/'))
				return -ENOENT;
		hit = memmem(path, plen, id, CSTATD_ID_LEN);
		if (!hit)
			return -ENOENT;
		/* Cut after the component holding the id: PID 1 may sit in a
		 * child (docker-in-docker's /init); the scope has the totals. */
		end = memchr(hit, '/', plen - (size_t)(hit - path));
		if (!end)
			end = path + plen;
		/* Without the leading '/' (all of them: "//x" must not
		 * become the absolute "/x"); hit is past them, as path[0]
		 * is '/' and the id has none. */
		while (path < hit && *path == '/')
			path++;
		n = (size_t)(end - path);
		if (n >= outlen)
			return -ENAMETOOLONG;
		memcpy(out, path, n);
		out[n] = '\0';
		return 0;
	}
	return -ENOENT;
}
