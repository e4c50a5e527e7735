#!/bin/bash
# The whole test suite, in sections:
#   deps      the dependency check against stub package databases and MPIs
#   unit      CUnit unit tests (and that a failed suite setup counts)
#   golden    the golden battery against its pinned results (tests/golden)
#   mpi       ensemble runs bitwise identical on 1, 2 and 3 ranks; data-parallel
#             groups against group_size 1; Hessian spectra through ScaLAPACK
#   output    the output contract, the checkers' own self-test, slices
#   science   the phenomena of SCIENCE.md on shortened inputs; real data
#   resume    signals, kill -9 and resuming from the saved state
#   faults    two runs on one output, a full disk, double SIGTERM, changed
#             data, bad output paths, leftover checkpoints, missing references
#   cli       the command line, its errors, its files and its lines
#   slurm     the job scripts against a real slurmctld and slurmd
#   sanitize  ASan/UBSan unit tests, valgrind, the fuzz corpus
#   mutants   the mutation check (tests/mutants): each deliberate bug must
#             make its tests fail
#   tests/run_all.sh [SECTION...]    (default: all, in this order)
# Ends with one line "N passed, N failed"; exits non-zero when anything
# failed or did not run. Every command's failure counts, pipelines included:
# pipefail here and in every bash -c block (not exported through SHELLOPTS,
# which would make system scripts such as ldd fail on their own unset
# variables).
set -u -o pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
PY=/usr/bin/python3
BL=${BL:-bin/biaslab}
ROOT=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
skipped=0 # checks a script could not run on this machine (it says why)
all_sections="deps unit golden mpi output science resume faults cli slurm sanitize mutants"
sections=${*:-$all_sections}
for s in $sections; do
  case " $all_sections " in *" $s "*) ;; *) echo "run_all.sh: unknown section '$s' (sections: $all_sections)" >&2; exit 2 ;; esac
done

# BL_TEST_TIMES=1 adds each check's seconds (since the previous one) to its line
check_t0=$SECONDS
took() { took=""; [ "${BL_TEST_TIMES:-0}" = 1 ] && took=" [$((SECONDS - check_t0)) s]"; check_t0=$SECONDS; }
pass() { took; passed=$((passed + 1)); echo "PASS $1$took"; }
fail() { took; failed=$((failed + 1)); echo "FAIL $1$took"; [ -f "$tmp/log" ] && sed 's/^/    | /' "$tmp/log" | tail -25; }

# expect NAME COMMAND...: the command succeeds
expect() {
  local name=$1; shift
  if "$@" >"$tmp/log" 2>&1; then pass "$name"; else fail "$name (exit $?)"; fi
}

# refuse NAME CODE PATTERN COMMAND...: the command exits CODE, its stderr
# matches every |-separated PATTERN, and it writes no output file.
refuse() {
  local name=$1 code=$2 patterns=$3; shift 3
  rm -rf "$tmp/out"; mkdir -p "$tmp/out"
  "$@" >"$tmp/log" 2>&1
  local rc=$?
  if [ "$rc" -ne "$code" ]; then fail "$name (exit $rc, wanted $code)"; return; fi
  local IFS='|'
  for p in $patterns; do
    grep -qF -- "$p" "$tmp/log" || { fail "$name (message lacks '$p')"; return; }
  done
  if [ -n "$(ls -A "$tmp/out")" ]; then fail "$name (left files: $(ls "$tmp/out"))"; return; fi
  pass "$name"
}

run_mpi() { local ranks=$1; shift; mpirun -np "$ranks" "$BL" run "$@"; }

# run_script LABEL COMMAND...: a script that prints its own PASS/FAIL lines.
# Each line counts; so does the script's exit status (a script that dies
# after K checks must not read as K passes), and a script that checks
# nothing is a failure.
run_script() {
  local label=$1; shift
  "$@" >"$tmp/script.log" 2>&1
  local rc=$?
  grep -E '^(PASS|FAIL|SKIP) ' "$tmp/script.log" | sed "s/^/$label: /"
  [ "${BL_TEST_TIMES:-0}" = 1 ] && echo "($label: $((SECONDS - check_t0)) s)"
  check_t0=$SECONDS
  local p f
  p=$(grep -c '^PASS ' "$tmp/script.log")
  f=$(grep -c '^FAIL ' "$tmp/script.log")
  skipped=$((skipped + $(grep -c '^SKIP ' "$tmp/script.log")))
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    cp "$tmp/script.log" "$tmp/log"; fail "$label: the script checked nothing (exit $rc)"
  elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    cp "$tmp/script.log" "$tmp/log"; fail "$label: the script exited $rc after $p passes"
  elif [ "$f" -ne 0 ]; then
    tail -30 "$tmp/script.log" | sed 's/^/    | /'
  fi
}

cfg=tests/configs/mpi_small.ini
rcfg=tests/configs/resume.ini
# ensure NAME: results that several sections compare against, made once.
ensure() {
  case $1 in
    ens1) [ -f "$tmp/ens1.nc" ] || run_mpi 1 "$cfg" -o "$tmp/ens1.nc" >/dev/null 2>&1 ;;
    quick) [ -f "$tmp/quick.nc" ] || run_mpi 2 inputs/quickstart.ini -o "$tmp/quick.nc" --set optim.steps=4000 >/dev/null 2>&1 ;;
    hs1) [ -f "$tmp/hs1.nc" ] || run_mpi 2 "$cfg" -o "$tmp/hs1.nc" --set measure.hessian_spectrum=first_last --set measure.sharpness=lanczos --set measure.sharpness_tol=1e-10 --set measure.density=first_last --set measure.trace_probes=8 >/dev/null 2>&1 ;;
  esac
}

section_deps() {
  echo "== dependencies: detection against stub package databases and MPIs"
  run_script deps bash tests/deps/check_detection.sh
}

