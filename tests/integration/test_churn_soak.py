#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Churn soak (issue #7): cgroups AND containers created and destroyed
continuously while a real Prometheus scrapes cstatd every second.

    python3 tests/integration/test_churn_soak.py                # 60 s (CI)
    CSTATD_SOAK_SECONDS=600 python3 tests/integration/test_churn_soak.py
    python3 tests/integration/test_churn_soak.py --seconds 600 --json soak.json

What runs (cstatd --interval 1s, Prometheus scrape_interval 1s):
  - long-lived: LONG_CGROUPS real cgroups in Docker's cgroupfs layout
    (ct.CgroupSandbox: <mount>/cstatd-test-<pid>-<rand>/docker/<64 hex>) and
    LONG_CONTAINERS containers on a private cgroup-v2 dockerd (lib/dockerd.py),
    up from before cstatd starts until after the checks; one of each runs a
    light periodic loop so its counters move.
  - cgroup churn: CG_RATE cgroups per second are made (mkdir, a `sleep`
    moved in), each destroyed (process killed and reaped, rmdir) after a
    random lifetime of CG_LIFE s.
  - container churn: one `docker run -d --network none busybox:local sleep`
    every DK_PERIOD s, each removed with `docker rm -f` after DK_LIFE s.
  - warm-up: WARMUP_S s of the same churn, all removed, before the baseline
    is taken (so one-time allocations of the first removal are in it).
The test logs, for every cgroup and container, the wall-clock times just
before and just after the call that created it (mkdir / docker run) and the
call that destroyed it (rmdir / docker rm -f).

cstatd sees only the sandbox: --cgroup-root is the sandbox directory (a
cgroup2 directory like any other, as a cstatd in a container with a private
cgroup namespace sees its subtree), and dockerd runs with --cgroup-parent
<sandbox>/docker, so the containers' cgroups are <sandbox>/docker/<id> next
to the plain ones and every exported id is "/docker/<64 hex>". On a shared
host, other tests' cgroups (a benchmark fleet of 1000) would otherwise
change cstatd's fds, RSS and sweep time under the test.

Checks (all through the Prometheus HTTP API unless said otherwise):
  1. cstatd stayed up: every raw `up{job="cstatd"}` sample in the run is 1, no
     scrape is missing (no two consecutive scrapes > 2 intervals apart), the
     process is alive at the end and exits 0 on SIGTERM.
  2. Series match at EVERY scrape: from the raw samples of
     container_cpu_usage_seconds_total (range selector, so each sample keeps
     the timestamp of the scrape that produced it) the set of ids exported at
     each scrape time T is compared with the log. With LAG = one sweep
     interval + SLACK:
       - an object must be exported at T when its creation call had returned
         by T - LAG and its destruction call had not started by T + D;
       - it must be absent at T when its destruction call had returned by
         T - LAG, or its creation call started after T + D;
       - in between (a birth or death within LAG before T, or during the
         scrape) either is right.
     D is that scrape's own scrape_duration_seconds: Prometheus stamps a
     scrape with its start, and cstatd serves the snapshot current when the
     request arrives, up to D later (0.13 s at most on a loaded VM).
     Why LAG: a scrape at T is served the snapshot of the last completed
     sweep, which started in (T - interval - sweep time, T]; that sweep sees
     a new cgroup through inotify (drained at the start of the sweep) and a
     removed one through ENODEV on its kept-open fds. SLACK (0.5 s) covers
     the sweep's own duration and scheduling delay on a shared 2-core VM;
     the maximum sweep duration and the observed lags are reported.
     Ids that the test never created are failures too, and so is an object
     that lived longer than LAG + one interval without ever being exported.
     Cross-check: query_range count(container_cpu_usage_seconds_total) at
     step 1 s equals the raw count of the last scrape at or before each step.
  3. No counter goes down: resets(x[run]) == 0 for every series of every
     counter family (type counter from /api/v1/metadata, every name ending in
     _total, and histogram _bucket/_count/_sum).
  4. No gaps for the long-lived objects: a sample at every scrape
     (count_over_time(...) == count_over_time(up[...]) and the raw timestamps
     are exactly the scrape timestamps).
  5. fds and RSS (/proc/<pid>/fd, VmRSS) of cstatd, sampled every 0.5 s:
     baseline (steady, before the churn), maximum during, and after: once the
     churn has stopped, after two intervals and a full cgroup rescan period
     (RESCAN_SECONDS + 2 intervals), fds == baseline +- FD_TOLERANCE and
     VmRSS <= baseline + RSS_TOLERANCE_KB; and VmRSS does not grow with the
     number of cycles: median of the churn's last quarter <= median of its
     second quarter + RSS_GROWTH_KB (the peak population is reached in the
     first quarter; a per-cycle leak grows from there). RssAnon and RssFile
     are reported too.
  6. Reported: cstatd_collect_errors_total by source before/after, warnings
     and errors in cstatd's log, max sweep duration, Prometheus scrape
     duration and samples per scrape.

