#!/bin/bash
# Bounded fuzzing run (called by `make fuzz`):
#   tests/fuzz/run_fuzz.sh SECONDS [config|idx|netcdf ...]
#   tests/fuzz/run_fuzz.sh 0 [...]   replay seeds and corpus only (make fuzz-replay)
# Regenerates the seeds (bin/fuzz/seeds), then fuzzes each target for about
# SECONDS on its corpus (bin/fuzz/corpus/<target>, kept and grown between
# runs) plus the seeds. libFuzzer runs in fork mode and carries on after a
# crash, so one known third-party crash does not end the run; every input
# that crashed, leaked, hung (-timeout) or ran out of memory is saved in
# bin/fuzz/crashes/<target>/ and replayed afterwards to tell whose it is:
#   - biaslab: the first frame below the sanitizer/libFuzzer/libc frames is
#     ours (src/, tests/fuzz/), or a loader called exit() (bl_fatal), or a
#     property the target checks failed. These make the script exit 1.
#   - third-party: that frame is inside libnetcdf, libhdf5, zlib or libinih.
#     Listed with their frame, but only fail the run with FUZZ_STRICT=1.
# Prints per target: inputs tried, execs/s, coverage, and the findings.
# Reproduce one: bin/fuzz/fuzz_<target> bin/fuzz/crashes/<target>/<file>
set -u
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
targets=${*:-config idx netcdf}
strict=${FUZZ_STRICT:-0}

bash tests/fuzz/make_corpus.sh bin/fuzz/seeds || exit 1

# Allocations above 1 GB fail (return NULL) instead of aborting: libnetcdf
# sizes some buffers from header fields and copes with NULL (NC_ENOMEM);
# biaslab's bl_malloc turns NULL into exit(), which is reported as ours.
# Leaks count; third-party ones are suppressed in tests/fuzz/lsan.supp.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=1024}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0}
common=(-timeout=20 -rss_limit_mb=2048 -max_len=65536)

# classify BIN INPUT: replay INPUT; print "biaslab|third-party|no-repro: why".
classify() {
  local out
  out=$(timeout 300 "$1" -runs=1 "${common[@]}" "$2" 2>&1)
  if grep -q 'fuzz target exited' <<<"$out"; then
    echo "biaslab: exit() called for this input (bl_fatal?)"
    return
  fi
  local prop
  prop=$(grep -m1 -E '^fuzz_[a-z]+: ' <<<"$out")
  if [ -n "$prop" ]; then
    echo "biaslab: $prop"
    return
  fi
  local what frame
  what=$(grep -m1 -oE '(ERROR: [A-Za-z]+: [A-Za-z -]+|runtime error: .*|libFuzzer: (timeout|out-of-memory)[^)]*\)?)' <<<"$out")
  what=${what%% on *}
  if [ -z "$what" ]; then
    echo "no-repro: did not fail when replayed alone"
    return
  fi
  # First frame that is not the sanitizer runtime, libFuzzer or libc.
  frame=$(grep -E '^ +#[0-9]+ 0x' <<<"$out" |
    grep -vE ' in (__sanitizer|__asan|__ubsan|__lsan|__interceptor|__libc|__pthread|fuzzer::)[^ ]* | in (malloc|calloc|realloc|free|strdup|raise|abort|_start|main) |libc\.so|libstdc\+\+|^ +#[0-9]+ 0x[0-9a-f]+ +\(<unknown module>\)' |
    head -1 | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ //; s/ \(BuildId: [0-9a-f]+\)//')
  if grep -qE 'lib(netcdf|hdf5[a-z_]*|z|inih|sz|aec|curl)\.so' <<<"$frame"; then
    echo "third-party: $what at $frame"
  else
    echo "biaslab: $what at ${frame:-?}"
  fi
}

# SECONDS = 0: no fuzzing, only replay the seeds (regression inputs among
# them) and the saved corpus once; fails on the first crash (make fuzz-replay).
if [ "$secs" = 0 ]; then
  status=0
  for t in $targets; do
    mkdir -p "bin/fuzz/corpus/$t"
    log=bin/fuzz/$t.replay.log
    "bin/fuzz/fuzz_$t" -runs=0 "${common[@]}" -artifact_prefix="bin/fuzz/$t.replay-" \
      "bin/fuzz/corpus/$t" "bin/fuzz/seeds/$t" >"$log" 2>&1
    rc=$?
    n=$(sed -nE 's/^Done ([0-9]+) runs.*/\1/p' "$log")
    if [ "$rc" -eq 0 ]; then
      echo "fuzz-replay $t: ${n:-?} inputs, no crash"
    else
      status=1
      echo "fuzz-replay $t: FAILED (exit $rc); see $log"
      grep -E -m1 -A12 '^==[0-9]+== ?ERROR|runtime error|^fuzz_[a-z]+: ' "$log" | sed 's/^/    | /'
    fi
  done
  exit $status
fi

status=0
for t in $targets; do
  bin=bin/fuzz/fuzz_$t
  corpus=bin/fuzz/corpus/$t
  crashes=bin/fuzz/crashes/$t
  log=bin/fuzz/$t.log
  mkdir -p "$corpus" "$crashes"
  before=$(ls "$crashes")
  extra=()
  [ "$t" = config ] && extra+=(-dict=bin/fuzz/seeds/config.dict)
  start=$(date +%s)
  "$bin" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -max_total_time="$secs" \
    "${common[@]}" -artifact_prefix="$crashes/" "${extra[@]}" "$corpus" "bin/fuzz/seeds/$t" \
    >"$log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  new=$(comm -13 <(echo "$before") <(ls "$crashes"))
  last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
  execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' <<<"$last")
  rate=$([ -n "$execs" ] && [ "$took" -gt 0 ] && echo $((execs / took)) || echo "?")
  echo "fuzz $t: ${took} s, ${execs:-?} inputs, $rate execs/s, $cov ($(ls "$corpus" | wc -l) corpus files)"
  # In fork mode libFuzzer exits 1 after ignored crashes; those are judged
  # below. Without any new input saved, a failure is the run's own.
  if [ "$rc" -ne 0 ] && [ -z "$new" ]; then
    echo "fuzz $t: libFuzzer exited $rc; see $log"
    status=1
  fi
  n_ours=0 n_third=0 n_norepro=0
  for f in $new; do
    case $f in slow-unit-*) continue ;; esac
    verdict=$(classify "$bin" "$crashes/$f")
    case $verdict in
      biaslab:*) n_ours=$((n_ours + 1)); status=1 ;;
      third-party:*) n_third=$((n_third + 1)); [ "$strict" = 1 ] && status=1 ;;
      *) n_norepro=$((n_norepro + 1)) ;;
    esac
    echo "    $verdict"
    echo "      input: $crashes/$f"
  done
  echo "fuzz $t: findings: $n_ours biaslab, $n_third third-party, $n_norepro not reproducible"
done
exit $status
