//! Training the convolutional autoencoder: config, loop, evaluation, run folder, resume.

use super::fit::{run_epochs, EpochLoop, FitConfig};
use super::{History, LossKind, LrSchedule, Optimizer, OptimizerConfig, OptimizerKind, Progress};
use crate::data::{Dataset, DatasetKind};
use crate::fsutil;
use crate::models::{Autoencoder, AutoencoderArch};
use crate::runtime::Profile;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{nn, Device, Tensor};

/// Everything that defines an autoencoder training run; saved as `config.json` in its folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoencoderConfig {
    /// A short name for tables and figures.
    pub name: String,
    /// The profile it was made for (informational).
    pub profile: Profile,
    /// Which dataset (the homework: Fashion-MNIST).
    pub dataset: DatasetKind,
    /// The network.
    pub arch: AutoencoderArch,
    /// Optimizer and learning rate.
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule over the epochs.
    #[serde(default)]
    pub schedule: LrSchedule,
    /// Reconstruction loss.
    pub loss: LossKind,
    /// Number of epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Seed for weights and batch order.
    pub seed: u64,
    /// Use only the first N training images (None: all of the profile's data).
    #[serde(default)]
    pub train_limit: Option<usize>,
    /// Use only the first N test images.
    #[serde(default)]
    pub test_limit: Option<usize>,
    /// Write a checkpoint every N epochs (and always at the end).
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
}

fn default_checkpoint_every() -> usize {
    5
}

impl AutoencoderConfig {
    /// The homework's chosen configuration: latent 10, Adam 1e-3, no weight decay, dropout 0.5, MSE.
    /// `full`: 150 epochs on all 60,000 images; `quick`: 10 epochs on the embedded 4,000.
    pub fn homework(profile: Profile) -> Self {
        AutoencoderConfig {
            name: "homework".into(),
            profile,
            dataset: DatasetKind::FashionMnist,
            arch: AutoencoderArch::homework(10),
            optimizer: OptimizerConfig::adam(1e-3),
            schedule: LrSchedule::Constant,
            loss: LossKind::Mse,
            epochs: match profile {
                Profile::Quick => 10,
                Profile::Full => 150,
            },
            // Quick runs see only 4,000 images: smaller batches give them enough steps to learn.
            batch_size: match profile {
                Profile::Quick => 64,
                Profile::Full => 256,
            },
            seed: 42,
            train_limit: None,
            test_limit: None,
            checkpoint_every: 5,
        }
    }

    /// The improved model (latent 10): batch norm, wider, no dropout, cosine schedule.
    pub fn improved(profile: Profile) -> Self {
        AutoencoderConfig {
            name: "improved".into(),
            arch: AutoencoderArch::improved(10),
            optimizer: OptimizerConfig::adam(2e-3),
            schedule: LrSchedule::Cosine { min_factor: 0.02 },
            epochs: match profile {
                Profile::Quick => 8,
                Profile::Full => 15,
            },
            ..Self::homework(profile)
        }
    }

    /// A 2-d latent, for the homework's code-plane experiment: its network with a 2-unit code and
    /// no dropout (dropout on a 2-unit bottleneck would erase half of the code at every step).
    /// `full`: 20 epochs on all 60,000 images; `quick`: 8 epochs on the embedded 4,000.
    pub fn plane(profile: Profile) -> Self {
        let base = Self::homework(profile);
        AutoencoderConfig {
            name: "plane2d".into(),
            arch: AutoencoderArch {
                dropout: 0.0,
                ..AutoencoderArch::homework(2)
            },
            epochs: match profile {
                Profile::Quick => 8,
                Profile::Full => 20,
            },
            ..base
        }
    }

    /// The homework's model trained with another reconstruction loss, for the loss comparison
    /// (`full`: 30 epochs; `quick`: as [`AutoencoderConfig::homework`]).
    pub fn loss_comparison(profile: Profile, loss: LossKind) -> Self {
        let mut c = Self::homework(profile);
        c.name = format!("loss-{}", loss.name());
        c.loss = loss;
        if profile == Profile::Full {
            c.epochs = 30;
        }
        c
    }

