#!/usr/bin/env bash
# The GPU checks of eddylink in one command, for a GPU machine without Rust, MPI or network
# but with a python3 holding torch 2.11 (the libtorch the binaries were linked against).
# Build the bundle first, on the build machine:
#
#   scripts/gpu_bundle.sh                  # fills .carry/gpu
#   scripts/gpu_verify.sh                  # on the GPU machine, from the repository root
#
# It runs, each step reported and none stopping the others:
#   1. the GPU as torch sees it;
#   2. ml-server check on the GZ21 experiment (device = auto must pick the GPU);
#   3. the ml-server test programs (GPU against CPU in fp32/TF32/bf16, GZ21 against
#      PyTorch, engine, stochastic mode): they skip with a message where no GPU is usable;
#   4. ml-server bench on CPU and GPU with the pinned-memory reference, and the same
#      inference done the Eophis way from Python (ml-server/bench/eophis_bench.py);
#   5. a coupled GZ21 run, 4 ocean ranks and 1 ml-server rank on the GPU;
#   6. the coupling-overhead benchmark (2 ocean ranks + 1 ML rank, a core each), with the
#      embedded column (the zero model in each ocean rank, on the GPU);
#   7. the shipped FullyCNN, 20 days, in ml-server on the GPU and embedded (2 ocean ranks
#      sharing the GPU), then the in-situ analysis embedded on the GPU.
# The log goes to stdout and to $OUT (or /tmp/eddylink-gpu)/gpu_verify.log; the exit status
# is 1 if any step failed. EDDYLINK_VERIFY_STEPS="2 6" runs only the steps named.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
bundle=${EDDYLINK_BUNDLE:-.carry/gpu}
out=${OUT:-/tmp/eddylink-gpu}
py=${PYTHON:-python3}
mkdir -p "$out"
exec > >(tee "$out/gpu_verify.log") 2>&1

failed=()
# EDDYLINK_VERIFY_STEPS="2 6" runs only those steps.
steps=" ${EDDYLINK_VERIFY_STEPS:-1 2 3 4 5 6 7} "
want() { [[ $steps == *" $1 "* ]]; }
step() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }
check() {
    "$@"
    local rc=$?
    [ $rc -eq 0 ] || { echo "FAILED (exit $rc): $*"; failed+=("$*"); }
}

[ -x "$bundle/bin/ml-server" ] || { echo "no $bundle/bin/ml-server: run scripts/gpu_bundle.sh" >&2; exit 2; }

# MPI from the carried wheel, libtorch from python's torch.
mpi=/tmp/eddylink-mpich
if [ ! -x "$mpi/bin/mpiexec" ]; then
    "$py" -m pip install -q --ignore-installed --no-index --no-deps --no-compile \
        --prefix "$mpi" "$bundle"/wheels/mpich-*.whl || exit 2
