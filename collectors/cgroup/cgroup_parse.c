/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsers for the cgroup v2 interface files (see cgroup_parse.h).
 *
 * Every parser works on (buf, len) and never reads past len: the bytes come
 * straight from pread() and carry no terminating NUL, so no libc routine that
 * expects a C string (strtoull, sscanf, strchr) is used on them. Numbers go
 * through parse_u64(), which is bounded and detects overflow.
 *
 * Each parser fills a local copy and assigns it to the caller's output only
 * once the whole file has been accepted, so a rejected file leaves the
 * previous sweep's values in place.
 *
 * Torn reads. The kernel ends every line of the keyed and pid-list files with
 * '\n' (seq_printf in the controllers' show() callbacks). Those parsers
 * therefore reject a last line without its newline: that is how a file cut
 * mid-number is told apart from a short value. Single-value files (and
 * cpu.max) accept surrounding whitespace with or without the newline, as the
 * header promises. io.stat has its own rule, explained at its parser.
 */
#include "cgroup_parse.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Bounded scanning helpers                                                 */
/* ------------------------------------------------------------------------ */

/* A view into the caller's buffer; never NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static bool span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

/*
 * The whole span must be an unsigned decimal: at least one digit, no sign,
 * no whitespace, and the value must fit in 64 bits.
 */
static int parse_u64(struct span s, uint64_t *out)
{
	uint64_t v = 0;

	if (s.n == 0)
		return -EINVAL;
	for (size_t i = 0; i < s.n; i++) {
		unsigned d;

		if (!is_digit(s.p[i]))
			return -EINVAL;
		d = (unsigned)(s.p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* A u64, or the literal `max` for "no limit". */
static int parse_u64_or_max(struct span s, uint64_t *out)
{
	if (span_eq(s, "max")) {
		*out = CSTATD_UNLIMITED;
		return 0;
	}
	return parse_u64(s, out);
}

/*
 * A PSI average, printed by the kernel as "%lu.%02lu" (percent). The digits
 * are read as one integer and divided by a power of ten once, so that "70.24"
 * yields exactly the double nearest to 70.24 (a single correctly rounded
 * division), the same value a C literal or strtod would give.
 */
static int parse_decimal(struct span s, double *out)
{
	char digits[20];
	size_t n_digits = 0;
	size_t n_frac = 0;
	bool seen_point = false;
	double scale = 1.0;
	uint64_t mantissa;

	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];

		if (c == '.' && !seen_point && n_digits > 0) {
			seen_point = true;
			continue;
		}
		if (!is_digit(c) || n_digits == sizeof(digits))
			return -EINVAL;
		digits[n_digits++] = c;
		if (seen_point)
			n_frac++;
	}
	if (n_digits == 0 || (seen_point && n_frac == 0))
		return -EINVAL;
	if (parse_u64((struct span){digits, n_digits}, &mantissa) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n_frac; i++)
		scale *= 10.0;
	*out = (double)mantissa / scale;
	return 0;
}

/*
 * Takes the next line off *rest. `terminated` tells whether it ended with
 * '\n' (the newline is not part of the line). Returns false at the end.
 */
static bool next_line(struct span *rest, struct span *line, bool *terminated)
{
	const char *nl;

	if (rest->n == 0)
		return false;
	nl = memchr(rest->p, '\n', rest->n);
	line->p = rest->p;
	if (nl) {
		line->n = (size_t)(nl - rest->p);
		rest->p = nl + 1;
		rest->n -= line->n + 1;
		*terminated = true;
	} else {
		line->n = rest->n;
		rest->p += rest->n;
		rest->n = 0;
		*terminated = false;
	}
	return true;
}

/*
 * Takes the next run of non-whitespace off *rest, skipping whitespace first
 * (blanks only when `blanks_only`, so that a token never spans lines).
 */
static bool next_token_ex(struct span *rest, struct span *tok, bool blanks_only)
{
	size_t i = 0;
	size_t start;

	/* Also keeps a NULL buffer of length 0 free of pointer arithmetic. */
	if (rest->n == 0)
		return false;
	while (i < rest->n && (blanks_only ? is_blank(rest->p[i]) : is_space(rest->p[i])))
		i++;
	if (i == rest->n) {
		rest->p += rest->n;
		rest->n = 0;
		return false;
	}
	start = i;
	while (i < rest->n && !is_space(rest->p[i]))
		i++;
	tok->p = rest->p + start;
	tok->n = i - start;
	rest->p += i;
	rest->n -= i;
	return true;
}

static bool next_token(struct span *rest, struct span *tok)
{
	return next_token_ex(rest, tok, true);
}

/* Splits "key=value" at the first '='; both sides must be non-empty. */
static bool split_kv(struct span tok, struct span *key, struct span *value)
{
	const char *eq = memchr(tok.p, '=', tok.n);

	if (!eq || eq == tok.p || eq == tok.p + tok.n - 1)
		return false;
	key->p = tok.p;
	key->n = (size_t)(eq - tok.p);
	value->p = eq + 1;
	value->n = tok.n - key->n - 1;
	return true;
}

/* ------------------------------------------------------------------------ */
/* Flat keyed files: cpu.stat, memory.stat, memory.events, cgroup.events    */
/* ------------------------------------------------------------------------ */

/* One key the caller wants, and where its u64 goes in the caller's struct. */
struct flat_key {
	const char *name;
	size_t offset;
};

/*
 * Reads "KEY VALUE\n" lines into the uint64_t fields of *dst named by `keys`
 * (at most 32) and reports which were found in *seen. Unknown keys are
 * skipped without looking at their value, since the kernel adds keys
 * anywhere and a future one need not be a u64; they must still have a value,
 * or the line is not of the file's shape. A known key whose value is not a
 * u64 makes the file invalid. *dst may be partly written on failure, so
 * callers pass a local copy.
 */
static int parse_flat_keyed(const char *buf, size_t len, const struct flat_key *keys, size_t n_keys,
                            void *dst, uint32_t *seen)
{
	struct span rest = {buf, len};
	struct span line;
	bool terminated;
	uint32_t found = 0;

	while (next_line(&rest, &line, &terminated)) {
		struct span key, value, extra;
		size_t k;

		if (!terminated)
			return -EINVAL;
		if (!next_token(&line, &key) || !next_token(&line, &value))
			return -EINVAL;
		for (k = 0; k < n_keys; k++)
			if (span_eq(key, keys[k].name))
				break;
		if (k == n_keys)
			continue;
		if (next_token(&line, &extra))
			return -EINVAL;
		if (parse_u64(value, (uint64_t *)((char *)dst + keys[k].offset)) < 0)
			return -EINVAL;
		found |= UINT32_C(1) << k;
	}
	*seen = found;
	return 0;
}

/* Initialises a struct flat_key: {KEY(struct x, field)}. */
#define KEY(type, field) #field, offsetof(type, field)

/* ------------------------------------------------------------------------ */
/* Single values and cpu.max                                                */
/* ------------------------------------------------------------------------ */

/* Drops leading and trailing whitespace (including the final '\n'). */
static struct span trim(const char *buf, size_t len)
{
	struct span s = {buf, len};

	while (s.n > 0 && is_space(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && is_space(s.p[s.n - 1]))
		s.n--;
	return s;
}

int cg_parse_u64_or_max(const char *buf, size_t len, uint64_t *out)
{
	uint64_t v;

	if (parse_u64_or_max(trim(buf, len), &v) < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int cg_parse_cpu_max(const char *buf, size_t len, struct cstatd_cpu_max *out)
{
	/* Writing a lone quota to cpu.max keeps the default period. */
	struct cstatd_cpu_max v = {.period_usec = 100000};
	struct span rest = trim(buf, len);
	struct span quota, period, extra;

	if (!next_token(&rest, &quota) || parse_u64_or_max(quota, &v.quota_usec) < 0)
		return -EINVAL;
	if (next_token(&rest, &period)) {
		/* The kernel refuses a zero period; one here is garbage, and
		 * it would be a divisor for whoever computes quota/period. */
		if (parse_u64(period, &v.period_usec) < 0 || v.period_usec == 0)
			return -EINVAL;
		if (next_token(&rest, &extra))
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* cpu.stat, memory.stat, memory.events                                     */
/* ------------------------------------------------------------------------ */

int cg_parse_cpu_stat(const char *buf, size_t len, struct cstatd_cpu_stat *out)
{
	/* usage/user/system come from the cgroup core and are always there;
	 * the last three appear only with the cpu controller enabled. */
	static const struct flat_key keys[] = {
	    {KEY(struct cstatd_cpu_stat, usage_usec)},
	    {KEY(struct cstatd_cpu_stat, user_usec)},
	    {KEY(struct cstatd_cpu_stat, system_usec)},
	    {KEY(struct cstatd_cpu_stat, nr_periods)},
	    {KEY(struct cstatd_cpu_stat, nr_throttled)},
	    {KEY(struct cstatd_cpu_stat, throttled_usec)},
	};
	const uint32_t usage_bit = 1u << 0;
	const uint32_t bandwidth_bits = (1u << 3) | (1u << 4) | (1u << 5);
	struct cstatd_cpu_stat v = {0};
	uint32_t seen;

	if (parse_flat_keyed(buf, len, keys, sizeof(keys) / sizeof(keys[0]), &v, &seen) < 0)
		return -EINVAL;
	if (!(seen & usage_bit))
		return -EINVAL;
	v.has_bandwidth = (seen & bandwidth_bits) != 0;
	*out = v;
	return 0;
}

int cg_parse_memory_stat(const char *buf, size_t len, struct cstatd_memory_stat *out)
{
	static const struct flat_key keys[] = {
	    {KEY(struct cstatd_memory_stat, anon)},
	    {KEY(struct cstatd_memory_stat, file)},
	    {KEY(struct cstatd_memory_stat, kernel)},
	    {KEY(struct cstatd_memory_stat, shmem)},
	    {KEY(struct cstatd_memory_stat, file_mapped)},
	    {KEY(struct cstatd_memory_stat, file_dirty)},
	    {KEY(struct cstatd_memory_stat, file_writeback)},
	    {KEY(struct cstatd_memory_stat, active_anon)},
	    {KEY(struct cstatd_memory_stat, inactive_anon)},
	    {KEY(struct cstatd_memory_stat, active_file)},
	    {KEY(struct cstatd_memory_stat, inactive_file)},
	    {KEY(struct cstatd_memory_stat, pgfault)},
	    {KEY(struct cstatd_memory_stat, pgmajfault)},
	};
	struct cstatd_memory_stat v = {0};
	uint32_t seen;

	if (parse_flat_keyed(buf, len, keys, sizeof(keys) / sizeof(keys[0]), &v, &seen) < 0)
		return -EINVAL;
	if (seen == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int cg_parse_memory_events(const char *buf, size_t len, struct cstatd_memory_events *out)
{
	static const struct flat_key keys[] = {
	    {KEY(struct cstatd_memory_events, low)},
	    {KEY(struct cstatd_memory_events, high)},
	    {KEY(struct cstatd_memory_events, max)},
	    {KEY(struct cstatd_memory_events, oom)},
	    {KEY(struct cstatd_memory_events, oom_kill)},
	    {KEY(struct cstatd_memory_events, oom_group_kill)},
	};
	struct cstatd_memory_events v = {0};
	uint32_t seen;

	if (parse_flat_keyed(buf, len, keys, sizeof(keys) / sizeof(keys[0]), &v, &seen) < 0)
		return -EINVAL;
	/* The kernel always prints low/high/max/oom; a file without any known
	 * key is an empty or foreign read, not "no events". */
	if (seen == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* io.stat                                                                  */
/* ------------------------------------------------------------------------ */

/* "MAJ:MIN", each part a decimal that fits in 32 bits. */
static int parse_dev(struct span tok, uint32_t *major, uint32_t *minor)
{
	const char *colon = memchr(tok.p, ':', tok.n);
	uint64_t maj, min;
	size_t maj_n;

	if (!colon)
		return -EINVAL;
	maj_n = (size_t)(colon - tok.p);
	if (parse_u64((struct span){tok.p, maj_n}, &maj) < 0 ||
	    parse_u64((struct span){colon + 1, tok.n - maj_n - 1}, &min) < 0)
		return -EINVAL;
	if (maj > UINT32_MAX || min > UINT32_MAX)
		return -EINVAL;
	*major = (uint32_t)maj;
	*minor = (uint32_t)min;
	return 0;
}

/* Adds a finished device unless it printed none of the standard keys. */
static void io_flush(struct cstatd_io_stat *st, const struct cstatd_io_device *dev, bool has_std)
{
	if (!has_std)
		return;
	if (st->n_devices < CSTATD_IO_MAX_DEVICES)
		st->dev[st->n_devices++] = *dev;
	else
		st->n_dropped++;
}

/*
 * Returns where the standard key `key` is stored in *dev, or NULL for a key
 * cstatd does not read (cost.*, use_delay, avg_lat, ...).
 */
static uint64_t *io_field(struct cstatd_io_device *dev, struct span key)
{
	if (span_eq(key, "rbytes"))
		return &dev->rbytes;
	if (span_eq(key, "wbytes"))
		return &dev->wbytes;
	if (span_eq(key, "rios"))
		return &dev->rios;
	if (span_eq(key, "wios"))
		return &dev->wios;
	if (span_eq(key, "dbytes"))
		return &dev->dbytes;
	if (span_eq(key, "dios"))
		return &dev->dios;
	return NULL;
}

/*
 * io.stat is read as a stream of tokens, not lines. blkcg_print_one_stat()
 * prints "MAJ:MIN " first and only then decides whether the device has
 * anything to show; when it has not, no newline follows. Real files thus
 * hold "7:7 7:6 7:5 7:4 rbytes=..." (three stat-less devices run into the
 * fourth's line) or end in "7:0" with no newline. So: a MAJ:MIN token starts
 * a device, k=v tokens belong to the latest device, and a device with none
 * of the six standard keys is skipped.
 *
 * Because every line that carries stats does end with '\n', a k=v token
 * after the last newline can only come from a torn read; that is rejected,
 * while a trailing run of bare MAJ:MIN tokens is valid.
 */
int cg_parse_io_stat(const char *buf, size_t len, struct cstatd_io_stat *out)
{
	struct cstatd_io_stat st = {0};
	struct cstatd_io_device dev = {0};
	bool in_dev = false;
	bool has_std = false;
	const char *tail = buf;
	struct span rest = {buf, len};
	struct span tok;

	for (size_t i = len; i > 0; i--) {
		if (buf[i - 1] == '\n') {
			tail = buf + i;
			break;
		}
	}

	while (next_token_ex(&rest, &tok, false)) {
		struct span key, value;

		if (split_kv(tok, &key, &value)) {
			uint64_t *field;

			if (!in_dev || tok.p >= tail)
				return -EINVAL;
			field = io_field(&dev, key);
			if (!field)
				continue;
			if (parse_u64(value, field) < 0)
				return -EINVAL;
			has_std = true;
			continue;
		}
		if (in_dev)
			io_flush(&st, &dev, has_std);
		memset(&dev, 0, sizeof(dev));
		if (parse_dev(tok, &dev.major, &dev.minor) < 0)
			return -EINVAL;
		in_dev = true;
		has_std = false;
	}
	if (in_dev)
		io_flush(&st, &dev, has_std);
	*out = st;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* PSI: cpu/memory/io.pressure                                              */
/* ------------------------------------------------------------------------ */

/* The four values of one "some"/"full" line. */
struct psi_line {
	double avg10, avg60, avg300;
	uint64_t total_usec;
};

/* Digits at *p (at most 15, so that ip * 100 cannot overflow). */
static bool take_digits(const char **p, const char *end, uint64_t *out)
{
	const char *q = *p;
	uint64_t v = 0;
	while (q < end && is_digit(*q) && q - *p < 15)
		v = v * 10 + (uint64_t)(*q++ - '0');
	if (q == *p || (q < end && is_digit(*q)))
		return false;
	*p = q;
	*out = v;
	return true;
}

/*
 * The kernel's own layout (kernel/sched/psi.c: "%s avg10=%lu.%02lu
 * avg60=%lu.%02lu avg300=%lu.%02lu total=%llu\n"), read in one pass: three
 * PSI files per container per sweep made the general tokenizer below a
 * quarter of a sweep's user time. Anything else (other spacing, key order,
 * digits) falls through to the general parser, which decides. Values are
 * the same doubles parse_decimal gives (one division of the integer digits).
 */
static bool parse_psi_line_fast(struct span rest, struct psi_line *out)
{
	static const char *const keys[3] = {" avg10=", " avg60=", " avg300="};
	static const size_t key_len[3] = {7, 7, 8};
	const char *p = rest.p, *end = rest.p + rest.n;
	double avg[3];
	uint64_t ip;

	for (int k = 0; k < 3; k++) {
		if ((size_t)(end - p) < key_len[k] || memcmp(p, keys[k], key_len[k]) != 0)
			return false;
		p += key_len[k];
		if (!take_digits(&p, end, &ip) || end - p < 3 || p[0] != '.' || !is_digit(p[1]) ||
		    !is_digit(p[2]) || (end - p > 3 && is_digit(p[3])))
			return false;
		avg[k] = (double)(ip * 100 + (uint64_t)(p[1] - '0') * 10 + (uint64_t)(p[2] - '0')) /
		         100.0;
		p += 3;
	}
	if (end - p < 7 || memcmp(p, " total=", 7) != 0)
		return false;
	p += 7;
	if (parse_u64((struct span){p, (size_t)(end - p)}, &out->total_usec) < 0)
		return false;
	out->avg10 = avg[0];
	out->avg60 = avg[1];
	out->avg300 = avg[2];
	return true;
}

static int parse_psi_line(struct span rest, struct psi_line *out)
{
	struct psi_line v = {0};
	unsigned seen = 0;
	struct span tok;

	if (parse_psi_line_fast(rest, out))
		return 0;

	while (next_token(&rest, &tok)) {
		struct span key, value;
		int rc = 0;

		if (!split_kv(tok, &key, &value))
			return -EINVAL;
		if (span_eq(key, "avg10")) {
			rc = parse_decimal(value, &v.avg10);
			seen |= 1u << 0;
		} else if (span_eq(key, "avg60")) {
			rc = parse_decimal(value, &v.avg60);
			seen |= 1u << 1;
		} else if (span_eq(key, "avg300")) {
			rc = parse_decimal(value, &v.avg300);
			seen |= 1u << 2;
		} else if (span_eq(key, "total")) {
			rc = parse_u64(value, &v.total_usec);
			seen |= 1u << 3;
		}
		if (rc < 0)
			return -EINVAL;
	}
	if (seen != 0xf)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * Requires at least one of the `some` and `full` lines. `some` is missing
 * from irq.pressure (6.1+, it has only `full`) and `full` from cpu.pressure
 * before 5.13 and from /proc/pressure/cpu; has_some/has_full say which were
 * there. Lines with another first word are skipped.
 */
int cg_parse_psi(const char *buf, size_t len, struct cstatd_psi *out)
{
	struct cstatd_psi v = {0};
	struct span rest = {buf, len};
	struct span line;
	bool terminated;

	while (next_line(&rest, &line, &terminated)) {
		struct span kind;
		struct psi_line p;
		bool some;

		if (!terminated || !next_token(&line, &kind))
			return -EINVAL;
		if (span_eq(kind, "some"))
			some = true;
		else if (span_eq(kind, "full"))
			some = false;
		else
			continue;
		if (parse_psi_line(line, &p) < 0)
			return -EINVAL;
		if (some) {
			v.has_some = true;
			v.some_avg10 = p.avg10;
			v.some_avg60 = p.avg60;
			v.some_avg300 = p.avg300;
			v.some_total_usec = p.total_usec;
		} else {
			v.has_full = true;
			v.full_avg10 = p.avg10;
			v.full_avg60 = p.avg60;
			v.full_avg300 = p.avg300;
			v.full_total_usec = p.total_usec;
		}
	}
	if (!v.has_some && !v.has_full)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* cgroup.events, cgroup.procs                                              */
/* ------------------------------------------------------------------------ */

int cg_parse_cgroup_events(const char *buf, size_t len, struct cstatd_cgroup_events *out)
{
	struct raw {
		uint64_t populated;
		uint64_t frozen;
	};
	static const struct flat_key keys[] = {
	    {KEY(struct raw, populated)},
	    {KEY(struct raw, frozen)},
	};
	struct raw raw = {0};
	uint32_t seen;

	if (parse_flat_keyed(buf, len, keys, sizeof(keys) / sizeof(keys[0]), &raw, &seen) < 0)
		return -EINVAL;
	/* `frozen` arrived in 5.2; `populated` has been there since 4.5. */
	if (!(seen & 1u) || raw.populated > 1 || raw.frozen > 1)
		return -EINVAL;
	out->populated = raw.populated != 0;
	out->frozen = raw.frozen != 0;
	return 0;
}

/*
 * A pid the reader cannot see (the task lives outside our pid namespace) is
 * printed as 0. It is counted, but first_pid is the first non-zero pid,
 * since the caller uses it to open /proc/<pid>/.
 */
int cg_parse_procs(const char *buf, size_t len, uint64_t *count, int *first_pid)
{
	struct span rest = {buf, len};
	struct span line;
	bool terminated;
	uint64_t n = 0;
	int first = 0;

	while (next_line(&rest, &line, &terminated)) {
		uint64_t pid;

		if (!terminated || parse_u64(line, &pid) < 0 || pid > INT_MAX)
			return -EINVAL;
		if (first == 0)
			first = (int)pid;
		n++;
	}
	*count = n;
	*first_pid = first;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Container recognition by cgroup path                                     */
/* ------------------------------------------------------------------------ */

#define CONTAINER_ID_LEN 64

/* Exactly 64 lowercase hex digits: how runtimes print ids. */
static bool is_container_id(const char *s, size_t n)
{
	if (n != CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_hex(s[i]))
			return false;
	return true;
}

/* "<prefix><64hex>.scope"; returns the id's start or NULL. */
static const char *match_scope(struct span comp, const char *prefix)
{
	static const char suffix[] = ".scope";
	size_t pre = strlen(prefix);
	size_t suf = sizeof(suffix) - 1;

	if (comp.n != pre + CONTAINER_ID_LEN + suf || memcmp(comp.p, prefix, pre) != 0 ||
	    memcmp(comp.p + pre + CONTAINER_ID_LEN, suffix, suf) != 0 ||
	    !is_container_id(comp.p + pre, CONTAINER_ID_LEN))
		return NULL;
	return comp.p + pre;
}

/* "pod<uid>": the kubelet's cgroupfs name for a pod (uid with dashes). */
static bool is_pod_dir(struct span comp)
{
	if (comp.n <= 3 || memcmp(comp.p, "pod", 3) != 0)
		return false;
	for (size_t i = 3; i < comp.n; i++)
		if (!is_lower_hex(comp.p[i]) && comp.p[i] != '-' && comp.p[i] != '_')
			return false;
	return true;
}

/* The component that ends just before `end` (exclusive), within [start, end). */
static struct span component_before(const char *start, const char *end)
{
	const char *p = end;

	while (p > start && p[-1] != '/')
		p--;
	return (struct span){p, (size_t)(end - p)};
}

/* True when some component of [start, end) is exactly `name`. */
static bool has_component(const char *start, const char *end, const char *name)
{
	while (end > start) {
		struct span comp = component_before(start, end);

		if (span_eq(comp, name))
			return true;
		end = comp.p > start ? comp.p - 1 : start;
	}
	return false;
}

int cg_match_container_path(const char *rel_path, char *id_out, char *runtime_out)
{
	/* systemd-driver scopes; conmon scopes ("libpod-conmon-<id>.scope",
	 * "crio-conmon-<id>.scope") fail the hex check on "conmon-". */
	static const struct {
		const char *prefix;
		const char *runtime;
	} scopes[] = {
	    {"docker-", "docker"},
	    {"libpod-", "podman"},
	    {"cri-containerd-", "containerd"},
	    {"crio-", "crio"},
	};
	const char *end;
	const char *id = NULL;
	const char *runtime = NULL;
	struct span last;

	if (!rel_path)
		return 0;
	end = rel_path + strlen(rel_path);
	while (end > rel_path && end[-1] == '/')
		end--;
	last = component_before(rel_path, end);

	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		id = match_scope(last, scopes[i].prefix);
		if (id) {
			runtime = scopes[i].runtime;
			break;
		}
	}

	if (!id && is_container_id(last.p, last.n) && last.p > rel_path) {
		const char *parent_end = last.p - 1;
		struct span parent = component_before(rel_path, parent_end);

		if (span_eq(parent, "docker")) {
			/* Docker's cgroupfs driver: docker/<id>. */
			id = last.p;
			runtime = "docker";
		} else if (is_pod_dir(parent) && has_component(rel_path, parent.p, "kubepods")) {
			/*
			 * The kubelet's cgroupfs driver names the container by
			 * its bare id, whatever the runtime. containerd is the
			 * runtime that uses this layout today (CRI-O prefixes
			 * crio-, dockershim left Kubernetes in 1.24).
			 */
			id = last.p;
			runtime = "containerd";
		}
	}

	if (!id)
		return 0;
	memcpy(id_out, id, CONTAINER_ID_LEN);
	id_out[CONTAINER_ID_LEN] = '\0';
	/* runtime_out is 16 bytes; every runtime name above is shorter. */
	strcpy(runtime_out, runtime);
	return 1;
}