Needs root, a cgroup2 mount, /usr/bin/prometheus, dockerd/containerd/runc and
a static busybox (exit 77 otherwise). CI runs the 60 s version (about 2 min in
all); the 10-minute figures are in docs/reliability.md ("Churn soak").
"""

import argparse
import bisect
import heapq
import json
import math
import os
import random
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402
import dockerd as dk  # noqa: E402

INTERVAL = 1.0          # cstatd --interval and Prometheus scrape_interval, s
SLACK = 0.5             # sweep duration + scheduling, s (see the docstring)
LAG = INTERVAL + SLACK
RESCAN_SECONDS = 30.0   # collectors/cgroup/cgroup_discover.c
LONG_CGROUPS = 4
WARMUP_S = 3.0          # one short burst before the baseline is taken
LONG_CONTAINERS = 2
CG_RATE = 10.0          # churned cgroups created (and destroyed) per second
CG_LIFE = (1.0, 10.0)   # lifetime of a churned cgroup, s (uniform)
DK_PERIOD = 2.0         # one churned container per DK_PERIOD s
DK_LIFE = (2.0, 6.0)    # lifetime of a churned container, s (uniform)
FD_TOLERANCE = 2
RSS_TOLERANCE_KB = 2048
RSS_GROWTH_KB = 1024
CPU = "container_cpu_usage_seconds_total"
TICKER = "while :; do i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; sleep 0.5; done"


# --------------------------------------------------------------------------
# The log of lives
# --------------------------------------------------------------------------

class Life:
    """One cgroup or container: its id label and the wall-clock bounds of
    the calls that created and destroyed it (None while alive)."""

    __slots__ = ("kind", "id_label", "long", "born_lo", "born_hi", "died_lo", "died_hi",
                 "name")

    def __init__(self, kind, long_lived=False, name=""):
        self.kind = kind  # "cgroup" | "container"
        self.long = long_lived
        self.name = name
        self.id_label = None
        self.born_lo = self.born_hi = self.died_lo = self.died_hi = None

    # A scrape stamped t (its start) that took d seconds was served the
    # snapshot current at some moment in [t, t + d]: the one of a sweep
    # that started after t - LAG.
    def must_be_in(self, t, d):
        return (self.born_hi is not None and self.born_hi <= t - LAG
                and (self.died_lo is None or self.died_lo >= t + d))

    def must_be_out(self, t, d):
        return ((self.died_hi is not None and self.died_hi <= t - LAG)
                or (self.born_lo is not None and self.born_lo >= t + d))


class Log:
    def __init__(self):
        self.lock = threading.Lock()
        self.lives = []

    def add(self, life):
        with self.lock:
            self.lives.append(life)

    def all(self):
        with self.lock:
            return list(self.lives)


# --------------------------------------------------------------------------
# Churn threads
# --------------------------------------------------------------------------

def start_in_cgroup(c, cmd):
    """Start `sh -c cmd` with its pid written into c's cgroup.procs before it
    execs (no preexec_fn: the spawn stays cheap in a threaded process)."""
    script = 'echo $$ > "$0" && exec ' + cmd
    p = subprocess.Popen(["/bin/sh", "-c", script, c.file("cgroup.procs")],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    c.procs.append(p)
    return p


def make_cgroup(sb, log, long_lived=False, cmd="sleep 3600"):
    life = Life("cgroup", long_lived)
    life.born_lo = time.time()
    c = sb.add_container()
    life.born_hi = time.time()
    life.id_label = "/" + os.path.relpath(c.path, sb.base)  # cstatd's root is sb.base
    log.add(life)
    start_in_cgroup(c, cmd)
    return c, life


def destroy_cgroup(c, life):
    for p in c.procs:
        try:
            p.kill()
        except OSError:
            pass
    for p in c.procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    life.died_lo = time.time()
    ok = ct._rmdir_retry(c.path, 5.0)
    life.died_hi = time.time()
    c.removed = ok
    return ok


class Churn:
    """Runs the cgroup churn and the container churn in two threads until
    stop(); then destroys whatever churned object is still alive."""

    def __init__(self, sb, d, log, seconds):
        self.sb, self.d, self.log, self.seconds = sb, d, log, seconds
        self.stop_ev = threading.Event()
        self.errors = []
        self.cg_made = self.cg_gone = self.dk_made = self.dk_gone = 0
        self.cg_lag_max = 0.0
        self.cg_peak_alive = self.dk_peak_alive = 0
        self.threads = []
        self.rng = random.Random(os.getpid())
        self.dk_seq = 0
        self.dk_prefix = f"soak{os.getpid()}-"

    def start(self):
        for fn in (self._cgroups, self._containers):
            th = threading.Thread(target=self._guard, args=(fn,), daemon=True)
            th.start()
            self.threads.append(th)

    def stop(self):
        self.stop_ev.set()
        for th in self.threads:
            th.join(timeout=120)

    def _guard(self, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported as a failure by main
            self.errors.append(f"{fn.__name__}: {type(e).__name__}: {e}")

    def _cgroups(self):
        alive = []  # heap of (death monotonic, seq, container, life)
        period = 1.0 / CG_RATE
        t0 = time.monotonic()
        end = t0 + self.seconds
        seq = 0
        try:
            for i in range(int(self.seconds * CG_RATE) + 1):
                target = t0 + i * period
                if target >= end or self.stop_ev.is_set():
                    break
                now = time.monotonic()
                if target > now:
                    if self.stop_ev.wait(target - now):
                        break
                else:
                    self.cg_lag_max = max(self.cg_lag_max, now - target)
                c, life = make_cgroup(self.sb, self.log)
                self.cg_made += 1
                seq += 1
                heapq.heappush(alive, (time.monotonic() + self.rng.uniform(*CG_LIFE), seq,
                                       c, life))
                self.cg_peak_alive = max(self.cg_peak_alive, len(alive))
                while alive and alive[0][0] <= time.monotonic():
                    _, _, dc, dl = heapq.heappop(alive)
                    if destroy_cgroup(dc, dl):
                        self.cg_gone += 1
                    else:
                        self.errors.append(f"could not rmdir {dc.path}")
        finally:
            while alive:
                _, _, dc, dl = heapq.heappop(alive)
                if destroy_cgroup(dc, dl):
                    self.cg_gone += 1

    def _containers(self):
        alive = []  # heap of (death monotonic, seq, name, life)
        t0 = time.monotonic()
        end = t0 + self.seconds
        try:
            for i in range(int(self.seconds / DK_PERIOD) + 1):
                target = t0 + i * DK_PERIOD
                if target >= end or self.stop_ev.is_set():
                    break
                # Removals due before the next creation first.
                while alive and alive[0][0] <= target:
                    now = time.monotonic()
                    if alive[0][0] > now and self.stop_ev.wait(alive[0][0] - now):
                        break
                    self._rm(heapq.heappop(alive))
                now = time.monotonic()
                if target > now and self.stop_ev.wait(target - now):
                    break
                self.dk_seq += 1
                name = f"{self.dk_prefix}{self.dk_seq}"
                life = Life("container", name=name)
                life.born_lo = time.time()
                rc, out, err = self.d.docker_run("run", "-d", "--network", "none", "--name",
                                                 name, dk.IMAGE, "sleep", "3600", timeout=60)
                life.born_hi = time.time()
                cid = out.strip()
                if rc != 0 or len(cid) != 64:
                    self.errors.append(f"docker run {name}: rc={rc} {err.strip()[-200:]}")
                    continue
                self.d.container_ids.add(cid)
                life.id_label = "/" + os.path.relpath(self.d.cgroup_dir(cid), self.sb.base)
                self.log.add(life)
                self.dk_made += 1
                heapq.heappush(alive, (time.monotonic() + self.rng.uniform(*DK_LIFE),
                                       self.dk_seq, name, life))
                self.dk_peak_alive = max(self.dk_peak_alive, len(alive))
        finally:
            while alive:
                self._rm(heapq.heappop(alive))

    def _rm(self, item):
        _, _, name, life = item
        life.died_lo = time.time()
        rc, _, err = self.d.docker_run("rm", "-f", name, timeout=60)
        life.died_hi = time.time()
        if rc != 0:
            self.errors.append(f"docker rm -f {name}: rc={rc} {err.strip()[-200:]}")
        else:
            self.dk_gone += 1


# --------------------------------------------------------------------------
# fds and RSS of cstatd
# --------------------------------------------------------------------------

class Monitor:
    """Samples cstatd's open fds and VmRSS every `period` s in a thread."""

    def __init__(self, pid, period=0.5):
        self.pid = pid
        self.period = period
        self.samples = []  # (wall, fds, VmRSS kB, RssAnon kB, RssFile kB)
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        return (time.time(), ct.proc_fd_count(self.pid),
                ct.proc_status_kb(self.pid, "VmRSS"), ct.proc_status_kb(self.pid, "RssAnon"),
                ct.proc_status_kb(self.pid, "RssFile"))

    def _run(self):
        while not self.stop_ev.is_set():
            s = self.sample()
            if s[1] is None:
                break
            self.samples.append(s)
            self.stop_ev.wait(self.period)

    def start(self):
        self.th.start()
        return self

    def stop(self):
        self.stop_ev.set()
        self.th.join(timeout=5)

    def between(self, t0, t1):
        return [s for s in self.samples if t0 <= s[0] <= t1]


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    env = os.environ.get("CSTATD_SOAK_SECONDS")
    ap.add_argument("--seconds", type=float, default=float(env) if env else 60.0,
                    help="churn duration (default $CSTATD_SOAK_SECONDS or 60)")
    ap.add_argument("--json", help="also write the figures to this file")
    return ap.parse_args()


