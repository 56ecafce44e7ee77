#!/usr/bin/env bash
# Regenerates notebooks/executed/: every notebook executed in the full profile on the shipped
# checkpoints (no training where a checkpoint ships), outputs and figures included, so that a
# reader can see them without installing anything. Fetches the full data first (verified).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/setup.sh"
# shellcheck disable=SC1091
source "${LATENTLAB_CACHE:-$HOME/.cache/latentlab}/env.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${LATENTLAB_CACHE:-$HOME/.cache/latentlab}/target}
cargo build --quiet
"$CARGO_TARGET_DIR/debug/latentlab" data fetch
LATENTLAB_PROFILE=full LATENTLAB_RETRAIN=0 python "$ROOT/scripts/run_notebooks.py" --no-html \
  --out "$ROOT/notebooks/executed" "$@"
du -sh "$ROOT/notebooks/executed"
