#!/usr/bin/python3
"""Two runs' full Hessian spectra agree to a tolerance relative to each
spectrum's own scale (max |lambda| of the task): eigenvalues that are zero
but for rounding have no scale of their own, so a per-value relative
comparison cannot be used for them.

  /usr/bin/python3 tests/check_spectra_agree.py A.nc B.nc [--rtol 1e-10]

Fails (exit 1) when either file lacks hessian_eigenvalues, when the shapes
or the NaN patterns differ, when a task has no finite eigenvalue, or when
some task's spectra differ by more than rtol * max |lambda|.
"""
import argparse
import sys

import netCDF4
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=1e-10)
    args = ap.parse_args()
    ev = []
    for path in (args.a, args.b):
        with netCDF4.Dataset(path) as ds:
            if "hessian_eigenvalues" not in ds.variables:
                print(f"check_spectra_agree: {path} has no hessian_eigenvalues")
                return 1
            ev.append(np.ma.filled(ds["hessian_eigenvalues"][:], np.nan).astype(float))
    a, b = ev
    if a.shape != b.shape or not np.array_equal(np.isnan(a), np.isnan(b)):
        print(f"check_spectra_agree: shapes {a.shape}, {b.shape} or NaN places differ")
        return 1
    worst = 0.0
    for idx in np.ndindex(a.shape[:-1]):
        x, y = a[idx], b[idx]
        m = np.isfinite(x)
        if not m.any():
            print(f"check_spectra_agree: task/spectrum {idx} has no finite eigenvalue")
            return 1
        scale = np.max(np.abs(x[m]))
        worst = max(worst, np.max(np.abs(x[m] - y[m])) / scale)
    print(f"check_spectra_agree: worst difference {worst:.3g} of the spectrum's scale (allowed {args.rtol:g})")
    return 0 if worst <= args.rtol else 1


if __name__ == "__main__":
    sys.exit(main())
