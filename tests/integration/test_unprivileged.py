#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Least privilege: cstatd as an unprivileged user against the same cgroups and
Docker socket as cstatd as root.

Set-up (all on this host, cleaned up but for the user and group):
  - a system user `cstatd-test` (useradd --system, created when missing) in a
    supplementary group `cstatd-test-docker` (the docker group's stand-in);
  - a private dockerd in cgroup v2 mode whose containers' cgroups are in a
    ct.CgroupSandbox; its socket chgrp'ed to that group and chmod 660 (as
    dockerd does with the docker group), its directory made traversable;
  - a container `web` (--network none) with a veth pair cst0/cst1 added inside
    its network namespace (nsenter -n: nothing changes on the host), so that
    it has network counters in /proc/<pid>/net/dev.

cstatd runs twice on the same sandbox and socket, once as root and once as
`cstatd-test` (setpriv --reuid --regid --init-groups, under strace -f), both
scraped after the same number of sweeps. Checks:
  - as root: exactly one warn line "running as root; ... dedicated user in the
    docker group (docs/deploy.md)"; as the user: none, and no warn/error line
  - the unprivileged process has the user's uid/gid, the group, no capability
  - the series sets (metric name + labels, values ignored) are equal,
    including the container's network series (container_network_* for the
    veth pair cst0/cst1 inside a --network none container, which only
    /proc/<pid>/net/dev shows): cstatd tells a container's network namespace
    from the host's by the inode of the world-readable /proc/<pid>/net/dev,
    not /proc/<pid>/ns/net (which needs ptrace access to the process: an
    unprivileged cstatd got EACCES there and exported no container network
    at all, until this was changed)
  - the unprivileged cstatd opens no file for writing and creates, removes,
    renames or changes nothing (strace of every file syscall)
  - promtool check metrics passes on both bodies

