#!/usr/bin/python3
"""Two runs trained the same: final parameters, status and steps_done equal
bit for bit (their records may differ: one run may record more often).

  /usr/bin/python3 tests/compare_params.py A.nc B.nc

Both files need `params` (measure.save_params = final). Exits 0 or 1.
"""
import sys

import netCDF4
import numpy as np


def load(path):
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        if "params" not in ds.variables:
            raise SystemExit(f"compare_params: {path} has no params (save_params = final)")
        return {n: np.asarray(ds[n][:]) for n in ("params", "status", "steps_done")}


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = load(sys.argv[1]), load(sys.argv[2])
    problems = []
    for n in ("status", "steps_done"):
        if not np.array_equal(a[n], b[n]):
            problems.append(f"{n} differ: {a[n].ravel()} vs {b[n].ravel()}")
    pa, pb = a["params"], b["params"]
    if pa.shape != pb.shape or not np.array_equal(np.isnan(pa), np.isnan(pb)):
        problems.append("params differ in shape or NaN places")
    elif np.isnan(pa).all():
        problems.append("params all NaN")
    else:
        m = ~np.isnan(pa)
        differ = pa[m].view(np.int64) != pb[m].view(np.int64)
        if differ.any():
            tasks = np.argwhere(np.any(~np.isnan(pa) & (pa != pb), axis=2))
            problems.append(f"final parameters differ for {len(tasks)} task(s), e.g. {tasks[0].tolist()}")
    for p in problems:
        print("compare_params:", p)
    print(f"compare_params: {'FAILED' if problems else 'OK'}: {pa.shape[0] * pa.shape[1]} tasks")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
