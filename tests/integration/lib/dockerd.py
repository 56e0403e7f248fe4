# SPDX-License-Identifier: Apache-2.0
"""A private, throw-away dockerd for cstatd's Docker integration tests
(Python 3, stdlib only). Recipes: ../shared/TESTING.md ("A real dockerd").

    import dockerd as dk
    with dk.PrivateDockerd(mode="v2") as d:        # or mode="v1"
        cid = d.docker("run", "-d", "--name", "busy", "--network", "none",
                       dk.IMAGE, "sh", "-c", "while :; do :; done")
        d.sock          # /tmp/cstatd-dk-XXXX/docker.sock
        d.host_url      # unix:///tmp/cstatd-dk-XXXX/docker.sock (cstatd --docker-host)
        d.kill()        # SIGKILL dockerd by the pid in its pidfile
        d.restart()     # kill (if alive) and start again on the same directories

Modes
    "v1"  dockerd started plainly: on these hybrid hosts it uses the cgroup v1
          controllers, so `docker stats` and the stats API carry full numbers and
          `--memory` limits work.
    "v2"  dockerd started inside a private mount namespace whose /sys/fs/cgroup
          is a cgroup2 mount: every container gets a real v2 cgroup at
          ``<host cgroup2 mount>/docker/<id>`` (visible on the host too). No
          domain controllers there: do not pass --memory/--cpus.

Everything lives in one temporary directory (short path, for the 108-byte
unix socket limit): data-root, exec-root, socket, pidfile, dockerd log, the
docker CLI config. On exit (also on failure or exception) it removes every
container, stops dockerd by its pidfile pid (SIGTERM, then SIGKILL), stops the
private containerd it started (by the pid in exec-root/containerd), kills any
leftover process whose command line names our private directory (by pid),
rmdirs the empty ``docker`` cgroup parents it left, unmounts leftovers under
the directory (exec-root/netns, shm) and removes the directory.

Skips (exit 77, reason printed) when not root, or when dockerd, containerd,
runc, a docker CLI, unshare (v2) or a static busybox is missing.

Nothing here touches /var/run/docker.sock or any other daemon: every CLI call
carries ``-H unix://<our socket>`` and a private DOCKER_CONFIG. Directories of
earlier runs that were SIGKILLed (older than 30 min, dockerd dead, no process
using them) are removed on the next start; SIGTERM becomes SystemExit so a
runner's SIGTERM still cleans up.

Behaviour worth knowing (dockerd 20.10, measured here)
    - Start-up takes ~0.2 s, the busybox import ~0.1 s.
    - dockerd's containerd dies with a SIGKILLed dockerd but may stay an
      unreaped zombie for a moment; a new dockerd that finds its pidfile pid
      "alive" waits forever for it. restart() waits for the pid to vanish
      and drops the stale pidfile otherwise.
    - Without --live-restore, a restarted dockerd STOPS containers that were
      running (SIGTERM, then SIGKILL after the stop timeout, 10 s by default:
      use `--stop-timeout 1` or a TERM trap) and then starts the
      --restart=always ones again: their cgroups are re-created.
    - v1 mode on these hybrid hosts: runc 1.1 also puts each container in
      ``<cgroup2 mount>/docker/<id>`` (cpu.stat, PSI, no memory files).

Helpers for the tests
    IMAGE, parse_size("19.8MiB"), cgroup_cpu_usage_usec(path),
    poll_metrics(port, pred, timeout), measure_rate(port, get, window, ...),
    series_for(metrics, name=, cid=), Scraper(port) (background scrapes every
    0.5 s; wait_for(pred, timeout)), counter_decreases(scrapes, keep, explain).
"""

import contextlib
import errno
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import cstatd_test as ct

IMAGE = "busybox:local"

DOCKERD_CANDIDATES = ("/usr/sbin/dockerd", "/usr/bin/dockerd", "/usr/local/bin/dockerd")
CLI_CANDIDATES = ("/usr/bin/docker", "/usr/local/bin/docker")
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
# Applets linked into the image (everything a test may call inside a container).
APPLETS = ("sh", "ash", "sleep", "yes", "cat", "head", "tr", "dd", "true", "false", "echo",
           "env", "ls", "ps", "kill", "seq", "wc", "tail", "printf", "test", "[", "id",
           "mkdir", "rm", "touch", "date", "grep", "awk", "sed", "stat", "nproc", "top")


def _first_executable(paths):
    for p in paths:
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def _which(name):
    return shutil.which(name)


def find_cli():
    return _first_executable(CLI_CANDIDATES) or _which("docker")


def find_dockerd():
    return _first_executable(DOCKERD_CANDIDATES) or _which("dockerd")


