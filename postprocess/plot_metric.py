#!/usr/bin/python3
"""Plot one metric of a biaslab results file: a statistic across seeds
(mean, median or IQM) with its 95% band, against the optimizer step, one
line per sweep point.

  /usr/bin/python3 postprocess/plot_metric.py FILE.nc [--metric normalized_margin]
      [--stat mean|median|iqm] [--out PNG] [--logy] [--logx] [--target VALUE[:LABEL]]...
      [--t-star]

The PNG goes next to the input as <stem>_<metric>.png (<stem>_<metric>_<stat>.png
for --stat median or iqm) unless --out is given. --stat mean draws the
bootstrap CI the file stores; median and iqm draw a percentile bootstrap
computed from the per-seed trajectories (postprocess/biaslab_nc.py: 2000
resamples, fixed seed). --t-star marks each point's predicted grokking
transition (the file's t_star outcome) by a dotted vertical line in the
point's colour.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display on compute nodes
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import biaslab_nc as bnc  # noqa: E402


def fail(message):
    print(f"plot_metric: {message}", file=sys.stderr)
    sys.exit(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--metric", default="normalized_margin")
    ap.add_argument("--out", help="PNG to write (default: <stem>_<metric>.png beside FILE)")
    ap.add_argument("--stat", choices=bnc.STAT_CHOICES, default="mean",
                    help="the statistic across seeds to draw (default mean)")
    ap.add_argument("--logy", action="store_true")
    ap.add_argument("--logx", action="store_true")
    ap.add_argument("--target", action="append", default=[], metavar="VALUE[:LABEL]",
                    help="draw a theoretical value as a dashed horizontal line, e.g. "
                         "--target 1:'max margin (theory)' or --target 2:'2/eta'")
    ap.add_argument("--t-star", action="store_true",
                    help="mark each point's t_star (predicted transition) by a vertical line")
    args = ap.parse_args()

    try:
        ds = bnc.open_output(args.file)
    except bnc.UsageError as e:
        fail(str(e))

    # Metrics are discovered, not listed: every (point, seed, record) variable
    # that comes with its <metric>_stats.
    metrics = sorted(bnc.metrics(ds))
    stats_name = args.metric + "_stats"
    if args.metric not in metrics:
        why = f"{stats_name} missing" if args.metric in ds else "no such metric"
        fail(f"cannot plot {args.metric!r} from {args.file} ({why}); "
             f"available metrics: {', '.join(metrics) or '(none)'}")

    step = ds["step"].values
    # a scaling rule's points run different steps over the same epochs
    x_name = "epoch" if "epoch" in ds.variables else "step"
    if x_name == "epoch":
        step = ds["epoch"].values
    try:
        center, low, high, band_note = bnc.center_and_band(ds, args.metric, args.stat)  # [point, record]
    except bnc.UsageError as e:
        fail(str(e))
    labels = bnc.point_labels(ds)

    keep = step > 0 if args.logx else np.ones(step.shape, bool)  # step 0 has no place on a log axis
    fig, ax = plt.subplots(figsize=(8, 5), constrained_layout=True)
    n_points = len(labels)
    # The default colour cycle repeats after 10; spread many points over a colormap instead.
    colors = plt.cm.viridis(np.linspace(0, 0.9, n_points)) if n_points > 10 else [None] * n_points
    for p in range(n_points):
        line, = ax.plot(step[keep], center[p, keep], label=labels[p], color=colors[p], lw=1.5)
        ax.fill_between(step[keep], low[p, keep], high[p, keep], color=line.get_color(), alpha=0.2, lw=0)
        if args.t_star:
            if "t_star" not in ds:
                fail(f"--t-star: {args.file} has no t_star")
            t = np.nanmean(ds["t_star"].values[p])  # the same for every seed
            if np.isfinite(t):
                ax.axvline(t, color=line.get_color(), ls=":", lw=1.2,
                           label=f"t* = ln α/(ηλ) = {t:.4g}" if n_points == 1 else None)
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
    ax.set_xlabel(x_name)
    ax.set_ylabel(args.metric + (f" [{units}]" if units and units != "1" else ""))
    ax.set_title(f"{ds.attrs.get('title', os.path.basename(args.file))}\n"
                 f"{ds[args.metric].attrs.get('long_name', args.metric)}: {bnc.STAT_NAMES[args.stat]} over seeds, 95% CI"
                 + ("" if args.stat == "mean" else  # say where the band comes from: not from the file
                    f"\n(band: percentile bootstrap of the {args.stat} over the per-seed values, "
                    f"{bnc.BOOTSTRAP_RESAMPLES} resamples, seed {bnc.BOOTSTRAP_SEED})"),
                 fontsize=10)
    ax.grid(True, alpha=0.3)
    if n_points <= 8:
        ax.legend(fontsize=8)
    else:  # a long legend would hide the curves: put it beside the axes
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), ncol=1 + n_points // 25)

    suffix = "" if args.stat == "mean" else f"_{args.stat}"
    out = args.out or os.path.splitext(args.file)[0] + f"_{args.metric}{suffix}.png"
    try:
        fig.savefig(out, dpi=120)
    except OSError as e:
        fail(f"cannot write {out}: {e}")
    ds.close()
    print(out)


if __name__ == "__main__":
    main()
