//! The one epoch loop, for any model and any training step.
//!
//! The caller owns the model, the loss and the step (forward, loss, backward, optimizer step on
//! one batch); this module owns everything around them: shuffled batches, the learning-rate
//! schedule, progress lines with the time left, the history, the NaN guard, the held-out score
//! after every epoch, and a run folder. The library's own trainings ([`super::train_autoencoder`]
//! and the search) call it with their default step; a notebook calls it with the model and the
//! step defined in its cells, so a changed cell trains the changed model.

use super::{check_finite, EpochRecord, History, LrSchedule, Optimizer, OptimizerConfig, Progress};
use crate::data::{Batches, Dataset};
use crate::fsutil;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;
use tch::{nn, Tensor};

/// The loop's settings; saved as `config.json` in a notebook's run folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitConfig {
    /// A short name for progress lines and tables.
    pub name: String,
    /// Epochs over the training images.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Seed of the batch order (the caller seeds the weights).
    pub seed: u64,
    /// Optimizer and base learning rate.
    pub optimizer: OptimizerConfig,
    /// Learning rate over the epochs.
    #[serde(default)]
    pub schedule: LrSchedule,
}

impl FitConfig {
    /// Checks every value, saying what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.optimizer.validate()?;
        anyhow::ensure!(
            self.epochs >= 1,
            "epochs must be at least 1, got {}",
            self.epochs
        );
        anyhow::ensure!(
            self.batch_size >= 1,
            "batch_size must be at least 1, got {}",
            self.batch_size
        );
        self.schedule.validate("schedule", self.epochs)?;
        Ok(())
    }
}

impl From<&super::AutoencoderConfig> for FitConfig {
    fn from(c: &super::AutoencoderConfig) -> FitConfig {
        FitConfig {
            name: c.name.clone(),
            epochs: c.epochs,
            batch_size: c.batch_size,
            seed: c.seed,
            optimizer: c.optimizer.clone(),
            schedule: c.schedule,
        }
    }
}

/// Where the loop starts and what it reports to; see [`run_epochs`].
pub struct EpochLoop<'a> {
    /// The settings.
    pub config: &'a FitConfig,
    /// The built optimizer (its learning rate is set every epoch from the schedule).
    pub optimizer: &'a mut Optimizer,
    /// Past epochs (a resumed run's); new ones are appended.
    pub history: &'a mut History,
    /// Progress lines or bar.
    pub progress: &'a mut Progress,
}

/// Runs the epochs from `history.epochs.len()` up to `config.epochs`.
///
/// Every batch calls `step(model, optimizer, images, labels)`, which does forward, loss, backward
/// and the optimizer step, and returns the batch's loss. After every epoch, the held-out loss is
/// the mean of `held_out(model, images, labels)` over `valid` (skipped when empty), computed
/// without gradients in batches of 1,000, with the model in eval mode as `held_out` decides.
/// `after_epoch` sees the history and the optimizer after each epoch (checkpoints go there).
/// Each epoch restarts the random streams from [`super::resume::seed_epoch`].
pub fn run_epochs<M>(
    lp: EpochLoop<'_>,
    model: &M,
    train: &Dataset,
    valid: &Dataset,
    mut step: impl FnMut(&M, &mut Optimizer, &Tensor, &Tensor) -> Tensor,
    held_out: impl Fn(&M, &Tensor, &Tensor) -> Tensor,
    mut after_epoch: impl FnMut(&History, &Optimizer) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let EpochLoop {
        config,
        optimizer: opt,
        history,
        progress,
    } = lp;
    config.validate()?;
    anyhow::ensure!(!train.is_empty(), "the training set is empty");
    let start_epoch = history.epochs.len();
    if start_epoch > 0 && start_epoch < config.epochs {
        progress.line(&format!(
            "[{}] resuming after epoch {start_epoch} of {}",
            config.name, config.epochs
        ));
    }
    for epoch in start_epoch..config.epochs {
        let t0 = Instant::now();
        // The epoch's random draws (dropout) depend only on the seed and the epoch: a resumed
        // run continues exactly.
        super::resume::seed_epoch(config.seed, epoch);
        let lr = config
            .schedule
            .lr(config.optimizer.lr, epoch, config.epochs);
        opt.set_lr(lr);
        let train_loss = train_epoch(
            config,
            epoch,
            (model, &mut *opt),
            train,
            &mut step,
            progress,
        )?;
        let test_loss = (!valid.is_empty()).then(|| mean_loss(model, valid, &held_out));
        let rec = EpochRecord {
            epoch: epoch + 1,
            train_loss,
            test_loss,
            lr,
            seconds: t0.elapsed().as_secs_f64(),
            extra: Default::default(),
        };
        history.epochs.push(rec);
        progress.line(&epoch_line(config, history, start_epoch));
        after_epoch(history, opt)?;
    }
    Ok(())
}

