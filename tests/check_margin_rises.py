#!/usr/bin/python3
"""The spine's phenomenon: after the training data is fit (every seed at 100%
training accuracy), the mean normalized margin keeps rising.

  /usr/bin/python3 tests/check_margin_rises.py FILE.nc

Passes when, from the first record at which every seed fits the data, the
mean normalized margin at the last record exceeds its value there by at least
5% and never falls by more than 1e-9 between records.
"""
import sys

import netCDF4
import numpy as np

ds = netCDF4.Dataset(sys.argv[1])
stat = list(ds["stat"][:])
acc_min = ds["train_acc_stats"][0, stat.index("min"), :]
margin = ds["normalized_margin_stats"][0, stat.index("mean"), :]
fit = np.flatnonzero(acc_min >= 1.0)
if fit.size == 0:
    sys.exit("check_margin_rises: the training data is never fit by every seed")
start = fit[0]
after = margin[start:]
drops = np.diff(after)
print(f"fit at record {start} (step {ds['step'][start]}); margin {after[0]:.5g} -> {after[-1]:.5g}")
if after[-1] < 1.05 * after[0]:
    sys.exit("check_margin_rises: the margin did not rise by 5% after the fit")
if drops.min() < -1e-9:
    sys.exit(f"check_margin_rises: the mean margin fell by {-drops.min():.3g} after the fit")
