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
# Real edits of openapi/wecom.yaml (restored on exit): a description, then a
# new response property. A bare `touch` regenerates identical code, which
# rustc's incremental cache makes nearly free, so it is reported apart.
spec=openapi/wecom.yaml
saved=$(mktemp)
cp "$spec" "$saved"
trap 'cp "$saved" "$spec"; rm -f "$saved"; rm -rf "$target"' EXIT
for run in 1 2 3; do
  touch "$spec"
  echo "rebuild after touching $spec (run $run): $(CARGO_TARGET_DIR=$target seconds cargo build --locked --lib) s"
done
for run in 1 2 3; do
  sed -i "s/授权方企业名称,即企业简称.*/授权方企业名称,即企业简称 (edit $run)/" "$spec"
  echo "rebuild after editing a description (run $run): $(CARGO_TARGET_DIR=$target seconds cargo build --locked --lib) s"
done
for run in 1 2 3; do
  cp "$saved" "$spec"
  sed -i "s/^        corp_name:\$/        corp_ex_name_$run:\n          type: string\n        corp_name:/" "$spec"
  echo "rebuild after adding a response property (run $run): $(CARGO_TARGET_DIR=$target seconds cargo build --locked --lib) s"
done
