# SPDX-License-Identifier: Apache-2.0
"""Shared harness for cstatd's integration tests (Python 3.11, stdlib only).

A test script imports it with:

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
    import cstatd_test as ct

and is normally run by ctest, which sets CSTATD_BIN to the built binary and
treats exit status 77 as SKIP.

What is here
------------
Results and skips
    ct.Test(name)          collects checks; ``t.check(cond, what, expected=, actual=)``,
                           ``t.equal(actual, expected, what)``, ``t.finish()`` prints
                           PASS/FAIL and exits 0/1.
    ct.run(main)           runs ``main()`` and turns exceptions into a FAIL line
                           (exit 1) and ``ct.Skip`` into exit 77.
    ct.skip(reason)        prints "SKIP: <reason>" and exits 77.
    ct.require_root(), ct.require_cgroup2(), ct.require_executable(path)

Processes and HTTP
    ct.find_binary()       CSTATD_BIN, else <repo>/build-it/cstatd, <repo>/build/cstatd
    ct.wrapper_argv()      CSTATD_WRAPPER split like a shell does (e.g. "valgrind
                           --error-exitcode=99 ..."): put in front of every cstatd the
                           harness starts (Cstatd, run_cstatd)
    ct.sanitizers()        {"address", "undefined", "thread"} the binary was built with
                           (empty for a plain build): skip RSS checks under ASan
    ct.time_scale()        CSTATD_TIME_SCALE (default 1): multiplies the harness's own
                           start/stop timeouts and ct.poll's, for slow wrappers
    ct.free_port()         an unused TCP port on 127.0.0.1
    ct.Cstatd(args)        context manager: starts cstatd, waits for /readyz 200
    ct.run_cstatd(args)    runs cstatd to completion (CLI tests) -> (rc, stdout, stderr)
    ct.http_request(port, path, method="GET", headers=None) -> (status, headers, body)
    ct.scrape(port, headers=None) -> (status, headers, body)   (GET /metrics)
    ct.get_metrics(port)   scrape + gunzip when needed + parse_metrics

Exposition parsing (Prometheus text 0.0.4; also reads OpenMetrics 1.0 bodies)
    ct.parse_exposition(text) -> Exposition(samples, types, helps)
    ct.parse_metrics(text) -> {(name, frozenset(labels.items())): float}
    ct.series(metrics, metric, **labels) -> [(labels_dict, value), ...]
    ct.value(metrics, metric, **labels)  -> float, or None when no series matches
                           (label filters may include name=..., e.g. the container)
    ct.promtool_check_metrics(body) -> (rc, output)

Real cgroups
    ct.find_cgroup2_mount() -> path or None
    ct.CgroupSandbox()     context manager: throw-away cgroups in docker's cgroupfs
                           layout ``<mount>/cstatd-test-<pid>-<rand>/docker/<64 hex>``

Prometheus
    ct.Prometheus(targets) context manager: a real /usr/bin/prometheus scraping
                           the targets; ``prom.query(promql)`` -> result list

Waiting
    ct.poll(fn, timeout, interval) -> the first truthy value fn returned, or the
                           last value when time ran out (never loops unbounded)

Sanitizer and valgrind reports
    Every cstatd the harness starts has its stderr searched, once it has exited,
    for AddressSanitizer/LeakSanitizer/UBSan/ThreadSanitizer reports and a
    valgrind error summary with errors (or exit status 99, valgrind's
    --error-exitcode in CI). Each report is printed and recorded; Test.finish()
    and ct.run() then fail the test, whatever its own checks said
    (``ct.sanitizer_reports`` holds them).

All network traffic goes to 127.0.0.1. Every context manager cleans up what it
made (processes, cgroups, temporary directories) in ``__exit__``, also on
failure.
"""

import contextlib
import errno
import gzip
import http.client
import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

SKIP_CODE = 77

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


# --------------------------------------------------------------------------
# Results, skips
# --------------------------------------------------------------------------

class Skip(Exception):
    """Raised by skip(); ct.run() turns it into exit status 77."""


def skip(reason):
    """Skip the whole test: print why and exit 77 (ctest SKIP_RETURN_CODE).

    Raises SystemExit so that enclosing ``with`` blocks still clean up.
    """
    print("SKIP: " + reason, flush=True)
    raise SystemExit(SKIP_CODE)


def require_root():
    if os.geteuid() != 0:
        skip("this test needs root (it creates cgroups and moves processes into them); "
             "run it as root")


def require_cgroup2():
    """Return the cgroup2 mount point, or skip when there is none."""
    mnt = find_cgroup2_mount()
    if mnt is None:
        skip("no cgroup2 filesystem is mounted on this host (checked /proc/self/mountinfo)")
    return mnt


def require_executable(path, why=""):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        skip(f"{path} is not installed{(': ' + why) if why else ''}")
    return path


def _fmt(v):
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (bytes, str)) and len(v) > 400:
        return repr(v[:400]) + f"... ({len(v)} chars)"
    return repr(v)


class FatalCheck(AssertionError):
    """Raised by a failed ``check(..., fatal=True)``."""


_current_test = None


