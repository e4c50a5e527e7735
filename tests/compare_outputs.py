#!/usr/bin/python3
"""Compare the results of two biaslab output files, in both directions.

  /usr/bin/python3 tests/compare_outputs.py A.nc B.nc [--rtol R] [--skip VAR]...

The files must have:
  - the same dimensions with the same sizes;
  - the same variables (one that only one file has is a difference), each
    with the same dimensions, type and attributes; every variable is
    compared, coordinates included (step, seed, stat, the sweep coordinates
    over point, spectrum_step, density_step), except wall_seconds and the
    --skip ones (VAR and VAR_stats);
  - equal values: bitwise for floating point (NaN where NaN) with --rtol 0,
    the default, or |a - b| <= R max(|a|, |b|) with --rtol R (and the same
    infinities); integers and strings always exactly (--skip VAR leaves out
    VAR and VAR_stats; --skip config or --skip title a global attribute);
  - the same global `config` attribute (the resolved INI) apart from its
    [parallel] section (group_size, blas_threads: how the run was laid out,
    like mpi_ranks), compared key by key, and the same title and Conventions.
    history, created, source, mpi_ranks and group_size may differ.
Prints each difference; exits 0 when there is none, 1 otherwise, 2 on bad usage.
"""
import argparse
import configparser
import os
import sys

import netCDF4
import numpy as np

SKIP = {"wall_seconds"}
LAYOUT_SECTIONS = {"parallel"}
COMPARED_GLOBALS = ["title", "Conventions"]


def open_nc(path):
    if not os.path.isfile(path):
        print(f"compare_outputs: no such file: {path}", file=sys.stderr)
        sys.exit(2)
    try:
        ds = netCDF4.Dataset(path)
    except OSError as e:
        print(f"compare_outputs: cannot read {path} as NetCDF: {e}", file=sys.stderr)
        sys.exit(2)
    ds.set_auto_mask(False)
    ds.set_auto_scale(False)
    return ds


def first_at(mask):
    idx = np.argwhere(mask)
    return tuple(int(i) for i in idx[0]) if idx.size else ()


def same_attr(x, y):
    if isinstance(x, str) or isinstance(y, str):
        return x == y
    x, y = np.asarray(x), np.asarray(y)
    return x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y, equal_nan=x.dtype.kind == "f")


def compare_values(name, x, y, rtol):
    """A description of how x and y differ, or None."""
    if x.dtype.kind in "OSU" or y.dtype.kind in "OSU":
        xs, ys = np.vectorize(str, otypes=[object])(x), np.vectorize(str, otypes=[object])(y)
        diff = xs != ys
        if diff.any():
            at = first_at(diff)
            return f"{int(diff.sum())} value(s) differ, first at {at}: {xs[at]!r} vs {ys[at]!r}"
        return None
    if x.dtype.kind in "iub":
        diff = x != y
        if diff.any():
            at = first_at(diff)
            return f"{int(diff.sum())} value(s) differ, first at {at}: {x[at]!r} vs {y[at]!r}"
        return None
    x, y = x.astype(np.float64), y.astype(np.float64)
    nx, ny = np.isnan(x), np.isnan(y)
    if not np.array_equal(nx, ny):
        at = first_at(nx != ny)
        return f"NaN in different places ({int(np.sum(nx != ny))}), first at {at}: {x[at]!r} vs {y[at]!r}"
    m = ~nx
    if rtol == 0:
        diff = np.zeros(x.shape, dtype=bool)
        diff[m] = x[m].view(np.int64) != y[m].view(np.int64)
        if diff.any():
            at = first_at(diff)
            return (f"not bitwise identical: {int(diff.sum())} value(s), first at {at}: "
                    f"{x[at]!r} vs {y[at]!r}")
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        same = x == y  # also the same infinity
        scale = np.maximum(np.abs(x), np.abs(y))
        rel = np.where(same | ~m, 0.0, np.abs(x - y) / np.where(scale > 0, scale, 1.0))
        rel = np.where(np.isnan(rel), np.inf, rel)  # inf vs finite, or inf vs -inf
    if rel.max(initial=0.0) > rtol:
        at = first_at(rel == rel.max())
        return (f"relative difference {rel.max():.3g} > {rtol:g} in {int(np.sum(rel > rtol))} value(s), "
                f"first at {at}: {x[at]!r} vs {y[at]!r}")
    return None