def main():
    args = parse_args()
    ct.require_root()
    mnt = ct.require_cgroup2()
    ct.require_executable("/usr/bin/prometheus", "apt-get install prometheus")
    dk.require_docker("v2")
    ct.find_binary()
    t = ct.Test(f"churn_soak: {args.seconds:g} s of cgroup and container churn under a real "
                "Prometheus")
    saved = {}

    def diagnostics():
        print("  .. cstatd stderr (tail):\n" + saved.get("cstatd", ""), flush=True)
        print("  .. dockerd log (tail):\n" + saved.get("dockerd", ""), flush=True)

    t.on_failure.append(diagnostics)
    t_start = time.monotonic()
    log = Log()
    # The sandbox outlives dockerd: dockerd removes its containers' cgroups
    # (inside the sandbox) before the sandbox is taken down.
    with ct.CgroupSandbox(mnt) as sb, dk.SandboxDockerd(sb) as d:
        try:
            t.info(f"dockerd ready after {time.monotonic() - t_start:.1f} s; sandbox {sb.base} "
                   "(cstatd's --cgroup-root; dockerd's --cgroup-parent is its docker/)")
            t.equal(d.docker("info", "-f", "{{.CgroupVersion}}"), "2",
                    "private dockerd runs in cgroup v2 mode", fatal=True)
            long_cgs = []
            for i in range(LONG_CGROUPS):
                c, life = make_cgroup(sb, log, long_lived=True,
                                      cmd=("sh -c " + repr(TICKER)) if i == 0 else "sleep 3600")
                long_cgs.append((c, life))
            for i in range(LONG_CONTAINERS):
                name = f"soak{os.getpid()}-long{i}"
                life = Life("container", long_lived=True, name=name)
                life.born_lo = time.time()
                cmd = ["sh", "-c", TICKER] if i == 0 else ["sleep", "3600"]
                cid = d.run_container(name, *cmd)
                life.born_hi = time.time()
                cg = d.cgroup_dir(cid)
                t.check(os.path.isfile(os.path.join(cg, "cpu.stat")),
                        f"environment: container {name}'s cgroup is in the sandbox ({cg})",
                        fatal=True)
                life.id_label = "/" + os.path.relpath(cg, sb.base)
                log.add(life)
            args_c = ["--interval", "1s", "--docker-host", d.host_url, "--cgroup-root", sb.base]
            with ct.Cstatd(args_c, docker=True) as c:
                try:
                    with ct.Prometheus([f"127.0.0.1:{c.port}"], job="cstatd",
                                       scrape_interval="1s") as prom:
                        soak(t, args, d, sb, c, prom, log)
                finally:
                    saved["cstatd"] = c.stderr_tail(40)
                rc = c.stop()
                t.equal(rc, 0, "cstatd exits 0 on SIGTERM after the soak")
        finally:
            saved["dockerd"] = d.log_tail(30)
    t.info(f"total time {time.monotonic() - t_start:.1f} s (cleanup included)")
    t.finish()


