#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cstatd's restart counting and its survival of a dockerd crash, against a
real dockerd (lib/dockerd.py, cgroup v2 mode: the cheaper one).

A background thread scrapes /metrics every 0.5 s for the whole test. Checks:
  - `flap` (--restart=always, `sh -c 'sleep 1; exit 3'`):
    cstatd_container_restarts_total{name="flap"} reaches >= 3 within 20 s of
    docker run; cstatd_container_last_exit_code{name="flap"} is 3 (and never
    anything else once it has been 3)
  - `docker restart r1` increments restarts_total{name="r1"} by exactly 1
  - `docker rm -f r1` + `docker run --name r1` again: the counter continues
    (never lower than before; +1 for the re-creation, docs/metrics.md rule 2)
  - dockerd SIGKILLed (pid from its pidfile), down >= 3 s, started again:
    every scrape answers 200 the whole time, cstatd_docker_up goes 1 -> 0 -> 1,
    the containers' names come back
  - over the whole test, no counter series goes down: daemon counters and
    restart/OOM counters never; a container's cgroup counters only when that
    container restarted (its container_start_time_seconds changed)

Needs root, dockerd/containerd/runc, a static busybox (exit 77 otherwise).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402
import dockerd as dk  # noqa: E402

INTERVAL = 1.0
RESTARTS = "cstatd_container_restarts_total"
EXIT = "cstatd_container_last_exit_code"
OOM = "cstatd_container_oom_kills_total"
SLEEPER = 'trap "exit 0" TERM; while :; do sleep 1; done'
NAMES = ("flap", "r1", "keeper")


def main():
    dk.require_docker("v2")
    mnt = ct.require_cgroup2()
    ct.find_binary()
    t = ct.Test("docker_lifecycle: restarts, re-creation and a dockerd crash")
    saved = {}

    def diagnostics():
        print("  .. cstatd stderr (tail):\n" + saved.get("cstatd", ""), flush=True)
        print("  .. dockerd log (tail):\n" + saved.get("dockerd", ""), flush=True)

    t.on_failure.append(diagnostics)
    t_start = time.monotonic()
    with dk.PrivateDockerd("v2") as d:
        try:
            args = ["--interval", "1s", "--docker-host", d.host_url, "--cgroup-root", mnt,
                    "--log-level", "debug"]
            with ct.Cstatd(args, docker=True) as c:
                try:
                    with dk.Scraper(c.port, period=0.5, max_seconds=300) as sc:
                        try:
                            run_phases(t, d, c, sc)
                        finally:
                            sc.stop()
                            whole_test_checks(t, d, c, sc)
                finally:
                    saved["cstatd"] = c.stderr_tail(40)
        finally:
            saved["dockerd"] = d.log_tail(30)
    t.info(f"total time {time.monotonic() - t_start:.1f} s (cleanup included)")
    t.finish()


def val(m, fam, **labels):
    """Value of the series of `fam` matching labels; the largest if several."""
    s = ct.series(m, fam, **labels)
    return s[0][1] if len(s) == 1 else (None if not s else max(v for _, v in s))


def run_phases(t, d, c, sc):
    s, ok = sc.wait_for(lambda m: ct.value(m, "cstatd_docker_up") == 1, 10.0)
    t.check(bool(ok), "cstatd_docker_up is 1 within 10 s of start", fatal=True)
    d.run_container("keeper", "sh", "-c", SLEEPER,
                    opts=["--restart=always", "--stop-timeout", "1"])
    phase_flap(t, d, sc)
    phase_docker_restart(t, d, sc)
    phase_recreate(t, d, sc)
    phase_dockerd_crash(t, d, c, sc)


# -- policy restarts -------------------------------------------------------------

