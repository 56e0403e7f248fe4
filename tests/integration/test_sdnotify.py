#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""systemd's notification protocol (Type=notify, WatchdogSec=), spoken by the
real cstatd binary to a NOTIFY_SOCKET that this test owns.

The test plays systemd: it binds an AF_UNIX datagram socket with SO_PASSCRED
(as systemd does, to attribute each datagram to a pid), starts cstatd with
NOTIFY_SOCKET / WATCHDOG_USEC in its environment and records every datagram
with its arrival time and sender pid.

cstatd reads a fixture cgroup tree (--cgroup-root ... --no-cgroup-root-check).
To control when a sweep completes, a container directory in that tree has a
FIFO for cpu.stat: cstatd's open() of it blocks until the test opens the FIFO
for writing and closes it again. That gives a first sweep that takes as long
as the test wants, and later a sweep thread that is stuck for real.

Checks:
  1. path socket, WATCHDOG_USEC=1 s:
     - while the first sweep is blocked: no READY=1, no WATCHDOG=1, /readyz 503;
     - once it completes: READY=1 (+ STATUS=), /readyz 200 when it arrives, sent
       with cstatd's pid (what NotifyAccess=main requires);
     - WATCHDOG=1 every 0.5 s (half of WatchdogSec);
     - a sweep stuck on a blocking read: pings stop within max(WatchdogSec,
       3 intervals) + one ping interval, and cstatd says why in its log; they
       resume when the sweep gets going again;
     - SIGHUP (configuration reload): RELOADING=1 (+ MONOTONIC_USEC=), then
       READY=1;
     - SIGTERM: STOPPING=1 is the last message, exit status 0.
  2. abstract socket ("@name"), WATCHDOG_PID naming another process: READY=1
     and STOPPING=1 arrive, no WATCHDOG=1 (the watchdog is not meant for us).
  3. NOTIFY_SOCKET that is neither a path nor "@name": cstatd says so and runs.

Needs neither root nor a cgroup2 mount.
"""

import contextlib
import os
import shutil
import random
import re
import signal
import socket
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

INTERVAL = 0.5  # s, cstatd --interval
WATCHDOG_USEC = 1_000_000  # WatchdogSec=1s -> a ping every 0.5 s
PING = WATCHDOG_USEC / 2e6
STALL_LIMIT = max(2 * PING, 3 * INTERVAL)  # what sdnotify_service_tick() allows


class NotifyListener:
    """An AF_UNIX datagram socket that records (t, message, sender pid)."""

    def __init__(self, address):
        self.address = address  # a path, or "@name"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic t, str, pid or None)
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join(timeout=5)
        self.sock.close()
        if not self.address.startswith("@"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.address)
        return False

    def _run(self):
        cred_size = struct.calcsize("iII")
        # Bounded: the socket timeout is 0.2 s and tests last well under 10 min.
        for _ in range(10 * 60 * 5):
            if self.stop_event.is_set():
                return
            try:
                data, anc, _flags, _addr = self.sock.recvmsg(4096, socket.CMSG_SPACE(cred_size))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", cdata[:cred_size])[0]
            with self.lock:
                self.messages.append((time.monotonic(), data.decode("utf-8", "replace"), pid))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def with_key(self, key, since=0.0):
        """Messages that have the assignment `key` (e.g. "READY=1")."""
        return [m for m in self.snapshot() if m[0] >= since and key in m[1].split("\n")]

    def wait_for(self, key, timeout, since=0.0):
        r = ct.poll(lambda: self.with_key(key, since), timeout, 0.02)
        return r[0] if r else None


def make_tree(root):
    """An empty fixture cgroup tree (+ an empty procfs) for cstatd."""
    os.makedirs(os.path.join(root, "cg"))
    os.makedirs(os.path.join(root, "proc"))
    return os.path.join(root, "cg"), os.path.join(root, "proc")


def add_blocking_container(cg_root):
    """docker/<id> with a regular cgroup.procs and a FIFO as cpu.stat.
    Returns the FIFO's path."""
    cid = "%064x" % random.getrandbits(256)
    d = os.path.join(cg_root, "docker", cid)
    os.makedirs(d)
    with open(os.path.join(d, "cgroup.procs"), "w"):
        pass
    fifo = os.path.join(d, "cpu.stat")
    os.mkfifo(fifo)
    return fifo


def unblock(fifo, timeout=5.0):
    """Let a reader blocked in open(fifo) go: open it for writing and close.
    Returns True once that was done (ENXIO = no reader yet: retry)."""
    def attempt():
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return False
        os.close(fd)
        return True
    return bool(ct.poll(attempt, timeout, 0.05))


def readyz(port):
    try:
        return ct.http_request(port, "/readyz", timeout=2.0)[0]
    except OSError as e:
        return repr(e)


