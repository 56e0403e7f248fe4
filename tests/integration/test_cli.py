#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cstatd's command line: bad flags, --help, --version, signals, busy port, log format.

Spec: a wrong flag or value -> exactly one line on stderr
"cstatd: <flag>: <problem>" and exit 2; a --cgroup-root that is not a cgroup2
mount -> "cstatd: --cgroup-root <path>: not a cgroup2 mount ..." and exit 1;
SIGTERM/SIGINT -> exit 0 within interval + 1 s; a --listen port in use -> exit 1
with a clear message. Runs on an empty tree with --no-cgroup-root-check, so it
needs neither root nor a cgroup2 mount.
"""

import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

ALL_FLAGS = ("--listen", "--interval", "--cgroup-root", "--no-cgroup-root-check", "--proc-root",
             "--all-cgroups", "--log-level", "--no-docker", "--docker-host", "--docker-stats",
             "--docker-label-allowlist", "--help", "--version")

# (args that come last, the flag the error line must name)
BAD = [
    (["--bogus-flag"], "--bogus-flag"),
    (["--interval", "abc"], "--interval"),
    (["--interval", "0s"], "--interval"),
    (["--interval", "50ms"], "--interval"),         # below the 100ms minimum
    (["--interval", "-1s"], "--interval"),
    (["--listen", "nonsense"], "--listen"),
    (["--listen", "127.0.0.1:99999"], "--listen"),  # port out of range
    (["--log-level", "loud"], "--log-level"),
    (["--docker-stats", "sometimes"], "--docker-stats"),
    (["--interval"], "--interval"),                 # missing value (last argument)
    (["--log-level"], "--log-level"),               # missing value
]

LOGFMT = re.compile(r'^ts=\S+ level=(debug|info|warn|error) msg="(?:[^"\\]|\\.)*"'
                    r'(?: [A-Za-z_][A-Za-z0-9_.]*=(?:"(?:[^"\\]|\\.)*"|[^ "]*))*$')


def project_version():
    try:
        with open(os.path.join(ct.REPO_ROOT, "CMakeLists.txt")) as f:
            m = re.search(r"project\(\s*cstatd\s+VERSION\s+([0-9.]+)", f.read())
            return m.group(1) if m else None
    except OSError:
        return None


def base_args(tree, listen=True):
    a = ["--no-docker", "--cgroup-root", tree, "--no-cgroup-root-check", "--proc-root", tree]
    if listen:
        a += ["--listen", f"127.0.0.1:{ct.free_port()}"]
    return a


def check_bad_flags(t, tree):
    for extra, flag in BAD:
        args = base_args(tree, listen=(flag != "--listen")) + extra
        rc, out, err = ct.run_cstatd(args, timeout=5, no_docker=False)
        lines = err.splitlines()
        what = f"`{' '.join(extra)}`"
        t.equal(rc, 2, f"{what}: exit status 2")
        t.check(len(lines) == 1 and re.match(rf"^cstatd: {re.escape(flag)}: \S", lines[0]),
                f"{what}: one stderr line 'cstatd: {flag}: <problem>'",
                expected=f"cstatd: {flag}: ...", actual=err)


def check_not_cgroup2(t):
    rc, out, err = ct.run_cstatd(["--no-docker", "--cgroup-root", "/tmp",
                                  "--listen", f"127.0.0.1:{ct.free_port()}"],
                                 timeout=5, no_docker=False)
    t.equal(rc, 1, "--cgroup-root /tmp (not cgroup2): exit status 1")
    t.check(re.search(r"^cstatd: --cgroup-root /tmp: not a cgroup2 mount", err, re.M),
            "--cgroup-root /tmp: message says it is not a cgroup2 mount",
            expected="cstatd: --cgroup-root /tmp: not a cgroup2 mount ...", actual=err)


def check_help_version(t):
    rc, out, err = ct.run_cstatd(["--help"], timeout=5, no_docker=False)
    t.equal(rc, 0, "--help: exit 0")
    missing = [f for f in ALL_FLAGS if not re.search(rf"(^|[\s,\[]){re.escape(f)}\b", out)]
    t.equal(missing, [], "--help lists every flag on stdout", )
    rc, out, err = ct.run_cstatd(["--version"], timeout=5, no_docker=False)
    t.equal(rc, 0, "--version: exit 0")
    m = re.match(r"^cstatd (\S+)", out)
    t.check(m is not None, "--version prints 'cstatd <version>' on stdout", actual=out + err)
    want = project_version()
    if m and want:
        t.check(m.group(1) == want or m.group(1).startswith(want),
                f"--version names the project version {want}", actual=m.group(1))


def check_signals(t, tree):
    for sig in (signal.SIGTERM, signal.SIGINT):
        with ct.Cstatd(base_args(tree, listen=False) + ["--interval", "1s"]) as d:
            st, _, _ = ct.http_request(d.port, "/healthz")
            t.equal(st, 200, f"/healthz 200 before {sig.name}")
            t0 = time.monotonic()
            d.send_signal(sig)
            rc = d.wait(5.0)
            el = time.monotonic() - t0
            t.check(rc == 0 and el <= 2.0, f"{sig.name}: exit 0 within interval + 1 s = 2 s "
                    f"(took {el:.2f} s)", expected="0 within 2 s", actual=rc)
            err = d.stderr_text()
        if sig == signal.SIGTERM:
            lines = [ln for ln in err.splitlines() if ln.strip()]
            bad = [ln for ln in lines if not LOGFMT.match(ln)]
            t.check(lines, "cstatd logs on stderr at the default level", actual=err)
            t.equal(bad[:5], [], "every stderr line is logfmt: ts=… level=… msg=\"…\" k=v")


def check_log_level(t, tree):
    with ct.Cstatd(base_args(tree, listen=False) + ["--interval", "1s",
                                                     "--log-level", "error"]) as d:
        d.stop()
        err = d.stderr_text()
    noisy = [ln for ln in err.splitlines() if re.search(r"\blevel=(debug|info|warn)\b", ln)]
    t.equal(noisy[:5], [], "--log-level error: no debug/info/warn lines")
    with ct.Cstatd(base_args(tree, listen=False) + ["--interval", "1s",
                                                     "--log-level", "debug"]) as d:
        time.sleep(1.5)
        d.stop()
        err = d.stderr_text()
    # debug includes info: the startup lines must still be there.
    t.check(re.search(r"\blevel=info\b", err), "--log-level debug: info lines still shown",
            actual=err[-600:])


def check_port_in_use(t, tree):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        rc, out, err = ct.run_cstatd(base_args(tree, listen=False) +
                                     ["--listen", f"127.0.0.1:{port}"], timeout=10,
                                     no_docker=False)
    finally:
        s.close()
    t.equal(rc, 1, f"--listen 127.0.0.1:{port} already in use: exit 1")
    t.check(str(port) in err and re.search(r"in use|bind|listen", err, re.I),
            "port-in-use message names the address and the problem", actual=err)


def main():
    t = ct.Test("cli: flags, signals, listen errors, log format")
    tree = tempfile.mkdtemp(prefix="cstatd-cli-")
    try:
        check_bad_flags(t, tree)
        check_not_cgroup2(t)
        check_help_version(t)
        check_signals(t, tree)
        check_log_level(t, tree)
        check_port_in_use(t, tree)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    t.finish()


if __name__ == "__main__":
    ct.run(main)
