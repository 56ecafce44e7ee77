#!/usr/bin/env bash
# Set up (idempotent), then run the main job: every notebook executed headlessly in the chosen
# profile (LATENTLAB_PROFILE=quick|full, default quick), writing executed notebooks and HTML
# copies to out/notebooks/. The full profile fetches the full datasets first.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/setup.sh"
# shellcheck disable=SC1091
source "${LATENTLAB_CACHE:-$HOME/.cache/latentlab}/env.sh"
# Compiled dependencies (tch takes minutes) are shared by every clone on this machine.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${LATENTLAB_CACHE:-$HOME/.cache/latentlab}/target}
export LATENTLAB_PROFILE=${LATENTLAB_PROFILE:-quick}
# The dev profile already optimises every dependency (opt-level 3) and shares the test build.
cargo build --quiet
if [ "$LATENTLAB_PROFILE" = full ]; then
  "$CARGO_TARGET_DIR/debug/latentlab" data fetch
fi
"$CARGO_TARGET_DIR/debug/latentlab" info
python "$ROOT/scripts/run_notebooks.py" --out "$ROOT/out/notebooks" "$@"
echo "executed notebooks and HTML copies are in $ROOT/out/notebooks/"
