#!/usr/bin/env bash
# The coupler's put→get bandwidth and latency against raw MPI between two ranks
# (tests/src/bin/coupler-bench; the figures of docs/benchmarks.md).
#
#   jobs/bench-coupler.sh [--reps N] [--max-n N] [--dry-run]
#
# Arguments other than --dry-run go to coupler-bench. The binary comes from target/release
# (EDDYLINK_BIN_DIR to override; `make bench-coupler` builds it first); mpiexec and its
# flags are chosen as in jobs/local.sh.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dry_run=0
args=()
for a in "$@"; do
  case "$a" in
    --dry-run) dry_run=1 ;;
    -h|--help) echo "usage: jobs/bench-coupler.sh [--reps N] [--max-n N] [--dry-run]" >&2; exit 2 ;;
    *) args+=("$a") ;;
  esac
done
if [ -f "$root/.venv/eddylink.env" ]; then
  # shellcheck source=/dev/null
  . "$root/.venv/eddylink.env"
fi
mpiexec=${EDDYLINK_MPIEXEC:-$(command -v mpiexec || true)}
[ -n "$mpiexec" ] || { echo "jobs/bench-coupler.sh: no mpiexec: run 'make setup' or load your MPI module" >&2; exit 2; }
if [ -n "${EDDYLINK_MPIEXEC_FLAGS+set}" ]; then
  flags=$EDDYLINK_MPIEXEC_FLAGS
else
  flags=$("$root/scripts/mpiexec-flags.sh" "$mpiexec") || exit 2
fi
read -r -a flags <<< "$flags"
bench=${EDDYLINK_BIN_DIR:-$root/target/release}/coupler-bench
cmd=("$mpiexec" "${flags[@]}" -n 2 "$bench" "${args[@]}")
if [ "$dry_run" = 1 ]; then
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi
[ -x "$bench" ] || { echo "jobs/bench-coupler.sh: $bench is not built: run 'make bench-coupler' (or cargo build --release -p eddylink-tests --bin coupler-bench)" >&2; exit 2; }
echo "coupler-bench on $(nproc) cores, $(basename "$mpiexec") ${flags[*]}:"
exec "${cmd[@]}"
