#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Every benchmark as recorded in docs/benchmarks.md, one after the other
# (about 80 minutes on a 2-core VM). Needs root, a cgroup2 mount, wrk,
# docker.io (dockerd, containerd, runc) and busybox; perf and valgrind for the
# profile. Run it on a machine that is otherwise quiet, or at least note the
# load average it prints.
#
#   tests/bench/run_all.sh [BUILD_DIR] [RESULTS_DIR]
#
# BUILD_DIR (default build-bench) is configured and built (RelWithDebInfo,
# target cstatd) when it has no cstatd yet. RESULTS_DIR (default
# /tmp/cstatd-bench-<date>) gets one .log (what the scripts print) and one
# .jsonl (one JSON object per run) per benchmark, plus profile/.
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-build-bench}
OUT=${2:-/tmp/cstatd-bench-$(date +%Y%m%d-%H%M%S)}
PY=${PYTHON:-python3}
mkdir -p "$OUT"

if [ ! -x "$BUILD/cstatd" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && \
    cmake --build "$BUILD" --target cstatd -j2 || exit 1
fi
export CSTATD_BIN="$(cd "$BUILD" && pwd)/cstatd"
[ -x "$BUILD/tests/bench/cstatd-bench-floor" ] && \
  export CSTATD_FLOOR_BIN="$(cd "$BUILD" && pwd)/tests/bench/cstatd-bench-floor"

status=0
run() { # name, then the command
  name=$1; shift
  echo "== $name: $*" | tee "$OUT/$name.log"
  "$@" >>"$OUT/$name.log" 2>&1
  rc=$?
  echo "== $name: exit $rc" | tee -a "$OUT/$name.log"
  [ $rc -eq 0 ] || status=1
}

run fleet        $PY tests/bench/fleet.py --n 100,1000,2000,5000 --runs 3 --json "$OUT/fleet.jsonl"
run fleet-hostns $PY tests/bench/fleet.py --n 1000 --runs 3 --netns host --no-wrk --json "$OUT/fleet-hostns.jsonl"
run churn        $PY tests/bench/churn.py --runs 3 --json "$OUT/churn.jsonl"
run docker       $PY tests/bench/docker_bench.py --n 50,200 --runs 3 --phases idle,never,always,churn --json "$OUT/docker.jsonl"
run profile      $PY tests/bench/profile.py --n 1000 --out "$OUT/profile"

echo "results in $OUT"
exit $status
