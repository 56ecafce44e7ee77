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
export LATENTLAB_PROFILE=${LATENTLAB_PROFILE:-quick}
cargo build --release --quiet
if [ "$LATENTLAB_PROFILE" = full ]; then
  ./target/release/latentlab data fetch
fi
./target/release/latentlab info
python "$ROOT/scripts/run_notebooks.py" --out "$ROOT/out/notebooks" "$@"
echo "executed notebooks and HTML copies are in $ROOT/out/notebooks/"