def wait_steady_fds(mon, t, timeout=20.0, need=6):
    """Wait (bounded) until the fd count has been the same for `need`
    consecutive samples; returns the baseline samples."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(mon.period)
        last = mon.samples[-need:]
        if len(last) == need and len({s[1] for s in last}) == 1:
            return last
    t.info("fd count did not settle before the churn; using the last samples as baseline")
    return mon.samples[-need:]


def soak(t, args, d, sb, c, prom, log):
    mon = Monitor(c.proc.pid).start()
    try:
        run_soak(t, args, d, sb, c, prom, log, mon)
    finally:
        mon.stop()


def run_soak(t, args, d, sb, c, prom, log, mon):
    port = c.port
    figures = {"seconds": args.seconds, "interval": INTERVAL, "lag": LAG,
               "cg_rate": CG_RATE, "cg_life": CG_LIFE, "dk_period": DK_PERIOD,
               "dk_life": DK_LIFE, "long_cgroups": LONG_CGROUPS,
               "long_containers": LONG_CONTAINERS}
    t_prom0 = time.time()
    up = ct.poll(lambda: prom.query('up{job="cstatd"} == 1'), 20, 0.5)
    t.check(bool(up), 'Prometheus scrapes cstatd (up{job="cstatd"} == 1)', fatal=True)
    long_ids = {lf.id_label for lf in log.all() if lf.long}

    def all_long(m):
        return long_ids <= {dict(k[1]).get("id") for k in m if k[0] == CPU}

    m, ok = dk.poll_metrics(port, all_long, 15.0, 0.2)
    t.check(ok, f"cstatd exports {CPU} for the {len(long_ids)} long-lived objects", fatal=True,
            expected=sorted(long_ids),
            actual=sorted({dict(k[1]).get("id") for k in m if k[0] == CPU}))
    # Warm-up: one short burst (WARMUP_S of churn, everything removed at its
    # end) so that what cstatd allocates once, on the first removal of each
    # kind, is in the baseline and not counted as churn growth.
    warm = Churn(sb, d, log, WARMUP_S)
    warm.start()
    for th in warm.threads:
        th.join(timeout=WARMUP_S + 60)
    warm.stop()
    t.equal(warm.errors, [], f"warm-up burst ({warm.cg_made} cgroups, {warm.dk_made} "
            "container) ran without errors")
    dk.poll_metrics(port, lambda m: {dict(k[1]).get("id") for k in m if k[0] == CPU}
                    == long_ids, 10.0, 0.2)
    base = wait_steady_fds(mon, t)
    fds_base_map = fd_targets(c.proc.pid)
    base_fds = statistics.median_low([s[1] for s in base])
    base_rss = statistics.median_low([s[2] for s in base])
    base_anon = statistics.median_low([s[3] for s in base])
    base_file = statistics.median_low([s[4] for s in base])
    errs_before = {dict(k[1]).get("source"): v for k, v in ct.get_metrics(port).items()
                   if k[0] == "cstatd_collect_errors_total"}
    t.info(f"baseline (steady {len(base)} samples): fds {base_fds}, VmRSS {base_rss} kB "
           f"(RssAnon {base_anon}, RssFile {base_file}); "
           f"collect errors {errs_before}")

    # -- churn ---------------------------------------------------------------
    churn = Churn(sb, d, log, args.seconds)
    t.info(f"churn for {args.seconds:g} s: {CG_RATE:g} cgroups/s living {CG_LIFE[0]:g}-"
           f"{CG_LIFE[1]:g} s, one container every {DK_PERIOD:g} s living {DK_LIFE[0]:g}-"
           f"{DK_LIFE[1]:g} s")
    t_churn0 = time.time()
    churn.start()
    progress_at = time.monotonic() + 30
    while any(th.is_alive() for th in churn.threads):
        churn.threads[0].join(timeout=1.0)
        if time.monotonic() >= progress_at:
            s = mon.samples[-1] if mon.samples else (0, None, None, None, None)
            t.info(f"  +{time.time() - t_churn0:.0f} s: {churn.cg_made} cgroups, "
                   f"{churn.dk_made} containers made; cstatd fds {s[1]}, VmRSS {s[2]} kB")
            progress_at += 30
        if time.time() - t_churn0 > args.seconds + 120:
            break
    churn.stop()
    t_churn1 = time.time()
    t.info(f"churn done in {t_churn1 - t_churn0:.1f} s: cgroups {churn.cg_made} made / "
           f"{churn.cg_gone} removed (peak {churn.cg_peak_alive} alive, creation lag max "
           f"{churn.cg_lag_max:.2f} s); containers {churn.dk_made} made / {churn.dk_gone} "
           f"removed (peak {churn.dk_peak_alive} alive)")
    t.equal(churn.errors, [], "churn ran without errors (mkdir/rmdir, docker run/rm)")
    t.check(churn.cg_made >= 0.8 * args.seconds * CG_RATE,
            f"environment: at least 80 % of the planned {args.seconds * CG_RATE:.0f} cgroups "
            "were made (the churn kept pace)", expected=f">= {0.8 * args.seconds * CG_RATE:.0f}",
            actual=churn.cg_made)
    t.check(churn.dk_made >= 0.8 * args.seconds / DK_PERIOD,
            f"environment: at least 80 % of the planned {args.seconds / DK_PERIOD:.0f} "
            "containers were made", expected=f">= {0.8 * args.seconds / DK_PERIOD:.0f}",
            actual=churn.dk_made)
    t.equal(churn.cg_made, churn.cg_gone, "every churned cgroup was removed")
    t.equal(churn.dk_made, churn.dk_gone, "every churned container was removed")
    during = mon.between(t_churn0, t_churn1)
    figures["churn"] = {"cgroups_made": churn.cg_made, "cgroups_removed": churn.cg_gone,
                        "containers_made": churn.dk_made, "containers_removed": churn.dk_gone,
                        "cg_peak_alive": churn.cg_peak_alive,
                        "dk_peak_alive": churn.dk_peak_alive,
                        "cg_creation_lag_max_s": round(churn.cg_lag_max, 3),
                        "seconds": round(t_churn1 - t_churn0, 1)}

    # -- after: two intervals and a full rescan period -------------------------
    settle = RESCAN_SECONDS + 2 * INTERVAL
    t.info(f"waiting {settle:g} s after the churn (two intervals + a full rescan period of "
           f"{RESCAN_SECONDS:g} s)")
    churned = {lf.id_label for lf in log.all() if not lf.long}

    def clean(m):
        ids = {dict(k[1]).get("id") for k in m if k[0] == CPU}
        return not (ids & churned)

    _, gone = dk.poll_metrics(port, clean, 10.0, 0.2)
    t_clean = time.time()
    t.check(gone, "no churned object has a series on /metrics within 10 s of the churn's end")
    time.sleep(max(0.0, t_churn1 + settle - time.time()))
    after = mon.samples[-4:]
    fds_after_map = fd_targets(c.proc.pid)
    after_fds = after[-1][1]
    after_rss = after[-1][2]
    after_anon, after_file = after[-1][3], after[-1][4]
    m_end = ct.get_metrics(port)
    errs_after = {dict(k[1]).get("source"): v for k, v in m_end.items()
                  if k[0] == "cstatd_collect_errors_total"}
    # Two more scrapes so Prometheus holds the final state.
    time.sleep(2 * INTERVAL + 0.2)
    t_end = time.time()
    fds_during = [s[1] for s in during] or [None]
    rss_during = [s[2] for s in during] or [None]
    figures["fds"] = {"baseline": base_fds, "during_max": max(fds_during),
                      "during_median": statistics.median_low(fds_during), "after": after_fds,
                      "after_samples": [s[1] for s in after]}
    # Growth while the churn runs at its steady population: RSS in the
    # second quarter of the churn against the last quarter. A leak per
    # cycle shows here (it grows with the number of cycles); the memory of
    # the peak population does not.
    q = (t_churn1 - t_churn0) / 4
    q2 = [s[2] for s in mon.between(t_churn0 + q, t_churn0 + 2 * q)] or [None]
    q4 = [s[2] for s in mon.between(t_churn1 - q, t_churn1)] or [None]
    figures["rss_kb"] = {"baseline": base_rss, "during_max": max(rss_during),
                         "during_median": statistics.median_low(rss_during),
                         "during_q2_median": statistics.median_low(q2),
                         "during_q4_median": statistics.median_low(q4),
                         "after": after_rss, "hwm": ct.proc_status_kb(c.proc.pid, "VmHWM"),
                         "anon_baseline": base_anon, "anon_after": after_anon,
                         "file_baseline": base_file, "file_after": after_file}
    t.info(f"fds: baseline {base_fds}, during max {max(fds_during)} (median "
           f"{statistics.median_low(fds_during)}), after {after_fds} "
           f"(last samples {[s[1] for s in after]})")
    t.info(f"VmRSS kB: baseline {base_rss}, during max {max(rss_during)} (median 2nd quarter "
           f"{figures['rss_kb']['during_q2_median']}, last quarter "
           f"{figures['rss_kb']['during_q4_median']}), after {after_rss} (VmHWM "
           f"{figures['rss_kb']['hwm']}); RssAnon {base_anon} -> {after_anon}, RssFile "
           f"{base_file} -> {after_file}")
    t.check(after_fds is not None and abs(after_fds - base_fds) <= FD_TOLERANCE,
            f"open fds back to baseline +-{FD_TOLERANCE} after two intervals + a rescan period",
            expected=f"{base_fds} +- {FD_TOLERANCE}", actual=after_fds)
    if after_fds != base_fds:
        t.info("fds that differ from the baseline: " + fd_diff(fds_base_map, fds_after_map))
        t.info("cstatd's sockets now (ss):\n" + sockets_of(c.proc.pid))
    t.check(after_rss is not None and after_rss <= base_rss + RSS_TOLERANCE_KB,
            f"VmRSS back to within {RSS_TOLERANCE_KB} kB of baseline",
            expected=f"<= {base_rss + RSS_TOLERANCE_KB} kB", actual=f"{after_rss} kB")
    g = figures["rss_kb"]
    t.check(None not in (g["during_q2_median"], g["during_q4_median"])
            and g["during_q4_median"] - g["during_q2_median"] <= RSS_GROWTH_KB,
            f"VmRSS does not grow with the number of cycles (last quarter of the churn vs "
            f"second quarter: <= {RSS_GROWTH_KB} kB)",
            expected=f"<= {RSS_GROWTH_KB} kB growth",
            actual=f"{g['during_q2_median']} -> {g['during_q4_median']} kB")
    t.check(c.alive(), "cstatd is still running after the soak")
    t.info(f"cstatd_collect_errors_total by source: before churn {errs_before}, "
           f"after {errs_after}")
    figures["collect_errors"] = {"before": errs_before, "after": errs_after}
    figures["churned_gone_s_after_churn"] = round(t_clean - t_churn1, 2)

    # -- Prometheus ------------------------------------------------------------
    rng_s = int(math.ceil(t_end - t_prom0)) + 5
    at = t_end
    check_up(t, prom, rng_s, at, t_churn0, t_churn1, figures)
    check_series_match(t, prom, rng_s, at, log, t_prom0, t_end, figures)
    check_resets(t, prom, rng_s, at, figures)
    check_long_lived(t, prom, rng_s, at, log, figures)
    extra_figures(t, prom, rng_s, at, figures)
    warn = [ln for ln in c.stderr_text().splitlines()
            if "level=warn" in ln or "level=error" in ln]
    figures["cstatd_log_warn_error_lines"] = len(warn)
    t.info(f"cstatd log: {len(warn)} warn/error lines" +
           ("".join("\n         " + ln[:300] for ln in warn[:8]) if warn else ""))
    print("SOAK FIGURES " + json.dumps(figures, sort_keys=True), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1, sort_keys=True)


def fd_targets(pid):
    """{fd: readlink target} of pid's open fds (cgroup paths, sockets, ...)."""
    out = {}
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                pass
    except OSError:
        pass
    return out


