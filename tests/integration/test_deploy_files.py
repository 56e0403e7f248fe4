#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The deployment files under deploy/ are valid and agree with cstatd.

  - every YAML file parses (python3-yaml); the Compose file and the Kubernetes
    manifests say what docs/deploy.md promises (read-only, non-root, no
    capabilities, host cgroupfs read-only, hostPID, probes on /healthz and
    /readyz, requests and limits, the Service matches the DaemonSet) and
    every local file they mount exists;
  - `promtool check config` on both Prometheus configurations,
    `promtool check rules` and `promtool test rules` on the alert rules,
    `amtool check-config` on the Alertmanager configuration;
  - deploy/grafana/cstatd.json is valid JSON, has the panels the issue asks
    for, and every PromQL expression in it (and in the alert rules) names
    only metric families that `cstatd --print-metrics-table` lists, or
    Prometheus' own `up` / `ALERTS`; the dashboard's expressions also parse
    (promtool check rules over them, Grafana variables filled in);
  - deploy/cstatd.json (the installed default config) is JSON whose keys are
    cstatd flags;
  - `cstatd --health-check URL` (the image's HEALTHCHECK): exit 0 on a 2xx,
    1 on a 404, a closed port or no answer within 2 s, 2 without a URL.

Needs promtool (apt-get install prometheus) and python3-yaml; exits 77
naming what is missing.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

DEPLOY = os.path.join(ct.REPO_ROOT, "deploy")
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                   "group_left", "group_right", "inf", "nan", "Inf", "NaN", "atan2"}
PROMETHEUS_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE"}


def run(argv, cwd=None, timeout=60):
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def families_from_table(binary):
    rc, out = run([binary, "--print-metrics-table"])
    if rc != 0:
        raise RuntimeError(f"cstatd --print-metrics-table exited {rc}: {out[-500:]}")
    fam = {}
    for line in out.splitlines():
        m = re.match(r"^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|\s*(\w+)\s*\|", line)
        if m:
            fam[m.group(1)] = m.group(2)
    return fam


def series_names(families):
    """Every series name cstatd can expose: families, plus the _bucket/_sum/
    _count series of histograms and summaries."""
    out = set()
    for name, typ in families.items():
        out.add(name)
        if typ in ("histogram", "summary"):
            out.update({name + "_bucket", name + "_sum", name + "_count"})
    return out


def metric_names(expr):
    """Metric names an expression selects (a PromQL lexer that is enough for
    hand-written dashboards and rules: strings, label matchers, ranges and
    grouping clauses are removed, then any identifier not followed by '('
    and not a keyword is a metric name)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"'(?:[^'\\]|\\.)*'", "''", s)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        tok = m.group(0)
        before = s[m.start() - 1] if m.start() else " "
        if before.isdigit() or before in ".$":
            continue  # 1e3, 5m, $var
        if s[m.end():].lstrip().startswith("("):
            continue  # function or aggregation
        if tok in PROMQL_KEYWORDS:
            continue
        names.add(tok)
    return names


def grafana_to_promql(expr):
    """Fill Grafana's variables so the expression is plain PromQL."""
    expr = expr.replace("$__rate_interval", "1m").replace("$__interval", "1m")
    expr = expr.replace("$__range", "1h")
    return re.sub(r"\$\{?(\w+)\}?", ".*", expr)


def dashboard_exprs(dash):
    out = []  # (where, expr)

    def walk(panels):
        for p in panels:
            for tg in p.get("targets", []):
                if tg.get("expr"):
                    out.append((f"panel \"{p.get('title')}\" {tg.get('refId')}", tg["expr"]))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if v.get("type") == "query" and isinstance(q, str):
            m = re.match(r"^\s*label_values\((.*),\s*\w+\)\s*$", q)
            out.append((f"variable ${v.get('name')}", m.group(1) if m else q))
    return out


def all_panels(dash):
    res = []

    def walk(panels):
        for p in panels:
            res.append(p)
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    return res


def check_yaml(t, yaml):
    docs = {}
    for root, _dirs, files in os.walk(DEPLOY):
        for f in sorted(files):
            if not f.endswith((".yml", ".yaml")):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, ct.REPO_ROOT)
            try:
                with open(path) as fh:
                    docs[rel] = [d for d in yaml.safe_load_all(fh) if d is not None]
                t.check(docs[rel], f"{rel}: valid YAML", expected="at least one document")
            except yaml.YAMLError as e:
                t.check(False, f"{rel}: valid YAML", actual=str(e))
    t.check(len(docs) >= 10, "deploy/ has its YAML files (compose, kubernetes, prometheus, "
            "alertmanager, grafana provisioning)", actual=sorted(docs))
    return docs


