#!/bin/bash
# Join the slice outputs of a job array (jobs/biaslab_array.sbatch) into one
# file; a thin wrapper around `bin/biaslab merge`, which checks that the
# slices come from one config and recomputes the statistics.
#
#   postprocess/merge_slices.sh [--force] OUT.nc SLICE.nc...
#   postprocess/merge_slices.sh [--force] OUT.nc PREFIX
#
# With PREFIX (e.g. results/quickstart) the slices are PREFIX.slice<K>of<N>.nc,
# as the array job names them; all N of them must be there, so a failed array
# task is noticed here and not as not_run tasks later. To merge an incomplete
# set on purpose, name the files. --force overwrites an existing OUT.nc.
# Finds bin/biaslab in the repository this script belongs to; BIASLAB=/path
# overrides that. Exits with biaslab merge's exit code, or 2 on bad arguments.
set -u

usage() {
  echo "usage: $0 [--force] OUT.nc SLICE.nc..." >&2
  echo "       $0 [--force] OUT.nc PREFIX    (merges PREFIX.slice<K>of<N>.nc, K = 0..N-1)" >&2
  exit 2
}
die() { echo "merge_slices.sh: $*" >&2; exit 2; }

force=()
args=()
for a in "$@"; do
  case $a in
    --force) force=(--force) ;;
    -h | --help) usage ;;
    -*) die "unknown option '$a'" ;;
    *) args+=("$a") ;;
  esac
done
[ ${#args[@]} -ge 2 ] || usage
out=${args[0]}
inputs=("${args[@]:1}")
case $out in *.nc) ;; *) die "OUT must end in .nc, not '$out' (did you swap OUT and the slices?)" ;; esac

# One argument that is not a file: a prefix. Collect its slices and insist
# that they are one complete set 0..N-1 of a single N.
if [ ${#inputs[@]} -eq 1 ] && [ ! -f "${inputs[0]}" ]; then
  prefix=${inputs[0]%.nc}
  shopt -s nullglob
  found=("$prefix".slice*of*.nc)
  shopt -u nullglob
  [ ${#found[@]} -gt 0 ] || die "no file '${inputs[0]}' and no slices $prefix.slice<K>of<N>.nc"
  n=""
  for f in "${found[@]}"; do
    kn=${f#"$prefix".slice}
    kn=${kn%.nc}
    case $kn in [0-9]*of[0-9]*) ;; *) die "cannot read K and N from '$f'" ;; esac
    [ -z "$n" ] || [ "$n" = "${kn#*of}" ] || die "slices of different counts under $prefix (${n} and ${kn#*of}); remove the stale ones"
    n=${kn#*of}
  done
  inputs=()
  missing=()
  for ((k = 0; k < n; k++)); do
    f="$prefix.slice${k}of$n.nc"
    if [ -f "$f" ]; then inputs+=("$f"); else missing+=("$f"); fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    die "missing ${#missing[@]} of $n slices: ${missing[*]} (rerun those array tasks, or name the files to merge an incomplete set)"
  fi
else
  for f in "${inputs[@]}"; do
    [ -f "$f" ] || die "no such slice file: $f"
  done
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exe=${BIASLAB:-$repo/bin/biaslab}
[ -x "$exe" ] || die "$exe not found or not executable; build it with 'make' in $repo"

echo "merge_slices.sh: $out <- ${inputs[*]}"
exec "$exe" merge "$out" "${inputs[@]}" "${force[@]}"
