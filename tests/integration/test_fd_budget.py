#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cstatd under a small open-files limit reads every container in full.

Each container costs cstatd about ten kept-open files (a directory fd, the
cgroup files, net/dev). Past the keep-open part of its fd budget (the limit
minus a reserve for HTTP and Docker, minus a tenth kept for the directories of
containers yet to come), files are opened, read and closed at every sweep
instead. So with RLIMIT_NOFILE 400 (hard, so cstatd cannot raise it) and 120
cgroups — about 1200 files to keep — every cgroup must still have its CPU, PSI
and process series, the fd count must stay under the limit, /metrics must keep
answering, and the condition must be logged once.

Needs root and a cgroup2 mount (exits 77 otherwise).
"""

import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

N = 120
LIMIT = 400
CPU = "container_cpu_usage_seconds_total"


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def main():
    ct.require_root()
    mnt = ct.require_cgroup2()
    t = ct.Test(f"fd_budget: {N} cgroups under RLIMIT_NOFILE {LIMIT}")
    d_ref = []
    t.on_failure.append(lambda: d_ref and print("  cstatd stderr:\n" + d_ref[0].stderr_tail(20)))
    with ct.CgroupSandbox(mnt) as sb:
        cs = []
        for _ in range(N):
            c = sb.add_container()
            c.start_sleeper()
            cs.append(c)
        # The hard limit too: cstatd raises its soft limit to the hard one.
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))
        # --cgroup-root is the sandbox's own directory: cgroups that other
        # programs create on the machine meanwhile must not eat the budget.
        with ct.Cstatd(["--interval", "500ms", "--cgroup-root", sb.base]) as d:
            d_ref.append(d)

            def all_read():
                m = d.metrics()
                return all(ct.value(m, CPU, name=c.name12, cpu="total") is not None
                           for c in cs)
            t.check(ct.poll(all_read, 15, 0.25), f"all {N} cgroups have {CPU}", fatal=True)
            worst = 0
            for _ in range(6):  # three seconds of sweeps
                worst = max(worst, open_fds(d.proc.pid))
                time.sleep(0.5)
            m = d.metrics()
            t.info(f"open fds: at most {worst} of {LIMIT} over 6 samples")
            t.check(worst < LIMIT, "cstatd's open fds stay under RLIMIT_NOFILE", actual=worst)
            # N directory fds + at least 40 kept files: the budget (less the
            # HTTP connection slots it reserves) is used, not left idle.
            t.check(worst > N + 40, "the budget is used (files kept open beyond the "
                    "directories)", actual=worst)
            for fam in (CPU, "container_processes"):
                missing = [c.name12 for c in cs
                           if not ct.series(m, fam, name=c.name12)]
                t.equal(missing, [], f"every cgroup has {fam}")
            psi = [c.name12 for c in cs
                   if not ct.series(m, "container_pressure_cpu_waiting_seconds_total",
                                    name=c.name12)]
            if os.path.exists(os.path.join(mnt, "cpu.pressure")):
                t.equal(psi, [], "every cgroup has CPU pressure (PSI) series")
            st, _, _ = ct.scrape(d.port)
            t.equal(st, 200, "/metrics answers")
            log = d.stderr_text()
            n = log.count("opened and closed at every sweep")
            t.check(1 <= n <= 2, "the fallback is logged once (per collector), not per file",
                    actual=n)
            # A busy loop on a transiently read cgroup still counts CPU.
            last = cs[-1]
            v0 = ct.value(d.metrics(), CPU, name=last.name12, cpu="total")
            busy = sb.add_container()
            busy.start_busy()
            t.check(ct.poll(lambda: (ct.value(d.metrics(), CPU, name=busy.name12,
                                              cpu="total") or 0) > 0.3, 10, 0.25),
                    "a cgroup created past the budget is read (its CPU counter grows)")
            t.check(v0 is not None, "the last cgroup is read")
            t.equal(d.stop(), 0, "cstatd exits 0 on SIGTERM")
    t.finish()


if __name__ == "__main__":
    ct.run(main)
