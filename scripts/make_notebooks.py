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
    text = text.strip("\n")
    lines = text.splitlines()
    # A cell that is one block returning nothing would show "()": end it as a statement.
    if lines[0] == "{" and lines[-1] == "}" and lines[-2].rstrip().endswith((";", "}")):
        text += ";"
    return {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": text}


def solution(text):
    """A code cell that only the solutions notebook gets (the exercise's answer)."""
    c = code(text)
    c["metadata"]["latentlab"] = "solution"
    return c


def exercise(text):
    """A code cell for the student: it runs as given, and its check says "not yet"."""
    c = code(text)
    c["metadata"]["latentlab"] = "exercise"
    return c


def shared(cell):
    """A cell that the solutions notebook keeps too (set-up and definitions the answers use)."""
    cell["metadata"]["latentlab_shared"] = True
    return cell


def settings(extra=""):
    return [
        shared(md("""
Run the cells from the top (Shift-Enter). The first one compiles the library on first use
(minutes, once per machine; later notebooks reuse the build). The second one holds **your
switches**: the profile, and whether to retrain what a shipped checkpoint already holds.
""")),
        shared(code(""":dep latentlab = { path = ".." }""")),
        shared(code("""use latentlab::prelude::*;
// Your switches: change them, then run every cell below again.
let profile = Profile::Quick; // Quick: minutes on a laptop CPU. Full: the homework's settings.
let retrain = false;          // Full profile: false loads the shipped checkpoints, true trains here.
let profile = runtime::notebook_settings(profile, retrain)?;
let device = runtime::device();""" + extra)),
    ]


SETUP = settings()


NOTEBOOKS["01_autoencoder"] = [
    md("""
# 1 · A convolutional autoencoder on Fashion-MNIST

An **autoencoder** learns to copy its input through a narrow bottleneck. The *encoder* squeezes a
28×28 image (784 numbers) into a short *latent code*, here 10 numbers, and the *decoder* tries to
rebuild the image from that code alone. Nobody tells the network what the code should mean:
whatever survives the bottleneck is what the network found most useful for rebuilding images.
That is why it counts as *unsupervised* learning.

This notebook rebuilds section 2.1/3.1 of the homework. You will see the whole network in one
cell, the training step in another, and a loop from the library that trains *that* network with
*that* step. Change either cell and rerun: the notebook trains your version.
"""),
    *SETUP,
    md("""
## The Rust you will meet

Cells are Rust, run by the `evcxr` kernel. What they use:

- `:dep latentlab = { path = ".." }` compiles this project's library (and `tch`, the libtorch
  bindings) the first time. That costs minutes once; the build is cached, so later notebooks and
  restarts reuse it. Each cell is compiled before it runs, which takes a second or two.
- `let x = ...;` names a value. Names live on into later cells. A cell's last expression,
  without a semicolon, is shown below it: that is how figures and tables appear.
- `?` after a call that can fail (reading data, loading a checkpoint) stops the cell and prints
  the error, which says what went wrong and how to fix it.
- `Tensor` is libtorch's n-dimensional array. `&a + &b`, `x.relu()`, `x.mse_loss(&y, ...)` build
  new tensors, and every operation is recorded for autograd.
- A network's weights live in an `nn::VarStore`. Layers are created from a path into it
  (`&vs.root() / "encoder" / "conv1"`), and that path names the weights in checkpoints.
- `forward_t(x, train)` runs a network. `train = true` turns dropout on (and lets batch norm
  update its statistics); `false` is evaluation mode.
- `tch::no_grad(|| ...)` runs code without recording gradients: for evaluation and plotting.
- `fn` and `struct` definitions in a cell are compiled into the session; rerunning a changed
  definition cell replaces them.

A small warm-up: a tensor, an operation, a value read back as a Rust number.
"""),
    code("""let t = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
let doubled = &t * 2.0;
println!("{:?} doubled is {:?}", Vec::<f32>::try_from(&t)?, Vec::<f32>::try_from(&doubled)?);
let total = tch::no_grad(|| doubled.sum(Kind::Float));
println!("their sum, read back: {}", total.double_value(&[]));"""),
    md("""
## The data

Fashion-MNIST has 60,000 training and 10,000 test images of clothing in ten classes, each a
28×28 grey image. Pixels are stored as bytes and turned into floats in [0, 1] one batch at a
time. Look at the rows: some classes (trousers, bags) look alike within the class, while
shirts, T-shirts, pullovers and coats are easy to confuse even for people. Keep that in mind
when we look at the latent space later.
"""),
    shared(code("""let ae_cfg = AutoencoderConfig::homework(profile);
let (train, test) = ae_cfg.load_data()?;
println!("{} train / {} test images from {:?} data", train.len(), test.len(), train.source);""")),
    code("""figures::class_samples(&train, 8, "Fashion-MNIST: eight training images per class")?"""),
    md("""
## The network

The encoder has three strided 3×3 convolutions with ReLU (28×28 → 14×14 → 7×7 → 3×3), then two
fully connected layers: 288 → 64 with ReLU and dropout 0.5, then 64 → 10 with **no activation**,
so the code can take any real value. The decoder mirrors it: 10 → 64 → 288 fully connected layers
with dropout, then three transposed convolutions back to 1×28×28, and a sigmoid so that pixels
land in (0, 1).

This cell *is* the model that trains below. The layer names (`encoder/conv1`, ...) match the
library's, so in the full profile the shipped checkpoint loads into it. Change a layer and the
shapes no longer match: then set `retrain = true` (or use the quick profile) to train yours.
"""),
    shared(code("""/// The homework's convolutional autoencoder.
#[derive(Debug)]
struct ConvAutoencoder {
    encoder: nn::SequentialT,
    decoder: nn::SequentialT,
}

fn conv_autoencoder(p: &nn::Path, latent: i64, dropout: f64) -> ConvAutoencoder {
    let (enc, dec) = (p / "encoder", p / "decoder");
    let down = |name: &str, i, o, padding| nn::conv2d(&enc / name, i, o, 3,
        nn::ConvConfig { stride: 2, padding, ..Default::default() });
    let up = |name: &str, i, o, padding, output_padding| nn::conv_transpose2d(&dec / name, i, o, 3,
        nn::ConvTransposeConfig { stride: 2, padding, output_padding, ..Default::default() });
    let encoder = nn::seq_t()
        .add(down("conv1", 1, 8, 1)).add_fn(|x| x.relu())        // 1×28×28 → 8×14×14
        .add(down("conv2", 8, 16, 1)).add_fn(|x| x.relu())       // → 16×7×7
        .add(down("conv3", 16, 32, 0)).add_fn(|x| x.relu())      // → 32×3×3
        .add_fn(|x| x.flatten(1, -1))                            // → 288
        .add(nn::linear(&enc / "fc1", 288, 64, Default::default())).add_fn(|x| x.relu())
        .add_fn_t(move |x, train| x.dropout(dropout, train))
        .add(nn::linear(&enc / "fc2", 64, latent, Default::default())); // the code: no activation
    let decoder = nn::seq_t()
        .add(nn::linear(&dec / "fc1", latent, 64, Default::default())).add_fn(|x| x.relu())
        .add_fn_t(move |x, train| x.dropout(dropout, train))
        .add(nn::linear(&dec / "fc2", 64, 288, Default::default())).add_fn(|x| x.relu())
        .add_fn_t(move |x, train| x.dropout(dropout, train))
        .add_fn(|x| x.view([-1, 32, 3, 3]))
        .add(up("deconv1", 32, 16, 0, 0)).add_fn(|x| x.relu())   // → 16×7×7
        .add(up("deconv2", 16, 8, 1, 1)).add_fn(|x| x.relu())    // → 8×14×14
        .add(up("deconv3", 8, 1, 1, 1)).add_fn(|x| x.sigmoid()); // → 1×28×28, pixels in (0, 1)
    ConvAutoencoder { encoder, decoder }
}

impl ConvAutoencoder {
    fn encode(&self, x: &Tensor, train: bool) -> Tensor { x.apply_t(&self.encoder, train) }
    fn decode(&self, z: &Tensor, train: bool) -> Tensor { z.apply_t(&self.decoder, train) }
}

impl nn::ModuleT for ConvAutoencoder {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.decode(&self.encode(x, train), train)
    }
}""")),
    md("""
Build it: seed libtorch's random stream (so the initial weights are the same every run), make a
variable store on the device, and list the weights it created.
"""),
    shared(code("""let device = runtime::device();
tch::manual_seed(ae_cfg.seed as i64);
let mut vs = nn::VarStore::new(device);
let model = conv_autoencoder(&vs.root(), 10, 0.5);""")),
    code("""let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
vars.sort_by(|a, b| a.0.cmp(&b.0));
let mut t = Table::new(["weights", "shape", "numbers"]).with_title("The network's weights");
for (name, v) in &vars {
    t.push_row([name.clone(), format!("{:?}", v.size()), v.numel().to_string()]);
}
t.push_row(["total".to_string(), String::new(), vars.iter().map(|(_, v)| v.numel()).sum::<usize>().to_string()]);
t"""),
    md("""
## One training step

A step takes one mini-batch of images and does four things: the **forward** pass (rebuild the
images, in train mode so dropout is on), the **loss** (mean squared error per pixel between the
rebuilt and the original images), the **backward** pass (gradients of the loss with respect to
every weight), and the **optimizer step** (Adam moves every weight a little against its gradient).
`opt.backward_step(&loss)` does the last two: zero the old gradients, backpropagate, step.

The held-out loss is the same loss in evaluation mode (dropout off) and without a step.
"""),
    shared(code("""/// One training step on one batch: forward, loss, backward, optimizer step. Returns the loss.
fn train_step(model: &ConvAutoencoder, opt: &mut Optimizer, images: &Tensor, _labels: &Tensor) -> Tensor {
    let rebuilt = model.forward_t(images, true);           // train mode: dropout on
    let loss = rebuilt.mse_loss(images, Reduction::Mean);  // MSE per pixel
    opt.backward_step(&loss);                              // zero grads, backward, Adam step
    loss
}

/// The loss on held-out images: evaluation mode (dropout off), no step.
fn test_loss(model: &ConvAutoencoder, images: &Tensor, _labels: &Tensor) -> Tensor {
    model.forward_t(images, false).mse_loss(images, Reduction::Mean)
}""")),
    md("""
Try the step by hand on a throwaway copy of the network: a few steps on the same batch of 64
images should lower that batch's loss.
"""),
    code("""{
let vs_try = nn::VarStore::new(device);
let try_model = conv_autoencoder(&vs_try.root(), 10, 0.5);
let mut opt = ae_cfg.optimizer.build(&vs_try)?;
let (x, y) = train.range(0, 64);
let (x, y) = (x.to_device(device), y.to_device(device));
let before = tch::no_grad(|| test_loss(&try_model, &x, &y)).double_value(&[]);
for _ in 0..20 { train_step(&try_model, &mut opt, &x, &y); }
let after = tch::no_grad(|| test_loss(&try_model, &x, &y)).double_value(&[]);
println!("20 steps on one batch: its loss went from {before:.4} to {after:.4}");
}"""),
    md("""
## Training

The library's loop does the rest: every epoch it visits the training images once in a seeded
random order, in mini-batches, calls `train_step` on each, then scores the test images with
`test_loss`. It prints one line per epoch with the time left, stops with a clear message if the
loss becomes NaN, and writes `config.json`, `history.json` and a `.safetensors` checkpoint into
the run folder after every epoch. It trains the weights in `vs` as they are: to start over, rerun
the cell that builds the model first (it draws fresh weights).

In the full profile without `retrain`, the shipped checkpoint (`data/checkpoints/ae-homework`,
trained with `latentlab ae train --profile full`) is loaded instead; with `retrain`, the notebook
prints the expected time first, measured on the shipped run.
"""),
    code("""let fit_cfg = FitConfig::from(&ae_cfg);
println!("{} epochs in batches of {}, {:?} at learning rate {} (weight decay {})",
    fit_cfg.epochs, fit_cfg.batch_size, fit_cfg.optimizer.kind, fit_cfg.optimizer.lr, fit_cfg.optimizer.weight_decay);
let run_dir = runtime::runs_dir().join(profile.name()).join("nb01-autoencoder");
let folder = RunFolder::new(&run_dir).or_shipped("ae-homework", profile);
let fitted = train::fit(&fit_cfg, &mut vs, &model, (&train, &test), train_step, test_loss, &folder, &mut Progress::Lines)?;
let metrics = train::reconstruction_metrics(&fitted, &vs, &model, &train, &test)?;
println!("run folder: {}", fitted.dir.display());"""),
    md("""
## Loss curves

Watch two things: both curves should fall steeply, then flatten; and the test loss sits *below*
the training loss. That is not a bug. The training loss is measured with dropout switched on
(half of the fully connected units silenced at random), the test loss with it off.
"""),
    code("""figures::loss_curves(&fitted.history, "Reconstruction loss (MSE per pixel)", "MSE")?"""),
    md("""
## Reconstructions

Top row: test images the network never trained on; bottom row: what it rebuilds from their
10-number codes. Shapes and overall brightness survive; fine texture, logos and stripes do not.
Ten numbers are not enough for them, and the squared error rewards a safe blurry average over a
sharp guess.
"""),
    code("""let idx = test.first_of_each_class(1);
let originals = figures::images_at(&test, &idx).to_device(device);
let rebuilt = tch::no_grad(|| model.forward_t(&originals, false));
figures::reconstruction_comparison(&test, &idx, &[("reconstructed", rebuilt.shallow_clone())], "Test images (top) and reconstructions (bottom)")?"""),
    md("""
## Numbers beside the homework's

MSE is per pixel, pixels in [0, 1], measured in evaluation mode. The homework trained 150 epochs
on the full data; compare the `full` profile's numbers with it (the `quick` profile is a short
run on a subset).
"""),
    code("""let mut t = Table::new(["measure", "latentlab", "homework"])
    .with_title(format!("Autoencoder, latent 10 ({profile} profile, {} epochs)", metrics.epochs));
t.push_row(["train MSE".to_string(), format!("{:.4}", metrics.train_mse), "0.0309".into()]);
t.push_row(["test MSE".to_string(), format!("{:.4}", metrics.test_mse), "0.0310".into()]);
t.push_row(["trainable parameters".to_string(), metrics.parameters.to_string(), "—".into()]);
t.push_row(["training time".to_string(), train::format_duration(metrics.seconds), "—".into()]);
t"""),
    md("""
## Exercises

Each exercise has a cell for you and a check cell that says whether your answer holds. The
exercises train on the first 4,000 training images for a few epochs, so each takes seconds to a
minute in any profile. The answers are in `notebooks/solutions/01_autoencoder.ipynb`.

**Exercise 1: a 2-d code.** Build the network with a code of 2 numbers instead of 10, train it
briefly with the same step, and compare its test loss with a 10-d code trained the same way. Both
go without dropout here: dropping one of two code units at random would erase half the code.
What does a 2-d code lose?
"""),
    shared(code("""/// Trains a fresh network for the exercises: `epochs` epochs on 4,000 training images.
fn exercise_fit(latent: i64, dropout: f64, epochs: usize,
    step: fn(&ConvAutoencoder, &mut Optimizer, &Tensor, &Tensor) -> Tensor,
    train: &Dataset, test: &Dataset, name: &str) -> Result<(ConvAutoencoder, f64)> {
    tch::manual_seed(1);
    let mut vs = nn::VarStore::new(runtime::device());
    let model = conv_autoencoder(&vs.root(), latent, dropout);
    let cfg = FitConfig { name: name.into(), epochs, batch_size: 64, seed: 1,
        optimizer: OptimizerConfig::adam(1e-3), schedule: LrSchedule::Constant };
    let dir = runtime::runs_dir().join("exercises").join(name);
    let fitted = train::fit(&cfg, &mut vs, &model, (&train.take(4000), &test.take(1000)),
        step, test_loss, &RunFolder::new(dir), &mut Progress::Lines)?;
    Ok((model, fitted.history.last().and_then(|e| e.test_loss).unwrap_or(f64::NAN)))
}
let (_, ten_d_loss) = exercise_fit(10, 0.0, 5, train_step, &train, &test, "ex-latent10")?; // no dropout""")),
    exercise("""let code_size: i64 = 10; // your answer: the size of the code
let (small, small_loss) = exercise_fit(code_size, 0.0, 5, train_step, &train, &test, "ex-latent-small")?;"""),
    solution("""let code_size: i64 = 2;
let (small, small_loss) = exercise_fit(code_size, 0.0, 5, train_step, &train, &test, "ex-latent-small")?;"""),
    shared(code("""let (x, _) = test.range(0, 5);
let z = tch::no_grad(|| small.encode(&x.to_device(runtime::device()), false));
exercise::check("Exercise 1", z.size() == vec![5, 2], &format!("the code of 5 images has shape {:?}", z.size()),
    "set code_size to 2");
exercise::check_less("Exercise 1", "a 2-d code rebuilds worse than a 10-d one",
    ("10-d test MSE", ten_d_loss), ("2-d test MSE", small_loss), "train both the same way");""")),
    md("""
**Exercise 2: an L1 loss.** Write a training step that minimises the mean *absolute* error per
pixel (`l1_loss`) instead of the squared one. The check runs one step of yours on a network
without dropout and compares the loss it returns with the L1 error it should have measured.
"""),
    exercise("""fn l1_step(model: &ConvAutoencoder, opt: &mut Optimizer, images: &Tensor, _labels: &Tensor) -> Tensor {
    let rebuilt = model.forward_t(images, true);
    let loss = rebuilt.mse_loss(images, Reduction::Mean); // your answer: the L1 loss
    opt.backward_step(&loss);
    loss
}"""),
    solution("""fn l1_step(model: &ConvAutoencoder, opt: &mut Optimizer, images: &Tensor, _labels: &Tensor) -> Tensor {
    let rebuilt = model.forward_t(images, true);
    let loss = rebuilt.l1_loss(images, Reduction::Mean);
    opt.backward_step(&loss);
    loss
}"""),
    shared(code("""{
let dev = runtime::device();
tch::manual_seed(3);
let vs_l1 = nn::VarStore::new(dev);
let m = conv_autoencoder(&vs_l1.root(), 10, 0.0); // no dropout: the forward pass is deterministic
let mut opt = OptimizerConfig::adam(1e-3).build(&vs_l1)?;
let (x, y) = train.range(0, 32);
let (x, y) = (x.to_device(dev), y.to_device(dev));
let expected = tch::no_grad(|| (m.forward_t(&x, false) - &x).abs().mean(Kind::Float)).double_value(&[]);
let got = l1_step(&m, &mut opt, &x, &y).double_value(&[]);
exercise::check("Exercise 2", (got - expected).abs() < 1e-5,
    &format!("your step returned {got:.5}; the mean absolute error of the batch was {expected:.5}"),
    "use rebuilt.l1_loss(images, Reduction::Mean)");
}""")),
    md("""
**Exercise 3: dropout at the bottleneck.** The homework put dropout 0.5 right next to the
10-number code. Train the network with the homework's dropout (same epochs, same images) and
check whether it rebuilds the test images worse than the one without dropout of exercise 1. Why would dropping half of 64 units before a
10-number code hurt an autoencoder more than a classifier?
"""),
    exercise("""let dropout = 0.0; // your answer: the homework's dropout
let (_, dropout_loss) = exercise_fit(10, dropout, 5, train_step, &train, &test, "ex-dropout")?;"""),
    solution("""let dropout = 0.5;
let (_, dropout_loss) = exercise_fit(10, dropout, 5, train_step, &train, &test, "ex-dropout")?;"""),
    shared(code("""exercise::check_less("Exercise 3", "without dropout the test images are rebuilt better",
    ("no-dropout test MSE", ten_d_loss), (&format!("dropout-{dropout} test MSE"), dropout_loss),
    "set dropout to 0.5");""")),
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
stopped. The `quick` profile runs a small grid with few folds on a subset; `full` runs the
homework's whole grid with k = 5 (the cell below prints the sizes, and the time the shipped
search's trainings added up to). The full profile loads the shipped results of that search from
`data/checkpoints/search` unless `retrain` is on. A few epochs per fold rank the configurations by
how fast they learn, not by where they end up after 150 epochs: read the ranking with that in
mind.
"""),
    *SETUP,
    shared(code("""let search = SearchConfig::homework(profile);
let candidates = search.candidates()?;
println!("{} configurations × {} folds, {} epochs per fold", candidates.len(), search.folds, search.base.epochs);
let (train, test) = search.base.load_data()?;
let dir = runtime::runs_dir().join(profile.name()).join("search");
let results = train::search_or_load(&search, &train, &dir, &mut Progress::Lines)?;
let fold_seconds: f64 = results.folds.iter().map(|f| f.seconds).sum();
println!("{} trainings, {} of training in all", results.folds.len(), train::format_duration(fold_seconds));""")),
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
    code("""let best = results.best().expect("at least one configuration").clone();
println!("best: {} (mean validation MSE {:.5} ± {:.5})", best.candidate.id, best.mean, best.std);
figures::fold_curves(&results, &best.candidate.id)?"""),
    md("""
## Random search on the same budget

A grid spends its budget evenly on every value of every axis, even on an axis that barely
matters. **Random search** draws each configuration at random from the same ranges: with the
same number of trainings it tries as many *different* learning rates and weight decays as it has
configurations, instead of three of each. When only one or two axes matter, that usually finds a
better value of them (Bergstra and Bengio, 2012). Here it gets exactly the grid's budget: as many
configurations, the same folds, epochs and images. Learning rates are drawn log-uniformly
between the grid's smallest and largest, and so are weight decays, with no decay one time in three.
"""),
    code("""let random = SearchConfig::random(profile);
println!("{} random configurations × {} folds, {} epochs per fold", random.candidates()?.len(), random.folds, random.base.epochs);
let shipped_random = runtime::shipped(profile, "search-random").is_some();
let random_results = if profile == Profile::Full && !shipped_random && !runtime::retrain_requested() {
    println!("the full-profile random search is not shipped yet: set retrain = true to run it here (it costs as much as the grid search above)");
    None
} else {
    let dir = runtime::runs_dir().join(profile.name()).join("search-random");
    Some(train::search_or_load_as("search-random", &random, &train, &dir, &mut Progress::Lines)?)
};"""),
    md("""
The best configuration each search found, and its mean validation error over the folds. Read
the difference against the standard deviations: within them, the two searches found equally good
configurations.
"""),
    code("""let mut t = Table::new(["search", "configurations", "best configuration", "mean validation MSE", "std over folds"])
    .with_title(format!("Grid against random search, same budget ({profile} profile)"));
let mut searches = vec![("grid", results.clone())];
if let Some(r) = &random_results { searches.push(("random", r.clone())); }
for (name, r) in &searches {
    let b = r.best().expect("at least one configuration");
    t.push_row([name.to_string(), r.rows.len().to_string(), b.candidate.id.clone(), format!("{:.5}", b.mean), format!("{:.5}", b.std)]);
}
t"""),
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
    let d = runtime::runs_dir().join(profile.name()).join(format!("ae-{}", c.name));
    loss_runs.push((loss, train_or_load_autoencoder(&c, &tr, &te, &d, &mut Progress::Lines)?));
}
let idx = test.first_of_each_class(1);
{
    let rows: Vec<(&str, Tensor)> = loss_runs.iter()
        .map(|(l, r)| (l.name(), figures::reconstruct_at(&r.model, &test, &idx)))
        .collect();
    figures::reconstruction_comparison(&test, &idx, &rows, "Reconstructions with MSE, L1 and Huber loss")?
}"""),
    md("""
## Which optimizer? Adam, SGD with momentum, RMSprop

The homework also tried SGD with momentum and RMSprop and found them "very similar or slightly
worse than Adam". Here is that comparison, on the same network, loss, data and epochs: Adam at
the homework's learning rate, SGD with momentum, and RMSprop, each at the rate the table below
prints. SGD needs a larger rate than the adaptive methods: with a ten times smaller one it sat for
many epochs on the plateau where the network outputs the mean image whatever the input (the
adaptive methods scale each weight's step and leave it sooner). The
Adam run is the MSE run of the loss comparison above. Each curve is the test loss after every
epoch.
"""),
    code("""let mut opt_runs = Vec::new();
for kind in [OptimizerKind::Adam, OptimizerKind::Sgd, OptimizerKind::RmsProp] {
    let c = AutoencoderConfig::optimizer_comparison(profile, kind);
    let (tr, te) = c.load_data()?;
    let d = runtime::runs_dir().join(profile.name()).join(format!("ae-{}", c.name));
    opt_runs.push((kind, train_or_load_autoencoder(&c, &tr, &te, &d, &mut Progress::Lines)?));
}
{
let curves: Vec<(String, &History)> = opt_runs.iter()
    .map(|(k, r)| (format!("{k:?}, lr {}", r.config.optimizer.lr), &r.history)).collect();
let named: Vec<(&str, &History)> = curves.iter().map(|(n, h)| (n.as_str(), *h)).collect();
figures::compare_curves(&named, &[], "Test MSE per epoch with three optimizers (homework network)", "test MSE")?
}"""),
    code("""let mut t = Table::new(["optimizer", "learning rate", "epochs", "test MSE", "training time"])
    .with_title(format!("Optimizer comparison ({profile} profile)"));
for (k, r) in &opt_runs {
    let m = r.metrics.as_ref().expect("metrics");
    t.push_row([format!("{k:?}"), r.config.optimizer.lr.to_string(), m.epochs.to_string(), format!("{:.4}", m.test_mse), train::format_duration(m.seconds)]);
}
t"""),
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
    code("""{
    let rows = vec![
        ("PCA-10", pca_model.reconstruct(&figures::images_at(&test, &idx))?),
        ("homework AE", figures::reconstruct_at(&homework.model, &test, &idx)),
        ("improved AE", figures::reconstruct_at(&improved.model, &test, &idx)),
    ];
    figures::reconstruction_comparison(&test, &idx, &rows, "PCA-10 against the two autoencoders (latent 10)")?
}"""),
    md("""
## Numbers beside the homework's

Test MSE per pixel (pixels in [0, 1]) on the test images of this profile. The homework reported
0.0310 for its autoencoder and did not measure PCA.
"""),
    code("""{
let mse = |r: &AutoencoderRun| -> f64 { r.metrics.as_ref().map(|m| m.test_mse).unwrap_or(f64::NAN) };
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
t
}"""),
    md("""
## Exercises

The answers are in `notebooks/solutions/02_grid_search.ipynb`.

**Exercise 1: k folds by hand.** Split 100 images into 5 folds with `latentlab::data::kfold_splits`
and check what cross-validation needs: every image is validated exactly once, and never in a fold
it trained on.
"""),
    exercise("""let folds = latentlab::data::kfold_splits(100, 2, 7)?; // your answer: 5 folds"""),
    solution("""let folds = latentlab::data::kfold_splits(100, 5, 7)?;"""),
    shared(code("""{
let mut seen = vec![0; 100];
for f in &folds { for &i in &f.valid { seen[i as usize] += 1; } }
let disjoint = folds.iter().all(|f| f.valid.iter().all(|i| !f.train.contains(i)));
exercise::check("Exercise 1", folds.len() == 5 && seen.iter().all(|&c| c == 1) && disjoint,
    &format!("{} folds; every image validated exactly once: {}; no image both trains and validates in a fold: {disjoint}",
        folds.len(), seen.iter().all(|&c| c == 1)),
    "kfold_splits(100, 5, seed)");
}""")),
    md("""
**Exercise 2: read the ranking.** Compute the mean and the (population) standard deviation of the
best configuration's per-fold validation errors yourself, from `per_fold`, and compare them with
the table. Then decide: is the runner-up worse than the winner by more than one standard
deviation?
"""),
    exercise("""let per_fold = results.best().unwrap().per_fold.clone();
let my_mean = 0.0; // your answer
let my_std = 0.0;  // your answer"""),
    solution("""let per_fold = results.best().unwrap().per_fold.clone();
let my_mean = per_fold.iter().sum::<f64>() / per_fold.len() as f64;
let my_std = (per_fold.iter().map(|v| (v - my_mean).powi(2)).sum::<f64>() / per_fold.len() as f64).sqrt();"""),
    shared(code("""{
let b = results.best().unwrap();
exercise::check("Exercise 2", (my_mean - b.mean).abs() < 1e-9 && (my_std - b.std).abs() < 1e-9,
    &format!("mean {my_mean:.5} and std {my_std:.5} against the table's {:.5} and {:.5}", b.mean, b.std),
    "mean = sum / n; std = sqrt(sum of squared deviations / n)");
if results.rows.len() > 1 {
    let gap = results.rows[1].mean - b.mean;
    println!("the runner-up is {gap:.5} behind, {:.1} standard deviations of the winner", gap / b.std.max(1e-12));
}
}""")),
]


