#!/usr/bin/python3
"""Check where a biaslab result came from, as the file records it.

  /usr/bin/python3 tests/check_provenance.py FILE.nc --resolved RESOLVED.ini
        [--layout "W1(12,6) ..."] [--command-contains TEXT]

- the `config` attribute equals RESOLVED.ini (`biaslab check CONFIG` without
  its '#' lines) character for character;
- `source` names the biaslab version and a git commit; `history` holds the
  command line (and TEXT, when given);
- with --layout, `params:layout` equals it, and the sizes it names add up to
  the `param` dimension.
Exits 0 when all hold, 1 otherwise (one line per failure).
"""
import argparse
import re
import sys

import netCDF4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--resolved", required=True)
    ap.add_argument("--layout")
    ap.add_argument("--command-contains")
    args = ap.parse_args()
    problems = []
    with open(args.resolved) as f:
        # check ends its INI with a blank line before the "# plan" comments
        resolved = "".join(line for line in f if not line.startswith("#")).rstrip("\n") + "\n"
    ds = netCDF4.Dataset(args.file)
    config = getattr(ds, "config", None)
    if config != resolved:
        a, b = (config or "").splitlines(), resolved.splitlines()
        diff = next((f"line {i + 1}: file {x!r}, check {y!r}" for i, (x, y) in enumerate(zip(a, b)) if x != y),
                    f"{len(a)} lines in the file, {len(b)} from check")
        problems.append(f"config attribute differs from the resolved config: {diff}")
    source = getattr(ds, "source", "")
    if not re.fullmatch(r"biaslab \d+\.\d+\.\d+ \(git [0-9a-f]{7,40}(-dirty)?\)", source):
        problems.append(f"source {source!r} does not name a version and a commit")
    history = getattr(ds, "history", "")
    if "biaslab run" not in history and "biaslab merge" not in history:
        problems.append(f"history {history!r} lacks the command line")
    if args.command_contains and args.command_contains not in history:
        problems.append(f"history {history!r} lacks {args.command_contains!r}")
    if args.layout is not None:
        if "params" not in ds.variables:
            problems.append("no params variable")
        else:
            layout = ds.variables["params"].getncattr("layout") if "layout" in ds.variables["params"].ncattrs() else None
            if layout != args.layout:
                problems.append(f"layout {layout!r}, expected {args.layout!r}")
            else:
                total = 0
                for block in re.findall(r"\(([\d,]+)\)", layout):
                    size = 1
                    for d in block.split(","):
                        size *= int(d)
                    total += size
                if total != len(ds.dimensions["param"]):
                    problems.append(f"layout names {total} parameters, the param dimension is {len(ds.dimensions['param'])}")
    ds.close()
    for p in problems:
        print("check_provenance:", p)
    print(f"check_provenance: {'FAILED' if problems else 'OK'} {args.file}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
