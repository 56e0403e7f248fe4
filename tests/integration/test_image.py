#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The container image, built for real and run the way docs/deploy.md says.

1. Base image: no registry is reachable, so debian:bookworm-slim is made
   locally: `mmdebstrap --variant=apt bookworm` from Debian's mirror, cached
   in /var/cache/cstatd-test/ (rebuilt when older than a week or missing; a
   clean machine builds it in ~10-20 s), then `docker import`.
2. `docker build --network host --build-arg REVISION=$(git rev-parse HEAD)
   -f deploy/Dockerfile .` on a private dockerd (lib/dockerd.py, cgroup v2
   mode) with the legacy builder (the build stage runs apt-get against the
   mirror through the host network; the private dockerd has no bridge).
   Image size and file list are reported. The image is saved to the cache
   (lib/images.py) for test_compose.py.
3. The image: non-root USER, EXPOSE 9338, a HEALTHCHECK that runs
   `cstatd --health-check`, no shell (running /bin/sh in it fails); the
   revision: `cstatd --version` in the image prints the git commit, and the
   org.opencontainers.image.revision / .version labels carry it and the
   project version (also cstatd_build_info{revision} in the scrape).
4. A busy container (`sh -c 'while :; do :; done'`) and cstatd from the
   image next to it, run as docs/deploy.md says: --read-only --cap-drop ALL
   --security-opt no-new-privileges --user 65532:<the socket's group>
   --cgroupns host --pid host, /sys/fs/cgroup and the Docker socket mounted
   read-only. One difference: the private dockerd has no bridge, so the
   container uses --network host and listens on 127.0.0.1 only (users map
   -p 9338:9338 instead); the health check interval is shortened to 1 s.
5. Scrapes from the host: the busy container by name and image, its CPU rate
   close to one core; cstatd itself runs with uid 65532, no capabilities,
   no_new_privs and a read-only root filesystem (from /proc/<pid>/status and
   mountinfo), and Docker reports it healthy.

