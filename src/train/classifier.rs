//! Training the MNIST CNNs that score generated digits: the first scorer (`mnist-classifier`,
//! LeNet-like) and the held-out one (`mnist-classifier-heldout`, a wider batch-norm CNN from
//! another seed, never used to choose a recipe).

use super::{check_finite, EpochRecord, History, OptimizerConfig, Progress};
use crate::data::{Batches, Dataset};
use crate::fsutil;
use crate::models::{ClassifierArch, DigitClassifier};
use crate::runtime::Profile;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};

/// Settings of the classifier run; saved as `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    /// The profile it was made for.
    pub profile: Profile,
    /// The network (`lenet` when absent, as in configs written before the held-out scorer).
    #[serde(default)]
    pub arch: ClassifierArch,
    /// Epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Optimizer.
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule (cosine decay keeps the last epochs from bouncing around).
    #[serde(default)]
    pub schedule: super::LrSchedule,
    /// Seed.
    pub seed: u64,
}

impl ClassifierConfig {
    /// `full`: 8 epochs on 60,000 digits (Adam 1e-3, cosine decay); `quick`: 2 epochs on the
    /// embedded 4,000.
    pub fn for_profile(profile: Profile) -> Self {
        ClassifierConfig {
            profile,
            arch: ClassifierArch::Lenet,
            epochs: match profile {
                Profile::Quick => 2,
                Profile::Full => 8,
            },
            batch_size: 128,
            optimizer: OptimizerConfig::adam(1e-3),
            schedule: super::LrSchedule::Cosine { min_factor: 0.05 },
            seed: 3,
        }
    }

    /// The held-out scorer: [`ClassifierArch::WideBn`], seed 11, `full` 5 epochs, `quick` 2;
    /// otherwise as [`ClassifierConfig::for_profile`].
    pub fn heldout(profile: Profile) -> Self {
        ClassifierConfig {
            arch: ClassifierArch::WideBn,
            epochs: match profile {
                Profile::Quick => 2,
                Profile::Full => 5,
            },
            seed: 11,
            ..Self::for_profile(profile)
        }
    }
}

/// Which scorer: its run-folder name (`mnist-classifier` or `mnist-classifier-heldout`) and
/// config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scorer {
    /// The first scorer; recipes are chosen on it.
    Main,
    /// The held-out scorer; only reported.
    Heldout,
}

impl Scorer {
    /// Both, the main one first.
    pub const ALL: [Scorer; 2] = [Scorer::Main, Scorer::Heldout];

    /// Its run folder's name (also its report section and shipped checkpoint).
    pub fn folder(self) -> &'static str {
        match self {
            Scorer::Main => "mnist-classifier",
            Scorer::Heldout => "mnist-classifier-heldout",
        }
    }

    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Scorer::Main => "scorer",
            Scorer::Heldout => "held-out scorer",
        }
    }

    /// Its config for `profile`.
    pub fn config(self, profile: Profile) -> ClassifierConfig {
        match self {
            Scorer::Main => ClassifierConfig::for_profile(profile),
            Scorer::Heldout => ClassifierConfig::heldout(profile),
        }
    }
}

/// A trained digit classifier.
#[derive(Debug)]
pub struct ClassifierRun {
    /// The config.
    pub config: ClassifierConfig,
    /// Variables.
    pub vs: nn::VarStore,
    /// The network.
    pub model: DigitClassifier,
    /// Per epoch: `train_loss` = cross-entropy, `extra["test_accuracy"]`.
    pub history: History,
    /// Final test accuracy in [0, 1].
    pub test_accuracy: f64,
}

impl ClassifierRun {
    /// Predicted classes of images in `[0, 1]` (`[n, 1, 28, 28]`, any device), in batches.
    pub fn predict(&self, x: &Tensor) -> Vec<i64> {
        let device = self.vs.device();
        let n = x.size()[0];
        let mut out = Vec::with_capacity(n as usize);
        tch::no_grad(|| {
            for s in (0..n).step_by(1000) {
                let b = x.narrow(0, s, 1000.min(n - s)).to_device(device);
                let p = self.model.forward_t(&b, false).argmax(-1, false);
                out.extend(Vec::<i64>::try_from(p.to_device(Device::Cpu)).unwrap_or_default());
            }
        });
        out
    }

