#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Cardinality guards (issue #7): --max-containers and --max-label-length.

Part 1, real cgroups (no Docker): 25 container cgroups in Docker's cgroupfs
layout (ct.CgroupSandbox), cstatd --max-containers 10 rooted at the sandbox:
  - exactly 10 containers have series, each the same full set of families;
    cstatd_containers is 10
  - cstatd_containers_dropped_total is exactly 15 and stays 15 over sweeps and
    over a full rescan of the tree (counted once per appearance, not per sweep)
  - cstatd holds no file descriptor in a dropped container's directory
  - one "container limit reached" log line, whatever happens next
  - 5 tracked cgroups removed -> 5 dropped ones take their place within a few
    sweeps (inotify + the rescan that a freed place triggers); the counter
    stays 15; promtool check metrics passes on the bodies

Part 2, a private dockerd (cgroup v2 mode, containers' cgroups inside a second
sandbox): a container with a 300-byte name and compose labels of 3000 bytes
whose 100-byte cut falls inside a multibyte character ("é", and a 4-byte
emoji), cstatd --max-label-length 100:
  - every label value of the body is at most 100 bytes and valid UTF-8;
    the name, the container_label_* values and cstatd_container_info's
    compose_project/compose_service are exactly the longest whole-character
    prefixes of the originals that fit
  - promtool check metrics passes

Part 3, the same dockerd with 3 containers, a second cstatd --max-containers 1:
  Docker offers every container at every sweep and the cgroup walk offers
  them again: cstatd_containers_dropped_total is exactly 2 and stays so;
  `docker rm -f` of the tracked one -> a dropped one is tracked within a few
  sweeps, the counter unchanged.

Needs root and a cgroup2 mount (exit 77 otherwise); parts 2 and 3 also need
dockerd, containerd, runc, unshare and a static busybox (they are skipped,
with the reason printed, when those are missing).
"""

import gzip
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402
import dockerd as dk  # noqa: E402

INTERVAL = 1.0
MAX = 10
N_CGROUPS = 25
LABEL_MAX = 100
# Two sweeps do it (the removal is seen, then the freed place makes the next
# sweep walk the tree); the bound leaves room for a loaded 2-core machine and
# stays far below the 30 s periodic rescan that would otherwise be needed.
REPLACE_WITHIN = 6.0
LIMIT_MSG = 'msg="container limit reached'
CPU = "container_cpu_usage_seconds_total"
PROMTOOL = "/usr/bin/promtool"




def docker_missing():
    """Why parts 2-3 cannot run here, or None."""
    if dk.find_dockerd() is None:
        return "dockerd is not installed (apt-get install -y docker.io)"
    for tool in ("containerd", "runc", "unshare"):
        if dk._which(tool) is None:
            return f"{tool} is not installed"
    if dk.find_cli() is None:
        return "no docker CLI"
    if dk.find_busybox() is None:
        return "no static busybox (apt-get install -y busybox-static)"
    return None


def container_ids(m):
    """{id label: set of metric names} of every container-scoped series."""
    out = {}
    for name, ls in m:
        d = dict(ls)
        if "id" in d and "image" in d:
            out.setdefault(d["id"], set()).add(name)
    return out


def scrape_text(port):
    status, hdrs, body = ct.scrape(port)
    if status != 200:
        raise RuntimeError(f"GET /metrics answered {status}")
    return ct.decode_body(hdrs, body)


def check_promtool(t, text, what):
    if not os.access(PROMTOOL, os.X_OK):
        t.info(f"{PROMTOOL} missing: promtool check skipped ({what})")
        return
    rc, out = ct.promtool_check_metrics(text)
    t.check(rc == 0 and not out.strip(), f"promtool check metrics passes ({what})",
            expected="exit 0, no output", actual=f"exit {rc}: {out.strip()[:600]}")


def limit_lines(c):
    return [ln for ln in c.stderr_text().splitlines() if LIMIT_MSG in ln]


def open_dirs(pid):
    """Targets of cstatd's open file descriptors."""
    out = []
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            out.append(os.readlink(os.path.join(fd_dir, fd)))
        except OSError:
            continue
    return out


