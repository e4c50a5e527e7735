#!/bin/bash
# postprocess/report.py end to end (the issue "Offline analysis a researcher
# can hand around"): two short real runs, their reports, what the figures and
# tables hold, the pages in headless Chromium (every image loaded, no console
# message; tests/report/check_page.py), that the check itself catches a
# missing image and a script error, two incomparable files refused with
# exit 2, two comparable ones side by side, and --stat median (report.py and
# plot_metric.py), reproducible.
#   tests/report/run_report_test.sh      PASS/FAIL lines; exit 1 when any failed
set -u -o pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
PY=/usr/bin/python3
BL=${BL:-bin/biaslab}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; shift; for f in "$@"; do [ -f "$f" ] && tail -12 "$f" | sed 's/^/    | /'; done; failed=1; }
# check NAME COMMAND...: the command succeeds (its output is kept in $tmp/check.log)
check() {
  local name=$1; shift
  if "$@" >"$tmp/check.log" 2>&1; then pass "$name"; else fail "$name" "$tmp/check.log"; fi
}
# md_has FILE TEXT: report.md holds TEXT verbatim
md_has() { grep -qF -- "$2" "$1"; }
# info_row FILE METRIC: "mean [low, high]" of METRIC's line in `biaslab info` (the first point)
info_row() { "$BL" info "$1" | awk -v m="$2" '$1 == m { printf "%s [%s, %s]\n", $3, $4, $5; exit }'; }
# info_outcome FILE NAME: the mean biaslab info gives for a per-task outcome
info_outcome() { "$BL" info "$1" | awk -v m="$2" '$1 == m && $2 == "mean" { sub(",", "", $3); print $3; exit }'; }
start=$SECONDS

# --- two short real runs -----------------------------------------------------------
run_ok=1
if ! mpirun -np 2 "$BL" run inputs/sharpness_reduction.ini -o "$tmp/sr.nc" \
     --set optim.steps=1500 --set experiment.seeds=4 >"$tmp/sr.log" 2>&1; then
  fail "run sharpness_reduction (1500 steps, 4 seeds)" "$tmp/sr.log"; run_ok=0
fi
if ! mpirun -np 2 "$BL" run inputs/simplicity_symmetric.ini -o "$tmp/ss.nc" \
     --set optim.steps=3000 --set experiment.seeds=4 >"$tmp/ss.log" 2>&1; then
  fail "run simplicity_symmetric (3000 steps, 4 seeds)" "$tmp/ss.log"; run_ok=0
fi
if [ "$run_ok" -eq 0 ]; then
  echo "FAIL the runs failed: nothing to report on"; exit 1
fi
echo "runs: $((SECONDS - start)) s"

# --- the sharpness_reduction report ------------------------------------------------
t=$SECONDS
if $PY postprocess/report.py "$tmp/sr.nc" -o "$tmp/rep_sr" >"$tmp/rep_sr.log" 2>&1; then
  pass "report.py writes the sharpness_reduction report ($((SECONDS - t)) s)"
else
  fail "report.py on sharpness_reduction" "$tmp/rep_sr.log"
fi
md=$tmp/rep_sr/report.md
check "sharpness_reduction: index.html, report.md and the figures sharpness_reduction and training, no other phenomenon" \
  bash -c "test -s $tmp/rep_sr/index.html && test -s $md && test -s $tmp/rep_sr/fig_sharpness_reduction.png &&
           test -s $tmp/rep_sr/fig_training.png && grep -qx 'phenomena: sharpness_reduction, training' $tmp/rep_sr.log"
check "sharpness_reduction: report.md names the theory line 2 (edge of stability) and the panels" \
  bash -c "grep -qF 'eta_sharpness: 2: edge of stability, lr·λ₁ = 2 (value 2)' $md &&
           grep -qF 'Panels: eta_sharpness, spherical_sharpness, trained_norm.' $md &&
           grep -qF 'trained_norm: equilibrium_norm' $md"
