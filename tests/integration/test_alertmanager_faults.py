#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Alertmanager that answers 500, and one that answers after 10 s
(issue #7, "Faults"). test_alerts_real.py covers an Alertmanager that is
down (connection refused) and one that never answers; this covers the two
that answer badly.

A fake Alertmanager (FakeAM: http.server on 127.0.0.1, POST /api/v2/alerts)
records every post. cstatd runs with --interval 100ms on a sandbox subtree
and a rule that fires for every container at once (cpu_usage last >= 0,
for 0s), alertmanager.resend 1s. N_CGROUPS cgroups are made 110 ms apart,
so each alert fires, and becomes due again, in a sweep of its own: cstatd
has a batch to post in almost every sweep (~10 a second), far more than a
bad Alertmanager takes.

  am500  every post answers 500 at once (timeout 2s). For FAULT_S s:
         cstatd_notifications_dropped_total rises (each batch: 4 tries, then
         dropped; and the queue of 32 overflows), sent stays 0, the fake gets
         at most 4 tries per batch at the pusher's backoff (bounded rate), the
         log says "cannot post alerts" a few times, not per try. Then the fake
         answers 200: sent rises and the log says it accepts alerts again.
  slow   every post is answered 200 after SLOW_S (10 s; timeout 15s, so the
         posts succeed, slowly). For FAULT_S s: never more than one post in
         flight, the queue stays bounded (dropped rises: overflow of the
         32-batch queue; VmRSS grows < 4 MiB), SIGTERM with a post in flight
         exits 0 within 2 s.
  Both: sweeps are never delayed: sweeps per second stay >= 70 % of the
  nominal 10, cstatd_last_sweep_duration_seconds < 0.1 s, and the
  cstatd_sweep_duration_seconds histogram gets no sweep over 0.5 s during
  the fault (its le="0.5" bucket grows as much as _count); /metrics answers
  within 1 s every time.

Needs root and a cgroup2 mount (exit 77 otherwise). Takes ~50 s.
"""

import contextlib
import http.server
import json
import os
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

N_CGROUPS = 20
FAULT_S = 12.0
SLOW_S = 10.0
RULE = {"alert": "AlwaysOn", "signal": "cpu_usage", "window": "1m", "aggregate": "last",
        "op": ">=", "threshold": 0, "for": "0s", "severity": "info"}


class FakeAM:
    """POST /api/v2/alerts -> `mode`: "500", "slow" (200 after SLOW_S) or "ok"."""

    def __init__(self, mode):
        self.mode = mode
        self.posts = []          # (monotonic time, n alerts)
        self.inflight = 0
        self.max_inflight = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n > 0 else b""
                try:
                    alerts = len(json.loads(body))
                except ValueError:
                    alerts = -1
                with fake.lock:
                    fake.posts.append((time.monotonic(), alerts))
                    fake.inflight += 1
                    fake.max_inflight = max(fake.max_inflight, fake.inflight)
                try:
                    if fake.mode == "slow":
                        fake.stopping.wait(SLOW_S)
                    status = 500 if fake.mode == "500" else 200
                    out = b'{"message":"fake failure"}' if status == 500 else b""
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass
                finally:
                    with fake.lock:
                        fake.inflight -= 1

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def count(self):
        with self.lock:
            return len(self.posts)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        return False


def sanitized_build():
    """True for a -DCSTATD_SANITIZE build: ASan's quarantine keeps freed memory
    resident, so VmRSS says nothing about cstatd's own growth there."""
    with open(ct.find_binary(), "rb") as f:
        return b"__asan_init" in f.read()


def rss_check(t, what, rss0, rss1):
    if sanitized_build():
        t.info(f"{what}: VmRSS {rss0} -> {rss1} kB not checked (sanitizer build)")
        return
    t.check(rss1 - rss0 < 4096, f"{what}: VmRSS grows < 4 MiB", actual=(rss0, rss1))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def snapshot(port):
    m = ct.get_metrics(port)
    return {
        "sweeps": ct.value(m, "cstatd_sweep_duration_seconds_count") or 0.0,
        "le05": ct.value(m, "cstatd_sweep_duration_seconds_bucket", le="0.5") or 0.0,
        "last": ct.value(m, "cstatd_last_sweep_duration_seconds"),
        "sent": ct.value(m, "cstatd_notifications_sent_total") or 0.0,
        "dropped": ct.value(m, "cstatd_notifications_dropped_total") or 0.0,
        "firing": len([v for _, v in ct.series(m, "cstatd_alert_firing", alertname="AlwaysOn")
                       if v == 1]),
    }


def watch(c, seconds):
    """Scrape every 0.1 s for `seconds`: (latencies, failures, max last-sweep)."""
    lat, bad, last_max = [], [], 0.0
    t_end = time.monotonic() + seconds
    for _ in range(int(seconds / 0.1) + 2):
        if time.monotonic() >= t_end:
            break
        t0 = time.monotonic()
        try:
            status, hdrs, body = ct.scrape(c.port, timeout=2.0)
            el = time.monotonic() - t0
            lat.append(el)
            if status != 200 or el > 1.0:
                bad.append((status, round(el, 3)))
            else:
                v = ct.value(ct.parse_metrics(ct.decode_body(hdrs, body)),
                             "cstatd_last_sweep_duration_seconds")
                last_max = max(last_max, v or 0.0)
        except OSError as e:
            bad.append((str(e), None))
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))
    return lat, bad, last_max


