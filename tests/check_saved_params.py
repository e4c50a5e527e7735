#!/usr/bin/python3
"""The three ways of keeping parameters agree on the vectors they share.

  /usr/bin/python3 tests/check_saved_params.py FINAL.nc FIRST_LAST.nc RECORDS.nc

The same run with measure.save_params = final, first_last and records:
first_last's second vector and records' last are bitwise final's params;
records' first is first_last's first; first_last's params_step is the first
and last record step; records' rows are taken at every step of `step`, and
the first differs from the last (training moved). Exits 0 or 1.
"""
import sys

import netCDF4
import numpy as np


def load(path):
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        steps = np.asarray(ds["step"][:])
        at = np.asarray(ds["params_step"][:]) if "params_step" in ds.variables else None
        return np.asarray(ds["params"][:], dtype=np.float64), steps, at


def same(a, b):
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    (final, _, _), (fl, steps, at), (rec, rsteps, _) = (load(p) for p in sys.argv[1:])
    checks = [
        ("first_last has 2 vectors per task", fl.ndim == 4 and fl.shape[2] == 2),
        ("records has one vector per record", rec.ndim == 4 and rec.shape[2] == len(rsteps)),
        ("params_step is the first and the last record step",
         at is not None and list(at) == [steps[0], steps[-1]]),
        ("first_last's final vector = final's params", same(fl[:, :, 1], final)),
        ("records' last vector = final's params", same(rec[:, :, -1], final)),
        ("records' first vector = first_last's first", same(rec[:, :, 0], fl[:, :, 0])),
        ("training moved the parameters", not same(fl[:, :, 0], fl[:, :, 1])),
    ]
    bad = [name for name, ok in checks if not ok]
    for name in bad:
        print(f"check_saved_params: FAIL: {name}")
    if not bad:
        print(f"check_saved_params: OK ({len(checks)} checks; {rec.shape[2]} records of "
              f"{rec.shape[3]} parameters)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
