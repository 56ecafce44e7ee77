#!/usr/bin/env python3
"""A changed notebook cell trains the changed model, with no edit to src/.

Runs notebook 01 up to its training cell twice in the quick profile, into two temporary run
folders: once as shipped, once with two cells changed the way a student would change them (the
training step's loss from MSE to L1, and the network's code from 10 numbers to 2). Then checks,
from the run folders that the library's loop wrote:

- the changed network was trained: the checkpoint's code layer `encoder/fc2/weight` has shape
  [2, 64] instead of [10, 64];
- the changed step was used: the logged training loss differs, and is the larger one (on pixels in
  [0, 1] the absolute error is never below the squared one);
- both runs trained the same number of epochs.

Exits non-zero, naming what failed. Usage: test_changed_cell.py
"""
import json
import os
import pathlib
import struct
import sys
import tempfile

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "01_autoencoder.ipynb"
CHANGES = [
    ("rebuilt.mse_loss(images, Reduction::Mean);  // MSE per pixel", "rebuilt.l1_loss(images, Reduction::Mean);"),
    ("let model = conv_autoencoder(&vs.root(), 10, 0.5);", "let model = conv_autoencoder(&vs.root(), 2, 0.5);"),
]


def truncated(changes):
    """Notebook 01 up to its training cell, with `changes` applied (each must match once)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type == "code" and "train::fit(" in cell.source:
            break
    else:
        sys.exit("notebook 01 has no cell calling train::fit: update this test")
    for old, new in changes:
        hits = [c for c in cells if old in c.source]
        if len(hits) != 1:
            sys.exit(f"expected one cell containing {old!r}, found {len(hits)}: update this test")
        hits[0].source = hits[0].source.replace(old, new)
    nb.cells = cells
    return nb


def run(nb, runs_dir):
    env_before = dict(os.environ)
    os.environ.update({"LATENTLAB_RUNS": str(runs_dir), "LATENTLAB_PROFILE": "quick", "LATENTLAB_RETRAIN": "0"})
    try:
        NotebookClient(nb, timeout=1800, kernel_name="latentlab", startup_timeout=120,
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and out.get("text", "").strip():
                sys.exit(f"a cell wrote to stderr: {out['text'][-800:]}")
    folder = runs_dir / "quick" / "nb01-autoencoder"
    history = json.loads((folder / "history.json").read_text())
    return folder, history


def tensor_shape(path, name):
    """The shape of tensor `name` in a .safetensors file (read from its JSON header)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    if name not in header:
        sys.exit(f"{path} has no tensor {name}; it has {sorted(k for k in header if k != '__metadata__')}")
    return header[name]["shape"]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        base_dir, base = run(truncated([]), tmp / "original")
        var_dir, var = run(truncated(CHANGES), tmp / "changed")
        failures = []
        b_shape = tensor_shape(base_dir / "checkpoint.safetensors", "encoder/fc2/weight")
        v_shape = tensor_shape(var_dir / "checkpoint.safetensors", "encoder/fc2/weight")
        if b_shape != [10, 64] or v_shape != [2, 64]:
            failures.append(f"code layer shapes {b_shape} (original) and {v_shape} (changed); expected [10, 64] and [2, 64]")
        be, ve = base["epochs"], var["epochs"]
        if len(be) != len(ve) or not be:
            failures.append(f"epochs trained: {len(be)} (original) and {len(ve)} (changed)")
        else:
            b1, v1 = be[0]["train_loss"], ve[0]["train_loss"]
            if not v1 > b1:
                failures.append(f"first-epoch training loss {v1:.5} (L1 step) is not above {b1:.5} (MSE step)")
            print(f"original: code {b_shape}, first-epoch training loss {b1:.5} (MSE)")
            print(f"changed:  code {v_shape}, first-epoch training loss {v1:.5} (L1)")
        if failures:
            for f in failures:
                print("FAIL", f)
            return 1
    print("ok   a changed cell trained the changed model and step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