def _is_static(path):
    """True when the ELF at `path` has no PT_INTERP (no dynamic loader)."""
    try:
        with open(path, "rb") as f:
            hdr = f.read(64)
            if hdr[:4] != b"\x7fELF" or hdr[4] != 2:  # 64-bit only
                return False
            phoff = int.from_bytes(hdr[32:40], "little")
            phentsize = int.from_bytes(hdr[54:56], "little")
            phnum = int.from_bytes(hdr[56:58], "little")
            f.seek(phoff)
            ph = f.read(phentsize * phnum)
        for i in range(phnum):
            if int.from_bytes(ph[i * phentsize:i * phentsize + 4], "little") == 3:  # PT_INTERP
                return False
        return True
    except OSError:
        return False


def find_busybox():
    for p in BUSYBOX_CANDIDATES:
        if os.path.isfile(p) and _is_static(p):
            return p
    return None


def require_docker(mode="v1"):
    """Skip (exit 77) unless this machine can run a private dockerd in `mode`."""
    if os.geteuid() != 0:
        ct.skip("this test needs root: it starts a private dockerd (its own socket, "
                "data and exec roots) and reads container cgroups; run it as root")
    if find_dockerd() is None:
        ct.skip("dockerd is not installed (apt-get install -y docker.io)")
    for tool in ("containerd", "runc"):
        if _which(tool) is None:
            ct.skip(f"{tool} is not installed (apt-get install -y docker.io)")
    if find_cli() is None:
        ct.skip("no docker CLI at /usr/bin/docker or /usr/local/bin/docker")
    if find_busybox() is None:
        ct.skip("no statically linked busybox at /bin/busybox "
                "(apt-get install -y busybox-static); it makes the test image")
    if mode == "v2":
        if _which("unshare") is None:
            ct.skip("unshare (util-linux) is missing; needed for the cgroup v2 dockerd")
        if ct.find_cgroup2_mount() is None:
            ct.skip("no cgroup2 hierarchy mounted on this host")


# --------------------------------------------------------------------------
# HTTP over the unix socket (/_ping, small GETs, a create/start)
# --------------------------------------------------------------------------

class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=5.0):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.unix_path)
        except BaseException:
            s.close()
            raise
        self.sock = s


