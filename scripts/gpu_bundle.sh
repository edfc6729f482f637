#!/usr/bin/env bash
# Packs what scripts/gpu_verify.sh needs on a GPU machine that has no Rust, no MPI and no
# network, but a python3 with torch 2.11 (the same libtorch the binaries link):
#
#   .carry/gpu/bin/      ocean-model, ml-server (release, stripped)
#   .carry/gpu/tests/    the ml-server test programs that exercise the GPU (stripped)
#   .carry/gpu/wheels/   the mpich wheel (mpiexec and libmpi)
#   .carry/gpu/gz21/     trained_model.pth, copied from ../shared/gz21 when it is there
#
# .carry/ is ignored by git: nothing here is committed, the GZ21 weights included.
# Usage: scripts/gpu_bundle.sh   (then ship .carry/gpu and run scripts/gpu_verify.sh there)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/.carry/gpu

bash scripts/setup.sh
py=$root/.venv/bin/python

rm -rf "$out"
mkdir -p "$out/bin" "$out/tests" "$out/wheels"

cargo build --release --workspace --bins
for b in ocean-model ml-server; do
    strip -o "$out/bin/$b" "target/release/$b"
done

# The test programs, found by name in cargo's own account of what it built (the JSON is on
# stdout; build errors stay visible on stderr).
cargo test -p ml-server --no-run --message-format=json |
    "$py" -c '
import json, sys
wanted = {"gpu", "gz21_parity", "engine", "stochastic"}
for line in sys.stdin:
    m = json.loads(line)
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and m.get("executable") \
            and "test" in t.get("kind", []) and t.get("name") in wanted:
        print(t["name"], m["executable"])
' | while read -r name exe; do
    strip -o "$out/tests/$name" "$exe"
done
[ -x "$out/tests/gpu" ] || { echo "gpu_bundle: the gpu test program was not built" >&2; exit 1; }

# The mpich wheel the set-up installs (pip's cache serves it when it has been fetched).
mpich=$(sed -n 's/^mpich_version=//p' scripts/setup.sh)
"$py" -m pip download --quiet --no-deps --only-binary=:all: -d "$out/wheels" "mpich==$mpich"

weights=$root/../shared/gz21/trained_model.pth
if [ -f "$weights" ]; then
    mkdir -p "$out/gz21"
    cp "$weights" "$out/gz21/"
else
    echo "gpu_bundle: no $weights; the GZ21 checks will be skipped" >&2
fi
du -sh "$out"
