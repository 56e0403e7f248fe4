/* SPDX-License-Identifier: Apache-2.0 */
#include "cstatd/stats.h"

struct cstatd_stats cstatd_stats;

static const char *const error_labels[] = {
#define X(id, label, help) label,
    CSTATD_ERROR_SOURCES(X)
#undef X
};

const char *cstatd_error_source_label(enum cstatd_error_source src)
{
	return (unsigned)src < CSTATD_ERR_COUNT ? error_labels[src] : "unknown";
}
