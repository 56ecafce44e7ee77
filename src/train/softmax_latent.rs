//! The homework's first supervised approach: a 10-d latent forced to be the class softmax.
//!
//! A trained autoencoder with a 10-d latent is tuned so that its code *is* the classifier's
//! output: the encoder's 10 values are read as class logits (cross-entropy against the label) and
//! the decoder only ever sees their softmax. The classes become easy to sample from (decode a
//! one-hot vector), but the decoder can no longer see anything about an image but its class, so
//! reconstructions collapse towards one picture per class: the trade-off the homework describes.

use super::autoencoder::{evaluate_reconstruction, AutoencoderRun};
use super::finetune::JointTally;
use super::{History, LossKind, LrSchedule, Optimizer, OptimizerConfig, Progress};
use crate::data::{Batches, Dataset};
use crate::fsutil;
use crate::runtime::Profile;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// Settings; saved as `softmax_config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoftmaxLatentConfig {
    /// The profile it was made for.
    pub profile: Profile,
    /// Epochs of tuning.
    pub epochs: usize,
    /// Optimizer for encoder and decoder.
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule.
    pub schedule: LrSchedule,
    /// Weight of the cross-entropy against the reconstruction loss.
    pub classification_weight: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Seed for the batch order.
    pub seed: u64,
}

impl SoftmaxLatentConfig {
    /// `full`: 15 epochs; `quick`: 3. Adam 1e-3 with a cosine decay, cross-entropy weight 0.1.
    pub fn for_profile(profile: Profile) -> Self {
        SoftmaxLatentConfig {
            profile,
            epochs: match profile {
                Profile::Quick => 3,
                Profile::Full => 15,
            },
            optimizer: OptimizerConfig::adam(1e-3),
            schedule: LrSchedule::Cosine { min_factor: 0.05 },
            classification_weight: 0.1,
            batch_size: 256,
            seed: 13,
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.optimizer.validate()?;
        anyhow::ensure!(self.epochs >= 1, "epochs must be at least 1");
        anyhow::ensure!(self.batch_size >= 1, "batch_size must be at least 1");
        self.schedule.validate("schedule", self.epochs)?;
        super::finetune::check_classification_weight(self.classification_weight)
    }
}

/// The numbers; saved as `metrics.json`. MSE per pixel, accuracy in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoftmaxLatentMetrics {
    /// Test accuracy of argmax(code) before tuning (chance: the code means nothing yet).
    pub test_accuracy_before: f64,
    /// Test accuracy of argmax(code) after tuning.
    pub test_accuracy_after: f64,
    /// Test MSE of the plain autoencoder (decoder on the raw code) before tuning.
    pub test_mse_before: f64,
    /// Test MSE after tuning, the decoder fed the softmax of the code.
    pub test_mse_after: f64,
    /// Seconds of tuning.
    pub seconds: f64,
}

/// A tuned autoencoder with its history and metrics.
#[derive(Debug)]
pub struct SoftmaxLatentRun {
    /// The config used.
    pub config: SoftmaxLatentConfig,
    /// The autoencoder, its code now the class logits.
    pub ae: AutoencoderRun,
    /// Per epoch: `train_loss` = total; `extra` has `reconstruction`, `classification`,
    /// `test_accuracy`, `test_mse`.
    pub history: History,
    /// Final numbers.
    pub metrics: Option<SoftmaxLatentMetrics>,
}

/// The code as probabilities: `softmax(encode(x))`, `[b, 10]` (eval mode).
pub fn softmax_codes(ae: &AutoencoderRun, x: &Tensor) -> Tensor {
    tch::no_grad(|| {
        ae.model
            .encode(&x.to_device(ae.vs.device()), false)
            .softmax(-1, Kind::Float)
    })
}

/// Raw codes `[b, latent]` (eval mode).
pub fn raw_codes(ae: &AutoencoderRun, x: &Tensor) -> Tensor {
    tch::no_grad(|| ae.model.encode(&x.to_device(ae.vs.device()), false))
}

/// Images decoded from the softmax of their codes (eval mode): what the tuned model reconstructs.
pub fn softmax_reconstruct(ae: &AutoencoderRun, x: &Tensor) -> Tensor {
    tch::no_grad(|| ae.model.decode(&softmax_codes(ae, x), false))
}

/// Test accuracy of argmax(code) and the MSE of decoding the softmax of the code, on `data`.
pub fn evaluate_softmax_latent(ae: &AutoencoderRun, data: &Dataset) -> (f64, f64) {
    let device = ae.vs.device();
    let (mut correct, mut sq, mut n) = (0i64, 0.0, 0usize);
    for start in (0..data.len()).step_by(1000) {
        let (x, y) = data.range(start, start + 1000);
        let x = x.to_device(device);
        let p = softmax_codes(ae, &x);
        correct += p
            .argmax(-1, false)
            .eq_tensor(&y.to_device(device))
            .sum(Kind::Int64)
            .int64_value(&[]);
        let xr = tch::no_grad(|| ae.model.decode(&p, false));
        let b = x.size()[0] as usize;
        sq += LossKind::Mse.compute(&xr, &x).double_value(&[]) * b as f64;
        n += b;
    }
    let n = n.max(1) as f64;
    (correct as f64 / n, sq / n)
}

