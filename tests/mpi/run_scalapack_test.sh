#!/bin/bash
# Build tests/mpi/test_scalapack.c into bin/ and run it on 1, 2 and 4 ranks
# for n = 300 (nb 32) and n = 1000 (nb 64) with both ScaLAPACK drivers, and
# the kernel predictor's Gram system through pdposv against LAPACK's dposv.
# With --timing, also time n = 2000 on 1 and 2 ranks (one OpenBLAS thread
# per rank). Exits non-zero if any run fails.
#   usage: tests/mpi/run_scalapack_test.sh [--timing]
set -u
cd "$(dirname "$0")/../.."
CC=${CC:-mpicc}
exe=bin/test_scalapack
mkdir -p bin
$CC -std=c11 -ffp-contract=off -O2 -g -Wall -Wextra -D_GNU_SOURCE -Iinclude \
  src/linalg/scalapack.c src/linalg/gemm.c src/blas.c src/log.c src/rng.c src/models/*.c \
  src/reference/kernel_predictor.c \
  tests/mpi/test_scalapack.c \
  -lscalapack-openmpi -lopenblas -lm -o "$exe" || { echo "FAIL build $exe"; exit 1; }

# Open MPI refuses root unless told it is deliberate (containers, CI), and
# more ranks than cores unless oversubscription is allowed.
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1
# One BLAS thread per rank: ranks, not threads, share the cores here.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

failed=0
run() {
  local np=$1; shift
  echo "== mpirun -np $np $exe $*"
  if ! mpirun -np "$np" "$exe" "$@"; then
    failed=$((failed + 1))
  fi
}

for np in 1 2 4; do
  run "$np" -n 300 -b 32 -s both
  run "$np" -n 1000 -b 64 -s both
done
if [ "${1:-}" = "--timing" ]; then
  for np in 1 2; do
    run "$np" -n 2000 -b 64 -s both -t
  done
fi

if [ "$failed" -eq 0 ]; then
  echo "PASS run_scalapack_test: all runs passed"
else
  echo "FAIL run_scalapack_test: $failed run(s) failed"
fi
[ "$failed" -eq 0 ]
