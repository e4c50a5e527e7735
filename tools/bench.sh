#!/bin/bash
# make bench: everything issue 15 asks the benchmark for, in one run.
#   1. bin/biaslab bench: each workload's steps/s, GFLOP/s, its ratio to this
#      machine's dgemm and to its own GEMMs timed alone, both OpenBLAS cores
#      side by side, the HVP cost;
#   2. tools/bench_torch.py: PyTorch on the same workloads and biaslab /
#      PyTorch ratios of this run (skipped, with a line saying how to enable
#      it, when /usr/bin/python3 cannot import torch);
#   3. tools/bench_runs.py: real mpirun runs: the many-task ingest rate and
#      the share of the wall time after the last task, ensemble scaling 1 -> 2
#      ranks, data-parallel efficiency at group_size 2.
# Usage: bash tools/bench.sh [--quick]   (--quick: smaller everything, a smoke
# test; the figures come from the full run, a few minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
if [ "${1:-}" = --quick ]; then quick=(--quick); fi
started=$(date +%s)
dir=$(mktemp -d "${TMPDIR:-/tmp}/biaslab-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
bin/biaslab bench "${quick[@]}" | tee "$dir/biaslab.txt"
echo
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 -u tools/bench_torch.py --biaslab bin/biaslab "${quick[@]}"
else
  echo "PyTorch comparison skipped: /usr/bin/python3 cannot import torch (optional; to enable it: apt-get install python3-torch)"
fi
echo
/usr/bin/python3 -u tools/bench_runs.py --biaslab bin/biaslab "${quick[@]}"
echo
echo "make bench: $(( $(date +%s) - started )) s in all"
