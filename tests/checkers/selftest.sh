#!/bin/bash
# Self-test of the output checkers in tests/: each must accept good files and
# reject every kind of bad one. Builds fakes with tests/make_fake_output.py
# (a clean one, scenarios for the science checkers, and one file per
# corruption kind) and crafts bad copies with tests/checkers/ncedit.py; needs
# no biaslab run. Prints one "PASS <case>" or "FAIL <case>" line per case
# and exits non-zero when any case failed.
#
# A rejection counts only when the checker exits 1 with its own message; a
# crash (a Python traceback) or a usage error is a FAIL of the case.
#
#   bash tests/checkers/selftest.sh [-j JOBS]     (default 2 jobs)
set -u
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
jobs=2
[ "${1:-}" = "-j" ] && jobs=${2:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
F=$tmp/files
mkdir -p "$F" "$tmp/cases"

FAKE="$PY tests/make_fake_output.py"
EDIT="$PY tests/checkers/ncedit.py"
OUT="$PY tests/check_output.py"
CMP="$PY tests/compare_outputs.py"
FINAL="$PY tests/check_final.py"

# ---- inputs, built up front $jobs at a time ----
# run_parallel LIST: run every line of LIST with bash, $jobs at a time; fails
# (showing the output) if any line failed.
run_parallel() {
  local list=$1 i=0 bad=0
  while IFS= read -r cmd; do
    i=$((i + 1))
    ( bash -c "$cmd" >"$list.$i.log" 2>&1 || echo "$cmd" >"$list.$i.failed" ) &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  done <"$list"
  wait
  for i in $(seq 1 "$i"); do
    if [ -f "$list.$i.failed" ]; then
      bad=1
      echo "    | failed: $(cat "$list.$i.failed")"
      sed 's/^/    | /' "$list.$i.log" | tail -5
    fi
  done
  return $bad
}
mkdir -p "$F/bad"
cat >"$tmp/fakes.txt" <<EOF
$FAKE --corrupt-all $F/bad
$FAKE $F/fake.nc && $FAKE $F/fake_nr.nc --not-run --params && $FAKE $F/fake_seeds4.nc --seeds 4 && $FAKE $F/all_not_run.nc --corrupt all_not_run
$FAKE $F/asym.nc --scenario asymmetric && $FAKE $F/spec.nc --scenario spectrum && $FAKE $F/eos.nc --scenario eos
EOF
# check_output on every corruption kind runs here too, in two processes
# (one file after another each); the cases below read their verdict lines.
cat >"$tmp/edits.txt" <<EOF
$OUT --allow-not-run \$(ls $F/bad/*.nc | sed -n '1~2p') >$tmp/batch1.log 2>&1; true
$OUT --allow-not-run \$(ls $F/bad/*.nc | sed -n '2~2p') >$tmp/batch2.log 2>&1; true
$EDIT "$F/fake.nc" "$F/copy.nc"
$EDIT "$F/fake.nc" "$F/ulp_traj.nc" --ulp 'train_loss[0,0,3]'
$EDIT "$F/fake.nc" "$F/ulp_stat.nc" --ulp 'normalized_margin_stats[0,7,3]'
$EDIT "$F/fake.nc" "$F/ulp_grad.nc" --ulp 'grad_norm[0,0,3]'
$EDIT "$F/fake.nc" "$F/nan_traj.nc" --set 'train_loss[0,0,3]=nan'
$EDIT "$F/fake.nc" "$F/no_grad_norm.nc" --drop grad_norm
$EDIT "$F/fake.nc" "$F/cfg_lr.nc" --config-set optim.lr=0.2
$EDIT "$F/fake.nc" "$F/cfg_parallel.nc" --config-append '[parallel]\ngroup_size = 2'
$EDIT "$F/fake.nc" "$F/step.nc" --set 'step[3]=151'
$EDIT "$F/fake.nc" "$F/sweep.nc" --set 'optim_lr[0]=0.2'
$EDIT "$F/fake.nc" "$F/sweep_str.nc" --set 'model_activation[1]=tanh'
$EDIT "$F/fake.nc" "$F/seed.nc" --set 'seed[0]=7'
$EDIT "$F/fake.nc" "$F/statlab.nc" --set 'stat[0]=average'
$EDIT "$F/fake.nc" "$F/status.nc" --set 'status[0,0]=1'
$EDIT "$F/fake.nc" "$F/wall.nc" --set 'wall_seconds[0,0]=99'
$EDIT "$F/fake.nc" "$F/title.nc" --attr 'title=biaslab: other'
$EDIT "$F/fake.nc" "$F/history.nc" --attr 'history=another command line'
$EDIT "$F/fake.nc" "$F/no_steps_done.nc" --drop steps_done
$EDIT "$F/fake.nc" "$F/m_nan_fit.nc" --set 'normalized_margin_stats[0,0,-2]=nan'
$EDIT "$F/fake.nc" "$F/m_nan_last.nc" --set 'normalized_margin_stats[0,0,-1]=nan'
$EDIT "$F/fake.nc" "$F/m_acc_nan.nc" --set 'train_acc_stats[0,2,:]=nan'
$EDIT "$F/fake.nc" "$F/m_no_margin.nc" --drop normalized_margin_stats
$EDIT "$F/fake.nc" "$F/m_falls.nc" --set 'normalized_margin_stats[0,0,-1]=0.0'
$EDIT "$F/fake.nc" "$F/m_n_ok.nc" --set 'n_ok[0,-1]=4'
$EDIT "$F/asym.nc" "$F/a_ci_nan.nc" --set 'margin_ratio_stats[0,8,-1]=nan'
$EDIT "$F/asym.nc" "$F/a_seed_nan.nc" --set 'margin_ratio[0,2,-1]=nan'
$EDIT "$F/asym.nc" "$F/a_large_nan.nc" --set 'margin_ratio_stats[1,0,-1]=nan'
$EDIT "$F/asym.nc" "$F/a_no_rank.nc" --drop stable_rank
$EDIT "$F/asym.nc" "$F/a_beats.nc" --set 'margin_ratio[1,0,-1]=1.01'
$EDIT "$F/asym.nc" "$F/a_small_high.nc" --set 'margin_ratio[0,:,-1]=0.99'
$EDIT "$F/asym.nc" "$F/a_diverged.nc" --set 'status[1,0]=1'
$EDIT "$F/spec.nc" "$F/s_no_density.nc" --drop density_nodes --drop density_weights --drop density_step
$EDIT "$F/spec.nc" "$F/s_no_eig.nc" --drop hessian_eigenvalues
$EDIT "$F/spec.nc" "$F/s_eig_nan.nc" --set 'hessian_eigenvalues[0,0,1,:]=nan'
$EDIT "$F/spec.nc" "$F/s_sharp_nan.nc" --set 'sharpness[0,0,0]=nan'
$EDIT "$F/spec.nc" "$F/s_unsorted.nc" --set 'hessian_eigenvalues[0,0,0,0]=1e9'
$EDIT "$F/spec.nc" "$F/s_weights.nc" --set 'density_weights[0,0,0,0]=0.9'
$EDIT "$F/spec.nc" "$F/s_weights_nan.nc" --set 'density_weights[0,0,1,:]=nan' --set 'density_nodes[0,0,1,:]=nan'
$EDIT "$F/spec.nc" "$F/s_node_out.nc" --set 'density_nodes[0,0,0,3]=1e6'
$EDIT "$F/spec.nc" "$F/s_scaled.nc" --scale hessian_eigenvalues=1.001
$EDIT "$F/eos.nc" "$F/e_nan.nc" --set 'eta_sharpness_stats[0,4,5]=nan'
$EDIT "$F/eos.nc" "$F/e_no_sph.nc" --drop spherical_sharpness_stats
$EDIT "$F/eos.nc" "$F/e_low.nc" --scale eta_sharpness_stats=0.5
$EDIT "$F/eos.nc" "$F/e_sph0_nan.nc" --set 'spherical_sharpness_stats[0,4,0]=nan'
$EDIT "$F/fake.nc" "$F/f_nan_last.nc" --set 'normalized_margin_stats[0,0,-1]=nan'
$EDIT "$F/fake.nc" "$F/f_no_acc.nc" --drop train_acc_stats
EOF
if ! { run_parallel "$tmp/fakes.txt" && run_parallel "$tmp/edits.txt"; } >"$tmp/setup.log" 2>&1; then
  echo "FAIL selftest setup: building the fake and crafted files"
  tail -30 "$tmp/setup.log"
  exit 1
fi

# ---- cases: "accept|reject|usage <name> <command>" lines ----
cases=$tmp/cases.txt
: >"$cases"
accept() { printf 'accept\t%s\t%s\n' "$1" "$2" >>"$cases"; }
reject() { printf 'reject\t%s\t%s\n' "$1" "$2" >>"$cases"; }
usage() { printf 'usage\t%s\t%s\n' "$1" "$2" >>"$cases"; }
batch() { printf 'batch\t%s\t%s\n' "$1" "$2" >>"$cases"; } # the command finds a rejection in a batch log

# check_output
accept "check_output: clean fake" "$OUT $F/fake.nc --points 4 --seeds 5"
accept "check_output: copy made by ncedit" "$OUT $F/copy.nc"
accept "check_output: fake with not_run tasks and params, --allow-not-run" "$OUT $F/fake_nr.nc --allow-not-run"
reject "check_output: not_run tasks without --allow-not-run" "$OUT $F/fake_nr.nc"
accept "check_output: asymmetric scenario fake" "$OUT $F/asym.nc"
accept "check_output: spectrum scenario fake" "$OUT $F/spec.nc"
accept "check_output: eos scenario fake" "$OUT $F/eos.nc"
reject "check_output: --points 3 on a 4-point file" "$OUT $F/fake.nc --points 3"
reject "check_output: --seeds 4 on a 5-seed file" "$OUT $F/fake.nc --seeds 4"
# every corruption kind (checked during the setup): the file's own verdict
# line says FAILED (a crash of the checker prints ERROR instead)
while IFS=$'\t' read -r kind what; do
  batch "check_output: --corrupt $kind ($what)" \
    "grep -F '$F/bad/$kind.nc: FAIL' $tmp/batch1.log $tmp/batch2.log && grep -qF '$F/bad/$kind.nc: FAILED (' $tmp/batch1.log $tmp/batch2.log"
done < <($FAKE --list-corruptions)
reject "check_output: all_not_run even with --allow-not-run --allow-no-ok" "$OUT $F/all_not_run.nc --allow-not-run --allow-no-ok"
reject "check_output: steps_done missing" "$OUT $F/no_steps_done.nc"
reject "check_output: a trajectory NaN where a seed lived (stats not matching)" "$OUT $F/nan_traj.nc"
accept "check_output: a statistic one ulp off passes at the default rtol 1e-12" "$OUT $F/ulp_stat.nc"
reject "check_output --rtol 0: a statistic one ulp off" "$OUT $F/ulp_stat.nc --rtol 0"
accept "check_output --rtol 0: the clean fake is bitwise right" "$OUT $F/fake.nc --rtol 0"
usage "check_output: a missing file is a usage error" "$OUT $F/nope.nc"

# compare_outputs
accept "compare_outputs: a file against its copy" "$CMP $F/fake.nc $F/copy.nc"
accept "compare_outputs: differing wall_seconds are skipped" "$CMP $F/fake.nc $F/wall.nc"
accept "compare_outputs: differing history is not compared" "$CMP $F/fake.nc $F/history.nc"
accept "compare_outputs: a differing [parallel] config section is not compared" "$CMP $F/fake.nc $F/cfg_parallel.nc"
reject "compare_outputs: one trajectory value one ulp off" "$CMP $F/fake.nc $F/ulp_traj.nc"
reject "compare_outputs: one ulp off, other direction" "$CMP $F/ulp_traj.nc $F/fake.nc"
accept "compare_outputs: one ulp off passes --rtol 1e-12" "$CMP $F/fake.nc $F/ulp_traj.nc --rtol 1e-12"
reject "compare_outputs: one statistic one ulp off" "$CMP $F/fake.nc $F/ulp_stat.nc"
accept "compare_outputs: --skip grad_norm skips a grad_norm difference" "$CMP $F/fake.nc $F/ulp_grad.nc --skip grad_norm"
reject "compare_outputs: NaN in another place, even with --rtol 1" "$CMP $F/fake.nc $F/nan_traj.nc --rtol 1"
reject "compare_outputs: a variable missing in the second file" "$CMP $F/fake.nc $F/no_grad_norm.nc"
reject "compare_outputs: a variable missing in the first file" "$CMP $F/no_grad_norm.nc $F/fake.nc"
reject "compare_outputs: a differing config attribute (optim.lr)" "$CMP $F/fake.nc $F/cfg_lr.nc"
reject "compare_outputs: a differing config attribute, other direction" "$CMP $F/cfg_lr.nc $F/fake.nc"
accept "compare_outputs: --skip config leaves the config attribute out" "$CMP $F/fake.nc $F/cfg_lr.nc --skip config"
reject "compare_outputs: --skip config still compares the data" "$CMP $F/fake.nc $F/ulp_traj.nc --skip config"
reject "compare_outputs: a differing step coordinate" "$CMP $F/fake.nc $F/step.nc"
reject "compare_outputs: a differing numeric sweep coordinate" "$CMP $F/fake.nc $F/sweep.nc"
reject "compare_outputs: a differing string sweep coordinate" "$CMP $F/fake.nc $F/sweep_str.nc"
reject "compare_outputs: a differing seed coordinate" "$CMP $F/fake.nc $F/seed.nc"
reject "compare_outputs: differing stat labels" "$CMP $F/fake.nc $F/statlab.nc"
reject "compare_outputs: a differing status" "$CMP $F/fake.nc $F/status.nc"
reject "compare_outputs: a differing title" "$CMP $F/fake.nc $F/title.nc"
reject "compare_outputs: differing dimension sizes (4 and 5 seeds)" "$CMP $F/fake.nc $F/fake_seeds4.nc"
usage "compare_outputs: a missing file is a usage error" "$CMP $F/fake.nc $F/nope.nc"

# check_margin_rises
accept "check_margin_rises: clean fake" "$PY tests/check_margin_rises.py $F/fake.nc"
reject "check_margin_rises: NaN mean margin after the fit" "$PY tests/check_margin_rises.py $F/m_nan_fit.nc"
reject "check_margin_rises: NaN mean margin at the last record" "$PY tests/check_margin_rises.py $F/m_nan_last.nc"
reject "check_margin_rises: train_acc min NaN (never fit)" "$PY tests/check_margin_rises.py $F/m_acc_nan.nc"
reject "check_margin_rises: normalized_margin_stats missing" "$PY tests/check_margin_rises.py $F/m_no_margin.nc"
reject "check_margin_rises: the margin falls at the end" "$PY tests/check_margin_rises.py $F/m_falls.nc"
reject "check_margin_rises: a seed missing after the fit (n_ok)" "$PY tests/check_margin_rises.py $F/m_n_ok.nc"
reject "check_margin_rises: a point with diverged tasks" "$PY tests/check_margin_rises.py $F/fake.nc --point 1"

# check_asymmetric_gap
accept "check_asymmetric_gap: asymmetric fake" "$PY tests/check_asymmetric_gap.py $F/asym.nc"
reject "check_asymmetric_gap: NaN ci95_high at the small init" "$PY tests/check_asymmetric_gap.py $F/a_ci_nan.nc"
reject "check_asymmetric_gap: a NaN margin_ratio of one seed" "$PY tests/check_asymmetric_gap.py $F/a_seed_nan.nc"
reject "check_asymmetric_gap: NaN mean at the large init" "$PY tests/check_asymmetric_gap.py $F/a_large_nan.nc"
reject "check_asymmetric_gap: stable_rank missing" "$PY tests/check_asymmetric_gap.py $F/a_no_rank.nc"
reject "check_asymmetric_gap: a seed beats the optimum" "$PY tests/check_asymmetric_gap.py $F/a_beats.nc"
reject "check_asymmetric_gap: the small init reaches the optimum" "$PY tests/check_asymmetric_gap.py $F/a_small_high.nc"
reject "check_asymmetric_gap: a task not ok" "$PY tests/check_asymmetric_gap.py $F/a_diverged.nc"
reject "check_asymmetric_gap: a file without model_init_scale" "$PY tests/check_asymmetric_gap.py $F/fake.nc"

# check_spectrum
accept "check_spectrum: spectrum fake" "$PY tests/check_spectrum.py $F/spec.nc"
accept "check_spectrum: spectrum fake against itself" "$PY tests/check_spectrum.py $F/spec.nc $F/spec.nc"
reject "check_spectrum: density variables missing" "$PY tests/check_spectrum.py $F/s_no_density.nc"
accept "check_spectrum: density variables missing, --no-density" "$PY tests/check_spectrum.py $F/s_no_density.nc --no-density"
reject "check_spectrum: hessian_eigenvalues missing" "$PY tests/check_spectrum.py $F/s_no_eig.nc"
reject "check_spectrum: a file without spectra" "$PY tests/check_spectrum.py $F/fake.nc --no-density"
reject "check_spectrum: NaN spectrum of a task that got there" "$PY tests/check_spectrum.py $F/s_eig_nan.nc"
reject "check_spectrum: NaN sharpness at a spectrum step" "$PY tests/check_spectrum.py $F/s_sharp_nan.nc"
reject "check_spectrum: eigenvalues not ascending" "$PY tests/check_spectrum.py $F/s_unsorted.nc"
reject "check_spectrum: density weights not summing to 1" "$PY tests/check_spectrum.py $F/s_weights.nc"
reject "check_spectrum: a NaN density of a task that got there" "$PY tests/check_spectrum.py $F/s_weights_nan.nc"
reject "check_spectrum: a density node outside the spectrum" "$PY tests/check_spectrum.py $F/s_node_out.nc"
reject "check_spectrum: spectra of the second file 1e-3 off" "$PY tests/check_spectrum.py $F/spec.nc $F/s_scaled.nc"
reject "check_spectrum: second file without spectra" "$PY tests/check_spectrum.py $F/spec.nc $F/s_no_eig.nc"

# check_edge_of_stability
accept "check_edge_of_stability: eos fake" "$PY tests/check_edge_of_stability.py $F/eos.nc"
reject "check_edge_of_stability: NaN median eta_sharpness at one record" "$PY tests/check_edge_of_stability.py $F/e_nan.nc"
reject "check_edge_of_stability: NaN spherical sharpness at step 0" "$PY tests/check_edge_of_stability.py $F/e_sph0_nan.nc"
reject "check_edge_of_stability: spherical_sharpness_stats missing" "$PY tests/check_edge_of_stability.py $F/e_no_sph.nc"
reject "check_edge_of_stability: never reaches the edge" "$PY tests/check_edge_of_stability.py $F/e_low.nc"
reject "check_edge_of_stability: a file that measured no sharpness" "$PY tests/check_edge_of_stability.py $F/fake.nc"

# check_final
accept "check_final: train_acc == 1 at point 0" "$FINAL $F/fake.nc train_acc == 1 --point 0"
accept "check_final: param_norm > 1 at every point" "$FINAL $F/fake.nc param_norm '>' 1"
accept "check_final: aliases (ge) and another statistic (min)" "$FINAL $F/fake.nc train_acc ge 0.9 --stat min --point 0"
reject "check_final: a metric never measured (sharpness)" "$FINAL $F/fake.nc sharpness gt 0"
reject "check_final: a later point fails (learning_rate >= 0.05)" "$FINAL $F/fake.nc learning_rate ge 0.05"
reject "check_final: NaN at the last record" "$FINAL $F/f_nan_last.nc normalized_margin gt 0 --point 0"
reject "check_final: train_acc_stats missing" "$FINAL $F/f_no_acc.nc train_acc ge 0"
reject "check_final: an unknown statistic" "$FINAL $F/fake.nc train_acc ge 0 --stat mode"
reject "check_final: a point that does not exist" "$FINAL $F/fake.nc train_acc ge 0 --point 9"
accept "check_final: --each-seed at a point where every seed lived" "$FINAL $F/fake.nc param_norm gt 0 --each-seed --point 0"
reject "check_final: --each-seed at a point with diverged seeds" "$FINAL $F/fake.nc param_norm gt 0 --each-seed --point 1"
accept "check_final: --status ok=5 at point 0" "$FINAL $F/fake.nc --status ok=5 --point 0"
accept "check_final: --status diverged=2 ok=3 at point 1" "$FINAL $F/fake.nc --status diverged=2 --status ok=3 --point 1"
reject "check_final: --status ok=5 at every point" "$FINAL $F/fake.nc --status ok=5"
reject "check_final: --status on an all-not_run file" "$FINAL $F/all_not_run.nc --status ok=5"
usage "check_final: a bad operator is a usage error" "$FINAL $F/fake.nc train_acc '>>' 1"
usage "check_final: nothing to check is a usage error" "$FINAL $F/fake.nc"

# ---- run the cases, $jobs at a time; print in order ----
run_case() { # INDEX EXPECT COMMAND
  local i=$1 expect=$2 cmd=$3
  bash -c "$cmd" >"$tmp/cases/$i.log" 2>&1
  echo $? >"$tmp/cases/$i.rc"
}
i=0
while IFS=$'\t' read -r expect name cmd; do
  i=$((i + 1))
  run_case "$i" "$expect" "$cmd" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
done <"$cases"
wait
failed=0
i=0
while IFS=$'\t' read -r expect name cmd; do
  i=$((i + 1))
  rc=$(cat "$tmp/cases/$i.rc")
  log=$tmp/cases/$i.log
  crash=0
  grep -q '^Traceback' "$log" && crash=1
  case $expect in
    accept) [ "$rc" -eq 0 ] && [ $crash -eq 0 ]; ok=$? ;;
    reject) [ "$rc" -eq 1 ] && [ $crash -eq 0 ] && grep -q 'FAIL\|differ\|only in\|NaN in' "$log"; ok=$? ;;
    usage) [ "$rc" -eq 2 ] && [ $crash -eq 0 ]; ok=$? ;;
    batch) [ "$rc" -eq 0 ]; ok=$? ;;
  esac
  case $expect in
    usage) verdict="exit 2" ;;
    batch | reject) verdict=rejected ;;
    accept) verdict=accepted ;;
  esac
  if [ "$ok" -eq 0 ]; then
    echo "PASS $name ($verdict)"
  else
    failed=$((failed + 1))
    echo "FAIL $name (wanted $expect, exit $rc$([ $crash -eq 1 ] && echo ', crashed'))"
    sed 's/^/    | /' "$log" | tail -6
    echo "    | command: $cmd"
  fi
done <"$cases"
echo "selftest: $i cases, $failed failed"
[ "$failed" -eq 0 ]
