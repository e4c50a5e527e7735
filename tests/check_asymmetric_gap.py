#!/usr/bin/python3
"""SCIENCE.md 2, negative result: on data.kind = asymmetric, small
initialization ends at a linear classifier below the best two-layer margin.

  /usr/bin/python3 tests/check_asymmetric_gap.py FILE.nc

FILE is a run of inputs/simplicity_asymmetric.ini (a sweep of
model.init_scale). margin_best there is the exact planar optimum (LP), so
margin_ratio <= 1 up to its 1e-4 bracket. Passes when
  - model_init_scale has at least two distinct values, every task ended ok,
    and every value compared below is finite (a NaN fails, never passes);
  - no seed of any point exceeds margin_ratio 1 + 1e-3 at the last record
    (the optimum is an optimum);
  - at the smallest init_scale every seed fits the data and ends with
    margin_ratio < 0.95, the upper 95% CI of the mean below 0.9, a rank-one
    first layer (stable rank < 1.05) and svm_cosine > 0.999;
  - at the largest init_scale the mean margin_ratio is above 0.97, so the gap
    is the small-initialization dynamics, not an unreachable reference.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np

from checkers import common


def check(c, ds):
    scales = common.values(ds, "model_init_scale", ("point",))
    if not c.check(np.all(np.isfinite(scales)) and len(np.unique(scales)) >= 2,
                   f"model_init_scale {scales.tolist()}: need at least two distinct finite values"):
        return
    small, large = int(np.argmin(scales)), int(np.argmax(scales))
    status = common.values(ds, "status", ("point", "seed"), np.int64)
    bad = status != 0
    c.check(not bad.any(), lambda: f"{int(bad.sum())} task(s) did not end ok (status flags "
            f"{sorted(set(status.ravel().tolist()))})")
    last = {name: common.values(ds, name, ("point", "seed", "record"))[:, :, -1]
            for name in ("margin_ratio", "stable_rank", "svm_cosine", "train_acc")}
    for name, v in last.items():
        bad = ~np.isfinite(v)
        c.check(not bad.any(), lambda: f"{name} not finite at the last record: {common.where(bad, ('point', 'seed'))}")
    ratio = last["margin_ratio"]
    ci_high = common.stat_values(ds, "margin_ratio", "ci95_high")[small, -1]
    mean_large = common.stat_values(ds, "margin_ratio", "mean")[large, -1]
    c.check(np.isfinite(ci_high), f"margin_ratio ci95_high at init_scale {scales[small]:g} is {ci_high!r}")
    c.check(np.isfinite(mean_large), f"margin_ratio mean at init_scale {scales[large]:g} is {mean_large!r}")

    worst = np.max(np.where(np.isfinite(ratio), ratio, np.inf))
    c.check(worst <= 1 + 1e-3, f"a seed beats the computed optimum: margin_ratio {worst:.6f}")
    r, rank, cosine, acc = (last[n][small] for n in ("margin_ratio", "stable_rank", "svm_cosine", "train_acc"))
    print(f"check_asymmetric_gap: init_scale {scales[small]:g}: margin_ratio mean {np.mean(r):.4f} "
          f"[{np.min(r):.4f}, {np.max(r):.4f}], CI high {ci_high:.4f}; stable rank <= {np.max(rank):.4f}; "
          f"svm_cosine >= {np.min(cosine):.5f}")
    print(f"check_asymmetric_gap: init_scale {scales[large]:g}: margin_ratio mean {mean_large:.4f}")
    c.check(np.all(acc >= 1), "a small-init seed does not fit the training data")
    c.check(np.all(r < 0.95), f"a small-init seed ends at margin_ratio {np.max(r):.4f} >= 0.95")
    c.check(ci_high < 0.9, f"the small-init CI of the mean margin_ratio reaches {ci_high:.4f} >= 0.9")
    c.check(np.all(rank < 1.05), f"a small-init first layer has stable rank {np.max(rank):.4f} >= 1.05")
    c.check(np.all(cosine > 0.999), f"a small-init net has svm_cosine {np.min(cosine):.5f} <= 0.999")
    c.check(mean_large > 0.97, f"the large-init runs do not reach the optimum: mean margin_ratio {mean_large:.4f}")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    c = common.Report("check_asymmetric_gap")
    ds = common.open_dataset(sys.argv[1], "check_asymmetric_gap")
    try:
        check(c, ds)
    except common.CheckError as e:
        c.fail(str(e))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
