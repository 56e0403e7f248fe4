#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Which cgroup files cstatd reads at a sweep, on real kernel cgroups.

cgroup.events (and memory.events, on hosts with the memory controller) is read
when the kernel says it changed (inotify IN_MODIFY), cgroup.procs when the
cgroup used CPU since the last sweep, when cgroup.events changed, or at least
every 10 s (collectors/cgroup/cgroup_priv.h, CG_FILES). This test checks that
nothing is lost by that, and that the reads really are skipped:

  1. freeze and thaw show within 3 intervals (seen only through the event);
  2. a sleeping process moved in from outside an empty cgroup (no CPU used
     there: only `populated 0 -> 1` says so) shows in container_processes
     within 3 intervals;
  3. a second one moved in the same way (no event, no CPU) within the
     10 s bound + 3 intervals;
  4. a fork inside a cgroup (CPU used) within 3 intervals;
  5. under strace, over 6 s with idle cgroups: cpu.stat is read at every
     sweep, cgroup.events never, cgroup.procs at most once per cgroup
     (the 10 s bound).

Needs root and a cgroup2 mount (exits 77 otherwise); step 5 needs strace.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

INTERVAL = 1.0
PROCS_MAX_AGE = 10.0  # CG_PROCS_MAX_AGE in collectors/cgroup/cgroup_priv.h
PROCS = "container_processes"
FROZEN = "cstatd_container_frozen"


