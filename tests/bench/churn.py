#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Churn benchmark: cgroups created and destroyed while cstatd runs.

A base fleet of --base real cgroups (sleeper each, own network namespace) stays
up; on top, --rate cgroups per second are created (mkdir, a sleeper moved in)
and each is destroyed (sleeper killed, rmdir) --lifetime seconds later, for
--duration seconds. cstatd runs with --interval 1s --no-docker throughout and a
Prometheus-like client scrapes it every 15 s.

Reported per run: cstatd CPU % in a steady window before the churn and during
it; RSS, VmHWM and open fds before, during (every 5 s) and after; whether the
fd count returned to its baseline once the churned cgroups were gone; whether
any churned cgroup still has a series on /metrics (stale series); the number
of containers tracked before/after. One container per second on a private
dockerd is in docker_bench.py (phase `churn`).

    python3 tests/bench/churn.py --runs 3
    python3 tests/bench/churn.py --base 50 --duration 10 --runs 1      # smoke
"""

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402


def root_of(args, fleet):
    """cstatd's --cgroup-root: the fleet's own directory unless --no-isolate
    (then the whole mount, and other programs' cgroups are read too)."""
    return fleet.base if args.isolate else fleet.mount


def id_of(args, fleet, cid):
    """The `id` label cstatd gives the fleet's cgroup cid."""
    return "/" + os.path.relpath(os.path.join(fleet.docker_dir, cid), root_of(args, fleet))


def settle(args, d, fleet, base_ids, timeout=20.0):
    """Wait until cstatd tracks exactly the base fleet again (bounded)."""
    deadline = time.monotonic() + timeout
    want = {id_of(args, fleet, c) for c in base_ids}
    prefix = id_of(args, fleet, "")
    ids = set()
    while time.monotonic() < deadline:
        ids = set(bl.tracked_ids(bl.metrics_text(d.port)))
        fleet_ids = {i for i in ids if i.startswith(prefix)}
        if fleet_ids == want:
            return True, ids
        time.sleep(0.5)
    return False, ids


def churn_run(args, fleet, run_no):
    rec = {"bench": "churn", "run": run_no, "base": len(fleet.members), "rate": args.rate,
           "lifetime": args.lifetime, "duration": args.duration, "netns": fleet.netns}
    base_ids = set(fleet.ids())
    cargs = ["--interval", "1s", "--no-docker", "--cgroup-root", root_of(args, fleet)] \
        + args.cstatd_arg
    rec["isolated"] = args.isolate
    with bl.Daemon(cargs, ready_timeout=60) as d, bl.PromScraper(d.port, period=15.0):
        ok, _ = settle(args, d, fleet, base_ids)
        time.sleep(args.warmup)
        # Steady window before the churn, same length as the churn window
        # (bounded to 30 s): the CPU to compare against.
        steady = min(args.duration, 30.0)
        a = d.stat()
        time.sleep(steady)
        b = d.stat()
        w0 = bl.Window(a, b)
        text = bl.metrics_text(d.port)
        rec["before"] = {"cpu_pct": w0.pct_ticks(), "cpu_pct_sched": w0.pct_sched(),
                         "rss_kb": b.rss_kb, "hwm_kb": b.hwm_kb, "fds": b.fds,
                         "fd_kinds": bl.fd_kinds(d.pid, fleet.mount),
                         "tracked": len(bl.tracked_ids(text))}

        # Churn: one create every 1/rate s; destroy what was created `lifetime` ago.
        alive = collections.deque()
        churned = []
        samples = []
        period = 1.0 / args.rate
        n_ticks = int(args.duration * args.rate)
        t0 = time.monotonic()
        c0 = d.stat()
        next_sample = t0 + 5.0
        created = destroyed = 0
        lag_max = 0.0
        for i in range(n_ticks):
            target = t0 + i * period
            now = time.monotonic()
            if target > now:
                time.sleep(target - now)
            else:
                lag_max = max(lag_max, now - target)
            cid = fleet.add()
            churned.append(cid)
            alive.append((time.monotonic(), cid))
            created += 1
            while alive and time.monotonic() - alive[0][0] >= args.lifetime:
                fleet.remove(alive.popleft()[1])
                destroyed += 1
            if time.monotonic() >= next_sample:
                s = d.stat()
                samples.append({"t": round(s.t - t0, 1), "rss_kb": s.rss_kb, "fds": s.fds})
                next_sample += 5.0
        c1 = d.stat()
        churn_elapsed = time.monotonic() - t0
        while alive:
            fleet.remove(alive.popleft()[1])
            destroyed += 1
        wc = bl.Window(c0, c1)
        rec["churn"] = {"created": created, "destroyed": destroyed,
                        "seconds": round(churn_elapsed, 1),
                        "created_per_s": created / churn_elapsed,
                        "max_lag_s": round(lag_max, 3),
                        "cpu_pct": wc.pct_ticks(), "cpu_pct_sched": wc.pct_sched(),
                        "samples": samples}

        # After: every churned cgroup is gone; wait for cstatd to notice.
        settled, ids = settle(args, d, fleet, base_ids)
        time.sleep(3.0)  # a few more sweeps: fds of removed records closed
        e = d.stat()
        text = bl.metrics_text(d.port)
        churned_rels = {id_of(args, fleet, c) for c in churned}
        stale_lines = [ln for ln in text.splitlines()
                       if not ln.startswith("#") and any(c[:12] in ln for c in churned)]
        rec["after"] = {"rss_kb": e.rss_kb, "hwm_kb": e.hwm_kb, "fds": e.fds,
                        "fd_kinds": bl.fd_kinds(d.pid, fleet.mount),
                        "tracked": len(bl.tracked_ids(text)), "settled": settled,
                        "stale_ids": len(churned_rels & set(bl.tracked_ids(text))),
                        "stale_lines": len(stale_lines),
                        "stale_example": stale_lines[:2]}
        rec["fds_returned"] = e.fds == rec["before"]["fds"]
        rec["file_fds_returned"] = (bl.non_socket(rec["after"]["fd_kinds"])
                                    == bl.non_socket(rec["before"]["fd_kinds"]))
        rec["collect_errors"] = bl.metric_value(text, 'cstatd_collect_errors_total')
    rec["stderr_warnings"] = [ln for ln in (d.stderr_saved or "").splitlines()
                              if "level=warn" in ln or "level=error" in ln][:5]
    return rec


def print_run(r):
    b, c, a = r["before"], r["churn"], r["after"]
    print(f"  run {r['run']}: base={r['base']} churn {c['created']} made/{c['destroyed']} removed "
          f"in {c['seconds']} s ({c['created_per_s']:.1f}/s, max lag {c['max_lag_s']} s) | "
          f"cpu steady {b['cpu_pct']:.2f}% churn {c['cpu_pct']:.2f}% "
          f"(sched {b['cpu_pct_sched']:.2f}% -> {c['cpu_pct_sched']:.2f}%) | "
          f"rss {b['rss_kb']} -> {a['rss_kb']} kB (hwm {a['hwm_kb']}) | "
          f"fds {b['fds']} -> {a['fds']} ({'back to baseline' if r['fds_returned'] else 'NOT baseline: ' + str(b['fd_kinds']) + ' -> ' + str(a['fd_kinds'])}) | "
          f"tracked {b['tracked']} -> {a['tracked']} | stale series {a['stale_lines']}",
          flush=True)
    if c["samples"]:
        print("    during: " + " ".join(f"t={s['t']}s rss={s['rss_kb']} fds={s['fds']}"
                                         for s in c["samples"]), flush=True)
    for w in r["stderr_warnings"]:
        print("    cstatd: " + w, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=int, default=100, help="cgroups that stay up")
    ap.add_argument("--rate", type=float, default=20.0, help="cgroups created (and destroyed) per s")
    ap.add_argument("--lifetime", type=float, default=2.0, help="seconds each churned cgroup lives")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--netns", choices=("own", "host"), default="own")
    ap.add_argument("--no-isolate", dest="isolate", action="store_false",
                    help="watch the whole cgroup2 mount, not only the fleet's directory")
    ap.add_argument("--cstatd-arg", action="append", default=[])
    ap.add_argument("--json")
    args = ap.parse_args()

    bl.install_signal_handlers()
    if os.geteuid() != 0:
        bl.skip("needs root (creates cgroups)")
    if not bl.ct.find_cgroup2_mount():
        bl.skip("no cgroup2 mount")
    info = bl.machine_info()
    print(f"churn benchmark: {info}", flush=True)
    recs = []
    with bl.Fleet(args.base, netns=args.netns) as fleet:
        for run in range(1, args.runs + 1):
            rec = churn_run(args, fleet, run)
            rec["machine"] = info
            recs.append(rec)
            print_run(rec)
            bl.write_result(args.json, rec)
    med = bl.median
    print(f"== churn: base {args.base}, {args.rate:g}/s, lifetime {args.lifetime:g} s, "
          f"{args.duration:g} s: medians of {len(recs)} run(s)", flush=True)
    print(f"  CPU % steady / during churn: {med([r['before']['cpu_pct'] for r in recs]):.2f} / "
          f"{med([r['churn']['cpu_pct'] for r in recs]):.2f} "
          f"(schedstat {med([r['before']['cpu_pct_sched'] for r in recs]):.2f} / "
          f"{med([r['churn']['cpu_pct_sched'] for r in recs]):.2f})", flush=True)
    print(f"  RSS before / after (kB): {med([r['before']['rss_kb'] for r in recs]):.0f} / "
          f"{med([r['after']['rss_kb'] for r in recs]):.0f}; "
          f"fds before / after: {med([r['before']['fds'] for r in recs]):.0f} / "
          f"{med([r['after']['fds'] for r in recs]):.0f}; "
          f"fds back to baseline in {sum(r['fds_returned'] for r in recs)}/{len(recs)} runs; "
          f"stale series after: {max(r['after']['stale_lines'] for r in recs)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