def gaps(ts):
    return [b - a for a, b in zip(ts, ts[1:])]


def scenario_path_socket(t, tmp):
    t.info("1. NOTIFY_SOCKET=<path>, WATCHDOG_USEC=%d, --interval %gs" % (WATCHDOG_USEC, INTERVAL))
    cg_root, proc_root = make_tree(os.path.join(tmp, "s1"))
    fifo1 = add_blocking_container(cg_root)
    sock_path = os.path.join(tmp, "notify.sock")
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC=str(WATCHDOG_USEC))
    env.pop("WATCHDOG_PID", None)
    args = ["--interval", "500ms", "--cgroup-root", cg_root, "--no-cgroup-root-check",
            "--proc-root", proc_root, "--log-level", "debug"]
    fifos = [fifo1]
    with NotifyListener(sock_path) as nl, \
            ct.Cstatd(args, env=env, wait_ready=False, stop_timeout=10.0) as d:
        try:
            pid = d.proc.pid
            # -- the first sweep is blocked on cpu.stat ---------------------------
            ct.poll(lambda: readyz(d.port) == 503, 5.0, 0.05)
            time.sleep(2.0)
            t.equal(readyz(d.port), 503, "while the first sweep is blocked, /readyz is 503")
            t.equal([m[1] for m in nl.snapshot()], [],
                    "while the first sweep is blocked, nothing is sent (no READY=1, "
                    "no WATCHDOG=1)")
            t_unblock = time.monotonic()
            t.check(unblock(fifo1), "test set-up: the blocked open() of the FIFO is released",
                    fatal=True)
            ready = nl.wait_for("READY=1", 10.0)
            t.check(ready is not None, "READY=1 arrives once the first sweep completes",
                    expected="READY=1", actual=[m[1] for m in nl.snapshot()], fatal=True)
            status_at_ready = readyz(d.port)
            t.info(f"READY=1 {ready[0] - t_unblock:.3f} s after the sweep was unblocked: "
                   f"{ready[1]!r}")
            t.equal(status_at_ready, 200, "/readyz answers 200 when READY=1 has arrived")
            t.check(any(line.startswith("STATUS=") for line in ready[1].split("\n")),
                    "READY=1 comes with a STATUS= line", actual=ready[1])
            t.equal(ready[2], pid, "READY=1 is sent with cstatd's pid (SCM_CREDENTIALS), "
                    "as NotifyAccess=main requires")
            t.equal(nl.snapshot()[0][1], ready[1], "READY=1 is the first message")

            # -- watchdog pings ---------------------------------------------------
            time.sleep(3.2)
            pings = [m[0] for m in nl.with_key("WATCHDOG=1", since=ready[0])]
            t.info(f"{len(pings)} WATCHDOG=1 in the 3.2 s after READY=1; gaps "
                   f"{[round(g, 3) for g in gaps(pings)]}")
            t.between(len(pings), 6, 9, "WATCHDOG=1 every 0.5 s (half of WatchdogSec=1s) "
                      "over 3.2 s")
            g = gaps(pings)
            t.check(g and max(g) < 2 * PING - 0.1 and min(g) > PING * 0.5,
                    "every gap between pings is about 0.5 s (well inside WatchdogSec)",
                    expected=f"between {PING * 0.5} and {2 * PING - 0.1}", actual=g)
            t.check(all(m[2] == pid for m in nl.with_key("WATCHDOG=1")),
                    "WATCHDOG=1 is sent with cstatd's pid")

            # -- a stuck sweep ----------------------------------------------------
            fifo2 = add_blocking_container(cg_root)
            fifos.append(fifo2)
            t_stuck = time.monotonic()
            t.info("a new container whose cpu.stat is a FIFO: the next sweep blocks in open()")
            time.sleep(STALL_LIMIT + 3 * PING + 1.5)
            t_end = time.monotonic()
            late = [m[0] - t_stuck for m in nl.with_key("WATCHDOG=1", since=t_stuck)]
            t.info(f"pings after the sweep got stuck at +{[round(x, 2) for x in late]} s")
            limit = STALL_LIMIT + PING + 0.5
            t.check(not late or late[-1] <= limit,
                    f"pings stop within {limit:.1f} s of the sweep getting stuck "
                    f"(max(WatchdogSec, 3 intervals) + one ping interval + slack)",
                    expected=f"last ping <= +{limit:.1f} s", actual=late)
            t.check(not nl.with_key("WATCHDOG=1", since=t_end - 1.5),
                    "no ping at all in the last 1.5 s of the stall (systemd would restart "
                    "cstatd after WatchdogSec)")
            log = d.stderr_text()
            t.check("withholding watchdog pings" in log,
                    "cstatd logs why it withholds the pings",
                    actual=d.stderr_tail(5))
            t.check(unblock(fifo2), "test set-up: the stuck sweep is released", fatal=True)
            t_go = time.monotonic()
            resumed = nl.wait_for("WATCHDOG=1", 3 * PING + 2 * INTERVAL + 1.0, since=t_go)
            t.check(resumed is not None, "pings resume once sweeps are published again",
                    actual=[m[1] for m in nl.snapshot()[-3:]])
            t.check(ct.poll(lambda: "watchdog pings resume" in d.stderr_text(), 2.0, 0.1),
                    "cstatd logs that the pings resume")

            # -- reload ---------------------------------------------------------------
            t_hup = time.monotonic()
            d.send_signal(signal.SIGHUP)
            again = nl.wait_for("READY=1", 5.0, since=t_hup)
            reloading = nl.with_key("RELOADING=1", since=t_hup)
            t.check(reloading and again and reloading[0][0] <= again[0],
                    "SIGHUP (config reload): RELOADING=1, then READY=1 when done",
                    actual=[m[1] for m in nl.snapshot() if m[0] >= t_hup][:4])
            if reloading:
                t.check(re.search(r"^MONOTONIC_USEC=\d+$", reloading[0][1], re.M) is not None,
                        "RELOADING=1 carries MONOTONIC_USEC= (systemd 253+ wants it)",
                        actual=reloading[0][1])

            # -- stop ---------------------------------------------------------------
            t_term = time.monotonic()
            rc = d.stop()
            t.equal(rc, 0, "SIGTERM: exit status 0")
            stopping = nl.wait_for("STOPPING=1", 2.0, since=t_term)
            t.check(stopping is not None, "STOPPING=1 arrives on SIGTERM",
                    actual=[m[1] for m in nl.snapshot()[-3:]])
            t.equal(nl.snapshot()[-1][1], "STOPPING=1", "STOPPING=1 is the last message")
            if stopping:
                t.equal(stopping[2], pid, "STOPPING=1 is sent with cstatd's pid")
        finally:
            # A sweep blocked in open() would keep cstatd from stopping.
            for f in fifos:
                unblock(f, timeout=0.5)


