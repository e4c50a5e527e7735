#!/bin/bash
# Seed corpora and a dictionary for the fuzz targets, generated (never
# committed): tests/fuzz/make_corpus.sh [OUTDIR]   (default bin/fuzz/seeds)
#   OUTDIR/config/  the INI files of inputs/ and tests/configs/, small
#                   hand-written ones (sweeps, --set lines, errors)
#   OUTDIR/config.dict  section and key names, taken from src/config.c
#   OUTDIR/idx/     the first 20 images of Fashion-MNIST t10k (plain and
#                   gzip) and synthetic 20-image files, each with the
#                   trailing mode byte fuzz_idx.c expects
#   OUTDIR/netcdf/  small data files made by ncgen from CDL text, in every
#                   format libnetcdf reads (classic, 64-bit offset, CDF-5,
#                   NetCDF-4/HDF5, NetCDF-4 classic model)
set -eu
cd "$(dirname "$0")/../.."
out=${1:-bin/fuzz/seeds}
fmnist=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
rm -rf "$out"
mkdir -p "$out/config" "$out/idx" "$out/netcdf"

# ---- config -------------------------------------------------------------
for f in inputs/*.ini tests/configs/*.ini; do
  cp "$f" "$out/config/$(basename "$f")"
done
c=$out/config
printf '[optim]\nlr = 0.2\n--set optim.steps=50\n--set sweep.optim.lr=0.1,0.2\n' >"$c/set.ini"
printf '[sweep]\noptim.lr = 0.1, 0.2, 0.4\nmodel.width = 8, 16\nmodel.kind = linear, mlp\n' >"$c/sweep.ini"
printf '[sweep]\nmodel.depth = 2, 3\n[model]\nkind = mlp\n' >"$c/sweep_depth.ini"
printf '\xef\xbb\xbf[data]\nkind = clusters ; inline\nclasses = 4\n[loss]\nkind = cross_entropy\n' >"$c/bom.ini"
printf '[experiment]\nname = a-b_c.1\noutput = /tmp/x y/out.nc\nseeds = 1e2\nfirst_seed = 0\ncheckpoint_seconds = 0\n' >"$c/strings.ini"
printf '[model]\nkind = linear\ndepth = 1\nbias = yes\n[optim]\nkind = sgd\nbatch_size = 10\nschedule = loss_based\n' >"$c/linear.ini"
printf '[optim]\nlerning_rate = 0.1\n' >"$c/typo.ini"
printf '[optim\nlr = 1\n' >"$c/syntax.ini"
printf 'lr = 1\n' >"$c/nosection.ini"
printf '[data]\nkind = symmetric\nn_train = 101\n' >"$c/odd.ini"
printf '[measure]\nevery = 1\nsave_params = final\ndiverge_factor = 1e300\n[parallel]\ngroup_size = 2\nblas_threads = 256\n' >"$c/measure.ini"
printf '%s\n' '--set experiment.seeds=2' '--set optim.steps=300' '--set model.width=3' >"$c/only_set.ini"

# Dictionary: every section and key name, "section.key", and INI syntax.
{
  for w in '[' ']' '=' ';' '#' ',' '\x0a' '--set ' 'sweep' 'true' 'false' '1e5' '-0' 'nan' 'inf'; do
    printf '"%s"\n' "$w"
  done
  grep -o '\.section = "[a-z_]*", \.key = "[a-z_]*"' src/config.c |
    sed -E 's/.*section = "([a-z_]*)", \.key = "([a-z_]*)"/\1 \2/' |
    while read -r s k; do printf '"[%s]"\n"%s"\n"%s.%s"\n' "$s" "$k" "$s" "$k"; done
  grep -o '"[a-z_]*", *NULL}' src/config.c | grep -o '"[a-z_]*"' || true
  for v in separable symmetric clusters linear mlp relu leaky_relu identity logistic \
    exponential cross_entropy squared mean sum gd sgd momentum constant loss_based none final; do
    printf '"%s"\n' "$v"
  done
} | sort -u >"$out/config.dict"

# ---- IDX ----------------------------------------------------------------
# fuzz_idx.c's fixed labels are the first 20 of t10k, so 20 images here.
n=20
real="$out/idx/.t10k20"
{
  printf '\x00\x00\x08\x03\x00\x00\x00\x14\x00\x00\x00\x1c\x00\x00\x00\x1c'
  zcat "$fmnist/t10k-images-idx3-ubyte.gz" | head -c $((16 + n * 784)) | tail -c +17
} >"$real"
# Synthetic 20 x 2 x 3 and 20 x 1 x 1 images.
small="$out/idx/.small"
{
  printf '\x00\x00\x08\x03\x00\x00\x00\x14\x00\x00\x00\x02\x00\x00\x00\x03'
  head -c $((n * 6)) /dev/zero | tr '\0' '\177'
} >"$small"
tiny="$out/idx/.tiny"
{
  printf '\x00\x00\x08\x03\x00\x00\x00\x14\x00\x00\x00\x01\x00\x00\x00\x01'
  printf '\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0\xd0\xe0\xf0\xff\x01\x02\x03'
} >"$tiny"
for f in "$real" "$small" "$tiny"; do
  b=$(basename "$f" | tr -d .)
  gzip -9 -n -c "$f" >"$f.gz"
  for mode in 0 1 2 3; do
    { cat "$f"; printf "\\x0$mode"; } >"$out/idx/$b.m$mode"          # plain file
    { cat "$f"; printf "\\x0$((mode + 4))"; } >"$out/idx/$b.gzh$mode" # harness gzips it
    { cat "$f.gz"; printf "\\x0$mode"; } >"$out/idx/$b.gz$mode"       # a .gz file as input
  done
done
rm -f "$out"/idx/.t10k20* "$out"/idx/.small* "$out"/idx/.tiny*
# Regression: a 37-byte file whose header promises 20 x 1 x 33554433 pixels
# made bl_idx_load allocate 5.4 GB before reading any (fixed in datafile.c).
{
  printf '\x00\x00\x08\x03\x00\x00\x00\x14\x00\x00\x00\x01\x02\x00\x00\x01'
  printf '\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0\xd0\xe0\xf0\xff\x01\x02\x03\x00'
} >"$out/idx/regress_header_bomb.m0"

# ---- NetCDF -------------------------------------------------------------
cdl=$(mktemp -d)
trap 'rm -rf "$cdl"' EXIT
cat >"$cdl/full.cdl" <<'EOF'
netcdf full {
dimensions:
  sample = 6 ;
  feature = 3 ;
  test_sample = 2 ;
variables:
  double x(sample, feature) ;
  int y(sample) ;
  float x_test(test_sample, feature) ;
  byte y_test(test_sample) ;
// global attributes:
  :classes = 3 ;
data:
  x = 0.5, -1, 2, 1, 1, 1, 0, 0, 0, -2.5, 3, 4, 1e-3, 7, 8, 9, 10, 11 ;
  y = 0, 1, 2, 0, 1, 2 ;
  x_test = 1, 2, 3, 4, 5, 6 ;
  y_test = 2, 0 ;
}
EOF
cat >"$cdl/train.cdl" <<'EOF'
netcdf train {
dimensions:
  sample = UNLIMITED ;
  feature = 2 ;
variables:
  short x(sample, feature) ;
    x:_FillValue = -999s ;
  double y(sample) ;
    y:_FillValue = -1. ;
data:
  x = 1, 2, 3, 4, 5, 6, 7, 8 ;
  y = 0, 1, 1, 0 ;
}
EOF
cat >"$cdl/nc4.cdl" <<'EOF'
netcdf nc4 {
dimensions:
  sample = 4 ;
  feature = 2 ;
  test_sample = 3 ;
variables:
  uint64 x(sample, feature) ;
  ubyte y(sample) ;
  int64 x_test(test_sample, feature) ;
  ushort y_test(test_sample) ;
data:
  x = 1, 2, 3, 4, 5, 6, 7, 8 ;
  y = 0, 1, 3, 2 ;
  x_test = -1, -2, -3, -4, -5, -6 ;
  y_test = 4, 0, 1 ;
}
EOF
cat >"$cdl/bad.cdl" <<'EOF'
netcdf bad {
dimensions:
  sample = 3 ;
  feature = 2 ;
variables:
  float x(sample, feature) ;
  char y(sample) ;
  :classes = "three" ;
data:
  x = 1, 2, 3, _, 5, 6 ;
  y = "abc" ;
}
EOF
for kind in nc3 nc6 nc5 nc4 nc7; do
  for base in full train bad; do
    ncgen -k "$kind" -o "$out/netcdf/$base.$kind.nc" "$cdl/$base.cdl"
  done
done
ncgen -k nc4 -o "$out/netcdf/nc4.nc4.nc" "$cdl/nc4.cdl"
# Regression: a classic file whose record count (bytes 4-7) says 2^26 records
# while it holds 4; libnetcdf reads the missing records as zeros, and
# bl_netcdf_data_load returned 67 million examples (fixed in datafile.c).
cp "$out/netcdf/train.nc3.nc" "$out/netcdf/regress_numrecs.nc3.nc"
printf '\x04\x00\x00\x00' | dd of="$out/netcdf/regress_numrecs.nc3.nc" bs=1 seek=4 conv=notrunc status=none
echo "seeds: $(ls "$out/config" | wc -l) config, $(ls "$out/idx" | wc -l) idx," \
  "$(ls "$out/netcdf" | wc -l) netcdf in $out; dictionary $(wc -l <"$out/config.dict") entries"
