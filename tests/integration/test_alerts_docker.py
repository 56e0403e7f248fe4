#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The default alert rules fire with no configuration at all (real dockerd).

cstatd runs with no --config (so the default rule set of docs/alerts.md is in
force) against a private dockerd in cgroup v2 mode (lib/dockerd.py). A
container `crashloop` runs `sh -c 'sleep 1; exit 3'` with --restart=always.

Checks:
  - /alerts/rules lists the nine default rules; ContainerCrashLooping is
    `restarts` increase over 15m >= 3, no `for`, severity critical (as
    docs/alerts.md says)
  - within CRASH_TIMEOUT s of `docker run`, ContainerCrashLooping shows up in
    /alerts for the container (pending or firing; with no `for` it goes
    straight to firing), with cstatd_container_restarts_total{name} >= 3 and
    docker's RestartCount >= 3 at that moment; firing is also on /metrics
    as cstatd_alert_firing{alertname="ContainerCrashLooping",
    severity="critical",name="crashloop"} 1
  - a container that does not restart (`sleep 1000`) never gets it
  - it stays firing for HOLD_S s while the loop goes on (the container is
    briefly exited between restarts; that is not "gone")
  - `docker rm -f` resolves it: gone from /alerts and cstatd_alert_firing
    within 3 intervals + 2 s

The timings (restarts seen, when the alert showed up) are printed.
Needs root, dockerd/containerd/runc, a static busybox (exit 77 otherwise).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402
import dockerd as dk  # noqa: E402

INTERVAL = 1.0
NAME = "crashloop"
STEADY = "steady"
RULE = "ContainerCrashLooping"
# Docker's restart backoff starts at 100 ms and doubles; with `sleep 1` the
# third restart comes ~5 s after the first start. 60 s is plenty.
CRASH_TIMEOUT = 60.0
HOLD_S = 5.0
DEFAULT_ALERTS = {"ContainerCpuNearLimit", "ContainerMemoryNearLimit",
                  "ContainerMemoryPredictedFull", "ContainerCrashLooping", "ContainerOOMKilled",
                  "ContainerCpuThrottled", "ContainerUnhealthy", "ContainerNoMemoryLimit",
                  "ContainerPrivileged"}


def get_json_ready(port, path, timeout=5.0):
    """GET a JSON endpoint, retrying (bounded) while it answers 503."""
    deadline = time.monotonic() + timeout
    status, doc = None, None
    for _ in range(int(timeout / 0.1) + 2):
        status, _, body = ct.http_request(port, path)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if status != 503 or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return status, doc


def main():
    dk.require_docker("v2")
    mnt = ct.require_cgroup2()
    ct.find_binary()
    t = ct.Test("alerts_docker: default rules fire without any configuration")
    saved = {}

    def diagnostics():
        print("  .. cstatd stderr (tail):\n" + saved.get("cstatd", ""), flush=True)
        print("  .. dockerd log (tail):\n" + saved.get("dockerd", ""), flush=True)

    t.on_failure.append(diagnostics)
    t_start = time.monotonic()
    with dk.PrivateDockerd("v2") as d:
        try:
            args = ["--interval", "1s", "--docker-host", d.host_url, "--cgroup-root", mnt]
            with ct.Cstatd(args, docker=True) as c:
                try:
                    run_checks(t, d, c)
                finally:
                    saved["cstatd"] = c.stderr_tail(30)
        finally:
            saved["dockerd"] = d.log_tail(20)
    t.info(f"total time {time.monotonic() - t_start:.1f} s (cleanup included)")
    t.finish()


