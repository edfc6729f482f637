#!/usr/bin/env bash
# The high-resolution truth of the learned closure, from nothing to coarse training data
# (`make truth`; about an hour and a half on 2 cores). Stages, each skipped when its output exists:
#   1. 60 km spin-up from rest, 10 years               out/closure/spinup_64/
#   2. its last state interpolated to 15 km            out/closure/truth_256_start.nc
#   3. 15 km adjustment, 150 days                      out/closure/truth_256_spinup/
#   4. 15 km sampled truth, daily snapshots, in two    out/closure/truth_256_a/ (days 150–263)
#      parts so that training can start early          out/closure/truth_256_b/ (days 263–330)
#   5. coarse-graining onto 60 km + subgrid forcing    out/closure/coarse_a.nc, coarse_b.nc
# Usage: scripts/closure_truth.sh [RANKS]   (ranks of the 15 km runs, default 2)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
ranks=${1:-2}
# shellcheck disable=SC1091
[ -f .venv/eddylink.env ] && . .venv/eddylink.env
mpiexec=${EDDYLINK_MPIEXEC:-mpiexec}
bin=target/release
out=out/closure
cfg=configs/closure
mkdir -p "$out"
say() { echo "closure_truth: $*"; }
last_checkpoint() { find "$1" -maxdepth 1 -name 'checkpoint_*.nc' | sort | tail -n 1; }

if [ ! -f "$out/spinup_64/summary.json" ]; then
  say "1/5 spin-up at 60 km (10 years)"
  "$bin/ocean-model" --config "$cfg/spinup_64.toml" --output-dir "$out/spinup_64"
fi
if [ ! -f "$out/truth_256_start.nc" ]; then
  say "2/5 interpolating to 15 km"
  "$bin/closure" regrid --checkpoint "$(last_checkpoint "$out/spinup_64")" \
    --from "$cfg/spinup_64.toml" --to "$cfg/truth_256_spinup.toml" --out "$out/truth_256_start.nc"
fi
if [ ! -f "$out/truth_256_spinup/summary.json" ]; then
  say "3/5 adjustment at 15 km (150 days)"
  "$mpiexec" -n "$ranks" "$bin/ocean-model" --config "$cfg/truth_256_spinup.toml" \
    --output-dir "$out/truth_256_spinup" --restart "$out/truth_256_start.nc"
fi
# dt = 72 s: 1200 steps a day; part a covers days 150–263.
if [ ! -f "$out/truth_256_a/summary.json" ]; then
  say "4/5 sampled truth, days 150–263"
  "$mpiexec" -n "$ranks" "$bin/ocean-model" --config "$cfg/truth_256.toml" --steps 135600 \
    --output-dir "$out/truth_256_a" --restart "$(last_checkpoint "$out/truth_256_spinup")"
fi
if [ ! -f "$out/truth_256_b/summary.json" ]; then
  say "4/5 sampled truth, days 263–330"
  "$mpiexec" -n "$ranks" "$bin/ocean-model" --config "$cfg/truth_256.toml" \
    --output-dir "$out/truth_256_b" --restart "$(last_checkpoint "$out/truth_256_a")"
fi
for part in a b; do
  if [ ! -f "$out/coarse_$part.nc" ]; then
    say "5/5 coarse-graining part $part"
    "$bin/closure" coarse-grain --fine "$cfg/truth_256.toml" --coarse "$cfg/spinup_64.toml" \
      --snapshots "$(find "$out/truth_256_$part" -maxdepth 1 -name 'snapshots*.nc' | sort | head -n 1)" \
      --out "$out/coarse_$part.nc"
  fi
done
say "done: $out/coarse_a.nc (train, validation) and $out/coarse_b.nc (test)"
