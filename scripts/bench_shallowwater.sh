#!/usr/bin/env bash
# Time the PyPI `shallowwater` package (its numba backend) on the double-gyre
# set-up of `ocean-model bench`, for the side-by-side table in docs/benchmarks.md.
# The package goes into a throwaway venv outside the project, never into .venv.
#
#   scripts/bench_shallowwater.sh [sizes] [steps]      e.g. 128,256,512,1024 20
#
# SW_VENV chooses the venv (default: $TMPDIR/eddylink-shallowwater-venv, made if absent).
set -euo pipefail
sizes=${1:-128,256,512,1024}
steps=${2:-20}
venv=${SW_VENV:-${TMPDIR:-/tmp}/eddylink-shallowwater-venv}
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$venv/bin/python" ]; then
    echo "bench_shallowwater: making the throwaway venv $venv" >&2
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q 'shallowwater==0.1.4' numba >&2
# One core, like `ocean-model bench` on one rank.
export OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# The numba backend only: the numpy one runs its Laplacians as Python loops (about 40x
# slower at 128-256, measured), which says nothing about a compiled model.
SHALLOWWATER_USE_NUMBA=1 "$venv/bin/python" "$here/bench_shallowwater.py" \
    --sizes "$sizes" --steps "$steps"
