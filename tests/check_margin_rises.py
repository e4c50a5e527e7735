#!/usr/bin/python3
"""The spine's phenomenon: after the training data is fit (every seed at 100%
training accuracy), the mean normalized margin keeps rising.

  /usr/bin/python3 tests/check_margin_rises.py FILE.nc [--point K]

Passes when, at point K (default 0): every task ended ok; from the first
record at which the minimum training accuracy over seeds is 1 on, every seed
counts (n_ok = seeds) and the mean normalized margin is finite at every
record, positive at the fit, at least 5% higher at the last record than
there, and never falls by more than 1e-9 between records. A NaN, a missing
variable or a point that is never fit fails.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np

from checkers import common


def check(c, ds, point):
    status = common.values(ds, "status", ("point", "seed"), np.int64)
    n_points, n_seeds = status.shape
    if not c.check(0 <= point < n_points, f"point {point} not in the file ({n_points} points)"):
        return
    bad = status[point] != 0
    c.check(not bad.any(), lambda: f"point {point}: {int(bad.sum())} of {n_seeds} task(s) did not end ok "
            f"(status {status[point].tolist()})")
    acc_min = common.stat_values(ds, "train_acc", "min")[point]
    margin = common.stat_values(ds, "normalized_margin", "mean")[point]
    n_ok = common.values(ds, "n_ok", ("point", "record"), np.int64)[point]
    steps = common.values(ds, "step", ("record",), np.int64)
    fit = np.flatnonzero(common.finite_and(acc_min, lambda a: a >= 1.0))
    if not c.check(fit.size > 0, f"point {point}: the training data is never fit by every seed "
                   f"(minimum training accuracy {acc_min.tolist()[-3:]} at the last records)"):
        return
    start = int(fit[0])
    after = margin[start:]
    bad = n_ok[start:] != n_seeds
    c.check(not bad.any(), lambda: f"point {point}: n_ok below {n_seeds} after the fit, at step(s) "
            f"{steps[start:][bad].tolist()[:5]}")
    bad = ~np.isfinite(after)
    if not c.check(not bad.any(), lambda: f"point {point}: mean normalized margin not finite after the fit, "
                   f"at step(s) {steps[start:][bad].tolist()[:5]}"):
        return
    print(f"check_margin_rises: point {point}: fit at record {start} (step {steps[start]}); "
          f"mean normalized margin {after[0]:.5g} -> {after[-1]:.5g}")
    c.check(after[0] > 0, f"point {point}: mean normalized margin {after[0]!r} at the fit, expected > 0")
    c.check(after[-1] >= 1.05 * after[0], f"point {point}: the margin did not rise by 5% after the fit "
            f"({after[0]:.6g} -> {after[-1]:.6g})")
    if after.size > 1:
        drops = np.diff(after)
        k = int(np.argmin(drops))
        c.check(drops[k] >= -1e-9, f"point {point}: the mean margin fell by {-drops[k]:.3g} after the fit "
                f"(step {steps[start + k]} -> {steps[start + k + 1]})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--point", type=int, default=0)
    args = ap.parse_args()
    c = common.Report("check_margin_rises")
    ds = common.open_dataset(args.file, "check_margin_rises")
    try:
        check(c, ds, args.point)
    except common.CheckError as e:
        c.fail(str(e))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
