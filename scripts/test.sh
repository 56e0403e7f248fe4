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
ctest --test-dir build --output-on-failure --timeout 600 "$@"
