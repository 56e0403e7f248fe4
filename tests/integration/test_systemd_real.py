#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""systemd/cstatd.service run by a real systemd (252, Debian 12) in a container.

test_systemd.py checks the unit offline (systemd-analyze verify/security);
this one starts it for real.

1. Image (private dockerd, cgroup v2 mode): debian:bookworm-slim imported
   from the cached mmdebstrap tarball (lib/images.py), plus systemd, dbus,
   passwd, procps (/bin/kill for ExecReload=) and the shared libraries the built cstatd loads (found with ldd +
   dpkg -S on this Debian 12 host), `docker build --network host`.
2. The container runs /lib/systemd/systemd as PID 1 with what systemd needs
   on cgroup v2: a private cgroup namespace, --cap-add SYS_ADMIN (mounts,
   namespaces for the sandboxing), seccomp unconfined (systemd installs the
   unit's own filter), tmpfs on /run, /run/lock and /tmp, stop signal
   SIGRTMIN+3, and /sys/fs/cgroup remounted read-write before systemd starts
   (Docker mounts it read-only without --privileged). --privileged itself
   fails here: the host's capability bounding set lacks CAP_SYS_RESOURCE,
   and runc cannot grant all capabilities. No network (--network none); the
   test's private dockerd socket is mounted at /run/docker.sock.
3. `cmake --install <build> --prefix /usr` into a DESTDIR, copied in with
   `docker cp`: /usr/bin/cstatd, the unit, the sysusers file, the config.
4. Then, inside: the unit refuses to start without its user (217/USER);
   a `docker` group with the socket's gid, `systemd-sysusers`,
   `systemctl daemon-reload`, `systemctl start cstatd` returns once READY=1
   came (Type=notify; StatusText "serving metrics (first sweep complete)"),
   `is-active` active; the process runs as the cstatd user with the docker
   group, no capabilities, no_new_privs and a seccomp filter; / is
   read-only in its mount namespace (writing /usr, /etc/cstatd, /var, /run
   or /run/lock fails with EROFS, as root and as cstatd's user), /home is
   inaccessible, /tmp private, the cgroupfs read-only; /metrics answers
   inside the container with cstatd_docker_up 1 (the Docker socket through
   SupplementaryGroups=docker); `systemctl reload` re-reads the config in
   the same process (ExecReload=); the installed
   WatchdogSec=30s is in force; with a drop-in WatchdogSec=2s there is no
   watchdog timeout over 5 x WatchdogSec, and a SIGSTOPped cstatd is killed
   by the watchdog and restarted; `systemctl kill -s SIGKILL` -> restarted
   (Restart=on-failure, NRestarts + 1); `systemctl stop` -> Result=success,
   exit status 0; without the docker group the unit fails with 216/GROUP, and
   systemd-sysusers brings it back.

~1-2 min on a 2-core VM (most of it the image build). Needs root,
docker.io, busybox-static, mmdebstrap, cmake, util-linux (nsenter) and the
Debian mirror; exits 77 naming what is missing.
"""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402
import dockerd as dk  # noqa: E402
import images  # noqa: E402
import nsenter  # noqa: E402

IMAGE = "cstatd-test/systemd:local"
NAME = "sd"
UNIT = "cstatd"
# procps: /bin/kill, which the unit's ExecReload= runs (Priority: important, so
# on every regular Debian install; not in a minimal image).
BASE_PACKAGES = ["systemd", "dbus", "passwd", "procps"]
WATCHDOG_TEST_S = 2
STATUS_READY = "serving metrics (first sweep complete)"
SHOW = ("ActiveState", "SubState", "Result", "MainPID", "NRestarts", "StatusText",
        "ExecMainStatus", "ExecMainCode", "WatchdogUSec", "Type")


def build_dir():
    d = os.path.dirname(os.path.abspath(ct.find_binary()))
    if not os.path.isfile(os.path.join(d, "cmake_install.cmake")):
        ct.skip(f"{d} is not a CMake build directory (no cmake_install.cmake): set CSTATD_BIN "
                "to the cstatd of a build tree")
    return d


def runtime_packages(binary):
    """Debian packages that hold the shared libraries `binary` loads."""
    out = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, timeout=30,
                         check=True).stdout.decode()
    pkgs = set()
    for path in re.findall(r"(/\S+\.so[.0-9]*)", out):
        real = os.path.realpath(path)
        for cand in (path, real, "/usr" + path if not path.startswith("/usr") else path):
            p = subprocess.run(["dpkg", "-S", cand], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=30)
            if p.returncode == 0:
                pkgs.add(p.stdout.decode().split(":", 1)[0].split(",")[0].strip())
                break
    pkgs.discard("libc6")
    return sorted(pkgs)


def stage_install(bdir, tmp):
    """cmake --install into DESTDIR=<tmp>/stage with prefix /usr -> tar bytes."""
    stage = os.path.join(tmp, "stage")
    env = dict(os.environ, DESTDIR=stage)
    p = subprocess.run(["cmake", "--install", bdir, "--prefix", "/usr"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("cmake --install failed:\n" + p.stdout.decode()[-2000:])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for top in sorted(os.listdir(stage)):
            tf.add(os.path.join(stage, top), arcname=top)
    return buf.getvalue()


class Box:
    """The systemd container: exec, systemctl, journal."""

    def __init__(self, d, t):
        self.d = d
        self.t = t

    def sh(self, cmd, timeout=60):
        """docker exec sh -c cmd -> (rc, stdout + stderr)."""
        rc, out, err = self.d.docker_run("exec", NAME, "sh", "-c", cmd, timeout=timeout)
        return rc, out + err

    def show(self):
        rc, out = self.sh(f"systemctl show {UNIT} -p " + ",".join(SHOW))
        vals = {}
        for line in out.splitlines():
            k, sep, v = line.partition("=")
            if sep:
                vals[k] = v
        return vals

    def journal(self, since_cursor=None):
        rc, out = self.sh(f"journalctl -u {UNIT} --no-pager -o cat")
        return out

    def host_pid(self, pid_in_ct):
        """The host pid of the container's process `pid_in_ct`."""
        init = self.d.inspect(NAME)["State"]["Pid"]
        ns = os.readlink(f"/proc/{init}/ns/pid")
        for ent in os.listdir("/proc"):
            if not ent.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{ent}/ns/pid") != ns:
                    continue
                with open(f"/proc/{ent}/status") as f:
                    for line in f:
                        if line.startswith("NSpid:"):
                            if int(line.split()[-1]) == pid_in_ct:
                                return int(ent)
                            break
            except (OSError, ValueError):
                continue
        return None


def main():
    dk.require_docker("v2")
    ct.require_cgroup2()
    for tool, pkg in (("mmdebstrap", "mmdebstrap"), ("cmake", "cmake"), ("nsenter", "util-linux"),
                      ("dpkg", "dpkg")):
        if not shutil.which(tool):
            ct.skip(f"{tool} is not installed (apt-get install -y {pkg})")
    bdir = build_dir()
    binary = ct.find_binary()
    t = ct.Test("systemd_real: cstatd.service started, watched, killed and stopped by a real "
                "systemd in a container")
    t_start = time.monotonic()
    os.environ["DOCKER_BUILDKIT"] = "0"
    saved = {}
    t.on_failure.append(lambda: print(saved.get("journal", ""), flush=True))
    tar = images.base_tarball(t.info)
    pkgs = BASE_PACKAGES + runtime_packages(binary)
    t.info("packages: " + " ".join(pkgs))

    with tempfile.TemporaryDirectory(prefix="cstatd-sdreal-") as tmp, \
            dk.PrivateDockerd("v2") as d:
        payload = stage_install(bdir, tmp)
        images.import_base(d, tar)
        ctx = os.path.join(tmp, "ctx")
        os.makedirs(ctx)
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            # One RUN, no other instruction: every instruction copies the
            # whole file system on vfs. Entrypoint and stop signal are given
            # to `docker run`.
            f.write(f"FROM {images.BASE_TAG}\n"
                    "RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                    "--no-install-recommends " + " ".join(pkgs) +
                    " && rm -rf /var/lib/apt/lists/*\n")
        t0 = time.monotonic()
        rc, out, err = d.docker_run("build", "--network", "host", "-t", IMAGE, ctx, timeout=400)
        t.info(f"docker build (systemd + cstatd's libraries): {time.monotonic() - t0:.1f} s")
        if rc != 0:
            print("  .. docker build output (tail):\n" + (out + err)[-3000:], flush=True)
        t.equal(rc, 0, "the systemd image builds", fatal=True)

        gid = os.stat(d.sock).st_gid
        run_argv = ["run", "-d", "--name", NAME, "--network", "none",
                    "--cgroupns", "private", "--cap-add", "SYS_ADMIN",
                    "--security-opt", "seccomp=unconfined",
                    "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
                    "--stop-signal", "SIGRTMIN+3", "--stop-timeout", "20",
                    "-v", f"{d.sock}:/run/docker.sock",
                    IMAGE, "sh", "-c",
                    "mount -o remount,rw /sys/fs/cgroup && exec /lib/systemd/systemd"]
        t.info("docker " + " ".join(run_argv))
        d.docker(*run_argv)
        box = Box(d, t)
        try:
            boot(t, box)
            d.docker("cp", "-", f"{NAME}:/", input=payload, timeout=120)
            run_checks(t, box, gid)
        finally:
            saved["journal"] = "  .. journalctl -u cstatd (tail):\n" + \
                "\n".join(box.journal().splitlines()[-40:])
            t0 = time.monotonic()
            rc, _, err = d.docker_run("stop", NAME, timeout=60)
            t.info(f"docker stop (SIGRTMIN+3 to systemd): rc {rc} in "
                   f"{time.monotonic() - t0:.1f} s")
    t.info(f"total {time.monotonic() - t_start:.1f} s")
    t.finish()


def boot(t, box):
    t0 = time.monotonic()
    # PID 1 is `sh` (remounting the cgroupfs) for a moment, then systemd,
    # whose bus socket comes a little later: until then systemctl fails
    # ("offline", "Failed to connect to bus"). Then --wait until booted.
    states = ("running", "degraded", "maintenance", "stopping")

    def booted():
        rc, out = box.sh("systemctl is-system-running --wait", timeout=90)
        last = out.strip().splitlines()[-1] if out.strip() else ""
        return last if last in states else None
    state = ct.poll(booted, 90.0, 0.5)
    t.info(f"systemd is-system-running: {state!r} after {time.monotonic() - t0:.1f} s")
    if state != "running":
        t.info("container state: " + json.dumps(box.d.inspect(NAME)["State"]))
        t.info("processes:\n" + box.d.docker_run("top", NAME, timeout=30)[1])
        t.info("failed units:\n" + box.sh("systemctl --failed --no-pager")[1])
    t.check(state in ("running", "degraded"), "systemd boots as PID 1 in the container",
            actual=state, fatal=True)
    rc, out = box.sh("systemctl --version | head -1")
    t.info(out.strip())


def wait_show(box, pred, timeout):
    return ct.poll(lambda: (lambda s: s if pred(s) else None)(box.show()), timeout, 0.25)


def run_checks(t, box, gid):
    # -- before systemd-sysusers: no user ---------------------------------------
    rc, out = box.sh("systemctl daemon-reload && systemctl cat cstatd >/dev/null && "
                     "systemd-analyze verify /usr/lib/systemd/system/cstatd.service")
    t.check(rc == 0, "the installed unit loads (daemon-reload, systemd-analyze verify in the "
            "container)", actual=out[-600:], fatal=True)
    rc, out = box.sh(f"systemctl start {UNIT}")
    s = box.show()
    t.info(f"start without the cstatd user: rc {rc}, ExecMainStatus {s.get('ExecMainStatus')}")
    t.check(rc != 0 and s.get("ExecMainStatus") == "217",
            "without its user (no systemd-sysusers yet) the unit fails with 217/USER",
            actual=(rc, s))
    box.sh(f"systemctl stop {UNIT}; systemctl reset-failed {UNIT}")

    # -- the docker group (the socket's gid), systemd-sysusers ----------------------
    rc, out = box.sh(f"getent group {gid} || groupadd -g {gid} docker; "
                     "systemd-sysusers && getent passwd cstatd && getent group docker")
    t.info("systemd-sysusers: " + " | ".join(out.strip().splitlines()))
    m = re.search(r"^cstatd:x:(\d+):(\d+):[^:]*:([^:]*):(\S*)$", out, re.M)
    t.check(rc == 0 and m is not None, "systemd-sysusers creates the cstatd user from "
            "/usr/lib/sysusers.d/cstatd.conf", actual=out, fatal=True)
    uid, ugid = int(m.group(1)), int(m.group(2))
    t.check(uid < 1000 and m.group(4) in ("/usr/sbin/nologin", "/sbin/nologin"),
            "a system user without a login shell", actual=m.group(0))
    t.check(re.search(rf"^docker:x:{gid}:", out, re.M) is not None,
            f"the docker group has the Docker socket's gid ({gid})", actual=out)

    # -- start: Type=notify, READY=1 ------------------------------------------------
    t0 = time.monotonic()
    rc, out = box.sh(f"systemctl start {UNIT}", timeout=90)
    dt = time.monotonic() - t0
    s = box.show()
    t.info(f"systemctl start: rc {rc} in {dt:.2f} s; " +
           " ".join(f"{k}={s.get(k)!r}" for k in SHOW))
    t.equal(rc, 0, "`systemctl start cstatd` succeeds (returns once READY=1 came: Type=notify)",
            fatal=True)
    t.equal(s.get("Type"), "notify", "Type=notify")
    rc, out = box.sh(f"systemctl is-active {UNIT}")
    t.equal(out.strip(), "active", "systemctl is-active -> active")
    t.equal(s.get("StatusText"), STATUS_READY,
            "StatusText is the one sent with READY=1 (first sweep complete)")
    t.equal(s.get("Result"), "success", "Result=success")
    t.equal(s.get("NRestarts"), "0", "NRestarts=0")
    t.equal(s.get("WatchdogUSec"), "30s", "the installed WatchdogSec=30s is in force")
    pid = int(s.get("MainPID") or 0)
    t.check(pid > 0, "MainPID is set", actual=s.get("MainPID"), fatal=True)

    # -- who it runs as, and the sandbox -------------------------------------------
    rc, status = box.sh(f"cat /proc/{pid}/status")
    st = dict((k, v.strip()) for k, _, v in (ln.partition(":") for ln in status.splitlines()))
    t.info(f"MainPID {pid}: Uid {st.get('Uid')} Gid {st.get('Gid')} Groups {st.get('Groups')} "
           f"CapEff {st.get('CapEff')} NoNewPrivs {st.get('NoNewPrivs')} "
           f"Seccomp {st.get('Seccomp')}")
    t.check(st.get("Uid", "").split() == [str(uid)] * 4,
            f"cstatd runs as the cstatd user ({uid}), not root", actual=st.get("Uid"))
    t.check(st.get("Gid", "").split()[:1] == [str(ugid)], "its primary group is cstatd",
            actual=st.get("Gid"))
    t.check(str(gid) in st.get("Groups", "").split(),
            f"SupplementaryGroups=docker: the docker group ({gid}) is among its groups",
            actual=st.get("Groups"))
    t.equal(st.get("CapEff"), "0000000000000000", "no effective capabilities")
    t.equal(st.get("CapBnd"), "0000000000000000", "empty bounding set (CapabilityBoundingSet=)")
    t.equal(st.get("NoNewPrivs"), "1", "NoNewPrivileges=yes")
    t.equal(st.get("Seccomp"), "2", "a seccomp filter is installed (SystemCallFilter=)")

    hpid = box.host_pid(pid)
    t.check(hpid is not None, "cstatd's host pid found (for its mount namespace)", fatal=True)
    mounts = {}
    with open(f"/proc/{hpid}/mountinfo") as f:
        for line in f:
            fl = line.split()
            mounts[ct._unescape_mountinfo(fl[4])] = (fl[3], fl[5].split(","))
    t.check("ro" in mounts.get("/", ("", []))[1], "ProtectSystem=strict: / is mounted read-only "
            "in cstatd's mount namespace", actual=mounts.get("/"))
    t.check("ro" in mounts.get("/sys/fs/cgroup", ("", []))[1],
            "ProtectControlGroups=: the cgroupfs is read-only", actual=mounts.get("/sys/fs/cgroup"))
    t.check("/home" in mounts and "inaccessible" in mounts["/home"][0],
            "ProtectHome=: /home is an inaccessible mount", actual=mounts.get("/home"))
    t.check("/tmp" in mounts and "systemd-private-" in mounts["/tmp"][0],
            "PrivateTmp=: /tmp is private", actual=mounts.get("/tmp"))
    for path in ("/usr", "/etc/cstatd", "/var"):
        p = subprocess.run(["nsenter", "-t", str(hpid), "-m", "--", "sh", "-c",
                            f"touch {path}/.cstatd-write-test"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        err = p.stdout.decode("utf-8", "replace").strip()
        t.check(p.returncode != 0 and "Read-only file system" in err,
                f"writing {path} in cstatd's mount namespace fails with EROFS (even as root)",
                actual=(p.returncode, err))

    # /run is a tmpfs of its own (here Docker's --tmpfs; on a host too). Under
    # systemd 252 here, ProtectSystem=strict alone left it writable in the
    # unit's namespace (/run/lock, mode 1777, even for cstatd's user); the
    # unit's ReadOnlyPaths=/run closes that.
    def try_write(path, as_user):
        who = ["-S", str(uid), "-G", str(ugid)] if as_user else []
        p = subprocess.run(["nsenter", "-t", str(hpid), "-m", *who, "--", "sh", "-c",
                            f"touch {path}/.cstatd-write-test && rm -f {path}/.cstatd-write-test"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        return p.returncode, p.stdout.decode("utf-8", "replace").strip()
    for path in ("/run", "/run/lock"):
        for as_user in (False, True):
            rc, err = try_write(path, as_user)
            who = f"cstatd's user ({uid})" if as_user else "root"
            t.check(rc != 0 and "Read-only file system" in err,
                    f"ReadOnlyPaths=/run: {who} cannot write {path} in cstatd's mount "
                    "namespace (EROFS)", actual=(rc, err))

    # -- /metrics from inside the container --------------------------------------
    rc, out = box.sh("cstatd --health-check http://127.0.0.1:9338/readyz")
    t.check(rc == 0, "`cstatd --health-check http://127.0.0.1:9338/readyz` inside the "
            "container: 200", actual=out.strip())
    ns = nsenter.Netns(hpid)

    def docker_up():
        status, body = ns.get("http://127.0.0.1:9338/metrics")
        if status != 200:
            return None
        m = ct.parse_metrics(body)
        return m if ct.value(m, "cstatd_docker_up") == 1 else None
    m = ct.poll(docker_up, 15.0, 0.5)
    t.check(bool(m), "/metrics answers in the container's network namespace, with "
            "cstatd_docker_up 1: the Docker socket (root:docker 660) through "
            "SupplementaryGroups=docker", actual=ns.get("http://127.0.0.1:9338/metrics")[1][:300]
            if not m else None)
    # -- reload: ExecReload= sends SIGHUP ------------------------------------------
    rc, out = box.sh(f"systemctl reload {UNIT}")
    ok = ct.poll(lambda: "configuration reloaded" in box.journal(), 10.0, 0.25)
    s2 = box.show()
    t.check(rc == 0 and ok and s2.get("MainPID") == str(pid) and
            s2.get("ActiveState") == "active",
            "`systemctl reload` (ExecReload=/bin/kill -HUP $MAINPID): the configuration is "
            "reloaded by the same process", actual=(rc, out, s2))
    rc, out = box.sh(f"systemd-analyze security {UNIT} --no-pager | tail -1")
    t.info("systemd-analyze security (live): " + out.strip())

    # -- the watchdog ---------------------------------------------------------------
    dropin = "/run/systemd/system/cstatd.service.d"
    rc, out = box.sh(f"mkdir -p {dropin} && printf '[Service]\\nWatchdogSec={WATCHDOG_TEST_S}s\\n"
                     f"TimeoutAbortSec=2s\\n' > {dropin}/test-watchdog.conf && "
                     f"systemctl daemon-reload && systemctl restart {UNIT}", timeout=90)
    s = box.show()
    t.check(rc == 0 and s.get("WatchdogUSec") == f"{WATCHDOG_TEST_S}s",
            f"drop-in WatchdogSec={WATCHDOG_TEST_S}s, restarted", actual=(rc, out, s), fatal=True)
    pid0, nr0 = s.get("MainPID"), int(s.get("NRestarts") or 0)
    time.sleep(5 * WATCHDOG_TEST_S + 1)
    s = box.show()
    j = box.journal()
    t.check(s.get("MainPID") == pid0 and int(s.get("NRestarts") or 0) == nr0 and
            s.get("ActiveState") == "active" and "Watchdog timeout" not in j,
            f"no watchdog timeout over 5 x WatchdogSec ({5 * WATCHDOG_TEST_S} s): WATCHDOG=1 "
            "keeps coming", actual=s)
    box.sh(f"kill -STOP {pid0}")
    t0 = time.monotonic()
    s = wait_show(box, lambda s: s.get("MainPID") not in ("0", pid0, None) and
                  s.get("ActiveState") == "active", 30.0)
    j = box.journal()
    t.info(f"after SIGSTOP: restarted in {time.monotonic() - t0:.1f} s: {s}")
    t.check(bool(s) and "Watchdog timeout" in j and "'watchdog'" in j,
            "a stopped cstatd (no pings) is killed by the watchdog and restarted",
            actual=(s, j[-600:]))
    box.sh(f"rm -rf {dropin} && systemctl daemon-reload && systemctl reset-failed {UNIT}; "
           f"systemctl restart {UNIT}", timeout=90)
    s = box.show()
    t.equal(s.get("WatchdogUSec"), "30s", "drop-in removed: WatchdogSec=30s again")

    # -- SIGKILL -> Restart=on-failure ------------------------------------------------
    pid1, nr1 = s.get("MainPID"), int(s.get("NRestarts") or 0)
    t0 = time.monotonic()
    box.sh(f"systemctl kill -s SIGKILL {UNIT}")
    s = wait_show(box, lambda s: s.get("MainPID") not in ("0", pid1, None) and
                  s.get("ActiveState") == "active" and s.get("SubState") == "running", 20.0)
    t.info(f"after SIGKILL: {s} ({time.monotonic() - t0:.1f} s; RestartSec=2s)")
    t.check(bool(s) and int(s.get("NRestarts") or 0) == nr1 + 1,
            "`systemctl kill -s SIGKILL` -> Restart=on-failure restarts it (NRestarts + 1, new "
            "MainPID)", actual=s or box.show())
    rc, out = box.sh(f"systemctl is-active {UNIT} && cstatd --health-check "
                     "http://127.0.0.1:9338/readyz")
    t.check(rc == 0, "active and ready again after the restart", actual=out)

    # -- stop: clean --------------------------------------------------------------
    t0 = time.monotonic()
    rc, out = box.sh(f"systemctl stop {UNIT}", timeout=60)
    s = box.show()
    t.info(f"systemctl stop: rc {rc} in {time.monotonic() - t0:.2f} s: {s}")
    t.check(rc == 0 and s.get("Result") == "success" and s.get("ActiveState") == "inactive",
            "`systemctl stop` -> inactive, Result=success", actual=s)
    t.equal(s.get("ExecMainStatus"), "0", "cstatd exited 0 on SIGTERM (ExecMainStatus=0)")
    j = box.journal()
    tail = j.split("Stopping")[-1]
    t.check("Deactivated successfully" in tail, "systemd: \"Deactivated successfully\" (main "
            "process exited 0, nothing left to kill)", actual=tail[-400:])
    t.check("timed out" not in tail and "Killing" not in tail,
            "no SIGKILL after the stop timeout (it exits well within TimeoutStopSec)",
            actual=tail[-400:])

    # -- SupplementaryGroups=docker without a docker group ----------------------------
    rc, out = box.sh(f"groupdel docker && systemctl reset-failed {UNIT}; "
                     f"systemctl start {UNIT}", timeout=60)
    s = box.show()
    j = box.journal()
    t.info(f"start without a docker group: rc {rc}, {s}")
    t.check(rc != 0 and s.get("ExecMainStatus") == "216" and "216/GROUP" in j,
            "without a `docker` group the unit fails with 216/GROUP (SupplementaryGroups=docker)",
            actual=(rc, s))
    box.sh(f"systemctl stop {UNIT}; systemctl reset-failed {UNIT}")
    rc, out = box.sh(f"systemd-sysusers && getent group docker && systemctl start {UNIT} && "
                     f"systemctl is-active {UNIT}", timeout=90)
    t.check(rc == 0 and "active" in out.split(),
            "systemd-sysusers creates the docker group (`g docker -`) and the unit starts",
            actual=out)
    box.sh(f"systemctl stop {UNIT}")


if __name__ == "__main__":
    ct.run(main)
