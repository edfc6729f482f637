#!/usr/bin/env bash
# Says how an experiment is launched, from its config: one word on stdout.
#
#   jobs/launch-mode.sh CONFIG
#
#   server      a [coupling] table and [ml] placement = "server" (the default): ocean-model
#               and ml-server in one MPMD launch
#   embedded    [ml] placement = "embedded": ocean-model alone, each rank running the model
#   standalone  no [coupling] table: ocean-model alone, no model
#
# Shared by jobs/local.sh, jobs/slurm/*.sbatch and jobs/pbs/coupled.pbs, so that they all
# choose the same launch for a config. It reads the TOML as those keys are written in
# configs/ (a `placement = …` line inside the `[ml]` table); ocean-model itself checks
# the rest of the file.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: jobs/launch-mode.sh CONFIG" >&2; exit 2; }
config=$1
[ -r "$config" ] || { echo "launch-mode.sh: cannot read config file $config" >&2; exit 2; }
awk '
  { line = $0; sub(/#.*/, "", line) }
  line ~ /^[[:space:]]*\[/ { table = line; gsub(/[[:space:]]/, "", table) }
  table ~ /^\[+coupling(\]|\.)/ { coupling = 1 }
  table == "[ml]" && line ~ /^[[:space:]]*placement[[:space:]]*=/ {
    value = line; sub(/^[^=]*=/, "", value); gsub(/["'"'"'[:space:]]/, "", value); placement = value
  }
  END {
    if (placement == "embedded") print "embedded"
    else if (coupling) print "server"
    else print "standalone"
  }' "$config"