NOTEBOOKS["03_finetuning"] = [
    md("""
# 3 · Supervised fine-tuning: from codes to classes

The autoencoder learned its 10-number codes without ever seeing a label. Do those codes know what
the clothes *are*? We attach a **matcher** — a single linear layer from the 10-d code to 10 class
scores — and train it in two phases, as the homework did:

1. **Matcher only**: the encoder and decoder are frozen; only the matcher learns, with
   cross-entropy. This measures how *linearly* readable the class is from the unsupervised code.
2. **Everything together**: encoder, decoder and matcher are trained jointly on
   `reconstruction MSE + w · cross-entropy`. The gradients of both losses flow into the encoder, so
   the code is pushed to stay good for reconstruction *and* become good for classification.

What to watch: phase 1 accuracy is modest (the code was never asked to separate classes);
phase 2 lifts it a lot, and the question is how much reconstruction quality that costs.
"""),
    *SETUP,
    shared(code("""let ae_cfg = AutoencoderConfig::homework(profile);
let (train, test) = ae_cfg.load_data()?;
let ft_cfg = FinetuneConfig::for_profile(profile);
println!("{} matcher epochs, then {} joint epochs, classification weight {}",
    ft_cfg.matcher_epochs, ft_cfg.joint_epochs, ft_cfg.classification_weight);
let runs = runtime::runs_dir().join(profile.name());
let before = train_or_load_autoencoder(&ae_cfg, &train, &test, &runs.join("ae-homework"), &mut Progress::Lines)?;
let idx = test.first_of_each_class(1);
let recon_before = figures::reconstruct_at(&before.model, &test, &idx);""")),
    md("""
## The joint step

Phase 1 is ordinary classifier training on fixed inputs. Phase 2 is where the idea lives, so here
is its step, the one the loop below trains with. One batch: encode it (train mode, so dropout is
on), rebuild it from the code, and score the code with the matcher. The loss is *one* number,
`reconstruction + w · cross-entropy`, so one backward pass sends both goals' gradients into the
encoder, where they meet. Then both optimizers step: the autoencoder's and the matcher's.
Change the loss here (another weight, L1 instead of MSE, a term of your own) and rerun the
fine-tuning cell: it trains with your step.
"""),
    shared(code("""/// One joint step. Returns (reconstruction loss, cross-entropy) of the batch.
fn joint_step(ae: &Autoencoder, matcher: &Matcher, opts: (&mut Optimizer, &mut Optimizer),
              images: &Tensor, labels: &Tensor, weight: f64) -> (Tensor, Tensor) {
    let (opt_ae, opt_m) = opts;
    let code = ae.encode(images, true);
    let reconstruction = ae.decode(&code, true).mse_loss(images, Reduction::Mean);
    let classification = matcher.forward(&code).cross_entropy_for_logits(labels);
    let loss = &reconstruction + weight * &classification; // one loss, two goals
    opt_ae.zero_grad();
    opt_m.zero_grad();
    loss.backward(); // both terms' gradients meet in the encoder
    opt_ae.step();
    opt_m.step();
    (reconstruction, classification)
}""")),
    shared(code("""let w = ft_cfg.classification_weight;
let (ae, ft) = train::finetune_or_load_with(&ae_cfg, &ft_cfg, (&train, &test), (&runs, "nb03-finetuned-homework"),
    &mut Progress::Lines, |m, matcher, opts, x, y| joint_step(m, matcher, opts, x, y, w))?;
let m = ft.metrics.clone().expect("metrics");
println!("this run: {} matcher epochs, {} joint epochs from learning rate {} ({:?} schedule), classification weight {}",
    ft.config.matcher_epochs, ft.config.joint_epochs, ft.config.joint_optimizer.lr, ft.config.joint_schedule, ft.config.classification_weight);
println!("matcher only: train {:.1}%, test {:.1}%", 100.0 * m.matcher_only_train_accuracy, 100.0 * m.matcher_only_test_accuracy);
println!("fine-tuned:   train {:.1}%, test {:.1}%", 100.0 * m.finetuned_train_accuracy, 100.0 * m.finetuned_test_accuracy);
println!("test MSE {:.4} -> {:.4} ({:+.1}%)", m.test_mse_before, m.test_mse_after, 100.0 * (m.test_mse_after / m.test_mse_before - 1.0));""")),
    md("""
## Losses during fine-tuning

The homework's figure 7. Left of the marker only the matcher trains and its cross-entropy
levels off early: a straight line through the frozen code can only do so much. Right of it the
whole network adapts and the cross-entropy falls much further, while the reconstruction error
moves much less: the classification weight (printed above, with the run's other settings) keeps
reconstruction the dominant goal. It does rise, though, by the percentage printed above. That
weight is the dial of this trade: a larger one buys accuracy with reconstruction error
(exercise 3 below asks you to try).
"""),
    code("""figures::finetune_curves(&ft)?"""),
    md("""
Test accuracy through both phases: the jump at the marker is the value of letting the encoder
itself learn from labels.
"""),
    code("""figures::finetune_accuracy(&ft)?"""),
    md("""
## Reconstructions before and after

The same test images rebuilt by the autoencoder before and after fine-tuning. Differences are
hard to see, as the homework noticed, although the measured error grows (by the percentage
printed above): ten numbers cannot carry everything, and some of them now have to separate
classes.
"""),
    code("""let recon_after = figures::reconstruct_at(&ae.model, &test, &idx);
figures::reconstruction_comparison(&test, &idx, &[("before", recon_before.shallow_clone()), ("after", recon_after.shallow_clone())],
    "Reconstructions before and after fine-tuning")?"""),
    md("""
## Fine-tuning a model trained with the L1 loss

The homework's figure 6: the autoencoder trained with the L1 loss (notebook 2's loss comparison),
fine-tuned the same way with L1 as its reconstruction loss. L1 punishes every error in proportion,
so it does not hedge towards a grey average the way MSE does: look for flatter shading and
sharper silhouettes in both rows, and for whether the fine-tuning changes them.
"""),
    code("""let l1_cfg = AutoencoderConfig::loss_comparison(profile, LossKind::L1);
let l1_ft_cfg = FinetuneConfig { reconstruction_loss: LossKind::L1, ..FinetuneConfig::for_profile(profile) };
let l1_before = train_or_load_autoencoder(&l1_cfg, &train, &test, &runs.join("ae-loss-l1"), &mut Progress::Lines)?;
let l1_recon_before = figures::reconstruct_at(&l1_before.model, &test, &idx);
let (l1_ae, l1_ft) = train::finetune_or_load(&l1_cfg, &l1_ft_cfg, &train, &test, &runs, &mut Progress::Lines)?;
let l1m = l1_ft.metrics.clone().expect("metrics");
println!("L1 model: matcher only {:.1}%, fine-tuned {:.1}%, test MSE {:.4} -> {:.4}",
    100.0 * l1m.matcher_only_test_accuracy, 100.0 * l1m.finetuned_test_accuracy, l1m.test_mse_before, l1m.test_mse_after);
figures::reconstruction_comparison(&test, &idx, &[
    ("L1, before", l1_recon_before.shallow_clone()),
    ("L1, fine-tuned", figures::reconstruct_at(&l1_ae.model, &test, &idx)),
    ("MSE, fine-tuned", figures::reconstruct_at(&ae.model, &test, &idx)),
], "L1 loss: reconstructions before and after fine-tuning, beside the MSE model")?"""),
    md("""
## Which classes get confused?

Rows are true classes, columns predictions. Expect trousers, bags, sandals and sneakers to be
nearly perfect, and the upper-body garments — T-shirt, pullover, coat, shirt — to bleed into each
other: on a 28×28 silhouette a shirt and a T-shirt differ by a collar and some buttons.
"""),
    code("""let (_, predicted) = train::classify(&ae, &ft.matcher, &test);
figures::confusion(&predicted, &test.label_vec(), &test.class_names(), "Confusion matrix on the test set (fine-tuned homework model)")?"""),
    md("""
## The improved autoencoder, fine-tuned the same way

The improved network (batch norm, wider, no dropout) goes through the same two phases. Its
unsupervised code is already far more linearly separable, and after joint training it classifies
better while its reconstruction error stays far below the homework model's.
"""),
    code("""let imp_cfg = AutoencoderConfig::improved(profile);
let (imp_ae, imp_ft) = train::finetune_or_load(&imp_cfg, &ft_cfg, &train, &test, &runs, &mut Progress::Lines)?;
let im = imp_ft.metrics.clone().expect("metrics");
println!("improved: matcher only {:.1}%, fine-tuned {:.1}%, test MSE {:.4} -> {:.4}",
    100.0 * im.matcher_only_test_accuracy, 100.0 * im.finetuned_test_accuracy, im.test_mse_before, im.test_mse_after);
let _ = &imp_ae;"""),
    md("""
## The homework's first idea: make the code *be* the class

Instead of a matcher, the 10 code units themselves are read as class scores: the encoder's output
goes through a softmax, cross-entropy pulls it towards the label, and the decoder only ever sees
that probability vector. We start from the trained homework autoencoder and tune it this way.

The heatmaps show the softmax of the code for one test image per class (the homework's figures
12 and 13). Before tuning the units mean nothing in particular: the mass lands on arbitrary units,
the same unit wins for unrelated garments. After tuning, each row is almost one-hot, on the
diagonal: the code has become a classifier's output.
"""),
    code("""let sm_cfg = train::SoftmaxLatentConfig::for_profile(profile);
let pre = figures::images_at(&test, &idx);
let soft_before = train::softmax_latent::softmax_codes(&before, &pre);
let sm = train::softmax_latent_or_train(
    || train_or_load_autoencoder(&ae_cfg, &train, &test, &runs.join("ae-homework"), &mut Progress::Lines),
    &sm_cfg, &train, &test, &runs, &mut Progress::Lines)?;
let smm = sm.metrics.clone().expect("metrics");
println!("softmax code: test accuracy {:.1}% (before tuning {:.1}%), test MSE {:.4} (plain autoencoder {:.4})",
    100.0 * smm.test_accuracy_after, 100.0 * smm.test_accuracy_before, smm.test_mse_after, smm.test_mse_before);
let names = test.class_names();
let row_labels: Vec<String> = idx.iter().map(|&i| names[test.label_vec()[i] as usize].clone()).collect();
figures::activations(&soft_before, &row_labels, &names, "Softmax of the pretrained encoder's code (before tuning)")?"""),
    code("""figures::activations(&train::softmax_latent::softmax_codes(&sm.ae, &pre), &row_labels, &names,
    "Code after tuning: the softmax over the 10 units")?"""),
    md("""
The price. The decoder now sees nothing but "how much of each class", so every image of a class is
rebuilt as nearly the same picture: an average garment of that class. Generating a class is
trivial (decode a one-hot vector, bottom row), but every sample of it is the same picture. This is
the trade-off the homework describes, and why it moved on to a matcher.
"""),
    code("""let onehot = Tensor::eye(10, (Kind::Float, sm.ae.vs.device()));
let decoded = tch::no_grad(|| sm.ae.model.decode(&onehot, false));
figures::reconstruction_comparison(&test, &idx, &[
    ("plain AE", recon_before.shallow_clone()),
    ("softmax code", train::softmax_latent::softmax_reconstruct(&sm.ae, &pre)),
    ("one-hot code", decoded),
], "Reconstructions through a softmax code, and images decoded from one-hot codes")?"""),
    md("""
## The second idea: a 2-d code you can look at

With only two code units, the whole latent space is a plane we can draw. The homework's network is
trained with a 2-d code (no dropout: dropping one of two units would erase half the code), then
fine-tuned with a matcher exactly as above. The scatter shows where the test images land, coloured
by class: fine-tuning pulls the classes into separate regions, but ten classes in two dimensions
still overlap — the upper-body garments most of all.
"""),
    code("""let plane_cfg = AutoencoderConfig::plane(profile);
let (plane_ae, plane_ft) = train::finetune_or_load(&plane_cfg, &ft_cfg, &train, &test, &runs, &mut Progress::Lines)?;
let pm = plane_ft.metrics.clone().expect("metrics");
println!("2-d code: matcher only {:.1}%, fine-tuned {:.1}%, test MSE {:.4} -> {:.4}",
    100.0 * pm.matcher_only_test_accuracy, 100.0 * pm.finetuned_test_accuracy, pm.test_mse_before, pm.test_mse_after);
let plane_codes = analysis::encode_dataset(&plane_ae.model, &test);
figures::code_plane(&plane_codes, &test, "Test images on the 2-d code plane (fine-tuned)")?"""),
    md("""
The **latent manifold**: images decoded from a regular grid over the same plane (axes in code
units, between the 1st and the 99th percentile of the test codes). Walking across the grid morphs one garment into
another; compare its regions with the colours of the scatter plot above. Every point of the plane
decodes to *something*, which is what makes a 2-d code so easy to sample from, and so blurry.
"""),
    code("""let xr = analysis::code_range(&plane_codes, 0, 0.01, 0.99)?;
let yr = analysis::code_range(&plane_codes, 1, 0.01, 0.99)?;
figures::latent_manifold(&plane_ae.model, xr, yr, 15, "Images decoded from a 15×15 grid over the code plane")?"""),
    md("""
## Numbers beside the homework's

Accuracy on the test set of this profile; MSE per pixel. The project's target for the improved
model is printed under the table.
"""),
    code("""{
let pct = |x: f64| format!("{:.1}%", 100.0 * x);
let mut t = Table::new(["measure", "homework AE", "improved AE", "homework report"])
    .with_title(format!("Fine-tuning on Fashion-MNIST ({profile} profile)"));
t.push_row(["matcher only, train accuracy".to_string(), pct(m.matcher_only_train_accuracy), pct(im.matcher_only_train_accuracy), "33.1%".into()]);
t.push_row(["matcher only, test accuracy".to_string(), pct(m.matcher_only_test_accuracy), pct(im.matcher_only_test_accuracy), "32.6%".into()]);
t.push_row(["fine-tuned, train accuracy".to_string(), pct(m.finetuned_train_accuracy), pct(im.finetuned_train_accuracy), "91.0%".into()]);
t.push_row(["fine-tuned, test accuracy".to_string(), pct(m.finetuned_test_accuracy), pct(im.finetuned_test_accuracy), "87.7%".into()]);
t.push_row(["test MSE before".to_string(), format!("{:.4}", m.test_mse_before), format!("{:.4}", im.test_mse_before), "0.0310".into()]);
t.push_row(["test MSE after".to_string(), format!("{:.4}", m.test_mse_after), format!("{:.4}", im.test_mse_after), "≈ same".into()]);
t.push_row(["softmax code: test accuracy / MSE".to_string(), format!("{} / {:.4}", pct(smm.test_accuracy_after), smm.test_mse_after), "—".into(), "not reported".into()]);
t.push_row(["2-d code + matcher: test accuracy / MSE".to_string(), format!("{} / {:.4}", pct(pm.finetuned_test_accuracy), pm.test_mse_after), "—".into(), "not reported".into()]);
t.push_row(["L1-trained AE: fine-tuned test accuracy / MSE before → after".to_string(),
    format!("{} / {:.4} → {:.4}", pct(l1m.finetuned_test_accuracy), l1m.test_mse_before, l1m.test_mse_after), "—".into(), "figures only".into()]);
println!("target for the improved model (full profile): test accuracy at least 91%, test MSE at most 10% above its value before fine-tuning");
t
}"""),
    md("""
## Exercises

The answers are in `notebooks/solutions/03_finetuning.ipynb`.

**Exercise 1: accuracy from predictions.** `train::classify` returned the fine-tuned homework
model's predicted class for every test image (`predicted`), and its accuracy. Compute the test
accuracy from the predictions and the labels yourself, and compare.
"""),
    shared(code("""let (accuracy, predicted) = train::classify(&ae, &ft.matcher, &test);
let labels = test.label_vec();""")),
    exercise("""let my_accuracy = 0.0; // your answer: the share of predicted[i] == labels[i]"""),
    solution("""let my_accuracy = predicted.iter().zip(&labels).filter(|(p, l)| p == l).count() as f64 / labels.len() as f64;"""),
    shared(code("""exercise::check("Exercise 1", (my_accuracy - accuracy).abs() < 1e-9,
    &format!("your accuracy {:.4} against the library's {:.4} (metrics.json: {:.4})", my_accuracy, accuracy, m.finetuned_test_accuracy),
    "count the matches and divide by the number of test images");""")),
    md("""
**Exercise 2: a matcher by hand.** The matcher is one linear layer from the code to ten class
scores. Build one with `nn::linear` for the homework model's code size, apply it to the codes of
five test images (encoded by the homework model), and check the shape and that its softmax rows sum to one.
"""),
    exercise("""let vs_m = nn::VarStore::new(device);
let my_matcher = nn::linear(&vs_m.root() / "matcher", 10, 1, Default::default()); // your answer"""),
    solution("""let vs_m = nn::VarStore::new(device);
let my_matcher = nn::linear(&vs_m.root() / "matcher", 10, 10, Default::default());"""),
    shared(code("""{
let (x, _) = test.range(0, 5);
let z = tch::no_grad(|| before.model.encode(&x.to_device(device), false));
let scores = z.apply(&my_matcher);
let sums = scores.softmax(-1, Kind::Float).sum_dim_intlist(1, false, Kind::Float);
let ok_sums = (sums - 1.0).abs().max().double_value(&[]) < 1e-5;
exercise::check("Exercise 2", scores.size() == vec![5, 10] && ok_sums,
    &format!("class scores of shape {:?}; softmax rows sum to one: {ok_sums}", scores.size()),
    "nn::linear(path, 10, 10, Default::default())");
}""")),
    md("""
**Exercise 3 (longer): the classification weight.** Fine-tune the homework model again with a
larger classification weight, and compare accuracy and reconstruction error with the weight used
above. To keep it short in any profile, the check cell fine-tunes both weights the same way, from
the same autoencoder, on the first 4,000 training images with the quick profile's epochs.
"""),
    exercise("""let heavier_weight = ft_cfg.classification_weight; // your answer: a larger weight"""),
    solution("""let heavier_weight = 10.0 * ft_cfg.classification_weight;"""),
    shared(code("""{
let done = heavier_weight > ft_cfg.classification_weight;
exercise::check("Exercise 3", done, &format!("classification weight {heavier_weight} against {}", ft_cfg.classification_weight),
    "multiply the weight by 10");
if done {
    let small = train.take(4000);
    for w in [ft_cfg.classification_weight, heavier_weight] {
        let cfg = FinetuneConfig { classification_weight: w, ..FinetuneConfig::for_profile(Profile::Quick) };
        let mut ae_w = train_or_load_autoencoder(&ae_cfg, &train, &test, &runs.join("ae-homework"), &mut Progress::Silent)?;
        let r = train::finetune(&mut ae_w, &cfg, &small, &test, None, &mut Progress::Silent)?;
        let mw = r.metrics.clone().expect("metrics");
        println!("weight {w}: test accuracy {:.1}%, test MSE {:.4} -> {:.4}",
            100.0 * mw.finetuned_test_accuracy, mw.test_mse_before, mw.test_mse_after);
    }
}
}""")),
]


