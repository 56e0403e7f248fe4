# SPDX-License-Identifier: Apache-2.0
"""Shared machinery of cstatd's benchmarks (Python 3.11, stdlib only).

Benchmarks print figures; they assert nothing about speed (../shared/TESTING.md,
"Benchmarks are not tests"). What is here:

    Fleet(n, netns="own")   context manager: n real cgroups in Docker's cgroupfs
                            layout <cgroup2 mount>/cstatd-bench-<pid>-<rand>/docker/<64 hex>,
                            one sleeping process in each (in a network namespace
                            of its own, as a Docker container has, unless netns="host").
                            add()/remove() for churn; everything is killed and
                            rmdir'ed on exit, also on failure or SIGTERM.
    Daemon(argv)            cstatd (or anything with /readyz) on a free port;
                            optional wrapper argv (valgrind, perf).
    ProcStat                utime+stime (clock ticks), schedstat ns, RSS/HWM, fds,
                            per-thread CPU, from /proc.
    Floor                   runs cstatd-bench-floor (floor.c) on a list of cgroups.
    run_wrk(url, ...)       wrk -c4 -t2 --latency, parsed.
    prom_scraper(port)      background scrapes with Prometheus 2.42's headers.
    median(), fmt helpers, write_result() (JSON lines for docs/benchmarks.md).

Every loop is bounded in count and time; every process and cgroup made here is
cleaned up by pid/path, never by name.
"""

import contextlib
import errno
import gzip
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "integration", "lib"))

import cstatd_test as ct  # noqa: E402

SKIP_CODE = 77
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# What Prometheus 2.42 (Debian 12) sends when it scrapes.
PROM_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
              "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
    "User-Agent": "Prometheus/2.42.0",
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def skip(reason):
    print("SKIP: " + reason, flush=True)
    raise SystemExit(SKIP_CODE)


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def install_signal_handlers():
    """SIGTERM/SIGHUP unwind through the `with` blocks, so cleanup runs."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_sigterm)


def raise_nofile(n):
    """Raise this process's RLIMIT_NOFILE (soft and hard) to at least n, so that
    cstatd and the floor (children) may raise their soft limit that far.
    Returns the (soft, hard) now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
        except (ValueError, OSError) as e:
            log(f"cannot raise RLIMIT_NOFILE to {n}: {e}")
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    """(min, max) of the non-None values, or (None, None)."""
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def machine_info():
    info = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "kernel": os.uname().release,
            "cpus": os.cpu_count()}
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    with contextlib.suppress(OSError):
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
    with contextlib.suppress(OSError):
        with open("/proc/loadavg") as f:
            info["loadavg"] = f.read().split()[:3]
    with contextlib.suppress(Exception):
        info["revision"] = subprocess.run(["git", "-C", REPO_ROOT, "rev-parse", "--short", "HEAD"],
                                          capture_output=True, text=True,
                                          timeout=5).stdout.strip()
    return info


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


# --------------------------------------------------------------------------
# Binaries
# --------------------------------------------------------------------------

def find_cstatd():
    env = os.environ.get("CSTATD_BIN")
    if env:
        return env
    for d in ("build-bench", "build-it", "build"):
        p = os.path.join(REPO_ROOT, d, "cstatd")
        if os.access(p, os.X_OK):
            return p
    raise RuntimeError("cstatd binary not found: set CSTATD_BIN or build into build-bench/")


def find_floor(cstatd_bin=None):
    """The floor program: $CSTATD_FLOOR_BIN, <build>/tests/bench/cstatd-bench-floor
    next to the cstatd binary, else compiled from floor.c into a cache dir."""
    env = os.environ.get("CSTATD_FLOOR_BIN")
    if env:
        return env
    cands = []
    if cstatd_bin:
        cands.append(os.path.join(os.path.dirname(os.path.abspath(cstatd_bin)), "tests",
                                  "bench", "cstatd-bench-floor"))
    for d in ("build-bench", "build-it", "build"):
        cands.append(os.path.join(REPO_ROOT, d, "tests", "bench", "cstatd-bench-floor"))
    src = os.path.join(HERE, "floor.c")
    for c in cands:
        if os.access(c, os.X_OK) and os.path.getmtime(c) >= os.path.getmtime(src):
            return c
    out_dir = os.path.join(tempfile.gettempdir(), "cstatd-bench-bin")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "cstatd-bench-floor")
    if not (os.access(out, os.X_OK) and os.path.getmtime(out) >= os.path.getmtime(src)):
        cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
        if not cc:
            raise RuntimeError("no C compiler to build tests/bench/floor.c")
        subprocess.run([cc, "-O2", "-g", "-D_GNU_SOURCE", "-o", out, src], check=True,
                       timeout=120)
    return out