def setup(t, sb, tmp, name, am, timeout):
    cfg = os.path.join(tmp, f"{name}.json")
    with open(cfg, "w") as f:
        json.dump({"interval": "100ms", "rules": [RULE],
                   "alertmanager": {"url": am.url, "resend": "1s", "timeout": timeout}}, f)
    return ["--config", cfg, "--cgroup-root", sb.base, "--no-cgroup-root-check"]


def stagger(t, sb, c):
    """N_CGROUPS cgroups 110 ms apart, so alerts fire in different sweeps."""
    for _ in range(N_CGROUPS):
        sb.add_container()
        time.sleep(0.11)
    got = ct.poll(lambda: snapshot(c.port)["firing"] >= N_CGROUPS, 10.0, 0.1)
    t.check(bool(got), f"AlwaysOn fires for all {N_CGROUPS} cgroups", fatal=True)


def sweep_checks(t, name, s0, s1, dt, lat, bad, last_max):
    rate = (s1["sweeps"] - s0["sweeps"]) / dt
    slow = (s1["sweeps"] - s0["sweeps"]) - (s1["le05"] - s0["le05"])
    t.info(f"{name}: {rate:.1f} sweeps/s, longest last-sweep seen {last_max * 1000:.1f} ms, "
           f"{int(slow)} sweeps over 0.5 s; /metrics max {max(lat) * 1000:.0f} ms over "
           f"{len(lat)} scrapes")
    t.check(rate >= 7.0, f"{name}: sweeps keep their cadence ({rate:.1f}/s, nominal 10)",
            expected=">= 7", actual=round(rate, 2))
    t.check(last_max < 0.1, f"{name}: cstatd_last_sweep_duration_seconds stays < 0.1 s",
            actual=last_max)
    t.equal(slow, 0.0, f"{name}: no sweep over 0.5 s in the histogram during the fault")
    t.check(lat and not bad, f"{name}: every /metrics answered 200 within 1 s",
            expected="[]", actual=bad[:5])


