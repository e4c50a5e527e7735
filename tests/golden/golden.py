#!/usr/bin/python3
"""Golden results: a biaslab output as a small text file, and the comparison.

  golden.py dump FILE.nc --name NAME --core CORE --command CMD > NAME.txt
  golden.py compare NAME.txt FILE.nc --core CORE

The text holds every variable of the file that carries results (per-task
trajectories, outcomes, spectra, densities, parameters; the coordinates
step, seed and the swept keys), each value as %.17g so it reads back to the
same double, except variables that are NaN throughout (not measured), the
statistics (recomputed from the trajectories and checked by
tests/check_output.py) and wall_seconds. Its header names the BLAS core
(OpenBLAS's kernels) that produced it.

compare: every variable of the golden file must be in FILE with the same
shape and values: bitwise when FILE was made on the same core; otherwise
within a relative 1e-9 of the value's own size or 1e-12 absolute (a
quantity that is zero but for rounding, such as the gradient's cosine with
theta on a scale-invariant model, has no size of its own); iteration counts
and residuals of iterative solvers, whose rounding is not smooth, are then
left out. A variable of FILE with a measured value that the golden file
lacks is also a difference: the golden file must be refreshed on purpose
(tests/golden/run.sh --refresh). Exits 0 when they agree, 1 otherwise.
"""
import argparse
import sys

import netCDF4
import numpy as np

SKIP = {"wall_seconds"}
# not smooth in the rounding: compared only on the same core
SAME_CORE_ONLY = {"sharpness_iters", "sharpness_residual", "hessian_trace_se"}
CROSS_CORE_RTOL = 1e-9
CROSS_CORE_ATOL = 1e-12


def result_variables(ds):
    """{name: float array} of the variables that carry results."""
    out = {}
    for name, var in ds.variables.items():
        if name in SKIP or name.endswith("_stats") or name == "stat":
            continue
        if not var.dimensions or "stat" in var.dimensions:
            continue
        if var.dtype == str or var.dtype.kind in "SUO":
            out[name] = np.array([str(v) for v in var[:].ravel()], dtype=object).reshape(var.shape)
            continue
        x = np.ma.filled(var[:], np.nan).astype(np.float64)
        if np.isnan(x).all():
            continue
        out[name] = x
    return out


def dump(args):
    ds = netCDF4.Dataset(args.file)
    ds.set_auto_mask(False)
    vs = result_variables(ds)
    ds.close()
    lines = [f"# biaslab golden result: {args.name}", f"# core {args.core}", f"# command {args.command}"]
    for name in sorted(vs):
        x = vs[name]
        lines.append(f"var {name} {','.join(str(d) for d in x.shape) or '-'}")
        flat = x.ravel()
        if flat.dtype == object:
            lines.extend(repr(v) for v in flat)
        else:
            lines.extend("%.17g" % v for v in flat)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def read_golden(path):
    core, vs, name, shape, values = None, {}, None, None, []

    def close():
        if name is not None:
            if values and isinstance(values[0], str):
                vs[name] = np.array(values, dtype=object).reshape(shape)
            else:
                vs[name] = np.array(values, dtype=np.float64).reshape(shape)

    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# core "):
                core = line[len("# core "):]
            elif line.startswith("#"):
                continue
            elif line.startswith("var "):
                close()
                _, name, dims = line.split(" ")
                shape = () if dims == "-" else tuple(int(d) for d in dims.split(","))
                values = []
            elif line.startswith("'") or line.startswith('"'):
                values.append(line[1:-1])
            else:
                values.append(float(line))
    close()
    return core, vs


def compare(args):
    golden_core, want = read_golden(args.golden)
    ds = netCDF4.Dataset(args.file)
    ds.set_auto_mask(False)
    got = result_variables(ds)
    ds.close()
    same_core = golden_core == args.core
    problems, compared = [], 0
    for name in sorted(set(want) | set(got)):
        if name not in got:
            problems.append(f"{name}: in the golden file, not in the output (or NaN throughout there)")
            continue
        if name not in want:
            problems.append(f"{name}: measured in the output, not in the golden file (refresh it on purpose)")
            continue
        a, b = want[name], got[name]
        if a.shape != b.shape:
            problems.append(f"{name}: shape {b.shape}, golden {a.shape}")
            continue
        compared += 1
        if a.dtype == object or b.dtype == object:
            if not np.array_equal(a.astype(str), b.astype(str)):
                problems.append(f"{name}: text values differ")
            continue
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            where = np.argwhere(np.isnan(a) != np.isnan(b))[0]
            problems.append(f"{name}: NaN in different places, first at {tuple(where)}: golden {a[tuple(where)]!r}, output {b[tuple(where)]!r}")
            continue
        m = ~np.isnan(a)
        if same_core:
            bad = a[m].view(np.int64) != b[m].view(np.int64)
            if bad.any():
                i = np.argwhere(m)[np.argmax(bad)]
                problems.append(f"{name}: {int(bad.sum())} value(s) not bitwise equal, first at {tuple(i)}: golden {a[tuple(i)]!r}, output {b[tuple(i)]!r}")
        elif name not in SAME_CORE_ONLY:
            with np.errstate(invalid="ignore"):
                diff = np.abs(a[m] - b[m])
                scale = np.maximum(np.abs(a[m]), np.abs(b[m]))
                bad = ~((diff <= CROSS_CORE_RTOL * scale + CROSS_CORE_ATOL) | (a[m] == b[m]))
            if bad.any():
                worst = np.max(np.where(scale > 0, diff / np.where(scale > 0, scale, 1), np.inf))
                problems.append(f"{name}: {int(bad.sum())} value(s) beyond relative {CROSS_CORE_RTOL:g} (worst {worst:.3g})")
    for p in problems:
        print(f"golden {args.golden}: {p}")
    mode = "bitwise (same core)" if same_core else f"to {CROSS_CORE_RTOL:g} (golden core {golden_core}, this one {args.core})"
    print(f"golden: {compared} variables compared {mode}, {len(problems)} differ")
    return 1 if problems or compared == 0 else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("file")
    d.add_argument("--name", required=True)
    d.add_argument("--core", required=True)
    d.add_argument("--command", required=True)
    c = sub.add_parser("compare")
    c.add_argument("golden")
    c.add_argument("file")
    c.add_argument("--core", required=True)
    args = ap.parse_args()
    return dump(args) if args.cmd == "dump" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
