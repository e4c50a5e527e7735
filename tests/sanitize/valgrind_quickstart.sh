#!/bin/bash
# The quickstart, shortened (300 steps, 2 seeds), under valgrind's memcheck as
# a single MPI process (singleton: no mpirun):
#   tests/sanitize/valgrind_quickstart.sh [BIASLAB]      (make valgrind-quickstart)
# Fails (exit 1) on any memory error or definite/possible leak that is not
# third-party noise (Open MPI's shipped suppressions plus
# tests/sanitize/valgrind.supp, which names only Open MPI frames), or when the
# run itself fails. The full valgrind log is kept in bin/sanitize/.
set -u
cd "$(dirname "$0")/../.."
bl=${1:-bin/biaslab}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# hwloc's x86 CPUID backend cannot run under valgrind (it says so and turns
# itself off); leave it out so that the log starts clean.
export HWLOC_COMPONENTS=-x86

ompi_supp=$(dpkg -L openmpi-common 2>/dev/null | grep -m1 'openmpi-valgrind\.supp$')
ompi_supp=${ompi_supp:-/usr/share/openmpi/openmpi-valgrind.supp}
for f in "$ompi_supp" tests/sanitize/valgrind.supp; do
  [ -f "$f" ] || { echo "valgrind-quickstart: missing suppression file $f"; exit 1; }
done
command -v valgrind >/dev/null || { echo "valgrind-quickstart: valgrind is not installed"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p bin/sanitize
log=bin/sanitize/valgrind_quickstart.log
start=$(date +%s)
valgrind --error-exitcode=1 --leak-check=full --num-callers=40 --track-origins=yes \
  --suppressions="$ompi_supp" --suppressions=tests/sanitize/valgrind.supp --log-file="$log" \
  "$bl" run inputs/quickstart.ini -o "$tmp/quick.nc" --set optim.steps=300 \
  --set experiment.seeds=2
rc=$?
took=$(($(date +%s) - start))
grep -E 'ERROR SUMMARY|definitely lost:|indirectly lost:|possibly lost:' "$log" | sed 's/^==[0-9]*== */    /'
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/quick.nc" ]; then
  echo "valgrind-quickstart: the run wrote no output"
  rc=1
fi
if [ "$rc" -ne 0 ]; then
  # Each unsuppressed error or leak record, shortened.
  awk '/^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|.*definitely lost in|.*possibly lost in|Source and dest)/{p=1}
       p{print} /^==[0-9]+== $/{p=0}' "$log" | head -80 | sed 's/^==[0-9]*==/    |/'
  echo "valgrind-quickstart: FAIL (exit $rc, ${took} s); full log: $log"
  exit 1
fi
echo "valgrind-quickstart: PASS (${took} s, no errors, no leaks outside Open MPI)"
