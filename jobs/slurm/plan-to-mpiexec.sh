#!/usr/bin/env bash
# Runs a Slurm --multi-prog plan with mpiexec instead of srun: each "RANGE PROGRAM ARGS"
# line becomes "-n COUNT PROGRAM ARGS" of one MPMD launch. For testing a plan on a laptop.
# mpiexec and its flags are chosen as in jobs/local.sh.
#
#   jobs/slurm/plan-to-mpiexec.sh plan.conf [--dry-run]
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: jobs/slurm/plan-to-mpiexec.sh PLAN [--dry-run]" >&2; exit 2; }
plan=$1
dry=${2:-}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -f "$root/.venv/eddylink.env" ]; then
  # shellcheck source=/dev/null
  . "$root/.venv/eddylink.env"
fi
mpiexec=${EDDYLINK_MPIEXEC:-mpiexec}
if [ -n "${EDDYLINK_MPIEXEC_FLAGS+set}" ]; then
  flags=$EDDYLINK_MPIEXEC_FLAGS
else
  flags=$("$root/scripts/mpiexec-flags.sh" "$mpiexec") || exit 2
fi
read -r -a flags <<< "$flags"

cmd=("$mpiexec" "${flags[@]}")
n_fixed=${#cmd[@]}
next=0
while read -r ranks program rest; do
  case "$ranks" in ''|'#'*) continue ;; esac
  if [[ "$ranks" =~ ^([0-9]+)-([0-9]+)$ ]]; then
    first=${BASH_REMATCH[1]} last=${BASH_REMATCH[2]}
  elif [[ "$ranks" =~ ^[0-9]+$ ]]; then
    first=$ranks last=$ranks
  else
    echo "plan-to-mpiexec.sh: $plan: unsupported task range '$ranks' (use N or N-M)" >&2; exit 2
  fi
  [ "$first" -eq "$next" ] || { echo "plan-to-mpiexec.sh: $plan: tasks must be listed in order from 0; got $ranks after $((next - 1))" >&2; exit 2; }
  [ ${#cmd[@]} -eq "$n_fixed" ] || cmd+=(:)
  read -r -a words <<< "$rest"
  cmd+=(-n $((last - first + 1)) "$program" "${words[@]}")
  next=$((last + 1))
done < "$plan"
[ "$next" -gt 0 ] || { echo "plan-to-mpiexec.sh: $plan lists no task" >&2; exit 2; }
if [ "$dry" = "--dry-run" ]; then printf '%q ' "${cmd[@]}"; echo; exit 0; fi
exec "${cmd[@]}"
