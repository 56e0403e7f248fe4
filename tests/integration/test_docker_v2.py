#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cstatd against a real dockerd running in cgroup v2 mode.

A private dockerd (lib/dockerd.py, mode "v2": a private mount namespace whose
/sys/fs/cgroup is the cgroup2 hierarchy) puts each container in a real v2
cgroup at <cgroup2 mount>/docker/<id>, visible on the host as well. cstatd runs
on the host with --docker-host unix://<private socket> --cgroup-root <the
host's cgroup2 mount, from /proc/self/mountinfo>.

Checks, for a container `busy` (`sh -c 'while :; do :; done'`, --network none):
  - cstatd_docker_up is 1
  - identity: cstatd_container_info{name="busy",image="busybox:local",
    runtime="docker",id="/docker/<id>"} is 1; state running
  - CPU: container_cpu_usage_seconds_total grows at 0.8-1.2 core-s/s over >= 3 s,
    in step with the kernel's cpu.stat of the same cgroup
  - docker pause -> cstatd_container_state{state="paused"} 1 and
    cstatd_container_frozen 1; docker unpause -> running, frozen 0
  - docker rm -f -> every series of the container is gone within two intervals

Needs root, dockerd/containerd/runc, a static busybox (exit 77 otherwise).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402
import dockerd as dk  # noqa: E402

INTERVAL = 1.0
NAME = "busy"
CPU = "container_cpu_usage_seconds_total"


def main():
    dk.require_docker("v2")
    mnt = ct.require_cgroup2()
    ct.find_binary()
    t = ct.Test("docker_v2: cstatd with a cgroup v2 dockerd")
    t.info(f"host cgroup2 mount (from /proc/self/mountinfo): {mnt}")
    saved = {}

    def diagnostics():
        print("  .. cstatd stderr (tail):\n" + saved.get("cstatd", ""), flush=True)
        print("  .. dockerd log (tail):\n" + saved.get("dockerd", ""), flush=True)

    t.on_failure.append(diagnostics)
    t_start = time.monotonic()
    with dk.PrivateDockerd("v2") as d:
        try:
            t.info(f"dockerd ready after {time.monotonic() - t_start:.1f} s")
            t.equal(d.docker("info", "-f", "{{.CgroupVersion}}"), "2",
                    "private dockerd runs in cgroup v2 mode (docker info CgroupVersion)",
                    fatal=True)
            args = ["--interval", "1s", "--docker-host", d.host_url, "--cgroup-root", mnt,
                    "--log-level", "debug"]
            with ct.Cstatd(args, docker=True) as c:
                try:
                    run_checks(t, d, c, mnt)
                finally:
                    saved["cstatd"] = c.stderr_tail(40)
        finally:
            saved["dockerd"] = d.log_tail(30)
    t.info(f"total time {time.monotonic() - t_start:.1f} s (cleanup included)")
    t.finish()


