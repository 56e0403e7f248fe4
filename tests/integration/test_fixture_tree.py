#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cstatd on a cgroup tree built from real kernel output (tests/fixtures/cgroup-v2).

The tree (in a temporary directory, used as --cgroup-root with
--no-cgroup-root-check and an empty --proc-root):

  system.slice/docker-<ID_A>.scope/   fedora31-php-fpm.service/* (Fedora 31, 5.3)
                                      + cpu.max   from docker-cpus-0.5
                                      + io.stat   from runc-testdata-io-stat-dm-nvme
  system.slice/docker-<ID_B>.scope/   linux6x-user-session-520.scope/* (6.x)
                                      + memory.max from debian11-slurm-job-step
  docker/<ID_C>/                      fedora31-system.slice/* (oom_kill 5, 4 io devices)

Every expected number below is a literal computed by hand from those files;
the comment next to it names the file and key. Then: a garbled memory.stat
(other families keep coming, cstatd_collect_errors_total{source="cgroup"}
grows) and removal of a container directory (its series go).

Needs neither root nor a cgroup2 mount.
"""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

FIXTURES = os.path.join(ct.REPO_ROOT, "tests", "fixtures", "cgroup-v2")
INTERVAL = 0.5

ID_A = "f00dfeed" * 8
ID_B = "b0a710ad" * 8
ID_C = "c0ffee00" * 8
PATH_A = f"system.slice/docker-{ID_A}.scope"
PATH_B = f"system.slice/docker-{ID_B}.scope"
PATH_C = f"docker/{ID_C}"

ABSENT = object()  # "this series must not exist"
ANY = object()     # "report the value, do not assert it"

# ---------------------------------------------------------------------------
# Expected values. Key: (family, extra labels as a tuple of pairs).
# ---------------------------------------------------------------------------
FAIL = (("failure_type", "pgfault"), ("scope", "container"))
FAIL_H = (("failure_type", "pgfault"), ("scope", "hierarchy"))
MAJ = (("failure_type", "pgmajfault"), ("scope", "container"))
MAJ_H = (("failure_type", "pgmajfault"), ("scope", "hierarchy"))
TOTAL = (("cpu", "total"),)

EXPECT_A = {  # fedora31-php-fpm.service (+ docker-cpus-0.5/cpu.max, runc io.stat)
    ("container_cpu_usage_seconds_total", TOTAL): 30.263511,  # cpu.stat usage_usec 30263511
    ("container_cpu_user_seconds_total", ()): 7.368681,       # cpu.stat user_usec 7368681
    ("container_cpu_system_seconds_total", ()): 22.894829,    # cpu.stat system_usec 22894829
    ("container_memory_usage_bytes", ()): 3989504,            # memory.current
    # memory.current 3989504 - memory.stat inactive_file 8192
    ("container_memory_working_set_bytes", ()): 3981312,
    ("container_memory_rss", ()): 561152,                     # memory.stat anon
    ("container_memory_cache", ()): 368640,                   # memory.stat file
    ("container_memory_mapped_file", ()): 270336,             # memory.stat file_mapped
    ("container_memory_swap", ()): 6365184,                   # memory.swap.current
    ("container_memory_failures_total", FAIL): 9339,          # memory.stat pgfault
    ("container_memory_failures_total", FAIL_H): 9339,        # memory.stat pgfault
    ("container_memory_failures_total", MAJ): 2211,           # memory.stat pgmajfault
    ("container_memory_failures_total", MAJ_H): 2211,         # memory.stat pgmajfault
    ("container_memory_events_high_total", ()): 0,            # memory.events high 0
    ("container_memory_events_max_total", ()): 0,             # memory.events max 0
    ("cstatd_container_oom_kills_total", ()): 0,              # memory.events oom_kill 0
    ("container_spec_memory_limit_bytes", ()): ABSENT,        # memory.max "max" -> omitted
    ("container_spec_cpu_quota", ()): 50000,                  # cpu.max "50000 100000" (µs)
    ("container_spec_cpu_period", ()): 100000,                # cpu.max "50000 100000" (µs)
    ("container_spec_cpu_shares", ()): ABSENT,                # no cpu.weight (cpu controller off)
    ("container_threads", ()): 6,                             # pids.current 6
    ("container_threads_max", ()): 18722,                     # pids.max 18722
    ("container_processes", ()): 6,                           # cgroup.procs: 6 lines
    ("container_pressure_cpu_waiting_seconds_total", ()): 0.000209,   # cpu.pressure some total=209
    ("container_pressure_cpu_stalled_seconds_total", ()): ANY,        # cpu.pressure has no full line (5.3)
    ("container_pressure_memory_waiting_seconds_total", ()): 12.470859,  # memory.pressure some total=12470859
    ("container_pressure_memory_stalled_seconds_total", ()): 12.32488,   # memory.pressure full total=12324880
    ("container_pressure_io_waiting_seconds_total", ()): 28.014482,      # io.pressure some total=28014482
    ("container_pressure_io_stalled_seconds_total", ()): 28.014482,      # io.pressure full total=28014482
    ("cstatd_container_frozen", ()): 0,                       # cgroup.events frozen 0
}

EXPECT_B = {  # linux6x-user-session-520.scope (+ debian11-slurm-job-step/memory.max)
    ("container_cpu_usage_seconds_total", TOTAL): 3611.347518,  # cpu.stat usage_usec 3611347518
    ("container_cpu_user_seconds_total", ()): 2915.072455,      # cpu.stat user_usec 2915072455
    ("container_cpu_system_seconds_total", ()): 696.275063,     # cpu.stat system_usec 696275063
    ("container_memory_usage_bytes", ()): 10498404352,          # memory.current
    # memory.current 10498404352 - memory.stat inactive_file 6685749248
    ("container_memory_working_set_bytes", ()): 3812655104,
    ("container_memory_rss", ()): 1411100672,                   # memory.stat anon
    ("container_memory_cache", ()): 8621432832,                 # memory.stat file
    ("container_memory_mapped_file", ()): 56209408,             # memory.stat file_mapped
    ("container_memory_swap", ()): 17715200,                    # memory.swap.current
    ("container_memory_failures_total", FAIL): 47908511,        # memory.stat pgfault
    ("container_memory_failures_total", FAIL_H): 47908511,
    ("container_memory_failures_total", MAJ): 14299,            # memory.stat pgmajfault
    ("container_memory_failures_total", MAJ_H): 14299,
    ("container_memory_events_high_total", ()): 0,              # memory.events high 0
    ("container_memory_events_max_total", ()): 0,               # memory.events max 0
    ("cstatd_container_oom_kills_total", ()): 0,                # memory.events oom_kill 0
    ("container_spec_memory_limit_bytes", ()): 4194304000,      # debian11-slurm-job-step/memory.max
    ("container_spec_cpu_quota", ()): ABSENT,                   # cpu.max "max 100000" -> omitted
    ("container_spec_cpu_period", ()): 100000,                  # cpu.max "max 100000"
    # cpu.weight 100 -> cAdvisor's 2 + (w-1)*262142/9999 in uint64 = 2 + 25952058/9999 = 2597
    ("container_spec_cpu_shares", ()): 2597,
    ("container_threads", ()): 148,                             # pids.current 148
    ("container_threads_max", ()): ABSENT,                      # pids.max "max" -> omitted
    ("container_processes", ()): 14,                            # cgroup.procs: 14 lines
    ("container_pressure_cpu_waiting_seconds_total", ()): 115.056064,   # cpu.pressure some total=115056064
    ("container_pressure_cpu_stalled_seconds_total", ()): 29.25418,     # cpu.pressure full total=29254180
    ("container_pressure_memory_waiting_seconds_total", ()): 1.736583,  # memory.pressure some total=1736583
    ("container_pressure_memory_stalled_seconds_total", ()): 1.677369,  # memory.pressure full total=1677369
    ("container_pressure_io_waiting_seconds_total", ()): 10.74837,      # io.pressure some total=10748370
    ("container_pressure_io_stalled_seconds_total", ()): 7.726267,      # io.pressure full total=7726267
    ("cstatd_container_frozen", ()): 0,                         # cgroup.events frozen 0
}

EXPECT_C = {  # fedora31-system.slice, placed in Docker's cgroupfs layout
    ("container_cpu_usage_seconds_total", TOTAL): 159101.593799,  # cpu.stat usage_usec 159101593799
    ("container_cpu_user_seconds_total", ()): 134753.168486,      # cpu.stat user_usec 134753168486
    ("container_cpu_system_seconds_total", ()): 24348.425313,     # cpu.stat system_usec 24348425313
    ("container_memory_usage_bytes", ()): 2831458304,             # memory.current
    # memory.current 2831458304 - memory.stat inactive_file 407916544
    ("container_memory_working_set_bytes", ()): 2423541760,
    ("container_memory_rss", ()): 436424704,                      # memory.stat anon
    ("container_memory_cache", ()): 1854570496,                   # memory.stat file
    ("container_memory_mapped_file", ()): 105025536,              # memory.stat file_mapped
    ("container_memory_swap", ()): 843128832,                     # memory.swap.current
    ("container_memory_failures_total", FAIL): 1200907044,        # memory.stat pgfault
    ("container_memory_failures_total", FAIL_H): 1200907044,
    ("container_memory_failures_total", MAJ): 1480267,            # memory.stat pgmajfault
    ("container_memory_failures_total", MAJ_H): 1480267,
    ("container_memory_events_high_total", ()): 0,                # memory.events high 0
    ("container_memory_events_max_total", ()): 0,                 # memory.events max 0
    ("cstatd_container_oom_kills_total", ()): 5,                  # memory.events oom_kill 5
    ("container_spec_memory_limit_bytes", ()): ABSENT,            # memory.max "max"
    ("container_spec_cpu_quota", ()): ABSENT,                     # no cpu.max file
    ("container_threads", ()): 338,                               # pids.current 338
    ("container_threads_max", ()): ABSENT,                        # pids.max "max"
    ("container_processes", ()): 0,                               # cgroup.procs is empty
    ("container_pressure_cpu_waiting_seconds_total", ()): 23.371,         # cpu.pressure some total=23371000
    ("container_pressure_memory_waiting_seconds_total", ()): 516.297214,  # memory.pressure some total=516297214
    ("container_pressure_memory_stalled_seconds_total", ()): 443.472144,  # memory.pressure full total=443472144
    ("container_pressure_io_waiting_seconds_total", ()): 18750.538685,    # io.pressure some total=18750538685
    ("container_pressure_io_stalled_seconds_total", ()): 18720.482289,    # io.pressure full total=18720482289
}

# io.stat per device: (rbytes, wbytes, rios, wios)
IO_A = {  # runc-testdata-io-stat-dm-nvme/io.stat
    "254:1": (6901432320, 14245535744, 263278, 248603),
    "254:0": (2702336, 0, 97, 0),
    "259:0": (6911345664, 14245536256, 264538, 244914),
}
IO_C = {  # fedora31-system.slice/io.stat
    "253:1": (10883149824, 39386140672, 2657019, 9596377),
    "253:2": (10335739904, 581632, 2523292, 153),
    "8:0": (18239488, 14274560, 2584, 475),
    "253:0": (18239488, 14274560, 2584, 475),
}
IO_FAMILIES = ("container_fs_reads_bytes_total", "container_fs_writes_bytes_total",
               "container_fs_reads_total", "container_fs_writes_total")


def build_tree(root):
    def copy_dir(src, dst):
        os.makedirs(dst)
        for f in sorted(os.listdir(src)):
            shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))

    a = os.path.join(root, PATH_A)
    copy_dir(os.path.join(FIXTURES, "fedora31-php-fpm.service"), a)
    shutil.copyfile(os.path.join(FIXTURES, "docker-cpus-0.5", "cpu.max"), os.path.join(a, "cpu.max"))
    shutil.copyfile(os.path.join(FIXTURES, "runc-testdata-io-stat-dm-nvme", "io.stat"),
                    os.path.join(a, "io.stat"))
    b = os.path.join(root, PATH_B)
    copy_dir(os.path.join(FIXTURES, "linux6x-user-session-520.scope"), b)
    shutil.copyfile(os.path.join(FIXTURES, "debian11-slurm-job-step", "memory.max"),
                    os.path.join(b, "memory.max"))
    c = os.path.join(root, PATH_C)
    copy_dir(os.path.join(FIXTURES, "fedora31-system.slice"), c)
    return a, b, c


def device_labels(majmin):
    """Labels cstatd may give device MAJ:MIN: "MAJ:MIN" always; the kernel
    name (and /dev/name) when this host's /sys/dev/block resolves it."""
    out = {majmin}
    try:
        with open(f"/sys/dev/block/{majmin}/uevent") as f:
            for line in f:
                if line.startswith("DEVNAME="):
                    name = line.strip().split("=", 1)[1]
                    out |= {name, "/dev/" + name}
    except OSError:
        pass
    return out


def container_keys(m, cid, path):
    return [k for k in m if dict(k[1]).get("name") == cid[:12]
            or dict(k[1]).get("id") == "/" + path]


def check_values(t, m, tag, cid, expect):
    name = cid[:12]
    for (fam, extra), want in expect.items():
        labels = dict(extra)
        desc = fam + ("{" + ",".join(f'{k}="{v}"' for k, v in extra) + "}" if extra else "")
        got = ct.series(m, fam, name=name, **labels)
        if want is ABSENT:
            t.check(not got, f"{tag}: {desc} is omitted", expected="no series",
                    actual=[v for _, v in got])
            continue
        if want is ANY:
            t.info(f"{tag}: {desc} = {[v for _, v in got] or 'absent'} (not asserted)")
            continue
        if len(got) != 1:
            t.check(False, f"{tag}: {desc} has exactly one series", expected=want,
                    actual=[v for _, v in got])
            continue
        t.close(got[0][1], float(want), f"{tag}: {desc} == {want}")


def check_io(t, m, tag, cid, expect_io):
    name = cid[:12]
    for i, fam in enumerate(IO_FAMILIES):
        got = ct.series(m, fam, name=name)
        if not expect_io:
            t.check(not got, f"{tag}: no {fam} without io.stat", actual=got)
            continue
        by_dev = {}
        for labels, v in got:
            by_dev.setdefault(labels.get("device"), []).append(v)
        t.equal(len(got), len(expect_io), f"{tag}: {fam} has one series per io.stat device "
                f"({len(expect_io)})")
        for majmin, vals in expect_io.items():
            cands = device_labels(majmin)
            hit = [d for d in by_dev if d in cands]
            if len(hit) != 1 or len(by_dev[hit[0]]) != 1:
                t.check(False, f"{tag}: {fam} has one series for device {majmin} "
                        f"(label one of {sorted(cands)})", actual=sorted(map(str, by_dev)))
                continue
            t.close(by_dev[hit[0]][0], float(vals[i]),
                    f"{tag}: {fam}{{device=\"{hit[0]}\"}} == {vals[i]}  (io.stat {majmin})")


def check_labels(t, m, tag, cid, path):
    s = ct.series(m, "container_cpu_usage_seconds_total", name=cid[:12])
    if not s:
        t.check(False, f"{tag}: container_cpu_usage_seconds_total present")
        return
    labels = s[0][0]
    t.equal(labels.get("id"), "/" + path, f"{tag}: id label")
    t.equal(labels.get("name"), cid[:12], f"{tag}: name label (12-hex id)")
    t.equal(labels.get("image"), "", f"{tag}: image label \"\"")


def main():
    t = ct.Test("fixture_tree: exact values from real kernel cgroup files")
    if not os.path.isdir(FIXTURES):
        t.check(False, f"fixture directory {FIXTURES} exists", fatal=True)
    d_ref = []
    t.on_failure.append(lambda: d_ref and print("  cstatd stderr:\n" + d_ref[0].stderr_tail(40)))
    tmp = tempfile.mkdtemp(prefix="cstatd-fixture-")
    try:
        root = os.path.join(tmp, "cgroup")
        proc = os.path.join(tmp, "proc-empty")
        os.makedirs(root)
        os.makedirs(proc)
        dir_a, _dir_b, dir_c = build_tree(root)
        t.info(f"tree at {root}")
        args = ["--interval", "500ms", "--cgroup-root", root, "--no-cgroup-root-check",
                "--proc-root", proc]
        with ct.Cstatd(args) as d:
            d_ref.append(d)
            ok = ct.poll(lambda: all(ct.series(d.metrics(), "container_cpu_usage_seconds_total",
                                               name=c[:12]) for c in (ID_A, ID_B, ID_C)),
                         4 * INTERVAL + 1, 0.1)
            t.check(ok, "all three fixture containers appear", fatal=True)
            status, hdrs, body = d.scrape()
            m = ct.parse_metrics(body.decode())
            for tag, cid, path, exp, io in (("A php-fpm", ID_A, PATH_A, EXPECT_A, IO_A),
                                            ("B linux6x", ID_B, PATH_B, EXPECT_B, None),
                                            ("C system.slice", ID_C, PATH_C, EXPECT_C, IO_C)):
                check_labels(t, m, tag, cid, path)
                check_values(t, m, tag, cid, exp)
                check_io(t, m, tag, cid, io)
            ids = sorted({dict(k[1]).get("id") for k in m
                          if k[0].startswith("container_") and dict(k[1]).get("id")})
            t.equal(ids, sorted("/" + p for p in (PATH_A, PATH_B, PATH_C)),
                    "only the three container cgroups are exported (no slices/parents)")
            t.equal(ct.value(m, "cstatd_containers"), 3.0, "cstatd_containers == 3")
            rc, out = ct.promtool_check_metrics(body)
            t.check(rc == 0 and not out.strip(), "promtool check metrics: no output, exit 0",
                    actual=f"rc {rc}: {out[:1500]}")

            # --- a garbled memory.stat ---
            err0 = ct.value(m, "cstatd_collect_errors_total", source="cgroup") or 0.0
            with open(os.path.join(dir_a, "memory.stat"), "wb") as f:
                f.write(b"anon \xff\xfe\x00garbage\nfile -12x\n\x00\x01\x02\x03 \x7f\n"
                        b"inactive_file 99999999999999999999999999\n")
            t.info(f"garbled {PATH_A}/memory.stat; collect errors before: {err0}")
            grew = ct.poll(lambda: (ct.value(d.metrics(), "cstatd_collect_errors_total",
                                             source="cgroup") or 0.0) > err0,
                           6 * INTERVAL + 1, 0.1)
            m2 = d.metrics()
            t.check(grew, 'cstatd_collect_errors_total{source="cgroup"} increases after the '
                    "garbled memory.stat", expected=f"> {err0}",
                    actual=ct.value(m2, "cstatd_collect_errors_total", source="cgroup"))
            t.check(d.alive(), "cstatd still running after reading the garbled file")
            st, _, _ = ct.http_request(d.port, "/metrics")
            t.equal(st, 200, "/metrics still answers 200")
            keep = {k: v for k, v in EXPECT_A.items() if k[0] in (
                "container_cpu_usage_seconds_total", "container_cpu_user_seconds_total",
                "container_memory_usage_bytes", "container_memory_swap",
                "container_spec_cpu_quota", "container_threads", "container_threads_max",
                "container_processes", "cstatd_container_oom_kills_total",
                "container_pressure_memory_waiting_seconds_total")}
            check_values(t, m2, "A after garbled memory.stat", ID_A, keep)
            check_io(t, m2, "A after garbled memory.stat", ID_A, IO_A)
            for fam in ("container_memory_rss", "container_memory_cache",
                        "container_memory_working_set_bytes"):
                t.info(f"A after garbled memory.stat: {fam} = "
                       f"{[v for _, v in ct.series(m2, fam, name=ID_A[:12])] or 'absent'}")
            check_values(t, m2, "B unaffected", ID_B,
                         {k: EXPECT_B[k] for k in list(EXPECT_B)[:6]})

            # --- removal of a container directory ---
            shutil.rmtree(dir_c)
            t0 = time.monotonic()
            gone = ct.poll(lambda: not container_keys(d.metrics(), ID_C, PATH_C),
                           2 * INTERVAL + 0.5, 0.05)
            el = time.monotonic() - t0
            t.check(gone, f"C: all series gone within 2 intervals after its directory was "
                    f"removed (waited {el:.2f} s)", expected="no series of C",
                    actual=sorted({k[0] for k in container_keys(d.metrics(), ID_C, PATH_C)})[:10])
            t.equal(ct.value(d.metrics(), "cstatd_containers"), 2.0,
                    "cstatd_containers == 2 after the removal")
            t.check(ct.series(d.metrics(), "container_cpu_usage_seconds_total", name=ID_B[:12]),
                    "B still exported after C's removal")
            t.equal(d.stop(), 0, "cstatd exits 0 on SIGTERM")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.finish()


if __name__ == "__main__":
    ct.run(main)