class Test:
    """Collects named checks and prints one line per check.

    ``check`` never raises: a test keeps going after a failed check so one
    run reports every problem. Use ``fatal=True`` when later checks make no
    sense without this one (raises AssertionError).
    """

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.n_checks = 0
        self.on_failure = []  # callables that print diagnostics on a failure
        self._reports_seen = 0
        global _current_test
        _current_test = self
        print(f"=== {name}", flush=True)

    def info(self, msg):
        print(f"  .. {msg}", flush=True)

    def check(self, cond, what, expected=None, actual=None, fatal=False):
        self.n_checks += 1
        if cond:
            print(f"  ok   {what}", flush=True)
            return True
        msg = what
        if expected is not None or actual is not None:
            msg += f"\n         expected: {_fmt(expected)}\n         actual:   {_fmt(actual)}"
        print(f"  FAIL {msg}", flush=True)
        self.failures.append(what)
        if fatal:
            raise FatalCheck(what)
        return False

    def equal(self, actual, expected, what, fatal=False):
        return self.check(actual == expected, what, expected=expected, actual=actual,
                          fatal=fatal)

    def close(self, actual, expected, what, rel=1e-12, abs_tol=0.0, fatal=False):
        """Float equality up to rounding (default: exact but for the last bits)."""
        ok = (actual is not None and expected is not None
              and math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_tol))
        return self.check(ok, what, expected=expected, actual=actual, fatal=fatal)

    def between(self, actual, lo, hi, what, fatal=False):
        ok = actual is not None and lo <= actual <= hi
        return self.check(ok, what, expected=f"between {lo} and {hi}", actual=actual,
                          fatal=fatal)

    def finish(self):
        """Print the verdict and exit (0 PASS, 1 FAIL)."""
        for r in sanitizer_reports[self._reports_seen:]:
            self.n_checks += 1
            self.failures.append(f"sanitizer/valgrind report from cstatd: {r['kind']}: "
                                 f"{r['line'][:160]}")
        self._reports_seen = len(sanitizer_reports)
        if self.failures:
            for fn in self.on_failure:
                with contextlib.suppress(Exception):
                    fn()
            print(f"FAIL: {self.name}: {len(self.failures)} of {self.n_checks} checks failed:",
                  flush=True)
            for f in self.failures:
                print(f"  - {f}", flush=True)
            sys.exit(1)
        print(f"PASS: {self.name} ({self.n_checks} checks)", flush=True)
        sys.exit(0)


def _on_sigterm(signum, frame):
    # ctest (timeout) or a user stops the test: unwind through the `with`
    # blocks so processes, cgroups and temporary directories are cleaned up.
    raise SystemExit(128 + signum)


def run(main):
    """Run a test's main(); exceptions become a FAIL line and exit 1.

    SIGTERM/SIGHUP unwind the test normally (cleanup runs) with exit 128+sig.
    """
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_sigterm)
    try:
        main()
    except SystemExit as e:
        if e.code in (0, None, SKIP_CODE) and sanitizer_reports:
            _fail_on_reports()
        raise
    except Skip as e:
        print("SKIP: " + str(e), flush=True)
        sys.exit(SKIP_CODE)
    except FatalCheck as e:
        if _current_test is not None:
            print(f"  .. stopping: later checks depend on \"{e}\"", flush=True)
            _current_test.finish()
        print(f"FAIL: {os.path.basename(sys.argv[0])}: {e}", flush=True)
        sys.exit(1)
    except BaseException:  # noqa: BLE001 - report anything, incl. KeyboardInterrupt
        traceback.print_exc()
        if _current_test is not None:
            _current_test.failures.append("aborted by the exception above")
            _current_test.finish()
        print(f"FAIL: {os.path.basename(sys.argv[0])}: aborted by the exception above",
              flush=True)
        sys.exit(1)
    # main() should end with Test.finish(); if it returned, call that a pass.
    if sanitizer_reports:
        _fail_on_reports()
    sys.exit(0)


def _fail_on_reports():
    print(f"FAIL: {os.path.basename(sys.argv[0])}: {len(sanitizer_reports)} sanitizer/valgrind "
          "report(s) from cstatd (printed above): "
          + ", ".join(r["kind"] for r in sanitizer_reports), flush=True)
    sys.exit(1)


def poll(fn, timeout, interval=0.1):
    """Call fn() until it returns a truthy value or `timeout` seconds pass.

    Returns that value, or fn()'s last (falsy) value. Bounded in time and in
    count (at most timeout/interval + 2 calls). `timeout` is multiplied by
    time_scale() (CSTATD_TIME_SCALE, for runs under valgrind).
    """
    timeout = timeout * time_scale()
    deadline = time.monotonic() + timeout
    max_calls = int(timeout / max(interval, 0.001)) + 2
    last = None
    for _ in range(max_calls):
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    return last


# --------------------------------------------------------------------------
# Wrappers (valgrind, setarch) and sanitizer reports
# --------------------------------------------------------------------------

def wrapper_argv():
    """$CSTATD_WRAPPER split like a shell would: the command put in front of
    every cstatd the harness starts (e.g. ``valgrind --error-exitcode=99 ...``
    or ``setarch x86_64 -R`` for ThreadSanitizer). [] when unset."""
    w = os.environ.get("CSTATD_WRAPPER", "").strip()
    return shlex.split(w) if w else []


def sanitizers(binary=None):
    """The sanitizers `binary` (default: find_binary()) was built with, as a
    set of "address", "thread", "undefined"; empty for a plain build. For
    checks that mean nothing under them (RSS: ASan keeps 256 MiB of freed
    memory in quarantine; timing under TSan)."""
    try:
        with open(binary or find_binary(), "rb") as f:
            data = f.read()
    except (OSError, RuntimeError):
        return set()
    found = set()
    for sym, name in ((b"__asan_init", "address"), (b"__tsan_init", "thread"),
                      (b"__ubsan_handle_", "undefined")):
        if sym in data:
            found.add(name)
    return found


def time_scale():
    """$CSTATD_TIME_SCALE (default 1, at least 1): multiplies the harness's
    start/stop timeouts and ct.poll's, for runs under a slow wrapper."""
    try:
        return max(1.0, float(os.environ.get("CSTATD_TIME_SCALE", "") or 1))
    except ValueError:
        return 1.0


def _valgrind_log_argv(wrapper, log_path):
    """`wrapper` with --log-file=<log_path> added when it is valgrind writing
    to stderr (the default), so that cstatd's stderr stays its own (tests
    read it line by line); the harness reads the file at exit instead."""
    if (wrapper and os.path.basename(wrapper[0]).startswith("valgrind")
            and not any(a.startswith(("--log-file", "--log-fd", "--log-socket"))
                        for a in wrapper)):
        return [wrapper[0], f"--log-file={log_path}"] + wrapper[1:], log_path
    return wrapper, None


def _read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except (OSError, TypeError):
        return ""


