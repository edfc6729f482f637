#!/usr/bin/env bash
# The C/Fortran ABI against the Rust coupler (docs/benchmarks.md, "C ABI and Fortran
# module"): put→get one-way time of tests/capi/bench.f90 and of coupler-bench on the same
# fields, and the per-call cost of a put at 64² through the Rust API, the C ABI and the
# Fortran module, all in one run (the machine is shared: compare within a run).
#
#   jobs/bench-capi.sh [REPS] [CALLS]
#
# Needs `make capi` (target/capi), the release coupler-bench and call_cost
# (cargo build --release -p eddylink-tests --bin coupler-bench -p coupler-capi --example
# call_cost) and a Fortran compiler ($FC, default gfortran).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
reps=${1:-30}
calls=${2:-200000}
fc=${FC:-gfortran}
capi=${CAPI_DIR:-$root/target/capi}
release=${EDDYLINK_BIN_DIR:-$root/target/release}
if [ -f "$root/.venv/eddylink.env" ]; then
  # shellcheck source=/dev/null
  . "$root/.venv/eddylink.env"
fi
mpiexec=${EDDYLINK_MPIEXEC:-$(command -v mpiexec || true)}
[ -n "$mpiexec" ] || { echo "jobs/bench-capi.sh: no mpiexec: run 'make setup'" >&2; exit 2; }
if [ -n "${EDDYLINK_MPIEXEC_FLAGS+set}" ]; then
  flags=$EDDYLINK_MPIEXEC_FLAGS
else
  flags=$("$root/scripts/mpiexec-flags.sh" "$mpiexec") || exit 2
fi
read -r -a flags <<< "$flags"
[ -f "$capi/lib/libeddylink.so" ] || { echo "jobs/bench-capi.sh: $capi has no library: run 'make capi'" >&2; exit 2; }
command -v "$fc" >/dev/null || { echo "jobs/bench-capi.sh: no Fortran compiler '$fc' (set FC)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && "$fc" -O2 -c "$capi/fortran/eddylink.f90" &&
  "$fc" -O2 "$root/tests/capi/bench.f90" eddylink.o -L"$capi/lib" -leddylink -Wl,-rpath,"$capi/lib" -o bench_f)

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(basename "$mpiexec") ${flags[*]}"
echo "--- Rust coupler (coupler-bench --reps $reps)"
"$mpiexec" "${flags[@]}" -n 2 "$release/coupler-bench" --reps "$reps"
echo "--- Fortran module (tests/capi/bench.f90)"
for case in "1 64" "1 128" "1 256" "1 512" "1 1024" "1 2048" "36 256"; do
  read -r levels n <<< "$case"
  exp="$work/bench_${levels}_$n.toml"
  printf '[run]\nname = "bench"\nduration = "%ss"\n\n[coupling]\ntimeout = "120s"\n' $((reps + 3)) > "$exp"
  for ex in "a.x b.x" "b.y a.y"; do
    read -r from to <<< "$ex"
    printf '[[coupling.exchange]]\nfrom = "%s"\nto = "%s"\ngrid = "T"\nperiod = 1\nlevels = %s\n' "$from" "$to" "$levels" >> "$exp"
  done
  c=$calls
  [ "$n" = 64 ] || c=1000
  "$mpiexec" "${flags[@]}" -n 1 "$work/bench_f" "$exp" a "$n" "$levels" "$reps" "$c" \
    : -n 1 "$work/bench_f" "$exp" b "$n" "$levels" "$reps" "$c"
done
echo "--- per-call cost (examples/call_cost)"
"$mpiexec" "${flags[@]}" -n 2 "$release/examples/call_cost" "$calls"
