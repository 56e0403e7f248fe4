#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Smoke run of the benchmarks (CI: ctest -L bench).

Runs fleet.py (N = 50, 10 s, wrk 3 s), churn.py (base 50, 10 s) and
docker_bench.py (N = 50 on a private dockerd, 10 s per phase, plus 10 s of
churn) once each, prints their figures, and checks only that the machinery
works: each script exits 0, writes its JSON records, and the figures are
present and plausible in kind (a floor that read something, a body with
samples, fds back to baseline after churn, no stale series). There is no
timed assertion here: speed is for docs/benchmarks.md, not for CI.

Exit: 0 works, 1 broken, 77 skipped (not root, no cgroup2). The Docker part
is skipped (with a note, exit still 0) when dockerd/containerd/runc/busybox
are missing.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402

N = 50
SECONDS = 10


def run(script, args, timeout):
    """Run a benchmark script; on timeout SIGTERM it (its cleanup runs: the
    scripts turn SIGTERM into an orderly exit), SIGKILL only 90 s later."""
    argv = [sys.executable, os.path.join(HERE, script)] + args
    print(f"\n$ {' '.join(argv)}", flush=True)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.terminate()
        try:
            out, _ = p.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate(timeout=30)
        print(out, flush=True)
        print(f"  ({script}: timed out after {timeout} s)", flush=True)
        return None, out
    except BaseException:
        p.terminate()
        with contextlib.suppress(Exception):
            p.communicate(timeout=90)
        raise
    print(out, end="", flush=True)
    print(f"  ({script}: exit {p.returncode} in {time.monotonic() - t0:.0f} s)", flush=True)
    return p.returncode, out


def records(path):
    try:
        with open(path) as f:
            return [json.loads(ln) for ln in f if ln.strip()]
    except OSError:
        return []


def main():
    bl.install_signal_handlers()
    if os.geteuid() != 0:
        bl.skip("the benchmarks need root (they create cgroups)")
    if not bl.ct.find_cgroup2_mount():
        bl.skip("no cgroup2 mount")
    problems = []
    tmp = tempfile.mkdtemp(prefix="cstatd-bench-smoke-")
    try:
        # 1. Fleet.
        js = os.path.join(tmp, "fleet.jsonl")
        args = ["--n", str(N), "--runs", "1", "--duration", str(SECONDS), "--warmup", "2",
                "--json", js]
        if shutil.which("wrk"):
            args += ["--wrk-duration", "3"]
        else:
            print("note: wrk is not installed; fleet runs without the latency part", flush=True)
            args += ["--no-wrk"]
        rc, _ = run("fleet.py", args, timeout=150)
        recs = records(js)
        if rc != 0 or len(recs) != 1:
            problems.append(f"fleet.py: exit {rc}, {len(recs)} record(s)")
        else:
            r = recs[0]
            if r["tracked_fleet"] != N:
                problems.append(f"fleet: cstatd tracked {r['tracked_fleet']} of {N} cgroups")
            if not (r["floor"]["cgroups"] >= N and r["floor"]["cpu_s"] > 0
                    and r["floor"]["read_errors"] == 0):
                problems.append(f"fleet: the floor did not read the fleet: {r['floor']}")
            if not (r["samples"] > 0 and r["plain_bytes"] > 0 and r["gzip_bytes"]):
                problems.append("fleet: no body/samples/gzip figures")
            if r["sweeps"] <= 0 or r["ratio_sweep_thread"] is None:
                problems.append("fleet: no sweep/floor ratio")
            if "wrk_plain" in r and not r["wrk_plain"]["requests"]:
                problems.append("fleet: wrk made no requests")

        # 2. Churn.
        js = os.path.join(tmp, "churn.jsonl")
        rc, _ = run("churn.py", ["--base", str(N), "--duration", str(SECONDS), "--warmup", "2",
                                 "--runs", "1", "--json", js], timeout=150)
        recs = records(js)
        if rc != 0 or len(recs) != 1:
            problems.append(f"churn.py: exit {rc}, {len(recs)} record(s)")
        else:
            r = recs[0]
            if r["churn"]["created"] < 0.8 * 20 * SECONDS:
                problems.append(f"churn: only {r['churn']['created']} cgroups made")
            if not r["file_fds_returned"]:
                problems.append(f"churn: file fds {r['before']['fd_kinds']} -> "
                                f"{r['after']['fd_kinds']} (not back to baseline)")
            if r["after"]["stale_lines"]:
                problems.append(f"churn: {r['after']['stale_lines']} stale series: "
                                f"{r['after']['stale_example']}")

        # 3. Docker.
        js = os.path.join(tmp, "docker.jsonl")
        rc, out = run("docker_bench.py", ["--n", str(N), "--runs", "1", "--duration", str(SECONDS),
                                          "--warmup", "8", "--phases", "idle,never,always,churn",
                                          "--churn-duration", str(SECONDS),
                                          "--churn-lifetime", "3", "--json", js], timeout=480)
        recs = records(js)
        if rc == bl.SKIP_CODE:
            print("note: Docker part skipped: " + (out.strip().splitlines() or ["?"])[-1],
                  flush=True)
        elif rc != 0 or len(recs) != 4:
            problems.append(f"docker_bench.py: exit {rc}, {len(recs)} record(s) (want 4)")
        else:
            for r in recs:
                if r["mode"] in ("never", "always") and r.get("named", 0) < N:
                    problems.append(f"docker {r['mode']}: only {r.get('named')} of {N} "
                                    "containers named")
                if r["mode"] == "churn" and (r["stale_lines"] or not r["file_fds_returned"]):
                    problems.append(f"docker churn: stale {r['stale_lines']}, fds "
                                    f"{r['before']['fd_kinds']} -> {r['after']['fd_kinds']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if problems:
        print("\nFAIL: benchmark smoke:", flush=True)
        for p in problems:
            print("  - " + p, flush=True)
        return 1
    print("\nPASS: benchmark smoke (figures above; no timed assertions)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
