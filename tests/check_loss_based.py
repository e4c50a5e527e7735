#!/usr/bin/python3
"""Properties of the loss-based schedule (SCIENCE.md 1) in a result file.

  /usr/bin/python3 tests/check_loss_based.py FILE.nc [--monotone]
        [--max-undone F] [--min-drop D]

For every task that ended ok:
- --monotone (gd, where every step is an epoch): train_log_loss never rises
  from one record to the next, the final record included (every epoch that
  did not lower the loss is undone, the last one too);
- --max-undone F: epochs_undone <= F * optim.steps (the schedule keeps
  taking steps instead of undoing them);
- --min-drop D: the final train_log_loss is at least D below the first.
Fails (exit 1) on NaN, a missing variable, or no ok task.
"""
import argparse
import configparser
import sys

import netCDF4
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--monotone", action="store_true")
    ap.add_argument("--max-undone", type=float)
    ap.add_argument("--min-drop", type=float)
    args = ap.parse_args()
    problems = []
    with netCDF4.Dataset(args.file) as ds:
        ds.set_auto_mask(False)
        for name in ("status", "train_log_loss", "epochs_undone"):
            if name not in ds.variables:
                print(f"check_loss_based: no variable {name}")
                return 1
        ini = configparser.ConfigParser(interpolation=None)
        ini.read_string(ds.config)
        steps = int(ini["optim"]["steps"])
        ok = np.asarray(ds["status"][:]) == 0
        tll = np.asarray(ds["train_log_loss"][:])
        undone = np.asarray(ds["epochs_undone"][:])
    if not ok.any():
        problems.append("no task ended ok")
    for p, s in zip(*np.nonzero(ok)):
        x = tll[p, s]
        if not np.all(np.isfinite(x)):
            problems.append(f"task ({p}, {s}): train_log_loss not finite: {x}")
            continue
        if args.monotone and np.any(np.diff(x) > 0):
            r = int(np.argmax(np.diff(x) > 0)) + 1
            problems.append(f"task ({p}, {s}): train_log_loss rises at record {r} of {len(x) - 1}: "
                            f"{x[r - 1]:.6g} -> {x[r]:.6g}")
        if args.min_drop is not None and not (x[0] - x[-1] >= args.min_drop):
            problems.append(f"task ({p}, {s}): train_log_loss fell only {x[0] - x[-1]:.3g} "
                            f"(from {x[0]:.6g} to {x[-1]:.6g}), wanted {args.min_drop}")
        if args.max_undone is not None and not (undone[p, s] <= args.max_undone * steps):
            problems.append(f"task ({p}, {s}): {undone[p, s]} of {steps} steps' epochs undone, "
                            f"more than {args.max_undone:g} of them")
    for q in problems:
        print("check_loss_based:", q)
    worst = int(np.max(undone[ok])) if ok.any() else -1
    print(f"check_loss_based: {'FAILED' if problems else 'OK'} ({int(ok.sum())} tasks; at most "
          f"{worst} epochs undone) {args.file}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
