#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cstatd's alerting end to end: real cgroups, a real Alertmanager, reloads,
config errors and the Prometheus rules export.

Sections (one cstatd each, run in this order; every wait is bounded):

  1. fire_and_resolve: rule BusyCPU (cpu_usage last > 0.5, for 3s), resend 5s,
     a real Alertmanager (/usr/bin/prometheus-alertmanager). A busy cgroup
     goes pending (/alerts), then firing within for + 2 intervals of the
     first pending sweep (measured from /alerts polls and from active_since /
     firing_since); firing shows on /metrics as cstatd_alert_firing{...} 1
     and in Alertmanager's GET /api/v2/alerts (active; alertname, name, id,
     severity labels; endsAt = now + 4 x resend). Pending is never posted.
     A re-send arrives after `resend`. Killing the busy process resolves it:
     gone from /alerts and /metrics, and gone from Alertmanager's active
     alerts well before the 20 s endsAt would have expired it (so it was the
     resolved post that did it). A sleeper cgroup never shows up in /alerts.
     /api/v1/containers/<id12> (503 until one sweep after the first ask)
     has cpu_usage windows (~1 core busy, ~0 for the sleeper).
  2. alertmanager_down: same rule, alertmanager.url points at a port with
     nothing listening. For ~20 s of firing: sweeps go on at ~1/s
     (cstatd_sweep_duration_seconds_count), /metrics answers fast,
     cstatd_notifications_dropped_total rises, nothing is sent, VmRSS stays
     put, the log does not repeat the warning every attempt, and SIGTERM still
     stops it cleanly (exit 0).
  2b. alertmanager_hung: alertmanager.url = two URLs of a listener that never
     answers (default 10 s timeout): sweeps and /metrics go on; SIGTERM stops
     cstatd within 5 s (am_push.h: in-flight posts are abandoned).
  3. reload_sighup / reload_http: config A (threshold 0.5) -> broken file ->
     SIGHUP: still running, "reload failed" logged,
     cstatd_config_last_reload_successful 0, /alerts/rules and
     cstatd_alert_threshold unchanged; -> config B (threshold 0.75) -> 1,
     /alerts/rules and the threshold metric show 0.75, success timestamp
     advances. The same through POST /-/reload with --web.enable-lifecycle;
     without the flag POST /-/reload answers 405 and reloads nothing.
     reload_state: with a firing alert (and Alertmanager), an annotation-only
     reload keeps it firing (same active_since/firing_since, new summary); a
     threshold change restarts it (pending), resolves it in Alertmanager, and
     it fires again after `for`.
  4. config_errors: every tests/fixtures/config/bad-*.json listed in
     tests/unit/test_config.c's table (read from that file): `cstatd --config F`
     and `cstatd rules export --config F` exit 1 with one stderr line that
     contains the expected message (FILE = the path).
  5. rules_export: `cstatd rules export` with the defaults and with configs ->
     `promtool check rules` passes; the alert names are in it.

The cgroup sections give cstatd the sandbox's subtree as --cgroup-root (real
cgroup2 directories in Docker's layout; see sandbox_args()), so that cgroups
other runs create on a shared host do not change what is measured.