    /// The 128-d features of images in `[0, 1]`, `[n, 128]` on the CPU.
    pub fn features(&self, x: &Tensor) -> Tensor {
        let device = self.vs.device();
        let n = x.size()[0];
        let parts: Vec<Tensor> = tch::no_grad(|| {
            (0..n)
                .step_by(1000)
                .map(|s| {
                    let b = x.narrow(0, s, 1000.min(n - s)).to_device(device);
                    self.model.features(&b, false).to_device(Device::Cpu)
                })
                .collect()
        });
        Tensor::cat(&parts, 0)
    }
}

/// Accuracy of `model` on `data` in [0, 1].
pub fn classifier_accuracy(model: &DigitClassifier, data: &Dataset, device: Device) -> f64 {
    let mut correct = 0i64;
    tch::no_grad(|| {
        for s in (0..data.len()).step_by(1000) {
            let (x, y) = data.range(s, s + 1000);
            let p = model
                .forward_t(&x.to_device(device), false)
                .argmax(-1, false);
            correct += p
                .eq_tensor(&y.to_device(device))
                .sum(Kind::Int64)
                .int64_value(&[]);
        }
    });
    correct as f64 / data.len().max(1) as f64
}

/// Trains the classifier; writes `config.json`, `history.json`, `metrics.json` and
/// `classifier.safetensors` into `out` if given.
pub fn train_classifier(
    config: &ClassifierConfig,
    train: &Dataset,
    test: &Dataset,
    out: Option<&Path>,
    progress: &mut Progress,
) -> anyhow::Result<ClassifierRun> {
    config.optimizer.validate()?;
    config.schedule.validate("schedule", config.epochs)?;
    let device = crate::runtime::device();
    tch::manual_seed(config.seed as i64);
    let vs = nn::VarStore::new(device);
    let model = DigitClassifier::new(&vs.root(), config.arch);
    let mut opt = config.optimizer.build(&vs)?;
    let train = train.to_device(device);
    let mut history = History::default();
    for epoch in 0..config.epochs {
        let t0 = Instant::now();
        let lr = config
            .schedule
            .lr(config.optimizer.lr, epoch, config.epochs);
        opt.set_lr(lr);
        let train_loss = classifier_epoch(config, &model, &mut opt, &train, epoch)?;
        let acc = classifier_accuracy(&model, test, device);
        let mut rec = EpochRecord {
            epoch: epoch + 1,
            train_loss,
            test_loss: None,
            lr,
            seconds: t0.elapsed().as_secs_f64(),
            extra: Default::default(),
        };
        rec.extra.insert("test_accuracy".into(), acc);
        progress.line(&format!(
            "[classifier {}] epoch {}/{}  cross-entropy {:.4}  test accuracy {:.2}%  {:.1}s",
            arch_name(config.arch),
            epoch + 1,
            config.epochs,
            rec.train_loss,
            100.0 * acc,
            rec.seconds
        ));
        history.epochs.push(rec);
    }
    let test_accuracy = classifier_accuracy(&model, test, device);
    let run = ClassifierRun {
        config: config.clone(),
        vs,
        model,
        history,
        test_accuracy,
    };
    if let Some(dir) = out {
        save_classifier(&run, dir, test.len())?;
    }
    Ok(run)
}

fn arch_name(arch: ClassifierArch) -> &'static str {
    match arch {
        ClassifierArch::Lenet => "lenet",
        ClassifierArch::WideBn => "wide-bn",
    }
}

