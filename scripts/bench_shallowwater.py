"""ns per cell-step of the PyPI `shallowwater` package, for docs/benchmarks.md.

The package (Fabien Roquet's educational C-grid shallow-water model, SSP-RK3, numpy
operators with optional numba kernels) is timed on the same double-gyre set-up as
`ocean-model bench`: a 3840 km square basin, 500 m deep, beta plane, a sin(π y / L)
wind, nonlinear momentum, lateral viscosity and linear drag, from rest. Run it through
scripts/bench_shallowwater.sh, which installs the package into a throwaway venv (never
into the project's).

Output, one line per size and backend:
    shallowwater n=512 backend=numba steps=20 ns/cell-step=... ns/cell-stage=...
A step is the package's three-stage SSP-RK3 step; ns/cell-stage divides by 3 so that it
compares with eddylink's four-stage RK4 (ns/cell-step / 4).
"""

import argparse
import os
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="128,256,512,1024")
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()

    # The backend is chosen when the package is imported: SHALLOWWATER_USE_NUMBA
    # decides it, so each backend runs in its own interpreter (bench_shallowwater.sh).
    import numpy as np
    import shallowwater as sw
    from shallowwater.operators import USE_NUMBA

    backend = "numba" if USE_NUMBA else "numpy"
    L = 3.84e6
    for n in [int(s) for s in args.sizes.split(",")]:
        grid = sw.make_grid(n, n, L, L)
        params = sw.ModelParams(
            g=10.0, H=500.0, rho=1000.0, f0=7.29e-5, beta=1.98e-11, y0=L / 2,
            r=1e-7, linear=False, Ah=1e-3 * (L / n) ** 2 / 60.0,
        )
        dt = 0.5 * sw.compute_dt_cfl(grid, params)
        forcing = lambda t, g, p: sw.wind_gyre_forcing(t, g, p, tau0=0.12)
        ic = lambda g, p: sw.setup_initial_state(g, p, mode="rest")

        def run(steps: int) -> float:
            start = time.perf_counter()
            out = sw.run_model(steps * dt, dt, grid, params, forcing, ic, save_every=10**9)
            elapsed = time.perf_counter() - start
            if not np.all(np.isfinite(out["u"][-1])):
                sys.exit(f"shallowwater n={n}: the run went non-finite")
            return elapsed

        run(2)  # numba compiles on the first call (cache=True keeps it across runs)
        wall = run(args.steps)
        ns = wall * 1e9 / (args.steps * n * n)
        print(
            f"shallowwater n={n} backend={backend} steps={args.steps} "
            f"ns/cell-step={ns:.1f} ns/cell-stage={ns / 3:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