def check_compose(t, docs):
    c = docs.get("deploy/compose.yaml", [None])[0]
    t.check(isinstance(c, dict), "deploy/compose.yaml is a mapping", fatal=True)
    svc = c.get("services", {})
    t.equal(sorted(svc), ["alertmanager", "cstatd", "grafana", "prometheus"],
            "compose: services cstatd, Prometheus, Alertmanager, Grafana")
    s = svc.get("cstatd", {})
    t.equal(s.get("read_only"), True, "compose cstatd: read_only")
    t.equal(s.get("cap_drop"), ["ALL"], "compose cstatd: cap_drop ALL")
    t.check(any("no-new-privileges" in x for x in s.get("security_opt", [])),
            "compose cstatd: no-new-privileges", actual=s.get("security_opt"))
    user = str(s.get("user", ""))
    t.check(user and not user.startswith(("0:", "root")) and user.split(":")[0] != "0",
            "compose cstatd: a non-root user", actual=user)
    t.equal(s.get("pid"), "host", "compose cstatd: pid host")
    # docker-compose 1.29 (Debian 12) rejects a top-level `name:` and the
    # `cgroup` key: the project name comes from deploy/.env, the host cgroup
    # namespace from compose.cgroup-host.yaml (Compose v2).
    t.check("name" not in c, "compose: no top-level `name:` (docker-compose 1.29 rejects it)")
    t.check("cgroup" not in s, "compose cstatd: no `cgroup:` key (docker-compose 1.29 rejects "
            "it)")
    ov = docs.get("deploy/compose.cgroup-host.yaml", [{}])[0]
    t.equal(ov.get("services", {}).get("cstatd", {}).get("cgroup"), "host",
            "compose.cgroup-host.yaml: cstatd with cgroup host (Compose v2)")
    env = {}
    with open(os.path.join(DEPLOY, ".env")) as f:
        for line in f:
            k, sep, v = line.strip().partition("=")
            if sep and not k.startswith("#"):
                env[k] = v
    t.equal(env.get("COMPOSE_PROJECT_NAME"), "cstatd", "deploy/.env: COMPOSE_PROJECT_NAME=cstatd")
    t.check("REVISION" in (s.get("build", {}).get("args") or {}),
            "compose cstatd: the REVISION build argument is passed", actual=s.get("build"))
    if shutil.which("docker-compose"):
        env = dict(os.environ, DOCKER_GID="999")
        for k in ("COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "DOCKER_HOST"):
            env.pop(k, None)
        p = subprocess.run(["docker-compose", "-f", os.path.join(DEPLOY, "compose.yaml"),
                            "config", "-q"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        t.check(p.returncode == 0, "`docker-compose config -q` (1.29) accepts compose.yaml",
                actual=p.stdout.decode("utf-8", "replace")[-800:])
        env.pop("DOCKER_GID")
        p = subprocess.run(["docker-compose", "-f", os.path.join(DEPLOY, "compose.yaml"),
                            "config", "-q"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        t.check(p.returncode != 0 and "DOCKER_GID" in out,
                "without DOCKER_GID docker-compose refuses, naming it", actual=out[-400:])
    else:
        t.info("docker-compose not installed: `config -q` not run (scripts/deps.sh --test "
               "installs it)")
    vols = s.get("volumes", [])
    t.check("/sys/fs/cgroup:/sys/fs/cgroup:ro" in vols, "compose cstatd: cgroupfs read-only",
            actual=vols)
    t.check("/var/run/docker.sock:/var/run/docker.sock:ro" in vols,
            "compose cstatd: Docker socket read-only", actual=vols)
    t.equal(s.get("build", {}).get("dockerfile"), "deploy/Dockerfile",
            "compose cstatd: built from deploy/Dockerfile")
    # Every ./file a service mounts exists.
    missing = []
    for name, sv in svc.items():
        for v in sv.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith("."):
                if not os.path.exists(os.path.join(DEPLOY, src)):
                    missing.append(f"{name}: {src}")
    t.equal(missing, [], "compose: every local file or directory mounted exists")
    g = " ".join(svc.get("grafana", {}).get("volumes", []))
    t.check("grafana/cstatd.json" in g and "grafana/provisioning" in g,
            "compose grafana: the dashboard and its provisioning are mounted", actual=g)


def check_dockerfile(t):
    """deploy/Dockerfile installs a -dev package for every pkg_check_modules()
    module of CMakeLists.txt, and its VERSION default is project(VERSION)."""
    with open(os.path.join(DEPLOY, "Dockerfile")) as f:
        dockerfile = f.read()
    with open(os.path.join(ct.REPO_ROOT, "CMakeLists.txt")) as f:
        cmake = f.read()
    build_stage = dockerfile.split("\nFROM scratch")[0]
    modules = []
    for m in re.finditer(r"pkg_check_modules\(\s*\w+\s+REQUIRED\s+(?:IMPORTED_TARGET\s+)?"
                         r"([^)\s]+)", cmake):
        modules.append(m.group(1))
    t.check(len(modules) >= 4, "CMakeLists.txt: pkg_check_modules() found", actual=modules)
    missing = []
    for mod in modules:
        p = subprocess.run(["pkg-config", "--variable=pcfiledir", mod], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=30)
        pc = os.path.join(p.stdout.decode().strip(), mod + ".pc")
        q = subprocess.run(["dpkg", "-S", pc], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           timeout=30)
        if p.returncode != 0 or q.returncode != 0:
            t.info(f"pkg-config module {mod}: no Debian package found here; not checked")
            continue
        pkg = q.stdout.decode().split(":", 1)[0]
        if not re.search(rf"(^|\s){re.escape(pkg)}(\s|$)", build_stage, re.M):
            missing.append(f"{mod} ({pkg})")
    t.equal(missing, [], "deploy/Dockerfile's build stage installs the -dev package of every "
            "pkg_check_modules() module in CMakeLists.txt")
    m = re.search(r"project\(\s*cstatd\s+VERSION\s+([0-9.]+)", cmake)
    v = re.search(r"^ARG VERSION=(\S+)", dockerfile, re.M)
    t.check(m and v and m.group(1) == v.group(1),
            "deploy/Dockerfile: ARG VERSION default equals project(VERSION) in CMakeLists.txt",
            actual=(v and v.group(1), m and m.group(1)))
    t.check('-DCSTATD_REVISION="$REVISION"' in dockerfile and
            'org.opencontainers.image.revision="${REVISION}"' in dockerfile,
            "deploy/Dockerfile: the REVISION build argument reaches cmake and the label")


def containers_of(doc):
    spec = doc.get("spec", {})
    if doc.get("kind") in ("DaemonSet", "Deployment"):
        spec = spec.get("template", {}).get("spec", {})
    return spec, spec.get("containers", [])


def check_kubernetes(t, docs):
    k = {}
    for rel, ds in docs.items():
        if rel.startswith("deploy/kubernetes/"):
            for d in ds:
                k.setdefault(d.get("kind"), []).append((rel, d))
    for kind in ("Namespace", "ServiceAccount", "DaemonSet", "Service", "Deployment"):
        t.check(kind in k, f"kubernetes: a {kind}", actual=sorted(k))
    for rel, d in [x for v in k.values() for x in v]:
        t.check(d.get("apiVersion") and d.get("metadata", {}).get("name"),
                f"{rel} {d.get('kind')}: apiVersion and metadata.name")
    ds = k.get("DaemonSet", [(None, {})])[0][1]
    spec, cts = containers_of(ds)
    t.equal(spec.get("hostPID"), True, "DaemonSet: hostPID")
    pod_sc = spec.get("securityContext", {})
    t.equal(pod_sc.get("runAsNonRoot"), True, "DaemonSet: runAsNonRoot")
    t.check(pod_sc.get("runAsUser", 0) != 0, "DaemonSet: runAsUser is not 0",
            actual=pod_sc.get("runAsUser"))
    c = next((x for x in cts if x.get("name") == "cstatd"), {})
    sc = c.get("securityContext", {})
    t.equal(sc.get("readOnlyRootFilesystem"), True, "DaemonSet cstatd: readOnlyRootFilesystem")
    t.equal(sc.get("allowPrivilegeEscalation"), False,
            "DaemonSet cstatd: allowPrivilegeEscalation false")
    t.equal(sc.get("capabilities", {}).get("drop"), ["ALL"], "DaemonSet cstatd: drop ALL")
    res = c.get("resources", {})
    t.check(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory")
            and res.get("limits", {}).get("cpu") and res.get("limits", {}).get("memory"),
            "DaemonSet cstatd: CPU and memory requests and limits", actual=res)
    t.equal(c.get("livenessProbe", {}).get("httpGet", {}).get("path"), "/healthz",
            "DaemonSet cstatd: liveness probe on /healthz")
    t.equal(c.get("readinessProbe", {}).get("httpGet", {}).get("path"), "/readyz",
            "DaemonSet cstatd: readiness probe on /readyz")
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    cg = [n for n, v in vols.items() if v.get("hostPath", {}).get("path") == "/sys/fs/cgroup"]
    t.check(cg and mounts.get(cg[0], {}).get("readOnly") is True
            and mounts[cg[0]].get("mountPath") == "/sys/fs/cgroup",
            "DaemonSet: the host cgroupfs mounted read-only at /sys/fs/cgroup",
            actual={"volumes": vols, "mounts": mounts})
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    t.equal(ports.get("metrics"), 9338, "DaemonSet cstatd: port metrics 9338")
    svc = k.get("Service", [(None, {})])[0][1]
    sel = svc.get("spec", {}).get("selector", {})
    tlabels = ds.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
    t.check(sel and all(tlabels.get(a) == b for a, b in sel.items()),
            "Service selects the DaemonSet's pods", actual={"selector": sel, "pods": tlabels})
    sp = {p.get("name"): p for p in svc.get("spec", {}).get("ports", [])}
    t.check("metrics" in sp and sp["metrics"].get("port") == 9338,
            "Service: port named metrics, 9338 (the scrape job keeps it by name)", actual=sp)
    dep = k.get("Deployment", [(None, {})])[0][1]
    dspec, dcts = containers_of(dep)
    t.equal(dspec.get("shareProcessNamespace"), True, "sidecar example: shareProcessNamespace")
    sc2 = next((x for x in dcts if x.get("name") == "cstatd"), {}).get("securityContext", {})
    t.check(sc2.get("readOnlyRootFilesystem") is True and sc2.get("runAsNonRoot") is True
            and sc2.get("capabilities", {}).get("drop") == ["ALL"],
            "sidecar cstatd: non-root, read-only, drop ALL", actual=sc2)
    for rel, d in k.get("DaemonSet", []) + k.get("Deployment", []):
        _, cs = containers_of(d)
        for x in cs:
            r = x.get("resources", {})
            t.check(r.get("requests") and r.get("limits"),
                    f"{rel}: container {x.get('name')} has requests and limits", actual=r)


def check_promtool(t, tmp, yaml):
    prom_dir = os.path.join(DEPLOY, "prometheus")
    rc, out = run(["promtool", "check", "config", "prometheus.yml"], cwd=prom_dir)
    t.check(rc == 0, "promtool check config deploy/prometheus/prometheus.yml", actual=out)
    rc, out = run(["promtool", "check", "config", "prometheus-kubernetes.yml"], cwd=prom_dir)
    if rc != 0 and "field kubernetes_sd_configs not found" in out:
        # Debian builds Prometheus without Kubernetes service discovery.
        t.info("this promtool (Debian's build) has no Kubernetes service discovery; "
               "checking prometheus-kubernetes.yml with kubernetes_sd_configs swapped for "
               "static_configs (relabeling, rule files and the rest checked as they are)")
        shutil.copy(os.path.join(prom_dir, "cstatd-alerts.yml"), tmp)
        with open(os.path.join(prom_dir, "prometheus-kubernetes.yml")) as f:
            cfg = yaml.safe_load(f)
        swapped = 0
        for job in cfg.get("scrape_configs", []):
            if job.pop("kubernetes_sd_configs", None) is not None:
                job["static_configs"] = [{"targets": ["node:9338"]}]
                swapped += 1
        t.check(swapped > 0, "test set-up: a kubernetes_sd_configs job found", actual=swapped)
        with open(os.path.join(tmp, "prometheus-kubernetes.yml"), "w") as f:
            yaml.safe_dump(cfg, f)
        rc, out = run(["promtool", "check", "config", "prometheus-kubernetes.yml"], cwd=tmp)
    t.check(rc == 0, "promtool check config deploy/prometheus/prometheus-kubernetes.yml",
            actual=out)
    rc, out = run(["promtool", "check", "rules", "cstatd-alerts.yml"], cwd=prom_dir)
    t.check(rc == 0, "promtool check rules deploy/prometheus/cstatd-alerts.yml", actual=out)
    t.info(out.strip().splitlines()[-1] if out.strip() else "")
    rc, out = run(["promtool", "test", "rules", "cstatd-alerts.test.yml"], cwd=prom_dir)
    t.check(rc == 0, "promtool test rules deploy/prometheus/cstatd-alerts.test.yml (alerts "
            "fire on cstatd-shaped series)", actual=out)
    amtool = shutil.which("amtool")
    if amtool:
        rc, out = run([amtool, "check-config",
                       os.path.join(DEPLOY, "alertmanager", "alertmanager.yml")])
        t.check(rc == 0, "amtool check-config deploy/alertmanager/alertmanager.yml", actual=out)
    else:
        t.info("amtool not installed (prometheus-alertmanager): Alertmanager config "
               "checked as YAML only")


def check_dashboard(t, tmp, names, families, yaml):
    path = os.path.join(DEPLOY, "grafana", "cstatd.json")
    with open(path) as f:
        try:
            dash = json.load(f)
        except json.JSONDecodeError as e:
            t.check(False, "deploy/grafana/cstatd.json is valid JSON", actual=str(e), fatal=True)
    t.check(True, "deploy/grafana/cstatd.json is valid JSON")
    t.check(dash.get("uid") and dash.get("title") and dash.get("schemaVersion"),
            "dashboard has uid, title, schemaVersion")
    panels = [p for p in all_panels(dash) if p.get("type") != "row"]
    t.check(all(p.get("datasource") for p in panels),
            "every panel names its data source (the ${datasource} variable)")
    ids = [p.get("id") for p in all_panels(dash)]
    t.equal(len(ids), len(set(ids)), "panel ids are unique")
    exprs = dashboard_exprs(dash)
    t.info(f"{len(panels)} panels, {len(exprs)} PromQL expressions")
    bad = {}
    for where, e in exprs:
        unknown = sorted(n for n in metric_names(e) if n not in names)
        if unknown:
            bad[where] = unknown
    t.equal(bad, {}, "every dashboard expression names only families cstatd exports "
            "(cstatd --print-metrics-table) or Prometheus' up/ALERTS")
    alert_fams = [f for f in families if f.startswith("cstatd_alert")]
    t.info("alert families in the table: " + (", ".join(alert_fams) or
                                               "none yet (firing alerts from ALERTS)"))

    def panel_names(p):
        return set().union(*[metric_names(tg.get("expr", "")) for tg in p.get("targets", [])])
    # (all of the families in one panel, or any of them)
    want = {
        "CPU vs limit": (all, ("container_cpu_usage_seconds_total",
                               "container_spec_cpu_quota")),
        "working set vs limit": (all, ("container_memory_working_set_bytes",
                                       "container_spec_memory_limit_bytes")),
        "restarts": (any, ("cstatd_container_restarts_total",)),
        "OOM kills": (any, ("cstatd_container_oom_kills_total",)),
        "throttling": (any, ("container_cpu_cfs_throttled_periods_total",)),
        "PSI": (any, ("container_pressure_cpu_waiting_seconds_total",
                      "container_pressure_memory_stalled_seconds_total",
                      "container_pressure_io_stalled_seconds_total")),
        "firing alerts": (any, ("ALERTS", "cstatd_alert_firing")),
    }
    for what, (how, fams) in want.items():
        hits = [p.get("title") for p in panels if how(f in panel_names(p) for f in fams)]
        t.check(hits, f"dashboard has a {what} panel ({how.__name__} of {', '.join(fams)})",
                actual=[p.get("title") for p in panels])

    # The expressions parse: promtool over a rules file made of them.
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": grafana_to_promql(e)}
        for i, (_w, e) in enumerate(exprs)]}]}
    rp = os.path.join(tmp, "dashboard-exprs.yml")
    with open(rp, "w") as f:
        yaml.safe_dump(rules, f)
    rc, out = run(["promtool", "check", "rules", rp])
    t.check(rc == 0, "every dashboard expression parses as PromQL (promtool check rules, "
            "Grafana variables filled in)", actual=out)

    # Provisioning: the dashboard provider's path is where compose mounts it.
    prov_path = os.path.join(DEPLOY, "grafana", "provisioning", "dashboards", "cstatd.yml")
    with open(prov_path) as f:
        prov = yaml.safe_load(f)
    p0 = prov.get("providers", [{}])[0].get("options", {}).get("path")
    with open(os.path.join(DEPLOY, "compose.yaml")) as f:
        compose = yaml.safe_load(f)
    gvols = compose["services"]["grafana"].get("volumes", [])
    t.check(any(v.split(":")[1].startswith(p0 + "/") for v in gvols if ":" in v),
            "Grafana provisioning loads dashboards from where compose mounts cstatd.json",
            actual={"provider path": p0, "volumes": gvols})


def check_rules_families(t, names, yaml):
    with open(os.path.join(DEPLOY, "prometheus", "cstatd-alerts.yml")) as f:
        doc = yaml.safe_load(f)
    bad = {}
    n = 0
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            n += 1
            unknown = sorted(x for x in metric_names(r["expr"]) if x not in names)
            if unknown:
                bad[r.get("alert") or r.get("record")] = unknown
    t.equal(bad, {}, f"the {n} alert rules name only families cstatd exports (or up)")


def check_default_config(t, binary):
    path = os.path.join(DEPLOY, "cstatd.json")
    with open(path) as f:
        try:
            cfg = json.load(f)
        except json.JSONDecodeError as e:
            t.check(False, "deploy/cstatd.json is valid JSON", actual=str(e))
            return
    rc, out = run([binary, "--help"])
    flags = set(re.findall(r"^\s+--([a-z0-9-]+)", out, re.M))
    unknown = sorted(k for k in cfg if k not in flags)
    t.equal(unknown, [], "deploy/cstatd.json (default config): every key is a cstatd flag")


def check_health_check(t, binary):
    """`cstatd --health-check URL`, the image's HEALTHCHECK, against a real
    cstatd, a closed port and a server that accepts and never answers."""
    import socket
    import time

    def hc(*args, timeout=10):
        return ct.run_cstatd(["--health-check", *args], timeout=timeout, no_docker=False)

    with ct.Cstatd([]) as d:
        rc, out, err = hc(f"http://127.0.0.1:{d.port}/healthz")
        t.check(rc == 0 and "healthy" in out, "--health-check on /healthz: exit 0",
                actual=(rc, out, err))
        rc, out, err = hc(f"http://localhost:{d.port}/readyz")
        t.equal(rc, 0, "--health-check by host name on /readyz: exit 0")
        rc, out, err = hc(f"http://127.0.0.1:{d.port}/no-such-path")
        t.check(rc == 1 and "404" in err, "--health-check on a 404: exit 1, the status on "
                "stderr", actual=(rc, err))
    port = ct.free_port()
    rc, out, err = hc(f"http://127.0.0.1:{port}/healthz")
    t.check(rc == 1 and "refused" in err, "--health-check on a closed port: exit 1, "
            "\"refused\" on stderr", actual=(rc, err))
    with socket.socket() as srv:  # accepts (backlog), never answers
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        t0 = time.monotonic()
        rc, out, err = hc(f"http://127.0.0.1:{srv.getsockname()[1]}/healthz")
        dt = time.monotonic() - t0
    t.check(rc == 1 and 1.5 <= dt <= 4.0, "--health-check on a server that never answers: "
            "exit 1 after the 2 s timeout", actual=(rc, round(dt, 2), err))
    rc, out, err = hc("https://127.0.0.1:9338/healthz")
    t.check(rc == 1 and "https" in err, "--health-check with https://: exit 1, says why",
            actual=(rc, err))
    rc, out, err = ct.run_cstatd(["--health-check"], no_docker=False)
    t.check(rc == 2 and "missing value" in err, "--health-check without a URL: exit 2",
            actual=(rc, err))


def main():
    binary = ct.find_binary()
    try:
        import yaml
    except ImportError:
        ct.skip("python3-yaml is not installed (apt-get install -y python3-yaml)")
    if not shutil.which("promtool"):
        ct.skip("promtool is not installed (apt-get install -y prometheus)")
    t = ct.Test("deploy_files: YAML, promtool, amtool, dashboard vs the metric family table, "
                "--health-check")
    families = families_from_table(binary)
    t.check(len(families) > 30, "cstatd --print-metrics-table lists the families",
            actual=len(families), fatal=True)
    names = series_names(families) | PROMETHEUS_SERIES
    tmp = tempfile.mkdtemp(prefix="cstatd-deploy-")
    try:
        docs = check_yaml(t, yaml)
        check_compose(t, docs)
        check_dockerfile(t)
        check_kubernetes(t, docs)
        check_promtool(t, tmp, yaml)
        check_rules_families(t, names, yaml)
        check_dashboard(t, tmp, names, families, yaml)
        check_default_config(t, binary)
        check_health_check(t, binary)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.finish()


if __name__ == "__main__":
    ct.run(main)
