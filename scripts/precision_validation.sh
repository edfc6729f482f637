#!/usr/bin/env bash
# Issue 15: f32 against f64 (docs/science.md, "Single precision"). Runs the 64² (2 years)
# and 256² (1 year) double gyres of configs/precision/ in both precisions into out/
# (a finished run is not redone), then compares their statistics.
#
#   scripts/precision_validation.sh        # from the repository root, after a release build
set -euo pipefail
bin=${OCEAN_MODEL:-target/release/ocean-model}
python=${PYTHON:-.venv/bin/python}
for n in 64 256; do
  for p in f64 f32; do
    if [ ! -f "out/precision_${n}_${p}/summary.json" ]; then
      nice -n 10 "$bin" --config "configs/precision/double_gyre_${n}_${p}.toml" &
    fi
  done
  wait
  "$python" scripts/precision_stats.py "out/precision_${n}_f64" "out/precision_${n}_f32"
done