def force_rescan(sb):
    """A removed non-container cgroup makes cstatd walk the whole tree at its
    next sweep (a removed parent may have held containers)."""
    p = os.path.join(sb.base, "force-rescan")
    os.mkdir(p)
    time.sleep(2 * INTERVAL)  # the new directory is seen (inotify) and watched
    ct._rmdir_retry(p)


# --------------------------------------------------------------------------
# Part 1: --max-containers on real cgroups
# --------------------------------------------------------------------------

def part_cgroups(t, mnt):
    with ct.CgroupSandbox(mnt) as sb:
        cgs = [sb.add_container() for _ in range(N_CGROUPS)]
        # Rooted at the sandbox, a container's `id` label is "/docker/<id>".
        ours = {"/docker/" + c.id: c for c in cgs}
        args = ["--interval", "1s", "--cgroup-root", sb.base, "--max-containers", str(MAX)]
        with ct.Cstatd(args) as d:
            try:
                cgroups_checks(t, sb, d, ours)
            finally:
                t.info("cstatd log:\n" + d.stderr_tail(12))


def cgroups_checks(t, sb, d, ours):
    m, _ = dk.poll_metrics(d.port, lambda m: len(container_ids(m)) >= MAX, 10.0, 0.2)
    # Two more sweeps: nothing else may appear.
    time.sleep(2 * INTERVAL + 0.2)
    text = scrape_text(d.port)
    m = ct.parse_metrics(text)
    ids = container_ids(m)
    t.equal(len(ids), MAX, f"exactly {MAX} containers have series (--max-containers {MAX})",
            fatal=True)
    t.check(set(ids) <= set(ours), "every tracked id is one of the sandbox's cgroups",
            expected=sorted(ours)[:3], actual=sorted(set(ids) - set(ours))[:3])
    sets = {frozenset(v) for v in ids.values()}
    t.equal(len(sets), 1, "each tracked container has the same full set of families",
            fatal=False)
    t.info(f"families per tracked container: {len(next(iter(sets)))}")
    t.check(CPU in next(iter(sets)), f"the set includes {CPU}")
    t.equal(ct.value(m, "cstatd_containers"), float(MAX), "cstatd_containers")
    dropped = N_CGROUPS - MAX
    t.equal(ct.value(m, "cstatd_containers_dropped_total"), float(dropped),
            f"cstatd_containers_dropped_total == {dropped} (each dropped cgroup once)")
    check_promtool(t, text, "store full")

    tracked = set(ids)
    dropped_ids = set(ours) - tracked
    fds = open_dirs(d.proc.pid)
    in_dropped = [p for p in fds if any(ours[i].id in p for i in dropped_ids)]
    in_tracked = [p for p in fds if any(ours[i].id in p for i in tracked)]
    t.check(not in_dropped, "no file descriptor open in a dropped container's cgroup",
            expected=[], actual=in_dropped[:5])
    t.check(len(in_tracked) >= MAX,
            "tracked containers' cgroup files are kept open (fds seen in /proc/<pid>/fd)",
            expected=f">= {MAX}", actual=len(in_tracked))

    # Sweeps and a full rescan offer the dropped cgroups again: not counted.
    t.info("forcing a full rescan of the tree (mkdir + rmdir of a plain cgroup)")
    force_rescan(sb)
    time.sleep(3 * INTERVAL)
    m = ct.get_metrics(d.port)
    t.equal(ct.value(m, "cstatd_containers_dropped_total"), float(dropped),
            "after more sweeps and a full rescan the counter has not moved")
    t.equal(set(container_ids(m)), tracked, "the same containers are tracked after the rescan")
    t.equal(len(limit_lines(d)), 1, "one \"container limit reached\" log line",
            fatal=False)

    # Five tracked cgroups go: five dropped ones take their places.
    gone = sorted(tracked)[:5]
    t.info(f"removing 5 tracked cgroups: {', '.join(i[-12:] for i in gone)}")
    t0 = time.monotonic()
    for i in gone:
        ours[i].remove()

    def replaced(mm):
        now = set(container_ids(mm))
        return len(now) == MAX and not (now & set(gone))

    m, ok = dk.poll_metrics(d.port, replaced, 10.0, 0.1)
    took = time.monotonic() - t0
    now = set(container_ids(m))
    t.info(f"replaced after {took:.1f} s" if ok else "not replaced within 10 s")
    t.check(ok and took <= REPLACE_WITHIN,
            f"{MAX} containers tracked again, none of the removed, within {REPLACE_WITHIN:.0f} s "
            "(a freed place triggers the walk; the periodic rescan is 30 s)",
            expected=f"{MAX} ids, within {REPLACE_WITHIN:.0f} s",
            actual=f"{len(now)} ids ({len(now & set(gone))} removed ones) after {took:.1f} s")
    t.equal(len(now & dropped_ids), 5, "the 5 new ones were dropped before")
    t.equal(ct.value(m, "cstatd_containers_dropped_total"), float(dropped),
            "the counter is unchanged: adopted containers stay counted, nothing new dropped")
    t.equal(ct.value(m, "cstatd_containers"), float(MAX), "cstatd_containers after the removal")
    t.equal(len(limit_lines(d)), 1, "still one \"container limit reached\" log line")
    check_promtool(t, scrape_text(d.port), "after the removal")