# LeakSanitizer cannot run under ptrace: it aborts at exit ("LeakSanitizer has
# encountered a fatal error", status 134) when cstatd runs under strace or gdb.
_PTRACE_TOOLS = {"strace", "ltrace", "gdb"}


def wrapped_env(env=None, wrapper=None):
    """The environment for a cstatd started under `wrapper`: as given (or
    os.environ), with ``detect_leaks=0`` added to ASAN_OPTIONS when the
    wrapper traces with ptrace (strace), where LeakSanitizer cannot work.
    Leaks are still checked by every run without such a wrapper."""
    wrapper = wrapper_argv() if wrapper is None else wrapper
    base = dict(os.environ if env is None else env)
    if any(os.path.basename(w) in _PTRACE_TOOLS for w in wrapper):
        opts = base.get("ASAN_OPTIONS", "")
        base["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "detect_leaks=0"
        return base
    return env


# What a report looks like on stderr (ASan/LSan/UBSan/TSan write to stderr
# unless log_path says otherwise; valgrind too unless --log-file says so).
_REPORT_PATTERNS = [
    ("AddressSanitizer", re.compile(r"^==\d+==\s*ERROR: AddressSanitizer\b.*$", re.M)),
    ("LeakSanitizer", re.compile(r"^==\d+==\s*ERROR: LeakSanitizer\b.*$|"
                                 r"^==\d+==\s*LeakSanitizer has encountered a fatal error.*$",
                                 re.M)),
    ("UndefinedBehaviorSanitizer",
     re.compile(r"^.*\.[ch]:\d+:\d+: runtime error: .*$|"
                r"^SUMMARY: UndefinedBehaviorSanitizer\b.*$", re.M)),
    ("ThreadSanitizer", re.compile(r"^WARNING: ThreadSanitizer: .*$|"
                                   r"^ThreadSanitizer: .*$|"
                                   r"^FATAL: ThreadSanitizer.*$", re.M)),
    ("valgrind", re.compile(r"^==\d+== ERROR SUMMARY: [1-9]\d* errors.*$", re.M)),
]

# Every report found in this test process, in order:
# {"kind", "pid", "argv", "line", "text"}.
sanitizer_reports = []


def check_sanitizer_output(text, returncode=None, pid=None, argv=None):
    """Search a finished cstatd's stderr for sanitizer/valgrind reports.

    Prints and records (in ``sanitizer_reports``) each kind found; a valgrind
    run that exits 99 (CI's --error-exitcode) counts even without a summary.
    Returns the list of kinds found.
    """
    found = []
    for kind, rx in _REPORT_PATTERNS:
        m = rx.search(text or "")
        if m:
            found.append((kind, m.group(0).strip(), m.start()))
    wrapper = wrapper_argv()
    if (returncode == 99 and wrapper and os.path.basename(wrapper[0]) == "valgrind"
            and not any(k == "valgrind" for k, _, _ in found)):
        found.append(("valgrind", "valgrind exited with --error-exitcode 99", 0))
    for kind, line, start in found:
        sanitizer_reports.append({"kind": kind, "pid": pid, "argv": argv, "line": line,
                                  "text": (text or "")[max(0, start - 200):start + 6000]})
        print(f"  !! {kind} report from cstatd pid {pid} "
              f"({' '.join(argv or [])[:300]}):\n  !! {line}", flush=True)
    if found:
        # One excerpt from the first report on: stacks, then the summary. For
        # valgrind (its summary comes last) the lines it wrote, from the first
        # error on, without cstatd's own log lines in between.
        first = min(start for _, _, start in found)
        if all(k == "valgrind" for k, _, _ in found):
            vg = [ln for ln in (text or "").splitlines() if re.match(r"==\d+== ", ln)]
            at = next((i for i, ln in enumerate(vg)
                       if re.match(r"==\d+== (Invalid|Conditional|Use of|Syscall|Mismatched|"
                                   r"Source and|Argument|\d[\d,]* .*bytes in .*blocks)", ln)),
                      0)
            lines = vg[at:]
        else:
            lines = (text or "")[max(0, first - 200):].splitlines()
        print("\n".join("    # " + ln for ln in lines[:200]), flush=True)
        if len(lines) > 200:
            print(f"    # ... ({len(lines) - 200} more lines)", flush=True)
    return [k for k, _, _ in found]


# --------------------------------------------------------------------------
# cstatd process
# --------------------------------------------------------------------------

def find_binary():
    """Path of the cstatd binary: $CSTATD_BIN (set by ctest), else a build dir."""
    env = os.environ.get("CSTATD_BIN")
    if env:
        if not os.access(env, os.X_OK):
            raise RuntimeError(f"CSTATD_BIN={env} is not an executable file")
        return env
    for d in ("build-it", "build"):
        p = os.path.join(REPO_ROOT, d, "cstatd")
        if os.access(p, os.X_OK):
            return p
    raise RuntimeError("cstatd binary not found: set CSTATD_BIN or build into "
                       f"{REPO_ROOT}/build-it")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cstatd(args, timeout=10, no_docker=True, env=None):
    """Run cstatd with `args` and wait for it to exit (for CLI tests).

    Returns (returncode, stdout, stderr) as str. If it is still running after
    `timeout` seconds (times time_scale()) it is killed and returncode is None.
    $CSTATD_WRAPPER goes in front; stderr is searched for sanitizer reports.
    """
    argv = [find_binary()] + list(args)
    if no_docker and "--no-docker" not in argv:
        argv.append("--no-docker")
    wrapper = wrapper_argv()
    env = wrapped_env(env, wrapper)
    fd, vg_log = tempfile.mkstemp(prefix="cstatd-valgrind-", suffix=".log")
    os.close(fd)
    try:
        wrapper, vg_log_used = _valgrind_log_argv(wrapper, vg_log)
        argv = wrapper + argv
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
        try:
            out, err = p.communicate(timeout=timeout * time_scale())
            rc = p.returncode
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate(timeout=10)
            rc = None
        err = err.decode("utf-8", "replace")
        check_sanitizer_output(err + _read_text(vg_log_used), rc, p.pid, argv)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(vg_log)
    return rc, out.decode("utf-8", "replace"), err


class Cstatd:
    """Start cstatd for the duration of a ``with`` block.

        with ct.Cstatd(["--interval", "1s", "--cgroup-root", mnt]) as d:
            status, headers, body = ct.scrape(d.port)

    - ``--listen 127.0.0.1:<free port>`` is appended unless `args` has ``--listen``
      (``d.port`` is that port; pass ``port=`` to choose it).
    - ``--no-docker`` is appended unless ``docker=True`` or args has a docker flag
      (``--docker-host``/``--no-docker``).
    - stderr goes to a file (``d.stderr_path``, ``d.stderr_text()``); stdout to
      another (``d.stdout_path``).
    - On entry it waits up to `ready_timeout` s for ``GET /readyz`` to answer 200
      (``wait_ready=False`` to skip); if cstatd exits or never gets ready it
      raises RuntimeError with the tail of its stderr.
    - On exit (also on error) it sends SIGTERM, waits up to `stop_timeout` s, then
      SIGKILLs. ``d.returncode`` holds the exit status; ``d.stop()`` does the same
      earlier and returns it.
    """

    def __init__(self, args=(), port=None, docker=False, ready_timeout=15.0,
                 wait_ready=True, stop_timeout=5.0, env=None, keep_logs=False):
        self.args = list(args)
        self.binary = find_binary()
        self.port = port
        self.docker = docker
        self.ready_timeout = ready_timeout * time_scale()
        self.wait_ready_on_enter = wait_ready
        self.stop_timeout = stop_timeout * time_scale()
        self.env = env
        self.keep_logs = keep_logs
        self.proc = None
        self.returncode = None
        self._checked = False
        self.valgrind_log = None
        self.tmpdir = None
        self.stderr_path = None
        self.stdout_path = None
        self.argv = None

    # -- lifecycle --
    def start(self):
        argv = [self.binary] + self.args
        if "--listen" in self.args:
            i = self.args.index("--listen")
            if self.port is None and i + 1 < len(self.args):
                with contextlib.suppress(ValueError):
                    self.port = int(self.args[i + 1].rsplit(":", 1)[1])
        else:
            if self.port is None:
                self.port = free_port()
            argv += ["--listen", f"127.0.0.1:{self.port}"]
        has_docker_flag = any(a in ("--no-docker", "--docker-host") or
                              a.startswith("--docker-host=") for a in self.args)
        if not self.docker and not has_docker_flag:
            argv.append("--no-docker")
        self.tmpdir = tempfile.mkdtemp(prefix="cstatd-run-")
        wrapper = wrapper_argv()
        env = wrapped_env(self.env, wrapper)
        wrapper, self.valgrind_log = _valgrind_log_argv(
            wrapper, os.path.join(self.tmpdir, "valgrind.log"))
        argv = wrapper + argv
        self.argv = argv
        self._checked = False
        self.stderr_path = os.path.join(self.tmpdir, "stderr.log")
        self.stdout_path = os.path.join(self.tmpdir, "stdout.log")
        with open(self.stderr_path, "wb") as ef, open(self.stdout_path, "wb") as of:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=of,
                                         stderr=ef, env=env)
        print(f"  .. started cstatd pid {self.proc.pid}: {' '.join(argv)}", flush=True)
        return self

    def wait_ready(self, timeout=None):
        """Wait for /readyz 200. Raises RuntimeError if cstatd dies or times out."""
        timeout = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cstatd exited with status {self.proc.returncode} "
                                   f"before it was ready; stderr:\n{self.stderr_tail()}")
            try:
                status, _, _ = http_request(self.port, "/readyz", timeout=1.0)
                last = status
                if status == 200:
                    return
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError(f"cstatd not ready after {timeout} s (last /readyz: {last!r}); "
                           f"stderr:\n{self.stderr_tail()}")

    def wait_signal_taken(self, sig=signal.SIGTERM, timeout=10.0):
        """Wait until cstatd's main thread blocks or catches `sig` (it takes
        signals with sigwait), read from /proc/<pid>/status. Before that point
        a signal is a default kill for any program, ours included (exec, the
        dynamic loader and a sanitizer runtime come first). Raises RuntimeError
        if cstatd exits or never gets there."""
        bit = 1 << (int(sig) - 1)
        deadline = time.monotonic() + timeout * time_scale()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cstatd exited with status {self.proc.returncode} before "
                                   f"it took {signal.Signals(sig).name}; stderr:\n"
                                   f"{self.stderr_tail()}")
            masks = {}
            with contextlib.suppress(OSError):
                with open(f"/proc/{self.proc.pid}/status") as f:
                    for line in f:
                        k, _, v = line.partition(":")
                        if k in ("SigBlk", "SigCgt"):
                            masks[k] = int(v.strip(), 16)
            if any(m & bit for m in masks.values()):
                return
            time.sleep(0.002)
        raise RuntimeError(f"cstatd did not block or catch {signal.Signals(sig).name} within "
                           f"{timeout} s; stderr:\n{self.stderr_tail()}")

    def send_signal(self, sig):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout):
        """Wait up to `timeout` s (times time_scale()) for exit; returns the status or None."""
        try:
            return self.proc.wait(timeout=timeout * time_scale())
        except subprocess.TimeoutExpired:
            return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Ask cstatd to exit (SIGTERM), SIGKILL after `timeout` s; return its status."""
        if self.proc is None:
            return None
        timeout = self.stop_timeout if timeout is None else timeout * time_scale()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                print(f"  .. cstatd did not exit {timeout} s after {signal.Signals(sig).name}; "
                      "sending SIGKILL", flush=True)
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.returncode = self.proc.returncode
        return self.returncode

    def __enter__(self):
        self.start()
        try:
            if self.wait_ready_on_enter:
                self.wait_ready()
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            print("  .. cstatd stderr (tail):\n" + self.stderr_tail(), flush=True)
        self._cleanup()
        return False

    def _cleanup(self):
        with contextlib.suppress(Exception):
            self.stop()
        if self.proc is not None and self.proc.poll() is not None and not self._checked:
            self._checked = True
            check_sanitizer_output(self.stderr_text() + _read_text(self.valgrind_log),
                                   self.proc.returncode, self.proc.pid, self.argv)
        if self.tmpdir and not self.keep_logs:
            self._stderr_cache = self.stderr_text()
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    # -- output --
    def stderr_text(self):
        if self.tmpdir is None:
            return getattr(self, "_stderr_cache", "")
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_tail(self, n=30):
        lines = self.stderr_text().splitlines()
        return "\n".join("    | " + line for line in lines[-n:])

    # -- HTTP shortcuts --
    def scrape(self, headers=None):
        return scrape(self.port, headers=headers)

    def metrics(self):
        return get_metrics(self.port)


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

def http_request(port, path, method="GET", headers=None, body=None, timeout=5.0,
                 host="127.0.0.1"):
    """One HTTP/1.1 request to 127.0.0.1:port.

    Returns (status, headers, body): headers is a dict with lower-case names
    (repeated headers joined with ", "), body is the raw bytes as received
    (NOT decompressed). Raises OSError when the connection fails.
    """
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        hdrs = {}
        for k, v in resp.getheaders():
            k = k.lower()
            hdrs[k] = (hdrs[k] + ", " + v) if k in hdrs else v
        return resp.status, hdrs, data
    finally:
        conn.close()


def scrape(port, headers=None, path="/metrics", timeout=5.0):
    """GET /metrics -> (status, headers, body bytes, not decompressed)."""
    return http_request(port, path, headers=headers, timeout=timeout)


def decode_body(headers, body):
    """Body as text, gunzipped when Content-Encoding says gzip."""
    if "gzip" in headers.get("content-encoding", ""):
        body = gzip.decompress(body)
    return body.decode("utf-8")


def get_metrics(port, headers=None):
    """Scrape and parse: {(name, frozenset(labels.items())): value}.

    Raises RuntimeError on a non-200 answer.
    """
    status, hdrs, body = scrape(port, headers=headers)
    if status != 200:
        raise RuntimeError(f"GET /metrics answered {status}: {body[:200]!r}")
    return parse_metrics(decode_body(hdrs, body))


# --------------------------------------------------------------------------
# Exposition format parser (text 0.0.4; reads OpenMetrics 1.0 too)
# --------------------------------------------------------------------------

class ParseError(ValueError):
    pass


class Sample:
    __slots__ = ("name", "labels", "value", "timestamp", "line")

    def __init__(self, name, labels, value, timestamp, line):
        self.name = name
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
        self.line = line

    def __repr__(self):
        return f"Sample({self.name!r}, {self.labels!r}, {self.value!r}, ts={self.timestamp!r})"


class Exposition:
    """Parsed body: ``samples`` (list of Sample, in order), ``types`` and
    ``helps`` (dict metric/family name -> str), ``eof`` (saw ``# EOF``)."""

    def __init__(self):
        self.samples = []
        self.types = {}
        self.helps = {}
        self.eof = False


_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped",
          "unknown", "gaugehistogram", "stateset", "info"}


