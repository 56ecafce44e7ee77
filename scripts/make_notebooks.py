#!/usr/bin/env python3
"""Writes notebooks/*.ipynb from the cell lists below (the notebooks' source of truth).

Run it after editing a cell: `python3 scripts/make_notebooks.py`. Cells stay thin: they build a
config, call the library, and end with one figure or table.
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = {}


def md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text.strip("\n")}


def code(text):
    return {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": text.strip("\n")}


SETUP = [
    code(""":dep latentlab = { path = ".." }"""),
    code("""use latentlab::prelude::*;
let profile = Profile::from_env()?;
let device = runtime::device();
println!("profile: {profile} | {}", runtime::describe(device));"""),
]


NOTEBOOKS["01_autoencoder"] = [
    md("""
# 1 · A convolutional autoencoder on Fashion-MNIST

An **autoencoder** learns to copy its input through a narrow bottleneck. The *encoder* squeezes a
28×28 image (784 numbers) into a short *latent code* — here just 10 numbers — and the *decoder*
tries to rebuild the image from that code alone. Nobody tells the network what the code should
mean: whatever survives the bottleneck is what the network found most useful for rebuilding
images. That is why it counts as *unsupervised* learning.

This notebook rebuilds section 2.1/3.1 of the homework: the same network, the same optimiser and
loss, trained on Fashion-MNIST. Everything heavy lives in the `latentlab` library; the cells
below only configure and call it.

The profile (`LATENTLAB_PROFILE=quick|full`) decides how much work is done: `quick` trains for two
epochs on the first 4,000 images (CI runs it), `full` uses the homework's real settings.
"""),
    *SETUP,
    md("""
## The data

Fashion-MNIST has 60,000 training and 10,000 test images of clothing in ten classes, each a
28×28 grey image. Pixels are stored as bytes and turned into floats in [0, 1] one batch at a
time. Look at the rows: some classes (trousers, bags) look alike within the class, while
shirts, T-shirts, pullovers and coats are easy to confuse even for people — keep that in mind
when we look at the latent space later.
"""),
    code("""let cfg = AutoencoderConfig::homework(profile);
let (train, test) = cfg.load_data()?;
println!("{} train / {} test images from {:?} data", train.len(), test.len(), train.source);
figures::class_samples(&train, 8, "Fashion-MNIST: eight training images per class")?"""),
    md("""
## The network

The encoder has three strided 3×3 convolutions with ReLU (28×28 → 14×14 → 7×7 → 3×3), then two
fully-connected layers: 288 → 64 with ReLU and dropout 0.5, then 64 → 10 with **no activation**, so
the code can take any real value. The decoder mirrors it: 10 → 64 → 288 fully-connected layers with
dropout, then three transposed convolutions back to 1×28×28 and a sigmoid so that pixels land in
(0, 1). The configuration is a plain serde struct, saved as `config.json` next to every run.
"""),
    code("""println!("{}", serde_json::to_string_pretty(&cfg)?);
println!("trainable parameters: {}", cfg.arch.parameter_count());"""),
    md("""
## Training

Each epoch visits the training images once in a seeded random order, in mini-batches of 256; for
every batch the loss is the mean squared error between input and reconstruction, and Adam
(learning rate 1e-3, no weight decay) takes one step. After each epoch the model is switched to
evaluation mode (dropout off) and scored on the test set. The run folder receives
`config.json`, `history.json`, a `.safetensors` checkpoint and `metrics.json`; rerunning the cell
with the same folder resumes instead of starting again.
"""),
    code("""let run_dir = runtime::runs_dir().join(profile.name()).join("01_autoencoder");
let run = train_autoencoder(&cfg, &train, &test, Some(&run_dir), &mut Progress::Lines)?;
println!("run folder: {}", run_dir.display());"""),
    md("""
## Loss curves

Watch two things: both curves should fall steeply, then flatten; and the test loss sits *below*
the training loss. That is not a bug — the training loss is measured with dropout switched on
(half of the fully-connected units are silenced at random), the test loss with it off.
"""),
    code("""figures::loss_curves(&run.history, "Reconstruction loss (MSE per pixel)", "MSE")?"""),
    md("""
## Reconstructions

Top row: test images the network never trained on; bottom row: what it rebuilds from their
10-number codes. Shapes and overall brightness survive; fine texture, logos and stripes do not —
ten numbers are not enough for them, and the squared error rewards a safe blurry average over a
sharp guess.
"""),
    code("""let idx = test.first_of_each_class(1);
figures::reconstructions(&[("reconstructed", &run.model)], &test, &idx, "Test images (top) and reconstructions (bottom)")?"""),
    md("""
## Numbers beside the homework's

MSE is per pixel, pixels in [0, 1], measured in evaluation mode. The homework trained 150 epochs
on the full data; compare the `full` profile's numbers with it (the `quick` profile is only a
smoke test).
"""),
    code("""let m = run.metrics.clone().expect("metrics after training");
let mut t = Table::new(["measure", "latentlab", "homework"])
    .with_title(format!("Autoencoder, latent 10 ({profile} profile, {} epochs)", m.epochs));
t.push_row(["train MSE".to_string(), format!("{:.4}", m.train_mse), "0.0309".into()]);
t.push_row(["test MSE".to_string(), format!("{:.4}", m.test_mse), "0.0310".into()]);
t.push_row(["training time".to_string(), format!("{:.0} s", m.seconds), "—".into()]);
t"""),
]


def write(name, cells):
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Rust (latentlab)", "language": "rust", "name": "latentlab"},
            "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for i, c in enumerate(cells):
        c["id"] = f"{name[:2]}-{i:02d}"
    path = ROOT / "notebooks" / f"{name}.ipynb"
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    for name, cells in NOTEBOOKS.items():
        write(name, cells)