def fd_diff(a, b):
    def kind(target):
        if target.startswith(("socket:", "pipe:")):
            return target.split(":")[0]
        if target.startswith("anon_inode:"):
            return target
        return "file"

    added = sorted((fd, b[fd]) for fd in b if a.get(fd) != b[fd])
    gone = sorted((fd, a[fd]) for fd in a if b.get(fd) != a[fd])
    return f"opened {added[:12]}; closed {gone[:12]}"


def sockets_of(pid):
    """cstatd's sockets from `ss` (unix with the peer's process, and TCP), for
    diagnostics."""
    def ss(opt):
        try:
            r = subprocess.run(["ss", "-n", "-H", opt], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=10)
            return r.stdout.decode("utf-8", "replace").splitlines()
        except (OSError, subprocess.TimeoutExpired):
            return []

    unix = [ln.split() for ln in ss("-axp")]
    users = {f[5]: (f[8] if len(f) > 8 else "?") for f in unix if len(f) > 7}
    out = []
    for f in unix:
        if len(f) > 8 and f"pid={pid}," in f[8]:
            out.append(f"unix {f[1]} inode {f[5]} -> peer {f[7]} "
                       f"{users.get(f[7], '(no process)')[:80]}  {f[8][:60]}")
    out += ["tcp " + " ".join(ln.split()[:6]) for ln in ss("-atp") if f"pid={pid}," in ln]
    return "\n".join("         " + ln for ln in out)


