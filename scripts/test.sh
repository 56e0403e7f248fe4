#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317,SC1091 # helpers run through step(); env.sh is sourced by path
# Fresh Debian 12 host → the whole test suite: installs what is missing,
# builds with -Werror, runs every unit and integration test with ctest
# (real cgroups, a private dockerd, Prometheus; root is needed for those),
# under AddressSanitizer + UndefinedBehaviorSanitizer, with ThreadSanitizer
# and valgrind on the threaded and representative paths.
# Exits non-zero when any test fails. Extra arguments go to the ctest of the
# main (ASan) suite, e.g. `scripts/test.sh -R docker`.
#
# How the suite is split, and why (issue #7: .ci/run must stay under 30 min
# on a 2-core VM). Times: one run of each step on a 2-core VM shared with
# other jobs (load 1-2), 2026-11-25.
#
#   step      build       what runs                                          took
#   release   build/      -Werror RelWithDebInfo: unit tests, docs, and the   ~12 min
#                         tests that need the release binary (RELEASE_ONLY:
#                         image 2.7, compose 3.7, systemd_real 0.9,
#                         bench_smoke 2.3, churn_soak 1.8 min)
#   fuzz      build-fuzz  11 libFuzzer targets x 30 s (scripts/fuzz.sh)      ~6.5 min
#   asan      build-asan  EVERYTHING else, once: unit + integration against  7m39s
#                         the ASan+UBSan binary (build 5 s)
#   tsan      build-tsan  threaded unit tests + integration tests where      1m32s
#                         sweep, Docker, HTTP, pusher and signals run at once
#   valgrind  build-vg    5 integration tests with cstatd under memcheck,    0m51s
#                         leak check at the SIGTERM exit
#                                                                    total ~28.5 min
#
# - The integration suite runs ONCE, against the sanitized binary: a report
#   (ASan, LSan at exit, UBSan) fails the test that started that cstatd (the
#   harness searches every daemon's stderr; tests/sanitizers/env.sh makes the
#   first error abort). Running it again on the release binary would double
#   the longest part of CI (the private-dockerd tests) for little: the ASan
#   build is the same code with asserts on and every access checked.
# - RELEASE_ONLY, on build/: what measures or ships the release binary. The
#   benchmark smoke (figures mean nothing under ASan), the churn soak (checks
#   that VmRSS returns to baseline: ASan keeps 256 MiB of freed memory in
#   quarantine; the churn itself runs under ASan in cgroup_race and
#   docker_lifecycle), and the deployment tests that build or install it
#   (image, compose: their own release binary in docker; systemd_real: the
#   unit's seccomp filter stops LeakSanitizer, which needs ptrace). The unit
#   tests run there too (seconds) so -O2 code is exercised.
# - TSan and valgrind cost 5-50x CPU per operation, so they get a selection
#   chosen for coverage per second (TSAN_TESTS, VG_TESTS below), not the whole
#   suite. Both are builds of their own: TSan cannot be combined with ASan,
#   and valgrind needs an uninstrumented binary (-O1 -g).
# - ctest -j1 everywhere: tests that spin a CPU measure rates on a 2-core VM.
# - Budget: TSan and valgrind add ~2.5 min; running the integration suite
#   once instead of twice saves ~7.5. The total is over the ~22 min aimed at
#   because of the deployment tests (image + compose + systemd_real: 7.3 min,
#   serial, docker builds): they are the first candidates for a nightly job
#   (STEPS and -E make that a one-line change), then the fuzz time.
#
# STEPS="release asan" scripts/test.sh runs only those steps (default: all).
# Each step prints what it runs and how long it took; a summary comes last.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-"release fuzz asan tsan valgrind"}
JOBS=$(nproc)
ROOT=$PWD

# Integration tests that only the release build runs (see above).
RELEASE_ONLY='^integration\.(image|compose|systemd_real|churn_soak|bench_smoke)$'
# ThreadSanitizer: unit tests that start threads (fake Docker Engine, render
# + derive, snapshot refcounts) and integration tests where the sweep,
# Docker, HTTP and Alertmanager threads and the signal-handling main thread
# all run: SIGTERM/SIGINT (cli), the Docker collector on a real dockerd
# scraped (docker_v2), SIGTERM mid-sweep/mid-scrape and SIGHUP under 4
# scraping threads (signals), and alerts_real's sections with a real
# Alertmanager: pushes, a hung Alertmanager at exit, reloads by SIGHUP (main
# thread) and POST /-/reload (HTTP thread); basic auth's bcrypt worker thread
# beside the HTTP thread, over TLS (tls_auth).
TSAN_TESTS='^(unit_test_(docker_collector|render|snapshot)|integration\.(cli|docker_v2|signals|tls_auth))$'
TSAN_ALERTS_SECTIONS="fire_and_resolve alertmanager_hung reload_sighup reload_http"
# valgrind: fixture files (every parser, exact values), real cgroups with
# removal and freeze (cgroup_real), the Docker client (docker_v2), a real
# Prometheus scraping (prometheus_scrape: gzip and OpenMetrics), and TLS,
# client certificates and basic auth (tls_auth: GnuTLS, the web config).
VG_TESTS='^integration\.(fixture_tree|cgroup_real|docker_v2|prometheus_scrape|tls_auth)$'
# --fair-sched=yes: valgrind runs one thread at a time; without it a busy
# HTTP thread can starve the sweep thread for seconds.
VALGRIND="valgrind --fair-sched=yes --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30 \
--suppressions=$ROOT/tests/sanitizers/valgrind.supp"

