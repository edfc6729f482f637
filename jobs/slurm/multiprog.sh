#!/usr/bin/env bash
# Writes a Slurm --multi-prog plan for a coupled run: task ranges and the program each runs.
#
#   jobs/slurm/multiprog.sh [--restart CHECKPOINT] CONFIG OCEAN_RANKS ML_RANKS [BIN_DIR] > plan.conf
#   srun --ntasks=$((OCEAN_RANKS + ML_RANKS)) --multi-prog plan.conf
#
# Ocean tasks come first (0 … OCEAN_RANKS-1), then the ML server's; the two programs find
# each other by component name, so the order is a convention, not a requirement.
# --restart gives the ocean a checkpoint to continue from (ocean-model --restart). An
# experiment that runs ocean-model alone (jobs/launch-mode.sh: embedded, standalone) gets
# no ml-server line whatever ML_RANKS says.
set -euo pipefail
usage() { echo "usage: jobs/slurm/multiprog.sh [--restart CHECKPOINT] CONFIG OCEAN_RANKS ML_RANKS [BIN_DIR]" >&2; exit 2; }
restart=""
if [ "${1:-}" = "--restart" ]; then
  [ $# -ge 2 ] || usage
  restart=$2
  shift 2
  [ -r "$restart" ] || { echo "multiprog.sh: cannot read checkpoint $restart" >&2; exit 2; }
  restart=$(cd "$(dirname "$restart")" && pwd)/$(basename "$restart")
fi
[ $# -ge 3 ] && [ $# -le 4 ] || usage
config=$1 ocean=$2 ml=$3
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${4:-$root/target/release}
[ -r "$config" ] || { echo "multiprog.sh: cannot read config file $config" >&2; exit 2; }
for n in "$ocean" "$ml"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "multiprog.sh: rank counts must be integers, got '$n'" >&2; exit 2; }
done
[ "$ocean" -ge 1 ] || { echo "multiprog.sh: the ocean needs at least one rank" >&2; exit 2; }
if [ "$ml" -gt 0 ] && [ "$("$root/jobs/launch-mode.sh" "$config")" != server ]; then
  echo "multiprog.sh: note: $config runs ocean-model alone ([ml] placement = \"embedded\" or no [coupling] table): no ml-server line" >&2
  ml=0
fi
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")

range() { if [ "$1" -eq "$2" ]; then echo "$1"; else echo "$1-$2"; fi; }
echo "# eddylink coupled run: $config"
echo "$(range 0 $((ocean - 1)))  $bin/ocean-model --config $config${restart:+ --restart $restart}"
if [ "$ml" -gt 0 ]; then
  echo "$(range "$ocean" $((ocean + ml - 1)))  $bin/ml-server --config $config"
fi
