#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Markdown tables (medians, min..max) from the JSON records of a benchmark
run, for docs/benchmarks.md.

    python3 tests/bench/report.py /tmp/cstatd-bench-<date>      # the dir run_all.sh wrote
    python3 tests/bench/report.py fleet.jsonl churn.jsonl ...   # or single files
"""

import json
import os
import statistics
import sys


def load(paths):
    recs = []
    for p in paths:
        files = ([os.path.join(p, f) for f in sorted(os.listdir(p)) if f.endswith(".jsonl")]
                 if os.path.isdir(p) else [p])
        for f in files:
            with open(f) as fh:
                for ln in fh:
                    if ln.strip():
                        r = json.loads(ln)
                        r["_file"] = os.path.basename(f)
                        recs.append(r)
    return recs


def get(r, path):
    for k in path.split("."):
        if not isinstance(r, dict) or k not in r or r[k] is None:
            return None
        r = r[k]
    return r


def cell(rs, path, nd=1, scale=1.0):
    vals = [get(r, path) for r in rs]
    vals = [v * scale for v in vals if isinstance(v, (int, float))]
    if not vals:
        return "n/a"
    med = statistics.median(vals)
    if len(vals) == 1 or min(vals) == max(vals):
        return f"{med:,.{nd}f}"
    return f"{med:,.{nd}f} ({min(vals):,.{nd}f}–{max(vals):,.{nd}f})"


FLEET_ROWS = [
    ("runs", None, 0, 1),
    ("cgroups tracked (of the fleet / others)", None, 0, 1),
    ("CPU % of one core, utime+stime", "cpu_pct_ticks", 2, 1),
    ("sweep thread CPU per sweep (ms)", "sweep_thread_cpu_per_sweep_us", 2, 1e-3),
    ("floor CPU per sweep (ms), same run", "floor_cpu_per_sweep_us", 2, 1e-3),
    ("sweep / floor", "ratio_sweep_thread", 2, 1),
    ("RSS at start / end of the 60 s window (MB)", None, 1, 1),
    ("peak RSS, VmHWM (MB)", "hwm_kb", 1, 1 / 1024),
    ("open fds", "fds", 0, 1),
    ("body, text 0.0.4 (bytes)", "plain_bytes", 0, 1),
    ("body, text 0.0.4 gzip (bytes)", "gzip_bytes", 0, 1),
    ("body, as Prometheus 2.42 gets it: OpenMetrics gzip (bytes)", "prom_bytes", 0, 1),
    ("samples", "samples", 0, 1),
    ("wrk -c4 plain: median latency (ms)", "wrk_plain.p50_ms", 2, 1),
    ("wrk -c4 plain: p99 latency (ms)", "wrk_plain.p99_ms", 2, 1),
    ("wrk -c4 plain: scrapes/s", "wrk_plain.rps", 0, 1),
    ("wrk -c4 plain: CPU per scrape (ms)", "wrk_plain.http_thread_cpu_per_scrape_us", 3, 1e-3),
    ("wrk -c4 Prometheus headers: median (ms)", "wrk_prom.p50_ms", 2, 1),
    ("wrk -c4 Prometheus headers: p99 (ms)", "wrk_prom.p99_ms", 2, 1),
    ("wrk -c4 Prometheus headers: scrapes/s", "wrk_prom.rps", 0, 1),
    ("wrk -c4 Prometheus headers: CPU per scrape (ms)", "wrk_prom.http_thread_cpu_per_scrape_us", 3,
     1e-3),
    ("load average (1 min) at the end of the window", "loadavg", 2, 1),
]


def fleet_table(recs, label):
    sizes = sorted({r["n"] for r in recs})
    by = {n: [r for r in recs if r["n"] == n] for n in sizes}
    out = [f"| {label} | " + " | ".join(f"N = {n}" for n in sizes) + " |",
           "|---|" + "---|" * len(sizes)]
    for name, path, nd, scale in FLEET_ROWS:
        cells = []
        for n in sizes:
            rs = by[n]
            if name == "runs":
                cells.append(str(len(rs)))
            elif name.startswith("cgroups tracked"):
                cells.append(f"{statistics.median([r['tracked_fleet'] for r in rs]):.0f} / "
                             f"{statistics.median([r['tracked_other'] for r in rs]):.0f}")
            elif name.startswith("RSS at start"):
                cells.append(f"{statistics.median([r['rss_kb_start'] for r in rs]) / 1024:.1f} / "
                             f"{statistics.median([r['rss_kb_end'] for r in rs]) / 1024:.1f}")
            else:
                cells.append(cell(rs, path, nd, scale))
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def churn_table(recs):
    out = ["| run | made/removed (per s) | CPU % steady → churn | RSS before → after (MB) | "
           "fds before → after | tracked before → after | stale series |",
           "|---|---|---|---|---|---|---|"]
    for r in recs:
        b, c, a = r["before"], r["churn"], r["after"]
        out.append(f"| {r['run']} | {c['created']}/{c['destroyed']} ({c['created_per_s']:.1f}) | "
                   f"{b['cpu_pct']:.2f} → {c['cpu_pct']:.2f} | {b['rss_kb'] / 1024:.1f} → "
                   f"{a['rss_kb'] / 1024:.1f} | {b['fds']} → {a['fds']} | {b['tracked']} → "
                   f"{a['tracked']} | {a['stale_lines']} |")
    return "\n".join(out)


def docker_side(r):
    """dockerd + containerd + shims (older records also counted cstatd, whose
    command line names the private daemon's socket)."""
    if "dockerd_cpu_pct" in r and "shims_cpu_pct" in r:
        return r["dockerd_cpu_pct"] + r["containerd_cpu_pct"] + r["shims_cpu_pct"]
    return r["docker_cpu_pct"]


def docker_table(recs):
    for r in recs:
        if r.get("mode") != "churn":
            r["docker_cpu_pct"] = docker_side(r)
    sizes = sorted({r["n"] for r in recs})
    out = ["| N | phase | cstatd CPU % | cstatd RSS (MB) | cstatd fds | dockerd % | containerd % "
           "| shims % | Docker side total % | added over idle (same run) | start-up Docker CPU (s) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in sizes:
        rs = [r for r in recs if r["n"] == n]
        idle = {r["run"]: r for r in rs if r["mode"] == "idle"}
        for mode in ("idle", "never", "auto", "always"):
            ms = [r for r in rs if r["mode"] == mode]
            if not ms:
                continue
            added = [r["docker_cpu_pct"] - idle[r["run"]]["docker_cpu_pct"] for r in ms
                     if r["run"] in idle] if mode != "idle" else []
            added_d = [r["dockerd_cpu_pct"] - idle[r["run"]]["dockerd_cpu_pct"] for r in ms
                       if r["run"] in idle] if mode != "idle" else []
            add = (f"all {statistics.median(added):.2f}, dockerd {statistics.median(added_d):.2f}"
                   if added else "—")
            out.append(f"| {n} | {mode} | {cell(ms, 'cstatd_cpu_pct', 2)} | "
                       f"{cell(ms, 'cstatd_rss_kb', 1, 1 / 1024)} | {cell(ms, 'cstatd_fds', 0)} | "
                       f"{cell(ms, 'dockerd_cpu_pct', 2)} | {cell(ms, 'containerd_cpu_pct', 2)} | "
                       f"{cell(ms, 'shims_cpu_pct', 2)} | {cell(ms, 'docker_cpu_pct', 2)} | {add} | "
                       f"{cell(ms, 'startup_docker_cpu_s', 2)} |")
        for r in rs:
            if r["mode"] == "churn":
                out.append(f"| {n} | churn ({r['created']} containers in {r['seconds']} s) | "
                           f"{r['cstatd_cpu_pct']:.2f} | {r['before']['rss_kb'] / 1024:.1f} → "
                           f"{r['after']['rss_kb'] / 1024:.1f} | {r['before']['fds']} → "
                           f"{r['after']['fds']} | {r.get('dockerd_cpu_pct', 0):.2f} | | | "
                           f"{r['docker_cpu_pct']:.2f} | stale series {r['stale_lines']} | |")
    return "\n".join(out)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    recs = load(sys.argv[1:])
    fleets = {}
    for r in recs:
        if r.get("bench") == "fleet":
            fleets.setdefault((r["_file"], r.get("netns")), []).append(r)
    for (f, netns), rs in fleets.items():
        print(f"\n### {f} (netns={netns})\n")
        print(fleet_table(rs, "figure (median, min–max)"))
    churn = [r for r in recs if r.get("bench") == "churn"]
    if churn:
        print("\n### churn\n")
        print(churn_table(churn))
    dock = [r for r in recs if r.get("bench") == "docker"]
    if dock:
        print("\n### docker\n")
        print(docker_table(dock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