NOTEBOOKS["04_latent_space"] = [
    md("""
# 4 · Exploring the latent space, and generating new clothes

Every test image becomes a point in the 10-d code space of the fine-tuned autoencoder. We cannot
look at 10 dimensions, so we flatten them to a plane in two ways:

- **PCA** keeps the two directions of largest spread — a faithful *linear* shadow, but classes that
  are separated along other directions land on top of each other.
- **t-SNE** keeps *neighbourhoods*: points close in 10-d stay close on the plane. Distances between
  far-apart clusters and cluster sizes mean little; which points sit together means a lot.

Then we use the code space to **generate**: for each class we take the images the classifier is
most sure about, average their codes into a *prototype*, add Gaussian noise scaled by the spread
of those codes, and decode.
"""),
    *SETUP,
    shared(code("""let ae_cfg = AutoencoderConfig::improved(profile);
let (train, test) = ae_cfg.load_data()?;
let runs = runtime::runs_dir().join(profile.name());
let (ae, ft) = train::finetune_or_load(&ae_cfg, &FinetuneConfig::for_profile(profile), &train, &test, &runs, &mut Progress::Lines)?;
let codes = analysis::encode_dataset(&ae.model, &test);
let labels = test.label_vec();
let classes: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
println!("encoded {} test images into {:?} codes", test.len(), codes.size());""")),
    md("""
## PCA of the codes

Look for the footwear (sandal, sneaker, ankle boot) and the trousers and bags: they form their own
regions. The four upper-body garments pile up in one cloud — in two linear dimensions they
overlap even though the classifier separates them well in ten.
"""),
    code("""let m: ndarray::Array2<f64> = analysis::tensor_to_matrix(&codes)?;
let p = analysis::pca_project(&m)?;
println!("explained variance: PC1 {:.1}%, PC2 {:.1}%", 100.0 * p.explained_variance_ratio[0], 100.0 * p.explained_variance_ratio[1]);
scatter_plot("PCA of the test codes", "PC 1", "PC 2", &p.points, &classes, &test.class_names())?"""),
    md("""
## t-SNE of the codes

Our own Barnes–Hut t-SNE (perplexity 30, 1,000 iterations; the time it took is printed below). Now most classes form their own islands; the ones that touch — shirt with
T-shirt, pullover with coat — are exactly the pairs the confusion matrix mixed up.
"""),
    code("""let params = analysis::TsneParams::default();
let ts = analysis::tsne_2d(&m, &params)?;
println!("t-SNE of {} points in {:.1}s (KL divergence {:.3})", ts.embedding.len(), ts.seconds, ts.kl_divergence);
scatter_plot("t-SNE of the test codes", "t-SNE 1", "t-SNE 2", &ts.embedding, &classes, &test.class_names())?"""),
    md("""
## The homework's model, projected the same way

The homework drew these plots for its own autoencoder: the 10-d code with dropout, fine-tuned
with a matcher. Here are its test codes, PCA and t-SNE with the same settings, beside the
improved model's above. Look at how much the upper-body garments and the footwear overlap in
each, and at the explained variance printed for each PCA.
"""),
    code("""let hw_cfg = AutoencoderConfig::homework(profile);
let (hw_ae, _hw_ft) = train::finetune_or_load(&hw_cfg, &FinetuneConfig::for_profile(profile), &train, &test, &runs, &mut Progress::Lines)?;
let hw_m: ndarray::Array2<f64> = analysis::tensor_to_matrix(&analysis::encode_dataset(&hw_ae.model, &test))?;
let hw_p = analysis::pca_project(&hw_m)?;
println!("homework model, explained variance: PC1 {:.1}%, PC2 {:.1}% (improved model: {:.1}%, {:.1}%)",
    100.0 * hw_p.explained_variance_ratio[0], 100.0 * hw_p.explained_variance_ratio[1],
    100.0 * p.explained_variance_ratio[0], 100.0 * p.explained_variance_ratio[1]);
scatter_plot("PCA of the homework model's test codes", "PC 1", "PC 2", &hw_p.points, &classes, &test.class_names())?"""),
    code("""let hw_ts = analysis::tsne_2d(&hw_m, &params)?;
println!("t-SNE of {} points in {:.1}s (KL divergence {:.3}; improved model {:.3})", hw_ts.embedding.len(), hw_ts.seconds, hw_ts.kl_divergence, ts.kl_divergence);
scatter_plot("t-SNE of the homework model's test codes", "t-SNE 1", "t-SNE 2", &hw_ts.embedding, &classes, &test.class_names())?"""),
    md("""
## Class prototypes and new samples

For each class we keep the 50 test images the fine-tuned classifier is most confident about,
and compute the mean and standard deviation of their codes. New codes are `mean + scale · std · ε`
with ε ~ N(0, 1). With scale 1 the samples stay recognisable; each row is one class.
"""),
    shared(code("""let probs = ft.predict_proba(&ae, &test.images_f32());
let protos = analysis::class_prototypes(&codes, &probs.to_device(Device::Cpu), test.labels(), 50)?;
let generated = analysis::generate_by_class(&ae.model, &protos, 10, 1.0, 7);
figures::class_rows(&generated, &test.class_names(), "Generated samples, noise scale 1 (one row per class)")?""")),
    md("""
## Does the noise scale fix the "little variation"?

The homework saw little variation among its samples. Here we measure it: for several noise scales,
the share of generated images the classifier assigns to the intended class, and their variety (mean
pairwise pixel distance within a class) next to the variety of real test images of that class. More
noise gives more variety but, past some scale, samples drift into neighbouring classes.
"""),
    code("""let quality = analysis::generation_quality(&ae, &ft, &protos, &test, &[0.5, 1.0, 2.0, 3.0], 20, 11);
let mut t = Table::new(["noise scale", "intended class", "variety (generated)", "variety (real)"])
    .with_title("Generated samples: correctness against variety");
for q in &quality {
    t.push_row([format!("{:.1}", q.scale), format!("{:.1}%", 100.0 * q.intended_class_rate),
        format!("{:.2}", q.generated_variety), format!("{:.2}", q.real_variety)]);
}
t"""),
    md("""
With a larger scale the rows look more varied — compare with the grid above.
"""),
    code("""let generated = analysis::generate_by_class(&ae.model, &protos, 10, 2.0, 7);
figures::class_rows(&generated, &test.class_names(), "Generated samples, noise scale 2")?"""),
    md("""
## Walking between two classes

Decoding evenly spaced points on the straight line between the codes of a sneaker and an ankle
boot (and of a trouser and a dress): the decoder produces plausible in-between garments, a sign
that the code space is smooth rather than a set of isolated islands.
"""),
    code("""{
let first = |c: i64| labels.iter().position(|&l| l == c).unwrap() as i64;
let za = codes.get(first(7));
let zb = codes.get(first(9));
let zc = codes.get(first(1));
let zd = codes.get(first(3));
let path1 = analysis::interpolate(&za, &zb, 10);
let path2 = analysis::interpolate(&zc, &zd, 10);
let dec = |z: &Tensor| tch::no_grad(|| ae.model.decode(&z.to_device(device), false));
figures::labelled_rows(&[("sneaker → boot", &dec(&path1)), ("trouser → dress", &dec(&path2))], "Latent interpolation")?
}"""),
    md("""
## Numbers beside the homework's

The homework showed PCA and t-SNE plots and a grid of generated samples, without numbers.
"""),
    code("""let mut t = Table::new(["measure", "latentlab", "homework"]).with_title(format!("Latent space ({profile} profile)"));
t.push_row(["points embedded by t-SNE".to_string(), ts.embedding.len().to_string(), "—".into()]);
t.push_row(["t-SNE seconds".to_string(), format!("{:.1}", ts.seconds), "—".into()]);
t.push_row(["PCA variance explained (2 PCs)".to_string(), format!("{:.1}%", 100.0 * (p.explained_variance_ratio[0] + p.explained_variance_ratio[1])), "—".into()]);
t.push_row(["generated in intended class (scale 1)".to_string(), format!("{:.1}%", 100.0 * quality[1].intended_class_rate), "mostly correct (by eye)".into()]);
t"""),
    md("""
## Exercises

The answers are in `notebooks/solutions/04_latent_space.ipynb`.

**Exercise 1: a straight line in code space.** `analysis::interpolate(&za, &zb, n)` returns `n`
codes on the line from `za` to `zb`. Build the same path yourself from `za + t (zb − za)` for `n`
evenly spaced `t` in [0, 1], and compare.
"""),
    shared(code("""let za = codes.get(0);
let zb = codes.get(1);
let library_path = analysis::interpolate(&za, &zb, 5);""")),
    exercise("""let my_path = Tensor::stack(&[za.shallow_clone(), zb.shallow_clone()], 0); // your answer: 5 codes"""),
    solution("""let my_path = Tensor::stack(&(0..5).map(|i| &za + (&zb - &za) * (i as f64 / 4.0)).collect::<Vec<_>>(), 0);"""),
    shared(code("""{
let same = my_path.size() == library_path.size()
    && (&my_path - &library_path).abs().max().double_value(&[]) < 1e-5;
exercise::check("Exercise 1", same, &format!("your path has shape {:?}; the library's {:?}", my_path.size(), library_path.size()),
    "stack za + t (zb - za) for t = 0, 0.25, 0.5, 0.75, 1");
}""")),
    md("""
**Exercise 2: a prototype by hand.** A class prototype is the mean code of the images the
fine-tuned classifier is most confident about. Take the test images of class 7 (sneakers) with
the 50 highest predicted probabilities for that class, average their codes, and compare with the
library's prototype (`protos[7].mean`).
"""),
    exercise("""let my_mean = Tensor::zeros([codes.size()[1]], (Kind::Float, Device::Cpu)); // your answer"""),
    solution("""let my_mean = {
    let sevens = test.labels().to_device(Device::Cpu).eq(7).nonzero().view([-1]); // rows of class 7
    let p7 = probs.to_device(Device::Cpu).index_select(0, &sevens).select(1, 7);  // their P(class 7)
    let (_, order) = p7.topk(50, 0, true, true);                                  // the 50 most confident
    let chosen = sevens.index_select(0, &order);
    codes.to_device(Device::Cpu).index_select(0, &chosen).mean_dim(0, false, Kind::Float)
};"""),
    shared(code("""{
let lib = protos[7].mean.to_device(Device::Cpu);
let diff = (&my_mean - &lib).abs().max().double_value(&[]);
exercise::check("Exercise 2", diff < 1e-4, &format!("largest difference from the library's prototype: {diff:.6}"),
    "among the test images labelled 7, keep the 50 with the highest probability of class 7 and average their codes");
}""")),
]


