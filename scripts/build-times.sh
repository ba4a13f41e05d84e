#!/usr/bin/env bash
# Build and regeneration cost, as the README's Performance table reports it:
# - a clean `cargo build --lib` per TLS choice, each in a fresh target dir
#   (the registry must already be downloaded: `cargo fetch`);
# - the "vendor docs changed" loop: touch one spec, rebuild the library.
# - `--side-by-side [N]`: the crate against a minimal hand-written client
#   (reqwest + serde, the same TLS: the 橙讯 exchange written by hand),
#   both clean, alternately, N times each (default 2), with `--timings`
#   evidence of what the crate compiles that the hand-written client does not.
# Usage: scripts/build-times.sh [--quick | --side-by-side [N]]
#   (--quick: only the regeneration loop)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds() { # runs "$@" quietly, prints the wall time in seconds
  local start=$EPOCHREALTIME
  "$@" >/dev/null 2>&1
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

target=$(mktemp -d)
trap 'rm -rf "$target"' EXIT

if [ "${1:-}" = "--side-by-side" ]; then
  runs=${2:-2}
  hand=$(mktemp -d)
  trap 'rm -rf "$target" "$hand"' EXIT
  mkdir -p "$hand/src"
  # The same reqwest and TLS features as the crate's default (rustls with
  # aws-lc-rs), and the crate's lockfile, so both resolve the same versions.
  cat >"$hand/Cargo.toml" <<'TOML'
[package]
name = "handclient"
version = "0.1.0"
edition = "2024"

[dependencies]
reqwest = { version = "0.13.5", default-features = false, features = ["json", "query", "rustls"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
tokio = { version = "1", features = ["sync", "time"] }

[workspace]
TOML
  cat >"$hand/src/lib.rs" <<'RUST'
//! The 橙讯 exchange written by hand: the baseline of the build-cost figure.
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct CorpSecretResponse {
    pub err_code: i64,
    pub err_msg: String,
    pub corp_secret: Option<String>,
}

pub async fn exchange(
    client: &reqwest::Client,
    base: &str,
    corp_id: i64,
    authorization: &str,
    temp: &str,
) -> Result<CorpSecretResponse, reqwest::Error> {
    client
        .get(format!("{base}/corp-service/v1/corp-secrets"))
        .query(&[("corp_id", corp_id.to_string()), ("temp_corp_secret", temp.to_string())])
        .header("corp_authorization", authorization)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}
RUST
  cp Cargo.lock "$hand/Cargo.lock"
  (cd "$hand" && cargo generate-lockfile --offline >/dev/null 2>&1 || cargo generate-lockfile >/dev/null 2>&1)
  for run in $(seq "$runs"); do
    rm -rf "$target"/*
    crate=$(CARGO_TARGET_DIR=$target/crate seconds cargo build --locked --lib -p corp-auth --timings)
    by_hand=$( (cd "$hand" && CARGO_TARGET_DIR=$target/hand seconds cargo build --lib --timings) )
    echo "run $run: clean cargo build --lib: corp-auth ${crate} s, hand-written client ${by_hand} s, ratio $(awk -v a="$crate" -v b="$by_hand" 'BEGIN { printf "%.2f", a / b }')"
  done
  # What the crate compiles beyond the hand-written client, from the last
  # run's --timings data (seconds of CPU per unit; 2 cores run two at once).
  python3 - "$target/crate/cargo-timings" "$target/hand/cargo-timings" <<'PY'
import glob, json, re, sys
def units(d):
    f = sorted(glob.glob(d + "/cargo-timing-*.html"))[-1]
    s = open(f).read()
    return json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", s, re.S).group(1))
crate, hand = units(sys.argv[1]), units(sys.argv[2])
key = lambda u: (u["name"], u.get("target", ""))
cpu = lambda us: sum(u["duration"] for u in us)
seen = {key(u) for u in hand}
extra = sorted((u for u in crate if key(u) not in seen), key=lambda u: -u["duration"])
print(f"unit CPU time: corp-auth {cpu(crate):.0f} s, hand-written {cpu(hand):.0f} s; units only corp-auth builds: {cpu(extra):.0f} s")
for u in extra[:16]:
    print(f"  {u['duration']:5.1f} s  {u['name']} {u['version']} {u.get('target', '').strip()}")
PY
  exit 0
fi

if [ "${1:-}" != "--quick" ]; then
  for features in "" "--no-default-features --features rustls-ring" "--no-default-features"; do
    rm -rf "$target"/*
    echo "clean cargo build --lib ${features:-(default: rustls, aws-lc-rs)}: $(CARGO_TARGET_DIR=$target seconds cargo build --locked --lib -p corp-auth $features) s"
  done
fi

CARGO_TARGET_DIR=$target cargo build --locked --lib -p corp-auth >/dev/null 2>&1
# Real edits of openapi/wecom.yaml (restored on exit): a description, then a
# new response property. A bare `touch` regenerates identical code, which
# rustc's incremental cache makes nearly free, so it is reported apart.
spec=openapi/wecom.yaml
saved=$(mktemp)
cp "$spec" "$saved"
trap 'cp "$saved" "$spec"; rm -f "$saved"; rm -rf "$target"' EXIT
for run in 1 2 3; do
  touch "$spec"
  echo "rebuild after touching $spec (run $run): $(CARGO_TARGET_DIR=$target seconds cargo build --locked --lib -p corp-auth) s"
done
for run in 1 2 3; do
  sed -i "s/授权方企业名称,即企业简称.*/授权方企业名称,即企业简称 (edit $run)/" "$spec"
  echo "rebuild after editing a description (run $run): $(CARGO_TARGET_DIR=$target seconds cargo build --locked --lib -p corp-auth) s"
done
for run in 1 2 3; do
  cp "$saved" "$spec"
  sed -i "s/^        corp_name:\$/        corp_ex_name_$run:\n          type: string\n        corp_name:/" "$spec"
  echo "rebuild after adding a response property (run $run): $(CARGO_TARGET_DIR=$target seconds cargo build --locked --lib -p corp-auth) s"
done
