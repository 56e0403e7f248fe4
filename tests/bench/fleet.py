#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fleet benchmark: cstatd over N real cgroups, against the floor.

For every N: N real cgroups <cgroup2 mount>/cstatd-bench-<pid>-<rand>/docker/<64 hex>,
a sleeping process in each (own network namespace by default, as a Docker
container has). Then, --runs times, a fresh `cstatd --interval 1s --no-docker`:

  1. warm-up (--warmup s), then the list of cgroups cstatd tracks is taken
     from its /metrics (`id` labels) and handed to the floor (floor.c);
  2. steady window (--duration s): cstatd and the floor run side by side over
     the same cgroups (the floor's sweeps half an interval away from cstatd's),
     while a Prometheus-like client scrapes every 15 s (Prometheus 2.42 headers:
     OpenMetrics + gzip), as in production. Reported: cstatd CPU % of one core
     (utime+stime from /proc/<pid>/stat, and schedstat ns), sweep-thread CPU per
     sweep, the floor's CPU per sweep, their ratio, RSS at both ends;
  3. body sizes (plain text, gzip, what Prometheus gets) and sample count;
  4. wrk -c4 -t2 -d<wrk-duration>s --latency on /metrics, plain and then with
     Prometheus' headers: median/p99 latency, scrapes/s, CPU per scrape (CPU of
     cstatd's HTTP thread / requests);
  5. peak RSS (VmHWM), open fds.

Prints a table per N (medians over runs, with min..max) and, with --json, one
JSON object per run. Needs root, a cgroup2 mount, wrk (for step 4).

    python3 tests/bench/fleet.py --n 100,1000,5000 --runs 3
    python3 tests/bench/fleet.py --n 50 --runs 1 --duration 10 --wrk-duration 3   # smoke
