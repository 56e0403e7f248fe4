# SPDX-License-Identifier: Apache-2.0
"""HTTP from inside another process' network namespace (Python 3, stdlib only):
for services that listen on a loopback the host cannot see, such as a
container run with --network none or a dockerd started in a network
namespace of its own (test_compose.py, test_systemd_real.py).

    import nsenter
    ns = nsenter.Netns(pid)                    # any process in that namespace
    status, body = ns.get("http://127.0.0.1:9338/metrics")   # status 0: failed
    j = ns.get_json("http://127.0.0.1:9090/api/v1/rules")    # None unless 200 + JSON

Each request runs `nsenter -t <pid> -n <this python> -c <one GET>` (needs
root and util-linux); the traffic stays inside that namespace's loopback.
"""

import json
import subprocess
import sys

_GET = r"""
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as r:
        sys.stdout.write("%d\n" % r.status); sys.stdout.write(r.read().decode("utf-8", "replace"))
except urllib.error.HTTPError as e:
    sys.stdout.write("%d\n" % e.code); sys.stdout.write(e.read().decode("utf-8", "replace"))
except Exception as e:
    sys.stdout.write("0\n%s: %s" % (type(e).__name__, e))
"""


class Netns:
    """HTTP GETs from inside the network namespace of process `pid`."""

    def __init__(self, pid):
        self.pid = pid

    def get(self, url, timeout=5.0):
        """-> (status, body text); status 0 when the request failed."""
        try:
            p = subprocess.run(["nsenter", "-t", str(self.pid), "-n", sys.executable, "-c", _GET,
                                url, str(timeout)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout + 15)
        except subprocess.TimeoutExpired:
            return 0, f"nsenter GET {url} timed out"
        out = p.stdout.decode("utf-8", "replace")
        first, _, body = out.partition("\n")
        try:
            return int(first), body
        except ValueError:
            return 0, out + p.stderr.decode("utf-8", "replace")

    def get_json(self, url, timeout=5.0):
        status, body = self.get(url, timeout)
        if status != 200:
            return None
        try:
            return json.loads(body)
        except ValueError:
            return None
