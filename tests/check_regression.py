#!/usr/bin/python3
"""Regression through a NetCDF data file with real targets.

  /usr/bin/python3 tests/check_regression.py make DATA.nc
  /usr/bin/python3 tests/check_regression.py verify DATA.nc OUT.nc

make: x (60, 3) ~ N(0, 1), target = x w + 0.1 noise (60), and a test set
(20); verify: a linear model trained by gd on the squared loss (mean
reduction) must end at the least-squares optimum that numpy's lstsq
computes independently: train_loss = |X w* - t|^2 / (2 n) to 1e-9
relative, for every seed; the file holds no accuracy or margin (no class
labels) but the test loss. Exits 0 or 1.
"""
import sys

import netCDF4
import numpy as np


def make(path):
    rng = np.random.default_rng(7)
    w = np.array([0.5, -1.0, 2.0])
    with netCDF4.Dataset(path, "w") as d:
        for name, n in (("", 60), ("_test", 20)):
            d.createDimension("sample" + name, n)
        d.createDimension("feature", 3)
        for name, n in (("", 60), ("_test", 20)):
            x = rng.standard_normal((n, 3))
            t = x @ w + 0.1 * rng.standard_normal(n)
            d.createVariable("x" + name, "f8", ("sample" + name, "feature"))[:] = x
            d.createVariable("target" + name, "f8", ("sample" + name,))[:] = t
    return 0


def verify(data, out):
    with netCDF4.Dataset(data) as d:
        x, t = np.asarray(d["x"][:]), np.asarray(d["target"][:])
    w, *_ = np.linalg.lstsq(x, t, rcond=None)
    best = np.sum((x @ w - t) ** 2) / (2 * len(t))
    problems = []
    with netCDF4.Dataset(out) as o:
        o.set_auto_mask(False)
        for absent in ("train_acc", "test_acc", "normalized_margin", "smoothed_margin"):
            if absent in o.variables:
                problems.append(f"{absent} recorded although the data have no class labels")
        if "test_loss" not in o.variables:
            problems.append("no test_loss")
        final = np.asarray(o["train_loss"][:])[..., -1]
        status = np.asarray(o["status"][:])
    if not (status == 0).all():
        problems.append(f"not every task ended ok: {status}")
    rel = np.abs(final - best) / best
    if not np.all(np.isfinite(rel)) or rel.max() > 1e-9:
        problems.append(f"final train_loss {final.ravel()} is not the least-squares optimum {best:.12g}")
    for p in problems:
        print("check_regression:", p)
    print(f"check_regression: {'FAILED' if problems else 'OK'}: least squares {best:.12g}, "
          f"worst relative gap {np.nanmax(rel):.3g}")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        sys.exit(make(sys.argv[2]))
    if len(sys.argv) == 4 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
