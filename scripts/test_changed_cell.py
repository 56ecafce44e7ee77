#!/usr/bin/env python3
"""A changed notebook cell trains the changed model, with no edit to src/.

Runs notebook 01 up to its training cell three times in the quick profile, into temporary run
folders: as shipped; with the training step's loss changed from MSE to L1; and with the network's
code changed from 10 numbers to 2, each change alone, the way a student would make it. Then
checks, from the run folders that the library's loop wrote:

- the changed network was trained: the 2-d run's code layer `encoder.fc2.weight` has shape
  [2, 64], the others [10, 64];
- the changed step was used: the L1 run, same network and seed, logged a different and larger
  training loss in every epoch (on pixels in [0, 1] the absolute error is never below the
  squared one, and the MSE-trained network is the better of the two at squared error);
- all runs trained the same number of epochs.

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
        runs = {
            "original": run(truncated([]), tmp / "original"),
            "L1 step": run(truncated(CHANGES[:1]), tmp / "l1"),
            "2-d code": run(truncated(CHANGES[1:]), tmp / "code2"),
        }
        failures = []
        expected = {"original": [10, 64], "L1 step": [10, 64], "2-d code": [2, 64]}
        for name, (folder, history) in runs.items():
            shape = tensor_shape(folder / "checkpoint.safetensors", "encoder.fc2.weight")
            losses = [e["train_loss"] for e in history["epochs"]]
            print(f"{name:9} code layer {shape}, training losses {[round(v, 5) for v in losses]}")
            if shape != expected[name]:
                failures.append(f"{name}: code layer {shape}, expected {expected[name]}")
        base = [e["train_loss"] for e in runs["original"][1]["epochs"]]
        l1 = [e["train_loss"] for e in runs["L1 step"][1]["epochs"]]
        code2 = [e["train_loss"] for e in runs["2-d code"][1]["epochs"]]
        if not (len(base) == len(l1) == len(code2) and base):
            failures.append(f"epochs trained: {len(base)}, {len(l1)}, {len(code2)}")
        elif not all(b < a for a, b in zip(l1, base)):
            failures.append(f"the L1 step's losses {l1} are not all above the MSE step's {base}")
        if failures:
            for f in failures:
                print("FAIL", f)
            return 1
    print("ok   a changed cell trained the changed model and step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