def section_am500(t, sb, tmp):
    with FakeAM("500") as am, ct.Cstatd(setup(t, sb, tmp, "am500", am, "2s")) as c:
        stagger(t, sb, c)
        pid = c.proc.pid
        s0, rss0, p0, t0 = snapshot(c.port), rss_kb(pid), am.count(), time.monotonic()
        lat, bad, last_max = watch(c, FAULT_S)
        s1, rss1, p1, dt = snapshot(c.port), rss_kb(pid), am.count(), time.monotonic() - t0
        posts_rate = (p1 - p0) / dt
        t.info(f"am500: over {dt:.1f} s: {p1 - p0} posts reached the fake "
               f"({posts_rate:.1f}/s), dropped {s0['dropped']:g} -> {s1['dropped']:g}, "
               f"sent {s1['sent']:g}, VmRSS {rss0} -> {rss1} kB")
        sweep_checks(t, "am500", s0, s1, dt, lat, bad, last_max)
        t.check(s1["dropped"] > s0["dropped"], "am500: cstatd_notifications_dropped_total "
                "rises", actual=(s0["dropped"], s1["dropped"]))
        t.equal(s1["sent"], 0.0, "am500: cstatd_notifications_sent_total stays 0")
        # One batch at a time, 4 tries 0.5, 1, 2 s apart and a last 4 s wait
        # before the drop: 4 posts per 7.5 s (~0.5/s), however many batches
        # are queued.
        t.check(posts_rate < 3.0, "am500: the retries back off (posts per second "
                f"{posts_rate:.1f}; ~0.5 expected)", expected="< 3", actual=round(posts_rate, 2))
        rss_check(t, "am500", rss0, rss1)
        n_warn = c.stderr_text().count("cannot post alerts")
        t.check(1 <= n_warn <= 3, f"am500: the failure is logged, not per post ({n_warn} "
                f"lines for {p1} posts)", expected="1..3", actual=n_warn)
        # Recovery.
        am.mode = "ok"
        t_ok = time.monotonic()
        got = ct.poll(lambda: snapshot(c.port)["sent"] > 0, 10.0, 0.1)
        t.check(bool(got), f"am500 -> 200: cstatd_notifications_sent_total rises "
                f"({time.monotonic() - t_ok:.1f} s after the fake answers 200)")
        t.check(bool(ct.poll(lambda: "Alertmanager accepts alerts again" in c.stderr_text(),
                             3.0, 0.1)), "am500 -> 200: the log says it accepts alerts again")
    t.equal(c.returncode, 0, "am500: cstatd exits 0 on SIGTERM")


def section_slow(t, sb, tmp):
    with FakeAM("slow") as am, ct.Cstatd(setup(t, sb, tmp, "slow", am, "15s"),
                                         stop_timeout=20.0) as c:
        stagger(t, sb, c)
        pid = c.proc.pid
        s0, rss0, t0 = snapshot(c.port), rss_kb(pid), time.monotonic()
        lat, bad, last_max = watch(c, FAULT_S)
        s1, rss1, dt = snapshot(c.port), rss_kb(pid), time.monotonic() - t0
        t.info(f"slow: over {dt:.1f} s: {am.count()} posts began at the fake (each answered "
               f"after {SLOW_S:.0f} s), at most {am.max_inflight} at once; dropped "
               f"{s0['dropped']:g} -> {s1['dropped']:g}, sent {s0['sent']:g} -> "
               f"{s1['sent']:g}, VmRSS {rss0} -> {rss1} kB")
        sweep_checks(t, "slow", s0, s1, dt, lat, bad, last_max)
        t.equal(am.max_inflight, 1, "slow: one post in flight at a time")
        t.check(s1["dropped"] > s0["dropped"], "slow: the queue is bounded: batches that "
                "do not fit are dropped and counted", actual=(s0["dropped"], s1["dropped"]))
        rss_check(t, "slow", rss0, rss1)
        ct.poll(lambda: am.inflight > 0, 12.0, 0.05)
        t.check(am.inflight > 0, "slow: a post is in flight", fatal=True)
        t_term = time.monotonic()
        rc = c.stop(signal.SIGTERM, timeout=20.0)
        dt = time.monotonic() - t_term
        t.check(rc == 0 and dt < 2.0, f"slow: SIGTERM with a post in flight: exit 0 within "
                f"2 s (took {dt:.2f} s)", expected=0, actual=rc)


SECTIONS = {"am500": section_am500, "slow": section_slow}


def main():
    ct.require_root()
    mnt = ct.require_cgroup2()
    ct.find_binary()
    names = sys.argv[1:] or list(SECTIONS)
    t = ct.Test("alertmanager_faults: 500 answers and 10 s answers")
    tmp = tempfile.mkdtemp(prefix="cstatd-amf-")
    try:
        for n in names:
            print(f"--- {n}", flush=True)
            t0 = time.monotonic()
            with ct.CgroupSandbox(mnt) as sb:
                try:
                    SECTIONS[n](t, sb, tmp)
                except ct.FatalCheck as e:
                    t.info(f"{n}: stopped after the failed check \"{e}\"")
            t.info(f"{n}: {time.monotonic() - t0:.1f} s")
    finally:
        for f in os.listdir(tmp):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(tmp, f))
        with contextlib.suppress(OSError):
            os.rmdir(tmp)
    t.finish()


if __name__ == "__main__":
    ct.run(main)
