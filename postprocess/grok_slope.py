#!/usr/bin/python3
"""The grokking transition against its prediction (SCIENCE.md section 3).

  /usr/bin/python3 postprocess/grok_slope.py FILE.nc [--out PNG] [--min-slope A --max-slope B]

For a biaslab output with grok_step (e.g. inputs/grok_sweep.ini: a sweep of
model.init_scale = alpha and optim.weight_decay = lambda), fits by least
squares, over every task that grokked,

    grok_step * eta * lambda = slope * ln(alpha) + intercept,

once over all points and once per lambda (the theory, t* = ln(alpha) /
(eta lambda), predicts slope 1). The 95% CI of each slope is a percentile
bootstrap over the seeds (2000 resamples of the seed indices, the same
resample for every point, numpy's PCG64 seeded with 20240601). Prints one
line per fit; with --out also draws grok_step against ln(alpha) / (eta
lambda) with the fitted line and the identity. With --min-slope / --max-slope
it exits 1 unless the overall slope lies in [A, B] (for tests).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import biaslab_nc  # noqa: E402

import numpy as np  # noqa: E402

RESAMPLES = 2000
SEED = 20240601


def point_values(ds, key, cfg):
    """key's value at every point: the swept coordinate, or the config's."""
    name = key.replace(".", "_")
    if name in ds:
        return np.asarray(ds[name].values, dtype=np.float64)
    return np.full(ds.sizes["point"], float(cfg[key]))


def fit(x, y):
    """(slope, intercept) of the least-squares line through finite (x, y)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return np.nan, np.nan
    slope, intercept = np.polyfit(x[ok], y[ok], 1)
    return slope, intercept


def fit_with_ci(ln_alpha, scaled, points):
    """Slope, intercept and the seeds-bootstrap CI of the slope over the
    given points; ln_alpha (point), scaled (point, seed)."""
    S = scaled.shape[1]
    x = np.repeat(ln_alpha[points][:, None], S, axis=1)
    slope, intercept = fit(x.ravel(), scaled[points].ravel())
    rng = np.random.Generator(np.random.PCG64(SEED))
    boot = []
    for _ in range(RESAMPLES):
        pick = rng.integers(0, S, size=S)
        boot.append(fit(x[:, pick].ravel(), scaled[points][:, pick].ravel())[0])
    boot = np.asarray(boot)
    boot = boot[np.isfinite(boot)]
    low, high = (np.quantile(boot, [0.025, 0.975]) if boot.size else (np.nan, np.nan))
    return slope, intercept, low, high


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--out", help="write the figure here (PNG)")
    ap.add_argument("--min-slope", type=float)
    ap.add_argument("--max-slope", type=float)
    args = ap.parse_args()
    try:
        ds = biaslab_nc.open_output(args.file)
    except biaslab_nc.UsageError as e:
        print(f"grok_slope.py: {e}", file=sys.stderr)
        return 2
    if "grok_step" not in ds:
        print(f"grok_slope.py: {args.file} has no grok_step (no test accuracy measured)", file=sys.stderr)
        return 2
    cfg, _ = biaslab_nc.parse_config(ds.attrs["config"])
    alpha = point_values(ds, "model.init_scale", cfg)
    lam = point_values(ds, "optim.weight_decay", cfg)
    lr = point_values(ds, "optim.lr", cfg)
    grok = np.asarray(ds["grok_step"].values, dtype=np.float64)  # (point, seed)
    status = np.asarray(ds["status"].values)
    grok[status != 0] = np.nan
    usable = (alpha > 1) & (lam > 0)
    scaled = grok * (lr * lam)[:, None]
    ln_alpha = np.log(np.where(alpha > 0, alpha, np.nan))
    n_grok = int(np.isfinite(scaled[usable]).sum())
    n_tasks = int(usable.sum()) * grok.shape[1]
    print(f"grok_slope: {args.file}: {n_grok} of {n_tasks} tasks (alpha > 1, lambda > 0) grokked")
    points = np.flatnonzero(usable)
    slope, intercept, low, high = fit_with_ci(ln_alpha, scaled, points)
    print(f"all points: grok_step * eta * lambda = {slope:.4f} ln(alpha) + {intercept:.4f}; "
          f"slope 95% CI [{low:.4f}, {high:.4f}] (theory: 1)")
    for v in np.unique(lam[usable]):
        pts = np.flatnonzero(usable & (lam == v))
        s, i, lo, hi = fit_with_ci(ln_alpha, scaled, pts)
        print(f"lambda = {v:g}: slope {s:.4f} [{lo:.4f}, {hi:.4f}], intercept {i:.4f} "
              f"over {len(pts)} values of alpha")
    if args.out:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4.5))
        t_star = (ln_alpha / (lr * lam))
        for v in np.unique(lam[usable]):
            pts = np.flatnonzero(usable & (lam == v))
            x = np.repeat(t_star[pts][:, None], grok.shape[1], axis=1)
            dots, = ax.plot(x.ravel(), grok[pts].ravel(), "o", alpha=0.6, label=f"λ = {v:g}")
            s, i, _, _ = fit_with_ci(ln_alpha, scaled, pts)
            eta_lam = (lr * lam)[pts][0]
            xs = np.linspace(np.nanmin(ln_alpha[pts]), np.nanmax(ln_alpha[pts]), 50)
            ax.plot(xs / eta_lam, (s * xs + i) / eta_lam, "-", lw=1, color=dots.get_color(),
                    label=f"fit, slope {s:.3f}")
        lim = np.nanmax(t_star[usable])
        ax.plot([0, lim], [0, lim], "k--", lw=0.8, label="grok_step = t*")
        ax.set_xlabel("t* = ln α / (ηλ)  (steps)")
        ax.set_ylabel("grok_step (steps)")
        ax.set_title(f"slope of grok_step·ηλ on ln α: {slope:.3f} [{low:.3f}, {high:.3f}]")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.out, dpi=110)
        print(f"grok_slope: wrote {args.out}")
    ok = True
    if args.min_slope is not None and not slope >= args.min_slope:
        ok = False
    if args.max_slope is not None and not slope <= args.max_slope:
        ok = False
    if not ok:
        print(f"grok_slope: FAIL: slope {slope:.4f} outside [{args.min_slope}, {args.max_slope}]")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
