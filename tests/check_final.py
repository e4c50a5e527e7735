#!/usr/bin/python3
"""Check final values of a biaslab output file, point by point.

  /usr/bin/python3 tests/check_final.py FILE METRIC OP VALUE [--stat mean | --each-seed] [--point all|K[,K...]]
  /usr/bin/python3 tests/check_final.py FILE --status OUTCOME=N [--status ...] [--point all|K[,K...]]

The first form reads the statistic (default mean) of METRIC at the last
record, for every selected point (default all), and checks `value OP VALUE`;
with --each-seed it checks every seed's own value at the last record instead.
OP is one of > >= < <= == != (or gt ge lt le eq ne, which need no quoting).
The second form counts the tasks of each selected point by status (ok,
diverged, interrupted, not_run) and checks that OUTCOME has exactly N. Both
forms can be given at once.

Fails (exit 1, with a message) on a missing variable, a missing statistic, a
value that is NaN or not finite (e.g. "not measured" at the last record),
a point that does not exist, or any selected point (or seed) failing. Prints
one line per checked value. Exit 2 on bad usage.
"""
import argparse
import operator
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np

from checkers import common

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
       "==": operator.eq, "!=": operator.ne}
ALIASES = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!="}
OUTCOMES = ["ok", "diverged", "interrupted", "not_run"]


def points_of(spec, n_points):
    if spec == "all":
        return list(range(n_points))
    try:
        pts = [int(x) for x in spec.split(",")]
    except ValueError:
        raise common.CheckError(f"--point {spec!r}: expected all, K or K,L,...")
    for p in pts:
        if not 0 <= p < n_points:
            raise common.CheckError(f"--point {p}: the file has points 0..{n_points - 1}")
    return pts


def label(ds, p):
    parts = [f"{n}={v[p]}" for n, v in ds.variables.items() if tuple(v.dimensions) == ("point",)]
    return f"point {p}" + (f" ({', '.join(parts)})" if parts else "")


def check_metric(c, ds, metric, op, value, stat, each_seed, pts):
    steps = common.values(ds, "step", ("record",), np.int64)
    if not c.check(steps.size > 0, "the file has no records"):
        return
    last = int(steps[-1])
    f = OPS[op]
    if each_seed:
        x = common.values(ds, metric, ("point", "seed", "record"))[:, :, -1]
        for p in pts:
            for s, v in enumerate(x[p]):
                good = bool(np.isfinite(v)) and bool(f(v, value))
                what = "" if np.isfinite(v) else " (not finite: not measured, diverged or not run)"
                print(f"check_final: {metric} of seed {s} at step {last}, {label(ds, p)}: {v:.9g} {op} {value:g}: "
                      f"{'ok' if good else 'FAILS'}{what}")
                c.check(good, f"{metric} of seed {s} at step {last}, {label(ds, p)}: {v!r}{what}, wanted {op} {value!r}")
        return
    x = common.stat_values(ds, metric, stat)[:, -1]
    for p in pts:
        v = x[p]
        good = bool(np.isfinite(v)) and bool(f(v, value))
        what = "" if np.isfinite(v) else " (not finite: not measured at the last record)"
        print(f"check_final: {metric} {stat} at step {last}, {label(ds, p)}: {v:.9g} {op} {value:g}: "
              f"{'ok' if good else 'FAILS'}{what}")
        c.check(good, f"{metric} {stat} at step {last}, {label(ds, p)}: {v!r}{what}, wanted {op} {value!r}")


def check_status(c, ds, wants, pts):
    status = common.values(ds, "status", ("point", "seed"), np.int64)
    for p in pts:
        counts = {o: int(np.sum(status[p] == k)) for k, o in enumerate(OUTCOMES)}
        for outcome, n in wants:
            good = counts[outcome] == n
            print(f"check_final: status {label(ds, p)}: {outcome} {counts[outcome]} of {status.shape[1]} "
                  f"(wanted {n}): {'ok' if good else 'FAILS'}")
            c.check(good, f"status {label(ds, p)}: {outcome} {counts[outcome]}, wanted {n} "
                    f"({', '.join(f'{o} {k}' for o, k in counts.items())})")


def parse_status(text):
    outcome, eq, n = text.partition("=")
    if not eq or outcome not in OUTCOMES:
        raise argparse.ArgumentTypeError(f"{text!r}: expected OUTCOME=N with OUTCOME one of {', '.join(OUTCOMES)}")
    try:
        return outcome, int(n)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: N must be an integer")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("condition", nargs="*", metavar="METRIC OP VALUE")
    ap.add_argument("--stat", default="mean", help="statistic of the last record (default mean)")
    ap.add_argument("--each-seed", action="store_true", help="check every seed's value, not a statistic")
    ap.add_argument("--point", default="all", help="all (default), K, or K,L,...")
    ap.add_argument("--status", action="append", default=[], type=parse_status, metavar="OUTCOME=N")
    args = ap.parse_args()
    cond = None
    if args.condition:
        if len(args.condition) != 3:
            ap.error("the condition is METRIC OP VALUE (three words; quote > and <, or use gt, lt, ...)")
        metric, op, value = args.condition
        op = ALIASES.get(op, op)
        if op not in OPS:
            ap.error(f"OP {op!r}: expected one of {' '.join(OPS)} or {' '.join(ALIASES)}")
        try:
            value = float(value)
        except ValueError:
            ap.error(f"VALUE {value!r} is not a number")
        if not np.isfinite(value):
            ap.error(f"VALUE {value!r} is not finite")
        cond = (metric, op, value)
    if cond is None and not args.status:
        ap.error("nothing to check: give METRIC OP VALUE and/or --status OUTCOME=N")
    c = common.Report("check_final")
    ds = common.open_dataset(args.file, "check_final")
    try:
        pts = points_of(args.point, len(common.var(ds, "status", ("point", "seed"))))
        if cond:
            check_metric(c, ds, *cond, args.stat, args.each_seed, pts)
        if args.status:
            check_status(c, ds, args.status, pts)
    except common.CheckError as e:
        c.fail(str(e))
    return c.finish(f" {args.file}")


if __name__ == "__main__":
    sys.exit(main())
