#!/bin/bash
# The mutation check (make mutants): deliberate bugs, each a patch
# tests/mutants/NN-name.patch against src/ (git diff paths, patch -p1), must
# each be caught by the commands its header names, one a line before the
# first "diff --git":
#   # catch: tests/run_all.sh unit
#   # catch: tests/golden/run.sh group_size_2
# For each patch (or the ones named) the tree is copied into a scratch
# directory (src include tests Makefile README.md jobs inputs postprocess
# tools, and bin/ with its timestamps, so that only the patched file
# recompiles), patched, built (make AUTO_DEPS=0 bin/biaslab bin/test_unit),
# and its catch commands run there, from that copy's root and with that
# copy's bin/biaslab, in order, until one fails; a command is stopped at its
# first "FAIL " line. A kill counts only if what failed passes on the
# unmutated tree: the test of that first FAIL line (or, when the command
# failed without one, the whole command) is run on a clean scratch copy too,
# once per command, until that test's PASS line.
#
#   tests/mutants/run.sh [--all] [--keep] [NAME...]
#     NAME     a mutant: 03, 03-drop-last-example, or a path to a .patch
#     --all    run every catch command of each mutant (not only up to the
#              first failure), and each of them whole on the unmutated copy:
#              any that fails there is named and makes the exit status 1
#     --keep   keep the scratch directory and its logs (path printed)
#
# Prints one line per mutant, the failing test's own lines indented below:
#   PASS mutant NN-name killed by COMMAND
#   FAIL mutant NN-name survived (COMMAND; COMMAND)
#   FAIL mutant NN-name does not apply/build
# and exits 1 when any mutant survived or did not apply or build (2 on a
# bad command line or when the unmutated tree does not build).
# BL_MUTANT_TIMEOUT (seconds, default 900) bounds each command; a command
# that runs longer is stopped and counts as failed. BL_MUTANT_JOBS (default
# 2) mutants are tried side by side (see below).
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2
all=0
keep=0
names=()
for a in "$@"; do
  case $a in
    --all) all=1 ;;
    --keep) keep=1 ;;
    -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option '$a'" >&2; exit 2 ;;
    *) names+=("$a") ;;
  esac
done
timeout_s=${BL_MUTANT_TIMEOUT:-900}

