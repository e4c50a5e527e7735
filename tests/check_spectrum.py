#!/usr/bin/python3
"""Full Hessian spectra against Lanczos sharpness.

  /usr/bin/python3 tests/check_spectrum.py A.nc [B.nc]

In A, the largest of hessian_eigenvalues (ScaLAPACK) at each spectrum's step
must equal the Lanczos sharpness recorded at that step to 1e-8 max(1, |lambda|)
(Lanczos stops on the residual tol max(1, |lambda|)), and
the eigenvalues must be ascending. With B (the same run on another group
size), the spectra must agree to 1e-9 relative.
"""
import sys

import netCDF4
import numpy as np

a = netCDF4.Dataset(sys.argv[1])
eig = np.ma.filled(a["hessian_eigenvalues"][:], np.nan)  # (point, seed, spectrum, eig)
steps = list(a["step"][:])
problems = []
for k, step in enumerate(a["spectrum_step"][:]):
    top = np.nanmax(eig[:, :, k, :], axis=-1)
    sharp = np.ma.filled(a["sharpness"][:, :, steps.index(step)], np.nan)
    rel = np.abs(top - sharp) / np.maximum(np.abs(sharp), 1.0)
    if not np.all(rel < 1e-8):
        problems.append(f"spectrum {k} (step {step}): top eigenvalue vs sharpness {rel.max():.3g}")
    d = np.diff(eig[:, :, k, :], axis=-1)
    if np.any(d[~np.isnan(d)] < 0):
        problems.append(f"spectrum {k}: eigenvalues not ascending")
# SLQ densities: weights sum to 1, and every node (a Ritz value) lies inside
# the spectrum's range at the same step
if "density_nodes" in a.variables:
    nodes = np.ma.filled(a["density_nodes"][:], np.nan)
    weights = np.ma.filled(a["density_weights"][:], np.nan)
    spec_steps = list(a["spectrum_step"][:])
    for k, step in enumerate(a["density_step"][:]):
        sums = np.nansum(weights[:, :, k, :], axis=-1)
        if not np.allclose(sums, 1, atol=1e-10):
            problems.append(f"density {k}: weights sum to {sums.min()} .. {sums.max()}")
        if step in spec_steps:
            e = eig[:, :, spec_steps.index(step), :]
            lo = np.nanmin(e, axis=-1)[..., None]
            hi = np.nanmax(e, axis=-1)[..., None]
            slack = 1e-8 * np.maximum(1, np.abs(hi))
            outside = (nodes[:, :, k, :] < lo - slack) | (nodes[:, :, k, :] > hi + slack)
            if np.any(outside):
                problems.append(f"density {k}: {outside.sum()} nodes outside the spectrum")
if len(sys.argv) > 2:
    other = np.ma.filled(netCDF4.Dataset(sys.argv[2])["hessian_eigenvalues"][:], np.nan)
    scale = np.nanmax(np.abs(eig))
    diff = np.nanmax(np.abs(eig - other)) / scale
    if not diff < 1e-9:
        problems.append(f"spectra differ between the files: {diff:.3g}")
for p in problems:
    print("check_spectrum:", p)
print(f"check_spectrum: {'OK' if not problems else 'FAILED'}")
sys.exit(1 if problems else 0)