def outside_sleeper():
    """A sleeping process in the test's own cgroup, moved later by a write."""
    return subprocess.Popen(["sleep", "1000"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def move_in(c, p):
    with open(c.file("cgroup.procs"), "w") as f:
        f.write(str(p.pid))
    c.procs.append(p)


def wait_value(d, fam, c, want, timeout):
    t0 = time.monotonic()
    ok = ct.poll(lambda: ct.value(d.metrics(), fam, name=c.name12) == want, timeout, 0.05)
    return ok, time.monotonic() - t0, ct.value(d.metrics(), fam, name=c.name12)


def check_freeze(t, d, c):
    for frozen in (True, False):
        c.freeze(frozen)
        want = 1.0 if frozen else 0.0
        ok, el, got = wait_value(d, FROZEN, c, want, 3 * INTERVAL + 0.5)
        t.check(ok, f"{c.name12}: {FROZEN} -> {want:g} within 3 intervals of writing "
                f"cgroup.freeze={int(frozen)} (took {el:.2f} s)", expected=want, actual=got)


def check_moved_in(t, d, empty):
    t.equal(ct.value(d.metrics(), PROCS, name=empty.name12), 0.0,
            f"{empty.name12}: {PROCS} is 0 while the cgroup is empty")
    p = outside_sleeper()
    time.sleep(0.3)  # asleep before the move: no CPU is used in the cgroup
    u0 = empty.cpu_usage_usec()
    move_in(empty, p)
    ok, el, got = wait_value(d, PROCS, empty, 1.0, 3 * INTERVAL + 0.5)
    t.check(ok, f"{empty.name12}: a sleeper moved in from outside shows in {PROCS} within "
            f"3 intervals (populated 0 -> 1 in cgroup.events; took {el:.2f} s)",
            expected=1.0, actual=got)
    t.info(f"{empty.name12}: cpu.stat usage_usec {u0} -> {empty.cpu_usage_usec()} "
           "around the move")

    # A second one: cgroup.events stays `populated 1`, no CPU is used.
    p2 = outside_sleeper()
    time.sleep(0.3)
    move_in(empty, p2)
    bound = PROCS_MAX_AGE + 3 * INTERVAL
    ok, el, got = wait_value(d, PROCS, empty, 2.0, bound + 0.5)
    t.check(ok, f"{empty.name12}: a second sleeper moved in (no event, no CPU) shows in "
            f"{PROCS} within {bound:g} s (took {el:.2f} s)", expected=2.0, actual=got)


def check_fork(t, d, c):
    # One process that sleeps 2 s, then forks; parent and child sleep on.
    c.start([sys.executable, "-c",
             "import os, time\ntime.sleep(2)\nos.fork()\ntime.sleep(1000)"])
    t0 = time.monotonic()
    ok = ct.poll(lambda: ct.value(d.metrics(), PROCS, name=c.name12) == 1.0, 3.0, 0.05)
    t.check(ok, f"{c.name12}: {PROCS} is 1 before the fork",
            actual=ct.value(d.metrics(), PROCS, name=c.name12))
    fork_at = t0 + 2.0
    ok = ct.poll(lambda: ct.value(d.metrics(), PROCS, name=c.name12) == 2.0,
                 2.0 + 3 * INTERVAL + 1.0, 0.05)
    el = time.monotonic() - fork_at
    t.check(ok and el <= 3 * INTERVAL + 0.5,
            f"{c.name12}: a fork inside (CPU used there) shows in {PROCS} within 3 intervals "
            f"(took {el:.2f} s after the fork)", expected=2.0,
            actual=ct.value(d.metrics(), PROCS, name=c.name12))


def check_reads(t, d, idle):
    strace = shutil.which("strace")
    if not strace:
        t.info("SKIP reads under strace: strace is not installed (scripts/deps.sh --test "
               "installs it)")
        return
    pid = d.proc.pid
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "trace")
        # Let any pending notification or CPU-driven read pass first.
        time.sleep(2 * INTERVAL)
        fds = {}
        fddir = f"/proc/{pid}/fd"
        for fd in os.listdir(fddir):
            try:
                fds[int(fd)] = os.readlink(os.path.join(fddir, fd))
            except OSError:
                pass
        st = subprocess.Popen([strace, "-f", "-qq", "-e", "trace=pread64", "-p", str(pid),
                               "-o", out], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        window = 6.0
        time.sleep(window)
        st.terminate()
        st.wait(timeout=10)
        counts = {}
        with open(out) as f:
            for line in f:
                m = re.search(r"pread64\((\d+),", line)
                if not m:
                    continue
                path = fds.get(int(m.group(1)), "?")
                counts[path] = counts.get(path, 0) + 1

    def reads(c, name):
        return counts.get(c.file(name), 0)

    sweeps = window / INTERVAL
    for c in idle:
        cpu, ev, pr = reads(c, "cpu.stat"), reads(c, "cgroup.events"), reads(c, "cgroup.procs")
        t.info(f"{c.name12}: preads in {window:g} s: cpu.stat {cpu}, cgroup.events {ev}, "
               f"cgroup.procs {pr}")
        t.between(cpu, sweeps - 2, sweeps + 1,
                  f"{c.name12}: cpu.stat read at every sweep ({window:g} s at {INTERVAL:g} s)")
        t.equal(ev, 0, f"{c.name12}: cgroup.events not read while it does not change")
        t.between(pr, 0, 1, f"{c.name12}: cgroup.procs of an idle cgroup read at most once "
                  f"in {window:g} s (every {PROCS_MAX_AGE:g} s)")


def main():
    ct.require_root()
    mnt = ct.require_cgroup2()
    t = ct.Test("cgroup_notify: files read on kernel notification or when the cgroup ran")
    d_ref = []
    t.on_failure.append(lambda: d_ref and print("  cstatd stderr:\n" + d_ref[0].stderr_tail(40)))
    with ct.CgroupSandbox(mnt) as sb:
        empty = sb.add_container()
        forker = sb.add_container()
        idle = [sb.add_container() for _ in range(3)]
        for c in idle:
            c.start_sleeper()
        with ct.Cstatd(["--interval", "1s", "--cgroup-root", mnt]) as d:
            d_ref.append(d)
            seen = ct.poll(lambda: all(ct.value(d.metrics(), PROCS, name=c.name12) is not None
                                       for c in [empty, forker] + idle), 3 * INTERVAL + 1, 0.1)
            t.check(seen, "every test cgroup appears in /metrics", fatal=True)
            check_reads(t, d, idle)
            check_freeze(t, d, idle[0])
            check_moved_in(t, d, empty)
            check_fork(t, d, forker)
            t.check(d.alive(), "cstatd still running at the end")
            t.equal(d.stop(), 0, "cstatd exits 0 on SIGTERM")
    t.finish()


if __name__ == "__main__":
    ct.run(main)
