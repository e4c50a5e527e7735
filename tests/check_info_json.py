#!/usr/bin/python3
"""`biaslab info --json` against the file it describes, read with netCDF4.

  /usr/bin/python3 tests/check_info_json.py BIASLAB FILE.nc

Runs BIASLAB info --json FILE.nc, parses the output as JSON (strict: no NaN)
and checks, per point: the sweep values, the status counts, every metric of
the file (each <metric>_stats) at its last record with a known mean, the
mean and CI bitwise (%.17g round-trips), the flag counts of every flag
variable over (point, seed), and the mean/min/max and the bootstrap CI of the mean of the other per-task
numbers. Exits 0 or 1.
"""
import json
import math
import os
import subprocess
import sys

import netCDF4
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkers import contract  # noqa: E402  (the bootstrap, stated independently)

STATS = ["mean", "std", "min", "q25", "median", "q75", "max", "ci95_low", "ci95_high", "iqm"]


def strict_json(text):
    def bad_constant(name):
        raise ValueError(f"non-JSON constant {name}")
    return json.loads(text, parse_constant=bad_constant)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    exe, path = sys.argv[1:]
    out = subprocess.run([exe, "info", path, "--json"], capture_output=True, text=True)
    problems = []
    if out.returncode != 0:
        print(f"check_info_json: info --json exited {out.returncode}: {out.stderr.strip()}")
        return 1
    try:
        doc = strict_json(out.stdout)
    except ValueError as e:
        print(f"check_info_json: not JSON: {e}")
        return 1

    def expect(cond, msg):
        if not cond:
            problems.append(msg)

    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        V = ds.variables
        P, S, R = (len(ds.dimensions[d]) for d in ("point", "seed", "record"))
        expect((doc["points"], doc["seeds"], doc["records"]) == (P, S, R), "sizes differ")
        steps = np.asarray(V["step"][:])
        expect(doc["last_step"] == int(steps[-1]), "last_step differs")
        expect(len(doc["point"]) == P, "not one entry per point")
        sweep = [n for n, v in V.items() if v.dimensions == ("point",)]
        status = np.asarray(V["status"][:])
        metrics = [n[: -len("_stats")] for n in V if n.endswith("_stats") and n[: -len("_stats")] in V]
        per_task = [n for n, v in V.items() if v.dimensions == ("point", "seed")
                    and n not in ("status", "wall_seconds")]
        for p, entry in enumerate(doc["point"]):
            expect(entry["point"] == p, f"point {p}: index {entry['point']}")
            for n in sweep:
                want = V[n][p]
                got = entry["sweep"].get(n)
                expect(got == (want if isinstance(want, str) else float(want)),
                       f"point {p}: sweep {n} = {got!r}, file {want!r}")
            counts = [int(np.sum(status[p] == k)) for k in range(4)]
            got = [entry["status"][k] for k in ("ok", "diverged", "interrupted", "not_run")]
            expect(got == counts, f"point {p}: status {got}, file {counts}")
            expect(sorted(entry["metrics"]) == sorted(metrics),
                   f"point {p}: metrics {sorted(entry['metrics'])} != file {sorted(metrics)}")
            for m in metrics:
                st = np.asarray(V[m + "_stats"][p], dtype=np.float64)  # (stat, record)
                known = np.nonzero(~np.isnan(st[STATS.index("mean")]))[0]
                row = entry["metrics"].get(m)
                if known.size == 0:
                    expect(row is None, f"point {p}: {m} reported though never measured")
                    continue
                r = known[-1]
                if row is None:
                    problems.append(f"point {p}: {m} missing")
                    continue
                expect(row["step"] == int(steps[r]), f"point {p}: {m} step {row['step']}, file {steps[r]}")
                for k in ("mean", "ci95_low", "ci95_high"):
                    want = st[STATS.index(k), r]
                    have = row[k]
                    same = (have is None and not math.isfinite(want)) or (have is not None and have == want)
                    expect(same, f"point {p}: {m} {k} {have!r}, file {want!r}")
            ran = status[p] != 3
            for n in per_task:
                got = entry["outcomes"].get(n)
                x = np.asarray(V[n][p])
                if "flag_meanings" in V[n].ncattrs():
                    words = V[n].getncattr("flag_meanings").split()
                    want = {w: int(np.sum(ran & (x == k))) for k, w in enumerate(words)}
                    expect(got == want, f"point {p}: {n} {got}, file {want}")
                    continue
                if x.dtype != np.float64:
                    continue
                good = ran & np.isfinite(x)
                if got is None:
                    problems.append(f"point {p}: outcome {n} missing")
                    continue
                expect(got["tasks"] == int(good.sum()), f"point {p}: {n} tasks {got['tasks']}")
                if good.any():
                    for k, f in (("mean", np.mean), ("min", np.min), ("max", np.max)):
                        want = float(f(x[good]))
                        expect(got[k] is not None and abs(got[k] - want) <= 1e-12 * abs(want),
                               f"point {p}: {n} {k} {got[k]!r}, file {want!r}")
                    # the 95% CI of the mean: the same bootstrap as the metrics' (contract.py)
                    st = contract.stats_of_sorted(np.sort(x[good])[None, :])[0]
                    for k in ("ci95_low", "ci95_high"):
                        want = float(st[STATS.index(k)])
                        expect(got.get(k) is not None and abs(got[k] - want) <= 1e-12 * max(abs(want), 1e-300),
                               f"point {p}: {n} {k} {got.get(k)!r}, recomputed {want!r}")
    for msg in problems[:20]:
        print(f"check_info_json: FAIL: {msg}")
    if not problems:
        print(f"check_info_json: OK ({P} points, {len(metrics)} metrics, {len(per_task)} per-task variables)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