D_STEP = r"""/// Binary cross-entropy of D's logits against a constant target (1 = real, 0 = fake).
fn bce(logits: &Tensor, target: f64) -> Tensor {
    logits.binary_cross_entropy_with_logits::<Tensor>(&logits.full_like(target), None, None, Reduction::Mean)
}

/// One discriminator step. Returns (D's loss, mean D(real), mean D(fake)), all three as
/// tensors: the loop adds them up where they are (on a GPU, reading a number back every step
/// would make it wait for the GPU every step).
fn d_step(gan: &GanRun, opt: &mut Optimizer, real: &Tensor, labels: &Tensor) -> (Tensor, Tensor, Tensor) {
    let cfg = &gan.config;
    let b = real.size()[0];
    let z = Tensor::randn([b, cfg.arch.noise_dim], (Kind::Float, real.device()));
    let fake = tch::no_grad(|| gan.generator.forward_t(&z, labels, true)); // G is not trained here
    // R1 needs D's gradient with respect to the real digits: make them a leaf autograd tracks.
    let real = if cfg.r1_gamma > 0.0 { real.detach().set_requires_grad(true) } else { real.shallow_clone() };
    let (real_logit, real_class) = gan.discriminator.forward_t(&real, true);
    // Every head of D on the fakes from one pass: real/fake, class and (if built) the twin.
    let fake_heads = gan.discriminator.forward_heads(&fake, None, true);
    let (fake_logit, fake_class) = (fake_heads.adv, fake_heads.cls);
    // One-sided label smoothing: real digits are asked for real_label (0.9), fakes for 0.
    let mut loss = bce(&real_logit, cfg.real_label) + bce(&fake_logit, 0.0);
    // R1 (r1_gamma > 0): penalise the squared slope of D's logit at real digits, γ/2 · E‖∇ₓD(x)‖².
    if cfg.r1_gamma > 0.0 {
        loss += train::gan::r1_penalty(&real_logit, &real) * (cfg.r1_gamma / 2.0);
    }
    // AC-GAN: the class head names the digit of real and (weighted) fake images.
    if let (Some(rc), Some(fc)) = (real_class, fake_class) {
        loss += rc.cross_entropy_for_logits(labels);
        if cfg.d_fake_class_weight > 0.0 {
            loss += fc.cross_entropy_for_logits(labels) * cfg.d_fake_class_weight;
        }
    }
    // TAC-GAN (arch.twin_classifier): the twin head learns which digit each fake was asked to be.
    if let Some(twin) = fake_heads.twin {
        loss += twin.cross_entropy_for_logits(labels);
    }
    opt.backward_step(&loss);
    let d_real = real_logit.detach().sigmoid().mean(Kind::Float);
    let d_fake = fake_logit.detach().sigmoid().mean(Kind::Float);
    (loss.detach(), d_real, d_fake)
}"""

