#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets of tests/fuzz (clang, -DCSTATD_FUZZ=ON, in
# build-fuzz) and runs each for SECONDS (default 30) on a copy of its seed
# corpus, so the checked-in corpus never grows. Prints per target the seeds,
# executions, exec/s, coverage (cov/ft from libFuzzer's final line) and the
# corpus it ended with; exits non-zero when any target crashed, leaked, hit
# a sanitizer report or an invariant, timed out or ran out of memory.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 5 fuzz_cgroup
#
# Environment:
#   FUZZ_BUILD_DIR  build directory (default build-fuzz)
#   FUZZ_WORK       where corpora copies, logs and crash-* files go (default: a
#                   new /tmp/cstatd-fuzz.XXXXXX, kept when something failed)
#   FUZZ_JOBS       targets run at once (default 1; the campaign uses 2)
# Needs clang and libFuzzer (scripts/deps.sh --test installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
shift || true
build=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-1}

mkdir -p "$build"
if ! { CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCSTATD_FUZZ=ON \
	-DCSTATD_TESTS=OFF && cmake --build "$build" --target fuzz -j"$(nproc)"; } >"$build/fuzz-build.log" 2>&1; then
	tail -40 "$build/fuzz-build.log" >&2
	echo "fuzz: build failed (full log: $build/fuzz-build.log)" >&2
	exit 1
fi

if (($#)); then
	targets=("$@")
else
	targets=()
	for src in tests/fuzz/fuzz_*.c; do
		t=$(basename "$src" .c)
		[[ -x "$build/fuzz/$t" ]] && targets+=("$t")
	done
fi

work=${FUZZ_WORK:-$(mktemp -d /tmp/cstatd-fuzz.XXXXXX)}
mkdir -p "$work"

run_one() {
	local t=$1 dir="$work/$1" dict=tests/fuzz/$1.dict
	local args=(-max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
		-artifact_prefix="$dir/artifacts/")
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
	[[ -f "$dict" ]] || dict=tests/fuzz/${t%_*}.dict
	[[ -f "$dict" ]] && args+=(-dict="$dict")
	set +e
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"$build/fuzz/$t" "${args[@]}" "$dir/corpus" >"$dir/log" 2>&1
	echo $? >"$dir/rc"
	set -e
}

running=0
for t in "${targets[@]}"; do
	run_one "$t" &
	running=$((running + 1))
	if ((running >= jobs)); then
		wait -n || true
		running=$((running - 1))
	fi
done
wait

failed=0
printf '%-20s %6s %12s %8s %12s %8s %9s %s\n' target seeds execs exec/s cov ft corpus result
for t in "${targets[@]}"; do
	dir="$work/$t"
	rc=$(cat "$dir/rc" 2>/dev/null || echo 1)
	seeds=$(find tests/fuzz/corpus/"$t" -type f | wc -l)
	execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$dir/log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: //p' "$dir/log" | tail -1)
	init=$(grep -Eo 'INITED cov: [0-9]+' "$dir/log" | grep -Eo '[0-9]+$' | tail -1)
	last=$(grep -E '^#[0-9]+' "$dir/log" | grep -F 'cov:' | tail -1)
	cov=$(grep -Eo 'cov: [0-9]+' <<<"$last" | grep -Eo '[0-9]+' || true)
	ft=$(grep -Eo 'ft: [0-9]+' <<<"$last" | grep -Eo '[0-9]+' || true)
	corp=$(grep -Eo 'corp: [0-9]+' <<<"$last" | grep -Eo '[0-9]+' || true)
	result=ok
	if [[ "$rc" != 0 ]] || compgen -G "$dir/artifacts/*" >/dev/null; then
		result="FAILED (rc $rc, $dir)"
		failed=1
	fi
	printf '%-20s %6s %12s %8s %12s %8s %9s %s\n' "$t" "$seeds" "${execs:-?}" "${eps:-?}" \
		"${init:-?}->${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done
if ((failed)); then
	for t in "${targets[@]}"; do
		dir="$work/$t"
		if [[ "$(cat "$dir/rc" 2>/dev/null)" != 0 ]] || compgen -G "$dir/artifacts/*" >/dev/null; then
			echo "--- $t: $(ls "$dir/artifacts" 2>/dev/null | tr '\n' ' ')" >&2
			grep -E -A25 'ERROR:|invariant failed|runtime error' "$dir/log" | head -60 >&2 || tail -30 "$dir/log" >&2
		fi
	done
	echo "fuzz: FAILED; reproduce with $build/fuzz/<target> <crash file> (files kept in $work)" >&2
	exit 1
fi
[[ -n "${FUZZ_WORK:-}" ]] || rm -rf "$work"
echo "fuzz: all ${#targets[@]} targets ran ${secs}s without a finding"
