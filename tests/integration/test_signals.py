#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Signals at awkward moments (issue #7, "Faults").

All sections use one sandbox of TREE real cgroups in Docker's cgroupfs
layout (ct.CgroupSandbox, given to cstatd as --cgroup-root) so that a sweep
takes long enough to be caught in flight, and --interval 100ms.

  sigterm_sweep   RUNS_SWEEP runs: start cstatd, wait a random 0-0.5 s after
                  it is ready (half the runs: after spawn, before the first
                  sweep has finished), SIGTERM. The sweep duration measured
                  by cstatd itself gives the share of runs that hit a sweep.
  sigterm_slow    RUNS_SCRAPE runs: a client with a 4 KiB receive buffer
                  asks for /metrics (~1 MB with TREE containers), reads 8 KiB
                  and stops reading (cstatd is mid-body, its send blocked),
                  then SIGTERM.
  sigterm_many    RUNS_SCRAPE runs: CONCURRENT threads scrape /metrics in a
                  loop; SIGTERM after a random 0.3-1 s.
  Each run: exit status 0 within STOP_S (2 s), and nothing on stderr that
  looks like a crash (sanitizer report, abort, "double free", assertion,
  segfault); the harness also fails the test on any sanitizer report.

  sighup_broken   config A (rule threshold 0.5) under load: LOAD_THREADS
                  threads scrape /metrics and /alerts/rules without pause.
                  Seven broken files (truncated JSON, bad operator, unknown
                  key, wrong type, empty, binary, missing), each with a
                  SIGHUP, then a burst of 10 SIGHUPs 20 ms apart: every time
                  the log says "reload failed",
                  cstatd_config_last_reload_successful is 0, the threshold
                  (cstatd_alert_threshold and /alerts/rules) stays 0.5, the
                  success timestamp does not move and sweeps keep their
                  cadence. Config B (0.75) then takes effect, and a broken
                  file after it keeps B. Not one scrape fails or takes > 2 s.
                  (test_alerts_real.py reload_sighup covers one broken file
                  with no load; this adds the load, the kinds of breakage,
                  the burst and the "old config is the latest good one".)