def run_checks(t, d, c, mnt):
    port = c.port
    m, _ = dk.poll_metrics(port, lambda m: ct.value(m, "cstatd_docker_up") == 1, 10.0, 0.2)
    t.equal(ct.value(m, "cstatd_docker_up"), 1.0,
            "cstatd_docker_up is 1 within 10 s of start (dockerd answers)")

    t.info(f"docker run -d --name {NAME} --network none {dk.IMAGE} sh -c 'while :; do :; done'")
    cid = d.run_container(NAME, "sh", "-c", "while :; do :; done")
    cg = d.cgroup_dir(cid)
    t.check(os.path.isfile(os.path.join(cg, "cpu.stat")),
            f"environment: the container's v2 cgroup exists on the host at {cg}", fatal=True)
    id_label = "/" + os.path.relpath(cg, mnt)

    t0 = time.monotonic()
    m, ok = dk.poll_metrics(port, lambda m: ct.series(m, "cstatd_container_info", name=NAME),
                            10.0, 0.1)
    t.check(ok, f"cstatd_container_info{{name=\"{NAME}\"}} appears within 10 s",
            expected="a series", actual="none (names seen: %s)" % sorted(
                {dict(k[1]).get("name") for k in m if k[0] == "cstatd_container_info"}),
            fatal=True)
    t.info(f"identity appeared {time.monotonic() - t0:.1f} s after docker run returned")
    info = ct.series(m, "cstatd_container_info", name=NAME)
    t.equal(len(info), 1, f"exactly one cstatd_container_info series for name=\"{NAME}\"")
    labels, val = info[0]
    t.equal(val, 1.0, "cstatd_container_info value")
    t.equal(labels.get("image"), dk.IMAGE, "cstatd_container_info image label")
    t.equal(labels.get("runtime"), "docker", "cstatd_container_info runtime label")
    t.equal(labels.get("id"), id_label, "cstatd_container_info id label (cgroup path)")
    m, _ = dk.poll_metrics(port, lambda m: ct.value(m, "cstatd_container_state", name=NAME,
                                                   state="running") == 1, 5.0, 0.2)
    t.equal(ct.value(m, "cstatd_container_state", name=NAME, state="running"), 1.0,
            f"cstatd_container_state{{name=\"{NAME}\",state=\"running\"}}")
    cpu_series = ct.series(m, CPU, name=NAME)
    t.check(len(cpu_series) == 1 and cpu_series[0][0].get("image") == dk.IMAGE
            and cpu_series[0][0].get("id") == id_label,
            f"{CPU} carries name=\"{NAME}\", image=\"{dk.IMAGE}\", id=\"{id_label}\"",
            expected="one series with those labels", actual=cpu_series)

    # -- CPU rate over >= 3 s, against the kernel's cpu.stat -----------------
    t.info("CPU: two sweeps >= 3 s apart, kernel cpu.stat sampled at the same moments")

    def get_cpu(mm):
        s = ct.series(mm, CPU, name=NAME)
        return s[0][1] if len(s) == 1 else None

    def kernel():
        u = dk.cgroup_cpu_usage_usec(cg)
        return None if u is None else u / 1e6

    r, tries = dk.measure_busy_rate(port, get_cpu, kernel, window=4.0, interval=INTERVAL)
    t.check(r["error"] is None, "CPU counter advances from sweep to sweep",
            expected="changing values", actual=r["error"], fatal=True)
    t.info(f"{CPU}: {r['v0']:.6f} -> {r['v1']:.6f} over {r['dt']:.2f} s = "
           f"{r['rate']:.3f} core-s/s; kernel cpu.stat: {r['kernel_rate']:.3f} (attempt {tries})")
    t.check(r["dt"] >= 3.0, "measured over >= 3 s", expected=">= 3", actual=r["dt"])
    t.between(r["rate"], 0.8, 1.2, f"busy container's {CPU} rate (core-s/s)")
    if r["kernel_rate"] is not None and not 0.8 <= r["kernel_rate"] <= 1.2:
        t.info("note: the kernel itself measured %.3f core-s/s for the busy loop: "
               "the machine is overloaded (other CPU-heavy work running?)"
               % r["kernel_rate"])
    if r["kernel_rate"] is not None:
        t.check(abs(r["rate"] - r["kernel_rate"]) <= 0.1,
                "cstatd's CPU rate matches the kernel's cpu.stat of the same cgroup (+-0.1)",
                expected=r["kernel_rate"], actual=r["rate"])
    # value is the kernel's usage_usec/1e6, at most about one interval old
    v = get_cpu(ct.get_metrics(port))
    k = kernel()
    t.between(None if v is None or k is None else k - v, -0.001, INTERVAL + 0.6,
              "exported CPU seconds = kernel usage_usec/1e6, at most ~1 interval behind")

    # -- pause / unpause -----------------------------------------------------
    t.info(f"docker pause {NAME}")
    d.docker("pause", NAME)
    with open(os.path.join(cg, "cgroup.events")) as f:
        t.check("frozen 1" in f.read(), "environment: the kernel reports frozen 1 in "
                "cgroup.events after docker pause", fatal=False)
    t0 = time.monotonic()

    def paused(mm):
        return (ct.value(mm, "cstatd_container_state", name=NAME, state="paused") == 1
                and ct.value(mm, "cstatd_container_frozen", name=NAME) == 1)

    m, _ = dk.poll_metrics(port, paused, 5.0, 0.1)
    t.info(f"paused state seen after {time.monotonic() - t0:.1f} s")
    t.equal(ct.value(m, "cstatd_container_state", name=NAME, state="paused"), 1.0,
            f"after docker pause: cstatd_container_state{{name=\"{NAME}\",state=\"paused\"}}")
    t.equal(ct.value(m, "cstatd_container_frozen", name=NAME), 1.0,
            f"after docker pause: cstatd_container_frozen{{name=\"{NAME}\"}}")
    t.check(ct.value(m, "cstatd_container_state", name=NAME, state="running") != 1.0,
            "after docker pause: state=\"running\" is not 1",
            expected="0 or absent",
            actual=ct.value(m, "cstatd_container_state", name=NAME, state="running"))

    t.info(f"docker unpause {NAME}")
    d.docker("unpause", NAME)
    t0 = time.monotonic()

    def running(mm):
        return (ct.value(mm, "cstatd_container_state", name=NAME, state="running") == 1
                and ct.value(mm, "cstatd_container_frozen", name=NAME) == 0)

    m, _ = dk.poll_metrics(port, running, 5.0, 0.1)
    t.info(f"running state seen after {time.monotonic() - t0:.1f} s")
    t.equal(ct.value(m, "cstatd_container_state", name=NAME, state="running"), 1.0,
            f"after docker unpause: cstatd_container_state{{name=\"{NAME}\",state=\"running\"}}")
    t.equal(ct.value(m, "cstatd_container_frozen", name=NAME), 0.0,
            f"after docker unpause: cstatd_container_frozen{{name=\"{NAME}\"}}")
    t.check(ct.value(m, "cstatd_container_state", name=NAME, state="paused") != 1.0,
            "after docker unpause: state=\"paused\" is not 1",
            expected="0 or absent",
            actual=ct.value(m, "cstatd_container_state", name=NAME, state="paused"))

    # -- removal -------------------------------------------------------------
    before = dk.series_for(ct.get_metrics(port), name=NAME, cid=cid)
    t.info(f"{len(before)} series belong to the container before docker rm -f")
    t.info(f"docker rm -f {NAME}")
    d.docker("rm", "-f", NAME)
    t_rm = time.monotonic()
    limit = 2 * INTERVAL
    grace = 0.5  # one scrape's worth of slack on top of two sweeps
    left = None
    gone_after = None
    for _ in range(int(10.0 / 0.1) + 2):
        left = dk.series_for(ct.get_metrics(port), name=NAME, cid=cid)
        if not left:
            gone_after = time.monotonic() - t_rm
            break
        if time.monotonic() - t_rm > 10.0:
            break
        time.sleep(0.1)
    t.info("series gone after " + (f"{gone_after:.2f} s" if gone_after is not None
                                   else "more than 10 s (still there)"))
    t.check(gone_after is not None and gone_after <= limit + grace,
            f"every series of the removed container is gone within two intervals "
            f"({limit:.0f} s + {grace} s grace)",
            expected="no series with name=\"busy\" or the container's id",
            actual=("gone after %.2f s" % gone_after) if gone_after is not None else
            [dk.fmt_series(k) for k in left][:15])

    m = ct.get_metrics(port)
    t.equal(ct.value(m, "cstatd_docker_up"), 1.0, "cstatd_docker_up still 1 at the end")
    t.check(c.alive(), "cstatd is still running")


if __name__ == "__main__":
    ct.run(main)