def phase_flap(t, d, sc):
    t.info("phase 1: docker run --restart=always --name flap ... sh -c 'sleep 1; exit 3'")
    n0 = sc.count()
    t0 = time.monotonic()
    d.run_container("flap", "sh", "-c", "sleep 1; exit 3",
                    opts=["--restart=always", "--stop-timeout", "1"])
    s, ok = sc.wait_for(lambda m: (val(m, RESTARTS, name="flap") or 0) >= 3
                        and val(m, EXIT, name="flap") == 3, 20.0)
    dt = time.monotonic() - t0
    rc = d.docker("inspect", "-f", "{{.RestartCount}}", "flap")
    got_r = val(s.metrics, RESTARTS, name="flap") if s else None
    got_e = val(s.metrics, EXIT, name="flap") if s else None
    t.info(f"after {dt:.1f} s: {RESTARTS}{{name=\"flap\"}} = {got_r}, {EXIT} = {got_e}; "
           f"docker RestartCount = {rc}")
    t.check((got_r or 0) >= 3, f"{RESTARTS}{{name=\"flap\"}} up by >= 3 within 20 s of "
            "docker run", expected=">= 3", actual=got_r)
    t.equal(got_e, 3.0, f"{EXIT}{{name=\"flap\"}}")
    # Once the exit code has been 3, every later scrape must say 3: every exit
    # of this container is `exit 3`; a 0 would be "the last exit was 0".
    seen = [val(x.metrics, EXIT, name="flap") for x in sc.scrapes[n0:] if x.metrics]
    first3 = seen.index(3.0) if 3.0 in seen else None
    later = seen[first3:] if first3 is not None else []
    wrong = sorted({v for v in later if v != 3.0}, key=str)
    t.check(first3 is not None and not wrong,
            f"{EXIT}{{name=\"flap\"}} stays 3 in every scrape after its first exit",
            expected="only 3.0", actual=f"values seen after the first 3: {wrong} "
            f"({sum(1 for v in later if v != 3.0)} of {len(later)} scrapes)")


# -- docker restart -----------------------------------------------------------------

def phase_docker_restart(t, d, sc):
    t.info("phase 2: docker run --name r1 (no restart policy), then docker restart r1")
    d.run_container("r1", "sh", "-c", SLEEPER, opts=["--stop-timeout", "1"])
    s, ok = sc.wait_for(lambda m: val(m, RESTARTS, name="r1") is not None
                        and ct.value(m, "cstatd_container_state", name="r1",
                                     state="running") == 1, 10.0)
    t.check(bool(ok), f"{RESTARTS}{{name=\"r1\"}} present and r1 running within 10 s",
            actual=val(s.metrics, RESTARTS, name="r1") if s else None, fatal=True)
    before = val(s.metrics, RESTARTS, name="r1")
    t.info(f"{RESTARTS}{{name=\"r1\"}} = {before} before docker restart")
    t0 = time.monotonic()
    d.docker("restart", "-t", "1", "r1")
    t.info(f"docker restart took {time.monotonic() - t0:.1f} s")
    s, ok = sc.wait_for(lambda m: (val(m, RESTARTS, name="r1") or 0) >= before + 1, 10.0)
    t.check(bool(ok), f"{RESTARTS}{{name=\"r1\"}} increments within 10 s of docker restart",
            expected=before + 1, actual=val(s.metrics, RESTARTS, name="r1") if s else None)
    time.sleep(3 * INTERVAL)
    s = sc.latest()
    t.equal(val(s.metrics, RESTARTS, name="r1"), before + 1,
            f"{RESTARTS}{{name=\"r1\"}} went up by exactly 1 (3 intervals later)")


# -- re-creation under the same name ---------------------------------------------------