Run a subset with section names as arguments (`test_alerts_real.py reload_http`).
Needs root, a cgroup2 mount, /usr/bin/prometheus-alertmanager and
/usr/bin/promtool (exit 77 otherwise). Traffic goes to 127.0.0.1 only.
"""

import contextlib
import datetime
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

AM_BIN = "/usr/bin/prometheus-alertmanager"
PROMTOOL = "/usr/bin/promtool"
INTERVAL = 1.0
FOR_S = 3.0
RESEND_S = 5.0
# Bound for a busy cgroup to fire. Normally for + 2 intervals; more on a
# machine so loaded that the spinning process gets under half a core for a
# second (which restarts `for`, as it should).
FIRE_TIMEOUT = 30.0
# Bound for a firing alert to reach an Alertmanager that was down and comes
# back: the pusher's retry backoff (at most 30 s) + resend + slack.
RECOVER_TIMEOUT = 30.0 + RESEND_S + 5.0
# SIGTERM with a hung Alertmanager post: should take well under the post
# timeout (10 s); waited for at most HUNG_STOP_MAX s, then SIGKILL.
HUNG_STOP_OK = 5.0
HUNG_STOP_MAX = 30.0
FIXTURES = os.path.join(ct.REPO_ROOT, "tests", "fixtures", "config")
TEST_CONFIG_C = os.path.join(ct.REPO_ROOT, "tests", "unit", "test_config.c")

BUSY_RULE = {"alert": "BusyCPU", "signal": "cpu_usage", "window": "1m", "aggregate": "last",
             "op": ">", "threshold": 0.5, "for": "3s", "severity": "warning"}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


def get_json(port, path, timeout=5.0):
    """GET path -> (status, decoded JSON or None)."""
    status, _, body = ct.http_request(port, path, timeout=timeout)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def get_json_ready(port, path, timeout=5.0):
    """GET a JSON endpoint, retrying (bounded) while it answers 503 (not
    rendered yet: it is rendered from the sweep after the first ask).
    Returns (status, doc, number of 503s seen)."""
    n503 = 0
    deadline = time.monotonic() + timeout
    status, doc = None, None
    for _ in range(int(timeout / 0.1) + 2):
        status, doc = get_json(port, path)
        if status != 503:
            return status, doc, n503
        n503 += 1
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return status, doc, n503


def cstatd_alerts(port):
    """The list in /alerts (retrying a first 503)."""
    status, doc, _ = get_json_ready(port, "/alerts", 3.0)
    if status != 200 or not isinstance(doc, dict):
        raise RuntimeError(f"GET /alerts answered {status}: {doc!r}")
    return doc.get("alerts", [])


def alerts_for(alerts, rule, name):
    return [a for a in alerts
            if a.get("rule") == rule and a.get("container", {}).get("name") == name]


def cstatd_rules(port):
    status, doc, _ = get_json_ready(port, "/alerts/rules", 3.0)
    if status != 200:
        raise RuntimeError(f"GET /alerts/rules answered {status}: {doc!r}")
    return doc


def rule_threshold(rules, alert):
    for r in rules or []:
        if r.get("alert") == alert:
            return r.get("threshold")
    return None


def parse_time(s):
    """RFC 3339 ("2026-11-25T12:18:35.123Z") -> unix seconds (None for null)."""
    if not s:
        return None
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    # Go prints nanoseconds; fromisoformat wants at most 6 fraction digits.
    s = re.sub(r"\.(\d{6})\d+", r".\1", s)
    return datetime.datetime.fromisoformat(s).timestamp()


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def metric(port, name, **labels):
    return ct.value(ct.get_metrics(port), name, **labels)


class Alertmanager:
    """A real Alertmanager on 127.0.0.1:<free port>, storage in a temp dir,
    no cluster. Terminated (SIGKILL after 10 s) and removed on exit."""

    CONFIG = ("route:\n  receiver: blackhole\n  group_wait: 1s\n"
              "receivers:\n  - name: blackhole\n")

    def __init__(self, binary=AM_BIN, ready_timeout=30.0, port=None):
        self.binary = binary
        self.ready_timeout = ready_timeout
        self.proc = None
        self.port = port
        self.tmpdir = None
        self.log_path = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.tmpdir = tempfile.mkdtemp(prefix="cstatd-am-")
        try:
            write_text(os.path.join(self.tmpdir, "am.yml"), self.CONFIG)
            if self.port is None:
                self.port = ct.free_port()
            self.log_path = os.path.join(self.tmpdir, "alertmanager.log")
            argv = [self.binary, "--config.file=am.yml", "--storage.path=data",
                    f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="]
            with open(self.log_path, "wb") as lf:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf,
                                             stderr=subprocess.STDOUT, cwd=self.tmpdir)
            print(f"  .. started alertmanager pid {self.proc.pid} on 127.0.0.1:{self.port}",
                  flush=True)
            t0 = time.monotonic()
            deadline = t0 + self.ready_timeout
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"alertmanager exited with {self.proc.returncode}:\n"
                                       + self.log_text()[-2000:])
                with contextlib.suppress(OSError):
                    if ct.http_request(self.port, "/-/ready", timeout=1.0)[0] == 200:
                        break
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"alertmanager not ready after {self.ready_timeout} s:\n"
                                       + self.log_text()[-2000:])
                time.sleep(0.1)
            print(f"  .. alertmanager ready in {time.monotonic() - t0:.1f} s", flush=True)
        except BaseException:
            self._cleanup()
            raise
        return self

    def alerts(self):
        """GET /api/v2/alerts (Alertmanager's defaults: active, unresolved)."""
        status, _, body = ct.http_request(self.port, "/api/v2/alerts", timeout=5.0)
        if status != 200:
            raise RuntimeError(f"alertmanager GET /api/v2/alerts: {status} {body[:200]!r}")
        return json.loads(body)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

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
            print("  .. alertmanager log (tail):\n" + self.log_text()[-1500:], flush=True)
        self._cleanup()
        return False


def am_alerts_for(am_alerts, alertname, name):
    return [a for a in am_alerts
            if a.get("labels", {}).get("alertname") == alertname
            and a.get("labels", {}).get("name") == name]


def am_active(am_alerts, alertname, name, now=None):
    """Alerts Alertmanager still holds as active (state active, endsAt ahead)."""
    now = time.time() if now is None else now
    out = []
    for a in am_alerts_for(am_alerts, alertname, name):
        ends = parse_time(a.get("endsAt"))
        if a.get("status", {}).get("state") == "active" and (ends is None or ends > now):
            out.append(a)
    return out


def sandbox_args(sb):
    """cstatd flags to read only the sandbox's subtree (real cgroups, in
    Docker's cgroupfs layout below it). On a shared host other runs may
    create thousands of cgroups under the real mount at the same time; with
    the whole mount as root cstatd would track them all (memory, open files:
    it stops answering HTTP when the open-files limit is reached) and the
    timings measured here would be theirs. The real mount as root is covered
    by test_cgroup_real.py."""
    return ["--cgroup-root", sb.base, "--no-cgroup-root-check"]


def id_label(sb, c):
    """cstatd's `id` label for a sandbox cgroup with sandbox_args()."""
    return "/" + os.path.relpath(c.path, sb.base)


def empty_root(tmp):
    """An empty directory as --cgroup-root (sections that need no cgroups)."""
    path = os.path.join(tmp, "empty-cgroup-root")
    os.makedirs(path, exist_ok=True)
    return ["--cgroup-root", path, "--no-cgroup-root-check"]


def wait_log(c, needle, timeout, start=0):
    """Wait (bounded) until cstatd's stderr has `needle` after offset `start`."""
    return ct.poll(lambda: needle in c.stderr_text()[start:], timeout, 0.05)


def run_section(t, name, fn, *args):
    """Run one section; an exception fails it but not the sections after it."""
    print(f"--- {name}", flush=True)
    t0 = time.monotonic()
    try:
        fn(t, *args)
    except ct.FatalCheck as e:
        t.info(f"{name}: stopped after the failed check \"{e}\"")
    except Exception as e:  # noqa: BLE001 - report and go on with the next section
        traceback.print_exc()
        t.check(False, f"{name}: aborted by {type(e).__name__}: {e}")
    dt = time.monotonic() - t0
    t.info(f"{name}: {dt:.1f} s")
    return dt


# --------------------------------------------------------------------------
# 1. Firing and resolving against a real Alertmanager
# --------------------------------------------------------------------------

def section_fire_and_resolve(t, mnt, tmp):
    with Alertmanager() as am, ct.CgroupSandbox(mnt) as sb:
        cfg = os.path.join(tmp, "fire.json")
        write_json(cfg, {"interval": "1s", "rules": [BUSY_RULE],
                         "alertmanager": {"url": am.url, "resend": "5s", "timeout": "2s"}})
        sleeper = sb.add_container()
        sleeper.start_sleeper()
        busy = sb.add_container()
        t.info(f"busy cgroup {busy.name12}, sleeper cgroup {sleeper.name12}")
        # cstatd reads the sandbox's subtree only (see sandbox_args).
        with ct.Cstatd(["--config", cfg] + sandbox_args(sb)) as c:
            try:
                fire_and_resolve_checks(t, c, am, busy, sleeper, id_label(sb, busy))
            finally:
                t.info("cstatd log (tail):\n" + c.stderr_tail(12))


def fire_and_resolve_checks(t, c, am, busy, sleeper, busy_id):
    port = c.port
    sleeper_seen = []

    def poll_alerts():
        al = cstatd_alerts(port)
        sleeper_seen.extend(a for a in al if a.get("container", {}).get("name") == sleeper.name12)
        return al

    # Ask for the containers API now: it is rendered from the next sweep on.
    s0, _, n503 = get_json_ready(port, f"/api/v1/containers/{busy.name12}", 0.0)
    t.info(f"first GET /api/v1/containers/{busy.name12}: {s0}")
    t.check(not poll_alerts_for_busy(poll_alerts(), busy),
            "no BusyCPU alert for the busy cgroup before it runs anything")

    t_busy = time.monotonic()
    busy.start_busy()
    t.info("busy process started in the busy cgroup")

    # Pending, then firing: poll /alerts every 0.1 s (bounded). On a loaded
    # machine the busy process may get less than half a core for a second;
    # with aggregate "last" that sends the alert back to inactive and `for`
    # starts again (correct behaviour): the kernel's own rate is sampled
    # alongside so that such a restart is explained in the output, and the
    # timing is measured from the pending episode that led to firing.
    t_pending = t_firing = None
    pending_doc = firing_doc = None
    am_during_pending = None
    episodes = []  # [active_since, first seen (monotonic)]
    kprev = (time.monotonic(), busy.cpu_usage_usec())
    kernel_low = []
    deadline = t_busy + FIRE_TIMEOUT
    for _ in range(int(FIRE_TIMEOUT / 0.1) + 2):
        mine = poll_alerts_for_busy(poll_alerts(), busy)
        now = time.monotonic()
        if now - kprev[0] >= 0.9:
            k = busy.cpu_usage_usec()
            krate = (k - kprev[1]) / 1e6 / (now - kprev[0])
            if krate <= 0.5:
                kernel_low.append((round(now - t_busy, 1), round(krate, 2)))
            kprev = (now, k)
        if mine:
            st = mine[0].get("state")
            if not episodes or episodes[-1][0] != mine[0].get("active_since"):
                episodes.append([mine[0].get("active_since"), now])
            if st == "pending" and t_pending is None:
                t_pending, pending_doc = now, mine[0]
                am_during_pending = am_alerts_for(am.alerts(), "BusyCPU", busy.name12)
            if st == "firing":
                t_firing, firing_doc = now, mine[0]
                break
        if now >= deadline:
            break
        time.sleep(0.1)
    t.check(t_pending is not None, "the busy cgroup's BusyCPU alert is seen in /alerts with "
            "state \"pending\" before it fires", fatal=True)
    t.info(f"pending seen {t_pending - t_busy:.2f} s after the busy process started")
    t.equal(am_during_pending, [], "a pending alert is not posted to Alertmanager")
    t.check(t_firing is not None, f"it fires within {FIRE_TIMEOUT:.0f} s of the busy "
            "process starting", fatal=True)
    if len(episodes) > 1:
        t.info(f"the pending alert went back to inactive {len(episodes) - 1} time(s) "
               f"(active_since: {[e[0] for e in episodes]}); seconds (since start) in which "
               f"the kernel gave the busy cgroup <= 0.5 cores: {kernel_low}")
    t_last_pending = episodes[-1][1]
    dt = t_firing - t_last_pending
    t.info(f"firing seen {t_firing - t_busy:.2f} s after start, {dt:.2f} s after the pending "
           f"episode that led to it was first seen (for {FOR_S:.0f}s, interval {INTERVAL:.0f}s)")
    t.between(dt, FOR_S - INTERVAL - 0.3, FOR_S + 2 * INTERVAL,
              "pending -> firing (observed on /alerts) takes for .. for + 2 intervals")
    a_since = parse_time(firing_doc.get("active_since"))
    f_since = parse_time(firing_doc.get("firing_since"))
    t.check(a_since is not None and f_since is not None,
            "/alerts has active_since and firing_since for the firing alert",
            actual=(firing_doc.get("active_since"), firing_doc.get("firing_since")))
    if a_since is not None and f_since is not None:
        t.info(f"firing_since - active_since = {f_since - a_since:.3f} s")
        t.between(f_since - a_since, FOR_S - 0.1, FOR_S + 2 * INTERVAL,
                  "firing_since - active_since is between for and for + 2 intervals")
    if len(episodes) == 1:
        t.equal(pending_doc.get("active_since"), firing_doc.get("active_since"),
                "active_since stays the same from pending to firing")
    t.equal(firing_doc.get("labels", {}).get("alertname"), "BusyCPU", "/alerts labels.alertname")
    t.equal(firing_doc.get("labels", {}).get("name"), busy.name12, "/alerts labels.name (id12)")
    t.equal(firing_doc.get("container", {}).get("id"), busy_id, "/alerts container.id")
    t.equal(firing_doc.get("severity"), "warning", "/alerts severity")
    v = firing_doc.get("value")
    t.check(isinstance(v, (int, float)) and v > 0.5, "/alerts value is above the 0.5 threshold",
            actual=v)
    t.equal(firing_doc.get("threshold"), 0.5, "/alerts threshold")

    # /metrics
    m, ok = _poll_metrics(port, lambda m: ct.value(m, "cstatd_alert_firing", alertname="BusyCPU",
                                                   name=busy.name12) == 1, 3.0)
    t.check(ok, 'cstatd_alert_firing{alertname="BusyCPU",name=<id12>} 1 on /metrics',
            actual=ct.series(m, "cstatd_alert_firing"))
    s = ct.series(m, "cstatd_alert_firing", alertname="BusyCPU", name=busy.name12)
    if s:
        t.equal(s[0][0], {"alertname": "BusyCPU", "severity": "warning", "id": busy_id,
                          "image": "", "name": busy.name12},
                "cstatd_alert_firing has labels alertname, severity, id, image, name")
    t.equal(ct.value(m, "cstatd_alert_threshold", alertname="BusyCPU", severity="warning"), 0.5,
            'cstatd_alert_threshold{alertname="BusyCPU",severity="warning"} 0.5')

    # Alertmanager
    t_fire_wall = time.time()
    got = ct.poll(lambda: am_active(am.alerts(), "BusyCPU", busy.name12), 10.0, 0.2)
    t.check(bool(got), "Alertmanager GET /api/v2/alerts has the alert, active, within 10 s of "
            "it firing", actual=am.alerts())
    if got:
        a = got[0]
        t.info(f"alertmanager has it {time.time() - t_fire_wall:.2f} s after firing was seen: "
               f"{json.dumps(a)[:400]}")
        lb = a.get("labels", {})
        t.equal((lb.get("alertname"), lb.get("name"), lb.get("severity"), lb.get("id")),
                ("BusyCPU", busy.name12, "warning", busy_id),
                "Alertmanager's labels: alertname, name (id12), severity, id")
        ends, upd = parse_time(a.get("endsAt")), parse_time(a.get("updatedAt"))
        if ends and upd:
            t.between(ends - upd, 4 * RESEND_S - 3, 4 * RESEND_S + 3,
                      "endsAt of the firing alert is about 4 x resend (20 s) ahead")
        st = parse_time(a.get("startsAt"))
        t.check(st is not None and f_since is not None and abs(st - f_since) < 1.0,
                "Alertmanager's startsAt is cstatd's firing_since",
                expected=firing_doc.get("firing_since"), actual=a.get("startsAt"))
    # The counter moves when the POST has returned: poll it.
    m, ok = _poll_metrics(port, lambda m: (ct.value(m, "cstatd_notifications_sent_total") or 0)
                          >= 1, 3.0)
    sent0 = ct.value(m, "cstatd_notifications_sent_total")
    t.check(ok, "cstatd_notifications_sent_total >= 1 after firing", actual=sent0)

    # Re-send after `resend`.
    m, ok = _poll_metrics(port, lambda m: (ct.value(m, "cstatd_notifications_sent_total") or 0)
                          > sent0, RESEND_S + 3.0)
    t.check(ok, f"a re-send is posted within resend ({RESEND_S:.0f} s) + 3 s",
            actual=ct.value(m, "cstatd_notifications_sent_total"))
    t.equal(ct.value(m, "cstatd_notifications_dropped_total"), 0.0,
            "cstatd_notifications_dropped_total stays 0 with a working Alertmanager")

    # The containers API (first asked before the busy process started).
    st, doc, n503 = get_json_ready(port, f"/api/v1/containers/{busy.name12}", 5.0)
    t.equal(st, 200, f"GET /api/v1/containers/{busy.name12} answers 200 (after {n503} x 503)")
    w = (((doc or {}).get("signals") or {}).get("cpu_usage") or {}).get("windows") or {}
    t.check("1m" in w and isinstance(w["1m"].get("avg"), (int, float)),
            "/api/v1/containers/<id12> has signals.cpu_usage.windows[\"1m\"].avg",
            actual=json.dumps(w)[:300])
    if "1m" in w and isinstance(w["1m"].get("last"), (int, float)):
        t.between(w["1m"]["last"], 0.6, 1.2, "busy cgroup: cpu_usage 1m last ~ 1 core")
    st, doc, _ = get_json_ready(port, f"/api/v1/containers/{sleeper.name12}", 3.0)
    ws = (((doc or {}).get("signals") or {}).get("cpu_usage") or {}).get("windows") or {}
    t.check(st == 200 and "1m" in ws and isinstance(ws["1m"].get("avg"), (int, float))
            and ws["1m"]["avg"] < 0.05,
            "sleeper cgroup: /api/v1/containers/<id12> cpu_usage 1m avg ~ 0",
            actual=(st, json.dumps(ws.get("1m"))[:200]))
    st, doc, _ = get_json_ready(port, "/api/v1/containers", 3.0)
    names = [x.get("name") for x in (doc or {}).get("containers", [])]
    t.check(busy.name12 in names and sleeper.name12 in names,
            "GET /api/v1/containers lists both cgroups", actual=names)

    # Resolve: kill the busy process (the cgroup stays, idle).
    sent1 = metric(port, "cstatd_notifications_sent_total")
    t_stop = time.monotonic()
    busy.kill_processes()
    t.info(f"busy process killed (cgroup left in place, empty); sent so far {sent1}")
    gone = ct.poll(lambda: not poll_alerts_for_busy(poll_alerts(), busy), 3 * INTERVAL + 2, 0.1)
    t_gone = time.monotonic()
    t.check(bool(gone), "the alert is gone from /alerts within 3 intervals + 2 s of the busy "
            "process stopping")
    t.info(f"gone from /alerts {t_gone - t_stop:.2f} s after the kill")
    m, ok = _poll_metrics(port, lambda m: not ct.series(m, "cstatd_alert_firing",
                                                        alertname="BusyCPU", name=busy.name12),
                          3.0)
    t.check(ok, "cstatd_alert_firing for the busy cgroup is gone from /metrics")
    # endsAt of the last firing post is 20 s ahead: going inactive well
    # before that means the resolved post arrived.
    res = ct.poll(lambda: not am_active(am.alerts(), "BusyCPU", busy.name12), 8.0, 0.2)
    t_am = time.monotonic()
    t.check(bool(res), "Alertmanager no longer has the alert active within 8 s of cstatd "
            "resolving it (its endsAt was 20 s ahead: the resolved post did it)",
            actual=am_alerts_for(am.alerts(), "BusyCPU", busy.name12))
    t.info(f"resolved in Alertmanager {t_am - t_gone:.2f} s after it left /alerts")
    m, ok = _poll_metrics(port, lambda m: (ct.value(m, "cstatd_notifications_sent_total") or 0)
                          > (sent1 or 0), 3.0)
    t.check(ok, "the resolution was posted (cstatd_notifications_sent_total rose)",
            actual=(sent1, ct.value(m, "cstatd_notifications_sent_total")))

    # The sleeper never showed up, and is not firing.
    poll_alerts()
    t.equal(sleeper_seen, [], "the sleeper cgroup never appeared in /alerts (pending or firing)")
    m = ct.get_metrics(port)
    t.equal(ct.series(m, "cstatd_alert_firing", name=sleeper.name12), [],
            "no cstatd_alert_firing for the sleeper cgroup")
    t.check(c.alive(), "cstatd is still running")


def poll_alerts_for_busy(alerts, busy):
    return alerts_for(alerts, "BusyCPU", busy.name12)


def _poll_metrics(port, pred, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    last = {}
    for _ in range(int(timeout / interval) + 2):
        with contextlib.suppress(OSError, RuntimeError, ct.ParseError):
            last = ct.get_metrics(port)
            if pred(last):
                return last, True
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    return last, False


# --------------------------------------------------------------------------
# 2. Alertmanager down
# --------------------------------------------------------------------------

def section_alertmanager_down(t, mnt, tmp):
    dead_port = ct.free_port()
    cfg = os.path.join(tmp, "down.json")
    write_json(cfg, {"interval": "1s", "rules": [BUSY_RULE],
                     "alertmanager": {"url": f"http://127.0.0.1:{dead_port}", "resend": "5s",
                                      "timeout": "2s"}})
    with ct.CgroupSandbox(mnt) as sb:
        busy = sb.add_container()
        busy.start_busy()
        # The sandbox's subtree only: cgroups that other tests create on the
        # host meanwhile would grow cstatd's memory (windows, ~7 KiB per
        # container) and hide what is measured here.
        with ct.Cstatd(["--config", cfg] + sandbox_args(sb)) as c:
            try:
                down_checks(t, c, busy, dead_port)
            finally:
                t.info("cstatd log (tail):\n" + c.stderr_tail(8))
                t_stop = time.monotonic()
                rc = c.stop(timeout=10)
                t.info(f"SIGTERM -> exit {rc} in {time.monotonic() - t_stop:.2f} s")
                t.equal(rc, 0, "cstatd exits 0 on SIGTERM while Alertmanager is unreachable")
                t.check(time.monotonic() - t_stop < 5.0,
                        "it stops within 5 s (a pending retry does not hold it up)")


def down_checks(t, c, busy, dead_port):
    port = c.port
    t.info(f"alertmanager.url -> 127.0.0.1:{dead_port} (nothing listens there)")
    firing = ct.poll(lambda: [a for a in alerts_for(cstatd_alerts(port), "BusyCPU", busy.name12)
                              if a.get("state") == "firing"], FIRE_TIMEOUT, 0.2)
    t.check(bool(firing), "BusyCPU fires for the busy cgroup", fatal=True)
    m0 = ct.get_metrics(port)
    rss0 = vmrss_kib(c.proc.pid)
    fds0 = len(os.listdir(f"/proc/{c.proc.pid}/fd"))
    sweeps0 = ct.value(m0, "cstatd_sweep_duration_seconds_count")
    dropped0 = ct.value(m0, "cstatd_notifications_dropped_total")
    t0 = time.monotonic()
    t.info(f"firing; start: VmRSS {rss0} KiB, sweeps {sweeps0}, dropped {dropped0}, "
           f"containers {ct.value(m0, 'cstatd_containers')}")
    latencies, dropped_seen, firing_lost = [], [dropped0], 0
    kprev = (time.monotonic(), busy.cpu_usage_usec())
    kernel_low = []
    run_s = 20.0
    for _ in range(int(run_s / 0.5) + 2):
        if time.monotonic() - t0 >= run_s:
            break
        ts = time.monotonic()
        if ts - kprev[0] >= 0.9:
            k = busy.cpu_usage_usec()
            krate = (k - kprev[1]) / 1e6 / (ts - kprev[0])
            if krate <= 0.5:
                kernel_low.append((round(ts - t0, 1), round(krate, 2)))
            kprev = (ts, k)
        status, hdrs, body = ct.scrape(port, timeout=5.0)
        latencies.append(time.monotonic() - ts)
        if status == 200:
            m = ct.parse_metrics(ct.decode_body(hdrs, body))
            dropped_seen.append(ct.value(m, "cstatd_notifications_dropped_total"))
            if ct.value(m, "cstatd_alert_firing", alertname="BusyCPU", name=busy.name12) != 1:
                firing_lost += 1
        if not c.alive():
            break
        time.sleep(max(0.0, 0.5 - (time.monotonic() - ts)))
    t1 = time.monotonic()
    t.check(c.alive(), "cstatd is still running after ~20 s of failed posts", fatal=True)
    m1 = ct.get_metrics(port)
    rss1 = vmrss_kib(c.proc.pid)
    fds1 = len(os.listdir(f"/proc/{c.proc.pid}/fd"))
    sweeps1 = ct.value(m1, "cstatd_sweep_duration_seconds_count")
    dropped1 = ct.value(m1, "cstatd_notifications_dropped_total")
    sent1 = ct.value(m1, "cstatd_notifications_sent_total")
    rate = (sweeps1 - sweeps0) / (t1 - t0)
    t.info(f"after {t1 - t0:.1f} s: VmRSS {rss1} KiB, sweeps {sweeps1} ({rate:.2f}/s), "
           f"dropped {dropped1}, sent {sent1}, containers {ct.value(m1, 'cstatd_containers')}")
    t.info("dropped over time: " + " ".join(f"{x:g}" for x in dropped_seen if x is not None))
    t.between(rate, 0.85, 1.15, "sweeps go on at ~1/s (cstatd_sweep_duration_seconds_count)")
    if kernel_low:
        t.info(f"the machine is loaded: the busy cgroup got <= 0.5 cores in {kernel_low}; "
               f"the alert was not firing in {firing_lost} scrapes (not checked)")
    else:
        t.equal(firing_lost, 0, "the alert stays firing on /metrics the whole time")
    lat_sorted = sorted(latencies)
    med = statistics.median(lat_sorted)
    p95 = lat_sorted[int(0.95 * (len(lat_sorted) - 1))]
    t.info(f"/metrics latency over {len(latencies)} scrapes: median {med * 1000:.1f} ms, "
           f"p95 {p95 * 1000:.1f} ms, max {lat_sorted[-1] * 1000:.1f} ms")
    t.check(med < 0.1 and lat_sorted[-1] < 1.0,
            "/metrics latency is unaffected (median < 100 ms, max < 1 s)",
            actual=(med, lat_sorted[-1]))
    last_sweep = ct.value(m1, "cstatd_last_sweep_duration_seconds")
    if last_sweep is not None:
        t.check(last_sweep < 0.5, "the last sweep took < 0.5 s (posting does not block it)",
                actual=last_sweep)
    t.check(dropped1 is not None and dropped0 is not None and dropped1 > dropped0,
            "cstatd_notifications_dropped_total increases while firing with Alertmanager down",
            actual=(dropped0, dropped1))
    mono = all(b >= a for a, b in zip(dropped_seen, dropped_seen[1:])
               if a is not None and b is not None)
    t.check(mono, "cstatd_notifications_dropped_total never decreases")
    t.equal(sent1, 0.0, "cstatd_notifications_sent_total stays 0")
    t.check(rss0 is not None and rss1 is not None and rss1 - rss0 < 4096,
            "VmRSS grows by less than 4 MiB over ~20 s of failing posts",
            actual=f"{rss0} KiB -> {rss1} KiB")
    t.check(fds1 - fds0 <= 2, "open file descriptors do not pile up (failed posts close "
                              "their sockets)", actual=f"{fds0} -> {fds1}")
    log = c.stderr_text()
    n_warn = log.count("cannot post alerts to Alertmanager")
    t.check(n_warn >= 1, "the failed posts are logged (\"cannot post alerts to Alertmanager\")")
    t.check(n_warn <= 5, "... but not once per attempt (at most 5 lines in ~25 s)",
            actual=n_warn)

    # Alertmanager comes up on that port: the firing alert must reach it.
    # Failed batches are retried with a backoff that grows to 30 s (and is
    # not reset when a batch is dropped), so this can take up to ~30 s.
    with Alertmanager(port=dead_port) as am:
        t_up = time.monotonic()
        got = ct.poll(lambda: am_active(am.alerts(), "BusyCPU", busy.name12), RECOVER_TIMEOUT,
                      0.25)
        t_got = time.monotonic()
        t.check(bool(got), f"once Alertmanager listens on that port, the firing alert reaches "
                           f"it within {RECOVER_TIMEOUT:.0f} s", actual=am.alerts())
        t.info(f"alert active in Alertmanager {t_got - t_up:.1f} s after it came up")
        m, ok = _poll_metrics(port, lambda m: (ct.value(m, "cstatd_notifications_sent_total")
                                               or 0) >= 1, 3.0)
        t.check(ok, "cstatd_notifications_sent_total rises once Alertmanager answers",
                actual=ct.value(m, "cstatd_notifications_sent_total"))
        t.check(bool(wait_log(c, "Alertmanager accepts alerts again", 3.0)),
                "the log says Alertmanager accepts alerts again")


def section_alertmanager_hung(t, mnt, tmp):
    """Alertmanager accepts connections but never answers (two such URLs,
    default 10 s timeout): sweeps and /metrics go on, and SIGTERM stops
    cstatd promptly (am_push.h: "in-flight posts are abandoned")."""
    holes = []
    try:
        for _ in range(2):
            h = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            holes.append(h)
            h.bind(("127.0.0.1", 0))
            h.listen(64)  # never accept(): the kernel completes handshakes, no answer
        urls = [f"http://127.0.0.1:{h.getsockname()[1]}" for h in holes]
        cfg = os.path.join(tmp, "hung.json")
        write_json(cfg, {"interval": "1s", "rules": [BUSY_RULE],
                         "alertmanager": {"url": urls, "resend": "5s"}})
        with ct.CgroupSandbox(mnt) as sb:
            busy = sb.add_container()
            busy.start_busy()
            with ct.Cstatd(["--config", cfg] + sandbox_args(sb), stop_timeout=HUNG_STOP_MAX) as c:
                t.info(f"alertmanager.url -> {urls} (listeners that never accept)")
                firing = ct.poll(lambda: [a for a in alerts_for(cstatd_alerts(c.port), "BusyCPU",
                                                                busy.name12)
                                          if a.get("state") == "firing"], FIRE_TIMEOUT, 0.2)
                t.check(bool(firing), "BusyCPU fires for the busy cgroup", fatal=True)
                time.sleep(0.5)  # the first post is now in flight (and hangs)
                m0, t0 = ct.get_metrics(c.port), time.monotonic()
                lat = []
                for _ in range(12):
                    ts = time.monotonic()
                    ct.scrape(c.port)
                    lat.append(time.monotonic() - ts)
                    time.sleep(0.25)
                m1, t1 = ct.get_metrics(c.port), time.monotonic()
                rate = (ct.value(m1, "cstatd_sweep_duration_seconds_count")
                        - ct.value(m0, "cstatd_sweep_duration_seconds_count")) / (t1 - t0)
                t.info(f"while the post hangs: {rate:.2f} sweeps/s, /metrics max "
                       f"{max(lat) * 1000:.1f} ms")
                t.between(rate, 0.6, 1.4, "sweeps go on at ~1/s while a post hangs")
                t.check(max(lat) < 1.0, "/metrics answers within 1 s while a post hangs",
                        actual=max(lat))
                t_stop = time.monotonic()
                rc = c.stop(timeout=HUNG_STOP_MAX)
                dt = time.monotonic() - t_stop
                t.info(f"SIGTERM -> exit {rc} after {dt:.1f} s")
                t.equal(rc, 0, "cstatd exits 0 on SIGTERM while a post hangs")
                t.check(dt < HUNG_STOP_OK, f"SIGTERM stops it within {HUNG_STOP_OK:.0f} s "
                                           "although a post to Alertmanager hangs (in-flight "
                                           "posts are abandoned, the other URLs not tried)",
                        actual=f"{dt:.1f} s")
    finally:
        for h in holes:
            h.close()


# --------------------------------------------------------------------------
# 3. Reload: SIGHUP and POST /-/reload
# --------------------------------------------------------------------------

def rules_config(threshold):
    rule = dict(BUSY_RULE, threshold=threshold)
    return {"interval": "1s", "rules": [rule]}


BROKEN = '{\n  "interval": "1s",\n  "rules": [\n    {"alert": "BusyCPU", "signal": "cpu_usage", ' \
         '"window": "1m", "op": "=>", "threshold": 0.75}\n  ]\n}\n'


def section_reload(t, mnt, tmp, via_http):
    cfg = os.path.join(tmp, "reload-http.json" if via_http else "reload-sighup.json")
    write_json(cfg, rules_config(0.5))
    args = ["--config", cfg] + empty_root(tmp)
    if via_http:
        args.append("--web.enable-lifecycle")
    with ct.Cstatd(args) as c:
        try:
            reload_checks(t, c, cfg, via_http)
        finally:
            t.info("cstatd log (tail):\n" + c.stderr_tail(8))


def reload_checks(t, c, cfg, via_http):
    port = c.port
    how = "POST /-/reload" if via_http else "SIGHUP"

    def trigger(good):
        if via_http:
            status, _, body = ct.http_request(port, "/-/reload", method="POST")
            # cstatd answers 200 "reload requested" and reloads asynchronously
            # (as on SIGHUP); a synchronous 500 for a broken file would do too.
            ok = status == 200 if good else status in (200, 500)
            t.check(ok, f"POST /-/reload with --web.enable-lifecycle answers "
                        f"{'200' if good else '200 or 500'}", actual=(status, body[:80]))
        else:
            c.send_signal(signal.SIGHUP)

    m = ct.get_metrics(port)
    t.equal(ct.value(m, "cstatd_config_last_reload_successful"), 1.0,
            "cstatd_config_last_reload_successful 1 at start")
    ts0 = ct.value(m, "cstatd_config_last_reload_success_timestamp_seconds")
    t.equal(ct.value(m, "cstatd_alert_threshold", alertname="BusyCPU"), 0.5,
            "config A: cstatd_alert_threshold{alertname=\"BusyCPU\"} 0.5")
    rules_a = cstatd_rules(port)
    t.equal(rule_threshold(rules_a, "BusyCPU"), 0.5, "config A: /alerts/rules threshold 0.5")

    # Broken file.
    write_text(cfg, BROKEN)
    mark = len(c.stderr_text())
    t_r = time.monotonic()
    trigger(False)
    logged = wait_log(c, "reload failed", 5.0, mark)
    t.check(bool(logged), f"{how} with a broken file: the log says the reload failed "
                          f"(within {time.monotonic() - t_r:.2f} s)",
            actual=c.stderr_text()[mark:][-600:])
    line = next((ln for ln in c.stderr_text()[mark:].splitlines() if "reload failed" in ln), "")
    t.check(os.path.basename(cfg) in line and "rules[0].op" in line,
            "the log line names the file and the offending key (rules[0].op)", actual=line)
    m, ok = _poll_metrics(port, lambda m: ct.value(m, "cstatd_config_last_reload_successful")
                          == 0, 3.0)
    t.check(ok, "cstatd_config_last_reload_successful 0 after the failed reload",
            actual=ct.value(m, "cstatd_config_last_reload_successful"))
    time.sleep(1.5 * INTERVAL)  # a sweep in which a (wrongly) accepted config would apply
    t.check(c.alive(), f"cstatd still runs after a {how} with a broken file", fatal=True)
    m = ct.get_metrics(port)
    t.equal(ct.value(m, "cstatd_config_last_reload_success_timestamp_seconds"), ts0,
            "the success timestamp did not move")
    t.equal(ct.value(m, "cstatd_alert_threshold", alertname="BusyCPU"), 0.5,
            "the old threshold (0.5) stays on /metrics")
    rules_now = cstatd_rules(port)
    t.equal(rules_now, rules_a, "/alerts/rules still shows the old rules (same fingerprint)")

    # Valid config B with a changed threshold.
    time.sleep(0.01)
    write_json(cfg, rules_config(0.75))
    mark = len(c.stderr_text())
    trigger(True)
    m, ok = _poll_metrics(port, lambda m: ct.value(m, "cstatd_config_last_reload_successful")
                          == 1 and ct.value(m, "cstatd_alert_threshold", alertname="BusyCPU")
                          == 0.75, 3 * INTERVAL + 2)
    t.check(ok, f"{how} with config B: cstatd_config_last_reload_successful 1 and "
                "cstatd_alert_threshold{alertname=\"BusyCPU\"} 0.75",
            actual=(ct.value(m, "cstatd_config_last_reload_successful"),
                    ct.series(m, "cstatd_alert_threshold")))
    ts1 = ct.value(m, "cstatd_config_last_reload_success_timestamp_seconds")
    t.check(ts0 is not None and ts1 is not None and ts1 > ts0,
            "the success timestamp advanced", actual=(ts0, ts1))
    rules_b = ct.poll(lambda: (lambda r: r if rule_threshold(r, "BusyCPU") == 0.75 else None)(
        cstatd_rules(port)), 3.0, 0.1)
    t.check(bool(rules_b), "/alerts/rules shows the new threshold 0.75",
            actual=cstatd_rules(port))
    if rules_b and rules_a:
        t.check(rules_b[0].get("fingerprint") != rules_a[0].get("fingerprint"),
                "the rule's fingerprint changed with its definition")
    t.check(bool(wait_log(c, "configuration reloaded", 3.0, mark)),
            "the log says the configuration was reloaded")
    t.check(c.alive(), "cstatd still runs")


def section_reload_state(t, mnt, tmp):
    """A reload keeps the state of rules whose definition did not change (an
    annotation is not part of it) and restarts (and resolves) the others."""
    cfg = os.path.join(tmp, "reload-state.json")

    def write(threshold, summary):
        rule = dict(BUSY_RULE, threshold=threshold, annotations={"summary": summary})
        write_json(cfg, {"interval": "1s", "rules": [rule],
                         "alertmanager": {"url": am.url, "resend": "5s", "timeout": "2s"}})

    with Alertmanager() as am, ct.CgroupSandbox(mnt) as sb:
        busy = sb.add_container()
        busy.start_busy()
        write(0.5, "v1 {{name}} at {{value}}")
        with ct.Cstatd(["--config", cfg] + sandbox_args(sb)) as c:
            try:
                reload_state_checks(t, c, am, busy, write)
            finally:
                t.info("cstatd log (tail):\n" + c.stderr_tail(6))


def reload_state_checks(t, c, am, busy, write):
    port = c.port

    def mine():
        a = alerts_for(cstatd_alerts(port), "BusyCPU", busy.name12)
        return a[0] if a else None

    a0 = ct.poll(lambda: (lambda a: a if a and a.get("state") == "firing" else None)(mine()),
                 FIRE_TIMEOUT, 0.2)
    t.check(bool(a0), "BusyCPU fires for the busy cgroup", fatal=True)
    t.check(bool(ct.poll(lambda: am_active(am.alerts(), "BusyCPU", busy.name12), 10.0, 0.2)),
            "... and is active in Alertmanager", fatal=True)

    # Only the annotation changes: the instance keeps firing, same since.
    write(0.5, "v2 {{name}} at {{value}}")
    c.send_signal(signal.SIGHUP)
    a1 = ct.poll(lambda: (lambda a: a if a and a.get("annotations", {}).get("summary", "")
                          .startswith("v2 ") else None)(mine()), 3 * INTERVAL + 2, 0.1)
    t.check(bool(a1), "annotation-only reload: /alerts shows the new summary",
            actual=mine())
    if a1:
        t.equal((a1.get("state"), a1.get("active_since"), a1.get("firing_since")),
                ("firing", a0.get("active_since"), a0.get("firing_since")),
                "annotation-only reload: still firing, active_since and firing_since kept")
        t.equal(a1["annotations"]["summary"], f"v2 {busy.name12} at {a1.get('value_text')}",
                "the summary template is rendered ({{name}}, {{value}})")

    # The threshold changes: a new definition starts from inactive and its
    # firing alert is resolved (and posted as such) at the reload.
    write(0.6, "v2 {{name}} at {{value}}")
    t_r = time.monotonic()
    c.send_signal(signal.SIGHUP)
    a2 = ct.poll(lambda: (lambda a: a if a and a.get("firing_since") != a0.get("firing_since")
                          else None)(mine()), 3 * INTERVAL + 2, 0.1)
    t.check(bool(a2) and a2.get("state") == "pending",
            "threshold reload: the instance starts again (pending, new active_since)",
            actual=mine())
    gone = ct.poll(lambda: not am_active(am.alerts(), "BusyCPU", busy.name12), 5.0, 0.1)
    t.check(bool(gone), "threshold reload: Alertmanager gets the old alert resolved while the "
                        "new one is pending", actual=am.alerts())
    a3 = ct.poll(lambda: (lambda a: a if a and a.get("state") == "firing" else None)(mine()),
                 FIRE_TIMEOUT, 0.1)
    t.check(bool(a3), "... and it fires again after `for`")
    if a3:
        t.info(f"fired again {time.monotonic() - t_r:.1f} s after the reload")
        t.equal(a3.get("threshold"), 0.6, "the firing alert carries the new threshold")
    t.check(bool(ct.poll(lambda: am_active(am.alerts(), "BusyCPU", busy.name12), 10.0, 0.2)),
            "... and is active in Alertmanager again")


def section_reload_disabled(t, mnt, tmp):
    cfg = os.path.join(tmp, "reload-off.json")
    write_json(cfg, rules_config(0.5))
    with ct.Cstatd(["--config", cfg] + empty_root(tmp)) as c:
        write_json(cfg, rules_config(0.75))
        mark = len(c.stderr_text())
        status, _, body = ct.http_request(c.port, "/-/reload", method="POST")
        t.check(status == 405, "POST /-/reload without --web.enable-lifecycle answers 405",
                expected=405, actual=(status, body[:60]))
        time.sleep(2.5 * INTERVAL)
        t.check("SIGHUP" not in c.stderr_text()[mark:] and
                "reload" not in c.stderr_text()[mark:],
                "... and nothing is reloaded (no reload in the log)",
                actual=c.stderr_text()[mark:])
        t.equal(metric(c.port, "cstatd_alert_threshold", alertname="BusyCPU"), 0.5,
                "... the threshold stays 0.5")
        t.equal(rule_threshold(cstatd_rules(c.port), "BusyCPU"), 0.5,
                "... /alerts/rules still shows 0.5")


# --------------------------------------------------------------------------
# 4. Config errors at start
# --------------------------------------------------------------------------

def c_string_literals(s):
    """Concatenate the C string literals in `s` ("a" "b" -> ab), unescaped."""
    out = []
    for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', s):
        out.append(re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1),
                                                                            m.group(1)), lit))
    return "".join(out)


