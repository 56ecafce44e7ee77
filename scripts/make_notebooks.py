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
with the same folder resumes instead of starting again. In the `full` profile the notebook loads the
shipped checkpoint from `data/checkpoints/ae-homework` (150 epochs, trained with
`latentlab ae train --profile full`); set `LATENTLAB_RETRAIN=1` to train it here instead.
"""),
    code("""let run_dir = runtime::runs_dir().join(profile.name()).join("ae-homework");
let run = train_or_load_autoencoder(&cfg, &train, &test, &run_dir, &mut Progress::Lines)?;"""),
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


NOTEBOOKS["02_grid_search"] = [
    md("""
# 2 · Choosing hyper-parameters: grid search with k-fold cross-validation

How big should the latent code be, how fast should we learn, how much weight decay? The homework
answered with a **grid search**: train one model for every combination of latent size {10, 30},
learning rate {5e-3, 1e-3, 5e-4} and weight decay {1e-5, 1e-6, 0} — 18 configurations — and keep
the one with the lowest *validation* loss. Test images stay out of it: choosing on the test set would
make the test score optimistic.

To get a validation loss that does not depend on one lucky split, each configuration is scored
with **k-fold cross-validation**: the training set is cut into k parts; k models are trained, each
validated on the part it did not see, and the k losses are averaged. Unlike the homework, every
fold here starts from **freshly initialised weights** — the homework carried weights over from fold to
fold, so later folds had already seen their validation images, which makes the scores leak.

Every finished (configuration, fold) is saved at once, so an interrupted search resumes where it
stopped. The `quick` profile runs a 2×1×2 grid with k = 2 on 1,000 images; `full` runs the homework's
whole grid with k = 5.
"""),
    *SETUP,
    code("""let search = SearchConfig::homework(profile);
let candidates = search.candidates()?;
println!("{} configurations × {} folds, {} epochs per fold", candidates.len(), search.folds, search.base.epochs);
let (train, test) = search.base.load_data()?;
let dir = runtime::runs_dir().join(profile.name()).join("search");
let results = run_search(&search, &train, &dir, &mut Progress::Lines)?;"""),
    md("""
## Results

One row per configuration, best first: the mean and standard deviation of the validation MSE over
the folds, and each fold's value. Look at the spread: when two configurations differ by less than
their standard deviations, the ranking between them is noise.
"""),
    code("""figures::search_table(&results, 20)"""),
    md("""
The same numbers as a chart (the homework's figures 14 and 15); the error bars are the standard
deviation over folds.
"""),
    code("""figures::search_chart(&results, None)?"""),
    md("""
The validation curve of every fold of the best configuration. Curves that lie close together mean
the estimate does not hinge on which images ended up in the validation part.
"""),
    code("""let best = results.best().expect("at least one configuration");
println!("best: {} (mean validation MSE {:.5} ± {:.5})", best.candidate.id, best.mean, best.std);
figures::fold_curves(&results, &best.candidate.id)?"""),
    md("""
## Which loss? MSE, L1 and Huber

The reconstruction loss decides what "close" means. **MSE** punishes big pixel errors hard, so the
network hedges towards a blurry average. **L1** punishes all errors evenly, which tends to give
sharper edges but flatter shading. **Huber** is quadratic for small errors and linear for large ones;
with pixels in [0, 1] every error is "small", so here it behaves like MSE/2. The same network is
trained with each; the figure shows the same test images reconstructed by all three.
"""),
    code("""let mut loss_runs = Vec::new();
for loss in [LossKind::Mse, LossKind::L1, LossKind::Huber] {
    let c = AutoencoderConfig::loss_comparison(profile, loss);
    let (tr, te) = c.load_data()?;
    let d = runtime::runs_dir().join(profile.name()).join(&c.name);
    loss_runs.push((loss, train_autoencoder(&c, &tr, &te, Some(&d), &mut Progress::Lines)?));
}
let idx = test.first_of_each_class(1);
let rows: Vec<(&str, Tensor)> = loss_runs.iter()
    .map(|(l, r)| (l.name(), figures::reconstruct_at(&r.model, &test, &idx)))
    .collect();
figures::reconstruction_comparison(&test, &idx, &rows, "Reconstructions with MSE, L1 and Huber loss")?"""),
    md("""
## The honest baseline: PCA with 10 components

An autoencoder with a 10-number code should at least beat the best *linear* 10-number code, which
is PCA: project each image on the 10 directions of largest pixel variance and back. The homework
never checked — and its network loses to PCA. Dropout 0.5 right next to a 10-unit bottleneck throws
away half of the information the decoder needs on every step.

The **improved** model keeps the 10-d latent but uses wider convolutions (32/64/128 channels) with
batch normalisation, a 256-unit hidden layer, no dropout, and a cosine learning-rate schedule.
"""),
    code("""let (pca, pca_model) = analysis::pca_reconstruction_baseline(&train, &test, 10)?;
println!("PCA-10: train MSE {:.4}, test MSE {:.4}, {:.1}% of the pixel variance kept ({:.1}s)",
    pca.train_mse, pca.test_mse, 100.0 * pca.explained_variance_ratio.iter().sum::<f64>(), pca.seconds);
let hw_cfg = AutoencoderConfig::homework(profile);
let homework = train_or_load_autoencoder(&hw_cfg, &train, &test,
    &runtime::runs_dir().join(profile.name()).join("ae-homework"), &mut Progress::Lines)?;
let imp_cfg = AutoencoderConfig::improved(profile);
let improved = train_or_load_autoencoder(&imp_cfg, &train, &test,
    &runtime::runs_dir().join(profile.name()).join("ae-improved"), &mut Progress::Lines)?;"""),
    md("""
Test images reconstructed by PCA-10, the homework's autoencoder and the improved one. PCA's
reconstructions are ghostly sums of smooth "eigen-clothes"; the improved network keeps
silhouettes crisp and begins to show collars, straps and soles.
"""),
    code("""let rows = vec![
    ("PCA-10", pca_model.reconstruct(&figures::images_at(&test, &idx))?),
    ("homework AE", figures::reconstruct_at(&homework.model, &test, &idx)),
    ("improved AE", figures::reconstruct_at(&improved.model, &test, &idx)),
];
figures::reconstruction_comparison(&test, &idx, &rows, "PCA-10 against the two autoencoders (latent 10)")?"""),
    md("""
## Numbers beside the homework's

Test MSE per pixel (pixels in [0, 1]) on the test images of this profile. The homework reported
0.0310 for its autoencoder and did not measure PCA.
"""),
    code("""let mse = |r: &AutoencoderRun| -> f64 { r.metrics.as_ref().map(|m| m.test_mse).unwrap_or(f64::NAN) };
let mut t = Table::new(["model", "latent", "test MSE", "homework"])
    .with_title(format!("Reconstruction on Fashion-MNIST test images ({profile} profile)"));
t.push_row(["PCA".to_string(), "10".into(), format!("{:.4}", pca.test_mse), "—".into()]);
t.push_row(["homework autoencoder".to_string(), "10".into(), format!("{:.4}", mse(&homework)), "0.0310".into()]);
t.push_row(["improved autoencoder".to_string(), "10".into(), format!("{:.4}", mse(&improved)), "—".into()]);
for (l, r) in &loss_runs {
    t.push_row([format!("homework AE, {} loss", l.name()), "10".into(), format!("{:.4}", mse(r)), "—".into()]);
}
t.push_row(["best search configuration".to_string(), best.candidate.latent_dim.to_string(),
    format!("{:.4} (validation)", best.mean), "—".into()]);
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
