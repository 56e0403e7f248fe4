#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Profile cstatd over N real cgroups: where a sweep and a scrape spend CPU.

  1. perf (kernel + user, cpu-clock sampling, DWARF call graphs) of cstatd for
     --seconds s while a Prometheus-like client scrapes every 15 s: the whole
     sweep, syscalls included. `perf report --children` top entries.
  2. valgrind --tool=callgrind --separate-threads=yes: user-space
     instructions per sweep (sweep thread) and per scrape (HTTP thread, under
     wrk -c4 plain and with Prometheus' headers), with call counts to
     normalise. callgrind_annotate --inclusive top entries.

Everything is written under --out (default /tmp/cstatd-profile-<time>); the
summary is printed. Needs root, perf and/or valgrind (whichever is missing is
skipped). The fleet and every process are cleaned up on exit.

    python3 tests/bench/profile.py --n 1000
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402


def sh(argv, out_path=None, timeout=600):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if out_path:
        with open(out_path, "w") as f:
            f.write(p.stdout)
    return p.stdout


def perf_profile(args, out):
    perf = shutil.which("perf")
    if not perf:
        print("perf: not installed, skipped", flush=True)
        return
    data = os.path.join(out, "perf.data")
    with bl.Daemon(["--interval", "1s", "--no-docker"], ready_timeout=120) as d, \
            bl.PromScraper(d.port, period=15.0):
        time.sleep(args.warmup)
        p = subprocess.run([perf, "record", "-F", "999", "-e", "cpu-clock", "-g",
                            "--call-graph", "dwarf,16384", "-p", str(d.pid), "-o", data,
                            "--", "sleep", str(args.seconds)],
                           capture_output=True, text=True, timeout=args.seconds + 120)
        if p.returncode != 0:
            print(f"perf record failed: {p.stderr[-400:]}", flush=True)
            return
        # The scrape path: perf while wrk -c4 hammers /metrics (plain text).
        scrape_data = os.path.join(out, "perf-scrape.data")
        if shutil.which("wrk"):
            rec = subprocess.Popen([perf, "record", "-F", "999", "-e", "cpu-clock", "-g",
                                    "--call-graph", "dwarf,16384", "-p", str(d.pid), "-o",
                                    scrape_data, "--", "sleep", "10"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            bl.run_wrk(f"http://127.0.0.1:{d.port}/metrics", duration=8)
            rec.wait(timeout=120)
    if os.path.exists(os.path.join(out, "perf-scrape.data")):
        rep = sh([perf, "report", "-i", os.path.join(out, "perf-scrape.data"), "--children",
                  "--sort", "sym", "--stdio", "-g", "none", "--percent-limit", "0.5"],
                 os.path.join(out, "perf-scrape-children.txt"))
        print("== perf during wrk -c4 (plain text): share of cstatd's CPU, top entries",
              flush=True)
        lines = [ln for ln in rep.splitlines() if re.match(r"\s+[0-9.]+%\s+[0-9.]+%", ln)]
        for ln in lines[:40]:
            print("  " + ln.rstrip()[:150], flush=True)
    rep = sh([perf, "report", "-i", data, "--children", "--sort", "sym", "--stdio", "-g",
              "none", "--percent-limit", "0.5"], os.path.join(out, "perf-children.txt"))
    sh([perf, "report", "-i", data, "--no-children", "--sort", "dso,sym", "--stdio", "-g",
        "none", "--percent-limit", "0.5"], os.path.join(out, "perf-self.txt"))
    print("== perf: share of cstatd's CPU (children = inclusive), top entries", flush=True)
    lines = [ln for ln in rep.splitlines() if re.match(r"\s+[0-9.]+%\s+[0-9.]+%", ln)]
    for ln in lines[:45]:
        print("  " + ln.rstrip()[:150], flush=True)


def callgrind_profile(args, out):
    vg = shutil.which("valgrind")
    if not vg:
        print("valgrind: not installed, skipped", flush=True)
        return
    prefix = os.path.join(out, "callgrind.out")
    wrapper = [vg, "--tool=callgrind", "--separate-threads=yes",
               f"--callgrind-out-file={prefix}.%p"]
    with bl.Daemon(["--interval", "1s", "--no-docker"], wrapper=wrapper, ready_timeout=300) as d:
        # Prometheus' headers once: OpenMetrics + gzip variants are rendered from now on.
        bl.http_get(d.port, headers=bl.PROM_HEADERS, timeout=60)
        time.sleep(args.seconds)
        if shutil.which("wrk"):
            bl.run_wrk(f"http://127.0.0.1:{d.port}/metrics", duration=10)
            bl.run_wrk(f"http://127.0.0.1:{d.port}/metrics", duration=10,
                       headers=bl.PROM_HEADERS)
    files = sorted(f for f in os.listdir(out) if f.startswith("callgrind.out.") and "-" in f)
    for f in files:
        path = os.path.join(out, f)
        ann = sh(["callgrind_annotate", "--inclusive=yes", path], path + ".txt")
        m = re.search(r"^([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", ann, re.M)
        total = int(m.group(1).replace(",", "")) if m else 0
        calls = call_counts(path)
        thread = ("sweep" if "sweeper_sweep_once" in calls else
                  "http" if any("on_request" in k for k in calls) else "other")
        if thread == "other" or total == 0:
            continue
        unit, n = (("sweep", calls.get("sweeper_sweep_once", 0)) if thread == "sweep" else
                   ("request", sum(v for k, v in calls.items() if k.endswith("on_request"))))
        print(f"== callgrind {f} ({thread} thread): {total:,} instructions, {n} {unit}s, "
              f"{total / max(n, 1):,.0f} per {unit}", flush=True)
        rows = re.findall(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S.*)$", ann, re.M)
        for ir, pct, fn in rows[:30]:
            name = re.sub(r"\s*\[.*\]$", "", fn)
            cnt = calls.get(name.split(":")[-1])
            print(f"  {pct:>6s}%  {int(ir.replace(',', '')) / max(n, 1):>14,.0f}/{unit}  "
                  f"{name[-90:]}" + (f"  (calls/{unit}: {cnt / max(n, 1):.1f})" if cnt else ""),
                  flush=True)


def call_counts(path):
    names, calls, cur = {}, {}, None
    with open(path) as f:
        for ln in f:
            m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", ln)
            if m:
                if m.group(3):
                    names[m.group(2)] = m.group(3).strip()
                if m.group(1) == "cfn":
                    cur = names.get(m.group(2), m.group(2))
                continue
            m = re.match(r"calls=(\d+)", ln)
            if m and cur:
                calls[cur] = calls.get(cur, 0) + int(m.group(1))
    return calls


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--netns", choices=("own", "host"), default="own")
    ap.add_argument("--out")
    ap.add_argument("--skip", default="", help="perf and/or callgrind")
    args = ap.parse_args()
    bl.install_signal_handlers()
    if os.geteuid() != 0:
        bl.skip("needs root")
    out = args.out or f"/tmp/cstatd-profile-{time.strftime('%Y%m%d-%H%M%S')}"
    os.makedirs(out, exist_ok=True)
    print(f"profile: {bl.machine_info()} -> {out}", flush=True)
    with bl.Fleet(args.n, netns=args.netns):
        if "perf" not in args.skip:
            perf_profile(args, out)
        if "callgrind" not in args.skip:
            callgrind_profile(args, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
