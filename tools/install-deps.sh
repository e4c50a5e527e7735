#!/bin/sh
# Check for biaslab's build and test dependencies; install the missing Debian
# packages when running as root with apt-get (AUTO_DEPS=1), otherwise name them.
# Each line: Debian package, then a file that shows it is installed.
set -u
list='
mpicc                   /usr/bin/mpicc
libopenmpi-dev          /usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h
openmpi-bin             /usr/bin/mpirun
libopenblas-dev         /usr/include/x86_64-linux-gnu/cblas.h
libscalapack-openmpi-dev /usr/lib/x86_64-linux-gnu/libscalapack-openmpi.so
libnetcdf-dev           /usr/include/netcdf.h
netcdf-bin              /usr/bin/ncdump
libcunit1-dev           /usr/include/CUnit/CUnit.h
libinih-dev             /usr/include/ini.h
zlib1g-dev              /usr/include/zlib.h
libglpk-dev             /usr/include/glpk.h
pkg-config              /usr/bin/pkg-config
python3-xarray          /usr/lib/python3/dist-packages/xarray/__init__.py
python3-netcdf4         /usr/lib/python3/dist-packages/netCDF4/__init__.py
python3-matplotlib      /usr/lib/python3/dist-packages/matplotlib/__init__.py
dataset-fashion-mnist   /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
slurm-wlm               /usr/sbin/slurmctld
munge                   /usr/sbin/munged
clang                   /usr/bin/clang
libclang-rt-14-dev      /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
valgrind                /usr/bin/valgrind
'
missing=$(printf '%s\n' "$list" | while read -r pkg file; do
  [ -n "$pkg" ] || continue
  [ "$pkg" = mpicc ] && pkg=libopenmpi-dev
  [ -e "$file" ] || echo "$pkg"
done | sort -u | tr '\n' ' ')
[ -z "$missing" ] && exit 0
if [ "${AUTO_DEPS:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "biaslab: installing missing Debian packages: $missing"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -q $missing || { apt-get update -q && apt-get install -y -q $missing; }; } \
    >/tmp/biaslab-apt.log 2>&1 || {
    echo "biaslab: apt-get failed (log: /tmp/biaslab-apt.log); install by hand: $missing" >&2
    exit 1; }
  exit 0
fi
echo "biaslab: missing packages: $missing" >&2
echo "  install them (apt-get install $missing) or set the flags at the top of the Makefile" >&2
exit 1
