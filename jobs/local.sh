#!/usr/bin/env bash
# Runs an experiment on this machine: ocean-model and ml-server in one MPMD launch, or
# ocean-model alone where the config needs no server.
#
#   jobs/local.sh CONFIG [OCEAN_RANKS] [ML_RANKS] [--weights FILE] [--dry-run]
#
# OCEAN_RANKS CPU ranks run the ocean (it scales with cores: give it most of them);
# ML_RANKS ranks run the ML server (one per GPU is typical; 1 is plenty on a CPU). With
# [ml] placement = "embedded" the ocean ranks run the model themselves: no ml-server is
# launched (nor needed) and ML_RANKS is unused. A config without a [coupling] table runs
# the ocean alone. jobs/launch-mode.sh says which of the three a config asks for.
# The launch line is printed on stderr before it runs; --dry-run prints it on stdout and
# runs nothing. --weights is passed to ml-server (it replaces [ml.fullycnn] weights or
# [ml.torchscript] file). Binaries come from target/release (EDDYLINK_BIN_DIR to
# override); mpiexec from scripts/setup.sh's choice, EDDYLINK_MPIEXEC, or PATH, with the
# flags its MPI needs (EDDYLINK_MPIEXEC_FLAGS, else found by scripts/mpiexec-flags.sh).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { echo "usage: jobs/local.sh CONFIG [OCEAN_RANKS] [ML_RANKS] [--weights FILE] [--dry-run]" >&2; exit 2; }

dry_run=0
weights=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --weights) [ $# -ge 2 ] || { echo "jobs/local.sh: --weights needs a FILE" >&2; usage; }
      weights=$2; shift ;;
    --weights=*) weights=${1#--weights=} ;;
    -h|--help) usage ;;
    -*) echo "jobs/local.sh: unknown option $1" >&2; usage ;;
    *) args+=("$1") ;;
  esac
  shift
done
[ ${#args[@]} -ge 1 ] && [ ${#args[@]} -le 3 ] || usage
config=${args[0]}
ocean_ranks=${args[1]:-2}
ml_ranks=${args[2]:-1}
[ -r "$config" ] || { echo "jobs/local.sh: cannot read config file $config" >&2; exit 2; }
for n in "$ocean_ranks" "$ml_ranks"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "jobs/local.sh: rank counts must be positive integers, got '$n'" >&2; exit 2; }
done

if [ -f "$root/.venv/eddylink.env" ]; then
  # shellcheck source=/dev/null
  . "$root/.venv/eddylink.env"
fi
mpiexec=${EDDYLINK_MPIEXEC:-$(command -v mpiexec || true)}
[ -n "$mpiexec" ] || { echo "jobs/local.sh: no mpiexec: run 'make setup' or load your MPI module" >&2; exit 2; }
if [ -n "${EDDYLINK_MPIEXEC_FLAGS+set}" ]; then
  flags=$EDDYLINK_MPIEXEC_FLAGS
else
  flags=$("$root/scripts/mpiexec-flags.sh" "$mpiexec") || exit 2
fi
read -r -a flags <<< "$flags"
[ -z "$weights" ] || [ -r "$weights" ] || { echo "jobs/local.sh: cannot read --weights file $weights" >&2; exit 2; }
bin=${EDDYLINK_BIN_DIR:-$root/target/release}

# How the config runs (jobs/launch-mode.sh): ocean-model and ml-server side by side, or
# ocean-model alone, with the model inside every ocean rank or with none.
mode=$("$root/jobs/launch-mode.sh" "$config")
cmd=("$mpiexec" "${flags[@]}" -n "$ocean_ranks" "$bin/ocean-model" --config "$config")
programs=(ocean-model)
case "$mode" in
  embedded)
    [ -z "$weights" ] || { echo "jobs/local.sh: --weights goes to ml-server, but $config has [ml] placement = \"embedded\": set the weights in its [ml] table" >&2; exit 2; }
    echo "jobs/local.sh: [ml] placement = \"embedded\": $ocean_ranks ocean rank(s), each running the model; no ml-server" >&2 ;;
  server)
    cmd+=(: -n "$ml_ranks" "$bin/ml-server" --config "$config" ${weights:+--weights "$weights"})
    programs+=(ml-server) ;;
  standalone)
    [ -z "$weights" ] || { echo "jobs/local.sh: --weights given but $config has no [coupling] table: no ml-server runs" >&2; exit 2; } ;;
esac

if [ "$dry_run" = 1 ]; then
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi
for b in "${programs[@]}"; do
  [ -x "$bin/$b" ] || { echo "jobs/local.sh: $bin/$b is not built: run 'make build'" >&2; exit 2; }
done
echo "jobs/local.sh: launch: $(printf '%q ' "${cmd[@]}")" >&2
exec "${cmd[@]}"
