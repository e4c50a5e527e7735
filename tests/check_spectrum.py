#!/usr/bin/python3
"""Full Hessian spectra against Lanczos sharpness, and SLQ densities inside them.

  /usr/bin/python3 tests/check_spectrum.py A.nc [B.nc] [--no-density]

A must hold hessian_eigenvalues, spectrum_step and sharpness, and (unless
--no-density says the run took none) density_nodes, density_weights and
density_step; a missing one is a failure, never a skipped check.
For every spectrum k and every task that lived past spectrum_step(k) (ok,
or diverged later than that step):
  - its eigenvalues are a non-empty run of finite values, ascending, then
    only NaN (padding past a smaller model's end);
  - the largest equals the task's sharpness at that step (a finite value) to
    1e-8 max(1, |lambda|) (Lanczos stops on the residual tol max(1, |lambda|));
tasks that never got there (not_run) have only NaN. For every density k of
such a task: nodes and weights are finite where each other is, at least one
is, the weights are >= 0 and sum to 1 within 1e-10, and when density_step(k)
is a spectrum step every node lies in that spectrum's range (slack 1e-8
max(1, |lambda_max|)).
With B (the same run on another group size): the same spectrum steps and
shape, NaN in the same places, and the eigenvalues equal to 1e-9 relative
to the largest |eigenvalue|.
Exit 0 when all hold, 1 otherwise.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np

from checkers import common

OK, DIVERGED = 0, 1


def check_other_ends(c, a, k, step, r, lived, e, fin, n_fin):
    """The measurements beside sharpness against the same spectrum, where the
    file has them: sharpness_top = its k largest eigenvalues, hessian_min_eigenvalue
    = its smallest, both to 1e-6 max(1, |lambda|) (Lanczos converges on the
    residual, an eigenvalue's error is about its square over the gap); the
    Hutchinson trace within 6 of its standard errors (+ 1e-8 of the scale) of
    the eigenvalues' sum, its block traces summing to it."""
    V = a.variables
    scale = np.max(np.where(fin, np.abs(e), 0.0), axis=-1)
    desc = -np.sort(np.where(fin, -e, np.inf), axis=-1)  # descending, NaN places -inf
    if "sharpness_top" in V:
        top = common.values(a, "sharpness_top", ("point", "seed", "record", "top"))[:, :, r, :]
        kk = top.shape[-1]
        want = desc[..., :kk]
        with np.errstate(invalid="ignore"):
            close = np.abs(top - want) <= 1e-6 * np.maximum(1.0, scale)[..., None]
        bad = lived & ~np.all(close | (want == -np.inf) & np.isnan(top), axis=-1)
        c.check(not bad.any(), lambda: f"spectrum {k} (step {step}): sharpness_top is not the "
                f"{kk} largest eigenvalues: {common.where(bad, ('point', 'seed'))}")
        if lived.any():
            err = np.nanmax(np.where(np.isfinite(top) & np.isfinite(want), np.abs(top - want), np.nan)[lived])
            print(f"check_spectrum: spectrum {k}: top {kk} eigenvalues within {err:.3g}")
    if "hessian_min_eigenvalue" in V:
        lo = common.values(a, "hessian_min_eigenvalue", ("point", "seed", "record"))[:, :, r]
        want = np.min(np.where(fin, e, np.inf), axis=-1)
        with np.errstate(invalid="ignore"):
            bad = lived & ~(np.abs(lo - want) <= 1e-6 * np.maximum(1.0, scale))
        c.check(not bad.any(), lambda: f"spectrum {k} (step {step}): hessian_min_eigenvalue is not "
                f"the smallest eigenvalue: {common.where(bad, ('point', 'seed'))}")
        if lived.any():
            print(f"check_spectrum: spectrum {k}: smallest eigenvalue within "
                  f"{np.nanmax(np.abs(lo - want)[lived]):.3g} (values {np.nanmin(want[lived]):.4g} .. "
                  f"{np.nanmax(want[lived]):.4g})")
    if "hessian_trace" in V and "hessian_trace_se" in V:
        tr = common.values(a, "hessian_trace", ("point", "seed", "record"))[:, :, r]
        se = common.values(a, "hessian_trace_se", ("point", "seed", "record"))[:, :, r]
        exact = np.sum(np.where(fin, e, 0.0), axis=-1)
        with np.errstate(invalid="ignore"):
            z = np.abs(tr - exact) / (se + 1e-8 * np.maximum(1.0, scale))
            bad = lived & ~(z <= 6)
        c.check(not bad.any(), lambda: f"spectrum {k} (step {step}): hessian_trace more than 6 "
                f"standard errors from the eigenvalues' sum: {common.where(bad, ('point', 'seed'))}")
        if lived.any():
            print(f"check_spectrum: spectrum {k}: Hutchinson trace within {np.nanmax(z[lived]):.2f} "
                  f"standard errors of the eigenvalues' sum")


def check(c, a, path_b, want_density):
    eig = common.values(a, "hessian_eigenvalues", ("point", "seed", "spectrum", "eig"))
    spec_steps = common.values(a, "spectrum_step", ("spectrum",), np.int64)
    steps = common.values(a, "step", ("record",), np.int64).tolist()
    sharp = common.values(a, "sharpness", ("point", "seed", "record"))
    status = common.values(a, "status", ("point", "seed"), np.int64)
    done = common.values(a, "steps_done", ("point", "seed"), np.int64)
    c.check(len(spec_steps) > 0, "no spectrum in the file (dimension spectrum is empty)")
    P, S, K, E = eig.shape
    for k, step in enumerate(spec_steps.tolist()):
        if not c.check(step in steps, f"spectrum {k}: step {step} is not a record step"):
            continue
        r = steps.index(step)
        lived = (status == OK) | ((status == DIVERGED) & (done > step))
        c.check(lived.any(), f"spectrum {k} (step {step}): no task lived past it")
        e = eig[:, :, k, :]
        fin = np.isfinite(e)
        n_fin = fin.sum(axis=-1)
        prefix = fin == (np.arange(E)[None, None, :] < n_fin[..., None])  # finite run, then NaN
        shape_ok = prefix.all(axis=-1) & np.all(np.isnan(e) | fin, axis=-1)
        bad = lived & ~(shape_ok & (n_fin > 0))
        c.check(not bad.any(), lambda: f"spectrum {k} (step {step}): eigenvalues not a finite run then NaN: "
                f"{common.where(bad, ('point', 'seed'))}")
        never = (status != OK) & (status != DIVERGED)
        bad = never & (n_fin > 0)
        c.check(not bad.any(), lambda: f"spectrum {k}: a task that never ran has eigenvalues: "
                f"{common.where(bad, ('point', 'seed'))}")
        with np.errstate(invalid="ignore"):
            d = np.diff(e, axis=-1)
            bad = lived & np.any(np.isfinite(d) & (d < 0), axis=-1)
        c.check(not bad.any(), lambda: f"spectrum {k} (step {step}): eigenvalues not ascending: "
                f"{common.where(bad, ('point', 'seed'))}")
        top = np.where(n_fin > 0, np.take_along_axis(np.where(fin, e, -np.inf),
                                                     np.maximum(n_fin - 1, 0)[..., None], axis=-1)[..., 0], np.nan)
        s = sharp[:, :, r]
        with np.errstate(invalid="ignore"):
            close = np.abs(top - s) < 1e-8 * np.maximum(np.abs(s), 1.0)
        bad = lived & ~(np.isfinite(top) & np.isfinite(s) & close)
        if bad.any():
            p, q = np.argwhere(bad)[0]
            c.fail(f"spectrum {k} (step {step}): top eigenvalue vs sharpness: {common.where(bad, ('point', 'seed'))}: "
                   f"{top[p, q]!r} vs {s[p, q]!r}")
        else:
            c.check(True, "")
        if lived.any():
            rel = np.abs(top - s)[lived] / np.maximum(np.abs(s[lived]), 1.0)
            print(f"check_spectrum: spectrum {k} (step {step}): {int(lived.sum())} tasks, "
                  f"top eigenvalue vs sharpness within {np.max(rel):.3g}")
        check_other_ends(c, a, k, step, r, lived, e, fin, n_fin)

    if want_density:
        nodes = common.values(a, "density_nodes", ("point", "seed", "density", "node"))
        weights = common.values(a, "density_weights", ("point", "seed", "density", "node"))
        dens_steps = common.values(a, "density_step", ("density",), np.int64).tolist()
        c.check(len(dens_steps) > 0, "no density in the file (dimension density is empty)")
        spec_list = spec_steps.tolist()
        for k, step in enumerate(dens_steps):
            lived = (status == OK) | ((status == DIVERGED) & (done > step))
            n, w = nodes[:, :, k, :], weights[:, :, k, :]
            fn, fw = np.isfinite(n), np.isfinite(w)
            bad = lived & ~(np.all(fn == fw, axis=-1) & fn.any(axis=-1) & np.all(np.isnan(n) | fn, axis=-1))
            c.check(not bad.any(), lambda: f"density {k} (step {step}): nodes/weights not finite together "
                    f"(or none finite): {common.where(bad, ('point', 'seed'))}")
            with np.errstate(invalid="ignore"):
                bad = lived & np.any(fw & ~(w >= 0), axis=-1)
            c.check(not bad.any(), lambda: f"density {k}: negative weights: {common.where(bad, ('point', 'seed'))}")
            sums = np.where(fw, w, 0.0).sum(axis=-1)
            bad = lived & ~(np.abs(sums - 1) <= 1e-10)
            c.check(not bad.any(), lambda: f"density {k} (step {step}): weights sum to "
                    f"{sums[lived].min()!r} .. {sums[lived].max()!r}: {common.where(bad, ('point', 'seed'))}")
            if step in spec_list:
                e = eig[:, :, spec_list.index(step), :]
                with np.errstate(invalid="ignore"):
                    lo = np.min(np.where(np.isfinite(e), e, np.inf), axis=-1)[..., None]
                    hi = np.max(np.where(np.isfinite(e), e, -np.inf), axis=-1)[..., None]
                    slack = 1e-8 * np.maximum(1, np.abs(hi))
                    inside = (n >= lo - slack) & (n <= hi + slack)
                bad = lived & np.any(fn & ~inside, axis=-1)
                c.check(not bad.any(), lambda: f"density {k} (step {step}): nodes outside the spectrum: "
                        f"{common.where(bad, ('point', 'seed'))}")
            print(f"check_spectrum: density {k} (step {step}): {int(lived.sum())} tasks checked")

    if path_b:
        b = common.open_dataset(path_b, "check_spectrum")
        other = common.values(b, "hessian_eigenvalues", ("point", "seed", "spectrum", "eig"))
        c.check(np.array_equal(common.values(b, "spectrum_step", ("spectrum",), np.int64), spec_steps),
                "spectrum_step differs between the files")
        if c.check(other.shape == eig.shape, f"spectra shapes differ: {eig.shape} and {other.shape}"):
            c.check(np.array_equal(np.isnan(eig), np.isnan(other)), "spectra: NaN in different places")
            both = np.isfinite(eig) & np.isfinite(other)
            if c.check(both.any(), "spectra: no finite eigenvalue to compare"):
                scale = np.max(np.abs(eig[both]))
                diff = np.max(np.abs(eig[both] - other[both])) / scale if scale > 0 else 0.0
                c.check(diff < 1e-9, f"spectra differ between the files: {diff:.3g} relative")
                print(f"check_spectrum: spectra of the two files agree to {diff:.3g} relative")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b", nargs="?")
    ap.add_argument("--no-density", action="store_true", help="the run took no SLQ densities")
    args = ap.parse_args()
    c = common.Report("check_spectrum")
    a = common.open_dataset(args.a, "check_spectrum")
    try:
        check(c, a, args.b, not args.no_density)
    except common.CheckError as e:
        c.fail(str(e))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
