#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cstatd against real kernel cgroups (cgroup2 mount found from mountinfo).

Makes three cgroups in Docker's cgroupfs layout (<mount>/cstatd-test-…/docker/<64 hex>):
one with a process spinning a CPU, two with `sleep`. Runs cstatd with
--interval 1s --cgroup-root <mount> --no-docker and checks CPU accounting,
labels, freeze, removal, the container count, and the HTTP surface
(promtool, status codes, gzip, OpenMetrics, content type, no timestamps).

Needs root and a cgroup2 mount (exits 77 otherwise).
"""

import gzip
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

INTERVAL = 1.0
CPU = "container_cpu_usage_seconds_total"
PLAIN_CT = "text/plain; version=0.0.4; charset=utf-8"
OM_ACCEPT = "application/openmetrics-text; version=1.0.0"


def cpu_total(m, c):
    return ct.value(m, CPU, name=c.name12, cpu="total")


def series_of(m, c):
    """Every series (any family) that belongs to container c."""
    return [k for k in m if dict(k[1]).get("id") == c.id_label
            or dict(k[1]).get("name") == c.name12]


def wait_next_sweep(d, c, timeout=3 * INTERVAL + 1):
    """Poll /metrics until c's CPU counter changes (a new sweep was published).

    Returns (monotonic time seen, metrics) or (None, last metrics).
    """
    first = cpu_total(d.metrics(), c)
    deadline = time.monotonic() + timeout
    m = None
    while time.monotonic() < deadline:
        m = d.metrics()
        now = time.monotonic()
        v = cpu_total(m, c)
        if v is not None and v != first:
            return now, m
        time.sleep(0.05)
    return None, m


def check_cpu(t, d, busy, sleepers):
    t.info("CPU: measuring between two sweeps >= 3 s apart (busy loop vs sleepers)")
    ta, ma = wait_next_sweep(d, busy)
    ka = busy.cpu_usage_usec()
    t.check(ta is not None, "busy container's CPU counter advances from sweep to sweep",
            fatal=True)
    time.sleep(3.0)
    tb, mb = wait_next_sweep(d, busy)
    kb = busy.cpu_usage_usec()
    t.check(tb is not None, "busy container's CPU counter still advances 3 s later", fatal=True)
    dt = tb - ta
    va, vb = cpu_total(ma, busy), cpu_total(mb, busy)
    rate = (vb - va) / dt
    krate = (kb - ka) / 1e6 / dt
    t.info(f"busy: {va:.6f} s -> {vb:.6f} s over {dt:.3f} s = {rate:.3f} core-s/s "
           f"(kernel's own cpu.stat over the same window: {krate:.3f})")
    t.between(rate, 0.8, 1.2, f"busy container's {CPU}{{cpu=\"total\"}} grows at 0.8-1.2 "
              f"core-s/s (kernel measured {krate:.3f})")
    # Units: the exported seconds must be the kernel's usage_usec / 1e6, at
    # most one interval (+ slack) behind the live kernel value.
    lag = kb / 1e6 - vb
    t.between(lag, -0.001, INTERVAL + 0.6,
              "exported CPU seconds = kernel usage_usec/1e6, at most ~1 interval old (lag s)")
    for s in sleepers:
        sa, sb = cpu_total(ma, s), cpu_total(mb, s)
        ok = sa is not None and sb is not None
        t.check(ok, f"sleeper {s.name12} has a {CPU} series", actual=(sa, sb))
        if ok:
            t.between((sb - sa) / dt, 0.0, 0.05, f"sleeper {s.name12} CPU rate < 0.05 core-s/s")


def check_labels(t, m, containers):
    for c in containers:
        s = ct.series(m, CPU, name=c.name12)
        t.equal(len(s), 1, f"{c.name12}: exactly one {CPU} series (cpu=\"total\" on v2)")
        if not s:
            continue
        labels, _ = s[0]
        t.equal(labels.get("cpu"), "total", f"{c.name12}: cpu label")
        t.equal(labels.get("id"), c.id_label, f"{c.name12}: id label is \"/\" + path "
                "relative to the cgroup2 mount")
        t.equal(labels.get("name"), c.name12, f"{c.name12}: name label is the 12-hex id")
        t.equal(labels.get("image"), "", f"{c.name12}: image label is \"\" without Docker")
        for fam in ("container_cpu_user_seconds_total", "container_cpu_system_seconds_total"):
            v = ct.value(m, fam, name=c.name12)
            t.check(v is not None and v >= 0, f"{c.name12}: {fam} present", actual=v)


def check_freeze(t, d, c):
    m = d.metrics()
    t.equal(ct.value(m, "cstatd_container_frozen", name=c.name12), 0.0,
            f"{c.name12}: cstatd_container_frozen is 0 before cgroup.freeze")
    c.freeze(True)
    t0 = time.monotonic()
    ct.poll(c.frozen, 2.0, 0.05)
    t.check(c.frozen(), "kernel reports frozen 1 in cgroup.events")
    got = ct.poll(lambda: ct.value(d.metrics(), "cstatd_container_frozen",
                                   name=c.name12) == 1.0, 3 * INTERVAL + 0.5, 0.1)
    el = time.monotonic() - t0
    t.check(got, f"{c.name12}: cstatd_container_frozen goes 0 -> 1 within 3 intervals "
            f"(took {el:.2f} s)", expected=1.0,
            actual=ct.value(d.metrics(), "cstatd_container_frozen", name=c.name12))


def check_removal(t, d, sb, c):
    before = series_of(d.metrics(), c)
    t.check(len(before) > 0, f"{c.name12}: has series before removal ({len(before)})")
    c.remove()
    t.check(not os.path.exists(c.path), f"{c.name12}: cgroup directory removed")
    t0 = time.monotonic()
    gone = ct.poll(lambda: not series_of(d.metrics(), c), 2 * INTERVAL + 0.5, 0.1)
    el = time.monotonic() - t0
    left = series_of(d.metrics(), c)
    t.check(gone, f"{c.name12}: all its series gone within 2 intervals after rmdir "
            f"(took {el:.2f} s)", expected=[], actual=sorted(n for n, _ in left)[:10])
    m = d.metrics()
    n = ct.value(m, "cstatd_containers")
    t.check(n is not None and n >= len(sb.live()),
            f"cstatd_containers >= {len(sb.live())} live test cgroups after the removal",
            actual=n)


def check_http(t, d, busy):
    port = d.port
    # Plain text 0.0.4.
    status, hdrs, body = ct.scrape(port)
    t.equal(status, 200, "GET /metrics -> 200")
    t.equal(hdrs.get("content-type"), PLAIN_CT, "plain Content-Type")
    t.check("gzip" not in hdrs.get("content-encoding", ""),
            "no gzip without Accept-Encoding: gzip", actual=hdrs.get("content-encoding"))
    text = body.decode("utf-8")
    ex = ct.parse_exposition(text)
    stamped = [s.line for s in ex.samples if s.timestamp is not None]
    t.equal(stamped[:5], [], "no sample carries a timestamp")
    rc, out = ct.promtool_check_metrics(body)
    t.check(rc == 0 and out.strip() == "", "promtool check metrics: no output, exit 0",
            expected="rc 0, no output", actual=f"rc {rc}: {out[:1500]}")
    m = ct.parse_metrics(text)
    for fam in ("cstatd_build_info", "cstatd_sweep_duration_seconds_count",
                "cstatd_last_sweep_duration_seconds", "cstatd_containers",
                "cstatd_scrapes_total"):
        t.check(ct.series(m, fam), f"self metric {fam} present")
    t.check(ct.series(m, "cstatd_collect_errors_total", source="cgroup"),
            "cstatd_collect_errors_total{source=\"cgroup\"} present")
    t.check(any(n.startswith("process_") for n, _ in m), "process_* self metrics present")

    # Status codes.
    for method, path, want in (("GET", "/healthz", 200), ("GET", "/readyz", 200),
                               ("GET", "/no-such-path", 404), ("POST", "/metrics", 405),
                               ("PUT", "/metrics", 405), ("DELETE", "/metrics", 405),
                               ("HEAD", "/metrics", 200)):
        st, h, b = ct.http_request(port, path, method=method,
                                   body=b"x" if method in ("POST", "PUT") else None)
        t.equal(st, want, f"{method} {path} -> {want}")

    # gzip (rendered once a client asked for it: poll up to 3 s).
    t0 = time.monotonic()
    got_gzip = None
    plain_ok = True
    for _ in range(40):
        st, h, b = ct.scrape(port, headers={"Accept-Encoding": "gzip"})
        if st != 200:
            plain_ok = False
            break
        if "gzip" in h.get("content-encoding", ""):
            got_gzip = (h, b)
            break
        try:
            ct.parse_exposition(b.decode("utf-8"))
        except (ct.ParseError, UnicodeDecodeError):
            plain_ok = False
            break
        if time.monotonic() - t0 > 3.0:
            break
        time.sleep(0.1)
    t.check(plain_ok, "Accept-Encoding: gzip answers 200 with a valid body while gzip "
            "is being prepared")
    t.check(got_gzip is not None, "Accept-Encoding: gzip -> Content-Encoding: gzip within 3 s "
            f"(after {time.monotonic() - t0:.2f} s)")
    if got_gzip:
        h, b = got_gzip
        try:
            gtext = gzip.decompress(b).decode("utf-8")
            gm = ct.parse_metrics(gtext)
            t.check(cpu_total(gm, busy) is not None,
                    "gzip body decompresses to a valid exposition with the busy container")
            t.equal(h.get("content-type"), PLAIN_CT, "gzip response keeps the plain Content-Type")
        except Exception as e:  # noqa: BLE001
            t.check(False, "gzip body decompresses and parses", actual=repr(e))

    # OpenMetrics (same polling caveat; text fallback allowed at first).
    t0 = time.monotonic()
    om = None
    first_ct = None
    for _ in range(40):
        st, h, b = ct.scrape(port, headers={"Accept": OM_ACCEPT})
        ctype = h.get("content-type", "")
        first_ct = first_ct or ctype
        if st == 200 and ctype.startswith("application/openmetrics-text; version=1.0.0"):
            om = (h, b)
            break
        if st != 200 or not ctype.startswith("text/plain"):
            break
        if time.monotonic() - t0 > 3.0:
            break
        time.sleep(0.1)
    t.info(f"OpenMetrics: first answer Content-Type {first_ct!r}, "
           f"OM after {time.monotonic() - t0:.2f} s")
    t.check(om is not None, f"Accept: {OM_ACCEPT} -> Content-Type application/openmetrics-text; "
            "version=1.0.0 within 3 s", actual=first_ct)
    if om:
        h, b = om
        otext = None
        try:
            otext = ct.decode_body(h, b)
        except Exception as e:  # noqa: BLE001
            t.check(False, "OpenMetrics body decodes", actual=repr(e))
        if otext is not None:
            t.check(otext.endswith("# EOF\n"), "OpenMetrics body ends with '# EOF\\n'",
                    actual=otext[-40:])
            t.equal(otext.count("# EOF"), 1, "exactly one # EOF line")
            try:
                oex = ct.parse_exposition(otext)
                bad = [n for n, ty in oex.types.items() if ty == "counter" and n.endswith("_total")]
                t.equal(bad[:5], [], "OpenMetrics counter TYPE lines name the family "
                        "without _total")
                t.check(any(s.name == CPU and s.labels.get("name") == busy.name12
                            for s in oex.samples),
                        "OpenMetrics body has the busy container's CPU counter sample")
                t.equal([s.line for s in oex.samples if s.timestamp is not None][:5], [],
                        "no OpenMetrics sample carries a timestamp")
            except ct.ParseError as e:
                t.check(False, "OpenMetrics body parses", actual=str(e))

    # Plain again after the others were asked for.
    st, h, b = ct.scrape(port, headers={"Accept": "text/plain"})
    t.equal(h.get("content-type"), PLAIN_CT, "Accept: text/plain -> plain Content-Type")


def main():
    ct.require_root()
    mnt = ct.require_cgroup2()
    t = ct.Test("cgroup_real: cstatd on real kernel cgroups")
    t.info(f"cgroup2 mount: {mnt}")
    d_ref = []
    t.on_failure.append(lambda: d_ref and print("  cstatd stderr:\n" + d_ref[0].stderr_tail(40)))
    with ct.CgroupSandbox(mnt) as sb:
        busy = sb.add_container()
        busy.start_busy()
        s1 = sb.add_container()
        s1.start_sleeper()
        s2 = sb.add_container()
        s2.start_sleeper()
        t.info(f"busy {busy.id_label}; sleepers {s1.name12}, {s2.name12}")
        with ct.Cstatd(["--interval", "1s", "--cgroup-root", mnt]) as d:
            d_ref.append(d)
            seen = ct.poll(lambda: all(cpu_total(d.metrics(), c) is not None
                                       for c in (busy, s1, s2)), 3 * INTERVAL + 1, 0.1)
            t.check(seen, "all three test cgroups appear in /metrics", fatal=True)
            m = d.metrics()
            check_labels(t, m, (busy, s1, s2))
            n = ct.value(m, "cstatd_containers")
            t.check(n is not None and n >= 3, "cstatd_containers >= 3 (our live test cgroups)",
                    actual=n)
            check_cpu(t, d, busy, (s1, s2))
            check_freeze(t, d, s1)
            check_removal(t, d, sb, s2)
            check_http(t, d, busy)
            t.check(d.alive(), "cstatd still running at the end")
            rc = d.stop()
            t.equal(rc, 0, "cstatd exits 0 on SIGTERM")
    t.finish()


if __name__ == "__main__":
    ct.run(main)
