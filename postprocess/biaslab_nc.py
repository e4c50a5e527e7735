"""Reading biaslab output files: the code postprocess/plot_metric.py and
postprocess/report.py share.

- open_output(path): the file as an xarray Dataset, or UsageError (exit 2);
- metrics(ds): the metrics a file measured (every (point, seed, record)
  variable that comes with its <metric>_stats), in file order;
- parse_config(text): the `config` attribute as {"section.key": value} and
  the [sweep] lines as {"section.key": [values]};
- sweep_variables(ds), point_labels(ds): the swept coordinates of each point;
- center_and_band(ds, metric, stat): the line and 95% band a figure draws
  for --stat mean|median|iqm. The file stores the mean's bootstrap CI
  (ci95_low, ci95_high); for the median and the IQM the band is a
  percentile bootstrap computed here from the per-seed trajectories
  (BOOTSTRAP_RESAMPLES resamples of the seeds, numpy's PCG64 seeded with
  (BOOTSTRAP_SEED, n) for a cell of n finite values: the same resamples for
  every cell of that size, so a band does not depend on which other cells
  were computed);
- iqm(sorted_values): the interquartile mean exactly as biaslab defines it
  (each sorted value weighs its overlap with [1/4, 3/4] of the empirical
  CDF), along the last axis.
"""
import os
import re

import netCDF4  # noqa: F401,E402  imported before xarray opens the file: quiets a numpy ABI warning
import numpy as np
import xarray as xr

TRAJ_DIMS = ("point", "seed", "record")
STATS = ("mean", "std", "min", "q25", "median", "q75", "max", "ci95_low", "ci95_high", "iqm")
STAT_CHOICES = ("mean", "median", "iqm")
STAT_NAMES = {"mean": "mean", "median": "median", "iqm": "interquartile mean (IQM)"}
BOOTSTRAP_SEED = 20240601
BOOTSTRAP_RESAMPLES = 2000
STATUS_MEANINGS = ("ok", "diverged", "interrupted", "not_run")
NOT_RUN = 3


class UsageError(Exception):
    """A problem with what the user asked for or gave (exit 2)."""


def open_output(path):
    """The biaslab output at path as an xarray Dataset."""
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    try:
        ds = xr.open_dataset(path)
    except Exception as e:  # not NetCDF, truncated, ...: say so instead of a traceback
        raise UsageError(f"cannot open {path}: {str(e).splitlines()[0]}")
    missing = [d for d in ("point", "seed", "record", "stat") if d not in ds.sizes]
    if missing or "status" not in ds or "step" not in ds:
        ds.close()
        raise UsageError(f"{path} is not a biaslab output (needs dimensions point, seed, record, "
                         f"stat and variables status, step; missing: {', '.join(missing) or 'a variable'})")
    return ds


def metrics(ds):
    """Every metric the file holds, in file order (the order of biaslab's metric table)."""
    return [n for n in ds.data_vars if ds[n].dims == TRAJ_DIMS and n + "_stats" in ds]


def stat_values(ds, metric, stat):
    """<metric>_stats at one stat label: [point, record]."""
    stats = ds[metric + "_stats"]
    labels = [str(s) for s in stats["stat"].values]
    if stat not in labels:
        raise UsageError(f"{metric}_stats has no stat {stat!r} (it has {', '.join(labels)})")
    return stats.isel(stat=labels.index(stat)).values.astype(float)


def parse_config(text):
    """The resolved INI of a `config` attribute: ({"section.key": value}, {"section.key": [values]})."""
    flat, sweep, section = {}, {}, ""
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        m = re.fullmatch(r"\[([^\]]+)\]", line)
        if m:
            section = m.group(1).strip()
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if section == "sweep":
            sweep[key] = [v.strip() for v in value.split(",")]
        else:
            flat[f"{section}.{key}"] = value
    return flat, sweep


def sweep_variables(ds):
    """The variables over (point) alone: one per swept key, e.g. optim_lr (a scaling
    rule's kappa and resolved_* values are over point too, but are not swept keys)."""
    return [n for n in ds.variables if ds[n].dims == ("point",)
            and n != "kappa" and not n.startswith("resolved_")]


def variable_key(name):
    """optim_lr -> optim.lr (section names hold no underscore)."""
    return name.replace("_", ".", 1)