Needs root, docker.io (dockerd, containerd, runc), busybox-static, mmdebstrap
and the Debian mirror; exits 77 saying which is missing otherwise.
"""

import contextlib
import io
import json
import shutil
import os
import subprocess
import sys
import tarfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402
import dockerd as dk  # noqa: E402
import images  # noqa: E402

BASE_TAG = images.BASE_TAG
IMAGE = "cstatd:test"
UID = 65532
NAME = "busy"
CPU = "container_cpu_usage_seconds_total"


def timed(t, what, fn):
    t0 = time.monotonic()
    r = fn()
    dt = time.monotonic() - t0
    t.info(f"{what}: {dt:.1f} s")
    return r, dt


def image_files(d, image):
    """Paths of the image's filesystem (docker create + export), and its
    entries by path."""
    cid = d.docker("create", image)
    try:
        argv = [d.cli, "-H", d.host_url, "export", cid]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=d._cli_env(), timeout=120, check=True)
    finally:
        d.docker("rm", "-f", cid, check=False)
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as tf:
        return {m.name.lstrip("./").rstrip("/"): m for m in tf.getmembers()}


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def root_mount_options(pid):
    """Mount options of the process' root filesystem (mountinfo field 6)."""
    with open(f"/proc/{pid}/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == "/":
                return fields[5].split(",")
    return []


def main():
    dk.require_docker("v2")
    mnt = ct.require_cgroup2()
    if not shutil.which("mmdebstrap"):
        ct.skip("mmdebstrap is not installed (apt-get install -y mmdebstrap); it makes the "
                "debian:bookworm-slim base image, since no image registry is reachable")
    t = ct.Test("image: deploy/Dockerfile built and run read-only, non-root, next to a "
                "busy container")
    t_start = time.monotonic()
    # The legacy builder: docker.io 20.10 has no buildx, and it needs no
    # frontend image from a registry.
    os.environ["DOCKER_BUILDKIT"] = "0"
    saved = {}
    t.on_failure.append(lambda: print("  .. cstatd container log (tail):\n"
                                      + saved.get("log", ""), flush=True))
    tar, _ = timed(t, "base tarball ready", lambda: images.base_tarball(t.info))
    revision = images.git_revision()
    version = images.project_version()
    key = images.cstatd_image_key(revision)
    if revision is None:
        t.info("no git revision here (no git or no .git): the image says 'unknown'")

    with dk.PrivateDockerd("v2") as d:
        timed(t, f"docker import -> {BASE_TAG}",
              lambda: d.docker("import", tar, BASE_TAG, timeout=300))
        build_argv = ["build", "--network", "host",
                      "--build-arg", f"REVISION={revision or 'unknown'}", "-f",
                      os.path.join(ct.REPO_ROOT, "deploy", "Dockerfile"), "-t", IMAGE,
                      ct.REPO_ROOT]
        t.info("docker " + " ".join(build_argv))
        (rc, out, err), build_s = timed(
            t, "docker build", lambda: d.docker_run(*build_argv, timeout=540))
        if rc != 0:
            print("  .. docker build output (tail):\n" + (out + err)[-4000:], flush=True)
        t.equal(rc, 0, "docker build -f deploy/Dockerfile succeeds", fatal=True)
        with contextlib.suppress(Exception):
            images.save_cstatd_image(d, IMAGE, key, t.info)
        check_revision(t, d, revision, version)

        # -- the image ------------------------------------------------------
        size = int(d.docker("image", "inspect", "-f", "{{.Size}}", IMAGE))
        t.info(f"image size: {size / 1e6:.1f} MB ({size} bytes)")
        t.check(size < 60e6, "the runtime image is small (binary + its libraries)",
                expected="< 60 MB", actual=f"{size / 1e6:.1f} MB")
        cfg = json.loads(d.docker("image", "inspect", "-f", "{{json .Config}}", IMAGE))
        t.equal(cfg.get("User"), f"{UID}:{UID}", "image USER is non-root 65532:65532")
        t.check("9338/tcp" in (cfg.get("ExposedPorts") or {}), "image EXPOSEs 9338",
                actual=cfg.get("ExposedPorts"))
        hc = (cfg.get("Healthcheck") or {}).get("Test") or []
        t.check(hc[:1] == ["CMD"] and "--health-check" in hc,
                "HEALTHCHECK runs `cstatd --health-check URL` (exec form, no shell)", actual=hc)
        files = image_files(d, IMAGE)
        # docker create adds these to every container; they are not the image's.
        runtime = {"dev/console", "dockerenv", ".dockerenv", "etc/hostname", "etc/hosts",
                   "etc/resolv.conf"}
        regular = sorted(p for p, m in files.items() if m.isfile() and p not in runtime)
        t.info(f"{len(regular)} regular files in the image: " + ", ".join(regular))
        t.check("usr/bin/cstatd" in files, "the image holds /usr/bin/cstatd")
        shells = [p for p in ("bin/sh", "usr/bin/sh", "bin/bash", "bin/busybox") if p in files]
        t.equal(shells, [], "no shell in the image")
        rc, _, err = d.docker_run("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh",
                                  IMAGE, "-c", "true", timeout=60)
        t.check(rc not in (0, None), "running /bin/sh in the image fails", actual=(rc, err[-200:]))

        # -- run it next to a busy container ------------------------------------
        cid = d.run_container(NAME, "sh", "-c", "while :; do :; done")
        gid = os.stat(d.sock).st_gid
        port = 9338
        with contextlib.suppress(OSError):
            ct.http_request(port, "/", timeout=0.5)
            port = ct.free_port()  # something answers on 9338 already
        args = ["--listen", f"127.0.0.1:{port}", "--interval", "1s"]
        if port == 9338:
            # The command docs/deploy.md gives, as an operator types it.
            run_argv = ["run", "-d", "--name", "cstatd", "--network", "host",
                        "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                        "--user", f"{UID}:{gid}", "--cgroupns", "host", "--pid", "host",
                        "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro",
                        "-v", f"{d.sock}:/var/run/docker.sock:ro",
                        "--health-interval", "1s", "--health-start-period", "10s",
                        IMAGE, *args]
            t.info("docker " + " ".join(run_argv))
            ccid = d.docker(*run_argv)
        else:
            # The image's HEALTHCHECK names the default port, and the CLI's
            # --health-cmd is always shell form, which cannot run in an image
            # without a shell: the same container through the Engine API,
            # with an exec-form health check on the other port.
            t.info(f"127.0.0.1:9338 is in use here; listening on {port}, health check "
                   "set through the Engine API (exec form)")
            ccid = create_on_port(d, port, gid, args)
        try:
            run_checks(t, d, ccid, port, gid, cid, mnt, revision)
        finally:
            saved["log"] = d.docker_run("logs", "--tail", "30", "cstatd", timeout=30)[2][-4000:]
    t.info(f"total {time.monotonic() - t_start:.1f} s (docker build {build_s:.1f} s, "
           f"image {size / 1e6:.1f} MB)")
    t.finish()


def create_on_port(d, port, gid, args):
    """`docker run -d` of the documented command, through the Engine API, with
    the health check pointed at `port` -> container id."""
    body = {
        "Image": IMAGE, "Cmd": args, "User": f"{UID}:{gid}",
        "Healthcheck": {"Test": ["CMD", "/usr/bin/cstatd", "--health-check",
                                 f"http://127.0.0.1:{port}/healthz"],
                        "Interval": 1_000_000_000, "Timeout": 3_000_000_000,
                        "StartPeriod": 10_000_000_000, "Retries": 3},
        "HostConfig": {"NetworkMode": "host", "ReadonlyRootfs": True, "CapDrop": ["ALL"],
                       "SecurityOpt": ["no-new-privileges"], "CgroupnsMode": "host",
                       "PidMode": "host",
                       "Binds": ["/sys/fs/cgroup:/sys/fs/cgroup:ro",
                                 f"{d.sock}:/var/run/docker.sock:ro"]},
    }
    status, out = dk.unix_request(d.sock, "POST", "/containers/create?name=cstatd", body,
                                  timeout=60)
    if status != 201:
        raise RuntimeError(f"container create: HTTP {status}: {out[:300]!r}")
    cid = json.loads(out)["Id"]
    status, out = dk.unix_request(d.sock, "POST", f"/containers/{cid}/start", timeout=60)
    if status not in (204, 304):
        raise RuntimeError(f"container start: HTTP {status}: {out[:300]!r}")
    return cid


def check_revision(t, d, revision, version):
    """The REVISION build argument reaches `cstatd --version` and the labels."""
    want = revision or "unknown"
    rc, out, err = d.docker_run("run", "--rm", "--network", "none", IMAGE, "--version",
                                timeout=60)
    t.info(f"cstatd --version in the image: {out.strip()!r}")
    t.equal(out.strip(), f"cstatd {version} (revision {want})",
            "`cstatd --version` in the image prints the version and the git revision "
            "passed as --build-arg REVISION")
    labels = json.loads(d.docker("image", "inspect", "-f", "{{json .Config.Labels}}", IMAGE))
    t.equal(labels.get("org.opencontainers.image.revision"), want,
            "label org.opencontainers.image.revision is the git revision")
    t.equal(labels.get("org.opencontainers.image.version"), version,
            "label org.opencontainers.image.version is project(VERSION) of CMakeLists.txt")
    if revision is not None:
        t.check(want != "unknown", "the revision is known (not 'unknown')")


def run_checks(t, d, ccid, port, gid, busy_cid, mnt, revision):
    def ready():
        try:
            return ct.http_request(port, "/readyz", timeout=1.0)[0] == 200
        except OSError:
            return False
    t.check(ct.poll(ready, 20.0, 0.2), "cstatd in the container answers /readyz 200 within 20 s",
            fatal=True)

    m, ok = dk.poll_metrics(port, lambda m: ct.series(m, "cstatd_container_info", name=NAME),
                            15.0, 0.2)
    info = ct.series(m, "cstatd_container_info", name=NAME)
    bi = ct.series(m, "cstatd_build_info")
    t.info(f"cstatd_build_info: {bi}")
    t.check(len(bi) == 1 and bi[0][0].get("revision") == (revision or "unknown"),
            "cstatd_build_info{revision} in the scrape is the git revision", actual=bi)
    t.check(ok and len(info) == 1, f"cstatd_container_info{{name=\"{NAME}\"}} from the Docker "
            "socket (mounted read-only)", actual=info, fatal=True)
    t.equal(info[0][0].get("image"), dk.IMAGE, "the busy container's image label")
    t.check(info[0][0].get("id", "").endswith(busy_cid),
            "the busy container's id label is its cgroup path", actual=info[0][0].get("id"))

    def get_cpu(mm):
        s = ct.series(mm, CPU, name=NAME)
        return s[0][1] if len(s) == 1 else None

    cg = d.cgroup_dir(busy_cid)

    def kernel():
        u = dk.cgroup_cpu_usage_usec(cg)
        return None if u is None else u / 1e6

    r = dk.measure_rate(port, get_cpu, window=4.0, interval=1.0, read_kernel=kernel)
    t.check(r["error"] is None, "the busy container's CPU counter advances",
            actual=r["error"], fatal=True)
    t.info(f"CPU rate {r['rate']:.3f} cores over {r['dt']:.2f} s (kernel cpu.stat "
           f"{r['kernel_rate']})")
    # The busy loop gets up to one core; on a loaded 2-core machine less, so
    # the reference is the kernel's own cpu.stat over the same two moments.
    t.between(r["rate"], 0.3, 1.1, "busy container's CPU rate from the containerised cstatd "
              "is a busy loop's (0.3-1.1 cores; cgroupfs mounted read-only)")
    kr = r["kernel_rate"]
    t.check(kr is not None and abs(r["rate"] - kr) <= 0.1 * kr + 0.02,
            "the rate matches the kernel's cpu.stat of the same cgroup within 10 %",
            expected=kr, actual=r["rate"])

    # -- how it runs ---------------------------------------------------------
    st = d.inspect("cstatd")
    hcfg = st["HostConfig"]
    t.check(hcfg.get("ReadonlyRootfs") is True, "docker inspect: ReadonlyRootfs")
    t.equal(hcfg.get("CapDrop"), ["ALL"], "docker inspect: CapDrop ALL")
    pid = st["State"]["Pid"]
    s = proc_status(pid)
    t.info(f"cstatd pid {pid} (host): Uid {s.get('Uid')} Gid {s.get('Gid')} "
           f"Groups {s.get('Groups')!r} CapEff {s.get('CapEff')} NoNewPrivs {s.get('NoNewPrivs')}")
    t.check(all(x == str(UID) for x in s.get("Uid", "").split()),
            f"the process runs as uid {UID} (real, effective, saved, fs)", actual=s.get("Uid"))
    t.check(s.get("Gid", "").split()[:1] == [str(gid)],
            f"its group is the Docker socket's group ({gid})", actual=s.get("Gid"))
    t.equal(s.get("CapEff"), "0000000000000000", "no effective capabilities")
    t.equal(s.get("CapBnd"), "0000000000000000", "empty capability bounding set")
    t.equal(s.get("NoNewPrivs"), "1", "no_new_privs is set")
    opts = root_mount_options(pid)
    t.check("ro" in opts, "its root filesystem is mounted read-only", actual=opts)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        t.info("cmdline: " + f.read().replace(b"\0", b" ").decode())

    def health():
        return d.docker("inspect", "-f", "{{.State.Health.Status}}", "cstatd") == "healthy"
    t.check(ct.poll(health, 20.0, 0.5), "docker reports the container healthy (HEALTHCHECK "
            "runs cstatd --health-check)",
            actual=d.docker("inspect", "-f", "{{json .State.Health}}", "cstatd")[-600:])
    log = d.docker("inspect", "-f", "{{json .State.Health.Log}}", "cstatd")
    t.info("last health check: " + log[-240:])


if __name__ == "__main__":
    ct.run(main)
