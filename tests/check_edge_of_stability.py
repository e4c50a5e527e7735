#!/usr/bin/python3
"""Edge of stability and sharpness reduction (SCIENCE.md 4).

  /usr/bin/python3 tests/check_edge_of_stability.py FILE.nc [--point K]

Passes when, at point K (default 0), every task ended ok, the medians over
seeds of eta_sharpness (lr * lambda_1) and spherical_sharpness are finite at
every record (a NaN or a missing variable fails), eta_sharpness lies in
[1.8, 2.2] at some record after one where it was below 1, and the median
spherical sharpness after that record falls below a tenth of its (positive)
value at step 0 (it need not stay there: a catapult can throw a seed out for
a while).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np

from checkers import common


def check(c, ds, point):
    status = common.values(ds, "status", ("point", "seed"), np.int64)
    if not c.check(0 <= point < status.shape[0], f"point {point} not in the file ({status.shape[0]} points)"):
        return
    c.check(np.all(status[point] == 0), f"point {point}: not every task ended ok (status {status[point].tolist()})")
    eta = common.stat_values(ds, "eta_sharpness", "median")[point]
    sph = common.stat_values(ds, "spherical_sharpness", "median")[point]
    steps = common.values(ds, "step", ("record",), np.int64)
    ok = True
    for name, v in (("eta_sharpness", eta), ("spherical_sharpness", sph)):
        bad = ~np.isfinite(v)
        ok = c.check(not bad.any(), lambda: f"median {name} not finite at step(s) {steps[bad].tolist()[:5]}") and ok
    if not ok:
        return
    low = np.flatnonzero(eta < 1)
    if not c.check(low.size > 0, f"eta_sharpness never below 1 (start {eta[0]:.3f})"):
        return
    at_edge = np.flatnonzero((eta >= 1.8) & (eta <= 2.2) & (np.arange(eta.size) > low[0]))
    print(f"check_edge_of_stability: eta_sharpness median: start {eta[0]:.3f}, max {np.max(eta):.3f}, "
          f"end {eta[-1]:.3f}; spherical sharpness {sph[0]:.4g} -> {sph[-1]:.4g}")
    if not c.check(at_edge.size > 0, "eta_sharpness never reached [1.8, 2.2] after starting below 1"):
        return
    later = sph[at_edge[0]:]
    print(f"check_edge_of_stability: at the edge from step {steps[at_edge[0]]}; lowest median spherical "
          f"sharpness after that {np.min(later):.4g}")
    c.check(sph[0] > 0, f"spherical sharpness at step 0 is {sph[0]!r}, expected > 0")
    c.check(np.min(later) < 0.1 * sph[0], f"spherical sharpness did not fall tenfold "
            f"({sph[0]:.4g} -> at least {np.min(later):.4g})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--point", type=int, default=0)
    args = ap.parse_args()
    c = common.Report("check_edge_of_stability")
    ds = common.open_dataset(args.file, "check_edge_of_stability")
    try:
        check(c, ds, args.point)
    except common.CheckError as e:
        c.fail(str(e))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
