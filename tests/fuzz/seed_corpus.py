#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of tests/fuzz/corpus/<target>/ from real files.

    tests/fuzz/seed_corpus.py [--host]

Sources (every one a real capture; see tests/fixtures/*/SOURCES.md and
PROVENANCE.md for where each came from):
  fuzz_cgroup         tests/fixtures/cgroup-v2/*/* (byte-exact and transcribed
                      kernel files), with the parser's selector byte in front;
                      container paths in the shapes runtimes create
  fuzz_netdev         tests/fixtures/netdev/*.dev
  fuzz_docker_*       tests/fixtures/docker/ (Docker 20.10 captures, Docker 29
                      and Podman bodies from the API reference); .jsonl
                      streams are split into lines (one body per input)
  fuzz_docker_text    ping headers, /proc/<pid>/cgroup files (the fixture's
                      container id replaced by the target's fixed id), API
                      versions, times and label allow-lists from those bodies
  fuzz_config         tests/fixtures/config/*.json, deploy/cstatd.json
  fuzz_negotiate      Accept/Accept-Encoding values sent by Prometheus 2 and
                      3, curl, browsers, and the unit test's edge cases
  fuzz_duration       every duration in the option table and the docs
With --host, also this host's /proc/self/net/dev, /proc/pressure/*,
/proc/self/cgroup and the files of one cgroup under the cgroup2 mount
(names start with "host-"). Existing files are overwritten, others kept
(captures added by hand, e.g. bodies from a private dockerd, start "cap-").
"""
import hashlib
import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")

# Selector bytes of fuzz_cgroup.c (enum fmt) and fuzz_docker_text.c.
CG = {"u64": 0, "cpu.stat": 1, "cpu.max": 2, "memory.stat": 3, "memory.events": 4,
      "io.stat": 5, "psi": 6, "cgroup.events": 7, "procs": 8, "path": 9}
DT = {"ping": 0, "proc_cgroup": 1, "api_version": 2, "time": 3, "labels": 4}
FUZZ_ID = "4c1b2a5e9f0d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b"

U64_FILES = {"memory.current", "memory.max", "memory.high", "memory.low", "memory.min",
             "memory.peak", "memory.swap.current", "memory.swap.max", "memory.swap.high",
             "memory.swap.peak", "memory.zswap.current", "memory.zswap.max", "pids.current",
             "pids.max", "pids.peak", "cpu.weight", "cpu.weight.nice", "cpu.idle",
             "cpu.max.burst", "cgroup.max.depth", "cgroup.max.descendants", "cgroup.freeze",
             "memory.oom.group"}
# Files of another format that the parser of a neighbouring one should see:
# flat-keyed stats into cpu.stat/memory.events, nested-keyed into io.stat.
CG_FILES = {"cpu.stat": "cpu.stat", "cpu.stat.local": "cpu.stat", "cgroup.stat": "cpu.stat",
            "cpu.max": "cpu.max", "memory.stat": "memory.stat",
            "memory.numa_stat": "memory.stat", "memory.events": "memory.events",
            "memory.events.local": "memory.events", "memory.swap.events": "memory.events",
            "pids.events": "memory.events", "io.stat": "io.stat", "io.max": "io.stat",
            "io.latency": "io.stat", "io.bfq.weight": "io.stat", "cgroup.events": "cgroup.events",
            "cgroup.procs": "procs", "cgroup.threads": "procs"}

seen = set()


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    key = (target, hashlib.sha1(data).hexdigest())
    if key in seen:
        return
    seen.add(key)
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def cgroup_format(fname, dirname):
    if fname in U64_FILES:
        return "u64"
    if fname in CG_FILES:
        return CG_FILES[fname]
    if fname.endswith(".pressure") or dirname.startswith("pcp-proc-pressure"):
        return "psi"
    return None


def seed_cgroup(host):
    base = os.path.join(FIX, "cgroup-v2")
    for d in sorted(os.listdir(base)):
        dp = os.path.join(base, d)
        if not os.path.isdir(dp):
            continue
        for f in sorted(os.listdir(dp)):
            fmt = cgroup_format(f, d)
            if fmt:
                put("fuzz_cgroup", "%02d-%s-%s" % (CG[fmt], f, d),
                    bytes([CG[fmt]]) + read(os.path.join(dp, f)))
    cid = "3dcd0e3570fc237fe935515fddabdfb4c54a340390c03410b64611546f1c7d64"
    uid = "7f8e2a4c-1b3d-4e5f-9a0b-c1d2e3f4a5b6"
    paths = ["system.slice/docker-%s.scope" % cid, "docker/%s" % cid,
             "machine.slice/libpod-%s.scope" % cid,
             "machine.slice/libpod-conmon-%s.scope" % cid,
             "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/"
             "cri-containerd-%s.scope" % (uid.replace("-", "_"), cid),
             "kubepods.slice/kubepods-pod%s.slice/crio-%s.scope" % (uid.replace("-", "_"), cid),
             "kubepods/burstable/pod%s/%s" % (uid, cid), "kubepods/pod%s/%s/" % (uid, cid),
             "system.slice/crio-conmon-%s.scope" % cid, "user.slice/user-1000.slice",
             "system.slice/docker.service", ""]
    for i, p in enumerate(paths):
        put("fuzz_cgroup", "%02d-path-%d" % (CG["path"], i), bytes([CG["path"]]) + p.encode())
    if host:
        seed_cgroup_host()


def seed_cgroup_host():
    for f in ("cpu", "io", "memory", "irq"):
        p = "/proc/pressure/" + f
        if os.path.exists(p):
            put("fuzz_cgroup", "06-host-proc-pressure-" + f, bytes([CG["psi"]]) + read(p))
    for mnt in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if os.path.exists(os.path.join(mnt, "cgroup.procs")) and \
                os.path.exists(os.path.join(mnt, "cgroup.subtree_control")):
            break
    else:
        return
    # The deepest of the cgroups with the most known files (a container's
    # cgroup on a Docker host).
    best, nbest = None, (0, 0)
    for dp, dns, fns in os.walk(mnt):
        depth = dp.count("/") - mnt.count("/")
        if depth > 3:
            dns[:] = []
        n = (sum(1 for f in fns if cgroup_format(f, "")), depth)
        if n > nbest and dp != mnt:
            best, nbest = dp, n
    if not best:
        return
    for f in sorted(os.listdir(best)):
        fmt = cgroup_format(f, "")
        try:
            data = read(os.path.join(best, f))
        except OSError:
            continue
        if fmt:
            put("fuzz_cgroup", "%02d-host-%s" % (CG[fmt], f), bytes([CG[fmt]]) + data)
    put("fuzz_cgroup", "09-host-path",
        bytes([CG["path"]]) + os.path.relpath(best, mnt).encode())


def lines(path):
    return [l for l in read(path).split(b"\n") if l.strip()]


def seed_docker():
    base = os.path.join(FIX, "docker")
    for f in sorted(os.listdir(base)):
        p = os.path.join(base, f)
        stem = os.path.splitext(f)[0]
        if f.startswith("list-"):
            put("fuzz_docker_list", stem, read(p))
        elif f.startswith("inspect-"):
            put("fuzz_docker_inspect", stem, read(p))
            body = json.loads(read(p))
            for k in ("Created",):
                if isinstance(body.get(k), str):
                    put("fuzz_docker_text", "3-time-%s-%s" % (k, stem),
                        bytes([DT["time"]]) + body[k].encode())
            for k in ("StartedAt", "FinishedAt"):
                v = (body.get("State") or {}).get(k)
                if isinstance(v, str):
                    put("fuzz_docker_text", "3-time-%s-%s" % (k, stem),
                        bytes([DT["time"]]) + v.encode())
            labels = (body.get("Config") or {}).get("Labels") or {}
            if labels:
                put("fuzz_docker_text", "4-labels-" + stem, bytes([DT["labels"], 127]) +
                    b"com.docker.compose.project,com.docker.compose.service\n" +
                    sorted(labels)[0].encode())
        elif f.startswith("stats-"):
            ls = lines(p)
            # First, a middle and the last line of a stream, plus every
            # empty sample shape; one-shot bodies whole.
            picks = sorted({0, len(ls) // 2, len(ls) - 1})
            for i in picks:
                put("fuzz_docker_stats", "%s-%d" % (stem, i), ls[i])
            for i, l in enumerate(ls):
                if b"0001-01-01T00:00:00Z" in l[:200]:
                    put("fuzz_docker_stats", "%s-empty-%d" % (stem, i), l)
                    break
        elif f.startswith("events-"):
            # One line per distinct (Type, Action) of each capture.
            kinds = set()
            for i, l in enumerate(lines(p)):
                try:
                    ev = json.loads(l)
                except ValueError:
                    continue
                k = (ev.get("Type"), ev.get("Action") or ev.get("status"))
                if k in kinds:
                    continue
                kinds.add(k)
                put("fuzz_docker_event", "%s-%d" % (stem, i), l)
        elif f.startswith("ping-"):
            put("fuzz_docker_text", "0-" + stem, bytes([DT["ping"]]) + read(p))
            m = re.search(rb"Api-Version:\s*([0-9.]+)", read(p), re.I)
            if m:
                put("fuzz_docker_text", "2-apiver-" + stem, bytes([DT["api_version"]]) + m.group(1))
        elif f.startswith("proc-cgroup-"):
            data = re.sub(rb"[0-9a-f]{64}", FUZZ_ID.encode(), read(p))
            put("fuzz_docker_text", "1-" + stem, bytes([DT["proc_cgroup"], 255]) + data)
            put("fuzz_docker_text", "1-short-" + stem, bytes([DT["proc_cgroup"], 40]) + data)


def seed_text_host():
    put("fuzz_docker_text", "1-host-proc-self-cgroup",
        bytes([DT["proc_cgroup"], 255]) + read("/proc/self/cgroup"))


def seed_netdev(host):
    base = os.path.join(FIX, "netdev")
    for f in sorted(os.listdir(base)):
        if f.endswith(".dev"):
            put("fuzz_netdev", f, read(os.path.join(base, f)))
    if host:
        put("fuzz_netdev", "host-proc-self-net-dev", read("/proc/self/net/dev"))


def seed_config():
    base = os.path.join(FIX, "config")
    for f in sorted(os.listdir(base)):
        if f.endswith(".json"):
            put("fuzz_config", f, read(os.path.join(base, f)))
    put("fuzz_config", "deploy-cstatd.json", read(os.path.join(ROOT, "deploy", "cstatd.json")))


# Accept / Accept-Encoding pairs, one per line pair (Accept "\n" Encoding).
ACCEPTS = [
    # Prometheus 2.x scrape (scrape/scrape.go acceptHeader, OpenMetrics on).
    ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
     "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "gzip"),
    # Prometheus 2.x without OpenMetrics.
    ("text/plain;version=0.0.4;q=1,*/*;q=0.1", "gzip"),
    # Prometheus 3.x default scrape_protocols.
    ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
     "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;"
     "escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2", "gzip"),
    ("*/*", ""),  # curl
    ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
     "gzip, deflate, br"),  # a browser
    ("Application/OpenMetrics-Text; Version=1.0.0 ; Q=0.9, text/plain ;q=0.2", "*, gzip;q=0"),
    ("application/openmetrics-text;q=0.5,*/*;q=0.5", "*;q=0.5, gzip;q=0"),
    ("application/openmetrics-text;version=1.0.0000000000000000000000000000000000000;q=0",
     ",gzip,"),
]
DURATIONS = ["1s", "500ms", "100ms", "10s", "1m", "5m", "15m", "1h", "24h", "1m30s", "2h45m30s500ms",
             "30s", "0s", "18446744073709551615ms"]


def seed_small():
    for i, (a, e) in enumerate(ACCEPTS):
        put("fuzz_negotiate", "accept-%d" % i, a + "\n" + e)
    for d in DURATIONS:
        put("fuzz_duration", d, d)
    put("fuzz_docker_text", "2-apiver-1.53", bytes([DT["api_version"]]) + b"1.53")


def main():
    host = "--host" in sys.argv[1:]
    seed_cgroup(host)
    seed_netdev(host)
    seed_docker()
    if host:
        seed_text_host()
    seed_config()
    seed_small()
    total = 0
    for t in sorted(os.listdir(OUT)):
        d = os.path.join(OUT, t)
        if os.path.isdir(d):
            n = len(os.listdir(d))
            b = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
            total += b
            print("%-22s %4d files %8d bytes" % (t, n, b))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
