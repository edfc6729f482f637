#!/usr/bin/env bash
# Long online runs of the shipped learned closure at 60 km (`make stability`; about 2 h per
# run on a free core, CPU inference every 2 model hours): YEARS model years (default 10) in
# mean and in stochastic mode, and without closure, with daily diagnostics, from
#   START=spinup  the 60 km model's own equilibrium (the end of the 10-year spin-up of
#                 `make truth`, day 3650), where a user's long run of the default would be
#   START=truth   the coarse-grained 15 km truth of the first test day (266), three times as
#                 energetic
# A run that blows up ends at the forcing check (max_abs) or the ocean's stability check.
# Writes docs/science/stability_START.md (annual-mean basin KE of each run beside the
# no-closure run's) and docs/images/closure_stability_START_ke.png (`ocean-model plot`).
# SUMMARY_ONLY=1 only writes the table and figure from the runs already in out/ (e.g. runs
# stopped before their end: the table says how far each got).
# A variant of the shipped closure: SET='key=value ...' replaces those lines of the learned
# config (e.g. SET='max_net_power=0.0 forcing_factor=1.0'), TAG names it (out dir,
# table and figure get the suffix _TAG), RUNS picks runs among "none mean stochastic".
# Usage: [START=spinup|truth] [SET=... TAG=...] [RUNS=...] [SUMMARY_ONLY=1]
#        scripts/closure_stability.sh [YEARS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
years=${1:-10}
start_from=${START:-spinup}
# shellcheck disable=SC1091
[ -f .venv/eddylink.env ] && . .venv/eddylink.env
mpiexec=${EDDYLINK_MPIEXEC:-mpiexec}
python=${EDDYLINK_PYTHON:-python3}
bin=target/release
out=out/closure/stability
truth=out/closure/coarse_b.nc
coarse=configs/closure/spinup_64.toml
learned=configs/double_gyre_64_learned.toml
tag=${TAG:+_$TAG}
read -r -a set_lines <<< "${SET:-}"
read -r -a runs <<< "${RUNS:-none mean stochastic}"
out=$out/$start_from$tag
mkdir -p "$out" docs/science docs/images
case "$start_from" in
  truth)
    [ -f "$truth" ] || { echo "closure_stability: $truth missing: run 'make truth' first" >&2; exit 2; }
    first=266
    "$bin/closure" init --data "$truth" --day "$first" --config "$coarse" --out "$out/start.nc" ;;
  spinup)
    spun=$(find out/closure/spinup_64 -maxdepth 1 -name 'checkpoint_*.nc' 2>/dev/null | sort | tail -n 1)
    [ -n "$spun" ] || { echo "closure_stability: no checkpoint in out/closure/spinup_64: run 'make truth' first" >&2; exit 2; }
    first=3650
    cp "$spun" "$out/start.nc" ;;
  *) echo "closure_stability: START must be spinup or truth, not '$start_from'" >&2; exit 2 ;;
esac
end=$(( first + 365 * years ))
say() { echo "closure_stability: $*"; }

# shellcheck source=scripts/closure_variant.sh
. "$root/scripts/closure_variant.sh"

if [ "${SUMMARY_ONLY:-0}" = 1 ]; then
  status=()
  for _ in "${runs[@]}"; do status+=(-); done
else
  common=("duration=\"${end}d\"" 'snapshot_interval="365d"' 'diagnostics_interval="1d"' 'checkpoint_interval="365d"' 'progress_interval_s=600.0')
  variant "$coarse" "configs/closure/.stab_${start_from}${tag}_none.toml" "${common[@]}"
  variant "$learned" "configs/.stab_${start_from}${tag}_mean.toml" "${common[@]}" "${set_lines[@]}"
  variant "$learned" "configs/.stab_${start_from}${tag}_stochastic.toml" "${common[@]}" "${set_lines[@]}" 'output="stochastic"' 'check="clip"'
  pids=()
  for name in "${runs[@]}"; do
    dir=$out/$name
    rm -rf "$dir"
    if [ "$name" = none ]; then
      "$bin/ocean-model" --config "configs/closure/.stab_${start_from}${tag}_none.toml" --output-dir "$dir" --restart "$out/start.nc" > "$out/$name.log" 2>&1 &
    else
      "$mpiexec" -n 1 "$bin/ocean-model" --config "configs/.stab_${start_from}${tag}_$name.toml" --output-dir "$dir" --restart "$out/start.nc" \
        : -n 1 "$bin/ml-server" --config "configs/.stab_${start_from}${tag}_$name.toml" > "$out/$name.log" 2>&1 &
    fi
    pids+=($!)
    say "started $name: days $first–$end, log $out/$name.log"
  done
  status=()
  for p in "${pids[@]}"; do
    if wait "$p"; then status+=(0); else status+=($?); fi
  done
  rm -f "configs/closure/.stab_${start_from}${tag}_"*.toml "configs/.stab_${start_from}${tag}_"*.toml
  say "exit status ${runs[*]}: ${status[*]}"
fi
if [ -d "$out/mean" ]; then
  "$bin/ocean-model" plot "$out/mean" --out "$out/mean/plots" > /dev/null
  cp "$out/mean/plots/kinetic_energy.png" "docs/images/closure_stability_${start_from}${tag}_ke.png" 2>/dev/null || true
fi
"$python" - "$out" "$first" "${SET:-shipped}" "${runs[*]}" "${status[@]}" > "docs/science/stability_${start_from}${tag}.md" <<'PY'
import sys, xarray as xr, numpy as np
out, first, variant, names, codes = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(), sys.argv[5:]
rows = {}
for name in names:
    d = xr.open_dataset(f"{out}/{name}/diagnostics.nc", decode_times=False)
    ke = d["kinetic_energy"].values / 1e17
    days = d["time"].values / 86400.0
    rows[name] = (days, ke)
n = max(int((r[0][-1] - first) // 365) for r in rows.values())
print("| run | exit | " + " | ".join(f"year {y + 1}" for y in range(n)) + " | max |")
print("|---|---|" + "---|" * (n + 1))
for (name, (days, ke)), code in zip(rows.items(), codes):
    years = [ke[(days >= first + 365 * y) & (days < first + 365 * (y + 1))] for y in range(n)]
    cells = [f"{np.mean(y):.2f}" if len(y) else "—" for y in years]
    print(f"| {name} | {code} | " + " | ".join(cells) + f" | {np.max(ke):.2f} |")
print()
print(f"Annual-mean basin kinetic energy, 10¹⁷ J (`scripts/closure_stability.sh`; learned closure: {variant}).")
PY
cat "docs/science/stability_${start_from}${tag}.md"