    /// The homework's model trained with another optimizer, for the optimizer comparison the
    /// homework ran (`full`: 30 epochs; `quick`: as [`AutoencoderConfig::homework`]). Adam is
    /// exactly [`AutoencoderConfig::loss_comparison`] with MSE (same run, same name); SGD uses
    /// momentum 0.9 at 0.1 (at 1e-2 it sat on the plateau of predicting the mean image for the
    /// first nine epochs of a full run, test MSE 0.122), RMSprop no momentum at 1e-3 (PyTorch's
    /// defaults for it).
    pub fn optimizer_comparison(profile: Profile, kind: OptimizerKind) -> Self {
        let mut c = Self::loss_comparison(profile, LossKind::Mse);
        match kind {
            OptimizerKind::Adam => {}
            OptimizerKind::Sgd => {
                c.name = "opt-sgd".into();
                c.optimizer = OptimizerConfig {
                    kind,
                    lr: 0.1,
                    momentum: 0.9,
                    ..OptimizerConfig::adam(0.1)
                };
            }
            OptimizerKind::RmsProp => {
                c.name = "opt-rmsprop".into();
                c.optimizer = OptimizerConfig {
                    kind,
                    lr: 1e-3,
                    momentum: 0.0,
                    ..OptimizerConfig::adam(1e-3)
                };
            }
        }
        c
    }

    /// Alias of [`AutoencoderConfig::homework`] for the profile's default run.
    pub fn for_profile(profile: Profile) -> Self {
        Self::homework(profile)
    }

    /// Checks every field, saying what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.arch.validate()?;
        self.optimizer.validate()?;
        use crate::limits::{check_range, MAX_BATCH, MAX_EPOCHS};
        check_range("epochs", self.epochs, 1, MAX_EPOCHS)?;
        check_range("batch_size", self.batch_size, 1, MAX_BATCH)?;
        self.schedule.validate("schedule", self.epochs)?;
        let [c1, c2, c3] = self.arch.channels.map(|c| c as f64);
        let per_image = 2.0 * (c1 * 196.0 + c2 * 49.0 + c3 * 9.0 + 784.0)
            + 4.0 * self.arch.hidden as f64
            + 2.0 * self.arch.latent_dim as f64;
        crate::limits::check_memory(
            "a batch of this size (batch_size) through this network",
            3.0 * 4.0 * per_image * self.batch_size as f64,
        )?;
        anyhow::ensure!(
            self.checkpoint_every >= 1,
            "checkpoint_every must be at least 1"
        );
        if let Some(n) = self.train_limit {
            anyhow::ensure!(n >= 1, "train_limit must be at least 1 (or absent)");
        }
        if let Some(n) = self.test_limit {
            anyhow::ensure!(n >= 1, "test_limit must be at least 1 (or absent)");
        }
        Ok(())
    }

    /// Reads a config file (JSON), validating it.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let cfg: Self = fsutil::read_config(path)?;
        cfg.validate()
            .with_context(|| format!("invalid config in {}", path.display()))?;
        Ok(cfg)
    }

    /// Loads this config's training and test data (limits applied).
    pub fn load_data(&self) -> anyhow::Result<(Dataset, Dataset)> {
        use crate::data::Split;
        let mut train = Dataset::load(self.dataset, Split::Train, self.profile)?;
        let mut test = Dataset::load(self.dataset, Split::Test, self.profile)?;
        if let Some(n) = self.train_limit {
            train = train.take(n);
        }
        if let Some(n) = self.test_limit {
            test = test.take(n);
        }
        Ok((train, test))
    }
}