def parse_value(tok):
    """A sample value as Go's ParseFloat would read it (+Inf, -Inf, NaN)."""
    low = tok.lower()
    if low in ("+inf", "inf"):
        return math.inf
    if low == "-inf":
        return -math.inf
    if low == "nan":
        return math.nan
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?0[xX][0-9a-fA-F]+", tok):
        raise ParseError(f"invalid value {tok!r}")
    if tok.lstrip("+-").lower().startswith("0x"):
        return float(int(tok, 16))
    return float(tok)


def _parse_labels(line, i, lineno):
    """Parse `{a="x",b="y"}` starting at line[i] == '{'. Returns (dict, next index)."""
    labels = {}
    i += 1
    n = len(line)
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i < n and line[i] == "}":
            return labels, i + 1
        m = _LABEL_RE.match(line, i)
        if not m:
            raise ParseError(f"line {lineno}: bad label name at column {i}: {line!r}")
        lname = m.group(0)
        i = m.end()
        while i < n and line[i] in " \t":
            i += 1
        if i >= n or line[i] != "=":
            raise ParseError(f"line {lineno}: expected '=' after label {lname}: {line!r}")
        i += 1
        while i < n and line[i] in " \t":
            i += 1
        if i >= n or line[i] != '"':
            raise ParseError(f"line {lineno}: expected '\"' for label {lname}: {line!r}")
        i += 1
        buf = []
        while True:
            if i >= n:
                raise ParseError(f"line {lineno}: unterminated label value: {line!r}")
            c = line[i]
            if c == "\\":
                if i + 1 >= n:
                    raise ParseError(f"line {lineno}: dangling backslash: {line!r}")
                e = line[i + 1]
                if e == "\\":
                    buf.append("\\")
                elif e == '"':
                    buf.append('"')
                elif e == "n":
                    buf.append("\n")
                else:
                    raise ParseError(f"line {lineno}: invalid escape sequence \\{e}: {line!r}")
                i += 2
                continue
            if c == '"':
                i += 1
                break
            buf.append(c)
            i += 1
        if lname in labels:
            raise ParseError(f"line {lineno}: duplicate label {lname}: {line!r}")
        if lname == "__name__":
            raise ParseError(f"line {lineno}: __name__ used as a label: {line!r}")
        labels[lname] = "".join(buf)
        while i < n and line[i] in " \t":
            i += 1
        if i < n and line[i] == ",":
            i += 1
            continue
        if i < n and line[i] == "}":
            return labels, i + 1
        raise ParseError(f"line {lineno}: expected ',' or '}}' in labels: {line!r}")