section_unit() {
  echo "== unit tests (CUnit)"
  bin/test_unit >"$tmp/unit.log" 2>&1
  unit_rc=$?
  summary=$(grep '^unit-summary' "$tmp/unit.log")
  if [ -z "$summary" ]; then
    cp "$tmp/unit.log" "$tmp/log"; fail "unit tests crashed (exit $unit_rc, no summary)"
  else
    grep -E 'FAILED|^    [0-9]+\.|^test_unit:|suite:' "$tmp/unit.log" | sed 's/^/    | /'
    tests=$(echo "$summary" | sed -E 's/^unit-summary tests=([0-9]+) .*/\1/')
    bad=$(echo "$summary" | sed -E 's/.* failed_tests=([0-9]+) .*/\1/')
    [ "$tests" -gt 0 ] || { bad=1; tests=1; echo "    | no unit test ran"; }
    passed=$((passed + tests - bad))
    failed=$((failed + bad))
    echo "unit: $((tests - bad)) of $tests tests passed"
    # the exit code must agree with the summary
    if [ "$unit_rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
      cp "$tmp/unit.log" "$tmp/log"; fail "unit tests exited $unit_rc with every test passed"
    fi
  fi
  run_script layering bash tests/check_layering.sh
  expect "a unit suite whose setup fails counts its tests as failed" bash -o pipefail -c "
    TMPDIR=$tmp/no/such/dir bin/test_unit >$tmp/unit_nosetup.log 2>&1; rc=\$?
    [ \$rc -ne 0 ] && grep -q 'failed_tests=[1-9].* not_run=[1-9]' $tmp/unit_nosetup.log"

}

section_golden() {
  echo "== golden results (tests/golden/battery.txt)"
  run_script golden bash tests/golden/run.sh
}

section_mpi() {
  echo "== MPI runs"
  for n in 1 2 3; do
    expect "ensemble run on $n ranks" run_mpi "$n" "$cfg" -o "$tmp/ens$n.nc" --force
  done
  expect "ensemble results bitwise identical, 1 vs 2 ranks" $PY tests/compare_outputs.py "$tmp/ens1.nc" "$tmp/ens2.nc"
  expect "ensemble results bitwise identical, 1 vs 3 ranks" $PY tests/compare_outputs.py "$tmp/ens1.nc" "$tmp/ens3.nc"
  # 31 records: the end-of-run statistics are dealt out in 4 lanes of 8
  # records, 1 + 1 + 2 on 3 ranks, so every rank computes some
  expect "statistics spread over 3 ranks = computed on 1 (31 records)" bash -c "set -o pipefail
    $BL run $cfg --set measure.every=10 -o $tmp/st1.nc --force >/dev/null 2>&1 &&
    mpirun -np 3 $BL run $cfg --set measure.every=10 -o $tmp/st3.nc --force >/dev/null 2>&1 &&
    $PY tests/compare_outputs.py $tmp/st1.nc $tmp/st3.nc"
  expect "output contract (ensemble, 2 ranks)" $PY tests/check_output.py "$tmp/ens2.nc" --points 2 --seeds 5
  expect "diag_linear ensemble bitwise identical, 1 vs 2 ranks (its products are loops, not thread-split GEMVs)" bash -o pipefail -c "
    for n in 1 2; do mpirun -np \$n $BL run inputs/grok_sparse.ini -o $tmp/diag\$n.nc --set data.dim=300 --set data.n_train=50 --set data.n_test=100 --set optim.steps=2000 --set experiment.seeds=3 || exit 1; done &&
    $PY tests/compare_outputs.py $tmp/diag1.nc $tmp/diag2.nc"
  expect "factorization ensemble bitwise identical, 1 vs 2 ranks (loops, and LAPACK's spectra on one BLAS thread)" bash -o pipefail -c "
    for n in 1 2; do mpirun -np \$n $BL run inputs/grok_matrix.ini -o $tmp/fact\$n.nc --set data.size=60 --set data.observed=0.1 --set optim.steps=300 --set experiment.seeds=3 || exit 1; done &&
    $PY tests/compare_outputs.py $tmp/fact1.nc $tmp/fact2.nc"
  expect "data-parallel run, group_size 2 on 2 ranks" run_mpi 2 "$cfg" -o "$tmp/dp2.nc" --set parallel.group_size=2
  expect "data-parallel run, two groups of 2 on 4 ranks" run_mpi 4 "$cfg" -o "$tmp/dp4.nc" --set parallel.group_size=2
  expect "group_size 2 agrees with group_size 1 to 1e-9" $PY tests/compare_outputs.py "$tmp/ens1.nc" "$tmp/dp2.nc" --rtol 1e-9
  expect "data-parallel reproducible across group counts" $PY tests/compare_outputs.py "$tmp/dp2.nc" "$tmp/dp4.nc"
  expect "full-batch gd, group_size 2 agrees to 1e-9" bash -o pipefail -c "
    mpirun -np 1 $BL run inputs/quickstart.ini -o $tmp/q1.nc --set optim.steps=600 --set experiment.seeds=3 &&
    mpirun -np 2 $BL run inputs/quickstart.ini -o $tmp/q2.nc --set optim.steps=600 --set experiment.seeds=3 --set parallel.group_size=2 &&
    $PY tests/compare_outputs.py $tmp/q1.nc $tmp/q2.nc --rtol 1e-9"
  expect "adam and adamw (batches with replacement): 1 vs 2 ranks bitwise, group_size 2 agrees to 1e-9, output contract" bash -o pipefail -c "
    mpirun -np 1 $BL run inputs/adam_quickstart.ini -o $tmp/a1.nc --set optim.steps=600 --set experiment.seeds=3 &&
    mpirun -np 2 $BL run inputs/adam_quickstart.ini -o $tmp/a2.nc --set optim.steps=600 --set experiment.seeds=3 &&
    mpirun -np 2 $BL run inputs/adam_quickstart.ini -o $tmp/ag.nc --set optim.steps=600 --set experiment.seeds=3 --set parallel.group_size=2 &&
    $PY tests/compare_outputs.py $tmp/a1.nc $tmp/a2.nc &&
    $PY tests/compare_outputs.py $tmp/a1.nc $tmp/ag.nc --rtol 1e-9 &&
    $PY tests/check_output.py $tmp/a2.nc --points 2 --seeds 3"
  expect "Lanczos sharpness, group_size 2 agrees with 1 (to its tolerance)" bash -o pipefail -c "
    mpirun -np 2 $BL run $cfg -o $tmp/sh1.nc --set measure.sharpness=lanczos --set measure.sharpness_tol=1e-9 &&
    mpirun -np 2 $BL run $cfg -o $tmp/sh2.nc --set measure.sharpness=lanczos --set measure.sharpness_tol=1e-9 --set parallel.group_size=2 &&
    $PY tests/compare_outputs.py $tmp/sh1.nc $tmp/sh2.nc --rtol 1e-6 --skip sharpness_residual"
  expect "ScaLAPACK Hessian spectrum: top = Lanczos sharpness, groups of 1 and 2 agree; SLQ nodes inside it" bash -o pipefail -c "
    for g in 1 2; do mpirun -np 2 $BL run $cfg -o $tmp/hs\$g.nc --set measure.hessian_spectrum=first_last --set measure.sharpness=lanczos --set measure.sharpness_tol=1e-10 --set measure.density=first_last --set measure.trace_probes=8 --set parallel.group_size=\$g --force || exit 1; done &&
    $PY tests/check_spectrum.py $tmp/hs1.nc $tmp/hs2.nc && $PY tests/check_output.py $tmp/hs2.nc"
  expect "top-k, smallest eigenvalue and Hutchinson trace (with its blocks) against the ScaLAPACK spectrum" bash -o pipefail -c "
    mpirun -np 2 $BL run $cfg -o $tmp/hsk.nc --set measure.hessian_spectrum=first_last --set measure.sharpness=lanczos --set measure.sharpness_tol=1e-10 --set measure.sharpness_k=3 --set measure.min_eigenvalue=true --set measure.trace_probes=8 &&
    $PY tests/check_spectrum.py $tmp/hsk.nc --no-density && $PY tests/check_output.py $tmp/hsk.nc"
  expect "output contract (data-parallel)" $PY tests/check_output.py "$tmp/dp2.nc"
  expect "measure.spectrum_solver = pdsyev gives pdsyevd's spectrum (to 1e-10), all else bitwise" bash -o pipefail -c "
    mpirun -np 2 $BL run $cfg -o $tmp/hsev.nc --set measure.hessian_spectrum=first_last --set measure.sharpness=lanczos --set measure.sharpness_tol=1e-10 --set measure.density=first_last --set measure.trace_probes=8 --set measure.spectrum_solver=pdsyev &&
    $PY tests/compare_outputs.py $tmp/hs1.nc $tmp/hsev.nc --skip config --skip hessian_eigenvalues &&
    $PY tests/check_spectra_agree.py $tmp/hs1.nc $tmp/hsev.nc --rtol 1e-10 &&
    $PY tests/check_spectrum.py $tmp/hs1.nc $tmp/hsev.nc &&
    ! $PY tests/compare_outputs.py $tmp/hs1.nc $tmp/hsev.nc --skip config >/dev/null"
  expect "ScaLAPACK eigenvalues = LAPACK on 1, 2 and 4 ranks" bash tests/mpi/run_scalapack_test.sh

}

section_output() {
  ensure ens1
  ensure hs1
  echo "== quickstart output"
  # --force: the cli section may have made the same file already (ensure quick)
  expect "quickstart (shortened) on 2 ranks" run_mpi 2 inputs/quickstart.ini -o "$tmp/quick.nc" --set optim.steps=4000 --force
  expect "quickstart output contract" $PY tests/check_output.py "$tmp/quick.nc" --points 1 --seeds 16
  expect "quickstart: margin rises after the data is fit" $PY tests/check_margin_rises.py "$tmp/quick.nc"
  expect "info prints a table" bash -o pipefail -c "$BL info $tmp/quick.nc >$tmp/info.txt && grep -q 'normalized_margin' $tmp/info.txt"
  expect "info --json: the same table as JSON, checked against the file" $PY tests/check_info_json.py "$BL" "$tmp/quick.nc"
  expect "plot script writes a PNG" bash -o pipefail -c "$PY postprocess/plot_metric.py $tmp/quick.nc --metric normalized_margin --out $tmp/m.png && test -s $tmp/m.png"
  expect "pair_mlp on modular_add (p = 23, 2 ranks): output contract, kernel_test_acc in info" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/grok_modadd.ini -o $tmp/modadd.nc --force --set data.modulus=23 --set optim.steps=300 &&
    $PY tests/check_output.py $tmp/modadd.nc --points 1 --seeds 2 && $BL info $tmp/modadd.nc >$tmp/modadd_info.txt && grep -q 'kernel_test_acc' $tmp/modadd_info.txt"
  run_script checkers bash tests/checkers/selftest.sh
  run_script report bash tests/report/run_report_test.sh
  expect "save_params first_last and records keep final's vectors, and nothing else changes" bash -o pipefail -c "
    for sp in final first_last records; do mpirun -np 2 $BL run $cfg -o $tmp/sp_\$sp.nc --set measure.save_params=\$sp || exit 1; done &&
    $PY tests/check_saved_params.py $tmp/sp_final.nc $tmp/sp_first_last.nc $tmp/sp_records.nc &&
    $PY tests/compare_outputs.py $tmp/sp_final.nc $tmp/sp_records.nc --skip params --skip config &&
    $PY tests/check_output.py $tmp/sp_first_last.nc $tmp/sp_records.nc"
  refuse "save_params = records beyond 2^27 doubles per task is refused, with the figures" 2 "records x 90112 parameters|first_last" "$BL" check inputs/quickstart.ini --set measure.save_params=records --set model.width=8192 --set measure.every=1 --set optim.steps=2000
  expect "three slices merge to the one-run result, bitwise" bash -o pipefail -c "
    for k in 0 1 2; do mpirun -np 2 $BL run $cfg -o $tmp/slice\$k.nc --slice \$k/3 || exit 1; done &&
    $PY tests/check_output.py --allow-not-run $tmp/slice0.nc $tmp/slice1.nc $tmp/slice2.nc &&
    $BL merge $tmp/merged.nc $tmp/slice0.nc $tmp/slice1.nc $tmp/slice2.nc &&
    $PY tests/check_output.py $tmp/merged.nc &&
    $PY tests/compare_outputs.py $tmp/ens1.nc $tmp/merged.nc"
  expect "sqrt scaling rule: each point's kappa, lr, betas, eps, steps and every, epoch(record), in info, the compared curves' distances, and slices merge" bash -o pipefail -c "
    mpirun -np 2 $BL run tests/configs/sqrt_rule.ini -o $tmp/rule.nc --set measure.compare=train_loss,test_acc &&
    $PY tests/check_output.py $tmp/rule.nc --points 4 --seeds 2 &&
    grep -q 'train_loss_distance=0 test_acc_distance=0\$' <($BL info $tmp/rule.nc | grep '^point 0:') &&
    test \$($BL info $tmp/rule.nc | grep -c 'train_loss_distance=') = 4 &&
    $BL info $tmp/rule.nc >$tmp/rule_info.txt && grep -q 'optim_batch_size=128 kappa=8 resolved_optim_lr=0.00282843 resolved_optim_beta1=0.2 resolved_optim_beta2=0.92 resolved_optim_eps=3.53553e-09 resolved_optim_steps=200 resolved_measure_every=20' $tmp/rule_info.txt &&
    $PY tests/check_info_json.py $BL $tmp/rule.nc &&
    for k in 0 1; do mpirun -np 2 $BL run tests/configs/sqrt_rule.ini -o $tmp/rslice\$k.nc --slice \$k/2 --set measure.compare=train_loss,test_acc || exit 1; done &&
    $BL merge $tmp/rmerged.nc $tmp/rslice0.nc $tmp/rslice1.nc &&
    $PY tests/compare_outputs.py $tmp/rule.nc $tmp/rmerged.nc"
  expect "SVAG: each l's resolved lr, steps and record spacing, output contract, info" bash -o pipefail -c "
    mpirun -np 2 $BL run tests/configs/svag.ini -o $tmp/svag.nc &&
    $PY tests/check_output.py $tmp/svag.nc --points 3 --seeds 2 &&
    $BL info $tmp/svag.nc >$tmp/svag_info.txt &&
    grep -q 'optim_svag_l=4 resolved_optim_lr=0.05 .*resolved_optim_steps=1600 resolved_measure_every=160' $tmp/svag_info.txt"
  expect "SGD's SDE by Euler-Maruyama: each m's resolved lr, steps and record spacing, output contract, distances" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/sde_quadratic.ini -o $tmp/sde.nc --set optim.steps=400 --set experiment.seeds=4 &&
    $PY tests/check_output.py $tmp/sde.nc --points 4 --seeds 4 &&
    $BL info $tmp/sde.nc >$tmp/sde_info.txt && grep -q 'optim_sde_substeps=16 resolved_optim_lr=0.00625 .*resolved_optim_steps=6400 resolved_measure_every=800 train_loss_distance=' $tmp/sde_info.txt"
  refuse "sde_substeps off SGD on the noisy quadratic is refused" 2 "sde_substeps = 64 integrates SGD's SDE|got adam" "$BL" check inputs/sde_quadratic.ini --set optim.kind=adam
  refuse "the sqrt rule past 1 - kappa (1 - beta) <= 0 is refused, naming the point, kappa and beta" 2 "sweep point 1 of 2 (optim.batch_size = 256)|kappa = 16 makes optim.beta1 = 1 - kappa (1 - 0.9) = -0.6" "$BL" check tests/configs/sqrt_rule.ini --set sweep.optim.batch_size=16,256
  refuse "measure.compare naming no metric is refused" 2 "measure.compare: 'trian_loss' is not a metric" "$BL" check tests/configs/sqrt_rule.ini --set measure.compare=train_loss,trian_loss
  refuse "measure.compare naming a metric the run does not record is refused" 2 "does not record sharpness" "$BL" check tests/configs/sqrt_rule.ini --set measure.compare=sharpness
  refuse "a scaling rule with log-spaced records is refused" 2 "needs measure.spacing = linear" "$BL" check tests/configs/sqrt_rule.ini --set measure.spacing=log
  refuse "SVAG with log-spaced records is refused" 2 "svag_l = 2 records at the plain optimizer's times" "$BL" check tests/configs/svag.ini --set measure.spacing=log
  expect "slices with spectra and densities merge to the one-run result, bitwise" bash -o pipefail -c "
    for k in 0 1; do mpirun -np 2 $BL run $cfg -o $tmp/sslice\$k.nc --slice \$k/2 --set measure.hessian_spectrum=first_last --set measure.sharpness=lanczos --set measure.sharpness_tol=1e-10 --set measure.density=first_last --set measure.trace_probes=8 || exit 1; done &&
    $PY tests/check_output.py --allow-not-run $tmp/sslice0.nc $tmp/sslice1.nc &&
    $BL merge $tmp/smerged.nc $tmp/sslice0.nc $tmp/sslice1.nc &&
    $PY tests/check_output.py $tmp/smerged.nc &&
    $PY tests/compare_outputs.py $tmp/hs1.nc $tmp/smerged.nc"
  expect "gradient noise: auto picks exact for a small set, grad_norm_sq = grad_norm^2, output contract; data-parallel agrees" bash -o pipefail -c "
    mpirun -np 2 $BL run $cfg -o $tmp/noise.nc --set optim.kind=sgd --set measure.noise=auto --set experiment.seeds=2 &&
    mpirun -np 2 $BL run $cfg -o $tmp/noise_dp.nc --set optim.kind=sgd --set measure.noise=auto --set experiment.seeds=2 --set parallel.group_size=2 &&
    $PY tests/check_output.py $tmp/noise.nc $tmp/noise_dp.nc &&
    $PY -c \"
import netCDF4, numpy as np, sys
a, b = netCDF4.Dataset('$tmp/noise.nc'), netCDF4.Dataset('$tmp/noise_dp.nc')
assert (a['noise_exact'][:] == 1).all(), 'auto should pick exact: n_train 96 <= 64 x 24'
g = np.asarray(a['grad_norm'][:]); assert np.allclose(a['grad_norm_sq'][:], g * g, rtol=1e-12, atol=0)
for v in ('grad_norm_sq', 'noise_trace', 'noise_ratio'):
    x, y = np.asarray(a[v][:]), np.asarray(b[v][:])
    assert np.all(x[:, :, 0] > 0) and np.allclose(x, y, rtol=1e-9, atol=0), v
print('noise: trace at init', float(a['noise_trace'][0, 0, 0]), 'ratio', float(a['noise_ratio'][0, 0, 0]))
\""
  refuse "gradient noise on a data-free model is refused" 2 "measure.noise = exact needs a model trained on examples" "$BL" check inputs/eos_quadratic.ini --set measure.noise=exact
  refuse "overlapping slices are refused" 2 "both|slice0.nc" "$BL" merge "$tmp/out/m.nc" "$tmp/slice0.nc" "$tmp/slice0.nc"
  refuse "slices of different configs are refused" 2 "another config" "$BL" merge "$tmp/out/m.nc" "$tmp/slice0.nc" "$tmp/quick.nc"

}

section_science() {
  echo "== issue 13: grokking (diagonal nets)"
  expect "grok_sparse (shortened, dim 1000): kernel phase below 0.8 test accuracy with norm decay (1 - eta lambda)^k, then grok_step in [0.4, 1.2] t*, l2 -> l1 classifier" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/grok_sparse.ini -o $tmp/grok.nc --set data.dim=1000 --set data.n_train=150 --set data.n_test=500 --set optim.weight_decay=0.05 --set optim.steps=15000 --set experiment.seeds=2 --set measure.reference=svm &&
    $PY tests/check_grokking.py $tmp/grok.nc && $PY tests/check_output.py $tmp/grok.nc"
  expect "grok_sweep (shortened): slope of grok_step*eta*lambda on ln alpha in [0.7, 1.3]" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/grok_sweep.ini -o $tmp/gsweep.nc --set data.dim=400 --set data.n_train=100 --set data.n_test=200 --set optim.steps=14000 --set experiment.seeds=2 --set sweep.model.init_scale=8,32,128 --set sweep.optim.weight_decay=0.05 --set measure.per_decade=20 &&
    $PY postprocess/grok_slope.py $tmp/gsweep.nc --min-slope 0.7 --max-slope 1.3 && $PY tests/check_output.py $tmp/gsweep.nc"
  expect "misgrok (shortened): test accuracy >= 0.95 in the kernel phase, then below drop_threshold (ungrok_step before 3 t*)" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/misgrok.ini -o $tmp/misgrok.nc --set optim.steps=16000 --set experiment.seeds=2 &&
    $PY tests/check_grokking.py $tmp/misgrok.nc --misgrok && $PY tests/check_output.py $tmp/misgrok.nc"
  expect "grok_matrix (shortened, 3000 steps): test MSE on the kernel plateau within 1% (numpy's kernel predictor on the rebuilt observed set), norm decay (1 - eta lambda)^k" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/grok_matrix.ini -o $tmp/gmatrix.nc --set optim.steps=3000 &&
    $PY tests/check_completion.py $tmp/gmatrix.nc && $PY tests/check_output.py $tmp/gmatrix.nc"
  expect "grok_nowd (shortened): without weight decay the constant rate stays at the L2 classifier, the loss-based rate reaches the L1 one" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/grok_nowd.ini -o $tmp/gnowd.nc --set optim.steps=3000 &&
    $PY tests/check_output.py $tmp/gnowd.nc &&
    $PY tests/check_final.py $tmp/gnowd.nc test_acc '<' 0.7 --point 0 && $PY tests/check_final.py $tmp/gnowd.nc l1_cosine '>' 0.9 --point 1"
  echo "== issue 14: scaling rules on the noisy quadratic"
  expect "sqrt_rule_quadratic: the sqrt rule keeps E f within the CI across kappa 1..8, the linear rule grows it as sqrt(kappa)" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/sqrt_rule_quadratic.ini -o $tmp/sq.nc &&
    $PY tests/check_sqrt_rule.py $tmp/sq.nc && $PY tests/check_output.py $tmp/sq.nc"
  echo "== issue 3: references and real data"
  expect "margin_svm (shortened): svm_cosine > 0.999" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/margin_svm.ini -o $tmp/svm.nc --set experiment.seeds=4 &&
    $PY tests/check_output.py $tmp/svm.nc &&
    $PY tests/check_final.py $tmp/svm.nc svm_cosine '>' 0.999 &&
    $PY tests/check_references.py $tmp/svm.nc --model linear"
  expect "info --json on a file with reference outcomes (flags, margins)" $PY tests/check_info_json.py "$BL" "$tmp/svm.nc"
  expect "simplicity_asymmetric (shortened): small init ends below the exact optimum, large init reaches it" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/simplicity_asymmetric.ini -o $tmp/asym.nc --set experiment.seeds=8 --set optim.steps=12000 --set sweep.model.init_scale=1e-6,1 &&
    $PY tests/check_asymmetric_gap.py $tmp/asym.nc && $PY tests/check_output.py $tmp/asym.nc"
  refuse "asymmetric data with too few examples is refused" 2 "data.n_train >= 16|16 slots" "$BL" check inputs/simplicity_asymmetric.ini --set data.n_train=8
  refuse "a fixed last layer on a linear model (nothing would train) is refused" 2 "train_last = false needs model.kind = mlp" "$BL" check inputs/margin_linear.ini --set model.train_last=false
  refuse "normalization on a linear model (no hidden layer) is refused" 2 "normalize = true needs model.kind = mlp" "$BL" check inputs/margin_linear.ini --set model.normalize=true --set model.bias=false
  expect "Fashion-MNIST two-class run" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/margin_fashion.ini -o $tmp/fm.nc --set data.n_train=200 --set data.n_test=100 --set optim.steps=50 --set measure.every=10 --set experiment.seeds=2 &&
    $PY tests/check_output.py $tmp/fm.nc"
  cat >"$tmp/ds.cdl" <<'CDL'
  netcdf ds {
  dimensions: sample = 6 ; feature = 2 ;
  variables: double x(sample, feature) ; int y(sample) ;
  data:
   x = 1, 2, 2, 1, 3, 3, -1, -2, -2, -1, -3, -3 ;
   y = 1, 1, 1, 0, 0, 0 ;
  }
CDL
  printf '[data]\nkind = netcdf\npath = %s\nn_train = 6\nn_test = 0\n[model]\nkind = linear\n[optim]\nsteps = 100\n' "$tmp/ds.nc" >"$tmp/ds.ini"
  expect "a user's NetCDF data set trains" bash -o pipefail -c "
    ncgen -o $tmp/ds.nc $tmp/ds.cdl && mpirun -np 1 $BL run $tmp/ds.ini -o $tmp/dsout.nc &&
    $PY tests/check_output.py $tmp/dsout.nc && $PY tests/check_final.py $tmp/dsout.nc train_acc == 1"
  expect "diag_linear trains on a user's NetCDF data set, with its L2 and L1 margin references" bash -o pipefail -c "
    mpirun -np 1 $BL run $tmp/ds.ini -o $tmp/dsdiag.nc --set model.kind=diag_linear --set measure.reference=svm &&
    $PY tests/check_output.py $tmp/dsdiag.nc && $PY tests/check_final.py $tmp/dsdiag.nc train_acc == 1 &&
    $PY tests/check_final.py $tmp/dsdiag.nc l1_cosine '>' 0.9"
  printf '[data]\nkind = netcdf\npath = %s\nn_train = 60\nn_test = 20\nstandardize = false\n[model]\nkind = linear\n[loss]\nkind = squared\n[optim]\nlr = 0.2\nsteps = 3000\n[measure]\nevery = 500\n[experiment]\nseeds = 2\n' "$tmp/reg.nc" >"$tmp/reg.ini"
  expect "regression on real targets (NetCDF 'target') reaches the least-squares optimum" bash -o pipefail -c "
    $PY tests/check_regression.py make $tmp/reg.nc && mpirun -np 2 $BL run $tmp/reg.ini -o $tmp/regout.nc &&
    $PY tests/check_output.py $tmp/regout.nc && $PY tests/check_regression.py verify $tmp/reg.nc $tmp/regout.nc"
  expect "a NetCDF file's sizes are data.n_train and data.n_test unless the config gives them" bash -o pipefail -c "
    printf '[data]\\nkind = netcdf\\npath = %s\\n[model]\\nkind = linear\\n[loss]\\nkind = squared\\n' $tmp/reg.nc >$tmp/regauto.ini &&
    $BL check $tmp/regauto.ini >$tmp/regauto.txt && grep -qx 'n_train = 60' $tmp/regauto.txt && grep -qx 'n_test = 20' $tmp/regauto.txt &&
    $BL check $tmp/regauto.ini --set data.n_train=7 | grep -qx 'n_train = 7'"
  printf '[data]\nkind = netcdf\npath = %s\nstandardize = false\nn_test = 0\n[model]\nkind = linear\n[optim]\nsteps = 400\n[measure]\nevery = 400\nsave_params = final\n[experiment]\nseeds = 3\n[sweep]\noptim.lr = 0.5, 2\n' "$tmp/ns.nc" >"$tmp/ns.ini"
  expect "near-support counts and normalized margin recomputed from the final parameters" bash -o pipefail -c "
    $PY tests/check_near_support.py make $tmp/ns.nc && mpirun -np 2 $BL run $tmp/ns.ini -o $tmp/nsout.nc &&
    $PY tests/check_near_support.py verify $tmp/ns.nc $tmp/nsout.nc && $PY tests/check_output.py $tmp/nsout.nc"
  refuse "real targets with a classification loss are refused" 2 "needs class labels|loss.kind = squared" "$BL" check "$tmp/reg.ini" --set loss.kind=logistic
  refuse "a missing data file is named" 2 "nope.nc" run_mpi 1 "$tmp/ds.ini" -o "$tmp/out/x.nc" --set data.path="$tmp/nope.nc"
  expect "sharpness reduction (shortened): lr*lambda_1 reaches [1.8, 2.2], spherical sharpness falls" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/sharpness_reduction.ini -o $tmp/sr.nc --set experiment.seeds=4 --set optim.steps=4000 &&
    $PY tests/check_edge_of_stability.py $tmp/sr.nc && $PY tests/check_output.py $tmp/sr.nc"
  expect "measure.sharpness = power finds the quadratic's top eigenvalue (10)" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/eos_quadratic.ini -o $tmp/eosp.nc --set measure.sharpness=power --set measure.sharpness_tol=1e-12 --set measure.sharpness_iters=3000 --set optim.steps=200 &&
    for k in 0 1 2; do $PY tests/check_final.py $tmp/eosp.nc sharpness '>' 9.99999999 --point \$k &&
      $PY tests/check_final.py $tmp/eosp.nc sharpness '<' 10.00000001 --point \$k || exit 1; done &&
    $PY tests/check_output.py $tmp/eosp.nc"
  expect "Fashion-MNIST: data.select picks the classes, standardize = false changes the inputs" bash -o pipefail -c "
    common='--set data.n_train=100 --set data.n_test=50 --set optim.steps=20 --set measure.every=10 --set experiment.seeds=1' &&
    mpirun -np 2 $BL run inputs/margin_fashion.ini -o $tmp/fsel06.nc \$common &&
    mpirun -np 2 $BL run inputs/margin_fashion.ini -o $tmp/fsel09.nc \$common --set data.select=0,9 &&
    mpirun -np 2 $BL run inputs/margin_fashion.ini -o $tmp/fraw.nc \$common --set data.standardize=false &&
    $PY tests/check_output.py $tmp/fsel09.nc && $PY tests/check_output.py $tmp/fraw.nc &&
    ! $PY tests/compare_outputs.py $tmp/fsel06.nc $tmp/fsel09.nc --skip config --skip title >/dev/null &&
    ! $PY tests/compare_outputs.py $tmp/fsel06.nc $tmp/fraw.nc --skip config --skip title >/dev/null"
  expect "loss-based gd: the loss never rises from record to record, the last epoch included" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/quickstart.ini -o $tmp/lbgd.nc --set optim.schedule=loss_based --set optim.steps=3000 --set measure.every=100 --set experiment.seeds=8 &&
    $PY tests/check_output.py $tmp/lbgd.nc && $PY tests/check_loss_based.py $tmp/lbgd.nc --monotone"
  expect "momentum with the loss-based rate keeps making progress (momentum restarts on an undo)" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/quickstart.ini -o $tmp/lbmom.nc --set optim.kind=momentum --set optim.schedule=loss_based --set optim.lr=0.1 --set optim.steps=2000 --set measure.every=250 --set experiment.seeds=4 &&
    $PY tests/check_output.py $tmp/lbmom.nc && $PY tests/check_loss_based.py $tmp/lbmom.nc --min-drop 100 --max-undone 0.75"
  same_trajectory() {
    local common='--set optim.kind=sgd --set optim.batch_size=20 --set optim.schedule=loss_based --set loss.reduction=sum --set optim.lr=0.1 --set optim.steps=2000 --set experiment.seeds=2 --set measure.save_params=final'
    # shellcheck disable=SC2086
    mpirun -np 2 "$BL" run inputs/quickstart.ini -o "$tmp/every1000.nc" $common --set measure.every=1000 &&
      mpirun -np 2 "$BL" run inputs/quickstart.ini -o "$tmp/every1.nc" $common --set measure.every=1 &&
      mpirun -np 2 "$BL" run inputs/quickstart.ini -o "$tmp/every50m.nc" $common --set measure.every=50 \
        --set measure.sharpness=lanczos --set measure.trace_probes=2 --set measure.kkt=true --set measure.reference=svm \
        --set measure.noise=batches --set measure.noise_batches=4 &&
      $PY tests/compare_params.py "$tmp/every1000.nc" "$tmp/every1.nc" &&
      $PY tests/compare_params.py "$tmp/every1000.nc" "$tmp/every50m.nc"
  }
  expect "what is measured and how often never changes the trajectory (sgd, loss-based; every 1000, 1, 50 with Hessian, KKT, SVM and gradient noise)" same_trajectory
  # ~170 epochs undone per task, many mid-epoch at a record's step (which is
  # then measured again on the restored state)
  expect "epochs undone mid-way at records' steps: the records are taken again, the trajectory is the unrecorded one" bash -o pipefail -c "
    mpirun -np 2 $BL run $rcfg -o $tmp/undo1.nc --set optim.lr=1e6 --set optim.steps=600 --set measure.every=1 --set experiment.seeds=2 &&
    mpirun -np 2 $BL run $rcfg -o $tmp/undo600.nc --set optim.lr=1e6 --set optim.steps=600 --set measure.every=600 --set experiment.seeds=2 &&
    $PY tests/check_output.py $tmp/undo1.nc && $PY tests/compare_params.py $tmp/undo600.nc $tmp/undo1.nc"
  expect "eos_quadratic: diverges exactly past lr*lambda_max = 2" bash -o pipefail -c "
    mpirun -np 2 $BL run inputs/eos_quadratic.ini -o $tmp/eosq.nc &&
    $PY tests/check_output.py $tmp/eosq.nc &&
    $PY tests/check_final.py $tmp/eosq.nc --status ok=4 --point 0,1,2 &&
    $PY tests/check_final.py $tmp/eosq.nc --status diverged=4 --point 3,4"

}

section_resume() {
  echo "== interrupt and resume"
  # start_run OUT RANKS [run options]: biaslab in the background; waits until its
  # first task has finished, and 0.3 s more (so the signal lands mid-run, and
  # the tasks that started after the first one are past step 0: a state saved
  # at step 0 cannot show a resume continuing it). Sets $run_pid.
  start_run() {
    local out=$1 ranks=$2; shift 2
    mpirun -np "$ranks" "$BL" run "$rcfg" -o "$out" "$@" >"$tmp/bg.log" 2>&1 &
    run_pid=$!
    for _ in $(seq 1 400); do
      ls "$out".ckpt/done_* >/dev/null 2>&1 && { sleep 0.3; return 0; }
      sleep 0.05
    done
  }
  # interrupted_with SIGNAL OUT RANKS [options]: signal mpirun (it forwards
  # USR1 to every rank); the run must exit 3 and leave state to resume from.
  interrupted_with() {
    local sig=$1 out=$2; shift 2
    start_run "$out" "$@"
    kill -"$sig" "$run_pid"
    wait "$run_pid"
    local rc=$?
    cp "$tmp/bg.log" "$tmp/log"
    [ "$rc" -eq 3 ] && [ -f "$out.part" ] && [ ! -e "$out" ] && [ -f "$out.ckpt/config.ini" ]
  }
  expect "reference run (ensemble)" run_mpi 2 "$rcfg" -o "$tmp/rref.nc"
  expect "SIGUSR1 stops every rank with exit 3, nothing final written" interrupted_with USR1 "$tmp/r1.nc" 2
  expect "running tasks saved their state" bash -o pipefail -c "ls $tmp/r1.nc.ckpt/state_* >/dev/null"
  refuse "a checkpoint of another config is not resumed" 2 "different config|--force" run_mpi 1 "$rcfg" -o "$tmp/r1.nc" --set optim.lr=0.07
  # resumed_run OUT RANKS [options]: run again; the tasks that were running
  # must continue from their saved state (a restart from step 0 would give the
  # same numbers, so the numbers alone cannot tell), and the run must train
  # fewer steps than its unfinished tasks take from scratch.
  steps_per_task=15000 # tests/configs/resume.ini
  resumed_run() {
    local out=$1 ranks=$2; shift 2
    run_mpi "$ranks" "$rcfg" -o "$out" "$@" >"$tmp/resume.log" 2>&1
    local rc=$? to_run trained continued
    cat "$tmp/resume.log"
    [ "$rc" -eq 0 ] || return 1
    to_run=$(sed -nE 's/.*already done, ([0-9]+) to run.*/\1/p' "$tmp/resume.log")
    trained=$(sed -nE 's/.*, ([0-9]+) steps trained by this run.*/\1/p' "$tmp/resume.log")
    continued=$(grep -c 'continued from its saved state at step [1-9]' "$tmp/resume.log")
    echo "resumed: $to_run tasks to run, $continued continued from a state, $trained steps trained"
    [ -n "$to_run" ] && [ -n "$trained" ] && [ "$continued" -ge 1 ] &&
      [ "$trained" -lt $((to_run * steps_per_task)) ]
  }
  expect "resume on 3 ranks continues the saved states (fewer steps than a restart)" resumed_run "$tmp/r1.nc" 3
  expect "resumed = uninterrupted, bitwise (ensemble, other rank count)" $PY tests/compare_outputs.py "$tmp/rref.nc" "$tmp/r1.nc"
  expect "checkpoints removed after completion" test ! -e "$tmp/r1.nc.ckpt"
  expect "reference run (data-parallel)" run_mpi 2 "$rcfg" -o "$tmp/dref.nc" --set parallel.group_size=2
  expect "SIGUSR1 stops a data-parallel group" interrupted_with USR1 "$tmp/d1.nc" 2 --set parallel.group_size=2
  expect "resume data-parallel continues the saved states" resumed_run "$tmp/d1.nc" 2 --set parallel.group_size=2
  expect "resumed = uninterrupted, bitwise (data-parallel)" $PY tests/compare_outputs.py "$tmp/dref.nc" "$tmp/d1.nc"
  # Adam with the loss-based rate: m, v, their log-scales and step count, and
  # the epoch snapshot of them, must come back bitwise
  adam=(--set optim.kind=adam --set optim.lr=0.002 --set optim.steps=10000)
  expect "reference run (adam, loss-based)" run_mpi 2 "$rcfg" -o "$tmp/raref.nc" "${adam[@]}"
  expect "SIGUSR1 stops an adam run" interrupted_with USR1 "$tmp/ra1.nc" 2 "${adam[@]}"
  expect "resume adam continues the saved states" resumed_run "$tmp/ra1.nc" 1 "${adam[@]}"
  expect "resumed = uninterrupted, bitwise (adam)" $PY tests/compare_outputs.py "$tmp/raref.nc" "$tmp/ra1.nc"
  # kill -9 after a periodic checkpoint (checkpoint_seconds = 0.2): a state
  # file must exist at the kill, or the test proves nothing about resuming it.
  # The processes are stopped before the look, so a task cannot finish (and
  # remove its state) between the look and the kill.
  hard_kill() {
    local pattern="$BL run $rcfg -o $tmp/k1.nc"
    start_run "$tmp/k1.nc" 2
    for _ in $(seq 1 100); do
      pkill -STOP -f "$pattern"
      ls "$tmp"/k1.nc.ckpt/state_*.bin >/dev/null 2>&1 && break
      pkill -CONT -f "$pattern"
      sleep 0.05
    done
    pkill -KILL -f "$pattern"
    wait "$run_pid"
    # after the kill: the saved states (renamed into place, not a .tmp) of
    # the tasks it interrupted
    ls "$tmp"/k1.nc.ckpt/state_*.bin >"$tmp/states_at_kill" 2>/dev/null
    echo "state files at the kill: $(wc -l <"$tmp/states_at_kill")"
    [ -s "$tmp/states_at_kill" ] && [ ! -e "$tmp/k1.nc" ] && [ -f "$tmp/k1.nc.part" ]
  }
  expect "kill -9 mid-run (a periodic state saved) leaves no final file" hard_kill
  expect "resume after kill -9 continues the saved states" resumed_run "$tmp/k1.nc" 2
  expect "resumed after kill -9 = uninterrupted, bitwise" $PY tests/compare_outputs.py "$tmp/rref.nc" "$tmp/k1.nc"
  # SIGINT (Ctrl-C) to a run started without mpirun (a singleton)
  sigint_stop() {
    "$BL" run "$rcfg" -o "$tmp/i1.nc" >"$tmp/bg.log" 2>&1 &
    local pid=$!
    # as start_run: 0.3 s after the first done file, so the next task is past step 0
    for _ in $(seq 1 400); do ls "$tmp"/i1.nc.ckpt/done_* >/dev/null 2>&1 && break; sleep 0.05; done
    sleep 0.3
    kill -INT "$pid"
    wait "$pid"
    local rc=$?
    cat "$tmp/bg.log"
    [ "$rc" -eq 3 ] && [ ! -e "$tmp/i1.nc" ] && ls "$tmp"/i1.nc.ckpt/state_* >/dev/null
  }
  expect "SIGINT (Ctrl-C) stops a run with exit 3 and saves the running task" sigint_stop
  expect "resume after SIGINT continues the saved state" resumed_run "$tmp/i1.nc" 1
  expect "resumed after SIGINT = uninterrupted, bitwise" $PY tests/compare_outputs.py "$tmp/rref.nc" "$tmp/i1.nc"
  old_format() {
    rm -rf "$tmp/old.nc.ckpt"; cp -r tests/fixtures/checkpoint_format1 "$tmp/old.nc.ckpt"
    run_mpi 1 "$rcfg" -o "$tmp/old.nc" >"$tmp/old.log" 2>&1
    local rc=$?
    cat "$tmp/old.log"
    [ "$rc" -eq 2 ] && grep -q 'checkpoint format 1 by another biaslab; this one reads format 2' "$tmp/old.log" &&
      [ ! -e "$tmp/old.nc" ] && [ ! -e "$tmp/old.nc.part" ]
  }
  expect "a checkpoint of an older format is refused, saying so" old_format
  expect "--force discards an interrupted run" bash -o pipefail -c "
    cp -r $tmp/rref.nc $tmp/f1.nc.part && mkdir -p $tmp/f1.nc.ckpt && echo junk > $tmp/f1.nc.ckpt/config.ini &&
    mpirun -np 2 $BL run $rcfg -o $tmp/f1.nc --force --set optim.steps=100 && test ! -e $tmp/f1.nc.ckpt"

}

section_faults() {
  echo "== faults (tests/faults/run_faults.sh)"
  run_script faults bash tests/faults/run_faults.sh
}

section_cli() {
  # A refused run exits 2 on every rank; mpirun then kills "the rest" of the
  # job and waits odls_base_sigkill_timeout (1 s) twice before it exits: 2 s
  # for each of the refusals below. Nothing is left to kill, so no wait here.
  local -x OMPI_MCA_odls_base_sigkill_timeout=0
  ensure quick
  ensure ens1
  echo "== bad input"
  printf '[optim]\nlerning_rate = 0.1\n' >"$tmp/typo.ini"
  refuse "misspelt key" 2 "typo.ini:2|lerning_rate|did you mean 'lr'" run_mpi 1 "$tmp/typo.ini" -o "$tmp/out/x.nc"
  printf '[optim]\nlr = -0.1\n' >"$tmp/neg.ini"
  refuse "negative learning rate" 2 "neg.ini:2|optim.lr|-0.1" run_mpi 2 "$tmp/neg.ini" -o "$tmp/out/x.nc"
  refuse "missing config file" 2 "nope.ini" run_mpi 1 "$tmp/nope.ini" -o "$tmp/out/x.nc"
  printf '[model]\nkind = cnn\n' >"$tmp/kind.ini"
  refuse "unknown model kind" 2 "model.kind|cnn|linear, mlp" run_mpi 1 "$tmp/kind.ini" -o "$tmp/out/x.nc"
  refuse "bad --set" 2 "--set|nosuch" run_mpi 1 "$cfg" -o "$tmp/out/x.nc" --set optim.nosuch=1
  # grokking inputs (issue 13): sparse_sign needs an odd k <= dim, diag_linear one output
  refuse "sparse_sign with an even data.sparsity" 2 "data.sparsity|odd|got 4" "$BL" check inputs/quickstart.ini --set data.kind=sparse_sign --set data.sparsity=4
  refuse "sparse_sign with data.sparsity > data.dim" 2 "data.sparsity = 11 is larger than data.dim = 10" "$BL" check inputs/quickstart.ini --set data.kind=sparse_sign --set data.sparsity=11
  # modular addition (issue 13): the token-pair data and net go together, and the sizes follow from p
  expect "modular_add derives n_train = round(0.6 p^2), n_test and classes = p" bash -o pipefail -c "
    $BL check inputs/grok_modadd.ini | grep -qx 'n_train = 2089' && $BL check inputs/grok_modadd.ini | grep -qx 'n_test = 1392' &&
    $BL check inputs/grok_modadd.ini | grep -qx 'classes = 59'"
  refuse "modular_add with a dense model is refused" 2 "data.kind = modular_add gives token pairs|needs model.kind = pair_mlp (got mlp)" "$BL" check inputs/grok_modadd.ini --set model.kind=mlp --set model.last_zero=false
  refuse "pair_mlp on dense data is refused" 2 "model.kind = pair_mlp reads a pair of tokens|needs data.kind = modular_add (got separable)" "$BL" check inputs/quickstart.ini --set model.kind=pair_mlp
  refuse "data.modulus below 3 is refused" 2 "data.modulus = 2 is out of range" "$BL" check inputs/grok_modadd.ini --set data.modulus=2
  refuse "data.train_fraction = 1 is refused" 2 "data.train_fraction = 1 is out of range" "$BL" check inputs/grok_modadd.ini --set data.train_fraction=1
  refuse "a data.n_train that disagrees with modulus and train_fraction is refused" 2 "round(train_fraction p^2) = 2089|data.n_train = 100; remove it" "$BL" check inputs/grok_modadd.ini --set data.n_train=100
  refuse "model.last_zero without pair_mlp is refused" 2 "model.last_zero = true needs model.kind = pair_mlp (got mlp)" "$BL" check inputs/quickstart.ini --set model.last_zero=true
  refuse "modular_add with the logistic loss is refused" 2 "loss.kind = logistic needs data.classes = 2|59 classes" "$BL" check inputs/grok_modadd.ini --set loss.kind=logistic
  refuse "pair_mlp with depth 3 is refused" 2 "pair_mlp has exactly two weight layers|got 3" "$BL" check inputs/grok_modadd.ini --set model.depth=3
  refuse "diag_linear on three classes" 2 "model.kind = diag_linear has one output|cross_entropy loss, 3 classes" "$BL" check "$cfg" --set model.kind=diag_linear
  # matrix completion (issue 13): data.size >= 2, data.observed in (0, 1), index pairs need the factorization
  refuse "matrix_completion with data.observed = 1" 2 "data.observed = 1 is out of range|> 0 and < 1" "$BL" check inputs/grok_matrix.ini --set data.observed=1
  refuse "matrix_completion with data.observed = 0" 2 "data.observed = 0 is out of range" "$BL" check inputs/grok_matrix.ini --set data.observed=0
  refuse "matrix_completion with data.size = 1" 2 "data.size = 1 is out of range|>= 2" "$BL" check inputs/grok_matrix.ini --set data.size=1
  refuse "matrix_completion with a classification loss" 2 "it needs loss.kind = squared (got logistic)" "$BL" check inputs/grok_matrix.ini --set loss.kind=logistic
  refuse "matrix_completion with a dense model" 2 "it needs model.kind = factorization (got mlp)" "$BL" check inputs/grok_matrix.ini --set model.kind=mlp
  refuse "factorization on dense data" 2 "model.kind = factorization reads index pairs|it needs data.kind = matrix_completion (got clusters)" "$BL" check "$cfg" --set model.kind=factorization --set loss.kind=squared
  refuse "measure.fit_threshold above 1" 2 "measure.fit_threshold|1.5" "$BL" check "$cfg" --set measure.fit_threshold=1.5
  refuse "measure.spacing must be linear or log" 2 "measure.spacing = geometric|linear, log" "$BL" check "$cfg" --set measure.spacing=geometric
  refuse "measure.per_decade at least 1" 2 "measure.per_decade = 0" "$BL" check "$cfg" --set measure.per_decade=0
  refuse "group_size must divide the ranks" 2 "group_size" run_mpi 3 "$cfg" -o "$tmp/out/x.nc" --set parallel.group_size=2
  refuse "sweeping optim.steps is refused" 2 "optim.steps" "$BL" check "$cfg" --set sweep.optim.steps=10,20
  refuse "check refuses a config larger than memory" 2 "GiB per rank|machine has" "$BL" check "$cfg" --set data.n_train=100000000 --set data.dim=1000
  refuse "run refuses a config larger than memory" 2 "GiB per rank|machine has" run_mpi 2 "$cfg" -o "$tmp/out/x.nc" --set data.n_train=20000000 --set data.dim=100
  # counts that do not fit an int: 16^4 points x 65537 seeds = 2^32 + 65536 tasks
  lrs=$(seq -s, 0.01 0.01 0.16)
  printf '[experiment]\nseeds = 65537\n[optim]\nkind = momentum\n[sweep]\noptim.lr = %s\noptim.momentum = %s\noptim.weight_decay = %s\ndata.margin = %s\n' \
    "$lrs" "$lrs" "$lrs" "$lrs" >"$tmp/tasks.ini"
  refuse "points x seeds beyond an int is refused" 2 "tasks.ini:9|65536 sweep points x experiment.seeds = 65537 make 4295032832 tasks|2147483647" \
    run_mpi 1 "$tmp/tasks.ini" -o "$tmp/out/x.nc"
  refuse "check refuses points x seeds beyond an int" 2 "4295032832 tasks|use at most 32767 seeds" "$BL" check "$tmp/tasks.ini"
  refuse "--slice N beyond the task count" 2 "--slice 0/99999999999|10 tasks|N must be 1 .. 10" run_mpi 1 "$cfg" -o "$tmp/out/x.nc" --slice 0/99999999999
  refuse "--slice K >= N" 2 "--slice 4/4|K must be 0 .. N-1 = 0 .. 3" run_mpi 1 "$cfg" -o "$tmp/out/x.nc" --slice 4/4
  refuse "--slice negative" 2 "--slice -1/4|0 <= K < N" run_mpi 1 "$cfg" -o "$tmp/out/x.nc" --slice -1/4
  refuse "--slice not a number" 2 "--slice a/b|expected K/N" run_mpi 1 "$cfg" -o "$tmp/out/x.nc" --slice a/b
  refuse "--slice with trailing garbage" 2 "--slice 1/4x|expected K/N" run_mpi 1 "$cfg" -o "$tmp/out/x.nc" --slice 1/4x
  refuse "check refuses --slice beyond the task count" 2 "--slice 3/11|N must be 1 .. 10" "$BL" check "$cfg" --slice 3/11
  timed_check() {
    # 410 points x 100000 seeds = 4.1e7 tasks: check counts them, never lists them
    local v; v=$(seq -s, 0.01 0.01 0.41)
    printf '[experiment]\nseeds = 100000\n[optim]\nsteps = 10\n[sweep]\noptim.lr = %s\noptim.weight_decay = 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9\n' "$v" >"$tmp/many.ini"
    timeout 20 "$BL" check "$tmp/many.ini" >"$tmp/many.txt" && grep -q '^# points: 410, seeds: 100000, tasks: 41000000$' "$tmp/many.txt"
  }
  expect "check answers within 20 s on 4.1e7 tasks" timed_check
  printf '[optim]\nlr = 0.2\nsteps = 3\000 00\n' >"$tmp/nul.ini"
  refuse "a NUL byte in the config is refused" 2 "nul.ini:3|byte 0x00 (NUL) at column 10|tab, CR and LF" run_mpi 1 "$tmp/nul.ini" -o "$tmp/out/x.nc"
  printf '[model]\nwidth = 8\033[0m\n' >"$tmp/esc.ini"
  refuse "a control character in the config is refused" 2 "esc.ini:2|byte 0x1b" "$BL" check "$tmp/esc.ini"
  refuse "a control character in --set is refused" 2 "--set|'optim.steps=3' is followed by byte 0x01" run_mpi 1 "$cfg" -o "$tmp/out/x.nc" --set "$(printf 'optim.steps=3\001')"
  # data labels: 1..K is not K+1 classes; exactly -1/+1 is two, said once
  for labels in "1, 2, 3, 1, 2, 3" "-1, -1, -1, 1, 1, 1"; do
    name=l$( [ "${labels:0:1}" = 1 ] && echo 13 || echo pm )
    printf 'netcdf %s {\ndimensions: sample = 6 ; feature = 2 ;\nvariables: double x(sample, feature) ; int y(sample) ;\ndata:\n x = -3, -3, -2, -1, -1, -2, 1, 2, 2, 1, 3, 3 ;\n y = %s ;\n}\n' \
      "$name" "$labels" >"$tmp/$name.cdl"
    ncgen -o "$tmp/$name.nc" "$tmp/$name.cdl"
    printf '[data]\nkind = netcdf\npath = %s\nn_train = 6\nn_test = 0\n[model]\nkind = linear\n[loss]\nkind = cross_entropy\n[optim]\nsteps = 100\n[experiment]\nseeds = 2\n' \
      "$tmp/$name.nc" >"$tmp/$name.ini"
  done
  refuse "NetCDF labels 1..3 are refused, saying what they are" 2 "labels in 'y' are 1..3 (3 distinct)|class 0 has no training example|labels must be 0..K-1 with every class present" \
    run_mpi 2 "$tmp/l13.ini" -o "$tmp/out/x.nc"
  plus_minus_labels() {
    run_mpi 2 "$tmp/lpm.ini" -o "$tmp/lpm_out.nc" --set loss.kind=logistic >"$tmp/lpm.log" 2>&1 || return 1
    cat "$tmp/lpm.log"
    [ "$(grep -c "labels in 'y' are -1 and +1, read as class 0 (-1) and class 1 (+1)" "$tmp/lpm.log")" -eq 1 ] &&
      $PY tests/check_output.py "$tmp/lpm_out.nc" && $PY tests/check_final.py "$tmp/lpm_out.nc" train_acc == 1
  }
  expect "NetCDF labels -1/+1 train as classes 0/1, said once in the log" plus_minus_labels
  refuse "unknown command" 2 "unknown command" "$BL" frobnicate
  refuse "unknown option" 2 "--nope" "$BL" run "$cfg" --nope
  refuse "info on a file that is not NetCDF" 2 "typo.ini" "$BL" info "$tmp/typo.ini"
  cp "$tmp/quick.nc" "$tmp/keep.nc"
  refuse "existing output is not overwritten" 2 "already exists|--force" run_mpi 1 "$cfg" -o "$tmp/keep.nc"
  expect "existing output kept intact" cmp "$tmp/quick.nc" "$tmp/keep.nc"
  expect "--force overwrites" run_mpi 1 "$cfg" -o "$tmp/keep.nc" --force --set optim.steps=10
  expect "check prints the resolved config and the plan for --ranks N" bash -o pipefail -c "
    $BL check $cfg --ranks 4 >$tmp/check4.txt && $BL check $cfg --ranks 1 >$tmp/check1.txt &&
    grep -q '^# ranks: 4, group_size: 1, groups: 4, tasks per group: 2.5' $tmp/check4.txt &&
    grep -q '^# ranks: 1, group_size: 1, groups: 1, tasks per group: 10.0' $tmp/check1.txt &&
    grep -q 'memory per rank' $tmp/check4.txt && grep -q '^init_scale = 1' $tmp/check1.txt"
  run_script rule_inputs $PY tests/check_rule_inputs.py "$BL" inputs/linear_rule_sgd.ini inputs/sqrt_rule_rmsprop.ini inputs/sqrt_rule_adam.ini inputs/svag.ini
  expect "check output parses back as a config" bash -o pipefail -c "$BL check $cfg | grep -v '^#' > $tmp/resolved.ini && $BL check $tmp/resolved.ini >/dev/null"
  expect "--help and --version" bash -o pipefail -c "$BL --help >$tmp/help.txt && grep -q 'biaslab run' $tmp/help.txt && $BL --version | grep -q '^biaslab [0-9]'"
  expect "bench runs (quick), names the BLAS and compares its kernels with the CPU's best" bash -o pipefail -c "
    $BL bench --quick >$tmp/bench.txt && grep -q 'BLAS: ' $tmp/bench.txt &&
    grep -qE 'the two products agree to [0-9.e+-]+ of their largest entry\$|the ones this CPU supports|not OpenBLAS' $tmp/bench.txt"
  # the GEMMs bench times alone match the model's own flop count (bench says
  # so otherwise), and the tiny, deep and pair_mlp rows at both thread counts
  # have a step time, a GEMM time and their ratio (wide_mlp's 2 quick steps
  # leave none to pair)
  expect "bench times each workload's own GEMMs (flops as the model counts them)" bash -c "
    ! grep -q 'are not the model.s step_flops' $tmp/bench.txt &&
    awk '\$1 ~ /^(tiny_ensemble|deep_mlp|pair_mlp)\$/ && NF == 10 &&
         \$8 > 0 && \$9 > 0 && \$10 > 0 && \$10 < 100 { n++ }
         END { exit n == 6 ? 0 : 1 }' $tmp/bench.txt"
  blas_advice() {
    "$BL" blas >"$tmp/blas.txt" || return 1
    cat "$tmp/blas.txt"
    local core best have want
    core=$(sed -n 's/^core //p' "$tmp/blas.txt")
    best=$("$BL" blas --best)
    # "dgemm kernels: <family> on core <core>, <family> on <best>"
    have=$(sed -n 's/^dgemm kernels: \([^ ]*\) on core .*/\1/p' "$tmp/blas.txt")
    want=$(sed -n 's/^dgemm kernels: .*, \([^ ]*\) on [^ ]*$/\1/p' "$tmp/blas.txt")
    [ -n "$have" ] && [ -n "$want" ] || return 1
    if [ "$have" != "$want" ] && [ "$best" != unknown ]; then
      grep -q "warning: OpenBLAS runs its $core kernels.*OPENBLAS_CORETYPE=$best" "$tmp/blas.txt"
    else
      ! grep -q 'warning' "$tmp/blas.txt"
    fi
    # forced to the oldest kernels, it must warn on any CPU with AVX or later
    OPENBLAS_CORETYPE=Prescott "$BL" blas >"$tmp/blas_prescott.txt" || return 1
    case "$want" in
      SSE3 | unknown) ! grep -q 'warning' "$tmp/blas_prescott.txt" ;;
      *) grep -q "warning: OpenBLAS runs its Prescott kernels.*OPENBLAS_CORETYPE=$best" "$tmp/blas_prescott.txt" ;;
    esac
  }
  expect "biaslab blas warns exactly when OpenBLAS runs dgemm kernels of a lower family than the CPU's, naming the fix" blas_advice
  expect "BIASLAB_BLAS_CORE=auto (an explicit opt-in) makes jobs/run_local.sh select the CPU's kernels" bash -o pipefail -c "
    best=\$($BL blas --best) &&
    BIASLAB_BLAS_CORE=auto bash jobs/run_local.sh 1 $cfg -o $tmp/blascore.nc --set optim.steps=20 >$tmp/blascore.log 2>&1 &&
    grep -q \"OPENBLAS_CORETYPE=\$best\" $tmp/blascore.log && ! grep -q 'warning: OpenBLAS runs' $tmp/blascore.log"
  keys_match_readme() {
    "$BL" keys >"$tmp/keys.txt" || return 1
    sed -nE 's/^([a-z_]+\.[a-z_0-9]+): .*/\1/p' "$tmp/keys.txt" | sort >"$tmp/keys.prog"
    # the table's first cell names one key or several, comma-separated
    awk -F'|' '$2 ~ /^ [a-z_]+\.[a-z_0-9]+[ ,]/ { n = split($2, k, ","); for (i = 1; i <= n; i++) { gsub(/ /, "", k[i]); print k[i] } }' \
      README.md | sort -u >"$tmp/keys.readme"
    echo "$(wc -l <"$tmp/keys.prog") keys from biaslab keys, $(wc -l <"$tmp/keys.readme") in the README"
    [ "$(wc -l <"$tmp/keys.prog")" -gt 50 ] && diff "$tmp/keys.prog" "$tmp/keys.readme"
  }
  expect "biaslab keys lists every key, each in the README's table and back" keys_match_readme
  runtime_error() {
    rm -rf "$tmp/oom"; mkdir -p "$tmp/oom"
    (ulimit -v 3000000; "$BL" run "$cfg" -o "$tmp/oom/x.nc" --set data.n_train=3000000 --set data.dim=200 --set data.n_test=0) >"$tmp/oom.log" 2>&1
    local rc=$?
    cat "$tmp/oom.log"
    [ "$rc" -eq 1 ] && grep -q 'out of memory allocating' "$tmp/oom.log" && [ ! -e "$tmp/oom/x.nc" ]
  }
  expect "a runtime error (out of memory under ulimit -v) exits 1 with a message, no final file" runtime_error
  expect "default output results/<name>.nc in the working directory" bash -o pipefail -c "
    mkdir -p $tmp/cwd && cd $tmp/cwd && mpirun -np 2 $ROOT/$BL run $ROOT/$cfg --set optim.steps=20 &&
    test -f results/mpi_small.nc && $PY $ROOT/tests/check_output.py results/mpi_small.nc"
  expect "experiment.output names the output file" bash -o pipefail -c "
    mpirun -np 2 $BL run $cfg --set optim.steps=20 --set experiment.output=$tmp/eo/named.nc &&
    test -f $tmp/eo/named.nc && test ! -e results/mpi_small.nc.part"
  expect "jobs/run_local.sh runs a config on 2 ranks" bash -o pipefail -c "
    bash jobs/run_local.sh 2 $cfg -o $tmp/rl.nc --set optim.steps=20 >$tmp/rl.log &&
    grep -q 'on 2 ranks' $tmp/rl.log && test -f $tmp/rl.nc"
  refuse "jobs/run_local.sh with a bad rank count exits 2" 2 "RANKS must be a positive integer" bash jobs/run_local.sh x "$cfg"
  refuse "jobs/run_local.sh with a missing config exits 2" 2 "no such config file" bash jobs/run_local.sh 2 "$tmp/nope.ini"
  expect "make run writes the quickstart result (shortened with RUN_ARGS)" bash -o pipefail -c "
    make -s --no-print-directory AUTO_DEPS=0 run RUN_ARGS='--set optim.steps=1000 -o $tmp/mr.nc' &&
    $PY tests/check_output.py $tmp/mr.nc --points 1 --seeds 16"
  lines_printed() {
    run_mpi 2 "$rcfg" -o "$tmp/lines.nc" --set experiment.progress_seconds=0.3 >"$tmp/lines.log" 2>&1 || return 1
    cat "$tmp/lines.log"
    grep -qE '^biaslab: resume: 2 points x 4 seeds = 8 tasks on 2 ranks \(2 groups of 1; 1 BLAS thread per rank\)$' "$tmp/lines.log" &&
      grep -qE '^biaslab: [0-9]+/8 tasks done, [0-9.e+]+ steps/s, elapsed [0-9.]+(s|min), ETA ' "$tmp/lines.log" &&
      grep -qE "^biaslab: wrote $tmp/lines.nc \(8 of 8 tasks, 120000 steps trained by this run, wall [0-9.]+(s|min), of which statistics [0-9.]+(s|min); rank 0 stored 8 results in [0-9.]+ s, [0-9.]+ ms each\)$" "$tmp/lines.log"
  }
  expect "the start line, progress lines (every 0.3 s) and the final line" lines_printed
  expect "progress counts the steps of running tasks (a rate before the first task ends)" bash -o pipefail -c "
    mpirun -np 2 $BL run $rcfg -o $tmp/prog.nc --set experiment.seeds=1 --set experiment.progress_seconds=0.3 --set optim.steps=60000 >$tmp/prog.log &&
    grep -E '^biaslab: 0/2 tasks done, [0-9.e+]+ steps/s' $tmp/prog.log | grep -vq ' 0 steps/s'"
  expect "parallel.blas_threads = 2 is applied and leaves the results unchanged, bitwise" bash -o pipefail -c "
    mpirun -np 1 $BL run $cfg -o $tmp/bt2.nc --set parallel.blas_threads=2 >$tmp/bt2.log &&
    grep -q '2 BLAS threads per rank' $tmp/bt2.log && $PY tests/compare_outputs.py $tmp/ens1.nc $tmp/bt2.nc"
  expect "blas_threads = 0: one thread for a tiny step even on a rank alone, cores / ranks for a big one" bash -o pipefail -c "
    mpirun -np 1 $BL run $cfg -o $tmp/bt0.nc --set experiment.seeds=1 --set optim.steps=2 >$tmp/bt0.log &&
    grep -q '(1 groups of 1; 1 BLAS thread per rank)' $tmp/bt0.log &&
    mpirun -np 1 $BL run $cfg -o $tmp/bt0w.nc --set experiment.seeds=1 --set optim.steps=2 --set model.width=400 >$tmp/bt0w.log &&
    grep -q \"(1 groups of 1; \$(nproc) BLAS thread\" $tmp/bt0w.log"
  expect "the file records the resolved config, the params layout, source and history" bash -o pipefail -c "
    $BL check $cfg >$tmp/resolved_small.ini &&
    $PY tests/check_provenance.py $tmp/ens1.nc --resolved $tmp/resolved_small.ini --layout 'W1(12,6) W2(12,12) W3(3,12) b1(12) b2(12) b3(3)' --command-contains '-o $tmp/ens1.nc'"

}

section_slurm() {
  echo "== Slurm (a real slurmctld and slurmd on localhost)"
  run_script slurm bash tests/slurm/run_slurm_tests.sh
}

section_sanitize() {
  echo "== sanitizers and fuzz corpus"
  # the sanitizer and fuzz builds compile every file again: one per core at a time
  local jobs
  jobs=$(nproc 2>/dev/null || echo 2)
  expect "unit tests under ASan + UBSan (make test-sanitize)" make -s --no-print-directory AUTO_DEPS=0 -j"$jobs" test-sanitize
  expect "quickstart (300 steps, 2 seeds) valgrind-clean" bash tests/sanitize/valgrind_quickstart.sh
  expect "fuzz targets replay their seeds and corpus" make -s --no-print-directory AUTO_DEPS=0 -j"$jobs" fuzz-replay

}

section_mutants() {
  echo "== mutation check (tests/mutants/*.patch)"
  run_script mutants bash tests/mutants/run.sh
}

for s in $sections; do
  t0=$SECONDS
  "section_$s"
  echo "($s: $((SECONDS - t0)) s)"
done
[ "$skipped" -eq 0 ] || echo "($skipped checks skipped: this machine cannot run them; see SKIP above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
