#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Self-test of lib/cstatd_test.py (does not run cstatd).

- the exposition parser: escapes, +Inf/-Inf/NaN, timestamps, strict errors;
- promtool is callable the way the tests call it;
- CgroupSandbox on the real cgroup2 mount (root only; skipped otherwise):
  processes land in the cgroup, cpu.stat grows, freeze works, cleanup leaves
  nothing behind;
- Prometheus: a real server scrapes a tiny static exporter and answers PromQL.
"""

import http.server
import math
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

BODY = (
    '# HELP a_total Help with \\\\ backslash and \\n newline.\n'
    '# TYPE a_total counter\n'
    'a_total{b="x\\\\\\"y\\nz",c=""} +Inf\n'
    'a_total{b="2"} -Inf\n'
    'a_total 1.5e3\n'
    '# TYPE g gauge\n'
    'g{ l = "v" , } NaN\n'
    'g{l="w"} 7 1700000000000\n'
    '# a plain comment\n'
    '\n'
    'h{l="\u00e9\u4e2d"} -0.25\n'
)

BAD = {
    "invalid escape": 'x{a="\\t"} 1\n',
    "duplicate series": 'x{a="1"} 1\nx{a="1"} 2\n',
    "TYPE after samples": 'x 1\n# TYPE x gauge\n',
    "no final newline": 'x 1',
    "bad value": 'x 1,5\n',
    "text after timestamp": 'x 1 2 3\n',
    "bad metric name": '1x 1\n',
    "unterminated labels": 'x{a="1" 1\n',
    "second TYPE": '# TYPE x gauge\n# TYPE x gauge\nx 1\n',
}


def test_parser(t):
    ex = ct.parse_exposition(BODY)
    m = ct.parse_metrics(BODY)
    t.equal(len(ex.samples), 6, "parser: 6 samples")
    t.equal(ex.types, {"a_total": "counter", "g": "gauge"}, "parser: TYPE lines")
    t.equal(ex.helps["a_total"], "Help with \\\\ backslash and \\n newline.",
            "parser: HELP text kept raw")
    key = ("a_total", frozenset({"b": 'x\\"y\nz', "c": ""}.items()))
    t.check(key in m and m[key] == math.inf, "parser: label escapes \\\\ \\\" \\n and +Inf",
            actual=[k for k in m if k[0] == "a_total"])
    t.equal(ct.value(m, "a_total", b="2"), -math.inf, "parser: -Inf")
    t.equal(ct.value(m, "a_total", b="2"), -math.inf, "parser: value() by label")
    v = ct.value(m, "g", l="v")
    t.check(v is not None and math.isnan(v), "parser: NaN, blanks and trailing comma in labels",
            actual=v)
    t.equal([s.timestamp for s in ex.samples if s.name == "g"], [None, "1700000000000"],
            "parser: timestamps recorded")
    t.equal(ct.value(m, "h"), -0.25, "parser: UTF-8 label value")
    t.equal(len(ct.series(m, "a_total")), 3, "series(): all series of a name")
    try:
        ct.value(m, "a_total")
        t.check(False, "value() raises when several series match")
    except AssertionError:
        t.check(True, "value() raises when several series match")
    for what, body in BAD.items():
        try:
            ct.parse_exposition(body)
            t.check(False, f"parser rejects: {what}", actual=body)
        except ct.ParseError:
            t.check(True, f"parser rejects: {what}")
    om = '# TYPE c counter\nc_total 1\n# EOF\n'
    ex = ct.parse_exposition(om)
    t.check(ex.eof and ex.types == {"c": "counter"}, "parser reads OpenMetrics with # EOF")


def test_promtool(t):
    if not os.access("/usr/bin/promtool", os.X_OK):
        t.info("promtool not installed; skipping its check")
        return
    good = "# HELP x_total A counter.\n# TYPE x_total counter\nx_total 1\n"
    rc, out = ct.promtool_check_metrics(good)
    t.check(rc == 0 and not out.strip(), "promtool: clean body -> exit 0, no output",
            actual=(rc, out))
    rc, out = ct.promtool_check_metrics("# TYPE x counter\nx 1\n")
    t.check(rc != 0 and out.strip(), "promtool: lint problem -> non-zero exit and output",
            actual=(rc, out))


def test_sandbox(t):
    if os.geteuid() != 0:
        t.info("not root: CgroupSandbox part skipped")
        return
    mnt = ct.find_cgroup2_mount()
    if mnt is None:
        t.info("no cgroup2 mount: CgroupSandbox part skipped")
        return
    t.info(f"cgroup2 mount: {mnt}")
    with ct.CgroupSandbox(mnt) as sb:
        base = sb.base
        busy = sb.add_container()
        p = busy.start_busy()
        idle = sb.add_container()
        q = idle.start_sleeper()
        t.check(len(busy.id) == 64 and busy.name12 == busy.id[:12], "64-hex id")
        t.equal(busy.id_label, "/" + os.path.relpath(busy.path, mnt), "id_label")
        t.check(busy.id_label.endswith("/docker/" + busy.id), "docker cgroupfs layout",
                actual=busy.id_label)
        t.equal(busy.pids(), [p.pid], "busy pid is in its cgroup.procs")
        t.equal(idle.pids(), [q.pid], "sleeper pid is in its cgroup.procs")
        u0 = busy.cpu_usage_usec()
        i0 = idle.cpu_usage_usec()
        time.sleep(1.0)
        du = (busy.cpu_usage_usec() - u0) / 1e6
        di = (idle.cpu_usage_usec() - i0) / 1e6
        t.between(du, 0.7, 1.3, "busy cgroup's cpu.stat grows ~1 s per s")
        t.between(di, 0.0, 0.05, "sleeper cgroup's cpu.stat barely moves")
        idle.freeze(True)
        t.check(ct.poll(idle.frozen, 2.0, 0.05), "freeze: cgroup.events frozen 1")
        idle.remove()
        t.check(not os.path.exists(idle.path), "remove(): frozen sleeper killed, dir gone")
        t.check(q.poll() is not None, "remove(): sleeper reaped")
    t.check(not os.path.exists(base), "sandbox removed on exit", actual=base)
    t.check(p.poll() is not None, "busy process killed on exit")


class _Static(http.server.BaseHTTPRequestHandler):
    body = b"# HELP harness_value A test value.\n# TYPE harness_value gauge\nharness_value 42\n"

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *a):
        pass


def test_prometheus(t):
    if not os.access("/usr/bin/prometheus", os.X_OK):
        t.info("prometheus not installed; skipping its check")
        return
    srv = http.server.HTTPServer(("127.0.0.1", ct.free_port()), _Static)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        target = f"127.0.0.1:{srv.server_address[1]}"
        with ct.Prometheus([target], job="harness") as prom:
            res = ct.poll(lambda: prom.query('harness_value{job="harness"}'), 20, 0.5)
            val = float(res[0]["value"][1]) if res else None
            t.equal(val, 42.0, "Prometheus scraped the static exporter (query harness_value)")
            up = prom.query('up{job="harness"}')
            t.equal(up and up[0]["value"][1], "1", 'up{job="harness"} == 1')
            tmp = prom.tmpdir
        t.check(not os.path.exists(tmp), "Prometheus tmp dir removed on exit")
    finally:
        srv.shutdown()
        srv.server_close()


def main():
    t = ct.Test("harness: lib/cstatd_test.py self-test")
    test_parser(t)
    test_promtool(t)
    port = ct.free_port()
    t.check(1024 <= port <= 65535, "free_port()", actual=port)
    test_sandbox(t)
    test_prometheus(t)
    t.finish()


if __name__ == "__main__":
    ct.run(main)