def parse_exposition(text):
    """Parse a Prometheus text 0.0.4 (or OpenMetrics 1.0) body strictly.

    Raises ParseError on: a bad metric/label name, an invalid escape, a
    non-float value, a non-integer timestamp, text after the timestamp, a
    second HELP/TYPE for a name, a TYPE after that name's samples, a
    duplicate series, a body not ending in a newline.
    """
    if text and not text.endswith("\n"):
        raise ParseError("body does not end with a newline")
    ex = Exposition()
    seen = set()
    names_with_samples = set()
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip(" \t")
        if not line:
            continue
        if ex.eof:
            raise ParseError(f"line {lineno}: content after # EOF: {raw!r}")
        if line.startswith("#"):
            parts = line[1:].strip(" \t").split(None, 2)
            if parts[:1] == ["EOF"] and len(parts) == 1:
                ex.eof = True
                continue
            if len(parts) >= 2 and parts[0] in ("HELP", "TYPE", "UNIT"):
                kind, mname = parts[0], parts[1]
                rest = parts[2] if len(parts) > 2 else ""
                if not _NAME_RE.fullmatch(mname):
                    raise ParseError(f"line {lineno}: bad metric name in {kind}: {raw!r}")
                if kind == "HELP":
                    if mname in ex.helps:
                        raise ParseError(f"line {lineno}: second HELP for {mname}")
                    ex.helps[mname] = rest
                elif kind == "TYPE":
                    if mname in ex.types:
                        raise ParseError(f"line {lineno}: second TYPE for {mname}")
                    if rest not in _TYPES:
                        raise ParseError(f"line {lineno}: unknown type {rest!r}")
                    if mname in names_with_samples:
                        raise ParseError(f"line {lineno}: TYPE for {mname} after its samples")
                    ex.types[mname] = rest
            continue  # other comments
        m = _NAME_RE.match(line)
        if not m:
            raise ParseError(f"line {lineno}: bad metric name: {raw!r}")
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = _parse_labels(line, i, lineno)
        rest = line[i:]
        if rest and rest[0] not in " \t":
            raise ParseError(f"line {lineno}: no blank between name/labels and value: {raw!r}")
        toks = rest.split()
        if len(toks) not in (1, 2):
            raise ParseError(f"line {lineno}: expected 'value [timestamp]': {raw!r}")
        value = parse_value(toks[0])
        ts = None
        if len(toks) == 2:
            if not re.fullmatch(r"-?\d+(\.\d+)?", toks[1]):
                raise ParseError(f"line {lineno}: bad timestamp {toks[1]!r}")
            ts = toks[1]
        key = (name, frozenset(labels.items()))
        if key in seen:
            raise ParseError(f"line {lineno}: duplicate series {name}{labels}")
        seen.add(key)
        names_with_samples.add(name)
        ex.samples.append(Sample(name, labels, value, ts, raw))
    return ex


