#!/usr/bin/env bash
# One-time, idempotent set-up for latentlab. Safe to run again: each step checks what is already
# there and says what it reused.
#
# Installs, outside the checkout (so fresh clones on this machine reuse them), under
#   ${LATENTLAB_CACHE:-~/.cache/latentlab}/
#     venv-torch-2.13.0/        Python venv: torch==2.13.0 (libtorch for tch 0.26), jupyter, nbconvert
#     evcxr-0.22.0/bin/         evcxr_jupyter, the Rust kernel
#     evcxr-build/              evcxr's persistent build folder (tch is compiled once for all notebooks)
# and in the checkout:
#   .libtorch -> the wheel's torch folder (read by .cargo/config.toml; git-ignored)
#   the Jupyter kernel spec `latentlab` (inside the venv), whose env finds libtorch.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${LATENTLAB_CACHE:-$HOME/.cache/latentlab}
TORCH_VERSION=2.13.0
EVCXR_VERSION=0.22.0
VENV=$CACHE/venv-torch-$TORCH_VERSION
EVCXR_ROOT=$CACHE/evcxr-$EVCXR_VERSION
PYTHON_BOOTSTRAP=${LATENTLAB_PYTHON:-python3}

say() { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
mkdir -p "$CACHE"

# One set-up at a time: a second one waits instead of corrupting the first one's installs.
exec 9>"$CACHE/setup.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

# 1. Python venv with torch 2.13.0 (the exact version tch 0.26 checks for) and Jupyter.
command -v "$PYTHON_BOOTSTRAP" >/dev/null || fail "no $PYTHON_BOOTSTRAP on PATH: install Python 3.9+ (with venv and pip) or set LATENTLAB_PYTHON"
if [ -f "$VENV/.latentlab-complete" ] && "$VENV/bin/python" -c "import numpy, torch, nbclient, nbconvert, ipykernel; assert torch.__version__.split('+')[0] == '$TORCH_VERSION'" 2>/dev/null; then
  say "reusing Python venv with torch $TORCH_VERSION at $VENV"
else
  say "installing torch==$TORCH_VERSION and Jupyter into $VENV (about 5 min and 4.7 GB the first time)"
  [ -x "$VENV/bin/python" ] || "$PYTHON_BOOTSTRAP" -m venv "$VENV" || fail "could not create a venv: install python3-venv"
  "$VENV/bin/python" -m pip install --quiet --progress-bar off --disable-pip-version-check \
      "torch==$TORCH_VERSION" numpy jupyter nbconvert nbclient ipykernel \
    || fail "pip could not install torch==$TORCH_VERSION: check that PyPI is reachable, then run this script again"
  "$VENV/bin/python" -c "import torch; assert torch.__version__.split('+')[0] == '$TORCH_VERSION', torch.__version__" \
    || fail "the venv has the wrong torch version; delete $VENV and run again"
  touch "$VENV/.latentlab-complete"
fi
TORCH_DIR=$("$VENV/bin/python" -c "import torch, os; print(os.path.dirname(torch.__file__))" 2>/dev/null)
[ -f "$TORCH_DIR/lib/libtorch_cpu.so" ] || fail "libtorch_cpu.so not found in $TORCH_DIR/lib; delete $VENV and run again"
CXX11_ABI=$("$VENV/bin/python" -c "import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))" 2>/dev/null)

# 2. Point the checkout's .libtorch at the wheel (cargo reads it through .cargo/config.toml).
if [ "$(readlink "$ROOT/.libtorch" 2>/dev/null)" = "$TORCH_DIR" ]; then
  say "reusing .libtorch -> $TORCH_DIR"
else
  ln -sfn "$TORCH_DIR" "$ROOT/.libtorch"
  say "linked .libtorch -> $TORCH_DIR"
fi
if [ "$CXX11_ABI" != "1" ]; then
  say "note: this torch wheel uses the pre-C++11 ABI; exporting LIBTORCH_CXX11_ABI=0 is needed for cargo"
fi

# 3. rust-src (evcxr uses it for completions; harmless if it cannot be fetched).
if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  say "reusing rust-src"
else
  rustup component add rust-src >/dev/null 2>&1 && say "installed rust-src" \
    || say "warning: could not add rust-src (only tab completion in notebooks needs it)"
fi

# 4. evcxr_jupyter, the Rust kernel.
if [ -x "$EVCXR_ROOT/bin/evcxr_jupyter" ]; then
  say "reusing evcxr_jupyter $EVCXR_VERSION at $EVCXR_ROOT/bin"
else
  say "building evcxr_jupyter $EVCXR_VERSION (12-17 min on 2 cores the first time)"
  cargo install --locked --quiet evcxr_jupyter --version "$EVCXR_VERSION" --root "$EVCXR_ROOT.partial" \
    || fail "cargo install evcxr_jupyter failed: check that crates.io is reachable and run again"
  rm -rf "$EVCXR_ROOT" && mv "$EVCXR_ROOT.partial" "$EVCXR_ROOT"
fi

# 5. The `latentlab` kernel spec: evcxr with libtorch's location and a persistent build folder.
# evcxr's cells are dylibs linked against Rust's libstd-*.so; its relative rpath does not hold
# for a build folder outside /tmp, so the kernel's library path names the toolchain's lib too.
RUST_LIB=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n "s/^host: //p")/lib
KERNEL_DIR=$VENV/share/jupyter/kernels/latentlab
mkdir -p "$KERNEL_DIR" "$CACHE/evcxr-build"
"$VENV/bin/python" - "$KERNEL_DIR" "$EVCXR_ROOT/bin/evcxr_jupyter" "$TORCH_DIR" "$CXX11_ABI" "$CACHE/evcxr-build" "$RUST_LIB" <<'PY'
import json, os, sys
kdir, evcxr, torch_dir, abi, build, rust_lib = sys.argv[1:]
spec = {
    "argv": [evcxr, "--control_file", "{connection_file}"],
    "display_name": "Rust (latentlab)",
    "language": "rust",
    "interrupt_mode": "message",
    "env": {
        "LIBTORCH": torch_dir,
        "LIBTORCH_CXX11_ABI": abi,
        "LD_LIBRARY_PATH": os.path.join(torch_dir, "lib") + ":" + rust_lib,
        "EVCXR_TMPDIR": build,
        "LATENTLAB_KERNEL": "1",
    },
}
path = os.path.join(kdir, "kernel.json")
text = json.dumps(spec, indent=2) + "\n"
old = open(path).read() if os.path.exists(path) else None
if old != text:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    print("[setup] wrote kernel spec", path)
else:
    print("[setup] reusing kernel spec", path)
PY

# Everything later scripts need, in one file they can source.
# LIBTORCH is absolute here (not the per-checkout .libtorch link) so that every clone presents the
# same value to torch-sys and reuses its compiled C++ wrapper from the shared target folder.
cat > "$CACHE/env.sh.tmp" <<ENV
export LATENTLAB_VENV="$VENV"
export LIBTORCH="$TORCH_DIR"
export LIBTORCH_CXX11_ABI="$CXX11_ABI"
export PATH="$VENV/bin:$EVCXR_ROOT/bin:\$PATH"
export JUPYTER_PATH="$VENV/share/jupyter\${JUPYTER_PATH:+:\$JUPYTER_PATH}"
ENV
mv "$CACHE/env.sh.tmp" "$CACHE/env.sh"
say "done (source $CACHE/env.sh to get jupyter and the kernel on PATH)"
