#!/usr/bin/env bash
# Runs PROGRAM with one GPU of its node visible, chosen by the rank within its component:
# the k-th ML rank on a node sees GPU k (mod the node's GPU count) as cuda:0. For MPMD
# launchers that give every rank all GPUs (PBS/PALS, Hydra, Open MPI); under Slurm,
# --gpus-per-task=1 does the same.
#
#   mpiexec -n 28 ocean-model … : -n 4 jobs/gpu-per-rank.sh ml-server --config X
#
# EDDYLINK_RANK_OFFSET   world ranks before this component (the ocean's count; default 0)
# EDDYLINK_RANKS_PER_NODE  this component's ranks per node (its --ppn; default: all on one)
# EDDYLINK_GPUS_PER_NODE GPUs per node (default: nvidia-smi -L's count, else 1)
# The world rank is read from PALS_RANKID, PMI_RANK, OMPI_COMM_WORLD_RANK, PMIX_RANK or
# SLURM_PROCID. An existing CUDA_VISIBLE_DEVICES list is narrowed, not replaced.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: jobs/gpu-per-rank.sh PROGRAM [ARGS…]" >&2; exit 2; }

rank=""
for v in PALS_RANKID PMI_RANK OMPI_COMM_WORLD_RANK PMIX_RANK SLURM_PROCID; do
  if [ -n "${!v:-}" ]; then rank=${!v}; break; fi
done
[ -n "$rank" ] || { echo "gpu-per-rank.sh: no MPI rank variable (PALS_RANKID, PMI_RANK, …): run it under mpiexec" >&2; exit 2; }
offset=${EDDYLINK_RANK_OFFSET:-0}
[ "$rank" -ge "$offset" ] || { echo "gpu-per-rank.sh: world rank $rank is below EDDYLINK_RANK_OFFSET=$offset" >&2; exit 2; }
in_component=$((rank - offset))
if [ -n "${EDDYLINK_RANKS_PER_NODE:-}" ]; then
  in_component=$((in_component % EDDYLINK_RANKS_PER_NODE))
fi
gpus=${EDDYLINK_GPUS_PER_NODE:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)}
[ "${gpus:-0}" -ge 1 ] || gpus=1
index=$((in_component % gpus))
if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
  IFS=, read -r -a visible <<< "$CUDA_VISIBLE_DEVICES"
  export CUDA_VISIBLE_DEVICES=${visible[index % ${#visible[@]}]}
else
  export CUDA_VISIBLE_DEVICES=$index
fi
exec "$@"
