#!/usr/bin/env bash
# CI step: eddylink with the system's Open MPI, as a cluster user builds it.
#
#   .ci/openmpi.sh        (as root with apt-get; after `make test`, which fills .venv)
#
# Installs Debian's Open MPI (libopenmpi-dev openmpi-bin), copies the working tree to
# target/ci-openmpi/src and there runs `MPICC=/usr/bin/mpicc make setup` (no other
# variable; libtorch is the one `make test` installed, to skip a second 4.5 GB download),
# builds the two binaries into target/ci-openmpi/target, then under Open MPI's mpiexec:
# a short coupled MPMD job (jobs/local.sh), then each reliability scenario of
# docs/reliability.md's Open MPI column by its test: ML panic, kill -9 and silent ML rank
# (faults.rs), SIGTERM, Ctrl-C and SIGUSR1 (signals.rs), every launch mistake (launch.rs). Where Open MPI
# cannot be installed it says so and skips. Ends with "N passed, N failed, N skipped".
set -uo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$ci_root
work=$root/target/ci-openmpi
src=$work/src
mkdir -p "$work"

why=$(why_no_packages)
if [ -n "$why" ]; then
  skip openmpi "$why"
  ci_summary "Open MPI step"
  exit 0
fi

ci_start "install Open MPI"
if ! apt_install libopenmpi-dev openmpi-bin > "$work/apt.log" 2>&1; then
  fail openmpi-install "apt-get install libopenmpi-dev openmpi-bin failed: $(tail -n 3 "$work/apt.log")"
  ci_summary "Open MPI step"
  exit 1
fi
version=$(/usr/bin/mpiexec --version 2>&1 | head -n 1)
pass "openmpi-install: $version"

# A copy of the tree (tracked and new files), keeping its .venv and the target folder.
ci_start "set-up with MPICC=/usr/bin/mpicc"
mkdir -p "$src"
find "$src" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf {} +
(cd "$root" && git ls-files -z --cached --others --exclude-standard) \
  | (cd "$root" && tar --null -T - -cf - 2>/dev/null) | tar -C "$src" -xf -
torch=""
for d in "$root"/.venv/lib/python3*/site-packages/torch; do [ -d "$d/lib" ] && torch=$d; done
# Nothing from the caller's MPI set-up may leak in: the copy's set-up chooses alone.
unset EDDYLINK_MPIEXEC EDDYLINK_MPIEXEC_FLAGS EDDYLINK_MPI_LIBDIRS EDDYLINK_PYTHON \
  EDDYLINK_SRUN_MPI BINDGEN_EXTRA_CLANG_ARGS LIBCLANG_PATH CARGO_TARGET_DIR
export CARGO_TARGET_DIR=$work/target
if ! (cd "$src" && MPICC=/usr/bin/mpicc LIBTORCH=${torch:-} make setup) > "$work/setup.log" 2>&1; then
  fail openmpi-setup "MPICC=/usr/bin/mpicc make setup failed (log $work/setup.log): $(tail -n 3 "$work/setup.log")"
  ci_summary "Open MPI step"
  exit 1
fi
grep -E 'setup: (MPI|mpiexec|bindgen) ' "$work/setup.log"
pass openmpi-setup

ci_start "build ocean-model and ml-server against Open MPI"
if ! (cd "$src" && cargo build -p ocean-model -p ml-server --bins) > "$work/build.log" 2>&1; then
  fail openmpi-build "cargo build failed (log $work/build.log): $(grep -m 3 -E 'error|panicked' "$work/build.log")"
  ci_summary "Open MPI step"
  exit 1
fi
bin=$CARGO_TARGET_DIR/debug
# Open MPI's library is libmpi.so.40 (MPICH's is libmpi.so.12). ldd's output is
# kept first: `ldd | grep -q` under pipefail fails whenever grep quits on the
# match before ldd has written its last line (SIGPIPE, exit 141).
linked=$(ldd "$bin/ocean-model")
if ! grep -q 'libmpi\.so\.40' <<< "$linked"; then
  fail openmpi-build "$bin/ocean-model does not link Open MPI's libmpi: $(grep mpi <<< "$linked")"
  ci_summary "Open MPI step"
  exit 1