G_STEP = r"""/// One generator step, non-saturating. Returns G's loss.
fn g_step(gan: &GanRun, opt: &mut Optimizer, b: usize) -> Tensor {
    let device = gan.g_vs.device();
    let ms = gan.config.g_mode_seeking; // 0: off
    let z = Tensor::randn([b as i64, gan.config.arch.noise_dim], (Kind::Float, device));
    let labels = if ms > 0.0 {
        train::gan::mode_seeking_labels(b, device) // sample i and sample i + b/2 share a digit
    } else {
        Tensor::randint(10, [b as i64], (Kind::Int64, device))
    };
    let fake = gan.generator.forward_t(&z, &labels, true);
    let heads = gan.discriminator.forward_heads(&fake, None, true);
    let mut loss = bce(&heads.adv, 1.0); // "call my fakes real"
    if ms > 0.0 {
        // MSGAN: "and don't draw near-copies from different noise": 1 / (mean|Δx| / mean|Δz|)
        loss += train::gan::mode_seeking_loss(&fake, &z) * ms;
    }
    if let Some(c) = heads.cls {
        // AC-GAN: "and of the digit I was asked for"
        let mut class_loss = c.cross_entropy_for_logits(&labels);
        // TAC-GAN: minus what the twin head, which learns the fakes, also gets right
        if let Some(twin) = heads.twin {
            class_loss -= twin.cross_entropy_for_logits(&labels) * gan.config.g_twin_weight;
        }
        loss += class_loss;
    }
    opt.backward_step(&loss); // G's optimizer: only G's weights move
    loss.detach()
}"""


NOTEBOOKS["05_gan"] = [
    md("""
# 5 · Generative adversarial networks on MNIST

A **GAN** is a game between two networks. The **generator** G turns random noise (100 numbers)
into an image; the **discriminator** D looks at an image and outputs the probability that it is
real. D is trained to tell real digits from G's fakes; G is trained to make D say "real". Neither
ever sees a loss that says what a "7" looks like — the only teacher G has is D.

The homework's networks are fully connected: G has 3 hidden layers (256, 512, 1024) with LeakyReLU
and a tanh output (pixels in [-1, 1]); D mirrors it with LeakyReLU and dropout. Two tricks it
used are kept: the generator maximises log D(G(z)) instead of minimising log(1 − D(G(z))) (the
"non-saturating" loss, which gives G useful gradients early on), and after some epochs D gets
more steps per G step.

The **AC-GAN** adds the class: G receives a one-hot digit label with the noise, and D gets a
second head that predicts the digit of every image it sees, real or fake. Both networks are also
trained on that classification loss, so G learns to draw *the digit it was asked for*.
"""),
    *SETUP,
    shared(code("""let train = Dataset::load(DatasetKind::Mnist, Split::Train, profile)?;
let test = Dataset::load(DatasetKind::Mnist, Split::Test, profile)?;
let runs = runtime::runs_dir().join(profile.name());
println!("{} training and {} test digits", train.len(), test.len());""")),
    md("""
## The two networks

The networks are the library's (`src/models/gan.rs`), built from the settings below. Change a
field here (the hidden sizes, the noise size, D's dropout, the LeakyReLU slope) and the cells
further down train your version: set `retrain = true` in the full profile, since the shipped
checkpoints hold the homework's networks.
"""),
    shared(code("""let gan_cfg = GanConfig::new(GanKind::Gan, profile);
let mut acgan_cfg = GanConfig::new(GanKind::AcGan, profile);
// e.g. acgan_cfg.arch.hidden = [128, 256, 512];
println!("{}", serde_json::to_string_pretty(&acgan_cfg.arch)?);""")),
    code("""{
let fresh = train::GanRun::new(&acgan_cfg, device)?;
let count = |vs: &nn::VarStore| vs.trainable_variables().iter().map(|t| t.numel()).sum::<usize>();
let mut t = Table::new(["network", "weights", "input", "output"]).with_title("AC-GAN networks");
t.push_row(["generator G".to_string(), count(&fresh.g_vs).to_string(),
    format!("{} noise + 10 one-hot class", acgan_cfg.arch.noise_dim), "784 pixels in [-1, 1] (tanh)".into()]);
t.push_row(["discriminator D".to_string(), count(&fresh.d_vs).to_string(),
    "784 pixels".into(), "1 real/fake logit + 10 class logits".into()]);
t
}"""),
    md("""
## The discriminator step

One step of D on a batch of real digits and as many fakes: D is pushed to output "real" for the
real digits and "fake" for the generated ones, by binary cross-entropy on its logits. Two details
of the homework act here:

- **One-sided label smoothing**: the target for real digits is `real_label` (printed with the
  training settings below), a little under one, so D is never rewarded for total certainty, and G
  keeps getting gradients.
- **The AC-GAN's class head**: D also names the digit of every image, by cross-entropy against
  its label; for the fakes that loss is weighted by `d_fake_class_weight` (1 in the original
  AC-GAN and here).

The fakes are made without gradients: this step trains D only.
"""),
    shared(code(D_STEP)),
    md("""
## The generator step

G draws a batch of fakes (for the AC-GAN, of random requested digits) and is rewarded when D calls
them real. This is the **non-saturating** loss: G maximises log D(G(z)), by cross-entropy against
the target 1, instead of minimising log(1 − D(G(z))). Early in training D rejects every fake with
confidence; the original loss is then flat and G learns nothing, while this one is steep exactly
there (exercise 2 measures it). Only G's optimizer steps, so D's weights do not change; the
gradients that reach them are cleared before D's next step. (The library's own version also skips
computing them, which saves time.) Two branches of the cell, a twin class head (TAC-GAN) and
mode seeking (MSGAN), are notebook 6's; both are off for this notebook's models.
"""),
    shared(code(G_STEP)),
    md("""
## Training

The library's loop shuffles the digits (rescaled to [-1, 1] to match the tanh), calls `d_step`
on every batch and `g_step` once every k batches, and prints a line per epoch with the mean
losses and D's mean verdicts on real and fake digits. **The D schedule** sets k: the homework let
D take more steps per G step late in training, to keep it ahead of G. The schedule of this
profile is printed below. In the full profile without `retrain` the shipped runs are loaded
instead, and with `retrain` the expected time is printed first.
"""),
    code("""for (name, c) in [("GAN", &gan_cfg), ("AC-GAN", &acgan_cfg)] {
    let ks: Vec<String> = (1..=c.epochs).map(|e| c.d_steps_at(e).to_string()).collect();
    println!("{name}: {} epochs, batches of {}, real_label {}, D steps per G step by epoch: {}",
        c.epochs, c.batch_size, c.real_label, ks.join(" "));
}
let gan = train::train_or_load_gan_with(&gan_cfg, &train, &runs.join("nb05-gan"), &mut Progress::Lines,
    GanSteps { discriminator: d_step, generator: g_step })?;
let acgan = train::train_or_load_gan_with(&acgan_cfg, &train, &runs.join("nb05-acgan"), &mut Progress::Lines,
    GanSteps { discriminator: d_step, generator: g_step })?;"""),
    md("""
## The losses (the homework's figure 2)

A healthy run looks like a tug of war that settles: both losses level off around a balance
instead of one of them collapsing to zero, which would mean one network had won and the other
had stopped learning. The dashed markers show where the D schedule changes: from there on D still
takes one step per batch, but G steps only on every k-th batch, so G gets fewer updates for the
same data. Compare the curves on either side of a marker: with G updated less often, D should
gain ground, its loss falling and G's rising, at least for a while. The table under the figure gives the mean
losses per phase of the schedule, from the run's history.
"""),
    code("""figures::gan_losses(&acgan.history, &acgan.config, "AC-GAN: discriminator and generator losses")?"""),
    code("""let mut t = Table::new(["D steps per G step", "epochs", "mean D loss", "mean G loss", "mean D(real)", "mean D(fake)"])
    .with_title("AC-GAN: losses by phase of the D schedule (from history.json)");
let mut ks: Vec<usize> = acgan.history.epochs.iter().map(|e| e.extra["d_steps"] as usize).collect();
ks.dedup();
for k in ks {
    let es: Vec<_> = acgan.history.epochs.iter().filter(|e| e.extra["d_steps"] as usize == k).collect();
    let mean = |f: &dyn Fn(&train::EpochRecord) -> f64| es.iter().map(|e| f(e)).sum::<f64>() / es.len() as f64;
    t.push_row([k.to_string(), format!("{}-{}", es[0].epoch, es[es.len() - 1].epoch),
        format!("{:.3}", mean(&|e| e.train_loss)), format!("{:.3}", mean(&|e| e.extra["g_loss"])),
        format!("{:.2}", mean(&|e| e.extra["d_real"])), format!("{:.2}", mean(&|e| e.extra["d_fake"]))]);
}
t"""),
    md("""
## Real against generated (the homework's figure 11)

Top rows: real test digits. Bottom rows: the AC-GAN's samples for the same digits. Fully connected
generators draw each pixel independently of its neighbours' *positions*, which shows as speckles and
broken strokes.
"""),
    code("""let (real, real_labels) = test.range(0, 10);
let fake = acgan.sample_batch(&real_labels, 3);
figures::labelled_rows(&[("real", &real), ("generated", &fake)], "Real test digits and AC-GAN digits of the same classes")?"""),
    md("""
## One row per digit

Ten samples per class from the AC-GAN. Within a row, look for variety in slant and thickness — a
generator that draws the same "3" ten times has collapsed.
"""),
    code("""figures::class_grid(&acgan.sample_grid(10, 0), 10, "AC-GAN samples, one row per digit")?"""),
    md("""
The unconditional GAN cannot be asked for a digit: we can only look at what it draws and count.
"""),
    code("""figures::digit_grid(&gan.sample(100, None, 0), 10, "Unconditional GAN samples")?"""),
    md("""
## Measuring instead of looking

A small CNN classifier trained on MNIST (its test accuracy is printed below) scores the
samples:

- **class consistency**: the share of AC-GAN samples that the classifier reads as the requested digit;
- **Fréchet distance** between the classifier's 128-d features of 1,000–10,000 generated images and
  as many test images (the FID recipe with our own feature extractor), printed beside the distance
  between real training and test images — the floor a perfect generator would reach;
- the **class histogram** of the unconditional GAN's samples: a mode-collapsed GAN would favour a few digits.
"""),
    code("""let clf = train::train_or_load_classifier(profile, &train, &test, &runs, &mut Progress::Lines)?;
println!("classifier test accuracy: {:.2}%", 100.0 * clf.test_accuracy);
let n = if profile == Profile::Full { 10_000 } else { 1_000 };
let floor = analysis::frechet_floor(&clf, &train, &test, n)?;
let q_gan = analysis::gan_quality(&gan, &clf, &test, n, 1)?;
let q_ac = analysis::gan_quality(&acgan, &clf, &test, n, 1)?;
let bars: Vec<Bar> = q_gan.class_histogram.iter().enumerate()
    .map(|(d, &v)| Bar { label: d.to_string(), value: 100.0 * v, error: None }).collect();
bar_chart("Unconditional GAN: share of samples per digit (classifier's reading)", "% of samples", &bars, Some((10.0, "uniform")))?"""),
    md("""
## Why some digits come out more often than others

The bar chart shows how often the unconditional GAN draws each digit. Nothing in its losses asks
for every digit equally often: D judges one image at a time, so a "1" that looks real is as good
to G as a "2" that looks real, however many ones G already draws. G is free to over-draw the digits
that are easiest to make look real and to under-draw the hard ones.

Three changes aimed at this were trained as full runs of this notebook's recipe, each adding one
setting to it (`data/gan-variants/` keeps every run's config and scores; `scripts/gan_variant.py`
trains one, and `latentlab gan train --config` takes the config):

- **an average of G's weights** (`g_ema_decay`): sample from a moving average of G over its last
  few thousand steps. If the mix only drifted from step to step, the average would sit in the
  middle of the drift and even it out.
- **minibatch standard deviation** (`arch.minibatch_std`): D's last layer also sees how much its
  features vary across each group of four images it is shown. Four real digits are four
  independent draws from the real mix; four fakes from a G that keeps making its favourite digits
  vary less, so D can tell the groups apart, and G is pushed to spread its draws.
- **packing** (`arch.pack`, PacGAN): D judges two images side by side in one input. Two real
  digits are the same digit about one time in ten; a G that over-draws some digits makes such
  pairs more often, and D can learn to notice.

The heatmap below gives the share of each digit as the scorer reads it, under the row of real
training digits. Look first at which rows are as even as the real digits' row. Then, in the
table, check what the even mix cost: Fréchet distance, precision (do the digits still look
real?) and recall (are all kinds of real digits still drawn?).
"""),
    code("""let fc_variants: Vec<(String, analysis::GanQualityFile)> = [
    ("fc-base", "homework recipe (shipped)"),
    ("fc-ema", "average of G's weights"),
    ("fc-mbstd4", "minibatch std, groups of 4"),
    ("fc-mbstd4-s1", "minibatch std, groups of 4, seed 1"),
    ("fc-mbstd4-s2", "minibatch std, groups of 4, seed 2"),
    ("fc-pack2", "packing, pairs"),
].into_iter().map(|(name, label)| -> Result<(String, analysis::GanQualityFile)> {
    Ok((label.to_string(), analysis::load_variant(&analysis::shipped_variants_dir(), name)?))
}).collect::<Result<_>>()?;
{ // a block: evcxr keeps no borrowed values from one cell to the next
let rows: Vec<(&str, &analysis::GanQualityFile)> = fc_variants.iter().map(|(l, q)| (l.as_str(), q)).collect();
figures::variant_shares(&rows, train::Scorer::Main)?
}"""),
    code("""{ // a block, as above
let rows: Vec<(&str, &analysis::GanQualityFile)> = fc_variants.iter().map(|(l, q)| (l.as_str(), q)).collect();
figures::variants_table(&rows, "FC GAN variants, full profile, 10,000 samples each (full-profile scorers)")
}"""),
    md("""
The average of G's weights does not even out the mix: the under-drawn digits stay under-drawn,
so the imbalance is not noise around a balanced G but a bias that G keeps. (The average does
lower the Fréchet distance: it smooths away the speckles of a single step's G.) The group feature
of minibatch standard deviation is the change that evens the mix out: with seeds 5 and 2 every digit
lands in the goal range, and with seed 1 no digit is under-drawn any more, though one ends a
little over it. Packing
slows the start (D has two images' worth of inputs to learn from the same number of batches)
and, judged after the same number of epochs as the others, is behind on every column.

The run with minibatch standard deviation ships as a checkpoint beside the homework's
(`data/checkpoints/gan-gan-mbstd4`; `latentlab gan sample --from` it draws more). Its samples:
"""),
    code("""let even = train::load_gan(&runtime::checkpoints_dir().join("gan-gan-mbstd4"), runtime::device())?;
figures::digit_grid(&even.sample(100, None, 0), 10, "FC GAN with minibatch standard deviation (shipped checkpoint)")?"""),
    md("""
## Numbers beside the homework's

The homework judged its GANs by eye. Lower Fréchet distance is better; the floor is the distance
between two sets of *real* digits.
"""),
    code("""let mut t = Table::new(["model", "epochs", "class consistency", "Fréchet distance", "train time"])
    .with_title(format!("GANs on MNIST ({profile} profile, {n} samples; real-vs-real floor {floor:.2})"));
for (name, r, q) in [("GAN (FC)", &gan, &q_gan), ("AC-GAN (FC)", &acgan, &q_ac)] {
    t.push_row([name.to_string(), r.history.epochs.len().to_string(),
        q.class_consistency.map(|c| format!("{:.1}%", 100.0 * c)).unwrap_or("—".into()),
        format!("{:.2}", q.frechet_to_test), format!("{:.0} s", r.history.seconds())]);
}
t.push_row(["homework AC-GAN".to_string(), "—".into(), "not measured".into(), "not measured".into(), "hours".into()]);
t"""),
    md("""
## Exercises

The answers are in `notebooks/solutions/05_gan.ipynb`.

**Exercise 1: the D schedule.** Make a config in which D takes 3 steps per G step from epoch 2 on
and 1 step before (the field is `d_schedule`, a list of `DStepsFrom { epoch, d_steps }`). Then
retrain the AC-GAN with it by passing it to the training cell above instead of `acgan_cfg` (in the
full profile with `retrain = true`, or the shipped run is loaded instead), and compare the loss
figure.
"""),
    exercise("""let mut my_cfg = GanConfig::new(GanKind::AcGan, profile);
my_cfg.d_schedule = vec![]; // your answer"""),
    solution("""let mut my_cfg = GanConfig::new(GanKind::AcGan, profile);
my_cfg.d_schedule = vec![train::DStepsFrom { epoch: 2, d_steps: 3 }];"""),
    shared(code("""let ks: Vec<usize> = (1..=4).map(|e| my_cfg.d_steps_at(e)).collect();
exercise::check("Exercise 1", ks == vec![1, 3, 3, 3] && my_cfg.validate().is_ok(),
    &format!("D steps per G step in epochs 1-4: {ks:?}"),
    "d_schedule = vec![train::DStepsFrom { epoch: 2, d_steps: 3 }]");""")),
    md("""
**Exercise 2: why the non-saturating loss.** Write the generator loss of the original GAN paper,
the mean of log(1 − D(G(z))) with D(G(z)) = sigmoid(logit), which G *minimises*. The check takes
logits of fakes that D rejects with confidence (logit −5, so D(G(z)) is under one in a hundred), and compares the
gradient of your loss with that of the non-saturating one used above. Which one gives G
something to learn from at the start of training?
"""),
    exercise("""fn saturating_loss(logit: &Tensor) -> Tensor {
    bce(logit, 1.0) // your answer: the mean of log(1 - sigmoid(logit))
}"""),
    solution("""fn saturating_loss(logit: &Tensor) -> Tensor {
    // log(1 - sigmoid(l)) = -softplus(l), written so that it stays finite for large logits
    (-logit.softplus()).mean(Kind::Float)
}"""),
    shared(code("""{
let grad_of = |f: &dyn Fn(&Tensor) -> Tensor| {
    let l = Tensor::full([4], -5.0, (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let v = f(&l);
    v.backward();
    (v.double_value(&[]), l.grad().abs().sum(Kind::Float).double_value(&[]))
};
let (sat_value, sat_grad) = grad_of(&|l| saturating_loss(l));
let (_, ns_grad) = grad_of(&|l| bce(l, 1.0));
let expected = (1.0 - 1.0 / (1.0 + 5f64.exp())).ln();
exercise::check("Exercise 2", (sat_value - expected).abs() < 1e-4,
    &format!("your loss at logit -5 is {sat_value:.5}; log(1 - sigmoid(-5)) is {expected:.5}"),
    "(-logit.softplus()).mean(Kind::Float), or (1 - sigmoid).log()");
exercise::check_less("Exercise 2", "the saturating loss is flat where D rejects the fakes",
    ("its gradient", sat_grad), ("the non-saturating gradient", ns_grad), "compare the two gradients");
}""")),
    md("""
**Exercise 3: the group feature.** Write the minibatch standard deviation that evened out the
digit mix above. Given D's last features `h` (`[b, f]`) and a group size `g` that divides `b`:
split the batch into groups of `g` consecutive rows, take the standard deviation of each feature
within each group (dividing by `g`, not `g − 1`), average it over the features, and append that
number to every row of its group as one more column, so that the result is `[b, f + 1]`. The
check compares your function with the library's on random features, then feeds it a group of
four identical rows: what does D see for a G that draws near-copies?
"""),
    exercise("""fn my_minibatch_std(h: &Tensor, g: i64) -> Tensor {
    let _ = g;
    h.shallow_clone() // your answer: [b, f + 1]
}"""),
    solution("""fn my_minibatch_std(h: &Tensor, g: i64) -> Tensor {
    let (b, f) = (h.size()[0], h.size()[1]);
    // Per group and feature: the standard deviation over the group's rows (biased, as the library).
    let std = (h.view([b / g, g, f]).var_dim(1, false, false) + 1e-8).sqrt();
    let per_group = std.mean_dim(&[1i64][..], false, Kind::Float); // [b / g]
    let column = per_group.repeat_interleave_self_int(g, 0, None).view([b, 1]);
    Tensor::cat(&[h.shallow_clone(), column], 1)
}"""),
    shared(code("""{
tch::manual_seed(3);
let h = Tensor::randn([8, 5], (Kind::Float, Device::Cpu));
let mine = my_minibatch_std(&h, 4);
let want = latentlab::models::gan::minibatch_std(&h, 4);
let same = mine.size() == want.size() && mine.allclose(&want, 1e-5, 1e-6, false);
exercise::check("Exercise 3", same,
    &format!("your result has shape {:?}; the library's has {:?}", mine.size(), want.size()),
    "h.view([b / g, g, f]).var_dim(1, false, false), sqrt, mean over features, repeat_interleave, cat");
if same {
    let copies = Tensor::cat(&[h.narrow(0, 0, 1).repeat([4, 1]), h.narrow(0, 4, 4)], 0);
    let seen = my_minibatch_std(&copies, 4).select(1, 5);
    println!("the group feature D sees: {:.3} for four copies, {:.3} for four random rows",
        seen.double_value(&[0]), seen.double_value(&[4]));
}
}""")),
]


