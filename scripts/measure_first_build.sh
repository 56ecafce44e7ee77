#!/usr/bin/env bash
# Times a notebook's first build (a one-cell notebook `:dep latentlab`, cold evcxr build folder)
# at each given git revision of this checkout, one after the other, each in its own clone and
# its own EVCXR_TMPDIR. Run it with nothing else on the machine.
#
#   scripts/measure_first_build.sh eaad1a7 2218468
#
# Prints, per revision, the crates compiled and the notebook's time. Work folder: $WORK
# (default /tmp/latentlab-first-build), removed and recreated per revision.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-/tmp/latentlab-first-build}
CACHE=${LATENTLAB_CACHE:-$HOME/.cache/latentlab}
[ $# -ge 1 ] || { echo "usage: $0 REV [REV...]" >&2; exit 2; }
# shellcheck disable=SC1091
source "$CACHE/env.sh"
SPEC="$LATENTLAB_VENV/share/jupyter/kernels/latentlab/kernel.json"
for rev in "$@"; do
  dir="$WORK/$rev"
  rm -rf "$dir"
  mkdir -p "$dir/kernels/latentlab"
  git clone -q "$ROOT" "$dir/repo"
  (cd "$dir/repo" && git checkout -q "$rev" && cargo fetch -q)
  mkdir -p "$dir/repo/nb"
  python3 - "$SPEC" "$dir" <<'PY'
import json, sys
spec_path, d = sys.argv[1], sys.argv[2]
spec = json.load(open(spec_path))
spec["env"]["EVCXR_TMPDIR"] = f"{d}/evcxr-build"
json.dump(spec, open(f"{d}/kernels/latentlab/kernel.json", "w"), indent=1)
cells = [':dep latentlab = { path = ".." }', 'use latentlab::prelude::*;\nprintln!("built");']
nb = {"cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "outputs": [],
                 "execution_count": None, "source": c} for i, c in enumerate(cells)],
      "metadata": {"kernelspec": {"display_name": "Rust (latentlab)", "language": "rust",
                                  "name": "latentlab"}},
      "nbformat": 4, "nbformat_minor": 5}
json.dump(nb, open(f"{d}/repo/nb/first.ipynb", "w"))
PY
  JUPYTER_PATH="$dir:$JUPYTER_PATH" python "$ROOT/scripts/run_notebooks.py" --no-html \
    --timeout 3000 --out "$dir/out" "$dir/repo/nb/first.ipynb" 2>&1 | tee "$dir/log" \
    | grep -v Compiling
  echo "== $rev: $(grep -c Compiling "$dir/log") crates compiled"
done
