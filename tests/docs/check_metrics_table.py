#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""docs/metrics.md's table must be exactly what the metric family table in
exporters/prometheus/families.h generates (cstatd --print-metrics-table)."""
import os
import subprocess
import sys

binary = os.environ["CSTATD_BIN"]
doc = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "metrics.md")
generated = subprocess.run([binary, "--print-metrics-table"], check=True,
                           capture_output=True, text=True).stdout
text = open(doc, encoding="utf-8").read()
begin, end = "<!-- BEGIN METRICS TABLE -->\n", "<!-- END METRICS TABLE -->"
if begin not in text or end not in text:
    print("FAIL: docs/metrics.md lacks the BEGIN/END METRICS TABLE markers")
    sys.exit(1)
documented = text.split(begin, 1)[1].split(end, 1)[0]
if documented != generated:
    import difflib
    sys.stdout.writelines(difflib.unified_diff(
        documented.splitlines(True), generated.splitlines(True),
        "docs/metrics.md", "cstatd --print-metrics-table"))
    print("FAIL: docs/metrics.md table is out of date; regenerate it with "
          "`build/cstatd --print-metrics-table`")
    sys.exit(1)
print("PASS: docs/metrics.md table matches the metric family table "
      f"({generated.count(chr(10)) - 2} families)")
