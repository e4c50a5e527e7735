#!/bin/bash
# tests/mutants/one_writer.sh: one writer per output, on a short run (the
# first check of tests/faults/run_faults.sh, "a second run on the same output
# exits 2 naming the first", without its reference run): while a run of
# tests/configs/resume.ini (shortened) is writing an output, a second run of
# the same command must exit 2 at once naming the first's pid, and the first
# must still finish with a complete output (tests/check_output.py). This
# tree's bin/biaslab (BL overrides). A cheap catch command for mutants of the
# output lock (src/run.c lock_output).
set -u -o pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
BL=${BL:-bin/biaslab}
PY=/usr/bin/python3
tmp=$(mktemp -d)
first=""
trap '[ -n "$first" ] && kill "$first" 2>/dev/null; rm -rf "$tmp"' EXIT
opts=(tests/configs/resume.ini -o "$tmp/c.nc" --set optim.steps=10000)
mpirun -np 2 "$BL" run "${opts[@]}" </dev/null >"$tmp/first.log" 2>&1 &
first=$!
# until the first run has finished a task (it holds the lock by then)
for _ in $(seq 1 400); do ls "$tmp"/c.nc.ckpt/done_*.bin >/dev/null 2>&1 && break; sleep 0.05; done
"$BL" run "${opts[@]}" </dev/null >"$tmp/second.log" 2>&1
rc2=$?
wait "$first"
rc1=$?
first=""
why=""
if [ "$rc2" -ne 2 ]; then
  why="the second run exited $rc2, not 2"
elif ! grep -q "another biaslab run is writing '$tmp/c.nc' (pid [0-9]* on" "$tmp/second.log"; then
  why="the second run's message does not name the first run"
elif [ "$rc1" -ne 0 ]; then
  why="the first run exited $rc1"
elif ! $PY tests/check_output.py "$tmp/c.nc" >"$tmp/check.log" 2>&1; then
  why="the first run's output fails tests/check_output.py"
fi
# the verdict first, then the logs (run.sh stops at a FAIL line)
if [ -z "$why" ]; then
  echo "PASS one_writer: a second run on the same output exits 2 naming the first; the first completes"
  exit 0
fi
echo "FAIL one_writer: $why"
for f in second first check; do
  [ -f "$tmp/$f.log" ] && { echo "  $f run:"; tail -6 "$tmp/$f.log" | sed 's/^/    | /'; }
done
exit 1
