#!/usr/bin/env bash
# Chooses the learned closure's forcing_factor (`make tune`; about 30 min on 2 cores) on the
# TRAINING period only: from the coarse-grained truth of day 150, the 60 km model runs one
# model year with no closure and with the shipped FullyCNN at each factor of FACTORS
# (default 0.6 0.8 1.0, all at once; session 5 ran 0.4–0.8 without the power cap). `closure score` scores days 150–250 against
# the truth (docs/science/factor_tuning.{json,md}); the rule, fixed before the test period is
# looked at: the best median score among the factors whose basin KE stays below twice the
# truth's largest KE of the training period over the whole year (no truth exists past day
# 263 to score against, but a closure that blows up does so there). Writes the choice and
# each run's largest KE to docs/science/factor_tuning_choice.md; the factor goes into
# configs/double_gyre_64_learned.toml by hand.
# Usage: scripts/closure_tune.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck disable=SC1091
[ -f .venv/eddylink.env ] && . .venv/eddylink.env
mpiexec=${EDDYLINK_MPIEXEC:-mpiexec}
python=${EDDYLINK_PYTHON:-python3}
bin=target/release
first=150 scored_end=250 end=515
out=out/closure/tune truth=out/closure/coarse_a.nc
coarse=configs/closure/spinup_64.toml
learned=configs/double_gyre_64_learned.toml
read -ra factors <<< "${FACTORS:-0.6 0.8 1.0}"
mkdir -p "$out" docs/science
say() { echo "closure_tune: $*"; }
[ -f "$truth" ] || { echo "closure_tune: $truth missing: run 'make truth' first" >&2; exit 2; }

# shellcheck source=scripts/closure_variant.sh
. "$root/scripts/closure_variant.sh"

"$bin/closure" init --data "$truth" --day "$first" --config "$coarse" --out "$out/start.nc"
common=("duration=\"${end}d\"" 'snapshot_interval="1d"' 'diagnostics_interval="1d"' 'checkpoint_interval="3650d"' 'progress_interval_s=600.0')
variant "$coarse" configs/closure/.tune_none.toml "${common[@]}"
rm -rf "$out/none"
"$bin/ocean-model" --config configs/closure/.tune_none.toml --output-dir "$out/none" --restart "$out/start.nc" > "$out/none.log" 2>&1
pids=()
scored=(--run "none=$out/none")
for f in "${factors[@]}"; do
  name=learned_f$f
  variant "$learned" "configs/.tune_$name.toml" "${common[@]}" "forcing_factor=$f"
  rm -rf "${out:?}/$name"
  "$mpiexec" -n 1 "$bin/ocean-model" --config "configs/.tune_$name.toml" --output-dir "$out/$name" --restart "$out/start.nc" \
    : -n 1 "$bin/ml-server" --config "configs/.tune_$name.toml" > "$out/$name.log" 2>&1 &
  pids+=($!)
  scored+=(--run "$name=$out/$name")
  say "started $name (days $first–$end)"
done
for p in "${pids[@]}"; do wait "$p" || say "a run ended with status $? (see $out/*.log)"; done
rm -f configs/closure/.tune_*.toml configs/.tune_*.toml
"$bin/closure" score --truth "$truth" --days "$first:$scored_end" --config "$coarse" \
  --out docs/science/factor_tuning.json "${scored[@]}"
"$python" - "$out" "$truth" docs/science/factor_tuning.json "${factors[@]}" > docs/science/factor_tuning_choice.md <<'PY'
import json, sys
import numpy as np, xarray as xr
out, truth, scores, factors = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
t = xr.open_dataset(truth, decode_times=False)
# basin KE of the coarse-grained truth, as the ocean's diagnostics define it (½ρ0 H |u|² dA)
rho0, depth, area = 1000.0, 500.0, (3.84e6 / 64) ** 2
ke_truth = 0.5 * rho0 * depth * area * ((t.u ** 2).sum(("y", "x_u")) + (t.v ** 2).sum(("y_v", "x")))
limit = 2 * float(ke_truth.max())
with open(scores) as f:
    table = json.load(f)
median = {r["run"]: r["median_score"] for r in table["runs"]}
print("| factor | median score, days 150–250 | largest basin KE over the year (10¹⁷ J) | bounded (< 2 × truth's largest, %.2f) |" % (limit / 1e17))
print("|---|---|---|---|")
best = None
for f in factors:
    name = f"learned_f{f}"
    d = xr.open_dataset(f"{out}/{name}/diagnostics.nc", decode_times=False)
    ke = d["kinetic_energy"].values
    days = d["time"].values[-1] / 86400.0
    bounded = bool(np.all(np.isfinite(ke))) and ke.max() < limit and days >= 514
    print(f"| {f} | {median[name]:.2f} | {ke.max() / 1e17:.2f} (to day {days:.0f}) | {'yes' if bounded else 'no'} |")
    if bounded and (best is None or median[name] > median[f"learned_f{best}"]):
        best = f
print()
print(f"chosen: forcing_factor = {best}" if best else "chosen: none of the factors is bounded")
PY
cat docs/science/factor_tuning_choice.md
