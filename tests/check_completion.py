#!/usr/bin/python3
"""Matrix completion in a biaslab output (SCIENCE.md section 3).

  check_completion.py FILE.nc [--point P] [--grok]

For every task of the point that ran ok, from the stored config (d =
data.size, the fraction data.observed, alpha = model.init_scale, eta =
optim.lr, lambda = optim.weight_decay) and the seed:
- the observed set is rebuilt independently: the Fisher-Yates permutation of
  the d^2 entries drawn from the stream (seed, data train) with a Python
  Philox4x32-10 (tests/checkers/contract.py), the first round(observed d^2)
  entries training;
- kernel_test_mse equals the test MSE of the kernel-regime predictor
  computed here with numpy (X* on the entries whose (i, j) or (j, i) is
  observed, 0 elsewhere) to 1e-12, and target_nuclear_norm equals numpy's
  SVD of X* and the closed form (d-1)(2d-1)/(6d) to 1e-10;
- ||theta_k|| = alpha sqrt(2d) (1 - eta lambda)^k within 1% at every record
  before t*/3 (t* = ln alpha / (eta lambda));
- the plateau: the last record before t*/3 (after step 100) has test_mse
  within 1% of kernel_test_mse, and train_mse below 1e-4 there.
With --grok (a full grok_matrix run): the last test_mse is below a tenth of
kernel_test_mse, grok_step is after t*/2, and the final ||theta||^2 is
within 5% of ||X*||_* (the rich regime's min nuclear-norm completion).
Exits 0 when all hold, 1 otherwise (each failure printed).
"""
import argparse
import os
import sys

import netCDF4
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkers import common, contract  # noqa: E402

STREAM_DATA_TRAIN = 2


def observed_entries(seed, d, n_train):
    """The first n_train entries e = i d + j of the seeded permutation, as
    src/data/data.c draws it: Fisher-Yates from the identity, e = d^2 - 1
    down to 1, k = bl_rng_below(e + 1) (rejection below 2^64 mod n)."""
    entries = d * d
    draws = contract.stream_u64(seed, STREAM_DATA_TRAIN, 0, 0, entries)  # far more than needed
    order = list(range(entries))
    used = 0
    for e in range(entries - 1, 0, -1):
        n = e + 1
        t = (2 ** 64 - n) % n
        while True:
            r = int(draws[used])
            used += 1
            if r >= t:
                break
        k = r % n
        order[e], order[k] = order[k], order[e]
    return order[:n_train]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--point", type=int, default=0)
    ap.add_argument("--grok", action="store_true")
    args = ap.parse_args()
    ds = netCDF4.Dataset(args.file)
    ds.set_auto_mask(False)
    ini = common.config(ds)
    d = int(ini.get("data", "size"))
    observed = float(ini.get("data", "observed"))
    alpha = float(ini.get("model", "init_scale"))
    eta, lam = float(ini.get("optim", "lr")), float(ini.get("optim", "weight_decay"))
    t_star = np.log(alpha) / (eta * lam)
    n_train = min(max(int(np.floor(observed * d * d + 0.5)), 1), d * d - 1)
    a = np.arange(d) / d
    xstar = np.outer(a, a)  # X*_ij = i j / d^2
    steps = np.asarray(ds["step"][:], dtype=np.float64)
    p = args.point
    problems = []
    seeds = np.asarray(ds["seed"][:])
    status = np.asarray(ds["status"][p])
    sv = np.linalg.svd(xstar, compute_uv=False).sum()
    closed = (d - 1) * (2 * d - 1) / (6 * d)
    if abs(sv - closed) > 1e-10 * closed:
        problems.append(f"numpy's nuclear norm of X* {sv!r} is not the closed form {closed!r}")
    for s, seed in enumerate(seeds):
        if status[s] != 0:
            continue
        known = np.zeros((d, d), dtype=bool)
        for e in observed_entries(int(seed), d, n_train):
            known[e // d, e % d] = True
        test = ~known
        predicted = np.where(known | known.T, xstar, 0.0)
        want = np.mean((predicted[test] - xstar[test]) ** 2)
        got = float(ds["kernel_test_mse"][p, s])
        if not abs(got - want) <= 1e-12 * want:
            problems.append(f"seed {seed}: kernel_test_mse {got!r}, numpy's {want!r}")
        tn = float(ds["target_nuclear_norm"][p, s])
        if not abs(tn - sv) <= 1e-10 * sv:
            problems.append(f"seed {seed}: target_nuclear_norm {tn!r}, numpy's SVD {sv!r}")
        norm = np.asarray(ds["param_norm"][p, s], dtype=np.float64)
        early = steps <= t_star / 3
        decayed = alpha * np.sqrt(2 * d) * (1 - eta * lam) ** steps
        off = np.abs(norm / decayed - 1)
        if not np.all(off[early] < 0.01):
            k = int(np.argmax(np.where(early, off, 0)))
            problems.append(f"seed {seed}: ||theta|| at step {steps[k]:.0f} is {norm[k]:.6g}, "
                            f"||theta_0|| (1 - eta lambda)^k = {decayed[k]:.6g}")
        mse = np.asarray(ds["test_mse"][p, s], dtype=np.float64)
        train = np.asarray(ds["train_mse"][p, s], dtype=np.float64)
        plateau = np.nonzero(early & (steps >= 100))[0]
        if len(plateau) == 0:
            problems.append(f"seed {seed}: no record between step 100 and t*/3 = {t_star / 3:.0f}")
        else:
            k = plateau[-1]
            if not abs(mse[k] / got - 1) < 0.01:
                problems.append(f"seed {seed}: test_mse {mse[k]:.6g} at step {steps[k]:.0f} is not "
                                f"within 1% of kernel_test_mse {got:.6g}")
            if not train[k] < 1e-4:
                problems.append(f"seed {seed}: train_mse {train[k]:.3g} at step {steps[k]:.0f}: "
                                f"the observed entries are not fit")
            print(f"seed {seed}: plateau test_mse {mse[k]:.6f} at step {steps[k]:.0f}, kernel "
                  f"{got:.6f} (numpy {want:.6f}), ||X*||_* {tn:.4f}")
        if args.grok:
            g = float(ds["grok_step"][p, s])
            final = norm[-1] ** 2
            print(f"seed {seed}: final test_mse {mse[-1]:.4g}, grok_step {g:.0f} (t* {t_star:.0f}), "
                  f"final ||theta||^2 {final:.3f}")
            if not mse[-1] < got / 10:
                problems.append(f"seed {seed}: final test_mse {mse[-1]:.4g} is not below a tenth of "
                                f"the plateau {got:.4g}")
            if not g > t_star / 2:
                problems.append(f"seed {seed}: grok_step {g} is not after t*/2 = {t_star / 2:.0f}")
            if not abs(final / tn - 1) < 0.05:
                problems.append(f"seed {seed}: final ||theta||^2 {final:.4f} is not within 5% of "
                                f"||X*||_* {tn:.4f}")
    for m in problems:
        print("check_completion:", m)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