summary=()
failed=0
t_start=$SECONDS
# step NAME CMD...: runs CMD, prints it and how long it took; a failure is
# recorded (the script goes on with the other steps and fails at the end).
step() {
	local name=$1 t0=$SECONDS rc=0 res
	shift
	printf '\n==> [%s] %s\n' "$name" "$*"
	"$@" || rc=$?
	local dt=$((SECONDS - t0))
	if ((rc == 0)); then res=ok; else res="FAILED (exit $rc)"; failed=1; fi
	printf '<== [%s] %s in %dm%02ds\n' "$name" "$res" $((dt / 60)) $((dt % 60))
	summary+=("$(printf '%-22s %-16s %3dm%02ds' "$name" "$res" $((dt / 60)) $((dt % 60)))")
}
want() { [[ " $STEPS " == *" $1 "* ]]; }
# ctest with the sanitizers' runtime options (halt on the first error, leak
# check at exit, suppressions from tests/sanitizers/).
san_ctest() { (. tests/sanitizers/env.sh && ctest "$@"); }
# A test script run directly (for its section arguments); 77 is a skip.
san_script() {
	local rc=0
	(. tests/sanitizers/env.sh && "$@") || rc=$?
	((rc == 77)) && echo "(skipped: exit 77)" && rc=0
	return "$rc"
}
configure() { cmake -S . -B "$@" -DCSTATD_WERROR=ON -DCSTATD_TESTS=ON >/dev/null; }

step deps scripts/deps.sh --test

if want release; then
	step "release: configure" configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
	step "release: build" cmake --build build -j"$JOBS"
	step "release: tests" ctest --test-dir build -j1 --output-on-failure --timeout 900 \
		-R "^(unit_.*|docs_.*)\$|$RELEASE_ONLY"
fi

if want fuzz; then
	# Two targets at once (2 cores): 30 s each, half the wall time.
	step fuzz env FUZZ_JOBS=2 scripts/fuzz.sh 30 # every libFuzzer target for 30 s (build-fuzz, clang; docs/reliability.md)
fi

if want asan; then
	step "asan: configure" configure build-asan -DCMAKE_BUILD_TYPE=Debug \
		-DCSTATD_SANITIZE=address,undefined
	step "asan: build" cmake --build build-asan -j"$JOBS"
	step "asan: unit+integration" san_ctest --test-dir build-asan -j1 --output-on-failure \
		--timeout 900 -E "$RELEASE_ONLY" "$@"
fi

if want tsan; then
	step "tsan: configure" configure build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCSTATD_SANITIZE=thread
	step "tsan: build" cmake --build build-tsan -j"$JOBS" --target cstatd \
		test_docker_collector test_render test_snapshot
	step "tsan: threaded tests" san_ctest --test-dir build-tsan -j1 --output-on-failure \
		--timeout 900 -R "$TSAN_TESTS"
	# shellcheck disable=SC2086 # the section names are words
	step "tsan: alerts_real sections" san_script env CSTATD_BIN="$ROOT/build-tsan/cstatd" \
		PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 timeout 300 \
		python3 tests/integration/test_alerts_real.py $TSAN_ALERTS_SECTIONS
fi

if want valgrind; then
	# Uninstrumented, -O1 -g; only the daemon is built. Timeouts x4.
	step "valgrind: configure" configure build-vg -DCMAKE_BUILD_TYPE=Debug \
		"-DCMAKE_C_FLAGS_DEBUG=-O1 -g" -DCSTATD_TEST_TIMEOUT_SCALE=4
	step "valgrind: build" cmake --build build-vg -j"$JOBS" --target cstatd
	step "valgrind: memcheck tests" env CSTATD_WRAPPER="$VALGRIND" CSTATD_TIME_SCALE=4 \
		ctest --test-dir build-vg -j1 --output-on-failure -R "$VG_TESTS"
fi

printf '\n==> summary (%s)\n' "$STEPS"
printf '  %s\n' "${summary[@]}"
dt=$((SECONDS - t_start))
printf '  %-22s %-16s %3dm%02ds\n' total "$( ((failed)) && echo FAILED || echo ok)" \
	$((dt / 60)) $((dt % 60))
exit "$failed"