def unix_request(sock_path, method, path, body=None, timeout=5.0):
    """`method` `path` on the unix socket, `body` sent as JSON when given
    -> (status, body bytes). Raises OSError."""
    headers = {"Host": "localhost"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = _UnixHTTPConnection(sock_path, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def unix_get(sock_path, path, timeout=5.0):
    """GET `path` on the unix socket -> (status, body bytes). Raises OSError."""
    return unix_request(sock_path, "GET", path, timeout=timeout)


def _mounts_under(prefix):
    """Mount points at or below `prefix` (deepest first), from /proc/self/mountinfo."""
    prefix = prefix.rstrip("/")
    out = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = ct._unescape_mountinfo(line.split()[4])
                if mp == prefix or mp.startswith(prefix + "/"):
                    out.append(mp)
    except OSError:
        pass
    return sorted(set(out), key=lambda p: -p.count("/"))


def _cgroup_mounts():
    """Mount points of every cgroup (v1) and cgroup2 hierarchy."""
    out = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, sep, right = line.partition(" - ")
                if sep and right.split()[0] in ("cgroup", "cgroup2"):
                    out.append(ct._unescape_mountinfo(left.split()[4]))
    except OSError:
        pass
    return out


def _kill_cgroup(path, timeout=5.0):
    """SIGKILL every process in the cgroup at `path` (cgroup.kill, else by pid)
    and wait (bounded) until it is empty."""
    procs = os.path.join(path, "cgroup.procs")

    def pids():
        try:
            with open(procs) as f:
                return [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            return []

    if not pids():
        return
    _log(f"killing processes left in {path}: {pids()}")
    for name, thaw in (("cgroup.freeze", "0"), ("freezer.state", "THAWED")):
        if os.path.exists(os.path.join(path, name)):
            with contextlib.suppress(OSError):
                with open(os.path.join(path, name), "w") as f:
                    f.write(thaw)
    killf = os.path.join(path, "cgroup.kill")
    if os.path.exists(killf):
        with contextlib.suppress(OSError):
            with open(killf, "w") as f:
                f.write("1")
    for pid in pids():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    ct.poll(lambda: not pids(), timeout, 0.05)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read().rsplit(")", 1)[1].split()[0]
        return st != "Z"
    except OSError:
        return False


def _wait_pid_gone(pid, timeout):
    return bool(ct.poll(lambda: not _pid_alive(pid), timeout, 0.05))


def _read_pid(path):
    try:
        with open(path) as f:
            s = f.read().strip()
        return int(s) if s else None
    except (OSError, ValueError):
        return None


def _log(msg):
    print(f"  .. [dockerd] {msg}", flush=True)


DIR_PARENT = "/tmp"
DIR_PREFIX = "cstatd-dk-"
STALE_AGE = 30 * 60  # s


def _sigterm_to_exit():
    """Turn SIGTERM (e.g. a test runner giving up) into SystemExit, so that
    every `with` block still cleans up. Only from the main thread, and only
    when nobody installed a handler of their own."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def handler(signum, frame):
            print(f"  .. [dockerd] signal {signum} received: cleaning up, then exiting",
                  flush=True)
            raise SystemExit(128 + signum)
        signal.signal(signal.SIGTERM, handler)


def remove_stale_dirs(max_age=STALE_AGE):
    """Remove directories of earlier runs that were killed before cleaning
    up (SIGKILL by a timeout): only those older than `max_age` s whose dockerd
    pid is dead, that no live process names on its command line and that
    have nothing mounted below them. Anything else may belong to a run in
    progress (ours or a colleague's) and is left alone."""
    try:
        names = [n for n in os.listdir(DIR_PARENT) if n.startswith(DIR_PREFIX)]
    except OSError:
        return
    if not names:
        return
    cmdlines = []
    for ent in os.listdir("/proc"):
        if ent.isdigit():
            try:
                with open(f"/proc/{ent}/cmdline", "rb") as f:
                    cmdlines.append(f.read())
            except OSError:
                pass
    now = time.time()
    for n in names:
        path = os.path.join(DIR_PARENT, n)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not os.path.isdir(path) or os.path.islink(path) or now - st.st_mtime < max_age:
            continue
        pid = _read_pid(os.path.join(path, "docker.pid"))
        if pid is not None and _pid_alive(pid):
            continue
        if any(path.encode() in c for c in cmdlines) or _mounts_under(path):
            continue
        _log(f"removing stale {path} (left by an earlier run that was killed)")
        shutil.rmtree(path, ignore_errors=True)


class DockerError(RuntimeError):
    def __init__(self, argv, rc, out, err):
        super().__init__(f"`docker {' '.join(argv)}` exited {rc}: {err.strip()[-600:]}")
        self.rc = rc
        self.out = out
        self.err = err


class PrivateDockerd:
    """A private dockerd on its own socket and directories (see module doc)."""

    def __init__(self, mode="v2", start_timeout=60.0, import_image=True, keep_dir=False):
        if mode not in ("v1", "v2"):
            raise ValueError(f"mode must be 'v1' or 'v2', not {mode!r}")
        self.mode = mode
        self.start_timeout = start_timeout
        self.import_image = import_image
        self.keep_dir = keep_dir
        self.dir = None
        self.proc = None
        self.cli = None
        self.dockerd_bin = None
        self.cgroup2_mount = ct.find_cgroup2_mount()
        self.container_ids = set()  # every id we ever saw, for cgroup cleanup
        self.starts = 0
        self._log_fh = None

    # -- paths --
    @property
    def sock(self):
        return os.path.join(self.dir, "docker.sock")

    @property
    def host_url(self):
        return "unix://" + self.sock

    @property
    def pidfile(self):
        return os.path.join(self.dir, "docker.pid")

    @property
    def data_root(self):
        return os.path.join(self.dir, "data")

    @property
    def exec_root(self):
        return os.path.join(self.dir, "exec")

    @property
    def log_path(self):
        return os.path.join(self.dir, "dockerd.log")

    def cgroup_dir(self, cid):
        """Host path of a container's v2 cgroup (v2 mode: <mount>/docker/<id>)."""
        return os.path.join(self.cgroup2_mount, "docker", cid)

    # -- lifecycle --
    def __enter__(self):
        require_docker(self.mode)
        self.cli = find_cli()
        self.dockerd_bin = find_dockerd()
        _sigterm_to_exit()
        remove_stale_dirs()
        self.dir = tempfile.mkdtemp(prefix=DIR_PREFIX, dir=DIR_PARENT)
        os.makedirs(os.path.join(self.dir, "cli-config"))
        t0 = time.monotonic()
        try:
            self.start()
            if self.import_image:
                self._import_busybox()
            _log(f"ready in {time.monotonic() - t0:.1f} s ({self.mode} mode, {self.sock})")
        except BaseException:
            self.cleanup(failed=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.cleanup(failed=exc_type is not None and exc_type is not SystemExit)
        return False

    def _argv(self):
        d = [self.dockerd_bin, "--iptables=false", "--ip6tables=false", "--bridge=none",
             "--storage-driver=vfs", "--data-root", self.data_root, "--exec-root",
             self.exec_root, "-H", "unix://" + self.sock, "--pidfile", self.pidfile]
        if self.mode == "v1":
            return d
        script = ("mount --make-rprivate / && umount -l /sys/fs/cgroup && "
                  "mount -t cgroup2 none /sys/fs/cgroup && exec \"$@\"")
        return ["unshare", "-m", "sh", "-c", script, "sh"] + d

    def start(self):
        """Start dockerd and wait until /_ping answers 200 (bounded)."""
        if self.alive():
            raise RuntimeError("dockerd is already running")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pidfile)
        env = dict(os.environ)
        for k in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
            env.pop(k, None)
        if self._log_fh is not None:
            with contextlib.suppress(Exception):
                self._log_fh.close()
        self._log_fh = open(self.log_path, "ab")
        self._log_fh.write(f"\n==== start #{self.starts + 1} {time.ctime()}\n".encode())
        self._log_fh.flush()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self._argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._log_fh, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        self.starts += 1
        deadline = t0 + self.start_timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited with status {self.proc.returncode} "
                                   f"while starting; log tail:\n{self.log_tail()}")
            try:
                status, body = unix_get(self.sock, "/_ping", timeout=2.0)
                last = (status, body[:100])
                if status == 200:
                    break
            except OSError as e:
                last = e
            time.sleep(0.1)
        else:
            raise RuntimeError(f"dockerd did not answer /_ping within {self.start_timeout} s "
                               f"(last: {last!r}); log tail:\n{self.log_tail()}")
        pid = _read_pid(self.pidfile)
        _log(f"dockerd pid {pid} up in {time.monotonic() - t0:.1f} s")
        return pid

    def pid(self):
        """dockerd's pid from its pidfile (None when absent)."""
        return _read_pid(self.pidfile)

    def alive(self):
        pid = self.pid()
        return pid is not None and _pid_alive(pid)

    def ping(self, timeout=2.0):
        """True when /_ping answers 200."""
        try:
            status, _ = unix_get(self.sock, "/_ping", timeout=timeout)
            return status == 200
        except OSError:
            return False

    def _reap(self, timeout):
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)

    def kill(self, timeout=15.0):
        """SIGKILL dockerd by the pid in its pidfile and wait until it is gone."""
        pid = self.pid()
        if pid is None:
            raise RuntimeError(f"no pid in {self.pidfile}")
        _log(f"SIGKILL dockerd pid {pid}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if self.proc is not None and self.proc.pid == pid:
            self._reap(timeout)
        if not _wait_pid_gone(pid, timeout):
            raise RuntimeError(f"dockerd pid {pid} still alive {timeout} s after SIGKILL")

    def stop(self, timeout=20.0):
        """SIGTERM dockerd by pidfile pid; SIGKILL after `timeout` s. (If it
        never wrote its pidfile, the pid of the process we started is used:
        in v2 mode `unshare` and `sh` exec into dockerd, so that is dockerd.)"""
        pid = self.pid()
        if (pid is None or not _pid_alive(pid)) and self.proc is not None \
                and self.proc.poll() is None:
            pid = self.proc.pid
        if pid is None or not _pid_alive(pid):
            self._reap(1.0)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if self.proc is not None and self.proc.pid == pid:
            self._reap(timeout)
        if not _wait_pid_gone(pid, timeout):
            _log(f"dockerd pid {pid} did not exit {timeout} s after SIGTERM; SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_pid_gone(pid, 10.0)
        self._reap(1.0)

    @property
    def containerd_pidfile(self):
        return os.path.join(self.exec_root, "containerd", "containerd.pid")

    def restart(self):
        """Kill dockerd (if alive) and start it again on the same directories."""
        if self.alive():
            self.kill()
        self._reap(1.0)
        # dockerd's containerd dies with it (parent-death signal). dockerd
        # re-uses a containerd whose pidfile pid answers kill(pid, 0), which a
        # not-yet-reaped zombie does: it would then wait forever for a dead
        # containerd ("timeout waiting for containerd to start"). Wait for the
        # pid to disappear; drop the stale pidfile if it does not in time.
        cpid = _read_pid(self.containerd_pidfile)
        if cpid is not None:
            gone = ct.poll(lambda: not os.path.exists(f"/proc/{cpid}"), 5.0, 0.05)
            if not gone and not _pid_alive(cpid):
                _log(f"containerd pid {cpid} is a zombie; removing its stale pidfile")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.containerd_pidfile)
        return self.start()

    # -- docker CLI --
    def _cli_env(self):
        env = dict(os.environ)
        for k in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
            env.pop(k, None)
        env["DOCKER_CONFIG"] = os.path.join(self.dir, "cli-config")
        env["DOCKER_CLI_HINTS"] = "false"
        return env

    def docker_run(self, *args, timeout=60.0, input=None):
        """Run the docker CLI -> (rc, stdout, stderr); never raises on rc != 0."""
        argv = [self.cli, "-H", "unix://" + self.sock] + [str(a) for a in args]
        try:
            p = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout, env=self._cli_env())
        except subprocess.TimeoutExpired as e:
            return None, (e.stdout or b"").decode("utf-8", "replace"), \
                f"timed out after {timeout} s"
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        return p.returncode, out, err

    def docker(self, *args, timeout=60.0, input=None, check=True):
        """Run the docker CLI and return its stdout, stripped. Raises DockerError
        on a non-zero exit unless check=False."""
        rc, out, err = self.docker_run(*args, timeout=timeout, input=input)
        if check and rc != 0:
            raise DockerError([str(a) for a in args], rc, out, err)
        out = out.strip()
        if args and args[0] in ("run", "create") and re.fullmatch(r"[0-9a-f]{64}", out):
            self.container_ids.add(out)
        return out

    def inspect(self, name):
        """docker inspect <name> -> dict."""
        return json.loads(self.docker("inspect", "--type", "container", name))[0]

    def container_id(self, name):
        cid = self.docker("inspect", "-f", "{{.Id}}", name)
        self.container_ids.add(cid)
        return cid

    def run_container(self, name, *cmd, opts=()):
        """docker run -d --network none --name <name> [opts] busybox:local <cmd> -> id."""
        cid = self.docker("run", "-d", "--network", "none", "--name", name, *opts, IMAGE, *cmd)
        self.container_ids.add(cid)
        return cid

    def rm_all(self):
        """docker rm -f every container (best effort)."""
        rc, out, _ = self.docker_run("ps", "-aq", "--no-trunc", timeout=30)
        ids = out.split() if rc == 0 else []
        self.container_ids.update(ids)
        if ids:
            rc, _, err = self.docker_run("rm", "-f", *ids, timeout=60)
            if rc != 0:
                _log(f"docker rm -f failed ({rc}): {err.strip()[-300:]}")

    def _import_busybox(self):
        t0 = time.monotonic()
        rootfs = os.path.join(self.dir, "rootfs")
        os.makedirs(os.path.join(rootfs, "bin"))
        for d in ("tmp", "proc", "sys", "dev", "etc"):
            os.makedirs(os.path.join(rootfs, d))
        shutil.copy2(find_busybox(), os.path.join(rootfs, "bin", "busybox"))
        for a in APPLETS:
            os.symlink("busybox", os.path.join(rootfs, "bin", a))
        tar = subprocess.run(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE,
                             check=True, timeout=60).stdout
        self.docker("import", "-", IMAGE, input=tar, timeout=120)
        shutil.rmtree(rootfs, ignore_errors=True)
        _log(f"imported {IMAGE} in {time.monotonic() - t0:.1f} s")

    # -- output --
    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def log_tail(self, n=25):
        """The last n lines of dockerd's log, without gRPC and plugin-loading chatter."""
        noise = ("module=grpc", "loading plugin", "skip loading plugin")
        lines = [ln for ln in self.log_text().splitlines()
                 if not any(x in ln for x in noise)]
        return "\n".join("    | " + ln[:400] for ln in lines[-n:])

    # -- cleanup --
    def _our_pids(self):
        """Pids whose command line names our private directory (containerd,
        shims left behind by a killed dockerd). Excludes ourselves."""
        pids = []
        me = os.getpid()
        needle = self.dir.encode()
        for ent in os.listdir("/proc"):
            if not ent.isdigit() or int(ent) == me:
                continue
            try:
                with open(f"/proc/{ent}/cmdline", "rb") as f:
                    if needle in f.read():
                        pids.append(int(ent))
            except OSError:
                continue
        return pids

    def _container_cgroup_dirs(self, cid):
        """Existing <hierarchy>/docker/<id> directories, v2 and v1 hierarchies."""
        out = []
        for mnt in _cgroup_mounts():
            p = os.path.join(mnt, "docker", cid)
            if os.path.isdir(p):
                out.append(p)
        return out

    def cleanup(self, failed=False):
        if self.dir is None:
            return
        if failed:
            print("  .. [dockerd] log tail:\n" + self.log_tail(), flush=True)
        # 1. Containers.
        if self.alive() and self.ping():
            with contextlib.suppress(Exception):
                self.rm_all()
        # 2. dockerd (by pidfile pid), then its containerd (by its pidfile pid).
        with contextlib.suppress(Exception):
            self.stop()
        ctd_pid = _read_pid(self.containerd_pidfile)
        if ctd_pid and _pid_alive(ctd_pid):
            _log(f"stopping leftover containerd pid {ctd_pid}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(ctd_pid, signal.SIGTERM)
            if not _wait_pid_gone(ctd_pid, 10.0):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(ctd_pid, signal.SIGKILL)
                _wait_pid_gone(ctd_pid, 5.0)
        # 3. Anything else still running from our directory (shims of
        #    containers that outlived a killed dockerd): SIGKILL by pid.
        for pid in self._our_pids():
            _log(f"killing leftover pid {pid} (its command line names {self.dir})")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_pid_gone(pid, 5.0)
        if self._log_fh is not None:
            with contextlib.suppress(Exception):
                self._log_fh.close()
        # 4. Cgroups: our containers' directories, if any are left (their
        #    processes outlive killed shims: kill them through the cgroup),
        #    and the empty `docker` parent (busy while another daemon uses it).
        for cid in sorted(self.container_ids):
            for p in self._container_cgroup_dirs(cid):
                _kill_cgroup(p)
                ct._rmdir_retry(p, 5.0)
        if self.cgroup2_mount:
            parent = os.path.join(self.cgroup2_mount, "docker")
            if os.path.isdir(parent):
                try:
                    os.rmdir(parent)
                except OSError as e:
                    if e.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                        _log(f"could not rmdir {parent}: {e}")
        # 5. Mounts left under our directory (exec-root/netns, shm), deepest first.
        for mp in _mounts_under(self.dir):
            r = subprocess.run(["umount", mp], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=30)
            if r.returncode != 0:
                subprocess.run(["umount", "-l", mp], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=30)
        # 6. The directory (never through a mount).
        left = _mounts_under(self.dir)
        if left:
            _log(f"NOT removing {self.dir}: still mounted: {left}")
        elif self.keep_dir:
            _log(f"keeping {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
            if os.path.exists(self.dir):
                _log(f"could not remove all of {self.dir}")
        self.dir = None if not left and not self.keep_dir else self.dir


# --------------------------------------------------------------------------
# Helpers for the tests
# --------------------------------------------------------------------------

_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
          "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4}


class SandboxDockerd(PrivateDockerd):
    """PrivateDockerd("v2") with --cgroup-parent <sandbox>/docker, sb being a
    cstatd_test.CgroupSandbox: every container's cgroup is
    <sandbox>/docker/<id>, next to the sandbox's plain cgroups, so a cstatd
    rooted at the sandbox (--cgroup-root sb.base) sees these containers and
    nothing else on the host (other tests may be running)."""

    def __init__(self, sb, **kw):
        super().__init__("v2", **kw)
        self.parent_rel = os.path.relpath(sb.docker_dir, self.cgroup2_mount)

    def _argv(self):
        return super()._argv() + ["--cgroup-parent", "/" + self.parent_rel]

    def cgroup_dir(self, cid):
        return os.path.join(self.cgroup2_mount, self.parent_rel, cid)

    def _container_cgroup_dirs(self, cid):
        out = super()._container_cgroup_dirs(cid)
        p = self.cgroup_dir(cid)
        if os.path.isdir(p) and p not in out:
            out.append(p)
        return out


def parse_size(s):
    """'12.5MiB' / '980KiB' / '0B' / '1.2GB' -> bytes (float)."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", s)
    if not m:
        raise ValueError(f"not a size: {s!r}")
    unit = m.group(2).lower() or "b"
    if unit not in _UNITS:
        raise ValueError(f"unknown unit in {s!r}")
    return float(m.group(1)) * _UNITS[unit]


def cgroup_cpu_usage_usec(path):
    """usage_usec from <path>/cpu.stat (None if unreadable)."""
    try:
        with open(os.path.join(path, "cpu.stat")) as f:
            for line in f:
                k, _, v = line.partition(" ")
                if k == "usage_usec":
                    return int(v)
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------
# Scraping cstatd in the background; counter monotonicity
# --------------------------------------------------------------------------


class Scrape:
    """One background scrape: ``t`` (monotonic), ``wall`` (time.time()),
    ``status`` (int, or None when the request failed), ``error`` (str),
    ``metrics`` ({(name, frozenset(labels)): value} or None), ``types``
    ({family: type})."""

    __slots__ = ("t", "wall", "status", "error", "metrics", "types", "elapsed")

    def __init__(self):
        self.t = self.wall = self.elapsed = 0.0
        self.status = None
        self.error = ""
        self.metrics = None
        self.types = {}


def scrape_once(port, timeout=3.0):
    s = Scrape()
    s.t = time.monotonic()
    s.wall = time.time()
    try:
        status, hdrs, body = ct.scrape(port, timeout=timeout)
        s.status = status
        if status == 200:
            ex = ct.parse_exposition(ct.decode_body(hdrs, body))
            s.metrics = {(x.name, frozenset(x.labels.items())): x.value for x in ex.samples}
            s.types = ex.types
        else:
            s.error = body[:200].decode("utf-8", "replace")
    except Exception as e:  # noqa: BLE001 - any failure is a failed scrape
        s.error = f"{type(e).__name__}: {e}"
    s.elapsed = time.monotonic() - s.t
    return s


class Scraper:
    """Scrapes cstatd every `period` s in a thread, for at most `max_seconds`.

        with dk.Scraper(port) as sc:
            m = sc.wait_for(lambda m: ct.value(m, "cstatd_docker_up") == 1, 10)
        sc.scrapes   # every Scrape, in order

    ``wait_for(pred, timeout)`` waits (bounded) for a NEW successful scrape
    whose metrics satisfy pred; returns (Scrape, pred value) or (last, falsy).
    """

    def __init__(self, port, period=0.5, timeout=3.0, max_seconds=600.0):
        self.port = port
        self.period = period
        self.timeout = timeout
        self.max_seconds = max_seconds
        self.scrapes = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, name="scraper", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 2)

    def _run(self):
        t_end = time.monotonic() + self.max_seconds
        n_max = int(self.max_seconds / self.period) + 2
        for _ in range(n_max):
            if self._stop.is_set() or time.monotonic() > t_end:
                break
            t0 = time.monotonic()
            s = scrape_once(self.port, self.timeout)
            with self._cond:
                self.scrapes.append(s)
                self._cond.notify_all()
            self._stop.wait(max(0.0, self.period - (time.monotonic() - t0)))

    def count(self):
        with self._lock:
            return len(self.scrapes)

    def latest(self):
        """The newest successful scrape (or None)."""
        with self._lock:
            for s in reversed(self.scrapes):
                if s.metrics is not None:
                    return s
        return None

    def wait_new(self, timeout):
        """Wait for a scrape newer than now; return it (or None)."""
        n = self.count()
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.scrapes) <= n:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(left)
            return self.scrapes[-1]

    def wait_for(self, pred, timeout):
        deadline = time.monotonic() + timeout
        last = None
        for _ in range(int(timeout / max(self.period, 0.05)) + 4):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s = self.wait_new(left)
            if s is None:
                break
            if s.metrics is None:
                continue
            last = s
            r = pred(s.metrics)
            if r:
                return s, r
        return last, None

    def failed(self):
        """Scrapes that did not answer 200."""
        with self._lock:
            return [s for s in self.scrapes if s.status != 200]


def _labels_str(labels):
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels)) + "}"


def counter_decreases(scrapes, keep=None, look_ahead=2, explain=None):
    """Every decrease of a counter series across `scrapes` (successful ones).

    Compares each series with its last value seen in any earlier scrape (a
    series may vanish and come back; it must come back no lower). `keep`
    (labels dict -> bool) limits the check to some series; series without
    id/name labels (the daemon's own) are always checked.

    A decrease of a container series (one with an `id` label) is
    "explained" when that container restarted around it: the series itself
    was absent in between, or its container_start_time_seconds{id=…}
    changed or vanished between the scrape before and `look_ahead` scrapes
    after (cstatd may learn the new start time one sweep after it reads the
    new cgroup). Restart counters, OOM counters and daemon counters are
    never explained. `explain(labels, t_before, t_after)` (monotonic times
    of the two scrapes) may give a reason of its own (str) for a container
    series, e.g. a restart the test knows of from docker inspect.

    Returns (unexplained, explained): lists of strings.
    """
    ok = [s for s in scrapes if s.metrics is not None]
    start_by_id = []  # per scrape: {id: start_time}
    for s in ok:
        d = {}
        for (name, ls), v in s.metrics.items():
            if name == "container_start_time_seconds":
                lid = dict(ls).get("id")
                if lid is not None:
                    d[lid] = v
        start_by_id.append(d)
    last = {}  # key -> (index, value)
    unexplained, explained = [], []
    for i, s in enumerate(ok):
        for key, v in s.metrics.items():
            name, ls = key
            typ = s.types.get(name)
            if typ is None and name.endswith("_total"):
                typ = s.types.get(name[:-6])
            if typ != "counter":
                continue
            labels = dict(ls)
            if keep is not None and ("id" in labels or "name" in labels) and not keep(labels):
                continue
            prev = last.get(key)
            last[key] = (i, v)
            if prev is None or v >= prev[1]:
                continue
            j, pv = prev
            desc = (f"{name}{_labels_str(ls)}: {pv!r} -> {v!r} "
                    f"(scrapes #{j} -> #{i}, {s.t - ok[j].t:.1f} s apart)")
            lid = labels.get("id")
            why = None
            if lid is not None and name not in ("cstatd_container_restarts_total",
                                                "cstatd_container_oom_kills_total"):
                window = range(j, min(i + look_ahead, len(ok) - 1) + 1)
                vals = [start_by_id[k].get(lid) for k in window]
                present = [x for x in vals if x is not None]
                if i - j > 1:
                    why = "the series was absent in between (container not running)"
                elif present and len(set(present)) > 1:
                    why = "container restarted (its start time changed)"
                elif present and None in vals:
                    why = "container restarted (its start time vanished in between)"
                elif explain is not None:
                    why = explain(labels, ok[j].t, s.t)
                if why is None:
                    desc += f" [container_start_time_seconds over scrapes #{j}..: {vals}]"
            (explained if why else unexplained).append(desc + (f" [{why}]" if why else ""))
    return unexplained, explained


# --------------------------------------------------------------------------
# Measuring a counter's rate between two sweeps
# --------------------------------------------------------------------------

def wait_value_change(port, get, timeout, poll=0.05):
    """Scrape every `poll` s until get(metrics) changes from its first
    non-None value: a new sweep was published. Returns (monotonic time,
    value, metrics) at the change, or (None, last value, last metrics)."""
    deadline = time.monotonic() + timeout
    first = None
    m = None
    v = None
    for _ in range(int(timeout / poll) + 2):
        m = ct.get_metrics(port)
        now = time.monotonic()
        v = get(m)
        if v is not None:
            if first is None:
                first = v
            elif v != first:
                return now, v, m
        if now >= deadline:
            break
        time.sleep(poll)
    return None, v, m


def measure_rate(port, get, window=4.0, interval=1.0, read_kernel=None):
    """Rate of get(metrics) per second between two sweeps >= `window` s apart.

    Sweep moments are found by watching the value change (scraping every
    50 ms), so the error is about 50 ms over `window`. `read_kernel()` (->
    seconds, or None) is sampled at the same two moments for comparison.
    Returns a dict: rate, dt, v0, v1, kernel_rate (or None), error (str or None).
    """
    out = {"rate": None, "dt": None, "v0": None, "v1": None, "kernel_rate": None,
           "error": None}
    t0, v0, _ = wait_value_change(port, get, 3 * interval + 2)
    k0 = read_kernel() if read_kernel else None
    if t0 is None:
        out["error"] = f"value did not change within {3 * interval + 2:.0f} s (last {v0!r})"
        return out
    time.sleep(max(0.0, window - interval * 0.5))
    t1, v1, _ = wait_value_change(port, get, 3 * interval + 2)
    k1 = read_kernel() if read_kernel else None
    if t1 is None:
        out["error"] = f"value stopped changing (last {v1!r})"
        return out
    dt = t1 - t0
    out.update(dt=dt, v0=v0, v1=v1, rate=(v1 - v0) / dt)
    if k0 is not None and k1 is not None:
        out["kernel_rate"] = (k1 - k0) / dt
    return out


def series_for(metrics, name=None, cid=None):
    """Keys of every series that belongs to a container: name label == name,
    or an id label that ends with the container id."""
    out = []
    for key in metrics:
        ls = dict(key[1])
        if name is not None and ls.get("name") == name:
            out.append(key)
        elif cid is not None and ls.get("id", "").endswith(cid):
            out.append(key)
    return sorted(out, key=lambda k: (k[0], sorted(k[1])))


def fmt_series(key, value=None):
    s = key[0] + _labels_str(key[1])
    return s if value is None else f"{s} {value!r}"


def poll_metrics(port, pred, timeout, interval=0.1):
    """Scrape every `interval` s (bounded by `timeout`) until pred(metrics) is
    truthy. Returns (metrics, True) then, else (last metrics or {}, False).
    A failed scrape counts as "not yet"."""
    deadline = time.monotonic() + timeout
    last = {}
    for _ in range(int(timeout / interval) + 2):
        try:
            last = ct.get_metrics(port)
            if pred(last):
                return last, True
        except (OSError, RuntimeError, ct.ParseError):
            pass
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    return last, False


def measure_busy_rate(port, get, read_kernel, window=4.0, interval=1.0, attempts=3,
                      lo=0.8, hi=1.2):
    """measure_rate() for a container spinning one CPU, retried (at most
    `attempts` times) while the kernel's own figure for the same window is
    outside [lo, hi]: then the machine was overloaded (another job spinning
    CPUs), which says nothing about cstatd. Returns (result, attempts used)."""
    r = None
    for n in range(1, attempts + 1):
        r = measure_rate(port, get, window=window, interval=interval, read_kernel=read_kernel)
        k = r["kernel_rate"]
        if r["error"] is not None or k is None or lo <= k <= hi:
            return r, n
        _log(f"attempt {n}: the kernel measured {k:.3f} core-s/s for the busy loop "
             "(machine overloaded?); measuring again")
    return r, attempts