def raw(prom, selector, rng_s, at):
    return ct.prom_raw_series(prom, selector, rng_s, at)


def check_up(t, prom, rng_s, at, t_churn0, t_churn1, figures):
    ups = raw(prom, 'up{job="cstatd"}', rng_s, at)
    t.equal(len(ups), 1, 'one up{job="cstatd"} series', fatal=True)
    samples = ups[0][1]
    ts = [s[0] for s in samples]
    bad = [s for s in samples if s[1] != 1.0]
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    max_gap = max(gaps) if gaps else None
    in_churn = [x for x in ts if t_churn0 <= x <= t_churn1]
    figures["scrapes"] = {"total": len(ts), "during_churn": len(in_churn),
                          "expected_during_churn": int((t_churn1 - t_churn0) / INTERVAL),
                          "up_not_1": len(bad), "max_gap_s": max_gap and round(max_gap, 3)}
    t.info(f"scrapes: {len(ts)} in all, {len(in_churn)} during the churn "
           f"(~{(t_churn1 - t_churn0) / INTERVAL:.0f} expected); largest gap "
           f"{max_gap:.3f} s")
    t.equal(len(bad), 0, 'up{job="cstatd"} == 1 at every scrape')
    t.check(max_gap is not None and max_gap <= 2 * INTERVAL,
            "no scrape missing (consecutive scrapes at most 2 intervals apart)",
            expected=f"<= {2 * INTERVAL} s", actual=max_gap)
    figures["_scrape_ts"] = ts