fi
pass "openmpi-build: $(grep -o -m 1 'libmpi\.so[^ ]* => [^ ]*' <<< "$linked")"

ci_start "a 2-day coupled run under Open MPI's mpiexec (jobs/local.sh, 2 ocean + 1 ML rank)"
run=$work/run
rm -rf "$run"
mkdir -p "$run"
sed -e 's/^duration = .*/duration = "2d"/' "$src/configs/double_gyre_64.toml" > "$run/exp.toml"
line=$(cd "$run" && EDDYLINK_BIN_DIR=$bin "$src/jobs/local.sh" exp.toml 2 1 --dry-run)
echo "$line"
if ! [[ "$line" == /usr/bin/mpiexec\ --oversubscribe* ]]; then
  fail openmpi-coupled "jobs/local.sh --dry-run does not launch Open MPI's mpiexec with its flags: $line"
elif ! (cd "$run" && EDDYLINK_BIN_DIR=$bin run_limited 300 "$run/job.log" "$src/jobs/local.sh" exp.toml 2 1); then
  fail openmpi-coupled "the coupled run failed (log $run/job.log): $(tail -n 5 "$run/job.log")"
elif ! out=$(opens_in_xarray "$run"/out/double_gyre_64/*.nc); then
  fail openmpi-coupled "outputs do not open in xarray: $out"
elif ! grep -q '"steps"' "$run/out/double_gyre_64/summary.json"; then
  fail openmpi-coupled "no summary.json with steps in $run/out/double_gyre_64"
else
  pass "openmpi-coupled: $(grep -o '"sypd": *[0-9.]*' "$run/out/double_gyre_64/summary.json"), $out"
fi

# Each scenario of docs/reliability.md's Open MPI column, by the test that proves it under
# Hydra: the same assertions (reason on every rank, exit status, checkpoints, bit-for-bit
# restarts), now with Open MPI's mpiexec and libmpi.
scenarios=(
  "faults an_ml_panic_stops_the_ocean_at_once_which_saves_its_last_step_and_restarts_bit_for_bit"
  "faults a_killed_ml_rank_ends_the_job_at_once_and_the_last_periodic_checkpoint_restarts_bit_for_bit"
  "faults a_silent_ml_server_is_named_at_the_timeout_and_the_ocean_saves_its_last_step"
  "signals sigterm_to_mpiexec_checkpoints_a_coupling_time_and_the_restart_continues_the_run"
  "signals ctrl_c_on_a_coupled_run_checkpoints_and_stops_every_program"
  "signals sigusr1_to_every_rank_of_a_standalone_run_checkpoints_and_the_restart_continues"
  "launch"
)
ci_start "reliability scenarios under Open MPI (tests/tests/{faults,signals,launch}.rs)"
if ! (cd "$src" && cargo build --workspace --bins && cargo test -p eddylink-tests --no-run) > "$work/tests-build.log" 2>&1; then
  fail openmpi-scenarios "building the tests failed (log $work/tests-build.log): $(grep -m 3 -E 'error' "$work/tests-build.log")"
else
  for spec in "${scenarios[@]}"; do
    # "FILE NAME" runs one test, "FILE" all of that file's
    file=${spec%% *}; name=${spec#"$file"}; name=${name# }
    log=$work/scenario-$file${name:+-$name}.log
    if (cd "$src" && timeout --kill-after=10 600 cargo test -p eddylink-tests --test "$file" -- ${name:+--exact "$name"}) > "$log" 2>&1; then
      pass "openmpi $file::${name:-*} ($(grep -E '^test result' "$log" | tail -n 1 | cut -d';' -f1))"
    else
      fail "openmpi $file::$name" "(log $log) $(grep -E '^test |panicked|test result' "$log" | tail -n 6)"
    fi
  done
fi

ci_summary "Open MPI step"
