#!/bin/bash
# Run biaslab on this machine with Open MPI, without a scheduler.
#
#   jobs/run_local.sh RANKS CONFIG [biaslab run options...]
#   e.g. jobs/run_local.sh 2 inputs/quickstart.ini --set optim.steps=200
#
# Runs from the current directory (so results/ lands where you are) but finds
# bin/biaslab in the repository this script belongs to; BIASLAB=/path/to/exe
# overrides that. Exits with biaslab's exit code, or 2 on bad arguments.
set -u

usage() {
  echo "usage: $0 RANKS CONFIG [biaslab run options...]" >&2
  echo "  RANKS: number of MPI processes (a positive integer); CONFIG: an INI file" >&2
  exit 2
}

[ $# -ge 2 ] || usage
ranks=$1 config=$2
shift 2
case $ranks in '' | *[!0-9]*) echo "run_local.sh: RANKS must be a positive integer, not '$ranks'" >&2; usage ;; esac
[ "$ranks" -ge 1 ] || usage
[ -f "$config" ] || { echo "run_local.sh: no such config file: $config" >&2; usage; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exe=${BIASLAB:-$repo/bin/biaslab}
if [ ! -x "$exe" ]; then
  echo "run_local.sh: $exe not found or not executable; build it with 'make' in $repo" >&2
  exit 2
fi
command -v mpirun >/dev/null || { echo "run_local.sh: mpirun not found (install openmpi-bin)" >&2; exit 2; }
# shellcheck source=jobs/blas_core.sh
. "$repo/jobs/blas_core.sh"

# Open MPI refuses to start as root unless told it is deliberate (containers, CI).
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Open MPI also refuses more ranks than cores unless oversubscription is allowed.
if [ "$ranks" -gt "$(nproc)" ]; then
  export OMPI_MCA_rmaps_base_oversubscribe=1
fi

exec mpirun -np "$ranks" "$exe" run "$config" "$@"
