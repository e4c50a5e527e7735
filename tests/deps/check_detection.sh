#!/bin/bash
# The dependency check of tools/install-deps.sh against stub package
# databases and stub MPIs on PATH, and the BLAS the binary links:
#   tests/deps/check_detection.sh [INSTALL_DEPS_SCRIPT]
# Prints PASS/FAIL lines; exits 1 when any check failed.
set -u
cd "$(dirname "$0")/../.."
script=${1:-tools/install-deps.sh}
list=tools/debian-packages.txt
packages=$(sed -e 's/#.*//' "$list" | awk 'NF { print $1 }')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; failed=1; }

# stub_dpkg DIR STATUS [PKG=STATUS ...]: a dpkg-query that answers STATUS for
# every package ("none": dpkg has never heard of it), with exceptions.
stub_dpkg() {
  local dir=$1 default=$2; shift 2
  mkdir -p "$dir"
  {
    echo '#!/bin/bash'
    echo 'pkg=${!#}'
    echo 'case $pkg in'
    for kv in "$@"; do echo "  ${kv%%=*}) s='${kv#*=}' ;;"; done
    echo "  *) s='$default' ;;"
    echo 'esac'
    echo '[ "$s" = none ] && { echo "dpkg-query: no packages found matching $pkg" >&2; exit 1; }'
    echo 'printf "%s" "$s"'
  } >"$dir/dpkg-query"
  chmod +x "$dir/dpkg-query"
}
# stub_mpi DIR "FIRST LINE OF mpirun --version" SHOWME(0|1)
stub_mpi() {
  mkdir -p "$1"
  printf '#!/bin/sh\necho "%s"\n' "$2" >"$1/mpirun"
  if [ "$3" = 1 ]; then printf '#!/bin/sh\necho 4.1.4\n' >"$1/mpicc"
  else printf '#!/bin/sh\necho "unknown option $1" >&2; exit 1\n' >"$1/mpicc"; fi
  chmod +x "$1/mpirun" "$1/mpicc"
}
# names_all LOG: every package of the list appears in LOG as a word
names_all() {
  local pkg absent=
  tr -s ' \t:,' '\n' <"$1" >"$1.words"
  for pkg in $packages; do grep -qxF -- "$pkg" "$1.words" || absent="$absent $pkg"; done
  [ -z "$absent" ] || { echo "    | not named:$absent"; return 1; }
}
ompi="mpirun (Open MPI) 4.1.4"

for state in none 'un ' 'rc '; do
  stub_dpkg "$tmp/db" "$state"
  stub_mpi "$tmp/db" "$ompi" 1
  PATH="$tmp/db:$PATH" AUTO_DEPS=0 sh "$script" >"$tmp/log" 2>&1
  rc=$?
  if [ "$rc" -ne 0 ] && names_all "$tmp/log"; then
    pass "nothing installed (dpkg says '$state'): every package is named missing, exit $rc"
  else
    fail "nothing installed (dpkg says '$state'): exit $rc, and each package must be named"
    sed 's/^/    | /' "$tmp/log" | head -5
  fi
  rm -rf "$tmp/db"
done

stub_dpkg "$tmp/all" 'ii ' libopenblas-dev='un '
stub_mpi "$tmp/all" "$ompi" 1
out=$(PATH="$tmp/all:$PATH" sh "$script" --missing 2>&1)
if [ "$out" = libopenblas-dev ]; then pass "only libopenblas-dev removed: exactly it is missing"
else fail "only libopenblas-dev removed: --missing printed '$out'"; fi
rm -rf "$tmp/all"

# DEPS_FOR=run (make, make run): the build and run packages, not the tests' own
stub_dpkg "$tmp/run" none
out=$(PATH="$tmp/run:$PATH" DEPS_FOR=run sh "$script" --missing 2>&1 | tr '\n' ' ')
case " $out " in
  *" chromium "* | *" valgrind "* | *" slurm-wlm "* | *" libcunit1-dev "*) fail "DEPS_FOR=run names test-only packages: $out" ;;
  *" libopenblas-dev "*" libnetcdf-dev "*" python3-matplotlib "*) pass "DEPS_FOR=run: the build and run packages, none of the tests' own" ;;
  *) fail "DEPS_FOR=run: missing '$out' lacks a build package" ;;
esac
rm -rf "$tmp/run"
run_for=$(make -n -s deps AUTO_DEPS=0 2>/dev/null | grep -o 'DEPS_FOR=[a-z]*')
test_for=$(make -n -s test AUTO_DEPS=0 2>/dev/null | grep -o 'DEPS_FOR=[a-z]*' | head -1)
if [ "$run_for" = DEPS_FOR=run ] && [ "$test_for" = DEPS_FOR=all ]; then
  pass "make asks for the run packages, make test for all"
else fail "make: '$run_for', make test: '$test_for' (want DEPS_FOR=run and DEPS_FOR=all)"; fi

stub_dpkg "$tmp/ok" 'ii '
stub_mpi "$tmp/ok" "$ompi" 1
if PATH="$tmp/ok:$PATH" AUTO_DEPS=0 sh "$script" >"$tmp/log" 2>&1; then
  pass "everything installed, Open MPI: the check passes"
else fail "everything installed, Open MPI: exit $?"; sed 's/^/    | /' "$tmp/log"; fi
rm -rf "$tmp/ok"

stub_dpkg "$tmp/mpich" 'ii '
stub_mpi "$tmp/mpich" "HYDRA build details:" 0
PATH="$tmp/mpich:$PATH" AUTO_DEPS=0 sh "$script" >"$tmp/log" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q 'not Open MPI' "$tmp/log" && grep -q 'update-alternatives' "$tmp/log"; then
  pass "MPICH's mpirun first on PATH: refused, naming the fix"
else fail "MPICH's mpirun first on PATH: exit $rc"; sed 's/^/    | /' "$tmp/log"; fi
rm -rf "$tmp/mpich"

stub_dpkg "$tmp/cc" 'ii '
stub_mpi "$tmp/cc" "$ompi" 0
PATH="$tmp/cc:$PATH" AUTO_DEPS=0 sh "$script" >"$tmp/log" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q "mpicc .* not Open MPI" "$tmp/log"; then
  pass "an mpicc that is not Open MPI's: refused"
else fail "an mpicc that is not Open MPI's: exit $rc"; sed 's/^/    | /' "$tmp/log"; fi
rm -rf "$tmp/cc"

if [ "${BL_BLAS_LIBS:--lopenblas}" = -lopenblas ]; then
  if ldd bin/biaslab | grep -q 'libopenblas'; then pass "bin/biaslab links libopenblas (BLAS_LIBS=-lopenblas)"
  else fail "bin/biaslab does not link libopenblas:"; ldd bin/biaslab | sed 's/^/    | /'; fi
else
  pass "BLAS_LIBS=$BL_BLAS_LIBS: libopenblas not required"
fi
exit $failed
