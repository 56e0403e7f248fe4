/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sd_notify(3) as a datagram protocol, for Type=notify units. The whole of
 * it: $NOTIFY_SOCKET names an AF_UNIX datagram socket, either a filesystem
 * path ("/run/systemd/notify") or an abstract name ("@..." with '@' standing
 * for the leading NUL byte); each message is one datagram of newline-
 * separated KEY=value assignments. systemd reads the sender's credentials
 * (SO_PASSCRED on its side), so nothing else has to be sent along.
 * $WATCHDOG_USEC is the unit's WatchdogSec= in microseconds; $WATCHDOG_PID,
 * when set, names the process it is meant for (a child that inherited the
 * environment must not answer for its parent).
 *
 * No libsystemd: the protocol is this small, and the same binary runs in a
 * scratch container image where libsystemd would be dead weight.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cstatd/log.h"
#include "cstatd/snapshot.h"
#include "daemon/sdnotify.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_addr_len;
static uint64_t watchdog_usec;
static atomic_bool send_failed_logged;

/* ---------------------------------------------------------------------- */
/* The protocol                                                            */
/* ---------------------------------------------------------------------- */

/* Parses a decimal unsigned integer that must fill the whole string. */
static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* The watchdog settings, read whether or not the socket works: the caller
 * may still want to know that a watchdog was asked for. */
static void read_watchdog_env(void)
{
	uint64_t usec = 0, pid;
	const char *pid_s = getenv("WATCHDOG_PID");

	watchdog_usec = 0;
	if (parse_u64(getenv("WATCHDOG_USEC"), &usec) != 0 || usec == 0)
		return;
	if (pid_s && *pid_s) {
		if (parse_u64(pid_s, &pid) != 0 || pid != (uint64_t)getpid())
			return; /* meant for another process */
	}
	watchdog_usec = usec;
}

int sdnotify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;
	int fd;

	if (notify_fd >= 0) {
		close(notify_fd);
		notify_fd = -1;
	}
	read_watchdog_env();
	if (!path || !*path)
		return 0;

	len = strlen(path);
	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	if (path[0] != '/' && path[0] != '@') {
		/* systemd 254+ also knows "vsock:CID:PORT" (VMs); not a case for
		 * a daemon that reads the host's cgroups. */
		log_warn("NOTIFY_SOCKET is neither a path nor an abstract socket; "
		         "not notifying systemd",
		         "notify_socket=\"%s\"", path);
		return -EAFNOSUPPORT;
	}
	if (len > sizeof(notify_addr.sun_path) ||
	    (path[0] == '/' && len == sizeof(notify_addr.sun_path))) {
		log_warn(
		    "NOTIFY_SOCKET is too long for a unix socket address; not notifying systemd",
		    "length=%zu", len);
		return -ENAMETOOLONG;
	}
	memcpy(notify_addr.sun_path, path, len);
	if (path[0] == '@') {
		/* Abstract namespace: the leading NUL is part of the name and the
		 * address length counts exactly the name's bytes (no trailing NUL). */
		notify_addr.sun_path[0] = '\0';
		notify_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else {
		notify_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	}

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		int err = errno;
		log_warn("cannot create the systemd notification socket", "err=\"%s\"",
		         strerror(err));
		return -err;
	}
	notify_fd = fd;
	atomic_store(&send_failed_logged, false);
	return 1;
}

int sdnotify_enabled(void)
{
	return notify_fd >= 0;
}

void sdnotify_send(const char *msg)
{
	if (notify_fd < 0 || !msg)
		return;
	/* MSG_NOSIGNAL: no SIGPIPE whatever happens to systemd's end. The
	 * socket is non-blocking: a stuck receiver costs a lost message, never
	 * a stalled sweep or shutdown. */
	ssize_t n = sendto(notify_fd, msg, strlen(msg), MSG_NOSIGNAL,
	                   (const struct sockaddr *)&notify_addr, notify_addr_len);
	if (n < 0) {
		if (!atomic_exchange(&send_failed_logged, true))
			log_warn("cannot notify systemd (further failures are not logged)",
			         "err=\"%s\"", strerror(errno));
		return;
	}
	log_debug("notified systemd", "message=\"%.*s\"", (int)strcspn(msg, "\n"), msg);
}

double sdnotify_watchdog_interval(void)
{
	if (notify_fd < 0 || watchdog_usec == 0)
		return 0.0;
	return (double)watchdog_usec / 2e6;
}

/* ---------------------------------------------------------------------- */
/* The service: readiness and watchdog from the published snapshots        */
/* ---------------------------------------------------------------------- */

/* Before READY=1 the loop looks this often for the first snapshot. */
#define READY_POLL_S 0.05

static struct {
	bool ready_sent;
	bool stalled;           /* pings withheld; logged once per stall */
	double last_sweep_time; /* sweep_time of the newest snapshot seen */
	double last_progress;   /* monotonic s when it last changed */
	double next_ping;       /* monotonic s */
} service;

static double monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double sdnotify_service_tick(double sweep_interval_s)
{
	double now, wd = sdnotify_watchdog_interval();
	struct cstatd_snapshot *snap;

	if (notify_fd < 0)
		return -1;
	now = monotonic_s();
	if (!service.ready_sent) {
		if (!cstatd_snapshot_ready())
			return READY_POLL_S;
		sdnotify_send("READY=1\nSTATUS=serving metrics (first sweep complete)");
		service.ready_sent = true;
		service.last_progress = now;
		service.next_ping = now; /* the first ping right away */
	}
	if (wd <= 0)
		return -1;

	snap = cstatd_snapshot_acquire();
	if (snap) {
		if (snap->sweep_time != service.last_sweep_time) {
			service.last_sweep_time = snap->sweep_time;
			service.last_progress = now;
		}
		cstatd_snapshot_release(snap);
	}
	if (now >= service.next_ping) {
		/* WatchdogSec is 2 * wd. A long --interval may exceed it: then a
		 * few missed intervals, not WatchdogSec, mean "stuck". */
		double stall_limit = 2 * wd > 3 * sweep_interval_s ? 2 * wd : 3 * sweep_interval_s;
		if (now - service.last_progress <= stall_limit) {
			sdnotify_send("WATCHDOG=1");
			if (service.stalled)
				log_info("sweeps are published again; watchdog pings resume", NULL);
			service.stalled = false;
		} else if (!service.stalled) {
			service.stalled = true;
			log_error("no sweep was published recently; withholding watchdog pings so "
			          "that systemd restarts cstatd",
			          "seconds_since_last_sweep=%.1f limit_seconds=%.1f",
			          now - service.last_progress, stall_limit);
		}
		service.next_ping = now + wd;
	}
	return service.next_ping - now;
}

void sdnotify_reload_begin(void)
{
	char msg[64];
	struct timespec ts;

	if (notify_fd < 0 || !service.ready_sent)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	         (unsigned long long)ts.tv_sec * 1000000ULL +
	             (unsigned long long)ts.tv_nsec / 1000);
	sdnotify_send(msg);
}

void sdnotify_reload_end(void)
{
	if (notify_fd < 0 || !service.ready_sent)
		return;
	sdnotify_send("READY=1");
}