/// One epoch of cross-entropy training; returns the mean training loss.
fn classifier_epoch(
    config: &ClassifierConfig,
    model: &DigitClassifier,
    opt: &mut super::Optimizer,
    train: &Dataset,
    epoch: usize,
) -> anyhow::Result<f64> {
    let mut sum = 0.0;
    let mut n = 0usize;
    let batches = Batches::shuffled(train.len(), config.batch_size, config.seed, epoch);
    for (step, idx) in batches.enumerate() {
        let (x, y) = train.batch(&idx);
        let loss = model.forward_t(&x, true).cross_entropy_for_logits(&y);
        opt.backward_step(&loss);
        let value = loss.double_value(&[]);
        if step % 50 == 0 {
            check_finite("classifier loss", value, epoch + 1, step + 1)?;
        }
        let b = idx.size()[0] as usize;
        sum += value * b as f64;
        n += b;
    }
    Ok(sum / n.max(1) as f64)
}

/// Writes a finished run's checkpoint, config, history and metrics into `dir`.
fn save_classifier(run: &ClassifierRun, dir: &Path, test_images: usize) -> anyhow::Result<()> {
    fsutil::save_varstore(&run.vs, dir.join("classifier.safetensors"))?;
    fsutil::write_json(dir.join("config.json"), &run.config)?;
    fsutil::write_json(dir.join("history.json"), &run.history)?;
    fsutil::write_json(
        dir.join("metrics.json"),
        &ClassifierMetrics {
            test_accuracy: run.test_accuracy,
            epochs: run.config.epochs,
            seconds: run.history.seconds(),
            test_images,
        },
    )
}

/// A classifier's numbers (`metrics.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierMetrics {
    /// Accuracy on the test images.
    pub test_accuracy: f64,
    /// Epochs trained.
    pub epochs: usize,
    /// Training seconds.
    pub seconds: f64,
    /// Test images scored.
    pub test_images: usize,
}

/// Loads a classifier folder written by [`train_classifier`].
pub fn load_classifier(dir: &Path, device: Device) -> anyhow::Result<ClassifierRun> {
    let config: ClassifierConfig = fsutil::read_json(dir.join("config.json"))?;
    let mut vs = nn::VarStore::new(device);
    let model = DigitClassifier::new(&vs.root(), config.arch);
    fsutil::load_varstore(&mut vs, dir.join("classifier.safetensors"))?;
    let history = fsutil::read_json(dir.join("history.json")).unwrap_or_default();
    let metrics: ClassifierMetrics = fsutil::read_json(dir.join("metrics.json"))?;
    Ok(ClassifierRun {
        config,
        vs,
        model,
        history,
        test_accuracy: metrics.test_accuracy,
    })
}

/// The MNIST classifier for a profile: the shipped `data/checkpoints/mnist-classifier` in the
/// full profile (unless `LATENTLAB_RETRAIN=1`), a finished run in `runs_dir/mnist-classifier`, or
/// a new one trained there. [`train_or_load_scorer`] with [`Scorer::Main`].
pub fn train_or_load_classifier(
    profile: Profile,
    train: &Dataset,
    test: &Dataset,
    runs_dir: &Path,
    progress: &mut Progress,
) -> anyhow::Result<ClassifierRun> {
    train_or_load_scorer(Scorer::Main, profile, train, test, runs_dir, progress)
}

/// One of the scorers for a profile: its shipped checkpoint in the full profile (unless
/// `LATENTLAB_RETRAIN=1`), a finished run with the same config in `runs_dir/<scorer folder>`,
/// or a new one trained there.
pub fn train_or_load_scorer(
    scorer: Scorer,
    profile: Profile,
    train: &Dataset,
    test: &Dataset,
    runs_dir: &Path,
    progress: &mut Progress,
) -> anyhow::Result<ClassifierRun> {
    let device = crate::runtime::device();
    if let Some(dir) = crate::runtime::shipped(profile, scorer.folder()) {
        return load_classifier(&dir, device);
    }
    let dir = runs_dir.join(scorer.folder());
    let config = scorer.config(profile);
    if dir.join("metrics.json").exists() {
        if let Ok(old) = fsutil::read_json::<ClassifierConfig>(dir.join("config.json")) {
            if old == config {
                return load_classifier(&dir, device);
            }
        }
    }
    train_classifier(&config, train, test, Some(&dir), progress)
}