/// Final numbers of a run; saved as `metrics.json`. MSE is per pixel, pixels in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoencoderMetrics {
    /// Reconstruction MSE on the training images (eval mode).
    pub train_mse: f64,
    /// Reconstruction MSE on the test images (eval mode).
    pub test_mse: f64,
    /// Epochs trained in total.
    pub epochs: usize,
    /// Training seconds in total (all sessions of a resumed run).
    pub seconds: f64,
    /// Trainable parameters.
    pub parameters: i64,
    /// Number of training and test images used.
    pub train_images: usize,
    /// See `train_images`.
    pub test_images: usize,
}

/// A trained (or loaded) autoencoder with its history.
#[derive(Debug)]
pub struct AutoencoderRun {
    /// The config it was trained with.
    pub config: AutoencoderConfig,
    /// Its variables.
    pub vs: nn::VarStore,
    /// The model.
    pub model: Autoencoder,
    /// Per-epoch losses.
    pub history: History,
    /// Final numbers (None until evaluated).
    pub metrics: Option<AutoencoderMetrics>,
}

impl AutoencoderRun {
    /// A freshly initialised model (seeded) on `device`.
    pub fn new(config: &AutoencoderConfig, device: Device) -> anyhow::Result<AutoencoderRun> {
        config.validate()?;
        tch::manual_seed(config.seed as i64);
        let vs = nn::VarStore::new(device);
        let model = Autoencoder::new(&vs.root(), &config.arch);
        Ok(AutoencoderRun {
            config: config.clone(),
            vs,
            model,
            history: History::default(),
            metrics: None,
        })
    }

    /// Reconstructs `x` (`[b,1,28,28]` in `[0,1]`) in eval mode.
    pub fn reconstruct(&self, x: &Tensor) -> Tensor {
        tch::no_grad(|| self.model.forward_t_eval(&x.to_device(self.vs.device())))
    }

    /// Saves `config.json`, `history.json`, `metrics.json` (if any) and `checkpoint.safetensors`
    /// into `dir`, each atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        fsutil::save_varstore(&self.vs, dir.join("checkpoint.safetensors"))?;
        fsutil::write_json(dir.join("config.json"), &self.config)?;
        fsutil::write_json(dir.join("history.json"), &self.history)?;
        if let Some(m) = &self.metrics {
            fsutil::write_json(dir.join("metrics.json"), m)?;
        }
        Ok(())
    }
}

impl AutoencoderRun {
    /// As [`AutoencoderRun::save`] for a model changed after its metrics were measured (by
    /// fine-tuning): no `metrics.json`, and a stale one in `dir` is removed. The caller writes
    /// the new numbers beside it.
    pub fn save_tuned(&self, dir: &Path) -> anyhow::Result<()> {
        fsutil::save_varstore(&self.vs, dir.join("checkpoint.safetensors"))?;
        fsutil::write_json(dir.join("config.json"), &self.config)?;
        fsutil::write_json(dir.join("history.json"), &self.history)?;
        fsutil::remove_files(dir, ["metrics.json"])
    }
}

trait EvalForward {
    fn forward_t_eval(&self, x: &Tensor) -> Tensor;
}

impl EvalForward for Autoencoder {
    fn forward_t_eval(&self, x: &Tensor) -> Tensor {
        use tch::nn::ModuleT;
        self.forward_t(x, false)
    }
}

/// Loads a run folder (or a checkpoint file with `config.json` beside it) on `device`.
pub fn load_autoencoder(path: &Path, device: Device) -> anyhow::Result<AutoencoderRun> {
    use super::guard::{expect_run, RunKind};
    expect_run(path, "the run folder", &[RunKind::Autoencoder], true)?;
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    let ckpt = if path.is_dir() {
        dir.join("checkpoint.safetensors")
    } else {
        path.to_path_buf()
    };
    let cfg_path = dir.join("config.json");
    let config: AutoencoderConfig = fsutil::read_config(&cfg_path)?;
    let mut run = AutoencoderRun::new(&config, device)?;
    fsutil::load_varstore(&mut run.vs, &ckpt)?;
    let hist = dir.join("history.json");
    if hist.exists() {
        run.history = fsutil::read_json(&hist)?;
    }
    let met = dir.join("metrics.json");
    if met.exists() {
        run.metrics = fsutil::read_json(&met).ok();
    }
    Ok(run)
}

