#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A real Prometheus scrapes cstatd (job "cstatd", 1 s interval).

One cgroup on the real cgroup2 mount spins a CPU. Checks through the
Prometheus HTTP API that up{job="cstatd"} == 1, that the scrape has no
errors, and that rate(container_cpu_usage_seconds_total{name="<id12>"}[5s])
is 0.8-1.2 (polled for up to 30 s).

Needs root, a cgroup2 mount and /usr/bin/prometheus (exits 77 otherwise).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402


def main():
    ct.require_root()
    mnt = ct.require_cgroup2()
    ct.require_executable("/usr/bin/prometheus", "apt-get install prometheus")
    t = ct.Test("prometheus_scrape: a real Prometheus scrapes cstatd")
    d_ref = []
    t.on_failure.append(lambda: d_ref and print("  cstatd stderr:\n" + d_ref[0].stderr_tail(40)))
    with ct.CgroupSandbox(mnt) as sb:
        busy = sb.add_container()
        busy.start_busy()
        t.info(f"busy cgroup {busy.id_label}")
        with ct.Cstatd(["--interval", "1s", "--cgroup-root", mnt]) as d:
            d_ref.append(d)
            with ct.Prometheus([f"127.0.0.1:{d.port}"], job="cstatd",
                               scrape_interval="1s") as prom:
                up = ct.poll(lambda: prom.query('up{job="cstatd"} == 1'), 20, 0.5)
                t.check(bool(up), 'up{job="cstatd"} == 1 (Prometheus scrapes cstatd)',
                        actual=prom.query('up{job="cstatd"}'))
                targets = prom.targets_state()
                tgt = [x for x in targets if x.get("labels", {}).get("job") == "cstatd"]
                t.check(tgt and tgt[0].get("health") == "up" and not tgt[0].get("lastError"),
                        "target health up, no lastError",
                        actual=[(x.get("health"), x.get("lastError")) for x in tgt])
                q = f'rate(container_cpu_usage_seconds_total{{name="{busy.name12}"}}[5s])'
                t0 = time.monotonic()
                last = []

                def good():
                    nonlocal last
                    last = prom.query(q)
                    return (len(last) == 1 and 0.8 <= float(last[0]["value"][1]) <= 1.2)

                ok = ct.poll(good, 30, 1.0)
                t.check(ok, f"{q} in 0.8-1.2 (took {time.monotonic() - t0:.1f} s)",
                        expected="one series, 0.8..1.2",
                        actual=[(r["metric"], r["value"][1]) for r in last])
                if last:
                    lab = last[0]["metric"]
                    t.equal(lab.get("id"), busy.id_label, "series id label as ingested")
                    t.equal(lab.get("instance"), f"127.0.0.1:{d.port}", "instance label")
                samples = prom.query('scrape_samples_scraped{job="cstatd"}')
                t.check(samples and float(samples[0]["value"][1]) > 0,
                        "scrape_samples_scraped > 0",
                        actual=samples and samples[0]["value"][1])
                # Ingested without sample timestamps from the exporter: the
                # newest sample must be fresh (Prometheus stamped it).
                ts = prom.query(f'timestamp(container_cpu_usage_seconds_total{{name="{busy.name12}"}})')
                if ts:
                    age = time.time() - float(ts[0]["value"][1])
                    t.between(age, -1.0, 5.0, "newest ingested sample is fresh (age s)")
                log = prom.log_text()
                bad = [ln for ln in log.splitlines()
                       if "cstatd" in ln and ("level=warn" in ln or "level=error" in ln)]
                t.equal(bad[:5], [], "no warnings/errors about the cstatd target in "
                        "Prometheus' log")
    t.finish()


if __name__ == "__main__":
    ct.run(main)