/// One pass over `train` in the epoch's shuffled order, one `step` per batch; returns the mean
/// training loss (summed on the device: one host sync per epoch, plus a NaN check every 50
/// steps).
fn train_epoch<M>(
    config: &FitConfig,
    epoch: usize,
    (model, opt): (&M, &mut Optimizer),
    train: &Dataset,
    step: &mut impl FnMut(&M, &mut Optimizer, &Tensor, &Tensor) -> Tensor,
    progress: &mut Progress,
) -> anyhow::Result<f64> {
    let batches = Batches::shuffled(train.len(), config.batch_size, config.seed, epoch);
    progress.start(
        &format!("{} epoch {}/{}", config.name, epoch + 1, config.epochs),
        batches.num_batches() as u64,
    );
    let mut sum = Tensor::zeros([], (tch::Kind::Float, train.device()));
    let mut seen = 0usize;
    for (i, idx) in batches.enumerate() {
        let (x, y) = train.batch(&idx);
        let loss = step(model, opt, &x, &y);
        let b = x.size()[0] as usize;
        sum += loss.detach() * b as f64;
        seen += b;
        if i % 50 == 0 {
            check_finite("training loss", loss.double_value(&[]), epoch + 1, i + 1)?;
        }
        progress.step(|| format!("loss {:.4}", loss.double_value(&[])));
    }
    progress.finish();
    let train_loss = sum.double_value(&[]) / seen as f64;
    let steps = seen.div_ceil(config.batch_size);
    check_finite("training loss", train_loss, epoch + 1, steps)?;
    Ok(train_loss)
}

/// The progress line of the epoch just recorded in `history`.
fn epoch_line(config: &FitConfig, history: &History, start_epoch: usize) -> String {
    let rec = history.last().expect("an epoch was just recorded");
    format!(
        "[{}] epoch {:>3}/{}  train loss {:.5}  held-out {:.5}  lr {:.2e}  {:.1}s{}",
        config.name,
        rec.epoch,
        config.epochs,
        rec.train_loss,
        rec.test_loss.unwrap_or(f64::NAN),
        rec.lr,
        rec.seconds,
        time_left(history, start_epoch, config.epochs)
    )
}

/// "  (about 3 min left)" from the mean time of this session's epochs; empty after the last.
fn time_left(history: &History, start_epoch: usize, epochs: usize) -> String {
    let done = &history.epochs[start_epoch.min(history.epochs.len())..];
    let left = epochs.saturating_sub(history.epochs.len());
    if done.is_empty() || left == 0 {
        return String::new();
    }
    let per_epoch = done.iter().map(|e| e.seconds).sum::<f64>() / done.len() as f64;
    format!(
        "  (about {} left)",
        format_duration(per_epoch * left as f64)
    )
}

/// "42 s", "7 min", "2.5 h": a duration rounded for people.
pub fn format_duration(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{:.0} s", seconds.max(0.0))
    } else if seconds < 90.0 * 60.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// The mean of `loss(model, images, labels)` over `data` in batches of 1,000, without gradients.
pub fn mean_loss<M>(
    model: &M,
    data: &Dataset,
    loss: impl Fn(&M, &Tensor, &Tensor) -> Tensor,
) -> f64 {
    let n = data.len();
    if n == 0 {
        return f64::NAN;
    }
    let bs = 1000;
    let mut total = 0.0;
    tch::no_grad(|| {
        for start in (0..n).step_by(bs) {
            let (x, y) = data.range(start, start + bs);
            let m = (start + bs).min(n) - start;
            total += loss(model, &x, &y).double_value(&[]) * m as f64;
        }
    });
    total / n as f64
}

