#!/usr/bin/env bash
# Runs `cargo xtask spec-diff` over every consecutive pair of commits that
# changed openapi/ (oldest first; the first such commit against the empty
# tree before it, when it has a parent), then the last one against the
# working tree. Fails if any comparison errors (exit 2); breaking findings
# are reported, not failures: they are the history.
# Usage: scripts/spec-diff-history.sh [--format text|markdown|json|github]
set -euo pipefail
cd "$(dirname "$0")/.."
format=(--format text)
if [ "${1:-}" = "--format" ]; then format=(--format "${2:?--format needs a value}"); fi

mapfile -t commits < <(git log --reverse --format=%H -- openapi/)
if [ "${#commits[@]}" -eq 0 ]; then
  echo "no commit touches openapi/"; exit 0
fi
pairs=0
first=${commits[0]}
if git rev-parse --verify --quiet "$first^" >/dev/null; then
  prev="$first^"
else
  prev=""
fi
for c in "${commits[@]}"; do
  if [ -n "$prev" ]; then
    echo "== $(git log -1 --format='%h %s' "$prev" | cut -c1-60) → $(git log -1 --format='%h %s' "$c" | cut -c1-60)"
    cargo xtask spec-diff --base "$prev" --head "$c" "${format[@]}"
    pairs=$((pairs + 1))
  fi
  prev=$c
done
echo "== ${prev:0:7} → working tree"
cargo xtask spec-diff --base "$prev" "${format[@]}"
echo "spec-diff-history: $((pairs + 1)) comparisons, none failed"
