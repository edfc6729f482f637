#!/usr/bin/env bash
# CI step: the batch scripts of jobs/slurm under a real Slurm, as a user submits them.
#
#   .ci/slurm.sh          (as root with apt-get; after `make test`, which builds target/debug)
#
# Installs Debian's Slurm and MUNGE, starts a single-node controller and node daemon on the
# loopback address (own ports, config, state and logs under target/ci-slurm; a running
# munged is reused) and stops what it started when it ends. Then, with the binaries of
# `make test` (EDDYLINK_BIN_DIR, default target/debug) and no edit to the scripts:
#   coupled        sbatch coupled.sbatch (2 ocean + 1 ML task, 2 days) from another folder
#   singleton      the same with srun --mpi=none: the error must name the plugin to use
#   heterogeneous  sbatch heterogeneous.sbatch over two partitions (cpu, gpu) of the node
#   scancel        a long run cancelled mid-way: a checkpoint of the last completed step,
#                  every NetCDF file opens in xarray, and the restart from it (submitted
#                  with --restart) ends bit for bit where an uninterrupted run ends
#   time-limit     a run whose --time is shorter than its duration: the same checks
#   embedded       coupled.sbatch with [ml] placement = "embedded": ocean-model alone on
#                  its 2 tasks (the launch line printed), the run's summary says embedded
# (the embedded step runs before the stopped runs; EDDYLINK_CI_SLURM_SHORT=1 ends there)
# Where Slurm cannot be set up it says so and skips. Ends with "N passed, N failed, N skipped".
set -uo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$ci_root
work=$root/target/ci-slurm
summary() { ci_summary "Slurm step"; }

why=$(why_no_packages)
if [ -n "$why" ]; then
  skip slurm "$why"
  summary
  exit 0
fi
mkdir -p "$work"
ci_start "install Slurm and MUNGE"
if ! apt_install slurmctld slurmd slurm-client munge > "$work/apt.log" 2>&1; then
  fail slurm-install "apt-get install slurmctld slurmd slurm-client munge failed: $(tail -n 3 "$work/apt.log")"
  summary
  exit 1
fi
pass "slurm-install: slurmctld $(dpkg-query -W -f='${Version}' slurmctld)"

bin=${EDDYLINK_BIN_DIR:-$root/target/debug}
for b in ocean-model ml-server; do
  if [ ! -x "$bin/$b" ]; then
    fail slurm "$bin/$b is not built: run make test (or set EDDYLINK_BIN_DIR)"
    summary
    exit 1
  fi
done
export EDDYLINK_BIN_DIR=$bin

# --- a local Slurm ----------------------------------------------------------------------
ci_start "start slurmctld and two slurmd on 127.0.0.1"
etc=$work/etc state=$work/state log=$work/log
rm -rf "$etc" "$state" "$work/spool"
mkdir -p "$etc" "$state" "$work/spool" "$log"
host=$(hostname -s)
export SLURM_CONF=$etc/slurm.conf
# Job ids never repeat across runs (FirstJobId from the clock): MPICH names its shared
# memory after the PMI job name (Slurm's job and step ids), and a segment left behind by a
# killed job made a later job with the same id hang in MPI_Init.
# Two node daemons on this one machine: c1 (partition cpu) and g1 (partition gpu, with
# stand-in GPUs). A heterogeneous job needs them: the backfill scheduler, which alone
# starts heterogeneous jobs, plans whole nodes, so two components never share one node.
cat > "$SLURM_CONF" <<CONF
ClusterName=eddylink-ci
FirstJobId=$(( $(date +%s) % 60000000 + 1000 ))
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=6917
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd-%n.pid
SlurmdSpoolDir=$work/spool/%n
StateSaveLocation=$state
SlurmctldLogFile=$log/slurmctld.log
SlurmdLogFile=$log/slurmd-%n.log
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
DefMemPerCPU=100
KillWait=10
GresTypes=gpu
NodeName=c1 NodeHostname=$host NodeAddr=127.0.0.1 Port=6921 CPUs=4 Sockets=1 CoresPerSocket=4 ThreadsPerCore=1 RealMemory=4000 State=UNKNOWN
NodeName=g1 NodeHostname=$host NodeAddr=127.0.0.1 Port=6922 CPUs=12 Sockets=1 CoresPerSocket=12 ThreadsPerCore=1 RealMemory=4000 Gres=gpu:4 State=UNKNOWN
PartitionName=debug Nodes=c1,g1 Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
PartitionName=cpu Nodes=c1 MaxTime=INFINITE State=UP OverSubscribe=YES
PartitionName=gpu Nodes=g1 MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
# a stand-in GPU so that --gpus is accepted; nothing runs on it
for f in /dev/null /dev/zero /dev/full /dev/urandom; do echo "NodeName=g1 Name=gpu File=$f"; done > "$etc/gres.conf"

