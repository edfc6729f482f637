# shellcheck shell=bash
# Shared by the CI steps (.ci/openmpi.sh, .ci/slurm.sh): results, timing, system packages.
# Each check ends with one line "PASS|FAIL|SKIP name (…)"; the lines also go to
# $EDDYLINK_CI_RESULTS when .ci/run sets it, which prints the closing count.

ci_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ci_results=$(mktemp "${TMPDIR:-/tmp}/eddylink-ci.XXXXXX")
ci_t0=$SECONDS

ci_line() {
  echo "$*"
  echo "$*" >> "$ci_results"
  if [ -n "${EDDYLINK_CI_RESULTS:-}" ]; then echo "$*" >> "$EDDYLINK_CI_RESULTS"; fi
}
pass() { ci_line "PASS $1 ($(( SECONDS - ci_t0 )) s)"; }
fail() { ci_line "FAIL $1: $2"; }
skip() { ci_line "SKIP $1: $2"; }
# starts the clock of the next check
ci_start() { ci_t0=$SECONDS; echo "--- $1"; }

# ci_summary TITLE [FILE]: the counts of the lines in FILE (default: this script's);
# status 1 when one failed
ci_summary() {
  local file=${2:-$ci_results} p f s
  p=$(grep -c '^PASS' "$file" || true)
  f=$(grep -c '^FAIL' "$file" || true)
  s=$(grep -c '^SKIP' "$file" || true)
  echo "$1: $p passed, $f failed, $s skipped"
  [ "$f" -eq 0 ]
}

# why_no_packages: empty when this process can install Debian packages, else the reason
why_no_packages() {
  if [ "$(id -u)" != 0 ]; then
    echo "not running as root (uid $(id -u)): cannot install system packages"
  elif ! command -v apt-get >/dev/null 2>&1; then
    echo "no apt-get on this machine: install the packages by hand"
  fi
}

# apt_install PKG…: installs what is missing (one apt-get update first, only when needed)
apt_install() {
  local missing=() p
  for p in "$@"; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *'install ok installed'* ]] || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "installing ${missing[*]}"
  apt-get update -qq >/dev/null || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
}

# run_limited SECONDS LOG CMD…: runs CMD with a wall-clock limit, output to LOG
run_limited() {
  local limit=$1 log=$2
  shift 2
  timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1
}

# opens_in_xarray FILE…: every file opens and loads in xarray (the readers users have)
opens_in_xarray() {
  "$ci_root/.venv/bin/python" - "$@" <<'PY'
import sys
import xarray as xr
bad = []
for path in sys.argv[1:]:
    try:
        with xr.open_dataset(path) as ds:
            ds.load()
    except Exception as e:  # noqa: BLE001 - any failure to read is the finding
        bad.append(f"{path}: {type(e).__name__}: {e}")
print("\n".join(bad) or f"{len(sys.argv) - 1} file(s) open in xarray")
sys.exit(1 if bad else 0)
PY
}