Needs root (it creates the user, starts dockerd, runs setpriv), a cgroup2
mount, dockerd/containerd/runc, unshare, a static busybox, setpriv, nsenter
and ip; strace is optional (the write check is skipped without it).
Exit 77 with the reason otherwise.
"""

import contextlib
import grp
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402
import dockerd as dk  # noqa: E402

USER = "cstatd-test"
GROUP = "cstatd-test-docker"
INTERVAL = 1.0
SWEEPS_BEFORE_SCRAPE = 4
ROOT_WARNING = ('level=warn msg="running as root; cstatd needs only read access: run it as a '
                'dedicated user in the docker group (docs/deploy.md)"')
NET_FAMILIES = [f"container_network_{d}_{k}_total"
                for d in ("receive", "transmit")
                for k in ("bytes", "packets", "errors", "packets_dropped")]
VETH = ("cst0", "cst1")
PROMTOOL = "/usr/bin/promtool"




def run(argv, check=True):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode("utf-8", "replace").strip()
    if check and p.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} exited {p.returncode}: {out[-400:]}")
    return p.returncode, out


def ensure_user(t):
    """The system user and its socket group (created when missing; kept)."""
    try:
        grp.getgrnam(GROUP)
    except KeyError:
        run(["groupadd", "--system", GROUP])
        t.info(f"created system group {GROUP}")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
             "/nonexistent", "--shell", "/usr/sbin/nologin", USER])
        t.info(f"created system user {USER}")
    if USER not in grp.getgrnam(GROUP).gr_mem:
        run(["usermod", "--append", "--groups", GROUP, USER])
    pw = pwd.getpwnam(USER)
    return pw.pw_uid, pw.pw_gid, grp.getgrnam(GROUP).gr_gid


@contextlib.contextmanager
def wrapped(prefix):
    """Every cstatd started inside the block runs under `prefix` (through the
    harness's CSTATD_WRAPPER, in front of any wrapper already set)."""
    old = os.environ.get("CSTATD_WRAPPER")
    os.environ["CSTATD_WRAPPER"] = shlex.join(prefix) + (" " + old if old else "")
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CSTATD_WRAPPER", None)
        else:
            os.environ["CSTATD_WRAPPER"] = old


def descendants(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for c in f.read().split():
                    out.append(int(c))
                    out += descendants(int(c))
    return out


def cstatd_pid(proc):
    """The pid of cstatd itself under the wrappers (setpriv execs it)."""
    binary = os.path.realpath(ct.find_binary())
    for pid in [proc.pid] + descendants(proc.pid):
        with contextlib.suppress(OSError):
            if os.path.realpath(f"/proc/{pid}/exe") == binary:
                return pid
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if binary.encode() in f.read().split(b"\0")[0:1]:
                    return pid
    return None


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def keys(m):
    return {k for k in m}


def fmt(key):
    return dk.fmt_series(key)


def scrape_after_sweeps(t, c, who):
    """Wait for the container and SWEEPS_BEFORE_SCRAPE sweeps, then scrape."""
    m, ok = dk.poll_metrics(c.port, lambda m: ct.series(m, "cstatd_container_info", name="web")
                            and ct.value(m, "cstatd_docker_up") == 1, 15.0, 0.2)
    t.check(ok, f"{who}: container web identified (cstatd_container_info, docker up)",
            fatal=True)
    time.sleep(SWEEPS_BEFORE_SCRAPE * INTERVAL)
    status, hdrs, body = ct.scrape(c.port)
    t.equal(status, 200, f"{who}: GET /metrics")
    text = ct.decode_body(hdrs, body)
    if os.access(PROMTOOL, os.X_OK):
        rc, out = ct.promtool_check_metrics(text)
        t.check(rc == 0 and not out.strip(), f"{who}: promtool check metrics passes",
                expected="exit 0, no output", actual=f"exit {rc}: {out.strip()[:400]}")
    return ct.parse_metrics(text)


WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND")
MUTATING = re.compile(r"^(?:\d+ +)?(creat|mkdir|mkdirat|rmdir|unlink|unlinkat|rename|renameat2?|"
                      r"link|linkat|symlink|symlinkat|truncate|chmod|fchmodat|chown|lchown|"
                      r"fchownat|mknod|mknodat|utimes|utimensat|setxattr|lsetxattr|"
                      r"removexattr|lremovexattr)\(")
OPEN = re.compile(r"^(?:\d+ +)?(open|openat|openat2)\((.*)")


def writes_in_trace(path):
    """Lines of an strace -f log that open a file for writing or change the
    file system (successful or not: an attempt is a finding too)."""
    bad = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = OPEN.match(line)
            if m and WRITE_FLAGS.search(m.group(2)):
                bad.append(line)
            elif MUTATING.match(line):
                bad.append(line)
    return bad


def main():
    if os.geteuid() != 0:
        ct.skip("this test needs root: it creates a system user, starts a private dockerd "
                "and runs cstatd both as root and as that user")
    mnt = ct.require_cgroup2()
    dk.require_docker("v2")
    for tool in ("setpriv", "nsenter", "ip", "useradd", "groupadd", "usermod"):
        if shutil.which(tool) is None:
            ct.skip(f"{tool} is not installed (util-linux, iproute2, passwd)")
    binary = ct.find_binary()
    strace = shutil.which("strace")
    t = ct.Test("unprivileged: cstatd as a dedicated user vs as root")
    uid, gid, sock_gid = ensure_user(t)
    t.info(f"user {USER}: uid {uid} gid {gid}, socket group {GROUP} ({sock_gid})")
    as_user = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups"]
    rc, out = run(as_user + [binary, "--version"], check=False)
    if rc != 0:
        ct.skip(f"{USER} cannot run {binary} ({out[-200:]}): the build directory must be "
                "readable and searchable by other users")
    t_start = time.monotonic()
    with ct.CgroupSandbox(mnt) as sb, dk.SandboxDockerd(sb) as dd:
        # The socket as a docker-group host has it: root:<group> 0660, in a
        # directory others may traverse (mkdtemp made it 0700).
        os.chmod(dd.dir, 0o711)
        os.chown(dd.sock, 0, sock_gid)
        os.chmod(dd.sock, 0o660)
        cid = dd.run_container("web", "sleep", "3600")
        pid = dd.inspect("web")["State"]["Pid"]
        nsenter = ["nsenter", "-t", str(pid), "-n"]
        run(nsenter + ["ip", "link", "add", VETH[0], "type", "veth", "peer", "name", VETH[1]])
        for v in VETH:
            run(nsenter + ["ip", "link", "set", v, "up"])
        t.info(f"container web {cid[:12]} (pid {pid}) has {VETH[0]}/{VETH[1]} in its netns")
        args = ["--interval", "1s", "--docker-host", dd.host_url, "--cgroup-root", sb.base]

        with ct.Cstatd(args, docker=True) as c:
            m_root = scrape_after_sweeps(t, c, "root")
            root_log = c.stderr_text()
        t.equal(root_log.count(ROOT_WARNING), 1, "root: one warning naming the unprivileged "
                "set-up (run as a dedicated user in the docker group)")
        t.equal(c.returncode, 0, "root: exit 0 on SIGTERM")

        tmp = tempfile.mkdtemp(prefix="cstatd-unpriv-")
        trace = os.path.join(tmp, "strace.log")
        prefix = as_user
        if strace:
            prefix = [strace, "-f", "-qq", "-o", trace, "-e", "trace=%file"] + as_user
        else:
            t.info("strace is not installed: the no-writes check is skipped")
        try:
            with wrapped(prefix), ct.Cstatd(args, docker=True, stop_timeout=10.0) as c:
                upid = cstatd_pid(c.proc)
                t.check(upid is not None, "unprivileged: found cstatd's pid under the wrappers",
                        fatal=True)
                st = proc_status(upid)
                t.equal(st.get("Uid", [])[:4], [str(uid)] * 4, "unprivileged: real, effective, "
                        "saved and fs uid are the user's")
                t.equal(st.get("Gid", [])[:4], [str(gid)] * 4, "unprivileged: gids are the user's")
                t.check(str(sock_gid) in st.get("Groups", []),
                        f"unprivileged: supplementary group {GROUP} (the socket's)",
                        expected=str(sock_gid), actual=st.get("Groups"))
                t.equal(st.get("CapEff"), ["0000000000000000"], "unprivileged: no capability")
                m_user = scrape_after_sweeps(t, c, "unprivileged")
                # Stop cstatd itself: strace then exits with its status.
                os.kill(upid, 15)
                c.wait(10.0)
                user_log = c.stderr_text()
                t.equal(c.stop(), 0, "unprivileged: exit 0 on SIGTERM")
            t.check(ROOT_WARNING not in user_log, "unprivileged: no running-as-root warning")
            noisy = [ln for ln in user_log.splitlines()
                     if "level=warn" in ln or "level=error" in ln]
            t.check(not noisy, "unprivileged: no warn or error line in the log",
                    expected=[], actual=noisy[:5])
            compare(t, m_root, m_user, cid)
            if strace:
                bad = writes_in_trace(trace)
                with open(trace, errors="replace") as f:
                    text = f.read()
                n = text.count("\n")
                t.info(f"strace: {n} file system calls traced")
                t.check(n > 0 and not bad, "unprivileged: no file opened for writing, nothing "
                        "created, removed, renamed or changed (strace -f -e trace=%file)",
                        expected="none", actual=bad[:8] if bad else f"{n} lines")
                t.check("cpu.stat" in text, "the trace covers cstatd's own opens (cpu.stat)")
                t.check(not re.search(r'"/proc/\d+/ns/net"', text),
                        "cstatd does not need /proc/<pid>/ns/net (ptrace access)",
                        actual=[ln for ln in text.splitlines() if "/ns/net" in ln][:3])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    t.info(f"total time {time.monotonic() - t_start:.1f} s (cleanup included)")
    t.finish()


def compare(t, m_root, m_user, cid):
    root_only = keys(m_root) - keys(m_user)
    user_only = keys(m_user) - keys(m_root)
    t.info(f"series: root {len(m_root)}, unprivileged {len(m_user)}, root-only "
           f"{len(root_only)}, unprivileged-only {len(user_only)}")
    t.check(not root_only, "no series only the root run has",
            expected=[], actual=sorted(fmt(k) for k in root_only)[:12])
    t.check(not user_only, "no series only the unprivileged run has",
            expected=[], actual=sorted(fmt(k) for k in user_only)[:12])
    for fam in NET_FAMILIES[:1]:
        for v in VETH:
            t.check(bool(ct.series(m_user, fam, name="web", interface=v)),
                    f"unprivileged: {fam} for the container's {v} (from /proc/<pid>/net/dev)")
    t.check(len(m_user) > 50, "a full series set (cgroup files, Docker API, /proc, self)",
            actual=len(m_user))


if __name__ == "__main__":
    ct.run(main)