"""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402


def fleet_run(args, fleet, run_no):
    n = len(fleet.members)
    rec = {"bench": "fleet", "n": n, "run": run_no, "netns": fleet.netns,
           "interval": args.interval, "duration": args.duration}
    cargs = ["--interval", args.interval, "--no-docker"] + args.cstatd_arg
    # Isolated (default): cstatd's --cgroup-root is the fleet's own directory
    # on the cgroup2 mount, so cgroups other programs make meanwhile (tests on
    # a shared machine) are neither read by cstatd nor by the floor.
    root = fleet.base if args.isolate else fleet.mount
    if args.isolate:
        cargs += ["--cgroup-root", root]
    rec["isolated"] = args.isolate
    with bl.Daemon(cargs, ready_timeout=120) as d:
        port = d.port
        fleet_rels = {"/" + os.path.relpath(os.path.join(fleet.docker_dir, c), root)
                      for c in fleet.ids()}
        # Wait until every cgroup of the fleet is tracked (bounded).
        deadline = time.monotonic() + 60
        ids = []
        scrape_failures = 0
        while time.monotonic() < deadline:
            text, fails = bl.try_metrics_text(port, attempts=3)
            scrape_failures += fails
            ids = bl.tracked_ids(text) if text else ids
            if fleet_rels <= set(ids):
                break
            time.sleep(0.5)
        rec["tracked"] = len(ids)
        rec["tracked_fleet"] = len(fleet_rels & set(ids))
        rec["tracked_other"] = len(set(ids) - fleet_rels)
        # Prometheus-like scrapes from the start of the warm-up, so that the
        # variants it asks for (OpenMetrics + gzip) are rendered before the
        # window opens and memory is in its steady state.
        prom = bl.PromScraper(port, period=15.0).__enter__()
        time.sleep(args.warmup)
        sweep_tid = bl.find_sweep_thread(d.pid)
        text, fails = bl.try_metrics_text(port)
        scrape_failures += fails
        if text is None:
            raise RuntimeError("cstatd never answered /metrics")
        ids = bl.tracked_ids(text)

        # Steady window, floor alongside, half an interval out of phase.
        interval_s = bl_interval_seconds(args.interval)
        edge = bl.wait_sweep_edge(d.pid, sweep_tid, timeout=3 * interval_s)
        if edge is not None:
            time.sleep(max(0.0, edge + interval_s / 2 - time.monotonic()))
        # --netdev always: the floor applies cstatd's own rule (net/dev of the
        # first pid when its netns differs from pid 1's, or when pid 1's netns
        # cannot be read), so both read the same files whatever the layout.
        floor = bl.Floor(root, ids, args.duration, interval_ms=int(interval_s * 1000),
                         netdev=True)
        text0, fails = bl.try_metrics_text(port, attempts=3)
        scrape_failures += fails
        floor.start()
        try:
            a = d.stat()
            rss_track = []
            t_end = a.t + args.duration
            while time.monotonic() < t_end:
                time.sleep(min(5.0, max(0.0, t_end - time.monotonic())))
                rss_track.append(d.stat().rss_kb)
            b = d.stat()
            fl = floor.wait(timeout=args.duration + 60)
        finally:
            floor.kill()
            prom.__exit__(None, None, None)
        rec["rss_kb_track"] = rss_track
        rec["prom_scrapes_ok"], rec["prom_scrapes_failed"] = prom.count, prom.errors
        text1, fails = bl.try_metrics_text(port, attempts=5)
        scrape_failures += fails
        text0, text1 = text0 or "", text1 or ""
        w = bl.Window(a, b)
        c0 = bl.metric_value(text0, "cstatd_sweep_duration_seconds_count")
        c1 = bl.metric_value(text1, "cstatd_sweep_duration_seconds_count")
        sweeps = (c1 - c0) if c0 is not None and c1 is not None else w.seconds / interval_s
        sweep_cpu = w.task_s.get(sweep_tid, 0.0)
        rec.update({
            "window_s": round(w.seconds, 2),
            "sweeps": sweeps,
            "cpu_pct_ticks": w.pct_ticks(),
            "cpu_pct_sched": w.pct_sched(),
            "utime_s": w.utime_s, "stime_s": w.stime_s,
            "sweep_thread_cpu_per_sweep_us": 1e6 * sweep_cpu / max(sweeps, 1),
            "process_cpu_per_sweep_us": 1e6 * w.cpu_sched_s / max(sweeps, 1),
            "floor": {k: fl[k] for k in ("cgroups", "fds", "sweeps", "cpu_s", "utime_s",
                                         "stime_s", "cpu_per_sweep_us_mean",
                                         "cpu_per_sweep_us_median", "files", "periods", "bytes",
                                         "read_errors")},
            "rss_kb_start": a.rss_kb, "rss_kb_end": b.rss_kb,
            "fds": b.fds, "threads": b.threads,
            "last_sweep_seconds": bl.metric_value(text1, "cstatd_last_sweep_duration_seconds"),
            "containers_metric": bl.metric_value(text1, "cstatd_containers"),
            "collect_errors": sum(float(x) for x in re.findall(
                r'^cstatd_collect_errors_total\{[^}]*\} (\S+)$', text1, re.M)),
            "loadavg": bl.loadavg(),
        })
        fpsw = fl["cpu_per_sweep_us_mean"]
        rec["floor_cpu_per_sweep_us"] = fpsw
        rec["ratio_sweep_thread"] = rec["sweep_thread_cpu_per_sweep_us"] / fpsw if fpsw else None
        rec["ratio_process"] = rec["process_cpu_per_sweep_us"] / fpsw if fpsw else None

        try:
            sizes, text = bl.body_sizes(port)
            rec.update(sizes)
            rec["samples_per_container"] = sizes["samples"] / max(len(ids), 1)
        except Exception as e:  # noqa: BLE001 - cstatd out of fds cannot answer
            scrape_failures += 1
            rec.update({"plain_bytes": None, "gzip_bytes": None, "prom_bytes": None,
                        "samples": None, "body_error": repr(e)})

        if not args.no_wrk:
            for label, headers in (("plain", None), ("prom", bl.PROM_HEADERS)):
                s0 = d.stat()
                r = bl.run_wrk(f"http://127.0.0.1:{port}/metrics", connections=4, threads=2,
                               duration=args.wrk_duration, headers=headers)
                s1 = d.stat()
                ww = bl.Window(s0, s1)
                # The HTTP thread: the busiest thread that is not the sweep thread.
                others = {t: v for t, v in ww.task_s.items() if t != sweep_tid}
                http_tid, http_cpu = max(others.items(), key=lambda kv: kv[1]) if others \
                    else (None, 0.0)
                reqs = r.get("requests") or 0
                base = w.cpu_sched_s / w.seconds * ww.seconds
                rec[f"wrk_{label}"] = {
                    "requests": reqs, "rps": r.get("rps"), "p50_ms": r.get("p50_ms"),
                    "p75_ms": r.get("p75_ms"), "p90_ms": r.get("p90_ms"),
                    "p99_ms": r.get("p99_ms"), "max_ms": r.get("max_ms"),
                    "non2xx": r.get("non2xx"), "socket_errors": r.get("socket_errors"),
                    "http_thread_cpu_per_scrape_us": 1e6 * http_cpu / reqs if reqs else None,
                    "process_extra_cpu_per_scrape_us":
                        1e6 * (ww.cpu_sched_s - base) / reqs if reqs else None,
                    "process_cpu_pct": ww.pct_sched(),
                }
        rec["scrape_failures"] = scrape_failures
        end = d.stat()
        rec["hwm_kb"] = end.hwm_kb
        rec["rss_kb_final"] = end.rss_kb
        rec["fds_final"] = end.fds
    warn = [ln for ln in (d.stderr_saved or "").splitlines()
            if "level=warn" in ln or "level=error" in ln]
    rec["stderr_warnings"] = len(warn)
    rec["stderr_warning_examples"] = warn[:3]
    return rec


def bl_interval_seconds(s):
    s = s.strip()
    if s.endswith("ms"):
        return float(s[:-2]) / 1000
    if s.endswith("s"):
        return float(s[:-1])
    if s.endswith("m"):
        return float(s[:-1]) * 60
    return float(s)


def print_run(rec):
    wp = rec.get("wrk_plain", {})
    wg = rec.get("wrk_prom", {})
    print(f"  run {rec['run']}: n={rec['n']} tracked={rec['tracked']} "
          f"(other={rec['tracked_other']}) cpu={rec['cpu_pct_ticks']:.2f}% "
          f"(sched {rec['cpu_pct_sched']:.2f}%) sweep={rec['sweep_thread_cpu_per_sweep_us']:.0f}us "
          f"floor={rec['floor_cpu_per_sweep_us']:.0f}us ratio={bl.f1(rec['ratio_sweep_thread'], nd=2)} "
          f"(proc {bl.f1(rec['ratio_process'], nd=2)}) rss={rec['rss_kb_start']}->{rec['rss_kb_end']}kB "
          f"hwm={rec['hwm_kb']}kB body={rec.get('plain_bytes')}/{rec.get('gzip_bytes')}B "
          f"samples={rec.get('samples')} scrape failures={rec.get('scrape_failures')} "
          f"wrk plain p50={bl.f1(wp.get('p50_ms'), nd=2)} p99={bl.f1(wp.get('p99_ms'), nd=2)} "
          f"rps={bl.f1(wp.get('rps'))} cpu/scrape={bl.f1(wp.get('http_thread_cpu_per_scrape_us'))}us "
          f"| prom p50={bl.f1(wg.get('p50_ms'), nd=2)} p99={bl.f1(wg.get('p99_ms'), nd=2)} "
          f"rps={bl.f1(wg.get('rps'))} cpu/scrape={bl.f1(wg.get('http_thread_cpu_per_scrape_us'))}us "
          f"load={rec['loadavg']:.2f}", flush=True)
    if rec.get("collect_errors") or rec.get("stderr_warnings"):
        print(f"    collect errors {rec.get('collect_errors')}, {rec.get('stderr_warnings')} "
              f"warning/error log lines, e.g.:", flush=True)
        for ln in rec.get("stderr_warning_examples", []):
            print("      " + ln[:300], flush=True)
    for k in ("wrk_plain", "wrk_prom"):
        w = rec.get(k) or {}
        if w.get("non2xx") or w.get("socket_errors"):
            print(f"    {k}: non-2xx {w.get('non2xx')}, socket errors {w.get('socket_errors')}",
                  flush=True)


def summarize(recs):
    """Medians (and min..max) over runs of the figures that matter."""
    def col(get):
        vals = []
        for r in recs:
            try:
                vals.append(get(r))
            except (KeyError, TypeError):
                vals.append(None)
        return bl.median(vals), bl.spread(vals)

    rows = [
        ("CPU % of one core (utime+stime)", lambda r: r["cpu_pct_ticks"], 2),
        ("CPU % of one core (schedstat)", lambda r: r["cpu_pct_sched"], 2),
        ("sweep thread CPU per sweep (us)", lambda r: r["sweep_thread_cpu_per_sweep_us"], 0),
        ("process CPU per sweep (us)", lambda r: r["process_cpu_per_sweep_us"], 0),
        ("floor CPU per sweep (us)", lambda r: r["floor_cpu_per_sweep_us"], 0),
        ("sweep / floor", lambda r: r["ratio_sweep_thread"], 2),
        ("process / floor", lambda r: r["ratio_process"], 2),
        ("RSS start of window (kB)", lambda r: r["rss_kb_start"], 0),
        ("RSS end of window (kB)", lambda r: r["rss_kb_end"], 0),
        ("peak RSS VmHWM (kB)", lambda r: r["hwm_kb"], 0),
        ("open fds", lambda r: r["fds"], 0),
        ("body plain (bytes)", lambda r: r["plain_bytes"], 0),
        ("body gzip (bytes)", lambda r: r["gzip_bytes"], 0),
        ("body as Prometheus gets it (bytes)", lambda r: r["prom_bytes"], 0),
        ("samples", lambda r: r["samples"], 0),
        ("wrk plain p50 (ms)", lambda r: r["wrk_plain"]["p50_ms"], 2),
        ("wrk plain p99 (ms)", lambda r: r["wrk_plain"]["p99_ms"], 2),
        ("wrk plain scrapes/s", lambda r: r["wrk_plain"]["rps"], 0),
        ("wrk plain CPU per scrape (us)", lambda r: r["wrk_plain"]["http_thread_cpu_per_scrape_us"], 0),
        ("wrk prom p50 (ms)", lambda r: r["wrk_prom"]["p50_ms"], 2),
        ("wrk prom p99 (ms)", lambda r: r["wrk_prom"]["p99_ms"], 2),
        ("wrk prom scrapes/s", lambda r: r["wrk_prom"]["rps"], 0),
        ("wrk prom CPU per scrape (us)", lambda r: r["wrk_prom"]["http_thread_cpu_per_scrape_us"], 0),
    ]
    out = {}
    print(f"  {'figure':44s} {'median':>12s}   min..max", flush=True)
    for name, get, nd in rows:
        med, (lo, hi) = col(get)
        out[name] = med
        if med is None:
            continue
        print(f"  {name:44s} {med:12.{nd}f}   {lo:.{nd}f}..{hi:.{nd}f}", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", default="100,1000,5000", help="comma-separated fleet sizes")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--wrk-duration", type=int, default=20)
    ap.add_argument("--no-wrk", action="store_true")
    ap.add_argument("--interval", default="1s")
    ap.add_argument("--netns", choices=("own", "host"), default="own")
    ap.add_argument("--no-isolate", dest="isolate", action="store_false",
                    help="watch the whole cgroup2 mount, not only the fleet's directory "
                         "(other cgroups on the host are then read and counted too)")
    ap.add_argument("--cstatd-arg", action="append", default=[],
                    help="extra cstatd argument (repeatable)")
    ap.add_argument("--json", help="append one JSON object per run to this file")
    args = ap.parse_args()

    bl.install_signal_handlers()
    if os.geteuid() != 0:
        bl.skip("needs root (creates cgroups)")
    if not bl.ct.find_cgroup2_mount():
        bl.skip("no cgroup2 mount")
    if not args.no_wrk and not bl.shutil.which("wrk"):
        bl.skip("wrk is not installed (apt-get install wrk)")
    sizes = [int(x) for x in args.n.split(",") if x]
    # ~9 fds per container (dir + 6 files + net/dev + slack) for cstatd and
    # the floor alike: raise the limit the children inherit.
    nofile = bl.raise_nofile(max(65536, 12 * max(sizes) + 1024))
    info = bl.machine_info()
    info["nofile"] = nofile
    print(f"fleet benchmark: {info}", flush=True)
    print(f"cstatd: {bl.find_cstatd()}  floor: {bl.find_floor(bl.find_cstatd())}", flush=True)
    summary = {}
    for n in sizes:
        recs = []
        with bl.Fleet(n, netns=args.netns) as fleet:
            for run in range(1, args.runs + 1):
                rec = fleet_run(args, fleet, run)
                rec["machine"] = info
                recs.append(rec)
                print_run(rec)
                bl.write_result(args.json, rec)
        print(f"== fleet N={n} netns={args.netns}: medians of {len(recs)} run(s)", flush=True)
        summary[n] = summarize(recs)
    if len(sizes) > 1:
        print("== scaling (per container, medians)", flush=True)
        for n in sizes:
            s = summary[n]
            print(f"  N={n:5d}: sweep {s['sweep thread CPU per sweep (us)'] / n:.2f} us/container, "
                  f"floor {s['floor CPU per sweep (us)'] / n:.2f} us/container, "
                  f"RSS {s['RSS end of window (kB)']:.0f} kB", flush=True)
        lo, hi = sizes[0], sizes[-1]
        slope = (summary[hi]["RSS end of window (kB)"] - summary[lo]["RSS end of window (kB)"]) \
            * 1024 / (hi - lo)
        print(f"  memory per tracked container (RSS slope {lo}->{hi}): {slope:.0f} bytes",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
