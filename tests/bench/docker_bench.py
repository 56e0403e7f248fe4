#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Docker benchmark: cstatd's cost, and what it costs dockerd, with N containers.

A private dockerd (tests/integration/lib/dockerd.py, v2 mode: every container
gets a real cgroup v2 directory) runs N containers (`sleep`, --network none).
Then, --runs times, each phase for --duration s after --warmup s:

  idle     no cstatd: the CPU of dockerd + containerd + shims on their own;
  never    cstatd --docker-stats never: Docker events + inspect only (numbers
           from the cgroup files);
  always   cstatd --docker-stats always: one stats stream per container too;
  auto     (with --phases ...,auto) the default mode. On a hybrid host the v2
           cgroups have no memory files, so auto opens a stream per container
           and costs what `always` costs.

Measured: cstatd CPU % (utime+stime) and RSS; dockerd+containerd+shims CPU %
(utime+stime of every process whose command line names the private daemon's
directory); the CPU Docker spends because of cstatd = phase - idle of the
same run; per-container cost of stats streams = (always - never) / N.
Start-up (list + N inspects) is reported separately: docker-side CPU seconds
in the first --warmup seconds after cstatd starts.

Phase `churn` (with --phases ...,churn): cstatd (never) runs while one
container per second is created and removed --churn-lifetime s later for
--churn-duration s; RSS and fds before/after, stale series after.

    python3 tests/bench/docker_bench.py --n 50,200 --runs 3
    python3 tests/bench/docker_bench.py --n 5 --runs 1 --duration 5 --warmup 3   # smoke
