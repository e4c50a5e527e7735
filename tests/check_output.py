#!/usr/bin/python3
"""Check a biaslab results file against the output contract.

  /usr/bin/python3 tests/check_output.py FILE.nc [--points N] [--seeds N]

Checks dimensions, coordinates, the stat labels, each metric's attributes,
the status flags and global attributes, and recomputes every statistic over
seeds from the per-task trajectories. Prints one line per failed check, then
a summary; exits 0 when all pass, 1 otherwise, 2 on bad usage.

The file is read with netCDF4 (not xarray) so dtypes and attributes are seen
exactly as stored; xarray is used once to prove the file opens cleanly.
"""
import argparse
import configparser
import os
import sys
import warnings

import netCDF4  # before xarray's warning check: its import warns about numpy ABI
import numpy as np
import xarray as xr

STATS = ["mean", "std", "min", "q25", "median", "q75", "max", "ci95_low", "ci95_high", "iqm"]
METRICS = ["train_loss", "train_log_loss", "train_acc", "test_loss", "test_acc",
           "normalized_margin", "smoothed_margin", "param_norm", "grad_norm"]
TRAJ_DIMS = ("point", "seed", "record")
STATS_DIMS = ("point", "stat", "record")
GLOBALS = ["title", "history", "source", "config", "mpi_ranks", "group_size", "created", "Conventions"]
RTOL = ATOL = 1e-12


class Checker:
    def __init__(self):
        self.n = 0
        self.failures = []

    def check(self, ok, message):
        """Count a check; remember its message when it fails. Callers build costly
        messages as `bad and f"..."`, so they are only formatted on failure."""
        self.n += 1
        if not ok:
            self.failures.append(message)
        return bool(ok)


def text_attr(var, name):
    value = var.getncattr(name) if name in var.ncattrs() else None
    return value if isinstance(value, str) else None