def parse_metrics(text):
    """{(name, frozenset(labels.items())): float} for every sample in `text`."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for s in parse_exposition(text).samples}


def series(metrics, metric, /, **labels):
    """Samples of metric `metric` whose labels include all `labels` (exact values).

    Returns a list of (labels_dict, value), sorted by labels for stable output.
    The first two parameters are positional-only, so ``name=`` and ``metric=``
    are usable as label filters: ``series(m, "container_threads", name="abc")``.
    Pass label names that are Python keywords via ``**{"class": "x"}``.
    """
    out = []
    for (n, ls), v in metrics.items():
        if n != metric:
            continue
        d = dict(ls)
        if all(d.get(k) == str(val) for k, val in labels.items()):
            out.append((d, v))
    out.sort(key=lambda lv: sorted(lv[0].items()))
    return out


def value(metrics, metric, /, **labels):
    """The value of the one series of `metric` matching `labels`; None when none does.

    Raises AssertionError when more than one series matches.
    """
    s = series(metrics, metric, **labels)
    if not s:
        return None
    if len(s) > 1:
        raise AssertionError(f"{len(s)} series of {metric} match {labels}: {s}")
    return s[0][1]


def promtool_check_metrics(body, promtool="/usr/bin/promtool"):
    """Run ``promtool check metrics`` on body (bytes/str); -> (rc, output)."""
    if isinstance(body, str):
        body = body.encode()
    p = subprocess.run([promtool, "check", "metrics"], input=body, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------
# Real cgroup v2
# --------------------------------------------------------------------------

def _unescape_mountinfo(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def find_cgroup2_mount(mountinfo="/proc/self/mountinfo"):
    """Mount point of the cgroup2 hierarchy (pure v2 or hybrid), or None.

    Prefers /sys/fs/cgroup, then /sys/fs/cgroup/unified, then any other.
    """
    found = []
    try:
        with open(mountinfo) as f:
            for line in f:
                left, sep, right = line.partition(" - ")
                if not sep:
                    continue
                if right.split()[0] != "cgroup2":
                    continue
                found.append(_unescape_mountinfo(left.split()[4]))
    except OSError:
        return None
    for pref in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if pref in found:
            return pref
    return found[0] if found else None


def random_container_id():
    """A 64-hex id like Docker's."""
    return "%064x" % random.getrandbits(256)


def _write(path, data):
    with open(path, "w") as f:
        f.write(data)


def _read(path):
    with open(path) as f:
        return f.read()