/// Tunes `ae` (a 10-d latent is required) so that its code is the class softmax, writing the
/// tuned autoencoder, config, history and metrics into `out` if given.
pub fn train_softmax_latent(
    ae: AutoencoderRun,
    config: &SoftmaxLatentConfig,
    train: &Dataset,
    test: &Dataset,
    out: Option<&Path>,
    progress: &mut Progress,
) -> anyhow::Result<SoftmaxLatentRun> {
    config.validate()?;
    anyhow::ensure!(
        ae.config.arch.latent_dim == 10,
        "a softmax latent needs one code unit per class: the autoencoder has a {}-d latent, use one with latent_dim 10",
        ae.config.arch.latent_dim
    );
    anyhow::ensure!(!train.is_empty(), "the training set is empty");
    let t0 = Instant::now();
    let device = ae.vs.device();
    let train = train.to_device(device);
    let test = test.to_device(device);
    let test_mse_before = evaluate_reconstruction(&ae.model, &test, LossKind::Mse, device);
    let (test_accuracy_before, _) = evaluate_softmax_latent(&ae, &test);
    let mut opt = config.optimizer.build(&ae.vs)?;
    let mut history = History::default();
    for epoch in 0..config.epochs {
        let e0 = Instant::now();
        let lr = config
            .schedule
            .lr(config.optimizer.lr, epoch, config.epochs);
        opt.set_lr(lr);
        let tally = softmax_epoch(&ae, &mut opt, config, &train, epoch)?;
        let (acc, mse) = evaluate_softmax_latent(&ae, &test);
        let (rec, line) = tally.finish(
            "softmax latent",
            (epoch, config.epochs),
            config.classification_weight,
            lr,
            e0.elapsed().as_secs_f64(),
            (acc, mse),
        );
        progress.line(&line);
        history.epochs.push(rec);
    }
    let (test_accuracy_after, test_mse_after) = evaluate_softmax_latent(&ae, &test);
    let metrics = SoftmaxLatentMetrics {
        test_accuracy_before,
        test_accuracy_after,
        test_mse_before,
        test_mse_after,
        seconds: t0.elapsed().as_secs_f64(),
    };
    if let Some(dir) = out {
        ae.save_tuned(&dir.join("autoencoder"))?;
        fsutil::write_json(dir.join("history.json"), &history)?;
        // Written last: its presence marks a finished run.
        fsutil::write_json(dir.join("softmax_config.json"), config)?;
        fsutil::write_json(dir.join("metrics.json"), &metrics)?;
    }
    Ok(SoftmaxLatentRun {
        config: config.clone(),
        ae,
        history,
        metrics: Some(metrics),
    })
}

/// One epoch of the softmax-latent objective (reconstruction from the softmax of the code plus
/// weighted cross-entropy of the code as logits); returns the epoch's tally of both losses.
fn softmax_epoch(
    ae: &AutoencoderRun,
    opt: &mut Optimizer,
    config: &SoftmaxLatentConfig,
    train: &Dataset,
    epoch: usize,
) -> anyhow::Result<JointTally> {
    let mut tally = JointTally::default();
    let batches = Batches::shuffled(train.len(), config.batch_size, config.seed, epoch);
    for (step, idx) in batches.enumerate() {
        let (x, y) = train.batch(&idx);
        let logits = ae.model.encode(&x, true);
        let xr = ae.model.decode(&logits.softmax(-1, Kind::Float), true);
        let rec_loss = LossKind::Mse.compute(&xr, &x);
        let cls_loss = logits.cross_entropy_for_logits(&y);
        let loss = &rec_loss + config.classification_weight * &cls_loss;
        opt.backward_step(&loss);
        tally.add(
            "softmax-latent loss",
            (rec_loss.double_value(&[]), cls_loss.double_value(&[])),
            idx.size()[0] as usize,
            (epoch + 1, step + 1),
        )?;
    }
    Ok(tally)
}

/// Loads a folder written by [`train_softmax_latent`].
pub fn load_softmax_latent(dir: &Path, device: Device) -> anyhow::Result<SoftmaxLatentRun> {
    anyhow::ensure!(
        dir.join("softmax_config.json").exists(),
        "{} is not a finished softmax-latent run (no softmax_config.json): train one with `latentlab finetune --softmax-latent`",
        dir.display()
    );
    let ae = super::autoencoder::load_autoencoder(&dir.join("autoencoder"), device)?;
    Ok(SoftmaxLatentRun {
        config: fsutil::read_json(dir.join("softmax_config.json"))?,
        ae,
        history: fsutil::read_json(dir.join("history.json")).unwrap_or_default(),
        metrics: fsutil::read_json(dir.join("metrics.json")).ok(),
    })
}

/// In the full profile the shipped `data/checkpoints/softmax-latent` (unless
/// `LATENTLAB_RETRAIN=1`); else a finished run with the same config in `run_dir/softmax-latent`;
/// else `base` is tuned there.
pub fn softmax_latent_or_train(
    base: impl FnOnce() -> anyhow::Result<AutoencoderRun>,
    config: &SoftmaxLatentConfig,
    train: &Dataset,
    test: &Dataset,
    run_dir: &Path,
    progress: &mut Progress,
) -> anyhow::Result<SoftmaxLatentRun> {
    let device = crate::runtime::device();
    if let Some(shipped) = crate::runtime::shipped(config.profile, "softmax-latent") {
        progress.line(&format!(
            "loading the shipped softmax-latent model {} (set LATENTLAB_RETRAIN=1 to train instead)",
            shipped.display()
        ));
        return load_softmax_latent(&shipped, device);
    }
    let dir = run_dir.join("softmax-latent");
    if dir.join("softmax_config.json").exists() {
        let old: SoftmaxLatentConfig = fsutil::read_json(dir.join("softmax_config.json"))?;
        if &old == config {
            progress.line(&format!("reusing the finished run {}", dir.display()));
            return load_softmax_latent(&dir, device);
        }
    }
    train_softmax_latent(base()?, config, train, test, Some(&dir), progress)
}
