#!/bin/bash
# Hostile conditions (the issue "Nothing lost, nothing corrupt, nothing
# perturbed"): two runs on one output, a full disk at every stage, two
# SIGTERMs to mpirun, data changed under a resume, bad output paths,
# leftover checkpoints, a reference that cannot be computed.
#   tests/faults/run_faults.sh [PART...]   PASS/FAIL lines; exit 1 when any failed
# PART (default: all): one_writer full_disk sigterm changed_data paths
# leftover corrupt_done reference (the mutants run only the part they need).
# The full-disk checks need a private mount namespace (unshare -m, root); where
# the machine does not allow one they print SKIP with the reason.
set -u -o pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
PY=/usr/bin/python3
BL=${BL:-bin/biaslab}
ROOT=$PWD
rcfg=tests/configs/resume.ini
cfg=tests/configs/mpi_small.ini
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
parts=" ${*:-one_writer full_disk sigterm changed_data paths leftover corrupt_done reference} "
for part in $parts; do
  case " one_writer full_disk sigterm changed_data paths leftover corrupt_done reference " in
    *" $part "*) ;;
    *) echo "run_faults.sh: unknown part '$part'" >&2; exit 2 ;;
  esac
done
want() { [[ $parts == *" $1 "* ]]; }
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; shift; fail_files "$@"; }
# fail_files FILE...: the tails of the logs of a failure already named (a
# FAIL line carries the same name as its PASS line; what differed goes below)
fail_files() { for f in "$@"; do [ -f "$f" ] && tail -8 "$f" | sed 's/^/    | /'; done; failed=1; }
# wait_unlocked LOCKFILE: until no process holds it (at most 10 s)
wait_unlocked() {
  for _ in $(seq 1 200); do flock -n "$1" true 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
# wait_done DIR: until a task has finished (at most 20 s)
wait_done() {
  for _ in $(seq 1 400); do ls "$1"/done_*.bin >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}

mpirun -np 2 "$BL" run "$rcfg" -o "$tmp/ref.nc" >"$tmp/ref.log" 2>&1 || fail "reference run" "$tmp/ref.log"

# --- 1. two runs on one output ------------------------------------------------
if want one_writer; then
mpirun -np 2 "$BL" run "$rcfg" -o "$tmp/c.nc" >"$tmp/c1.log" 2>&1 &
first=$!
wait_done "$tmp/c.nc.ckpt"
"$BL" run "$rcfg" -o "$tmp/c.nc" >"$tmp/c2.log" 2>&1
rc=$?
wait "$first"
rc1=$?
name="a second run on the same output exits 2 naming the first; the first's output is complete and exact"
if [ "$rc" -eq 2 ] && grep -q "another biaslab run is writing '$tmp/c.nc' (pid [0-9]* on" "$tmp/c2.log" &&
   [ "$rc1" -eq 0 ] && $PY tests/compare_outputs.py "$tmp/ref.nc" "$tmp/c.nc" >"$tmp/c.cmp" 2>&1; then
  pass "$name"
else
  echo "two runs on one output (second exit $rc, first exit $rc1)" >"$tmp/why"; fail "$name" "$tmp/why" "$tmp/c2.log" "$tmp/c1.log" "$tmp/c.cmp"
fi

fi # one_writer

# --- 2. a full disk at every stage ------------------------------------------------
if want full_disk; then
if ! unshare -m true 2>/dev/null; then
  echo "SKIP full disk: no private mount namespace here (unshare -m fails)"
else
  mkdir -p "$tmp/disk"
  # small disks fill at the .part, the definitions, the first task, the done files
  for size in 8k 24k 48k 96k 160k; do
    unshare -m bash -c "
      mount -t tmpfs -o size=$size tmpfs $tmp/disk || exit 99
      $ROOT/$BL run $ROOT/$cfg -o $tmp/disk/out.nc --set measure.save_params=final >$tmp/disk_$size.log 2>&1
      rc=\$?
      ls $tmp/disk >$tmp/disk_$size.ls
      mount -o remount,size=64m $tmp/disk
      $ROOT/$BL run $ROOT/$cfg -o $tmp/disk/out.nc --set measure.save_params=final >$tmp/disk_${size}_resume.log 2>&1 || exit 98
      cp $tmp/disk/out.nc $tmp/disk_$size.nc
      exit \$rc"
    rc=$?
    if [ "$rc" -eq 99 ]; then echo "SKIP full disk $size: cannot mount a tmpfs here"; continue; fi
    name="disk full at $size: exit 1 naming the file and 'No space left on device', no final file; resumed on a larger disk"
    if [ "$rc" -eq 1 ] && grep -q "No space left on device" "$tmp/disk_$size.log" &&
       grep -q "'$tmp/disk/out.nc" "$tmp/disk_$size.log" && ! grep -qx 'out.nc' "$tmp/disk_$size.ls" &&
       [ -f "$tmp/disk_$size.nc" ]; then
      pass "$name"
    else
      echo "disk full at $size (exit $rc)" >"$tmp/why"; fail "$name" "$tmp/why" "$tmp/disk_$size.log" "$tmp/disk_${size}_resume.log"
    fi
  done
  mpirun -np 1 "$BL" run "$cfg" -o "$tmp/small_ref.nc" --set measure.save_params=final >/dev/null 2>&1
  ok=1
  for f in "$tmp"/disk_*k.nc; do
    $PY tests/compare_outputs.py "$tmp/small_ref.nc" "$f" >"$tmp/disk.cmp" 2>&1 || { ok=0; cat "$tmp/disk.cmp"; }
  done
  name="every run resumed after a full disk equals an undisturbed run, bitwise"
  if [ "$ok" = 1 ] && ls "$tmp"/disk_*k.nc >/dev/null 2>&1; then
    pass "$name"
  else
    echo "runs resumed after a full disk differ from an undisturbed run" >"$tmp/why"; fail "$name" "$tmp/why"
  fi
fi

fi # full_disk

# --- 3. SIGTERM twice to mpirun -----------------------------------------------------
if want sigterm; then
mpirun -np 2 "$BL" run "$rcfg" -o "$tmp/s.nc" >"$tmp/s.log" 2>&1 &
mp=$!
wait_done "$tmp/s.nc.ckpt"
kill -TERM "$mp"
sleep 0.05
kill -TERM "$mp"
wait "$mp"
name="two SIGTERMs to mpirun: every rank gone at once with its state saved; the next run resumes to the exact result"
if wait_unlocked "$tmp/s.nc.ckpt/lock" && ls "$tmp"/s.nc.ckpt/state_*.bin >/dev/null 2>&1 &&
   mpirun -np 2 "$BL" run "$rcfg" -o "$tmp/s.nc" >"$tmp/s2.log" 2>&1 &&
   grep -q 'continued from its saved state' "$tmp/s2.log" &&
   $PY tests/compare_outputs.py "$tmp/ref.nc" "$tmp/s.nc" >"$tmp/s.cmp" 2>&1; then
  pass "$name"
else
  echo "two SIGTERMs to mpirun" >"$tmp/why"; fail "$name" "$tmp/why" "$tmp/s.log" "$tmp/s2.log" "$tmp/s.cmp"
fi

fi # sigterm

# --- 4. data changed under a resume ---------------------------------------------------
if want changed_data; then
$PY - "$tmp/d.nc" <<'PYEOF'
import sys, numpy as np, netCDF4
rng = np.random.default_rng(1)
x = rng.standard_normal((200, 6)); y = (x @ rng.standard_normal(6) > 0).astype(np.int32)
with netCDF4.Dataset(sys.argv[1], "w") as d:
    d.createDimension("sample", 200); d.createDimension("feature", 6)
    d.createVariable("x", "f8", ("sample", "feature"))[:] = x
    d.createVariable("y", "i4", ("sample",))[:] = y
PYEOF
printf '[experiment]\nseeds = 4\ncheckpoint_seconds = 0.2\n[data]\nkind = netcdf\npath = %s\nn_train = 200\nn_test = 0\n[model]\nkind = mlp\ndepth = 3\nwidth = 64\n[optim]\nkind = sgd\nbatch_size = 20\nlr = 0.05\nsteps = 30000\n[measure]\nevery = 1000\n' "$tmp/d.nc" >"$tmp/d.ini"
mpirun -np 2 "$BL" run "$tmp/d.ini" -o "$tmp/dout.nc" >"$tmp/d1.log" 2>&1 &
mp=$!
wait_done "$tmp/dout.nc.ckpt"
kill -USR1 "$mp"
wait "$mp"
rc1=$?
cp "$tmp/d.nc" "$tmp/d_orig.nc"
$PY -c "import netCDF4,sys; d=netCDF4.Dataset(sys.argv[1],'a'); d['x'][0,0]=d['x'][0,0]+1; d.close()" "$tmp/d.nc"
"$BL" run "$tmp/d.ini" -o "$tmp/dout.nc" >"$tmp/d2.log" 2>&1
rc2=$?
cp "$tmp/d_orig.nc" "$tmp/d.nc"
mpirun -np 2 "$BL" run "$tmp/d.ini" -o "$tmp/dout.nc" >"$tmp/d3.log" 2>&1
rc3=$?
name="a resume with a changed data file is refused naming it; with the file restored it resumes"
if [ "$rc1" -eq 3 ] && [ "$rc2" -eq 2 ] && grep -q "the data changed since the interrupted run" "$tmp/d2.log" &&
   grep -qF "now $tmp/d.nc: " "$tmp/d2.log" && [ "$rc3" -eq 0 ] && [ -f "$tmp/dout.nc" ] &&
   grep -q 'continued from its saved state' "$tmp/d3.log"; then
  pass "$name"
else
  echo "changed data (interrupt $rc1, changed $rc2, restored $rc3)" >"$tmp/why"; fail "$name" "$tmp/why" "$tmp/d2.log" "$tmp/d3.log"
fi

fi # changed_data

# --- 5. output paths -------------------------------------------------------------------
if want paths; then
mkdir -p "$tmp/adir"
"$BL" run "$cfg" -o "" >"$tmp/o1.log" 2>&1
r1=$?
"$BL" run "$cfg" -o "$tmp/adir" --force >"$tmp/o2.log" 2>&1
r2=$?
name="-o '' and -o DIRECTORY --force are refused before anything runs, nothing written"
if [ "$r1" -eq 2 ] && grep -q 'the output path is empty' "$tmp/o1.log" && [ ! -e .ckpt ] && [ ! -e .part ] &&
   [ "$r2" -eq 2 ] && grep -q "is a directory" "$tmp/o2.log" && [ -z "$(ls -A "$tmp/adir")" ] &&
   [ ! -e "$tmp/adir.ckpt" ] && [ ! -e "$tmp/adir.part" ]; then
  pass "$name"
else
  echo "bad output paths (exit $r1, $r2)" >"$tmp/why"; fail "$name" "$tmp/why" "$tmp/o1.log" "$tmp/o2.log"
fi

fi # paths

# --- 6. leftover checkpoints beside a complete output ----------------------------------
if want leftover; then
cp "$tmp/ref.nc" "$tmp/done.nc"
mkdir -p "$tmp/done.nc.ckpt" && echo 2 >"$tmp/done.nc.ckpt/format"
"$BL" run "$rcfg" -o "$tmp/done.nc" >"$tmp/l.log" 2>&1
rc=$?
name="a complete output with leftover checkpoints: refused, saying so and how to proceed"
if [ "$rc" -eq 2 ] && grep -q "holds checkpoints left over" "$tmp/l.log" && grep -q "rm -r" "$tmp/l.log" &&
   cmp -s "$tmp/ref.nc" "$tmp/done.nc"; then
  pass "$name"
else
  echo "leftover checkpoints (exit $rc)" >"$tmp/why"; fail "$name" "$tmp/why" "$tmp/l.log"
fi
[ -e "$tmp/ref.nc.ckpt" ] && fail "a finished run left its checkpoint folder"

fi # leftover

# --- a corrupt done file: the task runs again, saying so ----------------------------
if want corrupt_done; then
mpirun -np 2 "$BL" run "$rcfg" -o "$tmp/cd.nc" >"$tmp/cd1.log" 2>&1 &
pid=$!
wait_done "$tmp/cd.nc.ckpt"
kill -USR1 "$pid"
wait "$pid"
rc1=$?
done_file=$(ls "$tmp"/cd.nc.ckpt/done_*.bin 2>/dev/null | head -1)
[ -n "$done_file" ] && printf '\x5a' | dd of="$done_file" bs=1 seek=200 conv=notrunc 2>/dev/null
mpirun -np 2 "$BL" run "$rcfg" -o "$tmp/cd.nc" >"$tmp/cd2.log" 2>&1
rc2=$?
name="a corrupt done file is named (checksum), its task runs again, the result is exact"
if [ "$rc1" -eq 3 ] && [ -n "$done_file" ] && [ "$rc2" -eq 0 ] &&
   grep -q "warning: .*$(basename "$done_file").*checksum.*; task [0-9]* runs again" "$tmp/cd2.log" &&
   $PY tests/compare_outputs.py "$tmp/ref.nc" "$tmp/cd.nc" >"$tmp/cd.cmp" 2>&1; then
  pass "$name"
else
  echo "interrupt exit $rc1, done file '$done_file', resume exit $rc2" >"$tmp/why"
  fail "$name" "$tmp/why" "$tmp/cd2.log" "$tmp/cd.cmp"
fi

fi # corrupt_done

# --- 7. a reference that cannot be computed --------------------------------------------
if want reference; then
$PY - "$tmp/xor.nc" <<'PYEOF'
import sys, numpy as np, netCDF4
rng = np.random.default_rng(3)
n = 40; x = np.zeros((n, 3)); y = np.zeros(n, dtype=np.int32)
for i in range(n):
    c = i % 4; r = 1 + 0.1 * rng.uniform()
    x[i, :2] = [(r, 0), (-r, 0), (0, r), (0, -r)][c]; x[i, :2] += 0.05 * rng.standard_normal(2)
    y[i] = 1 if c < 2 else 0
with netCDF4.Dataset(sys.argv[1], "w") as d:
    d.createDimension("sample", n); d.createDimension("feature", 3)
    d.createVariable("x", "f8", ("sample", "feature"))[:] = x
    d.createVariable("y", "i4", ("sample",))[:] = y
PYEOF
printf '[experiment]\nseeds = 2\n[data]\nkind = netcdf\npath = %s\nn_train = 40\nn_test = 0\nstandardize = false\n[model]\nkind = mlp\ndepth = 2\nwidth = 20\n[loss]\nkind = exponential\nreduction = sum\n[optim]\nschedule = loss_based\nlr = 0.01\nsteps = 3000\n[measure]\nevery = 1000\nreference = svm\n' "$tmp/xor.nc" >"$tmp/xor.ini"
"$BL" run "$tmp/xor.ini" -o "$tmp/xor_out.nc" >"$tmp/x.log" 2>&1
rc=$?
"$BL" info "$tmp/xor_out.nc" >"$tmp/x.info" 2>&1
name="no separating hyperplane through the origin: said in the log and in reference_status; the planar LP still gives margin_best"
if [ "$rc" -eq 0 ] && grep -q 'no hyperplane through the origin separates' "$tmp/x.log" &&
   grep -q 'reference_status *svm_missing_lp_ok 2' "$tmp/x.info" &&
   $PY tests/check_output.py "$tmp/xor_out.nc" >"$tmp/x.chk" 2>&1 &&
   $PY tests/check_final.py "$tmp/xor_out.nc" margin_ratio '>' 0.9 >>"$tmp/x.chk" 2>&1; then
  pass "$name"
else
  echo "a reference that cannot be computed (exit $rc)" >"$tmp/why"; fail "$name" "$tmp/why" "$tmp/x.log" "$tmp/x.info" "$tmp/x.chk"
fi
fi # reference
exit $failed
