#!/usr/bin/python3
"""The margin measurements recomputed from a linear model's final parameters.

  /usr/bin/python3 tests/check_near_support.py make DATA.nc
  /usr/bin/python3 tests/check_near_support.py verify DATA.nc OUT.nc

make writes a separable two-class data set (x: 80 x 5 Gaussian, y = 1 where
x.w* > 0, every |x.w*| >= 0.05 after dropping the rest) for a run with
data.kind = netcdf, standardize = false, model.kind = linear (no bias),
measure.save_params = final and measure.every = optim.steps.
verify takes each task's final w from params, computes the margins
q_i = s_i w.x_i (s_i = +1 for class 1, -1 for class 0) and checks at the
last record, for every task that ended ok:
  - near_support_j = #{i : q_i < q_min + ln 10^j}, j = 1, 2, 3, exactly
    (an example within 1e-9 of a threshold makes the check skip that task);
  - normalized_margin = q_min / ||w|| to 1e-9 relative.
Exits 0 when all hold, 1 otherwise.
"""
import sys

import netCDF4
import numpy as np


def make(path):
    rng = np.random.default_rng(7)
    w_star = rng.standard_normal(5)
    x = rng.standard_normal((160, 5))
    keep = np.abs(x @ w_star) >= 0.05
    x = x[keep][:80]
    y = (x @ w_star > 0).astype(np.int32)
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("sample", x.shape[0])
        ds.createDimension("feature", x.shape[1])
        ds.createVariable("x", "f8", ("sample", "feature"))[:] = x
        ds.createVariable("y", "i4", ("sample",))[:] = y
    return 0


def verify(data_path, out_path):
    with netCDF4.Dataset(data_path) as d:
        x = np.asarray(d["x"][:], dtype=np.float64)
        sign = np.where(np.asarray(d["y"][:]) == 1, 1.0, -1.0)
    problems, checked = [], 0
    with netCDF4.Dataset(out_path) as ds:
        ds.set_auto_mask(False)
        need = ["params", "status", "normalized_margin", "near_support_1", "near_support_2", "near_support_3"]
        missing = [n for n in need if n not in ds.variables]
        if missing:
            print(f"check_near_support: {out_path} lacks {missing}")
            return 1
        params = np.asarray(ds["params"][:], dtype=np.float64)
        status = np.asarray(ds["status"][:])
        nm = np.asarray(ds["normalized_margin"][:], dtype=np.float64)[:, :, -1]
        counts = [np.asarray(ds[f"near_support_{j}"][:], dtype=np.float64)[:, :, -1] for j in (1, 2, 3)]
        for p, s in np.ndindex(status.shape):
            if status[p, s] != 0:
                continue
            w = params[p, s, : x.shape[1]]
            q = sign * (x @ w)
            q_min = q.min()
            thresholds = q_min + np.log(10.0) * np.arange(1, 4)
            if np.min(np.abs(q[:, None] - thresholds[None, :])) < 1e-9:
                continue  # rounding could put an example on either side
            checked += 1
            want = [int(np.sum(q < t)) for t in thresholds]
            got = [counts[j][p, s] for j in range(3)]
            if got != want:
                problems.append(f"point {p} seed {s}: near_support {got}, recomputed {want}")
            ref = q_min / np.linalg.norm(w)
            if not abs(nm[p, s] - ref) <= 1e-9 * abs(ref):
                problems.append(f"point {p} seed {s}: normalized_margin {nm[p, s]!r}, recomputed {ref!r}")
    if checked == 0:
        problems.append("no task ended ok (nothing to check)")
    for msg in problems:
        print(f"check_near_support: FAIL: {msg}")
    if not problems:
        print(f"check_near_support: OK ({checked} tasks; near-support counts and margins recomputed)")
    return 1 if problems else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        return make(sys.argv[2])
    if len(sys.argv) == 4 and sys.argv[1] == "verify":
        return verify(sys.argv[2], sys.argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
