#!/bin/sh
# biaslab's dependencies (tools/debian-packages.txt): ask dpkg which of them
# are installed, install the missing ones when running as root with apt-get
# (AUTO_DEPS=1, the default), otherwise name them and exit 1. Then check that
# mpicc and mpirun are Open MPI's.
#
#   tools/install-deps.sh            check, install, check MPI
#   tools/install-deps.sh --missing  print the missing packages, one a line; exit 0
#
# MPI_CHECK=0 skips the Open MPI check (a cluster's own MPI; the tests and
# jobs/run_local.sh assume Open MPI). DEPS_FOR=run leaves out the packages
# only the tests need (their line says "tests:"; make and make run ask for
# that, make test for all).
set -u
here=$(cd "$(dirname "$0")" && pwd)
case ${DEPS_FOR:-all} in
  all) packages=$(sed -e 's/#.*//' "$here/debian-packages.txt" | awk 'NF { print $1 }') ;;
  run) packages=$(sed -e 's/#.*//' "$here/debian-packages.txt" | awk 'NF && $2 != "tests:" { print $1 }') ;;
  *) echo "install-deps.sh: DEPS_FOR is '$DEPS_FOR'; use all or run" >&2; exit 2 ;;
esac

# installed PKG: dpkg's status is "ii" (wanted install, installed). A package
# dpkg has never heard of makes dpkg-query fail; one that was removed reads
# "un" or "rc". Nothing else counts.
installed() {
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) || return 1
  case $status in ii*) return 0 ;; *) return 1 ;; esac
}

missing_packages() {
  for pkg in $packages; do
    installed "$pkg" || echo "$pkg"
  done
}

# check_mpi: mpicc and mpirun must be Open MPI's. MPICH also provides
# /usr/bin/mpicc and /usr/bin/mpirun through alternatives; its mpirun would
# start N singletons of an Open MPI binary, each one acting as rank 0.
check_mpi() {
  [ "${MPI_CHECK:-1}" = 0 ] && return 0
  for tool in mpicc mpirun; do
    command -v "$tool" >/dev/null 2>&1 || {
      echo "biaslab: $tool not found; install Debian's openmpi-bin and libopenmpi-dev" >&2
      return 1; }
  done
  version=$(mpirun --version 2>&1 | head -n 1)
  case $version in
    *"Open MPI"* | *OpenRTE*) ;;
    *) echo "biaslab: mpirun ($(command -v mpirun)) is not Open MPI's: it says '$version'." >&2
       echo "  biaslab links Open MPI's ScaLAPACK and its scripts and tests start ranks with" >&2
       echo "  Open MPI's mpirun. Select it: update-alternatives --set mpirun /usr/bin/mpirun.openmpi" >&2
       echo "  (and mpi for mpicc: update-alternatives --set mpi /usr/bin/mpicc.openmpi)," >&2
       echo "  or build with another MPI deliberately: make MPI_CHECK=0 CC=... SCALAPACK_LIBS=..." >&2
       return 1 ;;
  esac
  # only Open MPI's wrapper compiler knows --showme
  if ! mpicc --showme:version >/dev/null 2>&1; then
    echo "biaslab: mpicc ($(command -v mpicc)) is not Open MPI's wrapper (it does not know" >&2
    echo "  --showme). Select it: update-alternatives --set mpi /usr/bin/mpicc.openmpi," >&2
    echo "  or build with another MPI deliberately: make MPI_CHECK=0 CC=..." >&2
    return 1
  fi
  return 0
}

if [ "${1:-}" = --missing ]; then
  command -v dpkg-query >/dev/null 2>&1 || { echo "install-deps.sh: no dpkg-query here" >&2; exit 1; }
  missing_packages
  exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  # not Debian (a cluster): the Makefile's knobs say where the libraries are
  echo "biaslab: no dpkg-query here, so Debian packages are not checked; set the knobs at" >&2
  echo "  the top of the Makefile for this system's libraries if the build cannot find them" >&2
  check_mpi
  exit
fi
missing=$(missing_packages | tr '\n' ' ')
if [ -n "$missing" ]; then
  if [ "${AUTO_DEPS:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "biaslab: installing missing Debian packages: $missing"
    log=${TMPDIR:-/tmp}/biaslab-apt.log
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -q $missing || { apt-get update -q && apt-get install -y -q $missing; }; } \
      >"$log" 2>&1 || {
      echo "biaslab: apt-get failed (log: $log); install by hand: apt-get install $missing" >&2
      exit 1; }
    still=$(missing_packages | tr '\n' ' ')
    [ -z "$still" ] || { echo "biaslab: still missing after apt-get: $still (log: $log)" >&2; exit 1; }
  else
    echo "biaslab: missing Debian packages: $missing" >&2
    echo "  install them (apt-get install $missing), run this as root to have them installed," >&2
    echo "  or set the flags at the top of the Makefile and use AUTO_DEPS=0" >&2
    exit 1
  fi
fi
check_mpi