# --------------------------------------------------------------------------
# Parts 2 and 3: long label values from Docker; drops offered by two sources
# --------------------------------------------------------------------------

def utf8_prefix(s, limit):
    """The longest prefix of s (whole characters) of at most `limit` UTF-8 bytes."""
    b = s.encode()
    if len(b) <= limit:
        return s
    return b[:limit].decode("utf-8", "ignore")


def part_docker(t, mnt):
    with ct.CgroupSandbox(mnt) as sb, dk.SandboxDockerd(sb) as dd:
        t.equal(dd.docker("info", "-f", "{{.CgroupVersion}}"), "2",
                "private dockerd runs in cgroup v2 mode", fatal=True)
        name = "n" * 300
        project = "p" * 99 + "é" + "q" * 2899          # é = bytes 100-101
        service = "s" * 98 + "\U0001F600" + "r" * 2898  # emoji = bytes 99-102
        t.equal((len(project.encode()), len(service.encode())), (3000, 3000),
                "environment: both label values are 3000 bytes")
        cid = dd.run_container(name, "sleep", "3600", opts=(
            "--label", f"com.docker.compose.project={project}",
            "--label", f"com.docker.compose.service={service}"))
        t.info(f"container {cid[:12]}: name of {len(name)} bytes")
        cg = dd.cgroup_dir(cid)
        t.check(os.path.isfile(os.path.join(cg, "cpu.stat")),
                f"environment: the container's cgroup is in the sandbox ({cg})", fatal=True)
        args = ["--interval", "1s", "--docker-host", dd.host_url, "--cgroup-root", sb.base,
                "--max-label-length", str(LABEL_MAX)]
        with ct.Cstatd(args, docker=True) as c:
            try:
                labels_checks(t, c, cid, name, project, service)
            finally:
                t.info("cstatd log:\n" + c.stderr_tail(8))

        for n in ("small1", "small2"):
            dd.run_container(n, "sleep", "3600")
        args = ["--interval", "1s", "--docker-host", dd.host_url, "--cgroup-root", sb.base,
                "--max-containers", "1"]
        with ct.Cstatd(args, docker=True) as c:
            try:
                docker_drop_checks(t, sb, dd, c)
            finally:
                t.info("cstatd log:\n" + c.stderr_tail(8))