def phase_recreate(t, d, sc):
    s = sc.latest()
    old = val(s.metrics, RESTARTS, name="r1")
    old_id = d.container_id("r1")
    t.info(f"phase 3: docker rm -f r1 ({RESTARTS} = {old}), docker run --name r1 again")
    d.docker("rm", "-f", "r1")
    new_id = d.run_container("r1", "sh", "-c", SLEEPER, opts=["--stop-timeout", "1"])

    def new_one(m):
        return (val(m, RESTARTS, name="r1") is not None
                and any(dict(k[1]).get("id", "").endswith(new_id) for k in m
                        if k[0] == "cstatd_container_info"))

    s, ok = sc.wait_for(new_one, 10.0)
    t.check(bool(ok), "the re-created r1 (new id) is known to cstatd within 10 s",
            fatal=True)
    now = val(s.metrics, RESTARTS, name="r1")
    t.info(f"{RESTARTS}{{name=\"r1\"}}: {old} (id {old_id[:12]}) -> {now} (id {new_id[:12]})")
    t.check(now is not None and old is not None and now >= old,
            f"{RESTARTS}{{name=\"r1\"}} continues across re-creation (not below {old})",
            expected=f">= {old}", actual=now)
    t.equal(now, (old or 0) + 1, f"{RESTARTS}{{name=\"r1\"}} counts the re-creation as one "
            "restart (docs/metrics.md, restart rule 2)")


# -- dockerd crash ---------------------------------------------------------------------

CRASH = {"window": None, "restarted_ids": set()}


def started_at(d):
    """{full id: (name, Status, StartedAt)} of every container, from docker inspect."""
    ids = d.docker("ps", "-aq", "--no-trunc").split()
    out = {}
    for cid in ids:
        name, status, started = d.docker("inspect", "-f",
                                         "{{.Name}} {{.State.Status}} {{.State.StartedAt}}",
                                         cid).split()
        out[cid] = (name.lstrip("/"), status, started)
    return out


def phase_dockerd_crash(t, d, c, sc):
    t.info("phase 4: SIGKILL dockerd (pid from its pidfile), keep it down >= 3 s, start it again")
    started_before = started_at(d)
    s = sc.latest()
    names_before = sorted(n for n in NAMES if ct.series(s.metrics, "cstatd_container_state",
                                                        name=n))
    t.info(f"names known before the crash: {names_before}")
    t_kill = time.monotonic()
    d.kill()
    s, ok = sc.wait_for(lambda m: ct.value(m, "cstatd_docker_up") == 0, 15.0)
    t.check(bool(ok), "cstatd_docker_up goes to 0 within 15 s of the dockerd kill",
            expected=0, actual=ct.value(s.metrics, "cstatd_docker_up") if s else None)
    if ok:
        t.info(f"docker_up 0 seen {time.monotonic() - t_kill:.1f} s after the kill")
    # Stay down for three more sweeps (cstatd must keep serving meanwhile).
    time.sleep(3 * INTERVAL)
    t.check(c.alive(), "cstatd is alive while dockerd is down", fatal=True)
    t_restart = time.monotonic()
    d.restart()
    t.info(f"dockerd answered /_ping {time.monotonic() - t_restart:.1f} s after restart "
           f"(down {time.monotonic() - t_kill:.1f} s in all)")
    s, ok = sc.wait_for(lambda m: ct.value(m, "cstatd_docker_up") == 1, 45.0)
    t.check(bool(ok), "cstatd_docker_up back to 1 within 45 s of dockerd's restart",
            expected=1, actual=ct.value(s.metrics, "cstatd_docker_up") if s else None)
    if ok:
        t.info(f"docker_up 1 seen {time.monotonic() - t_restart:.1f} s after the restart")

    def identities(m):
        keeper = ct.series(m, "cstatd_container_info", name="keeper")
        flap = (ct.series(m, "cstatd_container_state", name="flap")
                or ct.series(m, "cstatd_container_info", name="flap"))
        return bool(keeper and flap)

    s, ok = sc.wait_for(identities, 20.0)
    m = s.metrics if s else {}
    t.check(bool(ok), "identities come back after the dockerd restart: "
            "cstatd_container_info{name=\"keeper\"} (running, --restart=always) and a "
            "state series for name=\"flap\"",
            expected="both present",
            actual={"keeper": bool(ct.series(m, "cstatd_container_info", name="keeper")),
                    "flap": bool(ct.series(m, "cstatd_container_state", name="flap"))})
    # Docker's own word on which containers the crash restarted (dockerd stops
    # running containers when it starts without live-restore; --restart=always
    # ones come back): their cgroups were re-created, so their cgroup counters
    # may start again from 0 in this window.
    started_after = started_at(d)
    CRASH["window"] = (t_kill, time.monotonic())
    CRASH["restarted_ids"] = {cid for cid, st in started_before.items()
                              if started_after.get(cid) != st}
    t.info("containers the dockerd restart stopped or restarted (docker inspect StartedAt/"
           "Status changed): " + ", ".join(sorted(started_before[c][0] for c in
                                                  CRASH["restarted_ids"])))
    st = {n: [(lb.get("state"), v) for lb, v in ct.series(m, "cstatd_container_state", name=n)
              if v == 1] for n in NAMES}
    t.info(f"states after the restart: {st}; docker ps: "
           + d.docker("ps", "-a", "--format", "{{.Names}}={{.Status}}").replace("\n", ", "))
    time.sleep(2 * INTERVAL)


