#!/usr/bin/python3
"""Check the per-task reference solutions against the trajectories.

  /usr/bin/python3 tests/check_references.py FILE.nc --model linear|two_layer [--slope S]

For every task that ended ok:
- svm_margin (gamma_SVM of its training set) is finite and positive;
- margin_best equals svm_margin for a linear model, and for a two-layer net
  is at least (1+s)/4 gamma_SVM (the pair construction attains it);
- no recorded normalized_margin exceeds margin_best (beyond 1e-9 relative):
  margin_best is an optimum no net can beat;
- margin_ratio = normalized_margin / margin_best at every record.
Tasks that did not end ok must not exist here. Exits 0 or 1.
"""
import argparse
import sys

import netCDF4
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--model", choices=["linear", "two_layer"], required=True)
    ap.add_argument("--slope", type=float, default=0.0, help="leaky slope s (0 for relu)")
    args = ap.parse_args()
    ds = netCDF4.Dataset(args.file)
    ds.set_auto_mask(False)
    problems = []
    need = ["status", "svm_margin", "margin_best", "normalized_margin", "margin_ratio"]
    missing = [n for n in need if n not in ds.variables]
    if missing:
        print(f"check_references: missing variables {missing}")
        return 1
    status = ds["status"][:]
    svm = ds["svm_margin"][:]
    best = ds["margin_best"][:]
    nm = ds["normalized_margin"][:]
    ratio = ds["margin_ratio"][:]
    if not (status == 0).all():
        problems.append(f"{int((status != 0).sum())} task(s) did not end ok")
    ok = status == 0
    if not np.all(np.isfinite(svm[ok]) & (svm[ok] > 0)):
        problems.append(f"svm_margin not finite and positive: {svm[ok]}")
    if args.model == "linear":
        if not np.array_equal(best[ok], svm[ok]):
            problems.append("margin_best differs from svm_margin for a linear model")
    else:
        floor = (1 + args.slope) / 4 * svm
        if not np.all(np.isfinite(best[ok]) & (best[ok] >= floor[ok] * (1 - 1e-12))):
            problems.append(f"margin_best below (1+s)/4 gamma_SVM: {best[ok]} vs {floor[ok]}")
    for p, s in zip(*np.nonzero(ok)):
        m = nm[p, s]
        measured = np.isfinite(m)
        if not measured.any():
            problems.append(f"task ({p}, {s}): normalized_margin never measured")
            continue
        if np.any(m[measured] > best[p, s] * (1 + 1e-9)):
            problems.append(f"task ({p}, {s}): normalized margin {np.nanmax(m):.12g} beats margin_best {best[p, s]:.12g}")
        want = m / best[p, s]
        r = ratio[p, s]
        if not np.allclose(r[measured], want[measured], rtol=1e-12, atol=0):
            problems.append(f"task ({p}, {s}): margin_ratio is not normalized_margin / margin_best")
    ds.close()
    for q in problems:
        print("check_references:", q)
    print(f"check_references: {'FAILED' if problems else 'OK'} ({int(ok.sum())} tasks) {args.file}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
