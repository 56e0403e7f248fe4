#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""--web.config.file: TLS, client certificates and basic auth, end to end.

A CA, a server certificate (SAN 127.0.0.1, localhost), a client certificate
and a rogue self-signed one are made with `openssl`; bcrypt hashes with
`htpasswd -nbBC 10` (apache2-utils). Three cstatd instances:

  A  TLS + basic_auth_users (NoClientCert)
  B  TLS + RequireAndVerifyClientCert + basic_auth_users
  C  TLS + VerifyClientCertIfGiven

Checks:
- a real Prometheus (/usr/bin/prometheus) scrapes A over https with
  basic_auth and tls_config.ca_file, and B with a client certificate too:
  up == 1 for both; a third job with a wrong password is down with a 401;
- over https: right password 200, wrong password / unknown user / none
  401 with WWW-Authenticate: Basic; /healthz and /readyz need no password;
  20 authenticated scrapes take well under 20 bcrypt runs (the cache);
- B: no client certificate, or a self-signed one, fails the handshake;
  the CA-signed one works. C: no certificate is fine, a rogue one fails;
- plain HTTP to the TLS port gets no HTTP answer, and A keeps serving;
- `cstatd --health-check https://...`: /healthz without a password,
  /metrics with user:password@, 1 with a wrong one;
- a bad web config file (unknown key, missing certificate file,
  non-bcrypt password, key not matching the certificate, unsupported
  setting): exit 1 with one line that names the file.

Needs openssl and htpasswd (exits 77 without); the Prometheus part needs
/usr/bin/prometheus (that part is skipped without it).
"""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import cstatd_test as ct  # noqa: E402

PASSWORD = "s3cret-scrape"


def sh(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({p.returncode}): {p.stderr.decode()[-500:]}")
    return p.stdout.decode()


def make_pki(d):
    """CA, server and client certificates (EC P-256, 2 days) in directory d."""
    def req(name, subj):
        sh(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", subj])

    sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-days", "2",
        "-subj", "/CN=cstatd test CA"])
    for name, subj, ext in (
            ("server", "/CN=localhost",
             "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
            ("client", "/CN=prometheus", "extendedKeyUsage=clientAuth\n")):
        req(name, subj)
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(ext)
        sh(["openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.crt",
            "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/{name}.crt", "-days", "2",
            "-extfile", f"{d}/{name}.ext"])
    sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", f"{d}/rogue.key", "-out", f"{d}/rogue.crt", "-days", "2",
        "-subj", "/CN=prometheus"])


def bcrypt_hash(user, password):
    out = sh(["htpasswd", "-nbBC", "10", user, password]).strip()
    return out.split(":", 1)[1]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def base_args(tree):
    return ["--no-docker", "--cgroup-root", tree, "--no-cgroup-root-check", "--proc-root", tree,
            "--interval", "1s"]


def start(tree, web_config, **tls):
    d = ct.Cstatd(base_args(tree) + ["--web.config.file", web_config], wait_ready=False)
    d.start()
    try:
        ct.wait_https_ready(d, **tls)
    except BaseException:
        d.__exit__(None, None, None)
        raise
    return d


def try_https(port, path="/metrics", **kw):
    """-> status, or the exception's class name when the request failed."""
    try:
        status, hdrs, _ = ct.https_request(port, path, **kw)
        return status, hdrs
    except (OSError, ssl.SSLError, http_errors()) as e:
        return type(e).__name__, {}


def http_errors():
    import http.client
    return http.client.HTTPException


# --------------------------------------------------------------------------