fi
torch_lib=$("$py" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') || exit 2
export LD_LIBRARY_PATH=$mpi/lib:$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export EDDYLINK_PYTHON=$py EDDYLINK_MPIEXEC=$mpi/bin/mpiexec EDDYLINK_BIN_DIR=$bundle/bin
weights=$PWD/$bundle/gz21/trained_model.pth
# The GZ21 steps name the weights; the analytic runs of step 6 must not get them.
[ -f "$weights" ] && export EDDYLINK_GZ21_DIR=$PWD/$bundle/gz21
gz21=(env "EDDYLINK_ML_WEIGHTS=$weights")
bin=$bundle/bin

if want 1; then
    step "1. the GPU"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true
    check "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
          torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
    nproc
fi

if want 2; then
    step "2. ml-server check (GZ21, device = auto)"
    check "${gz21[@]}" "$bin/ml-server" check --config configs/double_gyre_gz21.toml
fi

if want 3; then
    step "3. ml-server test programs"
    for t in gpu gz21_parity engine stochastic; do
        [ -x "$bundle/tests/$t" ] && check "$bundle/tests/$t" --test-threads=1 --nocapture
    done
fi

if want 4; then
    step "4. ml-server bench (CPU and GPU), then PyTorch from Python the Eophis way"
    check "${gz21[@]}" "$bin/ml-server" bench --config ml-server/examples/gz21_offline.toml --repeats 4
    devices=cpu
    "$py" -c "import sys, torch; sys.exit(not torch.cuda.is_available())" && devices="cuda cpu"
    for device in $devices; do
        check "$py" ml-server/bench/eophis_bench.py "$weights" --repeats 4 --device "$device"
    done
fi

if want 5; then
    step "5. coupled GZ21 run: 4 ocean ranks + 1 ml-server rank, 30 days"
    run=/tmp/eddylink-gpu-run
    rm -rf "$run" && mkdir -p "$run"
    sed -e 's|^duration = .*|duration = "30d"|' -e "s|^output_dir = .*|output_dir = \"$run\"|" \
        configs/double_gyre_gz21.toml >"$run/gz21.toml"
    check "${gz21[@]}" timeout 300 "$mpi/bin/mpiexec" -n 4 "$bin/ocean-model" --config "$run/gz21.toml" \
        : -n 1 "$bin/ml-server" --config "$run/gz21.toml"
    for f in summary.json ml.log coupler_timing_ml.json; do
        find "$run" -name "$f" -exec cp {} "$out/coupled_$f" \;
    done
    grep -i -m3 "cuda\|gpu\|device" "$out/coupled_ml.log" 2>/dev/null
fi

if want 6; then
    step "6. coupling overhead, 128², every step, zero model: 2 ocean + 1 ML rank, then lagged"
    check "$py" scripts/bench_coupling.py overhead --days 10 --repeats 3
    check "$py" scripts/bench_coupling.py overhead --days 10 --repeats 3 --lag
fi

if want 7; then
    step "7. the shipped FullyCNN on the GPU: server (2 + 1 ranks) against embedded (2 ranks)"
    run=/tmp/eddylink-gpu-embedded
    rm -rf "$run" && mkdir -p "$run"
    for mode in server embedded; do
        sed -e 's|^duration = .*|duration = "20d"|' -e "s|^output_dir = .*|output_dir = \"$run\"|" \
            -e "s|^name = .*|name = \"$mode\"|" -e 's|^device = .*|device = "auto"|' \
            -e "s|\"\.\./weights/|\"$PWD/weights/|" \
            configs/double_gyre_64_learned.toml >"$run/$mode.toml"
    done
    sed -i 's|^\[ml\]$|[ml]\nplacement = "embedded"|' "$run/embedded.toml"
    check timeout 300 "$mpi/bin/mpiexec" -n 2 "$bin/ocean-model" --config "$run/server.toml" \
        : -n 1 "$bin/ml-server" --config "$run/server.toml"
    check timeout 300 "$mpi/bin/mpiexec" -n 2 "$bin/ocean-model" --config "$run/embedded.toml"
    for mode in server embedded; do
        cp "$run/$mode/summary.json" "$out/fullycnn_${mode}_summary.json" 2>/dev/null
        grep -h -m2 "SYPD\|embedded ML:\|cuda" "$run/$mode/"*.log 2>/dev/null
    done
    # The in-situ analysis on the GPU, inside the ocean ranks.
    sed -e 's|^duration = .*|duration = "30d"|' -e "s|^output_dir = .*|output_dir = \"$run\"|" \
        -e 's|^\[ml\]$|[ml]\nplacement = "embedded"|' configs/double_gyre_64_analysis.toml \
        >"$run/analysis.toml"
    check timeout 300 "$mpi/bin/mpiexec" -n 2 "$bin/ocean-model" --config "$run/analysis.toml"
    cp "$run"/double_gyre_64_analysis/analysis.nc "$out/embedded_analysis.nc" 2>/dev/null
fi

echo
if [ ${#failed[@]} -eq 0 ]; then
    echo "gpu_verify: every step passed"
else
    echo "gpu_verify: ${#failed[@]} step(s) failed:"
    printf '  %s\n' "${failed[@]}"
    exit 1
fi
