#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cstatd against a real dockerd on the cgroup v1 controllers.

A private dockerd (lib/dockerd.py, mode "v1", started plainly) uses the v1
controllers of this hybrid host, so memory numbers and --memory limits exist
only in v1 files and in Docker's stats API: cstatd must get them from the
stats streams (--docker-stats auto). cstatd runs with default cgroup-root
detection, --docker-host unix://<private socket>.

Checks:
  - cstatd_docker_up is 1; both containers get their Docker names
  - `mem` (--memory 64m, holds ~20 MB in a shell variable):
    container_spec_memory_limit_bytes{name="mem"} == 67108864, and
    container_memory_working_set_bytes (or container_memory_usage_bytes) within
    10 % of what `docker stats --no-stream --format '{{.MemUsage}}'` prints at
    the same time
  - `busy` (--memory 64m, `while :; do :; done`): limit 67108864 and
    container_cpu_usage_seconds_total grows at 0.8-1.2 core-s/s over >= 3 s
    (v1 cpuacct.usage sampled at the same moments for comparison)
  - OOM: `oomer` (--memory 32m) allocates ~100 MB; `docker inspect` confirms
    State.OOMKilled; cstatd_container_oom_kills_total{name="oomer"} goes up by
    exactly 1 and stays there (every scrape for 5 more intervals)

Needs root, dockerd/containerd/runc, a static busybox (exit 77 otherwise).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402
import dockerd as dk  # noqa: E402

INTERVAL = 1.0
LIMIT_64M = 64 * 1024 * 1024
CPU = "container_cpu_usage_seconds_total"
OOM = "cstatd_container_oom_kills_total"
MEM_CMD = 'x=$(head -c 20000000 /dev/zero | tr "\\0" a); while :; do sleep 1; done'
OOM_CMD = 'sleep 3; x=$(head -c 100000000 /dev/zero | tr "\\0" a)'


