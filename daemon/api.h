/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON bodies of the HTTP API, rendered on the sweep thread into the
 * snapshot like /metrics: /alerts, /alerts/rules, and /api/v1/containers
 * (the latter only while clients ask for it: it carries every window
 * aggregate of every container and costs more than the rest of a sweep).
 */
#ifndef CSTATD_API_H
#define CSTATD_API_H

#include "cstatd/snapshot.h"
#include "cstatd/store.h"
#include "daemon/alerts.h"
#include "daemon/signals.h"
#include "daemon/windows.h"

void cstatd_api_render(struct cstatd_snapshot *snap, struct cstatd_store *st,
                       const struct cstatd_window_table *wt, const struct cstatd_alerts *eng,
                       const struct cstatd_host *host);

#endif