want=$(info_row "$tmp/sr.nc" eta_sharpness)
if [ -n "$want" ] && md_has "$md" "| eta_sharpness | 1500 | 4 | $want |"; then
  pass "sharpness_reduction: the final eta_sharpness in the table matches biaslab info ($want)"
else
  fail "sharpness_reduction: final eta_sharpness '$want' (biaslab info) not in the table" "$md"
fi
want=$(info_row "$tmp/sr.nc" spherical_sharpness)
if [ -n "$want" ] && md_has "$md" "| spherical_sharpness | 1500 | 4 | $want |"; then
  pass "sharpness_reduction: the final spherical_sharpness matches biaslab info ($want)"
else
  fail "sharpness_reduction: final spherical_sharpness '$want' (biaslab info) not in the table" "$md"
fi
commit=$($PY -c "import netCDF4,re,sys; print(re.search(r'git ([^)]+)', netCDF4.Dataset(sys.argv[1]).source).group(1))" "$tmp/sr.nc")
core=$("$BL" --version | sed -nE 's/^BLAS: OpenBLAS, core ([^ ]+) .*/\1/p')
check "sharpness_reduction: provenance (commit $commit, ranks, group size, BLAS ${core:-not OpenBLAS}, host, wall time, command, config)" \
  bash -c "grep -qF '| commit | $commit |' $md && grep -qF '| MPI ranks | 2 |' $md && grep -qF '| group size | 1 |' $md &&
           grep -qE '^\| BLAS \| .*${core:-}.* per rank \|' $md && grep -qF '| host | $(hostname) |' $md && grep -qE '^\| wall time \| sum [0-9.]+ s, max [0-9.]+ s over 4 tasks \|' $md &&
           grep -qF 'mpirun -np 2 $BL run inputs/sharpness_reduction.ini -o $tmp/sr.nc --set optim.steps=1500 --set experiment.seeds=4' $md &&
           grep -qF 'weight_decay = 0.01' $md && grep -qF '| created | ' $md &&
           cmp -s <($PY -c 'import netCDF4,sys; sys.stdout.write(netCDF4.Dataset(sys.argv[1]).config)' $tmp/sr.nc) $tmp/rep_sr/sr.config.ini"

# --- the simplicity_symmetric report -----------------------------------------------
t=$SECONDS
if $PY postprocess/report.py "$tmp/ss.nc" -o "$tmp/rep_ss" >"$tmp/rep_ss.log" 2>&1; then
  pass "report.py writes the simplicity_symmetric report ($((SECONDS - t)) s)"
else
  fail "report.py on simplicity_symmetric" "$tmp/rep_ss.log"
fi
md=$tmp/rep_ss/report.md
check "simplicity_symmetric: the figures two_layer_margin and training" \
  bash -c "test -s $tmp/rep_ss/fig_two_layer_margin.png && test -s $tmp/rep_ss/fig_training.png &&
           grep -qx 'phenomena: two_layer_margin, training' $tmp/rep_ss.log"
best=$(info_outcome "$tmp/ss.nc" margin_best)
svm=$(info_outcome "$tmp/ss.nc" svm_margin)
check "simplicity_symmetric: the theory lines margin_best ($best, as biaslab info), (1+s)/4·γ_SVM, margin_ratio 1, rank one, w_SVM" \
  bash -c "grep -qF 'normalized_margin: margin_best (mean over seeds): all $best' $md &&
           grep -qF 'normalized_margin: (1+s)/4·γ_SVM from svm_margin (mean over seeds): all $best' $md &&
           grep -qF 'margin_ratio: 1: margin_best reached (value 1)' $md &&
           grep -qF 'stable_rank: 1: rank one (value 1)' $md && grep -qF 'svm_cosine: 1: along w_SVM (value 1)' $md"