def labels_checks(t, c, cid, name, project, service):
    want_name = utf8_prefix(name, LABEL_MAX)
    want_project = utf8_prefix(project, LABEL_MAX)
    want_service = utf8_prefix(service, LABEL_MAX)
    t.equal((len(want_project.encode()), len(want_service.encode())), (99, 98),
            "expected cuts: whole characters before byte 100 (é and the emoji go)")
    m, ok = dk.poll_metrics(c.port, lambda m: ct.series(m, "cstatd_container_info",
                                                        name=want_name), 15.0, 0.2)
    t.check(ok, f"the container's series appear, named by the first {LABEL_MAX} bytes of "
            "its name", expected=want_name[:20] + "...",
            actual=sorted({dict(k[1]).get("name", "")[:20] for k in m}), fatal=True)
    status, hdrs, body = ct.scrape(c.port)
    if "gzip" in hdrs.get("content-encoding", ""):
        body = gzip.decompress(body)
    try:
        text, valid = body.decode("utf-8"), True
    except UnicodeDecodeError as e:
        text, valid = body.decode("utf-8", "replace"), False
        t.info(f"invalid UTF-8: {e}")
    t.check(valid, "the body is valid UTF-8")
    m = ct.parse_metrics(text)
    longest = max(((len(v.encode()), k, n) for n, ls in m for k, v in ls), default=(0, "", ""))
    t.check(longest[0] <= LABEL_MAX, f"every label value is at most {LABEL_MAX} bytes",
            expected=f"<= {LABEL_MAX}", actual=f"{longest[0]} ({longest[2]} {longest[1]})")
    info = ct.series(m, "cstatd_container_info", name=want_name)
    t.equal(len(info), 1, "one cstatd_container_info series for the container", fatal=True)
    ls = info[0][0]
    t.check(ls.get("id", "").endswith(cid), "its id label names the container",
            expected="/docker/" + cid, actual=ls.get("id"))
    t.equal(ls.get("compose_project"), want_project,
            "compose_project = the first 99 bytes (\"é\" across byte 100 is left out)")
    t.equal(ls.get("compose_service"), want_service,
            "compose_service = the first 98 bytes (the 4-byte emoji across byte 100 is left out)")
    cpu = ct.series(m, CPU, name=want_name)
    t.equal(len(cpu), 1, f"one {CPU} series for the container")
    if cpu:
        t.equal(cpu[0][0].get("container_label_com_docker_compose_project"), want_project,
                "container_label_com_docker_compose_project cut the same way")
        t.equal(cpu[0][0].get("container_label_com_docker_compose_service"), want_service,
                "container_label_com_docker_compose_service cut the same way")
    t.check(ct.value(m, "cstatd_container_restarts_total", name=want_name) is not None,
            "name-only families carry the cut name too (cstatd_container_restarts_total)")
    check_promtool(t, text, "label values cut")


def docker_drop_checks(t, sb, dd, c):
    def settled(mm):
        return (len(container_ids(mm)) == 1
                and ct.value(mm, "cstatd_containers_dropped_total") == 2.0)

    m, ok = dk.poll_metrics(c.port, settled, 15.0, 0.2)
    t.check(ok, "3 Docker containers, --max-containers 1: one tracked, dropped_total 2",
            expected="1 id, 2 dropped",
            actual=f"{len(container_ids(m))} ids, "
                   f"{ct.value(m, 'cstatd_containers_dropped_total')} dropped", fatal=True)
    tracked = next(iter(container_ids(m)))
    t.info(f"tracked: {tracked}")
    time.sleep(3 * INTERVAL)
    force_rescan(sb)
    time.sleep(2 * INTERVAL)
    m = ct.get_metrics(c.port)
    t.equal(ct.value(m, "cstatd_containers_dropped_total"), 2.0,
            "still 2 after 5 more sweeps (Docker offers each container every sweep) and a "
            "rescan")
    t.equal(len(limit_lines(c)), 1, "one \"container limit reached\" log line (Docker source)")
    cid = tracked.rsplit("/", 1)[-1]
    t.info(f"docker rm -f {cid[:12]}")
    t0 = time.monotonic()
    dd.docker("rm", "-f", cid)

    def replaced(mm):
        ids = container_ids(mm)
        return len(ids) == 1 and tracked not in ids

    m, ok = dk.poll_metrics(c.port, replaced, 10.0, 0.1)
    took = time.monotonic() - t0
    t.check(ok and took <= REPLACE_WITHIN,
            f"a dropped container is tracked in place of the removed one within "
            f"{REPLACE_WITHIN:.0f} s",
            expected="another id", actual=f"{sorted(container_ids(m))} after {took:.1f} s")
    t.equal(ct.value(m, "cstatd_containers_dropped_total"), 2.0,
            "the counter is unchanged after the replacement")


def main():
    ct.require_root()
    mnt = ct.require_cgroup2()
    ct.find_binary()
    t = ct.Test("cardinality: --max-containers and --max-label-length")
    t_start = time.monotonic()
    part_cgroups(t, mnt)
    t.info(f"part 1 done after {time.monotonic() - t_start:.1f} s")
    why = docker_missing()
    if why:
        t.info(f"parts 2-3 (Docker) skipped: {why}")
    else:
        part_docker(t, mnt)
    t.info(f"total time {time.monotonic() - t_start:.1f} s (cleanup included)")
    t.finish()


if __name__ == "__main__":
    ct.run(main)
