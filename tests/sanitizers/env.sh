# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Runtime options of the sanitizers for cstatd's tests, as CI uses them
# (scripts/test.sh sources this file). Source it before ctest on a
# sanitized build directory:
#
#   . tests/sanitizers/env.sh && ctest --test-dir build-asan --output-on-failure
#
# Reports go to stderr: ctest shows a unit test's, and the integration harness
# (tests/integration/lib/cstatd_test.py) searches every cstatd's stderr once it
# has exited and fails the test on any report.
_cstatd_supp="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"

# ASan: stop at the first error with SIGABRT (abort_on_error), leak check at
# exit (detect_leaks; exit 23 and a report when anything is left).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=0:print_summary=1"
export LSAN_OPTIONS="suppressions=${_cstatd_supp}/lsan.supp:print_suppressions=0"
# UBSan: any runtime error stops the process (a test failure), with a stack.
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:suppressions=${_cstatd_supp}/ubsan.supp"
# TSan: report every race (not only the first), exit 66 when any was found.
export TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1:history_size=4:suppressions=${_cstatd_supp}/tsan.supp:print_suppressions=0"
unset _cstatd_supp