NOTEBOOKS["06_conv_acgan"] = [
    md("""
# 6 · A convolutional AC-GAN

The homework ended with a guess: "the artifacts could have probably been solved using a
convolutional architecture". Here is that experiment. The **DCGAN-style** generator maps noise and
class to a 128×7×7 feature map, then two transposed convolutions (128 → 64 → 1 channels, batch
normalisation between them) upsample it to 28×28; the discriminator uses two strided convolutions
(64 and 128 channels). It is small enough to train on a CPU. It began at half that width, which
trains faster, and the story of its recipe below ends with why it grew. Convolutions share weights across
positions, so a stroke is drawn the same way wherever it is — exactly what the fully connected
generator could not do. The training code is the same as in notebook 5; some of its settings
differ (the learning rates, and a few that act inside the training steps), for reasons measured
further down.
"""),
    *SETUP,
    shared(code("""let train = Dataset::load(DatasetKind::Mnist, Split::Train, profile)?;
let test = Dataset::load(DatasetKind::Mnist, Split::Test, profile)?;
let runs = runtime::runs_dir().join(profile.name());
let acgan = train::train_or_load_gan(&GanConfig::new(GanKind::AcGan, profile), &train, &runs, &mut Progress::Lines)?;
let gan = train::train_or_load_gan(&GanConfig::new(GanKind::Gan, profile), &train, &runs, &mut Progress::Lines)?;""")),
    md("""
The fully connected GAN and AC-GAN above are notebook 5's, trained by the library's own steps.
The convolutional one trains with the two steps below, the same code as in notebook 5: change
them here to train your variant. Five settings of its config act inside them: the D step weights
the class loss on generated digits by `d_fake_class_weight` (0 for this model, so its class head
learns from real digits only) and adds the R1 penalty when `r1_gamma` is above 0 (it is for this
model); with `arch.twin_classifier` (set in the full profile only, as printed below) D trains a
twin class head on the generated digits and G's class loss subtracts the twin's (times
`g_twin_weight`); with
`g_mode_seeking` above 0 (it is 0 here) G draws its batch in pairs asked for the same digit and
its loss grows when a pair's images differ little for how far apart their noise is (MSGAN's
mode-seeking term); and the D schedule, printed below, keeps one G step per D step. The reasons
are measured further down.
"""),
    shared(code(D_STEP)),
    shared(code(G_STEP)),
    shared(code("""let conv_cfg = GanConfig::new(GanKind::ConvAcGan, profile);
let ks: Vec<String> = (1..=conv_cfg.epochs).map(|e| conv_cfg.d_steps_at(e).to_string()).collect();
println!("conv AC-GAN: {} base channels, Adam lr {} (G) and {} (D), {} epochs, class loss weight on fakes {}, R1 gamma {}, twin class head {}, D steps per G step by epoch: {}",
    conv_cfg.arch.conv_channels, conv_cfg.g_optimizer.lr, conv_cfg.d_optimizer.lr, conv_cfg.epochs,
    conv_cfg.d_fake_class_weight, conv_cfg.r1_gamma, conv_cfg.arch.twin_classifier, ks.join(" "));
let conv = train::train_or_load_gan_with(&conv_cfg, &train, &runs.join("nb06-conv-acgan"), &mut Progress::Lines,
    GanSteps { discriminator: d_step, generator: g_step })?;""")),
    md("""
Look at stroke continuity and the background: the convolutional samples should have clean black
backgrounds and unbroken strokes, where the fully connected ones show speckles.
"""),
    code("""figures::class_grid(&conv.sample_grid(10, 0), 10, "Convolutional AC-GAN, one row per digit")?"""),
    code("""figures::gan_losses(&conv.history, &conv.config, "Convolutional AC-GAN: losses")?"""),
    md("""
## How this model's recipe was found

The first version of this convolutional AC-GAN used the fully connected one's recipe unchanged,
and it *failed*: its class consistency was worse than the fully connected model's, although its
digits looked cleaner (the first row of the table below is that recipe). Two habits of that recipe
were to blame, and a sweep found them. The sweep ran a line-for-line PyTorch port of this model
(`scripts/conv_acgan_sweep.py`) on a GPU, twelve variants at once, each scored with the same
classifier as above; only its results ship with the project.

1. **The class head learned from fakes.** The original AC-GAN trains the discriminator to give
   *generated* digits their requested class too. Its class head then learns to read the
   generator's half-formed digits as what they were meant to be, and the generator is rewarded
   for digits that only this discriminator can read. With the class head trained on real digits
   only (`d_fake_class_weight = 0`), a generated "5" counts as a 5 only if it looks like a real 5.
2. **Extra discriminator steps starved the generator.** The homework gave the discriminator more
   steps late in training; here the discriminator was already winning, and halving the
   generator's updates widened the gap.

Read the table by rows that differ in one setting: dropping either habit helps, dropping both
helps most, and the difference is already clear at the earlier of the two epochs shown. The first row is the failed recipe
on the GPU; the same recipe scored lower still in the project's first CPU run: one run of a GAN is
one draw.
"""),
    code("""let sweep = analysis::load_sweep(&analysis::shipped_sweep_path())?;
let main: Vec<_> = sweep.iter().filter(|v| v.call.starts_with("sweep")).cloned().collect();
figures::sweep_table(&main, &[15, 30], "Conv AC-GAN variants, seed 5, 30 epochs (PyTorch port on an H200)")"""),
    md("""
A single run can be lucky, so the chosen recipe was trained again with five other seeds: read
the spread between them in the table.
"""),
    code("""let seeds: Vec<_> = sweep.iter().filter(|v| v.call.starts_with("seed")).cloned().collect();
figures::sweep_table(&seeds, &[15, 20], "Seed check: the chosen recipe and two others, 20 epochs")"""),
    md("""
### A third culprit: where the weights start

The recipe then went back to the Rust code, trained on a CPU, and fell short of both the port's
score and the target. The port and the Rust model differed in one thing nobody had written down:
the initial weights. PyTorch draws a layer's weights within ±1/√fan-in and sets batch-norm scales
to 1; `tch`, the Rust bindings, draws them √6 times wider and batch-norm scales at random in
[0, 1]. Run with `tch`'s init, the port reproduces the Rust shortfall (table below), and setting
only the batch-norm scales to 1 recovers little: the weight scale is what matters. Why is not
measured here. What the port does show is a discriminator that wins more clearly with the wider
init: it gives real digits higher and generated ones lower scores than with PyTorch's init. So the
convolutional models now start from PyTorch's init (`GanArch::init = WeightInit::Torch`).

The defaults were then: PyTorch init, 1:1 steps, class head on real digits only.
"""),
    code("""let init: Vec<_> = sweep.iter().filter(|v| v.call.starts_with("init")).cloned().collect();
figures::sweep_table(&init, &[15, 20], "Init check: tch's default init in the port, 20 epochs")"""),
    md("""
### A fourth change: keep the discriminator flat at the data (R1)

That recipe draws clean digits that are too much alike: in the table below, its recall and its
slant spread sit well below the floor's. Several remedies were tried on a CPU,
each a field of `GanConfig` (`data/gan-variants/` keeps every run with its config and scores).
The one that helped most is the **R1 penalty** (Mescheder et al., 2018): D's loss gains
γ/2 · E‖∇ₓD(x)‖² over real digits, so D is punished for a logit that changes steeply around the
digits it is shown. Without it, D can carve a sharp edge around the real digits it has seen, and
G chases that edge toward the few shapes D rewards at the moment; with it, D's answer varies
smoothly near the data, and G gets a signal that points at the whole data set. The D step above
adds it when `r1_gamma` is above 0; it costs a second backward pass through D on every D step.

The table reads the recorded runs: the recipe without R1, R1 at γ = 0.1 from two seeds, and the
other lever that raised recall, a lower weight for G's class loss. Compare the
Fréchet distance and the recall of each row with the floor in the last row. R1 raises recall on
both scorers for both seeds, with the class consistency kept; its Fréchet distance depends more on
the seed: compare the two R1 rows with each other, not only with the first row (one run of a GAN
is one draw). The lower class weight buys its recall with a worse Fréchet distance and a lower
class consistency.
"""),
    code("""figures::recorded_variants_table(&analysis::shipped_variants_dir(), &[
    ("without R1 (the recipe before)", "conv-acgan"),
    ("R1, gamma 0.1", "e20-r01"),
    ("R1, gamma 0.1, seed 1", "e20-r01-s1"),
    ("no R1, G class weight 0.3", "e20-gcw03"),
], "Conv AC-GAN variants, 20 epochs each on a CPU, 10,000 samples each (full-profile scorers)")?"""),
    md("""
### A fifth change: train longer

A GAN has no validation loss that says when to stop: D's and G's losses hover around a balance
while the samples keep changing. The way to know whether more epochs help is to score the samples.
The table below does that for one run with R1 (seed 5): its generator scored at four points of its
training (the epochs column). The runs are seeded, so the R1 row above with the same number of
epochs is this run at that point, weight for weight. Look at how much each block of epochs buys:
does the Fréchet distance on both scorers keep falling, and by how much each time? Does the recall
follow it toward the floor's, or does it stall? Whatever gap to the floor is left at the end is
variety that longer training alone does not bring.

You need not train from scratch to ask the same of a run of yours. A GAN run that you finish
keeps its exact state (weights, Adam's moments, history) in `final-state.safetensors` (the
shipped checkpoints come without it, to keep the repository small, and cannot be trained on), and
`latentlab gan train --continue-from RUN --epochs N --out NEW` trains it on to `N` epochs in a new
folder, leaving `RUN` as it was. The result is, weight for weight, the run that `N` epochs from
scratch would have given, because every epoch draws its noise and dropout masks from the seed and
the epoch number alone. It trains with the library's steps, so a run trained by this notebook's
step cells goes on the same way only if those cells are still the library's. So score `RUN`,
train it on, score `NEW`, and the difference is what the extra epochs bought, at the cost of
those epochs only.
"""),
    code("""figures::recorded_variants_table(&analysis::shipped_variants_dir(), &[
    ("R1, 6 epochs", "e6-r01"),
    ("R1, 20 epochs", "e20-r01"),
    ("R1, 30 epochs", "e30-r01"),
    ("R1, 40 epochs (the recipe before the width)", "e40-r01"),
], "One run with R1 (seed 5), scored as it trains (full-profile scorers)")?"""),
    md("""
### Should the step size shrink at the end?

Many recipes lower the learning rate over their last epochs, so that the weights settle instead of
jittering around a minimum. A GAN has no minimum to settle into: G and D chase each other, and a
smaller step slows the chase. The schedule `LrSchedule::LinearTail { epochs: N }` (the field
`lr_schedule` of `GanConfig`) tries it anyway: over the last N epochs both learning rates fall
linearly toward zero, and the epochs before are the undecayed recipe's, step for step. So one
run can be split in two after epoch 10: its saved state copied, one copy finished with the decay over epochs 11 to 20, the other without
(`--continue-from` does the copying now: give it a `--config` whose `lr_schedule` is the
`linear_tail`; it refuses a schedule that would change the rates of epochs already trained). The first two
rows score both copies at the end. Compare them, and then compare their gap with the gap between
the two seeds in the R1 table with two seeds: ten epochs after the split, the copies have drifted
as far apart as two seeds would, so one pair is a hint, not a proof. Does it at least hint that
the generator is done learning by epoch 20? The third row goes the other way: the same recipe
trained from scratch with both learning rates doubled. If it scores better than the constant-rate
row, the two hints agree: at this length the generator is short of steps, not of settling. The
next section checks that hint with a second seed and longer training.

These three runs trained on another kind of CPU than the R1 table's. There libtorch picks other
kernels, which round differently from the first epoch on, and a GAN amplifies that as it would a
new seed: the constant-rate row is the R1 recipe again, and it does not match the R1 row weight for
weight, only within the noise of a seed. Compare these rows with each other.
"""),
    code("""figures::recorded_variants_table(&analysis::shipped_variants_dir(), &[
    ("R1, 20 epochs, split at epoch 10: constant rates", "e20-r01-rerun"),
    ("R1, 20 epochs, split at epoch 10: rates decayed over epochs 11-20", "e20-r01-decay10"),
    ("R1, 20 epochs, both rates doubled from the start", "e20-r01-lr4"),
], "Step sizes: one run split in two after epoch 10, and a run with doubled rates (full-profile scorers)")?"""),
    md("""
### Doubled rates: two seeds, followed to the recipe's length

In this section "the recipe" is the model as it was then: 32 base channels and the first
recipe's learning rates. One seed is one sample of a recipe, and two seeds of the same recipe can
differ by more than two recipes do (the R1 table with two seeds shows how much). So before the
doubled rates could replace the recipe's, both rates were trained from two seeds, 5 and 1, for the recipe's full
number of epochs, and the table below reads those recorded runs. The doubled-rate runs were
scored halfway, three quarters of the way and at the end, from copies of the generator taken as
it trained. Questions to ask of it: halfway, how far along is each doubled-rate run against
the rows of its seed at the first recipe's rates? Does it keep improving to the end? Watch precision and recall move in opposite directions: a generator whose
precision keeps rising while its recall falls is drawing from a narrower part of each digit's
variety, even if its Fréchet distance still looks good. And which would you ship: the first
recipe's rate for the whole length, or the doubled rate for half of it, in half the time?

All rows but one trained on the same machine, the one of the step-size table above. The
exception is the run shipped before the width, trained on the other kind of CPU, so the seed-5 rows at the end of
training are two samples rather than a controlled pair; the seed-1 rows are a controlled pair.
"""),
    code("""figures::recorded_variants_table(&analysis::shipped_variants_dir(), &[
    ("seed 5, first recipe's rates, 20 epochs", "e20-r01-rerun"),
    ("seed 5, first recipe's rates, 40 epochs (shipped before the width; the other CPU kind)", "e40-r01"),
    ("seed 5, doubled rates, 20 epochs", "e20-r01-lr4"),
    ("seed 5, doubled rates, 30 epochs", "e30-r01-lr4"),
    ("seed 5, doubled rates, 40 epochs", "e40-r01-lr4"),
    ("seed 1, first recipe's rates, 30 epochs", "e30-r01-s1"),
    ("seed 1, first recipe's rates, 40 epochs", "e40-r01-s1"),
    ("seed 1, doubled rates, 20 epochs", "e20-r01-lr4-s1"),
    ("seed 1, doubled rates, 30 epochs", "e30-r01-lr4-s1"),
    ("seed 1, doubled rates, 40 epochs", "e40-r01-lr4-s1"),
], "The first recipe's and doubled learning rates, 32 channels, seeds 5 and 1 (full-profile scorers)")?"""),
    md("""
### A sixth change: wider (and a layer deeper, tried too)

The step sizes moved the scores by about as much as a new seed does. The next levers change the
models themselves. The model was then half as wide as now: its generator drew the image straight
from 32 maps of 14×14, so each output pixel was one linear read of the maps around it, and how a
stroke's edge or width could vary was limited by what those maps carried. Two changes, each trained with the doubled
rates for half the recipe's length (the last four rows: its full length) and compared with the
same run without it:

- **wider**: `arch.conv_channels` 64 instead of 32, in both G and D (more than twice the time per epoch);
- **one layer deeper at the end of G**: `arch.g_refine_channels` 16. G's last transposed
  convolution then draws 16 maps at 28×28 instead of the image, and after batch norm and ReLU a
  3×3 convolution mixes each pixel's neighbourhood of them into the image. It costs far less
  time than widening: only the last layer grows, and one small layer is added.

Each change was trained from seeds 5 and 1, and each seed's rows start with its run without a
change. The last four rows follow both seeds' runs with and without the width to the recipe's
full length: with twice the training, does the wider model stay ahead, or does the narrow one
catch up? All rows trained on the same machine. Read each
change against the row of its own seed, then ask of the gains: are they larger than the gaps
between seeds that this notebook has shown? Compare the two seeds of the unchanged run here
with the recipe's two seeds after its full length in the table of doubled rates, and with the
GPU sweep's six seeds: two seeds are a poor estimate of how far a seed can move a score, so
take the largest gap seen at this scale. A gain smaller than that could be the seed.

To try a change yourself: in the full profile set `retrain = true` (otherwise the training cell
loads the shipped run, whatever its config says), make that cell's config mutable and set the
field (`conv_cfg.arch.g_refine_channels = 16;`). For a run like the table's rows, also set
`conv_cfg.arch.twin_classifier = false` (the twin joined the recipe after them), and for the rows
without the width `conv_cfg.epochs` to half the recipe's and `conv_cfg.arch.conv_channels` to
half the default's; the default learning rates are the doubled ones the table used. Give the run
folder a new name if you want to keep the run that is there: training into a folder replaces
it.
"""),
    code("""figures::recorded_variants_table(&analysis::shipped_variants_dir(), &[
    ("seed 5, doubled rates, 32 channels", "e20-r01-lr4"),
    ("seed 5, doubled rates, 64 channels", "e20-r01-lr4-c64"),
    ("seed 5, doubled rates, refinement stage of 16 maps", "e20-r01-lr4-g16"),
    ("seed 1, doubled rates, 32 channels", "e20-r01-lr4-s1"),
    ("seed 1, doubled rates, 64 channels", "e20-r01-lr4-c64-s1"),
    ("seed 1, doubled rates, refinement stage of 16 maps", "e20-r01-lr4-g16-s1"),
    ("seed 5, doubled rates, 32 channels, trained on to 40 epochs", "e40-r01-lr4"),
    ("seed 5, doubled rates, 64 channels, trained on to 40 epochs", "e40-r01-lr4-c64"),
    ("seed 1, doubled rates, 32 channels, trained on to 40 epochs", "e40-r01-lr4-s1"),
    ("seed 1, doubled rates, 64 channels, trained on to 40 epochs", "e40-r01-lr4-c64-s1"),
], "Wider models and a refinement stage in G, 20 epochs (last four rows: 40) each (full-profile scorers)")?"""),
    md("""
Width with the doubled rates is now the recipe: 64 base channels and both learning rates at twice
the earlier recipe's, for the recipe's full length. Check the choice against the tables yourself.
At the full length, is the wider run ahead of the narrow one from both seeds, on both scorers?
Compare each seed's gain with the gaps between seeds at the full length in the table of doubled
rates, both at the first recipe's rates and at the doubled ones: which gain is beyond every such
gap, and which is not? And against the recipe before it (the first recipe's rates at 32
channels, in that table): is the wider model ahead from both seeds? The seed-5 wide run was then
shipped, until the twin head below joined the recipe. The refinement stage, one
seed for and one against, stays an option. Width costs time: on a CPU each epoch takes more
than twice as long (the training cell prints the expected time before it starts).
"""),
    md("""
### A twin class head: the AC-GAN's pull toward easy digits

Every table so far has the same shape: class consistency at the top, recall well below the
floor's. Part of that may come from the AC-GAN's own loss. G is rewarded when D's class head
names the digit it was asked for, and the surest way to be named right is to draw the forms of
each digit that are easiest to name: an upright 1, a closed 4. That reward narrows the variety
within each digit.

TAC-GAN (Gong et al., 2019) gives D a **twin class head** (`arch.twin_classifier`): a second
linear head on the same features, trained to name the digit each *generated* image was asked to
be. G's class loss becomes the class head's loss minus the twin's. If G draws only the easiest
forms, the twin names them as easily as the class head does, and the subtraction takes away
the reward for them; what is left rewards digits that the class head names the way it names
real ones. `g_twin_weight` sets how much of the twin's loss is subtracted: 1 is TAC-GAN's, 0.3
a partial cancellation.

The table compares runs with the doubled rates for half the recipe's length, at the earlier
width of 32 channels, each seed's rows starting with its run without a twin. Ask of it: did recall rise, which is what the twin is
for, and from both seeds? What did it cost in class consistency? And the partial
cancellation: should a third of the correction do a third of the good?

The twin changes the losses, not only the model. Setting `arch.twin_classifier` builds the
head, and the step cells at the top train it (look for TAC-GAN there). Both read every head of
D on the fakes from one pass, `forward_heads(&fake, None, true)` (`.adv`, `.cls`, `.twin`):
`d_step` adds the cross-entropy of the twin's logits against `labels` to D's loss, and `g_step`
subtracts `g_twin_weight` times theirs from G's class loss. The runs in the table used the
library's steps, `train::gan::discriminator_step` and `train::gan::generator_step`, which do
the same (the library's G step also passes the labels to `forward_heads`, which only a
projection discriminator, `arch.projection`, reads).
"""),
    code("""figures::recorded_variants_table(&analysis::shipped_variants_dir(), &[
    ("seed 5, doubled rates, no twin", "e20-r01-lr4"),
    ("seed 5, doubled rates, twin head, a third of its loss subtracted", "e20-r01-lr4-tac03"),
    ("seed 5, doubled rates, twin head (TAC-GAN)", "e20-r01-lr4-tac10"),
    ("seed 1, doubled rates, no twin", "e20-r01-lr4-s1"),
    ("seed 1, doubled rates, twin head (TAC-GAN)", "e20-r01-lr4-tac10-s1"),
], "A twin class head in D (TAC-GAN), 20 epochs each (full-profile scorers)")?"""),
    md("""
With the width the twin was tried again, for the recipe's whole length. The next table puts that
run beside the recipe alone: same seed, same rates, same number of epochs, same machine. Read it
the way the width was read. Is the twin ahead on both scorers' Fréchet distance and on recall?
By how much on the selecting scorer, against the largest gap seen between two seeds at this
scale (the first recipe's two seeds after its full length, in the width section's table, not the
two 64-channel seeds, which happened to land close together)? One seed ahead by less than that
gap is a hint, and a second seed decides: the seed-1 rows are that check. Is the twin ahead from
seed 1 too, on both scorers? The third row is the seed-5 twin run trained on for more
epochs with `latentlab gan train --continue-from`, exactly the run that a longer config would
have trained: does the distance keep falling after the recipe's length, and does recall?
"""),
    code("""figures::recorded_variants_table(&analysis::shipped_variants_dir(), &[
    ("seed 5, 64 channels, doubled rates, no twin", "e40-r01-lr4-c64"),
    ("seed 5, the same with the twin head (shipped)", "e40-c64-tac10"),
    ("seed 5, the same with the twin head, trained on", "e50-c64-tac10"),
    ("seed 1, 64 channels, doubled rates, no twin", "e40-r01-lr4-c64-s1"),
    ("seed 1, the same with the twin head", "e40-c64-tac10-s1"),
], "The twin head with the width, 40 epochs (third row: 50; full-profile scorers)")?"""),
    md("""
The defaults of this notebook's model are therefore: PyTorch init, 1:1 steps, class head on real
digits only, R1 at γ = 0.1, constant learning rates at twice the first recipe's, 64 base
channels, no refinement stage, a twin class head, and the number of epochs from the table of
the run scored as it trains: the model at the top of this notebook. The twin is the full
profile's only: the quick profile's few epochs on a few thousand digits are too few for it (the
twin's G had not yet learned to draw the asked digit when measured that way), so its config
leaves the twin out, as the config cell prints.
"""),
    md("""
### Mode seeking: a dial between variety and realism (not in the recipe)

Recall is the score furthest from the floor in every table of recorded runs above. **Mode seeking** (MSGAN, Mao
et al., 2019) goes after it in G's loss. G draws its batch in pairs asked for the same digit from
different noise, and pays `g_mode_seeking` / (mean|x₁ − x₂| / mean|z₁ − z₂|): the less two
drawings differ for how far apart their noise is, the more G pays. A generator that sends much of
its noise to one shape of each digit pays most. The term is in `g_step` at the top (look for
MSGAN there); at 0, the recipe's value, it is skipped and the labels are drawn as before.

The table puts the recipe's run halfway through its training (a copy of its generator taken
then: exactly the weights a run of half the length would have) beside the same recipe with the
term at a tenth of MSGAN's weight and at MSGAN's own, 1, all from seed 5; the later rows
follow the recipe and the tenth to the recipe's full length and beyond it (the epochs column).
The recipe appears twice at full length: the shipped run, and the same run repeated on the
machine that trained the mode-seeking runs (two kinds of processor give different numbers from
the first epoch on, so a fair pair shares a machine). Ask of it:
which scores move with the weight, and which way? Does recall reach the goal (within 0.1 of the
floor's, as the comparison below sets) at either weight, and what happens to the Fréchet distance, precision and class
consistency? The ink and slant spreads compare the variety of the drawings with that of real
digits (1: as varied; above 1: more): which weight comes closest? Is there a row that is at least
as good as the recipe on every score? If not, the term is a dial that trades one kind of quality
for the other, not a free gain, and the recipe leaves it at 0. And training on: which scores
does it improve for each, and does it close the gap between the two?

There is a second dial that needs no training: draw the noise wider (multiply `z` by a little
more than 1) when sampling. `cargo run --example sampling_probe -- RUN` scores a generator at
several noise scales on the same noise; `data/gan-variants/README.md` records it for the shipped
generator and the mode-seeking run side by side. Neither dial beats the other on every score.
Together they buy the recall half of the goal, but their costs in Fréchet distance more than add
up, and the Fréchet half stays out of reach.
"""),
    code("""figures::recorded_variants_table(&analysis::shipped_variants_dir(), &[
    ("the recipe, 20 epochs", "e20-c64-tac10"),
    ("mode seeking, weight 0.1, 20 epochs", "e20-c64-tac10-ms01"),
    ("mode seeking, weight 1 (MSGAN's), 20 epochs", "e20-c64-tac10-ms1"),
    ("the recipe, 40 epochs (shipped)", "e40-c64-tac10"),
    ("the recipe again, 40 epochs, on the machine of the mode-seeking runs", "e40-c64-tac10-rerun"),
    ("mode seeking, weight 0.1, 40 epochs", "e40-c64-tac10-ms01"),
    ("the recipe again, trained on (a copy taken on the way)", "e50-c64-tac10-rerun"),
    ("the recipe again, trained on", "e60-c64-tac10-rerun"),
    ("mode seeking, weight 0.1, trained on (a copy taken on the way)", "e50-c64-tac10-ms01"),
    ("mode seeking, weight 0.1, trained on", "e60-c64-tac10-ms01"),
], "Mode seeking on the recipe, seed 5 (full-profile scorers)")?"""),
    md("""
## The comparison, measured

Looking is not measuring: the table below scores what the grids only show. The homework had no
numbers here, only pictures. Each generator draws the same number of samples (a tenth of each
digit for the conditional ones), and two MNIST classifiers, the **scorers**, read them:

- the *scorer* is the LeNet-like network that the convolutional recipe was chosen on;
- the *held-out scorer* is a wider network with batch normalisation, trained from another seed,
  that was never used to choose anything. A generator that only fools the first one shows here.

What each column measures, on the scorer's 128 penultimate features:

- **Class consistency**: the share of samples the scorer reads as the digit that was asked for.
- **Fréchet distance**: fit a Gaussian to the features of the samples and one to the test
  digits', and measure how far apart they are (the FID formula). Lower is better.
- **Precision and recall** (Kynkäänniemi et al., 2019): draw a ball around every test digit's
  features, reaching its third-nearest test neighbour. Precision is the share of samples that
  land inside some ball: *are the samples realistic?* Recall swaps the roles: the share of test
  digits inside the samples' balls: *is every kind of real digit produced?* A generator that
  draws a few perfect digits over and over has high precision and low recall.
- **Worst digit**: the digit whose samples are furthest (Fréchet) from the real ones of that digit.
- **Ink / slant spread**: how much the samples' ink (fully inked pixels) and slant vary, as a
  ratio of how much real digits of the same class vary, averaged over the digits. 1 is as varied
  as real handwriting; a generator whose strokes all look alike sits well below 1.
- **Digit share**: the smallest and largest share of one digit among the samples, as the scorer
  reads them: a balanced generator shows a tenth for both, a collapsed one zero for some digit.

Every number has a **floor**: the first row of each scorer's block scores *real training digits*
as if a generator had drawn them. No generator can beat real digits, so read every column against
that row: a Fréchet distance twice the floor's, a recall 0.1 below it.
"""),
    shared(code("""let scorer = train::train_or_load_scorer(Scorer::Main, profile, &train, &test, &runs, &mut Progress::Lines)?;
let heldout = train::train_or_load_scorer(Scorer::Heldout, profile, &train, &test, &runs, &mut Progress::Lines)?;
let n = if profile == Profile::Full { 10_000 } else { 1_000 };
let quality = {
    let gans = [(GanKind::Gan, &gan), (GanKind::AcGan, &acgan), (GanKind::ConvAcGan, &conv)];
    let scorers = [(Scorer::Main, &scorer), (Scorer::Heldout, &heldout)];
    analysis::score_generators(&gans, &scorers, &train, &test, n)?
};
println!("scorers' test accuracy: {:.2}% and {:.2}% (held out)", 100.0 * scorer.test_accuracy, 100.0 * heldout.test_accuracy);
println!("targets (full profile): class consistency at least 95% for the fully connected AC-GAN, 98% for the convolutional one;");
println!("  goals for the convolutional one: Fréchet distance within 2x the floor on both scorers, recall within 0.1 of the floor");
figures::gan_quality_table(&quality, &format!("GAN vs AC-GAN vs convolutional AC-GAN ({profile} profile, {n} samples each)"))""")),
    md("""
Which digits does each generator get wrong? One row per generator (the floor first), one column
per digit: the Fréchet distance between the samples of that digit and the real test digits of
that digit. Compare each cell with the floor's cell above it, not with the other columns: some
digits (a 1 is one stroke) vary less than others even in real handwriting. For the plain GAN the
digit is the one the scorer reads, since nobody asked for one.
"""),
    code("""figures::per_class_frechet(&quality, Scorer::Main)?"""),
    md("""
The held-out scorer's view of the same samples. If it ranks the generators differently, trust
neither ranking too far: the two networks notice different things about a digit.
"""),
    code("""figures::per_class_frechet(&quality, Scorer::Heldout)?"""),
    md("""
Finally the strokes of the convolutional AC-GAN, digit by digit: the mean ± standard deviation
of the ink and of the slant, of real test digits and of the samples. Real handwriting varies:
thin and thick pens, upright and slanted hands. Look at the ± columns: where the samples' spread
is much smaller than the real digits', the generator draws one kind of digit.
"""),
    code("""figures::stroke_table(&quality.get(GanKind::ConvAcGan).expect("scored").scores[&Scorer::Main],
    "Convolutional AC-GAN: strokes per digit, real vs generated")"""),
    md("""
## Exercises

The answers are in `notebooks/solutions/06_conv_acgan.ipynb`.

**Exercise 1: what width costs.** Build the convolutional AC-GAN with twice the channels
(`arch.conv_channels`) and compare the number of weights of its discriminator with the default's.
A convolution's weights grow with the product of its input and output channels: by how much
should the second convolution grow, and why does the whole discriminator grow less?
"""),
    exercise("""let mut wide = GanConfig::new(GanKind::ConvAcGan, profile);
wide.arch.conv_channels = GanConfig::new(GanKind::ConvAcGan, profile).arch.conv_channels; // your answer"""),
    solution("""let mut wide = GanConfig::new(GanKind::ConvAcGan, profile);
wide.arch.conv_channels = 2 * GanConfig::new(GanKind::ConvAcGan, profile).arch.conv_channels;"""),
    shared(code("""{
let count = |c: &GanConfig| -> Result<usize> {
    let r = train::GanRun::new(c, Device::Cpu)?;
    Ok(r.d_vs.trainable_variables().iter().map(|t| t.numel()).sum())
};
let (base, w) = (count(&GanConfig::new(GanKind::ConvAcGan, profile))?, count(&wide)?);
let conv2 = |c: &GanConfig| -> Result<usize> {
    let r = train::GanRun::new(c, Device::Cpu)?;
    Ok(r.d_vs.variables().iter().filter(|(n, _)| n.starts_with("conv2") && n.ends_with("weight")).map(|(_, t)| t.numel()).sum())
};
let (c_base, c_wide) = (conv2(&GanConfig::new(GanKind::ConvAcGan, profile))?, conv2(&wide)?);
exercise::check("Exercise 1", c_wide == 4 * c_base,
    &format!("the discriminator's second convolution has {c_wide} weights against {c_base}; the whole discriminator {w} against {base} ({:.1} times)",
        w as f64 / base as f64),
    "double conv_channels");
}""")),
    md("""
**Exercise 2: read the table.** Which generator has the lowest Fréchet distance to the test
digits? Name it as the table does.
"""),
    exercise("""let my_pick = ""; // your answer"""),
    solution("""let my_pick = GanKind::ALL.iter()
    .map(|&k| (figures::gan_label(k), quality.get(k).unwrap().scores[&Scorer::Main].frechet_to_test))
    .min_by(|a, b| a.1.total_cmp(&b.1)).map(|(n, _)| n).unwrap();"""),
    shared(code("""{
let frechet: Vec<(&str, f64)> = GanKind::ALL.iter()
    .map(|&k| (figures::gan_label(k), quality.get(k).expect("scored").scores[&Scorer::Main].frechet_to_test))
    .collect();
let best = frechet.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
exercise::check("Exercise 2", my_pick == best.0, &format!("you picked {my_pick}; lowest by the scorer: {} at {:.2}", best.0, best.1),
    "look at the Fréchet distance column of the scorer's rows");
}""")),
    md("""
**Exercise 3: a generator that cheats.** Build a "generator" that returns the same real test
digit `n` times (`test.take(1).images_f32()` is one digit; `Tensor::repeat` copies it). Before you
run the check, predict its precision and its recall: every sample is a real digit, but how many
kinds of real digit does it cover?
"""),
    exercise("""let copies: Tensor = test.take(2).images_f32(); // your answer: n copies of one test digit"""),
    solution("""let copies: Tensor = test.take(1).images_f32().repeat([n as i64, 1, 1, 1]);"""),
    shared(code("""{
let count = copies.size()[0];
let one_digit = count == n as i64 && (&copies - copies.get(0)).abs().max().double_value(&[]) == 0.0;
// Scored only when it is n copies of one digit (precision and recall need more than 3 images).
let (p, r) = if one_digit {
    let q = analysis::score_images(&scorer, &copies, None, &test, n)?;
    (q.precision, q.recall)
} else {
    (f64::NAN, f64::NAN)
};
exercise::check("Exercise 3", one_digit && p == 1.0 && r <= 0.01,
    &format!("{count} images; precision {p:.3}, recall {r:.3}: all realistic, one kind of digit"),
    "repeat the first test digit n times: copies.size()[0] must be n, and every copy the same");
}""")),
]