# the patches to try, in order
patches=()
if [ ${#names[@]} -eq 0 ]; then
  for p in "$here"/[0-9]*.patch; do [ -e "$p" ] && patches+=("$p"); done
  [ ${#patches[@]} -gt 0 ] || { echo "run.sh: no patches in $here" >&2; exit 2; }
else
  for n in "${names[@]}"; do
    if [ -f "$n" ]; then patches+=("$(cd "$(dirname "$n")" && pwd)/$(basename "$n")"); continue; fi
    n=${n%.patch}
    match=("$here/$n".patch)
    [ -f "${match[0]}" ] || match=("$here/$n"-*.patch)
    if [ ! -f "${match[0]}" ] || [ ${#match[@]} -ne 1 ]; then
      echo "run.sh: '$n' names no single mutant in $here" >&2; exit 2
    fi
    patches+=("${match[0]}")
  done
fi

started=$(date +%s)

# BL_MUTANT_JOBS (default 2, one per core here): the patches are dealt
# round-robin to that many copies of this script, each with its own scratch
# tree, run side by side; their lines are printed one copy after the other
# and their counts added up. (Every catch command runs in its own copy of
# the tree, so two of them never share a file.) --all and --keep run alone.
jobs=${BL_MUTANT_JOBS:-2}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: BL_MUTANT_JOBS must be a positive integer, not '$jobs'" >&2; exit 2; }
[ "$all" = 1 ] || [ "$keep" = 1 ] && jobs=1
[ "$jobs" -gt ${#patches[@]} ] && jobs=${#patches[@]}
if [ "$jobs" -gt 1 ]; then
  logs=$(mktemp -d "${TMPDIR:-/tmp}/biaslab-mutants-jobs.XXXXXX") || exit 2
  pids=()
  for ((j = 0; j < jobs; j++)); do
    share=()
    for ((i = j; i < ${#patches[@]}; i += jobs)); do share+=("${patches[$i]}"); done
    BL_MUTANT_JOBS=1 bash "$0" "${share[@]}" >"$logs/$j.log" 2>&1 &
    pids+=($!)
  done
  trap 'kill "${pids[@]}" 2>/dev/null; wait; rm -rf "$logs"; exit 130' INT TERM
  status=0
  for pid in "${pids[@]}"; do
    wait "$pid"
    rc=$?
    [ "$rc" -gt "$status" ] && status=$rc # 2 (cannot start) before 1 (a mutant lived)
  done
  k=0 s=0 b=0
  for ((j = 0; j < jobs; j++)); do
    grep -v '^mutants: [0-9]* killed' "$logs/$j.log"
    read -r k1 s1 b1 < <(sed -nE 's/^mutants: ([0-9]+) killed, ([0-9]+) survived, ([0-9]+) did not.*/\1 \2 \3/p' "$logs/$j.log")
    if [ -z "${k1:-}" ]; then
      echo "FAIL mutant job $((j + 1)) of $jobs ended without its summary:"; tail -n 5 "$logs/$j.log" | sed 's/^/    | /'
      [ "$status" -gt 0 ] || status=1
    fi
    k=$((k + ${k1:-0})) s=$((s + ${s1:-0})) b=$((b + ${b1:-0}))
    k1="" s1="" b1=""
  done
  rm -rf "$logs"
  echo "mutants: $k killed, $s survived, $b did not apply/build ($(($(date +%s) - started))s, $jobs jobs)"
  exit "$status"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/biaslab-mutants.XXXXXX") || exit 2
running=""
cleanup() {
  [ -n "$running" ] && stop_group "$running"
  if [ "$keep" = 1 ]; then echo "scratch directories and logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The catch commands see only the scratch copy's binary and build with the
# commit the copied objects were built with (the copy is no git checkout;
# another value would rebuild every object, e.g. in `make run`).
unset BL MAKELEVEL MFLAGS
commit=$(sed -n 's/^#define BL_GIT_COMMIT "\(.*\)"$/\1/p' bin/gen/bl_build_info.h 2>/dev/null)
[ -n "$commit" ] || commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
export MAKEFLAGS="GIT_COMMIT=$commit"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

build() { # DIR LOG
  (cd "$1" && make -s --no-print-directory AUTO_DEPS=0 bin/biaslab bin/test_unit) >"$2" 2>&1
}

copy_tree() { # FROM TO
  mkdir -p "$2" &&
    for d in src include tests Makefile README.md jobs inputs postprocess tools bin; do
      [ -e "$1/$d" ] || continue
      cp -a "$1/$d" "$2/" || return 1
    done
}

# stop_group PID: the command was started as its own process group (setsid)
stop_group() {
  local pid=$1
  [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ] || { kill "$pid" 2>/dev/null; return; }
  kill -TERM -- "-$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 -- "-$pid" 2>/dev/null || return; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null
}

fail_re='^([A-Za-z0-9_-]+: )?FAIL '
pass_re='^([A-Za-z0-9_-]+: )?PASS '
# The test a PASS or FAIL line is about: the text after PASS/FAIL up to ": ",
# without run_all.sh's remark on how it failed.
test_name() {
  sed -E 's/^([A-Za-z0-9_-]+: )?(PASS|FAIL) //; s/: .*//
    s/ \((exit [0-9]+[^)]*|message lacks .*|left files: .*)\)$//' <<<"$1"
}
# same_test A B: the same test, one name perhaps followed by a remark, as in
# "FAIL --force overwrites (exit 2)" and "PASS --force overwrites".
same_test() {
  [ "$1" = "$2" ] && return 0
  case $1 in "$2 "*) return 0 ;; esac
  case $2 in "$1 "*) return 0 ;; esac
  return 1
}
# verdict LOG NAME: pass or fail, from the first line of LOG about test NAME
# (nothing when there is none).
verdict() {
  local line
  while IFS= read -r line; do
    if same_test "$(test_name "$line")" "$2"; then
      [[ $line =~ $pass_re ]] && echo pass || echo fail
      return
    fi
  done < <(grep -E "$pass_re|$fail_re" "$1")
}
first_failed() { # LOG: the name of the first test LOG says FAILed
  local line
  line=$(grep -m1 -E "$fail_re" "$1") && test_name "$line"
}

# run_cmd DIR COMMAND LOG MODE [NAME]: run COMMAND in DIR (its own process
# group) into LOG. MODE first: stopped at the first FAIL line; returns 0 when
# it passed (exit 0, no FAIL line), 1 when not, 2 when it timed out.
# MODE full: never stopped early. MODE until: stopped as soon as LOG has a
# PASS or FAIL line about test NAME; returns 0 (PASS), 1 (FAIL), 3 (it ended
# without such a line).
run_cmd() {
  local dir=$1 cmd=$2 log=$3 mode=$4 want=${5:-} first word="" pid t0 rc v
  read -r first _ <<<"$cmd"
  # a script without its x bit runs through bash
  case $first in *.sh) [ -f "$dir/$first" ] && [ ! -x "$dir/$first" ] && word="bash " ;; esac
  : >"$log" # before the command starts: the loop below reads it at once
  (cd "$dir" && exec setsid bash -c "$word$cmd") </dev/null >>"$log" 2>&1 &
  pid=$!
  running=$pid
  t0=$(date +%s)
  while kill -0 "$pid" 2>/dev/null; do
    v=""
    if [ "$mode" = first ] && grep -qE "$fail_re" "$log"; then v=1; fi
    if [ "$mode" = until ]; then
      case $(verdict "$log" "$want") in pass) v=0 ;; fail) v=1 ;; esac
    fi
    if [ -n "$v" ]; then
      [ "$v" = 1 ] && sleep 0.5 # the lines after a FAIL line say why
      stop_group "$pid"; wait "$pid" 2>/dev/null; running=""
      echo "[run.sh: stopped there]" >>"$log"
      return "$v"
    fi
    if [ $(($(date +%s) - t0)) -ge "$timeout_s" ]; then
      stop_group "$pid"; wait "$pid" 2>/dev/null; running=""
      echo "[run.sh: stopped after ${timeout_s}s]" >>"$log"
      return 2
    fi
    sleep 0.2
  done
  wait "$pid"
  rc=$?
  running=""
  echo "[run.sh: exit status $rc]" >>"$log"
  if [ "$mode" = until ]; then
    case $(verdict "$log" "$want") in pass) return 0 ;; fail) return 1 ;; *) return 3 ;; esac
  fi
  [ "$rc" -eq 0 ] && ! grep -qE "$fail_re" "$log"
}

# why LOG [NAME]: the failing test's own lines (NAME's, or the first FAIL's), indented
why() {
  local lines="" at
  if [ -n "${2:-}" ]; then
    at=$(grep -nE "$fail_re" "$1" | while IFS=: read -r n line; do
      same_test "$(test_name "$line")" "$2" && { echo "$n"; break; }; done)
    [ -n "$at" ] && lines=$(sed -n "${at},$((at + 3))p" "$1")
  else
    lines=$(grep -A3 -m1 -E "$fail_re" "$1" | head -n 4)
  fi
  lines=$lines$'\n'$(grep -E 'FAILED|^ +([|] +)?[0-9]+\. ' "$1" | head -n 4)
  lines=$(echo "$lines" | sed '/^$/d' | awk '!seen[$0]++')
  [ -n "$lines" ] || lines=$(tail -n 5 "$1")
  echo "$lines" | cut -c1-200 | sed 's/^/    | /'
}

# The unmutated tree, built once; every mutant and the clean runs start from it.
base=$work/base
copy_tree "$root" "$base" || { echo "run.sh: cannot copy the tree into $base" >&2; exit 2; }
if ! build "$base" "$work/base-build.log"; then
  echo "run.sh: the unmutated tree does not build:" >&2; tail -20 "$work/base-build.log" >&2; exit 2
fi
clean=$work/clean
copy_tree "$base" "$clean"

# The catch commands on the unmutated copy, each run at most once or twice:
# clean_log[cmd] its log, clean_full[cmd] its verdict when it ran to the end
# (pass | fail; empty while only run until some test).
declare -A clean_log clean_full
n_clean=0
clean_run() { # COMMAND MODE [NAME]
  n_clean=$((n_clean + 1))
  clean_log[$1]=$work/clean.$n_clean.log
  run_cmd "$clean" "$1" "${clean_log[$1]}" "${@:2}"
  local rc=$?
  case $2 in
    full) [ "$rc" -eq 0 ] && clean_full[$1]=pass || clean_full[$1]=fail ;;
    until) [ "$rc" -eq 3 ] && clean_full[$1]=ended || clean_full[$1]="" ;;
  esac
}
# clean_passes COMMAND [NAME]: on the unmutated copy test NAME of COMMAND
# passes, or without NAME the whole command passes. Sets clean_why otherwise.
clean_passes() {
  local cmd=$1 want=${2:-} v
  clean_why=""
  if [ -z "$want" ]; then
    case ${clean_full[$cmd]:-} in pass | fail) ;; *) clean_run "$cmd" full ;; esac
    [ "${clean_full[$cmd]}" = pass ] && return 0
    clean_why=$(why "${clean_log[$cmd]}")
    return 1
  fi
  v=""
  [ -n "${clean_log[$cmd]:-}" ] && v=$(verdict "${clean_log[$cmd]}" "$want")
  if [ -z "$v" ] && [ -z "${clean_full[$cmd]:-}" ]; then
    if [ "$all" = 1 ]; then clean_run "$cmd" full; else clean_run "$cmd" until "$want"; fi
    v=$(verdict "${clean_log[$cmd]}" "$want")
  fi
  [ "$v" = pass ] && return 0
  if [ "$v" = fail ]; then clean_why=$(why "${clean_log[$cmd]}" "$want")
  else clean_why="    | the unmutated run has no test '$want'"; fi
  return 1
}

