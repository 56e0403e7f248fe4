#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Cgroup removal raced against sweeps, on purpose (issue #7, "Faults").

cstatd runs with --interval 100ms on a sandbox subtree (ct.CgroupSandbox;
--cgroup-root <sandbox>, so other runs' cgroups do not count) while, for
RACE_S seconds (default 30; CSTATD_RACE_SECONDS overrides), threads make
and remove cgroups in the layouts the discovery recognises:

  flash      docker/<64 hex>: mkdir, rmdir at once or after 0-30 ms (most are
             gone before a sweep sees them; some are seen mid-attach)
  held       system.slice/docker-<64 hex>.scope: mkdir, one of PARKED
             sleeping processes moved in, held 0-350 ms (0-3 sweeps), moved
             back out to a parking cgroup, rmdir
  slices     churn-<n>.slice/docker-<64 hex>.scope: a parent and a child
             made, both removed (child, then parent) after 0-250 ms: the
             parent's inotify watch goes away with it
  kept_open  docker/<64 hex> with a process, left until cstatd exports it,
             then this test opens cpu.stat, cgroup.procs and cgroup.events
             itself, moves the process out and rmdirs the cgroup while its
             own fds and cstatd's kept-open fds are still open (reads on them
             then fail with ENODEV); the test's fds are closed later

A stable cgroup with a sleeping process stays for the whole run. A
background thread scrapes /metrics every 0.1 s (timeout 1 s) and samples
cstatd's open fds and VmRSS.

