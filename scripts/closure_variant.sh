# shellcheck shell=bash
# Sourced by the closure scripts (evaluate, tune, stability).
# variant BASE DEST key=value...: a copy of experiment BASE as DEST with each `key = value`
# line replaced; a key BASE has no line for is an error naming both.
variant() {
  local base=$1 dest=$2; shift 2
  cp "$base" "$dest"
  local kv key value
  for kv in "$@"; do
    key=${kv%%=*}; value=${kv#*=}
    grep -qE "^$key = " "$dest" || { echo "$(basename "$0"): $base has no '$key =' line" >&2; exit 2; }
    sed -i -E "s|^$key = [^#]*|$key = $value   |" "$dest"
  done
}