# -- over the whole test -------------------------------------------------------------

def whole_test_checks(t, d, c, sc):
    scrapes = list(sc.scrapes)
    if not scrapes:
        t.check(False, "the background scraper got at least one answer")
        return
    t0 = scrapes[0].t
    t.info(f"{len(scrapes)} background scrapes over {scrapes[-1].t - t0:.1f} s; "
           f"slowest answer {max(s.elapsed for s in scrapes):.2f} s")
    bad = [s for s in scrapes if s.status != 200]
    t.check(not bad, "every scrape (every 0.5 s, whole test, dockerd crash included) "
            "answered 200", expected="all 200",
            actual=[(f"t+{s.t - t0:.1f}s", s.status, s.error) for s in bad][:8])

    ups = [ct.value(s.metrics, "cstatd_docker_up") for s in scrapes if s.metrics]
    seq = []
    for v in ups:
        if not seq or seq[-1] != v:
            seq.append(v)
    t.info(f"cstatd_docker_up sequence (deduplicated): {seq}")
    ok = False
    for i in range(len(seq)):
        if seq[i] == 1 and 0.0 in seq[i + 1:]:
            j = seq.index(0.0, i + 1)
            ok = 1.0 in seq[j + 1:]
            break
    t.check(ok, "cstatd_docker_up went 1 -> 0 -> 1 across the dockerd crash",
            expected="1, 0, 1", actual=seq)

    ids = set(d.container_ids)

    def ours(labels):
        lid = labels.get("id", "")
        return labels.get("name") in NAMES or any(lid.endswith(i) for i in ids)

    def by_crash(labels, t_before, t_after):
        win = CRASH["window"]
        lid = labels.get("id", "")
        if (win and t_after >= win[0] and t_before <= win[1] + 5.0
                and any(lid.endswith(c) for c in CRASH["restarted_ids"])):
            return "restarted by the dockerd restart (docker inspect StartedAt changed)"
        return None

    unexplained, explained = dk.counter_decreases(scrapes, keep=ours, explain=by_crash)
    reasons = {}
    for e in explained:
        r = e.rsplit(" [", 1)[-1].rstrip("]")
        reasons[r] = reasons.get(r, 0) + 1
    for e in explained[:6]:
        t.info("counter reset with a container restart (allowed): " + e)
    t.info(f"{len(explained)} allowed resets in all, by reason: {reasons}")
    t.check(not unexplained, "no counter series went down over the whole test "
            "(except a container's cgroup counters when that container restarted)",
            expected="[]", actual=unexplained[:12])

    # The name-keyed counters, whatever their TYPE lines say: never down.
    for fam in (RESTARTS, OOM):
        for n in NAMES:
            vals = [val(s.metrics, fam, name=n) for s in scrapes if s.metrics]
            present = [v for v in vals if v is not None]
            drops = [(a, b) for a, b in zip(present, present[1:]) if b < a]
            t.check(not drops, f"{fam}{{name=\"{n}\"}} never went down in any scrape "
                    f"({len(present)} scrapes, last {present[-1] if present else None})",
                    expected="[]", actual=drops[:5])
    t.check(c.alive(), "cstatd is still running at the end")


if __name__ == "__main__":
    ct.run(main)
