#!/bin/bash
# The golden battery (tests/golden/battery.txt) against its pinned results.
#   tests/golden/run.sh [NAME...]            compare; PASS/FAIL a run
#   tests/golden/run.sh --refresh [NAME...]  rewrite the pinned files (say why
#                                            in the commit that changes them)
# BL=path/to/biaslab tests another binary (e.g. one built from an older
# commit). Exits non-zero when any run differs or fails.
set -u -o pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
PY=/usr/bin/python3
BL=${BL:-bin/biaslab}
refresh=0
if [ "${1:-}" = --refresh ]; then refresh=1; shift; fi
only=" $* "
core=$("$BL" --version | sed -nE 's/^BLAS: OpenBLAS, core ([^ ]+) .*/\1/p')
core=${core:-not-openblas}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
echo "golden battery, BLAS core $core"
trim() { local v=$1; v=${v#"${v%%[![:space:]]*}"}; echo "${v%"${v##*[![:space:]]}"}"; }
while IFS='|' read -r name ranks config options; do
  case $name in '' | '#'*) continue ;; esac
  name=$(trim "$name")
  [ "$only" = "  " ] || case $only in *" $name "*) ;; *) continue ;; esac
  ranks=$(trim "$ranks")
  config=$(trim "$config")
  slices=0
  case $config in slices:*) slices=${config%% *}; slices=${slices#slices:}; config=${config#* } ;; esac
  out=$tmp/$name.nc
  # shellcheck disable=SC2086 # options are words
  if [ "$slices" -gt 0 ]; then
    ok=1
    parts=()
    for ((k = 0; k < slices; k++)); do
      mpirun -np "$ranks" "$BL" run "$config" -o "$tmp/$name.s$k.nc" --slice "$k/$slices" $options </dev/null >"$tmp/$name.log" 2>&1 || ok=0
      parts+=("$tmp/$name.s$k.nc")
    done
    [ "$ok" = 1 ] && "$BL" merge "$out" "${parts[@]}" </dev/null >>"$tmp/$name.log" 2>&1 || ok=0
  else
    mpirun -np "$ranks" "$BL" run "$config" -o "$out" $options </dev/null >"$tmp/$name.log" 2>&1 && ok=1 || ok=0
  fi
  if [ "$ok" != 1 ]; then
    echo "FAIL golden $name: the run failed"; sed 's/^/    | /' "$tmp/$name.log" | tail -10; failed=1; continue
  fi
  pinned=tests/golden/$name.txt
  if [ "$refresh" = 1 ]; then
    $PY tests/golden/golden.py dump "$out" --name "$name" --core "$core" \
      --command "$ranks ranks: $config $options" >"$pinned" && echo "refreshed $pinned ($(wc -c <"$pinned") bytes)"
    continue
  fi
  if [ ! -f "$pinned" ]; then
    echo "FAIL golden $name: no pinned result $pinned (tests/golden/run.sh --refresh $name)"; failed=1; continue
  fi
  if $PY tests/golden/golden.py compare "$pinned" "$out" --core "$core" >"$tmp/$name.cmp" 2>&1; then
    echo "PASS golden $name: $(tail -1 "$tmp/$name.cmp" | sed 's/^golden: //')"
  else
    echo "FAIL golden $name"; sed 's/^/    | /' "$tmp/$name.cmp" | tail -12; failed=1
  fi
done <tests/golden/battery.txt
exit $failed