def expected_messages():
    """[(file, expected text with FILE)] from tests/unit/test_config.c's table."""
    with open(TEST_CONFIG_C) as f:
        src = f.read()
    m = re.search(r"\}\s*broken\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    if not m:
        raise RuntimeError(f"cannot find the broken[] table in {TEST_CONFIG_C}")
    out = []
    for entry in re.finditer(r'\{\s*"(bad-[^"]+\.json)"\s*,((?:\s*"(?:[^"\\]|\\.)*")+)\s*\}',
                             m.group(1)):
        out.append((entry.group(1), c_string_literals(entry.group(2))))
    return out


def section_config_errors(t, mnt, tmp):
    table = expected_messages()
    files = sorted(f for f in os.listdir(FIXTURES) if f.startswith("bad-"))
    t.check(len(table) >= 12, f"test_config.c lists at least 12 broken files ({len(table)})",
            fatal=True)
    missing = sorted(set(files) - {f for f, _ in table})
    if missing:
        t.info(f"bad-*.json files without an expected message in test_config.c: {missing}")
    n_ok = 0
    for fname, want_tpl in table:
        path = os.path.join(FIXTURES, fname)
        want = want_tpl.replace("FILE", path, 1)
        results = {}
        for what, argv in (("cstatd --config F", ["--config", path] + empty_root(tmp)),
                           ("cstatd rules export --config F",
                            ["rules", "export", "--config", path])):
            # run_cstatd appends --no-docker (a flag both forms take).
            rc, out, err = ct.run_cstatd(argv, timeout=10)
            lines = err.splitlines()
            ok = rc == 1 and len(lines) == 1 and want in lines[0] and out == ""
            results[what] = ok
            t.check(ok, f"{fname}: `{what}` exits 1 with one stderr line containing the "
                        "expected message",
                    expected=f"rc 1, one line containing {want!r}",
                    actual=f"rc {rc}, stdout {out[:80]!r}, stderr {err[:300]!r}")
        n_ok += all(results.values())
    t.info(f"{n_ok} of {len(table)} broken files give their message at start and at "
           "rules export")
    # A file that does not exist.
    rc, out, err = ct.run_cstatd(["--config", os.path.join(tmp, "nope.json")], timeout=10)
    t.check(rc == 1 and "nope.json: cannot open" in err and len(err.splitlines()) == 1,
            "a missing --config file: exit 1, one line \"...nope.json: cannot open...\"",
            actual=(rc, err))


# --------------------------------------------------------------------------
# 5. rules export -> promtool check rules
# --------------------------------------------------------------------------

DEFAULT_ALERTS = ("ContainerCpuNearLimit", "ContainerMemoryNearLimit",
                  "ContainerMemoryPredictedFull", "ContainerCrashLooping", "ContainerOOMKilled",
                  "ContainerCpuThrottled", "ContainerUnhealthy", "ContainerNoMemoryLimit",
                  "ContainerPrivileged")


def section_rules_export(t, mnt, tmp):
    busy_cfg = os.path.join(tmp, "export-busy.json")
    write_json(busy_cfg, {"rules": [BUSY_RULE]})
    cases = [("defaults", [], DEFAULT_ALERTS),
             ("BusyCPU config", ["--config", busy_cfg], ("BusyCPU",)),
             ("good-full.json", ["--config", os.path.join(FIXTURES, "good-full.json")],
              ("ContainerCpuBusy", "ContainerMemoryPredictedFull", "ContainerPidsHigh")),
             ("good-example.json", ["--config", os.path.join(FIXTURES, "good-example.json")],
              ("ContainerMemoryNearLimit",))]
    for what, extra, names in cases:
        rc, out, err = ct.run_cstatd(["rules", "export"] + extra, timeout=10)
        t.check(rc == 0 and out.strip() != "", f"rules export ({what}) exits 0 with output",
                actual=(rc, err[:300]))
        path = os.path.join(tmp, f"rules-{re.sub(r'[^a-z0-9]+', '-', what.lower())}.yml")
        write_text(path, out)
        p = subprocess.run([PROMTOOL, "check", "rules", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        po = p.stdout.decode("utf-8", "replace")
        t.check(p.returncode == 0 and "SUCCESS" in po,
                f"promtool check rules accepts the export ({what})", actual=po[-800:])
        m = re.search(r"SUCCESS: (\d+) rules found", po)
        if m:
            t.info(f"{what}: promtool: {m.group(0)}")
        missing = [n for n in names if not re.search(rf"alert:\s*['\"]?{n}\b", out)]
        t.equal(missing, [], f"every alert of the {what} is in the export")


# --------------------------------------------------------------------------

def main():
    ct.require_root()
    mnt = ct.require_cgroup2()
    ct.require_executable(AM_BIN, "apt-get install prometheus-alertmanager")
    ct.require_executable(PROMTOOL, "apt-get install prometheus")
    ct.find_binary()
    t = ct.Test("alerts_real: alert rules, Alertmanager, reloads, config errors, export")
    t.info(f"cgroup2 mount {mnt}; binary {ct.find_binary()}")
    tmp = tempfile.mkdtemp(prefix="cstatd-alerts-")
    times = {}
    sections = [("fire_and_resolve", section_fire_and_resolve, ()),
                ("alertmanager_down", section_alertmanager_down, ()),
                ("alertmanager_hung", section_alertmanager_hung, ()),
                ("reload_sighup", section_reload, (False,)),
                ("reload_http", section_reload, (True,)),
                ("reload_state", section_reload_state, ()),
                ("reload_disabled", section_reload_disabled, ()),
                ("config_errors", section_config_errors, ()),
                ("rules_export", section_rules_export, ())]
    only = sys.argv[1:]  # e.g. `test_alerts_real.py reload_http` while debugging
    try:
        for name, fn, extra in sections:
            if not only or name in only:
                times[name] = run_section(t, name, fn, mnt, tmp, *extra)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.info("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    t.finish()


if __name__ == "__main__":
    ct.run(main)
