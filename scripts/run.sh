#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fresh Debian 12 host → cstatd running with defaults on :9338.
# Installs what is missing, builds into build/, and runs cstatd in the
# foreground (Ctrl-C stops it). Extra arguments are passed to cstatd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCSTATD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
echo "cstatd: serving http://localhost:9338/metrics (Ctrl-C to stop)" >&2
exec build/cstatd "$@"
