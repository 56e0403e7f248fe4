#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cstatd against a broken Docker Engine, and against a dockerd that crashes
twice (issue #7, "Faults").

A fake Docker Engine (FakeDockerd below: threaded, raw HTTP/1.1 on a unix
socket; /_ping, /version, /containers/json, /containers/<id>/json, /events,
/containers/<id>/stats) misbehaves in one way per mode. cstatd is pointed at
a symlink (--docker-host unix://<tmp>/docker.sock) that first names the fake
and is then re-pointed to a real private dockerd (lib/dockerd.py, v2 mode,
one start for the whole test) running a container `good1`; the fake is then
stopped (its connections close, as a crashed dockerd's do).

Modes (one fresh cstatd each, --interval 500ms, the sandbox as cgroup root):
  garbage        every request gets 4 KiB of random bytes, then a close
  stall          every request gets the response headers, then nothing
  stall_inspect  ping/list/events work; the inspect of container A stalls
                 after its headers, the inspect of B answers
  cut_body       ping and events work; /containers/json and inspect bodies
                 end after 300 of the 2000 bytes Content-Length promises
  cut_events     ping, list and inspect work; /events sends one good event,
                 then half of a chunk, then closes
  big_line       ping works; /events sends one 10 MB JSON line and
                 /containers/json a 10 MB body
  err500         500 {"message":...} to everything
  dense_list     (only when named: `test_docker_faults.py dense_list`) an 8 MB
                 /containers/json of empty objects, under cstatd's 8 MiB body
                 cap: the peak RSS is printed, and VmRSS after the parse must
                 be < 64 MB (the freed tree is handed back to the system)

For every mode, with a background scrape every 0.2 s (timeout 1 s):
  - every GET /metrics answers 200 within 1 s, during the fault and the
    recovery, and carries the sandbox's cgroup series (a real cgroup with a
    sleeping process in it)
  - cstatd_docker_up is 0 in every scrape (garbage, stall, err500), or in
    most scrapes (the modes whose /_ping works and that fail later: the
    connection comes up for a moment and drops); stall_inspect stays up
    and B is named while A's inspect hangs (a stalled request holds up
    nothing else)
  - the fault is counted in cstatd_collect_errors_total{source="docker_http"}
    (docker_json for big_line)
  - reconnects back off: at most a handful of /_ping requests reach the fake
    in the fault phase, and cstatd uses little CPU (no busy loop)
  - VmHWM (peak RSS, /proc/<pid>/status) < 64 MB; printed for each mode
  - after the symlink names the real dockerd: cstatd_docker_up 1 and
    cstatd_container_info{name="good1"} within RECOVER_S; the time is printed

Then one cstatd (cgroup root: the whole cgroup2 mount) against the real
dockerd, which is SIGKILLed (pid from its pidfile) and restarted twice:
every scrape answers 200 within 1 s, cstatd_docker_up goes 1 -> 0 -> 1 each
time, the sandbox's cgroup series never go missing, good1 (--restart=always)
and plain1 (no restart policy) are named again after each restart, and
cstatd_container_restarts_total moves by exactly what Docker did (+1 for
good1 when dockerd's restart started it again, i.e. its StartedAt changed;
+0 for plain1, which dockerd's restart leaves stopped).

Needs root, a cgroup2 mount, dockerd/containerd/runc and a static busybox
(exit 77 otherwise). Takes ~100 s.
"""

import contextlib
import json
import os
import random
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402
import dockerd as dk  # noqa: E402

INTERVAL = "500ms"
SCRAPE_PERIOD = 0.2
SCRAPE_TIMEOUT = 1.0          # "GET /metrics answers within 1 s throughout"
FAULT_MIN_S = 4.0             # every mode runs its fault at least this long
RECOVER_S = 20.0              # bound for docker_up 1 + good1 named after re-pointing
RSS_LIMIT_KB = 64 * 1024      # VmHWM bound
CPU_LIMIT = 0.25              # cores used by cstatd during a fault (no busy loop)
MAX_PINGS = 7                 # /_ping requests in a ~4-6 s fault phase (0.5 s backoff, doubling)
BIG = 10 * 1024 * 1024
API = "1.43"
SLEEPER = 'trap "exit 0" TERM; while :; do sleep 1; done'

# mode -> (error source that must count the fault, docker_up expectation)
#   "down": 0 in every scrape; "mostly": 0 in >= 60 % of the fault scrapes;
#   "up": the connection works (stall_inspect)
MODES = {
    "garbage": ("docker_http", "down"),
    "stall": ("docker_http", "down"),
    "stall_inspect": ("docker_http", "up"),
    "cut_body": ("docker_http", "mostly"),
    "cut_events": ("docker_http", "mostly"),
    "big_line": ("docker_json", "mostly"),
    "err500": ("docker_http", "down"),
    # Not in the default run (a ~650 MB peak on a shared machine): an 8 MB
    # list (under cstatd's body cap) of empty objects, ~80 times its size as a
    # jansson tree. Checks that the memory is handed back after the parse.
    "dense_list": ("docker_json", "up"),
}
OPTIONAL = {"dense_list"}
# How long to wait for the mode's error to be counted (the stall modes wait
# for cstatd's 10 s request timeout).
ERROR_WAIT_S = {"stall": 14.0, "stall_inspect": 14.0}


# --------------------------------------------------------------------------
# A fake Docker Engine
# --------------------------------------------------------------------------

def _iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000000000Z"


class FakeDockerd:
    """A Docker Engine impostor on a unix socket; `mode` says how it breaks.

    `containers`: list of dicts with id, name, pid (real sandbox cgroups, so
    that cstatd's cgroup collector finds them under docker/<id>). Every
    request is logged in `requests` as (monotonic time, path). stop() closes
    the listener and every connection (stalled ones included) and joins
    the handler threads (bounded)."""

    def __init__(self, path, mode, containers):
        self.path = path
        self.mode = mode
        self.containers = containers
        self.requests = []
        self.lock = threading.Lock()
        self.conns = set()
        self.threads = []
        self.stopping = threading.Event()
        self.listener = None
        self.acceptor = None
        self.started = time.time()

    # -- lifecycle --
    def start(self):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.path)
        s.listen(64)
        s.settimeout(0.2)
        self.listener = s
        self.acceptor = threading.Thread(target=self._accept_loop, daemon=True,
                                         name=f"fake-{self.mode}")
        self.acceptor.start()
        return self

    def stop(self):
        self.stopping.set()
        if self.acceptor:
            self.acceptor.join(timeout=2)
        with contextlib.suppress(OSError):
            self.listener.close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                c.close()
        for th in list(self.threads):
            th.join(timeout=2)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def count(self, prefix):
        """Requests whose path (without the /vX.Y prefix) starts with prefix."""
        with self.lock:
            return sum(1 for _, p in self.requests if _unversioned(p).startswith(prefix))

    # -- connections --
    def _accept_loop(self):
        for _ in range(10 ** 7):  # bounded; ends on stop
            if self.stopping.is_set():
                break
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                self.conns.add(conn)
            th = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(th)
            th.start()

    def _read_request(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            if len(data) > 65536:
                return None
            try:
                chunk = conn.recv(4096)
            except socket.timeout:
                if self.stopping.is_set():
                    return None
                continue
            if not chunk:
                return None
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        parts = head.split("\r\n", 1)[0].split()
        return (parts[0], parts[1]) if len(parts) >= 2 else None

    def _serve(self, conn):
        try:
            conn.settimeout(0.5)
            for _ in range(1000):  # keep-alive requests on one connection
                req = self._read_request(conn)
                if req is None or self.stopping.is_set():
                    break
                method, path = req
                with self.lock:
                    self.requests.append((time.monotonic(), path))
                if not self._answer(conn, method, path):
                    break
        except OSError:
            pass
        finally:
            with self.lock:
                self.conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _hold(self):
        """Keep the connection open, sending nothing, until stop()."""
        self.stopping.wait(3600)

    # -- answers --
    @staticmethod
    def _head(status, headers):
        reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
        lines = [f"HTTP/1.1 {status} {reason}", f"Api-Version: {API}",
                 "Server: Docker/24.0.0-fake (linux)", "Ostype: linux",
                 "Docker-Experimental: false"]
        lines += [f"{k}: {v}" for k, v in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _send(self, conn, status, body, ctype="application/json"):
        if isinstance(body, str):
            body = body.encode()
        conn.sendall(self._head(status, [("Content-Type", ctype),
                                         ("Content-Length", str(len(body)))]) + body)
        return True

    def _chunk(self, data):
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    def _list_body(self):
        return json.dumps([{"Id": c["id"], "Names": ["/" + c["name"]], "Image": "fake:1",
                            "ImageID": "sha256:" + "0" * 64, "Created": int(self.started),
                            "Labels": {}, "State": "running", "Status": "Up 1 second"}
                           for c in self.containers])

    def _inspect_body(self, c):
        return json.dumps({
            "Id": c["id"], "Name": "/" + c["name"], "Created": _iso(self.started),
            "Image": "sha256:" + "0" * 64, "RestartCount": 0,
            "State": {"Status": "running", "Running": True, "Paused": False,
                      "Restarting": False, "OOMKilled": False, "Dead": False,
                      "Pid": c["pid"], "ExitCode": 0, "Error": "",
                      "StartedAt": _iso(self.started), "FinishedAt": "0001-01-01T00:00:00Z"},
            "HostConfig": {"Memory": 0, "NanoCpus": 0, "CpuQuota": 0, "CpuPeriod": 0,
                           "PidsLimit": None, "RestartPolicy": {"Name": "no"},
                           "NetworkMode": "none"},
            "Config": {"Image": "fake:1", "Labels": {}, "User": ""}})

    def _event_line(self, c, action="start"):
        now = time.time()
        return (json.dumps({"Type": "container", "Action": action,
                            "Actor": {"ID": c["id"], "Attributes": {"name": c["name"],
                                                                    "image": "fake:1"}},
                            "scope": "local", "time": int(now),
                            "timeNano": int(now * 1e9)}) + "\n").encode()

    def _good(self, conn, method, path):
        """A working engine's answer (used by the modes that break only part)."""
        p = _unversioned(path)
        if p.startswith("/_ping"):
            return self._send(conn, 200, b"" if method == "HEAD" else b"OK", "text/plain")
        if p.startswith("/version"):
            return self._send(conn, 200, json.dumps({"ApiVersion": API, "Version": "24.0.0"}))
        if p.startswith("/containers/json"):
            return self._send(conn, 200, self._list_body())
        if p.startswith("/events"):
            conn.sendall(self._head(200, [("Content-Type", "application/json"),
                                          ("Transfer-Encoding", "chunked")]))
            self._hold()
            return False
        if p.startswith("/containers/") and p.endswith("/stats"):
            conn.sendall(self._head(200, [("Content-Type", "application/json"),
                                          ("Transfer-Encoding", "chunked")]))
            empty = (b'{"read":"0001-01-01T00:00:00Z","cpu_stats":{},"memory_stats":{}}\n')
            for _ in range(3600):
                conn.sendall(self._chunk(empty))
                if self.stopping.wait(1.0):
                    break
            return False
        if p.startswith("/containers/") and p.endswith("/json"):
            cid = p.split("/")[2]
            for c in self.containers:
                if c["id"] == cid:
                    return self._send(conn, 200, self._inspect_body(c))
            return self._send(conn, 404, json.dumps({"message": f"No such container: {cid}"}))
        return self._send(conn, 404, json.dumps({"message": "page not found"}))

    def _answer(self, conn, method, path):
        """Answer one request; False closes the connection."""
        p = _unversioned(path)
        m = self.mode
        if m == "garbage":
            conn.sendall(random.randbytes(4096))
            return False
        if m == "err500":
            return self._send(conn, 500, json.dumps({"message": "fake daemon failure"}))
        if m == "stall":
            conn.sendall(self._head(200, [("Content-Type", "text/plain"),
                                          ("Content-Length", "2")]))
            self._hold()
            return False
        if m == "stall_inspect" and p.startswith("/containers/") and p.endswith("/json"):
            if p.split("/")[2] == self.containers[0]["id"]:
                conn.sendall(self._head(200, [("Content-Type", "application/json"),
                                              ("Content-Length", "4000")]))
                self._hold()
                return False
        if m == "cut_body" and p.startswith("/containers/") and not p.endswith("/stats"):
            body = (self._list_body() if p.startswith("/containers/json")
                    else self._inspect_body(self.containers[0])).encode()
            conn.sendall(self._head(200, [("Content-Type", "application/json"),
                                          ("Content-Length", "2000")]) + body[:300])
            return False
        if m == "cut_events" and p.startswith("/events"):
            conn.sendall(self._head(200, [("Content-Type", "application/json"),
                                          ("Transfer-Encoding", "chunked")]))
            conn.sendall(self._chunk(self._event_line(self.containers[1])))
            self.stopping.wait(0.3)
            half = self._event_line(self.containers[1], "die")
            conn.sendall(f"{len(half):x}\r\n".encode() + half[:len(half) // 2])
            return False
        if m == "big_line" and p.startswith("/events"):
            conn.sendall(self._head(200, [("Content-Type", "application/json"),
                                          ("Transfer-Encoding", "chunked")]))
            c = self.containers[0]
            line = (b'{"Type":"container","Action":"start","Actor":{"ID":"' + c["id"].encode()
                    + b'","Attributes":{"name":"' + b"x" * BIG + b'"}},"time":1}\n')
            conn.sendall(self._chunk(line))
            self._hold()
            return False
        if m == "dense_list" and p.startswith("/containers/json"):
            n = (8 * 1024 * 1024 - 64) // 3
            return self._send(conn, 200, b"[" + b",".join([b"{}"] * n) + b"]")
        if m == "big_line" and p.startswith("/containers/json"):
            c = self.containers[0]
            body = (b'[{"Id":"' + c["id"].encode() + b'","Names":["/' + b"y" * BIG
                    + b'"],"State":"running"}]')
            return self._send(conn, 200, body)
        return self._good(conn, method, path)


def _unversioned(path):
    """/v1.43/containers/json?all=1 -> /containers/json (no query)"""
    path = path.split("?", 1)[0]
    if path.startswith("/v"):
        rest = path[2:]
        i = rest.find("/")
        if i > 0 and all(ch.isdigit() or ch == "." for ch in rest[:i]):
            return rest[i:]
    return path


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def proc_status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def repoint(link, target):
    """Atomically make `link` a symlink to `target`."""
    tmp = link + ".new"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def errors(m, source):
    return ct.value(m, "cstatd_collect_errors_total", source=source) or 0.0


def has_cgroup_series(m, id_label):
    return ct.value(m, "container_cpu_usage_seconds_total", id=id_label) is not None


def named(m, name):
    return bool(ct.series(m, "cstatd_container_info", name=name))


def scrape_http_timed(port, timeout):
    """dk.scrape_once, with `elapsed` the HTTP exchange alone (the parse of a
    big body in Python is not cstatd's latency)."""
    s = dk.Scrape()
    s.t = time.monotonic()
    s.wall = time.time()
    try:
        status, hdrs, body = ct.scrape(port, timeout=timeout)
        s.elapsed = time.monotonic() - s.t
        s.status = status
        if status == 200:
            ex = ct.parse_exposition(ct.decode_body(hdrs, body))
            s.metrics = {(x.name, frozenset(x.labels.items())): x.value for x in ex.samples}
            s.types = ex.types
        else:
            s.error = body[:200].decode("utf-8", "replace")
    except Exception as e:  # noqa: BLE001 - any failure is a failed scrape
        s.elapsed = time.monotonic() - s.t
        s.error = f"{type(e).__name__}: {e}"
    return s


class Scraper(dk.Scraper):
    """dk.Scraper with the HTTP time as `elapsed` (see scrape_http_timed)."""

    def _run(self):
        t_end = time.monotonic() + self.max_seconds
        for _ in range(int(self.max_seconds / self.period) + 2):
            if self._stop.is_set() or time.monotonic() > t_end:
                break
            t0 = time.monotonic()
            s = scrape_http_timed(self.port, self.timeout)
            with self._cond:
                self.scrapes.append(s)
                self._cond.notify_all()
            self._stop.wait(max(0.0, self.period - (time.monotonic() - t0)))


def scrape_checks(t, what, scrapes, id_label):
    """Every scrape 200 within SCRAPE_TIMEOUT and with the sandbox cgroup's series."""
    bad = [(round(s.t - scrapes[0].t, 1), s.status, s.error[:80]) for s in scrapes
           if s.status != 200 or s.elapsed > SCRAPE_TIMEOUT]
    slowest = max((s.elapsed for s in scrapes), default=0.0)
    t.check(scrapes and not bad, f"{what}: all {len(scrapes)} scrapes answered 200 within "
            f"{SCRAPE_TIMEOUT:.0f} s (slowest {slowest * 1000:.0f} ms)",
            expected="all 200, < 1 s", actual=bad[:6])
    missing = [round(s.t - scrapes[0].t, 1) for s in scrapes
               if s.metrics is not None and not has_cgroup_series(s.metrics, id_label)]
    t.check(not missing, f"{what}: the sandbox cgroup's container_cpu_usage_seconds_total "
            "is in every scrape", expected="[]", actual=missing[:8])
    return slowest


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------

def main():
    ct.require_root()
    mnt = ct.require_cgroup2()
    dk.require_docker("v2")
    ct.find_binary()
    only = sys.argv[1:]  # optional: mode names and/or "crash"
    t = ct.Test("docker_faults: a broken Docker Engine, and dockerd SIGKILLed twice")
    t_start = time.monotonic()
    figures = []
    tmp = tempfile.mkdtemp(prefix="cstatd-dkf-", dir="/tmp")
    link = os.path.join(tmp, "docker.sock")
    try:
        with ct.CgroupSandbox(mnt) as sb, dk.PrivateDockerd("v2") as d:
            a, b = sb.add_container(), sb.add_container()
            a.start_sleeper()
            b.start_sleeper()
            fakes = [{"id": a.id, "name": "fake-a", "pid": a.procs[0].pid},
                     {"id": b.id, "name": "fake-b", "pid": b.procs[0].pid}]
            d.run_container("good1", "sh", "-c", SLEEPER,
                            opts=["--restart=always", "--stop-timeout", "1"])
            d.run_container("plain1", "sh", "-c", SLEEPER, opts=["--stop-timeout", "1"])
            ctx = {"sb": sb, "d": d, "link": link, "tmp": tmp, "fakes": fakes,
                   "a_label": "/" + os.path.relpath(a.path, sb.base)}
            for mode in MODES:
                if (not only and mode not in OPTIONAL) or mode in only:
                    fig = run_mode(t, ctx, mode)
                    if fig:
                        figures.append(fig)
            if not only or "crash" in only:
                crash_phase(t, ctx, mnt, a)
    finally:
        with contextlib.suppress(OSError):
            for n in os.listdir(tmp):
                os.unlink(os.path.join(tmp, n))
            os.rmdir(tmp)
    t.info("figures (mode: peak RSS, cstatd CPU in the fault, /_ping requests, "
           "time to recover):")
    for f in figures:
        t.info("  " + f)
    t.info(f"total time {time.monotonic() - t_start:.1f} s")
    t.finish()


def run_mode(t, ctx, mode):
    source, up_rule = MODES[mode]
    print(f"--- mode {mode}", flush=True)
    sb, d, link = ctx["sb"], ctx["d"], ctx["link"]
    fake_path = os.path.join(ctx["tmp"], f"fake-{mode}.sock")
    fake = FakeDockerd(fake_path, mode, ctx["fakes"]).start()
    repoint(link, fake_path)
    args = ["--interval", INTERVAL, "--cgroup-root", sb.base, "--no-cgroup-root-check",
            "--docker-host", "unix://" + link]
    fig = None
    try:
        with ct.Cstatd(args, docker=True) as c, \
                Scraper(c.port, period=SCRAPE_PERIOD, timeout=SCRAPE_TIMEOUT,
                           max_seconds=120) as sc:
            pid = c.proc.pid
            t0 = time.monotonic()
            cpu0 = cpu_seconds(pid)
            # 1. The fault: wait for cstatd to count it, and run at least FAULT_MIN_S.
            if mode == "stall_inspect":
                s2, ok2 = sc.wait_for(lambda m: named(m, "fake-b"), 5.0)
                t.check(bool(ok2), "stall_inspect: fake-b is named (its inspect answered) "
                        f"{time.monotonic() - t0:.1f} s after start, while fake-a's inspect "
                        "hangs")
                t.check(not named(s2.metrics if s2 else {}, "fake-a"),
                        "stall_inspect: fake-a (inspect hanging) is not named meanwhile")
            s, ok = sc.wait_for(lambda m: errors(m, source) > 0, ERROR_WAIT_S.get(mode, 8.0))
            t.check(bool(ok), f"{mode}: the fault is counted in "
                    f"cstatd_collect_errors_total{{source=\"{source}\"}}",
                    actual={k: errors(s.metrics, k) for k in
                            ("docker_http", "docker_json", "docker_reconnect")} if s else None)
            t_err = time.monotonic() - t0
            if mode == "stall_inspect":
                t.check(t_err >= 9.0, "stall_inspect: the hung inspect is given up after "
                        f"cstatd's 10 s request timeout (error counted after {t_err:.1f} s)",
                        expected="~10 s", actual=round(t_err, 1))
                t.check(named(s.metrics if s else {}, "fake-b"), "stall_inspect: fake-b is "
                        "still named after the timeout")
            left = FAULT_MIN_S - (time.monotonic() - t0)
            if left > 0:
                time.sleep(left)
            dt = time.monotonic() - t0
            cpu = (cpu_seconds(pid) - cpu0) / dt
            hwm = proc_status_kb(pid, "VmHWM")
            n_fault = sc.count()
            pings = fake.count("/_ping")
            fault_scrapes = list(sc.scrapes[:n_fault])
            t.info(f"{mode}: error counted after {t_err:.1f} s; fault phase {dt:.1f} s, "
                   f"{pings} /_ping and {len(fake.requests)} requests in all reached the "
                   f"fake; cstatd CPU {cpu * 100:.1f} % of a core; VmHWM {hwm} kB")
            scrape_checks(t, f"{mode} (fault)", fault_scrapes, ctx["a_label"])
            ups = [ct.value(x.metrics, "cstatd_docker_up") for x in fault_scrapes
                   if x.metrics is not None]
            zeros = sum(1 for v in ups if v == 0)
            if up_rule == "down":
                t.check(ups and zeros == len(ups), f"{mode}: cstatd_docker_up is 0 in every "
                        "scrape", expected=0, actual=sorted(set(ups)))
            elif up_rule == "mostly":
                t.check(ups and zeros >= 0.6 * len(ups), f"{mode}: cstatd_docker_up is 0 in "
                        f"most scrapes ({zeros} of {len(ups)}; the connection comes up for "
                        "a moment and drops)", expected=">= 60 %", actual=f"{zeros}/{len(ups)}")
            else:
                t.check(ups and ups[-1] == 1, f"{mode}: cstatd_docker_up is 1 (ping, list "
                        "and events work)", actual=ups[-3:])
            t.check(mode == "stall_inspect" or pings <= MAX_PINGS,
                    f"{mode}: reconnects back off ({pings} /_ping requests in {dt:.1f} s)",
                    expected=f"<= {MAX_PINGS}", actual=pings)
            t.check(cpu < CPU_LIMIT, f"{mode}: no busy loop (cstatd used "
                    f"{cpu * 100:.1f} % of a core)", expected=f"< {CPU_LIMIT * 100:.0f} %",
                    actual=f"{cpu * 100:.1f} %")
            if mode == "dense_list":
                rss = proc_status_kb(pid, "VmRSS")
                t.info(f"dense_list: peak RSS {hwm / 1024:.0f} MB while jansson held the "
                       f"tree; VmRSS {rss / 1024:.0f} MB after it")
                t.check(rss < RSS_LIMIT_KB, "dense_list: the tree's memory is handed back "
                        f"after the parse (VmRSS {rss} kB < {RSS_LIMIT_KB // 1024} MB)",
                        actual=rss)
            else:
                t.check(hwm is not None and hwm < RSS_LIMIT_KB, f"{mode}: peak RSS (VmHWM) "
                        f"{hwm} kB < {RSS_LIMIT_KB // 1024} MB", actual=hwm)
            bogus = [n for x in fault_scrapes if x.metrics
                     for n in ("x" * 20, "y" * 20) if any(
                         n in dict(k[1]).get("name", "") for k in x.metrics)]
            t.check(not bogus, f"{mode}: no name from a broken answer reaches /metrics")

            # 2. Recovery: the symlink names a real dockerd, the fake goes away.
            t_rec = time.monotonic()
            repoint(link, d.sock)
            fake.stop()
            s, ok = sc.wait_for(lambda m: ct.value(m, "cstatd_docker_up") == 1
                                and named(m, "good1"), RECOVER_S)
            rec = time.monotonic() - t_rec
            t.check(bool(ok), f"{mode}: recovers when a real dockerd answers: "
                    f"cstatd_docker_up 1 and cstatd_container_info{{name=\"good1\"}} within "
                    f"{RECOVER_S:.0f} s (took {rec:.1f} s)",
                    actual=ct.value(s.metrics, "cstatd_docker_up") if s else None)
            sc.stop()
            scrape_checks(t, f"{mode} (recovery)", list(sc.scrapes[n_fault:]),
                          ctx["a_label"])
            log = c.stderr_text()
            lines = [ln for ln in log.splitlines() if "docker" in ln.lower()]
            t.info(f"{mode}: {len(lines)} log lines about docker; last: "
                   + (lines[-1][:200] if lines else "-"))
            t.check(len(lines) <= 2 * pings + 6, f"{mode}: docker log lines are few "
                    f"({len(lines)}, not one per attempt)", expected=f"<= {2 * pings + 6}",
                    actual=len(lines))
            hwm = proc_status_kb(pid, "VmHWM")
            fig = (f"{mode}: VmHWM {hwm / 1024:.1f} MB, CPU {cpu * 100:.1f} %, "
                   f"{pings} pings in {dt:.1f} s, recovered in {rec:.1f} s")
        t.check(c.returncode == 0, f"{mode}: cstatd exits 0 on SIGTERM", actual=c.returncode)
    finally:
        fake.stop()
    return fig


# --------------------------------------------------------------------------
# dockerd SIGKILLed and restarted, twice
# --------------------------------------------------------------------------

def docker_state(d, name):
    out = d.docker("inspect", "-f", "{{.State.Status}} {{.State.StartedAt}}", name)
    st, started = out.split()
    return st, started


def crash_phase(t, ctx, mnt, a):
    print("--- crash: dockerd SIGKILLed and restarted twice", flush=True)
    d, link = ctx["d"], ctx["link"]
    repoint(link, d.sock)
    a_label = "/" + os.path.relpath(a.path, mnt)
    args = ["--interval", INTERVAL, "--cgroup-root", mnt, "--docker-host", "unix://" + link]
    R = "cstatd_container_restarts_total"
    with ct.Cstatd(args, docker=True) as c, \
            Scraper(c.port, period=0.25, timeout=SCRAPE_TIMEOUT, max_seconds=120) as sc:
        s, ok = sc.wait_for(lambda m: ct.value(m, "cstatd_docker_up") == 1
                            and ct.value(m, R, name="good1") is not None
                            and ct.value(m, R, name="plain1") is not None, 15.0)
        t.check(bool(ok), "crash: docker_up 1 and both containers known at start", fatal=True)
        for n in (1, 2):
            before = {x: docker_state(d, x) for x in ("good1", "plain1")}
            r0 = {x: ct.value(s.metrics, R, name=x) for x in ("good1", "plain1")}
            t_kill = time.monotonic()
            d.kill()
            s, ok = sc.wait_for(lambda m: ct.value(m, "cstatd_docker_up") == 0, 15.0)
            t.check(bool(ok), f"crash {n}: cstatd_docker_up 0 after SIGKILL "
                    f"({time.monotonic() - t_kill:.1f} s)")
            time.sleep(1.5)
            t.check(c.alive(), f"crash {n}: cstatd alive while dockerd is down", fatal=True)
            t_up = time.monotonic()
            d.restart()
            s, ok = sc.wait_for(lambda m: ct.value(m, "cstatd_docker_up") == 1
                                and named(m, "good1") and ct.value(m, R, name="plain1")
                                is not None, 30.0)
            rec = time.monotonic() - t_up
            t.check(bool(ok), f"crash {n}: cstatd_docker_up 1 and good1/plain1 known again "
                    f"{rec:.1f} s after dockerd's restart (bound 30 s)")
            # Let the container states settle (dockerd stops plain1 and starts good1
            # again), then compare what cstatd counted with what Docker did.
            ct.poll(lambda: docker_state(d, "good1")[0] == "running", 10.0, 0.2)
            after = {x: docker_state(d, x) for x in ("good1", "plain1")}
            wants = {x: (r0[x] or 0) + (1 if after[x][0] == "running"
                                         and after[x][1] != before[x][1] else 0)
                     for x in ("good1", "plain1")}
            # cstatd learns the new start from an event and an inspect: wait
            # (bounded) for the counters to say what Docker did, then hold 1 s
            # more so that a late extra count would show.
            sc.wait_for(lambda m: all(ct.value(m, R, name=x) == wants[x] for x in wants), 8.0)
            time.sleep(1.0)
            s = sc.latest()
            r1 = {x: ct.value(s.metrics, R, name=x) for x in ("good1", "plain1")}
            for x in ("good1", "plain1"):
                started_again = after[x][0] == "running" and after[x][1] != before[x][1]
                want = wants[x]
                t.equal(r1[x], want, f"crash {n}: {R}{{name=\"{x}\"}} moved by what Docker "
                        f"did ({before[x][0]} -> {after[x][0]}, started again: "
                        f"{started_again}): {r0[x]} -> {r1[x]}")
            t.info(f"crash {n}: down {t_up - t_kill:.1f} s, cstatd back {rec:.1f} s after "
                   f"dockerd's restart; states {before} -> {after}")
        sc.stop()
        scrapes = list(sc.scrapes)
        scrape_checks(t, "crash", scrapes, a_label)
        seq = []
        for x in scrapes:
            v = ct.value(x.metrics, "cstatd_docker_up") if x.metrics else None
            if v is not None and (seq or v == 1) and (not seq or seq[-1] != v):
                seq.append(v)  # from the first 1 on (cstatd may scrape 0 before it connects)
        t.equal(seq, [1.0, 0.0, 1.0, 0.0, 1.0], "crash: cstatd_docker_up went 1 -> 0 -> 1 "
                "twice (deduplicated sequence)")
        unexplained, _ = dk.counter_decreases(scrapes, keep=lambda lb: lb.get("name") in
                                              ("good1", "plain1"))
        daemon_drops = [u for u in unexplained if "cstatd_" in u.split("{")[0]
                        and "container" not in u.split("{")[0]]
        t.check(not daemon_drops, "crash: cstatd's own counters never went down",
                actual=daemon_drops[:5])
    t.check(c.returncode == 0, "crash: cstatd exits 0 on SIGTERM", actual=c.returncode)


if __name__ == "__main__":
    ct.run(main)