/// A model trained by [`fit`] (or loaded from a shipped checkpoint): its history and where it is.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// Per-epoch losses.
    pub history: History,
    /// The folder holding `config.json`, `history.json` and `checkpoint.safetensors`.
    pub dir: PathBuf,
    /// True when the weights were loaded from a shipped checkpoint instead of trained.
    pub loaded: bool,
}

/// Where a notebook's training writes, and which shipped run may stand in for it.
#[derive(Debug, Clone)]
pub struct RunFolder {
    /// The run folder (created if missing).
    pub out: PathBuf,
    /// A shipped checkpoint's name (`data/checkpoints/<name>`) and the notebook's profile: in the
    /// full profile without retraining, [`fit`] loads it instead of training, and it gives the
    /// expected time before a training.
    pub shipped: Option<(String, crate::runtime::Profile)>,
}

impl RunFolder {
    /// A run folder with no shipped stand-in.
    pub fn new(out: impl Into<PathBuf>) -> RunFolder {
        RunFolder {
            out: out.into(),
            shipped: None,
        }
    }

    /// The same, with the shipped run `name` standing in where the profile and the retrain
    /// switch say so (see [`crate::runtime::shipped`]).
    pub fn or_shipped(self, name: &str, profile: crate::runtime::Profile) -> RunFolder {
        RunFolder {
            shipped: Some((name.to_string(), profile)),
            ..self
        }
    }
}