def v1_mount(controller):
    """Mount point of the v1 hierarchy carrying `controller`, or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, sep, right = line.partition(" - ")
            if not sep:
                continue
            r = right.split()
            if r[0] == "cgroup" and controller in r[2].split(","):
                return ct._unescape_mountinfo(left.split()[4])
    return None


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def main():
    dk.require_docker("v1")
    ct.find_binary()
    t = ct.Test("docker_v1: cstatd with a cgroup v1 dockerd (--docker-stats auto)")
    saved = {}

    def diagnostics():
        print("  .. cstatd stderr (tail):\n" + saved.get("cstatd", ""), flush=True)
        print("  .. dockerd log (tail):\n" + saved.get("dockerd", ""), flush=True)

    t.on_failure.append(diagnostics)
    t_start = time.monotonic()
    with dk.PrivateDockerd("v1") as d:
        try:
            t.equal(d.docker("info", "-f", "{{.CgroupVersion}}"), "1",
                    "private dockerd runs on cgroup v1 (docker info CgroupVersion)", fatal=True)
            args = ["--interval", "1s", "--docker-host", d.host_url, "--docker-stats", "auto",
                    "--log-level", "debug"]
            with ct.Cstatd(args, docker=True) as c:
                try:
                    with dk.Scraper(c.port, period=0.5, max_seconds=240) as sc:
                        run_checks(t, d, c, sc)
                    bad = sc.failed()
                    t.check(not bad, f"every background scrape answered 200 ({len(sc.scrapes)} "
                            "scrapes)", expected="none failed",
                            actual=[(round(s.t - sc.scrapes[0].t, 1), s.status, s.error)
                                    for s in bad][:5])
                finally:
                    saved["cstatd"] = c.stderr_tail(40)
        finally:
            saved["dockerd"] = d.log_tail(30)
    t.info(f"total time {time.monotonic() - t_start:.1f} s (cleanup included)")
    t.finish()


def run_checks(t, d, c, sc):
    port = c.port
    m, _ = dk.poll_metrics(port, lambda m: ct.value(m, "cstatd_docker_up") == 1, 10.0, 0.2)
    t.equal(ct.value(m, "cstatd_docker_up"), 1.0, "cstatd_docker_up is 1 within 10 s of start")

    t.info(f"docker run --memory 64m --name mem ... sh -c '{MEM_CMD}'")
    mem_id = d.run_container("mem", "sh", "-c", MEM_CMD, opts=["--memory", "64m",
                                                                 "--stop-timeout", "1"])
    t.info("docker run --memory 64m --name busy ... sh -c 'while :; do :; done'")
    busy_id = d.run_container("busy", "sh", "-c", "while :; do :; done",
                              opts=["--memory", "64m", "--stop-timeout", "1"])
    mem_mnt = v1_mount("memory")
    t.check(mem_mnt is not None and read_int(os.path.join(
        mem_mnt, "docker", mem_id, "memory.limit_in_bytes")) == LIMIT_64M,
        "environment: the v1 memory cgroup of `mem` has memory.limit_in_bytes 64 MiB",
        fatal=True)

    for name in ("mem", "busy"):
        m, ok = dk.poll_metrics(port, lambda m, n=name: ct.series(m, "cstatd_container_info",
                                                                  name=n), 10.0, 0.1)
        t.check(ok, f"cstatd_container_info{{name=\"{name}\"}} appears within 10 s",
                expected="a series", actual=sorted(
                    {dict(k[1]).get("name") for k in m if k[0] == "cstatd_container_info"}))

    # -- memory limit ----------------------------------------------------------
    for name in ("mem", "busy"):
        m, ok = dk.poll_metrics(port, lambda m, n=name: ct.value(
            m, "container_spec_memory_limit_bytes", name=n) == LIMIT_64M, 15.0, 0.2)
        t.equal(ct.value(m, "container_spec_memory_limit_bytes", name=name), float(LIMIT_64M),
                f"container_spec_memory_limit_bytes{{name=\"{name}\"}} (within 15 s)")

    # -- memory usage vs docker stats ----------------------------------------------
    def ws(m):
        return ct.value(m, "container_memory_working_set_bytes", name="mem")

    def usage(m):
        return ct.value(m, "container_memory_usage_bytes", name="mem")

    m, ok = dk.poll_metrics(port, lambda m: (ws(m) or usage(m) or 0) > 15e6, 15.0, 0.2)
    t.check(ok, "`mem` shows > 15 MB of memory in cstatd within 15 s (it holds ~20 MB)",
            expected="> 15e6", actual={"working_set": ws(m), "usage": usage(m)})
    time.sleep(INTERVAL)  # let the shell finish growing; the value is then flat
    m_a = ct.get_metrics(port)
    rc, out, err = d.docker_run("stats", "--no-stream", "--format", "{{.MemUsage}}", "mem")
    m_b = ct.get_metrics(port)
    kern = read_int(os.path.join(mem_mnt, "docker", mem_id, "memory.usage_in_bytes"))
    t.check(rc == 0 and "/" in out, "docker stats --no-stream answers",
            expected="'<used> / <limit>'", actual=(rc, out.strip(), err.strip()[-200:]),
            fatal=True)
    used_s, limit_s = [x.strip() for x in out.strip().split("/", 1)]
    docker_used = dk.parse_size(used_s)
    t.info(f"docker stats MemUsage: {out.strip()!r} -> {docker_used:.0f} B "
           f"(limit {dk.parse_size(limit_s):.0f} B); v1 memory.usage_in_bytes: {kern}")
    t.info(f"cstatd before/after docker stats: working_set {ws(m_a)} / {ws(m_b)}, "
           f"usage {usage(m_a)} / {usage(m_b)}")

    def within(v, ref, rel=0.10):
        return v is not None and ref > 0 and abs(v - ref) <= rel * ref

    ws_ok = within(ws(m_a), docker_used) or within(ws(m_b), docker_used)
    us_ok = within(usage(m_a), docker_used) or within(usage(m_b), docker_used)
    t.check(ws_ok or us_ok, "cstatd's working set (or usage) of `mem` is within 10 % of "
            "docker stats' MemUsage",
            expected=f"{docker_used:.0f} +- 10 %",
            actual={"working_set": ws(m_b), "usage": usage(m_b)})
    if not ws_ok:
        t.info("note: container_memory_working_set_bytes itself is not within 10 %")

    # -- CPU of busy ---------------------------------------------------------------
    acct = v1_mount("cpuacct")
    acct_file = os.path.join(acct, "docker", busy_id, "cpuacct.usage") if acct else None

    def kernel():
        v = read_int(acct_file) if acct_file else None
        return None if v is None else v / 1e9

    def get_cpu(mm):
        s = ct.series(mm, CPU, name="busy")
        return s[0][1] if len(s) == 1 else None

    t.info("CPU of `busy`: two sweeps >= 3 s apart (v1 cpuacct.usage at the same moments)")
    r, tries = dk.measure_busy_rate(port, get_cpu, kernel, window=4.0, interval=INTERVAL)
    t.check(r["error"] is None, f"{CPU}{{name=\"busy\"}} advances from sweep to sweep",
            expected="changing values", actual=r["error"])
    if r["error"] is None:
        kr = r["kernel_rate"]
        t.info(f"{CPU}: {r['v0']:.6f} -> {r['v1']:.6f} over {r['dt']:.2f} s = "
               f"{r['rate']:.3f} core-s/s; v1 cpuacct.usage: "
               + (f"{kr:.3f}" if kr is not None else "n/a") + f" (attempt {tries})")
        t.check(r["dt"] >= 3.0, "measured over >= 3 s", expected=">= 3", actual=r["dt"])
        t.between(r["rate"], 0.8, 1.2, f"busy container's {CPU} rate (core-s/s)")
        if kr is not None:
            t.check(abs(r["rate"] - kr) <= 0.1, "cstatd's CPU rate matches the kernel's v1 "
                    "cpuacct.usage of the same container (+-0.1)", expected=kr,
                    actual=r["rate"])
        if r["kernel_rate"] is not None and not 0.8 <= r["kernel_rate"] <= 1.2:
            t.info("note: the kernel itself measured %.3f core-s/s for the busy loop: "
                   "the machine is overloaded (other CPU-heavy work running?)"
                   % r["kernel_rate"])

    # -- OOM kill ------------------------------------------------------------------
    check_oom(t, d, port, sc)


def check_oom(t, d, port, sc):
    t.info(f"docker run --memory 32m --name oomer ... sh -c '{OOM_CMD}'")
    n0 = sc.count()
    d.run_container("oomer", "sh", "-c", OOM_CMD, opts=["--memory", "32m"])
    # Baseline while it sleeps (3 s): the series, if any, must read 0.
    m, seen = dk.poll_metrics(port, lambda m: ct.series(m, "cstatd_container_info",
                                                        name="oomer"), 2.5, 0.1)
    base = ct.value(m, OOM, name="oomer") if seen else None
    t.info(f"before the OOM: {OOM}{{name=\"oomer\"}} = {base!r}"
           + ("" if seen else " (container not yet known to cstatd)"))
    base = base or 0.0
    status = ct.poll(lambda: d.docker("inspect", "-f", "{{.State.Status}}", "oomer")
                     in ("exited", "dead"), 30.0, 0.2)
    st = d.inspect("oomer")["State"]
    t.info(f"oomer: Status={st['Status']} OOMKilled={st['OOMKilled']} ExitCode={st['ExitCode']}")
    t.check(bool(status) and st["OOMKilled"] is True,
            "environment: docker inspect says oomer was OOM-killed (State.OOMKilled)",
            expected=True, actual=(st["Status"], st["OOMKilled"], st["ExitCode"]), fatal=True)
    t_exit = time.monotonic()
    s, ok = sc.wait_for(lambda m: (ct.value(m, OOM, name="oomer") or 0) >= base + 1, 10.0)
    got = ct.value(s.metrics, OOM, name="oomer") if s else None
    t.check(bool(ok), f"{OOM}{{name=\"oomer\"}} goes up within 10 s of the exit",
            expected=base + 1, actual=got)
    if ok:
        t.info(f"counter went up {time.monotonic() - t_exit:.1f} s after the exit was seen")
    time.sleep(5 * INTERVAL)
    after = [s for s in sc.scrapes[n0:] if s.metrics is not None]
    vals = [ct.value(s.metrics, OOM, name="oomer") for s in after]
    present = [v for v in vals if v is not None]
    t.info(f"{len(after)} scrapes during the OOM phase; distinct values of the counter: "
           f"{sorted(set(present))}")
    t.check(present and max(present) == base + 1,
            f"{OOM}{{name=\"oomer\"}} rose by EXACTLY 1 (never more, in any scrape)",
            expected=base + 1, actual=max(present) if present else None)
    t.equal(vals[-1] if vals else None, base + 1,
            f"{OOM}{{name=\"oomer\"}} still {base + 1:g} five intervals later")
    drops = [(i, a, b) for i, (a, b) in enumerate(zip(present, present[1:])) if b < a]
    t.check(not drops, f"{OOM}{{name=\"oomer\"}} never goes down", expected="[]",
            actual=drops[:5])


if __name__ == "__main__":
    ct.run(main)
