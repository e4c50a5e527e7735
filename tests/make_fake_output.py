#!/usr/bin/python3
"""Write a small NetCDF file that follows biaslab's output contract, or breaks
it in one chosen way.

Used to develop and test postprocess/ and the checkers in tests/ without the
C program, and to prove that every checker catches mistakes (--corrupt KIND;
tests/checkers/selftest.sh runs them all).

  /usr/bin/python3 tests/make_fake_output.py OUT.nc [--seeds 5] [--records 21]
      [--every 50] [--sweep optim.lr=0.1,0.01 ...] [--no-sweep] [--params]
      [--not-run] [--scenario default|asymmetric|spectrum|eos] [--corrupt KIND]
  /usr/bin/python3 tests/make_fake_output.py --corrupt-all DIR [options]   # DIR/KIND.nc for every KIND
  /usr/bin/python3 tests/make_fake_output.py --list-corruptions

The statistics are computed cell by cell by a scalar implementation of the
statistics contract (its own pure-Python Philox4x32-10, plain loops), on
purpose: tests/checkers/contract.py computes them vectorised over cells, so
the two implementations check each other (and both match biaslab's files).

The default fake has 4 points x 5 seeds x 21 records (steps 0..1000). Point 0
fits its data by step 750 and its mean margin then keeps rising (for
check_margin_rises.py); point 1 has a task diverged between records (step
525) and one diverged at a record (step 700, an overflowed record); the
last point's losses fall to subnormal doubles and to exactly 0 (train_log_loss
down to about -800). --not-run marks two tasks not_run (a slice file).
"""
import argparse
import configparser
import datetime
import math
import os
import sys

import netCDF4
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkers import applies  # noqa: E402  (which metrics the fake's config implies)

STATS = ["mean", "std", "min", "q25", "median", "q75", "max", "ci95_low", "ci95_high", "iqm"]
METRICS = ["train_loss", "train_log_loss", "train_acc", "test_loss", "test_log_loss", "test_acc",
           "normalized_margin", "smoothed_margin", "param_norm", "grad_norm", "learning_rate",
           "sharpness", "sharpness_residual", "sharpness_iters", "eta_sharpness", "grad_cosine",
           "stable_rank", "mu_alignment", "svm_alignment", "svm_cosine", "margin_ratio",
           "trained_norm", "effective_lr", "spherical_sharpness", "equilibrium_norm",
           "hessian_trace", "hessian_trace_se", "kkt_epsilon", "kkt_delta",
           "hessian_min_eigenvalue", "hessian_min_residual", "near_support_1", "near_support_2",
           "near_support_3", "init_distance", "l2_cosine", "l1_cosine", "train_mse", "test_mse",
           "nuclear_norm", "effective_rank", "grad_norm_sq", "noise_trace", "noise_ratio"]
OK, DIVERGED, INTERRUPTED, NOT_RUN = 0, 1, 2, 3
FILL_INT64 = int(netCDF4.default_fillvals["i8"])

