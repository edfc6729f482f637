"""Checks an analysis.nc against numpy of the ocean's snapshots of the same times.

    check.py stats RUN_DIR DX DY RANK DURATION_S   streaming POD, mean and variance vs numpy
    check.py same A.nc B.nc TOL                     every variable of A equals B's to TOL

The ML side receives u, v in float32: the snapshots (float64) are rounded to float32 first,
then the vorticity is formed in float64 at the cells' north-east corners with zeros beyond
the walls, as the server does from its halo. Prints one JSON line of measured errors and
exits 1 with the reason when a tolerance is missed.
"""

import json
import sys

import numpy as np
import xarray as xr


def fail(message, measured):
    print(json.dumps(measured))
    sys.exit(f"FAILED: {message}")


def stats(run_dir, dx, dy, rank, duration):
    snaps = xr.open_dataset(f"{run_dir}/snapshots.nc", decode_times=False)
    a = xr.open_dataset(f"{run_dir}/analysis.nc", decode_times=False)
    t = snaps["time"].values
    # Seconds of model time (the ocean writes CF time; the first record is t = 0).
    t = t - t[0]
    keep = t < duration - 1e-6
    u = snaps["u"].values[keep].astype(np.float32).astype(np.float64)
    v = snaps["v"].values[keep].astype(np.float32).astype(np.float64)
    n = u.shape[0]
    measured = {"samples": int(a["samples"].values), "snapshots": n}
    if int(a["samples"].values) != n:
        fail(f"{int(a['samples'].values)} samples, {n} snapshots", measured)
    for name, f in (("u", u), ("v", v)):
        for stat, ref in (("mean", f.mean(0)), ("variance", f.var(0))):
            got = a[f"{name}_{stat}"].values
            err = np.abs(got - ref).max() / np.abs(ref).max()
            measured[f"{name}_{stat}_rel"] = float(err)
            if err > 1e-6:
                fail(f"{name}_{stat}: relative error {err:.3e} > 1e-6", measured)
    up = np.concatenate([u, np.zeros_like(u[:, :1, :])], axis=1)
    vp = np.concatenate([v, np.zeros_like(v[:, :, :1])], axis=2)
    zeta = (vp[:, :, 1:] - vp[:, :, :-1]) / dx - (up[:, 1:, :] - up[:, :-1, :]) / dy
    x = zeta.reshape(n, -1).T
    ub, sb, _ = np.linalg.svd(x, full_matrices=False)
    s = a["singular_values"].values
    if np.any(np.diff(s) > 0):
        fail("singular_values are not largest first", measured)
    lead = min(16, len(s), rank)
    rel = np.abs(s[:lead] - sb[:lead]) / sb[:lead]
    measured["singular_value_rel_max"] = float(rel.max())
    if rel.max() > 1e-5:
        fail(f"leading singular values: relative error {rel.max():.3e} > 1e-5", measured)
    modes = a["modes"].values.reshape(len(s), -1).T
    k = min(8, lead)
    cosines = np.linalg.svd(modes[:, :k].T @ ub[:, :k], compute_uv=False)
    angle = float(np.arccos(np.clip(cosines.min(), -1.0, 1.0)))
    measured["largest_principal_angle"] = angle
    if angle > 1e-4:
        fail(f"principal angle of the leading {k} modes {angle:.3e} > 1e-4", measured)
    for var in ("ke_spectrum", "transfer_spectrum", "mke", "eke", "u_std"):
        if var not in a:
            fail(f"{var} missing from analysis.nc", measured)
    if a.attrs.get("Conventions") != "CF-1.8":
        fail("Conventions is not CF-1.8", measured)
    print(json.dumps(measured))


def same(path_a, path_b, tol):
    a, b = xr.open_dataset(path_a, decode_times=False), xr.open_dataset(path_b, decode_times=False)
    measured = {}
    if sorted(a.variables) != sorted(b.variables):
        fail(f"variables differ: {sorted(a.variables)} vs {sorted(b.variables)}", measured)
    for name in a.variables:
        x, y = a[name].values, b[name].values
        if name.startswith("modes"):
            # A mode's sign is arbitrary; compare |⟨a, b⟩| per mode.
            x2, y2 = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
            err = float(np.abs(1.0 - np.abs((x2 * y2).sum(1))).max())
        else:
            err = float(np.abs(x - y).max() / max(np.abs(x).max(), 1e-300))
        measured[name] = err
        if err > tol:
            fail(f"{name}: differs by {err:.3e} > {tol}", measured)
    print(json.dumps(measured))


if __name__ == "__main__":
    if sys.argv[1] == "stats":
        stats(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
    else:
        same(sys.argv[2], sys.argv[3], float(sys.argv[4]))
