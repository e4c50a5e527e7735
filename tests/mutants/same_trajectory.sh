#!/bin/bash
# tests/mutants/same_trajectory.sh: what is measured and how often never
# changes the trajectory, on a short run (the check of tests/run_all.sh
# science, "what is measured and how often never changes the trajectory",
# with 300 steps instead of 2000): sgd with the loss-based rate on mini-batches
# of 5 per epoch, recorded every 300 steps, every step, and every 7 steps
# (records off the epoch boundaries) with the Hessian, KKT and SVM
# measurements; the final parameters, status and steps_done must agree
# bitwise (tests/compare_params.py). This tree's bin/biaslab (BL overrides),
# 2 ranks. A cheap catch command for mutants of the training loop and of
# the measurements.
set -u -o pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
BL=${BL:-bin/biaslab}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--set optim.kind=sgd --set optim.batch_size=20 --set optim.schedule=loss_based
  --set loss.reduction=sum --set optim.lr=0.1 --set optim.steps=300 --set experiment.seeds=2
  --set measure.save_params=final)
run() { # NAME [options]
  local name=$1
  shift
  mpirun -np 2 "$BL" run inputs/quickstart.ini -o "$tmp/$name.nc" "${common[@]}" "$@" \
    </dev/null >"$tmp/$name.log" 2>&1 && return 0
  echo "FAIL same_trajectory: the run '$name' failed"
  tail -5 "$tmp/$name.log" | sed 's/^/    | /'
  exit 1
}
run every300 --set measure.every=300
run every1 --set measure.every=1
run every7m --set measure.every=7 --set measure.sharpness=lanczos --set measure.trace_probes=2 \
  --set measure.kkt=true --set measure.reference=svm
# one verdict, first, then the comparisons' lines (run.sh stops at a FAIL line)
bad=""
for other in every1 every7m; do
  $PY tests/compare_params.py "$tmp/every300.nc" "$tmp/$other.nc" >"$tmp/$other.cmp" 2>&1 || bad="$bad $other"
done
if [ -z "$bad" ]; then
  echo "PASS same_trajectory: measure.every = 300, 1 and 7 (with Hessian, KKT and SVM) trained the same"
  cat "$tmp"/every1.cmp "$tmp"/every7m.cmp
  exit 0
fi
echo "FAIL same_trajectory: measure.every = 300 and the run(s)$bad trained differently"
cat "$tmp"/every1.cmp "$tmp"/every7m.cmp
exit 1
