#!/usr/bin/python3
"""Edge of stability and sharpness reduction (SCIENCE.md 4).

  /usr/bin/python3 tests/check_edge_of_stability.py FILE.nc

Passes when the median over seeds of eta_sharpness (lr * lambda_1) lies in
[1.8, 2.2] at some record after it started below 1, and the median spherical
sharpness after that record falls below a tenth of its value at step 0 (it
need not stay there: a catapult can throw a seed out for a while).
"""
import sys

import netCDF4
import numpy as np

ds = netCDF4.Dataset(sys.argv[1])
stat = list(ds["stat"][:])
eta = np.ma.filled(ds["eta_sharpness_stats"][0, stat.index("median"), :], np.nan)
sph = np.ma.filled(ds["spherical_sharpness_stats"][0, stat.index("median"), :], np.nan)
steps = ds["step"][:]
low = np.flatnonzero(eta < 1)
if low.size == 0:
    sys.exit("check_edge_of_stability: eta_sharpness never started below 1")
at_edge = np.flatnonzero((eta >= 1.8) & (eta <= 2.2) & (np.arange(eta.size) > low[0]))
print(f"eta_sharpness median: start {eta[0]:.3f}, max {np.nanmax(eta):.3f}, end {eta[-1]:.3f}; "
      f"spherical sharpness {sph[0]:.4g} -> {sph[-1]:.4g}")
if at_edge.size == 0:
    sys.exit("check_edge_of_stability: eta_sharpness never reached [1.8, 2.2]")
print(f"at the edge from step {steps[at_edge[0]]}")
later = sph[at_edge[0]:]
print(f"lowest median spherical sharpness after that: {np.nanmin(later):.4g}")
if not np.nanmin(later) < 0.1 * sph[0]:
    sys.exit("check_edge_of_stability: spherical sharpness did not fall tenfold")