check "simplicity_symmetric: per-task outcomes (status, svm_margin $svm, margin_best, reference_status, epochs_undone)" \
  bash -c "grep -qF '| status | ok 4, diverged 0, interrupted 0, not_run 0 |' $md &&
           grep -qE '^\| svm_margin \|  \| $svm \| ' $md && grep -qE '^\| margin_best \|  \| $best \| ' $md &&
           grep -qF '| reference_status | ok 4 |' $md && grep -qE '^\| epochs_undone \|  \| [0-9.]+ \|' $md"
for m in margin_ratio stable_rank svm_cosine normalized_margin; do
  want=$(info_row "$tmp/ss.nc" $m)
  if [ -n "$want" ] && md_has "$md" "| $m | 3000 | 4 | $want |"; then
    pass "simplicity_symmetric: the final $m matches biaslab info ($want)"
  else
    fail "simplicity_symmetric: final $m '$want' (biaslab info) not in the table" "$md"
  fi
done
check "report.md and index.html carry the same figures and values" \
  $PY - "$tmp/rep_ss" <<'EOF'
import html, re, sys
d = sys.argv[1]
md, page = open(d + "/report.md").read(), open(d + "/index.html").read()
img_md = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
img_html = re.findall(r'<img src="([^"]+)"', page)
assert img_md == img_html and img_md, (img_md, img_html)
text = html.unescape(re.sub(r"<[^>]+>", " ", page))
for row in re.findall(r"^\| (\w+) \| (\d+) \| (\d+) \| ([^|]+) \|", md, re.M):
    assert row[3].strip() in text, row
print(len(img_md), "figures")
EOF

# --- the pages in headless Chromium ------------------------------------------------
t=$SECONDS
for r in sr ss; do
  if $PY tests/report/check_page.py "$tmp/rep_$r/index.html" --no-script --screenshot "$tmp/shot_$r.png" \
       --expect-text "Final values per point" --expect-text "Provenance" >"$tmp/page_$r.log" 2>&1; then
    pass "Chromium renders the $r report: $(grep -o '[0-9]* images loaded' "$tmp/page_$r.log"), no console message, no script"
  else
    fail "Chromium check of the $r report" "$tmp/page_$r.log"
  fi
done
# the check must catch a missing image and a script error
cp -r "$tmp/rep_ss" "$tmp/broken_img" && rm "$tmp/broken_img/fig_training.png"
$PY tests/report/check_page.py "$tmp/broken_img/index.html" >"$tmp/broken_img.log" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q "images not loaded: fig_training.png" "$tmp/broken_img.log"; then
  pass "the Chromium check fails on a page with a missing image, naming it"
else
  fail "the Chromium check did not catch a missing image (exit $rc)" "$tmp/broken_img.log"
fi
cp -r "$tmp/rep_ss" "$tmp/broken_js" && sed -i 's|</body>|<script>noSuchFunction();</script></body>|' "$tmp/broken_js/index.html"
$PY tests/report/check_page.py "$tmp/broken_js/index.html" >"$tmp/broken_js.log" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q "console: .*Uncaught ReferenceError: noSuchFunction is not defined" "$tmp/broken_js.log"; then
  pass "the Chromium check fails on a page with a script error (Uncaught ReferenceError on the console)"
else
  fail "the Chromium check did not catch a script error (exit $rc)" "$tmp/broken_js.log"
fi
echo "chromium: $((SECONDS - t)) s"

# --- several files -------------------------------------------------------------------
$PY postprocess/report.py "$tmp/sr.nc" "$tmp/ss.nc" -o "$tmp/rep_bad" >"$tmp/bad.log" 2>&1
rc=$?
if [ "$rc" -eq 2 ] && grep -q "not comparable" "$tmp/bad.log" && grep -q "model.normalize: sr 'true', ss 'false'" "$tmp/bad.log" &&
   [ ! -e "$tmp/rep_bad" ]; then
  pass "two incomparable files are refused with exit 2, naming the keys, writing nothing"
else
  fail "two incomparable files (exit $rc)" "$tmp/bad.log"
