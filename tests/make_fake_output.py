#!/usr/bin/python3
"""Write a small NetCDF file that follows biaslab's output contract.

Used to develop and test postprocess/ and tests/check_output.py without the C
program, and to prove the checker catches mistakes (--corrupt KIND).

  /usr/bin/python3 tests/make_fake_output.py OUT.nc [--seeds 5] [--records 21]
      [--sweep optim.lr=0.1,0.01 ...] [--no-sweep] [--params] [--corrupt KIND]

The statistics are computed slice by slice on purpose: the checker computes
them vectorised, so the two implementations check each other.
"""
import argparse
import datetime
import sys

import netCDF4
import numpy as np

STATS = ["mean", "std", "min", "q25", "median", "q75", "max", "ci95_low", "ci95_high", "iqm"]
METRICS = {  # name: (long_name, units)
    "train_loss": ("training loss", "1"),
    "train_log_loss": ("log10 of the training loss", "1"),
    "train_acc": ("training accuracy", "1"),
    "test_loss": ("test loss", "1"),
    "test_acc": ("test accuracy", "1"),
    "normalized_margin": ("normalized margin", "1"),
    "smoothed_margin": ("smoothed margin", "1"),
    "param_norm": ("parameter norm", "1"),
    "grad_norm": ("gradient norm", "1"),
}
CORRUPTIONS = ["mean", "std", "iqm", "q25", "ci", "attr", "fill", "step", "flags",
               "stat-labels", "config", "global", "missing-stats", "status-value"]
OK, DIVERGED, INTERRUPTED, NOT_RUN = 0, 1, 2, 3


def iqm(sorted_x):
    """Interquartile mean with fractional weights at the quartile edges."""
    n = len(sorted_x)
    total = 0.0
    for i, x in enumerate(sorted_x):
        w = max(0.0, min((i + 1) / n, 0.75) - max(i / n, 0.25))
        total += w * x
    return total / 0.5


def stats_of(x, rng):
    """The 10 statistics of one slice across seeds, NaN skipped."""
    x = np.sort(x[np.isfinite(x)])
    n = len(x)
    if n == 0:
        return [np.nan] * len(STATS)
    mean = float(np.mean(x))
    std = float(np.std(x, ddof=1)) if n > 1 else np.nan
    q25, med, q75 = (float(np.quantile(x, q)) for q in (0.25, 0.5, 0.75))
    if n == 1 or x[0] == x[-1]:
        low = high = mean  # the bootstrap has nothing to vary
    else:
        means = rng.choice(x, size=(2000, n)).mean(axis=1)
        low, high = np.percentile(means, [2.5, 97.5])
    return [mean, std, x[0], q25, med, q75, x[-1], low, high, iqm(x)]


def parse_sweep(items):
    sweep = []
    for item in items:
        key, _, values = item.partition("=")
        if "." not in key or not values:
            sys.exit(f"make_fake_output: bad --sweep {item!r}: want section.key=v1,v2,...")
        sweep.append((key, values.split(",")))
    return sweep


def is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def config_text(name, seeds, sweep, corrupt):
    lines = [] if corrupt == "config" else ["[experiment]", f"name = {name}", f"seeds = {seeds}",
                                            "first_seed = 0", "output = ", ""]
    lines += ["[optim]", "kind = gd", "lr = 0.1", "steps = 1000", "",
              "[model]", "kind = mlp", "activation = relu", ""]
    if sweep:
        lines.append("[sweep]")
        lines += [f"{key} = {' '.join(values)}" for key, values in sweep]
    return "\n".join(lines) + "\n"


