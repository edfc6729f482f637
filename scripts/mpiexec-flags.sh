#!/usr/bin/env bash
# What a launcher needs to know about an MPI, found from `mpiexec --version`, not assumed.
#
#   scripts/mpiexec-flags.sh [MPIEXEC]              flags for mpiexec (one line, maybe empty)
#   scripts/mpiexec-flags.sh --srun-mpi [MPIEXEC]   the srun --mpi plugin for that MPI
#   scripts/mpiexec-flags.sh --flavour [MPIEXEC]    openmpi, hydra or other
#
#   Open MPI       flags: --oversubscribe (more ranks than cores, as tests and small runs
#                  do), plus --allow-run-as-root when run as root (it refuses root otherwise);
#                  srun plugin: pmix
#   MPICH (Hydra)  flags: none; srun plugin: pmi2
#   anything else  (Intel MPI, Cray PALS, …) flags: none; srun plugin: none printed, so srun
#                  keeps the site's default (MpiDefault in slurm.conf)
# MPIEXEC defaults to the mpiexec on PATH. Exit status 2 when it cannot be run.
set -euo pipefail

mode=flags
case "${1:-}" in
  --srun-mpi) mode=srun; shift ;;
  --flavour) mode=flavour; shift ;;
esac
mpiexec=${1:-mpiexec}
version=$("$mpiexec" --version 2>&1) \
  || { echo "mpiexec-flags.sh: '$mpiexec --version' failed: $version" >&2; exit 2; }

case "$version" in
  *"Open MPI"* | *OpenRTE*) flavour=openmpi ;;
  *"Intel(R) MPI"*) flavour=other ;;
  *HYDRA*) flavour=hydra ;;
  *) flavour=other ;;
esac

if [ "$mode" = flavour ]; then
  echo "$flavour"
  exit 0
fi
if [ "$mode" = srun ]; then
  case "$flavour" in
    openmpi) echo pmix ;;
    hydra) echo pmi2 ;;
    *) echo ;;
  esac
  exit 0
fi
flags=()
if [ "$flavour" = openmpi ]; then
  flags+=(--oversubscribe)
  [ "$(id -u)" != 0 ] || flags+=(--allow-run-as-root)
fi
echo "${flags[*]}"
