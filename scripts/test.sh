#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fresh Debian 12 host → the whole test suite: installs what is missing,
# builds with -Werror, runs every unit and integration test with ctest
# (real cgroups, a private dockerd, Prometheus; root is needed for those).
# Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCSTATD_WERROR=ON -DCSTATD_TESTS=ON
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure --timeout 900 "$@"
# The unit tests once more under AddressSanitizer + UndefinedBehaviorSanitizer
# (every parser, the renderer, the store, the Docker state machines).
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCSTATD_WERROR=ON -DCSTATD_TESTS=ON \
	-DCSTATD_SANITIZE=address,undefined
cmake --build build-asan -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ctest --test-dir build-asan -L unit --output-on-failure --timeout 300
