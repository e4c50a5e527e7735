"""Small strict helpers for the output checkers: every accessor fails loudly
(CheckError) on a missing variable or dimension instead of returning
something that compares False, and comparisons are written so that NaN fails."""
import configparser
import os
import sys

import netCDF4
import numpy as np

# The default fill value of a NetCDF int64 variable: what steps_done holds
# for a task that never reported (netCDF4.default_fillvals["i8"]).
FILL_INT64 = int(netCDF4.default_fillvals["i8"])


class CheckError(Exception):
    """A check that cannot even be attempted (missing variable, bad shape)."""


def open_dataset(path, prog):
    if not os.path.isfile(path):
        print(f"{prog}: no such file: {path}", file=sys.stderr)
        sys.exit(2)
    try:
        ds = netCDF4.Dataset(path)
    except OSError as e:
        print(f"{prog}: cannot read {path} as NetCDF: {e}", file=sys.stderr)
        sys.exit(2)
    ds.set_auto_mask(False)  # raw values: the NaN fill stays NaN
    return ds


def var(ds, name, dims=None):
    """Variable `name`, checked to exist (and to have dimensions `dims`)."""
    if name not in ds.variables:
        raise CheckError(f"variable {name} missing in {ds.filepath()}")
    v = ds.variables[name]
    if dims is not None and tuple(v.dimensions) != tuple(dims):
        raise CheckError(f"{name} has dimensions {v.dimensions}, expected {tuple(dims)}")
    return v


def values(ds, name, dims=None, dtype=np.float64):
    return np.asarray(var(ds, name, dims)[:]).astype(dtype)


def stat_index(ds, stat):
    labels = [str(s) for s in var(ds, "stat", ("stat",))[:]]
    if stat not in labels:
        raise CheckError(f"statistic {stat!r} not in the file's stat labels {labels}")
    return labels.index(stat)


def stat_values(ds, metric, stat):
    """metric_stats[:, stat, :] as float (point, record)."""
    v = var(ds, metric + "_stats", ("point", "stat", "record"))
    return np.asarray(v[:, stat_index(ds, stat), :], dtype=np.float64)


def config(ds):
    """The global `config` attribute parsed as INI (keys as written)."""
    if "config" not in ds.ncattrs() or not isinstance(ds.getncattr("config"), str):
        raise CheckError("global attribute config missing")
    ini = configparser.ConfigParser(interpolation=None)
    ini.optionxform = str
    try:
        ini.read_string(ds.getncattr("config"))
    except configparser.Error as e:
        raise CheckError(f"config does not parse as INI: {str(e).splitlines()[0]}")
    return ini


def where(bad, dims):
    """'N cell(s), first at dim=i, ...' for a boolean array `bad`."""
    idx = np.argwhere(bad)[0]
    at = ", ".join(f"{d}={i}" for d, i in zip(dims, idx))
    return f"{int(np.sum(bad))} cell(s), first at {at}"


def finite_and(values_, condition):
    """condition(values) where values are finite, False (a failure) elsewhere."""
    values_ = np.asarray(values_, dtype=np.float64)
    ok = np.isfinite(values_)
    with np.errstate(invalid="ignore"):
        return ok & condition(np.where(ok, values_, 0.0))


class Report:
    """Collects named checks; prints `ok`/`FAIL` lines and exits accordingly."""

    def __init__(self, prog):
        self.prog = prog
        self.n = 0
        self.failures = []

    def check(self, ok, message):
        self.n += 1
        if not ok:
            self.failures.append(message() if callable(message) else message)
        return bool(ok)

    def fail(self, message):
        return self.check(False, message)

    def finish(self, summary=""):
        for f in self.failures:
            print(f"{self.prog}: FAIL: {f}")
        if self.failures:
            print(f"{self.prog}: FAILED ({len(self.failures)} of {self.n} checks){summary}")
            return 1
        if self.n == 0:
            print(f"{self.prog}: FAILED: nothing was checked")
            return 1
        print(f"{self.prog}: OK ({self.n} checks){summary}")
        return 0