def fmt_value(v):
    if isinstance(v, (bytes, np.bytes_)):
        v = v.decode()
    if isinstance(v, (float, np.floating)):
        return f"{v:g}"
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def point_labels(ds):
    """One label per sweep point from the swept coordinates, e.g.
    "optim_lr=0.1, model_activation=relu" ("all" without a sweep)."""
    keys = sweep_variables(ds)
    return [", ".join(f"{k}={fmt_value(ds[k].values[p])}" for k in keys) or "all"
            for p in range(ds.sizes["point"])]


def fmt_num(x, digits=6):
    """A number as biaslab info prints it (%.6g); NaN as 'n/a'."""
    if x is None or not np.isfinite(x):
        return "n/a" if x is None or np.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.{digits}g}"


# ---- statistics across seeds ----

def iqm_weights(n):
    """Weights of the sorted values in biaslab's IQM (sum 1)."""
    i = np.arange(n)
    a, b = 4 * i, 4 * i + 4
    c = np.clip(np.minimum(b, 3 * n) - np.maximum(a, n), 0, None)
    return c / (2.0 * n)


def iqm(sorted_values):
    """Interquartile mean along the last axis of already sorted values."""
    n = sorted_values.shape[-1]
    return sorted_values @ iqm_weights(n)


def _statistic(samples, stat):
    """stat of each row of samples [..., n] (rows already gathered)."""
    if stat == "median":
        return np.median(samples, axis=-1)
    if stat == "iqm":
        return iqm(np.sort(samples, axis=-1))
    if stat == "mean":
        return samples.mean(axis=-1)
    raise ValueError(stat)


_index_cache = {}


def _resample_indices(n):
    if n not in _index_cache:
        rng = np.random.Generator(np.random.PCG64([BOOTSTRAP_SEED, n]))
        _index_cache[n] = rng.integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))
    return _index_cache[n]


def bootstrap_band(traj, stat):
    """95% percentile bootstrap of stat across seeds for each record.

    traj [seed, record]; non-finite values are left out cell by cell (as the
    file's statistics do). Returns (low, high) [record]; a cell with one value
    gives [v, v], one with none NaN."""
    traj = np.asarray(traj, float)
    n_rec = traj.shape[1]
    low = np.full(n_rec, np.nan)
    high = np.full(n_rec, np.nan)
    finite = np.isfinite(traj)
    # records with the same set of finite seeds are resampled together
    patterns, which = np.unique(finite.T, axis=0, return_inverse=True)
    which = np.asarray(which).reshape(-1)
    for g, mask in enumerate(patterns):
        recs = np.nonzero(which == g)[0]
        n = int(mask.sum())
        if n == 0:
            continue
        values = traj[mask][:, recs]  # [n, R]
        if n == 1:
            low[recs] = high[recs] = values[0]
            continue
        idx = _resample_indices(n)
        chunk = max(1, 4_000_000 // (BOOTSTRAP_RESAMPLES * n))
        for s in range(0, len(recs), chunk):
            v = values[:, s:s + chunk].T  # [R', n]
            boot = _statistic(v[:, idx], stat)  # [R', B]
            q = np.quantile(boot, [0.025, 0.975], axis=1)
            low[recs[s:s + chunk]] = q[0]
            high[recs[s:s + chunk]] = q[1]
    return low, high


def center_and_band(ds, metric, stat="mean"):
    """(center, low, high) [point, record] of metric for --stat, and a
    sentence saying where the band comes from (for a caption)."""
    if stat not in STAT_CHOICES:
        raise UsageError(f"--stat {stat}: expected one of {', '.join(STAT_CHOICES)}")
    center = stat_values(ds, metric, stat)
    if stat == "mean":
        return (center, stat_values(ds, metric, "ci95_low"), stat_values(ds, metric, "ci95_high"),
                "band: 95% bootstrap CI of the mean, as stored in the file")
    traj = ds[metric].values.astype(float)
    low = np.full(center.shape, np.nan)
    high = np.full(center.shape, np.nan)
    status = ds["status"].values
    for p in range(traj.shape[0]):
        ran = status[p] != NOT_RUN
        low[p], high[p] = bootstrap_band(traj[p][ran], stat)
    return (center, low, high,
            f"band: 95% percentile bootstrap of the {stat} computed from the per-seed trajectories "
            f"({BOOTSTRAP_RESAMPLES} resamples of the seeds, fixed seed {BOOTSTRAP_SEED}; the file "
            f"stores only the mean's CI)")


def last_known(values):
    """Index of the last entry of a 1-D array that is not NaN, or -1: the
    record `biaslab info` calls final (divergence can end a point early)."""
    ok = np.nonzero(~np.isnan(values))[0]
    return int(ok[-1]) if len(ok) else -1