started_munge=0
stop_daemons() {
  local f
  # first the jobs this controller runs (all of them are this script's)
  if [ -f "$work/slurmctld.pid" ]; then
    scancel --full --quiet -u root 2>/dev/null
    for _ in $(seq 30); do
      [ -z "$(squeue -h 2>/dev/null)" ] && break
      sleep 1
    done
  fi
  for f in "$work/slurmd-c1.pid" "$work/slurmd-g1.pid" "$work/slurmctld.pid"; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
    rm -f "$f"
  done
  if [ "$started_munge" = 1 ] && [ -f /run/munge/munged.pid ]; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null
  fi
  sleep 1
}
trap stop_daemons EXIT
trap 'exit 143' TERM INT
if ! munge -n > /dev/null 2>&1; then
  mkdir -p /run/munge /var/lib/munge /var/log/munge /etc/munge
  [ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
  chmod 400 /etc/munge/munge.key
  su -s /bin/sh munge -c /usr/sbin/munged && started_munge=1
fi
if ! munge -n > /dev/null 2>&1; then
  fail slurm-start "munged does not answer (munge -n fails)"
  summary
  exit 1
fi
/usr/sbin/slurmctld -f "$SLURM_CONF" && /usr/sbin/slurmd -f "$SLURM_CONF" -N c1 \
  && /usr/sbin/slurmd -f "$SLURM_CONF" -N g1
for _ in $(seq 60); do
  [ "$(sinfo -h -o %T -p debug 2>/dev/null)" = idle ] && break
  sleep 1
done
if [ "$(sinfo -h -o %T -p debug 2>/dev/null)" != idle ]; then
  fail slurm-start "the node did not come up idle (sinfo: $(sinfo 2>&1 | tail -n 2); logs in $log)"
  summary
  exit 1
fi
pass "slurm-start: $(sinfo --version), $(sinfo -h -o '%P %N %T' | paste -sd, -)"

# The srun plugin: the scripts read it from .venv/eddylink.env (scripts/setup.sh). An older
# set-up did not write it: then it is exported here, from the same detection.
if ! grep -q EDDYLINK_SRUN_MPI "$root/.venv/eddylink.env" 2>/dev/null; then
  EDDYLINK_SRUN_MPI=$("$root/scripts/mpiexec-flags.sh" --srun-mpi "${EDDYLINK_MPIEXEC:-$root/.venv/bin/mpiexec}")
  export EDDYLINK_SRUN_MPI
  echo "note: .venv/eddylink.env predates EDDYLINK_SRUN_MPI (re-run make setup); exporting EDDYLINK_SRUN_MPI=$EDDYLINK_SRUN_MPI"
fi

# --- helpers ----------------------------------------------------------------------------
# experiment DIR DURATION: DIR/exp.toml, the default experiment with outputs in DIR/out and
# no periodic checkpoint (only a stopped run's and the final one)
experiment() {
  rm -rf "$1"
  mkdir -p "$1"
  sed -e "s/^duration = .*/duration = \"$2\"/" \
    -e "s/^checkpoint_interval = .*/checkpoint_interval = \"$2\"/" \
    "$root/configs/double_gyre_64.toml" > "$1/exp.toml"
}
# job_state ID: the state Slurm reports, empty once the job has left the queue
job_state() { squeue -h -j "$1" -o %T 2>/dev/null; }
# wait_gone ID SECONDS: waits until the job has ended; status 1 at the limit
wait_gone() {
  local t=0
  while [ -n "$(job_state "$1")" ]; do
    [ "$t" -lt "$2" ] || return 1
    sleep 1
    t=$((t + 1))
  done
}
# exit_code ID: "rc:signal" of an ended job, as Slurm kept it
exit_code() { scontrol show job "$1" 2>/dev/null | sed -n 's/.* ExitCode=\([^ ]*\).*/\1/p' | head -n 1; }
run_dir() { echo "$1/out/double_gyre_64"; }
# last_checkpoint DIR: the checkpoint with the highest step of a run
last_checkpoint() { find "$(run_dir "$1")" -name 'checkpoint_*.nc' 2>/dev/null | sort | tail -n 1; }
# submit DIR ARGS…: sbatch from DIR (not the repository), prints the job id
submit() {
  local dir=$1
  shift
  (cd "$dir" && sbatch --parsable "$@" "$root/jobs/slurm/coupled.sbatch" exp.toml 2 1 "${restart_args[@]}")
}
restart_args=()
# check_outputs NAME DIR: every NetCDF file of the run opens in xarray
check_outputs() {
  local out
  if ! out=$(opens_in_xarray "$(run_dir "$2")"/*.nc 2>&1); then
    fail "$1" "outputs do not open in xarray: $out"
    return 1
  fi
}

# --- coupled.sbatch, 2 days, submitted from another folder -----------------------------
ci_start "coupled.sbatch: 2 ocean + 1 ML task, 2 days"
dir=$work/coupled
experiment "$dir" 2d
id=$(submit "$dir" --ntasks=3 --gpus=1 --time=5)
if ! wait_gone "$id" 300; then
  scancel "$id"
  fail coupled "job $id still running after 300 s (log $dir/eddylink-$id.log)"
elif [ "$(exit_code "$id")" != 0:0 ]; then
  fail coupled "job $id ended with ExitCode=$(exit_code "$id"): $(tail -n 5 "$dir/eddylink-$id.log")"
elif ! grep -q '"steps"' "$(run_dir "$dir")/summary.json" 2>/dev/null; then
  fail coupled "no summary.json in $(run_dir "$dir")"
elif check_outputs coupled "$dir"; then
  pass "coupled: job $id, $(grep -m 1 -o 'srun --mpi=[^ ,]*' "$dir/eddylink-$id.log")"
fi

# --- the singleton mistake: srun without the MPI's plugin -------------------------------
ci_start "coupled.sbatch with EDDYLINK_SRUN_MPI=none: each task an MPI singleton"
dir=$work/singleton
experiment "$dir" 1d
want=${EDDYLINK_SRUN_MPI:-pmi2}
id=$(EDDYLINK_SRUN_MPI=none submit "$dir" --ntasks=3 --gpus=1 --time=5)
if ! wait_gone "$id" 120; then
  scancel "$id"
  fail singleton "job $id still running after 120 s: the singleton case hangs"
elif [ "$(exit_code "$id")" = 0:0 ]; then
  fail singleton "job $id succeeded with srun --mpi=none"
elif ! grep -q "srun --mpi=$want" "$dir/eddylink-$id.log"; then
  fail singleton "the error does not name srun --mpi=$want: $(grep -m 2 -i error "$dir/eddylink-$id.log")"
else
  pass "singleton: $(grep -m 1 -o 'This Slurm step has [^:]*' "$dir/eddylink-$id.log")"
fi

# --- heterogeneous.sbatch over two partitions -------------------------------------------
ci_start "heterogeneous.sbatch: ocean on partition cpu (2 tasks), ml-server on gpu (1 task)"
dir=$work/heterogeneous
experiment "$dir" 2d
id=$(cd "$dir" && sbatch --parsable --time=5 -p cpu -n 2 --cpus-per-task=1 \
  : -p gpu -n 1 --cpus-per-task=1 --gpus-per-task=1 "$root/jobs/slurm/heterogeneous.sbatch" exp.toml)
if [ -z "$id" ]; then
  fail heterogeneous "sbatch refused the heterogeneous job"
elif ! wait_gone "$id" 300; then
  scancel "$id"
  fail heterogeneous "job $id still running after 300 s"
elif [ "$(exit_code "$id")" != 0:0 ]; then
  fail heterogeneous "job $id ended with ExitCode=$(exit_code "$id"): $(tail -n 5 "$dir/eddylink-het-$id.log")"
elif ! grep -q '"steps"' "$(run_dir "$dir")/summary.json" 2>/dev/null; then
  fail heterogeneous "no summary.json in $(run_dir "$dir")"
elif check_outputs heterogeneous "$dir"; then
  pass "heterogeneous: job $id, $(grep -m 1 -o '[0-9?]* ocean ranks on group 0, [0-9?]* ml-server' "$dir/eddylink-het-$id.log")"
fi

# --- coupled.sbatch with an embedded experiment: ocean-model alone ---------------------
ci_start "coupled.sbatch, [ml] placement = \"embedded\": 2 ocean tasks, no ml-server, 2 days"
dir=$work/embedded
experiment "$dir" 2d
sed -i '0,/^\[ml\]/s//[ml]\nplacement = "embedded"/' "$dir/exp.toml"
id=$(cd "$dir" && sbatch --parsable --ntasks=2 --gpus=0 --time=5 "$root/jobs/slurm/coupled.sbatch" exp.toml)
log=$dir/eddylink-$id.log
if [ -z "$id" ]; then
  fail embedded "sbatch refused the embedded job"
elif ! wait_gone "$id" 300; then
  scancel "$id"
  fail embedded "job $id still running after 300 s (log $log)"
elif ! launch=$(grep -m 1 '^eddylink: launch: ' "$log"); then
  fail embedded "job $id printed no launch line: $(tail -n 5 "$log")"
elif [ "$(exit_code "$id")" != 0:0 ]; then
  fail embedded "job $id ended with ExitCode=$(exit_code "$id"): $(tail -n 5 "$log")"
elif [[ $launch != *"/ocean-model --config exp.toml"* || $launch == *ml-server* ]]; then
  fail embedded "the launch line is not ocean-model alone: $launch"
elif ! grep -q '"mode": "embedded"' "$(run_dir "$dir")/summary.json" 2>/dev/null; then
  fail embedded "no embedded summary.json in $(run_dir "$dir")"
elif check_outputs embedded "$dir"; then
  pass "embedded: job $id, ${launch#eddylink: launch: }"
fi

if [ -n "${EDDYLINK_CI_SLURM_SHORT:-}" ]; then
  skip stopped-runs "EDDYLINK_CI_SLURM_SHORT is set: the scancel and time-limit runs (several minutes) are left out"
  summary
  exit
fi

# --- stopped runs: scancel, and a time limit shorter than the run -----------------------
# One uninterrupted reference; two runs stopped by the scheduler, each restarted from its
# last checkpoint and compared with the reference's final checkpoint byte for byte.
# Their length: about two minutes alone at the speed the 2-day job measured (SYPD), so that
# the 1-minute limit cuts it whatever the machine; EDDYLINK_CI_LONG (days) overrides.
sypd=$(sed -n 's/.*"sypd": *\([0-9.]*\).*/\1/p' "$(run_dir "$work/coupled")/summary.json" 2>/dev/null)
days=${EDDYLINK_CI_LONG:-$(awk -v s="${sypd:-0}" 'BEGIN { d = int(120 * s * 365 / 86400); print (d < 30 ? 30 : (d > 3650 ? 3650 : d)) }')}
long=${days}d
ci_start "stopped runs ($long): the uninterrupted reference"
# started_running ID DIR: waits (120 s at most) until the job runs and wrote its first
# diagnostics record; the jobs are started one after another, each once the last runs
started_running() {
  for _ in $(seq 120); do
    [ "$(job_state "$1")" = RUNNING ] && [ -s "$(run_dir "$2")/diagnostics.nc" ] && return 0
    [ -n "$(job_state "$1")" ] || return 1
    sleep 1
  done
  return 1
}
reference=$work/reference cancelled=$work/scancel limited=$work/time-limit
experiment "$reference" "$long"
experiment "$cancelled" "$long"
experiment "$limited" "$long"
# One job at a time, so that each runs at the speed the length was chosen for.
ref_id=$(submit "$reference" --ntasks=3 --gpus=1 --time=15)
wait_gone "$ref_id" 900
limit_id=$(submit "$limited" --ntasks=3 --gpus=1 --time=1 --signal=TERM@10)
started_running "$limit_id" "$limited" || echo "note: the time-limited job $limit_id made no progress in 120 s"
wait_gone "$limit_id" 300
limit_rc=$(exit_code "$limit_id")
limit_run=$(scontrol show job "$limit_id" 2>/dev/null | sed -n 's/.* RunTime=\([^ ]*\).*/\1/p' | head -n 1)
cancel_id=$(submit "$cancelled" --ntasks=3 --gpus=1 --time=15)
if started_running "$cancel_id" "$cancelled"; then
  sleep 10
else
  echo "note: job $cancel_id made no progress in 120 s; cancelling it anyway"
fi
scancel "$cancel_id"
t0=$SECONDS
wait_gone "$cancel_id" 120
cancel_s=$((SECONDS - t0))
if ! wait_gone "$ref_id" 900 || [ "$(exit_code "$ref_id")" != 0:0 ]; then
  fail stopped-runs "the reference run (job $ref_id) did not end cleanly: ExitCode=$(exit_code "$ref_id") $(tail -n 3 "$reference/eddylink-$ref_id.log")"
  summary
  exit 1
fi
final=$(last_checkpoint "$reference")
pass "reference: job $ref_id, final $(basename "$final")"

# check_stopped NAME DIR JOB WHAT: the checks after a run the scheduler stopped
check_stopped() {
  local name=$1 dir=$2 job=$3 what=$4 ck out rid
  ck=$(last_checkpoint "$dir")
  if [ -z "$ck" ]; then
    fail "$name" "$what: no checkpoint written (log: $(tail -n 3 "$dir/eddylink-$job.log" | paste -sd'|' -))"
    return
  fi
  if [ "$(basename "$ck")" = "$(basename "$final")" ]; then
    fail "$name" "$what: the run was not stopped before its end ($(basename "$ck") is the final step)"
    return
  fi
  check_outputs "$name" "$dir" || return
  restart_args=(--restart "$ck")
  rid=$(submit "$dir" --ntasks=3 --gpus=1 --time=10)
  restart_args=()
  wait_gone "$rid" 600
  out=$(run_dir "$dir")/$(basename "$final")
  if [ "$(exit_code "$rid")" != 0:0 ]; then
    fail "$name" "$what: the restart from $(basename "$ck") (job $rid) failed: $(tail -n 3 "$dir/eddylink-$rid.log" | paste -sd'|' -)"
  elif ! cmp -s "$out" "$final"; then
    fail "$name" "$what: the restart from $(basename "$ck") does not end bit for bit where the uninterrupted run ends"
  elif check_outputs "$name" "$dir"; then
    pass "$name: $what; restart from $(basename "$ck") ends bit for bit"
  fi
}
ci_start "scancel of a running job"
check_stopped scancel "$cancelled" "$cancel_id" "job $cancel_id ended ${cancel_s} s after scancel (ExitCode=$(exit_code "$cancel_id"))"
ci_start "a time limit (1 min, SIGTERM 10 s before) shorter than the run"
check_stopped time-limit "$limited" "$limit_id" "job $limit_id ran $limit_run (ExitCode=$limit_rc)"

summary