def run_checks(t, d, c):
    port = c.port
    m, ok = dk.poll_metrics(port, lambda m: ct.value(m, "cstatd_docker_up") == 1, 10.0, 0.2)
    t.check(ok, "cstatd_docker_up is 1 (the private dockerd answers)", fatal=True)

    # The defaults are in force.
    status, rules = get_json_ready(port, "/alerts/rules", 5.0)
    t.equal(status, 200, "GET /alerts/rules answers 200")
    names = {r.get("alert") for r in rules or []}
    t.equal(names, DEFAULT_ALERTS, "with no --config the nine default rules are in force")
    crash = next((r for r in rules or [] if r.get("alert") == RULE), {})
    t.info(f"{RULE}: {json.dumps(crash)}")
    t.equal((crash.get("signal"), crash.get("window"), crash.get("aggregate"), crash.get("op"),
             crash.get("threshold"), crash.get("for"), crash.get("severity")),
            ("restarts", "15m", "increase", ">=", 3, "0s", "critical"),
            f"{RULE} is restarts increase over 15m >= 3, no for, critical (docs/alerts.md)")

    t.info(f"docker run -d --name {STEADY} {dk.IMAGE} sleep 1000")
    d.run_container(STEADY, "sleep", "1000")
    t.info(f"docker run -d --name {NAME} --restart=always {dk.IMAGE} sh -c 'sleep 1; exit 3'")
    t_run = time.monotonic()
    cid = d.run_container(NAME, "sh", "-c", "sleep 1; exit 3", opts=("--restart=always",))
    t.info(f"container id {cid[:12]}")

    found = None
    restarts_seen = []  # (seconds since run, cstatd restarts)
    docker_rc = None
    steady_alerts = []
    last_inspect = 0.0
    deadline = t_run + CRASH_TIMEOUT
    for _ in range(int(CRASH_TIMEOUT / 0.5) + 2):
        now = time.monotonic()
        st, doc = get_json_ready(port, "/alerts", 3.0)
        alerts = (doc or {}).get("alerts", []) if st == 200 else []
        steady_alerts += [a for a in alerts if a.get("rule") == RULE
                          and a.get("container", {}).get("name") == STEADY]
        mine = [a for a in alerts if a.get("rule") == RULE
                and a.get("container", {}).get("name") == NAME]
        try:
            r = ct.value(ct.get_metrics(port), "cstatd_container_restarts_total", name=NAME)
        except (OSError, RuntimeError, ct.ParseError):
            r = None
        if not restarts_seen or restarts_seen[-1][1] != r:
            restarts_seen.append((round(now - t_run, 1), r))
        if now - last_inspect >= 2.0 or mine:
            rc_out = d.docker("inspect", "-f", "{{.RestartCount}}", NAME, check=False)
            docker_rc = int(rc_out) if rc_out.isdigit() else docker_rc
            last_inspect = now
        if mine:
            found = (now - t_run, mine[0], r, docker_rc)
            break
        if now >= deadline:
            break
        time.sleep(0.5)
    t.info("cstatd_container_restarts_total{name=\"crashloop\"} over time (s since run, "
           f"value): {restarts_seen}")
    t.info(f"docker RestartCount at the end: {docker_rc}")
    t.check(found is not None, f"{RULE} shows up in /alerts for {NAME} (pending or firing) "
                               f"within {CRASH_TIMEOUT:.0f} s of docker run", fatal=True)
    dt, a, r, drc = found
    t.info(f"{RULE} seen {dt:.1f} s after docker run, state {a.get('state')}, value "
           f"{a.get('value')}, cstatd restarts {r}, docker RestartCount {drc}")
    t.check(a.get("state") in ("pending", "firing"), "its state is pending or firing",
            actual=a.get("state"))
    t.equal(a.get("severity"), "critical", "severity critical")
    t.check(isinstance(a.get("value"), (int, float)) and a["value"] >= 3,
            "its value (restarts over 15m) is >= 3", actual=a.get("value"))
    t.check(r is not None and r >= 3, "cstatd_container_restarts_total for it is >= 3",
            actual=r)
    t.check(drc is not None and drc >= 3, "docker's RestartCount agrees (>= 3)", actual=drc)
    t.equal(a.get("labels", {}).get("image"), dk.IMAGE, "the alert's image label")
    if a.get("state") == "firing":
        m, ok = dk.poll_metrics(port, lambda m: ct.value(
            m, "cstatd_alert_firing", alertname=RULE, severity="critical", name=NAME) == 1,
            3.0, 0.2)
        t.check(ok, f'cstatd_alert_firing{{alertname="{RULE}",severity="critical",'
                    f'name="{NAME}"}} 1 on /metrics',
                actual=ct.series(m, "cstatd_alert_firing", alertname=RULE))
    t.equal(steady_alerts, [], f"the container that does not restart ({STEADY}) never gets "
                               f"{RULE}")

    # What else the defaults say about these two containers (informational).
    st, doc = get_json_ready(port, "/alerts", 3.0)
    others = sorted({(x.get("rule"), x.get("container", {}).get("name"), x.get("state"))
                     for x in (doc or {}).get("alerts", [])
                     if x.get("container", {}).get("name") in (NAME, STEADY)})
    t.info(f"all alerts for {NAME}/{STEADY} now: {others}")

    # It keeps firing while the loop goes on (the container is exited for a
    # moment between restarts: it does not go away).
    flaps, polls = [], 0
    t0 = time.monotonic()
    for _ in range(int(HOLD_S / 0.25) + 2):
        if time.monotonic() - t0 >= HOLD_S:
            break
        st, doc = get_json_ready(port, "/alerts", 3.0)
        polls += 1
        states = [x.get("state") for x in (doc or {}).get("alerts", [])
                  if x.get("rule") == RULE and x.get("container", {}).get("name") == NAME]
        if states != ["firing"]:
            flaps.append((round(time.monotonic() - t0, 2), st, states))
        time.sleep(0.25)
    t.equal(flaps, [], f"{RULE} stays firing for {HOLD_S:.0f} s while the container keeps "
                       f"restarting ({polls} polls of /alerts)")

    # A removed container resolves its alerts at the next sweep.
    t_rm = time.monotonic()
    d.docker("rm", "-f", NAME)
    gone = ct.poll(lambda: not [x for x in (get_json_ready(port, "/alerts", 3.0)[1] or {})
                                .get("alerts", []) if x.get("container", {}).get("name") == NAME],
                   3 * INTERVAL + 2, 0.2)
    t.check(bool(gone), f"after docker rm -f {NAME} its alerts leave /alerts within "
                        "3 intervals + 2 s")
    t.info(f"gone {time.monotonic() - t_rm:.1f} s after docker rm -f")
    m, ok = dk.poll_metrics(port, lambda m: not ct.series(m, "cstatd_alert_firing", name=NAME),
                            3.0, 0.2)
    t.check(ok, "... and cstatd_alert_firing has no series for it",
            actual=ct.series(m, "cstatd_alert_firing", name=NAME))
    t.check(c.alive(), "cstatd is still running")


if __name__ == "__main__":
    ct.run(main)
