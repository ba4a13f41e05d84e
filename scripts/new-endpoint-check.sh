#!/usr/bin/env bash
# Proves the promise of "Adding an endpoint" (README): an operation added to
# openapi/wecom.yaml following the conventions -- and nothing else changed --
# builds with `cargo clippy --lib -- -D warnings` clean and is a safe call on
# the raw client and on its managed type.
#
# It copies the repository's tracked files (as they are in the working tree)
# to a temporary folder, appends the two operations and three schemas of
# scripts/new-endpoint/ to the copy's openapi/wecom.yaml, adds the test
# scripts/new-endpoint/new_endpoint.rs, and runs clippy and that test there.
# The copy builds in target/new-endpoint (its own crate artifacts; the
# dependencies are built once and kept there).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$root" && git ls-files -z | xargs -0 cp --parents -t "$work")
python3 - "$work/openapi/wecom.yaml" "$root/scripts/new-endpoint" <<'PY'
import sys
path, extra = sys.argv[1], sys.argv[2]
spec = open(path).read()
operations = open(f"{extra}/operations.yaml").read()
schemas = open(f"{extra}/schemas.yaml").read()
marker = "\ncomponents:\n  schemas:\n"
assert spec.count(marker) == 1, "openapi/wecom.yaml: expected one `components: schemas:`"
spec = spec.replace(marker, "\n" + operations.rstrip("\n") + marker)
spec = spec.rstrip("\n") + "\n" + schemas
open(path, "w").write(spec)
PY
cp "$root/scripts/new-endpoint/new_endpoint.rs" "$work/tests/new_endpoint.rs"

cd "$work"
export CARGO_TARGET_DIR="$root/target/new-endpoint"
echo "new-endpoint-check: cargo clippy --lib -- -D warnings (the copy with two new operations)"
cargo clippy --locked --lib -- -D warnings
echo "new-endpoint-check: cargo test --test new_endpoint"
cargo test --locked --test new_endpoint
