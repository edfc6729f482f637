"""Checks an analysis.nc against numpy of the ocean's snapshots of the same times.

    check.py stats RUN_DIR DX DY RANK DURATION_S   streaming POD (rank RANK), mean and
                                                   variance vs numpy
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


# The fewest leading modes a truncated POD must hold to the tolerances (see held_modes).
MIN_HELD = 4
# A leading mode is held when its singular value is at least this many times the energy
# the truncation dropped (see held_modes).
GAP = 30.0


def held_modes(x, s, sb, measured):
    """How many leading singular values and modes a rank-k streaming POD that dropped
    energy (k < snapshots) must hold to 1e-5 relative and 1e-4 rad.

    Each truncated update drops the smallest singular value of its (k+1)-column update, so
    the result is the exact SVD of X - E, with delta = ||E||_F given by
    delta^2 = ||X||_F^2 - sum(s^2) (every update keeps the Frobenius norm of what it keeps).
    Mode i is held when sigma_i >= GAP * delta: the modes above a gap in the spectrum well
    clear of the dropped energy, whose errors are second order in delta / sigma_i. (The
    first-order bounds, Weyl's delta / sigma_i and Wedin's delta / (s_j - sigma_(j+1)),
    hold no mode of the ocean's slowly decaying spectrum; GAP = 30 was chosen with
    numpy's replay of the same update at k = 8, 12, 16, 20, where every mode it holds is
    at least 5x inside both tolerances.) A truncation done wrong loses energy it does not
    account for: delta grows and fewer than MIN_HELD modes are held, or the held ones
    miss the tolerances; either fails.
    """
    delta = float(np.sqrt(max((x**2).sum() - (s**2).sum(), 0.0)))
    measured["dropped_energy_rel"] = delta / float(sb[0])
    held = int(np.sum(sb[: len(s)] >= GAP * delta))
    if held < MIN_HELD:
        fail(
            f"the truncated POD holds only {held} modes at least {GAP} times the energy "
            f"it dropped ({delta:.3e} = {delta / sb[0]:.3e} of the first singular value; "
            f"spectrum {', '.join(f'{v:.3e}' for v in sb[: len(s) + 1])})",
            measured,
        )
    return held, held


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
    modes = a["modes"].values.reshape(len(s), -1).T
    if rank >= n:
        # Nothing dropped: exact to rounding.
        lead, k = min(16, len(s), rank), min(8, len(s), rank)
    else:
        lead, k = held_modes(x, s, sb, measured)
    rel = np.abs(s[:lead] - sb[:lead]) / sb[:lead]
    measured["singular_values_held"] = lead
    measured["singular_value_rel_max"] = float(rel.max())
    if rel.max() > 1e-5:
        fail(f"leading {lead} singular values: relative error {rel.max():.3e} > 1e-5", measured)
    cosines = np.linalg.svd(modes[:, :k].T @ ub[:, :k], compute_uv=False)
    angle = float(np.arccos(np.clip(cosines.min(), -1.0, 1.0)))
    measured["modes_held"] = k
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