def parse_config(text, path, problems):
    ini = configparser.ConfigParser(interpolation=None)
    ini.optionxform = str
    try:
        ini.read_string(text)
    except configparser.Error as e:
        problems.append(f"config of {path} does not parse: {str(e).splitlines()[0]}")
        return None
    return ini


def compare_config(a, b, pa, pb, problems):
    ca = a.getncattr("config") if "config" in a.ncattrs() else None
    cb = b.getncattr("config") if "config" in b.ncattrs() else None
    if ca is None or cb is None:
        problems.append(f"global attribute config missing in {pa if ca is None else pb}")
        return
    if ca == cb:
        return
    ia, ib = parse_config(ca, pa, problems), parse_config(cb, pb, problems)
    if ia is None or ib is None:
        return
    for section in sorted(set(ia.sections()) | set(ib.sections())):
        if section in LAYOUT_SECTIONS:
            continue
        if not ia.has_section(section) or not ib.has_section(section):
            problems.append(f"config: section [{section}] only in {pa if ia.has_section(section) else pb}")
            continue
        keys = list(dict.fromkeys(list(ia[section]) + list(ib[section])))
        for key in keys:
            va, vb = ia[section].get(key), ib[section].get(key)
            if va != vb:
                problems.append(f"config: {section}.{key} = {va!r} in {pa}, {vb!r} in {pb}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=0.0)
    ap.add_argument("--skip", action="append", default=[],
                    help="leave out a variable (and its _stats), e.g. a residual near 0, or a "
                         "compared global attribute (config, title)")
    args = ap.parse_args()
    if not (args.rtol >= 0):
        ap.error("--rtol must be >= 0")
    skip = SKIP | set(args.skip) | {v + "_stats" for v in args.skip}
    a, b = open_nc(args.a), open_nc(args.b)
    problems = []

    da = {n: len(d) for n, d in a.dimensions.items()}
    db = {n: len(d) for n, d in b.dimensions.items()}
    for n in sorted(set(da) | set(db)):
        if n not in db or n not in da:
            problems.append(f"dimension {n} only in {args.a if n in da else args.b}")
        elif da[n] != db[n]:
            problems.append(f"dimension {n}: {da[n]} in {args.a}, {db[n]} in {args.b}")

    if "config" not in skip:
        compare_config(a, b, args.a, args.b, problems)
    for g in [g for g in COMPARED_GLOBALS if g not in skip]:
        ga = a.getncattr(g) if g in a.ncattrs() else None
        gb = b.getncattr(g) if g in b.ncattrs() else None
        if not same_attr(ga, gb):
            problems.append(f"global attribute {g}: {ga!r} in {args.a}, {gb!r} in {args.b}")

    compared = 0
    names = list(dict.fromkeys(list(a.variables) + list(b.variables)))
    for name in names:
        if name in skip:
            continue
        if name not in a.variables or name not in b.variables:
            problems.append(f"{name}: only in {args.a if name in a.variables else args.b}")
            continue
        va, vb = a.variables[name], b.variables[name]
        compared += 1
        if va.dimensions != vb.dimensions:
            problems.append(f"{name}: dimensions {va.dimensions} and {vb.dimensions}")
            continue
        if va.dtype != vb.dtype:
            problems.append(f"{name}: types {va.dtype} and {vb.dtype}")
            continue
        attrs = list(dict.fromkeys(list(va.ncattrs()) + list(vb.ncattrs())))
        for at in attrs:
            xa = va.getncattr(at) if at in va.ncattrs() else None
            xb = vb.getncattr(at) if at in vb.ncattrs() else None
            if xa is None or xb is None or not same_attr(xa, xb):
                problems.append(f"{name}: attribute {at}: {xa!r} in {args.a}, {xb!r} in {args.b}")
        x, y = np.asarray(va[:]), np.asarray(vb[:])
        if x.shape != y.shape:
            problems.append(f"{name}: shapes {x.shape} and {y.shape}")
            continue
        d = compare_values(name, x, y, args.rtol)
        if d:
            problems.append(f"{name}: {d}")
    for p in problems:
        print("compare_outputs:", p)
    if compared == 0:
        print("compare_outputs: nothing to compare")
        return 1
    how = "bitwise" if args.rtol == 0 else f"to rtol {args.rtol:g}"
    skipped = sorted(skip & (set(names) | {"config"} | set(COMPARED_GLOBALS)))
    print(f"compare_outputs: {compared} variables compared {how} "
          f"(skipped: {', '.join(skipped) or 'none'}), {len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
