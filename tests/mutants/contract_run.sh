#!/bin/bash
# tests/mutants/contract_run.sh CONFIG [biaslab run options]: a short run of
# this tree's bin/biaslab (BL overrides) on 2 ranks, then the output contract
# on its file (tests/check_output.py: the record steps against optim.steps and
# measure.every, every statistic recomputed from the trajectories, ...).
# A cheap catch command for mutants of the output and the statistics.
set -u -o pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
BL=${BL:-bin/biaslab}
[ $# -ge 1 ] || { echo "usage: $0 CONFIG [biaslab run options]" >&2; exit 2; }
config=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mpirun -np 2 "$BL" run "$config" -o "$tmp/out.nc" "$@" </dev/null || { echo "FAIL contract_run: the run failed"; exit 1; }
# the verdict first, then the checker's lines (run.sh stops at a FAIL line)
/usr/bin/python3 tests/check_output.py "$tmp/out.nc" >"$tmp/check.log" 2>&1 && { echo "PASS contract_run: tests/check_output.py"; cat "$tmp/check.log"; exit 0; }
echo "FAIL contract_run: tests/check_output.py on the output of: $BL run $config $*"
grep -v '^check_output: FAILED' "$tmp/check.log"
grep '^check_output: FAILED' "$tmp/check.log"
exit 1
