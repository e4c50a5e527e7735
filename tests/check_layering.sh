#!/bin/bash
# The architecture's rules, checked on the source (README "Architecture"):
#   - nothing outside src/models/ knows how a model is built: no
#     weight_offset, dims[, n_layers or ->eig there, and no BL_MODEL_ kind
#     tests (the config and the benchmark name kinds; the rest asks the ops);
#   - only src/par.c calls MPI; the math (models, optim, data, metrics,
#     reference, linalg, loss, stats, rng) includes neither MPI nor NetCDF;
#   - no circle between the task's files: task.c knows neither the loop nor
#     the measurements, measure.c does not know the loop;
#   - every enum-indexed registry asserts its length against a _COUNT.
# Prints PASS/FAIL lines; exits 1 when a rule is broken.
set -u
cd "$(dirname "$0")/.."
failed=0
check() { # NAME COMMAND...: the command prints offending lines; none = pass
  local name=$1; shift
  local out
  out=$("$@" 2>&1)
  if [ -z "$out" ]; then echo "PASS $name"; else echo "FAIL $name"; echo "$out" | sed 's/^/    | /' | head -20; failed=1; fi
}
# (a config key alias "n_layers" in config.c's suggestion table is text, not code)
model_internals() {
  grep -rnE 'weight_offset|->dims\[|\.dims\[|n_layers|->eig\b|\.eig\b' src include --include=*.c --include=*.h |
    grep -v '^src/models/' | grep -v '"n_layers"'
}
check "no model internals (weight_offset, dims[, n_layers, ->eig) outside src/models/" model_internals
# A family's facts reach the rest through struct bl_model_ops; only the
# registry, the config (which names the kinds) and the benchmark (which builds
# its own configs) may name a kind.
model_kind_tests() {
  grep -rnE 'BL_MODEL_[A-Z_]+' src --include=*.c |
    grep -vE '^src/(models/|config\.c|bench\.c)' | grep -v 'BL_MODEL_COUNT'
}
check "no model.kind tests outside src/models/, config.c and bench.c" model_kind_tests
check "only src/par.c calls MPI" \
  bash -c "grep -rnE '\\bMPI_[A-Z][a-z_]*\\(' src --include=*.c | grep -v '^src/par.c'"
math_dirs="src/models src/optim src/data src/metrics src/reference src/loss.c src/stats.c src/rng.c"
check "the math includes neither MPI nor NetCDF nor the run" \
  bash -c "grep -rnE '#include [<\"](mpi\\.h|bl_par\\.h|bl_ncio\\.h|bl_run\\.h)' $math_dirs"
check "the data loaders read NetCDF only in src/data/datafile.c" \
  bash -c "grep -rln 'netcdf.h' src/models src/optim src/metrics src/reference src/data | grep -v 'src/data/datafile.c'"
check "task.c includes neither the loop nor the measurements" \
  bash -c "grep -nE '#include \"bl_(train|measure)\\.h\"' src/task/task.c"
check "measure.c does not include the loop" \
  bash -c "grep -nE '#include \"bl_train\\.h\"' src/task/measure.c"
# every static_assert on a registry names a _COUNT
registries() {
  for f in src/models/model.c src/optim/optim.c src/metrics/metrics.c; do
    grep -q 'static_assert(.*_COUNT' "$f" || echo "$f: registry without a length assertion against a _COUNT"
  done
}
check "registries assert their length against a _COUNT" registries
exit $failed