fi
if mpirun -np 2 "$BL" run inputs/simplicity_symmetric.ini -o "$tmp/ss_init.nc" --set optim.steps=3000 \
     --set experiment.seeds=2 --set sweep.model.init_scale=0.001,0.1 >"$tmp/ss_init.log" 2>&1 &&
   $PY postprocess/report.py "$tmp/ss.nc" "$tmp/ss_init.nc" -o "$tmp/rep_two" >"$tmp/two.log" 2>&1 &&
   grep -qF 'Points: ss: model_init_scale=0.01; ss_init: model_init_scale=0.001; ss_init: model_init_scale=0.1.' "$tmp/rep_two/report.md" &&
   grep -qF '### Point ss_init: model_init_scale=0.1 (ss_init, point 1)' "$tmp/rep_two/report.md" &&
   $PY tests/report/check_page.py "$tmp/rep_two/index.html" --no-script >>"$tmp/two.log" 2>&1; then
  pass "two comparable files (one sweeps model.init_scale, two seed counts) side by side, labelled by file"
else
  fail "two comparable files side by side" "$tmp/ss_init.log" "$tmp/two.log"
fi

# --- --stat median ---------------------------------------------------------------------
t=$SECONDS
if $PY postprocess/report.py "$tmp/sr.nc" -o "$tmp/rep_med" --stat median >"$tmp/med.log" 2>&1 &&
   $PY postprocess/report.py "$tmp/sr.nc" -o "$tmp/rep_med2" --stat median >>"$tmp/med.log" 2>&1; then
  pass "report.py --stat median ($((SECONDS - t)) s for two)"
else
  fail "report.py --stat median" "$tmp/med.log"