Run a subset with section names as arguments. Needs root and a cgroup2
mount (exit 77 otherwise). Takes ~60 s.
"""

import contextlib
import json
import os
import random
import re
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

TREE = 500
INTERVAL = "100ms"
STOP_S = 2.0
RUNS_SWEEP = int(os.environ.get("CSTATD_SIGNAL_RUNS", "20"))
RUNS_SCRAPE = 5
CONCURRENT = 16
LOAD_THREADS = 4
LOAD_LATENCY_S = 2.0   # 4 threads fetching a 1.1 MB body without pause on 2 cores
CRASH_RE = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                      r"runtime error:|ThreadSanitizer|double free|free\(\): |malloc\(\): |"
                      r"Assertion .* failed|Segmentation fault|Aborted|core dumped|"
                      r"stack smashing", re.I)


def base_args(sb):
    return ["--interval", INTERVAL, "--cgroup-root", sb.base, "--no-cgroup-root-check"]


def crash_lines(text):
    return [ln for ln in text.splitlines() if CRASH_RE.search(ln)]


def stop_and_check(t, c, what, results):
    """SIGTERM; record (exit status, seconds, crash lines)."""
    t0 = time.monotonic()
    rc = c.stop(signal.SIGTERM, timeout=10.0)
    dt = time.monotonic() - t0
    crash = crash_lines(c.stderr_text())
    results.append((what, rc, dt, crash))
    return rc, dt, crash


def report_runs(t, section, results):
    bad = [(w, rc, round(dt, 2), cr[:2]) for w, rc, dt, cr in results
           if rc != 0 or dt > STOP_S or cr]
    worst = max((dt for _, _, dt, _ in results), default=0.0)
    t.check(results and not bad, f"{section}: {len(results)} runs, every one exited 0 within "
            f"{STOP_S:.0f} s of SIGTERM with no crash on stderr (slowest {worst:.2f} s)",
            expected="[]", actual=bad[:5])


# --------------------------------------------------------------------------
# SIGTERM during a sweep
# --------------------------------------------------------------------------

def steady_sweep_seconds(sb):
    """cstatd's own figure for one sweep of the tree, once the fds are open."""
    with ct.Cstatd(base_args(sb)) as c:
        vals = []
        for _ in range(5):
            time.sleep(0.3)
            with contextlib.suppress(Exception):
                v = ct.value(ct.get_metrics(c.port), "cstatd_last_sweep_duration_seconds")
                if v is not None:
                    vals.append(v)
    vals.sort()
    return vals[len(vals) // 2] if vals else None


def section_sigterm_sweep(t, sb, tmp):
    results, sweep_s, before_ready = [], [], 0
    steady = steady_sweep_seconds(sb)
    for i in range(RUNS_SWEEP):
        early = i % 2 == 1
        c = ct.Cstatd(base_args(sb), wait_ready=not early, stop_timeout=10.0)
        with c:
            if early:
                # Once cstatd holds SIGTERM (before that, exec and the loader
                # run and the kernel's default action applies to any program):
                # 0.02-0.3 s later the first sweep (500 cgroups walked and
                # opened) is usually still running.
                c.wait_signal_taken(signal.SIGTERM)
                time.sleep(random.uniform(0.02, 0.3))
                with contextlib.suppress(OSError):
                    if ct.http_request(c.port, "/readyz", timeout=0.5)[0] != 200:
                        before_ready += 1
            else:
                with contextlib.suppress(Exception):
                    m = ct.get_metrics(c.port)
                    v = ct.value(m, "cstatd_last_sweep_duration_seconds")
                    if v:
                        sweep_s.append(v)  # the first sweep: it opens every file
                time.sleep(random.uniform(0.0, 0.5))
            stop_and_check(t, c, f"run {i + 1} ({'early' if early else 'ready'})", results)
    if sweep_s and steady:
        avg = sum(sweep_s) / len(sweep_s)
        t.info(f"sigterm_sweep: a sweep of {TREE} cgroups takes {steady * 1000:.0f} ms once "
               f"the files are open (the first one, which opens them: {avg * 1000:.0f} ms on "
               f"average), every 100 ms: ~{min(1.0, steady / 0.1) * 100:.0f} % of the "
               f"ready runs were signalled mid-sweep; {before_ready} of the "
               f"{RUNS_SWEEP // 2} early runs were signalled before the first sweep had "
               "finished (/readyz not 200 yet)")
    report_runs(t, "sigterm_sweep", results)


# --------------------------------------------------------------------------
# SIGTERM during a scrape
# --------------------------------------------------------------------------

def slow_client(port):
    """Connect with a tiny receive buffer, ask for /metrics, read 8 KiB and stop."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5.0)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = b""
    while len(got) < 8192:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    return s, got


def section_sigterm_slow(t, sb, tmp):
    results, sizes = [], []
    for i in range(RUNS_SCRAPE):
        with ct.Cstatd(base_args(sb), stop_timeout=10.0) as c:
            status, hdrs, body = ct.scrape(c.port)
            sizes.append(len(body))
            socks = []
            try:
                for _ in range(3):
                    s, got = slow_client(c.port)
                    socks.append(s)
                    t.check(got.startswith(b"HTTP/1.1 200"), f"run {i + 1}: the slow client "
                            "got the start of a 200 answer", actual=got[:40])
                time.sleep(random.uniform(0.1, 0.5))
                stop_and_check(t, c, f"run {i + 1}", results)
            finally:
                for s in socks:
                    with contextlib.suppress(OSError):
                        s.close()
    t.info(f"sigterm_slow: /metrics body {max(sizes)} bytes; 3 clients with a 4 KiB receive "
           "buffer stopped reading after 8 KiB")
    t.check(max(sizes) > 256 * 1024, "the body is large enough to block cstatd mid-body "
            "(> 256 KiB)", actual=max(sizes))
    report_runs(t, "sigterm_slow", results)


def section_sigterm_many(t, sb, tmp):
    results, done = [], []
    for i in range(RUNS_SCRAPE):
        with ct.Cstatd(base_args(sb), stop_timeout=10.0) as c:
            stop = threading.Event()
            counts = [0] * CONCURRENT

            def loop(k):
                for _ in range(100000):
                    if stop.is_set():
                        break
                    try:
                        ct.scrape(c.port, timeout=5.0)
                        counts[k] += 1
                    except OSError:
                        if not c.alive():
                            break
            threads = [threading.Thread(target=loop, args=(k,), daemon=True)
                       for k in range(CONCURRENT)]
            for th in threads:
                th.start()
            time.sleep(random.uniform(0.3, 1.0))
            stop_and_check(t, c, f"run {i + 1}", results)
            stop.set()
            for th in threads:
                th.join(timeout=10)
            done.append(sum(counts))
    t.info(f"sigterm_many: {CONCURRENT} threads scraping; {min(done)}-{max(done)} scrapes "
           "completed per run before SIGTERM")
    report_runs(t, "sigterm_many", results)


# --------------------------------------------------------------------------
# SIGHUP with broken configs under load
# --------------------------------------------------------------------------

RULE = {"alert": "BusyCPU", "signal": "cpu_usage", "window": "1m", "aggregate": "last",
        "op": ">", "threshold": 0.5, "for": "3s", "severity": "warning"}


def config(threshold):
    return json.dumps({"interval": INTERVAL, "rules": [dict(RULE, threshold=threshold)]},
                      indent=1) + "\n"


BROKEN = {
    "truncated JSON": config(0.9)[:40],
    "bad operator": config(0.9).replace('"op": ">"', '"op": "=>"'),
    "unknown key": config(0.9).replace('"rules"', '"rulez"'),
    "wrong type": config(0.9).replace('"threshold": 0.9', '"threshold": "high"'),
    "empty file": "",
    "binary": "\x00\x01\x02\xff\xfe garbage",
    "missing file": None,
}


class Load:
    """LOAD_THREADS threads scraping /metrics and /alerts/rules without pause."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.n = 0
        self.failures = []
        self.slowest = 0.0
        self.threads = [threading.Thread(target=self.run, args=(k,), daemon=True)
                        for k in range(LOAD_THREADS)]

    def run(self, k):
        path = "/alerts/rules" if k == 0 else "/metrics"
        for _ in range(10 ** 6):
            if self.stop.is_set():
                break
            t0 = time.monotonic()
            try:
                status, _, body = ct.http_request(self.port, path, timeout=5.0)
                el = time.monotonic() - t0
                with self.lock:
                    self.n += 1
                    self.slowest = max(self.slowest, el)
                    if status != 200 or el > LOAD_LATENCY_S:
                        self.failures.append((path, status, round(el, 3), body[:80]))
            except OSError as e:
                with self.lock:
                    self.failures.append((path, f"{type(e).__name__}: {e}", None, b""))

    def __enter__(self):
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for th in self.threads:
            th.join(timeout=10)
        return False


def threshold_now(port):
    m = ct.get_metrics(port)
    return (ct.value(m, "cstatd_alert_threshold", alertname="BusyCPU"),
            ct.value(m, "cstatd_config_last_reload_successful"),
            ct.value(m, "cstatd_config_last_reload_success_timestamp_seconds"),
            ct.value(m, "cstatd_sweep_duration_seconds_count"))


def rules_threshold(port):
    status, _, body = ct.http_request(port, "/alerts/rules")
    try:
        rules = json.loads(body)
    except ValueError:
        return None
    for r in rules if isinstance(rules, list) else []:
        if r.get("alert") == "BusyCPU":
            return r.get("threshold")
    return None


def write_cfg(path, text):
    if text is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    tmpf = path + ".tmp"
    with open(tmpf, "w", errors="surrogateescape") as f:
        f.write(text)
    os.replace(tmpf, path)


def section_sighup_broken(t, sb, tmp):
    cfg = os.path.join(tmp, "cstatd.json")
    write_cfg(cfg, config(0.5))
    args = ["--config", cfg, "--cgroup-root", sb.base, "--no-cgroup-root-check"]
    with ct.Cstatd(args) as c, Load(c.port) as load:
        port = c.port

        def failures_logged():
            return c.stderr_text().count("reload failed")

        th0, ok0, ts0, sw0 = threshold_now(port)
        t.equal((th0, ok0), (0.5, 1.0), "config A in force: threshold 0.5, last reload ok")
        t_start = time.monotonic()
        for kind, text in BROKEN.items():
            n0 = failures_logged()
            write_cfg(cfg, text)
            c.send_signal(signal.SIGHUP)
            logged = ct.poll(lambda: failures_logged() > n0, 3.0, 0.05)
            # One sweep later a (wrongly) accepted config would show.
            time.sleep(0.3)
            th, ok, ts, _ = threshold_now(port)
            t.check(bool(logged) and ok == 0.0 and th == 0.5 and ts == ts0
                    and rules_threshold(port) == 0.5,
                    f"broken config ({kind}): reload failure logged, "
                    "cstatd_config_last_reload_successful 0, threshold still 0.5 "
                    "(/metrics and /alerts/rules), success timestamp unchanged",
                    actual={"logged": bool(logged), "ok": ok, "threshold": th,
                            "ts_moved": ts != ts0})
        dt = time.monotonic() - t_start
        _, _, _, sw1 = threshold_now(port)
        rate = (sw1 - sw0) / dt if sw0 is not None and sw1 is not None else None
        t.check(rate is not None and rate >= 5.0, "sweeps kept their cadence through the "
                f"failed reloads ({rate if rate is None else round(rate, 1)} per second, "
                "interval 100 ms)", expected=">= 5 per second (half the nominal 10)",
                actual=rate)

        # A burst of SIGHUPs with a broken file (signals may coalesce).
        write_cfg(cfg, BROKEN["bad operator"])
        n0 = failures_logged()
        for _ in range(10):
            c.send_signal(signal.SIGHUP)
            time.sleep(0.02)
        ct.poll(lambda: failures_logged() > n0, 3.0, 0.05)
        time.sleep(0.3)
        th, ok, _, _ = threshold_now(port)
        n_burst = failures_logged() - n0
        t.check(c.alive() and 1 <= n_burst <= 10 and th == 0.5 and ok == 0.0,
                f"a burst of 10 SIGHUPs with a broken file: alive, {n_burst} failures logged "
                "(signals coalesce), threshold still 0.5", actual=(c.alive(), n_burst, th, ok))

        # A good config takes effect; a broken one after it keeps it.
        write_cfg(cfg, config(0.75))
        c.send_signal(signal.SIGHUP)
        got = ct.poll(lambda: (lambda v: v if v[0] == 0.75 and v[1] == 1.0 else None)(
            threshold_now(port)), 3.0, 0.05)
        t.check(bool(got) and got[2] is not None and got[2] > ts0 and
                rules_threshold(port) == 0.75, "config B (0.75): applied, reload ok 1, "
                "success timestamp advanced, /alerts/rules shows 0.75",
                actual=threshold_now(port))
        t.check(bool(ct.poll(lambda: "configuration reloaded" in c.stderr_text(), 2.0, 0.05)),
                "the log says the configuration was reloaded")
        n0 = failures_logged()
        write_cfg(cfg, BROKEN["truncated JSON"])
        c.send_signal(signal.SIGHUP)
        ct.poll(lambda: failures_logged() > n0, 3.0, 0.05)
        time.sleep(0.3)
        th, ok, _, _ = threshold_now(port)
        t.check(th == 0.75 and ok == 0.0 and rules_threshold(port) == 0.75,
                "a broken file after config B keeps B (threshold 0.75), reload ok 0",
                actual=(th, ok))
        time.sleep(0.2)
    t.info(f"sighup_broken: {load.n} requests under load, slowest {load.slowest * 1000:.0f} "
           "ms")
    t.check(load.n > 0 and not load.failures, f"not one of the {load.n} concurrent "
            f"requests failed or took over {LOAD_LATENCY_S:.0f} s", expected="[]",
            actual=load.failures[:5])
    t.equal(c.returncode, 0, "cstatd exits 0 on SIGTERM after the reloads")


SECTIONS = {
    "sigterm_sweep": section_sigterm_sweep,
    "sigterm_slow": section_sigterm_slow,
    "sigterm_many": section_sigterm_many,
    "sighup_broken": section_sighup_broken,
}


def main():
    ct.require_root()
    mnt = ct.require_cgroup2()
    ct.find_binary()
    names = sys.argv[1:] or list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s) {unknown}; known: {list(SECTIONS)}")
    t = ct.Test("signals: SIGTERM mid-sweep and mid-scrape, SIGHUP with broken configs "
                "under load")
    tmp = tempfile.mkdtemp(prefix="cstatd-sig-")
    try:
        with ct.CgroupSandbox(mnt) as sb:
            for _ in range(TREE):
                sb.add_container()
            for c in sb.containers[:4]:
                c.start_sleeper()
            for n in names:
                print(f"--- {n}", flush=True)
                t0 = time.monotonic()
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