/// In the full profile, loads the shipped checkpoint `data/checkpoints/ae-<name>` (unless
/// retraining was asked for); otherwise trains (or resumes) into `run_dir`, first printing the
/// expected time when a shipped run of the same name measured one.
pub fn train_or_load_autoencoder(
    config: &AutoencoderConfig,
    train: &Dataset,
    test: &Dataset,
    run_dir: &Path,
    progress: &mut Progress,
) -> anyhow::Result<AutoencoderRun> {
    if let Some(dir) = crate::runtime::shipped(config.profile, &format!("ae-{}", config.name)) {
        progress.line(&format!(
            "loading the shipped checkpoint {} (set LATENTLAB_RETRAIN=1 to train instead)",
            dir.display()
        ));
        return load_autoencoder(&dir, crate::runtime::device());
    }
    let finished = run_dir.join("metrics.json").exists();
    if !finished {
        let images = config
            .train_limit
            .map_or(train.len(), |n| n.min(train.len()));
        let name = format!("ae-{}", config.name);
        if let Some(line) = super::fit::expected_time(&name, config.epochs, images) {
            progress.line(&line);
        }
    }
    train_autoencoder(config, train, test, Some(run_dir), progress)
}

/// Mean reconstruction loss (per pixel) of `model` on `data` in eval mode, in batches.
pub fn evaluate_reconstruction(
    model: &Autoencoder,
    data: &Dataset,
    loss: LossKind,
    device: Device,
) -> f64 {
    use tch::nn::ModuleT;
    super::fit::mean_loss(model, data, |m, x, _| {
        let x = x.to_device(device);
        loss.compute(&m.forward_t(&x, false), &x)
    })
}

/// Trains (or resumes) an autoencoder.
///
/// With `out`, the run folder gets `config.json`, `history.json`, `checkpoint.safetensors` and
/// the resume file every `checkpoint_every` epochs, and `metrics.json` at the end. A folder that
/// already holds a run with exactly this config is resumed exactly (weights, optimizer moments,
/// history; see [`super::resume`]) or, when finished, loaded; any other run there is refused
/// with the differences listed ([`super::guard::check_same_run`]).
pub fn train_autoencoder(
    config: &AutoencoderConfig,
    train: &Dataset,
    test: &Dataset,
    out: Option<&Path>,
    progress: &mut Progress,
) -> anyhow::Result<AutoencoderRun> {
    use super::resume::{self, RESUME_FILE};
    config.validate()?;
    anyhow::ensure!(!train.is_empty(), "the training set is empty");
    let device = crate::runtime::device();
    let mut run = AutoencoderRun::new(config, device)?;
    let mut opt = config.optimizer.build(&run.vs)?;
    if let Some(dir) = out {
        if let Some(finished) = open_run_folder(dir, &mut run, &mut opt, progress)? {
            return Ok(finished);
        }
    }
    let train_d = train.to_device(device);
    let test_d = test.to_device(device);
    let checkpoint_every = config.checkpoint_every;
    let epochs = config.epochs;
    fit_epochs(
        &mut run,
        &mut opt,
        (&train_d, &test_d),
        progress,
        |vs, opt, history| {
            let done = history.epochs.len();
            if let Some(dir) = out {
                if done % checkpoint_every == 0 || done == epochs {
                    fsutil::write_json(dir.join("history.json"), history)?;
                    fsutil::save_varstore(vs, dir.join("checkpoint.safetensors"))?;
                    resume::save(
                        &dir.join(RESUME_FILE),
                        &[("model", vs)],
                        &[("optimizer", opt)],
                        history,
                    )?;
                }
            }
            Ok(())
        },
    )?;
    let metrics = AutoencoderMetrics {
        train_mse: evaluate_reconstruction(&run.model, &train_d, LossKind::Mse, device),
        test_mse: evaluate_reconstruction(&run.model, &test_d, LossKind::Mse, device),
        epochs: run.history.epochs.len(),
        seconds: run.history.seconds(),
        parameters: config.arch.parameter_count(),
        train_images: train.len(),
        test_images: test.len(),
    };
    progress.line(&format!(
        "[{}] done: train MSE {:.5}, test MSE {:.5} per pixel after {} epochs ({:.0}s)",
        config.name, metrics.train_mse, metrics.test_mse, metrics.epochs, metrics.seconds
    ));
    run.metrics = Some(metrics);
    if let Some(dir) = out {
        run.save(dir)?;
        resume::finish(dir)?;
    }
    Ok(run)
}

