#!/usr/bin/env bash
# Set up (idempotent) and run every test: formatting, clippy, cargo tests, then every notebook
# headlessly in the quick profile, the exercise solutions (every check must hold) and the
# changed-cell test. Exits non-zero on the first failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/setup.sh"
# shellcheck disable=SC1091
source "${LATENTLAB_CACHE:-$HOME/.cache/latentlab}/env.sh"
# Compiled dependencies (tch takes minutes) are shared by every clone on this machine.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${LATENTLAB_CACHE:-$HOME/.cache/latentlab}/target}
export LATENTLAB_PROFILE=${LATENTLAB_PROFILE:-quick}

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --quiet 2>&1 | tee "${TMPDIR:-/tmp}/latentlab-cargo-test.log"
echo "== fuzzing the IDX and pickle readers (20,000 cases per property, a few seconds)"
PROPTEST_CASES=20000 cargo test --quiet --lib -- mutation random_bytes
echo "== notebook prose (no measured numbers typed into markdown)"
python "$ROOT/scripts/check_notebook_prose.py"
echo "== the GAN variants' table is the recorded scores"
python "$ROOT/scripts/gan_variants_table.py" --check
echo "== notebooks ($LATENTLAB_PROFILE profile)"
python "$ROOT/scripts/run_notebooks.py" --out "$ROOT/out/notebooks"
echo "== exercise solutions (every check must hold)"
python "$ROOT/scripts/run_notebooks.py" --require-checks --out "$ROOT/out/notebooks/solutions" "$ROOT"/notebooks/solutions/*.ipynb
echo "== a changed notebook cell trains the changed model"
python "$ROOT/scripts/test_changed_cell.py"