Checks:
  - no crash: cstatd alive at the end, exits 0 on SIGTERM within 2 s, no
    sanitizer report (the harness scans stderr; set CSTATD_BIN to an
    -DCSTATD_SANITIZE=address,undefined build to run under ASan/UBSan)
  - /metrics answered 200 within 1 s every time, and always had the stable
    cgroup's series
  - after the last rmdir: no series for any removed cgroup within two
    intervals (+ SLACK_S for a sweep's duration and scheduling), and every
    id the run ever made is absent then
  - cstatd's open fds back to the baseline (taken before the churn) +- 2
  - cstatd_collect_errors_total{source="cgroup"} grows by less than 1 % of
    the cycles (a vanished cgroup is not an error), and cstatd's log has
    fewer than 20 warning/error lines (rate limited, not one per race)
Printed: create/remove cycles per kind, max fds/RSS during the churn, the
time the last removed cgroup's series took to go.

Needs root and a cgroup2 mount (exit 77 otherwise).
"""

import contextlib
import errno
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

INTERVAL_S = 0.1
RACE_S = float(os.environ.get("CSTATD_RACE_SECONDS", "30"))
PARKED = 6                 # sleeping processes moved in and out of cgroups
SLACK_S = 0.4              # on top of two intervals, for the final removal
FD_TOLERANCE = 2
SCRAPE_TIMEOUT = 1.0
CPU = "container_cpu_usage_seconds_total"


def rand_id():
    return "%064x" % random.getrandbits(256)


def write(path, data):
    with open(path, "w") as f:
        f.write(data)


def rmdir_retry(path, timeout=2.0):
    """rmdir, retrying while the kernel still counts a just-moved process."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.002) + 2):
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                return False
            time.sleep(0.002)
    return False


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Race:
    """The churn threads and what they did."""

    def __init__(self, sb, park, sleepers):
        self.sb = sb
        self.park = park
        self.sleepers = sleepers            # Popen of processes we move around
        self.free = list(sleepers)          # not in a churn cgroup right now
        self.free_lock = threading.Lock()
        self.stop = threading.Event()
        self.cycles = {"flash": 0, "held": 0, "slices": 0, "kept_open": 0}
        self.failures = []                  # cgroups we could not remove
        self.made_ids = set()               # every 64-hex id made
        self.live = set()                   # paths made and not removed yet
        self.lock = threading.Lock()
        self.kept_fds = []                  # our own fds on removed cgroups
        self.enodev_reads = 0
        self.gone_lags = []                 # kept_open: rmdir -> series gone (s)
        self.not_gone = []
        self.last_rmdir = 0.0
        self.port = None

    def _mk(self, path, cid):
        os.mkdir(path)
        with self.lock:
            self.live.add(path)
            self.made_ids.add(cid)

    def _rm(self, path):
        ok = rmdir_retry(path)
        with self.lock:
            if ok:
                self.live.discard(path)
                self.last_rmdir = time.monotonic()
            else:
                self.failures.append(path)
        return ok

    def _take(self):
        with self.free_lock:
            return self.free.pop() if self.free else None

    def _give(self, p):
        with self.free_lock:
            self.free.append(p)

    def _move(self, pid, cgroup_dir):
        write(os.path.join(cgroup_dir, "cgroup.procs"), str(pid))

    # -- the loops --
    def flash(self):
        base = self.sb.docker_dir
        for _ in range(10 ** 6):
            if self.stop.is_set():
                break
            cid = rand_id()
            path = os.path.join(base, cid)
            self._mk(path, cid)
            if random.random() < 0.5:
                time.sleep(random.uniform(0, 0.03))
            self._rm(path)
            self.cycles["flash"] += 1
            time.sleep(0.001)

    def held(self, slice_dir):
        for _ in range(10 ** 6):
            if self.stop.is_set():
                break
            cid = rand_id()
            path = os.path.join(slice_dir, f"docker-{cid}.scope")
            self._mk(path, cid)
            p = self._take()
            try:
                if p is not None:
                    self._move(p.pid, path)
                time.sleep(random.uniform(0, 0.35))
            finally:
                if p is not None:
                    self._move(p.pid, self.park)
                    self._give(p)
                self._rm(path)
            self.cycles["held"] += 1

    def slices(self):
        for n in range(10 ** 6):
            if self.stop.is_set():
                break
            cid = rand_id()
            parent = os.path.join(self.sb.base, f"churn-{n}.slice")
            child = os.path.join(parent, f"docker-{cid}.scope")
            os.mkdir(parent)
            with self.lock:
                self.live.add(parent)
            self._mk(child, cid)
            time.sleep(random.uniform(0, 0.25))
            self._rm(child)
            self._rm(parent)
            self.cycles["slices"] += 1

    def kept_open(self):
        for _ in range(10 ** 6):
            if self.stop.is_set():
                break
            cid = rand_id()
            path = os.path.join(self.sb.docker_dir, cid)
            self._mk(path, cid)
            p = self._take()
            try:
                if p is not None:
                    self._move(p.pid, path)
                # Until cstatd exports it (its fds are open then), bounded.
                label = "/" + os.path.relpath(path, self.sb.base)
                ct.poll(lambda: self._exported(label), 1.0, 0.05)
                fds = []
                for name in ("cpu.stat", "cgroup.procs", "cgroup.events"):
                    with contextlib.suppress(OSError):
                        fds.append(os.open(os.path.join(path, name), os.O_RDONLY))
            finally:
                if p is not None:
                    self._move(p.pid, self.park)
                    self._give(p)
            self._rm(path)
            t_rm = time.monotonic()
            if ct.poll(lambda: not self._exported(label), 3.0, 0.02):
                self.gone_lags.append(time.monotonic() - t_rm)
            else:
                self.not_gone.append(label)
            for fd in fds:
                try:
                    os.pread(fd, 4096, 0)
                except OSError as e:
                    if e.errno == errno.ENODEV:
                        self.enodev_reads += 1
            self.kept_fds.extend(fds)
            # Our fds on dead cgroups stay open a while, then go.
            while len(self.kept_fds) > 30:
                os.close(self.kept_fds.pop(0))
            self.cycles["kept_open"] += 1

    def _exported(self, label):
        try:
            m = ct.get_metrics(self.port)
        except (OSError, RuntimeError, ct.ParseError):
            return False
        return ct.value(m, CPU, id=label, cpu="total") is not None

    def close_fds(self):
        for fd in self.kept_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.kept_fds = []


class Watch:
    """Scrapes every 0.1 s and samples fds/RSS; bounded by max_seconds."""

    def __init__(self, port, pid, stable_label, max_seconds):
        self.port, self.pid, self.stable_label = port, pid, stable_label
        self.max_seconds = max_seconds
        self.stop = threading.Event()
        self.n = 0
        self.bad = []          # (t, status/error, elapsed)
        self.missing_stable = 0
        self.slowest = 0.0
        self.fds = []
        self.rss = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        t_end = time.monotonic() + self.max_seconds
        for _ in range(int(self.max_seconds / 0.1) + 2):
            if self.stop.is_set() or time.monotonic() > t_end:
                break
            t0 = time.monotonic()
            try:
                status, hdrs, body = ct.scrape(self.port, timeout=SCRAPE_TIMEOUT)
                el = time.monotonic() - t0
                self.slowest = max(self.slowest, el)
                if status != 200 or el > SCRAPE_TIMEOUT:
                    self.bad.append((round(t0, 1), status, round(el, 3)))
                else:
                    m = ct.parse_metrics(ct.decode_body(hdrs, body))
                    if ct.value(m, CPU, id=self.stable_label, cpu="total") is None:
                        self.missing_stable += 1
            except Exception as e:  # noqa: BLE001 - any failure is a failed scrape
                self.bad.append((round(t0, 1), f"{type(e).__name__}: {e}",
                                 round(time.monotonic() - t0, 3)))
            self.n += 1
            f, r = fd_count(self.pid), rss_kb(self.pid)
            if f is not None:
                self.fds.append(f)
            if r is not None:
                self.rss.append(r)
            self.stop.wait(max(0.0, 0.1 - (time.monotonic() - t0)))


def ids_in(m):
    """64-hex ids found in any id label."""
    out = set()
    for _, ls in m:
        lid = dict(ls).get("id", "")
        mm = re.search(r"([0-9a-f]{64})(?:\.scope)?$", lid)
        if mm:
            out.add(mm.group(1))
    return out


def main():
    ct.require_root()
    mnt = ct.require_cgroup2()
    ct.find_binary()
    t = ct.Test(f"cgroup_race: {RACE_S:.0f} s of cgroup creation and removal against "
                "100 ms sweeps")
    with ct.CgroupSandbox(mnt) as sb:
        park = os.path.join(sb.base, "park")
        slice_dir = os.path.join(sb.base, "system.slice")
        os.mkdir(park)
        os.mkdir(slice_dir)
        stable = sb.add_container()
        stable.start_sleeper()
        stable_label = "/" + os.path.relpath(stable.path, sb.base)
        sleepers = []
        try:
            for _ in range(PARKED):
                sleepers.append(subprocess.Popen(
                    ["sleep", "1000"], stdin=subprocess.DEVNULL,
                    preexec_fn=lambda: write(os.path.join(park, "cgroup.procs"),
                                             str(os.getpid())),
                    start_new_session=True))
            run(t, sb, park, slice_dir, stable_label, sleepers)
        finally:
            for p in sleepers:
                with contextlib.suppress(OSError):
                    p.kill()
            for p in sleepers:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=5)
    t.finish()


