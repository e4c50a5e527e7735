#!/usr/bin/python3
"""SCIENCE.md 2, negative result: on data.kind = asymmetric, small
initialization ends at a linear classifier below the best two-layer margin.

  /usr/bin/python3 tests/check_asymmetric_gap.py FILE.nc

FILE is a run of inputs/simplicity_asymmetric.ini (a sweep of
model.init_scale, smallest first). margin_best there is the exact planar
optimum (LP), so margin_ratio <= 1 up to its 1e-4 bracket. Passes when
  - every task ended ok and the checked metrics are finite;
  - no seed of any point exceeds margin_ratio 1 + 1e-3 (the optimum is an optimum);
  - at the smallest init_scale every seed fits the data and ends with
    margin_ratio < 0.95, the upper 95% CI of the mean below 0.9, a rank-one
    first layer (stable rank < 1.05) and svm_cosine > 0.999;
  - at the largest init_scale the mean margin_ratio is above 0.97, so the gap
    is the small-initialization dynamics, not an unreachable reference.
"""
import sys

import netCDF4
import numpy as np

ds = netCDF4.Dataset(sys.argv[1])
stat = list(ds["stat"][:])
scales = ds["model_init_scale"][:]
small, large = int(np.argmin(scales)), int(np.argmax(scales))
ratio = np.ma.filled(ds["margin_ratio"][:, :, -1], np.nan)   # (point, seed), last record
failures = []
status = ds["status"][:]
if np.any(status != 0):
    failures.append(f"{int(np.sum(status != 0))} task(s) did not end ok (status flags {sorted(set(status.ravel().tolist()))})")
for name in ("margin_ratio", "stable_rank", "svm_cosine", "train_acc"):
    values = np.ma.filled(ds[name][[small, large], :, -1], np.nan)
    if not np.all(np.isfinite(values)):
        failures.append(f"{name} is missing or not finite at the last record")
if np.nanmax(ratio) > 1 + 1e-3:
    failures.append(f"a seed beats the computed optimum: margin_ratio {np.nanmax(ratio):.6f}")
r = ratio[small]
ci_high = ds["margin_ratio_stats"][small, stat.index("ci95_high"), -1]
rank = ds["stable_rank"][small, :, -1]
cosine = ds["svm_cosine"][small, :, -1]
acc = ds["train_acc"][small, :, -1]
print(f"init_scale {scales[small]:g}: margin_ratio mean {np.mean(r):.4f} "
      f"[{np.min(r):.4f}, {np.max(r):.4f}], CI high {ci_high:.4f}; stable rank <= {np.max(rank):.4f}; "
      f"svm_cosine >= {np.min(cosine):.5f}")
print(f"init_scale {scales[large]:g}: margin_ratio mean {np.mean(ratio[large]):.4f}")
if np.min(acc) < 1:
    failures.append("a small-init seed does not fit the training data")
if np.max(r) >= 0.95 or ci_high >= 0.9:
    failures.append("the small-init margin is not measurably below the optimum")
if np.max(rank) >= 1.05 or np.min(cosine) <= 0.999:
    failures.append("the small-init net is not the linear classifier along w_SVM")
if np.mean(ratio[large]) <= 0.97:
    failures.append("the large-init runs do not reach the optimum")
for f in failures:
    print("check_asymmetric_gap:", f)
sys.exit(1 if failures else 0)