def check_series_match(t, prom, rng_s, at, log, t0, t1, figures):
    scrape_ts = sorted(x for x in figures.pop("_scrape_ts") if t0 <= x <= t1)
    scrape_set = set(scrape_ts)
    dur = {}
    for _, smp in raw(prom, 'scrape_duration_seconds{job="cstatd"}', rng_s, at):
        dur.update(smp)
    no_dur = [T for T in scrape_ts if T not in dur]
    t.equal(len(no_dur), 0, "every scrape has its scrape_duration_seconds")
    series = raw(prom, CPU, rng_s, at)
    present = {}  # id -> set of sample timestamps
    for labels, samples in series:
        present.setdefault(labels.get("id"), set()).update(s[0] for s in samples)
    lives = log.all()
    by_id = {lf.id_label: lf for lf in lives}
    # cstatd is rooted at the sandbox: every id it exports must be one of ours.
    unknown = sorted(i for i in present if i not in by_id)
    missing, stale = [], []
    uncertain_in = uncertain_out = 0
    birth_lag, death_lag = [], []
    for lf in lives:
        ts_set = present.get(lf.id_label, set())
        seen = sorted(ts_set)
        if seen and not lf.long:
            birth_lag.append(seen[0] - lf.born_hi)
        if seen and lf.died_hi is not None:
            k = bisect.bisect_right(scrape_ts, seen[-1])
            if k < len(scrape_ts):
                death_lag.append(scrape_ts[k] - lf.died_hi)
        # Outside [born_lo - 1 s (a scrape lasts at most its 1 s timeout),
        # died_hi + LAG] the object must be absent: only
        # the scrapes inside need the full test, the rest only a look at the
        # timestamps it was exported at.
        lo = bisect.bisect_right(scrape_ts, lf.born_lo - 1.0)
        hi = (len(scrape_ts) if lf.died_hi is None
              else bisect.bisect_left(scrape_ts, lf.died_hi + LAG))
        inside = set(scrape_ts[lo:hi])
        stale += [(T, lf) for T in seen if T not in inside and T in scrape_set]
        for T in scrape_ts[lo:hi]:
            exported = T in ts_set
            d = dur.get(T, 1.0)
            if lf.must_be_in(T, d):
                if not exported:
                    missing.append((T, lf))
            elif lf.must_be_out(T, d):
                if exported:
                    stale.append((T, lf))
            elif exported:
                uncertain_in += 1
            else:
                uncertain_out += 1
    never = [lf for lf in lives if lf.id_label not in present
             and lf.born_hi is not None and lf.died_lo is not None
             and lf.died_lo - lf.born_hi > LAG + INTERVAL]

    def fmt(T, lf):
        return (f"scrape {T:.3f}: {lf.kind} {lf.id_label[-20:]} born "
                f"[{lf.born_lo:.3f},{lf.born_hi:.3f}] died "
                f"[{lf.died_lo and round(lf.died_lo, 3)},{lf.died_hi and round(lf.died_hi, 3)}]")

    n_checks = len(scrape_ts) * len(lives)
    figures["series_match"] = {
        "scrapes_checked": len(scrape_ts), "objects": len(lives),
        "checks": n_checks, "missing": len(missing), "stale": len(stale),
        "unknown_ids": len(unknown),
        "within_lag_present": uncertain_in, "within_lag_absent": uncertain_out,
        "birth_lag_s": lag_stats(birth_lag), "death_lag_s": lag_stats(death_lag),
        "never_exported_though_lived_gt_lag_plus_interval": len(never)}
    t.info(f"series match: {len(scrape_ts)} scrapes x {len(lives)} objects; "
           f"{len(missing)} missing, {len(stale)} stale, {len(unknown)} unknown ids; "
           f"within LAG={LAG:g} s of a birth/death: {uncertain_in} present, "
           f"{uncertain_out} absent; first scrape after creation {lag_stats(birth_lag)} s, "
           f"first scrape without it after removal {lag_stats(death_lag)} s")
    t.check(not missing, f"every live object is exported at every scrape (allowing "
            f"LAG={LAG:g} s after creation)", expected="none missing",
            actual=[fmt(T, lf) for T, lf in missing[:8]] + [f"... {len(missing)} in all"])
    t.check(not stale, f"no removed object is exported at any scrape (allowing LAG={LAG:g} s "
            "after removal)", expected="none stale",
            actual=[fmt(T, lf) for T, lf in stale[:8]] + [f"... {len(stale)} in all"])
    t.equal(unknown[:8], [], "no series with an id that the test never created")
    t.check(not never, "every object that lived longer than LAG + one interval was exported",
            actual=[lf.id_label for lf in never[:5]])
    # PromQL's own view: count() at every step over the same window.
    q = f'count({CPU}{{job="cstatd"}})'
    step_n = int(min(t1 - t0, 11000 * INTERVAL))
    res = prom.api("query_range", query=q, start=f"{t0:.3f}", end=f"{t0 + step_n:.3f}",
                   step="1s")["result"]
    promql = {round(float(v[0]), 3): int(float(v[1])) for v in (res[0]["values"] if res else [])}
    mism = []
    for tau, n in sorted(promql.items()):
        prev = [x for x in scrape_ts if x <= tau]
        if not prev:
            continue
        T = prev[-1]
        want = sum(1 for ts in present.values() if T in ts)
        if want != n:
            mism.append((tau, n, want))
    figures["series_match"]["promql_count_steps"] = len(promql)
    figures["series_match"]["promql_count_mismatches"] = len(mism)
    t.check(promql and not mism, f"query_range {q} at step 1 s equals the raw per-scrape "
            f"count ({len(promql)} steps)", expected="no mismatch",
            actual=mism[:8] if promql else "no result")


def lag_stats(xs):
    if not xs:
        return None
    xs = sorted(xs)
    return {"min": round(xs[0], 3), "median": round(statistics.median(xs), 3),
            "p99": round(xs[min(len(xs) - 1, int(0.99 * len(xs)))], 3),
            "max": round(xs[-1], 3), "n": len(xs)}


