"""Issue 15: the statistics of an f32 run against its f64 twin (docs/science.md).

    python scripts/precision_stats.py out/precision_64_f64 out/precision_64_f32 [--from-day D]

Prints, for both runs, over the days from D on (default: the second half): the mean
and standard deviation of the basin kinetic energy, the volume drift over the whole
run, the largest |mean η|, and the η standard-deviation maps compared (relative RMS
difference and pattern correlation).
"""

import argparse
import sys

import numpy as np
from scipy.io import netcdf_file


def read(run_dir):
    d = netcdf_file(f"{run_dir}/diagnostics.nc", mmap=False)
    s = netcdf_file(f"{run_dir}/snapshots.nc", mmap=False)
    return {
        "t_d": d.variables["time"].data / 86400.0,
        "ke": d.variables["kinetic_energy"].data.astype(float),
        "vol": d.variables["volume"].data.astype(float),
        "ts_d": s.variables["time"].data / 86400.0,
        "eta": s.variables["eta"].data.astype(float),
        "precision": s.precision.decode() if hasattr(s, "precision") else "f64",
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--from-day", type=float, default=None)
    args = ap.parse_args()
    runs = [read(args.a), read(args.b)]
    end = min(r["t_d"][-1] for r in runs)
    start = args.from_day if args.from_day is not None else end / 2
    stats = []
    for name, r in zip([args.a, args.b], runs):
        w = (r["t_d"] >= start) & (r["t_d"] <= end)
        ws = (r["ts_d"] >= start) & (r["ts_d"] <= end)
        eta = r["eta"][ws]
        mean_eta = r["eta"].mean(axis=(1, 2))
        st = {
            "ke_mean": r["ke"][w].mean(),
            "ke_std": r["ke"][w].std(),
            "vol_drift": np.abs(r["vol"] - r["vol"][0]).max() / r["vol"][0],
            "max_mean_eta": np.abs(mean_eta).max(),
            "eta_std": eta.std(axis=0),
        }
        stats.append(st)
        print(
            f"{name} ({r['precision']}): days {start:.0f}-{end:.0f}: KE mean {st['ke_mean']:.4e} J, "
            f"KE std {st['ke_std']:.4e} J; volume drift (whole run) {st['vol_drift']:.2e} "
            f"(relative); max |mean eta| {st['max_mean_eta']:.2e} m; eta std max "
            f"{st['eta_std'].max():.4f} m"
        )
    a, b = stats
    rel = lambda x, y: abs(y - x) / abs(x)
    ma, mb = a["eta_std"].ravel(), b["eta_std"].ravel()
    rms = np.sqrt(np.mean((mb - ma) ** 2)) / np.sqrt(np.mean(ma**2))
    corr = np.corrcoef(ma, mb)[0, 1]
    print(
        f"b vs a: KE mean {100 * rel(a['ke_mean'], b['ke_mean']):.1f} %, KE std "
        f"{100 * rel(a['ke_std'], b['ke_std']):.1f} %, eta std map: relative RMS difference "
        f"{100 * rms:.1f} %, pattern correlation {corr:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
