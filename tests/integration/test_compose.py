#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""deploy/compose.yaml run for real with docker-compose 1.29 (Debian 12's
package) on a private dockerd: cstatd, Prometheus and Alertmanager come up,
Prometheus scrapes cstatd, loads the cstatd rules and delivers an alert to
Alertmanager; `down` removes it all.

1. Images (private dockerd, cgroup v2 mode, host network for the builds):
   debian:bookworm-slim imported from the cached mmdebstrap tarball
   (lib/images.py); one stand-in image for prom/prometheus and
   prom/alertmanager (compose/standin.Dockerfile: the binaries of Debian's
   prometheus and prometheus-alertmanager packages, `docker build --network
   host`), since no registry is reachable; cstatd:latest loaded from the image cache that
   test_image.py fills when the sources match, else built by
   `docker-compose build cstatd` (CSTATD_REVISION = git rev-parse HEAD).
2. The run: dockerd is restarted in a network namespace of its own (made by
   this test with `unshare -n`), so the Compose network, its bridge and the
   127.0.0.1 ports Compose publishes exist only in there: nothing touches
   the host's network, and the test talks to the services through
   `nsenter --net`. Then, from the repository root:
       docker-compose -H unix://<sock> -f deploy/compose.yaml \\
         -f tests/integration/compose/override.yaml up -d cstatd prometheus alertmanager
   compose/override.yaml swaps in the stand-in image (with the official
   images' entrypoint and user) and the private dockerd's socket; everything else is deploy/compose.yaml as users run it
   (the project name from deploy/.env, DOCKER_GID = the socket's group).
   Grafana is left out: its image is not available offline.
3. Checks: the containers run under the project name `cstatd`; cstatd runs
   as 65532:<socket gid>, read-only, without capabilities, in the host PID
   namespace; its /metrics answers on the published port with the git
   revision in cstatd_build_info and cstatd_docker_up 1 (through the socket
   and the group); Prometheus' target for job cstatd is up (`up == 1`, the
   target `cstatd:9338` resolved by Compose's DNS), the rule groups of
   cstatd-alerts.yml are loaded (/api/v1/rules), Alertmanager is
   discovered (/api/v1/alertmanagers) and reached: a container restarted
   three times fires ContainerRestarting, and the alert arrives at
   Alertmanager (/api/v2/alerts). Docker reports cstatd healthy.
4. `docker-compose down -v`: no container, network or volume of the project
   is left.

Takes ~2-3 min on a 2-core VM when test_image.py has cached the cstatd image
(stand-in build ~20-40 s, Prometheus' 15 s scrape and rule intervals ~60 s),
1-3 min more when Compose has to build cstatd.

Needs root, docker.io, docker-compose, busybox-static, mmdebstrap, iproute2,
util-linux (unshare, nsenter) and the Debian mirror; exits 77 naming what is
missing.
"""

import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402
import dockerd as dk  # noqa: E402
import images  # noqa: E402
import nsenter  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
COMPOSE_FILE = os.path.join(ct.REPO_ROOT, "deploy", "compose.yaml")
OVERRIDE = os.path.join(HERE, "compose", "override.yaml")
STANDIN = os.path.join(HERE, "compose", "standin.Dockerfile")
RULES = os.path.join(ct.REPO_ROOT, "deploy", "prometheus", "cstatd-alerts.yml")
PROJECT = "cstatd"  # deploy/.env
SERVICES = ("cstatd", "prometheus", "alertmanager")
FLAPPY = "flappy"
STANDIN_TAG = "cstatd-test/standin:local"  # compose/override.yaml


class NetnsDockerd(dk.PrivateDockerd):
    """A PrivateDockerd that, once `netns` is set, starts again inside a new
    network namespace (loopback only) of its own."""

    netns = False

    def _argv(self):
        argv = super()._argv()
        if not self.netns:
            return argv
        i = argv.index(self.dockerd_bin)
        script = ("ip link set lo up && mount --make-rprivate / && umount -l /sys/fs/cgroup && "
                  "mount -t cgroup2 none /sys/fs/cgroup && exec \"$@\"")
        return ["unshare", "-m", "-n", "sh", "-c", script, "sh"] + argv[i:]


def compose_env(d, gid, revision):
    env = d._cli_env()
    for k in ("COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "COMPOSE_PROFILES", "COMPOSE_PATH_SEPARATOR"):
        env.pop(k, None)
    env.update({"DOCKER_GID": str(gid), "CSTATD_TEST_DOCKER_SOCK": d.sock,
                "CSTATD_REVISION": revision or "unknown", "DOCKER_BUILDKIT": "0",
                "COMPOSE_DOCKER_CLI_BUILD": "0", "COMPOSE_INTERACTIVE_NO_CLI": "1"})
    return env


def compose(d, env, *args, timeout=180):
    argv = [shutil.which("docker-compose"), "-H", d.host_url, "-f", COMPOSE_FILE,
            "-f", OVERRIDE, "--ansi", "never", *args]
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, cwd=ct.REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        rc, out = p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        rc, out = None, (e.stdout or b"").decode("utf-8", "replace") + f"\ntimed out ({timeout} s)"
    return rc, out, time.monotonic() - t0


def timed(t, what, fn):
    t0 = time.monotonic()
    r = fn()
    t.info(f"{what}: {time.monotonic() - t0:.1f} s")
    return r


def rule_group_names():
    names = []
    with open(RULES) as f:
        for line in f:
            s = line.strip()
            if s.startswith("- name:"):
                names.append(s.split(":", 1)[1].strip())
    return names


def main():
    dk.require_docker("v2")
    ct.require_cgroup2()
    for tool, pkg in (("docker-compose", "docker-compose"), ("mmdebstrap", "mmdebstrap"),
                      ("ip", "iproute2"), ("nsenter", "util-linux"), ("unshare", "util-linux")):
        if not shutil.which(tool):
            ct.skip(f"{tool} is not installed (apt-get install -y {pkg})")
    t = ct.Test("compose: deploy/compose.yaml up with docker-compose 1.29: cstatd scraped by "
                "Prometheus, rules loaded, an alert delivered to Alertmanager; down")
    t_start = time.monotonic()
    os.environ["DOCKER_BUILDKIT"] = "0"
    t.info("docker-compose " + subprocess.run(["docker-compose", "version", "--short"],
                                              stdout=subprocess.PIPE, timeout=60)
           .stdout.decode().strip())
    tar = timed(t, "base tarball ready", lambda: images.base_tarball(t.info))
    revision = images.git_revision()
    key = images.cstatd_image_key(revision)
    saved = {}
    t.on_failure.append(lambda: print(saved.get("logs", ""), flush=True))

    with NetnsDockerd("v2") as d:
        gid = os.stat(d.sock).st_gid
        env = compose_env(d, gid, revision)
        rc, out, dt = compose(d, env, "config", "-q", timeout=60)
        t.check(rc == 0, "docker-compose 1.29 accepts deploy/compose.yaml (+ override): "
                "`config -q`", actual=out[-1500:], fatal=True)

        # -- 1. images (host network for apt-get) --------------------------------
        timed(t, f"docker import -> {images.BASE_TAG}", lambda: images.import_base(d, tar))
        argv = ["build", "--network", "host", "-f", STANDIN, "-t", STANDIN_TAG,
                os.path.dirname(STANDIN)]
        rc, o, e = timed(t, "docker build the Prometheus/Alertmanager stand-in",
                         lambda: d.docker_run(*argv, timeout=400))
        if rc != 0:
            print("  .. docker build output (tail):\n" + (o + e)[-3000:], flush=True)
        t.equal(rc, 0, "the Prometheus/Alertmanager stand-in image builds (Debian's packages)",
                fatal=True)
        if not images.load_cstatd_image(d, key, "cstatd:latest", t.info):
            rc, out, dt = compose(d, env, "build", "cstatd", timeout=540)
            t.info(f"docker-compose build cstatd: {dt:.1f} s")
            if rc != 0:
                print("  .. docker-compose build output (tail):\n" + out[-4000:], flush=True)
            t.equal(rc, 0, "`docker-compose build cstatd` builds deploy/Dockerfile", fatal=True)
            try:
                images.save_cstatd_image(d, "cstatd:latest", key, t.info)
            except Exception as e:  # noqa: BLE001 - the cache is an optimisation
                t.info(f"could not cache the image: {e}")
        rc, vout, _ = d.docker_run("run", "--rm", "--network", "none", "cstatd:latest",
                                   "--version", timeout=60)
        t.info(f"cstatd:latest --version: {vout.strip()!r}")
        t.check(f"(revision {revision or 'unknown'})" in vout,
                "the compose-built image carries the git revision (build arg REVISION from "
                "CSTATD_REVISION)", actual=vout)

        # -- 2. dockerd in a network namespace of its own, compose up ------------
        d.stop()
        d.netns = True
        d.start()
        ns = nsenter.Netns(d.pid())
        t.info(f"dockerd restarted in its own network namespace (pid {d.pid()})")
        d.run_container(FLAPPY, "sleep", "3600")
        rc, out, dt = compose(d, env, "up", "-d", *SERVICES, timeout=240)
        t.info(f"docker-compose up -d {' '.join(SERVICES)}: {dt:.1f} s\n" + out[-1500:])
        try:
            t.equal(rc, 0, "`docker-compose up -d` succeeds", fatal=True)
            run_checks(t, d, ns, gid, revision)
        finally:
            saved["logs"] = "  .. docker-compose logs (tail):\n" + \
                compose(d, env, "logs", "--no-color", "--tail", "25", timeout=60)[1][-6000:]
            rc, out, dt = compose(d, env, "down", "-v", "--timeout", "5", timeout=120)
            t.info(f"docker-compose down -v: {dt:.1f} s")
        t.check(rc == 0, "`docker-compose down -v` succeeds", actual=out[-800:])
        left = d.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}")
        t.equal(left, "", "no container of the project is left after down")
        nets = d.docker("network", "ls", "-q", "--filter", f"name={PROJECT}_default")
        t.equal(nets, "", "the project's network is removed")
        vols = d.docker("volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}")
        t.equal(vols, "", "its volumes are removed (down -v)")
    t.info(f"total {time.monotonic() - t_start:.1f} s")
    t.finish()


def run_checks(t, d, ns, gid, revision):
    # -- the containers ---------------------------------------------------------
    ps = {}
    for cid in d.docker("ps", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}",
                        "--no-trunc").split():
        st = d.inspect(cid)
        d.container_ids.add(cid)
        ps[st["Config"]["Labels"].get("com.docker.compose.service")] = st
    t.info("running: " + ", ".join(f"{s}={v['Name'].lstrip('/')}" for s, v in sorted(ps.items())))
    t.equal(sorted(ps), sorted(SERVICES), "cstatd, prometheus and alertmanager run under "
            "project name cstatd (deploy/.env)", fatal=True)
    c = ps["cstatd"]
    t.equal(c["Name"], "/cstatd_cstatd_1", "container name from the project name (1.29 style)")
    hc = c["HostConfig"]
    t.equal(c["Config"]["User"], f"65532:{gid}", "cstatd runs as 65532:<the socket's group>")
    t.check(hc.get("ReadonlyRootfs") is True, "cstatd: read-only root filesystem")
    t.equal(hc.get("CapDrop"), ["ALL"], "cstatd: all capabilities dropped")
    t.equal(hc.get("PidMode"), "host", "cstatd: host PID namespace")
    t.check(any("no-new-privileges" in x for x in hc.get("SecurityOpt") or []),
            "cstatd: no-new-privileges", actual=hc.get("SecurityOpt"))
    binds = hc.get("Binds") or []
    t.check(f"{d.sock}:/var/run/docker.sock:ro" in binds and
            "/sys/fs/cgroup:/sys/fs/cgroup:ro" in binds,
            "cstatd: cgroupfs and the (private) Docker socket mounted read-only", actual=binds)

    # -- cstatd answers on the published port --------------------------------------
    def metrics():
        status, body = ns.get("http://127.0.0.1:9338/metrics")
        if status != 200:
            return None
        try:
            m = ct.parse_metrics(body)
        except ct.ParseError:
            return None
        return m if ct.value(m, "cstatd_docker_up") == 1 and \
            ct.series(m, "cstatd_container_info", name=FLAPPY) else None
    m = ct.poll(metrics, 30.0, 0.5)
    t.check(bool(m), "cstatd's /metrics answers 200 on 127.0.0.1:9338 (published port), "
            "Docker reachable (cstatd_docker_up 1) and the other containers named",
            actual=ns.get("http://127.0.0.1:9338/metrics")[1][:300] if not m else None,
            fatal=True)
    bi = ct.series(m, "cstatd_build_info")
    t.check(len(bi) == 1 and bi[0][0].get("revision") == (revision or "unknown"),
            "cstatd_build_info{revision} is the git revision", actual=bi)
    prom_url = "http://127.0.0.1:9090"

    # -- Prometheus: target up, rules loaded, Alertmanager discovered -------------
    def target_up():
        j = ns.get_json(prom_url + '/api/v1/query?query=up%7Bjob%3D%22cstatd%22%7D')
        r = (j or {}).get("data", {}).get("result") or []
        return r if r and r[0]["value"][1] == "1" else None
    t0 = time.monotonic()
    r = ct.poll(target_up, 60.0, 1.0)
    t.info(f"up{{job=\"cstatd\"}}: {r} after {time.monotonic() - t0:.1f} s")
    targets = ns.get_json(prom_url + "/api/v1/targets") or {}
    act = [x for x in targets.get("data", {}).get("activeTargets", [])
           if x.get("labels", {}).get("job") == "cstatd"]
    t.check(bool(r) and r[0]["metric"].get("instance") == "cstatd:9338",
            "Prometheus (the compose one) scrapes cstatd:9338: up{job=\"cstatd\"} == 1",
            actual=act or targets, fatal=True)

    rules = ns.get_json(prom_url + "/api/v1/rules") or {}
    groups = rules.get("data", {}).get("groups", [])
    names = sorted(g["name"] for g in groups)
    n_rules = sum(len(g.get("rules", [])) for g in groups)
    t.info(f"rule groups {names}, {n_rules} rules")
    t.equal(names, sorted(rule_group_names()), "Prometheus loaded the rule groups of "
            "deploy/prometheus/cstatd-alerts.yml (/api/v1/rules)")
    t.check(n_rules >= 10, "and their alert rules", actual=n_rules)

    ams = ns.get_json(prom_url + "/api/v1/alertmanagers") or {}
    active = [a.get("url") for a in ams.get("data", {}).get("activeAlertmanagers", [])]
    t.info(f"active Alertmanagers: {active}")
    t.check(any("alertmanager:9093" in (u or "") for u in active),
            "Prometheus discovered the compose Alertmanager (/api/v1/alertmanagers)",
            actual=ams)
    ready = ct.poll(lambda: ns.get("http://127.0.0.1:9093/-/ready")[0] == 200, 20.0, 0.5)
    t.check(ready, "Alertmanager is ready on its published port",
            actual=ns.get("http://127.0.0.1:9093/-/ready"))

    # -- an alert all the way: cstatd -> Prometheus rule -> Alertmanager ----------
    def flappy_sample():
        j = ns.get_json(prom_url + "/api/v1/query?query=cstatd_container_restarts_total"
                        f"%7Bname%3D%22{FLAPPY}%22%7D")
        r = (j or {}).get("data", {}).get("result") or []
        return r or None
    t0 = time.monotonic()
    r = ct.poll(flappy_sample, 40.0, 1.0)
    t.check(bool(r), f"Prometheus has cstatd_container_restarts_total{{name=\"{FLAPPY}\"}}",
            fatal=True)
    for _ in range(3):
        d.docker("restart", "-t", "0", FLAPPY, timeout=60)
    t.info(f"{FLAPPY} restarted 3 times ({time.monotonic() - t0:.1f} s after the first sample "
           "wait began)")

    def am_alert():
        status, body = ns.get("http://127.0.0.1:9093/api/v2/alerts")
        if status != 200:
            return None
        try:
            alerts = json.loads(body)
        except ValueError:
            return None
        hit = [a for a in alerts if a.get("labels", {}).get("alertname") == "ContainerRestarting"
               and a.get("labels", {}).get("name") == FLAPPY]
        return hit or None
    t1 = time.monotonic()
    hit = ct.poll(am_alert, 75.0, 2.0)
    t.info(f"Alertmanager alert after {time.monotonic() - t1:.1f} s: "
           + json.dumps(hit[0]["labels"] if hit else None))
    if not hit:
        alerts = ns.get_json(prom_url + "/api/v1/alerts")
        t.info(f"Prometheus /api/v1/alerts: {json.dumps(alerts)[:800]}")
    t.check(bool(hit), "ContainerRestarting fired in Prometheus and reached Alertmanager "
            "(/api/v2/alerts): Alertmanager is reachable from Prometheus")

    # -- Docker's view of cstatd's health (HEALTHCHECK every 15 s) --------------
    def healthy():
        return d.docker("inspect", "-f", "{{.State.Health.Status}}", "cstatd_cstatd_1") \
            == "healthy"
    t.check(ct.poll(healthy, 30.0, 1.0), "Docker reports the compose cstatd healthy",
            actual=d.docker("inspect", "-f", "{{json .State.Health}}", "cstatd_cstatd_1")[-400:])


if __name__ == "__main__":
    ct.run(main)
