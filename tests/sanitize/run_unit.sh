#!/bin/bash
# Run the unit tests built with ASan + UBSan (`make test-sanitize` builds
# bin/sanitize/test_unit and calls this). Prints CUnit's report and the same
# `unit-summary tests=N failed_tests=N failed_asserts=N` line as
# bin/test_unit; exits non-zero when a test fails, a sanitizer reports an
# error (the run stops there: no unit-summary line) or LeakSanitizer finds a
# leak at exit (the summary is printed, then "sanitize: ...").
set -u
cd "$(dirname "$0")/../.."
bin=${1:-bin/sanitize/test_unit}
# halt_on_error/abort: the first report ends the run with a non-zero exit.
# detect_leaks: LeakSanitizer at exit. No suppressions are needed: the unit
# tests never call MPI_Init, so Open MPI allocates nothing.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
"$bin"
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "sanitize: bin/sanitize/test_unit exited $rc (failed asserts, or a sanitizer report above)"
fi
exit "$rc"
