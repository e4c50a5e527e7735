#!/usr/bin/python3
"""Compare the results of two biaslab output files.

  /usr/bin/python3 tests/compare_outputs.py A.nc B.nc [--rtol R] [--skip VAR]...

Every variable over (point, seed, ...) or (point, stat, ...) except
wall_seconds must match: bitwise (NaN where NaN) with --rtol 0, the default,
or to relative tolerance R. Exits 0 when they match, 1 otherwise.
"""
import argparse
import sys

import netCDF4
import numpy as np

SKIP = {"wall_seconds"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=0.0)
    ap.add_argument("--skip", action="append", default=[],
                    help="leave out a variable (and its _stats), e.g. a residual near 0")
    args = ap.parse_args()
    skip = SKIP | set(args.skip) | {v + "_stats" for v in args.skip}
    a, b = netCDF4.Dataset(args.a), netCDF4.Dataset(args.b)
    compared, problems = 0, []
    for name, var in a.variables.items():
        if name in skip or var.dimensions[:1] != ("point",) or len(var.dimensions) < 2:
            continue
        if name not in b.variables:
            problems.append(f"{name}: missing in {args.b}")
            continue
        x = np.ma.filled(var[:], np.nan).astype(float)
        y = np.ma.filled(b.variables[name][:], np.nan).astype(float)
        compared += 1
        if x.shape != y.shape:
            problems.append(f"{name}: shapes {x.shape} and {y.shape}")
            continue
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            problems.append(f"{name}: NaN in different places")
            continue
        mask = ~np.isnan(x)
        if args.rtol == 0:
            same = np.array_equal(x[mask].view(np.int64), y[mask].view(np.int64))
            if not same:
                problems.append(f"{name}: not bitwise identical")
        else:
            scale = np.maximum(np.abs(x[mask]), np.abs(y[mask]))
            scale[scale == 0] = 1
            worst = np.max(np.abs(x[mask] - y[mask]) / scale) if mask.any() else 0.0
            if worst > args.rtol:
                problems.append(f"{name}: relative difference {worst:.3g} > {args.rtol:g}")
    for p in problems:
        print("compare_outputs:", p)
    if compared == 0:
        print("compare_outputs: nothing to compare")
        return 1
    print(f"compare_outputs: {compared} variables, {len(problems)} differ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