def counter_selector(prom):
    """A __name__ regex for every counter-like series cstatd exports."""
    meta = prom.api("metadata")
    names = set()
    for name, entries in meta.items():
        types = {e.get("type") for e in entries}
        if "counter" in types:
            names.add(name)
        if "histogram" in types:
            names.update({name + "_bucket", name + "_count", name + "_sum"})
    for n in prom.api("label/__name__/values"):
        if n.endswith("_total") and not n.startswith(("prometheus_", "scrape_")):
            names.add(n)
    return names


def check_resets(t, prom, rng_s, at, figures):
    present = set(prom.api("label/__name__/values"))
    names = sorted(n for n in counter_selector(prom) if n in present)
    t.check(CPU in names and "cstatd_scrapes_total" in names,
            f"counter families found through /api/v1/metadata ({len(names)} names with series)",
            actual=names)
    # resets() drops __name__, so one query per name (series of different
    # names would otherwise collide on their labels).
    n_series = 0
    bad = []
    for name in names:
        sel = f'{name}{{job="cstatd"}}[{rng_s}s]'
        n = prom.api("query", query=f"count(resets({sel}))", time=f"{at:.3f}")["result"]
        n_series += int(float(n[0]["value"][1])) if n else 0
        for r in prom.api("query", query=f"resets({sel}) > 0", time=f"{at:.3f}")["result"]:
            bad.append((name, r["metric"], r["value"][1]))
    figures["resets"] = {"names": len(names), "series_checked": n_series,
                         "series_with_resets": len(bad)}
    t.info(f"resets(): {n_series} counter series of {len(names)} names checked over the "
           f"{rng_s} s run")
    t.check(n_series > 0 and not bad, "resets(x[run]) == 0 for every counter series",
            expected="no series", actual=bad[:10])
    for name, labels, _ in bad[:6]:
        sel = name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
        for _, smp in ct.prom_raw_series(prom, sel, rng_s, at):
            drops = [(round(a[0], 3), a[1], round(b[0], 3), b[1])
                     for a, b in zip(smp, smp[1:]) if b[1] < a[1]]
            t.info(f"{sel}: {len(smp)} samples {smp[0][0]:.3f}..{smp[-1][0]:.3f}; "
                   f"decreases (ts, value -> ts, value): {drops[:4]}")


def check_long_lived(t, prom, rng_s, at, log, figures):
    ups = raw(prom, 'up{job="cstatd"}', rng_s, at)[0][1]
    up_ts = [s[0] for s in ups]
    long_lives = [lf for lf in log.all() if lf.long]
    res = {}
    for lf in long_lives:
        s = raw(prom, f'{CPU}{{id="{lf.id_label}"}}', rng_s, at)
        ts = sorted({x[0] for _, smp in s for x in smp})
        missing = [x for x in up_ts if x not in set(ts)]
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        cot = prom.api("query", query=f'count_over_time({CPU}{{id="{lf.id_label}"}}[{rng_s}s])',
                       time=f"{at:.3f}")["result"]
        res[lf.id_label] = {"kind": lf.kind, "samples": len(ts), "scrapes": len(up_ts),
                            "missing": len(missing),
                            "max_gap_s": round(max(gaps), 3) if gaps else None,
                            "count_over_time": [int(float(r["value"][1])) for r in cot]}
    cot_up = prom.api("query", query=f'count_over_time(up{{job="cstatd"}}[{rng_s}s])',
                      time=f"{at:.3f}")["result"]
    n_up = int(float(cot_up[0]["value"][1])) if cot_up else None
    figures["long_lived"] = {"objects": len(long_lives), "scrapes": n_up,
                             "missing_samples": sum(r["missing"] for r in res.values()),
                             "max_gap_s": max((r["max_gap_s"] or 0) for r in res.values()),
                             "per_object": res}
    for lid, r in res.items():
        t.check(r["missing"] == 0 and r["count_over_time"] == [n_up]
                and (r["max_gap_s"] or 0) <= 2 * INTERVAL - 0.01,
                f"long-lived {r['kind']} {lid[-16:]}: a sample at every scrape "
                f"(count_over_time {r['count_over_time']} == scrapes {n_up}, max gap "
                f"{r['max_gap_s']} s)",
                expected=f"{n_up} samples, none missing", actual=r)


def extra_figures(t, prom, rng_s, at, figures):
    def one(q):
        r = prom.api("query", query=q, time=f"{at:.3f}")["result"]
        return round(float(r[0]["value"][1]), 4) if r else None

    figures["max_sweep_seconds"] = one(
        f"max_over_time(cstatd_last_sweep_duration_seconds[{rng_s}s])")
    figures["max_scrape_duration_s"] = one(
        f'max_over_time(scrape_duration_seconds{{job="cstatd"}}[{rng_s}s])')
    figures["max_samples_per_scrape"] = one(
        f'max_over_time(scrape_samples_scraped{{job="cstatd"}}[{rng_s}s])')
    figures["max_containers_tracked"] = one(f"max_over_time(cstatd_containers[{rng_s}s])")
    figures["max_process_open_fds"] = one(f"max_over_time(process_open_fds[{rng_s}s])")
    t.info(f"max sweep {figures['max_sweep_seconds']} s, max scrape "
           f"{figures['max_scrape_duration_s']} s, max samples/scrape "
           f"{figures['max_samples_per_scrape']}, max containers tracked "
           f"{figures['max_containers_tracked']}, max process_open_fds "
           f"{figures['max_process_open_fds']}")
    t.check(figures["max_sweep_seconds"] is not None
            and figures["max_sweep_seconds"] < SLACK,
            f"the longest sweep stayed below SLACK={SLACK:g} s (the tolerance assumes it)",
            expected=f"< {SLACK}", actual=figures["max_sweep_seconds"])


if __name__ == "__main__":
    ct.run(main)