# KIND: what is wrong (every one must make tests/check_output.py fail).
CORRUPTIONS = {
    "mean": "train_loss_stats mean one part in 1e9 off at one cell",
    "std": "train_loss_stats std 1% off at one cell",
    "min": "param_norm_stats min one part in 1e9 off",
    "max": "param_norm_stats max one part in 1e9 off",
    "quantile": "train_loss_stats q25 replaced by the minimum",
    "median": "normalized_margin_stats median replaced by the mean",
    "iqm": "train_loss_stats iqm replaced by the median",
    "ci_low": "normalized_margin_stats ci95_low moved by 1e-6 relative (still below the mean)",
    "ci_high": "normalized_margin_stats ci95_high moved by 1e-6 relative (still above the mean)",
    "ci_swap": "ci95_low and ci95_high swapped at one cell",
    "ci_nan": "ci95_high NaN where the trajectories are finite",
    "stats_nan": "train_acc_stats mean NaN ('not measured') where the trajectories are finite",
    "n_ok": "n_ok = seeds everywhere (the diverged tasks counted)",
    "n_ok_one": "n_ok one too small at one cell",
    "steps_done": "an ok task with steps_done = optim.steps - 1",
    "status_ok_diverged": "a diverged task labelled ok (its data end in NaN)",
    "status_diverged_ok": "an ok task labelled diverged at step 300 (its data go on)",
    "diverged_values": "a diverged task with values after its divergence (stats consistent)",
    "nan_ok": "NaN train_loss and train_log_loss at one record of an ok task (stats consistent)",
    "nan_param_norm": "NaN param_norm at one record of an ok task (stats and n_ok consistent)",
    "log_mismatch": "train_log_loss one part in 1e9 off log(train_loss) at one cell (stats consistent)",
    "zero_loss": "train_loss 0 where train_log_loss is -700 (stats consistent)",
    "tiny": "train_loss x 1e-15 (train_log_loss shifted to match) with train_loss_stats 7x too "
            "large: passed the old checker's atol = 1e-12",
    "all_not_run": "every task not_run and every value NaN",
    "not_run_data": "a not_run task that has data",
    "interrupted": "a task with status interrupted",
    "status_value": "a status value outside 0..3",
    "missing_var": "variable n_ok missing",
    "missing_metric": "metric grad_cosine and its statistics missing",
    "missing_stats": "grad_norm_stats missing",
    "wrong_dims": "train_acc with dimensions (seed, point, record)",
    "extra_var": "an unexpected variable bogus(point, seed)",
    "step": "step coordinate off by one (not the record schedule)",
    "seed": "seed values not first_seed..first_seed+seeds-1",
    "sweep_coord": "the optim_lr sweep coordinate's values swapped",
    "sweep_missing": "a sweep key without its coordinate variable",
    "coords": "train_loss without its CF coordinates (step, the swept keys)",
    "near_support": "near_support_1 above near_support_2 at one cell (stats consistent)",
    "config": "config without its [experiment] section",
    "attr": "normalized_margin without units",
    "fill": "test_acc without a NaN _FillValue",
    "flags": "status flag_meanings wrong",
    "stat_labels": "stat labels q25 and median swapped",
    "global": "global attribute created missing",
    "wall": "negative wall_seconds",
    "reference": "svm_margin set although measure.reference = none",
    "grok_step": "grok_step one record later than the test accuracy says",
    "inapplicable": "a sharpness variable although measure.sharpness = none",
}


# ---- the statistics contract, cell by cell (independent of tests/checkers) ----

def philox(counter, key):
    """Philox4x32-10 (Salmon et al. 2011) on Python ints."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & 0xFFFFFFFF, (k1 + 0xBB67AE85) & 0xFFFFFFFF
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & 0xFFFFFFFF, p1 & 0xFFFFFFFF, \
            ((p0 >> 32) ^ c3 ^ k1) & 0xFFFFFFFF, p0 & 0xFFFFFFFF
    return c0, c1, c2, c3


assert philox((0, 0, 0, 0), (0, 0)) == (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)


def u32_stream(seed, stream, sub):
    block = 0
    while True:
        yield from philox((block & 0xFFFFFFFF, block >> 32, stream, sub), (seed & 0xFFFFFFFF, seed >> 32))
        block += 1


_draws = {}


def resample_indices(n):
    """The bootstrap's indices for n values: 2000 resamples of n draws."""
    if n not in _draws:
        u = u32_stream(20240601, 6, 0)
        t = (2 ** 64 - n) % n
        flat = []
        while len(flat) < 2000 * n:
            r = (next(u) << 32) | next(u)
            if r >= t:
                flat.append(r % n)
        _draws[n] = np.array(flat).reshape(2000, n)
    return _draws[n]


def quantile(v, q):
    n = len(v)
    h = (n - 1) * q
    i = math.floor(h)
    return v[n - 1] if i >= n - 1 else v[i] + (h - i) * (v[i + 1] - v[i])


_cells = {}


def cell_stats(x):
    """The ten statistics of one cell (values across seeds)."""
    key = np.asarray(x, dtype=np.float64).tobytes()
    if key not in _cells:
        _cells[key] = _cell_stats(x)
    return list(_cells[key])