survived=0
broken=0
killed=0
for patch in "${patches[@]}"; do
  name=$(basename "$patch" .patch)
  dir=$work/$name
  mapfile -t cmds < <(sed -n '/^diff --git /q; s/^# catch:[[:space:]]*//p' "$patch" | sed 's/[[:space:]]*$//; /^$/d')
  if [ ${#cmds[@]} -eq 0 ]; then
    echo "FAIL mutant $name does not apply/build (no '# catch:' line before its diff)"; broken=$((broken + 1)); continue
  fi
  targets=$(sed -n 's/^+++ b\/\([^[:space:]]*\).*/\1/p' "$patch")
  outside=$(echo "$targets" | grep -vE '^(src|include)/')
  if [ -z "$targets" ] || [ -n "$outside" ]; then
    echo "FAIL mutant $name does not apply/build (the patch must change files under src/ or include/ only: ${outside:-none changed})"
    broken=$((broken + 1)); continue
  fi
  copy_tree "$base" "$dir"
  if ! patch -d "$dir" -p1 --batch --forward --fuzz=0 --no-backup-if-mismatch <"$patch" >"$dir.patch.log" 2>&1; then
    echo "FAIL mutant $name does not apply/build (patch -p1 failed)"; why "$dir.patch.log"
    broken=$((broken + 1)); rm -rf "$dir"; continue
  fi
  unchanged=""
  for f in $targets; do cmp -s "$base/$f" "$dir/$f" && unchanged="$unchanged $f"; done
  if [ -n "$unchanged" ]; then
    echo "FAIL mutant $name does not apply/build (the patch left$unchanged unchanged)"
    broken=$((broken + 1)); rm -rf "$dir"; continue
  fi
  if ! build "$dir" "$dir.build.log"; then
    echo "FAIL mutant $name does not apply/build (the build failed)"; tail -n 5 "$dir.build.log" | sed 's/^/    | /'
    broken=$((broken + 1)); rm -rf "$dir"; continue
  fi
  killers=()
  passed_cmds=()
  notes=()
  reasons=""
  k=0
  for cmd in "${cmds[@]}"; do
    k=$((k + 1))
    log=$dir.catch$k.log
    t0=$(date +%s)
    run_cmd "$dir" "$cmd" "$log" first
    rc=$?
    secs=$(($(date +%s) - t0))
    if [ "$rc" -eq 0 ]; then
      passed_cmds+=("$cmd")
      continue
    fi
    # the kill counts if the test that failed passes on the unmutated copy
    test=""
    [ "$rc" -eq 1 ] && test=$(first_failed "$log")
    if ! clean_passes "$cmd" "$test"; then
      notes+=("'$cmd'${test:+ (test '$test')} fails on the unmutated tree too, so it proves nothing:")
      notes+=("$clean_why")
      continue
    fi
    killers+=("$cmd")
    [ "$rc" -eq 2 ] && killers[-1]="$cmd (timed out after ${timeout_s}s)"
    if [ -n "$test" ]; then reasons=$reasons"    [$cmd: '$test' failed (${secs}s); it passes unmutated]"
    else reasons=$reasons"    [$cmd: failed (${secs}s); the whole command passes unmutated]"; fi
    reasons=$reasons$'\n'$(why "$log")$'\n'
    [ "$all" = 1 ] || break
  done
  if [ ${#killers[@]} -gt 0 ]; then
    killed=$((killed + 1))
    echo "PASS mutant $name killed by $(printf '%s; ' "${killers[@]}" | sed 's/; $//')"
    printf '%s' "$reasons"
    [ "$all" = 1 ] && [ ${#passed_cmds[@]} -gt 0 ] &&
      echo "    (not caught by: $(printf '%s; ' "${passed_cmds[@]}" | sed 's/; $//'))"
  else
    survived=$((survived + 1))
    echo "FAIL mutant $name survived ($(printf '%s; ' "${cmds[@]}" | sed 's/; $//'))"
  fi
  for n in "${notes[@]}"; do [ -n "$n" ] && echo "$n" | sed 's/^\([^ ]\)/    note: \1/'; done
  [ "$keep" = 1 ] || rm -rf "$dir"
done
# --all: every catch command must also pass, whole, on the unmutated copy
dirty=0
if [ "$all" = 1 ]; then
  mapfile -t every < <(for patch in "${patches[@]}"; do
    sed -n '/^diff --git /q; s/^# catch:[[:space:]]*//p' "$patch" | sed 's/[[:space:]]*$//; /^$/d'; done | awk '!seen[$0]++')
  for cmd in "${every[@]}"; do
    if clean_passes "$cmd"; then echo "unmutated: passes: $cmd"; else
      dirty=$((dirty + 1)); echo "unmutated: FAILS: $cmd"; echo "$clean_why"; fi
  done
fi
echo "mutants: $killed killed, $survived survived, $broken did not apply/build" \
  "($(($(date +%s) - started))s)"
[ "$all" = 1 ] && echo "catch commands failing on the unmutated tree: $dirty"
[ "$survived" -eq 0 ] && [ "$broken" -eq 0 ] && [ "$dirty" -eq 0 ]