def recompute(x):
    """Statistics over axis 1 (seed) of x[point, seed, record]; like biaslab, values
    that are not finite (NaN: not measured or diverged; +-inf: overflowed, e.g. the
    exponential test loss of a misclassified example) are skipped.
    Returns {stat: array[point, record]} for all but the bootstrap CI, and count."""
    x = np.where(np.isfinite(x), x, np.nan)
    finite = np.isfinite(x)
    count = finite.sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are expected
        out = {
            "mean": np.nanmean(x, axis=1),
            "std": np.where(count >= 2, np.nanstd(x, axis=1, ddof=1), np.nan),
            "min": np.nanmin(x, axis=1),
            "max": np.nanmax(x, axis=1),
        }
    # Quantiles as np.nanquantile gives them, but np.nanquantile loops in
    # Python over every slice; np.quantile over the cells that share a count
    # of finite values is the same computation, vectorised (np.sort puts NaN last).
    s = np.sort(x, axis=1)
    cells = np.moveaxis(s, 1, -1)  # [point, record, seed]
    qs = np.full((3,) + count.shape, np.nan)
    for n in np.unique(count[count > 0]):
        at = count == n
        qs[:, at] = np.quantile(cells[at][:, :n], [0.25, 0.5, 0.75], axis=1)
    out["q25"], out["median"], out["q75"] = qs
    # IQM: sorted value i covers [i/n, (i+1)/n]; its weight is the overlap
    # with [0.25, 0.75]. Slots i >= n hold the NaNs and get weight 0.
    n = count[:, None, :].astype(float)
    i = np.arange(x.shape[1])[None, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.clip(np.minimum((i + 1) / n, 0.75) - np.maximum(i / n, 0.25), 0.0, None)
    w = np.where(i < n, w, 0.0)
    iqm = np.sum(w * np.where(np.isfinite(s), s, 0.0), axis=1) / 0.5
    out["iqm"] = np.where(count > 0, iqm, np.nan)
    return out, count


def first_bad(bad, labels, *arrays):
    """Describe where bad[point, record] is True: count, first cell, values there."""
    p, r = np.argwhere(bad)[0]
    values = ", ".join(repr(a[p, r]) for a in arrays)
    return f"{bad.sum()} cell(s), first at point={p}{labels[p]} record={r}: {values}"


def check_stats(c, name, traj, stats, labels):
    want, count = recompute(traj)
    for k, stat in enumerate(STATS):
        if stat.startswith("ci95"):
            continue
        got = stats[:, k, :]
        bad = ~np.isclose(got, want[stat], rtol=RTOL, atol=ATOL, equal_nan=True)
        c.check(not bad.any(), bad.any() and f"{name}_stats {stat} differs from the trajectories: "
                f"{first_bad(bad, labels, got, want[stat])} (file, recomputed)")
    # The bootstrap cannot be redone; check what must hold for any resampling.
    low, high = stats[:, STATS.index("ci95_low"), :], stats[:, STATS.index("ci95_high"), :]
    mean = want["mean"]
    tol = ATOL + RTOL * np.abs(mean)
    none = count == 0
    bad = none & ~(np.isnan(low) & np.isnan(high))
    c.check(not bad.any(), bad.any() and f"{name}_stats ci95 not NaN where every seed is NaN: "
            f"{first_bad(bad, labels, low, high)}")
    with np.errstate(invalid="ignore"):
        bad = ~none & ~((low <= mean + tol) & (mean <= high + tol))
    c.check(not bad.any(), bad.any() and f"{name}_stats ci95 does not contain the mean: "
            f"{first_bad(bad, labels, low, mean, high)} (low, mean, high)")
    flat = ~none & ((count == 1) | (want["max"] == want["min"]))
    bad = flat & ~(np.isclose(low, mean, rtol=RTOL, atol=ATOL) & np.isclose(high, mean, rtol=RTOL, atol=ATOL))
    c.check(not bad.any(), bad.any() and f"{name}_stats ci95 over one value or equal values is not "
            f"[mean, mean]: {first_bad(bad, labels, low, mean, high)} (low, mean, high)")


def check_file(path, want_points, want_seeds):
    c = Checker()
    ds = netCDF4.Dataset(path)
    ds.set_auto_mask(False)  # NaN fill stays NaN; keep raw values everywhere
    dims = {name: len(d) for name, d in ds.dimensions.items()}
    V = ds.variables

    # Dimensions
    for d in ("point", "seed", "record", "stat"):
        c.check(d in dims, f"dimension {d} missing")
    if want_points is not None:
        c.check(dims.get("point") == want_points, f"point: {dims.get('point')} points, expected {want_points}")
    if want_seeds is not None:
        c.check(dims.get("seed") == want_seeds, f"seed: {dims.get('seed')} seeds, expected {want_seeds}")
    c.check(dims.get("stat") == len(STATS), f"stat: length {dims.get('stat')}, expected {len(STATS)}")
    if c.failures:
        ds.close()
        return c  # nothing below makes sense without the dimensions

    # Coordinates
    if c.check("step" in V and V["step"].dimensions == ("record",), "step(record) missing"):
        step = V["step"]
        c.check(step.dtype == np.int64, f"step: dtype {step.dtype}, expected int64")
        c.check(text_attr(step, "units") == "1", f"step: units {text_attr(step, 'units')!r}, expected '1'")
        s = step[:]
        c.check(len(s) > 0 and s[0] == 0, f"step: starts at {s[0] if len(s) else 'nothing'}, expected 0")
        c.check(np.all(np.diff(s) > 0), "step: not strictly increasing")
    if c.check("seed" in V and V["seed"].dimensions == ("seed",), "seed(seed) missing"):
        seeds = V["seed"][:]
        c.check(np.issubdtype(seeds.dtype, np.integer), f"seed: dtype {seeds.dtype}, expected an integer type")
        c.check(len(np.unique(seeds)) == len(seeds), "seed: values repeat")
    if c.check("stat" in V and V["stat"].dimensions == ("stat",), "stat(stat) missing"):
        labels = [str(s) for s in V["stat"][:]]
        c.check(labels == STATS, f"stat labels {labels}, expected {STATS}")

    # Sweep coordinates: every variable over point alone; [sweep] keys name them.
    sweep_vars = [n for n, v in V.items() if v.dimensions == ("point",)]
    for n in sweep_vars:
        c.check(V[n].dtype == np.float64 or V[n].dtype == str,
                f"{n}: dtype {V[n].dtype}, expected double (numeric key) or string")
    point_labels = ["" for _ in range(dims["point"])]
    for p in range(dims["point"]):
        parts = [f"{n}={V[n][p]}" for n in sweep_vars]
        point_labels[p] = f" ({', '.join(parts)})" if parts else ""

    # Global attributes
    for a in GLOBALS:
        c.check(a in ds.ncattrs(), f"global attribute {a} missing")
    c.check(getattr(ds, "Conventions", None) == "CF-1.8",
            f"Conventions is {getattr(ds, 'Conventions', None)!r}, expected 'CF-1.8'")
    for a in ("mpi_ranks", "group_size"):
        value = getattr(ds, a, None)
        c.check(value is not None and np.issubdtype(np.asarray(value).dtype, np.integer) and np.all(value >= 1),
                f"global attribute {a} is {value!r}, expected a positive integer")
    for a in ("title", "history", "source", "created"):
        value = getattr(ds, a, None)
        c.check(value is None or (isinstance(value, str) and value.strip()), f"global attribute {a} is empty")
    if isinstance(getattr(ds, "config", None), str):
        ini = configparser.ConfigParser(interpolation=None)
        ini.optionxform = str  # keep keys as written
        try:
            ini.read_string(ds.config)
            c.check(ini.has_section("experiment"), "config: no [experiment] section")
            for key in (ini["sweep"] if ini.has_section("sweep") else []):
                n = key.replace(".", "_")
                c.check(n in sweep_vars, f"config: sweep key {key} has no coordinate variable {n}(point)")
        except configparser.Error as e:
            c.check(False, f"config: does not parse as INI: {str(e).splitlines()[0]}")

    # Status and timing
    if c.check("status" in V and V["status"].dimensions == ("point", "seed"), "status(point, seed) missing"):
        st = V["status"]
        c.check(st.dtype == np.int8, f"status: dtype {st.dtype}, expected byte (int8)")
        fv = st.getncattr("flag_values") if "flag_values" in st.ncattrs() else None
        c.check(fv is not None and np.array_equal(np.atleast_1d(fv), [0, 1, 2, 3])
                and np.asarray(fv).dtype == st.dtype,
                f"status: flag_values {fv!r}, expected [0, 1, 2, 3] of the variable's type")
        fm = text_attr(st, "flag_meanings")
        c.check(fm == "ok diverged interrupted not_run",
                f"status: flag_meanings {fm!r}, expected 'ok diverged interrupted not_run'")
        bad = ~np.isin(st[:], [0, 1, 2, 3])
        c.check(not bad.any(), f"status: {bad.sum()} value(s) outside 0..3")
    if c.check("wall_seconds" in V and V["wall_seconds"].dimensions == ("point", "seed"),
               "wall_seconds(point, seed) missing"):
        w = V["wall_seconds"]
        c.check(w.dtype == np.float64, f"wall_seconds: dtype {w.dtype}, expected double")
        with np.errstate(invalid="ignore"):
            c.check(not (w[:] < 0).any(), "wall_seconds: negative values")
    if "param" in dims or "params" in V:
        if c.check("params" in V and V["params"].dimensions == ("point", "seed", "param"),
                   "params(point, seed, param) missing although dimension param exists"):
            c.check(V["params"].dtype == np.float64, f"params: dtype {V['params'].dtype}, expected double")
            c.check(bool(text_attr(V["params"], "layout")), "params: attribute layout missing")

    # Metrics: the named ones must exist; any (point, seed, record) variable counts.
    found = [n for n, v in V.items() if v.dimensions == TRAJ_DIMS]
    for m in METRICS:
        c.check(m in found, f"metric {m} missing")
    for m in found:
        v = V[m]
        c.check(v.dtype == np.float64, f"{m}: dtype {v.dtype}, expected double")
        fill = v.getncattr("_FillValue") if "_FillValue" in v.ncattrs() else None
        c.check(fill is not None and np.isnan(fill), f"{m}: _FillValue {fill!r}, expected NaN")
        for a in ("long_name", "units"):
            c.check(text_attr(v, a) is not None, f"{m}: attribute {a} missing")
        sname = m + "_stats"
        if not c.check(sname in V and V[sname].dimensions == STATS_DIMS,
                       f"{sname}(point, stat, record) missing"):
            continue
        c.check(V[sname].dtype == np.float64, f"{sname}: dtype {V[sname].dtype}, expected double")
        check_stats(c, m, v[:].astype(np.float64), V[sname][:].astype(np.float64), point_labels)
    ds.close()

    # xarray must read the file without complaint and with the stored dtypes
    # (e.g. units "seconds" would turn wall_seconds into timedelta64).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with xr.open_dataset(path) as xds:
                xds.load()
                kinds = {n: xds[n].dtype for n in ["step", "wall_seconds"] + found if n in xds.variables}
        except Exception as e:  # any failure here is a finding, not a crash
            kinds = {}
            c.check(False, f"xarray.open_dataset fails: {type(e).__name__}: {e}")
    for n, dt in kinds.items():
        c.check(dt.kind in "if", f"xarray decodes {n} as {dt}, not as a number")
    c.check(not caught, caught and "xarray.open_dataset warns: " +
            "; ".join(f"{w.category.__name__}: {w.message}" for w in caught))
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--points", type=int, help="expected number of sweep points")
    ap.add_argument("--seeds", type=int, help="expected number of seeds")
    args = ap.parse_args()
    if not os.path.isfile(args.file):
        print(f"check_output: no such file: {args.file}", file=sys.stderr)
        return 2
    try:
        c = check_file(args.file, args.points, args.seeds)
    except OSError as e:
        print(f"check_output: cannot read {args.file} as NetCDF: {e}", file=sys.stderr)
        return 2
    for f in c.failures:
        print(f"FAIL: {f}")
    if c.failures:
        print(f"check_output: FAILED ({len(c.failures)} of {c.n} checks) {args.file}")
        return 1
    print(f"check_output: OK ({c.n} checks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
