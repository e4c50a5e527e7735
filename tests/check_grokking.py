#!/usr/bin/python3
"""Grokking in a biaslab output of a diagonal net (SCIENCE.md section 3).

  check_grokking.py FILE.nc [--point P] [--misgrok]

For every task of the point (all seeds) that ran ok, with alpha =
model.init_scale, eta = optim.lr, lambda = optim.weight_decay and
t* = ln(alpha) / (eta lambda) recomputed from the stored config:
- t_star equals that t*;
- before the transition (records at steps <= t*/3) ||theta_k|| =
  ||theta_0|| (1 - eta lambda)^k within 1%, and test accuracy stays below
  0.8 (the kernel regime does not generalize on sparse data) while train
  accuracy is 1 after the first records;
- the last record's test accuracy is >= measure.fit_threshold, and
  grok_step lies in [0.4 t*, 1.2 t*] (the transition around t*);
- with l1_cosine / l2_cosine in the file: l2_cosine > 0.99 at the last
  record before t*/3, and at the end l1_cosine > 0.9 > l2_cosine.
With --misgrok (misgrok data: the kernel regime generalizes, the rich one
does not) the accuracy checks are the opposite: test accuracy >=
fit_threshold from the first records to t*/3, and ungrok_step set, after
grok_step and before 3 t*, with the last test accuracy below
measure.drop_threshold.
Exits 0 when all hold, 1 otherwise (each failure printed).
"""
import argparse
import configparser
import sys

import netCDF4
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--point", type=int, default=0)
    ap.add_argument("--misgrok", action="store_true")
    args = ap.parse_args()
    ds = netCDF4.Dataset(args.file)
    ds.set_auto_mask(False)
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(ds.getncattr("config"))
    p = args.point

    def point_value(key, default):
        name = key.replace(".", "_")
        if name in ds.variables:
            return float(ds[name][p])
        section, k = key.split(".")
        return float(ini.get(section, k, fallback=default))

    alpha = point_value("model.init_scale", "1")
    eta = point_value("optim.lr", "0.1")
    lam = point_value("optim.weight_decay", "0")
    fit = float(ini.get("measure", "fit_threshold", fallback="0.95"))
    drop = float(ini.get("measure", "drop_threshold", fallback="0.75"))
    t_star = np.log(alpha) / (eta * lam)
    steps = np.asarray(ds["step"][:], dtype=np.float64)
    status = np.asarray(ds["status"][p])
    norm = np.asarray(ds["param_norm"][p], dtype=np.float64)
    test = np.asarray(ds["test_acc"][p], dtype=np.float64)
    train = np.asarray(ds["train_acc"][p], dtype=np.float64)
    grok = np.asarray(ds["grok_step"][p], dtype=np.float64)
    ungrok = np.asarray(ds["ungrok_step"][p], dtype=np.float64)
    stored_t = np.asarray(ds["t_star"][p], dtype=np.float64)
    l1 = np.asarray(ds["l1_cosine"][p], dtype=np.float64) if "l1_cosine" in ds.variables else None
    l2 = np.asarray(ds["l2_cosine"][p], dtype=np.float64) if "l2_cosine" in ds.variables else None
    problems = []
    early = steps <= t_star / 3
    late_train = early & (steps >= steps[min(2, len(steps) - 1)])
    for s in range(status.shape[0]):
        if status[s] != 0:
            problems.append(f"seed {s}: status {status[s]}")
            continue
        if not np.isclose(stored_t[s], t_star, rtol=1e-12):
            problems.append(f"seed {s}: t_star {stored_t[s]} is not ln({alpha})/({eta}*{lam}) = {t_star}")
        want = norm[s, 0] * (1 - eta * lam) ** steps[early]
        dev = np.max(np.abs(norm[s, early] / want - 1))
        if not dev <= 0.01:
            problems.append(f"seed {s}: ||theta_k|| departs from ||theta_0|| (1 - eta lambda)^k by {dev:.3g} before t*/3")
        if not np.all(train[s, late_train] == 1):
            problems.append(f"seed {s}: train accuracy below 1 in the kernel phase")
        if args.misgrok:
            if not np.all(test[s, late_train] >= fit):
                problems.append(f"seed {s}: test accuracy {np.min(test[s, late_train]):.3f} below {fit} before t*/3")
            if not (grok[s] < ungrok[s] < 3 * t_star):
                problems.append(f"seed {s}: ungrok_step {ungrok[s]} not after grok_step {grok[s]} and before 3 t*")
            if not test[s, -1] < drop:
                problems.append(f"seed {s}: final test accuracy {test[s, -1]:.3f} not below drop_threshold {drop}")
            continue
        if not np.all(test[s, early] < 0.8):
            problems.append(f"seed {s}: test accuracy {np.max(test[s, early]):.3f} >= 0.8 before t*/3 (no kernel phase)")
        if not test[s, -1] >= fit:
            problems.append(f"seed {s}: final test accuracy {test[s, -1]:.3f} below fit_threshold {fit}")
        if not (0.4 * t_star <= grok[s] <= 1.2 * t_star):
            problems.append(f"seed {s}: grok_step {grok[s]} outside [0.4, 1.2] t* = [{0.4 * t_star:.0f}, {1.2 * t_star:.0f}]")
        if l1 is not None and l2 is not None:
            k = int(np.flatnonzero(early)[-1])
            if not l2[s, k] > 0.99:
                problems.append(f"seed {s}: l2_cosine {l2[s, k]:.4f} <= 0.99 at step {steps[k]:.0f} (kernel regime)")
            if not (l1[s, -1] > 0.9 > l2[s, -1]):
                problems.append(f"seed {s}: at the end l1_cosine {l1[s, -1]:.4f}, l2_cosine {l2[s, -1]:.4f}: "
                                f"expected l1 > 0.9 > l2")
    ds.close()
    for q in problems:
        print(f"check_grokking: FAIL: {q}")
    if not problems:
        which, at = ("ungrok_step", ungrok) if args.misgrok else ("grok_step", grok)
        print(f"check_grokking: OK {args.file} point {p}: t* = {t_star:.0f}, {which} "
              f"{np.nanmin(at):.0f}..{np.nanmax(at):.0f} ({np.nanmean(at) / t_star:.2f} t*), "
              f"final test accuracy {np.min(test[:, -1]):.3f}..{np.max(test[:, -1]):.3f}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