def _cell_stats(x):
    v = sorted(float(a) for a in x if math.isfinite(a))
    n = len(v)
    if n == 0:
        return [math.nan] * 10
    c = v[n // 2]
    s = 0.0
    for a in v:
        s += a - c
    mean = c + s / n
    std = math.nan
    if n >= 2:
        ss = 0.0
        for a in v:
            ss += (a - mean) * (a - mean)
        std = math.sqrt(ss / (n - 1))
    s = 0.0
    for i, a in enumerate(v):
        w = min(4 * i + 4, 3 * n) - max(4 * i, n)
        if w > 0:
            s += w * (a - c)
    iqm = c + s / (2.0 * n)
    if n == 1:
        low = high = v[0]
    else:
        arr = np.array(v)
        idx = resample_indices(n)
        sums = np.zeros(2000)
        for j in range(n):  # draw order: resample b, then draw j within it
            sums = sums + (arr[idx[:, j]] - v[0])
        means = sorted((v[0] + sums / n).tolist())
        low, high = quantile(means, 0.025), quantile(means, 0.975)
    return [mean, std, v[0], quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75), v[-1], low, high, iqm]


def stats_of(traj):
    """(point, seed, record) -> (point, stat, record), cell by cell."""
    P, S, R = traj.shape
    out = np.full((P, len(STATS), R), np.nan)
    for p in range(P):
        for r in range(R):
            out[p, :, r] = cell_stats(traj[p, :, r])
    return out


# ---- the fake run ----

def parse_sweep(items):
    sweep = []
    for item in items:
        key, _, values = item.partition("=")
        if "." not in key or not values:
            sys.exit(f"make_fake_output: bad --sweep {item!r}: want section.key=v1,v2,...")
        sweep.append((key, [v.strip() for v in values.split(",")]))
    return sweep


def is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def config_text(seeds, steps, every, sweep, reference, model_kind, corrupt, sharpness="none"):
    lines = [] if corrupt == "config" else [
        "[experiment]", "name = fake", f"seeds = {seeds}", "first_seed = 0", "output =",
        "checkpoint_seconds = 300", ""]
    lines += ["[model]", f"kind = {model_kind}", "activation = relu", "",
              "[optim]", "kind = gd", "lr = 0.1", f"steps = {steps}", "",
              "[measure]", f"every = {every}", f"reference = {reference}",
              f"sharpness = {sharpness}", ""]
    if sweep:
        lines.append("[sweep]")
        lines += [f"{key} = {', '.join(values)}" for key, values in sweep]
    return "\n".join(lines) + "\n"