"""

import argparse
import concurrent.futures
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

import dockerd as dk  # noqa: E402  (tests/integration/lib, on sys.path via benchlib)


def proc_ticks(pids):
    """utime+stime (clock ticks) summed over pids; threads that exited
    included (the kernel keeps their time in the process's totals)."""
    total = 0
    for p in pids:
        try:
            st = bl._read(f"/proc/{p}/stat")
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        total += int(f[11]) + int(f[12])
    return total


def ticks_by_part(pids):
    """utime+stime ticks of dockerd, containerd and the shims, separately."""
    out = {"dockerd": 0, "containerd": 0, "shims": 0, "other": 0}
    for p in pids:
        try:
            comm = bl._read(f"/proc/{p}/comm").strip()
        except OSError:
            continue
        part = ("dockerd" if comm == "dockerd" else "containerd" if comm == "containerd"
                else "shims" if comm.startswith("containerd-shim") else "other")
        out[part] += proc_ticks([p])
    return out


def pct_parts(a, b, seconds):
    """CPU % of one core per part between two ticks_by_part readings."""
    out = {k: 100.0 * (b[k] - a[k]) / bl.CLK_TCK / seconds for k in a}
    # "other": anything else naming the private directory on its command
    # line -- cstatd itself (--docker-host unix://<dir>/docker.sock). Not Docker.
    out["all"] = sum(out[k] for k in ("dockerd", "containerd", "shims"))
    return out


class DockerSide:
    """dockerd + containerd + shims of one private daemon."""

    def __init__(self, d):
        self.d = d

    def pids(self):
        return self.d._our_pids()


def docker_cpu_pct(side, seconds):
    pids = side.pids()
    a = ticks_by_part(pids)
    t0 = time.monotonic()
    time.sleep(seconds)
    b = ticks_by_part(pids)
    return pct_parts(a, b, time.monotonic() - t0), len(pids)


def start_containers(d, n, workers=4):
    t0 = time.monotonic()

    def one(i):
        return d.docker("run", "-d", "--network", "none", "--name", f"bench-{i:04d}",
                        dk.IMAGE, "sleep", "86400", timeout=120)

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        ids = list(ex.map(one, range(n)))
    bl.log(f"started {n} containers in {time.monotonic() - t0:.1f} s")
    return ids


def alerts_active(port):
    """Pending + firing alerts on /alerts (None when cstatd has no such page)."""
    try:
        status, _, body = bl.http_get(port, "/alerts", timeout=5)
        return len(json.loads(body).get("alerts", [])) if status == 200 else None
    except Exception:  # noqa: BLE001 - older cstatd, bad JSON
        return None


def cstatd_phase(args, d, side, mode, n):
    cargs = ["--interval", "1s", "--docker-host", d.host_url, "--docker-stats", mode] \
        + args.cstatd_arg
    pids = side.pids()
    dk0 = proc_ticks(pids)
    t_start = time.monotonic()
    with bl.Daemon(cargs, ready_timeout=120) as c, bl.PromScraper(c.port, period=15.0):
        # Wait until Docker names every container (inspect done), bounded.
        deadline = time.monotonic() + 60
        named = 0
        while time.monotonic() < deadline:
            text = bl.metrics_text(c.port)
            named = sum(1 for ln in text.splitlines()
                        if ln.startswith("container_cpu_usage_seconds_total{")
                        and 'name="bench-' in ln)
            if named >= n:
                break
            time.sleep(0.5)
        time.sleep(max(0.0, args.warmup - (time.monotonic() - t_start)))
        startup = (proc_ticks(pids) - dk0) / bl.CLK_TCK
        startup_s = time.monotonic() - t_start
        pids = side.pids()
        a = c.stat()
        d0 = ticks_by_part(pids)
        time.sleep(args.duration)
        d1 = ticks_by_part(pids)
        b = c.stat()
        w = bl.Window(a, b)
        parts = pct_parts(d0, d1, w.seconds)
        text = bl.metrics_text(c.port)
        rec = {"mode": mode, "named": named,
               "cstatd_cpu_pct": w.pct_ticks(), "cstatd_cpu_pct_sched": w.pct_sched(),
               "cstatd_rss_kb": b.rss_kb, "cstatd_hwm_kb": b.hwm_kb, "cstatd_fds": b.fds,
               "cstatd_threads": b.threads,
               "docker_cpu_pct": parts["all"], "dockerd_cpu_pct": parts["dockerd"],
               "containerd_cpu_pct": parts["containerd"], "shims_cpu_pct": parts["shims"],
               "docker_pids": len(pids),
               "startup_docker_cpu_s": startup, "startup_window_s": round(startup_s, 1),
               "docker_up": bl.metric_value(text, "cstatd_docker_up"),
               "samples": bl.count_samples(text),
               "collect_errors": {m[0]: float(m[1]) for m in re.findall(
                   r'^cstatd_collect_errors_total\{source="([^"]*)"\} (\S+)$', text, re.M)},
               "alerts_active": alerts_active(c.port),
               "tracked": len(bl.tracked_ids(text))}
    return rec


def churn_phase(args, d, side, n_base):
    """One container per second, each removed churn_lifetime s later."""
    cargs = ["--interval", "1s", "--docker-host", d.host_url, "--docker-stats", "never"] \
        + args.cstatd_arg
    rec = {"mode": "churn"}
    with bl.Daemon(cargs, ready_timeout=120) as c, bl.PromScraper(c.port, period=15.0):
        time.sleep(args.warmup)
        before = c.stat()
        text = bl.metrics_text(c.port)
        rec["before"] = {"rss_kb": before.rss_kb, "fds": before.fds,
                         "fd_kinds": bl.fd_kinds(c.pid),
                         "tracked": len(bl.tracked_ids(text))}
        pids = side.pids()
        d0 = ticks_by_part(pids)
        made, alive = [], []
        t0 = time.monotonic()
        n = int(args.churn_duration)
        errors = 0
        for i in range(n):
            target = t0 + i
            if target > time.monotonic():
                time.sleep(target - time.monotonic())
            name = f"churn-{i:04d}"
            rc, out, err = d.docker_run("run", "-d", "--network", "none", "--name", name,
                                        dk.IMAGE, "sleep", "86400", timeout=60)
            if rc == 0:
                cid = out.strip()
                d.container_ids.add(cid)
                made.append((cid, name))
                alive.append((time.monotonic(), name))
            else:
                errors += 1
            while alive and time.monotonic() - alive[0][0] >= args.churn_lifetime:
                _, old = alive.pop(0)
                if d.docker_run("rm", "-f", old, timeout=60)[0] != 0:
                    errors += 1
        mid = c.stat()
        elapsed = time.monotonic() - t0
        d1 = ticks_by_part(pids)
        for _, old in alive:
            d.docker_run("rm", "-f", old, timeout=60)
        w = bl.Window(before, mid)
        # Settle: the removed containers' records go (Docker destroy events).
        deadline = time.monotonic() + 30
        stale = []
        while time.monotonic() < deadline:
            text = bl.metrics_text(c.port)
            stale = [ln for ln in text.splitlines()
                     if not ln.startswith("#") and any(cid[:12] in ln or f'"{nm}"' in ln
                                                       for cid, nm in made)]
            if not stale:
                break
            time.sleep(1.0)
        time.sleep(3.0)
        after = c.stat()
        text = bl.metrics_text(c.port)
        rec.update({
            "created": len(made), "errors": errors, "seconds": round(elapsed, 1),
            "cstatd_cpu_pct": w.pct_ticks(),
            "docker_cpu_pct": pct_parts(d0, d1, elapsed)["all"],
            "dockerd_cpu_pct": pct_parts(d0, d1, elapsed)["dockerd"],
            "after": {"rss_kb": after.rss_kb, "hwm_kb": after.hwm_kb, "fds": after.fds,
                      "fd_kinds": bl.fd_kinds(c.pid),
                      "tracked": len(bl.tracked_ids(text))},
            "stale_lines": len(stale), "stale_example": stale[:3],
        })
        rec["fds_returned"] = after.fds == before.fds
        rec["file_fds_returned"] = (bl.non_socket(rec["after"]["fd_kinds"])
                                    == bl.non_socket(rec["before"]["fd_kinds"]))
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", default="50,200")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=15.0)
    ap.add_argument("--phases", default="idle,never,always",
                    help="comma-separated: idle, never, always, auto, churn")
    ap.add_argument("--churn-duration", type=float, default=60.0)
    ap.add_argument("--churn-lifetime", type=float, default=5.0)
    ap.add_argument("--cstatd-arg", action="append", default=[])
    ap.add_argument("--json")
    args = ap.parse_args()

    bl.install_signal_handlers()
    if os.geteuid() != 0:
        bl.skip("needs root (private dockerd, cgroups)")
    dk.require_docker("v2")
    phases = [p for p in args.phases.split(",") if p]
    info = bl.machine_info()
    print(f"docker benchmark: {info}", flush=True)
    sizes = [int(x) for x in args.n.split(",") if x]
    allrecs = {}
    for n in sizes:
        with dk.PrivateDockerd(mode="v2") as d:
            side = DockerSide(d)
            info["dockerd_version"] = d.docker("version", "-f", "{{.Server.Version}}")
            start_containers(d, n)
            time.sleep(5)
            recs = []
            for run in range(1, args.runs + 1):
                for ph in phases:
                    if ph == "idle":
                        time.sleep(3)
                        pct, npids = docker_cpu_pct(side, args.duration)
                        rec = {"mode": "idle", "docker_cpu_pct": pct["all"],
                               "dockerd_cpu_pct": pct["dockerd"],
                               "containerd_cpu_pct": pct["containerd"],
                               "shims_cpu_pct": pct["shims"], "docker_pids": npids}
                    elif ph == "churn":
                        if run > 1:
                            continue
                        rec = churn_phase(args, d, side, n)
                    else:
                        rec = cstatd_phase(args, d, side, ph, n)
                    rec.update({"bench": "docker", "n": n, "run": run, "machine": info,
                                "loadavg": bl.loadavg()})
                    recs.append(rec)
                    bl.write_result(args.json, rec)
                    print(f"  N={n} run {run} {ph}: " + ", ".join(
                        f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in rec.items() if k not in ("machine", "bench", "n", "run",
                                                             "stale_example")), flush=True)
            allrecs[n] = recs
        summarize(n, allrecs[n], phases)
    return 0


def summarize(n, recs, phases):
    med = bl.median
    by = {}
    for r in recs:
        by.setdefault(r["mode"], []).append(r)
    print(f"== docker N={n}: medians of {max(len(v) for v in by.values())} run(s)", flush=True)
    idle = med([r["docker_cpu_pct"] for r in by.get("idle", [])])
    # Added CPU per run (phase - idle of the same run), then the median.
    idle_by_run = {r["run"]: r for r in by.get("idle", [])}
    if by.get("idle"):
        ri = by["idle"]
        print(f"  idle  : docker side {idle:.2f}% (dockerd "
              f"{med([r['dockerd_cpu_pct'] for r in ri]):.2f}%, containerd "
              f"{med([r['containerd_cpu_pct'] for r in ri]):.2f}%, shims "
              f"{med([r['shims_cpu_pct'] for r in ri]):.2f}%)", flush=True)
    for mode in ("never", "auto", "always"):
        rs = by.get(mode)
        if not rs:
            continue

        def added(key):
            return med([r[key] - idle_by_run[r["run"]][key] for r in rs
                        if r["run"] in idle_by_run])
        print(f"  {mode:6s}: cstatd CPU {med([r['cstatd_cpu_pct'] for r in rs]):.2f}% "
              f"RSS {med([r['cstatd_rss_kb'] for r in rs]):.0f} kB "
              f"(hwm {med([r['cstatd_hwm_kb'] for r in rs]):.0f}) fds {med([r['cstatd_fds'] for r in rs]):.0f} | "
              f"docker side {med([r['docker_cpu_pct'] for r in rs]):.2f}%, added over idle: "
              f"all {bl.f1(added('docker_cpu_pct'), nd=2)}%, dockerd "
              f"{bl.f1(added('dockerd_cpu_pct'), nd=2)}%, containerd "
              f"{bl.f1(added('containerd_cpu_pct'), nd=2)}%, shims "
              f"{bl.f1(added('shims_cpu_pct'), nd=2)}% | "
              f"start-up docker CPU {med([r['startup_docker_cpu_s'] for r in rs]):.2f} s", flush=True)
    if by.get("never") and by.get("always"):
        dn = med([r["docker_cpu_pct"] for r in by["never"]])
        da = med([r["docker_cpu_pct"] for r in by["always"]])
        cn = med([r["cstatd_cpu_pct"] for r in by["never"]])
        ca = med([r["cstatd_cpu_pct"] for r in by["always"]])
        print(f"  stats streams cost per container: docker side {(da - dn) / n * 10:.3f} ms CPU/s "
              f"({(da - dn) / n:.4f}% of a core), cstatd {(ca - cn) / n * 10:.3f} ms CPU/s",
              flush=True)
    for r in by.get("churn", []):
        print(f"  churn: {r['created']} containers in {r['seconds']} s, cstatd CPU "
              f"{r['cstatd_cpu_pct']:.2f}%, docker side {r['docker_cpu_pct']:.2f}%, RSS "
              f"{r['before']['rss_kb']} -> {r['after']['rss_kb']} kB, fds {r['before']['fds']} -> "
              f"{r['after']['fds']} ({'baseline' if r['fds_returned'] else 'NOT baseline: ' + str(r['before']['fd_kinds']) + ' -> ' + str(r['after']['fd_kinds'])}), "
              f"tracked {r['before']['tracked']} -> {r['after']['tracked']}, stale series "
              f"{r['stale_lines']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
