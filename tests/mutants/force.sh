#!/bin/bash
# tests/mutants/force.sh: --force overwrites, on a short run (the cli
# section's "existing output is not overwritten" and "--force overwrites",
# without the rest of that section): a run writes an output; the same command
# again must exit 2 and leave the file as it was; with --force and other
# settings it must exit 0 and leave a different, complete output
# (tests/check_output.py). This tree's bin/biaslab (BL overrides). A cheap
# catch command for mutants of --force (src/run.c).
set -u -o pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
BL=${BL:-bin/biaslab}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
opts=(tests/configs/mpi_small.ini -o "$tmp/f.nc" --set optim.steps=20 --set measure.every=10
  --set experiment.seeds=2)
why=""
if ! "$BL" run "${opts[@]}" >"$tmp/first.log" 2>&1; then
  why="the first run failed"
else
  cp "$tmp/f.nc" "$tmp/kept.nc"
  "$BL" run "${opts[@]}" >"$tmp/again.log" 2>&1
  rc=$?
  if [ "$rc" -ne 2 ] || ! grep -q -- "--force" "$tmp/again.log"; then
    why="the same command on an existing output exited $rc (wanted 2, naming --force)"
  elif ! cmp -s "$tmp/f.nc" "$tmp/kept.nc"; then
    why="the refused run changed the existing output"
  elif ! "$BL" run "${opts[@]}" --force --set optim.steps=30 >"$tmp/force.log" 2>&1; then
    why="the run with --force failed"
  elif cmp -s "$tmp/f.nc" "$tmp/kept.nc"; then
    why="--force left the old output in place"
  elif ! $PY tests/check_output.py "$tmp/f.nc" >"$tmp/check.log" 2>&1; then
    why="the output written with --force fails tests/check_output.py"
  fi
fi
# the verdict first, then the logs (run.sh stops at a FAIL line)
if [ -z "$why" ]; then
  echo "PASS force: an existing output is refused without --force and replaced with it"
  exit 0
fi
echo "FAIL force: $why"
for f in first again force check; do
  [ -f "$tmp/$f.log" ] && { echo "  $f:"; tail -6 "$tmp/$f.log" | sed 's/^/    | /'; }
done
exit 1
