/* SPDX-License-Identifier: Apache-2.0 */
/* The standard process_* figures about cstatd itself, from /proc/self. */
#ifndef CSTATD_SELFSTAT_H
#define CSTATD_SELFSTAT_H

#include <stdbool.h>
#include <stdint.h>

struct selfstat {
	bool ok;
	double cpu_seconds;
	uint64_t rss_bytes;
	uint64_t vsize_bytes;
	uint64_t open_fds;
	uint64_t max_fds;
	uint64_t threads;
	double start_time; /* unix seconds */
};

/* Reads /proc/self/{stat,statm,fd}. Returns 0 or -errno (out->ok false). */
int selfstat_read(struct selfstat *out);

#endif
