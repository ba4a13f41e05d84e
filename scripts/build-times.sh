#!/usr/bin/env bash
# Build and regeneration cost, as the README's Performance table reports it:
# - a clean `cargo build --lib` per TLS choice, each in a fresh target dir
#   (the registry must already be downloaded: `cargo fetch`);
# - the "vendor docs changed" loop: touch one spec, rebuild the library.
# Usage: scripts/build-times.sh [--quick]   (--quick: only the regeneration loop)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds() { # runs "$@" quietly, prints the wall time in seconds
  local start=$EPOCHREALTIME
  "$@" >/dev/null 2>&1
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

target=$(mktemp -d)
trap 'rm -rf "$target"' EXIT

if [ "${1:-}" != "--quick" ]; then
  for features in "" "--no-default-features --features rustls-ring" "--no-default-features"; do
    rm -rf "$target"/*
    echo "clean cargo build --lib ${features:-(default: rustls, aws-lc-rs)}: $(CARGO_TARGET_DIR=$target seconds cargo build --locked --lib $features) s"
  done
fi

CARGO_TARGET_DIR=$target cargo build --locked --lib >/dev/null 2>&1
for spec in openapi/wecom.yaml openapi/chengxun.yaml; do
  for run in 1 2 3; do
    touch "$spec"
    echo "rebuild after touching $spec (run $run): $(CARGO_TARGET_DIR=$target seconds cargo build --locked --lib) s"
  done
done
# What the build script itself takes (progenitor over both specs, formatting).
touch openapi/wecom.yaml
CARGO_TARGET_DIR=$target cargo build --locked --lib --timings=json -Zunstable-options 2>/dev/null \
  | grep -o '"target":{[^}]*"name":"build-script-build"[^}]*}[^}]*"duration":[0-9.]*' | head -1 || true