def solutions(name, cells):
    """The solutions notebook: the set-up and definition cells the answers need, the exercises'
    texts, their answers and their checks; no exercise starter cells and no long trainings."""
    out = [md(f"""
# Solutions: {name.replace('_', ' ', 1)}

The answers to the exercises of `notebooks/{name}.ipynb`, with the cells they need from it. CI
runs this notebook and requires every check to print a ✓.
""")]
    started = False
    for c in cells:
        meta = c["metadata"]
        if c["cell_type"] == "markdown" and "## Exercises" in c["source"]:
            started = True
        if meta.get("latentlab") == "exercise":
            continue
        if meta.get("latentlab") == "solution" or meta.get("latentlab_shared") or (started and c["cell_type"] == "markdown"):
            cell = json.loads(json.dumps(c))
            cell["source"] = cell["source"].replace('path = ".."', 'path = "../.."')
            cell["metadata"].pop("latentlab_shared", None)
            out.append(cell)
    return out


def write(name, cells, folder="notebooks"):
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
    path = ROOT / folder / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    for name, cells in NOTEBOOKS.items():
        cells = json.loads(json.dumps(cells))  # the set-up cells are shared between notebooks
        sol = solutions(name, cells)
        for c in cells:
            c["metadata"].pop("latentlab_shared", None)
        write(name, [c for c in cells if c["metadata"].get("latentlab") != "solution"])
        write(name, sol, "notebooks/solutions")