# --------------------------------------------------------------------------
# /proc
# --------------------------------------------------------------------------

def _read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


class ProcStat:
    """One reading of a process's cost counters."""

    def __init__(self, pid):
        self.pid = pid
        self.t = time.monotonic()
        st = _read(f"/proc/{pid}/stat")
        fields = st[st.rindex(")") + 2:].split()
        self.utime = int(fields[11])
        self.stime = int(fields[12])
        self.threads = int(fields[17])
        status = _read(f"/proc/{pid}/status")
        self.rss_kb = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
        self.hwm_kb = int(re.search(r"^VmHWM:\s+(\d+)", status, re.M).group(1))
        m = re.search(r"^RssAnon:\s+(\d+)", status, re.M)
        self.rss_anon_kb = int(m.group(1)) if m else None
        self.fds = len(os.listdir(f"/proc/{pid}/fd"))
        self.tasks = {}
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                self.tasks[int(tid)] = int(_read(f"/proc/{pid}/task/{tid}/schedstat").split()[0])
        # /proc/<pid>/schedstat is the main thread only: sum the threads.
        self.sched_ns = sum(self.tasks.values())

    @property
    def ticks(self):
        return self.utime + self.stime


class Window:
    """CPU between two ProcStat readings."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.seconds = b.t - a.t
        self.cpu_ticks_s = (b.ticks - a.ticks) / CLK_TCK          # utime+stime
        self.cpu_sched_s = (b.sched_ns - a.sched_ns) / 1e9          # schedstat (ns)
        self.utime_s = (b.utime - a.utime) / CLK_TCK
        self.stime_s = (b.stime - a.stime) / CLK_TCK
        self.task_s = {tid: (b.tasks[tid] - a.tasks.get(tid, 0)) / 1e9 for tid in b.tasks}

    def pct_ticks(self):
        return 100.0 * self.cpu_ticks_s / self.seconds

    def pct_sched(self):
        return 100.0 * self.cpu_sched_s / self.seconds

    def busiest_task(self):
        return max(self.task_s.items(), key=lambda kv: kv[1]) if self.task_s else (None, 0.0)


def pids_cpu_ns(pids):
    """Sum of schedstat run time (ns) of the given pids (threads included);
    pids that are gone count 0."""
    total = 0
    for p in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(_read(f"/proc/{p}/schedstat").split()[0])
    return total


# --------------------------------------------------------------------------
# Real cgroups with a sleeper each
# --------------------------------------------------------------------------

def random_id():
    return "%064x" % random.getrandbits(256)


def _rmdir_retry(path, timeout=5.0):
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.02) + 2):
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.monotonic() > deadline:
                log(f"cannot rmdir {path}: {e}")
                return False
            time.sleep(0.02)
    return False


class Fleet:
    """n real cgroups <mount>/<prefix>-<pid>-<rand>/docker/<id>, a sleeper in each.

    netns="own": each sleeper runs under `unshare -n` (a network namespace of
    its own with only `lo`, as `docker run --network none` gives), so cstatd
    reads /proc/<pid>/net/dev for it; "host": sleepers share the host's.
    """

    PREFIX = "cstatd-bench"

    def __init__(self, n=0, netns="own", mount=None, sleeper=("sleep", "86400")):
        self.mount = mount or ct.find_cgroup2_mount()
        if not self.mount:
            raise RuntimeError("no cgroup2 mount")
        self.n_initial = n
        self.netns = netns
        self.sleeper = list(sleeper)
        self.base = os.path.join(self.mount,
                                 f"{self.PREFIX}-{os.getpid()}-{random.getrandbits(32):08x}")
        self.docker_dir = os.path.join(self.base, "docker")
        self.members = {}  # id -> Popen
        self.removed = 0

    def rel(self, cid):
        return os.path.relpath(os.path.join(self.docker_dir, cid), self.mount)

    def ids(self):
        return list(self.members)

    @classmethod
    def remove_stale(cls, mount):
        """Remove fleets left by benchmark runs that were SIGKILLed: only
        <prefix>-<pid>-<8 hex> directories whose pid is gone; their sleepers
        are killed through cgroup.kill (ours by construction), then rmdir."""
        pat = re.compile(rf"^{re.escape(cls.PREFIX)}-(\d+)-[0-9a-f]{{8}}$")
        with contextlib.suppress(OSError):
            for name in os.listdir(mount):
                m = pat.match(name)
                if not m or os.path.exists(f"/proc/{m.group(1)}"):
                    continue
                base = os.path.join(mount, name)
                log(f"removing stale benchmark cgroups {base}")
                with contextlib.suppress(OSError):
                    with open(os.path.join(base, "cgroup.kill"), "w") as f:
                        f.write("1")
                for root, dirs, _files in os.walk(base, topdown=False):
                    for d in dirs:
                        _rmdir_retry(os.path.join(root, d))
                _rmdir_retry(base)

    def __enter__(self):
        self.remove_stale(self.mount)
        os.mkdir(self.base)
        os.mkdir(self.docker_dir)
        try:
            t0 = time.monotonic()
            for i in range(self.n_initial):
                self.add()
                if (i + 1) % 1000 == 0:
                    log(f"  {i + 1} cgroups made")
            if self.n_initial:
                log(f"made {self.n_initial} cgroups with a sleeper each "
                    f"(netns={self.netns}) in {time.monotonic() - t0:.1f} s under {self.base}")
        except BaseException:
            self.cleanup()
            raise
        return self

    def add(self, cid=None):
        cid = cid or random_id()
        path = os.path.join(self.docker_dir, cid)
        os.mkdir(path)
        argv = (["unshare", "-n"] if self.netns == "own" else []) + self.sleeper
        try:
            # Spawned (vfork) first, then moved: no preexec_fn, which is unsafe
            # with threads (the churn benchmark scrapes from a thread).
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, close_fds=True)
        except BaseException:
            _rmdir_retry(path, 1.0)
            raise
        try:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(p.pid))
        except BaseException:
            p.kill()
            p.wait(timeout=5)
            _rmdir_retry(path, 1.0)
            raise
        self.members[cid] = p
        return cid

    def remove(self, cid, timeout=5.0):
        p = self.members.pop(cid)
        with contextlib.suppress(ProcessLookupError):
            p.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=timeout)
        _rmdir_retry(os.path.join(self.docker_dir, cid), timeout)
        self.removed += 1

    def cleanup(self):
        t0 = time.monotonic()
        procs = list(self.members.values())
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
        if os.path.isdir(self.base):
            for root, dirs, _files in os.walk(self.base, topdown=False):
                for d in dirs:
                    _rmdir_retry(os.path.join(root, d))
            _rmdir_retry(self.base)
        n = len(self.members)
        self.members.clear()
        if n:
            log(f"removed {n} cgroups and their sleepers in {time.monotonic() - t0:.1f} s")

    def __exit__(self, *exc):
        self.cleanup()
        return False


# --------------------------------------------------------------------------
# cstatd
# --------------------------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """cstatd on 127.0.0.1:<free port>, optionally under a wrapper (valgrind...)."""

    def __init__(self, args, binary=None, wrapper=(), ready_timeout=60.0, env=None):
        self.binary = binary or find_cstatd()
        self.port = free_port()
        self.argv = list(wrapper) + [self.binary] + list(args) + [
            "--listen", f"127.0.0.1:{self.port}"]
        self.ready_timeout = ready_timeout
        self.env = env
        self.proc = None
        self.tmpdir = None

    @property
    def pid(self):
        return self.proc.pid

    def __enter__(self):
        self.tmpdir = tempfile.mkdtemp(prefix="cstatd-bench-run-")
        self.stderr_path = os.path.join(self.tmpdir, "stderr.log")
        with open(self.stderr_path, "wb") as ef:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=ef, env=self.env)
        log(f"started pid {self.proc.pid}: {' '.join(self.argv)}")
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cstatd exited ({self.proc.returncode}) before ready:\n"
                                   + self.stderr_tail())
            with contextlib.suppress(OSError):
                status, _, _ = http_get(self.port, "/readyz", timeout=2.0)
                if status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"cstatd not ready after {self.ready_timeout} s:\n"
                           + self.stderr_tail())

    def stderr_tail(self, n=20):
        try:
            lines = _read(self.stderr_path).splitlines()
        except OSError:
            return ""
        return "\n".join("    | " + ln for ln in lines[-n:])

    def stat(self):
        return ProcStat(self.proc.pid)

    def stop(self, timeout=30.0):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"pid {self.proc.pid} did not stop in {timeout} s: SIGKILL")
                self.proc.kill()
                self.proc.wait(timeout=10)
        rc = self.proc.returncode if self.proc else None
        if self.tmpdir:
            self.stderr_saved = ""
            with contextlib.suppress(OSError):
                self.stderr_saved = _read(self.stderr_path)
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
        return rc

    def __exit__(self, *exc):
        self.stop()
        return False


def http_get(port, path="/metrics", headers=None, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=dict(headers or {}))
        r = conn.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        conn.close()


def metrics_text(port, headers=None):
    status, hdrs, body = http_get(port, headers=headers)
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    if "gzip" in hdrs.get("content-encoding", ""):
        body = gzip.decompress(body)
    return body.decode("utf-8")


def try_metrics_text(port, headers=None, attempts=10, pause=1.0):
    """metrics_text(), retried (bounded) when cstatd cannot answer (e.g. out of
    fds: it cannot accept). Returns (text or None, failures)."""
    failures = 0
    for _ in range(attempts):
        try:
            return metrics_text(port, headers=headers), failures
        except Exception:  # noqa: BLE001 - any HTTP failure counts
            failures += 1
            time.sleep(pause)
    return None, failures


def count_samples(text):
    return sum(1 for ln in text.splitlines() if ln and not ln.startswith("#"))


_ID_RE = re.compile(r'^container_cpu_usage_seconds_total\{[^}]*\bid="([^"]*)"', re.M)


def tracked_ids(text):
    """cgroup paths (cstatd's `id` label) of every container with a CPU series."""
    return _ID_RE.findall(text)


def metric_value(text, name):
    m = re.search(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def body_sizes(port):
    """Sizes of the text body plain and gzipped, and of what Prometheus gets."""
    out = {}
    _, h, b = http_get(port)
    out["plain_bytes"] = len(b)
    text = b.decode("utf-8")
    out["samples"] = count_samples(text)
    out["series_lines"] = out["samples"]
    # A variant nobody asked for in the last minute is rendered from the next
    # sweep on: ask, wait for a sweep, ask again (bounded).
    out["gzip_bytes"] = None
    for _ in range(10):
        _, h, b = http_get(port, headers={"Accept-Encoding": "gzip"})
        if "gzip" in h.get("content-encoding", ""):
            out["gzip_bytes"] = len(b)
            break
        time.sleep(0.5)
    _, h, b = http_get(port, headers=PROM_HEADERS)
    out["prom_bytes"] = len(b)
    out["prom_content_type"] = h.get("content-type")
    out["prom_gzip"] = "gzip" in h.get("content-encoding", "")
    return out, text


class PromScraper:
    """Scrapes /metrics every `period` s with Prometheus 2.42's headers, as a
    real Prometheus would, in a background thread (bounded by max_seconds)."""

    def __init__(self, port, period=15.0, max_seconds=3600.0):
        self.port, self.period, self.max_seconds = port, period, max_seconds
        self.stop_ev = threading.Event()
        self.count = 0
        self.errors = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        t_end = time.monotonic() + self.max_seconds
        while not self.stop_ev.is_set() and time.monotonic() < t_end:
            try:
                http_get(self.port, headers=PROM_HEADERS, timeout=10)
                self.count += 1
            except Exception:  # noqa: BLE001 - connection refused/reset, bad status line
                self.errors += 1
            self.stop_ev.wait(self.period)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.thread.join(timeout=15)
        return False


# --------------------------------------------------------------------------
# The floor
# --------------------------------------------------------------------------

def cstatd_read_policy(interval_ms):
    """floor.c options that read what cstatd reads at a sweep of a fleet of
    sleepers (CG_FILES in collectors/cgroup/cgroup_priv.h): cgroup.events and
    memory.events only when the kernel says they changed (never, while nothing
    happens in the fleet), cgroup.procs of a cgroup that used no CPU every
    10 s, and everything at the 30 s rescan."""
    every = lambda s: str(max(1, round(s * 1000 / interval_ms)))  # noqa: E731
    return ["--period", "cgroup.events=0", "--period", "memory.events=0",
            "--period", "cgroup.procs=" + every(10), "--full-every", every(30)]


class Floor:
    """cstatd-bench-floor over the cgroups in `rels`, in the background.

    When the cgroups need more fds than RLIMIT_NOFILE allows one process
    (about 8 per cgroup), the list is split over several floor processes run
    at once, and their figures are summed: the floor is the cost of the reads,
    whichever process does them."""

    FDS_PER_CGROUP = 9  # dir + up to 7 files + net/dev, rounded up

    def __init__(self, mount, rels, duration, interval_ms=1000, netdev=False, per_file=False,
                 binary=None, policy=True):
        self.binary = binary or find_floor(find_cstatd())
        rels = [r.lstrip("/") for r in rels]
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[1]  # the floor raises soft to hard
        per_proc = max(1, (soft - 64) // self.FDS_PER_CGROUP)
        self.shards = [rels[i:i + per_proc] for i in range(0, len(rels), per_proc)] or [[]]
        self.argvs, self.lists = [], []
        for shard in self.shards:
            tmp = tempfile.NamedTemporaryFile("w", prefix="cstatd-bench-list-", delete=False)
            tmp.write("".join(r + "\n" for r in shard))
            tmp.close()
            self.lists.append(tmp.name)
            argv = [self.binary, "--root", mount, "--list", tmp.name, "--interval-ms",
                    str(interval_ms), "--duration", str(duration)]
            if netdev:
                argv.append("--netdev")
            if per_file:
                argv.append("--per-file")
            if policy:
                argv += cstatd_read_policy(interval_ms)
            self.argvs.append(argv)
        self.procs = []
        self.result = None

    def start(self):
        for argv in self.argvs:
            self.procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        return self

    def wait(self, timeout):
        results = []
        deadline = time.monotonic() + timeout
        try:
            for p in self.procs:
                try:
                    out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.send_signal(signal.SIGTERM)
                    out, err = p.communicate(timeout=10)
                if p.returncode != 0:
                    raise RuntimeError(f"floor failed ({p.returncode}): {err.decode()[-500:]}")
                results.append(json.loads(out))
        finally:
            self._unlink()
        self.result = merge_floor(results)
        return self.result

    def _unlink(self):
        for name in self.lists:
            with contextlib.suppress(OSError):
                os.unlink(name)

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        self._unlink()


def merge_floor(results):
    """Sum the figures of floor shards (same sweeps, disjoint cgroups)."""
    if len(results) == 1:
        r = dict(results[0])
        r["processes"] = 1
        return r
    out = {"processes": len(results), "files": {}}
    for k in ("cgroups", "fds", "open_errors", "cpu_s", "utime_s", "stime_s",
              "cpu_per_sweep_us_mean", "cpu_per_sweep_us_median", "cpu_per_sweep_us_p90",
              "reads", "read_errors", "gone", "bytes"):
        out[k] = sum(r.get(k, 0) for r in results)
    out["sweeps"] = min(r["sweeps"] for r in results)
    out["elapsed_s"] = max(r["elapsed_s"] for r in results)
    out["wall_per_sweep_us_median"] = max(r["wall_per_sweep_us_median"] for r in results)
    out["periods"] = results[0].get("periods", {})
    out["full_every"] = results[0].get("full_every", 0)
    for r in results:
        for f, c in r.get("files", {}).items():
            out["files"][f] = out["files"].get(f, 0) + c
        for f, c in r.get("per_file_cpu_us_per_sweep", {}).items():
            out.setdefault("per_file_cpu_us_per_sweep", {})
            out["per_file_cpu_us_per_sweep"][f] = \
                out["per_file_cpu_us_per_sweep"].get(f, 0) + c
    return out


# --------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------

def _to_ms(s):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", s.strip())
    if not m:
        return None
    v, u = float(m.group(1)), m.group(2)
    return v / 1000.0 if u == "us" else v if u == "ms" else v * 1000.0 if u == "s" else v * 60000


def run_wrk(url, connections=4, threads=2, duration=20, headers=None, timeout_s=10):
    """wrk --latency; returns dict with requests, rps, p50/p75/p90/p99 (ms), errors."""
    wrk = shutil.which("wrk")
    if not wrk:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    argv = [wrk, f"-c{connections}", f"-t{threads}", f"-d{duration}s", "--latency",
            f"--timeout={timeout_s}s"]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(url)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    out = p.stdout
    res = {"argv": " ".join(argv[1:]), "raw": out}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = _to_ms(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([0-9.]+)(\w+)", out)
    res["requests"] = int(m.group(1)) if m else None
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    res["rps"] = float(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    if m:
        res["mean_ms"], res["max_ms"] = _to_ms(m.group(1)), _to_ms(m.group(3))
    return res


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------

def write_result(path, record):
    """Append one JSON object per line to `path` (None: stdout only)."""
    line = json.dumps(record, sort_keys=True)
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def f1(x, unit="", nd=1):
    return "n/a" if x is None else f"{x:.{nd}f}{unit}"


# --------------------------------------------------------------------------
# Sweep thread and phase
# --------------------------------------------------------------------------

def task_ns(pid, tid):
    try:
        return int(_read(f"/proc/{pid}/task/{tid}/schedstat").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def find_sweep_thread(pid, seconds=2.5):
    """The thread that burns CPU when nobody scrapes: the sweep thread."""
    a = ProcStat(pid)
    time.sleep(seconds)
    b = ProcStat(pid)
    return Window(a, b).busiest_task()[0]


def wait_sweep_edge(pid, tid, timeout=3.0, poll_s=0.004):
    """Poll the sweep thread's run time until it jumps (a sweep ran); return
    the monotonic time of that jump, or None. Used to start the floor half an
    interval away from cstatd's sweeps so the two never read at once."""
    last = task_ns(pid, tid)
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        time.sleep(poll_s)
        now = task_ns(pid, tid)
        if now is None or last is None:
            return None
        if now - last > 200_000 and quiet >= 10:  # >0.2 ms after >=40 ms of quiet
            return time.monotonic()
        quiet = quiet + 1 if now == last else 0
        last = now
    return None


def fd_kinds(pid, cgroup_mount=None):
    """Open fds of a process by kind: cgroup files, /proc files, sockets,
    anon inodes, pipes, other. A socket count may move by one or two with
    connection reuse (HTTP clients, the Docker socket); file fds must not."""
    kinds = {}
    mount = cgroup_mount or ct.find_cgroup2_mount() or "/sys/fs/cgroup"
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return kinds
    for n in names:
        try:
            t = os.readlink(f"/proc/{pid}/fd/{n}")
        except OSError:
            continue
        k = ("cgroup" if t.startswith(mount) else "proc" if t.startswith("/proc/")
             else "socket" if t.startswith("socket:") else "pipe" if t.startswith("pipe:")
             else "anon" if t.startswith("anon_inode:") else "other")
        kinds[k] = kinds.get(k, 0) + 1
    return kinds


def non_socket(kinds):
    return {k: v for k, v in kinds.items() if k != "socket"}
