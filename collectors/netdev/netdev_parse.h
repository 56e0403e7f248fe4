/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parser for /proc/<pid>/net/dev. Takes the file's bytes, fills a
 * struct cstatd_netdev; never opens anything (I/O is in netdev.c).
 */
#ifndef CSTATD_NETDEV_PARSE_H
#define CSTATD_NETDEV_PARSE_H

#include <stddef.h>

#include "cstatd/sample.h"

/* Skips the two header lines and the loopback interface `lo`. A data line
 * with fewer than 16 counters makes the whole file invalid (-EINVAL, output
 * untouched), as a torn read would. Interfaces beyond CSTATD_NET_MAX_IFS are
 * counted in n_dropped. */
int netdev_parse(const char *buf, size_t len, struct cstatd_netdev *out);

#endif