/// Trains a model a notebook defined, with the notebook's step, into a run folder; or, when the
/// folder's shipped stand-in applies, loads its weights into `vs` instead.
///
/// Training always starts from the weights in `vs` (a rerun of the cell starts over) and writes
/// `config.json` (the [`FitConfig`]), `history.json` and `checkpoint.safetensors` into the
/// folder, atomically, after every epoch. Before training it prints the expected time when the
/// shipped run measured one.
#[allow(clippy::too_many_arguments)]
pub fn fit<M>(
    config: &FitConfig,
    vs: &mut nn::VarStore,
    model: &M,
    data: (&Dataset, &Dataset),
    step: impl FnMut(&M, &mut Optimizer, &Tensor, &Tensor) -> Tensor,
    held_out: impl Fn(&M, &Tensor, &Tensor) -> Tensor,
    folder: &RunFolder,
    progress: &mut Progress,
) -> anyhow::Result<Fitted> {
    config.validate()?;
    let out = folder.out.as_path();
    if let Some((name, profile)) = &folder.shipped {
        if let Some(dir) = crate::runtime::shipped(*profile, name) {
            progress.line(&format!(
                "loading the shipped checkpoint {} (set retrain = true in the first cell to train here instead)",
                dir.display()
            ));
            fsutil::load_varstore(vs, dir.join("checkpoint.safetensors")).with_context(|| {
                format!(
                    "the shipped checkpoint in {} does not fit the network defined in this notebook; \
                     if you changed the network, set retrain = true to train your version",
                    dir.display()
                )
            })?;
            for line in shipped_differences(&dir, config) {
                progress.line(&line);
            }
            let history = fsutil::read_json(dir.join("history.json"))?;
            return Ok(Fitted {
                history,
                dir,
                loaded: true,
            });
        }
        if let Some(line) = expected_time(name, config.epochs, data.0.len()) {
            progress.line(&line);
        }
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the run folder {}", out.display()))?;
    fsutil::remove_files(
        out,
        ["history.json", "checkpoint.safetensors", "metrics.json"],
    )?;
    fsutil::write_json(out.join("config.json"), config)?;
    let device = vs.device();
    let (train, valid) = (data.0.to_device(device), data.1.to_device(device));
    let mut opt = config.optimizer.build(vs)?;
    let mut history = History::default();
    let lp = EpochLoop {
        config,
        optimizer: &mut opt,
        history: &mut history,
        progress,
    };
    run_epochs(lp, model, &train, &valid, step, held_out, |h, _| {
        fsutil::save_varstore(vs, out.join("checkpoint.safetensors"))?;
        fsutil::write_json(out.join("history.json"), h)
    })?;
    Ok(Fitted {
        history,
        dir: out.to_path_buf(),
        loaded: false,
    })
}

/// "expected time: about N min (the shipped run `name` took X s per epoch on 2 CPU cores)",
/// scaled to `epochs` epochs over `images` training images, when `data/checkpoints/<name>`
/// has a history with timed epochs.
pub fn expected_time(name: &str, epochs: usize, images: usize) -> Option<String> {
    let dir = crate::runtime::checkpoints_dir().join(name);
    let history: History = fsutil::read_json(dir.join("history.json")).ok()?;
    let timed: Vec<f64> = history
        .epochs
        .iter()
        .map(|e| e.seconds)
        .filter(|s| *s > 0.0)
        .collect();
    if timed.is_empty() {
        return None;
    }
    let per_epoch = timed.iter().sum::<f64>() / timed.len() as f64;
    let shipped_images = fsutil::read_json::<serde_json::Value>(dir.join("metrics.json"))
        .ok()
        .and_then(|m| m["train_images"].as_u64())
        .unwrap_or(60_000) as f64;
    let scaled = per_epoch * images as f64 / shipped_images;
    Some(format!(
        "expected time: roughly {} for {epochs} epochs on {images} images (the shipped run `{name}` took {per_epoch:.1} s per epoch on {shipped_images:.0} images on the 2-core CPU machine that trained it; other batch sizes and machines differ)",
        format_duration(scaled * epochs as f64)
    ))
}

/// "expected time: roughly N (the shipped run `name` took N of training in all ...)" from the
/// seconds a shipped fine-tuning (`metrics.json`) or search (`results.json`, the folds) recorded.
pub fn expected_total(name: &str) -> Option<String> {
    let dir = crate::runtime::checkpoints_dir().join(name);
    let seconds = if let Ok(r) = fsutil::read_json::<serde_json::Value>(dir.join("results.json")) {
        r["folds"]
            .as_array()?
            .iter()
            .filter_map(|f| f["seconds"].as_f64())
            .sum::<f64>()
    } else {
        fsutil::read_json::<serde_json::Value>(dir.join("metrics.json")).ok()?["seconds"]
            .as_f64()?
    };
    Some(format!(
        "expected time in the full profile: roughly {} (what the shipped run `{name}` took on the 2-core CPU machine that trained it)",
        format_duration(seconds)
    ))
}

/// Lines saying which of `config`'s settings differ from those the shipped run in `dir` was
/// trained with (its `config.json`): those settings, and the notebook's step, are not used when
/// the shipped weights are loaded.
pub fn shipped_differences(dir: &std::path::Path, config: &FitConfig) -> Vec<String> {
    let Ok(shipped) = fsutil::read_json::<serde_json::Value>(dir.join("config.json")) else {
        return Vec::new();
    };
    let Ok(ours) = serde_json::to_value(config) else {
        return Vec::new();
    };
    let differ: Vec<String> = ["epochs", "batch_size", "seed", "optimizer", "schedule"]
        .iter()
        .filter(|k| shipped.get(**k).is_some() && shipped[**k] != ours[**k])
        .map(|k| format!("{k} {} (yours: {})", shipped[*k], ours[*k]))
        .collect();
    let mut lines = vec![
        "note: the shipped weights were trained by the library's own step; a changed step in this notebook is not used until retrain = true".to_string(),
    ];
    if !differ.is_empty() {
        lines.push(format!(
            "note: the shipped run was trained with {}; set retrain = true to train with your settings",
            differ.join(", ")
        ));
    }
    lines
}

/// Scores a reconstruction model (`model.forward_t(x, false)` rebuilds `x`) by the MSE per pixel
/// (pixels in `[0, 1]`) on the training and test images, in eval mode. For a model trained here
/// the numbers are written to `metrics.json` in its run folder; a shipped folder keeps its own.
pub fn reconstruction_metrics<M: nn::ModuleT>(
    fitted: &Fitted,
    vs: &nn::VarStore,
    model: &M,
    train: &Dataset,
    test: &Dataset,
) -> anyhow::Result<super::AutoencoderMetrics> {
    let device = vs.device();
    let mse = |data: &Dataset| {
        mean_loss(model, data, |m, x, _| {
            let x = x.to_device(device);
            m.forward_t(&x, false).mse_loss(&x, tch::Reduction::Mean)
        })
    };
    let metrics = super::AutoencoderMetrics {
        train_mse: mse(train),
        test_mse: mse(test),
        epochs: fitted.history.epochs.len(),
        seconds: fitted.history.seconds(),
        parameters: vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum(),
        train_images: train.len(),
        test_images: test.len(),
    };
    if !fitted.loaded {
        fsutil::write_json(fitted.dir.join("metrics.json"), &metrics)?;
    }
    Ok(metrics)
}