def trajectories(n_points, n_seeds, steps, rng):
    """Plausible curves: loss falling, margin rising; shape (point, seed, record)."""
    t = steps[None, None, :].astype(float)
    rate = rng.uniform(0.002, 0.01, size=(n_points, n_seeds, 1))
    loss = np.log(2.0) * np.exp(-rate * t) + 1e-4
    margin = np.tanh(rate * t / 3) - 0.1 + 0.02 * rng.standard_normal((n_points, n_seeds, 1))
    acc = np.minimum(1.0, 0.5 + 0.5 * np.tanh(rate * t))
    acc[:, :, 0] = 0.5  # identical across seeds: exercises the all-equal CI rule
    norm = 1.0 + np.log1p(rate * t)
    return {
        "train_loss": loss,
        "train_log_loss": np.log10(loss),
        "train_acc": acc,
        "test_loss": loss * 1.1,
        "test_acc": acc * 0.97,
        "normalized_margin": margin,
        "smoothed_margin": margin - 0.05,
        "param_norm": norm,
        "grad_norm": loss * 0.5,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--records", type=int, default=21)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2")
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--params", action="store_true", help="also write params(point, seed, param)")
    ap.add_argument("--no-coordinates-attr", action="store_true",
                    help="leave out the CF 'coordinates' attribute on data variables")
    ap.add_argument("--corrupt", choices=CORRUPTIONS)
    args = ap.parse_args()

    sweep = [] if args.no_sweep else parse_sweep(args.sweep or ["optim.lr=0.1,0.01",
                                                                 "model.activation=relu,identity"])
    n_points = int(np.prod([len(v) for _, v in sweep])) if sweep else 1
    n_seeds, n_rec = args.seeds, args.records
    rng = np.random.default_rng(12345)
    steps = np.arange(n_rec, dtype=np.int64) * args.every
    if args.corrupt == "step":
        steps = steps + 1

    data = trajectories(n_points, n_seeds, steps, rng)
    status = np.zeros((n_points, n_seeds), dtype=np.int8)
    if n_seeds >= 3:
        # One diverged task (NaN from mid-run on) and one that never ran.
        status[0, 1] = DIVERGED
        status[-1, 2] = NOT_RUN
        for v in data.values():
            v[0, 1, n_rec // 2:] = np.nan
            v[-1, 2, :] = np.nan
    wall = rng.uniform(1.0, 3.0, size=(n_points, n_seeds))
    wall[status == NOT_RUN] = np.nan

    ds = netCDF4.Dataset(args.out, "w", format="NETCDF4")
    ds.createDimension("point", n_points)
    ds.createDimension("seed", n_seeds)
    ds.createDimension("record", n_rec)
    ds.createDimension("stat", len(STATS))

    v = ds.createVariable("step", "i8", ("record",))
    v.long_name, v.units = "optimizer step", "1"
    v[:] = steps
    v = ds.createVariable("seed", "i4", ("seed",))
    v.long_name = "random seed"
    v[:] = np.arange(n_seeds)
    v = ds.createVariable("stat", str, ("stat",))
    v.long_name = "statistic over seeds"
    labels = list(STATS)
    if args.corrupt == "stat-labels":
        labels[3], labels[4] = labels[4], labels[3]
    for i, s in enumerate(labels):
        v[i] = s

    # Sweep coordinates: the last key varies fastest, as in the C program.
    coord_names = []
    for k, (key, values) in enumerate(sweep):
        name = key.replace(".", "_")
        coord_names.append(name)
        inner = int(np.prod([len(vv) for _, vv in sweep[k + 1:]])) if k + 1 < len(sweep) else 1
        idx = [(p // inner) % len(values) for p in range(n_points)]
        if all(is_number(x) for x in values):
            v = ds.createVariable(name, "f8", ("point",))
            v[:] = np.array([float(values[i]) for i in idx])
        else:
            v = ds.createVariable(name, str, ("point",))
            for p, i in enumerate(idx):
                v[p] = values[i]
        v.long_name = f"sweep value of {key}"

    coords = " ".join(["step"] + coord_names)
    for metric, (long_name, units) in METRICS.items():
        fill = None if args.corrupt == "fill" and metric == "test_acc" else np.nan
        v = ds.createVariable(metric, "f8", ("point", "seed", "record"), fill_value=fill)
        v.long_name, v.units = long_name, units
        if not args.no_coordinates_attr:
            v.coordinates = coords
        v[:] = data[metric]
        if args.corrupt == "missing-stats" and metric == "grad_norm":
            continue
        st = np.empty((n_points, len(STATS), n_rec))
        for p in range(n_points):
            for r in range(n_rec):
                st[p, :, r] = stats_of(data[metric][p, :, r], rng)
        v = ds.createVariable(metric + "_stats", "f8", ("point", "stat", "record"), fill_value=np.nan)
        v.long_name, v.units = f"{long_name}: statistics over seeds", units
        if not args.no_coordinates_attr:
            v.coordinates = coords
        if metric == "train_loss":
            if args.corrupt == "mean":
                st[0, 0, 3] += 1e-9
            elif args.corrupt == "std":
                st[0, 1, 3] *= 1.01
            elif args.corrupt == "iqm":
                st[0, 9, 3] = st[0, 4, 3]  # the median in place of the IQM
            elif args.corrupt == "q25":
                st[0, 3, 3] = st[0, 2, 3]  # the minimum in place of q25
            elif args.corrupt == "ci":
                st[0, 7, 3], st[0, 8, 3] = st[0, 8, 3], st[0, 7, 3]
        v[:] = st
    if args.corrupt == "attr":
        del ds["normalized_margin"].units

    v = ds.createVariable("status", "i1", ("point", "seed"))
    v.long_name = "task status"
    v.flag_values = np.array([0, 1, 2, 3], dtype=np.int8)
    v.flag_meanings = "ok diverged interrupted not_run" if args.corrupt != "flags" else "ok diverged not_run"
    if args.corrupt == "status-value":
        status[0, 0] = 7
    v[:] = status
    v = ds.createVariable("wall_seconds", "f8", ("point", "seed"), fill_value=np.nan)
    v.long_name, v.units = "wall-clock time of the task", "s"
    v[:] = wall

    if args.params:
        n_param = 6
        ds.createDimension("param", n_param)
        v = ds.createVariable("params", "f8", ("point", "seed", "param"), fill_value=np.nan)
        v.long_name, v.units = "final parameters", "1"
        v.layout = "W1[2x3] row-major"
        v[:] = rng.standard_normal((n_points, n_seeds, n_param))

    ds.title = "biaslab fake output"
    ds.history = f"{datetime.datetime.now(datetime.timezone.utc).isoformat()} tests/make_fake_output.py"
    ds.source = "biaslab 0.1.0 (fake, tests/make_fake_output.py)"
    ds.config = config_text("fake", n_seeds, sweep, args.corrupt)
    ds.mpi_ranks = np.int32(2)
    ds.group_size = np.int32(1)
    ds.created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ds.Conventions = "CF-1.8"
    if args.corrupt == "global":
        del ds.created
    ds.close()


if __name__ == "__main__":
    main()
