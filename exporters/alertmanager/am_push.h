/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Posts alert batches to Alertmanager's POST /api/v2/alerts from a thread of
 * its own, so a slow or dead Alertmanager never delays a sweep. The queue is
 * bounded: when it is full the oldest batch is dropped and counted
 * (cstatd_notifications_dropped_total); a batch that keeps failing is
 * retried with backoff a few times, then dropped. Losing a batch is safe:
 * the alert engine re-sends firing alerts every `resend` period, well
 * before their endsAt.
 */
#ifndef CSTATD_AM_PUSH_H
#define CSTATD_AM_PUSH_H

struct am_pusher;

/* `urls` are Alertmanager base URLs ("http://127.0.0.1:9093"); each batch
 * goes to every one of them (Alertmanager replicas deduplicate). Copies
 * what it needs. Returns 0 or -errno. */
int am_pusher_start(const char *const *urls, unsigned n_urls, double timeout_s,
                    struct am_pusher **out);
/* Stops the thread (in-flight posts are abandoned) and frees. NULL ok. */
void am_pusher_stop(struct am_pusher *p);
/* Queues a JSON array body; takes ownership of the malloc'd string.
 * Never blocks. */
void am_pusher_enqueue(struct am_pusher *p, char *body);

#endif