def run(t, sb, park, slice_dir, stable_label, sleepers):
    args = ["--interval", "100ms", "--cgroup-root", sb.base, "--no-cgroup-root-check"]
    with ct.Cstatd(args) as c:
        pid = c.proc.pid
        # Baseline after a few sweeps with only the stable cgroup.
        time.sleep(5 * INTERVAL_S)
        m0 = ct.get_metrics(c.port)
        fd0 = fd_count(pid)
        rss0 = rss_kb(pid)
        err0 = ct.value(m0, "cstatd_collect_errors_total", source="cgroup") or 0.0
        t.info(f"baseline: {fd0} fds, VmRSS {rss0} kB, cgroup errors {err0:g}")
        t.check(ct.value(m0, CPU, id=stable_label, cpu="total") is not None,
                "the stable cgroup is exported before the churn", fatal=True)

        race = Race(sb, park, sleepers)
        race.port = c.port
        watch = Watch(c.port, pid, stable_label, RACE_S + 60)
        watch.thread.start()
        loops = [threading.Thread(target=race.flash, daemon=True),
                 threading.Thread(target=race.flash, daemon=True),
                 threading.Thread(target=race.held, args=(slice_dir,), daemon=True),
                 threading.Thread(target=race.held, args=(slice_dir,), daemon=True),
                 threading.Thread(target=race.slices, daemon=True),
                 threading.Thread(target=race.kept_open, daemon=True)]
        t0 = time.monotonic()
        try:
            for th in loops:
                th.start()
            race.stop.wait(RACE_S)
        finally:
            race.stop.set()
            for th in loops:
                th.join(timeout=10)
        t_churn = time.monotonic() - t0
        total = sum(race.cycles.values())
        t.info(f"churn ran {t_churn:.1f} s: {total} create/remove cycles "
               f"({', '.join(f'{k} {v}' for k, v in race.cycles.items())}); "
               f"{len(race.made_ids)} cgroup ids; {race.enodev_reads} reads on our own "
               "kept-open fds of removed cgroups failed with ENODEV")
        t.check(not any(th.is_alive() for th in loops), "every churn thread stopped")
        t.equal(race.failures, [], "every churn cgroup could be removed")
        lags = sorted(race.gone_lags)
        bound = 2 * INTERVAL_S + SLACK_S
        if lags:
            t.info(f"kept_open: rmdir -> series gone: median {lags[len(lags) // 2] * 1000:.0f} "
                   f"ms, max {lags[-1] * 1000:.0f} ms over {len(lags)} cgroups")
        t.check(lags and not race.not_gone and lags[-1] <= bound,
                "kept_open: each exported cgroup removed under its open fds left /metrics "
                f"within two intervals + {SLACK_S} s", expected=f"<= {bound:.1f} s",
                actual=(round(lags[-1], 3) if lags else None, race.not_gone[:3]))
        with race.lock:
            left = sorted(race.live)
        t.equal(left, [], "no churn cgroup is left")

        # Series of removed cgroups gone within two intervals (+ slack).
        t_last = race.last_rmdir
        gone_at = None
        m = {}
        for _ in range(200):
            with contextlib.suppress(OSError, RuntimeError, ct.ParseError):
                m = ct.get_metrics(c.port)
                if not (ids_in(m) & race.made_ids):
                    gone_at = time.monotonic() - t_last
                    break
            if time.monotonic() - t_last > bound + 5:
                break
            time.sleep(0.02)
        stale = sorted(ids_in(m) & race.made_ids)[:5]
        t.check(gone_at is not None and gone_at <= bound,
                f"no series of a removed cgroup {gone_at if gone_at is None else round(gone_at, 3)}"
                f" s after the last rmdir (bound: two intervals + {SLACK_S} s = {bound:.1f} s)",
                expected=f"<= {bound:.1f} s", actual=gone_at if gone_at is not None else stale)
        t.check(ct.value(m, CPU, id=stable_label, cpu="total") is not None,
                "the stable cgroup is still exported")
        race.close_fds()

        # fds back to the baseline: poll a little (a sweep closes them).
        fd1 = ct.poll(lambda: (lambda f: f if f is not None and abs(f - fd0) <= FD_TOLERANCE
                               else None)(fd_count(pid)), 3.0, 0.1) or fd_count(pid)
        watch.stop.set()
        watch.thread.join(timeout=5)
        t.info(f"scrapes: {watch.n}, slowest {watch.slowest * 1000:.0f} ms; fds max "
               f"{max(watch.fds, default=None)} during the churn, {fd1} after "
               f"(baseline {fd0}); VmRSS max {max(watch.rss, default=None)} kB "
               f"(baseline {rss0} kB)")
        t.check(fd1 is not None and abs(fd1 - fd0) <= FD_TOLERANCE,
                f"cstatd's open fds back to the baseline +- {FD_TOLERANCE}",
                expected=fd0, actual=fd1)
        t.check(watch.n > 0 and not watch.bad, f"every scrape during the churn ({watch.n}) "
                f"answered 200 within {SCRAPE_TIMEOUT:.0f} s", expected="[]",
                actual=watch.bad[:6])
        t.equal(watch.missing_stable, 0, "the stable cgroup's series were in every scrape")

        m1 = ct.get_metrics(c.port)
        err1 = ct.value(m1, "cstatd_collect_errors_total", source="cgroup") or 0.0
        t.info(f"cstatd_collect_errors_total{{source=\"cgroup\"}}: {err0:g} -> {err1:g}")
        t.check(err1 - err0 < max(1.0, 0.01 * total), "cgroup errors grew by less than 1 % "
                "of the cycles (a removed cgroup is not an error)",
                expected=f"< {max(1.0, 0.01 * total):g}", actual=err1 - err0)
        t.check(c.alive(), "cstatd is alive after the churn", fatal=True)
        t_term = time.monotonic()
        rc = c.stop(timeout=10)
        dt = time.monotonic() - t_term
        t.check(rc == 0 and dt < 2.0, f"SIGTERM: exit status 0 within 2 s (took {dt:.2f} s)",
                expected=0, actual=rc)
        log = c.stderr_text()
        noisy = [ln for ln in log.splitlines()
                 if "level=warn" in ln or "level=error" in ln]
        t.info(f"cstatd log: {len(log.splitlines())} lines, {len(noisy)} warnings/errors"
               + (": " + " | ".join(x[:160] for x in noisy[:4]) if noisy else ""))
        real_noise = [ln for ln in noisy if "running as root" not in ln]
        t.check(len(real_noise) < 20, "fewer than 20 warning/error lines over the churn "
                "(rate limited)", actual=len(real_noise))


if __name__ == "__main__":
    ct.run(main)
