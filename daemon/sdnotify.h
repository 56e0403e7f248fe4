/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd's readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram per message to the AF_UNIX socket named by $NOTIFY_SOCKET
 * ("/path" or "@abstract"). Used for Type=notify (READY=1 after the first
 * complete sweep, STOPPING=1 at shutdown) and the watchdog (WATCHDOG=1
 * every sdnotify_watchdog_interval() seconds when WatchdogSec= is set).
 *
 * Without $NOTIFY_SOCKET every call is a no-op, so the daemon runs the same
 * from a shell, in a container or under a Type=simple unit.
 */
#ifndef CSTATD_SDNOTIFY_H
#define CSTATD_SDNOTIFY_H

/*
 * Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID and opens the
 * datagram socket. Call once from main() before any thread starts (it reads
 * the environment). Returns 1 when notifications are on, 0 when there is no
 * $NOTIFY_SOCKET, or a negative errno (-EAFNOSUPPORT for a socket address
 * other than a path or '@' name, -ENAMETOOLONG, socket() errors); after a
 * failure notifications are off and the daemon goes on without them.
 */
int sdnotify_init(void);

/*
 * Sends `msg` (newline-separated "KEY=value" lines, e.g. "READY=1") as one
 * datagram. Never blocks, never fails the caller: errors are logged once.
 * Safe from any thread: systemd attributes the datagram to the process (its
 * credentials carry the thread group id), so NotifyAccess=main suffices.
 */
void sdnotify_send(const char *msg);

/* True after a successful sdnotify_init() with a $NOTIFY_SOCKET. */
int sdnotify_enabled(void);

/*
 * How often to send WATCHDOG=1, in seconds: half of $WATCHDOG_USEC (as
 * sd_watchdog_enabled(3) recommends), or 0 when the watchdog is off
 * (no $WATCHDOG_USEC, $WATCHDOG_PID names another process, or no
 * $NOTIFY_SOCKET to send to).
 */
double sdnotify_watchdog_interval(void);

/*
 * The daemon's side of the protocol, for main()'s signal loop (one thread
 * only). Each call looks at the published snapshots (cstatd/snapshot.h):
 *  - READY=1 (with a STATUS= line) the first time cstatd_snapshot_ready()
 *    is true, i.e. when /readyz turns 200 after the first complete sweep;
 *  - WATCHDOG=1 every sdnotify_watchdog_interval() seconds after that, but
 *    only while sweeps keep publishing: when no new snapshot appeared for
 *    max(WatchdogSec, 3 sweep intervals) the pings stop (logged) and
 *    systemd restarts the service. A thread alive but a sweep stuck on a
 *    hung read is exactly what the watchdog is for.
 * Returns how many seconds the caller may wait before the next call (wait
 * for signals that long, e.g. sigtimedwait), or -1 when no further call is
 * needed (notifications off, or ready and no watchdog): wait indefinitely.
 */
double sdnotify_service_tick(double sweep_interval_s);

/*
 * Around a configuration reload (SIGHUP) in main(): RELOADING=1 (with
 * MONOTONIC_USEC=, as systemd 253+ wants it) before, READY=1 after, so that
 * `systemctl reload` shows the service reloading until it is done. Both do
 * nothing before the first READY=1.
 */
void sdnotify_reload_begin(void);
void sdnotify_reload_end(void);

#endif