def scenario_abstract_socket(t, tmp):
    name = f"@cstatd-test-notify-{os.getpid()}-{random.getrandbits(32):08x}"
    t.info(f"2. NOTIFY_SOCKET={name} (abstract), WATCHDOG_PID=1 (another process)")
    cg_root, proc_root = make_tree(os.path.join(tmp, "s2"))
    env = dict(os.environ, NOTIFY_SOCKET=name, WATCHDOG_USEC=str(WATCHDOG_USEC),
               WATCHDOG_PID="1")
    args = ["--interval", "500ms", "--cgroup-root", cg_root, "--no-cgroup-root-check",
            "--proc-root", proc_root]
    with NotifyListener(name) as nl, ct.Cstatd(args, env=env) as d:
        ready = nl.wait_for("READY=1", 5.0)
        t.check(ready is not None, "abstract socket: READY=1 arrives",
                actual=[m[1] for m in nl.snapshot()])
        if ready:
            t.equal(ready[2], d.proc.pid, "abstract socket: sent with cstatd's pid")
        time.sleep(4 * PING)
        t.equal(nl.with_key("WATCHDOG=1"), [],
                "WATCHDOG_PID names another process: no WATCHDOG=1")
        t.equal(d.stop(), 0, "abstract socket: exit status 0")
        t.check(nl.wait_for("STOPPING=1", 2.0) is not None, "abstract socket: STOPPING=1")


def scenario_unsupported(t, tmp):
    t.info("3. NOTIFY_SOCKET=vsock:2:9999 (not a unix socket address)")
    cg_root, proc_root = make_tree(os.path.join(tmp, "s3"))
    env = dict(os.environ, NOTIFY_SOCKET="vsock:2:9999")
    args = ["--cgroup-root", cg_root, "--no-cgroup-root-check", "--proc-root", proc_root]
    with ct.Cstatd(args, env=env) as d:
        t.equal(readyz(d.port), 200, "an unusable NOTIFY_SOCKET does not stop cstatd")
        t.check("NOTIFY_SOCKET" in d.stderr_text(), "cstatd logs that it cannot notify",
                actual=d.stderr_text()[-500:])
        t.equal(d.stop(), 0, "exit status 0")


def main():
    ct.find_binary()
    t = ct.Test("sdnotify: READY/WATCHDOG/STOPPING to a NOTIFY_SOCKET of the test's own")
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="cstatd-sdn-")
    try:
        scenario_path_socket(t, tmp)
        scenario_abstract_socket(t, tmp)
        scenario_unsupported(t, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.info(f"total {time.monotonic() - t0:.1f} s")
    t.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ct.run(main)