def point_values(sweep, n_points):
    """{key: [value text at point p]} with the last key varying fastest."""
    out = {}
    for k, (key, values) in enumerate(sweep):
        inner = int(np.prod([len(v) for _, v in sweep[k + 1:]])) if k + 1 < len(sweep) else 1
        out[key] = [values[(p // inner) % len(values)] for p in range(n_points)]
    return out


def trajectories(P, S, steps, rng, lr):
    """Plausible curves: loss falling, margin rising; shape (point, seed, record)."""
    t = steps[None, None, :].astype(float)
    rate = rng.uniform(0.002, 0.01, size=(P, S, 1))
    log_loss = np.log(np.log(2.0)) - rate * t
    if P >= 3:  # the last point: losses far below 1e-300, subnormal, then 0
        fast = np.linspace(0.70, 0.80, S)[:, None] * (1000.0 / max(steps[-1], 1))
        log_loss[-1] = np.log(np.log(2.0)) - fast * steps[None, :]
    rt = rate * t
    acc = np.where(rt >= 1.5, 1.0, 0.5 + rt / 3)
    acc = np.broadcast_to(acc, log_loss.shape).copy()
    margin = np.tanh(rt / 3) - 0.1 + 0.02 * rng.standard_normal((P, S, 1))
    test_log = np.log(1.1) + log_loss
    d = {m: np.full(log_loss.shape, np.nan) for m in METRICS}
    d.update({
        "train_log_loss": log_loss,
        "train_loss": np.exp(log_loss),
        "train_acc": acc,
        "test_log_loss": test_log,
        "test_loss": np.exp(test_log),
        "test_acc": acc * 0.97,
        "normalized_margin": margin,
        "smoothed_margin": margin - 0.05,
        "param_norm": 1.0 + np.log1p(rt),
        "grad_norm": 0.5 * np.exp(log_loss),
        "learning_rate": np.broadcast_to(lr[:, None, None], log_loss.shape).copy(),
        "grad_cosine": 1.0 - 0.5 * np.exp(-rt),
        "stable_rank": 1.0 + 2.0 * np.exp(-rt),
        "near_support_1": np.ones(log_loss.shape),
        "near_support_2": np.full(log_loss.shape, 3.0),
        "near_support_3": np.full(log_loss.shape, 5.0),
        "init_distance": np.log1p(rt) / 2,
    })
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--records", type=int, default=21)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2")
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--params", action="store_true", help="also write params(point, seed, param)")
    ap.add_argument("--not-run", action="store_true", help="two tasks not_run, as in a slice file")
    ap.add_argument("--scenario", choices=["default", "asymmetric", "spectrum", "eos"], default="default")
    ap.add_argument("--corrupt", choices=sorted(CORRUPTIONS), metavar="KIND")
    ap.add_argument("--list-corruptions", action="store_true")
    ap.add_argument("--corrupt-all", metavar="DIR", help="write DIR/KIND.nc for every KIND (OUT not needed)")
    args = ap.parse_args()
    if args.list_corruptions:
        for k, v in CORRUPTIONS.items():
            print(f"{k}\t{v}")
        return 0
    if args.corrupt_all:
        for kind in CORRUPTIONS:
            make(args, kind, f"{args.corrupt_all}/{kind}.nc")
        return 0
    if not args.out:
        ap.error("OUT is required")
    make(args, args.corrupt, args.out)
    return 0


def make(args, corrupt, out):

    scen = args.scenario
    if scen == "asymmetric":
        sweep = [("model.init_scale", ["1e-6", "1"])]
    elif scen == "eos":
        sweep = []
    else:
        sweep = [] if args.no_sweep else parse_sweep(args.sweep or ["optim.lr=0.1,0.01",
                                                                     "model.activation=relu,identity"])
    P = int(np.prod([len(v) for _, v in sweep])) if sweep else 1
    S, R, every = args.seeds, args.records, args.every
    n_steps = (R - 1) * every
    steps = np.arange(R, dtype=np.int64) * every
    rng = np.random.default_rng(12345)
    at_point = point_values(sweep, P)
    lr = np.array([float(v) for v in at_point.get("optim.lr", ["0.1"] * P)])
    reference = "svm" if scen == "asymmetric" else "none"

    data = trajectories(P, S, steps, rng, lr)
    status = np.zeros((P, S), dtype=np.int8)
    steps_done = np.full((P, S), n_steps, dtype=np.int64)
    svm_margin = np.full((P, S), np.nan)
    margin_best = np.full((P, S), np.nan)

    if scen == "asymmetric":
        base = np.linspace(-1, 1, S)
        ends = {0: 0.83 + 0.03 * base, 1: 0.99 + 0.004 * base}
        rank_end = {0: 1.001 + 0.002 * (base + 1), 1: 1.35 + 0.05 * base}
        ramp = np.minimum(1.0, steps / max(n_steps * 0.6, 1))[None, :]
        for p in range(P):
            data["margin_ratio"][p] = ends[p][:, None] * ramp
            data["stable_rank"][p] = 3.0 + (rank_end[p][:, None] - 3.0) * ramp
            data["svm_cosine"][p] = 0.5 + (0.99995 - 0.5) * ramp + 0.00001 * base[:, None] * ramp
        svm_margin[:] = 0.2 + 0.05 * rng.uniform(size=(P, S))
        margin_best[:] = 0.45 * svm_margin
    elif scen == "eos":
        x = steps / max(n_steps, 1)
        eta = np.minimum(0.5 + 1.5 * x / 0.6, 2.0 - 0.05 * np.sin(20 * x) * (x > 0.6))
        spread = np.linspace(0.97, 1.03, S)[:, None]
        data["eta_sharpness"][0] = eta[None, :] * spread
        data["spherical_sharpness"][0] = 160.0 * np.exp(-5.0 * x)[None, :] * spread
        data["sharpness"][0] = data["eta_sharpness"][0] / lr[0]
    elif S >= 3 and P >= 2:
        # two diverged tasks at point 1: between records, and at a record
        # (which biaslab leaves NaN: a diverged state enters no statistics).
        for s, done in ((1, n_steps // 2 + every // 2), (2, n_steps * 7 // 10)):
            status[1, s], steps_done[1, s] = DIVERGED, done
            for m in METRICS:
                data[m][1, s, steps > done] = np.nan
            if done in steps:
                r = int(np.flatnonzero(steps == done)[0])
                for m in METRICS:
                    data[m][1, s, r] = np.nan
    if args.not_run or corrupt in ("all_not_run", "not_run_data"):
        nr = [(0, S - 1), (P - 1, 0)] if corrupt != "all_not_run" else [(p, s) for p in range(P) for s in range(S)]
        for p, s in nr:
            status[p, s] = NOT_RUN
            if corrupt != "not_run_data":
                for m in METRICS:
                    data[m][p, s, :] = np.nan
    wall = rng.uniform(1.0, 3.0, size=(P, S))
    wall[status == NOT_RUN] = np.nan
    svm_margin[status == NOT_RUN] = np.nan
    margin_best[status == NOT_RUN] = np.nan

    spectra = densities = None
    if scen == "spectrum":
        E, N = 6, 8
        spectra = np.sort(rng.normal(0, 1, size=(P, S, 2, E)) * np.array([3.0, 5.0])[None, None, :, None], axis=-1)
        nodes = np.empty((P, S, 2, N))
        weights = np.empty((P, S, 2, N))
        for k, r in enumerate((0, R - 1)):
            top = spectra[:, :, k, -1]
            data["sharpness"][:, :, r] = top
            lo = spectra[:, :, k, :1]
            hi = spectra[:, :, k, -1:]
            nodes[:, :, k, :] = lo + (hi - lo) * np.linspace(0, 1, N)[None, None, :]
            w = rng.uniform(0.5, 1.5, size=(P, S, N))
            weights[:, :, k, :] = w / w.sum(axis=-1, keepdims=True)
        mid = list(range(1, R - 1))
        data["sharpness"][:, :, mid] = 1.0 + 0.1 * rng.uniform(size=(P, S, len(mid)))
        # tasks that never got to a snapshot's step have NaN there
        reached = (steps_done[:, :, None] >= np.array([0, n_steps])[None, None, :]) & (status != NOT_RUN)[:, :, None]
        data["sharpness"][status == NOT_RUN] = np.nan
        spectra[~reached] = np.nan
        nodes[~reached] = np.nan
        weights[~reached] = np.nan
        for p, s in zip(*np.nonzero(status == DIVERGED)):
            data["sharpness"][p, s, steps >= steps_done[p, s]] = np.nan
        densities = (nodes, weights)

    # corruptions of the data itself, with statistics consistent with it
    ok_p, ok_s = 0, 0
    if corrupt == "status_ok_diverged":
        status[1, 1] = OK
        steps_done[1, 1] = n_steps
    elif corrupt == "status_diverged_ok":
        status[0, 0], steps_done[0, 0] = DIVERGED, 300
    elif corrupt == "diverged_values":
        s = 1
        done = steps_done[1, s]
        later = steps > done
        data["train_log_loss"][1, s, later] = -1.0
        data["train_loss"][1, s, later] = np.exp(-1.0)
    elif corrupt == "nan_ok":
        data["train_loss"][ok_p, ok_s, 4] = data["train_log_loss"][ok_p, ok_s, 4] = np.nan
    elif corrupt == "nan_param_norm":
        data["param_norm"][ok_p, ok_s, 4] = np.nan
    elif corrupt == "near_support":
        data["near_support_1"][ok_p, ok_s, 4] = data["near_support_2"][ok_p, ok_s, 4] + 1
    elif corrupt == "log_mismatch":
        data["train_log_loss"][0, 0, 5] *= 1 + 1e-9
    elif corrupt == "zero_loss":
        data["train_log_loss"][0, 0, 5] = -700.0
        data["train_loss"][0, 0, 5] = 0.0
    elif corrupt == "tiny":  # the points whose losses stay normal doubles after the scaling
        pts = slice(0, P - 1) if P >= 3 else slice(0, P)
        data["train_loss"][pts] = data["train_loss"][pts] * 1e-15
        data["train_log_loss"][pts] = data["train_log_loss"][pts] + math.log(1e-15)

    stats = {m: stats_of(data[m]) for m in METRICS}
    n_ok = np.isfinite(data["param_norm"]).sum(axis=1).astype(np.int32)

    L = {s: i for i, s in enumerate(STATS)}
    if corrupt == "mean":
        stats["train_loss"][0, L["mean"], 3] *= 1 + 1e-9
    elif corrupt == "std":
        stats["train_loss"][0, L["std"], 3] *= 1.01
    elif corrupt == "min":
        stats["param_norm"][0, L["min"], 3] *= 1 + 1e-9
    elif corrupt == "max":
        stats["param_norm"][0, L["max"], 3] *= 1 + 1e-9
    elif corrupt == "quantile":
        stats["train_loss"][0, L["q25"], 3] = stats["train_loss"][0, L["min"], 3]
    elif corrupt == "median":
        stats["normalized_margin"][0, L["median"], 3] = stats["normalized_margin"][0, L["mean"], 3]
    elif corrupt == "iqm":
        stats["train_loss"][0, L["iqm"], 3] = stats["train_loss"][0, L["median"], 3]
    elif corrupt == "ci_low":
        stats["normalized_margin"][0, L["ci95_low"], 3] -= 1e-6 * abs(stats["normalized_margin"][0, L["ci95_low"], 3])
    elif corrupt == "ci_high":
        stats["normalized_margin"][0, L["ci95_high"], 3] += 1e-6 * abs(stats["normalized_margin"][0, L["ci95_high"], 3])
    elif corrupt == "ci_swap":
        st = stats["train_loss"]
        st[0, L["ci95_low"], 3], st[0, L["ci95_high"], 3] = st[0, L["ci95_high"], 3], st[0, L["ci95_low"], 3]
    elif corrupt == "ci_nan":
        stats["normalized_margin"][0, L["ci95_high"], 3] = np.nan
    elif corrupt == "stats_nan":
        stats["train_acc"][0, L["mean"], 3] = np.nan
    elif corrupt == "n_ok":
        n_ok[:] = S
    elif corrupt == "n_ok_one":
        n_ok[0, 3] -= 1
    elif corrupt == "steps_done":
        steps_done[0, 0] = n_steps - 1
    elif corrupt == "tiny":
        stats["train_loss"][pts] = stats["train_loss"][pts] * 7.0
    elif corrupt == "interrupted":
        status[0, 0] = INTERRUPTED
    elif corrupt == "status_value":
        status[0, 0] = 7
    elif corrupt == "wall":
        wall[0, 0] = -1.0
    elif corrupt == "reference":
        svm_margin[0, 0] = 0.3
    if corrupt == "all_not_run":
        n_ok[:] = 0

    write(out, args, corrupt, sweep, at_point, P, S, R, steps, data, stats, n_ok, status, steps_done,
          wall, svm_margin, margin_best, spectra, densities, reference, rng, n_steps, every)


def write(out, args, corrupt, sweep, at_point, P, S, R, steps, data, stats, n_ok, status, steps_done,
          wall, svm_margin, margin_best, spectra, densities, reference, rng, n_steps, every):
    ds = netCDF4.Dataset(out, "w", format="NETCDF4")
    ds.createDimension("point", P)
    ds.createDimension("seed", S)
    ds.createDimension("record", R)
    ds.createDimension("stat", len(STATS))

    v = ds.createVariable("step", "i8", ("record",))
    v.long_name, v.units = "optimizer step of the record", "1"
    v[:] = steps + (1 if corrupt == "step" else 0)
    v = ds.createVariable("seed", "i4", ("seed",))
    v.long_name = "random seed of the task"
    v[:] = np.arange(S) + (1 if corrupt == "seed" else 0)
    v = ds.createVariable("stat", str, ("stat",))
    v.long_name = "statistic across seeds"
    labels = list(STATS)
    if corrupt == "stat_labels":
        labels[3], labels[4] = labels[4], labels[3]
    for i, s in enumerate(labels):
        v[i] = s

    for k, (key, values) in enumerate(sweep):
        name = key.replace(".", "_")
        if corrupt == "sweep_missing" and k == len(sweep) - 1:
            continue
        texts = at_point[key]
        if all(is_number(x) for x in values):
            v = ds.createVariable(name, "f8", ("point",))
            vals = np.array([float(x) for x in texts])
            if corrupt == "sweep_coord" and name == "optim_lr":
                vals = vals[::-1].copy()
            v[:] = vals
            v.units = "1"
        else:
            v = ds.createVariable(name, str, ("point",))
            for p, x in enumerate(texts):
                v[p] = x
        v.long_name = f"swept config key {key}"

    ini = configparser.ConfigParser(interpolation=None)
    ini.optionxform = str
    sharpness = "lanczos" if args.scenario in ("spectrum", "eos") else "none"
    ini.read_string(config_text(S, n_steps, every, sweep, reference, "mlp", None, sharpness))
    present, svm = applies.expected(ini)
    if corrupt == "inapplicable":
        present = present | {"sharpness"}
    for m in METRICS:
        if corrupt == "missing_metric" and m == "grad_cosine":
            continue
        if m not in present:
            continue
        dims = ("point", "seed", "record")
        values = data[m]
        if corrupt == "wrong_dims" and m == "train_acc":
            dims, values = ("seed", "point", "record"), np.swapaxes(values, 0, 1)
        fill = None if corrupt == "fill" and m == "test_acc" else np.nan
        v = ds.createVariable(m, "f8", dims, fill_value=fill)
        v.long_name, v.units, v.coordinates = f"fake {m}", "1", "step"
        if corrupt == "attr" and m == "normalized_margin":
            del v.units
        v[:] = values
        if corrupt == "missing_stats" and m == "grad_norm":
            continue
        v = ds.createVariable(m + "_stats", "f8", ("point", "stat", "record"), fill_value=np.nan)
        v.long_name, v.units, v.coordinates = f"fake {m}: statistics across seeds", "1", "step"
        v[:] = stats[m]

    v = ds.createVariable("status", "i1", ("point", "seed"))
    v.long_name = "outcome of the task"
    v.flag_values = np.array([0, 1, 2, 3], dtype=np.int8)
    v.flag_meanings = "ok diverged interrupted not_run" if corrupt != "flags" else "ok diverged not_run"
    v[:] = status
    v = ds.createVariable("wall_seconds", "f8", ("point", "seed"), fill_value=np.nan)
    v.long_name, v.units = "wall-clock time of the task", "s"
    v[:] = wall
    v = ds.createVariable("steps_done", "i8", ("point", "seed"))
    v.long_name, v.units = "optimizer steps taken (for a diverged task, the step it diverged at)", "1"
    v[:] = np.where(status == NOT_RUN, FILL_INT64, steps_done) if corrupt != "not_run_data" else steps_done
    for name, x in (("svm_margin", svm_margin), ("margin_best", margin_best)):
        if not svm and corrupt != "reference":
            continue
        v = ds.createVariable(name, "f8", ("point", "seed"), fill_value=np.nan)
        v.long_name, v.units = f"fake {name}", "1"
        v[:] = x
    # the grokking outcomes, from the trajectories as biaslab computes them
    # (measure.fit_threshold 0.95, drop_threshold 0.75: the defaults)
    outcomes = applies.grokking_outcomes(ini)
    for name, acc, thr in (("memorize_step", "train_acc", 0.95), ("grok_step", "test_acc", 0.95)):
        if name not in outcomes:
            continue
        x = np.full((P, S), np.nan)
        for p in range(P):
            for s in range(S):
                hit = np.flatnonzero(data[acc][p, s] >= thr) if status[p, s] != NOT_RUN else []
                x[p, s] = steps[hit[0]] if len(hit) else np.nan
        if corrupt == "grok_step" and name == "grok_step":
            x[0, 0] += every
        v = ds.createVariable(name, "f8", ("point", "seed"), fill_value=np.nan)
        v.long_name, v.units = f"fake {name}", "1"
        v[:] = x
    if "kernel_test_acc" in outcomes:  # a per-task reference, any value in [0, 1]
        v = ds.createVariable("kernel_test_acc", "f8", ("point", "seed"), fill_value=np.nan)
        v.long_name, v.units = "fake kernel_test_acc", "1"
        v[:] = np.where(status == NOT_RUN, np.nan, 0.25)
    if "ungrok_step" in outcomes:  # the fake test accuracy never falls
        v = ds.createVariable("ungrok_step", "f8", ("point", "seed"), fill_value=np.nan)
        v.long_name, v.units = "fake ungrok_step", "1"
        v[:] = np.full((P, S), np.nan)
    if svm:
        v = ds.createVariable("reference_status", "i1", ("point", "seed"))
        v.long_name = "why a reference is missing, if it is"
        v.flag_values = np.arange(5, dtype=np.int8)
        v.flag_meanings = "ok not_separable_through_origin svm_missing_lp_ok lp_failed lp_bracket_only"
        v[:] = np.zeros((P, S), dtype=np.int8)
    if corrupt != "missing_var":
        v = ds.createVariable("n_ok", "i4", ("point", "record"))
        v.long_name, v.units, v.coordinates = "seeds measured at the record", "1", "step"
        v[:] = n_ok
    if corrupt == "extra_var":
        v = ds.createVariable("bogus", "f8", ("point", "seed"))
        v[:] = 0.0

    if args.params:
        n_param = 6
        ds.createDimension("param", n_param)
        v = ds.createVariable("params", "f8", ("point", "seed", "param"), fill_value=np.nan)
        v.long_name, v.units = "final parameters", "1"
        v.layout = "W1(2,3)"
        x = rng.standard_normal((P, S, n_param))
        # final parameters whose norm is the last recorded param_norm
        x *= (data["param_norm"][:, :, -1] / np.linalg.norm(x, axis=-1))[..., None]
        x[status == NOT_RUN] = np.nan
        v[:] = x
    if spectra is not None:
        ds.createDimension("spectrum", spectra.shape[2])
        ds.createDimension("eig", spectra.shape[3])
        v = ds.createVariable("spectrum_step", "i8", ("spectrum",))
        v.long_name, v.units = "optimizer step of each full Hessian spectrum", "1"
        v[:] = np.array([0, n_steps])
        v = ds.createVariable("hessian_eigenvalues", "f8", ("point", "seed", "spectrum", "eig"), fill_value=np.nan)
        v.long_name, v.units = "fake Hessian eigenvalues, ascending", "1"
        v[:] = spectra
        nodes, weights = densities
        ds.createDimension("density", nodes.shape[2])
        ds.createDimension("node", nodes.shape[3])
        v = ds.createVariable("density_step", "i8", ("density",))
        v.long_name, v.units = "optimizer step of each spectral density", "1"
        v[:] = np.array([0, n_steps])
        for name, x in (("density_nodes", nodes), ("density_weights", weights)):
            v = ds.createVariable(name, "f8", ("point", "seed", "density", "node"), fill_value=np.nan)
            v.long_name, v.units = f"fake {name}", "1"
            v[:] = x

    now = datetime.datetime.now(datetime.timezone.utc)
    ds.title = "biaslab: fake"
    ds.history = f"{now.isoformat()}: tests/make_fake_output.py"
    ds.source = "biaslab 0.1.0 (fake, tests/make_fake_output.py)"
    model_kind = "mlp"
    ds.config = config_text(S, n_steps, every, sweep, reference, model_kind, corrupt, sharpness)
    ds.mpi_ranks = np.int32(2)
    ds.group_size = np.int32(1)
    ds.blas = "OpenBLAS, core Fake (tests/make_fake_output.py); 1 thread per rank"
    ds.host = "fakehost"
    ds.created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    ds.Conventions = "CF-1.8"
    if corrupt == "global":
        del ds.created
    # CF coordinates as biaslab writes them: step over record, the swept keys over point
    swept = [key.replace(".", "_") for key, _ in sweep if key.replace(".", "_") in ds.variables]
    for name, v in ds.variables.items():
        if "point" not in v.dimensions or name in swept:
            continue
        own = ["step"] if "record" in v.dimensions else []
        own += ["spectrum_step"] if "spectrum" in v.dimensions else []
        own += ["density_step"] if "density" in v.dimensions else []
        if corrupt == "coords" and name == "train_loss":
            own = []
        if own + swept:
            v.coordinates = " ".join(own + swept)
    ds.close()


if __name__ == "__main__":
    sys.exit(main())