class CgroupContainer:
    """One fake container cgroup made by CgroupSandbox.

    Attributes: ``id`` (64 hex), ``name12`` (first 12 hex, cstatd's default
    `name`), ``path`` (absolute), ``rel`` (relative to the cgroup2 mount),
    ``id_label`` ("/" + rel, cstatd's `id` label), ``procs`` (Popen list).
    """

    def __init__(self, sandbox, cid, path):
        self.sandbox = sandbox
        self.id = cid
        self.name12 = cid[:12]
        self.path = path
        self.rel = os.path.relpath(path, sandbox.mount)
        self.id_label = "/" + self.rel
        self.procs = []
        self.removed = False

    def file(self, name):
        return os.path.join(self.path, name)

    def read(self, name):
        return _read(self.file(name))

    def cpu_usage_usec(self):
        """usage_usec from the kernel's cpu.stat, read directly."""
        for line in self.read("cpu.stat").splitlines():
            k, _, v = line.partition(" ")
            if k == "usage_usec":
                return int(v)
        raise RuntimeError(f"no usage_usec in {self.file('cpu.stat')}")

    def pids(self):
        try:
            return [int(x) for x in self.read("cgroup.procs").split()]
        except OSError:
            return []

    def start(self, argv):
        """Start argv with its pid already in this cgroup (moved before exec)."""
        procs_file = self.file("cgroup.procs")

        def enter():
            with open(procs_file, "w") as f:
                f.write(str(os.getpid()))

        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, preexec_fn=enter,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def start_busy(self):
        """A process spinning one CPU."""
        return self.start(["sh", "-c", "while :; do :; done"])

    def start_sleeper(self):
        return self.start(["sleep", "1000"])

    def freeze(self, frozen=True):
        _write(self.file("cgroup.freeze"), "1" if frozen else "0")

    def frozen(self):
        for line in self.read("cgroup.events").splitlines():
            k, _, v = line.partition(" ")
            if k == "frozen":
                return v.strip() == "1"
        return False

    def kill_processes(self, timeout=5.0):
        """SIGKILL everything in the cgroup and reap our children."""
        if os.path.exists(self.path):
            with contextlib.suppress(OSError):
                self.freeze(False)
            if os.path.exists(self.file("cgroup.kill")):
                with contextlib.suppress(OSError):
                    _write(self.file("cgroup.kill"), "1")
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError, OSError):
                p.kill()
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=timeout)
        # Processes die asynchronously; wait until the cgroup is empty.
        poll(lambda: not os.path.exists(self.path) or not self.pids(), timeout, 0.05)

    def remove(self, timeout=5.0):
        """Kill the processes and rmdir the cgroup (retrying on EBUSY)."""
        self.kill_processes(timeout)
        _rmdir_retry(self.path, timeout)
        self.removed = True


def _rmdir_retry(path, timeout=5.0):
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 2):
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.monotonic() >= deadline:
                print(f"  .. could not rmdir {path}: {e}", flush=True)
                return False
            time.sleep(0.05)
    return False


class CgroupSandbox:
    """Throw-away cgroups on the real cgroup2 hierarchy, in Docker's cgroupfs
    layout: ``<mount>/cstatd-test-<pid>-<rand>/docker/<64 hex>``.

        with ct.CgroupSandbox() as sb:
            busy = sb.add_container(); busy.start_busy()
            idle = sb.add_container(); idle.start_sleeper()
            idle.freeze(); ...; idle.remove()

    On exit every process started in it is killed and waited for, and all
    directories are removed bottom-up (retrying on EBUSY), also on failure.
    Needs root.
    """

    def __init__(self, mount=None, prefix="cstatd-test"):
        self.mount = mount or find_cgroup2_mount()
        if self.mount is None:
            raise RuntimeError("no cgroup2 mount")
        self.base = os.path.join(
            self.mount, f"{prefix}-{os.getpid()}-{random.getrandbits(32):08x}")
        self.docker_dir = os.path.join(self.base, "docker")
        self.containers = []

    def __enter__(self):
        self.remove_stale(self.mount)
        os.mkdir(self.base)
        os.mkdir(self.docker_dir)
        return self

    @staticmethod
    def remove_stale(mount, prefix="cstatd-test"):
        """rmdir empty sandboxes left by test runs that were SIGKILLed.

        Only directories named <prefix>-<pid>-<8 hex> whose pid is gone are
        touched, and only empty cgroups can be removed (rmdir fails with
        EBUSY on a populated one): no process is ever signalled here.
        """
        pat = re.compile(rf"^{re.escape(prefix)}-(\d+)-[0-9a-f]{{8}}$")
        try:
            names = os.listdir(mount)
        except OSError:
            return
        for n in names:
            m = pat.match(n)
            if not m:
                continue
            pid = int(m.group(1))
            try:
                os.kill(pid, 0)
                continue  # its owner is still running
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
            base = os.path.join(mount, n)
            for root, dirs, _files in os.walk(base, topdown=False):
                for d in dirs:
                    with contextlib.suppress(OSError):
                        os.rmdir(os.path.join(root, d))
            with contextlib.suppress(OSError):
                os.rmdir(base)

    def add_container(self, cid=None):
        cid = cid or random_container_id()
        path = os.path.join(self.docker_dir, cid)
        os.mkdir(path)
        c = CgroupContainer(self, cid, path)
        self.containers.append(c)
        return c

    def live(self):
        return [c for c in self.containers if not c.removed]

    def cleanup(self):
        for c in self.containers:
            with contextlib.suppress(Exception):
                c.kill_processes()
        # Bottom-up removal of everything under base (children made by
        # anything else included), then base itself.
        if os.path.isdir(self.base):
            for root, dirs, _files in os.walk(self.base, topdown=False):
                for d in dirs:
                    _rmdir_retry(os.path.join(root, d))
            _rmdir_retry(self.base)
        for c in self.containers:
            c.removed = True

    def __exit__(self, exc_type, exc, tb):
        self.cleanup()
        return False


# --------------------------------------------------------------------------
# Prometheus
# --------------------------------------------------------------------------

