#!/usr/bin/python3
"""Plot one metric of a biaslab results file: the mean over seeds with its
95% bootstrap band, against the optimizer step, one line per sweep point.

  /usr/bin/python3 postprocess/plot_metric.py FILE.nc [--metric normalized_margin]
      [--out PNG] [--logy] [--logx]

The PNG goes next to the input as <stem>_<metric>.png unless --out is given.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display on compute nodes
import matplotlib.pyplot as plt  # noqa: E402
import netCDF4  # noqa: E402,F401  imported before xarray opens the file: quiets a numpy ABI warning
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

TRAJ_DIMS = ("point", "seed", "record")


def fail(message):
    print(f"plot_metric: {message}", file=sys.stderr)
    sys.exit(2)


def point_labels(ds):
    """One legend label per sweep point from the variables over point alone
    (the sweep coordinates), e.g. "optim_lr=0.1, model_activation=relu"."""
    keys = [n for n in ds.variables if ds[n].dims == ("point",)]
    labels = []
    for p in range(ds.sizes["point"]):
        parts = []
        for k in keys:
            v = ds[k].values[p]
            parts.append(f"{k}={v:g}" if isinstance(v, (float, np.floating)) else f"{k}={v}")
        labels.append(", ".join(parts) or "all")
    return labels


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--metric", default="normalized_margin")
    ap.add_argument("--out", help="PNG to write (default: <stem>_<metric>.png beside FILE)")
    ap.add_argument("--logy", action="store_true")
    ap.add_argument("--logx", action="store_true")
    ap.add_argument("--target", action="append", default=[], metavar="VALUE[:LABEL]",
                    help="draw a theoretical value as a dashed horizontal line, e.g. "
                         "--target 1:'max margin (theory)' or --target 2:'2/eta'")
    args = ap.parse_args()

    if not os.path.isfile(args.file):
        fail(f"no such file: {args.file}")
    try:
        ds = xr.open_dataset(args.file)
    except Exception as e:  # not NetCDF, truncated, ...: say so instead of a traceback
        fail(f"cannot open {args.file}: {str(e).splitlines()[0]}")

    # Metrics are discovered, not listed: every (point, seed, record) variable
    # that comes with its <metric>_stats.
    metrics = sorted(n for n in ds.data_vars if ds[n].dims == TRAJ_DIMS and n + "_stats" in ds)
    stats_name = args.metric + "_stats"
    if args.metric not in metrics:
        why = f"{stats_name} missing" if args.metric in ds else "no such metric"
        fail(f"cannot plot {args.metric!r} from {args.file} ({why}); "
             f"available metrics: {', '.join(metrics) or '(none)'}")

    stats = ds[stats_name]
    step = ds["step"].values
    mean = stats.sel(stat="mean").values  # [point, record]
    low = stats.sel(stat="ci95_low").values
    high = stats.sel(stat="ci95_high").values
    labels = point_labels(ds)

    keep = step > 0 if args.logx else np.ones(step.shape, bool)  # step 0 has no place on a log axis
    fig, ax = plt.subplots(figsize=(8, 5), constrained_layout=True)
    n_points = len(labels)
    # The default colour cycle repeats after 10; spread many points over a colormap instead.
    colors = plt.cm.viridis(np.linspace(0, 0.9, n_points)) if n_points > 10 else [None] * n_points
    for p in range(n_points):
        line, = ax.plot(step[keep], mean[p, keep], label=labels[p], color=colors[p], lw=1.5)
        ax.fill_between(step[keep], low[p, keep], high[p, keep], color=line.get_color(), alpha=0.2, lw=0)
    for target in args.target:
        value, _, label = target.partition(":")
        try:
            y = float(value)
        except ValueError:
            sys.exit(f"plot_metric.py: --target {target}: expected a number, optionally :label")
        ax.axhline(y, color="black", ls="--", lw=1, label=label or f"theory: {y:g}")
    if args.logx:
        ax.set_xscale("log")
    if args.logy:
        ax.set_yscale("log", nonpositive="mask")
    units = ds[args.metric].attrs.get("units", "")
    ax.set_xlabel("step")
    ax.set_ylabel(args.metric + (f" [{units}]" if units and units != "1" else ""))
    ax.set_title(f"{ds.attrs.get('title', os.path.basename(args.file))}\n"
                 f"{ds[args.metric].attrs.get('long_name', args.metric)}: mean over seeds, 95% CI",
                 fontsize=10)
    ax.grid(True, alpha=0.3)
    if n_points <= 8:
        ax.legend(fontsize=8)
    else:  # a long legend would hide the curves: put it beside the axes
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), ncol=1 + n_points // 25)

    out = args.out or os.path.splitext(args.file)[0] + f"_{args.metric}.png"
    try:
        fig.savefig(out, dpi=120)
    except OSError as e:
        fail(f"cannot write {out}: {e}")
    ds.close()
    print(out)


if __name__ == "__main__":
    main()