fi
md=$tmp/rep_med/report.md
median=$($PY -c "
import sys; sys.path.insert(0, 'postprocess'); import biaslab_nc as b
ds = b.open_output(sys.argv[1]); print(b.fmt_num(b.stat_values(ds, 'eta_sharpness', 'median')[0, -1]))" "$tmp/sr.nc")
check "--stat median: the caption says the band is a percentile bootstrap of the median; the table gives it with its CI" \
  bash -c "grep -qF 'band: 95% percentile bootstrap of the median computed from the per-seed trajectories (2000 resamples' $md &&
           grep -qF '| median [95% bootstrap CI] |' $md && grep -qE '^\| eta_sharpness \| 1500 \| 4 \| [^|]+ \| $median \| [^|]+ \| $median \[[^]]+\] \|' $md &&
           ! cmp -s $tmp/rep_med/fig_sharpness_reduction.png $tmp/rep_sr/fig_sharpness_reduction.png"
check "--stat median is reproducible: the same figures and tables twice (fixed bootstrap seed)" \
  bash -c "cmp $tmp/rep_med/fig_sharpness_reduction.png $tmp/rep_med2/fig_sharpness_reduction.png &&
           diff <(grep -v '^Written by' $tmp/rep_med/report.md | sed 's/rep_med2/rep_med/g') <(grep -v '^Written by' $tmp/rep_med2/report.md | sed 's/rep_med2/rep_med/g')"
check "plot_metric.py --stat median and --stat iqm write their PNGs" \
  bash -c "$PY postprocess/plot_metric.py $tmp/sr.nc --metric eta_sharpness --stat median --target 2 &&
           test -s $tmp/sr_eta_sharpness_median.png &&
           $PY postprocess/plot_metric.py $tmp/sr.nc --metric eta_sharpness --stat iqm --out $tmp/iqm.png && test -s $tmp/iqm.png"
$PY postprocess/report.py "$tmp/sr.nc" -o "$tmp/rep_x" --stat mode >"$tmp/x.log" 2>&1
rc=$?
if [ "$rc" -eq 2 ] && grep -q "invalid choice: 'mode'" "$tmp/x.log"; then
  pass "--stat with an unknown statistic exits 2"
else
  fail "--stat mode (exit $rc)" "$tmp/x.log"
fi

# --- the grokking and scaling-rule phenomena (issues 13, 14), on short runs -------------
if mpirun -np 2 "$BL" run inputs/grok_sparse.ini -o "$tmp/grok.nc" --set data.dim=1000 --set data.n_train=150 \
     --set data.n_test=500 --set optim.weight_decay=0.05 --set optim.steps=15000 --set experiment.seeds=2 \
     --set measure.reference=svm >"$tmp/grok.log" 2>&1 &&
   $PY postprocess/report.py "$tmp/grok.nc" -o "$tmp/rep_grok" >"$tmp/rep_grok.log" 2>&1; then
  # t* = ln 128 / (0.01 x 0.05) = 9704.06 (grok_sparse.ini's init_scale and lr, the weight decay set here)
  check "grokking: its figure, with t* (9704.06) beside test_acc and grok_step against t*" \
    bash -c "grep -qx 'phenomena: grokking, training' $tmp/rep_grok.log && test -s $tmp/rep_grok/fig_grokking.png &&
             grep -qF -- '- test_acc: t* = ln α / (ηλ): all 9704.06' $tmp/rep_grok/report.md &&
             grep -qF 'grok_step, mean over seeds' $tmp/rep_grok/report.md"
else
  fail "grokking run and report" "$tmp/grok.log" "$tmp/rep_grok.log"
fi
if mpirun -np 2 "$BL" run inputs/grok_matrix.ini -o "$tmp/gm.nc" --set optim.steps=3000 >"$tmp/gm.log" 2>&1 &&
   $PY postprocess/report.py "$tmp/gm.nc" -o "$tmp/rep_gm" >"$tmp/rep_gm.log" 2>&1; then
  # t* = ln 10 / (0.2 x 2e-4) = 57564.6; the kernel plateau is the mean of the two seeds' kernel_test_mse
  check "grokking_matrix: its figure, with t* (57564.6) and the kernel plateau beside test_mse, ||X*||_* beside nuclear_norm" \
    bash -c "grep -qx 'phenomena: grokking_matrix, training' $tmp/rep_gm.log && test -s $tmp/rep_gm/fig_grokking_matrix.png &&
             grep -qF -- '- test_mse: t* = ln α / (ηλ): all 57564.6' $tmp/rep_gm/report.md &&
             grep -qF -- '- test_mse: kernel_test_mse (the kernel-regime predictor): all 0.102764' $tmp/rep_gm/report.md &&
             grep -qF -- '- nuclear_norm: ‖X*‖_* (target_nuclear_norm): all 31.8351' $tmp/rep_gm/report.md"
else
  fail "grokking_matrix run and report" "$tmp/gm.log" "$tmp/rep_gm.log"
fi
if mpirun -np 2 "$BL" run inputs/sqrt_rule_quadratic.ini -o "$tmp/sq.nc" --set experiment.seeds=4 \
     >"$tmp/sq.log" 2>&1 && $PY postprocess/report.py "$tmp/sq.nc" -o "$tmp/rep_sq" >"$tmp/rep_sq.log" 2>&1; then
  # frozen-v E f = width lr sigma_B / 4: 10 x 0.001 x 1 / 4 at kappa = 1, x sqrt(8) under linear at kappa = 8
  check "scaling_rule: its figure, with the frozen-v prediction per point (0.0025 under sqrt, 0.00707107 at linear kappa 8)" \
    bash -c "grep -qx 'phenomena: scaling_rule, training' $tmp/rep_sq.log && test -s $tmp/rep_sq/fig_scaling_rule.png &&
             grep -qF 'optim_scaling_rule=sqrt, optim_batch_size=8 0.0025,' $tmp/rep_sq/report.md &&
             grep -qF 'optim_scaling_rule=linear, optim_batch_size=8 0.00707107' $tmp/rep_sq/report.md"
else
  fail "scaling-rule run and report" "$tmp/sq.log" "$tmp/rep_sq.log"
fi

echo "total: $((SECONDS - start)) s"
exit "$failed"