class Prometheus:
    """A real Prometheus server scraping `targets` ("127.0.0.1:<port>" strings).

        with ct.Prometheus([f"127.0.0.1:{d.port}"], job="cstatd") as prom:
            prom.query('up{job="cstatd"}')   # -> list of {"metric":…, "value":[ts,"1"]}

    Storage lives in a temporary directory that is removed on exit; the
    server is terminated (SIGKILL after 10 s) also on failure. Its log is in
    ``prom.log_text()``.
    """

    def __init__(self, targets, job="cstatd", scrape_interval="1s", binary="/usr/bin/prometheus",
                 ready_timeout=30.0, extra_config=""):
        self.targets = list(targets)
        self.job = job
        self.scrape_interval = scrape_interval
        self.binary = binary
        self.ready_timeout = ready_timeout
        self.extra_config = extra_config
        self.port = None
        self.proc = None
        self.tmpdir = None

    def config_text(self):
        tg = ", ".join(json.dumps(t) for t in self.targets)
        return (
            "global:\n"
            f"  scrape_interval: {self.scrape_interval}\n"
            f"  scrape_timeout: {self.scrape_interval}\n"
            f"  evaluation_interval: {self.scrape_interval}\n"
            "scrape_configs:\n"
            f"  - job_name: {json.dumps(self.job)}\n"
            f"    static_configs:\n"
            f"      - targets: [{tg}]\n"
            + self.extra_config
        )

    def __enter__(self):
        if not os.access(self.binary, os.X_OK):
            skip(f"{self.binary} is not installed (apt-get install prometheus)")
        self.tmpdir = tempfile.mkdtemp(prefix="cstatd-prom-")
        try:
            cfg = os.path.join(self.tmpdir, "prometheus.yml")
            _write(cfg, self.config_text())
            self.port = free_port()
            self.log_path = os.path.join(self.tmpdir, "prometheus.log")
            argv = [self.binary, f"--config.file={cfg}",
                    f"--storage.tsdb.path={os.path.join(self.tmpdir, 'data')}",
                    f"--web.listen-address=127.0.0.1:{self.port}"]
            with open(self.log_path, "wb") as lf:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf,
                                             stderr=subprocess.STDOUT, cwd=self.tmpdir)
            print(f"  .. started prometheus pid {self.proc.pid} on 127.0.0.1:{self.port}",
                  flush=True)
            self._wait_ready()
        except BaseException:
            self._cleanup()
            raise
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}:\n"
                                   + self.log_text()[-3000:])
            with contextlib.suppress(OSError):
                status, _, _ = http_request(self.port, "/-/ready", timeout=1.0)
                if status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"prometheus not ready after {self.ready_timeout} s:\n"
                           + self.log_text()[-3000:])

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, AttributeError):
            return ""

    def api(self, path, **params):
        """GET /api/v1/<path>?params -> the decoded JSON "data" (raises on error)."""
        q = urllib.parse.urlencode(params)
        status, _, body = http_request(self.port, f"/api/v1/{path}?{q}", timeout=10.0)
        doc = json.loads(body)
        if status != 200 or doc.get("status") != "success":
            raise RuntimeError(f"prometheus /api/v1/{path} {params}: {status} {doc}")
        return doc["data"]

    def query(self, promql):
        """Instant query -> list of {"metric": {...}, "value": [ts, "str"]}."""
        return self.api("query", query=promql)["result"]

    def targets_state(self):
        return self.api("targets")["activeTargets"]

    def _cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            print("  .. prometheus log (tail):\n" + self.log_text()[-2000:], flush=True)
        self._cleanup()
        return False


# --------------------------------------------------------------------------
# Process figures and raw Prometheus samples (churn soak)
# --------------------------------------------------------------------------

def proc_fd_count(pid):
    """Number of open fds of `pid` (entries of /proc/<pid>/fd), None if gone."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def proc_status_kb(pid, field="VmRSS"):
    """A "kB" field of /proc/<pid>/status (VmRSS, VmHWM, ...) as int, None if absent."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k == field:
                    return int(v.split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return None


def prom_raw_series(prom, selector, range_s, at=None):
    """Raw samples of every series matching `selector` over the `range_s`
    seconds before `at` (default now), as Prometheus stored them (a range
    selector: each sample keeps its scrape's timestamp; staleness markers
    are not returned). -> [(labels dict incl. __name__, [(ts float, value
    float), ...]), ...]"""
    params = {"query": f"{selector}[{int(range_s)}s]"}
    if at is not None:
        params["time"] = f"{at:.3f}"
    data = prom.api("query", **params)
    if data.get("resultType") != "matrix":
        raise RuntimeError(f"expected a matrix for {selector}: {data.get('resultType')}")
    return [(r["metric"], [(float(ts), float(v)) for ts, v in r["values"]])
            for r in data["result"]]


# --------------------------------------------------------------------------
# HTTPS (--web.config.file with TLS and basic auth)
# --------------------------------------------------------------------------

def https_request(port, path, method="GET", ca_file=None, cert=None, key=None, auth=None,
                  headers=None, timeout=5.0, host="127.0.0.1", verify=True):
    """One HTTPS request to host:port.

    `ca_file` verifies the server (``verify=False`` skips it, like curl -k);
    `cert`/`key` present a client certificate; `auth` is (user, password) for
    basic auth. Returns (status, headers dict lower-case, body bytes). Raises
    OSError (ssl.SSLError included) when the connection or handshake fails.
    """
    import base64
    import ssl
    ctx = ssl.create_default_context(cafile=ca_file) if verify else \
        ssl._create_unverified_context()  # noqa: SLF001 - curl -k
    if cert:
        ctx.load_cert_chain(cert, key)
    hdrs = dict(headers or {})
    if auth:
        tok = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        hdrs["Authorization"] = "Basic " + tok
    conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    try:
        conn.request(method, path, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        out = {}
        for k, v in resp.getheaders():
            k = k.lower()
            out[k] = (out[k] + ", " + v) if k in out else v
        return resp.status, out, data
    finally:
        conn.close()


def wait_https_ready(d, timeout=15.0, **tls):
    """Like Cstatd.wait_ready, over HTTPS (pass https_request's TLS keywords)."""
    deadline = time.monotonic() + timeout * time_scale()
    last = None
    while time.monotonic() < deadline:
        if d.proc.poll() is not None:
            raise RuntimeError(f"cstatd exited with status {d.proc.returncode} before it was "
                               f"ready; stderr:\n{d.stderr_tail()}")
        try:
            status, _, _ = https_request(d.port, "/readyz", timeout=1.0, **tls)
            last = status
            if status == 200:
                return
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError(f"cstatd not ready over https after {timeout} s (last: {last!r}); "
                       f"stderr:\n{d.stderr_tail()}")