def section_basic_auth(t, a, pki):
    tls = {"ca_file": f"{pki}/ca.crt"}
    s, h = try_https(a.port, auth=("prometheus", PASSWORD), **tls)
    t.equal(s, 200, "A: https + right password: 200")
    for what, auth in (("wrong password", ("prometheus", "nope")),
                       ("unknown user", ("mallory", PASSWORD)), ("no credentials", None)):
        s, h = try_https(a.port, auth=auth, **tls)
        t.check(s == 401 and h.get("www-authenticate", "").startswith("Basic"),
                f"A: {what}: 401 with WWW-Authenticate: Basic", actual=(s, h))
    for path in ("/healthz", "/readyz"):
        s, _ = try_https(a.port, path, **tls)
        t.equal(s, 200, f"A: {path} needs no password (probes hold none)")
    s, h = try_https(a.port, "/", **tls)
    t.equal(s, 401, "A: / (landing page) needs the password")
    s, h = try_https(a.port, auth=("prometheus", PASSWORD), **tls)
    t.equal(h.get("x-content-type-options"), "nosniff",
            "A: http_server_config.headers are sent (X-Content-Type-Options)")
    # The success cache: bcrypt at cost 10 is ~0.1 s here; 20 scrapes with
    # the same password cost one of them.
    t0 = time.monotonic()
    statuses = [try_https(a.port, auth=("prometheus", PASSWORD), **tls)[0] for _ in range(20)]
    dt = time.monotonic() - t0
    t.check(all(s == 200 for s in statuses) and dt < 1.5,
            f"A: 20 authenticated scrapes in {dt:.2f} s (cached, not 20 bcrypt runs)",
            actual=(statuses, round(dt, 2)))
    t.info(f"FIGURES 20 authenticated https scrapes (new connection each): {dt * 1000:.0f} ms")
    # Plain HTTP to the TLS port: no HTTP answer; A keeps serving.
    try:
        with socket.create_connection(("127.0.0.1", a.port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(5)
            got = s.recv(100)
    except OSError as e:
        got = repr(e).encode()
    t.check(not got.startswith(b"HTTP/"), "A: plain HTTP to the TLS port gets no HTTP answer "
            "(the connection is closed)", actual=got[:80])
    s, _ = try_https(a.port, auth=("prometheus", PASSWORD), **tls)
    t.equal(s, 200, "A: still serving https after the plain-HTTP attempt")


def section_client_certs(t, b, c, pki):
    ca = f"{pki}/ca.crt"
    good = {"cert": f"{pki}/client.crt", "key": f"{pki}/client.key"}
    rogue = {"cert": f"{pki}/rogue.crt", "key": f"{pki}/rogue.key"}
    auth = ("prometheus", PASSWORD)
    s, _ = try_https(b.port, ca_file=ca, auth=auth, **good)
    t.equal(s, 200, "B (RequireAndVerifyClientCert): CA-signed client certificate: 200")
    s, _ = try_https(b.port, ca_file=ca, auth=auth)
    t.check(s != 200 and isinstance(s, str),
            "B: no client certificate: the handshake fails (no HTTP answer)", actual=s)
    s, _ = try_https(b.port, ca_file=ca, auth=auth, **rogue)
    t.check(s != 200 and isinstance(s, str),
            "B: self-signed client certificate: the handshake fails", actual=s)
    s, _ = try_https(b.port, ca_file=ca, **good)
    t.equal(s, 401, "B: right certificate, no password: 401 (both are required)")
    s, _ = try_https(c.port, ca_file=ca)
    t.equal(s, 200, "C (VerifyClientCertIfGiven): no client certificate: 200")
    s, _ = try_https(c.port, ca_file=ca, **good)
    t.equal(s, 200, "C: CA-signed client certificate: 200")
    s, _ = try_https(c.port, ca_file=ca, **rogue)
    t.check(s != 200 and isinstance(s, str),
            "C: self-signed client certificate: the handshake fails", actual=s)
    for d in (b, c):
        t.check(d.proc.poll() is None, f"cstatd on {d.port} still running after failed "
                "handshakes")


def section_health_check(t, a):
    def hc(url):
        return ct.run_cstatd(["--health-check", url], timeout=10, no_docker=False)

    rc, out, err = hc(f"https://127.0.0.1:{a.port}/healthz")
    t.check(rc == 0 and "healthy" in out, "--health-check https://127.0.0.1:PORT/healthz: 0 "
            "(loopback: certificate not verified, no password needed)", actual=(rc, out, err))
    rc, out, err = hc(f"https://prometheus:{PASSWORD}@localhost:{a.port}/metrics")
    t.check(rc == 0, "--health-check https://user:password@localhost:PORT/metrics: 0",
            actual=(rc, out, err))
    rc, out, err = hc(f"https://prometheus:wrong@localhost:{a.port}/metrics")
    t.check(rc == 1 and "401" in err, "--health-check with a wrong password: 1, says 401",
            actual=(rc, err))
    t.check("wrong" not in err and "prometheus:***@" in err,
            "--health-check does not print the password of the URL", actual=err)
    rc, out, err = hc(f"http://127.0.0.1:{a.port}/healthz")
    t.check(rc == 1 and "https://" in err, "--health-check http:// on a TLS port: 1, suggests "
            "https://", actual=(rc, err))


def section_prometheus(t, a, b, pki):
    if not os.access("/usr/bin/prometheus", os.X_OK):
        t.info("/usr/bin/prometheus is not installed: Prometheus section skipped")
        return
    ca = f"{pki}/ca.crt"
    job_tls = (f"    scheme: https\n"
               f"    basic_auth: {{username: prometheus, password: '{PASSWORD}'}}\n"
               f"    tls_config: {{ca_file: '{ca}'}}\n")
    extra = (job_tls +
             f"  - job_name: cstatd_mtls\n"
             f"    scrape_interval: 1s\n"
             f"    scheme: https\n"
             f"    basic_auth: {{username: prometheus, password: '{PASSWORD}'}}\n"
             f"    tls_config: {{ca_file: '{ca}', cert_file: '{pki}/client.crt', "
             f"key_file: '{pki}/client.key'}}\n"
             f"    static_configs:\n"
             f"      - targets: ['127.0.0.1:{b.port}']\n"
             f"  - job_name: cstatd_badpw\n"
             f"    scrape_interval: 1s\n"
             f"    scheme: https\n"
             f"    basic_auth: {{username: prometheus, password: wrong}}\n"
             f"    tls_config: {{ca_file: '{ca}'}}\n"
             f"    static_configs:\n"
             f"      - targets: ['127.0.0.1:{a.port}']\n")
    with ct.Prometheus([f"127.0.0.1:{a.port}"], job="cstatd", scrape_interval="1s",
                       extra_config=extra) as prom:
        for job in ("cstatd", "cstatd_mtls"):
            up = ct.poll(lambda j=job: prom.query(f'up{{job="{j}"}} == 1'), 20, 0.5)
            t.check(bool(up), f'Prometheus over https: up{{job="{job}"}} == 1',
                    actual=prom.query(f'up{{job="{job}"}}'))
        n = prom.query('scrape_samples_scraped{job="cstatd"}')
        t.check(n and float(n[0]["value"][1]) > 0, "Prometheus ingested samples over https",
                actual=n)
        targets = ct.poll(lambda: [x for x in prom.targets_state()
                                   if x.get("labels", {}).get("job") == "cstatd_badpw"
                                   and x.get("lastError")], 10, 0.5)
        t.check(bool(targets) and targets[0].get("health") == "down" and
                "401" in targets[0].get("lastError", ""),
                "Prometheus with a wrong password: target down, lastError names the 401",
                actual=[(x.get("health"), x.get("lastError")) for x in targets or []])


def section_bad_configs(t, tree, pki, tmp):
    h = bcrypt_hash("u", "p")
    cases = [
        ("unknown key", "tls_server_config:\n  cert_file: x\n  keyfile: y\n", "keyfile"),
        ("missing certificate file", f"tls_server_config:\n  cert_file: {tmp}/nope.crt\n"
         f"  key_file: {pki}/server.key\n", "nope.crt"),
        ("plain-text password", "basic_auth_users:\n  u: hunter2\n", "not a bcrypt hash"),
        ("key of another certificate", f"tls_server_config:\n  cert_file: {pki}/server.crt\n"
         f"  key_file: {pki}/client.key\n", "do not match"),
        ("unsupported setting", f"tls_server_config:\n  cert_file: {pki}/server.crt\n"
         f"  key_file: {pki}/server.key\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"
         f"basic_auth_users:\n  u: {h}\n", "cipher_suites: not supported"),
        ("YAML syntax error", "basic_auth_users: [\n", "invalid YAML"),
    ]
    for what, text, needle in cases:
        path = write(os.path.join(tmp, "bad.yml"), text)
        rc, out, err = ct.run_cstatd(base_args(tree) + ["--web.config.file", path,
                                                        "--listen", f"127.0.0.1:{ct.free_port()}"],
                                     timeout=10)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        t.check(rc == 1 and len(lines) == 1 and lines[0].startswith(f"cstatd: {path}") and
                needle in lines[0],
                f"bad web config ({what}): exit 1, one line naming the file and the problem",
                expected=f"rc 1, one line with {needle!r}", actual=(rc, lines))
    rc, out, err = ct.run_cstatd(base_args(tree) + ["--web.config.file", f"{tmp}/missing.yml"],
                                 timeout=10)
    t.check(rc == 1 and "missing.yml: cannot read" in err, "missing web config file: exit 1",
            actual=(rc, err))


def main():
    for tool in ("openssl", "htpasswd"):
        if not shutil.which(tool):
            ct.skip(f"{tool} is not installed (scripts/deps.sh --test: openssl, apache2-utils)")
    t = ct.Test("tls_auth: --web.config.file with TLS, client certificates and basic auth")
    tmp = tempfile.mkdtemp(prefix="cstatd-tls-")
    tree = os.path.join(tmp, "tree")
    pki = os.path.join(tmp, "pki")
    os.mkdir(tree)
    os.mkdir(pki)
    started = []
    t.on_failure.append(lambda: [print(f"  cstatd {d.port} stderr:\n" + d.stderr_tail(20))
                                 for d in started])
    try:
        make_pki(pki)
        h = bcrypt_hash("prometheus", PASSWORD)
        # Relative paths: relative to the web config file's directory.
        wa = write(os.path.join(tmp, "web-a.yml"),
                   "tls_server_config:\n  cert_file: pki/server.crt\n  key_file: pki/server.key\n"
                   "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n"
                   f"basic_auth_users:\n  prometheus: {h}\n")
        wb = write(os.path.join(tmp, "web-b.yml"),
                   f"tls_server_config:\n  cert_file: {pki}/server.crt\n"
                   f"  key_file: {pki}/server.key\n  client_ca_file: {pki}/ca.crt\n"
                   "  client_auth_type: RequireAndVerifyClientCert\n  min_version: TLS12\n"
                   f"basic_auth_users:\n  prometheus: {h}\n")
        wc = write(os.path.join(tmp, "web-c.yml"),
                   f"tls_server_config:\n  cert_file: {pki}/server.crt\n"
                   f"  key_file: {pki}/server.key\n  client_ca_file: {pki}/ca.crt\n"
                   "  client_auth_type: VerifyClientCertIfGiven\n")
        ca = {"ca_file": f"{pki}/ca.crt"}
        client = {"cert": f"{pki}/client.crt", "key": f"{pki}/client.key"}
        a = start(tree, wa, **ca)
        started.append(a)
        b = start(tree, wb, **ca, **client)
        started.append(b)
        c = start(tree, wc, **ca)
        started.append(c)
        section_basic_auth(t, a, pki)
        section_client_certs(t, b, c, pki)
        section_health_check(t, a)
        section_prometheus(t, a, b, pki)
        section_bad_configs(t, tree, pki, tmp)
        for d in started:
            t.check(d.proc.poll() is None, f"cstatd on port {d.port} still running at the end")
    finally:
        for d in started:
            d.__exit__(None, None, None)
        shutil.rmtree(tmp, ignore_errors=True)
    for d in started:
        t.equal(d.returncode, 0, f"cstatd on port {d.port}: clean exit on SIGTERM")
    t.finish()


if __name__ == "__main__":
    ct.run(main)
