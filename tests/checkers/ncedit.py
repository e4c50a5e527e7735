#!/usr/bin/python3
"""Copy a NetCDF file with small, named changes: how the self-test crafts bad
files for the checkers out of good ones.

  /usr/bin/python3 tests/checkers/ncedit.py IN.nc OUT.nc [EDIT]...

EDITs, applied in order:
  --drop VAR             leave VAR out
  --set VAR[INDEX]=X     set those values to X (a number, nan, inf, -inf)
  --ulp VAR[INDEX]       move those values one unit in the last place up
  --scale VAR=F          multiply all of VAR by F
  --attr NAME=TEXT       set the global text attribute NAME
  --config-set SEC.KEY=V change one key of the global config attribute (INI)
  --config-append TEXT   append TEXT (\\n for a newline) to the config attribute
INDEX is numpy-style, comma-separated: integers, ':' or 'a:b', e.g.
train_loss[0,:,-1]. Exit 2 on a bad edit.
"""
import argparse
import re
import sys

import netCDF4
import numpy as np


def parse_index(text):
    parts = []
    for p in text.split(","):
        p = p.strip()
        if ":" in p:
            a, _, b = p.partition(":")
            parts.append(slice(int(a) if a else None, int(b) if b else None))
        else:
            parts.append(int(p))
    return tuple(parts)


def target(spec):
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(.*)\])?", spec)
    if not m:
        sys.exit(f"ncedit: bad target {spec!r}: want VAR or VAR[INDEX]")
    return m.group(1), parse_index(m.group(2)) if m.group(2) else Ellipsis


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--ulp", action="append", default=[])
    ap.add_argument("--scale", action="append", default=[])
    ap.add_argument("--attr", action="append", default=[])
    ap.add_argument("--config-set", action="append", default=[])
    ap.add_argument("--config-append", action="append", default=[])
    args = ap.parse_args()

    src = netCDF4.Dataset(args.src)
    src.set_auto_mask(False)
    for v in args.drop:
        if v not in src.variables:
            sys.exit(f"ncedit: --drop {v}: no such variable")
    data = {}
    for name, v in src.variables.items():
        if name not in args.drop:
            data[name] = np.array(v[:]) if v.dtype != str else np.array(v[:], dtype=object)
    for item in args.sets:
        spec, _, value = item.rpartition("=")
        name, idx = target(spec)
        if name not in data:
            sys.exit(f"ncedit: --set {item}: no such variable")
        data[name][idx] = float(value) if data[name].dtype.kind == "f" else value
    for spec in args.ulp:
        name, idx = target(spec)
        if name not in data or data[name].dtype.kind != "f":
            sys.exit(f"ncedit: --ulp {spec}: no such floating-point variable")
        data[name][idx] = np.nextafter(data[name][idx], np.inf)
    for item in args.scale:
        name, _, f = item.partition("=")
        if name not in data:
            sys.exit(f"ncedit: --scale {item}: no such variable")
        data[name] = data[name] * float(f)

    dst = netCDF4.Dataset(args.dst, "w", format="NETCDF4")
    for name, d in src.dimensions.items():
        dst.createDimension(name, len(d))
    attrs = {a: src.getncattr(a) for a in src.ncattrs()}
    for item in args.attr:
        k, _, v = item.partition("=")
        attrs[k] = v
    for item in args.config_set:
        key, _, value = item.partition("=")
        section, _, k = key.partition(".")
        lines, cur, done = attrs.get("config", "").split("\n"), None, False
        for i, line in enumerate(lines):
            m = re.fullmatch(r"\[(.*)\]", line.strip())
            if m:
                cur = m.group(1)
            elif cur == section and line.split("=")[0].strip() == k:
                lines[i], done = f"{k} = {value}", True
        if not done:
            sys.exit(f"ncedit: --config-set {item}: no key {key} in the config")
        attrs["config"] = "\n".join(lines)
    for text in args.config_append:
        attrs["config"] = attrs.get("config", "") + text.replace("\\n", "\n") + "\n"
    for k, v in attrs.items():
        dst.setncattr(k, v)
    for name, v in src.variables.items():
        if name in args.drop:
            continue
        fill = v.getncattr("_FillValue") if "_FillValue" in v.ncattrs() else None
        out = dst.createVariable(name, v.dtype, v.dimensions, fill_value=fill)
        for a in v.ncattrs():
            if a != "_FillValue":
                out.setncattr(a, v.getncattr(a))
        if v.dtype == str:
            for i, s in np.ndenumerate(data[name]):
                out[i] = s
        else:
            out[:] = data[name]
    dst.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
