#!/usr/bin/env python3
"""check_sqrt_rule.py FILE: the scaling rules on the noisy quadratic
(inputs/sqrt_rule_quadratic.ini; SCIENCE.md 5).

Per point, each seed's train_loss averaged over the second half of the
records (stationary there) estimates E f; its mean over seeds has a 95% CI
(t quantile). Points are compared with the kappa = 1 point of their rule,
at the same epochs (the records of every point fall at the same examples
seen). Passes when
- sqrt rule: every kappa's mean is within the pooled CI half-width
  sqrt(h_1^2 + h_kappa^2) of kappa = 1's;
- linear rule: the largest kappa's mean is outside it, and E f grows as
  sqrt(kappa) (each ratio within 25% of sqrt(kappa));
- kappa = 1 is within 20% of the frozen-v prediction: each coordinate
  contributes lr sigma_B / 4 (independent of h), so E f = width lr sigma_B / 4.
Prints |difference| / half-width for every point."""
import configparser
import sys

import numpy as np
import xarray as xr
from scipy import stats


def main():
    ds = xr.open_dataset(sys.argv[1])
    ini = configparser.ConfigParser()
    ini.read_string(ds.attrs["config"])
    loss = ds["train_loss"].values  # (point, seed, record)
    half = loss.shape[2] // 2
    per_seed = loss[:, :, half:].mean(axis=2)
    n = per_seed.shape[1]
    mean = per_seed.mean(axis=1)
    hw = stats.t.ppf(0.975, n - 1) * per_seed.std(axis=1, ddof=1) / np.sqrt(n)
    rule = [str(r) for r in ds["optim_scaling_rule"].values]
    kappa = ds["kappa"].values
    ok = True
    for r in ("sqrt", "linear"):
        pts = [p for p in range(len(rule)) if rule[p] == r]
        base = [p for p in pts if kappa[p] == 1]
        if not base:
            print(f"FAIL: no kappa = 1 point under the {r} rule")
            return 1
        b = base[0]
        for p in pts:
            dist = abs(mean[p] - mean[b]) / np.hypot(hw[p], hw[b]) if p != b else 0.0
            print(f"{r} kappa {kappa[p]:g}: E f = {mean[p]:.5f} +- {hw[p]:.5f}, ratio "
                  f"{mean[p] / mean[b]:.3f} (sqrt kappa {np.sqrt(kappa[p]):.3f}), "
                  f"|diff| / pooled CI = {dist:.2f}")
            if r == "sqrt" and dist > 1:
                print(f"FAIL: the sqrt rule moved E f at kappa {kappa[p]:g} outside the CI")
                ok = False
            if r == "linear" and p != b and abs(mean[p] / mean[b] / np.sqrt(kappa[p]) - 1) > 0.25:
                print(f"FAIL: the linear rule's E f ratio at kappa {kappa[p]:g} is not about sqrt(kappa)")
                ok = False
        top = max(pts, key=lambda p: kappa[p])
        if r == "linear" and abs(mean[top] - mean[b]) <= np.hypot(hw[top], hw[b]):
            print("FAIL: the linear rule kept E f within the CI at the largest kappa")
            ok = False
        if r == "sqrt":
            m = ini["model"]
            predicted = (int(m["width"]) * float(ini["optim"]["lr"]) * float(m["noise"])
                         / np.sqrt(float(ini["optim"]["base_batch_size"])) / 4)
            print(f"kappa 1: E f = {mean[b]:.5f}, frozen-v prediction {predicted:.5f}")
            if abs(mean[b] / predicted - 1) > 0.2:
                print("FAIL: kappa = 1 is not near the frozen-v prediction")
                ok = False
    print("PASS scaling rules on the noisy quadratic" if ok else "FAIL scaling rules on the noisy quadratic")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