/// Prepares `dir` for [`train_autoencoder`]: a finished run with the same config is loaded and
/// returned; an unfinished one is resumed into `run` and `opt`; another run is refused. Writes
/// `config.json`.
fn open_run_folder(
    dir: &Path,
    run: &mut AutoencoderRun,
    opt: &mut Optimizer,
    progress: &mut Progress,
) -> anyhow::Result<Option<AutoencoderRun>> {
    use super::guard::{check_same_run, RunKind};
    use super::resume::{self, RESUME_FILE};
    let config = run.config.clone();
    if check_same_run(dir, RunKind::Autoencoder, "config.json", &config)? {
        if dir.join("metrics.json").exists() {
            progress.line(&format!(
                "[{}] already finished in {}: loaded (pass --force or another folder to train again)",
                config.name,
                dir.display()
            ));
            return load_autoencoder(dir, run.vs.device()).map(Some);
        }
        if dir.join(RESUME_FILE).exists() {
            run.history = resume::load(
                &dir.join(RESUME_FILE),
                &mut [("model", &mut run.vs)],
                &mut [("optimizer", opt)],
            )?;
        } else {
            anyhow::ensure!(
                !dir.join("checkpoint.safetensors").exists(),
                "{} holds an unfinished run without {RESUME_FILE} (written by an older latentlab), so it cannot be resumed exactly: pass --force to start over",
                dir.display()
            );
        }
    }
    fsutil::write_json(dir.join("config.json"), &config)?;
    Ok(None)
}

/// Runs the epochs from `run.history.epochs.len()` up to `run.config.epochs` with `opt` (built
/// by the run's optimizer config) on data already on the run's device, appending to the history
/// and calling `after_epoch` with the weights, the optimizer and the history after each epoch.
/// The held-out set (`data.1`) is scored in eval mode after every epoch; an empty one is skipped.
/// The loop is [`super::fit::run_epochs`] with [`default_step`].
pub fn fit_epochs(
    run: &mut AutoencoderRun,
    opt: &mut Optimizer,
    (train, valid): (&Dataset, &Dataset),
    progress: &mut Progress,
    mut after_epoch: impl FnMut(&nn::VarStore, &Optimizer, &History) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let config = run.config.clone();
    let fit_config = FitConfig::from(&config);
    let mut history = std::mem::take(&mut run.history);
    let loss = config.loss;
    let lp = EpochLoop {
        config: &fit_config,
        optimizer: opt,
        history: &mut history,
        progress,
    };
    let result = {
        let run_ref = &*run;
        run_epochs(
            lp,
            &run_ref.model,
            train,
            valid,
            |m, opt, x, _| default_step(m, opt, x, loss),
            |m, x, _| loss.compute(&tch::nn::ModuleT::forward_t(m, x, false), x),
            |h, opt| after_epoch(&run_ref.vs, opt, h),
        )
    };
    run.history = history;
    result
}

/// The library's training step for an autoencoder: reconstruct the batch in train mode
/// (dropout on), score it with `loss` against the input, backpropagate, take one optimizer step.
/// Returns the batch's loss.
pub fn default_step(
    model: &Autoencoder,
    opt: &mut Optimizer,
    x: &Tensor,
    loss: LossKind,
) -> Tensor {
    use tch::nn::ModuleT;
    let y = model.forward_t(x, true);
    let l = loss.compute(&y, x);
    opt.backward_step(&l);
    l
}
