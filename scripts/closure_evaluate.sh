#!/usr/bin/env bash
# Online evaluation of the closures against the 15 km truth (`make evaluate`; minutes once
# `make truth` and `make train` are done). From the coarse-grained truth of the first test
# day, the 60 km model runs to the end of the test period
#   none                 no closure (standalone)
#   learned              the shipped FullyCNN (configs/double_gyre_64_learned.toml) as shipped,
#                        with its tuned forcing_factor and power cap (max_net_power), mean
#   learned_raw          the same with forcing_factor = 1 (the network's output as trained)
#   learned_stochastic   the shipped one, stochastic (μ + ε/p, seeded), forcing check "clip"
#   uncapped             session 5's closure: forcing_factor 0.6 and no power cap (a cap of
#                        1e30 m² s⁻³, never reached)
#   backscatter          the analytic backscatter (configs/double_gyre_64.toml)
#   gz21                 GZ21's published weights, when ../shared/gz21 is there
# and `closure score` scores each against the truth (docs/science/online_scores.{json,md});
# `closure figures` draws docs/images/closure_*.png.
# The shipped forcing_factor is chosen on the training period by scripts/closure_tune.sh.
# Usage: scripts/closure_evaluate.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck disable=SC1091
[ -f .venv/eddylink.env ] && . .venv/eddylink.env
mpiexec=${EDDYLINK_MPIEXEC:-mpiexec}
bin=target/release
first=266 end=330 out=out/closure/eval truth=out/closure/coarse_b.nc
coarse=configs/closure/spinup_64.toml
gz21=${EDDYLINK_GZ21_DIR:-$root/../shared/gz21}/trained_model.pth
mkdir -p "$out" docs/science docs/images
say() { echo "closure_evaluate: $*"; }
[ -f "$truth" ] || { echo "closure_evaluate: $truth missing: run 'make truth' first" >&2; exit 2; }

# shellcheck source=scripts/closure_variant.sh
. "$root/scripts/closure_variant.sh"

"$bin/closure" init --data "$truth" --day "$first" --config "$coarse" --out "$out/start.nc"
common=("duration=\"${end}d\"" 'snapshot_interval="1d"' 'diagnostics_interval="1d"' 'checkpoint_interval="3650d"' 'progress_interval_s=600.0')
# Relative paths in a config are taken from its folder: the variants sit beside their base.
variant "$coarse" configs/closure/.eval_none.toml "${common[@]}"
learned=configs/double_gyre_64_learned.toml
variant "$learned" configs/.eval_learned.toml "${common[@]}"
variant "$learned" configs/.eval_learned_raw.toml "${common[@]}" 'forcing_factor=1.0'
# The stochastic samples exceed max_abs at the western wall at once: "abort" would end the run.
variant "$learned" configs/.eval_learned_stochastic.toml "${common[@]}" 'output="stochastic"' 'check="clip"'
variant "$learned" configs/.eval_uncapped.toml "${common[@]}" 'max_net_power=1e30' 'forcing_factor=0.6'
variant configs/double_gyre_64.toml configs/.eval_backscatter.toml "${common[@]}"
runs=(none=configs/closure/.eval_none.toml learned=configs/.eval_learned.toml
      learned_raw=configs/.eval_learned_raw.toml learned_stochastic=configs/.eval_learned_stochastic.toml
      uncapped=configs/.eval_uncapped.toml
      backscatter=configs/.eval_backscatter.toml)
if [ -f "$gz21" ]; then
  variant "$learned" configs/.eval_gz21.toml "${common[@]}" \
    "weights=\"$gz21\"" 'input_scale=10.0' 'output_scale=1e-7' 'forcing_factor=1.0' 'max_net_power=1e30'
  runs+=(gz21=configs/.eval_gz21.toml)
else
  say "no GZ21 weights at $gz21: the gz21 run is skipped"
fi
scored=()
for spec in "${runs[@]}"; do
  name=${spec%%=*}; cfg=${spec#*=}
  dir=$out/$name
  rm -rf "$dir"
  say "running $name ($cfg) from day $first to day $end"
  start=$(date +%s)
  if [ "$name" = none ]; then
    "$bin/ocean-model" --config "$cfg" --output-dir "$dir" --restart "$out/start.nc" > "$out/$name.log" 2>&1
  else
    "$mpiexec" -n 1 "$bin/ocean-model" --config "$cfg" --output-dir "$dir" --restart "$out/start.nc" \
      : -n 1 "$bin/ml-server" --config "$cfg" > "$out/$name.log" 2>&1 || { say "$name failed: see $out/$name.log"; tail -5 "$out/$name.log"; }
  fi
  say "$name took $(( $(date +%s) - start )) s"
  [ -d "$dir" ] && scored+=(--run "$name=$dir")
done
rm -f configs/closure/.eval_*.toml configs/.eval_*.toml
"$bin/closure" score --truth "$truth" --days "$first:$end" --config "$coarse" \
  --out docs/science/online_scores.json "${scored[@]}"
"$bin/closure" figures --truth "$truth" --days "$first:$end" --config "$coarse" \
  --out docs/images --r2 weights/double_gyre_64_fullycnn.r2.nc "${scored[@]}"
