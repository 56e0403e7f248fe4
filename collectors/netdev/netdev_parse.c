/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parser for /proc/<pid>/net/dev (see netdev_parse.h).
 *
 * The kernel (dev_seq_show / dev_seq_printf_stats) prints two header lines,
 * then one line per interface: the name right-aligned in a "%6s:" column,
 * then 16 counters, 8 receive and 8 transmit:
 *
 *   rx: bytes packets errs drop fifo frame compressed multicast
 *   tx: bytes packets errs drop fifo colls carrier compressed
 *
 * A name of six characters or more leaves no blank before the first counter
 * ("enp0s31f6:1234 ..."), so the name ends at the first ':' (the kernel
 * refuses ':' in interface names), not at whitespace.
 *
 * The input is (buf, len) with no terminating NUL. Every line the kernel
 * prints ends with '\n'; a last line without it is a torn read and makes the
 * file invalid, like a line with fewer than 16 counters. Counters past the
 * 16th are ignored, should a kernel ever add some.
 */
#include "netdev_parse.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define NETDEV_COUNTERS 16

/* Positions of the counters cstatd keeps, in kernel order. */
enum {
	RX_BYTES = 0,
	RX_PACKETS = 1,
	RX_ERRS = 2,
	RX_DROP = 3,
	TX_BYTES = 8,
	TX_PACKETS = 9,
	TX_ERRS = 10,
	TX_DROP = 11,
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The whole [p, p+n) must be a decimal that fits in 64 bits. */
static int parse_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * Splits the next '\n'-terminated line off [*pos, end). Returns 0 and the
 * line (without its newline), 1 at the end of input, or -EINVAL for a last
 * line that has no newline.
 */
static int next_line(const char **pos, const char *end, const char **line, size_t *line_len)
{
	const char *nl;

	if (*pos == end)
		return 1;
	nl = memchr(*pos, '\n', (size_t)(end - *pos));
	if (!nl)
		return -EINVAL;
	*line = *pos;
	*line_len = (size_t)(nl - *pos);
	*pos = nl + 1;
	return 0;
}

/* Reads "  name: c0 c1 ... c15" into *ifc. */
static int parse_if_line(const char *p, size_t n, struct cstatd_net_if *ifc)
{
	const char *end = p + n;
	const char *colon;
	uint64_t c[NETDEV_COUNTERS];
	size_t name_len;

	while (p < end && is_blank(*p))
		p++;
	colon = memchr(p, ':', (size_t)(end - p));
	if (!colon)
		return -EINVAL;
	name_len = (size_t)(colon - p);
	if (name_len == 0 || name_len >= CSTATD_IFNAME_LEN)
		return -EINVAL;
	/* A NUL would cut the name short once it is a C string ("lo\0x"
	 * would pass for lo, two names could collide): not the kernel's. */
	for (size_t i = 0; i < name_len; i++)
		if (is_blank(p[i]) || p[i] == '\0')
			return -EINVAL;

	p = colon + 1;
	for (size_t i = 0; i < NETDEV_COUNTERS; i++) {
		const char *tok;

		while (p < end && is_blank(*p))
			p++;
		tok = p;
		while (p < end && !is_blank(*p))
			p++;
		if (parse_u64(tok, (size_t)(p - tok), &c[i]) < 0)
			return -EINVAL;
	}

	memset(ifc, 0, sizeof(*ifc));
	memcpy(ifc->name, colon - name_len, name_len);
	ifc->rx_bytes = c[RX_BYTES];
	ifc->rx_packets = c[RX_PACKETS];
	ifc->rx_errors = c[RX_ERRS];
	ifc->rx_dropped = c[RX_DROP];
	ifc->tx_bytes = c[TX_BYTES];
	ifc->tx_packets = c[TX_PACKETS];
	ifc->tx_errors = c[TX_ERRS];
	ifc->tx_dropped = c[TX_DROP];
	return 0;
}

int netdev_parse(const char *buf, size_t len, struct cstatd_netdev *out)
{
	struct cstatd_netdev nd = {0};
	const char *pos = buf;
	const char *end;
	const char *line;
	size_t line_len;
	int rc;

	/* An empty read has no headers; returning here also keeps a NULL
	 * buffer of length 0 away from pointer arithmetic. */
	if (len == 0)
		return -EINVAL;
	end = buf + len;
	/* Both header lines hold the '|' column separators; requiring them
	 * keeps a foreign or empty read from passing as "no interfaces". */
	for (int i = 0; i < 2; i++) {
		if (next_line(&pos, end, &line, &line_len) != 0 || !memchr(line, '|', line_len))
			return -EINVAL;
	}

	while ((rc = next_line(&pos, end, &line, &line_len)) == 0) {
		struct cstatd_net_if ifc;

		if (parse_if_line(line, line_len, &ifc) < 0)
			return -EINVAL;
		if (strcmp(ifc.name, "lo") == 0)
			continue;
		if (nd.n_ifs < CSTATD_NET_MAX_IFS)
			nd.ifs[nd.n_ifs++] = ifc;
		else
			nd.n_dropped++;
	}
	if (rc < 0)
		return -EINVAL;
	*out = nd;
	return 0;
}
